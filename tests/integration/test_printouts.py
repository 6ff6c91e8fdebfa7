"""Sample printouts: every page of every rehearsal document says REHEARSAL; listed files exist.

The documents are made afresh into tmp_path by tools/printouts.py (one rehearsal, the one that
prints share sheets, plus a worksheet), so the test does not trust the committed files to be fresh.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.softhsm

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "printouts"
LINK = re.compile(r"\]\(([^)]+)\)")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("printouts_tool", ROOT / "tools" / "printouts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    out = tmp_path_factory.mktemp("printouts")
    tool = _tool()
    printouts = tool.build_printouts(
        out, rehearsals=("hsm-initialisation",), worksheets=("root-key-generation",)
    )
    return out, printouts


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    match = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def test_every_kind_of_rehearsal_document_is_made(made: tuple[Path, list[Any]]) -> None:
    _, printouts = made
    kinds = {p.kind for p in printouts}
    assert kinds == {"report", "worksheet", "share sheet"}
    assert sorted(p.name for p in printouts) == [
        "hsm-initialisation-report.pdf",
        "hsm-initialisation-share-sheet.pdf",
        "root-key-generation-worksheet.pdf",
    ]


def test_every_page_of_every_document_shows_rehearsal(made: tuple[Path, list[Any]]) -> None:
    out, _ = made
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == 3
    for pdf in pdfs:
        pages = _pages(pdf)
        assert pages >= 1
        for page in range(1, pages + 1):
            assert "REHEARSAL" in _page_text(pdf, page), f"{pdf.name} page {page} of {pages}"


def test_one_preview_per_page_and_the_page_count_in_the_readme(
    made: tuple[Path, list[Any]],
) -> None:
    out, printouts = made
    readme = (out / "README.md").read_text()
    for p in printouts:
        pages = _pages(out / p.name)
        assert p.pages == pages
        assert len(p.previews) == pages
        row = next(line for line in readme.splitlines() if line.startswith(f"| [{p.name}]"))
        assert f"| {pages} |" in row
        for png in p.previews:
            assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"]({png})" in row


def test_the_share_sheet_is_the_rehearsal_s_and_says_so(made: tuple[Path, list[Any]]) -> None:
    out, _ = made
    text = " ".join(_page_text(out / "hsm-initialisation-share-sheet.pdf", 1).split())
    assert "not a real share" in text


def test_the_committed_documents_are_those_the_tool_makes() -> None:
    tool = _tool()
    listed = {
        link
        for link in LINK.findall((COMMITTED / "README.md").read_text())
        if link.endswith(".pdf")
    }
    assert listed == {
        *(f"{s}-report.pdf" for s in tool.REHEARSALS),
        *(f"{s}-worksheet.pdf" for s in tool.WORKSHEETS),
        *(f"{s}-share-sheet.pdf" for s in tool.SHARE_SHEETS),
        *(f"{s}-export-sheet.pdf" for s in tool.EXPORT_SHEETS),
    }
    assert "key-backup-report.pdf" in listed


def test_the_committed_backup_share_sheet_is_a_kek_share_with_its_check_value() -> None:
    pdf = COMMITTED / "root-key-generation-share-sheet.pdf"
    assert _pages(pdf) == 1
    text = " ".join(_page_text(pdf, 1).split())
    assert "REHEARSAL" in text and "not a real share" in text
    assert "Backup root-backup-a key-encryption key share" in text
    assert "Any 3 of the 5 shares together recover backup root-backup-a" in text
    assert re.search(r"KCV [0-9A-F]{6}\b", text), text
    row = next(
        line
        for line in (COMMITTED / "README.md").read_text().splitlines()
        if line.startswith("| [root-key-generation-share-sheet.pdf]")
    )
    assert "key-encryption key" in row


def test_the_committed_export_sheet_scans_back_to_a_certificate(tmp_path: Path) -> None:
    from cryptography import x509

    from sealroom.transfer.frames import decode_frames
    from sealroom.transfer.scan import decode_image

    pdf = COMMITTED / "root-key-generation-export-sheet.pdf"
    texts: list[str] = []
    for page in range(1, _pages(pdf) + 1):
        assert "REHEARSAL" in _page_text(pdf, page), page
        prefix = tmp_path / f"p{page}"
        subprocess.run(
            ["pdftoppm", "-r", "100", "-png", "-f", str(page), "-l", str(page), str(pdf), prefix],
            check=True,
        )
        texts += [t for image in tmp_path.glob(f"p{page}*.png") for t in decode_image(image)]
    _, der = decode_frames(texts, expected_type="CRT")
    certificate = x509.load_der_x509_certificate(der)
    assert certificate.subject == certificate.issuer, "the rehearsal's self-signed root"
    row = next(
        line
        for line in (COMMITTED / "README.md").read_text().splitlines()
        if line.startswith("| [root-key-generation-export-sheet.pdf]")
    )
    assert "QR codes" in row


@pytest.mark.parametrize("folder", [COMMITTED, None], ids=["committed", "generated"])
def test_every_file_the_readme_lists_exists(
    folder: Path | None, made: tuple[Path, list[Any]]
) -> None:
    base = made[0] if folder is None else folder
    links = LINK.findall((base / "README.md").read_text())
    assert links, "the README links no document"
    missing = [link for link in links if not (base / link).is_file()]
    assert not missing, f"{base / 'README.md'} lists files that do not exist: {missing}"
    listed = set(links)
    unlisted = [
        str(f.relative_to(base))
        for f in base.rglob("*")
        if f.is_file() and f.name != "README.md" and str(f.relative_to(base)) not in listed
    ]
    assert not unlisted, f"files in {base} the README does not list: {unlisted}"
