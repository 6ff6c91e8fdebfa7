"""pkilint behind typed functions: lint a certificate or CRL DER for the profile's lint list.

pkilint (pinned 0.13.3) has no type information, so this module is the only place that imports
it; everything it returns is a plain frozen ``LintFinding``. Which pkilint validators run for which
artefact is decided here and written down in docs/certificates.md:

* ``rfc5280``: pkilint's RFC 5280 certificate (or CRL) validators. Always run, whatever the list.
* ``cabf-serverauth``: the CA/Browser Forum TLS Baseline Requirements validators for the matching
  certificate type (root CA, subordinate CA as pkilint detects it, external cross-certified CA,
  OCSP responder); for a CRL the BR 7.2 validity-period and reason-code checks for a CRL or ARL,
  and pkilint's BR 7.1.3.2 signature-algorithm encoding check on the CRL's signature (pkilint's
  own CRL command line leaves it out, so an Ed25519 CRL would otherwise pass the BR profile).
* ``etsi``: pkilint's ETSI EN 319 412 profiles are for end-entity certificates only. For CA and
  OCSP-responder certificates the TS 119 312 algorithm checks and the EN 319 412-1 identifier
  checks run, and an INFO finding says that no EN 319 412 CA profile exists in pkilint; for CRLs
  an INFO finding says that pkilint has no ETSI CRL validator. Nothing is skipped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from pkilint import finding_filter, loader, pkix  # type: ignore[import-untyped]
from pkilint.cabf import cabf_crl, serverauth  # type: ignore[import-untyped]
from pkilint.cabf.serverauth import (  # type: ignore[import-untyped]
    serverauth_constants,
    serverauth_key,
)
from pkilint.etsi import en_319_412_1, ts_119_312  # type: ignore[import-untyped]
from pkilint.pkix import certificate, crl, extension, name  # type: ignore[import-untyped]
from pkilint.validation import ValidationFindingSeverity  # type: ignore[import-untyped]

from sealroom.ceremony.script import LintProfile
from sealroom.errors import PkiError

CertificateKind = Literal["root-ca", "subordinate-ca", "cross-ca", "ocsp-responder"]
"""What a certificate is, which decides the pkilint certificate type."""
CrlKind = Literal["crl", "arl"]
"""A CRL of end-entity certificates, or an ARL (authority revocation list: CA certificates only)."""
Severity = Literal["FATAL", "ERROR", "WARNING", "NOTICE", "INFO"]

BLOCKING_SEVERITIES: Final[frozenset[str]] = frozenset({"FATAL", "ERROR"})
"""Findings of these severities stop the HSM from signing (a MUST of the standard is broken)."""

SEALROOM_CODE: Final = "sealroom."
"""Codes of Sealroom's own notes, as opposed to pkilint's findings."""
NO_ETSI_CA_PROFILE: Final = "sealroom.etsi.no_ca_profile"
NO_ETSI_CRL_PROFILE: Final = "sealroom.etsi.no_crl_profile"
UNDECODABLE: Final = "sealroom.pkilint.undecodable"

_LINTER_NAMES: Final[dict[str, str]] = {
    "rfc5280": "pkilint RFC 5280",
    "cabf-serverauth": f"pkilint CA/B Forum TLS BR {serverauth_constants.BR_VERSION}",
    "etsi": "pkilint ETSI EN 319 412 / TS 119 312",
}
_KINDS_BY_SERVERAUTH_TYPE: Final[dict[str, str]] = {
    "root-ca": "ROOT_CA",
    "cross-ca": "EXTERNAL_CROSS_CA",
    "ocsp-responder": "OCSP_RESPONDER",
}


@dataclass(frozen=True)
class LintFinding:
    """One pkilint finding (or Sealroom's own note that a validation does not exist)."""

    severity: Severity
    code: str
    message: str
    path: str
    """Where in the ASN.1 document, e.g. ``certificate.tbsCertificate.extensions.2``."""
    linter: str
    """Which validation produced it, e.g. ``pkilint CA/B Forum TLS BR 2.2.5 (ROOT_CA)``."""

    @property
    def blocking(self) -> bool:
        return self.severity in BLOCKING_SEVERITIES

    def sentence(self) -> str:
        """The finding in one line for the witnesses, the journal and error messages."""
        message = f": {self.message}" if self.message else ""
        return f"{self.severity} {self.code} at {self.path}{message} [{self.linter}]"


def lint_certificate(
    der: bytes, kind: CertificateKind, profiles: Sequence[LintProfile]
) -> tuple[LintFinding, ...]:
    """Every pkilint finding on the certificate ``der`` for ``profiles`` (RFC 5280 always)."""
    document = _load(der, loader.RFC5280CertificateDocumentLoader(), "certificate")
    if isinstance(document, LintFinding):
        return (document,)
    passes: list[tuple[str, Callable[[Any], list[Any]]]] = []
    notes: list[LintFinding] = []
    requested = set(profiles)
    if "cabf-serverauth" in requested:
        # pkilint's BR validator set contains every RFC 5280 validator, with the BR's filters.
        certificate_type = _serverauth_type(document, kind)
        passes.append(
            (
                f"{_LINTER_NAMES['cabf-serverauth']} ({certificate_type})",
                lambda loaded: _serverauth_results(loaded, certificate_type),
            )
        )
    else:
        passes.append((_LINTER_NAMES["rfc5280"], _rfc5280_certificate_results))
    if "etsi" in requested:
        passes.append((_LINTER_NAMES["etsi"], _etsi_ca_results))
        notes.append(
            LintFinding(
                "INFO",
                NO_ETSI_CA_PROFILE,
                f"pkilint has no ETSI EN 319 412 profile for a {kind} certificate (its EN 319 412 "
                "profiles are for end-entity certificates); only the TS 119 312 algorithm and "
                "EN 319 412-1 identifier checks ran",
                "certificate",
                _LINTER_NAMES["etsi"],
            )
        )
    return _run(document, passes) + tuple(notes)


def lint_crl(der: bytes, kind: CrlKind, profiles: Sequence[LintProfile]) -> tuple[LintFinding, ...]:
    """Every finding pkilint reports on the CRL ``der`` for ``profiles`` (RFC 5280 always)."""
    document = _load(der, loader.RFC5280CertificateListDocumentLoader(), "certificateList")
    if isinstance(document, LintFinding):
        return (document,)
    crl_type = crl.CertificateRevocationListType[kind.upper()]
    br = "cabf-serverauth" in profiles

    def results(loaded: Any) -> list[Any]:
        validity: list[Any] = []
        top: list[Any] = []
        if br:
            top.append(cabf_crl.CabfCrlReasonCodeAllowlistValidator(crl_type))
            # BR 7.1.3.2 covers every object a CA key signs, CRLs included (RSA or ECDSA only).
            top.append(
                serverauth_key.ServerauthAllowedSignatureAlgorithmEncodingValidator(
                    path="certificateList.tbsCertList.signature"
                )
            )
            validity.append(cabf_crl.create_validity_period_validator(crl_type))
        validator = crl.create_pkix_crl_validator_container(
            [
                pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
                pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
            ],
            [
                crl.create_issuer_validator_container([]),
                crl.create_validity_validator_container(validity),
                crl.create_extensions_validator_container([]),
                *top,
            ],
        )
        return list(validator.validate(loaded.root))

    linter = (
        f"{_LINTER_NAMES['cabf-serverauth']} ({kind.upper()})" if br else _LINTER_NAMES["rfc5280"]
    )
    findings = _run(document, [(linter, results)])
    if "etsi" in profiles:
        findings += (
            LintFinding(
                "INFO",
                NO_ETSI_CRL_PROFILE,
                "pkilint has no ETSI validator for CRLs; the CRL was linted against RFC 5280"
                + (" and the BR" if br else ""),
                "certificateList",
                _LINTER_NAMES["etsi"],
            ),
        )
    return findings


def blocking_findings(findings: Iterable[LintFinding]) -> tuple[LintFinding, ...]:
    """The findings that stop signing (FATAL and ERROR)."""
    return tuple(finding for finding in findings if finding.blocking)


def warning_sentences(findings: Iterable[LintFinding]) -> tuple[str, ...]:
    """Warnings and notices, and Sealroom's notes on validations pkilint lacks, as sentences.

    pkilint's own INFO findings (e.g. "SKI is RFC 7093 method 1") are not problems and are left
    out; FATAL and ERROR findings never get here because they block signing.
    """
    return tuple(
        finding.sentence()
        for finding in findings
        if finding.severity in {"WARNING", "NOTICE"} or finding.code.startswith(SEALROOM_CODE)
    )


def verify_lint_clean(findings: Sequence[LintFinding], what: str) -> None:
    """Raise PkiError naming every blocking finding; ``what`` names the artefact and moment."""
    blocking = blocking_findings(findings)
    if blocking:
        listed = "; ".join(finding.sentence() for finding in blocking)
        raise PkiError(
            f"{what}: pkilint found {len(blocking)} error(s), so the HSM does not sign it: "
            f"{listed}."
        )


# ---------------------------------------------------------------------------------------------


def _load(der: bytes, document_loader: Any, document_name: str) -> Any:
    """The pkilint document for ``der``, or a FATAL finding when pkilint cannot decode it."""
    try:
        return document_loader.load_der_document(bytes(der), document_name)
    except Exception as exc:  # pkilint raises ValueError or pyasn1 errors for undecodable DER
        return LintFinding(
            "FATAL",
            UNDECODABLE,
            f"pkilint cannot decode the DER ({type(exc).__name__})",
            document_name,
            _LINTER_NAMES["rfc5280"],
        )


def _run(
    document: Any, passes: Sequence[tuple[str, Callable[[Any], list[Any]]]]
) -> tuple[LintFinding, ...]:
    findings: list[LintFinding] = []
    seen: set[tuple[str, str]] = set()
    for linter, results_of in passes:
        for result in _quietly(results_of, document):
            for description in result.finding_descriptions:
                severity = ValidationFindingSeverity(description.finding.severity)
                if severity == ValidationFindingSeverity.DEBUG:
                    continue
                code = str(description.finding.code)
                path = str(result.node.path)
                if (code, path) in seen:
                    continue  # the same validator reached through two passes
                seen.add((code, path))
                findings.append(
                    LintFinding(severity.name, code, str(description.message or ""), path, linter)
                )
    order = {"FATAL": 0, "ERROR": 1, "WARNING": 2, "NOTICE": 3, "INFO": 4}
    return tuple(sorted(findings, key=lambda finding: order[finding.severity]))


def _quietly(results_of: Callable[[Any], list[Any]], document: Any) -> list[Any]:
    """Run pkilint without its logger printing tracebacks to the operator's terminal.

    An exception inside a validator still becomes a FATAL ``base.unhandled_exception`` finding.
    """
    pkilint_logger = logging.getLogger("pkilint")
    previous = pkilint_logger.level
    pkilint_logger.setLevel(logging.CRITICAL)
    try:
        return results_of(document)
    finally:
        pkilint_logger.setLevel(previous)


def _rfc5280_certificate_results(document: Any) -> list[Any]:
    validator = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )
    return list(validator.validate(document.root))


def _serverauth_results(document: Any, certificate_type: Any) -> list[Any]:
    validator = certificate.create_pkix_certificate_validator_container(
        serverauth.create_decoding_validators(),
        serverauth.create_validators(certificate_type),
    )
    results = validator.validate(document.root)
    filtered, _ = finding_filter.filter_results(
        serverauth.create_serverauth_finding_filters(certificate_type), results
    )
    return list(filtered)


def _serverauth_type(document: Any, kind: CertificateKind) -> Any:
    if kind == "subordinate-ca":
        # pkilint's own detection: precertificate-signing, TLS (constrained or not) or non-TLS CA.
        return serverauth.determine_certificate_type(document)
    return serverauth_constants.CertificateType[_KINDS_BY_SERVERAUTH_TYPE[kind]]


def _etsi_ca_results(document: Any) -> list[Any]:
    validator = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_subject_validator_container(
                [
                    en_319_412_1.LegalPersonOrganizationIdentifierValidator(),
                    en_319_412_1.EidasLegalPersonIdentifierValidator(),
                ]
            ),
            certificate.create_spki_validator_container(
                [ts_119_312.RsaKeyValidator(), ts_119_312.AllowedPublicKeyTypeValidator()]
            ),
            ts_119_312.AllowedSignatureAlgorithmValidator(
                path="certificate.tbsCertificate.signature"
            ),
        ],
    )
    return list(validator.validate(document.root))
