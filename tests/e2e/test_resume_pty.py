"""Kill the rehearsal process at every step boundary of the root ceremony, in a pty, and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from sealroom.cli import REHEARSAL_RESTORE_LABELS
from sealroom.hsm.softhsm import SOFTHSM_MODULE

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "ceremony_scripts" / "root-key-generation.yaml"
ANSWERS = REPO / "ceremony_scripts" / "root-key-generation.answers.yaml"
SEALROOM = Path(sys.executable).with_name("sealroom")
HSM_TIMEOUT = 120.0  # RSA-4096 generation in SoftHSM has a long tail

pytestmark = pytest.mark.e2e


def _steps() -> list[str]:
    script = yaml.safe_load(SCRIPT.read_text(encoding="utf-8"))
    return [str(step["id"]) for step in script["steps"]]


def _spawn(out: Path, *extra: str) -> pexpect.spawn:
    return pexpect.spawn(
        str(SEALROOM),
        ["rehearse", *extra, "--out", str(out), str(SCRIPT)],
        cwd=str(REPO),
        env={**os.environ, "TERM": "dumb"},
        encoding="utf-8",
        codec_errors="replace",
        timeout=HSM_TIMEOUT,
    )


def _user_pin() -> str:
    return str(yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))["token"]["user_pin"])


def _pkcs11_tool(out: Path, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """pkcs11-tool on the token labelled ``token`` in the rehearsal's token directory."""
    return subprocess.run(
        ["pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", token, *args],
        env={**os.environ, "SOFTHSM2_CONF": str(out / "softhsm" / "softhsm2.conf")},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _private_keys(out: Path) -> list[str]:
    """The labels of the private keys on the rehearsal token, listed by pkcs11-tool."""
    listed = _pkcs11_tool(
        out, "exr-root-r1", "--login", "--pin", _user_pin(), "--list-objects", "--type", "privkey"
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return re.findall(r"^\s*label:\s*(\S+)", listed.stdout, re.M)


def _prompt(child: pexpect.spawn, total: int) -> int:
    """Wait for the pause before a step; the number of the step about to be performed."""
    child.expect(rf"Press Enter to perform step (\d+)/{total}")
    return int(child.match.group(1))


def assert_journal_verifies(out: Path) -> None:
    """``sealroom verify-journal`` accepts the rehearsal's journal in ``out``."""
    verified = subprocess.run(
        [str(SEALROOM), "verify-journal", str(out / "journal.jsonl")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _kill(child: pexpect.spawn) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL


def test_killed_at_every_step_boundary_the_root_ceremony_resumes_to_one_key(
    tmp_path: Path,
) -> None:
    steps = _steps()
    total, login = len(steps), steps.index("hsm-login") + 1
    out = tmp_path / "ceremony"
    # Killed before the first step: nothing but the opening is journaled.
    child = _spawn(out, "--pause")
    assert _prompt(child, total) == 1
    _kill(child)
    resumes, target, interrupted_mid_step = 0, 1, set()
    while True:
        child = _spawn(out, "--pause", "--resume")
        resumes += 1
        shown = _prompt(child, total)
        if shown == login < target:
            # The HSM session died with the process: the room logs in again, then goes on.
            child.send("\r")
            shown = _prompt(child, total)
        if target in interrupted_mid_step:
            # Killed inside the step last time: it either finished or is performed now.
            assert shown in {target, target + 1}
            target = shown
        else:
            assert shown == target
        child.send("\r")
        if target % 3 == 0 and target < total and target not in interrupted_mid_step:
            # Every third step, the process also dies inside the step's work.
            child.expect(rf"step {target}/{total}: ")
            _kill(child)
            interrupted_mid_step.add(target)
            continue
        if target == total:
            child.expect("rehearsal complete")
            child.expect(pexpect.EOF)
            child.close()
            assert child.exitstatus == 0, child.before
            break
        # The step is done; the process is killed at the boundary before the next one.
        assert _prompt(child, total) == target + 1
        _kill(child)
        target += 1

    assert_journal_verifies(out)
    journal = (out / "journal.jsonl").read_text(encoding="utf-8")
    assert journal.count('"event":"ceremony.resumed"') == resumes
    assert journal.count('"event":"certificate.issued"') == 1
    assert journal.count('"event":"ceremony.closed"') == 1
    # One root key: generated once (or, if the kill came after the HSM made it and before the
    # journal recorded it, found after the interruption instead of being made again).
    made = journal.count('"event":"key.generated"') + journal.count('"after_interruption":true')
    assert made == 1
    assert _private_keys(out) == ["exr-root-r1-2026"]
    # The restore test ran once, and left the restore-test token empty: the journal says so,
    # and so does the token itself.
    entries = [json.loads(line) for line in journal.splitlines()]
    tested = [e["data"] for e in entries if e["event"] == "restore.tested"]
    assert len(tested) == 1, "the restore test ran more than once, or never"
    assert tested[0]["passed"] is True
    assert tested[0]["zeroised_before"], "nothing was on the restore-test token to zeroise"
    assert tested[0]["objects_after_zeroise"] == 0
    restore_label = REHEARSAL_RESTORE_LABELS[0]
    assert tested[0]["restore_token"]["token"]["label"] == restore_label
    public = _pkcs11_tool(out, restore_label, "--list-objects")
    assert public.returncode == 0, public.stdout + public.stderr
    assert not re.search(r"object", public.stdout, re.IGNORECASE), public.stdout
    # The zeroisation re-initialised the token: the rehearsal's user PIN no longer logs in, so
    # nothing made under it can be reached.
    old_pin = _pkcs11_tool(out, restore_label, "--login", "--pin", _user_pin(), "--list-objects")
    assert old_pin.returncode != 0, old_pin.stdout
    assert "CKR_PIN_INCORRECT" in old_pin.stdout + old_pin.stderr
    assert (out / "root.crt.pem").is_file()
    bundle = subprocess.run(
        [str(SEALROOM), "verify", str(out / "bundle")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bundle.returncode == 0, bundle.stdout + bundle.stderr
