// Suggestions while typing in the composer: `:tada` → emoji, `@ali` → people.
// A listbox under the caret's word, driven from the textarea's keydown so
// focus never leaves the text (aria-activedescendant points at the choice).

import { h, avatar } from '../dom.js';
import { t, lang } from '../i18n.js';
import { searchEmoji, withTone, emojiLabel } from '../emoji.js';
import { displayName } from '../selectors.js';

const SHORTCODE_RE = /(^|[\s(])(:[a-z0-9_+\-àâäçéèêëîïôöùûüÿœæ]{2,})$/i;
const MENTION_RE = /(^|[\s(])@([a-z0-9_.-]{0,32})$/i;

/** What the word before the caret asks for, if anything (pure, exported for tests). */
export function trigger(text, caret) {
  const before = text.slice(0, caret);
  let m = before.match(SHORTCODE_RE);
  if (m) return { kind: 'emoji', query: m[2].slice(1), start: caret - m[2].length };
  m = before.match(MENTION_RE);
  if (m) return { kind: 'mention', query: m[2].toLowerCase(), start: caret - m[2].length - 1 };
  return null;
}

export function createAutocomplete({ textarea, api, getMembers }) {
  const box = h('ul', { class: 'autocomplete', attrs: { role: 'listbox', id: 'composer-suggestions', hidden: true, 'aria-label': t('composer.suggestions') } });
  let items = [];
  let active = 0;
  let current = null;
  let seq = 0;

  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', 'composer-suggestions');

  function close() {
    seq++; // a search still in flight must not reopen the list
    box.hidden = true;
    items = [];
    current = null;
    textarea.removeAttribute('aria-activedescendant');
  }

  function show(list) {
    items = list.slice(0, 8);
    if (!items.length) return close();
    active = 0;
    box.replaceChildren(...items.map((it, i) => h('li', {
      class: 'ac-item', attrs: { role: 'option', id: `ac-${i}`, 'aria-selected': String(i === 0) },
      on: { mousedown: (e) => { e.preventDefault(); choose(i); } },
    }, it.lead, h('span', { class: 'ac-main' }, it.label), it.sub ? h('span', { class: 'ac-sub' }, it.sub) : null)));
    box.hidden = false;
    textarea.setAttribute('aria-activedescendant', 'ac-0');
  }

  function move(delta) {
    active = (active + delta + items.length) % items.length;
    [...box.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
    textarea.setAttribute('aria-activedescendant', `ac-${active}`);
    box.children[active].scrollIntoView({ block: 'nearest' });
  }

  function choose(i) {
    const it = items[i];
    if (!it || !current) return;
    const text = textarea.value;
    const caret = textarea.selectionStart;
    const insert = `${it.insert} `;
    textarea.value = text.slice(0, current.start) + insert + text.slice(caret);
    const pos = current.start + insert.length;
    textarea.setSelectionRange(pos, pos);
    close();
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }

  async function update() {
    const trig = trigger(textarea.value, textarea.selectionStart);
    if (!trig) return close();
    current = trig;
    const mine = ++seq;
    if (trig.kind === 'emoji') {
      const { emoji } = await searchEmoji(api, trig.query, lang(), 8);
      if (mine !== seq) return;
      show(emoji.map((e) => {
        // Show the shortcode that matches what was typed, so the list explains itself.
        const names = [e.name, ...(e.aliases || [])];
        const code = names.find((n) => n.toLowerCase().startsWith(trig.query.toLowerCase())) || e.name;
        return {
          lead: h('span', { class: 'ac-emoji', attrs: { 'aria-hidden': 'true' } }, withTone(e)),
          label: `:${code}:`, sub: emojiLabel(e), insert: withTone(e),
        };
      }));
    } else {
      const q = trig.query;
      const people = getMembers().filter((u) => u.username.startsWith(q) || (u.display_name || '').toLowerCase().startsWith(q));
      show(people.map((u) => ({ lead: avatar(u, 'xs'), label: displayName(u), sub: `@${u.username}`, insert: `@${u.username}` })));
    }
  }

  /** Returns true when the key was used by the suggestions (so the composer must not act on it). */
  function onKeydown(e) {
    if (box.hidden || !items.length) return false;
    if (e.key === 'ArrowDown') { move(1); return true; }
    if (e.key === 'ArrowUp') { move(-1); return true; }
    if (e.key === 'Enter' || e.key === 'Tab') { choose(active); return true; }
    if (e.key === 'Escape') { close(); return true; }
    return false;
  }

  textarea.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== textarea) close(); }, 100));
  return { el: box, update, onKeydown, close, isOpen: () => !box.hidden };
}
