"""Root certificates signed by keys in SoftHSM2, then judged by OpenSSL, an independent verifier."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealroom.ceremony.ports import IssuedCertificate
from sealroom.ceremony.script import CertificateSpec, KeyAlgorithm, KeySpec
from sealroom.errors import HsmError, PkiError
from sealroom.hsm.token import Pkcs11Hsm
from sealroom.pki.profile import serial_from_random
from sealroom.pki.root import RootCertificateIssuer

pytestmark = pytest.mark.softhsm

NOT_BEFORE = datetime(2027, 1, 15, tzinfo=UTC)
NOT_AFTER = datetime(2047, 1, 15, tzinfo=UTC)
INSIDE_VALIDITY = NOT_BEFORE + timedelta(days=1)  # openssl -attime: the root is not yet valid


def root_spec() -> CertificateSpec:
    return CertificateSpec.model_validate(
        {
            "id": "root-certificate",
            "profile": "root",
            "key": "root-key",
            "subject": {
                "country": "XX",
                "organization": "Example Trust Services",
                "organizational_unit": "Root PKI",
                "common_name": "Example Root CA R1",
            },
            "not_before": NOT_BEFORE,
            "not_after": NOT_AFTER,
            "output": "root.crt.pem",
        }
    )


def issue(hsm: Pkcs11Hsm, algorithm: KeyAlgorithm) -> tuple[IssuedCertificate, int]:
    key = hsm.generate_key(
        KeySpec(
            id="root-key",
            label="exr-root-r1-2027",
            algorithm=algorithm,
            purpose=("certificate-signing", "crl-signing"),
        )
    )
    # As the engine does: 0x01 followed by 16 octets from the HSM's random number generator.
    serial = serial_from_random(hsm.random_bytes(16))
    return RootCertificateIssuer().issue_root(root_spec(), key, serial), serial


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.parametrize(
    ("algorithm", "signature", "key_line"),
    [
        ("rsa-4096", "sha256WithRSAEncryption", "Public-Key: (4096 bit)"),
        ("ec-p384", "ecdsa-with-SHA384", "NIST CURVE: P-384"),
        ("ec-p256", "ecdsa-with-SHA256", "NIST CURVE: P-256"),
    ],
)
def test_root_signed_in_the_hsm_passes_openssl_strict_verification(
    user_hsm: Pkcs11Hsm, tmp_path: Path, algorithm: KeyAlgorithm, signature: str, key_line: str
) -> None:
    issued, serial = issue(user_hsm, algorithm)
    pem = tmp_path / "root.pem"
    pem.write_text(issued.pem)

    attime = str(int(INSIDE_VALIDITY.timestamp()))
    verified = openssl("verify", "-x509_strict", "-attime", attime, "-CAfile", str(pem), str(pem))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == f"{pem}: OK"
    # Without -attime the root is not yet valid: validity came from the script, not the clock.
    early = openssl("verify", "-x509_strict", "-CAfile", str(pem), str(pem))
    assert early.returncode != 0 and "certificate is not yet valid" in early.stderr

    text = openssl("x509", "-in", str(pem), "-noout", "-text", "-nameopt", "RFC2253").stdout
    assert text.count(f"Signature Algorithm: {signature}") == 2
    assert key_line in text
    assert "Version: 3 (0x2)" in text
    assert "Issuer: CN=Example Root CA R1,OU=Root PKI,O=Example Trust Services,C=XX" in text
    assert "Subject: CN=Example Root CA R1,OU=Root PKI,O=Example Trust Services,C=XX" in text
    assert "Not Before: Jan 15 00:00:00 2027 GMT" in text
    assert "Not After : Jan 15 00:00:00 2047 GMT" in text
    assert re.search(r"X509v3 Basic Constraints: critical\n\s+CA:TRUE\n", text)
    assert "pathlen" not in text
    assert re.search(r"X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n", text)
    assert re.search(r"X509v3 Subject Key Identifier: \n\s+([0-9A-F]{2}:){19}[0-9A-F]{2}\n", text)
    assert re.findall(r"^\s+X509v3 ([A-Za-z ]+):", text, re.MULTILINE) == [
        "extensions",
        "Basic Constraints",
        "Key Usage",
        "Subject Key Identifier",
        "Authority Key Identifier",
    ]  # and no other extension
    ski = re.search(r"X509v3 Subject Key Identifier: \n\s+([0-9A-F:]+)\n", text)
    aki = re.search(r"X509v3 Authority Key Identifier: \n\s+([0-9A-F:]+)\n", text)
    assert ski and aki and ski.group(1) == aki.group(1)

    serial_line = openssl("x509", "-in", str(pem), "-noout", "-serial").stdout.strip()
    assert serial_line == f"serial={issued.serial_hex.upper()}"
    assert int(issued.serial_hex, 16) == serial

    # The key OpenSSL finds in the certificate is the one the HSM reported (EV-KEY-FPR).
    pubkey_pem = openssl("x509", "-in", str(pem), "-noout", "-pubkey").stdout
    body = "".join(line for line in pubkey_pem.splitlines() if "-----" not in line)
    assert hashlib.sha256(base64.b64decode(body)).hexdigest() == issued.spki_sha256_hex


def test_an_out_of_range_serial_is_refused_before_the_hsm_signs(user_hsm: Pkcs11Hsm) -> None:
    key = user_hsm.generate_key(
        KeySpec(id="root-key", label="r", algorithm="ec-p384", purpose=("certificate-signing",))
    )
    for serial in (0, 1 << 159, 1 << 120):
        with pytest.raises(PkiError, match="must be the octet 01 followed by at least 16 random"):
            RootCertificateIssuer().issue_root(root_spec(), key, serial)


def test_a_key_from_a_closed_session_cannot_sign_a_root(user_hsm: Pkcs11Hsm, user_pin: str) -> None:
    key = user_hsm.generate_key(
        KeySpec(id="root-key", label="r", algorithm="ec-p256", purpose=("certificate-signing",))
    )
    user_hsm.logout()
    with pytest.raises(HsmError, match="can sign only while the HSM session"):
        RootCertificateIssuer().issue_root(root_spec(), key, 1 << 128)
