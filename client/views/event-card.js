// A message's meetup: title, when (in the viewer's language and time zone),
// where, how many are going, maybe or waiting against the capacity, the
// viewer's own answer and place in line, their friends going, the RSVP
// buttons, "add to my calendar" (the .ics) and, for its creator or a
// moderator, cancel.
//
// Live `message.updated` events carry the counts but nobody's answer (they are
// encoded once for everyone). The viewer's answer, place in line and friends
// going come from the replies to their own RSVPs and from
// GET /api/messages/{id}/event, read again shortly after the counts change
// (at most once a second per card), so a promotion from the waitlist shows.

import { h, icon } from '../dom.js';
import { t, lang, errorText } from '../i18n.js';
import { displayName } from '../selectors.js';
import { toast } from './ui.js';

let bound = null; // { api, store, token } from bindEventCards
const personal = new Map(); // message id → { my_rsvp, waitlist_position, friends, sig }
const refetching = new Map(); // message id → timer
const REFRESH_MS = 1000;
/** Called with each meetup message re-read or answered here (the upcoming view re-draws). */
export const cardChanged = new Set();

function changed(message) {
  bound.store.dispatch({ op: 'local.message', message });
  for (const fn of cardChanged) fn(message);
}

/** Hand the cards what they talk to the server with (once per signed-in session). */
export function bindEventCards(session) {
  bound = session;
  personal.clear();
}

/** The counts that, when they change, may have changed the viewer's own answer. */
function signature(ev) {
  return [ev.going, ev.maybe, ev.waitlist, ev.capacity, ev.cancelled, ev.starts_at].join('|');
}

/** Remember the viewer's side of a meetup from a reply computed for them. */
export function rememberMine(message, friends) {
  if (!message || !message.event) return;
  const prev = personal.get(message.id);
  personal.set(message.id, {
    my_rsvp: message.event.my_rsvp,
    waitlist_position: message.event.waitlist_position ?? null,
    friends: friends ?? (prev ? prev.friends : null),
    sig: signature(message.event),
  });
}

function refresh(messageId) {
  if (!bound || refetching.has(messageId)) return;
  refetching.set(messageId, setTimeout(async () => {
    try {
      const { event } = await bound.api.request('GET', `/api/messages/${messageId}/event`);
      rememberMine(event.message, event.friends_going);
      changed(event.message);
    } catch { /* deleted, or offline: the next change tries again */ }
    refetching.delete(messageId);
  }, REFRESH_MS * (personal.has(messageId) ? 1 : 0.05)));
}

/** The viewer's view of the meetup now: theirs if known, else what the message says. */
function mineOf(msg) {
  const ev = msg.event;
  const known = personal.get(msg.id);
  if (!known || known.sig !== signature(ev)) refresh(msg.id);
  if (!known) return { my_rsvp: ev.my_rsvp, waitlist_position: ev.waitlist_position ?? null, friends: [] };
  return { ...known, friends: known.friends || [] };
}

export function formatWhen(startsIso, endsIso) {
  const start = new Date(startsIso);
  const opts = { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' };
  if (start.getFullYear() !== new Date().getFullYear()) opts.year = 'numeric';
  const fmt = new Intl.DateTimeFormat(lang(), opts);
  if (!endsIso) return fmt.format(start);
  try {
    return fmt.formatRange(start, new Date(endsIso));
  } catch {
    return `${fmt.format(start)} – ${fmt.format(new Date(endsIso))}`;
  }
}

async function answer(msg, status) {
  if (!bound) return;
  try {
    const { message } = await bound.api.request('PUT', `/api/messages/${msg.id}/rsvp`, { status });
    rememberMine(message);
    changed(message);
    if (message.event.my_rsvp === 'waitlisted') toast(t('event.waitlistedToast', { position: message.event.waitlist_position }));
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

async function cancel(msg) {
  if (!bound || !window.confirm(t('event.cancelConfirm', { title: msg.event.title }))) return;
  try {
    const { message } = await bound.api.request('POST', `/api/messages/${msg.id}/event/cancel`);
    rememberMine(message);
    changed(message);
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

/** "Add to my calendar": the .ics, fetched with the token (a link alone opens nothing). */
async function download(msg) {
  if (!bound) return;
  try {
    const res = await fetch(`/api/messages/${msg.id}/event.ics`, {
      headers: { Authorization: `Bearer ${bound.token()}` },
    });
    if (!res.ok) throw new Error(String(res.status));
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { attrs: { href: url, download: `meetup-${msg.id}.ics` } });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch {
    toast(t('event.icsFailed'), 'error');
  }
}

function rsvpButton(msg, status, current, disabled) {
  const pressed = current === status || (status === 'going' && current === 'waitlisted');
  return h('button', {
    class: `btn btn-small event-rsvp${pressed ? ' mine' : ''}`,
    attrs: { type: 'button', 'aria-pressed': String(pressed), 'data-rsvp': status, disabled },
    on: { click: () => answer(msg, pressed ? 'no' : status) },
  }, pressed ? icon('check') : null, t(`event.rsvp.${status}`));
}

/** The card under a meetup's message; `mine` says the viewer posted it. */
export function eventCard(msg, ctx, mine) {
  const ev = msg.event;
  const me = mineOf(msg);
  const started = new Date(ev.starts_at).getTime() <= Date.now();
  const closed = ev.cancelled || started;
  const counts = [
    ev.capacity != null
      ? t('event.goingOf', { count: ev.going, capacity: ev.capacity })
      : t('event.going', { count: ev.going }),
    t('event.maybe', { count: ev.maybe }),
    ev.waitlist ? t('event.waitlist', { count: ev.waitlist }) : null,
  ].filter(Boolean).join(' · ');
  const friends = me.friends || [];
  let status = null;
  if (ev.cancelled) status = h('p', { class: 'event-status cancelled', attrs: { role: 'status' } }, icon('ban'), t('event.cancelled'));
  else if (me.my_rsvp === 'waitlisted') status = h('p', { class: 'event-status waiting' }, icon('clock'), t('event.position', { position: me.waitlist_position ?? '?' }));
  else if (me.my_rsvp === 'going') status = h('p', { class: 'event-status going' }, icon('check'), t('event.youGo'));
  else if (me.my_rsvp === 'maybe') status = h('p', { class: 'event-status' }, t('event.youMaybe'));
  const whenText = formatWhen(ev.starts_at, ev.ends_at);
  return h('section', {
    class: `event-card${ev.cancelled ? ' is-cancelled' : ''}`,
    attrs: { 'aria-label': t('event.label', { title: ev.title, when: whenText }), 'data-event': msg.id },
  },
  h('header', { class: 'event-head' },
    h('span', { class: 'event-tag' }, icon('clock'), t('event.badge')),
    h('h3', { class: 'event-title' }, ev.title)),
  h('p', { class: 'event-when' }, h('time', { attrs: { datetime: ev.starts_at } }, whenText)),
  ev.place ? h('p', { class: 'event-place' }, icon('compass'), ev.place) : null,
  h('p', { class: 'event-counts' }, counts),
  friends.length
    ? h('p', { class: 'event-friends' }, icon('users'),
      t('event.friendsGoing', { count: friends.length, names: friends.slice(0, 3).map((u) => displayName(u)).join(', ') }))
    : null,
  status,
  h('div', { class: 'event-actions' },
    closed ? null : rsvpButton(msg, 'going', me.my_rsvp, false),
    closed ? null : rsvpButton(msg, 'maybe', me.my_rsvp, false),
    h('button', {
      class: 'btn btn-small btn-ghost event-ics', attrs: { type: 'button' }, on: { click: () => download(msg) },
    }, icon('download'), t('event.addToCalendar')),
    !ev.cancelled && (mine || (ctx && ctx.canModerate))
      ? h('button', { class: 'link-btn event-cancel', attrs: { type: 'button' }, on: { click: () => cancel(msg) } }, t('event.cancel'))
      : null));
}
