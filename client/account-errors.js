// What a person is told when an account form (sign-up, a guest's upgrade) is
// refused: the rule they broke, in their language, checked before sending when
// it can be, and read from the refusal's code (and the field its message names)
// when the server is the one to say no.

import { h } from './dom.js';
import { t, errorText, errorDetail } from './i18n.js';

// The server's rule (chatserver/domain/text.py): 3-32 of a-z, 0-9, _ . - (either case).
const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
const RESERVED = ['guest-', 'deleted-'];
export const PASSWORD_MIN = 8;

/** The problem with a username as typed, or null when the server would take it. */
export function usernameProblem(raw) {
  const u = String(raw || '').trim();
  if (u.length < 3) return t('auth.usernameTooShort');
  if (!USERNAME.test(u)) return t('account.usernameRule');
  if (RESERVED.some((p) => u.toLowerCase().startsWith(p))) return t('account.usernameReserved');
  return null;
}

/** The problem with a password, or null. */
export function passwordProblem(raw) {
  return String(raw || '').length < PASSWORD_MIN ? t('auth.passwordTooShort') : null;
}

/**
 * The refusal of a sign-up or upgrade, worded for the person: the username
 * rule, a taken name, a short password; any other code through errorText.
 */
export function accountErrorText(err) {
  const said = String((err && err.message) || '').toLowerCase();
  if (err && err.code === 'conflict') return t('account.usernameTaken');
  if (err && err.code === 'bad_request') {
    if (said.includes('reserved')) return t('account.usernameReserved');
    if (said.includes('username')) return t('account.usernameRule');
    if (said.includes('password')) return t('auth.passwordTooShort');
  }
  if (err && err.code === 'too_large' && said.includes('password')) return t('account.passwordTooLong');
  return errorText(err);
}

/**
 * Puts `text` (the person's language) in the error element `el`, with the
 * server's own words about `err`, if any, as a smaller detail under it.
 */
export function showError(el, text, err) {
  const detail = errorDetail(err);
  el.replaceChildren(text);
  if (detail && detail !== text) el.append(h('small', { class: 'error-detail' }, t('error.detail', { message: detail })));
}
