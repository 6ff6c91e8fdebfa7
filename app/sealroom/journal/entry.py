"""The journal entry: its envelope, how it is built into a line, and how a line is read back."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, cast

from sealroom.ceremony.ports import Actor, Json
from sealroom.journal.canonical import CanonicalFormError, canonical_bytes, parse_canonical

FORMAT_VERSION = 1
GENESIS_PREV = "0" * 64
"""The ``prev`` of the first entry: there is no previous line."""

OPENING_EVENT = "ceremony.opened"
CLOSING_EVENTS = frozenset({"ceremony.closed", "ceremony.aborted"})
"""After one of these only the final ``journal.checkpoint`` may be appended."""
LOG_KEY_EVENT = "journal.log-key"
"""Publishes a session's ceremony-log public key: at seq 2, and right after each resume."""
CHECKPOINT_EVENT = "journal.checkpoint"
"""A signature by the current ceremony-log key over the entry just before it (the head)."""
TORN_TAIL_EVENT = "journal.torn-tail"
"""Accounts for a torn line (an interrupted write) on the line just before it."""
RESUMED_EVENT = "journal.resumed"
"""A new writing session continues the journal (a new ceremony-log key follows it)."""

ENVELOPE_KEYS = frozenset({"seq", "time", "event", "step", "actors", "data", "prev", "v"})
ACTOR_KEYS = frozenset({"participant", "role", "capacity"})
CAPACITIES = frozenset({"performer", "witness", "present", "decider", "signatory", "custodian"})

EVENT_PATTERN = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$")
STEP_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
HEX64_PATTERN = re.compile(r"^[0-9a-f]{64}$")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class EntryFormError(CanonicalFormError):
    """A line is canonical JSON but not a well-formed journal entry."""


@dataclass(frozen=True)
class JournalEntry:
    """One journal entry as read back from its line (data is deeply read-only)."""

    seq: int
    time: datetime
    event: str
    step: str | None
    actors: tuple[Actor, ...]
    data: Mapping[str, Json]
    prev: str
    v: int
    sha256: str
    """SHA-256 of this entry's line (without the newline), lowercase hex."""
    line_number: int
    """1-based line of the journal file this entry was read from."""

    @property
    def time_text(self) -> str:
        """The time exactly as written in the entry (RFC 3339 UTC, microseconds, ``Z``)."""
        return format_time(self.time)


def format_time(moment: datetime) -> str:
    """Render an aware datetime as the journal writes it: ``2027-01-15T09:00:00.000000Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EntryFormError("the clock gave a time without a time zone; journal times are UTC")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def entry_line(
    *,
    seq: int,
    time: datetime,
    event: str,
    step: str | None,
    actors: Sequence[Actor],
    data: Mapping[str, Json],
    prev: str,
) -> bytes:
    """Encode one entry canonically, without the newline, after validating its envelope."""
    if not EVENT_PATTERN.match(event):
        raise EntryFormError(f"event name {event!r} is not dotted lower-case words")
    if step is not None and not STEP_PATTERN.match(step):
        raise EntryFormError(f"step {step!r} is not a script step id")
    if not isinstance(data, Mapping):
        raise EntryFormError("an entry's data must be an object")
    actor_objects: list[Json] = []
    for actor in actors:
        if actor.capacity not in CAPACITIES:
            raise EntryFormError(f"actor capacity {actor.capacity!r} is not one of {_CAP_TEXT}")
        actor_objects.append(
            {"participant": actor.participant, "role": actor.role, "capacity": actor.capacity}
        )
    envelope: dict[str, Json] = {
        "seq": seq,
        "time": format_time(time),
        "event": event,
        "step": step,
        "actors": actor_objects,
        "data": data,
        "prev": prev,
        "v": FORMAT_VERSION,
    }
    return canonical_bytes(envelope)


def line_sha256(line: bytes) -> str:
    """Hash a line: SHA-256 of its bytes without the newline, lowercase hex (the entry hash)."""
    return hashlib.sha256(line).hexdigest()


def parse_entry(line: bytes, line_number: int) -> JournalEntry:
    """Read one line (without its newline) into a JournalEntry; raise CanonicalFormError if bad."""
    value = parse_canonical(line)
    if not isinstance(value, dict):
        raise EntryFormError("the line is not a JSON object")
    keys = set(value)
    if keys != ENVELOPE_KEYS:
        missing = ", ".join(sorted(ENVELOPE_KEYS - keys)) or "none"
        extra = ", ".join(sorted(keys - ENVELOPE_KEYS)) or "none"
        raise EntryFormError(f"envelope keys are wrong (missing: {missing}; unexpected: {extra})")
    v = value["v"]
    if type(v) is not int or v != FORMAT_VERSION:
        raise EntryFormError(f"format version v={v!r} is not {FORMAT_VERSION}")
    seq = value["seq"]
    if type(seq) is not int or seq < 1:
        raise EntryFormError(f"seq {seq!r} is not a positive integer")
    time_text = value["time"]
    if not isinstance(time_text, str) or not TIME_PATTERN.match(time_text):
        raise EntryFormError(f"time {time_text!r} is not RFC 3339 UTC with microseconds and Z")
    try:
        moment = datetime.strptime(time_text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise EntryFormError(f"time {time_text!r} is not a real date and time") from exc
    event = value["event"]
    if not isinstance(event, str) or not EVENT_PATTERN.match(event):
        raise EntryFormError(f"event {event!r} is not dotted lower-case words")
    step = value["step"]
    if step is not None and (not isinstance(step, str) or not STEP_PATTERN.match(step)):
        raise EntryFormError(f"step {step!r} is neither null nor a script step id")
    prev = value["prev"]
    if not isinstance(prev, str) or not HEX64_PATTERN.match(prev):
        raise EntryFormError("prev is not 64 lower-case hex digits")
    data = value["data"]
    if not isinstance(data, dict):
        raise EntryFormError("data is not an object")
    return JournalEntry(
        seq=seq,
        time=moment,
        event=event,
        step=step,
        actors=_actors(value["actors"]),
        data=cast("Mapping[str, Json]", _frozen(data)),
        prev=prev,
        v=v,
        sha256=line_sha256(line),
        line_number=line_number,
    )


_CAP_TEXT = ", ".join(sorted(CAPACITIES))


def _actors(value: Any) -> tuple[Actor, ...]:
    if not isinstance(value, list):
        raise EntryFormError("actors is not a list")
    actors: list[Actor] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != ACTOR_KEYS:
            raise EntryFormError(f"actors[{index}] is not {{participant, role, capacity}}")
        participant, role, capacity = item["participant"], item["role"], item["capacity"]
        if not (isinstance(participant, str) and isinstance(role, str)):
            raise EntryFormError(f"actors[{index}] participant and role must be strings")
        if capacity not in CAPACITIES:
            raise EntryFormError(f"actors[{index}] capacity {capacity!r} is not one of {_CAP_TEXT}")
        actors.append(Actor(participant=participant, role=role, capacity=capacity))
    return tuple(actors)


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value
