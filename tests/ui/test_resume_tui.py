"""A ceremony interrupted and continued from its journal, in the full-screen UI."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from sealroom.ceremony.runner import Runner
from sealroom.ui.app import SealroomApp
from sealroom.ui.screens import StartScreen
from tests.fakes import fake_world
from tests.ui.helpers import drive, next_screen, screen_text
from tests.unit.test_resume import Killed, KillingOperator

SIZE = (80, 24)


async def test_a_resumed_ceremony_says_so_and_continues_with_who_is_present() -> None:
    world = fake_world()
    with pytest.raises(Killed):
        world.runner.run(KillingOperator(world.runner.script, "sign-root-certificate"))
    world.hsm.logged_in = False  # the HSM session died with the process
    runner = Runner(world.runner.loaded, replace(world.runner.ports), rehearsal=True)
    runner.resume([SimpleNamespace(**entry) for entry in world.journal.entries])
    app = SealroomApp(runner, rehearsal_pin="4711-2027", unsafe_no_arming_delay=True)
    log: list[tuple[str, str | None]] = []
    async with app.run_test(size=SIZE) as pilot:
        start = await next_screen(pilot, app, StartScreen)
        text = screen_text(start)
        assert "RESUMED" in text and "continues at step 12: Activate the HSM" in text
        assert "the login is performed again" in text
        assert "Continue the ceremony" in text
        assert app.operator.present == runner.present
        await drive(pilot, app, log=log)
    assert app.result is not None and app.result.completed
    asked = [step for kind, step in log if kind in {"AttendanceScreen", "StepScreen"}]
    steps = [s.id for s in runner.script.steps]
    # The login again, then the steps after the interruption: nothing done is asked again.
    assert asked == ["hsm-login", *steps[steps.index("sign-root-certificate") :]]
    assert world.hsm.calls.count("generate:root-key") == 1
