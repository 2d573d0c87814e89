// Shared pieces of interface: modal dialogs (native <dialog>, which brings
// focus trapping and Esc for free), toasts, and anchored popovers.

import { h, icon, iconButton } from '../dom.js';
import { t } from '../i18n.js';

/** A modal dialog with a title and a close button; removed from the DOM when closed. */
export function openDialog({ title, className = '', content, onClose }) {
  const titleId = `dlg-${Math.random().toString(36).slice(2, 8)}`;
  const body = h('div', { class: 'dialog-body' });
  const dialog = h('dialog', { class: `dialog ${className}`.trim(), attrs: { 'aria-labelledby': titleId } },
    h('header', { class: 'dialog-head' },
      h('h2', { attrs: { id: titleId } }, title),
      iconButton('x', t('action.close'), () => dialog.close())),
    body);
  dialog.addEventListener('close', () => {
    // Toasts shown from the dialog outlive it.
    if (toastHost && dialog.contains(toastHost)) { document.body.appendChild(toastHost); placeToasts(); }
    dialog.remove();
    if (onClose) onClose();
  });
  // A click on the backdrop (the dialog element itself, outside its box) closes it.
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
  if (content) body.append(...[content].flat());
  document.body.appendChild(dialog);
  dialog.showModal();
  return { dialog, body, close: () => dialog.close() };
}

let toastHost = null;

/**
 * Toasts live in the open modal dialog, if any (outside it the page is inert:
 * not announced, under the backdrop), as a popover of the top layer, shown
 * again each time so that it comes above whatever opened since.
 */
function placeToasts() {
  const open = [...document.querySelectorAll('dialog[open]')];
  const parent = open.length ? open[open.length - 1] : document.body;
  if (toastHost.parentElement !== parent) parent.appendChild(toastHost);
  if (typeof toastHost.showPopover === 'function') {
    if (toastHost.matches(':popover-open')) toastHost.hidePopover();
    toastHost.showPopover();
  }
}
/** A short message at the bottom of the screen, announced to screen readers. */
export function toast(text, kind = 'info') {
  if (!toastHost || !toastHost.isConnected) {
    // A manual popover lives in the top layer: above an open modal dialog and its
    // backdrop (a confirmation of a change made in a dialog must be seen).
    toastHost = h('div', { class: 'toasts', attrs: { role: 'status', 'aria-live': 'polite', popover: 'manual' } });
    document.body.appendChild(toastHost);
  }
  placeToasts();
  const el = h('div', { class: `toast toast-${kind}` }, text);
  toastHost.appendChild(el);
  setTimeout(() => el.classList.add('toast-out'), 3600);
  setTimeout(() => el.remove(), 4000);
}

/**
 * Show `el` as a popover anchored to `anchor`. Esc or a click elsewhere
 * closes it and gives focus back to the anchor. Returns close().
 */
export function popover(el, anchor, { placement = 'top', onClose } = {}) {
  el.classList.add('popover');
  // Inside a modal dialog everything else is inert: the popover must live in it.
  (anchor.closest('dialog[open]') || document.body).appendChild(el);
  const place = () => {
    const a = anchor.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    let top = placement === 'top' ? a.top - r.height - 8 : a.bottom + 8;
    if (top < 8) top = Math.min(a.bottom + 8, vh - r.height - 8);
    if (top + r.height > vh - 8) top = Math.max(8, a.top - r.height - 8);
    let left = Math.min(Math.max(8, a.right - r.width), vw - r.width - 8);
    if (vw < 500) left = Math.max(8, (vw - r.width) / 2);
    el.style.top = `${Math.round(top)}px`;
    el.style.left = `${Math.round(left)}px`;
  };
  place();
  let closed = false;
  const close = (refocus = true) => {
    if (closed) return;
    closed = true;
    el.remove();
    document.removeEventListener('keydown', onKey, true);
    document.removeEventListener('pointerdown', onDown, true);
    window.removeEventListener('resize', place);
    if (refocus && anchor.isConnected) anchor.focus();
    if (onClose) onClose();
  };
  const onKey = (e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(); } };
  const onDown = (e) => { if (!el.contains(e.target) && !anchor.contains(e.target)) close(false); };
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('pointerdown', onDown, true);
  window.addEventListener('resize', place);
  return close;
}

/** A <select> from [value, label] pairs. */
export function select(options, value, onChange, attrs = {}) {
  const el = h('select', { attrs, on: { change: () => onChange(el.value) } },
    options.map(([v, label]) => h('option', { attrs: { value: v }, props: { selected: v === value } }, label)));
  return el;
}

/**
 * A menu of actions anchored to a button: items are {label, icon?, danger?,
 * onSelect}. Arrow keys move between items, Esc closes it and returns focus.
 */
export function openMenu(anchor, items, label) {
  const buttons = items.map((item) => h('button', {
    class: `menu-item${item.danger ? ' danger' : ''}`,
    attrs: { type: 'button', role: 'menuitem' },
    // Focus goes back to the menu's button first, so that a dialog the item opens
    // gives it back there when it closes (not to the removed item, i.e. nowhere).
    on: { click: () => { close(); item.onSelect(); } },
  }, item.icon ? icon(item.icon) : null, item.label));
  const menu = h('div', { class: 'menu', attrs: { role: 'menu', 'aria-label': label } }, buttons);
  menu.addEventListener('keydown', (e) => {
    const i = buttons.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const step = e.key === 'ArrowDown' ? 1 : -1;
      buttons[(i + step + buttons.length) % buttons.length].focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      buttons[e.key === 'Home' ? 0 : buttons.length - 1].focus();
    } else if (e.key === 'Tab') {
      close();
    }
  });
  anchor.setAttribute('aria-expanded', 'true');
  const close = popover(menu, anchor, { placement: 'bottom', onClose: () => anchor.setAttribute('aria-expanded', 'false') });
  if (buttons.length) buttons[0].focus();
  return close;
}

/**
 * Checks fields in order and shows the first problem under its field, in the
 * interface's language (never the browser's own bubble, which speaks the
 * browser's language). `messages` maps a ValidityState flag (valueMissing,
 * patternMismatch, tooShort…) to its text. Forms using it set `novalidate`,
 * so this is the one check that runs; the text is also the field's
 * validationMessage, and the field is marked aria-invalid until edited.
 */
export function reportInvalid(fields) {
  for (const [input] of fields) clearInvalid(input);
  for (const [input, messages] of fields) {
    if (input.checkValidity()) continue;
    const flag = Object.keys(messages).find((k) => input.validity[k]);
    const text = flag ? messages[flag] : Object.values(messages)[0] || t('error.bad_request');
    input.setCustomValidity(text);
    input.setAttribute('aria-invalid', 'true');
    fieldError(input).textContent = text;
    input.focus();
    input.addEventListener('input', () => clearInvalid(input), { once: true });
    return false;
  }
  return true;
}

/** The inline message element of a field (made on first use, tied by aria-describedby). */
function fieldError(input) {
  const id = `${input.id || `field-${Math.random().toString(36).slice(2, 8)}`}-error`;
  if (!input.id) input.id = id.slice(0, -'-error'.length);
  let el = document.getElementById(id);
  if (!el) {
    el = h('p', { class: 'field-error', attrs: { id, role: 'alert' } });
    const field = input.closest('.field');
    if (field) field.append(el); else input.after(el);
    const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    input.setAttribute('aria-describedby', [...described, id].join(' '));
  }
  return el;
}

function clearInvalid(input) {
  input.setCustomValidity('');
  input.removeAttribute('aria-invalid');
  const el = input.id && document.getElementById(`${input.id}-error`);
  if (el) el.textContent = '';
}
