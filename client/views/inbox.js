// The notifications inbox behind the bell: why each one came (mention, DM,
// friend, all), a click jumps to the message, and mark-as-read.

import { h, avatar, icon } from '../dom.js';
import { t, errorText, formatRelative, formatDateTime } from '../i18n.js';
import { displayName, roomTitle, notificationTarget } from '../selectors.js';
import { messagePreview } from '../uploads.js';
import { deletedText } from './message.js';
import { popover, toast } from './ui.js';

/** A notification's room, message and author, resolved against what we know. */
export function notificationParts(n, s) {
  const { msg, roomId, messageId } = notificationTarget(n);
  const author = msg && msg.author ? (s.users[msg.author.id] || msg.author) : null;
  return { msg, messageId, roomId, author, room: s.rooms[roomId] || (typeof n.room === 'object' ? n.room : null) };
}

export function openInbox(anchor, { store, actions, onJump, onReports }) {
  let unreadOnly = false;
  const list = h('ul', { class: 'inbox-list', attrs: { role: 'list', 'aria-live': 'polite' } });
  const filters = [false, true].map((only) => h('button', {
    class: `chip${only === unreadOnly ? ' active' : ''}`,
    attrs: { type: 'button', 'aria-pressed': String(only === unreadOnly) },
    on: {
      click: () => {
        unreadOnly = only;
        filters.forEach((b, i) => { b.classList.toggle('active', (i === 1) === only); b.setAttribute('aria-pressed', String((i === 1) === only)); });
        render(store.get());
      },
    },
  }, t(only ? 'inbox.unreadOnly' : 'inbox.all')));
  const allRead = h('button', {
    class: 'link-btn', attrs: { type: 'button' },
    on: { click: () => actions.markNotificationsRead('all').catch((e) => toast(errorText(e), 'error')) },
  }, icon('check'), t('inbox.markAllRead'));
  const panel = h('div', { class: 'inbox', attrs: { role: 'dialog', 'aria-label': t('inbox.title') } },
    h('header', { class: 'inbox-head' }, h('h2', {}, t('inbox.title')), allRead),
    h('div', { class: 'inbox-filters chips', attrs: { role: 'group', 'aria-label': t('inbox.filter') } }, filters),
    list);

  function item(n, s) {
    const { msg, messageId, roomId, author, room } = notificationParts(n, s);
    const where = room ? (room.kind === 'dm' ? t('inbox.inDm') : t('inbox.inRoom', { room: roomTitle(room, s) })) : '';
    const body = msg ? (msg.deleted ? deletedText(msg) : messagePreview(msg, 200)) : '';
    return h('li', {},
      h('button', {
        class: `notif${n.read ? '' : ' unread'}`,
        attrs: { type: 'button', 'data-notification-id': n.id },
        on: {
          click: async () => {
            close();
            if (!n.read) actions.markNotificationsRead([n.id]).catch(() => {});
            // A report is for staff to resolve: it opens their view, not the room.
            if (n.reason === 'report' && onReports) onReports();
            else onJump(roomId, messageId);
          },
        },
      },
      author ? avatar(author, 'md') : h('span', { class: 'avatar avatar-md notif-icon' }, icon('bell')),
      h('span', { class: 'notif-text' },
        h('span', { class: 'notif-line' },
          author ? h('strong', {}, displayName(author)) : null,
          h('span', { class: `reason reason-${n.reason}` }, t(`reason.${n.reason}`)),
          where ? h('span', { class: 'notif-where' }, where) : null),
        body ? h('span', { class: 'notif-body' }, body.length > 140 ? `${body.slice(0, 139)}…` : body) : null,
        h('time', { attrs: { datetime: n.created_at, title: formatDateTime(n.created_at) } }, formatRelative(n.created_at, Date.now()))),
      n.read ? null : h('span', { class: 'unread-dot', attrs: { role: 'img', 'aria-label': t('inbox.unread') } })));
  }

  function render(s) {
    const shown = s.notifications.filter((n) => !unreadOnly || !n.read);
    allRead.disabled = !s.notificationsUnread;
    list.replaceChildren(...(shown.length ? shown.map((n) => item(n, s))
      : [h('li', { class: 'inbox-empty' }, h('span', { class: 'big-emoji', attrs: { 'aria-hidden': 'true' } }, '🔔'), t('inbox.empty'))]));
  }

  const unsubscribe = store.subscribe((s, before) => {
    if (s.notifications !== before.notifications || s.users !== before.users) render(s);
  });
  const close = popover(panel, anchor, { placement: 'bottom', onClose: unsubscribe });
  render(store.get());
  actions.loadNotifications().catch((e) => toast(errorText(e), 'error'));
  filters[0].focus();
  return close;
}
