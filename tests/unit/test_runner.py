"""The engine's state machine over fakes: order, quorum, PINs, aborts, write-once outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sealroom.ceremony.loader import load_script
from sealroom.ceremony.ports import Acknowledgement
from sealroom.errors import CeremonyAborted, CeremonyError, OutputExistsError, PinLockout
from tests.fakes import ROOT_SCRIPT, ScriptedOperator, fake_world


def test_whole_ceremony_journals_every_step_in_order() -> None:
    world = fake_world()
    operator = ScriptedOperator(world.runner.script)
    result = world.runner.run(operator)
    assert result.completed
    assert result.steps_done == len(world.runner.script.steps)
    events = world.journal.events()
    assert events[:5] == [
        "ceremony.opened",
        "token.identified",
        "token.inventory",
        "printer.checked",
        "attendance.recorded",
    ]
    assert events[-1] == "ceremony.closed"
    completed = [e["step"] for e in world.journal.entries if e["event"] == "step.completed"]
    assert completed == [s.id for s in world.runner.script.steps]
    assert "root.crt.pem" in world.store.files
    assert world.hsm.calls.index("login") < world.hsm.calls.index("generate:root-key")
    assert world.hsm.calls[-1] == "logout"
    assert operator.finished is not None


def test_a_step_is_enabled_only_after_the_one_before() -> None:
    world = fake_world()
    operator = ScriptedOperator(world.runner.script)
    world.runner.open()
    with pytest.raises(CeremonyError, match="not enabled"):
        world.runner.perform(3, operator)
    world.runner.perform(0, operator)
    assert world.runner.enabled_index() == 1


def test_acknowledgement_records_participants_and_roles() -> None:
    world = fake_world()
    world.runner.run(ScriptedOperator(world.runner.script))
    entry = next(
        e
        for e in world.journal.entries
        if e["event"] == "step.completed" and e["step"] == "hsm-bag"
    )
    actors = {(a["participant"], a["role"], a["capacity"]) for a in entry["actors"]}  # type: ignore[index,union-attr]
    assert ("bob", "crypto-officer", "performer") in actors
    assert ("dan", "internal-witness", "witness") in actors
    assert ("erin", "auditor", "witness") in actors


class WitnessOverride(ScriptedOperator):
    def __init__(self, script, performer: str, witness: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(script)
        self.performer, self.witness = performer, witness

    def acknowledge(self, view):  # type: ignore[no-untyped-def]
        ack = super().acknowledge(view)
        if view.step.id == "room-check":
            return Acknowledgement(self.performer, {"internal-witness": self.witness})
        return ack


def test_witness_must_hold_the_role_and_abort_is_journaled() -> None:
    world = fake_world()
    operator = WitnessOverride(world.runner.script, "alice", "erin")
    with pytest.raises(CeremonyError, match="'erin' is not present in the role 'Internal witness'"):
        world.runner.run(operator)
    assert world.journal.events()[-1] == "ceremony.aborted"


def test_nobody_witnesses_their_own_act(tmp_path: Path) -> None:
    text = ROOT_SCRIPT.read_text().replace(
        "    roles: [administrator]", "    roles: [administrator, internal-witness]"
    )
    path = tmp_path / "script.yaml"
    path.write_text(text)
    world = fake_world(load_script(path))
    with pytest.raises(CeremonyError, match="cannot both perform and witness"):
        world.runner.run(WitnessOverride(world.runner.script, "alice", "alice"))
    assert world.journal.events()[-1] == "ceremony.aborted"


def test_wrong_pin_is_counted_then_accepted() -> None:
    world = fake_world()
    operator = ScriptedOperator(world.runner.script, pins=["0000", "4711-2027"])
    operator.so_pin = "4711-2027"  # the restore-test token's SO PIN (fake_restore_token)
    assert world.runner.run(operator).completed
    failed = [e["data"] for e in world.journal.entries if e["event"] == "hsm.login-failed"]
    # the ceremony's token, then the restore-test token: each wrong PIN counted once
    assert failed == [
        {"attempt": 1, "attempts_left": 2},
        {"attempt": 1, "attempts_left": 2, "token": "restore"},
    ]
    login = next(e for e in world.journal.entries if e["event"] == "hsm.login")
    assert login["data"] == {"attempts": 2}


def test_pin_lockout_aborts_and_no_pin_reaches_the_journal() -> None:
    world = fake_world()
    wrong = ["wrong-pin-one", "wrong-pin-two", "wrong-pin-three"]
    operator = ScriptedOperator(world.runner.script, pins=wrong)
    with pytest.raises(PinLockout):
        world.runner.run(operator)
    text = json.dumps(world.journal.entries)
    for pin in (*wrong, "4711-2027"):
        assert pin not in text
    assert world.journal.events()[-1] == "ceremony.aborted"
    assert "generate:root-key" not in world.hsm.calls


def test_witness_mismatch_stops_the_ceremony() -> None:
    world = fake_world()
    operator = ScriptedOperator(world.runner.script, mismatch_at="software-integrity")
    with pytest.raises(CeremonyAborted, match="mismatch"):
        world.runner.run(operator)
    last_step = [e for e in world.journal.entries if e["event"] == "step.completed"][-1]
    assert last_step["data"]["matches"] is False  # type: ignore[index,call-overload]
    assert world.journal.events()[-1] == "ceremony.aborted"
    assert "login" not in world.hsm.calls


def test_existing_output_is_refused_before_any_hsm_work() -> None:
    world = fake_world()
    world.store.files["root.crt.pem"] = b"precious"
    with pytest.raises(OutputExistsError):
        world.runner.run(ScriptedOperator(world.runner.script))
    assert world.store.files["root.crt.pem"] == b"precious"
    assert world.hsm.calls == []


def test_serial_is_0x01_then_16_octets_from_the_hsm() -> None:
    world = fake_world()
    world.runner.run(ScriptedOperator(world.runner.script))
    issued = next(e for e in world.journal.entries if e["event"] == "certificate.issued")
    octets = bytes.fromhex(issued["data"]["serial"])  # type: ignore[index,arg-type]
    # positive by its 0x01 prefix; the 16 octets after it are the fake HSM's "random" bytes
    assert octets == b"\x01" + bytes(range(1, 17))


def test_production_token_with_another_serial_stops_before_any_step() -> None:
    world = fake_world()
    runner = world.runner
    runner.rehearsal = False
    with pytest.raises(CeremonyAborted, match="not the scripted HSM"):
        runner.run(ScriptedOperator(runner.script))
    assert world.journal.events() == ["ceremony.opened", "token.identified", "ceremony.aborted"]
    assert world.hsm.calls == []


def test_rehearsal_token_is_journaled_as_a_stand_in() -> None:
    world = fake_world()
    world.runner.run(ScriptedOperator(world.runner.script))
    token = next(e for e in world.journal.entries if e["event"] == "token.identified")
    assert token["data"]["stand_in"] is True  # type: ignore[index,call-overload]


class Exploding(ScriptedOperator):
    def acknowledge(self, view):  # type: ignore[no-untyped-def]
        if view.step.id == "room-check":
            raise ZeroDivisionError
        return super().acknowledge(view)


def test_an_unexpected_error_is_still_journaled_as_an_abort() -> None:
    world = fake_world()
    operator = Exploding(world.runner.script)
    with pytest.raises(ZeroDivisionError):
        world.runner.run(operator)
    last = world.journal.entries[-1]
    assert last["event"] == "ceremony.aborted"
    assert last["data"] == {
        "reason": "Internal error (ZeroDivisionError); the ceremony is stopped."
    }
    assert operator.failed is not None


def test_a_script_without_an_hsm_runs_without_touching_a_token() -> None:
    from dataclasses import replace

    from sealroom.ceremony.script import ActionStep

    loaded = load_script(ROOT_SCRIPT)
    manual = tuple(s for s in loaded.script.steps if not isinstance(s, ActionStep))
    script = loaded.script.model_copy(update={"hsm": None, "steps": manual, "keys": ()})
    world = fake_world(replace(loaded, script=script))
    assert world.runner.run(ScriptedOperator(script)).completed
    assert world.hsm.calls == []
    assert "token.identified" not in world.journal.events()


def test_a_script_with_actions_not_yet_available_is_refused_before_opening() -> None:
    from dataclasses import replace

    from sealroom.ceremony.script import ActionStep

    loaded = load_script(ROOT_SCRIPT)
    steps = tuple(
        s.model_copy(update={"action": "verify-software", "params": {}})
        if isinstance(s, ActionStep) and s.action == "hsm-logout"
        else s
        for s in loaded.script.steps
    )
    world = fake_world(replace(loaded, script=loaded.script.model_copy(update={"steps": steps})))
    with pytest.raises(CeremonyError, match="cannot yet perform: verify-software"):
        world.runner.run(ScriptedOperator(world.runner.script))
    assert world.journal.events() == []


class ProceedAt(ScriptedOperator):
    def __init__(self, script, step_id: str, decision: str = "proceed") -> None:  # type: ignore[no-untyped-def]
        super().__init__(script)
        self.step_id, self.decision = step_id, decision

    def acknowledge(self, view):  # type: ignore[no-untyped-def]
        ack = super().acknowledge(view)
        if view.step.id != self.step_id:
            return ack
        from sealroom.ceremony.ports import Deviation

        deviation = Deviation("auditor present", "auditor stepped out", self.decision, "alice")
        return Acknowledgement(ack.performer, ack.witnesses, deviation=deviation)


def test_proceed_at_an_action_still_runs_the_action() -> None:
    world = fake_world()
    assert world.runner.run(ProceedAt(world.runner.script, "generate-root-key")).completed
    assert "generate:root-key" in world.hsm.calls
    events = world.journal.events()
    at = events.index("deviation.recorded")
    assert events[at + 1] == "key.generated"
    done = next(
        e
        for e in world.journal.entries
        if e["event"] == "step.completed" and e["step"] == "generate-root-key"
    )
    assert done["data"]["deviation"] is True  # type: ignore[index,call-overload]


def test_an_action_cannot_be_skipped_and_a_manual_step_skip_is_journaled() -> None:
    world = fake_world()
    with pytest.raises(CeremonyError, match="cannot be skipped"):
        world.runner.run(ProceedAt(world.runner.script, "generate-root-key", "skip"))
    assert "generate:root-key" not in world.hsm.calls
    world = fake_world()
    assert world.runner.run(ProceedAt(world.runner.script, "room-check", "skip")).completed
    skipped = [e["step"] for e in world.journal.entries if e["event"] == "step.skipped"]
    assert skipped == ["room-check"]


def test_a_stopped_ceremony_prints_its_report_once_and_says_where() -> None:
    world = fake_world()
    operator = ScriptedOperator(world.runner.script, mismatch_at="software-integrity")
    with pytest.raises(CeremonyAborted):
        world.runner.run(operator)
    assert len(world.printer.jobs) == 1
    assert "(stopped)" in world.printer.jobs[0][0]
    assert operator.failed is not None
    assert "The report of the stopped ceremony was printed" in operator.failed
    assert world.journal.events()[-1] == "ceremony.aborted"


def test_nothing_is_printed_when_the_ceremony_never_opened() -> None:
    world = fake_world()
    world.store.files["root.crt.pem"] = b"precious"
    with pytest.raises(OutputExistsError):
        world.runner.run(ScriptedOperator(world.runner.script))
    assert world.printer.jobs == []
