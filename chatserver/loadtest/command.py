"""`chatserver loadtest`: prepare, connect, run the chosen mode, and report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import time
from typing import Any

from chatserver.loadtest import meetup, modes, openday, report
from chatserver.loadtest.accounts import Prepared, prepare, write_plan
from chatserver.loadtest.metrics import StepResult
from chatserver.loadtest.options import Options, options_from
from chatserver.loadtest.runner import Run


def main(args: argparse.Namespace) -> int:
    """Entry point from the CLI; returns the exit status (1 when anything was lost)."""
    try:
        opts = options_from(args)
    except ValueError as error:
        print(f"chatserver loadtest: {error}", file=sys.stderr)
        return 2
    _raise_fd_limit(opts.clients)
    with contextlib.suppress(ImportError):
        import uvloop  # the tester's own overhead is what bounds its ceiling

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return asyncio.run(run(opts))


def _raise_fd_limit(clients: int) -> None:
    """Every connection is a file descriptor; the soft limit is often 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = clients + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
        if hard < wanted:
            print(f"warning: only {hard} file descriptors allowed", file=sys.stderr)


async def run(opts: Options) -> int:
    """One whole load test in the running loop (tests call this); the exit status."""
    if opts.meetup:
        return await _meetup(opts)
    prepared: Prepared | None = None
    if opts.target == "chat":
        prepared = await prepare(opts)
        if opts.plan_path:
            write_plan(opts, prepared, opts.plan_path)
        if opts.prepare_only:
            print(f"prepared {opts.accounts} accounts in {opts.rooms} rooms", file=sys.stderr)
            return 0
    swarm = Run(opts, prepared)
    result: dict[str, Any] = {
        "options": {k: v for k, v in vars(opts).items() if k not in ("json_path", "plot_path")},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host_pid": os.getpid(),
    }
    status = 0
    try:
        if opts.idle:
            connected, idle = await modes.idle(swarm)
            result["connect"], result["idle"] = modes.as_dict(connected), modes.as_dict(idle)
            report.print_summary("idle", _lines(result["connect"]) + "\n" + _lines(result["idle"]))
            return 0
        connected = await swarm.connect_all()
        result["connect"] = modes.as_dict(connected)
        report.print_summary("connect", _lines(result["connect"]))
        await asyncio.sleep(opts.warmup)
        ticker = asyncio.ensure_future(swarm.progress())
        try:
            status = await _mode(swarm, result)
        finally:
            ticker.cancel()
    finally:
        if opts.json_path:
            report.write_json(opts.json_path, result)
        if opts.plot_path:
            report.plot(opts.plot_path, swarm.rec, f"{opts.target}: {opts.clients} clients")
        await swarm.close_all()
    return status


async def _meetup(opts: Options) -> int:
    """`--meetup`: its own accounts, room and sockets (see loadtest/meetup.py)."""
    outcome = await meetup.meetup(opts)
    result: dict[str, Any] = {
        "options": {k: v for k, v in vars(opts).items() if k not in ("json_path", "plot_path")},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "meetup": modes.as_dict(outcome),
        "passed": outcome.passed,
    }
    report.print_summary("meetup", _lines(result["meetup"]))
    if opts.json_path:
        report.write_json(opts.json_path, result)
    return 0 if outcome.passed else 1


async def _mode(run: Run, result: dict[str, Any]) -> int:
    opts = run.opts
    if opts.reactions:
        reactions = await modes.reactions(run)
        result["reactions"] = modes.as_dict(reactions)
        report.print_summary("reactions burst", _lines(result["reactions"]))
        return 0 if reactions.clients_final == reactions.reactors else 1
    if opts.storm:
        dropped = [c for c in run.readers_of if c not in _all(run.publishers)]
        storm_task = asyncio.ensure_future(modes.storm(run, dropped))
        step = await run.step(opts.rate, opts.duration)
        storm = await storm_task
        result["storm"] = modes.as_dict(storm)
        steps = [step]
        report.print_summary("reconnect storm", _lines(result["storm"]))
    elif opts.open_day:
        step, side = await openday.open_day(run)
        steps = [step]
        result["open_day"] = modes.as_dict(side)
        report.print_summary("open day", _lines(result["open_day"]))
    elif opts.step:
        steps = await _steps(run)
        passing = [s for s in steps if s.passed(opts.p99_bound_ms)]
        best = max(passing, key=lambda s: s.rate) if passing else None
        result["best"] = modes.as_dict(best) if best else None
    else:
        steps = [await run.step(opts.rate, opts.duration)]
    if opts.slow_clients:
        result["slow"] = await _slow(run)
        report.print_summary("slow consumers", _lines(result["slow"]))
    result["steps"] = modes.as_dict(steps)
    result["series"] = run.rec.series
    report.print_summary("results", report.table(steps))
    if opts.step:
        best_rate = result["best"]["rate"] if result["best"] else None
        print(f"highest sustained rate: {best_rate} msg/s", flush=True)
        return 0
    return 0 if all(s.lost == 0 and s.duplicates == 0 for s in steps) else 1


async def _steps(run: Run) -> list[StepResult]:
    """Raise the rate by --step-factor until a step fails (p99 over the bound, or loss)."""
    opts = run.opts
    steps: list[StepResult] = []
    rate = opts.rate
    while rate <= opts.max_rate:
        run.say(f"-- step: {rate:.1f} msg/s for {opts.step_seconds}s")
        step = await run.step(rate, opts.step_seconds)
        steps.append(step)
        report.print_summary(f"step {len(steps)}", report.table([step]))
        if not step.passed(opts.p99_bound_ms):
            break
        rate *= opts.step_factor
        await asyncio.sleep(1.0)
    return steps


async def _slow(run: Run) -> dict[str, Any]:
    """Did the server cut off the clients that stopped reading, and with which code?"""
    slow = [c for c in run.clients if c.slow]
    codes = await asyncio.gather(*(c.drain_closed(10.0) for c in slow))
    return {
        "clients": len(slow),
        "closed_by_server": sum(1 for code in codes if code is not None and code != 1000),
        "close_codes": sorted({code for code in codes if code is not None}),
    }


def _all(groups: list[list[Any]]) -> set[Any]:
    return {item for group in groups for item in group}


def _lines(values: dict[str, Any]) -> str:
    return "\n".join(f"  {key}: {value}" for key, value in values.items())
