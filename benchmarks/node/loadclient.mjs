// Lean load client: the scenario and metrics of `chatserver loadtest`, for loads where a
// Python tester would saturate its own core first (beyond ~50k deliveries/s).
//
//   node benchmarks/node/loadclient.mjs --target ws --url http://127.0.0.1:8201 \
//       --clients 2000 --rooms 1 --rate 20 --step --json out.json
//
// Targets: `ws` (reference servers: hello carries `rooms`), `socketio` (Socket.IO framing
// written by hand over `ws`, as the Python tester does), `socketio-client` (the official
// socket.io-client, what a browser app runs), and `chat` (this project's server; accounts
// and rooms come from `chatserver loadtest --prepare-only --plan plan.json`, given as --plan).
// Message bodies are `lt <id> <send time ns>`: receivers find them with a byte scan and
// never parse the frame, bit k of a per-connection bitmap marks message k as received
// (a second arrival is a duplicate), and acked messages whose bit is still clear after the
// drain are lost. Sends follow an absolute schedule: tick j is due at t0 + j/rate.
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { io } from "socket.io-client";

const argv = process.argv.slice(2);
const flags = new Set(["step", "deflate", "quiet"]);
const opt = { url: [] };
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].replace(/^--/, "").replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  if (flags.has(argv[i].slice(2))) opt[key] = true;
  else if (key === "url") opt.url.push(argv[++i]);
  else if (key === "serverPid") (opt.serverPid ??= []).push(Number(argv[++i]));
  else opt[key] = argv[++i];
}
const num = (v, d) => (v === undefined ? d : Number(v));
const O = {
  target: opt.target ?? "ws", urls: opt.url.length ? opt.url : ["http://127.0.0.1:8000"],
  clients: num(opt.clients, 100), rooms: num(opt.rooms, 1), publishers: num(opt.publishers, 2),
  rate: num(opt.rate, 10), duration: num(opt.duration, 10), drain: num(opt.drain, 5),
  warmup: num(opt.warmup, 1), step: !!opt.step, stepFactor: num(opt.stepFactor, 1.5),
  stepSeconds: num(opt.stepSeconds, 5), p99BoundMs: num(opt.p99BoundMs, 250),
  maxRate: num(opt.maxRate, 1e6), bodyBytes: num(opt.bodyBytes, 0), deflate: !!opt.deflate,
  connectConcurrency: num(opt.connectConcurrency, 200), plan: opt.plan, json: opt.json,
  // Fixed-rate runs after the steps, in one connection wave: "0.5x" is half the best rate.
  alsoRates: opt.alsoRates ? String(opt.alsoRates).split(",") : [],
  serverPids: opt.serverPid ?? [], quiet: !!opt.quiet,
};
const say = (s) => O.quiet || process.stderr.write(s + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowNs = () => (performance.timeOrigin + performance.now()) * 1e6;
const CREATED = Buffer.from('"message.created"');
const BODY = Buffer.from('"body":');
const pad = O.bodyBytes > 0 ? " " + "x".repeat(O.bodyBytes - 1) : "";

// ---- server probe (Linux /proc: the pid, its threads and its children) -------------------
const TICK = 100; // USER_HZ on Linux
function procTree(pid) {
  const out = [pid];
  try {
    for (const tid of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)) {
      if (tid) out.push(...procTree(Number(tid)));
    }
  } catch {}
  return out;
}
function serverSample() {
  if (!O.serverPids.length) return null;
  let cpu = 0, rss = 0;
  for (const pid of O.serverPids.flatMap(procTree)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      cpu += (Number(f[11]) + Number(f[12])) / TICK;
      rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
    } catch {}
  }
  return { cpu, rss, t: performance.now() };
}

// Busy % of each core (/proc/stat): on loopback the kernel's receive work runs on the
// sender's core, partly outside both processes' CPU time.
function coreTimes() {
  try {
    return readFileSync("/proc/stat", "utf8").split("\n").filter((l) => /^cpu\d/.test(l)).map((l) => {
      const f = l.split(/\s+/).slice(1, 9).map(Number);
      return [f.reduce((a, b) => a + b, 0), f[3] + f[4]];
    });
  } catch { return []; }
}
const coresBusy = (a, b) => b.map(([t, i], k) => Math.round(1000 * (1 - (i - a[k][1]) / Math.max(t - a[k][0], 1))) / 10);

// ---- state -----------------------------------------------------------------------------
const plan = O.plan ? JSON.parse(readFileSync(O.plan, "utf8")) : null;
const latencies = [];
const lateness = [];
let acked = new Uint8Array(1 << 16);
let ackedCount = 0, sent = 0, nextId = 0;
const ackedPerRoom = new Array(O.rooms).fill(0);
const errors = {};
const series = [];
const t0 = performance.now();
const err = (code) => (errors[code] = (errors[code] ?? 0) + 1);

function ack(ref) {
  if (ref >> 3 >= acked.length) { const a = new Uint8Array(acked.length * 2 + (ref >> 3)); a.set(acked); acked = a; }
  const bit = 1 << (ref & 7);
  if (!(acked[ref >> 3] & bit)) { acked[ref >> 3] |= bit; ackedCount++; ackedPerRoom[ref % O.rooms]++; }
}
const isAcked = (k) => k >> 3 < acked.length && (acked[k >> 3] & (1 << (k & 7))) !== 0;

function parseIntAt(buf, i) { let n = 0, c; while ((c = buf[i]) >= 48 && c <= 57) { n = n * 10 + (c - 48); i++; } return [n, i]; }

class Client {
  constructor(index) {
    this.index = index;
    const account = plan ? index % plan.clients.length : index;
    this.roomIndex = plan ? plan.rooms.indexOf(plan.clients[account].room) : index % O.rooms;
    this.room = plan ? plan.clients[account].room : this.roomIndex + 1;
    this.token = plan ? plan.clients[account].token : "reference";
    this.url = O.urls[index % O.urls.length].replace(/^http/, "ws").replace(/\/$/, "");
    this.seen = new Uint8Array(1 << 12);
    this.received = 0; this.dups = 0; this.lastRx = 0; this.connectMs = 0;
  }
  delivered(id, sentNs) {
    const now = nowNs();
    latencies.push((now - sentNs) / 1000);
    if (id >> 3 >= this.seen.length) { const s = new Uint8Array(this.seen.length * 2 + (id >> 3)); s.set(this.seen); this.seen = s; }
    const bit = 1 << (id & 7);
    if (this.seen[id >> 3] & bit) this.dups++; else { this.seen[id >> 3] |= bit; this.received++; }
    this.lastRx = now;
  }
  has(id) { return id >> 3 < this.seen.length && (this.seen[id >> 3] & (1 << (id & 7))) !== 0; }
  onFrame(buf) {
    const pos = buf.indexOf(CREATED);
    if (pos >= 0) {
      let s = buf.indexOf(BODY, pos);
      if (s >= 0) {
        s += BODY.length;
        while (buf[s] === 32) s++; // a space after the colon is valid JSON too
        if (buf[s] === 34 && buf[s + 1] === 108 && buf[s + 2] === 116 && buf[s + 3] === 32) { // "lt
          const [id, i] = parseIntAt(buf, s + 4);
          this.delivered(id, parseIntAt(buf, i + 1)[0]);
          return;
        }
      }
    }
    const c0 = buf[0];
    if (c0 === 50 /* "2" ping */) { this.ws.send("3"); return; }
    if (c0 === 52 && buf[1] === 51 /* "43" ack */) { ack(parseIntAt(buf, 2)[0]); return; }
    if (c0 === 123 /* { */) {
      const head = buf.toString("latin1", 0, Math.min(buf.length, 64));
      const m = /^\{"op":"(ok|error)","ref":(\d+)/.exec(head);
      if (!m) return;
      if (m[1] === "ok") ack(Number(m[2]));
      else err(/"code":"([a-z_]+)"/.exec(buf.toString("latin1", 0, Math.min(buf.length, 200)))?.[1] ?? "error");
    }
  }
  open() {
    const started = performance.now();
    if (O.target === "socketio-client") return this.openSio(started);
    const path = O.target === "socketio" ? "/socket.io/?EIO=4&transport=websocket" : "/ws";
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url + path, { perMessageDeflate: O.deflate });
      this.ws = ws;
      let ready = false;
      ws.on("error", (e) => (ready ? err("socket_error") : reject(e)));
      ws.on("close", () => { this.closed = true; if (!ready) reject(new Error("closed before ready")); });
      ws.on("open", () => {
        if (O.target !== "socketio") {
          const hello = { op: "hello", v: 1, token: this.token };
          if (O.target === "ws") hello.rooms = [this.room];
          ws.send(JSON.stringify(hello));
        }
      });
      ws.on("message", (data) => {
        if (ready) return this.onFrame(data);
        const text = data.toString();
        if (O.target === "socketio" && text[0] === "0") return ws.send("40" + JSON.stringify({ rooms: [this.room] }));
        if (text.startsWith("40") || text.startsWith('{"op":"ready"')) {
          ready = true; this.connectMs = performance.now() - started; resolve();
        } else if (O.target !== "socketio") reject(new Error("expected ready: " + text.slice(0, 200)));
      });
    });
  }
  openSio(started) {
    return new Promise((resolve, reject) => {
      const socket = io(this.url.replace(/^ws/, "http"), {
        transports: ["websocket"], auth: { rooms: [this.room] }, forceNew: true, reconnection: false,
        perMessageDeflate: O.deflate,
      });
      this.sio = socket;
      socket.on("connect", () => { this.connectMs = performance.now() - started; resolve(); });
      socket.on("connect_error", reject);
      socket.on("event", (frame) => {
        if (frame.type !== "message.created" || !frame.message.body.startsWith("lt ")) return;
        const [, id, t] = frame.message.body.split(" ");
        this.delivered(Number(id), Number(t));
      });
    });
  }
  send(id, body) {
    const payload = { op: "send", ref: id, room: this.room, body };
    if (this.sio) { this.sio.emit("send", payload, () => ack(id)); return; }
    if (!this.ws || this.ws.readyState !== 1) return err("not_connected");
    this.ws.send(O.target === "socketio" ? `42${id}${JSON.stringify(["send", payload])}` : JSON.stringify(payload));
  }
  close() { this.sio?.close(); this.ws?.terminate(); }
}

// ---- run -------------------------------------------------------------------------------
const pct = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))] : 0);
function summary(samples) {
  const s = Float64Array.from(samples).sort();
  const r = (v) => Math.round(v) / 1000;
  return { count: s.length, p50: r(pct(s, 50)), p95: r(pct(s, 95)), p99: r(pct(s, 99)), max: r(s.length ? s[s.length - 1] : 0) };
}
const everyone = Array.from({ length: O.clients }, (_, i) => new Client(i));
let clients = everyone; // after connecting: only those that got in (failures are counted there)
const publishers = Array.from({ length: O.rooms }, () => []);
const members = new Array(O.rooms).fill(0);
function assign() {
  clients = everyone.filter((c) => c.connectMs > 0);
  for (const c of clients) { members[c.roomIndex]++; if (publishers[c.roomIndex].length < O.publishers) publishers[c.roomIndex].push(c); }
}

async function connectAll() {
  let failed = 0, next = 0;
  const started = performance.now();
  const ticker = setInterval(() => say(`connecting: ${everyone.filter((c) => c.connectMs > 0).length}/${everyone.length} ready, ${failed} failed`), 1000);
  await Promise.all(Array.from({ length: O.connectConcurrency }, async () => {
    while (next < everyone.length) {
      const c = everyone[next++];
      try { await c.open(); } catch (e) { if (++failed <= 3) say(`connect failed: ${e.message}`); }
    }
  }));
  clearInterval(ticker);
  assign();
  const times = clients.map((c) => c.connectMs * 1000);
  const s = summary(times);
  return { clients: everyone.length, failed, total_s: Math.round(performance.now() - started) / 1000, p50_ms: s.p50, p99_ms: s.p99 };
}

async function publish(rate, seconds) {
  const count = Math.max(1, Math.round(rate * seconds));
  const first = nextId; nextId += count;
  const start = performance.now();
  for (let j = 0; j < count; j++) {
    const due = start + (j * 1000) / rate;
    let now = performance.now();
    if (due > now) { await sleep(due - now); now = performance.now(); }
    lateness.push((now - due) * 1000);
    const id = first + j, pubs = publishers[id % O.rooms];
    if (!pubs.length) continue;
    pubs[Math.floor(id / O.rooms) % pubs.length].send(id, `lt ${id} ${Math.round(nowNs())}${pad}`);
    sent++;
  }
  return [first, first + count];
}

const receivedTotal = () => clients.reduce((n, c) => n + c.received, 0);
async function drain(seconds) {
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const errs = Object.values(errors).reduce((a, b) => a + b, 0);
    const expected = ackedPerRoom.reduce((n, a, r) => n + a * members[r], 0);
    if (ackedCount + errs >= sent && receivedTotal() >= expected) return;
    await sleep(50);
  }
}

async function step(rate, seconds) {
  const lat0 = latencies.length, late0 = lateness.length, sent0 = sent;
  const dups0 = clients.reduce((n, c) => n + c.dups, 0), errs0 = { ...errors };
  const cpu0 = process.cpuUsage(), wall0 = performance.now(), srv0 = serverSample(), wallNs0 = nowNs(), cores0 = coreTimes();
  const [first, end] = await publish(rate, seconds);
  await drain(O.drain);
  const cpu = process.cpuUsage(cpu0), wall = performance.now() - wall0, srv1 = serverSample();
  let expected = 0, lost = 0, deliveries = 0, ackedN = 0;
  for (let k = first; k < end; k++) if (isAcked(k)) ackedN++;
  for (const c of clients) {
    for (let k = first + ((c.roomIndex - (first % O.rooms) + O.rooms) % O.rooms); k < end; k += O.rooms) {
      const got = c.has(k);
      if (got) deliveries++;
      if (isAcked(k)) { expected++; if (!got) lost++; }
    }
  }
  const stepErrors = {};
  for (const [k, v] of Object.entries(errors)) if (v !== (errs0[k] ?? 0)) stepErrors[k] = v - (errs0[k] ?? 0);
  const lastRx = Math.max(wallNs0, ...clients.map((c) => c.lastRx));
  const late = summary(lateness.slice(late0));
  const r = {
    rate: Math.round(rate * 100) / 100, seconds, sent: sent - sent0, acked: ackedN,
    unacked: Math.max(0, sent - sent0 - ackedN - Object.values(stepErrors).reduce((a, b) => a + b, 0)),
    errors: stepErrors, expected, deliveries,
    deliveries_per_s: Math.round(deliveries / Math.max(seconds, (lastRx - wallNs0) / 1e9)),
    lost, duplicates: clients.reduce((n, c) => n + c.dups, 0) - dups0,
    latency_ms: summary(latencies.slice(lat0)), send_late_ms_p99: late.p99, send_late_ms_max: late.max,
    client_cpu_pct: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 10,
    server_cpu_pct: srv0 ? Math.round(((srv1.cpu - srv0.cpu) / ((srv1.t - srv0.t) / 1000)) * 1000) / 10 : null,
    server_rss_mb: srv1 ? Math.round(srv1.rss / 2 ** 20 * 10) / 10 : null,
    cores_busy_pct: coresBusy(cores0, coreTimes()),
  };
  const passed = r.lost === 0 && r.duplicates === 0 && r.unacked === 0 && !Object.keys(stepErrors).length && r.latency_ms.p99 <= O.p99BoundMs;
  say(`  rate=${r.rate} deliv/s=${r.deliveries_per_s} p50=${r.latency_ms.p50} p99=${r.latency_ms.p99} max=${r.latency_ms.max} ` +
      `lost=${r.lost} dup=${r.duplicates} unacked=${r.unacked} cpu=${r.client_cpu_pct}% server=${r.server_cpu_pct}% cores=${r.cores_busy_pct.join("/")}%${r.client_cpu_pct >= 90 ? " (client-bound)" : ""}`);
  return { r, passed };
}

function progress() {
  let start = latencies.length, received = receivedTotal(), cpu = process.cpuUsage(), wall = performance.now();
  return setInterval(() => {
    const s = summary(latencies.slice(start));
    start = latencies.length;
    const now = receivedTotal(), c = process.cpuUsage(cpu), w = performance.now() - wall;
    series.push([Math.round(performance.now() - t0) / 1000, s.count, s.p50, s.p99, s.max]);
    say(`t=${((performance.now() - t0) / 1000).toFixed(1)}s sent=${sent} acked=${ackedCount} deliv/s=${now - received} ` +
        `p50=${s.p50}ms p99=${s.p99}ms max=${s.max}ms cpu=${Math.round(((c.user + c.system) / 10) / w)}%`);
    received = now; cpu = process.cpuUsage(); wall = performance.now();
  }, 1000);
}

const result = { options: O, client: "node", started: new Date().toISOString() };
result.connect = await connectAll();
say(`connected: ${JSON.stringify(result.connect)}`);
await sleep(O.warmup * 1000);
const ticker = progress();
const steps = [];
if (O.step) {
  for (let rate = O.rate; rate <= O.maxRate; rate *= O.stepFactor) {
    say(`-- step: ${rate.toFixed(1)} msg/s for ${O.stepSeconds}s`);
    const { r, passed } = await step(rate, O.stepSeconds);
    steps.push(r);
    if (!passed) break;
    result.best = r;
    await sleep(1000);
  }
  say(`highest sustained rate: ${result.best?.rate ?? "none"} msg/s`);
} else steps.push((await step(O.rate, O.duration)).r);
result.fixed = [];
for (const spec of O.alsoRates) {
  const rate = spec.endsWith("x") ? Number(spec.slice(0, -1)) * (result.best?.rate ?? 0) : Number(spec);
  if (!(rate > 0)) continue;
  await sleep(2000);
  say(`-- fixed: ${rate.toFixed(2)} msg/s (${spec}) for ${O.duration}s`);
  result.fixed.push({ spec, ...(await step(rate, O.duration)).r });
}
clearInterval(ticker);
result.steps = steps;
result.series = series;
result.best ??= null;
if (O.json) writeFileSync(O.json, JSON.stringify(result, null, 2) + "\n");
for (const c of everyone) c.close();
process.exit(O.step || steps.every((s) => s.lost === 0 && s.duplicates === 0) ? 0 : 1);
