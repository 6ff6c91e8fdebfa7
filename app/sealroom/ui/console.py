"""The Linux console (the appliance's tty1): only the colours and characters it can show."""

from __future__ import annotations

import os

from textual.drivers.linux_driver import LinuxDriver

CONSOLE_TERM = "linux"
"""TERM on the Linux console (the appliance's tty1: agetty ... linux)."""

CONSOLE_THEME = "ansi-dark"
"""The console has 16 colours and no bright backgrounds: Textual's ANSI theme uses its own."""

# The kernel's built-in console font has the 256 glyphs of IBM code page 437; the kernel maps
# Unicode onto them with drivers/tty/vt/cp437.uni and shows any other character as a square (■),
# so the focus marker ▸ was a square on tty1. These are the characters it can show beyond ASCII.
CP437_EXTRA = (
    "☺☻♥♦◆♣♠•◘○◙♂♀♪♫☼¤▶►◀◄↕‼¶§▬↨↑↓→←∟↔▲▼¨´¸\u00adÀÁÂÃ©ÐÈÊËÌÍÎÏ\u212aÒÓÔÕ®ÙÚÛÝ⎽ãõ×ýª¦⌂"  # noqa: RUF001 (a table of glyphs)
    "ÇüéâäàåçêëïîìÄÅ\u212bÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»"
    "░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀"
    "αβßΓπΣσµμτΦØΘΩ\u2126δð∞φøε∈∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\ufffd\u00a0"
)
CONSOLE_CHARACTERS = frozenset(CP437_EXTRA) | frozenset(chr(c) for c in range(0x20, 0x7F))

SUBSTITUTES = {
    "\u25b8": "\u25ba",  # ▸ the focused button's marker -> ►
    "\u203a": "\u25ba",  # the cursor in a list (single angle quote) -> ►
    "\u25cf": "\u2022",  # ● chosen -> •
    "\u2713": "\u221a",  # ✓ -> √
    "\u2717": "x",  # ✗
    "\u2026": ".",  # … (one cell: it cannot become three dots)
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u25a1": "\u00b7",  # □ a frame not yet received -> ·
    "\u25a3": "\u2592",  # ▣ a frame rebuilt from parity -> ▒
    "\u23ce": "\u2518",  # ⏎ (Textual's Enter key) -> ┘
    # Textual's scrollbars draw the ends of the thumb in eighths of a cell.
    "\u2581": "\u2584",  # ▁ ▂ ▃ -> ▄
    "\u2582": "\u2584",
    "\u2583": "\u2584",
    "\u2585": "\u2588",  # ▅ ▆ ▇ -> █
    "\u2586": "\u2588",
    "\u2587": "\u2588",
    "\u258f": "\u258c",  # ▏ ▎ ▍ -> ▌
    "\u258e": "\u258c",
    "\u258d": "\u258c",
    "\u258b": "\u2588",  # ▋ ▊ ▉ -> █
    "\u258a": "\u2588",
    "\u2589": "\u2588",
}
"""One cell for one cell, so the layout Textual computed stays exact."""

_TABLE = str.maketrans(SUBSTITUTES)


def on_console() -> bool:
    """Whether this process draws on the Linux console."""
    return os.environ.get("TERM") == CONSOLE_TERM


def for_console(text: str) -> str:
    """``text`` with the characters the console font lacks replaced by ones it has."""
    return text.translate(_TABLE)


class ConsoleDriver(LinuxDriver):
    """Textual's Linux driver, writing only characters the console font can draw."""

    def write(self, data: str) -> None:
        super().write(data.translate(_TABLE))
