"""The backup-key and restore-test actions: the CA key wrapped under a split KEK, then restored.

backup-key: a fresh 256-bit key-encryption key (KEK) from host and HSM randomness; its key check
value (KCV); the CA key wrapped in the HSM (which proves the wrap); the blob written to every
medium the script names and read back; the KEK split k-of-n with SLIP-39, each custodian's sheet
printed after they step forward and its bag journaled; ``backup.made``; the blob shown as QR
frames (ciphertext). restore-test: the custodians the script chose type their words; the KCV must
be the one journaled; the blob read back from the media must have the journaled SHA-256; the key
is unwrapped into a second token as a session object, signs, and the signature verifies with the
CA certificate's public key; the token is then zeroised and shown empty (``restore.tested``).

The KEK and the combined secret are bytearrays wiped after use. No word, KEK byte or key byte is
ever journaled, shown or put in an error message. A ceremony cannot close while a backup made in
it has no passed restore test (issue 6, point 6).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from sealroom.ceremony.custody import ShareCustody, wipe
from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.ports import (
    Acknowledgement,
    CustodianShare,
    Fact,
    Hsm,
    IssuedCertificate,
    Json,
    KeyBackup,
    Operator,
    Outcome,
    RecordedEntry,
    SecretSharing,
    ShareSet,
    ShareSheet,
    StepView,
)
from sealroom.ceremony.script import ActionStep, BackupSpec, ShareHolder
from sealroom.errors import CeremonyAborted, CeremonyError, PinError, PinLockout, SealroomError

if TYPE_CHECKING:
    from sealroom.ceremony.actions import Handler
    from sealroom.ceremony.recovery import RecoveryActions
    from sealroom.ceremony.resplit import ResplitActions
    from sealroom.ceremony.runner import Runner

BLOB_SUFFIX = ".sealroom-backup"
"""The blob's file name on each medium: ``<backup id>.sealroom-backup``."""
RESTORE_HASH: Final = "sha384"
"""Hash of the restore test's sign/verify (RSA PKCS#1 v1.5 or ECDSA)."""
RESTORE_NONCE_BYTES = 16
RESTORE_USER_PIN = "Restore-test HSM user PIN"
RESTORE_SO_PIN = "Restore-test HSM security officer PIN"


def blob_name(backup: BackupSpec) -> str:
    """The file name of ``backup``'s blob on every medium."""
    return f"{backup.id}{BLOB_SUFFIX}"


def kek_what(backup: BackupSpec) -> str:
    """What the shares protect, as prompts and the share sheets' titles say it."""
    return f"Backup {backup.id} key-encryption key"


class _Checked(Protocol):
    @property
    def check_value(self) -> str: ...


def check_combined_kek(
    where: str, check_value: str, recorded: _Checked, blob: _Checked, names: str, *, split: bool
) -> None:
    """Refuse a combined KEK whose KCV is not the journaled one, or not the blob's.

    ``names`` is ``"<backup id> on <medium>"``; ``split`` says a re-split combined the old shares
    (nothing was split) rather than a recovery (nothing was unwrapped). A KCV is not secret.
    """
    backup_id, medium = names.split(" on ", 1)
    expected, blob_check_value = recorded.check_value, blob.check_value
    shares, nothing = ("the old shares", "split") if split else ("the shares", "unwrapped")
    if check_value.upper() != expected.upper():
        raise CeremonyError(
            f"{where}: {shares} combine to a key-encryption key with check value "
            f"{check_value.upper()}, not {expected.upper()} as recorded for {backup_id}: they "
            f"are shares of another backup. Nothing was {nothing}."
        )
    if blob_check_value.upper() != check_value.upper():
        raise CeremonyError(
            f"{where}: the blob on {medium} was wrapped under the key-encryption key with check "
            f"value {blob_check_value.upper()}, not {check_value.upper()}. Nothing was {nothing}."
        )


@dataclass(frozen=True)
class MadeBackup:
    """What ``backup.made`` recorded: enough to test the backup later, never a secret."""

    backup_id: str
    key_id: str
    check_value: str
    blob_sha256: str
    spki_der: bytes
    certificate_id: str | None
    set_identifier: int
    set_check_value: str
    custodian_names: tuple[str, ...]
    """Custodians' names in member order (what a collector for the set expects)."""


@dataclass
class InterruptedBackup:
    """A backup journaled as wrapped (``backup.wrapped``) but never made: a resume abandons it."""

    backup_id: str
    check_value: str
    blob_sha256: str
    blob_name: str
    sheets: list[tuple[str, str, str]] = field(default_factory=list)
    """(custodian, share, bag) of each sheet printed for it (``share.sealed``): to be destroyed."""


class BackupActions:
    """backup-key and restore-test, bound to one runner."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.custody = ShareCustody(runner)
        self.made: dict[str, MadeBackup] = {}
        self.tested: set[str] = set()
        self.interrupted: dict[str, InterruptedBackup] = {}
        """Backups a resume found wrapped but never made: abandoned when their step runs again."""
        self._recovery: RecoveryActions | None = None
        self._resplit: ResplitActions | None = None

    def handlers(self) -> dict[str, Handler]:
        return {
            "backup-key": self.backup_key,
            "restore-test": self.restore_test,
            "recover-key": self.recovery.recover_key,
            "resplit-backup": self.resplit.resplit_backup,
        }

    @property
    def resplit(self) -> ResplitActions:
        from sealroom.ceremony.resplit import ResplitActions

        if self._resplit is None:
            self._resplit = ResplitActions(self)
        return self._resplit

    @property
    def recovery(self) -> RecoveryActions:
        from sealroom.ceremony.recovery import RecoveryActions

        if self._recovery is None:
            self._recovery = RecoveryActions(self)
        return self._recovery

    def untested(self) -> list[str]:
        """Backups made in this ceremony without a passed restore test (they block closing)."""
        return [backup_id for backup_id in self.made if backup_id not in self.tested]

    def replay(self, history: Sequence[RecordedEntry]) -> None:
        """After a resume: the backups the journal shows made, and the restore tests passed."""
        wrapped: dict[str, InterruptedBackup] = {}
        abandoned: set[str] = set()
        for entry in history:
            data = entry.data
            if entry.event == "backup.made":
                self.made[str(data["backup_id"])] = _made_from_journal(data)
            elif entry.event == "restore.tested" and data.get("passed") is True:
                self.tested.add(str(data["backup_id"]))
            elif entry.event == "backup.wrapped":
                wrapped[str(data["backup_id"])] = InterruptedBackup(
                    backup_id=str(data["backup_id"]),
                    check_value=str(data["check_value"]),
                    blob_sha256=str(data["blob_sha256"]),
                    blob_name=str(data["blob_name"]),
                )
            elif entry.event == "backup.abandoned":
                abandoned.add(str(data["check_value"]))
            elif entry.event == "share.sealed" and "backup_id" in data:
                pending = wrapped.get(str(data["backup_id"]))
                if pending is not None and data.get("check_value") == pending.check_value:
                    pending.sheets.append(
                        (str(data.get("custodian")), str(data.get("share")), str(data.get("bag")))
                    )
        self.interrupted = {
            backup_id: pending
            for backup_id, pending in wrapped.items()
            if backup_id not in self.made and pending.check_value not in abandoned
        }
        self.recovery.replay(history)
        self.resplit.replay(history)

    # ------------------------------------------------------------------ ports

    def _port(self) -> KeyBackup:
        port = self.runner.ports.backup
        if port is None:
            raise CeremonyError("This workstation has no key backup (KEK, blob, media) set up.")
        return port

    def _sharing(self) -> SecretSharing:
        sharing = self.runner.ports.sharing
        if sharing is None:
            raise CeremonyError("This workstation has no share splitting (SLIP-39) set up.")
        return sharing

    def _restore_hsm(self, view: StepView, step: ActionStep) -> Hsm:
        hsm = self.runner.ports.restore_hsm
        if hsm is None:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): no restore-test token is connected; the "
                "backup cannot be tested, and the ceremony cannot close without that test."
            )
        return hsm

    def _backup(self, step: ActionStep) -> BackupSpec:
        backup_id = step.params["backup"]
        return next(b for b in self.runner.script.backups if b.id == backup_id)

    def _certificate_of(self, key_id: str) -> IssuedCertificate | None:
        """The CA certificate of ``key_id`` issued in this ceremony (self-signed root), if any."""
        script = self.runner.script
        for cert_id, issued in self.runner.certificates.items():
            spec = next((c for c in script.certificates if c.id == cert_id), None)
            if spec is not None and spec.key == key_id and spec.profile == "root":
                return issued
        return None

    # ------------------------------------------------------------------ backup-key

    def backup_key(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        backup = self._backup(step)
        port = self._port()
        sharing = self._sharing()
        self.custody.sheets()  # refuse before anything is made if no sheet printer is set up
        if backup.id in self.made and runner.resumed:
            # The journal shows the backup made before an interruption: it is not made twice.
            operator.outcome(
                view,
                Outcome(
                    f"The backup {backup.id} was made before the interruption (backup.made); it "
                    "is not made again.",
                    (Fact("Key check value", self.made[backup.id].check_value),),
                ),
            )
            return
        if backup.id in self.made:
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the backup {backup.id} was already made "
                "in this ceremony; a second one would leave two share sets for one backup."
            )
        if not runner.logged_in:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}) needs the HSM: log in before the backup."
            )
        if backup.id in self.interrupted:
            # Kept until abandoned: a retry after a failure here abandons it again, in full.
            self._abandon(step, view, operator, ack, self.interrupted[backup.id])
            del self.interrupted[backup.id]
        key_spec = runner.script.key(backup.key)
        key = runner.key_actions.located(backup.key, step, view, ack)
        certificate = self._certificate_of(backup.key)
        ca_subject = (
            certificate.subject if certificate is not None else "none issued in this ceremony"
        )
        name = blob_name(backup)
        hsm = runner.ports.hsm
        kek = port.new_kek(hsm.random_bytes)
        try:
            check_value = port.check_value(kek)
            with operator.working(view, f"Wrapping the key {key_spec.label} in the HSM"):
                wrapped = hsm.wrap_key(key_spec, kek)
            if wrapped.spki_der != key.record.spki_der:
                raise CeremonyAborted(
                    f"Step {view.index + 1} ({step.title}): the HSM wrapped a key whose public "
                    f"key is not that of {key_spec.label}; nothing was written or split."
                )
            blob = port.encode(
                wrapped, check_value, certificate.der if certificate is not None else None
            )
            digest = hashlib.sha256(blob).hexdigest()
            # Before anything leaves the HSM: what a resume needs to find and destroy this
            # attempt's blob and sheets if the step is interrupted before backup.made.
            runner._journal(
                "backup.wrapped",
                {
                    "backup_id": backup.id,
                    "check_value": check_value,
                    "blob_name": name,
                    "blob_sha256": digest,
                    "blob_length": len(blob),
                    "media": list(backup.media),
                },
                step=step.id,
                actors=runner._actors(step, ack),
            )
            media = self._write_media(step, view, backup, name, blob, digest)
            names = [self.custody.name(h.custodian) for h in backup.shares]
            share_set = sharing.split(kek, backup.threshold, names, hsm.random_bytes)
        finally:
            wipe(kek)
        handed = self.hand_out_kek(
            step,
            view,
            operator,
            backup=backup,
            share_set=share_set,
            check_value=check_value,
            subject=self.sheet_subject(backup, key_spec.label, certificate),
        )
        made = MadeBackup(
            backup_id=backup.id,
            key_id=backup.key,
            check_value=check_value,
            blob_sha256=digest,
            spki_der=key.record.spki_der,
            certificate_id=certificate.certificate_id if certificate is not None else None,
            set_identifier=share_set.identifier,
            set_check_value=share_set.check_value,
            custodian_names=tuple(names),
        )
        key_fpr = sha256_fingerprint(key.record.spki_der)
        runner._journal(
            "backup.made",
            {
                "backup_id": backup.id,
                "key_id": backup.key,
                "label": key_spec.label,
                "cka_id": wrapped.cka_id_hex,
                "key_type": wrapped.key_type,
                "fingerprint": key_fpr.to_json(),
                "spki_der_b64": base64.b64encode(key.record.spki_der).decode("ascii"),
                "ca_subject": ca_subject,
                "certificate_id": made.certificate_id,
                "certificate_sha256": (
                    hashlib.sha256(certificate.der).hexdigest() if certificate is not None else None
                ),
                "check_value": check_value,
                "mechanism": wrapped.mechanism,
                "wrapped_length": len(wrapped.wrapped),
                "blob_name": name,
                "blob_length": len(blob),
                "blob_sha256": digest,
                "media": media,
                "threshold": share_set.threshold,
                "share_count": len(share_set.shares),
                "set_identifier": share_set.identifier,
                "set_check_value": share_set.check_value,
                "custodians": [h.custodian for h in backup.shares],
                "custodian_names": list(names),
                "sealed": handed,
                "restore_test_token": backup.restore_test_token,
                "restore_test_custodians": list(backup.restore_test_custodians),
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        self.made[backup.id] = made
        blob_fpr = sha256_fingerprint(blob)
        frames = runner.ports.qr.frames(blob, "BLB")
        total = len(share_set.shares)
        facts = (
            Fact(
                "What this is",
                f"{key_spec.label}, encrypted: safe to copy, useless without "
                f"{share_set.threshold} of the {total} shares.",
            ),
            Fact(
                "Who scans it",
                f"Nobody needs to: the same blob is on the {len(backup.media)} backup media. "
                "Scan it only to keep one more copy.",
            ),
            Fact("Blob SHA-256", blob_fpr.grouped(), blob_fpr.words),
            Fact("Key check value", check_value),
        )
        operator.show_qr(view, f"Backup {backup.id} of {key_spec.label} (wrapped)", frames, facts)
        runner._journal(
            "qr.shown",
            {
                "artifact": backup.id,
                "backup_id": backup.id,
                "frames": len(frames),
                "payload_sha256": digest,
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        operator.outcome(
            view,
            Outcome(
                f"The key {key_spec.label} is backed up: wrapped under a new key-encryption key "
                f"split {share_set.threshold} of {len(share_set.shares)}, written to "
                f"{len(media)} media and read back. The restore test must pass before the "
                "ceremony can close.",
                (
                    Fact("Key check value", check_value),
                    Fact("Blob SHA-256", blob_fpr.grouped(), blob_fpr.words),
                    Fact("Public key SHA-256", key_fpr.grouped(), key_fpr.words),
                    Fact("Share set", f"identifier {share_set.identifier}"),
                    *(
                        Fact(f"Medium {m['material']}", str(m["path"]))
                        for m in media
                        if isinstance(m, dict)
                    ),
                ),
            ),
        )

    def sheet_subject(
        self, backup: BackupSpec, label: str, certificate: IssuedCertificate | None
    ) -> str:
        """What a share sheet of ``backup`` says it protects (the CA by its common name)."""
        ca_name = certificate.subject if certificate is not None else "none issued in this ceremony"
        if certificate is not None:  # a whole DN does not fit the share sheet: its common name
            cert_spec = next(
                c for c in self.runner.script.certificates if c.id == certificate.certificate_id
            )
            if cert_spec.subject is not None:
                ca_name = cert_spec.subject.common_name
        return f"backup {backup.id} of {label} ({ca_name})"

    def hand_out_kek(
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        *,
        backup: BackupSpec,
        share_set: ShareSet,
        check_value: str,
        subject: str,
    ) -> list[Json]:
        """Hand out and seal each share of ``backup``'s KEK (backup-key, resplit-backup)."""
        runner = self.runner
        what = kek_what(backup)

        def sheet_for(holder: ShareHolder, share: CustodianShare) -> ShareSheet:
            return ShareSheet(
                ceremony_id=runner.script.ceremony.id,
                title=f"{what} share",
                subject=subject,
                custodian=self.custody.name(holder.custodian),
                member_index=share.member_index,
                member_count=share.member_count,
                threshold=share_set.threshold,
                set_identifier=share_set.identifier,
                check_value=share_set.check_value,
                rehearsal=runner.rehearsal,
                key_check_value=check_value,
            )

        return self.custody.hand_out(
            step,
            view,
            operator,
            what=what,
            holders=backup.shares,
            share_set=share_set,
            sheet_for=sheet_for,
            journal_extra={"backup_id": backup.id, "check_value": check_value},
        )

    def _abandon(
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        ack: Acknowledgement,
        pending: InterruptedBackup,
    ) -> None:
        """Destroy what an interrupted attempt left: its blob on the media, its share sheets.

        The KEK of that attempt is gone (it was wiped with the process), but its sheets, sealed
        in bags, and its blob together would still rebuild the CA key: an untracked backup. The
        blob files this ceremony wrote (same SHA-256) are overwritten and deleted; the room is
        told which sealed sheets to destroy, unopened, in view of the witnesses;
        ``backup.abandoned`` records both. The step then makes a new backup.
        """
        runner = self.runner
        port = self._port()
        backup = self._backup(step)
        removed: list[tuple[str, str]] = []
        for material in backup.media:
            path = port.discard_medium(material, pending.blob_name, pending.blob_sha256)
            if path is not None:
                removed.append((material, path))
        runner._journal(
            "backup.abandoned",
            {
                "backup_id": pending.backup_id,
                "check_value": pending.check_value,
                "blob_sha256": pending.blob_sha256,
                "blob_removed": [{"material": m, "path": path} for m, path in removed],
                "sheets_to_destroy": [
                    {"custodian": custodian, "share": share, "bag": bag}
                    for custodian, share, bag in pending.sheets
                ],
            },
            step=step.id,
            actors=runner._actors(step, ack),
        )
        facts = [Fact("Abandoned key check value", pending.check_value)]
        facts += [Fact("Blob destroyed", f"{path} ({material})") for material, path in removed]
        for custodian, _share, bag in pending.sheets:
            name = self.custody.name(custodian)
            facts.append(Fact(f"Destroy the sheet of {name}", f"bag {bag}, unopened"))
        sheets = (
            f"The {len(pending.sheets)} share sheet(s) printed for it are now worthless but "
            "dangerous: destroy each one, in its bag, unopened, in view of the witnesses."
            if pending.sheets
            else "No share sheet had been printed for it."
        )
        operator.outcome(
            view,
            Outcome(
                f"The backup {pending.backup_id} was interrupted before it was recorded, so it "
                f"is abandoned: its blob was destroyed on {len(removed)} medium(s). {sheets} "
                "A new backup, with a new key check value, is made next.",
                tuple(facts),
            ),
        )

    def _write_media(  # noqa: PLR0917 - one call site
        self,
        step: ActionStep,
        view: StepView,
        backup: BackupSpec,
        name: str,
        blob: bytes,
        digest: str,
    ) -> list[Json]:
        """Write the blob to every medium, read each back and compare SHA-256."""
        port = self._port()
        written: list[Json] = []
        for material in backup.media:
            path = port.write_medium(material, name, blob)
            back = hashlib.sha256(port.read_medium(material, name)).hexdigest()
            if back != digest:
                raise CeremonyAborted(
                    f"Step {view.index + 1} ({step.title}): the blob read back from medium "
                    f"{material} ({path}) has SHA-256 {back}, not {digest} as written; the "
                    "medium is faulty. Nothing was split; the ceremony is stopped."
                )
            written.append({"material": material, "path": path, "sha256": back})
        return written

    # ------------------------------------------------------------------ restore-test

    def restore_test(
        self, step: ActionStep, view: StepView, operator: Operator, ack: Acknowledgement
    ) -> None:
        runner = self.runner
        backup = self._backup(step)
        made = self.made.get(backup.id)
        if made is None:
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the backup {backup.id} was not made in "
                "this ceremony, so there is nothing to test."
            )
        restore = self._restore_hsm(view, step)
        custodians = list(backup.restore_test_custodians)
        if len(custodians) != backup.threshold:
            raise CeremonyAborted(
                f"Step {view.index + 1} ({step.title}): the script names {len(custodians)} "
                f"restore-test custodians for {backup.id}; exactly {backup.threshold} are needed."
            )
        absent = [self.custody.name(c) for c in custodians if c not in runner.present]
        if absent:
            raise CeremonyError(
                f"Step {view.index + 1} ({step.title}): the restore test of {backup.id} needs "
                f"{', '.join(self.custody.name(c) for c in custodians)}; absent: "
                f"{', '.join(absent)}."
            )
        try:
            data = self._restore(step, view, operator, backup, made, restore, custodians)
        except SealroomError as exc:
            runner._journal(
                "restore.failed",
                {"backup_id": backup.id, "problem": str(exc)},
                step=step.id,
                actors=runner._actors(step, ack),
            )
            raise
        runner._journal("restore.tested", data, step=step.id, actors=runner._actors(step, ack))
        self.tested.add(backup.id)
        fpr = sha256_fingerprint(made.spki_der)
        operator.outcome(
            view,
            Outcome(
                f"The backup {backup.id} restores: the key unwrapped in the restore-test token "
                "signed, the signature verified, and the token was zeroised and is empty.",
                (
                    Fact("Restored key's public key SHA-256", fpr.grouped(), fpr.words),
                    Fact("Key check value", f"{made.check_value} (matches backup.made)"),
                    Fact("Blob SHA-256", f"{made.blob_sha256} (matches on every medium)"),
                    Fact("Objects on the restore-test token", "0 after zeroisation"),
                ),
            ),
        )

    def _restore(  # noqa: PLR0917 - one call site
        self,
        step: ActionStep,
        view: StepView,
        operator: Operator,
        backup: BackupSpec,
        made: MadeBackup,
        restore: Hsm,
        custodians: Sequence[str],
    ) -> dict[str, Json]:
        """The restore test proper; a SealroomError says which check failed (never a secret)."""
        runner = self.runner
        port = self._port()
        where = f"Step {view.index + 1} ({step.title})"
        collector = self._sharing().collector(
            backup.threshold, made.set_identifier, made.set_check_value, made.custodian_names
        )
        kek, accepted, _ = self.custody.collect(
            step,
            view,
            operator,
            collector=collector,
            custodians=custodians,
            what=kek_what(backup),
            needed=backup.threshold,
        )
        logged_in = False
        try:
            try:
                check_value = port.check_value(kek)
                if check_value != made.check_value:
                    raise CeremonyError(
                        f"{where}: the shares combine to a key-encryption key with check value "
                        f"{check_value}, not {made.check_value} as journaled for {backup.id}."
                    )
                media, blob_data = self._read_media(where, backup, made)
                certificate = (
                    runner.certificates.get(made.certificate_id) if made.certificate_id else None
                )
                blob = port.decode(
                    blob_data,
                    f"on medium {backup.media[0]}",
                    key_id=backup.key,
                    certificate_der=certificate.der if certificate is not None else None,
                    spki_der=made.spki_der,
                )
                if blob.check_value != made.check_value:
                    raise CeremonyError(
                        f"{where}: the blob on the media names check value {blob.check_value}, "
                        f"not {made.check_value}: it was made under another key-encryption key."
                    )
                token = self._restore_token(where, backup, restore)
                self._login(step, view, operator, restore)
                logged_in = True
                key_spec = runner.script.key(backup.key)
                with operator.working(view, "Unwrapping the key into the restore-test token"):
                    restored = restore.unwrap_key(key_spec, blob.wrapped, kek, persist=False)
            finally:
                wipe(kek)
            if restored.record.spki_der != made.spki_der:
                raise CeremonyError(
                    f"{where}: the key unwrapped from the backup has public key SHA-256 "
                    f"{sha256_fingerprint(restored.record.spki_der).hex}, not that of "
                    f"{key_spec.label}."
                )
            nonce = runner.ports.hsm.random_bytes(RESTORE_NONCE_BYTES)
            message = (
                f"Sealroom restore test {runner.script.ceremony.id} {backup.id} ".encode()
                + nonce.hex().encode("ascii")
            )
            signature = restored.sign(message, RESTORE_HASH)
            public = certificate.der if certificate is not None else made.spki_der
            if not port.signature_valid(public, message, signature, RESTORE_HASH):
                raise CeremonyError(
                    f"{where}: the restored key's signature does not verify with the public key "
                    f"of {'the CA certificate' if certificate is not None else key_spec.label}."
                )
            so_pin = operator.secret(view, RESTORE_SO_PIN, 1, 1)
            try:
                with operator.working(view, "Zeroising the restore-test token"):
                    zeroised = restore.zeroise(so_pin)
            finally:
                del so_pin
            logged_in = False
        finally:
            if logged_in:
                with suppress(SealroomError):
                    restore.logout()  # the session object goes with the session
        if zeroised.after:
            raise CeremonyAborted(
                f"{where}: the restore-test token still holds {len(zeroised.after)} object(s) "
                "after zeroisation."
            )
        from sealroom.ceremony.actions import objects_json, token_json

        return {
            "backup_id": backup.id,
            "key_id": backup.key,
            "passed": True,
            "custodians": list(accepted),
            "check_value": check_value,
            "check_value_matched": True,
            "blob_sha256": made.blob_sha256,
            "blob_sha256_matched": True,
            "media": media,
            "blob_version": blob.version,
            "restore_token": token,
            "unwrapped_as": "session object",
            "restored_fingerprint": sha256_fingerprint(restored.record.spki_der).to_json(),
            "restored_attributes": dict(restored.record.attributes),
            "signed_message_sha256": hashlib.sha256(message).hexdigest(),
            "hash": RESTORE_HASH,
            "verified_with": "certificate" if certificate is not None else "public key",
            "certificate_id": made.certificate_id,
            "verified": True,
            "zeroised_before": objects_json(zeroised.before),
            "objects_after_zeroise": len(zeroised.after),
            "token_after": token_json(zeroised.token_after),
        }

    def _read_media(
        self, where: str, backup: BackupSpec, made: MadeBackup
    ) -> tuple[list[Mapping[str, Json]], bytes]:
        """Read the blob back from every medium; each must have the journaled SHA-256."""
        port = self._port()
        name = blob_name(backup)
        read: list[Mapping[str, Json]] = []
        first: bytes | None = None
        for material in backup.media:
            data = port.read_medium(material, name)
            digest = hashlib.sha256(data).hexdigest()
            if digest != made.blob_sha256:
                raise CeremonyError(
                    f"{where}: the blob on medium {material} has SHA-256 {digest}, not "
                    f"{made.blob_sha256} as journaled by backup.made."
                )
            read.append({"material": material, "file": name, "sha256": digest})
            if first is None:
                first = data
        if first is None:
            raise CeremonyError(f"{where}: the backup {backup.id} names no medium.")
        return read, first

    def _restore_token(self, where: str, backup: BackupSpec, restore: Hsm) -> dict[str, Json]:
        """The restore-test token's identity; in production it must be the scripted HSM."""
        from sealroom.ceremony.actions import token_json

        runner = self.runner
        info = restore.token_info()
        declared = (
            runner.script.material(backup.restore_test_token)
            if backup.restore_test_token is not None
            else None
        )
        stand_in = declared is not None and info.serial != declared.serial
        if stand_in and not runner.rehearsal:
            assert declared is not None  # noqa: S101 - stand_in implies it
            raise CeremonyAborted(
                f"{where}: the restore-test token's serial number is {info.serial!r}, but the "
                f"script declares {declared.id!r} with serial {declared.serial!r}."
            )
        return {
            "material": backup.restore_test_token,
            "declared_serial": declared.serial if declared is not None else None,
            "stand_in": stand_in,
            "token": token_json(info),
        }

    def _login(self, step: ActionStep, view: StepView, operator: Operator, hsm: Hsm) -> None:
        """Log in to the restore-test token with its user PIN, typed (limited attempts)."""
        limit = self.runner.script.hsm_required().max_pin_attempts
        for attempt in range(1, limit + 1):
            pin = operator.secret(view, RESTORE_USER_PIN, attempt, limit - attempt + 1)
            try:
                hsm.login(pin)
            except PinLockout:
                raise
            except PinError:
                self.runner._journal(
                    "hsm.login-failed",
                    {"attempt": attempt, "attempts_left": limit - attempt, "token": "restore"},
                    step=step.id,
                )
                continue
            finally:
                del pin
            return
        raise CeremonyAborted(
            f"Step {view.index + 1} ({step.title}): the restore-test token refused the PIN "
            f"{limit} times; the ceremony is stopped."
        )


def _made_from_journal(data: Mapping[str, Json]) -> MadeBackup:
    names = data.get("custodian_names")
    certificate_id = data.get("certificate_id")
    return MadeBackup(
        backup_id=str(data["backup_id"]),
        key_id=str(data["key_id"]),
        check_value=str(data["check_value"]),
        blob_sha256=str(data["blob_sha256"]),
        spki_der=base64.b64decode(str(data["spki_der_b64"])),
        certificate_id=None if certificate_id is None else str(certificate_id),
        set_identifier=int(str(data["set_identifier"])),
        set_check_value=str(data["set_check_value"]),
        custodian_names=tuple(str(n) for n in names) if isinstance(names, list | tuple) else (),
    )
