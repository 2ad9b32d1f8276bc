"""The JSON-RPC chain backend (anvil in tests; Besu, Geth or another EVM node in production).

Hex strings from the node become typed values in the ``_to_*`` helpers of this module
and nowhere else; values going out become hex in ``_hex``/``_qty``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

import httpx
import rlp
from eth_hash.auto import keccak

from node.chain.errors import CallReverted, ChainError, ChainUnavailable, TransactionRejected
from node.chain.gateway import BlockRef, RawLog, Receipt

_REVERT_CODES = {3, -32015}
# Header fields in RLP order; later forks append fields, absent ones end the list.
_HEADER_FIELDS = (
    ("parentHash", "hash"), ("sha3Uncles", "hash"), ("miner", "hash"),
    ("stateRoot", "hash"), ("transactionsRoot", "hash"), ("receiptsRoot", "hash"),
    ("logsBloom", "hash"), ("difficulty", "qty"), ("number", "qty"), ("gasLimit", "qty"),
    ("gasUsed", "qty"), ("timestamp", "qty"), ("extraData", "hash"), ("mixHash", "hash"),
    ("nonce", "hash"), ("baseFeePerGas", "qty"), ("withdrawalsRoot", "hash"),
    ("blobGasUsed", "qty"), ("excessBlobGas", "qty"), ("parentBeaconBlockRoot", "hash"),
    ("requestsHash", "hash"),
)


class RpcError(ChainError):
    """Raised when the node answers a request with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data


# -- inbound normalisation -------------------------------------------------------------


def _to_int(value: str) -> int:
    return int(value, 16)


def _to_bytes(value: str | None) -> bytes:
    if not value:
        return b""
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def _to_block_ref(block: dict[str, Any]) -> BlockRef:
    return BlockRef(
        number=_to_int(block["number"]),
        hash=_to_bytes(block["hash"]),
        parent_hash=_to_bytes(block["parentHash"]),
        timestamp=_to_int(block["timestamp"]),
    )


def _to_log(log: dict[str, Any]) -> RawLog:
    return RawLog(
        address=_to_bytes(log["address"]),
        topics=tuple(_to_bytes(t) for t in log["topics"]),
        data=_to_bytes(log["data"]),
        block_number=_to_int(log["blockNumber"]),
        block_hash=_to_bytes(log["blockHash"]),
        transaction_hash=_to_bytes(log["transactionHash"]),
        transaction_index=_to_int(log["transactionIndex"]),
        log_index=_to_int(log["logIndex"]),
    )


def _to_receipt(receipt: dict[str, Any]) -> Receipt:
    contract = receipt.get("contractAddress")
    return Receipt(
        transaction_hash=_to_bytes(receipt["transactionHash"]),
        block_number=_to_int(receipt["blockNumber"]),
        block_hash=_to_bytes(receipt["blockHash"]),
        transaction_index=_to_int(receipt["transactionIndex"]),
        status=_to_int(receipt["status"]),
        gas_used=_to_int(receipt["gasUsed"]),
        contract_address=_to_bytes(contract) if contract else None,
        logs=tuple(_to_log(log) for log in receipt["logs"]),
    )


def _header_rlp(block: dict[str, Any]) -> bytes:
    fields: list[object] = []
    for name, kind in _HEADER_FIELDS:
        if block.get(name) is None:
            break
        fields.append(_to_int(block[name]) if kind == "qty" else _to_bytes(block[name]))
    encoded = rlp.encode(fields)
    if keccak(encoded) != _to_bytes(block["hash"]):
        raise ChainError(f"cannot rebuild the header of block {block['number']} from JSON")
    return encoded


def _revert_data(data: object) -> bytes:
    if isinstance(data, str) and data.startswith("0x"):
        return _to_bytes(data)
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
        return _revert_data(data.get("data"))
    return b""


# -- outbound normalisation ------------------------------------------------------------


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _qty(value: int) -> str:
    return hex(value)


class RpcChain:
    """A chain reached over JSON-RPC/HTTP with one keep-alive client."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout, headers={"content-type": "application/json"})
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()
        self._chain_id: int | None = None

    # -- transport ---------------------------------------------------------------------

    def _post(self, payload: object) -> Any:
        try:
            response = self._client.post(self.url, json=payload)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise ChainUnavailable(f"{self.url}: {error}") from error
        return response.json()

    def _next_id(self) -> int:
        with self._id_lock:
            return next(self._ids)

    def request(self, method: str, *params: object) -> Any:
        """Send one JSON-RPC request and return its result."""
        answer = self._post({"jsonrpc": "2.0", "id": self._next_id(), "method": method,
                             "params": list(params)})
        return self._result(method, answer)

    def batch(self, calls: Sequence[tuple[str, Sequence[object]]]) -> list[Any]:
        """Send requests in one batch; return results or :class:`RpcError` per call."""
        if not calls:
            return []
        ids = [self._next_id() for _ in calls]
        answers = self._post([
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
            for i, (m, p) in zip(ids, calls, strict=True)
        ])
        if not isinstance(answers, list):  # a node may refuse batches with one error object
            return [self._outcome(m, answers) for m, _ in calls]
        by_id = {a.get("id"): a for a in answers}
        return [self._outcome(m, by_id.get(i, {})) for i, (m, _) in zip(ids, calls, strict=True)]

    @staticmethod
    def _outcome(method: str, answer: dict[str, Any]) -> Any:
        try:
            return RpcChain._result(method, answer)
        except RpcError as error:
            return error

    @staticmethod
    def _result(method: str, answer: dict[str, Any]) -> Any:
        error = answer.get("error")
        if error is not None:
            raise RpcError(method, error.get("code", 0), error.get("message", ""),
                           error.get("data"))
        if "result" not in answer:
            raise ChainError(f"{method}: malformed JSON-RPC answer {answer!r}")
        return answer["result"]

    def _call_or_revert(self, method: str, *params: object) -> Any:
        try:
            return self.request(method, *params)
        except RpcError as error:
            if error.code in _REVERT_CODES or "revert" in error.rpc_message.lower():
                raise CallReverted(_revert_data(error.data), error.rpc_message) from None
            raise

    # -- ChainGateway ------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = _to_int(self.request("eth_chainId"))
        return self._chain_id

    def head(self) -> BlockRef:
        return _to_block_ref(self.request("eth_getBlockByNumber", "latest", False))

    def block(self, number: int) -> BlockRef | None:
        if number < 0:
            return None
        block = self.request("eth_getBlockByNumber", _qty(number), False)
        return None if block is None else _to_block_ref(block)

    def raw_header(self, number: int) -> bytes:
        block = self.request("eth_getBlockByNumber", _qty(number), False)
        if block is None:
            raise ChainError(f"no canonical block {number}")
        return _header_rlp(block)

    def get_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Sequence[bytes] = (),
        topic0: Sequence[bytes] = (),
    ) -> list[RawLog]:
        query: dict[str, object] = {"fromBlock": _qty(from_block), "toBlock": _qty(to_block)}
        if addresses:
            query["address"] = [_hex(a) for a in addresses]
        if topic0:
            query["topics"] = [[_hex(t) for t in topic0]]
        try:
            found = self.request("eth_getLogs", query)
        except RpcError:
            # Some nodes refuse a range past the head; the gateway treats it as empty.
            head = self.head().number
            if to_block <= head:
                raise
            if from_block > head:
                return []
            query["toBlock"] = _qty(head)
            found = self.request("eth_getLogs", query)
        logs = [_to_log(log) for log in found]
        return sorted(logs, key=lambda log: (log.block_number, log.log_index))

    def call(self, to: bytes, data: bytes, sender: bytes | None = None,
             block: int | None = None) -> bytes:
        message: dict[str, object] = {"to": _hex(to), "data": _hex(data)}
        if sender is not None:
            message["from"] = _hex(sender)
        tag = "latest" if block is None else _qty(block)
        return _to_bytes(self._call_or_revert("eth_call", message, tag))

    def estimate_gas(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0) -> int:
        message: dict[str, object] = {"from": _hex(sender), "data": _hex(data),
                                      "value": _qty(value)}
        if to is not None:
            message["to"] = _hex(to)
        return _to_int(self._call_or_revert("eth_estimateGas", message, "latest"))

    def nonce(self, address: bytes) -> int:
        return _to_int(self.request("eth_getTransactionCount", _hex(address), "pending"))

    def balance(self, address: bytes) -> int:
        return _to_int(self.request("eth_getBalance", _hex(address), "latest"))

    def code(self, address: bytes) -> bytes:
        """Return the contract code at ``address`` at the head."""
        return _to_bytes(self.request("eth_getCode", _hex(address), "latest"))

    def base_fee(self) -> int:
        history = self.request("eth_feeHistory", _qty(1), "latest", [])
        return _to_int(history["baseFeePerGas"][-1])

    def block_delay(self, keep_lead: bool = False) -> float:
        """Return 0.0: the node mines on its own schedule."""
        return 0.0

    def send_raw_transactions(self, raw_transactions: Sequence[bytes]) -> list[bytes]:
        """Submit transactions in one batch; a resend of a mined transaction is accepted."""
        hashes = [keccak(bytes(raw)) for raw in raw_transactions]
        results = self.batch([("eth_sendRawTransaction", [_hex(raw)])
                              for raw in raw_transactions])
        for tx_hash, result in zip(hashes, results, strict=True):
            if isinstance(result, RpcError):
                if self._already_known(tx_hash, result):
                    continue
                raise TransactionRejected(
                    f"transaction {_hex(tx_hash)} rejected: {result.rpc_message}", tx_hash
                )
        return hashes

    def _already_known(self, tx_hash: bytes, error: RpcError) -> bool:
        message = error.rpc_message.lower()
        if "already known" in message or "already imported" in message:
            return True
        return "nonce" in message and self.receipt(tx_hash) is not None

    def receipt(self, transaction_hash: bytes) -> Receipt | None:
        receipt = self.request("eth_getTransactionReceipt", _hex(transaction_hash))
        return None if receipt is None else _to_receipt(receipt)

    def receipts(self, transaction_hashes: Sequence[bytes]) -> list[Receipt | None]:
        """Return the receipts of several transactions in one batch."""
        results = self.batch([("eth_getTransactionReceipt", [_hex(h)])
                              for h in transaction_hashes])
        out: list[Receipt | None] = []
        for result in results:
            if isinstance(result, RpcError):
                raise result
            out.append(None if result is None else _to_receipt(result))
        return out

    def transaction_output(self, transaction_hash: bytes) -> bytes | None:
        """Return the return or revert data of a mined transaction (``debug`` namespace)."""
        if self.receipt(transaction_hash) is None:
            return None
        trace = self.request("debug_traceTransaction", _hex(transaction_hash),
                             {"tracer": "callTracer"})
        return _to_bytes(trace.get("output"))

    def close(self) -> None:
        self._client.close()

    # -- TestChainControl (anvil, hardhat, ganache) ------------------------------------

    def snapshot(self) -> object:
        return self.request("evm_snapshot")

    def revert(self, snapshot: object) -> None:
        if not self.request("evm_revert", snapshot):
            raise ChainError(f"the node refused to revert to snapshot {snapshot!r}")

    def set_next_block_timestamp(self, timestamp: int) -> None:
        self.request("evm_setNextBlockTimestamp", timestamp)

    def mine(self, blocks: int = 1) -> None:
        if blocks == 1:
            self.request("evm_mine")
        else:
            self.request("anvil_mine", _qty(blocks))
