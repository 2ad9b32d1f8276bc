"""The embedded chain: py-evm (Cancun, no-proof consensus) persisted in a data folder."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import rlp
from eth.abc import BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.chains.base import Chain
from eth.consensus import ConsensusApplier, NoProofConsensus
from eth.db.schema import SchemaV1
from eth.exceptions import (
    HeaderNotFound,
    Revert,
    TransactionNotFound,
    VMError,
)
from eth.vm.forks import CancunVM
from eth.vm.spoof import SpoofTransaction
from eth_tester.backends.pyevm.main import get_default_genesis_params
from eth_utils import ValidationError

from node.chain.embedded.receipts import block_log_rows, make_receipt
from node.chain.embedded.store import BufferedStore, LogRow, StepCounter
from node.chain.errors import CallReverted, ChainError, TransactionRejected
from node.chain.gateway import BlockRef, RawLog, Receipt

DEFAULT_CHAIN_ID = 1337
DEFAULT_GAS_LIMIT = 30_000_000
DEFAULT_BALANCE = 10**24  # one million ether
_CHAIN_ID_KEY = b"regnode:chain-id"
_ZERO_ADDRESS = b"\x00" * 20
_GAP_KEYS = (SchemaV1.make_header_chain_gaps_lookup_key(), SchemaV1.make_chain_gaps_lookup_key())


@dataclass(frozen=True, slots=True)
class EmbeddedSnapshot:
    """A remembered canonical head (and py-evm's gap bookkeeping at that head)."""

    number: int
    hash: bytes
    gaps: tuple[bytes | None, ...]


def _chain_class(chain_id: int) -> type[Chain]:
    vm_configuration = ConsensusApplier(NoProofConsensus).amend_vm_configuration(
        ((0, CancunVM),)
    )
    return Chain.configure(
        __name__="RegnodeEmbeddedChain", vm_configuration=vm_configuration, chain_id=chain_id
    )


def _block_ref(header: BlockHeaderAPI) -> BlockRef:
    return BlockRef(
        number=header.block_number,
        hash=header.hash,
        parent_hash=header.parent_hash,
        timestamp=header.timestamp,
    )


class EmbeddedChain:
    """An EVM chain in process, persisted in ``<folder>/chain.sqlite3``.

    Every sealed block (state, header, body, receipts, canonical head and its logs in
    the events index) reaches SQLite in one transaction, so a crash at any moment
    leaves whole blocks only. One lock serialises every operation.
    """

    def __init__(
        self,
        folder: Path | str,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        genesis_balances: Mapping[bytes, int] | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        synchronous: str = "FULL",
        max_lead: int | None = None,
    ) -> None:
        # max_lead bounds how far block times may run ahead of the wall clock: blocks need
        # strictly increasing whole-second timestamps, so a burst of blocks otherwise drifts
        # into the future. A node sets it; behaviour suites leave it off for speed.
        self._max_lead = max_lead
        self._lock = threading.RLock()
        self._store = BufferedStore(Path(folder) / "chain.sqlite3", synchronous=synchronous)
        self._chain_id = chain_id
        self._next_timestamp: int | None = None
        self._chain = self._open_or_create(chain_id, genesis_balances or {}, gas_limit)

    def _open_or_create(
        self, chain_id: int, balances: Mapping[bytes, int], gas_limit: int
    ) -> Chain:
        chain_class = _chain_class(chain_id)
        try:
            stored_id = self._store[_CHAIN_ID_KEY]
        except KeyError:
            state = {
                bytes(address): {"balance": balance, "nonce": 0, "code": b"", "storage": {}}
                for address, balance in balances.items()
            }
            params = get_default_genesis_params(
                overrides={"gas_limit": gas_limit, "timestamp": int(time.time())}
            )
            chain = chain_class.from_genesis(self._store, params, state)
            self._store[_CHAIN_ID_KEY] = chain_id.to_bytes(32, "big")
            self._store.flush()
            return chain
        if int.from_bytes(stored_id, "big") != chain_id:
            self._store.close()
            raise ChainError(
                f"the chain folder holds chain id {int.from_bytes(stored_id, 'big')}, "
                f"not {chain_id}"
            )
        return chain_class(self._store)

    # -- reads -------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def head(self) -> BlockRef:
        with self._lock:
            return _block_ref(self._chain.get_canonical_head())

    def block(self, number: int) -> BlockRef | None:
        with self._lock:
            header = self._canonical_header(number)
            return None if header is None else _block_ref(header)

    def raw_header(self, number: int) -> bytes:
        with self._lock:
            header = self._canonical_header(number)
            if header is None:
                raise ChainError(f"no canonical block {number}")
            return rlp.encode(header)

    def get_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Sequence[bytes] = (),
        topic0: Sequence[bytes] = (),
    ) -> list[RawLog]:
        with self._lock:
            rows = self._store.query_logs(from_block, to_block, addresses, topic0)
        return [
            RawLog(
                address=r.address, topics=r.topics, data=r.data, block_number=r.block_number,
                block_hash=r.block_hash, transaction_hash=r.transaction_hash,
                transaction_index=r.transaction_index, log_index=r.log_index,
            )
            for r in rows
        ]

    def call(
        self, to: bytes, data: bytes, sender: bytes | None = None, block: int | None = None
    ) -> bytes:
        """Execute a call on the state after ``block`` (default head), in that block's context."""
        with self._lock:
            try:
                header = self._header_for(block)
                state = self._chain.get_vm(header.copy(base_fee_per_gas=0)).state
                transaction = self._spoof(state, sender, to, data, 0, state.gas_limit)
                computation = state.apply_transaction(transaction)
            except ValidationError as error:
                raise CallReverted(b"", f"call failed: {error}") from None
            finally:
                self._store.discard()
        if computation.is_error:
            error = computation.error
            if isinstance(error, Revert):
                raise CallReverted(computation.output)
            raise CallReverted(b"", f"call failed: {error!r}")
        return computation.output

    def estimate_gas(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0) -> int:
        """Estimate gas on the head state in the context of the next block."""
        with self._lock:
            try:
                state = self._pending_state()
                transaction = self._spoof(state, sender, to, data, value, state.gas_limit)
                return self._chain.gas_estimator(state, transaction)
            except Revert as error:
                raise CallReverted(bytes(error.args[0]) if error.args else b"") from None
            except VMError as error:
                raise CallReverted(b"", f"estimate failed: {error!r}") from None
            except ValidationError as error:
                raise CallReverted(b"", f"estimate failed: {error}") from None
            finally:
                self._store.discard()

    def transaction_output(self, transaction_hash: bytes) -> bytes | None:
        """Return the return or revert data of a mined transaction by replaying its block."""
        with self._lock:
            chaindb = self._chain.chaindb
            try:
                number, index = chaindb.get_transaction_index(transaction_hash)
            except TransactionNotFound:
                return None
            header = chaindb.get_canonical_block_header_by_number(number)
            parent = chaindb.get_block_header_by_hash(header.parent_hash)
            try:
                vm = self._chain.get_vm(header.copy(state_root=parent.state_root, gas_used=0))
                builder = vm.get_transaction_builder()
                pre_header = vm.get_header()
                for position in range(index + 1):
                    transaction = chaindb.get_transaction_by_index(number, position, builder)
                    receipt, computation = vm.apply_transaction(pre_header, transaction)
                    pre_header = vm.add_receipt_to_header(pre_header, receipt)
                return computation.output
            finally:
                self._store.discard()

    def nonce(self, address: bytes) -> int:
        with self._lock:
            return self._head_state().get_nonce(address)

    def balance(self, address: bytes) -> int:
        with self._lock:
            return self._head_state().get_balance(address)

    def code(self, address: bytes) -> bytes:
        """Return the contract code at ``address`` at the head."""
        with self._lock:
            return self._head_state().get_code(address)

    def base_fee(self) -> int:
        with self._lock:
            head = self._chain.get_canonical_head()
            return self._chain.create_header_from_parent(head).base_fee_per_gas

    def receipt(self, transaction_hash: bytes) -> Receipt | None:
        with self._lock:
            chaindb = self._chain.chaindb
            try:
                number, index = chaindb.get_transaction_index(transaction_hash)
            except TransactionNotFound:
                return None
            header = chaindb.get_canonical_block_header_by_number(number)
            vm_class = self._chain.get_vm_class(header)
            receipt = chaindb.get_receipt_by_index(number, index, vm_class.get_receipt_builder())
            previous = (
                chaindb.get_receipt_by_index(number, index - 1, vm_class.get_receipt_builder())
                if index
                else None
            )
            transaction = chaindb.get_transaction_by_index(
                number, index, vm_class.get_transaction_builder()
            )
            rows = self._store.query_logs(number, number, transaction_index=index)
        return make_receipt(header, index, transaction, receipt, previous, rows)

    # -- writes ------------------------------------------------------------------------

    def send_raw_transactions(self, raw_transactions: Sequence[bytes]) -> list[bytes]:
        """Apply the transactions and mine them into one new block.

        Transactions already mined are not applied again (a resend is idempotent). If
        any transaction is invalid, nothing is mined and :class:`TransactionRejected`
        names it.
        """
        with self._lock:
            builder = self._chain.get_vm_class_for_block_number(0).get_transaction_builder()
            decoded: list[SignedTransactionAPI] = []
            for position, raw in enumerate(raw_transactions):
                try:
                    transaction = builder.decode(bytes(raw))
                    transaction.check_signature_validity()
                except Exception as error:  # rlp, signature and field errors all land here
                    raise TransactionRejected(
                        f"transaction {position} cannot be decoded or has a bad signature: "
                        f"{error}"
                    ) from None
                decoded.append(transaction)
            hashes = [t.hash for t in decoded]
            fresh: list[SignedTransactionAPI] = []
            seen: set[bytes] = set()
            for transaction in decoded:
                if transaction.hash in seen or self._is_mined(transaction.hash):
                    continue
                seen.add(transaction.hash)
                fresh.append(transaction)
            if fresh:
                self._mine_blocks([fresh])
            return hashes

    def block_delay(self, keep_lead: bool = False) -> float:
        """Return the seconds `_seal` would wait for the next block's timestamp (see ChainGateway)."""
        with self._lock:
            if self._max_lead is None or self._next_timestamp is not None:
                return 0.0
            lead = self._max_lead - 1 if keep_lead and self._max_lead >= 1 else self._max_lead
            parent = self._chain.get_canonical_head().timestamp
        return max(0.0, parent + 1 - lead - time.time())

    def mine(self, blocks: int = 1) -> None:
        with self._lock:
            self._mine_blocks([[] for _ in range(blocks)])

    def set_next_block_timestamp(self, timestamp: int) -> None:
        with self._lock:
            head = self._chain.get_canonical_head()
            if timestamp <= head.timestamp:
                raise ValueError(
                    f"next block timestamp {timestamp} must exceed the head's {head.timestamp}"
                )
            self._next_timestamp = timestamp

    def snapshot(self) -> EmbeddedSnapshot:
        with self._lock:
            head = self._chain.get_canonical_head()
            gaps = tuple(self._store.get(key) for key in _GAP_KEYS)
            return EmbeddedSnapshot(head.block_number, head.hash, gaps)

    def revert(self, snapshot: object) -> None:
        if not isinstance(snapshot, EmbeddedSnapshot):
            raise TypeError(f"not an embedded chain snapshot: {snapshot!r}")
        with self._lock:
            chaindb = self._chain.chaindb
            head = chaindb.get_canonical_head()
            target = self._canonical_header(snapshot.number)
            if target is None or target.hash != snapshot.hash:
                raise ChainError(f"snapshot at block {snapshot.number} is not canonical")
            try:
                for number in range(snapshot.number + 1, head.block_number + 1):
                    header = chaindb.get_canonical_block_header_by_number(number)
                    for tx_hash in chaindb.get_block_transaction_hashes(header):
                        self._store.delete(
                            SchemaV1.make_transaction_hash_to_block_lookup_key(tx_hash)
                        )
                    self._store.delete(SchemaV1.make_block_number_to_hash_lookup_key(number))
                self._store[SchemaV1.make_canonical_head_hash_lookup_key()] = snapshot.hash
                for key, value in zip(_GAP_KEYS, snapshot.gaps, strict=True):
                    if value is None:
                        self._store.delete(key)
                    else:
                        self._store[key] = value
                self._store.flush(drop_logs_above=snapshot.number)
            except BaseException:
                self._store.discard()
                raise
            self._next_timestamp = None

    def count_log_query_steps(self) -> AbstractContextManager[StepCounter]:
        """Count SQLite VM steps spent inside the ``with`` block (an index cost gauge)."""
        return self._store.count_steps()

    def close(self) -> None:
        with self._lock:
            self._store.close()

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------

    def _mine_blocks(self, blocks: Sequence[Sequence[SignedTransactionAPI]]) -> None:
        """Seal one block per entry of ``blocks`` and flush them all in one transaction."""
        rows: list[LogRow] = []
        try:
            parent = self._chain.get_canonical_head()
            for transactions in blocks:
                parent, block_rows = self._seal(parent, transactions)
                rows.extend(block_rows)
            self._store.flush(rows)
        except BaseException:
            self._store.discard()
            raise
        self._next_timestamp = None

    def _seal(
        self, parent: BlockHeaderAPI, transactions: Sequence[SignedTransactionAPI]
    ) -> tuple[BlockHeaderAPI, list[LogRow]]:
        if self._next_timestamp is None and self._max_lead is not None:
            while parent.timestamp + 1 - time.time() > self._max_lead:
                time.sleep(0.01)
        timestamp = self._next_timestamp or max(int(time.time()), parent.timestamp + 1)
        self._next_timestamp = None
        chain = self._chain
        header = chain.create_header_from_parent(
            parent, timestamp=timestamp, gas_limit=parent.gas_limit, coinbase=_ZERO_ADDRESS
        )
        vm = chain.get_vm(header)
        receipts: list[ReceiptAPI] = []
        new_header = header
        for transaction in transactions:
            try:
                receipt, _ = vm.apply_transaction(new_header, transaction)
            except ValidationError as error:
                raise TransactionRejected(
                    f"transaction rejected: {error}", transaction_hash=transaction.hash
                ) from None
            new_header = vm.add_receipt_to_header(new_header, receipt)
            new_header = vm.increment_blob_gas_used(new_header, transaction)
            receipts.append(receipt)
        block = vm.set_block_transactions_and_withdrawals(
            vm.get_block(), new_header, transactions, receipts
        )
        sealed = vm.mine_block(block).block
        chain.chaindb.persist_block(sealed)
        return sealed.header, block_log_rows(sealed.header, transactions, receipts)

    def _is_mined(self, transaction_hash: bytes) -> bool:
        try:
            self._chain.chaindb.get_transaction_index(transaction_hash)
        except TransactionNotFound:
            return False
        return True

    def _canonical_header(self, number: int) -> BlockHeaderAPI | None:
        if number < 0:
            return None
        try:
            return self._chain.chaindb.get_canonical_block_header_by_number(number)
        except HeaderNotFound:
            return None

    def _header_for(self, block: int | None) -> BlockHeaderAPI:
        if block is None:
            return self._chain.get_canonical_head()
        header = self._canonical_header(block)
        if header is None:
            raise ChainError(f"no canonical block {block}")
        return header

    def _head_state(self) -> StateAPI:
        return self._chain.get_vm(self._chain.get_canonical_head()).state

    def _pending_state(self) -> StateAPI:
        """Return a fee-free head state in the context of the next block."""
        parent = self._chain.get_canonical_head()
        timestamp = self._next_timestamp or max(int(time.time()), parent.timestamp + 1)
        header = self._chain.create_header_from_parent(
            parent, timestamp=timestamp, gas_limit=parent.gas_limit, coinbase=_ZERO_ADDRESS
        )
        return self._chain.get_vm(header.copy(base_fee_per_gas=0)).state

    @staticmethod
    def _spoof(
        state: StateAPI,
        sender: bytes | None,
        to: bytes | None,
        data: bytes,
        value: int,
        gas: int,
    ) -> SignedTransactionAPI:
        sender = bytes(sender) if sender is not None else _ZERO_ADDRESS
        unsigned = CancunVM.get_transaction_builder().create_unsigned_transaction(
            nonce=state.get_nonce(sender),
            gas_price=0,
            gas=gas,
            to=bytes(to) if to else b"",
            value=value,
            data=bytes(data),
        )
        return SpoofTransaction(unsigned, from_=sender)  # type: ignore[return-value]
