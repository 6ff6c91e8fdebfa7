"""The journal writer: append-only, hash-chained, one fsync per entry, thread-safe."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sealroom.ceremony.ports import Actor, Clock, Journal, JournalHead, Json
from sealroom.errors import JournalError, OutputExistsError
from sealroom.journal.canonical import CanonicalFormError
from sealroom.journal.entry import (
    CLOSING_EVENTS,
    GENESIS_PREV,
    OPENING_EVENT,
    entry_line,
    line_sha256,
)

_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_FILE_MODE = 0o640


class JournalWriter:
    """Writes a new journal file; implements the engine's ``Journal`` port.

    Every ``append`` writes one canonical line and fsyncs the file before it returns, so an
    entry the engine has seen acknowledged survives a power cut. The first entry must be
    ``ceremony.opened``; after ``ceremony.closed`` or ``ceremony.aborted`` nothing more is
    accepted. A failed write leaves the writer unusable (the file may end in a torn line, which
    ``verify_journal`` reports).
    """

    def __init__(self, path: Path, fd: int, clock: Clock) -> None:
        """Use :meth:`create`; this wraps an already opened, empty, append-only descriptor."""
        self._path = path
        self._fd: int | None = fd
        self._clock = clock
        self._lock = threading.Lock()
        self._head = JournalHead(seq=0, sha256=GENESIS_PREV)
        self._ended_by: str | None = None
        self._broken: str | None = None

    @classmethod
    def create(cls, path: Path, clock: Clock) -> JournalWriter:
        """Create a new journal at ``path``; never opens or overwrites an existing file."""
        try:
            fd = os.open(path, _OPEN_FLAGS, _FILE_MODE)
        except FileExistsError as exc:
            raise OutputExistsError(
                f"The journal {path} already exists; Sealroom never overwrites a journal. "
                "Choose a new output directory."
            ) from exc
        except OSError as exc:
            raise JournalError(f"The journal {path} cannot be created: {exc.strerror}") from exc
        try:
            _fsync_directory(path.parent)
        except OSError as exc:
            os.close(fd)
            raise JournalError(
                f"The directory of the journal {path} cannot be synced to disk: {exc.strerror}"
            ) from exc
        return cls(path, fd, clock)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def head(self) -> JournalHead:
        """Sequence number and SHA-256 of the last entry written (seq 0 and zeros before any)."""
        with self._lock:
            return self._head

    def append(
        self,
        event: str,
        data: Mapping[str, Json],
        *,
        step: str | None = None,
        actors: Sequence[Actor] = (),
    ) -> JournalHead:
        """Append one entry, fsync it, and return the new head."""
        with self._lock:
            fd = self._usable_fd()
            seq = self._head.seq + 1
            self._require_order(event, seq)
            if event == OPENING_EVENT:
                _require_script_identity(data)
            try:
                line = entry_line(
                    seq=seq,
                    time=self._clock.now(),
                    event=event,
                    step=step,
                    actors=actors,
                    data=data,
                    prev=self._head.sha256,
                )
            except CanonicalFormError as exc:
                raise JournalError(
                    f"The journal entry '{event}' (seq {seq}) cannot be written: {exc}"
                ) from exc
            try:
                _write_all(fd, line + b"\n")
                os.fsync(fd)
            except OSError as exc:
                self._broken = f"a write failed at seq {seq}: {exc.strerror}"
                raise JournalError(
                    f"The journal {self._path} could not be written at seq {seq} "
                    f"({exc.strerror}); the ceremony cannot go on with this journal."
                ) from exc
            self._head = JournalHead(seq=seq, sha256=line_sha256(line))
            if event in CLOSING_EVENTS:
                self._ended_by = event
            return self._head

    def close(self) -> None:
        """Close the file. Appending afterwards raises JournalError. Closing twice is harmless."""
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _usable_fd(self) -> int:
        if self._broken is not None:
            raise JournalError(f"The journal {self._path} is no longer usable: {self._broken}.")
        if self._fd is None:
            raise JournalError(f"The journal {self._path} is closed; nothing more can be written.")
        return self._fd

    def _require_order(self, event: str, seq: int) -> None:
        if self._ended_by is not None:
            raise JournalError(
                f"The journal already ends with '{self._ended_by}'; '{event}' cannot follow it."
            )
        if seq == 1 and event != OPENING_EVENT:
            raise JournalError(f"The first journal entry must be '{OPENING_EVENT}', not '{event}'.")
        if seq > 1 and event == OPENING_EVENT:
            raise JournalError(f"'{OPENING_EVENT}' may only be the first journal entry.")


def _require_script_identity(data: Mapping[str, Json]) -> None:
    text = data.get("script_text")
    declared = data.get("script_sha256")
    if not isinstance(text, str) or not isinstance(declared, str):
        raise JournalError(
            f"'{OPENING_EVENT}' must carry script_text and script_sha256 (EV-SCRIPT)."
        )
    actual = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if actual != declared:
        raise JournalError(
            f"'{OPENING_EVENT}': script_sha256 {declared} is not the SHA-256 of script_text "
            f"({actual}); the script recorded is not the one identified (EV-SCRIPT)."
        )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


if TYPE_CHECKING:

    def _implements_the_port(writer: JournalWriter) -> Journal:
        return writer  # mypy proves JournalWriter satisfies the engine's Journal Protocol
