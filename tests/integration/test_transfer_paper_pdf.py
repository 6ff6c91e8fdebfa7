"""Export sheets through real poppler: every code on every page decodes at 300 and 100 dpi."""

from __future__ import annotations

import functools
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.transfer.frames import decode_frames, encode_frames, parse_frame
from sealroom.transfer.paper import PaperLayout, parse_base32_listing, render_transfer_pdf
from sealroom.transfer.scan import decode_image

SIZES = (2 * 1024, 10 * 1024, 40 * 1024)
LISTING_LINE = re.compile(r"^\d{4,} +(?:(?:[A-Z2-7]{1,4} +)+|END \d+ +)[A-Z2-7]{4}$")


@pytest.fixture(autouse=True)
def _poppler() -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftoppm, pdftotext) is not installed: run `make setup`.")


@functools.cache
def _payload(size: int) -> bytes:
    """Random bytes (seeded: the same at every run), every byte value many times over."""
    return random.Random(size).randbytes(size)  # noqa: S311 - test data, not a secret


@functools.cache
def _sheet(size: int, rehearsal: bool = False) -> bytes:
    return render_transfer_pdf(
        _payload(size),
        "CRT",
        title=f"Test object of {size} bytes",
        facts=(("Made by", "tests/integration/test_transfer_paper_pdf.py"),),
        rehearsal=rehearsal,
    )


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    match = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.M)
    assert match is not None
    return int(match[1])


def _text(pdf: Path, page: int | None = None, *, raw: bool = False) -> str:
    args = ["pdftotext", *(["-raw"] if raw else [])]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _decode_pages(pdf: Path, dpi: int, pages: list[int], out: Path) -> list[str]:
    texts: list[str] = []
    for page in pages:
        prefix = out / f"{pdf.stem}-{dpi}-{page}"
        subprocess.run(
            [
                *("pdftoppm", "-r", str(dpi), "-gray", "-png"),
                *("-f", str(page), "-l", str(page), str(pdf), str(prefix)),
            ],
            check=True,
        )
        (image,) = out.glob(f"{prefix.name}*.png")
        texts += decode_image(image)
    return texts


def _code_pages(pdf: Path) -> list[int]:
    """Pages whose text has a code label (``CRT i/n ID``): where the codes are printed."""
    return [
        page
        for page in range(1, _pages(pdf) + 1)
        if re.search(r"CRT \d+/\d+ [A-Z2-7]{8}", _text(pdf, page))
    ]


@pytest.mark.parametrize("dpi", [300, 100])
@pytest.mark.parametrize("size", SIZES)
def test_every_code_on_the_sheet_decodes_and_the_frames_give_the_payload(
    size: int, dpi: int, tmp_path: Path
) -> None:
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(_sheet(size))
    fragment = PaperLayout().fragment_size
    total = -(-size // fragment)
    pages = list(range(1, _pages(pdf) + 1)) if dpi == 100 else _code_pages(pdf)
    texts = _decode_pages(pdf, dpi, pages, tmp_path)
    assert sorted(parse_frame(t).index for t in texts) == list(range(1, total + 1)), (
        "every code decodes exactly once"
    )
    assert decode_frames(texts, expected_type="CRT") == ("CRT", _payload(size))


def test_a_full_page_holds_twelve_codes(tmp_path: Path) -> None:
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(_sheet(40 * 1024))
    counts = [len(_decode_pages(pdf, 100, [page], tmp_path)) for page in _code_pages(pdf)]
    assert max(counts) == 12
    assert sum(counts) == -(-40 * 1024 // PaperLayout().fragment_size)


def test_a_rehearsal_sheet_says_so_on_every_page_and_still_decodes(tmp_path: Path) -> None:
    pdf = tmp_path / "rehearsal.pdf"
    pdf.write_bytes(_sheet(10 * 1024, rehearsal=True))
    for page in range(1, _pages(pdf) + 1):
        assert "REHEARSAL" in _text(pdf, page), page
    texts = _decode_pages(pdf, 100, _code_pages(pdf), tmp_path)
    assert decode_frames(texts, expected_type="CRT") == ("CRT", _payload(10 * 1024))


def test_every_page_shows_the_sha256_its_number_and_the_labels(tmp_path: Path) -> None:
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(_sheet(10 * 1024))
    fpr = sha256_fingerprint(_payload(10 * 1024))
    pages = _pages(pdf)
    for page in range(1, pages + 1):
        text = _text(pdf, page)
        assert fpr.grouped() in text, page
        assert f"Page {page} of {pages}" in text
    whole = _text(pdf)
    total = -(-10 * 1024 // PaperLayout().fragment_size)
    labels = re.findall(r"CRT (\d+)/(\d+) ([A-Z2-7]{8})", whole)
    assert sorted(int(i) for i, _, _ in labels) == list(range(1, total + 1))
    assert {(n, ident) for _, n, ident in labels} == {
        (str(total), _first_frame(10 * 1024).split("/")[2][:8])
    }
    assert " ".join(fpr.words.split()[:6]) in " ".join(whole.split())


def _first_frame(size: int) -> str:
    return encode_frames(_payload(size), "CRT", PaperLayout().fragment_size)[0]


def test_the_printed_listing_types_back_into_the_payload(tmp_path: Path) -> None:
    """pdftotext stands in for the typist: the listing it reads parses back to the exact bytes."""
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(_sheet(2 * 1024))
    lines = [line for line in _text(pdf, raw=True).splitlines() if LISTING_LINE.match(line)]
    assert parse_base32_listing("\n".join(lines)) == _payload(2 * 1024)


def test_the_sheet_is_the_same_bytes_every_time() -> None:
    again = render_transfer_pdf(
        _payload(2 * 1024),
        "CRT",
        title="Test object of 2048 bytes",
        facts=(("Made by", "tests/integration/test_transfer_paper_pdf.py"),),
    )
    assert again == _sheet(2 * 1024)
