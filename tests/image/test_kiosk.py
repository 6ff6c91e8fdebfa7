"""The kiosk's evidence-medium shell functions (image/overlay/usr/local/bin/sealroom-kiosk)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIOSK = ROOT / "image" / "overlay" / "usr" / "local" / "bin" / "sealroom-kiosk"
NAME = "root-key-generation"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _function(name: str) -> str:
    """The text of one shell function of the kiosk, as written there."""
    lines = KIOSK.read_text().splitlines()
    start = lines.index(f"{name}() {{")
    end = lines.index("}", start)
    return "\n".join(lines[start : end + 1]) + "\n"


def _call(name: str, evidence: Path) -> subprocess.CompletedProcess[str]:
    script = f"set -u\nEVIDENCE={evidence}\nNAME={NAME}\n{_function(name)}{name}\n"
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=False, timeout=30
    )


@pytest.fixture(scope="module")
def closed_journal(root_rehearsal: Path) -> bytes:
    """The journal of a real root key generation rehearsal that ended with ceremony.closed."""
    journal = (root_rehearsal / "journal.jsonl").read_bytes()
    assert b'"event":"ceremony.closed"' in journal
    return journal


def _run_folder(evidence: Path, name: str, journal: bytes | None) -> Path:
    folder = evidence / name
    folder.mkdir(parents=True)
    if journal is not None:
        (folder / "journal.jsonl").write_bytes(journal)
    return folder


def _cut(journal: bytes, lines: int) -> bytes:
    """The journal as a power cut leaves it: its first entries, no end."""
    return b"".join(journal.splitlines(keepends=True)[:lines])


def test_the_newest_unfinished_run_of_the_script_is_offered(tmp_path, closed_journal):
    interrupted = _cut(closed_journal, 12)
    aborted = interrupted + b'{"data":{"reason":"stopped"},"event":"ceremony.aborted","seq":12}\n'
    _run_folder(tmp_path, f"{NAME}-20270115T080000Z", interrupted)
    newest = _run_folder(tmp_path, f"{NAME}-20270115T090000Z", interrupted)
    _run_folder(tmp_path, f"{NAME}-20270115T100000Z", closed_journal)
    _run_folder(tmp_path, f"{NAME}-20270115T110000Z", aborted)
    _run_folder(tmp_path, f"{NAME}-20270115T120000Z", None)
    _run_folder(tmp_path, "key-signing-20270115T130000Z", interrupted)

    done = _call("unfinished_run", tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{newest}\n"


def test_ended_runs_and_other_scripts_offer_nothing(tmp_path, closed_journal):
    _run_folder(tmp_path, f"{NAME}-20270115T100000Z", closed_journal)
    _run_folder(tmp_path, "key-signing-20270115T130000Z", _cut(closed_journal, 12))

    done = _call("unfinished_run", tmp_path)

    assert done.returncode == 1
    assert done.stdout == ""


def test_an_empty_medium_offers_nothing(tmp_path):
    done = _call("unfinished_run", tmp_path)

    assert done.returncode == 1
    assert done.stdout == ""


@pytest.mark.skipif(shutil.which("mountpoint") is None, reason="needs util-linux mountpoint")
def test_a_folder_that_is_not_a_mount_is_not_the_evidence_medium(tmp_path):
    done = _call("evidence_ready", tmp_path)

    assert done.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_production_waits_for_the_medium_and_says_which_label():
    text = KIOSK.read_text()
    wait = _function("wait_for_evidence")

    assert "Insert the evidence medium labelled %s" in wait
    assert "sleep 2" in wait
    assert "read " not in wait  # polling: nothing to type
    main = text[text.index("while true; do") :]
    assert main.index("wait_for_evidence") < main.index(
        '/opt/sealroom/venv/bin/sealroom "${args[@]}"'
    )
