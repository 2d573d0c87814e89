// The room directory (browse by kind, search, join) and the create-room form
// (every kind the user may create).

import { h, icon, debounce } from '../dom.js';
import { t, errorText, lang } from '../i18n.js';
import { creatableKinds } from '../moderation.js';
import { SLUG_PATTERN, slugify } from '../slug.js';
import { openDialog, reportInvalid, toast } from './ui.js';

const KIND_FILTERS = ['', 'cohort', 'region', 'topic'];

export function openDirectory({ api, actions, isJoined, onOpen, onCreate }) {
  const search = h('input', { class: 'input', attrs: { type: 'search', placeholder: t('directory.search'), 'aria-label': t('directory.search') } });
  let kind = '';
  const chips = KIND_FILTERS.map((k) => h('button', {
    class: `chip${k === kind ? ' active' : ''}`,
    attrs: { type: 'button', 'aria-pressed': String(k === kind), 'data-kind': k },
    on: { click: () => { kind = k; chips.forEach((c) => { const on = c.dataset.kind === k; c.classList.toggle('active', on); c.setAttribute('aria-pressed', String(on)); }); load(); } },
  }, t(k ? `kind.${k}` : 'directory.all')));
  const results = h('ul', { class: 'directory-list', attrs: { role: 'list', 'aria-live': 'polite', 'aria-busy': 'false' } });

  let generation = 0;
  async function load() {
    const mine = ++generation;
    results.setAttribute('aria-busy', 'true');
    try {
      const { rooms } = await api.rooms({ kind: kind || undefined, q: search.value.trim() || undefined });
      if (mine !== generation) return;
      const visible = rooms.filter((r) => r.kind !== 'dm');
      results.replaceChildren(...(visible.length ? visible.map(row) : [h('li', { class: 'empty' }, t('directory.none'))]));
    } catch (e) {
      results.replaceChildren(h('li', { class: 'empty' }, errorText(e)));
    } finally {
      results.setAttribute('aria-busy', 'false');
    }
  }

  function row(room) {
    const joined = room.joined ?? isJoined(room.id);
    const action = joined
      ? h('button', { class: 'btn btn-soft btn-small', attrs: { type: 'button' }, on: { click: () => { dlg.close(); onOpen(room.id); } } }, t('directory.open_room'))
      : h('button', {
        class: 'btn btn-primary btn-small', attrs: { type: 'button', 'aria-label': t('directory.joinRoom', { name: room.name }) },
        on: {
          click: async (e) => {
            e.currentTarget.disabled = true;
            try {
              await actions.joinRoom(room.id);
              dlg.close();
              onOpen(room.id);
            } catch (err) {
              toast(errorText(err), 'error');
              e.currentTarget.disabled = false;
            }
          },
        },
      }, t('directory.join'));
    return h('li', { class: 'directory-item' },
      h('span', { class: 'room-icon big' }, icon(room.visibility === 'private' ? 'lock' : 'hash')),
      h('div', { class: 'directory-text' },
        h('div', { class: 'directory-name' }, room.name, h('span', { class: 'kind-tag' }, t(`kind.${room.kind}`))),
        room.topic ? h('div', { class: 'directory-topic' }, room.topic) : null,
        h('div', { class: 'directory-meta' }, t('room.members', { count: room.member_count || 0 }))),
      action);
  }

  search.addEventListener('input', debounce(load, 200));
  const dlg = openDialog({
    title: t('directory.title'),
    className: 'dialog-wide',
    content: [
      h('div', { class: 'directory-tools' }, search,
        h('div', { class: 'chips', attrs: { role: 'group', 'aria-label': t('directory.filter') } }, chips)),
      results,
      h('div', { class: 'dialog-foot' },
        h('button', { class: 'btn btn-ghost', attrs: { type: 'button' }, on: { click: () => { dlg.close(); onCreate(); } } }, icon('plus'), t('room.create'))),
    ],
  });
  load();
  search.focus();
}

/**
 * The create-room form: name, identifier (derived from the name until edited),
 * description, the kind among those the user may create, and privacy.
 */
export function openCreateRoom({ actions, onOpen, me }) {
  const kinds = creatableKinds(me);
  const name = h('input', { class: 'input', attrs: { id: 'new-room-name', required: true, maxlength: 64, autocomplete: 'off' } });
  const slug = h('input', {
    class: 'input',
    attrs: { id: 'new-room-slug', required: true, pattern: SLUG_PATTERN, minlength: 2, maxlength: 32, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'new-room-slug-hint' },
  });
  const topic = h('input', { class: 'input', attrs: { id: 'new-room-topic', maxlength: 200, autocomplete: 'off' } });
  const isPrivate = h('input', { attrs: { type: 'checkbox', id: 'new-room-private' } });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  let kind = kinds[kinds.length - 1];
  let privacyTouched = false;
  isPrivate.addEventListener('change', () => { privacyTouched = true; });
  // Cohorts are private unless said otherwise, as the server has them.
  const kindPicker = kinds.length > 1 ? h('fieldset', { class: 'field kind-picker' },
    h('legend', { class: 'label' }, t('room.kind')),
    h('div', { class: 'chips' }, kinds.map((k) => {
      const radio = h('input', { attrs: { type: 'radio', name: 'new-room-kind', value: k, id: `new-room-kind-${k}` }, props: { checked: k === kind } });
      radio.addEventListener('change', () => {
        kind = k;
        if (!privacyTouched) isPrivate.checked = k === 'cohort';
      });
      return h('label', { class: 'chip chip-radio', attrs: { for: `new-room-kind-${k}` } }, radio, t(`kind.${k}`));
    }))) : null;

  let slugTouched = false;
  name.addEventListener('input', () => { if (!slugTouched) slug.value = slugify(name.value, lang()); });
  slug.addEventListener('input', () => { slugTouched = slug.value !== ''; });
  const submit = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('room.createSubmit'));
  const form = h('form', {
    class: 'stack',
    attrs: { novalidate: true },
    on: {
      submit: async (e) => {
        e.preventDefault();
        error.textContent = '';
        if (!name.value.trim()) name.value = '';
        const slugRule = t('room.slugInvalid');
        const valid = reportInvalid([
          [name, { valueMissing: t('room.nameRequired') }],
          [slug, { valueMissing: slugRule, patternMismatch: slugRule, tooShort: slugRule }],
        ]);
        if (!valid) return;
        submit.disabled = true;
        try {
          const room = await actions.createRoom({
            slug: slug.value, name: name.value.trim(), kind,
            visibility: isPrivate.checked ? 'private' : 'public',
            ...(topic.value.trim() ? { topic: topic.value.trim() } : {}),
          });
          dlg.close();
          onOpen(room.id);
        } catch (err) {
          error.textContent = err.code === 'conflict' ? t('room.slugTaken') : errorText(err);
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  kindPicker,
  h('div', { class: 'field' }, h('label', { attrs: { for: 'new-room-name' } }, t('room.name')), name),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'new-room-slug' } }, t('room.slug')), slug,
    h('small', { class: 'hint', attrs: { id: 'new-room-slug-hint' } }, t('room.slugHint'))),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'new-room-topic' } }, t('room.topic')), topic),
  h('label', { class: 'check' }, isPrivate, t('room.private')),
  error,
  h('div', { class: 'dialog-foot' }, submit));
  const dlg = openDialog({ title: t('room.create'), content: form });
  name.focus();
}
