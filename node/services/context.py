"""What every service needs, built once per node: database, chain, keys, identities."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ledger.store.models import SigningKey
from node.chain.gateway import ChainGateway
from node.config import Settings
from node.errors import Forbidden, Unavailable
from node.keys import KeyStore
from node.services.minting import MintingPool
from verifiers.cose import Signer

IDENTITIES_FILE = "identities.json"

ROLE_BITS = {"ISSUER": 1, "REGISTRY": 2, "HOUSING": 4, "TAX": 8, "BANK": 16, "COURT": 32,
             "NOTARY": 64}


@dataclass(frozen=True)
class Identity:
    """A department this node acts for."""

    code: str
    name: str
    uscc: str
    region: str
    roles: tuple[str, ...]
    endpoint: str = ""

    @property
    def role_bits(self) -> int:
        """Return the roles as the contract's bitmask."""
        bits = 0
        for r in self.roles:
            bits |= ROLE_BITS[r]
        return bits


def read_identities(data_dir: Path) -> dict[str, Identity]:
    """Return the department identities recorded in ``<data>/identities.json``."""
    path = data_dir / IDENTITIES_FILE
    if not path.exists():
        return {}
    raw = json.loads(path.read_text("utf-8"))
    return {d["code"]: Identity(code=d["code"], name=d["name"], uscc=d["uscc"],
                                region=d["region"], roles=tuple(d["roles"]),
                                endpoint=d.get("endpoint", ""))
            for d in raw["departments"]}


def write_identities(data_dir: Path, identities: list[Identity]) -> None:
    """Record the department identities this node holds."""
    body = {"departments": [
        {"code": i.code, "name": i.name, "uscc": i.uscc, "region": i.region,
         "roles": list(i.roles), "endpoint": i.endpoint} for i in identities
    ]}
    (data_dir / IDENTITIES_FILE).write_text(
        json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@dataclass
class NodeContext:
    """The node's shared resources; services receive it instead of globals."""

    settings: Settings
    engine: Engine
    gateway: ChainGateway
    registry: bytes
    keystore: KeyStore
    identities: dict[str, Identity]
    on_accepted: Callable[[], None] = lambda: None
    clock: Callable[[], int] = lambda: int(time.time())
    minting: MintingPool = field(default_factory=lambda: MintingPool(0))
    _signers: dict[str, Signer] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _issuing: Counter[str] = field(default_factory=Counter)

    def identity(self, code: str) -> Identity:
        """Return the identity ``code``; raise Forbidden when this node does not hold it."""
        try:
            return self.identities[code]
        except KeyError:
            raise Forbidden(f"this node does not act for department {code!r}",
                            department=code) from None

    def account(self, code: str) -> LocalAccount:
        """Return the chain account of department ``code``."""
        self.identity(code)
        return self.keystore.account(code)

    def department_lock(self, code: str) -> threading.Lock:
        """Return the lock that orders signing and key rotation for ``code``."""
        with self._guard:
            return self._locks.setdefault(code, threading.Lock())

    @contextmanager
    def signing(self, code: str) -> Iterator[Signer]:
        """Hold the department's signing lock and yield its active signer."""
        with self.department_lock(code):
            signer = self._signers.get(code)
            if signer is None:
                signer = self._load_signer(code)
                self._signers[code] = signer
            yield signer

    @contextmanager
    def issuing(self, code: str) -> Iterator[None]:
        """Count a request of ``code`` as being issued in this process while the block runs."""
        with self._guard:
            self._issuing[code] += 1
        try:
            yield
        finally:
            with self._guard:
                self._issuing[code] -= 1

    def is_issuing(self, code: str) -> bool:
        """Return whether this process is issuing licences of ``code`` now (more leaves are coming)."""
        return self._issuing[code] > 0

    def forget_signer(self, code: str) -> None:
        """Drop the cached signer (after a rotation); the caller holds the lock."""
        self._signers.pop(code, None)

    def _load_signer(self, code: str) -> Signer:
        with Session(self.engine) as s:
            row = s.exec(select(SigningKey).where(SigningKey.department == code,
                                                  SigningKey.active == True)  # noqa: E712
                         ).first()
        if row is None:
            raise Unavailable(f"{code} has no active signing key registered yet",
                              department=code)
        return Signer(self.keystore.signing_key(row.key_file))

    def anchor_wakeup(self) -> None:
        """Tell the anchorer that new leaves are waiting."""
        self.on_accepted()
