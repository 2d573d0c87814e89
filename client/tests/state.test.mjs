// The reducer on its own: every server frame and local action, no browser.
import test from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState, gapSince, sinceMap } from '../state.js';

const alice = { id: 1, username: 'alice', display_name: 'Alice', role: 'student', region: null };
const bob = { id: 2, username: 'bob', display_name: 'Bob', role: 'student', region: null };
const room = (id, extra = {}) => ({ id, slug: `r${id}`, name: `Room ${id}`, kind: 'topic', visibility: 'public', topic: null, member_count: 2, last_seq: 10, unread: 0, last_read_seq: 10, notify_level: null, ...extra });
const msg = (id, seq, author = bob, extra = {}) => ({ id, room: 7, seq, author, body: `hello ${id}`, created_at: '2026-03-24T09:30:00.123Z', edited_at: null, deleted: false, reply_to: null, reactions: [], mentions: [], nonce: null, ...extra });
const ready = (rooms = [room(7)], extra = {}) => ({ op: 'ready', user: alice, rooms, notifications_unread: 2, ...extra });
const ev = (type, fields) => ({ op: 'event', type, ...fields });

function readyState() { return apply(initialState(), ready()); }

test('ready sets user, rooms, seqs and counts', () => {
  const s = readyState();
  assert.equal(s.me.id, 1);
  assert.equal(s.status, 'online');
  assert.equal(s.seqs[7], 10);
  assert.equal(s.notificationsUnread, 2);
  assert.deepEqual(sinceMap(s), { 7: 10 });
});

test('message.created appends, counts unread and mentions, and advances the seq', () => {
  let s = readyState();
  s = apply(s, ev('message.created', { room: 7, seq: 11, message: msg(100, 11, bob, { mentions: [1] }) }));
  assert.deepEqual(s.messages[7].ids, [100]);
  assert.equal(s.rooms[7].unread, 1);
  assert.equal(s.rooms[7].mentions_unread, 1);
  assert.equal(s.seqs[7], 11);
  // The same event again (a replay) changes nothing visible.
  const again = apply(s, ev('message.created', { room: 7, seq: 11, message: msg(100, 11, bob, { mentions: [1] }) }));
  assert.equal(again.rooms[7].unread, 1);
  assert.deepEqual(again.messages[7].ids, [100]);
});

test('own messages are not unread and clear the matching pending entry', () => {
  let s = readyState();
  s = apply(s, { op: 'local.queue', entry: { nonce: 'n1', room: 7, body: 'hi', created_at: '2026-03-24T09:30:00Z' } });
  assert.equal(s.outbox.length, 1);
  s = apply(s, ev('message.created', { room: 7, seq: 11, message: msg(101, 11, alice, { nonce: 'n1' }) }));
  assert.equal(s.outbox.length, 0);
  assert.equal(s.rooms[7].unread, 0);
});

test('gaps are detected outside replays only', () => {
  const s = readyState();
  assert.equal(gapSince(s, ev('message.created', { room: 7, seq: 11, message: msg(1, 11) })), null);
  assert.equal(gapSince(s, ev('message.created', { room: 7, seq: 13, message: msg(1, 13) })), 10);
  const replaying = apply(s, { op: 'local.replaying', room: 7, kind: 'gap' });
  assert.equal(gapSince(replaying, ev('message.created', { room: 7, seq: 13, message: msg(1, 13) })), null);
  const synced = apply(replaying, ev('room.synced', { room: 7, seq: 13 }));
  assert.equal(synced.replaying[7], undefined);
  assert.equal(synced.seqs[7], 13);
  assert.equal(gapSince(s, ev('typing', { room: 7, user: 2 })), null);
});

test('reconnect keeps our seqs so hello sends since, and marks the replay', () => {
  let s = readyState();
  s = apply(s, ev('message.created', { room: 7, seq: 11, message: msg(100, 11) }));
  s = apply(s, { op: 'local.status', status: 'offline' });
  s = apply(s, ready([room(7, { last_seq: 14, unread: 3 })]));
  assert.equal(s.seqs[7], 11);
  assert.equal(s.replaying[7], 'hello');
  assert.deepEqual(s.messages[7].ids, [100]);
  // Replayed messages were already counted by ready's `unread`.
  s = apply(s, ev('message.created', { room: 7, seq: 12, message: msg(101, 12) }));
  assert.equal(s.rooms[7].unread, 3);
  s = apply(s, ev('room.synced', { room: 7, seq: 14 }));
  assert.equal(s.seqs[7], 14);
});

test('reset drops the room history so it is reloaded', () => {
  let s = readyState();
  s = apply(s, { op: 'local.history', room: 7, messages: [msg(1, 5), msg(2, 6)], direction: 'latest', limit: 50 });
  s = apply(s, ev('room.synced', { room: 7, seq: 2000, reset: true }));
  assert.equal(s.messages[7].loaded, false);
  assert.equal(s.seqs[7], 2000);
});

test('reactions: counts from events, my own from events whose user is me', () => {
  let s = readyState();
  s = apply(s, { op: 'local.history', room: 7, messages: [msg(1, 5)], direction: 'latest', limit: 50 });
  s = apply(s, ev('reaction.added', { room: 7, seq: 11, message: 1, emoji: '👍', user: 2, count: 1 }));
  assert.deepEqual(s.messages[7].byId[1].reactions, [{ emoji: '👍', count: 1, me: false }]);
  s = apply(s, ev('reaction.added', { room: 7, seq: 12, message: 1, emoji: '👍', user: 1, count: 2 }));
  assert.deepEqual(s.messages[7].byId[1].reactions, [{ emoji: '👍', count: 2, me: true }]);
  // A live message.updated says me:false for everyone: keep ours.
  s = apply(s, ev('message.updated', { room: 7, seq: 13, message: msg(1, 5, bob, { body: 'edited', edited_at: '2026-03-24T10:00:00Z', reactions: [{ emoji: '👍', count: 2, me: false }] }) }));
  assert.equal(s.messages[7].byId[1].body, 'edited');
  assert.equal(s.messages[7].byId[1].reactions[0].me, true);
  s = apply(s, ev('reaction.removed', { room: 7, seq: 14, message: 1, emoji: '👍', user: 1, count: 1 }));
  assert.deepEqual(s.messages[7].byId[1].reactions, [{ emoji: '👍', count: 1, me: false }]);
  s = apply(s, ev('reaction.removed', { room: 7, seq: 15, message: 1, emoji: '👍', user: 2, count: 0 }));
  assert.deepEqual(s.messages[7].byId[1].reactions, []);
});

test('history before a page marks completeness and keeps seq order', () => {
  let s = readyState();
  s = apply(s, { op: 'local.history', room: 7, messages: [msg(3, 8), msg(4, 9)], direction: 'latest', limit: 2 });
  assert.equal(s.messages[7].complete, false);
  s = apply(s, { op: 'local.history', room: 7, messages: [msg(1, 2)], direction: 'before', limit: 2 });
  assert.deepEqual(s.messages[7].ids, [1, 3, 4]);
  assert.equal(s.messages[7].complete, true);
});

test('read moves the marker forward only and clears counts', () => {
  let s = apply(initialState(), ready([room(7, { unread: 4, mentions_unread: 1, last_read_seq: 6 })]));
  s = apply(s, { op: 'local.read', room: 7, seq: 10 });
  assert.equal(s.rooms[7].unread, 0);
  assert.equal(s.rooms[7].mentions_unread, 0);
  s = apply(s, { op: 'local.read', room: 7, seq: 3 });
  assert.equal(s.rooms[7].last_read_seq, 10);
});

test('typing expires, presence and friends update', () => {
  let s = readyState();
  s = apply(s, ev('typing', { room: 7, user: 2 }), 1000);
  assert.ok(s.typing[7][2] > 1000);
  s = apply(s, { op: 'local.typingExpire' }, 100000);
  assert.deepEqual(s.typing, {});
  s = apply(s, ev('presence', { user: 2, status: 'online' }));
  assert.equal(s.presence[2], 'online');
  // Events may carry the whole User instead of its id.
  s = apply(s, ev('presence', { user: bob, status: 'offline' }));
  assert.equal(s.presence[2], 'offline');
  assert.equal(s.users[2].display_name, 'Bob');
  s = apply(s, ev('typing', { room: 7, user: bob }), 5000);
  assert.ok(s.typing[7][2] > 5000);
  s = apply(s, ev('typing', { room: 7, user: alice }), 5000);
  assert.equal(s.typing[7][1], undefined);
  s = apply(s, ev('friend.request', { user: bob }));
  assert.equal(s.friends.incoming.length, 1);
  s = apply(s, ev('friend.accepted', { user: bob }));
  assert.deepEqual(s.friends.incoming, []);
  assert.equal(s.friends.friends[0].id, 2);
});

test('notifications arrive once and are marked read', () => {
  let s = readyState();
  const n = { id: 9, reason: 'friend', room: 7, message: msg(1, 11), created_at: '2026-03-24T09:30:00Z', read: false };
  s = apply(s, ev('notification', { notification: n }));
  s = apply(s, ev('notification', { notification: n }));
  assert.equal(s.notifications.length, 1);
  assert.equal(s.notificationsUnread, 3);
  s = apply(s, { op: 'local.notificationsRead', ids: [9] });
  assert.equal(s.notificationsUnread, 2);
  s = apply(s, { op: 'local.notificationsRead', all: true });
  assert.equal(s.notificationsUnread, 0);
});

test('rooms come and go; the outbox survives failures and retries', () => {
  let s = readyState();
  s = apply(s, ev('room.added', { room: { ...room(8, { last_seq: 0 }), kind: 'dm', peers: [bob] } }));
  assert.equal(s.rooms[8].unread, 0);
  assert.equal(s.users[2].username, 'bob');
  s = apply(s, { op: 'local.open', room: 8 });
  s = apply(s, ev('room.removed', { room: { id: 8 } }));
  assert.equal(s.rooms[8], undefined);
  assert.equal(s.activeRoom, null);
  s = apply(s, { op: 'local.queue', entry: { nonce: 'a', room: 7, body: 'x' } });
  s = apply(s, { op: 'local.sending', nonce: 'a' });
  assert.equal(s.outbox[0].status, 'sending');
  s = apply(s, { op: 'local.requeue' });
  assert.equal(s.outbox[0].status, 'queued');
  s = apply(s, { op: 'local.failed', nonce: 'a', error: { code: 'too_large' } });
  assert.equal(s.outbox[0].status, 'failed');
});

test('unknown frames leave the state untouched', () => {
  const s = readyState();
  assert.equal(apply(s, { op: 'event', type: 'something.new' }), s);
  assert.equal(apply(s, { op: 'pong' }), s);
  assert.equal(apply(s, null), s);
});
