"""Who CHAT_METRICS lets read /metrics, and what one JSON log line holds."""

from __future__ import annotations

import json
import logging
import os
import sys

import pytest
import websockets

from chatserver.gateway.metrics import Metrics
from chatserver.gateway.scrape import MetricsAccess
from chatserver.logformat import REQUEST_ID, SOCKET, JsonFormatter, NoWireTraces
from chatserver.settings import ConfigError, Settings


def access(value: str) -> MetricsAccess:
    return MetricsAccess.parse(Settings.from_env({"CHAT_METRICS": value}).metrics)


@pytest.mark.parametrize(
    ("setting", "allowed", "refused"),
    [
        ("local", ["127.0.0.1", "127.0.0.2", "::1"], ["10.0.0.5", "192.0.2.1", None]),
        ("10.0.0.0/8", ["10.1.2.3"], ["127.0.0.1", "11.0.0.1"]),
        ("local, 2001:db8::/32", ["::1", "2001:db8::7"], ["2001:db9::1"]),
        ("admins", [], ["127.0.0.1", "10.0.0.1"]),
        ("open", ["203.0.113.1", None], []),
    ],
)
def test_addresses_let_in_by_each_setting(
    setting: str, allowed: list[str | None], refused: list[str | None]
) -> None:
    rule = access(setting)
    assert rule.enabled
    assert all(rule.address_allowed(host) for host in allowed)
    assert not any(rule.address_allowed(host) for host in refused)


def test_off_turns_the_endpoint_off() -> None:
    assert not access("off").enabled


@pytest.mark.parametrize("setting", ["everyone", "off,local", "10.0.0.0/33", ","])
def test_unusable_settings_are_refused(setting: str) -> None:
    with pytest.raises(ConfigError, match="CHAT_METRICS"):
        Settings.from_env({"CHAT_METRICS": setting})


def test_apps_in_one_process_keep_separate_numbers() -> None:
    first, second = Metrics(), Metrics()
    first.error("ws", "rate_limited")
    assert (
        first.registry.get_sample_value(
            "chat_errors_total", {"transport": "ws", "code": "rate_limited"}
        )
        == 1
    )
    assert (
        second.registry.get_sample_value(
            "chat_errors_total", {"transport": "ws", "code": "rate_limited"}
        )
        is None
    )


def _record(message: str, level: int = logging.WARNING, path: str = __file__) -> logging.LogRecord:
    return logging.LogRecord("chatserver.test", level, path, 1, message, None, None)


def test_a_json_line_names_the_request_and_socket_it_was_logged_for() -> None:
    formatter = JsonFormatter()
    token = REQUEST_ID.set("abc123")
    socket = SOCKET.set((7, 42))
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            record = _record("it broke")
            record.exc_info = sys.exc_info()
        line = json.loads(formatter.format(record))
    finally:
        REQUEST_ID.reset(token)
        SOCKET.reset(socket)
    assert line["level"] == "warning"
    assert line["logger"] == "chatserver.test"
    assert line["message"] == "it broke"
    assert (line["request_id"], line["connection"], line["user_id"]) == ("abc123", 7, 42)
    assert "ValueError: boom" in line["exception"]
    assert line["time"].endswith("+00:00")
    outside = json.loads(formatter.format(_record("plain")))
    assert "request_id" not in outside and "connection" not in outside


def test_the_websocket_librarys_frame_traces_are_dropped() -> None:
    library = os.path.join(os.path.dirname(websockets.__file__), "protocol.py")
    frames = NoWireTraces()
    assert not frames.filter(_record("< TEXT '{\"token\": ...}'", logging.DEBUG, library))
    assert frames.filter(_record("connection open", logging.INFO, library))
    assert frames.filter(_record("a debug line of ours", logging.DEBUG))
