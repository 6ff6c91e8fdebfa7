"""Screens where the room types, decides or states: entries, breaks, sign-off and deviations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Literal, TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Static, TextArea

from sealroom.ceremony.ports import Deviation, DeviationDecision, Fact, SignOff, StepView
from sealroom.ceremony.quorum import (
    candidates,
    decider_problem,
    deciding_roles,
    skip_allowed,
)
from sealroom.ceremony.runner import entry_problem
from sealroom.ceremony.script import (
    ActionStep,
    AttendanceStep,
    BreakStep,
    EntryStep,
    Script,
    StepBase,
    WitnessCheckStep,
)
from sealroom.ui.base import CeremonyScreen, step_heading
from sealroom.ui.widgets import (
    KIND_NAMES,
    ActionButton,
    CeremonyState,
    ChoiceList,
    FactsView,
    InlineChoice,
    ListPicker,
    TickList,
    armed,
    clock_text,
)

FORMAT_HINTS: dict[str, str] = {
    "bag-serial": "letters, digits and the signs - . /",
    "serial": "letters, digits and the signs - . / :",
    "time": "HH:MM or HH:MM:SS, 24-hour clock",
    "clock-offset": "whole seconds with a sign, e.g. +3 or -12 (0 if the clocks agree)",
    "text": "any text",
}
MAX_TYPED = 500

ResultT = TypeVar("ResultT")

BAG_TEXTS: dict[str, tuple[str, str]] = {
    "seal": (
        "BAG SEALED FOR THE BREAK",
        "Seal the bag before anyone leaves, then type the serial printed on it. After the break "
        "the serial is read from the bag again and must match.",
    ),
    "recheck": (
        "BAG CHECK AFTER THE BREAK",
        "Read the serial printed on the bag and type it, before the bag is opened. It must be "
        "the serial recorded when the bag was sealed; a different serial means the bag may have "
        "been replaced.",
    ),
}


def people_label(script: Script, participant_id: str) -> str:
    """``Name  ·  Role, Role`` for lists of people."""
    person = script.participant(participant_id)
    return f"{person.name}  \u00b7  {', '.join(script.role(r).name for r in person.roles)}"


def decider_choice_problem(
    script: Script, present: Sequence[str], decider: str | None
) -> str | None:
    """Why the chosen decider is not accepted (the engine's rule, plus nobody chosen yet)."""
    if decider is None:
        return "choose who decided"
    return decider_problem(script, present, decider)


def words_difference(typed: str, words: str) -> str:
    """Where typed confirmation words first differ from the required ones, in words."""
    for index, (got, wanted) in enumerate(zip(typed, words, strict=False)):
        if got != wanted:
            return (
                f"the words typed differ from the words in the box at character {index + 1} "
                f"({got!r} typed where {wanted!r} is required)"
            )
    if len(typed) < len(words):
        return f"the words typed stop after {len(typed)} of {len(words)} characters"
    return f"the words typed go on past the {len(words)} characters required"


def one_line(text: str) -> str:
    """Whitespace (including line breaks) collapsed to single spaces."""
    return " ".join(text.split())


# ----------------------------------------------------------------------------------- typing


class TypedInput(Input):
    """A field for typed values: Enter submits; pasting is refused, so values are really typed."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Submit")]

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()
        event.stop()
        self.refuse_paste()

    def action_paste(self) -> None:
        self.refuse_paste()

    def refuse_paste(self) -> None:
        self.app.bell()
        self.notify(
            "Pasting is switched off here: type it from what you read.",
            title="Not pasted",
            severity="warning",
        )


@dataclass(frozen=True)
class TypingRequest:
    """One value the engine asks the performer to type, as the typing screen presents it."""

    kind: Literal["entry", "seal", "recheck", "sheet-bag", "confirm", "text"]
    label: str
    """What is typed, e.g. ``HSM bag serial``; for a confirmation the engine's prompt."""
    format: str | None
    """The entry format, checked before the value is handed to the engine (None: not checked)."""
    attempt: int
    attempts: int
    who: str | None
    """Who types, e.g. ``Bob Okafor (Crypto officer)``."""
    again: bool = False
    """The second typing of a ``twice`` entry."""
    refused: str | None = None
    """Why the previous attempt was refused (attempt 2 and later)."""
    words: str | None = None
    """The exact words of a confirmation."""
    custodian: str | None = None
    """Whose share sheet the bag holds (``sheet-bag``: the serial of a share sheet's bag)."""


def sheet_bag_text(request: TypingRequest) -> str:
    """What the room does before the serial of a share sheet's bag is typed."""
    who = request.custodian or "The custodian"
    if request.again:
        return (
            f"Read the serial on {who}'s sealed share-sheet bag once more and type it again, "
            "from the bag, not from memory."
        )
    return (
        f"{who} folds the share sheet, words inside, and seals it in a new tamper-evident bag "
        "in view of the witnesses. Then type the serial printed on the bag. It is typed twice "
        "and recorded, so the bag can be checked whenever the sheet is needed."
    )


class TypingScreen(CeremonyScreen[str]):
    """The performer types an entry, a bag serial after a break, or confirmation words."""

    def __init__(self, state: CeremonyState, view: StepView, request: TypingRequest) -> None:
        super().__init__(state)
        self.view = view
        self.request = request

    def compose_body(self) -> ComposeResult:
        request = self.request
        where = f"step {self.view.index + 1} of {self.view.total}"
        if request.kind in {"seal", "recheck"}:
            heading, text = BAG_TEXTS[request.kind]
            yield Label(f"{heading}  \u00b7  {where}", classes="kind")
            yield Label(Content(self.view.step.title), classes="title")
            yield Static(text, classes="instruction")
        elif request.kind == "sheet-bag":
            yield Label(f"SHARE SHEET BAG  \u00b7  {where}", classes="kind")
            yield Label(Content(self.view.step.title), classes="title")
            yield Static(Content(sheet_bag_text(request)), classes="instruction")
        else:
            yield from step_heading(self.view)
        who = request.who or "The performer"
        yield Static(
            Content(f"{who} types; the witnesses watch the screen and the keyboard."),
            classes="who",
        )
        if request.refused:
            yield Static(Content(self.refusal()), id="refused", classes="warning")
        if request.kind == "confirm":
            yield Label("Type these words exactly (capitals and spaces count):", classes="section")
            yield Static(Content(request.words or ""), id="words", classes="words-box")
        if request.format == "clock-offset":
            yield Static(Content(self.clock_line()), id="workstation-clock", classes="clock-line")
        label = f"{request.label} (again)" if request.again else request.label
        if request.kind == "confirm":
            label = "Words typed"
        yield Label(Content(f"{label}:"), id="value-label", classes="value-label")
        limit = MAX_TYPED if request.words is None else len(request.words) + 40
        yield TypedInput(id="value", max_length=limit)
        for line in self.hints():
            yield Static(Content(line), classes="muted hint")

    def refusal(self) -> str:
        request = self.request
        left = request.attempts - request.attempt + 1
        left_text = "this is the last attempt" if left == 1 else f"{left} attempts left"
        if request.kind == "confirm":
            after = "after that the ceremony stops, and nothing irreversible is done"
        elif request.kind == "recheck":
            after = "after that the ceremony stops"
        elif request.kind == "sheet-bag":
            return (
                f"Refused: {request.refused}. Read it from the bag and type it twice: "
                f"{left_text}; after that the ceremony stops."
            )
        else:
            after = "after that the room decides whether to proceed with a deviation or abort"
        again = "Type them again" if request.kind == "confirm" else "Read it again and type it"
        return f"Refused: {request.refused}. {again}: {left_text}; {after}."

    def clock_line(self) -> str:
        return (
            f"Workstation clock now: {clock_text()} (also at the top of the screen). "
            "Type the reference time minus this time, in seconds."
        )

    def hints(self) -> list[str]:
        request = self.request
        lines = []
        if request.format is not None:
            lines.append(f"Format: {FORMAT_HINTS.get(request.format, request.format)}")
        if request.again:
            lines.append(
                "Typed twice to catch slips: read it again from the source, not from the "
                "first entry."
            )
        lines.append(
            f"Attempt {request.attempt} of {request.attempts}. Type, then press Enter. "
            "Pasting is switched off."
        )
        return lines

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()
        if self.request.format == "clock-offset":
            self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        self.query_one("#workstation-clock", Static).update(Content(self.clock_line()))

    @on(Input.Submitted, "#value")
    def submit(self) -> None:
        if not armed(self):
            return
        field = self.query_one("#value", Input)
        value = field.value.strip()
        if not value:
            self.show_problem("nothing was typed; type it, then press Enter")
            return
        if self.request.format is not None:
            problem = entry_problem(self.request.format, value)
            if problem is not None:
                self.show_problem(f"{problem}; correct it and press Enter (no attempt is used)")
                return
        self.dismiss(value)

    @on(Input.Changed, "#value")
    def typing(self) -> None:
        self.show_problem(None)


# ------------------------------------------------------------------------------------ break


class BreakLeaveScreen(CeremonyScreen[tuple[str, ...]]):
    """The break starts: tick who leaves the room."""

    def __init__(
        self, state: CeremonyState, view: StepView, script: Script, present: Sequence[str]
    ) -> None:
        super().__init__(state)
        self.view = view
        self.script = script
        self.present = tuple(present)

    def compose_body(self) -> ComposeResult:
        yield from step_heading(self.view)
        yield Label(
            "WHO LEAVES THE ROOM  (\u2191\u2193 move, space ticks; leave unticked who stays)",
            classes="section",
        )
        yield TickList(
            [(pid, people_label(self.script, pid)) for pid in self.present],
            multi=True,
            id="leaving",
        )
        yield Static("If nobody leaves, start the break with nobody ticked.", classes="muted hint")

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Start the break", "start-break", "primary")

    def on_mount(self) -> None:
        self.query_one("#leaving", ListPicker).focus()

    @on(Button.Pressed, "#start-break")
    def start(self) -> None:
        picked = self.query_one("#leaving", ListPicker).picked
        self.dismiss(tuple(pid for pid in self.present if pid in picked))


class BreakScreen(CeremonyScreen[tuple[str, ...]]):
    """During the break: since when, who is away; tick who returned, then resume."""

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        script: Script,
        *,
        present: Sequence[str],
        away: Sequence[str],
        since: datetime,
    ) -> None:
        super().__init__(state)
        self.view = view
        self.script = script
        self.present = tuple(present)
        self.away = tuple(away)
        self.since = since

    def compose_body(self) -> ComposeResult:
        step = self.view.step
        yield Static(
            "BREAK  \u00b7  THE CEREMONY IS PAUSED", id="break-banner", classes="break-banner"
        )
        yield Label(
            Content(f"{step.title}  \u00b7  step {self.view.index + 1} of {self.view.total}"),
            classes="title",
        )
        yield Static(Content(self.since_line()), id="since", classes="who")
        names = [self.script.participant(p).name for p in self.away]
        staying = [self.script.participant(p).name for p in self.present if p not in self.away]
        yield FactsView(
            (
                Fact("Away", ", ".join(names) or "nobody"),
                Fact("In the room", ", ".join(staying) or "nobody"),
            ),
            id="break-facts",
        )
        if isinstance(step, BreakStep) and step.recheck_bags:
            bags = ", ".join(
                f"{self.script.material(m).description} ({m})" for m in step.recheck_bags
            )
            yield Static(
                Content(f"On resume the bag serial is typed again for: {bags}."),
                classes="instruction",
            )
        if self.away:
            yield Label(
                "WHO HAS RETURNED  (tick each person as they come back and are identified)",
                classes="section",
            )
            yield TickList(
                [(pid, people_label(self.script, pid)) for pid in self.away],
                multi=True,
                id="returned",
            )

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Resume the ceremony", "resume", "primary")

    def since_line(self) -> str:
        minutes = int((datetime.now(UTC) - self.since).total_seconds() // 60)
        return f"Paused since {clock_text(self.since)}  ({minutes} min ago)"

    def on_mount(self) -> None:
        pickers = self.query("#returned")
        if pickers:
            pickers.first().focus()
        self.set_interval(5.0, self.tick)

    def tick(self) -> None:
        self.query_one("#since", Static).update(Content(self.since_line()))

    def returned(self) -> tuple[str, ...]:
        pickers = self.query("#returned").results(ListPicker)
        picked = next(iter(pickers)).picked if self.away else set()
        return tuple(pid for pid in self.away if pid in picked)

    def missing_role(self, returned: Sequence[str]) -> str | None:
        """The engine's rule: every later step still needs a present holder of each role."""
        present = [p for p in self.present if p not in self.away or p in returned]
        for later in self.script.steps[self.view.index + 1 :]:
            for role in (later.performer, *later.witnesses):
                if not candidates(self.script, present, role):
                    role_name = self.script.role(role).name
                    waiting = [
                        self.script.participant(p).name
                        for p in self.away
                        if role in self.script.participant(p).roles
                    ]
                    wait = f"wait for {' or '.join(waiting)}" if waiting else "wait"
                    return (
                        f"nobody in the room holds the role {role_name}, needed at the step "
                        f"{later.title!r}; {wait}, or stop the ceremony with Ctrl+Q"
                    )
        return None

    @on(Button.Pressed, "#resume")
    def resume(self) -> None:
        returned = self.returned()
        problem = self.missing_role(returned)
        if problem:
            self.show_problem(problem)
            return
        self.dismiss(returned)

    @on(ListPicker.Changed, "#returned")
    def changed(self) -> None:
        self.show_problem(None)


# --------------------------------------------------------------------------------- sign-off


class SignOffScreen(CeremonyScreen[tuple[SignOff, ...]]):
    """Every participant present states whether the script was followed, with a comment."""

    def __init__(
        self, state: CeremonyState, view: StepView, script: Script, participants: Sequence[str]
    ) -> None:
        super().__init__(state)
        self.view = view
        self.script = script
        self.participants = tuple(participants)

    def compose_body(self) -> ComposeResult:
        view = self.view
        yield Label(f"SIGN-OFF  \u00b7  step {view.index + 1} of {view.total}", classes="kind")
        yield Label(Content(view.step.title), classes="title")
        yield Static(
            "Each person answers for themselves: was the ceremony performed as this script "
            "says? Deviations recorded in the journal count as followed. 'Not followed' needs "
            "a comment. \u2190\u2192 and space choose; Tab moves to the comment and on.",
            classes="instruction",
        )
        for pid in self.participants:
            with Vertical(classes="signoff"):
                yield Label(Content(people_label(self.script, pid)), classes="signoff-name")
                with Horizontal(classes="signoff-row"):
                    yield InlineChoice(
                        [("yes", "Followed"), ("no", "Not followed")],
                        multi=False,
                        id=f"followed-{pid}",
                        classes="followed",
                    )
                    yield Input(
                        placeholder="comment (optional)",
                        id=f"comment-{pid}",
                        compact=True,
                        max_length=MAX_TYPED,
                        classes="comment",
                    )

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Record the statements", "record", "primary")

    def on_mount(self) -> None:
        choices = self.query(InlineChoice)
        if choices:
            choices.first().focus()
        self.query_one("#body").scroll_home(animate=False)

    def statements(self) -> tuple[SignOff, ...] | None:
        result = []
        for pid in self.participants:
            name = self.script.participant(pid).name
            picked = self.query_one(f"#followed-{pid}", InlineChoice).picked
            comment = one_line(self.query_one(f"#comment-{pid}", Input).value) or None
            if not picked:
                self.show_problem(f"{name} has not answered yet (Followed or Not followed)")
                return None
            followed = "yes" in picked
            if not followed and comment is None:
                self.show_problem(
                    f"{name} answered 'Not followed': write in the comment what was not followed"
                )
                return None
            result.append(SignOff(pid, followed, comment))
        return tuple(result)

    @on(Button.Pressed, "#record")
    def record(self) -> None:
        statements = self.statements()
        if statements is not None:
            self.dismiss(statements)

    @on(ListPicker.Changed)
    def changed(self) -> None:
        self.show_problem(None)

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()


# ------------------------------------------------------------------------ decisions and deviations


def decision_options(step: StepBase, failed: bool) -> list[tuple[str, str]]:
    """The choices the engine accepts: after a failure, or for a deviation recorded at a step."""
    if failed:
        if isinstance(step, AttendanceStep):
            # A registry mismatch or a failed preflight check, decided once the room is known:
            # the engine accepts proceed (the deviation on record), a new check, or abort.
            return [
                ("proceed", "Proceed: record the deviation and go on"),
                ("retry", "Check again (once the room has put it right)"),
                ("abort", "Abort the ceremony"),
            ]
        if isinstance(step, EntryStep):
            first = ("proceed", "Proceed: record a deviation; the value stays unconfirmed")
        else:
            first = ("retry", "Retry the action")
        return [first, ("abort", "Abort the ceremony")]
    if isinstance(step, ActionStep):
        proceed = "Proceed: the action still runs, with this deviation on record"
    else:
        proceed = "Proceed: the step is still carried out, with this deviation on record"
    options = [("proceed", proceed)]
    if skip_allowed(step):
        options.append(("skip", "Skip: the step is recorded as not performed"))
    options.append(("abort", "Abort: the ceremony stops here"))
    return options


class DecisionForm(CeremonyScreen[ResultT]):
    """The parts shared by the failure decision and the deviation form: decision and decider."""

    def __init__(
        self, state: CeremonyState, view: StepView, script: Script, present: Sequence[str]
    ) -> None:
        super().__init__(state)
        self.view = view
        self.script = script
        self.present = tuple(present)

    def compose_decision(self, options: list[tuple[str, str]]) -> ComposeResult:
        yield Label("WHAT NOW  (\u2191\u2193 and space choose; Tab moves on)", classes="section")
        yield ChoiceList(options, multi=False, id="decision", classes="decision")
        yield Label(
            Content(f"DECIDED BY  (the script lets a {deciding_roles(self.script)} decide)"),
            classes="section",
        )
        # As for who acts: the only present person who may decide is chosen already.
        allowed = [p for p in self.present if decider_problem(self.script, self.present, p) is None]
        yield ChoiceList(
            [(pid, people_label(self.script, pid)) for pid in self.present],
            multi=False,
            picked=allowed if len(allowed) == 1 else (),
            id="decider",
        )

    def decision(self) -> DeviationDecision | None:
        picked = self.query_one("#decision", ListPicker).picked
        chosen = next(iter(picked), None)
        if chosen in {"proceed", "skip", "retry", "abort"}:
            return chosen  # type: ignore[return-value]
        return None

    def decider(self) -> str | None:
        return next(iter(self.query_one("#decider", ListPicker).picked), None)

    def checked(self) -> tuple[DeviationDecision, str] | None:
        """The decision and the decider if the engine will accept them; else say why."""
        decision = self.decision()
        if decision is None:
            self.show_problem("choose what the room decided")
            return None
        decider = self.decider()
        problem = decider_choice_problem(self.script, self.present, decider)
        if problem or decider is None:
            self.show_problem(problem or "choose who decided")
            return None
        return decision, decider

    @on(ListPicker.Changed, "#decider")
    def decider_changed(self) -> None:
        self.show_problem(decider_choice_problem(self.script, self.present, self.decider()))

    @on(ListPicker.Changed, "#decision")
    def decision_changed(self) -> None:
        self.show_problem(None)
        button = self.query_one("#record", ActionButton)
        button.variant = "error" if self.decision() == "abort" else "primary"


class FailureDecisionScreen(DecisionForm[Deviation]):
    """An action failed, or an entry was refused three times: retry / proceed, or abort."""

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        script: Script,
        present: Sequence[str],
        problem: str,
    ) -> None:
        super().__init__(state, view, script, present)
        self.problem = problem

    def compose_body(self) -> ComposeResult:
        step = self.view.step
        entry = isinstance(step, EntryStep)
        headline = "THE ENTRY WAS REFUSED" if entry else "THE STEP COULD NOT BE COMPLETED"
        yield Label(
            f"{headline}  \u00b7  step {self.view.index + 1} of {self.view.total}",
            classes="kind failure",
        )
        yield Label(Content(step.title), classes="title")
        yield Static(Content(self.problem), id="failure", classes="problem-box")
        if entry:
            yield Static(
                "The value was refused three times. Proceeding records a deviation with what "
                "was typed; aborting stops the ceremony.",
                classes="instruction",
            )
        else:
            yield Static(
                "Nothing else happens until the room decides. A retry runs the action again; "
                "both are journaled with who decided.",
                classes="instruction",
            )
        yield from self.compose_decision(decision_options(step, failed=True))
        with Horizontal(id="note-row"):
            yield Label("Note (optional)", classes="note-label")
            yield Input(id="note", compact=True, max_length=MAX_TYPED)

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Record the decision", "record", "primary")

    def on_mount(self) -> None:
        self.query_one("#decision", ListPicker).focus()
        self.call_after_refresh(self.query_one("#body").scroll_home, animate=False)

    @on(Button.Pressed, "#record")
    def record(self) -> None:
        checked = self.checked()
        if checked is None:
            return
        decision, decider = checked
        note = one_line(self.query_one("#note", Input).value) or None
        self.dismiss(Deviation("", self.problem, decision, decider, note))

    @on(Input.Submitted, "#note")
    def next_field(self) -> None:
        self.focus_next()


def expected_text(step: StepBase) -> str:
    """What the script says should happen at ``step``, to prefill a deviation's 'expected'."""
    if isinstance(step, WitnessCheckStep):
        return f"{step.compare.look_at}: {step.compare.expected}"
    return one_line(step.instruction)


class DeviationScreen(DecisionForm[Deviation | None]):
    """Record a deviation at a step: expected, observed, the decision and who decided."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to the step"),
    ]

    def compose_body(self) -> ComposeResult:
        step = self.view.step
        kind = KIND_NAMES.get(str(getattr(step, "kind", "")), "Step")
        yield Label(
            f"RECORD A DEVIATION  \u00b7  {kind.lower()}, step {self.view.index + 1} of "
            f"{self.view.total}",
            classes="kind warning",
        )
        yield Label(Content(step.title), classes="title")
        yield Static(
            "For a step that cannot be done as the script says. The journal keeps what you "
            "write here, the decision and who decided.",
            classes="instruction",
        )
        yield Label("EXPECTED  (what the script says; edit if needed)", classes="section")
        yield TextArea(expected_text(step), id="expected", classes="deviation-text")
        yield Label("OBSERVED  (what happened instead)", classes="section")
        yield TextArea("", id="observed", classes="deviation-text")
        yield from self.compose_decision(decision_options(step, failed=False))

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Back to the step", "back", "default")
        yield ActionButton("Record the deviation", "record", "primary")

    def on_mount(self) -> None:
        self.query_one("#observed", TextArea).focus()
        self.call_after_refresh(self.query_one("#body").scroll_home, animate=False)

    def action_back(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#back")
    def back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#record")
    def record(self) -> None:
        expected = one_line(self.query_one("#expected", TextArea).text)
        observed = one_line(self.query_one("#observed", TextArea).text)
        if not expected:
            self.show_problem("write what the script expected")
            self.query_one("#expected", TextArea).focus()
            return
        if not observed:
            self.show_problem("write what happened instead")
            self.query_one("#observed", TextArea).focus()
            return
        checked = self.checked()
        if checked is None:
            return
        decision, decider = checked
        self.dismiss(Deviation(expected, observed, decision, decider))
