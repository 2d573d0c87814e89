// Message bodies become typed segments: nothing a user types turns into markup.
import test from 'node:test';
import assert from 'node:assert/strict';
import { segments, safeHref, isEmojiOnly } from '../richtext.js';

test('only http and https links become links', () => {
  assert.equal(safeHref('javascript:alert(1)'), null);
  assert.equal(safeHref('data:text/html,hi'), null);
  assert.equal(safeHref('https://example.org/a?b=1'), 'https://example.org/a?b=1');
  const segs = segments('see javascript:alert(1) and https://example.org/x.');
  assert.deepEqual(segs.map((s) => s.kind), ['text', 'link', 'text']);
  assert.equal(segs[1].href, 'https://example.org/x');
  assert.equal(segs[2].text, '.');
});

test('markup stays text', () => {
  const segs = segments('<img src=x onerror=alert(1)>');
  assert.deepEqual(segs, [{ kind: 'text', text: '<img src=x onerror=alert(1)>' }]);
});

test('parentheses around and inside URLs', () => {
  const a = segments('(https://fr.wikipedia.org/wiki/Paris_(France))');
  assert.equal(a[1].text, 'https://fr.wikipedia.org/wiki/Paris_(France)');
  const b = segments('(voir https://example.org)');
  assert.equal(b[1].text, 'https://example.org');
});

test('mentions use the longest known username', () => {
  const segs = segments('merci @alice. et @bob.smith !', { mentioned: ['alice', 'bob.smith'], me: 'alice' });
  const mentions = segs.filter((s) => s.kind === 'mention');
  assert.deepEqual(mentions.map((s) => [s.text, s.me]), [['@alice', true], ['@bob.smith', false]]);
  assert.equal(segments('mail me@example.org', { mentioned: ['example.org'] }).filter((s) => s.kind === 'mention').length, 0);
  assert.equal(segments('hello @nobody', { mentioned: [] }).length, 1);
});

test('code spans are kept apart', () => {
  const segs = segments('run `rm -rf <x>` now');
  assert.deepEqual(segs.map((s) => s.kind), ['text', 'code', 'text']);
  assert.equal(segs[1].text, 'rm -rf <x>');
});

test('emoji-only bodies', () => {
  assert.equal(isEmojiOnly('🎉'), true);
  assert.equal(isEmojiOnly('👍🏽 🎉'), true);
  assert.equal(isEmojiOnly('🇫🇷'), true);
  assert.equal(isEmojiOnly('ok 🎉'), false);
  assert.equal(isEmojiOnly('🎉🎉🎉🎉'), false);
});
