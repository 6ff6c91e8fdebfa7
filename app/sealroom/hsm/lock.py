"""The one process-wide lock that serialises every PKCS#11 call (SoftHSM runs without mutexes)."""

from __future__ import annotations

import threading
from typing import Final

PKCS11_LOCK: Final = threading.RLock()
"""Held around every call into the PKCS#11 library, from any thread, for any token.

python-pkcs11 initialises SoftHSM without locking callbacks, so two threads inside the library at
once can corrupt its state (intermittent GeneralError seen with four signing threads). Re-entrant,
so an adapter method that holds it may call another one that takes it too.
"""
