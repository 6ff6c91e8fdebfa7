"""Read a journal file back into typed entries (format only; ``verify.py`` checks the chain)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sealroom.errors import JournalError
from sealroom.journal.canonical import CanonicalFormError
from sealroom.journal.entry import JournalEntry, parse_entry


@dataclass(frozen=True)
class JournalLines:
    """A journal file cut into complete lines, and what follows the last newline (if anything)."""

    lines: tuple[bytes, ...]
    """Each complete line without its newline; line ``i`` of the file is ``lines[i - 1]``."""
    torn_tail: bytes
    """Bytes after the last newline: empty for a well-formed file, else an interrupted write."""


def read_lines(path: Path) -> JournalLines:
    """Read ``path`` and cut it at each newline; raise JournalError if it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"The journal {path} cannot be read: {exc.strerror}") from exc
    *complete, tail = raw.split(b"\n")
    return JournalLines(lines=tuple(complete), torn_tail=tail)


def read_entries(path: Path) -> list[JournalEntry]:
    """Every entry of the journal at ``path``, in file order.

    Raises JournalError naming the line if a line is not a well-formed canonical entry or the
    last line is torn. This does not check the hash chain: call ``verify_journal`` for that.
    """
    content = read_lines(path)
    entries: list[JournalEntry] = []
    for number, line in enumerate(content.lines, start=1):
        try:
            entries.append(parse_entry(line, number))
        except CanonicalFormError as exc:
            raise JournalError(f"The journal {path}, line {number}: {exc}") from exc
    if content.torn_tail:
        number = len(content.lines) + 1
        raise JournalError(
            f"The journal {path}, line {number}: the last line is incomplete (no newline)."
        )
    return entries
