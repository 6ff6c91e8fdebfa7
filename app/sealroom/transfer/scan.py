"""Reading QR codes from images with zbar (pyzbar), with a blur-and-retry pass for noisy images."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from PIL import Image, ImageFilter, UnidentifiedImageError

from sealroom.errors import TransferError

RETRY_BLUR_RADIUS: Final = 1
"""A 1-pixel Gaussian blur lets zbar read noisy captures it misses at first (QR-TRANSFER.md)."""


def _zbar_decode(image: Image.Image) -> list[str]:
    try:
        from pyzbar.pyzbar import ZBarSymbol
        from pyzbar.pyzbar import decode as zbar_decode
    except ImportError as exc:  # libzbar0 missing raises ImportError from pyzbar's loader
        raise TransferError(
            "The QR decoder (zbar) is not available: install the libzbar0 package."
        ) from exc
    symbols: list[Any] = zbar_decode(image, symbols=[ZBarSymbol.QRCODE])
    # Reading order: top to bottom, then left to right (a printed page scans in that order).
    symbols.sort(key=lambda symbol: (int(symbol.rect.top), int(symbol.rect.left)))
    texts = []
    for symbol in symbols:
        raw: bytes = bytes(symbol.data)
        # SR1 frames are ASCII; anything else is kept (replaced) so the receiver refuses it by name.
        texts.append(raw.decode("utf-8", errors="replace"))
    return texts


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


def decode_image(image: Image.Image | Path) -> list[str]:
    """Return the texts of the QR codes found in ``image`` (empty if none), in reading order.

    If nothing decodes, the image is blurred by one pixel and decoded once more.
    """
    picture = _open(image) if isinstance(image, Path) else image
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        # Transparent pixels may be black underneath: lay the image on white, as a page would.
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    grey = picture.convert("L")
    texts = _zbar_decode(grey)
    if not texts:
        texts = _zbar_decode(grey.filter(ImageFilter.GaussianBlur(RETRY_BLUR_RADIUS)))
    return texts
