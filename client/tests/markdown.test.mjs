// The formatting subset: what each marker makes, what stays text, and that
// hostile bodies (unclosed or interleaved markers, script links, huge inputs)
// neither break the tree nor take more than linear time.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parse, plainHighlights, plainText, preview, safeLinkHref, splitCode, toggleWrap, SPOILER_MASK, MAX_BLOCK_DEPTH } from '../markdown.js';

/** A compact, readable form of the tree: ['strong', 'a'], ['ul', [...], [...]]… */
function shape(nodes) {
  return nodes.map((n) => {
    switch (n.type) {
      case 'text': return n.text;
      case 'code': return ['code', n.text];
      case 'link': return ['link', n.text, n.href];
      case 'mention': return ['mention', n.text];
      case 'paragraph': return ['p', ...shape(n.children)];
      case 'codeblock': return ['pre', n.text];
      case 'quote': return ['quote', ...shape(n.children)];
      case 'list': return [n.ordered ? 'ol' : 'ul', ...n.items.map((item) => shape(item))];
      default: return [n.type, ...shape(n.children)];
    }
  });
}
const md = (body, opts) => shape(parse(body, opts));
const inline = (body, opts) => {
  const blocks = parse(body, opts);
  assert.equal(blocks.length, 1, JSON.stringify(blocks));
  assert.equal(blocks[0].type, 'paragraph');
  return shape(blocks[0].children);
};

test('bold, italic, strikethrough, spoilers and code', () => {
  assert.deepEqual(inline('**gras** et *italique* ou _aussi_'), [['strong', 'gras'], ' et ', ['em', 'italique'], ' ou ', ['em', 'aussi']]);
  assert.deepEqual(inline('~~barré~~ ||secret|| `code`'), [['strike', 'barré'], ' ', ['spoiler', 'secret'], ' ', ['code', 'code']]);
  assert.deepEqual(inline('***les deux***'), [['em', ['strong', 'les deux']]]);
  assert.deepEqual(inline('**gras _et italique_**'), [['strong', 'gras ', ['em', 'et italique']]]);
  assert.deepEqual(inline('``un ` dedans``'), [['code', 'un ` dedans']]);
});

test('markers inside code and words stay text', () => {
  assert.deepEqual(inline('`**pas gras**`'), [['code', '**pas gras**']]);
  assert.deepEqual(inline('snake_case_name et 2*3*4'), ['snake_case_name et 2', ['em', '3'], '4']);
  assert.deepEqual(inline('a * b * c'), ['a * b * c']);
  assert.deepEqual(inline('\\*pas italique\\*'), ['*pas italique*']);
  assert.deepEqual(inline('|| pas un spoiler ||'), ['|| pas un spoiler ||']);
  assert.deepEqual(inline('~un seul tilde~'), ['~un seul tilde~']);
  assert.deepEqual(inline('#lyon 3 > 2'), ['#lyon 3 > 2']);
});

test('unclosed and interleaved markers fall back to text', () => {
  assert.deepEqual(inline('**pas fermé'), ['**pas fermé']);
  assert.deepEqual(inline('*a **b* c**'), [['em', 'a ', ['em', ['em', 'b'], ' c']]]);
  assert.deepEqual(inline('**a *b** c*'), [['em', ['em', 'a ', ['em', 'b']], ' c']]);
  assert.equal(plainText('**a *b** c*'), 'a b c');
  assert.deepEqual(inline('||a ~~b|| c~~'), [['spoiler', 'a ~~b'], ' c~~']);
  assert.deepEqual(inline('****'), ['****']);
  assert.deepEqual(inline('** **'), ['** **']);
  assert.deepEqual(inline('`pas fermé'), ['`pas fermé']);
});

test('inline nesting is capped', () => {
  const deep = `${'*_'.repeat(20)}x${'_*'.repeat(20)}`;
  let depth = 0;
  const walk = (nodes, d) => { for (const n of nodes) { depth = Math.max(depth, d); if (n.children) walk(n.children, d + 1); } };
  walk(parse(deep)[0].children, 0);
  assert.ok(depth <= 6, `depth ${depth}`);
  assert.equal(plainText(deep).replace(/[*_]/g, ''), 'x');
});

test('lists, ordered and nested', () => {
  assert.deepEqual(md('- un\n- deux\n  - deux bis\n* autre liste'), [
    ['ul', [['p', 'un']], [['p', 'deux'], ['ul', [['p', 'deux bis']]]]],
    ['ul', [['p', 'autre liste']]],
  ]);
  const ol = parse('3. trois\n4) quatre')[0];
  assert.equal(ol.type, 'list');
  assert.equal(ol.ordered, true);
  assert.equal(ol.start, 3);
  assert.equal(ol.items.length, 2);
  // A list may follow a sentence directly; a line after it ends it.
  assert.deepEqual(md('Ma liste :\n- a\n- b\nEt voilà'), [['p', 'Ma liste :'], ['ul', [['p', 'a']], [['p', 'b']]], ['p', 'Et voilà']]);
  // A number in a sentence is not a list, unless it starts one at 1.
  assert.deepEqual(md('Rendez-vous\n2024. Une année'), [['p', 'Rendez-vous\n2024. Une année']]);
  assert.deepEqual(md('-pas une liste'), [['p', '-pas une liste']]);
});

test('block quotes nest, and their content is formatted', () => {
  assert.deepEqual(md('> **cité**\n> > plus loin\nréponse'), [
    ['quote', ['p', ['strong', 'cité']], ['quote', ['p', 'plus loin']]],
    ['p', 'réponse'],
  ]);
  const deep = `${'> '.repeat(50)}fond`;
  let quotes = 0;
  let blocks = parse(deep);
  while (blocks[0].type === 'quote') { quotes++; blocks = blocks[0].children; }
  assert.equal(quotes, MAX_BLOCK_DEPTH);
  assert.match(plainText(deep), /fond$/);
});

test('code blocks keep everything inside as typed', () => {
  assert.deepEqual(md('avant\n```js\nconst a = **b**;\n- pas une liste\n```\naprès'), [
    ['p', 'avant'], ['pre', 'const a = **b**;\n- pas une liste'], ['p', 'après'],
  ]);
  assert.equal(parse('```js\nx\n```')[0].lang, 'js');
  // An unclosed fence runs to the end, as the server reads it.
  assert.deepEqual(md('```\n**toujours du code**'), [['pre', '**toujours du code**']]);
  assert.deepEqual(splitCode('a `b` ``c`` ```d```').map((p) => p.kind), ['text', 'code', 'text', 'code', 'text', 'fence']);
});

test('links: http, https and mailto only; anything else stays text', () => {
  assert.deepEqual(inline('[la doc](https://example.org/a_(b)) et https://example.org/x_y_z.'), [
    ['link', 'la doc', 'https://example.org/a_(b)'], ' et ', ['link', 'https://example.org/x_y_z', 'https://example.org/x_y_z'], '.',
  ]);
  assert.deepEqual(inline('[écrire](mailto:bob@example.org)'), [['link', 'écrire', 'mailto:bob@example.org']]);
  for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', '//evil.example', 'file:///etc/passwd', 'mailto:', 'java\tscript:x']) {
    const nodes = parse(`[clique](${bad}) ${bad}`).flatMap((b) => b.children || []);
    assert.ok(!JSON.stringify(nodes).includes('"link"'), bad);
  }
  assert.equal(safeLinkHref('javascript:alert(1)'), null);
  assert.equal(safeLinkHref(' https://example.org'), null);
  assert.equal(safeLinkHref('https://example.org'), 'https://example.org/');
  // A label that is an address never hides where the link really goes.
  assert.deepEqual(inline('[https://banque.example](https://evil.example/)'), ['https://banque.example (', ['link', 'https://evil.example/', 'https://evil.example/'], ')']);
  // Markup in a label is text.
  assert.deepEqual(inline('[<img src=x onerror=alert(1)>](https://example.org/)'), [['link', '<img src=x onerror=alert(1)>', 'https://example.org/']]);
});

test('composes with mentions, emoji and links', () => {
  const opts = { mentioned: ['jean_pierre_', 'alice'], me: 'alice' };
  assert.deepEqual(inline('**@alice** merci @jean_pierre_ 🎉', opts), [['strong', ['mention', '@alice']], ' merci ', ['mention', '@jean_pierre_'], ' 🎉']);
  assert.deepEqual(inline('*voir https://example.org/a*b*', opts), [['em', 'voir ', ['link', 'https://example.org/a*b', 'https://example.org/a*b']]]);
  assert.deepEqual(inline('**https://example.org/x**.', opts), [['strong', ['link', 'https://example.org/x', 'https://example.org/x']], '.']);
  assert.deepEqual(inline('`@alice`', opts), [['code', '@alice']]);
  const mention = parse('@alice', opts)[0].children[0];
  assert.equal(mention.me, true);
});

test('placeholders cannot be forged', () => {
  const forged = 'a \uFDD0\uFDE0\uFDD1 b `c`';
  assert.deepEqual(inline(forged), ['a \uFFFD\uFFFD\uFFFD b ', ['code', 'c']]);
});

test('plain text drops the markers and keeps spoilers hidden', () => {
  assert.equal(plainText('**Important** : _lisez_ ~~ça~~ [la doc](https://example.org) `x`'), 'Important : lisez ça la doc x');
  assert.equal(plainText('La fin : ||Rosebud||'), `La fin : ${SPOILER_MASK}`);
  assert.equal(plainText('> cité\n- a\n- b\n1. un'), 'cité\n• a\n• b\n1. un');
  assert.equal(preview('**a**\n\n- b\n- c', 80), 'a • b • c');
  assert.equal(preview('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
});

test('hostile bodies stay linear', () => {
  const N = 100_000;
  const hostile = [
    '*'.repeat(N), '*a'.repeat(N / 2), '**a'.repeat(N / 3), '*_~~||'.repeat(N / 6), 'a*'.repeat(N / 2),
    '['.repeat(N), '[a](x'.repeat(N / 5), '[a]('.repeat(N / 4), '[a](https://x.org/'.repeat(N / 18),
    Array.from({ length: 440 }, (_, i) => '`'.repeat(i + 1)).join(' '), '` '.repeat(N / 2), '``` '.repeat(N / 4),
    '>'.repeat(N), '> '.repeat(N / 2), '> a\n'.repeat(N / 4), '- '.repeat(N / 2), '- a\n'.repeat(N / 4),
    Array.from({ length: 400 }, (_, i) => `${' '.repeat(i)}- a`).join('\n'),
    'https://a.b/'.repeat(N / 12), '@alice '.repeat(N / 7), '\\*'.repeat(N / 2), '\n'.repeat(N), '||'.repeat(N / 2),
    '1. '.repeat(N / 3), '_a_'.repeat(N / 3), '\uFDD0\uFDE1\uFDD1'.repeat(N / 3),
  ];
  // The yardstick is ordinary prose of the same length, timed on this machine now, so
  // a busy machine slows both alike. Linear work stays within a small multiple of it;
  // quadratic work on 100,000 characters is thousands of times slower.
  const prose = 'Bonjour à toutes et à tous, **rendez-vous** mardi à 18 h pour le _pitch_ ! '.repeat(N / 75).slice(0, N);
  const time = (body) => {
    const t0 = performance.now();
    parse(body, { mentioned: ['alice'] });
    plainText(body);
    return performance.now() - t0;
  };
  const yardstick = Math.min(time(prose), time(prose));
  const bound = Math.max(2000, 80 * yardstick);
  for (const body of hostile) {
    const ms = time(body);
    assert.ok(ms < bound, `${JSON.stringify(body.slice(0, 20))}… took ${Math.round(ms)} ms (prose: ${Math.round(yardstick)} ms)`);
  }
});

test('Ctrl+B and friends wrap and unwrap the selection', () => {
  assert.deepEqual(toggleWrap('un mot ici', 3, 6, '**'), { value: 'un **mot** ici', start: 5, end: 8 });
  assert.deepEqual(toggleWrap('un **mot** ici', 5, 8, '**'), { value: 'un mot ici', start: 3, end: 6 });
  assert.deepEqual(toggleWrap('un **mot** ici', 3, 10, '**'), { value: 'un mot ici', start: 3, end: 6 });
  assert.deepEqual(toggleWrap('un mot ', 2, 7, '_'), { value: 'un _mot_ ', start: 4, end: 7 });
  assert.deepEqual(toggleWrap('', 0, 0, '||'), { value: '||||', start: 2, end: 2 });
  const { value } = toggleWrap('secret', 0, 6, '||');
  assert.equal(plainText(value), SPOILER_MASK);
});

/** The marked substrings of a plainHighlights result, for readable assertions. */
function marked({ text, highlights }) {
  const chars = Array.from(text);
  return highlights.map(([s, e]) => chars.slice(s, e).join(''));
}

test('search results read as plain text, their matched words still marked', () => {
  // Offsets are the server's: code points of the source, markers included.
  const body = 'Le **contrat** est signé, relis le _contrat_ 🎉 ce soir';
  const at = (word, from = 0) => {
    const chars = Array.from(body);
    const w = Array.from(word);
    for (let i = from; i < chars.length; i++) if (chars.slice(i, i + w.length).join('') === word) return [i, i + w.length];
    throw new Error(word);
  };
  const first = at('contrat');
  const second = at('contrat', first[1] + 1);
  const soir = at('soir');
  const result = plainHighlights(body, [first, second, soir]);
  assert.equal(result.text, 'Le contrat est signé, relis le contrat 🎉 ce soir');
  assert.deepEqual(marked(result), ['contrat', 'contrat', 'soir']);
  assert.deepEqual(result.highlights[1], [31, 38]);
});

test('a word hidden in a spoiler loses its mark rather than showing', () => {
  const body = 'La réponse est ||quarante-deux|| voilà';
  const chars = Array.from(body);
  const start = chars.join('').indexOf('quarante');
  const result = plainHighlights(body, [[start, start + 8]]);
  assert.ok(!result.text.includes('quarante'));
  assert.deepEqual(result.highlights, []);
});
