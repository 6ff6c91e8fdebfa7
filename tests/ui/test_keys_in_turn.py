"""Keys typed faster than the app reads them land where the focus is after the keys before them."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from sealroom.ui.keys import KeysInTurn
from sealroom.ui.widgets import InlineChoice


class Form(Screen[None]):
    """Sign-off shaped: a choice, then a comment field, for each of four people."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("tab", "app.focus_next", "Next field")]

    def compose(self) -> ComposeResult:
        for n in range(4):
            yield InlineChoice(
                [("yes", "Followed"), ("no", "Not followed")], multi=False, id=f"c{n}"
            )
            yield Input(id=f"i{n}")


class PlainApp(App[None]):
    arming_seconds = 0.0

    def on_mount(self) -> None:
        self.push_screen(Form())


class TurnApp(KeysInTurn[None]):
    arming_seconds = 0.0

    def on_mount(self) -> None:
        self.push_screen(Form())


async def settled(pilot: Pilot[Any], app: App[Any], screen: Screen[Any]) -> None:
    """Wait until every key is handled: no key waiting or in flight, and every queue empty twice
    in a row (a loaded machine takes its time; a fixed pause lost keys to the app's shutdown)."""
    quiet = 0
    for _ in range(1000):
        pumps = [app, screen, *screen.walk_children()]
        pending = app.keys_pending if isinstance(app, KeysInTurn) else 0
        idle = pending == 0 and all(p._message_queue.empty() for p in pumps)
        quiet = quiet + 1 if idle else 0
        if quiet >= 2:
            return
        await pilot.pause(0.02)
    raise AssertionError("the keys were not all handled within 20 s")


async def burst(
    app: App[Any], first: str, keys: list[tuple[str, str | None]]
) -> tuple[list[set[str]], list[str]]:
    """Focus ``first``, queue every key before the app reads one; return the choices and texts."""
    async with app.run_test() as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, Form)
        screen.query_one(f"#{first}").focus()
        await pilot.pause()
        for key, char in keys:
            app.post_message(events.Key(key, char))
        await settled(pilot, app, screen)
        return [c.picked for c in screen.query(InlineChoice)], [
            i.value for i in screen.query(Input)
        ]


TAB: tuple[str, None] = ("tab", None)
SPACE = ("space", " ")


async def test_a_burst_of_tab_and_text_puts_each_text_in_its_own_field() -> None:
    keys = [("a", "a"), TAB, TAB, ("b", "b"), TAB, TAB, ("c", "c")]
    answered = await burst(TurnApp(), "i0", keys)
    assert answered[1] == ["a", "b", "c", ""]


async def test_a_burst_of_choices_and_tabs_answers_every_person() -> None:
    keys = [SPACE, TAB, TAB] * 4
    answered = await burst(TurnApp(), "c0", keys)
    assert answered == ([{"yes"}] * 4, [""] * 4)


async def test_a_burst_mixing_comments_and_choices_keeps_them_apart() -> None:
    # Tab out of a comment field and straight into a choice: the space must pick, not type.
    keys = [SPACE, TAB, ("x", "x"), TAB, SPACE, TAB, TAB, SPACE, TAB, ("y", "y"), TAB, SPACE]
    answered = await burst(TurnApp(), "c0", keys)
    assert answered == ([{"yes"}] * 4, ["x", "", "y", ""])


async def test_without_keys_in_turn_textual_sends_a_burst_to_the_field_being_left() -> None:
    """The race the app guards against, shown on a plain Textual app (what went wrong in CI)."""
    keys = [("a", "a"), TAB, TAB, ("b", "b"), TAB, TAB, ("c", "c")]
    answered = await burst(PlainApp(), "i0", keys)
    assert answered[1] != ["a", "b", "c", ""]
