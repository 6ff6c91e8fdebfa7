"""Wrapping a CA key under a key-encryption key in the token, and unwrapping it (EV-BACKUP)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal

import pkcs11.exceptions as p11err
from cryptography.hazmat.primitives import keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, Object, ObjectClass, Session
from pkcs11.types import Key, SignMixin, UnwrapMixin, WrapMixin

from sealroom.ceremony.ports import KeyRecord, WrappedKey
from sealroom.ceremony.script import KeySpec
from sealroom.errors import HsmError
from sealroom.hsm.algorithms import KEY_ALGORITHMS, KeyAlgorithmProfile
from sealroom.hsm.boundary import failure_advice, failure_reason
from sealroom.hsm.encoding import der_octet_string
from sealroom.hsm.keys import (
    Pkcs11SigningKey,
    checked_signing_key,
    object_handles,
    remove_new_objects,
)
from sealroom.hsm.lookup import find_pair
from sealroom.hsm.policy import (
    int_bytes,
    recovered_public_template,
    require_accepted_origin,
    unwrap_private_template,
)
from sealroom.hsm.uri import KeySelector

WRAP_MECHANISM: Final = Mechanism.AES_KEY_WRAP_PAD
"""CKM_AES_KEY_WRAP_PAD (0x210A): RFC 5649 AES key wrap with padding."""
WRAP_MECHANISM_NAME: Final = "CKM_AES_KEY_WRAP_PAD"
KEK_BYTES: Final = 32
"""The key-encryption key is AES-256."""
PROOF_LABEL: Final = "sealroom-wrap-proof"
"""Label of the session objects a proof or the known-answer check makes (destroyed at once)."""
PROOF_MESSAGE_TAG: Final = b"sealroom/backup/wrap-proof/v1\x00"
"""Start of the message an unwrapped key signs to prove it is the key pair the blob names."""
SEMBLOCK: Final = 8
"""RFC 5649 works on 64-bit blocks; SoftHSM zero-pads the PKCS#8 to a multiple of this."""

_DER_SEQUENCE: Final = 0x30
_LONG_LENGTH: Final = 0x80
_MAX_LENGTH_OCTETS: Final = 4
_SIGN_ONLY: Final = MechanismFlag.SIGN
_KAT_CURVE: Final = ec.SECP256R1()
_KAT_EC_PARAMS: Final = bytes.fromhex("06082a8648ce3d030107")
"""namedCurve prime256v1 (1.2.840.10045.3.1.7) in DER, the throwaway key's CKA_EC_PARAMS."""
_KAT_SCALAR_BYTES: Final = 32

_KNOWN_ANSWER_LOCK = threading.Lock()
_known_answer_passed = False

KekUse = Literal["wrap", "unwrap"]


# -- the key-encryption key as a session object ------------------------------------------------


def kek_template(kek: bytes | bytearray, *, use: KekUse) -> dict[Attribute, Any]:
    """A session AES-256 secret key that can only wrap (or only unwrap): nothing else, ever.

    Every capability is written out: python-pkcs11's defaults would let a secret key encrypt,
    decrypt, wrap and unwrap. Sensitive and not extractable, so the token never gives it back.
    """
    return {
        Attribute.CLASS: ObjectClass.SECRET_KEY,
        Attribute.KEY_TYPE: KeyType.AES,
        Attribute.VALUE: bytes(kek),
        Attribute.TOKEN: False,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.WRAP: use == "wrap",
        Attribute.UNWRAP: use == "unwrap",
        Attribute.ENCRYPT: False,
        Attribute.DECRYPT: False,
        Attribute.SIGN: False,
        Attribute.VERIFY: False,
        Attribute.DERIVE: False,
        Attribute.LABEL: "sealroom-kek",
    }


@contextmanager
def session_kek(session: Session, kek: bytes | bytearray, *, use: KekUse) -> Iterator[Object]:
    """The KEK imported for the block as a session object that can only ``use``; then destroyed.

    The caller holds the PKCS#11 lock. A session object also disappears when the session ends,
    so a KEK whose destruction fails is gone at the latest at logout.
    """
    if len(kek) != KEK_BYTES:
        raise HsmError(
            f"The key-encryption key must be {KEK_BYTES} bytes (AES-256), not {len(kek)}."
        )
    try:
        key = session.create_object(kek_template(kek, use=use))
    except Exception as exc:
        raise HsmError(
            f"The HSM refused to import the key-encryption key as a session key that can only "
            f"{use} ({failure_reason(exc)}). {failure_advice(exc)}"
        ) from exc
    try:
        yield key
    finally:
        try:
            key.destroy()
        except Exception as exc:
            raise HsmError(
                "The HSM could not destroy the imported key-encryption key "
                f"({failure_reason(exc)}); it is a session object and disappears at logout: log "
                "out of the token before going on."
            ) from exc


# -- the mechanism's real behaviour, checked on the host ----------------------------------------


def strip_zero_padding(padded: bytes) -> bytes:
    """The DER PKCS#8 inside RFC 5649 plaintext that the token zero-padded to 8-byte blocks.

    SoftHSM pads the PKCS#8 with zero bytes to a multiple of 8 before RFC 5649 (whose own padding
    is then empty), so an offline RFC 5649 unwrap returns the DER followed by 0 to 7 zero bytes.
    The DER's length comes from its outer SEQUENCE header; anything else is refused.
    """
    if len(padded) < 2 or padded[0] != _DER_SEQUENCE:
        raise HsmError("The unwrapped key is not a DER PKCS#8 structure (no outer SEQUENCE).")
    first = padded[1]
    offset = 2
    if first < _LONG_LENGTH:
        size = first
    else:
        count = first & 0x7F
        if not 1 <= count <= _MAX_LENGTH_OCTETS or len(padded) < offset + count:
            raise HsmError("The unwrapped key's DER length is invalid.")
        size = int.from_bytes(padded[offset : offset + count], "big")
        offset += count
    end = offset + size
    tail = padded[end:]
    if end > len(padded) or len(tail) >= SEMBLOCK or any(tail):
        raise HsmError(
            f"The unwrapped key is {len(padded)} bytes but its DER says {end}: the padding is "
            "not the zero padding SoftHSM adds."
        )
    return padded[:end]


def unwrap_on_host(kek: bytes | bytearray, wrapped: bytes) -> bytes:
    """The DER PKCS#8 any RFC 5649 implementation recovers from ``wrapped`` (backup-blob.md).

    Used by the known-answer check only; key material of a CA key is never unwrapped on the host.
    """
    try:
        padded = keywrap.aes_key_unwrap_with_padding(bytes(kek), wrapped)
    except keywrap.InvalidUnwrap as exc:
        raise HsmError(
            "An RFC 5649 unwrap on the host refused the token's wrapped key: the token's "
            "CKM_AES_KEY_WRAP_PAD is not RFC 5649."
        ) from exc
    return strip_zero_padding(padded)


def mechanism_known_answer_check(session: Session) -> None:
    """Prove that the token's CKM_AES_KEY_WRAP_PAD is RFC 5649 over the zero-padded PKCS#8.

    A throwaway P-256 key made on the host is imported as an extractable session object and
    wrapped in the token under a throwaway session KEK; the host unwraps the result with
    ``cryptography``'s RFC 5649 implementation, trims the zero padding to the DER length and
    requires the PKCS#8 to hold the same curve and private value as the key imported. So any
    standard RFC 5649 tool can recover Sealroom's blobs with the KEK. Every object made is
    destroyed. The caller holds the lock with a logged-in read/write session. HsmError if not.
    """
    host_key = ec.generate_private_key(_KAT_CURVE)
    kek = bytearray(secrets.token_bytes(KEK_BYTES))
    scalar = host_key.private_numbers().private_value
    try:
        with leaves_nothing(session, "the wrap mechanism's known-answer check"):
            imported = session.create_object(
                {
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                    Attribute.KEY_TYPE: KeyType.EC,
                    Attribute.EC_PARAMS: _KAT_EC_PARAMS,
                    Attribute.VALUE: scalar.to_bytes(_KAT_SCALAR_BYTES, "big"),
                    Attribute.TOKEN: False,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: True,
                    Attribute.SIGN: True,
                    Attribute.SIGN_RECOVER: False,
                    Attribute.DECRYPT: False,
                    Attribute.UNWRAP: False,
                    Attribute.DERIVE: False,
                    Attribute.LABEL: PROOF_LABEL,
                }
            )
            with session_kek(session, kek, use="wrap") as wrapping:
                wrapped = _wrap(wrapping, imported, "the known-answer check's throwaway key")
        pkcs8 = unwrap_on_host(kek, wrapped)
    finally:
        kek[:] = bytes(len(kek))
    try:
        recovered = serialization.load_der_private_key(pkcs8, password=None)
    except ValueError as exc:
        raise HsmError(
            "The token's CKM_AES_KEY_WRAP_PAD known-answer check failed: the host unwrapped "
            "something that is not a PKCS#8 private key."
        ) from exc
    if (
        not isinstance(recovered, ec.EllipticCurvePrivateKey)
        or recovered.curve.name != _KAT_CURVE.name
        or recovered.private_numbers().private_value != scalar
    ):
        raise HsmError(
            "The token's CKM_AES_KEY_WRAP_PAD known-answer check failed: the key unwrapped on "
            "the host is not the key imported. Blobs from this token could not be recovered "
            "with a standard RFC 5649 tool; do not back up with it."
        )


def require_mechanism_known_answer(session: Session) -> None:
    """Run the known-answer check once per process, before the first wrap (then remember it)."""
    global _known_answer_passed  # noqa: PLW0603 - once per process, by design
    with _KNOWN_ANSWER_LOCK:
        if not _known_answer_passed:
            mechanism_known_answer_check(session)
            _known_answer_passed = True


# -- wrapping ------------------------------------------------------------------------------------


def wrap_private_key(
    session: Session,
    spec: KeySpec,
    kek: bytes | bytearray,
    session_alive: Callable[[], bool],
) -> WrappedKey:
    """Wrap ``spec``'s private key under ``kek`` with CKM_AES_KEY_WRAP_PAD, and prove the wrap.

    The key must be marked ``backup: true`` and comply with the backed-up key policy (generated
    here, sensitive, extractable). The known-answer check runs first (once per process). The KEK
    is a session key that can only wrap, destroyed straight after. The proof: the blob is
    unwrapped into a session object under a second session KEK that can only unwrap, that object
    signs a fresh message, the signature is verified on the host against the pair's public key,
    and the object is destroyed. The caller holds the lock with a logged-in read/write session.
    """
    if not spec.backup:
        raise HsmError(
            f"The key '{spec.label}' is not marked backup: true in the script, so it was "
            "generated never-extractable and cannot be wrapped. Keys are backed up only if the "
            "script said so when they were generated."
        )
    profile = KEY_ALGORITHMS[spec.algorithm]
    require_mechanism_known_answer(session)
    private, public, cka_id = find_pair(
        session, KeySelector(label=spec.label, cka_id=None, token=None)
    )
    local = private.get_attributes([Attribute.LOCAL]).get(Attribute.LOCAL)
    if not local:
        raise HsmError(
            f"The key '{spec.label}' on the token was itself recovered from a backup; a "
            "recovered key is not extractable and cannot be wrapped again. Use the blob it was "
            "recovered from, or back up the original."
        )
    key = checked_signing_key(
        private,
        public,
        profile,
        key_id=spec.id,
        backup=True,
        label=spec.label,
        cka_id=cka_id,
        session_alive=session_alive,
    )
    with session_kek(session, kek, use="wrap") as wrapping:
        wrapped = _wrap(wrapping, private, f"the key '{spec.label}'")
    result = WrappedKey(
        key_id=spec.id,
        label=spec.label,
        cka_id_hex=cka_id.hex(),
        key_type=profile.key_type,
        mechanism=WRAP_MECHANISM_NAME,
        wrapped=wrapped,
        spki_der=key.record.spki_der,
    )
    prove_wrapped_key(session, result, kek, profile)
    return result


def _wrap(wrapping: Object, private: Object, what: str) -> bytes:
    if not isinstance(wrapping, WrapMixin) or not isinstance(private, Key):
        raise HsmError(f"The imported key-encryption key cannot wrap {what}.")
    try:
        wrapped: bytes = wrapping.wrap_key(private, mechanism=WRAP_MECHANISM)
    except p11err.KeyNotWrappable as exc:
        raise HsmError(
            f"The HSM will not wrap {what} with {WRAP_MECHANISM_NAME} (PKCS#11 "
            "KeyNotWrappable): this token cannot back up keys of this type (SoftHSM 2.6.1 "
            "cannot wrap Ed25519 keys) or the key is not extractable."
        ) from exc
    except Exception as exc:
        raise HsmError(
            f"The HSM could not wrap {what} with {WRAP_MECHANISM_NAME} ({failure_reason(exc)}). "
            f"{failure_advice(exc)}"
        ) from exc
    return bytes(wrapped)


def prove_wrapped_key(
    session: Session,
    wrapped: WrappedKey,
    kek: bytes | bytearray,
    profile: KeyAlgorithmProfile,
) -> None:
    """Unwrap ``wrapped`` into a session object, sign, verify against its SPKI, destroy it.

    Raises HsmError (naming the key) if the blob does not unwrap with ``kek`` or unwraps to a key
    that does not sign for ``wrapped.spki_der``. The token's object count is the same afterwards.
    """
    public_key = _blob_public_key(wrapped, profile, wrapped.label)
    with leaves_nothing(session, f"proving the wrapped key '{wrapped.label}'"):
        private = _unwrap(
            session,
            kek,
            wrapped,
            profile,
            label=PROOF_LABEL,
            cka_id=bytes.fromhex(wrapped.cka_id_hex),
            token=False,
        )
        _require_same_pair(private, public_key, wrapped, profile)
        record = _record(wrapped.key_id, wrapped.label, wrapped, profile)
        if not isinstance(private, SignMixin):
            raise HsmError(f"The key unwrapped from the blob of '{wrapped.label}' cannot sign.")
        _prove_signs(Pkcs11SigningKey(record, private, public_key, lambda: True), wrapped)


# -- unwrapping ----------------------------------------------------------------------------------


def unwrap_private_key(
    session: Session,
    spec: KeySpec,
    wrapped: WrappedKey,
    kek: bytes | bytearray,
    *,
    persist: bool,
    session_alive: Callable[[], bool],
) -> Pkcs11SigningKey:
    """Unwrap ``wrapped`` into the token as ``spec``'s key: a sign-only, non-extractable pair.

    The private key is unwrapped under ``spec.label`` and the blob's CKA_ID (sensitive, not
    extractable, sign only); its public half is created from ``wrapped.spki_der`` (verify only).
    ``persist`` makes both token objects (recovery); otherwise session objects (restore test).
    Before anything is written: the script key must be ``backup: true``, of the blob's type and
    size, and neither its label nor the CKA_ID may be on the token. After: the pair is read back
    against the recovered-key policy, and it must sign for the blob's public key. Any failure
    removes every object the attempt made, so the token's object count is as before.
    """
    profile = KEY_ALGORITHMS[spec.algorithm]
    require_accepted_origin("recovered", spec.backup, spec.label)
    public_key = _blob_public_key(wrapped, profile, spec.label)
    cka_id = _blob_cka_id(wrapped)
    _require_absent(session, spec.label, cka_id, wrapped.label)
    before = object_handles(session)
    try:
        private = _unwrap(
            session, kek, wrapped, profile, label=spec.label, cka_id=cka_id, token=persist
        )
        _require_same_pair(private, public_key, wrapped, profile)
        public = session.create_object(
            {
                Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                Attribute.KEY_TYPE: profile.pkcs11_key_type,
                Attribute.LABEL: spec.label,
                Attribute.ID: cka_id,
                **recovered_public_template(token=persist),
                **_public_components(public_key, profile),
            }
        )
        key = checked_signing_key(
            private,
            public,
            profile,
            key_id=spec.id,
            backup=spec.backup,
            label=spec.label,
            cka_id=cka_id,
            session_alive=session_alive,
            origin="recovered",
            token=persist,
        )
        _prove_signs(key, wrapped)
    except Exception as exc:
        removed = remove_new_objects(session, before)
        message = exc.message if isinstance(exc, HsmError) else _unexpected(exc, spec.label)
        raise HsmError(f"{message} Nothing was kept: {removed}.") from exc
    return key


def _unwrap(
    session: Session,
    kek: bytes | bytearray,
    wrapped: WrappedKey,
    profile: KeyAlgorithmProfile,
    *,
    label: str,
    cka_id: bytes,
    token: bool,
) -> Object:
    """C_UnwrapKey under a session KEK that can only unwrap; HsmError names a refused blob."""
    with session_kek(session, kek, use="unwrap") as unwrapping:
        if not isinstance(unwrapping, UnwrapMixin):
            raise HsmError("The imported key-encryption key cannot unwrap.")
        try:
            return unwrapping.unwrap_key(
                ObjectClass.PRIVATE_KEY,
                profile.pkcs11_key_type,
                wrapped.wrapped,
                id=cka_id,
                label=label,
                mechanism=WRAP_MECHANISM,
                store=token,
                capabilities=_SIGN_ONLY,
                template=unwrap_private_template(token=token),
            )
        except p11err.PKCS11Error as exc:
            raise HsmError(
                f"The wrapped key '{wrapped.label}' does not unwrap with this key-encryption key "
                f"({failure_reason(exc)}): the KEK is not the one the blob was made with (check "
                "its key check value), or the blob is damaged or cut short."
            ) from exc


def _prove_signs(key: Pkcs11SigningKey, wrapped: WrappedKey) -> None:
    """Sign a fresh message with ``key``; the signature must verify with the blob's public key."""
    message = PROOF_MESSAGE_TAG + secrets.token_bytes(32)
    try:
        key.sign(message, "sha256")
    except HsmError as exc:
        raise HsmError(
            f"The key unwrapped from the blob of '{wrapped.label}' does not sign for the public "
            "key the blob names: the blob holds another key pair than the CA certificate's."
        ) from exc


def _blob_public_key(
    wrapped: WrappedKey, profile: KeyAlgorithmProfile, label: str
) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    """The blob's public key, required to be of the script key's type and size (HsmError)."""
    if wrapped.mechanism != WRAP_MECHANISM_NAME:
        raise HsmError(
            f"The wrapped key '{wrapped.label}' was made with {wrapped.mechanism}; Sealroom "
            f"unwraps only {WRAP_MECHANISM_NAME}."
        )
    if wrapped.key_type != profile.key_type:
        raise HsmError(
            f"The wrapped key '{wrapped.label}' is an {wrapped.key_type} key, but the script's "
            f"key '{label}' is {profile.name}."
        )
    try:
        loaded = serialization.load_der_public_key(wrapped.spki_der)
    except ValueError as exc:
        raise HsmError(
            f"The public key given with the wrapped key '{wrapped.label}' is not a DER "
            "SubjectPublicKeyInfo."
        ) from exc
    if not isinstance(
        loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
    ) or not _fits(loaded, profile):
        raise HsmError(
            f"The public key of the wrapped key '{wrapped.label}' is not a {profile.name} key, "
            f"as the script's key '{label}' is."
        )
    return loaded


def _fits(
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    profile: KeyAlgorithmProfile,
) -> bool:
    """Is ``public_key`` of the type and size (or curve) of ``profile``."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return profile.key_type == "RSA" and public_key.key_size == profile.size_bits
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return profile.key_type == "EC" and public_key.curve.name == profile.curve
    return profile.key_type == "EdDSA"


def _blob_cka_id(wrapped: WrappedKey) -> bytes:
    try:
        cka_id = bytes.fromhex(wrapped.cka_id_hex)
    except ValueError:
        cka_id = b""
    if not cka_id:
        raise HsmError(f"The wrapped key '{wrapped.label}' carries no valid CKA_ID.")
    return cka_id


def _require_absent(session: Session, label: str, cka_id: bytes, blob_label: str) -> None:
    """Refuse, before writing anything, a label or CKA_ID already on the token."""
    if list(session.get_objects({Attribute.LABEL: label})):
        raise HsmError(
            f"The token already holds an object labelled '{label}'; Sealroom unwraps a key only "
            "onto a token that does not hold it. Nothing was written."
        )
    if list(session.get_objects({Attribute.ID: cka_id})):
        raise HsmError(
            f"The token already holds an object with the CKA_ID {cka_id.hex()} of the wrapped "
            f"key '{blob_label}'; Sealroom unwraps a key only onto a token that does not hold it. "
            "Nothing was written."
        )


def _require_same_pair(
    private: Object,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    wrapped: WrappedKey,
    profile: KeyAlgorithmProfile,
) -> None:
    """The unwrapped private key's public parts must be the blob's (RSA modulus, EC curve)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        attrs = private.get_attributes([Attribute.MODULUS, Attribute.PUBLIC_EXPONENT])
        numbers = public_key.public_numbers()
        same = attrs.get(Attribute.MODULUS) == int_bytes(numbers.n) and attrs.get(
            Attribute.PUBLIC_EXPONENT
        ) == int_bytes(numbers.e)
    else:
        params = private.get_attributes([Attribute.EC_PARAMS]).get(Attribute.EC_PARAMS)
        same = params in profile.accepted_ec_params
    if not same:
        raise HsmError(
            f"The key unwrapped from the blob of '{wrapped.label}' is not the key pair the blob "
            "names (its public key differs): the blob holds another key than the CA "
            "certificate's."
        )


def _public_components(
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    profile: KeyAlgorithmProfile,
) -> dict[Attribute, Any]:
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {
            Attribute.MODULUS: int_bytes(numbers.n),
            Attribute.PUBLIC_EXPONENT: int_bytes(numbers.e),
        }
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        point = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        point = public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return {Attribute.EC_PARAMS: profile.ec_params, Attribute.EC_POINT: der_octet_string(point)}


def _record(
    key_id: str, label: str, wrapped: WrappedKey, profile: KeyAlgorithmProfile
) -> KeyRecord:
    """A record for the proof's throwaway signer (never journaled)."""
    return KeyRecord(
        key_id=key_id,
        label=label,
        cka_id_hex=wrapped.cka_id_hex,
        algorithm=profile.name,
        key_type=profile.key_type,
        size_bits=profile.size_bits,
        curve=profile.curve,
        public_exponent=profile.public_exponent,
        spki_der=wrapped.spki_der,
        attributes={},
        mechanism=WRAP_MECHANISM_NAME,
    )


def _unexpected(exc: Exception, label: str) -> str:
    return (
        f"The HSM could not unwrap the key '{label}' ({failure_reason(exc)}). {failure_advice(exc)}"
    )


# -- objects made by an attempt ------------------------------------------------------------------


@contextmanager
def leaves_nothing(session: Session, what: str) -> Iterator[None]:
    """Remove every object the block made, whatever happens; HsmError if any stays behind."""
    before = object_handles(session)
    try:
        yield
    finally:
        removed = remove_new_objects(session, before)
    if object_handles(session) != before:
        raise HsmError(
            f"After {what}, the token lists objects that were not there before ({removed}); "
            "list the token's objects before going on."
        )
