"""QR symbols for SR1 frames: the module grid, terminal half-block text, and images for paper."""

from __future__ import annotations

from typing import Any, Final, Literal

import qrcode
import qrcode.constants
import qrcode.exceptions
import qrcode.util
from PIL import Image

from sealroom.errors import TransferError
from sealroom.transfer.frames import QR_ALPHANUMERIC

Ecc = Literal["L", "M", "Q", "H"]
Matrix = tuple[tuple[bool, ...], ...]
"""QR modules row by row, ``True`` for a dark module, without the quiet zone."""

_ECC_LEVELS: Final[dict[str, int]] = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}

# Terminal cells for (top module light, bottom module light): light modules are drawn as blocks.
_CELLS: Final[dict[tuple[bool, bool], str]] = {
    (True, True): "\u2588",  # █ full block
    (True, False): "\u2580",  # ▀ upper half block
    (False, True): "\u2584",  # ▄ lower half block
    (False, False): " ",
}


def qr_symbol(text: str, ecc: Ecc = "M") -> Any:
    """Return the ``qrcode.QRCode`` for ``text`` in one alphanumeric-mode segment, smallest version.

    Raises TransferError if ``text`` has a character outside the QR alphanumeric set or does not
    fit a version 40 symbol at ``ecc``.
    """
    if ecc not in _ECC_LEVELS:
        raise TransferError(f"Unknown QR error correction level {ecc!r}; use L, M, Q or H.")
    if not isinstance(text, str) or not set(text) <= QR_ALPHANUMERIC:
        raise TransferError(
            "Only text in the QR alphanumeric set (0-9 A-Z space $ % * + - . / :) is put in a QR "
            "code; encode the payload into SR1 frames first."
        )
    symbol = qrcode.QRCode(version=None, error_correction=_ECC_LEVELS[ecc], border=0)
    # One explicit alphanumeric segment: the default optimiser could split off byte-mode chunks.
    symbol.add_data(qrcode.util.QRData(text.encode("ascii"), mode=qrcode.util.MODE_ALPHA_NUM))
    try:
        symbol.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:
        raise TransferError(
            f"{len(text)} characters do not fit one QR code at error correction {ecc}; "
            "use smaller fragments."
        ) from exc
    return symbol


def qr_matrix(text: str, ecc: Ecc = "M") -> Matrix:
    """Return the module grid of ``text`` (``True`` = dark), without a quiet zone."""
    rows: list[list[Any]] = qr_symbol(text, ecc).get_matrix()
    return tuple(tuple(bool(module) for module in row) for row in rows)


def _with_quiet_zone(matrix: Matrix, quiet: int) -> Matrix:
    if isinstance(quiet, bool) or not isinstance(quiet, int) or quiet < 0:
        raise TransferError("The QR quiet zone must be a whole number of modules, 0 or more.")
    if not matrix or any(len(row) != len(matrix) for row in matrix):
        raise TransferError("A QR matrix must be a non-empty square grid of modules.")
    width = len(matrix) + 2 * quiet
    blank = (False,) * width
    side = (False,) * quiet
    return (blank,) * quiet + tuple(side + row + side for row in matrix) + (blank,) * quiet


def terminal_lines(matrix: Matrix, quiet: int = 2) -> list[str]:
    """Return the symbol as text, two module rows per line, with ``quiet`` light modules around it.

    Light modules (and the quiet zone) are drawn as block characters and dark modules as spaces,
    so the code is correct when shown light-on-dark: the widget showing it must set a light
    foreground on a dark background explicitly instead of inheriting the terminal's colours.
    An odd last row is paired with one more light row, which only widens the quiet zone.
    """
    grid = _with_quiet_zone(matrix, quiet)
    width = len(grid[0])
    padded = (*grid, (False,) * width) if len(grid) % 2 else grid
    lines = []
    for top, bottom in zip(padded[0::2], padded[1::2], strict=True):
        lines.append("".join(_CELLS[(not t, not b)] for t, b in zip(top, bottom, strict=True)))
    return lines


def matrix_image(matrix: Matrix, scale: int = 8, quiet: int = 4) -> Image.Image:
    """Return ``matrix`` as a greyscale image: dark modules black, light ones and border white."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise TransferError("The QR image scale must be a whole number of pixels, 1 or more.")
    grid = _with_quiet_zone(matrix, quiet)
    size = len(grid)
    image = Image.new("L", (size, size), 255)
    image.putdata([0 if dark else 255 for row in grid for dark in row])
    return image.resize((size * scale, size * scale), Image.Resampling.NEAREST)


def qr_image(text: str, ecc: Ecc = "M", scale: int = 8, quiet: int = 4) -> Image.Image:
    """Return the QR code of ``text`` as a greyscale image, ``scale`` pixels per module, for PNG."""
    return matrix_image(qr_matrix(text, ecc), scale, quiet)
