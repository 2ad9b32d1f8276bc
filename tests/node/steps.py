"""Licence steps standing in for a transfer case's: a leaf has the shape of a case id.

A licence anchored alone in its batch has its leaf as the batch root, so its
BatchAnchored, LicenceSuspended, LicenceReinstated and LicenceRevoked events all have
the leaf as subject, as a case's events will have its id.
"""

from __future__ import annotations

from typing import Any

from tests.node.conftest import DemoNode

BUSINESS = "11100000000013338W011"


def licence(node: DemoNode, tag: str) -> tuple[str, str]:
    """Issue a licence, anchor it alone in its batch; return (identifier, leaf)."""
    h = node.headers("MARKET")
    issued = node.client.post("/v1/licences", json={"type": BUSINESS, "holder_name": f"企业{tag}",
                                                    "holder_id": f"ID-{tag}"}, headers=h).json()
    node.settle()
    shown = node.client.get(f"/v1/licences/{issued['identifier']}", headers=h).json()
    assert shown["anchor"]["batch_root"] == shown["leaf"]  # a batch of one: its root is the leaf
    return issued["identifier"], shown["leaf"]


def change(node: DemoNode, identifier: str, action: str, reason: int | None = None) -> None:
    body = {"reason": reason} if reason is not None else None
    r = node.client.post(f"/v1/licences/{identifier}/{action}", json=body, headers=node.headers("MARKET"))
    assert r.status_code == 202, r.text
    node.settle()


def events(node: DemoNode, leaf: str) -> list[dict[str, Any]]:
    r = node.client.get(f"/v1/cases/{leaf}/events", params={"format": "json"})
    assert r.status_code == 200, r.text
    return list(r.json()["events"])
