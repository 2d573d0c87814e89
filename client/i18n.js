// Every string a person reads, in French and English. The language follows the
// browser until the user picks one, which is then remembered.

import { STRINGS } from './strings.js';

const STORAGE_KEY = 'chat.lang';
export const LANGUAGES = ['fr', 'en'];

function detect() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(saved)) return saved;
  } catch { /* storage may be disabled: fall through to the browser's choice */ }
  const langs = (typeof navigator !== 'undefined' && (navigator.languages || [navigator.language])) || [];
  for (const l of langs) {
    const base = String(l || '').slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(base)) return base;
  }
  return 'fr'; // the school is French-speaking
}

let current = detect();
const listeners = new Set();

export function lang() { return current; }

export function setLang(l) {
  if (!LANGUAGES.includes(l) || l === current) return;
  current = l;
  try { localStorage.setItem(STORAGE_KEY, l); } catch { /* not fatal */ }
  document.documentElement.lang = l;
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

/**
 * t('room.members', {count: 3}) — `{name}` placeholders are replaced by vars.
 * A value may be an object of plural forms ({one, other}), chosen with
 * Intl.PluralRules from vars.count.
 */
export function t(key, vars = {}) {
  let s = STRINGS[current][key] ?? STRINGS.en[key];
  if (s == null) return key;
  if (typeof s === 'object') {
    const form = new Intl.PluralRules(current).select(Number(vars.count) || 0);
    s = s[form] ?? s.other;
  }
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/**
 * The user-facing text for an error, from its code, in the interface's
 * language. The server's `message` (English, for developers) is never the
 * text: screens that have room for it show errorDetail() beside it.
 */
export function errorText(err) {
  if (!err) return t('error.generic');
  const key = `error.${err.code}`;
  const known = err.code && Object.hasOwn(STRINGS[current], key);
  const until = err.until ? new Date(err.until) : null;
  return t(known ? key : (Number(err.status) >= 500 ? 'error.internal' : 'error.generic'), {
    seconds: Math.ceil(Number(err.retry_after || err.retryAfter) || 1),
    until: until && !Number.isNaN(until.getTime()) ? formatDateTime(until.toISOString()) : '…',
  });
}

/** The server's own words about a refusal (a detail under errorText), or ''. */
export function errorDetail(err) {
  const said = err && err.message ? String(err.message) : '';
  return said && said !== err.code ? said : '';
}

// --- dates: always through Intl so French reads like French -----------------

function fmt(opts) { return new Intl.DateTimeFormat(current, opts); }

export function formatTime(iso) {
  return fmt({ hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

export function formatDateTime(iso) {
  return fmt({ dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** "Aujourd'hui", "Hier", or a full date for a day separator. */
export function formatDay(iso, now = new Date()) {
  const d = new Date(iso);
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((day(now) - day(d)) / 86400000);
  if (diff === 0) return t('day.today');
  if (diff === 1) return t('day.yesterday');
  const opts = { weekday: 'long', day: 'numeric', month: 'long' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  const s = fmt(opts).format(d);
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Short relative time for the inbox: "il y a 5 min". */
export function formatRelative(iso, now = Date.now()) {
  const secs = Math.round((new Date(iso).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto', style: 'short' });
  const abs = Math.abs(secs);
  if (abs < 45) return t('time.now');
  if (abs < 3600) return rtf.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(secs / 3600), 'hour');
  if (abs < 7 * 86400) return rtf.format(Math.round(secs / 86400), 'day');
  return fmt({ dateStyle: 'medium' }).format(new Date(iso));
}

/** "Alice, Bob et Chloé" with the language's own conjunction. */
export function formatList(items) {
  return new Intl.ListFormat(current, { style: 'long', type: 'conjunction' }).format(items);
}

const UNITS = [['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];

/** A duration chosen from a list (slow mode, mutes): "30 secondes", "1 heure", "2 weeks". */
export function formatDuration(seconds) {
  const [unit, size] = UNITS.find(([, n]) => seconds % n === 0) || UNITS[UNITS.length - 1];
  return new Intl.NumberFormat(current, { style: 'unit', unit, unitDisplay: 'long' }).format(seconds / size);
}

/** Time left on a countdown, to the second under an hour: "12 s", "9 min 5 s", "3 h 20 min", "2 j 4 h". */
export function formatLeft(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const part = (n, unit) => new Intl.NumberFormat(current, { style: 'unit', unit, unitDisplay: 'short' }).format(n);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d) return h ? `${part(d, 'day')} ${part(h, 'hour')}` : part(d, 'day');
  if (h) return m ? `${part(h, 'hour')} ${part(m, 'minute')}` : part(h, 'hour');
  if (m) return sec ? `${part(m, 'minute')} ${part(sec, 'second')}` : part(m, 'minute');
  return part(sec, 'second');
}
