"""Each preflight check on fake /sys, /proc, /etc and /run trees: pass and fail, exact details."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealroom.ceremony.fingerprint import fingerprint_from_hex
from sealroom.ceremony.ports import PrinterCheck
from sealroom.ceremony.preflight import CHECK_IDS, MaterialRef
from sealroom.errors import PrinterError
from sealroom.preflight.checks import SystemPreflight, printer_result, require_known_checks
from sealroom.preflight.clock import clock_result
from sealroom.preflight.devices import devices_result
from sealroom.preflight.errors import PreflightError
from sealroom.preflight.hsm import hsm_result
from sealroom.preflight.image import image_result
from sealroom.preflight.manifest import manifest_bytes, software_manifest
from sealroom.preflight.software import software_result
from sealroom.preflight.system import SystemView

ROOT_HASH = "5d" * 32
NOW = datetime(2027, 1, 15, 9, 0, 5, tzinfo=UTC)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ------------------------------------------------------------------------------------- image


def _image_tree(root: Path, *, cmdline_hash: str = ROOT_HASH, medium_hash: str = ROOT_HASH) -> None:
    _write(
        root / "etc/sealroom/image.json",
        json.dumps(
            {
                "format": "sealroom-image/1",
                "image_version": "2027.1",
                "commit": "0123456789abcdef0123",
                "source_date_epoch": 1800000000,
                "packages_lock_sha256": "ee" * 32,
            }
        ),
    )
    _write(
        root / "proc/cmdline",
        f"boot=live dm-verity-root-hash=filesystem.squashfs:{cmdline_hash} "
        "dm-verity-oncorruption=panic quiet\n",
    )
    _write(
        root / "run/live/medium/live/sealroom-medium.json",
        json.dumps(
            {"format": "sealroom-medium/1", "verity_root_hash": medium_hash, "iso_sha256": ""}
        ),
    )
    _write(root / "sys/block/dm-0/dm/uuid", "CRYPT-VERITY-9f2c-live\n")


def test_image_passes_with_matching_hash_and_an_active_verity_device(tmp_path: Path) -> None:
    _image_tree(tmp_path)
    result = image_result(SystemView.under(tmp_path))
    words = fingerprint_from_hex(ROOT_HASH).words
    assert result.passed
    assert result.detail == (
        f"Sealroom image 2027.1 (commit 0123456789ab); dm-verity root hash {ROOT_HASH} "
        f"({words}); compare with the published hash"
    )
    assert result.facts["verity_devices"] == ("dm-0",)


def test_image_off_the_image_says_so(tmp_path: Path) -> None:
    result = image_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == (
        f"not booted from a Sealroom image: {tmp_path}/etc/sealroom/image.json is missing"
    )


def test_image_without_a_verity_root_hash_on_the_command_line(tmp_path: Path) -> None:
    _image_tree(tmp_path)
    _write(tmp_path / "proc/cmdline", "boot=live quiet\n")
    result = image_result(SystemView.under(tmp_path))
    assert result.detail == (
        "not booted from a Sealroom image: /proc/cmdline has no "
        "dm-verity-root-hash=filesystem.squashfs:<hash>"
    )


def test_image_with_another_root_hash_names_both(tmp_path: Path) -> None:
    other = "a1" * 32
    _image_tree(tmp_path, cmdline_hash=other)
    result = image_result(SystemView.under(tmp_path))
    assert not result.passed
    assert result.detail == (
        f"the dm-verity root hash on /proc/cmdline ({other}) is not the one in "
        f"{tmp_path}/run/live/medium/live/sealroom-medium.json ({ROOT_HASH})"
    )


def test_image_without_an_active_verity_device_fails(tmp_path: Path) -> None:
    _image_tree(tmp_path)
    (tmp_path / "sys/block/dm-0/dm/uuid").write_text("LVM-abc\n")
    result = image_result(SystemView.under(tmp_path))
    assert result.detail == (
        f"the command line names root hash {ROOT_HASH}, but no dm-verity device is active"
    )


# ---------------------------------------------------------------------------------- software


def _package(root: Path, text: str) -> Path:
    """A stand-in Sealroom package folder (software_sha256 hashes whatever folder it is given)."""
    package = root / "pkg"
    _write(package / "__init__.py", text)
    return package


def _site(root: Path, body: str = "VALUE = 1\n") -> Path:
    """A fake site-packages with one distribution 'demo' whose RECORD lists demo.py."""
    site = root / "site"
    _write(site / "demo.py", body)
    _write(
        site / "demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    )
    _write(site / "demo-1.0.dist-info/RECORD", "demo.py,,\ndemo-1.0.dist-info/METADATA,,\n")
    return site


def _manifest(root: Path, site: Path, package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sealroom.preflight.manifest as manifest

    monkeypatch.setattr(manifest, "software_sha256", lambda: _sha_of(package))
    _write(
        root / "etc/sealroom/software.json",
        manifest_bytes(software_manifest([str(site)])).decode(),
    )


def _sha_of(package: Path) -> str:
    from sealroom.software import software_sha256

    return software_sha256(package)


def test_software_passes_when_every_file_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, package = _site(tmp_path), _package(tmp_path, "# sealroom\n")
    _manifest(tmp_path, site, package, monkeypatch)
    result = software_result(SystemView.under(tmp_path), paths=[str(site)], sealroom_root=package)
    assert result.passed, result.detail
    assert result.detail == (
        f"Sealroom {_sha_of(package)} and 1 distributions (2 files) match "
        f"{tmp_path}/etc/sealroom/software.json"
    )


def test_software_names_a_changed_dependency_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, package = _site(tmp_path), _package(tmp_path, "# sealroom\n")
    _manifest(tmp_path, site, package, monkeypatch)
    (site / "demo.py").write_text("VALUE = 2\n")
    result = software_result(SystemView.under(tmp_path), paths=[str(site)], sealroom_root=package)
    assert not result.passed
    assert result.detail == "1 file(s) differ from the manifest: demo.py"


def test_software_names_a_changed_sealroom_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, package = _site(tmp_path), _package(tmp_path, "# sealroom\n")
    _manifest(tmp_path, site, package, monkeypatch)
    expected = _sha_of(package)
    (package / "__init__.py").write_text("# patched\n")
    result = software_result(SystemView.under(tmp_path), paths=[str(site)], sealroom_root=package)
    assert result.detail == (
        f"the Sealroom package hashes to {_sha_of(package)}, the manifest says {expected}"
    )


def test_software_names_an_added_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, package = _site(tmp_path), _package(tmp_path, "# sealroom\n")
    _manifest(tmp_path, site, package, monkeypatch)
    _write(
        site / "extra-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: extra\nVersion: 2.0\n"
    )
    _write(site / "extra-2.0.dist-info/RECORD", "")
    result = software_result(SystemView.under(tmp_path), paths=[str(site)], sealroom_root=package)
    assert result.detail == "distribution not in the manifest: extra"


def test_software_without_a_manifest(tmp_path: Path) -> None:
    package = _package(tmp_path, "# sealroom\n")
    result = software_result(SystemView.under(tmp_path), paths=[], sealroom_root=package)
    assert not result.passed
    assert result.detail == (
        f"no software manifest at {tmp_path}/etc/sealroom/software.json (not booted from a "
        f"Sealroom image); Sealroom here is SHA-256 {_sha_of(package)}"
    )


# ----------------------------------------------------------------------------------- devices

MATERIALS = (
    MaterialRef("hsm", "hsm", "ExampleHSM 9000 (PCIe)", "HSM-0001"),
    MaterialRef("media-a", "media", "SanDisk Cruzer Blade 32GB", "MED-0101"),
)


def _usb(root: Path, name: str, vendor: str, model: str, klass: str = "00", **text: str) -> None:
    folder = root / "sys/bus/usb/devices" / name
    _write(folder / "idVendor", vendor)
    _write(folder / "idProduct", model)
    _write(folder / "bDeviceClass", klass)
    for key, value in text.items():
        _write(folder / key, value)


def _devices_tree(root: Path) -> None:
    _usb(root, "usb1", "1d6b", "0002", "09", product="EHCI Host Controller")
    _usb(root, "1-1", "0781", "5567", manufacturer="SanDisk", product="Cruzer Blade", serial="4C53")
    _write(root / "sys/bus/usb/devices/1-1:1.0/bInterfaceClass", "08")
    _write(root / "sys/block/loop0/removable", "0")
    _write(root / "sys/block/sda/device/vendor", "SanDisk")
    _write(root / "sys/block/sda/device/model", "Cruzer Blade")
    _write(root / "sys/block/sda/removable", "1")
    _write(root / "sys/bus/pci/devices/0000:00:00.0/class", "0x060000")
    _write(root / "sys/bus/pci/devices/0000:00:00.0/vendor", "0x8086")
    _write(root / "sys/bus/pci/devices/0000:00:00.0/device", "0x1237")


def test_devices_matching_materials_pass(tmp_path: Path) -> None:
    _devices_tree(tmp_path)
    result = devices_result(SystemView.under(tmp_path), MATERIALS)
    assert result.passed, result.detail
    assert result.detail == (
        "2 USB, 1 block and 1 PCI devices; every one is infrastructure or a scripted material "
        "(2 matched)"
    )
    assert result.facts["matched"] == (
        "usb 1-1 is material media-a",
        "block sda is material media-a",
    )


def test_an_unexpected_usb_device_is_flagged(tmp_path: Path) -> None:
    _devices_tree(tmp_path)
    _usb(tmp_path, "1-2", "046d", "c31c", manufacturer="Logitech", product="USB Keyboard")
    result = devices_result(SystemView.under(tmp_path), MATERIALS)
    assert not result.passed
    assert result.detail == (
        "3 USB, 1 block and 1 PCI devices; not among the script's materials: "
        "usb 1-2 046d:c31c Logitech USB Keyboard"
    )


def test_a_device_matches_a_material_by_serial(tmp_path: Path) -> None:
    _usb(tmp_path, "1-3", "1234", "0001", product="Token", serial="HSM-0001")
    result = devices_result(SystemView.under(tmp_path), MATERIALS)
    assert result.passed
    assert result.facts["matched"] == ("usb 1-3 is material hsm",)


def test_a_pci_network_controller_is_always_flagged(tmp_path: Path) -> None:
    _write(tmp_path / "sys/bus/pci/devices/0000:00:03.0/class", "0x020000")
    _write(tmp_path / "sys/bus/pci/devices/0000:00:03.0/vendor", "0x8086")
    _write(tmp_path / "sys/bus/pci/devices/0000:00:03.0/device", "0x100e")
    result = devices_result(SystemView.under(tmp_path), MATERIALS)
    assert result.detail == (
        "0 USB, 0 block and 1 PCI devices; not among the script's materials: "
        "pci 0000:00:03.0 8086:100e class 0x020000 (network controller)"
    )


def test_without_a_script_devices_are_listed_not_compared(tmp_path: Path) -> None:
    _devices_tree(tmp_path)
    result = devices_result(SystemView.under(tmp_path), None)
    assert result.passed
    assert result.detail == (
        "2 USB, 1 block and 1 PCI devices; no script given, so none compared with materials"
    )
    assert result.facts["block"] == ("block sda sda SanDisk Cruzer Blade (removable)",)


# ------------------------------------------------------------------------------------- clock


def test_clock_shows_the_rtc_and_the_system_time(tmp_path: Path) -> None:
    _write(tmp_path / "sys/class/rtc/rtc0/since_epoch", str(int(NOW.timestamp()) - 3))
    result = clock_result(SystemView.under(tmp_path), lambda: NOW)
    assert result.passed
    assert result.detail == (
        "system clock 2027-01-15T09:00:05Z UTC, hardware clock rtc0 2027-01-15T09:00:02Z UTC "
        "(system minus RTC +3 s); compare with a reference clock"
    )
    assert result.facts["system_minus_rtc_seconds"] == "3"


def test_clock_without_an_rtc_still_shows_the_system_time(tmp_path: Path) -> None:
    result = clock_result(SystemView.under(tmp_path), lambda: NOW)
    assert result.passed
    assert result.detail == (
        "system clock 2027-01-15T09:00:05Z UTC; no hardware clock (RTC) found under "
        f"{tmp_path}/sys/class/rtc; compare with a reference clock"
    )


# ------------------------------------------------------------------------- printer and hsm


class _Printer:
    def __init__(self, error: str | None = None) -> None:
        self.error = error

    def check(self) -> PrinterCheck:
        if self.error:
            raise PrinterError(self.error)
        return PrinterCheck("ceremony-laser", "HP LaserJet M404", "ipp://localhost/printers/x")

    def print_document(self, title: str, pdf: bytes) -> object:
        raise AssertionError("preflight never prints")


def test_printer_passes_with_the_queue_named() -> None:
    result = printer_result(_Printer())  # type: ignore[arg-type]
    assert result.passed
    assert result.detail == (
        "ceremony-laser (HP LaserJet M404) accepts jobs at ipp://localhost/printers/x"
    )


def test_printer_failure_is_the_adapters_sentence() -> None:
    result = printer_result(_Printer("The printer 'x' is not accepting jobs."))  # type: ignore[arg-type]
    assert not result.passed
    assert result.detail == "The printer 'x' is not accepting jobs."


def test_hsm_without_a_module_says_what_to_give() -> None:
    result = hsm_result(None, None)
    assert result.detail == (
        "no PKCS#11 module named: give --module PATH and --token LABEL (or --rehearsal for "
        "SoftHSM2)"
    )


def test_hsm_with_a_missing_module_file(tmp_path: Path) -> None:
    result = hsm_result(str(tmp_path / "libnone.so"), "root")
    assert not result.passed
    assert result.detail == f"the PKCS#11 module {tmp_path}/libnone.so does not exist"


# ---------------------------------------------------------------------------------- adapter


def test_unknown_check_is_refused_listing_the_ids() -> None:
    with pytest.raises(PreflightError) as caught:
        require_known_checks(["network", "wifi"])
    assert caught.value.message == (
        "Unknown preflight check 'wifi'; the checks are: network, image, software, devices, "
        "clock, evidence, printer, hsm."
    )


def test_the_adapter_runs_the_asked_checks_in_order(tmp_path: Path) -> None:
    _write(tmp_path / "sys/class/net/lo/flags", "0x9")
    port = SystemPreflight(view=SystemView.under(tmp_path), now=lambda: NOW)
    results = port.run_checks(["clock", "network"])
    assert [(r.check, r.passed) for r in results] == [("clock", True), ("network", True)]
    assert [r.check for r in port.results(None, materials=None)] == list(CHECK_IDS)
