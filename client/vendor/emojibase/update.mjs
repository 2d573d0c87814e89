#!/usr/bin/env node
// Regenerates emoji.json (and LICENSE) in this folder from the `emojibase-data`
// npm package at a pinned version:
//
//   node client/vendor/emojibase/update.mjs 17.0.0
//
// The package ships the Unicode CLDR annotations: a label and keywords ("tags")
// per emoji, in many languages, plus shortcode sets. Only French and English are
// kept, in one compact file that both the server (shortcodes in messages, the
// picker's search endpoint) and the client read. Entries without an order
// (lone regional indicators) and the components (skin tones, hair) are left out.
//
// emoji.json:
//   {source, version, license, emoji: [{
//     e: the emoji as emojibase writes it, o: emojibase order (CLDR order),
//     a: chat-app aliases (GitHub, emojibase: "tada", "+1"),
//     en: [label, [CLDR shortcodes], [keywords]], fr: [label, [CLDR shortcodes, accents kept first], [keywords]],
//     s: [[skin-tone variant, [its shortcodes]], ...]   (absent when none)
//   }]}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const version = process.argv[2];
if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
  console.error('usage: node update.mjs <emojibase-data version, e.g. 17.0.0>');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'emojibase-'));
try {
  const tarball = execFileSync('npm', ['pack', `emojibase-data@${version}`, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tarball], { cwd: work });
  const pkg = join(work, 'package');
  const read = (path) => JSON.parse(readFileSync(join(pkg, path), 'utf8'));
  const meta = read('package.json');
  if (meta.version !== version) throw new Error(`asked for ${version}, got ${meta.version}`);
  const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const uniq = (xs) => [...new Set(xs)];
  const en = read('en/data.json');
  const fr = new Map(read('fr/data.json').map((x) => [x.hexcode, x]));
  const github = read('en/shortcodes/github.json');
  const base = read('en/shortcodes/emojibase.json');
  const enCldr = read('en/shortcodes/cldr.json');
  const frCldr = read('fr/shortcodes/cldr.json');
  const frNative = read('fr/shortcodes/cldr-native.json');
  const frShort = (hex) => uniq([...list(frNative[hex]), ...list(frCldr[hex])]);
  const codes = (hex) => uniq([...list(github[hex]), ...list(base[hex]), ...list(enCldr[hex]), ...frShort(hex)]);
  const out = [];
  for (const x of en) {
    if (x.order === undefined || x.group === 2) continue;
    const f = fr.get(x.hexcode) || {};
    const entry = {
      e: x.emoji,
      o: x.order,
      a: uniq([...list(github[x.hexcode]), ...list(base[x.hexcode])]),
      en: [x.label, list(enCldr[x.hexcode]), x.tags || []],
      fr: [f.label || x.label, frShort(x.hexcode), f.tags || []],
    };
    if (x.skins && x.skins.length) entry.s = x.skins.map((s) => [s.emoji, codes(s.hexcode)]);
    out.push(entry);
  }
  out.sort((p, q) => p.o - q.o);
  const data = { source: 'emojibase-data', version, license: meta.license, emoji: out };
  writeFileSync(join(here, 'emoji.json'), `${JSON.stringify(data)}\n`);
  copyFileSync(join(pkg, 'LICENSE'), join(here, 'LICENSE'));
  console.log(`emoji.json: ${out.length} emoji from emojibase-data ${version}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
