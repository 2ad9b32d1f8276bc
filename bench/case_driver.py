"""A second-hand transfer taken through a node's HTTP API, step by step, as departments take it.

Each step is a request with the acting department's token (REGISTRY registers the title and
records consents, HOUSING opens the case, BANK consents to a mortgage, TAX assesses, BANK funds,
REGISTRY settles); every answer's transactions are collected so their gas can be read from the
chain's receipts. ``run`` ends only when the node's public unit status shows the buyers as owners.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

UNIT_PREFIX = "110105001002GB00123F"  # + 8 digits: a valid 28-character unit number
MORTGAGE_YUAN = "1000000"
PAYOFF_YUAN = "800000"


def unit_number(i: int) -> str:
    """Return the ``i``-th bench unit number."""
    return f"{UNIT_PREFIX}{i:08d}"


def case_body(unit: str, contract_number: str, buyers: int = 1) -> dict[str, Any]:
    """Return HOUSING's filing of a typical Beijing resale (the DOMAIN.md worked example).

    Every contract names its own seller account, as real sellers have: each settlement then
    pays an account holding nothing yet, which costs what it costs in practice.
    """
    seller = "0x" + hashlib.sha256(f"seller|{contract_number}".encode()).hexdigest()[:40]
    share = f"{100 / buyers:.4f}"
    parts = [share] * (buyers - 1) + [f"{100 - float(share) * (buyers - 1):.4f}"]
    return {"unit_number": unit, "contract_number": contract_number, "price": "5000000", "area": "89",
            "acquired": "2025-03-01", "contract_date": "2026-03-01", "buyer_homes": 1,
            "buyers": [{"name": f"买方{k}", "id_number": f"1101011990030{k:05d}", "share_percent": p}
                       for k, p in enumerate(parts)],
            "seller_account": seller}


class StepFailed(RuntimeError):
    """Raised when the node refuses or fails a step (status and body attached)."""


@dataclass
class CaseRun:
    """One case as the driver took it: the open result, each step's transactions and the clock."""

    unit: str
    opened: dict[str, Any] = field(default_factory=dict)
    #: step name → transaction hashes it sent, in order
    transactions: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, step: str, answer: dict[str, Any]) -> None:
        """Record the transactions one step's answer names (its own and any preparation)."""
        hashes = [t["transaction_hash"] for t in answer.get("preparation", [])]
        tx = answer.get("transaction") or answer  # property steps answer with the hash at the top
        hashes.append(tx["transaction_hash"])
        self.transactions.setdefault(step, []).extend(hashes)


class CaseDriver:
    """Takes cases through a node's API: ``client`` is an httpx-style client, ``tokens`` the departments'."""

    def __init__(self, client: Any, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def post(self, dept: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST as ``dept``; return the JSON answer or raise StepFailed."""
        r = self.client.post(path, json=body, headers={"authorization": f"Bearer {self.tokens[dept]}"})
        if r.status_code not in (200, 201):
            raise StepFailed(f"{dept} POST {path}: {r.status_code} {r.text[:400]}")
        out: dict[str, Any] = r.json()
        return out

    def show(self, unit: str) -> dict[str, Any]:
        """Return the unit's public status."""
        r = self.client.get(f"/v1/property/{unit}")
        if r.status_code != 200:
            raise StepFailed(f"GET /v1/property/{unit}: {r.status_code} {r.text[:400]}")
        out: dict[str, Any] = r.json()
        return out

    # ------------------------------------------------------------------ before the case
    def register(self, unit: str, owners: int = 1, mortgage: bool = False) -> dict[str, str]:
        """Register ``unit`` to ``owners`` co-owners (optionally mortgaged to BANK); return tx hashes."""
        share = 100 // owners
        people = [{"id_number": f"11010119800101{k:04d}", "name": f"卖方{k}",
                   "share": str(share if k < owners - 1 else 100 - share * (owners - 1))}
                  for k in range(owners)]
        done = {"register": self.post("REGISTRY", "/v1/property",
                                      {"unit_number": unit, "owners": people})["transaction_hash"]}
        if mortgage:
            done["mortgage"] = self.post("REGISTRY", f"/v1/property/{unit}/mortgages",
                                         {"mortgagee": "BANK", "amount": MORTGAGE_YUAN})["transaction_hash"]
        return done

    # ------------------------------------------------------------------ the case
    def run(self, unit: str, contract_number: str, owners: int = 1, buyers: int = 1,
            mortgage: str = "") -> CaseRun:
        """Take one case from filing to the registered title; ``mortgage`` is "", "consent" or "release".

        The clock runs from HOUSING's filing until the public unit status names the buyers.
        """
        run = CaseRun(unit)
        t0 = time.perf_counter()
        run.opened = self.post("HOUSING", "/v1/cases", case_body(unit, contract_number, buyers))
        run.add("open", run.opened)
        case = run.opened["case_id"]
        run.add("owner_consent", self.post("REGISTRY", f"/v1/property/{unit}/consent",
                                           {"owners": list(range(owners))}))
        if mortgage == "consent":
            run.add("mortgage_consent", self.post("BANK", f"/v1/cases/{case}/mortgage-consent",
                                                  {"rank": 1, "payoff": PAYOFF_YUAN}))
        elif mortgage == "release":
            run.add("mortgage_release", self.post("BANK", f"/v1/property/{unit}/mortgages/1/release"))
        run.add("assess", self.post("TAX", f"/v1/cases/{case}/assess"))
        # The bank credits the buyer's deposit (mint) and pays it in; the buyers present their disclosures.
        run.add("fund", self.post("BANK", f"/v1/cases/{case}/fund", {"mint": True}))
        presented = [{"name": f"买方{k}", "disclosure": b["disclosure"]} for k, b in enumerate(run.opened["buyers"])]
        run.add("settle", self.post("REGISTRY", f"/v1/cases/{case}/settle", {"buyers": presented}))
        self.await_owners(unit, [b["commitment"] for b in run.opened["buyers"]])
        run.seconds = time.perf_counter() - t0
        return run

    def await_owners(self, unit: str, commitments: list[str], timeout: float = 60.0) -> None:
        """Wait until the public status of ``unit`` lists exactly ``commitments`` as owners."""
        deadline = time.monotonic() + timeout
        while True:
            owners = [o["commitment"] for o in self.show(unit)["owners"]]
            if owners == commitments:
                return
            if time.monotonic() > deadline:
                raise StepFailed(f"{unit} still shows owners {owners}, not the buyers {commitments}")
            time.sleep(0.01)
