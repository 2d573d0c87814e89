// The quick switcher (Ctrl+K / Cmd+K): one box to jump to a room, a direct
// message or a person. Matches ignore case and accents; names starting with
// what was typed come first, unread rooms first when nothing is typed. People
// without a conversation yet come from the server's user search; choosing
// one opens (or creates) the DM. A combobox over a listbox: focus stays in
// the box, arrows move the choice (aria-activedescendant), Enter opens.

import { h, icon, avatar, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { roomTitle, dmPeer, displayName } from '../selectors.js';
import { openDialog } from './ui.js';

const MAX_ITEMS = 12;

/** Lower case, accents off: `Élodie` and `elodie` are one search. */
export function fold(text) {
  return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/** 0 = starts with the query, 1 = a later word starts with it, 2 = contains it, -1 = no match. */
export function matchRank(name, query) {
  const n = fold(name);
  const q = fold(query).trim();
  if (!q) return 0;
  if (n.startsWith(q)) return 0;
  if (n.split(/[\s_.,@#-]+/).some((w) => w.startsWith(q))) return 1;
  return n.includes(q) ? 2 : -1;
}

/**
 * The choices for `query` from the state: rooms, DMs and known people
 * (pure, exported for tests). Each is {kind: 'room'|'dm'|'person', id, title, sub, unread, ...}.
 */
export function switcherItems(s, query, extraPeople = []) {
  const me = s.me && s.me.id;
  const items = [];
  const dmWith = new Set();
  for (const room of Object.values(s.rooms)) {
    const peer = room.kind === 'dm' ? dmPeer(room, s) : null;
    if (peer) dmWith.add(peer.id);
    const title = roomTitle(room, s);
    const names = peer ? [title, peer.username || ''] : [title, room.slug || ''];
    items.push({
      kind: room.kind === 'dm' ? 'dm' : 'room', id: room.id, room, peer, title, names,
      sub: peer ? `@${peer.username}` : room.kind === 'dm' ? t('switcher.group') : room.topic || '',
      unread: room.unread || 0, mentions: room.mentions_unread || 0, recency: room.last_seq || 0,
    });
  }
  const people = new Map();
  for (const u of [...((s.friends && s.friends.friends) || []), ...extraPeople]) {
    if (!u || u.id === me || dmWith.has(u.id) || people.has(u.id)) continue;
    const user = s.users[u.id] || u;
    people.set(u.id, {
      kind: 'person', id: u.id, user, title: displayName(user), names: [displayName(user), user.username || ''],
      sub: `@${user.username}`, unread: 0, mentions: 0, recency: 0,
    });
  }
  items.push(...people.values());
  const q = query.trim();
  const scored = [];
  for (const it of items) {
    const ranks = it.names.map((n) => matchRank(n, q)).filter((r) => r >= 0);
    if (!ranks.length) continue;
    scored.push([Math.min(...ranks), it]);
  }
  const kindOrder = { room: 0, dm: 0, person: 1 };
  scored.sort(([ra, a], [rb, b]) => (ra - rb)
    || (q ? 0 : (b.mentions > 0) - (a.mentions > 0) || (b.unread > 0) - (a.unread > 0))
    || kindOrder[a.kind] - kindOrder[b.kind]
    || (q ? 0 : b.recency - a.recency)
    || a.title.localeCompare(b.title));
  return scored.map(([, it]) => it).slice(0, MAX_ITEMS);
}

/**
 * Open the switcher. onOpenRoom(roomId) opens a room or DM; onOpenPerson(user) opens
 * a DM with someone. searchUsers(q) → [user] finds people beyond the state.
 */
export function openSwitcher({ store, searchUsers, onOpenRoom, onOpenPerson }) {
  const listId = `switcher-list-${Math.random().toString(36).slice(2, 8)}`;
  const input = h('input', {
    class: 'switcher-input',
    attrs: {
      type: 'text', role: 'combobox', 'aria-expanded': 'true', 'aria-controls': listId, 'aria-autocomplete': 'list',
      'aria-label': t('switcher.label'), placeholder: t('switcher.placeholder'), autocomplete: 'off', spellcheck: 'false',
    },
  });
  const list = h('ul', { class: 'switcher-list', attrs: { role: 'listbox', id: listId, 'aria-label': t('switcher.results') } });
  const empty = h('p', { class: 'switcher-empty', attrs: { role: 'status' } });
  const hint = h('p', { class: 'switcher-hint' }, t('switcher.hint'));
  let items = [];
  let active = 0;
  let found = [];
  let seq = 0;

  const dlg = openDialog({ title: t('switcher.title'), className: 'switcher', content: [input, list, empty, hint] });

  function choose(i) {
    const it = items[i];
    if (!it) return;
    dlg.close();
    if (it.kind === 'person') onOpenPerson(it.user);
    else onOpenRoom(it.id);
  }

  function setActive(i) {
    active = items.length ? (i + items.length) % items.length : 0;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === active)));
    if (items.length) {
      input.setAttribute('aria-activedescendant', `${listId}-${active}`);
      list.children[active].scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  }

  function lead(it) {
    if (it.kind === 'person') return avatar(it.user, 'sm');
    if (it.kind === 'dm') return it.peer ? avatar(it.peer, 'sm') : h('span', { class: 'room-icon' }, icon('users'));
    return h('span', { class: 'room-icon' }, icon(it.room.visibility === 'private' ? 'lock' : 'hash'));
  }

  function render() {
    items = switcherItems(store.get(), input.value, found);
    list.replaceChildren(...items.map((it, i) => {
      const badge = it.mentions ? `@${it.mentions}` : it.unread ? String(it.unread > 99 ? '99+' : it.unread) : '';
      const kind = t(`switcher.kind.${it.kind}`);
      return h('li', {
        class: 'switcher-item',
        attrs: { role: 'option', id: `${listId}-${i}`, 'aria-selected': 'false', 'data-kind': it.kind, 'data-id': String(it.id) },
        on: { mousedown: (e) => e.preventDefault(), click: () => choose(i) },
      },
      lead(it),
      h('span', { class: 'switcher-main' }, h('span', { class: 'switcher-title' }, it.title),
        it.sub ? h('span', { class: 'switcher-sub' }, it.sub) : null),
      badge ? h('span', { class: `badge${it.mentions ? ' badge-mention' : ''}` }, badge) : null,
      h('span', { class: 'switcher-kind' }, kind));
    }));
    empty.textContent = items.length ? '' : t('switcher.none');
    input.setAttribute('aria-expanded', String(items.length > 0));
    setActive(0);
  }

  const lookUp = debounce(async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (q.length < 2 || !searchUsers) return;
    try {
      const users = await searchUsers(q);
      if (mine !== seq || !input.isConnected) return;
      found = users;
      render();
    } catch { /* the local choices are still there */ }
  }, 150);

  input.addEventListener('input', () => { render(); lookUp(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive(active + 1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(active - 1); }
    else if (e.key === 'Enter') { e.preventDefault(); choose(active); }
  });
  render();
  input.focus();
  return dlg;
}
