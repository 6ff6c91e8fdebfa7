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
    assert verify(EXAMPLE.read_bytes()) == f"OK: 2 entries, head {head}, ended by ceremony.aborted"


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
