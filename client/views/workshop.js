// Workshop mode in the interface: the countdown in the room header (everyone
// sees how long question mode lasts), and for moderators, in the questions
// panel, start (duration, slow mode, guests) and stop, with the summary of the
// workshop that ended (the server also posts it in the room).

import { h, icon, replaceChildren } from '../dom.js';
import { t, errorText, formatDuration, formatLeft } from '../i18n.js';
import { displayName } from '../selectors.js';
import { messagePreview } from '../uploads.js';
import { workshopEnds } from '../questions.js';
import { SLOW_MODES, guestsApply } from './room-settings.js';
import { openDialog, select, toast } from './ui.js';

const DURATIONS = [900, 1800, 3600, 5400, 7200, 10800];

/** "Workshop: 42 min left" in the room header while one runs; ticks each second. */
export function createWorkshopClock(store) {
  const el = h('span', { class: 'workshop-clock', attrs: { hidden: true, role: 'timer' } });
  function render(s, now = Date.now()) {
    const room = s.rooms[s.activeRoom];
    const end = workshopEnds(room, now);
    el.hidden = !end;
    const text = end ? t('workshop.left', { left: formatLeft(end - now) }) : '';
    if (el.textContent !== text) replaceChildren(el, ...(end ? [icon('clock'), text] : []));
  }
  const tick = setInterval(() => { if (!el.hidden) render(store.get()); }, 1000);
  return { el, render, destroy: () => clearInterval(tick) };
}

/** The summary of a finished workshop, as a dialog. */
export function openSummary(summary, users) {
  const top = summary.top.map((m) => h('li', {},
    h('strong', {}, displayName(users[m.author.id] || m.author)), ' ',
    h('span', {}, messagePreview(m, 300)), ' ',
    h('span', { class: 'q-votes' }, t('questions.votes', { count: m.question ? m.question.votes : 0 }))));
  openDialog({
    title: t('workshop.summaryTitle'),
    className: 'workshop-summary',
    content: [
      h('p', { class: 'workshop-counts' }, t('workshop.summary', summary)),
      top.length ? h('h3', {}, t('workshop.top')) : null,
      top.length ? h('ol', {}, top) : null,
    ],
  });
}

function openStart({ room, actions }) {
  const duration = select(DURATIONS.map((n) => [String(n), formatDuration(n)]), '3600', () => {}, { id: 'ws-duration' });
  const slow = select(SLOW_MODES.map((n) => [String(n), n ? formatDuration(n) : t('settings.slowOff')]), '30', () => {}, { id: 'ws-slow' });
  const guests = h('input', { attrs: { type: 'checkbox', id: 'ws-guests' } });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const go = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('workshop.start'));
  const form = h('form', {
    class: 'stack',
    on: {
      submit: async (e) => {
        e.preventDefault();
        go.disabled = true;
        error.textContent = '';
        try {
          await actions.startWorkshop(room.id, {
            duration_s: Number(duration.value), slow_mode: Number(slow.value), guests: guestsApply(room) && guests.checked,
          });
          dlg.close();
        } catch (err) {
          error.textContent = errorText(err);
        } finally {
          go.disabled = false;
        }
      },
    },
  },
  h('p', { class: 'hint' }, t('workshop.lead')),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'ws-duration' } }, t('workshop.duration')), duration),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'ws-slow' } }, t('workshop.slowMode')), slow),
  guestsApply(room) ? h('label', { class: 'check' }, guests, t('workshop.guests')) : null,
  error,
  h('div', { class: 'dialog-foot' }, go));
  const dlg = openDialog({ title: t('workshop.startTitle'), className: 'workshop-start', content: [form] });
  duration.focus();
}

/** Start/stop and the last summary, at the top of the questions panel (moderators only). */
export function createWorkshopPanel(store, actions) {
  const el = h('section', { class: 'workshop-panel', attrs: { 'aria-label': t('workshop.title') } });
  let roomId = null;
  let running = false;
  let last = null;
  let summary = null; // the room's latest finished workshop, once fetched

  function fetchSummary() {
    const id = roomId;
    actions.workshopSummary(id)
      .then((found) => { if (id === roomId) { summary = found; last = null; render(store.get()); } })
      .catch(() => { /* none has ended in this room yet */ });
  }

  async function stop() {
    try {
      summary = await actions.stopWorkshop(roomId);
      last = null;
      openSummary(summary, store.get().users);
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  function show(id) {
    if (id === roomId) return;
    roomId = id;
    summary = null;
    last = null;
    running = false;
    if (id != null) fetchSummary();
  }

  function render(s) {
    const room = s.rooms[roomId];
    if (!room) return;
    const now = Date.now();
    const on = !!workshopEnds(room, now);
    // Ended by the clock while we watched: its summary is ready on the server.
    if (running && !on) fetchSummary();
    running = on;
    const key = [room, summary];
    if (last && key.every((x, i) => x === last[i])) return;
    last = key;
    replaceChildren(el,
      on
        ? h('button', { class: 'btn btn-small btn-ghost danger ws-stop', attrs: { type: 'button' }, on: { click: stop } }, t('workshop.stop'))
        : h('button', { class: 'btn btn-small btn-soft ws-start', attrs: { type: 'button' }, on: { click: () => openStart({ room, actions }) } }, icon('clock'), t('workshop.start')),
      !on && summary ? h('button', {
        class: 'link-btn ws-last', attrs: { type: 'button' }, on: { click: () => openSummary(summary, store.get().users) },
      }, `${t('workshop.lastSummary')} — ${t('workshop.summary', summary)}`) : null);
  }

  return { el, show, render };
}
