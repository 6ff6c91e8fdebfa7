"""Resuming an interrupted ceremony from its journal: nothing done is done again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from sealroom.ceremony.ports import (
    Actor,
    Attendance,
    Deviation,
    JournalHead,
    Json,
    Outcome,
    StepView,
)
from sealroom.ceremony.runner import Adapters, Runner
from sealroom.ceremony.script import Script
from sealroom.errors import CeremonyAborted, CeremonyError, SealroomError
from tests.fakes import FakeWorld, ScriptedOperator, fake_world


class Killed(BaseException):
    """The process died: not an Exception, so the runner journals nothing about it."""


class KillingOperator(ScriptedOperator):
    """Answers like ScriptedOperator, but the process dies when step ``kill_at`` is reached."""

    def __init__(self, script: Script, kill_at: str, *, after_outcome: bool = False) -> None:
        super().__init__(script)
        self.kill_at = kill_at
        self.after_outcome = after_outcome

    def attendance(self, view: StepView, script: Script) -> Attendance:
        self._maybe_die(view)
        return super().attendance(view, script)

    def acknowledge(self, view: StepView) -> Any:
        self._maybe_die(view)
        return super().acknowledge(view)

    def outcome(self, view: StepView, outcome: Outcome) -> None:
        if self.after_outcome and view.step.id == self.kill_at:
            raise Killed
        super().outcome(view, outcome)

    def _maybe_die(self, view: StepView) -> None:
        if not self.after_outcome and view.step.id == self.kill_at:
            raise Killed


def _history(world: FakeWorld) -> list[SimpleNamespace]:
    return [SimpleNamespace(**entry) for entry in world.journal.entries]


def _restart(world: FakeWorld, **changes: Any) -> Runner:
    """A new runner on the same token, journal and folder, as after a restart of the process."""
    world.hsm.logged_in = False  # the session died with the process
    adapters: Adapters = replace(world.runner.ports, **changes)
    return Runner(world.runner.loaded, adapters, rehearsal=world.runner.rehearsal)


def _completed(world: FakeWorld) -> list[str]:
    return [str(e["step"]) for e in world.journal.entries if e["event"] == "step.completed"]


ROOT_STEPS = [step.id for step in fake_world().runner.script.steps]


@pytest.mark.parametrize("kill_at", ROOT_STEPS)
def test_killed_before_any_step_the_ceremony_resumes_and_makes_one_key(kill_at: str) -> None:
    world = fake_world()
    script = world.runner.script
    with pytest.raises(Killed):
        world.runner.run(KillingOperator(script, kill_at))
    runner = _restart(world)
    runner.resume(_history(world))
    result = runner.run(ScriptedOperator(script))

    assert result.completed
    assert world.hsm.calls.count("generate:root-key") == 1
    assert len(world.hsm.keys) == 1
    assert [name for name in world.store.files if "interrupted" in name] == []
    completed = _completed(world)
    resumed = [e for e in world.journal.entries if e["event"] == "ceremony.resumed"]
    assert len(resumed) == 1
    # Every step is completed once, except a login whose session died with the process.
    repeated = {step for step in completed if completed.count(step) > 1}
    assert repeated <= {"hsm-login"}
    assert sorted(set(completed)) == sorted(ROOT_STEPS)
    data: Mapping[str, Json] = resumed[0]["data"]  # type: ignore[assignment]
    assert data["next_step"] == ("hsm-login" if data["login_repeated"] else kill_at)


def test_a_login_open_at_the_interruption_is_performed_again() -> None:
    world = fake_world()
    with pytest.raises(Killed):
        world.runner.run(KillingOperator(world.runner.script, "sign-root-certificate"))
    runner = _restart(world)
    runner.resume(_history(world))
    assert runner.view(runner.enabled_index() or 0).step.id == "hsm-login"
    runner.run(ScriptedOperator(runner.script))
    resumed = next(e for e in world.journal.entries if e["event"] == "ceremony.resumed")
    assert resumed["data"]["login_repeated"] == "hsm-login"  # type: ignore[index]
    assert _completed(world).count("hsm-login") == 2
    # The key is found on the token (not generated again) and its fingerprint compared.
    found = [e for e in world.journal.entries if e["event"] == "key.found"]
    generated = [e for e in world.journal.entries if e["event"] == "key.generated"]
    assert len(generated) == 1 and len(found) == 1
    assert found[0]["data"]["fingerprint"] == generated[0]["data"]["fingerprint"]  # type: ignore[index]


def test_a_key_generated_before_the_interruption_is_not_generated_again() -> None:
    world = fake_world()
    with pytest.raises(Killed):
        # Dies after key.generated was journaled, before the step was completed.
        world.runner.run(
            KillingOperator(world.runner.script, "generate-root-key", after_outcome=True)
        )
    assert "generate-root-key" not in _completed(world)
    runner = _restart(world)
    runner.resume(_history(world))
    runner.run(ScriptedOperator(runner.script))
    assert world.hsm.calls.count("generate:root-key") == 1
    done = next(
        e
        for e in world.journal.entries
        if e["event"] == "step.completed" and e["step"] == "generate-root-key"
    )
    generated = next(e for e in world.journal.entries if e["event"] == "key.generated")
    assert done["data"]["completed_before_interruption"] == generated["seq"]  # type: ignore[index]


class DyingJournal:
    """Wraps the memory journal; the process dies just before ``event`` would be appended."""

    def __init__(self, inner: Any, event: str) -> None:
        self.inner = inner
        self.event = event

    def append(
        self,
        event: str,
        data: Mapping[str, Json],
        *,
        step: str | None = None,
        actors: Sequence[Actor] = (),
    ) -> JournalHead:
        if event == self.event:
            raise Killed
        result: JournalHead = self.inner.append(event, data, step=step, actors=actors)
        return result

    @property
    def head(self) -> JournalHead:
        head: JournalHead = self.inner.head
        return head

    def checkpoint(self, reason: str) -> JournalHead:
        result: JournalHead = self.inner.checkpoint(reason)
        return result


def test_a_certificate_written_but_not_journaled_is_set_aside_and_signed_again() -> None:
    world = fake_world()
    dying = _restart(world, journal=DyingJournal(world.journal, "certificate.issued"))
    with pytest.raises(Killed):
        dying.run(ScriptedOperator(world.runner.script))
    assert "root.crt.pem" in world.store.files
    runner = _restart(world)
    runner.resume(_history(world))
    runner.run(ScriptedOperator(runner.script))
    aside = [name for name in world.store.files if name.startswith("root.crt.pem.interrupted-")]
    assert len(aside) == 1
    resumed = next(e for e in world.journal.entries if e["event"] == "ceremony.resumed")
    moved = resumed["data"]["set_aside"]  # type: ignore[index]
    assert moved == [{"output": "root.crt.pem", "moved_to": f"memory:{aside[0]}"}]
    issued = [e for e in world.journal.entries if e["event"] == "certificate.issued"]
    assert len(issued) == 1
    assert world.store.files["root.crt.pem"] == issued[0]["data"]["pem"].encode()  # type: ignore[index]


def test_a_ceremony_that_ended_is_not_resumed() -> None:
    world = fake_world()
    world.runner.run(ScriptedOperator(world.runner.script))
    with pytest.raises(CeremonyError, match="already ended"):
        _restart(world).resume(_history(world))


def test_a_journal_of_another_script_is_not_resumed() -> None:
    world = fake_world()
    with pytest.raises(Killed):
        world.runner.run(KillingOperator(world.runner.script, "clock"))
    history = _history(world)
    history[0] = SimpleNamespace(
        **{
            **world.journal.entries[0],
            "data": {
                **world.journal.entries[0]["data"],  # type: ignore[dict-item]
                "script_sha256": "0" * 64,
            },
        }
    )
    with pytest.raises(CeremonyError, match="only with the script it was opened with"):
        _restart(world).resume(history)


def test_another_token_is_refused_on_resume() -> None:
    world = fake_world()
    with pytest.raises(Killed):
        world.runner.run(KillingOperator(world.runner.script, "sign-root-certificate"))
    world.hsm.token = replace(world.hsm.token, serial="OTHER-0001")
    with pytest.raises(CeremonyAborted, match="Connect the same HSM"):
        _restart(world).resume(_history(world))


def test_a_key_made_but_not_journaled_before_the_interruption_is_found_not_made_again() -> None:
    world = fake_world()
    dying = _restart(world, journal=DyingJournal(world.journal, "key.generated"))
    with pytest.raises(Killed):
        dying.run(ScriptedOperator(world.runner.script))
    assert world.hsm.calls.count("generate:root-key") == 1
    runner = _restart(world)
    runner.resume(_history(world))
    result = runner.run(ScriptedOperator(runner.script))
    assert result.completed
    assert world.hsm.calls.count("generate:root-key") == 1
    assert len(world.hsm.keys) == 1
    events = world.journal.events()
    assert "key.generated" not in events
    found = next(e for e in world.journal.entries if e["event"] == "key.found")
    assert found["step"] == "generate-root-key"
    assert found["data"]["after_interruption"] is True  # type: ignore[index]
    issued = next(e for e in world.journal.entries if e["event"] == "certificate.issued")
    assert issued["data"]["fingerprint"] == found["data"]["fingerprint"]  # type: ignore[index]


def test_the_resume_names_the_last_entry_before_the_interruption() -> None:
    world = fake_world()
    with pytest.raises(Killed):
        world.runner.run(KillingOperator(world.runner.script, "room-check"))
    last = world.journal.head.seq
    # What the real journal writes when it is reopened, before the engine reads it back.
    world.journal.append("journal.resumed", {"after_seq": last})
    world.journal.append("journal.log-key", {"algorithm": "ed25519"})
    runner = _restart(world)
    runner.resume(_history(world))
    resumed = next(e for e in world.journal.entries if e["event"] == "ceremony.resumed")
    assert resumed["data"]["after_seq"] == last  # type: ignore[index]


class KilledAtSheet(ScriptedOperator):
    """Answers like ScriptedOperator, but the process dies when the ``n``th custodian of a
    backup's key-encryption key is called to the printer (``n - 1`` sheets are sealed)."""

    def __init__(self, script: Script, n: int) -> None:
        super().__init__(script)
        self.n = n
        self.called = 0

    def custodian_ready(self, view: StepView, custodian: str, what: str) -> None:
        if "key-encryption key" in what:
            self.called += 1
            if self.called == self.n:
                raise Killed
        super().custodian_ready(view, custodian, what)


class AdministratorAborts(ScriptedOperator):
    """The ceremony administrator (the only role allowed to decide) aborts at a failure."""

    def action_failed(self, view: StepView, problem: str) -> Deviation:
        super().action_failed(view, problem)
        admin = next(p.id for p in self.script.participants if "administrator" in p.roles)
        return Deviation("", problem, "abort", admin)


def _backup_port(world: FakeWorld) -> Any:
    return world.runner.ports.backup


@pytest.mark.parametrize("sheets_sealed", [0, 2])
def test_a_backup_interrupted_before_it_was_recorded_is_abandoned_and_made_anew(
    sheets_sealed: int,
) -> None:
    world = fake_world()
    script = world.runner.script
    with pytest.raises(Killed):
        world.runner.run(KilledAtSheet(script, sheets_sealed + 1))
    port = _backup_port(world)
    (wrapped,) = [e for e in world.journal.entries if e["event"] == "backup.wrapped"]
    first_kcv = wrapped["data"]["check_value"]  # type: ignore[index]
    media = {m: dict(files) for m, files in port.media.items()}
    assert media and all(len(files) == 1 for files in media.values())  # the blob, on each

    runner = _restart(world)
    runner.resume(_history(world))
    operator = ScriptedOperator(script)
    result = runner.run(operator)
    assert result.completed

    (abandoned,) = [e for e in world.journal.entries if e["event"] == "backup.abandoned"]
    data: Any = abandoned["data"]
    assert data["check_value"] == first_kcv
    assert sorted(r["material"] for r in data["blob_removed"]) == sorted(media)
    assert len(data["sheets_to_destroy"]) == sheets_sealed
    assert all(sheet["bag"] for sheet in data["sheets_to_destroy"])
    made = next(e for e in world.journal.entries if e["event"] == "backup.made")
    assert made["data"]["check_value"] != first_kcv  # type: ignore[index]
    assert made["seq"] > abandoned["seq"]
    # Each medium holds only the new blob: the one of the abandoned KEK is gone.
    for files in port.media.values():
        (blob,) = files.values()
        assert all(blob != old for old in media[next(iter(media))].values())
    # The room was told which sealed sheets to destroy, by custodian and bag.
    told = [o for o in operator.outcomes if "is abandoned" in o.headline]
    assert len(told) == 1
    destroy = [f for f in told[0].facts if f.label.startswith("Destroy the sheet of")]
    assert [f.value for f in destroy] == [
        f"bag {s['bag']}, unopened" for s in data["sheets_to_destroy"]
    ]


def test_a_file_on_the_medium_that_this_ceremony_did_not_write_is_never_destroyed() -> None:
    world = fake_world()
    script = world.runner.script
    with pytest.raises(Killed):
        world.runner.run(KilledAtSheet(script, 1))
    port = _backup_port(world)
    material = next(iter(port.media))
    (name,) = port.media[material]
    port.media[material][name] = b"another ceremony's backup"
    runner = _restart(world)
    runner.resume(_history(world))
    operator = AdministratorAborts(script)
    with pytest.raises(SealroomError, match="is not the blob this ceremony wrote"):
        runner.run(operator)
    assert operator.failed is not None
    assert "is not the blob this ceremony wrote" in operator.failed
    assert port.media[material][name] == b"another ceremony's backup"
    assert not [e for e in world.journal.entries if e["event"] == "backup.abandoned"]
