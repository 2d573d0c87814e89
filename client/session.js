// A logged-in session: the token, the HTTP API, the gateway connection and the
// store, and the glue between them — gap detection and `sync`, catch-up after
// reconnect, flushing the outbox once caught up, and browser notifications.

import { createApi } from './api.js';
import { Connection } from './connection.js';
import { gatewayUrl } from './protocol.js';
import { createStore } from './store.js';
import { frameRoom, gapSince, sinceMap } from './state.js';
import { createSender, loadOutbox, saveOutbox } from './outbox.js';

const TOKEN_KEY = 'chat.token';
const CATCH_UP_WAIT_MS = 1500;

export function savedToken() {
  try { return localStorage.getItem(TOKEN_KEY); } catch { return null; }
}

export function saveToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* private mode: the session lasts as long as the tab */ }
}

/** An API client for the screens before login. */
export function anonymousApi() {
  return createApi({ getToken: () => null });
}

/**
 * @param token          bearer token
 * @param onSignedOut    () when the token stops working (logout elsewhere, expiry)
 */
export function createSession({ token, onSignedOut }) {
  const store = createStore();
  let signedOut = false;
  const signOut = () => {
    if (signedOut) return;
    signedOut = true;
    conn.stop();
    saveToken(null);
    onSignedOut();
  };
  const api = createApi({ getToken: () => token, onUnauthorized: signOut });
  const conn = new Connection({
    url: gatewayUrl(),
    getToken: () => token,
    getSince: () => sinceMap(store.get()),
    onFrame,
    onStatus: ({ status, retryAt }) => {
      store.dispatch({ op: 'local.status', status });
      session.retryAt = retryAt || null;
    },
    onUnauthorized: signOut,
  });
  const sender = createSender({ store, conn });
  // reload: views that refetch a room's history after a reset or a reconnect;
  // notification: everyone who reacts to a pushed notification;
  // removed: (room id, the room as it was) when a moderator takes us out of a room.
  const hooks = { reload: new Set(), notification: new Set(), removed: new Set() };
  let outboxOwner = null;

  // Persist the outbox whenever it changes, under the signed-in user's key.
  store.subscribe((s, before) => {
    if (s.me && s.outbox !== before.outbox) saveOutbox(s.me.id, s.outbox);
  });

  function onFrame(frame) {
    if (frame.op === 'ready') {
      if (outboxOwner !== frame.user.id) {
        // First ready of this session: bring back what was typed before a reload.
        outboxOwner = frame.user.id;
        store.dispatch(frame);
        const saved = loadOutbox(frame.user.id);
        if (saved.length) store.dispatch({ op: 'local.outbox', outbox: saved });
      } else {
        store.dispatch({ op: 'local.requeue' });
        store.dispatch(frame);
      }
      afterReady();
      return;
    }
    if (frame.op !== 'event') return;
    const since = gapSince(store.get(), frame);
    const before = store.get();
    store.dispatch(frame);
    if (since != null) {
      const room = frameRoom(frame);
      store.dispatch({ op: 'local.replaying', room, kind: 'gap' });
      conn.request('sync', { room, since }).catch(() => {
        // The replay will come with the next hello's `since` instead.
      });
    }
    if (frame.type === 'room.synced' && frame.reset) for (const fn of hooks.reload) fn(frame.room);
    if (frame.type === 'notification') for (const fn of hooks.notification) fn(frame.notification);
    if (frame.type === 'room.removed') {
      const id = frameRoom(frame);
      for (const fn of hooks.removed) fn(id, before.rooms[id] || null);
    }
  }

  // Send what waited in the outbox once the replays we asked for are in, so a
  // message the server already has is recognised by its nonce and not resent.
  // The nonce makes a resend harmless anyway; waiting just avoids the traffic.
  function afterReady() {
    const started = Date.now();
    const tick = () => {
      const s = store.get();
      if (s.status !== 'online') return;
      if (Object.keys(s.replaying).length && Date.now() - started < CATCH_UP_WAIT_MS) {
        setTimeout(tick, 50);
        return;
      }
      sender.flush();
    };
    tick();
    for (const fn of hooks.reload) fn(null);
  }

  const session = {
    store, api, conn, token, hooks,
    retryAt: null,
    start() { conn.start(); },
    flushOutbox: () => sender.flush(),
    signOut,
    async logout() {
      try { await api.logout(); } catch { /* the token is dropped locally either way */ }
      signOut();
    },
  };
  return session;
}
