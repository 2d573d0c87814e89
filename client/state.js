// The client's whole model and the one pure function that advances it:
// apply(state, frame, now) → new state. Server frames (ready, events, replies)
// and local actions ({op: 'local.*'}) both go through it, so the model can be
// tested in Node without a browser, and a replayed event applied twice leaves
// the same state as once (events carry the state after the change).

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
    notifications: [],
    notificationsUnread: 0,
    friends: { friends: [], incoming: [], outgoing: [] },
    outbox: [],             // {nonce, room, body, reply_to, created_at, status, error?}
  };
}

export const TYPING_MS = 6000;

const SEQUENCED = new Set([
  'message.created', 'message.updated', 'reaction.added', 'reaction.removed',
  'member.joined', 'member.left',
]);

export function isSequenced(frame) {
  return frame && frame.op === 'event' && SEQUENCED.has(frame.type);
}

/**
 * The `since` to sync from when `frame` reveals missed events, else null.
 * A live stream never skips seqs; replays may (folded events), so we only
 * look for gaps outside a replay.
 */
export function gapSince(state, frame) {
  if (!isSequenced(frame)) return null;
  const room = frame.room;
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

// ---------------------------------------------------------------- helpers

/** Events name a user by id or by a whole User object: accept both, remember objects. */
function userRef(state, user) {
  if (user && typeof user === 'object') return [withUsers(state, [user]), user.id];
  return [state, user];
}

function emptyLog() { return { byId: {}, ids: [], loaded: false, complete: false }; }

function withUsers(state, users) {
  const list = users.filter(Boolean);
  if (!list.length) return state;
  const next = { ...state.users };
  for (const u of list) next[u.id] = { ...next[u.id], ...u };
  return { ...state, users: next };
}

/** Insert or replace messages, keeping `ids` sorted by seq. */
function upsertMessages(log, messages, { trustMe = true } = {}) {
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

function setLog(state, room, log) {
  return { ...state, messages: { ...state.messages, [room]: log } };
}

function setRoom(state, id, patch) {
  const room = state.rooms[id];
  if (!room) return state;
  return { ...state, rooms: { ...state.rooms, [id]: { ...room, ...patch } } };
}

function bumpSeq(state, room, seq) {
  if (seq == null || (state.seqs[room] != null && state.seqs[room] >= seq)) return state;
  const rooms = state.rooms[room] && seq > (state.rooms[room].last_seq || 0)
    ? { ...state.rooms, [room]: { ...state.rooms[room], last_seq: seq } } : state.rooms;
  return { ...state, rooms, seqs: { ...state.seqs, [room]: seq } };
}

function stopTyping(state, room, user) {
  const t = state.typing[room];
  if (!t || !(user in t)) return state;
  const rest = { ...t };
  delete rest[user];
  return { ...state, typing: { ...state.typing, [room]: rest } };
}

function dropOutbox(state, nonce) {
  if (!nonce || !state.outbox.some((e) => e.nonce === nonce)) return state;
  return { ...state, outbox: state.outbox.filter((e) => e.nonce !== nonce) };
}

function normaliseRoom(room, prev) {
  return {
    unread: 0, last_read_seq: 0, mentions_unread: 0, notify_level: null,
    ...prev, ...room,
  };
}

// ----------------------------------------------------------------- events

function messageCreated(state, { room, seq, message }) {
  const known = state.messages[room] && state.messages[room].byId[message.id];
  const replay = state.replaying[room];
  let s = withUsers(state, [message.author]);
  s = setLog(s, room, upsertMessages(s.messages[room] || emptyLog(), [message], { trustMe: !!replay }));
  s = stopTyping(s, room, message.author.id);
  if (s.me && message.author.id === s.me.id) s = dropOutbox(s, message.nonce);
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
  let s = withUsers(state, [message.author]);
  const log = s.messages[room] || emptyLog();
  s = setLog(s, room, upsertMessages(log, [message], { trustMe: !!s.replaying[room] }));
  return bumpSeq(s, room, seq);
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

function roomAdded(state, room) {
  let s = withUsers(state, room.peers || []);
  s = { ...s, rooms: { ...s.rooms, [room.id]: normaliseRoom(room, s.rooms[room.id]) } };
  if (s.seqs[room.id] == null) s = { ...s, seqs: { ...s.seqs, [room.id]: room.last_seq || 0 } };
  return s;
}

function roomRemoved(state, room) {
  const id = typeof room === 'object' ? room.id : room;
  const drop = (obj) => { const o = { ...obj }; delete o[id]; return o; };
  return {
    ...state,
    rooms: drop(state.rooms), seqs: drop(state.seqs), messages: drop(state.messages),
    replaying: drop(state.replaying), typing: drop(state.typing),
    activeRoom: state.activeRoom === id ? null : state.activeRoom,
  };
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
    case 'message.created': return messageCreated(state, f);
    case 'message.updated': return messageUpdated(state, f);
    case 'reaction.added': return reactionChanged(state, f, true);
    case 'reaction.removed': return reactionChanged(state, f, false);
    case 'member.joined': return memberChanged(state, f, +1);
    case 'member.left': return memberChanged(state, f, -1);
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
  return {
    ...s, me: f.user, status: 'online', rooms, seqs, replaying, messages, typing: {},
    notificationsUnread: f.notifications_unread || 0,
    activeRoom: state.activeRoom in rooms ? state.activeRoom : null,
  };
}

// ----------------------------------------------------------- local actions

function applyLocal(state, f, now) {
  switch (f.op) {
    case 'local.status': return { ...state, status: f.status };
    case 'local.me': return withUsers({ ...state, me: { ...state.me, ...f.user } }, [f.user]);
    case 'local.open': {
      const r = state.rooms[f.room];
      const markers = { ...state.markers, [f.room]: r ? r.last_read_seq || 0 : 0 };
      return { ...state, activeRoom: f.room, markers };
    }
    case 'local.marker': return { ...state, markers: { ...state.markers, [f.room]: f.seq } };
    case 'local.room': return roomAdded(state, f.room);
    case 'local.left': return roomRemoved(state, f.room);
    case 'local.replaying':
      return { ...state, replaying: { ...state.replaying, [f.room]: f.kind || 'gap' } };
    case 'local.history': {
      const log = state.messages[f.room] || emptyLog();
      let next = upsertMessages(log, f.messages, { trustMe: true });
      const short = f.messages.length < (f.limit || 50);
      if (f.direction === 'latest') next = { ...next, loaded: true, complete: short };
      if (f.direction === 'before' && short) next = { ...next, complete: true };
      const s = withUsers(state, f.messages.map((m) => m.author));
      return setLog(s, f.room, next);
    }
    case 'local.read': {
      const r = state.rooms[f.room];
      if (!r) return state;
      return setRoom(state, f.room, { last_read_seq: Math.max(r.last_read_seq || 0, f.seq), unread: 0, mentions_unread: 0 });
    }
    case 'local.queue': return { ...state, outbox: [...state.outbox, { status: 'queued', ...f.entry }] };
    case 'local.outbox': return { ...state, outbox: f.outbox.slice() };
    case 'local.sending':
    case 'local.failed':
      return {
        ...state,
        outbox: state.outbox.map((e) => (e.nonce === f.nonce
          ? { ...e, status: f.op === 'local.sending' ? 'sending' : 'failed', error: f.error || null } : e)),
      };
    case 'local.requeue': return { ...state, outbox: state.outbox.map((e) => (e.status === 'sending' ? { ...e, status: 'queued' } : e)) };
    case 'local.discard': return dropOutbox(state, f.nonce);
    case 'local.acked': {
      const m = f.message;
      let s = dropOutbox(state, f.nonce);
      s = withUsers(s, [m.author]);
      return setLog(s, m.room, upsertMessages(s.messages[m.room] || emptyLog(), [m]));
    }
    case 'local.message': {
      const m = f.message;
      return setLog(state, m.room, upsertMessages(state.messages[m.room] || emptyLog(), [m]));
    }
    case 'local.reactions': {
      const log = state.messages[f.room];
      const msg = log && log.byId[f.message];
      if (!msg) return state;
      return setLog(state, f.room, { ...log, byId: { ...log.byId, [f.message]: { ...msg, reactions: f.reactions } } });
    }
    case 'local.members': {
      const presence = { ...state.presence };
      for (const u of f.members) if ('online' in u) presence[u.id] = u.online ? 'online' : 'offline';
      const s = withUsers({ ...state, presence }, f.members);
      return { ...s, members: { ...s.members, [f.room]: f.members.map((u) => u.id) } };
    }
    case 'local.users': return withUsers(state, f.users);
    case 'local.typingExpire': {
      const typing = {};
      for (const [room, who] of Object.entries(state.typing)) {
        const alive = Object.fromEntries(Object.entries(who).filter(([, exp]) => exp > now));
        if (Object.keys(alive).length) typing[room] = alive;
      }
      return { ...state, typing };
    }
    case 'local.notifications':
      return {
        ...state,
        notifications: f.notifications,
        notificationsUnread: f.unread ?? f.notifications.filter((n) => !n.read).length,
      };
    case 'local.notificationsRead': {
      const ids = f.all ? null : new Set(f.ids);
      const notifications = state.notifications.map((n) => (!ids || ids.has(n.id) ? { ...n, read: true } : n));
      const newlyRead = state.notifications.filter((n) => !n.read && (!ids || ids.has(n.id))).length;
      return {
        ...state, notifications,
        notificationsUnread: f.all ? 0 : Math.max(0, state.notificationsUnread - newlyRead),
      };
    }
    case 'local.friends': {
      const s = withUsers(state, [...f.friends.friends, ...f.friends.incoming, ...f.friends.outgoing]);
      return { ...s, friends: f.friends };
    }
    case 'local.notifyLevel': return setRoom(state, f.room, { notify_level: f.level });
    default: return state;
  }
}

/** The reducer. `now` (ms) is passed in so that time is an input, not a side effect. */
export function apply(state, frame, now = 0) {
  if (!frame || typeof frame.op !== 'string') return state;
  if (frame.op === 'ready') return applyReady(state, frame);
  if (frame.op === 'event') return applyEvent(state, frame, now);
  if (frame.op.startsWith('local.')) return applyLocal(state, frame, now);
  return state;
}
