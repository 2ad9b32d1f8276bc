"""Ask a regnode node to verify a token: ``POST {node}/v1/verify``.

Request body::

    {"token": "RN1:..."}

Answer (HTTP 200): the JSON form of `VerificationResult`::

    {
      "verdict": "valid",                  # one of verifiers.verdict.Verdict
      "reason": "signature, key, status, dates and anchor check out",
      "issuer": "MARKET",                  # null until the signature verified
      "issuer_name": "深圳市市场监督管理局",
      "issuer_region": "440300",
      "licence_type": "11100000000013338W011",
      "type_name": "营业执照",
      "identifier": "1.2.156.3005.2....",
      "issued_at": 1795000000,             # unix seconds
      "valid_from": 1795000000,
      "valid_until": null,                 # null: open-ended
      "disclosed": {"name": "..."},
      "kid": "3f4aecc69df40a5e",           # hex, null when malformed
      "leaf": "ab18...",                   # hex, null when malformed
      "status_reason": null,               # reason code when revoked/suspended
      "status_since": null
    }

The node may add fields of its own (``checked_at``, ``indexed_block``, and ``peer`` when
it fetched another node's Merkle proof); they are not part of `VerificationResult`.

Any other status, or a body that is not this shape, raises OnlineVerificationError.
"""

from __future__ import annotations

import httpx

from verifiers.errors import OnlineVerificationError
from verifiers.verdict import VerificationResult

DEFAULT_TIMEOUT = 5.0


def verify_online(
    text: str, node_url: str, client: httpx.Client | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> VerificationResult:
    """Return the node's verdict for a token; raise OnlineVerificationError on failure."""
    url = node_url.rstrip("/") + "/v1/verify"
    owned = client is None
    http = httpx.Client(timeout=timeout) if client is None else client
    try:
        response = http.post(url, json={"token": text})
    except httpx.HTTPError as exc:
        raise OnlineVerificationError(url, f"request failed: {exc}") from None
    finally:
        if owned:
            http.close()
    if response.status_code != 200:
        raise OnlineVerificationError(url, f"HTTP {response.status_code}", response.status_code)
    try:
        return VerificationResult.from_json(response.json())
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        raise OnlineVerificationError(url, f"not a verification result: {exc}", 200) from None
