"""Screens for m-of-n activation: a custodian called to the printer, a custodian typing unseen.

The words of a share are secret. They are printed only on the custodian's sheet, never drawn on
the screen (the field shows dots), never logged, and the field is emptied as the screen returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from sealroom.ceremony.ports import Fact, StepView
from sealroom.ceremony.script import Script
from sealroom.ui.base import CeremonyScreen
from sealroom.ui.forms import TypedInput
from sealroom.ui.widgets import ActionButton, CeremonyState, FactsView, armed

SHARE_WORD_COUNTS = (20, 33)
"""Words in a SLIP-39 share of a 128-bit secret (20) or a 256-bit one (33)."""
MAX_SHARE_CHARACTERS = 600
"""Room for 33 whole words with generous spacing; nothing a custodian types is longer."""


@dataclass(frozen=True)
class Custodian:
    """A custodian as the screens name them: name and the names of their roles."""

    name: str
    roles: str

    @property
    def label(self) -> str:
        """``Name (Role, Role)``."""
        return f"{self.name} ({self.roles})" if self.roles else self.name


def custodian_of(script: Script, participant_id: str) -> Custodian:
    """The custodian ``participant_id`` as the room knows them (the id itself if unknown)."""
    for person in script.participants:
        if person.id == participant_id:
            roles = ", ".join(r.name for r in script.roles if r.id in person.roles)
            return Custodian(person.name, roles)
    return Custodian(participant_id, "")


def share_place(script: Script, participant_id: str, what: str) -> str | None:
    """``2 of 5; any 3 of the 5 shares ...`` for ``participant_id``'s share of ``what``, if known.

    The script's activation section says who holds which share of the user PIN (and of the SO
    PIN, if it is split too); ``what`` names the PIN as the engine does (``HSM SO PIN``).
    """
    activation = script.hsm.activation if script.hsm is not None else None
    if activation is None:
        return None
    so = "SO" in what.split() or "security officer" in what.lower()
    split = activation.so_pin if so else activation.user_pin
    if split is None:
        return None
    holders = [holder.custodian for holder in split.shares]
    if holders.count(participant_id) != 1:
        return None
    total = len(holders)
    return (
        f"{holders.index(participant_id) + 1} of {total}; "
        f"any {split.threshold} of the {total} shares together unlock the {what}"
    )


def words_count_text(count: int) -> str:
    """The live count under the share field (a count of words, never a word)."""
    typed = "1 word typed" if count == 1 else f"{count} words typed"
    return f"{typed}; a share has {' or '.join(map(str, SHARE_WORD_COUNTS))}"


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


# ----------------------------------------------------------------------- called to the printer


class CustodianReadyScreen(CeremonyScreen[None]):
    """One custodian is called to the printer; their share sheet prints only on the button."""

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        *,
        custodian: Custodian,
        what: str,
        place: str | None,
    ) -> None:
        super().__init__(state)
        self.view = view
        self.custodian = custodian
        self.what = what
        self.place = place

    def compose_body(self) -> ComposeResult:
        view, name = self.view, self.custodian.name
        yield Label(f"SHARE SHEET  \u00b7  step {view.index + 1} of {view.total}", classes="kind")
        yield Label(Content(view.step.title), classes="title")
        yield Static(Content(f"{name}, please come to the printer."), classes="headline")
        facts = [Fact("Custodian", name)]
        if self.custodian.roles:
            facts.append(Fact("Roles", self.custodian.roles))
        facts.append(Fact("Prints", f"{name}'s share of the {self.what}"))
        if self.place:
            facts.append(Fact("Share", self.place))
        yield FactsView(facts, id="custodian-facts")
        yield Static(
            Content(
                f"Your share of the {self.what} prints when you press Enter; only you look at "
                "it, then you fold it and seal it in a tamper-evident bag in view of the "
                "witnesses."
            ),
            id="sheet-instruction",
            classes="instruction",
        )
        yield Static(
            "Everyone else stays back from the printer and does not read the sheet. "
            "The words are never shown on this screen.",
            classes="muted hint",
        )

    def compose_actions(self) -> ComposeResult:
        yield ActionButton(f"Print {self.custodian.name}'s share sheet", "print", "primary")

    def on_mount(self) -> None:
        self.query_one("#print", Button).focus()

    @on(Button.Pressed, "#print")
    def print_sheet(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------------ typing a share unseen


class ShareInput(TypedInput):
    """The share field: a dot per character, never the words; pasting is refused."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Submit the words")]


class ShareWordsScreen(CeremonyScreen[str]):
    """A custodian types the words of their share sheet; the screen shows dots and a count."""

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        *,
        custodian: Custodian,
        what: str,
        attempt: int,
        attempts_left: int,
        refused: str | None,
    ) -> None:
        super().__init__(state)
        self.view = view
        self.custodian = custodian
        self.what = what
        self.attempt = attempt
        self.attempts_left = attempts_left
        self.refused = refused

    @property
    def attempts(self) -> int:
        """All attempts: those used before this one, this one and those after it."""
        return self.attempt + self.attempts_left - 1

    def compose_body(self) -> ComposeResult:
        view = self.view
        yield Label(f"SHARE WORDS  \u00b7  step {view.index + 1} of {view.total}", classes="kind")
        yield Label(Content(view.step.title), classes="title")
        yield Static(
            Content(
                f"{self.custodian.label} types the words of their share of the {self.what}. "
                f"Only {self.custodian.name} reads the sheet; everyone else looks away from it "
                "and from the keyboard."
            ),
            classes="who",
        )
        if self.refused:
            yield Static(Content(self.refusal()), id="refused", classes="warning")
        with Horizontal(id="share-row"):
            yield Label("Share words:", classes="fact-label")
            yield ShareInput(
                password=True, id="share", compact=True, max_length=MAX_SHARE_CHARACTERS
            )
        yield Static(Content(words_count_text(0)), id="word-count", classes="clock-line")
        yield Static(
            "Type the words in the order printed, a space between words; a whole word or its "
            "first four letters, in any case. The field shows a dot for each letter and space.",
            classes="muted hint",
        )
        yield Static(
            f"Attempt {self.attempt} of {self.attempts}. Press Enter when every word is typed. "
            "Pasting is switched off; Ctrl+U clears what is left of the cursor.",
            id="attempt",
            classes="muted hint",
        )

    def refusal(self) -> str:
        left = self.attempts_left
        left_text = (
            f"this is the last attempt for {self.custodian.name}"
            if left == 1
            else f"{left} attempts left"
        )
        return (
            f"Attempt {self.attempt - 1} was refused. {sentence(self.refused or '')} "
            f"Type all the words again: {left_text}."
        )

    def on_mount(self) -> None:
        self.query_one("#share", Input).focus()

    def on_unmount(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Empty the field, so the words do not outlive the screen."""
        for field in self.query("#share").results(Input):
            field.value = ""

    @on(Input.Changed, "#share")
    def typing(self, event: Input.Changed) -> None:
        self.query_one("#word-count", Static).update(
            Content(words_count_text(len(event.value.split())))
        )
        self.show_problem(None)

    @on(Input.Submitted, "#share")
    def submit(self) -> None:
        if not armed(self):
            return
        field = self.query_one("#share", Input)
        typed = field.value
        count = len(typed.split())
        if count == 0:
            self.show_problem("nothing was typed; type the words of your share sheet, then Enter")
            return
        if count not in SHARE_WORD_COUNTS:
            self.show_problem(
                f"{words_count_text(count)}: a word is missing or typed twice. Ctrl+U clears "
                "the field; type the words again (no attempt is used)"
            )
            return
        field.value = ""
        self.dismiss(typed)
