"""Compile contracts/src with the pinned solcjs and write node/chain/artifacts/<Name>.json.

Usage: .venv/bin/python scripts/compile_contracts.py [--check]

Every imported source (our own and OpenZeppelin's from node_modules) is put into the
standard-json input by content, so the input alone determines the output and its
sha256 (``sourceHash``) names exactly what was compiled. ``--check`` recompiles in
memory and exits 1 when a committed artifact differs or is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import posixpath
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "contracts" / "src"
NODE_MODULES = ROOT / "node_modules"
ARTIFACTS = ROOT / "node" / "chain" / "artifacts"
SOLC_JS = NODE_MODULES / "solc" / "solc.js"

SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"
OPTIMIZER = {"enabled": True, "runs": 200}

_IMPORT = re.compile(r'^\s*import\s+(?:[^"\';]*?\s+from\s+)?["\']([^"\']+)["\']', re.MULTILINE)


class CompileError(Exception):
    """Raised when solc reports errors or the toolchain is not the pinned one."""


def _resolve(unit: str, imported: str) -> str:
    if imported.startswith("."):
        return posixpath.normpath(posixpath.join(posixpath.dirname(unit), imported))
    return imported


def _read_unit(unit: str) -> str:
    local = ROOT / unit
    path = local if local.is_file() else NODE_MODULES / unit
    if not path.is_file():
        raise CompileError(f"cannot find import {unit!r}")
    return path.read_text(encoding="utf-8")


def collect_sources() -> dict[str, str]:
    """Return every source unit reachable from contracts/src, keyed by its unit name."""
    pending = sorted(p.relative_to(ROOT).as_posix() for p in SOURCES.rglob("*.sol"))
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        text = _read_unit(unit)
        sources[unit] = text
        pending.extend(_resolve(unit, imp) for imp in _IMPORT.findall(text))
    return dict(sorted(sources.items()))


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    """Return the solc standard-json input for ``sources``."""
    return {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sources.items()},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": OPTIMIZER,
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def canonical(obj: Any) -> str:
    """Return the canonical JSON text used for hashing and for artifact files."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def run_solc(std_input: dict[str, Any]) -> dict[str, Any]:
    """Run solcjs on ``std_input`` and return its parsed standard-json output."""
    # solcjs reads stdin with readFileSync (EAGAIN on a pipe) and exits before a piped
    # stdout is drained (truncated JSON): give it regular files both ways.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stdin, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as stdout:
        stdin.write(canonical(std_input))
        stdin.seek(0)
        proc = subprocess.run(
            ["node", str(SOLC_JS), "--standard-json", "--base-path", ".",
             "--include-path", "node_modules"],
            stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT, check=False,
        )
        stdout.seek(0)
        text = stdout.read()
    start = text.find("{")  # solcjs prints a notice before the JSON
    if proc.returncode != 0 or start < 0:
        raise CompileError(f"solcjs failed ({proc.returncode}): {proc.stderr or text}")
    output: dict[str, Any] = json.loads(text[start:])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    return output


def _check_version() -> None:
    package = json.loads((NODE_MODULES / "solc" / "package.json").read_text(encoding="utf-8"))
    if package.get("version") != SOLC_VERSION:
        raise CompileError(f"node_modules/solc is {package.get('version')}, need {SOLC_VERSION}")


def build() -> dict[str, str]:
    """Compile and return ``{file name: artifact text}`` for every deployable contract."""
    _check_version()
    std_input = standard_input(collect_sources())
    source_hash = hashlib.sha256(canonical(std_input).encode("utf-8")).hexdigest()
    output = run_solc(std_input)
    for warning in output.get("errors", []):
        print(warning.get("formattedMessage", warning["message"]), file=sys.stderr)
    artifacts: dict[str, str] = {}
    for unit, contracts in sorted(output.get("contracts", {}).items()):
        if not unit.startswith("contracts/src/"):
            continue
        for name, compiled in sorted(contracts.items()):
            bytecode = compiled["evm"]["bytecode"]["object"]
            if not bytecode:  # interfaces and abstract contracts
                continue
            artifact = {
                "contractName": name,
                "abi": compiled["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                "compiler": {"solc": SOLC_VERSION, "evmVersion": EVM_VERSION,
                             "optimizer": OPTIMIZER},
                "sourceHash": source_hash,
            }
            artifacts[f"{name}.json"] = json.dumps(artifact, sort_keys=True, indent=2) + "\n"
    return artifacts


def stale(artifacts: dict[str, str]) -> list[str]:
    """Return the artifact files that are missing, different or no longer produced."""
    names = sorted(set(artifacts) | {p.name for p in ARTIFACTS.glob("*.json")})
    return [
        n for n in names
        if n not in artifacts or not (ARTIFACTS / n).is_file()
        or (ARTIFACTS / n).read_text(encoding="utf-8") != artifacts[n]
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if committed artifacts differ from a fresh build")
    args = parser.parse_args(argv)
    try:
        artifacts = build()
    except CompileError as exc:
        print(f"compile failed:\n{exc}", file=sys.stderr)
        return 2
    if args.check:
        out_of_date = stale(artifacts)
        for name in out_of_date:
            print(f"stale artifact: node/chain/artifacts/{name}", file=sys.stderr)
        if out_of_date:
            print("run: .venv/bin/python scripts/compile_contracts.py", file=sys.stderr)
        return 1 if out_of_date else 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stray in ARTIFACTS.glob("*.json"):
        if stray.name not in artifacts:
            stray.unlink()
    for name, text in artifacts.items():
        (ARTIFACTS / name).write_text(text, encoding="utf-8")
    init = ARTIFACTS / "__init__.py"
    if not init.exists():
        init.write_text('"""Compiled contract artifacts (generated by scripts/compile_contracts.py)."""\n',
                        encoding="utf-8")
    print(f"wrote {', '.join(sorted(artifacts))} to node/chain/artifacts/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
