"""The one narrow port between regnode and an EVM chain.

Everything above this module (transaction manager, indexer, services) talks to the
chain only through :class:`ChainGateway`. Two implementations exist and both are
exercised by the same behaviour suite: :mod:`node.chain.embedded` (py-evm in
process, persisted in the data folder) and :mod:`node.chain.rpc` (any JSON-RPC
node; anvil in tests, Besu/Geth in production).

Values crossing this port are typed once here: addresses and hashes are ``bytes``
(20 and 32 long), quantities are ``int``. Hex strings never travel inward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block header summary as the indexer and transaction manager need it."""

    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int


@dataclass(frozen=True, slots=True)
class RawLog:
    """An undecoded event log with its position on chain."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    transaction_index: int
    log_index: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction's outcome."""

    transaction_hash: bytes
    block_number: int
    block_hash: bytes
    transaction_index: int
    status: int
    gas_used: int
    contract_address: bytes | None
    logs: tuple[RawLog, ...]


@runtime_checkable
class ChainGateway(Protocol):
    """Read and write access to one EVM chain."""

    @property
    def chain_id(self) -> int:
        """Return the chain id (cached by implementations: it never changes)."""
        ...

    def head(self) -> BlockRef:
        """Return the latest mined block."""
        ...

    def block(self, number: int) -> BlockRef | None:
        """Return the canonical block at ``number``, or None past the head."""
        ...

    def raw_header(self, number: int) -> bytes:
        """Return the RLP-encoded header of canonical block ``number``."""
        ...

    def get_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Sequence[bytes] = (),
        topic0: Sequence[bytes] = (),
    ) -> list[RawLog]:
        """Return logs in ``[from_block, to_block]`` (inclusive), ordered by position.

        An empty ``addresses`` or ``topic0`` means any.
        """
        ...

    def call(self, to: bytes, data: bytes, sender: bytes | None = None,
             block: int | None = None) -> bytes:
        """Execute a read-only call and return its output.

        Raises :class:`node.chain.errors.CallReverted` carrying the revert data.
        """
        ...

    def estimate_gas(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0) -> int:
        """Return the gas a transaction would use.

        Raises :class:`node.chain.errors.CallReverted` when it would revert.
        """
        ...

    def nonce(self, address: bytes) -> int:
        """Return the next nonce for ``address``, counting pending transactions."""
        ...

    def balance(self, address: bytes) -> int:
        """Return the wei balance of ``address`` at the head."""
        ...

    def base_fee(self) -> int:
        """Return the base fee per gas that the next block will charge."""
        ...

    def send_raw_transactions(self, raw_transactions: Sequence[bytes]) -> list[bytes]:
        """Submit signed transactions and return their hashes, in order.

        The embedded chain mines them into one new block before returning; a
        JSON-RPC node mines them on its own schedule.
        """
        ...

    def receipt(self, transaction_hash: bytes) -> Receipt | None:
        """Return the receipt of a mined transaction, or None if it is not mined."""
        ...

    def block_delay(self, keep_lead: bool = False) -> float:
        """Return how many seconds a block sent now would wait before it is mined (0.0: none).

        The embedded chain gives each block a later whole second than its parent and lets
        block times run at most a second ahead of the wall clock, so under load it mines
        about a block a second. With ``keep_lead`` the answer is for a block that leaves
        that second of lead unused, so that a block needed at once later (the last of a
        burst) can have it. A JSON-RPC node mines on its own schedule: always 0.0.
        """
        ...

    def close(self) -> None:
        """Release files, sockets and processes held by the gateway."""
        ...


@runtime_checkable
class TestChainControl(Protocol):
    """Extra controls that test chains offer (embedded chain and anvil)."""

    def snapshot(self) -> object:
        """Remember the current chain state and return a handle to it."""
        ...

    def revert(self, snapshot: object) -> None:
        """Return the chain to the state behind ``snapshot``."""
        ...

    def set_next_block_timestamp(self, timestamp: int) -> None:
        """Make the next mined block carry ``timestamp``."""
        ...

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        ...
