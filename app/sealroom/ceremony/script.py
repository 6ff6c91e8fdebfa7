"""The ceremony script model: frozen, strict values validated before anything happens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", min_length=1, max_length=63)
]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
FileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]

KeyAlgorithm = Literal["rsa-3072", "rsa-4096", "ec-p256", "ec-p384"]
KeyPurpose = Literal["certificate-signing", "crl-signing", "ocsp-signing"]
MaterialKind = Literal["hsm", "workstation", "printer", "media", "smartcard", "camera", "other"]
ActionName = Literal[
    "hsm-login",
    "generate-key",
    "sign-root-certificate",
    "show-qr",
    "hsm-logout",
    "print-report",
]

# Which step parameters each action requires, and what each parameter refers to.
ACTION_PARAMS: dict[str, dict[str, str]] = {
    "hsm-login": {},
    "generate-key": {"key": "keys"},
    "sign-root-certificate": {"certificate": "certificates"},
    "show-qr": {"certificate": "certificates"},
    "hsm-logout": {},
    "print-report": {},
}


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
    physical_security: tuple[NonEmpty, ...] = Field(min_length=1)


class Ceremony(Frozen):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    type: Literal["root-key-generation"]
    title: NonEmpty
    objectives: tuple[NonEmpty, ...] = Field(min_length=1)
    cps: CpsReference
    location: Location


class Role(Frozen):
    id: Identifier
    name: NonEmpty
    trusted: bool
    internal: bool
    duties: NonEmpty


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


class HsmSettings(Frozen):
    material: Identifier
    token_label: Label
    max_pin_attempts: int = Field(default=3, ge=1, le=10)


class KeySpec(Frozen):
    id: Identifier
    label: Label
    algorithm: KeyAlgorithm
    purpose: tuple[KeyPurpose, ...] = Field(min_length=1)
    backup: bool = False


class Subject(Frozen):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    organization: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    organizational_unit: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = (
        None
    )
    common_name: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CertificateSpec(Frozen):
    id: Identifier
    profile: Literal["root"]
    key: Identifier
    subject: Subject
    not_before: AwareDatetime
    not_after: AwareDatetime
    output: FileName


class Compare(Frozen):
    look_at: NonEmpty
    expected: NonEmpty


class StepBase(Frozen):
    id: Identifier
    title: NonEmpty
    instruction: NonEmpty
    performer: Identifier
    witnesses: tuple[Identifier, ...] = ()


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


Step = Annotated[
    AttendanceStep | AcknowledgeStep | WitnessCheckStep | ActionStep, Field(discriminator="kind")
]


class Script(Frozen):
    sealroom: Literal[1]
    ceremony: Ceremony
    roles: tuple[Role, ...] = Field(min_length=1)
    participants: tuple[Participant, ...] = Field(min_length=1)
    materials: tuple[Material, ...] = Field(min_length=1)
    hsm: HsmSettings
    keys: tuple[KeySpec, ...] = ()
    certificates: tuple[CertificateSpec, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

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

    def holders_of(self, role_id: str) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if role_id in p.roles)


def utc_text(moment: datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC with a ``Z`` suffix and no fraction."""
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
