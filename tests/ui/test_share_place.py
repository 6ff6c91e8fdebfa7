"""Where a custodian's share sits in its set, and which PIN prompts may show the rehearsal hint."""

from __future__ import annotations

from sealroom.ceremony.backup import kek_what
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.resplit import old_kek_what
from sealroom.ui.operator import _user_pin_prompt
from sealroom.ui.shares import share_place, spoken
from tests.fakes import ROOT_SCRIPT


def test_a_backup_share_is_placed_in_its_set() -> None:
    script = load_script(ROOT_SCRIPT).script
    backup = script.backups[0]
    holders = [h.custodian for h in backup.shares]
    place = share_place(script, holders[1], kek_what(backup))
    # Custodians read "the key that unlocks backup X", not the engine's "key-encryption key".
    assert place == (
        f"2 of {len(holders)}; any {backup.threshold} of the {len(holders)} shares together "
        f"rebuild the key that unlocks backup {backup.id}"
    )
    assert share_place(script, "alice", kek_what(backup)) is None  # holds no share


def test_a_share_of_the_set_a_resplit_replaces_is_placed_in_the_old_set() -> None:
    script = load_script(ROOT_SCRIPT.with_name("custodian-change.yaml")).script
    backup = script.backups[0]
    assert backup.resplit is not None
    old = [h.custodian for h in backup.resplit.old_shares]
    place = share_place(script, old[-1], old_kek_what(backup))
    assert place is not None and place.startswith(f"{len(old)} of {len(old)}; any ")
    assert place.endswith(f"the key that unlocks backup {backup.id} (old set, being replaced)")


def test_only_user_pin_prompts_show_the_rehearsal_hint() -> None:
    assert _user_pin_prompt("HSM user PIN")
    assert _user_pin_prompt("Restore-test HSM user PIN")
    assert not _user_pin_prompt("HSM security officer PIN")
    assert not _user_pin_prompt("Restore-test HSM security officer PIN")


def test_a_pin_is_named_as_it_is_and_a_kek_as_the_key_that_unlocks_the_backup() -> None:
    assert spoken("HSM user PIN") == "HSM user PIN"
    assert spoken("Backup root-backup-a key-encryption key") == (
        "key that unlocks backup root-backup-a"
    )
