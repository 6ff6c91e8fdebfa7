"""The script catalogue: every script lints clean, is answered, and rehearses end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from sealroom.ceremony.answers import StepAnswer, default_answers_path, load_answers
from sealroom.ceremony.loader import lint_findings
from sealroom.ceremony.ports import Acknowledgement
from sealroom.ceremony.quorum import acknowledgement_problem
from sealroom.ceremony.runner import entry_problem
from sealroom.ceremony.script import (
    AVAILABLE_ACTIONS,
    ActionStep,
    AttendanceStep,
    BreakStep,
    CeremonyType,
    ConfirmStep,
    EntryStep,
    Script,
    StepBase,
)
from sealroom.ceremony.source import read_source

CATALOGUE = Path(__file__).resolve().parents[2] / "ceremony_scripts"
SCRIPTS = sorted(p for p in CATALOGUE.glob("*.yaml") if not p.name.endswith(".answers.yaml"))
SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SHEET_ACTIONS = frozenset({"initialise-token", "backup-key", "resplit-backup"})
"""Actions that print share sheets and ask, after any typed confirmation, for each sheet's bag."""


def _model(path: Path) -> Script:
    """The script's model, validated by schema only (lint findings are test (a)'s business)."""
    return Script.model_validate(read_source(path).data)


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _missing_actions(script: Script) -> list[str]:
    """Actions the script uses that this version of Sealroom cannot perform yet, in step order."""
    missing: list[str] = []
    for step in script.steps:
        if (
            isinstance(step, ActionStep)
            and step.action not in AVAILABLE_ACTIONS
            and step.action not in missing
        ):
            missing.append(step.action)
    return missing


def _rehearsal_params() -> list[object]:
    params: list[object] = []
    for path in SCRIPTS:
        script = _model(path)
        marks = [pytest.mark.softhsm] if script.hsm is not None else []
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


def sealroom(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


# ------------------------------------------------------------------------------- (a) lint clean


@pytest.mark.parametrize("path", SCRIPTS, ids=_ids(SCRIPTS))
def test_script_lints_clean(path: Path) -> None:
    _doc, script, findings = lint_findings(path)
    assert script is not None
    assert [str(f) for f in findings] == []


def test_sealroom_lint_accepts_the_whole_catalogue() -> None:
    result = sealroom("lint", *(str(p) for p in SCRIPTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{p}: ok" for p in SCRIPTS]


# ---------------------------------------------------------------------------- (b) answers files


def _typed_wanted(script: Script, step: StepBase) -> list[str] | None:
    """The values the engine asks for at ``step``, in order; None where any valid value will do."""
    if isinstance(step, EntryStep):
        if step.entry.expect is None:
            return None
        value = getattr(script.material(step.entry.expect.material), step.entry.expect.field)
        return [value, value] if step.entry.twice else [value]
    if isinstance(step, ConfirmStep):
        return [step.words]
    if isinstance(step, ActionStep) and step.action in SHEET_ACTIONS:
        return None  # the words, then each share sheet's bag serial twice (see _check_typed)
    if isinstance(step, ActionStep) and step.confirm is not None:
        return [step.confirm]
    if isinstance(step, BreakStep):
        return None  # the bag serials sealed for the break, then the same again on return
    return []


def _sheets_printed(script: Script, step: ActionStep) -> int:
    """How many share sheets ``step`` prints, each sealed in a bag whose serial is typed twice."""
    if step.action == "initialise-token":
        activation = script.hsm_required().activation
        splits = [] if activation is None else [activation.user_pin, activation.so_pin]
        return sum(len(split.shares) for split in splits if split is not None)
    # backup-key splits a new KEK to the backup's holders; resplit-backup to its new holders.
    backup = next(b for b in script.backups if b.id == step.params["backup"])
    return len(backup.shares)


def _check_typed(script: Script, step: StepBase, answer: StepAnswer) -> None:
    wanted = _typed_wanted(script, step)
    typed = list(answer.typed)
    if wanted is not None:
        assert typed == wanted, f"{step.id}: typed {typed}, the engine asks for {wanted}"
        return
    if isinstance(step, ActionStep) and step.action in SHEET_ACTIONS:
        sheets = _sheets_printed(script, step)
        confirm = [] if step.confirm is None else [step.confirm]
        assert typed[: len(confirm)] == confirm, step.id
        bags = typed[len(confirm) :]
        assert len(bags) == 2 * sheets, f"{step.id}: one bag serial, typed twice, per sheet"
        assert bags[0::2] == bags[1::2], f"{step.id}: each bag serial is typed the same twice"
        assert len(set(bags[0::2])) == sheets, f"{step.id}: one bag per sheet"
        for value in bags:
            assert entry_problem("bag-serial", value) is None, (step.id, value)
        return
    if isinstance(step, BreakStep):
        count = len(step.recheck_bags)
        assert len(typed) == 2 * count, step.id
        assert typed[:count] == typed[count:], f"{step.id}: the re-check must match the seal"
        for value in typed:
            assert entry_problem("bag-serial", value) is None, (step.id, value)
        return
    assert isinstance(step, EntryStep)
    assert len(typed) == (2 if step.entry.twice else 1), step.id
    for value in typed:
        assert entry_problem(step.entry.format, value) is None, (step.id, value)


@pytest.mark.parametrize("path", SCRIPTS, ids=_ids(SCRIPTS))
def test_answers_file_answers_every_step(path: Path) -> None:
    script = _model(path)
    answers = load_answers(default_answers_path(path), script)
    steps = answers.model.steps
    assert list(steps) == [s.id for s in script.steps], "one answer per step, in script order"
    attendance = steps[script.steps[0].id]
    assert isinstance(script.steps[0], AttendanceStep)
    assert attendance.present is not None
    present = attendance.present
    for step in script.steps:
        answer = steps[step.id]
        ack = Acknowledgement(answer.performer, answer.witnesses)
        assert acknowledgement_problem(script, step, present, ack) is None, step.id
        _check_typed(script, step, answer)
        if isinstance(step, BreakStep):
            assert set(answer.left) <= set(present), step.id
        else:
            assert not answer.left, step.id
        assert answer.deviation is None and answer.on_failure is None, step.id
        assert answer.matches, step.id
        for pid in answer.signoffs:
            assert pid in present, (step.id, pid)


# -------------------------------------------------------------------------------- (c) rehearsal


def test_every_catalogue_script_uses_only_actions_this_version_performs() -> None:
    missing = {p.stem: _missing_actions(_model(p)) for p in SCRIPTS}
    assert len(SCRIPTS) == 18
    assert {stem: actions for stem, actions in missing.items() if actions} == {}
    # The backup, recovery and migration actions (issue 6) are performed, so the ceremonies that
    # use them are among those that rehearse.
    used = {
        p.stem: {s.action for s in _model(p).steps if isinstance(s, ActionStep)} for p in SCRIPTS
    }
    assert {"backup-key", "restore-test", "recover-key"} <= AVAILABLE_ACTIONS
    assert {"backup-key", "restore-test"} <= used["key-backup"]
    assert {"backup-key", "restore-test"} <= used["parked-key-generation"]
    assert {"backup-key", "restore-test"} <= used["root-key-generation"]
    assert "recover-key" in used["key-recovery"]
    assert "recover-key" in used["key-migration"]
    assert "resplit-backup" in AVAILABLE_ACTIONS
    assert "resplit-backup" in used["custodian-change"]


@pytest.mark.parametrize("path", _rehearsal_params())
def test_rehearsal_completes_end_to_end(path: Path, tmp_path: Path) -> None:
    script = _model(path)
    assert _missing_actions(script) == [], "every catalogue script rehearses"
    out = tmp_path / "out"
    result = sealroom("rehearse", str(path), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rehearsal complete: {len(script.steps)} steps" in result.stdout
    journal = sealroom("verify-journal", str(out / "journal.jsonl"))
    assert journal.returncode == 0, journal.stdout
    assert "chain intact, ended by ceremony.closed" in journal.stdout
    assert (out / "report.pdf").is_file()
    _assert_no_secret(path, out, result.stdout + result.stderr)


def _assert_no_secret(path: Path, out: Path, log: str) -> None:
    """No PIN of the rehearsal token in the journal, the report or what the rehearsal printed."""
    answers = load_answers(default_answers_path(path), _model(path)).model.token
    if answers is None:
        return
    report = subprocess.run(
        ["pdftotext", "-layout", str(out / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    journal = (out / "journal.jsonl").read_text()
    for pin in (answers.user_pin, answers.so_pin):
        for where, text in (("journal", journal), ("report", report), ("log", log)):
            assert pin not in text, f"{path.name}: a PIN is in the {where}"


# --------------------------------------------------------------------------------- (d) coverage


def test_catalogue_covers_every_ceremony_type() -> None:
    types = [_model(p).ceremony.type for p in SCRIPTS]
    assert sorted(types) == sorted(get_args(CeremonyType))
    for path, ceremony_type in zip(SCRIPTS, types, strict=True):
        assert path.name == f"{ceremony_type}.yaml"
        assert default_answers_path(path).is_file(), path.name


def test_every_ceremony_has_its_own_id_and_is_in_the_readme() -> None:
    ids = [_model(p).ceremony.id for p in SCRIPTS]
    assert len(set(ids)) == len(ids)
    readme = (CATALOGUE / "README.md").read_text(encoding="utf-8")
    for path in SCRIPTS:
        assert f"`{path.name}`" in readme, path.name
