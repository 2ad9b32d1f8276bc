"""Exceptions raised by the chain gateway and transaction manager."""

from __future__ import annotations


class ChainError(Exception):
    """Raised when the chain cannot do what was asked."""


class ChainUnavailable(ChainError):
    """Raised when the chain node cannot be reached."""


class CallReverted(ChainError):
    """Raised when a call or transaction reverts; ``data`` holds the revert payload."""

    def __init__(self, data: bytes, message: str = "execution reverted") -> None:
        super().__init__(message)
        self.data = data


class TransactionRejected(ChainError):
    """Raised when the node refuses a signed transaction (bad nonce, low fee, ...)."""

    def __init__(self, message: str, transaction_hash: bytes | None = None) -> None:
        super().__init__(message)
        self.transaction_hash = transaction_hash
