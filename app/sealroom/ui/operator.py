"""The Operator port answered by people at the terminal: each question is a screen, awaited.

The engine runs in a worker thread and calls these methods; each one asks the app (on its own
thread) to push a screen and then blocks on a Future that the screen's result completes. A stop
requested from the terminal completes the waiting Future with ``CeremonyAborted`` instead, so
the engine journals the abort exactly as it does for any other.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TypeVar

from textual.screen import Screen

from sealroom.ceremony.activation import SHARE_ATTEMPTS
from sealroom.ceremony.ports import (
    Acknowledgement,
    Attendance,
    Deviation,
    Fact,
    Outcome,
    QrProgress,
    SignOff,
    StepView,
)
from sealroom.ceremony.runner import ENTRY_ATTEMPTS, entry_problem
from sealroom.ceremony.script import ActionStep, BreakStep, ConfirmStep, EntryStep, Script
from sealroom.errors import CeremonyAborted, CeremonyError
from sealroom.ui.forms import (
    BreakLeaveScreen,
    BreakScreen,
    FailureDecisionScreen,
    SignOffScreen,
    TypingRequest,
    TypingScreen,
    words_difference,
)
from sealroom.ui.qr_screen import QrScreen, render_symbols
from sealroom.ui.receive_screen import (
    ReceivedCheckScreen,
    ReceiveScreen,
    ReceiveSourceScreen,
    SourceChoice,
    cameras,
)
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
from sealroom.ui.shares import CustodianReadyScreen, ShareWordsScreen, custodian_of, share_place

if TYPE_CHECKING:
    from sealroom.ui.app import SealroomApp

T = TypeVar("T")

STOPPED_BY_OPERATOR = "The operator stopped the ceremony from the terminal."
TERMINAL_CLOSED = "The terminal UI closed before the ceremony finished."
CONFIRM_PROMPT = "Type exactly: "
SHEET_BAG_PROMPT = re.compile(r"Bag serial for (?P<name>.+)'s share sheet(?P<again> \(again\))?")
"""The engine's prompt for the bag a custodian's share sheet is sealed in (typed twice)."""


class TextualOperator:
    """Implements ``sealroom.ceremony.ports.Operator`` with Textual screens (call from a worker)."""

    def __init__(
        self,
        app: SealroomApp,
        script: Script,
        rehearsal_pin: str | None,
        prepared: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.app = app
        self.script = script
        self.rehearsal_pin = rehearsal_pin
        self.prepared = dict(prepared or {})
        """Input id -> stand-in QR images a rehearsal prepared (imports read them)."""
        self.present: tuple[str, ...] = tuple(p.id for p in script.participants)
        self.resume_note: str | None = None
        """Set when the ceremony continues from the journal of an interrupted run."""
        self.acks: dict[str, Acknowledgement] = {}
        self.typed: dict[tuple[str, str], tuple[int, str]] = {}
        """(step id, slot) -> (attempt, value) last typed, to say why the engine refused it."""
        self.break_phase: dict[str, str] = {}
        """Step id -> ``seal`` once people were asked who leaves, ``recheck`` after the break."""
        self.working_now: str | None = None
        self.receiving: tuple[str, str, tuple[str, ...]] | None = None
        """(step id, input id, sources) chosen for the QR reception the engine starts next."""
        self.receive_screen: ReceiveScreen | None = None
        """The live grid of the reception under way (progress goes there)."""
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
        self._ask(
            lambda: StartScreen(
                state,
                script,
                script_sha256,
                rehearsal,
                self.rehearsal_pin,
                resume_note=self.resume_note,
            )
        )

    def attendance(self, view: StepView, script: Script) -> Attendance:
        answer = self._ask(lambda: AttendanceScreen(self.app, view, script), view)
        self.present = answer.present
        self.acks[view.step.id] = Acknowledgement(answer.performer, answer.witnesses)
        return answer

    def acknowledge(self, view: StepView) -> Acknowledgement:
        ack = self._ask(lambda: StepScreen(self.app, view, self.script, self.present), view)
        self.acks[view.step.id] = ack
        return ack

    def who(self, view: StepView) -> str | None:
        """``Name (Role)`` of the performer chosen for the step, if it has been chosen."""
        ack = self.acks.get(view.step.id)
        if ack is None:
            return None
        role = self.script.role(view.step.performer).name
        return f"{self.script.participant(ack.performer).name} ({role})"

    def secret(self, view: StepView, prompt: str, attempt: int, attempts_left: int) -> str:
        who = self.who(view)
        return self._ask(
            lambda: PinScreen(
                self.app,
                view,
                prompt=prompt,
                attempt=attempt,
                attempts_left=attempts_left,
                who=who,
                # The hint is the rehearsal token's user PIN: never shown for the SO PIN.
                rehearsal_pin=self.rehearsal_pin if _user_pin_prompt(prompt) else None,
            ),
            view,
        )

    def custodian_ready(self, view: StepView, custodian: str, what: str) -> None:
        person = custodian_of(self.script, custodian)
        place = share_place(self.script, custodian, what)
        self._ask(
            lambda: CustodianReadyScreen(self.app, view, custodian=person, what=what, place=place),
            view,
        )

    def share_words(  # noqa: PLR0917 - the engine's question has these parts
        self,
        view: StepView,
        custodian: str,
        what: str,
        attempt: int,
        attempts_left: int,
        refused: str | None,
    ) -> str:
        """The words as typed; neither kept here nor shown (the screen's field is emptied)."""
        person = custodian_of(self.script, custodian)
        # A key-encryption key is a 256-bit secret (33 words); a split PIN a 128-bit one (20).
        words = 33 if "key-encryption key" in what else 20
        return self._ask(
            lambda: ShareWordsScreen(
                self.app,
                view,
                custodian=person,
                what=what,
                attempt=attempt,
                attempts_left=attempts_left,
                refused=refused,
                words=words,
            ),
            view,
        )

    def working(self, view: StepView, message: str) -> AbstractContextManager[None]:
        return self._working(view, message)

    @contextmanager
    def _working(self, view: StepView, message: str) -> Iterator[None]:
        self._check_stop()
        receiving, self.receiving = self.receiving, None
        screen: Screen[None]
        if receiving is not None and receiving[0] == view.step.id:
            # The QR reception the room just chose its sources for: the live grid, not a spinner.
            screen = ReceiveScreen(self.app, view, receiving[1], receiving[2])
            self.receive_screen = screen
        else:
            screen = WorkingScreen(self.app, view, message)

        def show() -> None:
            self.app.set_progress(view)
            self.working_now = message
            self.app.show(screen)

        def hide() -> None:
            self.working_now = None
            self.app.hide(screen)

        def done() -> None:
            self.receive_screen = None

        self._call(show)
        try:
            yield
        finally:
            done()
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

    def qr_sources(self, view: StepView, input_id: str, description: str) -> Sequence[str]:
        """The room chooses a camera (the default), typed paths, or a rehearsal's stand-ins."""
        choice = SourceChoice(
            input_id, description, cameras(), tuple(self.prepared.get(input_id, ()))
        )
        sources = self._ask(lambda: ReceiveSourceScreen(self.app, view, choice), view)
        # The engine reads them next, inside ``working``: the live grid shows instead.
        self.receiving = (view.step.id, input_id, tuple(sources))
        return sources

    def qr_progress(self, view: StepView, progress: QrProgress) -> bool:
        """Update the live grid from the worker thread; False once Stop (or a stop) is asked."""
        screen = self.receive_screen
        if screen is not None:
            self._call(lambda: screen.update(progress))
            if screen.stop.is_set():
                return False
        return not self._stop.is_set()

    def witness_input(self, view: StepView, title: str, facts: Sequence[Fact]) -> Acknowledgement:
        ack = self.acks.get(view.step.id)
        if ack is None:  # never without a step acknowledgement; fail closed
            raise CeremonyError(
                f"Step {view.index + 1}: nobody was chosen to witness what was received."
            )
        names = [self.script.participant(p).name for p in ack.witnesses.values()]
        witnesses = " and ".join(names) if names else "Witnesses"
        return self._ask(
            lambda: ReceivedCheckScreen(self.app, view, title, facts, ack=ack, witnesses=witnesses),
            view,
        )

    def text(self, view: StepView, prompt: str, attempt: int) -> str:
        request, slot = self.typing_request(view, prompt, attempt)
        value = self._ask(lambda: TypingScreen(self.app, view, request), view)
        self.typed[(view.step.id, slot)] = (attempt, value)
        return value

    def typing_request(
        self, view: StepView, prompt: str, attempt: int
    ) -> tuple[TypingRequest, str]:
        """How to present the engine's ``text`` question, and the slot its answer is kept in.

        The engine asks for an entry by its label (``label (again)`` for the second typing), for
        a break's bag serials by its own prompts (as the bag is sealed, between ``break_started``
        and ``break_ended``, then again before it is opened), for confirmation words by
        ``Type exactly: WORDS``, and for the bag a custodian's share sheet is sealed in by
        ``Bag serial for NAME's share sheet`` (then the same with `` (again)``). On a second or
        third attempt the screen says why the previous value was refused, worked out from what
        was typed, as the engine checks it.
        """
        step = view.step
        who = self.who(view)
        previous = attempt - 1
        sheet_bag = SHEET_BAG_PROMPT.fullmatch(prompt)
        if sheet_bag is not None:
            label = prompt.removesuffix(" (again)")
            again = sheet_bag["again"] is not None
            refused = None if again or attempt == 1 else self.sheet_bag_refusal(step.id, label)
            request = TypingRequest(
                "sheet-bag",
                label,
                "bag-serial",
                attempt,
                SHARE_ATTEMPTS,
                who,
                again,
                refused,
                custodian=sheet_bag["name"],
            )
            return request, prompt
        if isinstance(step, EntryStep):
            spec = step.entry
            again = prompt != spec.label and prompt.endswith("(again)")
            refused = None if again or attempt == 1 else self.entry_refusal(step, previous)
            request = TypingRequest(
                "entry", spec.label, spec.format, attempt, ENTRY_ATTEMPTS, who, again, refused
            )
            return request, "again" if again else "first"
        if isinstance(step, BreakStep) and not prompt.startswith(CONFIRM_PROMPT):
            # Before the break a bag's serial may be typed as it is sealed; after it, the serial
            # is typed again and must match.
            phase: Literal["seal", "recheck"] = (
                "seal" if self.break_phase.get(step.id) == "seal" else "recheck"
            )
            last = self.typed.get((step.id, prompt))
            refused = None
            if attempt > 1 and last is not None and last[0] == previous:
                refused = (
                    f"{last[1]!r} is not the serial recorded for this bag"
                    if phase == "recheck"
                    else f"{last[1]!r} was refused"
                )
            request = TypingRequest(
                phase, prompt, "bag-serial", attempt, ENTRY_ATTEMPTS, who, refused=refused
            )
            return request, prompt
        words = step.words if isinstance(step, ConfirmStep) else None
        if isinstance(step, ActionStep) and step.confirm:
            words = step.confirm
        if words is None and prompt.startswith(CONFIRM_PROMPT):
            words = prompt.removeprefix(CONFIRM_PROMPT)
        if words is not None:
            last = self.typed.get((step.id, "words"))
            refused = None
            if attempt > 1 and last is not None and last[0] == previous:
                refused = words_difference(last[1], words)
            request = TypingRequest(
                "confirm", prompt, None, attempt, ENTRY_ATTEMPTS, who, refused=refused, words=words
            )
            return request, "words"
        return TypingRequest("text", prompt, None, attempt, ENTRY_ATTEMPTS, who), prompt

    def entry_refusal(self, step: EntryStep, attempt: int) -> str:
        """Why the engine refused the entry typed at ``attempt`` (its checks, in its order)."""
        spec = step.entry
        first = self.typed.get((step.id, "first"))
        if first is None or first[0] != attempt:
            return "the value was refused"
        value = first[1]
        problem = entry_problem(spec.format, value)
        if problem is not None:
            return problem
        again = self.typed.get((step.id, "again"))
        if spec.twice and again is not None and again[0] == attempt and again[1] != value:
            return f"the two entries differed ({value!r}, then {again[1]!r})"
        if spec.expect is not None:
            return f"{value!r} is not the {spec.label} the script lists"
        return "the value was refused"

    def sheet_bag_refusal(self, step_id: str, label: str) -> str:
        """Why the engine refused the last serial typed for a share sheet's bag."""
        first = self.typed.get((step_id, label))
        if first is None:
            return "the serial was refused"
        problem = entry_problem("bag-serial", first[1])
        if problem is not None:
            return problem
        again = self.typed.get((step_id, f"{label} (again)"))
        if again is not None and again[0] == first[0] and again[1] != first[1]:
            return f"the two entries differed ({first[1]!r}, then {again[1]!r})"
        return f"{first[1]!r} was refused"

    def break_started(self, view: StepView) -> Sequence[str]:
        present = self.present
        away = self._ask(lambda: BreakLeaveScreen(self.app, view, self.script, present), view)
        self.break_phase[view.step.id] = "seal"
        return away

    def break_ended(self, view: StepView, away: Sequence[str]) -> Sequence[str]:
        since = datetime.now(UTC)  # the break begins when the BREAK screen shows
        present, leaving = self.present, tuple(away)
        returned = self._ask(
            lambda: BreakScreen(
                self.app, view, self.script, present=present, away=leaving, since=since
            ),
            view,
        )
        self.present = tuple(p for p in present if p not in leaving or p in returned)
        self.break_phase[view.step.id] = "recheck"
        return returned

    def sign_off(self, view: StepView, participants: Sequence[str]) -> Sequence[SignOff]:
        people = tuple(participants)
        return self._ask(lambda: SignOffScreen(self.app, view, self.script, people), view)

    def action_failed(self, view: StepView, problem: str) -> Deviation:
        present = self.present
        return self._ask(
            lambda: FailureDecisionScreen(self.app, view, self.script, present, problem), view
        )

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


def _user_pin_prompt(prompt: str) -> bool:
    """True if the engine asks for a user PIN (not the security officer's)."""
    lowered = prompt.lower()
    return "user pin" in lowered and "security officer" not in lowered and " so " not in lowered
