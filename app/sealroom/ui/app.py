"""The Sealroom Textual app: runs the ceremony engine in a worker thread and shows its questions."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver
from textual.screen import Screen

from sealroom.ceremony.ports import StepView
from sealroom.ceremony.runner import CeremonyResult, Runner, StepStatus
from sealroom.errors import SealroomError
from sealroom.ui.console import CONSOLE_THEME, ConsoleDriver, on_console
from sealroom.ui.keys import KeysInTurn
from sealroom.ui.operator import STOPPED_BY_OPERATOR, TERMINAL_CLOSED, TextualOperator
from sealroom.ui.screens import ConfirmStopScreen, FailureScreen, FinishScreen, WaitScreen
from sealroom.ui.widgets import ARMING_SECONDS, CeremonyBar

INTERNAL_ERROR = (
    "Internal error ({name}). Everything journaled so far is kept. "
    "Please report this with the journal file."
)
UI_FAILED = (
    "sealroom: the terminal UI failed (internal error {name}). Everything journaled so far is "
    "kept. Please report this with the journal file."
)
WORKER_GRACE_SECONDS = 120.0
"""Textual's theme in the terminal's own 16 colours, for the console."""
"""How long to wait, after the UI closed, for the engine to finish HSM work and journal an abort."""


class SealroomApp(KeysInTurn[CeremonyResult | None]):
    """Full-screen ceremony UI. ``return_value`` is the ceremony's result once the app exits."""

    CSS_PATH = "sealroom.tcss"
    TITLE = "Sealroom"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "stop", "Stop the ceremony", priority=True),
    ]

    def __init__(
        self,
        runner: Runner,
        rehearsal_pin: str | None = None,
        *,
        prepared: Mapping[str, Sequence[str]] | None = None,
        unsafe_no_arming_delay: bool = False,
    ) -> None:
        """``unsafe_no_arming_delay`` is for tests only: keys count the instant a screen shows."""
        super().__init__()
        self.arming_seconds = 0.0 if unsafe_no_arming_delay else ARMING_SECONDS
        self.runner = runner
        self.operator = TextualOperator(
            self,
            runner.script,
            rehearsal_pin if runner.rehearsal else None,
            prepared if runner.rehearsal else None,
        )
        self.progress_text = "Opening the ceremony"
        if runner.resumed:
            # Continued from the journal: who is present, and where the ceremony stands.
            self.operator.present = runner.present
            self.operator.resume_note = resume_note(runner)
            self.progress_text = "Resuming the ceremony"
        self.result: CeremonyResult | None = None
        self.started = threading.Event()
        self.finished = threading.Event()
        self.deferred: tuple[Screen[Any], Callable[[Any], None] | None] | None = None

    # ------------------------------------------------------------------ CeremonyState

    @property
    def ceremony_id(self) -> str:
        return self.runner.script.ceremony.id

    @property
    def rehearsal(self) -> bool:
        return self.runner.rehearsal

    @property
    def progress(self) -> str:
        return self.progress_text

    def set_progress(self, view: StepView) -> None:
        """Show ``Step i of n`` in the ceremony bar from now on."""
        self.progress_text = f"Step {view.index + 1} of {view.total}"
        for bar in self.screen.query(CeremonyBar):
            bar.update_progress()

    # ------------------------------------------------------------------ lifecycle

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        # On tty1 the console font lacks characters Textual and Sealroom draw (▸, ●, ⏎).
        return ConsoleDriver if on_console() and driver is LinuxDriver else driver

    def get_key_display(self, binding: Binding) -> str:
        shown = super().get_key_display(binding)
        # The console font has no ⏎, and its substitute (a corner) is easy to miss in the footer.
        return "Enter" if on_console() and shown == "\u23ce" else shown

    def get_default_screen(self) -> Screen[None]:
        return WaitScreen(self)

    def on_mount(self) -> None:
        if on_console():
            # The Linux console (the appliance's tty1) has 16 colours and no bright backgrounds:
            # our colours, rounded to its palette, put some buttons red on dark red. The ANSI
            # theme uses the console's own colours, with plain backgrounds only.
            self.theme = CONSOLE_THEME
        self.run_worker(self.run_ceremony, name="ceremony", thread=True, exit_on_error=False)

    def on_unmount(self) -> None:
        # If the app goes away mid-ceremony, the engine must not wait for an answer forever.
        self.operator.request_stop(TERMINAL_CLOSED)

    def steps_done(self) -> int:
        return sum(1 for status in self.runner.statuses if status is StepStatus.DONE)

    def run_ceremony(self) -> None:
        """The worker: run the whole ceremony, then close the app with its result."""
        self.started.set()
        try:
            result = self.runner.run(self.operator)
        except SealroomError as exc:  # journaled as an abort and shown by the runner
            result = CeremonyResult(False, self.steps_done(), reason=str(exc))
        except Exception as exc:  # a bug: the runner journaled and showed it, without a traceback
            reason = INTERNAL_ERROR.format(name=type(exc).__name__)
            result = CeremonyResult(False, self.steps_done(), reason=reason)
        self.result = result
        self.finished.set()
        with suppress(RuntimeError):  # the app may have closed already
            self.call_from_thread(self.exit, result)

    # ------------------------------------------------------------------ stopping

    def action_stop(self) -> None:
        """Ctrl+Q: close at the end; mid-ceremony, ask before stopping (the stop is journaled)."""
        if self.finished.is_set():
            self.exit(self.result)
            return
        if isinstance(self.screen, FinishScreen | FailureScreen):
            self.screen.dismiss(None)
            return
        if isinstance(self.screen, ConfirmStopScreen) or self.operator.stop_requested:
            return
        if self.operator.working_now:
            self.notify(
                "The HSM is working. Wait until it has finished, then stop the ceremony.",
                title="Please wait",
                severity="warning",
            )
            return
        self.push_screen(ConfirmStopScreen(), self.stop_confirmed)

    def show(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None) -> None:
        """Push the engine's next screen; while the stop question is open, hold it back."""
        if isinstance(self.screen, ConfirmStopScreen):
            self.deferred = (screen, callback)
            return
        self.push_screen(screen, callback)

    def hide(self, screen: Screen[Any]) -> None:
        """Remove a screen the engine put up (e.g. work in progress), wherever it is."""
        if self.deferred is not None and self.deferred[0] is screen:
            self.deferred = None
        if screen in self.screen_stack:
            while self.screen is not screen:
                self.pop_screen()
            self.pop_screen()

    def stop_confirmed(self, stop: bool | None) -> None:
        deferred, self.deferred = self.deferred, None
        if not stop:
            if deferred is not None:
                self.push_screen(*deferred)
            return
        self.operator.request_stop(STOPPED_BY_OPERATOR)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if isinstance(self.screen, WaitScreen):
            self.screen.set_text(
                "Stopping: the journal is recording that the operator stopped the ceremony."
            )

    def _handle_exception(self, error: Exception) -> None:
        # Textual's default prints a traceback with local variables, which could hold a PIN.
        # Print one line for the operator instead; tests still see the exception through Pilot.
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.bell()
        self._exit_renderables.append(Text(UI_FAILED.format(name=type(error).__name__)))
        self._close_messages_no_wait()


@contextmanager
def closing_on_hangup(app: SealroomApp) -> Iterator[None]:
    """If the terminal hangs up (SIGHUP) or the system asks to stop (SIGTERM), end cleanly.

    Without this the process would die at once and the journal would not record why the
    ceremony ended; with it the engine journals an abort before the program exits.
    """

    def on_signal(signum: int, frame: FrameType | None) -> None:
        app.operator.request_stop(TERMINAL_CLOSED)
        with suppress(RuntimeError):  # no loop running yet, or already gone
            asyncio.get_running_loop().call_soon_threadsafe(app.exit, None)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def resume_note(runner: Runner) -> str:
    """What the room reads first when an interrupted ceremony is continued."""
    done = sum(1 for status in runner.statuses if status is StepStatus.DONE)
    total = len(runner.script.steps)
    following = runner.enabled_index()
    where = (
        "every step is done"
        if following is None
        else f"it continues at step {following + 1}: {runner.script.steps[following].title}"
    )
    note = (
        f"RESUMED: this ceremony was interrupted and continues from its journal. {done} of "
        f"{total} steps are done; {where}. Nothing the journal shows done is done again."
    )
    if following is not None and runner.script.steps[following].id in {
        s.id for s in runner.script.steps if getattr(s, "action", None) == "hsm-login"
    }:
        note += " The HSM session ended with the interruption: the login is performed again."
    return note


def run_ceremony_tui(
    runner: Runner,
    rehearsal_pin: str | None = None,
    prepared: Mapping[str, Sequence[str]] | None = None,
) -> CeremonyResult | None:
    """Run the ceremony in the full-screen UI; return its result (None if it never ran).

    ``rehearsal_pin`` is the throwaway rehearsal token's user PIN, shown as a hint; it is ignored
    unless the runner is a rehearsal.
    """
    app = SealroomApp(runner, rehearsal_pin, prepared=prepared)
    with closing_on_hangup(app):
        returned = app.run()
        # The engine may still be journaling an abort (e.g. the terminal closed): let it finish
        # before the caller closes the journal and the HSM.
        if app.started.is_set():
            app.finished.wait(WORKER_GRACE_SECONDS)
    return app.result if app.result is not None else returned
