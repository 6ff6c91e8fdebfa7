"""Taking an object in by QR codes: where they come from, the live grid of frames, the witnesses."""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from sealroom.ceremony.ports import Acknowledgement, Fact, QrProgress, StepView
from sealroom.ui.base import CeremonyScreen, ObservedScreen, step_heading
from sealroom.ui.widgets import ActionButton, CeremonyBar, CeremonyState, FactsView, ListPicker

RECEIVED = "\u25a0"  # ■
MISSING = "\u25a1"  # □
REPAIRED = "\u25a3"  # ▣ rebuilt from the parity frame
CELLS_PER_ROW = 10
FILES = "files"
STAND_IN = "stand-in"


def cameras(dev: Path = Path("/dev")) -> tuple[int, ...]:
    """The V4L2 camera numbers present (``/dev/videoN``)."""
    found = []
    for path in dev.glob("video*"):
        number = path.name.removeprefix("video")
        if number.isdigit():
            found.append(int(number))
    return tuple(sorted(found))


@dataclass(frozen=True)
class SourceChoice:
    """What the receive screen offers: cameras, the rehearsal's stand-in images, typed paths."""

    input_id: str
    description: str
    cameras: tuple[int, ...]
    """Cameras found; camera 0 is offered (as not found) when there is none."""
    prepared: tuple[str, ...] = ()
    """A rehearsal's stand-in QR images (folders or files), read instead of a camera."""


def source_label(sources: Sequence[str]) -> str:
    """``camera 0`` or the paths, for the heading of the live grid."""
    return ", ".join(s.replace("camera:", "camera ") for s in sources)


class ReceiveSourceScreen(CeremonyScreen[tuple[str, ...]]):
    """Where the QR codes come from: a camera (the default) or image files / a PDF typed in."""

    def __init__(self, state: CeremonyState, view: StepView, choice: SourceChoice) -> None:
        super().__init__(state)
        self.view = view
        self.choice = choice

    def options(self) -> list[tuple[str, str]]:
        items = []
        if self.choice.prepared:
            count = len(self.choice.prepared)
            items.append((STAND_IN, f"Rehearsal: the stand-in QR images prepared ({count})"))
        for number in self.choice.cameras or (0,):
            where = f"/dev/video{number}"
            found = number in self.choice.cameras
            items.append(
                (f"camera:{number}", f"Camera {number} ({where}{'' if found else ': not found'})")
            )
        items.append((FILES, "Image files or a scanned PDF: type the paths below"))
        return items

    def compose_body(self) -> ComposeResult:
        yield from step_heading(self.view)
        yield Label(
            Content(f"Where do the QR codes of {self.choice.input_id} come from?"),
            classes="section",
        )
        yield Static(Content(self.choice.description), classes="who")
        items = self.options()
        yield ListPicker(items, multi=False, picked=(items[0][0],), id="source")
        yield Static(
            "\u2191\u2193 and space choose; Tab goes on to Start reading.", classes="muted"
        )
        yield Input(placeholder="e.g. /media/usb/csr.pdf or frame-01.png frame-02.png", id="paths")
        yield Static(
            "Frames may come in any order; a frame seen twice or from another message is "
            "ignored and said so. Nothing is used until every frame is in and its SHA-256 holds.",
            classes="muted",
        )

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Start reading", "start", "primary")

    def on_mount(self) -> None:
        self.query_one("#source", ListPicker).focus()
        self.query_one("#paths", Input).display = self.picked == FILES

    @property
    def picked(self) -> str:
        picker = self.query_one("#source", ListPicker)
        return next(iter(picker.picked), "")

    @on(ListPicker.Changed, "#source")
    def source_changed(self) -> None:
        self.show_problem(None)
        paths = self.query_one("#paths", Input)
        paths.display = self.picked == FILES
        if paths.display:
            paths.focus()

    def sources(self) -> tuple[str, ...] | None:
        """The sources chosen, or None (with the reason shown) if they cannot be read."""
        picked = self.picked
        if picked == STAND_IN:
            return self.choice.prepared
        if picked.startswith("camera:"):
            return (picked,)
        try:
            typed = tuple(shlex.split(self.query_one("#paths", Input).value))
        except ValueError:
            self.show_problem("a quotation mark is not closed in the paths")
            return None
        if not typed:
            self.show_problem("type the path of at least one image file, folder or PDF")
            return None
        missing = [p for p in typed if not Path(p).exists()]
        if missing:
            self.show_problem(f"{missing[0]} does not exist")
            return None
        return typed

    @on(Input.Submitted, "#paths")
    @on(Button.Pressed, "#start")
    def start(self) -> None:
        sources = self.sources()
        if sources is not None:
            self.dismiss(sources)


def grid_lines(progress: QrProgress | None) -> list[str]:
    """The frames as rows of ten marks, each row starting with its first frame number."""
    if progress is None or progress.total is None:
        return ["Waiting for the first QR code of the message …"]
    received, repaired = set(progress.received), set(progress.repaired)
    width = len(str(progress.total))
    lines = []
    for first in range(1, progress.total + 1, CELLS_PER_ROW):
        last = min(first + CELLS_PER_ROW - 1, progress.total)
        cells = [
            REPAIRED if i in repaired else RECEIVED if i in received else MISSING
            for i in range(first, last + 1)
        ]
        lines.append(f"{first:>{width}}\u2013{last:<{width}}  {' '.join(cells)}")
    return lines


def counts_line(progress: QrProgress | None) -> str:
    """``4 of 7 frames in (1 rebuilt) · 12 images · 15 QR codes`` for the live grid."""
    if progress is None:
        return "0 images looked at"
    images = f"{progress.images} image{'s' if progress.images != 1 else ''} looked at"
    codes = f"{progress.codes} QR code{'s' if progress.codes != 1 else ''} read"
    if progress.total is None:
        return f"{images} · {codes}"
    rebuilt = f" ({len(progress.repaired)} rebuilt)" if progress.repaired else ""
    got = f"{len(progress.received)} of {progress.total} frames in{rebuilt}"
    return f"{got} · {images} · {codes}"


class ReceiveScreen(Screen[None]):
    """The live grid of a QR reception (received ■, missing □, rebuilt ▣); the engine closes it.

    The engine's worker reports progress through ``update``; the Stop key sets ``stop`` and the
    next report tells the receiver to stop (nothing received is then used).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("s", "stop", "Stop reading")]

    def __init__(
        self, state: CeremonyState, view: StepView, input_id: str, sources: Sequence[str]
    ) -> None:
        super().__init__()
        self.state = state
        self.view = view
        self.input_id = input_id
        self.sources = tuple(sources)
        self.progress: QrProgress | None = None
        self.stop = threading.Event()
        self.started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield CeremonyBar(self.state)
        with Vertical(id="body"):
            yield Label(
                f"RECEIVING  ·  step {self.view.index + 1} of {self.view.total}", classes="kind"
            )
            yield Label(Content(self.view.step.title), classes="title")
            yield Static(
                Content(
                    f"Reading the QR codes of {self.input_id} from {source_label(self.sources)}"
                ),
                classes="who",
            )
            yield Label("", id="receive-message", classes="section")
            yield Static("", id="receive-grid")
            yield Static(
                f"{RECEIVED} received   {MISSING} missing   {REPAIRED} rebuilt from parity",
                classes="muted",
            )
            yield Label("", id="receive-counts")
            yield Static("", id="receive-notice", classes="warning")
        with Horizontal(id="actions"):
            yield ActionButton("Stop reading", "stop-reading", "error")
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self.query_one("#stop-reading", Button).focus()
        self.render_progress()

    def update(self, progress: QrProgress) -> None:
        """Show ``progress`` (called on the app's thread)."""
        self.progress = progress
        if self.is_mounted:
            self.render_progress()

    def render_progress(self) -> None:
        progress = self.progress
        if progress is not None and progress.total is not None:
            digest = (progress.digest_hex or "")[:16].upper()
            message = (
                f"{progress.payload_type} message of {progress.total} frame"
                f"{'s' if progress.total != 1 else ''} · SHA-256 {digest} …"
            )
        else:
            message = "No frame of the message yet"
        if self.stop.is_set():
            message = "Stopping: the reading ends after this image; nothing received is used."
        self.query_one("#receive-message", Label).update(Content(message))
        self.query_one("#receive-grid", Static).update(Content("\n".join(grid_lines(progress))))
        self.query_one("#receive-counts", Label).update(Content(counts_line(progress)))
        notice = progress.notice if progress is not None else None
        self.query_one("#receive-notice", Static).update(
            Content(f"Latest notice: {notice}") if notice else ""
        )

    def action_stop(self) -> None:
        self.stop.set()
        self.render_progress()

    @on(Button.Pressed, "#stop-reading")
    def stop_pressed(self) -> None:
        self.action_stop()


class ReceivedCheckScreen(CeremonyScreen[Acknowledgement]):
    """The object taken in, shown to the witnesses before it is used: they accept or refuse it."""

    AUTO_FOCUS = None
    """Nothing focused at first: a stray Enter must not accept an object (Tab reaches buttons)."""

    def __init__(
        self,
        state: CeremonyState,
        view: StepView,
        title: str,
        facts: Sequence[Fact],
        *,
        ack: Acknowledgement,
        witnesses: str,
    ) -> None:
        super().__init__(state)
        self.view = view
        self.received_title = title
        self.facts = tuple(facts)
        self.ack = ack
        self.witnesses = witnesses

    def compose_body(self) -> ComposeResult:
        yield Label(
            f"SHOW TO THE WITNESSES  ·  step {self.view.index + 1} of {self.view.total}",
            classes="kind",
        )
        yield Label(Content(self.view.step.title), classes="title")
        yield Static(Content(self.received_title), classes="headline")
        yield Static(
            Content(
                f"{self.witnesses}: compare the SHA-256 and the facts below with the papers you "
                "were given for it (the request form, the fingerprint read out on the phone). "
                "It is used only if they match."
            ),
            classes="instruction",
        )
        yield FactsView(self.facts)

    def compose_actions(self) -> ComposeResult:
        yield ActionButton("Matches: use it", "accept", "success")
        yield ActionButton("Does not match", "refuse", "error")

    @on(Button.Pressed, "#accept")
    def accept(self) -> None:
        self.dismiss(self.ack)

    @on(Button.Pressed, "#refuse")
    def refuse(self) -> None:
        def observed(text: str | None) -> None:
            if text:
                self.dismiss(Acknowledgement(self.ack.performer, self.ack.witnesses, False, text))

        self.app.push_screen(RefuseInputScreen(), observed)


class RefuseInputScreen(ObservedScreen):
    """What the witnesses saw that does not match; the object is then not used."""

    title_text = "The witnesses refuse what was received"
    question = "What does not match?"
    example = "e.g. the SHA-256 ends 9F3A, the form says 77C1"
    instruction = (
        "It is not used. The journal keeps what you type here; the room then decides to "
        "read the QR codes again or to stop the ceremony."
    )
    back_label = "Back"
    record_label = "Refuse it"
    empty_refusal = "Not accepted: write what does not match."
