"""Webhook rules: which URLs a node posts to, how secrets are kept, what a notification is.

The signature scheme itself (``Regnode-Signature: t=<unix>,v1=<hex>``) lives in
``verifiers.webhooks`` so that receivers can check it without the node.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from node.errors import InvalidWebhookUrl, NodeError, WebhookHostNotAllowed
from verifiers.webhooks import WebhookSignatureError, verify_signature, verify_signature_at

__all__ = ["WebhookSignatureError", "verify_signature", "verify_signature_at"]  # for receivers

MAX_URL = 2048
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
EVENT = "event"
RETRACTED = "retracted"


class SecretUnreadable(NodeError):
    """Raised when a subscription's sealed secret does not open under the node's ``webhook_secret``."""

    code = "webhook_secret_unreadable"
    status = 503


# ------------------------------------------------------------------ where we post
def host_allowed(host: str, hosts: Sequence[str]) -> bool:
    """Return whether ``host`` matches an entry of ``hosts`` (exact, ".suffix" or "*")."""
    host = host.lower().rstrip(".")
    for entry in hosts:
        entry = entry.strip().lower().strip("[]")
        if entry == "*" or host == entry or (entry.startswith(".") and host.endswith(entry)):
            return True
    return False


def check_url(url: str, hosts: Sequence[str]) -> str:
    """Return ``url`` if the node may post notifications to it, else raise a coded error."""
    if len(url) > MAX_URL or _CONTROL.search(url):
        raise InvalidWebhookUrl(f"the URL must be at most {MAX_URL} printable characters", url=url[:200])
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError as exc:
        raise InvalidWebhookUrl(f"the URL does not parse: {exc}", url=url) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidWebhookUrl("the URL must be http:// or https://", url=url)
    if not parts.hostname:
        raise InvalidWebhookUrl("the URL names no host", url=url)
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("the URL must not carry credentials; the signature authenticates",
                                url=url)
    if parts.fragment:
        raise InvalidWebhookUrl("the URL must not carry a #fragment", url=url)
    if not host_allowed(parts.hostname, hosts):
        raise WebhookHostNotAllowed(f"this node does not post to {parts.hostname}; its operator "
                                    "lists receivers' hosts in webhook_hosts", host=parts.hostname)
    return url


# ------------------------------------------------------------------ secrets at rest
def _aead(node_secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"regnode webhook secrets v1").derive(node_secret.encode())
    return AESGCM(key)


def seal(node_secret: str, subject: str, secret: str) -> str:
    """Return ``secret`` encrypted under the node's ``webhook_secret`` (hex of nonce + ciphertext)."""
    nonce = os.urandom(12)
    return (nonce + _aead(node_secret).encrypt(nonce, secret.encode(), subject.encode())).hex()


def unseal(node_secret: str, subject: str, sealed: str) -> str:
    """Return the secret ``seal`` encrypted; raise ``SecretUnreadable`` if it does not open."""
    raw = bytes.fromhex(sealed)
    try:
        return _aead(node_secret).decrypt(raw[:12], raw[12:], subject.encode()).decode()
    except (InvalidTag, ValueError):
        raise SecretUnreadable("the subscription's secret does not open: was webhook_secret "
                               "changed?") from None


# ------------------------------------------------------------------ what we send
def notification_body(kind: str, subscription_id: int, event: dict[str, Any]) -> str:
    """Return the JSON body posted for ``event`` (kind "event", or "retracted" after a reorg)."""
    return json.dumps({"type": kind, "subscription": subscription_id, **event},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def notification_key(kind: str, event_id: int) -> str:
    """Return the ``Regnode-Event-Id`` of a notification: the same on every retry of it."""
    return str(event_id) if kind == EVENT else f"{event_id}-{kind}"


def retry_delay_ms(attempts: int, base_ms: int, cap_ms: int, unit: float) -> int:
    """Return the wait after the ``attempts``-th failure: doubling from ``base_ms``, capped.

    The jitter (``unit`` in [0, 1)) spreads the wait over the upper half of the step, so
    receivers coming back from an outage are not hit by every node at once while each
    wait stays at least as long as the one before.
    """
    ceiling = min(cap_ms, base_ms * 2 ** min(max(attempts, 1) - 1, 40))
    return int(ceiling / 2 + unit * ceiling / 2)
