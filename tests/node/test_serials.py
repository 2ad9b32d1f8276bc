"""Licence serials: taken from the database in a transaction of their own, before minting.

Serials continue where the stored counter stands (a restarted node never reuses one),
workers sharing one database take disjoint ones, and a request that fails after
taking its serials leaves a gap without stopping the next request.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ledger.domain.identifiers import LicenceIdentifier
from ledger.store.db import make_engine
from ledger.store.models import Licence, SerialCounter
from node.services import licences
from node.services.serials import take_serials
from tests.node.conftest import DemoNode

BUSINESS, FOOD = "11100000000013338W011", "11100000000013338W042"


def test_serials_continue_from_the_stored_counter(engine: Engine) -> None:
    assert take_serials(engine, "MARKET", 2026, {BUSINESS: 10}) == {BUSINESS: 1}
    assert take_serials(engine, "MARKET", 2026, {BUSINESS: 5, FOOD: 2}) == {BUSINESS: 11, FOOD: 1}
    assert take_serials(engine, "MARKET", 2027, {BUSINESS: 1}) == {BUSINESS: 1}  # a new year starts at 1
    assert take_serials(engine, "POLICE", 2026, {BUSINESS: 1}) == {BUSINESS: 1}  # and each department
    with Session(engine) as s:
        stored = s.exec(select(SerialCounter.next_value).where(
            SerialCounter.department == "MARKET", SerialCounter.licence_type == BUSINESS,
            SerialCounter.year == 2026)).one()
    assert stored == 16
    with pytest.raises(ValueError):
        take_serials(engine, "MARKET", 2026, {BUSINESS: 0})


def test_workers_sharing_a_database_take_disjoint_serials(engine: Engine) -> None:
    # Two engines stand for two API workers (each its own connections) on one database.
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        def take(eng: Engine) -> list[int]:
            out = []
            for _ in range(25):
                first = take_serials(eng, "MARKET", 2026, {BUSINESS: 3, FOOD: 1})
                out.extend(range(first[BUSINESS], first[BUSINESS] + 3))
            return out

        with ThreadPoolExecutor(4) as pool:
            taken = [n for part in pool.map(take, [engine, other, engine, other]) for n in part]
    finally:
        other.dispose()
    assert sorted(taken) == list(range(1, 301))


def _serial(identifier: str) -> int:
    return int(LicenceIdentifier.parse(identifier).serial[4:])


def _licence(i: int, kind: str = BUSINESS) -> dict[str, Any]:
    return {"type": kind, "holder_name": f"测试公司{i}", "holder_id": "91110105000000000U",
            "holder_id_type": "USCC"}


def _issue(demo: DemoNode, bodies: list[dict[str, Any]]) -> list[str]:
    r = demo.client.post("/v1/licences/batch", headers=demo.headers("MARKET"), json={"licences": bodies})
    assert r.status_code == 201, r.text
    return [x["identifier"] for x in r.json()["results"]]


def test_a_request_that_fails_to_record_leaves_a_gap_and_the_next_goes_on(
        demo: DemoNode, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _issue(demo, [_licence(i) for i in range(3)])

    def full_disk(*_: object) -> None:
        raise OSError("the disk is full")

    monkeypatch.setattr(licences, "executemany", full_disk)
    r = demo.client.post("/v1/licences/batch", headers=demo.headers("MARKET"),
                         json={"licences": [_licence(9), _licence(10)]})
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    monkeypatch.undo()
    after = _issue(demo, [_licence(i) for i in range(2)])
    # the failed request's two serials stay unused: never issued, never reused
    assert [_serial(i) for i in after] == [_serial(before[-1]) + 3, _serial(before[-1]) + 4]
    with Session(demo.runtime.engine) as s:
        numbers = {_serial(i) for i in s.exec(select(Licence.identifier).where(
            Licence.licence_type == BUSINESS)).all()}
    assert not {_serial(before[-1]) + 1, _serial(before[-1]) + 2} & numbers


def test_one_request_of_two_types_numbers_each_type_on_its_own(demo: DemoNode) -> None:
    issued = _issue(demo, [_licence(0), _licence(1, FOOD), _licence(2), _licence(3, FOOD)])
    business = [_serial(i) for i in issued[0::2]]
    food = [_serial(i) for i in issued[1::2]]
    assert business[1] == business[0] + 1 and food[1] == food[0] + 1
    assert [LicenceIdentifier.parse(i).type_code for i in issued] == [BUSINESS, FOOD, BUSINESS, FOOD]


def test_serials_stay_unique_over_many_concurrent_requests(demo: DemoNode) -> None:
    with ThreadPoolExecutor(4) as pool:  # 300 licences a request: minted on the worker processes
        batches = list(pool.map(lambda _: _issue(demo, [_licence(i) for i in range(300)]), range(6)))
    numbers = sorted(_serial(i) for batch in batches for i in batch)
    assert numbers == list(range(numbers[0], numbers[0] + 1800))  # unique, and no gaps either
