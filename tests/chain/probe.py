"""A hand-assembled probe contract for the gateway suite (no compiler at test time).

Calldata's first byte picks the command:

- ``0x01 topic0 topic1 data…`` — store topic1 in slot 0 and emit ``LOG2(topic0, topic1)``
  with ``data``;
- ``0x02 payload…`` — revert with ``payload`` as the revert data;
- ``0x03`` — return ``(slot 0, block.timestamp, block.number)`` as three words;
- anything else — stop (accepts value).
"""

from __future__ import annotations

_OPS = {
    "STOP": 0x00, "SUB": 0x03, "EQ": 0x14, "SHR": 0x1C, "CALLDATALOAD": 0x35,
    "CALLDATASIZE": 0x36, "CALLDATACOPY": 0x37, "CODECOPY": 0x39, "TIMESTAMP": 0x42,
    "NUMBER": 0x43, "POP": 0x50, "MSTORE": 0x52, "SLOAD": 0x54, "SSTORE": 0x55,
    "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80, "LOG2": 0xA2, "RETURN": 0xF3,
    "REVERT": 0xFD,
}


def assemble(program: list[object]) -> bytes:
    """Assemble opcodes, ints (PUSH1) and labels (``":name"`` defines, ``"@name"`` PUSH2)."""
    labels: dict[str, int] = {}
    size = 0
    for item in program:
        if isinstance(item, int):
            size += 2
        elif item.startswith(":"):
            labels[item[1:]] = size
            size += 1
        elif item.startswith("@"):
            size += 3
        else:
            size += 1
    code = bytearray()
    for item in program:
        if isinstance(item, int):
            code += bytes([0x60, item])
        elif item.startswith(":"):
            code.append(_OPS["JUMPDEST"])
        elif item.startswith("@"):
            code += bytes([0x61]) + labels[item[1:]].to_bytes(2, "big")
        else:
            code.append(_OPS[item])
    return bytes(code)


RUNTIME = assemble([
    0, "CALLDATALOAD", 248, "SHR",
    "DUP1", 1, "EQ", "@emit", "JUMPI",
    "DUP1", 2, "EQ", "@revert", "JUMPI",
    "DUP1", 3, "EQ", "@read", "JUMPI",
    "STOP",
    ":emit", "POP",
    33, "CALLDATALOAD", "DUP1", 0, "SSTORE",
    1, "CALLDATALOAD",
    65, "CALLDATASIZE", "SUB",
    "DUP1", 65, 0, "CALLDATACOPY",
    0, "LOG2", "STOP",
    ":revert", "POP",
    1, "CALLDATASIZE", "SUB",
    "DUP1", 1, 0, "CALLDATACOPY",
    0, "REVERT",
    ":read", "POP",
    0, "SLOAD", 0, "MSTORE",
    "TIMESTAMP", 32, "MSTORE",
    "NUMBER", 64, "MSTORE",
    96, 0, "RETURN",
])


def _initcode(runtime: bytes) -> bytes:
    prefix_len = 15
    n = len(runtime).to_bytes(2, "big")
    prefix = (
        b"\x61" + n + b"\x61" + prefix_len.to_bytes(2, "big") + b"\x60\x00\x39"
        + b"\x61" + n + b"\x60\x00\xf3"
    )
    assert len(prefix) == prefix_len
    return prefix + runtime


INITCODE = _initcode(RUNTIME)


def emit(topic0: bytes, topic1: bytes, data: bytes = b"") -> bytes:
    """Return calldata that stores ``topic1`` and emits LOG2(topic0, topic1) with ``data``."""
    return b"\x01" + topic0.rjust(32, b"\0") + topic1.rjust(32, b"\0") + data


def fail(payload: bytes) -> bytes:
    """Return calldata that reverts with ``payload``."""
    return b"\x02" + payload


READ = b"\x03"


def decode_read(output: bytes) -> tuple[bytes, int, int]:
    """Split the READ output into (slot 0, timestamp, block number)."""
    return output[:32], int.from_bytes(output[32:64], "big"), int.from_bytes(output[64:96], "big")
