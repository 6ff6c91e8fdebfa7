"""The journal writer: append-only, hash-chained, one fsync per entry, signed checkpoints."""

from __future__ import annotations

import base64
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
from sealroom.journal.checkpoint import CeremonyLogKey
from sealroom.journal.entry import (
    CHECKPOINT_EVENT,
    CLOSING_EVENTS,
    GENESIS_PREV,
    LOG_KEY_EVENT,
    OPENING_EVENT,
    RESUMED_EVENT,
    TORN_TAIL_EVENT,
    entry_line,
    line_sha256,
)
from sealroom.journal.reader import read_lines
from sealroom.journal.verify import scan_lines

_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_RESUME_FLAGS = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_WRITER_EVENTS = frozenset({LOG_KEY_EVENT, CHECKPOINT_EVENT, TORN_TAIL_EVENT, RESUMED_EVENT})
"""Entries only the writer itself makes; ``append`` refuses them."""
_FILE_MODE = 0o640


class JournalWriter:
    """Writes a journal file; implements the engine's ``Journal`` port.

    Every entry is one canonical line, fsynced before the call returns, so an entry the engine
    has seen acknowledged survives a power cut. The first entry must be ``ceremony.opened``; the
    writer follows it with ``journal.log-key``, publishing this session's ceremony-log key (made
    here, in memory only). :meth:`checkpoint` signs the head with that key. After
    ``ceremony.closed`` or ``ceremony.aborted`` the writer appends the final checkpoint itself and
    accepts nothing more. A failed write leaves the writer unusable (the file may end in a torn
    line, which :meth:`resume` accounts for).
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        clock: Clock,
        *,
        head: JournalHead | None = None,
        log_key: CeremonyLogKey | None = None,
    ) -> None:
        """Use :meth:`create` or :meth:`resume`; this wraps an opened append-only descriptor."""
        self._path = path
        self._fd: int | None = fd
        self._clock = clock
        self._lock = threading.Lock()
        self._head = head or JournalHead(seq=0, sha256=GENESIS_PREV)
        self._ended_by: str | None = None
        self._broken: str | None = None
        self._log_key = log_key or CeremonyLogKey.generate()

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

    @classmethod
    def resume(cls, path: Path, clock: Clock) -> JournalWriter:
        """Open the existing journal at ``path`` to continue it after a stop or a power cut.

        The complete lines must verify; a journal that ended is not resumed. Bytes after the
        last newline (a torn line) are never truncated or rewritten: a newline ends them and a
        ``journal.torn-tail`` entry records their length and SHA-256, so they are accounted for
        and are not an entry. Then ``journal.resumed`` and a new ``journal.log-key`` (the last
        session's private key was never stored) are appended, each fsynced.
        """
        content = read_lines(path)
        state = scan_lines(content.lines)
        if state.problem is not None:
            raise JournalError(
                f"The journal {path} cannot be resumed: it does not verify ({state.problem})."
            )
        if not state.good:
            raise JournalError(
                f"The journal {path} cannot be resumed: it holds no complete entry. "
                "Start the ceremony again in a new output directory."
            )
        if state.ended_by is not None:
            raise JournalError(
                f"The journal {path} cannot be resumed: it already ended with '{state.ended_by}'."
            )
        last = state.good[-1]
        try:
            fd = os.open(path, _RESUME_FLAGS)
        except OSError as exc:
            raise JournalError(
                f"The journal {path} cannot be opened for appending: {exc.strerror}"
            ) from exc
        writer = cls(path, fd, clock, head=JournalHead(seq=last.seq, sha256=last.sha256))
        with writer._lock:
            torn = content.torn_tail
            if torn:
                data: dict[str, Json] = {
                    "after_seq": last.seq,
                    "torn_bytes_length": len(torn),
                    "torn_bytes_sha256": line_sha256(torn),
                }
                writer._write_entry(TORN_TAIL_EVENT, data, None, (), terminate_torn=True)
            writer._write_entry(RESUMED_EVENT, {"after_seq": last.seq}, None, ())
            writer._write_entry(LOG_KEY_EVENT, writer._log_key.log_key_data(), None, ())
        return writer

    @property
    def path(self) -> Path:
        return self._path

    @property
    def log_key(self) -> CeremonyLogKey:
        """This session's ceremony-log key (its public key and fingerprint go in the report)."""
        return self._log_key

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
        """Append one entry, fsync it, and return that entry's head.

        After ``ceremony.opened`` the writer also appends ``journal.log-key``; after
        ``ceremony.closed`` or ``ceremony.aborted`` it appends the final checkpoint. The
        :attr:`head` property then points at that last entry.
        """
        with self._lock:
            self._usable_fd()
            if event in _WRITER_EVENTS:
                raise JournalError(
                    f"'{event}' is written by the journal itself and cannot be appended."
                )
            self._require_order(event, self._head.seq + 1)
            if event == OPENING_EVENT:
                _require_script_identity(data)
            written = self._write_entry(event, data, step, actors)
            if event == OPENING_EVENT:
                self._write_entry(LOG_KEY_EVENT, self._log_key.log_key_data(), None, ())
            if event in CLOSING_EVENTS:
                self._write_checkpoint(event)
                self._ended_by = event
            return written

    def checkpoint(self, reason: str) -> JournalHead:
        """Sign the current head with the ceremony-log key in a ``journal.checkpoint`` entry.

        ``reason`` says why, for the reader (e.g. the act just finished). Returns the new head
        (the checkpoint entry). Refused before the log key is journaled and after the end.
        """
        with self._lock:
            self._usable_fd()
            if self._ended_by is not None:
                raise JournalError(
                    f"The journal already ends with '{self._ended_by}' and its final "
                    "checkpoint; nothing more can be written."
                )
            if self._head.seq < 2:  # entries 1 and 2: the opening and the log key
                raise JournalError(
                    "A checkpoint needs the opening and the ceremony-log key in the journal first."
                )
            return self._write_checkpoint(reason)

    def _write_checkpoint(self, reason: str) -> JournalHead:
        through = self._head
        signature = self._log_key.sign_checkpoint(through.sha256, through.seq)
        data: dict[str, Json] = {
            "key_fingerprint": self._log_key.fingerprint.hex,
            "reason": reason,
            "signature_b64": base64.b64encode(signature).decode("ascii"),
            "through_seq": through.seq,
            "through_sha256": through.sha256,
        }
        return self._write_entry(CHECKPOINT_EVENT, data, None, ())

    def _write_entry(
        self,
        event: str,
        data: Mapping[str, Json],
        step: str | None,
        actors: Sequence[Actor],
        *,
        terminate_torn: bool = False,
    ) -> JournalHead:
        """Write one entry (the lock is held), fsync, and advance the head."""
        fd = self._usable_fd()
        seq = self._head.seq + 1
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
        # A torn line is ended by the same write as the entry that accounts for it, so only a
        # second interruption of this very write can leave a fragment without its entry.
        payload = (b"\n" if terminate_torn else b"") + line + b"\n"
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        except OSError as exc:
            self._broken = f"a write failed at seq {seq}: {exc.strerror}"
            raise JournalError(
                f"The journal {self._path} could not be written at seq {seq} "
                f"({exc.strerror}); the ceremony cannot go on with this journal."
            ) from exc
        self._head = JournalHead(seq=seq, sha256=line_sha256(line))
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
