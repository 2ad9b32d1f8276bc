"""A canonical CBOR writer for the claims map, fast enough for the node's minting path.

``cbor2.dumps(canonical=True)`` walks the claims generically (~10 µs a licence); the
claims only ever hold small integers, text, bytes and one map of text keys, so they
are laid out here directly. Anything else falls back to cbor2, and
tests/verifiers/test_cbor_writer.py proves the bytes equal cbor2's on random claims.
"""

from __future__ import annotations

from typing import Any

import cbor2

_U64 = 1 << 64


def _head(major: int, n: int) -> bytes:
    """Return the shortest CBOR head of major type ``major`` with argument ``n``."""
    if n < 24:
        return bytes((major | n,))
    if n < 0x100:
        return bytes((major | 24, n))
    if n < 0x10000:
        return bytes((major | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((major | 26,)) + n.to_bytes(4, "big")
    return bytes((major | 27,)) + n.to_bytes(8, "big")


_SMALL = [bytes((n,)) for n in range(24)]


def _item(value: Any) -> bytes | None:
    """Return the canonical CBOR of a text, bytes or 64-bit integer value, else None."""
    kind = type(value)
    if kind is str:
        raw = value.encode("utf-8")
        return _head(0x60, len(raw)) + raw
    if kind is int:
        if 0 <= value < 24:
            return _SMALL[value]
        if 0 <= value < _U64:
            return _head(0x00, value)
        if -_U64 <= value < 0:
            return _head(0x20, -1 - value)
        return None
    if kind is bytes:
        return _head(0x40, len(value)) + value
    return None


def dumps_claims(claims: dict[int, Any]) -> bytes:
    """Return ``cbor2.dumps(claims, canonical=True)`` for a map of small integer keys.

    Values may be text, bytes, integers or one level of ``{text: text | int}`` map.
    """
    if not all(type(key) is int and 0 <= key < 24 for key in claims):
        return cbor2.dumps(claims, canonical=True)
    parts = [_head(0xA0, len(claims))]
    for key in sorted(claims):
        value = claims[key]
        encoded = _text_map(value) if type(value) is dict else _item(value)
        if encoded is None:
            return cbor2.dumps(claims, canonical=True)
        parts.append(_SMALL[key])
        parts.append(encoded)
    return b"".join(parts)


def _text_map(mapping: dict[Any, Any]) -> bytes | None:
    """Return the canonical CBOR of a map of text keys to text or integers, else None."""
    entries = []
    for key, value in mapping.items():
        if type(key) is not str:
            return None
        encoded_value = _item(value)
        if encoded_value is None or type(value) is bytes:
            return None
        raw = key.encode("utf-8")
        entries.append((_head(0x60, len(raw)) + raw, encoded_value))
    entries.sort()  # canonical order: by the encoded key, bytewise (shorter keys first)
    return _head(0xA0, len(entries)) + b"".join([k + v for k, v in entries])
