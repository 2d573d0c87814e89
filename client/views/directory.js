// The room directory (browse by kind, search, join) and the "create a topic
// room" form.

import { h, icon, debounce } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { openDialog, toast } from './ui.js';

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

/** Slug from a name: "Levée de fonds 2026" → "levee-de-fonds-2026". */
export function slugify(name) {
  return name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32).replace(/-+$/, '');
}

export function openCreateRoom({ actions, onOpen }) {
  const name = h('input', { class: 'input', attrs: { id: 'new-room-name', required: true, maxlength: 64, autocomplete: 'off' } });
  const slug = h('input', { class: 'input', attrs: { id: 'new-room-slug', required: true, pattern: '[a-z0-9-]{2,32}', maxlength: 32, autocomplete: 'off', 'aria-describedby': 'new-room-slug-hint' } });
  const topic = h('input', { class: 'input', attrs: { id: 'new-room-topic', maxlength: 200, autocomplete: 'off' } });
  const isPrivate = h('input', { attrs: { type: 'checkbox', id: 'new-room-private' } });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  let slugTouched = false;
  name.addEventListener('input', () => { if (!slugTouched) slug.value = slugify(name.value); });
  slug.addEventListener('input', () => { slugTouched = true; });
  const submit = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('room.createSubmit'));
  const form = h('form', {
    class: 'stack',
    on: {
      submit: async (e) => {
        e.preventDefault();
        error.textContent = '';
        if (!name.value.trim()) { error.textContent = t('room.nameRequired'); name.focus(); return; }
        if (!/^[a-z0-9-]{2,32}$/.test(slug.value)) { error.textContent = t('room.slugInvalid'); slug.focus(); return; }
        submit.disabled = true;
        try {
          const room = await actions.createRoom({
            slug: slug.value, name: name.value.trim(), kind: 'topic',
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
