"""Setting up a data folder: keys, database, contracts and (for the demo) a whole consortium.

``init_demo`` creates a council of three (threshold two, its seats held by MARKET,
POLICE and HEALTH) and the departments
MARKET, POLICE, HEALTH, REGISTRY, HOUSING, TAX, BANK and COURT, each with its own
chain account and credential-signing key, deploys the registry, has the council
add every department and has each department register its first key, and deploys
the property register and the settlement token against the registry's directory. TAX
deploys the ``FeeSchedule`` (reading roles from the registry's directory) and publishes
the packaged fee rule table on it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from sqlmodel import Session

from ledger.domain.fee_rules import default_fee_rules
from ledger.domain.identifiers import to_bytes32, uscc_check_char
from ledger.store.db import make_engine, migrate
from ledger.store.models import SigningKey
from node.chain.abi import contract
from node.chain.fee_schedule import fee_schedule_abi, publish_calls
from node.chain.gateway import ChainGateway, Receipt
from node.chain.txsend import TxSender
from node.config import write_config_file
from node.errors import NodeError
from node.keys import KeyStore
from node.services.auth import issue_token
from node.services.context import Identity, write_identities
from verifiers.trust import ALG_ES256

TOKENS_FILE = "tokens.json"
FUNDING_WEI = 10**24
COUNCIL_SIZE = 3
COUNCIL_THRESHOLD = 2
# The departments that hold the demo council's seats (``council-1`` … on chain), in order.
COUNCIL_SEATS = ("MARKET", "POLICE", "HEALTH")
# Fixed gas for the fee schedule's set-up (about twice what it uses: 1.8 M to deploy,
# at most 130 k per publish); estimating each costs more time than the rest of the demo's set-up.
FEE_DEPLOY_GAS = 4_000_000
FEE_PUBLISH_GAS = 250_000

DEMO_DEPARTMENTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("MARKET", "北京市市场监督管理局", ("ISSUER",)),
    ("POLICE", "北京市公安局", ("ISSUER",)),
    ("HEALTH", "北京市卫生健康委员会", ("ISSUER",)),
    ("REGISTRY", "北京市不动产登记中心", ("REGISTRY", "ISSUER")),
    ("HOUSING", "北京市住房和城乡建设委员会", ("HOUSING",)),
    ("TAX", "国家税务总局北京市税务局", ("TAX", "ISSUER")),
    ("BANK", "示范商业银行北京分行", ("BANK",)),
    ("COURT", "北京市朝阳区人民法院", ("COURT",)),
]


class InitError(NodeError):
    """Raised when a data folder cannot be initialised."""

    code = "init_failed"


@dataclass
class InitResult:
    """What ``regnode init`` made."""

    data_dir: Path
    registry_address: str
    departments: list[str]
    tokens: dict[str, str]
    chain: str
    db_url: str
    property_registry_address: str = ""
    settlement_token_address: str = ""
    fee_schedule_address: str = ""
    transfer_cases_address: str = ""


@dataclass(frozen=True)
class PropertyContracts:
    """Where :func:`deploy_property_contracts` put the two contracts."""

    property_registry: bytes
    settlement_token: bytes
    block: int


def demo_uscc(region: str, index: int) -> str:
    """Return a well-formed government-agency USCC for demo department ``index``."""
    first17 = f"11{region}{index:08d}M"[:17]
    return first17 + uscc_check_char(first17)


def open_gateway(chain: str, data_dir: Path, chain_id: int,
                 genesis: dict[bytes, int] | None = None) -> ChainGateway:
    """Open the embedded chain in ``data_dir`` or connect to the JSON-RPC URL ``chain``."""
    if chain == "embedded":
        from node.chain.embedded import EmbeddedChain

        return EmbeddedChain(data_dir / "chain", chain_id=chain_id, genesis_balances=genesis,
                             max_lead=1)
    from node.chain.rpc import RpcChain

    return RpcChain(chain)


def _fund(gateway: ChainGateway, addresses: list[bytes]) -> None:
    """Give test-chain accounts gas money (anvil's ``anvil_setBalance``)."""
    request: Callable[..., object] | None = getattr(gateway, "request", None)
    if request is None:
        raise InitError("this chain cannot fund accounts; fund them and rerun")
    for a in addresses:
        if gateway.balance(a) < FUNDING_WEI // 10:
            request("anvil_setBalance", "0x" + a.hex(), hex(FUNDING_WEI))


def _addr(account: LocalAccount) -> bytes:
    return bytes.fromhex(account.address[2:])


def _transact(tx: TxSender, account: LocalAccount, to: bytes | None, data: bytes) -> Receipt:
    receipt = tx.wait(tx.transact(account, to, data), timeout=60)
    if receipt.status != 1:
        raise InitError(f"set-up transaction from {account.address} reverted")
    return receipt


Call = tuple[LocalAccount, bytes | None, bytes]


def _transact_all(tx: TxSender, calls: list[Call], fixed_gas: Sequence[tuple[Call, int]] = ()) -> list[Receipt]:
    """Send independent transactions together (one block on the embedded chain).

    ``calls`` get a gas estimate; ``fixed_gas`` calls are sent after them with the gas given.
    """
    signed = [tx.build(account, to, data) for account, to, data in calls]
    signed += [tx.build(account, to, data, gas=gas) for (account, to, data), gas in fixed_gas]
    tx.send(signed)
    receipts = [tx.wait(t.hash, timeout=60) for t in signed]
    if any(r.status != 1 for r in receipts):
        raise InitError("a set-up transaction reverted")
    return receipts


def deploy_property_contracts(tx: TxSender, deployer: LocalAccount,
                              directory: bytes) -> PropertyContracts:
    """Deploy PropertyRegistry and SettlementToken reading roles from ``directory`` (one block)."""
    receipts = _transact_all(tx, [
        (deployer, None, contract(name).encode_deploy([directory]))
        for name in ("PropertyRegistry", "SettlementToken")])
    register, token = (r.contract_address for r in receipts)
    assert register is not None and token is not None
    return PropertyContracts(register, token, receipts[0].block_number)


def init_demo(data_dir: Path, chain: str = "embedded", db_url: str | None = None,
              port: int = 8000, chain_id: int = 1337, region: str = "110000",
              progress: Callable[[str], None] = lambda _msg: None) -> InitResult:
    """Create a demo consortium in ``data_dir`` and return what was made."""
    if (data_dir / "regnode.toml").exists():
        raise InitError(f"{data_dir} is already initialised", data_dir=str(data_dir))
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = KeyStore(data_dir / "keys")
    keys.ensure()
    council = [keys.create_account(f"council-{i + 1}") for i in range(COUNCIL_SIZE)]
    identities = [Identity(code=c, name=n, uscc=demo_uscc(region, i + 1), region=region,
                           roles=r, endpoint=f"http://127.0.0.1:{port}")
                  for i, (c, n, r) in enumerate(DEMO_DEPARTMENTS)]
    accounts = {i.code: keys.create_account(i.code) for i in identities}
    everyone = [_addr(a) for a in council] + [_addr(a) for a in accounts.values()]

    progress("starting the chain")
    gateway = open_gateway(chain, data_dir, chain_id, {a: FUNDING_WEI for a in everyone})
    try:
        if chain != "embedded":
            _fund(gateway, everyone)
        tx = TxSender(gateway)
        registry_abi = contract("LicenceRegistry")
        progress("deploying the registry contract")
        deploy = _transact(tx, council[0], None, registry_abi.encode_deploy(
            [[a.address for a in council], COUNCIL_THRESHOLD]))
        registry = deploy.contract_address
        assert registry is not None
        progress("deploying the property register and the settlement token")
        property_contracts = deploy_property_contracts(tx, council[0], registry)
        progress("the council adds the departments")
        actions = [registry_abi.encode_call("addDepartment", [
            to_bytes32(i.code), accounts[i.code].address, i.role_bits, to_bytes32(i.region),
            i.endpoint]) for i in identities]
        first = registry_abi.decode_output(
            "proposalCount", gateway.call(registry, registry_abi.encode_call("proposalCount")))[0] + 1
        # TAX deploys the fee schedule in the same block; it publishes once it holds the role.
        proposed = _transact_all(
            tx, [(council[0], registry, registry_abi.encode_call("propose", [a])) for a in actions],
            [((accounts["TAX"], None, fee_schedule_abi().encode_deploy([registry])), FEE_DEPLOY_GAS)])
        fee_schedule = proposed[-1].contract_address
        assert fee_schedule is not None
        progress("deploying the transfer cases")
        cases = _transact(tx, council[0], None, contract("TransferCases").encode_deploy(
            [registry, property_contracts.property_registry, fee_schedule,
             property_contracts.settlement_token])).contract_address
        assert cases is not None
        _transact_all(tx, [(council[1], registry, registry_abi.encode_call("approve", [first + n]))
                           for n in range(len(actions))])
        engine_url = db_url or f"sqlite:///{(data_dir / 'ledger.sqlite3').resolve()}"
        engine = make_engine(engine_url)
        migrate(engine)
        tokens: dict[str, str] = {}
        progress("each department registers its signing key; TAX publishes the fee schedule")
        new_keys = {i.code: keys.create_signing_key(i.code, ALG_ES256) for i in identities}
        receipts = _transact_all(tx, [
            (accounts[i.code], registry, registry_abi.encode_call(
                "rotateKey", [new_keys[i.code].kid, new_keys[i.code].alg,
                              new_keys[i.code].public_key_der])) for i in identities],
            [((accounts["TAX"], fee_schedule, data), FEE_PUBLISH_GAS) for data in publish_calls(default_fee_rules())])
        # REGISTRY binds the cases to the register; REGISTRY and TAX let the cases anchor in their
        # names (the new title certificate at settlement, the e-tax vouchers at assessment).
        _transact_all(tx, [
            (accounts["REGISTRY"], property_contracts.property_registry,
             contract("PropertyRegistry").encode_call("bindTransferCases", [cases])),
            *[(accounts[code], registry, registry_abi.encode_call("setAnchorDelegate", [cases, True]))
              for code in ("REGISTRY", "TAX")]])
        block = gateway.block(receipts[0].block_number)
        with Session(engine) as s:
            for ident in identities:
                new = new_keys[ident.code]
                s.add(SigningKey(kid=new.kid.hex(), department=ident.code, alg=new.alg,
                                 public_key=new.public_key_der.hex(), key_file=new.path.name,
                                 created_at=int(time.time()), active=True,
                                 registered_at=block.timestamp if block else None))
                tokens[ident.code] = issue_token(s, ident.code, label="demo")
            s.commit()
        engine.dispose()
        write_identities(data_dir, identities)
        _write_tokens(data_dir, tokens)
        config = {
            "chain": chain, "chain_id": chain_id, "registry_address": "0x" + registry.hex(),
            "registry_block": deploy.block_number, "port": port,
            "property_registry_address": "0x" + property_contracts.property_registry.hex(),
            "settlement_token_address": "0x" + property_contracts.settlement_token.hex(),
            "fee_schedule_address": "0x" + fee_schedule.hex(),
            "transfer_cases_address": "0x" + cases.hex(),
            "departments": [i.code for i in identities], "node_department": "MARKET",
            "council_seats": dict(zip(COUNCIL_SEATS, (f"council-{i + 1}" for i in range(COUNCIL_SIZE)),
                                      strict=True)),
            "verifier_region": region, "webhook_secret": secrets.token_hex(32),
            "profile": "embedded" if chain == "embedded" else "department",
        }
        if db_url:
            config["db_url"] = db_url
        write_config_file(data_dir, config)
    finally:
        gateway.close()
    return InitResult(data_dir=data_dir, registry_address="0x" + registry.hex(),
                      departments=[i.code for i in identities], tokens=tokens, chain=chain,
                      db_url=engine_url,
                      property_registry_address="0x" + property_contracts.property_registry.hex(),
                      settlement_token_address="0x" + property_contracts.settlement_token.hex(),
                      fee_schedule_address="0x" + fee_schedule.hex(),
                      transfer_cases_address="0x" + cases.hex())


def _write_tokens(data_dir: Path, tokens: dict[str, str]) -> None:
    path = data_dir / TOKENS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(tokens, fh, indent=2)
        fh.write("\n")


def read_tokens(data_dir: Path) -> dict[str, str]:
    """Return the department tokens ``init --demo`` wrote (empty when none)."""
    path = data_dir / TOKENS_FILE
    return json.loads(path.read_text()) if path.exists() else {}
