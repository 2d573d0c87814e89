// Room identifiers proposed from names, and the rule the create-room form checks.
import test from 'node:test';
import assert from 'node:assert/strict';
import { SLUG_PATTERN, SLUG_RE, slugify } from '../slug.js';

test('the pattern compiles with the `v` flag browsers use for the pattern attribute', () => {
  assert.doesNotThrow(() => new RegExp(`^(?:${SLUG_PATTERN})$`, 'v'));
  assert.ok(SLUG_RE.test('atelier-pitch-2026'));
  for (const bad of ['a', 'Atelier', 'a_b', 'é-t-é', 'x'.repeat(33)]) assert.equal(SLUG_RE.test(bad), false, bad);
});

test('names become identifiers: accents and ligatures folded, 32 characters at most', () => {
  assert.equal(slugify('Levée de fonds 2026'), 'levee-de-fonds-2026');
  assert.equal(slugify('Cœur de cible'), 'coeur-de-cible');
  const long = slugify('Une très longue description du salon des anciens élèves');
  assert.ok(long.length <= 32 && SLUG_RE.test(long), long);
});

test('a name made only of emoji is named after them, in the interface language', () => {
  assert.equal(slugify('🚀', 'fr'), 'fusee');
  assert.equal(slugify('🚀🎉', 'en'), 'rocket-tada');
  assert.equal(slugify('👍🏽', 'fr'), 'pouce-leve', 'skin tones do not change the name');
  // An emoji with no name we know still gives a valid identifier.
  const unknown = slugify('🦄');
  assert.ok(SLUG_RE.test(unknown), unknown);
  for (const name of ['🚀', '❤️', '🦄🦄', '👨‍👩‍👧', '🎉 !']) assert.ok(SLUG_RE.test(slugify(name)), name);
});

test('a name in a script with no Latin form still gets an identifier', () => {
  for (const name of ['中文', 'Привет', 'مرحبا', '日本語の部屋']) {
    const slug = slugify(name);
    assert.ok(SLUG_RE.test(slug), `${name} → ${slug}`);
  }
  assert.equal(slugify('!!'), '', 'nothing to name it after: the form asks for one');
});
