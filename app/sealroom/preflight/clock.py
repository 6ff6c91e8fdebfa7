"""The clock check: the hardware clock (RTC) and the system clock in UTC, shown side by side."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sealroom.ceremony.preflight import CheckResult
from sealroom.preflight.system import SystemView


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rtc_time(view: SystemView) -> tuple[str, datetime | None]:
    """The first RTC's name and time (from ``since_epoch``, seconds of UTC), or None."""
    base = view.sys / "class" / "rtc"
    for name in view.entries(base):
        seconds = view.read_text(base / name / "since_epoch")
        if seconds is not None and seconds.isdigit():
            return name, datetime.fromtimestamp(int(seconds), UTC)
    return "", None


def clock_result(view: SystemView, now: Callable[[], datetime]) -> CheckResult:
    """PASS with both times shown.

    The room compares them with a reference clock and enters the offset at the script's
    clock-offset entry step (the engine's clock mechanism).
    """
    system = now()
    name, rtc = rtc_time(view)
    facts: dict[str, str | tuple[str, ...]] = {"system_utc": _text(system)}
    if rtc is None:
        facts["rtc"] = ""
        return CheckResult(
            "clock",
            True,
            f"system clock {_text(system)} UTC; no hardware clock (RTC) found under "
            f"{view.sys / 'class' / 'rtc'}; compare with a reference clock",
            facts,
        )
    difference = int((system - rtc).total_seconds())
    facts.update({"rtc": name, "rtc_utc": _text(rtc), "system_minus_rtc_seconds": str(difference)})
    return CheckResult(
        "clock",
        True,
        f"system clock {_text(system)} UTC, hardware clock {name} {_text(rtc)} UTC "
        f"(system minus RTC {difference:+d} s); compare with a reference clock",
        facts,
    )
