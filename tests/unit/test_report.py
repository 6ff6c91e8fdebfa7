"""Ceremony report: rendered from the journal alone, deterministic, readable, QR codes that scan."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from test_report_sample import (
    build_sample_journal,
    documented_events,
    sample_certificate,
    sample_script_data,
)

from sealroom.ceremony.actions import journal_head_payload
from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.script import Script
from sealroom.errors import ReportError
from sealroom.journal.reader import read_entries
from sealroom.journal.verify import verify_journal
from sealroom.paper_style import (
    printable,
)
from sealroom.report.ceremony_report import JournalReportRenderer, render_ceremony_report
from sealroom.report.layout import (
    CONTENT_WIDTH,
    MARGIN_X,
    PAGE_WIDTH,
    esc,
)
from sealroom.report.record import ceremony_record
from sealroom.transfer.frames import decode_frames
from sealroom.transfer.scan import decode_image

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "sample-journal.jsonl"
"""A journal written by an earlier Sealroom (before entries, breaks and sign-off statements)."""
EVERY_EVENT = ROOT / "tests" / "data" / "sample-journal-every-event.jsonl"
"""build_sample_journal's output before issue 4, kept: a journal with every event of its time but
an abort (none of the HSM and certificate events issue 4 added) still renders."""
ISSUE_4_EVENTS = frozenset(
    {
        "token.inventory",
        "key.found",
        "input.received",
        "csr.made",
        "crl.issued",
        "key.destroyed",
        "token.zeroised",
        "token.initialised",
        "share.sealed",
        "share.rejected",
        "share.accepted",
        "quorum.activated",
    }
)
"""The HSM, certificate and m-of-n events of issue 4, which EVERY_EVENT predates."""
JOURNAL_EVENTS = frozenset(
    {"journal.log-key", "journal.checkpoint", "journal.torn-tail", "journal.resumed"}
)
"""The journal's own events (signed checkpoints, resume), which EVERY_EVENT predates too."""
ISSUE_5_EVENTS = frozenset({"printer.checked", "ceremony.resumed", "registry.compared"})
"""The opening's printer check and the engine's resume, which EVERY_EVENT predates too."""
ISSUE_6_EVENTS = frozenset(
    {
        "backup.made",
        "restore.tested",
        "restore.failed",
        "key.recovered",
        "recovery.failed",
        "shares.voided",
        "backup.resplit",
    }
)
"""The key backup, its restore test, recovery, migration and re-split (EV-BACKUP, EV-RESTORE,
EV-MIGRATE), which EVERY_EVENT predates."""
PREFLIGHT_AND_ABANDON_EVENTS = frozenset(
    {"preflight.checked", "backup.wrapped", "backup.abandoned"}
)
"""The opening's preflight checks and an interrupted backup's attempt (wrapped, then abandoned on
resume), which EVERY_EVENT predates too."""
NAMES = (
    "Alice Martin",
    "Bob Okafor",
    "Carol Nguyen",
    "Dan Ivanov",
    "Erin Schmidt (Example Audit LLP)",
)

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is not installed",
)


@functools.cache
def _journal(kind: str, directory: Path) -> Path:
    path = directory / f"{kind}.jsonl"
    if kind == "rehearsal":
        return build_sample_journal(path)
    if kind == "production":
        return build_sample_journal(path, rehearsal=False, absent=())
    if kind == "aborted":
        return build_sample_journal(path, rehearsal=False, abort_at_key_check=True)
    if kind == "midway":
        # As the report printed at the print-report step sees the journal: everything before it.
        return build_sample_journal(path, steps_done=_index("print-report"))
    raise AssertionError(kind)


def _index(step_id: str) -> int:
    """The 0-based position of ``step_id`` in the sample script (derived, never hard-coded)."""
    return [s.id for s in _script().steps].index(step_id)


@functools.cache
def _script() -> Script:
    return Script.model_validate(sample_script_data())


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("journals")


@functools.cache
def _pdf(path: Path) -> bytes:
    return render_ceremony_report(read_entries(path))


def rendered(kind: str, directory: Path) -> tuple[Path, bytes]:
    journal = _journal(kind, directory)
    pdf = _pdf(journal)
    out = journal.with_suffix(".pdf")
    if not out.exists():
        out.write_bytes(pdf)
    return out, pdf


def pdf_text(pdf: Path, page: int | None = None, *, raw: bool = False) -> str:
    """The PDF's text; ``raw`` in drawing order, so a table cell's lines stay together where
    pdftotext's reading order would interleave two neighbouring cells of a full column."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    mode = ["-raw"] if raw else []
    result = subprocess.run(
        ["pdftotext", *mode, *pages, str(pdf), "-"], capture_output=True, check=True, text=True
    )
    return result.stdout


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


# ------------------------------------------------------------------------------------ record


def test_record_reads_every_section_from_the_journal(journals: Path) -> None:
    record = ceremony_record(read_entries(_journal("rehearsal", journals)))
    spki, der, _ = sample_certificate()
    assert record.ceremony_id == "EXR-RKG-2026-11"
    assert record.rehearsal
    assert record.ended_by == "ceremony.closed"
    assert record.present == tuple(p.id for p in _script().participants if p.id != "carol")
    assert record.absent == ("carol",)
    assert record.token is not None and record.token.serial_matches
    skipped = _index("photograph-bags")
    assert [s.performed for s in record.steps] == [i != skipped for i in range(len(record.steps))]
    assert record.steps[skipped].skipped
    login = record.steps[_index("hsm-login")]
    assert login.performer is not None and login.performer.name == "Bob Okafor"
    assert [w.name for w in login.witnesses] == ["Erin Schmidt (Example Audit LLP)"]
    assert login.details[0].startswith("PIN refused at attempt 1 (2 left)")
    assert login.details[1] == "HSM activated after 2 attempts"
    (key,) = record.keys
    assert key.fingerprint == sha256_fingerprint(spki)
    assert key.fingerprint_recomputed
    assert key.purposes == ("certificate-signing", "crl-signing")
    (cert,) = record.certificates
    assert cert.der == der
    assert cert.sha256_matches and cert.spki_matches_certificate and cert.spki_matches_key
    # The three deviations the room decided (the restore test retried after a medium's blob
    # read back wrong); nothing found by the workstation or the report.
    assert [d.recorded for d in record.deviations] == [True, True, True]
    assert [d.where for d in record.deviations] == [
        f"Step {_index('room-check') + 1}: Confirm the room is secured",
        f"Step {_index('photograph-bags') + 1}: Photograph the sealed bags",
        f"Step {_index('restore-test') + 1}: Prove the backup restores on the backup HSM",
    ]
    assert record.deviations[2].decision.startswith("retry")
    assert record.head.seq == len(record.entries)


def test_record_lists_a_witness_mismatch_and_the_abort(journals: Path) -> None:
    record = ceremony_record(read_entries(_journal("aborted", journals)))
    assert record.ended_by == "ceremony.aborted"
    found = [d for d in record.deviations if not d.recorded]
    # the journal signs its own end: a final checkpoint follows the abort
    aborted = next(e.seq for e in record.entries if e.event == "ceremony.aborted")
    assert record.entries[-1].event == "journal.checkpoint"
    assert [d.seq for d in found] == [aborted - 1, aborted]
    assert "tactics talon tiger tissue" in found[0].observed
    assert "Dan Ivanov (Internal witness, witness)" in found[0].decided_by
    check = _index("check-key-fingerprint")
    done = check + 1
    left = len(record.script.steps) - done
    skipped = _index("photograph-bags")
    assert [s.performed for s in record.steps] == [i != skipped for i in range(done)] + [
        False
    ] * left
    assert record.steps[check].result.startswith("DOES NOT MATCH")
    assert not record.steps[check + 1].ok
    assert record.steps[check + 1].result == "Not performed (the ceremony was aborted)"


def test_a_tampered_certificate_is_a_deviation(journals: Path) -> None:
    entries = read_entries(_journal("rehearsal", journals))
    issued = next(e for e in entries if e.event == "certificate.issued")
    data = dict(issued.data)
    data["sha256"] = "00" * 32
    changed = [dataclasses.replace(issued, data=data) if e is issued else e for e in entries]
    record = ceremony_record(changed)
    assert not record.certificates[0].sha256_matches
    (found,) = [d for d in record.deviations if not d.recorded]
    assert found.expected.startswith("the certificate root-certificate matches")


def test_entries_that_are_not_one_chain_are_refused(journals: Path) -> None:
    entries = read_entries(_journal("rehearsal", journals))
    with pytest.raises(ReportError, match=r"do not form one chain at entry 3 \(seq 4\)"):
        render_ceremony_report([*entries[:2], *entries[3:]])
    with pytest.raises(ReportError, match="no entries"):
        render_ceremony_report([])
    with pytest.raises(ReportError, match=r"does not start with ceremony\.opened"):
        render_ceremony_report(entries[1:])


def test_renderer_refuses_a_journal_that_does_not_verify(journals: Path, tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    whole = _journal("rehearsal", journals).read_bytes()
    path.write_bytes(whole[:-10])
    last = whole.count(b"\n")
    with pytest.raises(ReportError, match=rf"cannot be rendered: .*line {last}: the last line"):
        JournalReportRenderer(path).render_report()


def test_text_is_escaped_and_unprintable_characters_are_shown() -> None:
    assert esc("<b>Eve & Co</b>") == "&lt;b&gt;Eve &amp; Co&lt;/b&gt;"
    assert printable("Łukasz Müller 王") == "[U+0141]ukasz Müller [U+738B]"


# ------------------------------------------------------------------------------------ PDF


def test_the_same_journal_gives_the_same_pdf_bytes(journals: Path) -> None:
    journal = _journal("rehearsal", journals)
    first = JournalReportRenderer(journal).render_report()
    second = render_ceremony_report(read_entries(journal))
    assert first.startswith(b"%PDF-")
    assert first == second
    assert hashlib.sha256(first).digest() == hashlib.sha256(_pdf(journal)).digest()


@needs_poppler
def test_the_report_text_holds_what_the_auditor_checks(journals: Path) -> None:
    pdf, data = rendered("rehearsal", journals)
    text = pdf_text(pdf)
    flat = squeeze(text)
    entries = read_entries(_journal("rehearsal", journals))
    opened = entries[0].data
    spki, der, _ = sample_certificate()
    key_fpr = sha256_fingerprint(spki)
    cert_fpr = sha256_fingerprint(der)
    assert "EXR-RKG-2026-11" in text
    assert str(opened["script_sha256"]) in flat
    assert squeeze(str(opened["script_words"])) in flat
    for name in NAMES:
        assert squeeze(name) in flat, name
    assert key_fpr.hex in flat
    assert squeeze(key_fpr.words) in flat
    assert cert_fpr.hex in flat
    assert squeeze(cert_fpr.words) in flat
    assert entries[-1].sha256 in flat
    for heading in (
        "Ceremony identity [EV-TYPE, EV-APPROVAL, EV-CPS, EV-PHYSICAL, EV-CLOCK, EV-SCRIPT]",
        "Participants and roles [EV-ROLES, EV-ATTEND, EV-TRUSTED]",
        "Materials and tamper-evident bags [EV-MATERIALS, EV-TEB]",
        "Hardware security module [EV-DEVICE, EV-SETTINGS]",
        "Steps performed [EV-STEPS]",
        "Key inventory [EV-KEY-ID, EV-KEY-ALG, EV-KEY-FPR, EV-KEY-DATE, EV-KEY-PURPOSE]",
        "Objects received through the air gap [EV-COLLECTED]",
        "Artefacts [EV-ARTIFACTS]",
        "Certificate revocation lists [EV-ARTIFACTS]",
        "Destruction record [EV-DESTROY]",
        "Deviations and aborts [EV-DEVIATION]",
        "Custody after the ceremony [EV-CUSTODY]",
        "Journal position covered [EV-LOG]",
        "Compliance matrix [31 items of EVIDENCE.md, 0 missing]",
        "Sign-off [EV-SIGNOFF, EV-WITNESS, EV-REPORT]",
    ):
        assert squeeze(heading) in flat, heading
    for serial in ("HSM-0001", "WS-0007", "PRN-0042", "TEB-100201", "TEB-100202"):
        assert serial in text
    assert "6.1.1 Key pair generation" in text
    present = len(_script().participants) - 1  # Carol was absent
    assert flat.count(squeeze("The script was followed: YES")) == present
    pages = page_count(data)
    assert pages >= 4
    for number in range(1, pages + 1):
        page = pdf_text(pdf, number)
        assert "REHEARSAL" in page, f"page {number} has no REHEARSAL mark"
        assert "EXR-RKG-2026-11" in page
        assert str(opened["script_sha256"]) in squeeze(page)
        assert f"Page {number} of {pages}" in page
    assert squeeze(str(opened["script_words"])) in squeeze(pdf_text(pdf, 1))


@needs_poppler
def test_a_production_report_has_no_rehearsal_mark(journals: Path) -> None:
    pdf, _ = rendered("production", journals)
    text = pdf_text(pdf)
    assert "REHEARSAL" not in text
    assert "Production ceremony" in text
    everyone = len(_script().participants)
    assert squeeze(text).count(squeeze("The script was followed: YES")) == everyone


@needs_poppler
@pytest.mark.parametrize("kind", ["rehearsal", "aborted"])
def test_no_text_leaves_the_printable_area(journals: Path, tmp_path: Path, kind: str) -> None:
    pdf, _ = rendered(kind, journals)
    html = tmp_path / "words.html"
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(html)], check=True)
    boxes = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', html.read_text())
    assert boxes
    for x_min, x_max in boxes:
        assert float(x_min) >= MARGIN_X - 1
        assert float(x_max) <= PAGE_WIDTH - MARGIN_X + 1
    assert CONTENT_WIDTH > 0


@needs_poppler
def test_an_aborted_report_shows_the_deviation_and_the_steps_not_performed(
    journals: Path,
) -> None:
    pdf, _ = rendered("aborted", journals)
    flat = squeeze(pdf_text(pdf))
    assert squeeze("ABORTED at 2027-01-15") in flat
    assert (
        squeeze(
            # the preflight devices failure (retried, then waived), CCTV, photographs; the
            # mismatch and the abort
            "6 deviation(s) are recorded in the journal: 4 decided by the room, 2 found"
        )
        in flat
    )
    assert squeeze("tactics talon tiger tissue") in flat
    after = len(_script().steps) - _index("check-key-fingerprint") - 1
    assert flat.count(squeeze("Not performed (the ceremony was aborted)")) == after
    assert squeeze("No certificate, CSR or CRL was produced.") in flat


@needs_poppler
def test_a_report_rendered_mid_ceremony_says_it_is_in_progress(journals: Path) -> None:
    pdf, _ = rendered("midway", journals)
    flat = squeeze(pdf_text(pdf))
    assert squeeze("In progress when this report was rendered") in flat
    # print-report itself and every step after it (the workstation is sealed after printing).
    after = len(_script().steps) - _index("print-report") - 1
    assert flat.count(squeeze("In progress: this is the report it prints")) == 1
    assert flat.count(squeeze("To come: after this report is printed")) == after
    assert squeeze("Not performed when this report was rendered") not in flat
    # One sentence near the top says why, and which steps follow (from the script).
    assert squeeze("By design, this report is printed at step") in flat
    assert squeeze("before the closing steps. Still to come") in flat
    # The statements given at sign-off, just before the printing, are on the printed report.
    present = len(_script().participants) - 1  # Carol is absent
    assert flat.count(squeeze("The script was followed: YES")) == present


@needs_poppler
def test_the_printed_qr_codes_give_back_the_certificate(journals: Path, tmp_path: Path) -> None:
    pdf, data = rendered("rehearsal", journals)
    _, der, _ = sample_certificate()
    texts: list[str] = []
    for number in range(1, page_count(data) + 1):
        prefix = tmp_path / f"page{number}"
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "150",
                "-png",
                "-f",
                str(number),
                "-l",
                str(number),
                str(pdf),
                str(prefix),
            ],
            check=True,
        )
        for image in sorted(tmp_path.glob(f"page{number}*.png")):
            texts += decode_image(image)
    certificate = [t for t in texts if t.startswith("SR1/CRT/")]
    assert len(certificate) >= 2, "a 1.4 KB certificate needs several frames"
    kind, payload = decode_frames(certificate, expected_type="CRT")
    assert kind == "CRT"
    assert payload == der
    labels = re.findall(r"CRT (\d)/(\d) ([A-Z2-7]{8})", pdf_text(pdf))
    assert sorted((i, n) for i, n, _ in labels) == [
        (str(i), str(len(certificate))) for i in range(1, len(certificate) + 1)
    ]
    # The journal head the report covers is printed too, as the engine's JNL payload.
    record = ceremony_record(read_entries(pdf.with_suffix(".jsonl")))
    head = [t for t in texts if t.startswith("SR1/JNL/")]
    assert decode_frames(head, expected_type="JNL") == (
        "JNL",
        journal_head_payload(
            record.ceremony_id, record.head, record.script_sha256, rehearsal=record.rehearsal
        ),
    )
    assert {t.split("/")[0] for t in texts} == {"SR1"}
    assert len(texts) == len(certificate) + len(head), "no other object in this report"


# ------------------------------------------------------------------------------------ sample


def test_the_sample_journals_in_tests_data_still_render() -> None:
    entries = read_entries(SAMPLE)
    assert render_ceremony_report(entries).startswith(b"%PDF-")
    assert verify_journal(EVERY_EVENT).ok
    entries = read_entries(EVERY_EVENT)
    events = {e.event for e in entries}
    # Every documented event but those issue 4 added after it was written (the newer sample
    # journals hold those: test_the_sample_journals_verify_and_hold_every_documented_event).
    assert events == (
        documented_events()
        - ISSUE_4_EVENTS
        - ISSUE_5_EVENTS
        - ISSUE_6_EVENTS
        - JOURNAL_EVENTS
        - PREFLIGHT_AND_ABANDON_EVENTS
        - {"ceremony.aborted"}
    )
    record = ceremony_record(entries)
    assert record.clock is not None and record.statements is not None and record.breaks
    assert render_ceremony_report(entries).startswith(b"%PDF-")


# ------------------------------------------------------------------------------------ new events


def test_record_reads_entries_breaks_statements_and_deviations(journals: Path) -> None:
    record = ceremony_record(read_entries(_journal("rehearsal", journals)))
    assert record.clock is not None
    assert record.clock.offset_seconds == 2
    assert [p.name for p in record.clock.readers] == ["Erin Schmidt (Example Audit LLP)"]
    assert record.clock.sentence() == (
        "workstation clock was 2 s behind the reference clock read by Erin Schmidt "
        "(Example Audit LLP), Independent witness (auditor)"
    )
    script = record.script
    for material in script.materials:
        for field in ("serial", "bag_in", "bag_out"):
            for typed in record.typed_for(material.id, field):
                assert typed.value == getattr(material, field)
                assert typed.matches
    (bag_in,) = record.typed_for("hsm", "bag_in")
    assert bag_in.attempts == 2
    hsm_bag = record.steps[_index("hsm-bag")]
    assert hsm_bag.details[0] == "Attempt 1 refused: the two entries differ"
    assert hsm_bag.result == "Typed: TEB-100201, as scripted"
    generate = record.steps[_index("generate-root-key")]
    assert generate.details[:2] == (
        "Confirmation words typed wrongly at attempt 1 (what was typed is not kept)",
        'Typed the words "GENERATE exr-root-r1-2026" (attempt 2)',
    )
    (taken,) = record.breaks
    assert taken.step_number == _index("break-before-hand-over") + 1
    assert taken.left == taken.returned == ("bob", "dan", "erin")
    assert taken.absent == ()
    # every material sealed in the closing is bagged for the break and re-checked; the bag of
    # each HSM (the ceremony's and the backup HSM) is misread once (two digits swapped)
    assert [(c.material, c.typed, c.matches) for c in taken.rechecks] == [
        ("hsm", "TEB-100314", False),
        ("hsm", "TEB-100341", True),
        ("backup-hsm", "TEB-100315", False),
        ("backup-hsm", "TEB-100351", True),
        ("media-a", "TEB-100361", True),
        ("media-b", "TEB-100371", True),
        ("workstation", "TEB-100381", True),
    ]
    assert record.steps[_index("break-before-hand-over")].ok  # a misread, then the right bag
    cctv, camera, restore = record.deviations
    assert cctv.decision.startswith("proceed") and camera.decision.startswith("skip")
    assert restore.decision.startswith("retry")
    assert (
        cctv.decided_by
        == camera.decided_by
        == restore.decided_by
        == "Alice Martin (Ceremony administrator)"
    )
    assert camera.note is not None and "stand in for the photographs" in camera.note
    assert not record.steps[_index("room-check")].ok  # done, but after a deviation
    assert record.steps[_index("room-check")].result.endswith(", after a deviation")
    skipped = record.steps[_index("photograph-bags")]
    assert skipped.result == "Not performed: skipped after deviation"
    assert skipped.performer is not None and skipped.performer.name == "Alice Martin"
    assert record.statements is not None
    assert [(s.participant, s.followed) for s in record.statements] == [
        ("alice", True),
        ("bob", True),
        ("frank", True),
        ("hana", True),
        ("ines", True),
        ("judit", True),
        ("kemal", True),
        ("dan", True),
        ("erin", True),
    ]
    assert [s.participant for s in record.statements if s.comment is not None] == ["erin"]
    assert [s.act for s in record.steps][:2] == ["Opening", "Opening"]
    assert record.steps[-1].act == "Closing"


def test_a_statement_that_the_script_was_not_followed_is_flagged(journals: Path) -> None:
    entries = read_entries(_journal("rehearsal", journals))
    said = next(e for e in entries if e.event == "signoff.recorded")
    statements = [dict(s) for s in said.data["statements"]]  # type: ignore[union-attr]
    dan = next(i for i, s in enumerate(statements) if s["participant"] == "dan")
    statements[dan] = {"participant": "dan", "followed": False, "comment": "Step 5 was skipped."}
    changed = [
        dataclasses.replace(e, data={"statements": statements}) if e is said else e for e in entries
    ]
    record = ceremony_record(changed)
    sign_off = record.steps[_index("sign-off")]
    # everyone present but Carol states: the five custodians of the backup too
    assert len(statements) == 9
    assert sign_off.result == "1 of 9 stated the script was NOT followed"
    assert not sign_off.ok


def test_someone_who_does_not_return_from_a_break_is_not_asked_to_sign(journals: Path) -> None:
    entries = read_entries(_journal("production", journals))
    ended = next(e for e in entries if e.event == "break.ended")
    data = {"returned": ["bob", "erin"], "absent": ["dan"]}
    changed = [dataclasses.replace(e, data=data) if e is ended else e for e in entries]
    record = ceremony_record(changed)
    assert record.present_at_end() == (
        "alice",
        "bob",
        "carol",
        "frank",
        "hana",
        "ines",
        "judit",
        "kemal",
        "erin",
    )
    assert "DID NOT RETURN: Dan Ivanov" in record.steps[_index("break-before-hand-over")].details[1]


@needs_poppler
def test_the_report_shows_everything_the_engine_journals(journals: Path) -> None:
    pdf, _ = rendered("rehearsal", journals)
    flat = squeeze(pdf_text(pdf))
    record = ceremony_record(read_entries(_journal("rehearsal", journals)))
    script = record.script
    approval = script.ceremony.approval
    assert approval is not None
    (bag_in,) = record.typed_for("hsm", "bag_in")
    (serial,) = record.typed_for("hsm", "serial")
    recheck = record.rechecks_of("hsm")[-1]

    def step(step_id: str) -> int:
        return _index(step_id) + 1

    def hms(moment: datetime) -> str:
        return moment.strftime("%H:%M:%S")

    for text in (
        # EV-APPROVAL
        f"Management approval {approval.approved_by}, {approval.role}",
        f"approved on {approval.date.isoformat()}, reference {approval.reference}",
        # EV-ROLES: duties after the ceremony
        *(role.after or "" for role in script.roles),
        # EV-CLOCK
        "Workstation clock was 2 s behind the reference clock read by Erin Schmidt (Example "
        "Audit LLP), Independent witness (auditor)",
        # acts as sub-headings of the steps table
        *(f"Act: {act.title}" for act in script.acts),
        # entries, rejected attempts, confirmations
        "Typed: +2 s: the workstation clock is 2 s behind the reference clock",
        "Attempt 1 refused: the two entries differ",
        "HSM bag serial: accepted at attempt 2",
        "Typed: TEB-100201, as scripted",
        f"typed at step {step('hsm-bag')} ({hms(bag_in.recorded_at)}, at attempt 2): "
        "TEB-100201, matches",
        f"typed at step {step('hsm-serial')} ({hms(serial.recorded_at)}): HSM-0001, matches",
        "Confirmation words typed wrongly at attempt 1 (what was typed is not kept)",
        'Typed the words "GENERATE exr-root-r1-2026" (attempt 2)',
        # EV-ATTEND and EV-TEB: the break
        "Breaks: who left the room and who returned",
        "left: Bob Okafor, Dan Ivanov, Erin Schmidt (Example Audit LLP)",
        "returned: Bob Okafor, Dan Ivanov, Erin Schmidt (Example Audit LLP)",
        "Bag of hsm re-checked: typed TEB-100314: DOES NOT MATCH",
        "Bag of hsm re-checked: typed TEB-100341: matches",
        "sealed for the break in TEB-100341;",
        f"re-checked after the break, step {step('break-before-hand-over')} "
        f"({hms(recheck.checked_at)}): TEB-100341, matches",
        # EV-DEVIATION
        "Who decides a deviation (script): Ceremony administrator.",
        "CCTV recording throughout (physical security of room B-104)",
        "Camera 2 showed no recording light when the room was checked",
        "proceed: the step is still carried out, with the deviation on record",
        "Note: Security restarted camera 2 at 09:06",
        "Alice Martin (Ceremony administrator)",
        "skip: the step was not performed",
        "Not performed: skipped after deviation",
        # EV-CUSTODY (each place: below, from the text in drawing order)
        f"Hand-over, step {step('custody')} (Hand over the materials for storage)",
        # EV-SIGNOFF: the statements next to the signature lines
        f"The script was followed: YES stated at the workstation, step {step('sign-off')}",
        "Comment: Followed; the camera 2 gap and the missing bag photographs are recorded",
    ):
        assert squeeze(text) in flat, text
    for material in script.materials:
        for value in (material.serial, material.bag_in, material.bag_out):
            if value:
                assert value.lower() in flat, value
    # EV-CUSTODY: where every item goes, the share sheets' safe-deposit boxes too
    drawn = squeeze(pdf_text(pdf, raw=True))
    for custody in script.custody:
        assert squeeze(custody.location) in drawn, custody.location
        if custody.bag:
            assert custody.bag.lower() in flat, custody.bag
