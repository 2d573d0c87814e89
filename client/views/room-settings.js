// The room settings panel for its moderators: name, description, who may
// post, slow mode, guests (public topic and region rooms), archiving; and the
// way to the members, invites and audit log of the room.

import { h, icon } from '../dom.js';
import { t, errorText, formatDuration } from '../i18n.js';
import { roomTitle } from '../selectors.js';
import { openDialog, reportInvalid, select, toast } from './ui.js';

export const SLOW_MODES = [0, 10, 30, 60, 300, 900, 3600, 21600];

/** Guests may only be let into public topic and region rooms. */
export function guestsApply(room) {
  return room.visibility !== 'private' && (room.kind === 'topic' || room.kind === 'region');
}

function radio(name, value, checked, label, hint) {
  const id = `${name}-${value}`;
  const input = h('input', { attrs: { type: 'radio', name, value, id }, props: { checked } });
  return [input, h('label', { class: 'choice', attrs: { for: id } }, input,
    h('span', { class: 'choice-text' }, h('span', {}, label), hint ? h('small', { class: 'hint' }, hint) : null))];
}

export function openRoomSettings({ store, actions, roomId, onMembers, onInvites, onAudit }) {
  const s = store.get();
  const room = s.rooms[roomId];
  if (!room) return;
  const name = h('input', { class: 'input', attrs: { id: 'rs-name', required: true, maxlength: 64, autocomplete: 'off' }, props: { value: room.name || '' } });
  const topic = h('textarea', { class: 'input textarea', attrs: { id: 'rs-topic', maxlength: 200, rows: 2 }, props: { value: room.topic || '' } });
  const [everyone, everyoneChoice] = radio('rs-posting', 'everyone', room.posting !== 'moderators', t('settings.postingEveryone'));
  const [, moderatorsChoice] = radio('rs-posting', 'moderators', room.posting === 'moderators', t('settings.postingModerators'), t('settings.postingModeratorsHint'));
  const current = Number(room.slow_mode) || 0;
  const modes = SLOW_MODES.includes(current) ? SLOW_MODES : [...SLOW_MODES, current].sort((a, b) => a - b);
  const slow = select(modes.map((n) => [String(n), n ? formatDuration(n) : t('settings.slowOff')]), String(current), () => {}, { id: 'rs-slow', 'aria-describedby': 'rs-slow-hint' });
  const guests = h('input', { attrs: { type: 'checkbox', id: 'rs-guests' }, props: { checked: !!room.guests_allowed } });
  const archived = h('input', { attrs: { type: 'checkbox', id: 'rs-archived', 'aria-describedby': 'rs-archived-hint' }, props: { checked: !!room.archived } });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const save = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('action.save'));

  /** Only what changed goes to the server: one audit entry says exactly that. */
  function changes() {
    const next = {
      name: name.value.trim(),
      topic: topic.value.trim() || null,
      posting: everyone.checked ? 'everyone' : 'moderators',
      slow_mode: Number(slow.value),
      archived: archived.checked,
      ...(guestsApply(room) ? { guests_allowed: guests.checked } : {}),
    };
    const was = store.get().rooms[roomId] || room;
    const before = { ...was, topic: was.topic || null, posting: was.posting || 'everyone', slow_mode: Number(was.slow_mode) || 0, archived: !!was.archived, guests_allowed: !!was.guests_allowed };
    return Object.fromEntries(Object.entries(next).filter(([k, v]) => before[k] !== v));
  }

  const form = h('form', {
    class: 'stack',
    attrs: { novalidate: true, 'aria-label': t('roomSettings.title') },
    on: {
      submit: async (e) => {
        e.preventDefault();
        error.textContent = '';
        if (!name.value.trim()) name.value = '';
        if (!reportInvalid([[name, { valueMissing: t('room.nameRequired') }]])) return;
        const patch = changes();
        if (!Object.keys(patch).length) { dlg.close(); return; }
        save.disabled = true;
        try {
          await actions.updateRoom(roomId, patch);
          toast(t('settings.saved'));
          dlg.close();
        } catch (err) {
          error.textContent = errorText(err);
        } finally {
          save.disabled = false;
        }
      },
    },
  },
  h('div', { class: 'field' }, h('label', { attrs: { for: 'rs-name' } }, t('room.name')), name),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'rs-topic' } }, t('room.topicLabel')), topic),
  h('fieldset', { class: 'field choices' }, h('legend', { class: 'label' }, t('settings.posting')), everyoneChoice, moderatorsChoice),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'rs-slow' } }, t('settings.slowMode')), slow,
    h('small', { class: 'hint', attrs: { id: 'rs-slow-hint' } }, t('settings.slowHint'))),
  guestsApply(room) ? h('label', { class: 'check' }, guests, t('settings.guestsAllowed')) : null,
  h('label', { class: 'check' }, archived, h('span', {}, t('settings.archived'),
    h('small', { class: 'hint block', attrs: { id: 'rs-archived-hint' } }, t('settings.archivedHint')))),
  error,
  h('div', { class: 'dialog-foot' }, save));

  const tool = (label, glyph, fn) => h('button', {
    class: 'btn btn-soft btn-small', attrs: { type: 'button' },
    on: { click: () => { dlg.close(); fn(); } },
  }, icon(glyph), label);
  const dlg = openDialog({
    title: t('roomSettings.titleOf', { name: roomTitle(room, s) }),
    className: 'room-settings',
    content: [
      h('nav', { class: 'tool-row', attrs: { 'aria-label': t('roomSettings.tools') } },
        tool(t('members.manage'), 'users', onMembers),
        onInvites ? tool(t('invites.open'), 'link', onInvites) : null,
        tool(t('audit.title'), 'list', onAudit)),
      form,
    ],
  });
  name.focus();
}
