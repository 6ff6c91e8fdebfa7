"""The ceremony reports of real key-recovery and key-migration rehearsals: the recovery or
migration part of section 12, no deviation in a clean run, every required evidence item."""

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
from sealroom.journal.entry import JournalEntry
from sealroom.journal.reader import read_entries
from sealroom.report.ceremony_report import render_ceremony_report
from sealroom.report.matrix import evidence_matrix
from sealroom.report.record import ceremony_record
from tests.fakes import ROOT_SCRIPT

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPTS = ROOT_SCRIPT.parent

pytestmark = [
    pytest.mark.softhsm,
    pytest.mark.skipif(
        shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
        reason="poppler-utils (pdftotext, pdftoppm) is not installed",
    ),
]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _rehearse(out: Path, name: str) -> Path:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", "--out", str(out), str(SCRIPTS / f"{name}.yaml")],
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
def recovery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _rehearse(tmp_path_factory.mktemp("key-recovery-report") / "out", "key-recovery")


@pytest.fixture(scope="module")
def migration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _rehearse(tmp_path_factory.mktemp("key-migration-report") / "out", "key-migration")


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def _backup_section(report: str) -> str:
    start = report.index("Key backup [EV-BACKUP")
    return report[start : report.index("Deviations and aborts [", start)]


def _recovered(out: Path) -> tuple[list[JournalEntry], Mapping[str, object]]:
    entries = read_entries(out / "journal.jsonl")
    (recovered,) = [e for e in entries if e.event == "key.recovered"]
    return entries, recovered.data


def test_the_recovery_report_shows_what_was_recovered_and_against_what(recovery: Path) -> None:
    entries, data = _recovered(recovery)
    section = _backup_section(_text(recovery / "report.pdf"))
    flat = _squeeze(section)
    expected = data["expected"]
    target = data["target_token"]
    fingerprint = data["fingerprint"]
    assert isinstance(expected, Mapping) and isinstance(target, Mapping)
    assert isinstance(fingerprint, Mapping) and isinstance(target["token"], Mapping)
    assert _squeeze("Recovery of exr-root-r2-2027 from backup r2-backup-b at step") in flat
    assert _squeeze("HSM): DONE") in flat
    # a rehearsal checks the stand-in backup made before the opening, and says so, with the
    # values the script states beside it
    assert expected["stand_in"] is True
    assert _squeeze("the rehearsal's stand-in backup") in flat
    assert _squeeze("NOT the values the script states") in flat
    script_values = expected["script_values"]
    assert isinstance(script_values, Mapping)
    assert _squeeze(f"script: KCV {script_values['check_value']}") in flat
    assert _squeeze(str(script_values["blob_sha256"])) in flat
    # KCV and blob matched the values checked, the medium read
    assert _squeeze(f"{data['check_value']}: matches the expected {expected['check_value']}") in (
        flat
    )
    assert _squeeze(f"{data['blob_sha256']}, matches the expected") in flat
    # the custodians whose shares were combined, by name (never a word)
    record = ceremony_record(entries)
    custodians = data["custodians"]
    assert isinstance(custodians, tuple | list) and len(custodians) == 3
    for custodian in custodians:
        assert _squeeze(f"{record.participant_name(str(custodian))} (share") in flat
    # the target token and its serial; the recovered key's fingerprint equal to the expected
    assert _squeeze(f"serial {target['token']['serial']}") in flat
    assert fingerprint["hex"] == expected["fingerprint"]
    assert _squeeze(str(fingerprint["hex"]).upper()[:4]) in flat
    assert _squeeze(f"the expected {str(expected['fingerprint'])[:16]}...: equal") in flat
    assert _squeeze("verified with the public key: verified") in flat
    # the recovered key is in the key inventory
    (key,) = [k for k in record.keys if k.recovered_from == "r2-backup-b"]
    assert key.fingerprint.hex == fingerprint["hex"]
    # a clean run: no deviation, by the room or found by the report
    assert not record.deviations
    assert not record.recovery_failures


def test_the_migration_report_shows_both_tokens_and_the_source_emptied(migration: Path) -> None:
    entries, data = _recovered(migration)
    section = _backup_section(_text(migration / "report.pdf"))
    flat = _squeeze(section)
    source = data["source_token"]
    target = data["target_token"]
    assert isinstance(source, Mapping) and isinstance(target, Mapping)
    assert isinstance(target["token"], Mapping)
    assert "Key backup [EV-BACKUP, EV-QUORUM, EV-RESTORE, EV-MIGRATE]" in section
    assert _squeeze("Migration of exr-legacy-root-2011 from backup legacy-transfer at step") in flat
    assert _squeeze("the backup.made entry of this journal") in flat
    assert _squeeze("this report finds the same values") in flat
    assert (
        _squeeze(f"Source token token exr-legacy (SoftHSM v2), serial {source['serial']}") in flat
    )
    assert _squeeze(f"serial {target['token']['serial']}") in flat
    assert source["serial"] != target["token"]["serial"]
    assert _squeeze("the migration below unwrapped this backup into the target token") in flat
    # the source key destroyed and the source token shown empty, from the same journal
    destroyed = next(e for e in entries if e.event == "key.destroyed")
    zeroised = next(e for e in entries if e.event == "token.zeroised")
    assert destroyed.data["token_serial"] == source["serial"]
    assert _squeeze(f"destroyed on token {source['serial']}") in flat
    assert _squeeze(f"(key.destroyed, seq {destroyed.seq})") in flat
    assert _squeeze(f"holds no object (token.zeroised, seq {zeroised.seq})") in flat
    record = ceremony_record(entries)
    (migrated,) = record.recoveries
    assert migrated.migration and migrated.source_emptied and migrated.fingerprint_agrees
    assert not record.deviations


@pytest.mark.parametrize(
    ("fixture", "kind"), [("recovery", "key-recovery"), ("migration", "key-migration")]
)
def test_every_required_item_is_present(
    fixture: str, kind: str, request: pytest.FixtureRequest
) -> None:
    out: Path = request.getfixturevalue(fixture)
    matrix = evidence_matrix(read_entries(out / "journal.jsonl"))
    assert matrix.ceremony_type == kind
    for item_id in required_items(kind):
        row = matrix.row(item_id)
        assert row.present, (item_id, row.note)
    assert not matrix.missing
    # the key's label, CKA_ID and fingerprint are evidenced by the key.recovered entry itself
    (recovered,) = [
        e.seq for e in read_entries(out / "journal.jsonl") if e.event == "key.recovered"
    ]
    assert recovered in matrix.row("EV-KEY-ID").entries
    assert recovered in matrix.row("EV-KEY-FPR").entries
    if kind == "key-migration":
        note = matrix.row("EV-MIGRATE").note
        assert "fingerprints equal" in note and "source token shown empty" in note


def test_a_migration_without_its_source_emptied_is_not_evidence(migration: Path) -> None:
    entries = read_entries(migration / "journal.jsonl")
    zeroised = next(e for e in entries if e.event == "token.zeroised").seq
    # the journal as it stood before the source token was zeroised: EV-MIGRATE is not there yet
    matrix = evidence_matrix(entries[: zeroised - 1])
    row = matrix.row("EV-MIGRATE")
    assert not row.present
    assert "source token is not shown empty" in row.note


@pytest.mark.parametrize("fixture", ["recovery", "migration"])
def test_the_part_renders_the_same_bytes_and_as_pictures(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    out: Path = request.getfixturevalue(fixture)
    entries = read_entries(out / "journal.jsonl")
    pdf = render_ceremony_report(entries)
    assert pdf == render_ceremony_report(read_entries(out / "journal.jsonl"))
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(tmp_path / "report.pdf"), str(tmp_path / "p")],
        check=True,
    )
    assert len(list(tmp_path.glob("p*.png"))) > 5
