"""A typed binding over one compiled contract artifact, with no provider behind it.

It encodes calls and deployments, decodes outputs, event logs (in bulk, straight
through :func:`eth_abi.decode`) and revert data (custom errors, ``Error(string)``,
``Panic(uint256)``). Artifacts come from ``node/chain/artifacts`` (written by
``scripts/compile_contracts.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import eth_abi
from eth_abi.exceptions import DecodingError
from eth_utils import keccak

from node.chain.gateway import RawLog

ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]


class AbiError(Exception):
    """Raised when a name, argument list or payload does not fit the contract's ABI."""


def _abi_type(param: Mapping[str, Any]) -> str:
    """Return the canonical type string of an ABI parameter (tuples spelled out)."""
    typ: str = param["type"]
    if typ.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){typ[len('tuple'):]}"
    return typ


def _named(param: Mapping[str, Any], value: Any) -> Any:
    """Turn decoded structs into dicts keyed by component name and addresses into bytes."""
    typ: str = param["type"]
    if typ == "address":
        return bytes.fromhex(value[2:])
    if typ == "tuple":
        return {c["name"]: _named(c, v) for c, v in zip(param["components"], value, strict=True)}
    if typ.endswith("]"):
        element = dict(param, type=typ[: typ.rindex("[")])
        return [_named(element, v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class AbiFunction:
    """A contract function: its selector and parameter types."""

    name: str
    signature: str
    selector: bytes
    inputs: tuple[Mapping[str, Any], ...]
    outputs: tuple[Mapping[str, Any], ...]

    @property
    def input_types(self) -> list[str]:
        return [_abi_type(p) for p in self.inputs]

    @property
    def output_types(self) -> list[str]:
        return [_abi_type(p) for p in self.outputs]


@dataclass(frozen=True, slots=True)
class AbiEvent:
    """A contract event: its topic0 and how its fields split between topics and data."""

    name: str
    signature: str
    topic0: bytes
    inputs: tuple[Mapping[str, Any], ...]

    @property
    def indexed(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(p for p in self.inputs if p["indexed"])

    @property
    def unindexed(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(p for p in self.inputs if not p["indexed"])


@dataclass(frozen=True, slots=True)
class AbiErrorDef:
    """A custom error: its selector and parameters."""

    name: str
    signature: str
    selector: bytes
    inputs: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """An event log decoded against the contract's ABI."""

    name: str
    args: dict[str, Any]
    address: bytes
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    transaction_index: int
    log_index: int


def _signature(item: Mapping[str, Any]) -> str:
    return f"{item['name']}({','.join(_abi_type(p) for p in item['inputs'])})"


class ContractAbi:
    """The ABI and bytecode of one compiled contract."""

    def __init__(self, artifact: Mapping[str, Any]) -> None:
        self.name: str = artifact["contractName"]
        self.abi: list[dict[str, Any]] = list(artifact["abi"])
        self.bytecode = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
        self.deployed_bytecode = bytes.fromhex(artifact["deployedBytecode"].removeprefix("0x"))
        self.source_hash: str = artifact.get("sourceHash", "")
        self.functions: dict[str, AbiFunction] = {}
        self.events: dict[str, AbiEvent] = {}
        self.errors: dict[str, AbiErrorDef] = {}
        self._constructor_inputs: tuple[Mapping[str, Any], ...] = ()
        for item in self.abi:
            kind = item["type"]
            if kind == "function":
                sig = _signature(item)
                fn = AbiFunction(item["name"], sig, keccak(text=sig)[:4],
                                 tuple(item["inputs"]), tuple(item["outputs"]))
                # A bare name maps to the function only while it is not overloaded.
                self.functions[sig] = fn
                self.functions.setdefault(item["name"], fn)
            elif kind == "event":
                sig = _signature(item)
                self.events[item["name"]] = AbiEvent(item["name"], sig, keccak(text=sig),
                                                     tuple(item["inputs"]))
            elif kind == "error":
                sig = _signature(item)
                self.errors[item["name"]] = AbiErrorDef(item["name"], sig, keccak(text=sig)[:4],
                                                        tuple(item["inputs"]))
            elif kind == "constructor":
                self._constructor_inputs = tuple(item["inputs"])
        self.event_by_topic0: dict[bytes, AbiEvent] = {e.topic0: e for e in self.events.values()}
        self.error_by_selector: dict[bytes, AbiErrorDef] = {
            e.selector: e for e in self.errors.values()
        }

    # ------------------------------------------------------------------ calls

    def function(self, name: str) -> AbiFunction:
        """Return the function called ``name`` (or with full signature ``name``)."""
        try:
            return self.functions[name]
        except KeyError:
            raise AbiError(f"{self.name} has no function {name!r}") from None

    def selector(self, name: str) -> bytes:
        """Return the 4-byte selector of function ``name``."""
        return self.function(name).selector

    def encode_call(self, name: str, args: Sequence[Any] = ()) -> bytes:
        """Return the calldata for ``name(*args)``."""
        fn = self.function(name)
        return fn.selector + eth_abi.encode(fn.input_types, list(args))

    def decode_output(self, name: str, data: bytes) -> tuple[Any, ...]:
        """Decode the return data of ``name``; structs come back as dicts by field name."""
        fn = self.function(name)
        values = eth_abi.decode(fn.output_types, data)
        return tuple(_named(p, v) for p, v in zip(fn.outputs, values, strict=True))

    def encode_deploy(self, args: Sequence[Any] = ()) -> bytes:
        """Return the creation code followed by the encoded constructor arguments."""
        types = [_abi_type(p) for p in self._constructor_inputs]
        return self.bytecode + eth_abi.encode(types, list(args))

    # ----------------------------------------------------------------- events

    @property
    def topic0s(self) -> dict[str, bytes]:
        """Return ``{event name: topic0}``."""
        return {name: e.topic0 for name, e in self.events.items()}

    def decode_logs(self, logs: Iterable[RawLog], *, strict: bool = False) -> list[DecodedEvent]:
        """Decode ``logs`` in order; logs of other events are skipped unless ``strict``."""
        decoded: list[DecodedEvent] = []
        plans: dict[bytes, tuple[AbiEvent, list[str], list[str]]] = {}
        for log in logs:
            if not log.topics or log.topics[0] not in self.event_by_topic0:
                if strict:
                    raise AbiError(f"log {log.log_index} is no {self.name} event")
                continue
            plan = plans.get(log.topics[0])
            if plan is None:
                event = self.event_by_topic0[log.topics[0]]
                plan = (event, [_abi_type(p) for p in event.indexed],
                        [_abi_type(p) for p in event.unindexed])
                plans[log.topics[0]] = plan
            event, indexed_types, data_types = plan
            decoded.append(DecodedEvent(
                name=event.name,
                args=self._event_args(event, indexed_types, data_types, log),
                address=log.address,
                block_number=log.block_number,
                block_hash=log.block_hash,
                transaction_hash=log.transaction_hash,
                transaction_index=log.transaction_index,
                log_index=log.log_index,
            ))
        return decoded

    @staticmethod
    def _event_args(event: AbiEvent, indexed_types: list[str], data_types: list[str],
                    log: RawLog) -> dict[str, Any]:
        if len(log.topics) != len(indexed_types) + 1:
            raise AbiError(f"{event.name} log {log.log_index} has {len(log.topics)} topics")
        args: dict[str, Any] = {}
        for param, typ, topic in zip(event.indexed, indexed_types, log.topics[1:], strict=True):
            # Dynamic values are stored as their keccak in the topic: keep the hash.
            dynamic = typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("(")
            args[param["name"]] = (
                topic if dynamic else _named(param, eth_abi.decode([typ], topic)[0])
            )
        values = eth_abi.decode(data_types, log.data)
        for param, value in zip(event.unindexed, values, strict=True):
            args[param["name"]] = _named(param, value)
        return args

    # ----------------------------------------------------------------- errors

    def decode_error(self, revert_data: bytes) -> tuple[str, dict[str, Any]]:
        """Return ``(error name, args)`` for revert data.

        ``Error(string)`` gives ``("Error", {"message": ...})``, ``Panic(uint256)`` gives
        ``("Panic", {"code": ...})``, an empty revert gives ``("", {})``, and an unknown
        selector gives ``("", {"data": revert_data})``.
        """
        if not revert_data:
            return "", {}
        selector, body = bytes(revert_data[:4]), bytes(revert_data[4:])
        try:
            if selector == ERROR_STRING_SELECTOR:
                return "Error", {"message": eth_abi.decode(["string"], body)[0]}
            if selector == PANIC_SELECTOR:
                return "Panic", {"code": eth_abi.decode(["uint256"], body)[0]}
            error = self.error_by_selector.get(selector) or _foreign_errors().get(selector)
            if error is None:
                return "", {"data": bytes(revert_data)}
            values = eth_abi.decode([_abi_type(p) for p in error.inputs], body)
        except DecodingError:
            return "", {"data": bytes(revert_data)}
        return error.name, {p["name"]: _named(p, v) for p, v in zip(error.inputs, values,
                                                                     strict=True)}


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """Return the parsed artifact ``node/chain/artifacts/<name>.json``."""
    text = resources.files("node.chain.artifacts").joinpath(f"{name}.json").read_text("utf-8")
    artifact: dict[str, Any] = json.loads(text)
    return artifact


@cache
def contract(name: str) -> ContractAbi:
    """Return the (shared, immutable) binding for artifact ``name``."""
    return ContractAbi(load_artifact(name))


@cache
def _foreign_errors() -> dict[bytes, Any]:
    """Return the custom errors of every artifact by selector: a contract that calls another
    (TransferCases → PropertyRegistry) bubbles up the callee's error unchanged."""
    table: dict[bytes, Any] = {}
    names = sorted(p.name.removesuffix(".json") for p in resources.files("node.chain.artifacts").iterdir()
                   if p.name.endswith(".json"))
    for name in names:
        for selector, error in contract(name).error_by_selector.items():
            table.setdefault(selector, error)
    return table
