// Element factory. Every piece of text goes through createTextNode, so user
// content can never become markup: there is deliberately no way to pass HTML.

import { ICONS } from './icons.js';

/**
 * h('button', {class: 'x', attrs: {'aria-label': 'Send'}, on: {click}}, 'Send')
 * props: class, text, attrs (set with setAttribute), props (assigned as
 * properties, e.g. value/checked/disabled), on (event listeners), dataset.
 * Children: strings/numbers become text nodes, null/false are skipped, arrays
 * are flattened.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text != null) el.textContent = String(props.text);
  if (props.attrs) {
    for (const [k, v] of Object.entries(props.attrs)) {
      if (v === false || v == null) continue;
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (props.props) Object.assign(el, props.props);
  if (props.dataset) Object.assign(el.dataset, props.dataset);
  if (props.on) {
    for (const [type, fn] of Object.entries(props.on)) el.addEventListener(type, fn);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An inline SVG icon from icons.js (paths are constants, never user data). */
const SVG_NS = 'http://www.w3.org/2000/svg';
export function icon(name, cls = '') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon ${cls}`.trim());
  for (const d of ICONS[name] || []) {
    const p = document.createElementNS(SVG_NS, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}

/** A labelled icon-only button: the label is both aria-label and tooltip. */
export function iconButton(name, label, onClick, cls = '') {
  return h('button', {
    class: `icon-btn ${cls}`.trim(),
    attrs: { type: 'button', 'aria-label': label, title: label },
    on: onClick ? { click: onClick } : {},
  }, icon(name));
}

// Where avatar pictures come from (avatars.js: fetched with the token, as blob: URLs).
let avatarSource = null;
export function setAvatarSource(fn) { avatarSource = fn; }

/** Initials avatar; colour derives from the user id so it is stable everywhere. A user
 * with a picture gets it over the initials once it has loaded. */
export function avatar(user, size = 'md') {
  const name = (user && (user.display_name || user.username)) || '?';
  const initials = name.trim().split(/\s+/).slice(0, 2).map((w) => [...w][0] || '').join('').toUpperCase() || '?';
  const hue = ((user && user.id) || 0) * 47 % 360;
  // The initials are drawn by CSS (::before): decoration, so they are no part of the visible
  // text of the button or link an avatar sits in, whose name is the person's name.
  const el = h('span', { class: `avatar avatar-${size}`, attrs: { 'aria-hidden': 'true', 'data-initials': initials } });
  el.style.setProperty('--avatar-hue', String(hue));
  if (user && typeof user.avatar === 'string' && avatarSource) {
    const img = h('img', { class: 'avatar-img', attrs: { alt: '', decoding: 'async' }, dataset: { avatar: user.avatar } });
    const src = avatarSource(user.avatar);
    if (src) img.src = src;
    el.appendChild(img);
  }
  return el;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
