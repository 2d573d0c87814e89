// "New poll" from the composer: a question, 2 to 10 options (add, remove),
// multiple choice and anonymous switches. Checked here as the server checks
// (non-blank, distinct, lengths); the server's answer is the last word.

import { h, iconButton } from '../dom.js';
import { t } from '../i18n.js';
import { openDialog, reportInvalid } from './ui.js';

export const MIN_OPTIONS = 2;
export const MAX_OPTIONS = 10;
const MAX_QUESTION = 300;
const MAX_OPTION = 100;

const same = (text) => text.normalize('NFC').toLocaleLowerCase().split(/\s+/).filter(Boolean).join(' ');

/** The poll to send from the form's values, or the key of what is wrong with them. */
export function draftPoll(question, options, multiple, anonymous) {
  const q = question.trim();
  const opts = options.map((o) => o.trim()).filter(Boolean);
  if (!q) return { error: 'poll.questionRequired' };
  if (opts.length < MIN_OPTIONS) return { error: 'poll.twoOptions' };
  if (new Set(opts.map(same)).size !== opts.length) return { error: 'poll.duplicate' };
  return { poll: { question: q, options: opts, multiple: !!multiple, anonymous: !!anonymous } };
}

/** Opens the dialog; `onSubmit(poll)` sends it (queued like any message). */
export function openPollDialog({ onSubmit }) {
  const question = h('input', {
    class: 'input', attrs: { id: 'poll-question', required: true, maxlength: MAX_QUESTION, autocomplete: 'off' },
  });
  const list = h('ol', { class: 'poll-draft-options' });
  const addBtn = h('button', {
    class: 'btn btn-ghost poll-add', attrs: { type: 'button' }, on: { click: () => { addOption(''); refresh(); inputs().at(-1).focus(); } },
  }, t('poll.addOption'));
  const multiple = h('input', { attrs: { type: 'checkbox', id: 'poll-multiple' } });
  const anonymous = h('input', { attrs: { type: 'checkbox', id: 'poll-anonymous' } });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const inputs = () => [...list.querySelectorAll('input')];

  function addOption(value) {
    const n = list.children.length + 1;
    const input = h('input', {
      class: 'input poll-option-input',
      attrs: { maxlength: MAX_OPTION, autocomplete: 'off', 'aria-label': t('poll.optionN', { n }) },
      props: { value },
    });
    const row = h('li', { class: 'poll-draft-option' }, input,
      iconButton('x', t('poll.removeOption', { n }), () => { row.remove(); refresh(); }, 'poll-remove'));
    list.appendChild(row);
  }

  function refresh() {
    const rows = [...list.children];
    rows.forEach((row, i) => {
      row.querySelector('input').setAttribute('aria-label', t('poll.optionN', { n: i + 1 }));
      const remove = row.querySelector('.poll-remove');
      remove.setAttribute('aria-label', t('poll.removeOption', { n: i + 1 }));
      remove.disabled = rows.length <= MIN_OPTIONS;
    });
    addBtn.disabled = rows.length >= MAX_OPTIONS;
  }

  const submit = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('poll.create'));
  const form = h('form', {
    class: 'stack poll-form',
    attrs: { novalidate: true },
    on: {
      submit: (e) => {
        e.preventDefault();
        error.textContent = '';
        if (!question.value.trim()) question.value = '';
        if (!reportInvalid([[question, { valueMissing: t('poll.questionRequired') }]])) return;
        const drafted = draftPoll(question.value, inputs().map((i) => i.value), multiple.checked, anonymous.checked);
        if (drafted.error) { error.textContent = t(drafted.error); return; }
        onSubmit(drafted.poll);
        dlg.close();
      },
    },
  },
  h('div', { class: 'field' }, h('label', { attrs: { for: 'poll-question' } }, t('poll.question')), question),
  h('fieldset', { class: 'field poll-options-field' }, h('legend', {}, t('poll.options')), list, addBtn),
  h('label', { class: 'check' }, multiple, t('poll.multiple')),
  h('label', { class: 'check' }, anonymous, t('poll.anonymousChoice')),
  h('small', { class: 'hint' }, t('poll.anonymousHint')),
  error,
  h('div', { class: 'dialog-foot' }, submit));
  for (let i = 0; i < MIN_OPTIONS; i += 1) addOption('');
  refresh();
  const dlg = openDialog({ title: t('poll.new'), className: 'poll-dialog', content: form });
  question.focus();
  return dlg;
}
