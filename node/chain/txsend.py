"""Build, sign and send EIP-1559 transactions through a :class:`ChainGateway`.

Building (``build``) and sending (``send``) are separate steps so that a caller can
journal the signed raw transaction before it leaves the process and resend the very
same bytes after a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from node.chain.errors import ChainError, TransactionRejected
from node.chain.gateway import ChainGateway, Receipt

DEFAULT_GAS_MARGIN = 1.25
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei


class ReceiptTimeout(ChainError):
    """Raised when a transaction is not mined (or not confirmed) before the deadline."""

    def __init__(self, transaction_hash: bytes, timeout: float) -> None:
        super().__init__(f"transaction 0x{transaction_hash.hex()} not confirmed in {timeout}s")
        self.transaction_hash = transaction_hash


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction ready to journal and send."""

    raw: bytes
    hash: bytes
    sender: bytes
    nonce: int
    to: bytes | None
    gas: int
    max_fee_per_gas: int


class TxSender:
    """Signs transactions locally and keeps one nonce counter per account."""

    def __init__(
        self,
        gateway: ChainGateway,
        *,
        gas_margin: float = DEFAULT_GAS_MARGIN,
        priority_fee: int = DEFAULT_PRIORITY_FEE,
        base_fee_multiplier: int = 2,
        poll_interval: float = 0.02,
    ) -> None:
        self.gateway = gateway
        self.gas_margin = gas_margin
        self.priority_fee = priority_fee
        self.base_fee_multiplier = base_fee_multiplier
        self.poll_interval = poll_interval
        self._chain_id = gateway.chain_id
        self._nonces: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def build(
        self,
        account: LocalAccount,
        to: bytes | None,
        data: bytes = b"",
        value: int = 0,
        *,
        gas: int | None = None,
        nonce: int | None = None,
        max_fee_per_gas: int | None = None,
    ) -> SignedTx:
        """Sign a transaction (estimating gas and fees unless given) and reserve its nonce."""
        sender = bytes.fromhex(account.address[2:])
        if gas is None:
            gas = int(self.gateway.estimate_gas(sender, to, data, value) * self.gas_margin)
        if max_fee_per_gas is None:
            max_fee_per_gas = self.gateway.base_fee() * self.base_fee_multiplier
            max_fee_per_gas += self.priority_fee
        if nonce is None:
            nonce = self._reserve_nonce(sender)
        fields: dict[str, object] = {
            "type": 2,
            "chainId": self._chain_id,
            "nonce": nonce,
            "gas": gas,
            "maxFeePerGas": max_fee_per_gas,
            "maxPriorityFeePerGas": min(self.priority_fee, max_fee_per_gas),
            "value": value,
            "data": bytes(data),
        }
        if to is not None:
            fields["to"] = to_checksum_address(bytes(to))
        signed = account.sign_transaction(fields)
        return SignedTx(
            raw=bytes(signed.raw_transaction),
            hash=bytes(signed.hash),
            sender=sender,
            nonce=nonce,
            to=bytes(to) if to is not None else None,
            gas=gas,
            max_fee_per_gas=max_fee_per_gas,
        )

    def send(self, transactions: Sequence[SignedTx]) -> list[bytes]:
        """Submit signed transactions in one call; resync nonces when the node refuses."""
        try:
            return self.gateway.send_raw_transactions([t.raw for t in transactions])
        except TransactionRejected:
            for sender in {t.sender for t in transactions}:
                self.resync(sender)
            raise

    def transact(
        self, account: LocalAccount, to: bytes | None, data: bytes = b"", value: int = 0,
        **kwargs: int,
    ) -> bytes:
        """Build, sign and send one transaction; return its hash."""
        signed = self.build(account, to, data, value, **kwargs)  # type: ignore[arg-type]
        return self.send([signed])[0]

    def wait(
        self, transaction_hash: bytes, confirmations: int = 1, timeout: float = 30.0
    ) -> Receipt:
        """Poll until the transaction is mined with ``confirmations`` blocks (1 = mined)."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.gateway.receipt(transaction_hash)
            if receipt is not None and (
                confirmations <= 1
                or self.gateway.head().number - receipt.block_number + 1 >= confirmations
            ):
                return receipt
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(transaction_hash, timeout)
            time.sleep(self.poll_interval)

    def resync(self, sender: bytes) -> None:
        """Forget the local nonce of ``sender``; the next build asks the chain."""
        with self._lock:
            self._nonces.pop(bytes(sender), None)

    def reset(self) -> None:
        """Forget every local nonce (after a chain revert, say)."""
        with self._lock:
            self._nonces.clear()

    def _reserve_nonce(self, sender: bytes) -> int:
        with self._lock:
            nonce = self._nonces.get(sender)
            if nonce is None:
                nonce = self.gateway.nonce(sender)
            self._nonces[sender] = nonce + 1
            return nonce
