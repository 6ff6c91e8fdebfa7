"""Key pairs generated inside the token, checked against the policy, and signing with them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, MechanismFlag, Object, Session
from pkcs11.types import SignMixin

from sealroom.ceremony.ports import KeyRecord
from sealroom.ceremony.script import KeySpec
from sealroom.errors import HsmError
from sealroom.hsm.algorithms import (
    CKA_ID_BYTES,
    ECDSA_SIGN_MECHANISM,
    EDDSA_SIGN_MECHANISM,
    KEY_ALGORITHMS,
    RSA_SIGN_MECHANISMS,
    HashName,
    KeyAlgorithmProfile,
)
from sealroom.hsm.boundary import failure_advice, failure_reason, pkcs11_boundary
from sealroom.hsm.encoding import der_octet_string_content
from sealroom.hsm.policy import (
    KeyOrigin,
    ReadBack,
    private_read_back,
    private_template,
    public_read_back,
    public_template,
    require_accepted_origin,
    verify_policy,
)

_HOST_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
}
ED25519_PUBLIC_KEY_BYTES: Final = 32
RECOVERED_KEY_MECHANISM: Final = "CKM_AES_KEY_WRAP_PAD"
"""``KeyRecord.mechanism`` of a recovered key: how it came into the token (it was unwrapped)."""
_SIGN_ONLY: Final = MechanismFlag.SIGN | MechanismFlag.VERIFY

PublicKeyTypes = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


class Pkcs11SigningKey:
    """A private key that stays in the token; ``sign`` works while its login session lasts."""

    def __init__(
        self,
        record: KeyRecord,
        private_key: SignMixin,
        public_key: PublicKeyTypes,
        session_alive: Callable[[], bool],
    ) -> None:
        self._record = record
        self._private_key = private_key
        self._public_key = public_key
        self._session_alive = session_alive

    @property
    def record(self) -> KeyRecord:
        """The inventory record made when the pair was generated (or found again)."""
        return self._record

    def sign(self, message: bytes, hash_name: HashName) -> bytes:
        """Sign in the token: RSA PKCS#1 v1.5, ECDSA (DER) or Ed25519 (PureEdDSA).

        RSA hashes in the token; ECDSA hashes on the host and the token signs the digest; Ed25519
        signs the whole message (``hash_name`` is checked but not used: Ed25519 fixes its hash).

        Every signature is verified on the host with the public key before it is returned, so a
        faulty signature (e.g. an RSA-CRT fault) never leaves the adapter.
        """
        if hash_name not in _HOST_HASHES:
            raise HsmError(
                f"Sealroom cannot sign with the hash '{hash_name}'; use sha256, sha384 or sha512."
            )
        label = self._record.label
        with pkcs11_boundary(f"sign with the key '{label}'"):
            if not self._session_alive():
                raise HsmError(
                    f"The key '{label}' can sign only while the HSM session it was generated in "
                    "is logged in; log in again and use a key from that session."
                )
            if self._record.key_type == "RSA":
                signature = self._sign_rsa(message, hash_name)
            elif self._record.key_type == "EdDSA":
                signature = self._private_key.sign(message, mechanism=EDDSA_SIGN_MECHANISM)
            else:
                signature = self._sign_ecdsa(message, hash_name)
        try:
            if isinstance(self._public_key, rsa.RSAPublicKey):
                self._public_key.verify(
                    signature, message, padding.PKCS1v15(), _HOST_HASHES[hash_name]
                )
            elif isinstance(self._public_key, ed25519.Ed25519PublicKey):
                self._public_key.verify(signature, message)
            else:
                self._public_key.verify(signature, message, ec.ECDSA(_HOST_HASHES[hash_name]))
        except InvalidSignature as exc:
            raise HsmError(
                f"The HSM returned a signature with the key '{label}' that does not verify with "
                "its public key. The signature was discarded; stop and note this as a deviation."
            ) from exc
        return signature

    def _sign_rsa(self, message: bytes, hash_name: HashName) -> bytes:
        signature: bytes = self._private_key.sign(message, mechanism=RSA_SIGN_MECHANISMS[hash_name])
        return signature

    def _sign_ecdsa(self, message: bytes, hash_name: HashName) -> bytes:
        digest = hashlib.new(hash_name, message).digest()
        raw: bytes = self._private_key.sign(digest, mechanism=ECDSA_SIGN_MECHANISM)
        if len(raw) % 2 or not raw:
            raise HsmError(
                f"The HSM returned an ECDSA signature of odd length {len(raw)} for the key "
                f"'{self._record.label}'."
            )
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )


def generate_signing_key(
    session: Session, spec: KeySpec, session_alive: Callable[[], bool]
) -> Pkcs11SigningKey:
    """Generate ``spec`` in the token behind ``session`` (logged in, read/write) and check it.

    Refuses a label already on the token. If generation fails, objects it left behind are removed;
    if the pair read back breaks the policy, the pair is destroyed. Either way HsmError says so.
    """
    profile = KEY_ALGORITHMS[spec.algorithm]
    with pkcs11_boundary(f"generate the key '{spec.label}' ({spec.algorithm})"):
        if list(session.get_objects({Attribute.LABEL: spec.label})):
            raise HsmError(
                f"The token already holds an object labelled '{spec.label}'. Sealroom never "
                "reuses a label: choose a new label in the script, or clear the token by the "
                "procedure the CPS prescribes."
            )
        before = object_handles(session)
        cka_id = session.generate_random(CKA_ID_BYTES * 8)
        if len(cka_id) != CKA_ID_BYTES:
            raise HsmError(
                f"The HSM's random number generator returned {len(cka_id)} bytes for the key "
                f"identifier instead of {CKA_ID_BYTES}."
            )
        try:
            public, private = session.generate_keypair(
                profile.pkcs11_key_type,
                profile.size_bits if profile.key_type == "RSA" else None,
                id=cka_id,
                label=spec.label,
                store=True,
                capabilities=_SIGN_ONLY,
                mechanism=profile.mechanism,
                public_template=public_template(profile),
                private_template=private_template(spec.backup),
            )
        except Exception as exc:
            removed = remove_new_objects(session, before)
            raise HsmError(
                f"The HSM could not generate the key '{spec.label}' ({spec.algorithm}) "
                f"({failure_reason(exc)}); {removed}. {failure_advice(exc)}"
            ) from exc
        try:
            new = object_handles(session) - before
            if new != {public.handle, private.handle}:
                raise HsmError(
                    f"Generating the key '{spec.label}' added {len(new)} objects to the token "
                    "instead of a public and a private key."
                )
            return checked_signing_key(
                private,
                public,
                profile,
                key_id=spec.id,
                backup=spec.backup,
                label=spec.label,
                cka_id=cka_id,
                session_alive=session_alive,
            )
        except Exception as exc:
            removed = remove_new_objects(session, before)
            if isinstance(exc, HsmError):
                raise HsmError(f"{exc.message} The new key pair was not kept: {removed}.") from exc
            raise HsmError(
                f"The key '{spec.label}' could not be read back from the HSM "
                f"({failure_reason(exc)}); the new key pair was not kept: {removed}."
            ) from exc


def checked_signing_key(
    private: Object,
    public: Object,
    profile: KeyAlgorithmProfile,
    *,
    key_id: str,
    backup: bool,
    label: str,
    cka_id: bytes,
    session_alive: Callable[[], bool],
    origin: KeyOrigin = "generated",
    token: bool = True,
) -> Pkcs11SigningKey:
    """Read back both halves of a pair, check them against the policy, and wrap the private key.

    Raises HsmError naming every attribute that differs from the policy for ``profile``,
    ``backup`` and ``origin`` (a ``recovered`` key only where ``accepted_origins`` allows it).
    The caller holds the PKCS#11 lock (or a boundary).
    """
    if not isinstance(private, SignMixin):
        raise HsmError(f"The private key '{label}' in the HSM cannot sign.")
    require_accepted_origin(origin, backup, label)
    read_back = ReadBack(
        private=private.get_attributes(private_read_back(profile, origin)),
        public=public.get_attributes(public_read_back(profile, origin)),
    )
    verify_policy(
        read_back,
        profile,
        backup=backup,
        label=label,
        cka_id=cka_id,
        origin=origin,
        token=token,
    )
    public_key = _public_key(read_back, profile)
    spki_der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = KeyRecord(
        key_id=key_id,
        label=label,
        cka_id_hex=cka_id.hex(),
        algorithm=profile.name,
        key_type=profile.key_type,
        size_bits=profile.size_bits,
        curve=profile.curve,
        public_exponent=profile.public_exponent,
        spki_der=spki_der,
        attributes=read_back.flags(),
        mechanism=profile.mechanism_name if origin == "generated" else RECOVERED_KEY_MECHANISM,
    )
    return Pkcs11SigningKey(record, private, public_key, session_alive)


def _public_key(read_back: ReadBack, profile: KeyAlgorithmProfile) -> PublicKeyTypes:
    """The public key as ``cryptography`` sees it, built from the token's public-key object."""
    if profile.key_type == "RSA":
        numbers = rsa.RSAPublicNumbers(
            e=int.from_bytes(read_back.public[Attribute.PUBLIC_EXPONENT], "big"),
            n=int.from_bytes(read_back.public[Attribute.MODULUS], "big"),
        )
        return numbers.public_key()
    point = der_octet_string_content(read_back.public[Attribute.EC_POINT])
    if profile.key_type == "EdDSA":
        if len(point) != ED25519_PUBLIC_KEY_BYTES:
            raise HsmError(
                f"The HSM returned an Ed25519 public key of {len(point)} bytes instead of "
                f"{ED25519_PUBLIC_KEY_BYTES}."
            )
        return ed25519.Ed25519PublicKey.from_public_bytes(point)
    curve = _CURVES[profile.curve or ""]
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError as exc:
        raise HsmError(
            f"The HSM returned a public point that is not on the curve {profile.curve}."
        ) from exc


def object_handles(session: Session) -> set[int]:
    """Handles of every object the session can see (private ones too, once logged in)."""
    return {handle for obj in session.get_objects() if (handle := obj.handle) is not None}


def remove_new_objects(session: Session, before: set[int]) -> str:
    """Destroy every object that was not there ``before``; say what was done, for the operator."""
    try:
        doomed = [obj for obj in session.get_objects() if obj.handle not in before]
        for obj in doomed:
            obj.destroy()
    except Exception as exc:
        return (
            f"objects it may have left on the token could not be removed ({failure_reason(exc)}); "
            "list the token's objects before going on"
        )
    if not doomed:
        return "it left nothing on the token"
    return f"the {len(doomed)} object(s) it left on the token were removed"
