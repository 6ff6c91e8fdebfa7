"""The ceremony screens: start, attendance, steps, PIN, work in progress, outcomes, end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    Footer,
    Input,
    Label,
    LoadingIndicator,
    Static,
)

from sealroom.ceremony.fingerprint import Fingerprint, pgp_words
from sealroom.ceremony.ports import (
    Acknowledgement,
    Attendance,
    Deviation,
    Fact,
    Outcome,
    StepView,
)
from sealroom.ceremony.quorum import acknowledgement_problem, attendance_problem
from sealroom.ceremony.script import (
    ActionStep,
    BreakStep,
    ConfirmStep,
    EntryStep,
    Script,
    SignOffStep,
    WitnessCheckStep,
)
from sealroom.ui.base import CeremonyScreen, ObservedScreen, step_heading
from sealroom.ui.forms import FORMAT_HINTS, DeviationScreen
from sealroom.ui.widgets import (
    ActionButton,
    CeremonyBar,
    CeremonyState,
    FactsView,
    PeoplePicker,
    PresenceList,
    RoleChoice,
)

MIN_PIN_LENGTH = 4

DEVIATION_KINDS = frozenset({"acknowledge", "witness-check", "action", "entry", "confirm", "break"})
"""Step kinds at which the room can record a deviation from the step screen (F2). The engine
reads ``Acknowledgement.deviation`` only for these: attendance has no acknowledgement, and a
sign-off cannot be passed by a deviation (who disagrees signs 'not followed' with a comment)."""

NEXT_BUTTONS: dict[str, str] = {
    "entry": "Next: type the value",
    "confirm": "Next: type the words",
    "break": "Next: who leaves the room",
    "sign-off": "Next: the statements",
}


# ----------------------------------------------------------------------------------- waiting


class WaitScreen(Screen[None]):
    """Shown between questions, while the engine records a step or talks to the HSM."""

    def __init__(self, state: CeremonyState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield CeremonyBar(self.state)
        with Vertical(id="wait"):
            yield Static("Please wait: the workstation is recording the step.", id="wait-text")
        yield Footer(show_command_palette=False, compact=True)

    def on_screen_resume(self) -> None:
        for bar in self.query(CeremonyBar):
            bar.update_progress()

    def set_text(self, text: str) -> None:
        self.query_one("#wait-text", Static).update(Content(text))


class ConfirmStopScreen(ModalScreen[bool]):
    """Asks before stopping a ceremony: a stop is journaled as an abort and cannot be undone."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Keep going"),
        Binding("tab", "app.focus_next", "Next field"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="danger"):
            yield Label("Stop the ceremony?", classes="title")
            yield Static(
                "The journal records that the operator stopped the ceremony at this step. "
                "A stopped ceremony cannot be resumed; a new ceremony must be held.",
                classes="instruction",
            )
            with Horizontal(classes="dialog-actions"):
                yield ActionButton("Keep going", "keep", "primary")
                yield ActionButton("Stop the ceremony", "stop", "error")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def action_keep(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#keep")
    def keep(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#stop")
    def stop(self) -> None:
        self.dismiss(True)


# ------------------------------------------------------------------------------------- start


class StartScreen(CeremonyScreen[None]):
    """The ceremony's identity and the script's fingerprint, checked before anything is asked."""

    def __init__(
        self,
        state: CeremonyState,
        script: Script,
        script_sha256: str,
        rehearsal: bool,
        rehearsal_pin: str | None,
        *,
        resume_note: str | None = None,
    ) -> None:
        super().__init__(state)
        self.script = script
        self.script_sha256 = script_sha256
        self.rehearsal = rehearsal
        self.rehearsal_pin = rehearsal_pin
        self.resume_note = resume_note

    def compose_body(self) -> ComposeResult:
        ceremony = self.script.ceremony
        where = f"{ceremony.location.site}, {ceremony.location.room}"
        if self.rehearsal:
            yield Static(
                "REHEARSAL: a throwaway SoftHSM2 token stands in for the HSM. "
                "Nothing made here is a real CA key.",
                classes="rehearsal-banner",
            )
        if self.resume_note:
            yield Static(Content(self.resume_note), classes="resume-banner")
        yield Label(Content(ceremony.title), classes="title")
        yield FactsView(
            (
                Fact("Ceremony", ceremony.id),
                Fact("Type", ceremony.type),
                Fact("Location", where),
                Fact("Steps", str(len(self.script.steps))),
            )
        )
        digest = Fingerprint(self.script_sha256, pgp_words(bytes.fromhex(self.script_sha256)))
        yield Label("Compare with the approved, signed copy of the script:", classes="section")
        yield FactsView((Fact("Script SHA-256", digest.grouped(), digest.words),))
        if self.rehearsal and self.rehearsal_pin:
            yield Static(
                Content(f"Rehearsal token only: the HSM user PIN is {self.rehearsal_pin}"),
                classes="rehearsal-pin",
            )

    def compose_actions(self) -> ComposeResult:
        label = "Continue the ceremony" if self.resume_note else "Begin the ceremony"
        yield ActionButton(label, "begin", "primary")

    def on_mount(self) -> None:
        self.query_one("#begin", Button).focus()

    @on(Button.Pressed, "#begin")
    def begin(self) -> None:
        self.dismiss(None)


# -------------------------------------------------------------------------------- attendance


class AttendanceScreen(CeremonyScreen[Attendance]):
    """Tick who is present, then choose who records attendance and who witnesses it."""

    def __init__(self, state: CeremonyState, view: StepView, script: Script) -> None:
        super().__init__(state)
        self.view = view
        self.script = script

    def compose_body(self) -> ComposeResult:
        yield from step_heading(self.view)
        yield Label("WHO IS PRESENT  (tick each person as they are identified)", classes="section")
        yield PresenceList(self.script)
        yield PeoplePicker(self.script, self.view.step, ())

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Record attendance", "confirm", "primary")

    def on_mount(self) -> None:
        self.query_one(PresenceList).focus()

    def present(self) -> tuple[str, ...]:
        return self.query_one(PresenceList).present

    @on(PresenceList.Changed, "#present")
    def presence_changed(self) -> None:
        self.query_one(PeoplePicker).set_present(self.present())
        self.show_problem(None)

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        present = self.present()
        if not present:
            self.show_problem("tick everyone who is present first")
            return
        performer, witnesses, missing = self.query_one(PeoplePicker).choices()
        if missing or performer is None:
            self.show_problem(f"choose who acts as {', '.join(missing)}")
            return
        answer = Attendance(present, performer, witnesses)
        problem = attendance_problem(self.script, answer)
        if problem is None:
            ack = Acknowledgement(performer, witnesses)
            problem = acknowledgement_problem(self.script, self.view.step, present, ack)
        if problem:
            self.show_problem(problem)
            return
        self.dismiss(answer)


# ------------------------------------------------------------------------------------- steps


class StepScreen(CeremonyScreen[Acknowledgement]):
    """One step: what to do, who acts, what to compare; the answer, or a deviation (F2)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "deviation", "Record a deviation", key_display="F2"),
        Binding("ctrl+d", "deviation", "Record a deviation", show=False),
    ]

    def __init__(
        self, state: CeremonyState, view: StepView, script: Script, present: Sequence[str]
    ) -> None:
        super().__init__(state)
        self.view = view
        self.script = script
        self.present = tuple(present)

    @property
    def kind(self) -> str:
        return str(getattr(self.view.step, "kind", ""))

    @property
    def answer_button(self) -> str:
        """The id of the button that answers the step as scripted."""
        return {"witness-check": "matches", "action": "run", "acknowledge": "done"}.get(
            self.kind, "next"
        )

    def compose_body(self) -> ComposeResult:
        yield from step_heading(self.view)
        step = self.view.step
        if isinstance(step, WitnessCheckStep):
            yield FactsView(
                (Fact("Look at", step.compare.look_at), Fact("Expected", step.compare.expected)),
                id="compare",
            )
        yield from self.compose_kind()
        if self.view.facts:
            yield FactsView(self.view.facts, id="step-facts")
        yield PeoplePicker(self.script, step, self.present)

    def compose_kind(self) -> ComposeResult:
        """What the next screen will ask, for entries, confirmations, breaks and sign-off."""
        step = self.view.step
        if isinstance(step, EntryStep):
            spec = step.entry
            facts = [
                Fact("To type", spec.label),
                Fact("Format", FORMAT_HINTS.get(spec.format, spec.format)),
            ]
            if spec.twice:
                facts.append(Fact("Typed", "twice, to catch slips"))
            if spec.expect is not None:
                facts.append(Fact("Must match", "the value the script lists"))
            yield FactsView(facts, id="entry-facts")
        words = step.words if isinstance(step, ConfirmStep) else None
        if isinstance(step, ActionStep) and step.confirm:
            words = step.confirm
        if words:
            yield Label("The performer will type these words exactly:", classes="section")
            yield Static(Content(words), classes="words-box")
        if isinstance(step, BreakStep):
            bags = ", ".join(self.script.material(m).description for m in step.recheck_bags)
            if bags:
                yield FactsView(
                    (Fact("On resume", f"the bag serial is typed again: {bags}"),),
                    id="break-facts",
                )
        if isinstance(step, SignOffStep):
            names = ", ".join(self.script.participant(p).name for p in self.present)
            yield FactsView(
                (
                    Fact(
                        "Next",
                        f"each person present states whether the script was followed: {names}",
                    ),
                ),
                id="signoff-facts",
            )

    def compose_actions(self) -> ComposeResult:
        if self.kind == "witness-check":
            yield ActionButton("Matches", "matches", "success")
            yield ActionButton("Does not match", "mismatch", "error")
        elif self.kind == "action":
            yield ActionButton("Run this step", "run", "primary")
        elif self.kind in NEXT_BUTTONS:
            yield ActionButton(NEXT_BUTTONS[self.kind], "next", "primary")
        else:
            yield ActionButton("Confirm: done", "done", "primary")

    def on_mount(self) -> None:
        # Start on the first choice, never on a button: a stray Enter must not confirm a step.
        first = self.query_one(PeoplePicker).first_choice()
        if first is not None:
            first.focus()
        self.query_one("#body", VerticalScroll).scroll_home(animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "deviation":
            return self.kind in DEVIATION_KINDS
        return super().check_action(action, parameters)

    def acknowledgement(
        self, matches: bool = True, observed: str | None = None
    ) -> Acknowledgement | None:
        """The people's choice if the engine will accept it; otherwise say why and return None."""
        performer, witnesses, missing = self.query_one(PeoplePicker).choices()
        if missing or performer is None:
            self.show_problem(f"choose who acts as {', '.join(missing)}")
            return None
        ack = Acknowledgement(performer, witnesses, matches, observed)
        problem = acknowledgement_problem(self.script, self.view.step, self.present, ack)
        if problem:
            self.show_problem(problem)
            return None
        self.show_problem(None)
        return ack

    @on(Button.Pressed, "#done, #run, #matches, #next")
    def accept(self) -> None:
        ack = self.acknowledgement()
        if ack is not None:
            self.dismiss(ack)

    @on(Button.Pressed, "#mismatch")
    def mismatch(self) -> None:
        if self.acknowledgement() is None:
            return

        def observed(text: str | None) -> None:
            if text:
                ack = self.acknowledgement(matches=False, observed=text)
                if ack is not None:
                    self.dismiss(ack)

        step = self.view.step
        expected = step.compare.expected if isinstance(step, WitnessCheckStep) else ""
        self.app.push_screen(MismatchScreen(expected), observed)

    def action_deviation(self) -> None:
        """F2: record a deviation, sent to the engine with the chosen performer and witnesses."""
        if self.kind not in DEVIATION_KINDS or self.app.screen is not self:
            return
        ack = self.acknowledgement()
        if ack is None:
            problem = self.query_one("#problem", Static).content
            self.show_problem(f"{str(problem).removeprefix('Not accepted: ')}, then press F2")
            return

        def recorded(deviation: Deviation | None) -> None:
            if deviation is None:
                return
            answer = replace(ack, deviation=deviation)
            if self.kind == "witness-check":
                answer = replace(answer, matches=False, observed=deviation.observed)
            self.dismiss(answer)

        self.app.push_screen(
            DeviationScreen(self.state, self.view, self.script, self.present), recorded
        )

    @on(RoleChoice.Changed)
    def choice_changed(self) -> None:
        self.show_problem(None)


class MismatchScreen(ObservedScreen):
    """What the witnesses saw instead of what was expected; confirming stops the ceremony."""

    title_text = "The witnesses saw a mismatch"
    question = "What did you see instead?"
    example = "e.g. bag serial TEB-100299, seal torn"
    instruction = (
        "Recording a mismatch stops the ceremony; the journal keeps what you type here. "
        "To go on despite it, go back and record a deviation (F2) instead."
    )
    back_label = "Back to the step"
    record_label = "Record and stop"
    empty_refusal = "Not accepted: write what you saw before stopping the ceremony."

    def __init__(self, expected: str) -> None:
        super().__init__(f"Expected: {expected}")
        self.expected = expected


# --------------------------------------------------------------------------------------- PIN


class PinInput(Input):
    """The PIN field: shows a dot per character typed, never the characters."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Submit the PIN")]


class PinScreen(CeremonyScreen[str]):
    """The performer types a PIN; it is never shown, and it is cleared from the field at once."""

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        *,
        prompt: str,
        attempt: int,
        attempts_left: int,
        who: str | None,
        rehearsal_pin: str | None,
    ) -> None:
        super().__init__(state)
        self.view = view
        self.prompt = prompt
        self.attempt = attempt
        self.attempts_left = attempts_left
        self.who = who
        self.rehearsal_pin = rehearsal_pin

    def compose_body(self) -> ComposeResult:
        yield from step_heading(self.view, instruction=False)
        who = self.who or "The performer"
        yield Static(
            Content(f"{who} types the {self.prompt}. Everyone else looks away from the keyboard."),
            classes="who",
        )
        total = self.attempt + self.attempts_left - 1
        if self.attempt > 1:
            left = "1 attempt" if self.attempts_left == 1 else f"{self.attempts_left} attempts"
            yield Static(
                f"The HSM refused the PIN. {left} left, this one included; "
                "after that the ceremony stops.",
                id="refused",
                classes="warning",
            )
        with Horizontal(id="pin-row"):
            yield Label(f"{self.prompt}:", classes="fact-label")
            yield PinInput(password=True, id="pin", compact=True, max_length=255)
        yield Label(
            f"Attempt {self.attempt} of {total}. Type the PIN, then press Enter.",
            id="attempt",
            classes="muted",
        )
        if self.rehearsal_pin:
            yield Static(
                Content(f"Rehearsal token only: the HSM user PIN is {self.rehearsal_pin}"),
                classes="rehearsal-pin",
            )

    def on_mount(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    def submit(self) -> None:
        field = self.query_one("#pin", Input)
        pin = field.value
        field.value = ""
        if len(pin) < MIN_PIN_LENGTH:
            self.show_problem("a PIN has at least 4 characters; type it again")
            return
        self.dismiss(pin)


# ----------------------------------------------------------------------------- long HSM work


class WorkingScreen(Screen[None]):
    """Long work in progress (key generation, signing, rendering); the engine closes it."""

    def __init__(self, state: CeremonyState, view: StepView, message: str) -> None:
        super().__init__()
        self.state = state
        self.view = view
        self.message = message
        self.started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield CeremonyBar(self.state)
        with Vertical(id="body"):
            yield Label(
                f"WORKING  ·  step {self.view.index + 1} of {self.view.total}", classes="kind"
            )
            yield Label(Content(self.view.step.title), classes="title")
            yield Static(Content(f"{self.message} …"), classes="who")
            yield LoadingIndicator(id="spinner")
            yield Label("0 s elapsed", id="elapsed", classes="muted")
            yield Static(
                "Please wait. Do not switch off the workstation or unplug the HSM.",
                classes="instruction",
            )
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        seconds = int(time.monotonic() - self.started)
        self.query_one("#elapsed", Label).update(f"{seconds} s elapsed")


# ---------------------------------------------------------------------------------- outcomes


class OutcomeScreen(CeremonyScreen[None]):
    """The result of an action, with the values the room reads before going on."""

    def __init__(self, state: CeremonyState, view: StepView, outcome: Outcome) -> None:
        super().__init__(state)
        self.view = view
        self.outcome = outcome

    def compose_body(self) -> ComposeResult:
        yield Label(f"DONE  ·  step {self.view.index + 1} of {self.view.total}", classes="kind")
        yield Label(Content(self.view.step.title), classes="title")
        yield Static(Content(self.outcome.headline), classes="headline")
        if self.outcome.facts:
            yield FactsView(self.outcome.facts)

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Continue", "continue", "primary")

    def on_mount(self) -> None:
        self.query_one("#continue", Button).focus()

    @on(Button.Pressed, "#continue")
    def go_on(self) -> None:
        self.dismiss(None)


class FinishScreen(CeremonyScreen[None]):
    """The ceremony is complete: what was produced and where."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "close", "Close", priority=True)]

    def __init__(self, state: CeremonyState, summary: Outcome, steps: int) -> None:
        super().__init__(state)
        self.summary = summary
        self.steps = steps

    def compose_body(self) -> ComposeResult:
        yield Label("CEREMONY COMPLETE", classes="kind success")
        yield Static(Content(self.summary.headline), classes="headline")
        yield Static(
            f"All {self.steps} steps are done and journaled. Every participant signs the "
            "printed report; keep it with the outputs below.",
            classes="instruction",
        )
        if self.summary.facts:
            yield Label("OUTPUTS", classes="section")
            yield FactsView(self.summary.facts)

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Close Sealroom", "close", "primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)


class FailureScreen(CeremonyScreen[None]):
    """The ceremony stopped: the reason, in the words the engine wrote for the room."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "close", "Close", priority=True)]

    def __init__(self, state: CeremonyState, reason: str) -> None:
        super().__init__(state)
        self.reason = reason

    def compose_body(self) -> ComposeResult:
        yield Label("THE CEREMONY HAS STOPPED", classes="kind failure")
        yield Static(Content(self.reason), id="reason", classes="headline")
        yield Static(
            "Everything up to this point is in the journal, including why it stopped. "
            "Keep the journal and the outputs folder as evidence.",
            classes="instruction",
        )

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Close Sealroom", "close", "primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
