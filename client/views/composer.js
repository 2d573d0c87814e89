// The message composer: Enter sends, Shift+Enter breaks the line, Up edits
// your last message, Esc cancels a reply; `:emoji` and `@mention`
// suggestions; the reply bar; the typing indicator of the room above it.
// It also says when the viewer may not write: a read-only room (archived, or
// announcements), a mute with its time left, and the slow-mode countdown.

import { h, iconButton, icon } from '../dom.js';
import { t, formatList, formatLeft, formatDuration, formatTime, formatDateTime } from '../i18n.js';
import { displayName, lastOwnMessage, roomTitle, typingUsers } from '../selectors.js';
import { moderates, mutedUntil, readOnlyReason, slowUntil } from '../moderation.js';
import { createAutocomplete } from './autocomplete.js';
import { messagePreview } from '../uploads.js';

const MAX_BODY = 4000;
const MUTE_RECHECK_MS = 30_000; // a lifted mute sends no event: the members list tells

/** What stands between the viewer and sending in a room right now. */
function restriction(s, roomId, now) {
  const readOnly = readOnlyReason(s, roomId);
  if (readOnly) return { kind: readOnly };
  const muted = mutedUntil(s, roomId, now);
  if (muted) return { kind: 'muted', until: muted };
  const slow = slowUntil(s, roomId, now);
  if (slow) return { kind: 'wait', until: slow };
  const room = s.rooms[roomId];
  const every = room && !moderates(s, roomId) ? Number(room.slow_mode) || 0 : 0;
  if (every) return { kind: 'slow', every };
  return { kind: null };
}

export function createComposer(store, actions, ui) {
  const textarea = h('textarea', {
    class: 'composer-input',
    attrs: { rows: 1, id: 'composer-input', maxlength: MAX_BODY, 'aria-label': t('composer.label'), enterkeyhint: 'send' },
  });
  const ac = createAutocomplete({
    textarea, api: ui.api,
    getMembers: () => {
      const s = store.get();
      return (s.members[s.activeRoom] || []).map((id) => s.users[id]).filter((u) => u && (!s.me || u.id !== s.me.id));
    },
  });
  const replyBar = h('div', { class: 'reply-bar', attrs: { hidden: true } });
  const typing = h('div', { class: 'typing', attrs: { 'aria-live': 'polite' } });
  const emojiBtn = iconButton('smile', t('emoji.insert'), () => ui.pickEmoji(emojiBtn, insertAtCaret), 'composer-emoji');
  const sendBtn = h('button', { class: 'send-btn', attrs: { type: 'submit', 'aria-label': t('composer.send'), title: t('composer.send') } }, icon('send'));
  const counter = h('span', { class: 'char-count', attrs: { hidden: true, 'aria-live': 'polite' } });
  const countdown = h('span', { class: 'slow-count', attrs: { hidden: true, 'aria-hidden': 'true' } });
  const notice = h('div', { class: 'composer-notice', attrs: { hidden: true } });
  // Announced once per change of situation, not at every tick of a countdown.
  const announce = h('div', { class: 'visually-hidden', attrs: { role: 'status', 'aria-live': 'polite' } });
  let replyTo = null;
  let limit = { kind: null };
  // "Ask as a question": on for the next message only, then back off.
  let asking = false;
  const askBtn = h('button', {
    class: 'ask-toggle', attrs: { type: 'button', 'aria-pressed': 'false', title: t('questions.ask') },
    on: { click: () => { setAsking(!asking); textarea.focus(); } },
  }, icon('message'), h('span', { class: 'ask-label' }, t('questions.ask')));
  function setAsking(on) {
    asking = on;
    askBtn.setAttribute('aria-pressed', String(on));
    askBtn.classList.toggle('on', on);
  }

  const form = h('form', {
    class: 'composer',
    attrs: { 'aria-label': t('composer.formLabel') },
    on: { submit: (e) => { e.preventDefault(); send(); } },
  }, ac.el, replyBar, h('div', { class: 'composer-box' }, textarea, counter, askBtn, emojiBtn, countdown, sendBtn));
  const el = h('div', { class: 'composer-wrap' }, typing, notice, announce, form);

  function grow() {
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
  }

  function insertAtCaret(text) {
    const start = textarea.selectionStart ?? textarea.value.length;
    const end = textarea.selectionEnd ?? start;
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    textarea.setSelectionRange(start + text.length, start + text.length);
    textarea.focus();
    grow();
  }

  function send() {
    const room = store.get().activeRoom;
    const body = textarea.value.trim();
    if (room == null || !body) return;
    if (limit.kind && limit.kind !== 'slow') {
      // Not now: draw the eye to the notice that says why, and keep the text.
      notice.classList.remove('nudge');
      void notice.offsetWidth;
      notice.classList.add('nudge');
      return;
    }
    if (body.length > MAX_BODY) return;
    actions.send(room, body, replyTo ? replyTo.id : null, asking);
    setAsking(false);
    textarea.value = '';
    setReply(null);
    grow();
    updateCounter();
    ui.scrollToBottom();
  }

  function setReply(msg) {
    replyTo = msg;
    replyBar.hidden = !msg;
    if (!msg) { replyBar.replaceChildren(); return; }
    const s = store.get();
    const who = displayName(s.users[msg.author.id] || msg.author);
    replyBar.replaceChildren(
      icon('reply'),
      h('span', { class: 'reply-bar-text' }, t('composer.replyingTo', { name: who }), ' ', h('span', { class: 'reply-bar-quote' }, messagePreview(msg, 80))),
      iconButton('x', t('composer.cancelReply'), () => { setReply(null); textarea.focus(); }));
    textarea.focus();
  }

  function updateCounter() {
    const left = MAX_BODY - textarea.value.length;
    counter.hidden = left > 200;
    counter.textContent = String(left);
  }

  textarea.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    if (ac.onKeydown(e)) { e.preventDefault(); return; }
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); return; }
    if (e.key === 'Escape' && replyTo) { e.preventDefault(); setReply(null); return; }
    if (e.key === 'ArrowUp' && !textarea.value) {
      const s = store.get();
      const mine = lastOwnMessage(s, s.activeRoom);
      if (mine) { e.preventDefault(); ui.editMessage(mine); }
    }
  });
  textarea.addEventListener('input', () => {
    grow();
    updateCounter();
    ac.update();
    const room = store.get().activeRoom;
    if (room != null && textarea.value.trim()) actions.typing(room);
  });
  textarea.addEventListener('click', () => ac.update());

  let lastKey = '';
  function renderTyping(s) {
    const names = s.activeRoom == null ? [] : typingUsers(s, s.activeRoom, Date.now());
    const key = names.join('|');
    if (key === lastKey) return;
    lastKey = key;
    let text = '';
    if (names.length === 1) text = t('typing.one', { name: names[0] });
    else if (names.length <= 3 && names.length) text = t('typing.some', { names: formatList(names) });
    else if (names.length) text = t('typing.many');
    typing.replaceChildren(...(text ? [h('span', { class: 'typing-dots', attrs: { 'aria-hidden': 'true' } }, h('i'), h('i'), h('i')), text] : []));
  }

  let announced = '';
  let recheckAt = 0;
  /** The notice above the box, and which controls work, for the room's situation at `now`. */
  let shown = '';
  function renderLimit(s, now = Date.now()) {
    const room = s.activeRoom;
    limit = room == null ? { kind: null } : restriction(s, room, now);
    const { kind } = limit;
    let glyph = null;
    let text = '';
    let spoken = '';
    if (kind === 'archived' || kind === 'announcement') {
      glyph = kind === 'archived' ? 'archive' : 'megaphone';
      text = t(kind === 'archived' ? 'composer.archived' : 'composer.announcement');
      spoken = text;
    } else if (kind === 'muted') {
      const sameDay = new Date(limit.until).toDateString() === new Date(now).toDateString();
      const at = sameDay ? formatTime(limit.until) : formatDateTime(new Date(limit.until).toISOString());
      glyph = 'mute';
      text = t('composer.muted', { left: formatLeft(limit.until - now), until: at });
      spoken = t('composer.mutedSpoken', { until: at });
      if (!recheckAt) recheckAt = now + MUTE_RECHECK_MS;
      else if (now >= recheckAt) { recheckAt = now + MUTE_RECHECK_MS; actions.loadMembers(room); }
    } else if (kind === 'wait') {
      glyph = 'clock';
      countdown.textContent = formatLeft(limit.until - now);
      text = t('composer.slowWait', { left: countdown.textContent });
      spoken = t('composer.slowWaitSpoken');
    } else if (kind === 'slow') {
      glyph = 'clock';
      text = t('composer.slowMode', { every: formatDuration(limit.every) });
    }
    if (kind !== 'muted') recheckAt = 0;
    if (spoken !== announced) { announced = spoken; announce.textContent = spoken; }
    const key = `${kind}|${text}`;
    if (key === shown) return;
    shown = key;
    form.hidden = kind === 'archived' || kind === 'announcement';
    textarea.disabled = kind === 'muted';
    emojiBtn.disabled = kind === 'muted';
    sendBtn.disabled = kind === 'muted' || kind === 'wait';
    countdown.hidden = kind !== 'wait';
    notice.hidden = !kind;
    notice.className = `composer-notice${kind ? ` notice-${kind}` : ''}`;
    notice.replaceChildren(...(kind ? [icon(glyph), h('span', {}, text)] : []));
  }
  // Countdowns move with time, not with the state: tick while one is running.
  const ticker = setInterval(() => {
    if (limit.kind === 'muted' || limit.kind === 'wait') renderLimit(store.get());
  }, 1000);

  let lastRoom;
  const drafts = new Map();
  return {
    el,
    focus: () => textarea.focus(),
    destroy: () => clearInterval(ticker),
    setReply,
    insert: insertAtCaret,
    render(s) {
      if (s.activeRoom !== lastRoom) {
        // Each room keeps its unsent draft, as people expect from chat apps.
        if (lastRoom != null) drafts.set(lastRoom, textarea.value);
        lastRoom = s.activeRoom;
        setReply(null);
        ac.close();
        const room = s.rooms[s.activeRoom];
        setAsking(false);
        askBtn.hidden = !room || room.kind === 'dm';
        textarea.placeholder = room ? t('composer.placeholder', { room: roomTitle(room, s) }) : '';
        textarea.value = drafts.get(s.activeRoom) || '';
        grow();
        updateCounter();
      }
      renderTyping(s);
      renderLimit(s);
    },
  };
}
