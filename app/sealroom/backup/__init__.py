"""Key backup: SLIP-39 share sets for PINs and key-encryption keys, and the secrets they protect."""

from sealroom.backup.errors import BackupError, ShareRejected, SharesIncomplete
from sealroom.backup.pin import PIN_LENGTH, PIN_SECRET_BYTES, new_pin_secret, pin_from_secret
from sealroom.backup.randomness import RandomSource, mixed_random
from sealroom.backup.shares import (
    AcceptedShare,
    CustodianShare,
    ShareCollector,
    ShareSet,
    check_value_of,
    split_secret,
)

__all__ = [
    "PIN_LENGTH",
    "PIN_SECRET_BYTES",
    "AcceptedShare",
    "BackupError",
    "CustodianShare",
    "RandomSource",
    "ShareCollector",
    "ShareRejected",
    "ShareSet",
    "SharesIncomplete",
    "check_value_of",
    "mixed_random",
    "new_pin_secret",
    "pin_from_secret",
    "split_secret",
]
