"""Licence serials: handed out in memory under the signing lock, recorded with the rows.

The stored counter continues where the last committed request stopped (a restarted
node never reuses a serial), only grows when requests commit out of order, and a
request that fails gives its serials back when no later request took any.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ledger.domain.identifiers import LicenceIdentifier
from ledger.store.models import Licence, SerialCounter
from node.services import licences, serials
from node.services.serials import SerialBook, record_serials
from tests.node.conftest import DemoNode

KEY = ("MARKET", "11100000000013338W011", 2026)


def _record(engine: Engine, end: int) -> None:
    with engine.begin() as conn:
        record_serials(conn, KEY, end)


def _stored(engine: Engine) -> int | None:
    with Session(engine) as s:
        return s.exec(select(SerialCounter.next_value)).first()


def test_serials_continue_from_the_stored_counter(engine: Engine) -> None:
    book = SerialBook()
    assert book.take(engine, KEY, 10) == 1
    assert book.take(engine, KEY, 5) == 11
    _record(engine, 16)
    assert _stored(engine) == 16
    assert SerialBook().take(engine, KEY, 1) == 16  # a restarted node goes on from there
    assert SerialBook().take(engine, ("MARKET", KEY[1], 2027), 1) == 1  # a new year starts at 1


def test_the_stored_counter_only_grows(engine: Engine) -> None:
    _record(engine, 21)  # the later request committed first
    _record(engine, 11)
    assert _stored(engine) == 21


def test_serials_come_back_only_when_none_were_taken_after() -> None:
    book = SerialBook()
    book._next[KEY] = 100
    first = book.take(None, KEY, 10)  # type: ignore[arg-type]  # read already: no engine needed
    book.give_back(KEY, first, 10)
    assert book.take(None, KEY, 1) == 100  # type: ignore[arg-type]
    later = book.take(None, KEY, 5)  # type: ignore[arg-type]
    book.give_back(KEY, 100, 1)  # 101.. were taken since: 100 stays a gap
    assert later == 101 and book.take(None, KEY, 1) == 106  # type: ignore[arg-type]


def _serial(identifier: str) -> int:
    return int(LicenceIdentifier.parse(identifier).serial[4:])


def _issue(demo: DemoNode, count: int) -> list[str]:
    r = demo.client.post("/v1/licences/batch", headers=demo.headers("MARKET"), json={"licences": [
        {"type": "11100000000013338W011", "holder_name": f"测试公司{i}", "holder_id": "91110105000000000U",
         "holder_id_type": "USCC"} for i in range(count)]})
    assert r.status_code == 201, r.text
    return [x["identifier"] for x in r.json()["results"]]


def test_a_request_that_fails_to_record_gives_its_serials_back(demo: DemoNode,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    before = _issue(demo, 3)

    def fail(*_: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(licences, "record_serials", fail)
    r = demo.client.post("/v1/licences/batch", headers=demo.headers("MARKET"), json={"licences": [
        {"type": "11100000000013338W011", "holder_name": "失败公司", "holder_id": "91110105000000000U",
         "holder_id_type": "USCC"}]})
    assert r.status_code == 500
    monkeypatch.undo()
    after = _issue(demo, 2)
    assert [_serial(i) for i in after] == [_serial(before[-1]) + 1, _serial(before[-1]) + 2]
    with Session(demo.runtime.engine) as s:
        assert s.get(Licence, after[0]) is not None
        assert s.exec(select(SerialCounter.next_value).where(
            SerialCounter.licence_type == "11100000000013338W011")).one() == _serial(after[-1]) + 1


def test_serials_stay_unique_over_many_concurrent_requests(demo: DemoNode) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda _: _issue(demo, 300), range(6)))  # 300 ≥ the minting threshold
    issued = [i for batch in batches for i in batch]
    numbers = sorted(_serial(i) for i in issued)
    assert len(set(numbers)) == len(issued) == 1800
    assert numbers == list(range(numbers[0], numbers[0] + 1800))  # no gaps either
    assert serials.SerialBook().take(demo.runtime.engine, ("MARKET", "11100000000013338W011",
                                                           int(LicenceIdentifier.parse(issued[0]).serial[:4])),
                                     1) == numbers[-1] + 1
