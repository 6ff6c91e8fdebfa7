"""Read a journal file back into typed entries (format only; ``verify.py`` checks the chain)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sealroom.errors import JournalError
from sealroom.journal.canonical import CanonicalFormError
from sealroom.journal.entry import TORN_TAIL_EVENT, JournalEntry, line_sha256, parse_entry

TORN_TAIL_FIELDS = frozenset({"after_seq", "torn_bytes_length", "torn_bytes_sha256"})


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


def is_accounted_fragment(line: bytes, next_line: bytes | None, last_seq: int) -> bool:
    """Whether ``line`` is a torn fragment that ``next_line`` (a journal.torn-tail) accounts for.

    It is when ``next_line`` is a well-formed ``journal.torn-tail`` entry whose data gives
    ``after_seq`` = ``last_seq`` (the seq of the last entry before ``line``) and the length and
    SHA-256 of ``line``'s bytes, and ``line`` is not empty. Whatever ``line`` holds, it is then not
    an entry.
    """
    if next_line is None or not line:
        return False
    try:
        entry = parse_entry(next_line, 0)
    except CanonicalFormError:
        return False
    return (
        entry.event == TORN_TAIL_EVENT
        and set(entry.data) == TORN_TAIL_FIELDS
        and entry.data["after_seq"] == last_seq
        and entry.data["torn_bytes_length"] == len(line)
        and entry.data["torn_bytes_sha256"] == line_sha256(line)
    )


def read_entries(path: Path) -> list[JournalEntry]:
    """Every entry of the journal at ``path``, in file order (accounted torn fragments skipped).

    Raises JournalError naming the line if a line is not a well-formed canonical entry or the
    last line is torn. This does not check the hash chain: call ``verify_journal`` for that.
    """
    content = read_lines(path)
    entries: list[JournalEntry] = []
    for number, line in enumerate(content.lines, start=1):
        following = content.lines[number] if number < len(content.lines) else None
        last_seq = entries[-1].seq if entries else 0
        if is_accounted_fragment(line, following, last_seq):
            continue
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
