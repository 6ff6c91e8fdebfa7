"""`sealroom lint --module --token`: a script's key algorithms checked against a real token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom import cli
from sealroom.hsm.softhsm import SoftHsmToken

pytestmark = pytest.mark.softhsm

CATALOGUE = Path(__file__).resolve().parents[2] / "ceremony_scripts"
SEALROOM = str(Path(sys.executable).with_name("sealroom"))


def test_a_token_that_makes_every_key_of_the_script_lints_clean(
    softhsm_token: SoftHsmToken,
) -> None:
    script = CATALOGUE / "root-key-generation.yaml"
    result = subprocess.run(
        [
            SEALROOM,
            "lint",
            str(script),
            "--module",
            softhsm_token.module_path,
            "--token",
            softhsm_token.label,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"{script}: ok"


def test_a_key_the_token_cannot_make_is_named_with_its_line() -> None:
    script = CATALOGUE / "root-key-generation.yaml"
    findings = cli._algorithm_findings(script, ("rsa-3072", "ec-p256"), "exr-root-r1")
    assert len(findings) == 1
    text = str(findings[0])
    line = next(
        number
        for number, content in enumerate(script.read_text().splitlines(), start=1)
        if content.strip().startswith("algorithm: ")
    )
    assert text.startswith(f"{script}:{line}:")
    assert "SR-TOKEN-ALGORITHM keys[0].algorithm: the token exr-root-r1 does not list the" in text
    assert "(it can make: rsa-3072, ec-p256)" in text
