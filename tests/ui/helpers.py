"""Helpers for Pilot tests: wait for the engine's next question, read a screen, answer a step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from PIL import Image, ImageOps
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Static, TextArea

from sealroom.ceremony.script import ActionStep, BreakStep, EntryStep, Script
from sealroom.ui.app import SealroomApp
from sealroom.ui.forms import (
    BreakLeaveScreen,
    BreakScreen,
    SignOffScreen,
    TypingScreen,
)
from sealroom.ui.qr_screen import QrScreen
from sealroom.ui.receive_screen import ReceivedCheckScreen, ReceiveScreen, ReceiveSourceScreen
from sealroom.ui.screens import (
    AttendanceScreen,
    FailureScreen,
    FinishScreen,
    OutcomeScreen,
    PinScreen,
    StartScreen,
    StepScreen,
    WaitScreen,
    WorkingScreen,
)
from sealroom.ui.shares import CustodianReadyScreen, ShareWordsScreen
from sealroom.ui.widgets import InlineChoice, ListPicker, PresenceList, RoleChoice

TIMEOUT = 15.0
STEP = 0.02


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    """Let the app and the engine's worker run until ``condition`` holds."""
    waited = 0.0
    while not condition():
        if waited > TIMEOUT:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(STEP)
        waited += STEP


S = TypeVar("S", bound=Screen[Any])


async def next_screen(
    pilot: Pilot[Any], app: SealroomApp, kind: type[S], after: Screen[Any] | None = None
) -> S:
    """Wait until the engine shows a ``kind`` screen other than ``after``; return it."""

    def shown() -> bool:
        screen = app.screen
        return isinstance(screen, kind) and screen is not after and screen.is_mounted

    await until(pilot, shown, kind.__name__)
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, kind)
    return screen


def _shown(widget: Widget) -> bool:
    node: Widget | None = widget
    while isinstance(node, Widget):
        if not node.display:
            return False
        parent = node.parent
        node = parent if isinstance(parent, Widget) else None
    return True


def screen_text(screen: Screen[object]) -> str:
    """The text of every visible label, paragraph, list and button on ``screen``, in order."""
    parts: list[str] = []
    for widget in screen.walk_children(with_self=False):
        if not isinstance(widget, Widget) or not _shown(widget):
            continue
        if isinstance(widget, Static):
            parts.append(str(widget.content))
        elif isinstance(widget, ListPicker):
            parts.append(str(widget.render()))
        elif isinstance(widget, Button):
            parts.append(str(widget.label))
        elif isinstance(widget, Input):  # as drawn: a password field shows dots
            value = "\u2022" * len(widget.value) if widget.password else widget.value
            parts.append(f"[{value}]")
        elif isinstance(widget, TextArea):
            parts.append(f"[{widget.text}]")
    return "\n".join(parts)


def footer(screen: Screen[object]) -> str:
    """The key footer as shown: ``KEY Description`` for every binding shown and enabled."""
    shown = []
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.show and active.enabled:
            shown.append(f"{binding.key_display or key} {binding.description}")
    return "  ".join(shown)


async def press_button(pilot: Pilot[Any], screen: Screen[object], button_id: str) -> None:
    """Focus a button with the keyboard's focus chain and press Enter on it."""
    button = screen.query_one(f"#{button_id}", Button)
    for _ in range(30):
        if screen.focused is button:
            break
        await pilot.press("tab")
    assert screen.focused is button, f"Tab never reached #{button_id}"
    await pilot.press("enter")


async def pick(pilot: Pilot[Any], picker: ListPicker, key: str) -> None:
    """Move the picker's cursor to ``key`` with the arrow keys and pick it with space."""
    picker.focus()
    await pilot.pause()
    keys = [k for k, _ in picker.items]
    move = "right" if isinstance(picker, InlineChoice) else "down"
    for _ in range(len(keys) + 1):
        if keys[picker.cursor] == key:
            break
        await pilot.press(move)
    assert keys[picker.cursor] == key, f"cannot reach {key!r} in {keys}"
    await pilot.press("space")


async def choose_people(
    pilot: Pilot[Any], screen: Screen[object], people: Mapping[str, str] | None = None
) -> None:
    """Choose ``people`` (role -> participant); other roles keep their choice or get a free one."""
    used: set[str] = set()
    for choice in screen.query(RoleChoice):
        wanted = (people or {}).get(choice.role)
        if wanted is None:
            wanted = choice.chosen or next(k for k in choice.enabled if k not in used)
        used.add(wanted)
        if choice.chosen != wanted:
            await pick(pilot, choice, wanted)


async def tick_present(pilot: Pilot[Any], screen: Screen[object], people: list[str]) -> None:
    presence = screen.query_one(PresenceList)
    for person in people:
        await pick(pilot, presence, person)


def qr_image(lines: list[str], scale: int = 6) -> Image.Image:
    """The picture a camera would see of half-block QR lines: blocks light, spaces dark."""
    width, height = len(lines[0]), len(lines) * 2
    pixels: list[int] = []
    for line in lines:
        pixels += [255 if c in "\u2588\u2580" else 0 for c in line]
        pixels += [255 if c in "\u2588\u2584" else 0 for c in line]
    image = Image.new("L", (width, height), 0)
    image.putdata(pixels)
    image = ImageOps.expand(image, border=4, fill=0)
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def is_waiting(app: SealroomApp) -> bool:
    return isinstance(app.screen, WaitScreen)


PIN = "4711-2027"
Hook = Callable[[Pilot[Any], Screen[Any]], Awaitable[bool]]
"""Handles a screen specially; returns True if it answered it (else the default answer is used)."""


KEY_NAMES = {
    "-": "minus",
    "+": "plus",
    " ": "space",
    ".": "full_stop",
    "/": "slash",
    ":": "colon",
    "'": "apostrophe",
    ",": "comma",
    "(": "left_parenthesis",
    ")": "right_parenthesis",
}


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*[KEY_NAMES.get(c, c) for c in text])


async def type_quickly(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` as key events through the app, as the keyboard does, without a pause after
    each key (``pilot.press`` waits for the app to be idle after every key: seconds per share)."""
    for character in text:
        pilot.app.post_message(events.Key(KEY_NAMES.get(character, character), character))
    await pilot.pause()


def sheet_words(screen: ShareWordsScreen) -> tuple[str, ...]:
    """The words on the custodian's share sheet, as the room's (fake) sheet printer printed it."""
    sheets = screen.app.runner.ports.sheets  # type: ignore[attr-defined]
    return tuple(sheets.words(screen.custodian.name, screen.what))


def as_typed_by_prefix(words: tuple[str, ...]) -> str:
    """What a custodian types for ``words``: the first four letters of each and a space."""
    return " ".join(word[:4] for word in words) + " "


def share_bag(script: Script, step: object, custodian_name: str) -> str | None:
    """The bag the custody section names for ``custodian_name``'s share of the step's backup."""
    if not isinstance(step, ActionStep) or "backup" not in step.params:
        return None
    backup = next(b for b in script.backups if b.id == step.params["backup"])
    person = next(p.id for p in script.participants if p.name == custodian_name)
    share = next(h.share for h in backup.shares if h.custodian == person)
    return next((c.bag for c in script.custody if c.item == share), None)


def typed_value(screen: TypingScreen) -> str:
    """What a careful room types: the scripted value, the confirmation words, a +2 s offset."""
    request = screen.request
    step = screen.view.step
    script = screen.app.runner.script  # type: ignore[attr-defined]
    if request.words is not None:
        return request.words
    if request.kind == "sheet-bag" and request.custodian is not None:
        bag = share_bag(script, step, request.custodian)
        if bag is not None:
            return bag
    if isinstance(step, BreakStep):
        material = next(
            script.material(m) for m in step.recheck_bags if request.label.endswith(f"({m})")
        )
        return str(material.bag_out or material.bag_in)
    if isinstance(step, EntryStep):
        spec = step.entry
        if spec.expect is not None:
            return str(getattr(script.material(spec.expect.material), spec.expect.field))
        return {"clock-offset": "+2", "time": "09:30"}.get(spec.format, "noted")
    return "noted"


async def sign_all(pilot: Pilot[Any], screen: Screen[Any], answer: str = "yes") -> None:
    for choice in screen.query(InlineChoice):
        await pick(pilot, choice, answer)


async def answer(pilot: Pilot[Any], screen: Screen[Any], pin: str = PIN) -> None:
    """Give the default answer to any ceremony screen, with the keyboard."""
    if isinstance(screen, StartScreen):
        await press_button(pilot, screen, "begin")
    elif isinstance(screen, AttendanceScreen):
        await tick_present(pilot, screen, [p.id for p in screen.script.participants])
        await choose_people(pilot, screen)
        await press_button(pilot, screen, "confirm")
    elif isinstance(screen, StepScreen):
        await choose_people(pilot, screen)
        await press_button(pilot, screen, screen.answer_button)
    elif isinstance(screen, TypingScreen):
        await type_text(pilot, typed_value(screen))
        await pilot.press("enter")
    elif isinstance(screen, BreakLeaveScreen):
        await press_button(pilot, screen, "start-break")
    elif isinstance(screen, BreakScreen):
        for person in screen.away:
            await pick(pilot, screen.query_one("#returned", ListPicker), person)
        await press_button(pilot, screen, "resume")
    elif isinstance(screen, SignOffScreen):
        await sign_all(pilot, screen)
        await press_button(pilot, screen, "record")
    elif isinstance(screen, PinScreen):
        await type_text(pilot, pin)
        await pilot.press("enter")
    elif isinstance(screen, OutcomeScreen):
        await press_button(pilot, screen, "continue")
    elif isinstance(screen, QrScreen):
        await press_button(pilot, screen, "done")
    elif isinstance(screen, ReceiveSourceScreen):
        await press_button(pilot, screen, "start")  # the first source offered
    elif isinstance(screen, ReceiveScreen):
        await until(pilot, lambda: not screen.is_attached, "the QR reception to end")
    elif isinstance(screen, ReceivedCheckScreen):
        await press_button(pilot, screen, "accept")
    elif isinstance(screen, CustodianReadyScreen):
        await press_button(pilot, screen, "print")
    elif isinstance(screen, ShareWordsScreen):
        # The custodian reads their sheet and types four letters of each word; the field
        # completes each word, and Enter hands over the whole share.
        await type_quickly(pilot, as_typed_by_prefix(sheet_words(screen)))
        await pilot.press("enter")
    elif isinstance(screen, FinishScreen | FailureScreen):
        await press_button(pilot, screen, "close")
    else:
        raise AssertionError(f"no default answer for {screen!r}")


async def drive(
    pilot: Pilot[Any],
    app: SealroomApp,
    hooks: Mapping[str, Hook] | None = None,
    log: list[tuple[str, str | None]] | None = None,
) -> None:
    """Answer every screen until the app exits; ``hooks`` (by step id or screen name) take over."""
    previous: Screen[Any] | None = None

    def ready() -> bool:
        screen = app.screen
        return (
            not app.is_running
            or app.return_value is not None
            or (
                screen is not previous
                and screen.is_mounted
                and not isinstance(screen, WaitScreen | WorkingScreen)
            )
        )

    while True:
        await until(pilot, ready, "the next question")
        if not app.is_running or (app.finished.is_set() and isinstance(app.screen, WaitScreen)):
            return
        await pilot.pause()
        screen = app.screen
        view = getattr(screen, "view", None)
        step = view.step.id if view is not None else None
        if log is not None:
            log.append((type(screen).__name__, step))
        previous = screen
        hook = (hooks or {}).get(step or "") or (hooks or {}).get(type(screen).__name__)
        if hook is not None and await hook(pilot, screen):
            continue
        await answer(pilot, screen)
        if isinstance(screen, FinishScreen | FailureScreen):
            await until(pilot, lambda: app.result is not None, "the ceremony result")
            return
