// The profile card: a click on any name or avatar marked `data-profile="<user id>"`
// (message authors, member lists, friends) opens it beside what was clicked — a sheet
// at the bottom on phones. It shows the picture, name, pronouns, role, region and bio,
// with "send a message" (opens or creates the DM) and "add friend". It fills in from
// what the client knows at once, then from GET /api/users/{id}, and follows
// `user.updated` while open.

import { h, icon, avatar } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { displayName } from '../selectors.js';
import { popover, toast } from './ui.js';

const STAFF = new Set(['mentor', 'admin']);

/** Whether `me` may open a DM with `other`, as far as roles go (guests: staff only). */
export function mayMessage(me, other) {
  if (!me || !other || me.id === other.id) return false;
  if (me.role === 'guest') return STAFF.has(other.role);
  if (other.role === 'guest') return STAFF.has(me.role);
  return true;
}

/** Whether a friend request between the two can exist (guests have no friends). */
export function mayBefriend(me, other) {
  return !!me && !!other && me.id !== other.id && me.role !== 'guest' && other.role !== 'guest';
}

/** The friendship button's state: its label key, and whether it does anything. */
export function friendButton(friendship) {
  switch (friendship) {
    case 'friends': return { key: 'profile.isFriend', enabled: false, icon: 'check' };
    case 'requested': return { key: 'profile.requestSent', enabled: false, icon: 'clock' };
    case 'incoming': return { key: 'profile.acceptFriend', enabled: true, icon: 'userPlus' };
    default: return { key: 'profile.addFriend', enabled: true, icon: 'userPlus' };
  }
}

/**
 * Open the card of user `userId` anchored to `anchor`.
 * ctx: {store, api, actions, onOpenRoom(id), onEditProfile()}
 */
export function openProfileCard(userId, anchor, ctx) {
  const { store, api, actions } = ctx;
  let fetched = null;       // the profile as the server answered
  let relation = { friendship: 'none', blocked: false };
  let failure = null;       // an error from the server (not_found: not visible)
  const titleId = `profile-${userId}-${Math.random().toString(36).slice(2, 7)}`;
  const card = h('section', {
    class: 'profile-card',
    attrs: { role: 'dialog', 'aria-labelledby': titleId, 'data-user': userId },
  });

  const current = () => {
    const known = store.get().users[userId];
    return { ...(fetched || {}), ...(known || {}), ...(fetched && known ? pickProfile(fetched, known) : {}) };
  };

  function render() {
    const s = store.get();
    const me = s.users[s.me.id] || s.me;
    const user = current();
    if (!user.id) user.id = userId;
    const own = me.id === userId;
    const sub = [user.username ? `@${user.username}` : null, user.pronouns || null].filter(Boolean).join(' · ');
    const tags = [];
    if (user.role && user.role !== 'student') tags.push(h('span', { class: `role-tag role-${user.role}` }, t(`role.${user.role}`)));
    const actionsRow = [];
    if (own) {
      actionsRow.push(h('button', {
        class: 'btn btn-soft btn-small', attrs: { type: 'button' },
        on: { click: () => { close(); ctx.onEditProfile(); } },
      }, icon('edit'), t('profile.edit')));
    } else if (!failure && fetched) {
      if (relation.blocked) {
        actionsRow.push(h('p', { class: 'muted profile-blocked' }, icon('ban'), t('profile.youBlocked')));
      } else {
        if (mayMessage(me, user)) {
          actionsRow.push(h('button', {
            class: 'btn btn-primary btn-small profile-message', attrs: { type: 'button' },
            on: { click: (e) => sendMessage(e.currentTarget, user) },
          }, icon('message'), t('profile.message')));
        }
        if (mayBefriend(me, user)) {
          const state = friendButton(relation.friendship);
          actionsRow.push(h('button', {
            class: 'btn btn-soft btn-small profile-friend', attrs: { type: 'button', disabled: !state.enabled },
            on: { click: (e) => addFriend(e.currentTarget, user) },
          }, icon(state.icon), t(state.key)));
        }
      }
    }
    // DOM's replaceChildren would write a null as the text "null": drop them first.
    card.replaceChildren(...[
      h('div', { class: 'profile-card-head' },
        avatar(user, 'xl'),
        h('div', { class: 'profile-card-names' },
          h('h2', { class: 'profile-card-name', attrs: { id: titleId } }, user.display_name ? displayName(user) : '…'),
          sub ? h('p', { class: 'profile-card-sub' }, sub) : null,
          tags.length ? h('p', { class: 'profile-card-tags' }, ...tags) : null)),
      user.region ? h('p', { class: 'profile-card-region' }, icon('compass'), h('span', {}, user.region)) : null,
      user.bio ? h('p', { class: 'profile-card-bio' }, user.bio) : null,
      failure ? h('p', { class: 'muted profile-card-note' }, failure) : null,
      !fetched && !failure ? h('p', { class: 'muted profile-card-note', attrs: { role: 'status' } }, t('profile.loading')) : null,
      actionsRow.length ? h('div', { class: 'profile-card-actions' }, ...actionsRow) : null,
    ].filter(Boolean));
  }

  async function sendMessage(btn, user) {
    btn.disabled = true;
    try {
      const room = await actions.openDm([user.username]);
      close(false);
      // A card opened from a dialog (members, friends): the DM replaces it.
      const dialog = anchor.closest && anchor.closest('dialog[open]');
      if (dialog) dialog.close();
      if (ctx.onOpenRoom) ctx.onOpenRoom(room.id);
    } catch (err) {
      btn.disabled = false;
      toast(errorText(err), 'error');
    }
  }

  async function addFriend(btn, user) {
    btn.disabled = true;
    try {
      const { status } = await actions.addFriend(user.username);
      relation = { ...relation, friendship: status === 'friends' ? 'friends' : 'requested' };
      toast(t(status === 'friends' ? 'profile.nowFriends' : 'profile.requestSentTo', { name: displayName(user) }));
      render();
    } catch (err) {
      btn.disabled = false;
      toast(errorText(err), 'error');
    }
  }

  render();
  const close = popover(card, anchor, { placement: 'bottom', onClose: () => unsubscribe() });
  const unsubscribe = store.subscribe((s, before) => {
    if (s.users[userId] !== before.users[userId] || s.me !== before.me) render();
  });
  api.user(userId).then((reply) => {
    fetched = reply.user;
    relation = { friendship: reply.friendship || 'none', blocked: !!reply.blocked };
    store.dispatch({ op: 'local.users', users: [reply.user] });
    render();
  }).catch((err) => {
    failure = err && err.code === 'not_found' ? t('profile.notVisible') : errorText(err);
    render();
  });
  // Focus the card's first action for keyboards, without scrolling the page.
  requestAnimationFrame(() => {
    const first = card.querySelector('button:not([disabled])');
    if (first) first.focus({ preventScroll: true });
  });
  return close;
}

/** The profile-only fields of the answer win over an older copy without them. */
function pickProfile(fetched, known) {
  const out = {};
  for (const k of ['bio', 'pronouns']) if (!(k in known)) out[k] = fetched[k];
  return out;
}

/** Open a card from any click on an element carrying `data-profile`. Returns uninstall(). */
export function installProfileCards(ctx) {
  let closeOpen = null;
  const onClick = (e) => {
    const target = e.target instanceof Element ? e.target.closest('[data-profile]') : null;
    if (!target) return;
    const id = Number(target.dataset.profile);
    if (!Number.isInteger(id) || id <= 0) return;
    e.preventDefault();
    e.stopPropagation();
    if (closeOpen) closeOpen(false);
    closeOpen = openProfileCard(id, target, ctx);
  };
  document.addEventListener('click', onClick);
  return () => document.removeEventListener('click', onClick);
}
