// The page a password-reset link opens (/reset/<token>): a new password, twice.
// The link's token is used once; then the welcome screen logs in as usual.

import { h } from '../dom.js';
import { t, errorText } from '../i18n.js';

/** The token of a reset link, or null when the page is not one. */
export function resetToken(pathname) {
  const m = /^\/reset\/([A-Za-z0-9_-]{16,256})\/?$/.exec(pathname);
  return m ? m[1] : null;
}

/**
 * @param api     an anonymous API client
 * @param token   the link's token
 * @param onDone  () to leave for the welcome screen
 */
export function renderReset(root, { api, token, onDone }) {
  const message = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const first = h('input', { class: 'input', attrs: { id: 'reset-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 1024 } });
  const second = h('input', { class: 'input', attrs: { id: 'reset-repeat', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 1024 } });
  const submit = h('button', { class: 'btn btn-primary btn-block', attrs: { type: 'submit' } }, t('reset.submit'));
  const toLogin = h('button', { class: 'btn btn-soft btn-block', attrs: { type: 'button', hidden: true }, on: { click: onDone } }, t('reset.toLogin'));

  const form = h('form', {
    class: 'auth-form', attrs: { novalidate: true, 'aria-label': t('reset.title') },
    on: {
      submit: async (e) => {
        e.preventDefault();
        message.textContent = '';
        if (first.value.length < 8) { message.textContent = t('auth.passwordTooShort'); first.focus(); return; }
        if (first.value !== second.value) { message.textContent = t('reset.mismatch'); second.focus(); return; }
        submit.disabled = true;
        try {
          await api.resetPassword(token, first.value);
          message.setAttribute('role', 'status');
          message.classList.remove('form-error');
          message.textContent = t('reset.done');
          first.value = '';
          second.value = '';
          submit.hidden = true;
          toLogin.hidden = false;
          toLogin.focus();
        } catch (err) {
          message.textContent = err.code === 'unauthorized' ? t('reset.invalid') : errorText(err);
          toLogin.hidden = err.code !== 'unauthorized';
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  h('div', { class: 'field' }, h('label', { attrs: { for: 'reset-password' } }, t('reset.newPassword')), first),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'reset-repeat' } }, t('reset.repeat')), second),
  message, submit, toLogin);

  root.replaceChildren(h('main', { class: 'auth-screen' },
    h('section', { class: 'auth-card' },
      h('div', { class: 'brand brand-large' }, h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }, '💬'), h('span', {}, t('app.name'))),
      h('h1', { class: 'auth-title' }, t('reset.title')),
      h('p', { class: 'auth-lead' }, t('reset.lead')),
      form)));
  first.focus();
}
