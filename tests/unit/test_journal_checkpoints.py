"""Checkpoints and resume: the log key, the signed bytes, torn last lines after a power cut."""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.errors import JournalError
from sealroom.journal.canonical import canonical_bytes
from sealroom.journal.checkpoint import CeremonyLogKey, checkpoint_message
from sealroom.journal.entry import line_sha256
from sealroom.journal.reader import read_entries
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import read_verified_entries, verify_journal

SCRIPT_TEXT = "sealroom: 1\nceremony:\n  id: T-1\n"


class Clock:
    def __init__(self) -> None:
        self.seconds = 0

    def now(self) -> datetime:
        self.seconds += 1
        return datetime(2027, 1, 15, 9, 0, tzinfo=UTC) + timedelta(seconds=self.seconds)


def opened() -> dict[str, object]:
    return {
        "ceremony_id": "T-1",
        "script_sha256": hashlib.sha256(SCRIPT_TEXT.encode()).hexdigest(),
        "script_text": SCRIPT_TEXT,
    }


def start(path: Path, steps: int = 2) -> JournalWriter:
    journal = JournalWriter.create(path, Clock())
    journal.append("ceremony.opened", opened())  # type: ignore[arg-type]
    for index in range(steps):
        journal.append("step.completed", {"n": index}, step=f"s-{index}")
    return journal


def entries_data(path: Path) -> list[tuple[str, dict[str, object]]]:
    return [(e.event, json.loads(canonical_bytes(e.data))) for e in read_entries(path)]


# ------------------------------------------------------------------------------ log key, signing


def test_the_signed_message_is_byte_exact() -> None:
    head = "ab" * 32
    assert checkpoint_message(head, 12) == (
        b"sealroom-journal-checkpoint/v1\n" + b"ab" * 32 + b"\n12"
    )
    with pytest.raises(ValueError, match="hex"):
        checkpoint_message("AB" * 32, 12)
    with pytest.raises(ValueError, match="positive"):
        checkpoint_message(head, 0)


def test_the_log_key_is_journaled_after_the_opening(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with start(path, steps=0) as journal:
        key = journal.log_key
    (event0, _), (event1, data) = entries_data(path)
    assert (event0, event1) == ("ceremony.opened", "journal.log-key")
    der = base64.b64decode(str(data["public_key_der_b64"]))
    assert der == key.public_key_der
    assert isinstance(serialization.load_der_public_key(der), Ed25519PublicKey)
    assert data["algorithm"] == "ed25519"
    assert data["fingerprint"] == sha256_fingerprint(der).to_json()
    assert b"PRIVATE" not in path.read_bytes()


def test_the_private_key_is_never_serialised() -> None:
    key = CeremonyLogKey.generate()
    with pytest.raises(TypeError, match="never serialised"):
        pickle.dumps(key)
    assert repr(key) == f"CeremonyLogKey(fingerprint={key.fingerprint.hex})"


def test_a_checkpoint_signs_the_head_before_it(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with start(path) as journal:
        before = journal.head
        after = journal.checkpoint("end of act one")
        key = journal.log_key
    assert after.seq == before.seq + 1
    event, data = entries_data(path)[-1]
    assert event == "journal.checkpoint"
    assert data == {
        "key_fingerprint": key.fingerprint.hex,
        "reason": "end of act one",
        "signature_b64": data["signature_b64"],
        "through_seq": before.seq,
        "through_sha256": before.sha256,
    }
    public = serialization.load_der_public_key(key.public_key_der)
    assert isinstance(public, Ed25519PublicKey)
    signature = base64.b64decode(str(data["signature_b64"]))
    public.verify(
        signature,
        b"sealroom-journal-checkpoint/v1\n" + before.sha256.encode() + b"\n" + b"%d" % before.seq,
    )
    verdict = verify_journal(path)
    assert verdict.ok
    assert verdict.checkpoints == 1
    assert verdict.signed_through_seq == before.seq


def test_closing_appends_the_final_checkpoint_and_nothing_may_follow(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with start(path) as journal:
        closed = journal.append("ceremony.aborted", {"reason": "test"})
        assert journal.head.seq == closed.seq + 1
        with pytest.raises(JournalError, match="final checkpoint"):
            journal.checkpoint("again")
        with pytest.raises(JournalError, match="already ends"):
            journal.append("hsm.logout", {})
    event, data = entries_data(path)[-1]
    assert event == "journal.checkpoint"
    assert data["reason"] == "ceremony.aborted"
    assert data["through_seq"] == closed.seq
    verdict = verify_journal(path)
    assert verdict.ok
    assert verdict.final_checkpoint
    assert verdict.ended_by == "ceremony.aborted"


def test_writer_events_cannot_be_appended_by_the_engine(tmp_path: Path) -> None:
    with start(tmp_path / "j.jsonl") as journal:
        for event in ("journal.log-key", "journal.checkpoint", "journal.torn-tail"):
            with pytest.raises(JournalError, match="written by the journal itself"):
                journal.append(event, {})


def test_no_checkpoint_before_the_opening(tmp_path: Path) -> None:
    with (
        JournalWriter.create(tmp_path / "j.jsonl", Clock()) as journal,
        pytest.raises(JournalError, match="opening and the ceremony-log key"),
    ):
        journal.checkpoint("too early")


# ------------------------------------------------------------------------------ resume


def test_resume_after_a_clean_stop_continues_the_chain_with_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with start(path) as journal:
        first_key = journal.log_key.fingerprint.hex
        stopped_at = journal.head
    raw = path.read_bytes()
    with JournalWriter.resume(path, Clock()) as journal:
        assert journal.log_key.fingerprint.hex != first_key
        journal.append("step.completed", {"n": 9})
        journal.checkpoint("after resume")
        journal.append("ceremony.closed", {"result": "completed"})
    assert path.read_bytes().startswith(raw), "resume only appends"
    events = [event for event, _ in entries_data(path)]
    assert events[stopped_at.seq :] == [
        "journal.resumed",
        "journal.log-key",
        "step.completed",
        "journal.checkpoint",
        "ceremony.closed",
        "journal.checkpoint",
    ]
    assert entries_data(path)[stopped_at.seq][1] == {"after_seq": stopped_at.seq}
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    assert verdict.log_keys[0] == first_key
    assert len(verdict.log_keys) == 2
    assert verdict.checkpoints == 2


def _torn(path: Path, keep: int) -> tuple[bytes, int]:
    """Simulate a power cut while writing a last line: keep ``keep`` of its bytes."""
    with start(path) as journal:
        last_good = journal.head.seq
    line = canonical_bytes({"a torn": "write", "of": "an entry", "n": 1234567})
    fragment = line[:keep] if keep > 0 else line[: len(line) + keep]
    with path.open("ab") as handle:
        handle.write(fragment)
    return fragment, last_good


@pytest.mark.parametrize("keep", [1, 2, 17, -1, 0], ids=["1", "2", "17", "all-but-1", "all"])
def test_resume_accounts_for_a_torn_last_line(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "j.jsonl"
    fragment, last_good = _torn(path, keep)
    before = path.read_bytes()
    assert not verify_journal(path).ok
    with JournalWriter.resume(path, Clock()) as journal:
        journal.append("ceremony.closed", {"result": "completed"})
    after = path.read_bytes()
    assert after.startswith(before), "the torn bytes are never truncated or rewritten"
    assert after[len(before) : len(before) + 1] == b"\n"
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    assert verdict.torn_lines == (last_good + 1,)
    assert verdict.final_checkpoint
    verdict, entries = read_verified_entries(path)
    torn = entries[last_good]
    assert torn.event == "journal.torn-tail"
    assert torn.line_number == last_good + 2, "the fragment is a line but not an entry"
    assert torn.prev == entries[last_good - 1].sha256, "the chain continues from the last entry"
    assert dict(torn.data) == {
        "after_seq": last_good,
        "torn_bytes_length": len(fragment),
        "torn_bytes_sha256": hashlib.sha256(fragment).hexdigest(),
    }
    assert entries[last_good + 1].event == "journal.resumed"
    assert dict(entries[last_good + 1].data) == {"after_seq": last_good}


def test_a_torn_tail_that_is_a_whole_entry_but_its_newline_is_still_a_fragment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    with start(path) as journal:
        head = journal.head
    line = canonical_bytes(
        {
            "actors": [],
            "data": {},
            "event": "hsm.logout",
            "prev": head.sha256,
            "seq": head.seq + 1,
            "step": None,
            "time": "2027-01-15T09:10:00.000000Z",
            "v": 1,
        }
    )
    with path.open("ab") as handle:
        handle.write(line)
    JournalWriter.resume(path, Clock()).close()
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    assert verdict.torn_lines == (head.seq + 1,)
    assert "hsm.logout" not in [e.event for e in read_entries(path)]


def test_a_fragment_in_the_middle_without_torn_tail_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _fragment, last_good = _torn(path, 17)
    with JournalWriter.resume(path, Clock()) as journal:
        journal.append("ceremony.closed", {"result": "completed"})
    lines = path.read_bytes().split(b"\n")[:-1]
    del lines[last_good + 1]  # the torn-tail entry
    rest = lines[: last_good + 1]
    path.write_bytes(b"".join(line + b"\n" for line in rest + lines[last_good + 1 :]))
    found = verify_journal(path).first_problem
    assert found is not None
    assert found.startswith(f"line {last_good + 1}: not valid JSON")


def test_a_torn_tail_entry_whose_hash_does_not_match_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _fragment, last_good = _torn(path, 17)
    JournalWriter.resume(path, Clock()).close()
    lines = path.read_bytes().split(b"\n")[:-1]
    lines[last_good] = lines[last_good][:-1] + b"X"  # change one byte of the fragment
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    found = verify_journal(path).first_problem
    assert found is not None
    assert found.startswith(f"line {last_good + 1}: ")


def test_a_torn_tail_entry_without_a_fragment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _fragment, last_good = _torn(path, 17)
    JournalWriter.resume(path, Clock()).close()
    lines = path.read_bytes().split(b"\n")[:-1]
    del lines[last_good]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    found = verify_journal(path).first_problem
    assert found is not None
    assert found.startswith(f"line {last_good + 1} (seq {last_good + 1}): 'journal.torn-tail'")
    assert line_sha256(b"") not in found


def test_resume_refuses_a_broken_or_ended_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with start(path) as journal:
        journal.append("ceremony.closed", {"result": "completed"})
    with pytest.raises(JournalError, match=r"already ended with 'ceremony\.closed'"):
        JournalWriter.resume(path, Clock())
    other = tmp_path / "k.jsonl"
    start(other).close()
    lines = other.read_bytes().split(b"\n")[:-1]
    lines[2] = lines[2].replace(b'"n":0', b'"n":5')
    other.write_bytes(b"".join(line + b"\n" for line in lines))
    size = other.stat().st_size
    with pytest.raises(JournalError, match="cannot be resumed: it does not verify"):
        JournalWriter.resume(other, Clock())
    assert other.stat().st_size == size
