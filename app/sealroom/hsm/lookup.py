"""Finding a key pair made in an earlier ceremony, by label or PKCS#11 URI, and re-checking it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkcs11 import Attribute, KeyType, Object, ObjectClass, Session

from sealroom.ceremony.script import KeySpec
from sealroom.errors import HsmError
from sealroom.hsm.algorithms import KEY_ALGORITHMS, KeyAlgorithmProfile
from sealroom.hsm.keys import Pkcs11SigningKey, checked_signing_key
from sealroom.hsm.policy import KeyOrigin
from sealroom.hsm.uri import KeySelector


def find_pair(session: Session, selector: KeySelector) -> tuple[Object, Object, bytes]:
    """The one private key ``selector`` names and the one public key with its CKA_ID.

    Raises HsmError when no private key matches, more than one does, it has no CKA_ID, or not
    exactly one public key carries that CKA_ID. Call under the lock, with a logged-in session.
    """
    template: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
    if selector.label is not None:
        template[Attribute.LABEL] = selector.label
    if selector.cka_id is not None:
        template[Attribute.ID] = selector.cka_id
    privates = list(session.get_objects(template))
    described = selector.describe()
    if not privates:
        raise HsmError(
            f"The token holds no private key {described}. Check the label (or URI) in the script "
            "against the key inventory of the ceremony that generated it."
        )
    if len(privates) > 1:
        raise HsmError(
            f"The token holds {len(privates)} private keys {described}; Sealroom signs only with "
            "a key it can name unambiguously. Name it by its CKA_ID in a pkcs11: URI (id=...)."
        )
    private = privates[0]
    cka_id = bytes(private.get_attributes([Attribute.ID]).get(Attribute.ID, b""))
    if not cka_id:
        raise HsmError(
            f"The private key {described} has no CKA_ID, so its public key cannot be paired "
            "with it. Sealroom does not use it."
        )
    publics = list(
        session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: cka_id})
    )
    if len(publics) != 1:
        raise HsmError(
            f"The private key {described} has {len(publics)} public keys with its CKA_ID "
            f"{cka_id.hex()} on the token instead of exactly one; Sealroom does not use it."
        )
    return private, publics[0], cka_id


def load_signing_key(
    session: Session,
    selector: KeySelector,
    spec: KeySpec | None,
    session_alive: Callable[[], bool],
) -> Pkcs11SigningKey:
    """Find the pair, re-check the attribute policy, read the public key (under the lock).

    With a ``spec``, the pair must be of its algorithm and comply with its ``backup`` setting and
    its label, and the record carries ``spec.id``. Without one (a bare URI), the algorithm is
    recognised from the key's attributes, ``backup`` is read from CKA_EXTRACTABLE (the rest of the
    policy still applies) and the record's key id is the label. A recovered pair (CKA_LOCAL false:
    unwrapped from a backup) is accepted only where ``policy.accepted_origins`` allows it, so
    never through a bare URI (a recovered key is not extractable, so nothing says it is backed up).
    """
    private, public, cka_id = find_pair(session, selector)
    attrs = private.get_attributes([Attribute.LABEL, Attribute.EXTRACTABLE, Attribute.LOCAL])
    label = str(attrs.get(Attribute.LABEL, ""))
    # CKA_LOCAL tells a key generated here from one unwrapped from a backup; which of the two a
    # script key may be is decided in one place, policy.accepted_origins.
    origin: KeyOrigin = "generated" if attrs.get(Attribute.LOCAL) else "recovered"
    if spec is not None:
        profile = KEY_ALGORITHMS[spec.algorithm]
        key_id, backup, wanted_label = spec.id, spec.backup, spec.label
    else:
        profile = _recognised_profile(private, public, selector)
        key_id, backup, wanted_label = label, bool(attrs.get(Attribute.EXTRACTABLE)), label
    return checked_signing_key(
        private,
        public,
        profile,
        key_id=key_id,
        backup=backup,
        label=wanted_label,
        cka_id=cka_id,
        session_alive=session_alive,
        origin=origin,
    )


def _recognised_profile(
    private: Object, public: Object, selector: KeySelector
) -> KeyAlgorithmProfile:
    """The script algorithm whose key type and size (or curve) the pair has, or HsmError."""
    key_type = private.get_attributes([Attribute.KEY_TYPE]).get(Attribute.KEY_TYPE)
    if key_type == KeyType.RSA:
        bits = public.get_attributes([Attribute.MODULUS_BITS]).get(Attribute.MODULUS_BITS)
        matches = [
            p for p in KEY_ALGORITHMS.values() if p.key_type == "RSA" and p.size_bits == bits
        ]
    else:
        params = public.get_attributes([Attribute.EC_PARAMS]).get(Attribute.EC_PARAMS)
        matches = [
            p
            for p in KEY_ALGORITHMS.values()
            if p.pkcs11_key_type == key_type and params in p.accepted_ec_params
        ]
    if len(matches) != 1:
        raise HsmError(
            f"The key {selector.describe()} is of a type or size Sealroom does not use (RSA-3072, "
            "RSA-4096, P-256, P-384, P-521 or Ed25519 only)."
        )
    return matches[0]
