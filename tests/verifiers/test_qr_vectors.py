"""The golden vectors of tests/vectors/qr give their expected verdicts against the snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import VECTORS

from verifiers import Verdict, load_snapshot, qr_version, verify_token

FILES = sorted((VECTORS / "qr").glob("*.json"))
EXPORTER_KID = bytes.fromhex(json.loads((VECTORS / "snapshot.json").read_text())["exporter_kid"])


@pytest.fixture(scope="module")
def snapshots() -> dict[str, object]:
    return {"snapshot.rns": load_snapshot((VECTORS / "snapshot.rns").read_bytes(),
                                          pinned_kid=EXPORTER_KID)}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path, snapshots: dict[str, object]) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    result = verify_token(vector["token"], snapshots[vector["snapshot"]],  # type: ignore[arg-type]
                          vector["now"], vector["verifier_region"])
    assert result.verdict.value == vector["expected_verdict"], (vector["description"], result.reason)


def test_every_verdict_has_a_vector() -> None:
    expected = {json.loads(p.read_text(encoding="utf-8"))["expected_verdict"] for p in FILES}
    assert expected == {v.value for v in Verdict}
    malformed = [p for p in FILES if p.stem.startswith("malformed_")]
    assert len(malformed) >= 10


def test_typical_vector_fits_version_18_at_q() -> None:
    vector = json.loads((VECTORS / "qr" / "valid_typical.json").read_text(encoding="utf-8"))
    assert qr_version(vector["token"]) <= 18
