// The local half of the reducer: actions the client itself dispatches
// ({op: 'local.*'}) — history pages, the outbox, read markers, lists fetched
// over HTTP. Pure, like the rest of state.js.

import { emptyLog, withUsers, upsertMessages, setLog, setRoom, dropOutbox, roomAdded, roomRemoved, notePost } from './model.js';
import { timeMs } from './moderation.js';

/** Set or clear (`until` null or past) a per-room deadline map such as `mutes` or `slow`. */
function deadline(state, key, room, until, now) {
  const end = timeMs(until);
  const next = { ...state[key] };
  if (end && end > now) next[room] = end;
  else delete next[room];
  return { ...state, [key]: next };
}

/** The members list: ids, and each one's room role and mute (mine becomes my own mute). */
function membersFetched(state, f, now) {
  const presence = { ...state.presence };
  for (const u of f.members) if ('online' in u) presence[u.id] = u.online ? 'online' : 'offline';
  let s = withUsers({ ...state, presence }, f.members.map(({ room_role: _r, muted_until: _m, online: _o, ...user }) => user));
  const info = {};
  for (const u of f.members) info[u.id] = { room_role: u.room_role || null, muted_until: timeMs(u.muted_until) };
  s = { ...s, members: { ...s.members, [f.room]: f.members.map((u) => u.id) }, memberInfo: { ...s.memberInfo, [f.room]: info } };
  const mine = s.me && f.members.find((u) => u.id === s.me.id);
  if (mine && 'muted_until' in mine) s = deadline(s, 'mutes', f.room, mine.muted_until, now);
  return s;
}

export function applyLocal(state, f, now) {
  switch (f.op) {
    case 'local.status':
      // Offline, what we knew of others' presence is stale: unknown until the
      // next connection says again (members list, presence events).
      return f.status === 'online' || state.status !== 'online'
        ? { ...state, status: f.status }
        : { ...state, status: f.status, presence: {} };
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
      let s = notePost(dropOutbox(state, f.nonce), m.room, m, now);
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
    case 'local.members': return membersFetched(state, f, now);
    case 'local.questions': {
      // The queue as listed by the server; live changes then come through the room's log.
      const listed = Object.fromEntries(f.questions.map((m) => [m.id, m]));
      return { ...state, questions: { ...(state.questions || {}), [f.room]: listed } };
    }
    case 'local.muted': return deadline(state, 'mutes', f.room, f.until, now);
    case 'local.slow': return deadline(state, 'slow', f.room, f.until, now);
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
