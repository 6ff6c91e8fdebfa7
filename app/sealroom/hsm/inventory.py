"""What a token offers and holds: mechanisms with limits and flags, objects by class and label."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass, Session, Slot

from sealroom.ceremony.ports import MechanismInfo, TokenObjectSummary
from sealroom.ceremony.script import KeyAlgorithm
from sealroom.errors import HsmError
from sealroom.hsm.algorithms import KEY_ALGORITHMS, KeyAlgorithmProfile

MECHANISM_PREFIX: Final = "CKM_"
_KEY_CLASS_NAMES: Final = frozenset({"PUBLIC_KEY", "PRIVATE_KEY", "SECRET_KEY"})
# Read for every object: never a value (CKA_VALUE, modulus, point...), only what names it.
_SUMMARY_ATTRIBUTES: Final = [Attribute.CLASS, Attribute.LABEL, Attribute.ID, Attribute.KEY_TYPE]


def summarise(attrs: dict[Attribute, object]) -> TokenObjectSummary:
    """One object's class, label, CKA_ID and key type, from its attributes as read."""
    object_class = _enum_name(ObjectClass, attrs.get(Attribute.CLASS))
    key_type = None
    if object_class in _KEY_CLASS_NAMES:
        key_type = _enum_name(KeyType, attrs.get(Attribute.KEY_TYPE))
    label = attrs.get(Attribute.LABEL, "")
    cka_id = attrs.get(Attribute.ID, b"")
    return TokenObjectSummary(
        object_class=object_class or "UNKNOWN",
        label=label if isinstance(label, str) else "",
        cka_id_hex=bytes(cka_id).hex() if isinstance(cka_id, bytes | bytearray) else "",
        key_type=key_type,
    )


def _enum_name(kind: type[ObjectClass] | type[KeyType], raw: object) -> str | None:
    """The PKCS#11 name of a class or key type, ``VENDOR_<n>`` for others, None if unreadable."""
    if not isinstance(raw, int):
        return None
    try:
        return kind(raw).name
    except ValueError:
        return f"VENDOR_{raw}"


def object_summaries(session: Session) -> tuple[TokenObjectSummary, ...]:
    """Every object ``session`` can see, sorted by label, class and CKA_ID (call under the lock)."""
    found = [summarise(obj.get_attributes(_SUMMARY_ATTRIBUTES)) for obj in session.get_objects()]
    return tuple(sorted(found, key=lambda item: (item.label, item.object_class, item.cka_id_hex)))


def mechanism_from_name(name: str) -> Mechanism:
    """The mechanism PKCS#11 spells ``name`` (``CKM_ECDSA``), or HsmError."""
    bare = name.removeprefix(MECHANISM_PREFIX)
    if not name.startswith(MECHANISM_PREFIX) or bare not in Mechanism.__members__:
        raise HsmError(
            f"'{name}' is not a PKCS#11 mechanism Sealroom knows; write it as PKCS#11 does, "
            "e.g. CKM_SHA256_RSA_PKCS."
        )
    return Mechanism[bare]


def mechanism_flag_names(flags: MechanismFlag) -> tuple[str, ...]:
    """The names of the flags set, in the order PKCS#11 defines them."""
    return tuple(flag.name for flag in MechanismFlag if flag.name and flag.value and flag in flags)


def all_algorithm_mechanisms() -> tuple[str, ...]:
    """Generation and signing mechanisms of every key algorithm, each once, in a stable order."""
    names: dict[str, None] = {}
    for profile in KEY_ALGORITHMS.values():
        names.update(dict.fromkeys(profile.mechanism_names))
    return tuple(names)


def mechanism_infos(
    slot: Slot, names: Iterable[str], *, only_listed: bool
) -> tuple[MechanismInfo, ...]:
    """What the token says of each mechanism (call under the lock).

    A mechanism the token does not list is an HsmError, unless ``only_listed`` (then left out).
    """
    listed = slot.get_mechanisms()
    infos: list[MechanismInfo] = []
    for name in dict.fromkeys(names):
        mechanism = mechanism_from_name(name)
        if mechanism not in listed:
            if only_listed:
                continue
            raise HsmError(
                f"The token does not list the mechanism {name}, which this ceremony uses. Check "
                "the HSM's model and firmware against the script."
            )
        info = slot.get_mechanism_info(mechanism)
        infos.append(
            MechanismInfo(
                name=name,
                min_key_bits=int(info.min_key_length or 0),
                max_key_bits=int(info.max_key_length or 0),
                flags=mechanism_flag_names(info.flags),
            )
        )
    return tuple(infos)


def unsupported_reason(slot: Slot, profile: KeyAlgorithmProfile) -> str | None:
    """Why the token cannot make and use ``profile``'s keys, or None if it can (under the lock).

    The token must list the generation mechanism (flag GENERATE_KEY_PAIR) and the first signing
    mechanism (flag SIGN), each with a key-size range that holds the profile's size in bits.
    """
    listed = slot.get_mechanisms()
    needs = (
        (profile.mechanism, MechanismFlag.GENERATE_KEY_PAIR),
        (profile.sign_mechanisms[0], MechanismFlag.SIGN),
    )
    for mechanism, flag in needs:
        name = f"{MECHANISM_PREFIX}{mechanism.name}"
        if mechanism not in listed:
            return f"the token does not list {name}"
        info = slot.get_mechanism_info(mechanism)
        if flag not in info.flags:
            return f"the token lists {name} without the flag {flag.name}"
        low, high = int(info.min_key_length or 0), int(info.max_key_length or 0)
        if not low <= profile.size_bits <= high:
            return f"the token's {name} takes keys of {low} to {high} bits, not {profile.size_bits}"
    return None


def supported_algorithms(slot: Slot) -> tuple[KeyAlgorithm, ...]:
    """The script's key algorithms this token can generate and sign with (under the lock)."""
    return tuple(
        name
        for name, profile in KEY_ALGORITHMS.items()
        if unsupported_reason(slot, profile) is None
    )
