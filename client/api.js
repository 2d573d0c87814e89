// The HTTP API: one function per endpoint, bearer token attached, every error
// turned into a ChatError carrying the protocol's `code`.

import { ChatError } from './protocol.js';

export function createApi({ getToken, onUnauthorized = () => {}, base = '' }) {
  async function request(method, path, body, raw = null) {
    const headers = { Accept: 'application/json' };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // `raw` ({data, type}) sends bytes as they are, e.g. a picture.
    if (raw) headers['Content-Type'] = raw.type;
    let res;
    try {
      res = await fetch(base + path, {
        method, headers, body: raw ? raw.data : body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ChatError('network', e.message);
    }
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch { /* a non-JSON error page: handled below */ }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const code = err.code || (res.status === 401 ? 'unauthorized' : 'http_' + res.status);
      const e = new ChatError(code, err.message || res.statusText, {
        status: res.status, retryAfter: err.retry_after ?? (data && data.retry_after), until: err.until ?? null,
      });
      // Login failures are 401 too; only an authenticated call means the session died.
      if (res.status === 401 && token && !path.startsWith('/api/auth/')) onUnauthorized(e);
      throw e;
    }
    return data;
  }

  const q = (params) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v != null && v !== '') s.set(k, v);
    const str = s.toString();
    return str ? `?${str}` : '';
  };
  const enc = encodeURIComponent;

  return {
    request,
    register: (username, password, display_name) => request('POST', '/api/auth/register', { username, password, ...(display_name ? { display_name } : {}) }),
    login: (username, password) => request('POST', '/api/auth/login', { username, password }),
    logout: () => request('POST', '/api/auth/logout'),
    me: () => request('GET', '/api/me'),
    updateMe: (patch) => request('PATCH', '/api/me', patch),
    changePassword: (old_password, new_password) => request('POST', '/api/me/password', { old_password, new_password }),
    logoutAll: () => request('POST', '/api/auth/logout-all'),
    deleteMe: (password) => request('DELETE', '/api/me', { password }),
    exportMe: () => request('GET', '/api/me/export'),
    resetPassword: (token, new_password) => request('POST', '/api/auth/reset', { token, new_password }),

    rooms: ({ kind, q: text } = {}) => request('GET', `/api/rooms${q({ kind, q: text })}`),
    room: (id) => request('GET', `/api/rooms/${id}`),
    createRoom: (room) => request('POST', '/api/rooms', room),
    joinRoom: (id) => request('POST', `/api/rooms/${id}/join`),
    leaveRoom: (id) => request('POST', `/api/rooms/${id}/leave`),
    members: (id) => request('GET', `/api/rooms/${id}/members`),
    messages: (id, { before, after, limit } = {}) => request('GET', `/api/rooms/${id}/messages${q({ before, after, limit })}`),
    postMessage: (id, body, { reply_to, nonce } = {}) => request('POST', `/api/rooms/${id}/messages`, { body, reply_to, nonce }),
    editMessage: (id, body) => request('PATCH', `/api/messages/${id}`, { body }),
    deleteMessage: (id) => request('DELETE', `/api/messages/${id}`),
    react: (id, emoji) => request('PUT', `/api/messages/${id}/reactions/${enc(emoji)}`),
    unreact: (id, emoji) => request('DELETE', `/api/messages/${id}/reactions/${enc(emoji)}`),

    users: (text, limit = 20) => request('GET', `/api/users${q({ q: text, limit })}`),
    user: (id) => request('GET', `/api/users/${id}`),
    setAvatar: (file) => request('PUT', '/api/me/avatar', undefined, { data: file, type: file.type }),
    removeAvatar: () => request('DELETE', '/api/me/avatar'),
    friends: () => request('GET', '/api/friends'),
    addFriend: (username) => request('POST', '/api/friends', { username }),
    removeFriend: (userId) => request('DELETE', `/api/friends/${userId}`),
    blocks: () => request('GET', '/api/blocks'),
    block: (username) => request('POST', '/api/blocks', { username }),
    unblock: (userId) => request('DELETE', `/api/blocks/${userId}`),
    dm: (usernames) => request('POST', '/api/dms', usernames.length === 1 ? { username: usernames[0] } : { usernames }),

    notificationSettings: () => request('GET', '/api/settings/notifications'),
    putNotificationSettings: (patch) => request('PUT', '/api/settings/notifications', patch),
    notifications: (unread = false) => request('GET', `/api/notifications${unread ? '?unread=true' : ''}`),
    markNotificationsRead: (ids) => request('POST', '/api/notifications/read', ids === 'all' ? { all: true } : { ids }),

    emoji: (text, lang, limit = 60) => request('GET', `/api/emoji${q({ q: text, lang, limit })}`),

    // --- moderation: room settings, members, pins, reports, audit, roles
    allRooms: () => request('GET', '/api/rooms?all=true'),
    updateRoom: (id, patch) => request('PATCH', `/api/rooms/${id}`, patch),
    addMember: (id, userId) => request('POST', `/api/rooms/${id}/members`, { user_id: userId }),
    addMembers: (id, usernames) => request('POST', `/api/rooms/${id}/members`, { usernames }),
    setRoomRole: (id, userId, room_role) => request('PUT', `/api/rooms/${id}/members/${userId}`, { room_role }),
    removeMember: (id, userId, reason) => request('DELETE', `/api/rooms/${id}/members/${userId}`, reason ? { reason } : undefined),
    bans: (id) => request('GET', `/api/rooms/${id}/bans`),
    ban: (id, userId, reason) => request('PUT', `/api/rooms/${id}/bans/${userId}`, reason ? { reason } : {}),
    unban: (id, userId) => request('DELETE', `/api/rooms/${id}/bans/${userId}`),
    mute: (id, userId, duration_s, reason) => request('PUT', `/api/rooms/${id}/mutes/${userId}`, { duration_s, ...(reason ? { reason } : {}) }),
    unmute: (id, userId) => request('DELETE', `/api/rooms/${id}/mutes/${userId}`),
    pin: (id, messageId) => request('PUT', `/api/rooms/${id}/pins/${messageId}`),
    unpin: (id, messageId) => request('DELETE', `/api/rooms/${id}/pins/${messageId}`),
    report: (messageId, reason) => request('POST', `/api/messages/${messageId}/report`, { reason }),
    reports: (state = 'open') => request('GET', `/api/reports${q({ state })}`),
    resolveReport: (id, action) => request('POST', `/api/reports/${id}/resolve`, { action }),
    roomAudit: (id, { before, limit } = {}) => request('GET', `/api/rooms/${id}/audit${q({ before, limit })}`),
    audit: ({ before, limit } = {}) => request('GET', `/api/audit${q({ before, limit })}`),
    setUserRole: (userId, role) => request('PUT', `/api/users/${userId}/role`, { role }),

    // --- polls
    pollVote: (messageId, options) => request('PUT', `/api/messages/${messageId}/poll/vote`, { options }),
    closePoll: (messageId) => request('POST', `/api/messages/${messageId}/poll/close`),
    pollVoters: (messageId) => request('GET', `/api/messages/${messageId}/poll/voters`),

    // --- questions and workshops
    questions: (id, { state = 'open', sort = 'votes', limit } = {}) => request('GET', `/api/rooms/${id}/questions${q({ state, sort, limit })}`),
    setQuestion: (messageId, state, answer) => request('PUT', `/api/messages/${messageId}/question`, { state, ...(answer ? { answer } : {}) }),
    vote: (messageId) => request('PUT', `/api/messages/${messageId}/question/vote`),
    unvote: (messageId) => request('DELETE', `/api/messages/${messageId}/question/vote`),
    claim: (messageId) => request('PUT', `/api/messages/${messageId}/question/claim`),
    unclaim: (messageId) => request('DELETE', `/api/messages/${messageId}/question/claim`),
    startWorkshop: (id, { duration_s, slow_mode, guests }) => request('POST', `/api/rooms/${id}/workshop`, { duration_s, slow_mode, guests }),
    stopWorkshop: (id) => request('DELETE', `/api/rooms/${id}/workshop`),
    workshopSummary: (id) => request('GET', `/api/rooms/${id}/workshop/summary`),
  };
}
