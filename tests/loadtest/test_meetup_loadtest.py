"""`chatserver loadtest --meetup` against a real server: everyone answers one meetup within
a second, and the scenario checks the counts, the waitlist's order, the promotions and
that every client's card converged (and fails when any of it is wrong)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from chatserver.cli import build_parser
from chatserver.loadtest.command import run
from chatserver.loadtest.options import options_from
from tests.support.server import ServerProcess


def _argv(url: str, *extra: str) -> list[str]:
    return ["loadtest", "--url", url, "--quiet", "--meetup", "--drain", "5", *extra]


def test_a_burst_of_answers_to_one_meetup_is_counted_exactly_and_converges(
    tmp_path: Path,
) -> None:
    out = tmp_path / "meetup.json"
    with ServerProcess(tmp_path, env={"CHAT_RATE_LIMIT_SCALE": "1000"}) as server:
        argv = _argv(server.base_url, "--clients", "60", "--capacity", "20", "--leavers", "5")
        argv += ["--json", str(out), "--prefix", "mt"]
        status = asyncio.run(run(options_from(build_parser().parse_args(argv))))
    result = json.loads(out.read_text())
    meetup = result["meetup"]
    assert status == 0 and result["passed"] is True, meetup["problems"]
    assert meetup["rsvps_ok"] == 60 + 5 and meetup["rsvp_errors"] == {}
    assert meetup["after_burst"] == {"going": 20, "maybe": 0, "waitlist": 40}
    assert meetup["final"] == {"going": 20, "maybe": 0, "waitlist": 35}
    assert meetup["counts_exact"] and meetup["waitlist_order_exact"]
    assert meetup["promoted_in_order"]
    assert meetup["clients_converged"] == meetup["clients_converged_after_leaving"] == 60
    assert meetup["converge_ms"]["count"] == 60
    assert meetup["updates_seen_per_client"] >= 1


def test_meetup_options_are_checked() -> None:
    for extra in (("--capacity", "0"), ("--leavers", "-1"), ("--window", "0")):
        with pytest.raises(ValueError, match="--meetup"):
            options_from(build_parser().parse_args(_argv("http://127.0.0.1:1", *extra)))
    opts = options_from(build_parser().parse_args(_argv("http://127.0.0.1:1")))
    assert (opts.clients, opts.capacity, opts.leavers, opts.window) == (500, 200, 20, 1.0)
