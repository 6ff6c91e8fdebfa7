"""The printed look every Sealroom document shares: palette, standard PDF fonts, printable text."""

from __future__ import annotations

from typing import Any, Final

from reportlab.lib import colors

INK: Final = colors.HexColor("#111111")
MUTED: Final = colors.HexColor("#555555")
RULE: Final = colors.HexColor("#8a8a8a")
HEAD_FILL: Final = colors.HexColor("#e6e6e6")
BAND_FILL: Final = colors.HexColor("#f2f2f2")
ALERT: Final = colors.HexColor("#b00020")
WATERMARK: Final = colors.Color(0.75, 0.05, 0.05, alpha=0.11)

SANS: Final = "Helvetica"
SANS_BOLD: Final = "Helvetica-Bold"
MONO: Final = "Courier"
MONO_BOLD: Final = "Courier-Bold"

# The 14 standard PDF fonts are used, so nothing depends on font files on the machine. They
# cover Windows-1252; any other character is printed as its code point, never dropped silently.
_PRINTABLE: Final = "cp1252"


def printable(text: str) -> str:
    """``text`` with every character the standard fonts cannot show written as ``[U+XXXX]``."""
    out = []
    for char in text:
        try:
            char.encode(_PRINTABLE)
        except UnicodeEncodeError:
            out.append(f"[U+{ord(char):04X}]")
        else:
            out.append(char)
    return "".join(out)


def draw_rehearsal_watermark(canvas: Any, width: float, height: float) -> None:
    """The diagonal REHEARSAL across a page of ``width`` by ``height``, faint enough to read."""
    canvas.saveState()
    canvas.setFillColor(WATERMARK)
    canvas.setFont(SANS_BOLD, 104)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(54.7)
    canvas.drawCentredString(0, -36, "REHEARSAL")
    canvas.restoreState()
