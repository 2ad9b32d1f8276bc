"""The verifier page in a real browser (Debian chromium through Playwright) against a real server.

A bank clerk opens `/`, pastes a token or picks a photo of a QR code, presses the
button and reads the verdict. The node runs under uvicorn on a free loopback port;
the browser is Debian's `chromium` (installed by `make test`; nothing is downloaded).
In CI a missing browser fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.app import create_app
from node.config import load_settings
from node.runtime import Runtime
from node.services.bootstrap import read_tokens
from tests.node.served import ServedApp
from tests.node.test_licences import business
from verifiers.qr import qr_png

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(demo_data: Path) -> Iterator[tuple[str, Runtime]]:
    settings = load_settings(demo_data, background=False, batch_size=64)
    runtime = Runtime(settings)
    served = ServedApp(create_app(settings, runtime)).start()
    yield served.url, runtime
    served.stop()
    runtime.stop()


@pytest.fixture(scope="module")
def page(server: tuple[str, Runtime]) -> Iterator[object]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is not installed: `make test` installs it (make browser)")
        pytest.skip("Debian chromium is not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        yield browser.new_page()
        browser.close()


def _issue(base: str, runtime: Runtime, demo_data: Path, i: int) -> str:
    import httpx

    token = read_tokens(demo_data)["MARKET"]
    r = httpx.post(f"{base}/v1/licences", json=business(9000 + i),
                   headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["qr"])


def _check_text(page: object, base: str, token: str) -> tuple[str, str]:
    page.goto(base + "/")  # type: ignore[attr-defined]
    page.fill("#token", token)  # type: ignore[attr-defined]
    page.click("#check")  # type: ignore[attr-defined]
    page.wait_for_selector("#verdict[data-verdict]")  # type: ignore[attr-defined]
    verdict = page.get_attribute("#verdict", "data-verdict")  # type: ignore[attr-defined]
    return str(verdict), str(page.inner_text("#verdict"))  # type: ignore[attr-defined]


def test_a_clerk_sees_not_anchored_then_valid_then_revoked(
        server: tuple[str, Runtime], page: object, demo_data: Path) -> None:
    base, runtime = server
    token = _issue(base, runtime, demo_data, 1)
    verdict, text = _check_text(page, base, token)
    assert verdict == "not_anchored_yet" and "Not anchored yet" in text
    runtime.settle()
    verdict, text = _check_text(page, base, token)
    assert verdict == "valid" and "有效 Valid" in text
    assert "北京示范科技有限公司9001" in text  # a disclosed field is shown
    assert "营业执照" in text
    verdict, text = _check_text(page, base, token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB"))
    assert verdict in {"malformed", "bad_signature", "tampered"}
    assert "Valid" not in text.split("\n")[0]


def test_a_clerk_checks_a_photo_of_the_code(server: tuple[str, Runtime], page: object, demo_data: Path,
                                            tmp_path: Path) -> None:
    base, runtime = server
    token = _issue(base, runtime, demo_data, 2)
    runtime.settle()
    photo = tmp_path / "licence.png"
    qr_png(token, photo, scale=6)
    page.goto(base + "/")  # type: ignore[attr-defined]
    page.set_input_files("#image", str(photo))  # type: ignore[attr-defined]
    page.click("#check-image")  # type: ignore[attr-defined]
    page.wait_for_selector("#verdict[data-verdict]")  # type: ignore[attr-defined]
    assert page.get_attribute("#verdict", "data-verdict") == "valid"  # type: ignore[attr-defined]


def test_garbage_gets_a_verdict_not_an_error_page(server: tuple[str, Runtime], page: object) -> None:
    base, _ = server
    verdict, text = _check_text(page, base, "hello, not a licence")
    assert verdict == "malformed" and "Malformed" in text
