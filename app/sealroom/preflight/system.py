"""SystemView: where /sys, /proc, /etc, /dev and /run are, so tests can give a fake tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SystemView:
    """The roots the checks read from; the real system by default, a tmp_path tree in tests."""

    sys: Path = Path("/sys")
    proc: Path = Path("/proc")
    etc: Path = Path("/etc")
    dev: Path = Path("/dev")
    run: Path = Path("/run")

    @classmethod
    def under(cls, root: Path) -> SystemView:
        """A view whose sys, proc, etc, dev and run all live under ``root`` (``root/sys`` ...)."""
        return cls(
            sys=root / "sys",
            proc=root / "proc",
            etc=root / "etc",
            dev=root / "dev",
            run=root / "run",
        )

    def read_text(self, path: Path) -> str | None:
        """The stripped text of a small file, or None when it is absent or unreadable."""
        try:
            return path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None

    def entries(self, folder: Path) -> tuple[str, ...]:
        """Sorted names in ``folder`` (empty when the folder does not exist)."""
        try:
            return tuple(sorted(p.name for p in folder.iterdir()))
        except OSError:
            return ()
