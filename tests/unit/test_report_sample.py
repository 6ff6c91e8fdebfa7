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

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.loader import LoadedScript, load_script
from sealroom.ceremony.ports import Actor
from sealroom.ceremony.script import utc_text
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


@functools.cache
def loaded_script() -> LoadedScript:
    return load_script(SCRIPT)


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
    """Write a journal of the root key generation script to ``path`` and return ``path``.

    ``steps_done`` stops after that many steps (as a report rendered mid-ceremony sees it);
    ``abort_at_key_check`` makes the witnesses see a mismatch at the fingerprint read-back.
    """
    loaded = loaded_script()
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

    with JournalWriter.create(path, clock) as journal:

        def completed(step_id: str, extra: dict[str, Any]) -> None:
            step = next(s for s in script.steps if s.id == step_id)
            data: dict[str, Any] = {"kind": step.kind, "title": step.title, **extra}
            journal.append("step.completed", data, step=step_id, actors=actors(step_id))

        journal.append(
            "ceremony.opened",
            {
                "ceremony_id": script.ceremony.id,
                "ceremony_type": script.ceremony.type,
                "title": script.ceremony.title,
                "script_name": SCRIPT.name,
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
        plan = [s.id for s in script.steps]
        if steps_done is not None:
            plan = plan[:steps_done]
        for step_id in plan:
            step = next(s for s in script.steps if s.id == step_id)
            if step.kind == "attendance":
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
            elif step.kind == "acknowledge":
                completed(step_id, {})
            elif step.kind == "witness-check":
                if abort_at_key_check and step_id == "check-key-fingerprint":
                    observed = "the last four words differ: 'tactics talon tiger tissue'"
                    completed(step_id, {"matches": False, "observed": observed})
                    journal.append(
                        "ceremony.aborted",
                        {
                            "reason": "Step 6 (Read back the public key fingerprint): the "
                            "witnesses saw a mismatch"
                        },
                        step=step_id,
                    )
                    return path
                completed(step_id, {"matches": True, "observed": None})
            elif step.kind == "entry":
                expect = step.entry.expect  # type: ignore[union-attr]
                value = (
                    str(getattr(script.material(expect.material), expect.field))
                    if expect is not None
                    else "+2"
                )
                journal.append(
                    "entry.recorded",
                    {
                        "label": step.entry.label,  # type: ignore[union-attr]
                        "format": step.entry.format,  # type: ignore[union-attr]
                        "value": value,
                        "expected": value if expect is not None else None,
                        "attempts": 1,
                    },
                    step=step_id,
                    actors=actors(step_id),
                )
                completed(step_id, {"value": value})
            elif step.kind == "sign-off":
                journal.append(
                    "signoff.recorded",
                    {
                        "statements": [
                            {"participant": pid, "followed": True, "comment": None}
                            for pid in present
                        ]
                    },
                    step=step_id,
                    actors=[
                        Actor(pid, script.participant(pid).roles[0], "signatory") for pid in present
                    ],
                )
                completed(step_id, {"followed": True})
            else:
                action = step.action  # type: ignore[union-attr]
                if action == "hsm-login":
                    for attempt in range(1, pin_failures + 1):
                        journal.append(
                            "hsm.login-failed",
                            {"attempt": attempt, "attempts_left": 3 - attempt},
                            step=step_id,
                            actors=actors(step_id),
                        )
                    journal.append(
                        "hsm.login",
                        {"attempts": pin_failures + 1},
                        step=step_id,
                        actors=actors(step_id),
                    )
                elif action == "generate-key":
                    journal.append(
                        "key.generated",
                        {
                            "key_id": "root-key",
                            "label": "exr-root-r1-2027",
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
                        step=step_id,
                        actors=actors(step_id),
                    )
                elif action == "sign-root-certificate":
                    journal.append(
                        "certificate.issued",
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
                        step=step_id,
                        actors=actors(step_id),
                    )
                elif action == "show-qr":
                    journal.append(
                        "qr.shown",
                        {
                            "certificate_id": "root-certificate",
                            "frames": 3,
                            "payload_sha256": hashlib.sha256(der).hexdigest(),
                        },
                        step=step_id,
                        actors=actors(step_id),
                    )
                elif action == "hsm-logout":
                    journal.append("hsm.logout", {}, step=step_id, actors=actors(step_id))
                elif action == "print-report":
                    journal.append(
                        "report.printed",
                        {
                            "sha256": "ab" * 32,
                            "covers_through": journal.head.seq,
                            "printer": "file",
                            "job": "report.pdf",
                            "destination": "out/report.pdf",
                        },
                        step=step_id,
                        actors=actors(step_id),
                    )
                completed(step_id, {"action": action})
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
