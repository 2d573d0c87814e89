// A formatted message body as DOM nodes: markdown.js parses, this builds
// elements with text nodes only. Links are <a> with checked hrefs (http,
// https, mailto); spoilers are masked until clicked (or Enter/Space), and
// stay open across repaints of the same message.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { parse } from '../markdown.js';

// Spoilers a person opened, by message key and position, so a repaint (a new
// reaction, an edit elsewhere) does not hide them again.
const revealed = new Set();
const REVEALED_MAX = 500;

function spoiler(node, build, key) {
  const id = key != null ? `${key}:${build.spoilers++}` : null;
  const inner = h('span', { class: 'spoiler-text' }, build.inline(node.children));
  const el = h('span', { class: 'spoiler' }, inner);
  const open = () => {
    el.classList.add('revealed');
    el.removeAttribute('role');
    el.removeAttribute('tabindex');
    el.removeAttribute('aria-label');
    el.removeAttribute('title');
    inner.inert = false;
    inner.removeAttribute('aria-hidden');
    if (id) {
      revealed.add(id);
      if (revealed.size > REVEALED_MAX) revealed.delete(revealed.values().next().value);
    }
  };
  if (id && revealed.has(id)) { open(); return el; }
  // Masked: one button-like control; what is inside cannot be read, focused or clicked yet.
  el.setAttribute('role', 'button');
  el.setAttribute('tabindex', '0');
  el.setAttribute('aria-label', t('format.spoiler'));
  el.setAttribute('title', t('format.spoilerReveal'));
  inner.inert = true;
  inner.setAttribute('aria-hidden', 'true');
  const reveal = (e) => {
    if (el.classList.contains('revealed')) return;
    e.preventDefault();
    e.stopPropagation();
    const hadFocus = document.activeElement === el;
    open();
    if (hadFocus) el.closest('article')?.focus({ preventScroll: true });
  };
  el.addEventListener('click', reveal);
  el.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') reveal(e); });
  return el;
}

function inlineNodes(nodes, build) {
  return nodes.map((n) => {
    switch (n.type) {
      case 'text': return document.createTextNode(n.text);
      case 'code': return h('code', {}, n.text);
      case 'link': return h('a', { attrs: { href: n.href, rel: 'noopener noreferrer', target: '_blank', title: n.title || null } }, n.text);
      case 'mention': return h('span', { class: `mention${n.me ? ' mention-me' : ''}` }, n.text);
      case 'strong': return h('strong', {}, inlineNodes(n.children, build));
      case 'em': return h('em', {}, inlineNodes(n.children, build));
      case 'strike': return h('s', {}, inlineNodes(n.children, build));
      case 'spoiler': return spoiler(n, build, build.key);
      default: return document.createTextNode(n.text || '');
    }
  });
}

function blockNodes(blocks, build, top = false) {
  // A body that is one paragraph (most messages) stays inline, as before formatting existed.
  if (top && blocks.length === 1 && blocks[0].type === 'paragraph') return build.inline(blocks[0].children);
  return blocks.map((b) => {
    switch (b.type) {
      case 'paragraph': return h('p', { class: 'md-p' }, build.inline(b.children));
      case 'codeblock': return h('pre', { attrs: { 'data-lang': b.lang } }, h('code', {}, b.text));
      case 'quote': return h('blockquote', { class: 'md-quote' }, blockNodes(b.children, build));
      case 'list': {
        const items = b.items.map((item) => h('li', {},
          item.length === 1 && item[0].type === 'paragraph' ? build.inline(item[0].children) : blockNodes(item, build)));
        return b.ordered
          ? h('ol', { class: 'md-list', attrs: { start: b.start !== 1 ? b.start : null } }, items)
          : h('ul', { class: 'md-list' }, items);
      }
      default: return null;
    }
  });
}

/**
 * Body text → a fragment of formatted nodes, never markup.
 * @param mentionedNames usernames the server resolved as mentions
 * @param me             the viewer's username
 * @param key            a stable key (the message id) to remember opened spoilers
 */
export function renderFormatted(body, { mentionedNames = [], me = null, key = null } = {}) {
  const build = { key, spoilers: 0, inline: null };
  build.inline = (nodes) => inlineNodes(nodes, build);
  const frag = document.createDocumentFragment();
  frag.append(...blockNodes(parse(body, { mentioned: mentionedNames, me }), build, true).flat().filter(Boolean));
  return frag;
}
