"""The evidence matrix: each EVIDENCE.md item a ceremony owes, and the entries that show it."""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sealroom.ceremony.evidence import script_items
from sealroom.ceremony.ports import Actor
from sealroom.errors import ReportError
from sealroom.journal.entry import JournalEntry
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import read_verified_entries
from sealroom.report.matrix import EvidenceMatrix, awaited, evidence_matrix, journal_script
from tests.unit.test_report_sample import SampleClock, build_sample_journal, sample_script_data

Rewrite = tuple[str, dict[str, Any], str | None, list[Actor]]
Edit = Callable[[Rewrite], list[Rewrite]]


@functools.cache
def _sample(directory: Path, kind: str) -> tuple[JournalEntry, ...]:
    path = directory / f"{kind}.jsonl"
    if kind == "root":
        build_sample_journal(path)
    elif kind == "midway":
        steps = [s["id"] for s in sample_script_data()["steps"]]
        build_sample_journal(path, steps_done=steps.index("print-report"))
    elif kind == "compromise":
        build_sample_journal(path, ceremony="key-compromise-response")
    else:
        raise AssertionError(kind)
    return tuple(read_verified_entries(path)[1])


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matrix")


def _rewritten(entries: tuple[JournalEntry, ...], path: Path, edit: Edit) -> list[JournalEntry]:
    """The journal written again with the real writer, each entry passed through ``edit``.

    The writer adds its own log key and final checkpoint; other checkpoints are signed again
    where they stood.
    """
    with JournalWriter.create(path, SampleClock()) as journal:
        for entry in entries:
            if entry.event == "journal.log-key":
                continue
            if entry.event == "journal.checkpoint":
                if entry.seq != entries[-1].seq:
                    journal.checkpoint(str(entry.data["reason"]))
                continue
            original: Rewrite = (
                entry.event,
                _thaw(entry.data),
                entry.step,
                list(entry.actors),
            )
            for event, data, step, actors in edit(original):
                journal.append(event, data, step=step, actors=actors)
    return read_verified_entries(path)[1]


def _thaw(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "items"):
        return {k: _thaw(v) for k, v in value.items()}
    return [_thaw(v) for v in value]


def _drop(predicate: Callable[[Rewrite], bool]) -> Edit:
    return lambda e: [] if predicate(e) else [e]


def _with_script(change: Callable[[dict[str, Any]], None]) -> Edit:
    """Replace the script recorded at the opening (text, hash and model agree)."""

    def edit(e: Rewrite) -> list[Rewrite]:
        event, data, step, actors = e
        if event != "ceremony.opened":
            return [e]
        script = copy.deepcopy(data["script"])
        change(script)
        text = yaml.safe_dump(script, sort_keys=False)
        data = {
            **data,
            "script": script,
            "script_text": text,
            "script_sha256": hashlib.sha256(text.encode()).hexdigest(),
        }
        return [(event, data, step, actors)]

    return edit


def _rows(matrix: EvidenceMatrix) -> Iterator[tuple[str, bool]]:
    for row in matrix.rows:
        yield row.item_id, row.present


# ------------------------------------------------------------------- a complete root ceremony


def test_the_root_sample_evidences_every_item_its_script_owes(samples: Path) -> None:
    entries = _sample(samples, "root")
    matrix = evidence_matrix(entries)
    assert matrix.ceremony_type == "root-key-generation"
    assert [r.item_id for r in matrix.rows] == list(script_items(journal_script(entries)))
    assert matrix.missing == ()
    for row in matrix.rows:
        assert row.present and row.entries, row
        assert list(row.entries) == sorted(set(row.entries))
        by_seq = {e.seq: e for e in entries}
        # Every evidencing entry's hash is in the digests, exactly as the journal has it.
        for seq in row.entries:
            assert (f"entry {seq} ({by_seq[seq].event})", by_seq[seq].sha256) in row.digests


def test_rows_carry_the_hashes_the_entries_record(samples: Path) -> None:
    entries = _sample(samples, "root")
    matrix = evidence_matrix(entries)
    issued = next(e for e in entries if e.event == "certificate.issued")
    artefacts = matrix.row("EV-ARTIFACTS")
    assert issued.seq in artefacts.entries
    assert (f"{issued.data['output']} (DER)", issued.data["sha256"]) in artefacts.digests
    printed = [e for e in entries if e.event == "report.printed"]
    report = matrix.row("EV-REPORT")
    assert report.entries == tuple(e.seq for e in printed)
    assert all((f"report PDF (entry {e.seq})", e.data["sha256"]) in report.digests for e in printed)
    generated = next(e for e in entries if e.event == "key.generated")
    fingerprint = _thaw(generated.data["fingerprint"])
    spki = (f"SPKI of {generated.data['label']}", fingerprint["hex"])
    assert spki in matrix.row("EV-KEY-FPR").digests
    opened = entries[0]
    assert (
        f"script {opened.data['script_name']}",
        opened.data["script_sha256"],
    ) in matrix.row("EV-SCRIPT").digests


def test_deviations_are_evidenced_by_their_entries_and_the_closing_entry(samples: Path) -> None:
    entries = _sample(samples, "root")
    row = evidence_matrix(entries).row("EV-DEVIATION")
    deviations = [e.seq for e in entries if e.event == "deviation.recorded"]
    closed = next(e.seq for e in entries if e.event == "ceremony.closed")
    assert deviations and set(deviations) | {closed} <= set(row.entries)
    assert f"{len(deviations)} deviations recorded" in row.note


def test_no_deviation_is_evidenced_by_the_closing_entry(samples: Path) -> None:
    entries = _sample(samples, "compromise")
    assert not any(e.event == "deviation.recorded" for e in entries)
    row = evidence_matrix(entries).row("EV-DEVIATION")
    closed = next(e.seq for e in entries if e.event == "ceremony.closed")
    assert row.present and closed in row.entries
    assert row.note == f"no deviation recorded through the closing entry {closed}"


def test_a_signing_ceremony_evidences_its_input_key_and_artefacts(samples: Path) -> None:
    entries = _sample(samples, "compromise")
    matrix = evidence_matrix(entries)
    assert matrix.ceremony_type == "key-compromise-response"
    assert matrix.missing == ()
    assert "EV-WITNESS" not in {r.item_id for r in matrix.rows}
    received = [e for e in entries if e.event == "input.received"]
    collected = matrix.row("EV-COLLECTED")
    assert received and all(
        (f"input {e.data['input_id']} DER", e.data["der_sha256"]) in collected.digests
        for e in received
    )
    found = next(e for e in entries if e.event == "key.found")
    assert found.seq in matrix.row("EV-KEY-FPR").entries


# ------------------------------------------------------------------- before the end, and missing


def test_a_report_printed_mid_ceremony_sees_what_is_still_to_come(samples: Path) -> None:
    entries = _sample(samples, "midway")
    matrix = evidence_matrix(entries)
    missing = {r.item_id for r in matrix.missing}
    assert {"EV-REPORT", "EV-DEVIATION"} <= missing
    assert not matrix.row("EV-REPORT").present
    assert matrix.row("EV-REPORT").note == "no report.printed entry"
    assert awaited(entries, "EV-REPORT") == ("step print-report",)
    assert awaited(entries, "EV-DEVIATION")[-1] == "the closing entry"
    # Once the journal has ended nothing is awaited.
    assert awaited(_sample(samples, "root"), "EV-REPORT") == ()


def test_a_clock_step_without_its_clock_offset_entry_is_not_ev_clock(
    samples: Path, tmp_path: Path
) -> None:
    entries = _rewritten(
        _sample(samples, "root"),
        tmp_path / "j.jsonl",
        _drop(lambda e: e[0] == "entry.recorded" and e[1].get("format") == "clock-offset"),
    )
    assert any(e.event == "step.completed" and e.step == "clock" for e in entries)
    matrix = evidence_matrix(entries)
    row = matrix.row("EV-CLOCK")
    # The preflight's clock check is supporting evidence, never the reference the witnesses read.
    clocks = [
        e.seq for e in entries if e.event == "preflight.checked" and e.data["check"] == "clock"
    ]
    assert clocks and not row.present and row.entries == tuple(clocks)
    assert row.note.startswith("no clock-offset entry; preflight (entry ")
    assert [r.item_id for r in matrix.missing] == ["EV-CLOCK"]


def test_no_approval_in_the_script_is_missing_ev_approval(samples: Path, tmp_path: Path) -> None:
    def unapproved(script: dict[str, Any]) -> None:
        del script["ceremony"]["approval"]

    entries = _rewritten(_sample(samples, "root"), tmp_path / "j.jsonl", _with_script(unapproved))
    matrix = evidence_matrix(entries)
    assert [r.item_id for r in matrix.missing] == ["EV-APPROVAL"]
    assert matrix.row("EV-APPROVAL").note == "the script records no management approval"


def test_the_auditor_not_witnessing_the_key_generation_is_missing_ev_witness(
    samples: Path, tmp_path: Path
) -> None:
    def unwitnessed(e: Rewrite) -> list[Rewrite]:
        event, data, step, actors = e
        if step == "generate-root-key":
            actors = [a for a in actors if a.role != "auditor"]
        return [(event, data, step, actors)]

    entries = _rewritten(_sample(samples, "root"), tmp_path / "j.jsonl", unwitnessed)
    row = evidence_matrix(entries).row("EV-WITNESS")
    assert not row.present
    assert row.note == "step generate-root-key has no independent witness"


def test_an_absent_auditor_is_no_witness(samples: Path, tmp_path: Path) -> None:
    def absent(e: Rewrite) -> list[Rewrite]:
        event, data, step, actors = e
        if event == "attendance.recorded":
            data = {"present": [p for p in data["present"] if p != "erin"], "absent": ["erin"]}
        return [(event, data, step, actors)]

    entries = _rewritten(_sample(samples, "root"), tmp_path / "j.jsonl", absent)
    assert evidence_matrix(entries).row("EV-WITNESS").note == (
        "no independent participant is recorded present"
    )


def test_a_tagged_step_evidences_only_once_it_completed(samples: Path, tmp_path: Path) -> None:
    entries = _rewritten(
        _sample(samples, "root"),
        tmp_path / "j.jsonl",
        _drop(lambda e: e[0] == "step.completed" and e[2] == "custody"),
    )
    row = evidence_matrix(entries).row("EV-CUSTODY")
    assert not row.present
    assert row.note.endswith("step custody not completed")


def test_without_report_printed_ev_report_is_missing(samples: Path, tmp_path: Path) -> None:
    entries = _rewritten(
        _sample(samples, "root"), tmp_path / "j.jsonl", _drop(lambda e: e[0] == "report.printed")
    )
    matrix = evidence_matrix(entries)
    assert [r.item_id for r in matrix.missing] == ["EV-REPORT"]
    assert matrix.row("EV-REPORT").entries == ()


def test_a_bag_never_typed_is_missing_ev_teb(samples: Path, tmp_path: Path) -> None:
    script = journal_script(_sample(samples, "root"))
    bag = next(m.bag_out for m in script.materials if m.bag_out)
    entries = _rewritten(
        _sample(samples, "root"),
        tmp_path / "j.jsonl",
        _drop(lambda e: e[0] == "entry.recorded" and e[1].get("value") == bag),
    )
    row = evidence_matrix(entries).row("EV-TEB")
    assert not row.present and bag in row.note


def test_a_journal_whose_script_does_not_validate_is_refused(samples: Path, tmp_path: Path) -> None:
    def broken(script: dict[str, Any]) -> None:
        script["steps"] = []

    entries = _rewritten(_sample(samples, "root"), tmp_path / "j.jsonl", _with_script(broken))
    with pytest.raises(ReportError, match=r"ceremony.opened \(entry 1\) does not validate"):
        evidence_matrix(entries)


def test_the_matrix_is_a_function_of_the_entries(samples: Path) -> None:
    entries = _sample(samples, "root")
    assert evidence_matrix(entries) == evidence_matrix(list(entries))


def test_a_key_found_after_an_interrupted_generation_is_dated_by_its_entry(
    samples: Path, tmp_path: Path
) -> None:
    def resumed(e: Rewrite) -> list[Rewrite]:
        event, data, step, actors = e
        if event == "key.generated":
            kept = {k: v for k, v in data.items() if k not in ("generated_at", "mechanism")}
            return [("key.found", {**kept, "after_interruption": True}, step, actors)]
        return [e]

    entries = _rewritten(_sample(samples, "root"), tmp_path / "j.jsonl", resumed)
    found = next(e for e in entries if e.event == "key.found")
    matrix = evidence_matrix(entries)
    row = matrix.row("EV-KEY-DATE")
    assert row.present and row.entries == (found.seq,)
    assert f"before {found.time_text}" in row.note
    assert matrix.row("EV-KEY-ID").present
    assert found.seq in matrix.row("EV-SETTINGS").entries
    assert matrix.missing == ()
