// Meetups' pure parts: the region filter's choices (the user's own first, no
// repeats, any case) and the form's local date and time read as the user's clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionChoices, localToIso } from '../views/events.js';

test('the user\'s own region comes first, then region rooms A→Z, each once whatever its case', () => {
  const rooms = [{ name: 'Normandie' }, { name: 'alsace' }, { name: 'Bretagne' }, { name: 'Alsace ' }];
  assert.deepEqual(regionChoices('Bretagne', rooms), ['Bretagne', 'alsace', 'Normandie']);
  assert.deepEqual(regionChoices(null, []), []);
  assert.deepEqual(regionChoices('  ', [{ name: 'Corse' }]), ['Corse']);
});

test('a local date and time become the UTC instant the user meant', () => {
  const iso = localToIso('2027-03-24', '18:30');
  const back = new Date(iso);
  assert.equal(back.getFullYear(), 2027);
  assert.equal(back.getMonth(), 2);
  assert.equal(back.getDate(), 24);
  assert.equal(back.getHours(), 18);
  assert.equal(back.getMinutes(), 30);
  assert.ok(iso.endsWith('Z'));
  assert.equal(localToIso('', '18:30'), null);
  assert.equal(localToIso('2027-03-24', ''), null);
});
