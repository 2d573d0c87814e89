"""Settings: environment parsing, clear refusals, and the configuration doc kept complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatserver.settings import OPTIONS, ConfigError, Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults_are_the_embedded_server() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///./chatserver.db"
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_environment_and_overrides() -> None:
    settings = Settings.from_env(
        {
            "CHAT_PORT": "9000",
            "CHAT_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
            "CHAT_TRUST_PROXY_HEADERS": "yes",
            "CHAT_RATE_LIMIT_SCALE": "2.5",
        },
        port=9100,
    )
    assert settings.port == 9100
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.trust_proxy_headers is True
    assert settings.rate_limit_scale == 2.5


@pytest.mark.parametrize(
    ("env", "mentions"),
    [
        ({"CHAT_PORT": "abc"}, "CHAT_PORT"),
        ({"CHAT_PORT": "70000"}, "port"),
        ({"CHAT_DATABASE_URL": "mysql://x"}, "CHAT_DATABASE_URL"),
        ({"CHAT_REDIS_URL": "http://x"}, "CHAT_REDIS_URL"),
        ({"CHAT_RATE_LIMIT_SCALE": "0"}, "CHAT_RATE_LIMIT_SCALE"),
        ({"CHAT_TRUST_PROXY_HEADERS": "maybe"}, "CHAT_TRUST_PROXY_HEADERS"),
        ({"CHAT_SQLITE_SYNCHRONOUS": "off"}, "CHAT_SQLITE_SYNCHRONOUS"),
        ({"CHAT_ALLOWED_ORIGINS": "example.org"}, "CHAT_ALLOWED_ORIGINS"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str], mentions: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert mentions in str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_variable_is_documented() -> None:
    text = DOCS.read_text()
    missing = [option.env for option in OPTIONS if f"`{option.env}`" not in text]
    assert not missing, f"document these in docs/configuration.md: {missing}"
