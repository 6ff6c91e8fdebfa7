"""Rehearsal stand-in backups: what an earlier backup ceremony would have left for a recovery.

A recovery rehearsal has no earlier backup. Before the ceremony opens, for every backup the script
recovers without making it, this module takes the stand-in key the rehearsal put on the throwaway
token (or generates one), wraps it under a stand-in key-encryption key, writes the blob to the
rehearsal's media folders, splits the KEK with SLIP-39 and prints REHEARSAL share sheets for the
script's custodians (the answers file reads the words off them, as elsewhere), then destroys the
key on the throwaway token, so the recovery starts from a token without it, as a replacement HSM
does. The KEK is wiped. The stand-in's public values (KCV, blob SHA-256, public key) replace the
values the script states; the engine journals them with ``stand_in: true``. When a medium already
holds a blob with the SHA-256 the script states (an earlier rehearsal's backup copied there), no
stand-in is made: the rehearsal recovers that backup against the script's own values.

A re-split (resplit-backup) takes the KEK back from the old set's holders: for it the stand-in
splits the stand-in KEK with the old threshold among ``resplit.old_shares`` and prints their
sheets under the old set's title (``old_kek_what``), so the answers file reads each old holder's
words off a sheet, and the new sheets the ceremony prints do not collide with them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from sealroom.ceremony.backup import blob_name, kek_what
from sealroom.ceremony.custody import wipe
from sealroom.ceremony.ports import Hsm, KeyBackup, SecretSharing, ShareSheet, SheetPrinter
from sealroom.ceremony.recovery import RecoveryExpectation
from sealroom.ceremony.resplit import old_kek_what
from sealroom.ceremony.script import ActionStep, BackupSpec, Script
from sealroom.errors import SealroomError

STAND_IN_FILE = "rehearsal-inputs/stand-in-backups.json"
"""Where a rehearsal keeps the stand-in backups' public values (to resume it); never a secret."""


def backups_to_stand_in(script: Script) -> list[BackupSpec]:
    """Backups the script recovers or re-splits without making them (no backup-key step)."""

    def steps(action: str) -> set[str]:
        return {
            s.params["backup"]
            for s in script.steps
            if isinstance(s, ActionStep) and s.action == action and "backup" in s.params
        }

    made = steps("backup-key")
    used = steps("recover-key") | steps("resplit-backup")
    return [b for b in script.backups if b.id in used and b.id not in made]


def prepare_stand_in_backups(  # noqa: PLR0917 - the ports it works through
    script: Script,
    hsm: Hsm,
    port: KeyBackup,
    sharing: SecretSharing,
    sheets: SheetPrinter,
    user_pin: str,
) -> dict[str, RecoveryExpectation]:
    """Make each stand-in backup (blob on the media, sheets printed); its public values."""
    wanted = backups_to_stand_in(script)
    if not wanted:
        return {}
    made: dict[str, RecoveryExpectation] = {}
    hsm.login(user_pin)
    try:
        for backup in wanted:
            if _stated_backup_present(port, backup):
                # The media already hold the backup the script states (e.g. copied from an
                # earlier rehearsal's media): it is recovered against the script's own values.
                _remove_stand_in_key(script, hsm, backup)
                continue
            made[backup.id] = _stand_in(script, hsm, port, sharing, sheets, backup)
    finally:
        hsm.logout()
    return made


def _stated_backup_present(port: KeyBackup, backup: BackupSpec) -> bool:
    """Does a medium already hold a blob with the SHA-256 the script states for ``backup``?"""
    if backup.recovery is None:
        return False
    for material in backup.media:
        try:
            data = port.read_medium(material, blob_name(backup))
        except SealroomError:
            continue
        if hashlib.sha256(data).hexdigest() == backup.recovery.blob_sha256:
            return True
    return False


def _remove_stand_in_key(script: Script, hsm: Hsm, backup: BackupSpec) -> None:
    """The recovery target starts without the key: remove a stand-in the rehearsal put there."""
    spec = script.key(backup.key)
    try:
        hsm.find_key(spec)
    except SealroomError:
        return
    hsm.destroy_key(spec)


def _stand_in(  # noqa: PLR0917 - one call site
    script: Script,
    hsm: Hsm,
    port: KeyBackup,
    sharing: SecretSharing,
    sheets: SheetPrinter,
    backup: BackupSpec,
) -> RecoveryExpectation:
    spec = script.key(backup.key)
    try:
        key = hsm.find_key(spec)  # the stand-in key the rehearsal put on the throwaway token
    except SealroomError:
        key = hsm.generate_key(spec)
    spki = key.record.spki_der
    # A re-split takes the KEK back from the OLD set's holders: the stand-in is that set.
    resplit = backup.resplit
    holders = resplit.old_shares if resplit is not None else backup.shares
    threshold = resplit.old_threshold if resplit is not None else backup.threshold
    what = old_kek_what(backup) if resplit is not None else kek_what(backup)
    names = [script.participant(h.custodian).name for h in holders]
    kek = port.new_kek(hsm.random_bytes)
    try:
        check_value = port.check_value(kek)
        wrapped = hsm.wrap_key(spec, bytes(kek))
        blob = port.encode(wrapped, check_value, None)
        for material in backup.media:
            port.write_medium(material, blob_name(backup), blob)
        share_set = sharing.split(kek, threshold, names, hsm.random_bytes)
    finally:
        wipe(kek)
    made_in = backup.recovery.made_in if backup.recovery is not None else backup.id
    for name, share in zip(names, share_set.shares, strict=True):
        sheet = ShareSheet(
            ceremony_id=f"REHEARSAL stand-in for {made_in}",
            title=f"{what} share",
            subject=f"REHEARSAL stand-in backup {backup.id} of {spec.label}",
            custodian=name,
            member_index=share.member_index,
            member_count=share.member_count,
            threshold=share_set.threshold,
            set_identifier=share_set.identifier,
            check_value=share_set.check_value,
            rehearsal=True,
            key_check_value=check_value,
        )
        sheets.print_share_sheet(sheet, share.words)
    # The recovery starts from a token without the key, as a replacement HSM does.
    hsm.destroy_key(spec)
    return RecoveryExpectation(
        check_value=check_value,
        blob_sha256=hashlib.sha256(blob).hexdigest(),
        spki_der=spki,
        fingerprint=hashlib.sha256(spki).hexdigest(),
        set_identifier=share_set.identifier,
        set_check_value=share_set.check_value,
        made_in="rehearsal stand-in",
    )


def write_stand_ins(out_dir: Path, made: Mapping[str, RecoveryExpectation]) -> None:
    """Keep the stand-ins' public values beside the rehearsal's other inputs (for a resume)."""
    path = out_dir / STAND_IN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        backup_id: {
            **e.public_json(),
            "set_check_value": e.set_check_value,
            "spki_der_b64": base64.b64encode(e.spki_der).decode("ascii"),
        }
        for backup_id, e in made.items()
    }
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def read_stand_ins(out_dir: Path) -> dict[str, RecoveryExpectation]:
    """The stand-ins an interrupted rehearsal prepared (none if it prepared none)."""
    path = out_dir / STAND_IN_FILE
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text())
    return {
        backup_id: RecoveryExpectation(
            check_value=str(v["check_value"]),
            blob_sha256=str(v["blob_sha256"]),
            spki_der=base64.b64decode(str(v["spki_der_b64"])),
            fingerprint=str(v["fingerprint"]),
            set_identifier=None if v["set_identifier"] is None else int(v["set_identifier"]),
            set_check_value=None if v["set_check_value"] is None else str(v["set_check_value"]),
            made_in=str(v["made_in"]),
        )
        for backup_id, v in doc.items()
    }


def rehearsal_stand_in_backups(  # noqa: PLR0917 - the composition root's call
    script: Script,
    hsm: Hsm,
    port: KeyBackup,
    sharing: SecretSharing,
    sheets: SheetPrinter,
    user_pin: str,
    out_dir: Path,
    *,
    resume: bool,
) -> dict[str, RecoveryExpectation]:
    """cli.py's one call: prepare the stand-in backups (or, resuming, read what was prepared)."""
    if resume:
        return read_stand_ins(out_dir)
    made = prepare_stand_in_backups(script, hsm, port, sharing, sheets, user_pin)
    if made:
        write_stand_ins(out_dir, made)
    return made
