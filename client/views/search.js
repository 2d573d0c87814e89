// Message search: a search box with filter chips (in:, from:, has:), results newest
// first with the matched words marked, and a jump to the message in its room with the
// messages around it loaded. Opened by the header's search button, Ctrl+/ anywhere,
// or / when the focus is not in a text field.

import { h, icon, iconButton, replaceChildren } from '../dom.js';
import { t, errorText, formatDateTime } from '../i18n.js';
import { roomTitle, displayName } from '../selectors.js';
import { plainHighlights } from '../markdown.js';
import { openDialog, toast } from './ui.js';
import { addShortcutHelp } from './shortcuts.js';

const PAGE = 20;
const CONTEXT = 50;        // messages loaded around a result
const BRIDGE_PAGE = 200;   // the history API's largest page
const BRIDGE_PAGES = 10;   // how far back a jump fills the room's history
const SNIPPET = 280;       // code points of a long body shown around its first match
const HAS = {
  question: 'question', attachment: 'attachment', link: 'link', pin: 'pin',
  lien: 'link', fichier: 'attachment', 'pièce-jointe': 'attachment', épingle: 'pin', épinglé: 'pin',
};
const CHIP = /^(in|from|has|dans|de|avec):(\S+)$/i;
const KIND = { dans: 'in', de: 'from', avec: 'has' };
const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || '');

addShortcutHelp({ group: 'nav', keys: [[MAC ? '⌘' : 'Ctrl', '/'], ['/']], label: () => t('search.shortcut') });

/** True for a key press that opens the search: Ctrl+/ (⌘/ on a Mac) anywhere, / outside text. */
export function isSearchShortcut(e) {
  if (e.key !== '/' || e.altKey) return false;
  if (e.ctrlKey || e.metaKey) return true;
  const el = e.target;
  const typing = el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  return !typing && !e.shiftKey;
}

/**
 * The body as plain text (no Markdown markers) with the matched words in <mark>
 * nodes; a long body is cut around its first match.
 */
export function markedBody(body, sourceHighlights) {
  const { text, highlights } = plainHighlights(body, sourceHighlights);
  const chars = Array.from(text);
  let from = 0;
  let to = chars.length;
  if (chars.length > SNIPPET) {
    const first = highlights.length ? highlights[0][0] : 0;
    from = Math.max(0, Math.min(first - 60, chars.length - SNIPPET));
    to = from + SNIPPET;
  }
  const out = [];
  if (from > 0) out.push('…');
  let at = from;
  for (const [start, end] of highlights) {
    if (end <= from || start >= to) continue;
    const s = Math.max(start, from);
    const e = Math.min(end, to);
    if (s > at) out.push(chars.slice(at, s).join(''));
    out.push(h('mark', {}, chars.slice(s, e).join('')));
    at = e;
  }
  if (at < to) out.push(chars.slice(at, to).join(''));
  if (to < chars.length) out.push('…');
  return out;
}

/**
 * Load the messages around `messageId` into the room's history, bridging up to the
 * history already loaded so the list stays contiguous; false when it is too far back
 * (the list then pages back on its own, as for any jump).
 */
export async function loadContext({ api, store, actions }, roomId, messageId) {
  const loaded = () => store.get().messages[roomId];
  let log = loaded();
  if (!log || !log.loaded) { await actions.loadLatest(roomId); log = loaded(); }
  if (log && log.byId[messageId]) return true;
  const { messages: around } = await api.request('GET', `/api/rooms/${roomId}/messages?around=${messageId}&limit=${CONTEXT}`);
  if (!around.length) return false;
  log = loaded();
  const firstSeq = log && log.ids.length ? log.byId[log.ids[0]].seq : Infinity;
  const batch = around.slice();
  let after = around[around.length - 1].seq;
  for (let i = 0; after + 1 < firstSeq && i < BRIDGE_PAGES; i++) {
    const params = `after=${after}&limit=${BRIDGE_PAGE}${Number.isFinite(firstSeq) ? `&before=${firstSeq}` : ''}`;
    const { messages } = await api.request('GET', `/api/rooms/${roomId}/messages?${params}`);
    if (!messages.length) break;
    batch.push(...messages);
    after = messages[messages.length - 1].seq;
    if (messages.length < BRIDGE_PAGE) break;
  }
  if (after + 1 < firstSeq && Number.isFinite(firstSeq)) return false;
  const reachedStart = around[0].seq <= 1;
  store.dispatch({ op: 'local.history', room: roomId, messages: batch, direction: 'before', limit: reachedStart ? batch.length + 1 : batch.length });
  return true;
}

/**
 * The search dialog. `onJump(roomId, messageId)` opens the room at the message once its
 * context is loaded; `initial` pre-fills the box.
 */
export function openSearch({ api, store, actions, onJump, initial = '' }) {
  let chips = [];          // {kind: 'in'|'from'|'has', value, label, param}
  let cursor = null;
  let results = [];
  let seq = 0;             // answers to an older query are dropped
  let timer = null;

  const input = h('input', {
    class: 'search-input',
    attrs: {
      type: 'search', 'aria-label': t('search.label'), placeholder: t('search.placeholder'),
      autocomplete: 'off', spellcheck: 'false', maxlength: 400, 'aria-describedby': 'search-hint',
    },
    props: { value: initial },
  });
  const chipRow = h('span', { class: 'search-chips' });
  const box = h('form', {
    class: 'search-box', attrs: { role: 'search' },
    on: { submit: (e) => { e.preventDefault(); takeChips(true); run(true); } },
  }, icon('search'), chipRow, input);
  const hint = h('p', { class: 'search-hint', attrs: { id: 'search-hint' } }, t('search.hint'));
  const suggest = h('div', { class: 'search-suggest', attrs: { role: 'group', 'aria-label': t('search.filters') } },
    ['in:', 'from:', 'has:link', 'has:question', 'has:pin', 'has:attachment'].map((text) => h('button', {
      class: 'chip chip-suggest', attrs: { type: 'button' },
      on: { click: () => { addText(text); } },
    }, text)));
  const status = h('p', { class: 'search-status', attrs: { role: 'status', 'aria-live': 'polite' } });
  const list = h('ul', { class: 'search-results', attrs: { 'aria-label': t('search.results') } });
  const more = h('button', { class: 'btn search-more', attrs: { type: 'button', hidden: true }, on: { click: () => run(false) } }, t('search.more'));

  const { dialog, close } = openDialog({
    title: t('search.title'), className: 'search-dialog',
    content: [box, suggest, hint, status, list, more],
  });

  function addText(text) {
    const value = input.value.replace(/\s+$/, '');
    input.value = `${value ? `${value} ` : ''}${text}${text.endsWith(':') ? '' : ' '}`;
    input.focus();
    if (!text.endsWith(':')) { takeChips(false); schedule(); }
  }

  function chipFor(kind, raw) {
    const s = store.get();
    if (kind === 'in') {
      const wanted = raw.replace(/^#/, '').toLowerCase();
      const room = Object.values(s.rooms).find((r) => (r.slug || '').toLowerCase() === wanted
        || roomTitle(r, s).toLowerCase() === wanted);
      if (!room) { toast(t('search.unknownRoom', { name: raw }), 'error'); return null; }
      return { kind, param: room.id, label: `in:${room.kind === 'dm' ? roomTitle(room, s) : `#${room.slug || room.name}`}` };
    }
    if (kind === 'from') {
      const name = raw.replace(/^@/, '');
      return { kind, param: name, label: `from:@${name}` };
    }
    const has = HAS[raw.toLowerCase()];
    if (!has) { toast(t('search.unknownHas', { value: raw }), 'error'); return null; }
    return { kind, param: has, label: `has:${has}` };
  }

  /** Words typed as `in:x`, `from:x` or `has:x` become chips (the last one only once followed by a space, unless `all`). */
  function takeChips(all) {
    const words = input.value.split(/(\s+)/);
    const keep = [];
    let changed = false;
    words.forEach((word, i) => {
      const last = i === words.length - 1;
      const m = CHIP.exec(word);
      if (m && (!last || all)) {
        const kind = KIND[m[1].toLowerCase()] || m[1].toLowerCase();
        const chip = chipFor(kind, m[2]);
        if (chip) {
          chips = chips.filter((c) => c.kind !== chip.kind).concat(chip);
          changed = true;
          return;
        }
      }
      keep.push(word);
    });
    if (changed) {
      input.value = keep.join('').replace(/^\s+/, '');
      renderChips();
    }
  }

  function renderChips() {
    replaceChildren(chipRow, chips.map((chip) => h('span', { class: 'chip search-chip', dataset: { kind: chip.kind } },
      chip.label,
      iconButton('x', t('search.removeFilter', { filter: chip.label }), () => {
        chips = chips.filter((c) => c !== chip);
        renderChips();
        input.focus();
        schedule();
      }, 'chip-x'))));
  }

  function params(first) {
    const p = new URLSearchParams();
    p.set('q', input.value.trim());
    p.set('limit', String(PAGE));
    for (const chip of chips) p.set(chip.kind === 'in' ? 'room' : chip.kind, String(chip.param));
    if (!first && cursor) p.set('cursor', cursor);
    return p.toString();
  }

  async function run(first) {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) {
      results = []; cursor = null;
      status.textContent = chips.length ? t('search.needWords') : '';
      render();
      return;
    }
    const mine = ++seq;
    status.textContent = t('search.searching');
    try {
      const found = await api.request('GET', `/api/search?${params(first)}`);
      if (mine !== seq) return;
      results = first ? found.results : results.concat(found.results);
      cursor = found.next_cursor;
      status.textContent = results.length ? t('search.count', { count: results.length, more: cursor ? '+' : '' }) : t('search.none');
      render();
    } catch (e) {
      if (mine !== seq) return;
      status.textContent = e && e.code === 'bad_request' ? t('search.bad') : errorText(e);
      results = []; cursor = null;
      render();
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => run(true), 300);
  }

  function render() {
    const s = store.get();
    replaceChildren(list, results.map(({ message, room, highlights }) => {
      const joined = room.id in s.rooms;
      const where = joined ? roomTitle(s.rooms[room.id], s) : roomTitle(room, s);
      const author = s.users[message.author.id] || message.author;
      const open = h('button', {
        class: 'search-hit', attrs: { type: 'button', 'data-message': message.id },
        on: { click: () => go(room, message) },
      },
      h('span', { class: 'search-hit-head' },
        h('span', { class: 'search-room' }, room.kind === 'dm' ? icon('message') : room.visibility === 'private' ? icon('lock') : '#', where),
        h('span', { class: 'search-author' }, displayName(author)),
        h('time', { class: 'search-time', attrs: { datetime: message.created_at } }, formatDateTime(message.created_at)),
        joined ? null : h('span', { class: 'search-join' }, t('search.joinToOpen'))),
      h('span', { class: 'search-body' }, markedBody(message.body, highlights)));
      return h('li', {}, open);
    }));
    more.hidden = !cursor;
  }

  async function go(room, message) {
    try {
      if (!(room.id in store.get().rooms)) await actions.joinRoom(room.id);
      await loadContext({ api, store, actions }, room.id, message.id);
    } catch (e) {
      toast(errorText(e), 'error');
      return;
    }
    close();
    onJump(room.id, message.id);
  }

  input.addEventListener('input', () => { takeChips(false); schedule(); });
  input.addEventListener('keydown', (e) => {
    // A search field would only clear itself on Esc: Esc closes the search.
    if (e.key === 'Escape') { e.preventDefault(); close(); return; }
    if (e.key === 'Backspace' && !input.value && chips.length) {
      chips = chips.slice(0, -1);
      renderChips();
      schedule();
    } else if (e.key === 'ArrowDown') {
      const first = list.querySelector('.search-hit');
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
  list.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const hits = [...list.querySelectorAll('.search-hit')];
    const i = hits.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    if (e.key === 'ArrowUp' && i === 0) input.focus();
    else (hits[e.key === 'ArrowDown' ? Math.min(i + 1, hits.length - 1) : i - 1]).focus();
  });
  input.focus();
  if (initial) { takeChips(true); run(true); }
  return { dialog, close, input };
}
