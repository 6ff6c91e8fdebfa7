"""resplit-backup on fakes: the old set combines, the KCV is checked, a new set replaces it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from sealroom.backup.sharing import Slip39Sharing
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.recovery import RecoveryExpectation
from sealroom.ceremony.resplit import old_kek_what
from sealroom.ceremony.runner import Runner
from sealroom.errors import CeremonyError
from sealroom.rehearsal_backup import backups_to_stand_in, prepare_stand_in_backups
from tests.fakes import FakeHsm, FakeKeyBackup, FakeWorld, ScriptedOperator, fake_world
from tests.leaks import share_run_in

SCRIPT = Path(__file__).resolve().parents[2] / "ceremony_scripts" / "custodian-change.yaml"
BACKUP = "r2-backup-a"
NEW = "Backup r2-backup-a key-encryption key"


@dataclasses.dataclass
class ResplitWorld:
    world: FakeWorld
    runner: Runner
    backup: FakeKeyBackup
    operator: ScriptedOperator
    expected: RecoveryExpectation


def resplit_world(**expected_changes: object) -> ResplitWorld:
    loaded = load_script(SCRIPT)
    w = fake_world(loaded, rehearsal=True)
    backup, source = FakeKeyBackup(), FakeHsm()
    made = prepare_stand_in_backups(
        loaded.script, source, backup, Slip39Sharing(), w.sheets, source.pin
    )
    runner = Runner(loaded, dataclasses.replace(w.runner.ports, backup=backup), rehearsal=True)
    expected = dataclasses.replace(made[BACKUP], **expected_changes)  # type: ignore[arg-type]
    runner.backups.recovery.declare_stand_ins({BACKUP: expected})
    operator = ScriptedOperator(loaded.script)
    operator.sheets = w.sheets
    return ResplitWorld(w, runner, backup, operator, made[BACKUP])


def _events(r: ResplitWorld) -> list[str]:
    return list(r.world.journal.events())


def _data(r: ResplitWorld, event: str) -> dict[str, object]:
    return next(e["data"] for e in r.world.journal.entries if e["event"] == event)  # type: ignore[no-any-return]


def _combine(r: ResplitWorld, names: list[str], what: str) -> bytes:
    sets = [r.world.sheets.words(n, what) for n in names]
    from shamir_mnemonic import combine_mnemonics

    return combine_mnemonics([" ".join(words) for words in sets])


def test_a_resplit_backup_is_stood_in_with_the_old_set() -> None:
    r = resplit_world()
    assert [b.id for b in backups_to_stand_in(load_script(SCRIPT).script)] == [BACKUP]
    old = [
        s
        for s, _ in r.world.sheets.sheets.values()
        if s.title == f"{old_kek_what(load_script(SCRIPT).script.backups[0])} share"
    ]
    assert sorted(s.custodian for s in old) == sorted(
        [
            "Frank Liu",
            "Hana Kowalski",
            "Ines Duarte",
            "Judit Varga",
            "Kemal Aydin (left 2027-06-30; absent)",
        ]
    )


def test_the_old_set_combines_and_the_new_set_gives_the_same_kek() -> None:
    r = resplit_world()
    result = r.runner.run(r.operator)
    assert result.completed, r.operator.problems
    events = _events(r)
    assert events.index("shares.voided") < events.index("backup.resplit")
    voided = _data(r, "shares.voided")
    resplit = _data(r, "backup.resplit")
    assert voided["combined_by"] == ["frank", "hana", "judit"]
    assert [h["custodian"] for h in voided["holders"]] == [
        "frank",
        "hana",
        "ines",
        "judit",
        "kemal",
    ]  # type: ignore[attr-defined, index]
    assert voided["set_identifier"] == r.expected.set_identifier
    assert voided["reason"]
    assert resplit["check_value"] == r.expected.check_value.upper()
    assert resplit["blob_sha256_matched"] is True and resplit["verified"] is True
    assert resplit["unwrapped_as"] == "session object"
    assert resplit["objects_before"] == resplit["objects_after"]
    assert resplit["custodians"] == ["frank", "hana", "ines", "judit", "lena"]
    assert resplit["set_identifier"] != voided["set_identifier"]
    sealed = resplit["sealed"]
    assert isinstance(sealed, list) and len(sealed) == 5
    assert [s["custodian"] for s in sealed] == ["frank", "hana", "ines", "judit", "lena"]
    assert len({s["bag"] for s in sealed}) == 5
    # no token object left on the ceremony's HSM
    assert not r.world.hsm.keys and not r.world.hsm.seeded
    # three of the NEW sheets combine to the same KEK (the backup's KCV), with the new set id
    new_names = ["Ines Duarte", "Judit Varga", "Lena Berg"]
    kek = _combine(r, new_names, NEW)
    assert r.backup.check_value(bytearray(kek)).upper() == r.expected.check_value.upper()
    sheet = r.world.sheets.sheets[("Lena Berg", f"{NEW} share")][0]
    assert sheet.set_identifier == resplit["set_identifier"]
    # no word in the journal, and every KEK the port saw was wiped
    text = json.dumps(r.world.journal.entries, default=str).lower()
    for _sheet, words in r.world.sheets.sheets.values():
        assert share_run_in(words, text) is None
    assert all(not any(k) for k in r.backup.keks[:-1])


def test_k_minus_one_old_shares_are_refused_and_nothing_is_split() -> None:
    r = resplit_world()
    # Judit types Hana's old share three times (a duplicate): only two old shares are in.
    what = old_kek_what(load_script(SCRIPT).script.backups[0])
    hana = " ".join(r.world.sheets.words("Hana Kowalski", what))
    r.operator.share_plan["judit"] = [hana, hana, hana]
    with pytest.raises(CeremonyError):
        r.runner.run(r.operator)
    assert any("2 share(s)" in str(p) for p in r.operator.problems), r.operator.problems
    assert "backup.resplit" not in _events(r) and "shares.voided" not in _events(r)
    assert not any(title == f"{NEW} share" for _, title in r.world.sheets.sheets)


def test_a_wrong_kcv_is_refused_before_anything_is_split() -> None:
    r = resplit_world(check_value="ABCDEF")
    with pytest.raises(CeremonyError):
        r.runner.run(r.operator)
    assert any(
        "check value" in str(p) and "Nothing was split" in str(p) for p in r.operator.problems
    ), r.operator.problems
    assert "backup.resplit" not in _events(r) and "share.sealed" not in _events(r)
    assert not any(title == f"{NEW} share" for _, title in r.world.sheets.sheets)
    assert all(not any(k) for k in r.backup.keks)
