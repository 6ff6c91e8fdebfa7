"""The QrReceiver port from image files and scanned PDFs: every frame in, SHA-256 checked."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sealroom.errors import TransferError
from sealroom.transfer.frames import FrameAssembler
from sealroom.transfer.scan import decode_image

if TYPE_CHECKING:
    from sealroom.ceremony.ports import QrReceiver

IMAGE_SUFFIXES: Final = (".png", ".jpg", ".jpeg", ".pnm", ".pgm", ".ppm", ".bmp", ".tif", ".tiff")
PDF_DPI: Final = 200
"""Resolution a scanned or printed PDF is rendered at (QR-TRANSFER.md: 100-300 dpi decode)."""


class ImageQrReceiver:
    """Reads SR1 frames from image files, folders of images and PDFs (pages rendered by poppler).

    A camera source (``camera:N``) is refused by name: live capture is not part of this reader.
    """

    def receive(self, sources: Sequence[str], payload_type: str) -> bytes:
        """The payload once every frame is in and its SHA-256 matches; TransferError otherwise."""
        if not sources:
            raise TransferError("No image or PDF was given to read the QR codes from.")
        assembler = FrameAssembler(payload_type)
        seen = 0
        for source in sources:
            if source.startswith("camera:"):
                raise TransferError(
                    f"{source}: this workstation reads QR codes from image files and PDFs only."
                )
            for image, label in _images(Path(source)):
                for position, text in enumerate(decode_image(image), start=1):
                    seen += 1
                    result = assembler.add(text)
                    if result.rejected:
                        raise TransferError(f"{label}, QR code {position}: {result.message}")
        if seen == 0:
            raise TransferError(
                f"No QR code was found in {', '.join(sources)}: check the images are sharp and "
                "the codes whole."
            )
        if not assembler.complete:
            missing = ", ".join(str(i) for i in assembler.missing)
            raise TransferError(
                f"The QR transfer is incomplete: frame(s) {missing} of {assembler.total} were "
                f"not found in {', '.join(sources)}."
            )
        return assembler.payload()


def _images(path: Path) -> Iterator[tuple[Path, str]]:
    """The images to decode from ``path`` (a file, a folder, or a PDF), each with a label."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise TransferError(f"The folder {path} holds no image files.")
        for file in files:
            yield file, str(file)
        return
    if not path.exists():
        raise TransferError(f"{path} does not exist.")
    if path.suffix.lower() == ".pdf":
        yield from _pdf_pages(path)
        return
    yield path, str(path)


def _pdf_pages(path: Path) -> Iterator[tuple[Path, str]]:
    with tempfile.TemporaryDirectory(prefix="sealroom-pdf-") as tmp:
        try:
            subprocess.run(
                ["pdftoppm", "-r", str(PDF_DPI), "-gray", "-png", str(path), f"{tmp}/page"],
                check=True,
                capture_output=True,
                timeout=120,
            )
        except FileNotFoundError as exc:
            raise TransferError("pdftoppm (poppler-utils) is needed to read a PDF.") from exc
        except subprocess.CalledProcessError as exc:
            raise TransferError(f"{path} cannot be read as a PDF.") from exc
        pages = sorted(Path(tmp).glob("page*.png"))
        for number, page in enumerate(pages, start=1):
            yield page, f"{path} page {number}"


if TYPE_CHECKING:

    def _implements_the_port(receiver: ImageQrReceiver) -> QrReceiver:
        return receiver  # mypy proves ImageQrReceiver satisfies the QrReceiver Protocol
