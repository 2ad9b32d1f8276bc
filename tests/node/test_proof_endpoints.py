"""The public proof endpoints a node serves to its peers, on one embedded demo node."""

from __future__ import annotations

from ledger.domain.merkle import MerkleTree, verify
from tests.node.conftest import DemoNode
from tests.node.test_licences import business


def issue(demo: DemoNode, count: int) -> list[dict[str, str]]:
    r = demo.client.post("/v1/licences/batch", json={"licences": [business(i) for i in range(count)]},
                         headers=demo.headers("MARKET"))
    assert r.status_code == 201, r.text
    results: list[dict[str, str]] = r.json()["results"]
    return results


def test_a_leaf_of_a_five_leaf_batch_proves_into_the_anchored_root(demo: DemoNode) -> None:
    issued = issue(demo, 5)
    demo.settle()
    answers = [demo.client.get(f"/v1/proofs/{x['leaf']}").json() for x in issued]
    roots = {a["batch_root"] for a in answers}
    assert len(roots) == 1 and {a["batch_count"] for a in answers} == {5}
    root = bytes.fromhex(roots.pop())
    for x, a in zip(issued, answers, strict=True):
        assert a["leaf"] == x["leaf"] and a["department"] == "MARKET"
        assert a["block_number"] > 0 and len(a["transaction_hash"]) == 64
        assert verify([bytes.fromhex(p) for p in a["proof"]], root, bytes.fromhex(x["leaf"]))
    assert sorted(a["leaf_index"] for a in answers) == [0, 1, 2, 3, 4]
    # no personal data: nothing but hashes, positions and chain coordinates
    assert set(answers[0]) == {"leaf", "department", "licence_type", "batch_root", "batch_count",
                               "leaf_index", "proof", "block_number", "anchored_at",
                               "transaction_hash"}
    batch = demo.client.get(f"/v1/batches/{root.hex()}").json()
    assert batch["count"] == 5
    assert MerkleTree([bytes.fromhex(x) for x in batch["leaves"]]).root == root


def test_a_one_leaf_batch_has_the_leaf_as_root_and_an_empty_proof(demo: DemoNode) -> None:
    [one] = issue(demo, 1)
    demo.settle()
    answer = demo.client.get(f"/v1/proofs/{one['leaf']}").json()
    assert answer["batch_count"] == 1 and answer["leaf_index"] == 0
    assert answer["proof"] == [] and answer["batch_root"] == one["leaf"]
    assert demo.client.get(f"/v1/batches/{one['leaf']}").json()["leaves"] == [one["leaf"]]


def test_unknown_unanchored_and_malformed_leaves_get_coded_4xx(demo: DemoNode) -> None:
    r = demo.client.get(f"/v1/proofs/{'ab' * 32}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    [pending] = issue(demo, 1)
    demo.runtime.anchorer.batch_now(pending["identifier"])  # batched, not yet sent or indexed
    r = demo.client.get(f"/v1/proofs/{pending['leaf']}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_anchored"
    for bad in ("xyz", "ab" * 31, "ab" * 33):
        r = demo.client.get(f"/v1/proofs/{bad}")
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    assert demo.client.get("/v1/batches/00").status_code == 400
    demo.settle()
    assert demo.client.get(f"/v1/proofs/{pending['leaf']}").status_code == 200
