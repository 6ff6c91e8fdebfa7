"""Shared fixtures of the image tests: one real rehearsal, made once for the whole session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root_rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real root key generation rehearsal's output folder (bundle and journal), named as the
    in-image self-test names its run on the evidence medium."""
    out = tmp_path_factory.mktemp("rehearsal") / "selftest-rehearsal-20270115T090000Z"
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("sealroom")),
            "rehearse",
            str(ROOT / "ceremony_scripts" / "root-key-generation.yaml"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out
