// The message list of the open room: keyed reconciliation (a new message adds
// one element; nothing already on screen is rebuilt unless it changed), scroll
// that sticks to the bottom or keeps its place when older history is
// prepended, loading upward, jumping to a message, read reporting, and the
// bar of pinned messages above it all.

import { h, icon } from '../dom.js';
import { t, formatDay, errorText } from '../i18n.js';
import { timeline } from '../selectors.js';
import { moderates } from '../moderation.js';
import { messageElement, pendingElement } from './message.js';
import { createPinBar } from './pins.js';
import { toast } from './ui.js';

const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_PX = 400;

export function createMessageList(store, actions, ui) {
  const list = h('div', {
    class: 'msg-list',
    attrs: { role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': t('messages.label') },
  });
  const topNote = h('div', { class: 'history-top' });
  const scroller = h('div', { class: 'msg-scroll', attrs: { tabindex: '0', 'aria-label': t('messages.scrollLabel') } }, topNote, list);
  const toBottom = h('button', {
    class: 'to-bottom', attrs: { type: 'button', hidden: true },
    on: { click: () => { scroller.scrollTop = scroller.scrollHeight; } },
  }, icon('arrowDown'), t('messages.jumpLatest'));
  const pins = createPinBar({ onJump: (id) => jumpTo(id), onUnpin: (msg) => setPinned(msg, false) });
  const el = h('div', { class: 'msg-pane' }, pins.el, scroller, toBottom);

  let roomId = null;
  let rows = new Map();          // key → {el, deps}
  let initialScroll = false;
  let editing = null;            // {id, el}
  let lastState = null;

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;

  function ctxFor(s) {
    const me = s.me;
    return {
      me, users: s.users, presence: s.presence, online: s.status === 'online',
      canModerate: moderates(s, roomId),
      lookup: (id) => s.messages[roomId] && s.messages[roomId].byId[id],
      onReact: (msg, emoji) => actions.toggleReaction(roomId, msg.id, emoji).catch((e) => toast(errorText(e), 'error')),
      onPickReaction: (msg, anchor) => ui.pickReaction(msg, anchor),
      onReply: (msg) => ui.reply(msg),
      onEdit: (msg) => startEdit(msg),
      onDelete: (msg) => confirmDelete(msg),
      onPin: (msg, pinned) => setPinned(msg, pinned),
      onReport: (msg) => ui.report(msg),
      onVote: (msg, up) => actions.vote(msg.id, up).catch((e) => toast(errorText(e), 'error')),
      polls: {
        vote: (msg, options) => actions.pollVote(msg.id, options).catch((e) => toast(errorText(e), 'error')),
        close: (msg) => actions.closePoll(msg.id).catch((e) => toast(errorText(e), 'error')),
        voters: (msg) => actions.pollVoters(msg.id).catch((e) => { toast(errorText(e), 'error'); return null; }),
      },
      onJump: (id) => jumpTo(id),
      onRetry: (nonce) => actions.retry(nonce),
      onDiscard: (nonce) => actions.discard(nonce),
    };
  }

  function depsFor(item, s, ctx) {
    if (item.kind === 'message') {
      const m = item.message;
      const a = m.author.id;
      return [m, item.grouped, s.users[a], s.presence[a], m.reply_to && s.messages[roomId].byId[m.reply_to],
        (m.mentions || []).map((id) => s.users[id] && s.users[id].username).join(), ctx.canModerate];
    }
    if (item.kind === 'pending') return [item.entry, item.grouped, s.status === 'online'];
    return [item.key];
  }

  function build(item, s, ctx) {
    if (item.kind === 'day') {
      return h('div', { class: 'day-sep', attrs: { role: 'separator' } }, h('span', {}, formatDay(item.date)));
    }
    if (item.kind === 'new') {
      return h('div', { class: 'new-marker', attrs: { role: 'separator', 'aria-label': t('messages.newMarker') } }, h('span', {}, t('messages.newMarker')));
    }
    if (item.kind === 'pending') return pendingElement(item.entry, item.grouped, ctx);
    return messageElement(item.message, item.grouped, ctx);
  }

  /** A rebuilt message keeps keyboard focus on the same control (e.g. the reaction just toggled). */
  function keepFocus(oldEl, newEl) {
    const active = document.activeElement;
    if (!active || !oldEl.contains(active)) return;
    let target = newEl;
    if (active.dataset.emoji) target = newEl.querySelector(`[data-emoji="${CSS.escape(active.dataset.emoji)}"]`) || newEl;
    else if (active !== oldEl && active.classList.length) target = newEl.querySelector(`.${[...active.classList].map((c) => CSS.escape(c)).join('.')}`) || newEl;
    queueMicrotask(() => { if (target.isConnected) target.focus({ preventScroll: true }); });
  }

  function sameDeps(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  function render(s) {
    lastState = s;
    if (s.activeRoom !== roomId) {
      roomId = s.activeRoom;
      rows = new Map();
      list.replaceChildren();
      editing = null;
      initialScroll = true;
    }
    if (roomId == null) return;
    const ctx = ctxFor(s);
    pins.render(s, roomId, ctx.canModerate);
    const log = s.messages[roomId];
    const loaded = log && log.loaded;
    topNote.replaceChildren();
    if (!loaded) {
      topNote.append(h('div', { class: 'loading' }, h('span', { class: 'spinner', attrs: { 'aria-hidden': 'true' } }), t('messages.loading')));
    } else if (log.complete) {
      const room = s.rooms[roomId];
      topNote.append(h('div', { class: 'room-start' },
        h('div', { class: 'room-start-icon', attrs: { 'aria-hidden': 'true' } }, room && room.kind === 'dm' ? '👋' : '#'),
        h('p', {}, t(log.ids.length ? 'messages.start' : 'messages.empty'))));
    } else {
      topNote.append(h('div', { class: 'loading loading-older' }, h('span', { class: 'spinner', attrs: { 'aria-hidden': 'true' } })));
    }

    const wasAtBottom = atBottom();
    // Someone watching the end of the room (tab in front) reads what arrives as it
    // arrives: no "new messages" line above it, unless one was already there.
    let marker = s.markers[roomId] ?? null;
    const watching = wasAtBottom && !initialScroll && document.visibilityState === 'visible' && document.hasFocus();
    if (watching && marker != null && !list.querySelector('.new-marker')) marker = Math.max(marker, s.seqs[roomId] || 0);
    const items = timeline(s, roomId, marker);
    // Remember where the first visible row is, to keep it in place if rows are prepended.
    let anchor = null;
    for (const child of list.children) {
      if (child.offsetTop + child.offsetHeight > scroller.scrollTop) { anchor = { el: child, top: child.offsetTop }; break; }
    }

    const next = new Map();
    const els = [];
    for (const item of items) {
      if (editing && item.key === `m:${editing.id}`) { els.push(editing.el); next.set(item.key, rows.get(item.key)); continue; }
      const deps = depsFor(item, s, ctx);
      const prev = rows.get(item.key);
      const row = prev && sameDeps(prev.deps, deps) ? prev : { el: build(item, s, ctx), deps };
      if (prev && row !== prev) keepFocus(prev.el, row.el);
      next.set(item.key, row);
      els.push(row.el);
    }
    rows = next;
    // Put elements in order, touching the DOM only where something changed.
    let cursor = list.firstChild;
    for (const node of els) {
      if (node === cursor) { cursor = cursor.nextSibling; continue; }
      list.insertBefore(node, cursor);
    }
    while (cursor) { const n = cursor.nextSibling; cursor.remove(); cursor = n; }

    if (initialScroll && loaded) {
      initialScroll = false;
      const marker = list.querySelector('.new-marker');
      if (marker) marker.scrollIntoView({ block: 'center' });
      else scroller.scrollTop = scroller.scrollHeight;
    } else if (wasAtBottom) {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (anchor && anchor.el.isConnected) {
      scroller.scrollTop += anchor.el.offsetTop - anchor.top;
    }
    afterScroll();
  }

  /** Everything that depends on the scroll position: older history, read marker, the jump button. */
  function afterScroll() {
    const s = lastState;
    if (!s || roomId == null) return;
    const log = s.messages[roomId];
    if (!log || !log.loaded) return;
    if (scroller.scrollTop < LOAD_OLDER_PX && !log.complete && !actions.isLoadingOlder(roomId)) {
      actions.loadOlder(roomId).catch((e) => toast(errorText(e), 'error'));
    }
    const bottom = atBottom();
    toBottom.hidden = bottom;
    if (bottom && document.visibilityState === 'visible') {
      const room = s.rooms[roomId];
      if (room && (room.unread || (s.seqs[roomId] || 0) > (room.last_read_seq || 0))) {
        actions.markRead(roomId);
        if (!list.querySelector('.new-marker')) store.dispatch({ op: 'local.marker', room: roomId, seq: s.seqs[roomId] || 0 });
      }
    }
  }

  // Keyboard: arrows walk from message to message (focusing one reveals its
  // actions, reachable with Tab); Esc goes back to the composer.
  scroller.addEventListener('keydown', (e) => {
    if (e.target.closest('textarea, input')) return;
    const all = [...list.querySelectorAll('article.msg[tabindex]')];
    if (!all.length) return;
    const current = e.target.closest('article.msg');
    if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && !e.altKey) { // Alt+arrows change room
      e.preventDefault();
      let i = current ? all.indexOf(current) : all.length;
      i = e.key === 'ArrowUp' ? Math.max(0, i - 1) : Math.min(all.length - 1, i + 1);
      all[i].focus();
      all[i].scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'Escape' && current) {
      e.preventDefault();
      ui.focusComposer();
    }
  });
  scroller.addEventListener('scroll', afterScroll, { passive: true });
  document.addEventListener('visibilitychange', afterScroll);

  /** Scroll to a message, loading older pages until it is there. */
  async function jumpTo(id) {
    for (let i = 0; i < 40; i++) {
      store.flushNow();
      const target = document.getElementById(`msg-${id}`);
      if (target && list.contains(target)) {
        target.scrollIntoView({ block: 'center', behavior: 'smooth' });
        target.classList.remove('flash');
        void target.offsetWidth; // restart the highlight animation
        target.classList.add('flash');
        target.focus({ preventScroll: true });
        return true;
      }
      const log = store.get().messages[roomId];
      if (!log || !log.loaded) {
        await actions.loadLatest(roomId);
        continue;
      }
      if (log.complete) break;
      await actions.loadOlder(roomId);
      await new Promise((r) => setTimeout(r, 0));
    }
    toast(t('message.notFound'));
    return false;
  }

  function startEdit(msg) {
    if (editing) cancelEdit();
    const area = h('textarea', { class: 'edit-input', attrs: { rows: 1, 'aria-label': t('message.editLabel') }, props: { value: msg.body } });
    const save = async () => {
      const body = area.value.trim();
      if (!body) return confirmDelete(msg);
      if (body === msg.body) return cancelEdit();
      try {
        await actions.edit(msg.id, body);
        cancelEdit();
      } catch (e) {
        toast(errorText(e), 'error');
      }
    };
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); cancelEdit(); }
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
    });
    const grow = () => { area.style.height = 'auto'; area.style.height = `${area.scrollHeight}px`; };
    area.addEventListener('input', grow);
    const old = rows.get(`m:${msg.id}`);
    const el = h('div', { class: 'msg editing' },
      h('div', { class: 'msg-gutter' }),
      h('div', { class: 'msg-main' }, area,
        h('div', { class: 'edit-actions' },
          h('span', { class: 'hint' }, t('message.editHint')),
          h('button', { class: 'btn btn-ghost btn-small', attrs: { type: 'button' }, on: { click: cancelEdit } }, t('action.cancel')),
          h('button', { class: 'btn btn-primary btn-small', attrs: { type: 'button' }, on: { click: save } }, t('action.save')))));
    editing = { id: msg.id, el };
    if (old) old.el.replaceWith(el);
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    grow();
    el.scrollIntoView({ block: 'nearest' });
  }

  function cancelEdit() {
    if (!editing) return;
    const key = `m:${editing.id}`;
    const row = rows.get(key);
    editing = null;
    if (row) rows.set(key, { el: row.el, deps: [] }); // force a rebuild from the current state
    render(store.get());
    ui.focusComposer();
  }

  async function setPinned(msg, pinned) {
    try {
      await actions.setPinned(msg.room, msg.id, pinned);
      toast(t(pinned ? 'pins.pinned' : 'pins.unpinned'));
    } catch (e) {
      toast(e.code === 'limit_reached' ? t('pins.limit') : errorText(e), 'error');
    }
  }

  async function confirmDelete(msg) {
    if (!window.confirm(t('message.confirmDelete'))) return;
    try {
      await actions.remove(msg.id);
      if (editing && editing.id === msg.id) cancelEdit();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  return {
    el,
    render,
    jumpTo,
    startEdit,
    isEditing: () => !!editing,
    destroy: () => document.removeEventListener('visibilitychange', afterScroll),
    scrollToBottom: () => { scroller.scrollTop = scroller.scrollHeight; },
  };
}
