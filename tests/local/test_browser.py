"""The local stack from a real browser: Debian's Chromium driven by Playwright, hls.js from npm.

A page served from a second loopback origin (listed in the stack's CORS origins) signs an HLS
package, PUTs every file with exactly the headers the signer returned, plays it with hls.js and
drives the processor. The same page served from ``localhost`` (another origin, not listed) is
refused by the signer, the bucket and the CDN. Screenshots land in ``build/browser/``.

Outside CI the module skips when Chromium or hls.js is missing (``make setup`` installs both);
under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from local.stack import REPO_ROOT, LocalSettings, LocalStack, free_port
from tests.local.conftest import quick_processor

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HLS_JS = REPO_ROOT / "node_modules" / "hls.js" / "dist" / "hls.min.js"
PAGE = Path(__file__).with_name("browser") / "index.html"
SCREENSHOTS = REPO_ROOT / "build" / "browser"
# What headless Chromium needs on these machines (docs/local-stack.md); Playwright adds --headless
# and gives the persistent context the fresh --user-data-dir.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require() -> None:
    missing = []
    if not Path(CHROMIUM).is_file():
        missing.append("chromium (apt-get install chromium)")
    if not HLS_JS.is_file():
        missing.append("hls.js (npm ci)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -r requirements-dev.txt)")
    if missing:
        reason = f"browser tests need {', '.join(missing)}: run make setup"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


class _Files(http.server.SimpleHTTPRequestHandler):
    """The test app's origin: the page, hls.js, the HLS package and a raw clip."""

    routes: ClassVar[dict[str, Path]] = {}

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0]
        if clean in self.routes:
            return str(self.routes[clean])
        if clean.startswith("/pkg/"):
            return str(self.routes["/pkg/"] / clean[len("/pkg/") :])
        return "/nonexistent"

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def app_origin(hls_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    _require()
    clip = tmp_path_factory.mktemp("raw") / "raw.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24",
         "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
        timeout=60,
    )  # fmt: skip
    routes = {"/": PAGE, "/index.html": PAGE, "/hls.js": HLS_JS, "/raw.mp4": clip, "/pkg/": hls_package}
    handler = type("Files", (_Files,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser_stack(app_origin: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack whose corsAllowedOrigins list the app's origin only (as a prod stack would)."""
    data = tmp_path_factory.mktemp("browser-stack")
    settings = LocalSettings(
        port=free_port(),
        s3_port=free_port(),
        data_dir=data,
        cors_allowed_origins=(f"http://127.0.0.1:{app_origin}",),
    )
    with LocalStack(settings, quick_processor(data)) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield context
        context.close()


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page()
    page.set_default_timeout(90_000)  # generous on a loaded 2-core machine; the page has its own timeouts
    page.goto(url)
    page.wait_for_function("window.lux !== undefined && window.Hls !== undefined")
    return page


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture(scope="module")
def played(browser: Any, browser_stack: LocalStack, app_origin: int, hls_package: Path) -> dict[str, Any]:
    page = open_page(browser, f"http://127.0.0.1:{app_origin}/")
    files = sorted(p.relative_to(hls_package).as_posix() for p in hls_package.rglob("*") if p.is_file())
    result: dict[str, Any] = page.evaluate(
        "([signer, files]) => lux.uploadAndPlay(signer, files, 'browser-job')",
        [browser_stack.signer_url, files],
    )
    screenshot(page, "upload-and-play")
    page.close()
    return result


def test_a_page_on_another_origin_signs_uploads_and_plays_with_hls_js(
    played: dict[str, Any], browser_stack: LocalStack
) -> None:
    assert played["signed"]["status"] == 200, played
    assert played["puts"] and set(played["puts"].values()) == {200}, played["puts"]
    assert all(u["url"].startswith(browser_stack.s3_endpoint_url + "/") for u in played["answer"]["uploads"])
    assert played["playback"]["outcome"] == "playing", played["playback"]
    assert played["playback"]["currentTime"] >= 0.5


def test_a_put_with_a_changed_header_is_refused_in_the_browser_as_s3_refuses_it(
    browser: Any, browser_stack: LocalStack, app_origin: int
) -> None:
    signed = httpx.post(browser_stack.signer_url, json={"files": [{"path": "360p/seg_009.ts", "size": 16}]})
    (upload,) = signed.json()["uploads"]
    page = open_page(browser, f"http://127.0.0.1:{app_origin}/")
    result = page.evaluate("(upload) => lux.putWithChangedType(upload)", {**upload, "size": 16})
    screenshot(page, "changed-header")
    page.close()
    # The page can read S3's refusal (the error carries CORS headers, as on AWS).
    assert result["changed"]["status"] == 403, result
    assert "<Code>SignatureDoesNotMatch</Code>" in result["changed"]["body"]
    assert result["unchanged"]["status"] == 200, result


def test_an_origin_outside_cors_allowed_origins_is_refused_at_every_hop(
    browser: Any, browser_stack: LocalStack, app_origin: int, played: dict[str, Any]
) -> None:
    signed = httpx.post(browser_stack.signer_url, json={"files": [{"path": "360p/seg_009.ts", "size": 16}]})
    (upload,) = signed.json()["uploads"]
    hop_args = [browser_stack.signer_url, {**upload, "size": 16}, played["answer"]["playbackUrl"]]
    outsider = open_page(browser, f"http://localhost:{app_origin}/")  # same files, another origin
    refused = outsider.evaluate("([s, u, c]) => lux.everyHop(s, u, c)", hop_args)
    screenshot(outsider, "disallowed-origin")
    outsider.close()
    assert refused == {"sign": "blocked", "put": "blocked", "cdn": "blocked"}, refused
    # What each hop answered that origin (what the browser acted on).
    outside = f"http://localhost:{app_origin}"
    sign_preflight = httpx.options(
        browser_stack.signer_url, headers={"Origin": outside, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in sign_preflight.headers
    put_preflight = httpx.options(
        upload["url"],
        headers={
            "Origin": outside,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert put_preflight.status_code == 403
    assert (
        "access-control-allow-origin"
        not in httpx.get(played["answer"]["playbackUrl"], headers={"Origin": outside}).headers
    )
    # The same three requests from the listed origin go through: the refusal is the origin's.
    insider = open_page(browser, f"http://127.0.0.1:{app_origin}/")
    allowed = insider.evaluate("([s, u, c]) => lux.everyHop(s, u, c)", hop_args)
    insider.close()
    assert allowed == {"sign": 200, "put": 200, "cdn": 200}, allowed


def test_the_processor_is_driven_from_the_page_and_its_media_alias_plays(
    browser: Any, browser_stack: LocalStack, app_origin: int
) -> None:
    page = open_page(browser, f"http://127.0.0.1:{app_origin}/")
    result = page.evaluate(
        "([processor, base]) => lux.processAndPlay(processor, base)",
        [browser_stack.processor_url, browser_stack.base_url],
    )
    screenshot(page, "processor-alias-play")
    page.close()
    assert result["accepted"] == 202, result
    assert result["status"] == "ready", result
    assert result["playback"]["outcome"] == "playing", result["playback"]
