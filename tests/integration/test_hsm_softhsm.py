"""Rehearsal tokens: the private softhsm2.conf, softhsm2-util, and PINs kept out of messages."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sealroom.errors import HsmError
from sealroom.hsm import softhsm
from sealroom.hsm.softhsm import (
    SOFTHSM_CONF_ENV,
    SOFTHSM_MODULE,
    SoftHsmToken,
    activate_softhsm_conf,
    create_rehearsal_token,
    token_labels,
)

pytestmark = pytest.mark.softhsm

# Not the fixture token's PINs: these only need to be recognisable in a message.
USER_PIN = "4711-rehearsal-user"
SO_PIN = "0815-rehearsal-officer"


def test_a_rehearsal_token_has_its_own_configuration(softhsm_token: SoftHsmToken) -> None:
    assert softhsm_token.module_path == SOFTHSM_MODULE == "/usr/lib/softhsm/libsofthsm2.so"
    conf = softhsm_token.conf_path.read_text(encoding="utf-8").splitlines()
    assert conf == [
        f"directories.tokendir = {softhsm_token.token_dir}",
        "objectstore.backend = file",
        "log.level = ERROR",
    ]
    assert softhsm_token.token_dir.is_dir()
    assert stat.S_IMODE(softhsm_token.token_dir.stat().st_mode) == 0o700
    env = {**os.environ, SOFTHSM_CONF_ENV: str(softhsm_token.conf_path)}
    assert token_labels(env) == ("sealroom-test",)


def test_more_tokens_can_join_the_same_directory(softhsm_token: SoftHsmToken) -> None:
    base = softhsm_token.conf_path.parent
    second = create_rehearsal_token(base, "second", USER_PIN, SO_PIN)
    assert second.conf_path == softhsm_token.conf_path
    env = {**os.environ, SOFTHSM_CONF_ENV: str(second.conf_path)}
    assert sorted(token_labels(env)) == ["sealroom-test", "second"]


def test_a_label_already_in_the_directory_is_refused(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(HsmError, match="'sealroom-test' already exists") as caught:
        create_rehearsal_token(softhsm_token.conf_path.parent, "sealroom-test", USER_PIN, SO_PIN)
    assert USER_PIN not in str(caught.value) and SO_PIN not in str(caught.value)


def test_a_foreign_configuration_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "softhsm2.conf").write_text("directories.tokendir = /elsewhere\n")
    with pytest.raises(HsmError, match="is not the configuration Sealroom writes"):
        create_rehearsal_token(tmp_path, "t", USER_PIN, SO_PIN)
    assert (tmp_path / "softhsm2.conf").read_text() == "directories.tokendir = /elsewhere\n"


@pytest.mark.parametrize(
    ("label", "user_pin", "so_pin", "words"),
    [
        ("", USER_PIN, SO_PIN, "not usable"),
        ("x" * 33, USER_PIN, SO_PIN, "not usable"),
        ("t", "123", SO_PIN, "user PIN .* 4 to 255 bytes long; the one given is 3"),
        ("t", USER_PIN, "s" * 256, "security officer PIN .* the one given is 256"),
    ],
)
def test_unusable_labels_and_pins_are_refused_before_softhsm_runs(
    tmp_path: Path, label: str, user_pin: str, so_pin: str, words: str
) -> None:
    with pytest.raises(HsmError, match=words) as caught:
        create_rehearsal_token(tmp_path, label, user_pin, so_pin)
    assert user_pin not in str(caught.value) and so_pin not in str(caught.value)
    assert not (tmp_path / "softhsm2.conf").exists()


def test_a_softhsm2_util_failure_never_shows_the_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for softhsm2-util that fails and echoes its whole command line, PINs included.
    fake = tmp_path / "fake-softhsm2-util"
    fake.write_text(
        '#!/bin/sh\n[ "$1" = "--show-slots" ] && exit 0\necho "ERROR: refused $*" >&2\nexit 3\n'
    )
    fake.chmod(0o755)
    monkeypatch.setattr(softhsm, "SOFTHSM_UTIL", str(fake))
    with pytest.raises(HsmError) as caught:
        create_rehearsal_token(tmp_path / "t", "rehearsal", USER_PIN, SO_PIN)
    message = str(caught.value)
    assert "could not initialise the rehearsal token 'rehearsal'" in message
    assert "exit status 3" in message and "ERROR: refused" in message
    assert USER_PIN not in message and SO_PIN not in message
    assert "****" in message


def test_a_missing_softhsm2_util_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(softhsm, "SOFTHSM_UTIL", str(tmp_path / "absent"))
    with pytest.raises(HsmError, match="is not installed"):
        create_rehearsal_token(tmp_path / "t", "rehearsal", USER_PIN, SO_PIN)


def test_activating_a_token_sets_softhsm2_conf(
    softhsm_token: SoftHsmToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SOFTHSM_CONF_ENV)
    activate_softhsm_conf(softhsm_token)
    assert os.environ[SOFTHSM_CONF_ENV] == str(softhsm_token.conf_path)
