"""Verify a journal file: canonical lines, consecutive seq, unbroken prev chain, opening and end."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sealroom.ceremony.ports import JournalHead
from sealroom.errors import JournalError
from sealroom.journal.canonical import CanonicalFormError
from sealroom.journal.entry import (
    CLOSING_EVENTS,
    GENESIS_PREV,
    OPENING_EVENT,
    JournalEntry,
    parse_entry,
)
from sealroom.journal.reader import read_lines


@dataclass(frozen=True)
class JournalVerification:
    """The verdict on a journal file (EV-LOG).

    ``entries``, ``head_seq`` and ``head_sha256`` describe the part that verified: with a problem
    they stop at the last good entry before it. ``ended_by`` is ``ceremony.closed`` or
    ``ceremony.aborted`` if the journal ends with one, else None (still open, or cut short).
    """

    ok: bool
    entries: int
    head_seq: int
    head_sha256: str
    first_problem: str | None
    ended_by: str | None = None
    ceremony_id: str | None = None

    @property
    def head(self) -> JournalHead:
        return JournalHead(seq=self.head_seq, sha256=self.head_sha256)


def verify_journal(path: Path) -> JournalVerification:
    """Check every line of the journal at ``path``; report the first problem in file order."""
    return _scan(path)[0]


def require_valid_journal(path: Path) -> JournalVerification:
    """Verify the journal at ``path`` and return the verdict; raise JournalError if it fails."""
    return read_verified_entries(path)[0]


def read_verified_entries(path: Path) -> tuple[JournalVerification, list[JournalEntry]]:
    """Read the journal once, verify it, and return the verdict with its entries.

    Raises JournalError naming the first problem if it does not verify, so what is returned is
    exactly what was verified (the report renders from this).
    """
    verdict, entries = _scan(path)
    if not verdict.ok:
        raise JournalError(f"The journal {path} does not verify: {verdict.first_problem}")
    return verdict, entries


def _scan(path: Path) -> tuple[JournalVerification, list[JournalEntry]]:
    try:
        content = read_lines(path)
    except JournalError as exc:
        return _verdict([], str(exc)), []
    good: list[JournalEntry] = []
    for number, line in enumerate(content.lines, start=1):
        checked = _checked(line, number, good)
        if isinstance(checked, str):
            return _verdict(good, checked), good
        good.append(checked)
    if content.torn_tail:
        number = len(content.lines) + 1
        problem = (
            f"line {number}: the last line is incomplete ({len(content.torn_tail)} bytes "
            "without a newline): the write was interrupted or the file was truncated"
        )
        return _verdict(good, problem), good
    if not good:
        problem = f"line 1: the journal is empty (it must start with {OPENING_EVENT})"
        return _verdict(good, problem), good
    return _verdict(good, None), good


def _checked(line: bytes, number: int, good: list[JournalEntry]) -> JournalEntry | str:
    """The entry on line ``number`` if it continues ``good``; else the problem, in words."""
    expected_seq = len(good) + 1
    try:
        entry = parse_entry(line, number)
    except CanonicalFormError as exc:
        return f"line {number}: {exc}"
    where = f"line {number} (seq {entry.seq})"
    if entry.seq != expected_seq:
        return (
            f"{where}: seq {entry.seq} where {expected_seq} was expected "
            "(an entry is missing, duplicated or out of order)"
        )
    expected_prev = good[-1].sha256 if good else GENESIS_PREV
    if entry.prev != expected_prev:
        if not good:
            return f"{where}: prev is not 64 zeros, as the first entry's must be"
        return (
            f"{where}: prev {entry.prev} does not match the SHA-256 of line {number - 1} "
            f"({expected_prev}): line {number - 1} was changed, or an entry was removed "
            "or replaced"
        )
    if not good and entry.event != OPENING_EVENT:
        return f"{where}: the first entry is '{entry.event}', not '{OPENING_EVENT}'"
    if good and entry.event == OPENING_EVENT:
        return f"{where}: '{OPENING_EVENT}' appears again after the first entry"
    if good and good[-1].event in CLOSING_EVENTS:
        return f"{where}: '{entry.event}' follows '{good[-1].event}', which ends the journal"
    if entry.event == OPENING_EVENT:
        problem = _script_problem(entry, where)
        if problem is not None:
            return problem
    return entry


def _script_problem(entry: JournalEntry, where: str) -> str | None:
    text = entry.data.get("script_text")
    declared = entry.data.get("script_sha256")
    if not isinstance(text, str) or not isinstance(declared, str):
        return f"{where}: '{OPENING_EVENT}' lacks script_text or script_sha256"
    actual = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if actual != declared:
        return (
            f"{where}: script_sha256 {declared} is not the SHA-256 of script_text ({actual}): "
            "the recorded script is not the one identified"
        )
    return None


def _verdict(good: list[JournalEntry], problem: str | None) -> JournalVerification:
    last = good[-1] if good else None
    ended_by = last.event if last is not None and last.event in CLOSING_EVENTS else None
    ceremony_id = good[0].data.get("ceremony_id") if good else None
    return JournalVerification(
        ok=problem is None,
        entries=len(good),
        head_seq=last.seq if last is not None else 0,
        head_sha256=last.sha256 if last is not None else GENESIS_PREV,
        first_problem=problem,
        ended_by=ended_by,
        ceremony_id=ceremony_id if isinstance(ceremony_id, str) else None,
    )
