"""The report reads what the engine really journals: a whole ceremony run by the Runner on fakes."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_report_sample import sample_script

from sealroom.backup.sharing import Slip39Sharing
from sealroom.ceremony.ports import Acknowledgement, Deviation, SignOff, StepView
from sealroom.ceremony.runner import Adapters, Runner
from sealroom.journal.reader import read_entries
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import verify_journal
from sealroom.report.ceremony_report import JournalReportRenderer, render_ceremony_report
from sealroom.report.record import ceremony_record
from tests.fakes import (
    FakeHsm,
    FakeIssuer,
    FakeKeyBackup,
    FakePrinter,
    FakeQr,
    FakeSheetPrinter,
    FixedClock,
    MemoryStore,
    ScriptedOperator,
    fake_restore_token,
)

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


class RoomOperator(ScriptedOperator):
    """The room of the sample journal: a CCTV deviation, skipped photographs, typing slips."""

    def acknowledge(self, view: StepView) -> Acknowledgement:
        ack = super().acknowledge(view)
        if view.step.id == "room-check":
            deviation = Deviation(
                "CCTV recording throughout", "Camera 2 was not recording", "proceed", "alice"
            )
        elif view.step.id == "photograph-bags":
            deviation = Deviation(
                "photographs of the sealed bags", "the camera battery is flat", "skip", "alice"
            )
        else:
            return ack
        return Acknowledgement(ack.performer, ack.witnesses, deviation=deviation)

    def break_started(self, view: StepView) -> Sequence[str]:
        return ("bob", "dan")

    def sign_off(self, view: StepView, participants: Sequence[str]) -> Sequence[SignOff]:
        return [
            SignOff(p, True, "Deviations at steps 3 and 5 recorded." if p == "erin" else None)
            for p in participants
        ]


BREAK_BAGS = ("TEB-110001", "TEB-110002", "TEB-110003", "TEB-110004", "TEB-110005")
"""The bags the materials sealed in the closing are put in for the break, in the script's order."""


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakePrinter]:
    directory = tmp_path_factory.mktemp("engine")
    loaded = sample_script(directory)
    path = directory / "journal.jsonl"
    clock = FixedClock()
    printer = FakePrinter()
    operator = RoomOperator(
        loaded.script,
        typed={
            "clock": ["-3"],
            "hsm-bag": ["TEB-100201", "TEB-100210", "TEB-100201", "TEB-100201"],
            "generate-root-key": ["GENERATE exr-root-r1", "GENERATE exr-root-r1-2026"],
            # sealed for the break: hsm, backup-hsm, media-a, media-b, workstation; then
            # re-checked in that order, the HSM's bag misread once
            "break-before-hand-over": [
                *BREAK_BAGS,
                "TEB-110010",
                *BREAK_BAGS,
            ],
        },
    )
    # the custodians read their words off the sheets this room printed (the backup's shares)
    sheets = FakeSheetPrinter()
    operator.sheets = sheets
    with JournalWriter.create(path, clock) as journal:
        adapters = Adapters(
            hsm=FakeHsm(),
            issuer=FakeIssuer(),
            journal=journal,
            store=MemoryStore(),  # type: ignore[arg-type]
            report=JournalReportRenderer(path),
            printer=printer,
            qr=FakeQr(),
            clock=clock,
            sharing=Slip39Sharing(),
            sheets=sheets,
            backup=FakeKeyBackup(),
            restore_hsm=fake_restore_token("4711-2027"),
        )
        result = Runner(loaded, adapters, rehearsal=True).run(operator)
    assert result.completed, operator.failed
    return path, printer


def test_the_printed_report_is_the_journal_rendered_again(
    ceremony: tuple[Path, FakePrinter],
) -> None:
    path, printer = ceremony
    assert verify_journal(path).ok
    entries = read_entries(path)
    printed = next(e for e in entries if e.event == "report.printed")
    covers = printed.data["covers_through"]
    assert isinstance(covers, int)
    (_, pdf), *_ = printer.jobs
    assert hashlib.sha256(pdf).hexdigest() == printed.data["sha256"]
    assert render_ceremony_report(entries[:covers]) == pdf


def test_the_record_holds_what_the_engine_journaled(ceremony: tuple[Path, FakePrinter]) -> None:
    path, _ = ceremony
    record = ceremony_record(read_entries(path))
    steps = {s.step.id: s for s in record.steps}
    assert record.clock is not None and record.clock.offset_seconds == -3
    assert record.clock.sentence().startswith("workstation clock was 3 s ahead of the reference")
    assert steps["hsm-bag"].details[0] == "Attempt 1 refused: the two entries differ"
    assert steps["hsm-bag"].result == "Typed: TEB-100201, as scripted"
    assert steps["generate-root-key"].details[:2] == (
        "Confirmation words typed wrongly at attempt 1 (what was typed is not kept)",
        'Typed the words "GENERATE exr-root-r1-2026" (attempt 2)',
    )
    assert steps["photograph-bags"].result == "Not performed: skipped after deviation"
    assert steps["room-check"].result.endswith(", after a deviation")
    assert [d.decided_by for d in record.deviations] == [
        "Alice Martin (Ceremony administrator)",
        "Alice Martin (Ceremony administrator)",
    ]
    (taken,) = record.breaks
    assert taken.left == taken.returned == ("bob", "dan")
    assert [(c.material, c.typed, c.matches) for c in taken.rechecks] == [
        ("hsm", "TEB-110010", False),
        ("hsm", "TEB-110001", True),
        ("backup-hsm", "TEB-110002", True),
        ("media-a", "TEB-110003", True),
        ("media-b", "TEB-110004", True),
        ("workstation", "TEB-110005", True),
    ]
    # everyone signs: the five custodians of the backup too (nobody left at the break)
    assert record.statements is not None
    assert [s.participant for s in record.statements] == [p.id for p in record.script.participants]
    assert len(record.statements) == 10
    assert all(s.ok for s in record.steps if s.step.id not in {"room-check", "photograph-bags"})


@needs_poppler
def test_the_engine_journal_renders_every_item(
    ceremony: tuple[Path, FakePrinter], tmp_path: Path
) -> None:
    path, _ = ceremony
    out = tmp_path / "report.pdf"
    out.write_bytes(render_ceremony_report(read_entries(path)))
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = re.sub(r"\s+", " ", text)
    for item in (
        "Workstation clock was 3 s ahead of the reference clock read by Erin Schmidt",
        "Not performed: skipped after deviation",
        "Camera 2 was not recording",
        "The script was followed: YES",
        "Comment: Deviations at steps 3 and 5 recorded.",
        "left: Bob Okafor, Dan Ivanov",
        "Act: Closing",
        # the root key's backup and its restore test, as the engine journaled them
        "Key backup [EV-BACKUP, EV-QUORUM, EV-RESTORE]",
        "(Prove the backup restores on the backup HSM): PASSED",
    ):
        assert item in flat, item
