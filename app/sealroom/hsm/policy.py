"""The attribute policy for CA key pairs: templates sent to the token, checks of what it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pkcs11 import Attribute
from pkcs11.constants import DEFAULT

from sealroom.errors import HsmError
from sealroom.hsm.algorithms import KeyAlgorithmProfile

# The private key's boolean attributes that are read back, checked and recorded (EV-KEY-*).
PRIVATE_KEY_FLAGS: Final[tuple[Attribute, ...]] = (
    Attribute.TOKEN,
    Attribute.PRIVATE,
    Attribute.LOCAL,
    Attribute.SENSITIVE,
    Attribute.ALWAYS_SENSITIVE,
    Attribute.EXTRACTABLE,
    Attribute.NEVER_EXTRACTABLE,
    Attribute.SIGN,
    Attribute.SIGN_RECOVER,
    Attribute.DECRYPT,
    Attribute.UNWRAP,
    Attribute.DERIVE,
)
PUBLIC_KEY_FLAGS: Final[tuple[Attribute, ...]] = (
    Attribute.TOKEN,
    Attribute.PRIVATE,
    Attribute.LOCAL,
    Attribute.VERIFY,
    Attribute.VERIFY_RECOVER,
    Attribute.ENCRYPT,
    Attribute.WRAP,
    Attribute.DERIVE,
)
_IDENTITY: Final[tuple[Attribute, ...]] = (
    Attribute.KEY_TYPE,
    Attribute.LABEL,
    Attribute.ID,
    Attribute.KEY_GEN_MECHANISM,
)
_RSA_PUBLIC: Final[tuple[Attribute, ...]] = (
    Attribute.MODULUS,
    Attribute.MODULUS_BITS,
    Attribute.PUBLIC_EXPONENT,
)
_RSA_PRIVATE: Final[tuple[Attribute, ...]] = (Attribute.MODULUS, Attribute.PUBLIC_EXPONENT)
_EC_PUBLIC: Final[tuple[Attribute, ...]] = (Attribute.EC_PARAMS, Attribute.EC_POINT)
_EC_PRIVATE: Final[tuple[Attribute, ...]] = (Attribute.EC_PARAMS,)


KeyOrigin = Literal["generated", "recovered"]
"""How a key pair came to be on the token: ``generated`` in it (CKA_LOCAL true), or ``recovered``:
unwrapped from a backup blob, with its public half created from the blob's SubjectPublicKeyInfo
(CKA_LOCAL false on both halves)."""


def accepted_origins(backup: bool) -> tuple[KeyOrigin, ...]:
    """THE rule for which keys a script key may be (docs/hsm.md, "Backed-up and recovered keys").

    A key without ``backup: true`` must have been generated in this token and never been
    extractable. A key with ``backup: true`` is either the generated original (extractable, so
    that C_WrapKey can wrap it, and still sensitive) or a copy recovered from its backup
    (unwrapped: sensitive, not extractable, not local). Nothing looser is accepted, and a recovered
    key is never accepted for a script key that does not say it is backed up.
    """
    return ("generated", "recovered") if backup else ("generated",)


def require_accepted_origin(origin: KeyOrigin, backup: bool, label: str) -> None:
    """Raise HsmError unless ``accepted_origins(backup)`` holds ``origin`` (checked first)."""
    if origin not in accepted_origins(backup):
        raise HsmError(
            f"The key '{label}' on the token was recovered from a backup (it was unwrapped, not "
            "generated in this token), but the script does not declare it backed up. Sealroom "
            "accepts a recovered key only for a key the script marks backup: true."
        )


def expected_private_flags(
    backup: bool, origin: KeyOrigin = "generated", *, token: bool = True
) -> dict[Attribute, bool]:
    """The private key may sign and nothing else; it is extractable (wrapped) only for a backup.

    A recovered key is never extractable again (it cannot be wrapped a second time) and the token
    reports it as not local, not always sensitive and not never-extractable, as PKCS#11 requires
    for an unwrapped key. ``token`` is false for the session objects of restore tests and proofs.
    """
    generated = origin == "generated"
    return {
        Attribute.TOKEN: token,
        Attribute.PRIVATE: True,
        Attribute.LOCAL: generated,
        Attribute.SENSITIVE: True,
        Attribute.ALWAYS_SENSITIVE: generated,
        Attribute.EXTRACTABLE: generated and backup,
        Attribute.NEVER_EXTRACTABLE: generated and not backup,
        Attribute.SIGN: True,
        Attribute.SIGN_RECOVER: False,
        Attribute.DECRYPT: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    }


def expected_public_flags(
    origin: KeyOrigin = "generated", *, token: bool = True
) -> dict[Attribute, bool]:
    """The public key may verify and nothing else (a recovered one was created, not local)."""
    return {
        Attribute.TOKEN: token,
        Attribute.PRIVATE: False,
        Attribute.LOCAL: origin == "generated",
        Attribute.VERIFY: True,
        Attribute.VERIFY_RECOVER: False,
        Attribute.ENCRYPT: False,
        Attribute.WRAP: False,
        Attribute.DERIVE: False,
    }


# Attributes the token sets itself (or that only it may set) are checked but not requested.
_TOKEN_SET: Final = frozenset(
    {Attribute.LOCAL, Attribute.ALWAYS_SENSITIVE, Attribute.NEVER_EXTRACTABLE}
)


def private_template(backup: bool) -> dict[Attribute, Any]:
    """Every capability stated explicitly: python-pkcs11's defaults would allow DECRYPT/UNWRAP."""
    return {k: v for k, v in expected_private_flags(backup).items() if k not in _TOKEN_SET}


# python-pkcs11's unwrap template sets every capability, including ones a private key does not
# have (SoftHSM then answers AttributeTypeInvalid); DEFAULT drops them from the template.
_NOT_PRIVATE_KEY_ATTRIBUTES: Final = (Attribute.ENCRYPT, Attribute.VERIFY, Attribute.WRAP)


def unwrap_private_template(*, token: bool) -> dict[Attribute, Any]:
    """The template of a private key unwrapped from a backup: sensitive, not extractable, sign only.

    ``token`` false makes a session object (restore tests, wrap proofs); true a token object.
    """
    flags = expected_private_flags(backup=False, origin="recovered", token=token)
    template: dict[Attribute, Any] = {k: v for k, v in flags.items() if k not in _TOKEN_SET}
    template.update(dict.fromkeys(_NOT_PRIVATE_KEY_ATTRIBUTES, DEFAULT))
    return template


def recovered_public_template(*, token: bool) -> dict[Attribute, Any]:
    """The capabilities of the public half created (C_CreateObject) for a recovered key."""
    flags = expected_public_flags(origin="recovered", token=token)
    return {k: v for k, v in flags.items() if k not in _TOKEN_SET}


def public_template(profile: KeyAlgorithmProfile) -> dict[Attribute, Any]:
    """The public key's template, with the RSA size and exponent or the EC curve."""
    template: dict[Attribute, Any] = {
        k: v for k, v in expected_public_flags().items() if k not in _TOKEN_SET
    }
    if profile.public_exponent is not None:
        template[Attribute.MODULUS_BITS] = profile.size_bits
        template[Attribute.PUBLIC_EXPONENT] = int_bytes(profile.public_exponent)
    if profile.ec_params is not None:
        template[Attribute.EC_PARAMS] = profile.ec_params
    return template


def _identity(origin: KeyOrigin) -> tuple[Attribute, ...]:
    # An unwrapped or created object has no generation mechanism: the token answers
    # CK_UNAVAILABLE_INFORMATION, which python-pkcs11 cannot decode, so it is not read.
    if origin == "generated":
        return _IDENTITY
    return tuple(a for a in _IDENTITY if a != Attribute.KEY_GEN_MECHANISM)


def private_read_back(
    profile: KeyAlgorithmProfile, origin: KeyOrigin = "generated"
) -> list[Attribute]:
    """The private-key attributes read after generation (never a sensitive one)."""
    extra = _RSA_PRIVATE if profile.key_type == "RSA" else _EC_PRIVATE
    return [*PRIVATE_KEY_FLAGS, *_identity(origin), *extra]


def public_read_back(
    profile: KeyAlgorithmProfile, origin: KeyOrigin = "generated"
) -> list[Attribute]:
    """The public-key attributes read after generation."""
    extra = _RSA_PUBLIC if profile.key_type == "RSA" else _EC_PUBLIC
    return [*PUBLIC_KEY_FLAGS, *_identity(origin), *extra]


@dataclass(frozen=True)
class ReadBack:
    """What the token reported about a freshly generated pair, checked against the policy."""

    private: Mapping[Attribute, Any]
    public: Mapping[Attribute, Any]

    def flags(self) -> dict[str, bool]:
        """The private key's boolean attributes by PKCS#11 name without ``CKA_`` (for KeyRecord)."""
        return {attribute.name: bool(self.private[attribute]) for attribute in PRIVATE_KEY_FLAGS}


def policy_findings(
    read_back: ReadBack,
    profile: KeyAlgorithmProfile,
    *,
    backup: bool,
    label: str,
    cka_id: bytes,
    origin: KeyOrigin = "generated",
    token: bool = True,
) -> list[str]:
    """Every way the read-back pair differs from the policy, as phrases; empty when it complies.

    ``origin`` says which policy applies (``accepted_origins`` decides which may be asked for).
    """
    findings: list[str] = []

    def compare(side: str, attrs: Mapping[Attribute, Any], attribute: Attribute, want: Any) -> None:
        if attribute not in attrs:
            findings.append(f"{side} {attribute.name} could not be read")
        elif attrs[attribute] != want:
            findings.append(f"{side} {attribute.name} is {attrs[attribute]!r}, expected {want!r}")

    key_type = profile.pkcs11_key_type
    for side, attrs, flags in (
        ("private key", read_back.private, expected_private_flags(backup, origin, token=token)),
        ("public key", read_back.public, expected_public_flags(origin, token=token)),
    ):
        for attribute, want in flags.items():
            compare(side, attrs, attribute, want)
        compare(side, attrs, Attribute.KEY_TYPE, key_type)
        compare(side, attrs, Attribute.LABEL, label)
        compare(side, attrs, Attribute.ID, cka_id)
        if origin == "generated":
            compare(side, attrs, Attribute.KEY_GEN_MECHANISM, profile.mechanism)
        if profile.public_exponent is not None:
            compare(side, attrs, Attribute.PUBLIC_EXPONENT, int_bytes(profile.public_exponent))
        if profile.ec_params is not None:
            params = attrs.get(Attribute.EC_PARAMS)
            if params is None:
                findings.append(f"{side} EC_PARAMS could not be read")
            elif params not in profile.accepted_ec_params:
                findings.append(
                    f"{side} EC_PARAMS is {bytes(params).hex()}, expected the curve "
                    f"{profile.curve} ({profile.ec_params.hex()})"
                )
    if profile.key_type == "RSA":
        compare("public key", read_back.public, Attribute.MODULUS_BITS, profile.size_bits)
        modulus = read_back.public.get(Attribute.MODULUS, b"")
        bits = int.from_bytes(modulus, "big").bit_length() if isinstance(modulus, bytes) else 0
        if bits != profile.size_bits:
            findings.append(f"public key modulus has {bits} bits, expected {profile.size_bits}")
        if read_back.private.get(Attribute.MODULUS) != modulus:
            findings.append("private and public key moduli differ")
    return findings


def verify_policy(
    read_back: ReadBack,
    profile: KeyAlgorithmProfile,
    *,
    backup: bool,
    label: str,
    cka_id: bytes,
    origin: KeyOrigin = "generated",
    token: bool = True,
) -> None:
    """Raise HsmError naming every attribute that is not as the policy requires."""
    require_accepted_origin(origin, backup, label)
    findings = policy_findings(
        read_back,
        profile,
        backup=backup,
        label=label,
        cka_id=cka_id,
        origin=origin,
        token=token,
    )
    if findings:
        raise HsmError(
            f"The key '{label}' does not have the attributes Sealroom's policy requires: "
            + "; ".join(findings)
            + "."
        )


def int_bytes(value: int) -> bytes:
    """A PKCS#11 big integer: unsigned big-endian bytes without leading zeros."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
