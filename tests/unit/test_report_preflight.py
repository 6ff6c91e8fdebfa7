"""Preflight in the report: every check's verdict, the waived failure in red, the facts it read."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from test_report_sample import (
    IMAGE_COMMIT,
    IMAGE_ROOT_HASH,
    KEYBOARD,
    PACKAGES_LOCK,
    PREFLIGHT_PROCEED_NOTE,
    SOFTWARE_SHA256,
    STRAY_STICK,
    SampleClock,
    build_sample_journal,
)

from sealroom.ceremony.fingerprint import fingerprint_from_hex
from sealroom.ceremony.ports import Actor
from sealroom.journal.entry import JournalEntry
from sealroom.journal.reader import read_entries
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import read_verified_entries
from sealroom.report.ceremony_report import render_ceremony_report
from sealroom.report.matrix import evidence_matrix
from sealroom.report.record import CeremonyRecord, ceremony_record

ROOT = Path(__file__).resolve().parents[2]
EVERY_EVENT = ROOT / "tests" / "data" / "sample-journal-every-event.jsonl"
"""A journal written before preflight existed: its report must not grow a preflight part."""
RED = (0xB0, 0x00, 0x20)
"""The report's alert colour (paper_style.ALERT)."""

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is not installed",
)

Rewrite = tuple[str, dict[str, Any], str | None, list[Actor]]


@functools.cache
def sample(kind: str, directory: Path) -> Path:
    """A sample journal: production (the devices check waived), rehearsal, or interrupted."""
    path = directory / f"{kind}.jsonl"
    if kind == "production":
        return build_sample_journal(path, rehearsal=False, absent=())
    if kind == "rehearsal":
        return build_sample_journal(path)
    if kind == "interrupted":
        return build_sample_journal(path, interrupt_backup=True)
    raise AssertionError(kind)


@functools.cache
def report(journal: Path) -> Path:
    pdf = journal.with_suffix(".pdf")
    pdf.write_bytes(render_ceremony_report(read_entries(journal)))
    return pdf


def record_of(journal: Path) -> CeremonyRecord:
    return ceremony_record(read_entries(journal))


def pdf_text(pdf: Path) -> str:
    """The PDF's text in drawing order, so a table cell's lines stay together."""
    return subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def word_colour(pdf: Path, word: str, workdir: Path, *, nth: int = 0) -> tuple[int, int, int]:
    """The mean colour of the inked pixels of the ``nth`` occurrence of ``word`` on the page.

    pdftotext -bbox gives the word's box in points; pdftoppm rasterises that page at 100 dpi.
    """
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    found = []
    for number, page in enumerate(boxes.split("<page ")[1:], start=1):
        for match in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            page,
        ):
            if match.group(5) == word:
                box = tuple(float(match.group(i)) for i in range(1, 5))
                found.append((number, box))
    page_number, (x0, y0, x1, y1) = found[nth]
    prefix = workdir / f"page-{page_number}"
    subprocess.run(
        [
            *("pdftoppm", "-r", "100", "-png"),
            *("-f", str(page_number), "-l", str(page_number)),
            *(str(pdf), str(prefix)),
        ],
        check=True,
    )
    (png,) = workdir.glob(f"page-{page_number}*.png")
    scale = 100 / 72
    with Image.open(png) as image:
        crop = image.convert("RGB").crop(
            (int(x0 * scale), int(y0 * scale), int(x1 * scale) + 1, int(y1 * scale) + 1)
        )
        raw = crop.tobytes()
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    inked = [p for p in pixels if sum(p) < 600]
    png.unlink()
    assert inked, f"no ink under {word!r}"
    return (
        sum(p[0] for p in inked) // len(inked),
        sum(p[1] for p in inked) // len(inked),
        sum(p[2] for p in inked) // len(inked),
    )


def is_red(colour: tuple[int, int, int]) -> bool:
    red, green, blue = colour
    return red > 120 and green < 90 and blue < 110 and red > 2 * green


def rewritten(
    entries: Sequence[JournalEntry],
    path: Path,
    edit: Callable[[Rewrite], list[Rewrite]],
    tail: Sequence[Rewrite] = (),
) -> list[JournalEntry]:
    """The journal written again by the real writer: each entry through ``edit``, then ``tail``.

    The writer adds its own log key and final checkpoint.
    """
    with JournalWriter.create(path, SampleClock()) as journal:
        for entry in entries:
            if entry.event.startswith("journal."):
                continue
            original: Rewrite = (entry.event, _thaw(entry.data), entry.step, list(entry.actors))
            for event, data, step, actors in [*edit(original)]:
                journal.append(event, data, step=step, actors=actors)
        for event, data, step, actors in tail:
            journal.append(event, data, step=step, actors=actors)
    return read_verified_entries(path)[1]


def _thaw(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "items"):
        return {k: _thaw(v) for k, v in value.items()}
    return [_thaw(v) for v in value]


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preflight")


# ------------------------------------------------------------------------------------ record


def test_each_failed_check_is_tied_to_the_deviation_that_decided_it(journals: Path) -> None:
    record = record_of(sample("production", journals))
    checks = [(v.check, v.verdict, v.at) for v in record.preflight]
    assert checks == [
        ("network", "PASS", "opening"),
        ("image", "PASS", "opening"),
        ("software", "PASS", "opening"),
        ("devices", "FAIL", "opening"),
        ("clock", "PASS", "opening"),
        ("evidence", "PASS", "opening"),
        ("devices", "FAIL", "retry"),
    ]
    opening, retry = [v for v in record.preflight if v.check == "devices"]
    decided = [d for d in record.deviations if d.expected == "preflight check devices passes"]
    assert [d.seq for d in decided] == [opening.decision.seq, retry.decision.seq]  # type: ignore[union-attr]
    assert opening.decision is not None and opening.decision.decision == "retry"
    assert not opening.waived
    assert retry.decision is not None and retry.decision.decision == "proceed"
    assert retry.waived and retry.step_id == "attendance"
    assert retry.decision.decided_by == "Alice Martin (Ceremony administrator)"
    assert retry.decision.note == PREFLIGHT_PROCEED_NOTE
    assert STRAY_STICK in opening.fact_list("unexpected")
    assert retry.fact_list("unexpected") == (KEYBOARD,)
    assert all(v.decision is None for v in record.preflight if v.passed)
    assert all(v.blocking and not v.rehearsal for v in record.preflight)


def test_a_rehearsal_s_checks_are_informational_and_decide_nothing(journals: Path) -> None:
    record = record_of(sample("rehearsal", journals))
    assert [(v.check, v.verdict) for v in record.preflight] == [
        ("network", "PASS"),
        ("image", "FAIL"),
        ("clock", "PASS"),
    ]
    assert all(not v.blocking and v.rehearsal and v.decision is None for v in record.preflight)
    assert not any("preflight" in d.expected for d in record.deviations)


def test_an_undecided_failure_in_a_closed_journal_is_a_deviation(
    journals: Path, tmp_path: Path
) -> None:
    def undecided(e: Rewrite) -> list[Rewrite]:
        event, data, _, _ = e
        if event == "deviation.recorded" and data["expected"].startswith("preflight check"):
            return []
        if event == "preflight.checked" and data["at"] == "retry":
            return []
        return [e]

    entries = rewritten(
        read_entries(sample("production", journals)), tmp_path / "j.jsonl", undecided
    )
    record = ceremony_record(entries)
    (silent,) = [d for d in record.deviations if "no deviation decides it" in d.observed]
    assert silent.expected == "preflight check devices passes, or the room decides its failure"
    pdf = tmp_path / "j.pdf"
    pdf.write_bytes(render_ceremony_report(entries))
    assert squeeze("FAIL, NOT DECIDED: no deviation records a decision on it") in squeeze(
        pdf_text(pdf)
    )


def test_a_failed_network_check_is_shown_stopping_the_ceremony(
    journals: Path, tmp_path: Path
) -> None:
    reason = (
        "Preflight check network failed: network interface other than lo present: eth0 (up). "
        "This check cannot be waived by a deviation; the ceremony is stopped before any step."
    )
    entries = read_entries(sample("production", journals))
    last = max(e.seq for e in entries if e.event == "preflight.checked" and e.step is None)

    def cut(e: Rewrite) -> list[Rewrite]:
        event, data, step, actors = e
        if event == "preflight.checked" and data["check"] == "network":
            data = {
                **data,
                "passed": False,
                "verdict": "FAIL",
                "detail": "network interface other than lo present: eth0 (up)",
                "facts": {**data["facts"], "interfaces": ["eth0 (up)", "lo (up)"]},
            }
            return [(event, data, step, actors)]
        return [e]

    aborted = tmp_path / "aborted.jsonl"
    head = [e for e in entries if e.seq <= last]
    rewritten(head, aborted, cut, [("ceremony.aborted", {"reason": reason}, None, [])])
    record = record_of(aborted)
    network = record.preflight[0]
    assert network.decision is not None and network.decision.decision == "abort"
    assert not any("no deviation decides it" in d.observed for d in record.deviations)
    flat = squeeze(pdf_text(report(aborted)))
    assert squeeze("FAIL: the ceremony was stopped (the ceremony was aborted (entry") in flat
    assert squeeze("network interface other than lo present: eth0 (up)") in flat


# ------------------------------------------------------------------------------------ PDF


@needs_poppler
def test_the_preflight_table_shows_every_check_verdict_detail_and_when(journals: Path) -> None:
    journal = sample("production", journals)
    record = record_of(journal)
    flat = squeeze(pdf_text(report(journal)))
    assert squeeze("Workstation checks (preflight) [EV-INTEGRITY, EV-CLOCK, EV-MATERIALS") in flat
    for view in record.preflight:
        moment = view.checked_at.strftime("%H:%M:%S")
        where = "retry at step 1" if view.at == "retry" else view.at
        assert squeeze(f"{where}, {moment} (entry {view.seq})") in flat, view
        assert squeeze(view.detail) in flat, view.detail
    assert flat.count(squeeze("PASS")) >= 4


@needs_poppler
def test_a_waived_failure_is_red_and_names_its_decider(journals: Path, tmp_path: Path) -> None:
    journal = sample("production", journals)
    pdf = report(journal)
    retry = record_of(journal).preflight[-1]
    assert retry.decision is not None
    flat = squeeze(pdf_text(pdf))
    assert (
        squeeze(
            "FAIL, WAIVED: the room proceeded with the failure on record, decided by Alice "
            f"Martin (Ceremony administrator) (deviation, entry {retry.decision.seq}, section 13)"
        )
        in flat
    )
    assert squeeze(f"Note: {PREFLIGHT_PROCEED_NOTE}") in flat
    assert squeeze("FAIL: checked again, decided by Alice Martin (Ceremony administrator)") in flat
    assert is_red(word_colour(pdf, "WAIVED:", tmp_path))


@needs_poppler
def test_a_rehearsal_s_failed_check_is_marked_informational_not_red(
    journals: Path, tmp_path: Path
) -> None:
    pdf = report(sample("rehearsal", journals))
    flat = squeeze(pdf_text(pdf))
    assert squeeze("FAIL, informational: a rehearsal's check decides nothing") in flat
    assert squeeze("not booted from a Sealroom image: /etc/sealroom/image.json is missing") in flat
    assert squeeze("In a rehearsal the checks are informational") in flat
    assert not is_red(word_colour(pdf, "informational:", tmp_path))


@needs_poppler
def test_image_software_and_clock_facts_sit_with_their_evidence(journals: Path) -> None:
    flat = squeeze(pdf_text(report(sample("production", journals))))
    root = fingerprint_from_hex(IMAGE_ROOT_HASH)
    for text in (
        # EV-INTEGRITY, beside the software SHA-256 journaled at the opening
        "Boot image (preflight) [EV-INTEGRITY]",
        f"Sealroom image 2027.1, commit {IMAGE_COMMIT}",
        "dm-verity root hash on the kernel command line, equal to the boot medium's manifest:",
        root.grouped(),
        root.words,
        "Compare with the root hash published with the image.",
        f"packages.lock SHA-256 {PACKAGES_LOCK}",
        "Software manifest (preflight) [EV-INTEGRITY]",
        fingerprint_from_hex(SOFTWARE_SHA256).grouped(),
        "equal to the manifest /etc/sealroom/software.json; equal to the software SHA-256 above",
        "14 distributions, 2315 files hashed and matched",
        # EV-CLOCK, beside the witnesses' offset
        "Workstation clocks (preflight)",
        "(system minus RTC +3 s)",
        "Neither clock is a reference: the offset above, read by the witnesses from a "
        "reference clock, is.",
        # EV-MATERIALS / EV-DEVICE
        "No material accounts for usb 1-3 046a:0011 Cherry GmbH KC 1000 Keyboard",
        "usb 1-1 is material hsm",
        "Network interfaces lo (up)",
    ):
        assert squeeze(text) in flat, text


@needs_poppler
def test_a_journal_from_before_preflight_renders_without_it() -> None:
    entries = read_entries(EVERY_EVENT)
    record = ceremony_record(entries)
    assert record.preflight == () and record.abandoned_backups == ()
    pdf = render_ceremony_report(entries)
    assert pdf == render_ceremony_report(entries)
    assert b"Workstation checks" not in pdf
    assert not any("preflight" in d.expected for d in record.deviations)


def test_the_report_with_preflight_is_a_function_of_the_journal(journals: Path) -> None:
    entries = read_entries(sample("production", journals))
    assert render_ceremony_report(entries) == render_ceremony_report(entries)


# ------------------------------------------------------------------------------------ matrix


def test_preflight_entries_evidence_integrity_clock_materials_and_device(journals: Path) -> None:
    entries = read_entries(sample("production", journals))
    matrix = evidence_matrix(entries)
    seqs = {
        check: [
            e.seq for e in entries if e.event == "preflight.checked" and e.data["check"] == check
        ]
        for check in ("network", "image", "software", "devices", "clock")
    }
    integrity = matrix.row("EV-INTEGRITY")
    assert integrity.present
    assert set(seqs["image"] + seqs["software"]) <= set(integrity.entries)
    assert ("image dm-verity root hash", IMAGE_ROOT_HASH) in integrity.digests
    assert ("software", SOFTWARE_SHA256) in integrity.digests
    assert "preflight image PASS, software PASS" in integrity.note
    clock = matrix.row("EV-CLOCK")
    assert clock.present and set(seqs["clock"]) <= set(clock.entries)
    assert "system minus hardware clock 3 s" in clock.note
    materials = matrix.row("EV-MATERIALS")
    assert set(seqs["devices"] + seqs["network"]) <= set(materials.entries)
    assert "devices FAIL (decided as a deviation)" in materials.note
    assert set(seqs["devices"]) <= set(matrix.row("EV-DEVICE").entries)
    assert not matrix.missing


def test_a_passing_production_preflight_alone_evidences_integrity(
    journals: Path, tmp_path: Path
) -> None:
    """Without the witnesses' software step, the image and software hashes still show it."""
    entries = rewritten(
        read_entries(sample("production", journals)),
        tmp_path / "j.jsonl",
        lambda e: [] if e[2] == "software-integrity" else [e],
    )
    row = evidence_matrix(entries).row("EV-INTEGRITY")
    assert row.present
    assert row.note.startswith("image and software verified by hash before any step")


def test_a_rehearsal_s_preflight_alone_does_not_evidence_integrity(
    journals: Path, tmp_path: Path
) -> None:
    entries = rewritten(
        read_entries(sample("rehearsal", journals)),
        tmp_path / "j.jsonl",
        lambda e: [] if e[2] == "software-integrity" else [e],
    )
    row = evidence_matrix(entries).row("EV-INTEGRITY")
    assert not row.present
    assert "preflight image FAIL (informational)" in row.note
