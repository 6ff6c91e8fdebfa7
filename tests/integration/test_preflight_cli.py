"""`sealroom preflight` as a process: exit codes, one line per check, the manifest tool."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.ceremony.preflight import CHECK_IDS
from sealroom.preflight.software import software_result
from sealroom.preflight.system import SystemView

SEALROOM = str(Path(sys.executable).with_name("sealroom"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [SEALROOM, "preflight", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_an_unknown_check_exits_2_listing_the_checks() -> None:
    result = _run("--check", "wifi")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"sealroom: Unknown preflight check 'wifi'; the checks are: {', '.join(CHECK_IDS)}.\n"
    )


def test_a_passing_check_exits_0_with_its_line() -> None:
    result = _run("--check", "clock")
    assert result.returncode == 0
    assert result.stdout.startswith("clock     PASS  system clock ")
    assert len(result.stdout.splitlines()) == 1


def test_a_failing_check_exits_1() -> None:
    # This test machine is not booted from a Sealroom image.
    result = _run("--check", "image", "--check", "clock")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["image", "FAIL"], ["clock", "PASS"]]
    assert "not booted from a Sealroom image" in lines[0]


def test_every_check_prints_one_line_in_order() -> None:
    result = _run("--rehearsal")
    assert result.returncode in {0, 1}
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(CHECK_IDS)


def test_the_rehearsal_hsm_check_loads_softhsm2() -> None:
    result = _run("--rehearsal", "--check", "hsm")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("hsm       PASS  /usr/lib/softhsm/libsofthsm2.so loaded")


def test_the_manifest_of_this_environment_passes_the_software_check(tmp_path: Path) -> None:
    manifest = tmp_path / "etc" / "sealroom" / "software.json"
    manifest.parent.mkdir(parents=True)
    made = subprocess.run(
        [sys.executable, "-m", "sealroom.preflight.manifest", "--out", str(manifest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"software manifest {manifest}: SHA-256 ")
    result = software_result(SystemView.under(tmp_path))
    assert result.passed, result.detail
    again = subprocess.run(
        [sys.executable, "-m", "sealroom.preflight.manifest", "--out", str(manifest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 2
    assert again.stderr == (
        f"sealroom: {manifest} already exists; a manifest is never overwritten.\n"
    )


def test_the_hsm_check_finds_a_token_by_label_and_names_a_missing_one(tmp_path: Path) -> None:
    import os
    import shutil

    if shutil.which("softhsm2-util") is None:
        raise AssertionError("SoftHSM2 is not installed: run `make setup` (package softhsm2)")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        [
            *("softhsm2-util", "--init-token", "--free", "--label", "pf-token"),
            *("--so-pin", "0815-officer", "--pin", "4711-user"),
        ],
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    args = [SEALROOM, "preflight", "--rehearsal", "--check", "hsm", "--token"]
    found = subprocess.run(
        [*args, "pf-token"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert found.returncode == 0, found.stdout + found.stderr
    assert found.stdout.startswith(
        "hsm       PASS  /usr/lib/softhsm/libsofthsm2.so loaded; token pf-token (serial "
    )
    missing = subprocess.run(
        [*args, "other"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert missing.returncode == 1
    assert "no token is labelled 'other' (present: pf-token (serial " in missing.stdout


def _findmnt(path: Path) -> tuple[str, str]:
    """What util-linux's findmnt says holds ``path``: its source device and filesystem type."""
    done = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    source, fstype = done.stdout.split()[:2]
    return source, fstype


@pytest.mark.skipif(shutil.which("findmnt") is None, reason="needs util-linux findmnt")
def test_the_evidence_check_names_the_disk_findmnt_sees_for_out(tmp_path: Path) -> None:
    out = tmp_path / "ceremony-out"
    source, fstype = _findmnt(tmp_path)

    result = _run("--check", "evidence", "--out", str(out))

    volatile = fstype in {"tmpfs", "ramfs", "overlay", "squashfs"}
    assert result.returncode == (1 if volatile else 0), result.stdout
    line = result.stdout.strip()
    assert line.startswith(f"evidence  {'FAIL' if volatile else 'PASS'}  {out} is on {source} ")
    assert f"({fstype}, " in line
    assert " MB free" in line


@pytest.mark.skipif(
    shutil.which("findmnt") is None or not Path("/dev/shm").is_dir(), reason="needs /dev/shm"
)
def test_the_evidence_check_fails_on_tmpfs(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if _findmnt(shm)[1] != "tmpfs":
        pytest.skip("/dev/shm is not a tmpfs here")

    result = _run("--check", "evidence", "--out", str(shm / "sealroom-out"))

    assert result.returncode == 1
    assert result.stdout.startswith("evidence  FAIL  /dev/shm/sealroom-out is on ")
    assert "tmpfs does not survive power-off" in result.stdout
