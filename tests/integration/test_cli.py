"""The sealroom command as an operator meets it: exit codes, one clear sentence, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.ceremony.loader import load_script
from tests.fakes import ROOT_SCRIPT

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
ANSWERS = ROOT_SCRIPT.with_name("root-key-generation.answers.yaml")
PIN = "4711-2027"


def sealroom(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("SOFTHSM2_CONF", None)
    full_env.update(env or {})
    result = subprocess.run(
        [SEALROOM, *args], capture_output=True, text=True, timeout=180, env=full_env, check=False
    )
    assert "Traceback" not in result.stderr + result.stdout
    return result


@pytest.mark.softhsm
def test_rehearsal_produces_verified_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = sealroom("rehearse", str(ROOT_SCRIPT), "--out", str(out))
    assert result.returncode == 0, result.stderr
    steps = len(load_script(ROOT_SCRIPT).script.steps)
    assert f"rehearsal complete: {steps} steps" in result.stdout
    for name in ("root.crt.pem", "journal.jsonl", "report.pdf"):
        assert (out / name).is_file(), name
    cert = str(out / "root.crt.pem")
    verify = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-CAfile", cert, cert],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    journal = sealroom("verify-journal", str(out / "journal.jsonl"))
    assert journal.returncode == 0
    assert "chain intact, ended by ceremony.closed" in journal.stdout
    report = subprocess.run(
        ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(report.split())
    # The rehearsal's throwaway token is a declared stand-in, not a deviation.
    assert "standing in for HSM-0001" in flat
    assert "No deviation from the script is recorded" in flat
    assert "DOES NOT MATCH" not in flat
    text = (out / "journal.jsonl").read_text()
    assert PIN not in text
    assert PIN not in (out / "report.pdf").read_bytes().decode("latin-1")


def test_lint_exit_codes(tmp_path: Path) -> None:
    assert sealroom("lint", str(ROOT_SCRIPT)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(ROOT_SCRIPT.read_text().replace("algorithm: rsa-4096", "algorithm: rsa-9999"))
    result = sealroom("lint", str(bad))
    assert result.returncode == 1
    line = next(i for i, s in enumerate(bad.read_text().splitlines(), 1) if "rsa-9999" in s)
    assert result.stdout.startswith(f"{bad}:{line}:")
    unusable = tmp_path / "broken.yaml"
    unusable.write_text("steps: [\n")
    assert sealroom("lint", str(unusable)).returncode == 2
    assert sealroom("lint", str(tmp_path / "missing.yaml")).returncode == 2


def test_rehearse_refuses_a_bad_script_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(ROOT_SCRIPT.read_text().replace("  token_label:", "  token_labl:"))
    answers = tmp_path / "bad.answers.yaml"
    answers.write_text(ANSWERS.read_text())
    result = sealroom("rehearse", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{bad}:" in result.stderr
    assert "hsm.token_labl: unknown field" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_existing_certificate_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "root.crt.pem").write_text("precious\n")
    result = sealroom("rehearse", str(ROOT_SCRIPT), "--out", str(out))
    assert result.returncode == 2
    assert "root.crt.pem already exists" in result.stderr
    assert (out / "root.crt.pem").read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["root.crt.pem"]


@pytest.mark.softhsm
def test_wrong_pins_stop_the_ceremony_and_keep_the_journal(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        ANSWERS.read_text().replace(
            "  hsm-login:\n", '  hsm-login:\n    pins: ["0000-0001", "0000-0002", "0000-0003"]\n'
        )
    )
    out = tmp_path / "out"
    result = sealroom("rehearse", str(ROOT_SCRIPT), "--out", str(out), "--answers", str(answers))
    assert result.returncode == 2
    assert "PIN" in result.stderr
    for pin in ("0000-0001", "0000-0002", "0000-0003", PIN):
        assert pin not in result.stderr
        assert pin not in (out / "journal.jsonl").read_text()
    events = [
        json.loads(line)["event"] for line in (out / "journal.jsonl").read_text().splitlines()
    ]
    assert events.count("hsm.login-failed") == 3
    assert events[-2:] == ["ceremony.aborted", "journal.checkpoint"]  # signed end
    assert not (out / "root.crt.pem").exists()
    assert sealroom("verify-journal", str(out / "journal.jsonl")).returncode == 0


@pytest.mark.softhsm
def test_unknown_token_label_is_named(tmp_path: Path) -> None:
    from sealroom.hsm.softhsm import create_rehearsal_token

    token = create_rehearsal_token(tmp_path / "hsm", "present-token", "1234-5678", "8765-4321")
    result = sealroom(
        "run",
        str(ROOT_SCRIPT),
        "--out",
        str(tmp_path / "out"),
        "--module",
        token.module_path,
        "--token",
        "no-such-token",
        env={"SOFTHSM2_CONF": str(token.conf_path)},
    )
    assert result.returncode == 2
    assert "no-such-token" in result.stderr
    assert "present-token" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_verify_journal_names_the_first_bad_entry(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert sealroom("rehearse", str(ROOT_SCRIPT), "--out", str(out)).returncode == 0
    path = out / "journal.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    edited = next(i for i, line in enumerate(lines) if "alice" in line)
    lines[edited] = lines[edited].replace("alice", "mallory", 1)
    path.write_text("".join(lines))
    result = sealroom("verify-journal", str(path))
    assert result.returncode == 1
    assert "NOT VALID" in result.stdout
    # The edited entry's hash no longer matches the next entry's prev: that one is named.
    named = edited + 2
    assert f"line {named}" in result.stdout or f"seq {named}" in result.stdout


def test_lint_checks_every_file_in_the_catalogue_including_answers(tmp_path: Path) -> None:
    files = sorted(str(p) for p in ROOT_SCRIPT.parent.glob("*.yaml"))
    assert any(f.endswith(".answers.yaml") for f in files)
    result = sealroom("lint", *files)
    assert result.returncode == 0, result.stdout
    script = tmp_path / "x.yaml"
    script.write_text(ROOT_SCRIPT.read_text())
    answers = tmp_path / "x.answers.yaml"
    text = ANSWERS.read_text().replace("  room-check:", "  room-chek:")
    answers.write_text(text)
    result = sealroom("lint", str(answers))
    assert result.returncode == 1
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "room-chek" in s)
    assert f"{answers}:{line}:3: SR-ANSWERS steps.room-chek: no step with this id" in result.stdout
    assert "no answer for step 'room-check'" in result.stdout


def test_a_folder_with_a_journal_is_refused_unless_resumed_and_resume_needs_one(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = sealroom("rehearse", str(ROOT_SCRIPT), "--resume", "--out", str(out))
    assert result.returncode == 2
    assert "There is no journal in" in result.stderr and "Traceback" not in result.stderr
    assert sealroom("rehearse", str(ROOT_SCRIPT), "--out", str(out)).returncode == 0
    again = sealroom("rehearse", str(ROOT_SCRIPT), "--out", str(out))
    assert again.returncode == 2
    assert "journal.jsonl already exists" in again.stderr and "--resume" in again.stderr
    ended = sealroom("rehearse", str(ROOT_SCRIPT), "--resume", "--out", str(out))
    assert ended.returncode == 2
    assert "already ended with 'ceremony.closed'" in ended.stderr
    assert "Traceback" not in ended.stderr
