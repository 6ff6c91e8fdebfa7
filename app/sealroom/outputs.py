"""A write-once output folder: ceremony evidence is created, made durable, and never overwritten."""

from __future__ import annotations

import os
from pathlib import Path

from sealroom.errors import OutputExistsError, SealroomError
from sealroom.files import move_no_replace


class OutputFolder:
    """The ArtifactStore port over a directory on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        if not name or "/" in name or name in {".", ".."}:
            raise SealroomError(f"{name!r} is not a plain file name for an output.")
        return self.directory / name

    def require_absent(self, name: str) -> None:
        path = self._path(name)
        if path.exists():
            raise OutputExistsError(
                f"{path} already exists; Sealroom never overwrites ceremony evidence. "
                "Move it away or choose a new output folder."
            )

    def set_aside(self, name: str, suffix: str) -> str | None:
        """Rename ``name`` to ``name`` + ``suffix`` (never over an existing file); the new path."""
        path = self._path(name)
        if not path.exists():
            return None
        target = self._path(name + suffix)
        try:
            move_no_replace(path, target)
            _fsync_dir(self.directory)
        except FileExistsError as exc:
            raise OutputExistsError(
                f"{path} cannot be set aside as {target.name}: that file exists too."
            ) from exc
        except OSError as exc:
            raise SealroomError(f"Cannot set aside {path}: {exc.strerror}.") from exc
        return str(target)

    def write_once(self, name: str, data: bytes) -> str:
        path = self._path(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError as exc:
            raise OutputExistsError(
                f"{path} already exists; Sealroom never overwrites ceremony evidence."
            ) from exc
        except OSError as exc:
            raise SealroomError(f"Cannot create {path}: {exc.strerror}.") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            _fsync_dir(self.directory)
        except OSError as exc:
            raise SealroomError(f"Cannot write {path}: {exc.strerror}.") from exc
        return str(path)


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
