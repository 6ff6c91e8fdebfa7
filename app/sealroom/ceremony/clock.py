"""The system clock, behind the engine's Clock port (certificate validity never comes from here)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """Time for journal entries: the workstation clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
