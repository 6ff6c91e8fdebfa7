"""The attribute policy for CA key pairs: templates sent to the token, checks of what it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pkcs11 import Attribute

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


def expected_private_flags(backup: bool) -> dict[Attribute, bool]:
    """The private key may sign and nothing else; it is extractable (wrapped) only for a backup."""
    return {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.LOCAL: True,
        Attribute.SENSITIVE: True,
        Attribute.ALWAYS_SENSITIVE: True,
        Attribute.EXTRACTABLE: backup,
        Attribute.NEVER_EXTRACTABLE: not backup,
        Attribute.SIGN: True,
        Attribute.SIGN_RECOVER: False,
        Attribute.DECRYPT: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    }


def expected_public_flags() -> dict[Attribute, bool]:
    """The public key may verify and nothing else."""
    return {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: False,
        Attribute.LOCAL: True,
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


def private_read_back(profile: KeyAlgorithmProfile) -> list[Attribute]:
    """The private-key attributes read after generation (never a sensitive one)."""
    extra = _RSA_PRIVATE if profile.key_type == "RSA" else _EC_PRIVATE
    return [*PRIVATE_KEY_FLAGS, *_IDENTITY, *extra]


def public_read_back(profile: KeyAlgorithmProfile) -> list[Attribute]:
    """The public-key attributes read after generation."""
    extra = _RSA_PUBLIC if profile.key_type == "RSA" else _EC_PUBLIC
    return [*PUBLIC_KEY_FLAGS, *_IDENTITY, *extra]


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
) -> list[str]:
    """Every way the read-back pair differs from the policy, as phrases; empty when it complies."""
    findings: list[str] = []

    def compare(side: str, attrs: Mapping[Attribute, Any], attribute: Attribute, want: Any) -> None:
        if attribute not in attrs:
            findings.append(f"{side} {attribute.name} could not be read")
        elif attrs[attribute] != want:
            findings.append(f"{side} {attribute.name} is {attrs[attribute]!r}, expected {want!r}")

    key_type = profile.pkcs11_key_type
    for side, attrs, flags in (
        ("private key", read_back.private, expected_private_flags(backup)),
        ("public key", read_back.public, expected_public_flags()),
    ):
        for attribute, want in flags.items():
            compare(side, attrs, attribute, want)
        compare(side, attrs, Attribute.KEY_TYPE, key_type)
        compare(side, attrs, Attribute.LABEL, label)
        compare(side, attrs, Attribute.ID, cka_id)
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
) -> None:
    """Raise HsmError naming every attribute that is not as the policy requires."""
    findings = policy_findings(read_back, profile, backup=backup, label=label, cka_id=cka_id)
    if findings:
        raise HsmError(
            f"The key '{label}' does not have the attributes Sealroom's policy requires: "
            + "; ".join(findings)
            + "."
        )


def int_bytes(value: int) -> bytes:
    """A PKCS#11 big integer: unsigned big-endian bytes without leading zeros."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
