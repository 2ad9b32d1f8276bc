"""verify_online posts the token and reads back a VerificationResult."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from verifiers import OnlineVerificationError, Verdict, VerificationResult
from verifiers.online import verify_online

RESULT = VerificationResult(Verdict.REVOKED, "revoked since 5 (reason 3)", issuer="MARKET",
                            identifier="1.2.156", disclosed={"name": "公司", "cap": 10},
                            kid="00" * 8, leaf="11" * 32, status_reason=3, status_since=5)


def client(handler: object) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_posts_the_token_and_parses_the_result() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=RESULT.to_json())

    result = verify_online("RN1:ABC", "https://node.example/", client(handler))
    assert result == RESULT
    assert seen[0].method == "POST" and str(seen[0].url) == "https://node.example/v1/verify"
    assert json.loads(seen[0].content) == {"token": "RN1:ABC"}


@pytest.mark.parametrize("response", [
    httpx.Response(500, text="boom"),
    httpx.Response(200, text="not json"),
    httpx.Response(200, json={"verdict": "great", "reason": ""}),
    httpx.Response(200, json={"verdict": "valid", "reason": "x", "valid_from": "today"}),
    httpx.Response(200, json=[1, 2]),
])
def test_bad_answers_raise(response: httpx.Response) -> None:
    with pytest.raises(OnlineVerificationError):
        verify_online("RN1:ABC", "https://node.example", client(lambda request: response))


def test_network_failure_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(OnlineVerificationError, match="request failed"):
        verify_online("RN1:ABC", "https://node.example", client(handler))


def test_the_package_imports_nothing_of_node_cli_or_web3() -> None:
    code = (
        "import sys, verifiers, verifiers.image, verifiers.online, verifiers.verify\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'node', 'cli', 'web3', 'sqlmodel', 'sqlalchemy', 'fastapi'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
