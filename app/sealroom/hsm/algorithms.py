"""The key algorithms a script may ask for, with their PKCS#11 mechanisms, curves and OIDs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pkcs11 import KeyType, Mechanism

from sealroom.ceremony.script import KeyAlgorithm
from sealroom.hsm.encoding import der_object_identifier

# Named curves (RFC 5480 section 2.1.1.1) and the RSA public exponent F4.
SECP256R1_OID: Final = "1.2.840.10045.3.1.7"
SECP384R1_OID: Final = "1.3.132.0.34"
RSA_PUBLIC_EXPONENT_F4: Final = 65537

CKA_ID_BYTES: Final = 16
"""Length of the CKA_ID drawn from the token's RNG for every key pair."""

HashName = Literal["sha256", "sha384", "sha512"]

RSA_SIGN_MECHANISMS: Final[dict[HashName, Mechanism]] = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}
"""RSA PKCS#1 v1.5 with the DigestInfo built and hashed inside the token."""

ECDSA_SIGN_MECHANISM: Final = Mechanism.ECDSA
"""Raw ECDSA over a hash computed on the host (SoftHSM 2.6.1 offers no CKM_ECDSA_SHA384)."""


@dataclass(frozen=True)
class KeyAlgorithmProfile:
    """How one script key algorithm is generated in a PKCS#11 token."""

    name: KeyAlgorithm
    key_type: Literal["RSA", "EC"]
    pkcs11_key_type: KeyType
    mechanism: Mechanism
    size_bits: int
    curve: str | None = None
    """The curve's SEC 2 name, as ``cryptography`` calls it, e.g. ``secp384r1``."""
    curve_oid: str | None = None
    public_exponent: int | None = None

    @property
    def mechanism_name(self) -> str:
        """The mechanism as PKCS#11 spells it, e.g. ``CKM_EC_KEY_PAIR_GEN``."""
        return f"CKM_{self.mechanism.name}"

    @property
    def ec_params(self) -> bytes | None:
        """CKA_EC_PARAMS: the DER-encoded namedCurve OID, or None for RSA."""
        return None if self.curve_oid is None else der_object_identifier(self.curve_oid)


def _rsa(name: KeyAlgorithm, bits: int) -> KeyAlgorithmProfile:
    return KeyAlgorithmProfile(
        name=name,
        key_type="RSA",
        pkcs11_key_type=KeyType.RSA,
        mechanism=Mechanism.RSA_PKCS_KEY_PAIR_GEN,
        size_bits=bits,
        public_exponent=RSA_PUBLIC_EXPONENT_F4,
    )


def _ec(name: KeyAlgorithm, bits: int, curve: str, oid: str) -> KeyAlgorithmProfile:
    return KeyAlgorithmProfile(
        name=name,
        key_type="EC",
        pkcs11_key_type=KeyType.EC,
        mechanism=Mechanism.EC_KEY_PAIR_GEN,
        size_bits=bits,
        curve=curve,
        curve_oid=oid,
    )


KEY_ALGORITHMS: Final[dict[KeyAlgorithm, KeyAlgorithmProfile]] = {
    "rsa-3072": _rsa("rsa-3072", 3072),
    "rsa-4096": _rsa("rsa-4096", 4096),
    "ec-p256": _ec("ec-p256", 256, "secp256r1", SECP256R1_OID),
    "ec-p384": _ec("ec-p384", 384, "secp384r1", SECP384R1_OID),
}
