"""Widgets shared by the ceremony screens: the ceremony bar, facts, and the who-acts picker."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Label, Static
from textual.widgets.button import ButtonVariant

from sealroom.ceremony.ports import Fact
from sealroom.ceremony.quorum import candidates
from sealroom.ceremony.script import Script, StepBase

_HEX_GROUPS = re.compile(r"[0-9A-Fa-f]{4}( [0-9A-Fa-f]{4}){15}")
_GROUPS_PER_LINE = 8
MAX_LABEL_WIDTH = 26

KIND_NAMES: Mapping[str, str] = {
    "attendance": "Attendance",
    "acknowledge": "Confirmation",
    "witness-check": "Witness check",
    "action": "Action",
    "entry": "Entry",
    "confirm": "Typed confirmation",
    "break": "Break",
    "sign-off": "Sign-off",
}


ARMING_SECONDS = 0.3
"""Keys that confirm or choose are ignored this long after a screen appears, so a repeated or
stray Enter meant for the previous screen cannot answer the next one."""


def armed(widget: Widget) -> bool:
    """Whether ``widget``'s screen has been shown long enough to accept a confirming key."""
    shown = getattr(widget.screen, "shown_at", None)
    delay = getattr(widget.app, "arming_seconds", ARMING_SECONDS)
    return shown is None or time.monotonic() - shown >= delay


class ActionButton(Button):
    """A button that names its key in the footer (Enter presses it)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "press", "Press button")]

    def __init__(self, label: str, id: str, variant: ButtonVariant = "primary") -> None:
        super().__init__(Content(f"  {label}"), id=id, variant=variant, compact=True)
        self.text = label

    def action_press(self) -> None:
        if armed(self):
            super().action_press()

    def on_focus(self) -> None:
        # A marker as well as a colour, so the focused button is plain on any terminal.
        self.label = Content(f"\u25b8 {self.text}")

    def on_blur(self) -> None:
        self.label = Content(f"  {self.text}")


class CeremonyState(Protocol):
    """What the ceremony bar shows; the app implements it."""

    @property
    def ceremony_id(self) -> str: ...

    @property
    def rehearsal(self) -> bool: ...

    @property
    def progress(self) -> str: ...


def clock_text(moment: datetime | None = None) -> str:
    """The workstation clock as the room reads it: ``HH:MM:SS UTC``."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%H:%M:%S UTC")


class CeremonyBar(Horizontal):
    """The bar on top of every screen: ceremony id, REHEARSAL, the workstation clock, progress.

    The clock is the workstation's own (UTC), the one the clock-offset entry compares with the
    reference clock.
    """

    def __init__(self, state: CeremonyState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield Label(f" SEALROOM  {self.state.ceremony_id}", id="bar-ceremony")
        if self.state.rehearsal:
            yield Label(" REHEARSAL ", id="bar-rehearsal")
        yield Label(clock_text(), id="bar-clock")
        yield Label(self.state.progress, id="bar-progress")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        self.query_one("#bar-clock", Label).update(clock_text())

    def update_progress(self) -> None:
        """Show the app's current step progress."""
        self.query_one("#bar-progress", Label).update(self.state.progress)


def hex_lines(value: str) -> list[str] | None:
    """Split a grouped SHA-256 ("ABCD EF01 ...", 16 groups) into two lines of 8 groups."""
    if not _HEX_GROUPS.fullmatch(value):
        return None
    groups = value.upper().split(" ")
    return [
        " ".join(groups[i : i + _GROUPS_PER_LINE]) for i in range(0, len(groups), _GROUPS_PER_LINE)
    ]


class FactsView(Vertical):
    """Labelled values; a fingerprint is shown as two lines of hex and its PGP words below.

    Consecutive plain facts with the same label (e.g. the checks that passed) are listed under
    that label once, one bullet each.
    """

    def __init__(self, facts: Iterable[Fact], *, id: str | None = None) -> None:
        super().__init__(id=id, classes="facts")
        self.facts = tuple(facts)

    def label_width(self) -> int:
        plain = [f.label for f in self.facts if f.words is None and hex_lines(f.value) is None]
        return min(max((len(label) for label in plain), default=8) + 2, MAX_LABEL_WIDTH)

    def compose(self) -> ComposeResult:
        width = self.label_width()
        facts = list(self.facts)
        index = 0
        while index < len(facts):
            fact = facts[index]
            lines = hex_lines(fact.value)
            if fact.words is not None or lines is not None:
                yield Label(Content(fact.label), classes="fact-label fact-heading")
                yield Static(Content("\n".join(lines or [fact.value])), classes="fact-hex")
                if fact.words:
                    yield Static(Content(fact.words), classes="fact-words")
                index += 1
                continue
            same = 1
            while (
                index + same < len(facts)
                and facts[index + same].label == fact.label
                and facts[index + same].words is None
            ):
                same += 1
            if same > 1:
                yield Label(Content(fact.label), classes="fact-label fact-heading")
                for item in facts[index : index + same]:
                    with Horizontal(classes="fact-item"):
                        yield Label("\u2022", classes="bullet")
                        yield Static(Content(item.value), classes="fact-value")
            else:
                with Horizontal(classes="fact-row"):
                    label = Label(Content(fact.label), classes="fact-label")
                    label.styles.width = width
                    yield label
                    yield Static(Content(fact.value), classes="fact-value")
            index += same


def person_name(script: Script, participant_id: str) -> str:
    return script.participant(participant_id).name


class ListPicker(Widget, can_focus=True):
    """A keyboard list: ↑↓ move, space or Enter picks. Marks are characters, not only colours.

    ``multi`` lists tick any number of entries ("[X]"); otherwise one entry is chosen ("(●)").
    Entries that are not ``enabled`` are shown as unavailable and cannot be picked.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Move", show=False),
        Binding("up", "move(-1)", "Move", show=False),
        Binding("space,enter", "pick", "Pick", key_display="space", show=False),
    ]

    class Changed(Message):
        """The picked entries changed."""

        def __init__(self, picker: ListPicker) -> None:
            super().__init__()
            self.picker = picker

        @property
        def control(self) -> ListPicker:
            return self.picker

    def __init__(
        self,
        items: Sequence[tuple[str, str]],
        *,
        multi: bool,
        picked: Iterable[str] = (),
        enabled: Iterable[str] | None = None,
        unavailable: str = "not present",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.items = tuple(items)
        self.multi = multi
        self.picked: set[str] = set(picked)
        self.enabled: set[str] = {key for key, _ in self.items} if enabled is None else set(enabled)
        self.unavailable = unavailable
        self.cursor = next(
            (i for i, (key, _) in enumerate(self.items) if key in self.picked),
            self._next_enabled(-1, 1) or 0,
        )

    def _next_enabled(self, start: int, step: int) -> int | None:
        index = start
        for _ in range(len(self.items)):
            index = (index + step) % len(self.items)
            if self.items[index][0] in self.enabled:
                return index
        return None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.items))

    def render(self) -> Content:
        lines = []
        for index, (key, label) in enumerate(self.items):
            on = key in self.picked
            mark = ("[X]" if on else "[ ]") if self.multi else ("(\u25cf)" if on else "( )")
            here = self.has_focus and index == self.cursor
            pointer = "\u203a" if here else " "
            available = key in self.enabled
            text = f"{pointer} {mark} {label}" + ("" if available else f"  ({self.unavailable})")
            style = "reverse" if here else ("bold" if on else ("dim" if not available else ""))
            lines.append(Content.styled(text, style) if style else Content(text))
        return Content("\n").join(lines)

    def action_move(self, step: int) -> None:
        found = self._next_enabled(self.cursor, step)
        if found is not None:
            self.cursor = found
            self.refresh()

    def action_pick(self) -> None:
        if not self.items or not armed(self):
            return
        key = self.items[self.cursor][0]
        if key not in self.enabled:
            return
        if self.multi:
            self.picked ^= {key}
        else:
            self.picked = {key}
        self.refresh()
        self.post_message(self.Changed(self))

    def on_click(self, event: events.Click) -> None:
        if 0 <= event.y < len(self.items):
            self.cursor = event.y
            self.action_pick()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def set_enabled(self, enabled: Iterable[str]) -> None:
        """Allow only ``enabled`` entries; picks of entries no longer allowed are dropped."""
        self.enabled = set(enabled)
        self.picked &= self.enabled
        if self.items[self.cursor][0] not in self.enabled if self.items else False:
            self.cursor = self._next_enabled(self.cursor, 1) or 0
        self.refresh()

    def choose(self, key: str | None) -> None:
        """Pick ``key`` (single choice), or clear the choice; no Changed message is sent."""
        self.picked = {key} if key is not None and key in self.enabled else set()
        if key is not None:
            self.cursor = next((i for i, (k, _) in enumerate(self.items) if k == key), 0)
        self.refresh()


class ChoiceList(ListPicker):
    """A list to choose one entry from (a decision, who decided), keys named in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,enter", "pick", "Choose", key_display="space"),
    ]


class TickList(ListPicker):
    """A list to tick any number of entries (who leaves, who returned), keys in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,enter", "pick", "Tick / untick", key_display="space"),
    ]


class InlineChoice(ListPicker):
    """A single choice whose options sit side by side on one line: ←→ move, space chooses."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "move(1)", "Move", show=False),
        Binding("left", "move(-1)", "Move", show=False),
        Binding("space,enter", "pick", "Choose", key_display="space"),
    ]
    GAP = 3

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return sum(len(label) + 6 for _, label in self.items) + self.GAP * (len(self.items) - 1)

    def render(self) -> Content:
        parts = []
        for index, (key, label) in enumerate(self.items):
            on = key in self.picked
            here = self.has_focus and index == self.cursor
            pointer = "\u203a" if here else " "
            mark = "(\u25cf)" if on else "( )"
            text = f"{pointer} {mark} {label}"
            style = "reverse" if here else ("bold" if on else "")
            parts.append(Content.styled(text, style) if style else Content(text))
        return Content(" " * self.GAP).join(parts)

    def on_click(self, event: events.Click) -> None:
        x = 0
        for index, (_, label) in enumerate(self.items):
            width = len(label) + 6
            if x <= event.x < x + width:
                self.cursor = index
                self.action_pick()
                return
            x += width + self.GAP


class PresenceList(ListPicker):
    """Who is present: every participant of the script, ticked as they are identified."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,enter", "pick", "Tick / untick", key_display="space"),
    ]

    def __init__(self, script: Script) -> None:
        super().__init__(
            [
                (p.id, f"{p.name}  ·  {', '.join(script.role(r).name for r in p.roles)}")
                for p in script.participants
            ],
            multi=True,
            id="present",
        )
        self.script = script

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.script.participants if p.id in self.picked)


class RoleChoice(ListPicker):
    """The choice of one participant for one role (performer or witness)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,enter", "pick", "Choose", key_display="space"),
    ]

    def __init__(
        self,
        role: str,
        position: int,
        people: Sequence[tuple[str, str]],
        enabled: Iterable[str],
        chosen: str | None,
    ) -> None:
        super().__init__(
            people,
            multi=False,
            picked=() if chosen is None else (chosen,),
            enabled=enabled,
            classes="role-choice",
        )
        self.role = role
        self.position = position

    @property
    def chosen(self) -> str | None:
        return next(iter(self.picked), None)


class PeoplePicker(Vertical):
    """Who performs the step and who witnesses it: one choice per role, among those present.

    Each role lists its holders; those not present cannot be chosen. A role with exactly one
    present holder is pre-chosen (there is no one else it could be); with several, nobody is
    chosen until the room picks one.
    """

    def __init__(self, script: Script, step: StepBase, present: Sequence[str]) -> None:
        super().__init__(classes="people")
        self.script = script
        self.step = step
        self.present = tuple(present)

    def slots(self) -> list[tuple[str, str]]:
        """(capacity, role) for every place to fill: the performer first, then each witness."""
        return [("performer", self.step.performer)] + [("witness", r) for r in self.step.witnesses]

    def compose(self) -> ComposeResult:
        yield Label(
            "WHO ACTS IN THIS STEP  (\u2191\u2193 and space choose; Tab moves on)",
            classes="section",
        )
        for position, (capacity, role) in enumerate(self.slots()):
            holders = [p.id for p in self.script.holders_of(role)]
            present = candidates(self.script, self.present, role)
            chosen = present[0] if len(present) == 1 else None
            with Horizontal(classes="slot"):
                yield Label(
                    "Performs" if capacity == "performer" else "Witness", classes="capacity"
                )
                yield Label(self.script.role(role).name, classes="role-name")
                yield RoleChoice(
                    role,
                    position,
                    [(pid, person_name(self.script, pid)) for pid in holders],
                    present,
                    chosen,
                )

    def set_present(self, present: Sequence[str]) -> None:
        """Offer only the participants now present, keeping choices that are still possible."""
        self.present = tuple(present)
        for choice in self.query(RoleChoice):
            people = candidates(self.script, self.present, choice.role)
            choice.set_enabled(people)
            if choice.chosen is None and len(people) == 1:
                choice.choose(people[0])

    def choices(self) -> tuple[str | None, dict[str, str], list[str]]:
        """The chosen performer, the chosen witnesses by role, and the roles still unchosen."""
        performer: str | None = None
        witnesses: dict[str, str] = {}
        missing: list[str] = []
        by_position = {c.position: c for c in self.query(RoleChoice)}
        for position, (capacity, role) in enumerate(self.slots()):
            choice = by_position.get(position)
            person = choice.chosen if choice is not None else None
            if person is None:
                missing.append(self.script.role(role).name)
            elif capacity == "performer":
                performer = person
            else:
                witnesses[role] = person
        return performer, witnesses, missing

    def first_choice(self) -> Widget | None:
        """The first choice, to start keyboard input there."""
        found = list(self.query(RoleChoice))
        return found[0] if found else None
