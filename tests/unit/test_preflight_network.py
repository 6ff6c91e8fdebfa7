"""The network check on fake /sys trees: only lo, up, no radio passes; all else fails."""

from __future__ import annotations

from pathlib import Path

from sealroom.preflight.network import network_result
from sealroom.preflight.system import SystemView


def _iface(root: Path, name: str, flags: str) -> Path:
    folder = root / "sys" / "class" / "net" / name
    folder.mkdir(parents=True)
    (folder / "flags").write_text(flags + "\n")
    return folder


def test_only_loopback_up_passes(tmp_path: Path) -> None:
    _iface(tmp_path, "lo", "0x9")
    result = network_result(SystemView.under(tmp_path))
    assert result.passed
    assert result.detail == "only lo is present and up; no wireless or bluetooth device"
    assert result.facts["interfaces"] == ("lo (up)",)


def test_another_interface_fails_naming_it_and_its_state(tmp_path: Path) -> None:
    _iface(tmp_path, "lo", "0x9")
    _iface(tmp_path, "eth0", "0x1003")
    _iface(tmp_path, "ens4", "0x1002")
    result = network_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == "network interfaces other than lo present: ens4 (down), eth0 (up)"


def test_loopback_down_fails(tmp_path: Path) -> None:
    _iface(tmp_path, "lo", "0x8")
    result = network_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == "the loopback interface lo is down"


def test_missing_loopback_fails(tmp_path: Path) -> None:
    (tmp_path / "sys" / "class" / "net").mkdir(parents=True)
    result = network_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == "the loopback interface lo is missing"


def test_wireless_phy_fails_even_without_an_interface(tmp_path: Path) -> None:
    _iface(tmp_path, "lo", "0x9")
    (tmp_path / "sys" / "class" / "ieee80211" / "phy0").mkdir(parents=True)
    result = network_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == "wireless device present: phy0"


def test_wireless_interface_is_named_as_such(tmp_path: Path) -> None:
    _iface(tmp_path, "lo", "0x9")
    (_iface(tmp_path, "wlan0", "0x1002") / "wireless").mkdir()
    result = network_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == (
        "network interface other than lo present: wlan0 (down); wireless device present: wlan0"
    )


def test_bluetooth_fails(tmp_path: Path) -> None:
    _iface(tmp_path, "lo", "0x9")
    (tmp_path / "sys" / "class" / "bluetooth" / "hci0").mkdir(parents=True)
    result = network_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == "bluetooth device present: hci0"
    assert result.facts["bluetooth"] == ("hci0",)
