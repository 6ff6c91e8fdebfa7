"""Canonical JSON encoding of journal entries: the exact bytes that are hashed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sealroom.ceremony.ports import Json
from sealroom.errors import JournalError

# Integers outside this range are refused so that any JSON parser (including ones that hold
# numbers as IEEE doubles) reads every value exactly (RFC 7493, I-JSON, section 2.2).
MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32


class CanonicalFormError(JournalError):
    """A value cannot be canonically encoded, or bytes are not a canonical encoding."""


def canonical_bytes(value: Json) -> bytes:
    """Encode ``value`` canonically: sorted keys, no whitespace, UTF-8, no floats.

    Accepts ``None``, ``bool``, ``int`` (within +-(2**53 - 1)), ``str`` (valid Unicode, no lone
    surrogates), sequences (lists, tuples) and mappings with ``str`` keys. Anything else raises
    CanonicalFormError naming where in the value the problem is.
    """
    plain = _plain(value, "$", 0)
    text = json.dumps(
        plain,
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate; _plain refuses these first
        raise CanonicalFormError(f"a string is not valid Unicode ({exc.reason})") from exc


def parse_canonical(line: bytes) -> Any:
    """Parse one line (without its newline) and require it to be canonically encoded.

    Raises CanonicalFormError with the reason: not UTF-8, not JSON, a float or NaN, a duplicate
    key, or valid JSON that is not in canonical form.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalFormError(f"not valid UTF-8 at byte {exc.start}") from exc
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
        )
    except CanonicalFormError:
        raise
    except ValueError as exc:
        raise CanonicalFormError(f"not valid JSON ({exc})") from exc
    try:
        again = canonical_bytes(value)
    except CanonicalFormError as exc:
        raise CanonicalFormError(f"holds a value outside the canonical form: {exc}") from exc
    if again != line:
        raise CanonicalFormError(
            "valid JSON but not in canonical encoding (keys must be sorted, without spaces, "
            "strings escaped only where required)"
        )
    return value


def _plain(value: object, where: str, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise CanonicalFormError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if type(value) is not int:
            raise CanonicalFormError(f"{where}: {type(value).__name__} is not a plain integer")
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalFormError(f"{where}: integer {value} is outside +-(2**53 - 1)")
        return value
    if isinstance(value, float):
        raise CanonicalFormError(f"{where}: floating-point numbers are not allowed")
    if isinstance(value, str):
        _require_scalar_values(value, where)
        return value
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalFormError(f"{where}: object key {key!r} is not a string")
            _require_scalar_values(key, f"{where} key")
            out[key] = _plain(item, f"{where}.{key}", depth + 1)
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_plain(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise CanonicalFormError(f"{where}: {type(value).__name__} cannot be put in the journal")


def _require_scalar_values(text: str, where: str) -> None:
    for index, char in enumerate(text):
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise CanonicalFormError(
                f"{where}: lone surrogate U+{ord(char):04X} at index {index} is not valid Unicode"
            )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in pairs:
        if key in out:
            raise CanonicalFormError(f"duplicate object key {key!r}")
        out[key] = item
    return out


def _refuse_float(text: str) -> None:
    raise CanonicalFormError(f"floating-point number {text} is not allowed")


def _refuse_constant(text: str) -> None:
    raise CanonicalFormError(f"{text} is not allowed")
