"""Resuming an interrupted ceremony: what its journal says was done, read back entry by entry."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sealroom.ceremony.ports import (
    IssuedCertificate,
    IssuedCrl,
    IssuedRequest,
    Json,
    KeyRecord,
    RecordedEntry,
    RevokedCertificate,
)
from sealroom.ceremony.script import ActionStep, Script
from sealroom.errors import CeremonyError

# The entry that proves an action took effect: a step whose effect is journaled is never repeated.
EFFECT_EVENTS: Mapping[str, str] = {
    "generate-key": "key.generated",
    "sign-root-certificate": "certificate.issued",
    "sign-certificate": "certificate.issued",
    "make-csr": "csr.made",
    "sign-crl": "crl.issued",
    "destroy-key": "key.destroyed",
    "zeroise-token": "token.zeroised",
    "initialise-token": "token.initialised",
    "print-report": "report.printed",
    "import-qr": "input.received",
    "backup-key": "backup.made",
    "restore-test": "restore.tested",
    "recover-key": "key.recovered",
    "resplit-backup": "backup.resplit",
}
LOGIN_EVENTS = frozenset({"hsm.login"})
LOGOUT_EVENTS = frozenset({"hsm.logout", "token.zeroised"})


@dataclass
class Replayed:
    """The state of an interrupted ceremony, rebuilt from its journal alone."""

    last_seq: int
    done: set[str] = field(default_factory=set)
    """Step ids the journal shows completed (or skipped by a recorded deviation)."""
    present: tuple[str, ...] = ()
    login_step: str | None = None
    """The step whose login was still open when the journal stopped (the session is lost)."""
    effects: dict[str, dict[str, int]] = field(default_factory=dict)
    """Step id -> effect event -> seq, for steps started but not completed."""
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    certificates: dict[str, IssuedCertificate] = field(default_factory=dict)
    requests: dict[str, IssuedRequest] = field(default_factory=dict)
    crls: dict[str, IssuedCrl] = field(default_factory=dict)
    inputs: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """Input id -> (kind, DER) as journaled by ``input.received`` (checked again on resume)."""
    outputs: dict[str, str] = field(default_factory=dict)
    """Output name -> SHA-256 hex of what was journaled as written under it."""
    token_serial: str | None = None
    report_printed: bool = False

    @property
    def logged_in(self) -> bool:
        return self.login_step is not None


def replay(
    script: Script, script_sha256: str, rehearsal: bool, history: Sequence[RecordedEntry]
) -> Replayed:
    """Read the journal of this script's interrupted ceremony; refuse one that is not."""
    if not history or history[0].event != "ceremony.opened":
        raise CeremonyError(
            "The journal does not start with the ceremony's opening; there is nothing to resume."
        )
    opened = history[0].data
    if opened.get("script_sha256") != script_sha256:
        raise CeremonyError(
            f"The journal was written by the script {opened.get('script_name')!r} with SHA-256 "
            f"{opened.get('script_sha256')}, not by this script ({script_sha256}). A ceremony "
            "resumes only with the script it was opened with."
        )
    if opened.get("rehearsal") is not rehearsal:
        was = "a rehearsal" if opened.get("rehearsal") else "a production ceremony"
        raise CeremonyError(f"The journal is of {was}; resume it the same way.")
    state = Replayed(last_seq=history[-1].seq)
    step_ids = {step.id for step in script.steps}
    for entry in history:
        _apply(state, entry, step_ids)
    for step_id in state.done:
        state.effects.pop(step_id, None)
    # The journal's own resume entries come first: the interruption was after the entry they name.
    reopened = [e for e in history if e.event == "journal.resumed"]
    if reopened:
        after = reopened[-1].data.get("after_seq")
        if isinstance(after, int) and not isinstance(after, bool):
            state.last_seq = after
    return state


def _apply(state: Replayed, entry: RecordedEntry, step_ids: set[str]) -> None:
    event, data, step = entry.event, entry.data, entry.step
    if event in {"ceremony.closed", "ceremony.aborted"}:
        raise CeremonyError(
            f"The ceremony already ended (journal entry {entry.seq}, {event}); it cannot be "
            "resumed. Hold a new ceremony in a new output folder."
        )
    if step is not None and step not in step_ids:
        raise CeremonyError(
            f"Journal entry {entry.seq} names the step {step!r}, which this script does not have."
        )
    if event in {"step.completed", "step.skipped"} and step is not None:
        state.done.add(step)
    elif event == "attendance.recorded":
        state.present = tuple(_strings(data.get("present")))
    elif event == "break.ended":
        gone = set(_strings(data.get("absent")))
        state.present = tuple(p for p in state.present if p not in gone)
    elif event == "token.identified":
        token = data.get("token")
        if isinstance(token, Mapping):
            state.token_serial = str(token.get("serial"))
    elif event in LOGIN_EVENTS:
        state.login_step = step
    elif event in LOGOUT_EVENTS:
        state.login_step = None
    elif event in {"key.generated", "key.found"}:
        record = key_record(data)
        state.keys[record.key_id] = record
    elif event == "key.destroyed":
        state.keys.pop(str(data.get("key_id")), None)
    elif event == "certificate.issued":
        cert = _certificate(data)
        state.certificates[cert.certificate_id] = cert
        state.outputs[str(data["output"])] = str(data["sha256"])
    elif event == "csr.made":
        request = _request(data)
        state.requests[request.csr_id] = request
        state.outputs[str(data["output"])] = str(data["sha256"])
    elif event == "crl.issued":
        crl = _crl(data)
        state.crls[crl.crl_id] = crl
        state.outputs[str(data["output"])] = str(data["sha256"])
    elif event == "input.received":
        der = base64.b64decode(str(data["der_b64"]))
        state.inputs[str(data["input_id"])] = (str(data["kind"]), der)
    elif event == "report.printed":
        state.report_printed = True
    if step is not None and event in EFFECT_EVENTS.values():
        state.effects.setdefault(step, {})[event] = entry.seq


def effect_seq(state_effects: Mapping[str, Mapping[str, int]], step: ActionStep) -> int | None:
    """The journal entry proving ``step``'s action took effect before the interruption, if any."""
    wanted = EFFECT_EVENTS.get(step.action)
    if wanted is None:
        return None
    return state_effects.get(step.id, {}).get(wanted)


def key_record(data: Mapping[str, Json]) -> KeyRecord:
    """The KeyRecord that ``key.generated`` / ``key.found`` journaled (see key_record_json)."""
    attributes = data.get("attributes")
    return KeyRecord(
        key_id=str(data["key_id"]),
        label=str(data["label"]),
        cka_id_hex=str(data["cka_id"]),
        algorithm=str(data["algorithm"]),
        key_type=_key_type(data.get("key_type")),
        size_bits=_int(data.get("size_bits")),
        curve=None if data.get("curve") is None else str(data.get("curve")),
        public_exponent=(
            None if data.get("public_exponent") is None else _int(data.get("public_exponent"))
        ),
        spki_der=base64.b64decode(str(data["spki_der_b64"])),
        attributes=(
            {str(k): bool(v) for k, v in attributes.items()}
            if isinstance(attributes, Mapping)
            else {}
        ),
        mechanism=str(data.get("mechanism", "")),
    )


def _certificate(data: Mapping[str, Json]) -> IssuedCertificate:
    pem = str(data["pem"])
    fingerprint = data.get("fingerprint")
    spki = data.get("subject_spki_sha256")
    if spki is None and isinstance(fingerprint, Mapping):
        spki = fingerprint.get("hex")
    return IssuedCertificate(
        certificate_id=str(data["certificate_id"]),
        der=pem_der(pem),
        pem=pem,
        subject=str(data["subject"]),
        issuer=str(data["issuer"]),
        serial_hex=str(data["serial"]),
        not_before=_time(data["not_before"]),
        not_after=_time(data["not_after"]),
        signature_algorithm=str(data["signature_algorithm"]),
        spki_sha256_hex=str(spki),
        checks=tuple(_strings(data.get("checks"))),
        lint_warnings=tuple(_strings(data.get("lint_warnings"))),
    )


def _request(data: Mapping[str, Json]) -> IssuedRequest:
    pem = str(data["pem"])
    return IssuedRequest(
        csr_id=str(data["csr_id"]),
        der=pem_der(pem),
        pem=pem,
        subject=str(data["subject"]),
        signature_algorithm=str(data["signature_algorithm"]),
        spki_sha256_hex=str(data["spki_sha256"]),
        checks=tuple(_strings(data.get("checks"))),
    )


def _crl(data: Mapping[str, Json]) -> IssuedCrl:
    pem = str(data["pem"])
    revoked = data.get("revoked")
    return IssuedCrl(
        crl_id=str(data["crl_id"]),
        der=pem_der(pem),
        pem=pem,
        issuer=str(data["issuer"]),
        number=_int(data["number"]),
        this_update=_time(data["this_update"]),
        next_update=_time(data["next_update"]),
        revoked=tuple(
            RevokedCertificate(
                serial_hex=str(item["serial"]),
                revoked_at=_time(item["revoked_at"]),
                reason=str(item["reason"]),
            )
            for item in (revoked if isinstance(revoked, Sequence) else ())
            if isinstance(item, Mapping)
        ),
        signature_algorithm=str(data["signature_algorithm"]),
        checks=tuple(_strings(data.get("checks"))),
        lint_warnings=tuple(_strings(data.get("lint_warnings"))),
    )


def pem_der(pem: str) -> bytes:
    """The DER inside one PEM block (the journal keeps certificates, CSRs and CRLs as PEM)."""
    body = [line for line in pem.strip().splitlines() if line and not line.startswith("-----")]
    return base64.b64decode("".join(body), validate=True)


def _time(value: Json) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _int(value: Json) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CeremonyError(f"The journal holds {value!r} where a number is expected.")
    return int(value)


def _key_type(value: Json) -> Literal["RSA", "EC", "EdDSA"]:
    if value == "RSA":
        return "RSA"
    if value == "EC":
        return "EC"
    if value == "EdDSA":
        return "EdDSA"
    raise CeremonyError(f"The journal holds the unknown key type {value!r}.")


def _strings(value: Json) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return []
    return [str(item) for item in value]
