// Polls in the client: shares of voters, what a click votes, the creation form's
// checks, and the viewer's my_vote surviving broadcasts (which carry null).
import test from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState } from '../state.js';
import { pollShares, nextVote } from '../views/poll-card.js';
import { draftPoll } from '../views/poll-dialog.js';

const me = { id: 1, username: 'ana', display_name: 'Ana', role: 'student', region: null };
const room = {
  id: 7, slug: 'r7', name: 'Room 7', kind: 'topic', visibility: 'public', topic: null, member_count: 2,
  last_seq: 10, unread: 0, last_read_seq: 10, notify_level: 'all', posting: 'everyone', slow_mode: 0,
  guests_allowed: false, archived: false, pinned: [],
};
const poll = (extra = {}) => ({
  question: 'Lunch?',
  options: [{ id: 1, text: 'Pizza', votes: 0 }, { id: 2, text: 'Sushi', votes: 0 }, { id: 3, text: 'Falafel', votes: 0 }],
  multiple: false, anonymous: false, closed: false, voters: 0, my_vote: [], ...extra,
});
const msg = (p) => ({
  id: 5, room: 7, seq: 5, author: me, body: 'Lunch?', created_at: '2026-03-24T09:30:00.000Z', edited_at: null,
  deleted: false, reply_to: null, reactions: [], mentions: [], nonce: null, pinned: false, question: null, poll: p,
});

test('shares are of voters, so a multiple-choice poll may pass 100 % in all', () => {
  const votes = [{ id: 1, text: 'a', votes: 2 }, { id: 2, text: 'b', votes: 1 }, { id: 3, text: 'c', votes: 0 }];
  assert.deepEqual(pollShares(poll({ options: votes, voters: 3 })), [67, 33, 0]);
  assert.deepEqual(pollShares(poll({ options: votes, voters: 2, multiple: true })), [100, 50, 0]);
  assert.deepEqual(pollShares(poll()), [0, 0, 0]);
});

test('a click picks in a single-choice poll and toggles in a multiple one', () => {
  assert.deepEqual(nextVote(poll(), 2), [2]);
  assert.deepEqual(nextVote(poll({ my_vote: [2] }), 3), [3]);
  assert.deepEqual(nextVote(poll({ my_vote: [2] }), 2), [2]);
  assert.deepEqual(nextVote(poll({ multiple: true, my_vote: [3] }), 1), [1, 3]);
  assert.deepEqual(nextVote(poll({ multiple: true, my_vote: [1, 3] }), 1), [3]);
  assert.deepEqual(nextVote(poll({ my_vote: null }), 1), [1]);
});

test('the form refuses what the server refuses', () => {
  assert.equal(draftPoll('  ', ['a', 'b']).error, 'poll.questionRequired');
  assert.equal(draftPoll('Q?', ['a', '  ']).error, 'poll.twoOptions');
  assert.equal(draftPoll('Q?', ['Tea', ' tea ']).error, 'poll.duplicate');
  assert.equal(draftPoll('Q?', ['Green  tea', 'green tea']).error, 'poll.duplicate');
  assert.deepEqual(draftPoll(' Q? ', [' a ', '', 'b'], true, false).poll,
    { question: 'Q?', options: ['a', 'b'], multiple: true, anonymous: false });
});

test('my_vote survives a broadcast, and a reply for me replaces it', () => {
  let s = apply(initialState(), { op: 'ready', user: me, rooms: [room], notifications_unread: 0 });
  s = apply(s, { op: 'local.message', message: msg(poll({ my_vote: [2], voters: 1 })) });
  const counted = poll({ voters: 2, my_vote: null, options: [{ id: 1, text: 'Pizza', votes: 1 }, { id: 2, text: 'Sushi', votes: 1 }, { id: 3, text: 'Falafel', votes: 0 }] });
  s = apply(s, { op: 'event', type: 'message.updated', room: 7, seq: 11, message: msg(counted) });
  const kept = s.messages[7].byId[5].poll;
  assert.deepEqual(kept.my_vote, [2]);
  assert.equal(kept.voters, 2);
  s = apply(s, { op: 'local.message', message: msg(poll({ my_vote: [], voters: 1 })) });
  assert.deepEqual(s.messages[7].byId[5].poll.my_vote, []);
});
