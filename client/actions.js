// What a person can do, as functions the views call. Each one talks to the
// server (a gateway op when connected, HTTP otherwise) and records the result
// in the store; failures are thrown as ChatError for the view to show.

import { newNonce, ChatError } from './protocol.js';
import { latestMessageSeq, notificationTarget } from './selectors.js';

export const HISTORY_PAGE = 50;
const TYPING_EVERY_MS = 3000;

export function createActions(session) {
  const { store, api, conn } = session;
  const online = () => store.get().status === 'online' && conn.isReady;
  let lastTyping = { room: null, at: 0 };
  let notificationsLoaded = false;
  /** A `muted` answer tells how long: the banner shows it, then the error goes on up. */
  const noteMuted = (roomId) => (err) => {
    if (err instanceof ChatError && err.code === 'muted') store.dispatch({ op: 'local.muted', room: roomId, until: err.until });
    throw err;
  };
  const inflight = new Map(); // request key → promise, so a page is never fetched twice at once

  /** A gateway op when connected (fast, ordered with events), else its HTTP twin. */
  async function call(op, fields, http) {
    if (online()) {
      try {
        return await conn.request(op, fields);
      } catch (err) {
        if (!(err instanceof ChatError) || err.code !== 'disconnected') throw err;
      }
    }
    return http();
  }

  const actions = {
    // ------------------------------------------------------------- rooms
    openRoom(roomId) {
      store.dispatch({ op: 'local.open', room: roomId });
      const log = store.get().messages[roomId];
      if (!log || !log.loaded) actions.loadLatest(roomId);
      actions.loadMembers(roomId);
    },

    /** The newest page; concurrent callers share the one request in flight. */
    loadLatest(roomId) {
      const key = `latest:${roomId}`;
      if (!inflight.has(key)) {
        inflight.set(key, api.messages(roomId, { limit: HISTORY_PAGE })
          .then(({ messages }) => {
            store.dispatch({ op: 'local.history', room: roomId, messages, direction: 'latest', limit: HISTORY_PAGE });
          })
          .finally(() => inflight.delete(key)));
      }
      return inflight.get(key);
    },

    /** One page older than what we have; resolves false when the start of the room is reached. */
    loadOlder(roomId) {
      const key = `older:${roomId}`;
      if (inflight.has(key)) return inflight.get(key);
      const log = store.get().messages[roomId];
      if (!log || log.complete || !log.ids.length) return Promise.resolve(false);
      const first = log.byId[log.ids[0]].seq;
      const p = api.messages(roomId, { before: first, limit: HISTORY_PAGE })
        .then(({ messages }) => {
          store.dispatch({ op: 'local.history', room: roomId, messages, direction: 'before', limit: HISTORY_PAGE });
          return messages.length === HISTORY_PAGE;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },

    isLoadingOlder: (roomId) => inflight.has(`older:${roomId}`),

    async loadMembers(roomId) {
      try {
        const { members } = await api.members(roomId);
        store.dispatch({ op: 'local.members', room: roomId, members });
      } catch { /* presence dots, roles and mutes then show once it answers again */ }
    },

    async joinRoom(roomId) {
      const { room } = await api.joinRoom(roomId);
      store.dispatch({ op: 'local.room', room });
      return room;
    },

    async leaveRoom(roomId) {
      await api.leaveRoom(roomId);
      store.dispatch({ op: 'local.left', room: roomId });
    },

    async createRoom(fields) {
      const { room } = await api.createRoom(fields);
      store.dispatch({ op: 'local.room', room });
      return room;
    },

    /** Seen up to the latest message: tell the server (once per new seq). */
    markRead(roomId) {
      const s = store.get();
      const room = s.rooms[roomId];
      const seq = Math.max(latestMessageSeq(s, roomId), s.seqs[roomId] || 0);
      if (!room || !seq || (seq <= (room.last_read_seq || 0) && !room.unread)) return;
      store.dispatch({ op: 'local.read', room: roomId, seq });
      if (online()) conn.notify('read', { room: roomId, seq });
      actions.clearRoomNotifications(roomId, seq).catch(() => {});
    },

    /** What you have read in a room no longer needs to alert you from the bell. */
    async clearRoomNotifications(roomId, seq) {
      if (!store.get().notificationsUnread) return;
      if (!notificationsLoaded) await actions.loadNotifications();
      const ids = store.get().notifications.filter((n) => {
        const target = notificationTarget(n);
        return !n.read && target.roomId === roomId && (target.seq == null || target.seq <= seq);
      }).map((n) => n.id);
      if (ids.length) await actions.markNotificationsRead(ids);
    },

    /** A notification about what is already on screen and read is read. */
    notificationArrived(n) {
      const { roomId, seq } = notificationTarget(n);
      const room = store.get().rooms[roomId];
      if (!n.read && room && seq != null && seq <= (room.last_read_seq || 0)) {
        actions.markNotificationsRead([n.id]).catch(() => {});
      }
    },

    // ---------------------------------------------------------- messages
    /** Queue a message; it is shown as pending and sent now or when back online. */
    send(roomId, body, replyTo = null, question = false, { attachments = [] } = {}) {
      const entry = { nonce: newNonce(), room: roomId, body, reply_to: replyTo, created_at: new Date().toISOString() };
      if (question) entry.question = true;
      // Upload ids go on the wire; the upload objects show the files while it is pending.
      if (attachments.length) { entry.attachments = attachments.map((a) => a.id); entry.uploads = attachments; }
      store.dispatch({ op: 'local.queue', entry });
      lastTyping = { room: null, at: 0 };
      session.flushOutbox();
      return entry;
    },

    retry(nonce) {
      const entry = store.get().outbox.find((e) => e.nonce === nonce);
      if (!entry) return;
      store.dispatch({ op: 'local.discard', nonce });
      store.dispatch({ op: 'local.queue', entry: { ...entry, status: 'queued', error: null } });
      session.flushOutbox();
    },

    discard(nonce) { store.dispatch({ op: 'local.discard', nonce }); },

    async edit(messageId, body) {
      const res = await call('edit', { message: messageId, body }, () => api.editMessage(messageId, body));
      if (res && res.message) store.dispatch({ op: 'local.message', message: res.message });
    },

    async remove(messageId) {
      await call('delete', { message: messageId }, () => api.deleteMessage(messageId));
    },

    /** Add my reaction, or take it back if I already reacted with this emoji. */
    async toggleReaction(roomId, messageId, emoji) {
      const msg = store.get().messages[roomId]?.byId[messageId];
      const mine = msg && (msg.reactions || []).some((r) => r.emoji === emoji && r.me);
      const op = mine ? 'unreact' : 'react';
      const res = await call(op, { message: messageId, emoji },
        () => (mine ? api.unreact(messageId, emoji) : api.react(messageId, emoji))).catch(noteMuted(roomId));
      if (res && res.reactions) store.dispatch({ op: 'local.reactions', room: roomId, message: messageId, reactions: res.reactions });
    },

    /** Called on each keystroke; tells the room at most every 3 s. */
    typing(roomId) {
      const now = Date.now();
      if (lastTyping.room === roomId && now - lastTyping.at < TYPING_EVERY_MS) return;
      lastTyping = { room: roomId, at: now };
      if (online()) conn.request('typing', { room: roomId }).catch(noteMuted(roomId)).catch(() => {});
    },

    // -------------------------------------------------------- moderation
    async updateRoom(roomId, patch) {
      const { room } = await api.updateRoom(roomId, patch);
      store.dispatch({ op: 'local.room', room });
      return room;
    },
    /** Usernames (typed or pasted) → {added: [ids], not_found: [names]}; the list is then refreshed. */
    async addMembers(roomId, usernames) {
      const res = await api.addMembers(roomId, usernames);
      await actions.loadMembers(roomId);
      return res;
    },
    async addMember(roomId, userId) {
      const res = await api.addMember(roomId, userId);
      await actions.loadMembers(roomId);
      return res;
    },
    async setRoomRole(roomId, userId, role) { await api.setRoomRole(roomId, userId, role); await actions.loadMembers(roomId); },
    async removeMember(roomId, userId, reason) { await api.removeMember(roomId, userId, reason); await actions.loadMembers(roomId); },
    async ban(roomId, userId, reason) { await api.ban(roomId, userId, reason); await actions.loadMembers(roomId); },
    async unban(roomId, userId) { await api.unban(roomId, userId); },
    async mute(roomId, userId, seconds, reason) {
      const res = await api.mute(roomId, userId, seconds, reason);
      await actions.loadMembers(roomId);
      return res;
    },
    async unmute(roomId, userId) { await api.unmute(roomId, userId); await actions.loadMembers(roomId); },
    async setPinned(roomId, messageId, pinned) {
      await (pinned ? api.pin(roomId, messageId) : api.unpin(roomId, messageId));
    },
    report: (messageId, reason) => api.report(messageId, reason),

    // ---------------------------------------------------------- polls
    /** A poll goes out like any message (queued, resent with its nonce); its question is its body. */
    sendPoll(roomId, poll) {
      const entry = { nonce: newNonce(), room: roomId, body: poll.question, reply_to: null, poll, created_at: new Date().toISOString() };
      store.dispatch({ op: 'local.queue', entry });
      session.flushOutbox();
      return entry;
    },
    /** The whole vote (`[]` withdraws); the reply carries my_vote, kept at once. */
    pollVote: (messageId, options) => actions.questionChange(() => api.pollVote(messageId, options)),
    closePoll: (messageId) => actions.questionChange(() => api.closePoll(messageId)),
    pollVoters: async (messageId) => (await api.pollVoters(messageId)).options,

    // ---------------------------------------------------------- questions
    /** The room's open questions as the server lists them; the log keeps them live after. */
    async loadQuestions(roomId, sort = 'votes') {
      const { questions } = await api.questions(roomId, { state: 'open', sort });
      store.dispatch({ op: 'local.questions', room: roomId, questions });
    },
    /** Each change answers with the full message; keep it now rather than wait for the event. */
    async questionChange(request) {
      const { message } = await request();
      store.dispatch({ op: 'local.message', message });
      return message;
    },
    vote: (messageId, up) => actions.questionChange(() => (up ? api.vote(messageId) : api.unvote(messageId))),
    claim: (messageId, on) => actions.questionChange(() => (on ? api.claim(messageId) : api.unclaim(messageId))),
    answer: (messageId, answerId = null) => actions.questionChange(() => api.setQuestion(messageId, 'answered', answerId)),
    reopen: (messageId) => actions.questionChange(() => api.setQuestion(messageId, 'open')),
    /** The room comes back as `room.updated`, with `workshop.ends_at` for the countdown. */
    startWorkshop: (roomId, settings) => api.startWorkshop(roomId, settings),
    stopWorkshop: async (roomId) => (await api.stopWorkshop(roomId)).summary,
    workshopSummary: async (roomId) => (await api.workshopSummary(roomId)).summary,
    /** An admin adds themself to a room (the one door into private rooms), then opens it. */
    async enterRoom(roomId) {
      const me = store.get().me;
      await api.addMember(roomId, me.id);
      const { room } = await api.room(roomId);
      store.dispatch({ op: 'local.room', room });
      return room;
    },

    // ------------------------------------------------------------ people
    async loadFriends() {
      const friends = await api.friends();
      store.dispatch({ op: 'local.friends', friends: { friends: friends.friends || [], incoming: friends.incoming || [], outgoing: friends.outgoing || [] } });
      return friends;
    },
    async addFriend(username) { const r = await api.addFriend(username); await actions.loadFriends(); return r; },
    async removeFriend(userId) { await api.removeFriend(userId); await actions.loadFriends(); },
    async block(username) { await api.block(username); await actions.loadFriends(); },
    async unblock(userId) { await api.unblock(userId); },
    async openDm(usernames) {
      const { room } = await api.dm(usernames);
      store.dispatch({ op: 'local.room', room });
      actions.openRoom(room.id);
      return room;
    },
    async searchUsers(q) {
      const { users } = await api.users(q, 20);
      store.dispatch({ op: 'local.users', users });
      return users;
    },
    async updateProfile(patch) {
      const { user } = await api.updateMe(patch);
      store.dispatch({ op: 'local.me', user });
      return user;
    },
    async setAvatar(file) {
      const { user } = await api.setAvatar(file);
      store.dispatch({ op: 'local.me', user });
      return user;
    },
    async removeAvatar() {
      const { user } = await api.removeAvatar();
      store.dispatch({ op: 'local.me', user });
      return user;
    },

    // ----------------------------------------------------- notifications
    async loadNotifications() {
      const { notifications } = await api.notifications(false);
      notificationsLoaded = true;
      const unread = store.get().notificationsUnread;
      store.dispatch({ op: 'local.notifications', notifications, unread: Math.max(unread, notifications.filter((n) => !n.read).length) });
      return notifications;
    },
    async markNotificationsRead(ids) {
      if (ids !== 'all' && !ids.length) return;
      await api.markNotificationsRead(ids);
      store.dispatch(ids === 'all' ? { op: 'local.notificationsRead', all: true } : { op: 'local.notificationsRead', ids });
    },
    async setNotifyLevel(roomId, level) {
      const res = await api.putNotificationSettings({ rooms: { [String(roomId)]: level } });
      store.dispatch({ op: 'local.notifyLevel', room: roomId, level });
      return res;
    },
  };
  return actions;
}
