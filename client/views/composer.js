// The message composer: Enter sends, Shift+Enter breaks the line, Up edits
// your last message, Esc cancels a reply; `:emoji` and `@mention`
// suggestions; the reply bar; the typing indicator of the room above it.
// It also says when the viewer may not write: a read-only room (archived, or
// announcements), a mute with its time left, and the slow-mode countdown.

import { h, iconButton, icon } from '../dom.js';
import { t, lang, formatList, formatLeft, formatDuration, formatTime, formatDateTime } from '../i18n.js';
import { displayName, lastOwnMessage, roomTitle, typingUsers } from '../selectors.js';
import { moderates, mutedUntil, readOnlyReason, slowUntil } from '../moderation.js';
import { createAutocomplete } from './autocomplete.js';
import { openPollDialog } from './poll-dialog.js';
import { messagePreview } from '../uploads.js';
import { createUploadTray } from './attachments.js';
import { installFormatKeys } from './format-keys.js';
import { toast } from './ui.js';

const MAX_BODY = 4000;
const MUTE_RECHECK_MS = 30_000; // a lifted mute sends no event: the members list tells
const RATE_LINGER_MS = 1500;

/** What stands between the viewer and sending in a room right now. */
function restriction(s, roomId, now) {
  const readOnly = readOnlyReason(s, roomId);
  if (readOnly) return { kind: readOnly };
  const muted = mutedUntil(s, roomId, now);
  if (muted) return { kind: 'muted', until: muted };
  const room = s.rooms[roomId];
  const every = room && !moderates(s, roomId) ? Number(room.slow_mode) || 0 : 0;
  const slow = slowUntil(s, roomId, now);
  if (!every) {
    // The send rate, not slow mode: messages queue and go out in turn; say so while
    // some wait (a moment past each wait, as the next one may be refused again).
    const queued = s.outbox.filter((e) => e.room === roomId && e.status !== 'failed').length;
    const limited = s.slow[roomId] || 0;
    if (slow || (queued && limited + RATE_LINGER_MS > now)) return { kind: 'rate', until: Math.max(limited, now), queued };
  }
  if (slow) return { kind: 'wait', until: slow };
  if (every) return { kind: 'slow', every };
  return { kind: null };
}

/** Length as the server counts it: code points of the trimmed text. */
export function bodyLength(text) {
  return [...text.trim()].length;
}

// --- unsent drafts, per user and room, kept across reloads
const draftKey = (userId, roomId) => `chat.draft.${userId}.${roomId}`;
function loadDraft(userId, roomId) {
  try { return localStorage.getItem(draftKey(userId, roomId)) || ''; } catch { return ''; }
}
function saveDraft(userId, roomId, text) {
  try {
    if (text.trim()) localStorage.setItem(draftKey(userId, roomId), text);
    else localStorage.removeItem(draftKey(userId, roomId));
  } catch { /* storage full or disabled: the draft lives as long as the page */ }
}

export function createComposer(store, actions, ui) {
  const textarea = h('textarea', {
    class: 'composer-input',
    // No maxlength: a long paste must not be cut without a word; the counter and a notice say it is too long.
    attrs: { rows: 1, id: 'composer-input', 'aria-label': t('composer.label'), 'aria-describedby': 'composer-too-long', enterkeyhint: 'send' },
  });
  installFormatKeys(textarea); // Ctrl+B, Ctrl+I, Ctrl+Shift+X
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
  // Attachments: a button, paste, and drops on the chat (shell.js) fill the tray above the box.
  const tray = createUploadTray();
  const fileInput = h('input', {
    class: 'visually-hidden', attrs: { type: 'file', multiple: true, tabindex: '-1', 'aria-hidden': 'true' },
    on: { change: () => { tray.add(fileInput.files); fileInput.value = ''; textarea.focus(); } },
  });
  const attachBtn = iconButton('paperclip', t('upload.attach'), () => fileInput.click(), 'composer-attach');
  const sendBtn = h('button', { class: 'send-btn', attrs: { type: 'submit', 'aria-label': t('composer.send'), title: t('composer.send') } }, icon('send'));
  const counter = h('span', { class: 'char-count', attrs: { hidden: true, 'aria-live': 'polite' } });
  const countdown = h('span', { class: 'slow-count', attrs: { hidden: true, 'aria-hidden': 'true' } });
  const notice = h('div', { class: 'composer-notice', attrs: { hidden: true } });
  const tooLong = h('div', { class: 'composer-long', attrs: { id: 'composer-too-long', role: 'alert', hidden: true } });
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
  // "Create a poll": a dialog; the poll is queued like a message in the open room.
  const pollBtn = iconButton('chart', t('poll.open'), () => openPollDialog({
    onSubmit: (poll) => {
      const room = store.get().activeRoom;
      if (room == null) return;
      actions.sendPoll(room, poll);
      ui.scrollToBottom();
    },
  }), 'composer-poll');
  function setAsking(on) {
    asking = on;
    askBtn.setAttribute('aria-pressed', String(on));
    askBtn.classList.toggle('on', on);
  }

  const form = h('form', {
    class: 'composer',
    attrs: { 'aria-label': t('composer.formLabel') },
    on: { submit: (e) => { e.preventDefault(); send(); } },
  }, ac.el, replyBar, tray.el, h('div', { class: 'composer-box' }, attachBtn, fileInput, textarea, counter, askBtn, pollBtn, emojiBtn, countdown, sendBtn));
  const el = h('div', { class: 'composer-wrap' }, typing, notice, tooLong, announce, form);

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
    const files = tray.ready();
    if (room == null || (!body && !files.length && !tray.busy())) return;
    if (bodyLength(body) > MAX_BODY) { nudge(tooLong); textarea.focus(); return; }
    if (limit.kind && limit.kind !== 'slow' && limit.kind !== 'rate') {
      // Not now: draw the eye to the notice that says why, and keep the text.
      notice.classList.remove('nudge');
      void notice.offsetWidth;
      notice.classList.add('nudge');
      return;
    }
    if (tray.busy()) { toast(t('upload.wait')); return; }
    actions.send(room, body, replyTo ? replyTo.id : null, asking, { attachments: files });
    tray.clear();
    setAsking(false);
    textarea.value = '';
    forgetDraft(room);
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

  function nudge(target) {
    target.classList.remove('nudge');
    void target.offsetWidth;
    target.classList.add('nudge');
  }

  function updateCounter() {
    const length = bodyLength(textarea.value);
    const left = MAX_BODY - length;
    counter.hidden = left > 200;
    counter.textContent = String(left);
    counter.classList.toggle('over', left < 0);
    counter.title = left < 0 ? t('composer.charsOver', { count: -left }) : t('composer.charsLeft', { count: left });
    tooLong.hidden = left >= 0;
    if (left < 0) {
      const n = new Intl.NumberFormat(lang());
      tooLong.replaceChildren(icon('alert'), h('span', {}, t('composer.tooLong', { count: n.format(length), max: n.format(MAX_BODY) })));
      textarea.setAttribute('aria-invalid', 'true');
    } else {
      textarea.removeAttribute('aria-invalid');
    }
  }

  // The draft of the open room, saved as it is typed (a moment after the last key).
  let draftTimer = null;
  const meId = () => { const s = store.get(); return s.me ? s.me.id : null; };
  function keepDraft() {
    clearTimeout(draftTimer);
    const room = lastRoom;
    const text = textarea.value;
    if (room == null) return;
    drafts.set(room, text);
    draftTimer = setTimeout(() => { if (meId() != null) saveDraft(meId(), room, text); }, 250);
  }
  function flushDraft() {
    clearTimeout(draftTimer);
    if (lastRoom != null && meId() != null) saveDraft(meId(), lastRoom, textarea.value);
  }
  function forgetDraft(room) {
    clearTimeout(draftTimer);
    drafts.delete(room);
    if (meId() != null) saveDraft(meId(), room, '');
  }
  window.addEventListener('pagehide', flushDraft);

  textarea.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    if (ac.onKeydown(e)) { e.preventDefault(); return; }
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(); return; }
    if (e.key === 'Escape' && replyTo) { e.preventDefault(); setReply(null); return; }
    if (e.key === 'ArrowUp' && !e.altKey && !textarea.value) { // Alt+↑ changes room
      const s = store.get();
      const mine = lastOwnMessage(s, s.activeRoom);
      if (mine) { e.preventDefault(); ui.editMessage(mine); }
    }
  });
  textarea.addEventListener('input', () => {
    grow();
    updateCounter();
    keepDraft();
    ac.update();
    const room = store.get().activeRoom;
    if (room != null && textarea.value.trim()) actions.typing(room);
  });
  textarea.addEventListener('click', () => ac.update());
  textarea.addEventListener('paste', (e) => {
    const files = e.clipboardData && e.clipboardData.files;
    if (files && files.length) { e.preventDefault(); tray.add(files, { pasted: true }); }
  });

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
    } else if (kind === 'rate') {
      glyph = 'clock';
      text = [t('composer.rateWait', { left: formatLeft(limit.until - now) }), limit.queued ? t('composer.rateQueued', { count: limit.queued }) : ''].filter(Boolean).join(' ');
      spoken = t('composer.rateSpoken');
    }
    if (kind !== 'muted') recheckAt = 0;
    if (spoken !== announced) { announced = spoken; announce.textContent = spoken; }
    const key = `${kind}|${text}`;
    if (key === shown) return;
    shown = key;
    form.hidden = kind === 'archived' || kind === 'announcement';
    textarea.disabled = kind === 'muted';
    emojiBtn.disabled = kind === 'muted';
    attachBtn.disabled = kind === 'muted';
    sendBtn.disabled = kind === 'muted' || kind === 'wait';
    countdown.hidden = kind !== 'wait';
    notice.hidden = !kind;
    notice.className = `composer-notice${kind ? ` notice-${kind}` : ''}`;
    notice.replaceChildren(...(kind ? [icon(glyph), h('span', {}, text)] : []));
  }
  // Countdowns move with time, not with the state: tick while one is running.
  const ticker = setInterval(() => {
    if (limit.kind === 'muted' || limit.kind === 'wait' || limit.kind === 'rate') renderLimit(store.get());
  }, 1000);

  let lastRoom;
  const drafts = new Map();
  return {
    el,
    focus: () => textarea.focus(),
    destroy: () => { clearInterval(ticker); flushDraft(); window.removeEventListener('pagehide', flushDraft); },
    setReply,
    insert: insertAtCaret,
    /** Files dropped on the chat. */
    addFiles: (files) => { if (!textarea.disabled && !form.hidden) tray.add(files); },
    render(s) {
      if (s.activeRoom !== lastRoom) {
        // Each room keeps its unsent draft, as people expect from chat apps.
        if (lastRoom != null) { drafts.set(lastRoom, textarea.value); flushDraft(); }
        lastRoom = s.activeRoom;
        setReply(null);
        tray.setRoom(s.activeRoom); // each room keeps its own files waiting, like its draft
        ac.close();
        const room = s.rooms[s.activeRoom];
        setAsking(false);
        askBtn.hidden = !room || room.kind === 'dm';
        textarea.placeholder = room ? t('composer.placeholder', { room: roomTitle(room, s) }) : '';
        textarea.value = drafts.has(s.activeRoom) ? drafts.get(s.activeRoom)
          : s.activeRoom != null && s.me ? loadDraft(s.me.id, s.activeRoom) : '';
        grow();
        updateCounter();
      }
      renderTyping(s);
      renderLimit(s);
    },
  };
}
