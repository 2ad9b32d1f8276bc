"""The chain harness behind the shared ``chain`` fixture: accounts, deploy, transact, call."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount

from node.chain.anvil import TEST_MNEMONIC
from node.chain.embedded import EmbeddedChain
from node.chain.errors import CallReverted
from node.chain.gateway import ChainGateway, Receipt, TestChainControl
from node.chain.txsend import TxSender

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "node" / "chain" / "artifacts"
TEST_CHAIN_ID = 1337
ACCOUNT_COUNT = 10
ACCOUNT_BALANCE = 10**6 * 10**18
FALLBACK_GAS = 5_000_000


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

    def transact(self, sender: LocalAccount, to: bytes, data: bytes, value: int = 0,
                 gas: int | None = None) -> Receipt:
        """Send a transaction (``gas`` given: without estimating it), wait, raise :class:`CallReverted` if it failed."""
        return self._send(sender, to, data, value, gas)

    def _send(self, sender: LocalAccount, to: bytes | None, data: bytes, value: int,
              gas: int | None = None) -> Receipt:
        from_ = address_bytes(sender)
        if gas is None:
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
