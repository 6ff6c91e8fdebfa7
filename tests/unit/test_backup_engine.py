"""backup-key and restore-test through the engine, on fakes: custody, journal, restore, closing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from shamir_mnemonic import combine_mnemonics

from sealroom.ceremony.backup import MadeBackup
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.runner import Runner
from sealroom.errors import CeremonyError
from tests.fakes import FakeHsm, FakeKeyBackup, FakeWorld, ScriptedOperator, fake_world
from tests.leaks import share_run_in

SCRIPT = Path(__file__).resolve().parents[2] / "ceremony_scripts" / "key-backup.yaml"
RESTORE_SO_PIN = "so-restore-0001"


@dataclasses.dataclass
class BackupWorld:
    world: FakeWorld
    runner: Runner
    backup: FakeKeyBackup
    restore: FakeHsm
    operator: ScriptedOperator


def backup_world() -> BackupWorld:
    loaded = load_script(SCRIPT)
    w = fake_world(loaded)
    w.hsm.seed_key(loaded.script.key("r2-key"))  # the R2 key an earlier ceremony made
    backup, restore = FakeKeyBackup(), FakeHsm()
    restore.so_pin = RESTORE_SO_PIN
    adapters = dataclasses.replace(w.runner.ports, backup=backup, restore_hsm=restore)
    runner = Runner(loaded, adapters, rehearsal=True)
    operator = ScriptedOperator(loaded.script)
    operator.sheets = w.sheets
    operator.so_pin = RESTORE_SO_PIN
    return BackupWorld(w, runner, backup, restore, operator)


def _data(b: BackupWorld, event: str) -> list[dict[str, object]]:
    return [e["data"] for e in b.world.journal.entries if e["event"] == event]  # type: ignore[misc]


def _sheet_words(b: BackupWorld) -> list[tuple[str, ...]]:
    return [words for _sheet, words in b.world.sheets.sheets.values()]


def test_backup_is_made_split_sealed_and_restore_tested() -> None:
    b = backup_world()
    result = b.runner.run(b.operator)
    assert result.completed
    made = _data(b, "backup.made")[0]
    assert made["backup_id"] == "r2-backup-b"
    assert made["mechanism"] == "CKM_AES_KEY_WRAP_PAD"
    assert made["threshold"] == 3 and made["share_count"] == 5
    assert made["custodians"] == ["frank", "hana", "ines", "judit", "lena"]
    # each medium was written and read back with the blob's SHA-256
    media = made["media"]
    assert isinstance(media, list)
    assert [m["material"] for m in media] == ["media-c", "media-d"]
    assert all(m["sha256"] == made["blob_sha256"] for m in media)
    assert b.backup.media["media-c"] == b.backup.media["media-d"]
    # the KCV is the backup's own, not the share set's check value
    assert made["check_value"] != made["set_check_value"]
    # five sheets, 33 words each, handed out after each custodian stepped forward, then bagged
    sealed = _data(b, "share.sealed")
    assert [s["custodian"] for s in sealed] == ["frank", "hana", "ines", "judit", "lena"]
    assert all(s["backup_id"] == "r2-backup-b" for s in sealed)
    assert [x for x in b.operator.shown if x.startswith("ready:")] == [
        f"ready:{c}:Backup r2-backup-b key-encryption key"
        for c in ("frank", "hana", "ines", "judit", "lena")
    ]
    sheets = list(b.world.sheets.sheets.values())
    assert all(len(words) == 33 for _s, words in sheets)
    for sheet, _words in sheets:
        assert sheet.ceremony_id == "EXR-KBK-2027-07"
        assert sheet.key_check_value == made["check_value"]
        assert "exr-root-r2-2027" in sheet.subject
        assert sheet.threshold == 3 and sheet.member_count == 5
    # the blob was shown as QR frames (ciphertext)
    assert any(x.startswith("qr:") for x in b.operator.shown)
    shown = [e for e in _data(b, "qr.shown") if e.get("backup_id") == "r2-backup-b"]
    assert shown and shown[0]["payload_sha256"] == made["blob_sha256"]
    # restore test: the script's three custodians, checks all passed, the token zeroised
    tested = _data(b, "restore.tested")[0]
    assert tested["passed"] is True
    assert tested["custodians"] == ["frank", "hana", "ines"]
    assert tested["check_value"] == made["check_value"]
    assert tested["blob_sha256_matched"] and tested["check_value_matched"]
    assert tested["verified"] is True and tested["objects_after_zeroise"] == 0
    assert "unwrap:r2-key:session" in b.restore.calls and "zeroise" in b.restore.calls
    assert b.backup.signature_checks == 1
    assert "wrap:r2-key" in b.world.hsm.calls


def test_no_word_and_no_kek_reaches_the_journal() -> None:
    b = backup_world()
    assert b.runner.run(b.operator).completed
    text = json.dumps(b.world.journal.entries, default=str).lower()
    for words in _sheet_words(b):
        assert share_run_in(words, text) is None
    # every KEK the engine held (generated, and combined in the restore test) was wiped
    assert len(b.backup.keks) >= 2
    assert all(not any(kek) for kek in b.backup.keks)


def test_the_sheets_combine_to_the_journaled_kek() -> None:
    b = backup_world()
    assert b.runner.run(b.operator).completed
    made = _data(b, "backup.made")[0]
    sheets = _sheet_words(b)
    secret = combine_mnemonics([" ".join(sheets[i]) for i in (1, 3, 4)])
    assert b.backup.check_value(secret) == made["check_value"]


def test_a_mistyped_share_is_refused_then_accepted() -> None:
    b = backup_world()
    # nobody types a share at the backup step: the plan is used at the restore test
    b.operator.share_plan["hana"] = ["academic acid acne"]
    assert b.runner.run(b.operator).completed
    rejected = _data(b, "share.rejected")
    assert [r["custodian"] for r in rejected] == ["hana"]
    assert "academic" not in str(rejected[0]["problem"])
    assert _data(b, "restore.tested")[0]["passed"] is True


def test_a_corrupt_medium_fails_the_restore_test_and_the_ceremony_cannot_close() -> None:
    b = backup_world()
    show_qr = b.operator.show_qr

    def spoil_after_backup(*args: object) -> None:
        # written and read back fine at backup time; the medium goes bad before the test
        b.backup.corrupt_on_read["media-d"] = b"not the blob"
        show_qr(*args)  # type: ignore[arg-type]

    b.operator.show_qr = spoil_after_backup  # type: ignore[method-assign]
    with pytest.raises(CeremonyError):
        b.runner.run(b.operator)
    events = b.world.journal.events()
    assert "backup.made" in events
    failed = _data(b, "restore.failed")
    assert failed and "media-d" in str(failed[0]["problem"])
    assert any("media-d" in p for p in b.operator.problems)
    assert "restore.tested" not in events
    assert "ceremony.closed" not in events and "ceremony.aborted" in events
    assert "unwrap:r2-key:session" not in b.restore.calls


def test_corrupt_at_backup_time_stops_before_anything_is_split() -> None:
    b = backup_world()
    b.backup.corrupt_on_read["media-c"] = b"short"
    with pytest.raises(CeremonyError):
        b.runner.run(b.operator)
    assert "share.sealed" not in b.world.journal.events()
    assert not b.world.sheets.sheets
    assert all(not any(kek) for kek in b.backup.keks)


def test_close_refuses_while_a_backup_has_no_passed_restore_test() -> None:
    b = backup_world()
    b.runner.backups.made["r2-backup-b"] = MadeBackup(
        backup_id="r2-backup-b",
        key_id="r2-key",
        check_value="abcdef",
        blob_sha256="0" * 64,
        spki_der=b"",
        certificate_id=None,
        set_identifier=1,
        set_check_value="123456",
        custodian_names=(),
    )
    with pytest.raises(CeremonyError, match="no passed restore test"):
        b.runner.close()
    b.runner.backups.tested.add("r2-backup-b")
    assert b.runner.close().completed


def test_restore_test_without_a_restore_token_is_refused() -> None:
    b = backup_world()
    adapters = dataclasses.replace(b.runner.ports, restore_hsm=None)
    runner = Runner(b.runner.loaded, adapters, rehearsal=True)
    with pytest.raises(CeremonyError):
        runner.run(b.operator)
    assert any("no restore-test token is connected" in p for p in b.operator.problems)
    assert "restore.tested" not in b.world.journal.events()
