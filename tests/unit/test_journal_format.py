"""docs/journal-format.md stays true: its worked example and its verifier are checked."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sealroom.journal.canonical import canonical_bytes
from sealroom.journal.checkpoint import checkpoint_message
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import verify_journal

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "journal-format.md"
EXAMPLE = ROOT / "tests" / "data" / "journal-example.jsonl"


def doc_verifier() -> Callable[[bytes], str]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert match, "the spec must hold a verifier"
    namespace: dict[str, Any] = {"__name__": "journal_format_doc"}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own document
    verify: Callable[[bytes], str] = namespace["verify"]
    return verify


def test_the_worked_example_is_the_sample_file() -> None:
    text = DOC.read_text(encoding="utf-8")
    raw = EXAMPLE.read_bytes()
    lines = raw.split(b"\n")[:-1]
    assert f"the file is {len(raw)} bytes" in text
    for line in lines:
        assert line.decode() in text
        assert hashlib.sha256(line).hexdigest() in text
        assert f"is {len(line)} bytes" in text
    verdict = verify_journal(EXAMPLE)
    assert verdict.ok
    assert verdict.ended_by == "ceremony.aborted"
    assert verdict.head_sha256 == hashlib.sha256(lines[-1]).hexdigest()


def test_the_documented_verifier_accepts_the_example() -> None:
    verify = doc_verifier()
    head = verify_journal(EXAMPLE).head_sha256
    assert verify(EXAMPLE.read_bytes()) == (
        f"OK: 2 entries, head {head}, ended by ceremony.aborted, no checkpoints (v1)"
    )


def _tampered() -> list[bytes]:
    raw = EXAMPLE.read_bytes()
    lines = raw.split(b"\n")[:-1]
    first = json.loads(lines[0])
    second = json.loads(lines[1])
    out = [
        raw[:-1],  # torn
        raw.replace(b"EX-1", b"EX-2", 1),  # changed byte in line 1
        lines[1] + b"\n" + lines[0] + b"\n",  # swapped
        lines[1] + b"\n",  # first entry deleted
        json.dumps(first).encode() + b"\n" + lines[1] + b"\n",  # not canonical
        b"",
        raw + lines[1] + b"\n",  # entry after the end
    ]
    first["data"]["script_text"] += "#"
    out.append(canonical_bytes(first) + b"\n" + lines[1] + b"\n")
    second["seq"] = 1
    out.append(canonical_bytes(second) + b"\n")
    second["event"] = "step.completed"
    second["prev"] = "0" * 64
    out.append(canonical_bytes(second) + b"\n")
    return out


@pytest.mark.parametrize("raw", _tampered())
def test_the_documented_verifier_agrees_with_sealroom(raw: bytes, tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(raw)
    assert not verify_journal(path).ok
    assert not doc_verifier()(raw).startswith("OK")


def _signed_journals(tmp_path: Path) -> dict[str, bytes]:
    """Signed, resumed and torn journals written by the real writer, and tampered copies."""
    from tests.unit.test_journal_checkpoints import Clock, _torn
    from tests.unit.test_journal_tamper import lines_of, rechain, write_signed

    signed = tmp_path / "signed.jsonl"
    write_signed(signed)
    resumed = tmp_path / "resumed.jsonl"
    _torn(resumed, 17)
    with JournalWriter.resume(resumed, Clock()) as journal:
        journal.checkpoint("after the resume")
        journal.append("ceremony.closed", {"result": "completed"})
    lines = lines_of(signed)
    swapped = list(lines)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    edited = list(lines)
    edited[2] = edited[2].replace(b'"n":0', b'"n":9')
    torn_lines = lines_of(resumed)
    torn_index = next(i for i, line in enumerate(torn_lines) if not line.startswith(b'{"actors"'))
    no_torn_tail = torn_lines[: torn_index + 1] + torn_lines[torn_index + 2 :]

    def joined(parts: list[bytes]) -> bytes:
        return b"".join(part + b"\n" for part in parts)

    return {
        "ok signed": signed.read_bytes(),
        "ok resumed": resumed.read_bytes(),
        "swapped, rechained": joined(rechain(swapped)),
        "edited, rechained": joined(rechain(edited)),
        "deleted, rechained": joined(rechain(lines[:5] + lines[6:])),
        "final checkpoint removed": joined(lines[:-1]),
        "truncated": signed.read_bytes()[:-30],
        "log key removed": joined(rechain(lines[:1] + lines[2:])),
        "fragment without torn-tail": joined(no_torn_tail),
        "torn-tail without fragment": joined(
            torn_lines[:torn_index] + torn_lines[torn_index + 1 :]
        ),
    }


def test_the_documented_verifier_agrees_on_signed_and_resumed_journals(tmp_path: Path) -> None:
    verify = doc_verifier()
    for name, raw in _signed_journals(tmp_path).items():
        path = tmp_path / "check.jsonl"
        path.write_bytes(raw)
        ours = verify_journal(path)
        theirs = verify(raw)
        assert ours.ok == theirs.startswith("OK"), (name, ours.first_problem, theirs)
        assert ours.ok == name.startswith("ok"), (name, ours.first_problem)
        if ours.ok:
            assert theirs == (
                f"OK: {ours.entries} entries, head {ours.head_sha256}, signed, ended by "
                "ceremony.closed"
            )


def test_the_documented_signed_bytes_are_the_writers() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert (
        'b"sealroom-journal-checkpoint/v1\\n" + through_sha256.encode("ascii") + b"\\n" + '
        "str(through_seq).encode()" in text
    )
    assert checkpoint_message("ab" * 32, 12) == (
        b"sealroom-journal-checkpoint/v1\n" + b"ab" * 32 + b"\n12"
    )
    assert len(checkpoint_message("ab" * 32, 12)) == 98
    assert "= 98 bytes" in text
