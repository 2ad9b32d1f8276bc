"""Turn py-evm receipts into events-index rows and gateway receipts."""

from __future__ import annotations

from collections.abc import Sequence

from eth._utils.address import generate_contract_address
from eth.abc import BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI

from node.chain.embedded.store import LogRow
from node.chain.gateway import RawLog, Receipt

_SUCCESS = b"\x01"


def block_log_rows(
    header: BlockHeaderAPI,
    transactions: Sequence[SignedTransactionAPI],
    receipts: Sequence[ReceiptAPI],
) -> list[LogRow]:
    """Return the events-index rows of a sealed block, numbered across the block."""
    rows: list[LogRow] = []
    for transaction_index, (transaction, receipt) in enumerate(
        zip(transactions, receipts, strict=True)
    ):
        for log in receipt.logs:
            rows.append(
                LogRow(
                    block_number=header.block_number,
                    log_index=len(rows),
                    block_hash=header.hash,
                    transaction_hash=transaction.hash,
                    transaction_index=transaction_index,
                    address=bytes(log.address),
                    topics=tuple(topic.to_bytes(32, "big") for topic in log.topics),
                    data=bytes(log.data),
                )
            )
    return rows


def make_receipt(
    header: BlockHeaderAPI,
    index: int,
    transaction: SignedTransactionAPI,
    receipt: ReceiptAPI,
    previous: ReceiptAPI | None,
    rows: Sequence[LogRow],
) -> Receipt:
    """Build a gateway receipt from py-evm's receipt and the indexed log rows."""
    gas_used = receipt.gas_used - (previous.gas_used if previous is not None else 0)
    contract_address = (
        generate_contract_address(transaction.sender, transaction.nonce)
        if transaction.to == b""
        else None
    )
    return Receipt(
        transaction_hash=transaction.hash,
        block_number=header.block_number,
        block_hash=header.hash,
        transaction_index=index,
        status=1 if receipt.state_root == _SUCCESS else 0,
        gas_used=gas_used,
        contract_address=contract_address,
        logs=tuple(
            RawLog(
                address=r.address, topics=r.topics, data=r.data, block_number=r.block_number,
                block_hash=r.block_hash, transaction_hash=r.transaction_hash,
                transaction_index=r.transaction_index, log_index=r.log_index,
            )
            for r in rows
        ),
    )
