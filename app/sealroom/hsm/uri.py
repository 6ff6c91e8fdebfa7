"""Which token and key to use: a label, or an RFC 7512 ``pkcs11:`` URI naming them."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Final
from urllib.parse import unquote, unquote_to_bytes

from sealroom.errors import HsmError

PKCS11_URI_SCHEME: Final = "pkcs11:"

# RFC 7512 section 2.3: the token attributes of a path, and the field each one selects on.
_TOKEN_ATTRIBUTES: Final[dict[str, str]] = {
    "token": "label",
    "serial": "serial",
    "manufacturer": "manufacturer",
    "model": "model",
}
# RFC 7512 section 2.3: the object attributes Sealroom uses to name a key.
_OBJECT_ATTRIBUTES: Final[dict[str, str]] = {"object": "label", "id": "cka_id", "type": "type"}
# pk11-pchar: unreserved, path specials, or a percent-encoded octet.
_PCHAR_VALUE: Final = re.compile(r"(?:[A-Za-z0-9\-._~:\[\]@!$'()*+,=&]|%[0-9A-Fa-f]{2})*")


@dataclass(frozen=True)
class TokenSelector:
    """The token attributes a token must match; ``None`` matches anything."""

    label: str | None = None
    serial: str | None = None
    manufacturer: str | None = None
    model: str | None = None

    def matches(self, label: str, serial: str, manufacturer: str, model: str) -> bool:
        """Does a token with these (already decoded and trimmed) fields match?"""
        candidate = TokenSelector(label, serial, manufacturer, model)
        return all(
            getattr(self, item.name) in (None, getattr(candidate, item.name))
            for item in fields(self)
        )

    def describe(self) -> str:
        """Words for an operator message, e.g. ``labelled 'root-r1' with serial '1a2b'``."""
        parts = [f"labelled '{self.label}'"] if self.label is not None else []
        parts += [
            f"with {item.name} '{getattr(self, item.name)}'"
            for item in fields(self)
            if item.name != "label" and getattr(self, item.name) is not None
        ]
        return " ".join(parts)


def token_selector(reference: str) -> TokenSelector:
    """Parse a token label or a ``pkcs11:`` URI (RFC 7512) into a selector.

    Only the token attributes ``token``, ``serial``, ``manufacturer`` and ``model`` are accepted,
    each at most once and percent-decoded as UTF-8. A URI with a query (``?...``) is refused: its
    only use here would be ``pin-value``, and a PIN never travels in a URI. Error messages never
    quote the query.
    """
    if not reference.startswith(PKCS11_URI_SCHEME):
        if not reference.strip():
            raise HsmError("No token was named: give the token's label or a pkcs11: URI.")
        return TokenSelector(label=reference)
    raw = _path_attributes(reference, "token", _TOKEN_ATTRIBUTES, "does not select a token")
    values = {_TOKEN_ATTRIBUTES[name]: _text(name, value, "token") for name, value in raw.items()}
    if not values:
        raise HsmError(
            "The token URI names no token attribute; give at least token=<label> or "
            "serial=<serial>."
        )
    return TokenSelector(**values)


@dataclass(frozen=True)
class KeySelector:
    """A private key named by an RFC 7512 URI: its label and/or CKA_ID, and optionally its token."""

    label: str | None
    cka_id: bytes | None
    token: TokenSelector | None
    """The token attributes the URI gave, if any (checked against the token that is open)."""

    def describe(self) -> str:
        """Words for an operator message, e.g. ``labelled 'root-r1' with CKA_ID 01ab``."""
        parts = [f"labelled '{self.label}'"] if self.label is not None else []
        if self.cka_id is not None:
            parts.append(f"with CKA_ID {self.cka_id.hex() or '(empty)'}")
        return " ".join(parts)


def key_selector(uri: str) -> KeySelector:
    """Parse an RFC 7512 ``pkcs11:`` URI naming a private key.

    Path attributes: ``object`` (the label, UTF-8), ``id`` (the CKA_ID, any bytes), ``type`` (only
    ``private``), and the token attributes of ``token_selector``. At least ``object`` or ``id`` is
    required; each attribute at most once; values percent-decoded. A query (``?pin-value=...``) is
    refused without being repeated.
    """
    if not uri.startswith(PKCS11_URI_SCHEME):
        raise HsmError(
            "A key URI must start with 'pkcs11:' (RFC 7512), e.g. "
            "pkcs11:object=root-r1;type=private."
        )
    allowed = {**_TOKEN_ATTRIBUTES, **_OBJECT_ATTRIBUTES}
    raw = _path_attributes(uri, "key", allowed, "does not name a key")
    object_type = raw.pop("type", None)
    if object_type is not None and _text("type", object_type, "key") != "private":
        raise HsmError(
            "The key URI asks for an object of type other than 'private'; Sealroom signs only "
            "with private keys (type=private), and finds the public half by its CKA_ID."
        )
    label = _text("object", raw.pop("object"), "key") if "object" in raw else None
    cka_id = unquote_to_bytes(raw.pop("id")) if "id" in raw else None
    if label is None and cka_id is None:
        raise HsmError(
            "The key URI names neither the key's label (object=) nor its CKA_ID (id=); give at "
            "least one of them."
        )
    token = (
        TokenSelector(
            **{_TOKEN_ATTRIBUTES[name]: _text(name, value, "key") for name, value in raw.items()}
        )
        if raw
        else None
    )
    return KeySelector(label=label, cka_id=cka_id, token=token)


def _path_attributes(
    reference: str, what: str, allowed: dict[str, str], refusal: str
) -> dict[str, str]:
    """The still percent-encoded ``name=value`` pairs of a URI's path, each checked once."""
    path, query_mark, _query = reference[len(PKCS11_URI_SCHEME) :].partition("?")
    if query_mark:
        raise HsmError(
            f"The {what} URI has a query part (after '?'); Sealroom accepts only path attributes "
            "and never takes a PIN from a URI. Remove everything from the '?' on."
        )
    values: dict[str, str] = {}
    for component in path.split(";") if path else []:
        name, equals, raw = component.partition("=")
        if not equals:
            raise HsmError(
                f"The {what} URI component '{component}' is not of the form name=value (RFC 7512)."
            )
        if name not in allowed:
            known = ", ".join(allowed)
            raise HsmError(f"The {what} URI attribute '{name}' {refusal}; use only {known}.")
        if name in values:
            raise HsmError(f"The {what} URI names the attribute '{name}' more than once.")
        if not _PCHAR_VALUE.fullmatch(raw):
            raise HsmError(
                f"The {what} URI attribute '{name}' has characters that must be percent-encoded "
                "(RFC 7512), e.g. a space as %20."
            )
        values[name] = raw
    return values


def _text(name: str, raw: str, what: str) -> str:
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise HsmError(
            f"The {what} URI attribute '{name}' does not decode as UTF-8 after percent-decoding."
        ) from exc
