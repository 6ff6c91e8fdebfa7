"""The preflight adapter's errors: an unknown check, a manifest that cannot be read or written."""

from __future__ import annotations

from sealroom.errors import SealroomError


class PreflightError(SealroomError):
    """Preflight cannot run as asked (an unknown check id, an unreadable manifest or script)."""
