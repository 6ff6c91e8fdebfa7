"""Which token to use: a plain label, or an RFC 7512 ``pkcs11:`` URI with token attributes."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Final
from urllib.parse import unquote

from sealroom.errors import HsmError

PKCS11_URI_SCHEME: Final = "pkcs11:"

# RFC 7512 section 2.3: the token attributes of a path, and the field each one selects on.
_TOKEN_ATTRIBUTES: Final[dict[str, str]] = {
    "token": "label",
    "serial": "serial",
    "manufacturer": "manufacturer",
    "model": "model",
}
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
    path, query_mark, _query = reference[len(PKCS11_URI_SCHEME) :].partition("?")
    if query_mark:
        raise HsmError(
            "The token URI has a query part (after '?'); Sealroom accepts only token attributes "
            "and never takes a PIN from a URI. Remove everything from the '?' on."
        )
    values: dict[str, str] = {}
    for component in path.split(";") if path else []:
        name, equals, raw = component.partition("=")
        if not equals:
            raise HsmError(
                f"The token URI component '{component}' is not of the form name=value (RFC 7512)."
            )
        if name not in _TOKEN_ATTRIBUTES:
            known = ", ".join(_TOKEN_ATTRIBUTES)
            raise HsmError(
                f"The token URI attribute '{name}' does not select a token; use only {known}."
            )
        if _TOKEN_ATTRIBUTES[name] in values:
            raise HsmError(f"The token URI names the attribute '{name}' more than once.")
        if not _PCHAR_VALUE.fullmatch(raw):
            raise HsmError(
                f"The token URI attribute '{name}' has characters that must be percent-encoded "
                "(RFC 7512), e.g. a space as %20."
            )
        try:
            values[_TOKEN_ATTRIBUTES[name]] = unquote(raw, encoding="utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise HsmError(
                f"The token URI attribute '{name}' does not decode as UTF-8 after percent-decoding."
            ) from exc
    if not values:
        raise HsmError(
            "The token URI names no token attribute; give at least token=<label> or "
            "serial=<serial>."
        )
    return TokenSelector(**values)
