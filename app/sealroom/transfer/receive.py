"""The QrReceiver port: SR1 frames from a camera, image files and scanned PDFs, SHA-256 checked."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PIL import Image

from sealroom.ceremony.ports import QrProgress
from sealroom.errors import TransferError
from sealroom.transfer.camera import FrameSource, V4L2Camera, camera_index, frame_image
from sealroom.transfer.frames import FrameAssembler, FrameStatus, PayloadType
from sealroom.transfer.scan import decode_image

if TYPE_CHECKING:
    from sealroom.ceremony.ports import QrReceiver

IMAGE_SUFFIXES: Final = (".png", ".jpg", ".jpeg", ".pnm", ".pgm", ".ppm", ".bmp", ".tif", ".tiff")
PDF_DPI: Final = 200
"""Resolution a scanned or printed PDF is rendered at (QR-TRANSFER.md: 100-300 dpi decode)."""

Progress = Callable[[QrProgress], bool]
CameraFactory = Callable[[int], FrameSource]


class _Stopped(Exception):
    """The progress callback returned False."""


class _Reception:
    """One reception's state: the assembler, the counters, and the progress reports."""

    def __init__(self, payload_type: str | None, progress: Progress | None) -> None:
        self.assembler = FrameAssembler(payload_type)
        self.progress = progress
        self.images = 0
        self.codes = 0
        self.source = ""
        self.notices: list[str] = []

    def report(self, notice: str | None) -> None:
        if notice is not None:
            self.notices.append(notice)
        if self.progress is None:
            return
        a = self.assembler
        snapshot = QrProgress(
            source=self.source,
            payload_type=a.payload_type,
            digest_hex=a.digest_hex,
            total=a.total,
            received=a.received,
            repaired=a.repaired,
            notice=notice,
            images=self.images,
            codes=self.codes,
        )
        if not self.progress(snapshot):
            raise _Stopped

    def take_image(self, label: str, image: Image.Image | Path) -> bytes | None:
        """Decode one image into the assembler; the payload if the message is now complete."""
        self.source = label
        self.images += 1
        try:
            texts = decode_image(image)
        except TransferError as exc:
            self.report(f"{label}: {exc.message} It is skipped.")
            return None
        if not texts:
            self.report(f"{label}: no QR code found.")
            return None
        notices: list[str] = []
        for position, text in enumerate(texts, start=1):
            self.codes += 1
            where = label if len(texts) == 1 else f"{label}, QR code {position}"
            result = self.assembler.add(text)
            if result.status is FrameStatus.REJECTED:
                notices.append(f"{where}: {result.message} It is ignored.")
            elif result.status is FrameStatus.DUPLICATE or result.repaired is not None:
                notices.append(f"{where}: {result.message}")
        for notice in notices:
            self.report(notice)
        if not notices:
            self.report(None)
        return self.completed()

    def completed(self) -> bytes | None:
        """The payload once complete and verified; None while frames are still missing.

        A SHA-256 failure after a parity rebuild is a notice (the rebuild is set aside and the
        real frame can still come); any other SHA-256 failure ends the reception.
        """
        if not self.assembler.complete:
            return None
        rebuilt = self.assembler.repaired
        try:
            return self.assembler.payload()
        except TransferError as exc:
            if not rebuilt:
                raise
            self.report(f"{self.source}: {exc.message}")
            return None

    def status(self) -> str:
        a = self.assembler
        if a.total is None:
            return "no Sealroom frame was read"
        return f"{len(a.received)} of {a.total} frames received"


class ImageQrReceiver:
    """Reads SR1 frames from a camera (``camera:N``), image files, folders of images and PDFs.

    Frames of another message, misread frames, frames of the wrong type and duplicates are
    notices (through ``progress``), never the end of the reception; the payload is released only
    once every frame is in and its SHA-256 matches. ``camera_factory`` opens camera N (the real
    V4L2 camera by default; tests give a fake device).
    """

    def __init__(self, camera_factory: CameraFactory | None = None, pdf_dpi: int = PDF_DPI) -> None:
        self.camera_factory: CameraFactory = camera_factory or V4L2Camera
        self.pdf_dpi = pdf_dpi

    def receive(
        self,
        sources: Sequence[str],
        payload_type: str,
        progress: Progress | None = None,
    ) -> bytes:
        """The payload once every frame is in and its SHA-256 matches; TransferError otherwise."""
        return self.receive_message(sources, payload_type, progress)[1]

    def receive_message(
        self,
        sources: Sequence[str],
        payload_type: str | None = None,
        progress: Progress | None = None,
    ) -> tuple[PayloadType, bytes]:
        """Like ``receive``, with the type too (the first frame's when ``payload_type`` is None)."""
        if isinstance(sources, str) or not sources:
            raise TransferError("No camera, image or PDF was given to read the QR codes from.")
        for source in sources:  # a typo is refused before anything is read
            if camera_index(source) is None and not Path(source).exists():
                raise TransferError(f"{source} does not exist.")
        reception = _Reception(payload_type, progress)
        try:
            for source in sources:
                index = camera_index(source)
                if index is not None:
                    payload = self._from_camera(index, reception)
                else:
                    payload = self._from_files(Path(source), reception)
                if payload is not None:
                    kind = reception.assembler.payload_type
                    if kind is None:  # pragma: no cover - a complete message has a type
                        raise TransferError("The QR message completed without a type.")
                    return kind, payload
        except _Stopped:
            raise TransferError(
                f"The QR reception was stopped by the operator ({reception.status()}); nothing "
                "was used."
            ) from None
        named = ", ".join(sources)
        if reception.codes == 0:
            raise TransferError(
                f"No QR code was found in {named}: check the images are sharp and the codes whole."
            )
        a = reception.assembler
        if a.total is None:
            last = reception.notices[-1] if reception.notices else ""
            raise TransferError(f"No Sealroom frame was read from {named}. {last}".strip())
        missing = ", ".join(str(i) for i in a.missing)
        raise TransferError(
            f"The QR transfer is incomplete: frame(s) {missing} of {a.total} were not found in "
            f"{named}; nothing was used."
        )

    def _from_files(self, path: Path, reception: _Reception) -> bytes | None:
        for image, label in _images(path, self.pdf_dpi):
            payload = reception.take_image(label, image)
            if payload is not None:
                return payload
        return None

    def _from_camera(self, index: int, reception: _Reception) -> bytes | None:
        camera = self.camera_factory(index)
        with camera as frames:
            label = camera.label
            for frame in frames:
                try:
                    image = frame_image(frame)
                except TransferError as exc:
                    reception.source = label
                    reception.images += 1
                    reception.report(f"{label}: {exc.message}")
                    continue
                payload = reception.take_image(label, image)
                if payload is not None:
                    return payload
        raise TransferError(
            f"The {label} stopped giving frames ({reception.status()}); nothing was used."
        )


def _images(path: Path, dpi: int) -> Iterator[tuple[Path, str]]:
    """The images to decode from ``path`` (a file, a folder, or a PDF), each with a label."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise TransferError(f"The folder {path} holds no image files.")
        for file in files:
            yield file, str(file)
        return
    if path.suffix.lower() == ".pdf":
        yield from pdf_pages(path, dpi)
        return
    yield path, str(path)


def pdf_pages(path: Path, dpi: int = PDF_DPI) -> Iterator[tuple[Path, str]]:
    """Render each page of the PDF ``path`` to a greyscale PNG (poppler); yield (file, label)."""
    with tempfile.TemporaryDirectory(prefix="sealroom-pdf-") as tmp:
        try:
            subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-gray", "-png", str(path), f"{tmp}/page"],
                check=True,
                capture_output=True,
                timeout=300,
            )
        except FileNotFoundError as exc:
            raise TransferError("pdftoppm (poppler-utils) is needed to read a PDF.") from exc
        except subprocess.CalledProcessError as exc:
            raise TransferError(f"{path} cannot be read as a PDF.") from exc
        pages: Iterable[Path] = sorted(Path(tmp).glob("page*.png"))
        for number, page in enumerate(pages, start=1):
            yield page, f"{path} page {number}"


if TYPE_CHECKING:

    def _implements_the_port(receiver: ImageQrReceiver) -> QrReceiver:
        return receiver  # mypy proves ImageQrReceiver satisfies the QrReceiver Protocol
