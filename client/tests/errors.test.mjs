// Every error code the protocol defines (docs/protocol.md "Errors" and the
// server's chatserver/domain/errors.py) has a text in French and in English,
// and the server's English `message` is never what errorText shows.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

globalThis.localStorage = { getItem: () => 'fr', setItem: () => {} };
const { STRINGS } = await import('../strings.js');
const { errorText, errorDetail, setLang } = await import('../i18n.js');
const { ChatError } = await import('../protocol.js');

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
globalThis.document = { documentElement: {} };

/** The codes in the first column of the protocol's error table. */
function documentedCodes() {
  const doc = readFileSync(join(repo, 'docs', 'protocol.md'), 'utf8');
  const start = doc.indexOf('### Errors');
  assert.ok(start >= 0, 'docs/protocol.md has an "Errors" section');
  const table = doc.slice(start, doc.indexOf('\n\n', doc.indexOf('| code |', start)));
  return [...table.matchAll(/^\| `([a-z_]+)`/gm)].map((m) => m[1]);
}

/** The `code = "..."` of every error class of the server. */
function serverCodes() {
  const src = readFileSync(join(repo, 'chatserver', 'domain', 'errors.py'), 'utf8');
  return [...src.matchAll(/^\s+code(?::\s*str)?\s*=\s*"([a-z_]+)"/gm)].map((m) => m[1]);
}

// Failures the client itself names (no server reply to read a code from).
const CLIENT_CODES = ['network', 'disconnected', 'timeout'];

test('the protocol and the server agree on the codes, and there are some', () => {
  const documented = documentedCodes();
  const server = serverCodes();
  assert.ok(documented.length >= 15, documented.join());
  for (const code of server) assert.ok(documented.includes(code), `${code} is raised by the server but not documented`);
  for (const code of ['bad_request', 'unauthorized', 'rate_limited', 'unknown_op', 'unavailable', 'internal']) {
    assert.ok(documented.includes(code), code);
  }
});

test('every error code has a French and an English text', () => {
  const codes = new Set([...documentedCodes(), ...serverCodes(), ...CLIENT_CODES]);
  const missing = [];
  for (const code of codes) {
    for (const l of ['fr', 'en']) {
      const text = STRINGS[l][`error.${code}`];
      if (typeof text !== 'string' || !text.trim()) missing.push(`${l}: error.${code}`);
    }
  }
  assert.deepEqual(missing, []);
  // Not the same words in both: the French one is a translation.
  for (const code of codes) assert.notEqual(STRINGS.fr[`error.${code}`], STRINGS.en[`error.${code}`], code);
});

test('errorText speaks the interface language; the server message is only the detail', () => {
  setLang('fr');
  const refusal = new ChatError('bad_request', 'username must be 3-32 characters of a-z, 0-9, _ . -', { status: 400 });
  assert.equal(errorText(refusal), STRINGS.fr['error.bad_request']);
  assert.equal(errorDetail(refusal), 'username must be 3-32 characters of a-z, 0-9, _ . -');
  for (const code of documentedCodes()) {
    const text = errorText(new ChatError(code, 'some english words from the server', { status: 400, retryAfter: 2.2, until: '2030-01-01T10:00:00.000Z' }));
    assert.doesNotMatch(text, /some english words/, code);
    assert.doesNotMatch(text, /\{\w+\}/, `${code}: a placeholder left unfilled`);
  }
  assert.match(errorText(new ChatError('rate_limited', 'slow down', { retryAfter: 2.2 })), /3 s/);
  // A code this client does not know yet (a newer server): a generic text, never the raw message.
  assert.equal(errorText(new ChatError('brand_new_code', 'whatever', { status: 400 })), STRINGS.fr['error.generic']);
  assert.equal(errorText(new ChatError('http_502', 'Bad Gateway', { status: 502 })), STRINGS.fr['error.internal']);
  setLang('en');
  assert.equal(errorText(refusal), STRINGS.en['error.bad_request']);
  setLang('fr');
});
