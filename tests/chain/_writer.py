"""Write blocks into an embedded chain forever; the durability test SIGKILLs this process.

Usage: python _writer.py <folder> <private key hex>

Every transaction calls the probe contract with an increasing counter ``i`` that the
probe stores in slot 0 and emits as topic 1, so a reopened chain can be checked: the
logs index must hold counters 1..slot0 exactly once, and the sender's nonce must equal
1 (the deployment) + slot0.
"""

from __future__ import annotations

import sys
from pathlib import Path

from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import probe  # noqa: E402

from node.chain.embedded import EmbeddedChain  # noqa: E402
from node.chain.errors import CallReverted  # noqa: E402
from node.chain.txsend import TxSender  # noqa: E402

TOPIC = b"\x7a" * 32


def main() -> None:
    folder, key = Path(sys.argv[1]), bytes.fromhex(sys.argv[2])
    account = Account.from_key(key)
    sender_address = bytes.fromhex(account.address[2:])
    chain = EmbeddedChain(folder, genesis_balances={sender_address: 10**24})
    sender = TxSender(chain)
    from eth._utils.address import generate_contract_address

    address = generate_contract_address(sender_address, 0)
    if chain.nonce(sender_address) == 0:
        sender.send([sender.build(account, None, probe.INITCODE, gas=1_000_000)])
    try:
        counter = int.from_bytes(probe.decode_read(chain.call(address, probe.READ))[0], "big")
    except CallReverted:
        counter = 0
    batch = 1
    while True:
        signed = []
        for _ in range(batch):
            counter += 1
            data = probe.emit(TOPIC, counter.to_bytes(32, "big"), b"x" * 40)
            signed.append(sender.build(account, address, data, gas=100_000))
        sender.send(signed)
        print(chain.head().number, flush=True)
        batch = batch % 5 + 1


if __name__ == "__main__":
    main()
