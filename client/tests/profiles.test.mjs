// Profiles in the client: user.updated renames and re-pictures people in place
// (also in what a replay brings back), and the card's rules for its buttons.
import test from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState } from '../state.js';
import { mayMessage, mayBefriend, friendButton } from '../views/profile-card.js';

const alice = { id: 1, username: 'alice', display_name: 'Alice', role: 'student', region: null, avatar: null };
const bob = { id: 2, username: 'bob', display_name: 'Bob', role: 'student', region: null, avatar: null };
const room = { id: 7, slug: 'r7', name: 'Room 7', kind: 'topic', visibility: 'public', topic: null, member_count: 2, last_seq: 10, unread: 0, last_read_seq: 10 };
const msg = (id, seq, author) => ({ id, room: 7, seq, author, body: `hello ${id}`, created_at: '2026-03-24T09:30:00.123Z', edited_at: null, deleted: false, reply_to: null, reactions: [], mentions: [], nonce: null });
const ev = (type, fields) => ({ op: 'event', type, ...fields });
const ready = () => apply(initialState(), { op: 'ready', user: alice, rooms: [room], notifications_unread: 0 });

test('user.updated changes the name and picture of someone we know, in place', () => {
  let s = apply(ready(), ev('message.created', { room: 7, seq: 11, message: msg(100, 11, bob) }));
  const renamed = { ...bob, display_name: 'Bob Martin', avatar: '/api/users/2/avatar/AAAAAAAAAAAAAAAAAAAAAA', bio: 'Salut', pronouns: 'il' };
  s = apply(s, ev('user.updated', { user: renamed }));
  assert.equal(s.users[2].display_name, 'Bob Martin');
  assert.equal(s.users[2].avatar, renamed.avatar);
  assert.equal(s.users[2].bio, 'Salut');
  // The message keeps its own copy; views show the user from `users` by id.
  assert.equal(s.messages[7].byId[100].author.display_name, 'Bob');
  // Not sequenced: no room's seq moves.
  assert.equal(s.seqs[7], 11);
});

test('user.updated about me updates me too', () => {
  const s = apply(ready(), ev('user.updated', { user: { ...alice, display_name: 'Alice D.' } }));
  assert.equal(s.me.display_name, 'Alice D.');
  assert.equal(s.users[1].display_name, 'Alice D.');
});

test('a replayed message does not bring back an old name, a live one carries the new', () => {
  let s = apply(ready(), ev('user.updated', { user: { ...bob, display_name: 'Bob Martin' } }));
  s = apply(s, { op: 'local.replaying', room: 7, kind: 'gap' });
  s = apply(s, ev('message.created', { room: 7, seq: 11, message: msg(100, 11, bob) }));
  assert.equal(s.users[2].display_name, 'Bob Martin');
  s = apply(s, ev('room.synced', { room: 7, seq: 11 }));
  s = apply(s, ev('message.created', { room: 7, seq: 12, message: msg(101, 12, { ...bob, display_name: 'Bobby' }) }));
  assert.equal(s.users[2].display_name, 'Bobby');
});

test('a replay still introduces people we did not know', () => {
  let s = apply(ready(), { op: 'local.replaying', room: 7, kind: 'gap' });
  s = apply(s, ev('message.created', { room: 7, seq: 11, message: msg(100, 11, bob) }));
  assert.equal(s.users[2].display_name, 'Bob');
});

test('malformed user.updated frames change nothing', () => {
  const s = ready();
  assert.equal(apply(s, ev('user.updated', {})), s);
  assert.equal(apply(s, ev('user.updated', { user: { id: '2' } })), s);
});

test('the card offers a DM and a friend request as the roles allow', () => {
  const mentor = { id: 3, role: 'mentor' };
  const guest = { id: 4, role: 'guest' };
  const student = { id: 5, role: 'student' };
  assert.equal(mayMessage(student, mentor), true);
  assert.equal(mayMessage(student, student), false); // oneself
  assert.equal(mayMessage(guest, student), false);
  assert.equal(mayMessage(guest, mentor), true);
  assert.equal(mayMessage(student, guest), false);
  assert.equal(mayMessage(mentor, guest), true);
  assert.equal(mayBefriend(student, mentor), true);
  assert.equal(mayBefriend(student, guest), false);
  assert.equal(mayBefriend(guest, mentor), false);
  assert.equal(mayBefriend(student, student), false);
});

test('the friend button follows the friendship', () => {
  assert.deepEqual(friendButton('none'), { key: 'profile.addFriend', enabled: true, icon: 'userPlus' });
  assert.equal(friendButton('incoming').key, 'profile.acceptFriend');
  assert.equal(friendButton('requested').enabled, false);
  assert.equal(friendButton('friends').enabled, false);
});

test('the settings check a bio and a picture as the server will', async () => {
  const { bioProblem, pictureProblem, BIO_MAX } = await import('../views/profile-edit.js');
  assert.equal(bioProblem('  ' + 'é'.repeat(BIO_MAX) + '\r\n'), null);
  assert.notEqual(bioProblem('x'.repeat(BIO_MAX + 1)), null);
  assert.equal(bioProblem('1\n2\n3\n4\n5\n6'), null);
  assert.notEqual(bioProblem('1\n2\n3\n4\n5\n6\n7'), null);
  assert.equal(pictureProblem({ type: 'image/png', size: 1000 }), null);
  assert.notEqual(pictureProblem({ type: 'image/svg+xml', size: 1000 }), null);
  assert.notEqual(pictureProblem({ type: 'image/jpeg', size: 6 * 1024 * 1024 }), null);
});
