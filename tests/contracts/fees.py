"""A driver for a deployed FeeSchedule, and the directory + schedule set-up the fee suites share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.domain.fee_rules import FeeRules, default_fee_rules
from ledger.domain.fees import FeeFacts
from node.chain.abi import ContractAbi, DecodedEvent
from node.chain.errors import CallReverted
from node.chain.fee_schedule import case_facts, decode_lines, fee_schedule_abi, publish_calls
from node.chain.gateway import Receipt

from .helpers import HOUSING, TAX, Registry


@dataclass
class FeeScheduleDriver:
    """Drives a deployed FeeSchedule through the shared chain harness."""

    chain: Any
    address: bytes
    tax: LocalAccount
    abi: ContractAbi = field(default_factory=fee_schedule_abi)

    def tx(self, sender: LocalAccount, fn: str, *args: Any) -> Receipt:
        receipt: Receipt = self.chain.transact(sender, self.address, self.abi.encode_call(fn, args))
        assert receipt.status == 1
        return receipt

    def view(self, fn: str, *args: Any) -> Any:
        out = self.abi.decode_output(fn, self.chain.call(self.address, self.abi.encode_call(fn, args)))
        return out[0] if len(out) == 1 else out

    def quote(self, facts: FeeFacts | tuple[Any, ...]) -> dict[str, int]:
        """Return the contract's lines in fen for domain facts or a raw ``CaseFacts`` tuple."""
        struct = facts if isinstance(facts, tuple) else case_facts(facts)
        return decode_lines(self.chain.call(self.address, self.abi.encode_call("quote", [struct])))

    def publish(self, rules: FeeRules) -> None:
        for data in publish_calls(rules):
            self.chain.transact(self.tax, self.address, data)

    def events(self, receipt: Receipt) -> list[DecodedEvent]:
        return self.abi.decode_logs(receipt.logs)

    @contextmanager
    def reverts(self, name: str, **expected: Any) -> Iterator[None]:
        """Expect the block to revert with custom error ``name`` (and these args)."""
        with pytest.raises(CallReverted) as info:
            yield
        got, got_args = self.abi.decode_error(info.value.data)
        assert got == name, (got, got_args)
        for key, value in expected.items():
            assert got_args[key] == value, (key, got_args[key], value)


def deploy_fee_schedule(chain: Any, rules: FeeRules | None = None) -> tuple[FeeScheduleDriver, Registry]:
    """Deploy a directory (council 0–2, TAX = account 6, HOUSING = account 5) and a FeeSchedule publishing ``rules``."""
    council = chain.accounts[0:3]
    directory = chain.deploy("LicenceRegistry", [a.address for a in council], 1, sender=chain.accounts[0])
    registry = Registry(chain, directory, list(council))
    registry.add_department("TAX", chain.accounts[6], TAX, "110000")
    registry.add_department("HOUSING", chain.accounts[5], HOUSING, "110000")
    address = chain.deploy("FeeSchedule", directory, sender=chain.accounts[6])
    driver = FeeScheduleDriver(chain, address, chain.accounts[6])
    driver.publish(rules or default_fee_rules())
    return driver, registry

