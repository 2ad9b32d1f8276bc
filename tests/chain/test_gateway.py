"""The gateway behaviour suite: written once, run on the embedded chain and on anvil."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from node.chain.errors import CallReverted, TransactionRejected
from tests.chain.harness import ChainHarness, address_bytes

from . import probe

TOPIC_A = keccak(b"ProbeA(uint256)")
TOPIC_B = keccak(b"ProbeB(uint256)")


@pytest.fixture
def probe_address(chain: ChainHarness) -> bytes:
    return chain.deploy_bytecode(probe.INITCODE)


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def test_chain_id_head_and_blocks(chain: ChainHarness) -> None:
    gateway = chain.gateway
    assert gateway.chain_id == 1337
    head = gateway.head()
    assert gateway.block(head.number) == head
    assert gateway.block(head.number + 1) is None
    assert gateway.block(-1) is None
    genesis = gateway.block(0)
    assert genesis is not None and genesis.parent_hash == b"\0" * 32


def test_raw_header_hashes_to_block_hash(chain: ChainHarness, probe_address: bytes) -> None:
    head = chain.gateway.head()
    for number in (0, head.number):
        block = chain.gateway.block(number)
        assert block is not None
        assert keccak(chain.gateway.raw_header(number)) == block.hash


def test_deploy_and_receipt(chain: ChainHarness, probe_address: bytes) -> None:
    assert len(probe_address) == 20
    receipt = chain.transact(chain.accounts[1], probe_address,
                             probe.emit(TOPIC_A, _word(7), b"hello"))
    assert receipt.status == 1
    assert receipt.gas_used > 21_000
    assert receipt.contract_address is None
    assert chain.gateway.receipt(receipt.transaction_hash) == receipt
    block = chain.gateway.block(receipt.block_number)
    assert block is not None and block.hash == receipt.block_hash
    (log,) = receipt.logs
    assert log.address == probe_address
    assert log.topics == (TOPIC_A, _word(7))
    assert log.data == b"hello"
    assert log.transaction_hash == receipt.transaction_hash
    assert chain.gateway.receipt(b"\x42" * 32) is None


def test_get_logs_filters(chain: ChainHarness, probe_address: bytes) -> None:
    other = chain.deploy_bytecode(probe.INITCODE)
    first = chain.transact(chain.accounts[0], probe_address, probe.emit(TOPIC_A, _word(1)))
    chain.transact(chain.accounts[0], other, probe.emit(TOPIC_B, _word(2)))
    last = chain.transact(chain.accounts[0], probe_address, probe.emit(TOPIC_B, _word(3)))
    start, end = first.block_number, last.block_number
    get = chain.gateway.get_logs

    everything = get(start, end)
    assert [log.topics[1] for log in everything] == [_word(1), _word(2), _word(3)]
    assert [(log.block_number, log.log_index) for log in everything] == sorted(
        (log.block_number, log.log_index) for log in everything
    )
    assert [log.topics[1] for log in get(start, end, addresses=[probe_address])] == [
        _word(1), _word(3)
    ]
    assert [log.topics[1] for log in get(start, end, topic0=[TOPIC_B])] == [_word(2), _word(3)]
    assert [log.topics[1] for log in get(start, end, [probe_address], [TOPIC_B])] == [_word(3)]
    assert len(get(start, end, [probe_address, other], [TOPIC_A, TOPIC_B])) == 3
    assert get(start + 1, end - 1, topic0=[TOPIC_A]) == []
    assert get(end + 1, end + 10) == []
    assert get(start, start) == list(first.logs)


def test_revert_data_from_call_estimate_and_transaction(
    chain: ChainHarness, probe_address: bytes
) -> None:
    payload = bytes.fromhex("08c379a0") + b"\x11" * 40
    with pytest.raises(CallReverted) as called:
        chain.call(probe_address, probe.fail(payload))
    assert called.value.data == payload
    sender = chain.accounts[2]
    with pytest.raises(CallReverted) as estimated:
        chain.gateway.estimate_gas(address_bytes(sender), probe_address, probe.fail(payload))
    assert estimated.value.data == payload

    nonce = chain.gateway.nonce(address_bytes(sender))
    with pytest.raises(CallReverted) as sent:
        chain.transact(sender, probe_address, probe.fail(payload))
    assert sent.value.data == payload
    # A reverting transaction is still mined, with status 0, and uses its nonce.
    assert chain.gateway.nonce(address_bytes(sender)) == nonce + 1


def test_call_reads_state_and_history(chain: ChainHarness, probe_address: bytes) -> None:
    first = chain.transact(chain.accounts[0], probe_address, probe.emit(TOPIC_A, _word(5)))
    chain.transact(chain.accounts[0], probe_address, probe.emit(TOPIC_A, _word(6)))
    slot, _, _ = probe.decode_read(chain.call(probe_address, probe.READ))
    assert slot == _word(6)
    old = chain.gateway.call(probe_address, probe.READ, block=first.block_number)
    assert probe.decode_read(old)[0] == _word(5)
    assert chain.gateway.estimate_gas(
        address_bytes(chain.accounts[0]), probe_address, probe.emit(TOPIC_A, _word(9))
    ) > 21_000


def test_value_transfer_balance_and_base_fee(chain: ChainHarness) -> None:
    gateway = chain.gateway
    assert gateway.base_fee() > 0
    recipient = b"\x99" * 20
    before = gateway.balance(recipient)
    chain.transact(chain.accounts[3], recipient, b"", value=12345)
    assert gateway.balance(recipient) == before + 12345


def test_nonce_tracking_and_rejected_stale_nonce(chain: ChainHarness) -> None:
    account = chain.accounts[4]
    sender = chain.sender
    address = address_bytes(account)
    start = chain.gateway.nonce(address)
    first = sender.build(account, b"\x01" * 20, value=1, gas=21_000)
    second = sender.build(account, b"\x01" * 20, value=2, gas=21_000)
    assert (first.nonce, second.nonce) == (start, start + 1)
    sender.send([first, second])
    for signed in (first, second):
        assert sender.wait(signed.hash, timeout=10).status == 1
    assert chain.gateway.nonce(address) == start + 2

    stale = sender.build(account, b"\x01" * 20, value=3, gas=21_000, nonce=start)
    with pytest.raises(TransactionRejected) as rejected:
        sender.send([stale])
    assert "nonce" in str(rejected.value).lower()
    # After a rejection the sender asks the chain again.
    fresh = sender.build(account, b"\x01" * 20, value=4, gas=21_000)
    assert fresh.nonce == start + 2
    sender.send([fresh])
    assert sender.wait(fresh.hash, timeout=10).status == 1


def test_underpriced_transaction_is_rejected(chain: ChainHarness) -> None:
    account = chain.accounts[5]
    cheap = chain.sender.build(account, b"\x01" * 20, value=1, gas=21_000, max_fee_per_gas=1)
    with pytest.raises(TransactionRejected):
        chain.sender.send([cheap])
    assert chain.gateway.receipt(cheap.hash) is None


def test_garbage_transaction_is_rejected(chain: ChainHarness) -> None:
    with pytest.raises(TransactionRejected):
        chain.gateway.send_raw_transactions([b"\x02\xc0\x01"])


def test_resending_a_mined_transaction_is_idempotent(chain: ChainHarness) -> None:
    account = chain.accounts[6]
    signed = chain.sender.build(account, b"\x01" * 20, value=1, gas=21_000)
    assert chain.gateway.send_raw_transactions([signed.raw]) == [signed.hash]
    receipt = chain.sender.wait(signed.hash, timeout=10)
    assert chain.gateway.send_raw_transactions([signed.raw]) == [signed.hash]
    assert chain.gateway.receipt(signed.hash) == receipt
    assert chain.gateway.nonce(address_bytes(account)) == signed.nonce + 1


def test_batch_from_several_accounts(chain: ChainHarness, probe_address: bytes) -> None:
    batch = [
        chain.sender.build(account, probe_address, probe.emit(TOPIC_A, _word(i)))
        for i, account in enumerate(chain.accounts)
    ]
    hashes = chain.sender.send(batch)
    assert hashes == [signed.hash for signed in batch]
    receipts = [chain.sender.wait(h, timeout=10) for h in hashes]
    assert all(r.status == 1 for r in receipts)
    logs = chain.gateway.get_logs(receipts[0].block_number, receipts[-1].block_number,
                                  [probe_address])
    assert sorted(log.topics[1] for log in logs) == [_word(i) for i in range(10)]


def test_snapshot_and_revert(chain: ChainHarness, probe_address: bytes) -> None:
    gateway = chain.gateway
    account = chain.accounts[7]
    head = gateway.head()
    nonce = gateway.nonce(address_bytes(account))
    snapshot = chain.snapshot()
    receipt = chain.transact(account, probe_address, probe.emit(TOPIC_A, _word(1)))
    chain.mine(3)
    assert gateway.head().number == head.number + 4
    chain.revert(snapshot)
    assert gateway.head() == head
    assert gateway.receipt(receipt.transaction_hash) is None
    assert gateway.nonce(address_bytes(account)) == nonce
    assert gateway.get_logs(head.number + 1, head.number + 10) == []
    assert gateway.block(head.number + 1) is None
    # The chain grows again from the reverted head.
    again = chain.transact(account, probe_address, probe.emit(TOPIC_B, _word(2)))
    assert again.block_number == head.number + 1
    (log,) = gateway.get_logs(head.number + 1, head.number + 1)
    assert log.topics[0] == TOPIC_B


def test_mine_and_timestamps(chain: ChainHarness, probe_address: bytes) -> None:
    gateway = chain.gateway
    head = gateway.head()
    chain.mine(3)
    mined = [gateway.block(head.number + i) for i in (1, 2, 3)]
    assert all(b is not None for b in mined)
    stamps = [head.timestamp] + [b.timestamp for b in mined if b is not None]
    assert stamps == sorted(stamps)  # anvil may repeat a second; the embedded chain never

    pinned = gateway.head().timestamp + 1000
    chain.set_next_block_timestamp(pinned)
    receipt = chain.transact(chain.accounts[8], probe_address, probe.emit(TOPIC_A, _word(1)))
    block = gateway.block(receipt.block_number)
    assert block is not None and block.timestamp == pinned
    _, stamp, number = probe.decode_read(
        gateway.call(probe_address, probe.READ, block=receipt.block_number - 1)
    )
    assert number == receipt.block_number - 1  # a call runs in its block's context
    chain.mine()
    assert gateway.head().timestamp >= pinned


def test_deploy_from_artifact(chain: ChainHarness, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    artifact = {
        "abi": [{"type": "constructor", "stateMutability": "nonpayable", "inputs": [
            {"name": "council", "type": "address[]"}, {"name": "threshold", "type": "uint8"},
            {"name": "pair", "type": "tuple",
             "components": [{"name": "a", "type": "bytes32"}, {"name": "b", "type": "bool"}]},
        ]}],
        "bytecode": "0x" + probe.INITCODE.hex(),
    }
    (tmp_path / "Probe.json").write_text(json.dumps(artifact))
    monkeypatch.setattr(chain, "artifacts", tmp_path)
    address = chain.deploy("Probe", [a.address for a in chain.accounts[:3]], 2,
                           (b"\x01" * 32, True), sender=chain.accounts[9])
    deployer = address_bytes(chain.accounts[9])
    assert chain.gateway.nonce(deployer) >= 1
    assert probe.decode_read(chain.call(address, probe.READ))[0] == b"\0" * 32
    with pytest.raises(TypeError):
        chain.deploy("Probe", 1)


def test_accounts_are_funded_test_keys(chain: ChainHarness) -> None:
    assert len(chain.accounts) >= 10
    assert chain.accounts[0].address == Account.from_key(chain.accounts[0].key).address
    for account in chain.accounts:
        assert chain.gateway.balance(address_bytes(account)) > 10**21


def test_blocks_never_wait_without_a_lead_bound(chain: ChainHarness) -> None:
    # anvil mines on its own schedule; the embedded chain of this suite runs without max_lead
    # (tests/node/test_block_pacing.py covers the node's, which has one)
    assert chain.gateway.block_delay() == 0.0 == chain.gateway.block_delay(keep_lead=True)
