"""QR imports and exports in the engine: live progress, a stop, the witnesses, the journal head."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace

import pytest

from sealroom.ceremony.actions import JOURNAL_HEAD_FORMAT
from sealroom.ceremony.ports import Deviation, QrProgress, StepView
from sealroom.ceremony.script import JOURNAL_HEAD
from sealroom.errors import CeremonyError, TransferError
from tests.fakes import FakeWorld, ScriptedOperator, fake_world
from tests.unit.test_actions import world_for

CSR = "issuing-ca-csr"


def _updates(source: str, payload: bytes, total: int = 4) -> list[QrProgress]:
    """A reception of ``total`` frames: a frame of another message, then one frame at a time."""
    digest = hashlib.sha256(payload).hexdigest()
    first = QrProgress(source, None, None, None, (), (), None, 1, 0)
    other = replace(
        first,
        images=2,
        codes=1,
        notice=f"{source} image 2: frame 1/2 of another message (9F3A…); ignored.",
    )
    steps = [first, other]
    for count in range(1, total + 1):
        steps.append(
            QrProgress(
                source,
                "CSR",
                digest,
                total,
                tuple(range(1, count + 1)),
                (total,) if count == total else (),
                None,
                2 + count,
                1 + count,
            )
        )
    return steps


def _data(world: FakeWorld, event: str) -> list[dict[str, object]]:
    return [e["data"] for e in world.journal.entries if e["event"] == event]  # type: ignore[misc]


def test_the_import_passes_every_update_on_and_shows_the_object_to_the_witnesses_first() -> None:
    world, operator = world_for("subordinate-ca-signing")
    payload = world.receiver.payloads[CSR]
    world.receiver.updates[CSR] = _updates(CSR, payload)
    assert world.runner.run(operator).completed
    updates = [p for p in operator.progress if p.source == CSR]
    assert updates == _updates(CSR, payload)
    assert any(p.notice and "another message" in p.notice for p in updates)
    # What the witnesses saw: the SHA-256 of what arrived (hex and PGP words), then the check.
    title, facts = next(w for w in operator.witnessed if w[0].startswith("CSR received"))
    assert "CN=Request issuing-ca-csr" in title and "rehearsal stand-in" in title
    received = facts[0]
    assert received.label == "SHA-256 of what was received"
    assert received.value.replace(" ", "").lower() == hashlib.sha256(payload).hexdigest()
    assert received.words and len(received.words.split()) == 32
    assert facts[1].label == "SHA-256 the script lists"
    journaled = next(r for r in _data(world, "input.received") if r["input_id"] == CSR)
    assert journaled["witnessed"] is True
    assert journaled["sha256"] == hashlib.sha256(payload).hexdigest()


class StopThenRetry(ScriptedOperator):
    """Stops the first reception of the request half-way, then retries and lets it finish."""

    def __init__(self, script: object) -> None:
        super().__init__(script)  # type: ignore[arg-type]
        self.stopped = 0
        self.stop_reception = self._stop_once

    def _stop_once(self, progress: QrProgress) -> bool:
        if progress.source == CSR and len(progress.received) == 2 and not self.stopped:
            self.stopped += 1
            return True
        return False

    def action_failed(self, view: StepView, problem: str) -> Deviation:
        self.problems.append(problem)
        return Deviation("", problem, "retry", view.performer_candidates[0])


def test_a_stopped_reception_is_a_deviation_and_nothing_of_it_is_used() -> None:
    world, _ = world_for("subordinate-ca-signing")
    operator = StopThenRetry(world.runner.script)
    payload = world.receiver.payloads[CSR]
    world.receiver.updates[CSR] = _updates(CSR, payload)
    assert world.runner.run(operator).completed
    assert world.receiver.stopped_at is not None and world.receiver.stopped_at.received == (1, 2)
    assert len(operator.problems) == 1 and "stopped by the operator" in operator.problems[0]
    deviation = next(
        d for d in _data(world, "deviation.recorded") if "stopped" in str(d.get("observed"))
    )
    assert deviation["decision"] == "retry"
    # Read twice, received (journaled) once: the second, complete reception.
    assert [c[0] for c in world.receiver.calls].count((CSR,)) == 2
    assert [r["input_id"] for r in _data(world, "input.received")].count(CSR) == 1


def test_a_stop_is_refused_even_if_the_receiver_hands_over_the_payload() -> None:
    """Fail closed: a receiver that ignores the operator's stop still gets nothing used."""
    world, operator = world_for("subordinate-ca-signing")
    payload = world.receiver.payloads[CSR]
    progress_seen: list[bool] = []

    class Deaf:
        def receive(
            self, sources: Sequence[str], payload_type: str, progress: object = None
        ) -> bytes:
            for update in _updates(sources[0], payload):
                progress_seen.append(progress(update))  # type: ignore[operator]
            return world.receiver.payloads[sources[0]]

    object.__setattr__(world.runner.ports, "receiver", Deaf())
    operator.stop_reception = lambda p: p.source == CSR and p.total is not None
    with pytest.raises(TransferError, match="stopped by the operator after 1 of 4 frames"):
        world.runner.run(operator)
    assert False in progress_seen
    assert (
        operator.problems
        and "stopped by the operator after 1 of 4 frames" in (operator.problems[-1])
    )
    assert CSR not in [r["input_id"] for r in _data(world, "input.received")]
    assert "certificate.issued" not in world.journal.events()


def test_the_witnesses_refusing_what_was_received_keeps_it_out_and_journals_why() -> None:
    world, operator = world_for("subordinate-ca-signing")
    operator.refuse_input = "the SHA-256 ends 77C1 on the request form"
    with pytest.raises(CeremonyError, match="the witnesses did not accept"):
        world.runner.run(operator)
    assert operator.problems and "the witnesses did not accept" in operator.problems[0]
    assert "77C1" in operator.problems[0]
    assert "input.received" not in world.journal.events()
    aborted = _data(world, "deviation.recorded")[-1]
    assert "77C1" in str(aborted["observed"])


def test_the_journal_head_is_exported_as_canonical_json_and_journaled() -> None:
    world = fake_world()
    operator = ScriptedOperator(world.runner.script)
    assert world.runner.run(operator).completed
    entries = world.journal.entries
    index, shown = next(
        (i, e)
        for i, e in enumerate(entries)
        if e["event"] == "qr.shown" and e["data"].get("artifact") == JOURNAL_HEAD  # type: ignore[union-attr]
    )
    data: dict[str, object] = shown["data"]  # type: ignore[assignment]
    text = str(data["journal_head"])
    head = json.loads(text)
    assert text == json.dumps(head, sort_keys=True, separators=(",", ":"))
    assert data["payload_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    previous = entries[index - 1]
    assert head == {
        "ceremony_id": world.runner.script.ceremony.id,
        "entry_sha256": shown["prev"],
        "format": JOURNAL_HEAD_FORMAT,
        "rehearsal": True,
        "script_sha256": world.runner.loaded.sha256,
        "seq": previous["seq"],
    }
    assert shown["step"] == "export-journal-head"
    assert [a["participant"] for a in shown["actors"]]  # type: ignore[union-attr]
    # The report is printed after the export, so it ends with the exported entry and more.
    events = world.journal.events()
    assert events.index("report.printed") > index
    assert "qr:1" in operator.shown
