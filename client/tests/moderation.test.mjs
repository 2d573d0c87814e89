// Room settings, removals, pins, mutes and slow mode in the reducer, and what
// the interface derives from them (who moderates, whether the composer is open).
import test from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState, gapSince } from '../state.js';
import {
  moderates, assignsRoles, readOnlyReason, mutedUntil, slowUntil, pinnedIds, creatableKinds,
} from '../moderation.js';

const alice = { id: 1, username: 'alice', display_name: 'Alice', role: 'student', region: null };
const bob = { id: 2, username: 'bob', display_name: 'Bob', role: 'student', region: null };
const room = (id, extra = {}) => ({
  id, slug: `r${id}`, name: `Room ${id}`, kind: 'topic', visibility: 'public', topic: null, member_count: 2,
  last_seq: 10, unread: 3, last_read_seq: 7, notify_level: 'all', posting: 'everyone', slow_mode: 0,
  guests_allowed: false, archived: false, pinned: [], ...extra,
});
const msg = (id, seq, extra = {}) => ({
  id, room: 7, seq, author: bob, body: `hello ${id}`, created_at: '2026-03-24T09:30:00.000Z', edited_at: null,
  deleted: false, reply_to: null, reactions: [], mentions: [], nonce: null, pinned: false, ...extra,
});
const ev = (type, fields) => ({ op: 'event', type, ...fields });
const T0 = Date.parse('2026-03-24T09:30:00.000Z');

function ready(user = alice, rooms = [room(7)]) {
  return apply(initialState(), { op: 'ready', user, rooms, notifications_unread: 0 });
}
const members = (list) => ({ op: 'local.members', room: 7, members: list });
const member = (u, room_role, muted_until = null) => ({ ...u, online: true, room_role, muted_until });

test('room.updated changes the settings everyone sees and keeps my own counters', () => {
  let s = ready();
  s = apply(s, ev('room.updated', {
    room: room(7, { name: 'Annonces', topic: 'Infos', posting: 'moderators', slow_mode: 30, last_seq: 3, unread: 0, notify_level: null }),
    seq: 11,
  }));
  const r = s.rooms[7];
  assert.equal(r.name, 'Annonces');
  assert.equal(r.topic, 'Infos');
  assert.equal(r.posting, 'moderators');
  assert.equal(r.slow_mode, 30);
  assert.equal(r.unread, 3, 'a broadcast Room does not carry my unread count');
  assert.equal(r.notify_level, 'all');
  assert.equal(r.last_seq, 11);
  assert.equal(s.seqs[7], 11);
  // Replayed again: nothing changes.
  const again = apply(s, ev('room.updated', { room: room(7, { name: 'Annonces', topic: 'Infos', posting: 'moderators', slow_mode: 30 }), seq: 11 }));
  assert.deepEqual(again.rooms[7], s.rooms[7]);
  assert.equal(again.seqs[7], 11);
});

test('room.updated for a room I am not in changes nothing', () => {
  const s = ready();
  const next = apply(s, ev('room.updated', { room: room(99, { name: 'Ailleurs' }), seq: 4 }));
  assert.equal(next.rooms[99], undefined);
});

test('an announcement room is read-only for members, open to its moderators; archived is read-only for all', () => {
  let s = ready();
  assert.equal(readOnlyReason(s, 7), null);
  s = apply(s, ev('room.updated', { room: room(7, { posting: 'moderators' }), seq: 11 }));
  assert.equal(readOnlyReason(s, 7), 'announcement');
  s = apply(s, members([member(alice, 'moderator'), member(bob, 'member')]));
  assert.equal(moderates(s, 7), true);
  assert.equal(readOnlyReason(s, 7), null);
  s = apply(s, ev('room.updated', { room: room(7, { posting: 'moderators', archived: true }), seq: 12 }));
  assert.equal(readOnlyReason(s, 7), 'archived');
});

test('who moderates: room owners and moderators, mentors and admins in their rooms, nobody in DMs', () => {
  let s = ready();
  assert.equal(moderates(s, 7), false);
  s = apply(s, members([member(alice, 'owner'), member(bob, 'member')]));
  assert.equal(moderates(s, 7), true);
  assert.equal(assignsRoles(s, 7), true);
  s = apply(s, members([member(alice, 'moderator'), member(bob, 'owner')]));
  assert.equal(moderates(s, 7), true);
  assert.equal(assignsRoles(s, 7), false, 'a moderator does not hand out roles');
  const mentor = ready({ ...alice, role: 'mentor' }, [room(7), room(8, { kind: 'dm' })]);
  assert.equal(moderates(mentor, 7), true);
  assert.equal(moderates(mentor, 8), false);
  assert.equal(assignsRoles(ready({ ...alice, role: 'admin' }), 7), true);
  assert.deepEqual(creatableKinds(alice), ['topic']);
  assert.deepEqual(creatableKinds({ ...alice, role: 'mentor' }), ['cohort', 'region', 'topic']);
});

test('member.left with `by` drops the member, their role and mute, and counts them out', () => {
  let s = ready();
  s = apply(s, members([member(alice, 'owner'), member(bob, 'member', '2026-03-24T10:00:00.000Z')]));
  assert.equal(s.memberInfo[7][2].muted_until, Date.parse('2026-03-24T10:00:00.000Z'));
  s = apply(s, ev('member.left', { room: 7, seq: 11, user: bob, by: alice, reason: 'spam' }));
  assert.deepEqual(s.members[7], [1]);
  assert.equal(s.memberInfo[7][2], undefined);
  assert.equal(s.rooms[7].member_count, 1);
  assert.equal(s.seqs[7], 11);
  // Removed members may come back: joining again lists them without the old mute.
  s = apply(s, ev('member.joined', { room: 7, seq: 12, user: bob }));
  assert.deepEqual(s.members[7], [1, 2]);
  assert.equal(s.memberInfo[7][2], undefined);
});

test('pins follow the messages: pinned in order, unpinned, and gone with a moderator delete', () => {
  let s = ready();
  s = apply(s, { op: 'local.history', room: 7, messages: [msg(1, 5), msg(2, 6), msg(3, 8)], direction: 'latest', limit: 50 });
  s = apply(s, ev('message.updated', { room: 7, seq: 11, message: msg(2, 6, { pinned: true }) }));
  s = apply(s, ev('message.updated', { room: 7, seq: 12, message: msg(1, 5, { pinned: true }) }));
  assert.deepEqual(pinnedIds(s, 7), [2, 1], 'oldest pin first');
  assert.equal(s.messages[7].byId[2].pinned, true);
  s = apply(s, ev('message.updated', { room: 7, seq: 13, message: msg(2, 6, { pinned: false }) }));
  assert.deepEqual(pinnedIds(s, 7), [1]);
  s = apply(s, ev('message.updated', {
    room: 7, seq: 14, message: msg(1, 5, { pinned: false, deleted: true, body: '', deleted_by: 'moderator' }),
  }));
  assert.deepEqual(pinnedIds(s, 7), []);
  assert.equal(s.messages[7].byId[1].deleted_by, 'moderator');
  // A room's own list, when the server sends it, is the truth.
  s = apply(s, ev('room.updated', { room: room(7, { pinned: [3] }), seq: 15 }));
  assert.deepEqual(pinnedIds(s, 7), [3]);
});

test('a mute comes from a `muted` answer or the members list, and ends on time', () => {
  let s = ready();
  const until = '2026-03-24T09:40:00.000Z';
  s = apply(s, { op: 'local.muted', room: 7, until }, T0);
  assert.equal(mutedUntil(s, 7, T0), Date.parse(until));
  assert.equal(mutedUntil(s, 7, Date.parse(until) + 1), 0);
  // The list says I am no longer muted (a moderator lifted it).
  s = apply(s, members([member(alice, 'member', null), member(bob, 'owner')]), T0);
  assert.equal(mutedUntil(s, 7, T0), 0);
  s = apply(s, members([member(alice, 'member', until), member(bob, 'owner')]), T0);
  assert.equal(mutedUntil(s, 7, T0), Date.parse(until));
  // A reconnect whose rooms say nothing about mutes keeps it; one that says null clears it.
  s = apply(s, { op: 'ready', user: alice, rooms: [room(7)], notifications_unread: 0 });
  assert.equal(mutedUntil(s, 7, T0), Date.parse(until));
  s = apply(s, { op: 'ready', user: alice, rooms: [room(7, { muted_until: null })], notifications_unread: 0 });
  assert.equal(mutedUntil(s, 7, T0), 0);
  // Leaving the room forgets it.
  s = apply(s, { op: 'local.muted', room: 7, until }, T0);
  s = apply(s, ev('room.removed', { room: { id: 7 } }));
  assert.equal(mutedUntil(s, 7, T0), 0);
});

test('slow mode counts down from my last message, or from a rate_limited answer', () => {
  let s = ready(alice, [room(7, { slow_mode: 30 })]);
  assert.equal(slowUntil(s, 7, T0), 0);
  s = apply(s, { op: 'local.acked', nonce: 'n', message: msg(10, 11, { author: alice, nonce: 'n' }) }, T0 + 500);
  assert.equal(slowUntil(s, 7, T0 + 1000), T0 + 30_000);
  assert.equal(slowUntil(s, 7, T0 + 30_000), 0);
  // An old message of mine arriving in a replay does not restart it.
  s = apply(s, ev('message.created', { room: 7, seq: 12, message: msg(9, 9, { author: alice, created_at: '2026-03-24T09:00:00.000Z' }) }), T0 + 40_000);
  assert.equal(slowUntil(s, 7, T0 + 40_000), 0);
  // The server says wait: the composer waits.
  s = apply(s, { op: 'local.slow', room: 7, until: T0 + 50_000 }, T0 + 40_000);
  assert.equal(slowUntil(s, 7, T0 + 41_000), T0 + 50_000);
  // Moderators are not slowed by the room's setting.
  s = apply(s, members([member(alice, 'moderator')]));
  s = apply(s, { op: 'local.slow', room: 7, until: null }, T0 + 40_000);
  assert.equal(slowUntil(s, 7, T0 + 1000), 0);
  // Turning slow mode off ends the wait at once.
  let off = ready(alice, [room(7, { slow_mode: 30 })]);
  off = apply(off, { op: 'local.acked', nonce: 'n', message: msg(10, 11, { author: alice, nonce: 'n' }) }, T0);
  off = apply(off, ev('room.updated', { room: room(7, { slow_mode: 0 }), seq: 12 }));
  assert.equal(slowUntil(off, 7, T0 + 1000), 0);
});

test('room.muted tells my own connections at once, and when the mute is lifted', () => {
  let s = ready();
  const until = '2026-03-24T09:45:00.000Z';
  s = apply(s, ev('room.muted', { room: 7, until }), T0);
  assert.equal(mutedUntil(s, 7, T0), Date.parse(until));
  s = apply(s, ev('room.muted', { room: 7, until: null }), T0);
  assert.equal(mutedUntil(s, 7, T0), 0);
});

test('a room.updated frame names its room by the Room itself: gaps are found all the same', () => {
  const s = ready();
  assert.equal(gapSince(s, ev('room.updated', { room: room(7), seq: 11 })), null);
  assert.equal(gapSince(s, ev('room.updated', { room: room(7), seq: 14 })), 10);
});

test('pasted usernames: any separator, @ optional, each name once', async () => {
  const { parseUsernames } = await import('../views/members.js');
  assert.deepEqual(parseUsernames(' alice, bob\n@charlie;dora  alice\n\n'), ['alice', 'bob', 'charlie', 'dora']);
  assert.deepEqual(parseUsernames('  \n '), []);
});

test('every audit action and room role has its words in both languages', async () => {
  const { STRINGS } = await import('../strings.js');
  const { AUDIT_ACTIONS } = await import('../views/audit.js');
  const keys = [...AUDIT_ACTIONS.map((a) => `audit.${a}`), 'roomRole.owner', 'roomRole.moderator', 'roomRole.member',
    'role.guest', 'reason.report', 'reason.room_mention', 'error.muted', 'admin.tab.people', 'admin.tab.rooms', 'admin.tab.audit'];
  for (const lang of ['fr', 'en']) for (const k of keys) assert.ok(k in STRINGS[lang], `${lang}: ${k}`);
});
