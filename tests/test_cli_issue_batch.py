"""`regnode licence issue-batch` with several requests in flight: results in file order, a refusal loses nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_node import CliNode, run_cli, served_demo

BUSINESS = "11100000000013338W011"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNode]:
    yield from served_demo(tmp_path_factory, "cli-issue-batch", 18011)


def _write(path: Path, names: list[str], bad: set[int] = frozenset()) -> Path:  # type: ignore[assignment]
    path.write_text("".join(json.dumps({
        "type": "NO-SUCH-TYPE" if i in bad else BUSINESS, "holder_name": name,
        "holder_id": f"ID{i:06d}", "fields": {"address": "北京"}}, ensure_ascii=False) + "\n"
        for i, name in enumerate(names)), encoding="utf-8")
    return path


def _holders(node: CliNode, out: Path) -> list[str]:
    """Return the holder name of every licence written to ``out``, as the node stored it, in file order."""
    db = sqlite3.connect(node[0] / "ledger.sqlite3")
    try:
        names = []
        for line in out.read_text(encoding="utf-8").splitlines():
            ident = json.loads(line)["identifier"]
            (disclosures,) = db.execute("select disclosures from licence where identifier = ?",
                                        (ident,)).fetchone()
            names.append(next(value for _, key, value in json.loads(disclosures) if key == "holderName"))
        return names
    finally:
        db.close()


def _count(node: CliNode) -> int:
    db = sqlite3.connect(node[0] / "ledger.sqlite3")
    try:
        return int(db.execute("select count(*) from licence").fetchone()[0])
    finally:
        db.close()


def test_results_come_back_in_file_order(node: CliNode, tmp_path: Path) -> None:
    names = [f"顺序企业{i}" for i in range(47)]
    out = tmp_path / "out.jsonl"
    before = _count(node)
    summary = run_cli(node, "licence", "issue-batch", str(_write(tmp_path / "in.jsonl", names)), "--as", "MARKET",
                      "--chunk", "4", "--in-flight", "4", "--out", str(out))
    assert summary["count"] == 47
    assert _holders(node, out) == names
    assert _count(node) == before + 47


# (refused licence (0-based), requests in flight, refused range, first never sent, licences issued)
REFUSALS = [
    # one request at a time: the third chunk (licences 11-15) is refused, none after it is sent
    (12, 1, [11, 15], 16, range(0, 10)),
    # three requests open: the first is refused, the two sent with it are issued and written
    (0, 3, [1, 5], 16, range(5, 15)),
]


@pytest.mark.parametrize("bad,in_flight,refused,unsent,issued", REFUSALS)
def test_a_refusal_stops_sending_and_names_what_was_not_issued(
        node: CliNode, tmp_path: Path, bad: int, in_flight: int, refused: list[int], unsent: int,
        issued: range) -> None:
    names = [f"拒绝企业{in_flight}-{i}" for i in range(40)]
    out = tmp_path / "out.jsonl"
    before = _count(node)
    err = run_cli(node, "licence", "issue-batch", str(_write(tmp_path / "in.jsonl", names, bad={bad})),
                  "--as", "MARKET", "--chunk", "5", "--in-flight", str(in_flight), "--out", str(out),
                  code=2)["error"]
    assert err["code"] == "bad_request" and "NO-SUCH-TYPE" in err["message"]
    assert err["refused_licences"] == [refused] and err["not_sent_from_licence"] == unsent
    assert err["issued"] == len(issued)
    assert _holders(node, out) == [names[i] for i in issued]
    assert _count(node) == before + len(issued)
