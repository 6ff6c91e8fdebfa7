"""m-of-n activation through the engine: random PINs split at initialisation, k shares to log in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sealroom.backup.pin import pin_from_secret
from sealroom.ceremony.loader import load_script
from sealroom.errors import CeremonyAborted, CeremonyError
from tests.fakes import FakeWorld, ScriptedOperator, fake_world
from tests.leaks import share_run_in

SCRIPT = Path(__file__).resolve().parents[2] / "ceremony_scripts" / "hsm-initialisation.yaml"


def world() -> tuple[FakeWorld, ScriptedOperator]:
    loaded = load_script(SCRIPT)
    w = fake_world(loaded)
    w.hsm.pin = "not-set-yet"
    operator = ScriptedOperator(loaded.script)
    operator.sheets = w.sheets
    return w, operator


def _data(w: FakeWorld, event: str) -> list[dict[str, object]]:
    return [e["data"] for e in w.journal.entries if e["event"] == event]  # type: ignore[misc]


def _all_words(w: FakeWorld) -> set[str]:
    return {word for _sheet, words in w.sheets.sheets.values() for word in words}


def test_initialisation_splits_both_pins_and_seals_every_sheet_in_a_bag() -> None:
    w, operator = world()
    assert w.runner.run(operator).completed
    initialised = _data(w, "token.initialised")[0]
    sets = initialised["activation"]
    assert isinstance(sets, dict)
    assert set(sets) == {"HSM user PIN", "HSM security officer PIN"}
    for data in sets.values():
        assert data["threshold"] == 2
        assert data["custodians"] == ["bob", "carol", "frank"]
        assert len(data["check_value"]) == 6
    sealed = _data(w, "share.sealed")
    assert [(s["custodian"], s["member_index"]) for s in sealed] == [
        ("bob", 1),
        ("carol", 2),
        ("frank", 3),
    ] * 2
    assert [s["bag"] for s in sealed] == [f"TEB-{900001 + i}" for i in range(6)]
    # each custodian was called forward before their sheet printed, one at a time
    assert [x for x in operator.shown if x.startswith("ready:")][:3] == [
        "ready:bob:HSM user PIN",
        "ready:carol:HSM user PIN",
        "ready:frank:HSM user PIN",
    ]
    # the sheets carry the public facts, and 20 words each
    sheet, words = w.sheets.sheets[("Frank Moreau", "HSM user PIN share")]
    assert (sheet.member_index, sheet.member_count, sheet.threshold) == (3, 3, 2)
    assert sheet.rehearsal and len(words) == 20


def test_two_custodians_activate_the_token_and_are_named_in_the_journal() -> None:
    w, operator = world()
    assert w.runner.run(operator).completed
    activated = _data(w, "quorum.activated")[0]
    assert activated["what"] == "HSM user PIN"
    assert activated["custodians"] == ["bob", "carol"]  # the first two present, in member order
    login = _data(w, "hsm.login")[0]
    assert login["activation"] == "m-of-n"
    assert [a["event"] for a in w.journal.entries if a["event"].startswith("share.")][-2:] == [
        "share.accepted",
        "share.accepted",
    ]
    # the PIN the token got is the base32 of a 16-byte secret, never typed by anyone
    assert len(w.hsm.pin) == 26 and w.hsm.pin == w.hsm.pin.upper()
    assert pin_from_secret(bytes(16)) != w.hsm.pin


def test_no_share_word_and_no_pin_reaches_the_journal() -> None:
    w, operator = world()
    w.runner.run(operator)
    text = json.dumps(w.journal.entries)
    words = _all_words(w)
    assert len(words) > 30
    for _sheet, share in w.sheets.sheets.values():
        assert share_run_in(share, text) is None
    assert w.hsm.pin not in text and w.hsm.so_pin not in text


def test_a_mistyped_word_is_refused_by_position_and_the_custodian_tries_again() -> None:
    w, operator = world()
    first = operator.share_plan.setdefault("bob", [])

    def mistyped() -> str:
        words = list(w.sheets.words("Bob Okafor", "HSM user PIN"))
        words[6] = "academic" if words[6] != "academic" else "acid"
        return " ".join(words)

    # Bob's first attempt comes after the sheets are printed: plan it lazily.
    original = operator.share_words

    def share_words(view, custodian, what, attempt, attempts_left, refused):  # type: ignore[no-untyped-def]
        if custodian == "bob" and attempt == 1 and not first:
            return mistyped()
        return original(view, custodian, what, attempt, attempts_left, refused)

    operator.share_words = share_words  # type: ignore[method-assign]
    assert w.runner.run(operator).completed
    rejected = _data(w, "share.rejected")
    assert len(rejected) == 1 and rejected[0]["custodian"] == "bob"
    problem = str(rejected[0]["problem"])
    assert problem.startswith("Share from Bob Okafor")
    assert "word 7" in problem or "checksum" in problem, problem
    # neither what was typed nor what the sheet says is repeated back
    assert "academic" not in problem and "acid" not in problem
    accepted = _data(w, "share.accepted")
    assert [(a["custodian"], a["attempt"]) for a in accepted] == [("bob", 2), ("carol", 1)]


def test_one_custodian_cannot_activate_the_token() -> None:
    w, operator = world()
    # Bob gives up on his share three times; Frank is there, Carol has left.
    operator.share_plan["bob"] = ["wrong"] * 3
    operator.share_plan["carol"] = ["wrong"] * 3
    with pytest.raises((CeremonyAborted, CeremonyError)):
        w.runner.run(operator)
    assert "hsm.login" not in w.journal.events()
    assert len(_data(w, "share.rejected")) == 6
    assert len(_data(w, "share.accepted")) == 1  # Frank's alone is not enough


def test_zeroising_a_token_whose_so_pin_is_split_takes_the_so_custodians_shares() -> None:
    from dataclasses import replace

    from sealroom.backup.sharing import Slip39Sharing
    from sealroom.ceremony.ports import ShareSheet
    from sealroom.ceremony.script import Activation, PinSplit, ShareHolder

    loaded = load_script(SCRIPT.with_name("key-destruction.yaml"))
    script = loaded.script
    officers = [p.id for p in script.participants if "crypto-officer" in p.roles]
    holders = tuple(ShareHolder(share=f"s{i}", custodian=p) for i, p in enumerate(officers))
    split = PinSplit(threshold=2, shares=holders)
    hsm = script.hsm_required().model_copy(
        update={"activation": Activation(user_pin=split, so_pin=split)}
    )
    w = fake_world(replace(loaded, script=script.model_copy(update={"hsm": hsm})))
    sharing = Slip39Sharing()
    names = [script.participant(p).name for p in officers]
    for what, attr in (("HSM user PIN", "pin"), ("HSM security officer PIN", "so_pin")):
        secret = sharing.new_secret(os.urandom)
        setattr(w.hsm, attr, sharing.pin(secret))
        for share in sharing.split(secret, 2, names, os.urandom).shares:
            sheet = ShareSheet(
                "x",
                f"{what} share",
                "t",
                share.custodian,
                share.member_index,
                share.member_count,
                2,
                0,
                "000000",
                True,
            )
            w.sheets.print_share_sheet(sheet, share.words)
    for spec in script.keys:
        w.hsm.seed_key(spec)
    operator = ScriptedOperator(w.runner.script)
    operator.sheets = w.sheets
    assert w.runner.run(operator).completed
    activated = _data(w, "quorum.activated")
    assert [a["what"] for a in activated] == ["HSM user PIN", "HSM security officer PIN"]
    assert _data(w, "token.zeroised")[0]["after"] == []
