"""The ceremony report: an A4 PDF for the auditor, rendered from the journal entries alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table, TableStyle

from sealroom.ceremony.actions import journal_head_payload
from sealroom.ceremony.evidence import ROOT_CEREMONY_TYPES
from sealroom.ceremony.fingerprint import Fingerprint, fingerprint_from_hex, pgp_words
from sealroom.ceremony.ports import ReportRenderer
from sealroom.ceremony.script import (
    JOURNAL_HEAD,
    ActionStep,
    EntryStep,
    Role,
    Script,
    WitnessCheckStep,
)
from sealroom.errors import JournalError, ReportError, SealroomError, TransferError
from sealroom.journal.entry import JournalEntry
from sealroom.journal.verify import read_verified_entries
from sealroom.paper_style import (
    ALERT,
)
from sealroom.report.layout import (
    CONTENT_WIDTH,
    CheckBox,
    PageFrame,
    esc,
    fields,
    grid,
    mono_lines,
    para,
    render_pdf,
)
from sealroom.report.matrix import EvidenceRow, awaited, evidence_matrix
from sealroom.report.record import (
    AbandonedBackupView,
    ActivationView,
    BackupShareView,
    BackupView,
    CeremonyRecord,
    CertificateView,
    CrlView,
    CsrView,
    DestructionView,
    InputView,
    InterruptionView,
    KeyView,
    MechanismView,
    PreflightCheckView,
    PrinterCheckView,
    RecoveryView,
    RegistryView,
    ResplitView,
    RestoreView,
    ShareSlot,
    SplitView,
    StepRecord,
    TokenObject,
    ZeroisationView,
    ceremony_record,
    clock_text,
    share_problem,
)
from sealroom.transfer.paper import transfer_grid_flowables

INPUT_PAYLOAD_TYPES: Final[dict[str, str]] = {
    "csr": "CSR",
    "certificate": "CRT",
    "journal-head": "JNL",
}
"""Inputs printed again as QR codes; a backup blob is not (it stays on its media)."""


class JournalReportRenderer:
    """The engine's ``ReportRenderer`` port: renders the report of the journal at ``path``."""

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path

    def render_report(self) -> bytes:
        """Read and verify the journal as it stands now, then render its report."""
        try:
            _, entries = read_verified_entries(self.journal_path)
        except JournalError as exc:
            raise ReportError(f"The ceremony report cannot be rendered: {exc}") from exc
        return render_ceremony_report(entries)


def render_ceremony_report(entries: Sequence[JournalEntry]) -> bytes:
    """The PDF bytes of the ceremony report for ``entries`` (a journal from its first entry).

    Deterministic: the same entries give the same bytes. Raises ReportError if the entries are
    not one hash chain starting with ``ceremony.opened`` or an entry lacks what it must hold.
    """
    record = ceremony_record(entries)
    head = record.head
    page = PageFrame(
        heading=f"Ceremony report  |  {record.ceremony_id}",
        identity_label="Script SHA-256",
        identity_hex=record.script_sha256,
        identity_words=record.script_words,
        footer=(
            f"Rendered from journal entries 1 to {head.seq}; entry {head.seq} SHA-256 {head.sha256}"
        ),
        rehearsal=record.rehearsal,
    )
    try:
        return render_pdf(
            lambda: _story(record),
            page,
            title=f"{record.ceremony_id} ceremony report",
            subject=f"{record.title} (journal entries 1 to {head.seq})",
            author=record.software,
        )
    except SealroomError:
        raise
    except Exception as exc:  # reportlab raises bare exceptions (LayoutError, ValueError)
        raise ReportError(
            f"The ceremony report could not be laid out ({type(exc).__name__}: {exc})."
        ) from exc


# ---------------------------------------------------------------------------------------------
# Sections


def _heading(number: int, title: str, evidence: str) -> Flowable:
    text = f"{number}. {esc(title)} <font color='#555555' size='9'>[{esc(evidence)}]</font>"
    return para(text, "h1", markup=True)


def _section(
    number: int, title: str, evidence: str, first: Flowable | Sequence[Flowable]
) -> list[Flowable]:
    """A heading kept on the page with the start of its content (one flowable or several)."""
    start = [first] if isinstance(first, Flowable) else list(first)
    return [CondPageBreak(40 * mm), KeepTogether([_heading(number, title, evidence), *start])]


SECTIONS: Final = (
    "identity",
    "people",
    "materials",
    "device",
    "quorum",
    "steps",
    "keys",
    "inputs",
    "artefacts",
    "crls",
    "destruction",
    "backup",
    "deviations",
    "custody",
    "matrix",
    "journal",
    "signoff",
)
NUMBER: Final = {name: number for number, name in enumerate(SECTIONS, start=1)}
"""Section numbers, so that cross-references in the text follow the order."""


def _story(record: CeremonyRecord) -> list[Flowable]:
    story: list[Flowable] = [
        para("Ceremony report", "title"),
        para(record.title, "subtitle"),
        _summary(record),
    ]
    story += _identity(record, NUMBER["identity"])
    story += _people(record, NUMBER["people"])
    story += _materials(record, NUMBER["materials"])
    story += _device(record, NUMBER["device"])
    story += _quorum(record, NUMBER["quorum"])
    story += _steps(record, NUMBER["steps"])
    story += _keys(record, NUMBER["keys"])
    story += _inputs(record, NUMBER["inputs"])
    story += _artefacts(record, NUMBER["artefacts"])
    story += _crls(record, NUMBER["crls"])
    story += _destruction(record, NUMBER["destruction"])
    story += _backup(record, NUMBER["backup"])
    story += _deviations(record, NUMBER["deviations"])
    story += _custody(record, NUMBER["custody"])
    story += _compliance(record, NUMBER["matrix"])
    story += _journal(record, NUMBER["journal"])
    story += _signoff(record, NUMBER["signoff"])
    return story


def _status(record: CeremonyRecord) -> str:
    if record.ended_by == "ceremony.closed":
        return f"Closed ({record.end_detail}) at {clock_text(record.ended_at or record.opened_at)}"
    if record.ended_by == "ceremony.aborted":
        return f"ABORTED at {clock_text(record.ended_at or record.opened_at)}: {record.end_detail}"
    return (
        f"In progress when this report was rendered (journal entry {record.head.seq}); the "
        "closing entry follows the printing of this report"
    )


def _summary(record: CeremonyRecord) -> Flowable:
    done = sum(1 for s in record.steps if s.performed)
    skipped = sum(1 for s in record.steps if s.skipped)
    performed = f"{done} of {len(record.steps)}"
    if skipped:
        performed += f"; {skipped} skipped after a deviation (section {NUMBER['deviations']})"
    mode = (
        "REHEARSAL: practice run, not a ceremony record"
        if record.rehearsal
        else "Production ceremony"
    )
    rows: list[tuple[str, Flowable | str]] = [
        ("Ceremony id", para(record.ceremony_id, "cell_bold")),
        ("Mode", para(mode, "alert" if record.rehearsal else "cell_bold")),
        ("Status", _status(record)),
        ("Steps performed", performed),
        (
            "Deviations recorded",
            f"{len(record.deviations)} (section {NUMBER['deviations']})"
            if record.deviations
            else "none",
        ),
        (
            "Journal covered",
            f"entries 1 to {record.head.seq}; the chain was verified when this report was "
            f"rendered (section {NUMBER['journal']})",
        ),
    ]
    printing = _printing_now(record)
    if printing:
        rows.insert(3, ("Printed before the end", para(printing, "cell_bold")))
    if record.interruptions:
        stops = "; ".join(
            f"stopped after entry {i.stopped_after if i.stopped_after is not None else '?'}, "
            f"resumed at entry {i.seq}"
            for i in record.interruptions
        )
        rows.insert(
            4,
            (
                "Interrupted and resumed",
                para(
                    f"{_times(len(record.interruptions))}: {stops}. Not by itself a deviation: "
                    f"what was repeated, completed or set aside is in section {NUMBER['steps']}",
                    "cell_bold",
                ),
            ),
        )
    return fields(rows)


def _printing_now(record: CeremonyRecord) -> str | None:
    """The sentence saying this report is printed before the closing steps, by design."""
    if record.ended_by is not None:
        return None
    pending = [s for s in record.steps if not s.performed and not s.skipped]
    if not pending:
        return None
    first = pending[0]
    if not isinstance(first.step, ActionStep) or first.step.action != "print-report":
        return None
    later = [f"step {s.number} ({s.step.title})" for s in pending[1:]]
    follow = "; ".join([*later, "the closing entry"])
    return (
        f"By design, this report is printed at step {first.number} ({first.step.title}), "
        f"before the closing steps. Still to come, in the journal and the evidence bundle but "
        f"not in this report: {follow}."
    )


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _identity(record: CeremonyRecord, number: int) -> list[Flowable]:
    ceremony = record.script.ceremony
    script_fpr = Fingerprint(record.script_sha256, record.script_words)
    rows: list[tuple[str, Flowable | str]] = [
        ("Ceremony type", ceremony.type),
        ("Title", ceremony.title),
        ("Objectives", _bullets(ceremony.objectives)),
        (
            "CP/CPS governing the keys",
            f"{ceremony.cps.document}, version {ceremony.cps.version}, section "
            f"{ceremony.cps.section}"
            if ceremony.cps is not None
            else "not stated in the script",
        ),
        ("Management approval", _approval(record)),
        ("Location", f"{ceremony.location.site}, {ceremony.location.room}"),
        ("Physical security", _bullets(ceremony.location.physical_security)),
        ("Started (journal opened)", clock_text(record.opened_at)),
        ("Clock [EV-CLOCK]", _clock(record)),
        *_preflight_clock_rows(record),
        ("Ended", _ended(record)),
        ("Script file", record.script_name),
        ("Script SHA-256", _fingerprint_cell(script_fpr)),
        ("Software", record.software),
    ]
    if record.software_sha256 is not None:
        software_fpr = Fingerprint(
            record.software_sha256, pgp_words(bytes.fromhex(record.software_sha256))
        )
        rows.append(("Software SHA-256 [EV-INTEGRITY]", _fingerprint_cell(software_fpr)))
    rows += _preflight_integrity_rows(record)
    for check in record.registry_checks:
        rows.append(("Registry of the previous ceremony", _registry_cell(check)))
    return [
        *_section(
            number,
            "Ceremony identity",
            "EV-TYPE, EV-APPROVAL, EV-CPS, EV-PHYSICAL, EV-CLOCK, EV-SCRIPT",
            fields(rows),
        ),
        para(
            "The script's SHA-256 is that of the script file recorded whole in the first journal "
            "entry; it is printed at the top of every page.",
            "small",
        ),
    ]


def _registry_cell(check: RegistryView) -> Flowable:
    """What the previous ceremony's registry said, and what differed (decided as deviations)."""
    origin = "a rehearsal" if check.rehearsal else "the ceremony"
    lines = [
        f"Compared at entry {check.seq} with the registry of {origin} "
        f"<b>{esc(check.ceremony_id)}</b> (file SHA-256 "
        f"<font name='Courier-Bold'>{esc(check.registry_sha256)}</font>, tied to its journal's "
        f"final entry <font name='Courier-Bold'>{esc(check.journal_sha256)}</font>)."
    ]
    if not check.token_compared:
        lines.append("The token was not compared (a rehearsal's stand-in token or no HSM).")
    if check.mismatches:
        lines.append(
            f"<font color='#b00020'>{len(check.mismatches)} mismatch(es), each decided as a "
            f"deviation (section {NUMBER['deviations']}):</font>"
        )
        lines += [f"<font color='#b00020'>- {esc(m)}</font>" for m in check.mismatches]
    else:
        lines.append("Everything compared matches.")
    return para("<br/>".join(lines), "cell", markup=True)


def _approval(record: CeremonyRecord) -> Flowable:
    approval = record.script.ceremony.approval
    if approval is None:
        return para("NOT STATED in the script (WebTrust 4.1.5(b))", "alert")
    return para(
        f"<b>{esc(approval.approved_by)}</b>, {esc(approval.role)}<br/>"
        f"approved on {approval.date.isoformat()}, reference {esc(approval.reference)}",
        "cell",
        markup=True,
    )


def _clock(record: CeremonyRecord) -> Flowable:
    clock = record.clock
    if clock is None:
        step = next(
            (
                s
                for s in record.steps
                if isinstance(s.step, EntryStep) and s.step.entry.format == "clock-offset"
            ),
            None,
        )
        if step is None:
            return para(
                "The script has no clock comparison (an entry step of format "
                "clock-offset); no offset is recorded.",
                "alert",
            )
        return para(
            f"No offset recorded yet: step {step.number} ({step.step.title}) was not performed.",
            "alert" if record.ended_by else "cell",
        )
    sentence = clock.sentence()
    return para(
        f"<b>{esc(sentence[0].upper() + sentence[1:])}</b> (step {clock.step_number}, "
        f"{esc(clock_text(clock.recorded_at))}). The offset typed is the reference time minus the "
        "workstation time; every time in this report is the workstation's.",
        "cell",
        markup=True,
    )


def _ended(record: CeremonyRecord) -> str:
    if record.ended_at is None:
        if _printing_now(record):
            return "not yet: this report is printed before the closing steps (see page 1)"
        return "not yet: the ceremony was still open when this report was rendered"
    what = "closed" if record.ended_by == "ceremony.closed" else "aborted"
    return f"{clock_text(record.ended_at)} ({what})"


def _bullets(items: Sequence[str]) -> Flowable:
    return para("<br/>".join(f"- {esc(item)}" for item in items), "cell", markup=True)


def _fingerprint_cell(fpr: Fingerprint, note: str | None = None) -> Flowable:
    text = f"<font name='Courier-Bold' size='7'>{esc(fpr.grouped())}</font><br/>{esc(fpr.words)}"
    if note:
        text += f"<br/><font color='#555555'>{esc(note)}</font>"
    return para(text, "cell", markup=True)


def _people(record: CeremonyRecord, number: int) -> list[Flowable]:
    script = record.script
    acts = {act.id: act.title for act in script.acts}
    role_rows = []
    for role in script.roles:
        during = esc(role.duties)
        for act_id, text in role.acts.items():
            during += f"<br/><b>{esc(acts.get(act_id, act_id))}:</b> {esc(text)}"
        role_rows.append(
            [
                para(role.name, "cell_bold"),
                "yes" if role.trusted else "no",
                "internal" if role.internal else "external (independent)",
                para(during, "cell", markup=True),
                para(role.after, "cell")
                if role.after
                else para("NOT STATED in the script (WebTrust 4.1.5(a))", "alert"),
            ]
        )
    roles = grid(
        [
            "Role",
            "Trusted role",
            "Internal / external",
            "During the ceremony",
            "After the ceremony",
        ],
        role_rows,
        [34 * mm, 15 * mm, 22 * mm, 55 * mm, CONTENT_WIDTH - 126 * mm],
    )
    people_rows = []
    for participant in script.participants:
        names = [record.role_name(r) for r in participant.roles]
        trusted = [
            role.name for role in script.roles if role.id in participant.roles and role.trusted
        ]
        if record.present is None:
            presence, arrival = "not recorded yet", "-"
        elif participant.id in record.present:
            presence = "present"
            arrival = clock_text(record.attendance_at) if record.attendance_at else "-"
            for taken in record.breaks:
                if participant.id in taken.absent:
                    presence = f"left at the break (step {taken.step_number}), DID NOT RETURN"
                elif participant.id in taken.left:
                    presence += f"; away during the break (step {taken.step_number})"
        else:
            presence, arrival = "ABSENT", "-"
        people_rows.append(
            [
                para(participant.name, "cell_bold"),
                "; ".join(names),
                "yes" if trusted else "no",
                para(presence, "alert" if "NOT" in presence or presence == "ABSENT" else "cell"),
                arrival,
            ]
        )
    people = grid(
        ["Participant", "Role(s)", "Trusted", "Attendance", "Recorded present at"],
        people_rows,
        [46 * mm, 40 * mm, 14 * mm, 40 * mm, CONTENT_WIDTH - 140 * mm],
    )
    return [
        *_section(number, "Participants and roles", "EV-ROLES, EV-ATTEND, EV-TRUSTED", roles),
        Spacer(1, 4 * mm),
        people,
        para(
            "Who acted together in each step (multi-person control) is shown in section "
            f"{NUMBER['steps']}.",
            "small",
        ),
        *_breaks(record),
    ]


def _breaks(record: CeremonyRecord) -> list[Flowable]:
    scheduled = [s for s in record.steps if s.step.kind == "break"]
    if not scheduled:
        return [para("The script schedules no break and none is recorded.", "small")]
    rows = []
    alerts = []
    for step in scheduled:
        taken = next((b for b in record.breaks if b.step_number == step.number), None)
        label = para(f"<b>{step.number}</b> {esc(step.step.title)}", "cell", markup=True)
        if taken is None:
            text = "skipped after a deviation" if step.skipped else "not taken"
            rows.append([label, para(text, "cell"), "", "", ""])
            if not step.ok:
                alerts.append(len(rows) - 1)
            continue
        absent = _names(record, taken.absent) if taken.absent else "-"
        rows.append(
            [
                label,
                _time(taken.started_at),
                para(_names(record, taken.left) or "nobody", "cell"),
                _time(taken.ended_at),
                para(
                    (_names(record, taken.returned) or "nobody")
                    + ("" if not taken.absent else f". Did not return: {absent}"),
                    "alert" if taken.absent else "cell",
                ),
            ]
        )
        if taken.absent:
            alerts.append(len(rows) - 1)
    table = grid(
        ["Break (step)", "Began", "Who left the room", "Ended", "Who returned"],
        rows,
        [40 * mm, 18 * mm, 47 * mm, 18 * mm, CONTENT_WIDTH - 123 * mm],
        alerts=alerts,
    )
    return [
        CondPageBreak(30 * mm),
        para("Breaks: who left the room and who returned", "h2"),
        table,
        para(
            "The bags re-checked when the room resumed are in section "
            f"{NUMBER['materials']} and in the break's step.",
            "small",
        ),
    ]


def _names(record: CeremonyRecord, ids: Sequence[str]) -> str:
    return ", ".join(record.participant_name(p) for p in ids)


def _time(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S") if moment is not None else "-"


def _materials(record: CeremonyRecord, number: int) -> list[Flowable]:
    rows = []
    alerts = []
    for m in record.script.materials:
        cells = [
            _checked_value(record, m.id, "serial", m.serial),
            _checked_value(record, m.id, "bag_in", m.bag_in),
            _checked_value(record, m.id, "bag_out", m.bag_out),
        ]
        rows.append(
            [
                para(
                    f"<b>{esc(m.description)}</b><br/>{esc(m.kind)}, {esc(m.model)}"
                    f"<br/><font color='#555555'>id {esc(m.id)}</font>",
                    "cell",
                    markup=True,
                ),
                *(cell for cell, _ in cells),
            ]
        )
        if not all(ok for _, ok in cells):
            alerts.append(len(rows) - 1)
    table = grid(
        ["Material", "Serial", "Bag in (opened)", "Bag out (sealed)"],
        rows,
        [46 * mm, 40 * mm, 44 * mm, CONTENT_WIDTH - 130 * mm],
        alerts=alerts,
    )
    return [
        *_section(number, "Materials and tamper-evident bags", "EV-MATERIALS, EV-TEB", table),
        para(
            "Each value is the script's, followed by what was typed at the workstation when it "
            "was checked: bag in, the tamper-evident bag the item arrived in, checked before it "
            "was opened; bag out, the bag it was sealed into; re-checks, the serial typed again "
            "after a break.",
            "small",
        ),
        *_preflight(record),
    ]


# ---------------------------------------------------------------------------------------------
# Preflight: the workstation checked at the opening (EV-INTEGRITY, EV-CLOCK, EV-MATERIALS,
# EV-DEVICE), docs/preflight.md

PREFLIGHT_EVIDENCE: Final = {
    "network": "EV-MATERIALS",
    "image": "EV-INTEGRITY",
    "software": "EV-INTEGRITY",
    "devices": "EV-MATERIALS, EV-DEVICE",
    "clock": "EV-CLOCK",
    "evidence": "EV-LOG",
}
"""The evidence item each preflight check supplies (as the compliance matrix maps it)."""


def _red(text: str) -> str:
    return f"<font color='#b00020'><b>{text}</b></font>"


def _preflight_verdict(record: CeremonyRecord, view: PreflightCheckView) -> str:
    """PASS, or FAIL with what became of it: informational, waived by whom, retried, aborted."""
    if view.passed:
        return "<b>PASS</b>"
    if not view.blocking:
        return "<b>FAIL</b>, informational: a rehearsal's check decides nothing"
    decision = view.decision
    deviations = f"section {NUMBER['deviations']}"
    if decision is None:
        if record.ended_by is None:
            return _red("FAIL") + ": to be decided by the room (a deviation) before any step"
        return _red("FAIL, NOT DECIDED: no deviation records a decision on it")
    note = f"<br/><i>Note:</i> {esc(decision.note)}" if decision.note else ""
    if decision.decision == "proceed":
        return (
            _red("FAIL, WAIVED") + f": the room proceeded with the failure on record, decided by "
            f"<b>{esc(decision.decided_by)}</b> (deviation, entry {decision.seq}, {deviations})"
            + note
        )
    if decision.decision == "retry":
        return (
            _red("FAIL")
            + f": checked again, decided by {esc(decision.decided_by)} (deviation, entry "
            f"{decision.seq}, {deviations})" + note
        )
    return (
        _red("FAIL: the ceremony was stopped")
        + f" ({esc(decision.decided_by)}, entry {decision.seq}, {deviations})"
        + note
    )


def _preflight_when(record: CeremonyRecord, view: PreflightCheckView) -> str:
    moment = view.checked_at.strftime("%H:%M:%S")
    if view.at == "retry":
        step = record.step_number(view.step_id) if view.step_id else None
        where = f"retry at step {step}" if step is not None else "retry"
    else:
        where = view.at
    return f"{where}, {moment} (entry {view.seq})"


def _preflight(record: CeremonyRecord) -> list[Flowable]:
    """The table of every preflight check, then what the devices and network checks saw."""
    checks = record.preflight
    if not checks:
        return []
    if record.rehearsal:
        intro = (
            "Sealroom checked the workstation at the opening (docs/preflight.md). In a rehearsal "
            "the checks are informational: they show what production will check, and nothing "
            "they find stops or waives anything. Production runs network, image, software, "
            "devices, clock and evidence (the output folder is on a medium that survives "
            "power-off)."
        )
    else:
        intro = (
            "Sealroom checked the workstation at the opening, before any step (docs/preflight.md"
            "), and again on each resumption. A failed network check stops the ceremony and "
            "cannot be waived; any other failure is decided by the room as a deviation at "
            "attendance: proceed (the failure stays on record: WAIVED below, in red), check "
            "again, or abort."
        )
    rows: list[list[Flowable | str]] = []
    alerts: list[int] = []
    for view in checks:
        if not view.passed and view.blocking:
            alerts.append(len(rows))
        rows.append(
            [
                para(
                    f"<b>{esc(view.check)}</b><br/><font color='#555555' size='7'>"
                    f"{esc(PREFLIGHT_EVIDENCE.get(view.check, ''))}</font>",
                    "cell",
                    markup=True,
                ),
                para(_preflight_verdict(record, view), "cell", markup=True),
                view.detail,
                _preflight_when(record, view),
            ]
        )
    table = grid(
        ["Check", "Verdict", "Detail (as the room saw it)", "When"],
        rows,
        [22 * mm, 46 * mm, CONTENT_WIDTH - 100 * mm, 32 * mm],
        alerts=alerts,
        split_in_row=20 * mm,
    )
    out: list[Flowable] = [
        CondPageBreak(60 * mm),
        KeepTogether(
            [
                para(
                    "Workstation checks (preflight) <font color='#555555' size='8'>"
                    "[EV-INTEGRITY, EV-CLOCK, EV-MATERIALS, EV-DEVICE, EV-LOG]</font>",
                    "h2",
                    markup=True,
                ),
                para(intro, "body"),
            ]
        ),
        table,
    ]
    devices = [v for v in checks if v.check == "devices"]
    network = [v for v in checks if v.check == "network"]
    facts: list[tuple[str, Flowable | str]] = []
    if devices:
        last = devices[-1]
        unexpected = last.fact_list("unexpected")
        facts += [
            ("Matched to a material", _lines(last.fact_list("matched"))),
            (
                "No material accounts for",
                para("<br/>".join(esc(u) for u in unexpected), "alert", markup=True)
                if unexpected
                else "nothing",
            ),
            ("USB devices", _lines(last.fact_list("usb"))),
            ("Block devices", _lines(last.fact_list("block"))),
            ("PCI devices", _lines(last.fact_list("pci"))),
        ]
    if network:
        last_net = network[-1]
        facts.append(("Network interfaces", _lines(last_net.fact_list("interfaces"))))
        radios = last_net.fact_list("wireless") + last_net.fact_list("bluetooth")
        if radios:
            facts.append(
                ("Wireless or bluetooth", para(", ".join(radios), "alert")),
            )
    if facts:
        seqs = [str(v.seq) for v in (devices[-1:] + network[-1:])]
        where = f"entry {seqs[0]}" if len(seqs) == 1 else f"entries {', '.join(seqs)}"
        out += [
            para(
                f"What the last devices and network checks saw ({where}) "
                "<font color='#555555' size='8'>[EV-MATERIALS, EV-DEVICE]</font>",
                "h3",
                markup=True,
            ),
            fields(facts),
        ]
    return out


def _lines(items: Sequence[str]) -> Flowable | str:
    return para("<br/>".join(esc(i) for i in items), "cell", markup=True) if items else "none"


def _last_check(record: CeremonyRecord, check: str) -> PreflightCheckView | None:
    return next((v for v in reversed(record.preflight) if v.check == check), None)


def _preflight_clock_rows(record: CeremonyRecord) -> list[tuple[str, Flowable | str]]:
    """Beside the witnesses' clock offset: the clocks the preflight clock check read."""
    lines = []
    for view in record.preflight:
        if view.check != "clock":
            continue
        system = view.fact("system_utc") or "?"
        rtc = view.fact("rtc_utc")
        difference = view.fact("system_minus_rtc_seconds")
        text = f"{esc(_preflight_when(record, view))}: system clock {esc(system)} UTC"
        if rtc is not None and difference is not None:
            sign = "" if difference.startswith("-") else "+"
            text += (
                f", hardware clock {esc(view.fact('rtc') or 'RTC')} {esc(rtc)} UTC (system minus "
                f"RTC {esc(sign + difference)} s)"
            )
        else:
            text += ", no hardware clock found"
        lines.append(text)
    if not lines:
        return []
    lines.append(
        "<font color='#555555'>Neither clock is a reference: the offset above, read by the "
        "witnesses from a reference clock, is.</font>"
    )
    return [("Workstation clocks (preflight)", para("<br/>".join(lines), "cell", markup=True))]


def _preflight_integrity_rows(record: CeremonyRecord) -> list[tuple[str, Flowable | str]]:
    """The boot image and the software checked by hash before use (EV-INTEGRITY)."""
    rows: list[tuple[str, Flowable | str]] = []
    image = _last_check(record, "image")
    if image is not None:
        text = f"{_preflight_verdict(record, image)} ({esc(_preflight_when(record, image))})"
        root = image.fact("cmdline_root_hash")
        if image.passed and root is not None:
            words = image.fact("root_hash_words") or fingerprint_from_hex(root).words
            text += (
                f"<br/>Sealroom image {esc(image.fact('image_version') or '?')}, commit "
                f"<font name='Courier-Bold'>{esc(image.fact('commit') or '?')}</font>"
                f"<br/>dm-verity root hash on the kernel command line, equal to the boot "
                f"medium's manifest:<br/><font name='Courier-Bold' size='7'>"
                f"{esc(_grouped(root))}</font><br/>{esc(words)}<br/>Compare with the root hash "
                "published with the image."
            )
            lock = image.fact("packages_lock_sha256")
            if lock is not None:
                text += (
                    f"<br/>packages.lock SHA-256 <font name='Courier-Bold' size='7'>"
                    f"{esc(lock)}</font>"
                )
        else:
            text += f"<br/>{esc(image.detail)}"
        rows.append(("Boot image (preflight) [EV-INTEGRITY]", para(text, "cell", markup=True)))
    software = _last_check(record, "software")
    if software is not None:
        text = f"{_preflight_verdict(record, software)} ({esc(_preflight_when(record, software))})"
        running = software.fact("sealroom_sha256")
        expected = software.fact("expected_sealroom_sha256")
        if software.passed and running is not None:
            text += (
                f"<br/>Sealroom <font name='Courier-Bold' size='7'>{esc(_grouped(running))}"
                f"</font><br/>equal to the manifest {esc(software.fact('manifest') or '')}"
            )
            if expected is not None and expected != running:
                text += " " + _red("(the manifest says otherwise)")
            if record.software_sha256 is not None:
                text += (
                    "; equal to the software SHA-256 above"
                    if record.software_sha256 == running
                    else "; " + _red("NOT the software SHA-256 journaled at the opening")
                )
            files = software.fact("files_checked")
            count = len(software.fact_list("distributions"))
            if files is not None:
                text += f"<br/>{count} distributions, {esc(files)} files hashed and matched"
        else:
            text += f"<br/>{esc(software.detail)}"
        rows.append(
            ("Software manifest (preflight) [EV-INTEGRITY]", para(text, "cell", markup=True))
        )
    return rows


def _checked_value(
    record: CeremonyRecord, material: str, field: str, scripted: str | None
) -> tuple[Flowable, bool]:
    """The scripted value and every check typed against it; False when one failed."""
    if scripted is None:
        return para("-", "mono"), True
    lines = [f"<font name='Courier-Bold'>{esc(scripted)}</font>"]
    ok = True
    typed = record.typed_for(material, field)
    for entry in typed:
        verdict = "matches" if entry.matches else "DOES NOT MATCH"
        color = "#111111" if entry.matches else "#b00020"
        attempts = f", at attempt {entry.attempts}" if entry.attempts > 1 else ""
        lines.append(
            f"<font color='{color}'>typed at step {entry.step_number} "
            f"({_time(entry.recorded_at)}{attempts}): {esc(entry.value)}, {verdict}</font>"
        )
        ok = ok and bool(entry.matches)
    if field == "bag_in":
        # Bags sealed for a break are not the scripted ones: list them once, under bag in.
        for check in record.rechecks_of(material):
            verdict = "matches" if check.matches else "DOES NOT MATCH"
            color = "#111111" if check.matches else "#b00020"
            lines.append(
                f"<font color='{color}'>sealed for the break in {esc(check.expected)}; "
                f"re-checked after the break, step {check.step_number} "
                f"({_time(check.checked_at)}): {esc(check.typed)}, {verdict}</font>"
            )
    if not typed:
        checking = [
            s
            for s in record.steps
            if isinstance(s.step, EntryStep)
            and s.step.entry.expect is not None
            and s.step.entry.expect.material == material
            and s.step.entry.expect.field == field
        ]
        if checking:
            step = checking[0]
            if step.skipped:
                why = f"not checked: step {step.number} was skipped after a deviation"
            elif step.performed:
                why = f"no value accepted at step {step.number} (a deviation)"
            elif record.ended_by is not None:
                why = f"not checked: step {step.number} was not performed"
            else:
                why = ""
            lines.append(
                f"<font color='#b00020'>{esc(why)}</font>"
                if why
                else f"<font color='#555555'>to be checked at step {step.number}</font>"
            )
            ok = not why
        elif field == "serial" and (printers := record.printer_checks_of(material)):
            # One line per printer seen; a ceremony resumed many times checks it many times.
            seen: dict[tuple[str, str], list[PrinterCheckView]] = {}
            for printer in printers:
                seen.setdefault((printer.printer, printer.make_and_model), []).append(printer)
            for (queue, model), checks in seen.items():
                first, last = checks[0], checks[-1]
                again = (
                    f"; checked again on {len(checks) - 1} resumption(s), last at entry {last.seq}"
                    if len(checks) > 1
                    else ""
                )
                lines.append(
                    f"checked at the opening (entry {first.seq}, {_time(first.checked_at)}): "
                    f"{esc(queue)}, {esc(model)}, present and accepting jobs{again}; its "
                    "serial is not read by the workstation"
                )
        else:
            lines.append("<font color='#555555'>no step checks it</font>")
    return para("<br/>".join(lines), "cell", markup=True), ok


def _blank_field(token_fields: Sequence[tuple[str, str]]) -> str:
    """What an empty serial or label of a token means: an uninitialised slot, or nothing read."""
    flags = dict(token_fields).get("Token flags", "")
    if "TOKEN_INITIALIZED" in flags.replace(" ", "").split(","):
        return "none reported by the token"
    return "none (uninitialised slot)"


def _device(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Hardware security module", "EV-DEVICE, EV-SETTINGS"
    token = record.token
    if token is None:
        return _section(number, title, evidence, para("No token identified."))
    if token.serial_matches:
        serial_note = "matches the serial declared in the script"
    elif token.stand_in:
        serial_note = f"the rehearsal's throwaway token, standing in for {token.declared_serial}"
    else:
        serial_note = f"DOES NOT MATCH the serial declared in the script ({token.declared_serial})"
    rows: list[tuple[str, Flowable | str]] = [
        ("Script material", f"{token.material} (declared serial {token.declared_serial})")
    ]
    blank = _blank_field(token.fields)
    for label, value in token.fields:
        if label.startswith("Serial number"):
            style = "cell_bold" if token.serial_matches or token.stand_in else "alert"
            rows.append((label, para(f"{value or blank}: {serial_note}", style)))
        else:
            rows.append((label, value or blank))
    rows.append(("Identified at", f"{clock_text(token.identified_at)} (journal seq {token.seq})"))
    label, _ = _checked_value(record, token.material, "serial", token.declared_serial)
    rows.append(("Serial on the device's label", label))
    out = [*_section(number, title, evidence, fields(rows))]
    if not record.inventories:
        out.append(
            para(
                "No inventory step ran in this ceremony: the device details above are those the "
                "token reported when it was identified at the opening (token.identified). The "
                "token's mechanism settings (EV-SETTINGS) were not read; the mechanism each key "
                f"was generated with is in section {NUMBER['keys']}.",
                "small",
            )
        )
    for inventory in record.inventories:
        when = f"step {inventory.step_number}" if inventory.step_number else "the opening"
        heading = para(
            f"Inventory read at {when} "
            f"({clock_text(inventory.taken_at)}, journal seq {inventory.seq})",
            "h2",
        )
        changed = [
            (label, value, before)
            for (label, value), (_, before) in zip(inventory.fields, token.fields, strict=False)
            if value != before
        ]
        if changed:
            details: Flowable = fields(
                [
                    (
                        label,
                        para(
                            f"{value or _blank_field(inventory.fields)} (at the opening: "
                            f"{before or blank})",
                            "cell_bold",
                        ),
                    )
                    for label, value, before in changed
                ]
            )
            intro = para(
                "The token reported these details differently from the opening; every other "
                "detail is as above:",
                "body",
            )
        else:
            details = Spacer(1, 0)
            intro = para(
                f"The token (serial {inventory.token_serial}) reported the same details as at "
                "the opening (above).",
                "body",
            )
        out += [CondPageBreak(45 * mm), KeepTogether([heading, intro, details])]
        out.append(para("Mechanisms the script's keys use, as the token reports them", "h3"))
        if inventory.mechanisms or record.script.keys:
            out.append(_mechanisms_table(inventory.mechanisms))
        else:
            out.append(para("The script has no key, and no mechanism was listed.", "cell"))
        visible = (
            "logged in: private objects included"
            if inventory.logged_in
            else "not logged in: only public objects are visible"
        )
        out.append(para(f"Objects on the token ({len(inventory.objects)}; {visible})", "h3"))
        out.append(_objects_table(inventory.objects, "The token lists no object."))
    return out


def _mechanisms_table(mechanisms: Sequence[MechanismView]) -> Flowable:
    if not mechanisms:
        return para("The token reported none of the mechanisms the script's keys use.", "alert")
    rows = [
        [
            para(m.name, "mono"),
            str(m.min_key_bits),
            str(m.max_key_bits),
            para(", ".join(m.flags) or "(none)", "cell"),
        ]
        for m in mechanisms
    ]
    return grid(
        ["Mechanism", "Min key bits", "Max key bits", "Flags"],
        rows,
        [62 * mm, 20 * mm, 20 * mm, CONTENT_WIDTH - 102 * mm],
    )


def _objects_table(objects: Sequence[TokenObject], empty: str) -> Flowable:
    if not objects:
        return para(empty, "cell_bold")
    rows = [
        [
            para(o.object_class, "cell"),
            para(o.label or "(no label)", "cell_bold"),
            para(o.cka_id or "(none)", "mono"),
            o.key_type or "-",
        ]
        for o in objects
    ]
    return grid(
        ["Class", "Label", "CKA_ID", "Key type"],
        rows,
        [34 * mm, 58 * mm, 56 * mm, CONTENT_WIDTH - 148 * mm],
    )


def _quorum(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "m-of-n activation", "EV-QUORUM"
    if not record.splits and not record.activations:
        return _section(
            number,
            title,
            evidence,
            para(
                "The script declares no m-of-n activation (no hsm.activation): the token's PINs "
                "are typed at the workstation, unseen, and no share of a PIN was journaled.",
                "body",
            ),
        )
    intro = para(
        "The token has no m-of-n activation of its own. Its PINs were drawn at random by the "
        "workstation, set on the token and split k-of-n with SLIP-39 among the custodians below; "
        "each custodian received a printed share sheet that only they read, and sealed it in a "
        "tamper-evident bag. Activating the token needs k custodians to type their shares one by "
        "one: the journal names each custodian and never a word. No PIN and no word of any share "
        "is in the journal or in this report.",
        "body",
    )
    out: list[Flowable] = []
    for index, split in enumerate(record.splits):
        heading = para(
            f"{split.what}: any {split.threshold} of {split.member_count} custodians", "h2"
        )
        table = _split_table(record, split)
        if index == 0:
            out += _section(number, title, evidence, [intro, heading, fields(_split_rows(split))])
        else:
            out += [CondPageBreak(50 * mm), KeepTogether([heading, fields(_split_rows(split))])]
        out += [Spacer(1, 2 * mm), table]
    if not record.splits:
        out += _section(number, title, evidence, [intro])
        out.append(
            para(
                "The script declares no split secret, yet shares were typed: see the "
                f"deviations (section {NUMBER['deviations']}).",
                "alert",
            )
        )
    if not record.activations:
        out.append(para("Activations", "h2"))
        out.append(para("No custodian typed a share in this ceremony.", "body"))
    for activation in record.activations:
        out += _activation(record, activation)
    return out


def _split_rows(split: SplitView) -> list[tuple[str, Flowable | str]]:
    if split.initialised:
        made = (
            f"at step {split.step_number}, {clock_text(split.initialised_at or datetime.min)} "
            f"(journal seq {split.seq}), when the token was initialised as {split.token_label} "
            f"(serial {split.token_serial})"
        )
    else:
        made = (
            "not in this journal: at an earlier initialisation of the token; the custodians "
            "and share ids are the script's"
        )

    def listed(value: object | None) -> Flowable | str:
        if value is None:
            return para("not listed in the script", "cell")
        return para(str(value), "mono")

    return [
        ("Split", made),
        (
            "Threshold",
            para(
                f"{split.threshold} of {split.member_count}: any {split.threshold} custodians' "
                f"shares give the PIN; fewer give nothing",
                "cell_bold",
            ),
        ),
        ("Set identifier (SLIP-39)", listed(split.set_identifier)),
        ("Check value", listed(split.check_value)),
    ]


def _split_table(record: CeremonyRecord, split: SplitView) -> Flowable:
    rows: list[list[Flowable | str]] = []
    alerts: list[int] = []
    for slot in split.shares:
        custodian = next((p for p in record.script.participants if p.id == slot.custodian), None)
        who = (
            f"<b>{esc(custodian.name)}</b><br/>"
            f"{esc('; '.join(record.role_name(r) for r in custodian.roles))}"
            if custodian is not None
            else f"{esc(slot.custodian)} (not a participant of the script)"
        )
        sealed = slot.sealed
        if sealed is not None:
            bag: Flowable = para(
                f"<font name='Courier-Bold'>{esc(sealed.bag)}</font>", "cell", markup=True
            )
            when = para(
                f"step {sealed.step_number}, {_time(sealed.sealed_at)} (seq {sealed.seq})<br/>"
                f"<font size='6.5' color='#555555'>sheet printed on {esc(sealed.printer)}, job "
                f"{esc(sealed.job)}</font>",
                "cell",
                markup=True,
            )
        elif split.initialised:
            bag = para("NOT SEALED in this journal", "alert")
            when = para("-", "cell")
            alerts.append(len(rows))
        else:
            bag = para("sealed at the initialisation (not in this journal)", "cell")
            when = para("-", "cell")
        rows.append(
            [
                para(f"{slot.member_index} of {split.member_count}", "cell_bold"),
                para(slot.share, "mono"),
                para(who, "cell", markup=True),
                bag,
                when,
            ]
        )
    return grid(
        ["Share", "Share id", "Custodian", "Bag (typed twice)", "Sealed"],
        rows,
        [14 * mm, 31 * mm, 44 * mm, 28 * mm, CONTENT_WIDTH - 117 * mm],
        alerts=alerts,
    )


def _activation(record: CeremonyRecord, item: ActivationView) -> list[Flowable]:
    step = next((s for s in record.steps if s.number == item.step_number), None)
    where = f"step {item.step_number}" + (f" ({step.step.title})" if step else "")
    heading = para(f"Activation of the {item.what} at {where}", "h2")
    of_n = f" of {item.member_count}" if item.member_count is not None else ""
    if item.activated:
        combined = [
            f"{record.participant_name(e.custodian)} (share {e.member_index}{of_n}, accepted at "
            f"attempt {e.attempt}, {_time(e.at)}, seq {e.seq})"
            for e in item.accepted
        ]
        met = len(set(item.custodians)) >= item.threshold and item.threshold > 0
        quorum = para(
            f"{item.threshold}{of_n} needed; {len(item.custodians)} combined: "
            + ("met" if met else "NOT MET"),
            "cell_bold" if met else "alert",
        )
        shares: Flowable = _bullets(combined) if combined else para("none listed", "alert")
    else:
        accepted = len(item.accepted)
        quorum = para(
            f"NOT ACTIVATED: {accepted} share(s) accepted, {item.threshold} needed",
            "alert",
        )
        shares = _bullets(
            [
                f"{record.participant_name(e.custodian)} (share {e.member_index}{of_n}, attempt "
                f"{e.attempt}, seq {e.seq})"
                for e in item.accepted
            ]
            or ["none accepted"]
        )
    checked = _set_checked(item)
    if item.login_seq is not None:
        login: Flowable = para(
            f"the token accepted the PIN the shares combine to (hsm.login, seq {item.login_seq})",
            "cell_bold",
        )
    elif item.login_refused:
        login = para("the token REFUSED the PIN the shares combine to", "alert")
    elif item.activated:
        login = para("no login followed in this journal", "cell")
    else:
        login = para("no PIN was combined", "alert")
    rows: list[tuple[str, Flowable | str]] = [
        ("Custodians whose shares were combined", shares),
        ("Quorum", quorum),
        ("Set identifier and check value", checked),
        ("Token login", login),
    ]
    if item.activated and item.activated_at is not None:
        rows.append(
            ("Journaled", f"{clock_text(item.activated_at)} (quorum.activated, seq {item.seq})")
        )
    refused = item.rejected
    if refused:
        table: Flowable = grid(
            ["Custodian", "Attempt", "Why the share was refused (never a word)", "Time (seq)"],
            [
                [
                    para(record.participant_name(e.custodian), "cell_bold"),
                    str(e.attempt),
                    para(
                        share_problem(e.problem or "-", record.participant_name(e.custodian)),
                        "cell",
                    ),
                    f"{_time(e.at)} ({e.seq})",
                ]
                for e in refused
            ],
            [40 * mm, 15 * mm, CONTENT_WIDTH - 83 * mm, 28 * mm],
        )
        title = para(f"Shares refused ({len(refused)})", "h3")
        tail: list[Flowable] = [title, table]
    else:
        tail = [para("No share was refused.", "small")]
    return [CondPageBreak(50 * mm), KeepTogether([heading, fields(rows, 58 * mm)]), *tail]


def _set_checked(item: ActivationView) -> Flowable:
    """What the set of the shares combined was checked against, and whether it matched."""

    def shown(value: object | None) -> str:
        return (
            "not listed" if value is None else f"<font name='Courier-Bold'>{esc(str(value))}</font>"
        )

    journaled = (
        f"the shares combined are of set {shown(item.set_identifier)}"
        if item.set_identifier is not None
        else "the set of the shares combined is not journaled"
    )
    if item.expected_from is None:
        text = (
            f"{journaled}. Set identifier and check value: not listed in the script, and the "
            "token was not initialised in this journal: the first share accepted fixes the set, "
            "a share of another set is refused, and the token accepting the PIN is the final check"
        )
        return para(text, "cell", markup=True)
    if item.expected_from == "script":
        reference = (
            f"the script's values (set {shown(item.expected_set_identifier)}, check value "
            f"{shown(item.expected_check_value)}): a share of another set is refused before the "
            "token sees a PIN"
        )
    else:
        reference = (
            f"the split made at the token's initialisation in this ceremony (step "
            f"{item.expected_step_number}, token.initialised, seq {item.expected_seq}: set "
            f"{shown(item.expected_set_identifier)}, check value "
            f"{shown(item.expected_check_value)}); the script lists neither value"
        )
    if item.set_matches:
        return para(f"{journaled}: matches {reference}", "cell", markup=True)
    return para(f"{journaled}: DOES NOT MATCH {reference}", "alert", markup=True)


def _actor_text(record: StepRecord) -> tuple[Flowable, Flowable]:
    if record.performer is None:
        performer: Flowable = para("-", "cell")
    else:
        performer = para(
            f"<b>{esc(record.performer.name)}</b><br/>{esc(record.performer.role_name)}",
            "cell",
            markup=True,
        )
    lines = [f"<b>{esc(w.name)}</b><br/>{esc(w.role_name)}" for w in record.witnesses]
    witnesses = para("<br/>".join(lines) or "-", "cell", markup=True)
    return performer, witnesses


def _steps(record: CeremonyRecord, number: int) -> list[Flowable]:
    rows: list[list[Flowable | str]] = []
    alerts = []
    bands = []
    act: str | None = None
    for step in record.steps:
        if step.act is not None and step.act != act:
            act = step.act
            bands.append(len(rows))
            rows.append([para(f"Act: {step.act}", "cell_bold"), "", "", "", "", ""])
        performer, witnesses = _actor_text(step)
        kind: str = step.step.kind
        if isinstance(step.step, ActionStep):
            kind = f"action: {step.step.action}"
        title = f"<b>{esc(step.step.title)}</b><br/><font color='#555555'>{esc(kind)}</font>"
        if isinstance(step.step, WitnessCheckStep):
            title += f"<br/><font color='#555555'>Compare {esc(step.step.compare.look_at)}</font>"
        color = "#111111" if step.ok else "#b00020"
        result = f"<font color='{color}'><b>{esc(step.result)}</b></font>"
        marks = _resumption_marks(record, step)
        if marks:
            result += "<br/>" + "<br/>".join(f"<b>{esc(m)}</b>" for m in marks)
        if step.details:
            result += "<br/>" + "<br/>".join(esc(d) for d in step.details)
        when = (
            esc(clock_text(step.completed_at)).replace(" ", "<br/>", 1)
            if step.completed_at
            else "-"
        )
        for moment, seq in step.again:
            when += f"<br/><b>again</b> (seq {seq}):<br/>" + esc(clock_text(moment)).replace(
                " ", "<br/>", 1
            )
        rows.append(
            [
                str(step.number),
                para(title, "cell", markup=True),
                para(when, "cell", markup=True),
                performer,
                witnesses,
                para(result, "cell", markup=True),
            ]
        )
        if not step.ok:
            alerts.append(len(rows) - 1)
    table = grid(
        ["#", "Step", "Completed", "Performed by", "Witnessed by", "Result"],
        rows,
        [7 * mm, 44 * mm, 19 * mm, 30 * mm, 34 * mm, CONTENT_WIDTH - 134 * mm],
        alerts=alerts,
        bands=bands,
    )
    clock = (
        f" The {record.clock.sentence()} (section {NUMBER['identity']})."
        if record.clock is not None
        else ""
    )
    intro = para(
        "Every step of the script, in order, under the act (phase) it belongs to. The performer "
        "and witnesses are those who confirmed the step at the workstation; times are the "
        f"workstation clock in UTC.{clock} A red frame marks a step an auditor must look at: a "
        f"mismatch, a deviation (section {NUMBER['deviations']}) or a step not performed.",
        "body",
    )
    return [
        *_section(number, "Steps performed", "EV-STEPS", intro),
        table,
        *_interruptions(record),
    ]


def _step_name(record: CeremonyRecord, step_id: str | None) -> str:
    if step_id is None:
        return "none"
    step = next((s for s in record.steps if s.step.id == step_id), None)
    if step is None:
        return f"{step_id} (not a step of the script)"
    return f"step {step.number} ({step.step.title})"


def _resumption_marks(record: CeremonyRecord, step: StepRecord) -> list[str]:
    """What an interruption changed about how the step was done, for its result cell."""
    marks = []
    if step.again:
        repeated = any(i.login_repeated == step.step.id for i in record.interruptions)
        why = (
            ": the HSM session ended with the stopped process, so the login was repeated"
            if repeated
            else ""
        )
        marks.append(
            f"Completed {len(step.again) + 1} times (seq "
            f"{', '.join(str(q) for _, q in step.again)} after an interruption){why}"
        )
    if step.effect_before_interruption is not None:
        marks.append(
            f"Its action took effect before the interruption (entry "
            f"{step.effect_before_interruption}); completed on resumption without repeating it"
        )
    return marks


def _interruptions(record: CeremonyRecord) -> list[Flowable]:
    if not record.interruptions:
        return []
    out: list[Flowable] = [
        CondPageBreak(40 * mm),
        para("Interruptions and resumptions", "h2"),
        para(
            f"The ceremony stopped {_times(len(record.interruptions))} and was continued in the "
            "same journal. An interruption is not by itself a deviation from the script; below "
            "is where it stopped, what the journal ended with, what was set aside, which login "
            "was performed again and which step was completed without repeating its action.",
            "body",
        ),
    ]
    for index, item in enumerate(record.interruptions, start=1):
        heading = para(f"Interruption {index} of {len(record.interruptions)}", "h3")
        out.append(KeepTogether([heading, fields(_interruption_rows(record, item), 48 * mm)]))
    return out


def _interruption_rows(
    record: CeremonyRecord, item: InterruptionView
) -> list[tuple[str, Flowable | str]]:
    stopped = (
        f"after entry {item.stopped_after}"
        + (f" ({clock_text(item.stopped_at)})" if item.stopped_at else "")
        + f"; the last step completed before it: {_step_name(record, item.last_step)}"
        if item.stopped_after is not None
        else "not journaled"
    )
    if item.torn_seq is not None:
        torn: Flowable = para(
            f"the stopped session left a half-written line of {item.torn_length} bytes "
            f"(SHA-256 <font name='Courier-Bold'>{esc(item.torn_sha256 or '-')}</font>); it was "
            f"closed off and is not an entry (journal.torn-tail, seq {item.torn_seq})",
            "cell_bold",
            markup=True,
        )
    else:
        torn = para("none: the journal ended on a whole entry", "cell")
    resumed = f"{clock_text(item.resumed_at)}: " + ", ".join(
        part
        for part in (
            f"journal.resumed seq {item.journal_seq}" if item.journal_seq is not None else "",
            f"ceremony.resumed seq {item.ceremony_seq}" if item.ceremony_seq is not None else "",
        )
        if part
    )
    rows: list[tuple[str, Flowable | str]] = [
        ("Stopped", stopped),
        ("Torn tail", torn),
        ("Resumed", resumed),
    ]
    if item.ceremony_seq is None:
        rows.append(
            (
                "Ceremony",
                para(
                    "NO ceremony.resumed entry: the engine did not record the resumption", "alert"
                ),
            )
        )
        return rows
    done = sorted(n for n in (record.step_number(s) for s in item.steps_done) if n is not None)
    rows += [
        (
            "Steps already done",
            f"{len(item.steps_done)} (steps {_ranges(done) if done else '-'}); next: "
            f"{_step_name(record, item.next_step)}",
        ),
        (
            "Login performed again",
            para(
                f"{_step_name(record, item.login_repeated)}: the HSM session ended with the "
                "stopped process"
                if item.login_repeated
                else "none",
                "cell_bold" if item.login_repeated else "cell",
            ),
        ),
    ]
    effects = [
        f"{_step_name(record, step_id)}: "
        + ", ".join(f"{event} at entry {seq}" for event, seq in events)
        + "".join(
            f"; completed at entry {completed} without repeating it"
            for done_id, completed, _ in item.completed_without_repeat
            if done_id == step_id
        )
        for step_id, events in item.after_effect
    ]
    rows.append(
        (
            "Action that had taken effect",
            _bullets(effects) if effects else para("none", "cell"),
        )
    )
    if item.keys_found:
        rows.append(
            (
                "Key found, not made again",
                _bullets(
                    [
                        f"{label}: made by {_step_name(record, step_id)} before the journal "
                        f"recorded it, found on the token at entry {seq} (key.found, "
                        "after_interruption)"
                        for step_id, label, seq in item.keys_found
                    ]
                ),
            )
        )
    rows += [
        (
            "Files set aside",
            _bullets(
                [
                    f"{output}: renamed to {Path(moved).name}, kept, not overwritten"
                    for output, moved in item.set_aside
                ]
            )
            if item.set_aside
            else para("none", "cell"),
        ),
        ("Present at the resumption", _names(record, item.present) or "-"),
    ]
    return rows


def _keys(record: CeremonyRecord, number: int) -> list[Flowable]:
    evidence = "EV-KEY-ID, EV-KEY-ALG, EV-KEY-FPR, EV-KEY-DATE, EV-KEY-PURPOSE"
    if not record.keys:
        text = "No key was generated or used from the token in this ceremony."
        if record.destructions:
            labels = ", ".join(d.label for d in record.destructions)
            text += f" Destroyed: {labels} (section {NUMBER['destruction']})."
        return _section(number, "Key inventory", evidence, para(text))
    out: list[Flowable] = []
    for index, key in enumerate(record.keys):
        table = fields(_key_rows(record, key))
        origin = (
            "made before the interruption, found on the token"
            if key.after_interruption
            else f"recovered from backup {key.recovered_from}"
            if key.recovered_from is not None
            else "found on the token"
            if key.found
            else "generated"
        )
        heading = para(f"Key {index + 1}: {key.label} ({origin})", "h2")
        if index == 0:
            out += _section(number, "Key inventory", evidence, heading)
            out.append(table)
        else:
            out.append(KeepTogether([heading, table]))
    return out


def _key_rows(record: CeremonyRecord, key: KeyView) -> list[tuple[str, Flowable | str]]:
    size = f"{key.size_bits} bits" + (f", curve {key.curve}" if key.curve else "")
    if key.public_exponent is not None:
        size += f", public exponent {key.public_exponent}"
    check = (
        "recomputed by this report from the public key in the journal: matches"
        if key.fingerprint_recomputed
        else "recomputed by this report from the public key in the journal: DOES NOT MATCH"
    )
    attributes = ", ".join(
        f"{name}={'true' if value else 'false'}" for name, value in key.attributes
    )
    purposes = ", ".join(key.purposes) or "(not in the script)"
    if key.backup is not None:
        purposes += "; backup: " + ("yes" if key.backup else "no (this key is not backed up)")
    rows: list[tuple[str, Flowable | str]] = [
        ("Label", para(key.label, "cell_bold")),
        ("CKA_ID", para(key.cka_id, "mono")),
        ("Script key id", key.key_id),
        ("Algorithm", f"{key.algorithm} ({key.key_type})"),
        ("Size", size),
        ("Public key SHA-256 (SPKI)", _fingerprint_cell(key.fingerprint, check)),
        ("Purpose", purposes),
    ]
    if key.after_interruption:
        rows += [
            ("Private key attributes (read back and checked)", para(attributes, "mono_small")),
            (
                "Origin",
                para(
                    f"made in this ceremony by step {key.step_number}, whose run was interrupted "
                    "before the journal recorded the key; found on token "
                    f"{key.token_serial} by its label when the step was resumed (journal seq "
                    f"{key.seq}, key.found after_interruption): not generated twice",
                    "cell_bold",
                ),
            ),
        ]
    elif key.recovered_from is not None:
        rows += [
            ("Private key attributes (read back and checked)", para(attributes, "mono_small")),
            (
                "Origin",
                f"made in an earlier ceremony; unwrapped from backup {key.recovered_from} into "
                f"token {key.token_serial} at step {key.step_number} (journal seq {key.seq}, "
                f"key.recovered; section {NUMBER['backup']})",
            ),
        ]
    elif key.found:
        rows += [
            ("Private key attributes (read back and checked)", para(attributes, "mono_small")),
            (
                "Origin",
                f"made in an earlier ceremony; found on token {key.token_serial} by its label "
                f"when first used, step {key.step_number} (journal seq {key.seq})",
            ),
        ]
    else:
        rows += [
            ("Private key attributes", para(attributes, "mono_small")),
            ("Generation mechanism", key.mechanism or "-"),
            (
                "Generated",
                f"{key.generated_at} in token {key.token_serial}, step {key.step_number} "
                f"(journal seq {key.seq})",
            ),
        ]
    if key.found_again:
        resumed = any(i.seq < max(key.found_again) for i in record.interruptions)
        rows.append(
            (
                "Found again",
                "on the token by its label, same fingerprint (journal seq "
                + ", ".join(str(q) for q in key.found_again)
                + "): the same key"
                + (", used after the ceremony was resumed" if resumed else ""),
            )
        )
    if key.destroyed_seq is not None:
        rows.append(
            (
                "Destroyed",
                para(
                    f"in this ceremony (journal seq {key.destroyed_seq}); see section "
                    f"{NUMBER['destruction']}",
                    "cell_bold",
                ),
            )
        )
    return rows


def _inputs(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Objects received through the air gap", "EV-COLLECTED"
    if not record.inputs:
        return _section(
            number, title, evidence, para("No object was received through the air gap.")
        )
    out: list[Flowable] = []
    intro = para(
        "Each object was read from QR codes, reassembled, compared with the SHA-256 the script "
        "lists and checked before anything was signed; the facts are those shown to the "
        "witnesses.",
        "body",
    )
    for index, item in enumerate(record.inputs):
        heading = para(f"Input {index + 1}: {item.input_id} ({item.kind.upper()})", "h2")
        parts: list[Flowable] = [heading]
        if item.stand_in:
            parts.append(
                para(
                    "REHEARSAL STAND-IN: this is not the object the script lists. Its SHA-256 "
                    "differs from the script's; a production ceremony stops at this point.",
                    "alert",
                )
            )
        parts.append(fields(_input_rows(item)))
        if index == 0:
            # The heading and the introduction stay on the page of the first input.
            out += _section(number, title, evidence, [intro, *parts])
        else:
            out.append(KeepTogether(parts))
        payload_type = INPUT_PAYLOAD_TYPES.get(item.kind)
        if payload_type is not None and item.der:
            out += _artifact_qr(item.der, payload_type, f"received {item.kind} {item.input_id}")
    return out


def _input_rows(item: InputView) -> list[tuple[str, Flowable | str]]:
    if item.expected_sha256 is None:
        expected: Flowable = para(
            "none: the script lists no SHA-256 for this input; the witnesses compared it "
            "with the facts below",
            "cell",
        )
        read_note = None
    else:
        listed = fingerprint_from_hex(item.expected_sha256)
        if item.stand_in:
            expected = _fingerprint_cell(listed, "REHEARSAL STAND-IN: the SHA-256 read differs")
            read_note = "REHEARSAL STAND-IN: not the SHA-256 the script lists"
        elif item.matches_expected:
            expected = _fingerprint_cell(listed, "equals the SHA-256 read")
            read_note = "equals the SHA-256 the script lists"
        else:
            expected = _fingerprint_cell(listed)
            read_note = "DOES NOT MATCH the SHA-256 the script lists"
    der_note = (
        "recomputed by this report from the DER in the journal: matches"
        if item.der_sha256_matches
        else "recomputed by this report from the DER in the journal: DOES NOT MATCH"
    )
    rows: list[tuple[str, Flowable | str]] = [
        ("Subject", para(item.summary, "cell_bold")),
        ("Described in the script", item.description or "(not in the script)"),
        ("SHA-256 read from the QR codes", _fingerprint_cell(item.sha256, read_note)),
        ("SHA-256 the script lists", expected),
    ]
    if item.der_sha256.hex != item.sha256.hex or not item.der_sha256_matches:
        rows.append(("SHA-256 of the DER", _fingerprint_cell(item.der_sha256, der_note)))
    else:
        rows.append(
            ("SHA-256 of the DER", "the same: the payload read is the DER (" + der_note + ")")
        )
    if item.facts:
        rows.append(
            (
                "Shown to the witnesses",
                para(
                    "<br/>".join(
                        f"<b>{esc(label)}:</b> {esc(value)}" for label, value in item.facts
                    ),
                    "cell",
                    markup=True,
                ),
            )
        )
    rows.append(
        (
            "Received",
            f"step {item.step_number}, {clock_text(item.received_at)}, from {item.sources} "
            f"image(s) or folder(s) (journal seq {item.seq})",
        )
    )
    return rows


def _artefacts(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Artefacts", "EV-ARTIFACTS"
    produced: list[tuple[str, str, str, Fingerprint, int, int]] = [
        *(
            ("Certificate", c.certificate_id, c.output, c.sha256, c.step_number, c.seq)
            for c in record.certificates
        ),
        *(("CSR", r.csr_id, r.output, r.sha256, r.step_number, r.seq) for r in record.csrs),
        *(("CRL", c.crl_id, c.output, c.sha256, c.step_number, c.seq) for c in record.crls),
    ]
    if not produced:
        return _section(number, title, evidence, para("No certificate, CSR or CRL was produced."))
    produced.sort(key=lambda item: item[5])
    rows = [
        [
            para(f"<b>{esc(kind)}</b><br/>{esc(ident)}", "cell", markup=True),
            para(output, "mono_small"),
            _fingerprint_cell(fpr),
            f"{step} / {seq}",
        ]
        for kind, ident, output, fpr, step, seq in produced
    ]
    table = grid(
        ["Artefact", "Output file", "SHA-256 of the DER (hex and PGP words)", "Step / seq"],
        rows,
        [26 * mm, 46 * mm, CONTENT_WIDTH - 88 * mm, 16 * mm],
    )
    intro = para(
        "Every file written in this ceremony (each written once, never overwritten), with the "
        "SHA-256 of its DER. CRLs are detailed in section "
        f"{NUMBER['crls']}.",
        "body",
    )
    out: list[Flowable] = [*_section(number, title, evidence, [intro, table])]
    for index, cert in enumerate(record.certificates):
        heading = para(f"Certificate {index + 1}: {cert.certificate_id} ({cert.output})", "h2")
        out += [CondPageBreak(40 * mm), heading]
        out.append(fields(_certificate_rows(record, cert)))
        out += _artifact_qr(cert.der, "CRT", f"certificate {cert.certificate_id}")
    for index, request in enumerate(record.csrs):
        heading = para(
            f"Certificate signing request {index + 1}: {request.csr_id} ({request.output})", "h2"
        )
        out += [CondPageBreak(40 * mm), heading]
        out.append(fields(_csr_rows(record, request)))
        out += _artifact_qr(request.der, "CSR", f"request {request.csr_id}")
    return out


def _signer_cell(
    record: CeremonyRecord, key_id: str, fingerprint: Fingerprint | None, valid: bool | None
) -> Flowable:
    key = record.key(key_id)
    if key is None:
        text = f"key {esc(key_id)} (not generated or found in this journal: not checked)"
        if fingerprint is not None:
            text += f"<br/>public key SHA-256 {esc(fingerprint.grouped())}"
        return para(text, "cell", markup=True)
    origin = "found on the token" if key.found else "generated"
    lines = [f"<b>{esc(key.label)}</b> ({esc(key_id)}, {origin}, section {NUMBER['keys']})"]
    if fingerprint is not None and fingerprint.hex != key.fingerprint.hex:
        lines.append("<font color='#b00020'>journaled key fingerprint DOES NOT MATCH it</font>")
    if valid is None:
        lines.append("signature not checked by this report")
    elif valid:
        lines.append("signature verified by this report with that key's public key")
    else:
        lines.append(
            "<font color='#b00020'><b>signature DOES NOT VERIFY with that key's public key"
            "</b></font>"
        )
    return para("<br/>".join(lines), "cell", markup=True)


def _shown_text(record: CeremonyRecord, artifact: str) -> str:
    shown = record.shown(artifact)
    return (
        "; ".join(
            f"{q.frames} frame(s) at step {q.step_number}, {clock_text(q.shown_at)}" for q in shown
        )
        or "not shown on screen"
    )


def _warnings(warnings: Sequence[str]) -> Flowable:
    if not warnings:
        return para("none", "cell")
    return para(
        "<br/>".join(f"- {esc(w)}" for w in warnings)
        + "<br/><font color='#555555'>shown to the witnesses before the HSM signed</font>",
        "cell",
        markup=True,
    )


def _certificate_rows(
    record: CeremonyRecord, cert: CertificateView
) -> list[tuple[str, Flowable | str]]:
    sha_note = (
        "recomputed by this report from the PEM below: matches the journal"
        if cert.sha256_matches
        else "recomputed by this report from the PEM below: DOES NOT MATCH the journal"
    )
    key = record.key(cert.key_id)
    self_signed = key is not None and key.fingerprint.hex == cert.spki.hex
    if not cert.spki_matches_certificate:
        spki_note = "DOES NOT MATCH the public key SHA-256 the journal records"
    elif self_signed and key is not None:
        spki_note = (
            f"the certificate's public key: the key {key.label} of section {NUMBER['keys']} "
            "(self-signed)"
        )
    else:
        spki_note = "the certificate's public key, recomputed: matches the journal"
    rows: list[tuple[str, Flowable | str]] = [
        ("Subject", para(cert.subject, "cell_bold")),
        ("Issuer", cert.issuer),
    ]
    if cert.profile is not None:
        rows.append(("Profile", cert.profile))
    rows += [
        ("Serial number", para(_grouped(cert.serial), "mono")),
        ("Valid from", cert.not_before),
        ("Valid until", cert.not_after),
        ("Signature algorithm", cert.signature_algorithm),
        ("Output file", para(cert.output, "mono")),
        ("Certificate SHA-256 (DER)", _fingerprint_cell(cert.sha256, sha_note)),
        ("Public key SHA-256 (SPKI)", _fingerprint_cell(cert.spki, spki_note)),
        (
            "Signed with",
            _signer_cell(record, cert.key_id, cert.key_fingerprint, cert.signature_valid),
        ),
        ("Checks after signing", _bullets(cert.checks)),
        ("Lint warnings", _warnings(cert.lint_warnings)),
        (
            "Issued",
            f"step {cert.step_number}, {clock_text(cert.issued_at)} (journal seq {cert.seq})",
        ),
        ("Shown as QR on screen", _shown_text(record, cert.certificate_id)),
        ("PEM", mono_lines(cert.pem.strip(), "mono_small")),
    ]
    return rows


def _csr_rows(record: CeremonyRecord, request: CsrView) -> list[tuple[str, Flowable | str]]:
    sha_note = (
        "recomputed by this report from the PEM below: matches the journal"
        if request.sha256_matches
        else "recomputed by this report from the PEM below: DOES NOT MATCH the journal"
    )
    if not request.spki_matches:
        spki_note = "DOES NOT MATCH the public key SHA-256 the journal records"
    elif request.spki_matches_key is False:
        spki_note = f"DOES NOT MATCH the key {request.key_id} of section {NUMBER['keys']}"
    elif request.spki_matches_key:
        spki_note = f"the key {request.key_id} of section {NUMBER['keys']}"
    else:
        spki_note = "recomputed from the request: matches the journal"
    signature = (
        "the request's signature verifies with its own public key (checked by this report)"
        if request.signature_valid
        else "the request's signature DOES NOT VERIFY with its own public key"
    )
    return [
        ("Subject", para(request.subject, "cell_bold")),
        ("Signature algorithm", request.signature_algorithm),
        ("Output file", para(request.output, "mono")),
        ("Request SHA-256 (DER)", _fingerprint_cell(request.sha256, sha_note)),
        ("Public key SHA-256 (SPKI)", _fingerprint_cell(request.spki, spki_note)),
        ("Signed with", para(signature, "cell" if request.signature_valid else "alert")),
        ("Checks after signing", _bullets(request.checks)),
        (
            "Made",
            f"step {request.step_number}, {clock_text(request.made_at)} "
            f"(journal seq {request.seq})",
        ),
        ("Shown as QR on screen", _shown_text(record, request.csr_id)),
        ("PEM", mono_lines(request.pem.strip(), "mono_small")),
    ]


def _crls(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Certificate revocation lists", "EV-ARTIFACTS"
    if not record.crls:
        return _section(number, title, evidence, para("No CRL was issued in this ceremony."))
    out: list[Flowable] = []
    for index, crl in enumerate(record.crls):
        heading = para(f"CRL {index + 1}: number {crl.number}, {crl.crl_id} ({crl.output})", "h2")
        if index == 0:
            out += _section(number, title, evidence, heading)
        else:
            out += [CondPageBreak(40 * mm), heading]
        out.append(fields(_crl_rows(record, crl)))
        out.append(para(f"Revoked certificates ({len(crl.revoked)})", "h3"))
        out.append(_revoked_table(crl))
        out.append(Spacer(1, 2 * mm))
        out.append(fields([("PEM", mono_lines(crl.pem.strip(), "mono_small"))]))
        out += _artifact_qr(crl.der, "CRL", f"CRL {crl.crl_id}")
    return out


def _crl_rows(record: CeremonyRecord, crl: CrlView) -> list[tuple[str, Flowable | str]]:
    sha_note = (
        "recomputed by this report from the PEM below: matches the journal"
        if crl.sha256_matches
        else "recomputed by this report from the PEM below: DOES NOT MATCH the journal"
    )
    contents = (
        "the CRL number and the revoked serials decoded from the CRL equal those listed here"
        if crl.contents_match
        else "the CRL decoded from its PEM DOES NOT HOLD the number and serials listed here"
    )
    return [
        ("Issuer", para(crl.issuer, "cell_bold")),
        ("CRL number", para(str(crl.number), "cell_bold")),
        ("This update", crl.this_update),
        ("Next update", crl.next_update),
        ("Signature algorithm", crl.signature_algorithm),
        ("Output file", para(crl.output, "mono")),
        ("CRL SHA-256 (DER)", _fingerprint_cell(crl.sha256, sha_note)),
        ("Signed with", _signer_cell(record, crl.key_id, None, crl.signature_valid)),
        ("Contents", para(contents, "cell" if crl.contents_match else "alert")),
        ("Checks after signing", _bullets(crl.checks)),
        ("Lint warnings", _warnings(crl.lint_warnings)),
        ("Issued", f"step {crl.step_number}, {clock_text(crl.issued_at)} (journal seq {crl.seq})"),
        ("Shown as QR on screen", _shown_text(record, crl.crl_id)),
    ]


def _revoked_table(crl: CrlView) -> Flowable:
    if not crl.revoked:
        return para("The CRL revokes no certificate.", "cell_bold")
    rows = [
        [para(_grouped(r.serial), "mono"), r.revoked_at, para(r.reason, "cell_bold")]
        for r in crl.revoked
    ]
    return grid(
        ["Serial number", "Revoked at", "Reason"],
        rows,
        [80 * mm, 45 * mm, CONTENT_WIDTH - 125 * mm],
    )


def _destruction(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Destruction record", "EV-DESTROY"
    if not record.destructions and not record.zeroisations:
        return _section(
            number,
            title,
            evidence,
            para("No key was destroyed and no token was re-initialised in this ceremony."),
        )
    out: list[Flowable] = []
    intro = para(
        "What was removed from the HSM and what the token listed afterwards, as the workstation "
        "read it back in the same session. Physical destruction of devices and media is "
        f"recorded by the confirmation steps of section {NUMBER['steps']}.",
        "body",
    )
    out += _section(number, title, evidence, intro)
    for item in record.destructions:
        out += _destroyed(item)
    for zeroised in record.zeroisations:
        out += _zeroised(zeroised)
    return out


def _destroyed(item: DestructionView) -> list[Flowable]:
    heading = para(f"Key destroyed at step {item.step_number}: {item.label} ({item.key_id})", "h2")
    ids = ", ".join(item.cka_ids) or "(none listed)"
    rows: list[tuple[str, Flowable | str]] = [
        ("Key label", para(item.label, "cell_bold")),
        ("CKA_ID", para(ids, "mono")),
        ("Token serial", item.token_serial),
        (
            "Destroyed",
            f"step {item.step_number}, {clock_text(item.destroyed_at)} (journal seq {item.seq})",
        ),
    ]
    if item.leftovers:
        verdict = para(
            f"{len(item.leftovers)} remaining object(s) STILL carry the label {item.label} or "
            "a destroyed CKA_ID.",
            "alert",
        )
    else:
        verdict = para(
            f"No remaining object has the label {item.label} or the CKA_ID {ids}.", "cell_bold"
        )
    rows.append(("Result", verdict))
    return [
        CondPageBreak(60 * mm),
        KeepTogether([heading, fields(rows)]),
        para(f"Objects destroyed ({len(item.destroyed)})", "h3"),
        _objects_table(item.destroyed, "No object is listed as destroyed."),
        para(f"Every object remaining on the token afterwards ({len(item.remaining)})", "h3"),
        _objects_table(item.remaining, "The token holds no other object."),
    ]


def _zeroised(item: ZeroisationView) -> list[Flowable]:
    heading = para(f"Token re-initialised at step {item.step_number}", "h2")
    token = dict(item.token_fields)
    if item.after:
        verdict = para(
            f"The token STILL holds {len(item.after)} object(s) after re-initialisation.", "alert"
        )
    else:
        verdict = para("The token holds no object after re-initialisation.", "cell_bold")
    rows: list[tuple[str, Flowable | str]] = [
        ("Token serial", item.token_serial),
        ("Token label afterwards", token.get("Token label", "-")),
        ("Token flags afterwards", token.get("Token flags", "-")),
        (
            "Re-initialised",
            f"step {item.step_number}, {clock_text(item.zeroised_at)} (journal seq {item.seq})",
        ),
        ("Objects before", f"{len(item.before)} (listed below)"),
        ("Objects after", verdict),
    ]
    out: list[Flowable] = [
        CondPageBreak(60 * mm),
        KeepTogether([heading, fields(rows)]),
        para(f"Objects listed before re-initialisation ({len(item.before)})", "h3"),
        _objects_table(item.before, "The token listed no object before re-initialisation."),
        para(
            f"Objects listed after re-initialisation, with a fresh user login ({len(item.after)})",
            "h3",
        ),
    ]
    if item.after:
        out.append(_objects_table(item.after, ""))
    else:
        out.append(para("The token holds no object after re-initialisation.", "cell_bold"))
    return out


# ---------------------------------------------------------------------------------------------
# Key backup, restore test (EV-BACKUP, EV-QUORUM, EV-RESTORE)

KCV_LABEL: Final = "Key check value (KCV) of the key-encryption key"
SET_CHECK_LABEL: Final = "Share set's own check value (SLIP-39)"


def _backup(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Key backup", "EV-BACKUP, EV-QUORUM, EV-RESTORE"
    if any(r.migration for r in record.recoveries):
        evidence += ", EV-MIGRATE"
    if (
        not record.backups
        and not record.restores
        and not record.restore_failures
        and not record.recoveries
        and not record.recovery_failures
        and not record.resplits
        and not record.abandoned_backups
    ):
        text = "No key backup was made and no backup was restored in this ceremony."
        if record.script.backups:
            listed = ", ".join(b.id for b in record.script.backups)
            text = (
                f"The script lists the backup(s) {listed}, but no backup was made in these "
                "journal entries (no backup.made)."
            )
        return _section(number, title, evidence, para(text, "body"))
    intro = para(
        "The CA key was wrapped inside the HSM under a fresh 256-bit key-encryption key (KEK) "
        "made from workstation and HSM randomness, the wrapped blob written to every medium and "
        "read back, and the KEK split k-of-n with SLIP-39 among the custodians; each custodian "
        "received a printed share sheet only they read and sealed it in a tamper-evident bag. "
        "Two check values appear below and are not the same thing: the KEK's key check value "
        "(KCV, AES-256-ECB of a zero block, first 3 bytes: docs/backup-blob.md), printed in the "
        "blob and on every share sheet, and the share set's own SLIP-39 check value "
        "(docs/shares.md), which ties the shares to one split. No word of any share, no KEK "
        "byte and no key byte is in the journal or in this report.",
        "body",
    )
    if record.resplits and not record.backups and not record.recoveries:
        intro = para(
            "A backup made in an earlier ceremony was re-split (custodian change): holders of "
            "the old share set typed their SLIP-39 shares, the combined key-encryption key (KEK) "
            "was checked against the backup's key check value (KCV), shown to open the blob on a "
            "medium (unwrapped on the HSM as a session object that signed and was removed at "
            "once), and split anew among the new holders, each sealing their sheet in a bag. The "
            "blob and the media are unchanged; the old set is declared void (paper cannot be "
            "revoked: its cards are shredded in the room). The KCV names the KEK; the share "
            "set's own SLIP-39 check value (docs/shares.md) ties shares to one split. No word of "
            "any share, no KEK byte and no key byte is in the journal or in this report.",
            "body",
        )
    elif not record.backups and not record.restores:
        intro = para(
            "A CA key was recovered from a backup made in an earlier ceremony: its wrapped blob "
            "read from a medium, the key-encryption key (KEK) combined from the custodians' "
            "SLIP-39 shares, and the key unwrapped into the HSM as a persistent, sensitive, "
            "non-extractable key. The key check value (KCV) is that of the KEK "
            "(docs/backup-blob.md). No word of any share, no KEK byte and no key byte is in the "
            "journal or in this report.",
            "body",
        )
    out = _section(number, title, evidence, intro)
    migrated = {r.backup_id for r in record.recoveries if r.migration}
    shown: set[int] = set()
    for backup in record.backups:
        for abandoned in record.abandoned_backups:
            if abandoned.backup_id == backup.backup_id and abandoned.seq < backup.seq:
                out += _abandoned(record, abandoned, backup)
                shown.add(abandoned.seq)
        out += _backup_made(record, backup)
        for restore in record.restores_of(backup.backup_id):
            out += _restore_tested(record, restore, backup)
        tested = record.restores_of(backup.backup_id)
        if backup.backup_id in migrated:
            out.append(
                para(
                    "Restore test: the migration below unwrapped this backup into the target "
                    "token, signed and verified; it stands as the backup's restore test.",
                    "body",
                )
            )
        elif not tested and not any(
            f.backup_id == backup.backup_id for f in record.restore_failures
        ):
            pending = (
                "no restore test of this backup in these journal entries: the ceremony cannot "
                "close until one passes"
            )
            out.append(para(f"Restore test: {pending}.", "alert"))
    for abandoned in record.abandoned_backups:
        if abandoned.seq not in shown:
            out += _abandoned(record, abandoned, None)
    made = {b.backup_id for b in record.backups}
    for restore in record.restores:
        if restore.backup_id not in made:
            out += _restore_tested(record, restore, None)
    if record.restore_failures:
        out += _restore_failures(record)
    for recovery in record.recoveries:
        out += _recovered(record, recovery)
    for resplit in record.resplits:
        out += _resplit(record, resplit)
    if record.recovery_failures:
        out += _recovery_failures(record)
    return out


def _abandoned(
    record: CeremonyRecord, view: AbandonedBackupView, made: BackupView | None
) -> list[Flowable]:
    """The red block of a backup attempt abandoned after an interruption (docs/resume.md).

    What was wrapped, the blob files destroyed, the sheets to destroy (custodian, bag serial),
    and signature lines for the witnesses who saw the sheets destroyed unopened.
    """
    inner = CONTENT_WIDTH - 8  # the frame's padding, 4 points a side
    step = _step_name(record, view.step_id)
    wrapped = (
        f"entry {view.wrapped_seq}, {_time(view.wrapped_at)}"
        if view.wrapped_seq is not None
        else _red("no backup.wrapped entry in this journal")
    )
    after = (
        f"The backup made afterwards has the key check value <b>{esc(made.check_value)}</b> "
        f"(entry {made.seq}): that is the backup's; the abandoned value "
        f"{esc(view.check_value)} names a key-encryption key that no longer exists."
        if made is not None
        else _red("No backup was made after it in these journal entries.")
    )
    story = (
        f"The ceremony stopped during {esc(step)} after the CA key had been wrapped under a "
        f"key-encryption key with KCV {esc(view.check_value)} ({wrapped}) and before the backup "
        "was recorded (no backup.made). That key-encryption key died with the process, but the "
        "blob on the media and the sheets already sealed would together rebuild the CA key: an "
        "untracked copy. On resumption Sealroom overwrote each blob file of that attempt with "
        f"zeros and deleted it (entry {view.seq}, {_time(view.abandoned_at)}), and named the "
        "sheets to destroy. Flash media remap blocks, so the zeros are best effort: destroying "
        f"the sheets is what makes the abandoned blob useless. {after}"
    )
    removed = grid(
        ["Medium", "Blob file overwritten with zeros and deleted"],
        [[m, para(path, "mono")] for m, path in view.blob_removed]
        or [["-", "no blob file of this attempt was found on the media"]],
        [30 * mm, inner - 30 * mm],
    )
    sheets = grid(
        ["Custodian", "Share", "Bag serial", "Sealed"],
        [
            [
                para(s.name, "cell_bold"),
                f"{s.share}"
                + (
                    f" ({s.member_index} of {s.member_count})" if s.member_index is not None else ""
                ),
                para(s.bag, "mono"),
                f"entry {s.sealed_seq}" if s.sealed_seq is not None else "not journaled",
            ]
            for s in view.sheets
        ]
        or [["-", "no share sheet had been printed for it", "", ""]],
        [50 * mm, 42 * mm, 40 * mm, inner - 132 * mm],
    )
    signers = list(view.witnesses) or []
    sign_rows: list[list[Flowable | str]] = [
        [
            para(f"<b>{esc(p.name)}</b><br/>{esc(p.role_name)}", "cell", markup=True),
            Spacer(1, 12 * mm),
            "",
        ]
        for p in signers
    ] or [["", Spacer(1, 12 * mm), ""], ["", Spacer(1, 12 * mm), ""]]
    signatures = grid(
        ["Witness", "Signature", "Date"], sign_rows, [60 * mm, 70 * mm, inner - 130 * mm]
    )
    count = len(view.sheets)
    block: list[Flowable] = [
        para(f"Backup attempt abandoned after an interruption: backup {view.backup_id}", "alert"),
        para(story, "cell", markup=True),
        Spacer(1, 2 * mm),
        grid(
            None,
            [
                [
                    para("Abandoned key check value", "cell_bold"),
                    para(
                        f"<font name='Courier-Bold'>{esc(view.check_value)}</font> (NOT the "
                        "backup's KCV)",
                        "cell",
                        markup=True,
                    ),
                ],
                [
                    para("Blob of the abandoned attempt", "cell_bold"),
                    para(_grouped(view.blob_sha256), "mono"),
                ],
            ],
            [48 * mm, inner - 48 * mm],
            shade_first_column=True,
        ),
        Spacer(1, 2 * mm),
        removed,
        Spacer(1, 2 * mm),
        para(
            f"Share sheets to destroy, each in its bag, unopened, in view of the witnesses "
            f"({count}):",
            "cell_bold",
        ),
        sheets,
        Spacer(1, 2 * mm),
        para(
            "We attest that each sheet listed above was destroyed in its sealed bag, unopened, "
            "in our presence, after its bag serial was read against this list.",
            "cell_bold",
        ),
        signatures,
    ]
    frame = Table([[block]], colWidths=[CONTENT_WIDTH], hAlign="LEFT")
    frame.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, ALERT),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return [Spacer(1, 3 * mm), frame, Spacer(1, 3 * mm)]


def _backup_made(record: CeremonyRecord, backup: BackupView) -> list[Flowable]:
    step = _step_name(record, _step_id_of(record, backup.step_number))
    heading = para(
        f"Backup {backup.backup_id} of {backup.label}, made at {step}",
        "h2",
    )
    fpr_note = (
        "recomputed by this report from the journaled public key: matches"
        if backup.fingerprint_matches
        else "recomputed by this report from the journaled public key: DOES NOT MATCH"
    )
    if backup.key_matches is not None:
        fpr_note += f"; the key {backup.key_id} of section {NUMBER['keys']}: " + (
            "matches" if backup.key_matches else "DOES NOT MATCH"
        )
    certificate = backup.ca_subject
    if backup.certificate_sha256 is not None:
        certificate += (
            f" (certificate {backup.certificate_id}, SHA-256 {backup.certificate_sha256})"
        )
    media_ok = all(m.matches for m in backup.media)
    media = para(
        "<br/>".join(
            f"<b>{esc(m.material)}</b>: {esc(m.where)}<br/>SHA-256 read back "
            f"<font name='Courier' size='6.5'>{esc(m.sha256)}</font>: "
            + ("matches the blob" if m.matches else "<font color='#b00020'>DIFFERS</font>")
            for m in backup.media
        )
        or "<font color='#b00020'>no medium</font>",
        "cell",
        markup=True,
    )
    if backup.qr_frames is not None:
        shown = (
            f"shown on screen as {backup.qr_frames} QR frame(s) at step {backup.step_number} "
            "(it is ciphertext). The blob's bytes are not in the journal, only their SHA-256: "
            "this report cannot print them; the blob is on the media above."
        )
    else:
        shown = "not shown as QR codes; the blob is on the media above."
    rows: list[tuple[str, Flowable | str]] = [
        (
            "Key",
            para(
                f"<b>{esc(backup.label)}</b> (key {esc(backup.key_id)}, {esc(backup.key_type)}, "
                f"CKA_ID <font name='Courier'>{esc(backup.cka_id)}</font>)",
                "cell",
                markup=True,
            ),
        ),
        ("Public key SHA-256", _fingerprint_cell(backup.fingerprint, fpr_note)),
        ("CA certificate", para(certificate, "cell")),
        (
            KCV_LABEL,
            para(
                f"<font name='Courier-Bold'>{esc(backup.check_value)}</font> (in the blob and "
                "printed on every share sheet; a recovery must combine shares to this value)",
                "cell",
                markup=True,
            ),
        ),
        (
            "Wrap mechanism",
            para(
                f"{backup.mechanism}: {backup.wrapped_length} bytes wrapped, in the blob "
                f"{backup.blob_name} ({backup.blob_length} bytes)",
                "cell",
            ),
        ),
        ("Blob SHA-256", _fingerprint_cell(backup.blob_sha256, "of the blob file's bytes")),
        ("Media written and read back", media),
        ("Blob as QR codes", para(shown, "cell")),
        (
            "Split of the KEK",
            para(
                f"{backup.threshold} of {backup.share_count}: any {backup.threshold} custodians' "
                f"shares give the KEK; fewer give nothing",
                "cell_bold",
            ),
        ),
        (
            SET_CHECK_LABEL,
            para(
                f"set identifier <font name='Courier-Bold'>{backup.set_identifier}</font>, "
                f"check value <font name='Courier-Bold'>{esc(backup.set_check_value)}</font> "
                "(of the share set, not the KEK's KCV)",
                "cell",
                markup=True,
            ),
        ),
        (
            "Restore test planned",
            para(
                f"on token {backup.restore_test_token or '(none named)'} by "
                f"{_names(record, backup.restore_test_custodians) or 'nobody named'}",
                "cell",
            ),
        ),
        ("Journaled", f"{clock_text(backup.made_at)} (backup.made, seq {backup.seq})"),
    ]
    table = _backup_shares_table(record, backup)
    out: list[Flowable] = [
        CondPageBreak(80 * mm),
        KeepTogether([heading, fields(rows, 52 * mm)]),
        para(f"Custodians of the KEK's shares ({len(backup.shares)})", "h3"),
        table,
    ]
    if not media_ok:
        out.append(para("A medium read back differently from the blob.", "alert"))
    return out


def _step_id_of(record: CeremonyRecord, number: int) -> str | None:
    return next((s.step.id for s in record.steps if s.number == number), None)


def _backup_shares_table(record: CeremonyRecord, backup: BackupView) -> Flowable:
    rows: list[list[Flowable | str]] = []
    alerts: list[int] = []
    for share in backup.shares:
        custodian = next((p for p in record.script.participants if p.id == share.custodian), None)
        who = (
            f"<b>{esc(custodian.name)}</b><br/>"
            f"{esc('; '.join(record.role_name(r) for r in custodian.roles))}"
            if custodian is not None
            else f"{esc(share.custodian)} (not a participant of the script)"
        )
        sealed = share.sealed
        if sealed is not None:
            kcv = (
                f", KCV {esc(sealed.check_value)} on the sheet"
                if sealed.check_value is not None
                else ""
            )
            when = para(
                f"step {sealed.step_number}, {_time(sealed.sealed_at)} (seq {sealed.seq})<br/>"
                f"<font size='6.5' color='#555555'>sheet printed on {esc(sealed.printer)}, job "
                f"{esc(sealed.job)}{kcv}</font>",
                "cell",
                markup=True,
            )
        else:
            when = para("NO share.sealed entry", "alert")
            alerts.append(len(rows))
        rows.append(
            [
                para(f"{share.member_index} of {backup.share_count}", "cell_bold"),
                para(share.share, "mono"),
                para(who, "cell", markup=True),
                para(f"<font name='Courier-Bold'>{esc(share.bag)}</font>", "cell", markup=True),
                when,
            ]
        )
    return grid(
        ["Share", "Share id", "Custodian", "Bag (typed twice)", "Sealed"],
        rows,
        [14 * mm, 24 * mm, 44 * mm, 28 * mm, CONTENT_WIDTH - 110 * mm],
        alerts=alerts,
    )


def _restore_tested(
    record: CeremonyRecord, restore: RestoreView, backup: BackupView | None
) -> list[Flowable]:
    step = _step_name(record, _step_id_of(record, restore.step_number))
    heading = para(
        f"Restore test of backup {restore.backup_id} at {step}: "
        + ("PASSED" if restore.passed and restore.verified else "NOT PASSED"),
        "h2",
    )
    n = f" of {backup.share_count}" if backup is not None else ""
    entered = [
        f"{record.participant_name(e.custodian)} (share {e.member_index}{n}, accepted at "
        f"attempt {e.attempt}, {_time(e.at)}, seq {e.seq})"
        for e in restore.entries
        if e.accepted
    ] or [record.participant_name(c) for c in restore.custodians]
    refused = [e for e in restore.entries if not e.accepted]
    if refused:
        entered += [
            f"refused: {record.participant_name(e.custodian)} at attempt {e.attempt} "
            f"(seq {e.seq}): "
            + share_problem(e.problem or "-", record.participant_name(e.custodian))
            for e in refused
        ]

    def verdict(ok: bool | None, yes: str, no: str) -> Flowable:
        if ok is None:
            return para(yes.replace("matches", "not compared: no backup.made in this journal"))
        return para(yes if ok else no, "cell_bold" if ok else "alert")

    kcv_ok = restore.check_value_matched and restore.check_value_agrees is not False
    blob_ok = restore.blob_sha256_matched and all(m.matches for m in restore.media)
    if backup is not None:
        blob_ok = blob_ok and restore.blob_sha256 == backup.blob_sha256.hex
    serial = f"serial {restore.token_serial}"
    if restore.token_stand_in:
        serial += (
            f": the rehearsal's throwaway token, standing in for {restore.token_material} "
            f"({restore.token_declared_serial})"
        )
    elif restore.token_declared_serial is not None:
        serial += f", the script's {restore.token_material} ({restore.token_declared_serial}): " + (
            "matches" if restore.token_declared_serial == restore.token_serial else "DIFFERS"
        )
    token = dict(restore.token_fields)
    attributes = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in restore.restored_attributes)
    fpr_ok = restore.fingerprint_agrees
    empty = restore.objects_after_zeroise == 0
    rows: list[tuple[str, Flowable | str]] = [
        ("Shares re-entered by", _bullets(entered)),
        (
            KCV_LABEL,
            verdict(
                kcv_ok if backup is not None else restore.check_value_matched,
                f"{restore.check_value}: matches the backup's",
                f"{restore.check_value}: DOES NOT MATCH the backup's",
            ),
        ),
        (
            "Blob SHA-256 on every medium",
            verdict(
                blob_ok,
                "matches the backup's on "
                + ", ".join(m.material for m in restore.media)
                + f" (blob version {restore.blob_version})",
                "DOES NOT MATCH the backup's",
            ),
        ),
        (
            "Unwrapped into",
            para(
                f"token {token.get('Token label', '-')} ({token.get('Model', '-')}), {serial}; "
                f"as a {restore.unwrapped_as}",
                "cell",
            ),
        ),
        (
            "Restored key's public key SHA-256",
            _fingerprint_cell(
                restore.restored_fingerprint,
                "the backed-up key's: "
                + ("matches" if fpr_ok else "not compared" if fpr_ok is None else "DIFFERS"),
            ),
        ),
        ("Restored key's attributes", para(attributes or "-", "small")),
        (
            "Sign and verify",
            verdict(
                restore.verified,
                f"signed with {restore.hash_name} (message SHA-256 "
                f"{restore.signed_message_sha256[:16]}...), verified with the "
                f"{restore.verified_with}"
                + (f" {restore.certificate_id}" if restore.certificate_id else "")
                + ": verified",
                "the signature DID NOT VERIFY",
            ),
        ),
        (
            "Restore token after zeroisation",
            verdict(
                empty,
                f"zeroised: {len(restore.zeroised_before)} object(s) before, 0 after: the "
                f"token (serial {restore.token_after_serial}) holds no object",
                f"STILL holds {restore.objects_after_zeroise} object(s) after zeroisation",
            ),
        ),
        ("Journaled", f"{clock_text(restore.tested_at)} (restore.tested, seq {restore.seq})"),
    ]
    return [
        CondPageBreak(70 * mm),
        KeepTogether([heading, fields(rows, 52 * mm)]),
        para(
            "Objects on the restore-test token before zeroisation "
            f"({len(restore.zeroised_before)})",
            "h3",
        ),
        _objects_table(restore.zeroised_before, "The token listed no object."),
    ]


def _restore_failures(record: CeremonyRecord) -> list[Flowable]:
    rows = []
    for failure in record.restore_failures:
        if failure.passed_later is not None:
            after = f"blocked closing until a later test passed (seq {failure.passed_later})"
            style = "cell"
        else:
            after = "BLOCKS CLOSING: no later restore test of this backup passed"
            style = "alert"
        rows.append(
            [
                para(failure.backup_id, "mono"),
                para(f"step {failure.step_number}, {_time(failure.failed_at)}", "cell"),
                para(failure.problem, "cell"),
                para(after, style),
                str(failure.seq),
            ]
        )
    return [
        para(
            f"Restore tests that failed ({len(rows)}): deviations (section {NUMBER['deviations']})",
            "h3",
        ),
        grid(
            ["Backup", "When", "Why it failed", "Consequence", "Seq"],
            rows,
            [26 * mm, 26 * mm, CONTENT_WIDTH - 110 * mm, 46 * mm, 12 * mm],
            alerts=[i for i, f in enumerate(record.restore_failures) if f.passed_later is None],
        ),
    ]


def _recovered(record: CeremonyRecord, recovery: RecoveryView) -> list[Flowable]:
    """A recovery or migration (``key.recovered``): what was checked, against what (EV-MIGRATE)."""
    step = _step_name(record, _step_id_of(record, recovery.step_number))
    kind = "Migration" if recovery.migration else "Recovery"
    ok = (
        recovery.verified
        and recovery.fingerprint_agrees
        and recovery.source_agrees is not False
        and (recovery.source_emptied or not recovery.migration)
    )
    heading = para(
        f"{kind} of {recovery.label} from backup {recovery.backup_id} at {step}: "
        + ("DONE" if ok else "NOT PROVED"),
        "h2",
    )

    def verdict(good: bool, yes: str, no: str) -> Flowable:
        return para(yes if good else no, "cell_bold" if good else "alert")

    if recovery.stand_in:
        against = (
            "the rehearsal's stand-in backup (made on the throwaway token before the ceremony "
            "opened), NOT the values the script states"
        )
        if recovery.script_check_value is not None:
            against += (
                f" (script: KCV {recovery.script_check_value}, blob SHA-256 "
                f"{recovery.script_blob_sha256}, key SHA-256 {recovery.script_fingerprint}, "
                f"made in {recovery.script_made_in})"
            )
    elif recovery.expected_source == "backup.made":
        against = (
            f"the backup.made entry of this journal (backup made at this ceremony, "
            f"{recovery.made_in})"
            + (
                ": this report finds the same values"
                if recovery.source_agrees
                else ": this report finds OTHER values there"
            )
        )
    else:
        against = (
            f"the values the script states for the backup (backups: recovery, made in "
            f"{recovery.made_in})"
            + (
                ": this report finds the same values in the script"
                if recovery.source_agrees
                else ": this report finds OTHER values in the script"
            )
        )
    entered = [
        f"{record.participant_name(e.custodian)} (share {e.member_index}, accepted at attempt "
        f"{e.attempt}, {_time(e.at)}, seq {e.seq})"
        for e in recovery.entries
        if e.accepted
    ] or [record.participant_name(c) for c in recovery.custodians]
    entered += [
        f"refused: {record.participant_name(e.custodian)} at attempt {e.attempt} (seq {e.seq}): "
        + share_problem(e.problem or "-", record.participant_name(e.custodian))
        for e in recovery.entries
        if not e.accepted
    ]
    token = dict(recovery.token_fields)
    serial = f"serial {recovery.token_serial}"
    if recovery.token_stand_in:
        serial += (
            f": the rehearsal's throwaway token, standing in for {recovery.token_material} "
            f"({recovery.token_declared_serial})"
        )
    elif recovery.token_declared_serial is not None:
        serial += f", the script's {recovery.token_material} ({recovery.token_declared_serial})"
    kcv_ok = (
        recovery.check_value_matched
        and recovery.check_value.upper() == recovery.expected_check_value
    )
    blob_ok = (
        recovery.blob_sha256_matched
        and recovery.medium.matches
        and recovery.blob_sha256 == recovery.expected_blob_sha256
    )
    attributes = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in recovery.attributes)
    rows: list[tuple[str, Flowable | str]] = [
        (
            "Values checked against",
            para(against, "alert" if recovery.source_agrees is False else "cell_bold"),
        ),
        (
            KCV_LABEL,
            verdict(
                kcv_ok,
                f"{recovery.check_value}: matches the expected {recovery.expected_check_value}",
                f"{recovery.check_value}: DOES NOT MATCH the expected "
                f"{recovery.expected_check_value}",
            ),
        ),
        (
            "Blob SHA-256",
            verdict(
                blob_ok,
                f"read from {recovery.medium.material} ({recovery.medium.where}): "
                f"{recovery.blob_sha256}, matches the expected",
                f"read from {recovery.medium.material}: {recovery.medium.sha256}, DOES NOT "
                f"MATCH the expected {recovery.expected_blob_sha256}",
            ),
        ),
        ("Shares combined by", _bullets(entered)),
    ]
    if recovery.migration:
        source = dict(recovery.source_token_fields)
        rows.append(
            (
                "Source token",
                para(
                    f"token {source.get('Token label', '-')} ({source.get('Model', '-')}), "
                    f"serial {recovery.source_token_serial}",
                    "cell",
                ),
            )
        )
    rows += [
        (
            "Target token" if recovery.migration else "Unwrapped into",
            para(
                f"token {token.get('Token label', '-')} ({token.get('Model', '-')}), {serial}; "
                f"as a {recovery.unwrapped_as}: {recovery.objects_before} object(s) before, "
                f"{recovery.objects_after} after",
                "cell",
            ),
        ),
        (
            "Recovered key's public key SHA-256",
            _fingerprint_cell(
                recovery.fingerprint,
                f"the expected {recovery.expected_fingerprint[:16]}...: "
                + ("equal" if recovery.fingerprint_agrees else "DIFFERENT")
                + "; recomputed by this report from the public key in the journal: "
                + ("matches" if recovery.spki_matches else "DOES NOT MATCH"),
            ),
        ),
        ("Recovered key's attributes", para(attributes or "-", "small")),
        (
            "Sign and verify",
            verdict(
                recovery.verified,
                f"signed a fresh message with {recovery.hash_name} (message SHA-256 "
                f"{recovery.signed_message_sha256[:16]}...), verified with the "
                f"{recovery.verified_with}: verified",
                "the signature DID NOT VERIFY",
            ),
        ),
    ]
    if recovery.migration:
        destroyed, zeroised = recovery.source_destroyed, recovery.source_zeroised
        rows.append(
            (
                "Source key destroyed",
                verdict(
                    destroyed is not None and not destroyed.leftovers,
                    f"step {destroyed.step_number}: {len(destroyed.destroyed)} object(s) of "
                    f"{destroyed.label} destroyed on token {destroyed.token_serial} "
                    f"(key.destroyed, seq {destroyed.seq})"
                    if destroyed is not None
                    else "",
                    "NOT DESTROYED on the source token in these journal entries"
                    if destroyed is None
                    else "an object of the key REMAINS on the source token",
                ),
            )
        )
        rows.append(
            (
                "Source token emptied",
                verdict(
                    zeroised is not None and not zeroised.after,
                    f"step {zeroised.step_number}: zeroised, {len(zeroised.after)} object(s) "
                    f"after: the token (serial {zeroised.token_serial}) holds no object "
                    f"(token.zeroised, seq {zeroised.seq})"
                    if zeroised is not None
                    else "",
                    "NOT ZEROISED in these journal entries"
                    if zeroised is None
                    else "the source token STILL holds objects",
                ),
            )
        )
    rows.append(
        ("Journaled", f"{clock_text(recovery.recovered_at)} (key.recovered, seq {recovery.seq})")
    )
    return [CondPageBreak(70 * mm), KeepTogether([heading, fields(rows, 52 * mm)])]


def _resplit(record: CeremonyRecord, resplit: ResplitView) -> list[Flowable]:
    """A re-split (``shares.voided``, ``backup.resplit``): old set void, KEK proved, new set."""
    step = _step_name(record, _step_id_of(record, resplit.step_number))
    heading = para(
        f"Re-split of backup {resplit.backup_id} ({resplit.label}) at {step}: "
        + ("DONE" if resplit.proved else "NOT PROVED"),
        "h2",
    )

    def verdict(good: bool, yes: str, no: str) -> Flowable:
        return para(yes if good else no, "cell_bold" if good else "alert")

    name = record.participant_name
    if resplit.stand_in:
        against = (
            "the rehearsal's stand-in backup (made on the throwaway token before the ceremony "
            "opened), NOT the values the script states"
        )
    else:
        against = (
            f"the values the script states for the backup (backups: recovery, made in "
            f"{resplit.made_in})"
        )
    old_holders = [
        f"share {s.member_index} ({s.share}): {name(s.custodian)}"
        + (" - combined" if s.combined else "")
        + (" - LEAVES: holds no share of the new set" if s.leaves else "")
        for s in resplit.old_shares
    ] or ["NOT JOURNALED (no shares.voided in the step)"]
    combined = [name(c) for c in resplit.combined_by]
    refused = [
        f"refused: {name(e.custodian)} at attempt {e.attempt} (seq {e.seq}): "
        + share_problem(e.problem or "-", name(e.custodian))
        for e in resplit.entries
        if not e.accepted
    ]
    old_check = resplit.old_set_check_value or "not journaled"
    kcv_ok = (
        resplit.check_value_matched and resplit.check_value.upper() == resplit.expected_check_value
    )
    blob_ok = (
        resplit.blob_sha256_matched
        and resplit.medium.matches
        and resplit.blob_sha256 == resplit.expected_blob_sha256
    )
    session_ok = resplit.verified and resplit.objects_before == resplit.objects_after
    new_holders = [
        f"share {s.member_index} ({s.share}): {name(s.custodian)}, bag {s.bag}"
        + (
            f" (share.sealed, seq {s.sealed.seq})"
            if s.sealed is not None
            else " - NOT SEALED in this journal"
        )
        for s in resplit.shares
    ]
    rows: list[tuple[str, Flowable | str]] = [
        ("Backup", para(f"{resplit.backup_id}: key {resplit.label} ({resplit.key_id})", "cell")),
        ("Values checked against", para(against, "cell_bold")),
        (
            "Old share set (VOID)",
            para(
                f"set identifier {resplit.old_set_identifier}, share set check value "
                f"{old_check}, threshold {resplit.old_threshold or '-'}"
                + (
                    f" (shares.voided, seq {resplit.voided_seq})"
                    if resplit.voided_seq is not None
                    else ": NOT DECLARED VOID in this journal"
                ),
                "cell_bold" if resplit.voided_seq is not None else "alert",
            ),
        ),
        ("Old holders", _bullets(old_holders)),
        ("Reason", para(resplit.reason or "not journaled", "cell")),
        ("Old shares combined by", _bullets(combined + refused)),
        (
            KCV_LABEL,
            verdict(
                kcv_ok,
                f"{resplit.check_value}: matches the expected {resplit.expected_check_value}",
                f"{resplit.check_value}: DOES NOT MATCH the expected "
                f"{resplit.expected_check_value}",
            ),
        ),
        (
            "Blob SHA-256",
            verdict(
                blob_ok,
                f"read from {resplit.medium.material} ({resplit.medium.where}): "
                f"{resplit.blob_sha256}, matches the expected; the blob is unchanged",
                f"read from {resplit.medium.material}: {resplit.medium.sha256}, DOES NOT "
                f"MATCH the expected {resplit.expected_blob_sha256}",
            ),
        ),
        (
            "Public key SHA-256",
            _fingerprint_cell(
                resplit.fingerprint,
                f"CKA_ID {resplit.cka_id or 'not journaled'}; the expected "
                f"{resplit.expected_fingerprint[:16]}...: "
                + (
                    "equal"
                    if resplit.fingerprint.hex == resplit.expected_fingerprint
                    else "DIFFERENT"
                ),
            ),
        ),
        (
            "Session check",
            verdict(
                session_ok,
                f"unwrapped as a {resplit.unwrapped_as}, signed a fresh message with "
                f"{resplit.hash_name} (message SHA-256 {resplit.signed_message_sha256[:16]}...), "
                f"verified with the stated public key; {resplit.objects_before} object(s) on the "
                f"HSM before, {resplit.objects_after} after",
                "the session copy DID NOT sign and verify, or left an object on the HSM",
            ),
        ),
        (
            "New share set",
            para(
                f"set identifier {resplit.set_identifier}, share set check value "
                f"{resplit.set_check_value}, threshold {resplit.threshold} of "
                f"{resplit.share_count}",
                "cell_bold",
            ),
        ),
        ("New holders and bags", _bullets(new_holders)),
        ("Journaled", f"{clock_text(resplit.resplit_at)} (backup.resplit, seq {resplit.seq})"),
    ]
    return [CondPageBreak(70 * mm), KeepTogether([heading, fields(rows, 52 * mm)])]


def _recovery_failures(record: CeremonyRecord) -> list[Flowable]:
    rows = []
    alerts = []
    for index, failure in enumerate(record.recovery_failures):
        target = f"{failure.objects_before} object(s) before, {failure.objects_after} after: " + (
            "unchanged" if failure.target_unchanged else "CHANGED"
        )
        later = (
            f"recovered later (seq {failure.recovered_later})"
            if failure.recovered_later is not None
            else "not recovered afterwards"
        )
        if not failure.target_unchanged:
            alerts.append(index)
        rows.append(
            [
                para(failure.backup_id, "mono"),
                para(f"step {failure.step_number}, {_time(failure.failed_at)}", "cell"),
                para(failure.problem, "cell"),
                para(f"target token: {target}; {later}", "cell"),
                str(failure.seq),
            ]
        )
    return [
        para(f"Recoveries refused ({len(rows)}): each a deviation the room decided", "h3"),
        grid(
            ["Backup", "When", "Why it was refused", "Target token, outcome", "Seq"],
            rows,
            [26 * mm, 26 * mm, CONTENT_WIDTH - 110 * mm, 46 * mm, 12 * mm],
            alerts=alerts,
        ),
    ]


def _grouped(hex_text: str) -> str:
    upper = hex_text.upper()
    return " ".join(upper[i : i + 4] for i in range(0, len(upper), 4))


def _artifact_qr(der: bytes, payload_type: str, what: str) -> list[Flowable]:
    """``der`` printed for the air gap: labelled QR grid, SHA-256 and base32 listing (paper.py)."""
    try:
        return transfer_grid_flowables(der, payload_type, title=what[0].upper() + what[1:])
    except TransferError as exc:
        raise ReportError(f"The {what} cannot be printed as QR codes: {exc}") from exc


def _deviations(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Deviations and aborts", "EV-DEVIATION"
    policy = record.script.deviations
    if policy is None:
        rule = para(
            "The script names nobody to decide deviations (no 'deviations' section, WebTrust "
            "4.1.5(h)).",
            "alert",
        )
    else:
        deciders = ", ".join(record.role_name(r) for r in policy.decided_by)
        rule = para(
            f"<b>Who decides a deviation (script):</b> {esc(deciders)}. "
            f"<b>Procedure:</b> {esc(policy.procedure)}",
            "body",
            markup=True,
        )
    if not record.deviations:
        token = (
            "the token was the rehearsal's declared stand-in for the scripted HSM"
            if record.token is not None and record.token.stand_in
            else "the token serial matched"
        )
        text = (
            f"No deviation from the script is recorded in journal entries 1 to {record.head.seq}: "
            f"the room recorded none, no witness check failed, {token}, every integrity check "
            "by this report passed and the ceremony was not aborted."
        )
        stand_ins = [i.input_id for i in record.inputs if i.stand_in]
        if stand_ins:
            text += (
                f" In this rehearsal {len(stand_ins)} input(s) were stand-ins for the objects "
                f"the script lists ({', '.join(stand_ins)}; section {NUMBER['inputs']})."
            )
        text += _interrupted_note(record)
        return [*_section(number, title, evidence, para(text)), rule]
    rows = []
    for d in record.deviations:
        decision = esc(d.decision)
        if d.note:
            decision += f"<br/><i>Note:</i> {esc(d.note)}"
        rows.append(
            [
                para(d.where, "cell_bold"),
                d.expected,
                para(d.observed, "alert"),
                para(decision, "cell", markup=True),
                d.decided_by,
                str(d.seq),
            ]
        )
    table = grid(
        ["Where", "Expected", "Observed", "Decision", "Decided / seen by", "Seq"],
        rows,
        [32 * mm, 33 * mm, 33 * mm, 36 * mm, CONTENT_WIDTH - 143 * mm, 9 * mm],
    )
    recorded = sum(1 for d in record.deviations if d.recorded)
    intro = para(
        f"{len(record.deviations)} deviation(s) are recorded in the journal: {recorded} decided "
        f"by the room, {len(record.deviations) - recorded} found by the workstation or by this "
        "report." + _interrupted_note(record),
        "alert",
    )
    return [*_section(number, title, evidence, intro), rule, table]


def _interrupted_note(record: CeremonyRecord) -> str:
    if not record.interruptions:
        return ""
    return (
        f" The ceremony was interrupted and resumed {_times(len(record.interruptions))}; an "
        f"interruption is not by itself a deviation (see section {NUMBER['steps']}, "
        "Interruptions and resumptions)."
    ) + (
        f" The backup attempt(s) an interruption cut short were abandoned: that is a deviation "
        f"(below; the sheets to destroy are in section {NUMBER['backup']})."
        if record.abandoned_backups
        else ""
    )


def _custody(record: CeremonyRecord, number: int) -> list[Flowable]:
    script = record.script
    title, evidence = "Custody after the ceremony", "EV-CUSTODY"
    if not script.custody:
        return _section(
            number,
            title,
            evidence,
            para(
                "The script assigns no custody of materials after the ceremony (WebTrust "
                "4.1.5(f)).",
                "alert",
            ),
        )
    shares = {
        share.share: (backup.id, share.custodian)
        for backup in script.backups
        for share in backup.shares
    }
    materials = {m.id: m for m in script.materials}
    rows = []
    alerts = []
    for item in script.custody:
        material = materials.get(item.item)
        pin_share = record.pin_share(item.item) if material is None else None
        if material is not None:
            what = (
                f"<b>{esc(material.description)}</b><br/>serial "
                f"<font name='Courier'>{esc(material.serial)}</font>, id {esc(material.id)}"
            )
        elif item.item in shares:
            backup_id, custodian_id = shares[item.item]
            what = (
                f"<b>{esc(item.item)}</b><br/>a share of the key-encryption key of backup "
                f"{esc(backup_id)}"
            )
            if custodian_id != item.holder:
                what += f", custodian {esc(record.participant_name(custodian_id))}"
        elif pin_share is not None:
            split, slot = pin_share
            what = (
                f"<b>Share {slot.member_index} of {split.member_count} of the "
                f"{esc(split.what)}</b><br/>id {esc(item.item)}"
            )
            if slot.custodian != item.holder:
                what += f", custodian {esc(record.participant_name(slot.custodian))}"
        else:
            what = f"<b>{esc(item.item)}</b><br/>(not a material or share of the script)"
        ok = True
        backup_share = record.backup_share(item.item) if item.item in shares else None
        if pin_share is not None:
            bag, ok = _share_bag(item.bag, *pin_share)
        elif item.item in shares:
            bag, ok = _backup_share_bag(item.bag, backup_share)
        elif item.bag is None:
            bag = para("no bag", "cell")
        elif material is not None and material.bag_out == item.bag:
            bag, ok = _checked_value(record, material.id, "bag_out", item.bag)
        else:
            bag = para(item.bag, "mono")
        holder = script.participants
        who = next((p for p in holder if p.id == item.holder), None)
        holder_text = (
            f"<b>{esc(who.name)}</b><br/>{esc('; '.join(record.role_name(r) for r in who.roles))}"
            if who is not None
            else f"{esc(item.holder)} (not a participant of the script)"
        )
        rows.append(
            [
                para(what, "cell", markup=True),
                bag,
                para(item.location, "cell"),
                para(holder_text, "cell", markup=True),
            ]
        )
        if not ok:
            alerts.append(len(rows) - 1)
    table = grid(
        ["Item", "Bag", "Kept at", "Holder"],
        rows,
        [46 * mm, 50 * mm, 40 * mm, CONTENT_WIDTH - 136 * mm],
        alerts=alerts,
    )
    intro = para(
        "Where each item is kept after the ceremony and who holds it, as the script assigns it, "
        "with the bag serial typed when the item was sealed.",
        "body",
    )
    out = [*_section(number, title, evidence, intro), table]
    hand_over = [s for s in record.steps if "EV-CUSTODY" in s.step.evidence]
    for step in hand_over:
        if step.performed and step.performer is not None:
            witnesses = ", ".join(f"{w.name} ({w.role_name})" for w in step.witnesses) or "nobody"
            text = (
                f"Hand-over, step {step.number} ({step.step.title}): {step.result.lower()} at "
                f"{clock_text(step.completed_at or record.opened_at)}; performed by "
                f"{step.performer.name} ({step.performer.role_name}), witnessed by {witnesses}."
            )
            out.append(para(text, "small"))
        else:
            state = "skipped after a deviation" if step.skipped else "not performed"
            if record.ended_by is None and not step.skipped:
                state = "not performed yet"
            out.append(
                para(
                    f"Hand-over, step {step.number} ({step.step.title}): {state}.",
                    "alert" if not step.ok else "small",
                )
            )
    return out


def _backup_share_bag(
    scripted: str | None, found: tuple[BackupView | ResplitView, BackupShareView] | None
) -> tuple[Flowable, bool]:
    """The bag a backup share's sheet was sealed in, as ``backup.made`` journaled it."""
    if found is None:
        text = "no backup.made of this share in these journal entries"
        if scripted is not None:
            text = f"<font name='Courier-Bold'>{esc(scripted)}</font><br/>{esc(text)}"
        return para(text, "cell", markup=True), True
    backup, share = found
    lines = [
        f"<font name='Courier-Bold'>{esc(share.bag)}</font>",
        f"typed twice at step {backup.step_number} when the share sheet was sealed "
        f"({'backup.resplit' if isinstance(backup, ResplitView) else 'backup.made'}, seq "
        f"{backup.seq})",
    ]
    ok = scripted is None or scripted == share.bag
    if not ok:
        lines.append(
            f"<font color='#b00020'>the script lists {esc(scripted or '')}: DOES NOT MATCH</font>"
        )
    return para("<br/>".join(lines), "cell", markup=True), ok


def _share_bag(scripted: str | None, split: SplitView, slot: ShareSlot) -> tuple[Flowable, bool]:
    """The bag a PIN share's sheet was sealed in, as journaled (``share.sealed``)."""
    sealed = slot.sealed
    if sealed is None:
        if split.initialised:
            return para("NOT SEALED in this journal", "alert"), False
        text = "sealed at the token's initialisation (not in this journal)"
        if scripted is not None:
            text = f"<font name='Courier-Bold'>{esc(scripted)}</font><br/>{esc(text)}"
            return para(text, "cell", markup=True), True
        return para(text, "cell"), True
    lines = [
        f"<font name='Courier-Bold'>{esc(sealed.bag)}</font>",
        f"typed twice at step {sealed.step_number} ({_time(sealed.sealed_at)}) when the share "
        "sheet was sealed",
    ]
    ok = scripted is None or scripted == sealed.bag
    if not ok:
        lines.append(
            f"<font color='#b00020'>the script lists {esc(scripted or '')}: DOES NOT MATCH</font>"
        )
    return para("<br/>".join(lines), "cell", markup=True), ok


def _ranges(seqs: Sequence[int]) -> str:
    """Journal seqs as short ranges: 6, 8-10, 12."""
    parts: list[str] = []
    start = previous = None
    for seq in seqs:
        if previous is not None and seq == previous + 1:
            previous = seq
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = seq
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ", ".join(parts) or "-"


SHORT_HASH: Final = 16
"""Hex digits of a SHA-256 shown in the compliance matrix; the full value is elsewhere."""


def _digest_cell(row: EvidenceRow) -> Flowable | str:
    """The SHA-256 values a row rests on, shortened; each is printed in full elsewhere."""
    documents = [(what, sha) for what, sha in row.digests if not what.startswith("entry ")]
    lines = [
        f"{esc(what)}<br/><font face='Courier'>{sha[:SHORT_HASH]}...</font>"
        for what, sha in documents
    ]
    if not documents and row.entries:
        last = next(sha for what, sha in reversed(row.digests) if what.startswith("entry "))
        lines.append(
            f"entry {row.entries[-1]}<br/><font face='Courier'>{last[:SHORT_HASH]}...</font>"
        )
    if not lines:
        return "-"
    return para("<br/>".join(lines), "cell", markup=True)


def _compliance(record: CeremonyRecord, number: int) -> list[Flowable]:
    """The compliance matrix: each item owed, the entries that evidence it, their SHA-256."""
    matrix = evidence_matrix(record.entries)
    to_come = {row.item_id: awaited(record.entries, row.item_id) for row in matrix.rows}
    rows: list[list[Flowable | str]] = []
    alerts: list[int] = []
    missing: list[EvidenceRow] = []
    for row in matrix.rows:
        later = () if row.present else to_come[row.item_id]
        if row.present:
            status: Flowable = para("present", "cell_bold")
        elif later:
            status = para(
                "<b>TO COME:</b><br/>" + "<br/>".join(esc(what) for what in later),
                "cell",
                markup=True,
            )
        elif row.required:
            status = para("MISSING", "alert")
            alerts.append(len(rows))
            missing.append(row)
        else:
            status = para("not shown (practice item)", "cell")
        rows.append(
            [
                para(row.item_id, "cell_bold"),
                para(
                    f"{esc(row.title)}<br/><font color='#555555'>{esc(row.note)}</font>",
                    "cell",
                    markup=True,
                ),
                "R" if row.required else "P",
                _ranges(row.entries),
                _digest_cell(row),
                status,
            ]
        )
    table = grid(
        [
            "ID",
            "Item, and what the journal shows",
            "R/P",
            "Journal entries",
            "Evidence SHA-256",
            "Status",
        ],
        rows,
        [28 * mm, 56 * mm, 8 * mm, 18 * mm, 37 * mm, CONTENT_WIDTH - 147 * mm],
        alerts=alerts,
        split_in_row=20 * mm,
    )
    intro = para(
        f"Every item of EVIDENCE.md that a {record.ceremony_type} ceremony owes (with what this "
        "script adds: m-of-n activation, backups, destruction), computed from journal entries "
        f"1 to {record.head.seq} alone, as 'sealroom verify' computes it for the evidence "
        "bundle. R: required by the source; P: practice auditors expect. An item is present "
        "only when an entry carries it. Hashes are shortened to "
        f"{SHORT_HASH} hex digits: each entry's full SHA-256 is in section "
        f"{NUMBER['journal']}, artefacts' in section {NUMBER['artefacts']}, keys' in section "
        f"{NUMBER['keys']}, the script's on every page.",
    )
    after: list[Flowable] = [Spacer(1, 2 * mm)]
    if missing:
        after.append(
            para(
                f"REQUIRED EVIDENCE MISSING ({len(missing)}): "
                + "; ".join(f"{r.item_id}: {r.note}" for r in missing),
                "alert",
            )
        )
    else:
        after.append(
            para(
                f"No required item is missing from journal entries 1 to {record.head.seq}.",
                "cell_bold",
            )
        )
    pending = [row for row in matrix.rows if not row.present and to_come[row.item_id]]
    if pending:
        after.append(
            para(
                "Still to come when this report was rendered (the journal after entry "
                f"{record.head.seq} shows them; the evidence bundle's check covers the whole "
                "journal): "
                + "; ".join(f"{r.item_id} ({', '.join(to_come[r.item_id])})" for r in pending)
                + ".",
                "small",
            )
        )
    label = f"{len(matrix.rows)} items of EVIDENCE.md, {len(missing)} missing"
    return [*_section(number, "Compliance matrix", label, intro), table, *after]


def _journal(record: CeremonyRecord, number: int) -> list[Flowable]:
    head = record.head
    head_fpr = fingerprint_from_hex(head.sha256)
    first = record.entries[0]
    ended = _ended(record)
    rows: list[tuple[str, Flowable | str]] = [
        ("Entries covered", f"1 to {head.seq} (seq {head.seq} is the last entry shown)"),
        ("Entry SHA-256 of seq " + str(head.seq), _fingerprint_cell(head_fpr)),
        ("First entry SHA-256", para(first.sha256, "mono")),
        ("Chain", "every entry's prev equals the SHA-256 of the entry before it (checked now)"),
        ("Journal ended", ended),
    ]
    if record.shown(JOURNAL_HEAD):
        rows.append(("Journal head shown as QR", _shown_text(record, JOURNAL_HEAD)))
    for item in record.interruptions:
        torn = (
            f"; a torn tail of {item.torn_length} bytes closed off (seq {item.torn_seq})"
            if item.torn_seq is not None
            else "; no torn tail"
        )
        rows.append(
            (
                f"Resumed (seq {item.seq})",
                para(
                    f"the stopped session's last entry is {item.stopped_after}{torn}; the chain "
                    "continues unbroken and a new ceremony-log key signs from here on (section "
                    f"{NUMBER['steps']})",
                    "cell",
                ),
            )
        )
    for key in record.log_keys:
        rows.append(
            (
                f"Ceremony-log key (seq {key.seq})",
                _fingerprint_cell(key.fingerprint),
            )
        )
    if not record.log_keys:
        rows.append(("Signed checkpoints", "none: a journal of format v1 without a log key"))
    for point in record.checkpoints:
        verdict = "signature verifies" if point.valid else "SIGNATURE DOES NOT VERIFY"
        rows.append(
            (
                f"Checkpoint seq {point.seq} ({point.reason})",
                para(
                    f"signs entries 1 to {point.through_seq} (entry SHA-256 "
                    f"{point.through_sha256}) with the log key {point.key_fingerprint[:16]}...; "
                    f"{verdict}. Ed25519 signature (base64): {point.signature_b64}",
                    "cell",
                ),
            )
        )
    for printed in record.reports_printed:
        rows.append(
            (
                f"Report printed (seq {printed.seq})",
                para(
                    f"covers 1 to {printed.covers_through}; {printed.printer} job "
                    f"{printed.job}; PDF SHA-256 {printed.sha256}",
                    "cell",
                ),
            )
        )
    entry_rows = [
        [
            str(entry.seq),
            entry.time_text.replace("T", " "),
            para(entry.event, "cell_bold"),
            entry.step or "-",
            para(entry.sha256[:32] + " " + entry.sha256[32:], "mono_small"),
        ]
        for entry in record.entries
    ]
    entries = grid(
        ["Seq", "Time (UTC)", "Event", "Step", "Entry SHA-256"],
        entry_rows,
        [10 * mm, 40 * mm, 35 * mm, 34 * mm, CONTENT_WIDTH - 119 * mm],
    )
    note = para(
        "To check this report against the journal file: run 'sealroom verify-journal' on it, or "
        "the verifier in docs/journal-format.md, and compare the SHA-256 of entry "
        f"{head.seq} with the one above. Entries after {head.seq} (the printing of this report, "
        "the closing) are in the journal, not in this report.",
        "small",
    )
    head_payload = journal_head_payload(
        record.ceremony_id, head, record.script_sha256, rehearsal=record.rehearsal
    )
    head_codes = _artifact_qr(head_payload, "JNL", f"journal head (entry {head.seq})")
    return [
        *_section(number, "Journal position covered", "EV-LOG", fields(rows)),
        note,
        para(
            f"The journal head this report covers as a JNL payload (the JSON object "
            f"'sealroom-journal-head/1' that 'export-qr journal-head' shows on screen): "
            f"seq {head.seq}, entry SHA-256 {head.sha256}.",
            "small",
        ),
        *head_codes,
        para("Journal entries", "h2"),
        entries,
    ]


def _followed_boxes() -> Table:
    """Two empty boxes, one to tick: the script was followed, or was not (EV-SIGNOFF)."""
    table = Table(
        [
            [CheckBox(), para("I confirm the script was followed", "cell")],
            [
                CheckBox(),
                para(
                    f"The script was not followed, see deviations (section {NUMBER['deviations']})",
                    "cell",
                ),
            ],
        ],
        colWidths=[6 * mm, 58 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def _role_text(script: Script, role_ids: Sequence[str]) -> str:
    roles = []
    for role_id in role_ids:
        role = next((r for r in script.roles if r.id == role_id), None)
        if role is None:
            roles.append(role_id)
        else:
            independent = role.internal or "independent" in role.name.lower()
            roles.append(role.name + ("" if independent else " - independent"))
    return "; ".join(roles)


def responsible_role(script: Script) -> Role | None:
    """The trusted role that answers for a root ceremony's report (ETSI GEN-6.5.1-14).

    The first trusted role that decides deviations (the one leading the ceremony), else the
    trusted role performing the first step that generates, signs with, copies or destroys a
    key, else the first trusted role of the script.
    """
    trusted = [r for r in script.roles if r.trusted]
    if script.deviations is not None:
        for role_id in script.deviations.decided_by:
            role = next((r for r in trusted if r.id == role_id), None)
            if role is not None:
                return role
    for step in script.steps:
        if isinstance(step, ActionStep) and step.action in KEY_ACTIONS:
            role = next((r for r in trusted if r.id == step.performer), None)
            if role is not None:
                return role
    return trusted[0] if trusted else None


KEY_ACTIONS: Final = frozenset(
    {
        "generate-key",
        "sign-root-certificate",
        "sign-certificate",
        "make-csr",
        "sign-crl",
        "backup-key",
        "recover-key",
        "destroy-key",
        "zeroise-token",
    }
)


def _report_signatures(record: CeremonyRecord) -> list[Flowable]:
    """Signature blocks of a root ceremony's report, named from the script's participants.

    The responsible trusted role and a person independent of the TSP management sign it
    (ETSI EN 319 411-1 GEN-6.5.1-14, BR 6.1.1.1(3)).
    """
    script = record.script
    at_end = record.present_at_end()

    def holders(role_ids: set[str]) -> list[str]:
        return [
            p.id
            for p in script.participants
            if set(p.roles) & role_ids and (at_end is None or p.id in at_end)
        ]

    responsible = responsible_role(script)
    independent_roles = {r.id for r in script.roles if not r.internal}
    statement = (
        "I confirm that this report shows the ceremony as it was performed, that it followed "
        f"the script except for the deviations in section {NUMBER['deviations']}, and that the "
        "integrity and confidentiality of the key were kept."
    )
    rows: list[list[Flowable | str]] = []
    alerts: list[int] = []
    blocks = (
        (
            "Trusted role responsible",
            {responsible.id} if responsible is not None else set(),
            "the script has no trusted role",
        ),
        (
            "Independent of the TSP management",
            independent_roles,
            "the script names no independent person (a role with internal: false)",
        ),
    )
    for capacity, role_ids, lacking in blocks:
        people = holders(role_ids)
        if people:
            names = "<br/>".join(
                f"<b>{esc(record.participant_name(pid))}</b><br/>"
                + esc(
                    _role_text(script, [r for r in script.participant(pid).roles if r in role_ids])
                )
                for pid in people
            )
            if len(people) > 1:
                names = "one of:<br/>" + names
            who: Flowable = para(names, "cell", markup=True)
        else:
            who = para(f"NOBODY NAMED: {lacking}. Name: ____________________", "alert")
            alerts.append(len(rows))
        rows.append(
            [para(capacity, "cell_bold"), who, para(statement, "cell"), Spacer(1, 18 * mm), ""]
        )
    table = grid(
        ["Signs as", "Name and role", "Statement", "Signature", "Date"],
        rows,
        [30 * mm, 40 * mm, 58 * mm, 34 * mm, CONTENT_WIDTH - 162 * mm],
        alerts=alerts,
    )
    return [
        para("Report signatures for a root CA ceremony", "h2"),
        para(
            f"A {record.ceremony_type} ceremony acts on a root CA key: besides every "
            "participant's sign-off below, this report is signed by the trusted role responsible "
            "for it and by a person independent of the TSP management (ETSI EN 319 411-1 "
            "GEN-6.5.1-14, BR 6.1.1.1(3); EV-REPORT, EV-WITNESS).",
            "small",
        ),
        table,
        Spacer(1, 3 * mm),
    ]


def _signoff(record: CeremonyRecord, number: int) -> list[Flowable]:
    script = record.script
    statements = {s.participant: s for s in record.statements or ()}
    if record.statements is not None:
        order = [s.participant for s in record.statements]
    else:
        at_end = record.present_at_end()
        order = [p.id for p in script.participants if at_end is None or p.id in at_end]
    rows: list[list[Flowable | str]] = []
    alerts: list[int] = []
    for participant_id in order:
        participant = next((p for p in script.participants if p.id == participant_id), None)
        roles = _role_text(script, participant.roles if participant else ())
        name = record.participant_name(participant_id)
        said = statements.get(participant_id)
        statement: Flowable | list[Flowable]
        if said is None:
            statement = [_followed_boxes()]
        else:
            verdict = (
                "<b>The script was followed: YES</b>"
                if said.followed
                else "<font color='#b00020'><b>The script was followed: NO</b></font>"
            )
            text = (
                f"{verdict}<br/><font color='#555555'>stated at the workstation, step "
                f"{said.step_number}, {esc(_time(said.recorded_at))}</font>"
            )
            if said.comment:
                text += f"<br/>Comment: {esc(said.comment)}"
            statement = [para(text, "cell", markup=True), Spacer(1, 2 * mm), _followed_boxes()]
            if not said.followed:
                alerts.append(len(rows))
        rows.append(
            [
                para(f"<b>{esc(name)}</b><br/>{esc(roles)}", "cell", markup=True),
                statement,
                Spacer(1, 16 * mm),
                "",
            ]
        )
    table = grid(
        ["Name and role", "Statement", "Signature", "Date"],
        rows,
        [44 * mm, 70 * mm, 38 * mm, CONTENT_WIDTH - 152 * mm],
        alerts=alerts,
    )
    if record.statements is not None:
        text = (
            "Each participant present ticks one box and signs below. The statement each one "
            "gave at the workstation (journaled in signoff.recorded) is printed next to their "
            "signature line: sign only if it is what you stated. Note any disagreement on this "
            "page, initialled."
        )
    else:
        text = (
            "Each participant present ticks one box and signs below, stating whether the "
            "ceremony followed the script as this report shows it (no statement was journaled "
            "before this report was rendered). Note any disagreement on this page, initialled."
        )
    if any(not role.internal for role in script.roles):
        text += " The independent witness's signature is required (EV-WITNESS)."
    absent = [record.participant_name(p) for p in record.absent]
    gone = [record.participant_name(p) for b in record.breaks for p in b.absent]
    if absent:
        text += " Absent, so not signing: " + ", ".join(absent) + "."
    if gone:
        text += " Left during a break and did not return: " + ", ".join(gone) + "."
    heading = _heading(number, "Sign-off", "EV-SIGNOFF, EV-WITNESS, EV-REPORT")
    root = record.ceremony_type in ROOT_CEREMONY_TYPES
    position = para(
        f"This report shows journal entries 1 to {record.head.seq} of ceremony "
        f"{record.ceremony_id}; entry {record.head.seq} has SHA-256 {record.head.sha256}.",
        "small",
    )
    participants = [para(text), table, Spacer(1, 3 * mm), position]
    if not root:
        # The page people sign is kept whole (heading, statements, signature lines, the
        # journal position they sign for) unless it is longer than a page.
        return [CondPageBreak(40 * mm), KeepTogether([heading, *participants])]
    # A root ceremony's report signatures come first, on the same page as the participants'.
    return [
        CondPageBreak(80 * mm),
        KeepTogether(
            [
                heading,
                *_report_signatures(record),
                para("Participants' sign-off", "h2"),
                *participants,
            ]
        ),
    ]


if TYPE_CHECKING:

    def _implements_the_port(renderer: JournalReportRenderer) -> ReportRenderer:
        return renderer  # mypy proves JournalReportRenderer satisfies the ReportRenderer Protocol
