"""Reports of real rehearsals: no false deviation, uninitialised slots, interrupted ceremonies."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.ceremony.evidence import required_items
from sealroom.ceremony.loader import load_script
from sealroom.journal.entry import JournalEntry
from sealroom.journal.verify import read_verified_entries
from sealroom.report.ceremony_report import render_ceremony_report
from sealroom.report.matrix import evidence_matrix
from sealroom.report.record import ceremony_record

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPTS = Path(__file__).resolve().parent.parent.parent / "ceremony_scripts"

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


def _rehearse(out: Path, script: str, *options: str, stdin: str = "", expect: int = 0) -> str:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", *options, "--out", str(out), str(SCRIPTS / f"{script}.yaml")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        input=stdin,
        check=False,
    )
    assert result.returncode == expect, result.stdout[-2000:] + result.stderr
    return result.stdout + result.stderr


def _pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def _rendered_text(entries: list[JournalEntry], tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(render_ceremony_report(entries))
    return _pdf_text(path)


# ------------------------------------------------------------------- hsm-initialisation


@pytest.fixture(scope="module")
def initialisation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hsm-initialisation") / "out"
    _rehearse(out, "hsm-initialisation")
    return out


@pytest.mark.softhsm
@needs_poppler
def test_a_clean_hsm_initialisation_rehearsal_reports_no_deviation(
    initialisation: Path, tmp_path: Path
) -> None:
    # The script lists no set identifier or check value: the activation's set is checked against
    # the split the same journal made at initialisation, and it matches.
    _, entries = read_verified_entries(initialisation / "journal.jsonl")
    record = ceremony_record(entries)
    assert record.deviations == ()
    (activation,) = record.activations
    initialised = next(e for e in entries if e.event == "token.initialised")
    split = initialised.data["activation"]["HSM user PIN"]  # type: ignore[index]
    assert activation.expected_from == "initialisation"
    assert activation.expected_seq == initialised.seq
    assert activation.expected_set_identifier == split["set_identifier"]  # type: ignore[index]
    assert activation.set_matches is True
    printed = _pdf_text(initialisation / "report.pdf")
    for text in (printed, _rendered_text(entries, tmp_path, "full.pdf")):
        assert "deviation(s)" not in text
        assert "it does not match" not in text
        assert "No deviation from the script is recorded" in text
        made = split["set_identifier"]  # type: ignore[index]
        assert (
            f"the shares combined are of set {made}: matches the split made at the token's "
            "initialisation in this ceremony" in text
        )
        assert "the script's (set" not in text


@pytest.mark.softhsm
@needs_poppler
def test_shares_of_another_set_than_the_one_initialised_are_a_deviation(
    initialisation: Path, tmp_path: Path
) -> None:
    _, entries = read_verified_entries(initialisation / "journal.jsonl")
    target = next(e for e in entries if e.event == "quorum.activated")
    made = target.data["set_identifier"]
    assert isinstance(made, int)
    other = (made + 1) % (1 << 15)
    changed = [
        dataclasses.replace(e, data={**e.data, "set_identifier": other}) if e is target else e
        for e in entries
    ]
    record = ceremony_record(changed)
    (deviation,) = [d for d in record.deviations if not d.recorded]
    assert deviation.seq == target.seq
    assert "set identifier and check value of the HSM user PIN activation" in deviation.expected
    assert "initialisation" in deviation.expected and "token.initialised" in deviation.expected
    assert record.activations[0].set_matches is False
    text = _rendered_text(changed, tmp_path, "other-set.pdf")
    assert "1 deviation(s)" in text
    assert f"the shares combined are of set {other}: DOES NOT MATCH the split made" in text


@pytest.mark.softhsm
@needs_poppler
def test_an_uninitialised_slot_is_named_as_such(initialisation: Path) -> None:
    text = _pdf_text(initialisation / "report.pdf")
    assert (
        "none (uninitialised slot): the rehearsal's throwaway token, standing in for HSM-0005"
        in text
    )
    assert "Token label none (uninitialised slot)" in text
    assert "(at the opening: none (uninitialised slot))" in text
    assert "(at the opening: )" not in text
    assert "serial , " not in text


# ------------------------------------------------------------------- interrupted ceremonies

ROOT = "root-key-generation"


def _resumed_report(out: Path, tmp_path: Path) -> tuple[list[JournalEntry], str, str]:
    """The verified entries, the report printed at the print-report step, and the full one."""
    _, entries = read_verified_entries(out / "journal.jsonl")
    printed = next(e for e in entries if e.event == "report.printed")
    covers = printed.data["covers_through"]
    assert isinstance(covers, int)
    pdf = (out / "report.pdf").read_bytes()
    assert render_ceremony_report(entries[:covers]) == pdf  # same journal, same bytes
    return entries, _pdf_text(out / "report.pdf"), _rendered_text(entries, tmp_path, "full.pdf")


def _every_root_item_present(entries: list[JournalEntry] | None, text: str) -> None:
    """Every item a root ceremony owes is in the report (and, for a whole journal, present)."""
    if entries is not None:
        matrix = evidence_matrix(entries)
        assert matrix.missing == ()
        assert all(row.present for row in matrix.rows), [r.item_id for r in matrix.rows]
    for item_id in required_items(ROOT):
        assert item_id in text, item_id
    matrix_text = text.split("Compliance matrix [")[1].split("Journal position", maxsplit=1)[0]
    assert "MISSING" not in matrix_text


@pytest.fixture(scope="module")
def paused(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stopped cleanly after the fingerprint read-back, before step 15 (stdin ends after 14
    Enters), then resumed."""
    out = tmp_path_factory.mktemp("paused") / "out"
    stopped = _rehearse(
        out, ROOT, "--pause", stdin="\n" * (_step("sign-root-certificate") - 1), expect=1
    )
    assert f"stopped before step {_step('sign-root-certificate')}" in stopped
    _rehearse(out, ROOT, "--resume")
    return out


def _step(step_id: str) -> int:
    """The 1-based number of ``step_id`` in the shipped root script (derived, never hard-coded)."""
    script = load_script(SCRIPTS / f"{ROOT}.yaml").script
    return [s.id for s in script.steps].index(step_id) + 1


def _cut(tmp_path_factory: pytest.TempPathFactory, name: str, last_event: str) -> Path:
    """A root rehearsal whose process died while writing the entry after ``last_event``.

    The rehearsal runs up to the root key's backup (stopped before it, so the backup media, the
    share sheets and the backup HSM are as they were before any backup: the process died before
    it), then its journal is cut after that entry and ends with the first 70 bytes of the next one
    (what a process killed in the middle of a write leaves); the token keeps what the run did, as
    it would. Then ``--resume`` continues it.
    """
    out = tmp_path_factory.mktemp(name) / "out"
    backup = _step("backup-root-key")
    stopped = _rehearse(out, ROOT, "--pause", stdin="\n" * (backup - 1), expect=1)
    assert f"stopped before step {backup}" in stopped
    journal = out / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    _, entries = read_verified_entries(journal)
    keep = next(e.seq for e in entries if e.event == last_event)
    journal.write_bytes(b"".join(lines[:keep]) + lines[keep][:70])
    assert not [e for e in entries if e.event == "backup.made"]
    shutil.rmtree(out / "bundle", ignore_errors=True)  # the stopped run's, if it made one
    _rehearse(out, ROOT, "--resume")
    return out


@pytest.fixture(scope="module")
def cut_after_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _cut(tmp_path_factory, "cut-after-key", "key.generated")


@pytest.fixture(scope="module")
def cut_before_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _cut(tmp_path_factory, "cut-before-key", "hsm.login")


@pytest.mark.softhsm
@needs_poppler
def test_a_ceremony_stopped_between_steps_shows_where_and_the_login_repeated(
    paused: Path, tmp_path: Path
) -> None:
    entries, printed, full = _resumed_report(paused, tmp_path)
    record = ceremony_record(entries)
    assert record.deviations == ()
    (stop,) = record.interruptions
    resumed = next(e for e in entries if e.event == "journal.resumed")
    assert stop.stopped_after == resumed.data["after_seq"]
    assert stop.last_step == "check-key-fingerprint" and stop.torn_seq is None
    assert stop.login_repeated == "hsm-login" and stop.ceremony_seq is not None
    login = next(s for s in record.steps if s.step.id == "hsm-login")
    first, again = [e.seq for e in entries if e.event == "step.completed" and e.step == "hsm-login"]
    assert login.seqs[0] < first and [q for _, q in login.again] == [again]
    for text in (printed, full):
        for item in (
            f"Interrupted and resumed once: stopped after entry {stop.stopped_after}, resumed at "
            f"entry {stop.seq}. Not by itself a deviation",
            "Interruption 1 of 1",
            f"after entry {stop.stopped_after}",
            f"the last step completed before it: step {_step('check-key-fingerprint')} (Read back "
            "the public key fingerprint)",
            "Torn tail none: the journal ended on a whole entry",
            f"Login performed again step {_step('hsm-login')} (Activate the HSM): the HSM session "
            "ended with the stopped process",
            f"Completed 2 times (seq {again} after an interruption)",
            f"After the interruption (resumed at entry {stop.seq}):",
            "Action that had taken effect none",
            "Files set aside none",
            "an interruption is not by itself a deviation",
            "No deviation from the script is recorded",
        ):
            assert item in text, item
        assert "deviation(s)" not in text
    _every_root_item_present(entries, full)
    _every_root_item_present(None, printed)  # printed before the end: the rest is "TO COME"


@pytest.mark.softhsm
@needs_poppler
def test_a_step_interrupted_after_its_key_was_made_is_completed_without_repeating_it(
    cut_after_key: Path, tmp_path: Path
) -> None:
    entries, printed, full = _resumed_report(cut_after_key, tmp_path)
    record = ceremony_record(entries)
    assert record.deviations == ()
    (stop,) = record.interruptions
    generated = next(e for e in entries if e.event == "key.generated")
    assert stop.torn_length == 70 and stop.stopped_after == generated.seq
    assert stop.after_effect == (("generate-root-key", (("key.generated", generated.seq),)),)
    ((step_id, completed, effect),) = stop.completed_without_repeat
    assert (step_id, effect) == ("generate-root-key", generated.seq)
    # the certificate was written before the process died; the report was not printed yet
    assert [o for o, _ in stop.set_aside] == ["root.crt.pem"]
    (key,) = record.keys  # one key: generated once, found again when signing
    assert not key.found and key.found_again
    for text in (printed, full):
        for item in (
            "the stopped session left a half-written line of 70 bytes",
            f"it was closed off and is not an entry (journal.torn-tail, seq {stop.torn_seq})",
            f"step {_step('generate-root-key')} (Generate the root key pair inside the HSM): "
            f"key.generated at entry "
            f"{generated.seq}; completed at entry {completed} without repeating it",
            f"Its action took effect before the interruption (entry {generated.seq}); completed "
            "on resumption without repeating it",
            "root.crt.pem: renamed to root.crt.pem.interrupted-",
            "Key 1: exr-root-r1-2026 (generated)",
        ):
            assert item in text, item
        assert "Key 2:" not in text
    _every_root_item_present(entries, full)


@pytest.mark.softhsm
@needs_poppler
def test_a_key_the_interrupted_run_made_is_found_not_made_twice(
    cut_before_key: Path, tmp_path: Path
) -> None:
    entries, _, full = _resumed_report(cut_before_key, tmp_path)
    record = ceremony_record(entries)
    assert record.deviations == ()
    (stop,) = record.interruptions
    found = next(e for e in entries if e.event == "key.found")
    assert found.data["after_interruption"] is True
    assert stop.keys_found == (("generate-root-key", "exr-root-r1-2026", found.seq),)
    assert not [e for e in entries if e.event == "key.generated"]
    (key,) = record.keys
    assert key.after_interruption
    for item in (
        "Key 1: exr-root-r1-2026 (made before the interruption, found on the token)",
        f"made in this ceremony by step {_step('generate-root-key')}, whose run was interrupted "
        "before the journal recorded the key",
        f"exr-root-r1-2026: made by step {_step('generate-root-key')} (Generate the root key pair "
        f"inside the HSM) before the journal recorded it, found on the token at entry {found.seq}",
    ):
        assert item in full, item
    _every_root_item_present(entries, full)


# ------------------------------------------------------------------- wording


@pytest.mark.softhsm
@needs_poppler
def test_the_crl_issuance_sign_off_asks_for_no_independent_witness(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    out = tmp_path_factory.mktemp("crl-issuance") / "out"
    _rehearse(out, "crl-issuance")
    text = _pdf_text(out / "report.pdf")
    signoff = text.split("Sign-off [EV-SIGNOFF")[1]
    assert "independent witness's signature is required" not in signoff
    assert "attempt(s)" not in text
    assert "By design, this report is printed at step" in text


@pytest.mark.softhsm
@needs_poppler
def test_the_root_report_names_roles_once_and_says_what_follows_the_printing(
    paused: Path,
) -> None:
    text = _pdf_text(paused / "report.pdf")
    assert "Independent witness (auditor) - independent" not in text
    assert "The independent witness's signature is required (EV-WITNESS)." in text
    assert "HSM activated after 1 attempt " in text and "attempt(s)" not in text
    printing, last = _step("print-report"), _step("workstation-reseal")
    assert last == printing + 1 == 28
    assert (
        f"By design, this report is printed at step {printing} (Print the ceremony report), "
        "before the closing steps. Still to come, in the journal and the evidence bundle but not "
        f"in this report: step {last} (Seal the workstation in a new tamper-evident bag); the "
        "closing entry." in text
    )
    assert "In progress: this is the report it prints" in text
    assert f"To come: after this report is printed (step {printing})" in text
    assert "Not performed when this report was rendered" not in text
