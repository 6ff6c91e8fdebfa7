"""Ceremony report: the HSM and certificate events (inventory, keys found, inputs, CSRs, CRLs,
destruction, zeroisation) read from the journal, cross-checked, and shown on paper."""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from test_report import needs_poppler, squeeze
from test_report_sample import (
    CRL_LINT_WARNINGS,
    OTHER_SAMPLES,
    SUB_CA_LINT_WARNINGS,
    build_sample_journal,
    sample_certificate,
    sample_issuing_request,
    sample_root_request,
)

from sealroom.ceremony.fingerprint import Fingerprint, pgp_words, sha256_fingerprint
from sealroom.journal.entry import JournalEntry
from sealroom.journal.reader import read_entries
from sealroom.report.ceremony_report import NUMBER, render_ceremony_report
from sealroom.report.layout import MARGIN_X, PAGE_WIDTH
from sealroom.report.record import CeremonyRecord, ceremony_record
from sealroom.transfer.frames import decode_frames, parse_frame
from sealroom.transfer.scan import decode_image

ROOT_SAMPLE = "root-key-generation"
KINDS = (ROOT_SAMPLE, *OTHER_SAMPLES)


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hsm-journals")


@functools.cache
def _journal(kind: str, directory: Path) -> Path:
    path = directory / f"{kind}.jsonl"
    return build_sample_journal(path, ceremony=None if kind == ROOT_SAMPLE else kind)


def _entries(kind: str, directory: Path) -> list[JournalEntry]:
    return read_entries(_journal(kind, directory))


def _record(kind: str, directory: Path) -> CeremonyRecord:
    return ceremony_record(_entries(kind, directory))


@functools.cache
def _pdf(kind: str, directory: Path) -> Path:
    out = directory / f"{kind}.pdf"
    out.write_bytes(render_ceremony_report(_entries(kind, directory)))
    return out


@functools.cache
def _text(kind: str, directory: Path, layout: bool = False) -> str:
    """The report's text; with ``layout`` a table row reads left to right on one line."""
    options = ["-layout"] if layout else []
    result = subprocess.run(
        ["pdftotext", *options, str(_pdf(kind, directory)), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def _changed(entries: list[JournalEntry], event: str, change: dict[str, Any]) -> list[JournalEntry]:
    """The entries with the first ``event`` entry's data updated by ``change`` (chain kept)."""
    target = next(e for e in entries if e.event == event)
    return [
        dataclasses.replace(e, data={**e.data, **change}) if e is target else e for e in entries
    ]


def _integrity_findings(record: CeremonyRecord) -> list[str]:
    return [f"{d.expected} / {d.observed}" for d in record.deviations if not d.recorded]


# ------------------------------------------------------------------------------------ record


def test_the_device_comes_from_the_inventory_with_its_mechanism_settings(journals: Path) -> None:
    record = _record(ROOT_SAMPLE, journals)
    assert record.device is not None and record.device.source == "token.inventory"
    assert dict(record.device.fields)["Serial number (reported by the token)"] == "HSM-0001"
    mechanisms = {m.name: m for m in record.device.mechanisms or ()}
    assert mechanisms["CKM_RSA_PKCS_KEY_PAIR_GEN"].flags == ("GENERATE_KEY_PAIR",)
    assert mechanisms["CKM_SHA256_RSA_PKCS"].max_key_bits == 16384
    (inventory,) = record.inventories
    assert inventory.logged_in and inventory.objects == ()  # a new token, logged in


def test_without_an_inventory_the_device_is_the_token_identified(journals: Path) -> None:
    record = _record("root-csr", journals)
    assert not record.inventories
    assert record.device is not None and record.device.source == "token.identified"
    assert record.device.mechanisms is None
    assert dict(record.device.fields)["Model"] == "SoftHSM v2"


def test_a_key_found_on_the_token_signs_the_certificate_and_the_crl(journals: Path) -> None:
    record = _record("key-compromise-response", journals)
    spki, _, _ = sample_certificate()
    (key,) = record.keys
    assert key.found and key.mechanism is None and key.generated_at is None
    assert key.fingerprint == sha256_fingerprint(spki) and key.fingerprint_recomputed
    assert ("SENSITIVE", True) in key.attributes
    (cert,) = record.certificates
    assert cert.profile == "subordinate-ca"
    assert cert.lint_warnings == tuple(SUB_CA_LINT_WARNINGS)
    assert cert.key_fingerprint == key.fingerprint  # the signing key, not the certified one
    assert cert.spki != key.fingerprint  # the G2 key
    assert cert.spki_matches_certificate and cert.spki_matches_key and cert.signature_valid
    (crl,) = record.crls
    assert crl.number == 6 and crl.contents_match and crl.signature_valid and crl.sha256_matches
    assert [(r.serial, r.reason) for r in crl.revoked] == [
        ("5a1f0c9e33b2d8e41c07a6f2", "cessation-of-operation"),
        ("3c9e7b21d04f58a6e1b2c3d4", "ca-compromise"),
    ]
    assert crl.lint_warnings == tuple(CRL_LINT_WARNINGS)
    assert [(q.artifact, q.frames) for q in record.qr_shown] == [
        ("r1-crl-6", 2),
        ("issuing-ca-g2", 2),
    ]
    assert _integrity_findings(record) == []
    assert record.deviations == ()


def test_inputs_carry_their_hashes_and_the_stand_in_mark(journals: Path) -> None:
    record = _record("key-compromise-response", journals)
    _, root_der, _ = sample_certificate()
    root, request = record.inputs
    assert (root.input_id, root.kind, root.stand_in) == ("root-certificate", "certificate", False)
    assert root.sha256 == sha256_fingerprint(root_der) and root.matches_expected
    assert (request.input_id, request.stand_in, request.matches_expected) == ("g2-csr", True, False)
    assert request.der_sha256 == sha256_fingerprint(sample_issuing_request())
    assert request.der_sha256_matches
    assert request.expected_sha256 is not None and request.expected_sha256 != request.sha256.hex
    assert ("Public key", "EC P-384") in request.facts


def test_a_stand_in_in_a_production_journal_is_a_deviation(journals: Path) -> None:
    entries = _entries("key-compromise-response", journals)
    production = _changed(entries, "ceremony.opened", {"rehearsal": False})
    found = _integrity_findings(ceremony_record(production))
    preflight = [f for f in found if "preflight" in f]
    assert len(found) == len(preflight) + 1
    assert "a stand-in with SHA-256" in next(f for f in found if "preflight" not in f)
    # The rehearsal's informational preflight checks do not fit a production journal either:
    # a check journaled as non-blocking there would be a failure nobody had to decide.
    assert len(preflight) == 3
    assert all("blocking and rehearsal flags of the preflight check" in f for f in preflight)


def test_a_root_csr_is_checked_against_the_key(journals: Path) -> None:
    record = _record("root-csr", journals)
    (request,) = record.csrs
    der, _ = sample_root_request()
    assert request.der == der and request.sha256 == sha256_fingerprint(der)
    assert request.sha256_matches and request.spki_matches and request.signature_valid
    assert request.spki_matches_key
    assert request.output == "exr-root-r1.csr.pem"
    assert [q.artifact for q in record.qr_shown] == ["r1-csr"]
    assert record.deviations == ()


def test_destruction_lists_what_was_removed_and_what_remains(journals: Path) -> None:
    record = _record("key-destruction", journals)
    (destroyed,) = record.destructions
    assert destroyed.label == "exr-legacy-root-2011"
    assert [o.object_class for o in destroyed.destroyed] == ["PRIVATE_KEY", "PUBLIC_KEY"]
    assert destroyed.cka_ids == ("a0d3117c52e9b804",)
    assert [o.label for o in destroyed.remaining] == ["exr-legacy-kek-2011"]
    assert destroyed.leftovers == ()
    (zeroised,) = record.zeroisations
    assert [o.label for o in zeroised.before] == ["exr-legacy-kek-2011"]
    assert zeroised.after == ()
    assert zeroised.token_serial == "HSM-0003"
    assert record.deviations == ()


def test_a_key_left_on_the_token_or_a_token_not_empty_is_a_deviation(journals: Path) -> None:
    entries = _entries("key-destruction", journals)
    left = {
        "class": "PRIVATE_KEY",
        "label": "exr-legacy-root-2011",
        "cka_id": "a0d3117c52e9b804",
        "key_type": "RSA",
    }
    destroyed = next(e for e in entries if e.event == "key.destroyed")
    remaining = [*destroyed.data["remaining"], left]  # type: ignore[misc]
    found = _integrity_findings(
        ceremony_record(_changed(entries, "key.destroyed", {"remaining": remaining}))
    )
    assert found == [
        "no object with the label exr-legacy-root-2011 or its CKA_ID left on the token / "
        "1 such object(s) still listed"
    ]
    found = _integrity_findings(
        ceremony_record(_changed(entries, "token.zeroised", {"after": [left]}))
    )
    assert found == [
        "the token holds no object after re-initialisation / 1 object(s) listed after "
        "re-initialisation"
    ]


def test_a_certificate_and_crl_not_signed_by_the_journaled_key_are_deviations(
    journals: Path,
) -> None:
    entries = _entries("key-compromise-response", journals)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = other.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    changed = _changed(
        entries,
        "key.found",
        {
            "spki_der_b64": base64.b64encode(spki).decode("ascii"),
            "fingerprint": sha256_fingerprint(spki).to_json(),
        },
    )
    record = ceremony_record(changed)
    assert record.certificates[0].signature_valid is False
    assert record.crls[0].signature_valid is False
    found = _integrity_findings(record)
    assert any(f.startswith("the signature of certificate issuing-ca-g2 matches") for f in found)
    assert any(f.startswith("the signature of CRL r1-crl-6 matches") for f in found)
    # The certificate's journaled signing-key fingerprint is no longer the key's either.
    assert any(f.startswith("the certificate issuing-ca-g2 matches the fingerprint") for f in found)


def test_a_crl_whose_journaled_entries_differ_from_its_bytes_is_a_deviation(
    journals: Path,
) -> None:
    entries = _entries("key-compromise-response", journals)
    issued = next(e for e in entries if e.event == "crl.issued")
    revoked = list(issued.data["revoked"])  # type: ignore[arg-type]
    record = ceremony_record(_changed(entries, "crl.issued", {"revoked": revoked[:1]}))
    assert not record.crls[0].contents_match
    assert any("revoked serials of CRL r1-crl-6" in f for f in _integrity_findings(record))


# ------------------------------------------------------------------------------------ PDF


@needs_poppler
def test_the_device_section_shows_the_inventory_and_mechanism_flags(journals: Path) -> None:
    flat = squeeze(_text(ROOT_SAMPLE, journals))
    record = _record(ROOT_SAMPLE, journals)
    for text in (
        "Hardware security module [EV-DEVICE, EV-SETTINGS]",
        f"Inventory read at step {record.inventories[0].step_number}",
        "The token (serial HSM-0001) reported the same details as at the opening",
        "Mechanisms the script's keys use, as the token reports them",
        "Objects on the token (0; logged in: private objects included)",
        "The token lists no object.",
        "Token flags RNG, LOGIN_REQUIRED, USER_PIN_INITIALIZED, TOKEN_INITIALIZED",
        "Token inventory read: 0 object(s), 3 mechanism(s)",
    ):
        assert squeeze(text) in flat, text
    rows = squeeze(_text(ROOT_SAMPLE, journals, layout=True))
    for text in (
        "CKM_RSA_PKCS_KEY_PAIR_GEN 512 16384 GENERATE_KEY_PAIR",
        "CKM_SHA256_RSA_PKCS 512 16384 SIGN, VERIFY",
        "CKM_SHA384_RSA_PKCS 512 16384 SIGN, VERIFY",
    ):
        assert squeeze(text) in rows, text
    flat = squeeze(_text("root-csr", journals))
    assert squeeze("No inventory step ran in this ceremony") in flat
    assert squeeze("Manufacturer SoftHSM project") in flat


@needs_poppler
def test_inputs_show_both_hashes_and_the_stand_in_mark(journals: Path) -> None:
    text = _text("key-compromise-response", journals)
    flat = squeeze(text)
    record = _record("key-compromise-response", journals)
    _, request = record.inputs
    assert request.expected_sha256 is not None
    listed = Fingerprint(request.expected_sha256, pgp_words(bytes.fromhex(request.expected_sha256)))
    for item in (
        "Objects received through the air gap [EV-COLLECTED]",
        "Input 2: g2-csr (CSR)",
        "REHEARSAL STAND-IN: this is not the object the script lists.",
        "REHEARSAL STAND-IN: not the SHA-256 the script lists",
        "REHEARSAL STAND-IN: the SHA-256 read differs",
        "equals the SHA-256 the script lists",
        "CSR received and checked: CN=Example Issuing CA G2",
        "Public key: EC P-384",
        f"were stand-ins for the objects the script lists (g2-csr; section {NUMBER['inputs']})",
        request.sha256.grouped(),
        request.sha256.words,
        listed.grouped(),
        listed.words,
    ):
        assert squeeze(item) in flat, item


@needs_poppler
def test_artefacts_list_output_files_with_sha256_hex_and_words(journals: Path) -> None:
    flat = squeeze(_text("key-compromise-response", journals))
    record = _record("key-compromise-response", journals)
    (cert,) = record.certificates
    (crl,) = record.crls
    for item in (
        "Certificate issuing-ca-g2 example-issuing-ca-g2.crt.pem",
        "CRL r1-crl-6 exr-root-r1-crl-6.crl.pem",
        cert.sha256.grouped(),
        cert.sha256.words,
        crl.sha256.grouped(),
        crl.sha256.words,
        "Profile subordinate-ca",
        "Issuer CN=Example Root CA R1,O=Example Trust Services,C=XX",
        "signature verified by this report with that key's public key",
        "Lint warnings - " + SUB_CA_LINT_WARNINGS[0],
        "shown to the witnesses before the HSM signed",
        "Key 1: exr-root-r1-2026 (found on the token)",
        "made in an earlier ceremony; found on token HSM-0001 by its label",
        "Key exr-root-r1-2026 found on the token (CKA_ID 5c1e0f9a3b7d2e41, rsa-4096)",
    ):
        assert squeeze(item) in flat, item
    flat = squeeze(_text("root-csr", journals))
    (request,) = _record("root-csr", journals).csrs
    for item in (
        "CSR r1-csr exr-root-r1.csr.pem",
        "Certificate signing request 1: r1-csr (exr-root-r1.csr.pem)",
        request.sha256.grouped(),
        request.sha256.words,
        "the request's signature verifies with its own public key",
    ):
        assert squeeze(item) in flat, item


@needs_poppler
def test_the_crl_section_shows_the_revoked_entries_and_lint_warnings(journals: Path) -> None:
    flat = squeeze(_text("key-compromise-response", journals))
    (crl,) = _record("key-compromise-response", journals).crls
    for item in (
        "Certificate revocation lists [EV-ARTIFACTS]",
        "CRL 1: number 6, r1-crl-6 (exr-root-r1-crl-6.crl.pem)",
        f"This update {crl.this_update}",
        f"Next update {crl.next_update}",
        "Revoked certificates (2)",
        "the CRL number and the revoked serials decoded from the CRL equal those listed here",
        CRL_LINT_WARNINGS[0],
        "CRL number 6 issued and verified, 2 revoked",
        "CRL as QR codes",
    ):
        assert squeeze(item) in flat, item
    rows = squeeze(_text("key-compromise-response", journals, layout=True))
    for item in (
        "3C9E 7B21 D04F 58A6 E1B2 C3D4 2027-08-03T21:40:00Z ca-compromise",
        "5A1F 0C9E 33B2 D8E4 1C07 A6F2 2027-04-28T00:00:00Z cessation-of-operation",
    ):
        assert squeeze(item) in rows, item


@needs_poppler
def test_the_destruction_record_says_the_token_holds_no_object(journals: Path) -> None:
    flat = squeeze(_text("key-destruction", journals))
    for item in (
        "Destruction record [EV-DESTROY]",
        "Key destroyed at step",
        "No remaining object has the label exr-legacy-root-2011 or the CKA_ID a0d3117c52e9b804.",
        "Objects destroyed (2)",
        "Every object remaining on the token afterwards (1)",
        "Token re-initialised at step",
        "Objects listed before re-initialisation (1)",
        "Objects listed after re-initialisation, with a fresh user login (0)",
        "The token holds no object after re-initialisation.",
        f"Destroyed: exr-legacy-root-2011 (section {NUMBER['destruction']})",
        "Token re-initialised: 1 object(s) before, 0 after",
    ):
        assert squeeze(item) in flat, item
    assert flat.count(squeeze("The token holds no object after re-initialisation.")) == 2
    rows = squeeze(_text("key-destruction", journals, layout=True))
    for item in (
        "PRIVATE_KEY exr-legacy-root-2011 a0d3117c52e9b804 RSA",
        "PUBLIC_KEY exr-legacy-root-2011 a0d3117c52e9b804 RSA",
        "SECRET_KEY exr-legacy-kek-2011 7e21c4d09ab35f66 AES",
    ):
        assert squeeze(item) in rows, item


@needs_poppler
@pytest.mark.parametrize("kind", OTHER_SAMPLES)
def test_no_text_of_the_new_sections_leaves_the_printable_area(
    journals: Path, tmp_path: Path, kind: str
) -> None:
    html = tmp_path / "words.html"
    subprocess.run(["pdftotext", "-bbox", str(_pdf(kind, journals)), str(html)], check=True)
    boxes = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', html.read_text())
    assert boxes
    for x_min, x_max in boxes:
        assert float(x_min) >= MARGIN_X - 1
        assert float(x_max) <= PAGE_WIDTH - MARGIN_X + 1


def test_the_same_journal_gives_the_same_pdf_bytes(journals: Path) -> None:
    entries = _entries("key-compromise-response", journals)
    first = render_ceremony_report(entries)
    assert first == render_ceremony_report(
        read_entries(_journal("key-compromise-response", journals))
    )
    assert (
        hashlib.sha256(first).hexdigest()
        == hashlib.sha256(_pdf("key-compromise-response", journals).read_bytes()).hexdigest()
    )


@needs_poppler
def test_the_printed_qr_codes_give_back_the_crl_and_the_certificate(
    journals: Path, tmp_path: Path
) -> None:
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            str(_pdf("key-compromise-response", journals)),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    texts: list[str] = []
    for image in sorted(tmp_path.glob("p*.png")):
        texts += decode_image(image)
    by_message: dict[tuple[str, bytes], list[str]] = {}
    for text in texts:
        frame = parse_frame(text)
        by_message.setdefault((frame.payload_type, frame.digest), []).append(text)
    payloads = {decode_frames(group) for group in by_message.values()}
    record = _record("key-compromise-response", journals)
    assert ("CRL", record.crls[0].der) in payloads
    assert ("CRT", record.certificates[0].der) in payloads
    # Every object the report carries is printed, and nothing else: the objects received too.
    received = {("CRT" if i.kind == "certificate" else "CSR", i.der) for i in record.inputs}
    objects = {("CRL", c.der) for c in record.crls} | {("CRT", c.der) for c in record.certificates}
    assert {p for p in payloads if p[0] != "JNL"} == objects | received
    assert sum(1 for p in payloads if p[0] == "JNL") == 1
