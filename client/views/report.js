// "Report" from a message's menu: the message quoted, a reason (1–500
// characters), sent to the school's mentors and admins.

import { h } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { displayName } from '../selectors.js';
import { openDialog, reportInvalid, toast } from './ui.js';

const MAX_REASON = 500;

export function openReport({ actions, msg, users }) {
  const author = users[msg.author.id] || msg.author;
  const reason = h('textarea', {
    class: 'input textarea',
    attrs: { id: 'report-reason', required: true, maxlength: MAX_REASON, rows: 3, 'aria-describedby': 'report-hint' },
  });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('report.submit'));
  const form = h('form', {
    class: 'stack',
    attrs: { novalidate: true },
    on: {
      submit: async (e) => {
        e.preventDefault();
        error.textContent = '';
        if (!reason.value.trim()) reason.value = '';
        if (!reportInvalid([[reason, { valueMissing: t('report.reasonRequired') }]])) return;
        submit.disabled = true;
        try {
          await actions.report(msg.id, reason.value.trim());
          dlg.close();
          toast(t('report.sent'));
        } catch (err) {
          error.textContent = errorText(err);
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  h('blockquote', { class: 'quote' }, h('strong', {}, displayName(author)), h('span', {}, msg.body)),
  h('div', { class: 'field' },
    h('label', { attrs: { for: 'report-reason' } }, t('report.reason')),
    reason,
    h('small', { class: 'hint', attrs: { id: 'report-hint' } }, t('report.hint'))),
  error,
  h('div', { class: 'dialog-foot' }, submit));
  const dlg = openDialog({ title: t('report.title'), content: form });
  reason.focus();
}
