// The welcome screen: log in or create an account.

import { h, icon } from '../dom.js';
import { t, lang, setLang } from '../i18n.js';
import { accountErrorText, showError, usernameProblem } from '../account-errors.js';
import { effectiveTheme, setTheme } from '../theme.js';

/**
 * The submit handler of a sign-in form (here and on an invite's page). It checks the
 * fields before sending anything (a problem is said in `error` and its field takes the
 * focus), keeps `submit` disabled while `send(username)` runs, and says a refusal in
 * `error`: a failed login is "wrong username or password", never which of the two;
 * anything else is `refusal(err)`. `getMode()` is 'login' or 'signup'.
 */
export function signInSubmit({ getMode, username, password, error, submit, send, refusal }) {
  return async (e) => {
    e.preventDefault();
    error.textContent = '';
    const u = username.value.trim();
    const badName = getMode() === 'signup' ? usernameProblem(u) : (u.length < 3 ? t('auth.usernameTooShort') : null);
    if (badName) { error.textContent = badName; username.focus(); return; }
    if (password.value.length < 8) { error.textContent = t('auth.passwordTooShort'); password.focus(); return; }
    submit.disabled = true;
    try {
      await send(u);
    } catch (err) {
      if (getMode() === 'login' && err.code === 'unauthorized') error.textContent = t('auth.wrongCredentials');
      else showError(error, refusal(err), err);
    } finally {
      submit.disabled = false;
    }
  };
}

/**
 * @param api        an anonymous API client
 * @param onSignedIn ({user, token}) after a successful login or sign-up
 */
export function renderAuth(root, { api, onSignedIn }) {
  let mode = 'login';
  const error = h('p', { class: 'form-error', attrs: { role: 'alert', id: 'auth-error' } });
  const username = h('input', {
    attrs: { id: 'auth-username', name: 'username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32, autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'auth-username-hint' },
  });
  const password = h('input', { attrs: { id: 'auth-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, minlength: 8 } });
  const displayName = h('input', { attrs: { id: 'auth-display', name: 'display_name', autocomplete: 'name', maxlength: 64 } });
  const displayField = h('div', { class: 'field', attrs: { hidden: true } },
    h('label', { attrs: { for: 'auth-display' } }, t('auth.displayName')), displayName);
  const usernameHint = h('small', { class: 'hint', attrs: { id: 'auth-username-hint', hidden: true } }, t('auth.usernameHint'));
  const submit = h('button', { class: 'btn btn-primary btn-block', attrs: { type: 'submit' } }, t('auth.login'));
  const tabLogin = h('button', { class: 'tab', attrs: { type: 'button', role: 'tab', 'aria-selected': 'true' } }, t('auth.login'));
  const tabSignup = h('button', { class: 'tab', attrs: { type: 'button', role: 'tab', 'aria-selected': 'false' } }, t('auth.signup'));

  const setMode = (m) => {
    mode = m;
    tabLogin.setAttribute('aria-selected', String(m === 'login'));
    tabSignup.setAttribute('aria-selected', String(m === 'signup'));
    displayField.hidden = m !== 'signup';
    usernameHint.hidden = m !== 'signup';
    password.setAttribute('autocomplete', m === 'signup' ? 'new-password' : 'current-password');
    submit.textContent = m === 'signup' ? t('auth.createAccount') : t('auth.login');
    error.textContent = '';
  };
  tabLogin.addEventListener('click', () => setMode('login'));
  tabSignup.addEventListener('click', () => setMode('signup'));

  const form = h('form', {
    class: 'auth-form', attrs: { novalidate: true, 'aria-label': t('auth.formLabel') },
    on: {
      submit: signInSubmit({
        getMode: () => mode, username, password, error, submit, refusal: accountErrorText,
        send: async (u) => {
          const res = mode === 'signup'
            ? await api.register(u, password.value, displayName.value.trim() || undefined)
            : await api.login(u, password.value);
          onSignedIn(res);
        },
      }),
    },
  },
  h('div', { class: 'tabs', attrs: { role: 'tablist' } }, tabLogin, tabSignup),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'auth-username' } }, t('auth.username')), username, usernameHint),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'auth-password' } }, t('auth.password')), password),
  displayField, error, submit);

  // Named by what it shows (the other language, in that language), so the name people
  // see is the one they can say to voice control; "Langue" is the description.
  const langBtn = h('button', {
    class: 'btn btn-ghost btn-small',
    attrs: { type: 'button', lang: lang() === 'fr' ? 'en' : 'fr', title: t('settings.language') },
    on: { click: () => setLang(lang() === 'fr' ? 'en' : 'fr') },
  }, lang() === 'fr' ? 'English' : 'Français');
  const themeBtn = h('button', {
    class: 'btn btn-ghost btn-small', attrs: { type: 'button' },
    on: { click: () => { setTheme(effectiveTheme() === 'dark' ? 'light' : 'dark'); } },
  }, icon('moon'), t('settings.toggleTheme'));

  root.replaceChildren(h('main', { class: 'auth-screen' },
    h('section', { class: 'auth-card' },
      h('div', { class: 'brand brand-large' }, h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }, '💬'), h('span', {}, t('app.name'))),
      h('h1', { class: 'auth-title' }, t('auth.welcome')),
      h('p', { class: 'auth-lead' }, t('auth.lead')),
      form,
      h('div', { class: 'auth-foot' }, langBtn, themeBtn))));
  username.focus();
}
