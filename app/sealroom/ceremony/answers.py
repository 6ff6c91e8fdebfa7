"""Rehearsal answers: a file that answers every question the engine asks, for unattended runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

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
from sealroom.ceremony.quorum import deciding_role
from sealroom.ceremony.script import Identifier, Script
from sealroom.ceremony.source import (
    Finding,
    SourceDocument,
    SourceFormatError,
    format_path,
    read_source,
)
from sealroom.errors import AnswersError

Pin = Annotated[str, StringConstraints(min_length=4, max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TokenAnswers(_Strict):
    """The PINs the throwaway rehearsal token is initialised with (rehearsal only)."""

    user_pin: Pin
    so_pin: Pin


class DeviationAnswer(_Strict):
    """A deviation recorded at a step (or the decision after a failure)."""

    expected: str = ""
    observed: str = ""
    decision: Literal["proceed", "skip", "retry", "abort"]
    decided_by: Identifier
    note: str | None = None


class SignOffAnswer(_Strict):
    followed: bool = True
    comment: str | None = None


class StepAnswer(_Strict):
    performer: Identifier
    witnesses: dict[Identifier, Identifier] = Field(default_factory=dict)
    present: tuple[Identifier, ...] | None = None
    matches: bool = True
    observed: str | None = None
    pins: tuple[Pin, ...] | None = None
    typed: tuple[str, ...] = ()
    """Values typed at this step, in the order asked (entries, confirmations, bag re-checks)."""
    deviation: DeviationAnswer | None = None
    """A deviation recorded at this step instead of doing it as scripted."""
    on_failure: DeviationAnswer | None = None
    """What the room decides if the step's action or entry fails (default: abort)."""
    left: tuple[Identifier, ...] = ()
    """For a break: who leaves."""
    returned: tuple[Identifier, ...] | None = None
    """For a break: who comes back (default: everyone who left)."""
    signoffs: dict[Identifier, SignOffAnswer] = Field(default_factory=dict)
    """For a sign-off: statements that differ from 'followed, no comment'."""
    shares: dict[Identifier, tuple[str, ...]] = Field(default_factory=dict)
    """For an m-of-n login: what each custodian types, attempt by attempt; ``sheet`` (the
    default) reads the words off that custodian's share sheet printed in this rehearsal."""
    scan: tuple[str, ...] | None = None
    """For an import: image files or PDFs holding the QR codes, relative to the answers file
    (default: the stand-in QR images the rehearsal prepared)."""


class AnswersModel(_Strict):
    sealroom_answers: int = Field(alias="sealroom-answers")
    token: TokenAnswers | None = None
    """Required when the script has an ``hsm`` section (the rehearsal makes that token)."""
    steps: dict[Identifier, StepAnswer]

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)


@dataclass(frozen=True)
class RehearsalAnswers:
    """A validated answers file: where it is, the token PINs, and one answer per step."""

    path: Path
    doc: SourceDocument
    model: AnswersModel

    @property
    def token(self) -> TokenAnswers:
        if self.model.token is None:
            raise AnswersError(
                f"{self.path}: the answers file gives no 'token' PINs, but the script uses an HSM."
            )
        return self.model.token


def default_answers_path(script_path: Path) -> Path:
    """``ceremony_scripts/<name>.answers.yaml`` next to ``ceremony_scripts/<name>.yaml``."""
    return script_path.with_name(f"{script_path.stem}.answers.yaml")


def load_answers(path: Path, script: Script) -> RehearsalAnswers:
    """Load and check an answers file against ``script``; errors name file:line and field."""
    doc, model, findings = answers_findings(path, script)
    if findings or doc is None or model is None:
        first = str(findings[0]) if findings else f"{path}: the answers file cannot be used"
        raise AnswersError(f"The answers file is not valid: {first}")
    return RehearsalAnswers(path, doc, model)


def answers_findings(
    path: Path, script: Script
) -> tuple[SourceDocument | None, AnswersModel | None, list[Finding]]:
    """Every problem of the answers file at ``path`` for ``script``, located by file:line."""
    try:
        doc = read_source(path)
    except SourceFormatError as exc:
        return None, None, [exc.finding]
    if not isinstance(doc.data, dict):
        return doc, None, [doc.finding((), "SR-ANSWERS", "the answers file must be a mapping")]
    try:
        model = AnswersModel.model_validate(doc.data)
    except ValidationError as exc:
        found = []
        for error in exc.errors(include_url=False):
            where = doc.existing_prefix(tuple(error["loc"]))
            field = format_path(tuple(x if isinstance(x, int) else str(x) for x in error["loc"]))
            message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
            found.append(doc.finding(where, "SR-ANSWERS", f"{field}: {message}"))
        return doc, None, found
    findings: list[Finding] = []
    if model.sealroom_answers != 1:
        findings.append(
            doc.finding(("sealroom-answers",), "SR-ANSWERS", "only version 1 is supported")
        )
    if script.hsm is not None and model.token is None:
        findings.append(
            doc.finding((), "SR-ANSWERS", "token: the script uses an HSM; give user_pin and so_pin")
        )
    step_ids = [s.id for s in script.steps]
    for step_id in model.steps:
        if step_id not in step_ids:
            findings.append(
                doc.finding(
                    ("steps", step_id),
                    "SR-ANSWERS",
                    f"steps.{step_id}: no step with this id in the script",
                )
            )
    for step_id in step_ids:
        if step_id not in model.steps:
            findings.append(
                doc.finding(("steps",), "SR-ANSWERS", f"steps: no answer for step {step_id!r}")
            )
    return doc, model, findings


def script_path_for_answers(path: Path) -> Path:
    """``<name>.yaml`` beside ``<name>.answers.yaml``."""
    return path.with_name(path.name.removesuffix(".answers.yaml") + ".yaml")


def is_answers_file(path: Path) -> bool:
    return path.name.endswith(".answers.yaml")


class AnswersOperator:
    """The Operator port answered from a rehearsal answers file; progress is printed as lines."""

    def __init__(
        self,
        answers: RehearsalAnswers,
        emit: Callable[[str], None],
        prepared: Mapping[str, Sequence[str]] | None = None,
        sheet_words: Callable[[str, str], Sequence[str]] | None = None,
        pause: Callable[[StepView], None] | None = None,
    ) -> None:
        self.answers = answers
        self.emit = emit
        self.prepared = dict(prepared or {})
        """Input id -> the stand-in QR images the rehearsal prepared for it."""
        self.sheet_words = sheet_words
        """Reads a custodian's words off their printed share sheet: (name, what) -> words."""
        self._typed: dict[str, int] = {}
        self._complete: set[tuple[str, str | None]] = set()
        """(step id, message digest) of receptions already reported complete."""
        self.pause = pause
        """Called before each step is performed (``rehearse --pause``: wait for Enter)."""

    def _begin(self, view: StepView) -> None:
        if self.pause is not None:
            self.pause(view)
        self.emit(f"step {view.index + 1}/{view.total}: {view.step.title}")

    def _answer(self, view: StepView) -> StepAnswer:
        answer = self.answers.model.steps.get(view.step.id)
        if answer is None:
            where = self.answers.doc.position(("steps",))
            raise AnswersError(
                f"{self.answers.path}:{where.line}: the answers file has no answer for step "
                f"{view.step.id!r} ({view.step.title})"
            )
        return answer

    def _finding(self, view: StepView, field: str, message: str) -> AnswersError:
        finding: Finding = self.answers.doc.finding(
            ("steps", view.step.id, field), "SR-ANSWERS", f"steps.{view.step.id}.{field}: {message}"
        )
        return AnswersError(f"The answers file cannot answer this step: {finding}")

    def ceremony_started(self, script: Script, script_sha256: str, rehearsal: bool) -> None:
        self.script = script
        mode = "rehearsal" if rehearsal else "production"
        self.emit(f"opened {script.ceremony.id} ({mode}), script SHA-256 {script_sha256}")

    def attendance(self, view: StepView, script: Script) -> Attendance:
        answer = self._answer(view)
        if answer.present is None:
            raise self._finding(view, "present", "the attendance step needs the list 'present'")
        self._begin(view)
        return Attendance(answer.present, answer.performer, answer.witnesses)

    def acknowledge(self, view: StepView) -> Acknowledgement:
        answer = self._answer(view)
        self._begin(view)
        deviation = _deviation(answer.deviation) if answer.deviation else None
        if deviation is not None:
            self.emit(f"  deviation recorded: {deviation.observed} ({deviation.decision})")
        return Acknowledgement(
            answer.performer, answer.witnesses, answer.matches, answer.observed, deviation
        )

    def text(self, view: StepView, prompt: str, attempt: int) -> str:
        answer = self._answer(view)
        used = self._typed.get(view.step.id, 0)
        if used >= len(answer.typed):
            raise self._finding(view, "typed", f"no value given for {prompt!r} (value {used + 1})")
        self._typed[view.step.id] = used + 1
        value = answer.typed[used]
        self.emit(f"  {prompt}: {value}")
        return value

    def break_started(self, view: StepView) -> Sequence[str]:
        answer = self._answer(view)
        self.emit(f"  break: {', '.join(answer.left) or 'nobody'} left the room")
        return answer.left

    def break_ended(self, view: StepView, away: Sequence[str]) -> Sequence[str]:
        answer = self._answer(view)
        returned = tuple(away) if answer.returned is None else answer.returned
        self.emit(f"  break over: {', '.join(returned) or 'nobody'} returned")
        return returned

    def sign_off(self, view: StepView, participants: Sequence[str]) -> Sequence[SignOff]:
        answer = self._answer(view)
        for pid in answer.signoffs:
            if pid not in participants:
                raise self._finding(view, "signoffs", f"{pid!r} is not present to sign off")
        statements = []
        for pid in participants:
            given = answer.signoffs.get(pid, SignOffAnswer())
            statements.append(SignOff(pid, given.followed, given.comment))
        self.emit(f"  signed off by {len(statements)} participant(s)")
        return statements

    def action_failed(self, view: StepView, problem: str) -> Deviation:
        answer = self._answer(view)
        self.emit(f"  failed: {problem}")
        if answer.on_failure is None:
            # Nobody answered for this failure: the first participant who may decide stops it.
            script = getattr(self, "script", None)
            decider = answer.performer
            if script is not None and deciding_role(script, decider) is None:
                decider = next(
                    (p.id for p in script.participants if deciding_role(script, p.id)), decider
                )
            return Deviation("", problem, "abort", decider)
        return _deviation(answer.on_failure)

    def secret(self, view: StepView, prompt: str, attempt: int, attempts_left: int) -> str:
        answer = self._answer(view)
        default = (
            self.answers.token.so_pin
            if "security officer" in prompt
            else self.answers.token.user_pin
        )
        pins = answer.pins or (default,)
        if attempt > len(pins):
            raise self._finding(view, "pins", f"no PIN given for attempt {attempt}")
        return pins[attempt - 1]

    def qr_sources(self, view: StepView, input_id: str, description: str) -> Sequence[str]:
        answer = self._answer(view)
        if answer.scan is not None:
            base = self.answers.path.parent
            sources = tuple(str(base / name) for name in answer.scan)
        elif input_id in self.prepared:
            sources = tuple(self.prepared[input_id])
        else:
            raise self._finding(view, "scan", f"no QR images are given for the input {input_id!r}")
        self.emit(f"  reading the QR codes of {input_id} from {', '.join(sources)}")
        return sources

    def qr_progress(self, view: StepView, progress: QrProgress) -> bool:
        """Print each notice and the count once every frame is in; never stops a reception."""
        if progress.notice:
            self.emit(f"  notice: {progress.notice}")
        if progress.total is not None and len(progress.received) == progress.total:
            key = (view.step.id, progress.digest_hex)
            if key not in self._complete:
                self._complete.add(key)
                repaired = f", {len(progress.repaired)} repaired" if progress.repaired else ""
                self.emit(
                    f"  {progress.payload_type} frames {progress.total}/{progress.total} "
                    f"received{repaired} ({progress.images} image(s))"
                )
        return True

    def witness_input(self, view: StepView, title: str, facts: Sequence[Fact]) -> Acknowledgement:
        """The step's answer: its ``matches`` and ``observed`` are the witnesses' verdict."""
        answer = self._answer(view)
        self.emit(f"  shown to the witnesses: {title}")
        self._facts(facts)
        verdict = "accepted" if answer.matches else f"refused: {answer.observed}"
        self.emit(f"  witnesses {', '.join(answer.witnesses.values()) or 'none'}: {verdict}")
        return Acknowledgement(answer.performer, answer.witnesses, answer.matches, answer.observed)

    def custodian_ready(self, view: StepView, custodian: str, what: str) -> None:
        self.emit(f"  {custodian} receives their share sheet of the {what}")

    def share_words(  # noqa: PLR0917 - the Operator port's signature
        self,
        view: StepView,
        custodian: str,
        what: str,
        attempt: int,
        attempts_left: int,
        refused: str | None,
    ) -> str:
        answer = self._answer(view)
        if refused:
            self.emit(f"  share refused: {refused}")
        planned = answer.shares.get(custodian, ("sheet",))
        if attempt > len(planned):
            raise self._finding(
                view, "shares", f"no share entry for {custodian!r} at attempt {attempt}"
            )
        typed = planned[attempt - 1]
        self.emit(f"  {custodian} types their share of the {what} (attempt {attempt})")
        if typed != "sheet":
            return typed
        name = self.script.participant(custodian).name
        if self.sheet_words is None:
            raise self._finding(view, "shares", "no share sheet was printed in this rehearsal")
        return " ".join(self.sheet_words(name, what))

    def working(self, view: StepView, message: str) -> AbstractContextManager[None]:
        self.emit(f"  {message} ...")
        return nullcontext()

    def outcome(self, view: StepView, outcome: Outcome) -> None:
        self.emit(f"  {outcome.headline}")
        self._facts(outcome.facts)

    def show_qr(
        self, view: StepView, title: str, frames: Sequence[str], facts: Sequence[Fact]
    ) -> None:
        self.emit(f"  QR shown: {title} ({len(frames)} frame(s))")
        self._facts(facts)

    def ceremony_finished(self, summary: Outcome) -> None:
        self.emit(summary.headline)
        self._facts(summary.facts)

    def ceremony_failed(self, reason: str) -> None:
        self.emit(f"ceremony stopped: {reason}")

    def _facts(self, facts: Sequence[Fact]) -> None:
        for fact in facts:
            self.emit(f"    {fact.label}: {fact.value}")
            if fact.words:
                self.emit(f"    {'':{len(fact.label)}}  {fact.words}")


def _deviation(answer: DeviationAnswer) -> Deviation:
    return Deviation(
        expected=answer.expected,
        observed=answer.observed,
        decision=answer.decision,
        decided_by=answer.decided_by,
        note=answer.note,
    )
