// The page an invite link opens (/invite/<code>): the room it opens, then a
// "Join" button for a signed-in user, or the sign-up form (and a log-in form
// for those who have an account) that joins in the same step; when the room
// allows guests, first a "continue as a guest" form (a display name, no
// account). An unknown or spent invite says so.

import { h } from '../dom.js';
import { t, errorText, formatDateTime } from '../i18n.js';
import { createApi } from '../api.js';
import { accountErrorText } from '../account-errors.js';
import { signInSubmit } from './auth.js';

/** The code of an invite link, or null when the page is not one. */
export function inviteCode(pathname) {
  const m = /^\/invite\/([A-Za-z0-9_-]{1,128})\/?$/.exec(pathname);
  return m ? m[1] : null;
}

const enc = encodeURIComponent;

/**
 * @param code      the invite's code
 * @param token     the saved login token, if any
 * @param onJoined  ({token, room}) once the user is in the room
 * @param onLeave   () to go on to the app without joining
 */
export function renderInvitePage(root, { code, token, onJoined, onLeave }) {
  const anonymous = createApi({ getToken: () => null });
  const status = h('p', { class: 'muted', attrs: { role: 'status' } }, t('invite.loading'));
  const card = h('section', { class: 'auth-card invite-card' },
    h('div', { class: 'brand brand-large' }, h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }, '💬'), h('span', {}, t('app.name'))),
    status);
  root.replaceChildren(h('main', { class: 'auth-screen' }, card));

  const toApp = () => h('button', { class: 'btn btn-ghost btn-block', attrs: { type: 'button' }, on: { click: onLeave } }, t('invite.toApp'));

  function showRefusal(err) {
    const text = err.code === 'not_found' ? t('invite.notFound') : err.code === 'expired' ? t('invite.expired') : errorText(err);
    card.replaceChildren(card.firstChild,
      h('h1', { class: 'auth-title' }, t('invite.title')),
      h('p', { class: 'form-error', attrs: { role: 'alert' } }, text),
      toApp());
  }

  function showRoom(invite, body) {
    const room = invite.room;
    const facts = [t(`kind.${room.kind}`), t('room.members', { count: room.member_count })];
    if (invite.role === 'guest') facts.push(t('invite.guest'));
    card.replaceChildren(card.firstChild,
      h('p', { class: 'auth-lead invite-lead' }, t('invite.lead')),
      h('h1', { class: 'auth-title invite-room' }, room.name),
      h('p', { class: 'muted invite-facts' }, facts.join(' · ')),
      h('p', { class: 'muted invite-expiry' }, t('invite.expires', { date: formatDateTime(invite.expires_at) })),
      body);
  }

  async function join(api, bearer) {
    const { room } = await api.request('POST', `/api/invites/${enc(code)}/accept`);
    onJoined({ token: bearer, room });
  }

  function joinButton(api, me) {
    const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
    const button = h('button', {
      class: 'btn btn-primary btn-block', attrs: { type: 'button' },
      on: {
        click: async () => {
          button.disabled = true;
          error.textContent = '';
          try { await join(api, token); } catch (err) { error.textContent = refusalText(err); button.disabled = false; }
        },
      },
    }, t('invite.join'));
    return h('div', { class: 'invite-join' },
      h('p', { class: 'muted' }, t('invite.signedInAs', { username: me.username })),
      error, button, toApp());
  }

  function accountForm() {
    let mode = 'signup';
    const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
    const username = h('input', { attrs: { id: 'invite-username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32, autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'invite-username-hint' } });
    const password = h('input', { attrs: { id: 'invite-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 1024 } });
    const displayName = h('input', { attrs: { id: 'invite-display', autocomplete: 'name', maxlength: 64 } });
    const displayField = h('div', { class: 'field' }, h('label', { attrs: { for: 'invite-display' } }, t('auth.displayName')), displayName);
    const hint = h('small', { class: 'hint', attrs: { id: 'invite-username-hint' } }, t('auth.usernameHint'));
    const lead = h('p', { class: 'invite-form-lead' }, t('invite.signupLead'));
    const submit = h('button', { class: 'btn btn-primary btn-block', attrs: { type: 'submit' } }, t('invite.signup'));
    const switcher = h('button', { class: 'link-btn invite-switch', attrs: { type: 'button' }, on: { click: () => setMode(mode === 'signup' ? 'login' : 'signup') } }, t('invite.haveAccount'));

    function setMode(m) {
      mode = m;
      const signup = m === 'signup';
      displayField.hidden = !signup;
      hint.hidden = !signup;
      password.setAttribute('autocomplete', signup ? 'new-password' : 'current-password');
      lead.textContent = signup ? t('invite.signupLead') : t('invite.loginLead');
      submit.textContent = signup ? t('invite.signup') : t('invite.login');
      switcher.textContent = signup ? t('invite.haveAccount') : t('invite.noAccount');
      error.textContent = '';
    }

    const form = h('form', {
      class: 'auth-form', attrs: { novalidate: true, 'aria-label': t('invite.formLabel') },
      on: {
        submit: signInSubmit({
          getMode: () => mode, username, password, error, submit,
          refusal: (err) => (err.code === 'expired' || err.code === 'not_found' ? refusalText(err) : accountErrorText(err)),
          send: async (u) => {
            if (mode === 'signup') {
              const shown = displayName.value.trim();
              const res = await anonymous.request('POST', '/api/auth/register', { username: u, password: password.value, invite: code, ...(shown ? { display_name: shown } : {}) });
              onJoined({ token: res.token, room: res.room });
            } else {
              const res = await anonymous.login(u, password.value);
              await join(createApi({ getToken: () => res.token }), res.token);
            }
          },
        }),
      },
    },
    lead,
    h('div', { class: 'field' }, h('label', { attrs: { for: 'invite-username' } }, t('auth.username')), username, hint),
    h('div', { class: 'field' }, h('label', { attrs: { for: 'invite-password' } }, t('auth.password')), password),
    displayField, error, submit, switcher);
    return { form, focus: () => username.focus() };
  }

  // A visitor on an open day: a display name and in, no account (POST /api/auth/guest).
  function guestForm() {
    const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
    const name = h('input', { attrs: { id: 'invite-guest-name', autocomplete: 'nickname', required: true, maxlength: 64 } });
    const submit = h('button', { class: 'btn btn-primary btn-block', attrs: { type: 'submit' } }, t('invite.asGuest'));
    return h('form', {
      class: 'auth-form invite-guest', attrs: { novalidate: true, 'aria-label': t('invite.asGuest') },
      on: {
        submit: async (e) => {
          e.preventDefault();
          error.textContent = '';
          const shown = name.value.trim();
          if (!shown) { error.textContent = t('invite.guestName'); name.focus(); return; }
          submit.disabled = true;
          try {
            const res = await anonymous.request('POST', '/api/auth/guest', { display_name: shown, invite: code });
            onJoined({ token: res.token, room: res.room });
          } catch (err) {
            error.textContent = refusalText(err);
            submit.disabled = false;
          }
        },
      },
    },
    h('p', { class: 'invite-form-lead' }, t('invite.guestLead')),
    h('div', { class: 'field' }, h('label', { attrs: { for: 'invite-guest-name' } }, t('invite.guestName')), name),
    error, submit);
  }

  (async () => {
    let invite;
    try {
      invite = (await anonymous.request('GET', `/api/invites/${enc(code)}`)).invite;
    } catch (err) {
      showRefusal(err);
      return;
    }
    if (token) {
      const api = createApi({ getToken: () => token });
      try {
        const { user } = await api.me();
        showRoom(invite, joinButton(api, user));
        card.querySelector('.invite-join .btn-primary').focus();
        return;
      } catch (err) {
        if (err.code !== 'unauthorized') { showRefusal(err); return; }
        // A saved token that no longer works: this person signs up or logs in again.
      }
    }
    const account = accountForm();
    if (invite.role === 'guest' || invite.room.guests_allowed) {
      showRoom(invite, h('div', { class: 'invite-choices' },
        guestForm(), h('p', { class: 'muted invite-or' }, t('invite.guestOr')), account.form));
      card.querySelector('#invite-guest-name').focus();
      return;
    }
    showRoom(invite, account.form);
    account.focus();
  })();
}

function refusalText(err) {
  if (err.code === 'expired') return t('invite.expired');
  if (err.code === 'not_found') return t('invite.notFound');
  return errorText(err);
}
