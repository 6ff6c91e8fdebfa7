"""The resplit-backup action: a backup's key-encryption key taken from its old holders, split anew.

A custodian leaves (or a share is lost, or a holder is replaced): ``combine`` old holders
(``BackupSpec.resplit``) type their shares, each checked against the old set's identifier and
check value as entered; the combined KEK must have the backup's stated KCV
(``BackupSpec.recovery.check_value``) before anything else happens. The KEK is then proved to
still open the backup: the blob is read from the first medium that can be read, must have the
stated SHA-256 and be the backup of the stated public key, and is unwrapped on the ceremony's HSM
as a SESSION object (under a check label) that signs a nonce; the signature must verify with the
stated public key, and the session copy is destroyed at once (the token's object count is the
same before and after). Only then is the same KEK split among the backup's (new) holders with its
threshold, each sheet handed out and sealed as backup-key does (``share.sealed``), and the old set
is declared void (``shares.voided``) and the re-split journaled (``backup.resplit``). The blob is
unchanged: the media stay valid. The KEK is a bytearray wiped after use; no word, KEK byte or key
byte is journaled, shown or put in a message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from sealroom.ceremony.custody import wipe
from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.ports import (
    Acknowledgement,
    BackupBlob,
    Fact,
    Json,
    Operator,
    Outcome,
    RecordedEntry,
    StepView,
)
from sealroom.ceremony.recovery import RecoveryExpectation, expectation_of_script
from sealroom.ceremony.script import ActionStep, BackupSpec, KeySpec, ResplitSpec
from sealroom.errors import CeremonyAborted, CeremonyError, SealroomError

if TYPE_CHECKING:
    from sealroom.ceremony.backup import BackupActions

CHECK_LABEL = "sealroom-resplit-check"
"""The label the session copy of the key is unwrapped under (never a token object)."""
RESPLIT_NONCE_BYTES = 16


def old_kek_what(backup: BackupSpec) -> str:
    """What the old holders' shares protect, as the prompts say it (and a stand-in's sheets)."""
    return f"Backup {backup.id} key-encryption key (set being replaced)"


class ResplitActions:
    """resplit-backup, bound to the runner's backup actions (their ports and custody)."""

    def __init__(self, backups: BackupActions) -> None:
        self.backups = backups
        self.runner = backups.runner
        self.done: set[str] = set()
        """Backups re-split (journaled backup.resplit)."""

    def replay(self, history: Sequence[RecordedEntry]) -> None:
        """After a resume: the backups the journal shows re-split (not re-split twice)."""
        for entry in history:
            if entry.event == "backup.resplit":
                self.done.add(str(entry.data["backup_id"]))

    # ------------------------------------------------------------------ the action

    def resplit_backup(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        backups = self.backups
        backup = backups._backup(step)
        where = f"Step {view.index + 1} ({step.title})"
        if backup.id in self.done:
            if runner.resumed:
                operator.outcome(
                    view,
                    Outcome(
                        f"The backup {backup.id} was re-split before the interruption "
                        "(backup.resplit); it is not re-split again."
                    ),
                )
                return
            raise CeremonyAborted(f"{where}: the backup {backup.id} was already re-split.")
        resplit = backup.resplit
        if resplit is None:
            raise CeremonyAborted(
                f"{where}: the script names no share set to replace for {backup.id} (backups: "
                "resplit: old_threshold, old_shares, combine)."
            )
        expected, stand_in = self._expected(where, backup)
        port = backups._port()
        sharing = backups._sharing()
        backups.custody.sheets()  # refuse before a word is typed if no sheet printer is set up
        if not runner.logged_in:
            raise CeremonyError(f"{where} needs the HSM: log in before the re-split.")
        hsm = runner.ports.hsm
        key_spec = runner.script.key(backup.key)
        if hashlib.sha256(expected.spki_der).hexdigest() != expected.fingerprint:
            raise CeremonyAborted(
                f"{where}: the public key stated for {backup.id} has SHA-256 "
                f"{hashlib.sha256(expected.spki_der).hexdigest()}, not the fingerprint "
                f"{expected.fingerprint} stated with it."
            )
        # The blob first: a bad medium is found before anyone types a word.
        medium, blob = backups.recovery._read_blob(where, backup, expected)
        absent = [c for c in resplit.combine if c not in runner.present]
        if absent:
            raise CeremonyError(
                f"{where}: the re-split of {backup.id} needs the old holders "
                f"{', '.join(backups.custody.name(c) for c in resplit.combine)}; absent: "
                f"{', '.join(backups.custody.name(c) for c in absent)}."
            )
        old_names = [backups.custody.name(h.custodian) for h in resplit.old_shares]
        old_identifier = expected.set_identifier
        old_check = expected.set_check_value
        collector = sharing.collector(resplit.old_threshold, old_identifier, old_check, old_names)
        from sealroom.ceremony.backup import check_combined_kek

        kek, accepted, identifiers = backups.custody.collect(
            step,
            view,
            operator,
            collector=collector,
            custodians=resplit.combine,
            what=old_kek_what(backup),
            needed=resplit.old_threshold,
        )
        try:
            check_value = port.check_value(kek)
            on = f"{backup.id} on {medium['material']}"
            check_combined_kek(where, check_value, expected, blob, on, split=True)
            proof = self._prove(where, view, operator, backup, key_spec, expected, blob, kek)
            new_names = [backups.custody.name(h.custodian) for h in backup.shares]
            share_set = sharing.split(kek, backup.threshold, new_names, hsm.random_bytes)
        finally:
            wipe(kek)
        handed = backups.hand_out_kek(
            step,
            view,
            operator,
            backup=backup,
            share_set=share_set,
            check_value=check_value.upper(),
            subject=backups.sheet_subject(backup, key_spec.label, None),
        )
        old_set = identifiers[0] if identifiers else old_identifier
        actors = runner._actors(step, ack)
        runner._journal(
            "shares.voided",
            {
                "backup_id": backup.id,
                "what": old_kek_what(backup),
                "set_identifier": old_set,
                "set_check_value": old_check,
                "threshold": resplit.old_threshold,
                "holders": [
                    {"share": h.share, "custodian": h.custodian, "member_index": i}
                    for i, h in enumerate(resplit.old_shares, start=1)
                ],
                "combined_by": list(accepted),
                "reason": resplit.reason,
                "replaced_by_set": share_set.identifier,
                "stand_in": stand_in,
            },
            step=step.id,
            actors=actors,
        )
        fpr = sha256_fingerprint(expected.spki_der)
        runner._journal(
            "backup.resplit",
            {
                "backup_id": backup.id,
                "key_id": backup.key,
                "label": key_spec.label,
                "cka_id": blob.wrapped.cka_id_hex,  # the session copy that signed has it too
                "fingerprint": fpr.to_json(),
                "check_value": check_value.upper(),
                "check_value_matched": True,
                "blob_sha256": expected.blob_sha256,
                "blob_sha256_matched": True,
                "medium": medium,
                **proof,
                "old_set_identifier": old_set,
                "old_set_check_value": old_check,
                "old_custodians": list(accepted),
                "threshold": share_set.threshold,
                "share_count": len(share_set.shares),
                "set_identifier": share_set.identifier,
                "set_check_value": share_set.check_value,
                "custodians": [h.custodian for h in backup.shares],
                "custodian_names": new_names,
                "sealed": handed,
                "expected": {
                    "source": "rehearsal stand-in" if stand_in else "script",
                    "stand_in": stand_in,
                    **expected.public_json(),
                },
            },
            step=step.id,
            actors=actors,
        )
        self.done.add(backup.id)
        headline = (
            f"The key-encryption key of {backup.id} is re-split {share_set.threshold} of "
            f"{len(share_set.shares)} among its new holders; the old share set "
            f"{old_set} is void. The blob on the media is unchanged."
        )
        if stand_in:
            headline += " (rehearsal stand-in backup: not the values the script states)"
        operator.outcome(
            view,
            Outcome(
                headline,
                (
                    Fact("Key check value", f"{check_value.upper()} (matches)"),
                    Fact("Blob SHA-256", f"{expected.blob_sha256} (matches)"),
                    Fact("Public key SHA-256", fpr.grouped(), fpr.words),
                    Fact("Void share set", f"identifier {old_set}"),
                    Fact("New share set", f"identifier {share_set.identifier}"),
                ),
            ),
        )

    def _expected(self, where: str, backup: BackupSpec) -> tuple[RecoveryExpectation, bool]:
        """The values to check (the script's, or a rehearsal's stand-in) and which they are."""
        # A rehearsal's stand-in (declared with the recovery's, refused outside a rehearsal).
        stand_in = self.backups.recovery.stand_ins.get(backup.id)
        if stand_in is not None:
            return stand_in, True
        declared = expectation_of_script(backup)
        resplit = backup.resplit
        if declared is None or resplit is None:
            raise CeremonyAborted(
                f"{where}: the script states no recovery values for {backup.id} (backups: "
                "recovery: check_value, blob_sha256, fingerprint, public_key); the old shares "
                "cannot be checked, so nothing is re-split."
            )
        return _with_old_set(declared, resplit), False

    def _prove(  # noqa: PLR0917 - one call site
        self,
        where: str,
        view: StepView,
        operator: Operator,
        backup: BackupSpec,
        key_spec: KeySpec,
        expected: RecoveryExpectation,
        blob: BackupBlob,
        kek: bytearray,
    ) -> dict[str, Json]:
        """The KEK still opens the backup: a session copy on the HSM signs; nothing is left."""
        from sealroom.ceremony.backup import RESTORE_HASH

        runner = self.runner
        hsm = runner.ports.hsm
        port = self.backups._port()
        check_spec = key_spec.model_copy(update={"label": CHECK_LABEL, "uri": None})
        before = hsm.object_count()
        with operator.working(view, f"Checking that the backup of {key_spec.label} unwraps"):
            copy = hsm.unwrap_key(check_spec, blob.wrapped, kek, persist=False)
        try:
            if copy.record.spki_der != expected.spki_der:
                raise CeremonyError(
                    f"{where}: the key unwrapped from {backup.id} has public key SHA-256 "
                    f"{hashlib.sha256(copy.record.spki_der).hexdigest()}, not that of "
                    f"{key_spec.label}. Nothing was split."
                )
            nonce = hsm.random_bytes(RESPLIT_NONCE_BYTES)
            message = (
                f"Sealroom re-split {runner.script.ceremony.id} {backup.id} ".encode()
                + nonce.hex().encode("ascii")
            )
            signature = copy.sign(message, RESTORE_HASH)
            if not port.signature_valid(expected.spki_der, message, signature, RESTORE_HASH):
                raise CeremonyError(
                    f"{where}: the key unwrapped from {backup.id} signs, but the signature "
                    f"does not verify with the public key of {key_spec.label}. Nothing was split."
                )
        except SealroomError:
            if hsm.object_count() != before:
                with suppress(SealroomError):
                    hsm.destroy_key(check_spec)
            raise
        if hsm.object_count() != before:  # the session copy is visible: it goes now, not at logout
            hsm.destroy_key(check_spec)
        after = hsm.object_count()
        if after != before:
            raise CeremonyAborted(
                f"{where}: the HSM holds {after} objects after the check, {before} before; the "
                "session copy of the key was not removed. Nothing was split."
            )
        return {
            "unwrapped_as": "session object",
            "verified": True,
            "hash": RESTORE_HASH,
            "signed_message_sha256": hashlib.sha256(message).hexdigest(),
            "objects_before": before,
            "objects_after": after,
        }


def _with_old_set(declared: RecoveryExpectation, resplit: ResplitSpec) -> RecoveryExpectation:
    """The script's recovery values with the old set's identifier and check value."""
    from dataclasses import replace

    return replace(
        declared,
        set_identifier=resplit.old_set_identifier,
        set_check_value=resplit.old_check_value,
    )
