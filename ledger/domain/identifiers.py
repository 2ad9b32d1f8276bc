"""E-licence identifiers (GB/T 36904 form), USCC check characters and ``bytes32`` codes.

The identifier reads ``1.2.156.3005.2.<type>.<issuer USCC>.<serial>.<version>.<check>``.
The check character is ISO/IEC 7064 MOD 37,36 (hybrid system, alphabet
``0-9A-Z``) computed over the concatenation ``type + issuer + serial + version``
with the dots left out; the DOMAIN.md example
``1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U``
checks out under exactly that reading (it also reproduces the standard's own
vector ``A12425GABC1234002`` → ``M``). Property unit numbers live in
:mod:`ledger.domain.units` and are re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ledger.domain.errors import InvalidCode, InvalidIdentifier, InvalidUSCC
from ledger.domain.units import UnitNumber, parse_unit_number, validate_unit_number

__all__ = [
    "LICENCE_OID_ROOT",
    "LicenceIdentifier",
    "UnitNumber",
    "from_bytes32",
    "is_valid_uscc",
    "make_serial",
    "mod37_36_check",
    "parse_unit_number",
    "serial_identifiers",
    "to_bytes32",
    "uscc_check_char",
    "validate_uscc",
    "validate_unit_number",
]

LICENCE_OID_ROOT = "1.2.156.3005.2"
_PREFIX = LICENCE_OID_ROOT + "."

# ISO/IEC 7064 MOD 37,36: M = 36 characters, arithmetic modulo M + 1 = 37.
_ISO_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ISO_VALUE = {ch: i for i, ch in enumerate(_ISO_ALPHABET)}


def _step_table() -> dict[str, tuple[int, ...]]:
    """Precompute the hybrid-system state transition ``p -> p'`` for every character."""
    table: dict[str, tuple[int, ...]] = {}
    for ch, value in _ISO_VALUE.items():
        row = [0] * 37
        for p in range(1, 37):
            s = (p + value) % 36 or 36
            row[p] = (s * 2) % 37
        table[ch] = tuple(row)
    return table


_STEP = _step_table()
# For the final state p, the check character c satisfies (p + c) mod 36 == 1.
_CHECK_FOR_STATE = tuple(_ISO_ALPHABET[(1 - p) % 36] for p in range(37))

# GB 32100 (USCC): 31-character alphabet without I, O, S, V, Z.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}")

_CODE_PART = re.compile(r"[0-9A-Z]{1,32}")
_SERIAL_YEAR_MIN, _SERIAL_YEAR_MAX = 1900, 9999
_SERIAL_COUNTER_MAX = 9_999_999


@lru_cache(maxsize=4096)
def _state_after(prefix: str) -> int:
    """Return the MOD 37,36 state after ``prefix`` (cached: type + issuer repeat per batch)."""
    return _advance(36, prefix)


def _advance(state: int, text: str) -> int:
    """Return the MOD 37,36 state after reading ``text`` from ``state``."""
    step = _STEP
    for ch in text:
        state = step[ch][state]
    return state


def mod37_36_check(data: str) -> str:
    """Return the ISO/IEC 7064 MOD 37,36 check character of ``data`` (``0-9A-Z`` only)."""
    bad = next((ch for ch in data if ch not in _ISO_VALUE), None)
    if bad is not None or not data:
        raise InvalidIdentifier(data, "MOD 37,36 input must be non-empty 0-9A-Z")
    return _CHECK_FOR_STATE[_state_after(data)]


@lru_cache(maxsize=4096)
def _prefix_state(type_code: str, issuer_uscc: str) -> int:
    """Validate type code and issuer once per pair and return the MOD 37,36 state after them."""
    if not isinstance(type_code, str) or _CODE_PART.fullmatch(type_code) is None:
        raise InvalidIdentifier(str(type_code), "type code must be 1-32 characters 0-9A-Z")
    validate_uscc(issuer_uscc)
    return _state_after(type_code + issuer_uscc)


def _check_of(type_code: str, issuer_uscc: str, serial: str, version: str) -> str:
    """Compute the identifier check character reusing the cached type + issuer state."""
    return _CHECK_FOR_STATE[_advance(_prefix_state(type_code, issuer_uscc), serial + version)]


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 USCC characters."""
    if len(first17) != 17 or any(ch not in _USCC_VALUE for ch in first17):
        raise InvalidUSCC(first17, "need 17 characters from the GB 32100 alphabet")
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return ``code`` when it is a well-formed USCC with a correct check character."""
    if not isinstance(code, str) or len(code) != 18:
        raise InvalidUSCC(str(code), "a USCC has 18 characters")
    if _USCC_SHAPE.fullmatch(code) is None:
        raise InvalidUSCC(code, "characters outside the GB 32100 alphabet or a non-numeric region")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidUSCC(code, f"check character is {code[17]}, expected {expected}")
    return code


def is_valid_uscc(code: str) -> bool:
    """Tell whether ``code`` is a valid USCC."""
    try:
        validate_uscc(code)
    except InvalidUSCC:
        return False
    return True


def make_serial(year: int, counter: int) -> str:
    """Return the 11-character serial ``YYYY`` + 7-digit counter, e.g. ``20230000403``."""
    if not _SERIAL_YEAR_MIN <= year <= _SERIAL_YEAR_MAX:
        raise InvalidIdentifier(str(year), "serial year out of range")
    if not 0 <= counter <= _SERIAL_COUNTER_MAX:
        raise InvalidIdentifier(str(counter), "serial counter must be 0..9999999")
    return f"{year:04d}{counter:07d}"


def serial_identifiers(type_code: str, issuer_uscc: str, year: int, first: int, count: int,
                       version: int = 1) -> list[str]:
    """Return the texts of ``count`` identifiers whose serials count up from ``first`` in ``year``.

    Each is ``LicenceIdentifier(type_code, issuer_uscc, make_serial(year, counter), version).text``
    (the tests hold them to it), for a batch being issued: the shared parts are checked
    once and each check character is carried on from the state after the year.
    """
    if count <= 0:
        return []
    make_serial(year, first + count - 1)
    LicenceIdentifier(type_code, issuer_uscc, make_serial(year, first), version)  # checks the rest
    after_year = _advance(_prefix_state(type_code, issuer_uscc), f"{year:04d}")
    head, tail = f"{_PREFIX}{type_code}.{issuer_uscc}.{year:04d}", f"{version:03d}"
    check, advance = _CHECK_FOR_STATE, _advance
    texts = []
    for counter in range(first, first + count):
        digits = f"{counter:07d}"
        texts.append(f"{head}{digits}.{tail}.{check[advance(after_year, digits + tail)]}")
    return texts


@dataclass(frozen=True, slots=True)
class LicenceIdentifier:
    """A GB/T 36904 e-licence identifier; the check character is derived, never given."""

    type_code: str
    issuer_uscc: str
    serial: str
    version: int = 1
    check: str = field(init=False, compare=False)
    text: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.type_code, str) or not isinstance(self.issuer_uscc, str):
            raise InvalidIdentifier(repr(self.type_code), "type code and issuer must be strings")
        if not isinstance(self.serial, str) or _CODE_PART.fullmatch(self.serial) is None:
            raise InvalidIdentifier(str(self.serial), "serial must be 1-32 characters 0-9A-Z")
        if type(self.version) is not int or not 0 <= self.version <= 999:
            raise InvalidIdentifier(str(self.version), "version must be an integer 0..999")
        version = f"{self.version:03d}"
        check = _check_of(self.type_code, self.issuer_uscc, self.serial, version)
        text = f"{_PREFIX}{self.type_code}.{self.issuer_uscc}.{self.serial}.{version}.{check}"
        object.__setattr__(self, "check", check)
        object.__setattr__(self, "text", text)

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> LicenceIdentifier:
        """Parse and validate the dotted identifier, including its check character."""
        if not isinstance(text, str) or not text.startswith(_PREFIX):
            raise InvalidIdentifier(str(text), f"must start with {_PREFIX}")
        parts = text[len(_PREFIX) :].split(".")
        if len(parts) != 5:
            raise InvalidIdentifier(text, "expected type.issuer.serial.version.check")
        type_code, issuer, serial, version, check = parts
        if len(version) != 3 or not version.isascii() or not version.isdigit():
            raise InvalidIdentifier(text, "version must be 3 digits")
        if len(check) != 1 or check not in _ISO_VALUE:
            raise InvalidIdentifier(text, "check must be one character 0-9A-Z")
        try:
            identifier = cls(type_code, issuer, serial, int(version))
        except InvalidIdentifier as exc:
            raise type(exc)(text, exc.reason) from exc
        if identifier.check != check:
            raise InvalidIdentifier(text, f"check character is {check}, expected {identifier.check}")
        return identifier

    def next_version(self) -> LicenceIdentifier:
        """Return the same identifier with the version incremented (a reissue)."""
        return LicenceIdentifier(self.type_code, self.issuer_uscc, self.serial, self.version + 1)


def to_bytes32(text: str) -> bytes:
    """Encode an ASCII code (department, region, licence type) as right-zero-padded bytes32."""
    if not isinstance(text, str) or not text:
        raise InvalidCode(str(text), "a code must be a non-empty string")
    if not text.isascii() or "\x00" in text:
        raise InvalidCode(text, "a code must be ASCII without NUL characters")
    raw = text.encode("ascii")
    if len(raw) > 32:
        raise InvalidCode(text, "a code must fit in 32 bytes")
    return raw.ljust(32, b"\x00")


def from_bytes32(value: bytes) -> str:
    """Decode a ``bytes32`` code produced by :func:`to_bytes32`."""
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidCode(repr(value), "expected exactly 32 bytes")
    raw = bytes(value).rstrip(b"\x00")
    if not raw or b"\x00" in raw or not raw.isascii():
        raise InvalidCode(value.hex(), "not a zero-padded non-empty ASCII code")
    return raw.decode("ascii")
