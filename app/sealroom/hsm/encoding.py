"""The little DER the adapter needs: an OBJECT IDENTIFIER and the content of an OCTET STRING."""

from __future__ import annotations

from typing import Final

from sealroom.errors import HsmError

DER_OCTET_STRING: Final = 0x04
DER_OBJECT_IDENTIFIER: Final = 0x06
_LONG_LENGTH: Final = 0x80
_BASE128_MORE: Final = 0x80


def der_length(size: int) -> bytes:
    """A DER definite length (short form below 128, long form above)."""
    if size < _LONG_LENGTH:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([_LONG_LENGTH | len(body)]) + body


def der_object_identifier(dotted: str) -> bytes:
    """DER encoding (tag, length, value) of a dotted OID such as ``1.3.132.0.34``."""
    arcs = [int(arc) for arc in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise ValueError(f"not an object identifier: {dotted}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append((rest & 0x7F) | _BASE128_MORE)
            rest >>= 7
        body.extend(reversed(chunk))
    return bytes([DER_OBJECT_IDENTIFIER]) + der_length(len(body)) + bytes(body)


def der_octet_string_content(der: bytes) -> bytes:
    """The content of a DER OCTET STRING that spans all of ``der`` (e.g. CKA_EC_POINT)."""
    if len(der) < 2 or der[0] != DER_OCTET_STRING:
        raise HsmError("The HSM returned an EC public point that is not a DER OCTET STRING.")
    first = der[1]
    offset = 2
    if first < _LONG_LENGTH:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(der) < offset + count:
            raise HsmError("The HSM returned an EC public point with an invalid DER length.")
        size = int.from_bytes(der[offset : offset + count], "big")
        offset += count
        if size < _LONG_LENGTH or der[offset - count] == 0:
            raise HsmError("The HSM returned an EC public point whose length is not DER.")
    if offset + size != len(der):
        raise HsmError("The HSM returned an EC public point whose length does not match.")
    return der[offset:]


def der_octet_string(content: bytes) -> bytes:
    """DER encoding of an OCTET STRING holding ``content`` (e.g. a CKA_EC_POINT to create)."""
    return bytes([DER_OCTET_STRING]) + der_length(len(content)) + content
