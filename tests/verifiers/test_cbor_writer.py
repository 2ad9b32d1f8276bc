"""The claims' CBOR writer gives cbor2's canonical bytes on any claims it accepts."""

from __future__ import annotations

from typing import Any

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifiers._cbor import dumps_claims
from verifiers.token import LicenceClaims

ints = st.one_of(st.integers(-30, 30), st.integers(-(2**64), 2**64 - 1),
                 st.sampled_from([23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, -24, -25,
                                  -257, -(2**32), -(2**32) - 1]))
text = st.text(max_size=40) | st.text(min_size=250, max_size=300)
scalars = st.one_of(ints, text, st.binary(max_size=40) | st.binary(min_size=250, max_size=300))
# the machine is shared: generation may be slow, which says nothing about the writer
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
values = st.one_of(scalars, st.dictionaries(text, st.one_of(ints, text), max_size=12))


@settings(RELAXED, max_examples=400)
@given(st.dictionaries(st.integers(0, 23), values, max_size=12))
def test_writer_equals_cbor2_canonical(claims: dict[int, Any]) -> None:
    assert dumps_claims(claims) == cbor2.dumps(claims, canonical=True)


@RELAXED
@given(st.dictionaries(st.one_of(st.integers(-5, 40), text), st.one_of(
    scalars, st.booleans(), st.none(), st.floats(allow_nan=False),
    st.integers(2**64, 2**70), st.dictionaries(st.integers(), ints, max_size=3),
    st.dictionaries(text, st.binary(max_size=3), max_size=3)), max_size=6))
def test_shapes_it_does_not_write_fall_back_to_cbor2(claims: dict[Any, Any]) -> None:
    assert dumps_claims(claims) == cbor2.dumps(claims, canonical=True)


@RELAXED
@given(identifier=text, name=text, until=st.one_of(st.none(), st.integers(0, 2**63 - 1)),
       disclosed=st.dictionaries(text, st.one_of(text, st.integers(-(2**53), 2**53)), max_size=20))
def test_claims_payload_round_trips_through_cbor2(identifier: str, name: str, until: int | None,
                                                  disclosed: dict[str, str | int]) -> None:
    claims = LicenceClaims(identifier or "x", "MARKET", "110000", "T", name, 1, 2, until,
                           b"\x07" * 32, disclosed)
    payload = claims.to_cbor()
    assert LicenceClaims.from_cbor(payload) == claims
    raw = cbor2.loads(payload)
    assert cbor2.dumps(raw, canonical=True) == payload
