"""The Operator port answered by people at the terminal: each question is a screen, awaited.

The engine runs in a worker thread and calls these methods; each one asks the app (on its own
thread) to push a screen and then blocks on a Future that the screen's result completes. A stop
requested from the terminal completes the waiting Future with ``CeremonyAborted`` instead, so
the engine journals the abort exactly as it does for any other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

from sealroom.ceremony.ports import Acknowledgement, Attendance, Fact, Outcome, StepView
from sealroom.ceremony.script import Script
from sealroom.errors import CeremonyAborted
from sealroom.ui.qr_screen import QrScreen, render_symbols
from sealroom.ui.screens import (
    AttendanceScreen,
    FailureScreen,
    FinishScreen,
    OutcomeScreen,
    PinScreen,
    StartScreen,
    StepScreen,
    WorkingScreen,
)

if TYPE_CHECKING:
    from sealroom.ui.app import SealroomApp

T = TypeVar("T")

STOPPED_BY_OPERATOR = "The operator stopped the ceremony from the terminal."
TERMINAL_CLOSED = "The terminal UI closed before the ceremony finished."


class TextualOperator:
    """Implements ``sealroom.ceremony.ports.Operator`` with Textual screens (call from a worker)."""

    def __init__(self, app: SealroomApp, script: Script, rehearsal_pin: str | None) -> None:
        self.app = app
        self.script = script
        self.rehearsal_pin = rehearsal_pin
        self.present: tuple[str, ...] = tuple(p.id for p in script.participants)
        self.acks: dict[str, Acknowledgement] = {}
        self.working_now: str | None = None
        self.ended = False
        self._stop = threading.Event()
        self._lock = threading.RLock()  # re-entrant: a signal handler may stop mid-push
        self._pending: Future[object] | None = None

    # ------------------------------------------------------------------ stop (app thread)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, reason: str = STOPPED_BY_OPERATOR) -> bool:
        """Make the waiting question (or the next one) raise CeremonyAborted; True if one waited."""
        self._stop.set()
        with self._lock:
            pending = self._pending
        if pending is None:
            return False
        try:
            pending.set_exception(CeremonyAborted(reason))
        except InvalidStateError:
            return False
        return True

    # ------------------------------------------------------------------ asking (worker thread)

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise CeremonyAborted(STOPPED_BY_OPERATOR)

    def _call(self, callback: Callable[[], object]) -> None:
        try:
            self.app.call_from_thread(callback)
        except RuntimeError as exc:  # the app is no longer running
            raise CeremonyAborted(TERMINAL_CLOSED) from exc

    def _ask(self, make_screen: Callable[[], Screen[T]], progress: StepView | None = None) -> T:
        """Push the screen made by ``make_screen`` and block until it is dismissed."""
        self._check_stop()
        future: Future[object] = Future()

        def resolve(result: object) -> None:
            with suppress(InvalidStateError):  # already stopped
                future.set_result(result)

        def push() -> None:
            if progress is not None:
                self.app.set_progress(progress)
            with self._lock:
                self._pending = future
            if self._stop.is_set():
                resolve(None)
                return
            self.app.show(make_screen(), resolve)

        try:
            self._call(push)
            result = future.result()
        finally:
            with self._lock:
                if self._pending is future:
                    self._pending = None
        self._check_stop()
        return result  # type: ignore[return-value]

    # ------------------------------------------------------------------ the Operator port

    def ceremony_started(self, script: Script, script_sha256: str, rehearsal: bool) -> None:
        self.script = script
        state = self.app
        self._ask(lambda: StartScreen(state, script, script_sha256, rehearsal, self.rehearsal_pin))

    def attendance(self, view: StepView, script: Script) -> Attendance:
        answer = self._ask(lambda: AttendanceScreen(self.app, view, script), view)
        self.present = answer.present
        self.acks[view.step.id] = Acknowledgement(answer.performer, answer.witnesses)
        return answer

    def acknowledge(self, view: StepView) -> Acknowledgement:
        ack = self._ask(lambda: StepScreen(self.app, view, self.script, self.present), view)
        self.acks[view.step.id] = ack
        return ack

    def secret(self, view: StepView, prompt: str, attempt: int, attempts_left: int) -> str:
        ack = self.acks.get(view.step.id)
        who = None
        if ack is not None:
            role = self.script.role(view.step.performer).name
            who = f"{self.script.participant(ack.performer).name} ({role})"
        return self._ask(
            lambda: PinScreen(
                self.app,
                view,
                prompt=prompt,
                attempt=attempt,
                attempts_left=attempts_left,
                who=who,
                rehearsal_pin=self.rehearsal_pin,
            ),
            view,
        )

    def working(self, view: StepView, message: str) -> AbstractContextManager[None]:
        return self._working(view, message)

    @contextmanager
    def _working(self, view: StepView, message: str) -> Iterator[None]:
        self._check_stop()
        screen = WorkingScreen(self.app, view, message)

        def show() -> None:
            self.app.set_progress(view)
            self.working_now = message
            self.app.show(screen)

        def hide() -> None:
            self.working_now = None
            self.app.hide(screen)

        self._call(show)
        try:
            yield
        finally:
            with suppress(CeremonyAborted):  # the app has gone; nothing is left to hide
                self._call(hide)

    def outcome(self, view: StepView, outcome: Outcome) -> None:
        self._ask(lambda: OutcomeScreen(self.app, view, outcome), view)

    def show_qr(
        self, view: StepView, title: str, frames: Sequence[str], facts: Sequence[Fact]
    ) -> None:
        self._check_stop()
        symbols = render_symbols(frames)  # the QR encoding runs here, off the UI thread
        self._ask(lambda: QrScreen(self.app, view, title, symbols, facts), view)

    def ceremony_finished(self, summary: Outcome) -> None:
        self.ended = True
        steps = len(self.script.steps)
        self._ask(lambda: FinishScreen(self.app, summary, steps))

    def ceremony_failed(self, reason: str) -> None:
        """Show why the ceremony stopped (unless the people stopped it themselves); never raise."""
        self.ended = True
        if self._stop.is_set():
            return
        with suppress(CeremonyAborted):
            self._ask(lambda: FailureScreen(self.app, reason))
