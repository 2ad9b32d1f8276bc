"""Two departments' nodes on one anvil chain: peer proofs and mutual recognition.

Node A is the Beijing demo consortium (it deploys the registry; its data folder holds
the council's keys). Node B joins the same registry as GDMARKET, Guangdong's market
regulator, with its own data folder, PostgreSQL schema and chain account, and serves
its API over real HTTP at the endpoint it registered in the on-chain directory. A
verifies B's licences by fetching their Merkle proofs from B and checking them against
the roots anchored on chain. Nothing is mocked: chain, databases and HTTP are real;
the "fake peer" is a real HTTP server that answers with tampered proofs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from ledger.domain.identifiers import to_bytes32
from ledger.domain.merkle import MerkleTree
from ledger.store.models import PeerProof
from node.app import create_app
from node.chain.abi import contract
from node.chain.anvil import AnvilProcess
from node.chain.rpc import RpcChain
from node.chain.txsend import TxSender
from node.config import load_settings
from node.keys import KeyStore
from node.runtime import Runtime
from node.services import council, keys
from node.services.bootstrap import InitError, demo_uscc, init_demo, read_tokens
from node.services.context import Identity
from node.services.joining import init_join
from tests.conftest import fresh_postgres_schema
from tests.node.conftest import DemoNode
from tests.node.served import ServedApp
from verifiers.snapshot import load_snapshot
from verifiers.verify import verify_token

pytestmark = [pytest.mark.anvil, pytest.mark.postgres]

BUSINESS = "11100000000013338W011"  # Beijing recognises Guangdong's business licences from set-up
FOOD = "11100000000013338W042"  # food permits: the council votes on them in a test
BEIJING, GUANGDONG = "110000", "440000"
GD = "GDMARKET"


class Node(DemoNode):
    """One department node driven from the test: runtime, in-process client, tokens."""

    def verify(self, token: str, at: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"token": token} if at is None else {"token": token, "at": at}
        r = self.client.post("/v1/verify", json=body)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def issue(self, dept: str, licence_type: str, count: int) -> list[dict[str, str]]:
        licences = [{"type": licence_type, "holder_name": f"{dept} 企业{i}", "holder_id": f"ID{i:04d}"}
                    for i in range(count)]
        r = self.client.post("/v1/licences/batch", json={"licences": licences},
                             headers=self.headers(dept))
        assert r.status_code == 201, r.text
        results: list[dict[str, str]] = r.json()["results"]
        return results

    def index(self) -> None:
        """Run one pass of the background work: anchorer, sender, one indexer cycle."""
        self.runtime.tick()


@dataclass
class Consortium:
    """Nodes A (Beijing, council) and B (Guangdong) on one anvil, B served over HTTP."""

    a: Node
    b: Node
    served_b: ServedApp
    gateway: RpcChain
    registry: bytes
    council_members: list[LocalAccount]
    fakes: list[ServedApp] = field(default_factory=list)

    def vote(self, action: bytes) -> None:
        """Carry a council action (2 of 3) and let both nodes index it."""
        council.enact(self.gateway, self.registry, self.council_members, action)
        self.a.index()
        self.b.index()

    def issue_b(self, licence_type: str, count: int) -> list[dict[str, str]]:
        """B issues and anchors ``count`` licences in one batch; A indexes the anchoring."""
        issued = self.b.issue(GD, licence_type, count)
        self.b.runtime.settle()
        self.a.index()
        return issued

    def offline(self, tokens: list[str], now: int) -> list[str]:
        """Return the verdicts of a snapshot A exports now (its MARKET key signs it)."""
        r = self.a.client.get("/v1/snapshot", headers=self.a.headers("MARKET"))
        assert r.status_code == 200, r.text
        snapshot = load_snapshot(r.content)
        return [verify_token(t, snapshot, now=now, verifier_region=BEIJING).verdict.value
                for t in tokens]

    def agree(self, tokens: list[str]) -> list[str]:
        """Return A's verdicts for ``tokens``, asserting its exported snapshot gives the same."""
        now = self.a.runtime.chain_time()
        offline = self.offline(tokens, now)
        online = [self.a.verify(t, at=now)["verdict"] for t in tokens]
        assert offline == online
        return online

    def anchor_directly(self, account: LocalAccount, leaves: list[bytes], licence_type: str) -> bytes:
        """Anchor a root of ``leaves`` from ``account`` itself, bypassing its node."""
        abi = contract("LicenceRegistry")
        root = MerkleTree(leaves).root
        tx = TxSender(self.gateway)
        receipt = tx.wait(tx.transact(account, self.registry, abi.encode_call(
            "anchorBatch", [root, len(leaves), to_bytes32(licence_type)])), timeout=60)
        assert receipt.status == 1
        self.a.index()
        return root


def _node(data: Path) -> Node:
    settings = load_settings(data, background=False, batch_size=64)
    runtime = Runtime(settings)
    client = TestClient(create_app(settings, runtime), raise_server_exceptions=False)
    return Node(data, runtime, client, read_tokens(data))


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("consortium")
    with AnvilProcess(chain_id=31337) as anvil, fresh_postgres_schema() as db_a, \
            fresh_postgres_schema() as db_b:
        init_demo(root / "a", chain=anvil.url, db_url=db_a, chain_id=31337, region=BEIJING)
        a = _node(root / "a")
        members = [KeyStore(root / "a" / "keys").account(f"council-{i}") for i in (1, 2)]
        gateway = RpcChain(anvil.url)
        served_b = ServedApp()  # B's port is known before B registers it as its endpoint
        identity = Identity(code=GD, name="广东省市场监督管理局", uscc=demo_uscc(GUANGDONG, 1),
                            region=GUANGDONG, roles=("ISSUER",), endpoint=served_b.url)
        joined = init_join(root / "b", chain=anvil.url, registry_address=a.runtime.settings.registry_address,
                           registry_block=a.runtime.settings.registry_block, identity=identity,
                           db_url=db_b, chain_id=31337, fund=True)
        world = Consortium(a=a, b=a, served_b=served_b, gateway=gateway, registry=a.runtime.ctx.registry,
                           council_members=members)
        council.enact(gateway, world.registry, members, council.add_department_call(identity, joined.account))
        b = _node(root / "b")
        world.b = b
        keys.rotate(b.runtime, GD)  # B registers its first signing key
        world.vote(council.set_trust_call(BEIJING, GUANGDONG, BUSINESS))
        served_b.start(create_app(b.runtime.settings, b.runtime))
        try:
            yield world
        finally:
            for fake in world.fakes:
                fake.stop()
            served_b.stop()
            a.runtime.stop()
            b.runtime.stop()
            gateway.close()


def test_nodes_share_one_registry_with_their_own_databases(consortium: Consortium) -> None:
    a, b = consortium.a, consortium.b
    assert a.runtime.settings.registry_address == b.runtime.settings.registry_address
    assert a.runtime.settings.db_url != b.runtime.settings.db_url
    # Both schemas sit in one PostgreSQL database: each node still elects its own leader.
    assert a.runtime.is_leader and b.runtime.is_leader
    assert sorted(b.runtime.ctx.identities) == [GD] and GD not in a.runtime.ctx.identities
    listed = {d["code"]: d for d in a.client.get("/v1/departments").json()}
    assert listed[GD]["region"] == GUANGDONG and len(listed[GD]["keys"]) == 1
    assert a.runtime.trust.endpoint(GD) == consortium.served_b.url
    assert b.runtime.trust.department("MARKET") is not None  # B indexed the directory from the deploy block


def test_a_region_b_licence_type_is_unknown_issuer_until_the_council_recognises_it(
        consortium: Consortium) -> None:
    issued = consortium.issue_b(FOOD, 5)
    tokens = [x["qr"] for x in issued]
    before = [consortium.a.verify(t) for t in tokens]
    assert {r["verdict"] for r in before} == {"unknown_issuer"}
    assert "does not recognise" in before[0]["reason"] and "peer" not in before[0]
    assert consortium.agree(tokens) == ["unknown_issuer"] * 5
    # Guangdong's own node accepts its licences: same region needs no trust relation.
    assert {consortium.b.verify(t)["verdict"] for t in tokens} == {"valid"}

    consortium.vote(council.set_trust_call(BEIJING, GUANGDONG, FOOD))
    first = consortium.a.verify(tokens[0])
    assert first["verdict"] == "valid", first
    assert first["issuer"] == GD and first["issuer_region"] == GUANGDONG
    assert first["peer"]["code"] == "proven" and first["peer"]["endpoint"] == consortium.served_b.url
    again = consortium.a.verify(tokens[0])
    assert again["verdict"] == "valid" and "peer" not in again  # the checked proof is kept
    assert consortium.agree(tokens) == ["valid"] * 5

    # The relation is one-way: Guangdong has not recognised Beijing's food permits.
    [beijing] = consortium.a.issue("MARKET", FOOD, 1)
    consortium.a.runtime.settle()
    consortium.b.index()
    assert consortium.b.verify(beijing["qr"])["verdict"] == "unknown_issuer"

    consortium.vote(council.set_trust_call(BEIJING, GUANGDONG, FOOD, trusted=False))
    assert consortium.agree(tokens) == ["unknown_issuer"] * 5


def test_a_five_leaf_batch_is_proven_leaf_by_leaf_against_the_anchored_root(
        consortium: Consortium) -> None:
    issued = consortium.issue_b(BUSINESS, 5)
    answers = [consortium.a.verify(x["qr"]) for x in issued]
    assert [r["verdict"] for r in answers] == ["valid"] * 5
    roots = {r["peer"]["batch_root"] for r in answers}
    assert len(roots) == 1
    with Session(consortium.a.runtime.engine) as s:
        stored = s.exec(select(PeerProof).where(col(PeerProof.root) == roots.pop())).all()
    assert sorted(p.leaf_index for p in stored) == [0, 1, 2, 3, 4]
    assert {p.department for p in stored} == {GD}


def test_a_one_leaf_batch_whose_leaf_is_its_root_verifies(consortium: Consortium) -> None:
    [one] = consortium.issue_b(BUSINESS, 1)
    answer = consortium.a.verify(one["qr"])
    assert answer["verdict"] == "valid", answer
    assert answer["peer"]["batch_root"] == one["leaf"]
    served = httpx.get(f"{consortium.served_b.url}/v1/proofs/{one['leaf']}", timeout=10).json()
    assert served["batch_count"] == 1 and served["proof"] == [] and served["batch_root"] == one["leaf"]
    assert consortium.agree([one["qr"]]) == ["valid"]


def test_a_revocation_by_b_reaches_a_in_one_indexer_cycle(consortium: Consortium) -> None:
    issued = consortium.issue_b(BUSINESS, 5)
    tokens = [x["qr"] for x in issued]
    assert [consortium.a.verify(t)["verdict"] for t in tokens] == ["valid"] * 5
    r = consortium.b.client.post(f"/v1/licences/{issued[2]['identifier']}/revoke", json={"reason": 5},
                                 headers=consortium.b.headers(GD))
    assert r.status_code == 202, r.text
    consortium.b.runtime.settle()
    assert consortium.a.verify(tokens[2])["verdict"] == "valid"  # A has not indexed it yet
    consortium.a.index()  # one indexer cycle
    revoked = consortium.a.verify(tokens[2])
    assert revoked["verdict"] == "revoked" and revoked["status_reason"] == 5
    assert consortium.agree(tokens) == ["valid", "valid", "revoked", "valid", "valid"]


def test_b_node_down_gives_a_coded_not_anchored_yet_never_a_500(consortium: Consortium) -> None:
    issued = consortium.issue_b(BUSINESS, 5)
    tokens = [x["qr"] for x in issued]
    assert consortium.a.verify(tokens[0])["verdict"] == "valid"
    consortium.served_b.stop()
    try:
        down = consortium.a.verify(tokens[1])
        assert down["verdict"] == "not_anchored_yet"
        assert down["peer"]["code"] == "peer_unreachable"
        assert consortium.served_b.url in down["reason"]
        assert consortium.a.verify(tokens[0])["verdict"] == "valid"  # proven before, kept
        assert consortium.agree(tokens[:2]) == ["valid", "not_anchored_yet"]
    finally:
        consortium.served_b.start()
    back = consortium.a.verify(tokens[1])
    assert back["verdict"] == "valid" and back["peer"]["code"] == "proven"


class FakePeer:
    """A real HTTP server at GDMARKET's endpoint that answers what the test tells it to."""

    def __init__(self) -> None:
        self.proofs: dict[str, Any] = {}
        self.batches: dict[str, Any] = {}
        app = FastAPI()

        @app.get("/v1/proofs/{leaf}")
        def proof(leaf: str) -> Response:
            return self._answer(self.proofs.get(leaf))

        @app.get("/v1/batches/{root}")
        def batch(root: str) -> Response:
            return self._answer(self.batches.get(root))

        self.served = ServedApp(app)

    @staticmethod
    def _answer(planned: Any) -> Response:
        if planned is None:
            return JSONResponse({"error": {"code": "not_found", "message": "no"}}, status_code=404)
        if isinstance(planned, Response):
            return planned
        return JSONResponse(planned)


def _proof(leaf: bytes, root: bytes, index: int, count: int, proof: list[bytes]) -> dict[str, Any]:
    return {"leaf": leaf.hex(), "department": GD, "licence_type": BUSINESS, "batch_root": root.hex(),
            "batch_count": count, "leaf_index": index, "proof": [p.hex() for p in proof],
            "block_number": 1, "anchored_at": 1, "transaction_hash": "00" * 32}


def _set_endpoint(consortium: Consortium, url: str) -> None:
    r = consortium.b.client.put("/v1/endpoint", json={"endpoint": url}, headers=consortium.b.headers(GD))
    assert r.status_code == 200, r.text
    consortium.a.index()
    assert consortium.a.runtime.trust.endpoint(GD) == url


def test_tampered_proofs_from_a_fake_peer_never_make_a_licence_valid(consortium: Consortium) -> None:
    a = consortium.a
    genuine = consortium.issue_b(BUSINESS, 5)  # anchored by B; A has not asked for their proofs
    leaves = [bytes.fromhex(x["leaf"]) for x in genuine]
    tree = MerkleTree(leaves)
    fake = FakePeer()
    consortium.fakes.append(fake.served.start())
    _set_endpoint(consortium, fake.served.url)
    [pending] = consortium.b.issue(GD, BUSINESS, 1)  # issued by B, never anchored (B does not tick)
    loose = bytes.fromhex(pending["leaf"])

    # MARKET (another department) anchors a root holding B's unanchored leaf: a valid Merkle proof,
    # but into a root the chain says MARKET anchored, not GDMARKET.
    market = KeyStore(a.data / "keys").account("MARKET")
    other = MerkleTree([loose, b"\x11" * 32])
    assert consortium.anchor_directly(market, [loose, b"\x11" * 32], BUSINESS) == other.root
    # GDMARKET's own account anchors it under another licence type.
    gd_account = KeyStore(consortium.b.data / "keys").account(GD)
    typed = MerkleTree([loose, b"\x22" * 32])
    consortium.anchor_directly(gd_account, [loose, b"\x22" * 32], FOOD)

    flipped = [bytes([tree.proof(0)[0][0] ^ 1]) + tree.proof(0)[0][1:], *tree.proof(0)[1:]]
    cases: list[tuple[str, bytes, Any, str]] = [
        (pending["qr"], loose, _proof(loose, other.root, 0, 2, other.proof(0)), "proof_rejected"),
        (pending["qr"], loose, _proof(loose, typed.root, 0, 2, typed.proof(0)), "proof_rejected"),
        (pending["qr"], loose, _proof(loose, loose, 0, 1, []), "root_not_anchored"),
        (pending["qr"], loose, _proof(loose, tree.root, 0, 5, tree.proof(0)), "proof_rejected"),
        (genuine[0]["qr"], leaves[0], _proof(leaves[0], tree.root, 0, 5, flipped), "proof_rejected"),
        (genuine[0]["qr"], leaves[0], _proof(leaves[0], tree.root, 0, 5, [*tree.proof(0), leaves[1]]),
         "proof_rejected"),
        (genuine[0]["qr"], leaves[0], _proof(leaves[0], tree.root, 9, 5, tree.proof(0)), "proof_rejected"),
        (genuine[1]["qr"], leaves[1], _proof(leaves[2], tree.root, 2, 5, tree.proof(2)), "proof_rejected"),
        (genuine[1]["qr"], leaves[1], _proof(leaves[1], leaves[1], 0, 1, []), "root_not_anchored"),
        (genuine[2]["qr"], leaves[2], Response("boom", status_code=500), "peer_refused"),
        (genuine[3]["qr"], leaves[3], Response("{not json", media_type="application/json"),
         "peer_bad_answer"),
        (genuine[4]["qr"], leaves[4], {"leaf": leaves[4].hex()}, "peer_bad_answer"),
    ]
    try:
        for token, leaf, planned, code in cases:
            fake.proofs = {leaf.hex(): planned}
            answer = a.verify(token)
            assert answer["verdict"] == "not_anchored_yet", (code, answer)
            assert answer["peer"]["code"] == code, (code, answer["peer"])
        # A whole-batch listing with a swapped leaf does not rebuild the anchored root either.
        fake.proofs = {}
        fake.batches = {tree.root.hex(): {
            "root": tree.root.hex(), "department": GD, "licence_type": BUSINESS, "count": 5,
            "leaves": [loose.hex(), *[x.hex() for x in leaves[1:]]], "block_number": 1,
            "anchored_at": 1, "transaction_hash": "00" * 32}}
        tokens = [pending["qr"], *[x["qr"] for x in genuine]]
        assert consortium.agree(tokens) == ["not_anchored_yet"] * 6
        with Session(a.runtime.engine) as s:
            kept = s.exec(select(PeerProof).where(
                col(PeerProof.leaf).in_([loose.hex(), *[x.hex() for x in leaves]]))).all()
        assert kept == []
    finally:
        _set_endpoint(consortium, consortium.served_b.url)
    # Back to the honest node: the genuine licences verify, and so does the loose one once B anchors it.
    consortium.b.runtime.settle()
    a.index()
    assert consortium.agree([pending["qr"], *[x["qr"] for x in genuine]]) == ["valid"] * 6


def test_the_snapshot_carries_trusted_foreign_leaves_a_never_verified_online(
        consortium: Consortium) -> None:
    issued = consortium.issue_b(BUSINESS, 5)
    now = consortium.a.runtime.chain_time()
    # The export fetches the batch from B and checks it rebuilds the anchored root.
    assert consortium.offline([x["qr"] for x in issued], now) == ["valid"] * 5


def test_joining_refuses_a_wrong_chain_or_registry(consortium: Consortium, tmp_path: Path) -> None:
    settings = consortium.a.runtime.settings
    identity = Identity(code="GDPOLICE", name="广东省公安厅", uscc=demo_uscc(GUANGDONG, 2),
                        region=GUANGDONG, roles=("ISSUER",), endpoint="http://127.0.0.1:1")
    not_a_registry = consortium.council_members[0].address
    with pytest.raises(InitError, match="no LicenceRegistry"):
        init_join(tmp_path / "x", chain=settings.chain, registry_address=not_a_registry,
                  registry_block=0, identity=identity)
    with pytest.raises(InitError, match="not 1"):
        init_join(tmp_path / "y", chain=settings.chain, registry_address=settings.registry_address,
                  registry_block=0, identity=identity, chain_id=1)
    with pytest.raises(InitError, match="embedded"):
        init_join(tmp_path / "z", chain="embedded", registry_address=settings.registry_address,
                  registry_block=0, identity=identity)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()  # nothing half-made
    with pytest.raises(InitError, match="already initialised"):
        init_join(consortium.b.data, chain=settings.chain, registry_address=settings.registry_address,
                  registry_block=0, identity=identity)
