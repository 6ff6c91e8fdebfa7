"""The key and certificate actions, run through the engine with fakes of every port."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sealroom.ceremony.loader import load_script
from sealroom.errors import CeremonyAborted
from tests.fakes import FakeWorld, ScriptedOperator, SoftwareKey, fake_world

CATALOGUE = Path(__file__).resolve().parents[2] / "ceremony_scripts"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _self_signed(key: SoftwareKey, cn: str) -> bytes:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.private.public_key())
        .serial_number(1 << 100)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key.private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _csr(cn: str) -> bytes:
    key = ec.generate_private_key(ec.SECP384R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(cn)).sign(key, hashes.SHA384())
    return csr.public_bytes(serialization.Encoding.DER)


def _other_ca(cn: str) -> bytes:
    key = ec.generate_private_key(ec.SECP384R1())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(1 << 90)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .sign(key, hashes.SHA384())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def world_for(name: str, *, rehearsal: bool = True) -> tuple[FakeWorld, ScriptedOperator]:
    """The script ``name`` wired to fakes, with its earlier-ceremony keys and inputs in place."""
    loaded = load_script(CATALOGUE / f"{name}.yaml")
    world = fake_world(loaded, rehearsal=rehearsal)
    script = loaded.script
    keys = {spec.id: world.hsm.seed_key(spec) for spec in script.keys}
    for spec in script.inputs:
        if spec.kind == "csr":
            world.receiver.payloads[spec.id] = _csr(f"Request {spec.id}")
        elif any(c.issuer_certificate == spec.id for c in (*script.certificates, *script.crls)):
            signer = next(
                c.key
                for c in (*script.certificates, *script.crls)
                if c.issuer_certificate == spec.id
            )
            world.receiver.payloads[spec.id] = _self_signed(keys[signer], "Root stand-in")
        else:
            world.receiver.payloads[spec.id] = _other_ca(f"Other CA {spec.id}")
    return world, ScriptedOperator(script)


def _data(world: FakeWorld, event: str) -> list[dict[str, object]]:
    return [e["data"] for e in world.journal.entries if e["event"] == event]  # type: ignore[misc]


def test_subordinate_signing_imports_checks_signs_and_exports_in_order() -> None:
    world, operator = world_for("subordinate-ca-signing")
    result = world.runner.run(operator)
    assert result.completed
    events = world.journal.events()
    # imports happen before login; the key is found at its first use, then the signature
    order = [e for e in events if e in {"input.received", "hsm.login", "key.found"}]
    assert order == ["input.received", "input.received", "hsm.login", "key.found"]
    assert events.index("key.found") < events.index("certificate.issued") < events.index("qr.shown")
    received = _data(world, "input.received")
    assert [r["input_id"] for r in received] == ["root-certificate", "issuing-ca-csr"]
    # the script lists the approved objects' hashes; a rehearsal's stand-ins differ, and says so
    assert all(r["stand_in"] is True for r in received)
    issued = _data(world, "certificate.issued")[0]
    assert issued["profile"] == "subordinate-ca"
    assert issued["subject"] == "CN=Request issuing-ca-csr"
    assert issued["lint_warnings"] == ["W: fake lint warning"]
    shown = _data(world, "qr.shown")[0]
    assert shown["artifact"] == "issuing-ca-g1"
    assert "example-issuing-ca-g1.crt.pem" in world.store.files
    assert "scan:issuing-ca-csr" in operator.shown


def test_production_refuses_an_import_whose_sha256_is_not_the_scripted_one() -> None:
    world, operator = world_for("subordinate-ca-signing", rehearsal=False)
    world.hsm.token = replace(world.hsm.token, serial="HSM-0001")  # the scripted HSM
    with pytest.raises(CeremonyAborted, match="not the approved certificate; nothing was signed"):
        world.runner.run(operator)
    assert "certificate.issued" not in world.journal.events()
    assert world.journal.events()[-1] == "ceremony.aborted"


def test_cross_certificate_certifies_the_imported_ca_certificate() -> None:
    world, operator = world_for("cross-certificate")
    assert world.runner.run(operator).completed
    issued = _data(world, "certificate.issued")[0]
    assert issued["profile"] == "cross-certificate"
    assert issued["subject"] == "CN=Other CA e1-certificate"
    assert issued["issuer"] == "CN=Root stand-in"


def test_root_csr_is_made_with_the_key_found_on_the_token_and_exported() -> None:
    world, operator = world_for("root-csr")
    assert world.runner.run(operator).completed
    made = _data(world, "csr.made")[0]
    assert made["subject"] == "CN=Example Root CA R1"
    assert _data(world, "qr.shown")[0]["artifact"] == "r1-csr"
    assert world.store.files["exr-root-r1.csr.pem"].startswith(b"-----BEGIN CERTIFICATE REQUEST")


def test_crl_lists_the_revoked_entries_of_the_script() -> None:
    world, operator = world_for("crl-issuance")
    assert world.runner.run(operator).completed
    crl = _data(world, "crl.issued")[0]
    assert crl["number"] == 5
    assert crl["revoked"] == [
        {
            "serial": "5a1f0c9e33b2d8e41c07a6f2",
            "revoked_at": "2027-04-28T00:00:00Z",
            "reason": "cessation-of-operation",
        }
    ]
    assert world.store.files["exr-root-r1-crl-5.crl.pem"].startswith(b"-----BEGIN X509 CRL")


def test_ocsp_responder_certificate_from_its_request() -> None:
    world, operator = world_for("ocsp-responder-certificate")
    assert world.runner.run(operator).completed
    assert _data(world, "certificate.issued")[0]["profile"] == "ocsp-responder"


def test_destruction_journals_what_was_destroyed_and_an_empty_token() -> None:
    world, operator = world_for("key-destruction")
    operator.pins = ["4711-2027", world.hsm.so_pin]
    world.hsm.pin = "4711-2027"
    original_secret = operator.secret

    def secret(view, prompt, attempt, attempts_left):  # type: ignore[no-untyped-def]
        return (
            world.hsm.so_pin
            if "security officer" in prompt
            else original_secret(view, prompt, attempt, attempts_left)
        )

    operator.secret = secret  # type: ignore[method-assign]
    assert world.runner.run(operator).completed
    destroyed = _data(world, "key.destroyed")[0]
    assert destroyed["label"] == "exr-legacy-root-2011"
    assert {o["class"] for o in destroyed["destroyed"]} == {"PRIVATE_KEY", "PUBLIC_KEY"}  # type: ignore[union-attr]
    assert all(o["label"] != "exr-legacy-root-2011" for o in destroyed["remaining"])  # type: ignore[union-attr]
    zeroised = _data(world, "token.zeroised")[0]
    assert zeroised["after"] == []
    inventory = _data(world, "token.inventory")
    assert inventory and all(
        "exr-legacy-root-2011" not in json.dumps(i["objects"]) for i in inventory
    )
    # no PIN reaches the journal
    text = json.dumps(world.journal.entries)
    assert world.hsm.so_pin not in text and "4711-2027" not in text


def test_a_key_is_refused_for_a_purpose_the_script_does_not_give_it() -> None:
    loaded = load_script(CATALOGUE / "crl-issuance.yaml")
    script = loaded.script
    narrowed = script.model_copy(
        update={
            "keys": tuple(
                k.model_copy(update={"purpose": ("certificate-signing",)}) for k in script.keys
            )
        }
    )
    world, operator = world_for("crl-issuance")
    world.runner.script = narrowed
    world.runner.loaded = loaded
    with pytest.raises(CeremonyAborted, match="EV-KEY-PURPOSE"):
        world.runner.run(operator)
    assert "crl.issued" not in world.journal.events()


def test_export_of_something_not_produced_is_refused_with_its_name() -> None:
    world, _ = world_for("root-csr")
    handlers = world.runner.key_actions
    with pytest.raises(Exception, match="'nothing' has not been produced"):
        handlers._artifact("nothing", world.runner.view(0))
