"""Preflight in the engine: check results, the port that produces them, and the opening's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sealroom.ceremony.ports import Deviation, Json, Operator, StepView
from sealroom.ceremony.script import Script, StepBase
from sealroom.errors import CeremonyAborted, CeremonyError

if TYPE_CHECKING:
    from sealroom.ceremony.runner import Runner

CHECK_IDS: tuple[str, ...] = (
    "network",
    "image",
    "software",
    "devices",
    "clock",
    "evidence",
    "printer",
    "hsm",
)
"""Every preflight check, in the order ``sealroom preflight`` runs them."""

CEREMONY_CHECKS: tuple[str, ...] = ("network", "image", "software", "devices", "clock", "evidence")
"""The checks the opening runs through the Preflight port. ``hsm`` and ``printer`` are the
opening's own ``token.identified`` and ``printer.checked``; ``evidence`` measures the run's
output folder (persistent, writable, room), waivable like the others (docs/preflight.md)."""

REHEARSAL_CHECKS: tuple[str, ...] = ("network", "image", "clock")
"""A rehearsal's informational checks: devices would flag every stand-in for a scripted material,
hashing the software is production's cost for no decision, and a rehearsal's outputs may be
thrown away (the kiosk warns when they are on the tmpfs) (docs/preflight.md)."""

UNWAIVABLE: frozenset[str] = frozenset({"network"})
"""Checks whose failure no deviation can waive: the ceremony aborts (docs/preflight.md)."""

RETRIES = 3
"""How often the room may re-run one failed check before it must proceed or abort."""


@dataclass(frozen=True)
class MaterialRef:
    """What the devices check needs of a script material: its id, kind, model and serial."""

    id: str
    kind: str
    model: str
    serial: str


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: its id, PASS or FAIL, a one-line detail, and the facts it saw.

    ``facts`` are the values an auditor needs (hashes, device lists, times), journaled as they
    are; they never hold a secret.
    """

    check: str
    passed: bool
    detail: str
    facts: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        """``network   PASS  only lo is present and up ...`` (the CLI's line)."""
        return f"{self.check:<9} {self.verdict}  {self.detail}"

    def facts_json(self) -> dict[str, Json]:
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in sorted(self.facts.items())
        }


class Preflight(Protocol):
    """Runs the preflight checks of the machine the ceremony runs on (sealroom.preflight)."""

    def run_checks(
        self, checks: Sequence[str] | None = None, *, materials: Sequence[MaterialRef] = ()
    ) -> tuple[CheckResult, ...]:
        """Run ``checks`` (all of CHECK_IDS when None) in order; never raise for a failed check."""
        ...


def material_refs(script: Script) -> tuple[MaterialRef, ...]:
    """The script's materials as the devices check compares them."""
    return tuple(MaterialRef(m.id, m.kind, m.model, m.serial) for m in script.materials)


class PreflightActions:
    """The opening's preflight: journal every result; failures wait for the room's decision.

    Production: a failed ``network`` check aborts the ceremony at once; any other failed check
    is pending until attendance is recorded, then each is a deviation a present participant
    decides (proceed, retry the check, or abort), as a registry mismatch is. Nothing after
    attendance runs while one is pending. Rehearsal: the same checks run and are journaled as
    informational (``blocking: false``); nothing is decided and nothing aborts.
    """

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.failures: list[CheckResult] = []
        """Failed checks the room has not decided yet (production only)."""

    @property
    def _port(self) -> Preflight | None:
        return self.runner.ports.preflight

    def _run(self, checks: Sequence[str], at: str, step: str | None) -> tuple[CheckResult, ...]:
        port = self._port
        if port is None:
            return ()
        results = port.run_checks(checks, materials=material_refs(self.runner.script))
        for result in results:
            self.runner._journal(
                "preflight.checked",
                {
                    "check": result.check,
                    "passed": result.passed,
                    "verdict": result.verdict,
                    "detail": result.detail,
                    "facts": result.facts_json(),
                    "rehearsal": self.runner.rehearsal,
                    "blocking": not self.runner.rehearsal,
                    "at": at,
                },
                step=step,
            )
        return results

    def opening(self, at: str = "opening") -> None:
        """Run and journal the ceremony's checks; abort on network; keep other failures pending.

        A production ceremony without a Preflight port is refused: its machine was never checked.
        """
        if self._port is None:
            if self.runner.rehearsal:
                return
            raise CeremonyAborted(
                "This production ceremony has no preflight: the workstation's air gap, image and "
                "software cannot be checked, so the ceremony is stopped before any step."
            )
        if self.runner.rehearsal:
            self._run(REHEARSAL_CHECKS, at, None)
            return
        results = self._run(CEREMONY_CHECKS, at, None)
        for result in results:
            if not result.passed and result.check in UNWAIVABLE:
                raise CeremonyAborted(
                    f"Preflight check {result.check} failed: {result.detail}. This check cannot "
                    "be waived by a deviation; the ceremony is stopped before any step."
                )
        self.failures = [r for r in results if not r.passed]

    def decide(self, step: StepBase, view: StepView, operator: Operator) -> None:
        """Each pending failure becomes a deviation a present participant decides.

        ``proceed`` records it and goes on; ``abort`` stops the ceremony; ``retry`` runs that
        check again (after the room fixed something) and journals the new result.
        """
        retries = 0
        while self.failures:
            failed = self.failures[0]
            answer = operator.action_failed(
                view, f"Preflight check {failed.check} failed: {failed.detail}"
            )
            if answer.decision == "retry" and retries >= RETRIES:
                raise CeremonyError(
                    f"Step {view.index + 1} ({step.title}): the preflight check {failed.check} "
                    f"still fails after {RETRIES} retries; proceed (recording the deviation) or "
                    "abort."
                )
            if answer.decision == "skip":
                raise CeremonyError(
                    f"Step {view.index + 1} ({step.title}): a failed preflight check cannot be "
                    "skipped: proceed (recording the deviation), retry the check, or abort."
                )
            retries += answer.decision == "retry"
            self.runner._record_deviation(
                step,
                view,
                Deviation(
                    expected=f"preflight check {failed.check} passes",
                    observed=f"preflight check {failed.check} failed: {failed.detail}",
                    decision=answer.decision,
                    decided_by=answer.decided_by,
                    note=answer.note,
                ),
            )
            if answer.decision == "retry":
                (again,) = self._run((failed.check,), "retry", step.id)
                if again.passed:
                    self.failures.pop(0)
                elif again.check in UNWAIVABLE:
                    raise CeremonyAborted(
                        f"Preflight check {again.check} failed: {again.detail}. This check "
                        "cannot be waived by a deviation; the ceremony is stopped."
                    )
                else:
                    self.failures[0] = again
                continue
            self.failures.pop(0)
