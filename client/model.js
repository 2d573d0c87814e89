// Record-level operations on the client state shared by the reducer's event
// and local-action halves: immutable updates of users, message logs, rooms.

import { timeMs } from './moderation.js';

/** Events name a user by id or by a whole User object: accept both, remember objects. */
export function userRef(state, user) {
  if (user && typeof user === 'object') return [withUsers(state, [user]), user.id];
  return [state, user];
}

export function emptyLog() { return { byId: {}, ids: [], loaded: false, complete: false }; }

export function withUsers(state, users) {
  const list = users.filter(Boolean);
  if (!list.length) return state;
  let next = null;
  for (const u of list) {
    const prev = state.users[u.id];
    // Keep the old object when nothing changed: views compare users by identity.
    if (prev && Object.keys(u).every((k) => prev[k] === u[k])) continue;
    if (!next) next = { ...state.users };
    next[u.id] = { ...prev, ...u };
  }
  return next ? { ...state, users: next } : state;
}

/** Insert or replace messages, keeping `ids` sorted by seq. */
export function upsertMessages(log, messages, { trustMe = true } = {}) {
  const byId = { ...log.byId };
  let ids = log.ids;
  let appendOnly = true;
  for (const m of messages) {
    const prev = byId[m.id];
    let msg = m;
    if (prev && !trustMe) {
      // Live broadcasts encode `me: false` for everyone: keep what we knew.
      const mine = new Set((prev.reactions || []).filter((r) => r.me).map((r) => r.emoji));
      msg = { ...m, reactions: (m.reactions || []).map((r) => ({ ...r, me: mine.has(r.emoji) })) };
      // Likewise `my_vote` on a question: a broadcast says false to everyone.
      if (m.question && prev.question) msg.question = { ...m.question, my_vote: !!prev.question.my_vote };
      // And a poll's: null in broadcasts, so the last known choice stands.
      if (m.poll && m.poll.my_vote == null && prev.poll) msg.poll = { ...m.poll, my_vote: prev.poll.my_vote ?? null };
    }
    byId[m.id] = msg;
    if (!prev) {
      if (ids === log.ids) ids = ids.slice();
      const lastSeq = ids.length ? byId[ids[ids.length - 1]].seq : -Infinity;
      if (m.seq < lastSeq) appendOnly = false;
      ids.push(m.id);
    }
  }
  if (!appendOnly) ids.sort((a, b) => byId[a].seq - byId[b].seq);
  return { ...log, byId, ids };
}

export function setLog(state, room, log) {
  return { ...state, messages: { ...state.messages, [room]: log } };
}

export function setRoom(state, id, patch) {
  const room = state.rooms[id];
  if (!room) return state;
  return { ...state, rooms: { ...state.rooms, [id]: { ...room, ...patch } } };
}

export function bumpSeq(state, room, seq) {
  if (seq == null || (state.seqs[room] != null && state.seqs[room] >= seq)) return state;
  const rooms = state.rooms[room] && seq > (state.rooms[room].last_seq || 0)
    ? { ...state.rooms, [room]: { ...state.rooms[room], last_seq: seq } } : state.rooms;
  return { ...state, rooms, seqs: { ...state.seqs, [room]: seq } };
}

export function stopTyping(state, room, user) {
  const t = state.typing[room];
  if (!t || !(user in t)) return state;
  const rest = { ...t };
  delete rest[user];
  return { ...state, typing: { ...state.typing, [room]: rest } };
}

/** My own message: remember when, for the slow-mode countdown (a replayed old one changes nothing). */
export function notePost(state, room, message, now) {
  const at = Math.min(timeMs(message.created_at) ?? now, now);
  if (at <= (state.lastPost[room] || 0)) return state;
  return { ...state, lastPost: { ...state.lastPost, [room]: at } };
}

export function dropOutbox(state, nonce) {
  if (!nonce || !state.outbox.some((e) => e.nonce === nonce)) return state;
  return { ...state, outbox: state.outbox.filter((e) => e.nonce !== nonce) };
}

export function normaliseRoom(room, prev) {
  return {
    unread: 0, last_read_seq: 0, mentions_unread: 0, notify_level: null,
    ...prev, ...room,
  };
}

export function roomAdded(state, room) {
  let s = withUsers(state, room.peers || []);
  s = { ...s, rooms: { ...s.rooms, [room.id]: normaliseRoom(room, s.rooms[room.id]) } };
  if (s.seqs[room.id] == null) s = { ...s, seqs: { ...s.seqs, [room.id]: room.last_seq || 0 } };
  return s;
}

export function roomRemoved(state, room) {
  const id = typeof room === 'object' ? room.id : room;
  const drop = (obj) => { const o = { ...obj }; delete o[id]; return o; };
  return {
    ...state,
    rooms: drop(state.rooms), seqs: drop(state.seqs), messages: drop(state.messages),
    replaying: drop(state.replaying), typing: drop(state.typing),
    memberInfo: drop(state.memberInfo), mutes: drop(state.mutes), slow: drop(state.slow), lastPost: drop(state.lastPost),
    activeRoom: state.activeRoom === id ? null : state.activeRoom,
  };
}
