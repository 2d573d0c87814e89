// The client's whole model and the one pure function that advances it:
// apply(state, frame, now) → new state. Server frames (ready, events, replies)
// and local actions ({op: 'local.*'}) both go through it, so the model can be
// tested in Node without a browser, and a replayed event applied twice leaves
// the same state as once (events carry the state after the change).
// Record-level helpers are in model.js, the local actions in state-local.js.

import {
  userRef, emptyLog, withUsers, upsertMessages, setLog, setRoom, bumpSeq, stopTyping, dropOutbox,
  normaliseRoom, roomAdded, roomRemoved, notePost,
} from './model.js';
import { applyLocal } from './state-local.js';
import { timeMs } from './moderation.js';
import { SEQUENCED_TYPES } from './catalog.js';

export function initialState() {
  return {
    me: null,
    status: 'offline',      // offline | connecting | online
    rooms: {},              // id → Room + {unread, last_read_seq, notify_level, mentions_unread}
    seqs: {},               // id → highest seq applied: what `since` and gap checks use
    replaying: {},          // id → 'hello' | 'gap' while a replay we asked for runs
    messages: {},           // id → {byId, ids (ascending seq), loaded, complete}
    activeRoom: null,
    markers: {},            // id → last_read_seq when the room was opened (new-messages line)
    users: {},              // id → User, everyone we have met
    presence: {},           // user id → 'online' | 'offline'
    typing: {},             // room id → {user id: expiry ms}
    members: {},            // room id → [user ids] once fetched
    memberInfo: {},         // room id → {user id: {room_role, muted_until}} from the members list
    mutes: {},              // room id → when my mute there ends (ms)
    slow: {},               // room id → when a rate_limited answer lets me send again (ms)
    lastPost: {},           // room id → when I last posted there (ms), for the slow-mode countdown
    notifications: [],
    notificationsUnread: 0,
    friends: { friends: [], incoming: [], outgoing: [] },
    outbox: [],             // {nonce, room, body, reply_to, created_at, status, error?}
  };
}

export const TYPING_MS = 6000;

const SEQUENCED = new Set(SEQUENCED_TYPES);

export function isSequenced(frame) {
  return frame && frame.op === 'event' && SEQUENCED.has(frame.type);
}

/** The room id of an event: `room` is an id, except in `room.updated` where it is the Room. */
export function frameRoom(frame) {
  return frame.room && typeof frame.room === 'object' ? frame.room.id : frame.room;
}

/**
 * The `since` to sync from when `frame` reveals missed events, else null.
 * A live stream never skips seqs; replays may (folded events), so we only
 * look for gaps outside a replay.
 */
export function gapSince(state, frame) {
  if (!isSequenced(frame)) return null;
  const room = frameRoom(frame);
  if (state.replaying[room] || !(room in state.rooms)) return null;
  const seen = state.seqs[room];
  if (seen == null) return null;
  return frame.seq > seen + 1 ? seen : null;
}

/** `since` for hello: the last seq applied in every room we know. */
export function sinceMap(state) {
  const since = {};
  for (const id of Object.keys(state.rooms)) {
    if (state.seqs[id] != null) since[id] = state.seqs[id];
  }
  return since;
}

// ----------------------------------------------------------------- events

/** Keep `room.pinned` in step with a message's `pinned` flag (a deleted message is unpinned). */
function syncPin(state, room, message) {
  const r = state.rooms[room];
  if (!r || !('pinned' in message)) return state;
  const list = Array.isArray(r.pinned) ? r.pinned : [];
  const has = list.includes(message.id);
  const want = !!message.pinned && !message.deleted;
  if (want === has) return state;
  return setRoom(state, room, { pinned: want ? [...list, message.id] : list.filter((x) => x !== message.id) });
}

/**
 * A message's author as of the event: a live event carries the author as they are now,
 * but a replayed one carries them as they were then (a renamed user's old name), so a
 * replay only introduces users we did not know.
 */
function withAuthor(state, room, author) {
  if (state.replaying[room] && author && state.users[author.id]) return state;
  return withUsers(state, [author]);
}

/** `user.updated`: a new display name, avatar or profile, shown in place everywhere. */
function userUpdated(state, user) {
  if (!user || typeof user.id !== 'number') return state;
  const s = withUsers(state, [user]);
  return s.me && s.me.id === user.id ? { ...s, me: { ...s.me, ...user } } : s;
}

function messageCreated(state, { room, seq, message }, now) {
  const known = state.messages[room] && state.messages[room].byId[message.id];
  const replay = state.replaying[room];
  let s = withAuthor(state, room, message.author);
  s = setLog(s, room, upsertMessages(s.messages[room] || emptyLog(), [message], { trustMe: !!replay }));
  s = stopTyping(s, room, message.author.id);
  if (s.me && message.author.id === s.me.id) s = notePost(dropOutbox(s, message.nonce), room, message, now);
  const r = s.rooms[room];
  // `ready` already counted what a hello replay brings; count the rest once.
  if (r && !known && replay !== 'hello' && !message.deleted && s.me
      && message.author.id !== s.me.id && message.seq > (r.last_read_seq || 0)) {
    const mentioned = (message.mentions || []).includes(s.me.id);
    s = setRoom(s, room, {
      unread: (r.unread || 0) + 1,
      mentions_unread: (r.mentions_unread || 0) + (mentioned ? 1 : 0),
    });
  }
  return bumpSeq(s, room, seq);
}

function messageUpdated(state, { room, seq, message }) {
  let s = withAuthor(state, room, message.author);
  const log = s.messages[room] || emptyLog();
  s = setLog(s, room, upsertMessages(log, [message], { trustMe: !!s.replaying[room] }));
  s = syncPin(s, room, message);
  return bumpSeq(s, room, seq);
}

// Seq bookkeeping and per-viewer fields stay ours: a broadcast Room is the same for all.
const PER_VIEWER = ['last_seq', 'unread', 'last_read_seq', 'notify_level', 'mentions_unread', 'joined', 'room_role', 'muted_until'];

function sharedFields(room) {
  const patch = { ...room };
  for (const k of PER_VIEWER) delete patch[k];
  return patch;
}

/** New settings of a room (name, topic, posting, slow mode, archived, pins…) for everyone in it. */
function roomUpdated(state, f) {
  const next = f.room && typeof f.room === 'object' ? f.room : null;
  const id = frameRoom(f);
  let s = state;
  if (next && s.rooms[id]) {
    s = setRoom(s, id, sharedFields(next));
  }
  return bumpSeq(s, id, f.seq);
}

function reactionChanged(state, { room, seq, message, emoji, user, count }, added) {
  let s = state;
  const log = s.messages[room];
  const msg = log && log.byId[message];
  if (msg) {
    const mine = s.me && user === s.me.id;
    const list = (msg.reactions || []).slice();
    const i = list.findIndex((r) => r.emoji === emoji);
    if (count <= 0) {
      if (i >= 0) list.splice(i, 1);
    } else if (i >= 0) {
      list[i] = { ...list[i], count, me: mine ? added : list[i].me };
    } else {
      list.push({ emoji, count, me: mine ? added : false });
    }
    s = setLog(s, room, { ...log, byId: { ...log.byId, [message]: { ...msg, reactions: list } } });
  }
  return bumpSeq(s, room, seq);
}

function memberChanged(state, { room, seq, user }, delta) {
  let s = state;
  const r = s.rooms[room];
  if (r) s = setRoom(s, room, { member_count: Math.max(0, (r.member_count || 0) + delta) });
  let uid;
  [s, uid] = userRef(s, user);
  if (s.members[room]) {
    const ids = s.members[room].filter((x) => x !== uid);
    if (delta > 0) ids.push(uid);
    s = { ...s, members: { ...s.members, [room]: ids } };
  }
  const info = s.memberInfo[room];
  if (delta < 0 && info && uid in info) {
    // Removed or banned (`by` set) or gone by themself: their room role and mute go with them.
    const rest = { ...info };
    delete rest[uid];
    s = { ...s, memberInfo: { ...s.memberInfo, [room]: rest } };
  }
  return bumpSeq(s, room, seq);
}

function roomSynced(state, { room, seq, reset }) {
  const replaying = { ...state.replaying };
  delete replaying[room];
  let s = { ...state, replaying };
  if (reset) s = setLog(s, room, emptyLog()); // too much missed: the view reloads history
  if (reset) s = { ...s, seqs: { ...s.seqs, [room]: seq } };
  return bumpSeq(s, room, seq);
}

function notificationArrived(state, n) {
  if (state.notifications.some((x) => x.id === n.id)) return state;
  return {
    ...state,
    notifications: [n, ...state.notifications],
    notificationsUnread: state.notificationsUnread + (n.read ? 0 : 1),
  };
}

function friendEvent(state, type, user) {
  const f = state.friends;
  const without = (list) => list.filter((u) => u.id !== user.id);
  const s = withUsers(state, [user]);
  if (type === 'friend.request') {
    return { ...s, friends: { ...f, incoming: [...without(f.incoming), user] } };
  }
  return {
    ...s,
    friends: { friends: [...without(f.friends), user], incoming: without(f.incoming), outgoing: without(f.outgoing) },
  };
}

function applyEvent(state, f, now) {
  switch (f.type) {
    case 'message.created': return messageCreated(state, f, now);
    case 'message.updated': return messageUpdated(state, f);
    case 'reaction.added': return reactionChanged(state, f, true);
    case 'reaction.removed': return reactionChanged(state, f, false);
    case 'member.joined': return memberChanged(state, f, +1);
    case 'member.left': return memberChanged(state, f, -1);
    case 'room.updated': return roomUpdated(state, f);
    case 'room.muted': return applyLocal(state, { op: 'local.muted', room: f.room, until: f.until }, now);
    case 'room.synced': return roomSynced(state, f);
    case 'room.added': return roomAdded(state, f.room);
    case 'room.removed': return roomRemoved(state, f.room);
    case 'typing': {
      const [s, uid] = userRef(state, f.user);
      if (s.me && uid === s.me.id) return state;
      const t = { ...(s.typing[f.room] || {}), [uid]: now + TYPING_MS };
      return { ...s, typing: { ...s.typing, [f.room]: t } };
    }
    case 'presence': {
      const [s, uid] = userRef(state, f.user);
      return { ...s, presence: { ...s.presence, [uid]: f.status } };
    }
    case 'friend.request':
    case 'friend.accepted': return friendEvent(state, f.type, f.user);
    case 'notification': return notificationArrived(state, f.notification);
    case 'user.updated': return userUpdated(state, f.user);
    default: return state; // unknown events are additions we may ignore
  }
}

function applyReady(state, f) {
  const rooms = {};
  const seqs = {};
  const replaying = {};
  const messages = {};
  for (const r of f.rooms) {
    rooms[r.id] = normaliseRoom(r);
    const had = state.seqs[r.id];
    if (had != null && had <= (r.last_seq || 0)) {
      seqs[r.id] = had;
      if (had < (r.last_seq || 0)) replaying[r.id] = 'hello'; // the server replays from `since`
      if (state.messages[r.id]) messages[r.id] = state.messages[r.id];
    } else {
      seqs[r.id] = r.last_seq || 0;
    }
  }
  let s = withUsers(state, [f.user, ...f.rooms.flatMap((r) => r.peers || [])]);
  // A room may say how long I am muted there; a room that does not say keeps what we knew.
  const mutes = {};
  for (const r of f.rooms) {
    const end = 'muted_until' in r ? timeMs(r.muted_until) : state.mutes[r.id];
    if (end) mutes[r.id] = end;
  }
  return {
    ...s, me: f.user, status: 'online', rooms, seqs, replaying, messages, typing: {}, mutes,
    notificationsUnread: f.notifications_unread || 0,
    activeRoom: state.activeRoom in rooms ? state.activeRoom : null,
  };
}

/** The reducer. `now` (ms) is passed in so that time is an input, not a side effect. */
export function apply(state, frame, now = 0) {
  if (!frame || typeof frame.op !== 'string') return state;
  if (frame.op === 'ready') return applyReady(state, frame);
  if (frame.op === 'event') return applyEvent(state, frame, now);
  if (frame.op.startsWith('local.')) return applyLocal(state, frame, now);
  return state;
}
