// Meetups in the web client: the "upcoming meetups" view (from the sidebar),
// filtered by region with the user's own region first, and the form that
// creates a meetup from a region, cohort or topic room (the header's calendar
// button): date and time pickers in the user's locale and time zone, an
// optional end, a place and a capacity. The cards themselves are
// event-card.js.

import { h, icon, iconButton } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { roomTitle } from '../selectors.js';
import { openDialog, toast } from './ui.js';
import { bindEventCards, cardChanged, eventCard, rememberMine } from './event-card.js';

const MEETUP_KINDS = new Set(['region', 'cohort', 'topic']);
const ALL = '';

/** Region labels for the filter: the user's own first, then those of region rooms, A→Z. */
export function regionChoices(myRegion, regionRooms) {
  const seen = new Set();
  const out = [];
  const add = (label) => {
    const key = (label || '').trim().toLowerCase();
    if (!key || seen.has(key)) return;
    seen.add(key);
    out.push(label.trim());
  };
  add(myRegion);
  [...regionRooms].map((r) => r.name).sort((a, b) => a.localeCompare(b)).forEach(add);
  return out;
}

/** A local date ("2026-03-24") and time ("18:30") as the user's clock reads them → ISO UTC. */
export function localToIso(date, time) {
  if (!date || !time) return null;
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const when = new Date(y, m - 1, d, hh, mm, 0, 0);
  return Number.isNaN(when.getTime()) ? null : when.toISOString();
}

function pad(n) { return String(n).padStart(2, '0'); }

function localParts(when) {
  return {
    date: `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`,
    time: `${pad(when.getHours())}:${pad(when.getMinutes())}`,
  };
}

export function mountEvents({ session, store, actions, sidebar, jump, fromDrawer }) {
  const { api } = session;
  bindEventCards({ api, store, token: () => session.token });

  // ---- the sidebar's entry, after the directory button (which the empty state clicks)
  const listBtn = h('button', {
    class: 'btn btn-soft btn-block events-open', attrs: { type: 'button' },
    on: { click: fromDrawer(() => openUpcoming()) },
  }, icon('clock'), t('events.open'));
  const actionsBox = sidebar.el.querySelector('.sidebar-actions');
  if (actionsBox) actionsBox.insertBefore(listBtn, actionsBox.children[1] || null);

  // ---- the header's "new meetup" button, in rooms where one may be posted
  const newBtn = iconButton('clock', t('events.new'), () => {
    const id = store.get().activeRoom;
    if (id != null) openCreate(id);
  }, 'event-new-btn');
  const renderButton = (s) => {
    const room = s.rooms[s.activeRoom];
    newBtn.hidden = !room || !MEETUP_KINDS.has(room.kind) || room.archived;
  };
  store.subscribe(renderButton);
  renderButton(store.get());

  function openCreate(roomId) {
    const room = store.get().rooms[roomId];
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const soon = new Date(Date.now() + 7 * 86_400_000);
    soon.setHours(19, 0, 0, 0);
    const start = localParts(soon);
    const field = (label, input, hint) => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, hint ? h('small', { class: 'field-hint' }, hint) : null);
    const title = h('input', { attrs: { type: 'text', maxlength: 200, required: true, name: 'title', autocomplete: 'off' } });
    const date = h('input', { attrs: { type: 'date', required: true, name: 'date', min: localParts(new Date()).date }, props: { value: start.date } });
    const time = h('input', { attrs: { type: 'time', required: true, name: 'time' }, props: { value: start.time } });
    const endTime = h('input', { attrs: { type: 'time', name: 'end' } });
    const place = h('input', { attrs: { type: 'text', maxlength: 200, name: 'place', autocomplete: 'off' } });
    const capacity = h('input', { attrs: { type: 'number', min: 1, max: 10000, step: 1, name: 'capacity', inputmode: 'numeric' } });
    const details = h('textarea', { attrs: { rows: 3, maxlength: 4000, name: 'details' } });
    const error = h('p', { class: 'form-error', attrs: { role: 'alert', hidden: true } });
    const submit = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('events.create'));
    const form = h('form', {
      class: 'event-form',
      on: {
        submit: async (e) => {
          e.preventDefault();
          error.hidden = true;
          const startsAt = localToIso(date.value, time.value);
          if (!title.value.trim() || !startsAt) { error.textContent = t('events.formMissing'); error.hidden = false; return; }
          if (new Date(startsAt).getTime() <= Date.now()) { error.textContent = t('events.formPast'); error.hidden = false; return; }
          let endsAt = null;
          if (endTime.value) {
            endsAt = localToIso(date.value, endTime.value);
            // An end earlier in the day than the start is the next morning.
            if (endsAt && endsAt <= startsAt) endsAt = new Date(new Date(endsAt).getTime() + 86_400_000).toISOString();
          }
          const cap = capacity.value ? Number(capacity.value) : null;
          if (cap != null && (!Number.isInteger(cap) || cap < 1 || cap > 10000)) { error.textContent = t('events.formCapacity'); error.hidden = false; return; }
          const event = { title: title.value.trim(), starts_at: startsAt };
          if (endsAt) event.ends_at = endsAt;
          if (place.value.trim()) event.place = place.value.trim();
          if (cap != null) event.capacity = cap;
          submit.disabled = true;
          try {
            const { message } = await api.request('POST', `/api/rooms/${roomId}/messages`, { body: details.value.trim() || event.title, event });
            rememberMine(message, []);
            store.dispatch({ op: 'local.message', message });
            dialog.close();
            jump(roomId, message.id);
          } catch (err) {
            error.textContent = errorText(err);
            error.hidden = false;
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    field(t('events.fieldTitle'), title),
    h('div', { class: 'field-row' },
      field(t('events.fieldDate'), date),
      field(t('events.fieldTime'), time),
      field(t('events.fieldEnd'), endTime)),
    h('p', { class: 'field-hint' }, t('events.zone', { zone })),
    field(t('events.fieldPlace'), place),
    field(t('events.fieldCapacity'), capacity, t('events.capacityHint')),
    field(t('events.fieldDetails'), details),
    error,
    h('div', { class: 'dialog-actions' }, submit));
    const dialog = openDialog({ title: t('events.newIn', { room: room ? roomTitle(room, store.get()) : '' }), className: 'event-dialog', content: form });
    title.focus();
  }

  function openUpcoming() {
    const s = store.get();
    const myRegion = s.me && s.me.region;
    const select = h('select', { attrs: { 'aria-label': t('events.region'), class: 'events-region' } });
    const list = h('div', { class: 'events-list', attrs: { 'aria-live': 'polite' } });
    const panel = h('div', { class: 'events-view' },
      h('label', { class: 'events-filter' }, h('span', {}, t('events.region')), select),
      list);
    const shown = new Map(); // message id → its card, re-drawn when it changes
    const redraw = (message) => {
      const card = shown.get(message.id);
      if (!card) return;
      const st = store.get();
      const fresh = eventCard(message, { me: st.me, canModerate: false }, st.me && message.author.id === st.me.id);
      card.replaceWith(fresh);
      shown.set(message.id, fresh);
    };
    cardChanged.add(redraw);
    openDialog({ title: t('events.title'), className: 'events-dialog', content: panel, onClose: () => cardChanged.delete(redraw) });

    async function load() {
      list.replaceChildren(h('div', { class: 'loading' }, h('span', { class: 'spinner', attrs: { 'aria-hidden': 'true' } }), t('events.loading')));
      try {
        const { events } = await api.request('GET', `/api/events?upcoming=true${select.value ? `&region=${encodeURIComponent(select.value)}` : ''}`);
        if (!events.length) {
          list.replaceChildren(h('p', { class: 'empty-note' }, t(select.value ? 'events.emptyRegion' : 'events.empty', { region: select.value })));
          return;
        }
        const st = store.get();
        list.replaceChildren(...events.map((item) => {
          rememberMine(item.message, item.friends_going);
          const joined = item.room.id in st.rooms;
          const card = eventCard(item.message, { me: st.me, canModerate: false }, st.me && item.message.author.id === st.me.id);
          shown.set(item.message.id, card);
          return h('article', { class: 'events-item', attrs: { 'data-event': item.message.id } },
            h('p', { class: 'events-room' }, icon(item.room.kind === 'region' ? 'compass' : 'hash'), item.room.name),
            card,
            h('button', {
              class: 'link-btn events-jump', attrs: { type: 'button' },
              on: {
                click: async () => {
                  if (!joined) {
                    try { await actions.joinRoom(item.room.id); } catch (err) { toast(errorText(err), 'error'); return; }
                  }
                  document.querySelector('.events-dialog')?.close();
                  jump(item.room.id, item.message.id);
                },
              },
            }, joined ? t('events.openInRoom') : t('events.joinAndOpen')));
        }));
      } catch (err) {
        list.replaceChildren(h('p', { class: 'form-error', attrs: { role: 'alert' } }, errorText(err)));
      }
    }

    select.addEventListener('change', load);
    select.replaceChildren(h('option', { attrs: { value: ALL } }, t('events.allRegions')));
    api.request('GET', '/api/rooms?kind=region').then(({ rooms }) => {
      const choices = regionChoices(myRegion, rooms.filter((r) => r.kind === 'region'));
      select.replaceChildren(
        ...choices.map((label) => h('option', { attrs: { value: label } }, label)),
        h('option', { attrs: { value: ALL } }, t('events.allRegions')));
      select.value = choices.length ? choices[0] : ALL;
      load();
    }).catch(() => load());
  }

  return { headerButton: newBtn, openUpcoming, openCreate };
}
