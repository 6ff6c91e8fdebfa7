"""image/static-checks.sh on small made-up root filesystems: each check sees what it names."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "image" / "static-checks.sh"
OVERLAY = ROOT / "image" / "overlay"
KVER = "6.1.0-99-amd64"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _rootfs(tmp_path: Path) -> Path:
    """A root filesystem with the overlay applied and what customize.sh would have done."""
    r = tmp_path / "rootfs"
    shutil.copytree(OVERLAY, r, symlinks=True)
    kernel = r / "lib" / "modules" / KVER / "kernel"
    (kernel / "drivers" / "usb" / "class").mkdir(parents=True)
    (kernel / "drivers" / "usb" / "class" / "usblp.ko").write_bytes(b"")
    for folder, module in (("fat", "fat"), ("fat", "vfat"), ("nls", "nls_cp437")):
        (kernel / "fs" / folder).mkdir(parents=True, exist_ok=True)
        (kernel / "fs" / folder / f"{module}.ko.xz").write_bytes(b"")
    (r / "lib" / "modules" / KVER / "modules.dep").write_text(
        "kernel/drivers/usb/class/usblp.ko:\n"
    )
    system = r / "etc" / "systemd" / "system"
    masked = (
        "ctrl-alt-del.target systemd-timesyncd.service swap.target getty-static.service "
        "getty@tty2.service getty@tty3.service getty@tty4.service getty@tty5.service "
        "getty@tty6.service serial-getty@ttyS0.service dbus.service dbus.socket "
        "usbguard-dbus.service"
    )
    for unit in masked.split():
        (system / unit).symlink_to("/dev/null")
    (system / "default.target").symlink_to("/lib/systemd/system/multi-user.target")
    (r / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "ceremony:x:1000:1000::/home/ceremony:/usr/local/bin/sealroom-kiosk\n"
    )
    (r / "etc" / "shadow").write_text("root:!*:19000:0:99999:7:::\n")
    (r / "etc" / "group").write_text("root:x:0:\nsudo:x:27:\nceremony:x:1000:\n")
    (r / "etc" / "usbguard" / "rules.conf").chmod(0o600)
    return r


def _run(rootfs: Path) -> dict[str, tuple[bool, str]]:
    done = subprocess.run(
        ["bash", str(SCRIPT), "rootfs", str(rootfs)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("static: ")
    results: dict[str, tuple[bool, str]] = {}
    for line in lines[:-1]:
        state, _, rest = line.partition(" ")
        cid, _, detail = rest.partition(": ")
        results[cid] = (state == "PASS", detail)
    failed = sum(not ok for ok, _ in results.values())
    assert lines[-1] == f"static: {len(results) - failed} passed, {failed} failed"
    assert (done.returncode == 0) == (failed == 0)
    return results


def test_the_overlay_as_customized_passes_the_checks_that_need_no_chroot(tmp_path):
    results = _run(_rootfs(tmp_path))
    for cid in (
        "modules.no-network",
        "modules.dep",
        "modules.blocklist",
        "daemons.absent",
        "units.masked",
        "units.default",
        "kiosk.getty-dropin",
        "kiosk.fail-closed",
        "kiosk.user",
        "kiosk.root-locked",
        "kiosk.no-sudo",
        "mem.journal-volatile",
        "mem.coredump",
        "kernel.sysctl",
        "cups.local-only",
        "usb.rules",
        "apparmor.profile",
        "selftest.trigger",
        "image.machine-id",
        "evidence.mount-unit",
        "evidence.trigger",
        "evidence.nothing-else",
        "evidence.modules",
        "evidence.kiosk",
    ):
        assert results[cid][0], f"{cid}: {results[cid][1]}"


def test_a_network_driver_module_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    net = r / "lib" / "modules" / KVER / "kernel" / "drivers" / "net" / "ethernet" / "intel"
    net.mkdir(parents=True)
    (net / "e1000.ko.xz").write_bytes(b"")
    results = _run(r)
    assert not results["modules.no-network"][0]
    assert "1 network" in results["modules.no-network"][1]


def test_an_sshd_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    (r / "usr" / "sbin").mkdir(parents=True, exist_ok=True)
    (r / "usr" / "sbin" / "sshd").write_bytes(b"")
    results = _run(r)
    assert not results["daemons.absent"][0]
    assert "usr/sbin/sshd" in results["daemons.absent"][1]


def test_an_unmasked_getty_static_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    (r / "etc" / "systemd" / "system" / "getty-static.service").unlink()
    results = _run(r)
    assert not results["units.masked"][0]
    assert "getty-static.service" in results["units.masked"][1]


def test_cups_on_a_tcp_port_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    conf = r / "etc" / "cups" / "cupsd.conf"
    conf.write_text(conf.read_text().replace("Listen /run/cups/cups.sock", "Listen localhost:631"))
    assert not _run(r)["cups.local-only"][0]


def test_an_unlocked_root_and_a_world_readable_usb_policy_fail_the_image(tmp_path):
    r = _rootfs(tmp_path)
    (r / "etc" / "shadow").write_text("root:$y$j9T$abc:19000:0:99999:7:::\n")
    (r / "etc" / "usbguard" / "rules.conf").chmod(0o644)
    results = _run(r)
    assert not results["kiosk.root-locked"][0]
    assert not results["usb.rules"][0]


def test_a_kiosk_user_in_the_sudo_group_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    (r / "etc" / "group").write_text("root:x:0:\nsudo:x:27:ceremony\nceremony:x:1000:\n")
    assert not _run(r)["kiosk.no-sudo"][0]


def test_the_evidence_medium_without_noexec_or_sync_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    unit = r / "etc" / "systemd" / "system" / "media-evidence.mount"
    unit.write_text(unit.read_text().replace("noexec,sync,", ""))
    results = _run(r)
    assert not results["evidence.mount-unit"][0]


def test_a_udev_rule_mounting_any_fat_disk_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    rule = r / "etc" / "udev" / "rules.d" / "80-sealroom-evidence.rules"
    rule.write_text(rule.read_text().replace('ENV{ID_FS_LABEL}=="SRLEVIDENCE", ', ""))
    results = _run(r)
    assert not results["evidence.trigger"][0]
    assert "ID_FS_TYPE" in results["evidence.trigger"][1]


def test_another_mount_unit_or_an_fstab_entry_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    (r / "etc" / "systemd" / "system" / "media-usb.mount").write_text("[Mount]\nWhat=/dev/sdc1\n")
    (r / "etc" / "fstab").write_text("# comment\n/dev/sdc1 /mnt vfat rw 0 0\n")
    results = _run(r)
    assert not results["evidence.nothing-else"][0]
    assert "media-usb.mount" in results["evidence.nothing-else"][1]
    assert "/dev/sdc1 /mnt" in results["evidence.nothing-else"][1]


def test_a_kernel_without_vfat_fails_the_image(tmp_path):
    r = _rootfs(tmp_path)
    (r / "lib" / "modules" / KVER / "kernel" / "fs" / "fat" / "vfat.ko.xz").unlink()
    results = _run(r)
    assert not results["evidence.modules"][0]
    assert results["evidence.modules"][1] == "missing: vfat"
