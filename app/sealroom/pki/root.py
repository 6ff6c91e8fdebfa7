"""The CertificateIssuer port: a self-signed root certificate, signed in the HSM and verified."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sealroom.ceremony.ports import CertificateIssuer, IssuedCertificate, SigningKey
from sealroom.ceremony.script import CertificateSpec
from sealroom.errors import PkiError, SealroomError
from sealroom.pki.hsm_key import hsm_private_key
from sealroom.pki.profile import (
    SIGNATURE_CHOICES,
    require_serial,
    root_extensions,
    serial_hex,
    subject_name,
    validity,
)
from sealroom.pki.verification import RootExpectation, verify_root_certificate

TWIN_RSA_BITS = 2048
"""Size of the throwaway RSA key that signs the twin (only the signature depends on it)."""


class RootCertificateIssuer:
    """Builds the root profile with cryptography, signs it in the HSM, then verifies the result.

    Order: validate the inputs, build and sign a twin with a throwaway key, sign in the HSM, check
    the HSM-signed certificate (including that its TBS is the twin's), and only then return it.
    """

    def issue_root(self, spec: CertificateSpec, key: SigningKey, serial: int) -> IssuedCertificate:
        """Issue the self-signed root for ``spec`` with ``key``; PkiError names what failed."""
        require_serial(serial)
        not_before, not_after = validity(spec)
        record = key.record
        if spec.profile != "root":
            raise PkiError(f"The certificate '{spec.id}' has profile '{spec.profile}', not root.")
        if record.key_id != spec.key:
            raise PkiError(
                f"The certificate '{spec.id}' is to be signed by the key '{spec.key}', but the key "
                f"given is '{record.key_id}'."
            )
        choice = SIGNATURE_CHOICES.get(record.algorithm)
        if choice is None:
            raise PkiError(
                f"No signature algorithm is defined for keys of type {record.algorithm}."
            )
        signer = hsm_private_key(key)
        public_key = signer.public_key()
        if spec.subject is None:
            raise PkiError(f"Certificate {spec.id!r}: a root certificate needs a subject.")
        name = subject_name(spec.subject)
        extensions = root_extensions(public_key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        for extension in extensions:
            builder = builder.add_extension(extension.value, critical=extension.critical)
        try:
            twin = builder.sign(_throwaway_key(public_key), choice.hash_algorithm())
        except (ValueError, TypeError) as exc:
            raise PkiError(
                f"The certificate '{spec.id}' cannot be built from the script: {exc}."
            ) from exc
        try:
            cert = builder.sign(signer, choice.hash_algorithm())
        except SealroomError:
            raise
        except Exception as exc:
            raise PkiError(
                f"The certificate '{spec.id}' could not be signed with the HSM key "
                f"'{record.label}' ({type(exc).__name__})."
            ) from exc
        der = cert.public_bytes(serialization.Encoding.DER)
        checks = verify_root_certificate(
            der,
            RootExpectation(
                certificate_id=spec.id,
                subject=name,
                serial=serial,
                not_before=not_before,
                not_after=not_after,
                spki_der=record.spki_der,
                public_key=public_key,
                signature=choice,
                extensions=extensions,
                twin_tbs=twin.tbs_certificate_bytes,
            ),
        )
        return IssuedCertificate(
            certificate_id=spec.id,
            der=der,
            pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial_hex=serial_hex(serial),
            not_before=not_before,
            not_after=not_after,
            signature_algorithm=choice.name,
            spki_sha256_hex=hashlib.sha256(record.spki_der).hexdigest(),
            checks=checks,
        )


def _throwaway_key(
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """A software key of the same type, used once to sign the twin and then dropped."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return rsa.generate_private_key(public_exponent=65537, key_size=TWIN_RSA_BITS)
    return ec.generate_private_key(public_key.curve)


if TYPE_CHECKING:

    def _implements_the_port(issuer: RootCertificateIssuer) -> CertificateIssuer:
        return issuer  # mypy proves RootCertificateIssuer satisfies the CertificateIssuer Protocol
