"""Shared fixtures: a chain harness over the embedded chain and anvil, and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount

from node.chain.anvil import TEST_MNEMONIC, AnvilProcess
from node.chain.embedded import EmbeddedChain
from node.chain.errors import CallReverted
from node.chain.gateway import ChainGateway, Receipt, TestChainControl
from node.chain.rpc import RpcChain
from node.chain.txsend import TxSender

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "node" / "chain" / "artifacts"
TEST_CHAIN_ID = 1337
ACCOUNT_COUNT = 10
ACCOUNT_BALANCE = 10**6 * 10**18
FALLBACK_GAS = 5_000_000
POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


def _test_accounts() -> list[LocalAccount]:
    Account.enable_unaudited_hdwallet_features()
    return [
        Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        for i in range(ACCOUNT_COUNT)
    ]


TEST_ACCOUNTS = _test_accounts()


def _abi_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + kind[5:]
    return kind


def address_bytes(account: LocalAccount | str | bytes) -> bytes:
    """Return the 20-byte address of an account, hex string or bytes."""
    if isinstance(account, bytes):
        return account
    text = account if isinstance(account, str) else account.address
    return bytes.fromhex(text[2:])


class ChainHarness:
    """A gateway plus funded accounts and shortcuts to deploy, transact and call."""

    def __init__(self, gateway: ChainGateway, accounts: Sequence[LocalAccount],
                 artifacts: Path = ARTIFACTS) -> None:
        assert isinstance(gateway, TestChainControl)
        self.gateway = gateway
        self.accounts = list(accounts)
        self.artifacts = artifacts
        self.sender = TxSender(gateway)

    @property
    def backend(self) -> str:
        return "embedded" if isinstance(self.gateway, EmbeddedChain) else "anvil"

    def deploy(self, artifact_name: str, *ctor_args: object,
               sender: LocalAccount | None = None) -> bytes:
        """Deploy ``<artifacts>/<artifact_name>.json`` and return the contract address."""
        artifact = json.loads((self.artifacts / f"{artifact_name}.json").read_text())
        bytecode = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
        ctor = next((e for e in artifact["abi"] if e.get("type") == "constructor"), None)
        types = [_abi_type(p) for p in ctor["inputs"]] if ctor else []
        if len(types) != len(ctor_args):
            raise TypeError(f"{artifact_name} takes {len(types)} constructor arguments")
        return self.deploy_bytecode(bytecode + encode(types, list(ctor_args)), sender=sender)

    def deploy_bytecode(self, initcode: bytes, sender: LocalAccount | None = None) -> bytes:
        """Deploy raw init code and return the contract address."""
        receipt = self._send(sender or self.accounts[0], None, initcode, 0)
        assert receipt.contract_address is not None
        return receipt.contract_address

    def transact(self, sender: LocalAccount, to: bytes, data: bytes, value: int = 0) -> Receipt:
        """Send a transaction, wait for it, raise :class:`CallReverted` if it failed."""
        return self._send(sender, to, data, value)

    def _send(self, sender: LocalAccount, to: bytes | None, data: bytes, value: int) -> Receipt:
        from_ = address_bytes(sender)
        try:
            gas = int(self.gateway.estimate_gas(from_, to, data, value) * 1.25) + 10_000
        except CallReverted:
            # The estimate may see another block context (time); let the chain decide.
            gas = FALLBACK_GAS
        signed = self.sender.build(sender, to, data, value, gas=gas)
        self.sender.send([signed])
        receipt = self.sender.wait(signed.hash, timeout=30)
        if receipt.status == 0:
            output = self.gateway.transaction_output(signed.hash)  # type: ignore[attr-defined]
            raise CallReverted(output or b"")
        return receipt

    def call(self, to: bytes, data: bytes, sender: LocalAccount | None = None) -> bytes:
        return self.gateway.call(to, data, address_bytes(sender) if sender else None)

    def set_next_block_timestamp(self, timestamp: int) -> None:
        self.gateway.set_next_block_timestamp(timestamp)  # type: ignore[attr-defined]

    def mine(self, blocks: int = 1) -> None:
        self.gateway.mine(blocks)  # type: ignore[attr-defined]

    def snapshot(self) -> object:
        return self.gateway.snapshot()  # type: ignore[attr-defined]

    def revert(self, snapshot: object) -> None:
        self.gateway.revert(snapshot)  # type: ignore[attr-defined]
        self.sender.reset()


@pytest.fixture(scope="module")
def embedded_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainHarness]:
    """One embedded chain in a fresh folder per test module."""
    folder = tmp_path_factory.mktemp("embedded-chain")
    gateway = EmbeddedChain(
        folder,
        chain_id=TEST_CHAIN_ID,
        genesis_balances={address_bytes(a): ACCOUNT_BALANCE for a in TEST_ACCOUNTS},
        synchronous="OFF",
    )
    yield ChainHarness(gateway, TEST_ACCOUNTS)
    gateway.close()


@pytest.fixture(scope="module")
def anvil_backend() -> Iterator[ChainHarness]:
    """One fresh anvil process per test module (anvil slows as its chain grows)."""
    with AnvilProcess(chain_id=TEST_CHAIN_ID, accounts=ACCOUNT_COUNT,
                      balance_ether=ACCOUNT_BALANCE // 10**18) as anvil:
        gateway = RpcChain(anvil.url)
        yield ChainHarness(gateway, TEST_ACCOUNTS)
        gateway.close()


def _isolated(harness: ChainHarness) -> Iterator[ChainHarness]:
    snapshot = harness.snapshot()
    harness.sender.reset()
    yield harness
    harness.revert(snapshot)


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def chain(request: pytest.FixtureRequest) -> Iterator[ChainHarness]:
    """The chain harness on each backend, reverted after every test."""
    yield from _isolated(request.getfixturevalue(f"{request.param}_backend"))


@pytest.fixture
def embedded_chain(embedded_backend: ChainHarness) -> Iterator[ChainHarness]:
    """The embedded chain harness alone, reverted after the test."""
    yield from _isolated(embedded_backend)


@pytest.fixture
def anvil_chain(anvil_backend: ChainHarness) -> Iterator[ChainHarness]:
    """The anvil chain harness alone, reverted after the test."""
    yield from _isolated(anvil_backend)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema, dropped after the test."""
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL at {plain} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
