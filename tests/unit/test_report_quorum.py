"""Ceremony report: m-of-n activation (EV-QUORUM) read from the journal, cross-checked, on paper."""

from __future__ import annotations

import dataclasses
import functools
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_report import needs_poppler, squeeze
from test_report_sample import (
    REFUSED_SHARES,
    SHARE_BAGS,
    SHARE_SETS,
    SO_PIN,
    USER_PIN,
    build_sample_journal,
)

from sealroom.journal.entry import JournalEntry
from sealroom.journal.reader import read_entries
from sealroom.report.ceremony_report import NUMBER, render_ceremony_report
from sealroom.report.record import CeremonyRecord, ceremony_record

SAMPLE = "hsm-initialisation"


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quorum-journals")


def _journal(directory: Path, kind: str = SAMPLE) -> Path:
    return _built(directory, kind)


@functools.cache
def _built(directory: Path, kind: str) -> Path:
    return build_sample_journal(directory / f"{kind}.jsonl", ceremony=kind)


def _entries(directory: Path, kind: str = SAMPLE) -> list[JournalEntry]:
    return read_entries(_journal(directory, kind))


def _record(directory: Path) -> CeremonyRecord:
    return ceremony_record(_entries(directory))


def _text(entries: list[JournalEntry], out: Path, *, layout: bool = False) -> str:
    out.write_bytes(render_ceremony_report(entries))
    options = ["-layout"] if layout else []
    result = subprocess.run(
        ["pdftotext", *options, str(out), "-"], capture_output=True, check=True, text=True
    )
    return result.stdout


def _changed(
    entries: list[JournalEntry], event: str, change: dict[str, Any], nth: int = 0
) -> list[JournalEntry]:
    """The entries with the ``nth`` ``event`` entry's data updated by ``change``."""
    target = [e for e in entries if e.event == event][nth]
    return [
        dataclasses.replace(e, data={**e.data, **change}) if e is target else e for e in entries
    ]


def _findings(entries: list[JournalEntry]) -> list[str]:
    record = ceremony_record(entries)
    return [f"{d.expected} / {d.observed}" for d in record.deviations if not d.recorded]


def _bag(what: str, member: int) -> str:
    return SHARE_BAGS[what].format(member)


# ------------------------------------------------------------------------------------ record


def test_each_split_pin_has_its_threshold_set_check_value_custodians_and_bags(
    journals: Path,
) -> None:
    record = _record(journals)
    assert [s.what for s in record.splits] == [USER_PIN, SO_PIN]
    for split in record.splits:
        assert split.initialised and split.step_number == 8
        assert (split.threshold, split.member_count) == (2, 3)
        assert (split.set_identifier, split.check_value) == SHARE_SETS[split.what]
        assert [s.custodian for s in split.shares] == ["bob", "carol", "frank"]
        assert [s.member_index for s in split.shares] == [1, 2, 3]
        prefix = "user-pin-share" if split.what == USER_PIN else "so-pin-share"
        assert [s.share for s in split.shares] == [f"{prefix}-{i}" for i in (1, 2, 3)]
        assert [s.sealed.bag if s.sealed else None for s in split.shares] == [
            _bag(split.what, i) for i in (1, 2, 3)
        ]
    assert not [d for d in record.deviations if not d.recorded]


def test_an_activation_names_the_custodians_combined_and_the_shares_refused(
    journals: Path,
) -> None:
    (activation,) = _record(journals).activations
    assert activation.activated and activation.what == USER_PIN
    assert activation.step_number == 10
    assert (activation.threshold, activation.member_count) == (2, 3)
    assert activation.custodians == ("bob", "carol")
    assert [(e.custodian, e.attempt, e.member_index) for e in activation.accepted] == [
        ("bob", 2, 1),
        ("carol", 2, 2),
    ]
    assert [(e.custodian, e.attempt, e.problem) for e in activation.rejected] == [
        (custodian, 1, problem) for custodian, problem in REFUSED_SHARES
    ]
    assert activation.login_seq is not None and not activation.login_refused


def test_pin_shares_in_custody_are_known_items_with_their_bags(journals: Path) -> None:
    record = _record(journals)
    found = record.pin_share("so-pin-share-3")
    assert found is not None
    split, slot = found
    assert (split.what, slot.member_index, slot.custodian) == (SO_PIN, 3, "frank")
    assert slot.sealed is not None and slot.sealed.bag == _bag(SO_PIN, 3)
    assert record.pin_share("hsm") is None


def test_shares_typed_without_reaching_the_quorum_are_an_activation_not_made(
    journals: Path,
) -> None:
    entries = _entries(journals)
    # The journal as it stands when the second custodian's shares are still being refused.
    cut = next(
        e.seq for e in entries if e.event == "share.rejected" and e.data["custodian"] == "carol"
    )
    record = ceremony_record(entries[:cut])
    (activation,) = record.activations
    assert not activation.activated and activation.custodians == ()
    assert len(activation.accepted) == 1 and len(activation.rejected) == 2
    step = next(s for s in record.steps if s.step.id == "hsm-login")
    assert not step.ok


def test_a_script_without_activation_has_no_split(journals: Path) -> None:
    record = ceremony_record(_entries(journals, "root-csr"))
    assert record.splits == () and record.activations == ()


# ------------------------------------------------------------------------------------ checks


def test_a_quorum_of_custodians_whose_shares_were_not_accepted_is_a_deviation(
    journals: Path,
) -> None:
    entries = _changed(_entries(journals), "quorum.activated", {"custodians": ["bob", "frank"]})
    findings = _findings(entries)
    assert any("custodians whose shares of the HSM user PIN were combined" in f for f in findings)
    assert any("actors of quorum.activated" in f for f in findings)


def test_a_quorum_below_the_threshold_is_a_deviation(journals: Path) -> None:
    entries = _changed(_entries(journals), "quorum.activated", {"custodians": ["bob", "bob"]})
    assert any(
        "2 different custodians' shares of the HSM user PIN / 1 custodian(s)" in f
        for f in _findings(entries)
    )


def test_an_m_of_n_login_without_shares_combined_is_a_deviation(journals: Path) -> None:
    # The quorum.activated entry replaced by one the report does not know (the chain is kept).
    entries = [
        dataclasses.replace(e, event="note.recorded") if e.event == "quorum.activated" else e
        for e in _entries(journals)
    ]
    assert any("no shares were combined in the step" in f for f in _findings(entries))


def test_a_typed_pin_where_the_script_declares_activation_is_a_deviation(
    journals: Path,
) -> None:
    entries = _changed(_entries(journals), "hsm.login", {"activation": None})
    assert any("a typed PIN logged in" in f for f in _findings(entries))


def test_a_bag_that_differs_from_the_initialisation_record_is_a_deviation(
    journals: Path,
) -> None:
    entries = _changed(_entries(journals), "share.sealed", {"bag": "TEB-999999"}, nth=1)
    assert any(
        "list of the HSM user PIN shares sealed" in f and "share.sealed entries" in f
        for f in _findings(entries)
    )


def test_a_share_sealed_for_another_custodian_is_a_deviation(journals: Path) -> None:
    entries = _changed(_entries(journals), "share.sealed", {"custodian": "frank"})
    findings = _findings(entries)
    assert any("custodian and member number of share user-pin-share-1" in f for f in findings)


def test_a_set_other_than_the_scripts_is_a_deviation(journals: Path) -> None:
    entries = _entries(journals)
    initialised = next(e for e in entries if e.event == "token.initialised")
    activation = {**initialised.data["activation"]}  # type: ignore[dict-item]
    activation[USER_PIN] = {**activation[USER_PIN], "threshold": 3}
    entries = _changed(entries, "token.initialised", {"activation": activation})
    assert any("threshold and custodians of the HSM user PIN" in f for f in _findings(entries))


# ------------------------------------------------------------------------------------ paper


@needs_poppler
def test_the_report_shows_the_split_pins_and_the_activation(journals: Path, tmp_path: Path) -> None:
    text = _text(_entries(journals), tmp_path / "report.pdf")
    flat = squeeze(text)
    number = NUMBER["quorum"]
    user_set, user_check = SHARE_SETS[USER_PIN]
    so_set, so_check = SHARE_SETS[SO_PIN]
    for item in (
        f"{number}. m-of-n activation [EV-QUORUM]",
        "No PIN and no word of any share is in the journal or in this report.",
        "HSM user PIN: any 2 of 3 custodians",
        "HSM security officer PIN: any 2 of 3 custodians",
        "2 of 3: any 2 custodians' shares give the PIN; fewer give nothing",
        str(user_set),
        user_check,
        str(so_set),
        so_check,
        "user-pin-share-3",
        _bag(USER_PIN, 3),
        _bag(SO_PIN, 1),
        "Activation of the HSM user PIN at step 10 (Activate the new token)",
        "Bob Okafor (share 1 of 3, accepted at attempt 2",
        "Carol Nguyen (share 2 of 3, accepted at attempt 2",
        "2 of 3 needed; 2 combined: met",
        "the token accepted the PIN the shares combine to",
        "Shares refused (2)",
        "word 7 is not a SLIP-39 word; check it against the sheet.",
        f"this share belongs to another share set (set identifier {so_set}, expected {user_set})",
    ):
        assert squeeze(item) in flat, item
    # The collector's "Share from <name>:" is not repeated next to the name.
    assert squeeze("Share from Bob Okafor") not in flat


@needs_poppler
def test_the_step_results_name_the_bags_and_the_custodians(journals: Path, tmp_path: Path) -> None:
    flat = squeeze(_text(_entries(journals), tmp_path / "report.pdf"))
    for item in (
        "Token initialised as exr-root-r2 (serial HSM-0005)",
        "HSM user PIN split 2 of 3. Shares sealed: Bob Okafor (1 of 3, bag "
        f"{_bag(USER_PIN, 1)}), Carol Nguyen (2 of 3, bag {_bag(USER_PIN, 2)}), Frank Moreau "
        f"(3 of 3, bag {_bag(USER_PIN, 3)})",
        "HSM security officer PIN split 2 of 3. Shares sealed: Bob Okafor (1 of 3, bag "
        f"{_bag(SO_PIN, 1)})",
        "Bob Okafor's share of the HSM user PIN REFUSED at attempt 1: word 7 is not a SLIP-39 word",
        "Activated by Bob Okafor and Carol Nguyen (2 of 3): their shares of the HSM user PIN "
        "combined",
        "The token accepted the PIN the custodians' shares combine to (nobody typed or saw it)",
    ):
        assert squeeze(item) in flat, item


@needs_poppler
def test_custody_shows_pin_shares_with_the_bags_they_were_sealed_in(
    journals: Path, tmp_path: Path
) -> None:
    text = _text(_entries(journals), tmp_path / "report.pdf")
    custody = text[text.index("Custody after the ceremony [EV-CUSTODY]") :]
    custody = custody[: custody.index("Journal position covered")]
    flat = squeeze(custody)
    assert squeeze("not a material or share of the script") not in flat
    for what, prefix in ((USER_PIN, "user-pin-share"), (SO_PIN, "so-pin-share")):
        for member in (1, 2, 3):
            assert squeeze(f"Share {member} of 3 of the {what}") in flat
            assert squeeze(f"id {prefix}-{member}") in flat
            assert squeeze(_bag(what, member)) in flat
    assert squeeze("typed twice at step 8") in flat


@needs_poppler
def test_an_activation_not_made_is_shown_in_red_words(journals: Path, tmp_path: Path) -> None:
    entries = _entries(journals)
    cut = next(
        e.seq for e in entries if e.event == "share.rejected" and e.data["custodian"] == "carol"
    )
    flat = squeeze(_text(entries[:cut], tmp_path / "report.pdf"))
    assert squeeze("NOT ACTIVATED: 1 share(s) accepted, 2 needed") in flat
    assert squeeze("no PIN was combined") in flat


@needs_poppler
def test_a_script_without_activation_says_so(journals: Path, tmp_path: Path) -> None:
    flat = squeeze(_text(_entries(journals, "root-csr"), tmp_path / "report.pdf"))
    assert squeeze("The script declares no m-of-n activation (no hsm.activation)") in flat


def test_the_same_journal_gives_the_same_pdf_bytes(journals: Path) -> None:
    first = render_ceremony_report(_entries(journals))
    assert first == render_ceremony_report(read_entries(_journal(journals)))
