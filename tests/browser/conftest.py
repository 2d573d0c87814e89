"""Browser tests: the web client in headless Chromium against a real server.

Each person is a separate browser context (own storage, own WebSocket), so two
people chatting are two independent browsers as far as the server can tell.
Setup that is not what a test is about (registering, creating a room) goes
through the HTTP API; what the test is about happens in the page.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
# Live updates should show within this many milliseconds.
LIVE_MS = 10_000

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Dialog,
        Locator,
        Page,
        Playwright,
        ViewportSize,
        expect,
        sync_playwright,
    )
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = None
    if sync_playwright is None:
        skip = pytest.mark.skip(reason="playwright is not installed")
    elif not CHROMIUM.exists():
        skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if skip is not None:
                item.add_marker(skip)


# Module scope, not session: Playwright's sync API runs its own event loop, which
# must be gone before other modules' asyncio tests start theirs.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("browser-server")) as process:
        yield process


_counter = itertools.count()


def ascii_slug(name: str) -> str:
    """'Chloé Martin' → 'chloe-martin': what usernames and room slugs may contain."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")


def unique(name: str) -> str:
    return f"{ascii_slug(name)[:14]}{next(_counter)}{uuid.uuid4().hex[:5]}"


@dataclass
class Person:
    """One user with their own browser: the page, plus an API handle for setup."""

    username: str
    display_name: str
    token: str
    user: dict[str, Any]
    base_url: str
    browser: Browser
    viewport: ViewportSize
    color_scheme: str
    context: BrowserContext | None = None
    page: Page = None  # type: ignore[assignment]
    dialogs: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(
            method,
            self.base_url + path,
            headers={"Authorization": f"Bearer {self.token}"},
            json=body,
            timeout=10,
        )
        assert r.status_code < 400, f"{method} {path} → {r.status_code} {r.text}"
        return r.json() if r.content else None

    def open(self) -> Person:
        """Open the client in a fresh browser context, already signed in."""
        self.context = self.browser.new_context(
            locale="fr-FR",
            viewport=self.viewport,
            color_scheme=self.color_scheme,  # type: ignore[arg-type]
        )
        # As if they had logged in before: the client keeps its token here.
        self.context.add_init_script(
            f"localStorage.setItem('chat.token', {json.dumps(self.token)});"
        )
        self.page = self.context.new_page()
        self.page.on("dialog", self._answer_dialog)
        self.page.goto(self.base_url + "/")
        self.wait_online()
        return self

    def _answer_dialog(self, dialog: Dialog) -> None:
        """Confirms say yes (the person meant it); the text is kept for assertions."""
        self.dialogs.append(dialog.message)
        dialog.accept()

    # --- what a person does in the page

    def wait_online(self) -> None:
        expect(self.page.locator(".conn-status.conn-online")).to_be_attached(timeout=LIVE_MS)

    def open_room(self, title: str) -> None:
        self.page.locator(
            ".room-item", has=self.page.locator(".room-name", has_text=title)
        ).first.click()
        expect(self.page.locator(".room-title")).to_contain_text(title)

    def composer(self) -> Locator:
        return self.page.get_by_role("textbox", name="Message")

    def send(self, text: str) -> None:
        box = self.composer()
        box.fill(text)
        box.press("Enter")

    def message(self, text: str) -> Locator:
        """The sent (acknowledged) message whose body contains `text`."""
        return self.page.locator(
            "article.msg:not(.pending)", has=self.page.locator(".msg-body", has_text=text)
        )


@pytest.fixture
def make_person(server: ServerProcess, browser: Browser) -> Iterator[Callable[..., Person]]:
    """Registers a user through the API; with open=True also opens their signed-in client."""
    people: list[Person] = []

    def make(
        display_name: str,
        *,
        open: bool = True,
        viewport: ViewportSize | None = None,
        color_scheme: str = "light",
    ) -> Person:
        username = unique(display_name).replace("-", "")
        r = httpx.post(
            f"{server.base_url}/api/auth/register",
            json={"username": username, "password": PASSWORD, "display_name": display_name},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        data = r.json()
        person = Person(
            username,
            display_name,
            data["token"],
            data["user"],
            server.base_url,
            browser,
            viewport or {"width": 1280, "height": 800},
            color_scheme,
        )
        people.append(person)
        return person.open() if open else person

    yield make
    for p in people:
        if p.context is not None:
            p.context.close()


def create_topic(owner: Person, name: str, *members: Person) -> dict[str, Any]:
    """A public topic room that `members` have joined (setup, not under test)."""
    slug = unique(name)[:32].strip("-")
    room: dict[str, Any] = owner.api(
        "POST", "/api/rooms", {"slug": slug, "name": name, "kind": "topic"}
    )["room"]
    for m in members:
        m.api("POST", f"/api/rooms/{room['id']}/join")
    return room


def make_friends(a: Person, b: Person) -> None:
    a.api("POST", "/api/friends", {"username": b.username})
    assert b.api("POST", "/api/friends", {"username": a.username})["status"] == "friends"


def register_admin(server: ServerProcess, name: str) -> str:
    """Register the server's first account, hence its admin (so call it before anyone else
    of the module registers); its token."""
    r = httpx.post(
        f"{server.base_url}/api/auth/register",
        json={"username": unique(name), "password": PASSWORD},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    assert r.json()["user"]["role"] == "admin"
    return str(r.json()["token"])


def set_role(server: ServerProcess, admin_token: str, person: Person, role: str) -> None:
    """Give `person` a server role (e.g. mentor) with the admin's token."""
    r = httpx.put(
        f"{server.base_url}/api/users/{person.user['id']}/role",
        json={"role": role},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def set_role_by_operator(server: ServerProcess, person: Person, role: str) -> None:
    """Give `person` a server role the way an operator does, with `chatserver user set-role`
    on the server's machine (no admin account needed)."""
    done = subprocess.run(
        [sys.executable, "-m", "chatserver", "user", "set-role", person.username, role],
        env=server.env,
        capture_output=True,
        cwd=server.workdir,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
