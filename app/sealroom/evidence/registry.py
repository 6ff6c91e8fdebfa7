"""The registry from a verified journal, written once, and the next script pre-filled from it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sealroom.ceremony.activation import SO_PIN, USER_PIN
from sealroom.ceremony.ports import Json
from sealroom.ceremony.registry import (
    REGISTRY_FORMAT,
    Registry,
    RegistryBag,
    RegistryCeremony,
    RegistryDevice,
    RegistryError,
    RegistryKey,
    RegistryShareHolder,
    RegistryShareSet,
)
from sealroom.ceremony.script import EntryStep, KeySpec, Script
from sealroom.journal.entry import CLOSING_EVENTS, OPENING_EVENT, JournalEntry
from sealroom.outputs import OutputFolder

KEY_CLASSES = frozenset({"PRIVATE_KEY", "PUBLIC_KEY", "SECRET_KEY"})
"""Inventory object classes that are keys (certificates and data objects are not)."""


# ------------------------------------------------------------------------------------ building


def registry_from_journal(entries: Sequence[JournalEntry]) -> Registry:
    """The registry a completed ceremony leaves, computed from its verified journal alone.

    Devices are the script's materials with the token's identity as journaled; bags are those
    typed when an item was sealed (reseal entries, share sheets), with holder and location from
    the script's custody section (a custody bag no step typed is kept with ``seq`` None); keys
    are what the token held at the end (inventoried, generated, found, destroyed, zeroised);
    custodians are the share sets of the token's m-of-n activation. Pass only entries that
    ``read_verified_entries`` returned: this function trusts their chain.
    """
    if not entries or entries[0].event != OPENING_EVENT:
        raise RegistryError("The journal does not start with ceremony.opened; no registry.")
    closing = next((e for e in entries if e.event in CLOSING_EVENTS), None)
    if closing is None or closing.event != "ceremony.closed":
        how = "was aborted" if closing is not None else "is not closed"
        where = f" (entry {closing.seq})" if closing is not None else ""
        raise RegistryError(
            f"The ceremony {how}{where}: a registry is built only from a completed ceremony. "
            "After an abort, record where each item is kept and its bag in the next "
            "ceremony's script by hand, from the report of the stopped ceremony."
        )
    opened = entries[0]
    script = _script(opened)
    builder = _Builder(script)
    for entry in entries:
        builder.feed(entry)
    ceremony = RegistryCeremony(
        id=script.ceremony.id,
        type=script.ceremony.type,
        title=script.ceremony.title,
        date=opened.time.date(),
        journal_final_sha256=entries[-1].sha256,
        journal_entries=len(entries),
        script_sha256=str(opened.data["script_sha256"]),
        rehearsal=bool(opened.data.get("rehearsal")),
    )
    return Registry(
        sealroom_registry=REGISTRY_FORMAT,
        ceremony=ceremony,
        devices=builder.devices(),
        bags=builder.bags(),
        keys=tuple(builder.keys.values()),
        custodians=builder.share_sets(),
    )


def _script(opened: JournalEntry) -> Script:
    try:
        return Script.model_validate(_plain(opened.data["script"]))
    except (KeyError, ValidationError) as exc:
        raise RegistryError(
            f"Journal entry {opened.seq} (ceremony.opened) does not carry a valid script."
        ) from exc


def _plain(value: Any) -> Any:
    """Journal data (read-only mappings and tuples) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(data: Mapping[str, Json], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


class _Builder:
    """Folds journal entries, in order, into the registry's rows."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.tokens: dict[str, Mapping[str, Json]] = {}
        self.stand_in: dict[str, bool] = {}
        self.sealed: dict[str, tuple[str, str, int]] = {}
        self.keys: dict[tuple[str, str, str], RegistryKey] = {}
        self.sets: dict[tuple[str, str], RegistryShareSet] = {}
        self.hsm_serial: str | None = None

    # ------------------------------------------------------------------ events

    def feed(self, entry: JournalEntry) -> None:
        handler = {
            "token.identified": self._identified,
            "token.inventory": self._inventory,
            "token.initialised": self._initialised,
            "token.zeroised": self._zeroised,
            "key.generated": self._key,
            "key.found": self._key,
            "key.destroyed": self._destroyed,
            "entry.recorded": self._entry,
            "share.sealed": self._share,
        }.get(entry.event)
        if handler is not None:
            handler(entry)

    def _token(self, entry: JournalEntry, field: str = "token") -> Mapping[str, Json]:
        token = entry.data.get(field)
        if not isinstance(token, Mapping) or not isinstance(token.get("serial"), str):
            raise RegistryError(
                f"Journal entry {entry.seq} ({entry.event}) has no token serial in {field!r}."
            )
        return token

    def _identified(self, entry: JournalEntry) -> None:
        token = self._token(entry)
        material = str(entry.data.get("material"))
        self.tokens[material] = token
        self.stand_in[material] = bool(entry.data.get("stand_in"))
        self.hsm_serial = str(token["serial"])

    def _set_token(self, token: Mapping[str, Json]) -> None:
        hsm = self.script.hsm
        if hsm is not None:
            self.tokens[hsm.material] = token
        self.hsm_serial = str(token["serial"])

    def _inventory(self, entry: JournalEntry) -> None:
        serial = str(self._token(entry)["serial"])
        for item in _objects(entry.data.get("objects")):
            if item["class"] not in KEY_CLASSES:
                continue
            ident = (serial, item["label"], item["cka_id"])
            if ident not in self.keys:
                spec = self._spec(item["label"])
                self.keys[ident] = RegistryKey(
                    hsm_serial=serial,
                    label=item["label"],
                    cka_id=item["cka_id"],
                    algorithm=spec.algorithm if spec else (item["key_type"] or None),
                    purpose=spec.purpose if spec else (),
                    state="present",
                    key_id=spec.id if spec else None,
                    seq=entry.seq,
                )

    def _initialised(self, entry: JournalEntry) -> None:
        token = self._token(entry)
        self._set_token(token)
        serial = str(token["serial"])
        self._all_destroyed(serial, entry.seq)
        activation = entry.data.get("activation")
        if not isinstance(activation, Mapping):
            return
        for what, split in activation.items():
            if not isinstance(split, Mapping) or what not in {USER_PIN, SO_PIN}:
                continue
            holders = [
                RegistryShareHolder(
                    share=str(item["share"]),
                    custodian=str(item["custodian"]),
                    bag=_text(item, "bag"),
                )
                for item in _mappings(split.get("sealed"))
            ]
            self.sets[(serial, what)] = RegistryShareSet.model_validate(
                {
                    "what": what,
                    "hsm_serial": serial,
                    "threshold": split.get("threshold"),
                    "set_identifier": split.get("set_identifier"),
                    "check_value": split.get("check_value"),
                    "holders": holders,
                }
            )

    def _zeroised(self, entry: JournalEntry) -> None:
        token = self._token(entry, "token_after")
        serial = str(token["serial"])
        for item in _objects(entry.data.get("before")):
            if item["class"] in KEY_CLASSES:
                self._mark_destroyed(serial, item["label"], item["cka_id"], entry.seq)
        self._all_destroyed(serial, entry.seq)
        for ident in [k for k in self.sets if k[0] == serial]:
            del self.sets[ident]
        self._set_token(token)

    def _key(self, entry: JournalEntry) -> None:
        data = entry.data
        serial = _text(data, "token_serial") or self.hsm_serial
        label, cka_id = str(data.get("label")), str(data.get("cka_id"))
        fingerprint = data.get("fingerprint")
        spki = fingerprint.get("hex") if isinstance(fingerprint, Mapping) else None
        if serial is None or not isinstance(spki, str):
            raise RegistryError(
                f"Journal entry {entry.seq} ({entry.event}) lacks the token serial or the key's "
                "fingerprint."
            )
        spec = self._spec(label)
        previous = self.keys.get((serial, label, cka_id))
        generated = _text(data, "generated_at") or (previous.generated_at if previous else None)
        self.keys[(serial, label, cka_id)] = RegistryKey(
            hsm_serial=serial,
            label=label,
            cka_id=cka_id,
            algorithm=_text(data, "algorithm"),
            spki_sha256=spki,
            purpose=spec.purpose if spec else (),
            state="present",
            key_id=_text(data, "key_id"),
            generated_at=generated,
            seq=entry.seq,
        )

    def _destroyed(self, entry: JournalEntry) -> None:
        serial = _text(entry.data, "token_serial") or self.hsm_serial or ""
        for item in _objects(entry.data.get("destroyed")):
            if item["class"] in KEY_CLASSES:
                self._mark_destroyed(serial, item["label"], item["cka_id"], entry.seq)
        label = entry.data.get("label")
        for ident, row in list(self.keys.items()):
            if ident[0] == serial and row.label == label:
                self.keys[ident] = row.model_copy(update={"state": "destroyed", "seq": entry.seq})

    def _entry(self, entry: JournalEntry) -> None:
        step = next((s for s in self.script.steps if s.id == entry.step), None)
        if not isinstance(step, EntryStep) or step.entry.expect is None:
            return
        value = _text(entry.data, "value")
        if step.entry.expect.field == "bag_out" and value is not None:
            self.sealed[step.entry.expect.material] = ("material", value, entry.seq)

    def _share(self, entry: JournalEntry) -> None:
        share, bag = _text(entry.data, "share"), _text(entry.data, "bag")
        if share is not None and bag is not None:
            self.sealed[share] = ("share", bag, entry.seq)

    # ------------------------------------------------------------------ helpers

    def _spec(self, label: str) -> KeySpec | None:
        return next((k for k in self.script.keys if k.label == label), None)

    def _mark_destroyed(self, serial: str, label: str, cka_id: str, seq: int) -> None:
        row = self.keys.get((serial, label, cka_id))
        if row is None:
            spec = self._spec(label)
            row = RegistryKey(
                hsm_serial=serial,
                label=label,
                cka_id=cka_id,
                algorithm=spec.algorithm if spec else None,
                purpose=spec.purpose if spec else (),
                state="destroyed",
                key_id=spec.id if spec else None,
                seq=seq,
            )
        self.keys[(serial, label, cka_id)] = row.model_copy(
            update={"state": "destroyed", "seq": seq}
        )

    def _all_destroyed(self, serial: str, seq: int) -> None:
        for ident, row in list(self.keys.items()):
            if ident[0] == serial and row.state == "present":
                self.keys[ident] = row.model_copy(update={"state": "destroyed", "seq": seq})

    # ------------------------------------------------------------------ rows

    def devices(self) -> tuple[RegistryDevice, ...]:
        rows = []
        for material in self.script.materials:
            token = self.tokens.get(material.id)
            rows.append(
                RegistryDevice(
                    material=material.id,
                    kind=material.kind,
                    description=material.description,
                    model=material.model,
                    serial=material.serial,
                    token_label=_text(token, "label") if token else None,
                    token_serial=_text(token, "serial") if token else None,
                    token_model=_text(token, "model") if token else None,
                    firmware_version=_text(token, "firmware_version") if token else None,
                    stand_in=self.stand_in.get(material.id, False),
                )
            )
        return tuple(rows)

    def bags(self) -> tuple[RegistryBag, ...]:
        custody = {c.item: c for c in self.script.custody}
        rows = []
        for item, (kind, serial, seq) in self.sealed.items():
            kept = custody.get(item)
            rows.append(
                RegistryBag(
                    item=item,
                    item_kind="material" if kind == "material" else "share",
                    serial=serial,
                    holder=kept.holder if kept else None,
                    location=kept.location if kept else None,
                    seq=seq,
                )
            )
        materials = {m.id for m in self.script.materials}
        for kept in self.script.custody:
            if kept.bag is not None and kept.item not in self.sealed:
                rows.append(
                    RegistryBag(
                        item=kept.item,
                        item_kind="material" if kept.item in materials else "share",
                        serial=kept.bag,
                        holder=kept.holder,
                        location=kept.location,
                    )
                )
        return tuple(rows)

    def share_sets(self) -> tuple[RegistryShareSet, ...]:
        custody = {c.item: c for c in self.script.custody}
        hsm = self.script.hsm
        sets = dict(self.sets)
        # A ceremony that only uses an activation made earlier carries it on from its script.
        if hsm is not None and hsm.activation is not None and self.hsm_serial is not None:
            serial = self.hsm_serial
            splits = ((USER_PIN, hsm.activation.user_pin), (SO_PIN, hsm.activation.so_pin))
            for what, split in splits:
                if split is None or (serial, what) in sets:
                    continue
                sets[(serial, what)] = RegistryShareSet.model_validate(
                    {
                        "what": what,
                        "hsm_serial": serial,
                        "threshold": split.threshold,
                        "set_identifier": split.set_identifier,
                        "check_value": split.check_value,
                        "holders": [
                            RegistryShareHolder(share=h.share, custodian=h.custodian)
                            for h in split.shares
                        ],
                    }
                )
        rows = []
        for share_set in sets.values():
            holders = []
            for holder in share_set.holders:
                kept = custody.get(holder.share)
                sealed = self.sealed.get(holder.share)
                bag = sealed[1] if sealed else holder.bag or (kept.bag if kept else None)
                holders.append(
                    holder.model_copy(
                        update={"bag": bag, "location": kept.location if kept else None}
                    )
                )
            rows.append(share_set.model_copy(update={"holders": tuple(holders)}))
        return tuple(rows)


def _mappings(value: Json | None) -> list[Mapping[str, Json]]:
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _objects(value: Json | None) -> list[dict[str, str]]:
    """Inventory objects as plain ``{class, label, cka_id, key_type}`` strings."""
    return [
        {
            "class": str(item.get("class") or ""),
            "label": str(item.get("label") or ""),
            "cka_id": str(item.get("cka_id") or ""),
            "key_type": str(item.get("key_type") or ""),
        }
        for item in _mappings(value)
    ]


# ------------------------------------------------------------------------------------ writing


def registry_bytes(registry: Registry) -> bytes:
    """The registry's canonical file form: sorted keys, two-space indent, UTF-8, final newline.

    The same registry always gives the same bytes, so its SHA-256 identifies it in a bundle.
    """
    text = json.dumps(
        registry.model_dump(mode="json"), sort_keys=True, indent=2, ensure_ascii=False
    )
    return (text + "\n").encode("utf-8")


def write_registry(path: Path, registry: Registry) -> str:
    """Write the registry to ``path`` once (never over an existing file); return the path."""
    folder = path.parent if str(path.parent) else Path()
    return OutputFolder(folder).write_once(path.name, registry_bytes(registry))


# ------------------------------------------------------------------------------------ prefill


@dataclass(frozen=True)
class PrefilledScript:
    """The next ceremony's script text with what the registry expects, and what was changed."""

    text: str
    changes: tuple[str, ...]
    """One sentence per value filled in or replaced."""
    notes: tuple[str, ...]
    """Materials left as written, and why (unknown to the registry, a serial that differs)."""


_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./:_-]*$")


def _scalar(value: str, style: str | None = None) -> str:
    """``value`` as a YAML scalar that reads back as the same string."""
    if style in {None, ""} and _PLAIN_SAFE.match(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def prefill_script(registry: Registry, script_text: str) -> PrefilledScript:
    """Fill each material's ``bag_in`` (and a missing ``serial``) from the registry.

    The text is edited in place, value by value, so the author's comments, order and layout
    stay exactly as they were; only the filled values change. A material the registry does not
    know, or whose serial differs from the registry's, is left as written (and noted).
    """
    try:
        root = yaml.compose(script_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise RegistryError(f"The script is not valid YAML: {exc}") from exc
    materials = _mapping_value(root, "materials")
    if not isinstance(materials, yaml.SequenceNode) or materials.flow_style:
        raise RegistryError(
            "The script has no block-style 'materials:' list to fill; add the materials first."
        )
    origin = registry.ceremony.id
    edits: list[tuple[int, int, str]] = []
    changes: list[str] = []
    notes: list[str] = []
    wanted: dict[int, dict[str, str]] = {}
    for index, item in enumerate(materials.value):
        if not isinstance(item, yaml.MappingNode):
            continue
        fields = {str(k.value): (k, v) for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        material_id = _scalar_text(fields.get("id"))
        serial = _scalar_text(fields.get("serial"))
        name = f"materials[{index}] ({material_id or 'no id'})"
        device = registry.device(material_id or "", serial)
        if device is None:
            notes.append(f"{name}: not in the registry of {origin}; left as written.")
            continue
        if serial is not None and serial != device.serial:
            notes.append(
                f"{name}: serial {serial} differs from the registry's {device.serial} "
                f"({device.material}); left as written ('sealroom registry check' names it)."
            )
            continue
        wanted[index] = {}
        inserts: list[tuple[str, str]] = []
        if serial is None:
            inserts.append(("serial", device.serial))
            wanted[index]["serial"] = device.serial
            changes.append(f"{name}: serial {device.serial} added (registry device).")
        bag = registry.bag(device.material)
        if bag is None:
            if "bag_in" in fields:
                notes.append(
                    f"{name}: the registry of {origin} records no sealed bag for it; bag_in "
                    "left as written."
                )
        else:
            wanted[index]["bag_in"] = bag.serial
            where = f"sealed at {origin}" + (f", journal entry {bag.seq}" if bag.seq else "")
            kept = f"; held by {bag.holder}" if bag.holder else ""
            kept += f", {bag.location}" if bag.location else ""
            current = fields.get("bag_in")
            if current is None:
                inserts.append(("bag_in", bag.serial))
                changes.append(f"{name}: bag_in {bag.serial} added ({where}{kept}).")
            elif _scalar_text(current) != bag.serial:
                node = current[1]
                text = _scalar(bag.serial, node.style)
                edits.append((node.start_mark.index, node.end_mark.index, text))
                changes.append(
                    f"{name}: bag_in {_scalar_text(current)} replaced by {bag.serial} "
                    f"({where}{kept})."
                )
        if inserts:
            edits.append(_insertion(script_text, item, fields, inserts))
    text = script_text
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    _require_only(script_text, text, wanted)
    return PrefilledScript(text, tuple(changes), tuple(notes))


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found: yaml.Node = value_node
            return found
    return None


def _scalar_text(pair: tuple[yaml.Node, yaml.Node] | None) -> str | None:
    if pair is None or not isinstance(pair[1], yaml.ScalarNode):
        return None
    return str(pair[1].value)


def _insertion(
    text: str,
    item: yaml.MappingNode,
    fields: Mapping[str, tuple[yaml.Node, yaml.Node]],
    inserts: Sequence[tuple[str, str]],
) -> tuple[int, int, str]:
    """Where and what to insert so new keys sit after ``serial`` (or ``id``) in the mapping."""
    if item.flow_style:
        position = item.end_mark.index - 1  # before the closing brace
        added = "".join(f", {key}: {_scalar(value)}" for key, value in inserts)
        return position, position, added
    anchor = fields.get("serial") or fields.get("id") or next(iter(fields.values()))
    key_node, value_node = anchor
    indent = " " * key_node.start_mark.column
    end = text.find("\n", value_node.end_mark.index)
    position = len(text) if end < 0 else end
    added = "".join(f"\n{indent}{key}: {_scalar(value)}" for key, value in inserts)
    return position, position, added


def _require_only(before: str, after: str, wanted: Mapping[int, Mapping[str, str]]) -> None:
    """Re-read both texts: only the wanted values may differ, and they must read back."""
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    expected = _plain(old)
    for index, values in wanted.items():
        expected["materials"][index].update(values)
    if new != expected:
        raise RegistryError(
            "Filling the script changed more than the materials' bags and serials; nothing was "
            "written. Fill them by hand from 'sealroom registry check'."
        )
