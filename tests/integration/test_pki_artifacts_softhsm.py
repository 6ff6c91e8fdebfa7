"""Every artefact a root CA signs, with keys in SoftHSM2, judged by OpenSSL and pkilint's own CLIs.

One token for the module: each key type the token supports among RSA-3072, RSA-4096, P-256,
P-384, P-521 and Ed25519 is generated once (RSA-4096 keygen is slow), then signs a root, a
subordinate CA from a software CSR, a cross-certificate for another CA, an OCSP responder
certificate, its own CSR and a CRL. OpenSSL verifies each (``-x509_strict``, ``-crl_check``,
``req -verify``, ``crl -verify``), and pkilint's command-line linters, run independently of
sealroom.pki.lint, find no error. The CA/B Forum TLS BR forbid Ed25519 (BR 7.1.3), so Ed25519
artefacts are linted against RFC 5280 only, and a test shows the BR linters refusing them.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from pkilint.bin import (  # type: ignore[import-untyped]
    lint_cabf_serverauth_cert,
    lint_crl,
    lint_pkix_cert,
)

from sealroom.ceremony.ports import (
    IssuedCertificate,
    IssuedCrl,
    IssuedRequest,
    KeyRecord,
    SigningKey,
)
from sealroom.ceremony.script import CertificateSpec, CrlSpec, CsrSpec, KeyAlgorithm, KeySpec
from sealroom.errors import PkiError
from sealroom.hsm.library import open_library_users
from sealroom.hsm.softhsm import SOFTHSM_CONF_ENV, create_rehearsal_token
from sealroom.hsm.token import Pkcs11Hsm
from sealroom.pki.issuer import HsmCertificateIssuer
from sealroom.pki.profile import serial_from_random
from tests.integration.conftest import SO_PIN, TOKEN_LABEL, USER_PIN

pytestmark = pytest.mark.softhsm

ALGORITHMS: tuple[KeyAlgorithm, ...] = (
    "rsa-3072",
    "rsa-4096",
    "ec-p256",
    "ec-p384",
    "ec-p521",
    "ed25519",
)
LINT = ("rfc5280", "cabf-serverauth")
RFC5280_ONLY = ("rfc5280",)
"""The lint list for Ed25519: the BR allow RSA and ECDSA only, and pkilint says so (an ERROR)."""
SIGNATURE_NAMES = {
    "rsa-3072": "sha256WithRSAEncryption",
    "rsa-4096": "sha256WithRSAEncryption",
    "ec-p256": "ecdsa-with-SHA256",
    "ec-p384": "ecdsa-with-SHA384",
    "ec-p521": "ecdsa-with-SHA512",
    "ed25519": "ED25519",
}
"""The signature algorithm of every artefact, as OpenSSL prints it."""
BR_PROHIBITED_SIGNATURE = "cabf.serverauth.prohibited_signature_algorithm_encoding"
BR_PROHIBITED_PUBLIC_KEY = "cabf.serverauth.prohibited_subject_public_key_algorithm_encoding"
ROOT_FROM = datetime(2027, 1, 15, tzinfo=UTC)
ROOT_UNTIL = datetime(2047, 1, 15, tzinfo=UTC)
CHILD_FROM = datetime(2027, 2, 1, tzinfo=UTC)
CHILD_UNTIL = datetime(2037, 2, 1, tzinfo=UTC)
THIS_UPDATE = datetime(2027, 6, 1, tzinfo=UTC)
NEXT_UPDATE = datetime(2028, 5, 31, tzinfo=UTC)  # 365 days: the root CRL's maximum
AT = str(int(datetime(2027, 7, 1, tzinfo=UTC).timestamp()))  # openssl -attime, inside everything
ROOT_SUBJECT = {
    "country": "XX",
    "organization": "Example Trust Services",
    "common_name": "Example Root CA R1",
}
PUBLICATION = {
    "crl_urls": ("http://crl.example.com/root-r1.crl",),
    "ca_issuers_urls": ("http://crt.example.com/root-r1.crt",),
    "policies": ("2.23.140.1.2.2",),
}


class CountingKey:
    """The HSM key, counting the signatures it is asked for (so a test sees the token unused)."""

    def __init__(self, key: SigningKey) -> None:
        self._key = key
        self.signatures = 0

    @property
    def record(self) -> KeyRecord:
        return self._key.record

    def sign(self, message: bytes, hash_name: Literal["sha256", "sha384", "sha512"]) -> bytes:
        self.signatures += 1
        return self._key.sign(message, hash_name)


@dataclass
class Artefacts:
    root: IssuedCertificate
    subordinate: IssuedCertificate
    cross: IssuedCertificate
    other_root_pem: str
    ocsp: IssuedCertificate
    request: IssuedRequest
    crl: IssuedCrl


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pkcs11Hsm]:
    """One logged-in SoftHSM token for the whole module (conftest's tokens are per test)."""
    assert open_library_users() == 0, "a Pkcs11Hsm from an earlier test is still open"
    softhsm = create_rehearsal_token(
        tmp_path_factory.mktemp("softhsm"), TOKEN_LABEL, USER_PIN, SO_PIN
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SOFTHSM_CONF_ENV, str(softhsm.conf_path))
        with Pkcs11Hsm.open(softhsm.module_path, softhsm.label) as hsm:
            hsm.login(USER_PIN)
            yield hsm
    assert open_library_users() == 0


@pytest.fixture(scope="module")
def root_keys(token: Pkcs11Hsm) -> dict[str, SigningKey]:
    """One root key per algorithm the token supports, generated once."""
    supported = set(token.supported_algorithms())
    return {
        algorithm: token.generate_key(
            KeySpec(
                id="root-key",
                label=f"root-{algorithm}",
                algorithm=algorithm,
                purpose=("certificate-signing", "crl-signing"),
            )
        )
        for algorithm in ALGORITHMS
        if algorithm in supported
    }


@pytest.fixture(scope="module")
def artefacts(token: Pkcs11Hsm, root_keys: dict[str, SigningKey]) -> dict[str, Artefacts]:
    """Everything the root key of each algorithm signs, issued once."""
    return {
        algorithm: _issue_all(token, key, lint_for(algorithm))
        for algorithm, key in root_keys.items()
    }


def lint_for(algorithm: str) -> tuple[str, ...]:
    return RFC5280_ONLY if algorithm == "ed25519" else LINT


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artefacts")


def serial(token: Pkcs11Hsm) -> int:
    return serial_from_random(token.random_bytes(16))


def certificate_spec(**fields: object) -> CertificateSpec:
    values: dict[str, object] = {
        "key": "root-key",
        "not_before": CHILD_FROM,
        "not_after": CHILD_UNTIL,
        "output": "out.pem",
        "lint": LINT,
    }
    values.update(fields)
    return CertificateSpec.model_validate(values)


def root_spec(**fields: object) -> CertificateSpec:
    values: dict[str, object] = {
        "id": "root-certificate",
        "profile": "root",
        "subject": ROOT_SUBJECT,
        "not_before": ROOT_FROM,
        "not_after": ROOT_UNTIL,
    }
    values.update(fields)
    return certificate_spec(**values)


def crl_spec(revoked: tuple[tuple[int, str], ...], **fields: object) -> CrlSpec:
    values: dict[str, object] = {
        "id": "root-crl",
        "key": "root-key",
        "issuer_certificate": "root-certificate",
        "number": 7,
        "this_update": THIS_UPDATE,
        "next_update": NEXT_UPDATE,
        "revoked": [
            {"serial": f"{number:x}", "revoked_at": THIS_UPDATE - timedelta(days=1), "reason": why}
            for number, why in revoked
        ],
        "output": "root.crl",
        "lint": LINT,
    }
    values.update(fields)
    return CrlSpec.model_validate(values)


def name(common_name: str, country: str = "XX") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Trust Services"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def software_csr(subject: x509.Name) -> bytes:
    """A request from a key outside the HSM, as an issuing CA or responder would send it."""
    private = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder().subject_name(subject).sign(private, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER)


def other_ca() -> x509.Certificate:
    """Another organisation's self-signed CA, to be cross-certified."""
    private = ec.generate_private_key(ec.SECP384R1())
    subject = name("Other Root CA", country="DE")
    ski = x509.SubjectKeyIdentifier.from_public_key(private.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(0x0123456789ABCDEF0123456789ABCDEF01)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2045, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False)
        .sign(private, hashes.SHA384())
    )


def _issue_all(token: Pkcs11Hsm, key: SigningKey, lint: tuple[str, ...]) -> Artefacts:
    issuer = HsmCertificateIssuer()
    root = issuer.issue_root(root_spec(lint=lint), key, serial(token))
    subordinate = issuer.issue_from_request(
        certificate_spec(
            id="issuing-ca",
            profile="subordinate-ca",
            subject_from="issuing-ca-csr",
            issuer_certificate="root-certificate",
            path_length=0,
            extended_key_usage=("server-auth", "client-auth"),
            lint=lint,
            **PUBLICATION,
        ),
        key,
        serial(token),
        root.der,
        software_csr(name("Example Issuing CA 1")),
    )
    other = other_ca()
    cross = issuer.cross_certify(
        certificate_spec(
            id="cross",
            profile="cross-certificate",
            subject_from="other-root",
            issuer_certificate="root-certificate",
            extended_key_usage=("server-auth",),
            lint=lint,
            **PUBLICATION,
        ),
        key,
        serial(token),
        root.der,
        other.public_bytes(serialization.Encoding.DER),
    )
    ocsp = issuer.issue_from_request(
        certificate_spec(
            id="ocsp-responder",
            profile="ocsp-responder",
            subject_from="ocsp-csr",
            issuer_certificate="root-certificate",
            lint=lint,
        ),
        key,
        serial(token),
        root.der,
        software_csr(name("Example Root CA R1 OCSP Responder")),
    )
    request = issuer.make_csr(
        CsrSpec.model_validate(
            {"id": "root-csr", "key": "root-key", "subject": ROOT_SUBJECT, "output": "r.csr"}
        ),
        key,
    )
    cross_serial = x509.load_der_x509_certificate(cross.der).serial_number
    crl = issuer.sign_crl(
        crl_spec(((cross_serial, "cessation-of-operation"), (0x01FF, "unspecified")), lint=lint),
        key,
        root.der,
    )
    return Artefacts(
        root,
        subordinate,
        cross,
        other.public_bytes(serialization.Encoding.PEM).decode(),
        ocsp,
        request,
        crl,
    )


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, check=False, timeout=60
    )


def write(directory: Path, file_name: str, text: str) -> str:
    path = directory / file_name
    path.write_text(text)
    return str(path)


def pkilint_errors(main: object, *args: str) -> tuple[int, str]:
    """Run one of pkilint's own command-line linters in-process; ERROR/FATAL count and report."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main([*args[:-1], "-s", "ERROR", args[-1]])  # type: ignore[operator]
    return int(code), buffer.getvalue()


def available(artefacts: dict[str, Artefacts], algorithm: str) -> Artefacts:
    if algorithm not in artefacts:
        pytest.skip(f"the token does not support {algorithm}")
    return artefacts[algorithm]


# -- every artefact, every key type -----------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_chain_verifies_with_openssl_strict_and_the_crl(
    artefacts: dict[str, Artefacts], out: Path, algorithm: str
) -> None:
    made = available(artefacts, algorithm)
    folder = out / algorithm
    folder.mkdir(exist_ok=True)
    root = write(folder, "root.pem", made.root.pem)
    crl = write(folder, "root.crl.pem", made.crl.pem)
    strict = ("verify", "-x509_strict", "-attime", AT, "-CAfile", root)
    for label, issued in (
        ("root", made.root),
        ("issuing-ca", made.subordinate),
        ("cross", made.cross),
        ("ocsp", made.ocsp),
    ):
        pem = write(folder, f"{label}.pem", issued.pem)
        verified = openssl(*strict, pem)
        assert verified.returncode == 0, f"{label}: {verified.stderr}"
        assert verified.stdout.strip() == f"{pem}: OK"
    # With the CRL: the issuing CA is not revoked; the cross-certificate is, and OpenSSL says so.
    issuing = str(folder / "issuing-ca.pem")
    checked = openssl(*strict, "-crl_check", "-CRLfile", crl, issuing)
    assert checked.returncode == 0, checked.stderr
    revoked = openssl(*strict, "-crl_check", "-CRLfile", crl, str(folder / "cross.pem"))
    assert revoked.returncode != 0 and "certificate revoked" in revoked.stderr
    # The OCSP responder certificate is fit for OCSP signing, by OpenSSL's own purpose check.
    responder = openssl(*strict, "-purpose", "ocsphelper", str(folder / "ocsp.pem"))
    assert responder.returncode == 0, responder.stderr


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_crl_and_the_csr_verify_with_openssl(
    artefacts: dict[str, Artefacts], out: Path, algorithm: str
) -> None:
    made = available(artefacts, algorithm)
    folder = out / f"{algorithm}-crl"
    folder.mkdir(exist_ok=True)
    root = write(folder, "root.pem", made.root.pem)
    crl = write(folder, "root.crl.pem", made.crl.pem)
    verified = openssl("crl", "-in", crl, "-noout", "-verify", "-CAfile", root)
    assert verified.returncode == 0 and "verify OK" in verified.stderr + verified.stdout
    text = openssl("crl", "-in", crl, "-noout", "-text").stdout
    assert "X509v3 CRL Number: \n                7" in text
    assert "Last Update: Jun  1 00:00:00 2027 GMT" in text
    assert "Next Update: May 31 00:00:00 2028 GMT" in text
    assert "Cessation Of Operation" in text
    assert text.count("X509v3 CRL Reason Code") == 1  # unspecified carries no reason code
    assert [entry.reason for entry in made.crl.revoked] == ["cessation-of-operation", "unspecified"]

    request = write(folder, "root.csr.pem", made.request.pem)
    checked = openssl("req", "-in", request, "-noout", "-verify", "-subject", "-nameopt", "RFC2253")
    assert checked.returncode == 0, checked.stderr
    assert "verify OK" in checked.stdout + checked.stderr
    assert "subject=CN=Example Root CA R1,O=Example Trust Services,C=XX" in checked.stdout
    # The CSR is for the root's own key: the same public key as the root certificate.
    root_key = openssl("x509", "-in", root, "-noout", "-pubkey").stdout
    assert openssl("req", "-in", request, "-noout", "-pubkey").stdout == root_key


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_pkilint_command_line_linters_find_no_error(
    artefacts: dict[str, Artefacts], out: Path, algorithm: str
) -> None:
    made = available(artefacts, algorithm)
    folder = out / f"{algorithm}-lint"
    folder.mkdir(exist_ok=True)
    cases = [
        ("root", made.root, "ROOT-CA"),
        ("issuing-ca", made.subordinate, "INTERNAL-UNCONSTRAINED-TLS-CA"),
        ("cross", made.cross, "EXTERNAL-CROSS-CA"),
        ("ocsp", made.ocsp, "OCSP-RESPONDER"),
    ]
    for label, issued, certificate_type in cases:
        pem = write(folder, f"{label}.pem", issued.pem)
        errors, report = pkilint_errors(lint_pkix_cert.main, "lint", pem)
        assert errors == 0, f"{label}: {report}"
        errors, report = pkilint_errors(
            lint_cabf_serverauth_cert.main, "lint", "-t", certificate_type, pem
        )
        if algorithm == "ed25519":
            # The BR allow RSA and ECDSA only: pkilint's BR linter says exactly that, and nothing
            # else, about the RFC 8410 encoding (300506032b6570 = SEQUENCE { id-Ed25519 }): for
            # the signature, and for the public key where it is Ed25519 too (the root's own).
            expected = {BR_PROHIBITED_SIGNATURE} | (
                {BR_PROHIBITED_PUBLIC_KEY} if label == "root" else set()
            )
            assert finding_codes(report) == expected, f"{label}: {report}"
            assert report.count("Prohibited encoding: 300506032b6570") == errors == len(expected)
        else:
            assert errors == 0, f"{label}: {report}"
    crl = write(folder, "root.crl.pem", made.crl.pem)
    for profile in ("PKIX", "BR"):
        errors, report = pkilint_errors(lint_crl.main, "lint", "-t", "ARL", "-p", profile, crl)
        assert errors == 0, report


def finding_codes(report: str) -> set[str]:
    """The finding codes in a pkilint command-line report (lines ``    code (SEVERITY)...``)."""
    return {
        line.split()[0] for line in report.splitlines() if line.startswith("    ") and "(" in line
    }


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_result_lists_what_was_verified(
    artefacts: dict[str, Artefacts], algorithm: str
) -> None:
    made = available(artefacts, algorithm)
    for issued in (made.root, made.subordinate, made.cross, made.ocsp):
        assert "pkilint found no error in the twin before the HSM signed" in issued.checks
        assert "pkilint found no error in the HSM-signed result" in issued.checks
        assert any("byte-identical to the twin" in check for check in issued.checks)
        assert any("signature verifies with the public key the HSM" in c for c in issued.checks)
        assert all(not w.startswith(("ERROR", "FATAL")) for w in issued.lint_warnings)
    assert any("issued by the issuing certificate" in c for c in made.subordinate.checks)
    assert any("self-signature verifies" in check for check in made.request.checks)
    assert any("signature verifies with the issuing" in c for c in made.crl.checks)
    ocsp = x509.load_der_x509_certificate(made.ocsp.der)
    assert ocsp.extensions.get_extension_for_class(x509.OCSPNoCheck)
    eku = ocsp.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]
    cross = x509.load_der_x509_certificate(made.cross.der)
    other = x509.load_pem_x509_certificate(made.other_root_pem.encode())
    assert cross.subject == other.subject and cross.public_key() == other.public_key()
    assert (
        cross.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        == other.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    )


ALGORITHM_IDENTIFIERS = {
    "ec-p521": "300a06082a8648ce3d040304",  # ecdsa-with-SHA512, parameters absent (RFC 5758 3.2)
    "ed25519": "300506032b6570",  # id-Ed25519, parameters absent (RFC 8410 3)
}
"""The DER of the signature AlgorithmIdentifier for the key types added after the baseline."""


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_artefact_carries_the_keys_signature_algorithm(
    artefacts: dict[str, Artefacts], out: Path, algorithm: str
) -> None:
    made = available(artefacts, algorithm)
    expected = SIGNATURE_NAMES[algorithm]
    folder = out / f"{algorithm}-algorithm"
    folder.mkdir(exist_ok=True)
    certificates = {
        "root": made.root,
        "issuing-ca": made.subordinate,
        "cross": made.cross,
        "ocsp": made.ocsp,
    }
    for label, issued in certificates.items():
        assert issued.signature_algorithm == expected, label
        text = openssl("x509", "-in", write(folder, f"{label}.pem", issued.pem), "-noout", "-text")
        assert text.stdout.count(f"Signature Algorithm: {expected}") == 2, label  # TBS and outer
    request = openssl("req", "-in", write(folder, "r.csr", made.request.pem), "-noout", "-text")
    crl = openssl("crl", "-in", write(folder, "r.crl", made.crl.pem), "-noout", "-text")
    assert made.request.signature_algorithm == made.crl.signature_algorithm == expected
    assert f"Signature Algorithm: {expected}" in request.stdout
    assert crl.stdout.count(f"Signature Algorithm: {expected}") == 2
    identifier = ALGORITHM_IDENTIFIERS.get(algorithm)
    if identifier is not None:
        # Parameters absent, as the RFCs require; the SPKI of an Ed25519 key has the same bytes.
        encoded = bytes.fromhex(identifier)
        for issued in certificates.values():
            cert = x509.load_der_x509_certificate(issued.der)
            in_spki = _spki(cert.public_key()).count(encoded)
            assert issued.der.count(encoded) - in_spki == 2  # tbsCertificate.signature and outer
        assert made.crl.der.count(encoded) == 2
        csr = x509.load_der_x509_csr(made.request.der)
        assert made.request.der.count(encoded) - _spki(csr.public_key()).count(encoded) == 1


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# -- refusals, before the HSM signs --------------------------------------------------------------


@pytest.fixture
def p256(root_keys: dict[str, SigningKey]) -> SigningKey:
    if "ec-p256" not in root_keys:
        pytest.skip("the token does not support ec-p256")
    return root_keys["ec-p256"]


@pytest.fixture
def p256_root(artefacts: dict[str, Artefacts], p256: SigningKey) -> IssuedCertificate:
    return artefacts["ec-p256"].root


def test_a_pkilint_error_blocks_signing_before_the_hsm_signs(
    token: Pkcs11Hsm, p256: SigningKey
) -> None:
    key = CountingKey(p256)
    # BR 7.1.2.10.2: a CA certificate's subject MUST NOT carry an organizationalUnitName.
    spec = root_spec(subject={**ROOT_SUBJECT, "organizational_unit": "Root PKI"})
    with pytest.raises(PkiError) as caught:
        HsmCertificateIssuer().issue_root(spec, key, serial(token))
    message = str(caught.value)
    assert "(its twin, before the HSM signs): pkilint found 1 error(s)" in message
    assert "ERROR cabf.serverauth.ca.organizational_unit_name_attribute_present" in message
    assert "certificate.tbsCertificate.subject.rdnSequence" in message
    assert key.signatures == 0  # the token was never asked to sign
    # Without the BR profile the same subject is RFC 5280-clean, and the HSM signs once.
    issued = HsmCertificateIssuer().issue_root(replace_lint(spec, ("rfc5280",)), key, serial(token))
    assert key.signatures == 1 and issued.subject.startswith("CN=Example Root CA R1,OU=Root PKI")


def test_the_br_lint_refuses_ed25519_before_the_hsm_signs(
    token: Pkcs11Hsm, root_keys: dict[str, SigningKey], artefacts: dict[str, Artefacts], out: Path
) -> None:
    """BR 7.1.3 allows RSA and ECDSA only, for certificates and for CRLs."""
    if "ed25519" not in root_keys:
        pytest.skip("the token does not support ed25519")
    key = CountingKey(root_keys["ed25519"])
    with pytest.raises(PkiError) as caught:
        HsmCertificateIssuer().issue_root(root_spec(lint=LINT), key, serial(token))
    message = str(caught.value)
    assert "(its twin, before the HSM signs): pkilint found 2 error(s)" in message
    for code in (BR_PROHIBITED_SIGNATURE, BR_PROHIBITED_PUBLIC_KEY):
        assert f"ERROR {code} at certificate.tbsCertificate." in message
    # pkilint's CRL command line has no BR algorithm check: the Ed25519 CRL passes `-p BR` ...
    crl = write(out, "ed25519-root.crl.pem", artefacts["ed25519"].crl.pem)
    errors, report = pkilint_errors(lint_crl.main, "lint", "-t", "ARL", "-p", "BR", crl)
    assert errors == 0, report
    # ... so Sealroom's wrapper adds pkilint's BR 7.1.3.2 validator, and the CRL is refused.
    with pytest.raises(PkiError) as refused:
        HsmCertificateIssuer().sign_crl(crl_spec((), lint=LINT), key, artefacts["ed25519"].root.der)
    assert (
        f"pkilint found 1 error(s), so the HSM does not sign it: ERROR {BR_PROHIBITED_SIGNATURE} "
        "at certificateList.tbsCertList.signature: Prohibited encoding: 300506032b6570"
    ) in str(refused.value)
    assert key.signatures == 0


def test_ed25519_in_the_token_is_deterministic_so_the_same_root_comes_out_byte_identical(
    token: Pkcs11Hsm, root_keys: dict[str, SigningKey]
) -> None:
    """PureEdDSA (RFC 8032) has no per-signature randomness: the token signed the TBS itself."""
    if "ed25519" not in root_keys:
        pytest.skip("the token does not support ed25519")
    key = CountingKey(root_keys["ed25519"])
    number = serial(token)
    spec = root_spec(lint=RFC5280_ONLY)
    first = HsmCertificateIssuer().issue_root(spec, key, number)
    second = HsmCertificateIssuer().issue_root(spec, key, number)
    assert key.signatures == 2 and first.der == second.der
    cert = x509.load_der_x509_certificate(first.der)
    public = cert.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(cert.signature, cert.tbs_certificate_bytes)  # over the whole TBS, no prehash


def replace_lint(spec: CertificateSpec, lint: tuple[str, ...]) -> CertificateSpec:
    return CertificateSpec.model_validate({**spec.model_dump(), "lint": lint})


def test_a_tbs_that_differs_from_the_twin_is_detected(
    token: Pkcs11Hsm, p256: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = CountingKey(p256)
    original = x509.CertificateBuilder.sign
    calls: list[object] = []

    def tampering_sign(
        builder: x509.CertificateBuilder, private_key: object, algorithm: object
    ) -> x509.Certificate:
        calls.append(private_key)
        if len(calls) == 2:  # the HSM's turn: something slips an extension in after the lint
            builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
        return original(builder, private_key, algorithm)  # type: ignore[arg-type]

    monkeypatch.setattr(x509.CertificateBuilder, "sign", tampering_sign)
    with pytest.raises(PkiError) as caught:
        HsmCertificateIssuer().issue_root(root_spec(), key, serial(token))
    message = str(caught.value)
    assert "failed its checks; it was not written" in message
    assert "the TBSCertificate is byte-identical to the twin signed by a throwaway key" in message
    assert "the signature verifies" not in message  # the HSM signature itself is sound
    assert key.signatures == 1


def test_a_key_that_is_not_the_issuers_is_refused(
    token: Pkcs11Hsm, root_keys: dict[str, SigningKey], p256_root: IssuedCertificate
) -> None:
    other = next((k for a, k in root_keys.items() if a != "ec-p256"), None)
    if other is None:
        pytest.skip("the token supports only one key type")
    key = CountingKey(other)
    spec = certificate_spec(
        id="issuing-ca",
        profile="subordinate-ca",
        subject_from="csr",
        issuer_certificate="root-certificate",
        path_length=0,
        extended_key_usage=("server-auth",),
        **PUBLICATION,
    )
    with pytest.raises(PkiError, match="is not the key of the issuing certificate") as caught:
        HsmCertificateIssuer().issue_from_request(
            spec, key, serial(token), p256_root.der, software_csr(name("Example Issuing CA 2"))
        )
    assert "CN=Example Root CA R1,O=Example Trust Services,C=XX" in str(caught.value)
    with pytest.raises(PkiError, match="is not the key of the issuing certificate"):
        HsmCertificateIssuer().sign_crl(crl_spec(()), key, p256_root.der)
    assert key.signatures == 0


def test_a_crl_valid_longer_than_its_maximum_is_refused(
    p256: SigningKey, p256_root: IssuedCertificate
) -> None:
    key = CountingKey(p256)
    spec = crl_spec((), next_update=THIS_UPDATE + timedelta(days=366), max_validity_days=365)
    with pytest.raises(
        PkiError,
        match=r"The CRL 'root-crl' would be valid for 366 days .* more than its profile's "
        r"max_validity_days of 365",
    ):
        HsmCertificateIssuer().sign_crl(spec, key, p256_root.der)
    assert key.signatures == 0


def test_the_records_key_id_must_be_the_scripted_key(
    token: Pkcs11Hsm, p256: SigningKey, p256_root: IssuedCertificate
) -> None:
    key = CountingKey(p256)
    with pytest.raises(PkiError, match="signed by the key 'other-key', but the key given is"):
        HsmCertificateIssuer().sign_crl(crl_spec((), key="other-key"), key, p256_root.der)
    assert key.signatures == 0
