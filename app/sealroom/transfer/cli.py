"""The online-side companion: ``transfer send`` shows or prints frames, ``receive`` reads them.

``send FILE`` puts a certificate, CSR, CRL or other payload into SR1 frames and shows them as an
animated QR code in the terminal, or writes one PNG per frame (``--png DIR``) or an export sheet
(``--pdf FILE``). ``receive`` reads the frames from a camera, images or a scanned PDF and writes
the payload only once it is complete, its SHA-256 matches and the object itself checks out.
Both print the payload's SHA-256 in hex and in PGP words, for the room to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, TextIO

from PIL import Image

from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.ports import QrProgress
from sealroom.errors import TransferError
from sealroom.files import move_no_replace
from sealroom.transfer.frames import (
    DEFAULT_FRAGMENT_SIZE,
    PAYLOAD_TYPES,
    PayloadType,
    encode_frames,
    parse_frame,
    require_payload_type,
)

EXIT_OK: Final = 0
FPS_RANGE: Final = (0.5, 30.0)
TERMINAL_FRAGMENTS: Final = (600, 450, 300, 200, 150, 100, 60)
"""Fragment sizes tried, largest first, until a frame's QR code fits the terminal."""
MAX_INPUT: Final = 16 * 1024 * 1024

_PEM_LABELS: Final[dict[str, PayloadType]] = {
    "CERTIFICATE": "CRT",
    "CERTIFICATE REQUEST": "CSR",
    "NEW CERTIFICATE REQUEST": "CSR",
    "X509 CRL": "CRL",
}
_OBJECT_NAMES: Final[dict[str, str]] = {
    "CRT": "certificate",
    "CSR": "certificate request (CSR)",
    "CRL": "certificate revocation list (CRL)",
}


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fingerprint_lines(payload: bytes) -> list[str]:
    fpr = sha256_fingerprint(payload)
    return [f"SHA-256:   {fpr.grouped()}", f"PGP words: {fpr.words}"]


# ---------------------------------------------------------------------------------------------
# What a file holds: DER or PEM certificate, CSR or CRL


def der_kind(der: bytes) -> PayloadType | None:
    """Return CRT, CSR or CRL if ``der`` parses as one (exactly, as DER), else None."""
    from cryptography import x509

    loaders: tuple[tuple[PayloadType, Callable[[bytes], object]], ...] = (
        ("CRT", x509.load_der_x509_certificate),
        ("CSR", x509.load_der_x509_csr),
        ("CRL", x509.load_der_x509_crl),
    )
    for kind, load in loaders:
        try:
            load(der)
        except ValueError:
            continue
        return kind
    return None


def pem_to_der(data: bytes, source: str) -> tuple[PayloadType, bytes] | None:
    """Return (type, DER) if ``data`` is one PEM certificate, CSR or CRL; None if not PEM.

    Raises TransferError for PEM that cannot be used: several blocks, an unknown label, bad base64.
    """
    import base64
    import binascii
    import re

    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    blocks = re.findall(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", text, re.DOTALL)
    if not blocks:
        if "-----BEGIN " in text:
            raise TransferError(f"{source}: the PEM block has no matching END line.")
        return None
    if len(blocks) > 1:
        raise TransferError(
            f"{source} holds {len(blocks)} PEM blocks; send one object per transfer."
        )
    label, body = blocks[0]
    kind = _PEM_LABELS.get(label)
    if kind is None:
        raise TransferError(
            f"{source}: a PEM '{label}' block is not something sealroom transfers; it sends "
            "CERTIFICATE, CERTIFICATE REQUEST and X509 CRL (or any file with --type)."
        )
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TransferError(f"{source}: the PEM block's base64 is damaged.") from exc
    return kind, der


def payload_for_sending(
    data: bytes, source: str, given: str | None
) -> tuple[PayloadType, bytes, str | None]:
    """Return (type, payload, remark) for ``send``: PEM turned into DER, the type guessed.

    The remark says what was done (``PEM converted to DER``, ``type guessed``) for the output.
    """
    wanted = None if given is None else require_payload_type(given)
    pem = pem_to_der(data, source)
    remark = None
    if pem is not None:
        kind, der = pem
        if der_kind(der) != kind:
            raise TransferError(f"{source}: the PEM block does not hold a valid {kind} in DER.")
        data = der
        remark = f"{source} is PEM; its {_OBJECT_NAMES[kind]} is sent as DER ({len(der)} bytes)."
    else:
        kind_or_none = der_kind(data) if wanted in (None, "CRT", "CSR", "CRL") else None
        if kind_or_none is None:
            if wanted is None:
                raise TransferError(
                    f"{source} is not a DER or PEM certificate, CSR or CRL, so its type cannot be "
                    f"guessed; give --type (one of {', '.join(sorted(PAYLOAD_TYPES))})."
                )
            if wanted in _OBJECT_NAMES:
                raise TransferError(f"{source} is not a {_OBJECT_NAMES[wanted]} in DER or PEM.")
            return wanted, data, None
        kind = kind_or_none
    if wanted is not None and wanted != kind:
        raise TransferError(
            f"{source} holds a {_OBJECT_NAMES[kind]}, not the {wanted} given with --type."
        )
    if wanted is None:
        guess = f"type {kind} guessed from the content"
        remark = f"{remark} {guess[0].upper()}{guess[1:]}." if remark else f"{source}: {guess}."
    return kind, data, remark


# ---------------------------------------------------------------------------------------------
# What a received object must be before it is written


def verify_received_object(kind: str, payload: bytes) -> str:
    """Check a received CSR's self-signature, or that a certificate or CRL parses; say what it is.

    Raises TransferError naming what is wrong; nothing is written then.
    """
    from cryptography import x509

    try:
        if kind == "CSR":
            csr = x509.load_der_x509_csr(payload)
            if not csr.is_signature_valid:
                raise TransferError(
                    "The CSR received does not verify with its own public key (bad signature); "
                    "it was not written. Ask for a new request."
                )
            return (
                f"CSR for {csr.subject.rfc4514_string() or '(empty subject)'}, self-signature valid"
            )
        if kind == "CRT":
            cert = x509.load_der_x509_certificate(payload)
            subject = cert.subject.rfc4514_string() or "(empty subject)"
            issuer = cert.issuer.rfc4514_string() or "(empty issuer)"
            return f"certificate for {subject}, issued by {issuer}, serial {cert.serial_number:x}"
        if kind == "CRL":
            crl = x509.load_der_x509_crl(payload)
            return (
                f"CRL of {crl.issuer.rfc4514_string() or '(empty issuer)'} listing "
                f"{len(list(crl))} revoked certificate(s)"
            )
    except ValueError as exc:
        raise TransferError(
            f"The payload received is not a readable {_OBJECT_NAMES[kind]}; it was not written."
        ) from exc
    return f"{kind} payload of {len(payload)} bytes (no object check for this type)"


def write_new_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all; refuse to replace an existing file.

    The bytes go to a temporary file in the same folder, are synced, then moved to ``path`` without
    replacing a file there (``move_no_replace``, FAT too): no partial file is ever at ``path``.
    """
    folder = path.parent if str(path.parent) else Path()
    if path.exists() or path.is_symlink():
        raise TransferError(f"{path} already exists; sealroom never overwrites a file.")
    if not folder.is_dir():
        raise TransferError(f"The folder {folder} does not exist.")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            move_no_replace(tmp, path)
        except FileExistsError as exc:
            raise TransferError(
                f"{path} already exists; sealroom never overwrites a file."
            ) from exc
        except OSError as exc:
            raise TransferError(f"{path} cannot be written: {exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# send


def cmd_send(args: argparse.Namespace) -> int:
    """``sealroom transfer send FILE``: frames on screen, as PNGs, or as an export-sheet PDF."""
    source = Path(args.file)
    try:
        data = source.read_bytes()
    except FileNotFoundError as exc:
        raise TransferError(f"{source} does not exist.") from exc
    except OSError as exc:
        raise TransferError(f"{source} cannot be read: {exc.strerror or exc}.") from exc
    if len(data) > MAX_INPUT:
        raise TransferError(f"{source} is {len(data)} bytes; QR transfer carries at most 16 MiB.")
    kind, payload, remark = payload_for_sending(data, str(source), args.type)
    if not FPS_RANGE[0] <= args.fps <= FPS_RANGE[1]:
        raise TransferError(
            f"--fps must be between {FPS_RANGE[0]:g} and {FPS_RANGE[1]:g}, not {args.fps:g}."
        )
    if remark:
        _out(remark)
    if args.png is None and args.pdf is None:
        return _show(kind, payload, args)
    if args.png is not None:
        _write_pngs(Path(args.png), kind, payload, args)
    if args.pdf is not None:
        _write_pdf(Path(args.pdf), kind, payload, source.name)
    return EXIT_OK


def _describe(kind: str, payload: bytes, frames: list[str], parity: bool) -> list[str]:
    data_frames = len(frames) - (1 if parity else 0)
    extra = " + 1 parity frame" if parity else ""
    return [
        f"Type:      {kind}, {len(payload)} bytes, {data_frames} frame(s){extra}",
        *_fingerprint_lines(payload),
    ]


def _png_names(kind: str, frames: list[str]) -> list[str]:
    """File names that sort in the order to scan: ``sr1-csr-01-of-03.png`` .. ``-parity.png``."""
    names = []
    for text in frames:
        frame = parse_frame(text)
        width = len(str(frame.total))
        stem = f"sr1-{kind.lower()}"
        if frame.is_parity:
            names.append(f"{stem}-{frame.total + 1:0{width}d}-parity-of-{frame.total}.png")
        else:
            names.append(f"{stem}-{frame.index:0{width}d}-of-{frame.total}.png")
    return names


def _write_pngs(folder: Path, kind: str, payload: bytes, args: argparse.Namespace) -> None:
    from sealroom.transfer.qr import qr_image

    fragment = args.fragment_size or DEFAULT_FRAGMENT_SIZE
    frames = encode_frames(payload, kind, fragment, args.parity and len(payload) > fragment)
    parity = len(frames) > 1 and parse_frame(frames[-1]).is_parity
    names = _png_names(kind, frames)
    if folder.exists() and not folder.is_dir():
        raise TransferError(f"{folder} exists and is not a folder.")
    clashes = [name for name in names if (folder / name).exists()]
    if clashes:
        raise TransferError(
            f"{folder / clashes[0]} already exists; sealroom never overwrites a file. "
            "Choose an empty folder."
        )
    folder.mkdir(parents=True, exist_ok=True)
    short_id = sha256_fingerprint(payload).hex[:8].upper()
    for name, text in zip(names, frames, strict=True):
        frame = parse_frame(text)
        position = "parity" if frame.is_parity else f"{frame.index}/{frame.total}"
        image = _captioned(qr_image(text, "M", scale=6, quiet=4), f"{kind} {position} {short_id}")
        buffer = _png_bytes(image)
        write_new_file(folder / name, buffer)
    for line in _describe(kind, payload, frames, parity):
        _out(line)
    _out(f"Wrote {len(frames)} PNG file(s) to {folder}: {names[0]} .. {names[-1]}")


def _captioned(code: Image.Image, caption: str) -> Image.Image:
    """The code with ``caption`` (``CSR 1/3 1A2B3C4D``) on a white band below its quiet zone."""
    from PIL import ImageDraw, ImageFont

    band = max(24, code.height // 12)
    image = Image.new("L", (code.width, code.height + band), 255)
    image.paste(code, (0, 0))
    font = ImageFont.load_default(size=band * 2 // 3)
    draw = ImageDraw.Draw(image)
    draw.text((code.width // 2, code.height + band // 2), caption, fill=0, font=font, anchor="mm")
    return image


def _png_bytes(image: object) -> bytes:
    import io

    if not isinstance(image, Image.Image):  # pragma: no cover - qr_image returns an image
        raise TransferError("A QR image could not be made.")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _write_pdf(path: Path, kind: str, payload: bytes, name: str) -> None:
    try:
        from sealroom.transfer.paper import render_transfer_pdf
    except ImportError as exc:
        raise TransferError(
            "This build cannot write an export sheet (transfer.paper is missing); use --png."
        ) from exc
    if path.exists():
        raise TransferError(f"{path} already exists; sealroom never overwrites a file.")
    facts = [("File", name), ("Type", kind), ("Length", f"{len(payload)} bytes")]
    if kind in _OBJECT_NAMES:
        with contextlib.suppress(
            TransferError
        ):  # an object that does not parse is still sent as bytes
            facts.append(("Object", verify_received_object(kind, payload)))
    pdf = render_transfer_pdf(payload, kind, title=f"{kind} export: {name}", facts=facts)
    write_new_file(path, pdf)
    for line in _describe(kind, payload, [], False)[1:]:
        _out(line)
    _out(f"Wrote the export sheet {path} ({kind}, {len(payload)} bytes).")


def _fitting_frames(
    kind: str, payload: bytes, screen: tuple[int, int], fragment: int | None, parity: bool
) -> tuple[list[str], list[list[str]], int]:
    """Frames and their terminal drawings at the largest fragment size that fits the terminal."""
    from sealroom.transfer.qr import qr_matrix, terminal_lines

    columns, rows = screen
    header_rows = 4
    sizes = (fragment,) if fragment else TERMINAL_FRAGMENTS
    for size in sizes:
        frames = encode_frames(payload, kind, size, parity and len(payload) > size)
        drawings = [terminal_lines(qr_matrix(text, "M"), quiet=2) for text in frames]
        widest = max(len(lines[0]) for lines in drawings)
        tallest = max(len(lines) for lines in drawings)
        if widest <= columns and tallest + header_rows <= rows:
            return frames, drawings, size
    widest_needed = widest
    raise TransferError(
        f"The QR code needs a terminal of at least {widest_needed} columns and "
        f"{tallest + header_rows} rows; this one is {columns}x{rows}. Enlarge the window or make "
        "the font smaller (or use --png or --pdf)."
    )


def _show(kind: str, payload: bytes, args: argparse.Namespace) -> int:
    """Animate the frames full-screen, light modules on a dark background, until Ctrl-C."""
    if not sys.stdout.isatty():
        raise TransferError(
            "Standard output is not a terminal, so frames cannot be shown; use --png DIR or "
            "--pdf FILE to write them."
        )
    size = shutil.get_terminal_size((80, 24))
    frames, drawings, fragment = _fitting_frames(
        kind, payload, (size.columns, size.lines), args.fragment_size, args.parity
    )
    fpr = sha256_fingerprint(payload)
    header = [
        f"{kind} {len(payload)} bytes  SHA-256 {fpr.grouped()[:39]}…",
        f"PGP {fpr.short_words()}  (at most {fragment} bytes a frame)",
    ]
    interval = 1.0 / args.fps
    with _screen(sys.stdout) as out:
        number = 0
        while True:
            lines = drawings[number]
            frame = parse_frame(frames[number])
            counter = "parity frame" if frame.is_parity else f"frame {frame.index} of {frame.total}"
            still = " (still)" if len(frames) == 1 else f" at {args.fps:g} fps"
            page = [*header, f"{counter}{still}  Ctrl-C stops", ""]
            # Light on dark, set explicitly: the code is only right drawn that way.
            out.write("\x1b[H\x1b[97;40m" + "\x1b[K\n".join([*page, *lines]) + "\x1b[K\x1b[J")
            out.flush()
            if len(frames) == 1:
                signal.pause()
            time.sleep(interval)
            number = (number + 1) % len(frames)
    return EXIT_OK


@contextlib.contextmanager
def _screen(out: TextIO) -> Iterator[TextIO]:
    """Alternate screen, hidden cursor; restored on any exit (Ctrl-C included)."""
    out.write("\x1b[?1049h\x1b[?25l\x1b[2J")
    try:
        yield out
    except KeyboardInterrupt:
        pass
    finally:
        out.write("\x1b[0m\x1b[?25h\x1b[?1049l")
        out.flush()
    _out("Stopped showing the frames.")


# ---------------------------------------------------------------------------------------------
# receive


class _ProgressLine:
    """The live progress line on stderr: rewritten in place on a terminal, one line per notice."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.tty = err.isatty()
        self.last_width = 0

    def __call__(self, p: QrProgress) -> bool:
        if p.total is None:
            state = "waiting for a Sealroom frame"
        else:
            missing = [i for i in range(1, p.total + 1) if i not in p.received]
            shown = ", ".join(str(i) for i in missing[:12]) + (" …" if len(missing) > 12 else "")
            state = f"{p.payload_type} {len(p.received)}/{p.total} frames"
            state += f", missing {shown}" if missing else ", all in"
            if p.repaired:
                state += f", rebuilt {', '.join(str(i) for i in p.repaired)}"
        line = f"{state} · {p.images} image(s), {p.codes} code(s) · {p.source}"
        if self.tty:
            if p.notice:
                self.err.write("\r\x1b[K" + p.notice + "\n")
            self.err.write("\r\x1b[K" + line[:200])
        elif p.notice:
            self.err.write(p.notice + "\n")
        self.err.flush()
        return True

    def close(self) -> None:
        if self.tty:
            self.err.write("\n")
            self.err.flush()


def cmd_receive(args: argparse.Namespace) -> int:
    """``sealroom transfer receive``: write the payload once complete, verified and checked."""
    from sealroom.transfer.receive import ImageQrReceiver

    out = Path(args.out)
    if out.exists() or out.is_symlink():  # refuse before anything is scanned
        raise TransferError(f"{out} already exists; sealroom never overwrites a file.")
    if not (out.parent if str(out.parent) else Path()).is_dir():
        raise TransferError(f"The folder {out.parent} does not exist.")
    sources: list[str] = (
        [f"camera:{args.camera}"] if args.camera is not None else list(args.sources)
    )
    if args.camera is not None and args.sources:
        raise TransferError("Give either --camera N or image/PDF files, not both.")
    listing = getattr(args, "listing", None)
    if listing is not None and sources:
        raise TransferError("Give either --listing FILE or QR codes to read, not both.")
    if not sources and listing is None:
        raise TransferError(
            "Give --camera N, or the images or PDF holding the QR codes (or, as a last resort, "
            "--listing FILE with the export sheet's base32 listing typed in)."
        )
    wanted = None if args.type is None else require_payload_type(args.type)
    if listing is not None:
        kind, payload = _from_listing(Path(listing), wanted)
    else:
        line = _ProgressLine(sys.stderr)
        try:
            kind, payload = ImageQrReceiver().receive_message(sources, wanted, line)
        finally:
            line.close()
    what = verify_received_object(kind, payload)
    write_new_file(out, payload)
    _out(f"Received {kind}, {len(payload)} bytes: {what}.")
    for text in _fingerprint_lines(payload):
        _out(text)
    _out(f"Wrote {out}. Compare the SHA-256 with the one the other side shows before using it.")
    return EXIT_OK


def _from_listing(path: Path, wanted: PayloadType | None) -> tuple[str, bytes]:
    """The payload typed from an export sheet's base32 listing, and its type.

    A mistyped line is named by ``parse_base32_listing``. The listing carries no type: ``--type``
    gives it, or the DER is recognised (certificate, CSR, CRL).
    """
    from sealroom.transfer.paper import parse_base32_listing

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TransferError(f"{path} does not exist.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TransferError(f"{path} cannot be read as a typed listing: {exc}.") from exc
    try:
        payload = parse_base32_listing(text)
    except TransferError as exc:
        raise TransferError(f"{path}: {exc}") from exc
    kind = wanted or der_kind(payload)
    if kind is None:
        raise TransferError(
            f"{path}: the listing's bytes are not a certificate, CSR or CRL; say what they are "
            "with --type."
        )
    return kind, payload


# ---------------------------------------------------------------------------------------------
# Parser


def _camera_number(text: str) -> int:
    if not text.isdigit() or (len(text) > 1 and text.startswith("0")) or int(text) > 999:
        raise argparse.ArgumentTypeError(f"{text!r} is not a camera number (0, 1, 2, …)")
    return int(text)


def _fragment(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes") from None
    if not 1 <= value <= 2000:
        raise argparse.ArgumentTypeError("a fragment is 1 to 2000 bytes")
    return value


def add_transfer_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``transfer send|receive`` to the CLI's subparsers; each sets ``func``."""
    types = sorted(PAYLOAD_TYPES)
    transfer = subparsers.add_parser(
        "transfer",
        help="move a certificate, CSR or CRL across the air gap as QR codes (online side)",
        description="The online-side companion of the air-gapped workstation: show or print a "
        "file as SR1 QR frames, or read frames back into a file (docs/transfer.md).",
    )
    commands = transfer.add_subparsers(dest="transfer_command", required=True, metavar="ACTION")

    send = commands.add_parser(
        "send",
        help="show FILE as animated QR codes in this terminal, or write --png DIR / --pdf FILE",
    )
    send.add_argument("file", metavar="FILE", help="DER or PEM certificate, CSR or CRL, or any")
    send.add_argument("--type", choices=types, help="payload type (guessed from FILE if omitted)")
    send.add_argument("--png", metavar="DIR", help="write one PNG per frame into DIR")
    send.add_argument("--pdf", metavar="FILE", help="write a printable export sheet (new file)")
    send.add_argument("--fps", type=float, default=4.0, help="frames per second on screen (4)")
    send.add_argument(
        "--no-parity",
        dest="parity",
        action="store_false",
        help="leave out the parity frame (by default one is added to a message of several "
        "frames, so the receiver can rebuild any one frame it missed)",
    )
    send.add_argument(
        "--fragment-size",
        type=_fragment,
        metavar="BYTES",
        help="payload bytes per frame (600 for files; on screen the largest that fits)",
    )
    send.set_defaults(func=cmd_send)

    receive = commands.add_parser(
        "receive",
        help="read frames from a camera, images or a PDF; write --out FILE once complete",
    )
    receive.add_argument("sources", nargs="*", metavar="IMAGE|PDF|DIR")
    receive.add_argument("--camera", type=_camera_number, metavar="N", help="read /dev/videoN")
    receive.add_argument("--out", required=True, metavar="FILE", help="payload to write (new)")
    receive.add_argument("--type", choices=types, help="refuse frames of any other type")
    receive.add_argument(
        "--listing",
        metavar="FILE",
        help="the last resort: the base32 listing of an export sheet, typed into FILE by hand",
    )
    receive.set_defaults(func=cmd_receive)
    return transfer
