"""The SR1 frame format: a payload split into QR-alphanumeric text frames, and their reassembly.

One frame, byte-exact (``docs/qr-frames.md`` is the specification)::

    SR1/<TYPE>/<DIGEST>/<LENGTH>/<INDEX>-<TOTAL>/<DATA>/<CRC>

``DIGEST`` is the payload's SHA-256 in base32; with ``TYPE``, ``LENGTH`` and ``TOTAL`` it names the
message, so frames are collected in any order and a frame of another message is refused. The
split is a pure function of ``LENGTH`` and ``TOTAL``, so each frame's data length is checked on its
own, and ``CRC`` (CRC-32 of everything before it) rejects a misread frame by itself. Every
character is in the QR alphanumeric set, so a QR decoder never transcodes it. An optional parity
frame (``INDEX`` 0) carries the XOR of the fragments, so any one missing data frame can be rebuilt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, cast, get_args

from sealroom.errors import TransferError

PayloadType = Literal["CRT", "CSR", "CRL", "JNL", "BLB", "TXT"]
"""CRT certificate (DER), CSR request (DER), CRL (DER), JNL journal head, BLB backup, TXT text."""

PAYLOAD_TYPES: Final[frozenset[str]] = frozenset(get_args(PayloadType))

QR_ALPHANUMERIC: Final[frozenset[str]] = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
"""The 45 characters of the QR alphanumeric mode (ISO/IEC 18004, table 5)."""

MAGIC: Final = "SR1"
DEFAULT_FRAGMENT_SIZE: Final = 600
"""Payload bytes per frame: a version 21 QR code at ECC M (see QR-TRANSFER.md)."""
MAX_FRAGMENT_SIZE: Final = 2000
"""Largest fragment: 3200 base32 characters plus the header still fit version 40 at ECC M."""
MAX_FRAMES: Final = 9999
MAX_PAYLOAD: Final = 16 * 1024 * 1024

_DIGEST_CHARS: Final = 52
_CRC_CHARS: Final = 7
_BODY_RE: Final = re.compile(
    r"SR1/(?P<type>[A-Z]{3})/(?P<digest>[A-Z2-7]{52})/(?P<length>0|[1-9][0-9]{0,7})/"
    r"(?P<index>0|[1-9][0-9]{0,3})-(?P<total>[1-9][0-9]{0,3})/(?P<data>[A-Z2-7]*)/"
)
_VERSION_RE: Final = re.compile(r"SR[0-9]+/")
PARITY_INDEX: Final = 0
"""The parity frame is ``0-<total>``; it follows the data frames ``1-<total>`` .. ``n-<total>``."""


# ---------------------------------------------------------------------------------------------
# Base32 (RFC 4648 section 6, upper case, no padding) and the frame check


def b32_encode(data: bytes) -> str:
    """Return ``data`` in RFC 4648 base32, upper case, without the ``=`` padding."""
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32_decode(text: str) -> bytes:
    """Decode unpadded base32; raise ValueError unless ``text`` is the canonical encoding."""
    if len(text) % 8 in (1, 3, 6):
        raise ValueError("base32 text has an impossible length")
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8), casefold=False)
    except binascii.Error as exc:
        raise ValueError("not base32") from exc
    if b32_encode(data) != text:  # unused trailing bits must be zero: one encoding per byte string
        raise ValueError("base32 text is not in canonical form")
    return data


def frame_crc(body: str) -> str:
    """Return the check of a frame body: its CRC-32 (zlib), 4 bytes big-endian, base32, 7 chars."""
    return b32_encode(zlib.crc32(body.encode("ascii")).to_bytes(4, "big"))


def fragment_bounds(length: int, total: int, index: int) -> tuple[int, int]:
    """Return the byte range ``[start, end)`` of frame ``index`` (1-based) of ``total``.

    The split is balanced: frame ``k`` starts at ``(k - 1) * length // total``, so sizes differ by
    at most one byte and a receiver knows every frame's size from the envelope alone.
    """
    return ((index - 1) * length // total, index * length // total)


def parity_size(length: int, total: int) -> int:
    """Return the parity frame's data length: the longest fragment, ``ceil(length / total)``."""
    return -(-length // total)


def xor_fragments(fragments: Iterable[bytes], size: int) -> bytes:
    """Return the XOR of ``fragments``, each zero-padded at its end to ``size`` bytes."""
    acc = 0
    for fragment in fragments:
        acc ^= int.from_bytes(fragment.ljust(size, b"\0"), "big")
    return acc.to_bytes(size, "big")


# ---------------------------------------------------------------------------------------------
# Sending


def require_payload_type(payload_type: object) -> PayloadType:
    """Return ``payload_type`` if it is one of the SR1 payload types, else raise TransferError."""
    if not isinstance(payload_type, str) or payload_type not in PAYLOAD_TYPES:
        raise TransferError(
            f"Unknown QR payload type {payload_type!r}; expected one of "
            f"{', '.join(sorted(PAYLOAD_TYPES))}."
        )
    return cast(PayloadType, payload_type)


def encode_frames(
    payload: bytes,
    payload_type: str,
    fragment_size: int = DEFAULT_FRAGMENT_SIZE,
    parity: bool = False,
) -> list[str]:
    """Split ``payload`` into SR1 frames of at most ``fragment_size`` payload bytes each.

    A payload of 0 bytes gives one frame with empty data. With ``parity`` one more frame (index 0,
    last in the list) carries the XOR of the fragments, so a receiver can rebuild any one missing
    data frame; without it the frames are exactly those of SR1 as first published. Raises
    TransferError for an unknown type, a fragment size outside 1..2000, or a payload needing more
    than 9999 frames or over 16 MiB.
    """
    kind = require_payload_type(payload_type)
    if isinstance(fragment_size, bool) or not isinstance(fragment_size, int):
        raise TransferError("The QR fragment size must be a whole number of bytes.")
    if not 1 <= fragment_size <= MAX_FRAGMENT_SIZE:
        raise TransferError(
            f"The QR fragment size must be between 1 and {MAX_FRAGMENT_SIZE} bytes, "
            f"not {fragment_size}."
        )
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TransferError("A QR payload must be bytes.")
    data = bytes(payload)
    length = len(data)
    if length > MAX_PAYLOAD:
        raise TransferError(
            f"The payload is {length} bytes; QR transfer carries at most {MAX_PAYLOAD} bytes."
        )
    total = max(1, -(-length // fragment_size))
    if total > MAX_FRAMES:
        raise TransferError(
            f"The payload would need {total} QR frames (at most {MAX_FRAMES}); "
            "use a larger fragment size."
        )
    digest = b32_encode(hashlib.sha256(data).digest())
    if not isinstance(parity, bool):
        raise TransferError("The parity choice must be True or False.")
    digest = b32_encode(hashlib.sha256(data).digest())
    fragments = [data[slice(*fragment_bounds(length, total, i))] for i in range(1, total + 1)]
    numbered = list(enumerate(fragments, start=1))
    if parity:
        numbered.append((PARITY_INDEX, xor_fragments(fragments, parity_size(length, total))))
    frames = []
    for index, fragment in numbered:
        body = f"{MAGIC}/{kind}/{digest}/{length}/{index}-{total}/{b32_encode(fragment)}/"
        frames.append(body + frame_crc(body))
    return frames


class FrameEncoder:
    """The engine's QrEncoder port: payloads to SR1 frames of a fixed maximum fragment size."""

    def __init__(self, fragment_size: int = DEFAULT_FRAGMENT_SIZE, parity: bool = False) -> None:
        # Refuse a bad size or parity choice now, not at the first payload.
        encode_frames(b"", "TXT", fragment_size, parity)
        self.fragment_size = fragment_size
        self.parity = parity

    def frames(self, payload: bytes, payload_type: str) -> list[str]:
        """Return the SR1 frames of ``payload`` in order 1..n (then the parity frame, if any)."""
        return encode_frames(payload, payload_type, self.fragment_size, self.parity)


# ---------------------------------------------------------------------------------------------
# Receiving


class FrameStatus(StrEnum):
    """What the receiver did with one scanned text."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    """Why a scanned text was refused; each has its own operator message."""

    NOT_A_FRAME = "not-a-frame"
    UNSUPPORTED_VERSION = "unsupported-version"
    BAD_CHECKSUM = "bad-checksum"
    MALFORMED = "malformed"
    UNKNOWN_TYPE = "unknown-type"
    UNEXPECTED_TYPE = "unexpected-type"
    INDEX_OUT_OF_RANGE = "index-out-of-range"
    BAD_LENGTH = "bad-length"
    DIFFERENT_MESSAGE = "different-message"
    CONFLICTING_DUPLICATE = "conflicting-duplicate"


@dataclass(frozen=True)
class Frame:
    """One SR1 frame that passed every check that can be made on it alone."""

    payload_type: PayloadType
    digest: bytes
    """SHA-256 of the whole payload (32 bytes)."""
    length: int
    """Length of the whole payload in bytes."""
    index: int
    """1-based position of this frame; 0 for the parity frame."""
    total: int
    """Number of data frames (a parity frame is not counted)."""
    data: bytes

    @property
    def is_parity(self) -> bool:
        """Return True for the parity frame (index 0)."""
        return self.index == PARITY_INDEX

    @property
    def label(self) -> str:
        """Return how the operator sees this frame: ``frame 3 of 5`` or ``the parity frame``."""
        return (
            f"the parity frame of {self.total}"
            if self.is_parity
            else (f"frame {self.index} of {self.total}")
        )

    @property
    def message_key(self) -> tuple[str, bytes, int, int]:
        """Return what names the message: type, digest, length and frame count."""
        return (self.payload_type, self.digest, self.length, self.total)


@dataclass(frozen=True)
class FrameResult:
    """The receiver's verdict on one scanned text, with a message for the operator."""

    status: FrameStatus
    message: str
    reason: RejectReason | None = None
    index: int | None = None
    """The frame's 1-based index when the frame could be read (0 for the parity frame)."""
    repaired: int | None = None
    """The index of a data frame this frame let the receiver rebuild from the parity frame."""

    @property
    def accepted(self) -> bool:
        """Return True if the frame was new and kept."""
        return self.status is FrameStatus.ACCEPTED

    @property
    def rejected(self) -> bool:
        """Return True if the text was refused (see ``reason``)."""
        return self.status is FrameStatus.REJECTED


class _Rejected(Exception):
    def __init__(self, reason: RejectReason, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.index = index


def _parse(text: str, expected_type: str | None) -> Frame:
    """Return the frame in ``text`` or raise _Rejected; checks only what one frame can show."""
    if not isinstance(text, str) or not text.startswith(f"{MAGIC}/"):
        if isinstance(text, str) and _VERSION_RE.match(text):
            raise _Rejected(
                RejectReason.UNSUPPORTED_VERSION,
                "This QR code is a Sealroom frame of a version this workstation does not read.",
            )
        raise _Rejected(RejectReason.NOT_A_FRAME, "This QR code is not a Sealroom frame.")
    body, slash, crc = text.rpartition("/")
    if not slash or len(crc) != _CRC_CHARS or frame_crc(body + slash) != crc:
        raise _Rejected(
            RejectReason.BAD_CHECKSUM,
            "This frame fails its checksum (misread or damaged); show it again and rescan.",
        )
    match = _BODY_RE.fullmatch(body + slash)
    if match is None:
        raise _Rejected(RejectReason.MALFORMED, "This frame does not follow the SR1 format.")
    kind = match["type"]
    index, total, length = int(match["index"]), int(match["total"]), int(match["length"])
    if kind not in PAYLOAD_TYPES:
        raise _Rejected(RejectReason.UNKNOWN_TYPE, f"This frame carries an unknown type {kind}.")
    if expected_type is not None and kind != expected_type:
        raise _Rejected(
            RejectReason.UNEXPECTED_TYPE,
            f"This frame carries a {kind} payload; a {expected_type} payload is expected here.",
        )
    if index > total:
        raise _Rejected(
            RejectReason.INDEX_OUT_OF_RANGE,
            f"This frame says it is {index} of {total}, which cannot be.",
        )
    if length > MAX_PAYLOAD or total > max(1, length):
        raise _Rejected(
            RejectReason.MALFORMED,
            f"This frame's envelope is inconsistent ({length} bytes in {total} frames).",
            index,
        )
    try:
        digest = b32_decode(match["digest"])
        data = b32_decode(match["data"])
    except ValueError as exc:
        raise _Rejected(
            RejectReason.MALFORMED, "This frame's base32 text is not canonical.", index
        ) from exc
    if index == PARITY_INDEX:
        size = parity_size(length, total)
        name = f"The parity frame of {total}"
    else:
        start, end = fragment_bounds(length, total, index)
        size = end - start
        name = f"Frame {index} of {total}"
    if len(data) != size:
        raise _Rejected(
            RejectReason.BAD_LENGTH,
            f"{name} holds {len(data)} bytes; the envelope says {size}.",
            index,
        )
    return Frame(require_payload_type(kind), digest, length, index, total, data)


def parse_frame(text: str, expected_type: str | None = None) -> Frame:
    """Return the frame in ``text``; raise TransferError if it fails any check of a lone frame."""
    try:
        return _parse(text, expected_type)
    except _Rejected as rejected:
        raise TransferError(rejected.message) from None


class FrameAssembler:
    """Collects the frames of one message in any order and gives the payload once it verifies.

    The first valid frame fixes the message (type, SHA-256, length, frame count); frames of any
    other message are refused and do not disturb what was collected. With the parity frame and all
    data frames but one, the missing one is rebuilt (``repaired``). ``reset()`` starts over.
    """

    def __init__(self, expected_type: str | None = None) -> None:
        self.expected_type: PayloadType | None = (
            None if expected_type is None else require_payload_type(expected_type)
        )
        self._key: tuple[str, bytes, int, int] | None = None
        self._parts: dict[int, bytes] = {}
        self._parity: bytes | None = None
        self._repaired: int | None = None

    def reset(self) -> None:
        """Forget the message and every frame collected."""
        self._key = None
        self._parts = {}
        self._parity = None
        self._repaired = None

    def add(self, text: str) -> FrameResult:
        """Take one scanned text: accepted, a duplicate, or refused (and why)."""
        try:
            frame = _parse(text, self.expected_type)
        except _Rejected as rejected:
            return FrameResult(
                FrameStatus.REJECTED, rejected.message, rejected.reason, rejected.index
            )
        if self._key is None:
            self._key = frame.message_key
        elif frame.message_key != self._key:
            return FrameResult(
                FrameStatus.REJECTED,
                f"This frame belongs to another message (SHA-256 {frame.digest.hex()[:8].upper()}"
                f"…, {frame.total} frames); finish the message being scanned or start again.",
                RejectReason.DIFFERENT_MESSAGE,
                frame.index,
            )
        label = frame.label[0].upper() + frame.label[1:]
        known = self._parity if frame.is_parity else self._parts.get(frame.index)
        if known is not None:
            if known == frame.data:
                return FrameResult(
                    FrameStatus.DUPLICATE, f"{label} was already scanned.", index=frame.index
                )
            if frame.index == self._repaired:
                # The real frame disagrees with the one rebuilt: trust neither parity nor rebuild.
                del self._parts[frame.index]
                self._parity = None
                self._repaired = None
                self._parts[frame.index] = frame.data
                return FrameResult(
                    FrameStatus.ACCEPTED,
                    f"{label} scanned; it differs from the copy rebuilt from the parity frame, "
                    "so the parity frame is set aside.",
                    index=frame.index,
                )
            return FrameResult(
                FrameStatus.REJECTED,
                f"{label} differs from the one scanned before.",
                RejectReason.CONFLICTING_DUPLICATE,
                frame.index,
            )
        if frame.is_parity:
            self._parity = frame.data
        else:
            self._parts[frame.index] = frame.data
        repaired = self._repair()
        message = f"{label} scanned."
        if repaired is not None:
            message += f" Frame {repaired} of {frame.total} was rebuilt from the parity frame."
        return FrameResult(FrameStatus.ACCEPTED, message, index=frame.index, repaired=repaired)

    def _repair(self) -> int | None:
        """Rebuild the one missing data frame from the parity frame, if that is all that is left."""
        if self._key is None or self._parity is None:
            return None
        _kind, _digest, length, total = self._key
        missing = [i for i in range(1, total + 1) if i not in self._parts]
        if len(missing) != 1:
            return None
        index = missing[0]
        size = parity_size(length, total)
        rebuilt = xor_fragments([self._parity, *self._parts.values()], size)
        start, end = fragment_bounds(length, total, index)
        if any(rebuilt[end - start :]):
            return None  # a short fragment's padding must come back as zeros; it did not
        self._parts[index] = rebuilt[: end - start]
        self._repaired = index
        return index

    @property
    def payload_type(self) -> PayloadType | None:
        """Return the type of the message being collected, or None before the first frame."""
        return None if self._key is None else require_payload_type(self._key[0])

    @property
    def digest_hex(self) -> str | None:
        """Return the announced SHA-256 of the payload in hex, or None before the first frame."""
        return None if self._key is None else self._key[1].hex()

    @property
    def length(self) -> int | None:
        """Return the announced payload length in bytes, or None before the first frame."""
        return None if self._key is None else self._key[2]

    @property
    def total(self) -> int | None:
        """Return the number of data frames of the message, or None before the first frame."""
        return None if self._key is None else self._key[3]

    @property
    def received(self) -> tuple[int, ...]:
        """Return the 1-based indexes of the data frames collected (or rebuilt), in order."""
        return tuple(sorted(self._parts))

    @property
    def repaired(self) -> tuple[int, ...]:
        """Return the index rebuilt from the parity frame, if any (a subset of ``received``)."""
        return () if self._repaired is None else (self._repaired,)

    @property
    def parity_received(self) -> bool:
        """Return True once the message's parity frame has been scanned."""
        return self._parity is not None

    @property
    def missing(self) -> tuple[int, ...]:
        """Return the 1-based indexes still to scan (empty before the first frame)."""
        total = self.total or 0
        return tuple(i for i in range(1, total + 1) if i not in self._parts)

    @property
    def complete(self) -> bool:
        """Return True once every data frame of the message has been collected or rebuilt."""
        return self.total is not None and len(self._parts) == self.total

    def payload(self) -> bytes:
        """Return the payload once complete and its SHA-256 matches; else raise TransferError.

        If the set was completed by a rebuild and fails its SHA-256, the rebuilt frame and the
        parity frame are set aside (so scanning the real frame can still complete the message)
        before the error is raised.
        """
        if self._key is None:
            raise TransferError("No Sealroom frame has been scanned yet.")
        if not self.complete:
            missing = ", ".join(str(i) for i in self.missing)
            raise TransferError(f"The QR transfer is incomplete: frames {missing} still missing.")
        data = b"".join(self._parts[i] for i in range(1, len(self._parts) + 1))
        if len(data) != self._key[2] or hashlib.sha256(data).digest() != self._key[1]:
            if self._repaired is not None:
                index = self._repaired
                del self._parts[index]
                self._parity = None
                self._repaired = None
                raise TransferError(
                    f"Frame {index} rebuilt from the parity frame does not give the announced "
                    f"payload (SHA-256 mismatch); scan frame {index} itself."
                )
            raise TransferError(
                "The frames scanned do not reassemble into the announced payload (SHA-256 "
                "mismatch); start the transfer again."
            )
        return data


def decode_frames(texts: Iterable[str], expected_type: str | None = None) -> tuple[str, bytes]:
    """Return (type, payload) from the texts of one complete message, in any order.

    Duplicates are ignored; any refused text or a missing frame raises TransferError.
    """
    assembler = FrameAssembler(expected_type)
    for position, text in enumerate(texts, start=1):
        result = assembler.add(text)
        if result.rejected:
            raise TransferError(f"QR text {position} was refused: {result.message}")
    payload = assembler.payload()
    kind = assembler.payload_type
    if kind is None:  # pragma: no cover - payload() raised already
        raise TransferError("No Sealroom frame has been scanned yet.")
    return kind, payload
