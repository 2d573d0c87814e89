"""Socket admission and the Host check, as pure rules (the e2e tests drive real sockets)."""

from __future__ import annotations

import pytest

from chatserver.gateway.admission import ADDRESS_FULL, NODE_FULL, RESERVED, Admission
from chatserver.gateway.origin import host_allowed
from chatserver.settings import ConfigError, Settings


def admission(**settings: object) -> Admission:
    return Admission(Settings.from_env({}, **settings))


def test_an_address_is_capped_and_released() -> None:
    rules = admission(max_connections=100, max_connections_per_ip=3)
    sockets = [object() for _ in range(4)]
    assert [rules.admit(s, "10.0.0.1") for s in sockets] == [None, None, None, ADDRESS_FULL]
    assert rules.admit(object(), "10.0.0.2") is None
    rules.release(sockets[0])
    rules.release(sockets[0])  # idempotent
    rules.release(sockets[3])  # never admitted: nothing to give back
    assert rules.admit(sockets[3], "10.0.0.1") is None
    assert rules.total == 4


def test_the_last_tenth_is_kept_for_addresses_with_few_sockets() -> None:
    rules = admission(max_connections=100, max_connections_per_ip=1000)
    admitted = [rules.admit(object(), "10.0.0.1") for _ in range(100)]
    assert admitted[:90] == [None] * 90 and set(admitted[90:]) == {RESERVED}
    assert [rules.admit(object(), f"10.0.1.{i}") for i in range(10)] == [None] * 10
    assert rules.admit(object(), "10.0.2.1") == NODE_FULL


def test_ipv6_counts_per_64_and_our_proxies_are_exempt() -> None:
    rules = admission(max_connections_per_ip=2, rate_limit_scale=1.0)
    assert rules.admit(object(), "2001:db8:1:2::1") is None
    assert rules.admit(object(), "2001:db8:1:2:ffff::9") is None
    assert rules.admit(object(), "2001:db8:1:2::77") == ADDRESS_FULL
    assert rules.admit(object(), "2001:db8:1:3::1") is None
    proxied = admission(
        max_connections_per_ip=1, trust_proxy_headers=True, trusted_proxies=("10.9.0.0/16",)
    )
    assert [proxied.admit(object(), "10.9.3.4") for _ in range(5)] == [None] * 5
    assert proxied.admit(object(), "10.8.0.1") is None
    assert proxied.admit(object(), "10.8.0.1") == ADDRESS_FULL


def test_websockets_per_account() -> None:
    rules = admission(max_connections_per_user=2, rate_limit_scale=1.0)
    assert [rules.add_user(7) for _ in range(3)] == [True, True, False]
    rules.remove_user(7)
    assert rules.add_user(7)


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("127.0.0.1:8000", (), True),
        ("[::1]:8000", (), True),
        ("LOCALHOST:8000", (), True),
        ("10.1.2.3", (), True),
        ("evil.example:8000", (), False),
        ("127.0.0.1.evil.example", (), False),
        (None, (), False),
        ("", (), False),
        ("chat.example.org", ("https://chat.example.org",), True),
        ("Chat.Example.Org.:443", ("https://chat.example.org",), True),
        ("other.example", ("https://chat.example.org",), False),
        ("anything.example", ("*",), True),
    ],
)
def test_the_host_must_name_this_server(
    host: str | None, allowed: tuple[str, ...], expected: bool
) -> None:
    assert host_allowed(host, allowed) is expected


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"CHAT_TRUSTED_PROXIES": "nginx.internal"}, "CHAT_TRUSTED_PROXIES"),
        ({"CHAT_MAX_CONNECTIONS": "-1"}, "CHAT_MAX_CONNECTIONS"),
        ({"CHAT_MAX_CONNECTIONS_PER_IP": "0"}, "CHAT_MAX_CONNECTIONS_PER_IP"),
        ({"CHAT_HEADER_TIMEOUT": "0"}, "CHAT_HEADER_TIMEOUT"),
        ({"CHAT_HASH_CONCURRENCY": "0"}, "CHAT_HASH_CONCURRENCY"),
    ],
)
def test_bad_limits_are_refused_with_the_variable_named(env: dict[str, str], mentions: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert mentions in str(caught.value)
