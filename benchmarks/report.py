"""Turn one run folder of benchmarks/run_scenarios.py into the markdown tables of
docs/benchmarks.md: ours, the ceiling and the peers side by side, as ratios.

    .venv/bin/python benchmarks/report.py bench-results/<run> [<later run>...] > tables.md
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

Result = dict[str, Any]
CLIENT_BOUND = 90.0  # tester CPU% from which a figure measures the tester, not the server


class Runs:
    """One or more run folders; a result in a later folder replaces the same one earlier
    (a scenario re-run after a fix), so the tables name every folder they draw from."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    def path(self, name: str) -> Path | None:
        found = [folder / name for folder in self.folders if (folder / name).exists()]
        return found[-1] if found else None


def load(run: Runs, label: str) -> Result | None:
    path = run.path(f"{label}.json")
    return json.loads(path.read_text()) if path is not None else None


def _f(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, (int, float)) else str(value)


def cpu_us(step: Result | None, side: str = "server") -> str:
    """CPU time per delivery, in µs: robust to other load on the machine, unlike rates."""
    if not step or not step.get("deliveries_per_s") or step.get(f"{side}_cpu_pct") is None:
        return "–"
    return f"{step[f'{side}_cpu_pct'] * 1e4 / step['deliveries_per_s']:.1f}"


def _bound(step: Result | None, failed: Result | None) -> str:
    """Which side limited the figure: a tester at ≥ 90 % CPU means the tester did."""
    probe = failed or step
    if probe is None:
        return "–"
    if (probe.get("client_cpu_pct") or 0) >= CLIENT_BOUND:
        return "client"
    if (probe.get("server_cpu_pct") or 0) >= CLIENT_BOUND:
        return "server"
    cores = probe.get("cores_busy_pct") or []
    if len(cores) == 2 and min(cores) >= CLIENT_BOUND:
        return "both cores busy (kernel, other work)"
    return "latency, no core full"


def cores(step: Result | None) -> str:
    """Busy % of core 0 (server) / core 1 (client), everything on them included."""
    busy = (step or {}).get("cores_busy_pct") or []
    return "/".join(f"{b:.0f}" for b in busy) if busy else "–"


def _best(result: Result | None) -> tuple[Result | None, Result | None]:
    """(best passing step, first failing step) of a --step run."""
    if not result:
        return None, None
    best, steps = result.get("best"), result.get("steps", [])
    failed = next((s for s in steps if best is None or s["rate"] > best["rate"]), None)
    return best, failed


OPEN_DAY = (
    ("ours (chatserver)", "open-day-ours-node", "Node"),
    ("ours (chatserver)", "open-day-ours-python", "Python"),
    ("raw websockets (ceiling)", "open-day-websockets-node", "Node"),
    ("raw websockets (ceiling)", "open-day-websockets-python", "Python"),
    ("Node socket.io (peer)", "open-day-node-socketio-node", "Node"),
    ("naive Starlette send_text loop", "open-day-starlette-naive-node", "Node"),
    ("python-socketio", "open-day-python-socketio-node", "Node"),
)


def open_day(run: Runs) -> str:
    ceiling = _best(load(run, "open-day-websockets-node"))[0]
    peer = _best(load(run, "open-day-node-socketio-node"))[0]
    rows = [
        "| server | load client | best rate msg/s | deliveries/s | p50 ms | p99 ms | server CPU "
        "| client CPU | cores busy % | server µs CPU/delivery | bound by (next step) "
        "| × websockets | × Node socket.io |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|",
    ]
    for name, label, client in OPEN_DAY:
        result = load(run, label)
        if result is None:
            continue
        best, failed = _best(result)
        dps = best["deliveries_per_s"] if best else 0.0
        first = (result.get("steps") or [{}])[0]
        rate = _f(best["rate"], 1) if best else f"< {_f(first.get('rate'), 1)}"
        lat = best["latency_ms"] if best else {}
        ratio = [
            f"{dps / ref['deliveries_per_s']:.2f}" if ref and dps else "–"
            for ref in (ceiling, peer)
        ]
        rows.append(
            f"| {name} | {client} | {rate} | {_f(dps)} "
            f"| {_f(lat.get('p50'), 1)} | {_f(lat.get('p99'), 1)} "
            f"| {_f(best and best['server_cpu_pct'])} % | {_f(best and best['client_cpu_pct'])} % "
            f"| {cores(best)} | {cpu_us(best)} | {_bound(best, failed)} | {ratio[0]} | {ratio[1]} |"
        )
    return "\n".join(rows)


def connects(run: Runs) -> str:
    """How long 2,000 clients took to connect and get `ready` (100-200 handshakes at once)."""
    rows = [
        "| server | load client | clients | failed | total s | p50 ms | p99 ms |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for name, label, client in OPEN_DAY:
        c = (load(run, label) or {}).get("connect")
        if c:
            rows.append(
                f"| {name} | {client} | {c['clients']} | {c['failed']} | {_f(c['total_s'], 1)} "
                f"| {_f(c['p50_ms'])} | {_f(c['p99_ms'])} |"
            )
    return "\n".join(rows)


def steps_table(result: Result | None) -> str:
    """Every step of one --step run (or the single step of a fixed-rate run)."""
    if not result:
        return "(no result)"
    rows = [
        "| run | rate msg/s | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | lost | dup "
        "| unacked | errors | send late p99 ms | server CPU | client CPU | cores busy % "
        "| server µs/delivery | client µs/delivery |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    steps = [("step", s) for s in result.get("steps", [])]
    fixed = [(f"fixed {s['spec']}, {s['seconds']:g} s", s) for s in result.get("fixed", [])]
    for kind, s in [*steps, *fixed]:
        lat = s["latency_ms"]
        rows.append(
            f"| {kind} | {_f(s['rate'], 1)} | {_f(s['deliveries_per_s'])} | {_f(lat['p50'], 1)} "
            f"| {_f(lat['p95'], 1)} | {_f(lat['p99'], 1)} | {_f(lat['max'], 1)} | {s['lost']} "
            f"| {s['duplicates']} | {s['unacked']} | {sum(s['errors'].values())} "
            f"| {_f(s['send_late_ms_p99'], 1)} | {_f(s['server_cpu_pct'])} % "
            f"| {_f(s['client_cpu_pct'])} % | {cores(s)} | {cpu_us(s)} | {cpu_us(s, 'client')} |"
        )
    return "\n".join(rows)


def fixed_runs(run: Runs, labels: list[tuple[str, str, str | None]]) -> str:
    """One line per fixed-rate run: a whole run's only step, or a `--also-rates` entry."""
    rows = [
        "| run | rate msg/s | deliveries/s | p50 ms | p99 ms | max ms | lost | dup | unacked "
        "| server CPU | client CPU | server µs/delivery |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, label, spec in labels:
        result = load(run, label)
        if not result:
            continue
        runs = result.get("steps", []) if spec is None else result.get("fixed", [])
        found = [s for s in runs if spec is None or s.get("spec") == spec]
        if not found:
            continue
        s = found[0]
        lat = s["latency_ms"]
        rows.append(
            f"| {name} | {_f(s['rate'], 1)} | {_f(s['deliveries_per_s'])} | {_f(lat['p50'], 1)} "
            f"| {_f(lat['p99'], 1)} | {_f(lat['max'], 1)} | {s['lost']} | {s['duplicates']} "
            f"| {s['unacked']} | {_f(s['server_cpu_pct'])} % | {_f(s['client_cpu_pct'])} % "
            f"| {cpu_us(s)} |"
        )
    return "\n".join(rows)


IDLE = ("ours", "websockets", "node-socketio", "starlette-naive", "python-socketio")


def idle(run: Runs) -> str:
    rows = [
        "| server | deflate offered | deflate accepted | connections | RSS before MiB "
        "| RSS after MiB | KiB per connection | × websockets (same offer) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name in IDLE:
        for suffix in ("", "-deflate"):
            result = load(run, f"idle-{name}{suffix}")
            if not result or "idle" not in result:
                continue
            i = result["idle"]
            ref = load(run, f"idle-websockets{suffix}")
            ratio = (
                f"{i['kib_per_connection'] / ref['idle']['kib_per_connection']:.2f}"
                if ref and "idle" in ref and ref["idle"]["kib_per_connection"] > 0
                else "–"
            )
            rows.append(
                f"| {name} | {'yes' if suffix else 'no'} | {i['deflate_accepted']} "
                f"| {i['connections']} | {_f(i['server_rss_before_mb'], 1)} "
                f"| {_f(i['server_rss_after_mb'], 1)} | {_f(i['kib_per_connection'], 1)} "
                f"| {ratio} |"
            )
    return "\n".join(rows)


def reactions(run: Runs) -> str:
    result = load(run, "reactions-ours")
    if not result or "reactions" not in result:
        return "(no result)"
    r = result["reactions"]
    lat = r["per_client_final_ms"]
    return "\n".join(
        [
            "| reactors | acked | errors | clients with the final count | seconds until every "
            "count is final | per client p50 / p99 ms | reaction events delivered | server CPU |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|",
            f"| {r['reactors']} | {r['reactions_acked']} | {sum(r['errors'].values())} "
            f"| {r['clients_final']} | {_f(r['seconds_to_final'], 2)} "
            f"| {_f(lat['p50'])} / {_f(lat['p99'])} | {r['reactors'] * r['reactions_acked']:,} "
            f"| {_f(r['server_cpu_pct'])} % |",
        ]
    )


def slow(run: Runs) -> str:
    base, one = load(run, "slow-ours-baseline"), load(run, "slow-ours-one-slow")
    if not base or not one or not base.get("steps") or not one.get("steps"):
        return "(no result)"
    b, o = base["steps"][0]["latency_ms"], one["steps"][0]["latency_ms"]
    change = (o["p99"] - b["p99"]) / b["p99"] * 100 if b["p99"] else 0.0
    s = one.get("slow", {})
    return "\n".join(
        [
            "| run | others' p50 ms | others' p99 ms | lost | slow client closed by the server "
            "| close code |",
            "|---|--:|--:|--:|---|---|",
            f"| no slow client | {_f(b['p50'], 1)} | {_f(b['p99'], 1)} "
            f"| {base['steps'][0]['lost']} | – | – |",
            f"| one client stops reading | {_f(o['p50'], 1)} | {_f(o['p99'], 1)} "
            f"| {one['steps'][0]['lost']} | {'yes' if s.get('closed_by_server') else 'no'} "
            f"| {s.get('close_codes')} |",
            "",
            f"Others' p99 moved by {change:+.0f} %.",
        ]
    )


def storm(run: Runs) -> str:
    result = load(run, "storm-ours")
    if not result or "storm" not in result:
        return "(no result)"
    s, step = result["storm"], result["steps"][0]
    lat = s["resume_to_synced_ms"]
    return "\n".join(
        [
            "| clients dropped | resumed and synced | failed | seconds from the drop until all "
            "caught up | resume → room.synced p50 / p99 / max ms | lost | dup |",
            "|--:|--:|--:|--:|--:|--:|--:|",
            f"| {s['clients']} | {s['reconnected']} | {s['failed']} "
            f"| {_f(s['seconds_to_all_caught_up'], 2)} "
            f"| {_f(lat['p50'])} / {_f(lat['p99'])} / {_f(lat['max'])} | {step['lost']} "
            f"| {step['duplicates']} |",
        ]
    )


def _cluster_setups(run: Runs, mode: str) -> list[tuple[str, str]]:
    """(name, label) of the cluster setups run in `mode` ("fixed" or "step")."""
    found = {p.name for folder in run.folders for p in folder.glob(f"cluster-*-{mode}.json")}
    setups = [
        ("1 node", f"cluster-1node-{mode}"),
        ("1 node + Redis", f"cluster-1node-redis-{mode}"),
    ]
    for name in sorted(found):
        nodes = re.fullmatch(rf"cluster-(\d+)nodes-{mode}\.json", name)
        if nodes:
            setups.append((f"{nodes[1]} nodes + Redis", name.removesuffix(".json")))
    return [(n, label) for n, label in setups if f"{label}.json" in found]


def cluster_fixed(run: Runs) -> str:
    """Each setup at each fixed rate, then the p50 each adds over one node."""
    rows = [
        "| setup | rate msg/s | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | lost | dup "
        "| unacked | send late p99 ms | server CPU | client CPU | cores busy % "
        "| server µs/delivery |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    p50: dict[str, dict[float, float]] = {}
    for name, label in _cluster_setups(run, "fixed"):
        result = load(run, label) or {}
        for s in [*result.get("steps", []), *result.get("fixed", [])]:
            lat = s["latency_ms"]
            p50.setdefault(name, {})[s["rate"]] = lat["p50"]
            rows.append(
                f"| {name} | {_f(s['rate'], 0)} | {_f(s['deliveries_per_s'])} "
                f"| {_f(lat['p50'], 1)} | {_f(lat['p95'], 1)} | {_f(lat['p99'], 1)} "
                f"| {_f(lat['max'], 1)} | {s['lost']} | {s['duplicates']} | {s['unacked']} "
                f"| {_f(s['send_late_ms_p99'], 1)} | {_f(s['server_cpu_pct'])} % "
                f"| {_f(s['client_cpu_pct'])} % | {cores(s)} | {cpu_us(s)} |"
            )
    base = p50.pop("1 node", {})
    notes = [
        f"- {name}, {rate:g} msg/s: p50 {value - base[rate]:+.1f} ms over one node"
        for name, by_rate in p50.items()
        for rate, value in by_rate.items()
        if rate in base
    ]
    return "\n".join([*rows, "", *notes])


def cluster_redis(run: Runs) -> str:
    """PUBLISH per phase against the messages sent (private redis-server of each setup)."""
    rows = [
        "| setup | phase | messages sent (acked) | PUBLISH (commandstats) "
        "| PUBLISH by channel and event (MONITOR) | Redis CPU s |",
        "|---|---|--:|--:|---|--:|",
    ]
    for mode in ("fixed", "step"):
        for name, label in _cluster_setups(run, mode):
            stats = load(run, f"{label}-redis")
            if not stats:
                continue
            for phase in stats["phases"]:
                sent = (
                    f"{stats['messages_sent']:,} ({stats['messages_acked']:,})"
                    if phase["phase"] == "load"
                    else "–"
                )
                split = ", ".join(
                    f"{key} {count:,}"
                    for key, count in sorted(
                        phase["monitor_publish_by_channel"].items(), key=lambda kv: -kv[1]
                    )
                )
                rows.append(
                    f"| {name}, {mode} | {phase['phase']} | {sent} "
                    f"| {phase['publish_calls']:,} "
                    f"| {split or ('none' if stats.get('monitor') else '(no MONITOR)')} "
                    f"| {_f(phase['redis_cpu_s'], 2)} |"
                )
    return "\n".join(rows)


def cluster_steps(run: Runs) -> str:
    """The step runs of each cluster setup, with the best rate and the side that bound it."""
    parts = []
    for name, label in _cluster_setups(run, "step"):
        result = load(run, label)
        best, failed = _best(result)
        head = (
            f"**{name}**: best {_f(best['rate'], 1)} msg/s = {_f(best['deliveries_per_s'])} "
            f"deliveries/s (p99 {_f(best['latency_ms']['p99'], 1)} ms); bound by: "
            f"{_bound(best, failed)}"
            if best
            else f"**{name}**: no step passed"
        )
        parts.append(f"{head}\n\n{steps_table(result)}")
    return "\n\n".join(parts) if parts else "(no result)"


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def profile(run: Runs, top: int = 10) -> str:
    """Top functions by own time from py-spy's raw (collapsed stack) output."""
    path = run.path("profile-ours.txt")
    if path is None:
        return "(no profile)"
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        leaf = stack.split(";")[-1]
        match = _FRAME.match(leaf)
        name = leaf if match is None else f"{match['func']} ({_short(match['file'])})"
        own[name] += int(samples)
        total += int(samples)
    rows = ["| # | function (file) | own samples | share |", "|--:|---|--:|--:|"]
    for rank, (name, hits) in enumerate(own.most_common(top), 1):
        rows.append(f"| {rank} | `{name}` | {hits:,} | {hits / total:.1%} |")
    return "\n".join(rows)


def _short(file: str) -> str:
    for marker in ("site-packages/", "chatserver/"):
        if marker in file:
            return ("chatserver/" if marker == "chatserver/" else "") + file.split(marker, 1)[1]
    return file


def machines(run: Runs) -> str:
    """Each folder's machine and the load average when it started (the machine is shared)."""
    lines = []
    for folder in run.folders:
        meta = json.loads((folder / "machine.json").read_text())
        load = ", ".join(f"{x:.1f}" for x in meta["loadavg_at_start"])
        lines.append(
            f"- `{folder.name}`: {meta['cpu_model']}, {meta['cores']} cores, "
            f"{meta['memory_gib']} GiB, Linux {meta['kernel']}, Python {meta['python']}, "
            f"Node {meta['node']}; started {meta['date']}, load average {load}; "
            f"commit {meta.get('commit', '?')}"
            + (
                f" + {meta['uncommitted_files']} uncommitted"
                if meta.get("uncommitted_files")
                else ""
            )
        )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    run = Runs([Path(arg) for arg in sys.argv[1:]])
    shares: list[tuple[str, str, str | None]] = [
        ("ours at 50 % of its capacity", "open-day-ours-node", "0.5x"),
        ("ours at 90 % of its capacity", "open-day-ours-node", "0.9x"),
        ("ours at 50 msg/s", "open-day-ours-node", "50"),
        ("raw websockets at 50 msg/s", "open-day-websockets-node", "50"),
        ("Node socket.io at 50 msg/s", "open-day-node-socketio-node", "50"),
        ("naive Starlette at 50 msg/s", "open-day-starlette-naive-node", "50"),
        ("python-socketio at 50 msg/s", "open-day-python-socketio-node", "50"),
    ]
    sections = [
        ("Machine and runs", machines(run)),
        ("Open day: highest sustained rate (p99 ≤ 250 ms, nothing lost)", open_day(run)),
        ("Open day: connecting 2,000 clients", connects(run)),
        (
            "Open day: ours, step by step (Node client)",
            steps_table(load(run, "open-day-ours-node")),
        ),
        (
            "Open day: ours, step by step (Python client)",
            steps_table(load(run, "open-day-ours-python")),
        ),
        (
            "Open day: raw websockets, step by step (Node client)",
            steps_table(load(run, "open-day-websockets-node")),
        ),
        (
            "Open day: Node socket.io, step by step (Node client)",
            steps_table(load(run, "open-day-node-socketio-node")),
        ),
        ("Open day: fixed rates", fixed_runs(run, shares)),
        (
            "Workshops: 200 rooms × 10 clients, 1,000 msg/s",
            fixed_runs(
                run,
                [
                    ("ours", "workshops-ours-python", None),
                    ("raw websockets", "workshops-websockets-python", None),
                ],
            ),
        ),
        (
            "Workshops: ours, step by step (highest sustained total rate)",
            steps_table(load(run, "workshops-ours-python-step")),
        ),
        ("Idle connections", idle(run)),
        ("Reactions burst", reactions(run)),
        ("Slow consumer", slow(run)),
        ("Reconnect storm", storm(run)),
        ("Profile of our server under the open-day load (own time)", profile(run)),
        ("Cluster: 1 node against N nodes, fixed rates", cluster_fixed(run)),
        ("Cluster: Redis PUBLISH against messages sent", cluster_redis(run)),
        ("Cluster: step by step", cluster_steps(run)),
    ]
    for title, body in sections:
        print(f"### {title}\n\n{body}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
