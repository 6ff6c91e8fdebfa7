"""A rehearsal killed inside backup-key, after sheets were printed: the resume abandons that backup.

The kill lands after ``backup.wrapped`` and the first share sheets, before ``backup.made``: the
blob on the media and the sealed sheets of that attempt would still rebuild the root key. The
resumed step destroys the blob, names the sheets to destroy (``backup.abandoned``) and makes a
new backup with a new key check value, which the restore test then proves.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pexpect
import pytest

from tests.e2e.test_resume_pty import _kill, _prompt, _spawn, _steps, assert_journal_verifies

pytestmark = pytest.mark.e2e


def _entries(out: Path) -> list[dict[str, object]]:
    lines = (out / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a torn last line
    return entries


def test_a_backup_killed_after_two_sheets_is_abandoned_and_made_again(tmp_path: Path) -> None:
    steps = _steps()
    total, backup_step = len(steps), steps.index("backup-root-key") + 1
    out = tmp_path / "ceremony"
    sheets = out / "share-sheets"
    child = _spawn(out, "--pause")
    while _prompt(child, total) < backup_step:
        child.send("\r")
    before = set(sheets.glob("*.pdf")) if sheets.is_dir() else set()
    child.send("\r")
    deadline = time.monotonic() + 300
    while len(set(sheets.glob("*.pdf")) - before) < 2:  # two custodians' sheets are printed
        assert time.monotonic() < deadline, "no share sheet was printed"
        assert child.isalive(), child.before
        time.sleep(0.05)
    _kill(child)
    entries = _entries(out)
    events = [e["event"] for e in entries]
    assert "backup.wrapped" in events and "backup.made" not in events
    (wrapped,) = [e["data"] for e in entries if e["event"] == "backup.wrapped"]
    media = sorted((out / "media").rglob("*.sealroom-backup"))
    assert media, "the blob was not on the media before the kill"

    child = _spawn(out, "--resume")
    child.expect("rehearsal complete", timeout=600)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before

    entries = _entries(out)
    (abandoned,) = [e["data"] for e in entries if e["event"] == "backup.abandoned"]
    (made,) = [e["data"] for e in entries if e["event"] == "backup.made"]
    assert isinstance(wrapped, dict) and isinstance(abandoned, dict) and isinstance(made, dict)
    assert abandoned["check_value"] == wrapped["check_value"] != made["check_value"]
    sealed_before = abandoned["sheets_to_destroy"]
    assert isinstance(sealed_before, list) and len(sealed_before) >= 1
    assert len(abandoned["blob_removed"]) == len(media)  # type: ignore[arg-type]
    # Each medium now holds the new blob only, with the SHA-256 backup.made records.
    for path in media:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == made["blob_sha256"]
    # The restore test proved the new backup, and the journal verifies.
    tested = [e["data"] for e in entries if e["event"] == "restore.tested"]
    assert [t["passed"] for t in tested] == [True]  # type: ignore[index]
    assert_journal_verifies(out)
