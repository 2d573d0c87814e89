// The gateway connection against a fake socket: hello with since, refs,
// reconnect with backoff, 4001 stops; and the outbox sending each entry once.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Connection, backoffDelay, BACKOFF_CAP_MS } from '../connection.js';
import { createSender } from '../outbox.js';
import { createStore } from '../store.js';

class FakeSocket {
  static all = [];
  constructor(url) { this.url = url; this.sent = []; FakeSocket.all.push(this); setTimeout(() => this.onopen && this.onopen(), 0); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code = 1000) { setTimeout(() => this.onclose && this.onclose({ code }), 0); }
  serverSends(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
  serverCloses(code) { this.onclose({ code }); }
}
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test('backoff grows, is capped and jittered', () => {
  assert.equal(backoffDelay(0, () => 0), 250);
  assert.equal(backoffDelay(0, () => 1), 500);
  assert.equal(backoffDelay(3, () => 1), 4000);
  assert.equal(backoffDelay(30, () => 1), BACKOFF_CAP_MS);
  assert.ok(backoffDelay(30, () => 0) >= BACKOFF_CAP_MS / 2);
});

test('hello carries since; ops get replies by ref; reconnect after a drop', async () => {
  FakeSocket.all = [];
  const frames = [];
  const statuses = [];
  const conn = new Connection({
    url: 'ws://x/ws', WebSocket: FakeSocket, getToken: () => 'tok', getSince: () => ({ 7: 41 }),
    onFrame: (f) => frames.push(f), onStatus: (s) => statuses.push(s.status),
  });
  conn.stopped = false; // start() without window listeners (no DOM in Node)
  conn.open();
  await tick();
  const ws = FakeSocket.all[0];
  assert.deepEqual(ws.sent[0], { op: 'hello', v: 1, token: 'tok', since: { 7: 41 } });
  ws.serverSends({ op: 'ready', user: { id: 1 }, rooms: [], notifications_unread: 0 });
  assert.equal(frames[0].op, 'ready');
  assert.equal(statuses.at(-1), 'online');

  const p = conn.request('send', { room: 7, body: 'hi', nonce: 'n' });
  const ref = ws.sent[1].ref;
  ws.serverSends({ op: 'event', type: 'typing', room: 7, user: 2 });
  ws.serverSends({ op: 'ok', ref, message: { id: 5 } });
  assert.equal((await p).message.id, 5);
  assert.equal(frames[1].type, 'typing');

  const failing = conn.request('edit', { message: 5, body: '' });
  ws.serverSends({ op: 'error', ref: ws.sent[2].ref, code: 'bad_request', message: 'empty' });
  await assert.rejects(failing, (e) => e.code === 'bad_request');

  const lost = conn.request('send', { room: 7, body: 'x' });
  ws.serverCloses(1001);
  await assert.rejects(lost, (e) => e.code === 'disconnected');
  assert.equal(statuses.at(-1), 'offline');
  await tick(600); // first backoff is at most 500 ms
  assert.equal(FakeSocket.all.length, 2);
  conn.stop();
});

test('4001 stops reconnecting and reports it', async () => {
  FakeSocket.all = [];
  let unauthorized = 0;
  const conn = new Connection({ url: 'ws://x/ws', WebSocket: FakeSocket, getToken: () => 'bad', onFrame: () => {}, onStatus: () => {}, onUnauthorized: () => unauthorized++ });
  conn.stopped = false;
  conn.open();
  await tick();
  FakeSocket.all[0].serverCloses(4001);
  await tick(700);
  assert.equal(unauthorized, 1);
  assert.equal(FakeSocket.all.length, 1);
});

test('the outbox sends in order, once each, and keeps entries on disconnect', async () => {
  globalThis.document = { hidden: true };
  const store = createStore();
  store.dispatch({ op: 'ready', user: { id: 1, username: 'a' }, rooms: [{ id: 7, last_seq: 0 }], notifications_unread: 0 });
  for (const n of ['a', 'b', 'c']) store.dispatch({ op: 'local.queue', entry: { nonce: n, room: 7, body: n } });
  const sent = [];
  let drop = false;
  const conn = {
    request: async (op, fields) => {
      sent.push(fields.nonce);
      if (drop) { const e = new Error('gone'); e.code = 'disconnected'; throw e; }
      return { message: { id: sent.length, room: 7, seq: sent.length, author: { id: 1 }, body: fields.body, nonce: fields.nonce, created_at: '2026-01-01T00:00:00Z' } };
    },
  };
  const sender = createSender({ store, conn });
  await Promise.all([sender.flush(), sender.flush()]);
  assert.deepEqual(sent, ['a', 'b', 'c']);
  assert.equal(store.get().outbox.length, 0);

  store.dispatch({ op: 'local.queue', entry: { nonce: 'd', room: 7, body: 'd' } });
  drop = true;
  await sender.flush();
  assert.deepEqual(store.get().outbox.map((e) => [e.nonce, e.status]), [['d', 'queued']]);
  drop = false;
  await sender.flush();
  assert.deepEqual(sent.slice(-2), ['d', 'd'], 'the retry reuses the nonce');
  assert.equal(store.get().outbox.length, 0);
  delete globalThis.document;
});
