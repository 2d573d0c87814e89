// The reconnect storm of `benchmarks/storm.py`, against socket.io's connection state
// recovery (`storm_sio.mjs`), driven with the official socket.io-client.
//
//   taskset -c 1 node benchmarks/node/storm_sio_client.mjs [--clients 2000] [--rooms 27] \
//       [--missed 20] [--spread 1] [--restart] [--drop transport|disconnect] \
//       [--server-cpu 0] [--json out.json]
//
// 1. the server (`storm_sio.mjs`, pinned to --server-cpu with taskset) and --clients
//    socket.io clients (websocket transport, one manager each), client i following room
//    (i mod --rooms) + 1; each waits for its `ready`, which gives it an offset;
// 2. every client's transport drops (`socket.io.engine.close()`: the server sees
//    "transport close", a recoverable reason; `--drop disconnect` calls
//    `socket.disconnect()` instead, "client namespace disconnect", which is not), and the
//    driver waits until the server holds no client socket;
// 3. a writer connection sends --missed messages (default 20), two edits of the first two
//    and three reactions on the last three, in every followed room, each acknowledged;
// 4. with --restart the server is stopped (SIGTERM) and started again on the same port;
//    without it the server stays up;
// 5. every client reconnects (`socket.connect()`, which offers its session id and offset)
//    within --spread seconds. A client is caught up when `socket.recovered === true` and it
//    has received exactly its room's missed events: the same (type, message id) list, in
//    order, each once. The figure is the time from the opening of the reconnect window
//    until the last client is caught up. Clients that come back unrecovered (after a
//    restart the server has no session and no buffered packet) are counted, and what they
//    received within --drain seconds of connecting is compared to what they missed: the
//    difference is "lost".
//
// --rooms defaults to 27: the number of rooms `storm.py` reports as `rooms_followed` for
// 2,000 clients (each of its users follows the first of its rooms in the loaded history;
// 1,000 clients follow 27 rooms too). Here clients are spread evenly over the rooms.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";

const argv = process.argv.slice(2);
const flags = new Set(["restart"]);
const opt = {};
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].replace(/^--/, "").replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  if (flags.has(argv[i].slice(2))) opt[key] = true;
  else opt[key] = argv[++i];
}
const num = (v, d) => (v === undefined ? d : Number(v));
const O = {
  clients: num(opt.clients, 2000),
  rooms: num(opt.rooms, 27),
  missed: num(opt.missed, 20),
  spread: num(opt.spread, 1),
  restart: !!opt.restart,
  serverCpu: opt.serverCpu === undefined ? 0 : opt.serverCpu === "none" ? null : Number(opt.serverCpu),
  port: num(opt.port, 0),
  timeout: num(opt.timeout, 120),
  drain: num(opt.drain, 2),
  concurrency: num(opt.concurrency, 200),
  maxDisconnectionMs: num(opt.maxDisconnectionMs, 120_000),
  json: opt.json,
  drop: opt.drop ?? "transport",
};
if (!["transport", "disconnect"].includes(O.drop)) throw new Error("--drop is transport or disconnect");
const say = (s) => process.stderr.write(s + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const SERVER = fileURLToPath(new URL("./storm_sio.mjs", import.meta.url));
const TICK = 100; // USER_HZ on Linux

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// CPU seconds of a process (user + system), from /proc/<pid>/stat.
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

class ServerProcess {
  constructor(port) {
    this.port = port;
    this.child = null;
  }
  async start() {
    const command = [process.execPath, SERVER, "--port", String(this.port),
      "--max-disconnection-ms", String(O.maxDisconnectionMs)];
    const [file, ...rest] = O.serverCpu === null ? command : ["taskset", "-c", String(O.serverCpu), ...command];
    this.child = spawn(file, rest, { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("server did not start")), 60_000);
      this.child.stdout.on("data", (chunk) => {
        out += chunk;
        if (out.includes("listening")) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    });
  }
  get pid() {
    return this.child.pid; // taskset execs the server: same pid
  }
  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await Promise.race([exited, sleep(30_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await exited;
    }
    this.child = null;
  }
}

function connectSocket(url, rooms) {
  return io(url, {
    transports: ["websocket"],
    forceNew: true, // a manager (and a connection) of its own per client
    reconnection: false, // the driver decides when each client comes back
    auth: { rooms },
    timeout: 60_000,
  });
}

function once(socket, event, ms = 60_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...a) => {
      clearTimeout(timer);
      resolve(a);
    });
    if (event !== "connect_error") {
      socket.once("connect_error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    }
  });
}

async function pool(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

async function stats(url) {
  const probe = connectSocket(url, []);
  try {
    await once(probe, "connect");
    return await probe.timeout(30_000).emitWithAck("stats", null);
  } finally {
    probe.disconnect();
  }
}

// What a client following `room` must receive: the room's events in order, as (type, id).
const signature = (e) => `${e.type}:${e.type === "reaction.added" ? e.message_id : e.message?.id}`;

async function missedTraffic(url, rooms) {
  const writer = connectSocket(url, []);
  await once(writer, "connect");
  const expected = new Map();
  const call = async (event, data) => {
    const reply = await writer.timeout(60_000).emitWithAck(event, data);
    if (reply?.op !== "ok") throw new Error(`${event} refused: ${JSON.stringify(reply)}`);
    return reply;
  };
  await Promise.all(rooms.map(async (room) => {
    const events = [];
    const ids = [];
    for (let i = 0; i < O.missed; i++) {
      const { message } = await call("send", { room, body: `missed ${i} in room ${room}` });
      ids.push(message.id);
      events.push(`message.created:${message.id}`);
    }
    for (const id of ids.slice(0, 2)) {
      await call("edit", { id, body: "edited" });
      events.push(`message.updated:${id}`);
    }
    for (const id of ids.slice(-3)) {
      await call("react", { id, emoji: "👍" });
      events.push(`reaction.added:${id}`);
    }
    expected.set(room, events);
  }));
  writer.disconnect();
  return expected;
}

function pct(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}
const round = (x, d = 1) => (x === undefined || x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

async function main() {
  const port = O.port || (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const server = new ServerProcess(port);
  await server.start();
  const roomIds = Array.from({ length: Math.min(O.rooms, O.clients) }, (_, i) => i + 1);
  const clients = Array.from({ length: O.clients }, (_, i) => ({
    index: i, room: roomIds[i % roomIds.length], socket: null, events: [],
    resumedAt: 0, connectedAt: 0, caughtUpAt: 0, recovered: null, error: null,
  }));
  let result;
  try {
    let started = now();
    await pool(clients, O.concurrency, async (client) => {
      const socket = connectSocket(url, [client.room]);
      client.socket = socket;
      await once(socket, "ready");
    });
    say(`${clients.length} clients connected in ${((now() - started) / 1000).toFixed(1)} s`);

    // Every transport drops; the server persists each session ("transport close").
    for (const c of clients) {
      if (O.drop === "transport") c.socket.io.engine.close();
      else c.socket.disconnect();
    }
    for (let i = 0; ; i++) {
      const s = await stats(url);
      if (s.sockets <= 1) break; // the probe itself
      if (i > 600) throw new Error(`server still holds ${s.sockets} sockets`);
      await sleep(100);
    }
    const expected = await missedTraffic(url, roomIds);
    const before = await stats(url);
    say(`missed traffic written in ${expected.size} rooms; server holds ${before.sessions} sessions, `
      + `${before.packets} packets; disconnects ${JSON.stringify(before.disconnects)}`);
    if (O.restart) {
      say("restarting the server");
      await server.stop();
      await server.start();
    }
    const cpuBefore = cpuSeconds(server.pid);
    const clientCpuBefore = process.cpuUsage();
    const stormStart = now();
    let pending = clients.length;
    let lastDone = stormStart;
    let resolveAll;
    const allDone = new Promise((r) => (resolveAll = r));
    const done = (client) => {
      if (client.done) return;
      client.done = true;
      lastDone = Math.max(lastDone, now());
      if (--pending === 0) resolveAll();
    };
    for (const client of clients) {
      const want = expected.get(client.room);
      const socket = client.socket;
      socket.on("event", (e) => {
        client.events.push(signature(e));
        if (socket.recovered && client.events.length >= want.length && !client.caughtUpAt) {
          client.caughtUpAt = now();
          done(client);
        }
      });
      socket.on("connect", () => {
        client.connectedAt = now();
        client.recovered = !!socket.recovered;
        if (!client.recovered) setTimeout(() => done(client), O.drain * 1000);
        else if (client.events.length >= want.length && !client.caughtUpAt) {
          client.caughtUpAt = now();
          done(client);
        }
      });
      socket.on("connect_error", (err) => {
        client.error = String(err?.message ?? err);
        done(client);
      });
      setTimeout(() => {
        client.resumedAt = now();
        socket.connect();
      }, Math.random() * O.spread * 1000);
    }
    const timedOut = await Promise.race([allDone.then(() => false), sleep(O.timeout * 1000).then(() => true)]);
    const cpu = cpuSeconds(server.pid) - cpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    // A short drain: a duplicate or a late extra event after catching up still counts.
    await sleep(500);
    const after = await stats(url);

    const recovered = clients.filter((c) => c.recovered === true);
    const unrecovered = clients.filter((c) => c.recovered === false);
    const caughtUp = clients.filter((c) => c.caughtUpAt);
    let wrong = 0;
    let duplicated = 0;
    let lost = 0;
    let receivedUnrecovered = 0;
    for (const c of clients) {
      if (c.recovered === null) continue;
      const want = expected.get(c.room);
      duplicated += c.events.length - new Set(c.events).size;
      if (c.recovered) {
        if (c.events.length !== want.length || c.events.some((s, k) => s !== want[k])) wrong++;
      } else {
        const got = new Set(c.events);
        receivedUnrecovered += c.events.length;
        lost += want.filter((s) => !got.has(s)).length;
      }
    }
    const spans = caughtUp.map((c) => c.caughtUpAt - c.resumedAt);
    const connectSpans = clients.filter((c) => c.connectedAt).map((c) => c.connectedAt - c.resumedAt);
    const lastConnect = Math.max(stormStart, ...clients.map((c) => c.connectedAt));
    const missedTotal = clients.reduce((n, c) => n + expected.get(c.room).length, 0);
    result = {
      server: "socket.io connection state recovery",
      socket_io: JSON.parse(readFileSync(new URL("./node_modules/socket.io/package.json", import.meta.url))).version,
      node: process.version,
      shape: O.restart ? "after a restart" : "drop and resume, server stays up",
      drop: O.drop,
      clients: clients.length,
      rooms_followed: roomIds.length,
      missed_per_client: O.missed,
      missed_events_per_client: O.missed + 2 + 3,
      spread_s: O.spread,
      recovered: recovered.length,
      not_recovered: unrecovered.length,
      caught_up: caughtUp.length,
      failed: clients.filter((c) => c.error).length + (timedOut ? pending : 0),
      wrong_replays: wrong,
      duplicated,
      missed_events_total: missedTotal,
      lost_events: lost + clients.filter((c) => c.recovered === null).reduce((n, c) => n + expected.get(c.room).length, 0),
      received_by_unrecovered: receivedUnrecovered,
      seconds_to_all_caught_up: caughtUp.length === clients.length ? round((lastDone - stormStart) / 1000, 3) : null,
      seconds_to_all_connected: round((lastConnect - stormStart) / 1000, 3),
      resume_to_caught_up_ms: spans.length
        ? { p50: round(pct(spans, 0.5)), p99: round(pct(spans, 0.99)), max: round(Math.max(...spans)) }
        : null,
      resume_to_connected_ms: connectSpans.length
        ? { p50: round(pct(connectSpans, 0.5)), p99: round(pct(connectSpans, 0.99)), max: round(Math.max(...connectSpans)) }
        : null,
      server_cpu_s: round(cpu, 2),
      server_cpu_ms_per_client: round((cpu / Math.max(1, clients.length)) * 1000, 2),
      client_cpu_s: round((clientCpu.user + clientCpu.system) / 1e6, 2),
      server_sessions_before: before.sessions,
      server_packets_buffered: before.packets,
      server_rss_mb_after: round(after.rss_bytes / 2 ** 20),
      load_average: round(readFileSync("/proc/loadavg", "utf8").split(" ").map(Number)[0]),
    };
    const firstError = clients.find((c) => c.error);
    if (firstError) result.first_failure = firstError.error.slice(0, 300);
    for (const c of clients) c.socket.disconnect();
  } finally {
    await server.stop();
  }
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(text + "\n");
  if (O.json) writeFileSync(O.json, text + "\n");
  process.exit(0);
}

main().catch((err) => {
  say(String(err?.stack ?? err));
  process.exit(1);
});
