"""Private keys the node holds, kept as files in ``<data>/keys`` readable by the owner only.

Two kinds per department: a chain account (secp256k1, signs transactions) and
credential-signing keys (P-256 by default, sign QR tokens and snapshots). Keys
never enter the database or the logs; the database records only public parts
and the file name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from eth_account import Account
from eth_account.signers.local import LocalAccount

from verifiers.cose import Signer
from verifiers.trust import ALG_ES256

SigningPrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class KeyStoreError(Exception):
    """Raised when a key file is missing, unreadable or of the wrong kind."""

    code = "key_store_error"


@dataclass(frozen=True)
class NewSigningKey:
    """A freshly generated credential-signing key and where it was written."""

    kid: bytes
    alg: int
    public_key_der: bytes
    path: Path


class KeyStore:
    """Reads and writes key files under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def ensure(self) -> None:
        """Create the folder, private to the owner."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def _write_private(self, name: str, data: bytes) -> Path:
        self.ensure()
        path = self.folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return path

    # chain accounts -----------------------------------------------------------------
    def create_account(self, name: str) -> LocalAccount:
        """Generate a chain account and store its key as ``<name>.account``."""
        account: LocalAccount = Account.create()
        self._write_private(f"{name}.account", account.key.hex().encode())
        return account

    def account(self, name: str) -> LocalAccount:
        """Load the chain account stored as ``<name>.account``."""
        path = self.folder / f"{name}.account"
        try:
            key = path.read_text().strip()
        except OSError as exc:
            raise KeyStoreError(f"chain account key {path} is missing") from exc
        loaded: LocalAccount = Account.from_key(key)
        return loaded

    # credential-signing keys --------------------------------------------------------
    def create_signing_key(self, department: str, alg: int = ALG_ES256) -> NewSigningKey:
        """Generate a credential-signing key for ``department`` and store it as PEM."""
        try:
            signer = Signer.generate(alg)
        except ValueError as exc:
            raise KeyStoreError(str(exc)) from None
        path = self._write_private(f"{department}.sign.{signer.kid.hex()}.pem", signer.private_pem())
        return NewSigningKey(kid=signer.kid, alg=signer.alg, public_key_der=signer.public_key_der,
                             path=path)

    def signing_key(self, file_name: str) -> SigningPrivateKey:
        """Load a credential-signing key by its file name."""
        path = self.folder / Path(file_name).name
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"signing key {path.name} is unreadable") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise KeyStoreError(f"signing key {path.name} is of an unsupported kind")
        return key
