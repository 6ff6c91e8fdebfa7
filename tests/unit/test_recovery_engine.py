"""recover-key on fakes: a recovery, a migration, and each refusal leaving the target unchanged."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from sealroom.backup.sharing import Slip39Sharing
from sealroom.ceremony.backup import blob_name
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.recovery import RecoveryExpectation
from sealroom.ceremony.runner import Runner
from sealroom.errors import CeremonyError
from sealroom.rehearsal_backup import backups_to_stand_in, prepare_stand_in_backups
from tests.fakes import (
    FakeHsm,
    FakeKeyBackup,
    FakeSheetPrinter,
    FakeWorld,
    ScriptedOperator,
    fake_world,
)
from tests.leaks import share_run_in

SCRIPTS = Path(__file__).resolve().parents[2] / "ceremony_scripts"
SCRIPT = SCRIPTS / "key-recovery.yaml"
BACKUP = "r2-backup-b"
WHAT = "Backup r2-backup-b key-encryption key"


@dataclasses.dataclass
class RecoveryWorld:
    world: FakeWorld
    runner: Runner
    backup: FakeKeyBackup
    source: FakeHsm
    operator: ScriptedOperator
    expected: RecoveryExpectation


def recovery_world(rehearsal: bool = True, script: Path = SCRIPT) -> RecoveryWorld:
    """A replacement HSM without the key; the backup an earlier ceremony made on another token."""
    loaded = load_script(script)
    w = fake_world(loaded, rehearsal=rehearsal)
    backup, source = FakeKeyBackup(), FakeHsm()
    made = prepare_stand_in_backups(
        loaded.script, source, backup, Slip39Sharing(), w.sheets, source.pin
    )
    adapters = dataclasses.replace(w.runner.ports, backup=backup)
    runner = Runner(loaded, adapters, rehearsal=rehearsal)
    # medium D's bag is typed when the room leaves for the HSM self-test, and again on return
    operator = ScriptedOperator(loaded.script, typed={"self-test-break": ["TEB-221205"] * 2})
    operator.sheets = w.sheets
    return RecoveryWorld(w, runner, backup, source, operator, made[BACKUP])


def _data(r: RecoveryWorld, event: str) -> list[dict[str, object]]:
    return [e["data"] for e in r.world.journal.entries if e["event"] == event]  # type: ignore[misc]


def _words(r: RecoveryWorld, name: str) -> str:
    return " ".join(r.world.sheets.words(name, WHAT))


def _refused(r: RecoveryWorld) -> str:
    """Run the ceremony, expect recover-key to be refused; nothing written to the target."""
    with pytest.raises(CeremonyError):
        r.runner.run(r.operator)
    failed = _data(r, "recovery.failed")
    assert failed, r.operator.problems
    assert failed[0]["target_unchanged"] is True
    assert failed[0]["objects_before"] == failed[0]["objects_after"] == 0
    assert "key.recovered" not in r.world.journal.events()
    assert r.world.hsm.object_count() == 0 or not r.world.hsm.logged_in
    assert not r.world.hsm.seeded and not r.world.hsm.keys
    return str(failed[0]["problem"])


def test_only_backups_recovered_without_being_made_get_a_stand_in() -> None:
    recovery = load_script(SCRIPT).script
    migration = load_script(SCRIPTS / "key-migration.yaml").script
    assert [b.id for b in backups_to_stand_in(recovery)] == [BACKUP]
    assert backups_to_stand_in(migration) == []


def test_the_stand_in_leaves_the_blob_on_the_media_sheets_and_no_key_on_its_token() -> None:
    r = recovery_world()
    name = blob_name(load_script(SCRIPT).script.backups[0])
    assert r.backup.media["media-c"][name] == r.backup.media["media-d"][name]
    assert len(r.world.sheets.sheets) == 5
    assert all(s.rehearsal for s, _ in r.world.sheets.sheets.values())
    assert not r.source.seeded and not r.source.keys  # destroyed after wrapping
    assert all(not any(kek) for kek in r.backup.keks)


def test_a_stand_in_is_refused_outside_a_rehearsal() -> None:
    r = recovery_world(rehearsal=False)
    with pytest.raises(CeremonyError, match="rehearsal"):
        r.runner.backups.recovery.declare_stand_ins({BACKUP: r.expected})


def test_the_key_is_recovered_as_a_token_object_that_signs() -> None:
    r = recovery_world()
    r.runner.backups.recovery.declare_stand_ins({BACKUP: r.expected})
    result = r.runner.run(r.operator)
    assert result.completed, r.operator.problems
    recovered = _data(r, "key.recovered")[0]
    assert recovered["backup_id"] == BACKUP
    assert recovered["check_value_matched"] and recovered["blob_sha256_matched"]
    assert recovered["blob_sha256"] == r.expected.blob_sha256
    assert recovered["medium"] == {
        "material": "media-c",
        "file": f"{BACKUP}.sealroom-backup",
        "sha256": r.expected.blob_sha256,
    }
    assert recovered["custodians"] == ["frank", "hana", "ines"]
    assert recovered["unwrapped_as"] == "token object"
    assert recovered["verified"] is True and recovered["fingerprint_matched"] is True
    fingerprint = recovered["fingerprint"]
    assert isinstance(fingerprint, dict) and fingerprint["hex"] == r.expected.fingerprint
    assert recovered["objects_before"] == 0 and recovered["objects_after"] == 2
    expected = recovered["expected"]
    assert isinstance(expected, dict) and expected["stand_in"] is True
    script_values = expected["script_values"]
    assert isinstance(script_values, dict) and script_values["made_in"] == "EXR-KBK-2027-07"
    key = recovered["key"]
    assert isinstance(key, dict) and key["attributes"]["EXTRACTABLE"] is False  # type: ignore[index]
    assert "unwrap:r2-key:token" in r.world.hsm.calls
    assert r.backup.signature_checks == 1
    # no word reaches the journal, and the combined KEK was wiped
    text = json.dumps(r.world.journal.entries, default=str).lower()
    for _sheet, words in r.world.sheets.sheets.values():
        assert share_run_in(words, text) is None
    assert all(not any(kek) for kek in r.backup.keks)


def test_the_script_values_are_checked_when_no_stand_in_is_declared() -> None:
    r = recovery_world()
    problem = _refused(r)
    assert "SHA-256" in problem and "2c8f4a6e" in problem  # the script's (fictional) blob hash


def test_the_script_values_recover_when_they_are_the_backup_s(tmp_path: Path) -> None:
    import base64

    r0 = recovery_world()
    text = SCRIPT.read_text()
    stated = load_script(SCRIPT).script.backups[0].recovery
    assert stated is not None
    text = (
        text.replace(stated.check_value, r0.expected.check_value)
        .replace(stated.blob_sha256, r0.expected.blob_sha256)
        .replace(stated.fingerprint, r0.expected.fingerprint)
    )
    start = text.index("      public_key: >-\n")
    end = text.index("\n\n", start)
    text = (
        text[:start]
        + f"      public_key: {base64.b64encode(r0.expected.spki_der).decode()}"
        + text[end:]
    )
    script = tmp_path / "key-recovery.yaml"
    script.write_text(text)
    loaded = load_script(script)
    adapters = dataclasses.replace(r0.runner.ports)
    runner = Runner(loaded, adapters, rehearsal=True)  # a rehearsal, but no stand-in declared
    result = runner.run(r0.operator)
    assert result.completed, r0.operator.problems
    expected = _data(r0, "key.recovered")[0]["expected"]
    assert isinstance(expected, dict)
    assert expected["stand_in"] is False and expected["source"] == "script"


def test_k_minus_one_shares_are_refused() -> None:
    r = recovery_world()
    r.runner.backups.recovery.declare_stand_ins({BACKUP: r.expected})
    for custodian in ("ines", "judit", "lena"):
        r.operator.share_plan[custodian] = ["abandon"] * 3
    problem = _refused(r)
    assert "2 share(s)" in problem and "3 are needed" in problem
    assert "unwrap:r2-key:token" not in r.world.hsm.calls


def test_a_typo_is_refused_by_its_checksum_then_the_right_words_are_accepted() -> None:
    r = recovery_world()
    r.runner.backups.recovery.declare_stand_ins({BACKUP: r.expected})
    words = _words(r, "Hana Kowalski").split()
    words[10] = "academic" if words[10] != "academic" else "acid"
    r.operator.share_plan["hana"] = [" ".join(words), None]
    assert r.runner.run(r.operator).completed
    rejected = _data(r, "share.rejected")
    assert [x["custodian"] for x in rejected] == ["hana"]
    assert "checksum" in str(rejected[0]["problem"])
    assert "academic" not in str(rejected[0]["problem"])


def test_a_share_from_another_set_is_refused() -> None:
    r = recovery_world()
    r.runner.backups.recovery.declare_stand_ins({BACKUP: r.expected})
    other = Slip39Sharing().split(
        bytes(32), 3, ["Frank Liu", "Hana Kowalski", "Ines Duarte", "Judit Varga", "Lena Berg"],
        os.urandom,
    )  # fmt: skip
    stranger = " ".join(other.shares[1].words)
    r.operator.share_plan["hana"] = [stranger, stranger, stranger]
    r.operator.share_plan["judit"] = [stranger, stranger, stranger]
    r.operator.share_plan["lena"] = [stranger, stranger, stranger]
    problem = _refused(r)
    rejected = [str(x["problem"]) for x in _data(r, "share.rejected")]
    assert rejected and all("another share set" in p for p in rejected)
    assert "are needed" in problem


def test_a_duplicated_share_is_refused() -> None:
    r = recovery_world()
    r.runner.backups.recovery.declare_stand_ins({BACKUP: r.expected})
    frank = _words(r, "Frank Liu")
    r.operator.share_plan["hana"] = [frank, None]
    assert r.runner.run(r.operator).completed
    rejected = _data(r, "share.rejected")
    assert "repeats Frank Liu's share" in str(rejected[0]["problem"])


def test_a_wrong_kcv_is_refused_before_anything_is_unwrapped() -> None:
    r = recovery_world()
    wrong = "000000" if r.expected.check_value != "000000" else "111111"
    r.runner.backups.recovery.declare_stand_ins(
        {BACKUP: dataclasses.replace(r.expected, check_value=wrong)}
    )
    problem = _refused(r)
    assert f"not {wrong}" in problem and "another backup" in problem
    assert "unwrap:r2-key:token" not in r.world.hsm.calls
    assert all(not any(kek) for kek in r.backup.keks)


def test_a_wrong_blob_is_refused_before_any_word_is_typed() -> None:
    r = recovery_world()
    r.runner.backups.recovery.declare_stand_ins({BACKUP: r.expected})
    r.backup.corrupt_on_read["media-c"] = b"another blob altogether"
    problem = _refused(r)
    assert "media-c" in problem and r.expected.blob_sha256 in problem
    assert not [x for x in r.operator.refusals]  # nobody was asked for their words


def test_a_truncated_blob_is_refused() -> None:
    import hashlib

    r = recovery_world()
    whole = r.backup.media["media-c"][f"{BACKUP}.sealroom-backup"]
    cut = whole[: len(whole) // 2]
    r.backup.corrupt_on_read["media-c"] = cut
    # even a script stating the truncated file's hash does not get it unwrapped
    r.runner.backups.recovery.declare_stand_ins(
        {BACKUP: dataclasses.replace(r.expected, blob_sha256=hashlib.sha256(cut).hexdigest())}
    )
    problem = _refused(r)
    assert "not a backup blob" in problem


def test_a_blob_of_another_key_is_refused() -> None:
    import hashlib

    r = recovery_world()
    # the backup of another key (made the same way, on another token), on medium C
    other_media = FakeKeyBackup()
    made = prepare_stand_in_backups(
        load_script(SCRIPT).script, FakeHsm(), other_media, Slip39Sharing(),
        FakeSheetPrinter(), "4711-2027",
    )[BACKUP]  # fmt: skip
    foreign = other_media.media["media-c"][f"{BACKUP}.sealroom-backup"]
    r.backup.corrupt_on_read["media-c"] = foreign
    r.runner.backups.recovery.declare_stand_ins(
        {BACKUP: dataclasses.replace(r.expected, blob_sha256=hashlib.sha256(foreign).hexdigest())}
    )
    assert made.fingerprint != r.expected.fingerprint
    problem = _refused(r)
    assert "backup of another key" in problem


def test_a_public_key_not_matching_its_fingerprint_is_refused() -> None:
    r = recovery_world()
    r.runner.backups.recovery.declare_stand_ins(
        {BACKUP: dataclasses.replace(r.expected, fingerprint="0" * 64)}
    )
    problem = _refused(r)
    assert "not the fingerprint" in problem


def test_a_migration_moves_the_key_to_the_target_and_the_source_is_left_empty() -> None:
    loaded = load_script(SCRIPTS / "key-migration.yaml")
    w = fake_world(loaded)
    w.hsm.seed_key(loaded.script.key("legacy-key"))
    backup, target = FakeKeyBackup(), FakeHsm()
    adapters = dataclasses.replace(w.runner.ports, backup=backup, restore_hsm=target)
    runner = Runner(loaded, adapters, rehearsal=True)
    operator = ScriptedOperator(loaded.script)
    operator.sheets = w.sheets
    operator.so_pin = w.hsm.so_pin  # the source HSM's security officer PIN, for its zeroisation
    result = runner.run(operator)
    assert result.completed, operator.problems
    made = next(e["data"] for e in w.journal.entries if e["event"] == "backup.made")
    moved = next(e["data"] for e in w.journal.entries if e["event"] == "key.recovered")
    assert moved["migration"] is True
    assert moved["fingerprint"]["hex"] == made["fingerprint"]["hex"]  # type: ignore[index]
    assert moved["source_token"] and moved["target_token"]
    assert "unwrap:legacy-key:token" in target.calls
    assert "exr-legacy-root-2011" in target.seeded  # a persistent token object on the target
    assert "destroy:legacy-key" in w.hsm.calls and "zeroise" in w.hsm.calls
    assert not w.hsm.seeded and not w.hsm.keys  # the source is empty
    assert "ceremony.closed" in w.journal.events()  # the migration counts as the restore


def test_lint_asks_a_recovery_for_the_values_of_its_backup(tmp_path: Path) -> None:
    from sealroom.ceremony.loader import lint_findings

    text = SCRIPT.read_text()
    start = text.index("    recovery:\n")
    end = text.index("\n\n", start)
    script = tmp_path / "key-recovery.yaml"
    script.write_text(text[:start] + text[end + 1 :])
    findings = lint_findings(script)[2]
    assert any("states no recovery values" in f.message for f in findings)
    stated = load_script(SCRIPT).script.backups[0].recovery
    assert stated is not None
    script.write_text(text.replace(stated.fingerprint, "a" * 64))
    findings = lint_findings(script)[2]
    assert any("not the fingerprint" in f.message for f in findings)
