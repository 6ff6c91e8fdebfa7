"""Verify a journal file: canonical lines, hash chain, signed checkpoints, torn tails, the end."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sealroom.ceremony.ports import JournalHead
from sealroom.errors import JournalError
from sealroom.journal.canonical import CanonicalFormError
from sealroom.journal.checkpoint import checkpoint_problem, log_key_problem
from sealroom.journal.entry import (
    CHECKPOINT_EVENT,
    CLOSING_EVENTS,
    GENESIS_PREV,
    LOG_KEY_EVENT,
    OPENING_EVENT,
    RESUMED_EVENT,
    TORN_TAIL_EVENT,
    JournalEntry,
    parse_entry,
)
from sealroom.journal.reader import is_accounted_fragment, read_lines

RESUMED_FIELDS = frozenset({"after_seq"})
UNSIGNED_WARNING = (
    "format v1 without checkpoints: the journal has no journal.log-key entry, so no entry is "
    "covered by a signature (a journal written before signed checkpoints); compare its head "
    "with the signed report"
)


@dataclass(frozen=True)
class JournalVerification:
    """The verdict on a journal file (EV-LOG).

    ``entries``, ``head_seq`` and ``head_sha256`` describe the part that verified: with a problem
    they stop at the last good entry before it. ``ended_by`` is ``ceremony.closed`` or
    ``ceremony.aborted`` if the journal reached one (its final checkpoint may follow), else None
    (still open, or cut short). ``warnings`` are facts an auditor must weigh that do not make the
    journal invalid: no checkpoints at all (an older journal), or not closed with a checkpoint.
    """

    ok: bool
    entries: int
    head_seq: int
    head_sha256: str
    first_problem: str | None
    ended_by: str | None = None
    ceremony_id: str | None = None
    warnings: tuple[str, ...] = ()
    log_keys: tuple[str, ...] = ()
    """Fingerprints (hex) of the ceremony-log keys journaled, one per writing session, in order."""
    checkpoints: int = 0
    """Number of checkpoints whose signature verified."""
    signed_through_seq: int = 0
    """The last seq covered by a verified checkpoint (0: none)."""
    torn_lines: tuple[int, ...] = ()
    """Line numbers of torn fragments accounted for by a journal.torn-tail entry (not entries)."""
    final_checkpoint: bool = False
    """Whether the journal ends with a checkpoint right after its closing entry."""

    @property
    def head(self) -> JournalHead:
        return JournalHead(seq=self.head_seq, sha256=self.head_sha256)


def verify_journal(path: Path, *, require_checkpoints: bool = False) -> JournalVerification:
    """Check every line of the journal at ``path``; report the first problem in file order.

    With ``require_checkpoints`` a journal without any ``journal.log-key`` (format v1 without
    checkpoints) is an error rather than a warning.
    """
    return _scan(path, require_checkpoints=require_checkpoints)[0]


def require_valid_journal(path: Path) -> JournalVerification:
    """Verify the journal at ``path`` and return the verdict; raise JournalError if it fails."""
    return read_verified_entries(path)[0]


def read_verified_entries(path: Path) -> tuple[JournalVerification, list[JournalEntry]]:
    """Read the journal once, verify it, and return the verdict with its entries.

    Raises JournalError naming the first problem if it does not verify, so what is returned is
    exactly what was verified (the report renders from this). Torn fragments are not entries.
    """
    verdict, entries = _scan(path, require_checkpoints=False)
    if not verdict.ok:
        raise JournalError(f"The journal {path} does not verify: {verdict.first_problem}")
    return verdict, entries


@dataclass
class ChainState:
    """What a scan of complete lines established (also what ``JournalWriter.resume`` builds on)."""

    good: list[JournalEntry] = field(default_factory=list)
    problem: str | None = None
    key_der: bytes | None = None
    key_hex: str | None = None
    log_keys: list[str] = field(default_factory=list)
    checkpoints: int = 0
    signed_through_seq: int = 0
    torn_lines: list[int] = field(default_factory=list)
    ended_by: str | None = None
    ended_at_line: int = 0
    final_checkpoint: bool = False


def scan_lines(lines: Sequence[bytes]) -> ChainState:
    """Check complete lines (without newlines) in order; stop at the first problem."""
    state = ChainState()
    fragment: tuple[int, bytes] | None = None
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else None
        if is_accounted_fragment(line, following, len(state.good)):
            fragment = (number, line)
            index += 1
            continue
        problem = _feed(state, line, number, fragment)
        fragment = None
        if problem is not None:
            state.problem = problem
            return state
        index += 1
    return state


def _feed(
    state: ChainState, line: bytes, number: int, fragment: tuple[int, bytes] | None
) -> str | None:
    """Check the line ``number`` as the next entry; record it in ``state`` or return a problem."""
    good = state.good
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
        last = good[-1].line_number
        return (
            f"{where}: prev {entry.prev} does not match the SHA-256 of line {last} "
            f"({expected_prev}): line {last} was changed, or an entry was removed "
            "or replaced"
        )
    problem = _order_problem(state, entry, fragment)
    if problem is not None:
        return f"{where}: {problem}"
    problem = _event_problem(state, entry, fragment)
    if problem is not None:
        return f"{where}: {problem}"
    good.append(entry)
    return None


def _order_problem(
    state: ChainState, entry: JournalEntry, fragment: tuple[int, bytes] | None
) -> str | None:
    good = state.good
    previous = good[-1] if good else None
    if previous is None and entry.event != OPENING_EVENT:
        return f"the first entry is '{entry.event}', not '{OPENING_EVENT}'"
    if previous is not None and entry.event == OPENING_EVENT:
        return f"'{OPENING_EVENT}' appears again after the first entry"
    if state.final_checkpoint:
        return (
            f"'{entry.event}' follows the final checkpoint after '{state.ended_by}', which "
            "ends the journal"
        )
    if state.ended_by is not None and entry.event != CHECKPOINT_EVENT:
        return f"'{entry.event}' follows '{state.ended_by}', which ends the journal"
    if previous is not None and previous.event == RESUMED_EVENT and entry.event != LOG_KEY_EVENT:
        return f"'{entry.event}' follows '{RESUMED_EVENT}'; only '{LOG_KEY_EVENT}' may"
    if (
        entry.event == LOG_KEY_EVENT
        and entry.seq != 2
        and (previous is None or previous.event != RESUMED_EVENT)
    ):
        return f"'{LOG_KEY_EVENT}' may only be entry 2 or follow '{RESUMED_EVENT}'"
    if entry.event == TORN_TAIL_EVENT and fragment is None:
        return (
            f"'{TORN_TAIL_EVENT}' does not follow the torn line it describes (no line before "
            "it has its length and SHA-256)"
        )
    if fragment is not None and entry.event != TORN_TAIL_EVENT:  # pragma: no cover - by scan
        return f"line {fragment[0]} is not an entry"
    return None


def _event_problem(
    state: ChainState, entry: JournalEntry, fragment: tuple[int, bytes] | None
) -> str | None:
    """Check the event's own rules and record what it establishes in ``state``."""
    event = entry.event
    if event == OPENING_EVENT:
        return _script_problem(entry)
    if event == LOG_KEY_EVENT:
        published = log_key_problem(entry.data)
        if isinstance(published, str):
            return published
        state.key_der, state.key_hex = published
        state.log_keys.append(published[1])
        return None
    if event == CHECKPOINT_EVENT:
        if state.key_der is None or state.key_hex is None:
            return f"a checkpoint, but no '{LOG_KEY_EVENT}' before it publishes a key"
        problem = checkpoint_problem(
            entry.data, seq=entry.seq, prev=entry.prev, key_der=state.key_der, key_hex=state.key_hex
        )
        if problem is not None:
            return problem
        state.checkpoints += 1
        state.signed_through_seq = entry.seq - 1
        if state.ended_by is not None:
            state.final_checkpoint = True
        return None
    if event == TORN_TAIL_EVENT and fragment is not None:  # _order_problem requires the fragment
        state.torn_lines.append(fragment[0])
        return None
    if event == RESUMED_EVENT:
        previous = state.good[-1]
        after = (
            previous.data.get("after_seq") if previous.event == TORN_TAIL_EVENT else previous.seq
        )
        if set(entry.data) != RESUMED_FIELDS or entry.data["after_seq"] != after:
            return f"'{RESUMED_EVENT}' data must be exactly {{after_seq: {after}}}"
        return None
    if event in CLOSING_EVENTS:
        state.ended_by = event
        state.ended_at_line = entry.line_number
    return None


def _scan(
    path: Path, *, require_checkpoints: bool
) -> tuple[JournalVerification, list[JournalEntry]]:
    try:
        content = read_lines(path)
    except JournalError as exc:
        return _verdict(ChainState(), str(exc), ()), []
    state = scan_lines(content.lines)
    good = state.good
    if state.problem is not None:
        return _verdict(state, state.problem, ()), good
    if content.torn_tail:
        number = len(content.lines) + 1
        problem = (
            f"line {number}: the last line is incomplete ({len(content.torn_tail)} bytes "
            "without a newline): the write was interrupted or the file was truncated"
        )
        return _verdict(state, problem, ()), good
    if not good:
        problem = f"line 1: the journal is empty (it must start with {OPENING_EVENT})"
        return _verdict(state, problem, ()), good
    warnings: list[str] = []
    if not state.log_keys:
        if require_checkpoints:
            return _verdict(state, "the journal has no checkpoints: " + UNSIGNED_WARNING, ()), good
        warnings.append(UNSIGNED_WARNING)
    elif state.ended_by is not None and not state.final_checkpoint:
        problem = (
            f"line {state.ended_at_line} (seq {good[-1].seq}): not closed with a checkpoint: "
            f"'{state.ended_by}' is the last entry, without the signed checkpoint that must "
            "follow it (it was removed, or the workstation stopped before writing it)"
        )
        return _verdict(state, problem, ()), good
    elif state.ended_by is None:
        warnings.append(
            "not closed with a checkpoint: the ceremony is still open or was cut short; "
            f"entries after seq {state.signed_through_seq} are not covered by a signed checkpoint"
        )
    return _verdict(state, None, tuple(warnings)), good


def _script_problem(entry: JournalEntry) -> str | None:
    text = entry.data.get("script_text")
    declared = entry.data.get("script_sha256")
    if not isinstance(text, str) or not isinstance(declared, str):
        return f"'{OPENING_EVENT}' lacks script_text or script_sha256"
    actual = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if actual != declared:
        return (
            f"script_sha256 {declared} is not the SHA-256 of script_text ({actual}): "
            "the recorded script is not the one identified"
        )
    return None


def _verdict(
    state: ChainState, problem: str | None, warnings: tuple[str, ...]
) -> JournalVerification:
    good = state.good
    last = good[-1] if good else None
    ceremony_id = good[0].data.get("ceremony_id") if good else None
    return JournalVerification(
        ok=problem is None,
        entries=len(good),
        head_seq=last.seq if last is not None else 0,
        head_sha256=last.sha256 if last is not None else GENESIS_PREV,
        first_problem=problem,
        ended_by=state.ended_by,
        ceremony_id=ceremony_id if isinstance(ceremony_id, str) else None,
        warnings=warnings,
        log_keys=tuple(state.log_keys),
        checkpoints=state.checkpoints,
        signed_through_seq=state.signed_through_seq,
        torn_lines=tuple(state.torn_lines),
        final_checkpoint=state.final_checkpoint,
    )
