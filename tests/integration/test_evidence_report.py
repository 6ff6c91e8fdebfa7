"""A rehearsed root ceremony evidences every item it owes, and its report shows each of them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.ceremony.evidence import required_items
from sealroom.ceremony.loader import load_script
from sealroom.journal.verify import read_verified_entries
from sealroom.report.ceremony_report import render_ceremony_report
from sealroom.report.matrix import evidence_matrix
from tests.fakes import ROOT_SCRIPT

SEALROOM = str(Path(sys.executable).with_name("sealroom"))

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evidence") / "out"
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", str(ROOT_SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


@pytest.mark.softhsm
def test_every_item_a_root_key_generation_owes_is_in_the_journal(rehearsal: Path) -> None:
    _, entries = read_verified_entries(rehearsal / "journal.jsonl")
    matrix = evidence_matrix(entries)
    assert matrix.ceremony_type == "root-key-generation"
    owed = set(required_items("root-key-generation"))
    assert owed <= {row.item_id for row in matrix.rows}
    assert matrix.missing == ()
    for row in matrix.rows:
        assert row.present, (row.item_id, row.note)
    printed = next(e for e in entries if e.event == "report.printed")
    pdf_sha = printed.data["sha256"]
    assert any(sha == pdf_sha for _, sha in matrix.row("EV-REPORT").digests)


@pytest.mark.softhsm
@needs_poppler
def test_the_full_journal_renders_a_report_showing_every_root_item(
    rehearsal: Path, tmp_path: Path
) -> None:
    _, entries = read_verified_entries(rehearsal / "journal.jsonl")
    first = render_ceremony_report(entries)
    assert render_ceremony_report(entries) == first  # byte-identical
    text = _text(first, tmp_path)
    matrix_text = text[text.index("Compliance matrix [") : text.index("Journal position covered")]
    for item_id in required_items("root-key-generation"):
        assert re.search(rf"{re.escape(item_id)}\b", matrix_text), item_id
    assert "MISSING" not in matrix_text
    assert f"No required item is missing from journal entries 1 to {entries[-1].seq}." in text
    assert "Sign-off [EV-SIGNOFF, EV-WITNESS, EV-REPORT]" in text
    # Root ceremony: the responsible trusted role and the independent person sign the report.
    assert "Report signatures for a root CA ceremony" in text
    assert "Trusted role responsible Alice Martin" in text
    assert "Independent of the TSP management Erin Schmidt (Example Audit LLP)" in text
    # everyone present signs: the five custodians of the root key's backup too
    signatories = len(load_script(ROOT_SCRIPT).script.participants)
    assert signatories == 10
    assert text.count("I confirm the script was followed") == signatories
    assert text.count("The script was not followed, see deviations") == signatories


@pytest.mark.softhsm
@needs_poppler
def test_the_printed_report_shows_what_is_still_to_come(rehearsal: Path, tmp_path: Path) -> None:
    """The report printed at the print-report step: the print itself and the end are to come."""
    printed = (rehearsal / "report.pdf").read_bytes()
    _, entries = read_verified_entries(rehearsal / "journal.jsonl")
    record = next(e for e in entries if e.event == "report.printed")
    covers = record.data["covers_through"]
    assert isinstance(covers, int)
    assert render_ceremony_report(entries[:covers]) == printed  # same journal, same bytes
    text = _text(printed, tmp_path)
    assert "TO COME: step print-report" in text
    assert "TO COME: the closing entry" in text
    assert "MISSING" not in text.split("Compliance matrix [")[1].split("Journal position")[0]
    for item_id in required_items("root-key-generation"):
        assert item_id in text, item_id
