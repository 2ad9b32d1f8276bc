"""Helpers for the contract suite: bytes32 codes, an OZ-compatible Merkle tree, a registry driver."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from node.chain.abi import ContractAbi, DecodedEvent, contract
from node.chain.errors import CallReverted
from node.chain.gateway import Receipt

ISSUER, REGISTRY, HOUSING, TAX, BANK, COURT, NOTARY = 1, 2, 4, 8, 16, 32, 64
ACTIVE, SUSPENDED, REVOKED, NOT_ANCHORED = 0, 1, 2, 3
ES256, EDDSA, ES384 = -7, -8, -35


def b32(text: str) -> bytes:
    """Return ``text`` as ASCII right-padded to 32 bytes (codes, regions, licence types)."""
    raw = text.encode("ascii")
    assert len(raw) <= 32
    return raw.ljust(32, b"\0")


def leaf_of(document_digest: bytes) -> bytes:
    return keccak(document_digest)


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass
class MerkleTree:
    """Sorted-pair keccak tree; an odd node at the end of a level is carried up unchanged."""

    leaves: list[bytes]
    levels: list[list[bytes]] = field(init=False)

    def __post_init__(self) -> None:
        assert self.leaves
        self.levels = [list(self.leaves)]
        while len(self.levels[-1]) > 1:
            level = self.levels[-1]
            nxt = [_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            self.levels.append(nxt)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index //= 2
        return path


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    node = leaf
    for sibling in proof:
        node = _pair(node, sibling)
    return node == root


def digests(n: int, salt: str = "doc") -> list[bytes]:
    """Return ``n`` distinct 32-byte document digests."""
    return [keccak(text=f"{salt}-{i}") for i in range(n)]


class Reverted(Exception):
    pass


@dataclass
class Registry:
    """Drives a deployed LicenceRegistry through the shared chain harness."""

    chain: Any
    address: bytes
    council: list[LocalAccount]
    abi: ContractAbi = field(default_factory=lambda: contract("LicenceRegistry"))

    def tx(self, sender: LocalAccount, fn: str, *args: Any, at: int | None = None,
           gas: int | None = None) -> Receipt:
        if at is not None:
            self.chain.set_next_block_timestamp(at)
        receipt: Receipt = self.chain.transact(sender, self.address, self.abi.encode_call(fn, args), gas=gas)
        assert receipt.status == 1
        return receipt

    def view(self, fn: str, *args: Any) -> Any:
        out = self.abi.decode_output(fn, self.chain.call(self.address, self.abi.encode_call(fn, args)))
        return out[0] if len(out) == 1 else out

    def events(self, receipt: Receipt) -> list[DecodedEvent]:
        return self.abi.decode_logs(receipt.logs)

    @contextmanager
    def reverts(self, name: str, **expected: Any) -> Iterator[dict[str, Any]]:
        """Expect the block to revert with custom error ``name`` (and these args)."""
        args: dict[str, Any] = {}
        with pytest.raises(CallReverted) as info:
            yield args
        got, got_args = self.abi.decode_error(info.value.data)
        assert got == name, (got, got_args)
        for key, value in expected.items():
            assert got_args[key] == value, (key, got_args[key], value)
        args.update(got_args)

    def council_do(self, fn: str, *args: Any, at: int | None = None) -> Receipt:
        """Propose ``fn(*args)`` and approve it with enough council members to execute it."""
        action = self.abi.encode_call(fn, args)
        threshold = self.view("threshold")
        receipt = self.tx(self.council[0], "propose", action, at=at)
        pid = self.view("proposalCount")
        for member in self.council[1:threshold]:
            receipt = self.tx(member, "approve", pid)
        assert self.view("proposal", pid)[3] is True
        return receipt

    def add_department(self, code: str, account: LocalAccount, roles: int, region: str = "110000",
                       endpoint: str = "") -> None:
        self.council_do("addDepartment", b32(code), account.address, roles, b32(region),
                        endpoint or f"https://{code.lower()}.example.gov.cn")


def addr(account: LocalAccount) -> bytes:
    """Return an account's 20-byte address (the binding decodes addresses to bytes)."""
    return bytes.fromhex(account.address[2:])
