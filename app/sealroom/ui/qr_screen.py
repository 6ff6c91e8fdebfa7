"""The QR screen: a payload's SR1 frames as QR codes a phone can scan, animated if several."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Button, Label, Static

from sealroom.ceremony.ports import Fact, StepView
from sealroom.errors import TransferError
from sealroom.transfer.qr import qr_matrix, terminal_lines
from sealroom.ui.base import CeremonyScreen, step_heading
from sealroom.ui.widgets import ActionButton, CeremonyState, FactsView, hex_lines

FRAMES_PER_SECOND = 4
"""The rate an animated code starts at: what a phone at arm's length keeps up with."""
RATES = (1, 2, 3, 4, 5, 6, 8, 10)
"""Frames per second the room may choose with - and +: slow enough for an old phone, no faster
than a camera at 30 fps reads reliably (three camera frames per code)."""
QUIET_MODULES = 2
"""Light modules around the symbol on screen (the dark terminal border adds contrast)."""
SIDE_COLUMNS = 43
"""Width of the panel beside the QR code: 2 of margin, 2 of indent, 8 hex groups (39)."""
BODY_PADDING = 2
"""Columns of padding around the screen body (one each side)."""
CHROME_ROWS = 4
"""Rows around the body: ceremony bar, actions and the line under them, key footer."""
SIDE_TEXT_COLUMNS = SIDE_COLUMNS - 2


@dataclass(frozen=True)
class QrSymbols:
    """The frames' texts and their half-block renderings (made off the UI thread)."""

    frames: tuple[str, ...]
    lines: tuple[tuple[str, ...], ...]
    problem: str | None = None

    @property
    def columns(self) -> int:
        return max((len(lines[0]) for lines in self.lines if lines), default=0)

    @property
    def rows(self) -> int:
        return max((len(lines) for lines in self.lines), default=0)


def render_symbols(frames: Sequence[str]) -> QrSymbols:
    """Render every frame as terminal lines; a frame that cannot be a QR code is reported."""
    try:
        lines = tuple(
            tuple(terminal_lines(qr_matrix(frame), quiet=QUIET_MODULES)) for frame in frames
        )
    except TransferError as exc:
        return QrSymbols(tuple(frames), (), problem=str(exc))
    return QrSymbols(tuple(frames), lines)


class QrScreen(CeremonyScreen[None]):
    """Shows the QR frames at 4 frames a second with a counter; a single frame stands still.

    - and + change the rate (1 to 10 frames a second), space pauses, the arrows step.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause", "Pause / play"),
        Binding("minus", "rate(-1)", "Slower", key_display="-"),
        Binding("plus,equals_sign", "rate(1)", "Faster", key_display="+"),
        Binding("left", "step(-1)", "Previous frame", show=False),
        Binding("right", "step(1)", "Next frame", show=False),
    ]

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        title: str,
        symbols: QrSymbols,
        facts: Sequence[Fact],
    ) -> None:
        super().__init__(state)
        self.view = view
        self.qr_title = title
        self.symbols = symbols
        self.facts = tuple(facts)
        self.index = 0
        self.paused = False
        self.rate = FRAMES_PER_SECOND
        self.timer: Timer | None = None

    @property
    def total(self) -> int:
        return len(self.symbols.frames)

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="qr-area"):
            yield Static("", id="qr-code")
            with Vertical(id="qr-side"):
                yield Label(Content(self.view.step.title), classes="title")
                yield Static(Content(self.view.step.instruction), classes="instruction")
                yield Static(Content(self.qr_title), classes="who")
                yield Label("", id="qr-counter", classes="section")
                yield Label("", id="qr-controls", classes="muted")
                yield FactsView(self.facts)
        with Vertical(id="qr-small"):
            yield from step_heading(self.view)
            yield Static("", id="qr-enlarge", classes="warning")
            yield Static(Content(self.qr_title), classes="who")
            yield FactsView(self.facts)

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Done: the QR code was scanned", "done")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"pause", "step", "rate"}:
            size = self.app.size
            return self.total > 1 and self.fits(size.width, size.height)
        return super().check_action(action, parameters)

    def on_mount(self) -> None:
        self.query_one("#done", Button).focus()
        if self.total > 1 and self.symbols.lines:
            self.timer = self.set_interval(1 / self.rate, self.advance)
        self.layout_for(self.app.size.width, self.app.size.height)
        self.show_frame()

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        self.layout_for(self.app.size.width, self.app.size.height)

    def side_rows(self) -> int:
        """Rows the panel beside the code takes: title, instruction, payload, counter, facts."""

        def lines(text: str) -> int:
            return len(textwrap.wrap(text, SIDE_TEXT_COLUMNS)) or 1

        rows = lines(self.view.step.title) + lines(self.view.step.instruction) + 1
        rows += lines(self.qr_title) + 1 + 1 + 1
        for fact in self.facts:
            rows += 1 + (2 if hex_lines(fact.value) else lines(fact.value))
            rows += lines(fact.words) if fact.words else 0
        return rows + 1

    def needed(self) -> tuple[int, int]:
        """The smallest terminal (columns, rows) that shows the code with the facts beside it."""
        width = self.symbols.columns + SIDE_COLUMNS + BODY_PADDING
        return width, max(self.symbols.rows, self.side_rows()) + CHROME_ROWS

    def fits(self, width: int, height: int) -> bool:
        need_w, need_h = self.needed()
        return bool(self.symbols.lines) and width >= need_w and height >= need_h

    def layout_for(self, width: int, height: int) -> None:
        """Show the QR code if the terminal is big enough; otherwise say how big it must be."""
        fits = self.fits(width, height)
        self.query_one("#qr-area").display = fits
        self.query_one("#qr-small").display = not fits
        self.refresh_bindings()
        if fits:
            return
        frames = "1 QR code" if self.total == 1 else f"{self.total} QR codes shown in turn"
        if self.symbols.problem:
            text = f"The QR code cannot be shown: {self.symbols.problem}"
        else:
            need_w, need_h = self.needed()
            text = (
                f"Enlarge the terminal to at least {need_w} columns and {need_h} rows to show "
                f"the QR code (it is {width} by {height} now; a smaller font also helps). "
                f"It is {frames}; the printed report carries them too."
            )
        self.query_one("#qr-enlarge", Static).update(Content(text))

    def show_frame(self) -> None:
        if not self.symbols.lines:
            return
        lines = self.symbols.lines[self.index]
        self.query_one("#qr-code", Static).update(Content("\n".join(lines)))
        if self.total == 1:
            counter, controls = "1 frame: the code stands still", ""
        else:
            counter = f"Frame {self.index + 1} of {self.total}"
            if self.paused:
                counter += "  ·  PAUSED"
                controls = "space plays  ·  \u2190 \u2192 step"
            else:
                controls = f"{self.rate} frames/s  ·  - slower  + faster"
        self.query_one("#qr-counter", Label).update(counter)
        self.query_one("#qr-controls", Label).update(controls)

    def advance(self) -> None:
        if not self.paused:
            self.index = (self.index + 1) % self.total
            self.show_frame()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.show_frame()

    def action_step(self, delta: int) -> None:
        if self.total:
            self.paused = True
            self.index = (self.index + delta) % self.total
            self.show_frame()

    def action_rate(self, delta: int) -> None:
        """One step slower or faster along RATES (the ends stay where they are)."""
        position = RATES.index(self.rate) + delta
        self.rate = RATES[max(0, min(position, len(RATES) - 1))]
        if self.timer is not None:
            self.timer.stop()
        if self.total > 1 and self.symbols.lines:
            self.timer = self.set_interval(1 / self.rate, self.advance)
        self.show_frame()

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        if self.timer is not None:
            self.timer.stop()
        self.dismiss(None)
