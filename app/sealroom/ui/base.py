"""The frame every ceremony screen shares: the ceremony bar, a scrolling body, actions, keys."""

from __future__ import annotations

import time
from typing import ClassVar, TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, Static

from sealroom.ceremony.ports import StepView
from sealroom.ui.widgets import KIND_NAMES, ActionButton, CeremonyBar, CeremonyState

ResultT = TypeVar("ResultT")


class CeremonyScreen(Screen[ResultT]):
    """A full screen with the ceremony bar on top, a scrollable body, actions and the key footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next field"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False),
        Binding("pagedown", "scroll_body(1)", "More", key_display="PgDn/PgUp"),
        Binding("pageup", "scroll_body(-1)", "Scroll up", show=False),
    ]

    def __init__(self, state: CeremonyState) -> None:
        super().__init__()
        self.state = state
        self.shown_at: float | None = None

    def compose(self) -> ComposeResult:
        yield CeremonyBar(self.state)
        with VerticalScroll(id="body", can_focus=False):
            yield from self.compose_body()
        with Vertical(id="bottom"):
            yield Static("", id="problem")
            with Horizontal(id="actions"):
                yield from self.compose_actions()
        yield Footer(show_command_palette=False, compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def compose_actions(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        if self.shown_at is None:
            self.shown_at = time.monotonic()
        for bar in self.query(CeremonyBar):
            bar.update_progress()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "scroll_body":
            # Offer PgDn/PgUp only when the body does not fit the terminal.
            bodies = self.query("#body")
            return bool(bodies) and bodies.first().max_scroll_y > 0
        return True

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.refresh_bindings)

    def action_scroll_body(self, direction: int) -> None:
        body = self.query_one("#body", VerticalScroll)
        if direction < 0:
            body.scroll_page_up()
        else:
            body.scroll_page_down()

    def show_problem(self, text: str | None) -> None:
        """Show why the people's answer cannot be accepted (or clear it)."""
        problem = self.query_one("#problem", Static)
        problem.update(Content(f"Not accepted: {text}") if text else "")
        problem.set_class(bool(text), "visible")
        if text:
            self.app.bell()


def step_heading(view: StepView, *, instruction: bool = True) -> ComposeResult:
    """The kind of step and its title, then the instruction the administrator reads aloud."""
    kind = KIND_NAMES.get(getattr(view.step, "kind", ""), "Step")
    yield Label(f"{kind.upper()}  ·  step {view.index + 1} of {view.total}", classes="kind")
    yield Label(Content(view.step.title), classes="title")
    if instruction:
        yield Static(Content(view.step.instruction), classes="instruction")
    else:
        yield Static("", classes="spacer")


class ObservedScreen(ModalScreen[str | None]):
    """Asks the witnesses what they saw that does not match; dismisses with it (None: back).

    Subclasses set the texts: the title, an optional ``lead`` (what was expected), the question,
    the field's example, what happens next, the two buttons, and the refusal of an empty answer.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("tab", "app.focus_next", "Next field"),
    ]
    title_text: ClassVar[str]
    question: ClassVar[str]
    example: ClassVar[str]
    instruction: ClassVar[str]
    back_label: ClassVar[str]
    record_label: ClassVar[str]
    empty_refusal: ClassVar[str]

    def __init__(self, lead: str | None = None) -> None:
        super().__init__()
        self.lead = lead

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="danger"):
            yield Label(self.title_text, classes="title")
            if self.lead is not None:
                yield Static(Content(self.lead), classes="instruction")
            yield Label(self.question, classes="section")
            yield Input(placeholder=self.example, id="observed")
            yield Static(self.instruction, classes="instruction")
            yield Static("", id="problem")
            with Horizontal(classes="dialog-actions"):
                yield ActionButton(self.back_label, "back", "default")
                yield ActionButton(self.record_label, "record", "error")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one("#observed", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#back")
    def back(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#observed")
    @on(Button.Pressed, "#record")
    def record(self) -> None:
        text = self.query_one("#observed", Input).value.strip()
        if not text:
            problem = self.query_one("#problem", Static)
            problem.update(self.empty_refusal)
            problem.add_class("visible")
            self.query_one("#observed", Input).focus()
            return
        self.dismiss(text)
