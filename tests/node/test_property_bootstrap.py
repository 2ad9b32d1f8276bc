"""The demo bootstrap deploys the property register and the settlement token against its directory."""

from __future__ import annotations

from pathlib import Path

from ledger.domain.identifiers import to_bytes32
from node.chain.abi import contract
from node.config import load_settings
from node.services.bootstrap import init_demo, open_gateway


def test_init_demo_deploys_property_contracts(tmp_path: Path) -> None:
    result = init_demo(tmp_path / "data", port=18001)
    settings = load_settings(tmp_path / "data", background=False)
    assert settings.property_registry_address == result.property_registry_address
    assert settings.settlement_token_address == result.settlement_token_address
    register = bytes.fromhex(settings.property_registry_address[2:])
    token = bytes.fromhex(settings.settlement_token_address[2:])
    directory = bytes.fromhex(settings.registry_address[2:])
    gateway = open_gateway("embedded", tmp_path / "data", settings.chain_id)
    try:
        reg_abi, token_abi, dir_abi = (contract(n) for n in
                                       ("PropertyRegistry", "SettlementToken", "LicenceRegistry"))
        assert reg_abi.decode_output("directory", gateway.call(
            register, reg_abi.encode_call("directory")))[0] == directory
        assert token_abi.decode_output("decimals", gateway.call(
            token, token_abi.encode_call("decimals")))[0] == 2
        bank = dir_abi.decode_output("department", gateway.call(
            directory, dir_abi.encode_call("department", [to_bytes32("BANK")])))[0]
        assert dir_abi.decode_output("hasRole", gateway.call(
            directory, dir_abi.encode_call("hasRole", [bank["account"], 16])))[0] is True
    finally:
        gateway.close()
