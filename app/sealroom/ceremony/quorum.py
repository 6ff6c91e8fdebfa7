"""Who may act and witness: attendance and acknowledgement checks for the engine and the UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sealroom.ceremony.ports import Acknowledgement, Attendance
from sealroom.ceremony.script import ActionStep, AttendanceStep, Script, StepBase


def required_roles(script: Script) -> tuple[str, ...]:
    """Every role that performs or witnesses some step, in first-use order."""
    roles: list[str] = []
    for step in script.steps:
        for role in (step.performer, *step.witnesses):
            if role not in roles:
                roles.append(role)
    return tuple(roles)


def attendance_problem(script: Script, attendance: Attendance) -> str | None:
    """Why this attendance cannot open the ceremony, or None if it can."""
    known = {p.id for p in script.participants}
    for pid in attendance.present:
        if pid not in known:
            return f"{pid!r} is not a participant in this script"
    if len(set(attendance.present)) != len(attendance.present):
        return "a participant is listed as present twice"
    present = set(attendance.present)
    for role in required_roles(script):
        if not any(p.id in present for p in script.holders_of(role)):
            name = script.role(role).name
            return f"nobody present holds the role {name!r}; the ceremony cannot proceed without it"
    for number, step, needed in named_custodians(script):
        absent = [script.participant(pid).name for pid in needed if pid not in present]
        if absent:
            return (
                f"step {number} ({step.title}) needs {', '.join(absent)} in person, who "
                f"{'is' if len(absent) == 1 else 'are'} not recorded present; the ceremony "
                "cannot reach its end without them"
            )
    return None


def named_custodians(script: Script) -> list[tuple[int, ActionStep, tuple[str, ...]]]:
    """Steps that need named custodians in person: (step number, step, participant ids).

    A backup hands a sheet to each of its holders; a restore test takes the shares of the
    custodians the script names; a re-split takes the named old holders' shares and hands new
    sheets to every new holder. (A PIN activation needs any k of n, so it names nobody.)
    """
    named: list[tuple[int, ActionStep, tuple[str, ...]]] = []
    backups = {backup.id: backup for backup in script.backups}
    for number, step in enumerate(script.steps, start=1):
        if not isinstance(step, ActionStep) or step.action not in _CUSTODIAN_ACTIONS:
            continue
        backup = backups.get(step.params.get("backup", ""))
        if backup is None:
            continue
        holders = tuple(h.custodian for h in backup.shares)
        if step.action == "backup-key":
            needed = holders
        elif step.action == "restore-test":
            needed = tuple(backup.restore_test_custodians)
        else:  # resplit-backup
            combine = tuple(backup.resplit.combine) if backup.resplit is not None else ()
            needed = tuple(dict.fromkeys((*combine, *holders)))
        named.append((number, step, needed))
    return named


_CUSTODIAN_ACTIONS = frozenset({"backup-key", "restore-test", "resplit-backup"})


def candidates(script: Script, present: Sequence[str], role: str) -> tuple[str, ...]:
    """Participants present who hold ``role``, in script order."""
    return tuple(p.id for p in script.holders_of(role) if p.id in present)


def acknowledgement_problem(
    script: Script, step: StepBase, present: Sequence[str], ack: Acknowledgement
) -> str | None:
    """Why this acknowledgement is not acceptable for ``step``, or None if it is.

    The performer must be present and hold the performer role; every witness role needs one
    present holder of it; nobody may witness their own act or fill two places (multi-person
    control, EV-TRUSTED).
    """
    return _actors_problem(script, step, present, ack.performer, ack.witnesses)


def _actors_problem(
    script: Script,
    step: StepBase,
    present: Sequence[str],
    performer: str,
    witnesses: Mapping[str, str],
) -> str | None:
    if performer not in candidates(script, present, step.performer):
        role = script.role(step.performer).name
        return f"{performer!r} is not present in the role {role!r} and cannot perform this step"
    for role in witnesses:
        if role not in step.witnesses:
            return f"this step is not witnessed by the role {role!r}"
    people = [performer]
    for role in step.witnesses:
        if role not in witnesses:
            return f"a {script.role(role).name} must witness this step"
        witness = witnesses[role]
        if witness not in candidates(script, present, role):
            return f"{witness!r} is not present in the role {script.role(role).name!r}"
        if witness in people:
            name = script.participant(witness).name
            return f"{name} cannot both perform and witness, or witness twice, in one step"
        people.append(witness)
    return None


def skip_allowed(step: StepBase) -> bool:
    """Only manual steps may be skipped after a deviation; an action or the attendance may not."""
    return not isinstance(step, ActionStep | AttendanceStep)


def deciding_roles(script: Script) -> str:
    """The roles that may decide a deviation, in words ("anyone present" without a policy)."""
    policy = script.deviations
    if policy is None:
        return "anyone present"
    return " or ".join(script.role(r).name for r in policy.decided_by)


def deciding_role(script: Script, decider: str) -> str | None:
    """The first role of ``decider`` that the script's deviation policy lets decide, or None."""
    policy = script.deviations
    roles = script.participant(decider).roles
    return next((r for r in roles if policy is None or r in policy.decided_by), None)


def decider_problem(script: Script, present: Sequence[str], decider: str) -> str | None:
    """Why ``decider`` may not decide a deviation, or None if they may (WebTrust 4.1.5(h))."""
    name = script.participant(decider).name
    if decider not in present:
        return f"{name} is not present and cannot decide a deviation"
    if deciding_role(script, decider) is None:
        return (
            f"{name} cannot decide a deviation: the script's 'deviations' section lets only a "
            f"{deciding_roles(script)} decide"
        )
    return None
