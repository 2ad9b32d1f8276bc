"""Rerunnable timing of the domain hot paths (not a test): ``.venv/bin/python -m bench.domain_paths``."""

from __future__ import annotations

import os
import time
import timeit

from ledger.domain.credential import build_licence
from ledger.domain.identifiers import LicenceIdentifier, make_serial
from ledger.domain.merkle import MerkleTree, verify

FIELDS: dict[str, str | int] = {
    "holderName": "张三",
    "holderId": "110101199003077777",
    "holderIdType": "居民身份证",
    "printedNumber": "No.123456",
    "areaCode": "430100",
    "serviceItem": "营业执照办理",
    "registeredCapital": 1_000_000,
    "address": "湖南省长沙市岳麓区示例路1号",
}
TYPE, USCC = "11100000000013338W011", "11430000006122244L"


def best_us(fn: object, number: int) -> float:
    """Return the best per-call time in microseconds over 7 runs."""
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6  # type: ignore[arg-type]


def main() -> None:
    """Print the figures quoted in reports."""
    ident = LicenceIdentifier(TYPE, USCC, make_serial(2026, 403), 1)
    args = (ident, "MARKET", USCC, "430000", TYPE, "营业执照", 1_795_392_000, 1_953_158_399, 1_795_000_000)
    for count in (0, 1, 4, 8):
        fields = dict(list(FIELDS.items())[:count])
        print(f"build_licence, {count} fields: {best_us(lambda f=fields: build_licence(*args, f), 20_000):.1f} µs")
    counter = iter(range(10**9))
    print(
        "identifier + 8-field licence: "
        f"{best_us(lambda: build_licence(LicenceIdentifier(TYPE, USCC, make_serial(2026, next(counter)), 1), *args[1:], FIELDS), 20_000):.1f} µs"  # noqa: E501
    )
    print(f"LicenceIdentifier.parse: {best_us(lambda: LicenceIdentifier.parse(str(ident)), 50_000):.2f} µs")

    leaves = [os.urandom(32) for _ in range(100_000)]
    start = time.perf_counter()
    tree = MerkleTree(leaves)
    built = time.perf_counter()
    proofs = tree.proofs()
    proved = time.perf_counter()
    assert all(verify(proofs[i], tree.root, leaves[i]) for i in range(0, 100_000, 997))
    print(f"Merkle 100,000 leaves: tree {built - start:.3f} s, all proofs {proved - built:.3f} s")


if __name__ == "__main__":
    main()
