"""Integration fixtures: a fresh SoftHSM2 token per test, each under the test's own tmp_path.

SoftHSM reads SOFTHSM2_CONF when the library is initialised. Sealroom's adapter finalises the
library when the last Pkcs11Hsm closes and initialises it afresh on the next open, so each test may
point SOFTHSM2_CONF at its own configuration, as long as no Pkcs11Hsm outlives its test (every test
opens it in a ``with``). ``softhsm_token`` sets the variable (restored afterwards) before the test
opens anything.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sealroom.hsm.library import open_library_users
from sealroom.hsm.softhsm import (
    SOFTHSM_CONF_ENV,
    SOFTHSM_MODULE,
    SoftHsmToken,
    create_rehearsal_token,
)
from sealroom.hsm.token import Pkcs11Hsm

USER_PIN = "4711-test-user"
SO_PIN = "0815-test-officer"
TOKEN_LABEL = "sealroom-test"


def _require_softhsm() -> None:
    if not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is not installed: run `make setup` (Debian package softhsm2).")


@pytest.fixture
def softhsm_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftHsmToken]:
    """A freshly initialised token labelled ``sealroom-test`` that this process's SoftHSM sees."""
    _require_softhsm()
    assert open_library_users() == 0, "a Pkcs11Hsm from an earlier test is still open"
    token = create_rehearsal_token(tmp_path / "softhsm", TOKEN_LABEL, USER_PIN, SO_PIN)
    monkeypatch.setenv(SOFTHSM_CONF_ENV, str(token.conf_path))
    yield token
    assert open_library_users() == 0, "the test left a Pkcs11Hsm open"


@pytest.fixture
def user_pin() -> str:
    """The user PIN of ``softhsm_token``."""
    return USER_PIN


@pytest.fixture
def so_pin() -> str:
    """The security officer PIN of ``softhsm_token``."""
    return SO_PIN


@pytest.fixture
def hsm(softhsm_token: SoftHsmToken) -> Iterator[Pkcs11Hsm]:
    """The fresh token, opened (not logged in)."""
    with Pkcs11Hsm.open(softhsm_token.module_path, softhsm_token.label) as opened:
        yield opened


@pytest.fixture
def user_hsm(hsm: Pkcs11Hsm) -> Pkcs11Hsm:
    """The fresh token, opened and logged in as the user."""
    hsm.login(USER_PIN)
    return hsm
