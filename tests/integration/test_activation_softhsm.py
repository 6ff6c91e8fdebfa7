"""m-of-n activation rehearsed on SoftHSM2: random PINs split at initialisation, shares to log in.

The HSM-initialisation ceremony runs on a never-initialised SoftHSM slot. Custodians are played by
the answers file reading the words off their printed share sheets (PDFs), so the sheets
themselves are part of what is tested.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sealroom.report.share_sheet import read_share_sheet_words
from tests.leaks import share_run_in

pytestmark = pytest.mark.softhsm

CATALOGUE = Path(__file__).resolve().parents[2] / "ceremony_scripts"
SCRIPT = CATALOGUE / "hsm-initialisation.yaml"
ANSWERS = CATALOGUE / "hsm-initialisation.answers.yaml"
SEALROOM = str(Path(sys.executable).with_name("sealroom"))


def _rehearse(out: Path, answers: Path = ANSWERS) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    result = subprocess.run(
        [SEALROOM, "rehearse", str(SCRIPT), "--answers", str(answers), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def _events(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]


def _data(out: Path, event: str) -> list[dict[str, object]]:
    return [e["data"] for e in _events(out) if e["event"] == event]  # type: ignore[misc]


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("init") / "run"
    result = _rehearse(out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_each_custodian_gets_one_sheet_per_pin_and_the_bags_are_journaled(
    initialised: Path,
) -> None:
    sheets = sorted(p.name for p in (initialised / "share-sheets").iterdir())
    assert sheets == [
        f"share-hsm-{what}-pin-share-{i}-of-3.pdf"
        for what in ("security-officer", "user")
        for i in (1, 2, 3)
    ]
    for sheet in (initialised / "share-sheets").iterdir():
        assert sheet.stat().st_mode & 0o077 == 0, f"{sheet} is readable by others"
        assert len(read_share_sheet_words(sheet)) == 20
    sealed = _data(initialised, "share.sealed")
    assert [(s["what"], s["custodian"], s["bag"]) for s in sealed] == [
        ("HSM user PIN", "bob", "TEB-231301"),
        ("HSM user PIN", "carol", "TEB-231302"),
        ("HSM user PIN", "frank", "TEB-231303"),
        ("HSM security officer PIN", "bob", "TEB-231311"),
        ("HSM security officer PIN", "carol", "TEB-231312"),
        ("HSM security officer PIN", "frank", "TEB-231313"),
    ]


def test_two_custodians_activate_the_token_and_it_is_empty(initialised: Path) -> None:
    activated = _data(initialised, "quorum.activated")
    assert [(a["what"], a["custodians"]) for a in activated] == [("HSM user PIN", ["bob", "carol"])]
    assert _data(initialised, "hsm.login")[0]["activation"] == "m-of-n"
    inventory = _data(initialised, "token.inventory")[0]
    assert inventory["objects"] == [] and inventory["logged_in"] is True


def test_no_share_word_or_pin_reaches_the_journal_or_the_report(initialised: Path) -> None:
    journal = (initialised / "journal.jsonl").read_text()
    report = subprocess.run(
        ["pdftotext", "-layout", str(initialised / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for sheet in (initialised / "share-sheets").iterdir():
        words = read_share_sheet_words(sheet)
        assert len(words) == 20
        assert share_run_in(words, journal) is None, f"{sheet.name} is in the journal"
        assert share_run_in(words, report) is None, f"{sheet.name} is in the report"
    # the PINs are base32 of 16 random bytes: 26 upper-case characters nobody ever saw
    assert not re.search(r"\b[A-Z2-7]{26}\b", journal)
    assert not re.search(r"\b[A-Z2-7]{26}\b", report)


def test_a_custodian_who_cannot_give_a_valid_share_is_replaced_by_the_next(tmp_path: Path) -> None:
    answers = yaml.safe_load(ANSWERS.read_text())
    # Bob mistypes his share three times (one word wrong, then a share of another length, then
    # gibberish); Carol and Frank then activate the token.
    answers["steps"]["hsm-login"]["shares"] = {
        "bob": ["abandon " * 19 + "academic", "academic acid", "not slip39 words at all"]
    }
    path = tmp_path / "hsm-initialisation.answers.yaml"
    path.write_text(yaml.safe_dump(answers, sort_keys=False))
    out = tmp_path / "run"
    result = _rehearse(out, path)
    assert result.returncode == 0, result.stdout + result.stderr
    rejected = _data(out, "share.rejected")
    assert [(r["custodian"], r["attempt"]) for r in rejected] == [
        ("bob", 1),
        ("bob", 2),
        ("bob", 3),
    ]
    for r in rejected:
        assert str(r["problem"]).startswith("Share from Bob Okafor"), r
        assert "academic" not in str(r["problem"]) and "abandon" not in str(r["problem"])
    activated = _data(out, "quorum.activated")[0]
    assert activated["custodians"] == ["carol", "frank"]
