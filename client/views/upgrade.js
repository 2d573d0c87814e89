// A guest's way to stay: a banner in the shell and a block in the settings
// saying until when the guest access lasts, and the "create my account" dialog
// (POST /api/auth/upgrade). The account keeps its id, rooms, messages and this
// very session: nothing reloads, the guest marks simply go away.

import { h, icon } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { accountErrorText, passwordProblem, showError, usernameProblem } from '../account-errors.js';
import { openDialog, toast } from './ui.js';

/** The signed-in user as the store knows them now, when they are a guest; else null. */
export function guestMe(s) {
  const me = s.me && (s.users[s.me.id] || s.me);
  return me && me.role === 'guest' ? me : null;
}

function expiryText(me) {
  return me.expires_at ? t('upgrade.until', { date: formatDateTime(me.expires_at) }) : t('upgrade.guestNow');
}

/** The strip under the room header while a guest is signed in. */
export function createGuestBanner(store, onUpgrade) {
  const text = h('span', { class: 'guest-banner-text' });
  const button = h('button', { class: 'btn btn-primary btn-small', attrs: { type: 'button' }, on: { click: onUpgrade } }, t('upgrade.create'));
  const el = h('div', { class: 'guest-banner', attrs: { role: 'region', 'aria-label': t('upgrade.bannerLabel'), hidden: true } },
    icon('clock'), text, button);
  let shown = null;
  return {
    el,
    render(s) {
      const me = guestMe(s);
      el.hidden = !me;
      const words = me ? `${expiryText(me)} ${t('upgrade.keep')}` : '';
      if (words !== shown) { text.textContent = words; shown = words; }
    },
  };
}

/** The settings' account section for a guest: the expiry and the way to a real account. */
export function guestAccountBlock(store, onUpgrade) {
  const me = guestMe(store.get());
  return [
    h('p', { class: 'guest-expiry' }, me ? expiryText(me) : ''),
    h('p', { class: 'muted' }, t('upgrade.lead')),
    h('div', { class: 'row-end' },
      h('button', { class: 'btn btn-primary', attrs: { type: 'button' }, on: { click: onUpgrade } }, t('upgrade.create'))),
  ];
}

/**
 * The "create my account" dialog. A username and a password; an invite code
 * too when the server only opens accounts by invitation (asked for after such
 * a refusal). On success the session goes on as a student.
 */
export function openUpgrade({ api, store, onDone }) {
  const error = h('p', { class: 'form-error', attrs: { role: 'alert', id: 'upgrade-error' } });
  const username = h('input', { class: 'input', attrs: { id: 'upgrade-username', autocomplete: 'username', maxlength: 32, autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'upgrade-username-hint upgrade-error' } });
  const password = h('input', { class: 'input', attrs: { id: 'upgrade-password', type: 'password', autocomplete: 'new-password', maxlength: 1024, 'aria-describedby': 'upgrade-password-hint upgrade-error' } });
  const invite = h('input', { class: 'input', attrs: { id: 'upgrade-invite', autocomplete: 'off', maxlength: 300, autocapitalize: 'none', spellcheck: 'false' } });
  const inviteField = h('div', { class: 'field', attrs: { hidden: true } },
    h('label', { attrs: { for: 'upgrade-invite' } }, t('upgrade.invite')), invite,
    h('small', { class: 'hint' }, t('upgrade.inviteHint')));
  const submit = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('upgrade.submit'));
  const me = guestMe(store.get());

  const fail = (text, field) => {
    error.textContent = text;
    for (const f of [username, password, invite]) f.removeAttribute('aria-invalid');
    if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); }
  };

  const form = h('form', {
    class: 'stack upgrade-form', attrs: { novalidate: true, 'aria-label': t('upgrade.title') },
    on: {
      submit: async (e) => {
        e.preventDefault();
        fail('');
        const u = username.value.trim();
        const badName = usernameProblem(u);
        if (badName) { fail(badName, username); return; }
        const badPassword = passwordProblem(password.value);
        if (badPassword) { fail(badPassword, password); return; }
        // A pasted invite link works as well as its bare code.
        const code = invite.value.trim().replace(/^.*\/invite\//, '').replace(/\/$/, '');
        submit.disabled = true;
        try {
          const res = await api.request('POST', '/api/auth/upgrade', { username: u, password: password.value, ...(code ? { invite: code } : {}) });
          // The same account, no longer a guest: no end date any more.
          store.dispatch({ op: 'local.me', user: { ...res.user, expires_at: null } });
          if (res.room) store.dispatch({ op: 'local.room', room: res.room });
          dlg.close();
          toast(t('upgrade.done', { username: res.user.username }));
          if (onDone) onDone(res);
        } catch (err) {
          if (err.code === 'forbidden' && !code) {
            inviteField.hidden = false;
            fail(t('upgrade.needsInvite'), invite);
          } else if (err.code === 'unauthorized') {
            fail(t('upgrade.ended'));
          } else {
            const text = accountErrorText(err);
            const field = err.code === 'conflict' || /username|reserved/i.test(err.message || '') ? username
              : /password/i.test(err.message || '') ? password
                : err.code === 'not_found' || err.code === 'expired' || err.code === 'forbidden' ? invite : null;
            const said = err.code === 'not_found' && code ? t('invite.notFound')
              : err.code === 'expired' ? t('invite.expired')
                : err.code === 'forbidden' && code ? t('upgrade.inviteRefused') : text;
            fail(said, field);
            showError(error, said, err);
          }
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  h('p', {}, t('upgrade.lead')),
  me ? h('p', { class: 'muted' }, expiryText(me)) : null,
  h('div', { class: 'field' },
    h('label', { attrs: { for: 'upgrade-username' } }, t('auth.username')), username,
    h('small', { class: 'hint', attrs: { id: 'upgrade-username-hint' } }, t('auth.usernameHint'))),
  h('div', { class: 'field' },
    h('label', { attrs: { for: 'upgrade-password' } }, t('auth.password')), password,
    h('small', { class: 'hint', attrs: { id: 'upgrade-password-hint' } }, t('upgrade.passwordHint'))),
  inviteField, error,
  h('div', { class: 'row-end' }, submit));

  const dlg = openDialog({ title: t('upgrade.title'), content: form });
  username.focus();
  return dlg;
}
