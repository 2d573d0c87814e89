// The members panel: who is in the room with their room role and mute, and
// for moderators adding people (search, or a pasted list of usernames),
// changing room roles, muting for a chosen time, removing, banning and
// lifting bans; the invites panel is one click away.

import { h, avatar, icon, debounce } from '../dom.js';
import { t, errorText, formatDuration, formatDateTime } from '../i18n.js';
import { displayName, roomTitle } from '../selectors.js';
import { moderates, assignsRoles } from '../moderation.js';
import { presenceDot } from './sidebar.js';
import { openDialog, openMenu, select, toast } from './ui.js';

export const MUTE_DURATIONS = [300, 900, 3600, 86400, 604800, 2419200];
const ROLE_RANK = { owner: 0, moderator: 1, member: 2 };
const MAX_USERNAMES = 500;

/** "alice, bob\ncharlie @dora" → ['alice', 'bob', 'charlie', 'dora'], once each. */
export function parseUsernames(text) {
  const names = text.split(/[\s,;]+/).map((w) => w.replace(/^@/, '').trim()).filter(Boolean);
  return [...new Set(names)];
}

/** A small form asking for a reason, and for mutes a duration; resolves null when cancelled. */
function askModeration({ title, confirmLabel, withDuration }) {
  return new Promise((resolve) => {
    let result = null;
    const duration = withDuration
      ? select(MUTE_DURATIONS.map((n) => [String(n), formatDuration(n)]), '3600', () => {}, { id: 'mod-duration' })
      : null;
    const reason = h('input', { class: 'input', attrs: { id: 'mod-reason', maxlength: 500, autocomplete: 'off' } });
    const form = h('form', {
      class: 'stack',
      on: {
        submit: (e) => {
          e.preventDefault();
          result = { seconds: duration ? Number(duration.value) : null, reason: reason.value.trim() || null };
          dlg.close();
        },
      },
    },
    duration ? h('div', { class: 'field' }, h('label', { attrs: { for: 'mod-duration' } }, t('members.duration')), duration) : null,
    h('div', { class: 'field' }, h('label', { attrs: { for: 'mod-reason' } }, t('members.reason')), reason),
    h('div', { class: 'dialog-foot' },
      h('button', { class: 'btn btn-ghost', attrs: { type: 'button' }, on: { click: () => dlg.close() } }, t('action.cancel')),
      h('button', { class: 'btn btn-primary danger-fill', attrs: { type: 'submit' } }, confirmLabel)));
    const dlg = openDialog({ title, content: form, onClose: () => resolve(result) });
    (duration || reason).focus();
  });
}

export function openMembers({ store, api, actions, roomId, onInvites }) {
  const s0 = store.get();
  const room = s0.rooms[roomId];
  if (!room) return;
  const canModerate = moderates(s0, roomId);
  const canAssign = assignsRoles(s0, roomId);
  const list = h('ul', { class: 'people member-list', attrs: { role: 'list' } });
  const heading = h('h3', {});
  const bansList = h('ul', { class: 'people', attrs: { role: 'list' } });
  const bansSection = h('section', { attrs: { hidden: true, 'aria-labelledby': 'bans-head' } },
    h('h3', { attrs: { id: 'bans-head' } }, t('members.banned')), bansList);

  const run = async (work, done) => {
    try {
      await work();
      if (done) toast(done);
    } catch (err) {
      toast(errorText(err), 'error');
    }
  };

  // ---- add people
  const search = h('input', { class: 'input', attrs: { id: 'members-search', type: 'search', autocomplete: 'off', placeholder: t('members.searchPlaceholder') } });
  const found = h('ul', { class: 'people', attrs: { role: 'list', 'aria-live': 'polite' } });
  let lastQuery = '';
  async function runSearch() {
    const q = search.value.trim().replace(/^@/, '');
    lastQuery = q;
    if (!q) { found.replaceChildren(); return; }
    try {
      const users = await actions.searchUsers(q);
      if (q !== lastQuery) return;
      const inRoom = new Set(store.get().members[roomId] || []);
      const others = users.filter((u) => !inRoom.has(u.id));
      found.replaceChildren(...(others.length ? others.map((u) => h('li', { class: 'person' },
        avatar(u, 'md'),
        h('span', { class: 'person-text' }, h('span', { class: 'person-name' }, displayName(u)), h('span', { class: 'person-sub' }, `@${u.username}`)),
        h('span', { class: 'person-actions' }, h('button', {
          class: 'btn btn-primary btn-small', attrs: { type: 'button', 'aria-label': t('members.addUser', { name: displayName(u) }) },
          on: {
            click: (e) => {
              e.currentTarget.disabled = true;
              run(async () => { await actions.addMember(roomId, u.id); await runSearch(); }, t('members.added', { name: displayName(u) }));
            },
          },
        }, icon('userPlus'), t('members.add'))))) : [h('li', { class: 'empty' }, t('friends.noneFound'))]));
    } catch (err) {
      found.replaceChildren(h('li', { class: 'empty' }, errorText(err)));
    }
  }
  search.addEventListener('input', debounce(runSearch, 200));

  const pasted = h('textarea', { class: 'input textarea', attrs: { id: 'members-paste', rows: 4, 'aria-describedby': 'members-paste-hint', spellcheck: 'false' } });
  const bulkResult = h('div', { class: 'bulk-result', attrs: { role: 'status' } });
  const bulkBtn = h('button', { class: 'btn btn-soft', attrs: { type: 'submit' } }, t('members.addList'));
  const bulk = h('form', {
    class: 'stack',
    on: {
      submit: async (e) => {
        e.preventDefault();
        const names = parseUsernames(pasted.value);
        bulkResult.replaceChildren();
        if (!names.length) { pasted.focus(); return; }
        if (names.length > MAX_USERNAMES) {
          bulkResult.replaceChildren(h('p', { class: 'form-error' }, t('members.tooMany', { count: MAX_USERNAMES })));
          return;
        }
        bulkBtn.disabled = true;
        try {
          const res = await actions.addMembers(roomId, names);
          const missing = res.not_found || [];
          bulkResult.replaceChildren(
            h('p', { class: 'bulk-added' }, icon('check'), t('members.addedCount', { count: (res.added || []).length })),
            missing.length ? h('p', { class: 'bulk-missing' }, t('members.notFound', { count: missing.length }), ' ',
              h('span', { class: 'names' }, missing.join(', '))) : null);
          // What was not found stays in the box, to fix a typo and try again.
          pasted.value = missing.join('\n');
        } catch (err) {
          bulkResult.replaceChildren(h('p', { class: 'form-error' }, errorText(err)));
        } finally {
          bulkBtn.disabled = false;
        }
      },
    },
  },
  h('label', { class: 'label', attrs: { for: 'members-paste' } }, t('members.pasteLabel')),
  pasted,
  h('small', { class: 'hint', attrs: { id: 'members-paste-hint' } }, t('members.pasteHint')),
  h('div', { class: 'row-end' }, bulkBtn),
  bulkResult);

  const addSection = canModerate && room.kind !== 'dm' ? h('section', { class: 'add-people', attrs: { 'aria-labelledby': 'add-people-head' } },
    h('div', { class: 'section-head' },
      h('h3', { attrs: { id: 'add-people-head' } }, t('members.addPeople')),
      onInvites ? h('button', { class: 'btn btn-soft btn-small', attrs: { type: 'button' }, on: { click: () => { dlg.close(); onInvites(); } } }, icon('link'), t('invites.open')) : null),
    h('div', { class: 'field' }, h('label', { attrs: { for: 'members-search' } }, t('members.search')), search),
    found,
    h('details', { class: 'paste-list' }, h('summary', {}, t('members.paste')), bulk)) : null;

  // ---- the list
  function actionsFor(u, info, me) {
    if (!canModerate || u.id === me.id || u.role === 'admin') return [];
    if (info.room_role === 'owner' && me.role !== 'admin') return [];
    const name = displayName(u);
    const items = [];
    if (canAssign && info.room_role !== 'owner') {
      items.push(info.room_role === 'moderator'
        ? { label: t('members.makeMember'), icon: 'users', onSelect: () => run(() => actions.setRoomRole(roomId, u.id, 'member'), t('members.roleChanged', { name })) }
        : { label: t('members.makeModerator'), icon: 'shield', onSelect: () => run(() => actions.setRoomRole(roomId, u.id, 'moderator'), t('members.roleChanged', { name })) });
    }
    if (info.muted_until && info.muted_until > Date.now()) {
      items.push({ label: t('members.unmute'), icon: 'mute', onSelect: () => run(() => actions.unmute(roomId, u.id), t('members.unmuted', { name })) });
    } else {
      items.push({
        label: t('members.mute'), icon: 'mute',
        onSelect: async () => {
          const answer = await askModeration({ title: t('members.muteTitle', { name }), confirmLabel: t('members.muteConfirm'), withDuration: true });
          if (answer) run(() => actions.mute(roomId, u.id, answer.seconds, answer.reason), t('members.muted', { name, duration: formatDuration(answer.seconds) }));
        },
      });
    }
    items.push({
      label: t('members.remove'), icon: 'doorOut', danger: true,
      onSelect: async () => {
        const answer = await askModeration({ title: t('members.removeTitle', { name }), confirmLabel: t('members.removeConfirm') });
        if (answer) run(() => actions.removeMember(roomId, u.id, answer.reason), t('members.removed', { name }));
      },
    });
    items.push({
      label: t('members.ban'), icon: 'ban', danger: true,
      onSelect: async () => {
        const answer = await askModeration({ title: t('members.banTitle', { name }), confirmLabel: t('members.banConfirm') });
        if (answer) run(async () => { await actions.ban(roomId, u.id, answer.reason); await loadBans(); }, t('members.bannedDone', { name }));
      },
    });
    const btn = h('button', {
      class: 'btn btn-ghost btn-small member-actions',
      attrs: { type: 'button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-label': t('members.actionsFor', { name }) },
      on: { click: () => openMenu(btn, items, t('members.actionsFor', { name })) },
    }, icon('more'), t('members.actions'));
    return [btn];
  }

  function row(u, info, st) {
    const me = st.users[st.me.id] || st.me;
    const tags = [];
    if (info.room_role === 'owner' || info.room_role === 'moderator') tags.push(h('span', { class: `role-tag room-role-${info.room_role}` }, t(`roomRole.${info.room_role}`)));
    if (u.role && u.role !== 'student') tags.push(h('span', { class: `role-tag role-${u.role}` }, t(`role.${u.role}`)));
    const muted = info.muted_until && info.muted_until > Date.now()
      ? h('span', { class: 'muted-tag' }, icon('mute'), t('members.mutedUntil', { until: formatDateTime(new Date(info.muted_until).toISOString()) })) : null;
    return h('li', { class: 'person', attrs: { 'data-user-id': u.id } },
      h('span', { class: 'avatar-wrap profile-link', dataset: { profile: u.id } }, avatar(u, 'md'), presenceDot(st.presence[u.id])),
      h('span', { class: 'person-text' },
        h('span', { class: 'person-name' },
          h('button', { class: 'profile-link', attrs: { type: 'button' }, dataset: { profile: u.id } }, displayName(u)),
          u.id === me.id ? h('span', { class: 'muted' }, ` ${t('members.you')}`) : null, ...tags),
        h('span', { class: 'person-sub' }, `@${u.username}`),
        muted),
      h('span', { class: 'person-actions' }, actionsFor(u, info, me)));
  }

  function render(st) {
    const ids = st.members[roomId] || [];
    const info = st.memberInfo[roomId] || {};
    const people = ids.map((id) => st.users[id]).filter(Boolean).sort((a, b) => {
      const ra = ROLE_RANK[(info[a.id] || {}).room_role] ?? 3;
      const rb = ROLE_RANK[(info[b.id] || {}).room_role] ?? 3;
      return ra - rb || displayName(a).localeCompare(displayName(b));
    });
    heading.textContent = t('room.members', { count: people.length });
    list.replaceChildren(...people.map((u) => row(u, info[u.id] || {}, st)));
  }

  async function loadBans() {
    if (!canModerate) return;
    try {
      const { bans } = await api.bans(roomId);
      bansSection.hidden = !bans.length;
      bansList.replaceChildren(...bans.map((b) => h('li', { class: 'person' },
        avatar(b.user, 'md'),
        h('span', { class: 'person-text' },
          h('span', { class: 'person-name' }, displayName(b.user)),
          h('span', { class: 'person-sub' }, [
            `@${b.user.username}`,
            b.by ? t('members.bannedBy', { name: displayName(b.by) }) : null,
            b.reason,
          ].filter(Boolean).join(' · '))),
        h('span', { class: 'person-actions' }, h('button', {
          class: 'btn btn-ghost btn-small', attrs: { type: 'button', 'aria-label': t('members.unbanUser', { name: displayName(b.user) }) },
          on: { click: () => run(async () => { await actions.unban(roomId, b.user.id); await loadBans(); }, t('members.unbanned', { name: displayName(b.user) })) },
        }, t('members.unban'))))));
    } catch { /* the list of bans is a convenience: the rest of the panel works without it */ }
  }

  const unsubscribe = store.subscribe((st, before) => {
    if (!(roomId in st.rooms)) { dlg.close(); return; }
    if (st.members !== before.members || st.memberInfo !== before.memberInfo || st.presence !== before.presence || st.users !== before.users) render(st);
  });
  const dlg = openDialog({
    title: t('members.titleOf', { name: roomTitle(room, s0) }),
    className: 'dialog-wide members-panel',
    onClose: unsubscribe,
    content: [addSection, h('section', { attrs: { 'aria-label': t('room.memberList') } }, heading, list), bansSection],
  });
  render(s0);
  actions.loadMembers(roomId);
  loadBans();
  if (addSection) search.focus();
}
