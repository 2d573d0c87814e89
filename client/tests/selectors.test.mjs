// Timeline rows (days, grouping, new-messages line, pending) and room naming.
import test from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState } from '../state.js';
import { timeline, roomTitle, groupedRooms, typingUsers, lastOwnMessage } from '../selectors.js';

const alice = { id: 1, username: 'alice', display_name: 'Alice' };
const bob = { id: 2, username: 'bob', display_name: 'Bob' };
const m = (id, seq, author, at, extra = {}) => ({ id, room: 7, seq, author, body: `b${id}`, created_at: at, edited_at: null, deleted: false, reply_to: null, reactions: [], mentions: [], nonce: null, ...extra });

function state(messages) {
  let s = apply(initialState(), { op: 'ready', user: alice, rooms: [{ id: 7, name: 'Général', kind: 'topic', last_seq: 20, last_read_seq: 2, unread: 2 }], notifications_unread: 0 });
  return apply(s, { op: 'local.history', room: 7, messages, direction: 'latest', limit: 50 });
}

test('day separators, grouping and the new-messages line', () => {
  const s = state([
    m(1, 1, bob, '2026-03-23T09:00:00.000Z'),
    m(2, 2, bob, '2026-03-24T09:00:00.000Z'),
    m(3, 3, bob, '2026-03-24T09:01:00.000Z'),
    m(4, 4, bob, '2026-03-24T09:02:00.000Z'),
    m(5, 5, alice, '2026-03-24T09:03:00.000Z'),
    m(6, 6, alice, '2026-03-24T09:30:00.000Z'),
  ]);
  const rows = timeline(s, 7, 2);
  assert.deepEqual(rows.map((r) => r.kind), ['day', 'message', 'day', 'message', 'new', 'message', 'message', 'message', 'message']);
  const byId = Object.fromEntries(rows.filter((r) => r.message).map((r) => [r.message.id, r.grouped]));
  assert.equal(byId[2], false);
  assert.equal(byId[3], false, 'the new-messages line breaks a group');
  assert.equal(byId[4], true);
  assert.equal(byId[5], false, 'another author');
  assert.equal(byId[6], false, 'too long after');
});

test('replies are never grouped and pending messages follow', () => {
  let s = state([m(1, 1, alice, '2026-03-24T09:00:00.000Z'), m(2, 2, alice, '2026-03-24T09:00:10.000Z', { reply_to: 1 })]);
  s = apply(s, { op: 'local.queue', entry: { nonce: 'n', room: 7, body: 'later', created_at: '2026-03-24T09:00:20.000Z' } });
  const rows = timeline(s, 7, null);
  assert.deepEqual(rows.map((r) => r.kind), ['day', 'message', 'message', 'pending']);
  assert.equal(rows[2].grouped, false);
  assert.equal(rows[3].grouped, true);
  assert.equal(lastOwnMessage(s, 7).id, 2);
});

test('DMs are named after the other people; rooms are grouped by kind', () => {
  let s = state([]);
  s = apply(s, { op: 'local.room', room: { id: 9, kind: 'dm', name: 'dm', peers: [alice, bob], last_seq: 3 } });
  assert.equal(roomTitle(s.rooms[9], s), 'Bob');
  const g = groupedRooms(s);
  assert.deepEqual(g.dm.map((r) => r.id), [9]);
  assert.deepEqual(g.topic.map((r) => r.id), [7]);
});

test('typing names exclude expired entries', () => {
  let s = state([]);
  s = apply(s, { op: 'local.users', users: [bob] });
  s = apply(s, { op: 'event', type: 'typing', room: 7, user: 2 }, 1000);
  assert.deepEqual(typingUsers(s, 7, 2000), ['Bob']);
  assert.deepEqual(typingUsers(s, 7, 60000), []);
});
