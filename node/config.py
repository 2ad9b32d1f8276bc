"""Node configuration: one ``Settings`` object, read from the data folder and the environment.

Precedence (highest first): explicit keyword arguments, ``REGNODE_*`` environment
variables, ``<data>/regnode.toml``, defaults. Nothing is read at import time:
``load_settings(data_dir)`` builds the object and ``create_app(settings)`` takes it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CONFIG_FILE = "regnode.toml"
PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "placeholder", "xxx"}


class ConfigError(Exception):
    """Raised when the configuration is missing, inconsistent or unsafe."""

    code = "config_error"


class Settings(BaseSettings):
    """Everything a node needs to start."""

    model_config = SettingsConfigDict(env_prefix="REGNODE_", extra="ignore")

    data_dir: Path
    db_url: str = ""
    chain: str = "embedded"  # "embedded" or a JSON-RPC URL
    chain_id: int = 1337
    registry_address: str = ""
    registry_block: int = 0  # where the indexer starts
    property_registry_address: str = ""  # PropertyRegistry, roles read from registry_address
    settlement_token_address: str = ""  # SettlementToken (fen), minted by BANK departments
    fee_schedule_address: str = ""  # the FeeSchedule contract TAX publishes to ("" = none deployed)
    transfer_cases_address: str = ""  # TransferCases, bound to the property register ("" = none)
    fee_rules_file: str = ""  # a department's own fee rule table (JSON); "" = the packaged one
    host: str = "127.0.0.1"
    port: int = 8000
    node_department: str = ""  # the department that signs snapshots by default
    verifier_region: str = "110000"
    departments: list[str] = Field(default_factory=list)  # identities this node holds
    # Council seats this node holds: department code -> the key file name of the seat's chain
    # account in <data>/keys (a department votes in the council only through its seat).
    council_seats: dict[str, str] = Field(default_factory=dict)
    batch_size: int = 1024
    # processes that sign large issuing requests; None: one per core when there are several
    mint_workers: int | None = None
    # how much the minting workers' CPU priority is lowered (nice 0-19): the node's own
    # process, which every request waits on, comes first on a busy machine
    mint_nice: int = 19
    batch_interval_ms: int = 500
    confirmations: int = 0
    indexer_interval_ms: int = 200
    sender_interval_ms: int = 100
    peer_timeout_ms: int = 3000  # fetching a proof from another department's node
    webhook_secret: str = "unset"  # seals webhook subscriptions' signing secrets in the database
    # Hosts webhook URLs may name: exact names, ".example.org" for its subdomains, "*" for any.
    # Loopback only by default: a node posts nowhere else until its operator lists receivers.
    webhook_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])
    webhook_retry_base_ms: int = 2_000  # first retry after 1-2 s, doubling (with jitter) ...
    webhook_retry_cap_ms: int = 3_600_000  # ... up to an hour between attempts
    webhook_max_attempts: int = 16  # then the delivery is "failed" (about six hours with the defaults)
    webhook_timeout_ms: int = 5_000  # one POST, connect to last byte
    webhook_workers: int = 4  # subscriptions served in parallel (each one's deliveries in order)
    webhook_limit: int = 20  # active subscriptions per subject and department
    sse_poll_ms: int = 500  # how often an event stream looks for new events
    sse_keepalive_s: float = 15.0  # comment line sent on an idle event stream
    background: bool = True
    profile: Literal["embedded", "department", "consortium"] = "embedded"

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.db_url:
            self.db_url = f"sqlite:///{(self.data_dir / 'ledger.sqlite3').resolve()}"
        if self.batch_size < 1 or self.batch_size > 65_536:
            raise ConfigError(f"batch_size must be within 1..65536, got {self.batch_size}")
        if not 0 <= self.mint_nice <= 19:
            raise ConfigError(f"mint_nice must be within 0..19, got {self.mint_nice}")
        if self.batch_interval_ms < 1:
            raise ConfigError("batch_interval_ms must be positive")
        if not 1 <= self.webhook_retry_base_ms <= self.webhook_retry_cap_ms:
            raise ConfigError("webhook_retry_base_ms must be positive and at most webhook_retry_cap_ms")
        if self.webhook_max_attempts < 1 or self.webhook_workers < 1 or self.webhook_timeout_ms < 1:
            raise ConfigError("webhook_max_attempts, webhook_workers and webhook_timeout_ms must be positive")
        if self.sse_poll_ms < 1 or self.sse_keepalive_s <= 0:
            raise ConfigError("sse_poll_ms and sse_keepalive_s must be positive")
        return self

    @property
    def minting_processes(self) -> int:
        """Return how many worker processes mint large requests (0: mint in-process)."""
        if self.mint_workers is not None:
            return max(0, self.mint_workers)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cores if cores > 1 else 0

    @property
    def embedded(self) -> bool:
        """Return True when the chain runs inside this process."""
        return self.chain == "embedded"

    @property
    def keys_dir(self) -> Path:
        """Return the folder holding this node's private keys."""
        return self.data_dir / "keys"

    @property
    def chain_dir(self) -> Path:
        """Return the folder holding the embedded chain."""
        return self.data_dir / "chain"

    @property
    def base_url(self) -> str:
        """Return the URL this node serves on."""
        return f"http://{self.host}:{self.port}"

    def check_runnable(self) -> None:
        """Refuse to run with an incomplete or unsafe configuration."""
        if not self.registry_address:
            raise ConfigError("registry_address is not set: run `regnode init` first")
        if not self.departments:
            raise ConfigError("no department identities configured: run `regnode init`")
        if self.webhook_secret.strip().lower() in PLACEHOLDERS or self.webhook_secret == "unset":
            raise ConfigError("webhook_secret is a placeholder: set a random value")


def read_config_file(data_dir: Path) -> dict[str, Any]:
    """Return the values stored in ``<data>/regnode.toml`` (empty when absent)."""
    path = data_dir / CONFIG_FILE
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Build the settings for the node whose data folder is ``data_dir``."""
    values = read_config_file(data_dir)
    values["data_dir"] = data_dir
    # Environment variables beat the file; keyword overrides beat both.
    env_settings = Settings(data_dir=data_dir)
    from_env = {name for name in Settings.model_fields
                if f"REGNODE_{name.upper()}" in os.environ and name != "data_dir"}
    merged = {**values, **{k: getattr(env_settings, k) for k in from_env}}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**merged)


def write_config_file(data_dir: Path, values: dict[str, Any]) -> None:
    """Write ``values`` as ``<data>/regnode.toml``."""
    lines = ["# regnode node configuration (written by `regnode init`)"]
    for key in sorted(values):
        lines.append(f"{key} = {_toml_value(values[key])}")
    (data_dir / CONFIG_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
