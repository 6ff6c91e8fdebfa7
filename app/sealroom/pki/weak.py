"""Weak-key checks for every imported public key (CA/B Forum BR 6.1.5, 6.1.6; RFC 5480)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from sealroom.errors import PkiError

RSA_MIN_BITS: Final = 2048
"""BR 6.1.5: an RSA modulus has at least 2048 bits, and a size in bits divisible by 8."""
RSA_MIN_EXPONENT: Final = 65537
RSA_MAX_EXPONENT: Final = (1 << 256) - 1
"""BR 6.1.6: the public exponent is odd, at least 3 (we ask 65537, as NIST SP 800-89 does) and
at most 2**256 - 1."""
SMALL_PRIME_LIMIT: Final = 10_000
"""BR 6.1.6: "no factors smaller than 752"; we trial-divide by every prime below this limit."""
FERMAT_ITERATIONS: Final = 100
"""Fermat's method from ceil(sqrt(n)) this many steps: a modulus whose primes are this close is
factored at once (the ROCA-era "close primes" flaw, CVE-2022-26320)."""


@dataclass(frozen=True)
class NamedCurve:
    """A prime curve y^2 = x^3 + a*x + b over GF(p), with a = -3 (NIST FIPS 186-5, SP 800-186)."""

    name: str
    """The name the room reads, e.g. ``P-384``."""
    bits: int
    p: int
    b: int

    def contains(self, x: int, y: int) -> bool:
        """Whether the affine point (x, y) lies on this curve (never the point at infinity)."""
        if not (0 <= x < self.p and 0 <= y < self.p):
            return False
        return (y * y - (x * x * x - 3 * x + self.b)) % self.p == 0


ALLOWED_CURVES: Final[dict[str, NamedCurve]] = {
    "secp256r1": NamedCurve(
        "P-256",
        256,
        p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    ),
    "secp384r1": NamedCurve(
        "P-384",
        384,
        p=(1 << 384) - (1 << 128) - (1 << 96) + (1 << 32) - 1,
        b=0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A_C656398D8A2ED19D2A85C8EDD3EC2AEF,
    ),
    "secp521r1": NamedCurve(
        "P-521",
        521,
        p=(1 << 521) - 1,
        b=0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF1_09E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
    ),
}
"""The curves BR 6.1.5 allows, by the name cryptography gives them (all have cofactor 1, so a
point on the curve is in the prime-order group)."""


def _primes_below(limit: int) -> tuple[int, ...]:
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(limit - 1) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, limit, i)))
    return tuple(i for i in range(limit) if sieve[i])


SMALL_PRIMES: Final = _primes_below(SMALL_PRIME_LIMIT)


def check_public_key(key: PublicKeyTypes, where: str) -> str:
    """Return a one-line description of an acceptable key, or raise PkiError naming ``where``.

    Accepted: RSA (BR 6.1.5/6.1.6 sizes and exponent, no small factor, not Fermat-factorable),
    EC on P-256, P-384 or P-521 with the point on the curve, and Ed25519.
    """
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return check_rsa_numbers(numbers.n, numbers.e, where)
    if isinstance(key, ec.EllipticCurvePublicKey):
        point = key.public_numbers()
        return check_ec_point(key.curve.name, point.x, point.y, where)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    raise PkiError(
        f"{where}: {_key_type_name(key)} keys are not accepted (RSA, EC or Ed25519 only)."
    )


def check_rsa_numbers(n: int, e: int, where: str) -> str:
    """Check an RSA modulus and exponent (BR 6.1.5, 6.1.6); return "RSA 4096-bit, e=65537"."""
    bits = n.bit_length()
    if bits < RSA_MIN_BITS:
        raise PkiError(
            f"{where}: the RSA modulus has {bits} bits; at least {RSA_MIN_BITS} are required "
            "(CA/B Forum BR 6.1.5)."
        )
    if bits % 8 != 0:
        raise PkiError(
            f"{where}: the RSA modulus has {bits} bits, not a multiple of 8 (CA/B Forum BR 6.1.5)."
        )
    if e % 2 == 0:
        raise PkiError(f"{where}: the RSA public exponent {e} is even (CA/B Forum BR 6.1.6).")
    if e < RSA_MIN_EXPONENT:
        raise PkiError(
            f"{where}: the RSA public exponent {e} is below {RSA_MIN_EXPONENT} "
            "(CA/B Forum BR 6.1.6)."
        )
    if e > RSA_MAX_EXPONENT:
        raise PkiError(
            f"{where}: the RSA public exponent is {e.bit_length()} bits long, above 2^256-1 "
            "(CA/B Forum BR 6.1.6)."
        )
    for prime in SMALL_PRIMES:
        if n % prime == 0:
            raise PkiError(
                f"{where}: the RSA modulus is divisible by the small prime {prime} "
                "(CA/B Forum BR 6.1.6)."
            )
    if fermat_factor(n, FERMAT_ITERATIONS) is not None:
        raise PkiError(
            f"{where}: the RSA modulus factors by Fermat's method (its two primes are too close "
            "together); the key is broken."
        )
    return f"RSA {bits}-bit, e={e}"


def fermat_factor(n: int, iterations: int) -> tuple[int, int] | None:
    """Try Fermat's method from ceil(sqrt(n)); return (p, q) with 1 < p <= q if it factors n."""
    if n < 4 or n % 2 == 0:
        return None
    a = math.isqrt(n)
    if a * a < n:
        a += 1
    for _ in range(iterations):
        b_squared = a * a - n
        b = math.isqrt(b_squared)
        if b * b == b_squared:
            p, q = a - b, a + b
            return (p, q) if p > 1 else None
        a += 1
    return None


def check_ec_point(curve_name: str, x: int, y: int, where: str) -> str:
    """Check the curve is allowed (BR 6.1.5) and (x, y) lies on it; return "EC P-384"."""
    curve = ALLOWED_CURVES.get(curve_name)
    if curve is None:
        raise PkiError(
            f"{where}: the EC curve {curve_name} is not accepted (P-256, P-384 or P-521 only, "
            "CA/B Forum BR 6.1.5)."
        )
    if not curve.contains(x, y):
        raise PkiError(
            f"{where}: the EC public point is not on the curve {curve.name}; the key is invalid "
            "(RFC 5480 2.2, SP 800-56A 5.6.2.3)."
        )
    return f"EC {curve.name}"


def _key_type_name(key: PublicKeyTypes) -> str:
    names: tuple[tuple[type, str], ...] = (
        (dsa.DSAPublicKey, "DSA"),
        (ed448.Ed448PublicKey, "Ed448"),
        (x25519.X25519PublicKey, "X25519"),
        (x448.X448PublicKey, "X448"),
    )
    for cls, name in names:
        if isinstance(key, cls):
            return name
    return type(key).__name__.removesuffix("PublicKey")
