"""Random bytes for secrets and share polynomials: host randomness mixed with the HSM's RNG."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from sealroom.backup.errors import BackupError

RandomSource = Callable[[int], bytes]
"""Returns the number of random bytes asked for (e.g. an HSM session's C_GenerateRandom)."""

MIX_TAG = b"sealroom/backup/random/v1\x00"
"""Domain separation for the mix (docs/shares.md, "Randomness")."""

SOURCE_BYTES = 32
"""Bytes drawn from each source for every mixed output (at most this many come out)."""


def mixed_random(length: int, hsm_random: RandomSource | None) -> bytes:
    """``length`` (1 to 32) random bytes: host randomness, mixed with ``hsm_random`` if given.

    With a second source the output is SHA-256(MIX_TAG || length || host || hsm), truncated to
    ``length``, where host and hsm are 32 bytes from ``secrets.token_bytes`` and from
    ``hsm_random``: the result is unpredictable if either source is. Without one it is
    ``secrets.token_bytes(length)``. An HSM answer of the wrong size or of 32 equal bytes is
    refused (fail closed).
    """
    if not 1 <= length <= SOURCE_BYTES:
        raise ValueError(f"mixed_random gives 1 to {SOURCE_BYTES} bytes, not {length}")
    if hsm_random is None:
        return secrets.token_bytes(length)
    hsm = require_random_bytes(hsm_random(SOURCE_BYTES), SOURCE_BYTES)
    host = secrets.token_bytes(SOURCE_BYTES)
    digest = hashlib.sha256(MIX_TAG + bytes([length]) + host + hsm).digest()
    return digest[:length]


def require_random_bytes(value: object, length: int) -> bytes:
    """``value`` as bytes if it looks like ``length`` random bytes; BackupError otherwise."""
    if not isinstance(value, bytes | bytearray):
        raise BackupError(
            f"The HSM's random number generator returned {type(value).__name__}, not bytes; "
            "nothing was generated. Check the token and try again."
        )
    if len(value) != length:
        raise BackupError(
            f"The HSM's random number generator returned {len(value)} bytes where {length} "
            "were asked for; nothing was generated. Check the token and try again."
        )
    if len(set(value)) == 1:
        raise BackupError(
            f"The HSM's random number generator returned {length} identical bytes; it is not "
            "working, and nothing was generated. Stop and check the token."
        )
    return bytes(value)
