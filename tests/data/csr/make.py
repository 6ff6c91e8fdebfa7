"""Generate the bad and good CSRs that tests/unit/test_pki_csr.py loads.

Run from the repository root:  .venv/bin/python tests/data/csr/make.py

It rewrites every file it owns in tests/data/csr/ (bad requests) and tests/data/csr/good/. The
expected messages are NOT generated: tests/data/csr/expected.yaml is written by hand, and the test
fails if a generated file has no expected message or an expected file is missing.

Deterministic: RSA primes come from a seeded random.Random with Miller-Rabin, EC scalars are fixed
numbers, ECDSA signs with RFC 6979 (deterministic) and RSA PKCS#1 v1.5 / EdDSA are deterministic
anyway, so a second run writes identical bytes. The one exception is dsa.pem (DSA domain parameters
and signatures are random; nothing in the test depends on its bytes).

Malformed requests are made by hand-built DER (the small encoder below) or by byte surgery on a
valid request; weak RSA keys (1024-bit, 2052-bit, e=3, a small factor, primes close enough for
Fermat) are built from RSAPrivateNumbers so cryptography's key generator never refuses them.
These keys are test keys only, published on purpose, and are never written to disk.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import AttributeOID, NameOID

HERE = Path(__file__).resolve().parent
GOOD = HERE / "good"

OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_P256 = "1.2.840.10045.3.1.7"
OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14"
OID_SUBJECT_ALT_NAME = "2.5.29.17"
OID_BASIC_CONSTRAINTS = "2.5.29.19"
SIG_OIDS = {
    ("rsa", "md5"): "1.2.840.113549.1.1.4",
    ("rsa", "sha1"): "1.2.840.113549.1.1.5",
    ("rsa", "sha256"): "1.2.840.113549.1.1.11",
    ("ec", "sha1"): "1.2.840.10045.4.1",
    ("ec", "sha256"): "1.2.840.10045.4.3.2",
}
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
}

# --- a small DER encoder ---------------------------------------------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(0x31, b"".join(sorted(items)))


def integer(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return tlv(0x02, raw)


def oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def bit_string(data: bytes) -> bytes:
    return tlv(0x03, b"\x00" + data)


def octet_string(data: bytes) -> bytes:
    return tlv(0x04, data)


NULL = b"\x05\x00"
TRUE = b"\x01\x01\xff"


def extension(dotted: str, value: bytes, critical: bool = False) -> bytes:
    return seq(oid(dotted), *([TRUE] if critical else []), octet_string(value))


def extension_request(*extensions: bytes) -> bytes:
    return seq(oid(OID_EXTENSION_REQUEST), set_of(seq(*extensions)))


def attributes(*attrs: bytes) -> bytes:
    return tlv(0xA0, b"".join(attrs))


def info(subject: bytes, spki: bytes, attrs: bytes = b"", *, version: int = 0) -> bytes:
    """CertificationRequestInfo (RFC 2986 4.1)."""
    return seq(integer(version), subject, spki, attributes(attrs))


# --- deterministic keys ----------------------------------------------------------------------

SMALL_PRIMES = [
    p for p in range(3, 10_000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2))
]


def is_probable_prime(n: int, rng: random.Random) -> bool:
    for p in SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def next_prime(start: int, e: int, rng: random.Random) -> int:
    """The first probable prime >= start with gcd(e, p - 1) == 1."""
    n = start | 1
    while not (math.gcd(e, n - 1) == 1 and is_probable_prime(n, rng)):
        n += 2
    return n


def random_prime(bits: int, e: int, rng: random.Random) -> int:
    """A prime of exactly ``bits`` bits with the top two bits set (so p*q has 2*bits bits)."""
    return next_prime(rng.getrandbits(bits) | (3 << (bits - 2)), e, rng)


def rsa_from_primes(p: int, q: int, e: int = 65537) -> rsa.RSAPrivateKey:
    d = pow(e, -1, (p - 1) * (q - 1) // math.gcd(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


def rsa_key(bits: int, seed: str, e: int = 65537) -> rsa.RSAPrivateKey:
    rng = random.Random(seed)  # noqa: S311 -- reproducible test keys, not secrets
    p = random_prime(bits // 2, e, rng)
    q = random_prime(bits - bits // 2, e, rng)
    return rsa_from_primes(p, q, e)


def ec_key(curve: ec.EllipticCurve, scalar: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(scalar, curve)


# --- requests --------------------------------------------------------------------------------

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | dsa.DSAPrivateKey
)


def name(*, c: bool = True, o: bool = True, cn: bool = True) -> x509.Name:
    attrs = []
    if c:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"))
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Trust Services"))
    if cn:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, "Example Issuing CA G1"))
    return x509.Name(attrs)


def builder(subject: x509.Name | None = None) -> x509.CertificateSigningRequestBuilder:
    return x509.CertificateSigningRequestBuilder().subject_name(
        name() if subject is None else subject
    )


def sign(
    csr_builder: x509.CertificateSigningRequestBuilder,
    key: PrivateKey,
    algorithm: hashes.HashAlgorithm | None = None,
    **kwargs: object,
) -> bytes:
    if algorithm is None and isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        algorithm = hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        kwargs.setdefault("ecdsa_deterministic", True)
    csr = csr_builder.sign(key, algorithm, **kwargs)  # type: ignore[arg-type]
    return csr.public_bytes(serialization.Encoding.DER)


def spki_der(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def name_der(subject: x509.Name) -> bytes:
    return subject.public_bytes()


def assemble(tbs: bytes, key: PrivateKey, hash_name: str = "sha256") -> bytes:
    """Sign a hand-built CertificationRequestInfo: RSA PKCS#1 v1.5 or deterministic ECDSA."""
    digest = HASHES[hash_name]()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(tbs, padding.PKCS1v15(), digest)
        algorithm = seq(oid(SIG_OIDS[("rsa", hash_name)]), NULL)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(tbs, ec.ECDSA(digest, deterministic_signing=True))
        algorithm = seq(oid(SIG_OIDS[("ec", hash_name)]))
    else:
        raise TypeError(type(key))
    return seq(tbs, algorithm, bit_string(signature))


def pem(der: bytes, label: str = "CERTIFICATE REQUEST") -> bytes:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"
    ).encode()


def build() -> tuple[dict[str, bytes], dict[str, bytes]]:
    base_ec = ec_key(ec.SECP256R1(), 0x5EA1_0001)
    other_ec = ec_key(ec.SECP256R1(), 0x5EA1_0002)
    base_rsa = rsa_key(2048, "base-rsa-2048")
    good_csr = sign(builder(), base_ec)
    subject = name_der(name())
    bad: dict[str, bytes] = {}

    # --- framing ---
    bad["empty.csr"] = b""
    many_names = [x509.DNSName(f"host-{i:04d}.pki.example") for i in range(800)]
    bad["oversize.pem"] = pem(
        sign(builder().add_extension(x509.SubjectAlternativeName(many_names), False), base_ec)
    )
    bad["garbage.bin"] = b"This is not a certificate request, it is a shopping list.\n"
    bad["pem-text-before.pem"] = b"Subject: Example Issuing CA G1\n" + pem(good_csr)
    bad["pem-text-after.pem"] = pem(good_csr) + b"Signed-off-by: someone\n"
    bad["pem-wrong-label.pem"] = pem(good_csr, "CERTIFICATE")
    bad["pem-new-label.pem"] = pem(good_csr, "NEW CERTIFICATE REQUEST")
    bad["pem-two-blocks.pem"] = pem(good_csr) + pem(sign(builder(), other_ec))
    lines = pem(good_csr).split(b"\n")
    lines[2] = lines[2][:10] + b"!" + lines[2][11:]  # one character outside the base64 alphabet
    bad["pem-bad-base64.pem"] = b"\n".join(lines)
    bad["pem-no-end.pem"] = pem(good_csr).replace(b"-----END CERTIFICATE REQUEST-----\n", b"")
    bad["pem-mismatched-end.pem"] = pem(good_csr).replace(
        b"-----END CERTIFICATE REQUEST-----", b"-----END CERTIFICATE-----"
    )
    bad["pem-empty-body.pem"] = (
        b"-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"
    )
    bad["der-truncated.der"] = good_csr[:-10]
    bad["der-trailing.der"] = good_csr + b"\x00\x00\x00\x00"
    bad["pem-der-trailing.pem"] = pem(good_csr + b"\x05\x00")
    bad["der-indefinite-length.der"] = b"\x30\x80" + good_csr[2:] + b"\x00\x00"
    body = good_csr[3:] if good_csr[1] == 0x81 else good_csr[4:]
    bad["der-nonminimal-length.der"] = b"\x30\x83" + len(body).to_bytes(3, "big") + body
    bad["der-not-pkcs10.der"] = seq(integer(1), integer(2), integer(3))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name())
        .issuer_name(name())
        .public_key(base_ec.public_key())
        .serial_number(0x0123456789ABCDEF)
        .not_valid_before(datetime(2027, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2028, 1, 1, tzinfo=UTC))
        .sign(base_ec, hashes.SHA256(), ecdsa_deterministic=True)
    )
    bad["pem-certificate-inside.pem"] = pem(certificate.public_bytes(serialization.Encoding.DER))
    broken_name = seq(set_of(seq(integer(5))))  # an RDN whose attribute is an INTEGER
    bad["asn1-unparseable.der"] = assemble(info(broken_name, spki_der(base_ec)), base_ec)
    bad["version-1.der"] = assemble(info(subject, spki_der(base_ec), version=1), base_ec)

    # --- attributes and requested extensions (hand-built) ---
    bad["attr-challenge-password.pem"] = pem(
        sign(builder().add_attribute(AttributeOID.CHALLENGE_PASSWORD, b"hunter2"), base_ec)
    )
    bad["attr-unstructured-name.pem"] = pem(
        sign(builder().add_attribute(AttributeOID.UNSTRUCTURED_NAME, b"router-7"), base_ec)
    )
    san = seq(tlv(0x82, b"ca.pki.example"))
    bad["attr-two-extension-requests.der"] = assemble(
        info(
            subject,
            spki_der(base_ec),
            extension_request(extension(OID_SUBJECT_ALT_NAME, san))
            + extension_request(extension(OID_BASIC_CONSTRAINTS, seq())),
        ),
        base_ec,
    )
    two_values = seq(
        oid(OID_EXTENSION_REQUEST),
        set_of(
            seq(extension(OID_SUBJECT_ALT_NAME, san)), seq(extension(OID_BASIC_CONSTRAINTS, seq()))
        ),
    )
    bad["attr-extension-request-two-values.der"] = assemble(
        info(subject, spki_der(base_ec), two_values), base_ec
    )
    empty_version = seq(tlv(0x02, b""), subject, spki_der(base_ec), attributes(b""))
    bad["version-empty-integer.der"] = assemble(empty_version, base_ec)
    bad["ext-duplicate.der"] = assemble(
        info(
            subject,
            spki_der(base_ec),
            extension_request(
                extension(OID_SUBJECT_ALT_NAME, san), extension(OID_SUBJECT_ALT_NAME, san)
            ),
        ),
        base_ec,
    )
    bad["ext-malformed-value.der"] = assemble(
        info(
            subject,
            spki_der(base_ec),
            extension_request(extension(OID_BASIC_CONSTRAINTS, b"\x04\x02no", critical=True)),
        ),
        base_ec,
    )
    bad["ext-unknown-critical.pem"] = pem(
        sign(
            builder().add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.7.1"), NULL),
                critical=True,
            ),
            base_ec,
        )
    )
    bad["ext-ca-true-forbidden.pem"] = pem(
        sign(builder().add_extension(x509.BasicConstraints(ca=True, path_length=0), True), base_ec)
    )

    # --- signatures ---
    flipped = bytearray(good_csr)
    flipped[-1] ^= 0x01
    bad["bad-signature.pem"] = pem(bytes(flipped))
    tbs = x509.load_der_x509_csr(good_csr).tbs_certrequest_bytes
    bad["signed-by-other-key.pem"] = pem(assemble(tbs, other_ec))
    rsa_tbs = info(subject, spki_der(base_rsa))
    bad["sig-sha1-rsa.pem"] = pem(assemble(rsa_tbs, base_rsa, "sha1"))
    bad["sig-md5-rsa.pem"] = pem(assemble(rsa_tbs, base_rsa, "md5"))
    bad["sig-ecdsa-sha1.pem"] = pem(assemble(info(subject, spki_der(base_ec)), base_ec, "sha1"))
    bad["sig-rsassa-pss.pem"] = pem(
        sign(
            builder(),
            base_rsa,
            hashes.SHA256(),
            rsa_padding=padding.PSS(padding.MGF1(hashes.SHA256()), 0),  # no salt: deterministic
        )
    )

    # --- weak or unsupported keys ---
    bad["rsa-1024.pem"] = pem(sign(builder(), rsa_key(1024, "rsa-1024")))
    bad["rsa-2052-bits.pem"] = pem(sign(builder(), rsa_key(2052, "rsa-2052")))
    bad["rsa-e3.pem"] = pem(sign(builder(), rsa_key(2048, "rsa-e3", e=3)))
    big_e = (1 << 256) + 1
    bad["rsa-e-huge.pem"] = pem(sign(builder(), rsa_key(2048, "rsa-e-huge", e=big_e)))
    n = base_rsa.public_key().public_numbers().n
    even_e_spki = seq(
        seq(oid(OID_RSA_ENCRYPTION), NULL), bit_string(seq(integer(n), integer(65538)))
    )
    bad["rsa-e-even.der"] = assemble(info(subject, even_e_spki), base_rsa)
    rng = random.Random("rsa-small-factor")  # noqa: S311 -- reproducible test key
    bad["rsa-small-factor.pem"] = pem(
        sign(builder(), rsa_from_primes(7919, random_prime(2035, 65537, rng)))
    )
    rng = random.Random("rsa-fermat")  # noqa: S311 -- reproducible test key
    p = random_prime(1024, 65537, rng)
    q = next_prime(p + 1_000_000, 65537, rng)  # about 2^20 apart: Fermat's first step
    bad["rsa-fermat.pem"] = pem(sign(builder(), rsa_from_primes(p, q)))
    bad["ec-secp256k1.pem"] = pem(sign(builder(), ec_key(ec.SECP256K1(), 0x5EA1_0003)))
    bad["ec-brainpoolp256r1.pem"] = pem(sign(builder(), ec_key(ec.BrainpoolP256R1(), 0x5EA1_0004)))
    point = base_ec.public_key().public_numbers()
    off_curve = (
        b"\x04" + point.x.to_bytes(32, "big") + ((point.y + 1) % (2**256)).to_bytes(32, "big")
    )
    off_spki = seq(seq(oid(OID_EC_PUBLIC_KEY), oid(OID_P256)), bit_string(off_curve))
    bad["ec-off-curve.der"] = assemble(info(subject, off_spki), base_ec)
    compressed = base_ec.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    compressed_spki = seq(seq(oid(OID_EC_PUBLIC_KEY), oid(OID_P256)), bit_string(compressed))
    bad["ec-compressed-point.der"] = assemble(info(subject, compressed_spki), base_ec)
    bad["dsa.pem"] = pem(sign(builder(), dsa.generate_private_key(2048), hashes.SHA256()))
    ed448_key = ed448.Ed448PrivateKey.from_private_bytes(bytes(range(57)))
    bad["ed448.pem"] = pem(sign(builder(), ed448_key))

    # --- subject ---
    bad["subject-empty.pem"] = pem(sign(builder(x509.Name([])), base_ec))
    bad["subject-no-cn.pem"] = pem(sign(builder(name(cn=False)), base_ec))
    bad["subject-no-o.pem"] = pem(sign(builder(name(o=False)), base_ec))
    spoof = "Example Issuing CA G1\nO=Other Org"
    bad["subject-newline.pem"] = pem(
        sign(
            builder(x509.Name([*name(cn=False), x509.NameAttribute(NameOID.COMMON_NAME, spoof)])),
            base_ec,
        )
    )
    reversed_text = "Example Issuing CA \u202e1G"  # RIGHT-TO-LEFT OVERRIDE: shows as "...CA G1"
    bad["subject-bidi-override.pem"] = pem(
        sign(
            builder(
                x509.Name([*name(cn=False), x509.NameAttribute(NameOID.COMMON_NAME, reversed_text)])
            ),
            base_ec,
        )
    )
    bad["ext-san-nul.pem"] = pem(
        sign(
            builder().add_extension(
                x509.SubjectAlternativeName([x509.DNSName("ca.pki.example\x00.evil.example")]),
                False,
            ),
            base_ec,
        )
    )

    # --- good ---
    good: dict[str, bytes] = {}
    sub_ca = (
        builder()
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    good["rsa-3072.pem"] = pem(sign(sub_ca, rsa_key(3072, "good-rsa-3072")))
    good["rsa-4096.der"] = sign(builder(), rsa_key(4096, "good-rsa-4096"))
    good["p256.pem"] = pem(
        sign(
            builder().add_extension(
                x509.SubjectAlternativeName([x509.DNSName("ocsp.pki.example")]), critical=False
            ),
            ec_key(ec.SECP256R1(), 0x5EA1_1001),
        )
    )
    good["p384.pem"] = pem(
        sign(
            sub_ca.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.7.2"), NULL),
                critical=False,
            ),
            ec_key(ec.SECP384R1(), 0x5EA1_1002),
            hashes.SHA384(),
        )
    )
    good["ed25519.pem"] = pem(
        sign(builder(), ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    )
    return bad, good


def main() -> None:
    bad, good = build()
    GOOD.mkdir(exist_ok=True)
    for file_name, data in bad.items():
        (HERE / file_name).write_bytes(data)
    for file_name, data in good.items():
        (GOOD / file_name).write_bytes(data)
    print(f"wrote {len(bad)} bad and {len(good)} good requests under {HERE}")


if __name__ == "__main__":
    main()
