"""Boot test of the Sealroom appliance image under qemu TCG, read on its serial console.

Cases (each one a fresh qemu, two NICs attached with ``restrict=on``, never KVM):

* ``bios``: SeaBIOS -> GRUB (sealroom.iso) -> the in-image self-test passes every check.
* ``secureboot``: OVMF with the Secure Boot snakeoil keys enrolled -> the signed UKI
  (sealroom-sb.iso) -> the same self-test, and it reports Secure Boot on.
* ``tampered``: sealroom.iso with one byte of the squashfs flipped -> dm-verity stops the boot
  (kernel panic), the self-test is never reached.
* ``unsigned``: the Secure Boot firmware refuses sealroom.iso's unsigned GRUB ("Access Denied").

The self-test is started inside the image by a disk labelled SRSELFTEST (see
image/overlay/etc/udev/rules.d/90-sealroom-selftest.rules); this harness attaches one. The good
boots also get an evidence medium (a 128 MB FAT32 disk labelled SRLEVIDENCE, which the image
mounts at /media/evidence and the self-test's rehearsal writes to) and a FAT disk with another
label (OTHERSTICK, which must stay unmounted). After qemu has ended, the medium is read on the host
without mounting it (``mcopy -s``) and ``sealroom verify`` checks the rehearsal's bundle from it:
the evidence survived power-off and verifies outside the room.
Prints one line per case, then ``boottest: N passed, M failed``; exit 0 only if all passed.
Run by ``make image-test``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO

IMAGE_DIR = Path(__file__).resolve().parent
OVMF_DIR = Path("/usr/share/OVMF")
SB_CODE = OVMF_DIR / "OVMF_CODE_4M.snakeoil.fd"
SB_VARS = OVMF_DIR / "OVMF_VARS_4M.snakeoil.fd"
MARKER_LABEL = "SRSELFTEST"
EVIDENCE_LABEL = "SRLEVIDENCE"
OTHER_LABEL = "OTHERSTICK"
EVIDENCE_MB = 128
"""Size of the test evidence medium: above the 64 MB the preflight evidence check asks for."""

SUMMARY = re.compile(r"^selftest: (\d+) passed, (\d+) failed\s*$")
CHECK = re.compile(r"^(PASS|FAIL) ([a-z0-9.-]+): (.*)$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>78cDEHM]")
PANIC = "Kernel panic"
ACCESS_DENIED = "Access Denied"

# Checks the self-test must report as passed on every good boot (the list, by id).
REQUIRED_CHECKS = (
    "boot.verity-hash",
    "root.dm-verity",
    "root.tmpfs-upper",
    "net.only-lo",
    "net.nics-unbound",
    "net.no-listeners",
    "net.ipv6-off",
    "app.preflight-network",
    "kiosk.tui-on-tty1",
    "kiosk.only-tty1",
    "kiosk.masks",
    "kiosk.root-locked",
    "usb.usbguard",
    "usb.policy",
    "cups.local-socket",
    "apparmor.tui-confined",
    "apparmor.no-network",
    "app.rehearsal",
    "evidence.mounted",
    "evidence.options",
    "evidence.others-unmounted",
    "evidence.rehearsal-journal",
    "app.preflight-evidence",
    "app.preflight-evidence-tmpfs",
    "kiosk.out-on-evidence",
)


class BootTestError(Exception):
    """Something the harness needs is missing; the sentence says what and where."""


@dataclasses.dataclass(frozen=True)
class Console:
    """What one boot printed on its serial console, and why reading stopped."""

    lines: tuple[str, ...]
    stop: str  # "summary", "panic", "access-denied", "timeout" or "exited"
    seconds: float

    def checks(self) -> dict[str, tuple[bool, str]]:
        found: dict[str, tuple[bool, str]] = {}
        for line in self.lines:
            match = CHECK.match(line)
            if match and found.get(match.group(2), (True, ""))[0]:
                # A check that failed once stays failed, whatever a later line says.
                found[match.group(2)] = (match.group(1) == "PASS", match.group(3))
        return found

    def summary(self) -> tuple[int, int] | None:
        for line in self.lines:
            match = SUMMARY.match(line)
            if match:
                return int(match.group(1)), int(match.group(2))
        return None

    def first(self, needle: str) -> str | None:
        return next((line for line in self.lines if needle in line), None)


def clean_line(raw: bytes) -> str:
    """Decode one serial line, drop terminal escapes and carriage returns."""
    text = raw.decode("utf-8", errors="replace")
    return ANSI.sub("", text).replace("\r", "").rstrip("\n")


def stop_reason(line: str) -> str | None:
    """The reason to stop reading at this line, or None to read on."""
    if SUMMARY.match(line):
        return "summary"
    if PANIC in line:
        return "panic"
    if ACCESS_DENIED in line:
        return "access-denied"
    return None


def read_console(
    argv: Sequence[str],
    timeout: float,
    log: Path,
    *,
    after_panic: float = 3.0,
    on_stop: Callable[[], None] | None = None,
) -> Console:
    """Run qemu, log and keep every serial line, stop at the first stop line or the timeout.

    After a panic line the console is read a few seconds more (the reason follows), then qemu ends.
    ``on_stop`` runs while qemu still runs (the screen capture of tty1).
    """
    start = time.monotonic()
    lines: list[str] = []
    stop = "timeout"
    deadline = start + timeout
    proc = subprocess.Popen(
        list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None  # noqa: S101 - stdout=PIPE above
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    pending = b""
    with log.open("w", encoding="utf-8") as sink:
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if not selector.select(timeout=min(remaining, 1.0)):
                    if proc.poll() is not None:
                        stop = "exited" if stop == "timeout" else stop
                        break
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    stop = "exited" if stop == "timeout" else stop
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for raw in complete:
                    line = clean_line(raw)
                    lines.append(line)
                    sink.write(f"[{time.monotonic() - start:7.1f}] {line}\n")
                    sink.flush()
                    reason = stop_reason(line)
                    if reason is not None and stop == "timeout":
                        stop = reason
                        deadline = (
                            time.monotonic() + after_panic
                            if reason == "panic"
                            else time.monotonic()
                        )
                if stop != "timeout" and time.monotonic() >= deadline:
                    break
        finally:
            selector.close()
            if on_stop is not None and proc.poll() is None:
                on_stop()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if pending:
                lines.append(clean_line(pending))
                sink.write(f"[{time.monotonic() - start:7.1f}] {lines[-1]}\n")
    return Console(tuple(lines), stop, time.monotonic() - start)


def qemu_base(memory_mb: int = 2048) -> list[str]:
    """TCG only (KVM hangs here), two PCI NICs and a USB one (all isolated), serial on stdout."""
    return [
        "qemu-system-x86_64",
        "-accel",
        "tcg,thread=multi",
        "-cpu",
        "max",
        "-smp",
        "2",
        "-m",
        str(memory_mb),
        "-display",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-nic",
        "user,model=e1000,restrict=on",
        "-nic",
        "user,model=virtio-net-pci,restrict=on",
        # USB: a keyboard (HID, allowed by usbguard) and a USB network adapter (CDC, to be blocked).
        "-device",
        "qemu-xhci,id=xhci",
        "-device",
        "usb-kbd,bus=xhci.0",
        "-netdev",
        "user,id=usbnet,restrict=on",
        "-device",
        "usb-net,netdev=usbnet,bus=xhci.0",
    ]


def monitor(sock: Path) -> list[str]:
    """The qemu human monitor on a unix socket, for the screen capture."""
    return ["-monitor", f"unix:{sock},server=on,wait=off"]


def screendump(sock: Path, target: Path) -> Callable[[], None]:
    """Save the VGA screen (tty1, where the kiosk runs) as a PPM file through the monitor."""

    def capture() -> None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(10)
                conn.connect(str(sock))
                conn.sendall(f"screendump {target}\n".encode())
                deadline = time.monotonic() + 10
                while not target.exists() and time.monotonic() < deadline:
                    time.sleep(0.2)
                time.sleep(0.5)
        except OSError as exc:
            say(f"  no screen capture: {exc}")

    return capture


def cdrom(iso: Path) -> list[str]:
    return ["-drive", f"file={iso},media=cdrom,readonly=on"]


def marker_disk(path: Path) -> list[str]:
    """A small FAT disk labelled SRSELFTEST: its presence starts the in-image self-test."""
    subprocess.run(
        ["mformat", "-C", "-f", "1440", "-v", MARKER_LABEL, "-i", str(path), "::"],
        check=True,
        capture_output=True,
    )
    return ["-drive", f"file={path},format=raw,if=virtio,readonly=on"]


def evidence_disks(work: Path) -> tuple[Path, list[str]]:
    """A FAT32 evidence medium labelled SRLEVIDENCE and a FAT disk labelled otherwise (both rw).

    Returns the medium's image file (read after power-off) and the qemu arguments for both.
    """
    medium = work / "evidence.img"
    with medium.open("wb") as handle:
        handle.truncate(EVIDENCE_MB * 1024 * 1024)
    subprocess.run(
        ["mkfs.vfat", "-F", "32", "-n", EVIDENCE_LABEL, str(medium)],
        check=True,
        capture_output=True,
    )
    other = work / "other.img"
    subprocess.run(
        ["mformat", "-C", "-f", "1440", "-v", OTHER_LABEL, "-i", str(other), "::"],
        check=True,
        capture_output=True,
    )
    return medium, [
        "-drive",
        f"file={medium},format=raw,if=virtio",
        "-drive",
        f"file={other},format=raw,if=virtio",
    ]


def host_sealroom() -> Path:
    """The host's own ``sealroom`` (the repository's .venv, else PATH) for ``sealroom verify``."""
    venv = IMAGE_DIR.parent / ".venv" / "bin" / "sealroom"
    if venv.is_file():
        return venv
    found = shutil.which("sealroom")
    if found is None:
        raise BootTestError(
            f"No sealroom on the host to verify the evidence medium: {venv} is missing "
            "(run 'make setup')."
        )
    return Path(found)


def read_evidence(medium: Path, dest: Path) -> Verdict:
    """Copy the medium's files with mtools (never mounted) and verify the rehearsal's bundle."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    copy = subprocess.run(
        ["mcopy", "-s", "-n", "-i", str(medium), "::/", str(dest)],
        check=False,
        capture_output=True,
        text=True,
    )
    if copy.returncode != 0:
        detail = f"mcopy could not read {medium}: {copy.stderr.strip()[:200]}"
        return Verdict("evidence", False, detail, 0.0)
    bundles = sorted(dest.glob("selftest-rehearsal-*/bundle"))
    if not bundles:
        found = ", ".join(sorted(p.name for p in dest.iterdir())) or "nothing"
        return Verdict(
            "evidence", False, f"no selftest-rehearsal-*/bundle on the medium (found: {found})", 0.0
        )
    bundle = bundles[-1]
    start = time.monotonic()
    check = subprocess.run(
        [str(host_sealroom()), "verify", str(bundle)],
        check=False,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - start
    lines = [line for line in check.stdout.splitlines() if "bundle verified" in line]
    if check.returncode != 0 or not lines:
        tail = " ".join((check.stdout + check.stderr).strip().splitlines()[-3:])[:300]
        return Verdict("evidence", False, f"sealroom verify exit {check.returncode}: {tail}", took)
    runs = sorted(p.name for p in dest.iterdir() if p.is_dir())
    journal = bundle.parent / "journal.jsonl"
    detail = (
        f"read after power-off with mcopy: {', '.join(runs)}; {lines[0].strip()[:160]}; "
        f"journal {journal.stat().st_size if journal.is_file() else 0} bytes"
    )
    return Verdict("evidence", True, detail, took)


def judge_with_evidence(verdict: Verdict, evidence: Verdict) -> Verdict:
    """A good boot passes only if its evidence medium, read on the host, verifies too."""
    if not verdict.ok:
        return verdict
    if not evidence.ok:
        return Verdict(verdict.case, False, f"evidence medium: {evidence.detail}", verdict.seconds)
    return Verdict(
        verdict.case, True, f"{verdict.detail}; evidence medium: {evidence.detail}", verdict.seconds
    )


def secure_boot_firmware(work: Path) -> list[str]:
    for path in (SB_CODE, SB_VARS):
        if not path.is_file():
            raise BootTestError(f"The Secure Boot firmware {path} is missing (package ovmf).")
    variables = work / "OVMF_VARS.fd"
    shutil.copyfile(SB_VARS, variables)
    return [
        "-machine",
        "q35,smm=on",
        "-global",
        "driver=cfi.pflash01,property=secure,value=on",
        "-drive",
        f"if=pflash,format=raw,unit=0,readonly=on,file={SB_CODE}",
        "-drive",
        f"if=pflash,format=raw,unit=1,file={variables}",
    ]


def flip_squashfs_byte(iso: Path, squashfs: bytes, out: Path, offset: int = 1000) -> int:
    """Copy iso to out with one byte flipped inside the first 4 KiB block of its squashfs.

    ``squashfs`` is the start of the squashfs file (at least its first 64 KiB), used to find where
    it lies in the ISO. The first block is read when the root is mounted, so dm-verity must see it.
    Returns the ISO offset of the flipped byte.
    """
    data = bytearray(iso.read_bytes())
    probe = squashfs[:65536]
    where = data.find(probe)
    if where < 0 or len(probe) <= offset:
        raise BootTestError(f"The squashfs was not found inside {iso}.")
    if data.find(probe, where + 1) >= 0:
        raise BootTestError(
            f"The squashfs start occurs twice inside {iso}; cannot tell which to flip."
        )
    data[where + offset] ^= 0xFF
    out.write_bytes(bytes(data))
    return where + offset


def squashfs_head(iso: Path, work: Path) -> bytes:
    """The first 64 KiB of /live/filesystem.squashfs as stored in the ISO (read with xorriso)."""
    target = work / "filesystem.squashfs"
    subprocess.run(
        [
            "xorriso",
            "-osirrox",
            "on",
            "-indev",
            str(iso),
            "-extract",
            "/live/filesystem.squashfs",
            str(target),
        ],
        check=True,
        capture_output=True,
    )
    with target.open("rb") as handle:
        head = handle.read(65536)
    target.unlink()
    return head


@dataclasses.dataclass(frozen=True)
class Verdict:
    case: str
    ok: bool
    detail: str
    seconds: float


def judge_selftest(case: str, console: Console, expect_mode: str) -> Verdict:
    """A good boot: the summary with 0 failed, every required check passed, the right boot mode."""
    summary = console.summary()
    checks = console.checks()
    if summary is None:
        panic = console.first(PANIC)
        why = f"no self-test summary (stopped: {console.stop})" + (f"; {panic}" if panic else "")
        return Verdict(case, False, why, console.seconds)
    passed, failed = summary
    problems = [f"FAIL {cid}: {detail}" for cid, (ok, detail) in checks.items() if not ok]
    missing = [cid for cid in REQUIRED_CHECKS if cid not in checks]
    if missing:
        problems.append("not reported: " + ", ".join(missing))
    mode = checks.get("boot.mode", (False, "not reported"))[1]
    if mode != expect_mode:
        problems.append(f"boot mode is '{mode}', expected '{expect_mode}'")
    nics = checks.get("net.nics-unbound", (False, ""))[1]
    if not nics.startswith("2 network controllers"):
        problems.append(f"expected the 2 attached NICs to be seen unbound, got '{nics}'")
    usb = re.match(
        r"(\d+) USB devices allowed, (\d+) blocked", checks.get("usb.policy", (False, ""))[1]
    )
    if usb is None or int(usb.group(2)) < 1:
        problems.append("expected the attached USB network adapter to be seen blocked by usbguard")
    if failed or problems:
        return Verdict(case, False, "; ".join(problems) or f"{failed} failed", console.seconds)
    return Verdict(case, True, f"{passed} passed, 0 failed ({mode})", console.seconds)


def judge_tampered(console: Console) -> Verdict:
    """A tampered image must stop in the kernel (dm-verity), never reach the self-test."""
    if console.summary() is not None or console.first("selftest:") is not None:
        return Verdict(
            "tampered", False, "the tampered image booted to the self-test", console.seconds
        )
    if console.stop != "panic":
        return Verdict(
            "tampered", False, f"no kernel panic (stopped: {console.stop})", console.seconds
        )
    verity = console.first("dm-verity") or console.first("verity")
    detail = "kernel panic" + (f" after '{verity.strip()}'" if verity else "")
    return Verdict("tampered", True, detail, console.seconds)


def judge_unsigned(console: Console) -> Verdict:
    if console.stop == "access-denied":
        return Verdict("unsigned", True, "firmware: Access Denied", console.seconds)
    return Verdict(
        "unsigned",
        False,
        f"unsigned GRUB was not refused (stopped: {console.stop})",
        console.seconds,
    )


def run_case(case: str, out: Path, work: Path, timeout: float, logs: Path) -> Verdict:
    iso = out / "sealroom.iso"
    sb_iso = out / "sealroom-sb.iso"
    log = logs / f"boot-{case}.log"
    sock = work / "monitor.sock"
    capture = screendump(sock, logs / f"boot-{case}-tty1.ppm")
    if case == "bios":
        medium, disks = evidence_disks(work)
        argv = [
            *qemu_base(),
            *monitor(sock),
            "-boot",
            "order=d",
            *cdrom(iso),
            *marker_disk(work / "marker.img"),
            *disks,
        ]
        console = read_console(argv, timeout, log, on_stop=capture)
        verdict = judge_selftest(case, console, "bios")
        return judge_with_evidence(verdict, read_evidence(medium, logs / f"evidence-{case}"))
    if case == "secureboot":
        medium, disks = evidence_disks(work)
        argv = [
            *qemu_base(),
            *monitor(sock),
            *secure_boot_firmware(work),
            *cdrom(sb_iso),
            *marker_disk(work / "marker.img"),
            *disks,
        ]
        console = read_console(argv, timeout, log, on_stop=capture)
        verdict = judge_selftest(case, console, "uefi secure-boot=on")
        return judge_with_evidence(verdict, read_evidence(medium, logs / f"evidence-{case}"))
    if case == "tampered":
        bad = work / "tampered.iso"
        where = flip_squashfs_byte(iso, squashfs_head(iso, work), bad)
        say(f"  tampered copy: byte {where} of sealroom.iso flipped (inside the squashfs)")
        argv = [
            *qemu_base(),
            "-monitor",
            "none",
            "-boot",
            "order=d",
            *cdrom(bad),
            *marker_disk(work / "marker.img"),
        ]
        verdict = judge_tampered(read_console(argv, timeout, log))
        bad.unlink()
        return verdict
    if case == "unsigned":
        argv = [*qemu_base(), "-monitor", "none", *secure_boot_firmware(work), *cdrom(iso)]
        return judge_unsigned(read_console(argv, min(timeout, 300.0), log))
    raise BootTestError(
        f"Unknown case '{case}'; the cases are bios, secureboot, tampered, unsigned."
    )


def say(*parts: object, file: TextIO | None = None, flush: bool = True) -> None:
    """Print a progress or verdict line at once (the console log is long; CI reads these)."""
    stream = file if file is not None else sys.stdout
    stream.write(" ".join(str(part) for part in parts) + "\n")
    if flush:
        stream.flush()


def require_tools(names: Iterable[str]) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        raise BootTestError(
            "Missing tools: " + ", ".join(missing) + " ('make image-test' installs them)."
        )


CASES = ("bios", "secureboot", "tampered", "unsigned")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGE_DIR / "out", help="the build's outputs")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds per boot before it counts as hung"
    )
    parser.add_argument(
        "--case", action="append", choices=CASES, help="run only this case (repeatable)"
    )
    parser.add_argument(
        "--skip-static", action="store_true", help="skip the payload checks before booting"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    cases = tuple(args.case or CASES)
    try:
        require_tools(["qemu-system-x86_64", "mformat", "mcopy", "mkfs.vfat", "xorriso"])
        for name in ("sealroom.iso", "sealroom-sb.iso"):
            if not (out / name).is_file():
                raise BootTestError(f"{out / name} does not exist: build it with 'make image'.")
        if not args.skip_static:
            say("payload checks (image/static-checks.sh payload):", flush=True)
            static = subprocess.run(
                [str(IMAGE_DIR / "static-checks.sh"), "payload", str(out)], check=False
            )
            if static.returncode != 0:
                say("boottest: 0 passed, 1 failed (payload checks)")
                return 1
        verdicts: list[Verdict] = []
        with tempfile.TemporaryDirectory(prefix="sealroom-boottest-") as tmp:
            for case in cases:
                say(f"boot {case}: starting (timeout {args.timeout:.0f} s)", flush=True)
                work = Path(tmp) / case
                work.mkdir()
                verdict = run_case(case, out, work, args.timeout, out)
                verdicts.append(verdict)
                state = "PASS" if verdict.ok else "FAIL"
                say(
                    f"{state} boot.{case}: {verdict.detail} [{verdict.seconds:.0f} s; "
                    f"console in {out / f'boot-{case}.log'}]",
                    flush=True,
                )
    except BootTestError as exc:
        say(f"boottest: {exc}", file=sys.stderr)
        return 2
    passed = sum(v.ok for v in verdicts)
    say(f"boottest: {passed} passed, {len(verdicts) - passed} failed")
    return 0 if passed == len(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
