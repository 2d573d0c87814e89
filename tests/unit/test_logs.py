"""Log lines that stay few: one line per outage and its end, one traceback then a count."""

from __future__ import annotations

import asyncio
import logging

import pytest

from chatserver.logs import Outage, Repeats

log = logging.getLogger("tests.logs")


def test_an_outage_is_two_lines_however_many_operations_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("Redis", log)
    with caplog.at_level(logging.INFO, logger="tests.logs"):
        outage.succeeded()
        for _ in range(2000):
            outage.failed(ConnectionError("Connection refused\nmore detail"))
        assert outage.down
        outage.succeeded()
        outage.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0] == "Redis unavailable: ConnectionError: Connection refused"
    assert messages[1].startswith("Redis available again after ")
    assert messages[1].endswith("(2000 operations failed meanwhile)")


async def test_repeats_of_one_kind_are_one_full_line_then_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repeats = Repeats(log, window=0.05)
    with caplog.at_level(logging.INFO, logger="tests.logs"):
        for i in range(500):
            try:
                raise KeyError(i)
            except KeyError as exc:
                repeats.log("bug", logging.ERROR, "unexpected error in %s", "GET /x", exc_info=exc)
        repeats.log("other", logging.WARNING, "something else")
        await asyncio.sleep(0.2)
        repeats.log("bug", logging.ERROR, "unexpected error in %s", "GET /y")
    records = caplog.records
    assert [r.getMessage() for r in records] == [
        "unexpected error in GET /x",
        "something else",
        "unexpected error in GET /x (and 499 more like it in the last 0.05 s)",
        "unexpected error in GET /y",
    ]
    assert records[0].exc_info is not None  # the first one has its traceback
    assert records[2].exc_info is None
