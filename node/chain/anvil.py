"""Start and stop a local anvil process (the npm-installed Foundry binary)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from node.chain.errors import ChainUnavailable

_BINARY = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
_REPO_ROOT = Path(__file__).resolve().parents[2]
# Anvil's well-known test mnemonic: the accounts are public test keys, never secrets.
TEST_MNEMONIC = "test test test test test test test test test test test junk"


def find_anvil() -> Path:
    """Return the anvil binary: ``$REGNODE_ANVIL`` or the repo's node_modules copy."""
    override = os.environ.get("REGNODE_ANVIL")
    candidate = Path(override) if override else _REPO_ROOT / _BINARY
    if not candidate.is_file():
        raise FileNotFoundError(
            f"anvil not found at {candidate}; run `npm ci` or set REGNODE_ANVIL"
        )
    return candidate


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AnvilProcess:
    """An anvil node bound to 127.0.0.1 on a free port; use as a context manager."""

    def __init__(
        self,
        *,
        chain_id: int = 31337,
        accounts: int = 10,
        balance_ether: int = 1_000_000,
        mnemonic: str = TEST_MNEMONIC,
        binary: Path | None = None,
        startup_timeout: float = 20.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.chain_id = chain_id
        self._args = [
            str(binary or find_anvil()),
            "--host", "127.0.0.1",
            "--hardfork", "cancun",
            "--chain-id", str(chain_id),
            "--accounts", str(accounts),
            "--balance", str(balance_ether),
            "--mnemonic", mnemonic,
            "--silent",
            *extra_args,
        ]
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> AnvilProcess:
        """Start anvil and return once it answers JSON-RPC."""
        deadline = time.monotonic() + self._startup_timeout
        while True:
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self._process = subprocess.Popen(
                [*self._args, "--port", str(port)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
            if self._wait_ready(deadline):
                return self
            # Lost the port race or failed to start: report or retry on another port.
            stderr = self._reap()
            if time.monotonic() >= deadline:
                raise ChainUnavailable(f"anvil did not start: {stderr}")

    def _wait_ready(self, deadline: float) -> bool:
        assert self._process is not None
        payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        with httpx.Client(timeout=0.5) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    return False
                try:
                    if client.post(self.url, json=payload).status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                try:  # doubles as the poll interval and as an early exit check
                    self._process.wait(timeout=0.02)
                    return False
                except subprocess.TimeoutExpired:
                    pass
        return False

    def _reap(self) -> str:
        assert self._process is not None
        if self._process.poll() is None:
            self._process.kill()
        _, stderr = self._process.communicate(timeout=10)
        self._process = None
        return (stderr or b"").decode(errors="replace")[-2000:]

    def stop(self) -> None:
        """Stop anvil: terminate, then kill if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()

    @property
    def pid(self) -> int | None:
        """Return the operating-system process id of the running anvil (None when stopped)."""
        return None if self._process is None else self._process.pid

    def __enter__(self) -> AnvilProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
