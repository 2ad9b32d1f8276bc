"""Embedded-chain-only behaviour: persistence, kill -9 durability, events index cost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth._utils.address import generate_contract_address

from node.chain.embedded import EmbeddedChain
from node.chain.errors import ChainError, TransactionRejected
from node.chain.txsend import TxSender
from tests.chain.harness import TEST_ACCOUNTS, address_bytes

from . import probe

TOPIC = b"\x7a" * 32
RARE = b"\x5e" * 32
KEY = TEST_ACCOUNTS[0].key
SENDER = address_bytes(TEST_ACCOUNTS[0])


def _open(folder: Path, **kwargs: object) -> EmbeddedChain:
    return EmbeddedChain(folder, genesis_balances={SENDER: 10**24}, **kwargs)  # type: ignore[arg-type]


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _deploy(chain: EmbeddedChain, sender: TxSender) -> bytes:
    signed = sender.build(TEST_ACCOUNTS[0], None, probe.INITCODE, gas=1_000_000)
    sender.send([signed])
    receipt = chain.receipt(signed.hash)
    assert receipt is not None and receipt.contract_address is not None
    return receipt.contract_address


def test_reopen_resumes_at_persisted_head(tmp_path: Path) -> None:
    with _open(tmp_path) as chain:
        sender = TxSender(chain)
        address = _deploy(chain, sender)
        signed = sender.build(TEST_ACCOUNTS[0], address, probe.emit(TOPIC, _word(3)))
        sender.send([signed])
        chain.mine(2)
        head, logs = chain.head(), chain.get_logs(0, 100)
        receipt = chain.receipt(signed.hash)
    with _open(tmp_path) as reopened:
        assert reopened.head() == head
        assert reopened.get_logs(0, 100) == logs
        assert reopened.receipt(signed.hash) == receipt
        assert probe.decode_read(reopened.call(address, probe.READ))[0] == _word(3)
        sender = TxSender(reopened)
        again = sender.build(TEST_ACCOUNTS[0], address, probe.emit(TOPIC, _word(4)))
        sender.send([again])
        assert reopened.head().number == head.number + 1
        assert [log.topics[1] for log in reopened.get_logs(0, 100)] == [_word(3), _word(4)]


def test_reopen_with_another_chain_id_is_refused(tmp_path: Path) -> None:
    _open(tmp_path, chain_id=1337).close()
    with pytest.raises(ChainError, match="chain id"):
        _open(tmp_path, chain_id=7)


def test_a_batch_with_an_invalid_transaction_mines_nothing(tmp_path: Path) -> None:
    with _open(tmp_path) as chain:
        sender = TxSender(chain)
        good = sender.build(TEST_ACCOUNTS[0], b"\x01" * 20, value=1, gas=21_000)
        gap = sender.build(TEST_ACCOUNTS[0], b"\x01" * 20, value=1, gas=21_000,
                           nonce=good.nonce + 5)
        head = chain.head()
        with pytest.raises(TransactionRejected, match="nonce") as rejected:
            chain.send_raw_transactions([good.raw, gap.raw])
        assert rejected.value.transaction_hash == gap.hash
        assert chain.head() == head
        assert chain.receipt(good.hash) is None
        chain.send_raw_transactions([good.raw])
        assert chain.receipt(good.hash) is not None


def test_revert_drops_indexed_logs_and_survives_reopen(tmp_path: Path) -> None:
    with _open(tmp_path) as chain:
        sender = TxSender(chain)
        address = _deploy(chain, sender)
        snapshot = chain.snapshot()
        sender.send([sender.build(TEST_ACCOUNTS[0], address, probe.emit(TOPIC, _word(1)))])
        assert len(chain.get_logs(0, 100)) == 1
        chain.revert(snapshot)
        assert chain.get_logs(0, 100) == []
        head = chain.head()
    with _open(tmp_path) as reopened:
        assert reopened.head() == head
        assert reopened.get_logs(0, 100) == []
        sender = TxSender(reopened)
        sender.send([sender.build(TEST_ACCOUNTS[0], address, probe.emit(TOPIC, _word(2)))])
        (log,) = reopened.get_logs(0, 100)
        assert log.topics[1] == _word(2) and log.block_number == head.number + 1


def _check_consistent(folder: Path) -> int:
    """Reopen ``folder`` and check blocks, state and the logs index agree; return head."""
    with _open(folder) as chain:
        head = chain.head()
        parent = chain.block(0)
        assert parent is not None
        for number in range(1, head.number + 1):
            block = chain.block(number)
            assert block is not None and block.parent_hash == parent.hash
            parent = block
        assert parent == head
        address = generate_contract_address(SENDER, 0)
        nonce = chain.nonce(SENDER)
        if nonce == 0:
            assert chain.get_logs(0, head.number + 100) == []
            return head.number
        counter = int.from_bytes(probe.decode_read(chain.call(address, probe.READ))[0], "big")
        # State: the deployment plus one transaction per counter value.
        assert nonce == 1 + counter
        # Index: exactly the counters 1..counter, in chain order, nothing past the head.
        logs = chain.get_logs(0, head.number + 100, [address], [TOPIC])
        assert [int.from_bytes(log.topics[1], "big") for log in logs] == list(
            range(1, counter + 1)
        )
        assert all(log.block_number <= head.number for log in logs)
        # Each indexed log matches its transaction's receipt in its block.
        for log in logs[-20:]:
            receipt = chain.receipt(log.transaction_hash)
            assert receipt is not None and receipt.logs == (log,)
            block = chain.block(log.block_number)
            assert block is not None and block.hash == log.block_hash
        return head.number


@pytest.mark.slow
def test_kill_9_leaves_whole_blocks(tmp_path: Path) -> None:
    writer = Path(__file__).with_name("_writer.py")
    heads = []
    for target in (15, 25, 40):
        process = subprocess.Popen(
            [sys.executable, str(writer), str(tmp_path), KEY.hex()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        seen = 0
        while seen < target:
            line = process.stdout.readline()
            assert line, f"writer died: {process.stderr.read() if process.stderr else ''}"
            seen += 1
            assert time.monotonic() < deadline, "writer too slow"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
        heads.append(_check_consistent(tmp_path))
    assert heads == sorted(heads) and heads[-1] >= 15 + 25 + 40


@pytest.mark.slow
def test_get_logs_cost_does_not_grow_with_depth(tmp_path: Path) -> None:
    with _open(tmp_path, synchronous="OFF") as chain:
        sender = TxSender(chain)
        address = _deploy(chain, sender)

        def emit_blocks(count: int, start: int) -> None:
            for i in range(start, start + count):
                sender.send([sender.build(TEST_ACCOUNTS[0], address,
                                          probe.emit(TOPIC, _word(i)), gas=100_000)])

        def measure() -> tuple[int, int]:
            head = chain.head().number
            with chain.count_log_query_steps() as recent:
                assert len(chain.get_logs(head - 9, head, [address], [TOPIC])) == 10
            with chain.count_log_query_steps() as rare:
                assert len(chain.get_logs(0, head, topic0=[RARE])) == 1
            return recent.steps, rare.steps

        sender.send([sender.build(TEST_ACCOUNTS[0], address, probe.emit(RARE, _word(0)))])
        emit_blocks(20, 1)
        shallow = measure()
        chain.mine(10_000)
        emit_blocks(20, 100)
        assert chain.head().number > 10_000
        deep = measure()
    # Steps are SQLite VM instructions: a block scan would multiply them by ~500.
    assert deep[0] <= shallow[0] * 1.5 + 100, (shallow, deep)
    assert deep[1] <= shallow[1] * 1.5 + 100, (shallow, deep)


def test_block_delay_is_what_seal_waits(tmp_path: Path) -> None:
    chain = _open(tmp_path / "c", max_lead=1)
    try:
        while chain.head().timestamp <= time.time():  # blocks ahead of the wall clock
            chain.mine(1)
        delay = chain.block_delay()
        assert 0 < delay <= 1
        assert chain.block_delay(keep_lead=True) == pytest.approx(delay + 1, abs=0.05)
        time.sleep(delay + 0.01)
        t0 = time.monotonic()
        chain.mine(1)  # no wait now: the second of lead is taken
        assert time.monotonic() - t0 < 0.5
        assert chain.head().timestamp > time.time() and chain.block_delay() > 0
        chain.set_next_block_timestamp(chain.head().timestamp + 1)  # a test's own timestamp is not paced
        assert chain.block_delay() == 0.0 == chain.block_delay(keep_lead=True)
    finally:
        chain.close()
    unpaced = _open(tmp_path / "u")
    try:
        unpaced.mine(3)
        assert unpaced.block_delay() == 0.0 == unpaced.block_delay(keep_lead=True)
    finally:
        unpaced.close()
