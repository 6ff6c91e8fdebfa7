"""The image boot-test harness (image/boottest.py): console, stop lines, verdicts, tampering."""

from __future__ import annotations

import importlib.util
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_harness():
    spec = importlib.util.spec_from_file_location("boottest", ROOT / "image" / "boottest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["boottest"] = module
    spec.loader.exec_module(module)
    return module


bt = _load_harness()

SPECIAL = ("net.nics-unbound", "usb.policy")
GOOD_CHECKS = [f"PASS {cid}: ok" for cid in bt.REQUIRED_CHECKS if cid not in SPECIAL]


def _console(lines, stop="summary", seconds=1.0):
    return bt.Console(tuple(lines), stop, seconds)


def _good_lines(mode="bios"):
    return [
        "[    3.1] random kernel noise",
        f"PASS boot.mode: {mode}",
        "PASS net.nics-unbound: 2 network controllers present, none bound to a driver",
        "PASS usb.policy: 3 USB devices allowed, 1 blocked, each by its interface classes",
        *GOOD_CHECKS,
        f"selftest: {len(GOOD_CHECKS) + 3} passed, 0 failed",
    ]


def test_clean_line_drops_escapes_and_carriage_returns():
    raw = b"\x1b[0;32mPASS net.only-lo: interfaces: lo\x1b[0m\r\n"
    assert bt.clean_line(raw) == "PASS net.only-lo: interfaces: lo"


def test_stop_lines_are_the_summary_a_panic_and_access_denied():
    assert bt.stop_reason("selftest: 40 passed, 0 failed") == "summary"
    assert (
        bt.stop_reason("[ 37.2] Kernel panic - not syncing: dm-verity device corrupted") == "panic"
    )
    assert bt.stop_reason("BdsDxe: failed to load Boot0001: Access Denied") == "access-denied"
    assert bt.stop_reason("watchdog: BUG: soft lockup - CPU#0 stuck for 26s!") is None
    assert bt.stop_reason("selftest: started 2026-01-01") is None


def test_a_good_selftest_passes_with_its_mode():
    verdict = bt.judge_selftest("bios", _console(_good_lines()), "bios")
    assert verdict.ok, verdict.detail
    assert verdict.detail.startswith(f"{len(GOOD_CHECKS) + 3} passed, 0 failed")


def test_one_failed_check_fails_the_boot_and_is_named():
    lines = _good_lines()
    lines.insert(2, "FAIL apparmor.no-network: socket(AF_INET) under the sealroom profile: opened")
    lines[-1] = "selftest: 18 passed, 1 failed"
    verdict = bt.judge_selftest("bios", _console(lines), "bios")
    assert not verdict.ok
    assert "FAIL apparmor.no-network" in verdict.detail


def test_a_required_check_that_is_not_reported_fails_the_boot():
    lines = [line for line in _good_lines() if "app.rehearsal" not in line]
    verdict = bt.judge_selftest("bios", _console(lines), "bios")
    assert not verdict.ok
    assert "not reported: app.rehearsal" in verdict.detail


def test_secure_boot_must_be_reported_on():
    verdict = bt.judge_selftest(
        "secureboot", _console(_good_lines("uefi secure-boot=off")), "uefi secure-boot=on"
    )
    assert not verdict.ok
    assert "expected 'uefi secure-boot=on'" in verdict.detail


def test_both_attached_nics_must_be_seen_unbound():
    lines = [
        line.replace("2 network controllers", "0 network controllers") for line in _good_lines()
    ]
    verdict = bt.judge_selftest("bios", _console(lines), "bios")
    assert not verdict.ok
    assert "2 attached NICs" in verdict.detail


def test_the_usb_network_adapter_must_be_seen_blocked():
    lines = [line.replace("1 blocked", "0 blocked") for line in _good_lines()]
    verdict = bt.judge_selftest("bios", _console(lines), "bios")
    assert not verdict.ok
    assert "USB network adapter" in verdict.detail


def test_no_summary_is_a_failure_that_quotes_the_panic():
    lines = ["Kernel panic - not syncing: VFS: Unable to mount root fs"]
    verdict = bt.judge_selftest("bios", _console(lines, stop="panic"), "bios")
    assert not verdict.ok
    assert "Unable to mount root fs" in verdict.detail


def test_tampered_image_passes_only_on_a_panic_before_the_selftest():
    panic = ["device-mapper: verity: 7:0: data block 0 is corrupted", "Kernel panic - not syncing"]
    assert bt.judge_tampered(_console(panic, stop="panic")).ok
    assert "verity" in bt.judge_tampered(_console(panic, stop="panic")).detail
    assert not bt.judge_tampered(_console(_good_lines(), stop="summary")).ok
    assert not bt.judge_tampered(_console(["booting..."], stop="timeout")).ok


def test_unsigned_grub_passes_only_on_access_denied():
    assert bt.judge_unsigned(_console(["Access Denied"], stop="access-denied")).ok
    assert not bt.judge_unsigned(_console(["Welcome to GRUB"], stop="timeout")).ok


def test_flip_squashfs_byte_changes_exactly_one_byte_inside_the_squashfs(tmp_path):
    squashfs = random.Random(8).randbytes(100 * 1024)  # noqa: S311 - test data, not a secret
    iso = tmp_path / "in.iso"
    iso.write_bytes(b"\0" * 8192 + squashfs + b"\0" * 4096)
    out = tmp_path / "out.iso"
    where = bt.flip_squashfs_byte(iso, squashfs, out)
    before, after = iso.read_bytes(), out.read_bytes()
    assert len(before) == len(after)
    diff = [i for i in range(len(before)) if before[i] != after[i]]
    assert diff == [where]
    assert 8192 <= where < 8192 + 4096


def test_flip_squashfs_byte_refuses_an_iso_without_the_squashfs(tmp_path):
    iso = tmp_path / "in.iso"
    iso.write_bytes(b"\0" * 65536)
    with pytest.raises(bt.BootTestError, match="not found"):
        bt.flip_squashfs_byte(iso, bytes(range(256)) * 300, tmp_path / "out.iso")


def _fake_qemu(tmp_path, body):
    script = tmp_path / "fake-qemu.py"
    script.write_text(textwrap.dedent(body))
    return [sys.executable, str(script)]


def test_read_console_stops_at_the_summary_and_ends_the_process(tmp_path):
    argv = _fake_qemu(
        tmp_path,
        """
        import sys, time
        print("\\x1b[1mSeaBIOS\\x1b[0m\\r", flush=True)
        print("PASS net.only-lo: interfaces: lo", flush=True)
        print("selftest: 1 passed, 0 failed", flush=True)
        time.sleep(120)
        """,
    )
    log = tmp_path / "console.log"
    console = bt.read_console(argv, timeout=60, log=log)
    assert console.stop == "summary"
    assert console.lines == (
        "SeaBIOS",
        "PASS net.only-lo: interfaces: lo",
        "selftest: 1 passed, 0 failed",
    )
    assert console.seconds < 60  # it did not wait for the sleeping process
    assert "selftest: 1 passed, 0 failed" in log.read_text()


def test_read_console_reads_on_after_a_panic_for_its_reason(tmp_path):
    argv = _fake_qemu(
        tmp_path,
        """
        import time
        print("Kernel panic - not syncing: dm-verity", flush=True)
        print("---[ end Kernel panic ]---", flush=True)
        time.sleep(120)
        """,
    )
    console = bt.read_console(argv, timeout=60, log=tmp_path / "c.log", after_panic=1.0)
    assert console.stop == "panic"
    assert console.lines[-1] == "---[ end Kernel panic ]---"


def test_read_console_times_out_on_silence(tmp_path):
    argv = _fake_qemu(tmp_path, "import time\nprint('booting', flush=True)\ntime.sleep(120)\n")
    console = bt.read_console(argv, timeout=2, log=tmp_path / "c.log")
    assert console.stop == "timeout"
    assert console.lines == ("booting",)


def test_read_console_notices_the_process_ending(tmp_path):
    argv = _fake_qemu(tmp_path, "print('qemu: could not load PC BIOS', flush=True)\n")
    console = bt.read_console(argv, timeout=30, log=tmp_path / "c.log")
    assert console.stop == "exited"


@pytest.mark.skipif(
    shutil.which("mformat") is None, reason="mtools is installed by make test and make image-test"
)
def test_the_marker_disk_is_a_fat_image_labelled_srselftest(tmp_path):
    args = bt.marker_disk(tmp_path / "marker.img")
    assert args[-1].endswith("if=virtio,readonly=on")
    label = subprocess.run(
        ["mlabel", "-s", "-i", str(tmp_path / "marker.img"), "::"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "SRSELFTEST" in label


def test_qemu_never_uses_kvm_and_isolates_both_nics():
    argv = bt.qemu_base()
    assert "kvm" not in " ".join(argv)
    assert argv[argv.index("-accel") + 1].startswith("tcg")
    nics = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-nic"]
    assert len(nics) == 2
    assert all("restrict=on" in nic for nic in nics)
    netdevs = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-netdev"]
    assert netdevs == ["user,id=usbnet,restrict=on"]


needs_fat_tools = pytest.mark.skipif(
    shutil.which("mkfs.vfat") is None or shutil.which("mcopy") is None,
    reason="dosfstools and mtools are installed by make test and make image-test",
)


def _mlabel(image: Path) -> str:
    return subprocess.run(
        ["mlabel", "-s", "-i", str(image), "::"], capture_output=True, text=True, check=True
    ).stdout


@needs_fat_tools
def test_the_evidence_disks_are_a_fat32_srlevidence_medium_and_another_label(tmp_path):
    medium, args = bt.evidence_disks(tmp_path)
    drives = [args[i + 1] for i, arg in enumerate(args) if arg == "-drive"]
    assert drives == [
        f"file={medium},format=raw,if=virtio",
        f"file={tmp_path / 'other.img'},format=raw,if=virtio",
    ]
    assert medium.stat().st_size == bt.EVIDENCE_MB * 1024 * 1024
    assert "SRLEVIDENCE" in _mlabel(medium)
    assert "OTHERSTICK" in _mlabel(tmp_path / "other.img")
    info = subprocess.run(
        ["minfo", "-i", str(medium), "::"], capture_output=True, text=True, check=True
    ).stdout
    assert "FAT32" in info or "fat32" in info.lower()


@pytest.fixture(scope="module")
def rehearsed(root_rehearsal: Path) -> Path:
    """A real root key generation rehearsal's output folder (bundle and journal)."""
    return root_rehearsal


def _onto_medium(medium: Path, folder: Path) -> None:
    subprocess.run(
        ["mcopy", "-s", "-i", str(medium), str(folder), "::/"], check=True, capture_output=True
    )


@needs_fat_tools
def test_the_medium_read_after_power_off_verifies_the_rehearsal(tmp_path, rehearsed):
    medium, _ = bt.evidence_disks(tmp_path)
    _onto_medium(medium, rehearsed)

    verdict = bt.read_evidence(medium, tmp_path / "copied")

    assert verdict.ok, verdict.detail
    assert "read after power-off with mcopy: selftest-rehearsal-20270115T090000Z" in verdict.detail
    assert "bundle verified" in verdict.detail
    copied = tmp_path / "copied" / rehearsed.name / "journal.jsonl"
    assert copied.read_bytes() == (rehearsed / "journal.jsonl").read_bytes()


@needs_fat_tools
def test_a_tampered_bundle_on_the_medium_fails(tmp_path, rehearsed):
    changed = tmp_path / "changed" / rehearsed.name
    shutil.copytree(rehearsed, changed)
    journal = changed / "bundle" / "journal.jsonl"
    journal.write_bytes(journal.read_bytes().replace(b"EXR-RKG", b"EXR-RKH", 1))
    medium, _ = bt.evidence_disks(tmp_path)
    _onto_medium(medium, changed)

    verdict = bt.read_evidence(medium, tmp_path / "copied")

    assert not verdict.ok
    assert "sealroom verify exit" in verdict.detail


@needs_fat_tools
def test_an_empty_medium_fails_naming_what_it_holds(tmp_path):
    medium, _ = bt.evidence_disks(tmp_path)

    verdict = bt.read_evidence(medium, tmp_path / "copied")

    assert not verdict.ok
    assert verdict.detail == "no selftest-rehearsal-*/bundle on the medium (found: nothing)"


def test_a_good_boot_fails_when_its_evidence_does_not_verify():
    good = bt.Verdict("bios", True, "45 passed, 0 failed (bios)", 200.0)
    bad = bt.Verdict("evidence", False, "sealroom verify exit 1: manifest mismatch", 1.0)

    verdict = bt.judge_with_evidence(good, bad)

    assert not verdict.ok
    assert verdict.detail == "evidence medium: sealroom verify exit 1: manifest mismatch"
    assert bt.judge_with_evidence(good, bt.Verdict("evidence", True, "read", 1.0)).ok
