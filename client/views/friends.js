// Friends: find people, send / accept / decline requests, block and unblock,
// and start a direct message (one person or a small group).

import { h, avatar, icon, debounce, replaceChildren } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { displayName } from '../selectors.js';
import { openDialog, toast } from './ui.js';

function person(user, presence, ...buttons) {
  return h('li', { class: 'person' },
    h('span', { class: 'avatar-wrap profile-link', dataset: { profile: user.id } }, avatar(user, 'md'),
      presence ? h('span', { class: `presence ${presence === 'online' ? 'online' : 'offline'}`, attrs: { 'aria-hidden': 'true' } }) : null),
    h('span', { class: 'person-text' }, h('span', { class: 'person-name' },
      h('button', { class: 'profile-link', attrs: { type: 'button' }, dataset: { profile: user.id } }, displayName(user))),
      h('span', { class: 'person-sub' }, `@${user.username}${user.region ? ` · ${user.region}` : ''}`)),
    h('span', { class: 'person-actions' }, buttons));
}

function btn(label, onClick, cls = 'btn-soft', iconName = null, aria = null) {
  return h('button', {
    class: `btn ${cls} btn-small`, attrs: { type: 'button', 'aria-label': aria || label },
    on: {
      click: async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        try { await onClick(); } catch (err) { toast(errorText(err), 'error'); } finally { if (b.isConnected) b.disabled = false; }
      },
    },
  }, iconName ? icon(iconName) : null, label);
}

export function openFriends({ store, api, actions, onOpenRoom }) {
  const search = h('input', { class: 'input', attrs: { type: 'search', placeholder: t('friends.search'), 'aria-label': t('friends.search'), autocomplete: 'off' } });
  const found = h('ul', { class: 'people', attrs: { role: 'list', 'aria-live': 'polite' } });
  const lists = h('div', { class: 'friend-lists' });
  let blocked = [];

  const message = (u) => btn(t('friends.message'), async () => { await actions.openDm([u.username]); dlg.close(); onOpenRoom(); }, 'btn-soft', 'message', t('friends.messageTo', { name: displayName(u) }));
  const blockBtn = (u) => btn(t('friends.block'), async () => {
    if (!window.confirm(t('friends.confirmBlock', { name: displayName(u) }))) return;
    await actions.block(u.username);
    await loadBlocked();
    toast(t('friends.blocked', { name: displayName(u) }));
  }, 'btn-ghost danger', 'ban', t('friends.blockUser', { name: displayName(u) }));

  function relation(u) {
    const f = store.get().friends;
    if (f.friends.some((x) => x.id === u.id)) return 'friend';
    if (f.incoming.some((x) => x.id === u.id)) return 'incoming';
    if (f.outgoing.some((x) => x.id === u.id)) return 'outgoing';
    if (blocked.some((x) => x.id === u.id)) return 'blocked';
    return 'none';
  }

  function actionsFor(u) {
    switch (relation(u)) {
      case 'friend': return [message(u)];
      case 'incoming': return [btn(t('friends.accept'), () => actions.addFriend(u.username), 'btn-primary', 'check', t('friends.acceptFrom', { name: displayName(u) }))];
      case 'outgoing': return [h('span', { class: 'muted' }, t('friends.requested'))];
      case 'blocked': return [h('span', { class: 'muted' }, t('friends.isBlocked'))];
      default: return [
        btn(t('friends.add'), async () => {
          const { status } = await actions.addFriend(u.username);
          toast(status === 'friends' ? t('friends.nowFriends', { name: displayName(u) }) : t('friends.requestSent', { name: displayName(u) }));
        }, 'btn-primary', 'userPlus', t('friends.addUser', { name: displayName(u) })),
        message(u)];
    }
  }

  let lastQuery = '';
  async function runSearch() {
    const q = search.value.trim();
    lastQuery = q;
    if (!q) { found.replaceChildren(); return; }
    try {
      const users = await actions.searchUsers(q);
      if (q !== lastQuery) return;
      const me = store.get().me;
      const others = users.filter((u) => !me || u.id !== me.id);
      found.replaceChildren(...(others.length
        ? others.map((u) => person(u, store.get().presence[u.id], actionsFor(u)))
        : [h('li', { class: 'empty' }, t('friends.noneFound'))]));
    } catch (e) {
      found.replaceChildren(h('li', { class: 'empty' }, errorText(e)));
    }
  }

  function section(title, users, render, emptyKey) {
    return h('section', { class: 'friend-section' },
      h('h3', {}, title, users.length ? h('span', { class: 'count' }, String(users.length)) : null),
      users.length ? h('ul', { class: 'people', attrs: { role: 'list' } }, users.map(render))
        : emptyKey ? h('p', { class: 'muted' }, t(emptyKey)) : null);
  }

  function renderLists() {
    const s = store.get();
    const f = s.friends;
    replaceChildren(lists,
      f.incoming.length ? section(t('friends.incoming'), f.incoming, (u) => person(u, null,
        btn(t('friends.accept'), () => actions.addFriend(u.username), 'btn-primary', 'check', t('friends.acceptFrom', { name: displayName(u) })),
        btn(t('friends.decline'), () => actions.removeFriend(u.id), 'btn-ghost', 'x', t('friends.declineFrom', { name: displayName(u) })))) : null,
      section(t('friends.list'), f.friends, (u) => person(u, s.presence[u.id], message(u),
        btn(t('friends.remove'), () => actions.removeFriend(u.id), 'btn-ghost', null, t('friends.removeUser', { name: displayName(u) })),
        blockBtn(u)), 'friends.empty'),
      f.outgoing.length ? section(t('friends.outgoing'), f.outgoing, (u) => person(u, null,
        btn(t('friends.cancel'), () => actions.removeFriend(u.id), 'btn-ghost', null, t('friends.cancelTo', { name: displayName(u) })))) : null,
      blocked.length ? section(t('friends.blockedList'), blocked, (u) => person(u, null,
        btn(t('friends.unblock'), async () => { await actions.unblock(u.id); await loadBlocked(); }, 'btn-ghost', null, t('friends.unblockUser', { name: displayName(u) })))) : null);
  }

  async function loadBlocked() {
    try { blocked = (await api.blocks()).blocked || []; } catch { blocked = []; }
    renderLists();
  }

  search.addEventListener('input', debounce(runSearch, 200));
  const unsubscribe = store.subscribe((s, before) => {
    if (s.friends !== before.friends || s.presence !== before.presence) { renderLists(); if (lastQuery) runSearch(); }
  });
  const dlg = openDialog({
    title: t('friends.title'), className: 'dialog-wide', onClose: unsubscribe,
    content: [h('div', { class: 'field' }, search), found, lists],
  });
  renderLists();
  actions.loadFriends().catch((e) => toast(errorText(e), 'error'));
  loadBlocked();
  search.focus();
}

/** "New message": pick one or more people (up to 10) and open the DM. */
export function openNewDm({ actions, store }) {
  const chosen = new Map();
  const search = h('input', { class: 'input', attrs: { type: 'search', placeholder: t('dm.searchPeople'), 'aria-label': t('dm.searchPeople'), autocomplete: 'off' } });
  const chips = h('div', { class: 'chips' });
  const results = h('ul', { class: 'people', attrs: { role: 'list', 'aria-live': 'polite' } });
  const start = h('button', { class: 'btn btn-primary', attrs: { type: 'button', disabled: true } }, t('dm.start'));

  const renderChips = () => {
    chips.replaceChildren(...[...chosen.values()].map((u) => h('button', {
      class: 'chip active', attrs: { type: 'button', 'aria-label': t('dm.removePerson', { name: displayName(u) }) },
      on: { click: () => { chosen.delete(u.id); renderChips(); } },
    }, displayName(u), icon('x'))));
    start.disabled = !chosen.size;
  };
  const run = debounce(async () => {
    const q = search.value.trim();
    if (!q) { results.replaceChildren(); return; }
    try {
      const me = store.get().me;
      const users = (await actions.searchUsers(q)).filter((u) => !me || u.id !== me.id);
      results.replaceChildren(...users.map((u) => person(u, store.get().presence[u.id],
        h('button', {
          class: 'btn btn-soft btn-small', attrs: { type: 'button', 'aria-label': t('dm.addPerson', { name: displayName(u) }) },
          on: { click: () => { if (chosen.size < 9) chosen.set(u.id, u); renderChips(); search.value = ''; results.replaceChildren(); search.focus(); } },
        }, icon('plus'), t('dm.add')))));
    } catch (e) {
      results.replaceChildren(h('li', { class: 'empty' }, errorText(e)));
    }
  }, 200);
  search.addEventListener('input', run);
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      await actions.openDm([...chosen.values()].map((u) => u.username));
      dlg.close();
    } catch (e) {
      toast(e.code === 'blocked' ? t('error.blocked_dm') : errorText(e), 'error');
      start.disabled = false;
    }
  });
  const dlg = openDialog({
    title: t('dm.new'),
    content: [h('p', { class: 'muted' }, t('dm.lead')), chips, h('div', { class: 'field' }, search), results, h('div', { class: 'dialog-foot' }, start)],
  });
  search.focus();
}
