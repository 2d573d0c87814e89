// Pure derivations about who may do what in a room, as the client shows it:
// who moderates, whether the composer is open, how long a mute or the slow
// mode lasts, and the pinned messages. The server decides; these only keep
// the interface from offering what it would refuse.

const STAFF = new Set(['mentor', 'admin']);
const MODERATING_ROLES = new Set(['owner', 'moderator']);

/** An ISO time or a millisecond count → milliseconds (null when absent or unreadable). */
export function timeMs(value) {
  if (value == null || value === '') return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export function isStaff(user) {
  return !!user && STAFF.has(user.role);
}

/** The viewer's room role: from the members list (fetched when the room opens), else the room's own field. */
export function myRoomRole(state, roomId) {
  const me = state.me && state.me.id;
  const info = state.memberInfo[roomId];
  if (info && me != null && info[me] && info[me].room_role) return info[me].room_role;
  const room = state.rooms[roomId];
  return (room && room.room_role) || null;
}

/**
 * Whether the viewer moderates a room they belong to: its owner or a
 * moderator, or a mentor or admin (who moderate every room they are in).
 * DMs have no moderators.
 */
export function moderates(state, roomId) {
  const room = state.rooms[roomId];
  if (!room || room.kind === 'dm' || !state.me) return false;
  const me = state.users[state.me.id] || state.me;
  return isStaff(me) || MODERATING_ROLES.has(myRoomRole(state, roomId));
}

/** Whether the viewer may change room roles: the room's owner or an admin. */
export function assignsRoles(state, roomId) {
  const me = state.me && (state.users[state.me.id] || state.me);
  return !!me && (me.role === 'admin' || myRoomRole(state, roomId) === 'owner');
}

/** Why the viewer cannot write in a room: 'archived', 'announcement', or null when they can. */
export function readOnlyReason(state, roomId) {
  const room = state.rooms[roomId];
  if (!room) return null;
  if (room.archived) return 'archived';
  if (room.posting === 'moderators' && !moderates(state, roomId)) return 'announcement';
  return null;
}

/** When the viewer's mute in a room ends (ms), or 0 when they are not muted at `now`. */
export function mutedUntil(state, roomId, now) {
  const end = state.mutes[roomId] || 0;
  return end > now ? end : 0;
}

/**
 * When the viewer may send again in a room (ms), or 0 when they may now: the
 * room's slow mode after their last message (moderators are exempt), or the
 * wait a `rate_limited` answer asked for.
 */
export function slowUntil(state, roomId, now) {
  const room = state.rooms[roomId];
  const slowMode = room && !moderates(state, roomId) ? Number(room.slow_mode) || 0 : 0;
  const last = state.lastPost[roomId];
  const end = Math.max(slowMode && last ? last + slowMode * 1000 : 0, state.slow[roomId] || 0);
  return end > now ? end : 0;
}

/** The room's pinned message ids, oldest pin first. */
export function pinnedIds(state, roomId) {
  const room = state.rooms[roomId];
  return (room && Array.isArray(room.pinned)) ? room.pinned : [];
}

/** Room kinds a user may create: students topics, staff every kind but DMs. */
export function creatableKinds(user) {
  return isStaff(user) ? ['cohort', 'region', 'topic'] : ['topic'];
}
