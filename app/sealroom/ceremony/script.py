"""The ceremony script model: frozen, strict values validated before anything happens."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", min_length=1, max_length=63)
]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]

CeremonyType = Literal[
    "root-key-generation",
    "parked-key-generation",
    "subordinate-ca-signing",
    "cross-certificate",
    "root-csr",
    "crl-issuance",
    "ocsp-responder-certificate",
    "key-backup",
    "key-recovery",
    "key-migration",
    "custodian-change",
    "key-destruction",
    "key-transport-departure",
    "key-transport-arrival",
    "hsm-intake",
    "hsm-initialisation",
    "key-compromise-response",
    "periodic-inspection",
]
KeyAlgorithm = Literal["rsa-3072", "rsa-4096", "ec-p256", "ec-p384", "ec-p521", "ed25519"]
KeyPurpose = Literal["certificate-signing", "crl-signing", "ocsp-signing"]
MaterialKind = Literal["hsm", "workstation", "printer", "media", "smartcard", "camera", "other"]
ActionName = Literal[
    "hsm-login",
    "hsm-logout",
    "generate-key",
    "sign-root-certificate",
    "show-qr",
    "print-report",
    "verify-software",
    "inventory-token",
    "initialise-token",
    "sign-certificate",
    "make-csr",
    "sign-crl",
    "import-qr",
    "export-qr",
    "backup-key",
    "restore-test",
    "recover-key",
    "resplit-backup",
    "destroy-key",
    "zeroise-token",
]

# Which step parameters each action requires, and which script section each refers to
# ("" for a free value).
ACTION_PARAMS: dict[str, dict[str, str]] = {
    "hsm-login": {},
    "hsm-logout": {},
    "generate-key": {"key": "keys"},
    "sign-root-certificate": {"certificate": "certificates"},
    "show-qr": {"certificate": "certificates"},
    "print-report": {},
    "verify-software": {},
    "inventory-token": {},
    "initialise-token": {},
    "sign-certificate": {"certificate": "certificates"},
    "make-csr": {"csr": "csrs"},
    "sign-crl": {"crl": "crls"},
    "import-qr": {"input": "inputs"},
    "export-qr": {"artifact": ""},
    "backup-key": {"backup": "backups"},
    "restore-test": {"backup": "backups"},
    "recover-key": {"backup": "backups"},
    "resplit-backup": {"backup": "backups"},
    "destroy-key": {"key": "keys"},
    "zeroise-token": {},
}

# Actions this version of Sealroom performs; a script using another lints clean but does not run
# (the engine refuses it before the first step). Later issues add to this set.
AVAILABLE_ACTIONS: frozenset[str] = frozenset(
    {
        "hsm-login",
        "hsm-logout",
        "generate-key",
        "sign-root-certificate",
        "show-qr",
        "print-report",
        "inventory-token",
        "import-qr",
        "export-qr",
        "sign-certificate",
        "make-csr",
        "sign-crl",
        "destroy-key",
        "zeroise-token",
        "initialise-token",
        "backup-key",
        "restore-test",
        "recover-key",
        "resplit-backup",
    }
)

# Irreversible actions: each step running one must carry a typed confirmation (lint S-CONFIRM).
DESTRUCTIVE_ACTIONS: frozenset[str] = frozenset(
    {"destroy-key", "zeroise-token", "initialise-token"}
)

# What a CA key may be used for (EV-KEY-PURPOSE): the only actions that sign with it.
SIGNING_ACTIONS: frozenset[str] = frozenset(
    {"sign-root-certificate", "sign-certificate", "make-csr", "sign-crl"}
)

# export-qr's artifact for the journal head as the step begins (docs/journal-events.md, qr.shown):
# a fixed word, never the id of something the script makes.
JOURNAL_HEAD = "journal-head"

EvidenceId = Literal[
    "EV-SCRIPT",
    "EV-APPROVAL",
    "EV-TYPE",
    "EV-CPS",
    "EV-ROLES",
    "EV-TRUSTED",
    "EV-ATTEND",
    "EV-WITNESS",
    "EV-PHYSICAL",
    "EV-MATERIALS",
    "EV-DEVICE",
    "EV-SETTINGS",
    "EV-INTEGRITY",
    "EV-TEB",
    "EV-CLOCK",
    "EV-LOG",
    "EV-STEPS",
    "EV-COLLECTED",
    "EV-DEVIATION",
    "EV-CUSTODY",
    "EV-KEY-ID",
    "EV-KEY-ALG",
    "EV-KEY-FPR",
    "EV-KEY-PARKED",
    "EV-KEY-DATE",
    "EV-KEY-PURPOSE",
    "EV-ARTIFACTS",
    "EV-BACKUP",
    "EV-QUORUM",
    "EV-RESTORE",
    "EV-DESTROY",
    "EV-MIGRATE",
    "EV-TRANSPORT",
    "EV-SIGNOFF",
    "EV-REPORT",
]


class Frozen(BaseModel):
    """Base of every script value: immutable, unknown keys rejected, no coercion of strings."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, str_strip_whitespace=True)


class CpsReference(Frozen):
    document: NonEmpty
    version: NonEmpty
    section: NonEmpty


class Location(Frozen):
    site: NonEmpty
    room: NonEmpty
    physical_security: tuple[NonEmpty, ...] = ()
    """Barriers, access control and logging of the room (WebTrust 4.1.5(e), EV-PHYSICAL)."""


class Approval(Frozen):
    """Management approval to hold the ceremony (WebTrust 4.1.5(b), EV-APPROVAL)."""

    approved_by: NonEmpty
    role: NonEmpty
    date: date
    reference: NonEmpty


class Ceremony(Frozen):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    type: CeremonyType
    title: NonEmpty
    objectives: tuple[NonEmpty, ...] = ()
    cps: CpsReference | None = None
    location: Location
    approval: Approval | None = None


class Role(Frozen):
    id: Identifier
    name: NonEmpty
    trusted: bool
    internal: bool
    duties: NonEmpty
    """What the role does during the ceremony."""
    after: NonEmpty | None = None
    """Duties after the ceremony (WebTrust 4.1.5(a)), e.g. holding a share or a safe key."""
    acts: dict[Identifier, NonEmpty] = Field(default_factory=dict)
    """What the role does in each act, by act id."""


class Quorum(Frozen):
    """m of n holders of a role must act together (WebTrust 4.4.1, EV-QUORUM)."""

    id: Identifier
    role: Identifier
    threshold: int = Field(ge=1)
    purpose: NonEmpty


class Act(Frozen):
    """A phase of the ceremony; its steps name it in their ``act`` field."""

    id: Identifier
    title: NonEmpty


class Custody(Frozen):
    """Where an item is kept after the ceremony (WebTrust 4.1.5(f), EV-CUSTODY)."""

    item: Identifier
    """A material id, or a backup share id."""
    bag: NonEmpty | None = None
    location: NonEmpty
    holder: Identifier
    """The participant responsible for it."""


class DeviationPolicy(Frozen):
    """Who decides when the ceremony departs from the script (WebTrust 4.1.5(h))."""

    decided_by: tuple[Identifier, ...] = Field(min_length=1)
    """Role ids; one holder of any of them decides and is journaled."""
    procedure: NonEmpty


class EvidenceItem(Frozen):
    """Something to collect during the ceremony (EV-COLLECTED)."""

    id: Identifier
    description: NonEmpty


class Participant(Frozen):
    id: Identifier
    name: NonEmpty
    roles: tuple[Identifier, ...] = Field(min_length=1)


class Material(Frozen):
    id: Identifier
    kind: MaterialKind
    description: NonEmpty
    model: NonEmpty
    serial: NonEmpty
    bag_in: NonEmpty | None = None
    bag_out: NonEmpty | None = None


class ShareHolder(Frozen):
    share: Identifier
    """The share's id, used by custody entries."""
    custodian: Identifier
    """A participant id."""


class PinSplit(Frozen):
    """A PIN made at random at initialisation and split k-of-n with SLIP-39 (m-of-n activation).

    Nobody ever knows the PIN: ``threshold`` custodians type the words of their share sheets and
    the workstation combines them (EV-QUORUM).
    """

    threshold: int = Field(ge=1)
    shares: tuple[ShareHolder, ...] = Field(min_length=1, max_length=16)
    check_value: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{6}$")] | None = None
    """The check value printed on the share sheets at initialisation: a combination of shares
    from another set is refused before the token sees a PIN."""
    set_identifier: int | None = Field(default=None, ge=0, lt=1 << 15)
    """The SLIP-39 set identifier printed on the sheets (optional, like ``check_value``)."""


class Activation(Frozen):
    """How the token's PINs are held when the token has no m-of-n activation of its own."""

    user_pin: PinSplit
    so_pin: PinSplit | None = None


class HsmSettings(Frozen):
    material: Identifier
    token_label: Label
    max_pin_attempts: int = Field(default=3, ge=1, le=10)
    activation: Activation | None = None
    """m-of-n activation: the PINs are split among custodians (absent: a PIN is typed)."""


class KeySpec(Frozen):
    id: Identifier
    label: Label
    algorithm: KeyAlgorithm
    purpose: tuple[KeyPurpose, ...] = Field(min_length=1)
    backup: bool = False
    uri: Annotated[str, StringConstraints(pattern=r"^pkcs11:[^\s]*$", max_length=512)] | None = None
    """RFC 7512 URI of a key made in an earlier ceremony (e.g. ``pkcs11:object=...;id=%01%02``):
    when given, the key is found by it rather than by ``label`` alone."""


class Subject(Frozen):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    organization: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    organizational_unit: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = (
        None
    )
    common_name: Annotated[str, StringConstraints(min_length=1, max_length=64)]


HttpUrl = Annotated[str, StringConstraints(pattern=r"^http://[A-Za-z0-9.-]+(:[0-9]+)?/[ -~]*$")]
"""A plain-HTTP URL, as RFC 5280 and the Baseline Requirements want for CRL and AIA locations."""
PolicyOid = Annotated[str, StringConstraints(pattern=r"^[0-2](\.(0|[1-9][0-9]*))+$")]
ExtendedKeyUsage = Literal["server-auth", "client-auth", "code-signing", "email-protection"]
LintProfile = Literal["rfc5280", "cabf-serverauth", "etsi"]
"""pkilint validations a profile asks for: RFC 5280 always; CA/B Forum TLS BR; ETSI EN 319 412."""


class CertificateSpec(Frozen):
    id: Identifier
    profile: Literal["root", "subordinate-ca", "cross-certificate", "ocsp-responder"]
    key: Identifier
    """The key that signs (for a root, also the key certified)."""
    subject: Subject | None = None
    """The subject; for profiles certifying a CSR or certificate, taken from ``subject_from``."""
    subject_from: Identifier | None = None
    """An input (CSR or certificate) whose public key and subject are certified."""
    issuer_certificate: Identifier | None = None
    """The input or certificate of the issuing CA (all profiles but root)."""
    path_length: int | None = Field(default=None, ge=0)
    not_before: AwareDatetime
    not_after: AwareDatetime
    output: FileName
    crl_urls: tuple[HttpUrl, ...] = ()
    """cRLDistributionPoints of the issuing CA (subordinate, cross and OCSP-responder profiles)."""
    ca_issuers_urls: tuple[HttpUrl, ...] = ()
    """authorityInfoAccess caIssuers: where the issuing CA's certificate is published."""
    ocsp_urls: tuple[HttpUrl, ...] = ()
    """authorityInfoAccess OCSP: the issuing CA's OCSP responder."""
    policies: tuple[PolicyOid, ...] = ()
    """certificatePolicies OIDs (2.5.29.32.0 is anyPolicy)."""
    extended_key_usage: tuple[ExtendedKeyUsage, ...] = ()
    """EKU of a subordinate CA certificate (BR 7.1.2.10.6 for TLS subordinates)."""
    lint: tuple[LintProfile, ...] = ("rfc5280",)
    """What pkilint checks the certificate against before and after the HSM signs it."""


class CsrSpec(Frozen):
    """A certificate signing request made with a key in the HSM (e.g. a root to be cross-signed)."""

    id: Identifier
    key: Identifier
    subject: Subject
    output: FileName


class RevokedEntry(Frozen):
    serial: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,40}$")]
    revoked_at: AwareDatetime
    reason: Literal[
        "unspecified",
        "key-compromise",
        "ca-compromise",
        "affiliation-changed",
        "superseded",
        "cessation-of-operation",
    ]


class CrlSpec(Frozen):
    id: Identifier
    key: Identifier
    issuer_certificate: Identifier
    number: int = Field(ge=1)
    this_update: AwareDatetime
    next_update: AwareDatetime
    max_validity_days: int = Field(default=365, ge=1, le=366)
    """Longest nextUpdate - thisUpdate the profile allows (BR 4.9.7: 12 months for a root)."""
    revoked: tuple[RevokedEntry, ...] = ()
    output: FileName
    lint: tuple[LintProfile, ...] = ("rfc5280",)


class InputSpec(Frozen):
    """Something the ceremony takes in through the air gap (a CSR, a certificate, a blob)."""

    id: Identifier
    kind: Literal["csr", "certificate", "backup-blob", "journal-head"]
    description: NonEmpty
    expected_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class RecoverySpec(Frozen):
    """What the backup ceremony recorded of a backup, stated for its recovery in a later one.

    Copied from that ceremony's ``backup.made`` journal entry and report (docs/backup.md): the
    recovery refuses shares, a blob or a key that do not match these values.
    """

    made_in: NonEmpty
    """The id of the ceremony that made the backup (e.g. EXR-KBK-2027-07)."""
    check_value: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{6}$")]
    """The key check value (KCV) of the key-encryption key, as printed on every share sheet."""
    blob_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 of the blob file, as the backup ceremony's report prints it."""
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 of the key's DER SubjectPublicKeyInfo, as the key inventory gives it."""
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/=\s]+$")]
    """The key's DER SubjectPublicKeyInfo in base64 (``spki_der_b64`` of ``backup.made``)."""
    set_identifier: int | None = Field(default=None, ge=0, lt=32768)
    """The SLIP-39 set identifier printed on the share sheets (then a share of another set is
    refused by it even when it is the first one typed)."""


class ResplitSpec(Frozen):
    """The share set a resplit-backup replaces: its holders as the backup ceremony recorded them.

    ``combine`` old holders type their shares; the key-encryption key they give must have the
    backup's stated check value (``recovery.check_value``); it is then split anew among the
    backup's ``shares`` with its ``threshold``, and this whole set is declared void in the journal
    (``shares.voided``). Lint S-RESPLIT checks it.
    """

    reason: NonEmpty
    """Why the set is replaced (e.g. a custodian left), journaled with the voided set."""
    old_threshold: int = Field(ge=1)
    """The old set's threshold, as printed on its sheets."""
    old_shares: tuple[ShareHolder, ...] = Field(min_length=1, max_length=16)
    """The old set's holders in member order (share i of n is old_shares[i - 1])."""
    old_set_identifier: int | None = Field(default=None, ge=0, lt=32768)
    """The old set's SLIP-39 identifier, as printed on its sheets."""
    old_check_value: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{6}$")] | None = None
    """The old share set's check value, as printed on its sheets (not the KEK's KCV)."""
    combine: tuple[Identifier, ...] = Field(min_length=1)
    """The old holders (participant ids, exactly ``old_threshold`` of them) who type their
    shares: the script, not the room, chooses them."""


class BackupSpec(Frozen):
    """A CA key wrapped under a key-encryption key split k-of-n with SLIP-39 (EV-BACKUP)."""

    id: Identifier
    key: Identifier
    threshold: int = Field(ge=1)
    shares: tuple[ShareHolder, ...] = Field(min_length=1)
    media: tuple[Identifier, ...] = Field(min_length=1)
    """Material ids of the media the wrapped blob is written to."""
    restore_test_token: Identifier | None = None
    """Material id of the token the restore test unwraps into."""
    restore_test_custodians: tuple[Identifier, ...] = ()
    """The custodians (participant ids, exactly ``threshold`` of the share holders) who re-enter
    their shares in the restore test: the script, not the room, chooses them."""
    recovery: RecoverySpec | None = None
    """For recover-key of a backup made in an earlier ceremony: what that ceremony recorded. A
    backup made in the same script (a migration) needs none: the engine has ``backup.made``."""
    resplit: ResplitSpec | None = None
    """For resplit-backup: the share set being replaced (``shares`` and ``threshold`` then name
    the new set). Needs ``recovery`` (the KCV, blob SHA-256 and public key checked)."""


class Compare(Frozen):
    look_at: NonEmpty
    expected: NonEmpty


class StepBase(Frozen):
    id: Identifier
    title: NonEmpty
    instruction: NonEmpty
    performer: Identifier
    witnesses: tuple[Identifier, ...] = ()
    act: Identifier | None = None
    """The act (phase) this step belongs to; steps of one act are contiguous."""
    evidence: tuple[EvidenceId, ...] = ()
    """Evidence items this step produces, beyond what its kind or action produces by itself."""


class AttendanceStep(StepBase):
    kind: Literal["attendance"]


class AcknowledgeStep(StepBase):
    kind: Literal["acknowledge"]


class WitnessCheckStep(StepBase):
    kind: Literal["witness-check"]
    compare: Compare


class ActionStep(StepBase):
    kind: Literal["action"]
    action: ActionName
    params: dict[Identifier, Identifier] = Field(default_factory=dict)
    confirm: NonEmpty | None = None
    """Exact words the performer types before an irreversible action runs."""


class ExpectedValue(Frozen):
    """Where the value typed in an entry step must come from (it must match it exactly)."""

    material: Identifier
    field: Literal["serial", "bag_in", "bag_out"]


class EntrySpec(Frozen):
    label: NonEmpty
    format: Literal["bag-serial", "serial", "time", "clock-offset", "text"]
    expect: ExpectedValue | None = None
    twice: bool = False
    """Ask for the value twice (a typing slip is caught before it is journaled)."""


class EntryStep(StepBase):
    """A typed value: a bag serial, a device serial, a time, the clock offset."""

    kind: Literal["entry"]
    entry: EntrySpec


class ConfirmStep(StepBase):
    """A typed confirmation for an irreversible manual act: the performer types the exact words."""

    kind: Literal["confirm"]
    words: NonEmpty


class BreakStep(StepBase):
    """A break: who left and who returned are recorded; on resume the listed bags are re-checked."""

    kind: Literal["break"]
    recheck_bags: tuple[Identifier, ...] = ()
    """Material ids whose bag serial (bag_out, else bag_in) is typed again on resume."""


class SignOffStep(StepBase):
    """Every participant present states whether the script was followed (EV-SIGNOFF)."""

    kind: Literal["sign-off"]


Step = Annotated[
    AttendanceStep
    | AcknowledgeStep
    | WitnessCheckStep
    | ActionStep
    | EntryStep
    | ConfirmStep
    | BreakStep
    | SignOffStep,
    Field(discriminator="kind"),
]


class Script(Frozen):
    sealroom: Literal[1]
    ceremony: Ceremony
    roles: tuple[Role, ...] = ()
    participants: tuple[Participant, ...] = ()
    quorums: tuple[Quorum, ...] = ()
    materials: tuple[Material, ...] = ()
    hsm: HsmSettings | None = None
    keys: tuple[KeySpec, ...] = ()
    certificates: tuple[CertificateSpec, ...] = ()
    csrs: tuple[CsrSpec, ...] = ()
    crls: tuple[CrlSpec, ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    backups: tuple[BackupSpec, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    custody: tuple[Custody, ...] = ()
    deviations: DeviationPolicy | None = None
    acts: tuple[Act, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

    def hsm_required(self) -> HsmSettings:
        """The HSM settings; a script without an ``hsm`` section cannot use a token."""
        if self.hsm is None:
            from sealroom.errors import ScriptError

            raise ScriptError("The script has no 'hsm' section, so it cannot use a token.")
        return self.hsm

    def role(self, role_id: str) -> Role:
        return next(r for r in self.roles if r.id == role_id)

    def participant(self, participant_id: str) -> Participant:
        return next(p for p in self.participants if p.id == participant_id)

    def key(self, key_id: str) -> KeySpec:
        return next(k for k in self.keys if k.id == key_id)

    def certificate(self, certificate_id: str) -> CertificateSpec:
        return next(c for c in self.certificates if c.id == certificate_id)

    def material(self, material_id: str) -> Material:
        return next(m for m in self.materials if m.id == material_id)

    def csr(self, csr_id: str) -> CsrSpec:
        return next(c for c in self.csrs if c.id == csr_id)

    def crl(self, crl_id: str) -> CrlSpec:
        return next(c for c in self.crls if c.id == crl_id)

    def input(self, input_id: str) -> InputSpec:
        return next(i for i in self.inputs if i.id == input_id)

    def holders_of(self, role_id: str) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if role_id in p.roles)


def utc_text(moment: datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC with a ``Z`` suffix and no fraction."""
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
