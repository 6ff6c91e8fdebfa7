"""The registry carried between ceremonies: the devices, bags, keys and shares to find next."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError

from sealroom.ceremony.activation import SO_PIN, USER_PIN
from sealroom.ceremony.script import (
    CeremonyType,
    Frozen,
    Identifier,
    KeyPurpose,
    Material,
    MaterialKind,
    NonEmpty,
    PinSplit,
    Script,
)
from sealroom.ceremony.source import (
    FieldPath,
    SourceFormatError,
    format_path,
    read_source,
)
from sealroom.errors import SealroomError

REGISTRY_FORMAT = 1
"""The value of ``sealroom_registry`` in every registry file this version writes and reads."""

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
CkaIdHex = Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{2})*$", max_length=256)]

TokenKey = tuple[str, str, str | None]
"""A key seen on the token: label, CKA_ID (lowercase hex), SPKI SHA-256 (hex; None: not read)."""


class RegistryError(SealroomError):
    """A registry file cannot be read or is not a valid registry."""


class RegistryCeremony(Frozen):
    """The ceremony the registry was computed from, tied to its journal."""

    id: NonEmpty
    type: CeremonyType
    title: NonEmpty
    date: date
    """UTC date of the ``ceremony.opened`` entry."""
    journal_final_sha256: Hex64
    """SHA-256 of the journal's last entry (its final checkpoint): ties the registry to it."""
    journal_entries: int = Field(ge=1)
    script_sha256: Hex64
    rehearsal: bool


class RegistryDevice(Frozen):
    """A material the ceremony used, with the token's own identity where it is an HSM."""

    material: Identifier
    kind: MaterialKind
    description: NonEmpty
    model: NonEmpty
    serial: NonEmpty
    """The serial the script declared (and the room checked where a step asked for it)."""
    token_label: NonEmpty | None = None
    token_serial: NonEmpty | None = None
    """The serial the PKCS#11 token reported (differs from ``serial`` only for a stand-in)."""
    token_model: NonEmpty | None = None
    firmware_version: NonEmpty | None = None
    stand_in: bool = False
    """True when a rehearsal's throwaway token stood in for the scripted HSM."""


class RegistryBag(Frozen):
    """The tamper-evident bag an item was sealed in at the end of the ceremony (EV-TEB)."""

    item: Identifier
    """A material id, or a share id."""
    item_kind: Literal["material", "share"]
    serial: NonEmpty
    holder: Identifier | None = None
    location: NonEmpty | None = None
    seq: int | None = Field(default=None, ge=1)
    """The journal entry where the serial was typed; None when only the script's custody section
    declares it (no step typed it)."""


class RegistryKey(Frozen):
    """A key pair on an HSM as the ceremony left it (EV-KEY-ID, EV-KEY-ALG, EV-KEY-FPR)."""

    hsm_serial: NonEmpty
    """The token serial the key is on."""
    label: str
    cka_id: CkaIdHex
    algorithm: NonEmpty | None = None
    """The script's algorithm (``rsa-4096``...), or the PKCS#11 key type when only inventoried."""
    spki_sha256: Hex64 | None = None
    """None for a key only seen in an inventory (its public key was not read)."""
    purpose: tuple[KeyPurpose, ...] = ()
    state: Literal["present", "destroyed"]
    key_id: Identifier | None = None
    """The script's key id, when the script names this key."""
    generated_at: NonEmpty | None = None
    seq: int = Field(ge=1)
    """The journal entry that last established this row."""


class RegistryShareHolder(Frozen):
    share: Identifier
    custodian: Identifier
    bag: NonEmpty | None = None
    location: NonEmpty | None = None


class RegistryShareSet(Frozen):
    """A PIN split k-of-n among custodians (EV-QUORUM)."""

    what: Literal["HSM user PIN", "HSM security officer PIN"]
    hsm_serial: NonEmpty
    threshold: int = Field(ge=1)
    set_identifier: int | None = None
    check_value: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{6}$")] | None = None
    holders: tuple[RegistryShareHolder, ...] = Field(min_length=1)


class Registry(Frozen):
    """What one ceremony left behind, for the next one to find at its opening."""

    sealroom_registry: Literal[1]
    ceremony: RegistryCeremony
    devices: tuple[RegistryDevice, ...] = ()
    bags: tuple[RegistryBag, ...] = ()
    keys: tuple[RegistryKey, ...] = ()
    custodians: tuple[RegistryShareSet, ...] = ()

    def device(self, material_id: str, serial: str | None = None) -> RegistryDevice | None:
        """The device with this material id, else the one with this serial, else None."""
        for device in self.devices:
            if device.material == material_id:
                return device
        if serial is not None:
            for device in self.devices:
                if device.serial == serial:
                    return device
        return None

    def bag(self, item: str) -> RegistryBag | None:
        return next((b for b in self.bags if b.item == item), None)


@dataclass(frozen=True)
class RegistryMismatch:
    """One thing the next ceremony's script or token says that the registry does not."""

    subject: str
    """What is compared, e.g. ``material hsm bag_in`` or ``key exr-root-r1-2026``."""
    expected: str
    """What the registry says."""
    observed: str
    """What the script or the token says."""
    sentence: str
    """The mismatch in words for the room (becomes a deviation's 'observed')."""
    path: FieldPath = ()
    """Where in the script the compared value is (for ``SCRIPT:line``); () for none."""


# ------------------------------------------------------------------------------------ loading


def load_registry(path: Path) -> Registry:
    """Read and validate a registry file; RegistryError names the file, line and field."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RegistryError(f"{path}: cannot read the registry: {reason}.") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RegistryError(f"{path}:{line}: the registry is not UTF-8 text.") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}:{exc.lineno}: the registry is not JSON: {exc.msg}.") from exc
    if not isinstance(data, dict):
        raise RegistryError(f"{path}:1: a registry is a JSON object.")
    version = data.get("sealroom_registry")
    if version != REGISTRY_FORMAT:
        raise RegistryError(
            f"{path}:1: sealroom_registry: this is not a Sealroom registry of format "
            f"{REGISTRY_FORMAT} (found {version!r})."
        )
    try:
        return Registry.model_validate(data)
    except ValidationError as exc:
        sentences = _error_sentences(path, data, exc)
        more = f" (and {len(sentences) - 1} more problem(s))" if len(sentences) > 1 else ""
        raise RegistryError(f"The registry is not valid: {sentences[0]}{more}") from None


def _error_sentences(path: Path, data: Any, exc: ValidationError) -> list[str]:
    try:
        doc = read_source(path)
    except SourceFormatError:
        doc = None
    sentences = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = doc.existing_prefix(loc) if doc is not None else ()
        line = doc.position(where).line if doc is not None else 1
        name = format_path(tuple(e for e in loc if isinstance(e, str | int)))
        kind = error["type"]
        if kind == "missing":
            problem = "required field is missing"
        elif kind == "extra_forbidden":
            problem = "unknown field"
        elif kind == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            problem = f"{error.get('input')!r} is not allowed here; use {expected}"
        else:
            value = error.get("input")
            shown = f" (found {value!r})" if isinstance(value, str | int | bool) else ""
            problem = f"{error['msg'][:1].lower()}{error['msg'][1:]}{shown}"
        sentences.append(f"{path}:{line}: {name}: {problem}.")
    return sentences


# ------------------------------------------------------------------------------------ lookups


def expected_bag_in(registry: Registry, material_id: str, serial: str | None = None) -> str | None:
    """The bag the registry says the material was sealed in (what the next opening checks)."""
    device = registry.device(material_id, serial)
    bag = registry.bag(device.material if device is not None else material_id)
    return bag.serial if bag is not None else None


def present_keys(registry: Registry, hsm_serial: str) -> tuple[RegistryKey, ...]:
    """The keys the registry says are on the token ``hsm_serial``."""
    return tuple(k for k in registry.keys if k.hsm_serial == hsm_serial and k.state == "present")


# ------------------------------------------------------------------------------------ comparing


def compare_registry(
    registry: Registry,
    script: Script,
    *,
    token_serial: str | None,
    token_keys: Sequence[TokenKey] | None,
) -> tuple[RegistryMismatch, ...]:
    """Every difference between the registry and the next ceremony's script and token.

    Compared: each scripted material's serial and ``bag_in`` with the registry's device and sealed
    bag; the token serial with the registry's HSM; the keys on the token with the registry's keys
    for that HSM (missing, unexpected, another CKA_ID, another fingerprint); the custodians of the
    script's m-of-n activation with the registry's share sets. ``token_serial`` or ``token_keys``
    None: that comparison is not made (the token was not read). A material the registry does not
    know is new, not a mismatch.
    """
    origin = f"ceremony {registry.ceremony.id}"
    found: list[RegistryMismatch] = []
    found += _material_mismatches(registry, script, origin)
    hsm_serial = token_serial
    if script.hsm is not None:
        index, material = _material_index(script, script.hsm.material)
        device = registry.device(material.id, material.serial) if material else None
        where: FieldPath = ("materials", index, "serial") if material else ("hsm", "material")
        if device is not None:
            known = device.token_serial or device.serial
            if token_serial is not None and token_serial != known:
                found.append(
                    RegistryMismatch(
                        "token serial",
                        known,
                        token_serial,
                        f"The token reports serial {token_serial!r}, but after {origin} the "
                        f"registry has {device.material!r} as token serial {known!r}.",
                        where,
                    )
                )
            hsm_serial = known
        if token_keys is not None and hsm_serial is not None:
            found += _key_mismatches(registry, script, hsm_serial, token_keys, origin)
        found += _custodian_mismatches(registry, script, hsm_serial, origin)
    return tuple(found)


def registry_key_mismatch(
    registry: Registry, hsm_serial: str, label: str, cka_id: str, spki_sha256: str
) -> RegistryMismatch | None:
    """A key found on the token (``key.found``) against the registry's row for it, or None."""
    row = next(
        (k for k in registry.keys if k.hsm_serial == hsm_serial and k.label == label),
        None,
    )
    if row is None or row.state != "present":
        return None if row is None else _destroyed(row, registry, ())
    if row.cka_id != cka_id.lower():
        return _cka_differs(row, cka_id.lower(), registry, ())
    if row.spki_sha256 is not None and row.spki_sha256 != spki_sha256.lower():
        return _fingerprint_differs(row, spki_sha256.lower(), registry, ())
    return None


def _material_index(script: Script, material_id: str) -> tuple[int, Material | None]:
    for index, material in enumerate(script.materials):
        if material.id == material_id:
            return index, material
    return 0, None


def _material_mismatches(registry: Registry, script: Script, origin: str) -> list[RegistryMismatch]:
    found: list[RegistryMismatch] = []
    for index, material in enumerate(script.materials):
        device = registry.device(material.id, material.serial)
        if device is None:
            continue
        if material.serial != device.serial:
            found.append(
                RegistryMismatch(
                    f"material {material.id} serial",
                    device.serial,
                    material.serial,
                    f"The script declares {material.id!r} with serial {material.serial!r}, but "
                    f"the registry of {origin} has {device.material!r} with serial "
                    f"{device.serial!r}.",
                    ("materials", index, "serial"),
                )
            )
        bag = registry.bag(device.material)
        expected = bag.serial if bag is not None else None
        if material.bag_in == expected:
            continue
        where: FieldPath = ("materials", index, "bag_in" if material.bag_in else "id")
        if expected is None:
            sentence = (
                f"The script expects {material.id!r} in bag {material.bag_in!r}, but the "
                f"registry of {origin} records no bag sealed for it."
            )
        elif material.bag_in is None:
            sentence = (
                f"The registry of {origin} has {material.id!r} sealed in bag {expected!r}, but "
                "the script expects no bag for it."
            )
        else:
            sentence = (
                f"The script expects {material.id!r} in bag {material.bag_in!r}, but the "
                f"registry of {origin} has it sealed in bag {expected!r}"
                + (f" (held by {bag.holder})" if bag is not None and bag.holder else "")
                + "."
            )
        found.append(
            RegistryMismatch(
                f"material {material.id} bag_in",
                expected or "(no bag)",
                material.bag_in or "(no bag)",
                sentence,
                where,
            )
        )
    return found


def _key_path(script: Script, label: str) -> FieldPath:
    for index, key in enumerate(script.keys):
        if key.label == label:
            return ("keys", index, "label")
    return ("hsm",)


def _destroyed(row: RegistryKey, registry: Registry, path: FieldPath) -> RegistryMismatch:
    return RegistryMismatch(
        f"key {row.label}",
        "destroyed",
        "present",
        f"The token holds the key {row.label!r} (CKA_ID {row.cka_id}), which the registry of "
        f"ceremony {registry.ceremony.id} records as destroyed.",
        path,
    )


def _cka_differs(
    row: RegistryKey, cka_id: str, registry: Registry, path: FieldPath
) -> RegistryMismatch:
    return RegistryMismatch(
        f"key {row.label} CKA_ID",
        row.cka_id,
        cka_id,
        f"The key {row.label!r} on the token has CKA_ID {cka_id}, but the registry of ceremony "
        f"{registry.ceremony.id} has CKA_ID {row.cka_id}.",
        path,
    )


def _fingerprint_differs(
    row: RegistryKey, spki: str, registry: Registry, path: FieldPath
) -> RegistryMismatch:
    expected = row.spki_sha256 or ""
    return RegistryMismatch(
        f"key {row.label} fingerprint",
        expected,
        spki,
        f"The key {row.label!r} on the token has public key SHA-256 {spki}, but the registry of "
        f"ceremony {registry.ceremony.id} has {expected}: it is not the same key pair.",
        path,
    )


def _key_mismatches(
    registry: Registry,
    script: Script,
    hsm_serial: str,
    token_keys: Sequence[TokenKey],
    origin: str,
) -> list[RegistryMismatch]:
    seen: dict[tuple[str, str], str | None] = {}
    for label, cka_id, spki in token_keys:
        key = (label, cka_id.lower())
        if seen.get(key) is None:
            seen[key] = spki.lower() if spki else None
    rows = [k for k in registry.keys if k.hsm_serial == hsm_serial]
    found: list[RegistryMismatch] = []
    matched: set[tuple[str, str]] = set()
    for row in rows:
        path = _key_path(script, row.label)
        exact = (row.label, row.cka_id)
        if row.state == "destroyed":
            if exact in seen:
                matched.add(exact)
                found.append(_destroyed(row, registry, path))
            continue
        if exact in seen:
            matched.add(exact)
            spki = seen[exact]
            if spki is not None and row.spki_sha256 is not None and spki != row.spki_sha256:
                found.append(_fingerprint_differs(row, spki, registry, path))
            continue
        other = next((k for k in seen if k[0] == row.label and k not in matched), None)
        if other is not None:
            matched.add(other)
            found.append(_cka_differs(row, other[1], registry, path))
            continue
        fpr = f", public key SHA-256 {row.spki_sha256}" if row.spki_sha256 else ""
        found.append(
            RegistryMismatch(
                f"key {row.label}",
                "present",
                "missing",
                f"The registry of {origin} has the key {row.label!r} (CKA_ID {row.cka_id}{fpr}) "
                f"on token {hsm_serial}, but the token does not hold it.",
                path,
            )
        )
    for label, cka_id in seen:
        if (label, cka_id) in matched:
            continue
        found.append(
            RegistryMismatch(
                f"key {label or '(no label)'}",
                "absent",
                "present",
                f"The token holds a key {label!r} (CKA_ID {cka_id}) that the registry of "
                f"{origin} does not list for token {hsm_serial}.",
                _key_path(script, label),
            )
        )
    return found


def _custodian_mismatches(
    registry: Registry, script: Script, hsm_serial: str | None, origin: str
) -> list[RegistryMismatch]:
    hsm = script.hsm
    if hsm is None:
        return []
    found: list[RegistryMismatch] = []
    for attr, what in (("user_pin", USER_PIN), ("so_pin", SO_PIN)):
        split: PinSplit | None = getattr(hsm.activation, attr) if hsm.activation else None
        sets = [s for s in registry.custodians if s.what == what]
        share_set = next((s for s in sets if s.hsm_serial == hsm_serial), None)
        if share_set is None and len(sets) == 1 and hsm_serial is None:
            share_set = sets[0]
        if share_set is None:
            continue
        base: FieldPath = ("hsm", "activation", attr)
        holders = ", ".join(h.custodian for h in share_set.holders)
        if split is None:
            found.append(
                RegistryMismatch(
                    f"{what} custodians",
                    f"{share_set.threshold} of {len(share_set.holders)}: {holders}",
                    "no m-of-n activation",
                    f"The registry of {origin} has the {what} split {share_set.threshold} of "
                    f"{len(share_set.holders)} among {holders}, but the script has no m-of-n "
                    f"activation for it.",
                    ("hsm",),
                )
            )
            continue
        found += _split_mismatches(share_set, split, base, what, origin)
    return found


def _split_mismatches(
    share_set: RegistryShareSet, split: PinSplit, base: FieldPath, what: str, origin: str
) -> list[RegistryMismatch]:
    found: list[RegistryMismatch] = []
    if split.threshold != share_set.threshold:
        found.append(
            RegistryMismatch(
                f"{what} threshold",
                str(share_set.threshold),
                str(split.threshold),
                f"The script needs {split.threshold} shares of the {what}, but the registry of "
                f"{origin} has it split with threshold {share_set.threshold}.",
                (*base, "threshold"),
            )
        )
    for name, theirs, ours in (
        ("check value", share_set.check_value, split.check_value),
        ("set identifier", share_set.set_identifier, split.set_identifier),
    ):
        if ours is not None and theirs is not None and ours != theirs:
            field = "check_value" if name == "check value" else "set_identifier"
            found.append(
                RegistryMismatch(
                    f"{what} {name}",
                    str(theirs),
                    str(ours),
                    f"The script gives the {what} shares the {name} {ours}, but the registry of "
                    f"{origin} has {theirs}: the sheets are from another set.",
                    (*base, field),
                )
            )
    registered = {h.share: h for h in share_set.holders}
    scripted = {h.share for h in split.shares}
    for index, holder in enumerate(split.shares):
        path: FieldPath = (*base, "shares", index, "custodian")
        row = registered.get(holder.share)
        if row is None:
            found.append(
                RegistryMismatch(
                    f"{what} share {holder.share}",
                    "(no such share)",
                    holder.custodian,
                    f"The script names a share {holder.share!r} of the {what} held by "
                    f"{holder.custodian!r}, which the registry of {origin} does not list.",
                    (*base, "shares", index, "share"),
                )
            )
        elif row.custodian != holder.custodian:
            found.append(
                RegistryMismatch(
                    f"{what} share {holder.share} custodian",
                    row.custodian,
                    holder.custodian,
                    f"The script has {holder.custodian!r} holding the {what} share "
                    f"{holder.share!r}, but the registry of {origin} has {row.custodian!r}"
                    + (f" (bag {row.bag})" if row.bag else "")
                    + ".",
                    path,
                )
            )
    for share, row in registered.items():
        if share not in scripted:
            found.append(
                RegistryMismatch(
                    f"{what} share {share}",
                    row.custodian,
                    "(not in the script)",
                    f"The registry of {origin} has the {what} share {share!r} held by "
                    f"{row.custodian!r}, but the script does not name it.",
                    (*base, "shares"),
                )
            )
    return found
