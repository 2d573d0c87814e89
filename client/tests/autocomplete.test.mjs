// What the word before the caret asks the composer to suggest.
import test from 'node:test';
import assert from 'node:assert/strict';
import { trigger } from '../views/autocomplete.js';

test('shortcodes need two letters after the colon', () => {
  assert.equal(trigger('hello :t', 8), null);
  assert.deepEqual(trigger('hello :ta', 9), { kind: 'emoji', query: 'ta', start: 6 });
  assert.deepEqual(trigger(':fête', 5), { kind: 'emoji', query: 'fête', start: 0 });
  assert.equal(trigger('at 10:30', 8), null);
});

test('mentions start right after @', () => {
  assert.deepEqual(trigger('hi @', 4), { kind: 'mention', query: '', start: 3 });
  assert.deepEqual(trigger('hi @Ali', 7), { kind: 'mention', query: 'ali', start: 3 });
  assert.equal(trigger('mail me@example', 15), null);
});
