"""Reading QR codes from images: zxing-cpp, then zbar (pyzbar), then a blur-and-retry pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PIL import Image, ImageFilter, UnidentifiedImageError

from sealroom.errors import TransferError

RETRY_BLUR_RADIUS: Final = 1
"""A 1-pixel Gaussian blur lets zbar read noisy captures it misses at first (QR-TRANSFER.md)."""


@dataclass(frozen=True)
class Found:
    """One QR code read from an image: its text and where it sits (for reading order)."""

    text: str
    top: int
    left: int
    height: int


Decoder = Callable[[Image.Image], list[Found]]
"""Reads the QR codes of a greyscale image."""


def zxing_codes(grey: Image.Image) -> list[Found]:
    """Return the QR codes zxing-cpp reads in ``grey`` (a greyscale PIL image)."""
    try:
        import zxingcpp
    except ImportError as exc:
        raise TransferError(
            "The QR decoder zxing-cpp is not installed: install the sealroom package again."
        ) from exc
    found: list[Found] = []
    for code in zxingcpp.read_barcodes(
        grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    ):
        corners = (
            code.position.top_left,
            code.position.top_right,
            code.position.bottom_left,
            code.position.bottom_right,
        )
        top = min(int(p.y) for p in corners)
        left = min(int(p.x) for p in corners)
        height = max(int(p.y) for p in corners) - top
        found.append(Found(str(code.text), top, left, height))
    return found


def zbar_codes(grey: Image.Image) -> list[Found]:
    """Return the QR codes zbar (through pyzbar) reads in ``grey`` (a greyscale PIL image)."""
    try:
        from pyzbar.pyzbar import ZBarSymbol
        from pyzbar.pyzbar import decode as zbar_decode
    except ImportError as exc:  # libzbar0 missing raises ImportError from pyzbar's loader
        raise TransferError(
            "The QR decoder (zbar) is not available: install the libzbar0 package."
        ) from exc
    symbols: list[Any] = zbar_decode(grey, symbols=[ZBarSymbol.QRCODE])
    found = []
    for symbol in symbols:
        raw: bytes = bytes(symbol.data)
        # SR1 frames are ASCII; anything else is kept (replaced) so the receiver refuses it by name.
        text = raw.decode("utf-8", errors="replace")
        rect = symbol.rect
        found.append(Found(text, int(rect.top), int(rect.left), int(rect.height)))
    return found


def blurred(grey: Image.Image) -> Image.Image:
    """Return ``grey`` after the 1-pixel Gaussian blur of the retry pass."""
    return grey.filter(ImageFilter.GaussianBlur(RETRY_BLUR_RADIUS))


def _open(path: Path) -> Image.Image:
    try:
        with Image.open(path) as opened:
            opened.load()
            return opened.copy()
    except FileNotFoundError as exc:
        raise TransferError(f"The image {path} does not exist.") from exc
    except UnidentifiedImageError as exc:
        raise TransferError(f"The file {path} is not an image this workstation can read.") from exc
    except OSError as exc:
        raise TransferError(f"The image {path} cannot be read: {exc.strerror or exc}.") from exc


def greyscale(image: Image.Image | Path) -> Image.Image:
    """Return ``image`` (or the image file) in greyscale, transparent areas laid on white."""
    picture = _open(image) if isinstance(image, Path) else image
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        # Transparent pixels may be black underneath: lay the image on white, as a page would.
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return picture.convert("L")


def _merge(found: list[Found], more: list[Found]) -> list[Found]:
    texts = {f.text for f in found}
    return found + [f for f in more if f.text not in texts]


def decode_image(image: Image.Image | Path) -> list[str]:
    """Return the texts of the QR codes found in ``image`` (empty if none), in reading order.

    Both decoders read the greyscale image, zxing-cpp first and then zbar, and what either finds
    is kept (zbar misses noisy captures, zxing-cpp small low-contrast ones: QR-TRANSFER.md). If
    neither finds anything, both read the image once more after a 1-pixel blur. Each text is
    given once, even if both decoders read it.
    """
    grey = greyscale(image)
    found = _merge(zxing_codes(grey), zbar_codes(grey))
    if not found:
        soft = blurred(grey)
        found = _merge(zbar_codes(soft), zxing_codes(soft))
    return [f.text for f in reading_order(found)]


def reading_order(found: list[Found]) -> list[Found]:
    """Return ``found`` top to bottom, then left to right (the order a printed page is read in).

    Codes whose tops lie within half a code's height of the first code of a row are in that row,
    so a grid reads row by row even when the decoders place a code a few pixels apart.
    """
    rows: list[list[Found]] = []
    for code in sorted(found, key=lambda f: f.top):
        if rows and code.top - rows[-1][0].top <= max(1, rows[-1][0].height // 2):
            rows[-1].append(code)
        else:
            rows.append([code])
    return [code for row in rows for code in sorted(row, key=lambda f: f.left)]
