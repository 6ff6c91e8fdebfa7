"""The ceremony record: what a report shows, read from journal entries alone and cross-checked."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from pydantic import ValidationError

from sealroom.ceremony.activation import SO_PIN, USER_PIN
from sealroom.ceremony.fingerprint import (
    Fingerprint,
    fingerprint_from_hex,
    fingerprint_from_json,
    sha256_fingerprint,
)
from sealroom.ceremony.ports import Actor, JournalHead, Json
from sealroom.ceremony.script import (
    ActionStep,
    EntryStep,
    PinSplit,
    Script,
    Step,
    WitnessCheckStep,
)
from sealroom.errors import ReportError
from sealroom.journal.entry import GENESIS_PREV, OPENING_EVENT, JournalEntry

TOKEN_FIELDS = (
    ("manufacturer", "Manufacturer"),
    ("model", "Model"),
    ("serial", "Serial number (reported by the token)"),
    ("label", "Token label"),
    ("firmware_version", "Firmware version"),
    ("hardware_version", "Hardware version"),
    ("library", "PKCS#11 library"),
    ("library_description", "Library description"),
    ("library_version", "Library version"),
    ("slot_id", "Slot id"),
    ("slot_description", "Slot description"),
    ("flags", "Token flags"),
)


@dataclass(frozen=True)
class Person:
    """A participant acting in one role, with the names the script gives both."""

    participant_id: str
    name: str
    role_id: str
    role_name: str


@dataclass(frozen=True)
class StepRecord:
    """One script step and what the journal says happened in it (EV-STEPS)."""

    number: int
    step: Step
    performed: bool
    completed_at: datetime | None
    performer: Person | None
    witnesses: tuple[Person, ...]
    result: str
    details: tuple[str, ...]
    ok: bool
    """False when the step shows a mismatch, a deviation or a failure an auditor must look at."""
    seqs: tuple[int, ...]
    act: str | None = None
    """The title of the act (phase) the step belongs to, from the script."""
    skipped: bool = False
    again: tuple[tuple[datetime, int], ...] = ()
    """Later ``step.completed`` entries of the step (time, seq): a login performed again after
    an interruption."""
    effect_before_interruption: int | None = None
    """The entry of the action's effect, when the step was completed after an interruption
    without repeating its action (``completed_before_interruption``)."""
    """Not performed: a deviation decided to skip it (``step.skipped``)."""


@dataclass(frozen=True)
class TokenView:
    """The token identified at the opening (EV-DEVICE)."""

    material: str
    declared_serial: str
    fields: tuple[tuple[str, str], ...]
    """(label, value) in display order."""
    reported_serial: str
    identified_at: datetime
    seq: int
    stand_in: bool = False
    """A rehearsal's throwaway token standing in for the scripted HSM."""

    @property
    def serial_matches(self) -> bool:
        return self.reported_serial == self.declared_serial


@dataclass(frozen=True)
class TokenObject:
    """One object listed on a token (``token.inventory``, ``key.destroyed``, ``token.zeroised``)."""

    object_class: str
    label: str
    cka_id: str
    key_type: str | None


@dataclass(frozen=True)
class MechanismView:
    """A PKCS#11 mechanism the script's keys use, as the token reports it (EV-SETTINGS)."""

    name: str
    min_key_bits: int
    max_key_bits: int
    flags: tuple[str, ...]


@dataclass(frozen=True)
class LogKeyView:
    """A ceremony-log public key as journaled (never a CA key; docs/journal-format.md 6)."""

    seq: int
    algorithm: str
    fingerprint: Fingerprint


@dataclass(frozen=True)
class CheckpointView:
    """A signed checkpoint of the journal and whether its signature verified."""

    seq: int
    reason: str
    through_seq: int
    through_sha256: str
    key_fingerprint: str
    signature_b64: str
    valid: bool


@dataclass(frozen=True)
class InventoryView:
    """The token as an ``inventory-token`` step read it (EV-DEVICE, EV-SETTINGS)."""

    fields: tuple[tuple[str, str], ...]
    """(label, value) of the TokenInfo, in the order of TOKEN_FIELDS."""
    token_serial: str
    mechanisms: tuple[MechanismView, ...]
    objects: tuple[TokenObject, ...]
    logged_in: bool
    """Whether private objects were visible (the session was logged in)."""
    step_number: int
    taken_at: datetime
    seq: int


@dataclass(frozen=True)
class DeviceView:
    """The HSM's details as the report shows them (EV-DEVICE, EV-SETTINGS).

    From the last ``token.inventory`` when an inventory step ran, else from ``token.identified``
    (then ``mechanisms`` is None: the token's mechanism settings were not read).
    """

    source: str
    """``token.inventory`` or ``token.identified``."""
    fields: tuple[tuple[str, str], ...]
    mechanisms: tuple[MechanismView, ...] | None
    step_number: int | None
    seq: int


@dataclass(frozen=True)
class KeyView:
    """One key pair: generated in this ceremony, or found on the token (EV-KEY-*)."""

    key_id: str
    label: str
    cka_id: str
    algorithm: str
    key_type: str
    size_bits: int
    curve: str | None
    public_exponent: int | None
    fingerprint: Fingerprint
    fingerprint_recomputed: bool
    """True when SHA-256 of the journaled SPKI equals the journaled fingerprint."""
    attributes: tuple[tuple[str, bool], ...]
    mechanism: str | None
    """The generation mechanism (None for a key found on the token)."""
    token_serial: str
    generated_at: str | None
    """RFC 3339 UTC (None for a key found on the token: it was made in an earlier ceremony)."""
    purposes: tuple[str, ...]
    backup: bool | None
    step_id: str | None
    seq: int
    found: bool = False
    """True for ``key.found``: a key made in an earlier ceremony, found on the token by label."""
    spki_der: bytes = b""
    step_number: int = 0
    destroyed_seq: int | None = None
    after_interruption: bool = False
    """Found by a resumed ``generate-key`` step: made in this ceremony before the interruption,
    before the journal recorded it (``key.found`` with ``after_interruption``)."""
    found_again: tuple[int, ...] = ()
    """Later ``key.found`` entries of this same key (same key id and fingerprint), e.g. when a
    resumed ceremony first uses a key this journal already shows."""
    recovered_from: str | None = None
    """The backup this key was unwrapped from (``key.recovered``); None otherwise."""
    """The seq of the ``key.destroyed`` entry that destroyed it, if any."""


@dataclass(frozen=True)
class CertificateView:
    """One certificate issued (EV-ARTIFACTS)."""

    certificate_id: str
    key_id: str
    output: str
    pem: str
    der: bytes
    sha256: Fingerprint
    """Of the DER, as recomputed from the PEM."""
    sha256_matches: bool
    """The journaled ``sha256`` equals the recomputed one."""
    spki: Fingerprint
    """SHA-256 of the certified public key (the certificate's SubjectPublicKeyInfo), recomputed."""
    spki_matches_certificate: bool
    """The journaled SPKI SHA-256 of the certified key (``subject_spki_sha256``, or for a journal
    without it the signing key's ``fingerprint`` of a self-signed root) equals ``spki``."""
    spki_matches_key: bool | None
    """The signing key's journaled fingerprint equals the key of ``key_id`` generated or found in
    this ceremony (None: no such key in the journal)."""
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    signature_algorithm: str
    checks: tuple[str, ...]
    issued_at: datetime
    seq: int
    key_fingerprint: Fingerprint | None = None
    """The signing key's SPKI SHA-256 as journaled (``fingerprint``)."""
    profile: str | None = None
    lint_warnings: tuple[str, ...] = ()
    signature_valid: bool | None = None
    """The signature verified by this report with the signing key's journaled public key (None:
    no such key in the journal)."""
    step_number: int = 0


@dataclass(frozen=True)
class QrShown:
    """A payload shown to the room as QR frames (``show-qr`` or ``export-qr``)."""

    artifact: str
    """The certificate, CSR or CRL id."""
    frames: int
    payload_sha256: str
    shown_at: datetime
    seq: int
    step_number: int = 0

    @property
    def certificate_id(self) -> str:
        return self.artifact


@dataclass(frozen=True)
class InputView:
    """An object received through the air gap by QR codes (``input.received``)."""

    input_id: str
    kind: str
    description: str | None
    """From the script's inputs."""
    sha256: Fingerprint
    """Of the payload read from the QR codes."""
    der_sha256: Fingerprint
    """Of the DER, recomputed by this report from ``der_b64``."""
    der_sha256_matches: bool
    """The journaled ``der_sha256`` equals the recomputed one."""
    expected_sha256: str | None
    stand_in: bool
    """A rehearsal stand-in: its SHA-256 is not the one the script lists."""
    sources: int
    summary: str
    facts: tuple[tuple[str, str], ...]
    step_number: int
    received_at: datetime
    seq: int
    der: bytes = b""
    """The object as received (``der_b64``), printed again as QR codes."""

    @property
    def matches_expected(self) -> bool | None:
        return None if self.expected_sha256 is None else self.sha256.hex == self.expected_sha256


@dataclass(frozen=True)
class CsrView:
    """A certificate signing request made with a key in the HSM (``csr.made``, EV-ARTIFACTS)."""

    csr_id: str
    key_id: str
    output: str
    pem: str
    der: bytes
    sha256: Fingerprint
    """Of the DER, recomputed from the PEM."""
    sha256_matches: bool
    subject: str
    signature_algorithm: str
    spki: Fingerprint
    """SHA-256 of the request's public key, recomputed."""
    spki_matches: bool
    """The journaled ``spki_sha256`` equals ``spki``."""
    spki_matches_key: bool | None
    """``spki`` equals the key of ``key_id`` in this journal (None: no such key)."""
    signature_valid: bool
    checks: tuple[str, ...]
    step_number: int
    made_at: datetime
    seq: int


@dataclass(frozen=True)
class RevokedView:
    serial: str
    revoked_at: str
    reason: str


@dataclass(frozen=True)
class CrlView:
    """A CRL signed in the HSM (``crl.issued``, EV-ARTIFACTS)."""

    crl_id: str
    key_id: str
    output: str
    pem: str
    der: bytes
    sha256: Fingerprint
    sha256_matches: bool
    issuer: str
    number: int
    this_update: str
    next_update: str
    revoked: tuple[RevokedView, ...]
    contents_match: bool
    """The number and the revoked serials decoded from the CRL equal the journaled ones."""
    signature_valid: bool | None
    signature_algorithm: str
    checks: tuple[str, ...]
    lint_warnings: tuple[str, ...]
    step_number: int
    issued_at: datetime
    seq: int


@dataclass(frozen=True)
class DestructionView:
    """A key destroyed in the token (``key.destroyed``, EV-DESTROY)."""

    key_id: str
    label: str
    destroyed: tuple[TokenObject, ...]
    remaining: tuple[TokenObject, ...]
    token_serial: str
    step_number: int
    destroyed_at: datetime
    seq: int

    @property
    def cka_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o.cka_id for o in self.destroyed))

    @property
    def leftovers(self) -> tuple[TokenObject, ...]:
        """Remaining objects with the key's label or one of the destroyed CKA_IDs (must be none)."""
        ids = set(self.cka_ids)
        return tuple(o for o in self.remaining if o.label == self.label or o.cka_id in ids)


@dataclass(frozen=True)
class ZeroisationView:
    """A token re-initialised, with its objects before and after (``token.zeroised``)."""

    before: tuple[TokenObject, ...]
    after: tuple[TokenObject, ...]
    token_fields: tuple[tuple[str, str], ...]
    token_serial: str
    step_number: int
    zeroised_at: datetime
    seq: int


@dataclass(frozen=True)
class SealedShare:
    """A custodian's share sheet printed and sealed in a bag (``share.sealed``, EV-QUORUM)."""

    what: str
    """What was split: ``HSM user PIN`` or ``HSM security officer PIN``."""
    share: str
    """The script's share id."""
    custodian: str
    member_index: int
    member_count: int
    bag: str
    printer: str
    job: str
    step_number: int
    sealed_at: datetime
    seq: int
    backup_id: str | None = None
    """The backup whose key-encryption key this share is of (None: a token PIN's share)."""
    check_value: str | None = None
    """The key check value of that key-encryption key, as printed on the sheet."""


@dataclass(frozen=True)
class ShareSlot:
    """One member of a split secret: the script's share id, its custodian, its bag if sealed."""

    share: str
    custodian: str
    member_index: int
    """1-based, in the order the script lists the custodians (SLIP-39 member order)."""
    sealed: SealedShare | None
    """The ``share.sealed`` entry of this share (None: not sealed in this journal)."""


@dataclass(frozen=True)
class SplitView:
    """A token PIN split k-of-n among custodians (m-of-n activation, EV-QUORUM).

    From the script's ``hsm.activation``, with what ``token.initialised`` and ``share.sealed``
    journaled when the split happened in this ceremony.
    """

    what: str
    threshold: int
    shares: tuple[ShareSlot, ...]
    set_identifier: int | None
    """The SLIP-39 set identifier: journaled at initialisation, else the script's (or None)."""
    check_value: str | None
    initialised: bool
    """True when ``token.initialised`` in this journal made the split."""
    step_number: int | None = None
    initialised_at: datetime | None = None
    seq: int | None = None
    token_label: str | None = None
    token_serial: str | None = None

    @property
    def member_count(self) -> int:
        return len(self.shares)

    def slot(self, share_id: str) -> ShareSlot | None:
        return next((s for s in self.shares if s.share == share_id), None)


@dataclass(frozen=True)
class ShareEntry:
    """A custodian's share typed at an activation: accepted (``share.accepted``) or refused."""

    custodian: str
    attempt: int
    accepted: bool
    member_index: int | None
    """The member the accepted share is (None for a refused one)."""
    problem: str | None
    """Why a share was refused (positions or counts, never a word)."""
    at: datetime
    seq: int


@dataclass(frozen=True)
class ActivationView:
    """Custodians' shares combined to give a token PIN (``quorum.activated``, EV-QUORUM).

    ``activated`` is False when shares were typed in a step but no quorum was reached.
    """

    what: str
    step_id: str
    step_number: int
    threshold: int
    member_count: int | None
    """n, from the script's split (None: the script declares no such split)."""
    custodians: tuple[str, ...]
    """Whose shares were combined, in order (empty when not activated)."""
    set_identifier: int | None
    check_value: str | None
    entries: tuple[ShareEntry, ...]
    activated: bool
    activated_at: datetime | None
    seq: int | None
    """The seq of ``quorum.activated``."""
    login_seq: int | None = None
    """The ``hsm.login`` (activation m-of-n) that used the PIN, if any."""
    login_refused: bool = False
    """The token refused the PIN the shares combined to (``hsm.login-failed`` after it)."""
    expected_from: str | None = None
    """What the set was checked against: ``"script"`` (the script lists the set identifier or
    check value), ``"initialisation"`` (the split ``token.initialised`` journaled earlier in this
    journal), or None (neither: not checked by this report)."""
    expected_set_identifier: int | None = None
    expected_check_value: str | None = None
    expected_seq: int | None = None
    """The seq of the ``token.initialised`` entry checked against (``"initialisation"``)."""
    expected_step_number: int | None = None
    set_matches: bool | None = None
    """True when the journaled set agrees with what it was checked against (None: not checked)."""

    @property
    def rejected(self) -> tuple[ShareEntry, ...]:
        return tuple(e for e in self.entries if not e.accepted)

    @property
    def accepted(self) -> tuple[ShareEntry, ...]:
        return tuple(e for e in self.entries if e.accepted)


@dataclass(frozen=True)
class BackupMedium:
    """One medium the blob was written to (``backup.made``) or read back from (``restore.*``)."""

    material: str
    where: str
    """The path written (``backup.made``) or the file name read (``restore.tested``)."""
    sha256: str
    matches: bool
    """The SHA-256 read back is the blob's (``blob_sha256`` of ``backup.made``)."""


@dataclass(frozen=True)
class BackupShareView:
    """One custodian's share of a backup's key-encryption key: member, custodian, bag."""

    share: str
    custodian: str
    member_index: int
    bag: str
    sealed: SealedShare | None
    """The ``share.sealed`` entry of this share in the backup's step (None: not journaled)."""


@dataclass(frozen=True)
class BackupView:
    """A CA key wrapped under a split key-encryption key (``backup.made``, EV-BACKUP/EV-QUORUM)."""

    backup_id: str
    key_id: str
    label: str
    cka_id: str
    key_type: str
    fingerprint: Fingerprint
    fingerprint_matches: bool
    """The SHA-256 of the journaled SPKI (``spki_der_b64``) is the journaled fingerprint."""
    key_matches: bool | None
    """The fingerprint is that of the key ``key_id`` generated or found in this journal (None:
    the journal has no such key entry)."""
    ca_subject: str
    certificate_id: str | None
    certificate_sha256: str | None
    check_value: str
    """The key check value (KCV) of the key-encryption key: AES-256-ECB of a zero block, first
    3 bytes (docs/backup-blob.md). It is in the blob and on every share sheet."""
    mechanism: str
    wrapped_length: int
    blob_name: str
    blob_length: int
    blob_sha256: Fingerprint
    media: tuple[BackupMedium, ...]
    threshold: int
    share_count: int
    set_identifier: int
    set_check_value: str
    """The SLIP-39 share set's own check value (docs/shares.md), not the KEK's KCV."""
    shares: tuple[BackupShareView, ...]
    restore_test_token: str | None
    restore_test_custodians: tuple[str, ...]
    step_number: int
    made_at: datetime
    seq: int
    qr_frames: int | None = None
    """Frames of the blob shown as QR codes in the step (``qr.shown``), if journaled."""


@dataclass(frozen=True)
class OldShareView:
    """One member of a share set a re-split declared void (``shares.voided``)."""

    share: str
    custodian: str
    member_index: int
    combined: bool
    """This holder's share was accepted and combined in the re-split."""
    leaves: bool
    """This holder holds no share of the new set (the custodian replaced)."""


@dataclass(frozen=True)
class ResplitView:
    """A backup's KEK taken from its old holders and split anew (EV-BACKUP, EV-QUORUM).

    From ``shares.voided`` and ``backup.resplit``: the blob and media unchanged, the old set void.
    """

    backup_id: str
    key_id: str
    label: str
    cka_id: str | None
    fingerprint: Fingerprint
    check_value: str
    check_value_matched: bool
    expected_check_value: str
    blob_sha256: str
    blob_sha256_matched: bool
    expected_blob_sha256: str
    expected_fingerprint: str
    expected_source: str
    stand_in: bool
    made_in: str | None
    medium: BackupMedium
    unwrapped_as: str
    verified: bool
    hash_name: str
    signed_message_sha256: str
    objects_before: int
    objects_after: int
    old_set_identifier: int
    old_set_check_value: str | None
    old_threshold: int | None
    """From ``shares.voided`` (None: no such entry in the step)."""
    old_shares: tuple[OldShareView, ...]
    reason: str | None
    combined_by: tuple[str, ...]
    entries: tuple[ShareEntry, ...]
    """The old shares typed in the step (``share.accepted``/``share.rejected``), in order."""
    threshold: int
    share_count: int
    set_identifier: int
    set_check_value: str
    shares: tuple[BackupShareView, ...]
    step_number: int
    resplit_at: datetime
    seq: int
    voided_seq: int | None

    @property
    def proved(self) -> bool:
        """KCV, blob, key and session check as journaled and recomputed; old set voided."""
        return (
            self.check_value_matched
            and self.check_value.upper() == self.expected_check_value
            and self.blob_sha256_matched
            and self.medium.matches
            and self.blob_sha256 == self.expected_blob_sha256
            and self.fingerprint.hex == self.expected_fingerprint
            and self.verified
            and self.objects_before == self.objects_after
            and self.voided_seq is not None
            and all(s.sealed is not None for s in self.shares)
        )


@dataclass(frozen=True)
class RestoreView:
    """A backup restored into a second token, proved and zeroised (``restore.tested``)."""

    backup_id: str
    key_id: str
    passed: bool
    custodians: tuple[str, ...]
    """Whose shares were combined, as ``restore.tested`` names them."""
    entries: tuple[ShareEntry, ...]
    """The shares typed in the step (``share.accepted``/``share.rejected``), in order."""
    check_value: str
    check_value_matched: bool
    """As journaled: the combined KEK's KCV was the one ``backup.made`` journaled."""
    check_value_agrees: bool | None
    """Recomputed by the report: the journaled KCV equals ``backup.made``'s (None: no backup)."""
    blob_sha256: str
    blob_sha256_matched: bool
    media: tuple[BackupMedium, ...]
    blob_version: int
    token_material: str | None
    token_declared_serial: str | None
    token_stand_in: bool
    token_fields: tuple[tuple[str, str], ...]
    token_serial: str
    unwrapped_as: str
    restored_fingerprint: Fingerprint
    fingerprint_agrees: bool | None
    """The restored key's fingerprint is the backed-up key's (None: no backup.made)."""
    restored_attributes: tuple[tuple[str, bool], ...]
    signed_message_sha256: str
    hash_name: str
    verified_with: str
    certificate_id: str | None
    verified: bool
    zeroised_before: tuple[TokenObject, ...]
    objects_after_zeroise: int
    token_after_serial: str
    step_number: int
    tested_at: datetime
    seq: int


@dataclass(frozen=True)
class RestoreFailure:
    """A restore test that did not pass (``restore.failed``): a deviation that blocks closing."""

    backup_id: str
    problem: str
    step_number: int
    failed_at: datetime
    seq: int
    passed_later: int | None = None
    """The seq of a later ``restore.tested`` of the same backup that passed, if any."""


@dataclass(frozen=True)
class RecoveryView:
    """A backup's key unwrapped for good into a token (``key.recovered``, EV-MIGRATE).

    A recovery into the ceremony's HSM, or a migration from the source token to the target token.
    """

    backup_id: str
    key_id: str
    label: str
    migration: bool
    custodians: tuple[str, ...]
    """Whose shares were combined, as ``key.recovered`` names them (never a word)."""
    entries: tuple[ShareEntry, ...]
    """The shares typed in the step (``share.accepted``/``share.rejected``), in order."""
    check_value: str
    check_value_matched: bool
    blob_sha256: str
    blob_sha256_matched: bool
    medium: BackupMedium
    set_identifier: int | None
    expected_source: str
    """Where the values checked came from: ``script`` (backups[].recovery), ``backup.made``
    (a migration: this journal) or ``rehearsal stand-in``."""
    stand_in: bool
    expected_check_value: str
    expected_blob_sha256: str
    expected_fingerprint: str
    made_in: str | None
    script_check_value: str | None
    """The values the script states (``expected.script_values``), when it states some."""
    script_blob_sha256: str | None
    script_fingerprint: str | None
    script_made_in: str | None
    source_agrees: bool | None
    """Recomputed by this report: the values checked are the script's (source ``script``) or
    this journal's ``backup.made`` (a migration); None for a rehearsal stand-in."""
    fingerprint: Fingerprint
    fingerprint_matched: bool
    spki_matches: bool
    """SHA-256 of the recovered key's journaled SPKI is its journaled fingerprint."""
    attributes: tuple[tuple[str, bool], ...]
    unwrapped_as: str
    token_material: str | None
    token_declared_serial: str | None
    token_stand_in: bool
    token_fields: tuple[tuple[str, str], ...]
    token_serial: str
    source_token_fields: tuple[tuple[str, str], ...]
    source_token_serial: str | None
    signed_message_sha256: str
    hash_name: str
    verified_with: str
    verified: bool
    objects_before: int
    objects_after: int
    step_number: int
    recovered_at: datetime
    seq: int
    source_destroyed: DestructionView | None = None
    """A migration: the later ``key.destroyed`` of this key on the source token."""
    source_zeroised: ZeroisationView | None = None
    """A migration: the later ``token.zeroised`` of the source token."""

    @property
    def fingerprint_agrees(self) -> bool:
        """The recovered key's fingerprint is the one expected (and its SPKI's)."""
        return self.spki_matches and self.fingerprint.hex == self.expected_fingerprint

    @property
    def source_emptied(self) -> bool:
        """A migration's source: the key destroyed, then the token shown empty."""
        return (
            self.source_destroyed is not None
            and not self.source_destroyed.leftovers
            and self.source_zeroised is not None
            and not self.source_zeroised.after
        )


@dataclass(frozen=True)
class RecoveryFailure:
    """A recovery that was refused (``recovery.failed``); the target's object count compared."""

    backup_id: str
    problem: str
    objects_before: int | None
    objects_after: int | None
    target_unchanged: bool
    step_number: int
    failed_at: datetime
    seq: int
    recovered_later: int | None = None
    """The seq of a later ``key.recovered`` of the same backup, if any."""


@dataclass(frozen=True)
class ReportPrinted:
    """A report printed earlier in the journal."""

    sha256: str
    covers_through: int
    printer: str
    job: str
    destination: str
    printed_at: datetime
    seq: int


@dataclass(frozen=True)
class Deviation:
    """A departure from the script, or a check that failed (EV-DEVIATION)."""

    where: str
    expected: str
    observed: str
    decision: str
    decided_by: str
    seq: int
    note: str | None = None
    recorded: bool = False
    """True for a ``deviation.recorded`` entry (a decision taken by the room); False for a
    deviation this report or the engine derived (a failed check, an abort)."""


@dataclass(frozen=True)
class EntryView:
    """A value typed at an entry step (``entry.recorded``): a bag serial, a serial, the clock."""

    step_number: int
    step_id: str
    label: str
    format: str
    value: str
    expected: str | None
    attempts: int
    offset_seconds: int | None
    material: str | None
    """The script material whose value the entry had to match (None: no scripted value)."""
    field: str | None
    """``serial``, ``bag_in`` or ``bag_out`` when ``material`` is set."""
    performer: Person | None
    witnesses: tuple[Person, ...]
    recorded_at: datetime
    seq: int

    @property
    def matches(self) -> bool | None:
        """Whether the typed value is the scripted one (None when nothing was scripted)."""
        return None if self.expected is None else self.value == self.expected


@dataclass(frozen=True)
class ClockView:
    """The workstation clock compared with a reference clock (EV-CLOCK)."""

    offset_seconds: int
    """Reference clock minus workstation clock, in seconds."""
    readers: tuple[Person, ...]
    """The witnesses of the step: who read the reference clock."""
    step_number: int
    recorded_at: datetime
    seq: int

    def sentence(self) -> str:
        """``workstation clock was 2 s behind the reference clock read by <witness>``."""
        who = " and ".join(f"{p.name}, {p.role_name}," for p in self.readers).rstrip(",")
        who = who or "(no witness named)"
        if self.offset_seconds == 0:
            relation = "agreed to the second with"
        elif self.offset_seconds > 0:
            relation = f"was {self.offset_seconds} s behind"
        else:
            relation = f"was {-self.offset_seconds} s ahead of"
        return f"workstation clock {relation} the reference clock read by {who}"


@dataclass(frozen=True)
class BagCheck:
    """A bag serial typed again after a break (``bag.rechecked``)."""

    step_number: int
    material: str
    expected: str
    typed: str
    matches: bool
    checked_at: datetime
    seq: int


@dataclass(frozen=True)
class BreakView:
    """A break: who left and who returned (EV-ATTEND), and the bags re-checked (EV-TEB)."""

    step_number: int
    title: str
    started_at: datetime | None
    left: tuple[str, ...]
    ended_at: datetime | None
    returned: tuple[str, ...]
    absent: tuple[str, ...]
    """Who left and did not return."""
    rechecks: tuple[BagCheck, ...]


@dataclass(frozen=True)
class Statement:
    """One participant's sign-off statement (``signoff.recorded``, EV-SIGNOFF)."""

    participant: str
    followed: bool
    comment: str | None
    step_number: int
    recorded_at: datetime
    seq: int


@dataclass(frozen=True)
class InterruptionView:
    """A ceremony that stopped and was continued in the same journal (``--resume``).

    From ``journal.torn-tail`` (if the stopped session left half a line), ``journal.resumed``
    and ``ceremony.resumed``, with the entries after it that say how a step interrupted after
    its action took effect was completed. An interruption is not a deviation from the script.
    """

    seq: int
    """The first entry of the resumption (``journal.torn-tail`` or ``journal.resumed``)."""
    resumed_at: datetime
    stopped_after: int | None = None
    """The last entry the stopped session wrote (``journal.resumed``'s ``after_seq``)."""
    stopped_at: datetime | None = None
    last_step: str | None = None
    """The last step completed before the interruption (step id), if any."""
    torn_length: int | None = None
    torn_sha256: str | None = None
    torn_seq: int | None = None
    journal_seq: int | None = None
    """The ``journal.resumed`` entry."""
    ceremony_seq: int | None = None
    """The ``ceremony.resumed`` entry (None: the engine did not journal one)."""
    steps_done: tuple[str, ...] = ()
    next_step: str | None = None
    login_repeated: str | None = None
    after_effect: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()
    """Steps whose action took effect before the interruption: (step id, ((event, seq), ...))."""
    set_aside: tuple[tuple[str, str], ...] = ()
    """Files a step not shown done had written: (output, renamed to)."""
    present: tuple[str, ...] = ()
    completed_without_repeat: tuple[tuple[str, int, int], ...] = ()
    """(step id, ``step.completed`` seq, seq of the effect it names) after the resumption."""
    keys_found: tuple[tuple[str, str, int], ...] = ()
    """(step id, key label, seq): keys the interrupted run made, found (``after_interruption``)."""


@dataclass(frozen=True)
class PrinterCheckView:
    """A ``printer.checked`` entry: the printer found present and accepting jobs (EV-MATERIALS)."""

    seq: int
    checked_at: datetime
    material: str | None
    printer: str
    make_and_model: str
    destination: str


@dataclass(frozen=True)
class RegistryView:
    """A ``registry.compared`` entry: the previous ceremony's registry, compared at the opening."""

    seq: int
    ceremony_id: str
    registry_sha256: str
    journal_sha256: str
    rehearsal: bool
    token_compared: bool
    mismatches: tuple[str, ...]
    """Each mismatch's sentence."""


@dataclass(frozen=True)
class PreflightDecision:
    """The room's decision on a failed preflight check (``deviation.recorded``), or the abort."""

    decision: str
    """``proceed`` (the failure waived), ``retry`` (the check run again) or ``abort``."""
    decided_by: str
    """Name (role) of the decider; for an abort without a deviation, how it was stopped."""
    seq: int
    note: str | None = None


@dataclass(frozen=True)
class PreflightCheckView:
    """A ``preflight.checked`` entry: one check of the workstation (docs/preflight.md).

    Image and software feed EV-INTEGRITY, clock EV-CLOCK, devices and network EV-MATERIALS and
    EV-DEVICE. A failed blocking check is decided by the room as a deviation on the attendance
    step (or before the next step after a resumption): ``decision``. A rehearsal's checks are
    informational (``blocking`` false) and decided by nobody.
    """

    seq: int
    checked_at: datetime
    check: str
    passed: bool
    verdict: str
    detail: str
    facts: tuple[tuple[str, str | tuple[str, ...]], ...]
    """What the check read, as journaled (never a secret), sorted by key."""
    rehearsal: bool
    blocking: bool
    at: str
    """``opening``, ``resumption`` or ``retry``."""
    step_id: str | None
    decision: PreflightDecision | None = None

    def fact(self, key: str) -> str | None:
        """A text fact, or None when absent, empty or a list."""
        value = dict(self.facts).get(key)
        return value if isinstance(value, str) and value else None

    def fact_list(self, key: str) -> tuple[str, ...]:
        """A list fact (or a text fact as one item); empty when absent."""
        value = dict(self.facts).get(key)
        if isinstance(value, tuple):
            return value
        return (value,) if value else ()

    @property
    def waived(self) -> bool:
        """A failed blocking check the room decided to proceed past (a recorded deviation)."""
        return (
            not self.passed
            and self.blocking
            and self.decision is not None
            and self.decision.decision == "proceed"
        )


@dataclass(frozen=True)
class AbandonedSheet:
    """A share sheet of an abandoned backup attempt, to destroy unopened (``backup.abandoned``)."""

    custodian: str
    name: str
    share: str
    bag: str
    member_index: int | None
    """From the attempt's ``share.sealed`` (None: no such entry in the journal)."""
    member_count: int | None
    sealed_seq: int | None


@dataclass(frozen=True)
class AbandonedBackupView:
    """A backup attempt interrupted before ``backup.made`` and abandoned on resume.

    Its key-encryption key died with the process, but its blob and its sealed sheets together
    would rebuild the CA key: the blob files were overwritten and deleted, and the sheets are to
    be destroyed unopened in view of the witnesses (docs/resume.md). A deviation by nature.
    """

    backup_id: str
    check_value: str
    """The abandoned attempt's KCV: never the backup's (``backup.made`` has its own)."""
    blob_sha256: str
    blob_removed: tuple[tuple[str, str], ...]
    """(material, path) of each blob file destroyed."""
    sheets: tuple[AbandonedSheet, ...]
    wrapped_seq: int | None
    """The ``backup.wrapped`` of the attempt (None: not in the journal)."""
    wrapped_at: datetime | None
    step_id: str
    step_number: int
    abandoned_at: datetime
    seq: int
    performer: Person | None
    witnesses: tuple[Person, ...]


@dataclass(frozen=True)
class CeremonyRecord:
    """Everything the ceremony report shows, taken from the journal entries only."""

    ceremony_id: str
    ceremony_type: str
    title: str
    script_name: str
    script_sha256: str
    script_words: str
    script: Script
    rehearsal: bool
    software: str
    software_sha256: str | None
    """The SHA-256 of the Sealroom software that ran (docs/fingerprints.md), if journaled."""
    opened_at: datetime
    ended_by: str | None
    ended_at: datetime | None
    end_detail: str | None
    token: TokenView | None
    printer_checks: tuple[PrinterCheckView, ...]
    registry_checks: tuple[RegistryView, ...]
    attendance_at: datetime | None
    present: tuple[str, ...] | None
    """Participant ids recorded present; None before attendance is recorded."""
    absent: tuple[str, ...]
    steps: tuple[StepRecord, ...]
    keys: tuple[KeyView, ...]
    certificates: tuple[CertificateView, ...]
    qr_shown: tuple[QrShown, ...]
    reports_printed: tuple[ReportPrinted, ...]
    deviations: tuple[Deviation, ...]
    entries: tuple[JournalEntry, ...]
    head: JournalHead
    typed: tuple[EntryView, ...] = ()
    """Every ``entry.recorded``, in journal order."""
    clock: ClockView | None = None
    breaks: tuple[BreakView, ...] = ()
    statements: tuple[Statement, ...] | None = None
    """The sign-off statements; None when no ``signoff.recorded`` is in the journal."""
    device: DeviceView | None = None
    inventories: tuple[InventoryView, ...] = ()
    inputs: tuple[InputView, ...] = ()
    csrs: tuple[CsrView, ...] = ()
    crls: tuple[CrlView, ...] = ()
    destructions: tuple[DestructionView, ...] = ()
    zeroisations: tuple[ZeroisationView, ...] = ()
    splits: tuple[SplitView, ...] = ()
    """Every split secret: the script's ``hsm.activation``, with initialisation if journaled."""
    activations: tuple[ActivationView, ...] = ()
    """Every m-of-n activation tried, in journal order (EV-QUORUM)."""
    log_keys: tuple[LogKeyView, ...] = ()
    """The ceremony-log keys that signed the journal's checkpoints (one per session)."""
    checkpoints: tuple[CheckpointView, ...] = ()
    """Every signed checkpoint, in journal order; each signature verified while reading."""
    interruptions: tuple[InterruptionView, ...] = ()
    """Each time the ceremony stopped and was resumed in this journal, in order."""
    backups: tuple[BackupView, ...] = ()
    """Every key backup made in this journal (``backup.made``), in order (EV-BACKUP)."""
    restores: tuple[RestoreView, ...] = ()
    """Every restore test that passed (``restore.tested``), in order (EV-RESTORE)."""
    restore_failures: tuple[RestoreFailure, ...] = ()
    """Every restore test that failed (``restore.failed``), in order."""
    recoveries: tuple[RecoveryView, ...] = ()
    """Every key recovered or migrated from a backup (``key.recovered``), in order (EV-MIGRATE)."""
    recovery_failures: tuple[RecoveryFailure, ...] = ()
    """Every recovery refused (``recovery.failed``), in order."""
    resplits: tuple[ResplitView, ...] = ()
    """Every backup re-split (``backup.resplit``), in order (EV-BACKUP, EV-QUORUM)."""
    preflight: tuple[PreflightCheckView, ...] = ()
    """Every preflight check journaled (``preflight.checked``), in order, with its decision."""
    abandoned_backups: tuple[AbandonedBackupView, ...] = ()
    """Every backup attempt abandoned after an interruption (``backup.abandoned``), in order."""

    def pin_share(self, share_id: str) -> tuple[SplitView, ShareSlot] | None:
        """The split and member a script share id (``user-pin-share-1``...) belongs to."""
        for split in self.splits:
            slot = split.slot(share_id)
            if slot is not None:
                return split, slot
        return None

    def split(self, what: str) -> SplitView | None:
        return next((s for s in self.splits if s.what == what), None)

    def backup_share(
        self, share_id: str
    ) -> tuple[BackupView | ResplitView, BackupShareView] | None:
        """The backup made or re-split here (the latest) that sealed a script share id."""
        found: tuple[BackupView | ResplitView, BackupShareView] | None = None
        holders: list[BackupView | ResplitView] = [*self.backups, *self.resplits]
        for holder in sorted(holders, key=lambda b: b.seq):
            for share in holder.shares:
                if share.share == share_id:
                    found = (holder, share)
        return found

    def restores_of(self, backup_id: str) -> tuple[RestoreView, ...]:
        return tuple(r for r in self.restores if r.backup_id == backup_id)

    def shown(self, artifact: str) -> tuple[QrShown, ...]:
        """Every time ``artifact`` (a certificate, CSR or CRL id) was shown as QR codes."""
        return tuple(q for q in self.qr_shown if q.artifact == artifact)

    def key(self, key_id: str) -> KeyView | None:
        """The key ``key_id`` generated or found in this ceremony (the first entry), if any."""
        return next((k for k in self.keys if k.key_id == key_id), None)

    def step_number(self, step_id: str) -> int | None:
        return next((s.number for s in self.steps if s.step.id == step_id), None)

    def printer_checks_of(self, material: str) -> tuple[PrinterCheckView, ...]:
        """The opening's checks of the printer ``material`` (``printer.checked``)."""
        return tuple(check for check in self.printer_checks if check.material == material)

    def typed_for(self, material: str, field: str) -> tuple[EntryView, ...]:
        """The entries that had to match ``field`` (serial, bag_in, bag_out) of ``material``."""
        return tuple(e for e in self.typed if e.material == material and e.field == field)

    def rechecks_of(self, material: str) -> tuple[BagCheck, ...]:
        return tuple(c for b in self.breaks for c in b.rechecks if c.material == material)

    def present_at_end(self) -> tuple[str, ...] | None:
        """Who was in the room after the last break (None before attendance is recorded)."""
        if self.present is None:
            return None
        gone = {p for b in self.breaks for p in b.absent}
        return tuple(p for p in self.present if p not in gone)

    def participant_name(self, participant_id: str) -> str:
        return participant_name(self.script, participant_id)

    def role_name(self, role_id: str) -> str:
        return role_name(self.script, role_id)


def participant_name(script: Script, participant_id: str) -> str:
    """The participant's name from the script, or the id marked as unknown."""
    for participant in script.participants:
        if participant.id == participant_id:
            return participant.name
    return f"{participant_id} (not in the script)"


def role_name(script: Script, role_id: str) -> str:
    """The role's name from the script, or the id marked as unknown."""
    for role in script.roles:
        if role.id == role_id:
            return role.name
    return f"{role_id} (not in the script)"


def person(script: Script, actor: Actor) -> Person:
    """The participant and role of ``actor`` with their names."""
    return Person(
        participant_id=actor.participant,
        name=participant_name(script, actor.participant),
        role_id=actor.role,
        role_name=role_name(script, actor.role),
    )


# ---------------------------------------------------------------------------------------------
# Reading typed values out of an entry's data, failing closed with the entry named


class _Data:
    def __init__(self, entry: JournalEntry, data: Mapping[str, Json] | None = None) -> None:
        self.entry = entry
        self.data = entry.data if data is None else data

    def _fail(self, key: str, wanted: str) -> ReportError:
        return ReportError(
            f"The journal entry seq {self.entry.seq} ({self.entry.event}) has no valid "
            f"'{key}' ({wanted} expected); the report cannot be rendered from it."
        )

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise self._fail(key, "text")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "text or null")
        return value

    def number(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "a whole number")
        return value

    def opt_number(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        return self.number(key)

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def obj(self, key: str) -> _Data:
        value = self.data.get(key)
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object")
        return _Data(self.entry, value)

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise self._fail(key, "a list of text")
        if not all(isinstance(item, str) for item in value):
            raise self._fail(key, "a list of text")
        return tuple(cast("Sequence[str]", value))

    def objs(self, key: str) -> tuple[_Data, ...]:
        value = self.data.get(key)
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise self._fail(key, "a list of objects")
        if not all(isinstance(item, Mapping) for item in value):
            raise self._fail(key, "a list of objects")
        return tuple(_Data(self.entry, cast("Mapping[str, Json]", item)) for item in value)

    def fingerprint(self, key: str) -> Fingerprint:
        try:
            return fingerprint_from_json(self.data.get(key))
        except ValueError as exc:
            raise self._fail(key, f"a fingerprint ({exc})") from exc


# ---------------------------------------------------------------------------------------------


def ceremony_record(entries: Sequence[JournalEntry]) -> CeremonyRecord:
    """Build the record from the journal entries; raise ReportError if they are not one chain."""
    _require_chain(entries)
    opened = _Data(entries[0])
    try:
        script = Script.model_validate(opened.data.get("script"))
    except ValidationError as exc:
        raise ReportError(
            "The script recorded in ceremony.opened does not validate; the report cannot be "
            f"rendered ({exc.error_count()} problem(s))."
        ) from exc
    software = opened.obj("software")
    builder = _Builder(entries, script)
    # The journal signs its own end: a final journal.checkpoint follows the closing entry.
    last = next((e for e in reversed(entries) if e.event != "journal.checkpoint"), entries[-1])
    ended_by = last.event if last.event in ("ceremony.closed", "ceremony.aborted") else None
    end_detail = None
    if last.event == "ceremony.aborted":
        end_detail = _Data(last).text("reason")
    elif last.event == "ceremony.closed":
        end_detail = _Data(last).text("result")
    return CeremonyRecord(
        ceremony_id=opened.text("ceremony_id"),
        ceremony_type=opened.text("ceremony_type"),
        title=opened.text("title"),
        script_name=opened.text("script_name"),
        script_sha256=opened.text("script_sha256"),
        script_words=opened.text("script_words"),
        script=script,
        rehearsal=opened.flag("rehearsal"),
        software=f"{software.text('name')} {software.text('version')}",
        software_sha256=_optional_hex(software.data.get("sha256")),
        opened_at=entries[0].time,
        ended_by=ended_by,
        ended_at=last.time if ended_by else None,
        end_detail=end_detail,
        token=builder.token,
        printer_checks=tuple(builder.printer_checks),
        registry_checks=tuple(builder.registry_checks),
        attendance_at=builder.attendance_at,
        present=builder.present,
        absent=builder.absent,
        steps=builder.steps(),
        keys=tuple(builder.final_keys()),
        certificates=tuple(builder.certificates),
        qr_shown=tuple(builder.qr_shown),
        reports_printed=tuple(builder.reports_printed),
        deviations=(
            *builder.deviations,
            *builder.backup_deviations(),
            *builder.recovery_deviations(),
            *builder.abandon_deviations(ended_by),
            *builder.preflight_deviations(),
        ),
        entries=tuple(entries),
        head=JournalHead(seq=entries[-1].seq, sha256=entries[-1].sha256),
        log_keys=tuple(builder.log_keys),
        checkpoints=tuple(builder.checkpoints),
        typed=tuple(builder.typed),
        clock=builder.clock,
        breaks=tuple(builder.breaks()),
        statements=builder.statements,
        device=builder.device(),
        inventories=tuple(builder.inventories),
        inputs=tuple(builder.inputs),
        csrs=tuple(builder.csrs),
        crls=tuple(builder.crls),
        destructions=tuple(builder.destructions),
        zeroisations=tuple(builder.zeroisations),
        splits=builder.splits(),
        activations=builder.final_activations(),
        interruptions=tuple(builder.interruptions),
        backups=tuple(builder.backups),
        restores=tuple(builder.restores),
        restore_failures=builder.final_restore_failures(),
        recoveries=builder.final_recoveries(),
        recovery_failures=builder.final_recovery_failures(),
        resplits=tuple(builder.resplits),
        preflight=tuple(builder.preflight),
        abandoned_backups=tuple(builder.abandoned),
    )


def _require_chain(entries: Sequence[JournalEntry]) -> None:
    if not entries:
        raise ReportError("The journal has no entries; there is nothing to report.")
    if entries[0].event != OPENING_EVENT:
        raise ReportError(
            f"The journal does not start with {OPENING_EVENT}; it cannot be reported."
        )
    prev = GENESIS_PREV
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq or entry.prev != prev:
            raise ReportError(
                f"The journal entries do not form one chain at entry {expected_seq} (seq "
                f"{entry.seq}); verify the "
                "journal ('sealroom verify-journal') before rendering a report."
            )
        prev = entry.sha256


class _Builder:
    """Walks the entries once and collects what each section needs."""

    def __init__(self, entries: Sequence[JournalEntry], script: Script) -> None:
        self.script = script
        self.token: TokenView | None = None
        self.printer_checks: list[PrinterCheckView] = []
        self.registry_checks: list[RegistryView] = []
        self.attendance_at: datetime | None = None
        self.present: tuple[str, ...] | None = None
        self.absent: tuple[str, ...] = ()
        self.keys: list[KeyView] = []
        self.certificates: list[CertificateView] = []
        self.qr_shown: list[QrShown] = []
        self.reports_printed: list[ReportPrinted] = []
        self.deviations: list[Deviation] = []
        self.by_step: dict[str, list[JournalEntry]] = {}
        self.completed: dict[str, JournalEntry] = {}
        self.skipped: dict[str, JournalEntry] = {}
        self.rechecks: dict[str, list[BagCheck]] = {}
        self.aborted: JournalEntry | None = None
        self.typed: list[EntryView] = []
        self.clock: ClockView | None = None
        self.statements: tuple[Statement, ...] | None = None
        self.identified_fields: tuple[tuple[str, str], ...] | None = None
        self.identified_seq = 0
        self.inventories: list[InventoryView] = []
        self.inputs: list[InputView] = []
        self.csrs: list[CsrView] = []
        self.crls: list[CrlView] = []
        self.destructions: list[DestructionView] = []
        self.zeroisations: list[ZeroisationView] = []
        self.sealed: list[SealedShare] = []
        self.initialised: dict[str, _Initialised] = {}
        self.pending: dict[tuple[str, str], list[ShareEntry]] = {}
        """Shares typed in a step (step id, what) not yet combined by a ``quorum.activated``."""
        self.activations: list[ActivationView] = []
        self.log_keys: list[LogKeyView] = []
        self.checkpoints: list[CheckpointView] = []
        self.interruptions: list[InterruptionView] = []
        self.backups: list[BackupView] = []
        self.closed: JournalEntry | None = None
        self.restores: list[RestoreView] = []
        self.restore_failures: list[RestoreFailure] = []
        self.recoveries: list[RecoveryView] = []
        self.recovery_failures: list[RecoveryFailure] = []
        self.backup_whats = {_kek_what(b.id): b.id for b in script.backups}
        self.backup_whats |= {_old_kek_what(b.id): b.id for b in script.backups if b.resplit}
        self.resplits: list[ResplitView] = []
        self.preflight: list[PreflightCheckView] = []
        self.wrapped: list[JournalEntry] = []
        """Every ``backup.wrapped``: an attempt is made (``backup.made`` with its KCV) or
        abandoned (``backup.abandoned``); anything else left a blob and sheets unaccounted for."""
        self.abandoned: list[AbandonedBackupView] = []
        self.voided: dict[tuple[str, str], JournalEntry] = {}
        """``shares.voided`` of a step (step id, backup id), read with its ``backup.resplit``."""
        """What a backup's shares protect, as the engine names it, to its backup id."""
        self.backup_typed: dict[tuple[str, str], list[ShareEntry]] = {}
        """Shares of a backup's KEK typed in a step (step id, backup id)."""
        self.completions: dict[str, list[JournalEntry]] = {}
        self.times: dict[int, datetime] = {}
        self._last_completed: str | None = None
        self._log_public: bytes | None = None
        self._previous: JournalEntry | None = None
        self.rehearsal = _Data(entries[0]).data.get("rehearsal") is True if entries else False
        self.numbers = {step.id: number for number, step in enumerate(script.steps, start=1)}
        self.acts = {act.id: act.title for act in script.acts}
        for entry in entries:
            self.times[entry.seq] = entry.time
            if entry.step is not None:
                self.by_step.setdefault(entry.step, []).append(entry)
            handler = getattr(self, "_on_" + entry.event.replace(".", "_").replace("-", "_"), None)
            if handler is not None:
                handler(entry)
            self._previous = entry

    # -- event handlers (names follow docs/journal-events.md)

    def _on_journal_log_key(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        try:
            self._log_public = base64.b64decode(data.text("public_key_der_b64"), validate=True)
        except ValueError as exc:
            raise data._fail("public_key_der_b64", "base64") from exc
        self.log_keys.append(
            LogKeyView(entry.seq, data.text("algorithm"), data.fingerprint("fingerprint"))
        )

    def _on_journal_checkpoint(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        through_seq = data.number("through_seq")
        through_sha256 = data.text("through_sha256")
        signature_b64 = data.text("signature_b64")
        previous = self._previous
        valid = (
            self._log_public is not None
            and previous is not None
            and previous.seq == through_seq
            and previous.sha256 == through_sha256
            and _checkpoint_valid(self._log_public, through_sha256, through_seq, signature_b64)
        )
        self.checkpoints.append(
            CheckpointView(
                seq=entry.seq,
                reason=data.text("reason"),
                through_seq=through_seq,
                through_sha256=through_sha256,
                key_fingerprint=data.text("key_fingerprint"),
                signature_b64=signature_b64,
                valid=valid,
            )
        )
        if not valid:
            self.deviations.append(
                Deviation(
                    where=f"Journal checkpoint (seq {entry.seq})",
                    expected="a signature by the journaled ceremony-log key over the entry "
                    "just before",
                    observed="the signature does not verify, or names another entry",
                    decision="found while rendering the report; no decision is journaled",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    def _on_printer_checked(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        self.printer_checks.append(
            PrinterCheckView(
                seq=entry.seq,
                checked_at=entry.time,
                material=data.opt_text("material"),
                printer=data.text("printer"),
                make_and_model=data.text("make_and_model"),
                destination=data.text("destination"),
            )
        )

    def _on_registry_compared(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        found = entry.data.get("mismatches")
        listed = found if isinstance(found, Sequence) and not isinstance(found, str) else ()
        sentences = tuple(str(item.get("sentence")) for item in listed if isinstance(item, Mapping))
        self.registry_checks.append(
            RegistryView(
                seq=entry.seq,
                ceremony_id=data.text("registry_ceremony_id"),
                registry_sha256=data.text("registry_sha256"),
                journal_sha256=data.text("registry_journal_sha256"),
                rehearsal=entry.data.get("registry_rehearsal") is True,
                token_compared=entry.data.get("token_compared") is True,
                mismatches=sentences,
            )
        )

    def _on_preflight_checked(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        facts: list[tuple[str, str | tuple[str, ...]]] = []
        raw = data.obj("facts")
        for key in sorted(raw.data):
            value = raw.data[key]
            facts.append((key, value if isinstance(value, str) else raw.texts(key)))
        view = PreflightCheckView(
            seq=entry.seq,
            checked_at=entry.time,
            check=data.text("check"),
            passed=data.flag("passed"),
            verdict=data.text("verdict"),
            detail=data.text("detail"),
            facts=tuple(facts),
            rehearsal=data.flag("rehearsal"),
            blocking=data.flag("blocking"),
            at=data.text("at"),
            step_id=entry.step,
        )
        self.preflight.append(view)
        if view.verdict != ("PASS" if view.passed else "FAIL"):
            self._integrity(entry, f"verdict of the preflight check {view.check}", "passed flag")
        if view.blocking == self.rehearsal or view.rehearsal != self.rehearsal:
            self._integrity(
                entry,
                f"blocking and rehearsal flags of the preflight check {view.check}",
                "journal's mode (a rehearsal's checks are informational)",
            )

    def _decide_preflight(self, check: str, decision: PreflightDecision) -> bool:
        """Attach a decision to the latest undecided failed blocking ``check``; False if none."""
        for index in range(len(self.preflight) - 1, -1, -1):
            view = self.preflight[index]
            if view.check == check and not view.passed and view.blocking:
                if view.decision is not None:
                    return False
                self.preflight[index] = replace(view, decision=decision)
                return True
        return False

    def preflight_deviations(self) -> list[Deviation]:
        """A failed blocking check in a closed journal that nobody decided: a silent waiver."""
        if self.closed is None:
            return []
        return [
            Deviation(
                where="Preflight at the "
                + ("opening" if view.at == "opening" else f"{view.at} (entry {view.seq})"),
                expected=f"preflight check {view.check} passes, or the room decides its failure",
                observed=f"preflight check {view.check} failed: {view.detail}; no deviation "
                "decides it and the ceremony went on",
                decision="found while rendering the report; no decision is journaled",
                decided_by="-",
                seq=view.seq,
            )
            for view in self.preflight
            if not view.passed and view.blocking and view.decision is None
        ]

    def _on_backup_wrapped(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        data.text("backup_id")
        data.text("blob_sha256")
        if not re.fullmatch(r"[0-9A-F]{6}", data.text("check_value")):
            raise data._fail("check_value", "6 upper-case hex digits")
        self.wrapped.append(entry)

    def _abandoned_kcvs(self, backup_id: str) -> set[str]:
        return {a.check_value for a in self.abandoned if a.backup_id == backup_id}

    def _on_backup_abandoned(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        backup_id = data.text("backup_id")
        check_value = data.text("check_value")
        blob_sha256 = data.text("blob_sha256")
        step_id = self._step_id(entry)
        wrapped = next(
            (
                w
                for w in reversed(self.wrapped)
                if w.data.get("backup_id") == backup_id and w.data.get("check_value") == check_value
            ),
            None,
        )
        sealed = [
            s for s in self.sealed if s.backup_id == backup_id and s.check_value == check_value
        ]
        sheets = []
        for item in data.objs("sheets_to_destroy"):
            custodian = item.text("custodian")
            share = item.text("share")
            bag = item.text("bag")
            match = next((s for s in sealed if (s.share, s.bag) == (share, bag)), None)
            sheets.append(
                AbandonedSheet(
                    custodian=custodian,
                    name=participant_name(self.script, custodian),
                    share=share,
                    bag=bag,
                    member_index=match.member_index if match is not None else None,
                    member_count=match.member_count if match is not None else None,
                    sealed_seq=match.seq if match is not None else None,
                )
            )
        performer = next(
            (person(self.script, a) for a in entry.actors if a.capacity == "performer"), None
        )
        view = AbandonedBackupView(
            backup_id=backup_id,
            check_value=check_value,
            blob_sha256=blob_sha256,
            blob_removed=tuple(
                (m.text("material"), m.text("path")) for m in data.objs("blob_removed")
            ),
            sheets=tuple(sheets),
            wrapped_seq=wrapped.seq if wrapped is not None else None,
            wrapped_at=wrapped.time if wrapped is not None else None,
            step_id=step_id,
            step_number=self.numbers.get(step_id, 0),
            abandoned_at=entry.time,
            seq=entry.seq,
            performer=performer,
            witnesses=tuple(
                person(self.script, a) for a in entry.actors if a.capacity == "witness"
            ),
        )
        self.abandoned.append(view)
        name = f"abandoned attempt {check_value} of backup {backup_id}"
        if wrapped is None:
            self._integrity(entry, name, "backup.wrapped entry with its key check value")
        elif wrapped.data.get("blob_sha256") != blob_sha256:
            self._integrity(entry, f"blob SHA-256 of the {name}", "SHA-256 backup.wrapped records")
        journaled = sorted((s.custodian, s.share, s.bag) for s in sealed)
        if sorted((s.custodian, s.share, s.bag) for s in sheets) != journaled:
            self._integrity(
                entry, f"sheets to destroy of the {name}", "share.sealed entries of that attempt"
            )
        spec = next((b for b in self.script.backups if b.id == backup_id), None)
        if spec is None or any(m not in spec.media for m, _ in view.blob_removed):
            self._integrity(entry, f"media of the {name}", "script's backup media")

    def abandon_deviations(self, ended_by: str | None) -> list[Deviation]:
        """Abandoned attempts (deviations by nature), and wrapped attempts left unaccounted for.

        In a journal that ended, a ``backup.wrapped`` neither made nor abandoned left a blob and
        perhaps sealed sheets that together rebuild the key: an untracked copy.
        """
        out = []
        for view in self.abandoned:
            removed = ", ".join(m for m, _ in view.blob_removed) or "no medium"
            sheets = "; ".join(f"{s.name} (bag {s.bag})" for s in view.sheets) or "none printed"
            who = [p for p in (view.performer, *view.witnesses) if p is not None]
            out.append(
                Deviation(
                    where=self._step_label(view.step_id),
                    expected=f"backup {view.backup_id} made in one attempt (wrapped, written, "
                    "split, sealed and recorded by backup.made)",
                    observed=f"the attempt with key check value {view.check_value} was "
                    "interrupted before backup.made and abandoned on resume: its blob destroyed "
                    f"on {removed}; share sheets to destroy unopened: {sheets}",
                    decision="abandoned by Sealroom on resume; the sheets are destroyed unopened "
                    "in view of the witnesses (section 12); a new backup was made",
                    decided_by="; ".join(f"{p.name} ({p.role_name})" for p in who) or "-",
                    seq=view.seq,
                )
            )
        if ended_by is None:
            return out
        accounted = {(b.backup_id, b.check_value) for b in self.backups}
        accounted |= {(a.backup_id, a.check_value) for a in self.abandoned}
        for entry in self.wrapped:
            key = (str(entry.data.get("backup_id")), str(entry.data.get("check_value")))
            if key in accounted:
                continue
            out.append(
                Deviation(
                    where=self._step_label(entry.step),
                    expected=f"the backup {key[0]} attempt wrapped at entry {entry.seq} is made "
                    "(backup.made) or abandoned (backup.abandoned)",
                    observed=f"the attempt with key check value {key[1]} is neither: its blob "
                    "and any sheet sealed for it are unaccounted for",
                    decision="found while rendering the report; no decision is journaled",
                    decided_by="-",
                    seq=entry.seq,
                )
            )
        return out

    def _on_token_identified(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        token = data.obj("token")
        fields = list(_token_fields(token))
        self.identified_fields = tuple(fields)
        self.identified_seq = entry.seq
        view = TokenView(
            material=data.text("material"),
            declared_serial=data.text("declared_serial"),
            fields=tuple(fields),
            reported_serial=token.text("serial"),
            identified_at=entry.time,
            seq=entry.seq,
        )
        stand_in = data.data.get("stand_in") is True
        if stand_in:
            fields.append(
                (
                    "Rehearsal stand-in",
                    f"yes: a throwaway token replaces the scripted HSM {view.declared_serial}",
                )
            )
            view = replace(view, fields=tuple(fields), stand_in=True)
        self.token = view
        if not view.serial_matches and not stand_in:
            self.deviations.append(
                Deviation(
                    where="Opening: token identified",
                    expected=f"token serial {view.declared_serial} (material {view.material})",
                    observed=f"token serial {view.reported_serial}",
                    decision="recorded by the workstation; no decision is journaled",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    def _on_attendance_recorded(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        self.attendance_at = entry.time
        self.present = data.texts("present")
        self.absent = data.texts("absent")

    def _on_key_generated(self, entry: JournalEntry) -> None:
        self._key(entry, found=False)

    def _on_key_found(self, entry: JournalEntry) -> None:
        self._key(entry, found=True)
        if entry.data.get("after_interruption") is True:
            self._key_found_after_interruption(entry, _Data(entry).text("label"))

    def _key(self, entry: JournalEntry, *, found: bool) -> None:
        data = _Data(entry)
        try:
            spki = base64.b64decode(data.text("spki_der_b64"), validate=True)
        except ValueError as exc:
            raise data._fail("spki_der_b64", "base64") from exc
        fingerprint = data.fingerprint("fingerprint")
        attributes = data.obj("attributes")
        attr_items: list[tuple[str, bool]] = []
        for name in sorted(attributes.data):
            attr_items.append((name, attributes.flag(name)))
        key_id = data.text("key_id")
        spec = next((k for k in self.script.keys if k.id == key_id), None)
        view = KeyView(
            key_id=key_id,
            label=data.text("label"),
            cka_id=data.text("cka_id"),
            algorithm=data.text("algorithm"),
            key_type=data.text("key_type"),
            size_bits=data.number("size_bits"),
            curve=data.opt_text("curve"),
            public_exponent=data.opt_number("public_exponent"),
            fingerprint=fingerprint,
            fingerprint_recomputed=hashlib.sha256(spki).hexdigest() == fingerprint.hex,
            attributes=tuple(attr_items),
            mechanism=None if found else data.text("mechanism"),
            token_serial=data.text("token_serial"),
            generated_at=None if found else data.text("generated_at"),
            purposes=spec.purpose if spec else (),
            backup=spec.backup if spec else None,
            step_id=entry.step,
            seq=entry.seq,
            found=found,
            spki_der=spki,
            step_number=self.numbers.get(entry.step or "", 0),
        )
        if found:
            same = next(
                (
                    i
                    for i, k in enumerate(self.keys)
                    if k.key_id == key_id and k.fingerprint.hex == fingerprint.hex
                ),
                None,
            )
            if same is not None and view.fingerprint_recomputed:
                known = self.keys[same]
                self.keys[same] = replace(known, found_again=(*known.found_again, entry.seq))
                return
            view = replace(view, after_interruption=data.data.get("after_interruption") is True)
        self.keys.append(view)
        if not view.fingerprint_recomputed:
            self._integrity(entry, f"key {view.label}", "SHA-256 of the journaled public key")

    def _on_certificate_issued(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        pem = data.text("pem")
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise data._fail("pem", "a PEM certificate") from exc
        der = certificate.public_bytes(Encoding.DER)
        spki_der = certificate.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
        digest = sha256_fingerprint(der)
        signer = data.fingerprint("fingerprint")
        subject_spki = data.opt_text("subject_spki_sha256")
        spki = sha256_fingerprint(spki_der)
        key_id = data.text("key_id")
        signing = next((k for k in self.keys if k.key_id == key_id), None)
        signature_valid = self._signed_by(
            key_id,
            certificate.signature,
            certificate.tbs_certificate_bytes,
            certificate.signature_algorithm_parameters,
            certificate.signature_hash_algorithm,
        )
        view = CertificateView(
            certificate_id=data.text("certificate_id"),
            key_id=key_id,
            output=data.text("output"),
            pem=pem,
            der=der,
            sha256=digest,
            sha256_matches=data.text("sha256") == digest.hex,
            spki=spki,
            spki_matches_certificate=(subject_spki or signer.hex) == spki.hex,
            spki_matches_key=None if signing is None else signing.fingerprint.hex == signer.hex,
            subject=data.text("subject"),
            issuer=data.text("issuer"),
            serial=data.text("serial"),
            not_before=data.text("not_before"),
            not_after=data.text("not_after"),
            signature_algorithm=data.text("signature_algorithm"),
            checks=data.texts("checks"),
            issued_at=entry.time,
            seq=entry.seq,
            key_fingerprint=signer,
            profile=data.opt_text("profile"),
            lint_warnings=data.texts("lint_warnings") if "lint_warnings" in data.data else (),
            signature_valid=signature_valid,
            step_number=self.numbers.get(entry.step or "", 0),
        )
        self.certificates.append(view)
        name = f"certificate {view.certificate_id}"
        if not view.sha256_matches:
            self._integrity(entry, name, "SHA-256 of the DER decoded from the journaled PEM")
        if not view.spki_matches_certificate:
            self._integrity(entry, name, "SHA-256 of the certificate's public key")
        if view.spki_matches_key is False:
            self._integrity(entry, name, f"fingerprint of key {key_id} in this journal")
        if view.signature_valid is False:
            self._integrity(
                entry, f"signature of {name}", f"public key of {key_id} in this journal"
            )

    def _on_qr_shown(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        artifact = data.text("artifact" if "artifact" in data.data else "certificate_id")
        produced = {
            **{c.certificate_id: c.sha256.hex for c in self.certificates},
            **{r.csr_id: r.sha256.hex for r in self.csrs},
            **{c.crl_id: c.sha256.hex for c in self.crls},
        }
        if artifact in produced and produced[artifact] != data.text("payload_sha256"):
            self._integrity(entry, f"QR payload of {artifact}", f"SHA-256 of {artifact}")
        backup = self._backup(artifact) if "backup_id" in data.data else None
        if backup is not None:
            if backup.blob_sha256.hex != data.text("payload_sha256"):
                self._integrity(entry, f"QR payload of backup {artifact}", "blob's SHA-256")
            self.backups[self.backups.index(backup)] = replace(
                backup, qr_frames=data.number("frames")
            )
        self.qr_shown.append(
            QrShown(
                artifact=artifact,
                frames=data.number("frames"),
                payload_sha256=data.text("payload_sha256"),
                shown_at=entry.time,
                seq=entry.seq,
                step_number=self.numbers.get(entry.step or "", 0),
            )
        )

    def _on_token_inventory(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        token = data.obj("token")
        mechanisms = []
        for item in data.objs("mechanisms"):
            mechanisms.append(
                MechanismView(
                    name=item.text("name"),
                    min_key_bits=item.number("min_key_bits"),
                    max_key_bits=item.number("max_key_bits"),
                    flags=item.texts("flags"),
                )
            )
        self.inventories.append(
            InventoryView(
                fields=_token_fields(token),
                token_serial=token.text("serial"),
                mechanisms=tuple(mechanisms),
                objects=_objects(data, "objects"),
                logged_in=data.flag("logged_in"),
                # 0: read by the engine at the opening, before the first step
                step_number=0 if entry.step is None else self.numbers.get(self._step_id(entry), 0),
                taken_at=entry.time,
                seq=entry.seq,
            )
        )

    def _on_input_received(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        try:
            der = base64.b64decode(data.text("der_b64"), validate=True)
        except ValueError as exc:
            raise data._fail("der_b64", "base64") from exc
        sha256 = data.text("sha256")
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise data._fail("sha256", "64 lower-case hex digits")
        der_fpr = sha256_fingerprint(der)
        input_id = data.text("input_id")
        spec = next((i for i in self.script.inputs if i.id == input_id), None)
        facts = tuple((f.text("label"), f.text("value")) for f in data.objs("facts"))
        view = InputView(
            input_id=input_id,
            kind=data.text("kind"),
            description=spec.description if spec else None,
            sha256=fingerprint_from_hex(sha256),
            der_sha256=der_fpr,
            der_sha256_matches=data.text("der_sha256") == der_fpr.hex,
            expected_sha256=data.opt_text("expected_sha256"),
            stand_in=data.flag("stand_in"),
            sources=data.number("sources"),
            summary=data.text("summary"),
            facts=facts,
            step_number=self.numbers.get(self._step_id(entry), 0),
            received_at=entry.time,
            seq=entry.seq,
            der=der,
        )
        self.inputs.append(view)
        name = f"{view.kind} {view.input_id}"
        if not view.der_sha256_matches:
            self._integrity(entry, f"DER SHA-256 of the {name}", "SHA-256 of the journaled DER")
        if view.stand_in and view.matches_expected is not False:
            self._integrity(
                entry, f"stand-in mark of the {name}", "SHA-256 differing from the script's"
            )
        elif not view.stand_in and view.matches_expected is False:
            self._integrity(entry, f"SHA-256 of the {name}", "SHA-256 the script lists")
        elif view.stand_in and not self.rehearsal:
            self.deviations.append(
                Deviation(
                    where=self._step_label(entry.step),
                    expected=f"the {name} with SHA-256 {view.expected_sha256}",
                    observed=f"a stand-in with SHA-256 {view.sha256.hex} in a production ceremony",
                    decision="integrity check by this report failed: only a rehearsal may "
                    "use a stand-in",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    def _on_csr_made(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        pem = data.text("pem")
        try:
            request = x509.load_pem_x509_csr(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise data._fail("pem", "a PEM certificate signing request") from exc
        der = request.public_bytes(Encoding.DER)
        digest = sha256_fingerprint(der)
        spki = sha256_fingerprint(
            request.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
        key_id = data.text("key_id")
        key = next((k for k in self.keys if k.key_id == key_id), None)
        view = CsrView(
            csr_id=data.text("csr_id"),
            key_id=key_id,
            output=data.text("output"),
            pem=pem,
            der=der,
            sha256=digest,
            sha256_matches=data.text("sha256") == digest.hex,
            subject=data.text("subject"),
            signature_algorithm=data.text("signature_algorithm"),
            spki=spki,
            spki_matches=data.text("spki_sha256") == spki.hex,
            spki_matches_key=None if key is None else key.fingerprint.hex == spki.hex,
            signature_valid=request.is_signature_valid,
            checks=data.texts("checks"),
            step_number=self.numbers.get(self._step_id(entry), 0),
            made_at=entry.time,
            seq=entry.seq,
        )
        self.csrs.append(view)
        name = f"request {view.csr_id}"
        if not view.sha256_matches:
            self._integrity(entry, name, "SHA-256 of the DER decoded from the journaled PEM")
        if not view.spki_matches:
            self._integrity(entry, name, "SHA-256 of the request's public key")
        if view.spki_matches_key is False:
            self._integrity(entry, name, f"public key of {key_id} in this journal")
        if not view.signature_valid:
            self._integrity(entry, f"signature of the {name}", "request's own public key")

    def _on_crl_issued(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        pem = data.text("pem")
        try:
            crl = x509.load_pem_x509_crl(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise data._fail("pem", "a PEM CRL") from exc
        der = crl.public_bytes(Encoding.DER)
        digest = sha256_fingerprint(der)
        revoked = tuple(
            RevokedView(
                serial=item.text("serial"),
                revoked_at=item.text("revoked_at"),
                reason=item.text("reason"),
            )
            for item in data.objs("revoked")
        )
        try:
            decoded_number: int | None = crl.extensions.get_extension_for_class(
                x509.CRLNumber
            ).value.crl_number
        except (x509.ExtensionNotFound, ValueError):
            decoded_number = None
        try:
            journaled = sorted(int(r.serial, 16) for r in revoked)
        except ValueError as exc:
            raise data._fail("revoked", "serials in hex") from exc
        number = data.number("number")
        contents_match = decoded_number == number and journaled == sorted(
            r.serial_number for r in crl
        )
        key_id = data.text("key_id")
        signature_valid = self._signed_by(
            key_id,
            crl.signature,
            crl.tbs_certlist_bytes,
            crl.signature_algorithm_parameters,
            crl.signature_hash_algorithm,
        )
        view = CrlView(
            crl_id=data.text("crl_id"),
            key_id=key_id,
            output=data.text("output"),
            pem=pem,
            der=der,
            sha256=digest,
            sha256_matches=data.text("sha256") == digest.hex,
            issuer=data.text("issuer"),
            number=number,
            this_update=data.text("this_update"),
            next_update=data.text("next_update"),
            revoked=revoked,
            contents_match=contents_match,
            signature_valid=signature_valid,
            signature_algorithm=data.text("signature_algorithm"),
            checks=data.texts("checks"),
            lint_warnings=data.texts("lint_warnings"),
            step_number=self.numbers.get(self._step_id(entry), 0),
            issued_at=entry.time,
            seq=entry.seq,
        )
        self.crls.append(view)
        name = f"CRL {view.crl_id}"
        if not view.sha256_matches:
            self._integrity(entry, name, "SHA-256 of the DER decoded from the journaled PEM")
        if not contents_match:
            self._integrity(
                entry, f"number and revoked serials of {name}", "CRL decoded from its PEM"
            )
        if signature_valid is False:
            self._integrity(entry, f"signature of {name}", f"public key of {key_id}")

    def _on_key_destroyed(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        view = DestructionView(
            key_id=data.text("key_id"),
            label=data.text("label"),
            destroyed=_objects(data, "destroyed"),
            remaining=_objects(data, "remaining"),
            token_serial=data.text("token_serial"),
            step_number=self.numbers.get(self._step_id(entry), 0),
            destroyed_at=entry.time,
            seq=entry.seq,
        )
        self.destructions.append(view)
        if not view.destroyed:
            self._integrity(entry, f"destruction of key {view.label}", "a list of objects removed")
        if view.leftovers:
            self.deviations.append(
                Deviation(
                    where=self._step_label(entry.step),
                    expected=f"no object with the label {view.label} or its CKA_ID left on "
                    "the token",
                    observed=f"{len(view.leftovers)} such object(s) still listed",
                    decision="integrity check by this report failed: the key may not be destroyed",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    def _on_token_zeroised(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        token = data.obj("token_after")
        view = ZeroisationView(
            before=_objects(data, "before"),
            after=_objects(data, "after"),
            token_fields=_token_fields(token),
            token_serial=token.text("serial"),
            step_number=self.numbers.get(self._step_id(entry), 0),
            zeroised_at=entry.time,
            seq=entry.seq,
        )
        self.zeroisations.append(view)
        if view.after:
            self.deviations.append(
                Deviation(
                    where=self._step_label(entry.step),
                    expected="the token holds no object after re-initialisation",
                    observed=f"{len(view.after)} object(s) listed after re-initialisation",
                    decision="integrity check by this report failed: the token is not empty",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    # -- m-of-n activation (EV-QUORUM)

    def _script_split(self, what: str) -> PinSplit | None:
        """The script's split of ``what`` (``HSM user PIN``, ``HSM security officer PIN``)."""
        activation = self.script.hsm.activation if self.script.hsm is not None else None
        if activation is None:
            return None
        if what == USER_PIN:
            return activation.user_pin
        if what == SO_PIN:
            return activation.so_pin
        return None

    def _script_splits(self) -> list[tuple[str, PinSplit]]:
        activation = self.script.hsm.activation if self.script.hsm is not None else None
        if activation is None:
            return []
        splits = [(USER_PIN, activation.user_pin)]
        if activation.so_pin is not None:
            splits.append((SO_PIN, activation.so_pin))
        return splits

    def _require_custodians(self, entry: JournalEntry, custodians: Sequence[str]) -> None:
        """The entry's actors are exactly ``custodians``, each in the capacity ``custodian``."""
        acting = [a.participant for a in entry.actors if a.capacity == "custodian"]
        if sorted(acting) != sorted(custodians) or len(acting) != len(entry.actors):
            self._integrity(
                entry,
                f"actors of {entry.event}",
                f"custodian(s) it names ({', '.join(custodians) or 'none'})",
            )

    def _on_share_sealed(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        view = SealedShare(
            what=data.text("what"),
            share=data.text("share"),
            custodian=data.text("custodian"),
            member_index=data.number("member_index"),
            member_count=data.number("member_count"),
            bag=data.text("bag"),
            printer=data.text("printer"),
            job=data.text("job"),
            step_number=self.numbers.get(self._step_id(entry), 0),
            sealed_at=entry.time,
            seq=entry.seq,
            backup_id=self._backup_of(entry),
            check_value=data.opt_text("check_value"),
        )
        self.sealed.append(view)
        self._require_custodians(entry, [view.custodian])
        if view.backup_id is not None:
            self._check_backup_share(entry, view)
            return
        split = self._script_split(view.what)
        holders = list(split.shares) if split is not None else []
        index = next((i for i, h in enumerate(holders, 1) if h.share == view.share), None)
        if index is None:
            self._integrity(
                entry,
                f"share {view.share} of the {view.what}",
                "shares the script's hsm.activation lists",
            )
            return
        holder = holders[index - 1]
        if (holder.custodian, index, len(holders)) != (
            view.custodian,
            view.member_index,
            view.member_count,
        ):
            self._integrity(
                entry,
                f"custodian and member number of share {view.share}",
                f"script's hsm.activation ({holder.custodian}, share {index} of {len(holders)})",
            )

    def _on_token_initialised(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        token = data.obj("token")
        activation = data.obj("activation")
        step_number = self.numbers.get(self._step_id(entry), 0)
        scripted = self._script_splits()
        if sorted(activation.data) != sorted(what for what, _ in scripted):
            self._integrity(
                entry,
                "secrets split at initialisation ("
                + (", ".join(sorted(activation.data)) or "none: the PINs were typed")
                + ")",
                "script's hsm.activation ("
                + (", ".join(what for what, _ in scripted) or "no m-of-n activation")
                + ")",
            )
        for what in activation.data:
            item = activation.obj(what)
            check_value = item.text("check_value")
            if not re.fullmatch(r"[0-9a-f]{6}", check_value):
                raise item._fail("check_value", "6 lower-case hex digits")
            initialised = _Initialised(
                threshold=item.number("threshold"),
                custodians=item.texts("custodians"),
                set_identifier=item.number("set_identifier"),
                check_value=check_value,
                step_number=step_number,
                at=entry.time,
                seq=entry.seq,
                label=data.text("label"),
                serial=token.text("serial"),
            )
            self.initialised[what] = initialised
            sealed = [
                (s.text("share"), s.text("custodian"), s.text("bag")) for s in item.objs("sealed")
            ]
            journaled = [
                (s.share, s.custodian, s.bag)
                for s in self.sealed
                if s.what == what and s.step_number == step_number
            ]
            if sealed != journaled:
                self._integrity(
                    entry,
                    f"list of the {what} shares sealed",
                    "share.sealed entries of the step",
                )
            split = self._script_split(what)
            if split is None:
                continue
            if (initialised.threshold, initialised.custodians) != (
                split.threshold,
                tuple(h.custodian for h in split.shares),
            ):
                self._integrity(
                    entry,
                    f"threshold and custodians of the {what}",
                    "script's hsm.activation",
                )
            if split.check_value is not None and split.check_value != check_value:
                self._integrity(entry, f"check value of the {what}", "check value the script lists")
            if split.set_identifier is not None and split.set_identifier != (
                initialised.set_identifier
            ):
                self._integrity(
                    entry, f"set identifier of the {what}", "set identifier the script lists"
                )

    def _on_share_rejected(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        custodian = data.text("custodian")
        self._require_custodians(entry, [custodian])
        backup_id = self._backup_of(entry)
        key = (self._step_id(entry), data.text("what"))
        target = self.pending if backup_id is None else self.backup_typed
        if backup_id is not None:
            key = (key[0], backup_id)
        target.setdefault(key, []).append(
            ShareEntry(
                custodian=custodian,
                attempt=data.number("attempt"),
                accepted=False,
                member_index=None,
                problem=data.text("problem"),
                at=entry.time,
                seq=entry.seq,
            )
        )

    def _on_share_accepted(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        custodian = data.text("custodian")
        self._require_custodians(entry, [custodian])
        what = data.text("what")
        view = ShareEntry(
            custodian=custodian,
            attempt=data.number("attempt"),
            accepted=True,
            member_index=data.number("member_index"),
            problem=None,
            at=entry.time,
            seq=entry.seq,
        )
        backup_id = self._backup_of(entry)
        if backup_id is not None:
            self.backup_typed.setdefault((self._step_id(entry), backup_id), []).append(view)
            spec = next((b for b in self.script.backups if b.id == backup_id), None)
            holders = [h.custodian for h in spec.shares] if spec is not None else []
            if spec is not None and spec.resplit is not None and what == _old_kek_what(spec.id):
                holders = [h.custodian for h in spec.resplit.old_shares]
            if custodian not in holders or holders.index(custodian) + 1 != view.member_index:
                self._integrity(
                    entry,
                    f"member number of {custodian}'s share of the {what}",
                    f"custodian's place in the shares of backup {backup_id} in the script",
                )
            return
        self.pending.setdefault((self._step_id(entry), what), []).append(view)
        split = self._script_split(what)
        if split is None:
            return
        holder = next((i for i, h in enumerate(split.shares, 1) if h.custodian == custodian), None)
        if holder != view.member_index:
            self._integrity(
                entry,
                f"member number of {custodian}'s share of the {what}",
                "custodian's place in the script's hsm.activation",
            )

    def _on_quorum_activated(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        step_id = self._step_id(entry)
        what = data.text("what")
        typed = tuple(self.pending.pop((step_id, what), []))
        custodians = data.texts("custodians")
        split = self._script_split(what)
        view = ActivationView(
            what=what,
            step_id=step_id,
            step_number=self.numbers.get(step_id, 0),
            threshold=data.number("threshold"),
            member_count=len(split.shares) if split is not None else None,
            custodians=custodians,
            set_identifier=data.opt_number("set_identifier"),
            check_value=data.opt_text("check_value"),
            entries=typed,
            activated=True,
            activated_at=entry.time,
            seq=entry.seq,
        )
        self.activations.append(view)
        self._require_custodians(entry, custodians)
        if tuple(e.custodian for e in view.accepted) != custodians:
            self._integrity(
                entry,
                f"custodians whose shares of the {what} were combined",
                "shares accepted in the step (share.accepted)",
            )
        if len(set(custodians)) < view.threshold:
            self.deviations.append(
                Deviation(
                    where=self._step_label(step_id),
                    expected=f"{view.threshold} different custodians' shares of the {what}",
                    observed=f"{len(set(custodians))} custodian(s) named in quorum.activated",
                    decision="integrity check by this report failed: the quorum is not shown "
                    "to have been met",
                    decided_by="-",
                    seq=entry.seq,
                )
            )
        if split is None:
            self._integrity(entry, f"activation of the {what}", "script's hsm.activation")
            return
        if view.threshold != split.threshold or not set(custodians) <= {
            h.custodian for h in split.shares
        }:
            self._integrity(
                entry,
                f"threshold and custodians of the {what} activation",
                "script's hsm.activation",
            )
        self._check_set(entry, view, split)

    def _check_set(self, entry: JournalEntry, view: ActivationView, split: PinSplit) -> None:
        """The set the accepted shares belong to, against the script or this journal's split.

        ``quorum.activated`` journals the set identifier of the shares accepted and the check
        value the script lists (null when it lists none: none is compared at activation). Where
        the script lists values, those are the reference; otherwise the split ``token.initialised``
        journaled earlier in this journal, if any; otherwise nothing is checked here.
        """
        what = view.what
        initialised = self.initialised.get(what)
        seq: int | None = None
        step_number: int | None = None
        if split.set_identifier is not None or split.check_value is not None:
            source = "script"
            expected_id, expected_check = split.set_identifier, split.check_value
            matches = (expected_id is None or view.set_identifier == expected_id) and (
                view.check_value == expected_check
            )
            against = "values the script lists"
        elif initialised is not None:
            source = "initialisation"
            expected_id, expected_check = initialised.set_identifier, initialised.check_value
            matches = view.set_identifier == expected_id and view.check_value in (
                None,
                expected_check,
            )
            seq, step_number = initialised.seq, initialised.step_number
            against = (
                f"split made at the token's initialisation (step {step_number}, "
                f"token.initialised, seq {seq})"
            )
        else:
            if view.check_value is not None:
                self._integrity(
                    entry, f"check value of the {what} activation", "script, which lists none"
                )
            return
        index = next(i for i, a in enumerate(self.activations) if a is view)
        self.activations[index] = replace(
            view,
            expected_from=source,
            expected_set_identifier=expected_id,
            expected_check_value=expected_check,
            expected_seq=seq,
            expected_step_number=step_number,
            set_matches=matches,
        )
        if not matches:
            self._integrity(
                entry, f"set identifier and check value of the {what} activation", against
            )

    def _on_hsm_login(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        mode = data.opt_text("activation")
        if mode not in (None, "m-of-n"):
            raise data._fail("activation", "'m-of-n' or nothing")
        step_id = self._step_id(entry)
        if mode is None:
            if self._script_splits():
                self.deviations.append(
                    Deviation(
                        where=self._step_label(step_id),
                        expected="the token activated by custodians' shares (the script "
                        "declares m-of-n activation)",
                        observed="a typed PIN logged in (hsm.login without activation m-of-n)",
                        decision="integrity check by this report failed: the quorum was not used",
                        decided_by="-",
                        seq=entry.seq,
                    )
                )
            return
        index = next(
            (
                i
                for i in range(len(self.activations) - 1, -1, -1)
                if self.activations[i].step_id == step_id
                and self.activations[i].what == USER_PIN
                and self.activations[i].login_seq is None
            ),
            None,
        )
        if index is None:
            self.deviations.append(
                Deviation(
                    where=self._step_label(step_id),
                    expected=f"a quorum.activated of the {USER_PIN} before the m-of-n login",
                    observed="hsm.login says m-of-n, but no shares were combined in the step",
                    decision="integrity check by this report failed: the quorum is not shown "
                    "to have been met",
                    decided_by="-",
                    seq=entry.seq,
                )
            )
            return
        self.activations[index] = replace(self.activations[index], login_seq=entry.seq)

    def _on_hsm_login_failed(self, entry: JournalEntry) -> None:
        step_id = self._step_id(entry)
        for i, view in enumerate(self.activations):
            if view.step_id == step_id and view.login_seq is None and view.what == USER_PIN:
                self.activations[i] = replace(view, login_refused=True)

    # -- key backup and restore test (EV-BACKUP, EV-QUORUM, EV-RESTORE)

    def _backup_of(self, entry: JournalEntry) -> str | None:
        """The backup a share entry belongs to: its ``backup_id``, else what it protects."""
        data = entry.data
        backup_id = data.get("backup_id")
        if isinstance(backup_id, str):
            return backup_id
        what = data.get("what")
        if isinstance(what, str) and what in self.backup_whats:
            return self.backup_whats[what]
        return None

    def _check_backup_share(self, entry: JournalEntry, view: SealedShare) -> None:
        """A backup share sealed: the script's share id, custodian and member number."""
        spec = next((b for b in self.script.backups if b.id == view.backup_id), None)
        holders = list(spec.shares) if spec is not None else []
        index = next((i for i, h in enumerate(holders, 1) if h.share == view.share), None)
        if index is None:
            self._integrity(
                entry,
                f"share {view.share} of the {view.what}",
                f"shares the script lists for backup {view.backup_id}",
            )
            return
        holder = holders[index - 1]
        if (holder.custodian, index, len(holders)) != (
            view.custodian,
            view.member_index,
            view.member_count,
        ):
            self._integrity(
                entry,
                f"custodian and member number of share {view.share}",
                f"script's backup {view.backup_id} ({holder.custodian}, share {index} of "
                f"{len(holders)})",
            )

    def _on_backup_made(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        backup_id = data.text("backup_id")
        key_id = data.text("key_id")
        step_id = self._step_id(entry)
        number = self.numbers.get(step_id, 0)
        spki_der = base64.b64decode(data.text("spki_der_b64"))
        fpr = data.fingerprint("fingerprint")
        blob_hex = data.text("blob_sha256")
        if not re.fullmatch(r"[0-9a-f]{64}", blob_hex):
            raise data._fail("blob_sha256", "64 lower-case hex digits")
        check_value = data.text("check_value")
        if not re.fullmatch(r"[0-9A-F]{6}", check_value):
            raise data._fail("check_value", "6 upper-case hex digits")
        media = tuple(
            BackupMedium(
                material=m.text("material"),
                where=m.text("path"),
                sha256=m.text("sha256"),
                matches=m.text("sha256") == blob_hex,
            )
            for m in data.objs("media")
        )
        abandoned = self._abandoned_kcvs(backup_id)
        sealed_here = [
            s
            for s in self.sealed
            if s.backup_id == backup_id
            and s.step_number == number
            and s.check_value not in abandoned
        ]
        shares: list[BackupShareView] = []
        for item in data.objs("sealed"):
            share_id = item.text("share")
            sealed = next((s for s in reversed(sealed_here) if s.share == share_id), None)
            custodian = item.text("custodian")
            shares.append(
                BackupShareView(
                    share=share_id,
                    custodian=custodian,
                    member_index=sealed.member_index if sealed is not None else len(shares) + 1,
                    bag=item.text("bag"),
                    sealed=sealed,
                )
            )
        key = next((k for k in self.keys if k.key_id == key_id), None)
        view = BackupView(
            backup_id=backup_id,
            key_id=key_id,
            label=data.text("label"),
            cka_id=data.text("cka_id"),
            key_type=data.text("key_type"),
            fingerprint=fpr,
            fingerprint_matches=sha256_fingerprint(spki_der).hex == fpr.hex,
            key_matches=None if key is None else key.fingerprint.hex == fpr.hex,
            ca_subject=data.text("ca_subject"),
            certificate_id=data.opt_text("certificate_id"),
            certificate_sha256=data.opt_text("certificate_sha256"),
            check_value=check_value,
            mechanism=data.text("mechanism"),
            wrapped_length=data.number("wrapped_length"),
            blob_name=data.text("blob_name"),
            blob_length=data.number("blob_length"),
            blob_sha256=fingerprint_from_hex(blob_hex),
            media=media,
            threshold=data.number("threshold"),
            share_count=data.number("share_count"),
            set_identifier=data.number("set_identifier"),
            set_check_value=data.text("set_check_value"),
            shares=tuple(shares),
            restore_test_token=data.opt_text("restore_test_token"),
            restore_test_custodians=data.texts("restore_test_custodians"),
            step_number=number,
            made_at=entry.time,
            seq=entry.seq,
        )
        self.backups.append(view)
        name = f"backup {backup_id}"
        if not view.fingerprint_matches:
            self._integrity(entry, f"fingerprint of the key of {name}", "SHA-256 of its SPKI")
        if view.key_matches is False:
            self._integrity(entry, f"key of {name}", f"fingerprint of key {key_id} in this journal")
        for medium in media:
            if not medium.matches:
                self._integrity(
                    entry, f"SHA-256 read back from medium {medium.material}", "blob's SHA-256"
                )
        journaled = [(s.share, s.custodian, s.bag) for s in sealed_here]
        if [(s.share, s.custodian, s.bag) for s in shares] != journaled:
            self._integrity(entry, f"list of the shares of {name} sealed", "share.sealed entries")
        if any(s.check_value not in (None, check_value) for s in sealed_here):
            self._integrity(entry, f"key check value of {name}", "value on the sheets sealed")
        spec = next((b for b in self.script.backups if b.id == backup_id), None)
        if spec is None or (
            spec.key,
            spec.threshold,
            tuple(h.custodian for h in spec.shares),
            tuple(spec.media),
        ) != (
            key_id,
            view.threshold,
            data.texts("custodians"),
            tuple(m.material for m in media),
        ):
            self._integrity(
                entry, f"key, threshold, custodians and media of {name}", "script's backup"
            )
        if view.share_count != len(shares):
            self._integrity(entry, f"share count of {name}", "shares sealed")

    def _backup(self, backup_id: str) -> BackupView | None:
        return next((b for b in reversed(self.backups) if b.backup_id == backup_id), None)

    def _on_restore_tested(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        backup_id = data.text("backup_id")
        step_id = self._step_id(entry)
        backup = self._backup(backup_id)
        token = data.obj("restore_token")
        token_info = token.obj("token")
        restored = data.fingerprint("restored_fingerprint")
        blob_hex = data.text("blob_sha256")
        attributes = data.obj("restored_attributes").data
        typed = tuple(self.backup_typed.pop((step_id, backup_id), []))
        view = RestoreView(
            backup_id=backup_id,
            key_id=data.text("key_id"),
            passed=data.flag("passed"),
            custodians=data.texts("custodians"),
            entries=typed,
            check_value=data.text("check_value"),
            check_value_matched=data.flag("check_value_matched"),
            check_value_agrees=(
                None if backup is None else backup.check_value == data.text("check_value")
            ),
            blob_sha256=blob_hex,
            blob_sha256_matched=data.flag("blob_sha256_matched"),
            media=tuple(
                BackupMedium(
                    material=m.text("material"),
                    where=m.text("file"),
                    sha256=m.text("sha256"),
                    matches=m.text("sha256") == blob_hex,
                )
                for m in data.objs("media")
            ),
            blob_version=data.number("blob_version"),
            token_material=token.opt_text("material"),
            token_declared_serial=token.opt_text("declared_serial"),
            token_stand_in=token.flag("stand_in"),
            token_fields=_token_fields(token_info),
            token_serial=token_info.text("serial"),
            unwrapped_as=data.text("unwrapped_as"),
            restored_fingerprint=restored,
            fingerprint_agrees=None if backup is None else backup.fingerprint.hex == restored.hex,
            restored_attributes=tuple(
                (str(k), v) for k, v in sorted(attributes.items()) if isinstance(v, bool)
            ),
            signed_message_sha256=data.text("signed_message_sha256"),
            hash_name=data.text("hash"),
            verified_with=data.text("verified_with"),
            certificate_id=data.opt_text("certificate_id"),
            verified=data.flag("verified"),
            zeroised_before=_objects(data, "zeroised_before"),
            objects_after_zeroise=data.number("objects_after_zeroise"),
            token_after_serial=data.obj("token_after").text("serial"),
            step_number=self.numbers.get(step_id, 0),
            tested_at=entry.time,
            seq=entry.seq,
        )
        self.restores.append(view)
        name = f"restore test of backup {backup_id}"
        if backup is None:
            self._integrity(entry, name, "backup.made of that backup earlier in this journal")
        else:
            if view.check_value_agrees is False or not view.check_value_matched:
                self._integrity(entry, f"key check value of the {name}", "backup.made's")
            if blob_hex != backup.blob_sha256.hex or not view.blob_sha256_matched:
                self._integrity(entry, f"blob SHA-256 of the {name}", "backup.made's")
            if view.fingerprint_agrees is False:
                self._integrity(entry, f"restored key of the {name}", "key backed up")
        for medium in view.media:
            if not medium.matches:
                self._integrity(
                    entry, f"SHA-256 read back from medium {medium.material}", "blob's SHA-256"
                )
        if tuple(e.custodian for e in view.entries if e.accepted) != view.custodians:
            self._integrity(
                entry, f"custodians of the {name}", "shares accepted in the step (share.accepted)"
            )
        if backup is not None and len(set(view.custodians)) < backup.threshold:
            self._integrity(entry, f"quorum of the {name}", f"threshold {backup.threshold}")
        if not (view.passed and view.verified):
            self._integrity(entry, f"result of the {name}", "a passed test (passed, verified)")
        if view.objects_after_zeroise != 0:
            self.deviations.append(
                Deviation(
                    where=self._step_label(step_id),
                    expected="the restore-test token holds no object after zeroisation",
                    observed=f"{view.objects_after_zeroise} object(s) after zeroisation",
                    decision="integrity check by this report failed: the token is not empty",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    def _on_restore_failed(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        step_id = self._step_id(entry)
        backup_id = data.text("backup_id")
        self.backup_typed.pop((step_id, backup_id), None)
        self.restore_failures.append(
            RestoreFailure(
                backup_id=backup_id,
                problem=data.text("problem"),
                step_number=self.numbers.get(step_id, 0),
                failed_at=entry.time,
                seq=entry.seq,
            )
        )

    def _on_key_recovered(self, entry: JournalEntry) -> None:
        """A recovery or migration: the checks as journaled, and this report's own."""
        data = _Data(entry)
        backup_id = data.text("backup_id")
        step_id = self._step_id(entry)
        number = self.numbers.get(step_id, 0)
        key = data.obj("key")
        try:
            spki = base64.b64decode(key.text("spki_der_b64"), validate=True)
        except ValueError as exc:
            raise key._fail("spki_der_b64", "base64") from exc
        fingerprint = data.fingerprint("fingerprint")
        key_fingerprint = key.fingerprint("fingerprint")
        expected = data.obj("expected")
        script_values = expected.data.get("script_values")
        stated = expected.obj("script_values") if isinstance(script_values, Mapping) else None
        medium = data.obj("medium")
        blob_hex = data.text("blob_sha256")
        target = data.obj("target_token")
        migration = data.flag("migration")
        source = data.obj("source_token") if migration else None
        source_name = expected.text("source")
        stand_in = expected.flag("stand_in")
        expected_values = (
            expected.text("check_value").upper(),
            expected.text("blob_sha256"),
            expected.text("fingerprint"),
        )
        agrees: bool | None = None
        if source_name == "backup.made":
            made = self._backup(backup_id)
            agrees = made is not None and expected_values == (
                made.check_value.upper(),
                made.blob_sha256.hex,
                made.fingerprint.hex,
            )
        elif source_name == "script":
            spec = next((b for b in self.script.backups if b.id == backup_id), None)
            declared = spec.recovery if spec is not None else None
            agrees = declared is not None and expected_values == (
                declared.check_value.upper(),
                declared.blob_sha256,
                declared.fingerprint,
            )
        attributes = key.obj("attributes").data
        typed = tuple(self.backup_typed.pop((step_id, backup_id), []))
        view = RecoveryView(
            backup_id=backup_id,
            key_id=data.text("key_id"),
            label=key.text("label"),
            migration=migration,
            custodians=data.texts("custodians"),
            entries=typed,
            check_value=data.text("check_value"),
            check_value_matched=data.flag("check_value_matched"),
            blob_sha256=blob_hex,
            blob_sha256_matched=data.flag("blob_sha256_matched"),
            medium=BackupMedium(
                material=medium.text("material"),
                where=medium.text("file"),
                sha256=medium.text("sha256"),
                matches=medium.text("sha256") == blob_hex,
            ),
            set_identifier=data.opt_number("set_identifier"),
            expected_source=source_name,
            stand_in=stand_in,
            expected_check_value=expected_values[0],
            expected_blob_sha256=expected_values[1],
            expected_fingerprint=expected_values[2],
            made_in=expected.opt_text("made_in"),
            script_check_value=stated.text("check_value").upper() if stated else None,
            script_blob_sha256=stated.text("blob_sha256") if stated else None,
            script_fingerprint=stated.text("fingerprint") if stated else None,
            script_made_in=stated.opt_text("made_in") if stated else None,
            source_agrees=agrees,
            fingerprint=fingerprint,
            fingerprint_matched=data.flag("fingerprint_matched"),
            spki_matches=hashlib.sha256(spki).hexdigest() == fingerprint.hex == key_fingerprint.hex,
            attributes=tuple(
                (str(k), v) for k, v in sorted(attributes.items()) if isinstance(v, bool)
            ),
            unwrapped_as=data.text("unwrapped_as"),
            token_material=target.opt_text("material"),
            token_declared_serial=target.opt_text("declared_serial"),
            token_stand_in=target.flag("stand_in"),
            token_fields=_token_fields(target.obj("token")),
            token_serial=data.text("token_serial"),
            source_token_fields=_token_fields(source) if source is not None else (),
            source_token_serial=source.text("serial") if source is not None else None,
            signed_message_sha256=data.text("signed_message_sha256"),
            hash_name=data.text("hash"),
            verified_with=data.text("verified_with"),
            verified=data.flag("verified"),
            objects_before=data.number("objects_before"),
            objects_after=data.number("objects_after"),
            step_number=number,
            recovered_at=entry.time,
            seq=entry.seq,
        )
        self.recoveries.append(view)
        spec_key = next((k for k in self.script.keys if k.id == view.key_id), None)
        self.keys.append(
            KeyView(
                key_id=view.key_id,
                label=view.label,
                cka_id=key.text("cka_id"),
                algorithm=key.text("algorithm"),
                key_type=key.text("key_type"),
                size_bits=key.number("size_bits"),
                curve=key.opt_text("curve"),
                public_exponent=key.opt_number("public_exponent"),
                fingerprint=key_fingerprint,
                fingerprint_recomputed=hashlib.sha256(spki).hexdigest() == key_fingerprint.hex,
                attributes=view.attributes,
                mechanism=None,
                token_serial=view.token_serial,
                generated_at=None,
                purposes=spec_key.purpose if spec_key else (),
                backup=spec_key.backup if spec_key else None,
                step_id=entry.step,
                seq=entry.seq,
                found=True,
                spki_der=spki,
                step_number=number,
                recovered_from=backup_id,
            )
        )
        name = f"recovery of backup {backup_id}"
        if not view.spki_matches:
            self._integrity(entry, f"fingerprint of the key of the {name}", "SHA-256 of its SPKI")
        if not (view.fingerprint_agrees and view.fingerprint_matched):
            self._integrity(entry, f"recovered key of the {name}", "the fingerprint expected")
        if not view.check_value_matched or view.check_value.upper() != view.expected_check_value:
            self._integrity(entry, f"key check value of the {name}", "the value expected")
        if (
            not view.blob_sha256_matched
            or blob_hex != view.expected_blob_sha256
            or not view.medium.matches
        ):
            self._integrity(entry, f"blob SHA-256 of the {name}", "the value expected")
        if agrees is False:
            origin = "backup.made of this journal" if migration else "values the script states"
            self._integrity(entry, f"values checked by the {name}", origin)
        if stand_in and not self.rehearsal:
            self._integrity(entry, f"values checked by the {name}", "the script's (production)")
        if migration != (source_name == "backup.made"):
            self._integrity(entry, f"source of the values of the {name}", "a migration's")
        if tuple(e.custodian for e in view.entries if e.accepted) != view.custodians:
            self._integrity(
                entry, f"custodians of the {name}", "shares accepted in the step (share.accepted)"
            )
        spec = next((b for b in self.script.backups if b.id == backup_id), None)
        if spec is not None and len(set(view.custodians)) < spec.threshold:
            self._integrity(entry, f"quorum of the {name}", f"threshold {spec.threshold}")
        if not view.verified:
            self._integrity(entry, f"signature of the {name}", "a verified signature")

    # -- re-split of a backup (custodian change): the old set voided, the new one sealed

    def _on_shares_voided(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        self.voided[(self._step_id(entry), data.text("backup_id"))] = entry

    def _on_backup_resplit(self, entry: JournalEntry) -> None:
        """A re-split: the checks as journaled, and this report's own (integrity)."""
        data = _Data(entry)
        backup_id = data.text("backup_id")
        step_id = self._step_id(entry)
        number = self.numbers.get(step_id, 0)
        name = f"re-split of backup {backup_id}"
        expected = data.obj("expected")
        medium = data.obj("medium")
        blob_hex = data.text("blob_sha256")
        voided_entry = self.voided.pop((step_id, backup_id), None)
        voided = _Data(voided_entry) if voided_entry is not None else None
        spec = next((b for b in self.script.backups if b.id == backup_id), None)
        new_holders = {h.custodian for h in spec.shares} if spec is not None else set()
        combined = data.texts("old_custodians")
        old_shares = tuple(
            OldShareView(
                share=h.text("share"),
                custodian=h.text("custodian"),
                member_index=h.number("member_index"),
                combined=h.text("custodian") in combined,
                leaves=h.text("custodian") not in new_holders,
            )
            for h in (voided.objs("holders") if voided is not None else ())
        )
        sealed_here = [
            s for s in self.sealed if s.backup_id == backup_id and s.step_number == number
        ]
        shares: list[BackupShareView] = []
        for item in data.objs("sealed"):
            share_id = item.text("share")
            sealed = next((s for s in reversed(sealed_here) if s.share == share_id), None)
            shares.append(
                BackupShareView(
                    share=share_id,
                    custodian=item.text("custodian"),
                    member_index=sealed.member_index if sealed is not None else len(shares) + 1,
                    bag=item.text("bag"),
                    sealed=sealed,
                )
            )
        view = ResplitView(
            backup_id=backup_id,
            key_id=data.text("key_id"),
            label=data.text("label"),
            cka_id=data.opt_text("cka_id"),
            fingerprint=data.fingerprint("fingerprint"),
            check_value=data.text("check_value"),
            check_value_matched=data.flag("check_value_matched"),
            expected_check_value=expected.text("check_value").upper(),
            blob_sha256=blob_hex,
            blob_sha256_matched=data.flag("blob_sha256_matched"),
            expected_blob_sha256=expected.text("blob_sha256"),
            expected_fingerprint=expected.text("fingerprint"),
            expected_source=expected.text("source"),
            stand_in=expected.flag("stand_in"),
            made_in=expected.opt_text("made_in"),
            medium=BackupMedium(
                material=medium.text("material"),
                where=medium.text("file"),
                sha256=medium.text("sha256"),
                matches=medium.text("sha256") == blob_hex,
            ),
            unwrapped_as=data.text("unwrapped_as"),
            verified=data.flag("verified"),
            hash_name=data.text("hash"),
            signed_message_sha256=data.text("signed_message_sha256"),
            objects_before=data.number("objects_before"),
            objects_after=data.number("objects_after"),
            old_set_identifier=data.number("old_set_identifier"),
            old_set_check_value=data.opt_text("old_set_check_value"),
            old_threshold=voided.number("threshold") if voided is not None else None,
            old_shares=old_shares,
            reason=voided.opt_text("reason") if voided is not None else None,
            combined_by=combined,
            entries=tuple(self.backup_typed.pop((step_id, backup_id), [])),
            threshold=data.number("threshold"),
            share_count=data.number("share_count"),
            set_identifier=data.number("set_identifier"),
            set_check_value=data.text("set_check_value"),
            shares=tuple(shares),
            step_number=number,
            resplit_at=entry.time,
            seq=entry.seq,
            voided_seq=voided_entry.seq if voided_entry is not None else None,
        )
        self.resplits.append(view)
        if voided is None:
            self._integrity(entry, f"old share set of the {name}", "a shares.voided in the step")
        elif (voided.number("set_identifier"), voided.number("replaced_by_set")) != (
            view.old_set_identifier,
            view.set_identifier,
        ):
            self._integrity(entry, f"share sets of the {name}", "the sets shares.voided names")
        if not view.check_value_matched or view.check_value.upper() != view.expected_check_value:
            self._integrity(entry, f"key check value of the {name}", "the value expected")
        if (
            not view.blob_sha256_matched
            or blob_hex != view.expected_blob_sha256
            or not view.medium.matches
        ):
            self._integrity(entry, f"blob SHA-256 of the {name}", "the value expected")
        if view.fingerprint.hex != view.expected_fingerprint:
            self._integrity(entry, f"key of the {name}", "the fingerprint expected")
        if not view.verified or view.objects_before != view.objects_after:
            self._integrity(entry, f"session check of the {name}", "signed, verified, nothing left")
        if view.stand_in and not self.rehearsal:
            self._integrity(entry, f"values checked by the {name}", "the script's (production)")
        if tuple(e.custodian for e in view.entries if e.accepted) != combined or (
            voided is not None and voided.texts("combined_by") != combined
        ):
            self._integrity(entry, f"old holders of the {name}", "old shares accepted in the step")
        old = spec.resplit if spec is not None else None
        if old is None or len(set(combined)) < old.old_threshold:
            self._integrity(entry, f"quorum of the old set of the {name}", "the old threshold")
        journaled = [(s.share, s.custodian, s.bag) for s in sealed_here]
        if [(s.share, s.custodian, s.bag) for s in shares] != journaled:
            self._integrity(entry, f"new shares of the {name} sealed", "share.sealed entries")
        if any(s.check_value not in (None, view.check_value) for s in sealed_here):
            self._integrity(entry, f"key check value of the {name}", "value on the sheets sealed")
        if spec is None or (spec.key, spec.threshold, tuple(h.custodian for h in spec.shares)) != (
            view.key_id,
            view.threshold,
            data.texts("custodians"),
        ):
            self._integrity(entry, f"key, threshold and custodians of the {name}", "script's")
        if view.share_count != len(shares):
            self._integrity(entry, f"share count of the {name}", "shares sealed")

    def _on_recovery_failed(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        step_id = self._step_id(entry)
        backup_id = data.text("backup_id")
        self.backup_typed.pop((step_id, backup_id), None)
        self.recovery_failures.append(
            RecoveryFailure(
                backup_id=backup_id,
                problem=data.text("problem"),
                objects_before=data.opt_number("objects_before"),
                objects_after=data.opt_number("objects_after"),
                target_unchanged=data.flag("target_unchanged"),
                step_number=self.numbers.get(step_id, 0),
                failed_at=entry.time,
                seq=entry.seq,
            )
        )

    def final_recoveries(self) -> tuple[RecoveryView, ...]:
        """Each migration with the later destruction of its key and zeroisation of its source."""
        out = []
        for recovered in self.recoveries:
            view = recovered
            if view.migration and view.source_token_serial is not None:
                destroyed = next(
                    (
                        d
                        for d in self.destructions
                        if d.seq > view.seq
                        and d.key_id == view.key_id
                        and d.token_serial == view.source_token_serial
                    ),
                    None,
                )
                after = destroyed.seq if destroyed is not None else view.seq
                zeroised = next(
                    (
                        z
                        for z in self.zeroisations
                        if z.seq > after and z.token_serial == view.source_token_serial
                    ),
                    None,
                )
                view = replace(view, source_destroyed=destroyed, source_zeroised=zeroised)
            out.append(view)
        return tuple(out)

    def final_recovery_failures(self) -> tuple[RecoveryFailure, ...]:
        out = []
        for failure in self.recovery_failures:
            later = next(
                (
                    r.seq
                    for r in self.recoveries
                    if r.backup_id == failure.backup_id and r.seq > failure.seq
                ),
                None,
            )
            out.append(replace(failure, recovered_later=later))
        return tuple(out)

    def recovery_deviations(self) -> list[Deviation]:
        """Deviations found by this report in recoveries and migrations.

        A refused recovery that changed the target token, and a closed migration whose source
        key was not destroyed and its token shown empty.
        """
        out = []
        for failure in self.final_recovery_failures():
            if failure.target_unchanged:
                continue
            out.append(
                Deviation(
                    where=_where(self.script, failure.step_number),
                    expected="a refused recovery leaves the target token's objects as they were",
                    observed=f"{failure.objects_before} object(s) before, "
                    f"{failure.objects_after} after (recovery.failed)",
                    decision="integrity check by this report failed: the target changed",
                    decided_by="-",
                    seq=failure.seq,
                )
            )
        closed = self.closed
        if closed is not None:
            for view in self.final_recoveries():
                if view.migration and not view.source_emptied:
                    out.append(
                        Deviation(
                            where=_where(self.script, view.step_number),
                            expected=f"the source copy of {view.label} destroyed and the source "
                            f"token (serial {view.source_token_serial}) shown empty after the "
                            "migration",
                            observed="the ceremony closed without key.destroyed and "
                            "token.zeroised of the source showing it empty",
                            decision="integrity check by this report failed: two copies of "
                            "the key may remain",
                            decided_by="-",
                            seq=closed.seq,
                        )
                    )
        return out

    def _on_ceremony_closed(self, entry: JournalEntry) -> None:
        self.closed = entry

    def final_restore_failures(self) -> tuple[RestoreFailure, ...]:
        """Each failure with the later passed test of its backup; each one is a deviation."""
        out = []
        for failure in self.restore_failures:
            later = next(
                (
                    r.seq
                    for r in self.restores
                    if r.backup_id == failure.backup_id and r.seq > failure.seq and r.passed
                ),
                None,
            )
            out.append(replace(failure, passed_later=later))
        return tuple(out)

    def backup_deviations(self) -> list[Deviation]:
        """Restore tests that failed for good, and backups a closed ceremony never proved.

        A failure the room retried (and that then passed) is on record as the room's
        ``deviation.recorded``; the backup section shows it too.
        """
        out = []
        for failure in self.final_restore_failures():
            if failure.passed_later is not None:
                continue  # the room's retry is the deviation on record (deviation.recorded)
            decision = "blocks closing: no restore test of this backup passed afterwards"
            out.append(
                Deviation(
                    where=_where(self.script, failure.step_number),
                    expected=f"the backup {failure.backup_id} restores (restore test passed)",
                    observed=f"restore test FAILED: {failure.problem}",
                    decision=decision,
                    decided_by="-",
                    seq=failure.seq,
                )
            )
        tested = {r.backup_id for r in self.restores if r.passed}
        # a migration's unwrap into the target token is the backup's restore, and more
        tested |= {r.backup_id for r in self.recoveries if r.migration and r.verified}
        closed = self.closed
        for backup in self.backups:
            if closed is not None and backup.backup_id not in tested:
                out.append(
                    Deviation(
                        where=_where(self.script, backup.step_number),
                        expected=f"a passed restore test (or migration) of backup "
                        f"{backup.backup_id} before the ceremony closes",
                        observed="the ceremony closed without one",
                        decision="integrity check by this report failed: the engine refuses "
                        "to close in this case",
                        decided_by="-",
                        seq=closed.seq,
                    )
                )
        return out

    def final_activations(self) -> tuple[ActivationView, ...]:
        """The activations, with the shares typed in a step that never reached a quorum."""
        out = list(self.activations)
        for (step_id, what), typed in self.pending.items():
            split = self._script_split(what)
            out.append(
                ActivationView(
                    what=what,
                    step_id=step_id,
                    step_number=self.numbers.get(step_id, 0),
                    threshold=split.threshold if split is not None else 0,
                    member_count=len(split.shares) if split is not None else None,
                    custodians=(),
                    set_identifier=split.set_identifier if split is not None else None,
                    check_value=split.check_value if split is not None else None,
                    entries=tuple(typed),
                    activated=False,
                    activated_at=None,
                    seq=None,
                )
            )
        return tuple(sorted(out, key=lambda a: a.entries[0].seq if a.entries else a.seq or 0))

    def splits(self) -> tuple[SplitView, ...]:
        """The script's split secrets, with their initialisation and bags if journaled."""
        out = []
        for what, split in self._script_splits():
            slots = tuple(
                ShareSlot(
                    share=holder.share,
                    custodian=holder.custodian,
                    member_index=index,
                    sealed=next(
                        (
                            s
                            for s in reversed(self.sealed)
                            if s.what == what and s.share == holder.share
                        ),
                        None,
                    ),
                )
                for index, holder in enumerate(split.shares, start=1)
            )
            init = self.initialised.get(what)
            if init is None:
                out.append(
                    SplitView(
                        what=what,
                        threshold=split.threshold,
                        shares=slots,
                        set_identifier=split.set_identifier,
                        check_value=split.check_value,
                        initialised=False,
                    )
                )
                continue
            out.append(
                SplitView(
                    what=what,
                    threshold=init.threshold,
                    shares=slots,
                    set_identifier=init.set_identifier,
                    check_value=init.check_value,
                    initialised=True,
                    step_number=init.step_number,
                    initialised_at=init.at,
                    seq=init.seq,
                    token_label=init.label,
                    token_serial=init.serial,
                )
            )
        return tuple(out)

    def final_keys(self) -> list[KeyView]:
        """The keys, each marked with the entry that destroyed it (if any)."""
        out = []
        for key in self.keys:
            gone = next(
                (
                    d
                    for d in self.destructions
                    if d.key_id == key.key_id
                    and d.seq > key.seq
                    # a recovered copy is destroyed on its own token only (a migration
                    # destroys the source copy, not the one it made)
                    and (key.recovered_from is None or d.token_serial == key.token_serial)
                ),
                None,
            )
            out.append(key if gone is None else replace(key, destroyed_seq=gone.seq))
        return out

    def device(self) -> DeviceView | None:
        """The device details: the last inventory read, else the token identified."""
        if self.inventories:
            last = self.inventories[-1]
            return DeviceView(
                source="token.inventory",
                fields=last.fields,
                mechanisms=last.mechanisms,
                step_number=last.step_number,
                seq=last.seq,
            )
        if self.identified_fields is not None:
            return DeviceView(
                source="token.identified",
                fields=self.identified_fields,
                mechanisms=None,
                step_number=None,
                seq=self.identified_seq,
            )
        return None

    # -- interruptions (journal.torn-tail, journal.resumed, ceremony.resumed)

    def _open_interruption(self, entry: JournalEntry, *, slot: str) -> int:
        """The index of the resumption ``entry`` belongs to: the open one, or a new one.

        A resumption is open until its ``ceremony.resumed``; ``slot`` is the field the entry
        fills, and an entry whose slot is already filled starts another resumption.
        """
        if self.interruptions:
            last = self.interruptions[-1]
            if last.ceremony_seq is None and getattr(last, slot) is None:
                return len(self.interruptions) - 1
        self.interruptions.append(
            InterruptionView(seq=entry.seq, resumed_at=entry.time, last_step=self._last_completed)
        )
        return len(self.interruptions) - 1

    def _stopped(self, view: InterruptionView, after: int) -> InterruptionView:
        return replace(view, stopped_after=after, stopped_at=self.times.get(after))

    def _on_journal_torn_tail(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        index = self._open_interruption(entry, slot="torn_seq")
        view = replace(
            self.interruptions[index],
            torn_length=data.number("torn_bytes_length"),
            torn_sha256=data.text("torn_bytes_sha256"),
            torn_seq=entry.seq,
        )
        if view.stopped_after is None:
            view = self._stopped(view, data.number("after_seq"))
        self.interruptions[index] = view

    def _on_journal_resumed(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        index = self._open_interruption(entry, slot="journal_seq")
        view = self._stopped(self.interruptions[index], data.number("after_seq"))
        self.interruptions[index] = replace(view, journal_seq=entry.seq)

    def _on_ceremony_resumed(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        index = self._open_interruption(entry, slot="ceremony_seq")
        view = self.interruptions[index]
        if view.stopped_after is None:
            view = self._stopped(view, data.number("after_seq"))
        effects = data.obj("interrupted_after_effect")
        after_effect = []
        for step_id in sorted(effects.data):
            events = effects.obj(step_id)
            after_effect.append(
                (step_id, tuple((event, events.number(event)) for event in sorted(events.data)))
            )
        set_aside = tuple(
            (item.text("output"), item.text("moved_to")) for item in data.objs("set_aside")
        )
        view = replace(
            view,
            ceremony_seq=entry.seq,
            steps_done=data.texts("steps_done"),
            next_step=data.opt_text("next_step"),
            login_repeated=data.opt_text("login_repeated"),
            after_effect=tuple(after_effect),
            set_aside=set_aside,
            present=data.texts("present"),
        )
        self.interruptions[index] = view
        shown = set(self.completed) | set(self.skipped)
        if set(view.steps_done) != shown:
            self._integrity(
                entry,
                "list of steps done (steps_done) when the ceremony was resumed",
                "steps completed or skipped in the journal before it",
            )
        if view.login_repeated is not None and view.login_repeated not in shown:
            self._integrity(
                entry,
                f"login step performed again ({view.login_repeated})",
                "steps completed in the journal before the resumption",
            )

    def _completed_without_repeat(self, entry: JournalEntry, effect_seq: int) -> None:
        step_id = self._step_id(entry)
        view = self.interruptions[-1] if self.interruptions else None
        listed = (
            view is not None
            and view.ceremony_seq is not None
            and effect_seq in dict(dict(view.after_effect).get(step_id, ())).values()
        )
        if view is None or not listed:
            self._integrity(
                entry,
                f"action of step {step_id} completed without repeating it (effect at entry "
                f"{effect_seq})",
                "effects ceremony.resumed lists as taken before the interruption",
            )
        if view is not None:
            self.interruptions[-1] = replace(
                view,
                completed_without_repeat=(
                    *view.completed_without_repeat,
                    (step_id, entry.seq, effect_seq),
                ),
            )

    def _key_found_after_interruption(self, entry: JournalEntry, label: str) -> None:
        view = self.interruptions[-1] if self.interruptions else None
        if view is None or view.ceremony_seq is None:
            self._integrity(
                entry,
                f"key {label} found after an interruption",
                "journal, which shows no resumed ceremony before it",
            )
            return
        self.interruptions[-1] = replace(
            view, keys_found=(*view.keys_found, (self._step_id(entry), label, entry.seq))
        )

    def _on_report_printed(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        self.reports_printed.append(
            ReportPrinted(
                sha256=data.text("sha256"),
                covers_through=data.number("covers_through"),
                printer=data.text("printer"),
                job=data.text("job"),
                destination=data.text("destination"),
                printed_at=entry.time,
                seq=entry.seq,
            )
        )

    def _on_step_completed(self, entry: JournalEntry) -> None:
        if entry.step is None:
            raise ReportError(f"The journal entry seq {entry.seq} (step.completed) names no step.")
        self.completed.setdefault(entry.step, entry)
        self.completions.setdefault(entry.step, []).append(entry)
        self._last_completed = entry.step
        before = _Data(entry).opt_number("completed_before_interruption")
        if before is not None:
            self._completed_without_repeat(entry, before)
        step = self._script_step(entry.step)
        if isinstance(step, WitnessCheckStep):
            data = _Data(entry)
            # A mismatch the room decided on (deviation: true) is listed by its deviation.recorded.
            if not data.flag("matches") and data.data.get("deviation") is not True:
                observed = data.opt_text("observed") or "(not stated)"
                self.deviations.append(
                    Deviation(
                        where=self._step_label(entry.step),
                        expected=f"{step.compare.look_at}: {step.compare.expected}",
                        observed=observed,
                        decision="the witnesses recorded a mismatch; the engine stops the ceremony",
                        decided_by=self._actors_text(entry.actors),
                        seq=entry.seq,
                    )
                )

    def _on_entry_recorded(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        step_id = self._step_id(entry)
        step = self._script_step(step_id)
        expect = step.entry.expect if isinstance(step, EntryStep) else None
        fmt = data.text("format")
        offset = data.number("offset_seconds") if fmt == "clock-offset" else None
        performer = next(
            (person(self.script, a) for a in entry.actors if a.capacity == "performer"), None
        )
        witnesses = tuple(person(self.script, a) for a in entry.actors if a.capacity == "witness")
        view = EntryView(
            step_number=self.numbers.get(step_id, 0),
            step_id=step_id,
            label=data.text("label"),
            format=fmt,
            value=data.text("value"),
            expected=data.opt_text("expected"),
            attempts=data.number("attempts"),
            offset_seconds=offset,
            material=expect.material if expect else None,
            field=expect.field if expect else None,
            performer=performer,
            witnesses=witnesses,
            recorded_at=entry.time,
            seq=entry.seq,
        )
        self.typed.append(view)
        if offset is not None:
            self.clock = ClockView(
                offset_seconds=offset,
                readers=witnesses,
                step_number=view.step_number,
                recorded_at=entry.time,
                seq=entry.seq,
            )
        if view.matches is False:
            self.deviations.append(
                Deviation(
                    where=self._step_label(step_id),
                    expected=f"{view.label}: {view.expected}",
                    observed=f"typed {view.value}",
                    decision="recorded by the workstation; no decision is journaled",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    def _on_deviation_recorded(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        deciders = [a for a in entry.actors if a.capacity == "decider"]
        decided_by = (
            "; ".join(
                f"{who.name} ({who.role_name})"
                for who in (person(self.script, a) for a in deciders)
            )
            or "(nobody named)"
        )
        checked = re.fullmatch(r"preflight check (\S+) passes", data.text("expected"))
        if checked is not None:
            self._decide_preflight(
                checked.group(1),
                PreflightDecision(
                    decision=data.text("decision"),
                    decided_by=decided_by,
                    seq=entry.seq,
                    note=data.opt_text("note"),
                ),
            )
        self.deviations.append(
            Deviation(
                where=self._step_label(entry.step) if entry.step else "the ceremony as a whole",
                expected=data.text("expected"),
                observed=data.text("observed"),
                decision=_DECISIONS.get(data.text("decision"), data.text("decision")),
                decided_by=decided_by,
                seq=entry.seq,
                note=data.opt_text("note"),
                recorded=True,
            )
        )

    def _on_step_skipped(self, entry: JournalEntry) -> None:
        self.skipped.setdefault(self._step_id(entry), entry)

    def _on_signoff_recorded(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        value = data.data.get("statements")
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise data._fail("statements", "a list of statements")
        statements = []
        for item in value:
            if not isinstance(item, Mapping):
                raise data._fail("statements", "a list of objects")
            one = _Data(entry, item)
            statements.append(
                Statement(
                    participant=one.text("participant"),
                    followed=one.flag("followed"),
                    comment=one.opt_text("comment"),
                    step_number=self.numbers.get(self._step_id(entry), 0),
                    recorded_at=entry.time,
                    seq=entry.seq,
                )
            )
        self.statements = tuple(statements)

    def _on_bag_rechecked(self, entry: JournalEntry) -> None:
        data = _Data(entry)
        step_id = self._step_id(entry)
        check = BagCheck(
            step_number=self.numbers.get(step_id, 0),
            material=data.text("material"),
            expected=data.text("expected"),
            typed=data.text("typed"),
            matches=data.flag("matches"),
            checked_at=entry.time,
            seq=entry.seq,
        )
        self.rechecks.setdefault(step_id, []).append(check)
        if check.matches != (check.typed == check.expected):
            self.deviations.append(
                Deviation(
                    where=self._step_label(step_id),
                    expected=f"the bag re-check of {check.material} says 'matches' exactly when "
                    "the serial typed is the one expected",
                    observed=f"matches is {str(check.matches).lower()}, typed {check.typed}, "
                    f"expected {check.expected}",
                    decision="integrity check by this report failed: treat the entry as suspect",
                    decided_by="-",
                    seq=entry.seq,
                )
            )

    def breaks(self) -> list[BreakView]:
        """One view per break step that has journal entries, in script order."""
        views = []
        for number, step in enumerate(self.script.steps, start=1):
            if step.kind != "break":
                continue
            entries = self.by_step.get(step.id, [])
            started = next((e for e in entries if e.event == "break.started"), None)
            ended = next((e for e in entries if e.event == "break.ended"), None)
            if started is None:
                continue
            rechecks = tuple(self.rechecks.get(step.id, ()))
            views.append(
                BreakView(
                    step_number=number,
                    title=step.title,
                    started_at=started.time,
                    left=_Data(started).texts("left"),
                    ended_at=ended.time if ended else None,
                    returned=_Data(ended).texts("returned") if ended else (),
                    absent=_Data(ended).texts("absent") if ended else (),
                    rechecks=rechecks,
                )
            )
        return views

    def _on_ceremony_aborted(self, entry: JournalEntry) -> None:
        self.aborted = entry
        for view in self.preflight:
            if not view.passed and view.blocking and view.decision is None:
                self._decide_preflight(
                    view.check,
                    PreflightDecision(
                        decision="abort",
                        decided_by=f"the ceremony was aborted (entry {entry.seq})",
                        seq=entry.seq,
                    ),
                )
        where = self._step_label(entry.step) if entry.step else "the ceremony as a whole"
        self.deviations.append(
            Deviation(
                where=where,
                expected="every step of the script performed, then ceremony.closed",
                observed=_Data(entry).text("reason"),
                decision="ceremony aborted; the steps after this point were not performed",
                decided_by=self._actors_text(entry.actors) if entry.actors else "-",
                seq=entry.seq,
            )
        )

    # -- helpers

    def _integrity(self, entry: JournalEntry, what: str, against: str) -> None:
        self.deviations.append(
            Deviation(
                where=self._step_label(entry.step) if entry.step else "-",
                expected=f"the {what} matches the {against}",
                observed="it does not match",
                decision="integrity check by this report failed: treat the artefact as suspect",
                decided_by="-",
                seq=entry.seq,
            )
        )

    def _signed_by(
        self,
        key_id: str,
        signature: bytes,
        tbs: bytes,
        parameters: object,
        hash_algorithm: object,
    ) -> bool | None:
        """Whether the journal's key ``key_id`` made ``signature`` (None: the key is unknown)."""
        key = next((k for k in self.keys if k.key_id == key_id), None)
        if key is None:
            return None
        return _signature_valid(key.spki_der, signature, tbs, parameters, hash_algorithm)

    def _step_id(self, entry: JournalEntry) -> str:
        if entry.step is None:
            raise ReportError(f"The journal entry seq {entry.seq} ({entry.event}) names no step.")
        return entry.step

    def _script_step(self, step_id: str) -> Step | None:
        return next((s for s in self.script.steps if s.id == step_id), None)

    def _step_label(self, step_id: str | None) -> str:
        for number, step in enumerate(self.script.steps, start=1):
            if step.id == step_id:
                return f"Step {number}: {step.title}"
        return f"step {step_id} (not in the script)"

    def _actors_text(self, actors: Sequence[Actor]) -> str:
        parts = []
        for actor in actors:
            if actor.capacity == "present":
                continue
            who = person(self.script, actor)
            parts.append(f"{who.name} ({who.role_name}, {actor.capacity})")
        return "; ".join(parts) or "-"

    # -- steps

    def printing_step(self) -> tuple[int, Step] | None:
        """The print-report step (number, step) when it is the step under way, else None.

        Under way: every step before it is completed or skipped, and it is not.
        """
        for number, step in enumerate(self.script.steps, start=1):
            if step.id in self.completed or step.id in self.skipped:
                continue
            if isinstance(step, ActionStep) and step.action == "print-report":
                return (number, step)
            return None
        return None

    def steps(self) -> tuple[StepRecord, ...]:
        return tuple(
            self._step_record(number, step)
            for number, step in enumerate(self.script.steps, start=1)
        )

    def _step_record(self, number: int, step: Step) -> StepRecord:
        entries = self.by_step.get(step.id, [])
        completed = self.completed.get(step.id)
        skipped = self.skipped.get(step.id)
        actors_from = completed or skipped or next((e for e in entries if e.actors), None)
        actors = actors_from.actors if actors_from else ()
        performer = next(
            (person(self.script, a) for a in actors if a.capacity == "performer"), None
        )
        witnesses = tuple(person(self.script, a) for a in actors if a.capacity == "witness")
        result, details, ok = self._result(step, entries, completed)
        completions = self.completions.get(step.id, [])
        effect = _Data(completed).opt_number("completed_before_interruption") if completed else None
        return StepRecord(
            number=number,
            step=step,
            performed=completed is not None,
            completed_at=completed.time if completed else None,
            performer=performer,
            witnesses=witnesses,
            result=result,
            details=tuple(details),
            ok=ok,
            seqs=tuple(e.seq for e in entries),
            act=self.acts.get(step.act, step.act) if step.act else None,
            skipped=skipped is not None and completed is None,
            again=tuple((e.time, e.seq) for e in completions[1:]),
            effect_before_interruption=effect,
        )

    def _result(
        self, step: Step, entries: list[JournalEntry], completed: JournalEntry | None
    ) -> tuple[str, list[str], bool]:
        details: list[str] = []
        ok = True
        events = [e.event for e in entries]
        sealed_shown: set[str] = set()
        resumptions = [r.seq for r in self.interruptions]
        for previous, entry in zip([None, *entries], entries, strict=False):
            if previous is not None and any(previous.seq < r < entry.seq for r in resumptions):
                resumed = next(r for r in resumptions if previous.seq < r < entry.seq)
                details.append(f"After the interruption (resumed at entry {resumed}):")
            if entry.event == "share.sealed" and "backup.made" in events:
                continue  # listed with backup.made
            if entry.event == "share.sealed" and "token.initialised" not in events:
                # Sheets sealed in a step that did not finish: one line per secret split.
                what = _Data(entry).text("what")
                if what not in sealed_shown:
                    sealed_shown.add(what)
                    details.append(f"{what}: shares sealed: {self._sealed_text(entry.step, what)}")
                continue
            detail = self._detail(entry)
            if detail is not None:
                details.extend(detail.split("\n"))
            if entry.event == "ceremony.aborted":
                ok = False
        if any(not a.activated for a in self.final_activations() if a.step_id == step.id):
            ok = False
        if "hsm.login-failed" in events and "hsm.login" not in events:
            ok = False
        restores = [e for e in events if e in ("restore.tested", "restore.failed")]
        if restores and restores[-1] == "restore.failed":
            ok = False
        if "confirmation.refused" in events and "confirmation.typed" not in events:
            ok = False
        last_check: dict[str, bool] = {}
        for entry in entries:
            if entry.event == "bag.rechecked":
                last_check[_Data(entry).text("material")] = _Data(entry).flag("matches")
        if not all(last_check.values()):
            ok = False
        if "deviation.recorded" in events or "backup.abandoned" in events:
            ok = False
        if step.id in self.skipped and completed is None:
            return "Not performed: skipped after deviation", details, False
        if completed is None:
            if any(e.event == "ceremony.aborted" for e in entries) or self.aborted is not None:
                return "Not performed (the ceremony was aborted)", details, False
            printing = self.printing_step()
            if printing is not None and self.numbers.get(step.id, 0) >= printing[0]:
                if step.id == printing[1].id:
                    return "In progress: this is the report it prints", details, ok
                return (
                    f"To come: after this report is printed (step {printing[0]})",
                    details,
                    ok,
                )
            return "Not performed when this report was rendered", details, ok
        data = _Data(completed)
        deviated = data.data.get("deviation") is True
        after = ", after a deviation" if deviated else ""
        if isinstance(step, WitnessCheckStep):
            if data.flag("matches"):
                return f"Matches: {step.compare.expected}{after}", details, ok
            observed = data.opt_text("observed") or "(not stated)"
            return f"DOES NOT MATCH. Observed: {observed}{after}", details, False
        if step.kind == "attendance":
            present = len(self.present or ())
            return f"{present} present, {len(self.absent)} absent", details, ok
        if step.kind == "acknowledge":
            return f"Confirmed by the performer and witnesses{after}", details, ok
        if step.kind == "entry":
            recorded = [e for e in entries if e.event == "entry.recorded"]
            if not recorded:
                return f"No value accepted{after}", details, False
            typed = _Data(recorded[-1])
            value = typed.text("value")
            expected = typed.opt_text("expected")
            if expected is not None and value != expected:
                return f"DOES NOT MATCH: typed {value}, scripted {expected}", details, False
            if typed.text("format") == "clock-offset":
                offset = typed.number("offset_seconds")
                if offset == 0:
                    return f"Typed: {value} s: the clocks agree{after}", details, ok
                relation = "behind" if offset > 0 else "ahead of"
                return (
                    f"Typed: {value} s: the workstation clock is {abs(offset)} s {relation} "
                    f"the reference clock{after}",
                    details,
                    ok,
                )
            scripted = ", as scripted" if expected is not None else ""
            return f"Typed: {value}{scripted}{after}", details, ok
        if step.kind == "confirm":
            return f"Confirmation words typed{after}", details, ok
        if step.kind == "break":
            away = data.data.get("absent")
            if isinstance(away, Sequence) and not isinstance(away, str) and away:
                return "Break taken; not everyone returned", details, ok
            return f"Break taken; everyone who left returned{after}", details, ok
        if step.kind == "sign-off":
            if self.statements is None:
                return f"Done{after}", details, ok
            against = [s for s in self.statements if not s.followed]
            total = len(self.statements)
            if against:
                return (
                    f"{len(against)} of {total} stated the script was NOT followed",
                    details,
                    False,
                )
            return f"All {total} stated the script was followed{after}", details, ok
        return f"Done{after}", details, ok

    def _detail(self, entry: JournalEntry) -> str | None:
        """One line for the step's result column, or None for an event shown elsewhere."""
        data = _Data(entry)
        event = entry.event
        if event == "hsm.login-failed":
            return (
                f"PIN refused at attempt {data.number('attempt')} "
                f"({data.number('attempts_left')} left), {clock_text(entry.time)}"
            )
        if event == "hsm.login":
            if data.data.get("activation") == "m-of-n":
                return (
                    "The token accepted the PIN the custodians' shares combine to (nobody typed "
                    "or saw it)"
                )
            attempts = data.number("attempts")
            return f"HSM activated after {attempts} attempt{'' if attempts == 1 else 's'}"
        if event == "token.initialised":
            token = data.obj("token")
            text = f"Token initialised as {data.text('label')} (serial {token.text('serial')})"
            activation = data.obj("activation")
            if not activation.data:
                return text + "; new PINs typed twice by the performer (no m-of-n activation)"
            scripted = [what for what, _ in self._script_splits() if what in activation.data]
            for what in scripted + sorted(set(activation.data) - set(scripted)):
                item = activation.obj(what)
                text += (
                    f"\n{what} split {item.number('threshold')} of "
                    f"{len(item.texts('custodians'))}. Shares sealed: "
                    f"{self._sealed_text(entry.step, what)}"
                )
            return text
        if event == "share.rejected":
            name = participant_name(self.script, data.text("custodian"))
            return (
                f"{name}'s share of the {data.text('what')} REFUSED at attempt "
                f"{data.number('attempt')}: {share_problem(data.text('problem'), name)}"
            )
        if event == "share.accepted":
            what = data.text("what")
            combined = any(
                e.event == "quorum.activated" and _Data(e).text("what") == what
                for e in self.by_step.get(entry.step or "", [])
            )
            if combined:
                return None  # named in the quorum.activated line
            return (
                f"{participant_name(self.script, data.text('custodian'))}'s share of the {what} "
                f"accepted (share {data.number('member_index')}, attempt "
                f"{data.number('attempt')})"
            )
        if event == "quorum.activated":
            what = data.text("what")
            split = self._script_split(what)
            count = f" of {len(split.shares)}" if split is not None else ""
            custodians = data.texts("custodians")
            return (
                f"Activated by {self._and_names(custodians)} "
                f"({len(custodians)}{count}): their shares of the {what} combined"
            )
        if event == "share.sealed":
            return None  # listed with token.initialised
        if event == "backup.made":
            return (
                f"Backup {data.text('backup_id')} of {data.text('label')} made: wrapped with "
                f"{data.text('mechanism')} under a key-encryption key with KCV "
                f"{data.text('check_value')}, blob SHA-256 {data.text('blob_sha256')[:16]}..., "
                f"written to {len(data.objs('media'))} media and read back; key-encryption key "
                f"split {data.number('threshold')} of {data.number('share_count')}. Shares "
                f"sealed: {self._sealed_text(entry.step, data.text('backup_id'), backup=True)}"
            )
        if event == "backup.abandoned":
            view = next((a for a in self.abandoned if a.seq == entry.seq), None)
            if view is None:
                return None
            removed = ", ".join(m for m, _ in view.blob_removed) or "no medium"
            sheets = ", ".join(f"{s.name} (bag {s.bag})" for s in view.sheets) or "none"
            return (
                f"Backup attempt with KCV {view.check_value} ABANDONED after the interruption: "
                f"blob destroyed on {removed}; share sheets to destroy unopened: {sheets}"
            )
        if event == "preflight.checked":
            return (
                f"Preflight check {data.text('check')} run again ({data.text('at')}): "
                f"{data.text('verdict')}: {data.text('detail')}"
            )
        if event == "restore.tested":
            return (
                f"Restore test of backup {data.text('backup_id')} PASSED: shares of "
                f"{self._and_names(data.texts('custodians'))} combined to the KCV "
                f"{data.text('check_value')}, blob SHA-256 matched on every medium, key "
                f"unwrapped into token {data.obj('restore_token').obj('token').text('serial')}, "
                f"signed and verified; token zeroised, "
                f"{data.number('objects_after_zeroise')} object(s) after"
            )
        if event == "restore.failed":
            return f"Restore test of backup {data.text('backup_id')} FAILED: {data.text('problem')}"
        if event == "key.generated":
            return f"Key pair {data.text('label')} generated ({data.text('algorithm')})"
        if event == "certificate.issued":
            return f"Certificate issued and verified, serial {data.text('serial')}"
        if event == "qr.shown":
            return f"Shown as {data.number('frames')} QR frame(s)"
        if event == "key.found":
            return (
                f"Key {data.text('label')} found on the token (CKA_ID {data.text('cka_id')}, "
                f"{data.text('algorithm')})"
            )
        if event == "token.inventory":
            objects = data.objs("objects")
            visible = "" if data.flag("logged_in") else " visible without login"
            return (
                f"Token inventory read: {len(objects)} object(s){visible}, "
                f"{len(data.objs('mechanisms'))} mechanism(s)"
            )
        if event == "input.received":
            text = f"{data.text('kind').upper()} received and checked: {data.text('summary')}"
            if data.flag("stand_in"):
                text += " (REHEARSAL STAND-IN: not the SHA-256 the script lists)"
            return text
        if event == "csr.made":
            return f"Request made and verified: {data.text('output')}"
        if event == "crl.issued":
            revoked = len(data.objs("revoked"))
            return f"CRL number {data.number('number')} issued and verified, {revoked} revoked"
        if event == "key.destroyed":
            remaining = len(data.objs("remaining"))
            return (
                f"Key {data.text('label')} destroyed: {len(data.objs('destroyed'))} object(s) "
                f"removed, {remaining} other object(s) remain"
            )
        if event == "token.zeroised":
            after = len(data.objs("after"))
            return (
                f"Token re-initialised: {len(data.objs('before'))} object(s) before, {after} after"
            )
        if event == "hsm.logout":
            return "HSM logged out"
        if event == "report.printed":
            return (
                f"Report printed ({data.text('printer')}, job {data.text('job')}), "
                f"covering seq 1 to {data.number('covers_through')}"
            )
        if event == "ceremony.aborted":
            return f"Ceremony aborted: {data.text('reason')}"
        if event == "entry.rejected":
            return f"Attempt {data.number('attempt')} refused: {data.text('problem')}"
        if event == "entry.recorded":
            attempts = data.number("attempts")
            return f"{data.text('label')}: accepted at attempt {attempts}" if attempts > 1 else None
        if event == "confirmation.refused":
            return (
                f"Confirmation words typed wrongly at attempt {data.number('attempt')} "
                "(what was typed is not kept)"
            )
        if event == "confirmation.typed":
            return f'Typed the words "{data.text("words")}" (attempt {data.number("attempts")})'
        if event == "break.started":
            left = data.texts("left")
            when = entry.time.strftime("%H:%M:%S")
            return f"{when} left: {self._names(left)}" if left else f"{when} nobody left"
        if event == "break.ended":
            when = entry.time.strftime("%H:%M:%S")
            text = f"{when} returned: {self._names(data.texts('returned'))}"
            absent = data.texts("absent")
            if absent:
                text += f"; DID NOT RETURN: {self._names(absent)}"
            return text
        if event == "bag.rechecked":
            verdict = "matches" if data.flag("matches") else "DOES NOT MATCH"
            return (
                f"Bag of {data.text('material')} re-checked: typed {data.text('typed')}: {verdict}"
            )
        if event == "deviation.recorded":
            decision = data.text("decision")
            who = "; ".join(
                participant_name(self.script, a.participant)
                for a in entry.actors
                if a.capacity == "decider"
            )
            return f"Deviation recorded: {decision}, decided by {who or '(nobody named)'}"
        if event == "signoff.recorded":
            return None
        return None

    def _names(self, ids: Sequence[str]) -> str:
        return ", ".join(participant_name(self.script, p) for p in ids) or "nobody"

    def _and_names(self, ids: Sequence[str]) -> str:
        """``Bob Okafor and Carol Nguyen``; ``A, B and C``."""
        names = [participant_name(self.script, p) for p in ids]
        if len(names) < 2:
            return "".join(names) or "nobody"
        return ", ".join(names[:-1]) + " and " + names[-1]

    def _sealed_text(self, step_id: str | None, what: str, *, backup: bool = False) -> str:
        """``Bob Okafor (1 of 3, bag TEB-231301), ...``: the shares of ``what`` sealed in a step.

        With ``backup``, ``what`` is a backup id and the shares are those of its KEK.
        """
        number = self.numbers.get(step_id or "", 0)
        abandoned = self._abandoned_kcvs(what) if backup else set()
        sealed = [
            s
            for s in self.sealed
            if (s.backup_id == what if backup else s.what == what)
            and s.step_number == number
            and s.check_value not in abandoned
        ]
        return (
            ", ".join(
                f"{participant_name(self.script, s.custodian)} ({s.member_index} of "
                f"{s.member_count}, bag {s.bag})"
                for s in sealed
            )
            or "none"
        )


@dataclass(frozen=True)
class _Initialised:
    """What ``token.initialised`` journaled about one split secret."""

    threshold: int
    custodians: tuple[str, ...]
    set_identifier: int
    check_value: str
    step_number: int
    at: datetime
    seq: int
    label: str
    serial: str


_DECISIONS = {
    "proceed": "proceed: the step is still carried out, with the deviation on record",
    "skip": "skip: the step was not performed",
    "retry": "retry: the action was run again",
    "abort": "abort: the ceremony was stopped",
}


def _token_fields(token: _Data) -> tuple[tuple[str, str], ...]:
    """The TokenInfo object of an entry as (label, value) pairs, in the order of TOKEN_FIELDS."""
    fields: list[tuple[str, str]] = []
    for key, label in TOKEN_FIELDS:
        value = token.data.get(key)
        if key == "flags":
            text = ", ".join(token.texts("flags")) or "(none)"
        elif isinstance(value, bool) or not isinstance(value, str | int):
            raise token._fail(key, "text")
        else:
            text = str(value)
        fields.append((label, text))
    return tuple(fields)


def _objects(data: _Data, key: str) -> tuple[TokenObject, ...]:
    """A list of token objects as ``objects_json`` journals it (class, label, CKA_ID, key type)."""
    return tuple(
        TokenObject(
            object_class=item.text("class"),
            label=item.text("label"),
            cka_id=item.text("cka_id"),
            key_type=item.opt_text("key_type"),
        )
        for item in data.objs(key)
    )


def _checkpoint_valid(public_der: bytes, through_sha256: str, through_seq: int, sig: str) -> bool:
    """Whether ``sig`` is the log key's Ed25519 signature of the checkpoint message."""
    message = (
        b"sealroom-journal-checkpoint/v1\n"
        + through_sha256.encode("ascii")
        + b"\n"
        + str(through_seq).encode("ascii")
    )
    try:
        key = load_der_public_key(public_der)
        if not isinstance(key, ed25519.Ed25519PublicKey):
            return False
        key.verify(base64.b64decode(sig, validate=True), message)
    except Exception:  # InvalidSignature, bad base64, a key of another type
        return False
    return True


def _signature_valid(
    spki_der: bytes,
    signature: bytes,
    data: bytes,
    parameters: object,
    hash_algorithm: object,
) -> bool:
    """Whether ``signature`` over ``data`` verifies with the public key ``spki_der``."""
    try:
        key = load_der_public_key(spki_der)
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, parameters, hash_algorithm)  # type: ignore[arg-type]
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, parameters)  # type: ignore[arg-type]
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def _kek_what(backup_id: str) -> str:
    """What a backup's shares protect, as the engine's prompts and journal name it."""
    return f"Backup {backup_id} key-encryption key"


def _old_kek_what(backup_id: str) -> str:
    """What the shares of the set a re-split replaces protect, as the engine names them."""
    return f"{_kek_what(backup_id)} (set being replaced)"


def _where(script: Script, number: int) -> str:
    if 0 < number <= len(script.steps):
        return f"Step {number}: {script.steps[number - 1].title}"
    return "-"


def share_problem(problem: str, name: str) -> str:
    """Why a share was refused, without the ``Share from <name>:`` the collector starts with."""
    prefix = f"Share from {name}: "
    return problem[len(prefix) :] if problem.startswith(prefix) else problem


def clock_text(moment: datetime) -> str:
    """Format a journal time for people: ``2027-01-15 09:03:12 UTC`` (seconds, no fraction)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _optional_hex(value: object) -> str | None:
    """A journaled SHA-256 in hex, or None when the journal has none (older journals)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
        return value
    return None
