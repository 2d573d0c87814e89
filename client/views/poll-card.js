// A message's poll: its question, one bar per option (share of voters, count),
// the viewer's own choice marked, and what they may do — vote, change or
// withdraw their vote, close the poll (its author, moderators), see who chose
// what (unless it is anonymous). Live: `message.updated` carries the full poll,
// and the model keeps the viewer's `my_vote`, which broadcasts leave null.

import { h, icon } from '../dom.js';
import { t, lang } from '../i18n.js';
import { displayName } from '../selectors.js';
import { openDialog } from './ui.js';

/** Each option's share of the poll's voters, in whole percent (0 when nobody voted). */
export function pollShares(poll) {
  const voters = poll.voters || 0;
  return poll.options.map((o) => (voters ? Math.round((o.votes / voters) * 100) : 0));
}

/** The options a vote sets after a click on `id`: single choice picks it, multiple toggles it. */
export function nextVote(poll, id) {
  const mine = poll.my_vote || [];
  if (!poll.multiple) return mine.length === 1 && mine[0] === id ? mine : [id];
  return mine.includes(id) ? mine.filter((o) => o !== id) : [...mine, id].sort((a, b) => a - b);
}

function percent(n) {
  return new Intl.NumberFormat(lang(), { style: 'percent', maximumFractionDigits: 0 }).format(n / 100);
}

function optionRow(msg, option, share, ctx) {
  const poll = msg.poll;
  const mine = (poll.my_vote || []).includes(option.id);
  const label = t('poll.optionLabel', { text: option.text, count: option.votes, percent: percent(share) });
  const bar = h('span', { class: 'poll-bar', attrs: { 'aria-hidden': 'true' } });
  bar.style.setProperty('--share', `${share}%`);
  return h('li', { attrs: { role: 'none' } },
    h('button', {
      class: `poll-option${mine ? ' mine' : ''}`,
      attrs: {
        type: 'button',
        role: poll.multiple ? 'checkbox' : 'radio',
        'aria-checked': String(mine),
        'aria-label': label,
        'data-option': option.id,
        disabled: poll.closed,
        title: poll.closed ? t('poll.closedHint') : label,
      },
      on: { click: () => ctx.polls.vote(msg, nextVote(poll, option.id)) },
    },
    bar,
    h('span', { class: 'poll-mark', attrs: { 'aria-hidden': 'true' } }, mine ? icon('check') : null),
    h('span', { class: 'poll-text' }, option.text),
    h('span', { class: 'poll-pct' }, percent(share)),
    h('span', { class: 'poll-count' }, String(option.votes))));
}

/** The poll of a message; `mine` says the viewer wrote it. */
export function pollCard(msg, ctx, mine) {
  const poll = msg.poll;
  const shares = pollShares(poll);
  const voted = (poll.my_vote || []).length > 0;
  const tags = [
    h('span', { class: 'poll-tag' }, icon('chart'), t(poll.closed ? 'poll.closed' : 'poll.badge')),
    poll.anonymous ? h('span', { class: 'poll-tag subtle' }, t('poll.anonymous')) : null,
    poll.multiple && !poll.closed ? h('span', { class: 'poll-tag subtle' }, t('poll.multipleHint')) : null,
  ];
  const actions = [];
  if (voted && !poll.closed) {
    actions.push(h('button', {
      class: 'link-btn poll-withdraw', attrs: { type: 'button' }, on: { click: () => ctx.polls.vote(msg, []) },
    }, t('poll.withdraw')));
  }
  if (!poll.anonymous && poll.voters > 0) {
    actions.push(h('button', {
      class: 'link-btn poll-voters-btn', attrs: { type: 'button' }, on: { click: () => openVoters(msg, ctx) },
    }, t('poll.seeVoters')));
  }
  if (!poll.closed && (mine || ctx.canModerate)) {
    actions.push(h('button', {
      class: 'link-btn poll-close', attrs: { type: 'button' }, on: { click: () => ctx.polls.close(msg) },
    }, t('poll.close')));
  }
  return h('section', {
    class: `poll${poll.closed ? ' closed' : ''}${voted ? ' voted' : ''}`,
    attrs: { 'aria-label': t('poll.label', { question: poll.question }) },
  },
  h('div', { class: 'poll-head' }, tags),
  // A poll sent without other text has its question as its body, shown just above.
  (msg.body || '').trim() === poll.question ? null : h('p', { class: 'poll-question' }, poll.question),
  h('ul', {
    class: 'poll-options',
    attrs: { role: poll.multiple ? 'group' : 'radiogroup', 'aria-label': poll.question },
  }, poll.options.map((o, i) => optionRow(msg, o, shares[i], ctx))),
  h('footer', { class: 'poll-foot' },
    h('span', { class: 'poll-total' }, t('poll.voters', { count: poll.voters })),
    voted ? h('span', { class: 'poll-you' }, icon('check'), t('poll.youVoted')) : null,
    actions));
}

/** Who chose what, option by option, in a dialog. */
async function openVoters(msg, ctx) {
  const list = h('div', { class: 'poll-voters', attrs: { 'aria-busy': 'true' } }, t('poll.loading'));
  openDialog({ title: t('poll.votersTitle'), className: 'poll-voters-dialog', content: list });
  const options = await ctx.polls.voters(msg);
  list.removeAttribute('aria-busy');
  if (!options) { list.textContent = t('poll.votersUnavailable'); return; }
  list.replaceChildren(...options.map((o) => h('section', { class: 'poll-voters-option' },
    h('h3', {}, o.text, ' ', h('span', { class: 'poll-count' }, String(o.voters.length))),
    o.voters.length
      ? h('ul', {}, o.voters.map((u) => h('li', {}, displayName(ctx.users[u.id] || u))))
      : h('p', { class: 'hint' }, t('poll.nobody')))));
}
