"""The script worksheet: the internal witness's paper copy of a script, to initial and annotate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak, Spacer
from reportlab.platypus.doctemplate import LayoutError

from sealroom.ceremony.fingerprint import Fingerprint, pgp_words
from sealroom.ceremony.loader import LoadedScript
from sealroom.ceremony.script import (
    AcknowledgeStep,
    ActionStep,
    AttendanceStep,
    BreakStep,
    ConfirmStep,
    EntryStep,
    Script,
    SignOffStep,
    Step,
    WitnessCheckStep,
    utc_text,
)
from sealroom.errors import ReportError, SealroomError
from sealroom.paper_style import (
    MUTED,
    RULE,
    SANS,
    printable,
)
from sealroom.report.layout import (
    CONTENT_WIDTH,
    PageFrame,
    esc,
    grid,
    para,
    render_pdf,
)

DEVIATION_SHEETS: Final = 4
"""Blank deviation sheets, two to a page; copy a page if more are needed."""
SPARE_SIGN_IN_ROWS: Final = 2
SPARE_BREAK_ROWS: Final = 6
LINE_GAP: Final = 8.5 * mm
"""Distance between ruled lines to write on: enough for handwriting of about 5 mm."""

_YES_NO: Final = "<b>yes&nbsp;/&nbsp;no</b>"
"""Circle one; never broken over two lines."""
STEP_WIDTHS: Final = (14 * mm, CONTENT_WIDTH - 58 * mm, 22 * mm, 22 * mm)
"""Step no. | Activity | Initial | Time."""


class WritingLines(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Ruled lines to write on by hand; each line is split into fields with a printed label."""

    def __init__(self, rows: Sequence[Sequence[str]], gap: float = LINE_GAP) -> None:
        super().__init__()
        self.rows = [list(row) for row in rows]
        self.gap = gap
        self.width = 0.0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, len(self.rows) * self.gap

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setLineWidth(0.5)
        canvas.setStrokeColor(RULE)
        canvas.setFillColor(MUTED)
        canvas.setFont(SANS, 8.5)
        height = len(self.rows) * self.gap
        for index, row in enumerate(self.rows):
            y = height - (index + 1) * self.gap + 1.5
            share = self.width / len(row)
            for column, label in enumerate(row):
                x = column * share
                text = printable(label)
                canvas.drawString(x, y + 2, text)
                start = x + (canvas.stringWidth(text, SANS, 8.5) + 1.5 * mm if text else 0)
                end = x + share - (4 * mm if column < len(row) - 1 else 0)
                canvas.line(start, y, end, y)
        canvas.restoreState()


def render_worksheet(loaded: LoadedScript, *, rehearsal: bool = False) -> bytes:
    """The PDF bytes of the worksheet for ``loaded``: deterministic (same script, same bytes).

    Every page carries the ceremony id, the script file name and its SHA-256 (the PGP words on
    the first page) and "page x of y"; with ``rehearsal`` every page also carries the REHEARSAL
    watermark and header, so a practice copy cannot pass for a ceremony's worksheet. Raises
    ReportError if the worksheet cannot be laid out.
    """
    script = loaded.script
    name = loaded.path.name
    words = pgp_words(bytes.fromhex(loaded.sha256))
    page = PageFrame(
        heading=f"Script worksheet  |  {script.ceremony.id}  |  {name}",
        identity_label="Script SHA-256",
        identity_hex=loaded.sha256,
        identity_words=words,
        footer=f"Worksheet of ceremony {script.ceremony.id}, script {name}",
        rehearsal=rehearsal,
    )
    fingerprint = Fingerprint(loaded.sha256, words)

    def render(split_rows: bool) -> bytes:
        return render_pdf(
            lambda: _story(script, name, fingerprint, split_rows),
            page,
            title=f"{script.ceremony.id} script worksheet",
            subject=f"{script.ceremony.title} ({name}, SHA-256 {loaded.sha256})",
            author="sealroom",
        )

    try:
        try:
            return render(split_rows=False)
        except LayoutError:
            # A step too long for one page: lay out again, letting such rows run over pages.
            return render(split_rows=True)
    except SealroomError:
        raise
    except Exception as exc:  # reportlab raises bare exceptions (LayoutError, ValueError)
        raise ReportError(
            f"The script worksheet could not be laid out ({type(exc).__name__}: {exc})."
        ) from exc


# ---------------------------------------------------------------------------------------------
# The story


def _story(script: Script, name: str, fingerprint: Fingerprint, split_rows: bool) -> list[Flowable]:
    story: list[Flowable] = []
    story += _first_page(script, name, fingerprint)
    story += [PageBreak(), *_ceremony_details(script)]
    story += [PageBreak(), *_steps(script, split_rows)]
    story += [PageBreak(), *_break_log(script)]
    story += [PageBreak(), *_deviation_sheets(script)]
    story += [PageBreak(), *_sign_off(script, name, fingerprint)]
    return story


def _h1(text: str) -> Flowable:
    return para(text, "sheet_h1")


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[Flowable | str]],
    widths: Sequence[float],
    *,
    split_in_row: float = 0,
) -> Flowable:
    return grid(
        header,
        rows,
        widths,
        head_style="sheet_head",
        cell_style="sheet_cell",
        padding=4,
        split_in_row=split_in_row,
    )


def _fields(rows: Sequence[tuple[str, Flowable | str]]) -> Flowable:
    label = 44 * mm
    return grid(
        None,
        [[para(key, "sheet_cell_bold"), value] for key, value in rows],
        [label, CONTENT_WIDTH - label],
        shade_first_column=True,
        cell_style="sheet_cell",
        padding=4,
    )


def _roles_text(script: Script, role_ids: Sequence[str]) -> str:
    return "; ".join(_role_name(script, r) for r in role_ids)


def _role_name(script: Script, role_id: str) -> str:
    return next((r.name for r in script.roles if r.id == role_id), role_id)


def _holders(script: Script, role_id: str) -> str:
    names = [p.name for p in script.participants if role_id in p.roles]
    return " or ".join(names) if names else "nobody in the script"


def _role_with_holders(script: Script, role_id: str) -> str:
    return f"{esc(_role_name(script, role_id))}: {esc(_holders(script, role_id))}"


def _space(height: float) -> Flowable:
    return Spacer(1, height)


def _first_page(script: Script, name: str, fingerprint: Fingerprint) -> list[Flowable]:
    ceremony = script.ceremony
    approval = ceremony.approval
    approved: Flowable | str = (
        para(
            f"<b>{esc(approval.approved_by)}</b>, {esc(approval.role)}; "
            f"{approval.date.isoformat()}, reference {esc(approval.reference)}",
            "sheet_cell",
            markup=True,
        )
        if approval is not None
        else para("NOT STATED in the script", "alert")
    )
    identity = _fields(
        [
            ("Ceremony id", para(ceremony.id, "sheet_cell_bold")),
            ("Type", ceremony.type),
            ("Management approval", approved),
            ("Location", f"{ceremony.location.site}, {ceremony.location.room}"),
            (
                "Script file",
                para(
                    f"{esc(name)}<br/><font name='Courier-Bold' size='8.5'>"
                    f"{esc(fingerprint.grouped())}</font>",
                    "sheet_cell",
                    markup=True,
                ),
            ),
            ("Worksheet kept by", WritingLines([["Name:", "Signature:"]], gap=7 * mm)),
        ]
    )
    sign_in_rows: list[list[Flowable | str]] = [
        [
            para(p.name, "sheet_cell_bold"),
            _roles_text(script, p.roles),
            _space(9 * mm),
            "",
            "",
        ]
        for p in script.participants
    ]
    sign_in_rows += [["", "", _space(9 * mm), "", ""] for _ in range(SPARE_SIGN_IN_ROWS)]
    sign_in = _table(
        ["Name", "Role", "Signature", "Time in", "Time out"],
        sign_in_rows,
        [48 * mm, 42 * mm, 48 * mm, 18 * mm, 18 * mm],
    )
    return [
        para("Ceremony script worksheet", "sheet_title"),
        para(ceremony.title, "sheet_subtitle"),
        para(
            "The internal witness's paper copy of the script. Check that the SHA-256 at the top "
            "of every page is the one the workstation shows for the script. Initial and time "
            "each step when it is done, write what you see in the spaces, and record every "
            "departure from the script on a deviation sheet.",
            "sheet_body",
        ),
        identity,
        _h1("Participant sign-in"),
        para(
            "Everyone entering the room signs in; the spare rows are for anyone not named in "
            "the script (they are a deviation).",
            "sheet_small",
        ),
        sign_in,
        *_materials(script),
    ]


def _materials(script: Script) -> list[Flowable]:
    if not script.materials:
        return [_h1("Materials"), para("The script lists no materials.", "alert")]
    rows: list[list[Flowable | str]] = []
    for m in script.materials:
        rows.append(
            [
                para(
                    f"<b>{esc(m.description)}</b><br/><font size='8.5' color='#555555'>"
                    f"{esc(m.kind)}, {esc(m.model)}</font>",
                    "sheet_cell",
                    markup=True,
                ),
                para(m.serial, "sheet_mono"),
                para(m.bag_in or "-", "sheet_mono"),
                para(m.bag_out or "-", "sheet_mono"),
                "",
            ]
        )
    table = _table(
        ["Material", "Serial", "Bag in", "Bag out", "Checked"],
        rows,
        [56 * mm, 32 * mm, 30 * mm, 30 * mm, 26 * mm],
    )
    return [
        CondPageBreak(35 * mm),
        _h1("Materials and tamper-evident bags"),
        para(
            "Bag in: the bag the item arrives in, checked before it is opened. Bag out: the "
            "new bag it is sealed into. Initial 'Checked' when every serial has been read off "
            "the item and its bags.",
            "sheet_small",
        ),
        table,
    ]


def _ceremony_details(script: Script) -> list[Flowable]:
    ceremony = script.ceremony
    rows: list[tuple[str, Flowable | str]] = [("Title", ceremony.title)]
    if ceremony.objectives:
        rows.append(("Objectives", _bullets(ceremony.objectives)))
    if ceremony.cps is not None:
        rows.append(
            (
                "CP/CPS",
                f"{ceremony.cps.document}, version {ceremony.cps.version}, section "
                f"{ceremony.cps.section}",
            )
        )
    if ceremony.location.physical_security:
        rows.append(("Physical security", _bullets(ceremony.location.physical_security)))
    out: list[Flowable] = [_h1("The ceremony"), _fields(rows)]
    acts = {a.id: a.title for a in script.acts}
    role_rows: list[list[Flowable | str]] = []
    for role in script.roles:
        during = esc(role.duties)
        for act_id, text in role.acts.items():
            during += f"<br/><b>{esc(acts.get(act_id, act_id))}:</b> {esc(text)}"
        kind = ("trusted" if role.trusted else "not trusted") + (
            ", internal" if role.internal else ", external (independent)"
        )
        role_rows.append(
            [
                para(
                    f"<b>{esc(role.name)}</b><br/><font size='8.5' color='#555555'>"
                    f"{esc(kind)}</font>",
                    "sheet_cell",
                    markup=True,
                ),
                _holders(script, role.id),
                para(during, "sheet_cell", markup=True),
                role.after or "-",
            ]
        )
    out += [
        CondPageBreak(40 * mm),
        _h1("Roles"),
        _table(
            ["Role", "Held by", "During the ceremony", "After the ceremony"],
            role_rows,
            [36 * mm, 32 * mm, 56 * mm, 50 * mm],
        ),
    ]
    if script.custody:
        custody_rows: list[list[Flowable | str]] = [
            [
                _item_name(script, c.item),
                para(c.bag or "no bag", "sheet_mono" if c.bag else "sheet_cell"),
                c.location,
                next((p.name for p in script.participants if p.id == c.holder), c.holder),
                "",
            ]
            for c in script.custody
        ]
        out += [
            CondPageBreak(40 * mm),
            _h1("Custody after the ceremony"),
            _table(
                ["Item", "Bag", "Kept at", "Holder", "Checked"],
                custody_rows,
                [42 * mm, 30 * mm, 46 * mm, 34 * mm, 22 * mm],
            ),
        ]
    if script.quorums:
        quorum_rows: list[list[Flowable | str]] = [
            [
                q.purpose,
                _role_name(script, q.role),
                f"{q.threshold} of {len(script.holders_of(q.role))}",
            ]
            for q in script.quorums
        ]
        out += [
            CondPageBreak(30 * mm),
            _h1("Quorums"),
            _table(["Purpose", "Role", "Together"], quorum_rows, [90 * mm, 54 * mm, 30 * mm]),
        ]
    if script.evidence:
        evidence_rows: list[list[Flowable | str]] = [
            [para(e.id, "sheet_cell_bold"), e.description, ""] for e in script.evidence
        ]
        out += [
            CondPageBreak(30 * mm),
            _h1("Evidence to collect"),
            _table(
                ["Item", "Description", "Collected"], evidence_rows, [36 * mm, 112 * mm, 26 * mm]
            ),
        ]
    out += [CondPageBreak(30 * mm), _h1("Deviations"), _deviation_policy(script)]
    return out


def _item_name(script: Script, item: str) -> str:
    material = next((m for m in script.materials if m.id == item), None)
    if material is not None:
        return f"{material.description} ({material.serial})"
    for backup in script.backups:
        for share in backup.shares:
            if share.share == item:
                return f"{item}: a key share of backup {backup.id}"
    return item


def _bullets(items: Sequence[str]) -> Flowable:
    return para("<br/>".join(f"- {esc(item)}" for item in items), "sheet_cell", markup=True)


def _deviation_policy(script: Script) -> Flowable:
    policy = script.deviations
    if policy is None:
        return para(
            "The script names nobody to decide deviations: stop and ask the ceremony "
            "administrator before going on.",
            "alert",
        )
    return para(
        f"<b>Who decides:</b> {esc(_roles_text(script, policy.decided_by))}. "
        f"<b>Procedure:</b> {esc(policy.procedure)}",
        "sheet_body",
        markup=True,
    )


# ---------------------------------------------------------------------------------------------
# Steps


def _steps(script: Script, split_rows: bool) -> list[Flowable]:
    acts = {a.id: a.title for a in script.acts}
    groups: list[tuple[str | None, list[tuple[int, Step]]]] = []
    for number, step in enumerate(script.steps, start=1):
        if not groups or groups[-1][0] != step.act:
            groups.append((step.act, []))
        groups[-1][1].append((number, step))
    out: list[Flowable] = [
        para("Steps", "sheet_title"),
        para(
            "Initial and write the time (hh:mm) when a step is done. Write what you see on the "
            "lines. If anything differs from what is written here, stop and fill in a deviation "
            "sheet.",
            "sheet_body",
        ),
    ]
    act_number = 0
    for act_id, steps in groups:
        if act_id is None:
            title = "Steps"
        else:
            act_number += 1
            title = f"Act {act_number}: {acts.get(act_id, act_id)}"
        rows = [_step_row(script, number, step) for number, step in steps]
        table = _table(
            ["Step", "Activity", "Initial", "Time"],
            rows,
            STEP_WIDTHS,
            split_in_row=40 * mm if split_rows else 0,
        )
        out += [CondPageBreak(70 * mm), KeepTogether([_h1(title)]), table]
    return out


def _step_row(script: Script, number: int, step: Step) -> list[Flowable | str]:
    cell: list[Flowable] = [para(step.title, "sheet_step"), para(step.instruction, "sheet_cell")]
    who = f"<b>Performed by</b> {_role_with_holders(script, step.performer)}"
    for role in step.witnesses:
        who += f"<br/><b>Witnessed by</b> {_role_with_holders(script, role)}"
    cell.append(para(who, "sheet_cell", markup=True))
    lines, extra = _specifics(script, step)
    cell += extra
    if step.evidence:
        cell.append(para("Evidence: " + ", ".join(step.evidence), "sheet_small"))
    cell.append(WritingLines(lines))
    return [
        para(str(number), "sheet_number"),
        cell,
        _space(16 * mm),
        "",
    ]


def _specifics(script: Script, step: Step) -> tuple[list[list[str]], list[Flowable]]:
    """What to compare, type or expect for ``step``, and the lines to write on."""
    if isinstance(step, AttendanceStep):
        return [["Present:"], ["Absent:"]], [
            para(
                "Everyone present has signed in on the first page and shown identification.",
                "sheet_cell",
            )
        ]
    if isinstance(step, WitnessCheckStep):
        text = (
            f"<b>Compare:</b> {esc(step.compare.look_at)}<br/>"
            f"<b>Expected:</b> {esc(step.compare.expected)}<br/>"
            "Matches: <b>yes / no</b> (circle one)"
        )
        return [["Seen:"], [""]], [para(text, "sheet_cell", markup=True)]
    if isinstance(step, EntryStep):
        return _entry(script, step)
    if isinstance(step, ConfirmStep):
        return [["Typed correctly at attempt:"]], [_words(step.words)]
    if isinstance(step, ActionStep):
        return _action(script, step)
    if isinstance(step, BreakStep):
        text = "Write who leaves and who returns in the break log at the end of this worksheet."
        extra = [para(text, "sheet_cell")]
        if step.recheck_bags:
            bags = "<br/>".join(_recheck(script, m) for m in step.recheck_bags)
            extra.append(
                para(f"<b>On return, re-check the bags:</b><br/>{bags}", "sheet_cell", markup=True)
            )
        return [["Left at:", "Returned at:"]], extra
    if isinstance(step, SignOffStep):
        text = (
            "Write below who stated it was not followed; everyone circles yes or no and signs "
            "the sign-off table at the end of this worksheet."
        )
        return [["Who stated 'not followed':"]], [para(text, "sheet_cell")]
    if isinstance(step, AcknowledgeStep):
        return [["Notes:"], [""]], _acknowledge(script, step)
    return [["Notes:"]], []  # pragma: no cover - every step kind is handled above


def _recheck(script: Script, material_id: str) -> str:
    material = next((m for m in script.materials if m.id == material_id), None)
    if material is None:
        return esc(material_id)
    bag = material.bag_out or material.bag_in or "(no bag in the script)"
    return (
        f"{esc(material.description)}: <font name='Courier-Bold'>{esc(bag)}</font> "
        f"&nbsp; matches: {_YES_NO}"
    )


def _acknowledge(script: Script, step: AcknowledgeStep) -> list[Flowable]:
    extra: list[Flowable] = []
    if "EV-PHYSICAL" in step.evidence and script.ceremony.location.physical_security:
        items = "<br/>".join(f"- {esc(i)}" for i in script.ceremony.location.physical_security)
        extra.append(para(f"<b>Check:</b><br/>{items}", "sheet_cell", markup=True))
    if "EV-CUSTODY" in step.evidence and script.custody:
        items = "<br/>".join(
            f"- {esc(_item_name(script, c.item))}"
            + (f", bag <font name='Courier-Bold'>{esc(c.bag)}</font>" if c.bag else "")
            + f": {esc(c.location)}, held by "
            + esc(next((p.name for p in script.participants if p.id == c.holder), c.holder))
            for c in script.custody
        )
        extra.append(para(f"<b>Custody:</b><br/>{items}", "sheet_cell", markup=True))
    return extra


def _entry(script: Script, step: EntryStep) -> tuple[list[list[str]], list[Flowable]]:
    spec = step.entry
    text = f"<b>Typed at the workstation:</b> {esc(spec.label)}"
    if spec.twice:
        text += " (typed twice)"
    extra = [para(text, "sheet_cell", markup=True)]
    if spec.expect is not None:
        material = next((m for m in script.materials if m.id == spec.expect.material), None)
        value = getattr(material, spec.expect.field, None) if material is not None else None
        what = {"serial": "serial", "bag_in": "bag in", "bag_out": "bag out"}[spec.expect.field]
        owner = material.description if material is not None else spec.expect.material
        extra.append(
            para(
                f"<b>Expected:</b> <font name='Courier-Bold' size='11'>"
                f"{esc(str(value) if value else '(the script declares none)')}</font>"
                f" &nbsp;({esc(what)} of {esc(owner)})",
                "sheet_cell",
                markup=True,
            )
        )
    if spec.format == "bag-serial":
        extra.append(
            para(
                "Seal intact, bag undamaged: <b>yes / no</b> (circle one)",
                "sheet_cell",
                markup=True,
            )
        )
        return [["Serial read on the bag:"]], extra
    if spec.format == "serial":
        return [["Serial read on the label:"]], extra
    if spec.format == "clock-offset":
        return [["Reference clock:", "Workstation clock:"], ["Offset typed (s):"]], extra
    if spec.format == "time":
        return [["Time:"]], extra
    return [["Value:"], [""]], extra


def _words(words: str) -> Flowable:
    return para(
        "<b>The performer types exactly:</b><br/>"
        f"<font name='Courier-Bold' size='11'>{esc(words)}</font>",
        "sheet_cell",
        markup=True,
    )


def _action(script: Script, step: ActionStep) -> tuple[list[list[str]], list[Flowable]]:
    params = step.params
    lines: list[list[str]] = [["Result on screen:"]]
    text: str
    if step.action == "hsm-login" and script.hsm is not None:
        text = (
            f"Log in to the HSM token {esc(script.hsm.token_label)} (the ceremony stops after "
            f"{script.hsm.max_pin_attempts} wrong PINs)."
        )
        lines = [["PIN attempts needed:"]]
    elif step.action == "generate-key" and "key" in params:
        key = next((k for k in script.keys if k.id == params["key"]), None)
        text = (
            f"Generate key <b>{esc(key.label)}</b>: {esc(key.algorithm)}, for "
            f"{esc(', '.join(key.purpose))}; backed up: {'yes' if key.backup else 'no'}."
            if key is not None
            else f"Generate key {esc(params['key'])}."
        )
        lines = [["Public key SHA-256, first 4 words:"], ["Last 4 words:"]]
    elif "certificate" in params and step.action != "show-qr":
        cert = next((c for c in script.certificates if c.id == params["certificate"]), None)
        if cert is None:
            text = f"Sign certificate {esc(params['certificate'])}."
        else:
            subject = (
                f"CN={cert.subject.common_name}, O={cert.subject.organization}, "
                f"C={cert.subject.country}"
                if cert.subject is not None
                else f"from {cert.subject_from}"
            )
            text = (
                f"Sign certificate <b>{esc(cert.id)}</b> ({esc(cert.profile)}): subject "
                f"{esc(subject)}; valid {esc(utc_text(cert.not_before))} to "
                f"{esc(utc_text(cert.not_after))}; written to {esc(cert.output)}."
            )
        lines = [["Certificate SHA-256, first 4 words:"], ["Last 4 words:"]]
    elif step.action == "show-qr":
        text = f"Show certificate {esc(params.get('certificate', ''))} as QR codes on screen."
        lines = [["Fingerprint on the scanning device, first 4 words:"]]
    elif step.action == "print-report":
        text = "Render the ceremony report from the journal and print it; every participant signs."
        lines = [["Report SHA-256, first 4 words:"], ["Pages:", "Signed by all: yes / no"]]
    elif step.action == "hsm-logout":
        text = "Log out of the HSM."
        lines = [["Logged out at:"]]
    else:
        given = ", ".join(f"{k} {v}" for k, v in params.items())
        text = f"Workstation action {esc(step.action)}" + (f": {esc(given)}." if given else ".")
    extra = [para(f"<b>Workstation:</b> {text}", "sheet_cell", markup=True)]
    if step.confirm is not None:
        extra.append(_words(step.confirm))
    return lines, extra


# ---------------------------------------------------------------------------------------------
# Break log, deviation sheets, sign-off


def _break_log(script: Script) -> list[Flowable]:
    who = WritingLines([["Left:"], ["Back:"]], gap=7.5 * mm)
    rows: list[list[Flowable | str]] = []
    for number, step in enumerate(script.steps, start=1):
        if not isinstance(step, BreakStep):
            continue
        bags = [_bag_line(script, m) for m in step.recheck_bags]
        rows.append(
            [
                para(f"<b>Step {number}</b><br/>{esc(step.title)}", "sheet_cell", markup=True),
                "",
                "",
                who,
                para("<br/>".join(bags) or "none scripted", "sheet_cell", markup=True),
            ]
        )
    rows += [
        [para("Unscheduled", "sheet_cell"), "", "", who, WritingLines([[""], [""]], gap=7.5 * mm)]
        for _ in range(SPARE_BREAK_ROWS)
    ]
    table = _table(
        ["Break", "Left at", "Back at", "Who left / came back", "Bags re-checked"],
        rows,
        [30 * mm, 18 * mm, 18 * mm, 58 * mm, 50 * mm],
    )
    return [
        para("Break log", "sheet_title"),
        para(
            "For every break, scheduled or not: when the room was left and resumed, who left "
            "and who came back (anyone who does not come back is a deviation), and each bag "
            "re-checked on return: for a scheduled break circle yes if its serial matches, for "
            "an unscheduled one write the serial read off each bag.",
            "sheet_body",
        ),
        table,
    ]


def _bag_line(script: Script, material_id: str) -> str:
    material = next((m for m in script.materials if m.id == material_id), None)
    bag = (material.bag_out or material.bag_in) if material is not None else None
    return f"{esc(material_id)} <font name='Courier-Bold'>{esc(bag or '(no bag)')}</font> {_YES_NO}"


def _deviation_sheets(script: Script) -> list[Flowable]:
    out: list[Flowable] = [
        para("Deviation sheets", "sheet_title"),
        _deviation_policy(script),
    ]
    for number in range(1, DEVIATION_SHEETS + 1):
        if number > 1 and number % 2 == 1:
            out.append(PageBreak())
        out += [_space(3 * mm), _deviation_sheet(number)]
    return out


def _deviation_sheet(number: int) -> Flowable:
    width = CONTENT_WIDTH - 44 * mm
    rows: list[tuple[str, Flowable | str]] = [
        ("Step (no. and title)", WritingLines([[""]])),
        ("Expected", WritingLines([[""], [""]])),
        ("Observed", WritingLines([[""], [""], [""]])),
        (
            "Decision",
            para("<b>proceed / skip / retry / abort</b> (circle one)", "sheet_cell", markup=True),
        ),
        ("Reason", WritingLines([[""]])),
        ("Decided by", WritingLines([["Name:", "Role:"], ["Signature:", "Time:"]])),
    ]
    table = grid(
        None,
        [[para(key, "sheet_cell_bold"), value] for key, value in rows],
        [44 * mm, width],
        shade_first_column=True,
        cell_style="sheet_cell",
        padding=4,
    )
    return KeepTogether([para(f"Deviation sheet {number}", "sheet_h1"), table])


def _sign_off(script: Script, name: str, fingerprint: Fingerprint) -> list[Flowable]:
    rows: list[list[Flowable | str]] = [
        [
            para(p.name, "sheet_cell_bold"),
            _roles_text(script, p.roles),
            para("<b>yes / no</b>", "sheet_cell", markup=True),
            _space(12 * mm),
            "",
        ]
        for p in script.participants
    ]
    table = _table(
        ["Name", "Role", "Followed", "Signature", "Date"],
        rows,
        [46 * mm, 40 * mm, 22 * mm, 44 * mm, 22 * mm],
    )
    first = " ".join(fingerprint.words.split()[:4])
    return [
        para("Sign-off", "sheet_title"),
        para(
            f"I state whether ceremony {esc(script.ceremony.id)} followed the script "
            f"{esc(name)} (SHA-256 beginning <b>{esc(first)}</b>), with every deviation "
            "written on a deviation sheet and recorded in the journal. Circle yes or no, sign "
            "and date.",
            "sheet_body",
            markup=True,
        ),
        table,
        _space(8 * mm),
        para(
            "The internal witness keeps this worksheet with the ceremony records; its deviation "
            "sheets are compared with the deviations section of the signed ceremony report.",
            "sheet_small",
        ),
    ]
