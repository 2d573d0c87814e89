// The admin page: people (search, change a school role), every room of the
// server (`all=true`, with the door into private ones) and the server-wide
// audit log, as tabs of one dialog.

import { h, avatar, icon, debounce } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { displayName } from '../selectors.js';
import { createAuditList } from './audit.js';
import { openDialog, select, toast } from './ui.js';

const ROLES = ['student', 'mentor', 'admin'];
const TABS = ['people', 'rooms', 'audit'];

function peopleTab({ api, store, actions }) {
  const search = h('input', { class: 'input', attrs: { id: 'admin-search', type: 'search', autocomplete: 'off', placeholder: t('admin.searchPlaceholder') } });
  const list = h('ul', { class: 'people', attrs: { role: 'list', 'aria-live': 'polite' } });
  let lastQuery = null;

  function row(u) {
    const me = store.get().me;
    const roles = ROLES.includes(u.role) ? ROLES : [u.role, ...ROLES];
    const picker = select(roles.map((r) => [r, t(`role.${r}`)]), u.role, async (role) => {
      picker.disabled = true;
      try {
        const { user } = await api.setUserRole(u.id, role);
        store.dispatch({ op: 'local.users', users: [user] });
        u.role = user.role;
        toast(t('admin.roleChanged', { name: displayName(u), role: t(`role.${user.role}`) }));
      } catch (err) {
        picker.value = u.role;
        toast(errorText(err), 'error');
      } finally {
        picker.disabled = u.id === me.id;
      }
    }, { 'aria-label': t('admin.roleOf', { name: displayName(u) }) });
    // Demoting oneself would lock the last admin out of this page.
    picker.disabled = u.id === me.id;
    return h('li', { class: 'person' },
      avatar(u, 'md'),
      h('span', { class: 'person-text' }, h('span', { class: 'person-name' }, displayName(u)), h('span', { class: 'person-sub' }, `@${u.username}${u.region ? ` · ${u.region}` : ''}`)),
      h('span', { class: 'person-actions' }, picker));
  }

  async function load() {
    const q = search.value.trim().replace(/^@/, '');
    lastQuery = q;
    if (!q) { list.replaceChildren(h('li', { class: 'empty' }, t('admin.searchHint'))); return; }
    try {
      const users = await actions.searchUsers(q);
      if (q !== lastQuery) return;
      list.replaceChildren(...(users.length ? users.map(row) : [h('li', { class: 'empty' }, t('friends.noneFound'))]));
    } catch (err) {
      list.replaceChildren(h('li', { class: 'empty' }, errorText(err)));
    }
  }
  search.addEventListener('input', debounce(load, 200));
  return {
    el: h('div', {}, h('div', { class: 'field' }, h('label', { attrs: { for: 'admin-search' } }, t('admin.search')), search), list),
    load,
    focus: () => search.focus(),
  };
}

function roomsTab({ api, store, actions, onOpenRoom, onAudit, close }) {
  const filter = h('input', { class: 'input', attrs: { id: 'admin-rooms-filter', type: 'search', autocomplete: 'off' } });
  const list = h('ul', { class: 'directory-list', attrs: { role: 'list' } });
  let rooms = [];

  function row(room) {
    const joined = room.id in store.get().rooms;
    const name = room.name || room.slug;
    const tags = [t(`kind.${room.kind}`), t(`visibility.${room.visibility || 'public'}`), room.archived ? t('admin.archived') : null].filter(Boolean);
    const open = joined
      ? h('button', { class: 'btn btn-soft btn-small', attrs: { type: 'button', 'aria-label': t('admin.openRoom', { name }) }, on: { click: () => { close(); onOpenRoom(room.id); } } }, t('directory.open_room'))
      : h('button', {
        class: 'btn btn-primary btn-small', attrs: { type: 'button', 'aria-label': t('admin.enterRoom', { name }) },
        on: {
          click: async (e) => {
            e.currentTarget.disabled = true;
            try {
              // Public rooms are joined like anyone joins; private ones through the admins' door.
              if (room.visibility === 'private') await actions.enterRoom(room.id);
              else await actions.joinRoom(room.id);
              close();
              onOpenRoom(room.id);
            } catch (err) {
              toast(errorText(err), 'error');
              e.currentTarget.disabled = false;
            }
          },
        },
      }, t('admin.enter'));
    return h('li', { class: 'directory-item' },
      h('span', { class: 'room-icon big' }, icon(room.archived ? 'archive' : room.visibility === 'private' ? 'lock' : 'hash')),
      h('div', { class: 'directory-text' },
        h('div', { class: 'directory-name' }, name, ...tags.map((x) => h('span', { class: 'kind-tag' }, x))),
        room.topic ? h('div', { class: 'directory-topic' }, room.topic) : null,
        h('div', { class: 'directory-meta' }, `${room.slug} · ${t('room.members', { count: room.member_count || 0 })}`)),
      h('div', { class: 'person-actions' },
        joined || room.visibility !== 'private' ? h('button', { class: 'btn btn-ghost btn-small', attrs: { type: 'button', 'aria-label': t('admin.auditOf', { name }) }, on: { click: () => onAudit(room) } }, icon('list'), t('audit.short')) : null,
        open));
  }

  function render() {
    const q = filter.value.trim().toLowerCase();
    const shown = rooms.filter((r) => !q || `${r.name} ${r.slug} ${r.topic || ''}`.toLowerCase().includes(q));
    list.replaceChildren(...(shown.length ? shown.map(row) : [h('li', { class: 'empty' }, t('directory.none'))]));
  }

  async function load() {
    try {
      ({ rooms } = await api.allRooms());
      rooms = rooms.filter((r) => r.kind !== 'dm');
      render();
    } catch (err) {
      list.replaceChildren(h('li', { class: 'empty' }, errorText(err)));
    }
  }
  filter.addEventListener('input', render);
  return {
    el: h('div', {}, h('div', { class: 'field' }, h('label', { attrs: { for: 'admin-rooms-filter' } }, t('admin.filterRooms')), filter), list),
    load,
    focus: () => filter.focus(),
  };
}

export function openAdmin({ api, store, actions, onOpenRoom, onAudit }) {
  let dlg = null;
  const close = () => dlg && dlg.close();
  const panes = {
    people: peopleTab({ api, store, actions }),
    rooms: roomsTab({ api, store, actions, onOpenRoom, onAudit: (room) => { close(); onAudit(room); }, close }),
    audit: (() => { const a = createAuditList({ api, store, roomId: null }); return { ...a, focus: () => {} }; })(),
  };
  const loaded = new Set();
  const tabs = TABS.map((name) => h('button', {
    class: 'tab', attrs: { type: 'button', role: 'tab', id: `admin-tab-${name}`, 'aria-controls': `admin-pane-${name}` },
    on: { click: () => show(name, true) },
  }, t(`admin.tab.${name}`)));
  const sections = TABS.map((name) => h('div', {
    class: 'tab-pane', attrs: { role: 'tabpanel', id: `admin-pane-${name}`, 'aria-labelledby': `admin-tab-${name}` },
  }, panes[name].el));

  function show(name, focus = false) {
    TABS.forEach((n, i) => {
      const on = n === name;
      tabs[i].setAttribute('aria-selected', String(on));
      tabs[i].tabIndex = on ? 0 : -1;
      sections[i].hidden = !on;
    });
    if (!loaded.has(name)) { loaded.add(name); panes[name].load(); }
    if (focus) panes[name].focus();
  }
  const tablist = h('div', { class: 'tabs admin-tabs', attrs: { role: 'tablist', 'aria-label': t('admin.title') } }, tabs);
  tablist.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = tabs.indexOf(document.activeElement);
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length];
    next.focus();
    next.click();
  });
  dlg = openDialog({ title: t('admin.title'), className: 'dialog-wide admin-panel', content: [tablist, ...sections] });
  show('people', true);
}
