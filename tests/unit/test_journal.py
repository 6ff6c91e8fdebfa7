"""Journal: canonical encoding, hash-chained store, reading back, tamper detection (EV-LOG)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealroom.ceremony.ports import Actor, JournalHead
from sealroom.errors import JournalError, OutputExistsError
from sealroom.journal.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalFormError,
    canonical_bytes,
    parse_canonical,
)
from sealroom.journal.entry import GENESIS_PREV, line_sha256
from sealroom.journal.reader import read_entries
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import (
    read_verified_entries,
    require_valid_journal,
    verify_journal,
)

SCRIPT_TEXT = "sealroom: 1\nceremony:\n  id: T-1\n"


class StepClock:
    """A fake clock: starts at a fixed time and moves one second per reading."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2027, 1, 15, 9, 0, 0, 123456, tzinfo=UTC)

    def now(self) -> datetime:
        current = self.moment
        self.moment += timedelta(seconds=1)
        return current


def opened_data(text: str = SCRIPT_TEXT) -> dict[str, Any]:
    return {
        "ceremony_id": "T-1",
        "script_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "script_text": text,
        "rehearsal": True,
    }


def write_journal(path: Path, extra: int = 4, *, close: bool = True) -> list[JournalHead]:
    heads = []
    with JournalWriter.create(path, StepClock()) as journal:
        heads.append(journal.append("ceremony.opened", opened_data()))
        for index in range(extra):
            heads.append(
                journal.append(
                    "step.completed",
                    {"kind": "acknowledge", "title": f"Step {index} — naïve ☃"},
                    step=f"step-{index}",
                    actors=[Actor("alice", "administrator", "performer")],
                )
            )
        if close:
            heads.append(journal.append("ceremony.closed", {"result": "completed"}))
    return heads


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


# ------------------------------------------------------------------------------------ canonical


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    value = {"b": [1, True, None], "a": 'é\n"\\\u0001\u2028', "A": {"z": -5, "y": ""}}
    assert canonical_bytes(value) == (
        '{"A":{"y":"","z":-5},"a":"é\\n\\"\\\\\\u0001\u2028","b":[1,true,null]}'.encode()
    )


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        float("nan"),
        {"a": [0.5]},
        {1: "non-string key"},
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        b"bytes",
        "\ud800",
        {"key\udfff": 1},
        object(),
    ],
)
def test_canonical_bytes_refuses_values_outside_the_form(value: Any) -> None:
    with pytest.raises(CanonicalFormError):
        canonical_bytes(value)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"a":1.5}', "floating-point"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":1,"a":2}', "duplicate"),
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a": 1}', "canonical"),
        (b'{"a":"\\u00e9"}', "canonical"),
        (b'{"a":"\\ud800"}', "outside the canonical form"),
        (b'{"a":\xff}', "UTF-8"),
        (b"{", "not valid JSON"),
    ],
)
def test_parse_canonical_names_the_problem(line: bytes, reason: str) -> None:
    with pytest.raises(CanonicalFormError, match=reason):
        parse_canonical(line)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_canonical_encoding_round_trips(value: Any) -> None:
    encoded = canonical_bytes(value)
    assert b"\n" not in encoded
    assert parse_canonical(encoded) == value
    assert json.loads(encoded) == value
    assert canonical_bytes(json.loads(encoded)) == encoded


# ------------------------------------------------------------------------------------ store


def test_append_returns_chained_heads_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    heads = write_journal(path, extra=2)
    assert [h.seq for h in heads] == [1, 3, 4, 5], "append returns the head of its own entry"
    entries = read_entries(path)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert [e.event for e in entries] == [
        "ceremony.opened",
        "journal.log-key",
        "step.completed",
        "step.completed",
        "ceremony.closed",
        "journal.checkpoint",
    ]
    assert entries[0].prev == GENESIS_PREV
    for before, after in itertools.pairwise(entries):
        assert after.prev == before.sha256
    by_seq = {e.seq: e.sha256 for e in entries}
    assert [by_seq[h.seq] for h in heads] == [h.sha256 for h in heads]
    assert [line_sha256(line) for line in lines_of(path)] == [e.sha256 for e in entries]
    second = entries[2]
    assert second.time == datetime(2027, 1, 15, 9, 0, 2, 123456, tzinfo=UTC)
    assert second.time_text == "2027-01-15T09:00:02.123456Z"
    assert second.step == "step-0"
    assert second.actors == (Actor("alice", "administrator", "performer"),)
    assert second.data["title"] == "Step 0 — naïve ☃"
    assert second.line_number == 3
    with pytest.raises(TypeError):
        second.data["title"] = "changed"  # type: ignore[index]


def test_entry_line_is_exactly_the_documented_envelope(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter.create(path, StepClock()) as journal:
        journal.append("ceremony.opened", opened_data())
    line = lines_of(path)[0]
    assert line.startswith(b'{"actors":[],"data":{"ceremony_id":"T-1","rehearsal":true,')
    assert line.endswith(
        b'"event":"ceremony.opened","prev":"' + b"0" * 64 + b'","seq":1,"step":null,'
        b'"time":"2027-01-15T09:00:00.123456Z","v":1}'
    )


def test_time_is_written_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    clock = StepClock(datetime(2027, 1, 15, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    with JournalWriter.create(path, clock) as journal:
        journal.append("ceremony.opened", opened_data())
    assert read_entries(path)[0].time_text == "2027-01-15T09:00:00.000000Z"


def test_create_refuses_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"evidence")
    with pytest.raises(OutputExistsError, match="never overwrites"):
        JournalWriter.create(path, StepClock())
    assert path.read_bytes() == b"evidence"


def test_create_in_a_missing_directory_is_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot be created"):
        JournalWriter.create(tmp_path / "missing" / "journal.jsonl", StepClock())


def test_every_append_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    path = tmp_path / "journal.jsonl"
    journal = JournalWriter.create(path, StepClock())
    assert len(synced) == 1, "the directory is synced after the file is created"
    journal.append("ceremony.opened", opened_data())
    assert len(synced) == 3, "the opening and the log key are each synced"
    journal.append("hsm.logout", {}, step="hsm-logout")
    assert len(synced) == 4
    assert synced[1] == synced[2] == synced[3], "each entry syncs the journal file"
    journal.close()


def test_a_failed_write_makes_the_writer_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = JournalWriter.create(tmp_path / "journal.jsonl", StepClock())
    journal.append("ceremony.opened", opened_data())

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(JournalError, match="could not be written at seq 3"):
        journal.append("hsm.logout", {})
    monkeypatch.undo()
    with pytest.raises(JournalError, match="no longer usable"):
        journal.append("hsm.logout", {})
    assert journal.head.seq == 2
    journal.close()


def test_order_rules_are_enforced_when_writing(tmp_path: Path) -> None:
    with JournalWriter.create(tmp_path / "a.jsonl", StepClock()) as journal:
        assert journal.head == JournalHead(0, GENESIS_PREV)
        with pytest.raises(JournalError, match=r"first journal entry must be 'ceremony\.opened'"):
            journal.append("hsm.logout", {})
        journal.append("ceremony.opened", opened_data())
        with pytest.raises(JournalError, match="only be the first"):
            journal.append("ceremony.opened", opened_data())
        journal.append("ceremony.aborted", {"reason": "test"})
        with pytest.raises(JournalError, match=r"already ends with 'ceremony\.aborted'"):
            journal.append("hsm.logout", {})
    with pytest.raises(JournalError, match="closed"):
        journal.append("hsm.logout", {})


def test_opening_must_identify_its_script(tmp_path: Path) -> None:
    with JournalWriter.create(tmp_path / "a.jsonl", StepClock()) as journal:
        bad = opened_data() | {"script_sha256": "0" * 64}
        with pytest.raises(JournalError, match="EV-SCRIPT"):
            journal.append("ceremony.opened", bad)
        assert journal.head.seq == 0


@pytest.mark.parametrize(
    ("event", "data", "step", "message"),
    [
        ("hsm.logout", {"x": 1.5}, None, "floating-point"),
        ("Bad Event", {}, None, "dotted lower-case"),
        ("hsm.logout", {}, "Not A Step", "script step id"),
    ],
)
def test_invalid_entries_are_refused_and_nothing_is_written(
    tmp_path: Path, event: str, data: dict[str, Any], step: str | None, message: str
) -> None:
    path = tmp_path / "a.jsonl"
    with JournalWriter.create(path, StepClock()) as journal:
        journal.append("ceremony.opened", opened_data())
        size = path.stat().st_size
        with pytest.raises(JournalError, match=message):
            journal.append(event, data, step=step)
        assert path.stat().st_size == size
        assert journal.head.seq == 2


def test_appends_from_many_threads_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = JournalWriter.create(path, StepClock())
    journal.append("ceremony.opened", opened_data())

    def worker(n: int) -> None:
        for i in range(20):
            journal.append("step.completed", {"worker": n, "i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.close()
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    assert verdict.entries == 82


# ------------------------------------------------------------------------------------ verify


def test_an_intact_journal_verifies(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    heads = write_journal(path)
    verdict = verify_journal(path)
    assert verdict.ok
    assert verdict.first_problem is None
    assert verdict.entries == 8
    assert verdict.head_seq == heads[-1].seq + 1, "the final checkpoint follows the closing"
    assert verdict.final_checkpoint
    assert verdict.warnings == ()
    assert verdict.ended_by == "ceremony.closed"
    assert verdict.ceremony_id == "T-1"
    assert require_valid_journal(path) == verdict


def test_an_open_journal_verifies_but_has_not_ended(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path, close=False)
    verdict = verify_journal(path)
    assert verdict.ok
    assert verdict.ended_by is None


def test_changed_byte_is_found_at_the_next_entry(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    lines[3] = lines[3].replace(b"Step 1", b"Step 7")
    write_lines(path, lines)
    verdict = verify_journal(path)
    assert not verdict.ok
    assert verdict.first_problem is not None
    assert verdict.first_problem.startswith("line 5 (seq 5): prev ")
    assert "does not match the SHA-256 of line 4" in verdict.first_problem
    assert verdict.entries == 4
    with pytest.raises(JournalError, match="does not verify: line 5"):
        require_valid_journal(path)


def test_deleted_middle_entry_is_a_seq_gap(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    del lines[2]
    write_lines(path, lines)
    verdict = verify_journal(path)
    assert verdict.first_problem == (
        "line 3 (seq 4): seq 4 where 3 was expected "
        "(an entry is missing, duplicated or out of order)"
    )
    assert verdict.head_seq == 2


def test_swapped_entries_are_out_of_order(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    lines[2], lines[3] = lines[3], lines[2]
    write_lines(path, lines)
    problem = verify_journal(path).first_problem
    assert problem is not None
    assert problem.startswith("line 3 (seq 4): seq 4 where 3 was expected")


def test_renumbered_entries_break_the_prev_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    del lines[2]
    for index in range(2, len(lines)):
        obj = json.loads(lines[index])
        obj["seq"] = index + 1
        lines[index] = canonical_bytes(obj)
    write_lines(path, lines)
    problem = verify_journal(path).first_problem
    assert problem is not None
    assert problem.startswith("line 3 (seq 3): prev ")


def test_torn_last_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    raw = path.read_bytes()
    last_start = raw.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(raw[: last_start + 20])
    verdict = verify_journal(path)
    assert verdict.first_problem == (
        "line 8: the last line is incomplete (20 bytes without a newline): "
        "the write was interrupted or the file was truncated"
    )
    assert verdict.entries == 7
    with pytest.raises(JournalError, match="line 8: the last line is incomplete"):
        read_entries(path)


def test_non_canonical_re_encoding_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    lines[1] = json.dumps(json.loads(lines[1]), ensure_ascii=False, sort_keys=True).encode()
    write_lines(path, lines)
    problem = verify_journal(path).first_problem
    assert problem is not None
    assert problem.startswith("line 2: valid JSON but not in canonical encoding")
    with pytest.raises(JournalError, match="line 2: valid JSON but not in canonical"):
        read_entries(path)


def test_unparsable_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    lines[3] = b"this is not json"
    write_lines(path, lines)
    problem = verify_journal(path).first_problem
    assert problem is not None
    assert problem.startswith("line 4: not valid JSON")


def test_envelope_with_an_extra_key_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    obj = json.loads(lines[1])
    obj["pin"] = "1234"
    lines[1] = canonical_bytes(obj)
    write_lines(path, lines)
    problem = verify_journal(path).first_problem
    assert problem == "line 2: envelope keys are wrong (missing: none; unexpected: pin)"


def test_first_entry_must_be_the_opening(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    obj = json.loads(lines[0])
    obj["event"] = "ceremony.started"
    write_lines(path, [canonical_bytes(obj)])
    problem = verify_journal(path).first_problem
    assert problem == "line 1 (seq 1): the first entry is 'ceremony.started', not 'ceremony.opened'"


def test_script_text_must_match_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    obj = json.loads(lines[0])
    obj["data"]["script_text"] += "# edited\n"
    lines[0] = canonical_bytes(obj)
    write_lines(path, lines)
    problem = verify_journal(path).first_problem
    assert problem is not None
    assert problem.startswith("line 1 (seq 1): script_sha256 ")
    assert "is not the SHA-256 of script_text" in problem


def test_entries_after_the_end_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    lines = lines_of(path)
    obj = json.loads(lines[2])
    obj["seq"] = len(lines) + 1
    obj["prev"] = line_sha256(lines[-1])
    lines.append(canonical_bytes(obj))
    write_lines(path, lines)
    problem = verify_journal(path).first_problem
    assert problem == (
        "line 9 (seq 9): 'step.completed' follows the final checkpoint after "
        "'ceremony.closed', which ends the journal"
    )


def test_empty_and_missing_journals_do_not_verify(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert verify_journal(empty).first_problem == (
        "line 1: the journal is empty (it must start with ceremony.opened)"
    )
    missing = verify_journal(tmp_path / "missing.jsonl")
    assert not missing.ok
    assert missing.first_problem is not None
    assert "cannot be read" in missing.first_problem


def test_read_verified_entries_returns_what_was_verified(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_journal(path)
    verdict, entries = read_verified_entries(path)
    assert verdict.ok
    assert [e.sha256 for e in entries] == [line_sha256(line) for line in lines_of(path)]
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(JournalError, match="does not verify: line 8"):
        read_verified_entries(path)


def test_the_journal_loads_no_adapter_or_document_library() -> None:
    code = (
        "import sys\n"
        "import sealroom.journal.store, sealroom.journal.reader, sealroom.journal.verify\n"
        "bad = ('sealroom.report', 'sealroom.transfer', 'sealroom.hsm', 'sealroom.pki',\n"
        "       'sealroom.ui', 'reportlab', 'qrcode', 'pyzbar', 'textual', 'pkcs11')\n"
        "print(','.join(m for m in bad if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
