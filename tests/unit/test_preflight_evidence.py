"""The evidence check on fake /proc/self/mountinfo and /dev/disk/by-label trees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sealroom.ceremony.preflight import CEREMONY_CHECKS, CHECK_IDS, REHEARSAL_CHECKS
from sealroom.preflight.checks import SystemPreflight
from sealroom.preflight.evidence import (
    MIN_FREE_MB,
    evidence_result,
    mount_of,
    parse_mountinfo,
)
from sealroom.preflight.system import SystemView

MB = 1024 * 1024


def _mountinfo(root: Path, lines: list[str]) -> None:
    path = root / "proc" / "self" / "mountinfo"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _label(root: Path, label: str, device: str) -> None:
    folder = root / "dev" / "disk" / "by-label"
    folder.mkdir(parents=True, exist_ok=True)
    (root / "dev" / device).write_bytes(b"")
    (folder / label).symlink_to(Path("..") / ".." / device)


def _tree(tmp_path: Path, line: str) -> tuple[SystemView, Path]:
    """A fake system whose only mounts are an ext4 / and ``line`` on ``<tmp>/media``."""
    root = tmp_path / "sys-root"
    media = tmp_path / "media"
    (media / "evidence").mkdir(parents=True)
    _mountinfo(
        root,
        [
            "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
            line.format(media=media / "evidence"),
        ],
    )
    _label(root, "SRLEVIDENCE", "sdb1")
    return SystemView.under(root), media / "evidence"


VFAT_RW = (
    "40 22 8:17 / {media} rw,nosuid,nodev,noexec,relatime shared:20 - vfat /dev/sdb1 "
    "rw,sync,uid=1000,gid=1000,fmask=0177,dmask=0077,codepage=437,iocharset=ascii"
)


def _free(mb: int) -> Callable[[Path], int]:
    """A stand-in for os.statvfs: ``mb`` MB free wherever asked."""
    return lambda _path: mb * MB


def test_a_vfat_medium_mounted_read_write_with_room_passes_and_is_named(tmp_path):
    view, media = _tree(tmp_path, VFAT_RW)
    out = media / "root-key-generation-20270115T090000Z"

    result = evidence_result(view, out, free=_free(7620))

    assert result.passed, result.detail
    assert result.detail == (
        f"{out} is on /dev/sdb1 (vfat, label SRLEVIDENCE) mounted at {media} read-write, "
        "7620 MB free"
    )
    assert result.facts["device"] == "/dev/sdb1"
    assert result.facts["fstype"] == "vfat"
    assert result.facts["label"] == "SRLEVIDENCE"
    assert result.facts["free_mb"] == "7620"
    assert result.facts["min_free_mb"] == str(MIN_FREE_MB)
    assert result.facts["measured_at"] == str(media)
    assert "sync" in result.facts["options"]


def test_tmpfs_fails_because_nothing_survives_power_off(tmp_path):
    view, media = _tree(
        tmp_path, "41 22 0:30 / {media} rw,nosuid,nodev shared:21 - tmpfs tmpfs rw,size=1024k"
    )

    result = evidence_result(view, media / "run", free=_free(900))

    assert not result.passed
    assert "is on tmpfs (tmpfs, no label)" in result.detail
    assert "tmpfs does not survive power-off" in result.detail
    assert "labelled SRLEVIDENCE" in result.detail


def test_the_live_systems_overlay_root_fails(tmp_path):
    root = tmp_path / "sys-root"
    _mountinfo(root, ["30 1 0:31 / / rw,noatime - overlay overlay rw,lowerdir=/run/live/rootfs"])
    home = tmp_path / "home"
    home.mkdir()

    result = evidence_result(SystemView.under(root), home, free=_free(900))

    assert not result.passed
    assert "overlay does not survive power-off" in result.detail


def test_a_read_only_medium_fails(tmp_path):
    view, media = _tree(
        tmp_path,
        "40 22 8:17 / {media} ro,nosuid,nodev,noexec shared:20 - vfat /dev/sdb1 ro,sync,uid=1000",
    )

    result = evidence_result(view, media, free=_free(7620))

    assert not result.passed
    assert "mounted at" in result.detail
    assert "read-only" in result.detail
    assert "it is mounted read-only" in result.detail


def test_a_superblock_mounted_read_only_fails_even_if_the_mount_says_rw(tmp_path):
    view, media = _tree(
        tmp_path,
        "40 22 8:17 / {media} rw,nosuid,nodev shared:20 - vfat /dev/sdb1 ro,uid=1000",
    )

    result = evidence_result(view, media, free=_free(7620))

    assert not result.passed
    assert "it is mounted read-only" in result.detail


def test_too_little_free_space_fails_and_says_how_much_is_needed(tmp_path):
    view, media = _tree(tmp_path, VFAT_RW)

    result = evidence_result(view, media, free=_free(MIN_FREE_MB - 1))

    assert not result.passed
    assert f"{MIN_FREE_MB - 1} MB free" in result.detail
    assert f"less than the {MIN_FREE_MB} MB a ceremony's outputs need" in result.detail


def test_exactly_the_minimum_free_passes(tmp_path):
    view, media = _tree(tmp_path, VFAT_RW)

    assert evidence_result(view, media, free=_free(MIN_FREE_MB)).passed


def test_unreadable_free_space_fails_with_the_reason(tmp_path):
    view, media = _tree(tmp_path, VFAT_RW)

    def broken(_path: Path) -> int:
        raise OSError(5, "Input/output error")

    result = evidence_result(view, media, free=broken)

    assert not result.passed
    assert "its free space cannot be read (Input/output error)" in result.detail


def test_a_missing_out_folder_is_measured_at_its_nearest_existing_parent(tmp_path):
    view, media = _tree(tmp_path, VFAT_RW)
    seen: list[Path] = []

    def free(path: Path) -> int:
        seen.append(path)
        return 500 * MB

    result = evidence_result(view, media / "not" / "yet", free=free)

    assert result.passed, result.detail
    assert seen == [media.resolve()]


def test_no_mountinfo_fails_and_names_the_file(tmp_path):
    view = SystemView.under(tmp_path / "empty")

    result = evidence_result(view, tmp_path, free=_free(900))

    assert not result.passed
    assert str(tmp_path / "empty" / "proc" / "self" / "mountinfo") in result.detail


def test_the_deepest_and_last_mount_holds_the_path():
    mounts = parse_mountinfo(
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "2 1 0:5 / /media rw - tmpfs tmpfs rw\n"
        "3 2 8:17 / /media/evidence rw - vfat /dev/sdb1 rw\n"
        "4 2 8:33 / /media/evidence rw - vfat /dev/sdc1 rw\n"
        "5 1 8:49 / /media/evidence2 rw - vfat /dev/sdd1 rw\n"
    )

    held = mount_of(mounts, Path("/media/evidence/run"))

    assert held is not None
    assert held.source == "/dev/sdc1"
    other = mount_of(mounts, Path("/media/other"))
    assert other is not None
    assert other.fstype == "tmpfs"


def test_escaped_spaces_in_mount_points_are_read():
    (mount,) = parse_mountinfo("7 1 8:17 / /media/my\\040stick rw - vfat /dev/sdb1 rw\n")

    assert mount.mount_point == "/media/my stick"


@pytest.mark.parametrize("fstype", ["tmpfs", "ramfs", "overlay", "squashfs"])
def test_every_volatile_type_fails(tmp_path, fstype):
    view, media = _tree(tmp_path, "40 22 0:40 / {media} rw - " + fstype + " none rw")

    assert not evidence_result(view, media, free=_free(900)).passed


def test_the_port_measures_its_out_dir_and_production_runs_the_check(tmp_path):
    view, media = _tree(tmp_path, VFAT_RW)
    preflight = SystemPreflight(view=view, out_dir=media / "run", free_space=_free(300))

    (result,) = preflight.run_checks(["evidence"])

    assert result.check == "evidence"
    assert result.passed, result.detail
    assert result.facts["out_dir"] == str(media / "run")
    assert "evidence" in CHECK_IDS
    assert "evidence" in CEREMONY_CHECKS
    assert "evidence" not in REHEARSAL_CHECKS
