"""Weak-key checks: RSA size, exponent, small factors, Fermat, EC curve and point, key types."""

from __future__ import annotations

import functools
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519

from sealroom.errors import PkiError
from sealroom.pki import weak
from sealroom.pki.weak import (
    ALLOWED_CURVES,
    check_ec_point,
    check_public_key,
    check_rsa_numbers,
    fermat_factor,
)

WHERE = "issuing-ca-g1.csr"
_RSA: dict[int, rsa.RSAPrivateKey] = {}


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    if bits not in _RSA:
        _RSA[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _RSA[bits]


def is_probable_prime(n: int, rounds: int = 24) -> bool:
    if n < 2:
        return False
    for p in weak.SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    rng = random.Random(n)  # noqa: S311 -- witnesses for a test, not secrets
    for _ in range(rounds):
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


def next_prime(n: int) -> int:
    n |= 1
    while not is_probable_prime(n):
        n += 2
    return n


def fermat_weak_modulus(seed: int = 1) -> tuple[int, int, int]:
    """Two 1024-bit primes a few thousand apart: n has 2048 bits and no small factor."""
    rng = random.Random(seed)  # noqa: S311 -- deterministic test moduli
    start = rng.getrandbits(1024) | (3 << 1022)
    p = next_prime(start)
    q = next_prime(p + 1000)
    return p * q, p, q


@functools.cache
def small_factor_modulus() -> tuple[int, int]:
    """7919 times a 2035-bit prime (OpenSSL's, top two bits set): 2048 bits with a tiny factor."""
    q = rsa.generate_private_key(public_exponent=65537, key_size=4070).private_numbers().p
    assert q.bit_length() == 2035
    n = 7919 * q
    assert n.bit_length() == 2048
    return n, q


def message(exc: pytest.ExceptionInfo[PkiError]) -> str:
    return str(exc.value)


# --- accepted keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_good_rsa_keys_are_described(bits: int) -> None:
    assert check_public_key(rsa_key(bits).public_key(), WHERE) == f"RSA {bits}-bit, e=65537"


@pytest.mark.parametrize(
    ("curve", "name"),
    [(ec.SECP256R1(), "EC P-256"), (ec.SECP384R1(), "EC P-384"), (ec.SECP521R1(), "EC P-521")],
)
def test_good_ec_keys_are_described(curve: ec.EllipticCurve, name: str) -> None:
    for _ in range(3):
        key = ec.generate_private_key(curve).public_key()
        assert check_public_key(key, WHERE) == name


def test_ed25519_is_accepted() -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    assert check_public_key(key, WHERE) == "Ed25519"


# --- RSA size and exponent -------------------------------------------------------------------


def test_rsa_1024_is_refused() -> None:
    key = rsa_key(1024).public_key()
    with pytest.raises(PkiError) as exc:
        check_public_key(key, WHERE)
    assert message(exc) == (
        "issuing-ca-g1.csr: the RSA modulus has 1024 bits; at least 2048 are required "
        "(CA/B Forum BR 6.1.5)."
    )


def test_rsa_modulus_not_a_multiple_of_8_bits_is_refused() -> None:
    n = rsa_key(2048).public_key().public_numbers().n * 9  # 2051 or 2052 bits, not /8
    assert n.bit_length() % 8 != 0
    with pytest.raises(PkiError) as exc:
        check_rsa_numbers(n, 65537, WHERE)
    assert message(exc) == (
        f"issuing-ca-g1.csr: the RSA modulus has {n.bit_length()} bits, not a multiple of 8 "
        "(CA/B Forum BR 6.1.5)."
    )


def test_exponent_3_is_refused() -> None:
    n = rsa_key(2048).public_key().public_numbers().n
    key = rsa.RSAPublicNumbers(3, n).public_key()
    with pytest.raises(PkiError) as exc:
        check_public_key(key, WHERE)
    assert message(exc) == (
        "issuing-ca-g1.csr: the RSA public exponent 3 is below 65537 (CA/B Forum BR 6.1.6)."
    )


def test_even_exponent_is_refused() -> None:
    n = rsa_key(2048).public_key().public_numbers().n
    with pytest.raises(PkiError) as exc:
        check_rsa_numbers(n, 65538, WHERE)
    assert message(exc) == (
        "issuing-ca-g1.csr: the RSA public exponent 65538 is even (CA/B Forum BR 6.1.6)."
    )


def test_exponent_above_2_to_the_256_is_refused() -> None:
    n = rsa_key(2048).public_key().public_numbers().n
    with pytest.raises(PkiError) as exc:
        check_rsa_numbers(n, (1 << 256) + 1, WHERE)
    assert message(exc) == (
        "issuing-ca-g1.csr: the RSA public exponent is 257 bits long, above 2^256-1 "
        "(CA/B Forum BR 6.1.6)."
    )


def test_largest_allowed_exponent_passes() -> None:
    # 2^256 - 1 is odd; the checks on size and exponent let it through (the modulus is sound).
    n = rsa_key(2048).public_key().public_numbers().n
    assert check_rsa_numbers(n, (1 << 256) - 1, WHERE).startswith("RSA 2048-bit, e=")


# --- RSA factors -----------------------------------------------------------------------------


def test_small_factor_modulus_is_refused() -> None:
    n, _ = small_factor_modulus()
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    with pytest.raises(PkiError) as exc:
        check_public_key(key, WHERE)
    assert message(exc) == (
        "issuing-ca-g1.csr: the RSA modulus is divisible by the small prime 7919 "
        "(CA/B Forum BR 6.1.6)."
    )


def test_smallest_prime_factor_is_the_one_named() -> None:
    n = rsa_key(2048).public_key().public_numbers().n
    m = n - n % 15  # divisible by 3 and 5, still 2048 bits
    if m % 2 == 0:
        m -= 15
    assert m.bit_length() == 2048
    with pytest.raises(PkiError, match="divisible by the small prime 3 "):
        check_rsa_numbers(m, 65537, WHERE)


def test_fermat_weak_modulus_is_refused() -> None:
    n, p, q = fermat_weak_modulus()
    assert n.bit_length() == 2048
    assert all(n % prime for prime in weak.SMALL_PRIMES)  # only Fermat can catch it
    assert fermat_factor(n, weak.FERMAT_ITERATIONS) == (p, q)
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    with pytest.raises(PkiError) as exc:
        check_public_key(key, WHERE)
    assert message(exc) == (
        "issuing-ca-g1.csr: the RSA modulus factors by Fermat's method (its two primes are too "
        "close together); the key is broken."
    )


def test_fermat_does_not_factor_a_sound_modulus() -> None:
    n = rsa_key(2048).public_key().public_numbers().n
    assert fermat_factor(n, weak.FERMAT_ITERATIONS) is None


def test_fermat_finds_primes_a_few_iterations_away() -> None:
    # p and q differ enough that ceil(sqrt(n)) is not yet (p+q)/2, but within 100 steps.
    p = next_prime((1 << 64) + 12345)
    q = next_prime(p + (1 << 36))
    n = p * q
    assert fermat_factor(n, 1) is None
    assert fermat_factor(n, weak.FERMAT_ITERATIONS) == (p, q)


# --- EC --------------------------------------------------------------------------------------


def test_secp256k1_is_refused_by_name() -> None:
    key = ec.generate_private_key(ec.SECP256K1()).public_key()
    with pytest.raises(PkiError) as exc:
        check_public_key(key, WHERE)
    assert message(exc) == (
        "issuing-ca-g1.csr: the EC curve secp256k1 is not accepted (P-256, P-384 or P-521 only, "
        "CA/B Forum BR 6.1.5)."
    )


def test_brainpool_is_refused_by_name() -> None:
    key = ec.generate_private_key(ec.BrainpoolP384R1()).public_key()
    with pytest.raises(PkiError, match="the EC curve brainpoolP384r1 is not accepted"):
        check_public_key(key, WHERE)


@pytest.mark.parametrize("curve_name", ["secp256r1", "secp384r1", "secp521r1"])
def test_off_curve_point_built_by_hand_is_refused(curve_name: str) -> None:
    curve = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1(), "secp521r1": ec.SECP521R1()}
    good = ec.generate_private_key(curve[curve_name]).public_key().public_numbers()
    assert check_ec_point(curve_name, good.x, good.y, WHERE).startswith("EC P-")
    bad_y = (good.y + 1) % ALLOWED_CURVES[curve_name].p
    with pytest.raises(PkiError) as exc:
        check_ec_point(curve_name, good.x, bad_y, WHERE)
    assert message(exc) == (
        f"issuing-ca-g1.csr: the EC public point is not on the curve "
        f"{ALLOWED_CURVES[curve_name].name}; the key is invalid (RFC 5480 2.2, SP 800-56A 5.6.2.3)."
    )


def test_cryptography_itself_refuses_the_off_curve_point() -> None:
    good = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    bad = ec.EllipticCurvePublicNumbers(good.x, good.y + 1, ec.SECP256R1())
    with pytest.raises(ValueError):
        bad.public_key()


def test_coordinates_out_of_field_range_are_refused() -> None:
    p256 = ALLOWED_CURVES["secp256r1"]
    good = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    # (x + p, y) satisfies the equation modulo p but is not a canonical field element.
    with pytest.raises(PkiError, match="not on the curve P-256"):
        check_ec_point("secp256r1", good.x + p256.p, good.y, WHERE)
    with pytest.raises(PkiError, match="not on the curve P-256"):
        check_ec_point("secp256r1", good.x, -good.y, WHERE)


class _OffCurveKey(ec.EllipticCurvePublicKey):
    """A public key object whose numbers are off the curve, as a forged loader might hand us."""

    def __init__(self, numbers: ec.EllipticCurvePublicNumbers) -> None:
        self._numbers = numbers

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._numbers.curve

    @property
    def key_size(self) -> int:
        return self._numbers.curve.key_size

    def public_numbers(self) -> ec.EllipticCurvePublicNumbers:
        return self._numbers

    def public_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        raise NotImplementedError

    def verify(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __copy__(self) -> _OffCurveKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _OffCurveKey:
        return self


def test_check_public_key_runs_the_curve_equation_itself() -> None:
    good = ec.generate_private_key(ec.SECP384R1()).public_key().public_numbers()
    forged = _OffCurveKey(ec.EllipticCurvePublicNumbers(good.x, good.y ^ 1, ec.SECP384R1()))
    with pytest.raises(PkiError, match="not on the curve P-384"):
        check_public_key(forged, WHERE)
    assert check_public_key(_OffCurveKey(good), WHERE) == "EC P-384"


def test_curve_constants_match_cryptography_generator_points() -> None:
    # Each curve's b and p are checked against many real points (the generator is one of them).
    for name, curve in (
        ("secp256r1", ec.SECP256R1()),
        ("secp384r1", ec.SECP384R1()),
        ("secp521r1", ec.SECP521R1()),
    ):
        one = ec.derive_private_key(1, curve).public_key().public_numbers()
        assert ALLOWED_CURVES[name].contains(one.x, one.y)
        assert ALLOWED_CURVES[name].bits == curve.key_size


# --- other key types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: dsa.generate_private_key(2048).public_key(), "DSA"),
        (lambda: ed448.Ed448PrivateKey.generate().public_key(), "Ed448"),
        (lambda: x25519.X25519PrivateKey.generate().public_key(), "X25519"),
    ],
)
def test_other_key_types_are_refused_by_name(make: Any, name: str) -> None:
    with pytest.raises(PkiError) as exc:
        check_public_key(make(), WHERE)
    assert message(exc) == (
        f"issuing-ca-g1.csr: {name} keys are not accepted (RSA, EC or Ed25519 only)."
    )


def test_messages_carry_no_key_material() -> None:
    n, _ = small_factor_modulus()
    with pytest.raises(PkiError) as exc:
        check_rsa_numbers(n, 65537, WHERE)
    assert str(n) not in message(exc)
    assert format(n, "x") not in message(exc).lower()
    der = (
        rsa.RSAPublicNumbers(65537, n)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert der.hex() not in message(exc)
