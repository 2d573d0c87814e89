// Messages the user has sent but the server has not acknowledged. They live in
// the state (so the timeline shows them as pending) and in localStorage (so a
// reload or a dead battery does not lose them), and are sent one at a time, in
// order, each always with the nonce it was given when the user pressed Enter.

import { ChatError, isTransient } from './protocol.js';

const key = (userId) => `chat.outbox.${userId}`;

export function loadOutbox(userId) {
  try {
    const list = JSON.parse(localStorage.getItem(key(userId)) || '[]');
    return Array.isArray(list) ? list.map((e) => ({ ...e, status: e.status === 'failed' ? 'failed' : 'queued' })) : [];
  } catch {
    return [];
  }
}

export function saveOutbox(userId, outbox) {
  try {
    if (outbox.length) localStorage.setItem(key(userId), JSON.stringify(outbox));
    else localStorage.removeItem(key(userId));
  } catch { /* storage full or disabled: the in-memory queue still works */ }
}

/**
 * Sends queued entries over `conn`, oldest first, stopping at the first
 * transient failure (the next `ready` calls flush again). Only one flush runs
 * at a time, so an entry is never in flight twice on one connection.
 */
export function createSender({ store, conn }) {
  let running = false;
  let again = false;

  async function flush() {
    if (running) { again = true; return; }
    running = true;
    try {
      do {
        again = false;
        for (;;) {
          const s = store.get();
          if (s.status !== 'online') return;
          const entry = s.outbox.find((e) => e.status === 'queued');
          if (!entry) break;
          store.dispatch({ op: 'local.sending', nonce: entry.nonce });
          try {
            const fields = { room: entry.room, body: entry.body, nonce: entry.nonce };
            if (entry.reply_to) fields.reply_to = entry.reply_to;
            if (entry.question) fields.question = true;
            if (entry.poll) fields.poll = entry.poll;
            if (entry.attachments && entry.attachments.length) fields.attachments = entry.attachments;
            const ok = await conn.request('send', fields);
            store.dispatch({ op: 'local.acked', nonce: entry.nonce, message: ok.message });
          } catch (err) {
            if (err instanceof ChatError && err.code === 'rate_limited') {
              // Slow mode or the send rate: the composer counts down, the message waits its turn.
              const wait = Math.max(1, Number(err.retry_after) || 1) * 1000;
              store.dispatch({ op: 'local.slow', room: entry.room, until: Date.now() + wait });
              store.dispatch({ op: 'local.requeue' });
              await new Promise((r) => setTimeout(r, wait));
              continue;
            }
            if (isTransient(err)) { store.dispatch({ op: 'local.requeue' }); return; }
            if (err.code === 'muted') store.dispatch({ op: 'local.muted', room: entry.room, until: err.until });
            store.dispatch({ op: 'local.failed', nonce: entry.nonce, error: { code: err.code, message: err.message, until: err.until } });
          }
        }
      } while (again);
    } finally {
      running = false;
    }
  }

  return { flush };
}
