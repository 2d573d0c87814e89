// The pinned bar at the top of a room: its latest pin (a click jumps to it)
// and the list of every pin, which moderators may unpin from.

import { h, icon, iconButton } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { displayName } from '../selectors.js';
import { messagePreview } from '../uploads.js';
import { pinnedIds } from '../moderation.js';
import { deletedText } from './message.js';
import { popover } from './ui.js';

function snippet(msg, users) {
  if (!msg) return { who: null, text: t('pins.notLoaded') };
  const who = displayName(users[msg.author.id] || msg.author);
  const text = msg.deleted ? deletedText(msg) : messagePreview(msg, 300);
  return { who, text };
}

export function createPinBar({ onJump, onUnpin }) {
  const el = h('section', { class: 'pin-bar', attrs: { hidden: true, 'aria-label': t('pins.title') } });
  let last = [];
  let current = { ids: [], lookup: () => null, users: {}, canModerate: false };

  function openList(anchor) {
    const { ids, lookup, users, canModerate } = current;
    // Newest pin first: what was pinned last is what moderators want seen.
    const items = ids.slice().reverse().map((id) => {
      const msg = lookup(id);
      const { who, text } = snippet(msg, users);
      return h('li', { class: 'pin-item' },
        h('button', {
          class: 'pin-jump', attrs: { type: 'button' },
          on: { click: () => { close(); onJump(id); } },
        },
        who ? h('strong', {}, who) : null,
        h('span', { class: 'pin-text' }, text),
        msg ? h('time', { attrs: { datetime: msg.created_at } }, formatDateTime(msg.created_at)) : null),
        canModerate && msg ? iconButton('x', t('pins.unpinFrom', { name: who }), () => { close(); onUnpin(msg); }, 'pin-remove') : null);
    });
    const panel = h('div', { class: 'pin-list', attrs: { role: 'dialog', 'aria-label': t('pins.title') } },
      h('h2', {}, t('pins.count', { count: ids.length })),
      h('ul', { attrs: { role: 'list' } }, items));
    const close = popover(panel, anchor, { placement: 'bottom' });
    const first = panel.querySelector('button');
    if (first) first.focus();
  }

  function render(s, roomId, canModerate) {
    const ids = pinnedIds(s, roomId);
    const log = s.messages[roomId];
    const lookup = (id) => (log ? log.byId[id] : null);
    const deps = [roomId, canModerate, s.users, ...ids, ...ids.map(lookup)];
    if (deps.length === last.length && deps.every((x, i) => x === last[i])) return;
    last = deps;
    current = { ids, lookup, users: s.users, canModerate };
    el.hidden = !ids.length;
    if (!ids.length) { el.replaceChildren(); return; }
    const latest = ids[ids.length - 1];
    const { who, text } = snippet(lookup(latest), s.users);
    const all = h('button', {
      class: 'link-btn pin-all', attrs: { type: 'button', 'aria-haspopup': 'dialog' },
      on: { click: (e) => openList(e.currentTarget) },
    }, t('pins.count', { count: ids.length }));
    el.replaceChildren(
      h('span', { class: 'pin-icon', attrs: { 'aria-hidden': 'true' } }, icon('pin')),
      h('button', {
        class: 'pin-latest', attrs: { type: 'button', 'aria-label': t('pins.jump', { text: who ? `${who} — ${text}` : text }) },
        on: { click: () => onJump(latest) },
      }, who ? h('strong', {}, who) : null, h('span', { class: 'pin-text' }, text)),
      all);
  }

  return { el, render };
}
