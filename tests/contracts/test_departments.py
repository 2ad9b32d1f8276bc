"""Departments: adding, roles, activity, accounts, endpoints and trust relations."""

from __future__ import annotations

from typing import Any

from .helpers import BANK, COURT, HOUSING, ISSUER, TAX, Registry, addr, b32


def test_added_department_is_visible_everywhere(registry: Registry, chain: Any) -> None:
    reg, market = registry, chain.accounts[3]
    dept = reg.view("department", b32("MARKET"))
    assert dept == {
        "code": b32("MARKET"), "account": addr(market), "roles": ISSUER,
        "region": b32("110000"), "endpoint": "https://market.example.gov.cn",
        "active": True, "index": 1,
    }
    assert reg.view("departmentOf", market.address) == dept
    assert reg.view("departmentCount") == 3
    assert [reg.view("departmentCodeAt", i) for i in (1, 2, 3)] == [
        b32("MARKET"), b32("POLICE"), b32("HOUSING")
    ]
    assert reg.view("hasRole", market.address, ISSUER) is True
    assert reg.view("hasRole", market.address, HOUSING) is False
    assert reg.view("hasRole", chain.accounts[5].address, HOUSING) is True
    with reg.reverts("DepartmentDirectoryUnknownAccount", account=addr(chain.accounts[9])):
        reg.view("departmentOf", chain.accounts[9].address)


def test_add_department_validates(registry: Registry, chain: Any) -> None:
    reg = registry
    action = reg.abi.encode_call(
        "addDepartment", [b32("POLICE2"), chain.accounts[3].address, ISSUER, b32("1"), ""]
    )
    reg.tx(reg.council[0], "propose", action)
    with reg.reverts("DepartmentDirectoryAccountInUse", account=addr(chain.accounts[3])):
        reg.tx(reg.council[1], "approve", reg.view("proposalCount"))
    too_long = b32("A" * 20)
    reg.tx(reg.council[0], "propose", reg.abi.encode_call(
        "addDepartment", [too_long, chain.accounts[6].address, ISSUER, b32("1"), ""]))
    with reg.reverts("DepartmentDirectoryInvalidCode", code=too_long):
        reg.tx(reg.council[1], "approve", reg.view("proposalCount"))
    reg.add_department("A" * 19, chain.accounts[6], ISSUER)
    assert reg.view("department", b32("A" * 19))["index"] == 4


def test_roles_activity_and_account_changes(registry: Registry, chain: Any) -> None:
    reg, market, fresh = registry, chain.accounts[3], chain.accounts[7]
    receipt = reg.council_do("setDepartmentRoles", b32("MARKET"), ISSUER | TAX | BANK)
    updated = [e for e in reg.events(receipt) if e.name == "DepartmentUpdated"]
    assert updated[0].args["roles"] == ISSUER | TAX | BANK
    assert reg.view("hasRole", market.address, TAX | BANK) is True
    assert reg.view("hasRole", market.address, TAX | COURT) is False

    reg.council_do("setDepartmentActive", b32("MARKET"), False)
    assert reg.view("department", b32("MARKET"))["active"] is False
    assert reg.view("hasRole", market.address, ISSUER) is False

    reg.council_do("setDepartmentAccount", b32("MARKET"), fresh.address)
    assert reg.view("departmentOf", fresh.address)["code"] == b32("MARKET")
    assert reg.view("departmentOf", fresh.address)["active"] is False
    with reg.reverts("DepartmentDirectoryUnknownAccount"):
        reg.view("departmentOf", market.address)
    reg.council_do("setDepartmentActive", b32("MARKET"), True)
    assert reg.view("hasRole", fresh.address, ISSUER | TAX) is True
    assert reg.view("hasRole", market.address, ISSUER) is False

    reg.tx(reg.council[0], "propose",
           reg.abi.encode_call("setDepartmentRoles", [b32("NOPE"), ISSUER]))
    with reg.reverts("DepartmentDirectoryUnknownDepartment", code=b32("NOPE")):
        reg.tx(reg.council[1], "approve", reg.view("proposalCount"))


def test_department_sets_its_own_endpoint(registry: Registry, chain: Any) -> None:
    reg = registry
    receipt = reg.tx(chain.accounts[4], "setEndpoint", "https://node.police.gd.gov.cn")
    (event,) = reg.events(receipt)
    assert event.name == "DepartmentUpdated"
    assert event.args["code"] == b32("POLICE")
    assert event.args["endpoint"] == "https://node.police.gd.gov.cn"
    assert reg.view("department", b32("POLICE"))["endpoint"] == "https://node.police.gd.gov.cn"
    with reg.reverts("DepartmentDirectoryUnknownAccount", account=addr(chain.accounts[9])):
        reg.tx(chain.accounts[9], "setEndpoint", "https://evil")


def test_trust_relations(registry: Registry) -> None:
    reg = registry
    bj, gd, lic = b32("110000"), b32("440000"), b32("11100000000013338W011")
    assert reg.view("isTrusted", bj, bj, lic) is True
    assert reg.view("isTrusted", bj, gd, lic) is False
    receipt = reg.council_do("setTrust", bj, gd, lic, True)
    (event,) = [e for e in reg.events(receipt) if e.name == "TrustSet"]
    assert event.args == {"verifierRegion": bj, "issuerRegion": gd, "licenceType": lic,
                          "trusted": True}
    assert reg.view("isTrusted", bj, gd, lic) is True
    assert reg.view("isTrusted", gd, bj, lic) is False
    assert reg.view("isTrusted", bj, gd, b32("OTHER")) is False
    reg.council_do("setTrust", bj, gd, lic, False)
    assert reg.view("isTrusted", bj, gd, lic) is False
