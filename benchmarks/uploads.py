"""Uploads: how long a 10 MiB image takes (checked, stripped of its metadata, thumbnailed,
stored), and how long the server's event loop stalls meanwhile, while its sockets are busy.

Starts a real server (`chatserver serve`'s own uvicorn configuration) in a child process
with one addition: a ticker task in its event loop that sleeps 5 ms at a time and records
how late each wake-up is. A wake-up late by X means nothing else could run on the loop for
X: no frame was written, no request read. `chatserver loadtest` keeps WebSocket clients
chatting in the background the whole time. Then, in phases of the same run:

1. `idle`: the chat traffic alone;
2. `jpeg`: 10 MiB JPEG photos (with EXIF and GPS) uploaded one after the other;
3. `png`: 10 MiB PNG pictures, likewise;
4. `parallel`: two JPEG uploads at a time.

Each upload is timed by the client, from its first byte sent to the 201 (the body crosses
loopback, the server reads it, Pillow decodes, re-encodes and thumbnails it on the image
threads, the file store writes both files). Prints, per phase, the upload times and the
loop's wake-up lateness (p50, p99, max, and how many wake-ups were late by more than
20 ms), then the machine's load average (it is shared: other work shows in the figures).

    .venv/bin/python benchmarks/uploads.py [--uploads 10] [--clients 200] [--rate 100]
        [--store local|s3] [--json out.json]

`--store s3` keeps the files in a bucket on moto's S3 server, started for the run. A
control process runs the same ticker with nothing else to do: its lateness is the
machine's (other processes, the scheduler), not the server's. `--nice -10` (as root)
runs the server and the control ahead of the rest of a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TICK = 0.005
TEN_MIB = 10 * 1024 * 1024


# -- the server side (a child process) ---------------------------------------------------


def control(lags_path: str, seconds: float) -> None:
    """The same ticker in a process doing nothing else: how late the machine alone makes
    a wake-up (the scheduler's share of the server's figures)."""
    samples: list[tuple[float, float]] = []

    async def ticker() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            samples.append((time.time(), time.perf_counter() - start - TICK))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(ticker())
    Path(lags_path).write_text(json.dumps(samples))


def serve(port: int, lags_path: str) -> None:
    """`chatserver serve` as the CLI runs it, plus the ticker; the lags are written on exit."""
    import uvicorn

    from chatserver.app import create_app
    from chatserver.cli import GracefulServer, _migrate, server_config
    from chatserver.gateway.direct import DirectWriteProtocol
    from chatserver.settings import Settings

    settings = Settings.from_env(port=port)
    asyncio.run(_migrate(settings))
    app = create_app(settings)
    config = server_config(settings, app, DirectWriteProtocol)
    samples: list[tuple[float, float]] = []

    async def ticker() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            samples.append((time.time(), time.perf_counter() - start - TICK))

    class Measured(GracefulServer):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            self._ticker = asyncio.create_task(ticker())

        async def shutdown(self, sockets: Any = None) -> None:
            self._ticker.cancel()
            Path(lags_path).write_text(json.dumps(samples))  # noqa: ASYNC240 (at exit)
            await super().shutdown(sockets)

    assert isinstance(config, uvicorn.Config)
    Measured(config, app).run()


# -- the client side ---------------------------------------------------------------------


def jpeg_photo(target: int) -> bytes:
    """A photo-like JPEG just under `target` bytes, with EXIF and a GPS position."""
    from PIL import Image

    from tests.support import media

    width, height = 5200, 3900
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 28).convert("RGB")
    picture = Image.blend(base, noise, 0.35)
    for quality in (97, 95, 93, 91, 89, 87, 85, 80):
        out = io.BytesIO()
        picture.save(out, format="JPEG", quality=quality, exif=media.exif_with_gps())
        if len(out.getvalue()) <= target:
            return out.getvalue()
    raise RuntimeError("could not make the photo")


def png_picture(target: int) -> bytes:
    """A PNG just under `target` bytes (a detailed screenshot-like picture)."""
    from PIL import Image

    side = 2200
    while True:
        bands = [Image.effect_noise((side, side), sigma) for sigma in (10, 14, 18)]
        picture = Image.merge("RGB", bands)
        out = io.BytesIO()
        picture.save(out, format="PNG", compress_level=6)
        if len(out.getvalue()) > target:
            side -= 50
            continue
        return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def register(http: httpx.AsyncClient, name: str) -> str:
    answer = await http.post(
        "/api/auth/register", json={"username": name, "password": "correct horse battery"}
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


async def upload(http: httpx.AsyncClient, token: str, data: bytes, kind: str) -> float:
    started = time.perf_counter()
    answer = await http.post(
        "/api/uploads",
        params={"name": f"photo.{kind.split('/')[1]}"},
        content=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": kind},
        timeout=60,
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 201:
        raise RuntimeError(f"upload refused: {answer.status_code} {answer.text}")
    return elapsed


def s3_env() -> tuple[dict[str, str], Any]:
    import boto3

    from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, new_bucket, start_s3_server

    server = start_s3_server()
    bucket = new_bucket()
    boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ).create_bucket(Bucket=bucket)
    return server.settings_env(bucket), server


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.server import free_port

    jpeg, png = jpeg_photo(TEN_MIB), png_picture(TEN_MIB)
    workdir = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    port = free_port()
    lags_path = workdir / "lags.json"
    env = {
        **os.environ,
        "CHAT_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'chat.db'}",
        "CHAT_RATE_LIMIT_SCALE": "1000",
        "CHAT_LOG_LEVEL": "warning",
        "CHAT_UPLOAD_QUOTA_BYTES": str(10 * 1024**3),
    }
    s3 = None
    if args.store == "s3":
        extra, s3 = s3_env()
        env.update(extra)
    niced = ["nice", "-n", str(args.nice)] if args.nice else []
    server = subprocess.Popen(  # noqa: ASYNC220 (before anything runs on the loop)
        [*niced, sys.executable, __file__, "--serve", str(port), str(lags_path)],
        env=env,
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    load: subprocess.Popen[bytes] | None = None
    phases: dict[str, tuple[float, float]] = {}
    times: dict[str, list[float]] = {"jpeg": [], "png": [], "parallel": []}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            token = await register(http, "uploader")
            duration = 40 + args.uploads * 3
            load = subprocess.Popen(  # noqa: ASYNC220 (a fork: no wait)
                [
                    *(sys.executable, "-m", "chatserver", "loadtest", "--url", base),
                    *("--clients", str(args.clients), "--accounts", "20", "--rooms", "4"),
                    *("--rate", str(args.rate), "--duration", str(duration), "--warmup", "2"),
                    *("--prefix", "up", "--quiet", "--json", str(workdir / "load.json")),
                    *("--server-pid", str(server.pid)),
                ],
                env=env,
                cwd=workdir,
            )
            control_path = workdir / "control.json"
            control_run = subprocess.Popen(  # noqa: ASYNC220 (a fork: no wait)
                [*niced, sys.executable, __file__, "--control", str(control_path), "600"]
            )
            await asyncio.sleep(20)  # accounts, connections, warm-up: then the traffic runs

            start = time.time()
            await asyncio.sleep(8)
            phases["idle"] = (start, time.time())

            for name, data, kind in (("jpeg", jpeg, "image/jpeg"), ("png", png, "image/png")):
                start = time.time()
                for _ in range(args.uploads):
                    times[name].append(await upload(http, token, data, kind))
                phases[name] = (start, time.time())

            start = time.time()
            for _ in range(max(1, args.uploads // 2)):
                pair = await asyncio.gather(
                    upload(http, token, jpeg, "image/jpeg"), upload(http, token, jpeg, "image/jpeg")
                )
                times["parallel"] += pair
            phases["parallel"] = (start, time.time())
        control_run.send_signal(signal.SIGINT)
        control_run.wait(timeout=30)
        load.wait(timeout=duration + 120)
    finally:
        if load is not None and load.poll() is None:
            load.send_signal(signal.SIGINT)
            load.wait(timeout=30)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        if s3 is not None:
            s3.stop()

    samples = [(float(t), float(lag)) for t, lag in json.loads(lags_path.read_text())]
    control_samples = [
        (float(t), float(lag)) for t, lag in json.loads((workdir / "control.json").read_text())
    ]
    report: dict[str, Any] = {
        "jpeg_bytes": len(jpeg),
        "png_bytes": len(png),
        "store": args.store,
        "clients": args.clients,
        "rate": args.rate,
        "nice": args.nice,
        "loadavg": os.getloadavg(),
        "phases": {},
    }
    for name, (begin, end) in phases.items():
        lags = [lag for t, lag in samples if begin <= t <= end]
        entry: dict[str, Any] = {
            "seconds": round(end - begin, 1),
            "loop_wakeups": len(lags),
            "loop_lag_p50_ms": round(percentile(lags, 0.5) * 1000, 2),
            "loop_lag_p99_ms": round(percentile(lags, 0.99) * 1000, 2),
            "loop_lag_max_ms": round(max(lags, default=0.0) * 1000, 2),
            "loop_lags_over_20ms": sum(1 for lag in lags if lag > 0.020),
        }
        idle = [lag for t, lag in control_samples if begin <= t <= end]
        entry.update(
            control_lag_p99_ms=round(percentile(idle, 0.99) * 1000, 2),
            control_lag_max_ms=round(max(idle, default=0.0) * 1000, 2),
            control_lags_over_20ms=sum(1 for lag in idle if lag > 0.020),
        )
        if times.get(name):
            entry.update(
                uploads=len(times[name]),
                upload_p50_s=round(statistics.median(times[name]), 3),
                upload_max_s=round(max(times[name]), 3),
            )
        report["phases"][name] = entry
    load_json = workdir / "load.json"
    if load_json.exists():
        summary = json.loads(load_json.read_text())
        report["chat"] = {k: v for k, v in summary.items() if isinstance(v, int | float | str)}
    return report


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--control":
        control(sys.argv[2], float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=10, help="uploads per phase")
    parser.add_argument("--clients", type=int, default=200, help="chatting WebSocket clients")
    parser.add_argument("--rate", type=float, default=100, help="chat messages per second")
    parser.add_argument("--store", choices=("local", "s3"), default="local")
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the server and of the control ticker (negative needs root): on a "
        "shared machine, how it would run if it had the cores to itself",
    )
    args = parser.parse_args()
    report = asyncio.run(run(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
