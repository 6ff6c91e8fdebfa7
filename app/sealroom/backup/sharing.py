"""The SecretSharing port: SLIP-39 split and combine, and PINs from random secrets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sealroom.backup.pin import new_pin_secret, pin_from_secret
from sealroom.backup.shares import ShareCollector, ShareSet, split_secret

if TYPE_CHECKING:
    from sealroom.ceremony.ports import SecretSharing


class Slip39Sharing:
    """m-of-n activation (and, later, key-encryption keys) with SLIP-39 shares."""

    def new_secret(self, hsm_random: Callable[[int], bytes]) -> bytearray:
        """16 random bytes: host randomness mixed with the HSM's RNG."""
        return new_pin_secret(hsm_random)

    def pin(self, secret: bytes | bytearray) -> str:
        """The PKCS#11 PIN derived from a 16-byte secret (base32, 26 characters)."""
        return pin_from_secret(secret)

    def split(
        self,
        secret: bytes | bytearray,
        threshold: int,
        custodians: Sequence[str],
        hsm_random: Callable[[int], bytes],
    ) -> ShareSet:
        """Split ``secret`` threshold-of-n among ``custodians`` (checked before it returns)."""
        return split_secret(secret, threshold, custodians, extra_randomness=hsm_random)

    def collector(
        self,
        threshold: int,
        identifier: int | None,
        check_value: str | None,
        custodians: Sequence[str],
    ) -> ShareCollector:
        """A collector for the shares of one set, custodians in member order."""
        return ShareCollector(threshold, identifier, check_value, custodians)


if TYPE_CHECKING:

    def _implements_the_port(sharing: Slip39Sharing) -> SecretSharing:
        return sharing  # mypy proves Slip39Sharing satisfies the SecretSharing Protocol
