// Builds the element of one message (or one pending send): author, time,
// reply quote, body segments, reactions bar and the hover toolbar with its
// menu (pin, report). All user text goes in as text nodes; links are <a>
// elements with checked hrefs.

import { h, icon, iconButton, avatar } from '../dom.js';
import { t, formatTime, formatDateTime, errorText } from '../i18n.js';
import { isEmojiOnly } from '../richtext.js';
import { preview } from '../markdown.js';
import { renderFormatted } from './formatted.js';
import { attachmentsView } from './attachments.js';
import { displayName } from '../selectors.js';
import { presenceDot } from './sidebar.js';
import { openMenu } from './ui.js';
import { questionBadge } from './questions.js';
import { eventCard } from './event-card.js';
import { pollCard } from './poll-card.js';

/** What a deleted message says: by its author, or removed by a moderator. */
export function deletedText(msg) {
  return t(msg.deleted_by === 'moderator' ? 'message.removedByModerator' : 'message.deleted');
}

/** Body text → formatted nodes (Markdown subset, links, mentions, code), never markup. */
export function renderBody(body, { mentionedNames = [], me = null, key = null } = {}) {
  return renderFormatted(body, { mentionedNames, me, key });
}

function snippet(text, n = 90) {
  return preview(text, n);
}

function replyQuote(msg, ctx) {
  const target = ctx.lookup(msg.reply_to);
  const who = target ? displayName(ctx.users[target.author.id] || target.author) : null;
  const text = !target ? t('message.replyUnavailable') : target.deleted ? deletedText(target) : snippet(target.body);
  return h('button', {
    class: 'msg-reply',
    attrs: { type: 'button', 'aria-label': t('message.jumpToReply', { name: who || '…' }) },
    on: { click: () => ctx.onJump(msg.reply_to) },
  }, icon('reply', 'flip'), who ? h('strong', {}, who) : null, h('span', { class: 'msg-reply-text' }, text));
}

function reactionsBar(msg, ctx) {
  if (msg.deleted) return null;
  const list = msg.reactions || [];
  if (!list.length) return null;
  return h('div', { class: 'msg-reactions', attrs: { role: 'group', 'aria-label': t('reactions.label') } },
    list.map((r) => h('button', {
      class: `reaction${r.me ? ' mine' : ''}`,
      attrs: {
        type: 'button', 'aria-pressed': String(!!r.me), 'data-emoji': r.emoji,
        'aria-label': t(r.me ? 'reactions.remove' : 'reactions.add', { emoji: r.emoji, count: r.count }),
        title: t(r.me ? 'reactions.remove' : 'reactions.add', { emoji: r.emoji, count: r.count }),
      },
      on: { click: () => ctx.onReact(msg, r.emoji) },
    }, h('span', { class: 'reaction-emoji' }, r.emoji), h('span', { class: 'reaction-count' }, String(r.count)))),
    h('button', {
      class: 'reaction reaction-add',
      attrs: { type: 'button', 'aria-label': t('reactions.pick'), title: t('reactions.pick') },
      on: { click: (e) => ctx.onPickReaction(msg, e.currentTarget) },
    }, icon('smilePlus')));
}

function toolbar(msg, ctx, mine) {
  const tools = [
    iconButton('smilePlus', t('reactions.pick'), (e) => ctx.onPickReaction(msg, e.currentTarget), 'tool-react'),
    iconButton('reply', t('message.reply'), () => ctx.onReply(msg), 'tool-reply'),
  ];
  if (mine) tools.push(iconButton('edit', t('message.edit'), () => ctx.onEdit(msg), 'tool-edit'));
  if (mine || ctx.canModerate) tools.push(iconButton('trash', t('message.delete'), () => ctx.onDelete(msg), 'tool-delete danger'));
  const more = [];
  if (ctx.canModerate) {
    more.push(msg.pinned
      ? { label: t('message.unpin'), icon: 'pin', onSelect: () => ctx.onPin(msg, false) }
      : { label: t('message.pin'), icon: 'pin', onSelect: () => ctx.onPin(msg, true) });
  }
  if (!mine) more.push({ label: t('message.report'), icon: 'flag', onSelect: () => ctx.onReport(msg) });
  if (more.length) {
    const btn = iconButton('more', t('message.more'), () => openMenu(btn, more, t('message.actions')), 'tool-more');
    btn.setAttribute('aria-haspopup', 'menu');
    btn.setAttribute('aria-expanded', 'false');
    tools.push(btn);
  }
  return h('div', { class: 'msg-tools', attrs: { role: 'toolbar', 'aria-label': t('message.actions') } }, tools);
}

/** A sent message. `ctx` carries users, presence, lookup() and the callbacks. */
export function messageElement(msg, grouped, ctx) {
  const author = ctx.users[msg.author.id] || msg.author;
  const mine = ctx.me && msg.author.id === ctx.me.id;
  const mentionsMe = ctx.me && (msg.mentions || []).includes(ctx.me.id);
  const cls = ['msg', grouped && 'grouped', mine && 'mine', mentionsMe && 'mentions-me', msg.deleted && 'deleted', msg.pinned && !msg.deleted && 'pinned'].filter(Boolean).join(' ');
  const time = h('time', { attrs: { datetime: msg.created_at, title: formatDateTime(msg.created_at) } }, formatTime(msg.created_at));

  const gutter = grouped
    ? h('div', { class: 'msg-gutter' }, h('span', { class: 'msg-hover-time', attrs: { 'aria-hidden': 'true' } }, formatTime(msg.created_at)))
    : h('div', { class: 'msg-gutter' }, h('button', {
      class: 'avatar-wrap profile-link',
      attrs: { type: 'button', tabindex: '-1', 'aria-label': t('profile.open', { name: displayName(author) }) },
      dataset: { profile: author.id },
    }, avatar(author, 'md'), presenceDot(ctx.presence[author.id])));

  let body;
  if (msg.deleted) {
    body = h('div', { class: `msg-body msg-deleted${msg.deleted_by === 'moderator' ? ' by-moderator' : ''}` },
      icon(msg.deleted_by === 'moderator' ? 'shield' : 'trash'), deletedText(msg));
  } else {
    const names = (msg.mentions || []).map((id) => ctx.users[id] && ctx.users[id].username).filter(Boolean);
    body = h('div', { class: `msg-body${isEmojiOnly(msg.body) ? ' emoji-only' : ''}` },
      renderBody(msg.body, { mentionedNames: names, me: ctx.me && ctx.me.username, key: msg.id }));
    if (msg.edited_at) body.appendChild(h('span', { class: 'msg-edited', attrs: { title: formatDateTime(msg.edited_at) } }, ` ${t('message.edited')}`));
    if (!msg.body && !msg.edited_at && (msg.attachments || []).length) body = null; // files only
    if (msg.event && !msg.edited_at && msg.body === msg.event.title) body = null; // the card says it
  }

  return h('article', {
    class: cls,
    attrs: { id: `msg-${msg.id}`, 'data-id': msg.id, 'data-seq': msg.seq, tabindex: '-1', 'aria-label': `${displayName(author)}, ${formatTime(msg.created_at)}` },
  },
  gutter,
  h('div', { class: 'msg-main' },
    msg.reply_to ? replyQuote(msg, ctx) : null,
    grouped ? null : h('header', { class: 'msg-head' },
      h('button', { class: 'msg-author profile-link', attrs: { type: 'button' }, dataset: { profile: author.id } }, displayName(author)),
      author.role && author.role !== 'student' ? h('span', { class: `role-tag role-${author.role}` }, t(`role.${author.role}`)) : null,
      time),
    msg.pinned && !msg.deleted ? h('span', { class: 'msg-pinned' }, icon('pin'), t('message.pinned')) : null,
    body,
    msg.deleted ? null : attachmentsView(msg.attachments),
    msg.question && !msg.deleted ? questionBadge(msg, ctx, mine) : null,
    msg.event && !msg.deleted ? eventCard(msg, ctx, mine) : null,
    msg.poll && !msg.deleted && ctx.polls ? pollCard(msg, ctx, mine) : null,
    reactionsBar(msg, ctx)),
  msg.deleted ? null : toolbar(msg, ctx, mine));
}

/** A message typed here that the server has not acknowledged yet. */
export function pendingElement(entry, grouped, ctx) {
  const me = ctx.me ? ctx.users[ctx.me.id] || ctx.me : { id: 0, username: '?' };
  const failed = entry.status === 'failed';
  const state = failed
    ? h('div', { class: 'msg-pending-state failed', attrs: { role: 'alert' } },
      icon('alert'), h('span', {}, `${t('message.failed')} ${errorText(entry.error)}`),
      h('button', { class: 'link-btn', attrs: { type: 'button' }, on: { click: () => ctx.onRetry(entry.nonce) } }, t('message.retry')),
      h('button', { class: 'link-btn', attrs: { type: 'button' }, on: { click: () => ctx.onDiscard(entry.nonce) } }, t('message.discard')))
    : h('div', { class: 'msg-pending-state' }, icon('clock'), ctx.online ? t('message.sending') : t('message.queued'));
  return h('article', {
    class: `msg mine pending${grouped ? ' grouped' : ''}${failed ? ' failed' : ''}`,
    attrs: { 'data-nonce': entry.nonce, 'aria-label': `${displayName(me)}, ${failed ? t('message.failed') : t('message.queued')}` },
  },
  h('div', { class: 'msg-gutter' }, grouped ? null : avatar(me, 'md')),
  h('div', { class: 'msg-main' },
    grouped ? null : h('header', { class: 'msg-head' }, h('span', { class: 'msg-author' }, displayName(me))),
    entry.body ? h('div', { class: 'msg-body' }, renderBody(entry.body, { me: ctx.me && ctx.me.username })) : null,
    entry.uploads ? attachmentsView(entry.uploads) : null,
    state));
}
