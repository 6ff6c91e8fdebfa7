"""PKCS#11 PINs made from random secrets, so that a PIN can be split k-of-n among custodians."""

from __future__ import annotations

import base64

from sealroom.backup.errors import BackupError
from sealroom.backup.randomness import RandomSource, mixed_random

PIN_SECRET_BYTES = 16
"""A PIN secret is 128 bits; its SLIP-39 shares have 20 words."""

PIN_LENGTH = 26
"""Characters in a PIN: 128 bits in base32 (RFC 4648) without padding."""


def new_pin_secret(random: RandomSource) -> bytearray:
    """A fresh 16-byte PIN secret from host randomness mixed with ``random`` (the HSM's RNG).

    See ``mixed_random``: SHA-256 over a tag, 32 host bytes and 32 HSM bytes, truncated to 16.
    The caller wipes the bytearray when the PIN has been set and the secret split.
    """
    return bytearray(mixed_random(PIN_SECRET_BYTES, random))


def pin_from_secret(secret: bytes | bytearray) -> str:
    """The PKCS#11 PIN for a 16-byte secret: upper-case base32 (RFC 4648), no padding, 26 chars.

    Deterministic, so the PIN is found again from the combined shares. 26 ASCII characters
    are within SoftHSM's 4 to 255 byte PIN rule; python-pkcs11 wants a ``str``.
    """
    if len(secret) != PIN_SECRET_BYTES:
        raise BackupError(
            f"A PIN secret is {PIN_SECRET_BYTES} bytes; this one has {len(secret)}. "
            "It is not the secret of a PIN share set."
        )
    return base64.b32encode(bytes(secret)).decode("ascii").rstrip("=")
