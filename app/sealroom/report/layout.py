"""Page layout for printed records: A4 pages, styles, tables, header and footer."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from sealroom.paper_style import (
    ALERT,
    BAND_FILL,
    HEAD_FILL,
    INK,
    MONO_BOLD,
    MUTED,
    RULE,
    SANS,
    SANS_BOLD,
    draw_rehearsal_watermark,
    printable,
)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X: Final = 18 * mm
MARGIN_BOTTOM: Final = 18 * mm
HEADER_HEIGHT: Final = 20 * mm
FIRST_HEADER_HEIGHT: Final = 30 * mm
CONTENT_WIDTH: Final = PAGE_WIDTH - 2 * MARGIN_X


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base: dict[str, Any] = {
        "fontName": SANS,
        "fontSize": 9,
        "leading": 11.5,
        "textColor": INK,
        "splitLongWords": 1,
    }
    base.update(kw)
    return ParagraphStyle(name, **base)


STYLES: Final[dict[str, ParagraphStyle]] = {
    "title": _style("title", fontName=SANS_BOLD, fontSize=17, leading=21, spaceAfter=2),
    "subtitle": _style("subtitle", fontSize=11, leading=14, spaceAfter=8),
    "h1": _style("h1", fontName=SANS_BOLD, fontSize=12, leading=15, spaceBefore=10, spaceAfter=5),
    "h2": _style("h2", fontName=SANS_BOLD, fontSize=9.5, leading=12, spaceBefore=6, spaceAfter=3),
    "h3": _style("h3", fontName=SANS_BOLD, fontSize=8.5, leading=11, spaceBefore=5, spaceAfter=2),
    "body": _style("body", spaceAfter=4),
    "small": _style("small", fontSize=7.5, leading=9.5, textColor=MUTED),
    "cell": _style("cell", fontSize=8, leading=10),
    "cell_bold": _style("cell_bold", fontName=SANS_BOLD, fontSize=8, leading=10),
    "head": _style("head", fontName=SANS_BOLD, fontSize=8, leading=10),
    # Courier's strokes are hair-thin: hashes, CKA_IDs and serials would be the faintest text on
    # the page. Courier-Bold has the same advance widths (the layout does not move) and reads.
    "mono": _style("mono", fontName=MONO_BOLD, fontSize=7.5, leading=9.5),
    "mono_small": _style("mono_small", fontName=MONO_BOLD, fontSize=6.8, leading=8.2),
    "qr_label": _style("qr_label", fontName=MONO_BOLD, fontSize=8, leading=10, alignment=TA_CENTER),
    "alert": _style("alert", fontName=SANS_BOLD, textColor=ALERT),
    # The script worksheet is read at arm's length and written on: larger type throughout.
    "sheet_title": _style("sheet_title", fontName=SANS_BOLD, fontSize=18, leading=22, spaceAfter=2),
    "sheet_subtitle": _style("sheet_subtitle", fontSize=12, leading=15, spaceAfter=6),
    "sheet_h1": _style(
        "sheet_h1", fontName=SANS_BOLD, fontSize=13, leading=16, spaceBefore=8, spaceAfter=4
    ),
    "sheet_body": _style("sheet_body", fontSize=10, leading=13, spaceAfter=4),
    "sheet_small": _style("sheet_small", fontSize=8.5, leading=11, textColor=MUTED),
    "sheet_head": _style("sheet_head", fontName=SANS_BOLD, fontSize=9.5, leading=12),
    "sheet_cell": _style("sheet_cell", fontSize=10, leading=12.8),
    "sheet_cell_bold": _style("sheet_cell_bold", fontName=SANS_BOLD, fontSize=10, leading=12.8),
    "sheet_step": _style("sheet_step", fontName=SANS_BOLD, fontSize=11, leading=13.5),
    "sheet_number": _style(
        "sheet_number", fontName=SANS_BOLD, fontSize=14, leading=17, alignment=TA_CENTER
    ),
    "sheet_mono": _style("sheet_mono", fontName=MONO_BOLD, fontSize=10, leading=12.8),
}


def esc(text: str) -> str:
    """``text`` made safe for reportlab's paragraph markup (and printable)."""
    return escape(printable(text))


def para(text: str, style: str = "body", *, markup: bool = False) -> Paragraph:
    """A paragraph of plain ``text``; with ``markup`` the text is trusted reportlab markup."""
    return Paragraph(text if markup else esc(text), STYLES[style])


def mono_lines(text: str, style: str = "mono") -> Paragraph:
    """Monospaced text that keeps its line breaks (and still wraps a line too long for the cell)."""
    lines = [esc(line) for line in text.splitlines()]
    return Paragraph("<br/>".join(lines), STYLES[style])


def grid(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[Flowable | str]],
    widths: Sequence[float],
    *,
    shade_first_column: bool = False,
    row_heights: Sequence[float | None] | None = None,
    alerts: Sequence[int] = (),
    bands: Sequence[int] = (),
    head_style: str = "head",
    cell_style: str = "cell",
    padding: float = 3,
    split_in_row: float = 0,
) -> Table:
    """A ruled table that repeats its header row on each page it spans; cells wrap.

    ``bands`` are indices of rows that are sub-headings: their first cell spans the whole width
    on a shaded background (the other cells of such a row are ignored). ``alerts`` are indices of
    rows boxed in red. ``split_in_row`` (points, 0 = never) lets a row too tall for the space
    left be split across pages when at least that much of it fits.
    """
    data: list[list[Any]] = []
    if header is not None:
        data.append([para(h, head_style) for h in header])
    for row in rows:
        data.append([para(c, cell_style) if isinstance(c, str) else c for c in row])
    heights = None
    if row_heights is not None:
        heights = ([None] if header is not None else []) + list(row_heights)
    table = Table(
        data,
        colWidths=list(widths),
        rowHeights=heights,
        repeatRows=1 if header is not None else 0,
        splitByRow=1,
        splitInRow=split_in_row,
        hAlign="LEFT",
    )
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), padding),
        ("RIGHTPADDING", (0, 0), (-1, -1), padding),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header is not None:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL))
    if shade_first_column:
        commands.append(("BACKGROUND", (0, 0), (0, -1), BAND_FILL))
    offset = 1 if header is not None else 0
    for index in bands:
        band = index + offset
        commands.append(("SPAN", (0, band), (-1, band)))
        commands.append(("BACKGROUND", (0, band), (-1, band), BAND_FILL))
    for index in alerts:
        commands.append(("BOX", (0, index + offset), (-1, index + offset), 1.2, ALERT))
    table.setStyle(TableStyle(commands))
    return table


def fields(rows: Sequence[tuple[str, Flowable | str]], label_width: float = 48 * mm) -> Table:
    """A two-column label/value table."""
    return grid(
        None,
        [[para(label, "cell_bold"), value] for label, value in rows],
        [label_width, CONTENT_WIDTH - label_width],
        shade_first_column=True,
    )


class CheckBox(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """An empty square to tick by hand on the printout, white inside (the watermark stays out)."""

    def __init__(self, side: float = 3.6 * mm) -> None:
        super().__init__()
        self.side = side

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.side, self.side

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.white)
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.9)
        canvas.rect(0, 0, self.side, self.side, stroke=1, fill=1)
        canvas.restoreState()


@dataclass(frozen=True)
class PageFrame:
    """What every page of a record shows around its content."""

    heading: str
    """Left of the first header line, e.g. ``Ceremony report · EXR-RKG-2027-01``."""
    identity_label: str
    identity_hex: str
    """Printed on every page (the script's SHA-256)."""
    identity_words: str
    """Printed on the first page only."""
    footer: str
    rehearsal: bool


def render_pdf(
    story_factory: Callable[[], list[Flowable]],
    page: PageFrame,
    *,
    title: str,
    subject: str,
    author: str,
) -> bytes:
    """Render the story to PDF bytes; deterministic (fixed metadata, ``invariant``).

    The story is laid out twice: once to count the pages, then with "page x of y" filled in.
    """
    meta = {"title": title, "subject": subject, "author": author}
    pages = _layout(story_factory, page, None, meta)[1]
    data, again = _layout(story_factory, page, pages, meta)
    if again != pages:  # pragma: no cover - the footer is outside the frames; defensive
        raise RuntimeError("the page count changed between layout passes")
    return data


def _layout(
    story_factory: Callable[[], list[Flowable]],
    page: PageFrame,
    total: int | None,
    meta: dict[str, str],
) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=HEADER_HEIGHT,
        bottomMargin=MARGIN_BOTTOM,
        title=meta["title"],
        subject=meta["subject"],
        author=meta["author"],
        creator="Sealroom",
        producer="Sealroom (ReportLab)",
        keywords=[],
        invariant=1,
        pageCompression=1,
        lang="en",
    )
    height_first = PAGE_HEIGHT - FIRST_HEADER_HEIGHT - MARGIN_BOTTOM
    height_later = PAGE_HEIGHT - HEADER_HEIGHT - MARGIN_BOTTOM
    first = Frame(MARGIN_X, MARGIN_BOTTOM, CONTENT_WIDTH, height_first, id="first", **_NO_PAD)
    later = Frame(MARGIN_X, MARGIN_BOTTOM, CONTENT_WIDTH, height_later, id="later", **_NO_PAD)

    def decorate(canvas: Any, document: Any) -> None:
        _decorate(canvas, document.page, total, page)

    doc.addPageTemplates(
        [
            PageTemplate(id="first", frames=[first], onPage=decorate),
            PageTemplate(id="later", frames=[later], onPage=decorate),
        ]
    )
    story: list[Flowable] = [NextPageTemplate("later"), *story_factory()]
    doc.build(story)
    return buffer.getvalue(), int(doc.page)


_NO_PAD: Final[dict[str, float]] = {
    "leftPadding": 0,
    "rightPadding": 0,
    "topPadding": 0,
    "bottomPadding": 0,
}


def _decorate(canvas: Any, number: int, total: int | None, page: PageFrame) -> None:
    canvas.saveState()
    if page.rehearsal:
        draw_rehearsal_watermark(canvas, PAGE_WIDTH, PAGE_HEIGHT)
    top = PAGE_HEIGHT - 10 * mm
    right_text = "REHEARSAL - NOT A CEREMONY RECORD" if page.rehearsal else ""
    right_width = canvas.stringWidth(right_text, SANS_BOLD, 9) + (6 * mm if right_text else 0)
    heading = printable(page.heading)
    size = 9.0
    while size > 5.5 and canvas.stringWidth(heading, SANS_BOLD, size) > CONTENT_WIDTH - right_width:
        size -= 0.5
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, size)
    canvas.drawString(MARGIN_X, top, heading)
    if right_text:
        canvas.setFillColor(ALERT)
        canvas.setFont(SANS_BOLD, 9)
        canvas.drawRightString(PAGE_WIDTH - MARGIN_X, top, right_text)
        canvas.setFillColor(INK)
    canvas.setFont(SANS, 7)
    canvas.drawString(MARGIN_X, top - 9, page.identity_label)
    label_width = canvas.stringWidth(page.identity_label + " ", SANS, 7)
    canvas.setFont(MONO_BOLD, 7.2)
    canvas.drawString(MARGIN_X + label_width, top - 9, page.identity_hex)
    rule_y = top - 14
    if number == 1:
        words = Paragraph(
            f"<font name='{SANS}'>in PGP words:</font> {esc(page.identity_words)}",
            _style("words", fontName=SANS_BOLD, fontSize=7, leading=8.6),
        )
        _, height = words.wrap(CONTENT_WIDTH, 30 * mm)
        words.drawOn(canvas, MARGIN_X, top - 12 - height)
        rule_y = top - 17 - height
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN_X, rule_y, PAGE_WIDTH - MARGIN_X, rule_y)
    bottom = MARGIN_BOTTOM - 7 * mm
    canvas.line(MARGIN_X, bottom + 9, PAGE_WIDTH - MARGIN_X, bottom + 9)
    of = f" of {total}" if total is not None else ""
    page_label = f"Page {number}{of}"
    room = CONTENT_WIDTH - canvas.stringWidth(page_label, SANS_BOLD, 8.5) - 5 * mm
    footer = printable(page.footer)
    footer_size = 6.8
    while footer_size > 5 and canvas.stringWidth(footer, SANS, footer_size) > room:
        footer_size -= 0.2
    canvas.setFont(SANS, footer_size)
    canvas.setFillColor(MUTED)
    canvas.drawString(MARGIN_X, bottom, footer)
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 8.5)
    canvas.drawRightString(PAGE_WIDTH - MARGIN_X, bottom, page_label)
    canvas.restoreState()
