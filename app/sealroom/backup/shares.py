"""SLIP-39 share sets: split a secret k-of-n among named custodians, collect shares, combine."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from shamir_mnemonic import EncryptedMasterSecret, MnemonicError, Share, rs1024, shamir
from shamir_mnemonic.constants import (
    CUSTOMIZATION_STRING_EXTENDABLE,
    CUSTOMIZATION_STRING_ORIG,
    ID_LENGTH_BITS,
    MAX_SHARE_COUNT,
)

from sealroom.backup.errors import BackupError, ShareRejected, SharesIncomplete
from sealroom.backup.randomness import RandomSource, mixed_random
from sealroom.backup.words import WORDS, parse_typed, positions_phrase

WORDS_FOR_SECRET = {16: 20, 32: 33}
"""Secret length in bytes → words in each share (128-bit: 20, 256-bit: 33)."""

PASSPHRASE = b""
"""No SLIP-39 passphrase: a wrong one would silently give another secret (docs/shares.md)."""

EXTENDABLE = True
"""SLIP-39 extendable-backup flag, as shamir-mnemonic sets it by default."""

ITERATION_EXPONENT = 1
"""SLIP-39 iteration exponent (20 000 PBKDF2 rounds in all), the library's default."""

CHECK_VALUE_TAG = b"sealroom/backup/check-value/v1\x00"
"""Domain separation for the check value (docs/shares.md, "Check value")."""

CHECK_VALUE_BYTES = 3
"""A check value is the first 3 bytes of the digest, shown as 6 lower-case hex digits."""

_CHECK_VALUE = re.compile(r"^[0-9a-f]{6}$")
_LIBRARY_RANDOM_LOCK = threading.Lock()


def check_value_of(secret: bytes | bytearray) -> str:
    """SHA-256(CHECK_VALUE_TAG || secret), first 3 bytes, as 6 lower-case hex digits.

    It tells two secrets apart (a share-set mix-up) and reveals nothing useful about a 128 or
    256-bit random secret: 24 bits of a one-way hash.
    """
    return hashlib.sha256(CHECK_VALUE_TAG + bytes(secret)).digest()[:CHECK_VALUE_BYTES].hex()


@dataclass(frozen=True)
class CustodianShare:
    """One custodian's share, as printed on their sheet: "share x of n" and its words.

    The words are secret: ``repr`` and ``str`` show how many there are, never which.
    """

    custodian: str
    member_index: int
    """1-based, as printed ("share 2 of 3")."""
    member_count: int
    words: tuple[str, ...] = field(repr=False)

    @property
    def label(self) -> str:
        return f"share {self.member_index} of {self.member_count}"

    def __repr__(self) -> str:
        return (
            f"CustodianShare(custodian={self.custodian!r}, {self.label}, "
            f"words=<{len(self.words)} words, hidden>)"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class ShareSet:
    """A secret split k-of-n with SLIP-39 (one group, no passphrase), one share per custodian.

    Everything here but the shares' words is public and may be journaled: the set identifier,
    the threshold, the custodians and their member indices, and the secret's check value.
    """

    identifier: int
    """The SLIP-39 set identifier (15 bits), common to all shares of the set; not secret."""
    threshold: int
    check_value: str
    """``check_value_of(secret)``: 6 hex digits."""
    shares: tuple[CustodianShare, ...] = field(repr=False)

    @property
    def custodians(self) -> tuple[str, ...]:
        """Custodians in member order: the order a ShareCollector for this set expects."""
        return tuple(s.custodian for s in self.shares)

    @property
    def member_count(self) -> int:
        return len(self.shares)

    @property
    def word_count(self) -> int:
        return len(self.shares[0].words)

    def public_facts(self) -> dict[str, Any]:
        """What may be journaled and printed about this set (never a word)."""
        return {
            "identifier": self.identifier,
            "threshold": self.threshold,
            "member_count": self.member_count,
            "word_count": self.word_count,
            "check_value": self.check_value,
            "custodians": [
                {"custodian": s.custodian, "member_index": s.member_index} for s in self.shares
            ],
        }

    def __repr__(self) -> str:
        return (
            f"ShareSet(identifier={self.identifier}, {self.threshold} of {self.member_count}, "
            f"check_value={self.check_value!r}, custodians={self.custodians!r}, "
            f"words=<{self.member_count} shares of {self.word_count} words, hidden>)"
        )

    __str__ = __repr__


def require_quorum(threshold: int, custodians: Sequence[str]) -> tuple[str, ...]:
    """The custodians, as a tuple, if ``threshold`` of them can form a SLIP-39 set."""
    names = tuple(custodians)
    if not names:
        raise BackupError("A share set needs at least one custodian; none was given.")
    if len(names) > MAX_SHARE_COUNT:
        raise BackupError(
            f"SLIP-39 allows at most {MAX_SHARE_COUNT} shares in a set; "
            f"{len(names)} custodians were given."
        )
    for position, name in enumerate(names, start=1):
        if not isinstance(name, str) or not name.strip():
            raise BackupError(f"Custodian {position} of the share set has no name.")
        if names.index(name) != position - 1:
            raise BackupError(
                f"{name} is named twice among the custodians; each custodian holds one share."
            )
    if not 1 <= threshold <= len(names):
        raise BackupError(
            f"The threshold must be between 1 and the number of custodians ({len(names)}); "
            f"it is {threshold}."
        )
    if threshold == 1 and len(names) > 1:
        raise BackupError(
            f"A threshold of 1 with {len(names)} custodians would give each of them the whole "
            "secret; SLIP-39 allows a threshold of 1 only with a single custodian (1 of 1)."
        )
    return names


@contextmanager
def _library_random(source: Callable[[int], bytes]) -> Iterator[None]:
    """Make shamir-mnemonic draw its polynomial coefficients from ``source``, for this block.

    The library reads the module global ``shamir.RANDOM_BYTES`` (documented there as the hook
    to override); one lock keeps two splits from seeing each other's source.
    """
    with _LIBRARY_RANDOM_LOCK:
        saved = shamir.RANDOM_BYTES
        shamir.RANDOM_BYTES = source
        try:
            yield
        finally:
            shamir.RANDOM_BYTES = saved


def split_secret(
    secret: bytes | bytearray,
    threshold: int,
    custodians: Sequence[str],
    *,
    extra_randomness: RandomSource | None = None,
) -> ShareSet:
    """Split ``secret`` (16 or 32 bytes) threshold-of-len(custodians) with SLIP-39.

    One group, no passphrase; custodian i (from 0) gets member index i + 1. The identifier and
    every random polynomial coefficient come from ``mixed_random`` (host randomness, mixed
    with ``extra_randomness``, the HSM's RNG, when given). Before returning, every share is
    decoded from its words and the set is combined from ``len(custodians)`` different
    k-subsets (every share takes part); each must give back the secret.
    """
    names = require_quorum(threshold, custodians)
    if len(secret) not in WORDS_FOR_SECRET:
        raise BackupError(
            "A share set protects a 16-byte (128-bit) or 32-byte (256-bit) secret; "
            f"this one has {len(secret)} bytes."
        )

    def draw(length: int) -> bytes:
        return b"".join(
            mixed_random(min(32, length - done), extra_randomness) for done in range(0, length, 32)
        )

    identifier = int.from_bytes(draw(2), "big") & ((1 << ID_LENGTH_BITS) - 1)
    ems = EncryptedMasterSecret.from_master_secret(
        bytes(secret), PASSPHRASE, identifier, EXTENDABLE, ITERATION_EXPONENT
    )
    with _library_random(draw):
        groups = shamir.split_ems(1, [(threshold, len(names))], ems)
    members = sorted(groups[0], key=lambda share: int(share.index))
    share_set = ShareSet(
        identifier=identifier,
        threshold=threshold,
        check_value=check_value_of(secret),
        shares=tuple(
            CustodianShare(
                custodian=name,
                member_index=int(share.index) + 1,
                member_count=len(names),
                words=tuple(str(w) for w in share.words()),
            )
            for name, share in zip(names, members, strict=True)
        ),
    )
    _verify_share_set(share_set, members, bytes(secret))
    return share_set


def _verify_share_set(share_set: ShareSet, members: Sequence[Any], secret: bytes) -> None:
    """Refuse a set whose words do not decode, or whose k-subsets do not combine to the secret."""
    problem: str | None = None
    n, k = share_set.member_count, share_set.threshold
    try:
        for printed, share in zip(share_set.shares, members, strict=True):
            if Share.from_mnemonic(" ".join(printed.words)) != share:
                problem = f"{printed.label} does not decode from its words"
                break
        for start in range(n if problem is None else 0):
            subset = [share_set.shares[(start + i) % n] for i in range(k)]
            combined = shamir.combine_mnemonics([" ".join(s.words) for s in subset], PASSPHRASE)
            if not secrets.compare_digest(combined, secret):
                problem = f"shares {start + 1} to {(start + k - 1) % n + 1} combine wrongly"
                break
    except MnemonicError:
        problem = "the library refused its own shares"
    if problem is not None:
        raise BackupError(
            f"The share set failed its own check after splitting ({problem}); nothing may be "
            "printed from it. This is a software fault: stop and report it."
        )


@dataclass(frozen=True)
class AcceptedShare:
    """A share the collector accepted: who entered it and which it is; no secret part."""

    custodian: str
    member_index: int
    member_count: int
    identifier: int

    @property
    def label(self) -> str:
        return f"share {self.member_index} of {self.member_count}"


@dataclass
class _Held:
    """An accepted share's header and value; the value is a bytearray so that it can be zeroed."""

    custodian: str
    member_index: int
    identifier: int
    value: bytearray = field(repr=False)


class ShareCollector:
    """Takes custodians' shares one at a time, checks each, and combines them when k are in.

    ``custodians`` must be in member order (``ShareSet.custodians``): custodian i (from 0)
    holds share i + 1, and a share typed by another custodian is refused. ``identifier``,
    ``check_value`` and ``words`` come from the journal of the split; when None, the first
    accepted share sets the identifier and word count, and no check value is compared.

    Not thread-safe: one collector is fed by one screen. Use it as a context manager, or call
    ``wipe()``, so that held share material is zeroed however the activation ends.
    """

    def __init__(
        self,
        threshold: int,
        identifier: int | None,
        check_value: str | None,
        custodians: Sequence[str],
        *,
        words: int | None = None,
    ) -> None:
        self.custodians = require_quorum(threshold, custodians)
        self.threshold = threshold
        if identifier is not None and not 0 <= identifier < (1 << ID_LENGTH_BITS):
            raise BackupError(
                f"A SLIP-39 set identifier is between 0 and {(1 << ID_LENGTH_BITS) - 1}; "
                f"{identifier} is not one."
            )
        if check_value is not None and not _CHECK_VALUE.match(check_value.lower()):
            raise BackupError(
                f"A share set's check value is 6 hex digits; {check_value!r} is not one."
            )
        if words is not None and words not in WORDS_FOR_SECRET.values():
            raise BackupError(
                f"A share has 20 or 33 words (128 or 256-bit secret); {words} is neither."
            )
        self.identifier = identifier
        self.check_value = None if check_value is None else check_value.lower()
        self.words = words
        self._accepted: list[AcceptedShare] = []
        self._held: list[_Held] = []
        self._wiped = False

    # State ------------------------------------------------------------------------------

    @property
    def accepted(self) -> tuple[AcceptedShare, ...]:
        """Shares accepted so far, in entry order (kept after ``wipe()`` as the record)."""
        return tuple(self._accepted)

    @property
    def needed(self) -> int:
        """How many more shares must be entered before ``combine()``."""
        return max(self.threshold - len(self._accepted), 0)

    @property
    def complete(self) -> bool:
        """True when k shares are held and not yet wiped."""
        return not self._wiped and len(self._held) >= self.threshold

    @property
    def wiped(self) -> bool:
        return self._wiped

    def __repr__(self) -> str:
        entered = ", ".join(f"{a.custodian} ({a.label})" for a in self._accepted) or "none"
        state = "wiped" if self._wiped else f"{self.needed} more needed"
        return (
            f"ShareCollector({self.threshold} of {len(self.custodians)}, "
            f"identifier={self.identifier}, check_value={self.check_value!r}, "
            f"accepted: {entered}; {state})"
        )

    __str__ = __repr__

    def __enter__(self) -> ShareCollector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.wipe()

    # Entry ------------------------------------------------------------------------------

    def add(self, custodian: str, typed: str) -> AcceptedShare:
        """Check the share ``custodian`` typed and hold it; ShareRejected says why not.

        ``typed`` is the words as typed: separated by spaces or newlines, any case, each a
        whole SLIP-39 word or its first four (or more) letters.
        """
        problem = self._problem(custodian, typed)
        if isinstance(problem, str):
            raise ShareRejected(f"Share from {custodian}: {problem}.")
        self._held.append(problem)
        accepted = AcceptedShare(
            custodian=custodian,
            member_index=problem.member_index,
            member_count=len(self.custodians),
            identifier=problem.identifier,
        )
        self._accepted.append(accepted)
        return accepted

    def _problem(self, custodian: str, typed: str) -> str | _Held:
        """Why the entry is refused (a phrase without any word), or the share to hold."""
        n = len(self.custodians)
        if self._wiped:
            return "this entry has been closed and its shares wiped; start the activation again"
        if custodian not in self.custodians:
            return "not one of the custodians of this set (" + ", ".join(self.custodians) + ")"
        if any(a.custodian == custodian for a in self._accepted):
            return "this custodian has already entered a share"
        if len(self._held) >= self.threshold:
            return f"{self.threshold} shares are already in; no more are needed"

        indices, bad = parse_typed(typed)
        count = len(indices) + len(bad)
        if count == 0:
            return "no words were entered"
        if bad:
            verb = "is not a SLIP-39 word" if len(bad) == 1 else "are not SLIP-39 words"
            pronoun = "it" if len(bad) == 1 else "them"
            return f"{positions_phrase(bad)} {verb}; check {pronoun} against the sheet"
        expected = self.words
        if expected is not None and count != expected:
            return f"the share has {count} words; this set's shares have {expected}"
        if count not in WORDS_FOR_SECRET.values():
            return (
                f"the share has {count} words; a share has 20 words (128-bit secret) "
                "or 33 (256-bit secret): a word is missing or repeated"
            )
        id_exp = indices[0] * 1024 + indices[1]
        customization = (
            CUSTOMIZATION_STRING_EXTENDABLE if (id_exp >> 4) & 1 else CUSTOMIZATION_STRING_ORIG
        )
        if not rs1024.verify_checksum(indices, customization):
            return (
                f"the checksum does not match: a word is mistyped (words 1 to {count} look "
                "like SLIP-39 words, but at least one is wrong); check each against the sheet"
            )
        share = _decode(indices)
        if share is None:
            return (
                "the words do not decode as a share (their padding bits are wrong): "
                "a word is mistyped; check each against the sheet"
            )
        if share.group_count != 1 or share.group_threshold != 1 or share.group_index != 0:
            return (
                "this share belongs to a SLIP-39 backup with several groups, "
                "not to a Sealroom share set"
            )
        if self.identifier is not None and share.identifier != self.identifier:
            return (
                "this share belongs to another share set "
                f"(set identifier {share.identifier}, expected {self.identifier})"
            )
        if share.member_threshold != self.threshold:
            return (
                f"the share says {share.member_threshold} shares are needed, but this set "
                f"needs {self.threshold}: it belongs to another share set"
            )
        if share.extendable != EXTENDABLE or share.iteration_exponent != ITERATION_EXPONENT:
            return (
                "the share's header (extendable flag, iteration exponent) is not the one "
                "Sealroom writes: it belongs to another share set"
            )
        member = int(share.index) + 1
        if member > n:
            return f"this is share {member}, but this set has {n}: it belongs to another share set"
        for held in self._held:
            if held.member_index == member:
                if secrets.compare_digest(bytes(held.value), share.value):
                    return f"this share repeats {held.custodian}'s share (share {member} of {n})"
                return (
                    f"this share has the same number (share {member} of {n}) as "
                    f"{held.custodian}'s but other words: one of the two belongs to "
                    "another share set"
                )
        own = self.custodians.index(custodian) + 1
        if member != own:
            return (
                f"this is share {member} of {n}, printed for {self.custodians[member - 1]}; "
                f"{custodian} holds share {own} of {n}"
            )
        if self.identifier is None:
            self.identifier = int(share.identifier)
        if self.words is None:
            self.words = count
        return _Held(
            custodian=custodian,
            member_index=member,
            identifier=self.identifier,
            value=bytearray(share.value),
        )

    # Result -----------------------------------------------------------------------------

    def combine(self) -> bytearray:
        """The secret, once k shares are in; checked against the check value. Wipes the shares.

        The caller owns the returned bytearray and zeroes it when done. Whatever the outcome,
        the held shares are wiped: after a refusal the activation starts again.
        """
        if self._wiped:
            raise SharesIncomplete(
                "The shares of this entry have been wiped; start the activation again."
            )
        if not self.complete:
            names = ", ".join(a.custodian for a in self._accepted) or "nobody yet"
            raise SharesIncomplete(
                f"{self.threshold} of {len(self.custodians)} shares are needed and "
                f"{len(self._accepted)} entered ({names}): {self.needed} more custodian"
                f"{'s' if self.needed > 1 else ''} must enter a share before the secret can "
                "be combined."
            )
        secret: bytearray | None = None
        try:
            secret = self._recover()
        finally:
            self.wipe()
        if secret is None:
            raise ShareRejected(
                "The shares entered do not combine into a secret (the SLIP-39 digest does not "
                "match): they come from different share sets that share an identifier. Nothing "
                "was activated; start again with the right sheets."
            )
        if self.check_value is not None:
            found = check_value_of(secret)
            if found != self.check_value:
                secret[:] = bytes(len(secret))
                raise ShareRejected(
                    f"The combined secret's check value is {found}, not {self.check_value} as "
                    "recorded for this share set: these shares belong to another share set. "
                    "Nothing was activated; start again with the right sheets."
                )
        return secret

    def _recover(self) -> bytearray | None:
        """Combine the held shares with shamir-mnemonic; None if the library refuses them."""
        group = shamir.ShareGroup()
        try:
            for held in self._held:
                group.add(
                    Share(
                        self.identifier,
                        EXTENDABLE,
                        ITERATION_EXPONENT,
                        0,
                        1,
                        1,
                        held.member_index - 1,
                        self.threshold,
                        bytes(held.value),
                    )
                )
            ems = shamir.recover_ems({0: group.get_minimal_group()})
            return bytearray(ems.decrypt(PASSPHRASE))
        except MnemonicError:
            return None

    def wipe(self) -> None:
        """Zero every held share value and close the entry (see docs/shares.md for the limits)."""
        for held in self._held:
            held.value[:] = bytes(len(held.value))
        self._held.clear()
        self._wiped = True


def _decode(indices: Sequence[int]) -> Any:
    """The library's Share for these word indices, or None if it refuses them.

    The library's messages quote words, so they are dropped here, outside the except block
    (no exception context carries them on).
    """
    share: Any = None
    try:
        share = Share.from_mnemonic(" ".join(WORDS[i] for i in indices))
    except MnemonicError:
        share = None
    return share
