"""The installable app: a manifest with icons, a service worker that keeps the client's
shell (never API responses) and opens the app without network, with the offline banner."""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LIVE_MS, PASSWORD, Person, create_topic, unique
from tests.support.server import ServerProcess


def test_manifest_icons_and_service_worker_are_served(server: ServerProcess) -> None:
    base = server.base_url
    manifest = httpx.get(f"{base}/manifest.webmanifest", timeout=10)
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert (data["start_url"], data["scope"], data["display"]) == ("/", "/", "standalone")
    sizes = set()
    for entry in data["icons"]:
        icon = httpx.get(base + entry["src"], timeout=10)
        assert icon.status_code == 200, entry
        if entry["type"] == "image/png":
            with Image.open(io.BytesIO(icon.content)) as img:
                assert entry["sizes"] == f"{img.width}x{img.height}"
                sizes.add(img.width)
    assert {192, 512} <= sizes
    page = httpx.get(f"{base}/", timeout=10).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page

    sw = httpx.get(f"{base}/sw.js", timeout=10)
    assert sw.status_code == 200
    assert sw.headers["content-type"].startswith("text/javascript")
    assert sw.headers["cache-control"] == "no-cache"
    assert sw.headers["service-worker-allowed"] == "/"
    assert sw.text.startswith('self.__SHELL__ = {"build":"')
    assert '"/app.js"' in sw.text and '"/index.html"' in sw.text and '"/css/app.css"' in sw.text
    assert '"/api/' not in sw.text.split("\n", 1)[0]
    assert sw.text == httpx.get(f"{base}/sw.js", timeout=10).text  # stable within a build


def test_the_app_opens_offline_with_the_offline_banner(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    create_topic(alice, "Hors ligne")
    alice.open()
    page = alice.page
    alice.open_room("Hors ligne")
    alice.send("avant la coupure")
    expect(alice.message("avant la coupure")).to_be_visible(timeout=LIVE_MS)
    # The worker is installed and controls the page (it claims it on activation).
    _wait_for_control(page)
    cached: list[str] = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                for (const req of await (await caches.open(name)).keys()) {
                    urls.push(new URL(req.url).pathname);
                }
            }
            return urls;
        }"""
    )
    assert "/app.js" in cached and "/index.html" in cached
    assert not [u for u in cached if u.startswith(("/api/", "/ws"))], cached

    # No network: reloading still shows the app, from the cache, saying it is offline.
    assert alice.context is not None
    alice.context.set_offline(True)
    page.reload()
    banner = page.locator(".conn-banner")
    expect(banner).to_be_visible(timeout=LIVE_MS)
    expect(banner).to_contain_text("Hors ligne", timeout=LIVE_MS)
    expect(page.locator("nav.sidebar")).to_be_visible()
    expect(page.locator(".conn-status")).to_contain_text("Hors ligne")

    # Back online, the same page connects again and finds the room and its history.
    alice.context.set_offline(False)
    alice.wait_online()
    expect(banner).to_be_hidden(timeout=LIVE_MS)
    expect(alice.message("avant la coupure")).to_be_visible(timeout=LIVE_MS)


def test_a_new_release_replaces_the_cached_shell(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A changed client (as after a release) gives a new worker, which caches the new
    shell, drops the old one and tells the open page."""
    work = tmp_path_factory.mktemp("release")
    client = work / "client"
    shutil.copytree(CLIENT, client, ignore=shutil.ignore_patterns("tests"))
    with ServerProcess(work, env={"CHAT_CLIENT_DIR": str(client)}) as server:
        r = httpx.post(
            f"{server.base_url}/api/auth/register",
            json={"username": unique("release"), "password": PASSWORD},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        context = browser.new_context(locale="fr-FR")
        try:
            context.add_init_script(
                f"localStorage.setItem('chat.token', {json.dumps(r.json()['token'])});"
            )
            page = context.new_page()
            page.goto(server.base_url + "/")
            _wait_for_control(page)
            page.reload()  # opened again, as from the home screen: from the cached shell
            _wait_for_control(page)
            before = _build(server.base_url)
            assert _shell_caches(page) == [f"campus-shell-{before}"]

            # The release: one file of the shell changes.
            with (client / "css" / "app.css").open("a") as css:
                css.write("\n/* release 2 */\n")
            after = _build(server.base_url)
            assert after != before
            page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
            expect(page.locator(".toast")).to_contain_text(
                "Une nouvelle version de Campus est prête", timeout=LIVE_MS
            )
            # The old shell is dropped as the new worker activates (just after the switch).
            deadline = time.monotonic() + LIVE_MS / 1000
            while _shell_caches(page) != [f"campus-shell-{after}"]:
                assert time.monotonic() < deadline, _shell_caches(page)
                time.sleep(0.1)
            css_now = page.evaluate("async () => (await fetch('/css/app.css')).text()")
            assert "/* release 2 */" in css_now
        finally:
            context.close()


CLIENT = Path(__file__).resolve().parents[2] / "client"


def _wait_for_control(page: Page) -> None:
    # (Polled from here: the page's CSP forbids the eval that wait_for_function needs.)
    deadline = time.monotonic() + LIVE_MS / 1000
    while not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        assert time.monotonic() < deadline, "the service worker never took control"
        time.sleep(0.1)


def _build(base: str) -> str:
    head = httpx.get(f"{base}/sw.js", timeout=10).text.split("\n", 1)[0]
    build: str = json.loads(head.removeprefix("self.__SHELL__ = ").removesuffix(";"))["build"]
    return build


def _shell_caches(page: Page) -> list[str]:
    names: list[str] = page.evaluate(
        "async () => (await caches.keys()).filter((n) => n.startsWith('campus-shell-'))"
    )
    return names
