"""verify_token decides in the order of docs/internals.md, "Verdicts"."""

from __future__ import annotations

import pytest
from conftest import BJ, BUSINESS, NOW, SH, SZ, World, make_claims, with_claims

from verifiers import (
    LicenceStatus,
    StatusEvent,
    TrustRelation,
    Verdict,
    VerificationResult,
    build_token,
    verify_token,
)


def check(world: World, token: str, region: str = SZ, now: int = NOW) -> VerificationResult:
    return verify_token(token, world.snapshot(), now, region)


def test_a_genuine_anchored_licence_is_valid_and_shows_its_facts(world: World) -> None:
    claims = make_claims(valid_until=NOW + 100)
    world.anchor(claims)
    result = check(world, build_token(claims, world.signers["market"]))
    assert result.verdict is Verdict.VALID and result.is_valid
    assert (result.issuer, result.issuer_name) == ("MARKET", "深圳市市场监督管理局")
    assert (result.licence_type, result.type_name) == (BUSINESS, "营业执照")
    assert result.identifier == claims.identifier
    assert (result.valid_from, result.valid_until) == (claims.valid_from, NOW + 100)
    assert result.disclosed == claims.disclosed
    assert result.kid == world.signers["market"].kid.hex()
    assert result.leaf == claims.leaf.hex()
    assert VerificationResult.from_json(result.to_json()) == result


def test_old_key_valid_at_issue_still_verifies_after_rotation(world: World) -> None:
    claims = make_claims(issued_at=NOW - 2 * 10**6)
    world.anchor(claims)
    assert check(world, build_token(claims, world.signers["market_old"])).verdict is Verdict.VALID


def test_old_key_used_after_its_valid_to_is_refused(world: World) -> None:
    claims = make_claims(issued_at=NOW - 10**6)  # exactly the old key's valid_to
    world.anchor(claims)
    result = check(world, build_token(claims, world.signers["market_old"]))
    assert result.verdict is Verdict.KEY_NOT_VALID_AT_ISSUE
    assert result.identifier is None  # facts signed by a key out of its validity are not shown


def test_issue_before_a_key_became_valid_is_refused(world: World) -> None:
    claims = make_claims(issued_at=NOW - 10**6 - 1)
    world.anchor(claims)
    result = check(world, build_token(claims, world.signers["market"]))
    assert result.verdict is Verdict.KEY_NOT_VALID_AT_ISSUE


@pytest.mark.parametrize(("issued_at", "verdict"), [
    (NOW - 5001, Verdict.VALID),
    (NOW - 5000, Verdict.KEY_NOT_VALID_AT_ISSUE),
    (NOW - 10, Verdict.KEY_NOT_VALID_AT_ISSUE),
])
def test_compromise_since_t_refuses_tokens_signed_from_t(
    world: World, issued_at: int, verdict: Verdict
) -> None:
    market = world.signers["market"]
    world.keys[1] = market.key_record("MARKET", NOW - 10**6, compromised_since=NOW - 5000)
    claims = make_claims(issued_at=issued_at)
    world.anchor(claims)
    assert check(world, build_token(claims, market)).verdict is verdict


def test_cross_region_trust_on_and_off(world: World) -> None:
    claims = make_claims(issuer="BJMARKET", issuer_region=BJ)
    world.anchor(claims)
    token = build_token(claims, world.signers["beijing"])
    assert check(world, token, region=BJ).verdict is Verdict.VALID  # same region: always
    assert check(world, token, region=SZ).verdict is Verdict.UNKNOWN_ISSUER
    world.relations.append(TrustRelation(SZ, BJ, BUSINESS))
    assert check(world, token, region=SZ).verdict is Verdict.VALID
    assert check(world, token, region=SH).verdict is Verdict.UNKNOWN_ISSUER
    world.relations[0] = TrustRelation(SZ, BJ, "OTHER")
    assert check(world, token, region=SZ).verdict is Verdict.UNKNOWN_ISSUER


def test_altered_genuine_licence_is_tampered_and_a_forgery_is_bad_signature(world: World) -> None:
    genuine = make_claims("genuine")
    world.anchor(genuine)
    token = build_token(genuine, world.signers["market"])
    altered = with_claims(token, lambda c: c[11].update(name="假冒公司"))
    result = check(world, altered)
    assert result.verdict is Verdict.TAMPERED
    assert result.identifier is None and result.disclosed == {}
    unanchored = with_claims(token, lambda c: c.update({10: b"\x07" * 32}))
    assert check(world, unanchored).verdict is Verdict.BAD_SIGNATURE


def test_a_leaf_anchored_by_another_department_is_not_tampered(world: World) -> None:
    genuine = make_claims("police-anchored")
    world.anchor(genuine, "POLICE")
    altered = with_claims(build_token(genuine, world.signers["market"]),
                          lambda c: c.update({6: "x"}))
    assert check(world, altered).verdict is Verdict.BAD_SIGNATURE


def test_a_key_of_another_department_gives_bad_signature(world: World) -> None:
    claims = make_claims(issuer="POLICE")
    assert check(world, build_token(claims, world.signers["market"])).verdict is Verdict.BAD_SIGNATURE


def test_unknown_kid_comes_before_the_signature(world: World) -> None:
    result = check(world, build_token(make_claims(), world.signers["rogue"]))
    assert result.verdict is Verdict.UNKNOWN_ISSUER
    assert result.kid == world.signers["rogue"].kid.hex() and result.issuer is None


def test_unknown_department_and_wrong_region_are_unknown_issuer(world: World) -> None:
    market = world.signers["market"]
    assert check(world, build_token(make_claims(issuer="NOBODY"), market)).verdict \
        is Verdict.UNKNOWN_ISSUER
    assert check(world, build_token(make_claims(issuer_region=BJ), market)).verdict \
        is Verdict.UNKNOWN_ISSUER


def test_status_is_taken_at_the_verification_time(world: World) -> None:
    claims = make_claims(valid_until=NOW + 10)
    world.anchor(claims)
    world.statuses[claims.leaf] = [
        StatusEvent(NOW - 300, LicenceStatus.SUSPENDED, 4),
        StatusEvent(NOW - 200, LicenceStatus.ACTIVE, 0),
        StatusEvent(NOW - 100, LicenceStatus.REVOKED, 7),
    ]
    token = build_token(claims, world.signers["market"])
    assert check(world, token, now=NOW - 301).verdict is Verdict.VALID
    suspended = check(world, token, now=NOW - 250)
    assert (suspended.verdict, suspended.status_reason, suspended.status_since) == (
        Verdict.SUSPENDED, 4, NOW - 300)
    assert check(world, token, now=NOW - 150).verdict is Verdict.VALID
    revoked = check(world, token, now=NOW + 50)  # also expired: revoked wins
    assert (revoked.verdict, revoked.status_reason) == (Verdict.REVOKED, 7)
    assert revoked.identifier == claims.identifier


def test_dates_then_anchoring(world: World) -> None:
    market = world.signers["market"]
    later = make_claims("later", valid_from=NOW + 1)
    world.anchor(later)
    assert check(world, build_token(later, market)).verdict is Verdict.NOT_YET_VALID
    ended = make_claims("ended", valid_until=NOW)
    world.anchor(ended)
    assert check(world, build_token(ended, market)).verdict is Verdict.EXPIRED
    assert check(world, build_token(ended, market), now=NOW - 1).verdict is Verdict.VALID
    pending = make_claims("pending", valid_until=NOW - 1)
    assert check(world, build_token(pending, market)).verdict is Verdict.EXPIRED
    assert check(world, build_token(pending, market), now=NOW - 2).verdict \
        is Verdict.NOT_ANCHORED_YET


def test_every_verdict_round_trips_through_json(world: World) -> None:
    for verdict in Verdict:
        result = VerificationResult(verdict, "why", kid="00" * 8)
        assert VerificationResult.from_json(result.to_json()) == result
    with pytest.raises(ValueError):
        VerificationResult.from_json({"verdict": "fine", "reason": ""})


def test_make_result_is_the_dataclass_constructor() -> None:
    import dataclasses

    from verifiers.verdict import make_result

    values = (Verdict.REVOKED, "revoked since 5 (reason 2)", "MARKET", "深圳市市场监督管理局", SZ,
              BUSINESS, "营业执照", "1.2.156", 1, 2, None, {"name": "星辰"}, "ab", "cd", 2, 5)
    made, constructed = make_result(*values), VerificationResult(*values)
    assert type(made) is VerificationResult
    assert made == constructed and repr(made) == repr(constructed)
    assert made.to_json() == constructed.to_json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.reason = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        make_result(*values[:-1])
