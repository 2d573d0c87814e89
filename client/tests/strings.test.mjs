// Both languages carry every key, with the same placeholders, and every key
// the code asks for exists.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STRINGS } from '../strings.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const placeholders = (v) => JSON.stringify(v).match(/\{\w+\}/g)?.sort().filter((x, i, a) => a.indexOf(x) === i) ?? [];

test('French and English have the same keys and placeholders', () => {
  assert.deepEqual(Object.keys(STRINGS.fr).sort(), Object.keys(STRINGS.en).sort());
  for (const key of Object.keys(STRINGS.fr)) {
    assert.deepEqual(placeholders(STRINGS.fr[key]), placeholders(STRINGS.en[key]), key);
  }
});

function sources(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'tests' ? [] : sources(p);
    return p.endsWith('.js') ? [p] : [];
  });
}

test('every literal key used in the code exists', () => {
  const missing = [];
  for (const file of sources(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\('([a-zA-Z_.]+)'/g)) {
      if (!(m[1] in STRINGS.fr)) missing.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('keys built from protocol values exist', () => {
  for (const p of ['kind.cohort', 'kind.region', 'kind.topic', 'kind.dm', 'reason.mention', 'reason.dm', 'reason.friend', 'reason.all',
    'level.all', 'level.friends', 'level.mentions', 'level.none', 'role.mentor', 'role.admin', 'visibility.public', 'visibility.private',
    'settings.browser.default', 'settings.browser.granted', 'settings.browser.denied', 'settings.browser.unsupported',
    'sidebar.cohorts', 'sidebar.regions', 'sidebar.topics', 'sidebar.dms', 'sidebar.noDms', 'sidebar.noTopics',
    'conn.online', 'conn.connecting', 'conn.offline', 'conn.bannerConnecting', 'conn.bannerOffline',
    'messages.start', 'messages.empty', 'reactions.add', 'reactions.remove']) {
    assert.ok(p in STRINGS.fr, p);
  }
});

test('the code never assigns innerHTML', () => {
  for (const file of sources(root)) {
    assert.doesNotMatch(readFileSync(file, 'utf8'), /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/, file);
  }
});
