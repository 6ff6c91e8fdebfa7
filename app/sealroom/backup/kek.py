"""The key-encryption key (KEK) of a CA key backup: made, identified by its check value, wiped."""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sealroom.backup.errors import BackupError
from sealroom.backup.randomness import RandomSource, mixed_random

KEK_BYTES: Final = 32
"""AES-256."""
KCV_BYTES: Final = 3
"""The key check value is the first 3 bytes (6 hex digits) of the encrypted zero block."""
_ZERO_BLOCK: Final = bytes(16)


def new_kek(hsm_random: RandomSource) -> bytearray:
    """A fresh 256-bit KEK from host randomness mixed with the HSM's RNG (``mixed_random``).

    The caller wipes it (``wipe``) once it is split and used. The intermediate ``bytes`` that
    ``mixed_random`` returns cannot be zeroed in Python; it is dropped at once.
    """
    return bytearray(mixed_random(KEK_BYTES, hsm_random))


def kek_check_value(kek: bytes | bytearray) -> str:
    """The KEK's key check value (KCV): AES-256-ECB(kek, 16 zero bytes), first 3 bytes, upper hex.

    The usual KCV of payment and HSM practice, so an auditor can recompute it with openssl
    (docs/backup-blob.md). It does not weaken the key: finding an AES-256 key from one known
    plaintext/ciphertext block is as hard as breaking AES-256, and the 24 bits shown leave about
    2^232 keys that fit; they only let someone test a guessed key, which the wrapped blob's own
    RFC 5649 integrity check already allows. The key wrap never encrypts the zero block on
    purpose (its first block starts with the A65959A6 integrity value, later ones are
    pseudo-random), so the value reveals nothing about the wrapped key either.
    """
    if len(kek) != KEK_BYTES:
        raise BackupError(
            f"A key-encryption key has {KEK_BYTES} bytes, not {len(kek)}; no check value made."
        )
    encryptor = Cipher(algorithms.AES(bytes(kek)), modes.ECB()).encryptor()  # noqa: S305 - KCV
    block = encryptor.update(_ZERO_BLOCK) + encryptor.finalize()
    return block[:KCV_BYTES].hex().upper()


def wipe(buf: bytearray) -> None:
    """Overwrite ``buf`` with zeros in place (as far as Python allows: copies cannot be reached)."""
    buf[:] = bytes(len(buf))
