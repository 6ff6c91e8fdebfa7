"""The recover-key action: a backup's key unwrapped into a token for good (recovery, migration).

Recovery (a later ceremony): the script states what the backup ceremony recorded
(``BackupSpec.recovery``: KCV, blob SHA-256, public key and its fingerprint); the blob is read from
the first medium that can be read and must have that SHA-256 and be the backup of that key; the
custodians present type their words, each share checked as entered; the combined KEK must have
that KCV; the key is unwrapped into the ceremony's HSM as a persistent, sensitive,
non-extractable token object, signs, the signature verifies with the stated public key, and its
fingerprint must be the stated one (``key.recovered``).

Migration (the same ceremony made the backup): the values come from ``backup.made``, the target is
the second token (the backup's ``restore_test_token``, ``Adapters.restore_hsm``) and the journal
names the source and target tokens (EV-MIGRATE); the source copies are destroyed by the script's
later destroy-key and zeroise-token steps.

Every refusal names what is wrong and leaves the target's object count as it was: a key unwrapped
before a later check failed is destroyed again, and the count is compared
(``recovery.failed``). No word, KEK byte or key byte is journaled, shown or put in a message.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sealroom.ceremony.custody import wipe
from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.ports import (
    Acknowledgement,
    BackupBlob,
    Fact,
    Hsm,
    Json,
    Operator,
    Outcome,
    RecordedEntry,
    SigningKey,
    StepView,
    TokenInfo,
)
from sealroom.ceremony.script import ActionStep, BackupSpec
from sealroom.errors import CeremonyAborted, CeremonyError, SealroomError

if TYPE_CHECKING:
    from sealroom.ceremony.backup import BackupActions

TARGET_USER_PIN = "Target HSM user PIN"
RECOVERY_NONCE_BYTES = 16


@dataclass(frozen=True)
class RecoveryExpectation:
    """What a recovery must find (all public): from the script, ``backup.made`` or a stand-in."""

    check_value: str
    """KCV of the key-encryption key (six hex digits, compared without case)."""
    blob_sha256: str
    spki_der: bytes
    """The key's DER SubjectPublicKeyInfo: the unwrapped key must be this key's private half."""
    fingerprint: str
    """SHA-256 (hex) of the SPKI the key inventory states; must equal that of ``spki_der``."""
    set_identifier: int | None = None
    set_check_value: str | None = None
    certificate_der: bytes | None = None
    """The CA certificate, when the ceremony holds it (the blob must be bound to it)."""
    made_in: str | None = None
    """The ceremony that made the backup."""

    def public_json(self) -> dict[str, Json]:
        return {
            "check_value": self.check_value.upper(),
            "blob_sha256": self.blob_sha256,
            "fingerprint": self.fingerprint,
            "set_identifier": self.set_identifier,
            "made_in": self.made_in,
        }


def expectation_of_script(backup: BackupSpec) -> RecoveryExpectation | None:
    """The values ``backup.recovery`` states, or None when the script states none."""
    stated = backup.recovery
    if stated is None:
        return None
    return RecoveryExpectation(
        check_value=stated.check_value.upper(),
        blob_sha256=stated.blob_sha256,
        spki_der=base64.b64decode("".join(stated.public_key.split())),
        fingerprint=stated.fingerprint,
        set_identifier=stated.set_identifier,
        made_in=stated.made_in,
    )


class RecoveryActions:
    """recover-key, bound to the runner's backup actions (their ports, custody and made backups)."""

    def __init__(self, backups: BackupActions) -> None:
        self.backups = backups
        self.runner = backups.runner
        self.stand_ins: dict[str, RecoveryExpectation] = {}
        """Backup id -> the rehearsal's stand-in values (declared before the ceremony opens)."""
        self.recovered: set[str] = set()

    def declare_stand_ins(self, expectations: Mapping[str, RecoveryExpectation]) -> None:
        """A rehearsal's stand-in backups replace the values the script states (stand_in: true).

        Refused outside a rehearsal: a production recovery checks the script's values only.
        """
        if not self.runner.rehearsal:
            raise CeremonyError(
                "Stand-in backup values are a rehearsal's; a production recovery checks the "
                "values the script states."
            )
        self.stand_ins.update(expectations)

    def replay(self, history: Sequence[RecordedEntry]) -> None:
        """After a resume: the backups the journal shows recovered (not recovered twice)."""
        for entry in history:
            if entry.event == "key.recovered":
                backup_id = str(entry.data["backup_id"])
                self.recovered.add(backup_id)
                if entry.data.get("migration") is True:
                    self.backups.tested.add(backup_id)

    # ------------------------------------------------------------------ the action

    def recover_key(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        backup = self.backups._backup(step)
        where = f"Step {view.index + 1} ({step.title})"
        if backup.id in self.recovered:
            if runner.resumed:
                operator.outcome(
                    view,
                    Outcome(
                        f"The key of backup {backup.id} was recovered before the interruption "
                        "(key.recovered); it is not recovered again."
                    ),
                )
                return
            raise CeremonyAborted(
                f"{where}: the key of backup {backup.id} was already recovered in this ceremony."
            )
        migration = backup.id in self.backups.made
        expected, declared, stand_in = self._expected(where, backup, migration)
        target = self._target(where, step, backup, migration)
        before: int | None = None
        logged_in_here = False
        try:
            if migration:
                self.backups._login(step, view, operator, target)
                logged_in_here = True
            before = target.object_count()
            data = self._recover(
                step, view, operator, backup, expected, target, before=before, migration=migration
            )
        except SealroomError as exc:
            after = _count(target)
            runner._journal(
                "recovery.failed",
                {
                    "backup_id": backup.id,
                    "problem": str(exc),
                    "objects_before": before,
                    "objects_after": after,
                    "target_unchanged": before is not None and after == before,
                },
                step=step.id,
                actors=runner._actors(step, ack),
            )
            raise
        finally:
            if logged_in_here:
                with suppress(SealroomError):
                    target.logout()
        data["expected"] = {
            "source": "rehearsal stand-in"
            if stand_in
            else ("backup.made" if migration else "script"),
            "stand_in": stand_in,
            **expected.public_json(),
            "script_values": declared.public_json() if declared is not None else None,
        }
        runner._journal("key.recovered", data, step=step.id, actors=runner._actors(step, ack))
        self.recovered.add(backup.id)
        if migration:
            # A migration's unwrap into the target is the backup's restore, and more.
            self.backups.tested.add(backup.id)
        fpr = sha256_fingerprint(expected.spki_der)
        headline = (
            f"The key of backup {backup.id} is recovered into the token "
            f"{data['token_serial']} as a persistent, sensitive, non-extractable key; it signed "
            "and the signature verified."
        )
        if stand_in:
            headline += " (rehearsal stand-in backup: not the values the script states)"
        operator.outcome(
            view,
            Outcome(
                headline,
                (
                    Fact("Recovered key's public key SHA-256", fpr.grouped(), fpr.words),
                    Fact("Key check value", f"{expected.check_value.upper()} (matches)"),
                    Fact("Blob SHA-256", f"{expected.blob_sha256} (matches)"),
                    Fact(
                        "Objects on the target token",
                        f"{data['objects_before']} before, {data['objects_after']} after",
                    ),
                ),
            ),
        )

    def _expected(
        self, where: str, backup: BackupSpec, migration: bool
    ) -> tuple[RecoveryExpectation, RecoveryExpectation | None, bool]:
        """The values to check, the script's own, and whether a rehearsal stand-in replaced them."""
        if migration:
            made = self.backups.made[backup.id]
            certificate = self.backups._certificate_of(backup.key)
            return (
                RecoveryExpectation(
                    check_value=made.check_value,
                    blob_sha256=made.blob_sha256,
                    spki_der=made.spki_der,
                    fingerprint=hashlib.sha256(made.spki_der).hexdigest(),
                    set_identifier=made.set_identifier,
                    set_check_value=made.set_check_value,
                    certificate_der=certificate.der if certificate is not None else None,
                    made_in=self.runner.script.ceremony.id,
                ),
                None,
                False,
            )
        declared = expectation_of_script(backup)
        stand_in = self.stand_ins.get(backup.id)
        if stand_in is not None:
            return stand_in, declared, True
        if declared is None:
            raise CeremonyAborted(
                f"{where}: the script states no recovery values for {backup.id} (backups: "
                "recovery: check_value, blob_sha256, fingerprint, public_key); nothing can be "
                "checked, so nothing is recovered."
            )
        return declared, declared, False

    def _target(self, where: str, step: ActionStep, backup: BackupSpec, migration: bool) -> Hsm:
        runner = self.runner
        if not migration:
            if not runner.logged_in:
                raise CeremonyError(f"{where} needs the HSM: log in before the recovery.")
            return runner.ports.hsm
        target = runner.ports.restore_hsm
        if target is None:
            raise CeremonyError(
                f"{where}: no target token is connected for the migration of {backup.id} (the "
                f"backup's restore_test_token {backup.restore_test_token!r})."
            )
        return target

    def _recover(  # noqa: PLR0917 - one call site
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        backup: BackupSpec,
        expected: RecoveryExpectation,
        target: Hsm,
        *,
        before: int,
        migration: bool,
    ) -> dict[str, Json]:
        """The recovery proper; a SealroomError says which check failed (never a secret)."""
        runner = self.runner
        backups = self.backups
        port = backups._port()
        where = f"Step {view.index + 1} ({step.title})"
        key_spec = runner.script.key(backup.key)
        if hashlib.sha256(expected.spki_der).hexdigest() != expected.fingerprint:
            raise CeremonyAborted(
                f"{where}: the public key stated for {backup.id} has SHA-256 "
                f"{hashlib.sha256(expected.spki_der).hexdigest()}, not the fingerprint "
                f"{expected.fingerprint} stated with it."
            )
        target_token = self._token_json(backup, migration, target.token_info())
        # The blob first: a bad medium is found before anyone types a word.
        medium, blob = self._read_blob(where, backup, expected)
        holders = [h.custodian for h in backup.shares]
        present = [c for c in holders if c in runner.present]
        if len(present) < backup.threshold:
            raise CeremonyError(
                f"{where}: {len(present)} of the custodians of {backup.id} are present "
                f"({', '.join(backups.custody.name(c) for c in present) or 'none'}); "
                f"{backup.threshold} are needed."
            )
        names = [backups.custody.name(c) for c in holders]
        collector = backups._sharing().collector(
            backup.threshold, expected.set_identifier, expected.set_check_value, names
        )
        from sealroom.ceremony.backup import check_combined_kek, kek_what

        kek, accepted, identifiers = backups.custody.collect(
            step,
            view,
            operator,
            collector=collector,
            custodians=present,
            what=kek_what(backup),
            needed=backup.threshold,
        )
        restored: SigningKey | None = None
        try:
            try:
                check_value = port.check_value(kek)
                on = f"{backup.id} on {medium['material']}"
                check_combined_kek(where, check_value, expected, blob, on, split=False)
                with operator.working(view, f"Unwrapping {key_spec.label} into the target token"):
                    restored = target.unwrap_key(key_spec, blob.wrapped, kek, persist=True)
            finally:
                wipe(kek)
            data = self._prove(where, backup, expected, target, restored, key_spec.label)
        except SealroomError:
            if restored is not None:
                self._remove(target, backup)
            raise
        after = target.object_count()
        if not migration:
            runner.keys[backup.key] = restored
            runner.key_records[backup.key] = restored.record
        from sealroom.ceremony.actions import key_record_json, token_json

        data.update(
            {
                "backup_id": backup.id,
                "migration": migration,
                "check_value": check_value.upper(),
                "check_value_matched": True,
                "blob_sha256": expected.blob_sha256,
                "blob_sha256_matched": True,
                "medium": medium,
                "custodians": list(accepted),
                "set_identifier": identifiers[0] if identifiers else None,
                "key": key_record_json(backup.key, restored.record),
                "unwrapped_as": "token object",
                "token_serial": target.token_info().serial,
                "target_token": target_token,
                "objects_before": before,
                "objects_after": after,
            }
        )
        if migration:
            data["source_token"] = token_json(runner.ports.hsm.token_info())
        return data

    def _prove(  # noqa: PLR0917 - one call site
        self,
        where: str,
        backup: BackupSpec,
        expected: RecoveryExpectation,
        target: Hsm,
        restored: SigningKey,
        label: str,
    ) -> dict[str, Json]:
        """The unwrapped key is the expected key: its public key, a signature, its fingerprint."""
        from sealroom.ceremony.backup import RESTORE_HASH

        runner = self.runner
        port = self.backups._port()
        if restored.record.spki_der != expected.spki_der:
            raise CeremonyError(
                f"{where}: the key unwrapped from {backup.id} has public key SHA-256 "
                f"{hashlib.sha256(restored.record.spki_der).hexdigest()}, not that of {label}."
            )
        nonce = runner.ports.hsm.random_bytes(RECOVERY_NONCE_BYTES)
        message = (
            f"Sealroom recovery {runner.script.ceremony.id} {backup.id} ".encode()
            + nonce.hex().encode("ascii")
        )
        signature = restored.sign(message, RESTORE_HASH)
        public = expected.certificate_der or expected.spki_der
        if not port.signature_valid(public, message, signature, RESTORE_HASH):
            raise CeremonyError(
                f"{where}: the recovered key's signature does not verify with the public key "
                f"of {label}."
            )
        fingerprint = sha256_fingerprint(restored.record.spki_der)
        if fingerprint.hex != expected.fingerprint:
            raise CeremonyError(
                f"{where}: the recovered key's fingerprint is {fingerprint.hex}, not "
                f"{expected.fingerprint} as the key inventory states."
            )
        return {
            "key_id": backup.key,
            "fingerprint": fingerprint.to_json(),
            "fingerprint_matched": True,
            "signed_message_sha256": hashlib.sha256(message).hexdigest(),
            "hash": RESTORE_HASH,
            "verified_with": "certificate" if expected.certificate_der else "public key",
            "verified": True,
        }

    def _read_blob(
        self, where: str, backup: BackupSpec, expected: RecoveryExpectation
    ) -> tuple[dict[str, Json], BackupBlob]:
        """The blob from the first medium that can be read; its SHA-256 and binding checked."""
        from sealroom.ceremony.backup import blob_name

        port = self.backups._port()
        name = blob_name(backup)
        unread: list[str] = []
        for material in backup.media:
            try:
                data = port.read_medium(material, name)
            except SealroomError as exc:
                unread.append(f"{material}: {exc}")
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != expected.blob_sha256:
                raise CeremonyError(
                    f"{where}: the blob {name} on medium {material} has SHA-256 {digest}, not "
                    f"{expected.blob_sha256} as recorded for {backup.id}: it is not that backup, "
                    "or the medium is damaged. Nothing was unwrapped."
                )
            blob = port.decode(
                data,
                f"on medium {material}",
                key_id=backup.key,
                certificate_der=expected.certificate_der,
                spki_der=expected.spki_der,
            )
            return {"material": material, "file": name, "sha256": digest}, blob
        raise CeremonyError(
            f"{where}: no medium of {backup.id} could be read ({'; '.join(unread)})."
        )

    def _remove(self, target: Hsm, backup: BackupSpec) -> None:
        """Destroy a key unwrapped before a later check failed (the target is left as it was)."""
        with suppress(SealroomError):
            target.destroy_key(self.runner.script.key(backup.key))

    def _token_json(self, backup: BackupSpec, migration: bool, info: TokenInfo) -> dict[str, Json]:
        """The target token's identity; a migration's target must be the scripted HSM."""
        from sealroom.ceremony.actions import token_json

        script = self.runner.script
        material_id = backup.restore_test_token if migration else script.hsm_required().material
        declared = script.material(material_id) if material_id is not None else None
        stand_in = declared is not None and info.serial != declared.serial
        if stand_in and migration and not self.runner.rehearsal:
            assert declared is not None  # noqa: S101 - stand_in implies it
            raise CeremonyAborted(
                f"The target token's serial number is {info.serial!r}, but the script declares "
                f"{declared.id!r} with serial {declared.serial!r}."
            )
        return {
            "material": material_id,
            "declared_serial": declared.serial if declared is not None else None,
            "stand_in": stand_in,
            "token": token_json(info),
        }


def _count(hsm: Hsm) -> int | None:
    with suppress(SealroomError):
        return hsm.object_count()
    return None
