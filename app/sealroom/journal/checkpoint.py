"""Signed checkpoints: the ceremony-log key (Ed25519, in memory only) and the bytes it signs."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sealroom.ceremony.fingerprint import Fingerprint, fingerprint_from_json, sha256_fingerprint
from sealroom.ceremony.ports import Json

CHECKPOINT_DOMAIN = b"sealroom-journal-checkpoint/v1\n"
"""The first bytes of every signed checkpoint message (domain separation)."""
LOG_KEY_ALGORITHM = "ed25519"
LOG_KEY_FIELDS = frozenset({"algorithm", "fingerprint", "public_key_der_b64"})
CHECKPOINT_FIELDS = frozenset(
    {"key_fingerprint", "reason", "signature_b64", "through_seq", "through_sha256"}
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ED25519_SIGNATURE_LENGTH = 64


def checkpoint_message(through_sha256: str, through_seq: int) -> bytes:
    """The bytes a checkpoint signs: domain line, head hash (ASCII hex), LF, seq in decimal."""
    if not _HEX64.match(through_sha256):
        raise ValueError("through_sha256 must be 64 lower-case hex digits")
    if type(through_seq) is not int or through_seq < 1:
        raise ValueError("through_seq must be a positive integer")
    return CHECKPOINT_DOMAIN + through_sha256.encode("ascii") + b"\n" + str(through_seq).encode()


class CeremonyLogKey:
    """The ceremony-log key of one journal session: an Ed25519 key made on the workstation.

    It is not a CA key and never touches the HSM. The private part lives only in this object's
    memory: it is never written, journaled, printed or pickled; a resumed session makes a new key.
    """

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Use :meth:`generate`."""
        self._private_key = private_key
        self.public_key_der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.fingerprint: Fingerprint = sha256_fingerprint(self.public_key_der)

    @classmethod
    def generate(cls) -> CeremonyLogKey:
        """A fresh key from the operating system's random number generator."""
        return cls(Ed25519PrivateKey.generate())

    def sign_checkpoint(self, through_sha256: str, through_seq: int) -> bytes:
        """Sign :func:`checkpoint_message` for the head (``through_seq``, ``through_sha256``)."""
        return self._private_key.sign(checkpoint_message(through_sha256, through_seq))

    def log_key_data(self) -> dict[str, Json]:
        """The data of the ``journal.log-key`` entry that publishes this key."""
        return {
            "algorithm": LOG_KEY_ALGORITHM,
            "fingerprint": dict(self.fingerprint.to_json()),
            "public_key_der_b64": base64.b64encode(self.public_key_der).decode("ascii"),
        }

    def __repr__(self) -> str:
        return f"CeremonyLogKey(fingerprint={self.fingerprint.hex})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("the ceremony-log key is never serialised")


def log_key_problem(data: Mapping[str, Json]) -> tuple[bytes, str] | str:
    """The (DER public key, fingerprint hex) a ``journal.log-key`` entry publishes, or a problem."""
    if set(data) != LOG_KEY_FIELDS:
        return f"journal.log-key data must have exactly the fields {_names(LOG_KEY_FIELDS)}"
    if data["algorithm"] != LOG_KEY_ALGORITHM:
        return f"journal.log-key algorithm {data['algorithm']!r} is not '{LOG_KEY_ALGORITHM}'"
    der = _strict_b64(data["public_key_der_b64"])
    if der is None:
        return "journal.log-key public_key_der_b64 is not canonical base64"
    try:
        key = serialization.load_der_public_key(der)
    except ValueError:
        return "journal.log-key public_key_der_b64 is not a DER SubjectPublicKeyInfo"
    if not isinstance(key, Ed25519PublicKey):
        return "journal.log-key public key is not an Ed25519 key"
    try:
        stated = fingerprint_from_json(data["fingerprint"])
    except ValueError as exc:
        return f"journal.log-key fingerprint: {exc}"
    actual = sha256_fingerprint(der)
    if stated != actual:
        return (
            f"journal.log-key fingerprint {stated.hex} is not the SHA-256 of the public key "
            f"({actual.hex})"
        )
    return der, actual.hex


def checkpoint_problem(
    data: Mapping[str, Json], *, seq: int, prev: str, key_der: bytes, key_hex: str
) -> str | None:
    """Why a ``journal.checkpoint`` at ``seq`` (``prev`` before it) is not valid; None if it is."""
    if set(data) != CHECKPOINT_FIELDS:
        return f"journal.checkpoint data must have exactly the fields {_names(CHECKPOINT_FIELDS)}"
    if not isinstance(data["reason"], str):
        return "journal.checkpoint reason is not a string"
    if data["through_seq"] != seq - 1 or type(data["through_seq"]) is not int:
        return (
            f"checkpoint through_seq {data['through_seq']!r} is not {seq - 1}, the entry just "
            "before it"
        )
    if data["through_sha256"] != prev:
        return (
            f"checkpoint through_sha256 {data['through_sha256']!r} is not the SHA-256 of the "
            f"entry just before it ({prev})"
        )
    if data["key_fingerprint"] != key_hex:
        return (
            f"checkpoint key_fingerprint {data['key_fingerprint']!r} is not the fingerprint of "
            f"the journal's current ceremony-log key ({key_hex})"
        )
    signature = _strict_b64(data["signature_b64"])
    if signature is None or len(signature) != _ED25519_SIGNATURE_LENGTH:
        return "checkpoint signature_b64 is not 64 bytes of canonical base64"
    public_key = serialization.load_der_public_key(key_der)
    if not isinstance(public_key, Ed25519PublicKey):  # pragma: no cover - log_key_problem
        return "the journal's ceremony-log key is not an Ed25519 key"
    try:
        public_key.verify(signature, checkpoint_message(prev, seq - 1))
    except InvalidSignature:
        return (
            f"checkpoint signature does not verify under the ceremony-log key {key_hex}: the "
            "signature or the log key was replaced, or an entry it covers was changed"
        )
    return None


def _strict_b64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    if base64.b64encode(raw).decode("ascii") != value:
        return None
    return raw


def _names(fields: frozenset[str]) -> str:
    return ", ".join(sorted(fields))
