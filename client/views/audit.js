// The audit log: every moderator action, newest first, for one room (its
// moderators) or the whole server (admins), paged backwards with `before`.

import { h, icon } from '../dom.js';
import { t, errorText, formatDateTime, formatRelative, formatDuration } from '../i18n.js';
import { displayName } from '../selectors.js';
import { openDialog } from './ui.js';

const PAGE = 50;
export const AUDIT_ACTIONS = [
  'message.delete', 'member.add', 'member.remove', 'member.ban', 'member.unban', 'member.mute',
  'member.unmute', 'member.role', 'room.update', 'message.pin', 'message.unpin', 'invite.create',
  'invite.revoke', 'report.resolve', 'user.role',
];

/** A user named by the entry: a User object, or an id we may already know. */
function who(value, users) {
  if (value == null) return null;
  const user = typeof value === 'object' ? value : users[value];
  return user ? `${displayName(user)} (@${user.username})` : `#${value}`;
}

function where(value, rooms) {
  if (value == null) return null;
  const room = typeof value === 'object' ? value : rooms.get(value);
  return room ? `# ${room.name || room.slug}` : `# ${value}`;
}

/** Details as short "key: value" pairs, durations in words. */
function detailText(details) {
  if (!details || typeof details !== 'object') return '';
  return Object.entries(details).map(([k, v]) => {
    if (/(^|_)(duration|slow_mode|seconds)(_s)?$/.test(k) && Number.isInteger(v) && v > 0) return `${k}: ${formatDuration(v)}`;
    if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return `${k}: ${formatDateTime(v)}`;
    return `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`;
  }).join(' · ');
}

/** The list with its "older" button; `roomId` null reads the whole server's log. */
export function createAuditList({ api, store, roomId }) {
  const list = h('ol', { class: 'audit-list', attrs: { 'aria-busy': 'false' } });
  const status = h('p', { class: 'muted audit-status', attrs: { role: 'status' } });
  const more = h('button', { class: 'btn btn-ghost btn-small', attrs: { type: 'button', hidden: true } }, t('audit.older'));
  let before = null;
  let rooms = null; // id → Room, for the server-wide log's room names

  function entry(e) {
    const s = store.get();
    const actor = who(e.actor, s.users);
    const target = who(e.target_user, s.users);
    const room = roomId == null ? where(e.room, rooms) : null;
    const details = detailText(e.details);
    return h('li', { class: 'audit-entry', attrs: { 'data-action': e.action } },
      h('div', { class: 'audit-line' },
        h('span', { class: `audit-action action-${e.action.replace('.', '-')}` }, t(`audit.${e.action}`)),
        actor ? h('strong', {}, actor) : h('span', { class: 'muted' }, t('audit.system')),
        target ? h('span', {}, '→ ', target) : null,
        e.target_message != null ? h('span', { class: 'muted' }, t('audit.message', { id: e.target_message })) : null,
        room ? h('span', { class: 'audit-room' }, room) : null),
      e.reason ? h('div', { class: 'audit-reason' }, icon('message'), h('span', {}, e.reason)) : null,
      details ? h('div', { class: 'audit-details' }, details) : null,
      h('time', { attrs: { datetime: e.created_at, title: formatDateTime(e.created_at) } }, formatRelative(e.created_at, Date.now())));
  }

  async function load() {
    more.disabled = true;
    list.setAttribute('aria-busy', 'true');
    try {
      if (roomId == null && !rooms) {
        rooms = new Map(Object.values(store.get().rooms).map((r) => [r.id, r]));
        // Every room by name (admins see them all); ids are enough if that list fails.
        try { for (const r of (await api.allRooms()).rooms) rooms.set(r.id, r); } catch { /* ids it is */ }
      }
      const page = { before: before ?? undefined, limit: PAGE };
      const { entries } = roomId == null ? await api.audit(page) : await api.roomAudit(roomId, page);
      list.append(...entries.map(entry));
      if (entries.length) before = entries[entries.length - 1].id;
      more.hidden = entries.length < PAGE;
      status.textContent = list.children.length ? '' : t('audit.empty');
    } catch (err) {
      status.textContent = errorText(err);
    } finally {
      more.disabled = false;
      list.setAttribute('aria-busy', 'false');
    }
  }
  more.addEventListener('click', load);

  return { el: h('div', { class: 'audit' }, list, status, h('div', { class: 'row-center' }, more)), load };
}

export function openAudit({ api, store, roomId = null, title }) {
  const audit = createAuditList({ api, store, roomId });
  openDialog({ title: title || t('audit.title'), className: 'dialog-wide', content: audit.el });
  audit.load();
}
