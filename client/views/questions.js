// Questions in the interface: the badge on a question message (votes, vote
// button, "answered" with a link to the answer) and the mentors' queue panel
// (open questions by votes or by age; claim, answer with a reply or mark
// answered, reopen) with the room's workshop controls on top, a column beside
// the chat on desktop, a panel on phones.

import { h, icon, replaceChildren } from '../dom.js';
import { t, errorText, formatTime } from '../i18n.js';
import { displayName } from '../selectors.js';
import { messagePreview } from '../uploads.js';
import { moderates } from '../moderation.js';
import { questionQueue } from '../questions.js';
import { toast } from './ui.js';
import { createWorkshopPanel } from './workshop.js';

function nameOf(ctxUsers, id) {
  const u = ctxUsers[id];
  return u ? displayName(u) : '…';
}

/** The badge under a question message. */
export function questionBadge(msg, ctx, mine) {
  const q = msg.question;
  const answered = q.state === 'answered';
  const votes = t('questions.votes', { count: q.votes });
  const parts = [h('span', { class: 'q-label' }, icon('message'), t('questions.badge'))];
  if (!mine && ctx.me) {
    parts.push(h('button', {
      class: `q-vote${q.my_vote ? ' mine' : ''}`,
      attrs: {
        type: 'button', 'aria-pressed': String(!!q.my_vote),
        'aria-label': `${t(q.my_vote ? 'questions.unvote' : 'questions.vote')}, ${votes}`, title: t(q.my_vote ? 'questions.unvote' : 'questions.vote'),
      },
      on: { click: () => ctx.onVote(msg, !q.my_vote) },
    }, '▲ ', votes));
  } else {
    parts.push(h('span', { class: 'q-votes' }, votes));
  }
  if (answered) {
    parts.push(h('span', { class: 'q-answered' }, '✓ ', t('questions.answered')));
    if (q.answer) {
      parts.push(h('button', {
        class: 'link-btn q-see-answer', attrs: { type: 'button' }, on: { click: () => ctx.onJump(q.answer) },
      }, t('questions.seeAnswer')));
    }
  } else if (q.claimed_by) {
    parts.push(h('span', { class: 'q-claimed' }, t('questions.claimedBy', { name: nameOf(ctx.users, q.claimed_by) })));
  }
  return h('div', { class: `q-badge${answered ? ' answered' : ''}`, attrs: { 'data-state': q.state } }, parts);
}

/** Replies to a question the room's log holds: what an answer may point at. */
function repliesTo(s, roomId, questionId) {
  const log = s.messages[roomId];
  if (!log) return [];
  return log.ids.map((id) => log.byId[id]).filter((m) => m && m.reply_to === questionId && !m.deleted);
}

/** The mentors' queue. `onJump(roomId, messageId)` shows a message in the chat. */
export function createQuestionQueue(store, actions, { onJump, onClose }) {
  const list = h('ol', { class: 'q-list', attrs: { role: 'list' } });
  const sortSel = h('select', {
    class: 'q-sort', attrs: { 'aria-label': t('questions.queue') },
    on: { change: () => { sort = sortSel.value; last = null; load(); render(store.get()); } },
  },
  h('option', { attrs: { value: 'votes' } }, t('questions.byVotes')),
  h('option', { attrs: { value: 'oldest' } }, t('questions.byAge')));
  const closeBtn = h('button', {
    class: 'icon-btn q-close', attrs: { type: 'button', 'aria-label': t('questions.close'), title: t('questions.close') },
    on: { click: () => onClose() },
  }, icon('x'));
  const workshop = createWorkshopPanel(store, actions);
  const el = h('aside', { class: 'q-queue', attrs: { hidden: true, 'aria-label': t('questions.queue') } },
    h('header', { class: 'q-head' }, h('h2', {}, t('questions.queue')), sortSel, closeBtn),
    workshop.el,
    list);
  let sort = 'votes';
  let roomId = null;
  let last = null;

  const run = (p) => p.catch((e) => toast(errorText(e), 'error'));
  function load() {
    if (roomId != null) run(actions.loadQuestions(roomId, sort));
  }

  function item(s, msg) {
    const q = msg.question;
    const mineClaim = s.me && q.claimed_by === s.me.id;
    const replies = repliesTo(s, roomId, msg.id);
    const answerSel = replies.length ? h('select', {
      class: 'q-answer-with', attrs: { 'aria-label': t('questions.pickReply') },
      on: { change: (e) => { const id = Number(e.currentTarget.value); if (id) run(actions.answer(msg.id, id)); } },
    },
    h('option', { attrs: { value: '' } }, t('questions.answerWith')),
    replies.map((r) => h('option', { attrs: { value: r.id } }, `${displayName(s.users[r.author.id] || r.author)}: ${messagePreview(r, 60)}`))) : null;
    return h('li', { class: 'q-item', attrs: { 'data-id': msg.id } },
      h('button', {
        class: 'q-text', attrs: { type: 'button', title: t('questions.jump') },
        on: { click: () => onJump(roomId, msg.id) },
      },
      h('strong', {}, displayName(s.users[msg.author.id] || msg.author)),
      h('time', { attrs: { datetime: msg.created_at } }, formatTime(msg.created_at)),
      h('span', { class: 'q-body' }, messagePreview(msg, 500))),
      h('div', { class: 'q-meta' },
        h('span', { class: 'q-votes' }, t('questions.votes', { count: q.votes })),
        q.claimed_by ? h('span', { class: 'q-claimed' }, t('questions.claimedBy', { name: nameOf(s.users, q.claimed_by) })) : null),
      h('div', { class: 'q-actions' },
        h('button', {
          class: `btn btn-small q-claim${mineClaim ? ' on' : ''}`, attrs: { type: 'button', 'aria-pressed': String(!!mineClaim) },
          on: { click: () => run(actions.claim(msg.id, !mineClaim)) },
        }, t(mineClaim ? 'questions.unclaim' : 'questions.claim')),
        answerSel,
        h('button', {
          class: 'btn btn-small q-mark', attrs: { type: 'button' },
          on: { click: () => run(actions.answer(msg.id)) },
        }, t('questions.markAnswered'))));
  }

  /** Answered questions the viewer can take back, newest first, so a wrong click is undone. */
  function answeredItems(s) {
    const log = s.messages[roomId];
    if (!log) return [];
    return log.ids.map((id) => log.byId[id])
      .filter((m) => m && m.question && !m.deleted && m.question.state === 'answered')
      .slice(-3).reverse()
      .map((m) => h('li', { class: 'q-item q-done', attrs: { 'data-id': m.id } },
        h('span', { class: 'q-body' }, '✓ ', messagePreview(m, 500)),
        h('button', { class: 'btn btn-small q-reopen', attrs: { type: 'button' }, on: { click: () => run(actions.reopen(m.id)) } }, t('questions.reopen'))));
  }

  /** Show the queue of `id` (or hide it with null). */
  function show(id) {
    el.hidden = id == null;
    if (id !== roomId) { roomId = id; last = null; }
    workshop.show(id);
    if (id != null) load();
  }

  function render(s) {
    if (roomId == null || el.hidden) return;
    if (!moderates(s, roomId)) { el.hidden = true; return; }
    workshop.render(s);
    const log = s.messages[roomId];
    const deps = [s.questions && s.questions[roomId], log && log.byId, log && log.ids, s.users, sort];
    if (last && deps.every((x, i) => x === last[i])) return;
    last = deps;
    const open = questionQueue(s, roomId, sort);
    const done = answeredItems(s);
    replaceChildren(list,
      open.length ? open.map((m) => item(s, m)) : h('li', { class: 'q-empty' }, t('questions.empty')),
      done);
  }

  return { el, show, render, get roomId() { return roomId; } };
}

/** Whether a viewer sees the queue button in a room. */
export function showsQueue(s, roomId) {
  return roomId != null && moderates(s, roomId);
}
