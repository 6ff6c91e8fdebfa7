"""custodian-change: its bundle verifies, its report shows the re-split, no share word leaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.report.share_sheet import read_share_sheet_words
from tests.leaks import share_run_in

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPT = Path(__file__).resolve().parents[2] / "ceremony_scripts" / "custodian-change.yaml"

pytestmark = pytest.mark.softhsm


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    return subprocess.run(
        [SEALROOM, *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )


def _pdf_text(pdf: Path) -> str:
    """The report's text in drawing order: -layout mixed the diagonal REHEARSAL watermark's
    letters into whichever table line they crossed once the preflight table moved the pages."""
    result = subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_custodian_change_bundle_verifies_and_the_report_shows_the_resplit(
    tmp_path: Path,
) -> None:
    out = tmp_path / "cc"
    rehearsed = _run("rehearse", "--out", str(out), str(SCRIPT))
    assert rehearsed.returncode == 0, rehearsed.stdout[-3000:] + rehearsed.stderr
    verified = _run("verify", str(out / "bundle"))
    assert "Traceback" not in verified.stdout + verified.stderr
    # every required item, EV-KEY-ID, EV-KEY-FPR and EV-BACKUP from backup.resplit included
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr
    assert "required item(s) missing" not in verified.stdout

    text = _pdf_text(out / "report.pdf")
    flat = " ".join(text.split())
    assert "Re-split of backup r2-backup-a (exr-root-r2-2027)" in flat
    assert ": DONE" in flat and "NOT PROVED" not in flat
    assert "Old share set (VOID)" in flat and "(shares.voided, seq" in flat
    assert "Kemal Aydin (left 2027-06-30; absent) - LEAVES" in flat
    assert "his share card was not returned" in flat  # the reason
    assert "Old shares combined by - Frank Liu - Hana Kowalski - Judit Varga" in flat
    assert "matches the expected" in flat and "the blob is unchanged" in flat
    assert "unwrapped as a session object" in flat and "0 object(s) on the HSM before, 0" in flat
    assert "threshold 3 of 5" in flat
    for number, bag in enumerate(("TEB-230711", "TEB-230712", "TEB-230713", "TEB-230714"), 1):
        assert f"share {number} (share-c{number}):" in flat and bag in flat
    assert "share 5 (share-c5): Lena Berg, bag TEB-230715" in flat
    # custody (section 14) names the bag each new sheet was sealed in, from backup.resplit
    assert flat.count("(backup.resplit, seq") >= 6
    # no deviation, and the old shares are not mistaken for a token activation
    assert "No deviation from the script is recorded" in flat
    assert "yet shares were typed" not in flat

    # no three consecutive words of any sheet (old or new) in the report or the journal
    journal = (out / "journal.jsonl").read_text()
    sheets = sorted((out / "share-sheets").glob("*.pdf"))
    assert len(sheets) == 10  # five old (stand-in) sheets, five new ones
    for sheet in sheets:
        words = read_share_sheet_words(sheet)
        assert len(words) >= 20
        assert share_run_in(words, text) is None, sheet.name
        assert share_run_in(words, journal) is None, sheet.name
