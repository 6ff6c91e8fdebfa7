"""One pipeline for every signature a root CA key makes: certificates, CSRs and CRLs.

validate the profile → build a twin signed by a throwaway software key of the same type → lint the
twin with pkilint → block on errors, keep warnings → sign in the HSM → verify the signature with
the issuer's public key → check the final TBS equals the twin's → lint again → return the Issued*
value with its checks and warnings. Writing the output once is the engine's job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, Literal, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from sealroom.ceremony.ports import (
    IssuedCertificate,
    IssuedCrl,
    IssuedRequest,
    KeyRecord,
    RevokedCertificate,
    SigningKey,
)
from sealroom.ceremony.script import CertificateSpec, CrlSpec, CsrSpec
from sealroom.errors import PkiError, SealroomError
from sealroom.pki.hsm_key import HsmPrivateKey, hsm_private_key
from sealroom.pki.lint import (
    CertificateKind,
    LintFinding,
    lint_certificate,
    lint_crl,
    verify_lint_clean,
    warning_sentences,
)
from sealroom.pki.profile import (
    SIGNATURE_CHOICES,
    Extensions,
    HashName,
    PublicKey,
    SignatureChoice,
    authority_key_identifier,
    crl_window,
    cross_extensions,
    ocsp_responder_extensions,
    require_serial,
    revoked_entries,
    root_extensions,
    serial_hex,
    subject_name,
    subordinate_extensions,
    validity,
)
from sealroom.pki.verification import (
    CertificateExpectation,
    CrlExpectation,
    RequestExpectation,
    verify_certificate,
    verify_crl,
    verify_request,
)

TWIN_RSA_BITS = 2048
"""Size of the throwaway RSA key that signs the twin (only the signature value depends on it)."""
TWIN_CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
}
"""The throwaway EC key is on the HSM key's own curve, so the twin's signature is the same size."""
TWIN_HASHES: Final[dict[HashName, hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
FORBIDDEN_KEY_ATTRIBUTES = ("DECRYPT", "UNWRAP", "DERIVE")
"""A CA key that could do any of these is not a signing-only key (EV-KEY-PURPOSE)."""

Signable = TypeVar(
    "Signable", x509.Certificate, x509.CertificateRevocationList, x509.CertificateSigningRequest
)
Signer = HsmPrivateKey


@dataclass(frozen=True)
class _Outcome(Generic[Signable]):
    artefact: Signable
    der: bytes
    checks: tuple[str, ...]
    warnings: tuple[str, ...]


class HsmCertificateIssuer:
    """Builds each profile with cryptography and signs it with a key that stays in the HSM.

    Every method refuses before the HSM signs when the script, the key or pkilint says no, and
    verifies the HSM's signature before returning; PkiError names what failed, in words.
    """

    # -- certificates ---------------------------------------------------------------------------

    def issue_root(self, spec: CertificateSpec, key: SigningKey, serial: int) -> IssuedCertificate:
        """The self-signed root for ``spec`` (profile root), signed by ``key``."""
        _require_profile(spec, ("root",))
        require_serial(serial)
        validity(spec)
        choice = _require_key(key, spec.key, f"The certificate '{spec.id}'")
        if spec.subject is None:
            raise PkiError(f"The certificate '{spec.id}': a root certificate needs a subject.")
        public_key = hsm_private_key(key).public_key()
        name = subject_name(spec.subject)
        extensions = root_extensions(public_key, spec.path_length)
        return self._certificate(
            spec,
            key,
            choice,
            kind="root-ca",
            subject=name,
            issuer=None,
            public_key=public_key,
            serial=serial,
            extensions=extensions,
        )

    def issue_subordinate(  # noqa: PLR0917 -- the signature the engine calls
        self,
        spec: CertificateSpec,
        key: SigningKey,
        serial: int,
        issuer_der: bytes,
        subject: x509.Name,
        public_key: PublicKey,
    ) -> IssuedCertificate:
        """A subordinate CA or delegated OCSP responder certificate for ``public_key``.

        ``subject`` and ``public_key`` come from a checked CSR (or the script); the profile
        decides every extension, nothing is copied from the request.
        """
        _require_profile(spec, ("subordinate-ca", "ocsp-responder"))
        require_serial(serial)
        what = f"The certificate '{spec.id}'"
        choice = _require_key(key, spec.key, what)
        issuer = _issuer_certificate(issuer_der, key, what, usage="certificates")
        _require_subject_key(public_key, issuer, what)
        if spec.subject is not None and subject_name(spec.subject) != subject:
            raise PkiError(
                f"{what}: the subject given ({subject.rfc4514_string()}) is not the scripted "
                f"subject ({subject_name(spec.subject).rfc4514_string()})."
            )
        if len(subject) == 0:
            raise PkiError(f"{what}: the subject is empty; a CA or responder needs a name.")
        issuer_ski = _subject_key_identifier(issuer, what)
        extensions: Extensions
        if spec.profile == "ocsp-responder":
            extensions = ocsp_responder_extensions(spec, public_key, issuer_ski)
            kind: CertificateKind = "ocsp-responder"
        else:
            extensions = subordinate_extensions(spec, public_key, issuer_ski)
            kind = "subordinate-ca"
        return self._certificate(
            spec,
            key,
            choice,
            kind=kind,
            subject=subject,
            issuer=issuer,
            public_key=public_key,
            serial=serial,
            extensions=extensions,
        )

    def issue_from_request(
        self,
        spec: CertificateSpec,
        key: SigningKey,
        serial: int,
        issuer_der: bytes,
        request_der: bytes,
    ) -> IssuedCertificate:
        """``issue_subordinate`` for the key (and, unless scripted, subject) of a DER CSR.

        The CSR was checked on import (signature, weak keys); its signature is checked again here.
        """
        what = f"The certificate '{spec.id}'"
        try:
            request = x509.load_der_x509_csr(request_der)
            signed = request.is_signature_valid
            public_key = request.public_key()
        except (ValueError, TypeError) as exc:
            raise PkiError(f"{what}: the certificate signing request does not parse.") from exc
        if not signed:
            raise PkiError(f"{what}: the certificate signing request's self-signature is invalid.")
        if not isinstance(public_key, PublicKey):
            raise PkiError(
                f"{what}: the request's key is {type(public_key).__name__}; only RSA, EC and "
                "Ed25519 keys are certified."
            )
        subject = subject_name(spec.subject) if spec.subject is not None else request.subject
        return self.issue_subordinate(spec, key, serial, issuer_der, subject, public_key)

    def cross_certify(
        self,
        spec: CertificateSpec,
        key: SigningKey,
        serial: int,
        issuer_der: bytes,
        subject_cert_der: bytes,
    ) -> IssuedCertificate:
        """A cross-certificate: subject, key and SKI of an existing CA certificate, issued by us."""
        _require_profile(spec, ("cross-certificate",))
        require_serial(serial)
        what = f"The certificate '{spec.id}'"
        choice = _require_key(key, spec.key, what)
        issuer = _issuer_certificate(issuer_der, key, what, usage="certificates")
        try:
            existing = x509.load_der_x509_certificate(subject_cert_der)
            public_key = existing.public_key()
        except ValueError as exc:
            raise PkiError(f"{what}: the certificate to cross-certify does not parse.") from exc
        if not isinstance(public_key, PublicKey):
            raise PkiError(
                f"{what}: the certificate to cross-certify has a {type(public_key).__name__} key; "
                "only RSA, EC and Ed25519 keys are certified."
            )
        if not _is_ca(existing):
            raise PkiError(
                f"{what}: the certificate to cross-certify ({existing.subject.rfc4514_string()}) "
                "is not a CA certificate (basicConstraints CA:TRUE)."
            )
        _require_subject_key(public_key, issuer, what)
        if spec.subject is not None and subject_name(spec.subject) != existing.subject:
            raise PkiError(
                f"{what}: the scripted subject is not the subject of the certificate to "
                f"cross-certify ({existing.subject.rfc4514_string()})."
            )
        extensions = cross_extensions(spec, existing, _subject_key_identifier(issuer, what))
        return self._certificate(
            spec,
            key,
            choice,
            kind="cross-ca",
            subject=existing.subject,
            issuer=issuer,
            public_key=public_key,
            serial=serial,
            extensions=extensions,
        )

    # -- the root's own CSR ---------------------------------------------------------------------

    def make_csr(self, spec: CsrSpec, key: SigningKey) -> IssuedRequest:
        """A PKCS#10 request for the HSM key with the scripted subject, and no extensions."""
        what = f"The certificate signing request '{spec.id}'"
        choice = _require_key(key, spec.key, what)
        name = subject_name(spec.subject)
        builder = x509.CertificateSigningRequestBuilder().subject_name(name)
        outcome = _pipeline(
            what,
            key,
            lambda signer: builder.sign(signer, choice.hash_algorithm()),
            tbs=lambda csr: csr.tbs_certrequest_bytes,
            lint=None,
            verify=lambda der, twin_tbs: verify_request(
                der,
                RequestExpectation(
                    csr_id=spec.id,
                    subject=name,
                    spki_der=key.record.spki_der,
                    signature=choice,
                    twin_tbs=twin_tbs,
                ),
            ),
        )
        return IssuedRequest(
            csr_id=spec.id,
            der=outcome.der,
            pem=outcome.artefact.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            subject=name.rfc4514_string(),
            signature_algorithm=choice.name,
            spki_sha256_hex=hashlib.sha256(key.record.spki_der).hexdigest(),
            checks=outcome.checks,
        )

    # -- CRLs -----------------------------------------------------------------------------------

    def sign_crl(self, spec: CrlSpec, key: SigningKey, issuer_der: bytes) -> IssuedCrl:
        """The CRL of ``spec`` issued by the certificate ``issuer_der`` of ``key``.

        A CRL issued by a self-signed root is linted as an ARL (it lists CA certificates only).
        """
        what = f"The CRL '{spec.id}'"
        choice = _require_key(key, spec.key, what)
        this_update, next_update = crl_window(spec)
        issuer = _issuer_certificate(issuer_der, key, what, usage="CRLs")
        if this_update < issuer.not_valid_before_utc:
            raise PkiError(f"{what}: this_update is before the issuing certificate is valid.")
        entries = revoked_entries(spec, this_update)
        number = x509.CRLNumber(spec.number)
        extensions: Extensions = (
            authority_key_identifier(_subject_key_identifier(issuer, what)),
            x509.Extension(number.oid, False, number),
        )
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(this_update)
            .next_update(next_update)
        )
        for extension in extensions:
            builder = builder.add_extension(extension.value, critical=extension.critical)
        for entry in entries:
            builder = builder.add_revoked_certificate(entry)
        crl_kind: Literal["crl", "arl"] = "arl" if issuer.issuer == issuer.subject else "crl"
        outcome = _pipeline(
            what,
            key,
            lambda signer: builder.sign(signer, choice.hash_algorithm()),
            tbs=lambda crl: crl.tbs_certlist_bytes,
            lint=lambda der: lint_crl(der, crl_kind, spec.lint),
            verify=lambda der, twin_tbs: verify_crl(
                der,
                CrlExpectation(
                    crl_id=spec.id,
                    issuer_certificate=issuer,
                    number=spec.number,
                    this_update=this_update,
                    next_update=next_update,
                    revoked=entries,
                    signature=choice,
                    extensions=extensions,
                    twin_tbs=twin_tbs,
                ),
            ),
        )
        return IssuedCrl(
            crl_id=spec.id,
            der=outcome.der,
            pem=outcome.artefact.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            issuer=issuer.subject.rfc4514_string(),
            number=spec.number,
            this_update=this_update,
            next_update=next_update,
            revoked=tuple(
                RevokedCertificate(
                    serial_hex=serial_hex(entry.serial_number),
                    revoked_at=entry.revocation_date_utc,
                    reason=scripted.reason,
                )
                for entry, scripted in zip(entries, spec.revoked, strict=True)
            ),
            signature_algorithm=choice.name,
            checks=outcome.checks,
            lint_warnings=outcome.warnings,
        )

    # -- shared ---------------------------------------------------------------------------------

    def _certificate(
        self,
        spec: CertificateSpec,
        key: SigningKey,
        choice: SignatureChoice,
        *,
        kind: CertificateKind,
        subject: x509.Name,
        issuer: x509.Certificate | None,
        public_key: PublicKey,
        serial: int,
        extensions: Extensions,
    ) -> IssuedCertificate:
        what = f"The certificate '{spec.id}'"
        not_before, not_after = validity(spec)
        if issuer is not None and not (
            issuer.not_valid_before_utc <= not_before and not_after <= issuer.not_valid_after_utc
        ):
            raise PkiError(
                f"{what}: its validity ({not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}) must lie "
                f"within the issuing certificate's ({issuer.not_valid_before_utc:%Y-%m-%d} to "
                f"{issuer.not_valid_after_utc:%Y-%m-%d})."
            )
        issuer_public_key = hsm_private_key(key).public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if issuer is None else issuer.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        for extension in extensions:
            builder = builder.add_extension(extension.value, critical=extension.critical)
        spki_der = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        outcome = _pipeline(
            what,
            key,
            lambda signer: builder.sign(signer, choice.hash_algorithm()),
            tbs=lambda cert: cert.tbs_certificate_bytes,
            lint=lambda der: lint_certificate(der, kind, spec.lint),
            verify=lambda der, twin_tbs: verify_certificate(
                der,
                CertificateExpectation(
                    certificate_id=spec.id,
                    subject=subject,
                    serial=serial,
                    not_before=not_before,
                    not_after=not_after,
                    subject_spki_der=spki_der,
                    issuer_public_key=issuer_public_key,
                    signature=choice,
                    extensions=extensions,
                    twin_tbs=twin_tbs,
                    issuer_certificate=issuer,
                ),
            ),
        )
        cert = outcome.artefact
        return IssuedCertificate(
            certificate_id=spec.id,
            der=outcome.der,
            pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial_hex=serial_hex(serial),
            not_before=not_before,
            not_after=not_after,
            signature_algorithm=choice.name,
            spki_sha256_hex=hashlib.sha256(spki_der).hexdigest(),
            checks=outcome.checks,
            lint_warnings=outcome.warnings,
        )


RootCertificateIssuer = HsmCertificateIssuer
"""The name the composition root has always imported."""


# ---------------------------------------------------------------------------------------------
# The pipeline


def _pipeline(
    what: str,
    key: SigningKey,
    build: Callable[[Signer], Signable],
    *,
    tbs: Callable[[Signable], bytes],
    lint: Callable[[bytes], tuple[LintFinding, ...]] | None,
    verify: Callable[[bytes, bytes], tuple[str, ...]],
) -> _Outcome[Signable]:
    """Twin, lint, sign in the HSM, verify, compare TBS, lint again (see the module docstring)."""
    try:
        twin = build(hsm_private_key(ThrowawayKey(key.record)))
    except SealroomError:
        raise
    except (ValueError, TypeError) as exc:
        raise PkiError(f"{what} cannot be built from the script: {exc}.") from exc
    twin_der = twin.public_bytes(serialization.Encoding.DER)
    lint_checks: list[str] = []
    if lint is not None:
        verify_lint_clean(lint(twin_der), f"{what} (its twin, before the HSM signs)")
        lint_checks.append("pkilint found no error in the twin before the HSM signed")
    try:
        final = build(hsm_private_key(key))
    except SealroomError:
        raise
    except Exception as exc:
        raise PkiError(
            f"{what} could not be signed with the HSM key '{key.record.label}' "
            f"({type(exc).__name__})."
        ) from exc
    der = final.public_bytes(serialization.Encoding.DER)
    verified: tuple[str, ...] = verify(der, tbs(twin))
    warnings: tuple[str, ...] = ()
    if lint is not None:
        findings = lint(der)
        verify_lint_clean(findings, f"{what} (as signed by the HSM)")
        lint_checks.append("pkilint found no error in the HSM-signed result")
        warnings = warning_sentences(findings)
    else:
        lint_checks.append(
            "not linted: pkilint has no validator for certificate signing requests (the checks "
            "above are Sealroom's own)"
        )
    return _Outcome(final, der, (*verified, *lint_checks), warnings)


class ThrowawayKey:
    """A SigningKey that reports the HSM key's record but signs with a fresh software key.

    It signs the twin: the same builder, the same wrapper class and the same public key as the
    HSM signature, so the TBS must come out byte-identical. The private key is never exported
    and is dropped with the object.
    """

    def __init__(self, record: KeyRecord) -> None:
        self._record = record
        self._private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        if record.key_type == "RSA":
            self._private = rsa.generate_private_key(65537, TWIN_RSA_BITS)
        elif record.key_type == "EC" and record.curve in TWIN_CURVES:
            self._private = ec.generate_private_key(TWIN_CURVES[record.curve])
        elif record.key_type == "EdDSA":
            self._private = ed25519.Ed25519PrivateKey.generate()
        else:
            raise PkiError(
                f"No throwaway key can stand in for the key '{record.label}' ({record.algorithm})."
            )

    @property
    def record(self) -> KeyRecord:
        return self._record

    def sign(self, message: bytes, hash_name: HashName) -> bytes:
        """Sign as the HSM adapter does: PKCS#1 v1.5, ECDSA, or Ed25519 (no hash to choose).

        For Ed25519 the whole message is signed and ``hash_name`` is not used, as in the adapter.
        """
        if isinstance(self._private, ed25519.Ed25519PrivateKey):
            return self._private.sign(message)
        algorithm = TWIN_HASHES[hash_name]
        if isinstance(self._private, rsa.RSAPrivateKey):
            return self._private.sign(message, padding.PKCS1v15(), algorithm)
        return self._private.sign(message, ec.ECDSA(algorithm))


# ---------------------------------------------------------------------------------------------
# Refusals before anything is built


def _require_profile(spec: CertificateSpec, profiles: Sequence[str]) -> None:
    if spec.profile not in profiles:
        raise PkiError(
            f"The certificate '{spec.id}' has profile '{spec.profile}'; this operation issues "
            f"{' or '.join(profiles)} only."
        )


def _require_key(key: SigningKey, scripted: str, what: str) -> SignatureChoice:
    """The signature algorithm for ``key``, after checking it is the scripted signing-only key."""
    record = key.record
    if record.key_id != scripted:
        raise PkiError(
            f"{what} is to be signed by the key '{scripted}', but the key given is "
            f"'{record.key_id}'."
        )
    if record.attributes.get("SIGN") is False:
        raise PkiError(f"{what}: the key '{record.label}' is not allowed to sign (CKA_SIGN).")
    allowed = [name for name in FORBIDDEN_KEY_ATTRIBUTES if record.attributes.get(name)]
    if allowed:
        raise PkiError(
            f"{what}: the key '{record.label}' may also {', '.join(allowed).lower()}; a CA key "
            "signs only (EV-KEY-PURPOSE)."
        )
    choice = SIGNATURE_CHOICES.get(record.algorithm)
    if choice is None:
        raise PkiError(f"No signature algorithm is defined for keys of type {record.algorithm}.")
    return choice


def _issuer_certificate(
    issuer_der: bytes, key: SigningKey, what: str, *, usage: Literal["certificates", "CRLs"]
) -> x509.Certificate:
    """The issuing certificate, refused unless it is a CA certificate for ``key``'s public key."""
    try:
        issuer = x509.load_der_x509_certificate(issuer_der)
        spki = issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except ValueError as exc:
        raise PkiError(f"{what}: the issuing certificate does not parse as DER.") from exc
    if spki != key.record.spki_der:
        raise PkiError(
            f"{what}: the key '{key.record.label}' is not the key of the issuing certificate "
            f"{issuer.subject.rfc4514_string()} (their public keys differ); nothing was signed."
        )
    if not _is_ca(issuer):
        raise PkiError(
            f"{what}: the issuing certificate {issuer.subject.rfc4514_string()} is not a CA "
            "certificate."
        )
    try:
        usage_bits = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
        allowed = usage_bits.key_cert_sign if usage == "certificates" else usage_bits.crl_sign
    except x509.ExtensionNotFound:
        allowed = True  # RFC 5280 4.2.1.3: without keyUsage every use is allowed
    if not allowed:
        bit = "keyCertSign" if usage == "certificates" else "cRLSign"
        raise PkiError(
            f"{what}: the issuing certificate {issuer.subject.rfc4514_string()} may not sign "
            f"{usage} (its keyUsage lacks {bit})."
        )
    return issuer


def _require_subject_key(public_key: PublicKey, issuer: x509.Certificate, what: str) -> None:
    if public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise PkiError(f"{what}: the key to be certified is the issuing key itself.")


def _subject_key_identifier(cert: x509.Certificate, what: str) -> bytes:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        raise PkiError(
            f"{what}: the issuing certificate {cert.subject.rfc4514_string()} has no "
            "subjectKeyIdentifier to use as the authorityKeyIdentifier."
        ) from None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
