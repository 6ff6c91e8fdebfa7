"""The root issuer and the HSM-key wrappers, with a software SigningKey (no SoftHSM needed)."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from sealroom.ceremony.ports import KeyRecord
from sealroom.ceremony.script import CertificateSpec, CrlSpec, CsrSpec, KeyAlgorithm
from sealroom.errors import HsmError, PkiError
from sealroom.pki import hsm_key as hsm_key_module
from sealroom.pki.hsm_key import (
    HsmEcPrivateKey,
    HsmEd25519PrivateKey,
    HsmRsaPrivateKey,
    hsm_private_key,
)
from sealroom.pki.issuer import HsmCertificateIssuer, ThrowawayKey
from sealroom.pki.profile import serial_from_random
from sealroom.pki.root import RootCertificateIssuer

NOT_BEFORE = datetime(2027, 1, 15, tzinfo=UTC)
NOT_AFTER = datetime(2047, 1, 15, tzinfo=UTC)
SERIAL = 0x011D2C3B4A59687766554433221100FFEE
"""0x01 followed by 16 random octets, as the engine makes them from the HSM's RNG."""
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
_KEYS: dict[str, PrivateKey] = {}
_CURVES: dict[str, ec.EllipticCurve] = {
    "ec-p256": ec.SECP256R1(),
    "ec-p384": ec.SECP384R1(),
    "ec-p521": ec.SECP521R1(),
}
_HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


def private_key(algorithm: KeyAlgorithm) -> PrivateKey:
    """One in-memory key per algorithm for the whole module (RSA-4096 takes a while)."""
    if algorithm not in _KEYS:
        _KEYS[algorithm] = new_private_key(algorithm)
    return _KEYS[algorithm]


def new_private_key(algorithm: KeyAlgorithm) -> PrivateKey:
    if algorithm.startswith("rsa"):
        bits = int(algorithm.removeprefix("rsa-"))
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(_CURVES[algorithm])


@dataclass
class CountingKey:
    """A software SigningKey signing as the HSM adapter does, recording each hash asked for.

    RSA PKCS#1 v1.5 and ECDSA with the hash named; Ed25519 over the whole message, the hash name
    checked by the adapter but not used (app/sealroom/hsm/keys.py).
    """

    record: KeyRecord
    private: PrivateKey
    hashes_used: list[str] = field(default_factory=list)

    def sign(self, message: bytes, hash_name: Literal["sha256", "sha384", "sha512"]) -> bytes:
        self.hashes_used.append(hash_name)
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(message)
        if isinstance(self.private, rsa.RSAPrivateKey):
            return self.private.sign(message, padding.PKCS1v15(), _HASHES[hash_name])
        return self.private.sign(message, ec.ECDSA(_HASHES[hash_name]))


def software_key(algorithm: KeyAlgorithm, key_id: str = "root-key") -> CountingKey:
    """A SigningKey whose private key is in memory, with a record as the HSM adapter makes it."""
    private = private_key(algorithm)
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_type: Literal["RSA", "EC", "EdDSA"]
    if isinstance(private, rsa.RSAPrivateKey):
        key_type, size, curve, mechanism = (
            "RSA",
            private.key_size,
            None,
            "CKM_RSA_PKCS_KEY_PAIR_GEN",
        )
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        key_type, size, curve, mechanism = (
            "EdDSA",
            256,
            "edwards25519",
            "CKM_EC_EDWARDS_KEY_PAIR_GEN",
        )
    else:
        key_type, size, curve = "EC", private.key_size, private.curve.name
        mechanism = "CKM_EC_KEY_PAIR_GEN"
    record = KeyRecord(
        key_id=key_id,
        label="root-2027",
        cka_id_hex="00" * 16,
        algorithm=algorithm,
        key_type=key_type,
        size_bits=size,
        curve=curve,
        public_exponent=65537 if key_type == "RSA" else None,
        spki_der=spki,
        attributes={"SENSITIVE": True, "EXTRACTABLE": False, "SIGN": True},
        mechanism=mechanism,
    )
    return CountingKey(record, private)


def certificate_spec(**changes: object) -> CertificateSpec:
    fields: dict[str, object] = {
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
    fields.update(changes)
    return CertificateSpec.model_validate(fields)


# -- the issued certificate -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "oid", "name", "hash_name"),
    [
        ("rsa-3072", SignatureAlgorithmOID.RSA_WITH_SHA256, "sha256WithRSAEncryption", "sha256"),
        ("rsa-4096", SignatureAlgorithmOID.RSA_WITH_SHA256, "sha256WithRSAEncryption", "sha256"),
        ("ec-p256", SignatureAlgorithmOID.ECDSA_WITH_SHA256, "ecdsa-with-SHA256", "sha256"),
        ("ec-p384", SignatureAlgorithmOID.ECDSA_WITH_SHA384, "ecdsa-with-SHA384", "sha384"),
        ("ec-p521", SignatureAlgorithmOID.ECDSA_WITH_SHA512, "ecdsa-with-SHA512", "sha512"),
        # Ed25519 has no hash to choose: the wrapper names SHA-512, which PureEdDSA applies.
        ("ed25519", SignatureAlgorithmOID.ED25519, "ED25519", "sha512"),
    ],
)
def test_root_follows_the_profile(
    algorithm: KeyAlgorithm, oid: x509.ObjectIdentifier, name: str, hash_name: str
) -> None:
    key = software_key(algorithm)
    issued = RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)
    cert = x509.load_der_x509_certificate(issued.der)
    assert key.hashes_used == [hash_name]  # signed once, through SigningKey.sign
    assert cert.signature_algorithm_oid == oid and issued.signature_algorithm == name
    assert cert.version == x509.Version.v3
    assert [attr.oid for attr in cert.subject] == [
        NameOID.COUNTRY_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.COMMON_NAME,
    ]
    assert cert.issuer == cert.subject
    assert (
        issued.subject
        == issued.issuer
        == ("CN=Example Root CA R1,OU=Root PKI,O=Example Trust Services,C=XX")
    )
    assert cert.serial_number == SERIAL
    assert issued.serial_hex == "011d2c3b4a59687766554433221100ffee"
    assert cert.not_valid_before_utc == issued.not_before == NOT_BEFORE
    assert cert.not_valid_after_utc == issued.not_after == NOT_AFTER
    assert issued.spki_sha256_hex == hashlib.sha256(key.record.spki_der).hexdigest()
    assert issued.pem == cert.public_bytes(serialization.Encoding.PEM).decode()
    cert.verify_directly_issued_by(cert)

    assert [(ext.oid, ext.critical) for ext in cert.extensions] == [
        (ExtensionOID.BASIC_CONSTRAINTS, True),
        (ExtensionOID.KEY_USAGE, True),
        (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False),
    ]
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski  # BR 7.1.2.1.3: the root's AKI equals its SKI
    assert aki.authority_cert_issuer is None and aki.authority_cert_serial_number is None
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is True and basic.path_length is None
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert not (usage.digital_signature or usage.key_encipherment or usage.content_commitment)
    assert not (usage.data_encipherment or usage.key_agreement)
    assert len(issued.checks) == 12
    assert any("signature verifies" in check for check in issued.checks)
    assert "pkilint found no error in the twin before the HSM signed" in issued.checks
    assert "pkilint found no error in the HSM-signed result" in issued.checks


def test_subject_key_identifier_is_rfc_7093_method_1() -> None:
    key = software_key("ec-p384")
    issued = RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)
    cert = x509.load_der_x509_certificate(issued.der)
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    point = key.record.spki_der[-97:]  # the BIT STRING's value: 04 || X || Y for P-384
    assert point[0] == 0x04
    assert ski == hashlib.sha256(point).digest()[:20]
    assert ski != x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest  # not SHA-1

    rsa_key = software_key("rsa-3072")
    rsa_cert = x509.load_der_x509_certificate(
        RootCertificateIssuer().issue_root(certificate_spec(), rsa_key, SERIAL).der
    )
    pkcs1 = rsa_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    assert rsa_key.record.spki_der.endswith(pkcs1)
    rsa_ski = rsa_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert rsa_ski.digest == hashlib.sha256(pkcs1).digest()[:20]


def test_organizational_unit_is_optional() -> None:
    spec = certificate_spec(
        subject={"country": "XX", "organization": "Example", "common_name": "Root"}
    )
    issued = RootCertificateIssuer().issue_root(spec, software_key("ec-p256"), SERIAL)
    assert issued.subject == "CN=Root,O=Example,C=XX"
    assert any("the subject is C, O, CN as scripted" in check for check in issued.checks)


def test_validity_comes_from_the_script_not_the_clock() -> None:
    spec = certificate_spec(
        not_before=datetime(2060, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        not_after=datetime(2090, 3, 1, 10, 0, tzinfo=UTC),
    )
    issued = RootCertificateIssuer().issue_root(spec, software_key("ec-p256"), SERIAL)
    cert = x509.load_der_x509_certificate(issued.der)
    assert cert.not_valid_before_utc == datetime(2060, 3, 1, 10, 0, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime(2090, 3, 1, 10, 0, tzinfo=UTC)


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "words"),
    [
        (0, "has 0 octet"),
        (-1, "has 0 octet"),
        (0x1D2C3B4A59687766554433221100FFEE, "has 16 octet\\(s\\) and starts with 1d"),
        (0x01 << 120, "has 16 octet\\(s\\) and starts with 01"),  # 0x01 + 15 octets: too few
        (0x02 << 128, "has 17 octet\\(s\\) and starts with 02"),
        (0x01 << 160, "has 21 octet\\(s\\) and starts with 01"),
    ],
)
def test_serials_that_are_not_01_and_16_random_octets_are_refused(serial: int, words: str) -> None:
    with pytest.raises(
        PkiError, match=f"must be the octet 01 followed by at least 16 random.*{words}"
    ):
        RootCertificateIssuer().issue_root(certificate_spec(), software_key("ec-p256"), serial)


@pytest.mark.parametrize("serial", [True, 1.5, "12"])
def test_serials_that_are_not_integers_are_refused(serial: object) -> None:
    with pytest.raises(PkiError, match="must be an integer"):
        RootCertificateIssuer().issue_root(
            certificate_spec(),
            software_key("ec-p256"),
            serial,  # type: ignore[arg-type]
        )


def test_the_longest_serial_is_accepted_and_serials_are_made_from_random_octets() -> None:
    issued = RootCertificateIssuer().issue_root(
        certificate_spec(), software_key("ec-p256"), serial_from_random(b"\xff" * 19)
    )
    assert issued.serial_hex == "01" + "ff" * 19  # 20 octets: RFC 5280's maximum
    assert serial_from_random(bytes(16)) == 1 << 128  # leading zero octets keep their length
    for count in (15, 20):
        with pytest.raises(PkiError, match=f"16 to 19 random octets from the HSM, not {count}"):
            serial_from_random(bytes(count))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"not_after": NOT_BEFORE}, "not_before earlier than not_after"),
        ({"not_after": NOT_BEFORE - timedelta(days=1)}, "not_before earlier than not_after"),
        ({"not_before": NOT_BEFORE + timedelta(microseconds=5)}, "fractions of a second"),
    ],
)
def test_bad_validity_is_refused(changes: dict[str, object], words: str) -> None:
    with pytest.raises(PkiError, match=words):
        RootCertificateIssuer().issue_root(
            certificate_spec(**changes), software_key("ec-p256"), SERIAL
        )


def test_a_key_other_than_the_scripted_one_is_refused() -> None:
    with pytest.raises(
        PkiError, match="signed by the key 'root-key', but the key given is 'other'"
    ):
        RootCertificateIssuer().issue_root(
            certificate_spec(), software_key("ec-p256", key_id="other"), SERIAL
        )


def test_a_record_that_misstates_its_key_is_refused() -> None:
    key = software_key("rsa-3072")
    key.record = replace(key.record, size_bits=4096, algorithm="rsa-4096")
    with pytest.raises(PkiError, match="recorded as 4096-bit RSA but its public key has 3072"):
        RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)
    ec_key = software_key("ec-p256")
    ec_key.record = replace(ec_key.record, curve="secp384r1")
    with pytest.raises(PkiError, match="recorded on the curve secp384r1"):
        RootCertificateIssuer().issue_root(certificate_spec(), ec_key, SERIAL)
    mixed = software_key("ec-p256")
    mixed.record = replace(mixed.record, key_type="RSA")
    with pytest.raises(PkiError, match="recorded as RSA but its public key is"):
        RootCertificateIssuer().issue_root(certificate_spec(), mixed, SERIAL)


@pytest.mark.parametrize("algorithm", ["ec-p384", "ec-p521", "ed25519"])
def test_a_signature_from_another_key_fails_verification(algorithm: KeyAlgorithm) -> None:
    key = software_key(algorithm)
    key.private = new_private_key(algorithm)  # the "HSM" signs with another key of the same type
    with pytest.raises(PkiError) as caught:
        RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)
    message = str(caught.value)
    assert "failed its checks; it was not written" in message
    assert "the signature verifies with the public key the HSM reported" in message
    assert "the TBSCertificate is byte-identical" not in message  # only what failed is named


def test_an_hsm_error_while_signing_passes_unchanged() -> None:
    key = software_key("ec-p256")

    def failing_sign(message: bytes, hash_name: str) -> bytes:
        raise HsmError("The HSM could not sign with the key 'root-2027' (PKCS#11 DeviceRemoved).")

    key.sign = failing_sign  # type: ignore[method-assign]
    with pytest.raises(HsmError, match="DeviceRemoved"):
        RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)


def test_an_unexpected_error_while_signing_becomes_a_pki_error() -> None:
    key = software_key("ec-p256")

    def broken_sign(message: bytes, hash_name: str) -> bytes:
        raise RuntimeError("driver crashed")

    key.sign = broken_sign  # type: ignore[method-assign]
    with pytest.raises(PkiError, match="could not be signed with the HSM key 'root-2027'"):
        RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)


# -- the cryptography private-key wrappers ----------------------------------------------------


def test_cryptography_builders_call_the_wrapper_sign() -> None:
    """cryptography 50.0.2 accepts a subclass of its key classes: undocumented behaviour Sealroom
    relies on (PLATFORM-NOTES). If an upgrade breaks this, keep the pin or sign the TBS directly."""
    cases: tuple[tuple[KeyAlgorithm, hashes.SHA256 | hashes.SHA512 | None, str], ...] = (
        ("rsa-3072", hashes.SHA256(), "sha256"),
        ("ec-p384", hashes.SHA256(), "sha256"),
        ("ec-p521", hashes.SHA512(), "sha512"),
        ("ed25519", None, "sha512"),  # Ed25519: the builder takes no hash; PureEdDSA's SHA-512
    )
    for algorithm, builder_hash, used in cases:
        key = software_key(algorithm)
        wrapper = hsm_private_key(key)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wrapper test")])
        csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(wrapper, builder_hash)
        assert csr.is_signature_valid
        assert key.hashes_used == [used]


def test_rsa_wrapper_signs_pkcs1_v15_only_and_never_exports() -> None:
    key = software_key("rsa-3072")
    wrapper = hsm_private_key(key)
    assert isinstance(wrapper, HsmRsaPrivateKey) and isinstance(wrapper, rsa.RSAPrivateKey)
    assert wrapper.key_size == 3072
    signature = wrapper.sign(b"data", padding.PKCS1v15(), hashes.SHA384())
    wrapper.public_key().verify(signature, b"data", padding.PKCS1v15(), hashes.SHA384())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    with pytest.raises(PkiError, match=r"PKCS#1 v1\.5 only"):
        wrapper.sign(b"data", pss, hashes.SHA256())
    with pytest.raises(PkiError, match="SHA-256, SHA-384 or SHA-512 only"):
        wrapper.sign(b"data", padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    with pytest.raises(PkiError, match="stays in the HSM"):
        wrapper.private_numbers()
    with pytest.raises(PkiError, match="stays in the HSM"):
        wrapper.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    with pytest.raises(PkiError, match="stays in the HSM"):
        wrapper.decrypt(b"x", padding.PKCS1v15())
    assert copy.copy(wrapper) is wrapper and copy.deepcopy(wrapper) is wrapper


def test_ec_wrapper_signs_ecdsa_only_and_never_exports() -> None:
    key = software_key("ec-p384")
    wrapper = hsm_private_key(key)
    assert isinstance(wrapper, HsmEcPrivateKey) and isinstance(wrapper, ec.EllipticCurvePrivateKey)
    assert wrapper.curve.name == "secp384r1" and wrapper.key_size == 384
    signature = wrapper.sign(b"data", ec.ECDSA(hashes.SHA384()))
    wrapper.public_key().verify(signature, b"data", ec.ECDSA(hashes.SHA384()))
    with pytest.raises(PkiError, match="SHA-256, SHA-384 or SHA-512 only"):
        wrapper.sign(b"data", ec.ECDSA(hashes.SHA3_256()))
    with pytest.raises(PkiError, match="stays in the HSM"):
        wrapper.exchange(ec.ECDH(), wrapper.public_key())
    with pytest.raises(PkiError, match="stays in the HSM"):
        wrapper.private_numbers()
    assert copy.copy(wrapper) is wrapper


def test_ed25519_wrapper_signs_the_whole_message_and_never_exports() -> None:
    key = software_key("ed25519")
    wrapper = hsm_private_key(key)
    assert isinstance(wrapper, HsmEd25519PrivateKey)
    assert isinstance(wrapper, ed25519.Ed25519PrivateKey)
    message = b"the whole TBS, not a digest of it" * 40
    signature = wrapper.sign(message)
    wrapper.public_key().verify(signature, message)  # PureEdDSA over the message itself
    assert len(signature) == 64 and key.hashes_used == ["sha512"]
    with pytest.raises(PkiError, match="stays in the HSM"):
        wrapper.private_bytes_raw()
    with pytest.raises(PkiError, match="stays in the HSM"):
        wrapper.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    assert copy.copy(wrapper) is wrapper and copy.deepcopy(wrapper) is wrapper
    with pytest.raises(ValueError, match="Algorithm must be None"):  # cryptography's own rule
        x509.CertificateSigningRequestBuilder().subject_name(SUBJECT).sign(wrapper, hashes.SHA512())


def test_p521_wrapper_signs_ecdsa_with_sha512() -> None:
    key = software_key("ec-p521")
    wrapper = hsm_private_key(key)
    assert isinstance(wrapper, HsmEcPrivateKey)
    assert wrapper.curve.name == "secp521r1" and wrapper.key_size == 521
    signature = wrapper.sign(b"data", ec.ECDSA(hashes.SHA512()))
    wrapper.public_key().verify(signature, b"data", ec.ECDSA(hashes.SHA512()))
    assert key.hashes_used == ["sha512"]


def test_ed25519_and_p521_records_that_misstate_their_key_are_refused() -> None:
    key = software_key("ed25519")
    key.record = replace(key.record, curve="curve25519")
    with pytest.raises(PkiError, match="recorded on the curve curve25519 but its public key is"):
        RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)
    as_ec = software_key("ed25519")
    as_ec.record = replace(as_ec.record, key_type="EC", curve="secp256r1")
    with pytest.raises(PkiError, match="recorded as EC but its public key is Ed25519PublicKey"):
        RootCertificateIssuer().issue_root(certificate_spec(), as_ec, SERIAL)
    p521 = software_key("ec-p521")
    p521.record = replace(p521.record, curve="secp384r1")
    with pytest.raises(PkiError, match="recorded on the curve secp384r1 but its public key is on"):
        RootCertificateIssuer().issue_root(certificate_spec(), p521, SERIAL)
    assert key.hashes_used == as_ec.hashes_used == p521.hashes_used == []


def test_subject_key_identifiers_for_ed25519_and_p521_are_rfc_7093_method_1() -> None:
    ed_key = software_key("ed25519")
    ed_cert = x509.load_der_x509_certificate(
        RootCertificateIssuer().issue_root(certificate_spec(), ed_key, SERIAL).der
    )
    raw = ed_key.record.spki_der[-32:]  # RFC 8410 4: the BIT STRING holds the 32 key octets
    assert raw == ed25519_public(ed_cert).public_bytes_raw()
    ed_ski = ed_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ed_ski.digest == hashlib.sha256(raw).digest()[:20]
    p521_key = software_key("ec-p521")
    p521_cert = x509.load_der_x509_certificate(
        RootCertificateIssuer().issue_root(certificate_spec(), p521_key, SERIAL).der
    )
    point = p521_key.record.spki_der[-133:]  # 04 || X || Y, 66 octets each
    assert point[0] == 0x04
    p521_ski = p521_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert p521_ski.digest == hashlib.sha256(point).digest()[:20]


def ed25519_public(cert: x509.Certificate) -> ed25519.Ed25519PublicKey:
    public = cert.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    return public


def test_the_throwaway_key_is_of_the_hsm_keys_type_and_curve() -> None:
    message = b"twin TBS"
    p521 = ThrowawayKey(software_key("ec-p521").record).sign(message, "sha512")
    # A P-521 signature: r or s beyond 384 bits (both below 2^384: probability about 2^-274).
    assert max(decode_dss_signature(p521)).bit_length() > 384
    ed_record = software_key("ed25519").record
    twin = ThrowawayKey(ed_record).sign(message, "sha512")
    assert len(twin) == 64  # an Ed25519 signature, from a key that is not the HSM's
    with pytest.raises(InvalidSignature):
        ed25519.Ed25519PublicKey.from_public_bytes(ed_record.spki_der[-32:]).verify(twin, message)
    with pytest.raises(PkiError, match=r"No throwaway key can stand in .* \(ec-p256\)"):
        ThrowawayKey(replace(software_key("ec-p256").record, curve="secp256k1"))


def test_a_record_without_a_der_public_key_is_refused() -> None:
    key = software_key("ec-p256")
    key.record = replace(key.record, spki_der=b"\x30\x00")
    with pytest.raises(PkiError, match="not a DER SubjectPublicKeyInfo"):
        hsm_key_module.hsm_private_key(key)


# -- the other profiles, with a software key (SoftHSM and OpenSSL: tests/integration) ---------


def root_and_key() -> tuple[CountingKey, bytes]:
    key = software_key("ec-p256")
    return key, RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL).der


def child_spec(**changes: object) -> CertificateSpec:
    fields: dict[str, object] = {
        "id": "issuing-ca",
        "profile": "subordinate-ca",
        "key": "root-key",
        "subject_from": "csr",
        "issuer_certificate": "root-certificate",
        "not_before": NOT_BEFORE + timedelta(days=1),
        "not_after": NOT_AFTER - timedelta(days=1),
        "output": "issuing.pem",
        "crl_urls": ("http://crl.example.com/root.crl",),
    }
    fields.update(changes)
    return CertificateSpec.model_validate(fields)


def crl_spec(**changes: object) -> CrlSpec:
    fields: dict[str, object] = {
        "id": "root-crl",
        "key": "root-key",
        "issuer_certificate": "root-certificate",
        "number": 1,
        "this_update": NOT_BEFORE + timedelta(days=30),
        "next_update": NOT_BEFORE + timedelta(days=60),
        "output": "root.crl",
    }
    fields.update(changes)
    return CrlSpec.model_validate(fields)


SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Issuing CA")])


def test_a_subordinate_gets_the_profile_not_the_request() -> None:
    key, root = root_and_key()
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    issued = HsmCertificateIssuer().issue_subordinate(
        child_spec(path_length=0), key, SERIAL, root, SUBJECT, public
    )
    cert = x509.load_der_x509_certificate(issued.der)
    assert [(ext.oid, ext.critical) for ext in cert.extensions] == [
        (ExtensionOID.BASIC_CONSTRAINTS, True),
        (ExtensionOID.KEY_USAGE, True),
        (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False),
        (ExtensionOID.CRL_DISTRIBUTION_POINTS, False),
    ]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    root_cert = x509.load_der_x509_certificate(root)
    cert.verify_directly_issued_by(root_cert)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_an_ocsp_responder_profile_is_fixed() -> None:
    key, root = root_and_key()
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(PkiError, match=r"OCSP responder certificate.*remove its crl_urls"):
        HsmCertificateIssuer().issue_subordinate(
            child_spec(profile="ocsp-responder"), key, SERIAL, root, SUBJECT, public
        )
    with pytest.raises(PkiError, match="remove its path_length"):
        HsmCertificateIssuer().issue_subordinate(
            child_spec(profile="ocsp-responder", crl_urls=(), path_length=0),
            key,
            SERIAL,
            root,
            SUBJECT,
            public,
        )
    assert key.hashes_used == ["sha256"]  # the root only


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"not_after": NOT_AFTER + timedelta(days=1)}, "must lie within the issuing certificate"),
        ({"profile": "root"}, "issues subordinate-ca or ocsp-responder only"),
        (
            {"subject": {"country": "XX", "organization": "O", "common_name": "Other"}},
            "is not the scripted subject",
        ),
    ],
)
def test_subordinate_refusals(changes: dict[str, object], words: str) -> None:
    key, root = root_and_key()
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(PkiError, match=words):
        HsmCertificateIssuer().issue_subordinate(
            child_spec(**changes), key, SERIAL, root, SUBJECT, public
        )
    assert key.hashes_used == ["sha256"]


def test_the_issuing_key_cannot_certify_itself_and_end_entities_cannot_be_cross_certified() -> None:
    key, root = root_and_key()
    with pytest.raises(PkiError, match="the key to be certified is the issuing key itself"):
        HsmCertificateIssuer().issue_subordinate(
            child_spec(), key, SERIAL, root, SUBJECT, hsm_private_key(key).public_key()
        )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(SUBJECT)
        .public_key(leaf_key.public_key())
        .serial_number(5)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .sign(leaf_key, hashes.SHA256())
    )
    with pytest.raises(PkiError, match="is not a CA certificate"):
        HsmCertificateIssuer().cross_certify(
            child_spec(profile="cross-certificate"),
            key,
            SERIAL,
            root,
            leaf.public_bytes(serialization.Encoding.DER),
        )


def test_a_key_that_may_decrypt_is_refused() -> None:
    key = software_key("ec-p256")
    key.record = replace(key.record, attributes={**key.record.attributes, "DECRYPT": True})
    with pytest.raises(PkiError, match="may also decrypt; a CA key signs only"):
        RootCertificateIssuer().issue_root(certificate_spec(), key, SERIAL)
    assert key.hashes_used == []


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"next_update": NOT_BEFORE + timedelta(days=30)}, "next_update later than this_update"),
        (
            {"next_update": NOT_BEFORE + timedelta(days=30 + 11), "max_validity_days": 10},
            "would be valid for 11 days",
        ),
        (
            {
                "revoked": [
                    {"serial": "0a", "revoked_at": NOT_BEFORE, "reason": "superseded"},
                    {"serial": "0a", "revoked_at": NOT_BEFORE, "reason": "superseded"},
                ]
            },
            r"revoked entry 2 \(serial 0a\) repeats a serial",
        ),
        (
            {
                "revoked": [
                    {
                        "serial": "0b",
                        "revoked_at": NOT_BEFORE + timedelta(days=31),
                        "reason": "superseded",
                    }
                ]
            },
            "revoked_at later than the CRL's this_update",
        ),
        ({"this_update": NOT_BEFORE - timedelta(days=1)}, "before the issuing certificate"),
    ],
)
def test_crl_refusals(changes: dict[str, object], words: str) -> None:
    key, root = root_and_key()
    with pytest.raises(PkiError, match=words):
        HsmCertificateIssuer().sign_crl(crl_spec(**changes), key, root)
    assert key.hashes_used == ["sha256"]


def test_a_crl_lists_reasons_except_unspecified() -> None:
    key, root = root_and_key()
    spec = crl_spec(
        revoked=[
            {"serial": "0a", "revoked_at": NOT_BEFORE, "reason": "ca-compromise"},
            {"serial": "0b", "revoked_at": NOT_BEFORE, "reason": "unspecified"},
        ],
        lint=("rfc5280", "cabf-serverauth"),
    )
    issued = HsmCertificateIssuer().sign_crl(spec, key, root)
    crl = x509.load_der_x509_crl(issued.der)
    first, second = list(crl)
    assert first.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.ca_compromise
    )
    assert len(second.extensions) == 0
    assert [(r.serial_hex, r.reason) for r in issued.revoked] == [
        ("0a", "ca-compromise"),
        ("0b", "unspecified"),
    ]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1


def test_the_root_csr_carries_the_scripted_subject_and_the_hsm_key() -> None:
    key = software_key("rsa-3072")
    spec = CsrSpec.model_validate(
        {
            "id": "root-csr",
            "key": "root-key",
            "subject": {"country": "XX", "organization": "Example", "common_name": "Root"},
            "output": "root.csr",
        }
    )
    issued = HsmCertificateIssuer().make_csr(spec, key)
    csr = x509.load_der_x509_csr(issued.der)
    assert csr.is_signature_valid and issued.subject == "CN=Root,O=Example,C=XX"
    assert issued.spki_sha256_hex == hashlib.sha256(key.record.spki_der).hexdigest()
    assert key.hashes_used == ["sha256"]
    assert any("not linted: pkilint has no validator" in check for check in issued.checks)


@pytest.mark.parametrize(
    ("algorithm", "oid"),
    [
        ("ec-p521", SignatureAlgorithmOID.ECDSA_WITH_SHA512),
        ("ed25519", SignatureAlgorithmOID.ED25519),
    ],
)
def test_p521_and_ed25519_sign_every_artefact(
    algorithm: KeyAlgorithm, oid: x509.ObjectIdentifier
) -> None:
    """Root, subordinate (for an Ed25519 request), cross-certificate, OCSP responder, CSR, CRL."""
    key = software_key(algorithm)
    issuer = HsmCertificateIssuer()
    root = issuer.issue_root(certificate_spec(), key, SERIAL)
    root_cert = x509.load_der_x509_certificate(root.der)
    name = root.signature_algorithm
    assert name == ("ED25519" if algorithm == "ed25519" else "ecdsa-with-SHA512")
    subject_key = ed25519.Ed25519PrivateKey.generate()
    request = x509.CertificateSigningRequestBuilder().subject_name(SUBJECT).sign(subject_key, None)
    subordinate = issuer.issue_from_request(
        child_spec(path_length=0),
        key,
        SERIAL + 1,
        root.der,
        request.public_bytes(serialization.Encoding.DER),
    )
    other_key = ec.generate_private_key(ec.SECP521R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other Root CA")])
    other = (
        x509.CertificateBuilder()
        .subject_name(other_name)
        .issuer_name(other_name)
        .public_key(other_key.public_key())
        .serial_number(7)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(other_key.public_key()), critical=False
        )
        .sign(other_key, hashes.SHA512())
    )
    cross = issuer.cross_certify(
        child_spec(profile="cross-certificate", subject_from="other-root"),
        key,
        SERIAL + 2,
        root.der,
        other.public_bytes(serialization.Encoding.DER),
    )
    ocsp = issuer.issue_subordinate(
        child_spec(profile="ocsp-responder", crl_urls=()),
        key,
        SERIAL + 3,
        root.der,
        SUBJECT,
        ec.generate_private_key(ec.SECP256R1()).public_key(),
    )
    for issued in (root, subordinate, cross, ocsp):
        cert = x509.load_der_x509_certificate(issued.der)
        assert cert.signature_algorithm_oid == oid and issued.signature_algorithm == name
        cert.verify_directly_issued_by(root_cert)
        assert "the signature verifies with the public key the HSM reported for the key" in (
            issued.checks
        )
    subordinate_key = x509.load_der_x509_certificate(subordinate.der).public_key()
    assert subordinate_key == subject_key.public_key()  # an Ed25519 key certified from its CSR
    csr = issuer.make_csr(
        CsrSpec.model_validate(
            {
                "id": "root-csr",
                "key": "root-key",
                "subject": {"country": "XX", "organization": "Example", "common_name": "Root"},
                "output": "root.csr",
            }
        ),
        key,
    )
    crl = issuer.sign_crl(crl_spec(), key, root.der)
    loaded_csr = x509.load_der_x509_csr(csr.der)
    loaded_crl = x509.load_der_x509_crl(crl.der)
    assert loaded_csr.is_signature_valid and loaded_csr.signature_algorithm_oid == oid
    assert loaded_crl.is_signature_valid(root_cert.public_key())  # type: ignore[arg-type]
    assert loaded_crl.signature_algorithm_oid == oid
    assert csr.signature_algorithm == crl.signature_algorithm == name
    # Six artefacts, one HSM signature each (twins are signed by throwaway keys).
    assert key.hashes_used == ["sha512"] * 6


def test_the_br_profile_refuses_an_ed25519_crl_and_accepts_a_p521_one() -> None:
    """BR 7.1.3.2 covers CRLs too: RSA or ECDSA only, P-521 with SHA-512."""
    ed_key = software_key("ed25519")
    ed_root = RootCertificateIssuer().issue_root(certificate_spec(), ed_key, SERIAL)
    with pytest.raises(PkiError) as caught:
        HsmCertificateIssuer().sign_crl(
            crl_spec(lint=("rfc5280", "cabf-serverauth")), ed_key, ed_root.der
        )
    assert (
        "The CRL 'root-crl' (its twin, before the HSM signs): pkilint found 1 error(s), so the "
        "HSM does not sign it: ERROR cabf.serverauth.prohibited_signature_algorithm_encoding at "
        "certificateList.tbsCertList.signature: Prohibited encoding: 300506032b6570"
    ) in str(caught.value)
    assert ed_key.hashes_used == ["sha512"]  # the root only
    p521_key = software_key("ec-p521")
    p521_root = RootCertificateIssuer().issue_root(certificate_spec(), p521_key, SERIAL)
    issued = HsmCertificateIssuer().sign_crl(
        crl_spec(lint=("rfc5280", "cabf-serverauth")), p521_key, p521_root.der
    )
    assert issued.signature_algorithm == "ecdsa-with-SHA512"
    assert "pkilint found no error in the HSM-signed result" in issued.checks
