"""The opening's preflight with a fake port: journaled, network aborts, other failures decided."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from sealroom.ceremony.ports import Deviation, StepView
from sealroom.ceremony.preflight import (
    CEREMONY_CHECKS,
    REHEARSAL_CHECKS,
    CheckResult,
    MaterialRef,
)
from sealroom.ceremony.runner import Runner
from sealroom.errors import CeremonyAborted, CeremonyError
from tests.fakes import FakeWorld, ScriptedOperator, fake_world

SCRIPTED_HSM_SERIAL = "HSM-0001"


class FakePreflight:
    """Fails the checks named in ``failing`` (each until it has been run ``fixed_after`` times)."""

    def __init__(self, failing: Sequence[str] = (), fixed_after: int | None = None) -> None:
        self.failing = set(failing)
        self.fixed_after = fixed_after
        self.calls: list[tuple[str, ...]] = []
        self.materials: tuple[MaterialRef, ...] = ()

    def run_checks(
        self, checks: Sequence[str] | None = None, *, materials: Sequence[MaterialRef] = ()
    ) -> tuple[CheckResult, ...]:
        wanted = tuple(checks or ())
        self.calls.append(wanted)
        self.materials = tuple(materials)
        runs = len(self.calls)
        return tuple(
            CheckResult(c, False, f"{c} is broken", {"seen": ("x", "y")})
            if c in self.failing and (self.fixed_after is None or runs <= self.fixed_after)
            else CheckResult(c, True, f"{c} is fine")
            for c in wanted
        )


class DecidingOperator(ScriptedOperator):
    """Answers each failed check with the decisions given, in order, decided by alice."""

    def __init__(self, runner: Runner, decisions: Sequence[str]) -> None:
        super().__init__(runner.script)
        self.decisions = list(decisions)

    def action_failed(self, view: StepView, problem: str) -> Deviation:
        self.problems.append(problem)
        return Deviation("", problem, self.decisions.pop(0), "alice", "agreed")  # type: ignore[arg-type]


def _world(preflight: FakePreflight | None, *, rehearsal: bool = False) -> FakeWorld:
    world = fake_world(rehearsal=rehearsal)
    world.hsm.token = replace(world.hsm.token, serial=SCRIPTED_HSM_SERIAL)
    world.runner.ports = replace(world.runner.ports, preflight=preflight)
    return world


def _preflight_entries(world: FakeWorld) -> list[dict[str, object]]:
    return [e["data"] for e in world.journal.entries if e["event"] == "preflight.checked"]  # type: ignore[misc]


def test_production_journals_every_check_and_passes_the_script_materials() -> None:
    port = FakePreflight()
    world = _world(port)
    world.runner.open()
    entries = _preflight_entries(world)
    assert [e["check"] for e in entries] == list(CEREMONY_CHECKS)
    assert all(e["passed"] is True and e["verdict"] == "PASS" for e in entries)
    assert all(e["blocking"] is True and e["rehearsal"] is False for e in entries)
    assert all(e["at"] == "opening" for e in entries)
    assert {m.id for m in port.materials} == {m.id for m in world.runner.script.materials}
    assert world.runner.preflight.failures == []


def test_network_failure_aborts_before_any_step_and_cannot_be_waived() -> None:
    world = _world(FakePreflight(failing=("network", "image")))
    operator = DecidingOperator(world.runner, ["proceed"] * 5)
    with pytest.raises(CeremonyAborted, match="Preflight check network failed: network is broken"):
        world.runner.run(operator)
    events = world.journal.events()
    assert events[-1] == "ceremony.aborted"
    assert "attendance.recorded" not in events and "deviation.recorded" not in events
    assert operator.problems == []
    aborted = world.journal.entries[-1]["data"]
    assert "cannot be waived" in aborted["reason"]  # type: ignore[index,operator]


def test_a_failed_check_is_decided_at_attendance_and_the_ceremony_proceeds() -> None:
    world = _world(FakePreflight(failing=("software",)))
    runner = world.runner
    operator = DecidingOperator(runner, ["proceed"])
    runner.open()
    assert [f.check for f in runner.preflight.failures] == ["software"]
    runner.perform(0, operator)
    assert operator.problems == ["Preflight check software failed: software is broken"]
    deviation = next(e for e in world.journal.entries if e["event"] == "deviation.recorded")
    assert deviation["data"] == {
        "expected": "preflight check software passes",
        "observed": "preflight check software failed: software is broken",
        "decision": "proceed",
        "note": "agreed",
    }
    assert deviation["step"] == runner.script.steps[0].id
    assert runner.preflight.failures == []
    runner.perform(1, operator)
    assert world.journal.events().count("step.completed") == 2


def test_abort_decision_stops_the_ceremony() -> None:
    world = _world(FakePreflight(failing=("devices",)))
    operator = DecidingOperator(world.runner, ["abort"])
    with pytest.raises(CeremonyAborted, match="preflight check devices failed"):
        world.runner.run(operator)
    events = world.journal.events()
    assert events[-2:] == ["deviation.recorded", "ceremony.aborted"]


def test_retry_runs_the_check_again_and_a_pass_clears_it() -> None:
    port = FakePreflight(failing=("image",), fixed_after=1)
    world = _world(port)
    operator = DecidingOperator(world.runner, ["retry"])
    world.runner.open()
    world.runner.perform(0, operator)
    assert port.calls == [CEREMONY_CHECKS, ("image",)]
    retried = _preflight_entries(world)[-1]
    assert retried["check"] == "image" and retried["passed"] is True and retried["at"] == "retry"
    assert world.runner.preflight.failures == []


def test_a_failed_check_cannot_be_skipped() -> None:
    world = _world(FakePreflight(failing=("clock",)))
    operator = DecidingOperator(world.runner, ["skip"])
    world.runner.open()
    with pytest.raises(CeremonyError, match="a failed preflight check cannot be skipped"):
        world.runner.perform(0, operator)


def test_production_without_a_preflight_port_is_stopped() -> None:
    world = _world(None)
    with pytest.raises(CeremonyAborted, match="This production ceremony has no preflight"):
        world.runner.open()


def test_rehearsal_journals_its_checks_as_informational_and_never_blocks() -> None:
    port = FakePreflight(failing=("network", "image"))
    world = _world(port, rehearsal=True)
    operator = DecidingOperator(world.runner, [])
    world.runner.open()
    world.runner.perform(0, operator)
    entries = _preflight_entries(world)
    assert [e["check"] for e in entries] == list(REHEARSAL_CHECKS)
    assert all(e["rehearsal"] is True and e["blocking"] is False for e in entries)
    assert [e["passed"] for e in entries] == [False, False, True]
    assert entries[0]["facts"] == {"seen": ["x", "y"]}
    assert "deviation.recorded" not in world.journal.events()
    assert operator.problems == []


def test_rehearsal_without_a_port_runs_no_check() -> None:
    world = _world(None, rehearsal=True)
    world.runner.open()
    assert _preflight_entries(world) == []


def test_a_resumed_production_ceremony_checks_again_and_decides_before_the_next_step() -> None:
    from types import SimpleNamespace

    world = _world(FakePreflight())
    operator = DecidingOperator(world.runner, [])
    world.runner.open()
    world.runner.perform(0, operator)  # attendance, all checks passed
    world.runner.perform(1, operator)
    history = [SimpleNamespace(**entry) for entry in world.journal.entries]
    # The process dies here; the same room resumes on a machine whose image check now fails.
    adapters = replace(world.runner.ports, preflight=FakePreflight(failing=("image",)))
    runner = Runner(world.runner.loaded, adapters, rehearsal=False)
    runner.resume(history)
    resumed = [e for e in _preflight_entries(world) if e["at"] == "resumption"]
    assert [(e["check"], e["passed"]) for e in resumed] == [
        (c, c != "image") for c in CEREMONY_CHECKS
    ]
    following = runner.enabled_index()
    assert following == 2
    deciding = DecidingOperator(runner, ["proceed"])
    runner.perform(following, deciding)
    assert deciding.problems == ["Preflight check image failed: image is broken"]
    deviation = next(e for e in world.journal.entries if e["event"] == "deviation.recorded")
    assert deviation["step"] == runner.script.steps[2].id
    assert runner.preflight.failures == []
