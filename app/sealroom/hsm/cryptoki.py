"""The PKCS#11 functions python-pkcs11 does not wrap, called through the module's function list."""

from __future__ import annotations

import ctypes
from typing import Final

import pkcs11.exceptions as p11err

from sealroom.hsm.lock import PKCS11_LOCK

# python-pkcs11 0.10.1 has no C_InitToken or C_CloseAllSessions, and logs in only inside
# Token.open(): when C_Login fails there, the session it opened is lost (never closed). Sealroom
# therefore opens the session with python-pkcs11 and logs in on its handle here, so a refused PIN
# is followed by closing that very session. Everything is called through the CK_FUNCTION_LIST
# that the module's C_GetFunctionList returns (the standard's own entry point), on the module
# python-pkcs11 already loaded and initialised (the same path, so dlopen gives the same instance).

CK_ULONG = ctypes.c_ulong
CK_RV = CK_ULONG

CKR_OK: Final = 0x000
CKR_SESSION_HANDLE_INVALID: Final = 0x0B3
CKU_SO: Final = 0
CKU_USER: Final = 1
TOKEN_LABEL_BYTES: Final = 32
"""CK_TOKEN_INFO.label and C_InitToken's pLabel: 32 bytes, padded with spaces, not terminated."""

# The return values Sealroom meets here, as python-pkcs11's exception classes (so the boundary's
# operator advice applies); anything else is a plain PKCS11Error naming the code.
_ERRORS: Final[dict[int, type[p11err.PKCS11Error]]] = {
    0x005: p11err.GeneralError,
    0x006: p11err.FunctionFailed,
    0x030: p11err.DeviceError,
    0x031: p11err.DeviceMemory,
    0x032: p11err.DeviceRemoved,
    0x0A0: p11err.PinIncorrect,
    0x0A1: p11err.PinInvalid,
    0x0A2: p11err.PinLenRange,
    0x0A3: p11err.PinExpired,
    0x0A4: p11err.PinLocked,
    0x0B0: p11err.SessionClosed,
    0x0B1: p11err.SessionCount,
    0x0B3: p11err.SessionHandleInvalid,
    0x0B5: p11err.SessionReadOnly,
    0x0B6: p11err.SessionExists,
    0x0B7: p11err.SessionReadOnlyExists,
    0x0B8: p11err.SessionReadWriteSOExists,
    0x0E0: p11err.TokenNotPresent,
    0x0E1: p11err.TokenNotRecognised,
    0x0E2: p11err.TokenWriteProtected,
    0x100: p11err.UserAlreadyLoggedIn,
    0x101: p11err.UserNotLoggedIn,
    0x102: p11err.UserPinNotInitialized,
    0x104: p11err.AnotherUserAlreadyLoggedIn,
    0x105: p11err.UserTooManyTypes,
}


class CK_VERSION(ctypes.Structure):
    _fields_ = (("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte))


# CK_FUNCTION_LIST up to the last entry used here, in the order of PKCS#11 v2.40 section 5.16.
_FUNCTION_NAMES: Final = (
    "C_Initialize",
    "C_Finalize",
    "C_GetInfo",
    "C_GetFunctionList",
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_GetMechanismList",
    "C_GetMechanismInfo",
    "C_InitToken",
    "C_InitPIN",
    "C_SetPIN",
    "C_OpenSession",
    "C_CloseSession",
    "C_CloseAllSessions",
    "C_GetSessionInfo",
    "C_GetOperationState",
    "C_SetOperationState",
    "C_Login",
    "C_Logout",
)


class CK_FUNCTION_LIST(ctypes.Structure):
    _fields_ = (("version", CK_VERSION), *((name, ctypes.c_void_p) for name in _FUNCTION_NAMES))


class CK_SESSION_INFO(ctypes.Structure):
    _fields_ = (
        ("slotID", CK_ULONG),
        ("state", CK_ULONG),
        ("flags", CK_ULONG),
        ("ulDeviceError", CK_ULONG),
    )


_C_InitToken = ctypes.CFUNCTYPE(CK_RV, CK_ULONG, ctypes.c_char_p, CK_ULONG, ctypes.c_char_p)
_C_CloseAllSessions = ctypes.CFUNCTYPE(CK_RV, CK_ULONG)
_C_GetSessionInfo = ctypes.CFUNCTYPE(CK_RV, CK_ULONG, ctypes.POINTER(CK_SESSION_INFO))
_C_Login = ctypes.CFUNCTYPE(CK_RV, CK_ULONG, CK_ULONG, ctypes.c_char_p, CK_ULONG)
_C_Logout = ctypes.CFUNCTYPE(CK_RV, CK_ULONG)

_FUNCTION_LISTS: Final[dict[str, CK_FUNCTION_LIST]] = {}


def _functions(module_path: str) -> CK_FUNCTION_LIST:
    with PKCS11_LOCK:
        if module_path not in _FUNCTION_LISTS:
            module = ctypes.CDLL(module_path)
            pointer = ctypes.POINTER(CK_FUNCTION_LIST)()
            _check(module.C_GetFunctionList(ctypes.byref(pointer)))
            _FUNCTION_LISTS[module_path] = pointer.contents
        return _FUNCTION_LISTS[module_path]


def _check(rv: int) -> None:
    if rv != CKR_OK:
        kind = _ERRORS.get(rv)
        raise kind() if kind is not None else p11err.PKCS11Error(f"CKR 0x{rv:08X}")


def padded_label(label: str) -> bytes:
    """A token label as C_InitToken takes it: UTF-8, padded with spaces to 32 bytes."""
    raw = label.encode("utf-8")
    if len(raw) > TOKEN_LABEL_BYTES:
        raise ValueError("a token label has at most 32 bytes")
    return raw.ljust(TOKEN_LABEL_BYTES, b" ")


def init_token(module_path: str, slot_id: int, so_pin: str, label: str) -> None:
    """C_InitToken: erase the token in ``slot_id``, label it ``label`` (no session may be open)."""
    pin = so_pin.encode("utf-8")
    function = _C_InitToken(_functions(module_path).C_InitToken)
    with PKCS11_LOCK:
        _check(function(slot_id, pin, len(pin), padded_label(label)))


def close_all_sessions(module_path: str, slot_id: int) -> None:
    """C_CloseAllSessions for ``slot_id`` (this process's sessions; the login ends with them)."""
    function = _C_CloseAllSessions(_functions(module_path).C_CloseAllSessions)
    with PKCS11_LOCK:
        _check(function(slot_id))


def login(module_path: str, session_handle: int, user_type: int, pin: str) -> None:
    """C_Login on an open session as ``CKU_USER`` or ``CKU_SO``."""
    data = pin.encode("utf-8")
    function = _C_Login(_functions(module_path).C_Login)
    with PKCS11_LOCK:
        _check(function(session_handle, user_type, data, len(data)))


def logout(module_path: str, session_handle: int) -> None:
    """C_Logout: end the login of this application on the session's token."""
    function = _C_Logout(_functions(module_path).C_Logout)
    with PKCS11_LOCK:
        _check(function(session_handle))


def session_is_open(module_path: str, session_handle: int) -> bool:
    """Does ``session_handle`` name an open session (C_GetSessionInfo answers for it)?"""
    function = _C_GetSessionInfo(_functions(module_path).C_GetSessionInfo)
    info = CK_SESSION_INFO()
    with PKCS11_LOCK:
        rv = function(session_handle, ctypes.byref(info))
    if rv == CKR_SESSION_HANDLE_INVALID:
        return False
    _check(rv)
    return True
