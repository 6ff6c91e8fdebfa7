"""Rehearsal answers files: strict, located errors; they drive the runner like people would."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealroom.ceremony.answers import AnswersOperator, default_answers_path, load_answers
from sealroom.ceremony.loader import load_script
from sealroom.errors import AnswersError
from tests.fakes import ROOT_SCRIPT, FakeHsm, fake_world

ANSWERS = default_answers_path(ROOT_SCRIPT)


def test_default_answers_path_is_next_to_the_script() -> None:
    assert ANSWERS.name == "root-key-generation.answers.yaml"
    assert ANSWERS.is_file()


def test_shipped_answers_drive_a_whole_ceremony() -> None:
    world = fake_world()
    answers = load_answers(ANSWERS, world.runner.script)
    lines: list[str] = []
    # the restore-test token is initialised with the answers' PINs, as `sealroom rehearse` does
    restore = world.runner.ports.restore_hsm
    assert isinstance(restore, FakeHsm)
    restore.initialise("restore-test", answers.token.so_pin, answers.token.user_pin)
    # the root key is backed up 3 of 5: custodians type the words off the sheets the world printed
    result = world.runner.run(
        AnswersOperator(answers, lines.append, sheet_words=world.sheets.words)
    )
    assert result.completed
    assert any("Key pair exr-root-r1-2026 generated" in line for line in lines)
    assert any("restore-test" in line for line in lines)
    assert world.journal.events().count("restore.tested") == 1
    assert not any(answers.token.user_pin in line for line in lines)
    assert not any(answers.token.so_pin in line for line in lines)


def test_unknown_step_in_answers_is_located(tmp_path: Path) -> None:
    text = ANSWERS.read_text().replace("  room-check:", "  room-chek:")
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(AnswersError) as info:
        load_answers(path, load_script(ROOT_SCRIPT).script)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "room-chek" in s)
    assert f"{path}:{line}:" in str(info.value)
    assert "room-chek" in str(info.value)


def test_unknown_field_in_answers_is_located(tmp_path: Path) -> None:
    text = ANSWERS.read_text().replace('    typed: ["+2"]', '    typd: ["+2"]', 1)
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(AnswersError, match=r"typd: unknown field"):
        load_answers(path, load_script(ROOT_SCRIPT).script)


def test_missing_answer_names_the_step_before_anything_runs(tmp_path: Path) -> None:
    text = ANSWERS.read_text()
    start = text.index("  hsm-logout:")
    end = text.index("  hsm-reseal:")
    path = tmp_path / "a.yaml"
    path.write_text(text[:start] + text[end:])
    world = fake_world()
    with pytest.raises(
        AnswersError, match=r"a\.yaml:\d+:1: SR-ANSWERS steps: no answer for step 'hsm-logout'"
    ):
        load_answers(path, world.runner.script)
    assert world.journal.events() == []


def test_token_pins_are_required_only_when_the_script_uses_an_hsm(tmp_path: Path) -> None:
    text = ANSWERS.read_text()
    start = text.index("token:")
    end = text.index("steps:")
    path = tmp_path / "a.yaml"
    path.write_text(text[:start] + text[end:])
    script = load_script(ROOT_SCRIPT).script
    with pytest.raises(AnswersError, match="the script uses an HSM"):
        load_answers(path, script)
    answers = load_answers(path, script.model_copy(update={"hsm": None}))
    assert answers.model.token is None
