// The invites panel of a room, for its moderators: make an invite (how many
// uses, how long, for whom), then for each one its link to copy, its QR code
// for posters, how often it was used, and revoking it.

import { h } from '../dom.js';
import { t, errorText, formatDateTime } from '../i18n.js';
import { openDialog, select, toast } from './ui.js';

const HOUR = 3600;
const LIFETIMES = [[HOUR, 'invites.hour'], [24 * HOUR, 'invites.day'], [7 * 24 * HOUR, 'invites.week'], [30 * 24 * HOUR, 'invites.month']];
const DEFAULT_LIFETIME = 7 * 24 * HOUR;
const MAX_USES = 10000;
const enc = encodeURIComponent;

/** The link as people will open it: invites carry a path unless the server knows its address. */
export function absoluteLink(url) {
  return new URL(url, window.location.origin).href;
}

/** Where an invite stands: active, revoked, expired or used up. */
export function inviteState(invite, now = Date.now()) {
  if (invite.revoked) return 'revoked';
  if (new Date(invite.expires_at).getTime() <= now) return 'expired';
  if (invite.max_uses != null && invite.uses >= invite.max_uses) return 'usedUp';
  return 'active';
}

/**
 * Open the panel for one room of the session's store.
 * @param api     the session's API client
 * @param store   the session's store (the room's name and whether it allows guests)
 * @param roomId  the room
 */
export function openInvitesPanel({ api, store, roomId }) {
  const room = store.get().rooms[roomId];
  if (!room) return null;
  const list = h('ul', { class: 'invites-list', attrs: { role: 'list', 'aria-label': t('invites.list') } });
  const formError = h('p', { class: 'form-error', attrs: { role: 'alert' } });

  const uses = h('input', { class: 'input', attrs: { id: 'invite-uses', type: 'number', min: 1, max: MAX_USES, step: 1, inputmode: 'numeric', placeholder: t('invites.unlimited') } });
  const lifetime = select(LIFETIMES.map(([s, key]) => [String(s), t(key)]), String(DEFAULT_LIFETIME), () => {}, { id: 'invite-lifetime' });
  const role = room.guests_allowed
    ? select([['student', t('invites.role.student')], ['guest', t('invites.role.guest')]], 'student', () => {}, { id: 'invite-role' })
    : null;
  const create = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('invites.create'));

  const form = h('form', {
    class: 'invites-form', attrs: { novalidate: true, 'aria-label': t('invites.new') },
    on: {
      submit: async (e) => {
        e.preventDefault();
        formError.textContent = '';
        const body = { expires_in_s: Number(lifetime.value) };
        const raw = uses.value.trim();
        if (raw) {
          const n = Number(raw);
          if (!Number.isInteger(n) || n < 1 || n > MAX_USES) { formError.textContent = t('invites.usesRange', { max: MAX_USES }); uses.focus(); return; }
          body.max_uses = n;
        }
        if (role) body.role = role.value;
        create.disabled = true;
        try {
          await api.request('POST', `/api/rooms/${room.id}/invites`, body);
          uses.value = '';
          toast(t('invites.created'));
          await refresh();
          const newest = list.querySelector('.invite-copy');
          if (newest) newest.focus();
        } catch (err) {
          formError.textContent = errorText(err);
        } finally {
          create.disabled = false;
        }
      },
    },
  },
  h('div', { class: 'field-row' }, h('label', { attrs: { for: 'invite-uses' } }, t('invites.uses')), uses),
  h('div', { class: 'field-row' }, h('label', { attrs: { for: 'invite-lifetime' } }, t('invites.expiry')), lifetime),
  role ? h('div', { class: 'field-row' }, h('label', { attrs: { for: 'invite-role' } }, t('invites.role')), role) : null,
  formError,
  h('div', { class: 'row-end' }, create));

  async function copy(link) {
    try {
      await navigator.clipboard.writeText(link);
      toast(t('invites.copied'));
    } catch {
      toast(t('invites.copyFailed'), 'error');
    }
  }

  async function revoke(invite) {
    if (!window.confirm(t('invites.confirmRevoke'))) return;
    try {
      await api.request('DELETE', `/api/invites/${enc(invite.code)}`);
      toast(t('invites.revoked'));
      await refresh();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  function item(invite) {
    const state = inviteState(invite);
    const link = absoluteLink(invite.url);
    const qrSrc = `/api/invites/${enc(invite.code)}/qr.svg`;
    const qr = h('figure', { class: 'invite-qr', attrs: { hidden: true } },
      h('img', { attrs: { alt: t('invites.qrAlt', { name: room.name }), width: 200, height: 200 } }),
      h('figcaption', {}, h('a', { class: 'btn btn-soft btn-small', attrs: { href: qrSrc, download: `invite-${room.slug || room.id}.svg` } }, t('invites.qrDownload'))));
    const qrButton = h('button', {
      class: 'btn btn-soft btn-small', attrs: { type: 'button', 'aria-expanded': 'false' },
      on: {
        click: () => {
          qr.hidden = !qr.hidden;
          qrButton.setAttribute('aria-expanded', String(!qr.hidden));
          const img = qr.querySelector('img');
          if (!qr.hidden && !img.getAttribute('src')) img.setAttribute('src', qrSrc);
        },
      },
    }, t('invites.qr'));
    const usage = invite.max_uses == null
      ? t('invites.usesCount', { count: invite.uses })
      : t('invites.usesOf', { uses: invite.uses, max: invite.max_uses });
    const by = invite.created_by ? t('invites.by', { name: invite.created_by.display_name || invite.created_by.username }) : null;
    const live = state === 'active';
    return h('li', { class: `invite-item invite-${state}`, dataset: { code: invite.code } },
      h('div', { class: 'invite-head' },
        h('span', { class: `invite-state state-${state}` }, t(`invites.state.${state}`)),
        h('span', { class: 'invite-usage' }, usage),
        invite.role === 'guest' ? h('span', { class: 'kind-tag' }, t('invites.role.guest')) : null),
      h('input', { class: 'input invite-link', attrs: { type: 'text', readonly: true, value: link, 'aria-label': t('invites.link') }, on: { focus: (e) => e.target.select() } }),
      h('p', { class: 'muted invite-meta' }, [t('invites.expiresAt', { date: formatDateTime(invite.expires_at) }), by].filter(Boolean).join(' · ')),
      live ? h('div', { class: 'invite-actions' },
        h('button', { class: 'btn btn-soft btn-small invite-copy', attrs: { type: 'button' }, on: { click: () => copy(link) } }, t('invites.copy')),
        qrButton,
        h('button', { class: 'btn btn-ghost btn-small danger', attrs: { type: 'button' }, on: { click: () => revoke(invite) } }, t('invites.revoke'))) : null,
      live ? qr : null);
  }

  async function refresh() {
    try {
      const { invites } = await api.request('GET', `/api/rooms/${room.id}/invites`);
      list.replaceChildren(...(invites.length ? invites.map(item) : [h('li', { class: 'empty' }, t('invites.none'))]));
    } catch (err) {
      list.replaceChildren(h('li', { class: 'empty' }, errorText(err)));
    }
  }

  const dlg = openDialog({
    title: t('invites.title', { name: room.name }),
    className: 'dialog-wide invites-panel',
    content: [
      h('h3', {}, t('invites.new')),
      form,
      h('h3', {}, t('invites.list')),
      list,
    ],
  });
  list.replaceChildren(h('li', { class: 'empty' }, t('invite.loading')));
  refresh();
  return dlg;
}
