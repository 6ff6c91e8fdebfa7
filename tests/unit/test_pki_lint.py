"""sealroom.pki.lint: pkilint's verdicts on software-built certificates and CRLs, good and bad."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sealroom.errors import PkiError
from sealroom.pki.lint import (
    NO_ETSI_CA_PROFILE,
    NO_ETSI_CRL_PROFILE,
    UNDECODABLE,
    LintFinding,
    blocking_findings,
    lint_certificate,
    lint_crl,
    verify_lint_clean,
    warning_sentences,
)
from sealroom.pki.profile import authority_key_identifier, key_identifier, key_usage

KEY = ec.generate_private_key(ec.SECP256R1())
SUBORDINATE_KEY = ec.generate_private_key(ec.SECP256R1())
BR = ("rfc5280", "cabf-serverauth")
Ext = tuple[x509.ExtensionType, bool]


def name(*, unit: str | None = None, common_name: str = "Example Root CA") -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Trust Services"),
    ]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def certificate(
    extensions: Sequence[Ext],
    *,
    subject: x509.Name | None = None,
    issuer: x509.Name | None = None,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = KEY,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None = None,
) -> bytes:
    subject = subject or name()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(public_key or key.public_key())
        .serial_number(0x01 << 128 | 0xABCDEF)
        .not_valid_before(datetime(2027, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
    )
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def root_extensions(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = KEY) -> list[Ext]:
    ski = key_identifier(key.public_key())
    return [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (key_usage(cert_sign=True, crl_sign=True), True),
        (x509.SubjectKeyIdentifier(ski), False),
        (authority_key_identifier(ski).value, False),
    ]


def subordinate(eku: Sequence[x509.ObjectIdentifier]) -> bytes:
    point = x509.DistributionPoint(
        [x509.UniformResourceIdentifier("http://crl.example.com/root.crl")], None, None, None
    )
    extensions: list[Ext] = [
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (key_usage(digital_signature=True, cert_sign=True, crl_sign=True), True),
        (x509.SubjectKeyIdentifier(key_identifier(SUBORDINATE_KEY.public_key())), False),
        (authority_key_identifier(key_identifier(KEY.public_key())).value, False),
        (x509.CRLDistributionPoints([point]), False),
        (
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier("http://crt.example.com/root.crt"),
                    )
                ]
            ),
            False,
        ),
        (
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier("2.23.140.1.2.2"), None)]
            ),
            False,
        ),
    ]
    if eku:
        extensions.append((x509.ExtendedKeyUsage(list(eku)), False))
    return certificate(
        extensions,
        subject=name(common_name="Example Issuing CA"),
        issuer=name(),
        public_key=SUBORDINATE_KEY.public_key(),
    )


def codes(findings: Sequence[LintFinding], *severities: str) -> set[str]:
    return {f.code for f in findings if not severities or f.severity in severities}


# -- certificates ---------------------------------------------------------------------------------


def test_a_root_built_to_the_profile_has_no_blocking_finding_under_rfc5280_and_the_br() -> None:
    der = certificate(root_extensions())
    for profiles in (("rfc5280",), BR):
        findings = lint_certificate(der, "root-ca", profiles)
        assert blocking_findings(findings) == ()
        verify_lint_clean(findings, "The certificate 'root'")  # does not raise
    findings = lint_certificate(der, "root-ca", BR)
    assert {f.linter for f in findings} == {"pkilint CA/B Forum TLS BR 2.2.5 (ROOT_CA)"}
    # A root that signs no OCSP response itself has no digitalSignature: a NOTICE, not an error.
    assert "cabf.ca_certificate_no_digital_signature_bit" in codes(findings, "NOTICE")


def test_rfc5280_errors_name_code_path_and_message() -> None:
    der = certificate(
        [
            (x509.BasicConstraints(ca=True, path_length=None), False),
            (key_usage(cert_sign=True, crl_sign=True), True),
        ]
    )
    findings = lint_certificate(der, "root-ca", ("rfc5280",))
    errors = blocking_findings(findings)
    assert codes(errors) == {
        "pkix.basic_constraints_extension_not_critical",
        "pkix.certificate_skid_ca_missing",
    }
    critical = next(f for f in errors if f.code.startswith("pkix.basic"))
    assert critical.path == "certificate.tbsCertificate.extensions.0.extnValue.basicConstraints"
    assert critical.sentence() == (
        "ERROR pkix.basic_constraints_extension_not_critical at "
        "certificate.tbsCertificate.extensions.0.extnValue.basicConstraints: CA certificate does "
        "not have critical basicConstraints [pkilint RFC 5280]"
    )
    with pytest.raises(PkiError) as caught:
        verify_lint_clean(findings, "The certificate 'root' (its twin, before the HSM signs)")
    message = str(caught.value)
    assert message.startswith(
        "The certificate 'root' (its twin, before the HSM signs): pkilint found 2 error(s), so "
        "the HSM does not sign it: ERROR "
    )
    assert "pkix.basic_constraints_extension_not_critical" in message
    assert "pkix.certificate_skid_ca_missing" in message


def test_the_br_forbids_an_organizational_unit_in_a_ca_subject_but_rfc5280_does_not() -> None:
    der = certificate(root_extensions(), subject=name(unit="Root PKI"))
    assert blocking_findings(lint_certificate(der, "root-ca", ("rfc5280",))) == ()
    errors = blocking_findings(lint_certificate(der, "root-ca", BR))
    assert codes(errors) == {"cabf.serverauth.ca.organizational_unit_name_attribute_present"}


def test_the_br_root_profile_wants_the_aki() -> None:
    without_aki = certificate(root_extensions()[:3])
    findings = lint_certificate(without_aki, "root-ca", BR)
    assert "cabf.serverauth.root.authority_key_identifier_extension_absent" in codes(
        findings, "WARNING"
    )
    assert any(
        "authority_key_identifier_extension_absent" in w for w in warning_sentences(findings)
    )


def test_subordinates_are_linted_as_the_type_pkilint_detects() -> None:
    tls = lint_certificate(subordinate([ExtendedKeyUsageOID.SERVER_AUTH]), "subordinate-ca", BR)
    assert blocking_findings(tls) == ()
    assert {f.linter for f in tls} <= {
        "pkilint CA/B Forum TLS BR 2.2.5 (INTERNAL_UNCONSTRAINED_TLS_CA)"
    }
    mail = lint_certificate(
        subordinate([ExtendedKeyUsageOID.EMAIL_PROTECTION]), "subordinate-ca", BR
    )
    assert {f.linter for f in mail} <= {"pkilint CA/B Forum TLS BR 2.2.5 (NON_TLS_CA)"}
    # A TLS subordinate without EKU breaks BR 7.1.2.10.6.
    assert blocking_findings(lint_certificate(subordinate([]), "subordinate-ca", BR))


def test_an_ocsp_responder_with_a_crl_distribution_point_breaks_the_br() -> None:
    point = x509.DistributionPoint(
        [x509.UniformResourceIdentifier("http://crl.example.com/root.crl")], None, None, None
    )
    der = certificate(
        [
            (key_usage(digital_signature=True), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False),
            (x509.OCSPNoCheck(), False),
            (x509.SubjectKeyIdentifier(key_identifier(SUBORDINATE_KEY.public_key())), False),
            (authority_key_identifier(key_identifier(KEY.public_key())).value, False),
            (x509.CRLDistributionPoints([point]), False),
        ],
        subject=name(common_name="Example OCSP"),
        issuer=name(),
        public_key=SUBORDINATE_KEY.public_key(),
    )
    errors = blocking_findings(lint_certificate(der, "ocsp-responder", BR))
    assert codes(errors) == {
        "cabf.serverauth.ocsp_responder.crl_distribution_points_extension_present"
    }
    assert blocking_findings(lint_certificate(der, "ocsp-responder", ("rfc5280",))) == ()


def test_etsi_on_a_ca_certificate_runs_the_algorithm_checks_and_says_what_pkilint_lacks() -> None:
    small = rsa.generate_private_key(65537, 1024)  # noqa: S505 -- the weak key under test
    der = certificate(root_extensions(small), key=small)
    findings = lint_certificate(der, "root-ca", ("rfc5280", "etsi"))
    assert "ts_119_312.8.4.rsa_small_modulus" in codes(findings, "NOTICE")
    note = next(f for f in findings if f.code == NO_ETSI_CA_PROFILE)
    assert note.severity == "INFO"
    assert "no ETSI EN 319 412 profile for a root-ca certificate" in note.message
    warnings = warning_sentences(findings)
    assert any(NO_ETSI_CA_PROFILE in w for w in warnings)  # never skipped silently
    assert any("rsa_small_modulus" in w for w in warnings)
    # pkilint's own INFO findings (e.g. which SKI method was used) are not warnings.
    assert "pkix.subject_key_identifier_rfc7093_method_1_identified" not in " ".join(warnings)
    assert NO_ETSI_CA_PROFILE not in codes(lint_certificate(der, "root-ca", ("rfc5280",)))


def test_undecodable_der_is_a_fatal_finding() -> None:
    for findings in (
        lint_certificate(b"\x30\x03\x02\x01\x01", "root-ca", BR),
        lint_certificate(b"not DER", "root-ca", ("rfc5280",)),
        lint_crl(b"\x30\x00", "arl", ("rfc5280",)),
    ):
        assert [(f.severity, f.code) for f in findings] == [("FATAL", UNDECODABLE)]
        with pytest.raises(PkiError, match="pkilint cannot decode the DER"):
            verify_lint_clean(findings, "The certificate 'x'")


# -- CRLs ------------------------------------------------------------------------------------------


def crl(
    *,
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
    next_update: datetime = datetime(2028, 1, 1, tzinfo=UTC),
    with_extensions: bool = True,
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name())
        .last_update(datetime(2027, 1, 2, tzinfo=UTC))
        .next_update(next_update)
    )
    if with_extensions:
        builder = builder.add_extension(
            authority_key_identifier(key_identifier(KEY.public_key())).value, critical=False
        ).add_extension(x509.CRLNumber(4), critical=False)
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(0x01 << 128 | 7)
        .revocation_date(datetime(2027, 1, 1, tzinfo=UTC))
    )
    if reason is not None:
        entry = entry.add_extension(x509.CRLReason(reason), critical=False)
    builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_a_root_arl_for_a_year_is_clean_but_a_crl_may_last_only_ten_days() -> None:
    der = crl()
    assert blocking_findings(lint_crl(der, "arl", BR)) == ()
    assert blocking_findings(lint_crl(der, "crl", ("rfc5280",))) == ()
    errors = blocking_findings(lint_crl(der, "crl", BR))
    assert codes(errors) == {"cabf.crl_invalid_validity_period"}
    too_long = blocking_findings(
        lint_crl(crl(next_update=datetime(2028, 2, 1, tzinfo=UTC)), "arl", BR)
    )
    assert codes(too_long) == {"cabf.arl_invalid_validity_period"}


def test_crl_reason_codes_follow_br_7_2_2() -> None:
    unspecified = blocking_findings(lint_crl(crl(reason=x509.ReasonFlags.unspecified), "arl", BR))
    assert codes(unspecified) == {"cabf.crl_prohibited_reason_code"}
    assert 'Prohibited reason code "unspecified"' in unspecified[0].message
    assert blocking_findings(lint_crl(crl(reason=None), "arl", BR)) == ()
    ca_compromise = crl(reason=x509.ReasonFlags.ca_compromise)
    assert blocking_findings(lint_crl(ca_compromise, "arl", BR)) == ()  # allowed in an ARL only
    assert codes(blocking_findings(lint_crl(ca_compromise, "crl", BR))) >= {
        "cabf.crl_prohibited_reason_code"
    }


def test_a_crl_without_number_or_aki_breaks_rfc5280() -> None:
    errors = blocking_findings(lint_crl(crl(with_extensions=False), "arl", ("rfc5280",)))
    assert codes(errors) == {"pkix.crl_number_missing", "pkix.authority_key_identifier_missing"}
    assert {f.linter for f in errors} == {"pkilint RFC 5280"}


def test_etsi_on_a_crl_is_an_info_note() -> None:
    findings = lint_crl(crl(), "arl", ("rfc5280", "etsi"))
    note = next(f for f in findings if f.code == NO_ETSI_CRL_PROFILE)
    assert note.severity == "INFO" and "no ETSI validator for CRLs" in note.message
    assert any(NO_ETSI_CRL_PROFILE in w for w in warning_sentences(findings))
