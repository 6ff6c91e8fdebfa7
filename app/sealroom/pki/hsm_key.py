"""cryptography private-key classes whose ``sign`` calls a key in the HSM (through SigningKey).

cryptography's certificate, CSR and CRL builders accept any subclass of its RSAPrivateKey,
EllipticCurvePrivateKey or Ed25519PrivateKey and call its ``sign``. This is undocumented behaviour
verified with the pinned cryptography 50.0.2; tests/unit/test_pki_root.py
(``test_cryptography_builders_call_the_wrapper_sign``) keeps proving it.
"""

from __future__ import annotations

from typing import Final, NoReturn

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed
from cryptography.utils import Buffer

from sealroom.ceremony.ports import SigningKey
from sealroom.errors import PkiError
from sealroom.pki.profile import HashName, PublicKey

_HASH_NAMES: Final[dict[type[hashes.HashAlgorithm], HashName]] = {
    hashes.SHA256: "sha256",
    hashes.SHA384: "sha384",
    hashes.SHA512: "sha512",
}
_CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
}
ED25519_CURVE: Final = "edwards25519"
"""The curve name the HSM adapter records for an Ed25519 key (``KeyRecord.curve``)."""
ED25519_HASH: Final[HashName] = "sha512"
"""What an Ed25519 key is asked to sign with: the SHA-512 that PureEdDSA (RFC 8032 5.1.6) applies
inside the token to the whole message. The HSM adapter checks the name and signs the message."""


def hash_name(algorithm: object) -> HashName:
    """The SigningKey hash name for a cryptography hash, or PkiError for any other algorithm."""
    # Exact types only: a Prehashed digest or a subclass of a hash is refused.
    for kind, name in _HASH_NAMES.items():
        if type(algorithm) is kind:
            return name
    raise PkiError(f"The HSM key signs with SHA-256, SHA-384 or SHA-512 only, not {algorithm!r}.")


def _refuse(what: str) -> NoReturn:
    raise PkiError(f"The CA key stays in the HSM: it cannot {what} on the workstation.")


def record_public_key(key: SigningKey) -> PublicKey:
    """The public key in ``key.record.spki_der``, checked against the record's algorithm."""
    record = key.record
    try:
        public = serialization.load_der_public_key(record.spki_der)
    except ValueError as exc:
        raise PkiError(
            f"The public key recorded for the key '{record.label}' is not a DER "
            "SubjectPublicKeyInfo."
        ) from exc
    if record.key_type == "RSA" and isinstance(public, rsa.RSAPublicKey):
        if public.key_size != record.size_bits:
            raise PkiError(
                f"The key '{record.label}' is recorded as {record.size_bits}-bit RSA but its "
                f"public key has {public.key_size} bits."
            )
        return public
    if record.key_type == "EC" and isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.name != record.curve or record.curve not in _CURVES:
            raise PkiError(
                f"The key '{record.label}' is recorded on the curve {record.curve} but its public "
                f"key is on {public.curve.name}."
            )
        return public
    if record.key_type == "EdDSA" and isinstance(public, ed25519.Ed25519PublicKey):
        if record.curve != ED25519_CURVE:
            raise PkiError(
                f"The key '{record.label}' is recorded on the curve {record.curve} but its public "
                f"key is Ed25519 ({ED25519_CURVE})."
            )
        return public
    raise PkiError(
        f"The key '{record.label}' is recorded as {record.key_type} but its public key is "
        f"{type(public).__name__}."
    )


class HsmRsaPrivateKey(rsa.RSAPrivateKey):
    """An RSA key in the HSM, seen by cryptography as a private key that only signs (PKCS#1)."""

    def __init__(self, key: SigningKey, public: rsa.RSAPublicKey) -> None:
        self._key = key
        self._public = public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: Prehashed | hashes.HashAlgorithm | NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, PKCS1v15):
            raise PkiError(
                f"The HSM key signs with RSA PKCS#1 v1.5 only, not {type(padding).__name__}."
            )
        return self._key.sign(bytes(data), hash_name(algorithm))

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        _refuse("decrypt")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        _refuse("show its private numbers")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _refuse("be serialised")

    def __copy__(self) -> HsmRsaPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> HsmRsaPrivateKey:
        return self


class HsmEcPrivateKey(ec.EllipticCurvePrivateKey):
    """An EC key in the HSM, seen by cryptography as a private key that only signs (ECDSA)."""

    def __init__(self, key: SigningKey, public: ec.EllipticCurvePublicKey) -> None:
        self._key = key
        self._public = public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise PkiError(
                f"The HSM key signs with ECDSA only, not {type(signature_algorithm).__name__}."
            )
        return self._key.sign(bytes(data), hash_name(signature_algorithm.algorithm))

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        _refuse("do a key exchange")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        _refuse("show its private numbers")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _refuse("be serialised")

    def __copy__(self) -> HsmEcPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> HsmEcPrivateKey:
        return self


class HsmEd25519PrivateKey(ed25519.Ed25519PrivateKey):
    """An Ed25519 key in the HSM, seen by cryptography as a private key that only signs.

    cryptography's builders call ``sign(data)`` with the whole TBS (the algorithm must be None):
    PureEdDSA signs the message, not a digest, so the token receives the TBS itself.
    """

    def __init__(self, key: SigningKey, public: ed25519.Ed25519PublicKey) -> None:
        self._key = key
        self._public = public

    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self._public

    def sign(self, data: Buffer) -> bytes:
        return self._key.sign(bytes(data), ED25519_HASH)

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _refuse("be serialised")

    def private_bytes_raw(self) -> bytes:
        _refuse("be serialised")

    def __copy__(self) -> HsmEd25519PrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> HsmEd25519PrivateKey:
        return self


HsmPrivateKey = HsmRsaPrivateKey | HsmEcPrivateKey | HsmEd25519PrivateKey
"""What cryptography's builders are given in place of the CA's private key."""


def hsm_private_key(key: SigningKey) -> HsmPrivateKey:
    """Wrap ``key`` for cryptography's builders, after checking its recorded public key."""
    public = record_public_key(key)
    if isinstance(public, rsa.RSAPublicKey):
        return HsmRsaPrivateKey(key, public)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return HsmEd25519PrivateKey(key, public)
    return HsmEcPrivateKey(key, public)
