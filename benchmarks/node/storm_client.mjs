// The reconnect phase of `benchmarks/storm.py` (`--client node`), for this project's
// protocol: every client comes back within the spread with `since` for its room and reads
// until that room's `room.synced`. In Python the client saturates its own core first: each
// client also receives the `presence` frames of everyone coming back (on the order of a
// million frames per storm), which here are skipped with a byte search, never decoded.
//
//   taskset -c 1 node benchmarks/node/storm_client.mjs plan.json results.json
//
// storm.py prepares everything and writes the plan:
//   {"url": "ws://…/ws", "spread_s": 1, "timeout_s": 120,
//    "clients": [{"token": "…", "room": 12, "since": 5043}, …]}
// The results, in the plan's order, are what storm.py checks and reports:
//   {"client_cpu_s": 1.2, "clients": [{"resumed_s": 0.41, "synced_s": 0.52,
//    "created": [ids of the room's replayed message.created], "error": null}, …]}
// Times are seconds since the reconnect window opened. Once every client is caught up (or
// has failed, or the timeout passed) the results are written and "caught up" is printed;
// the connections stay open until stdin ends, so that the server's CPU is read by
// storm.py before the closes add to it.
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const [planPath, resultsPath] = process.argv.slice(2);
if (!planPath || !resultsPath) throw new Error("usage: storm_client.mjs plan.json results.json");
const plan = JSON.parse(readFileSync(planPath, "utf8"));
const CREATED = Buffer.from('"message.created"');
const SYNCED = Buffer.from('"room.synced"');

let t0 = 0;
const seconds = () => (performance.now() - t0) / 1000;
let pending = plan.clients.length;
let finished = false;
const states = plan.clients.map(() => ({ resumed_s: null, synced_s: null, created: [], error: null, ws: null, done: false }));

function done(state) {
  if (state.done) return;
  state.done = true;
  if (--pending === 0) finish();
}

function fail(state, error) {
  if (state.done) return;
  state.error = error;
  done(state);
}

function resume(client, state) {
  state.resumed_s = seconds();
  const ws = new WebSocket(plan.url, { perMessageDeflate: false, handshakeTimeout: 60_000 });
  state.ws = ws;
  let ready = false;
  ws.on("open", () => {
    ws.send(JSON.stringify({ op: "hello", v: 1, token: client.token, since: { [client.room]: client.since } }));
  });
  ws.on("message", (data) => {
    if (state.done) return;
    if (!ready) {
      const text = data.toString();
      let op = null;
      try {
        op = JSON.parse(text).op;
      } catch {}
      if (op !== "ready") {
        fail(state, `expected ready, got ${text.slice(0, 300)}`);
        ws.terminate();
        return;
      }
      ready = true;
      return;
    }
    // Presence announcements outnumber the replay many times over: a byte search decides.
    if (data.indexOf(CREATED) < 0 && data.indexOf(SYNCED) < 0) return;
    const frame = JSON.parse(data.toString());
    if (frame.room !== client.room) return;
    if (frame.type === "message.created") state.created.push(Number(frame.message.id));
    else if (frame.type === "room.synced") {
      state.synced_s = seconds();
      // Read no further, as the Python client stops reading: the server's frames wait in
      // the socket's buffers instead of costing this process.
      ws.pause();
      done(state);
    }
  });
  ws.on("error", (err) => fail(state, `${err.name}: ${err.message}`));
  ws.on("close", (code) => fail(state, `closed before room.synced (${code})`));
}

function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(deadline);
  const cpu = process.cpuUsage(cpuBefore);
  for (const state of states) if (!state.done) state.error = `no room.synced within ${plan.timeout_s} s`;
  const clients = states.map(({ resumed_s, synced_s, created, error }) => ({ resumed_s, synced_s, created, error }));
  writeFileSync(resultsPath, JSON.stringify({ client_cpu_s: (cpu.user + cpu.system) / 1e6, clients }));
  process.stdout.write("caught up\n");
}

// storm.py closes stdin when it has read the server's CPU (or when it stops early).
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  for (const state of states) state.ws?.terminate();
  process.exit(finished ? 0 : 1);
});

const cpuBefore = process.cpuUsage();
t0 = performance.now();
plan.clients.forEach((client, i) => {
  setTimeout(() => resume(client, states[i]), Math.random() * plan.spread_s * 1000);
});
const deadline = setTimeout(finish, plan.timeout_s * 1000);
if (!pending) finish();
