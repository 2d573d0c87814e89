// One live gateway connection that keeps itself alive: hello/ready handshake,
// request refs matched to replies, pings that notice a dead link, and
// reconnection with exponential backoff and jitter (so a restarted server is
// not hit by every student at the same instant).

import { ChatError, CLOSE, PROTOCOL_VERSION } from './protocol.js';

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 8000;
const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 10000;
const HELLO_WITHIN_MS = 10000;

/** Delay before reconnect attempt `n` (0-based): half fixed, half random. */
export function backoffDelay(n, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n);
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}

export class Connection {
  /**
   * @param opts.url          gateway URL
   * @param opts.getToken     () → bearer token
   * @param opts.getSince     () → {room id: seq} for catch-up in hello
   * @param opts.onFrame      (frame) for `ready`, events and unmatched errors
   * @param opts.onStatus     ({status, retryAt?}) on every change
   * @param opts.onUnauthorized () when the server rejects the token (4001)
   */
  constructor(opts) {
    this.opts = opts;
    this.WS = opts.WebSocket || globalThis.WebSocket;
    this.ws = null;
    this.isReady = false;
    this.stopped = true;
    this.attempt = 0;
    this.nextRef = 1;
    this.pending = new Map(); // ref → {resolve, reject, timer}
    this.timers = {};
    this.onWake = () => this.reconnectNow();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onWake);
      document.addEventListener('visibilitychange', this.onWake);
    }
    this.open();
  }

  stop() {
    this.stopped = true;
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onWake);
      document.removeEventListener('visibilitychange', this.onWake);
    }
    this.clearTimers();
    if (this.ws) { try { this.ws.close(1000); } catch { /* already closed */ } }
    this.ws = null;
    this.failPending();
    this.setStatus('offline');
  }

  /** Skip the backoff wait (the network came back, or the tab became visible). */
  reconnectNow() {
    if (this.stopped || this.ws || (typeof document !== 'undefined' && document.hidden)) return;
    clearTimeout(this.timers.retry);
    this.open();
  }

  setStatus(status, extra = {}) {
    if (this.opts.onStatus) this.opts.onStatus({ status, ...extra });
  }

  open() {
    this.clearTimers();
    this.isReady = false;
    this.setStatus('connecting');
    let ws;
    try {
      ws = new this.WS(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const hello = { op: 'hello', v: PROTOCOL_VERSION, token: this.opts.getToken() };
      const since = this.opts.getSince ? this.opts.getSince() : null;
      if (since && Object.keys(since).length) hello.since = since;
      ws.send(JSON.stringify(hello));
      this.timers.hello = setTimeout(() => ws.close(), HELLO_WITHIN_MS);
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ws, ev.code);
    ws.onerror = () => { /* always followed by close, handled there */ };
  }

  receive(data) {
    let frame;
    try { frame = JSON.parse(data); } catch { return; }
    if (!frame || typeof frame !== 'object') return;
    if (frame.op === 'ready') {
      clearTimeout(this.timers.hello);
      this.isReady = true;
      this.attempt = 0;
      this.schedulePing();
      this.opts.onFrame(frame);
      this.setStatus('online');
      return;
    }
    if ((frame.op === 'ok' || frame.op === 'error' || frame.op === 'pong') && this.pending.has(frame.ref)) {
      const p = this.pending.get(frame.ref);
      this.pending.delete(frame.ref);
      clearTimeout(p.timer);
      if (frame.op === 'error') {
        p.reject(new ChatError(frame.code, frame.message, { retryAfter: frame.retry_after, until: frame.until }));
      } else {
        p.resolve(frame);
      }
      return;
    }
    this.opts.onFrame(frame);
  }

  closed(ws, code) {
    if (ws !== this.ws) return; // a socket we already replaced
    this.ws = null;
    this.isReady = false;
    this.clearTimers();
    this.failPending();
    if (this.stopped) return;
    if (code === CLOSE.UNAUTHORIZED) {
      this.stopped = true;
      this.setStatus('offline');
      if (this.opts.onUnauthorized) this.opts.onUnauthorized();
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const delay = backoffDelay(this.attempt++);
    this.setStatus('offline', { retryAt: Date.now() + delay });
    this.timers.retry = setTimeout(() => { if (!this.stopped) this.open(); }, delay);
  }

  schedulePing() {
    clearTimeout(this.timers.ping);
    this.timers.ping = setTimeout(() => {
      this.request('ping', {}, { timeout: PONG_WITHIN_MS })
        .then(() => this.schedulePing())
        .catch(() => { if (this.ws) this.ws.close(); }); // a silent link: start over
    }, PING_EVERY_MS);
  }

  /** Send an op and wait for its ok (resolves with the frame) or error (rejects with ChatError). */
  request(op, fields = {}, { timeout = 15000 } = {}) {
    if (!this.ws || !this.isReady) return Promise.reject(new ChatError('disconnected', 'not connected'));
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new ChatError('timeout', `${op} timed out`));
      }, timeout);
      this.pending.set(ref, { resolve, reject, timer });
      try {
        this.ws.send(JSON.stringify({ op, ref, ...fields }));
      } catch (e) {
        this.pending.delete(ref);
        clearTimeout(timer);
        reject(new ChatError('disconnected', e.message));
      }
    });
  }

  /** Fire-and-forget ops (typing, read): failures are not worth telling anyone about. */
  notify(op, fields = {}) {
    this.request(op, fields).catch(() => {});
  }

  failPending() {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ChatError('disconnected', 'connection lost'));
    }
    this.pending.clear();
  }

  clearTimers() {
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  }
}
