"""Enforce the import table of docs/internals.md ("Packages and who may import whom").

Every ``.py`` file under the layered packages is parsed with :mod:`ast`; each
``import``/``from … import`` (including relative ones, ``TYPE_CHECKING`` blocks
and constant ``importlib.import_module``/``__import__`` calls) is checked
against its package's rule. Packages that do not exist yet contribute no files;
the self-checks at the bottom prove the checker catches what it should.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class Rule:
    """What one package may import: an allow-list (None = anything) minus a deny-list."""

    package: str
    allowed: frozenset[str] | None
    forbidden: frozenset[str]
    # Module prefixes allowed only inside functions with these names (cli: node for init/serve).
    only_inside: dict[str, frozenset[str]] = field(default_factory=dict)


RULES = (
    Rule(
        "ledger.domain",
        allowed=frozenset({"ledger.domain", "cryptography", "eth_hash", "rfc8785"}),
        forbidden=frozenset({"web3", "fastapi", "sqlmodel", "sqlalchemy", "httpx", "requests", "node", "cli"}),
    ),
    Rule(
        "verifiers",
        allowed=frozenset(
            {
                "verifiers",
                "ledger.domain",
                "pycose",
                "cbor2",
                "base45",
                "zlib_ng",
                "zxingcpp",
                "segno",
                "PIL",
                "cryptography",
                "httpx",
            }
        ),
        forbidden=frozenset({"node", "cli", "web3", "sqlmodel"}),
    ),
    Rule("ledger.store", allowed=None, forbidden=frozenset({"node.api", "cli"})),
    Rule("ledger.indexer", allowed=None, forbidden=frozenset({"node.api", "cli"})),
    Rule("node", allowed=None, forbidden=frozenset({"cli"})),
    Rule(
        "cli",
        allowed=None,
        forbidden=frozenset(),
        only_inside={"node": frozenset({"init", "serve"})},
    ),
    # The bench measures the product, so it drives it the way users do, never through test code.
    Rule("bench", allowed=None, forbidden=frozenset({"tests"})),
)


@dataclass(frozen=True)
class Violation:
    """One import that breaks a rule."""

    where: str
    line: int
    module: str
    why: str


def _under(module: str, prefixes: frozenset[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _resolve(module_name: str, is_package: bool, node: ast.ImportFrom) -> str:
    """Turn a possibly relative ``from`` target into an absolute module name."""
    if not node.level:
        return node.module or ""
    parts = module_name.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(source: str, module_name: str, is_package: bool = False) -> list[tuple[int, str, str]]:
    """Return ``(line, imported module, enclosing function or '')`` for every import in source."""
    found: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(module_name, is_package, child)
                for alias in child.names:
                    name = target if alias.name == "*" else f"{target}.{alias.name}"
                    found.append((child.lineno, name, function))
            elif (
                isinstance(child, ast.Call)
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
                and (
                    (isinstance(child.func, ast.Name) and child.func.id in {"__import__", "import_module"})
                    or (isinstance(child.func, ast.Attribute) and child.func.attr == "import_module")
                )
            ):
                found.append((child.lineno, child.args[0].value, function))
            visit(child, inner)

    visit(ast.parse(source), "")
    return found


def check_source(source: str, module_name: str, rule: Rule, is_package: bool = False) -> list[Violation]:
    """Return the imports in ``source`` (module ``module_name``) that break ``rule``."""
    violations = []
    for line, module, function in imports_of(source, module_name, is_package):
        top = module.split(".")[0]
        if _under(module, rule.forbidden):
            violations.append(Violation(module_name, line, module, "forbidden"))
        elif rule.allowed is not None and top not in STDLIB and not _under(module, rule.allowed):
            violations.append(Violation(module_name, line, module, "not in the allow-list"))
        for prefix, functions in rule.only_inside.items():
            if _under(module, frozenset({prefix})) and function not in functions:
                where = f"inside {function}()" if function else "at module level"
                violations.append(Violation(module_name, line, module, f"only in {sorted(functions)}, not {where}"))
    return violations


def layered_files() -> list[tuple[Path, str, Rule]]:
    """Return every source file of the layered packages with its module name and rule."""
    files = []
    for rule in RULES:
        folder = ROOT.joinpath(*rule.package.split("."))
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            relative = path.relative_to(ROOT).with_suffix("")
            parts = list(relative.parts)
            files.append((path, ".".join(parts), rule))
    return files


def _applicable(files: list[tuple[Path, str, Rule]]) -> list[tuple[Path, str, Rule]]:
    """Keep, for each file, only the most specific rule (ledger.domain beats a wider one)."""
    best: dict[Path, tuple[Path, str, Rule]] = {}
    for path, name, rule in files:
        if path not in best or len(rule.package) > len(best[path][2].package):
            best[path] = (path, name, rule)
    return list(best.values())


def test_layered_packages_respect_the_import_table() -> None:
    files = _applicable(layered_files())
    assert any(name.startswith("ledger.domain.") for _, name, _ in files), "domain not scanned"
    violations = []
    for path, name, rule in files:
        is_package = path.name == "__init__.py"
        module_name = name.removesuffix(".__init__")
        violations += check_source(path.read_text("utf-8"), module_name, rule, is_package)
    assert not violations, "\n".join(f"{v.where}:{v.line} imports {v.module} ({v.why})" for v in violations)


DOMAIN = RULES[0]
VERIFIERS = RULES[1]
STORE = RULES[2]
CLI = RULES[5]
BENCH = RULES[6]


@pytest.mark.parametrize(
    "snippet",
    [
        "import web3",
        "from sqlmodel import Field",
        "import sqlalchemy.orm as orm",
        "from fastapi import APIRouter",
        "import httpx",
        "import requests",
        "from node.api import errors",
        "from cli.main import app",
        "import numpy",
        "from ledger.store import models",
        "from .. import store",
        "from ..store.models import Licence",
        "def f():\n    import web3\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from node.config import Settings\n",
        "import importlib\nimportlib.import_module('web3')",
        "__import__('sqlalchemy')",
    ],
)
def test_checker_catches_forbidden_domain_imports(snippet: str) -> None:
    assert check_source(snippet, "ledger.domain.example", DOMAIN)


@pytest.mark.parametrize(
    "snippet",
    [
        "import hashlib, json, re",
        "from __future__ import annotations",
        "from collections.abc import Mapping",
        "import rfc8785",
        "from eth_hash.auto import keccak",
        "from cryptography.hazmat.primitives import hashes",
        "from ledger.domain.errors import DomainError",
        "from . import canonical",
        "from .errors import InvalidIdentifier",
    ],
)
def test_checker_accepts_allowed_domain_imports(snippet: str) -> None:
    assert check_source(snippet, "ledger.domain.example", DOMAIN) == []


def test_relative_imports_resolve_from_packages_and_modules() -> None:
    assert imports_of("from . import x", "ledger.domain", is_package=True)[0][1] == "ledger.domain.x"
    assert imports_of("from . import x", "ledger.domain.merkle")[0][1] == "ledger.domain.x"
    assert imports_of("from ..store import m", "ledger.domain.merkle")[0][1] == "ledger.store.m"


def test_checker_rules_for_other_layers() -> None:
    assert check_source("from node.services import licences", "verifiers.verify", VERIFIERS)
    assert check_source("import web3", "verifiers.verify", VERIFIERS)
    assert check_source("from ledger.store.models import X", "verifiers.verify", VERIFIERS)
    assert check_source("import cbor2, zlib\nfrom pycose.messages import Sign1Message", "verifiers.t", VERIFIERS) == []
    assert check_source("from node.api.errors import x", "ledger.store.db", STORE)
    assert check_source("import sqlmodel\nfrom ledger.domain import merkle", "ledger.store.db", STORE) == []
    assert check_source("from node.app import create_app", "cli.main", CLI)
    assert check_source("def serve():\n    from node.app import create_app\n", "cli.main", CLI) == []
    assert check_source("def status():\n    from node.app import create_app\n", "cli.main", CLI)


@pytest.mark.parametrize("snippet", ["from tests.contracts.case_helpers import CaseSetup", "import tests.chain.harness",
                                     "def f():\n    from tests.node.conftest import DemoNode\n"])
def test_checker_catches_bench_importing_tests(snippet: str) -> None:
    assert check_source(snippet, "bench.cases", BENCH), snippet
    assert not check_source("from node.chain.anvil import AnvilProcess", "bench.cases", BENCH)


def test_the_offline_verifier_bench_loads_only_the_verifiers() -> None:
    """bench/verify_offline.py stands for a verifier app in its own process: verifiers, not the node."""
    rule = Rule("bench.verify_offline", allowed=frozenset({"verifiers", "cryptography"}),
                forbidden=frozenset({"node", "ledger.store", "cli", "tests", "bench"}))
    path = ROOT / "bench" / "verify_offline.py"
    assert check_source(path.read_text("utf-8"), "bench.verify_offline", rule) == []
    assert check_source("from bench.common import demo_node", "bench.verify_offline", rule)
