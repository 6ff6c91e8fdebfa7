"""The evidence check: the run's output folder is on a persistent, writable disk with room."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sealroom.ceremony.preflight import CheckResult
from sealroom.preflight.system import SystemView

MIN_FREE_MB = 64
"""Free space the output folder needs. A root key generation rehearsal's whole --out folder
(journal, bundle, report PDF, QR images, token) is about 1 MB; a production ceremony prints more
sheets and keeps its PDFs, so 64 MB leaves an order of magnitude of room (docs/preflight.md)."""

VOLATILE_TYPES: frozenset[str] = frozenset(
    {"tmpfs", "ramfs", "overlay", "rootfs", "devtmpfs", "squashfs", "proc", "sysfs", "zram"}
)
"""Filesystems whose contents are gone at power-off (or that are read-only images): the live
system's root is an overlay with a tmpfs upper layer."""

EVIDENCE_LABEL = "SRLEVIDENCE"
"""The label of the appliance's evidence medium (image/README.md)."""


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo: where, what, which filesystem, with which options."""

    mount_point: str
    source: str
    fstype: str
    options: tuple[str, ...]


def _unescape(field: str) -> str:
    """Undo the octal escapes mountinfo writes for space, tab, newline and backslash."""
    out: list[str] = []
    index = 0
    while index < len(field):
        chunk = field[index : index + 4]
        if len(chunk) == 4 and chunk[0] == "\\" and chunk[1:].isdigit():
            out.append(chr(int(chunk[1:], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


def parse_mountinfo(text: str) -> tuple[Mount, ...]:
    """Every well-formed line of a mountinfo file, in order (later lines are mounted on top)."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 6 or len(fields) < dash + 3:
            continue
        options = set(fields[5].split(","))
        super_options = fields[dash + 3].split(",") if len(fields) > dash + 3 else []
        options.update(super_options)
        mounts.append(
            Mount(
                mount_point=_unescape(fields[4]),
                source=_unescape(fields[dash + 2]),
                fstype=fields[dash + 1],
                options=tuple(sorted(options)),
            )
        )
    return tuple(mounts)


def _within(path: str, mount_point: str) -> bool:
    return mount_point in ("/", path) or path.startswith(mount_point.rstrip("/") + "/")


def mount_of(mounts: tuple[Mount, ...], path: Path) -> Mount | None:
    """The mount holding ``path``: the longest mount point above it, the last one mounted."""
    text = str(path)
    best: Mount | None = None
    for mount in mounts:
        if _within(text, mount.mount_point) and (
            best is None or len(mount.mount_point) >= len(best.mount_point)
        ):
            best = mount
    return best


def existing_ancestor(path: Path) -> Path:
    """``path`` made absolute and resolved, or its nearest existing parent (before --out exists)."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    return current.resolve()


def label_of(view: SystemView, source: str) -> str:
    """The filesystem label udev gives ``source`` (/dev/disk/by-label), or '' when none."""
    folder = view.dev / "disk" / "by-label"
    device = os.path.basename(source)
    for name in view.entries(folder):
        target = os.path.basename(os.path.realpath(folder / name))
        if device and target == device:
            return name.replace("\\x20", " ")
    return ""


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged user may still write on the filesystem holding ``path``."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def evidence_result(
    view: SystemView,
    out_dir: Path,
    *,
    free: Callable[[Path], int] = free_bytes,
    min_free_mb: int = MIN_FREE_MB,
) -> CheckResult:
    """PASS when ``out_dir`` is on a persistent filesystem, mounted read-write, with room.

    The mount is found in ``/proc/self/mountinfo`` (through ``view``); the folder need not exist
    yet (its nearest existing parent is measured). The detail names the device, filesystem type,
    label and free space, so the room reads where its evidence goes.
    """
    where = existing_ancestor(out_dir)
    mountinfo = view.proc / "self" / "mountinfo"
    text = view.read_text(mountinfo)
    facts: dict[str, str | tuple[str, ...]] = {"out_dir": str(out_dir), "measured_at": str(where)}
    if text is None:
        return CheckResult(
            "evidence",
            False,
            f"cannot read {mountinfo}: the output folder's disk is unknown",
            facts,
        )
    mount = mount_of(parse_mountinfo(text), where)
    if mount is None:
        return CheckResult(
            "evidence", False, f"no mount in {mountinfo} holds the output folder {out_dir}", facts
        )
    label = label_of(view, mount.source)
    try:
        available = free(where)
    except OSError as exc:
        available = -1
        facts["free_error"] = exc.strerror or str(exc)
    free_mb = max(available, 0) // (1024 * 1024)
    writable = "rw" in mount.options and "ro" not in mount.options
    facts.update(
        {
            "mount_point": mount.mount_point,
            "device": mount.source,
            "fstype": mount.fstype,
            "label": label,
            "options": mount.options,
            "free_mb": str(free_mb),
            "min_free_mb": str(min_free_mb),
        }
    )
    described = (
        f"{out_dir} is on {mount.source} ({mount.fstype}"
        + (f", label {label}" if label else ", no label")
        + f") mounted at {mount.mount_point} {'read-write' if writable else 'read-only'}, "
        f"{free_mb} MB free"
    )
    problems: list[str] = []
    if mount.fstype in VOLATILE_TYPES:
        problems.append(f"{mount.fstype} does not survive power-off")
    if not writable:
        problems.append("it is mounted read-only")
    if available < 0:
        problems.append(f"its free space cannot be read ({facts['free_error']})")
    elif free_mb < min_free_mb:
        problems.append(f"less than the {min_free_mb} MB a ceremony's outputs need")
    if problems:
        return CheckResult(
            "evidence",
            False,
            f"{described}: {'; '.join(problems)}; write the outputs to the evidence medium "
            f"(a FAT32 disk labelled {EVIDENCE_LABEL}, image/README.md)",
            facts,
        )
    return CheckResult("evidence", True, described, facts)
