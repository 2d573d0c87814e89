// The room details dialog: topic, how the room runs (announcements, slow
// mode, archived), members with presence and room role, this room's
// notification level, leaving the room, and for moderators the way to the
// room's settings, members, invites and audit log.

import { h, avatar, icon } from '../dom.js';
import { t, errorText, formatDuration } from '../i18n.js';
import { displayName, roomTitle } from '../selectors.js';
import { moderates } from '../moderation.js';
import { openDialog, select, toast } from './ui.js';
import { presenceDot } from './sidebar.js';
import { levelOptions } from './settings.js';

export function openRoomInfo({ store, api, actions, roomId, onLeft, onSettings, onMembers, onInvites, onAudit }) {
  const s = store.get();
  const room = s.rooms[roomId];
  if (!room) return;
  const members = h('ul', { class: 'people', attrs: { role: 'list' } });

  function renderMembers(st) {
    const ids = st.members[roomId] || [];
    const users = ids.map((id) => st.users[id]).filter(Boolean)
      .sort((a, b) => (st.presence[b.id] === 'online') - (st.presence[a.id] === 'online') || displayName(a).localeCompare(displayName(b)));
    const info = st.memberInfo[roomId] || {};
    members.replaceChildren(...users.map((u) => {
      const roomRole = info[u.id] && info[u.id].room_role;
      const sub = [`@${u.username}`, u.role && u.role !== 'student' ? t(`role.${u.role}`) : null,
        roomRole === 'owner' || roomRole === 'moderator' ? t(`roomRole.${roomRole}`) : null].filter(Boolean).join(' · ');
      return h('li', { class: 'person' },
        h('span', { class: 'avatar-wrap profile-link', dataset: { profile: u.id } }, avatar(u, 'md'), presenceDot(st.presence[u.id])),
        h('span', { class: 'person-text' }, h('span', { class: 'person-name' },
          h('button', { class: 'profile-link', attrs: { type: 'button' }, dataset: { profile: u.id } }, displayName(u))),
          h('span', { class: 'person-sub' }, sub)));
    }));
  }

  const level = select(levelOptions(true), room.notify_level || '', async (v) => {
    try { await actions.setNotifyLevel(roomId, v || null); toast(t('settings.saved')); } catch (e) { toast(errorText(e), 'error'); }
  }, { id: 'room-level' });
  api.notificationSettings().then((cfg) => { level.value = (cfg.rooms && cfg.rooms[String(roomId)]) || ''; }).catch(() => {});

  const leave = room.kind === 'dm' ? null : h('button', {
    class: 'btn btn-ghost danger', attrs: { type: 'button' },
    on: {
      click: async () => {
        if (!window.confirm(t('room.confirmLeave', { name: roomTitle(room, s) }))) return;
        try { await actions.leaveRoom(roomId); dlg.close(); onLeft(); } catch (e) { toast(errorText(e), 'error'); }
      },
    },
  }, t('room.leave'));

  const unsubscribe = store.subscribe((st, before) => {
    if (st.members !== before.members || st.memberInfo !== before.memberInfo || st.presence !== before.presence || st.users !== before.users) renderMembers(st);
  });
  const tool = (label, glyph, fn) => h('button', {
    class: 'btn btn-soft btn-small', attrs: { type: 'button' }, on: { click: () => { dlg.close(); fn(); } },
  }, icon(glyph), label);
  const tools = moderates(s, roomId) ? h('nav', { class: 'tool-row', attrs: { 'aria-label': t('roomSettings.tools') } },
    tool(t('roomSettings.open'), 'shield', onSettings),
    tool(t('members.manage'), 'users', onMembers),
    tool(t('invites.open'), 'link', onInvites),
    tool(t('audit.title'), 'list', onAudit)) : null;
  const how = [
    room.archived ? t('room.archivedTag') : null,
    room.posting === 'moderators' ? t('room.announcementTag') : null,
    room.slow_mode ? t('room.slowTag', { every: formatDuration(room.slow_mode) }) : null,
  ].filter(Boolean);
  const dlg = openDialog({
    title: room.kind === 'dm' ? roomTitle(room, s) : `# ${roomTitle(room, s)}`,
    onClose: unsubscribe,
    content: [
      room.topic ? h('p', { class: 'room-topic-full' }, room.topic) : null,
      h('p', { class: 'muted' }, [t(`kind.${room.kind}`), t(`visibility.${room.visibility || 'public'}`), t('room.members', { count: room.member_count || 0 })].join(' · ')),
      how.length ? h('p', { class: 'room-how' }, how.join(' · ')) : null,
      tools,
      h('div', { class: 'field-row' }, h('label', { attrs: { for: 'room-level' } }, t('room.notifications')), level),
      h('h3', {}, t('room.memberList')),
      members,
      leave ? h('div', { class: 'dialog-foot' }, leave) : null,
    ],
  });
  renderMembers(s);
  actions.loadMembers(roomId);
}
