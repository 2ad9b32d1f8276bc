"""M-of-N council behaviour of the department directory."""

from __future__ import annotations

from typing import Any

from .helpers import ISSUER, Registry, addr, b32


def _add_market_action(reg: Registry, account: Any) -> bytes:
    return reg.abi.encode_call(
        "addDepartment", [b32("TAX"), account.address, 8, b32("110000"), "https://tax"]
    )


def test_below_threshold_nothing_happens_at_threshold_it_executes(registry: Registry,
                                                                  chain: Any) -> None:
    reg, (a, b, c) = registry, registry.council
    receipt = reg.tx(a, "propose", _add_market_action(reg, chain.accounts[6]))
    pid = reg.view("proposalCount")
    assert [e.name for e in reg.events(receipt)] == ["ProposalCreated", "ProposalApproved"]
    assert reg.view("proposal", pid)[2:] == (1, False)
    assert reg.view("hasApproved", pid, a.address) is True
    with reg.reverts("DepartmentDirectoryUnknownDepartment", code=b32("TAX")):
        reg.view("department", b32("TAX"))

    receipt = reg.tx(b, "approve", pid)
    events = reg.events(receipt)
    assert [e.name for e in events] == ["ProposalApproved", "DepartmentAdded", "ProposalExecuted"]
    assert events[-1].args == {"id": pid}
    assert reg.view("department", b32("TAX"))["account"] == addr(chain.accounts[6])
    with reg.reverts("DepartmentDirectoryProposalExecuted", id=pid):
        reg.tx(c, "approve", pid)


def test_non_members_are_refused(registry: Registry, chain: Any) -> None:
    reg, outsider = registry, chain.accounts[9]
    with reg.reverts("DepartmentDirectoryNotCouncilMember", account=addr(outsider)):
        reg.tx(outsider, "propose", _add_market_action(reg, chain.accounts[6]))
    reg.tx(reg.council[0], "propose", _add_market_action(reg, chain.accounts[6]))
    pid = reg.view("proposalCount")
    with reg.reverts("DepartmentDirectoryNotCouncilMember", account=addr(outsider)):
        reg.tx(outsider, "approve", pid)
    with reg.reverts("DepartmentDirectoryAlreadyApproved", id=pid):
        reg.tx(reg.council[0], "approve", pid)
    with reg.reverts("DepartmentDirectoryUnknownProposal", id=pid + 1):
        reg.tx(reg.council[1], "approve", pid + 1)


def test_council_only_functions_refuse_direct_calls(registry: Registry, chain: Any) -> None:
    reg, member = registry, registry.council[0]
    with reg.reverts("DepartmentDirectoryOnlyCouncil", account=addr(member)):
        reg.tx(member, "addDepartment", b32("X"), chain.accounts[6].address, ISSUER,
               b32("110000"), "")
    with reg.reverts("DepartmentDirectoryOnlyCouncil"):
        reg.tx(member, "setThreshold", 1)
    with reg.reverts("DepartmentDirectoryOnlyCouncil"):
        reg.tx(member, "setTrust", b32("1"), b32("2"), b32("T"), True)


def test_failing_action_bubbles_its_error_and_stays_pending(registry: Registry) -> None:
    reg = registry
    market = reg.view("department", b32("MARKET"))
    action = reg.abi.encode_call(
        "addDepartment", [b32("MARKET"), market["account"], ISSUER, b32("110000"), ""]
    )
    reg.tx(reg.council[0], "propose", action)
    pid = reg.view("proposalCount")
    with reg.reverts("DepartmentDirectoryDepartmentExists", code=b32("MARKET")):
        reg.tx(reg.council[1], "approve", pid)
    assert reg.view("proposal", pid)[2:] == (1, False)


def test_membership_and_threshold_changes(registry: Registry, chain: Any) -> None:
    reg, (a, b, c) = registry, registry.council
    d = chain.accounts[7]
    receipt = reg.council_do("addCouncilMember", d.address)
    assert "CouncilMemberAdded" in [e.name for e in reg.events(receipt)]
    receipt = reg.council_do("setThreshold", 3)
    assert [e.args for e in reg.events(receipt) if e.name == "ThresholdChanged"] == [
        {"previousThreshold": 2, "newThreshold": 3}
    ]
    assert reg.view("councilMembers") == [addr(a), addr(b), addr(c), addr(d)]

    # 3-of-4 now: two approvals are not enough.
    reg.tx(a, "propose", reg.abi.encode_call("removeCouncilMember", [c.address]))
    pid = reg.view("proposalCount")
    reg.tx(d, "approve", pid)
    assert reg.view("proposal", pid)[2:] == (2, False)
    reg.tx(b, "approve", pid)
    assert reg.view("isCouncilMember", c.address) is False
    assert reg.view("councilMembers") == [addr(a), addr(b), addr(d)]

    # 3-of-3 after the removal: a third approval executes.
    reg.tx(a, "propose", reg.abi.encode_call("setThreshold", [2]))
    pid = reg.view("proposalCount")
    reg.tx(b, "approve", pid)
    assert reg.view("proposal", pid)[2:] == (2, False)
    reg.tx(d, "approve", pid)
    assert reg.view("threshold") == 2


def test_removed_members_approval_is_not_counted(registry: Registry) -> None:
    reg, (a, b, c) = registry, registry.council
    reg.tx(c, "propose", reg.abi.encode_call("setTrust", [b32("1"), b32("2"), b32("T"), True]))
    stale = reg.view("proposalCount")
    reg.council_do("removeCouncilMember", c.address)
    assert reg.view("proposal", stale)[2] == 0
    with reg.reverts("DepartmentDirectoryBelowThreshold", id=stale, approvals=0, threshold=2):
        reg.tx(a, "execute", stale)
    reg.tx(a, "approve", stale)
    assert reg.view("isTrusted", b32("1"), b32("2"), b32("T")) is False
    reg.tx(b, "approve", stale)
    assert reg.view("isTrusted", b32("1"), b32("2"), b32("T")) is True


def test_threshold_must_fit_the_council(registry: Registry) -> None:
    reg = registry
    reg.tx(reg.council[0], "propose", reg.abi.encode_call("setThreshold", [4]))
    with reg.reverts("DepartmentDirectoryInvalidThreshold", threshold=4, councilSize=3):
        reg.tx(reg.council[1], "approve", reg.view("proposalCount"))
    reg.council_do("setThreshold", 3)
    reg.tx(reg.council[0], "propose",
           reg.abi.encode_call("removeCouncilMember", [reg.council[2].address]))
    pid = reg.view("proposalCount")
    reg.tx(reg.council[1], "approve", pid)
    with reg.reverts("DepartmentDirectoryInvalidThreshold", threshold=3, councilSize=2):
        reg.tx(reg.council[2], "approve", pid)
