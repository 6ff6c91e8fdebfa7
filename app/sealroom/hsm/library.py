"""Loading PKCS#11 modules once per process, initialised afresh when the first user arrives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pkcs11

from sealroom.errors import HsmError
from sealroom.hsm.boundary import failure_reason
from sealroom.hsm.lock import PKCS11_LOCK

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as Pkcs11Library

_USERS: Final[dict[str, int]] = {}


def acquire_library(module_path: str) -> Pkcs11Library:
    """The initialised module at ``module_path``, counted as one more user.

    When nobody was using the module it is (re)initialised, so SoftHSM re-reads SOFTHSM2_CONF and
    rescans its token directory; a token made since the last use is then visible.
    """
    with PKCS11_LOCK:
        try:
            library = pkcs11.lib(module_path)  # loads, or initialises the one we finalised
            if _USERS.get(module_path, 0) == 0:
                # Also rescan if someone else left it initialised (C_Finalize+C_Initialize < 1 ms).
                library.reinitialize()
        except Exception as exc:
            raise HsmError(
                f"Cannot load the PKCS#11 module {module_path} ({failure_reason(exc)}). Check "
                "that the path is right and (for SoftHSM) that SOFTHSM2_CONF names a readable "
                "configuration whose token directory exists."
            ) from exc
        _USERS[module_path] = _USERS.get(module_path, 0) + 1
        return library


def release_library(module_path: str) -> None:
    """Count one user less; the last one out finalises the module (closing every session)."""
    with PKCS11_LOCK:
        users = _USERS.get(module_path, 0) - 1
        if users > 0:
            _USERS[module_path] = users
            return
        _USERS.pop(module_path, None)
        try:
            pkcs11.lib(module_path).finalize()
        except Exception as exc:
            raise HsmError(
                f"Cannot finalise the PKCS#11 module {module_path} ({failure_reason(exc)})."
            ) from exc


def open_library_users() -> int:
    """How many users hold a PKCS#11 module now, over all modules (0 when all are finalised)."""
    with PKCS11_LOCK:
        return sum(_USERS.values())


def library_users(module_path: str) -> int:
    """How many users (open ``Pkcs11Hsm`` handles) hold the module at ``module_path`` now."""
    with PKCS11_LOCK:
        return _USERS.get(module_path, 0)
