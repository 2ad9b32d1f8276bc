"""The artifact binding: calls, deployment, bulk event decoding and revert decoding."""

from __future__ import annotations

import eth_abi
import pytest
from eth_utils import keccak

from node.chain.abi import AbiError, contract
from node.chain.gateway import RawLog

from .helpers import b32

REG = contract("LicenceRegistry")


def test_selectors_and_calls() -> None:
    assert REG.selector("anchorBatch") == keccak(text="anchorBatch(bytes32,uint32,bytes32)")[:4]
    data = REG.encode_call("anchorBatch", [b"\x01" * 32, 5, b32("T")])
    assert data[:4] == REG.selector("anchorBatch") and len(data) == 4 + 96
    assert REG.decode_output("statusOf", eth_abi.encode(["uint8", "uint16", "uint64"],
                                                        [2, 9, 77])) == (2, 9, 77)
    with pytest.raises(AbiError):
        REG.encode_call("noSuchFunction", [])
    ctor = REG.encode_deploy([[b"\x11" * 20], 1])
    assert ctor.startswith(REG.bytecode) and len(ctor) == len(REG.bytecode) + 4 * 32


def test_bulk_event_decoding() -> None:
    event = REG.events["BatchAnchored"]
    assert REG.topic0s["BatchAnchored"] == keccak(
        text="BatchAnchored(bytes32,bytes32,bytes32,uint32,uint64)")
    logs = [
        RawLog(address=b"\xaa" * 20,
               topics=(event.topic0, bytes([i]) * 32, b32("MARKET")),
               data=eth_abi.encode(["bytes32", "uint32", "uint64"], [b32("T"), i + 1, 1000 + i]),
               block_number=10 + i, block_hash=b"\x01" * 32, transaction_hash=bytes([i]) * 32,
               transaction_index=0, log_index=i)
        for i in range(3)
    ]
    foreign = RawLog(address=b"\xaa" * 20, topics=(b"\x00" * 32,), data=b"", block_number=1,
                     block_hash=b"\x01" * 32, transaction_hash=b"\x02" * 32,
                     transaction_index=0, log_index=9)
    decoded = REG.decode_logs([*logs, foreign])
    assert [(d.name, d.block_number, d.log_index) for d in decoded] == [
        ("BatchAnchored", 10, 0), ("BatchAnchored", 11, 1), ("BatchAnchored", 12, 2)]
    assert decoded[1].args == {"root": b"\x01" * 32, "issuer": b32("MARKET"),
                               "licenceType": b32("T"), "count": 2, "anchoredAt": 1001}
    with pytest.raises(AbiError):
        REG.decode_logs([foreign], strict=True)


def test_error_decoding() -> None:
    err = REG.errors["LicenceRegistryUnknownBatch"]
    assert REG.decode_error(err.selector + b"\x05" * 32) == (
        "LicenceRegistryUnknownBatch", {"root": b"\x05" * 32})
    message = keccak(text="Error(string)")[:4] + eth_abi.encode(["string"], ["nope"])
    assert REG.decode_error(message) == ("Error", {"message": "nope"})
    panic = keccak(text="Panic(uint256)")[:4] + eth_abi.encode(["uint256"], [0x32])
    assert REG.decode_error(panic) == ("Panic", {"code": 0x32})
    assert REG.decode_error(b"") == ("", {})
    assert REG.decode_error(b"\xde\xad\xbe\xef") == ("", {"data": b"\xde\xad\xbe\xef"})
    not_issuer = REG.errors["LicenceRegistryNotIssuer"].selector + eth_abi.encode(
        ["address"], ["0x" + "ab" * 20])
    assert REG.decode_error(not_issuer) == ("LicenceRegistryNotIssuer", {"account": b"\xab" * 20})
