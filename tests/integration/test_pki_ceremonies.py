"""The certificate ceremonies rehearsed on SoftHSM2: every output checked by openssl and pkilint.

Each ceremony of the catalogue that signs with a CA key runs once (``sealroom rehearse``) into a
temporary folder; the tests then check what it wrote the way an auditor would, with tools that
share no code with Sealroom: ``openssl verify -x509_strict`` against the (stand-in) root from the
journal, ``openssl req -verify``, ``openssl crl -verify`` and ``-crl_check``, and pkilint.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

pytestmark = pytest.mark.softhsm

CATALOGUE = Path(__file__).resolve().parents[2] / "ceremony_scripts"
BIN = Path(sys.executable).parent
# A moment inside every scripted validity period (the certificates are dated 2027).
AT = str(int(datetime(2027, 7, 1, tzinfo=UTC).timestamp()))


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("SOFTHSM2_CONF", None)
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, check=False)


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Rehearse each certificate ceremony once; name -> its output folder."""
    base = tmp_path_factory.mktemp("ceremonies")
    outs: dict[str, Path] = {}
    for name in (
        "subordinate-ca-signing",
        "cross-certificate",
        "root-csr",
        "crl-issuance",
        "ocsp-responder-certificate",
        "key-destruction",
    ):
        out = base / name
        result = _run(
            str(BIN / "sealroom"), "rehearse", str(CATALOGUE / f"{name}.yaml"), "--out", str(out)
        )
        assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr
        # what the rehearsal printed is its log: kept beside the outputs for the secrets scan
        (out / "rehearse.log").write_text(result.stdout + result.stderr)
        outs[name] = out
    return outs


def _entries(out: Path, event: str) -> list[dict[str, object]]:
    lines = (out / "journal.jsonl").read_text().splitlines()
    return [e["data"] for e in map(json.loads, lines) if e["event"] == event]


def _input_pem(out: Path, input_id: str) -> Path:
    """The imported object, as the journal recorded it, written as PEM for openssl."""
    data = next(d for d in _entries(out, "input.received") if d["input_id"] == input_id)
    der = base64.b64decode(str(data["der_b64"]))
    label = "CERTIFICATE REQUEST" if data["kind"] == "csr" else "CERTIFICATE"
    body = base64.encodebytes(der).decode()
    path = out / f"{input_id}.pem"
    path.write_text(f"-----BEGIN {label}-----\n{body}-----END {label}-----\n")
    return path


def _verify(ca: Path, cert: Path, *extra: str) -> None:
    result = _run(
        "openssl", "verify", "-x509_strict", "-attime", AT, "-CAfile", str(ca), *extra, str(cert)
    )
    assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), (
        result.stdout + result.stderr
    )


def _pkilint(tool: str, document: Path, *args: str) -> str:
    result = _run(str(BIN / tool), "lint", *args, str(document))
    assert "(ERROR)" not in result.stdout and "(FATAL)" not in result.stdout, result.stdout
    return result.stdout


def test_subordinate_ca_certificate_verifies_and_passes_the_tls_baseline_requirements(
    rehearsed: dict[str, Path],
) -> None:
    out = rehearsed["subordinate-ca-signing"]
    root = _input_pem(out, "root-certificate")
    issued = out / "example-issuing-ca-g1.crt.pem"
    _verify(root, issued)
    _pkilint("lint_pkix_cert", issued)
    _pkilint("lint_cabf_serverauth_cert", issued, "-d")
    text = _run("openssl", "x509", "-in", str(issued), "-noout", "-text").stdout
    assert "CA:TRUE, pathlen:0" in text
    assert "TLS Web Server Authentication" in text
    assert "http://crl.pki.example.com/root-r1.crl" in text
    # the key certified is the one in the request, and the request's subject is kept
    csr = _input_pem(out, "issuing-ca-csr")
    csr_key = _run("openssl", "req", "-in", str(csr), "-noout", "-pubkey").stdout
    cert_key = _run("openssl", "x509", "-in", str(issued), "-noout", "-pubkey").stdout
    assert csr_key == cert_key and csr_key.startswith("-----BEGIN PUBLIC KEY")


def test_cross_certificate_chains_the_other_root_to_ours(rehearsed: dict[str, Path]) -> None:
    out = rehearsed["cross-certificate"]
    root = _input_pem(out, "root-certificate")
    cross = out / "exr-root-e1-cross-r1.crt.pem"
    _verify(root, cross)
    _pkilint("lint_pkix_cert", cross)
    other = _input_pem(out, "e1-certificate")
    subject = ["openssl", "x509", "-noout", "-subject", "-pubkey", "-in"]
    assert _run(*subject, str(cross)).stdout == _run(*subject, str(other)).stdout


def test_root_csr_is_signed_by_the_key_found_on_the_token(rehearsed: dict[str, Path]) -> None:
    out = rehearsed["root-csr"]
    csr = out / "exr-root-r1.csr.pem"
    result = _run("openssl", "req", "-in", str(csr), "-noout", "-verify", "-subject", "-pubkey")
    assert result.returncode == 0, result.stderr
    assert "CN = Example Root CA R1" in result.stdout
    found = _entries(out, "key.found")[0]
    spki = base64.b64decode(str(found["spki_der_b64"]))
    request = x509.load_pem_x509_csr(csr.read_bytes())
    assert (
        request.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) == spki
    )


def test_crl_verifies_and_lists_the_scripted_revocation(rehearsed: dict[str, Path]) -> None:
    out = rehearsed["crl-issuance"]
    root = _input_pem(out, "root-certificate")
    crl = out / "exr-root-r1-crl-5.crl.pem"
    result = _run(
        "openssl", "crl", "-in", str(crl), "-CAfile", str(root), "-noout", "-verify", "-text"
    )
    assert result.returncode == 0 and "verify OK" in result.stdout + result.stderr, result.stderr
    assert "Serial Number: 5A1F0C9E33B2D8E41C07A6F2" in result.stdout
    assert "Cessation Of Operation" in result.stdout
    assert "X509v3 CRL Number: \n                5" in result.stdout
    # the root itself checks against its own CRL (it is not revoked)
    _verify(root, root, "-crl_check", "-CRLfile", str(crl))
    _pkilint("lint_crl", crl, "-t", "ARL", "-p", "PKIX")


def test_ocsp_responder_certificate_is_for_ocsp_signing_only(rehearsed: dict[str, Path]) -> None:
    out = rehearsed["ocsp-responder-certificate"]
    root = _input_pem(out, "root-certificate")
    cert = out / "exr-root-r1-ocsp-2027.crt.pem"
    _verify(root, cert, "-purpose", "ocsphelper")
    _pkilint("lint_pkix_cert", cert)
    text = _run("openssl", "x509", "-in", str(cert), "-noout", "-text").stdout
    assert "OCSP Signing" in text and "OCSP No Check" in text
    assert "CA:TRUE" not in text


def test_destruction_proves_the_token_empty(rehearsed: dict[str, Path]) -> None:
    out = rehearsed["key-destruction"]
    destroyed = _entries(out, "key.destroyed")[0]
    assert destroyed["label"] == "exr-legacy-root-2011"
    assert {o["class"] for o in destroyed["destroyed"]} == {"PRIVATE_KEY", "PUBLIC_KEY"}  # type: ignore[union-attr]
    zeroised = _entries(out, "token.zeroised")[0]
    assert zeroised["before"] == [] or all(
        o["label"] != "exr-legacy-root-2011"
        for o in zeroised["before"]  # type: ignore[union-attr]
    )
    assert zeroised["after"] == []
    # the report proves it to the auditor in words, beside the list of what was destroyed
    report = " ".join(_run("pdftotext", "-layout", str(out / "report.pdf"), "-").stdout.split())
    assert "The token holds no object after re-initialisation" in report
    assert "exr-legacy-root-2011" in report


def test_no_pin_reaches_the_journal_the_report_or_the_log(rehearsed: dict[str, Path]) -> None:
    for name, out in rehearsed.items():
        answers = yaml.safe_load((CATALOGUE / f"{name}.answers.yaml").read_text())
        pins = [answers["token"]["user_pin"], answers["token"]["so_pin"]]
        report = _run("pdftotext", "-layout", str(out / "report.pdf"), "-").stdout
        journal = (out / "journal.jsonl").read_text()
        log = (out / "rehearse.log").read_text()
        for pin in pins:
            assert pin not in journal, name
            assert pin not in report, name
            assert pin not in log, name
        assert report.strip(), name
