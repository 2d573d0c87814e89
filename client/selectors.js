// Pure read-side derivations of the state that views render from: room
// grouping and names, the message timeline (day separators, grouping, the
// new-messages line, pending sends) and who is typing.

export const GROUP_MS = 5 * 60 * 1000; // consecutive messages closer than this are grouped
export const KINDS = ['cohort', 'region', 'topic', 'dm'];

export function displayName(user) {
  if (!user) return '?';
  return user.display_name || user.username || '?';
}

/** A DM is named after the other people in it; other rooms by their name. */
export function roomTitle(room, state) {
  if (!room) return '';
  if (room.kind === 'dm') {
    const me = state.me && state.me.id;
    const peers = (room.peers || []).filter((p) => p.id !== me);
    if (peers.length) return peers.map((p) => displayName(state.users[p.id] || p)).join(', ');
  }
  return room.name || room.slug || '';
}

/** The single other person of a one-to-one DM (for its presence dot), else null. */
export function dmPeer(room, state) {
  if (!room || room.kind !== 'dm') return null;
  const me = state.me && state.me.id;
  const peers = (room.peers || []).filter((p) => p.id !== me);
  return peers.length === 1 ? (state.users[peers[0].id] || peers[0]) : null;
}

/** Rooms by kind for the sidebar: named rooms alphabetically, DMs by latest activity. */
export function groupedRooms(state, locale = 'fr') {
  const groups = { cohort: [], region: [], topic: [], dm: [] };
  for (const room of Object.values(state.rooms)) (groups[room.kind] || groups.topic).push(room);
  const collator = new Intl.Collator(locale, { sensitivity: 'base' });
  for (const kind of ['cohort', 'region', 'topic']) {
    groups[kind].sort((a, b) => collator.compare(roomTitle(a, state), roomTitle(b, state)));
  }
  groups.dm.sort((a, b) => (b.last_seq || 0) - (a.last_seq || 0) || a.id - b.id);
  return groups;
}

function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/**
 * The rows of a room's message list, in display order:
 *   {kind: 'day', key, date}
 *   {kind: 'new', key}                       the first unread message follows
 *   {kind: 'message', key, message, grouped} grouped = same author, shortly after
 *   {kind: 'pending', key, entry, grouped}   typed here, not yet acknowledged
 * `marker` is the read seq when the room was opened (null: no line).
 */
export function timeline(state, roomId, marker = null) {
  const log = state.messages[roomId];
  const rows = [];
  const me = state.me && state.me.id;
  let prev = null;
  let lastDay = null;
  let markerShown = false;
  const push = (message, extra) => {
    const day = dayKey(message.created_at);
    if (day !== lastDay) {
      rows.push({ kind: 'day', key: `day:${day}`, date: message.created_at });
      lastDay = day;
      prev = null;
    }
    const grouped = !!prev && prev.authorId === extra.authorId && !prev.deleted && !message.deleted
      && !message.reply_to && new Date(message.created_at) - new Date(prev.created_at) < GROUP_MS;
    prev = { authorId: extra.authorId, created_at: message.created_at, deleted: message.deleted };
    return grouped;
  };
  if (log) {
    for (const id of log.ids) {
      const m = log.byId[id];
      if (marker != null && !markerShown && m.seq > marker && m.author.id !== me && !m.deleted) {
        // The line goes above the first message the reader has not seen.
        const day = dayKey(m.created_at);
        if (day !== lastDay) { rows.push({ kind: 'day', key: `day:${day}`, date: m.created_at }); lastDay = day; }
        rows.push({ kind: 'new', key: 'new' });
        markerShown = true;
        prev = null;
      }
      const grouped = push(m, { authorId: m.author.id });
      rows.push({ kind: 'message', key: `m:${m.id}`, message: m, grouped });
    }
  }
  for (const entry of state.outbox) {
    if (entry.room !== roomId) continue;
    const grouped = push(entry, { authorId: me });
    rows.push({ kind: 'pending', key: `p:${entry.nonce}`, entry, grouped });
  }
  return rows;
}

/** Names of the people typing in a room right now (never the viewer). */
export function typingUsers(state, roomId, now) {
  const who = state.typing[roomId] || {};
  return Object.entries(who)
    .filter(([, exp]) => exp > now)
    .map(([id]) => displayName(state.users[id]) || `#${id}`);
}

/** Latest seq of a message in the room (what `read` reports), or 0. */
export function latestMessageSeq(state, roomId) {
  const log = state.messages[roomId];
  if (!log || !log.ids.length) return 0;
  return log.byId[log.ids[log.ids.length - 1]].seq;
}

/** The viewer's latest own, non-deleted message in a room (for Up-arrow editing). */
export function lastOwnMessage(state, roomId) {
  const log = state.messages[roomId];
  const me = state.me && state.me.id;
  if (!log) return null;
  for (let i = log.ids.length - 1; i >= 0; i--) {
    const m = log.byId[log.ids[i]];
    if (m.author.id === me && !m.deleted) return m;
  }
  return null;
}

export function totalUnread(state) {
  return Object.values(state.rooms).reduce((n, r) => n + (r.unread || 0), 0);
}

/** Where a notification points: its room, message and (when embedded) the message's seq. */
export function notificationTarget(n) {
  const msg = n.message && typeof n.message === 'object' ? n.message : null;
  const roomId = n.room && typeof n.room === 'object' ? n.room.id : (n.room ?? (msg && msg.room));
  return { msg, roomId, messageId: msg ? msg.id : n.message, seq: msg ? msg.seq : null };
}
