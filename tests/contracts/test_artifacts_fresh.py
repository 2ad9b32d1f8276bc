"""The committed contract artifacts must match a fresh compile of contracts/src."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_artifacts_are_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile_contracts.py"), "--check"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=300,
    )
    assert proc.returncode == 0, (
        "node/chain/artifacts is stale; run .venv/bin/python scripts/compile_contracts.py\n"
        + proc.stdout + proc.stderr
    )
