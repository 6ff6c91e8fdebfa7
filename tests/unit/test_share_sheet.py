"""Share sheets: a real SLIP-39 share's words printed numbered and as a QR code, nowhere else."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode

import sealroom.report.share_sheet as share_sheet_module
from sealroom.backup import ShareSet, split_secret
from sealroom.backup.words import WORDS
from sealroom.ceremony.ports import PrintJob, ShareSheet
from sealroom.errors import OutputExistsError, PrinterError, ReportError
from sealroom.report.share_sheet import (
    GRID_HEIGHT,
    GRID_TOP,
    FileSheetPrinter,
    SheetPrinterAdapter,
    read_share_sheet_words,
    render_share_sheet,
    sheet_file_name,
    sheet_title,
)

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is not installed",
)

CUSTODIANS = ("Ann Lee", "Bob Okafor", "Carol Nguyen", "Dan Ito", "Eve Marsh")
CEREMONY = "EXR-RKG-2027-01"
SUBJECT = "token exr-root-r2 on HSM HSM-0005"
SLIP39 = frozenset(WORDS)
CODE_VOCABULARY = (
    frozenset(re.findall(r"[a-z]+", Path(share_sheet_module.__file__).read_text().lower())) & SLIP39
)
"""SLIP-39 words the module's own text uses ("check", "says"...): no proof of a leak."""


@pytest.fixture(scope="module")
def pin_set() -> ShareSet:
    """A 128-bit secret split 3 of 5: shares of 20 words (the PIN of m-of-n activation)."""
    return split_secret(os.urandom(16), 3, CUSTODIANS)


@pytest.fixture(scope="module")
def kek_set() -> ShareSet:
    """A 256-bit secret split 3 of 5: shares of 33 words (a key-encryption key)."""
    return split_secret(os.urandom(32), 3, CUSTODIANS)


def sheet_for(share_set: ShareSet, member: int = 2, *, rehearsal: bool = False) -> ShareSheet:
    share = share_set.shares[member - 1]
    return ShareSheet(
        ceremony_id=CEREMONY,
        title="HSM user PIN share",
        subject=SUBJECT,
        custodian=share.custodian,
        member_index=share.member_index,
        member_count=share.member_count,
        threshold=share_set.threshold,
        set_identifier=share_set.identifier,
        check_value=share_set.check_value,
        rehearsal=rehearsal,
    )


def words_of(share_set: ShareSet, member: int = 2) -> tuple[str, ...]:
    return share_set.shares[member - 1].words


def written(pdf: bytes, directory: Path, name: str = "sheet.pdf") -> Path:
    path = directory / name
    path.write_bytes(pdf)
    return path


def poppler(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, check=True, text=True).stdout


def layout_text(pdf: Path) -> str:
    return poppler("pdftotext", "-layout", str(pdf), "-")


def flat(text: str) -> str:
    """``text`` with every run of white space made one space (table cells wrap lines)."""
    return " ".join(text.split())


def bbox_tokens(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    """Every word pdftotext finds: (x_min, y_min, x_max, y_max, text), points from the top left."""
    xhtml = poppler("pdftotext", "-bbox", str(pdf), "-")
    pattern = (
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        (float(a), float(b), float(c), float(d), text)
        for a, b, c, d, text in re.findall(pattern, xhtml)
    ]


def outside_grid(pdf: Path) -> list[tuple[float, float, str]]:
    """The words printed outside the word grid, with where they are (rounded)."""
    return [
        (round(x0, 1), round(y0, 1), text)
        for x0, y0, _, y1, text in bbox_tokens(pdf)
        if not GRID_TOP <= (y0 + y1) / 2 <= GRID_TOP + GRID_HEIGHT
    ]


def inside_grid(pdf: Path) -> list[str]:
    return [
        text
        for x0, y0, _, y1, text in bbox_tokens(pdf)
        if GRID_TOP < (y0 + y1) / 2 < GRID_TOP + GRID_HEIGHT
    ]


def page_image(pdf: Path, directory: Path, dpi: int = 150) -> Image.Image:
    prefix = directory / f"{pdf.stem}-{dpi}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    (png,) = directory.glob(f"{prefix.name}-*.png")
    return Image.open(png).convert("RGB")


def assert_no_word(text: str, words: Sequence[str]) -> None:
    """No word of ``words`` in ``text``, but for SLIP-39 words the module's own sentences use."""
    tokens = set(re.findall(r"[a-z]+", text.lower()))
    leaked = (tokens & set(words)) - CODE_VOCABULARY
    assert leaked == set(), "a share word appears where no word may be"


# ---------------------------------------------------------------------------------------------
# What the sheet shows


@pytest.mark.parametrize("which", ["pin_set", "kek_set"])
def test_every_word_is_printed_with_its_number(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    share_set: ShareSet = request.getfixturevalue(which)
    words = words_of(share_set)
    pdf = written(render_share_sheet(sheet_for(share_set), words), tmp_path)
    text = layout_text(pdf)
    for number, word in enumerate(words, start=1):
        assert re.search(rf"(?<![\d.]){number}\.\s*{word}(?![a-z])", text), f"word {number}"
    assert f"The {len(words)} words of this share" in text
    assert f"each number 1 to {len(words)} has a word" in flat(text)


def test_the_sheet_names_custodian_share_quorum_and_set(kek_set: ShareSet, tmp_path: Path) -> None:
    sheet = sheet_for(kek_set, member=2)
    text = flat(layout_text(written(render_share_sheet(sheet, words_of(kek_set)), tmp_path)))
    assert "SECRET — for Bob Okafor only" in text
    assert "HSM user PIN share" in text
    assert "Share 2 of 5" in text
    assert CEREMONY in text
    assert "This is share 2 of 5." in text
    assert f"Any 3 of the 5 shares together activate {SUBJECT}; fewer than 3 reveal nothing" in text
    assert re.search(
        rf"set identifier\s+{kek_set.identifier}\s+set check value\s+{kek_set.check_value}", text
    )
    assert "Tamper-evident bag serial:" in text
    assert "Custodian: Bob Okafor, signature and date" in text
    assert "Witness: name, signature and date" in text
    assert (
        "Fold the sheet with the words inside and seal it in the bag in view of the witnesses"
        in text
    )
    assert "Never photograph, scan, copy or type these words" in text
    assert "This QR code holds the same words in the same order" in text


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (1, f"Any 1 of the 5 shares alone activates {SUBJECT}."),
        (5, f"All 5 shares together activate {SUBJECT}; fewer reveal nothing of it."),
    ],
)
def test_quorum_sentence_for_one_and_for_all(
    threshold: int, expected: str, pin_set: ShareSet, tmp_path: Path
) -> None:
    sheet = dataclasses.replace(sheet_for(pin_set), threshold=threshold)
    text = flat(layout_text(written(render_share_sheet(sheet, words_of(pin_set)), tmp_path)))
    assert expected in text


@pytest.mark.parametrize("which", ["pin_set", "kek_set"])
@pytest.mark.parametrize("rehearsal", [False, True])
def test_the_qr_code_holds_exactly_the_words(
    which: str, rehearsal: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    share_set: ShareSet = request.getfixturevalue(which)
    words = words_of(share_set, member=4)
    sheet = sheet_for(share_set, member=4, rehearsal=rehearsal)
    image = page_image(written(render_share_sheet(sheet, words), tmp_path), tmp_path)
    symbols = decode(image, symbols=[ZBarSymbol.QRCODE])
    assert len(symbols) == 1
    assert symbols[0].data.decode("ascii") == " ".join(words)


def test_the_words_are_printed_nowhere_but_in_the_grid(kek_set: ShareSet, tmp_path: Path) -> None:
    other_set = split_secret(os.urandom(32), 3, CUSTODIANS)
    sheet = sheet_for(kek_set)
    first = written(render_share_sheet(sheet, words_of(kek_set)), tmp_path, "a.pdf")
    second = written(render_share_sheet(sheet, words_of(other_set)), tmp_path, "b.pdf")
    assert words_of(kek_set) != words_of(other_set)
    # Everything outside the grid is the same, word for word and place for place, whatever the
    # share's words are: they cannot be printed anywhere else on the page.
    assert outside_grid(first) == outside_grid(second)
    # Inside the grid there are the numbers and the words, nothing else.
    expected = {f"{n}." for n in range(1, 34)} | set(words_of(kek_set))
    assert set(inside_grid(first)) == expected


def test_the_pdf_metadata_carries_no_word(kek_set: ShareSet, tmp_path: Path) -> None:
    data = render_share_sheet(sheet_for(kek_set), words_of(kek_set))
    pdf = written(data, tmp_path)
    info = poppler("pdfinfo", str(pdf))
    fields = dict(
        re.findall(r"^(Title|Subject|Keywords|Author|Creator|Producer): *(.*)$", info, re.M)
    )
    assert fields == {
        "Title": "HSM user PIN share 2/5 EXR-RKG-2027-01",
        "Subject": "SLIP-39 share sheet",
        "Keywords": "",
        "Author": "Sealroom",
        "Creator": "Sealroom",
        "Producer": "Sealroom (ReportLab)",
    }
    assert "Metadata Stream: no" in info
    assert "Pages:           1" in info
    assert poppler("pdfinfo", "-meta", str(pdf)).strip() == ""
    # The document information dictionary, byte for byte: public values and fixed dates only.
    (info_dict,) = re.findall(rb"<<\n/Author .*?>>", data, re.S)
    assert info_dict == (
        b"<<\n/Author (Sealroom) /CreationDate (D:20000101000000+00'00') /Creator (Sealroom) "
        b"/Keywords () /ModDate (D:20000101000000+00'00') /Producer (Sealroom \\(ReportLab\\)) "
        b"\n  /Subject (SLIP-39 share sheet) /Title (HSM user PIN share 2/5 EXR-RKG-2027-01) "
        b"/Trapped /False\n>>"
    )
    for marker in (b"/Outlines", b"/Annots", b"/EmbeddedFiles", b"/Names", b"/Metadata"):
        assert marker not in data


def test_the_same_sheet_gives_the_same_bytes(pin_set: ShareSet) -> None:
    sheet, words = sheet_for(pin_set), words_of(pin_set)
    assert render_share_sheet(sheet, words) == render_share_sheet(sheet, list(words))
    assert render_share_sheet(sheet, words) != render_share_sheet(sheet, words_of(pin_set, 3))


def _watermark_pixels(image: Image.Image) -> int:
    """Pixels of the faint red REHEARSAL watermark over white paper, from the grid down.

    (The red banner's anti-aliased edges give a few such pixels at the top of any sheet.)
    """
    width, height = image.size
    data = image.crop((0, int(height * 0.3), width, int(height * 0.9))).tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(1 for r, g, b in pixels if r > 240 and 215 <= g <= 236 and 215 <= b <= 236)


def test_rehearsal_sheets_carry_the_watermark_and_say_so(pin_set: ShareSet, tmp_path: Path) -> None:
    words = words_of(pin_set)
    rehearsal = written(
        render_share_sheet(sheet_for(pin_set, rehearsal=True), words), tmp_path, "r.pdf"
    )
    real = written(render_share_sheet(sheet_for(pin_set), words), tmp_path, "c.pdf")
    rehearsal_text = flat(layout_text(rehearsal))
    assert "REHEARSAL — not a real share: it protects only a rehearsal token." in rehearsal_text
    assert "REHEARSAL share sheet" in rehearsal_text
    assert "REHEARSAL" not in layout_text(real)
    assert "Only you may read this sheet." in flat(layout_text(real))
    # The watermark: big rotated letters (pdftotext finds them as tall fragments) drawn faintly.
    tall = [text for x0, y0, x1, y1, text in bbox_tokens(rehearsal) if y1 - y0 > 60]
    assert {"RE", "AL"} <= set(tall)
    assert not [t for t in bbox_tokens(real) if t[3] - t[1] > 60]
    assert _watermark_pixels(page_image(rehearsal, tmp_path, 50)) > 2000
    assert _watermark_pixels(page_image(real, tmp_path, 50)) == 0


def test_the_longest_share_still_scans_and_reads_back(kek_set: ShareSet, tmp_path: Path) -> None:
    """33 words of 8 letters: the densest QR code a sheet can carry (version 18, 0.54 mm)."""
    words = tuple(w for w in WORDS if len(w) == 8)[:33]
    pdf = written(render_share_sheet(sheet_for(kek_set, rehearsal=True), words), tmp_path)
    (symbol,) = decode(page_image(pdf, tmp_path), symbols=[ZBarSymbol.QRCODE])
    assert symbol.data.decode("ascii") == " ".join(words)
    assert read_share_sheet_words(pdf) == words


def test_a_long_custodian_name_still_fits(pin_set: ShareSet, tmp_path: Path) -> None:
    name = "Maximiliane Konstantinopoulou-Vandenberghe de la Rochefoucauld"
    sheet = dataclasses.replace(sheet_for(pin_set), custodian=name)
    pdf = written(render_share_sheet(sheet, words_of(pin_set)), tmp_path)
    assert f"SECRET — for {name} only" in flat(layout_text(pdf))
    assert read_share_sheet_words(pdf) == words_of(pin_set)


# ---------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"member_index": 0}, "says share 0 of 5"),
        ({"member_index": 6}, "says share 6 of 5"),
        ({"member_count": 17, "member_index": 1}, "1 to 16 shares"),
        ({"threshold": 6}, "threshold 6 is not between 1 and 5"),
        ({"threshold": 0}, "threshold 0 is not between 1 and 5"),
        ({"set_identifier": 1 << 15}, "not a 15-bit SLIP-39 identifier"),
        ({"check_value": "ABCDEF"}, "check value is not 6 lower-case hex digits"),
        ({"custodian": "  "}, "custodian is empty"),
        ({"subject": "token\nother"}, "subject has a control or line-break character"),
        ({"subject": "a very long subject " * 30}, "too long to fit the page"),
    ],
)
def test_a_sheet_that_cannot_be_printed_right_is_refused(
    change: dict[str, object], message: str, pin_set: ShareSet
) -> None:
    sheet = dataclasses.replace(sheet_for(pin_set), **change)  # type: ignore[arg-type]
    with pytest.raises(ReportError, match=re.escape(message)) as caught:
        render_share_sheet(sheet, words_of(pin_set))
    assert "Nothing was printed" in str(caught.value) or "nothing was printed" in str(caught.value)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda w: w[:19], "20 or 33 words of one SLIP-39 share; 19 words were given"),
        (lambda w: (*w, "acid"), "20 or 33 words of one SLIP-39 share; 21 words were given"),
        (lambda w: (*w[:4], w[4].upper(), *w[5:]), "Word 5 of the share is not a SLIP-39 word"),
        (lambda w: (*w[:6], "ab1d", *w[7:]), "Word 7 of the share is not a SLIP-39 word"),
        (lambda w: (*w[:19], "verylongword"), "Word 20 of the share is not a SLIP-39 word"),
    ],
)
def test_words_that_are_not_a_share_are_refused_without_quoting_them(
    mangle: object, message: str, pin_set: ShareSet
) -> None:
    words = mangle(words_of(pin_set))  # type: ignore[operator]
    with pytest.raises(ReportError, match=re.escape(message)) as caught:
        render_share_sheet(sheet_for(pin_set), words)
    assert_no_word(str(caught.value), [w.lower() for w in words])


# ---------------------------------------------------------------------------------------------
# Printers


class RecordingPrinter:
    """A ``Printer`` that keeps what it was given."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, bytes]] = []

    def print_document(self, title: str, pdf: bytes) -> PrintJob:
        self.jobs.append((title, pdf))
        return PrintJob(printer="laser", job=f"laser-{len(self.jobs)}", destination="cups:laser")


def test_the_adapter_prints_the_rendered_sheet_under_a_title_without_words(
    kek_set: ShareSet,
) -> None:
    printer = RecordingPrinter()
    sheet, words = sheet_for(kek_set, member=5), words_of(kek_set, member=5)
    job = SheetPrinterAdapter(printer).print_share_sheet(sheet, words)
    assert job == PrintJob(printer="laser", job="laser-1", destination="cups:laser")
    ((title, pdf),) = printer.jobs
    assert title == sheet_title(sheet) == "HSM user PIN share 5/5 EXR-RKG-2027-01"
    assert_no_word(title, words)
    assert pdf == render_share_sheet(sheet, words)


def test_the_file_printer_writes_one_private_file_per_sheet_once(
    pin_set: ShareSet, tmp_path: Path
) -> None:
    printer = FileSheetPrinter(tmp_path)
    jobs = [
        printer.print_share_sheet(sheet_for(pin_set, member), words_of(pin_set, member))
        for member in (1, 2, 3)
    ]
    names = [f"share-hsm-user-pin-share-{m}-of-5.pdf" for m in (1, 2, 3)]
    assert [job.job for job in jobs] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    for member, job in zip((1, 2, 3), jobs, strict=True):
        path = Path(job.destination)
        assert job.printer == "file"
        assert path == tmp_path / sheet_file_name(sheet_for(pin_set, member))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert read_share_sheet_words(path) == words_of(pin_set, member)
        assert_no_word(path.name.replace("-", " "), words_of(pin_set, member))
    before = (tmp_path / names[1]).read_bytes()
    with pytest.raises(OutputExistsError, match="never overwrites a share sheet"):
        printer.print_share_sheet(sheet_for(pin_set, 2), words_of(pin_set, 2))
    assert (tmp_path / names[1]).read_bytes() == before
    # Another share for the same member (a backup made anew after an abandoned one) is new paper.
    again = printer.print_share_sheet(sheet_for(pin_set, 2), words_of(pin_set, 3))
    assert again.job == "share-hsm-user-pin-share-2-of-5.2.pdf"
    assert read_share_sheet_words(Path(again.destination)) == words_of(pin_set, 3)
    assert (tmp_path / names[1]).read_bytes() == before


def test_the_file_printer_names_a_missing_folder(pin_set: ShareSet, tmp_path: Path) -> None:
    with pytest.raises(PrinterError, match=re.escape(f"{tmp_path / 'gone'}")):
        FileSheetPrinter(tmp_path / "gone").print_share_sheet(sheet_for(pin_set), words_of(pin_set))


def test_file_names_keep_only_plain_characters(pin_set: ShareSet) -> None:
    sheet = dataclasses.replace(sheet_for(pin_set), title="../SO PIN share / Backup*")
    assert sheet_file_name(sheet) == "share-so-pin-share-backup-2-of-5.pdf"
    assert sheet_file_name(dataclasses.replace(sheet, title="***")) == "share-sheet-2-of-5.pdf"


# ---------------------------------------------------------------------------------------------
# Reading a sheet back (unattended rehearsals only)


@pytest.mark.parametrize("which", ["pin_set", "kek_set"])
@pytest.mark.parametrize("member", [1, 3, 5])
def test_reading_a_sheet_gives_back_its_words(
    which: str, member: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    share_set: ShareSet = request.getfixturevalue(which)
    words = words_of(share_set, member)
    for rehearsal in (False, True):
        sheet = sheet_for(share_set, member, rehearsal=rehearsal)
        pdf = written(render_share_sheet(sheet, words), tmp_path, f"{rehearsal}.pdf")
        assert read_share_sheet_words(pdf) == words
        assert set(words) <= SLIP39


def _other_pdf(directory: Path) -> Path:
    from reportlab.pdfgen.canvas import Canvas

    path = directory / "other.pdf"
    canvas = Canvas(str(path))
    canvas.drawString(72, 500, "1. acid   2. agree   3. academic")
    canvas.save()
    return path


def test_reading_a_pdf_that_is_not_a_sheet_names_the_file(tmp_path: Path) -> None:
    other = _other_pdf(tmp_path)
    with pytest.raises(ReportError, match=re.escape(f"{other} does not show the words")) as caught:
        read_share_sheet_words(other)
    assert "3 numbered words were found" in str(caught.value)
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"not a pdf")
    with pytest.raises(ReportError, match=re.escape(f"{garbage} cannot be read as a PDF")):
        read_share_sheet_words(garbage)
    missing = tmp_path / "missing.pdf"
    with pytest.raises(ReportError, match=re.escape(str(missing))):
        read_share_sheet_words(missing)


def test_reading_needs_pdftotext(
    pin_set: ShareSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = written(render_share_sheet(sheet_for(pin_set), words_of(pin_set)), tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ReportError, match="pdftotext \\(poppler-utils\\) is not installed"):
        read_share_sheet_words(pdf)
