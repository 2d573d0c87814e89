// The quick switcher's matching and ordering, and the room order of Alt+arrows.
import test from 'node:test';
import assert from 'node:assert/strict';
import { fold, matchRank, switcherItems } from '../views/switcher.js';
import { nextRoom, roomOrder, shortcutHelp, addShortcutHelp } from '../views/shortcuts.js';

const me = { id: 1, username: 'alice', display_name: 'Alice' };
const bob = { id: 2, username: 'bob', display_name: 'Bob Marchal' };
const chloe = { id: 3, username: 'chloe', display_name: 'Chloé Dupont' };
const state = (overrides = {}) => ({
  me,
  users: { 1: me, 2: bob, 3: chloe },
  friends: { friends: [bob, chloe], incoming: [], outgoing: [] },
  activeRoom: 10,
  rooms: {
    10: { id: 10, kind: 'topic', name: 'Algèbre', slug: 'algebre' },
    11: { id: 11, kind: 'topic', name: 'Biologie', slug: 'bio' },
    12: { id: 12, kind: 'topic', name: 'Chimie', slug: 'chimie', unread: 2 },
    13: { id: 13, kind: 'cohort', name: 'Promo 2026', slug: 'promo' },
    20: { id: 20, kind: 'dm', peers: [{ id: 1 }, { id: 2 }], last_seq: 5 },
  },
  ...overrides,
});

test('matching ignores case and accents; a name start beats a later word beats a substring', () => {
  assert.equal(fold('Élodie ÇA'), 'elodie ca');
  assert.equal(matchRank('Algèbre', 'alge'), 0);
  assert.equal(matchRank('Physique quantique', 'quant'), 1);
  assert.equal(matchRank('Biologie', 'log'), 2);
  assert.equal(matchRank('Biologie', 'xyz'), -1);
});

test('the switcher offers rooms, DMs by the other person, and friends without a DM', () => {
  const s = state();
  assert.deepEqual(switcherItems(s, 'marchal').map((i) => [i.kind, i.id]), [['dm', 20]]);
  assert.deepEqual(switcherItems(s, 'chloe').map((i) => [i.kind, i.id]), [['person', 3]]);
  assert.deepEqual(switcherItems(s, 'bio').map((i) => i.id), [11]);
  // Nothing typed: unread rooms first.
  assert.equal(switcherItems(s, '')[0].id, 12);
  // People found by the server join the list, never twice, never oneself.
  const dana = { id: 4, username: 'dana', display_name: 'Dana' };
  assert.deepEqual(switcherItems(s, 'da', [dana, me, dana]).map((i) => i.id), [4]);
});

test('Alt+arrows follow the sidebar order and wrap; unread skips read rooms', () => {
  const s = state();
  assert.deepEqual(roomOrder(s), [13, 10, 11, 12, 20]);
  assert.equal(nextRoom(s, 1), 11);
  assert.equal(nextRoom(s, -1), 13);
  assert.equal(nextRoom({ ...s, activeRoom: 20 }, 1), 13);
  assert.equal(nextRoom(s, 1, true), 12);
  assert.equal(nextRoom(s, -1, true), 12);
  assert.equal(nextRoom({ ...s, activeRoom: 12 }, 1, true), null);
  assert.equal(nextRoom({ ...s, rooms: {} }, 1), null);
});

test('the help lists every shortcut, and other views can add theirs', () => {
  const labels = () => shortcutHelp().map(([, , label]) => label);
  const before = labels().length;
  const remove = addShortcutHelp({ keys: [['/']], label: 'Rechercher' });
  assert.ok(labels().includes('Rechercher'));
  remove();
  assert.equal(labels().length, before);
});
