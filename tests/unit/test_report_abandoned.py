"""A backup attempt abandoned after an interruption: its red block, its deviation, its KCV apart."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from test_report_preflight import (
    Rewrite,
    is_red,
    needs_poppler,
    pdf_text,
    record_of,
    report,
    rewritten,
    sample,
    squeeze,
    word_colour,
)
from test_report_sample import ABANDONED_BLOB, ABANDONED_KCV, BACKUP_KCV

from sealroom.journal.reader import read_entries
from sealroom.report.ceremony_report import render_ceremony_report
from sealroom.report.matrix import evidence_matrix
from sealroom.report.record import ceremony_record


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("abandoned")


def test_the_record_holds_the_abandoned_attempt_apart_from_the_backup(journals: Path) -> None:
    journal = sample("interrupted", journals)
    entries = read_entries(journal)
    record = record_of(journal)
    (abandoned,) = record.abandoned_backups
    (backup,) = record.backups
    assert abandoned.check_value == ABANDONED_KCV != backup.check_value == BACKUP_KCV
    assert abandoned.blob_sha256 == hashlib.sha256(ABANDONED_BLOB).hexdigest()
    assert [m for m, _ in abandoned.blob_removed] == ["media-a", "media-b"]
    wrapped = [e for e in entries if e.event == "backup.wrapped"]
    assert abandoned.wrapped_seq == wrapped[0].seq
    first_sheets = [
        e
        for e in entries
        if e.event == "share.sealed" and e.data.get("check_value") == ABANDONED_KCV
    ]
    assert [(s.share, s.bag, s.sealed_seq) for s in abandoned.sheets] == [
        (e.data["share"], e.data["bag"], e.seq) for e in first_sheets
    ]
    assert [s.name for s in abandoned.sheets] == ["Frank Liu", "Hana Kowalski"]
    assert {w.name for w in abandoned.witnesses} == {
        "Dan Ivanov",
        "Erin Schmidt (Example Audit LLP)",
    }
    # The backup's shares are the new attempt's sheets only, all sealed with its KCV.
    assert len(backup.shares) == backup.share_count
    assert all(s.sealed is not None and s.sealed.check_value == BACKUP_KCV for s in backup.shares)
    assert {s.bag for s in backup.shares}.isdisjoint({s.bag for s in abandoned.sheets})
    found = [d for d in record.deviations if not d.recorded]
    (deviation,) = found
    assert deviation.seq == abandoned.seq
    assert deviation.observed.startswith(
        f"the attempt with key check value {ABANDONED_KCV} was interrupted before backup.made "
        "and abandoned on resume: its blob destroyed on media-a, media-b; share sheets to "
        "destroy unopened: Frank Liu (bag TEB-229901); Hana Kowalski (bag TEB-229902)"
    )
    step = next(s for s in record.steps if s.step.id == abandoned.step_id)
    assert not step.ok
    assert any(
        d.startswith(f"Backup attempt with KCV {ABANDONED_KCV} ABANDONED") for d in step.details
    )


def test_a_wrapped_attempt_neither_made_nor_abandoned_is_a_deviation(
    journals: Path, tmp_path: Path
) -> None:
    """The ceremony aborted after two sheets: their blob and sheets are an untracked copy."""
    entries = read_entries(sample("interrupted", journals))
    last_sheet = max(
        e.seq
        for e in entries
        if e.event == "share.sealed" and e.data.get("check_value") == ABANDONED_KCV
    )
    stop: Rewrite = ("ceremony.aborted", {"reason": "The room stopped the ceremony."}, None, [])
    cut = rewritten(
        [e for e in entries if e.seq <= last_sheet], tmp_path / "j.jsonl", lambda e: [e], [stop]
    )
    record = ceremony_record(cut)
    wrapped = next(e for e in cut if e.event == "backup.wrapped")
    (untracked,) = [d for d in record.deviations if d.seq == wrapped.seq]
    assert untracked.observed == (
        f"the attempt with key check value {ABANDONED_KCV} is neither: its blob and any sheet "
        "sealed for it are unaccounted for"
    )
    # While the ceremony is still open, the step may yet finish: no deviation.
    open_only = rewritten(
        [e for e in entries if e.seq <= last_sheet], tmp_path / "k.jsonl", lambda e: [e]
    )
    assert not any(d.seq == wrapped.seq for d in ceremony_record(open_only).deviations)


def test_sheets_to_destroy_that_are_not_the_attempt_s_are_an_integrity_finding(
    journals: Path, tmp_path: Path
) -> None:
    def forged(e: Rewrite) -> list[Rewrite]:
        event, data, step, actors = e
        if event == "backup.abandoned":
            data = {**data, "sheets_to_destroy": data["sheets_to_destroy"][:1]}
        return [(event, data, step, actors)]

    entries = rewritten(read_entries(sample("interrupted", journals)), tmp_path / "j.jsonl", forged)
    found = [d.expected for d in ceremony_record(entries).deviations if not d.recorded]
    assert (
        f"the sheets to destroy of the abandoned attempt {ABANDONED_KCV} of backup "
        "root-backup-a matches the share.sealed entries of that attempt"
    ) in found


@needs_poppler
def test_the_report_shows_the_abandoned_attempt_in_a_red_block(
    journals: Path, tmp_path: Path
) -> None:
    journal = sample("interrupted", journals)
    record = record_of(journal)
    (abandoned,) = record.abandoned_backups
    pdf = report(journal)
    flat = squeeze(pdf_text(pdf))
    for text in (
        "Backup attempt abandoned after an interruption: backup root-backup-a",
        f"Abandoned key check value {ABANDONED_KCV} (NOT the backup's KCV)",
        f"The backup made afterwards has the key check value {BACKUP_KCV}",
        *(f"{m} {path}" for m, path in abandoned.blob_removed),
        "Share sheets to destroy, each in its bag, unopened, in view of the witnesses (2):",
        *(f"{s.name} {s.share} ({s.member_index} of 5) {s.bag}" for s in abandoned.sheets),
        "We attest that each sheet listed above was destroyed in its sealed bag, unopened, in "
        "our presence, after its bag serial was read against this list.",
        "Witness Signature Date",
        *(f"{w.name} {w.role_name}" for w in abandoned.witnesses),
    ):
        assert squeeze(text) in flat, text
    assert is_red(word_colour(pdf, "abandoned", tmp_path))


@needs_poppler
def test_the_backup_s_kcv_is_the_made_attempt_s_and_the_abandonment_is_a_deviation(
    journals: Path,
) -> None:
    journal = sample("interrupted", journals)
    text = pdf_text(report(journal))
    flat = squeeze(text)
    kcv = re.search(r"Key check value \(KCV\) of the\s+key-encryption key\s+(\S+)", text)
    assert kcv is not None and kcv.group(1) == BACKUP_KCV
    assert squeeze("Deviations recorded 4 (section 13)") in flat
    assert squeeze(
        "4 deviation(s) are recorded in the journal: 3 decided by the room, 1 found"
    ) in (flat)
    assert squeeze("The backup attempt(s) an interruption cut short were abandoned") in flat
    assert (
        squeeze(
            "abandoned by Sealroom on resume; the sheets are destroyed unopened in view of the "
            "witnesses (section 12); a new backup was made"
        )
        in flat
    )


def test_the_abandoned_report_is_a_function_of_the_journal(journals: Path) -> None:
    entries = read_entries(sample("interrupted", journals))
    assert render_ceremony_report(entries) == render_ceremony_report(entries)


def test_the_matrix_counts_the_abandonment_and_still_evidences_the_backup(journals: Path) -> None:
    entries = read_entries(sample("interrupted", journals))
    matrix = evidence_matrix(entries)
    backup = matrix.row("EV-BACKUP")
    assert backup.present, backup.note
    attempts = [e.seq for e in entries if e.event in ("backup.wrapped", "backup.abandoned")]
    assert set(attempts) <= set(backup.entries)
    abandoned_sheets = [
        e.seq
        for e in entries
        if e.event == "share.sealed" and e.data.get("check_value") == ABANDONED_KCV
    ]
    assert not set(abandoned_sheets) & set(backup.entries)
    deviation = matrix.row("EV-DEVIATION")
    (abandoned,) = [e.seq for e in entries if e.event == "backup.abandoned"]
    assert abandoned in deviation.entries
    assert deviation.note.startswith("4 deviations recorded")
    assert not matrix.missing
