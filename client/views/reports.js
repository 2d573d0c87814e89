// The staff view of open reports (mentors and admins): what was reported,
// where, by whom and why, and the two ways to resolve it — dismiss, or
// delete the message.

import { h, icon, avatar } from '../dom.js';
import { t, errorText, formatDateTime, formatRelative } from '../i18n.js';
import { displayName } from '../selectors.js';
import { deletedText } from './message.js';
import { openDialog, toast } from './ui.js';

export function openReports({ api, store, hooks, onJump }) {
  const list = h('ul', { class: 'report-list', attrs: { role: 'list', 'aria-busy': 'true' } });
  const status = h('p', { class: 'muted', attrs: { role: 'status' } });

  async function resolve(report, action, card) {
    if (action === 'delete' && !window.confirm(t('reports.confirmDelete'))) return;
    for (const b of card.querySelectorAll('button')) b.disabled = true;
    try {
      await api.resolveReport(report.id, action);
      card.remove();
      toast(t(action === 'delete' ? 'reports.deleted' : 'reports.dismissed'));
      if (!list.children.length) status.textContent = t('reports.empty');
    } catch (err) {
      toast(errorText(err), 'error');
      for (const b of card.querySelectorAll('button')) b.disabled = false;
    }
  }

  function card(r) {
    const s = store.get();
    const msg = r.message || {};
    const author = msg.author ? (s.users[msg.author.id] || msg.author) : null;
    const roomId = r.room && typeof r.room === 'object' ? r.room.id : (r.room ?? msg.room);
    const roomName = r.room && typeof r.room === 'object' ? (r.room.kind === 'dm' ? t('kind.dm') : `# ${r.room.name}`) : (s.rooms[roomId] ? `# ${s.rooms[roomId].name}` : '');
    const reporter = r.reporter && typeof r.reporter === 'object' ? displayName(r.reporter) : '';
    const canJump = roomId in s.rooms;
    const el = h('li', { class: 'report', attrs: { 'data-report-id': r.id } },
      h('div', { class: 'report-head' },
        roomName ? h('span', { class: 'report-room' }, roomName) : null,
        h('span', { class: 'muted' }, t('reports.by', { name: reporter || '?' })),
        h('time', { attrs: { datetime: r.created_at, title: formatDateTime(r.created_at) } }, formatRelative(r.created_at, Date.now()))),
      h('p', { class: 'report-reason' }, icon('flag'), h('span', {}, r.reason)),
      h('blockquote', { class: 'quote report-message' },
        author ? h('span', { class: 'quote-author' }, avatar(author, 'xs'), h('strong', {}, displayName(author))) : null,
        h('span', { class: msg.deleted ? 'muted' : '' }, msg.deleted ? deletedText(msg) : (msg.body || ''))));
    const actionsRow = h('div', { class: 'report-actions' },
      canJump && msg.id != null ? h('button', {
        class: 'btn btn-ghost btn-small', attrs: { type: 'button' },
        on: { click: () => { dlg.close(); onJump(roomId, msg.id); } },
      }, t('reports.view')) : null,
      h('button', {
        class: 'btn btn-soft btn-small', attrs: { type: 'button', 'aria-label': t('reports.dismissLabel', { name: reporter || '?' }) },
        on: { click: () => resolve(r, 'dismiss', el) },
      }, icon('check'), t('reports.dismiss')),
      h('button', {
        class: 'btn btn-primary btn-small danger-fill', attrs: { type: 'button', 'aria-label': t('reports.deleteLabel', { name: author ? displayName(author) : '?' }) },
        on: { click: () => resolve(r, 'delete', el) },
      }, icon('trash'), t('reports.delete')));
    el.append(actionsRow);
    return el;
  }

  async function load() {
    list.setAttribute('aria-busy', 'true');
    try {
      const { reports } = await api.reports('open');
      list.replaceChildren(...reports.map(card));
      status.textContent = reports.length ? '' : t('reports.empty');
    } catch (err) {
      status.textContent = errorText(err);
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  }

  // A new report while the view is open shows up without a reload.
  const onNotification = (n) => { if (n.reason === 'report') load(); };
  hooks.notification.add(onNotification);
  const dlg = openDialog({
    title: t('reports.title'),
    className: 'dialog-wide reports-panel',
    onClose: () => hooks.notification.delete(onNotification),
    content: [h('p', { class: 'muted' }, t('reports.lead')), status, list],
  });
  load();
}
