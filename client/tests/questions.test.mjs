// The mentors' queue as the reducer and its selector keep it: what the server
// listed, then votes, claims, answers and new questions from the room's events.
import test from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState } from '../state.js';
import { questionQueue, isQuestion, workshopEnds } from '../questions.js';

const mentor = { id: 1, username: 'mentor', display_name: 'Mentor', role: 'mentor', region: null };
const bob = { id: 2, username: 'bob', display_name: 'Bob', role: 'student', region: null };
const room = {
  id: 7, slug: 'r7', name: 'Room 7', kind: 'cohort', visibility: 'private', topic: null, member_count: 2,
  last_seq: 10, unread: 0, last_read_seq: 10, notify_level: 'all', posting: 'everyone', slow_mode: 0,
  guests_allowed: false, archived: false, pinned: [],
};
const q = (extra = {}) => ({ state: 'open', votes: 0, my_vote: false, claimed_by: null, answered_by: null, answer: null, ...extra });
const msg = (id, seq, question = q(), extra = {}) => ({
  id, room: 7, seq, author: bob, body: `question ${id}`, created_at: '2026-03-24T09:30:00.000Z', edited_at: null,
  deleted: false, reply_to: null, reactions: [], mentions: [], nonce: null, pinned: false, question, ...extra,
});
const ev = (type, fields) => ({ op: 'event', type, ...fields });
const ids = (list) => list.map((m) => m.id);

function listed(questions) {
  const s = apply(initialState(), { op: 'ready', user: mentor, rooms: [room], notifications_unread: 0 });
  return apply(s, { op: 'local.questions', room: 7, questions });
}

test('the queue sorts by votes then oldest, or oldest first', () => {
  const s = listed([msg(3, 3, q({ votes: 2 })), msg(1, 1, q({ votes: 2 })), msg(2, 2, q({ votes: 5 }))]);
  assert.deepEqual(ids(questionQueue(s, 7, 'votes')), [2, 1, 3]);
  assert.deepEqual(ids(questionQueue(s, 7, 'oldest')), [1, 2, 3]);
});

test('a vote arriving as message.updated reorders the queue', () => {
  let s = listed([msg(1, 1, q({ votes: 1 })), msg(2, 2)]);
  assert.deepEqual(ids(questionQueue(s, 7)), [1, 2]);
  s = apply(s, ev('message.updated', { room: 7, seq: 11, message: msg(2, 2, q({ votes: 3 })) }));
  s = apply(s, ev('message.updated', { room: 7, seq: 12, message: msg(2, 2, q({ votes: 3 })) }));
  assert.deepEqual(ids(questionQueue(s, 7)), [2, 1]);
  assert.equal(questionQueue(s, 7)[0].question.votes, 3);
});

test('a claim shows who is on it; an answer takes the question out; a reopen puts it back', () => {
  let s = listed([msg(1, 1), msg(2, 2)]);
  s = apply(s, ev('message.updated', { room: 7, seq: 11, message: msg(1, 1, q({ claimed_by: 1 })) }));
  assert.equal(questionQueue(s, 7)[0].question.claimed_by, 1);
  s = apply(s, ev('message.updated', { room: 7, seq: 12, message: msg(1, 1, q({ state: 'answered', answered_by: 1, answer: 9 })) }));
  assert.deepEqual(ids(questionQueue(s, 7)), [2]);
  s = apply(s, ev('message.updated', { room: 7, seq: 13, message: msg(1, 1, q()) }));
  assert.deepEqual(ids(questionQueue(s, 7)), [1, 2]);
});

test('a question asked after the queue was listed joins it; plain and deleted messages do not', () => {
  let s = listed([msg(1, 1)]);
  s = apply(s, ev('message.created', { room: 7, seq: 11, message: msg(5, 11) }));
  s = apply(s, ev('message.created', { room: 7, seq: 12, message: msg(6, 12, null) }));
  assert.deepEqual(ids(questionQueue(s, 7)), [1, 5]);
  s = apply(s, ev('message.updated', { room: 7, seq: 13, message: msg(1, 1, q(), { deleted: true, body: '' }) }));
  assert.deepEqual(ids(questionQueue(s, 7)), [5]);
  assert.equal(isQuestion(msg(6, 12, null)), false);
});

test('a room never listed has an empty queue until a question shows up', () => {
  const s = apply(initialState(), { op: 'ready', user: mentor, rooms: [room], notifications_unread: 0 });
  assert.deepEqual(questionQueue(s, 7), []);
});

test('a workshop counts down from room.updated and stops counting at its end or when it is ended', () => {
  let s = apply(initialState(), { op: 'ready', user: mentor, rooms: [room], notifications_unread: 0 });
  const now = Date.parse('2026-03-24T10:00:00.000Z');
  assert.equal(workshopEnds(s.rooms[7], now), 0);
  s = apply(s, ev('room.updated', { room: { ...room, slow_mode: 30, workshop: { ends_at: '2026-03-24T11:00:00.000Z' } }, seq: 11 }));
  assert.equal(workshopEnds(s.rooms[7], now), now + 3600_000);
  assert.equal(workshopEnds(s.rooms[7], now + 3600_000), 0);
  s = apply(s, ev('room.updated', { room: { ...room, workshop: null }, seq: 12 }));
  assert.equal(workshopEnds(s.rooms[7], now), 0);
});

test('my vote survives the broadcast of the change, which says my_vote false to everyone', () => {
  let s = listed([msg(1, 1)]);
  s = apply(s, { op: 'local.message', message: msg(1, 1, q({ votes: 1, my_vote: true })) });
  s = apply(s, ev('message.updated', { room: 7, seq: 11, message: msg(1, 1, q({ votes: 1, my_vote: false })) }));
  assert.equal(s.messages[7].byId[1].question.my_vote, true);
  // Someone else's vote after mine: still mine, and counted.
  s = apply(s, ev('message.updated', { room: 7, seq: 12, message: msg(1, 1, q({ votes: 2, my_vote: false })) }));
  assert.deepEqual([s.messages[7].byId[1].question.votes, s.messages[7].byId[1].question.my_vote], [2, true]);
});
