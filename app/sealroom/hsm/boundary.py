"""The edge to python-pkcs11: the lock is held and foreign errors become HsmError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import pkcs11.exceptions as p11err

from sealroom.errors import HsmError, SealroomError
from sealroom.hsm.lock import PKCS11_LOCK

# What to tell the operator for the PKCS#11 failures one meets in a ceremony room. The exception's
# own text is never shown: python-pkcs11 builds some messages from the call's arguments.
_ADVICE: Final[dict[type[Exception], str]] = {
    p11err.DeviceRemoved: "The HSM was removed or lost power: reconnect it, start the step again.",
    p11err.TokenNotPresent: "No token is in the slot: check the HSM connection and start again.",
    p11err.DeviceError: "The HSM reported a device error: note it as a deviation and stop.",
    p11err.DeviceMemory: "The HSM is out of memory: note it as a deviation and stop.",
    p11err.UserNotLoggedIn: "Nobody is logged in to the token: run the login step first.",
    p11err.SessionClosed: "The HSM session was closed: log in again.",
    p11err.SessionHandleInvalid: "The HSM session is no longer valid: log in again.",
    p11err.TokenWriteProtected: "The token is write-protected: check the HSM's mode.",
    p11err.MechanismInvalid: "The HSM does not offer the mechanism this needs.",
    p11err.TemplateInconsistent: "The HSM refused Sealroom's key attribute policy.",
    p11err.AttributeValueInvalid: "The HSM refused Sealroom's key attribute policy.",
    p11err.GeneralError: (
        "Check that the PKCS#11 module is the right one and (for SoftHSM) that SOFTHSM2_CONF "
        "names a readable configuration."
    ),
}


def failure_reason(exc: BaseException) -> str:
    """Name a foreign exception for an operator, never quoting its text (it may hold arguments)."""
    if isinstance(exc, p11err.PKCS11Error):
        return f"PKCS#11 {type(exc).__name__}"
    return f"unexpected {type(exc).__name__}"


def failure_advice(exc: BaseException) -> str:
    """What to do next after ``exc``, or a generic instruction."""
    for kind, advice in _ADVICE.items():
        if isinstance(exc, kind):
            return advice
    return "Note the message as a deviation and ask the ceremony administrator how to go on."


@contextmanager
def pkcs11_boundary(action: str) -> Iterator[None]:
    """Hold the PKCS#11 lock for the block and turn any foreign exception into ``HsmError``.

    ``action`` completes the sentence "The HSM could not ...". Sealroom's own errors pass unchanged.
    """
    with PKCS11_LOCK:
        try:
            yield
        except SealroomError:
            raise
        except Exception as exc:
            raise HsmError(
                f"The HSM could not {action} ({failure_reason(exc)}). {failure_advice(exc)}"
            ) from exc
