"""A Base45 (RFC 9285) decoder and encoder fast enough for the verifier's and issuer's hot paths.

The `base45` package decodes one triplet per Python loop turn (~70 µs for a
QR token). `b45decode` and `b45encode` are the C functions of `verifiers._base45_c`
(built on install; ~0.5 µs a token) and, where that module was not built, the
Python ones here: they read the whole text as one big integer and do the arithmetic
of all triplets at once with masks (~3 µs); the encoder does the same for byte
pairs. Tests hold both to the `base45` package and to each other's errors.
"""

from __future__ import annotations

_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
_TABLE = bytearray([_INVALID] * 256)
for _value, _char in enumerate(_ALPHABET):
    _TABLE[_char] = _value
_DIGITS = bytes(_TABLE)


def _word_masks(groups: int) -> tuple[int, int]:
    """Return masks of the low byte and the top byte of each of `groups` 24-bit words."""
    masks = _MASKS.get(groups)
    if masks is None:
        ones = ((1 << (24 * groups)) - 1) // 0xFFFFFF  # 0x000001 in every word
        masks = (ones * 0xFF, ones * 0xFF0000)
        if len(_MASKS) < 64:  # tokens come in a few lengths; odd ones are not kept
            _MASKS[groups] = masks
    return masks


_MASKS: dict[int, tuple[int, int]] = {}


def py_b45decode(text: str) -> bytes:
    """Decode Base45 text; raise ValueError when it is not valid Base45."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("non-ASCII character") from None
    digits = raw.translate(_DIGITS)
    if _INVALID in digits:
        raise ValueError("character outside the Base45 alphabet")
    groups, rest = divmod(len(digits), 3)
    if rest == 1:
        raise ValueError("length leaves a single trailing character")
    full = 3 * groups
    # Read as one integer, each triplet (c, d, e) is a 24-bit word c·2¹⁶ + d·2⁸ + e;
    # masks pick the three digits of every word at once, and c + 45·d + 2025·e (at
    # most 91,124: 17 bits) stays inside its word, so the words never carry.
    low, top = _word_masks(groups)
    words = int.from_bytes(digits[:full], "big")
    values = ((words >> 16) & low) + 45 * ((words >> 8) & low) + 2025 * (words & low)
    if values & top:
        raise ValueError("triplet value above 65535")
    out = bytearray(values.to_bytes(full, "big"))
    del out[::3]  # the top byte of each word, zero: what stays is two bytes per triplet
    if rest == 2:
        value = digits[full] + 45 * digits[full + 1]
        if value > 0xFF:
            raise ValueError("final pair value above 255")
        out.append(value)
    return bytes(out)


def _lane_mask(pairs: int) -> int:
    """Return 0x7FF in each of `pairs` 32-bit lanes: the 11 bits a quotient by 45 needs."""
    mask = _LANE_MASKS.get(pairs)
    if mask is None:
        mask = int.from_bytes(b"\0\0\x07\xff" * pairs, "big")
        if len(_LANE_MASKS) < 64:  # tokens come in a few lengths; odd ones are not kept
            _LANE_MASKS[pairs] = mask
    return mask


_LANE_MASKS: dict[int, int] = {}
#: ⌊v·M / 2²¹⌋ = ⌊v / 45⌋ for every v < 65,536, and v·M < 2³² stays inside its lane.
_DIV45_M, _DIV45_SHIFT = 46_604, 21
#: Digit value (0–44) → its Base45 character.
_CHARS = bytes(_ALPHABET[v] if v < 45 else 0 for v in range(256))


def py_b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text (RFC 9285), all byte pairs at once in one big integer.

    Each pair v sits in its own 32-bit lane; a multiply-shift divides every lane by 45
    at once (v·M stays below 2³², so no lane spills into the next), which gives the
    three digits v mod 45, ⌊v/45⌋ mod 45, ⌊v/2025⌋. No table: a 65,536-entry one
    costs fewer operations but pushes the signing key's and zlib's memory out of the
    cache while licences are minted. Tests check it against the `base45` package.
    """
    pairs = len(data) >> 1
    even = 2 * pairs
    lanes = bytearray(4 * pairs)
    lanes[2::4] = data[0:even:2]
    lanes[3::4] = data[1:even:2]
    values = int.from_bytes(lanes, "big")
    mask = _lane_mask(pairs)
    by45 = ((values * _DIV45_M) >> _DIV45_SHIFT) & mask
    by2025 = ((by45 * _DIV45_M) >> _DIV45_SHIFT) & mask
    # each lane now reads 0, v mod 45, ⌊v/45⌋ mod 45, ⌊v/2025⌋ (no lane borrows: every digit ≥ 0)
    digits = ((values - 45 * by45) << 16) + ((by45 - 45 * by2025) << 8) + by2025
    out = bytearray(digits.to_bytes(4 * pairs, "big"))
    del out[::4]
    if even != len(data):
        last = data[-1]
        out += bytes((last % 45, last // 45))
    return out.translate(_CHARS).decode("ascii")


try:
    from verifiers._base45_c import b45decode, b45encode
except ImportError:  # pragma: no cover - only where the C extension was not built
    b45decode, b45encode = py_b45decode, py_b45encode
