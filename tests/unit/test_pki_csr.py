"""CSR import: every bad request in tests/data/csr gives its exact message; good ones show facts."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealroom.errors import PkiError
from sealroom.pki.csr import NOT_COPIED, CheckedCsr, CsrPolicy, grouped_hex, load_csr

DATA = Path(__file__).resolve().parents[1] / "data" / "csr"
GOOD = DATA / "good"
NOT_REQUESTS = {"make.py", "expected.yaml"}
EXPECTED: dict[str, dict[str, object]] = yaml.safe_load((DATA / "expected.yaml").read_text())
BAD_FILES = sorted(p.name for p in DATA.iterdir() if p.is_file() and p.name not in NOT_REQUESTS)
GOOD_FILES = sorted(p.name for p in GOOD.iterdir())
SUB_CA = CsrPolicy(allow_ca=True)
OCSP_RESPONDER = CsrPolicy(allow_ca=False)
SUBJECT = "CN=Example Issuing CA G1,O=Example Trust Services,C=DE"


def read_request(path: Path) -> x509.CertificateSigningRequest:
    """The request as cryptography alone reads it (an independent view for the assertions)."""
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_csr(data)
    return x509.load_der_x509_csr(data)


def load_good(name: str, policy: CsrPolicy = SUB_CA) -> CheckedCsr:
    return load_csr((GOOD / name).read_bytes(), name, policy)


def make_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("csr_make", DATA / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the bad corpus --------------------------------------------------------------------------


def test_the_corpus_has_at_least_30_bad_requests_each_with_an_expected_message() -> None:
    assert len(BAD_FILES) >= 30
    assert set(BAD_FILES) == set(EXPECTED), "make.py output and expected.yaml disagree"


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_request_is_refused_with_its_exact_message(name: str) -> None:
    entry = EXPECTED[name]
    policy = CsrPolicy(allow_ca=bool(entry.get("allow_ca", True)))
    with pytest.raises(PkiError) as exc:
        load_csr((DATA / name).read_bytes(), name, policy)
    assert str(exc.value) == entry["message"]
    assert str(exc.value).startswith(f"{name}: ")


def test_ca_true_request_loads_where_the_profile_allows_ca() -> None:
    name = "ext-ca-true-forbidden.pem"
    checked = load_csr((DATA / name).read_bytes(), name, SUB_CA)
    (basic,) = checked.requested_extensions
    assert (basic.name, basic.oid, basic.critical, basic.summary) == (
        "basicConstraints",
        "2.5.29.19",
        True,
        "CA:TRUE, pathlen:0",
    )


def test_challenge_password_value_never_reaches_the_message() -> None:
    data = (DATA / "attr-challenge-password.pem").read_bytes()
    assert b"hunter2" in x509.load_pem_x509_csr(data).tbs_certrequest_bytes
    with pytest.raises(PkiError) as exc:
        load_csr(data, "sub.csr", SUB_CA)
    assert "hunter2" not in str(exc.value)
    assert "1.2.840.113549.1.9.7" in str(exc.value)


def test_oversize_is_refused_before_parsing() -> None:
    # 20 000 bytes of nonsense: the size check answers, not a parser.
    with pytest.raises(PkiError) as exc:
        load_csr(b"\x00" * 20_000, "big.csr", SUB_CA)
    assert str(exc.value) == "big.csr: the request is 20000 bytes; at most 16384 are accepted."


def test_policy_max_bytes_applies() -> None:
    data = (GOOD / "p384.pem").read_bytes()
    with pytest.raises(PkiError) as exc:
        load_csr(data, "p384.pem", CsrPolicy(allow_ca=True, max_bytes=len(data) - 1))
    assert str(exc.value) == (
        f"p384.pem: the request is {len(data)} bytes; at most {len(data) - 1} are accepted."
    )
    assert load_csr(data, "p384.pem", CsrPolicy(allow_ca=True, max_bytes=len(data)))


def test_policy_allowed_hashes_narrow_the_choice() -> None:
    policy = CsrPolicy(allow_ca=True, allowed_hashes=frozenset({"sha256"}))
    with pytest.raises(PkiError) as exc:
        load_good("p384.pem", policy)
    assert str(exc.value) == (
        "p384.pem: the request is signed with ecdsa-with-SHA384; the hash sha384 is not accepted "
        "(sha256 only)."
    )


@pytest.mark.parametrize("weak_hash", ["sha1", "md5", "sha224"])
def test_policy_can_never_allow_a_weak_hash(weak_hash: str) -> None:
    with pytest.raises(PkiError) as exc:
        CsrPolicy(allow_ca=True, allowed_hashes=frozenset({"sha256", weak_hash}))
    assert str(exc.value) == (
        f"CSR policy: the hash {weak_hash} can never be allowed (sha256, sha384 or sha512 only)."
    )


def test_policy_needs_a_hash() -> None:
    with pytest.raises(PkiError, match="at least one hash"):
        CsrPolicy(allow_ca=True, allowed_hashes=frozenset())


# --- good requests ---------------------------------------------------------------------------


def test_the_good_set_covers_the_required_key_types() -> None:
    descriptions = {load_good(name).key_description for name in GOOD_FILES}
    assert {"RSA 3072-bit, e=65537", "RSA 4096-bit, e=65537", "EC P-256", "EC P-384"} <= (
        descriptions
    )


@pytest.mark.parametrize("name", GOOD_FILES)
def test_good_request_loads_and_its_facts_show_subject_and_spki_hash(name: str) -> None:
    checked = load_good(name)
    request = read_request(GOOD / name)
    spki = request.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = request.public_bytes(serialization.Encoding.DER)
    facts = dict(checked.facts())
    assert facts["Subject"] == SUBJECT == checked.subject_text
    assert checked.subject == request.subject
    assert checked.spki_der == spki
    assert checked.spki_sha256_hex == hashlib.sha256(spki).hexdigest()
    assert facts["SPKI SHA-256"] == grouped_hex(hashlib.sha256(spki).hexdigest())
    assert len(facts["SPKI SHA-256"].split(" ")) == 16
    assert checked.der == der
    assert facts["CSR SHA-256"] == grouped_hex(hashlib.sha256(der).hexdigest())
    assert facts["Public key"] == checked.key_description
    assert facts["Signature algorithm"].endswith("(signature verified)")
    assert checked.public_key == request.public_key()


def test_facts_come_in_the_order_the_witnesses_read_them() -> None:
    labels = [label for label, _ in load_good("p384.pem").facts()]
    assert labels == [
        "Subject",
        "Public key",
        "SPKI SHA-256",
        "Signature algorithm",
        "Requested basicConstraints (2.5.29.19), critical",
        "Requested keyUsage (2.5.29.15), critical",
        "Requested unknown (1.3.6.1.4.1.55555.7.2)",
        "CSR SHA-256",
    ]


def test_requested_extensions_are_reported_and_flagged_not_copied() -> None:
    checked = load_good("p384.pem")
    assert [asdict(ext) for ext in checked.requested_extensions] == [
        {
            "name": "basicConstraints",
            "oid": "2.5.29.19",
            "critical": True,
            "summary": "CA:TRUE, pathlen:0",
        },
        {
            "name": "keyUsage",
            "oid": "2.5.29.15",
            "critical": True,
            "summary": "digitalSignature, keyCertSign, cRLSign",
        },
        {
            "name": "unknown",
            "oid": "1.3.6.1.4.1.55555.7.2",
            "critical": False,
            "summary": "2 bytes, not interpreted",
        },
    ]
    facts = dict(checked.facts())
    requested = {label: value for label, value in facts.items() if label.startswith("Requested")}
    assert len(requested) == 3
    assert all(value.endswith("; not copied: the profile decides") for value in requested.values())
    assert NOT_COPIED == "not copied: the profile decides"
    assert facts["Requested basicConstraints (2.5.29.19), critical"].startswith("CA:TRUE")


def test_san_is_summarised() -> None:
    facts = dict(load_good("p256.pem").facts())
    assert facts["Requested subjectAltName (2.5.29.17)"] == (
        "DNS:ocsp.pki.example; not copied: the profile decides"
    )


def test_a_request_without_extensions_says_so() -> None:
    facts = dict(load_good("rsa-4096.der").facts())
    assert facts["Requested extensions"] == "none"


def test_an_ocsp_responder_profile_loads_a_request_without_ca() -> None:
    assert load_good("p256.pem", OCSP_RESPONDER).key_description == "EC P-256"
    with pytest.raises(PkiError, match="basicConstraints CA:TRUE"):
        load_good("p384.pem", OCSP_RESPONDER)


def test_pem_and_der_of_one_request_check_the_same() -> None:
    pem_data = (GOOD / "p384.pem").read_bytes()
    der_data = x509.load_pem_x509_csr(pem_data).public_bytes(serialization.Encoding.DER)
    assert load_csr(pem_data, "a", SUB_CA) == load_csr(der_data, "a", SUB_CA)


def test_crlf_pem_is_accepted() -> None:
    pem_data = (GOOD / "p256.pem").read_bytes().replace(b"\n", b"\r\n")
    assert load_csr(pem_data, "p256.pem", SUB_CA).key_description == "EC P-256"


def test_facts_never_leak_private_material() -> None:
    make = make_module()
    ec_private = make.ec_key(make.ec.SECP384R1(), 0x5EA1_1002).private_numbers().private_value
    ed_private = bytes(range(32))
    for name in GOOD_FILES:
        text = "\n".join(f"{label}: {value}" for label, value in load_good(name).facts())
        assert "PRIVATE" not in text.upper()
        flat = text.replace(" ", "").lower()
        assert format(ec_private, "x") not in flat
        assert ed_private.hex() not in flat
        assert len(text) < 2000  # labels, names and digests only: no key or request bytes


# --- independent cross-checks ----------------------------------------------------------------


@pytest.mark.parametrize("name", GOOD_FILES)
def test_openssl_verifies_every_good_request(name: str) -> None:
    form = "DER" if name.endswith(".der") else "PEM"
    result = subprocess.run(
        ["openssl", "req", "-in", str(GOOD / name), "-inform", form, "-noout", "-verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "verify OK" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["bad-signature.pem", "signed-by-other-key.pem"])
def test_openssl_also_refuses_the_bad_signatures(name: str) -> None:
    result = subprocess.run(
        ["openssl", "req", "-in", str(DATA / name), "-noout", "-verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    # OpenSSL 3.0 exits 0 here and reports the failure on stderr.
    assert "verify failure" in result.stderr
    assert "verify OK" not in result.stdout + result.stderr


def test_generator_reproduces_the_committed_files() -> None:
    bad, good = make_module().build()
    for name, data in bad.items():
        if name not in {"dsa.pem"}:  # DSA signatures are random (make.py says so)
            assert (DATA / name).read_bytes() == data, name
    for name, data in good.items():
        assert (GOOD / name).read_bytes() == data, name


# --- robustness: nothing but PkiError, whatever the bytes ------------------------------------

_GOOD_DER = read_request(GOOD / "p256.pem").public_bytes(serialization.Encoding.DER)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(_GOOD_DER) - 1), value=st.integers(0, 255))
def test_any_single_byte_change_is_refused(index: int, value: int) -> None:
    mutated = bytearray(_GOOD_DER)
    mutated[index] = value
    if bytes(mutated) == _GOOD_DER:
        assert load_csr(_GOOD_DER, "fuzz.der", SUB_CA)
        return
    with pytest.raises(PkiError) as exc:  # and never any other exception
        load_csr(bytes(mutated), "fuzz.der", SUB_CA)
    assert str(exc.value).startswith("fuzz.der: ")


@settings(max_examples=100, deadline=None)
@given(length=st.integers(1, len(_GOOD_DER) - 1))
def test_every_truncation_is_refused(length: int) -> None:
    with pytest.raises(PkiError):
        load_csr(_GOOD_DER[:length], "cut.der", SUB_CA)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=1, max_size=400))
def test_arbitrary_bytes_raise_only_pki_error(data: bytes) -> None:
    with pytest.raises(PkiError):
        load_csr(data, "noise.bin", SUB_CA)
