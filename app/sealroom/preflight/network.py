"""The network check: only loopback exists and is up; no wireless or bluetooth device."""

from __future__ import annotations

from sealroom.ceremony.preflight import CheckResult
from sealroom.preflight.system import SystemView

IFF_UP = 0x1
"""Linux ``IFF_UP`` in /sys/class/net/<if>/flags: the interface is administratively up."""

LOOPBACK = "lo"


def _flags(view: SystemView, name: str) -> int | None:
    text = view.read_text(view.sys / "class" / "net" / name / "flags")
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None


def _state(view: SystemView, name: str) -> str:
    flags = _flags(view, name)
    if flags is None:
        return "state unknown"
    return "up" if flags & IFF_UP else "down"


def network_result(view: SystemView) -> CheckResult:
    """PASS only when /sys/class/net holds ``lo`` alone, ``lo`` is up, and no radio exists.

    Reads /sys only (no root needed). Every other interface fails the check whether it is up or
    down: a driver bound to a NIC is already a path off the machine.
    """
    net = view.sys / "class" / "net"
    interfaces = view.entries(net)
    others = tuple(name for name in interfaces if name != LOOPBACK)
    wireless = tuple(
        name
        for name in interfaces
        if (net / name / "wireless").exists() or (net / name / "phy80211").exists()
    )
    phys = view.entries(view.sys / "class" / "ieee80211")
    bluetooth = view.entries(view.sys / "class" / "bluetooth")
    facts: dict[str, str | tuple[str, ...]] = {
        "interfaces": tuple(f"{name} ({_state(view, name)})" for name in interfaces),
        "wireless": wireless + phys,
        "bluetooth": bluetooth,
    }
    problems: list[str] = []
    if others:
        listed = ", ".join(f"{name} ({_state(view, name)})" for name in others)
        problems.append(
            f"network interface{'s' if len(others) > 1 else ''} other than lo present: {listed}"
        )
    if LOOPBACK not in interfaces:
        problems.append("the loopback interface lo is missing")
    elif not (_flags(view, LOOPBACK) or 0) & IFF_UP:
        problems.append("the loopback interface lo is down")
    if phys or wireless:
        problems.append(f"wireless device present: {', '.join(phys + wireless)}")
    if bluetooth:
        problems.append(f"bluetooth device present: {', '.join(bluetooth)}")
    if problems:
        return CheckResult("network", False, "; ".join(problems), facts)
    return CheckResult(
        "network", True, "only lo is present and up; no wireless or bluetooth device", facts
    )
