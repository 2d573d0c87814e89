// Formatting from the keyboard in the composer: Ctrl+B (⌘B) bold, Ctrl+I
// italic, Ctrl+Shift+X strikethrough, each wrapping or unwrapping the
// selection; and the formatting syntax listed in the shortcuts help (`?`).

import { t } from '../i18n.js';
import { toggleWrap } from '../markdown.js';
import { addShortcutHelp } from './shortcuts.js';

const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || '');
const MOD = MAC ? '⌘' : 'Ctrl';

/** Replace the textarea's text, keeping the browser's undo (only the changed middle is typed). */
function replaceText(textarea, next) {
  const old = textarea.value;
  let a = 0;
  while (a < old.length && a < next.length && old[a] === next[a]) a++;
  let b = 0;
  while (b < old.length - a && b < next.length - a && old[old.length - 1 - b] === next[next.length - 1 - b]) b++;
  textarea.focus();
  textarea.setSelectionRange(a, old.length - b);
  const typed = next.slice(a, next.length - b);
  // execCommand keeps Ctrl+Z working; where it is gone, set the value.
  const ok = typeof document.execCommand === 'function' && document.execCommand(typed ? 'insertText' : 'delete', false, typed);
  if (!ok || textarea.value !== next) {
    textarea.value = next;
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }
}

const KEYS = [
  { test: (e) => !e.shiftKey && e.key.toLowerCase() === 'b', marker: '**' },
  { test: (e) => !e.shiftKey && e.key.toLowerCase() === 'i', marker: '*' },
  { test: (e) => e.shiftKey && e.key.toLowerCase() === 'x', marker: '~~' },
];

let helpAdded = false;

/** Wires the keys on the composer's textarea (and, once, the help entries). */
export function installFormatKeys(textarea) {
  textarea.addEventListener('keydown', (e) => {
    if (e.isComposing || e.altKey || !(MAC ? e.metaKey : e.ctrlKey)) return;
    const key = KEYS.find((k) => k.test(e));
    if (!key) return;
    e.preventDefault();
    const { value, start, end } = toggleWrap(textarea.value, textarea.selectionStart, textarea.selectionEnd, key.marker);
    replaceText(textarea, value);
    textarea.setSelectionRange(start, end);
  });
  if (helpAdded) return;
  helpAdded = true;
  addShortcutHelp({ group: 'compose', keys: [[MOD, 'B']], label: () => t('format.keyBold') });
  addShortcutHelp({ group: 'compose', keys: [[MOD, 'I']], label: () => t('format.keyItalic') });
  addShortcutHelp({ group: 'compose', keys: [[MOD, 'Shift', 'X']], label: () => t('format.keyStrike') });
  addShortcutHelp({ group: 'compose', keys: [['`code`'], ['```']], label: () => t('format.syntaxCode') });
  addShortcutHelp({ group: 'compose', keys: [['> ']], label: () => t('format.syntaxQuote') });
  addShortcutHelp({ group: 'compose', keys: [['- '], ['1. ']], label: () => t('format.syntaxList') });
  addShortcutHelp({ group: 'compose', keys: [['||…||']], label: () => t('format.syntaxSpoiler') });
  addShortcutHelp({ group: 'compose', keys: [['[…](https://…)']], label: () => t('format.syntaxLink') });
}
