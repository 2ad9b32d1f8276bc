"""The licence types this node can issue, kept as data (``node/data/licence_types.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from node.errors import BadRequest


@dataclass(frozen=True)
class LicenceType:
    """A licence type: its code, names, which role issues it, default validity, personal fields."""

    code: str
    name: str
    name_en: str
    issuer_role: str
    default_years: int
    personal: frozenset[str]


@cache
def catalogue() -> dict[str, LicenceType]:
    """Return the licence types by code."""
    raw = json.loads(resources.files("node.data").joinpath("licence_types.json").read_text("utf-8"))
    return {
        t["code"]: LicenceType(code=t["code"], name=t["name"], name_en=t["name_en"],
                               issuer_role=t["issuer_role"], default_years=t["default_years"],
                               personal=frozenset(t["personal"]))
        for t in raw["types"]
    }


def licence_type(code: str) -> LicenceType:
    """Return the licence type ``code``; raise BadRequest naming the known codes otherwise."""
    try:
        return catalogue()[code]
    except KeyError:
        raise BadRequest(f"unknown licence type {code!r}", known=sorted(catalogue())) from None
