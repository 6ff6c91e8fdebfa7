"""A realistic ceremony journal for the report tests, written by the real JournalWriter.

It follows docs/journal-events.md and the engine's order (an action's own entries, then
step.completed), with a real self-signed certificate made here with ``cryptography``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.loader import LoadedScript, load_script
from sealroom.ceremony.ports import Actor
from sealroom.ceremony.script import (
    AcknowledgeStep,
    ActionStep,
    AttendanceStep,
    BreakStep,
    EntryStep,
    SignOffStep,
    WitnessCheckStep,
    utc_text,
)
from sealroom.journal.reader import read_entries
from sealroom.journal.store import JournalWriter
from sealroom.journal.verify import verify_journal

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ceremony_scripts" / "root-key-generation.yaml"
EVENTS_DOC = ROOT / "docs" / "journal-events.md"


class SampleClock:
    """Starts at 09:00:00 on the ceremony day and moves 37.5 seconds per reading."""

    def __init__(self) -> None:
        self.moment = datetime(2027, 1, 15, 9, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(seconds=37, microseconds=500000)
        return self.moment


@functools.cache
def sample_certificate() -> tuple[bytes, bytes, str]:
    """(SPKI DER, certificate DER, PEM) of a self-signed RSA-4096 root made like the script's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Trust Services"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Example Root CA R1"),
        ]
    )
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x3A7F15C2D9E04B6681A2C3D4E5F60718)
        .not_valid_before(datetime(2027, 1, 15, tzinfo=UTC))
        .not_valid_after(datetime(2047, 1, 15, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(Encoding.DER)
    pem = certificate.public_bytes(Encoding.PEM).decode("ascii")
    return spki, der, pem


SAMPLE_SCRIPT_NAME = "root-key-generation-sample.yaml"
"""The sample's script: the reference script with the extra steps listed in sample_script_data."""

CLOCK_OFFSET = "+2"
"""Typed at the clock step: the reference clock was 2 s ahead, the workstation 2 s behind."""
CCTV_DEVIATION = {
    "expected": "CCTV recording throughout (physical security of room B-104)",
    "observed": "Camera 2 showed no recording light when the room was checked",
    "decision": "proceed",
    "note": "Security restarted camera 2 at 09:06; the auditor noted the gap on her worksheet.",
}
CAMERA_DEVIATION = {
    "expected": "photographs of the sealed bags from the evidence camera",
    "observed": "the evidence camera's battery is flat and no spare is in the room",
    "decision": "skip",
    "note": "The bag serials typed and checked at the next steps stand in for the photographs.",
}
SIGNOFF_COMMENTS = {
    "erin": "Followed; the camera 2 gap and the missing bag photographs are recorded deviations.",
}


@functools.cache
def loaded_script() -> LoadedScript:
    """The reference script as shipped (ceremony_scripts/root-key-generation.yaml)."""
    return load_script(SCRIPT)


def sample_script_data() -> dict[str, Any]:
    """The reference script with what it lacks to produce every journal event, as data.

    The reference root key generation has no break and no typed confirmation. The sample adds,
    derived from the reference (its key label, its acts, its bags):

    - ``confirm`` words on the generate-key step ("GENERATE <key label>");
    - an acknowledge step photographing the bags before the first bag check (the room skips it:
      a deviation decided ``skip``);
    - a break before the hand-over, re-checking the bags of every material sealed in the closing.
    """
    script = loaded_script().script
    data: dict[str, Any] = script.model_dump(mode="json", exclude_defaults=True)
    steps: list[dict[str, Any]] = data["steps"]
    for step in steps:
        if step.get("action") == "generate-key":
            step["confirm"] = f"GENERATE {script.key(step['params']['key']).label}"
    first_bag = next(i for i, s in enumerate(steps) if "EV-TEB" in s.get("evidence", ()))
    steps.insert(
        first_bag,
        {
            "id": "photograph-bags",
            "act": steps[first_bag]["act"],
            "kind": "acknowledge",
            "title": "Photograph the sealed bags",
            "instruction": "Before any bag is opened, photograph each bag with its serial "
            "readable, using the evidence camera.",
            "performer": "administrator",
            "witnesses": ["auditor"],
            "evidence": ["EV-TEB"],
        },
    )
    sealed = [m.id for m in script.materials if m.bag_out is not None]
    custody = next(i for i, s in enumerate(steps) if "EV-CUSTODY" in s.get("evidence", ()))
    steps.insert(
        custody,
        {
            "id": "break-before-hand-over",
            "act": "closing",
            "kind": "break",
            "title": "Break before the hand-over",
            "instruction": "The sealed materials stay on the table in view of the camera. On "
            "return the performer types each bag's serial again.",
            "performer": "administrator",
            "witnesses": ["auditor"],
            "recheck_bags": sealed,
        },
    )
    return data


def sample_script(directory: Path) -> LoadedScript:
    """Write the sample script into ``directory`` and load it as the engine would."""
    path = directory / SAMPLE_SCRIPT_NAME
    text = (
        "# Sealroom sample: the reference root key generation with a bag photograph step, a\n"
        "# break and a typed confirmation (tests/unit/test_report_sample.py writes this file).\n"
        + yaml.safe_dump(sample_script_data(), sort_keys=False, allow_unicode=True, width=100)
    )
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return load_script(path)


def _fpr(data: bytes) -> dict[str, str]:
    return sha256_fingerprint(data).to_json()


def build_sample_journal(
    path: Path,
    *,
    rehearsal: bool = True,
    abort_at_key_check: bool = False,
    pin_failures: int = 1,
    absent: tuple[str, ...] = ("carol",),
    steps_done: int | None = None,
) -> Path:
    """Write a journal of the sample script to ``path`` and return ``path``.

    It holds every event of docs/journal-events.md but ``ceremony.aborted``, as the engine
    writes them: a typing slip at the HSM bag (``entry.rejected``), the clock offset, a CCTV
    deviation that proceeds, bag photographs skipped after a deviation, a wrong then right
    confirmation, a break with a bag re-checked after a misread serial, and everyone's sign-off
    statement.

    ``steps_done`` stops after that many steps (as a report rendered mid-ceremony sees it);
    ``abort_at_key_check`` makes the witnesses see a mismatch at the fingerprint read-back.
    """
    loaded = sample_script(path.parent)
    script = loaded.script
    spki, der, pem = sample_certificate()
    clock = SampleClock()
    present = [p.id for p in script.participants if p.id not in absent]
    performer_of = {"administrator": "alice", "crypto-officer": "bob"}
    witness_of = {"internal-witness": "dan", "auditor": "erin"}

    def actors(step_id: str) -> list[Actor]:
        step = next(s for s in script.steps if s.id == step_id)
        out = [Actor(performer_of[step.performer], step.performer, "performer")]
        out += [Actor(witness_of[r], r, "witness") for r in step.witnesses]
        return out

    def number(step_id: str) -> int:
        return [s.id for s in script.steps].index(step_id) + 1

    with JournalWriter.create(path, clock) as journal:

        def add(event: str, step_id: str, data: dict[str, Any]) -> None:
            journal.append(event, data, step=step_id, actors=actors(step_id))

        def completed(step_id: str, extra: dict[str, Any]) -> None:
            step = next(s for s in script.steps if s.id == step_id)
            add("step.completed", step_id, {"kind": step.kind, "title": step.title, **extra})

        def deviation(step_id: str, data: dict[str, Any]) -> None:
            journal.append(
                "deviation.recorded",
                data,
                step=step_id,
                actors=[Actor("alice", "administrator", "decider")],
            )

        journal.append(
            "ceremony.opened",
            {
                "ceremony_id": script.ceremony.id,
                "ceremony_type": script.ceremony.type,
                "title": script.ceremony.title,
                "script_name": loaded.path.name,
                "script_sha256": loaded.sha256,
                "script_words": sha256_fingerprint(loaded.text.encode()).words,
                "script_text": loaded.text,
                "script": script.model_dump(mode="json"),
                "rehearsal": rehearsal,
                "software": {"name": "sealroom", "version": "0.1.0"},
            },
        )
        journal.append(
            "token.identified",
            {
                "material": "hsm",
                "declared_serial": "HSM-0001",
                "stand_in": False,
                "token": {
                    "library": "/usr/lib/softhsm/libsofthsm2.so",
                    "library_description": "Implementation of PKCS11",
                    "library_version": "2.6",
                    "slot_id": 1318359305,
                    "slot_description": "SoftHSM slot ID 0x4e9bd509",
                    "label": "exr-root-r1",
                    "manufacturer": "SoftHSM project",
                    "model": "SoftHSM v2",
                    "serial": "HSM-0001",
                    "hardware_version": "2.6",
                    "firmware_version": "2.6",
                    "flags": ["RNG", "LOGIN_REQUIRED", "USER_PIN_INITIALIZED", "TOKEN_INITIALIZED"],
                },
            },
        )
        plan = list(script.steps)
        if steps_done is not None:
            plan = plan[:steps_done]
        for step in plan:
            step_id = step.id
            if isinstance(step, AttendanceStep):
                roll = [
                    Actor(pid, r, "present")
                    for pid in present
                    for r in script.participant(pid).roles
                ]
                journal.append(
                    "attendance.recorded",
                    {"present": present, "absent": list(absent)},
                    step=step_id,
                    actors=roll + actors(step_id),
                )
                completed(step_id, {})
            elif isinstance(step, AcknowledgeStep):
                if "EV-PHYSICAL" in step.evidence:
                    deviation(step_id, CCTV_DEVIATION)
                    completed(step_id, {"deviation": True})
                elif step_id == "photograph-bags":
                    deviation(step_id, CAMERA_DEVIATION)
                    add("step.skipped", step_id, {"kind": step.kind, "title": step.title})
                else:
                    completed(step_id, {})
            elif isinstance(step, WitnessCheckStep):
                if abort_at_key_check and step_id == "check-key-fingerprint":
                    observed = "the last four words differ: 'tactics talon tiger tissue'"
                    completed(step_id, {"matches": False, "observed": observed})
                    journal.append(
                        "ceremony.aborted",
                        {
                            "reason": f"Step {number(step_id)} ({step.title}): the witnesses "
                            f"saw a mismatch: observed {observed!r}; expected "
                            f"{step.compare.expected!r}. The ceremony is stopped."
                        },
                        step=step_id,
                    )
                    return path
                completed(step_id, {"matches": True, "observed": None})
            elif isinstance(step, EntryStep):
                spec = step.entry
                expect = spec.expect
                value = (
                    str(getattr(script.material(expect.material), expect.field))
                    if expect is not None
                    else CLOCK_OFFSET
                )
                attempts = 1
                if spec.twice and expect is not None and expect.field == "bag_in":
                    # A typing slip: the second entry differs from the first, both are asked again.
                    add(
                        "entry.rejected",
                        step_id,
                        {"label": spec.label, "attempt": 1, "problem": "the two entries differ"},
                    )
                    attempts = 2
                data: dict[str, Any] = {
                    "label": spec.label,
                    "format": spec.format,
                    "value": value,
                    "expected": value if expect is not None else None,
                    "attempts": attempts,
                }
                if spec.format == "clock-offset":
                    data["offset_seconds"] = int(value)
                add("entry.recorded", step_id, data)
                completed(step_id, {"value": value})
            elif isinstance(step, BreakStep):
                away = [p for p in ("bob", "dan", "erin") if p in present]
                break_bags = {m: f"TEB-1003{n + 4}1" for n, m in enumerate(step.recheck_bags)}
                for material_id, bag in break_bags.items():
                    add("bag.sealed", step_id, {"material": material_id, "serial": bag})
                add("break.started", step_id, {"left": away})
                add("break.ended", step_id, {"returned": away, "absent": []})
                for material_id, bag in break_bags.items():
                    material = script.material(material_id)
                    typed = [bag]
                    if material.kind == "hsm":
                        typed.insert(0, bag[:-2] + bag[-1] + bag[-2])  # two digits swapped
                    for text in typed:
                        add(
                            "bag.rechecked",
                            step_id,
                            {
                                "material": material_id,
                                "expected": bag,
                                "typed": text,
                                "matches": text == bag,
                            },
                        )
                completed(step_id, {"returned": away, "absent": []})
            elif isinstance(step, SignOffStep):
                journal.append(
                    "signoff.recorded",
                    {
                        "statements": [
                            {
                                "participant": pid,
                                "followed": True,
                                "comment": SIGNOFF_COMMENTS.get(pid),
                            }
                            for pid in present
                        ]
                    },
                    step=step_id,
                    actors=[
                        Actor(pid, script.participant(pid).roles[0], "signatory") for pid in present
                    ],
                )
                completed(step_id, {"followed": True})
            elif isinstance(step, ActionStep):
                action = step.action
                if step.confirm is not None:
                    add(
                        "confirmation.refused",
                        step_id,
                        {"words": step.confirm, "attempt": 1},
                    )
                    add("confirmation.typed", step_id, {"words": step.confirm, "attempts": 2})
                if action == "hsm-login":
                    for attempt in range(1, pin_failures + 1):
                        add(
                            "hsm.login-failed",
                            step_id,
                            {"attempt": attempt, "attempts_left": 3 - attempt},
                        )
                    add("hsm.login", step_id, {"attempts": pin_failures + 1})
                elif action == "generate-key":
                    add(
                        "key.generated",
                        step_id,
                        {
                            "key_id": "root-key",
                            "label": "exr-root-r1-2026",
                            "cka_id": "5c1e0f9a3b7d2e41",
                            "algorithm": "rsa-4096",
                            "key_type": "RSA",
                            "size_bits": 4096,
                            "curve": None,
                            "public_exponent": 65537,
                            "spki_der_b64": base64.b64encode(spki).decode("ascii"),
                            "fingerprint": _fpr(spki),
                            "attributes": {
                                "SENSITIVE": True,
                                "EXTRACTABLE": False,
                                "ALWAYS_SENSITIVE": True,
                                "NEVER_EXTRACTABLE": True,
                                "PRIVATE": True,
                                "TOKEN": True,
                                "SIGN": True,
                                "DECRYPT": False,
                                "UNWRAP": False,
                            },
                            "mechanism": "CKM_RSA_PKCS_KEY_PAIR_GEN",
                            "token_serial": "HSM-0001",
                            "generated_at": utc_text(clock.moment),
                        },
                    )
                elif action == "sign-root-certificate":
                    add(
                        "certificate.issued",
                        step_id,
                        {
                            "certificate_id": "root-certificate",
                            "key_id": "root-key",
                            "output": "root.crt.pem",
                            "pem": pem,
                            "sha256": hashlib.sha256(der).hexdigest(),
                            "fingerprint": _fpr(spki),
                            "subject": "CN=Example Root CA R1,O=Example Trust Services,C=XX",
                            "issuer": "CN=Example Root CA R1,O=Example Trust Services,C=XX",
                            "serial": "3a7f15c2d9e04b6681a2c3d4e5f60718",
                            "not_before": "2027-01-15T00:00:00Z",
                            "not_after": "2047-01-15T00:00:00Z",
                            "signature_algorithm": "sha256WithRSAEncryption",
                            "checks": [
                                "signature verifies with the key's public key",
                                "TBS matches the linted twin signed by a throwaway key",
                                "profile lint passed: root (RFC 5280, BR 7.1.2.1)",
                                "public key matches the key generated in this ceremony",
                            ],
                        },
                    )
                elif action == "show-qr":
                    add(
                        "qr.shown",
                        step_id,
                        {
                            "certificate_id": "root-certificate",
                            "frames": 3,
                            "payload_sha256": hashlib.sha256(der).hexdigest(),
                        },
                    )
                elif action == "hsm-logout":
                    add("hsm.logout", step_id, {})
                elif action == "print-report":
                    add(
                        "report.printed",
                        step_id,
                        {
                            "sha256": "ab" * 32,
                            "covers_through": journal.head.seq,
                            "printer": "file",
                            "job": "report.pdf",
                            "destination": "out/report.pdf",
                        },
                    )
                completed(step_id, {"action": action})
            else:
                raise AssertionError(f"the sample does not know the step kind of {step_id}")
        if steps_done is None:
            journal.append(
                "ceremony.closed", {"result": "completed", "steps_completed": len(script.steps)}
            )
    return path


def documented_events() -> set[str]:
    """The event names in the table of docs/journal-events.md."""
    return set(re.findall(r"^\| `([a-z.-]+)` \|", EVENTS_DOC.read_text(encoding="utf-8"), re.M))


def test_the_sample_journal_verifies_and_holds_every_documented_event(tmp_path: Path) -> None:
    path = build_sample_journal(tmp_path / "journal.jsonl")
    verdict = verify_journal(path)
    assert verdict.ok, verdict.first_problem
    assert verdict.ended_by == "ceremony.closed"
    events = {entry.event for entry in read_entries(path)}
    aborted = build_sample_journal(tmp_path / "aborted.jsonl", abort_at_key_check=True)
    events |= {entry.event for entry in read_entries(aborted)}
    assert len(documented_events()) >= 13
    assert events == documented_events()
