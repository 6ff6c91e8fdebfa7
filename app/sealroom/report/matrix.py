"""The evidence matrix: which journal entries evidence each EVIDENCE.md item a ceremony owes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from pydantic import ValidationError

from sealroom.ceremony.compliance import HSM_ACTIONS, step_evidence, witnessed_actions
from sealroom.ceremony.evidence import item, script_items
from sealroom.ceremony.ports import Json
from sealroom.ceremony.script import ActionStep, Script, Step
from sealroom.errors import ReportError
from sealroom.journal.entry import CLOSING_EVENTS, OPENING_EVENT, JournalEntry

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
KEY_EVENTS = ("key.generated", "key.found", "key.recovered")
"""Entries naming a key pair; ``key.recovered`` names it under ``key`` (read by _key_data)."""
IDENTIFIED_EVENTS = (*KEY_EVENTS, "backup.resplit")
"""Entries naming a key by label, CKA_ID and fingerprint: a re-split names the key it proved
(unwrapped as a session object, checked against the stated public key)."""
ARTEFACT_EVENTS = {"certificate.issued": "certificate", "csr.made": "CSR", "crl.issued": "CRL"}


@dataclass(frozen=True)
class EvidenceRow:
    """One EVIDENCE.md item of the ceremony, and the journal entries that evidence it."""

    item_id: str
    title: str
    required: bool
    """EVIDENCE.md marks it R (True) or P (False)."""
    present: bool
    """The journal really carries the item (not merely a step that should have produced it)."""
    entries: tuple[int, ...]
    """Journal seqs that evidence it, ascending."""
    digests: tuple[tuple[str, str], ...]
    """(what, SHA-256 hex): the evidencing entries' hashes and, for artefacts, documents,
    inputs and keys, the SHA-256 the entry records (of the DER, the PDF, the SPKI)."""
    note: str
    """What the evidence shows, or what is missing, in one sentence."""


@dataclass(frozen=True)
class EvidenceMatrix:
    """Every item a ceremony of ``ceremony_type`` (and its script) owes, in EVIDENCE.md order."""

    ceremony_type: str
    rows: tuple[EvidenceRow, ...]

    @property
    def missing(self) -> tuple[EvidenceRow, ...]:
        """Rows the source requires (R) that the journal does not evidence."""
        return tuple(row for row in self.rows if row.required and not row.present)

    def row(self, item_id: str) -> EvidenceRow:
        return next(row for row in self.rows if row.item_id == item_id)


def journal_script(entries: Sequence[JournalEntry]) -> Script:
    """The validated script recorded in the journal's ``ceremony.opened`` entry."""
    if not entries or entries[0].event != OPENING_EVENT:
        raise ReportError(
            f"The journal does not start with {OPENING_EVENT}; there is no script to check the "
            "evidence against."
        )
    try:
        return Script.model_validate(entries[0].data.get("script"))
    except ValidationError as exc:
        raise ReportError(
            "The script recorded in ceremony.opened (entry 1) does not validate; the evidence "
            f"matrix cannot be built ({exc.error_count()} problem(s))."
        ) from exc


def evidence_matrix(entries: Sequence[JournalEntry]) -> EvidenceMatrix:
    """The evidence matrix of a ceremony, computed from its journal entries alone.

    The entries are those of a journal that verified (chain and checkpoint signatures are not
    checked again here). Rows are the items ``script_items`` lists for the recorded script.
    """
    script = journal_script(entries)
    facts = _Facts(entries, script)
    rows = tuple(facts.row(item_id) for item_id in script_items(script))
    return EvidenceMatrix(ceremony_type=script.ceremony.type, rows=rows)


def awaited(entries: Sequence[JournalEntry], item_id: str) -> tuple[str, ...]:
    """What, still to come after ``entries``, would evidence ``item_id`` (empty once ended).

    Each is ``step <id>`` for a script step not yet completed that produces the item, or
    ``the closing entry`` for the items it completes (EV-DEVIATION: no more deviations can
    follow it). A report printed before the ceremony ends uses this to show such an item as
    still to come (e.g. EV-REPORT: the print-report step that prints it) rather than missing.
    """
    if any(e.event in CLOSING_EVENTS for e in entries):
        return ()
    script = journal_script(entries)
    done = {e.step for e in entries if e.event in ("step.completed", "step.skipped")}
    steps = tuple(
        f"step {step.id}"
        for step in script.steps
        if step.id not in done and item_id in step_evidence(step)
    )
    return (*steps, "the closing entry") if item_id in _CLOSING_ITEMS else steps


_CLOSING_ITEMS = frozenset({"EV-DEVIATION"})


# ----------------------------------------------------------------------------- internals


@dataclass
class _Found:
    entries: list[JournalEntry] = field(default_factory=list)
    digests: list[tuple[str, str]] = field(default_factory=list)

    def add(self, *entries: JournalEntry) -> None:
        for entry in entries:
            if entry not in self.entries:
                self.entries.append(entry)

    def digest(self, what: str, value: Json | None) -> None:
        if isinstance(value, str) and _HEX64.match(value) and (what, value) not in self.digests:
            self.digests.append((what, value))


def _key_data(entry: JournalEntry) -> JournalEntry:
    """A key entry as key.generated writes it: ``key.recovered`` holds the key under ``key``."""
    key = entry.data.get("key")
    if entry.event == "key.recovered" and isinstance(key, Mapping):
        return replace(entry, data=dict(key))
    return entry


def _serial_after(entry: JournalEntry) -> Json | None:
    """The serial of the token a ``token.zeroised`` entry re-initialised."""
    token = entry.data.get("token_after")
    return token.get("serial") if isinstance(token, Mapping) else None


def _text(data: Mapping[str, Json], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _fingerprint_hex(data: Mapping[str, Json]) -> str | None:
    fpr = data.get("fingerprint")
    if isinstance(fpr, Mapping):
        return _text(fpr, "hex")
    return None


def _list(value: Json | None) -> list[Json]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _medium_material(data: Mapping[str, Json]) -> str:
    medium = data.get("medium")
    material = medium.get("material") if isinstance(medium, Mapping) else None
    return f"medium {material}" if isinstance(material, str) else "a medium"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class _Facts:
    """The journal indexed once; one method per evidence item decides its row."""

    def __init__(self, entries: Sequence[JournalEntry], script: Script) -> None:
        self.entries = tuple(entries)
        self.script = script
        self.opened = entries[0]
        self.by_event: dict[str, list[JournalEntry]] = {}
        for entry in entries:
            self.by_event.setdefault(entry.event, []).append(entry)
        self.completed: dict[str, JournalEntry] = {
            e.step: e for e in self.of("step.completed") if e.step
        }
        self.steps: dict[str, Step] = {step.id: step for step in script.steps}
        closing = [e for e in entries if e.event in CLOSING_EVENTS]
        self.closing = closing[-1] if closing else None
        self.external_roles = {role.id for role in script.roles if not role.internal}
        self.trusted_roles = {role.id for role in script.roles if role.trusted}

    def of(self, *events: str) -> list[JournalEntry]:
        found = [e for event in events for e in self.by_event.get(event, [])]
        return sorted(found, key=lambda e: e.seq)

    def tagged(self, item_id: str) -> list[JournalEntry]:
        """``step.completed`` entries of steps that produce ``item_id`` (tag, kind or action)."""
        return [
            entry
            for step_id, entry in sorted(self.completed.items(), key=lambda kv: kv[1].seq)
            if step_id in self.steps and item_id in step_evidence(self.steps[step_id])
        ]

    def tagged_steps(self, item_id: str) -> list[str]:
        return [step.id for step in self.script.steps if item_id in step_evidence(step)]

    def preflight(self, *checks: str) -> list[JournalEntry]:
        """``preflight.checked`` entries of ``checks`` (docs/preflight.md), in journal order."""
        return [e for e in self.of("preflight.checked") if e.data.get("check") in checks]

    def _preflight_note(self, entries: Sequence[JournalEntry]) -> str:
        """``preflight image PASS, software PASS (entries 6, 7)``: the last verdict of each."""
        last: dict[str, JournalEntry] = {}
        for entry in entries:
            last[str(entry.data.get("check"))] = entry
        if not last:
            return ""
        verdicts = []
        for check, entry in last.items():
            verdict = f"{check} {entry.data.get('verdict')}"
            if entry.data.get("blocking") is False:
                verdict += " (informational)"
            elif entry.data.get("passed") is False:
                verdict += " (decided as a deviation)"
            verdicts.append(verdict)
        seqs = ", ".join(str(e.seq) for e in last.values())
        return f"; preflight {', '.join(verdicts)} (entries {seqs})"

    def _abandoned_kcvs(self, backup_id: Json | None) -> set[Json | None]:
        """Key check values of the backup's attempts abandoned on resume (``backup.abandoned``)."""
        return {
            e.data.get("check_value")
            for e in self.of("backup.abandoned")
            if e.data.get("backup_id") == backup_id
        }

    def row(self, item_id: str) -> EvidenceRow:
        method: Callable[[_Found], tuple[bool, str]] = getattr(
            self, "_" + item_id.lower().replace("-", "_")
        )
        found = _Found()
        present, note = method(found)
        entries = sorted(found.entries, key=lambda e: e.seq)
        digests = [(f"entry {e.seq} ({e.event})", e.sha256) for e in entries]
        catalogue = item(item_id)
        return EvidenceRow(
            item_id=item_id,
            title=catalogue.title,
            required=catalogue.required,
            present=present,
            entries=tuple(e.seq for e in entries),
            digests=tuple(digests + found.digests),
            note=note,
        )

    # ---------------------------------------------------------------- helpers

    def _with_tags(self, found: _Found, item_id: str) -> list[JournalEntry]:
        tagged = self.tagged(item_id)
        found.add(*tagged)
        return tagged

    def _tag_only(self, found: _Found, item_id: str, what: str) -> tuple[bool, str]:
        """Items no event of their own carries: a completed step producing them is the evidence."""
        tagged = self._with_tags(found, item_id)
        if tagged:
            steps = ", ".join(e.step or "" for e in tagged)
            return True, f"{what}: step {steps} completed"
        scripted = self.tagged_steps(item_id)
        if scripted:
            return False, f"{what}: step {', '.join(scripted)} not completed"
        return False, f"{what}: no step of the script produces it"

    def _names(self, ids: Iterable[str]) -> str:
        names = []
        for pid in ids:
            try:
                names.append(self.script.participant(pid).name)
            except StopIteration:
                names.append(pid)
        return ", ".join(names)

    def _present_ids(self) -> list[str]:
        present: list[str] = []
        for entry in self.of("attendance.recorded"):
            value = entry.data.get("present")
            if isinstance(value, Sequence):
                present = [str(p) for p in value]
        gone: set[str] = set()
        for entry in self.of("break.ended"):
            absent = entry.data.get("absent")
            if isinstance(absent, Sequence):
                gone |= {str(p) for p in absent}
        return [p for p in present if p not in gone]

    # -------------------------------------------------------- A. script, approval, event

    def _ev_script(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        sha = _text(self.opened.data, "script_sha256")
        name = _text(self.opened.data, "script_name") or "the script"
        if sha is None or not _HEX64.match(sha):
            return False, "ceremony.opened records no script SHA-256"
        found.digest(f"script {name}", sha)
        return True, f"{name} recorded at the opening with its SHA-256 and full text"

    def _ev_approval(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        approval = self.script.ceremony.approval
        if approval is None:
            return False, "the script records no management approval"
        return True, (
            f"approved by {approval.approved_by} ({approval.role}) on {approval.date.isoformat()}, "
            f"reference {approval.reference}"
        )

    def _ev_type(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        ceremony = self.script.ceremony
        lacking = [
            what
            for what, value in (
                ("objectives", ceremony.objectives),
                ("ceremony type", _text(self.opened.data, "ceremony_type")),
            )
            if not value
        ]
        where = f"{ceremony.location.site}, {ceremony.location.room}"
        if self.closing is not None:
            found.add(self.closing)
            end = f"ended at entry {self.closing.seq} ({self.closing.event})"
        else:
            end = "not ended in these entries (the closing entry gives the end time)"
        if lacking:
            return False, f"the script states no {' and no '.join(lacking)}"
        return True, f"{ceremony.type} at {where}; started at entry 1, {end}"

    def _ev_cps(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        cps = self.script.ceremony.cps
        if cps is None:
            return False, "the script names no CP/CPS"
        return True, f"{cps.document} version {cps.version}, section {cps.section}"

    # ------------------------------------------------------------------ B. people, roles

    def _ev_roles(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        roles = self.script.roles
        if not roles:
            return False, "the script defines no roles"
        unheld = [r.id for r in roles if not self.script.holders_of(r.id)]
        no_after = [r.id for r in roles if r.after is None]
        if unheld or no_after:
            problems = []
            if unheld:
                problems.append(f"held by nobody: {', '.join(unheld)}")
            if no_after:
                problems.append(f"no duties after the ceremony: {', '.join(no_after)}")
            return False, "roles " + "; ".join(problems)
        external = sum(1 for r in roles if not r.internal)
        return True, (
            f"{_plural(len(roles), 'role')} ({external} external), each with duties during and "
            "after the ceremony"
        )

    def _ev_trusted(self, found: _Found) -> tuple[bool, str]:
        """Multi-person control: every HSM action performed by a trusted role with a witness."""
        hsm_steps = [
            e
            for e in self.completed.values()
            if isinstance(self.steps.get(e.step or ""), ActionStep)
            and getattr(self.steps[e.step or ""], "action", "") in HSM_ACTIONS
        ]
        candidates = hsm_steps or list(self.completed.values())
        alone: list[str] = []
        shown: list[JournalEntry] = []
        for entry in sorted(candidates, key=lambda e: e.seq):
            performers = [a for a in entry.actors if a.capacity == "performer"]
            others = {a.participant for a in entry.actors if a.capacity == "witness"} - {
                a.participant for a in performers
            }
            if any(a.role in self.trusted_roles for a in performers) and others:
                shown.append(entry)
            elif hsm_steps:
                alone.append(entry.step or str(entry.seq))
        found.add(*shown)
        if alone:
            return False, (
                "not every HSM action was performed by a trusted role with another participant "
                f"watching: step {', '.join(alone)}"
            )
        if not shown:
            return False, "no completed step shows a trusted role acting with a witness"
        scope = "HSM action" if hsm_steps else "step"
        return True, (
            f"{_plural(len(shown), scope)} performed by a trusted role with at least one other "
            "participant witnessing"
        )

    def _ev_attend(self, found: _Found) -> tuple[bool, str]:
        attendance = self.of("attendance.recorded")
        found.add(*attendance, *self.of("break.started", "break.ended"))
        if not attendance:
            return False, "no attendance.recorded entry"
        present = attendance[-1].data.get("present")
        count = len(present) if isinstance(present, Sequence) else 0
        breaks = len(self.of("break.started"))
        return True, (
            f"{_plural(count, 'participant')} recorded present"
            + (f"; {_plural(breaks, 'break')} with who left and returned" if breaks else "")
        )

    def _ev_witness(self, found: _Found) -> tuple[bool, str]:
        """An independent witness attended and witnessed.

        Independent: a participant in a role with internal: false. Witnessed: every key
        generation and destruction step (and, by type, migration), or else at least one step.
        """
        if not self.external_roles:
            return False, "the script has no independent role (internal: false)"
        independent = {p.id for p in self.script.participants if set(p.roles) & self.external_roles}
        attended = set(self._present_ids()) & independent
        found.add(*self.of("attendance.recorded"))
        if not attended:
            return False, "no independent participant is recorded present"
        wanted = witnessed_actions(self.script.ceremony.type)
        must = [
            e
            for e in self.completed.values()
            if isinstance(self.steps.get(e.step or ""), ActionStep)
            and getattr(self.steps[e.step or ""], "action", "") in wanted
        ]

        def witnessed(entry: JournalEntry) -> bool:
            return any(
                a.capacity == "witness"
                and a.participant in attended
                and a.role in self.external_roles
                for a in entry.actors
            )

        unwitnessed = [e.step or "" for e in must if not witnessed(e)]
        seen = [e for e in (must or list(self.completed.values())) if witnessed(e)]
        found.add(*seen)
        if unwitnessed:
            return False, f"step {', '.join(unwitnessed)} has no independent witness"
        if not seen:
            return False, "no completed step was witnessed by the independent participant"
        return True, (
            f"{self._names(sorted(attended))} attended and witnessed "
            f"{_plural(len(seen), 'key step' if must else 'step')}"
        )

    # --------------------------------------------------------- C. place, hardware, software

    def _ev_physical(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        listed = self.script.ceremony.location.physical_security
        if not listed:
            return False, "the script lists no physical security requirements"
        present, note = self._tag_only(
            found, "EV-PHYSICAL", f"{_plural(len(listed), 'requirement')} listed"
        )
        return present or not self.tagged_steps("EV-PHYSICAL"), note

    def _ev_materials(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        if not self.script.materials:
            return False, "the script lists no materials"
        serials = [e for e in self.of("entry.recorded") if e.data.get("format") == "serial"]
        identified = self.of("token.identified", "printer.checked")
        checked = self.preflight("devices", "network")
        found.add(*serials, *identified, *checked, *self.tagged("EV-MATERIALS"))
        if not (serials or identified):
            return False, (
                f"{_plural(len(self.script.materials), 'material')} listed, but no serial number "
                "was typed or read from a device"
            )
        return True, (
            f"{_plural(len(self.script.materials), 'material')} listed with serials; "
            f"{_plural(len(serials) + len(identified), 'serial')} checked in the room"
            + self._preflight_note(checked)
        )

    def _ev_device(self, found: _Found) -> tuple[bool, str]:
        tokens = self.of("token.identified", "token.initialised")
        found.add(*tokens, *self.of("token.inventory"), *self.preflight("devices"))
        if not tokens:
            return False, "no token.identified entry (device model, serial, firmware)"
        token = tokens[0].data.get("token")
        if isinstance(token, Mapping):
            serial = str(token.get("serial") or "none at the opening (uninitialised slot)")
            if not token.get("serial"):
                later = [
                    e.data.get("token")
                    for e in self.of("token.initialised", "token.inventory")
                    if isinstance(e.data.get("token"), Mapping)
                ]
                named = [t.get("serial") for t in later if isinstance(t, Mapping)]
                first = next((n for n in named if n), None)
                if first:
                    serial += f", {first} once initialised"
            return True, (
                f"{token.get('manufacturer')} {token.get('model')}, serial {serial}, "
                f"firmware {token.get('firmware_version')}"
            )
        return True, "device identity read from the token"

    def _ev_settings(self, found: _Found) -> tuple[bool, str]:
        generated = self.of("key.generated")
        inventories = [e for e in self.of("token.inventory") if e.data.get("mechanisms")]
        found.add(*generated, *inventories, *self.tagged("EV-SETTINGS"))
        if any(isinstance(s, ActionStep) and s.action == "generate-key" for s in self.script.steps):
            resumed = [e for e in self._made_here() if e.event == "key.found"]
            if not generated and resumed and inventories:
                found.add(*resumed)
                return True, (
                    "key made by an interrupted step: attributes read back when found, the "
                    "token's mechanisms listed"
                )
            if not generated:
                return False, "no key.generated entry (generation mechanism and attributes)"
            mechanisms = sorted({str(e.data.get("mechanism")) for e in generated})
            return True, f"generated with {', '.join(mechanisms)}; key attributes journaled"
        if inventories:
            return True, "the token's mechanisms for the script's keys listed"
        tagged = self.tagged("EV-SETTINGS")
        if tagged:
            return True, f"step {', '.join(e.step or '' for e in tagged)} completed"
        return False, "no entry lists the device's mechanisms or key-generation settings"

    def _ev_integrity(self, found: _Found) -> tuple[bool, str]:
        """A witness step that verified the software, or a production preflight that did.

        The preflight counts when its last image (dm-verity root hash) and software (every
        file's SHA-256) checks passed; a rehearsal's checks are informational.
        """
        found.add(self.opened)
        software = self.opened.data.get("software")
        if isinstance(software, Mapping):
            found.digest("software", software.get("sha256"))
        checked = self.preflight("image", "software")
        found.add(*checked)
        for entry in checked:
            facts = entry.data.get("facts")
            if isinstance(facts, Mapping):
                found.digest("image dm-verity root hash", facts.get("cmdline_root_hash"))
                found.digest("image packages.lock", facts.get("packages_lock_sha256"))
                found.digest("software", facts.get("sealroom_sha256"))
        last = {str(e.data.get("check")): e for e in checked}
        hashed = all(
            check in last
            and last[check].data.get("passed") is True
            and last[check].data.get("blocking") is True
            for check in ("image", "software")
        )
        preflight = self._preflight_note(checked)
        tagged = self._with_tags(found, "EV-INTEGRITY")
        failed = [e.step or "" for e in tagged if e.data.get("matches") is False]
        if failed:
            return False, f"the integrity check at step {', '.join(failed)} did not match"
        if not tagged:
            if hashed:
                return True, "image and software verified by hash before any step" + preflight
            scripted = self.tagged_steps("EV-INTEGRITY")
            if scripted:
                return (
                    False,
                    f"step {', '.join(scripted)} (software integrity) not completed" + preflight,
                )
            return False, "no step verifies the software's integrity" + preflight
        return (
            True,
            "software hash checked by the witnesses at step "
            + ", ".join(e.step or "" for e in tagged)
            + preflight,
        )

    def _ev_teb(self, found: _Found) -> tuple[bool, str]:
        typed = [e for e in self.of("entry.recorded") if e.data.get("format") == "bag-serial"]
        found.add(*typed, *self.of("bag.sealed", "bag.rechecked", "share.sealed"))
        values = {str(e.data.get("value")) for e in typed}
        scripted = [
            (material.id, bag)
            for material in self.script.materials
            for bag in (material.bag_in, material.bag_out)
            if bag is not None
        ]
        lacking = [f"{bag} ({mid})" for mid, bag in scripted if bag not in values]
        bad = [e.seq for e in self.of("bag.rechecked") if e.data.get("matches") is False]
        if lacking:
            return False, f"bag serial not recorded: {', '.join(lacking)}"
        if not found.entries:
            return False, "no tamper-evident bag serial recorded"
        note = f"{_plural(len(scripted), 'scripted bag')} recorded"
        if bad:
            note += f"; a re-check did not match at entry {', '.join(map(str, bad))}"
        return True, note

    def _ev_clock(self, found: _Found) -> tuple[bool, str]:
        offsets = [
            e
            for e in self.of("entry.recorded")
            if e.data.get("format") == "clock-offset"
            and isinstance(e.data.get("offset_seconds"), int)
        ]
        clocks = self.preflight("clock")
        found.add(*offsets, *clocks)
        rtc = ""
        if clocks:
            facts = clocks[0].data.get("facts")
            difference = (
                facts.get("system_minus_rtc_seconds") if isinstance(facts, Mapping) else None
            )
            rtc = (
                f"; preflight (entry {clocks[0].seq}): system minus hardware clock {difference} s"
                if isinstance(difference, str) and difference
                else f"; preflight (entry {clocks[0].seq}): no hardware clock"
            )
        if not offsets:
            return False, "no clock-offset entry" + rtc
        offset = offsets[0].data.get("offset_seconds")
        readers = self._names(
            sorted({a.participant for a in offsets[0].actors if a.capacity == "witness"})
        )
        return (
            True,
            f"reference minus workstation: {offset} s, read by {readers or 'nobody named'}" + rtc,
        )

    # -------------------------------------------------------------------------- D. execution

    def _ev_log(self, found: _Found) -> tuple[bool, str]:
        keys = self.of("journal.log-key")
        checkpoints = self.of("journal.checkpoint")
        found.add(*keys, *checkpoints)
        last = self.entries[-1]
        found.add(last)
        if not keys or not checkpoints:
            return False, (
                f"{len(self.entries)} entries hash-chained, but no signed checkpoint"
                if keys
                else "no ceremony-log key: the journal's checkpoints are not signed"
            )
        return True, (
            f"{len(self.entries)} entries hash-chained "
            f"from entry 1; {_plural(len(checkpoints), 'signed checkpoint')}"
        )

    def _ev_steps(self, found: _Found) -> tuple[bool, str]:
        done = self.of("step.completed", "step.skipped")
        found.add(*done)
        if not done:
            return False, "no step completed"
        unperformed = [
            e.step or "" for e in done if not any(a.capacity == "performer" for a in e.actors)
        ]
        if unperformed:
            return False, f"no performer journaled for step {', '.join(unperformed)}"
        skipped = len(self.of("step.skipped"))
        return True, (
            f"{_plural(len(done) - skipped, 'step')} completed"
            + (f", {skipped} skipped after a deviation" if skipped else "")
            + ", each with its performer and witnesses"
        )

    def _ev_collected(self, found: _Found) -> tuple[bool, str]:
        inputs = self.of("input.received")
        shown = self.of("qr.shown")
        found.add(*inputs, *shown)
        for entry in inputs:
            found.digest(f"input {entry.data.get('input_id')} DER", entry.data.get("der_sha256"))
        for entry in shown:
            what = entry.data.get("certificate_id") or entry.data.get("artifact")
            found.digest(f"{what} shown as QR", entry.data.get("payload_sha256"))
        tagged = self._with_tags(found, "EV-COLLECTED")
        if inputs or shown:
            parts = [f"{_plural(len(inputs), 'input')} taken in"] if inputs else []
            parts += [f"{_plural(len(shown), 'hand-out')} as QR codes"] if shown else []
            return True, " and ".join(parts) + ", each with its SHA-256"
        if tagged:
            return True, f"collected at step {', '.join(e.step or '' for e in tagged)}"
        return False, "nothing taken in or handed out, and no collecting step completed"

    def _ev_deviation(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        recorded = self.of("deviation.recorded", "ceremony.aborted", "backup.abandoned")
        found.add(*recorded)
        if self.script.deviations is None:
            return False, "the script has no deviations policy"
        # A backup attempt abandoned after an interruption is a deviation by nature.
        count = len(self.of("deviation.recorded", "backup.abandoned"))
        if self.closing is None:
            return False, (
                f"{_plural(count, 'deviation')} recorded so far; the closing entry (not in these "
                "entries) shows the list is complete"
            )
        found.add(self.closing)
        if count == 0 and self.closing.event == "ceremony.closed":
            return True, f"no deviation recorded through the closing entry {self.closing.seq}"
        return True, f"{_plural(count, 'deviation')} recorded; closed by entry {self.closing.seq}"

    def _ev_custody(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        if not self.script.custody:
            return False, "the script has no custody section"
        return self._tag_only(
            found, "EV-CUSTODY", f"{_plural(len(self.script.custody), 'item')} assigned to a place"
        )

    # ----------------------------------------------------------------------- E. key inventory

    def _keys(self, found: _Found, *events: str) -> list[JournalEntry]:
        keys = self.of(*events)
        found.add(*keys)
        return [_key_data(e) for e in keys]

    def _made_here(self) -> list[JournalEntry]:
        """Keys made in this ceremony: generated, or found by a resumed generate-key step."""
        return [
            e
            for e in self.of("key.generated", "key.found")
            if e.event == "key.generated" or e.data.get("after_interruption") is True
        ]

    def _generated_missing(self) -> list[str]:
        made = {e.data.get("key_id") for e in self._made_here()}
        return [
            str(s.params.get("key"))
            for s in self.script.steps
            if isinstance(s, ActionStep)
            and s.action == "generate-key"
            and s.id in self.completed
            and s.params.get("key") not in made
        ]

    def _labels(self, keys: Sequence[JournalEntry]) -> str:
        return ", ".join(sorted({str(e.data.get("label")) for e in keys}))

    def _ev_key_id(self, found: _Found) -> tuple[bool, str]:
        keys = [
            e
            for e in self._keys(found, *IDENTIFIED_EVENTS)
            if _text(e.data, "label") and _text(e.data, "cka_id")
        ]
        destroyed = self._keys(found, "key.destroyed")
        missing = self._generated_missing()
        if missing:
            return False, f"no key.generated for {', '.join(missing)}"
        if not keys and not destroyed:
            return False, "no key generated, found, re-split or destroyed with its label and CKA_ID"
        return True, f"label and CKA_ID of {self._labels(keys + destroyed)}"

    def _ev_key_alg(self, found: _Found) -> tuple[bool, str]:
        keys = [e for e in self._keys(found, *KEY_EVENTS) if _text(e.data, "algorithm")]
        if not keys:
            return False, "no key generated or found with its algorithm"
        return True, ", ".join(f"{e.data.get('label')}: {e.data.get('algorithm')}" for e in keys)

    def _ev_key_fpr(self, found: _Found) -> tuple[bool, str]:
        keys = [e for e in self._keys(found, *IDENTIFIED_EVENTS) if _fingerprint_hex(e.data)]
        for entry in keys:
            found.digest(f"SPKI of {entry.data.get('label')}", _fingerprint_hex(entry.data))
        if not keys:
            return False, "no key generated or found with its SPKI fingerprint"
        return True, f"SPKI SHA-256 of {self._labels(keys)}"

    def _ev_key_parked(self, found: _Found) -> tuple[bool, str]:
        generated = self._keys(found, "key.generated")
        present, note = self._tag_only(found, "EV-KEY-PARKED", "parked-key register")
        if not generated:
            return False, "no key generated"
        return present, note

    def _ev_key_date(self, found: _Found) -> tuple[bool, str]:
        made = self._made_here()
        found.add(*made)
        dates = []
        for entry in made:
            if entry.event == "key.generated" and _text(entry.data, "generated_at"):
                dates.append(f"{entry.data.get('label')}: {entry.data.get('generated_at')}")
            elif entry.event == "key.found":
                # Made by the interrupted run of this step, before this entry was written.
                dates.append(
                    f"{entry.data.get('label')}: before {entry.time_text} (found by step "
                    f"{entry.step} after an interruption)"
                )
        if not dates:
            return False, "no key.generated entry with its generation time"
        return True, ", ".join(dates)

    def _ev_key_purpose(self, found: _Found) -> tuple[bool, str]:
        found.add(self.opened)
        keys = self._keys(found, *KEY_EVENTS)
        if not keys:
            return False, "no key generated or found"
        purposes = []
        for entry in keys:
            key_id = str(entry.data.get("key_id"))
            spec = next((k for k in self.script.keys if k.id == key_id), None)
            if spec is None:
                return False, f"the key {key_id} of entry {entry.seq} is not in the script"
            purposes.append(f"{spec.label}: {', '.join(spec.purpose)} only")
        return True, "; ".join(dict.fromkeys(purposes))

    def _ev_artifacts(self, found: _Found) -> tuple[bool, str]:
        made = self.of(*ARTEFACT_EVENTS)
        found.add(*made)
        for entry in made:
            output = entry.data.get("output") or ARTEFACT_EVENTS[entry.event]
            found.digest(f"{output} (DER)", entry.data.get("sha256"))
        if not made:
            return False, "no certificate, CSR or CRL produced"
        return True, ", ".join(
            f"{ARTEFACT_EVENTS[e.event]} {e.data.get('output')}" for e in made
        ) + " with SHA-256"

    # ------------------------------------------------------- F. backup, activation, destruction

    def _backup_shares(self, backup_id: object) -> list[JournalEntry]:
        return [e for e in self.of("share.sealed") if e.data.get("backup_id") == backup_id]

    def _ev_backup(self, found: _Found) -> tuple[bool, str]:
        """``backup.made``: every medium read back with the blob's SHA-256, every share sealed.

        ``backup.resplit``: the backup copy kept under multi-person control by a new share set:
        its blob read with the stated SHA-256, the KEK's KCV matched, a session copy that signed
        and verified and left no object, and every new share sealed in its bag.
        """
        made = self.of("backup.made")
        resplit = self.of("backup.resplit")
        if not made and not resplit:
            scripted = self.tagged_steps("EV-BACKUP")
            if scripted:
                return False, f"no backup.made or backup.resplit (step {', '.join(scripted)})"
            return False, "no backup.made or backup.resplit entry"
        notes = []
        for entry in resplit:
            problem = self._resplit_problem(found, entry)
            if problem is not None:
                return False, problem
            data = entry.data
            count = data.get("share_count")
            notes.append(
                f"{data.get('backup_id')} of {data.get('label')} re-split: KCV "
                f"{data.get('check_value')} matched, blob SHA-256 read back from "
                f"{_medium_material(data)}, unwrapped as a session object that signed and "
                f"verified, split {data.get('threshold')} of {count}, all {count} new shares "
                f"sealed; old set {data.get('old_set_identifier')} void"
            )
        for entry in made:
            data = entry.data
            backup_id = data.get("backup_id")
            # An attempt abandoned after an interruption sealed sheets of another KEK: not these.
            abandoned = self._abandoned_kcvs(backup_id)
            sealed = [
                e
                for e in self._backup_shares(backup_id)
                if e.data.get("check_value") not in abandoned
            ]
            shown = [e for e in self.of("qr.shown") if e.data.get("backup_id") == backup_id]
            attempts = [
                e
                for e in self.of("backup.wrapped", "backup.abandoned")
                if e.data.get("backup_id") == backup_id
            ]
            found.add(entry, *sealed, *shown, *attempts)
            blob = _text(data, "blob_sha256")
            found.digest(f"backup {backup_id} blob", blob)
            found.digest(f"SPKI of {data.get('label')}", _fingerprint_hex(data))
            media = data.get("media")
            media = media if isinstance(media, Sequence) and not isinstance(media, str) else []
            if not media or not all(
                isinstance(m, Mapping) and m.get("sha256") == blob for m in media
            ):
                return False, f"backup {backup_id}: a medium did not read back the blob's SHA-256"
            listed = data.get("sealed")
            count = data.get("share_count")
            if not isinstance(listed, Sequence) or len(listed) != count or len(sealed) != count:
                return False, f"backup {backup_id}: not every share is shown sealed in its bag"
            where = "1 medium" if len(media) == 1 else f"{len(media)} media"
            notes.append(
                f"{backup_id} of {data.get('label')}: KCV {data.get('check_value')}, blob on "
                f"{where} read back, split {data.get('threshold')} of {count}, all {count} "
                "shares sealed"
            )
        return True, "; ".join(notes)

    def _old_threshold(self, backup_id: Json | None) -> int:
        """The old set's threshold the script states for a re-split (none stated: 1)."""
        spec = next((b for b in self.script.backups if b.id == backup_id), None)
        old = spec.resplit if spec is not None else None
        return old.old_threshold if old is not None else 1

    def _resplit_problem(self, found: _Found, entry: JournalEntry) -> str | None:
        """What a ``backup.resplit`` does not show (None: blob, KEK, key and new set proved)."""
        data = entry.data
        backup_id = data.get("backup_id")
        sealed = [e for e in self._backup_shares(backup_id) if e.step == entry.step]
        voided = [
            e
            for e in self.of("shares.voided")
            if e.data.get("backup_id") == backup_id and e.step == entry.step
        ]
        found.add(entry, *sealed, *voided)
        blob = _text(data, "blob_sha256")
        found.digest(f"backup {backup_id} blob", blob)
        found.digest(f"SPKI of {data.get('label')}", _fingerprint_hex(data))
        medium = data.get("medium")
        read = medium.get("sha256") if isinstance(medium, Mapping) else None
        if blob is None or read != blob or data.get("blob_sha256_matched") is not True:
            return f"re-split of {backup_id}: the blob was not read back with its SHA-256"
        if data.get("check_value_matched") is not True:
            return f"re-split of {backup_id}: the old shares' KCV is not shown to match"
        if not (
            data.get("verified") is True
            and data.get("unwrapped_as") == "session object"
            and data.get("objects_before") == data.get("objects_after")
        ):
            return f"re-split of {backup_id}: the key-encryption key is not proved to open the blob"
        listed = _list(data.get("sealed"))
        count = data.get("share_count")
        bags = [s.get("bag") for s in listed if isinstance(s, Mapping)]
        if (
            len(listed) != count
            or len(sealed) != count
            or not all(isinstance(b, str) and b for b in bags)
        ):
            return f"re-split of {backup_id}: not every new share is shown sealed in its bag"
        if not voided:
            return f"re-split of {backup_id}: the old share set is not declared void"
        return None

    def _ev_quorum(self, found: _Found) -> tuple[bool, str]:
        activated = self.of("quorum.activated")
        split = [
            e
            for e in self.of("token.initialised")
            if isinstance(e.data.get("activation"), Mapping) and e.data.get("activation")
        ]
        made = self.of("backup.made")
        restored = [e for e in self.of("restore.tested") if e.data.get("passed") is True]
        found.add(*activated, *split, *self.of("share.sealed"), *self.tagged("EV-QUORUM"))
        resplit = [
            e
            for e in self.of("backup.resplit")
            if e.data.get("check_value_matched") is True
            and len(set(map(str, _list(e.data.get("old_custodians")))))
            >= self._old_threshold(e.data.get("backup_id"))
        ]
        found.add(*made, *restored, *resplit, *self.of("shares.voided"))
        if made or restored or resplit:
            parts = [
                f"backup {e.data.get('backup_id')}: key-encryption key split "
                f"{e.data.get('threshold')} of {e.data.get('share_count')}"
                for e in made
            ]
            parts += [
                f"restore test of {e.data.get('backup_id')}: "
                f"{_plural(len(_list(e.data.get('custodians'))), 'custodian')} combined shares"
                for e in restored
            ]
            parts += [
                f"re-split of {e.data.get('backup_id')}: "
                f"{_plural(len(_list(e.data.get('old_custodians'))), 'custodian')} of the old "
                f"set {e.data.get('old_set_identifier')} combined shares, split anew "
                f"{e.data.get('threshold')} of {e.data.get('share_count')}"
                for e in resplit
            ]
            if activated:
                parts.append(f"{activated[-1].data.get('what')} activated by custodians' shares")
            return True, "; ".join(parts)
        if activated:
            what = activated[-1].data
            custodians = what.get("custodians")
            count = len(custodians) if isinstance(custodians, Sequence) else 0
            return True, (
                f"{what.get('what')}: {_plural(count, 'custodian')} combined their shares "
                f"(threshold {what.get('threshold')})"
            )
        if split:
            return True, "PINs split m-of-n among custodians at initialisation"
        tagged = self.tagged("EV-QUORUM")
        if tagged:
            return True, f"step {', '.join(e.step or '' for e in tagged)} completed"
        return False, "no quorum.activated or split at initialisation"

    def _ev_restore(self, found: _Found) -> tuple[bool, str]:
        """A passed ``restore.tested`` (verified, token empty) for every backup made here."""
        tested = self.of("restore.tested")
        failed = self.of("restore.failed")
        found.add(*tested, *failed)
        passed = {
            e.data.get("backup_id")
            for e in tested
            if e.data.get("passed") is True
            and e.data.get("verified") is True
            and e.data.get("check_value_matched") is True
            and e.data.get("blob_sha256_matched") is True
            and e.data.get("objects_after_zeroise") == 0
        }
        for entry in tested:
            found.digest(
                f"restored key of {entry.data.get('backup_id')}",
                _fingerprint_hex({"fingerprint": entry.data.get("restored_fingerprint")}),
            )
        made = [e.data.get("backup_id") for e in self.of("backup.made")]
        untested = [str(b) for b in made if b not in passed]
        if untested:
            return False, f"no passed restore test of backup {', '.join(untested)}"
        if not passed:
            return False, "no restore.tested entry that passed"
        failures = f"; {_plural(len(failed), 'failed attempt')} before" if failed else ""
        return True, (
            f"restored, signed and verified, token emptied: {', '.join(sorted(map(str, passed)))}"
            + failures
        )

    def _ev_destroy(self, found: _Found) -> tuple[bool, str]:
        destroyed = self.of("key.destroyed")
        zeroised = self.of("token.zeroised")
        found.add(*destroyed, *zeroised)
        if not destroyed and not zeroised:
            return False, "no key.destroyed or token.zeroised entry"
        for entry in destroyed:
            label = entry.data.get("label")
            remaining = entry.data.get("remaining")
            if isinstance(remaining, Sequence) and any(
                isinstance(o, Mapping) and o.get("label") == label for o in remaining
            ):
                return False, f"an object labelled {label} remains after entry {entry.seq}"
        for entry in zeroised:
            if entry.data.get("after"):
                return (
                    False,
                    f"the token still lists objects after re-initialisation (entry {entry.seq})",
                )
        return True, (
            f"{_plural(len(destroyed), 'key')} destroyed, {_plural(len(zeroised), 'token')} "
            "re-initialised; objects listed afterwards"
        )

    def _ev_migrate(self, found: _Found) -> tuple[bool, str]:
        """A migration proved, its source copy destroyed and its source token shown empty.

        ``key.recovered`` with ``migration: true``: the key in the target token signed, verified
        and has the expected fingerprint; then ``key.destroyed`` of the key on the source token
        and ``token.zeroised`` of the source token with nothing after.
        """
        migrations = [e for e in self.of("key.recovered") if e.data.get("migration") is True]
        found.add(*migrations, *self.tagged("EV-MIGRATE"))
        if not migrations:
            scripted = self.tagged_steps("EV-MIGRATE")
            where = f" (step {', '.join(scripted)})" if scripted else ""
            return False, f"no key.recovered of a migration{where}"
        notes = []
        for entry in migrations:
            data = entry.data
            backup_id = data.get("backup_id")
            expected = data.get("expected")
            expected_fpr = expected.get("fingerprint") if isinstance(expected, Mapping) else None
            fpr = _fingerprint_hex(data)
            if not (
                data.get("verified") is True
                and data.get("fingerprint_matched") is True
                and fpr is not None
                and fpr == expected_fpr
            ):
                return False, f"migration of {backup_id}: the target's key is not proved"
            found.digest(f"migrated key of {backup_id}", fpr)
            source = data.get("source_token")
            target = data.get("target_token")
            source_serial = source.get("serial") if isinstance(source, Mapping) else None
            token = target.get("token") if isinstance(target, Mapping) else None
            target_serial = token.get("serial") if isinstance(token, Mapping) else None
            if not source_serial or not target_serial or source_serial == target_serial:
                return False, f"migration of {backup_id}: source and target tokens not named"
            key_id = data.get("key_id")
            destroyed = next(
                (
                    e
                    for e in self.of("key.destroyed")
                    if e.seq > entry.seq
                    and e.data.get("key_id") == key_id
                    and e.data.get("token_serial") == source_serial
                ),
                None,
            )
            if destroyed is None:
                return False, f"migration of {backup_id}: the source key is not destroyed"
            zeroised = next(
                (
                    e
                    for e in self.of("token.zeroised")
                    if e.seq > destroyed.seq
                    and _serial_after(e) == source_serial
                    and not e.data.get("after")
                ),
                None,
            )
            if zeroised is None:
                return False, f"migration of {backup_id}: the source token is not shown empty"
            found.add(destroyed, zeroised)
            notes.append(
                f"{data.get('backup_id')}: token {source_serial} to {target_serial}, fingerprints "
                "equal, signed and verified; source key destroyed and source token shown empty"
            )
        return True, "; ".join(notes)

    def _ev_transport(self, found: _Found) -> tuple[bool, str]:
        return self._tag_only(found, "EV-TRANSPORT", "hand-over")

    # ------------------------------------------------------------------------------ G. sign-off

    def _ev_signoff(self, found: _Found) -> tuple[bool, str]:
        recorded = self.of("signoff.recorded")
        found.add(*recorded)
        if not recorded:
            return False, "no signoff.recorded entry"
        statements = recorded[-1].data.get("statements")
        given: dict[str, bool] = {}
        if isinstance(statements, Sequence):
            for statement in statements:
                if isinstance(statement, Mapping):
                    given[str(statement.get("participant"))] = statement.get("followed") is True
        silent = [p for p in self._present_ids() if p not in given]
        if silent:
            return False, f"no statement from {self._names(silent)}"
        not_followed = sum(1 for followed in given.values() if not followed)
        return True, (
            f"{_plural(len(given), 'statement')}: {len(given) - not_followed} followed, "
            f"{not_followed} not followed"
        )

    def _ev_report(self, found: _Found) -> tuple[bool, str]:
        printed = self.of("report.printed")
        found.add(*printed)
        for entry in printed:
            found.digest(f"report PDF (entry {entry.seq})", entry.data.get("sha256"))
        if not printed:
            return False, "no report.printed entry"
        last = printed[-1].data
        return True, (
            f"printed on {last.get('printer')} (job {last.get('job')}), covering entries 1 to "
            f"{last.get('covers_through')}"
        )


__all__ = [
    "EvidenceMatrix",
    "EvidenceRow",
    "awaited",
    "evidence_matrix",
    "journal_script",
]
