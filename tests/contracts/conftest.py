"""Fixtures for the contract suite; the chain comes from the shared ``chain`` fixture."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import HOUSING, ISSUER, Registry
from .property_helpers import PropertySetup


@pytest.fixture
def registry(chain: Any) -> Registry:
    """A LicenceRegistry with a 2-of-3 council and departments MARKET, POLICE (issuers), HOUSING."""
    council = chain.accounts[0:3]
    address = chain.deploy("LicenceRegistry", [a.address for a in council], 2,
                           sender=chain.accounts[0])
    reg = Registry(chain, address, list(council))
    reg.add_department("MARKET", chain.accounts[3], ISSUER, "110000")
    reg.add_department("POLICE", chain.accounts[4], ISSUER, "440000")
    reg.add_department("HOUSING", chain.accounts[5], HOUSING, "110000")
    return reg


@pytest.fixture
def t0(chain: Any, registry: Registry) -> int:
    """A timestamp comfortably after the fixture's blocks, for pinned-time transactions."""
    return int(chain.gateway.head().timestamp) + 1000


@pytest.fixture
def property_setup(chain: Any, registry: Registry) -> PropertySetup:
    """PropertyRegistry and SettlementToken on the fixture directory, with REGISTRY, two banks, three courts."""
    return PropertySetup.deploy(chain, registry)
