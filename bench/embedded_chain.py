"""Measure the embedded chain: transactions per second and get_logs cost at depth.

Run ``python -m bench.embedded_chain [--depth N]``; prints one JSON object.
Transactions are signed before the clock starts, so the figures are the chain's own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from eth._utils.address import generate_contract_address
from eth_account import Account
from eth_utils import to_checksum_address

from node.chain.embedded import EmbeddedChain

_KEY = b"\x01" * 32
_TOPIC = b"\x7a" * 32
# Runtime: LOG1(topic = calldata[0:32]) with no data, then stop.
_RUNTIME = bytes.fromhex("60003560006000a100")
_INITCODE = bytes.fromhex("6009600c60003960096000f3") + _RUNTIME


def _signer() -> tuple[bytes, object]:
    account = Account.from_key(_KEY)
    return bytes.fromhex(account.address[2:]), account


def _sign(account: object, nonce: int, to: bytes | None, data: bytes, chain_id: int) -> bytes:
    fields: dict[str, object] = {
        "type": 2, "chainId": chain_id, "nonce": nonce, "gas": 200_000,
        "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 1, "value": 0, "data": data,
    }
    if to is not None:
        fields["to"] = to_checksum_address(to)
    return bytes(account.sign_transaction(fields).raw_transaction)  # type: ignore[attr-defined]


def throughput(folder: Path, per_block: int, total: int, synchronous: str) -> float:
    """Return transactions per second mining ``per_block`` log-emitting txs per block."""
    address, account = _signer()
    with EmbeddedChain(folder, genesis_balances={address: 10**24},
                       synchronous=synchronous) as chain:
        chain.send_raw_transactions([_sign(account, 0, None, _INITCODE, 1337)])
        contract = generate_contract_address(address, 0)
        raws = [_sign(account, 1 + i, contract, _TOPIC, 1337) for i in range(total)]
        started = time.perf_counter()
        for i in range(0, total, per_block):
            chain.send_raw_transactions(raws[i:i + per_block])
        return total / (time.perf_counter() - started)


def logs_cost(folder: Path, depth: int) -> dict[str, object]:
    """Return SQLite steps and wall time of a 10-block get_logs near the head at depths."""
    address, account = _signer()
    out: dict[str, object] = {}
    with EmbeddedChain(folder, genesis_balances={address: 10**24}, synchronous="OFF") as chain:
        chain.send_raw_transactions([_sign(account, 0, None, _INITCODE, 1337)])
        contract = generate_contract_address(address, 0)
        nonce = 1
        for label, mine in (("shallow", 0), ("deep", depth)):
            chain.mine(mine)
            for _ in range(20):
                chain.send_raw_transactions([_sign(account, nonce, contract, _TOPIC, 1337)])
                nonce += 1
            head = chain.head().number
            with chain.count_log_query_steps() as steps:
                started = time.perf_counter()
                found = chain.get_logs(head - 9, head, [contract], [_TOPIC])
                elapsed = time.perf_counter() - started
            out[label] = {"head": head, "logs": len(found), "sqlite_steps": steps.steps,
                          "ms": round(elapsed * 1000, 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report = {
            f"tx_per_s_{per}_per_block_{sync.lower()}": round(
                throughput(root / f"t{per}{sync}", per, args.transactions, sync), 1
            )
            for per in (1, 100)
            for sync in ("FULL", "NORMAL")
        }
        report["get_logs"] = logs_cost(root / "logs", args.depth)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
