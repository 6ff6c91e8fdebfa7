"""Custodian share sheets: a SLIP-39 share's words and QR code on one A4 page, and printers."""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import qrcode
import qrcode.constants
import qrcode.exceptions
import qrcode.util
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from sealroom.ceremony.ports import Printer, PrintJob, ShareSheet, SheetPrinter
from sealroom.errors import OutputExistsError, PrinterError, ReportError
from sealroom.paper_style import (
    ALERT,
    BAND_FILL,
    INK,
    MONO,
    MONO_BOLD,
    MUTED,
    RULE,
    SANS,
    SANS_BOLD,
    draw_rehearsal_watermark,
    printable,
)
from sealroom.report.layout import (
    CONTENT_WIDTH,
    MARGIN_X,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    STYLES,
    esc,
    grid,
    para,
)
from sealroom.transfer.paper import MIN_MODULE_MM, QUIET_ZONE, QrSymbol

WORD_COUNTS: Final = (20, 33)
"""Words in a SLIP-39 share of a 128-bit secret (a PIN) and of a 256-bit one (a KEK)."""
PREFIX_LETTERS: Final = 4
"""SLIP-39 words are unique by their first four letters: those are printed in bold."""
MAX_MEMBERS: Final = 16
"""SLIP-39 allows at most 16 members in a group."""

_WORD: Final = re.compile(r"^[a-z]{4,8}$")
_CHECK_VALUE: Final = re.compile(r"^[0-9a-f]{6}$")
_KCV: Final = re.compile(r"^[0-9A-Fa-f]{6}$")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NUMBER: Final = re.compile(r"^\d{1,2}\.$")
_BBOX_WORD: Final = re.compile(
    r'<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>'
)
_SLUG_JUNK: Final = re.compile(r"[^a-z0-9]+")
PDFTOTEXT_TIMEOUT_SECONDS: Final = 30

# Page geometry, measured down from the top edge of the A4 page. The word grid has the same
# place and size whatever the number of words, so a reader can crop exactly to it.
TOP: Final = 10 * mm
BANNER_HEIGHT: Final = 13 * mm
NOTE_BASELINE: Final = 28 * mm
TITLE_BASELINE: Final = 38 * mm
FACTS_TOP: Final = 44 * mm
FACTS_MAX_HEIGHT: Final = 44 * mm
GRID_HEADING_BASELINE: Final = 93.5 * mm
GRID_TOP: Final = 100 * mm
GRID_HEIGHT: Final = 86.9 * mm
GRID_ROWS: Final = 11
"""Rows for 33 words (3 columns); 20 words take 2 columns of 10 taller rows in the same box."""
LOWER_TOP: Final = 193 * mm
QR_SIDE: Final = 52 * mm
"""The QR symbol with its quiet zone: 0.54 mm modules (version 18) for 33 words of 8 letters."""
BAG_BOX_BOTTOM: Final = 259 * mm
SIGNATURE_LINE: Final = 276 * mm
FOOTER_BASELINE: Final = 288 * mm

WORD_SIZE: Final = 17.0
NUMBER_SIZE: Final = 10.0

_STEP: Final = ParagraphStyle(
    "share_step", parent=STYLES["sheet_body"], leftIndent=12, firstLineIndent=-12, spaceAfter=0
)


def sheet_title(sheet: ShareSheet) -> str:
    """The document's title in the PDF and the print queue: ``<title> <x>/<n> <ceremony id>``.

    Built from public fields only: it never holds a word of the share.
    """
    return f"{sheet.title} {sheet.member_index}/{sheet.member_count} {sheet.ceremony_id}"


def sheet_file_name(sheet: ShareSheet) -> str:
    """``share-<title slug>-<x>-of-<n>.pdf``: the rehearsal file name of one custodian's sheet."""
    slug = _SLUG_JUNK.sub("-", sheet.title.lower()).strip("-")[:60].strip("-") or "sheet"
    return f"share-{slug}-{sheet.member_index}-of-{sheet.member_count}.pdf"


def render_share_sheet(sheet: ShareSheet, words: Sequence[str]) -> bytes:
    """The share sheet of ``sheet`` with ``words`` as one A4 page of PDF.

    The same input gives the same bytes. The words are printed in the numbered grid and in the
    QR code only: never in the PDF's metadata. ReportError says which field cannot be printed
    (and never quotes a word).
    """
    _require_sheet(sheet)
    share_words = _require_words(words)
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1, lang="en"
    )
    canvas.setTitle(printable(sheet_title(sheet)))
    canvas.setAuthor("Sealroom")
    canvas.setSubject("SLIP-39 share sheet")
    canvas.setCreator("Sealroom")
    canvas.setProducer("Sealroom (ReportLab)")
    canvas.setKeywords("")
    _draw(canvas, sheet, share_words)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def read_share_sheet_words(pdf: Path) -> tuple[str, ...]:
    """The numbered words printed on the share sheet ``pdf``, in order.

    Only unattended rehearsals use this, to play a custodian reading their sheet aloud. It reads
    the word grid with ``pdftotext -bbox`` (each printed word with its position, so the
    REHEARSAL watermark crossing the grid cannot merge or split lines) and pairs each number with
    the word printed right of it. ReportError names the file when it cannot be read or does not
    show the words numbered 1 to 20 or 1 to 33 (the message never quotes a word).
    """
    text = _pdftotext_bbox(pdf)
    numbers: list[_Token] = []
    candidates: list[_Token] = []
    for match in _BBOX_WORD.finditer(text):
        x_min, y_min, x_max, y_max = (float(match.group(i)) for i in range(1, 5))
        token = _Token(x_min, y_min, x_max, y_max, html.unescape(match.group(5)))
        if not _in_grid(token):
            continue
        if _NUMBER.match(token.text):
            numbers.append(token)
        else:
            candidates.append(token)
    found: dict[int, str] = {}
    for number in numbers:
        beside = [
            token
            for token in candidates
            if number.x_max <= token.x_min <= number.x_max + 8 * mm
            and abs(token.centre - number.centre) < 3 * mm
        ]
        index = int(number.text.rstrip("."))
        if len(beside) != 1 or index in found:
            raise ReportError(
                f"The share sheet {pdf} does not show one word beside each number of its grid."
            )
        found[index] = beside[0].text
    count = len(found)
    if count not in WORD_COUNTS or sorted(found) != list(range(1, count + 1)):
        raise ReportError(
            f"The share sheet {pdf} does not show the words of one share numbered 1 to 20 or "
            f"1 to 33: {count} numbered words were found."
        )
    words = tuple(found[index] for index in range(1, count + 1))
    if not all(_WORD.match(word) for word in words):
        raise ReportError(
            f"The share sheet {pdf} has a numbered entry that is not a SLIP-39 word "
            "(4 to 8 lower-case letters)."
        )
    return words


@dataclass(frozen=True)
class _Token:
    """A word pdftotext found on the page, with its box in points from the top-left corner."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    text: str = field(repr=False)

    @property
    def centre(self) -> float:
        return (self.y_min + self.y_max) / 2


def _in_grid(token: _Token) -> bool:
    left, right = float(MARGIN_X) - 1, float(MARGIN_X + CONTENT_WIDTH) + 1
    top, bottom = float(GRID_TOP), float(GRID_TOP + GRID_HEIGHT)
    return token.x_min >= left and token.x_max <= right and top <= token.centre <= bottom


def _pdftotext_bbox(pdf: Path) -> str:
    program = shutil.which("pdftotext")
    if program is None:
        raise ReportError(
            f"pdftotext (poppler-utils) is not installed, so the share sheet {pdf} cannot be read."
        )
    argv = [program, "-bbox", "-enc", "UTF-8", "-f", "1", "-l", "1"]
    argv += [os.fspath(pdf.absolute()), "-"]
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    try:
        result = subprocess.run(
            argv, capture_output=True, timeout=PDFTOTEXT_TIMEOUT_SECONDS, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ReportError(
            f"pdftotext did not finish reading the share sheet {pdf} within "
            f"{PDFTOTEXT_TIMEOUT_SECONDS} s."
        ) from exc
    except OSError as exc:
        raise ReportError(
            f"pdftotext could not be run on the share sheet {pdf}: {exc.strerror}."
        ) from exc
    if result.returncode != 0:
        raise ReportError(
            f"The share sheet {pdf} cannot be read as a PDF (pdftotext exit status "
            f"{result.returncode})."
        )
    return result.stdout.decode("utf-8", "replace")


class SheetPrinterAdapter:
    """The ``SheetPrinter`` port on a ``Printer`` (CUPS): renders the sheet and prints it.

    The print job's title is ``sheet_title(sheet)``, which holds no word.
    """

    def __init__(self, printer: Printer) -> None:
        self.printer = printer

    def print_share_sheet(self, sheet: ShareSheet, words: Sequence[str]) -> PrintJob:
        pdf = render_share_sheet(sheet, words)
        return self.printer.print_document(sheet_title(sheet), pdf)


class FileSheetPrinter:
    """The ``SheetPrinter`` port for rehearsals: each sheet becomes its own file in ``folder``.

    The file is ``sheet_file_name(sheet)``, created with O_EXCL and mode 0600 (it holds a share,
    even if only a rehearsal's); an existing file is never overwritten.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _free_path(self, sheet: ShareSheet, words: Sequence[str]) -> Path:
        """``sheet_file_name(sheet)``, or ``<stem>.2.pdf``… when that sheet holds another share.

        The same share printed twice is refused (the caller's O_EXCL fails on the first name).
        Another share for the same custodian and member (a backup made anew after a resume
        abandoned the interrupted one, docs/resume.md) is the newest paper: the next free number.
        """
        path = self.folder / sheet_file_name(sheet)
        number = 1
        candidate = path
        while candidate.exists():
            if read_share_sheet_words(candidate) == tuple(words):
                return candidate  # the same share again: refused by O_EXCL
            number += 1
            candidate = path.with_name(f"{path.stem}.{number}{path.suffix}")
        return candidate

    def print_share_sheet(self, sheet: ShareSheet, words: Sequence[str]) -> PrintJob:
        pdf = render_share_sheet(sheet, words)
        path = self._free_path(sheet, words)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError as exc:
            raise OutputExistsError(
                f"{path} already exists; Sealroom never overwrites a share sheet. "
                "Choose a new output folder."
            ) from exc
        except OSError as exc:
            raise PrinterError(
                f"The share sheet cannot be written to {path}: {exc.strerror}."
            ) from exc
        try:
            view = memoryview(pdf)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            path.unlink(missing_ok=True)  # a partial sheet is no sheet: leave no half-written file
            raise PrinterError(
                f"The share sheet could not be written to {path}: {exc.strerror}."
            ) from exc
        os.close(fd)
        return PrintJob(printer="file", job=path.name, destination=str(path))


# ---------------------------------------------------------------------------------------------
# Checks


def _require_sheet(sheet: ShareSheet) -> None:
    for name in ("ceremony_id", "title", "subject", "custodian"):
        value = getattr(sheet, name)
        if not isinstance(value, str) or not value.strip():
            raise ReportError(f"The share sheet's {name} is empty; nothing was printed.")
        if _CONTROL.search(value):
            raise ReportError(
                f"The share sheet's {name} has a control or line-break character; "
                "nothing was printed."
            )
    count = sheet.member_count
    if not 1 <= count <= MAX_MEMBERS:
        raise ReportError(
            f"A share set has 1 to {MAX_MEMBERS} shares; this sheet says {count}. "
            "Nothing was printed."
        )
    if not 1 <= sheet.member_index <= count:
        raise ReportError(
            f"The share sheet says share {sheet.member_index} of {count}; nothing was printed."
        )
    if not 1 <= sheet.threshold <= count:
        raise ReportError(
            f"The share sheet's threshold {sheet.threshold} is not between 1 and {count}; "
            "nothing was printed."
        )
    if not 0 <= sheet.set_identifier < 1 << 15:
        raise ReportError(
            f"The share sheet's set identifier {sheet.set_identifier} is not a 15-bit SLIP-39 "
            "identifier; nothing was printed."
        )
    if not _CHECK_VALUE.match(sheet.check_value):
        raise ReportError(
            "The share sheet's check value is not 6 lower-case hex digits; nothing was printed."
        )
    if sheet.key_check_value is not None and not _KCV.match(sheet.key_check_value):
        raise ReportError(
            "The share sheet's key check value is not 6 hex digits; nothing was printed."
        )


def _require_words(words: Sequence[str]) -> tuple[str, ...]:
    share_words = tuple(words)
    if len(share_words) not in WORD_COUNTS:
        raise ReportError(
            f"A share sheet holds the 20 or 33 words of one SLIP-39 share; {len(share_words)} "
            "words were given. Nothing was printed."
        )
    for number, word in enumerate(share_words, start=1):
        if not isinstance(word, str) or not _WORD.match(word):
            raise ReportError(
                f"Word {number} of the share is not a SLIP-39 word (4 to 8 lower-case letters); "
                "nothing was printed."
            )
    return share_words


# ---------------------------------------------------------------------------------------------
# Drawing (reportlab's y axis points up; the layout constants measure down from the top)


def _y(from_top: float) -> float:
    return float(PAGE_HEIGHT - from_top)


def _draw(canvas: Any, sheet: ShareSheet, words: tuple[str, ...]) -> None:
    _banner(canvas, sheet)
    _title(canvas, sheet)
    _facts(canvas, sheet)
    _word_grid(canvas, words)
    _qr(canvas, words)
    _instructions(canvas, words)
    _signatures(canvas, sheet)
    _footer(canvas, sheet)
    if sheet.rehearsal:
        draw_rehearsal_watermark(canvas, PAGE_WIDTH, PAGE_HEIGHT)


def _fitted(canvas: Any, text: str, font: str, size: float, *, width: float, least: float) -> float:
    while size > least and canvas.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _banner(canvas: Any, sheet: ShareSheet) -> None:
    text = printable(f"SECRET \u2014 for {sheet.custodian} only")
    canvas.saveState()
    canvas.setFillColor(ALERT)
    canvas.rect(MARGIN_X, _y(TOP + BANNER_HEIGHT), CONTENT_WIDTH, BANNER_HEIGHT, stroke=0, fill=1)
    size = _fitted(canvas, text, SANS_BOLD, 22, width=CONTENT_WIDTH - 8 * mm, least=9)
    canvas.setFillColor(colors.white)
    canvas.setFont(SANS_BOLD, size)
    canvas.drawCentredString(PAGE_WIDTH / 2, _y(TOP + BANNER_HEIGHT / 2) - size * 0.35, text)
    canvas.setFillColor(ALERT)
    canvas.setFont(SANS_BOLD, 10)
    if sheet.rehearsal:
        note = (
            "REHEARSAL \u2014 not a real share: it protects only a rehearsal token. "
            "Destroy it after the rehearsal."
        )
    else:
        note = "Only you may read this sheet. Nobody else may see the words below."
    canvas.drawCentredString(PAGE_WIDTH / 2, _y(NOTE_BASELINE), note)
    canvas.restoreState()


def _title(canvas: Any, sheet: ShareSheet) -> None:
    share = f"Share {sheet.member_index} of {sheet.member_count}"
    canvas.saveState()
    canvas.setFillColor(INK)
    share_width = canvas.stringWidth(share, SANS_BOLD, 20)
    title = printable(sheet.title)
    size = _fitted(
        canvas, title, SANS_BOLD, 20, width=CONTENT_WIDTH - share_width - 8 * mm, least=10
    )
    baseline = _y(TITLE_BASELINE)
    canvas.setFont(SANS_BOLD, size)
    canvas.drawString(MARGIN_X, baseline, title)
    canvas.setFont(SANS_BOLD, 20)
    canvas.drawRightString(PAGE_WIDTH - MARGIN_X, baseline, share)
    canvas.restoreState()


def _kcv(sheet: ShareSheet) -> str:
    """The key check value of a key-encryption key, beside the set's (backup sheets only)."""
    if sheet.key_check_value is None:
        return ""
    return (
        f"&nbsp;&nbsp;&nbsp; KCV <font name='{MONO_BOLD}' size='12'>"
        f"{esc(sheet.key_check_value)}</font>"
    )


def _quorum(sheet: ShareSheet) -> str:
    k, n = sheet.threshold, sheet.member_count
    # a key-encryption key's shares recover a backup; a PIN's shares activate a token
    one, many = ("recovers", "recover") if sheet.key_check_value else ("activates", "activate")
    if k == 1:
        return f"Any 1 of the {n} shares alone {one} {sheet.subject}."
    if k == n:
        return f"All {n} shares together {many} {sheet.subject}; fewer reveal nothing of it."
    return (
        f"Any {k} of the {n} shares together {many} {sheet.subject}; "
        f"fewer than {k} reveal nothing of it."
    )


def _facts(canvas: Any, sheet: ShareSheet) -> None:
    label_width = 32 * mm
    rows: list[list[Any]] = [
        [para("Custodian", "sheet_cell_bold"), para(sheet.custodian, "sheet_cell_bold")],
        [para("Ceremony", "sheet_cell_bold"), para(sheet.ceremony_id, "sheet_cell")],
        [para("Protects", "sheet_cell_bold"), para(sheet.subject, "sheet_cell")],
        [
            para("Quorum", "sheet_cell_bold"),
            para(
                f"This is share {sheet.member_index} of {sheet.member_count}. {_quorum(sheet)}",
                "sheet_cell",
            ),
        ],
        [
            para("Share set", "sheet_cell_bold"),
            para(
                f"set identifier <font name='{MONO_BOLD}' size='12'>{sheet.set_identifier}</font>"
                f"&nbsp;&nbsp;&nbsp; set check value <font name='{MONO_BOLD}' size='12'>"
                f"{esc(sheet.check_value)}</font>{_kcv(sheet)}<br/><font size='8.5' "
                "color='#555555'>Public, and the same on every share of this set: other values "
                "mean a share of another set.</font>",
                "sheet_cell",
                markup=True,
            ),
        ],
    ]
    table = grid(None, rows, [label_width, CONTENT_WIDTH - label_width], shade_first_column=True)
    _, height = table.wrapOn(canvas, CONTENT_WIDTH, FACTS_MAX_HEIGHT)
    if height > FACTS_MAX_HEIGHT:
        raise ReportError(
            "The share sheet's subject, custodian or ceremony id is too long to fit the page; "
            "shorten the script's text. Nothing was printed."
        )
    table.drawOn(canvas, MARGIN_X, _y(FACTS_TOP) - height)


def _word_grid(canvas: Any, words: tuple[str, ...]) -> None:
    count = len(words)
    columns = 3 if count > 2 * GRID_ROWS else 2
    rows = -(-count // columns)
    row_height = GRID_HEIGHT / rows
    column_width = CONTENT_WIDTH / columns
    canvas.saveState()
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 12)
    heading = f"The {count} words of this share"
    canvas.drawString(MARGIN_X, _y(GRID_HEADING_BASELINE), heading)
    canvas.setFont(SANS, 9)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(
        PAGE_WIDTH - MARGIN_X,
        _y(GRID_HEADING_BASELINE),
        "In this order, down each column. The bold first four letters identify each word.",
    )
    top = _y(GRID_TOP)
    canvas.setFillColor(BAND_FILL)
    for row in range(0, rows, 2):
        canvas.rect(
            MARGIN_X, top - (row + 1) * row_height, CONTENT_WIDTH, row_height, stroke=0, fill=1
        )
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.8)
    canvas.rect(MARGIN_X, top - GRID_HEIGHT, CONTENT_WIDTH, GRID_HEIGHT, stroke=1, fill=0)
    for column in range(1, columns):
        x = MARGIN_X + column * column_width
        canvas.line(x, top, x, top - GRID_HEIGHT)
    char_width = canvas.stringWidth("m", MONO_BOLD, WORD_SIZE)
    for index, word in enumerate(words):
        column, row = divmod(index, rows)
        x = MARGIN_X + column * column_width
        baseline = top - (row + 1) * row_height + (row_height - WORD_SIZE * 0.62) / 2
        canvas.setFillColor(MUTED)
        canvas.setFont(SANS_BOLD, NUMBER_SIZE)
        canvas.drawRightString(x + 11 * mm, baseline, f"{index + 1}.")
        word_x = x + 15 * mm
        text = canvas.beginText(word_x, baseline)
        text.setFillColor(INK)
        text.setFont(MONO_BOLD, WORD_SIZE)
        text.textOut(word[:PREFIX_LETTERS])
        text.setFont(MONO, WORD_SIZE)
        text.textOut(word[PREFIX_LETTERS:])
        canvas.drawText(text)
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(1.1)
        underline = baseline - 4.6
        canvas.line(word_x, underline, word_x + PREFIX_LETTERS * char_width, underline)
    canvas.restoreState()


def _qr_matrix(text: str) -> list[list[bool]]:
    symbol = qrcode.QRCode(
        version=None, error_correction=qrcode.constants.ERROR_CORRECT_H, border=0
    )
    symbol.add_data(qrcode.util.QRData(text.encode("ascii"), mode=qrcode.util.MODE_8BIT_BYTE))
    try:
        symbol.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:  # pragma: no cover
        raise ReportError("The share's words do not fit one QR code; nothing was printed.") from exc
    rows: list[list[Any]] = symbol.get_matrix()
    return [[bool(module) for module in row] for row in rows]


def _qr(canvas: Any, words: tuple[str, ...]) -> None:
    matrix = _qr_matrix(" ".join(words))
    module = QR_SIDE / (len(matrix) + 2 * QUIET_ZONE)
    if module < MIN_MODULE_MM * mm:  # pragma: no cover - 33 words of 8 letters still fit
        raise ReportError("The share's QR code would be too dense to scan; nothing was printed.")
    symbol = QrSymbol(matrix, module)
    symbol.wrapOn(canvas, QR_SIDE, QR_SIDE)
    symbol.drawOn(canvas, MARGIN_X, _y(LOWER_TOP) - symbol.side)
    note = para(
        "This QR code holds the same words in the same order, for a scanner at a recovery. "
        "It is as secret as the words.",
        "sheet_small",
    )
    _, note_height = note.wrapOn(canvas, QR_SIDE, 20 * mm)
    note.drawOn(canvas, MARGIN_X, _y(LOWER_TOP) - symbol.side - 1 * mm - note_height)


def _instructions(canvas: Any, words: tuple[str, ...]) -> None:
    left = MARGIN_X + QR_SIDE + 6 * mm
    width = PAGE_WIDTH - MARGIN_X - left
    steps = [
        "Check your name, share number, set identifier and set check value against the "
        "screen, "
        f"and that each number 1 to {len(words)} has a word.",
        "Write the tamper-evident bag's serial in the box below. Sign, and have a witness sign.",
        "Fold the sheet with the words inside and seal it in the bag in view of the witnesses. "
        "Read the bag's serial out for the record.",
        "Never photograph, scan, copy or type these words, except into Sealroom at a ceremony "
        "that needs your share.",
    ]
    canvas.saveState()
    canvas.setFillColor(INK)
    canvas.setFont(SANS_BOLD, 12)
    canvas.drawString(left, _y(LOWER_TOP) - 10, "What to do now")
    y = _y(LOWER_TOP) - 15
    for number, step in enumerate(steps, start=1):
        paragraph = Paragraph(f"<b>{number}.</b>&nbsp;&nbsp;{esc(step)}", _STEP)
        _, height = paragraph.wrapOn(canvas, width, 40 * mm)
        paragraph.drawOn(canvas, left, y - height)
        y -= height + 1.2 * mm
    box_bottom = _y(BAG_BOX_BOTTOM)
    box_height = 12 * mm
    if y - 1 * mm < box_bottom + box_height:  # pragma: no cover - fixed text; a layout guard
        raise ReportError("The share sheet's instructions overflow their space; nothing printed.")
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(1.4)
    canvas.rect(left, box_bottom, width, box_height, stroke=1, fill=0)
    label = "Tamper-evident bag serial:"
    text_y = box_bottom + box_height / 2 - 4
    canvas.setFont(SANS_BOLD, 11)
    canvas.drawString(left + 3 * mm, text_y, label)
    canvas.setLineWidth(0.8)
    start = left + 5 * mm + canvas.stringWidth(label, SANS_BOLD, 11)
    canvas.line(start, text_y - 1.5, left + width - 4 * mm, text_y - 1.5)
    canvas.restoreState()


def _signatures(canvas: Any, sheet: ShareSheet) -> None:
    canvas.saveState()
    half = (CONTENT_WIDTH - 10 * mm) / 2
    line_y = _y(SIGNATURE_LINE)
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(0.8)
    for index, (role, name) in enumerate(
        (("Custodian", printable(sheet.custodian)), ("Witness", "name"))
    ):
        x = MARGIN_X + index * (half + 10 * mm)
        canvas.line(x, line_y, x + half, line_y)
        canvas.setFillColor(INK)
        canvas.setFont(SANS_BOLD, 9)
        canvas.drawString(x, line_y - 11, f"{role}:")
        canvas.setFont(SANS, 9)
        canvas.setFillColor(MUTED)
        canvas.drawString(
            x + canvas.stringWidth(f"{role}: ", SANS_BOLD, 9),
            line_y - 11,
            f"{name}, signature and date",
        )
    canvas.restoreState()


def _footer(canvas: Any, sheet: ShareSheet) -> None:
    canvas.saveState()
    baseline = _y(FOOTER_BASELINE)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN_X, baseline + 9, PAGE_WIDTH - MARGIN_X, baseline + 9)
    kind = "REHEARSAL share sheet" if sheet.rehearsal else "Share sheet"
    text = printable(
        f"Sealroom \u00b7 {kind} \u00b7 {sheet.ceremony_id} \u00b7 {sheet.title} "
        f"{sheet.member_index} of {sheet.member_count} \u00b7 {sheet.custodian}"
    )
    size = _fitted(canvas, text, SANS, 7.5, width=CONTENT_WIDTH, least=5)
    canvas.setFillColor(ALERT if sheet.rehearsal else MUTED)
    canvas.setFont(SANS, size)
    canvas.drawString(MARGIN_X, baseline, text)
    canvas.restoreState()


if TYPE_CHECKING:

    def _implements_the_port(
        adapter: SheetPrinterAdapter, file: FileSheetPrinter
    ) -> tuple[SheetPrinter, SheetPrinter]:
        return adapter, file  # mypy proves both satisfy the engine's SheetPrinter Protocol
