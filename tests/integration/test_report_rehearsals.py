"""Reports of real rehearsals: no false deviation, uninitialised slots, interrupted ceremonies."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sealroom.journal.entry import JournalEntry
from sealroom.journal.verify import read_verified_entries
from sealroom.report.ceremony_report import render_ceremony_report
from sealroom.report.record import ceremony_record

SEALROOM = str(Path(sys.executable).with_name("sealroom"))
SCRIPTS = Path(__file__).resolve().parent.parent.parent / "ceremony_scripts"

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


def _rehearse(out: Path, script: str, *options: str, stdin: str = "") -> str:
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
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    return result.stdout


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
