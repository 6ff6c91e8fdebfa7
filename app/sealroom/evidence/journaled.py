"""What the journal says was made, taken in and printed: the files a bundle holds, with hashes."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sealroom.ceremony.ports import Json
from sealroom.errors import SealroomError
from sealroom.journal.entry import OPENING_EVENT, JournalEntry

ArtefactKind = Literal["certificate", "csr", "crl"]
InputKind = Literal["certificate", "csr"]

ARTEFACT_EVENTS: Mapping[str, tuple[ArtefactKind, str]] = {
    "certificate.issued": ("certificate", "certificate_id"),
    "csr.made": ("csr", "csr_id"),
    "crl.issued": ("crl", "crl_id"),
}
"""Event -> (artefact kind, the data field holding the artefact's id)."""
INPUT_EVENT = "input.received"
REPORT_EVENT = "report.printed"


class JournalContentError(SealroomError):
    """A verified journal lacks a field its event must carry (docs/journal-events.md)."""


@dataclass(frozen=True)
class JournaledArtefact:
    """A certificate, CSR or CRL the ceremony made, as its journal entry records it."""

    kind: ArtefactKind
    id: str
    output: str
    """The file name the engine wrote (PEM) in the output folder."""
    der_sha256: str
    """SHA-256 of the DER, lower-case hex, as journaled."""
    pem: str
    seq: int
    key_id: str
    signer_fingerprint: str | None
    """Hex SHA-256 of the signing key's SPKI (certificates), or None."""


@dataclass(frozen=True)
class JournaledInput:
    """A certificate or CSR taken in through the air gap, with its DER as journaled."""

    kind: InputKind
    id: str
    der: bytes
    der_sha256: str
    seq: int

    @property
    def file_name(self) -> str:
        return f"{self.id}.{'crt' if self.kind == 'certificate' else 'csr'}.pem"


@dataclass(frozen=True)
class JournaledReport:
    """A report print journaled with the document's SHA-256."""

    sha256: str
    seq: int
    covers_through: int
    destination: str


@dataclass(frozen=True)
class CeremonyFacts:
    """The opening's identity of the ceremony and everything the journal names as a file."""

    ceremony_id: str
    ceremony_type: str
    title: str
    rehearsal: bool
    script_name: str
    script_sha256: str
    script: Mapping[str, Json]
    artefacts: tuple[JournaledArtefact, ...]
    inputs: tuple[JournaledInput, ...]
    reports: tuple[JournaledReport, ...]


def ceremony_facts(entries: Sequence[JournalEntry]) -> CeremonyFacts:
    """The files and hashes a verified journal names; JournalContentError if malformed."""
    if not entries or entries[0].event != OPENING_EVENT:
        raise JournalContentError(f"The journal does not start with '{OPENING_EVENT}'.")
    opening = entries[0]
    script = opening.data.get("script")
    facts = CeremonyFacts(
        ceremony_id=_text(opening, "ceremony_id"),
        ceremony_type=_text(opening, "ceremony_type"),
        title=_text(opening, "title"),
        rehearsal=opening.data.get("rehearsal") is True,
        script_name=_text(opening, "script_name"),
        script_sha256=_text(opening, "script_sha256"),
        script=script if isinstance(script, Mapping) else {},
        artefacts=tuple(_artefacts(entries)),
        inputs=tuple(_inputs(entries)),
        reports=tuple(
            JournaledReport(
                sha256=_text(entry, "sha256"),
                seq=entry.seq,
                covers_through=_int(entry, "covers_through"),
                destination=_text(entry, "destination"),
            )
            for entry in entries
            if entry.event == REPORT_EVENT
        ),
    )
    return facts


def _artefacts(entries: Sequence[JournalEntry]) -> list[JournaledArtefact]:
    found: list[JournaledArtefact] = []
    for entry in entries:
        if entry.event not in ARTEFACT_EVENTS:
            continue
        kind, id_field = ARTEFACT_EVENTS[entry.event]
        fingerprint = entry.data.get("fingerprint")
        signer = fingerprint.get("hex") if isinstance(fingerprint, Mapping) else None
        found.append(
            JournaledArtefact(
                kind=kind,
                id=_text(entry, id_field),
                output=_text(entry, "output"),
                der_sha256=_text(entry, "sha256"),
                pem=_text(entry, "pem"),
                seq=entry.seq,
                key_id=_text(entry, "key_id"),
                signer_fingerprint=signer if isinstance(signer, str) else None,
            )
        )
    return found


def _inputs(entries: Sequence[JournalEntry]) -> list[JournaledInput]:
    found: list[JournaledInput] = []
    for entry in entries:
        if entry.event != INPUT_EVENT:
            continue
        kind = _text(entry, "kind")
        if kind not in {"certificate", "csr"}:
            continue  # backup blobs and journal heads are not X.509 objects
        try:
            der = base64.b64decode(_text(entry, "der_b64"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise JournalContentError(
                f"Journal entry seq {entry.seq} ({INPUT_EVENT}): der_b64 is not base64."
            ) from exc
        found.append(
            JournaledInput(
                kind="certificate" if kind == "certificate" else "csr",
                id=_text(entry, "input_id"),
                der=der,
                der_sha256=_text(entry, "der_sha256"),
                seq=entry.seq,
            )
        )
    return found


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(entry: JournalEntry, name: str) -> str:
    value = entry.data.get(name)
    if not isinstance(value, str):
        raise JournalContentError(
            f"Journal entry seq {entry.seq} ({entry.event}) has no text field {name!r}."
        )
    return value


def _int(entry: JournalEntry, name: str) -> int:
    value = entry.data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise JournalContentError(
            f"Journal entry seq {entry.seq} ({entry.event}) has no integer field {name!r}."
        )
    return value
