"""The ceremony report of a real key-backup rehearsal: the backup and its restore test on paper,
every required evidence item present, and no share word in the report or the journal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from sealroom.ceremony.evidence import required_items
from sealroom.journal.reader import read_entries
from sealroom.report.ceremony_report import render_ceremony_report
from sealroom.report.matrix import evidence_matrix
from sealroom.report.record import ceremony_record
from sealroom.report.share_sheet import read_share_sheet_words
from tests.fakes import ROOT_SCRIPT
from tests.leaks import share_run_in

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPT = ROOT_SCRIPT.parent / "key-backup.yaml"
CUSTODIANS = ("Frank Liu", "Hana Kowalski", "Ines Duarte", "Judit Varga", "Lena Berg")

pytestmark = [
    pytest.mark.softhsm,
    pytest.mark.skipif(
        shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
        reason="poppler-utils (pdftotext, pdftoppm) is not installed",
    ),
]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("key-backup-report") / "out"
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return out


@pytest.fixture(scope="module")
def report_text(rehearsed: Path) -> str:
    result = subprocess.run(
        ["pdftotext", str(rehearsed / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _section(text: str, number_title: str, next_title: str) -> str:
    start = text.index(number_title)
    return text[start : text.index(next_title, start)]


def test_the_report_shows_the_backup_and_its_restore_test(
    rehearsed: Path, report_text: str
) -> None:
    entries = read_entries(rehearsed / "journal.jsonl")
    made = next(e for e in entries if e.event == "backup.made").data
    tested = next(e for e in entries if e.event == "restore.tested").data
    section = _section(report_text, "Key backup [EV-BACKUP", "Deviations and aborts [")
    flat = _squeeze(section)
    assert _squeeze("Key check value (KCV) of the key-encryption key") in flat
    assert _squeeze(f"{made['check_value']} (in the blob and printed on every share sheet") in flat
    assert _squeeze("Share set's own check value (SLIP-39)") in flat
    assert _squeeze(f"check value {made['set_check_value']} (of the share set") in flat
    blob = str(made["blob_sha256"]).upper()
    grouped = " ".join(blob[i : i + 4] for i in range(0, 64, 4))
    assert _squeeze(grouped) in flat
    assert "CKM_AES_KEY_WRAP_PAD" in section
    assert _squeeze("3 of 5: any 3 custodians' shares give the KEK") in flat
    sealed = made["sealed"]
    assert isinstance(sealed, tuple | list) and len(sealed) == 5
    for name, share in zip(CUSTODIANS, sealed, strict=True):
        assert isinstance(share, Mapping)
        assert share["share"] in section and name in section, name
        assert share["bag"] in section
    for medium in ("media-c", "media-d"):
        assert _squeeze(f"{medium}: {rehearsed / 'media' / medium}") in flat
    # The restore test: who, KCV and blob matched, which token, sign/verify, token emptied.
    assert _squeeze("Restore test of backup r2-backup-b at step 15") in flat
    assert _squeeze("PASSED") in flat
    for name in CUSTODIANS[:3]:
        assert _squeeze(f"{name} (share") in flat
    assert _squeeze(f"{made['check_value']}: matches the backup's") in flat
    assert _squeeze("matches the backup's on media-c, media-d") in flat
    token = tested["restore_token"]
    assert isinstance(token, Mapping) and isinstance(token["token"], Mapping)
    assert _squeeze(f"serial {token['token']['serial']}") in flat
    assert _squeeze("verified with the public key: verified") in flat
    assert _squeeze("0 after: the token") in flat and _squeeze("holds no object") in flat
    # The share bags are in custody too, as journaled.
    custody = _squeeze(_section(report_text, "Custody after the ceremony [", "Compliance matrix ["))
    for share in sealed:
        assert _squeeze(f"{share['share']}") in custody and _squeeze(share["bag"]) in custody
    # The backup's shares are not read as an activation of the token: no deviation found.
    record = ceremony_record(entries)
    assert not record.activations and not record.deviations


def test_no_share_word_is_in_the_report_or_the_journal(rehearsed: Path, report_text: str) -> None:
    sheets = sorted((rehearsed / "share-sheets").glob("*.pdf"))
    backup_sheets = [s for s in sheets if "backup" in s.name]
    assert len(backup_sheets) == 5
    shares = [read_share_sheet_words(sheet) for sheet in backup_sheets]
    assert all(len(words) == 33 for words in shares)
    journal = (rehearsed / "journal.jsonl").read_text(encoding="utf-8")
    for words in shares:
        assert share_run_in(words, report_text) is None
        assert share_run_in(words, journal) is None


def test_every_required_item_of_key_backup_is_present(rehearsed: Path) -> None:
    matrix = evidence_matrix(read_entries(rehearsed / "journal.jsonl"))
    assert matrix.ceremony_type == "key-backup"
    for item_id in required_items("key-backup"):
        row = matrix.row(item_id)
        assert row.present, (item_id, row.note)
    assert not matrix.missing
    backup = matrix.row("EV-BACKUP")
    assert "KCV" in backup.note and any(what.startswith("backup ") for what, _ in backup.digests)
    assert "token emptied" in matrix.row("EV-RESTORE").note


def test_the_same_journal_renders_to_the_same_bytes(rehearsed: Path, tmp_path: Path) -> None:
    entries = read_entries(rehearsed / "journal.jsonl")
    first = render_ceremony_report(entries)
    assert first == render_ceremony_report(read_entries(rehearsed / "journal.jsonl"))
    # The pages render (looked at by hand at 60 dpi when the section was made).
    (tmp_path / "report.pdf").write_bytes(first)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(tmp_path / "report.pdf"), str(tmp_path / "p")],
        check=True,
    )
    assert len(list(tmp_path.glob("p*.png"))) > 5
