// The emoji picker: search in French or English, recent emoji first, skin
// tones, arrow-key navigation. Used for reactions and for the composer.

import { h, debounce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { searchEmoji, rememberEmoji, withTone, skinTone, setSkinTone, emojiLabel } from '../emoji.js';
import { popover } from './ui.js';

const COLUMNS = 8;
const TONES = ['✋', '✋🏻', '✋🏼', '✋🏽', '✋🏾', '✋🏿'];

/** Open the picker next to `anchor`; onPick(emoji) is called with the chosen emoji. */
export function openEmojiPicker(anchor, { api, title, onPick }) {
  const search = h('input', {
    class: 'emoji-search',
    attrs: { type: 'search', placeholder: t('emoji.search'), 'aria-label': t('emoji.search'), autocomplete: 'off', spellcheck: 'false' },
  });
  const body = h('div', { class: 'emoji-body' });
  const preview = h('div', { class: 'emoji-preview', attrs: { 'aria-hidden': 'true' } });
  let tone = skinTone();
  const toneBtns = TONES.map((glyph, i) => h('button', {
    class: `tone${i === tone ? ' active' : ''}`,
    attrs: { type: 'button', 'aria-label': t('emoji.tone', { n: i }), 'aria-pressed': String(i === tone), title: t('emoji.tone', { n: i }) },
    on: {
      click: () => {
        tone = i;
        setSkinTone(i);
        toneBtns.forEach((b, j) => { b.classList.toggle('active', j === i); b.setAttribute('aria-pressed', String(j === i)); });
        refresh();
      },
    },
  }, glyph));
  const picker = h('div', { class: 'emoji-picker', attrs: { role: 'dialog', 'aria-label': title || t('emoji.title') } },
    h('div', { class: 'emoji-top' }, search, h('div', { class: 'tones', attrs: { role: 'group', 'aria-label': t('emoji.tones') } }, toneBtns)),
    body, preview);

  let first = null;
  let close = () => {};
  const pick = (emoji) => {
    rememberEmoji(emoji);
    close();
    onPick(emoji);
  };

  function cell(entry) {
    const glyph = typeof entry === 'string' ? entry : withTone(entry, tone);
    const name = typeof entry === 'string' ? '' : emojiLabel(entry);
    const label = name ? `${glyph} ${name}` : glyph;
    return h('button', {
      class: 'emoji-cell',
      attrs: { type: 'button', 'aria-label': label, title: name ? `${name} :${entry.name}:` : glyph, 'data-emoji': glyph },
      on: {
        click: () => pick(glyph),
        focus: () => showPreview(glyph, entry),
        mouseenter: () => showPreview(glyph, entry),
      },
    }, glyph);
  }

  function showPreview(glyph, entry) {
    const name = typeof entry === 'string' ? '' : emojiLabel(entry);
    const alias = typeof entry === 'string' ? '' : `:${entry.name}:`;
    preview.replaceChildren(h('span', { class: 'emoji-preview-glyph' }, glyph),
      h('span', { class: 'emoji-preview-text' }, h('strong', {}, name), h('small', {}, alias)));
  }

  function section(label, cells) {
    const grid = h('div', { class: 'emoji-grid', attrs: { role: 'group', 'aria-label': label } }, cells);
    return h('section', {}, h('h4', {}, label), grid);
  }

  let generation = 0;
  async function refresh() {
    const q = search.value.trim().replace(/^:/, '');
    const mine = ++generation;
    const { emoji, recent } = await searchEmoji(api, q, lang(), 120);
    if (mine !== generation) return;
    const parts = [];
    if (!q && recent.length) parts.push(section(t('emoji.recent'), recent.map(cell)));
    if (emoji.length) parts.push(section(q ? t('emoji.results') : t('emoji.popular'), emoji.map(cell)));
    else parts.push(h('p', { class: 'emoji-empty' }, t('emoji.none')));
    body.replaceChildren(...parts);
    const firstCell = body.querySelector('.emoji-cell');
    first = firstCell ? firstCell.dataset.emoji : null;
    if (firstCell) firstCell.dispatchEvent(new Event('mouseenter'));
  }

  search.addEventListener('input', debounce(refresh, 120));
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); if (first) pick(first); }
    if (e.key === 'ArrowDown') { e.preventDefault(); const c = body.querySelector('.emoji-cell'); if (c) c.focus(); }
  });
  // Arrow keys move through the grid like a spreadsheet.
  body.addEventListener('keydown', (e) => {
    const cells = [...body.querySelectorAll('.emoji-cell')];
    const i = cells.indexOf(document.activeElement);
    if (i < 0) return;
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS }[e.key];
    if (!step) return;
    e.preventDefault();
    const j = i + step;
    if (j < 0) search.focus();
    else if (cells[Math.min(j, cells.length - 1)]) cells[Math.min(j, cells.length - 1)].focus();
  });

  close = popover(picker, anchor, { placement: 'top' });
  refresh();
  search.focus();
  return close;
}
