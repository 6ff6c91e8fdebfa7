"""Checks on objects imported through the air gap: a CSR (fully), or a CA certificate."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtensionOID

from sealroom.ceremony.ports import CheckedInput, Fact
from sealroom.errors import PkiError
from sealroom.pki.csr import CsrPolicy, grouped_hex, load_csr
from sealroom.pki.issuer import HsmCertificateIssuer
from sealroom.pki.weak import check_public_key

if TYPE_CHECKING:
    from sealroom.ceremony.ports import CertificateIssuer

MAX_CERTIFICATE_BYTES = 16384


def check_csr(input_id: str, data: bytes, *, allow_ca_request: bool) -> CheckedInput:
    """A request checked by :func:`sealroom.pki.csr.load_csr`, as the engine sees it."""
    checked = load_csr(data, input_id, CsrPolicy(allow_ca=allow_ca_request))
    return CheckedInput(
        input_id=input_id,
        kind="csr",
        der=checked.der,
        summary=checked.subject_text,
        facts=tuple(Fact(label, value) for label, value in checked.facts()),
    )


def check_ca_certificate(input_id: str, data: bytes) -> CheckedInput:
    """A CA certificate (PEM or DER), checked; PkiError names the input and what is wrong.

    It must parse, be a CA certificate, have a sound key and, if self-issued, a valid
    self-signature.
    """
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise PkiError(
            f"{input_id}: {len(data)} bytes is larger than any CA certificate Sealroom accepts "
            f"({MAX_CERTIFICATE_BYTES})."
        )
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise PkiError(f"{input_id}: not a certificate in PEM or DER ({exc}).") from exc
    der = cert.public_bytes(serialization.Encoding.DER)
    if not data.lstrip().startswith(b"-----BEGIN") and der != data:
        raise PkiError(f"{input_id}: the DER certificate has trailing or re-encoded bytes.")
    try:
        constraints = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        constraints = None
    if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
        raise PkiError(
            f"{input_id}: {cert.subject.rfc4514_string()} is not a CA certificate "
            "(no basicConstraints CA:TRUE)."
        )
    public = cert.public_key()
    key_text = check_public_key(public, input_id)
    if cert.issuer == cert.subject and not _self_signature_verifies(cert):
        raise PkiError(f"{input_id}: the self-signed certificate's signature does not verify.")
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    summary = cert.subject.rfc4514_string()
    facts = (
        Fact("Subject", summary),
        Fact("Issuer", cert.issuer.rfc4514_string()),
        Fact("Serial", f"{cert.serial_number:x}"),
        Fact(
            "Valid",
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S}Z to "
            f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S}Z",
        ),
        Fact("Public key", key_text),
        Fact("SPKI SHA-256", grouped_hex(hashlib.sha256(spki).hexdigest())),
        Fact("Certificate SHA-256", grouped_hex(hashlib.sha256(der).hexdigest())),
    )
    return CheckedInput(input_id, "certificate", der, summary, facts)


def _self_signature_verifies(cert: x509.Certificate) -> bool:
    public = cert.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            algorithm = cert.signature_hash_algorithm
            if algorithm is None:
                return False
            public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            algorithm = cert.signature_hash_algorithm
            if algorithm is None:
                return False
            public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except Exception:  # InvalidSignature, or a mismatch of key and algorithm
        return False
    return True


class CeremonyCertificateIssuer(HsmCertificateIssuer):
    """The CertificateIssuer port: the HSM signing pipeline plus the checks on imports."""

    def check_input(
        self, input_id: str, kind: str, data: bytes, *, allow_ca_request: bool
    ) -> CheckedInput:
        """Parse and check an imported CSR or CA certificate; PkiError names what is wrong."""
        if kind == "csr":
            return check_csr(input_id, data, allow_ca_request=allow_ca_request)
        if kind == "certificate":
            return check_ca_certificate(input_id, data)
        raise PkiError(f"{input_id}: a {kind} is not checked by the certificate layer.")


if TYPE_CHECKING:

    def _implements_the_port(issuer: CeremonyCertificateIssuer) -> CertificateIssuer:
        return issuer  # mypy proves the class satisfies the CertificateIssuer Protocol
