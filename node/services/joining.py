"""A department joining an existing consortium: its data folder and the join request for the council.

``init_join`` checks all it can before writing anything (the identity, the chain, the
registry, that the department code is free), then creates the data folder: the
department's chain account and first credential-signing key, the database (migrated, with
the department's API token and the key recorded as not yet registered), the
configuration, and ``join-request.json``, from which a council member proposes the
department (``regnode council propose-department --request``). A failure after the folder
was created removes it again. Once the council has added the department, its node
registers the key named in the request (``regnode keys register``).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, func, select

from ledger.domain.identifiers import is_valid_uscc, to_bytes32
from ledger.store.db import make_engine, migrate
from ledger.store.models import ApiToken, SigningKey
from node.chain.abi import contract
from node.chain.errors import CallReverted, ChainError
from node.chain.gateway import ChainGateway
from node.config import write_config_file
from node.keys import KeyStore
from node.services.auth import issue_token
from node.services.bootstrap import InitError, _addr, _fund, _write_tokens, open_gateway
from node.services.context import ROLE_BITS, Identity, write_identities
from verifiers.trust import ALG_ES256

JOIN_REQUEST_FILE = "join-request.json"
CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{1,18}")
REGION_PATTERN = re.compile(r"\d{6}")
ADDRESS_PATTERN = re.compile(r"0x[0-9a-fA-F]{40}")


class JoinRefused(InitError):
    """Raised when a join cannot go ahead; ``code`` says why (nothing was left behind)."""

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.code = code


@dataclass
class JoinResult:
    """What ``init_join`` made: the new node's folder and the request the council acts on."""

    data_dir: Path
    identity: Identity
    account: str
    tokens: dict[str, str]
    request: dict[str, Any] = field(default_factory=dict)


def check_identity(identity: Identity) -> None:
    """Refuse an identity the directory or the credentials could not carry."""
    if not CODE_PATTERN.fullmatch(identity.code):
        raise JoinRefused("invalid_department_code", "a department code is 2-19 characters: "
                          "A-Z first, then A-Z, 0-9 or _", department=identity.code)
    if not identity.name.strip() or len(identity.name) > 100:
        raise JoinRefused("invalid_name", "the department's name must be 1-100 characters")
    if not REGION_PATTERN.fullmatch(identity.region):
        raise JoinRefused("invalid_region", "a region is a 6-digit administrative division code",
                          region=identity.region)
    if not is_valid_uscc(identity.uscc):
        raise JoinRefused("invalid_uscc", "not a unified social credit code (18 characters with "
                          "a valid check character)", uscc=identity.uscc)
    unknown = [r for r in identity.roles if r not in ROLE_BITS]
    if not identity.roles or unknown:
        raise JoinRefused("invalid_roles", f"roles are one or more of {', '.join(ROLE_BITS)}",
                          roles=list(identity.roles))
    if not identity.endpoint.startswith(("http://", "https://")) or len(identity.endpoint) > 512:
        raise JoinRefused("invalid_endpoint", "the endpoint must be an http(s) URL of at most "
                          "512 characters", endpoint=identity.endpoint)


def _check_chain(gateway: ChainGateway, chain: str, registry: bytes, identity: Identity,
                 chain_id: int | None) -> int:
    """Return the chain id once the chain answers and holds a registry without ``identity``."""
    try:
        actual = gateway.chain_id
    except ChainError as exc:
        raise JoinRefused("chain_unreachable", f"cannot reach the chain at {chain}: {exc}",
                          chain=chain) from None
    if chain_id is not None and actual != chain_id:
        raise JoinRefused("wrong_chain", f"{chain} is chain {actual}, not {chain_id}",
                          chain_id=actual)
    abi = contract("LicenceRegistry")
    try:
        abi.decode_output("departmentCount", gateway.call(registry, abi.encode_call("departmentCount")))
    except Exception:  # an empty address or another contract: no answer or one that does not decode
        raise JoinRefused("not_a_registry", f"no LicenceRegistry at 0x{registry.hex()}",
                          registry_address="0x" + registry.hex()) from None
    try:
        gateway.call(registry, abi.encode_call("department", [to_bytes32(identity.code)]))
    except CallReverted:
        return actual  # DepartmentDirectoryUnknownDepartment: the code is free
    raise JoinRefused("department_exists", f"the directory already has a department {identity.code}",
                      department=identity.code)


def init_join(data_dir: Path, chain: str, registry_address: str, registry_block: int,
              identity: Identity, db_url: str | None = None, chain_id: int | None = None,
              port: int = 8000, fund: bool = False) -> JoinResult:
    """Prepare a node for ``identity`` joining the consortium whose registry is on ``chain``.

    ``registry_block`` is where the node starts indexing (the registry's deployment block,
    or 0). ``fund`` gives the new account gas money on a test chain (anvil).
    """
    check_identity(identity)
    if chain == "embedded":
        raise JoinRefused("embedded_chain", "the embedded chain lives inside one node; join a "
                          "consortium over JSON-RPC (--chain URL)")
    if not ADDRESS_PATTERN.fullmatch(registry_address):
        raise JoinRefused("invalid_registry_address", "the registry address is 0x and 40 hex digits",
                          registry_address=registry_address)
    if registry_block < 0:
        raise JoinRefused("invalid_registry_block", "the registry block is a block number")
    existed = data_dir.exists()
    if existed and (not data_dir.is_dir() or any(data_dir.iterdir())):
        if (data_dir / "regnode.toml").exists():
            raise JoinRefused("already_initialised", f"{data_dir} is already initialised",
                              data_dir=str(data_dir))
        raise JoinRefused("data_folder_exists", f"{data_dir} already exists and is not empty",
                          data_dir=str(data_dir))
    registry = bytes.fromhex(registry_address[2:])
    gateway = open_gateway(chain, data_dir, chain_id or 0)
    try:
        actual_chain_id = _check_chain(gateway, chain, registry, identity, chain_id)
        data_dir.mkdir(parents=True, exist_ok=True)  # only once chain and registry check out
        try:
            return _create(data_dir, gateway, identity, registry, registry_block, chain,
                           actual_chain_id, db_url, port, fund)
        except BaseException:
            shutil.rmtree(data_dir, ignore_errors=True)
            if existed:
                data_dir.mkdir()
            raise
    finally:
        gateway.close()


def _create(data_dir: Path, gateway: ChainGateway, identity: Identity, registry: bytes,
            registry_block: int, chain: str, chain_id: int, db_url: str | None, port: int,
            fund: bool) -> JoinResult:
    keys = KeyStore(data_dir / "keys")
    keys.ensure()
    account = keys.create_account(identity.code)
    signing = keys.create_signing_key(identity.code, ALG_ES256)
    if fund:
        try:
            _fund(gateway, [_addr(account)])
        except ChainError as exc:
            raise JoinRefused("cannot_fund", f"this chain cannot fund accounts ({exc}); fund "
                              f"{account.address} and run init again without --fund") from None
    engine_url = db_url or f"sqlite:///{(data_dir / 'ledger.sqlite3').resolve()}"
    engine = make_engine(engine_url)
    try:
        migrate(engine)
        with Session(engine) as s:
            if s.exec(select(func.count()).select_from(ApiToken)).one():
                raise JoinRefused("database_in_use", "the database already holds a node's tables "
                                  "and tokens: give each node its own database or schema")
            # Not active until the chain records it (`regnode keys register` after approval).
            s.add(SigningKey(kid=signing.kid.hex(), department=identity.code, alg=signing.alg,
                             public_key=signing.public_key_der.hex(), key_file=signing.path.name,
                             created_at=int(time.time()), active=False))
            tokens = {identity.code: issue_token(s, identity.code, label="join")}
            s.commit()
    except SQLAlchemyError as exc:
        raise JoinRefused("database_unavailable", f"cannot prepare the database: "
                          f"{type(exc).__name__}") from None
    finally:
        engine.dispose()
    write_identities(data_dir, [identity])
    _write_tokens(data_dir, tokens)
    config: dict[str, Any] = {
        "chain": chain, "chain_id": chain_id, "registry_address": "0x" + registry.hex(),
        "registry_block": registry_block, "port": port, "departments": [identity.code],
        "node_department": identity.code, "verifier_region": identity.region,
        "webhook_secret": secrets.token_hex(32), "profile": "consortium",
    }
    if db_url:
        config["db_url"] = db_url
    write_config_file(data_dir, config)
    request = {
        "department": identity.code, "name": identity.name, "uscc": identity.uscc,
        "region": identity.region, "roles": list(identity.roles), "endpoint": identity.endpoint,
        "account": account.address, "chain_id": chain_id,
        "registry_address": "0x" + registry.hex(),
        "signing_key": {"kid": signing.kid.hex(), "alg": signing.alg,
                        "public_key": signing.public_key_der.hex()},
    }
    (data_dir / JOIN_REQUEST_FILE).write_text(json.dumps(request, ensure_ascii=False, indent=2) + "\n",
                                              encoding="utf-8")
    return JoinResult(data_dir=data_dir, identity=identity, account=account.address,
                      tokens=tokens, request=request)
