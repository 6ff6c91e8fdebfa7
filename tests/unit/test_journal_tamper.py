"""Tampering with a signed journal: the verifier names the first bad entry each time (EV-LOG)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.ports import Actor
from sealroom.journal.canonical import canonical_bytes
from sealroom.journal.entry import line_sha256
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import verify_journal

SCRIPT_TEXT = "sealroom: 1\nceremony:\n  id: T-1\n"


class Clock:
    def __init__(self) -> None:
        self.seconds = 0

    def now(self) -> datetime:
        self.seconds += 1
        return datetime(2027, 1, 15, 9, 0, tzinfo=UTC) + timedelta(seconds=self.seconds)


def write_signed(path: Path) -> None:
    """opened, log-key, step, step, checkpoint(5), step, step, closed(8), checkpoint(9)."""
    data = {
        "ceremony_id": "T-1",
        "script_sha256": hashlib.sha256(SCRIPT_TEXT.encode()).hexdigest(),
        "script_text": SCRIPT_TEXT,
    }
    actor = [Actor("alice", "administrator", "performer")]
    with JournalWriter.create(path, Clock()) as journal:
        journal.append("ceremony.opened", data)
        for index in range(4):
            journal.append("step.completed", {"n": index}, step=f"s-{index}", actors=actor)
            if index == 1:
                journal.checkpoint("end of act one")
        journal.append("ceremony.closed", {"result": "completed"})


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def rechain(lines: list[bytes]) -> list[bytes]:
    """Renumber seq, recompute every prev and checkpoint head, as a forger without the key would."""
    out: list[bytes] = []
    prev = "0" * 64
    for seq, line in enumerate(lines, start=1):
        obj = json.loads(line)
        obj["seq"], obj["prev"] = seq, prev
        if obj["event"] == "journal.checkpoint":
            obj["data"]["through_seq"], obj["data"]["through_sha256"] = seq - 1, prev
        out.append(canonical_bytes(obj))
        prev = line_sha256(out[-1])
    return out


def problem(path: Path) -> str:
    verdict = verify_journal(path)
    assert not verdict.ok
    assert verdict.first_problem is not None
    return verdict.first_problem


def test_the_signed_journal_verifies(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    assert verdict.checkpoints == 2
    assert verdict.signed_through_seq == 8
    assert verdict.final_checkpoint
    assert verdict.ended_by == "ceremony.closed"
    assert len(verdict.log_keys) == 1
    assert verdict.warnings == ()


def test_an_edited_byte_is_named_at_the_next_entry(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    lines[5] = lines[5].replace(b'"n":2', b'"n":7')
    write_lines(path, lines)
    assert problem(path).startswith("line 7 (seq 7): prev ")


def test_an_edited_byte_with_the_chain_rebuilt_is_named_at_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    lines[2] = lines[2].replace(b'"n":0', b'"n":9')
    write_lines(path, rechain(lines))
    found = problem(path)
    assert found.startswith("line 5 (seq 5): checkpoint signature does not verify under ")
    assert "an entry it covers was changed" in found
    assert verify_journal(path).head_seq == 4


def test_a_deleted_entry_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    del lines[5]
    write_lines(path, lines)
    assert problem(path).startswith("line 6 (seq 7): seq 7 where 6 was expected")
    write_lines(path, rechain(lines))
    assert problem(path).startswith("line 8 (seq 8): checkpoint signature does not verify")


def test_two_swapped_entries_are_named(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    lines[2], lines[3] = lines[3], lines[2]
    write_lines(path, lines)
    assert problem(path).startswith("line 3 (seq 4): seq 4 where 3 was expected")
    write_lines(path, rechain(lines))
    assert problem(path).startswith("line 5 (seq 5): checkpoint signature does not verify")


def test_a_truncated_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    raw = path.read_bytes()
    lines = lines_of(path)
    path.write_bytes(raw[:-30])
    assert problem(path).startswith("line 9: the last line is incomplete")
    write_lines(path, lines[:-1])  # the final checkpoint removed at a line boundary
    assert problem(path).startswith("line 8 (seq 8): not closed with a checkpoint: ")
    write_lines(path, lines[:-3])  # cut before the closing: still verifies, but unsigned tail
    verdict = verify_journal(path)
    assert verdict.ok
    assert verdict.ended_by is None
    assert verdict.signed_through_seq == 4
    assert verdict.warnings[0].startswith("not closed with a checkpoint: ")
    assert "after seq 4 are not covered" in verdict.warnings[0]


def _replace_data(line: bytes, **changes: Any) -> bytes:
    obj = json.loads(line)
    obj["data"].update(changes)
    return canonical_bytes(obj)


def test_a_replaced_checkpoint_signature_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(b"something else")).decode()
    lines[4] = _replace_data(lines[4], signature_b64=forged)
    write_lines(path, rechain(lines))
    found = problem(path)
    assert found.startswith("line 5 (seq 5): checkpoint signature does not verify under ")
    lines = lines_of(path)
    lines[-1] = _replace_data(lines[-1], signature_b64=forged)
    write_lines(path, lines)
    assert problem(path).startswith("line 5 (seq 5)"), "the first bad entry, not the last"


def test_a_replaced_log_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    der = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    other = {
        "fingerprint": sha256_fingerprint(der).to_json(),
        "public_key_der_b64": base64.b64encode(der).decode(),
    }
    lines[1] = _replace_data(lines[1], **other)
    write_lines(path, lines)
    assert problem(path).startswith("line 3 (seq 3): prev ")
    write_lines(path, rechain(lines))
    assert problem(path).startswith("line 5 (seq 5): checkpoint key_fingerprint ")
    lines = lines_of(path)
    fingerprint = sha256_fingerprint(der).hex
    lines[4] = _replace_data(lines[4], key_fingerprint=fingerprint)
    write_lines(path, rechain(lines))
    assert problem(path).startswith("line 5 (seq 5): checkpoint signature does not verify")


def test_a_log_key_whose_fingerprint_lies_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    lines[1] = _replace_data(lines[1], fingerprint=sha256_fingerprint(b"x").to_json())
    write_lines(path, rechain(lines))
    assert problem(path).startswith("line 2 (seq 2): journal.log-key fingerprint ")


def test_a_checkpoint_without_a_log_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = lines_of(path)
    del lines[1]
    write_lines(path, rechain(lines))
    assert problem(path).startswith("line 4 (seq 4): a checkpoint, but no 'journal.log-key'")


def test_a_journal_without_log_key_is_format_v1_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_signed(path)
    lines = [
        line
        for line in lines_of(path)
        if json.loads(line)["event"] not in ("journal.log-key", "journal.checkpoint")
    ]
    write_lines(path, rechain(lines))
    verdict = verify_journal(path)
    assert verdict.ok
    assert verdict.ended_by == "ceremony.closed"
    assert verdict.warnings[0].startswith("format v1 without checkpoints")
    strict = verify_journal(path, require_checkpoints=True)
    assert not strict.ok
    assert strict.first_problem is not None
    assert "no checkpoints" in strict.first_problem
