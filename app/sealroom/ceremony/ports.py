"""The ports the engine owns: small Protocols that adapters (HSM, PKI, journal, ...) implement."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from sealroom.ceremony.script import (
    CertificateSpec,
    CrlSpec,
    CsrSpec,
    KeySpec,
    Script,
    StepBase,
)

# JSON values that may enter the journal. Never put a PIN, a share word or key material here.
Json = None | bool | int | str | Sequence["Json"] | Mapping[str, "Json"]


# ---------------------------------------------------------------------------------------------
# Records that cross the ports (plain frozen values; adapters build them, the engine journals them)


@dataclass(frozen=True)
class TokenInfo:
    """Identity of the PKCS#11 token and module used (EV-DEVICE)."""

    library: str
    library_description: str
    library_version: str
    slot_id: int
    slot_description: str
    label: str
    manufacturer: str
    model: str
    serial: str
    hardware_version: str
    firmware_version: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class KeyRecord:
    """Inventory record of a key pair generated in the token (EV-KEY-*)."""

    key_id: str
    """The script's id of the key (not the CKA_ID)."""
    label: str
    cka_id_hex: str
    algorithm: str
    """One of the script's key algorithms, e.g. ``rsa-4096`` or ``ec-p384``."""
    key_type: Literal["RSA", "EC", "EdDSA"]
    size_bits: int
    curve: str | None
    public_exponent: int | None
    spki_der: bytes
    attributes: Mapping[str, bool]
    """The private key's boolean attributes as read back after generation, e.g. SENSITIVE."""
    mechanism: str
    """The PKCS#11 key-pair generation mechanism used, e.g. ``CKM_RSA_PKCS_KEY_PAIR_GEN``."""


@dataclass(frozen=True)
class WrappedKey:
    """A CA private key wrapped under a key-encryption key (ciphertext; EV-BACKUP)."""

    key_id: str
    label: str
    cka_id_hex: str
    key_type: Literal["RSA", "EC", "EdDSA"]
    mechanism: str
    """``CKM_AES_KEY_WRAP_PAD``."""
    wrapped: bytes
    """What C_WrapKey returned."""
    spki_der: bytes
    """The key pair's public key, to bind the blob to the CA certificate."""


@dataclass(frozen=True)
class TokenObjectSummary:
    """One object on a token, as an inventory or destruction proof lists it (never key material)."""

    object_class: str
    """The PKCS#11 class without ``CKO_``, e.g. ``PRIVATE_KEY``."""
    label: str
    cka_id_hex: str
    key_type: str | None = None
    """``RSA``, ``EC``, ``EC_EDWARDS``, ``AES``... for key objects."""


@dataclass(frozen=True)
class MechanismInfo:
    """A PKCS#11 mechanism the ceremony uses, with what the token says of it (EV-SETTINGS)."""

    name: str
    """As PKCS#11 spells it, e.g. ``CKM_RSA_PKCS_KEY_PAIR_GEN``."""
    min_key_bits: int
    max_key_bits: int
    flags: tuple[str, ...]
    """e.g. ``GENERATE_KEY_PAIR``, ``SIGN``, ``HW``."""


@dataclass(frozen=True)
class DeviceInventory:
    """The HSM as the report describes it (EV-DEVICE, EV-SETTINGS): token, mechanisms, objects."""

    token: TokenInfo
    mechanisms: tuple[MechanismInfo, ...]
    objects: tuple[TokenObjectSummary, ...]
    """What the session could see (private objects only when logged in)."""
    logged_in: bool


@dataclass(frozen=True)
class DestructionRecord:
    """A key destroyed in the token, and what remained on it afterwards (EV-DESTROY)."""

    key_id: str
    label: str
    destroyed: tuple[TokenObjectSummary, ...]
    remaining: tuple[TokenObjectSummary, ...]


@dataclass(frozen=True)
class ZeroiseRecord:
    """A token re-initialised, with every object listed before and after (EV-DESTROY)."""

    before: tuple[TokenObjectSummary, ...]
    token_after: TokenInfo
    after: tuple[TokenObjectSummary, ...]
    """Every object on the re-initialised token, seen by a user login with the new PIN: empty."""


class SigningKey(Protocol):
    """A private key that stays inside the token and can sign a message."""

    @property
    def record(self) -> KeyRecord: ...

    def sign(self, message: bytes, hash_name: Literal["sha256", "sha384", "sha512"]) -> bytes:
        """Sign ``message``: RSA PKCS#1 v1.5 over ``hash_name``, or ECDSA as a DER signature."""
        ...


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate signed in the HSM and verified after signing (EV-ARTIFACTS)."""

    certificate_id: str
    der: bytes
    pem: str
    subject: str
    issuer: str
    serial_hex: str
    not_before: datetime
    not_after: datetime
    signature_algorithm: str
    spki_sha256_hex: str
    checks: tuple[str, ...]
    """The verifications that passed after signing, in words."""
    lint_warnings: tuple[str, ...] = ()
    """pkilint warnings (errors block signing): shown to the witnesses and journaled."""


@dataclass(frozen=True)
class IssuedRequest:
    """A certificate signing request signed in the HSM (e.g. the root, to be cross-signed)."""

    csr_id: str
    der: bytes
    pem: str
    subject: str
    signature_algorithm: str
    spki_sha256_hex: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class RevokedCertificate:
    """One entry of a CRL as the report lists it."""

    serial_hex: str
    revoked_at: datetime
    reason: str


@dataclass(frozen=True)
class IssuedCrl:
    """A CRL signed in the HSM and verified after signing (EV-ARTIFACTS)."""

    crl_id: str
    der: bytes
    pem: str
    issuer: str
    number: int
    this_update: datetime
    next_update: datetime
    revoked: tuple[RevokedCertificate, ...]
    signature_algorithm: str
    checks: tuple[str, ...]
    lint_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrintJob:
    """A document handed to a printer (or written to file in a rehearsal)."""

    printer: str
    job: str
    destination: str


@dataclass(frozen=True)
class JournalHead:
    """Position of the journal after an append: sequence number and SHA-256 of that entry."""

    seq: int
    sha256: str


@dataclass(frozen=True)
class Actor:
    """A participant acting in one role, as performer or witness of a step."""

    participant: str
    role: str
    capacity: Literal["performer", "witness", "present", "decider", "signatory", "custodian"]


# ---------------------------------------------------------------------------------------------
# Adapter ports


class Hsm(Protocol):
    """The PKCS#11 token. Every call is serialised by the adapter; secrets never leave it."""

    def token_info(self) -> TokenInfo: ...

    def login(self, pin: str) -> None:
        """Log the user in; raise PinError for a wrong PIN (the PIN never appears in it)."""
        ...

    def logout(self) -> None: ...

    def generate_key(self, spec: KeySpec) -> SigningKey:
        """Generate ``spec`` inside the token, read back and check its attributes, return it."""
        ...

    def random_bytes(self, count: int) -> bytes:
        """Bytes from the token's random number generator."""
        ...

    def supported_algorithms(self) -> tuple[str, ...]:
        """The script key algorithms this token can generate (others are refused before keygen)."""
        ...

    def find_key(self, spec: KeySpec) -> SigningKey:
        """The key pair made in an earlier ceremony, found by label and its policy re-checked."""
        ...

    def device_inventory(self, mechanisms_used: Iterable[str] | None = None) -> DeviceInventory:
        """Token, mechanisms with the token's flags, visible objects (EV-DEVICE, EV-SETTINGS)."""
        ...

    def destroy_key(self, spec: KeySpec) -> DestructionRecord:
        """Destroy the key pair (and objects sharing its CKA_ID); prove none is left."""
        ...

    def zeroise(self, so_pin: str, new_label: str | None = None) -> ZeroiseRecord:
        """Re-initialise the token with the SO PIN and prove it holds no object afterwards."""
        ...

    def initialise(self, label: str, so_pin: str, user_pin: str) -> TokenInfo:
        """Initialise an empty token with ``label`` and the two PINs (hsm-initialisation)."""
        ...

    def wrap_key(self, spec: KeySpec, kek: bytes | bytearray) -> WrappedKey:
        """Wrap ``spec``'s private key under ``kek`` (32 bytes) with CKM_AES_KEY_WRAP_PAD.

        ``kek`` is imported as a session AES key that can only wrap and destroyed afterwards; the
        wrap is proved before returning (the blob unwraps to a key that signs for ``spki_der``).
        """
        ...

    def unwrap_key(
        self, spec: KeySpec, wrapped: WrappedKey, kek: bytes | bytearray, *, persist: bool
    ) -> SigningKey:
        """Unwrap into this token under ``spec``'s label and CKA_ID as a sign-only key.

        The key is sensitive, non-extractable and can only sign. ``persist`` False: a session
        object (checks); True: a token object (recovery). Refuses, writing nothing, if the token
        already holds that label; removes any orphan a failed unwrap leaves (the object count is
        unchanged on failure).
        """
        ...

    def object_count(self) -> int:
        """How many objects this session sees (negative tests: nothing written on a refusal)."""
        ...


@dataclass(frozen=True)
class CheckedInput:
    """An object taken in through the air gap and checked (CSR self-signature, certificate)."""

    input_id: str
    kind: str
    der: bytes
    """The object's DER, whatever encoding it arrived in."""
    summary: str
    """One line: the subject, for the witnesses and the journal."""
    facts: tuple[Fact, ...]
    """What the witnesses are shown before the object is used."""


class CertificateIssuer(Protocol):
    """Builds certificates, CSRs and CRLs from the script's profiles; the HSM key signs them."""

    def issue_root(
        self, spec: CertificateSpec, key: SigningKey, serial: int
    ) -> IssuedCertificate: ...

    def issue_from_request(
        self,
        spec: CertificateSpec,
        key: SigningKey,
        serial: int,
        issuer_der: bytes,
        request_der: bytes,
    ) -> IssuedCertificate:
        """A subordinate CA or OCSP responder certificate for the subject and key of a CSR."""
        ...

    def cross_certify(
        self,
        spec: CertificateSpec,
        key: SigningKey,
        serial: int,
        issuer_der: bytes,
        subject_der: bytes,
    ) -> IssuedCertificate:
        """A cross-certificate for the subject and key of an existing CA certificate."""
        ...

    def make_csr(self, spec: CsrSpec, key: SigningKey) -> IssuedRequest: ...

    def sign_crl(self, spec: CrlSpec, key: SigningKey, issuer_der: bytes) -> IssuedCrl: ...

    def check_input(
        self, input_id: str, kind: str, data: bytes, *, allow_ca_request: bool
    ) -> CheckedInput:
        """Parse and check an imported CSR or certificate; PkiError names what is wrong."""
        ...


class CustodianShare(Protocol):
    """One custodian's SLIP-39 share: the words are secret and go only to the share sheet."""

    @property
    def custodian(self) -> str: ...

    @property
    def member_index(self) -> int: ...

    @property
    def member_count(self) -> int: ...

    @property
    def words(self) -> tuple[str, ...]: ...


class ShareSet(Protocol):
    """A secret split k-of-n; identifier and check value are public, the words are not."""

    @property
    def identifier(self) -> int: ...

    @property
    def threshold(self) -> int: ...

    @property
    def check_value(self) -> str: ...

    @property
    def shares(self) -> tuple[CustodianShare, ...]: ...


class AcceptedShare(Protocol):
    """What is known of a share once its words were accepted (never the words)."""

    @property
    def custodian(self) -> str: ...

    @property
    def member_index(self) -> int: ...

    @property
    def identifier(self) -> int:
        """The SLIP-39 set identifier (public: it is printed on every sheet of the set)."""
        ...


class ShareCollector(Protocol):
    """Takes custodians' shares one at a time; combines them once enough are in."""

    @property
    def needed(self) -> int: ...

    @property
    def complete(self) -> bool: ...

    def add(self, custodian: str, typed: str) -> AcceptedShare:
        """Check and keep one share; a SealroomError names the entry's problem, never a word."""
        ...

    def combine(self) -> bytearray:
        """The secret (the caller wipes it); refused unless complete and the check value holds."""
        ...

    def wipe(self) -> None: ...


class SecretSharing(Protocol):
    """SLIP-39 split and combine, and the PINs derived from random secrets (m-of-n activation)."""

    def new_secret(self, hsm_random: Callable[[int], bytes]) -> bytearray:
        """16 random bytes from host randomness mixed with the HSM's RNG."""
        ...

    def pin(self, secret: bytes | bytearray) -> str:
        """The PKCS#11 PIN derived from ``secret``."""
        ...

    def split(
        self,
        secret: bytes | bytearray,
        threshold: int,
        custodians: Sequence[str],
        hsm_random: Callable[[int], bytes],
    ) -> ShareSet: ...

    def collector(
        self,
        threshold: int,
        identifier: int | None,
        check_value: str | None,
        custodians: Sequence[str],
    ) -> ShareCollector: ...


@dataclass(frozen=True)
class BackupBlob:
    """A wrapped-key blob as read back and decoded (public: the key inside is ciphertext)."""

    wrapped: WrappedKey
    check_value: str
    """The key check value of the key-encryption key the blob was wrapped under."""
    certificate_sha256: str | None
    """SHA-256 of the CA certificate the blob is bound to (None: bound to the key only)."""
    version: int


class KeyBackup(Protocol):
    """Key-encryption keys, the wrapped-key blob format, the backup media and the restore check.

    The engine never sees a key in clear: the KEK is a bytearray it wipes after use, and the CA
    key is only ever in the HSM or wrapped in a blob.
    """

    def new_kek(self, hsm_random: Callable[[int], bytes]) -> bytearray:
        """A 256-bit key-encryption key from host randomness mixed with the HSM's RNG."""
        ...

    def check_value(self, kek: bytes | bytearray) -> str:
        """The key check value (KCV) that names ``kek`` on every paper and in the journal."""
        ...

    def encode(self, wrapped: WrappedKey, check_value: str, certificate_der: bytes | None) -> bytes:
        """The blob (docs/backup.md): version, mechanism, KCV, key type, certificate hash, key."""
        ...

    def decode(
        self,
        data: bytes,
        where: str,
        *,
        key_id: str,
        certificate_der: bytes | None,
        spki_der: bytes,
    ) -> BackupBlob:
        """Parse a blob read from ``where``; check it is the backup of this key (and certificate).

        A SealroomError names what is wrong and where.
        """
        ...

    def write_medium(self, material: str, name: str, data: bytes) -> str:
        """Write ``data`` as ``name`` on the medium ``material`` (never over a file); its path."""
        ...

    def read_medium(self, material: str, name: str) -> bytes:
        """Read ``name`` back from the medium ``material``."""
        ...

    def discard_medium(self, material: str, name: str, sha256: str) -> str | None:
        """Destroy ``name`` on ``material`` if its SHA-256 is ``sha256``; its path (None: absent).

        Used only when resuming a backup interrupted before ``backup.made``: the blob this
        ceremony wrote is overwritten with zeros and deleted. A file with another SHA-256 is
        never touched (a MediaError says so: it is not this ceremony's).
        """
        ...

    def signature_valid(
        self,
        public_der: bytes,
        message: bytes,
        signature: bytes,
        hash_name: Literal["sha256", "sha384", "sha512"],
    ) -> bool:
        """Does ``signature`` verify with ``public_der``: a certificate's or an SPKI's key."""
        ...


@dataclass(frozen=True)
class ShareSheet:
    """What a custodian's share sheet says besides the words (all of it public)."""

    ceremony_id: str
    title: str
    """e.g. ``HSM user PIN share``."""
    subject: str
    """What the secret protects, e.g. ``token exr-root-r2 on HSM HSM-0005``."""
    custodian: str
    """The custodian's name as the script gives it."""
    member_index: int
    member_count: int
    threshold: int
    set_identifier: int
    check_value: str
    rehearsal: bool
    key_check_value: str | None = None
    """The KCV of a key-encryption key (backup sheets): six hex digits, printed beside the set's
    check value so the sheet names the KEK as the journal and the blob do."""


class SheetPrinter(Protocol):
    """Renders one custodian's share sheet and prints it (in a rehearsal: to a file)."""

    def print_share_sheet(self, sheet: ShareSheet, words: Sequence[str]) -> PrintJob: ...


@dataclass(frozen=True)
class QrProgress:
    """What a QR reception has so far, for the live grid: counts and notices, never payload."""

    source: str
    """Where the last image came from: ``camera 0``, ``scan.pdf page 2``, ``a.png``."""
    payload_type: str | None
    """Fixed by the first valid frame (e.g. ``CSR``), None before."""
    digest_hex: str | None
    """The message's SHA-256 (hex) from the first valid frame."""
    total: int | None
    """Frames in the message, None before the first valid frame."""
    received: tuple[int, ...]
    """1-based indices received so far, sorted."""
    repaired: tuple[int, ...]
    """Indices rebuilt from the parity frame (a subset of ``received``)."""
    notice: str | None
    """The latest refusal or remark, a sentence naming frame and source."""
    images: int
    """Images or camera frames looked at so far."""
    codes: int
    """QR codes decoded so far (valid or not)."""


class QrReceiver(Protocol):
    """Reassembles an object from QR frames (camera or image files) and checks its SHA-256."""

    def receive(
        self,
        sources: Sequence[str],
        payload_type: str,
        progress: Callable[[QrProgress], bool] | None = None,
    ) -> bytes:
        """The payload once every frame is in and its SHA-256 matches; TransferError otherwise.

        ``sources``: ``camera:N`` (live V4L2 capture until complete), image files, folders of
        images, PDFs. ``progress`` is called after every image or camera frame and on every
        notice; when it returns False the reception stops with TransferError("... stopped by the
        operator ..."). A frame of another message, a bad CRC, a wrong type, a duplicate: a notice,
        and the frame is ignored (never the whole reception aborted); a payload whose SHA-256
        fails: TransferError.
        """
        ...


class ArtifactStore(Protocol):
    """Where the ceremony's outputs are written, once: an existing file is never overwritten."""

    def write_once(self, name: str, data: bytes) -> str:
        """Write ``data`` under ``name``; raise OutputExistsError if it exists; return its path."""
        ...

    def require_absent(self, name: str) -> None:
        """Raise OutputExistsError if ``name`` already exists (checked before any HSM work)."""
        ...

    def set_aside(self, name: str, suffix: str) -> str | None:
        """Rename ``name`` (if it exists) to ``name`` + ``suffix``, never over a file; new path.

        Used when resuming: an output written by a step the journal does not show as done is kept
        (not overwritten, not deleted) under a new name, and the step makes it again.
        """
        ...


class Journal(Protocol):
    """The append-only, hash-chained ceremony journal."""

    def append(
        self,
        event: str,
        data: Mapping[str, Json],
        *,
        step: str | None = None,
        actors: Sequence[Actor] = (),
    ) -> JournalHead:
        """Append one entry and make it durable (fsync) before returning."""
        ...

    @property
    def head(self) -> JournalHead: ...

    def checkpoint(self, reason: str) -> JournalHead:
        """Sign the current head with the ceremony-log key (a ``journal.checkpoint`` entry)."""
        ...


class ReportRenderer(Protocol):
    """Renders the ceremony report from the journal alone."""

    def render_report(self) -> bytes:
        """The PDF bytes of the ceremony report for the journal as it stands now."""
        ...


@dataclass(frozen=True)
class PrinterCheck:
    """What the opening records about the printer as a material: its name and make and model."""

    printer: str
    make_and_model: str
    destination: str


class Printer(Protocol):
    def check(self) -> PrinterCheck:
        """Require the printer to be present and accepting jobs; say which it is (PrinterError)."""
        ...

    def print_document(self, title: str, pdf: bytes) -> PrintJob: ...


class RecordedEntry(Protocol):
    """A journal entry as the engine reads it back to resume an interrupted ceremony."""

    @property
    def seq(self) -> int: ...

    @property
    def event(self) -> str: ...

    @property
    def step(self) -> str | None: ...

    @property
    def data(self) -> Mapping[str, Json]: ...


class QrEncoder(Protocol):
    """Turns a payload into QR frames in the documented alphanumeric frame format."""

    def frames(self, payload: bytes, payload_type: str) -> list[str]: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


# ---------------------------------------------------------------------------------------------
# The operator port: how the engine asks the people in the room (TUI or rehearsal answers file)


@dataclass(frozen=True)
class Fact:
    """A labelled value shown to participants, e.g. a fingerprint in hex and in PGP words."""

    label: str
    value: str
    words: str | None = None


@dataclass(frozen=True)
class StepView:
    """What the operator needs to present one step."""

    index: int
    total: int
    step: StepBase
    performer_candidates: tuple[str, ...]
    """Participant ids who are present and hold the performer role."""
    witness_candidates: Mapping[str, tuple[str, ...]]
    """For each witness role: the participant ids present who hold it (excluding none)."""
    facts: tuple[Fact, ...] = ()


DeviationDecision = Literal["proceed", "skip", "retry", "abort"]


@dataclass(frozen=True)
class Deviation:
    """A departure from the script, and what was decided about it (EV-DEVIATION).

    ``proceed``: the step counts as done, deviating; ``skip``: the step is recorded as not
    performed (manual steps only); ``retry``: an action is run again; ``abort``: the ceremony stops.
    """

    expected: str
    observed: str
    decision: DeviationDecision
    decided_by: str
    """The participant who decided; must be present (and hold a deciding role if the script names
    them)."""
    note: str | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """Who performed a step and who witnessed it (one participant per witness role)."""

    performer: str
    witnesses: Mapping[str, str]
    """witness role id -> participant id."""
    matches: bool = True
    """For a witness check: did what was seen match what was expected."""
    observed: str | None = None
    """For a witness check that did not match: what was seen instead."""
    deviation: Deviation | None = None
    """A deviation the room recorded at this step instead of (or while) doing it as scripted."""


@dataclass(frozen=True)
class SignOff:
    """One participant's statement at sign-off (EV-SIGNOFF)."""

    participant: str
    followed: bool
    """Was the script followed (deviations recorded in the journal count as followed)."""
    comment: str | None = None


@dataclass(frozen=True)
class Attendance:
    """The participants present at the opening; the ceremony proceeds with these."""

    present: tuple[str, ...]
    performer: str
    witnesses: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The result of an automated action, shown to the room before moving on."""

    headline: str
    facts: tuple[Fact, ...] = ()


class Operator(Protocol):
    """Answers the engine's questions. Methods block until the people in the room answer."""

    def ceremony_started(self, script: Script, script_sha256: str, rehearsal: bool) -> None: ...

    def attendance(self, view: StepView, script: Script) -> Attendance: ...

    def acknowledge(self, view: StepView) -> Acknowledgement:
        """Acknowledge a manual or witness-check step, or authorise an action before it runs."""
        ...

    def secret(self, view: StepView, prompt: str, attempt: int, attempts_left: int) -> str:
        """A secret typed by the performer (a PIN). It is used once and never stored."""
        ...

    def working(self, view: StepView, message: str) -> AbstractContextManager[None]:
        """Show that long work (e.g. key generation) is under way until the context exits."""
        ...

    def outcome(self, view: StepView, outcome: Outcome) -> None:
        """Show an action's result; return when the room has seen it."""
        ...

    def show_qr(
        self, view: StepView, title: str, frames: Sequence[str], facts: Sequence[Fact]
    ) -> None:
        """Show QR frames (animated if more than one) with the payload's facts until dismissed."""
        ...

    def qr_sources(self, view: StepView, input_id: str, description: str) -> Sequence[str]:
        """Where the QR codes of an import come from: ``camera:N``, image files or a PDF."""
        ...

    def qr_progress(self, view: StepView, progress: QrProgress) -> bool:
        """Show how far the reception is (the grid of frames, the latest notice); False stops it.

        Called from the engine's worker thread, inside ``working``, after every image or camera
        frame the receiver looked at and on every notice. It must return quickly.
        """
        ...

    def witness_input(self, view: StepView, title: str, facts: Sequence[Fact]) -> Acknowledgement:
        """The witnesses compare an object taken in with their paperwork before it is used.

        ``facts``: its SHA-256 and what the check found (subject, key, fingerprint). ``matches``
        False refuses it (``observed`` says what differed): the object is not used.
        """
        ...

    def custodian_ready(self, view: StepView, custodian: str, what: str) -> None:
        """Block until ``custodian`` (a participant id) stands at the printer for ``what``."""
        ...

    def share_words(  # noqa: PLR0917 - the engine's question has these parts
        self,
        view: StepView,
        custodian: str,
        what: str,
        attempt: int,
        attempts_left: int,
        refused: str | None,
    ) -> str:
        """The words of ``custodian``'s share of ``what``, typed by them unseen (secret).

        ``refused`` says why the previous attempt was refused (it never holds a word).
        """
        ...

    def text(self, view: StepView, prompt: str, attempt: int) -> str:
        """A value typed by the performer: an entry or confirmation words (journaled, not secret).

        Entries are bag serials, device serials, times and the clock offset.
        """
        ...

    def break_started(self, view: StepView) -> Sequence[str]:
        """Who leaves the room for the break (participant ids)."""
        ...

    def break_ended(self, view: StepView, away: Sequence[str]) -> Sequence[str]:
        """Block until the break ends; who of ``away`` has returned."""
        ...

    def sign_off(self, view: StepView, participants: Sequence[str]) -> Sequence[SignOff]:
        """One statement from each participant present."""
        ...

    def action_failed(self, view: StepView, problem: str) -> Deviation:
        """An action or entry could not be completed: the room decides what now, and who decided.

        An action may be retried or the ceremony aborted; a refused entry may proceed or abort.
        """
        ...

    def ceremony_finished(self, summary: Outcome) -> None: ...

    def ceremony_failed(self, reason: str) -> None: ...
