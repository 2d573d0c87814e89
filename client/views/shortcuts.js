// Keyboard shortcuts of the signed-in screen and their help panel (`?`).
//
//   Ctrl+K / ⌘K        quick switcher (rooms, DMs, people), even while typing
//   Alt+↑ / Alt+↓      previous / next room, in the sidebar's order
//   Alt+Shift+↑ / ↓    previous / next room with unread messages
//   Esc                closes the open dialog, popover or panel
//   ?                  this help, when not typing
//
// Other parts of the client add their own entries to the help with
// addShortcutHelp() (e.g. the search box); they handle their keys themselves.

import { h } from '../dom.js';
import { t, lang } from '../i18n.js';
import { groupedRooms, KINDS } from '../selectors.js';
import { openDialog } from './ui.js';

const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || '');
const MOD = MAC ? '⌘' : 'Ctrl';

/** Help entries added by other modules: {keys: [[...combo]], label: () => text, group?: 'nav'|'compose'}. */
const extra = [];
export function addShortcutHelp(entry) {
  extra.push(entry);
  return () => { const i = extra.indexOf(entry); if (i >= 0) extra.splice(i, 1); };
}

/** The help panel's rows: [group key, [[keys...], ...alternatives], label]. */
export function shortcutHelp() {
  const rows = [
    ['nav', [[MOD, 'K']], t('shortcuts.switcher')],
    ['nav', [['Alt', '↑'], ['Alt', '↓']], t('shortcuts.room')],
    ['nav', [['Alt', 'Shift', '↑'], ['Alt', 'Shift', '↓']], t('shortcuts.unread')],
    // Entries other parts add (the search box's shortcut goes here).
    ...extra.map((e) => [e.group || 'nav', e.keys, typeof e.label === 'function' ? e.label() : e.label]),
    ['nav', [['Esc']], t('shortcuts.close')],
    ['nav', [['?']], t('shortcuts.help')],
    ['compose', [['Enter']], t('shortcuts.send')],
    ['compose', [['Shift', 'Enter']], t('shortcuts.newline')],
    ['compose', [['↑']], t('shortcuts.editLast')],
    ['compose', [[':']], t('shortcuts.emoji')],
    ['compose', [['@']], t('shortcuts.mention')],
    ['compose', [['Esc']], t('shortcuts.cancelReply')],
  ];
  return rows;
}

/** The rooms in the sidebar's order (pure, exported for tests). */
export function roomOrder(state) {
  const groups = groupedRooms(state, lang());
  return KINDS.flatMap((k) => groups[k].map((r) => r.id));
}

/**
 * The room to go to from `active` (pure, exported for tests): `step` +1 or -1,
 * wrapping around; with `unreadOnly`, the next room with unread messages (or null).
 */
export function nextRoom(state, step, unreadOnly = false) {
  const order = roomOrder(state);
  if (!order.length) return null;
  const at = order.indexOf(state.activeRoom);
  for (let n = 1; n <= order.length; n++) {
    const i = ((at < 0 ? (step > 0 ? -1 : 0) : at) + step * n + order.length * n) % order.length;
    const id = order[i];
    if (id === state.activeRoom) continue;
    if (!unreadOnly || (state.rooms[id] && (state.rooms[id].unread || 0) > 0)) return id;
  }
  return null;
}

function typingIn(target) {
  if (!target || !(target instanceof Element)) return false;
  return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
}

let helpOpen = null;
export function openShortcutHelp() {
  if (helpOpen) return helpOpen;
  const groups = [['nav', t('shortcuts.navigation')], ['compose', t('shortcuts.composing')]];
  const rows = shortcutHelp();
  const combo = (keys) => h('span', { class: 'kbd-combo' },
    keys.flatMap((k, i) => [i ? h('span', { class: 'kbd-plus', attrs: { 'aria-hidden': 'true' } }, '+') : null, h('kbd', {}, k)]));
  const content = groups.map(([g, title]) => h('section', { class: 'shortcut-group' },
    h('h3', {}, title),
    h('dl', { class: 'shortcut-list' }, rows.filter((r) => r[0] === g).flatMap(([, alts, label]) => [
      h('dt', {}, alts.flatMap((keys, i) => [i ? h('span', { class: 'kbd-or' }, ` ${t('shortcuts.or')} `) : null, combo(keys)])),
      h('dd', {}, label),
    ]))));
  helpOpen = openDialog({ title: t('shortcuts.title'), className: 'shortcuts-help', content, onClose: () => { helpOpen = null; } });
  // On a small screen the list scrolls and has nothing to focus: the list itself takes
  // focus, so it scrolls from the keyboard too.
  helpOpen.body.tabIndex = 0;
  helpOpen.body.setAttribute('role', 'region');
  helpOpen.body.setAttribute('aria-label', t('shortcuts.title'));
  return helpOpen;
}

/**
 * Listen for the shortcuts on the document. ui: {store, openRoom(id), openSwitcher(),
 * closePanel() → true if it closed something}. Returns the function that stops listening.
 */
export function installShortcuts(ui) {
  const onKey = (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    const mod = MAC ? e.metaKey : e.ctrlKey;
    if (mod && !e.altKey && !e.shiftKey && (e.key === 'k' || e.key === 'K')) {
      e.preventDefault();
      if (!document.querySelector('dialog[open].switcher')) ui.openSwitcher();
      return;
    }
    const modalOpen = document.querySelector('dialog[open]');
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      if (modalOpen) return;
      e.preventDefault();
      const id = nextRoom(ui.store.get(), e.key === 'ArrowDown' ? 1 : -1, e.shiftKey);
      if (id != null) ui.openRoom(id);
      return;
    }
    if (e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey && !typingIn(e.target) && !modalOpen) {
      e.preventDefault();
      openShortcutHelp();
      return;
    }
    if (e.key === 'Escape' && !modalOpen && ui.closePanel && ui.closePanel()) e.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  return () => document.removeEventListener('keydown', onKey);
}
