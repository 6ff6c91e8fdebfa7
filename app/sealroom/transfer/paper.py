"""Transfer on paper: an object as a labelled grid of QR codes, its SHA-256 and a base32 listing.

Everything here is vector reportlab, deterministic, and readable by the receiver (``scan.py``,
``receive.py``) after printing and scanning. ``docs/qr-frames.md`` ("On paper") is the
specification of the grid and of the listing's line check; ``parse_base32_listing`` reads a
listing typed by hand back into bytes.

This module draws its own page frame rather than reuse ``report/layout.py``: the transfer
adapter may not import the report (which imports the journal; adapters stay independent).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import BalancedColumns

from sealroom.ceremony.fingerprint import Fingerprint, sha256_fingerprint
from sealroom.errors import SealroomError, TransferError
from sealroom.paper_style import (
    ALERT,
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
from sealroom.transfer.frames import b32_decode, b32_encode, encode_frames, frame_crc
from sealroom.transfer.qr import Ecc, qr_matrix

MIN_MODULE_MM: Final = 0.5
"""Smallest printed module: a whole A4 page captured at about 100 dpi still decodes."""
MAX_MODULE_MM: Final = 0.8
"""Small symbols (a short payload) are drawn larger, up to this, to scan more easily."""
QUIET_ZONE: Final = 4
"""Light modules around each symbol (ISO/IEC 18004)."""
MAX_HEADER_CHARS: Final = 88
"""Longest SR1 frame without its data: 8-digit length, 4-digit index and total (qr-frames.md)."""

LISTING_GROUP: Final = 4
"""Base32 characters per group on a listing line."""
LISTING_GROUPS: Final = 8
"""Groups per full line: 32 base32 characters, exactly 20 bytes, so each line decodes alone."""
LISTING_LINE_CHARS: Final = LISTING_GROUP * LISTING_GROUPS
LISTING_LINE_BYTES: Final = LISTING_LINE_CHARS * 5 // 8
LISTING_CHECK_CHARS: Final = 4
"""The line check: the first 4 base32 characters (top 20 bits) of a CRC-32."""
LISTING_BLOCK: Final = 10
"""Lines printed together before a small gap, so a typist keeps their place."""

_MONO: Final = MONO_BOLD  # plain Courier is hair-thin on paper; the bold has the same widths


@dataclass(frozen=True)
class PaperLayout:
    """How QR codes are printed: module size, error correction, codes per row, page and margins.

    The default, measured (docs/qr-frames.md "On paper"): 0.5 mm modules, ECC Q, symbols of at
    most version 22 (105 modules, 56.5 mm with the quiet zone), three to a row on A4 and four
    rows to a page: twelve codes of up to 459 payload bytes each, about 5.5 KB per page.
    """

    module_mm: float = MIN_MODULE_MM
    ecc: Ecc = "Q"
    columns: int = 3
    max_version: int = 22
    page_size: tuple[float, float] = field(default=A4)
    """Page width and height in points (A4)."""
    margin_mm: float = 18.0

    def __post_init__(self) -> None:
        if not isinstance(self.module_mm, int | float) or self.module_mm < MIN_MODULE_MM:
            raise TransferError(
                f"Printed QR modules must be at least {MIN_MODULE_MM} mm, not {self.module_mm!r}."
            )
        if self.ecc not in ("Q", "H"):
            raise TransferError(
                f"Paper QR codes use error correction Q or H (a smudge or fold is survivable), "
                f"not {self.ecc!r}."
            )
        if isinstance(self.columns, bool) or not isinstance(self.columns, int) or self.columns < 1:
            raise TransferError("A QR grid needs a whole number of columns, 1 or more.")
        if not isinstance(self.max_version, int) or not 5 <= self.max_version <= 40:
            raise TransferError("The largest printed QR version must be between 5 and 40.")
        if self.columns * self.symbol_side > self.content_width:
            raise TransferError(
                f"{self.columns} QR codes of version {self.max_version} at {self.module_mm} mm "
                f"modules ({self.symbol_side / mm:.1f} mm each) do not fit the "
                f"{self.content_width / mm:.0f} mm between the margins."
            )

    @property
    def content_width(self) -> float:
        """Width between the margins, in points."""
        return float(self.page_size[0] - 2 * self.margin_mm * mm)

    @property
    def symbol_side(self) -> float:
        """Side of the largest symbol with its quiet zone at ``module_mm``, in points."""
        return float((17 + 4 * self.max_version + 2 * QUIET_ZONE) * self.module_mm * mm)

    @property
    def fragment_size(self) -> int:
        """Payload bytes per frame so that any frame fits ``max_version`` at ``ecc``."""
        data_chars = _alphanumeric_capacity(self.max_version, self.ecc) - MAX_HEADER_CHARS
        return data_chars * 5 // 8


def _alphanumeric_capacity(version: int, ecc: Ecc) -> int:
    """Characters one alphanumeric segment holds in a symbol of ``version`` at ``ecc``."""
    import qrcode.constants
    import qrcode.util
    from qrcode.base import rs_blocks

    level = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }[ecc]
    bits = sum(block.data_count for block in rs_blocks(version, level)) * 8
    room = bits - 4 - qrcode.util.length_in_bits(qrcode.util.MODE_ALPHA_NUM, version)
    return int((room // 11) * 2 + (1 if room % 11 >= 6 else 0))


# ---------------------------------------------------------------------------------------------
# Text styles (standard PDF fonts only: nothing depends on font files on the machine)


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": SANS, "fontSize": 9, "leading": 11.5, "textColor": INK}
    base.update(kw)
    return ParagraphStyle(name, **base)


_STYLES: Final[dict[str, ParagraphStyle]] = {
    "title": _style("paper_title", fontName=SANS_BOLD, fontSize=17, leading=21, spaceAfter=4),
    "h2": _style("paper_h2", fontName=SANS_BOLD, fontSize=10, leading=12.5, spaceBefore=6),
    "body": _style("paper_body", spaceBefore=2, spaceAfter=3),
    "small": _style("paper_small", fontSize=7.5, leading=9.5, textColor=MUTED),
    "cell": _style("paper_cell", fontSize=8, leading=10),
    "cell_bold": _style("paper_cell_bold", fontName=SANS_BOLD, fontSize=8, leading=10),
    "hex": _style("paper_hex", fontName=_MONO, fontSize=8.5, leading=11),
    "label": _style("paper_label", fontName=_MONO, fontSize=8, leading=9.5, alignment=TA_CENTER),
    "band": _style("paper_band", fontName=_MONO, fontSize=7, leading=9),
}


def _para(text: str, style: str, *, markup: bool = False) -> Paragraph:
    return Paragraph(text if markup else escape(printable(text)), _STYLES[style])


# ---------------------------------------------------------------------------------------------
# The grid


class QrSymbol(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """A QR symbol drawn as vector rectangles (one per run of dark modules), quiet zone white."""

    def __init__(self, matrix: Sequence[Sequence[bool]], module: float) -> None:
        super().__init__()
        if module < MIN_MODULE_MM * mm - 1e-9:
            raise TransferError(f"Printed QR modules must be at least {MIN_MODULE_MM} mm.")
        self.matrix = matrix
        self.module = module
        self.side = (len(matrix) + 2 * QUIET_ZONE) * module

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.side, self.side

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.white)
        canvas.rect(0, 0, self.side, self.side, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        size = len(self.matrix)
        origin = QUIET_ZONE * self.module
        path = canvas.beginPath()
        for row_index, row in enumerate(self.matrix):
            y = origin + (size - 1 - row_index) * self.module
            column = 0
            while column < size:
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < size and row[column]:
                    column += 1
                path.rect(
                    origin + start * self.module, y, (column - start) * self.module, self.module
                )
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()


@functools.lru_cache(maxsize=512)
def _matrix(frame: str, ecc: Ecc) -> tuple[tuple[bool, ...], ...]:
    """The symbol of one frame, kept: a document is laid out twice (for "page x of y")."""
    return qr_matrix(frame, ecc=ecc)


def frame_label(payload_type: str, index: int, total: int, frame: str) -> str:
    """The text under a printed code: ``<TYPE> i/n <first 8 characters of the message id>``."""
    return f"{payload_type} {index}/{total} {frame.split('/')[2][:8]}"


def _fingerprint_block(fpr: Fingerprint) -> Table:
    rows = [
        [_para("SHA-256 (hex)", "cell_bold"), _para(fpr.grouped(), "hex")],
        [_para("in PGP words", "cell_bold"), _para(fpr.words, "cell")],
    ]
    table = Table(rows, colWidths=[26 * mm, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("BACKGROUND", (0, 0), (0, -1), HEAD_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _code_grid(
    frames: Sequence[str], payload_type: str, fpr: Fingerprint, layout: PaperLayout
) -> Table:
    try:
        matrices = [_matrix(frame, layout.ecc) for frame in frames]
    except TransferError as exc:
        raise TransferError(
            f"The {payload_type} payload cannot be drawn as QR codes: {exc}"
        ) from exc
    largest = max(len(m) for m in matrices)
    if largest > 17 + 4 * layout.max_version:
        raise TransferError(
            f"A {payload_type} frame needs a QR code larger than version {layout.max_version}; "
            "the fragment size does not fit the paper layout."
        )
    cell = layout.content_width / layout.columns
    module = max(
        layout.module_mm * mm,
        min(MAX_MODULE_MM * mm, (cell - 1.5 * mm) / (largest + 2 * QUIET_ZONE)),
    )
    total = len(frames)
    cells: list[list[Flowable]] = [
        [QrSymbol(matrix, module), _para(frame_label(payload_type, i, total, frame), "label")]
        for i, (matrix, frame) in enumerate(zip(matrices, frames, strict=True), start=1)
    ]
    columns = layout.columns  # the band above the codes always spans the full width
    rows: list[list[Any]] = [
        [f"{payload_type} {frames[0].split('/')[2][:8]}  SHA-256 {fpr.grouped()}"]
        + [""] * (columns - 1)
    ]
    for start in range(0, total, columns):
        row: list[Any] = list(cells[start : start + columns])
        rows.append(row + [""] * (columns - len(row)))
    rows[0][0] = _para(str(rows[0][0]), "band")
    table = Table(rows, colWidths=[cell] * columns, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (-1, 0)),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                ("ALIGN", (0, 1), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, 0), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, 0), 1.5),
                ("LEFTPADDING", (0, 0), (-1, 0), 3),
                ("TOPPADDING", (0, 1), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 2),
            ]
        )
    )
    return table


class _ListingBlock(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """A few listing lines printed together and never split, so columns break between blocks."""

    FONT_SIZE: Final = 7.5
    LEADING: Final = 9.2

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__()
        self.lines = list(lines)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, len(self.lines) * self.LEADING

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        return []

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(INK)
        canvas.setFont(_MONO, self.FONT_SIZE)
        top = len(self.lines) * self.LEADING
        for number, line in enumerate(self.lines, start=1):
            canvas.drawString(0, top - number * self.LEADING + 2, line)
        canvas.restoreState()


def transfer_grid_flowables(
    payload: bytes, payload_type: str, *, title: str, layout: PaperLayout | None = None
) -> list[Flowable]:
    """The flowables that print ``payload`` for the air gap: QR grid, SHA-256 and base32 listing.

    ``title`` names the object in the headings ("Root certificate"). The codes are SR1 frames
    (``encode_frames`` with the layout's fragment size) at the layout's error correction, each
    labelled ``<TYPE> i/n <message id>``; the SHA-256 is printed as grouped hex and PGP words,
    and on every page the grid spans. Raises TransferError if the payload cannot be framed.
    """
    paper = layout or PaperLayout()
    data = bytes(payload)
    frames = encode_frames(data, payload_type, paper.fragment_size)
    fpr = sha256_fingerprint(data)
    name = printable(title)
    intro = _para(
        f"{len(data)} bytes as {len(frames)} QR code{'s' if len(frames) != 1 else ''} "
        f"(Sealroom SR1 frames, error correction {paper.ecc}). Scan every code, in any order, "
        f"for example with 'sealroom transfer receive'; the receiver checks each frame and then "
        f"the SHA-256 of the whole {payload_type}, which must equal:",
        "body",
    )
    listing_lines = base32_listing(data)
    listing_intro = _para(
        f"Only if no code above can be scanned: type these {len(listing_lines)} lines exactly "
        "as printed (line number, eight groups of four base32 characters, then a four-character "
        "check). Base32 uses the letters A-Z and the digits 2-7 only: there is no 0, 1, 8 or 9 "
        "in the groups. A typing mistake is refused with the number of its line; the last "
        "line, END, gives the length in bytes.",
        "small",
    )
    blocks = [
        _ListingBlock(listing_lines[i : i + LISTING_BLOCK])
        for i in range(0, len(listing_lines), LISTING_BLOCK)
    ]
    spaced: list[Flowable] = []
    for block in blocks:
        spaced += [block, Spacer(1, 2.5 * mm)]
    return [
        CondPageBreak(min(paper.symbol_side + 45 * mm, 120 * mm)),
        KeepTogether([_para(f"{name} as QR codes", "h2"), intro, _fingerprint_block(fpr)]),
        Spacer(1, 2 * mm),
        _code_grid(frames, payload_type, fpr, paper),
        # The heading, its note and the first block of lines start on the same page.
        CondPageBreak(70 * mm),
        KeepTogether(
            [_para(f"{name} as base32 text, to type by hand", "h2"), listing_intro, Spacer(1, 1)]
        ),
        BalancedColumns(spaced[:-1], nCols=2, spaceBefore=1 * mm, innerPadding=0),
    ]


# ---------------------------------------------------------------------------------------------
# The base32 listing


def listing_check(line_number: int, text: str) -> str:
    """The check of one listing line: the first 4 base32 characters of its CRC-32.

    ``text`` is the line's base32 characters without spaces (or ``END/<length>`` on the last
    line); the CRC-32 (zlib) is over the ASCII of ``<line number>/<text>``, the number in
    decimal without leading zeros, so a line typed in the wrong place fails too.
    """
    return frame_crc(f"{line_number}/{text}")[:LISTING_CHECK_CHARS]


def base32_listing(payload: bytes) -> list[str]:
    """The payload as numbered lines of base32 groups, each ending with its check, then END."""
    data = bytes(payload)
    encoded = b32_encode(data)
    chunks = [
        encoded[i : i + LISTING_LINE_CHARS] for i in range(0, len(encoded), LISTING_LINE_CHARS)
    ]
    count = len(chunks) + 1
    width = max(4, len(str(count)))
    lines = []
    for number, chunk in enumerate(chunks, start=1):
        groups = " ".join(chunk[i : i + LISTING_GROUP] for i in range(0, len(chunk), LISTING_GROUP))
        lines.append(f"{number:0{width}d}  {groups:<39}  {listing_check(number, chunk)}")
    end = f"END/{len(data)}"
    lines.append(f"{count:0{width}d}  {f'END {len(data)}':<39}  {listing_check(count, end)}")
    return lines


_CONFUSABLE: Final[dict[str, str]] = {"0": "O", "1": "I or L", "8": "B", "9": "g (not base32)"}
_LINE_NUMBER_RE: Final = re.compile(r"[0-9]+")


def parse_base32_listing(text: str) -> bytes:
    """The payload of a base32 listing typed by hand; TransferError naming the line if it is wrong.

    Blank lines, upper or lower case and the spacing between groups do not matter. Every line
    must carry its number (1, 2, ... in order), its base32 groups and its check; the last line
    is ``END <length>``. A mistyped character, a line missing, repeated or out of order, a
    missing END or a length that differs is refused, and the message names the line.
    """
    chunks: list[str] = []
    expected = 1
    length: int | None = None
    for row, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.upper().split()
        if not tokens:
            continue
        where = f"line {expected} (text line {row})"
        if length is not None:
            raise TransferError(f"Text line {row} comes after the END line; nothing may follow.")
        if len(tokens) < 3 or _LINE_NUMBER_RE.fullmatch(tokens[0]) is None:
            raise TransferError(
                f"Text line {row} is not a listing line: it needs its line number, the groups "
                "and the four-character check."
            )
        number = int(tokens[0])
        if number != expected:
            what = "missing" if number > expected else "repeated or out of order"
            raise TransferError(
                f"Text line {row} is numbered {number} where line {expected} was expected: "
                f"a line is {what}."
            )
        check = tokens[-1]
        body = tokens[1:-1]
        if body[0] == "END":
            if len(body) != 2 or not body[1].isdigit():
                raise TransferError(f"The END line ({where}) must read 'END <length>' and a check.")
            content = f"END/{int(body[1])}"
        else:
            content = "".join(body)
            for position, char in enumerate(content, start=1):
                if not ("A" <= char <= "Z" or "2" <= char <= "7"):
                    hint = _CONFUSABLE.get(char)
                    more = f" (did you mean {hint}?)" if hint and len(hint) == 1 else ""
                    raise TransferError(
                        f"Listing {where}: character {position} ({char!r}) is not base32, which "
                        f"uses only A-Z and 2-7{more}."
                    )
        if listing_check(number, content) != check:
            raise TransferError(
                f"Listing {where} fails its check {check}: a character on line {number} (or "
                "its check) is mistyped; compare it with the printout."
            )
        if body[0] == "END":
            length = int(body[1])
        else:
            if chunks and len(chunks[-1]) != LISTING_LINE_CHARS:
                raise TransferError(
                    f"Listing line {number - 1} is short, but only the last data line may be."
                )
            if len(content) > LISTING_LINE_CHARS:
                raise TransferError(
                    f"Listing {where} holds more than {LISTING_LINE_CHARS} characters."
                )
            chunks.append(content)
        expected += 1
    if length is None:
        raise TransferError(
            f"The listing has no END line after line {expected - 1}: lines at its end are missing."
        )
    try:
        data = b32_decode("".join(chunks))
    except ValueError as exc:
        raise TransferError(
            f"The last data line (line {len(chunks)}) does not end a base32 text: a group is "
            "cut short or too long."
        ) from exc
    if len(data) != length:
        raise TransferError(
            f"The END line says {length} bytes, but lines 1 to {len(chunks)} hold {len(data)}."
        )
    return data


# ---------------------------------------------------------------------------------------------
# The standalone export sheet

_TYPE_NAMES: Final[dict[str, str]] = {
    "CRT": "The certificate",
    "CSR": "The certificate request",
    "CRL": "The CRL",
    "JNL": "The journal head",
    "BLB": "The backup blob",
    "TXT": "The text",
}
"""How the export sheet's headings name its one object (the title names it in full)."""

_MARGIN_TOP: Final = 22 * mm
_MARGIN_BOTTOM: Final = 16 * mm


@dataclass(frozen=True)
class _Sheet:
    title: str
    payload_type: str
    length: int
    fpr: Fingerprint
    rehearsal: bool
    layout: PaperLayout


def render_transfer_pdf(
    payload: bytes,
    payload_type: str,
    *,
    title: str,
    facts: Sequence[tuple[str, str]] = (),
    rehearsal: bool = False,
) -> bytes:
    """A standalone A4 export sheet for ``payload``: title, facts, QR grid and base32 listing.

    Every page carries the title, the payload's SHA-256 and "page x of y"; with ``rehearsal``
    every page is marked REHEARSAL. Deterministic: the same arguments give the same bytes (fixed
    metadata, reportlab's invariant mode). Raises TransferError if the payload cannot be framed
    or the sheet cannot be laid out.
    """
    data = bytes(payload)
    layout = PaperLayout()
    sheet = _Sheet(
        printable(title), payload_type, len(data), sha256_fingerprint(data), rehearsal, layout
    )
    frames = len(encode_frames(data, payload_type, layout.fragment_size))

    def story() -> list[Flowable]:
        rows = [
            *facts,
            ("Payload", f"{payload_type}, {len(data)} bytes"),
            (
                "QR codes",
                f"{frames}, SR1 frames of at most {layout.fragment_size} bytes, error correction "
                f"{layout.ecc}, modules at least {layout.module_mm} mm",
            ),
            ("To receive", f"sealroom transfer receive THIS.pdf --type {payload_type} --out FILE"),
        ]
        table = Table(
            [[_para(label, "cell_bold"), _para(value, "cell")] for label, value in rows],
            colWidths=[40 * mm, layout.content_width - 40 * mm],
            hAlign="LEFT",
        )
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                    ("BACKGROUND", (0, 0), (0, -1), HEAD_FILL),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        heading: list[Flowable] = [_para(sheet.title, "title")]
        if rehearsal:
            heading.append(
                _para("REHEARSAL: not for use in a ceremony or on the online side.", "h2")
            )
        return [
            *heading,
            table,
            *transfer_grid_flowables(
                data, payload_type, title=_TYPE_NAMES.get(payload_type, payload_type), layout=layout
            ),
        ]

    try:
        pages = _layout_sheet(story, sheet, None)[1]
        out, again = _layout_sheet(story, sheet, pages)
    except SealroomError:
        raise
    except Exception as exc:  # reportlab raises bare exceptions (LayoutError, ValueError)
        raise TransferError(
            f"The export sheet could not be laid out ({type(exc).__name__}: {exc})."
        ) from exc
    if again != pages:  # pragma: no cover - the header and footer are outside the frames
        raise TransferError("The export sheet's page count changed between layout passes.")
    return out


def _layout_sheet(story: Any, sheet: _Sheet, total: int | None) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    layout = sheet.layout
    width, height = layout.page_size
    margin = layout.margin_mm * mm
    doc = BaseDocTemplate(
        buffer,
        pagesize=layout.page_size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=_MARGIN_TOP,
        bottomMargin=_MARGIN_BOTTOM,
        title=sheet.title,
        subject=f"{sheet.payload_type}, {sheet.length} bytes, SHA-256 {sheet.fpr.hex}",
        author="Sealroom",
        creator="Sealroom",
        producer="Sealroom (ReportLab)",
        keywords=[],
        invariant=1,
        pageCompression=1,
        lang="en",
    )
    body = Frame(
        margin,
        _MARGIN_BOTTOM,
        layout.content_width,
        height - _MARGIN_TOP - _MARGIN_BOTTOM,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )

    def decorate(canvas: Any, document: Any) -> None:
        _decorate(canvas, document.page, total, sheet)

    def watermark(canvas: Any, document: Any) -> None:
        if sheet.rehearsal:
            draw_rehearsal_watermark(canvas, width, height)

    doc.addPageTemplates(
        [PageTemplate(id="sheet", frames=[body], onPage=decorate, onPageEnd=watermark)]
    )
    doc.build([NextPageTemplate("sheet"), *story()])
    return buffer.getvalue(), int(doc.page)


def _decorate(canvas: Any, number: int, total: int | None, sheet: _Sheet) -> None:
    layout = sheet.layout
    width, height = layout.page_size
    left = layout.margin_mm * mm
    right = width - left
    top = height - 10 * mm
    canvas.saveState()
    flag = "REHEARSAL - NOT FOR USE" if sheet.rehearsal else ""
    flag_width = canvas.stringWidth(flag, SANS_BOLD, 9) + (6 * mm if flag else 0)
    heading = f"Export sheet  |  {sheet.title}"
    size = 9.0
    while size > 5.5 and canvas.stringWidth(heading, SANS_BOLD, size) > right - left - flag_width:
        size -= 0.5
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, size)
    canvas.drawString(left, top, heading)
    if flag:
        canvas.setFillColor(ALERT)
        canvas.setFont(SANS_BOLD, 9)
        canvas.drawRightString(right, top, flag)
        canvas.setFillColor(INK)
    label = f"{sheet.payload_type} SHA-256 "
    canvas.setFont(SANS, 7.5)
    canvas.drawString(left, top - 10, label)
    canvas.setFont(_MONO, 8)
    canvas.drawString(left + canvas.stringWidth(label, SANS, 7.5), top - 10, sheet.fpr.grouped())
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(left, top - 14, right, top - 14)
    bottom = _MARGIN_BOTTOM - 8 * mm
    canvas.line(left, bottom + 9, right, bottom + 9)
    canvas.setFont(SANS, 7)
    canvas.setFillColor(MUTED)
    canvas.drawString(
        left,
        bottom,
        f"Sealroom export sheet: {sheet.payload_type}, {sheet.length} bytes, SR1 QR frames; "
        "docs/qr-frames.md describes the codes and the listing",
    )
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 8.5)
    of = f" of {total}" if total is not None else ""
    canvas.drawRightString(right, bottom, f"Page {number}{of}")
    canvas.restoreState()
