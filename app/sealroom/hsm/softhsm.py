"""SoftHSM2 rehearsal tokens: a private softhsm2.conf and a freshly initialised token in it."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sealroom.errors import HsmError

SOFTHSM_MODULE: Final = "/usr/lib/softhsm/libsofthsm2.so"
"""The one path SoftHSM2 is loaded by; loading it again under another path fails."""

SOFTHSM_UTIL: Final = "softhsm2-util"
SOFTHSM_CONF_ENV: Final = "SOFTHSM2_CONF"
CONF_NAME: Final = "softhsm2.conf"
TOKEN_DIR_NAME: Final = "tokens"  # noqa: S105 - a folder name, not a secret
UTIL_TIMEOUT_SECONDS: Final = 60

# PKCS#11 token labels are 32 bytes; SoftHSM accepts PINs of 4 to 255 bytes.
MAX_LABEL_BYTES: Final = 32
MIN_PIN_BYTES: Final = 4
MAX_PIN_BYTES: Final = 255


@dataclass(frozen=True)
class SoftHsmToken:
    """A SoftHSM2 token made for a rehearsal, and the configuration that finds it."""

    conf_path: Path
    token_dir: Path
    module_path: str
    label: str


def conf_text(token_dir: Path) -> str:
    """The private softhsm2.conf for ``token_dir``: file object store, errors-only logging."""
    return f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n"


def create_rehearsal_token(base_dir: Path, label: str, user_pin: str, so_pin: str) -> SoftHsmToken:
    """Initialise a new SoftHSM2 token labelled ``label`` under ``base_dir``.

    ``base_dir`` gets ``softhsm2.conf`` and ``tokens/``. Calling it again with the same ``base_dir``
    adds another token to the same directory (the configuration is reused, never rewritten). A label
    already present there is refused, so a label always names one token.

    The PINs go to ``softhsm2-util`` on its command line (its only non-interactive way), so they are
    visible in the process list while it runs: use this for rehearsal tokens only. They never
    appear in an exception message or a log line.
    """
    require_token_label(label)
    require_pin_length(user_pin, "user PIN")
    require_pin_length(so_pin, "security officer PIN")
    base_dir = base_dir.resolve()
    token_dir = base_dir / TOKEN_DIR_NAME
    conf_path = base_dir / CONF_NAME
    try:
        token_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        wanted = conf_text(token_dir)
        if conf_path.exists():
            if conf_path.read_text(encoding="utf-8") != wanted:
                raise HsmError(
                    f"{conf_path} exists and is not the configuration Sealroom writes for "
                    f"{token_dir}; choose an empty directory for the rehearsal token."
                )
        else:
            conf_path.write_text(wanted, encoding="utf-8")
    except OSError as exc:
        raise HsmError(
            f"Cannot prepare the rehearsal token directory {base_dir}: {exc.strerror}."
        ) from exc

    env = {**os.environ, SOFTHSM_CONF_ENV: str(conf_path)}
    if label in token_labels(env):
        raise HsmError(
            f"A token labelled '{label}' already exists in {token_dir}; a label must name one "
            "token. Choose another label or another directory."
        )
    command = [
        SOFTHSM_UTIL,
        "--init-token",
        "--free",
        "--label",
        label,
        "--so-pin",
        so_pin,
        "--pin",
        user_pin,
    ]
    result = _run_util(command, env, f"initialise the rehearsal token '{label}'")
    if result.returncode != 0:
        detail = _redacted(result.stderr or result.stdout, (user_pin, so_pin))
        raise HsmError(
            f"softhsm2-util could not initialise the rehearsal token '{label}' in {token_dir} "
            f"(exit status {result.returncode}: {detail}). Check that the directory is writable."
        )
    return SoftHsmToken(
        conf_path=conf_path, token_dir=token_dir, module_path=SOFTHSM_MODULE, label=label
    )


def create_blank_slot(base_dir: Path) -> SoftHsmToken:
    """A SoftHSM2 configuration under ``base_dir`` whose only slot holds an uninitialised token.

    For rehearsing the HSM-initialisation ceremony: the ceremony itself initialises the token
    (``Pkcs11Hsm.open_uninitialised`` then ``initialise``), so no PIN is set here.
    """
    base_dir = base_dir.resolve()
    token_dir = base_dir / TOKEN_DIR_NAME
    conf_path = base_dir / CONF_NAME
    try:
        token_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
        with conf_path.open("x", encoding="utf-8") as conf:
            conf.write(conf_text(token_dir))
    except FileExistsError as exc:
        raise HsmError(
            f"{base_dir} already holds a rehearsal token; choose an empty directory."
        ) from exc
    except OSError as exc:
        raise HsmError(
            f"Cannot prepare the rehearsal token directory {base_dir}: {exc.strerror}."
        ) from exc
    return SoftHsmToken(
        conf_path=conf_path, token_dir=token_dir, module_path=SOFTHSM_MODULE, label=""
    )


def activate_softhsm_conf(token: SoftHsmToken) -> None:
    """Point this process's SoftHSM2 at ``token``'s configuration (sets ``SOFTHSM2_CONF``).

    Call it BEFORE the PKCS#11 library is first loaded in the process, i.e. before the first
    ``Pkcs11Hsm.open``: SoftHSM reads ``SOFTHSM2_CONF`` when it is initialised, and a library that
    is already initialised keeps the tokens it found then. (``Pkcs11Hsm`` initialises the library
    afresh whenever no other ``Pkcs11Hsm`` is open, so a later change takes effect at the next
    open; do not rely on that in a ceremony.)
    """
    os.environ[SOFTHSM_CONF_ENV] = str(token.conf_path)


def token_labels(env: dict[str, str]) -> tuple[str, ...]:
    """Labels of the initialised tokens ``softhsm2-util --show-slots`` lists under ``env``."""
    result = _run_util([SOFTHSM_UTIL, "--show-slots"], env, "list the SoftHSM2 slots")
    if result.returncode != 0:
        raise HsmError(
            f"softhsm2-util could not list the SoftHSM2 slots (exit status {result.returncode}: "
            f"{_redacted(result.stderr or result.stdout, ())}). Check the configuration "
            f"{env.get(SOFTHSM_CONF_ENV)}."
        )
    labels: list[str] = []
    for line in result.stdout.splitlines():
        name, _, value = line.strip().partition(":")
        if name == "Label" and value.strip():
            labels.append(value.strip())
    return tuple(labels)


def require_token_label(label: str) -> None:
    """Raise HsmError unless ``label`` is a usable PKCS#11 token label (1 to 32 UTF-8 bytes)."""
    size = len(label.encode("utf-8"))
    if not label.strip() or size > MAX_LABEL_BYTES or label != label.strip():
        raise HsmError(
            f"The token label '{label}' is not usable: it must be 1 to {MAX_LABEL_BYTES} bytes "
            "with no leading or trailing spaces."
        )


def require_pin_length(pin: str, name: str) -> None:
    """Raise HsmError (without the PIN) unless ``pin`` is 4 to 255 bytes long."""
    size = len(pin.encode("utf-8"))
    if not MIN_PIN_BYTES <= size <= MAX_PIN_BYTES:
        raise HsmError(
            f"The {name} for a SoftHSM2 token must be {MIN_PIN_BYTES} to {MAX_PIN_BYTES} bytes "
            f"long; the one given is {size}."
        )


def _run_util(
    command: list[str], env: dict[str, str], action: str
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=UTIL_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise HsmError(
            f"Cannot {action}: {SOFTHSM_UTIL} is not installed (Debian package softhsm2)."
        ) from exc
    except subprocess.TimeoutExpired:
        # Not chained: TimeoutExpired quotes the command line, which holds the PINs.
        raise HsmError(
            f"Cannot {action}: {SOFTHSM_UTIL} did not finish within {UTIL_TIMEOUT_SECONDS} s."
        ) from None
    except OSError as exc:
        raise HsmError(
            f"Cannot {action}: {SOFTHSM_UTIL} could not be run ({exc.strerror})."
        ) from exc


def _redacted(text: str, secrets: tuple[str, ...]) -> str:
    """The first line of ``text`` with every secret replaced, for an operator message."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "no output")
    for secret in secrets:
        if secret:
            line = line.replace(secret, "****")
    return line
