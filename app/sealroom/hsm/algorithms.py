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
SECP521R1_OID: Final = "1.3.132.0.35"
ED25519_OID: Final = "1.3.101.112"
"""id-Ed25519 (RFC 8410); PKCS#11 3.0 also accepts the PrintableString ``edwards25519``."""
ED25519_CURVE_NAME: Final = "edwards25519"
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

EDDSA_SIGN_MECHANISM: Final = Mechanism.EDDSA
"""PureEdDSA (RFC 8032): the token hashes the whole message itself; no host hash, no parameters."""

DER_PRINTABLE_STRING: Final = 0x13


@dataclass(frozen=True)
class KeyAlgorithmProfile:
    """How one script key algorithm is generated in a PKCS#11 token."""

    name: KeyAlgorithm
    key_type: Literal["RSA", "EC", "EdDSA"]
    pkcs11_key_type: KeyType
    mechanism: Mechanism
    """The key-pair generation mechanism."""
    sign_mechanisms: tuple[Mechanism, ...]
    """The signing mechanisms Sealroom uses with the key; the first must be listed by the token."""
    size_bits: int
    curve: str | None = None
    """The curve's SEC 2 name, as ``cryptography`` calls it (``secp384r1``), or ``edwards25519``."""
    curve_oid: str | None = None
    public_exponent: int | None = None
    alternative_ec_params: tuple[bytes, ...] = ()
    """Other encodings of CKA_EC_PARAMS that name the same curve and are accepted on read-back."""

    @property
    def mechanism_name(self) -> str:
        """The mechanism as PKCS#11 spells it, e.g. ``CKM_EC_KEY_PAIR_GEN``."""
        return f"CKM_{self.mechanism.name}"

    @property
    def ec_params(self) -> bytes | None:
        """CKA_EC_PARAMS: the DER-encoded namedCurve OID, or None for RSA."""
        return None if self.curve_oid is None else der_object_identifier(self.curve_oid)

    @property
    def accepted_ec_params(self) -> tuple[bytes, ...]:
        """Every CKA_EC_PARAMS value read back that names this curve (empty for RSA)."""
        return () if self.ec_params is None else (self.ec_params, *self.alternative_ec_params)

    @property
    def mechanism_names(self) -> tuple[str, ...]:
        """Generation and signing mechanisms as PKCS#11 spells them (for the device inventory)."""
        return tuple(f"CKM_{item.name}" for item in (self.mechanism, *self.sign_mechanisms))


def _rsa(name: KeyAlgorithm, bits: int) -> KeyAlgorithmProfile:
    return KeyAlgorithmProfile(
        name=name,
        key_type="RSA",
        pkcs11_key_type=KeyType.RSA,
        mechanism=Mechanism.RSA_PKCS_KEY_PAIR_GEN,
        sign_mechanisms=tuple(RSA_SIGN_MECHANISMS.values()),
        size_bits=bits,
        public_exponent=RSA_PUBLIC_EXPONENT_F4,
    )


def _ec(name: KeyAlgorithm, bits: int, curve: str, oid: str) -> KeyAlgorithmProfile:
    return KeyAlgorithmProfile(
        name=name,
        key_type="EC",
        pkcs11_key_type=KeyType.EC,
        mechanism=Mechanism.EC_KEY_PAIR_GEN,
        sign_mechanisms=(ECDSA_SIGN_MECHANISM,),
        size_bits=bits,
        curve=curve,
        curve_oid=oid,
    )


ED25519_PROFILE: Final = KeyAlgorithmProfile(
    name="ed25519",
    key_type="EdDSA",
    pkcs11_key_type=KeyType.EC_EDWARDS,
    mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
    sign_mechanisms=(EDDSA_SIGN_MECHANISM,),
    size_bits=256,
    curve=ED25519_CURVE_NAME,
    curve_oid=ED25519_OID,
    # SoftHSM 2.6.1 stores the private half's CKA_EC_PARAMS as the curve name even when the
    # template gave the OID: both encodings are the same curve (PKCS#11 3.0 section 2.3.5).
    alternative_ec_params=(
        bytes([DER_PRINTABLE_STRING, len(ED25519_CURVE_NAME)]) + ED25519_CURVE_NAME.encode("ascii"),
    ),
)

KEY_ALGORITHMS: Final[dict[KeyAlgorithm, KeyAlgorithmProfile]] = {
    "rsa-3072": _rsa("rsa-3072", 3072),
    "rsa-4096": _rsa("rsa-4096", 4096),
    "ec-p256": _ec("ec-p256", 256, "secp256r1", SECP256R1_OID),
    "ec-p384": _ec("ec-p384", 384, "secp384r1", SECP384R1_OID),
    "ec-p521": _ec("ec-p521", 521, "secp521r1", SECP521R1_OID),
    "ed25519": ED25519_PROFILE,
}
"""Every algorithm a script may name; ``Pkcs11Hsm.supported_algorithms`` says what a token makes."""

BASELINE_ALGORITHMS: Final[tuple[KeyAlgorithm, ...]] = (
    "rsa-3072",
    "rsa-4096",
    "ec-p256",
    "ec-p384",
)
"""What every token fit for a root CA is expected to offer; P-521 and Ed25519 only where listed."""
