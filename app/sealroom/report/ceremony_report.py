"""The ceremony report: an A4 PDF for the auditor, rendered from the journal entries alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table, TableStyle

from sealroom.ceremony.fingerprint import Fingerprint, pgp_words
from sealroom.ceremony.ports import ReportRenderer
from sealroom.ceremony.script import ActionStep, WitnessCheckStep
from sealroom.errors import JournalError, ReportError, SealroomError, TransferError
from sealroom.journal.entry import JournalEntry
from sealroom.journal.verify import read_verified_entries
from sealroom.report.layout import (
    CONTENT_WIDTH,
    MAX_QR_MODULE,
    MIN_QR_MODULE,
    QR_QUIET_ZONE,
    PageFrame,
    QrCode,
    esc,
    fields,
    grid,
    mono_lines,
    para,
    render_pdf,
)
from sealroom.report.record import (
    CeremonyRecord,
    CertificateView,
    KeyView,
    StepRecord,
    ceremony_record,
    clock_text,
)
from sealroom.transfer.frames import encode_frames, parse_frame
from sealroom.transfer.qr import Ecc, qr_matrix

QR_ECC: Final[Ecc] = "Q"
"""Paper QR codes use error correction Q (about 25 % of a symbol may be damaged)."""
QR_COLUMNS = 2


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


def _section(number: int, title: str, evidence: str, first: Flowable) -> list[Flowable]:
    """A heading kept on the page with the start of its content."""
    return [CondPageBreak(40 * mm), KeepTogether([_heading(number, title, evidence), first])]


def _story(record: CeremonyRecord) -> list[Flowable]:
    story: list[Flowable] = [
        para("Ceremony report", "title"),
        para(record.title, "subtitle"),
        _summary(record),
    ]
    story += _identity(record, 1)
    story += _people(record, 2)
    story += _materials(record, 3)
    story += _device(record, 4)
    story += _steps(record, 5)
    story += _keys(record, 6)
    story += _artefacts(record, 7)
    story += _deviations(record, 8)
    story += _journal(record, 9)
    story += _signoff(record, 10)
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
    mode = (
        "REHEARSAL: practice run, not a ceremony record"
        if record.rehearsal
        else "Production ceremony"
    )
    rows: list[tuple[str, Flowable | str]] = [
        ("Ceremony id", para(record.ceremony_id, "cell_bold")),
        ("Mode", para(mode, "alert" if record.rehearsal else "cell_bold")),
        ("Status", _status(record)),
        ("Steps performed", f"{done} of {len(record.steps)}"),
        ("Deviations recorded", str(len(record.deviations)) if record.deviations else "none"),
        (
            "Journal covered",
            f"entries 1 to {record.head.seq}; the chain was verified when this report was "
            "rendered (section 9)",
        ),
    ]
    return fields(rows)


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
        ("Location", f"{ceremony.location.site}, {ceremony.location.room}"),
        ("Physical security", _bullets(ceremony.location.physical_security)),
        ("Started (journal opened)", clock_text(record.opened_at)),
        ("Ended", _ended(record)),
        ("Script file", record.script_name),
        ("Script SHA-256", _fingerprint_cell(script_fpr)),
        ("Software", record.software),
    ]
    return [
        *_section(
            number, "Ceremony identity", "EV-TYPE, EV-CPS, EV-PHYSICAL, EV-SCRIPT", fields(rows)
        ),
        para(
            "The script's SHA-256 is that of the script file recorded whole in the first journal "
            "entry; it is printed at the top of every page.",
            "small",
        ),
    ]


def _ended(record: CeremonyRecord) -> str:
    if record.ended_at is None:
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
    role_rows = [
        [
            para(role.name, "cell_bold"),
            "yes" if role.trusted else "no",
            "internal" if role.internal else "external (independent)",
            role.duties,
        ]
        for role in script.roles
    ]
    roles = grid(
        ["Role", "Trusted role", "Internal / external", "Duties"],
        role_rows,
        [42 * mm, 20 * mm, 30 * mm, CONTENT_WIDTH - 92 * mm],
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
        else:
            presence, arrival = "ABSENT", "-"
        people_rows.append(
            [
                para(participant.name, "cell_bold"),
                "; ".join(names),
                "yes" if trusted else "no",
                presence,
                arrival,
            ]
        )
    people = grid(
        ["Participant", "Role(s)", "Trusted", "Attendance", "Recorded present at"],
        people_rows,
        [50 * mm, 46 * mm, 16 * mm, 24 * mm, CONTENT_WIDTH - 136 * mm],
    )
    return [
        *_section(number, "Participants and roles", "EV-ROLES, EV-ATTEND, EV-TRUSTED", roles),
        Spacer(1, 4 * mm),
        people,
        para(
            "Who acted together in each step (multi-person control) is shown in section 5.",
            "small",
        ),
    ]


def _materials(record: CeremonyRecord, number: int) -> list[Flowable]:
    rows = [
        [
            para(m.description, "cell_bold"),
            m.kind,
            m.model,
            para(m.serial, "mono"),
            para(m.bag_in or "-", "mono"),
            para(m.bag_out or "-", "mono"),
        ]
        for m in record.script.materials
    ]
    table = grid(
        ["Material", "Kind", "Model", "Serial", "Bag in", "Bag out"],
        rows,
        [44 * mm, 20 * mm, 40 * mm, 24 * mm, 23 * mm, CONTENT_WIDTH - 151 * mm],
    )
    return [
        *_section(number, "Materials and tamper-evident bags", "EV-MATERIALS, EV-TEB", table),
        para(
            "Bag in: the tamper-evident bag the item arrived in, checked when opened. Bag out: "
            "the bag it is sealed into at the end (as declared in the script).",
            "small",
        ),
    ]


def _device(record: CeremonyRecord, number: int) -> list[Flowable]:
    token = record.token
    if token is None:
        return _section(
            number, "Hardware security module", "EV-DEVICE", para("No token identified.")
        )
    if token.serial_matches:
        serial_note = "matches the serial declared in the script"
    elif token.stand_in:
        serial_note = f"the rehearsal's throwaway token, standing in for {token.declared_serial}"
    else:
        serial_note = f"DOES NOT MATCH the serial declared in the script ({token.declared_serial})"
    rows: list[tuple[str, Flowable | str]] = [
        ("Script material", f"{token.material} (declared serial {token.declared_serial})")
    ]
    for label, value in token.fields:
        if label.startswith("Serial number"):
            style = "cell_bold" if token.serial_matches or token.stand_in else "alert"
            rows.append((label, para(f"{value}: {serial_note}", style)))
        else:
            rows.append((label, value))
    rows.append(("Identified at", f"{clock_text(token.identified_at)} (journal seq {token.seq})"))
    return _section(number, "Hardware security module", "EV-DEVICE", fields(rows))


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
    rows = []
    alerts = []
    for index, step in enumerate(record.steps):
        performer, witnesses = _actor_text(step)
        kind: str = step.step.kind
        if isinstance(step.step, ActionStep):
            kind = f"action: {step.step.action}"
        title = f"<b>{esc(step.step.title)}</b><br/><font color='#555555'>{esc(kind)}</font>"
        if isinstance(step.step, WitnessCheckStep):
            title += f"<br/><font color='#555555'>Compare {esc(step.step.compare.look_at)}</font>"
        color = "#111111" if step.ok else "#b00020"
        result = f"<font color='{color}'><b>{esc(step.result)}</b></font>"
        if step.details:
            result += "<br/>" + "<br/>".join(esc(d) for d in step.details)
        when = (
            esc(clock_text(step.completed_at)).replace(" ", "<br/>", 1)
            if step.completed_at
            else "-"
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
            alerts.append(index)
    table = grid(
        ["#", "Step", "Completed", "Performed by", "Witnessed by", "Result"],
        rows,
        [7 * mm, 44 * mm, 19 * mm, 30 * mm, 34 * mm, CONTENT_WIDTH - 134 * mm],
        alerts=alerts,
    )
    intro = para(
        "Every step of the script, in order. The performer and witnesses are those who "
        "confirmed the step at the workstation; times are the workstation clock in UTC.",
        "body",
    )
    return [*_section(number, "Steps performed", "EV-STEPS", intro), table]


def _keys(record: CeremonyRecord, number: int) -> list[Flowable]:
    evidence = "EV-KEY-ID, EV-KEY-ALG, EV-KEY-FPR, EV-KEY-DATE, EV-KEY-PURPOSE"
    if not record.keys:
        return _section(number, "Key inventory", evidence, para("No key was generated."))
    out: list[Flowable] = []
    for index, key in enumerate(record.keys):
        table = fields(_key_rows(key))
        heading = para(f"Key {index + 1}: {key.label}", "h2")
        if index == 0:
            out += _section(number, "Key inventory", evidence, heading)
            out.append(table)
        else:
            out.append(KeepTogether([heading, table]))
    return out


def _key_rows(key: KeyView) -> list[tuple[str, Flowable | str]]:
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
    return [
        ("Label", para(key.label, "cell_bold")),
        ("CKA_ID", para(key.cka_id, "mono")),
        ("Script key id", key.key_id),
        ("Algorithm", f"{key.algorithm} ({key.key_type})"),
        ("Size", size),
        ("Public key SHA-256 (SPKI)", _fingerprint_cell(key.fingerprint, check)),
        ("Purpose", purposes),
        ("Private key attributes", para(attributes, "mono_small")),
        ("Generation mechanism", key.mechanism),
        ("Generated", f"{key.generated_at} in token {key.token_serial} (journal seq {key.seq})"),
    ]


def _artefacts(record: CeremonyRecord, number: int) -> list[Flowable]:
    if not record.certificates:
        return _section(number, "Artefacts", "EV-ARTIFACTS", para("No certificate was issued."))
    out: list[Flowable] = []
    for index, cert in enumerate(record.certificates):
        heading = para(f"Certificate {index + 1}: {cert.certificate_id} ({cert.output})", "h2")
        if index == 0:
            out += _section(number, "Artefacts", "EV-ARTIFACTS", heading)
        else:
            out += [CondPageBreak(40 * mm), heading]
        out.append(fields(_certificate_rows(record, cert)))
        out += _certificate_qr(cert)
    return out


def _certificate_rows(
    record: CeremonyRecord, cert: CertificateView
) -> list[tuple[str, Flowable | str]]:
    sha_note = (
        "recomputed by this report from the PEM below: matches the journal"
        if cert.sha256_matches
        else "recomputed by this report from the PEM below: DOES NOT MATCH the journal"
    )
    if cert.spki_matches_key is None:
        key_note = "no key of this ceremony to compare with"
    elif cert.spki_matches_key and cert.spki_matches_certificate:
        key_note = "the certificate's public key; the same as the key generated in section 6"
    else:
        key_note = "DOES NOT MATCH the certificate or the key generated in section 6"
    shown = [q for q in record.qr_shown if q.certificate_id == cert.certificate_id]
    shown_text = (
        "; ".join(f"{q.frames} frame(s) at {clock_text(q.shown_at)}" for q in shown)
        or "not shown on screen"
    )
    return [
        ("Subject", para(cert.subject, "cell_bold")),
        ("Issuer", cert.issuer),
        ("Serial number", para(_grouped(cert.serial), "mono")),
        ("Valid from", cert.not_before),
        ("Valid until", cert.not_after),
        ("Signature algorithm", cert.signature_algorithm),
        ("Certificate SHA-256 (DER)", _fingerprint_cell(cert.sha256, sha_note)),
        ("Public key SHA-256 (SPKI)", _fingerprint_cell(cert.spki, key_note)),
        ("Checks after signing", _bullets(cert.checks)),
        ("Issued", f"{clock_text(cert.issued_at)} (journal seq {cert.seq})"),
        ("Shown as QR on screen", shown_text),
        ("PEM", mono_lines(cert.pem.strip(), "mono_small")),
    ]


def _grouped(hex_text: str) -> str:
    upper = hex_text.upper()
    return " ".join(upper[i : i + 4] for i in range(0, len(upper), 4))


def _certificate_qr(cert: CertificateView) -> list[Flowable]:
    try:
        frames = encode_frames(cert.der, "CRT")
        matrices = [qr_matrix(frame, ecc=QR_ECC) for frame in frames]
        labels = []
        for frame in frames:
            parsed = parse_frame(frame)
            message = frame.split("/")[2][:8]
            labels.append(f"CRT {parsed.index}/{parsed.total} {message}")
    except TransferError as exc:
        raise ReportError(f"The certificate cannot be drawn as QR codes: {exc}") from exc
    cell = CONTENT_WIDTH / QR_COLUMNS
    modules = max(len(m) for m in matrices) + 2 * QR_QUIET_ZONE
    module = min(MAX_QR_MODULE, (cell - 4 * mm) / modules)
    if module < MIN_QR_MODULE:
        raise ReportError("The certificate's QR codes are too large to print at 0.5 mm modules.")
    cells: list[list[Flowable]] = []
    for matrix, label in zip(matrices, labels, strict=True):
        cells.append([QrCode(matrix, module), para(label, "qr_label")])
    rows = [cells[i : i + QR_COLUMNS] for i in range(0, len(cells), QR_COLUMNS)]
    if len(rows[-1]) < QR_COLUMNS:
        rows[-1] = rows[-1] + [[Spacer(1, 1)]] * (QR_COLUMNS - len(rows[-1]))
    table = Table(rows, colWidths=[cell] * QR_COLUMNS, hAlign="CENTER")
    table.setStyle(
        TableStyle(
            [
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    intro = para(
        f"The certificate (DER, {len(cert.der)} bytes) as {len(frames)} QR code(s) in Sealroom's "
        f"SR1 frame format, error correction {QR_ECC}. Scan every code, in any order; the "
        "receiver checks each frame and the SHA-256 of the whole certificate, which must equal "
        f"{_grouped(cert.sha256.hex)}.",
        "body",
    )
    return [
        CondPageBreak(95 * mm),
        KeepTogether([para("Certificate as QR codes", "h2"), intro]),
        table,
    ]


def _deviations(record: CeremonyRecord, number: int) -> list[Flowable]:
    title, evidence = "Deviations and aborts", "EV-DEVIATION"
    if not record.deviations:
        token = (
            "the token was the rehearsal's declared stand-in for the scripted HSM"
            if record.token is not None and record.token.stand_in
            else "the token serial matched"
        )
        text = (
            f"No deviation from the script is recorded in journal entries 1 to {record.head.seq}: "
            f"no witness check failed, {token}, every integrity check by this "
            "report passed and the ceremony was not aborted."
        )
        return _section(number, title, evidence, para(text))
    rows = [
        [
            para(d.where, "cell_bold"),
            d.expected,
            para(d.observed, "alert"),
            d.decision,
            d.decided_by,
            str(d.seq),
        ]
        for d in record.deviations
    ]
    table = grid(
        ["Where", "Expected", "Observed", "Decision", "Decided / seen by", "Seq"],
        rows,
        [32 * mm, 33 * mm, 33 * mm, 33 * mm, CONTENT_WIDTH - 141 * mm, 10 * mm],
    )
    intro = para(f"{len(record.deviations)} deviation(s) are recorded in the journal.", "alert")
    return [*_section(number, title, evidence, intro), table]


def _journal(record: CeremonyRecord, number: int) -> list[Flowable]:
    head = record.head
    head_fpr = Fingerprint(head.sha256, pgp_words(bytes.fromhex(head.sha256)))
    first = record.entries[0]
    ended = _ended(record)
    rows: list[tuple[str, Flowable | str]] = [
        ("Entries covered", f"1 to {head.seq} (seq {head.seq} is the last entry shown)"),
        ("Entry SHA-256 of seq " + str(head.seq), _fingerprint_cell(head_fpr)),
        ("First entry SHA-256", para(first.sha256, "mono")),
        ("Chain", "every entry's prev equals the SHA-256 of the entry before it (checked now)"),
        ("Journal ended", ended),
        ("Signed checkpoints", "not yet part of the journal format (docs/journal-format.md)"),
    ]
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
    return [
        *_section(number, "Journal position covered", "EV-LOG", fields(rows)),
        note,
        para("Journal entries", "h2"),
        entries,
    ]


def _signoff(record: CeremonyRecord, number: int) -> list[Flowable]:
    script = record.script
    signers = [p for p in script.participants if record.present is None or p.id in record.present]
    rows = []
    for participant in signers:
        roles = []
        for role_id in participant.roles:
            role = next((r for r in script.roles if r.id == role_id), None)
            if role is None:
                roles.append(role_id)
            else:
                roles.append(role.name + ("" if role.internal else " - independent"))
        rows.append(
            [
                para(
                    f"<b>{esc(participant.name)}</b><br/>{esc('; '.join(roles))}",
                    "cell",
                    markup=True,
                ),
                para(
                    "I confirm the script was followed:<br/><br/><b>yes&nbsp;&nbsp;/&nbsp;&nbsp;no"
                    "</b>&nbsp;&nbsp;<font size='7'>(circle one)</font>",
                    "cell",
                    markup=True,
                ),
                "",
                "",
            ]
        )
    table = grid(
        ["Name and role", "Statement", "Signature", "Date"],
        rows,
        [52 * mm, 48 * mm, 46 * mm, CONTENT_WIDTH - 146 * mm],
        row_heights=[19 * mm] * len(rows),
    )
    absent = [record.participant_name(p) for p in record.absent]
    text = (
        "Each participant present signs below, stating whether the ceremony followed the script "
        "as this report shows it. Note any disagreement on this page, initialled. The "
        "independent witness's signature is required (EV-WITNESS)."
    )
    if absent:
        text += " Absent, so not signing: " + ", ".join(absent) + "."
    return [
        *_section(number, "Sign-off", "EV-SIGNOFF, EV-WITNESS", para(text)),
        table,
        Spacer(1, 3 * mm),
        para(
            f"This report shows journal entries 1 to {record.head.seq} of ceremony "
            f"{record.ceremony_id}; entry {record.head.seq} has SHA-256 "
            f"{record.head.sha256}.",
            "small",
        ),
    ]


if TYPE_CHECKING:

    def _implements_the_port(renderer: JournalReportRenderer) -> ReportRenderer:
        return renderer  # mypy proves JournalReportRenderer satisfies the ReportRenderer Protocol
