"""The one process-wide lock that serialises every PKCS#11 call (SoftHSM runs without mutexes)."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Final


class Pkcs11Lock:
    """A re-entrant lock that also adds up how long it was held (outermost holds only).

    Every PKCS#11 call runs under it, so the total is the time spent in the PKCS#11 library plus
    the few host-side lines that run under the lock; ``make bench`` reports it.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._since = 0.0
        self._held = 0.0

    def __enter__(self) -> Pkcs11Lock:
        self._lock.acquire()
        if self._depth == 0:
            self._since = time.perf_counter()
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._held += time.perf_counter() - self._since
        self._lock.release()

    @property
    def held_seconds(self) -> float:
        with self._lock:
            return self._held


PKCS11_LOCK: Final = Pkcs11Lock()
"""Held around every call into the PKCS#11 library, from any thread, for any token.

python-pkcs11 initialises SoftHSM without locking callbacks, so two threads inside the library at
once can corrupt its state (intermittent GeneralError seen with four signing threads). Re-entrant,
so an adapter method that holds it may call another one that takes it too.
"""


def pkcs11_seconds() -> float:
    """Total seconds the PKCS#11 lock has been held in this process (for the benchmark)."""
    return PKCS11_LOCK.held_seconds
