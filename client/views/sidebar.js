// The sidebar: rooms grouped as Cohorts, Regions, Topics and Direct messages,
// with unread badges and mention highlights, plus the signed-in user's card;
// staff also find the reports and (admins) the admin page here.

import { h, icon, iconButton, avatar } from '../dom.js';
import { t, lang } from '../i18n.js';
import { groupedRooms, roomTitle, dmPeer, displayName } from '../selectors.js';

const GROUPS = [
  ['cohort', 'sidebar.cohorts'],
  ['region', 'sidebar.regions'],
  ['topic', 'sidebar.topics'],
  ['dm', 'sidebar.dms'],
];

/**
 * @param ui.onOpen(roomId) · ui.onDirectory() · ui.onCreateRoom() · ui.onNewDm()
 *        ui.onFriends() · ui.onSettings() · ui.onLogout() · ui.onClose()
 *        ui.onReports() · ui.onAdmin()
 */
export function createSidebar(store, ui) {
  const list = h('div', { class: 'room-groups' });
  const status = h('span', { class: 'conn-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const meCard = h('div', { class: 'me-card' });
  const friendsBtn = iconButton('users', t('friends.title'), ui.onFriends, 'with-badge');
  const friendsBadge = h('span', { class: 'badge badge-dot', attrs: { hidden: true } });
  friendsBtn.appendChild(friendsBadge);
  const staff = h('div', { class: 'staff-actions' });

  const el = h('nav', { class: 'sidebar', attrs: { 'aria-label': t('sidebar.label'), id: 'sidebar' } },
    h('header', { class: 'sidebar-head' },
      h('div', { class: 'brand' }, h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }, '💬'), h('span', {}, t('app.name'))),
      status,
      iconButton('x', t('sidebar.close'), ui.onClose, 'drawer-close')),
    h('div', { class: 'sidebar-actions' },
      h('button', { class: 'btn btn-soft btn-block', attrs: { type: 'button' }, on: { click: ui.onDirectory } }, icon('compass'), t('directory.open')),
      staff),
    list,
    h('footer', { class: 'sidebar-foot' }, meCard,
      h('div', { class: 'foot-actions' },
        friendsBtn,
        iconButton('settings', t('settings.title'), ui.onSettings),
        iconButton('logout', t('auth.logout'), ui.onLogout))));

  function roomItem(room, s) {
    const active = s.activeRoom === room.id;
    const unread = room.unread || 0;
    const mentions = room.mentions_unread || 0;
    const peer = dmPeer(room, s);
    let lead;
    if (room.kind === 'dm') {
      lead = peer
        ? h('span', { class: 'avatar-wrap' }, avatar(peer, 'sm'), presenceDot(s.presence[peer.id]))
        : h('span', { class: 'room-icon' }, icon('users'));
    } else {
      lead = h('span', { class: 'room-icon' }, icon(room.visibility === 'private' ? 'lock' : 'hash'));
    }
    const title = roomTitle(room, s);
    let label = title;
    if (unread) label += ` — ${t('sidebar.unread', { count: unread })}`;
    if (mentions) label += `, ${t('sidebar.mentions', { count: mentions })}`;
    const cls = ['room-item', active && 'active', unread && 'unread', mentions && 'mentioned'].filter(Boolean).join(' ');
    return h('li', {},
      h('button', {
        class: cls,
        attrs: { type: 'button', 'aria-current': active ? 'page' : false, 'aria-label': label, 'data-room-id': room.id },
        on: { click: () => ui.onOpen(room.id) },
      },
      lead,
      h('span', { class: 'room-name' }, title),
      mentions ? h('span', { class: 'badge badge-mention', attrs: { 'aria-hidden': 'true' } }, `@${mentions > 1 ? ` ${mentions}` : ''}`) : null,
      unread && !mentions ? h('span', { class: 'badge', attrs: { 'aria-hidden': 'true' } }, unread > 99 ? '99+' : String(unread)) : null));
  }

  function renderList(s) {
    const focusedId = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.roomId : null;
    const groups = groupedRooms(s, lang());
    const sections = GROUPS.map(([kind, key]) => {
      const rooms = groups[kind];
      if (!rooms.length && (kind === 'cohort' || kind === 'region')) return null;
      const headId = `group-${kind}`;
      let add = null;
      if (kind === 'topic') add = iconButton('plus', t('room.create'), ui.onCreateRoom, 'group-add');
      if (kind === 'dm') add = iconButton('plus', t('dm.new'), ui.onNewDm, 'group-add');
      return h('section', { class: 'room-group', attrs: { 'aria-labelledby': headId } },
        h('div', { class: 'group-head' }, h('h3', { attrs: { id: headId } }, t(key)), add),
        rooms.length
          ? h('ul', { class: 'room-list', attrs: { role: 'list' } }, rooms.map((r) => roomItem(r, s)))
          : h('p', { class: 'group-empty' }, t(kind === 'dm' ? 'sidebar.noDms' : 'sidebar.noTopics')));
    });
    list.replaceChildren(...sections.filter(Boolean));
    if (focusedId) {
      const again = list.querySelector(`[data-room-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
  }

  function renderStatus(s) {
    const key = s.status === 'online' ? 'conn.online' : s.status === 'connecting' ? 'conn.connecting' : 'conn.offline';
    status.className = `conn-status conn-${s.status}`;
    status.replaceChildren(h('span', { class: 'conn-dot', attrs: { 'aria-hidden': 'true' } }), h('span', { class: 'conn-label' }, t(key)));
  }

  function renderMe(s) {
    if (!s.me) return;
    const me = s.users[s.me.id] || s.me;
    meCard.replaceChildren(
      h('span', { class: 'avatar-wrap' }, avatar(me, 'md'), presenceDot(s.status === 'online' ? 'online' : 'offline')),
      h('span', { class: 'me-text' },
        h('span', { class: 'me-name' }, displayName(me)),
        h('span', { class: 'me-sub' }, `@${me.username}${me.region ? ` · ${me.region}` : ''}`)));
  }

  function renderStaff(s) {
    const me = s.me && (s.users[s.me.id] || s.me);
    const role = me ? me.role : null;
    const buttons = [];
    if (role === 'mentor' || role === 'admin') {
      buttons.push(h('button', { class: 'btn btn-ghost btn-small', attrs: { type: 'button' }, on: { click: ui.onReports } }, icon('flag'), t('reports.title')));
    }
    if (role === 'admin') {
      buttons.push(h('button', { class: 'btn btn-ghost btn-small', attrs: { type: 'button' }, on: { click: ui.onAdmin } }, icon('shield'), t('admin.title')));
    }
    staff.hidden = !buttons.length;
    staff.replaceChildren(...buttons);
  }

  let last = {};
  return {
    el,
    render(s) {
      if (s.rooms !== last.rooms || s.activeRoom !== last.activeRoom || s.presence !== last.presence || s.users !== last.users) renderList(s);
      if (s.status !== last.status) renderStatus(s);
      if (s.me !== last.me || s.users !== last.users || s.status !== last.status) renderMe(s);
      if (s.me !== last.me || s.users !== last.users) renderStaff(s);
      if (s.friends !== last.friends) {
        const n = s.friends.incoming.length;
        friendsBadge.hidden = !n;
        friendsBadge.textContent = n ? String(n) : '';
        friendsBtn.setAttribute('aria-label', n ? `${t('friends.title')}, ${t('friends.incomingCount', { count: n })}` : t('friends.title'));
      }
      last = s;
    },
  };
}

export function presenceDot(status) {
  // No status: not known (yet, or while we are offline ourselves).
  const state = status === 'online' ? 'online' : status === 'offline' ? 'offline' : 'unknown';
  return h('span', {
    class: `presence ${state}`,
    attrs: { role: 'img', 'aria-label': t(`presence.${state}`) },
  });
}
