"""Attendance refuses to open a ceremony whose later steps need custodians who are not there."""

from __future__ import annotations

from sealroom.ceremony.loader import load_script
from sealroom.ceremony.ports import Attendance
from sealroom.ceremony.quorum import attendance_problem, named_custodians
from tests.fakes import ROOT_SCRIPT


def _everyone_but(script_name: str, *absent: str) -> tuple[object, Attendance]:
    script = load_script(ROOT_SCRIPT.with_name(script_name)).script
    present = tuple(p.id for p in script.participants if p.id not in absent)
    return script, Attendance(present, "alice", {})


def test_every_backup_holder_must_be_present_to_receive_a_sheet() -> None:
    script, everyone = _everyone_but("root-key-generation.yaml")
    assert attendance_problem(script, everyone) is None  # type: ignore[arg-type]
    holders = [h.custodian for h in script.backups[0].shares]  # type: ignore[attr-defined]
    _script, attendance = _everyone_but("root-key-generation.yaml", holders[3])
    problem = attendance_problem(script, attendance)  # type: ignore[arg-type]
    name = script.participant(holders[3]).name  # type: ignore[attr-defined]
    assert problem is not None
    assert f"needs {name} in person" in problem


def test_the_named_restore_test_custodians_and_resplit_holders_are_listed() -> None:
    script = load_script(ROOT_SCRIPT).script
    actions = [(step.action, needed) for _n, step, needed in named_custodians(script)]
    backup = script.backups[0]
    assert actions == [
        ("backup-key", tuple(h.custodian for h in backup.shares)),
        ("restore-test", tuple(backup.restore_test_custodians)),
    ]
    change = load_script(ROOT_SCRIPT.with_name("custodian-change.yaml")).script
    resplit = change.backups[0].resplit
    assert resplit is not None
    ((_, step, needed),) = named_custodians(change)
    assert step.action == "resplit-backup"
    assert set(resplit.combine) <= set(needed)
    assert {h.custodian for h in change.backups[0].shares} <= set(needed)
