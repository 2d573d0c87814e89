"""The `chatserver` command as an operator uses it: help, migrate, users, rooms, bad config."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import chatserver
from tests.support.server import ServerProcess

COMMAND = Path(sys.executable).parent / "chatserver"
PASSWORD = "correct horse battery"


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=60,
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("chatserver:")
    return lines[0]


def test_help_documents_every_environment_variable() -> None:
    done = run("--help")
    assert done.returncode == 0
    package = Path(chatserver.__file__).parent
    read_by_the_server = set()
    for source in package.rglob("*.py"):
        read_by_the_server |= set(re.findall(r"\bCHAT_[A-Z_]+\b", source.read_text()))
    assert len(read_by_the_server) >= 20
    documented = set(re.findall(r"\bCHAT_[A-Z_]+\b", done.stdout))
    assert read_by_the_server <= documented, read_by_the_server - documented
    for command in ("serve", "migrate", "user", "room"):
        assert command in done.stdout


def test_migrate_creates_a_fresh_sqlite_database_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "fresh.db"
    path.parent.mkdir()
    env = {"CHAT_DATABASE_URL": sqlite_url(path)}
    first = run("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert path.is_file()
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert {"users", "rooms", "messages", "alembic_version"} <= tables
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    again = run("migrate", "--database-url", sqlite_url(path), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (revision,)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose database the operator also administers with the CLI."""
    with ServerProcess(tmp_path_factory.mktemp("cli")) as process:
        yield process


def cli(live: ServerProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run(*args, env={"CHAT_DATABASE_URL": live.database_url}, stdin=stdin, cwd=live.workdir)


def login(live: ServerProcess, username: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{live.base_url}/api/auth/login", json={"username": username, "password": password}
    )


def test_user_create_reads_the_password_from_stdin(live: ServerProcess) -> None:
    done = cli(live, "user", "create", "Mentor_Ann", "--role", "mentor", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "mentor_ann" in done.stdout

    resp = login(live, "mentor_ann")
    assert resp.status_code == 200
    user = resp.json()["user"]
    assert (user["username"], user["role"]) == ("mentor_ann", "mentor")
    assert login(live, "mentor_ann", "not the password").status_code == 401

    # A mentor may create cohort rooms straight away.
    token = resp.json()["token"]
    room = httpx.post(
        f"{live.base_url}/api/rooms",
        json={"slug": "cohort-cli", "name": "Cohort", "kind": "cohort"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert room.status_code == 201


def test_user_create_refuses_bad_input_in_one_line(live: ServerProcess) -> None:
    assert cli(live, "user", "create", "dupe", stdin=PASSWORD + "\n").returncode == 0
    assert "dupe" in assert_one_line_error(cli(live, "user", "create", "DUPE", stdin=PASSWORD))
    assert_one_line_error(cli(live, "user", "create", "shortpw", stdin="short\n"))
    assert_one_line_error(cli(live, "user", "create", "x", stdin=PASSWORD))
    assert login(live, "shortpw", "short").status_code == 401
    bad_role = cli(live, "user", "create", "boss", "--role", "emperor", stdin=PASSWORD)
    assert bad_role.returncode != 0
    assert "Traceback" not in bad_role.stderr


def test_user_set_role_changes_what_the_user_may_do(live: ServerProcess) -> None:
    resp = httpx.post(
        f"{live.base_url}/api/auth/register", json={"username": "promoted", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {resp.json()['token']}"}
    cohort = {"slug": "cohort-promoted", "name": "Cohort", "kind": "cohort"}
    assert httpx.post(f"{live.base_url}/api/rooms", json=cohort, headers=headers).status_code == (
        403
    )

    done = cli(live, "user", "set-role", "Promoted", "mentor")
    assert done.returncode == 0, done.stderr
    me = httpx.get(f"{live.base_url}/api/me", headers=headers)
    assert me.json()["user"]["role"] == "mentor"  # the same token, the new role
    assert httpx.post(f"{live.base_url}/api/rooms", json=cohort, headers=headers).status_code == (
        201
    )

    assert cli(live, "user", "set-role", "promoted", "student").returncode == 0
    assert httpx.get(f"{live.base_url}/api/me", headers=headers).json()["user"]["role"] == (
        "student"
    )
    assert "nobody" in assert_one_line_error(cli(live, "user", "set-role", "nobody", "admin"))


def test_room_create_makes_a_room_its_owner_sees(live: ServerProcess) -> None:
    assert cli(live, "user", "create", "owner", "--role", "mentor", stdin=PASSWORD).returncode == 0
    done = cli(
        live,
        "room",
        "create",
        "cohort-2026",
        "--name",
        "Cohort 2026",
        "--kind",
        "cohort",
        "--owner",
        "owner",
    )
    assert done.returncode == 0, done.stderr
    done = cli(
        live,
        "room",
        "create",
        "lyon",
        "--name",
        "Lyon",
        "--kind",
        "region",
        "--topic",
        "Meetups",
        "--owner",
        "owner",
    )
    assert done.returncode == 0, done.stderr

    owner_token = login(live, "owner").json()["token"]
    rooms = httpx.get(
        f"{live.base_url}/api/rooms", headers={"Authorization": f"Bearer {owner_token}"}
    ).json()["rooms"]
    by_slug = {room["slug"]: room for room in rooms}
    cohort = by_slug["cohort-2026"]
    assert (cohort["name"], cohort["kind"], cohort["visibility"]) == (
        "Cohort 2026",
        "cohort",
        "private",
    )
    assert cohort["member_count"] == 1
    assert (by_slug["lyon"]["visibility"], by_slug["lyon"]["topic"]) == ("public", "Meetups")

    outsider = httpx.post(
        f"{live.base_url}/api/auth/register", json={"username": "outsider", "password": PASSWORD}
    ).json()["token"]
    seen = httpx.get(
        f"{live.base_url}/api/rooms", headers={"Authorization": f"Bearer {outsider}"}
    ).json()["rooms"]
    assert "cohort-2026" not in {room["slug"] for room in seen}
    assert "lyon" in {room["slug"] for room in seen}

    taken = cli(
        live, "room", "create", "lyon", "--name", "L", "--kind", "topic", "--owner", "owner"
    )
    assert_one_line_error(taken)
    no_owner = cli(
        live, "room", "create", "ghost", "--name", "G", "--kind", "topic", "--owner", "x"
    )
    assert_one_line_error(no_owner)
    student = cli(
        live, "room", "create", "nope", "--name", "N", "--kind", "cohort", "--owner", "outsider"
    )
    assert_one_line_error(student)


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"CHAT_PORT": "abc"}, "CHAT_PORT"),
        ({"CHAT_PORT": "70000"}, "port"),
        ({"CHAT_DATABASE_URL": "mysql://x"}, "CHAT_DATABASE_URL"),
        ({"CHAT_REDIS_URL": "http://localhost"}, "CHAT_REDIS_URL"),
        ({"CHAT_RATE_LIMIT_SCALE": "lots"}, "CHAT_RATE_LIMIT_SCALE"),
        ({"CHAT_HELLO_TIMEOUT": "0"}, "CHAT_HELLO_TIMEOUT"),
        ({"CHAT_TRUST_PROXY_HEADERS": "maybe"}, "CHAT_TRUST_PROXY_HEADERS"),
        ({"CHAT_ALLOWED_ORIGINS": "chat.example.org"}, "CHAT_ALLOWED_ORIGINS"),
    ],
)
@pytest.mark.parametrize("command", [["serve"], ["migrate"]])
def test_bad_configuration_fails_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], mentions: str, command: list[str]
) -> None:
    base = {"CHAT_DATABASE_URL": sqlite_url(tmp_path / "chat.db")}
    done = run(*command, env={**base, **env}, cwd=tmp_path)
    line = assert_one_line_error(done)
    assert mentions in line
    assert not (tmp_path / "chat.db").exists()


def test_an_unreachable_database_fails_with_one_line(tmp_path: Path) -> None:
    env = {"CHAT_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"}
    assert_one_line_error(run("migrate", env=env, cwd=tmp_path))
    assert_one_line_error(run("serve", "--port", "1", env=env, cwd=tmp_path))
