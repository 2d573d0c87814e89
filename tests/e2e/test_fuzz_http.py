"""Every operation of `/api/openapi.json`, fuzzed against a real server: no input gives a 5xx,
and every reply has the status, content type and shape the document promises.

The document is built in-process, so that pytest lists one test per operation, and a
first test checks that the server serves exactly that document.

Each operation gets `CHAT_FUZZ_EXAMPLES` generated requests (8 by default, enough to
run in well under a minute on two cores), valid and invalid alike; raise it for a
longer hunt, e.g. `CHAT_FUZZ_EXAMPLES=500 pytest tests/e2e/test_fuzz_http.py`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
import schemathesis
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from chatserver.gateway.openapi import OPENAPI_PATH, openapi_document
from chatserver.gateway.routes import http_shapes
from tests.e2e.conftest import take_first_account
from tests.support.server import ServerProcess

EXAMPLES = int(os.environ.get("CHAT_FUZZ_EXAMPLES", "8"))
PASSWORD = "correct horse battery"
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Hundreds of requests a second from one account: rate limits are not what is tested.
    env = {"CHAT_RATE_LIMIT_SCALE": "1000"}
    with ServerProcess(tmp_path_factory.mktemp("fuzz"), env=env) as process:
        yield process


class Account:
    """The fuzzing account (a student, so it cannot take its own rights away) and a token
    that is renewed whenever a fuzzed call happened to end the session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.username = f"fuzz{uuid.uuid4().hex[:10]}"
        registered = httpx.post(
            f"{base_url}/api/auth/register",
            json={"username": self.username, "password": PASSWORD},
        )
        registered.raise_for_status()
        self.token: str = registered.json()["token"]

    def headers(self) -> dict[str, str]:
        if httpx.get(f"{self.base_url}/api/me", headers=self._auth()).status_code == 401:
            login = httpx.post(
                f"{self.base_url}/api/auth/login",
                json={"username": self.username, "password": PASSWORD},
            )
            login.raise_for_status()
            self.token = login.json()["token"]
        return self._auth()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def account(server: ServerProcess) -> Account:
    take_first_account(server)
    return Account(server.base_url)


DOCUMENT = json.loads(msgspec.json.encode(openapi_document(http_shapes())))
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "max-examples": EXAMPLES},
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_the_server_serves_the_document_fuzzed(server: ServerProcess) -> None:
    served = httpx.get(f"{server.base_url}{OPENAPI_PATH}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/json"
    assert served.json() == DOCUMENT


@schema.parametrize()
def test_no_input_breaks_an_operation(
    case: schemathesis.Case[Any], server: ServerProcess, account: Account
) -> None:
    case.call_and_validate(base_url=server.base_url, headers=account.headers(), checks=CHECKS)
