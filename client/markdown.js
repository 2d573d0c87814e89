// The formatting of message bodies: a small Markdown subset parsed into a tree
// of typed nodes that views render with text nodes (never markup), and the
// same tree flattened to plain text for previews. Pure and linear-time: every
// pass scans its input once, nesting is capped, and nothing backtracks over
// what another pass already read.
//
// The subset (docs/protocol.md, "Formatting"):
//   **bold**  *italic* or _italic_  ~~strikethrough~~  ||spoiler||
//   `code`  ``code with a ` inside``  ```fenced code``` (may span lines)
//   > block quote     - item / * item / + item     1. item / 1) item
//   [label](https://…) links (http, https and mailto only), bare http(s) URLs,
//   @mentions the server resolved, and \* to write a marker literally.
// Anything else is text, exactly as typed.

import { splitLinks, splitMentions } from './richtext.js';

/** How deep quotes and lists (together) may nest; deeper markers stay text. */
export const MAX_BLOCK_DEPTH = 5;
/** How deep bold/italic/strike/spoiler may nest; deeper markers stay text. */
export const MAX_INLINE_DEPTH = 6;

// ------------------------------------------------------------------ code first
// Code is found the way the server finds it (chatserver/domain/text.py), so
// mentions and shortcodes are ignored in exactly the same places: a run of 1
// or 2 backticks opens a span closed by the next run of the same length (else
// it is literal); a run of 3 or more opens a fence closed by the next run at
// least as long (else the fence runs to the end).

const BACKTICKS = /`+/g;

function firstAtOrAfter(sorted, pos) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < pos) lo = mid + 1; else hi = mid;
  }
  return lo < sorted.length ? sorted[lo] : null;
}

/** body → [{kind: 'text'|'code'|'fence', text}] */
export function splitCode(body) {
  const runs = [...body.matchAll(BACKTICKS)].map((m) => [m.index, m.index + m[0].length]);
  if (runs.length < 2 && !(runs.length && runs[0][1] - runs[0][0] >= 3)) return [{ kind: 'text', text: body }];
  const byLength = new Map();
  for (const [start, end] of runs) {
    const n = end - start;
    if (!byLength.has(n)) byLength.set(n, []);
    byLength.get(n).push(start);
  }
  const closer = (length, after) => {
    const lengths = length < 3 ? [length] : [...byLength.keys()].filter((n) => n >= length);
    let found = null;
    for (const n of lengths) {
      const at = byLength.has(n) ? firstAtOrAfter(byLength.get(n), after) : null;
      if (at != null && (found == null || at < found)) found = at;
    }
    return found;
  };
  const runEnd = (start) => { let i = start; while (body[i] === '`') i++; return i; };
  const out = [];
  let done = 0;
  for (const [start, end] of runs) {
    if (start < done) continue;
    const length = end - start;
    const close = closer(length, end);
    if (close == null && length < 3) continue;
    if (start > done) out.push({ kind: 'text', text: body.slice(done, start) });
    const closeStart = close == null ? body.length : close;
    const closeEnd = close == null ? body.length : runEnd(close);
    out.push({ kind: length < 3 ? 'code' : 'fence', text: body.slice(end, closeStart), raw: body.slice(start, closeEnd) });
    done = closeEnd;
    if (close == null) break;
  }
  if (done < body.length) out.push({ kind: 'text', text: body.slice(done) });
  return out;
}

/** A fence's content: the first line is a language tag when it looks like one. */
function fenceNode(text) {
  let body = text;
  let lang = null;
  const nl = body.indexOf('\n');
  if (nl > 0 && /^[A-Za-z0-9_+#.-]{1,20}$/.test(body.slice(0, nl)) && body.slice(nl + 1).trim()) {
    lang = body.slice(0, nl);
    body = body.slice(nl + 1);
  }
  body = body.replace(/^\n/, '').replace(/\n$/, '');
  return { type: 'codeblock', text: body, lang };
}

// Inline code inside text is replaced by a placeholder while blocks are
// parsed, so a backtick span can never be cut by a line-based rule. The
// placeholder uses Unicode noncharacters (reserved for internal use); any a
// user typed are replaced first, so they cannot forge one.
const PH_OPEN = '\uFDD0';
const PH_CLOSE = '\uFDD1';
const PH_DIGIT0 = 0xFDE0;
const NONCHARS = /[\uFDD0-\uFDEF]/g;
const PLACEHOLDER = /\uFDD0([\uFDE0-\uFDEF]+)\uFDD1/g;

function placeholder(index) {
  return PH_OPEN + [...index.toString(16)].map((d) => String.fromCharCode(PH_DIGIT0 + parseInt(d, 16))).join('') + PH_CLOSE;
}
function placeholderIndex(digits) {
  return parseInt([...digits].map((c) => (c.charCodeAt(0) - PH_DIGIT0).toString(16)).join(''), 16);
}

// ---------------------------------------------------------------------- blocks

const BLANK = /^[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|(\d{1,9})[.)])[ \t]+(?=\S)/;

function indentOf(line) {
  const m = line.match(/^ */);
  return m[0].length;
}

function itemInfo(line) {
  const m = line.match(ITEM);
  if (!m) return null;
  return { ordered: m[3] != null, number: m[3] != null ? Number(m[3]) : null, bullet: m[3] == null ? m[2] : null, indent: m[1].length, content: m[0].length };
}

/** Lines → blocks: paragraphs, quotes and lists (fences were cut out before). */
function parseBlocks(lines, depth) {
  const blocks = [];
  const nested = depth < MAX_BLOCK_DEPTH;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) { i++; continue; }
    if (nested && QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(lines[i++].replace(QUOTE, ''));
      const children = parseBlocks(inner, depth + 1);
      if (children.length) blocks.push({ type: 'quote', children });
      continue;
    }
    const first = nested ? itemInfo(line) : null;
    if (first) {
      const list = { type: 'list', ordered: first.ordered, start: first.number, items: [] };
      let item = null;
      while (i < lines.length) {
        const l = lines[i];
        const info = itemInfo(l);
        if (info && info.ordered === first.ordered && info.indent < 2 && (first.ordered || info.bullet === first.bullet)) {
          item = { lines: [l.slice(info.content)], content: info.content };
          list.items.push(item);
          i++;
          continue;
        }
        if (BLANK.test(l)) {
          // A blank line ends the list unless the list goes on right after it.
          let j = i + 1;
          while (j < lines.length && BLANK.test(lines[j])) j++;
          const next = j < lines.length ? lines[j] : null;
          const nextInfo = next != null ? itemInfo(next) : null;
          const goesOn = next != null && ((nextInfo && nextInfo.ordered === first.ordered && nextInfo.indent < 2) || indentOf(next) >= 2);
          if (!goesOn) break;
          for (; i < j; i++) item.lines.push('');
          continue;
        }
        const ind = indentOf(l);
        if (ind >= 2) { item.lines.push(l.slice(Math.min(ind, item.content))); i++; continue; }
        break;
      }
      list.items = list.items.map((it) => parseBlocks(it.lines, depth + 1));
      blocks.push(list);
      continue;
    }
    const para = [];
    while (i < lines.length) {
      const l = lines[i];
      if (BLANK.test(l)) break;
      if (para.length && nested && QUOTE.test(l)) break;
      if (para.length && nested) {
        // A list interrupts a paragraph ("Ma liste :\n- a"); a number only from 1.
        const info = itemInfo(l);
        if (info && (!info.ordered || info.number === 1)) break;
      }
      para.push(l);
      i++;
    }
    blocks.push({ type: 'paragraph', children: null, text: para.join('\n') });
  }
  return blocks;
}

// ---------------------------------------------------------------------- inline

const DELIMS = new Set(['*', '_', '~', '|']);
const ESCAPABLE = new Set([...'\\`*_~|[]()>#+-.!']);
const isSpace = (c) => c == null || /\s/.test(c);
const isPunct = (c) => c != null && /[\p{P}\p{S}]/u.test(c);
const MD_LINK = /\[([^[\]\n]{1,500})\]\(((?:[^\s()<>[\]]|\([^\s()<>[\]]*\)){1,2048})\)/g;
const MAILTO = /\bmailto:[^\s<>"'`()[\]]+/gi;
const TRAILING = /[.,;:!?'"»)\]}]+$/;

/** A URL we are willing to put in an href (http, https, mailto), else null. */
export function safeLinkHref(raw) {
  if (/[\s\u0000-\u001f]/.test(raw)) return null;
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
    if (u.protocol === 'mailto:' && /^[^@\s]+@[^@\s]+$/.test(decodeURIComponent(u.pathname))) return u.href;
    return null;
  } catch {
    return null;
  }
}

/** A label that looks like an address but is not the link's: show both. */
function looksLikeAddress(label) {
  return /:\/\/|^www\.|^[\w-]+(\.[\w-]+)+(\/|$)/i.test(label.trim());
}

/** Text → [string | atom] with links (Markdown and bare) cut out. */
function splitAllLinks(text, restore) {
  const out = [];
  let last = 0;
  const bare = (s) => {
    for (const seg of splitLinks(s)) {
      if (seg.kind === 'link') {
        // "**https://example.org**": the closing marker is not part of the address.
        const tail = seg.text.match(/[*_~|]+$/);
        const url = tail ? seg.text.slice(0, -tail[0].length).replace(TRAILING, '') : seg.text;
        const href = tail ? safeLinkHref(url) : seg.href;
        if (href) out.push({ type: 'link', text: url, href }, seg.text.slice(url.length));
        else out.push(seg.text);
        continue;
      }
      let l = 0;
      for (const m of seg.text.matchAll(MAILTO)) {
        const raw = m[0].replace(TRAILING, '');
        const href = safeLinkHref(raw);
        if (!href) continue;
        if (m.index > l) out.push(seg.text.slice(l, m.index));
        out.push({ type: 'link', text: raw, href });
        l = m.index + raw.length;
      }
      if (l < seg.text.length) out.push(seg.text.slice(l));
    }
  };
  for (const m of text.matchAll(MD_LINK)) {
    const href = safeLinkHref(m[2]);
    if (!href) continue;
    if (m.index > last) bare(text.slice(last, m.index));
    const label = restore(m[1]);
    if (looksLikeAddress(label) && safeLinkHref(label.trim()) !== href && label.trim() !== href) {
      // "[https://bank.example](https://evil.example)": never hide where a link goes.
      out.push(`${label} (`, { type: 'link', text: href, href }, ')');
    } else {
      out.push({ type: 'link', text: label, href, title: href });
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) bare(text.slice(last));
  return out;
}

/**
 * Delimiter runs → nested nodes. Frames stack the open runs; a closing run
 * matches the nearest open run of its character and everything opened after
 * that one falls back to literal text. Each token is pushed and popped at
 * most a bounded number of times, so this is linear.
 */
function nestEmphasis(tokens) {
  const root = { char: null, len: 0, children: [] };
  const frames = [root];
  const open = { '*': 0, _: 0, '~': 0, '|': 0 };
  const top = () => frames[frames.length - 1];
  const pushText = (list, text) => {
    const last = list[list.length - 1];
    if (last && last.type === 'text') last.text += text;
    else list.push({ type: 'text', text });
  };
  const add = (node) => (node.type === 'text' ? pushText(top().children, node.text) : top().children.push(node));
  const unwind = () => {
    // The frame on top never closed: its marker is text again.
    const f = frames.pop();
    open[f.char]--;
    const into = top().children;
    if (f.len) pushText(into, f.char.repeat(f.len));
    for (const c of f.children) (c.type === 'text' ? pushText(into, c.text) : into.push(c));
  };
  for (const tok of tokens) {
    if (tok.type !== 'delim') { add(tok); continue; }
    let len = tok.len;
    const ch = tok.char;
    if (tok.canClose) {
      while (len > 0 && open[ch] > 0) {
        while (top().char !== ch) unwind();
        const f = top();
        const k = ch === '~' || ch === '|' ? 2 : (len >= 2 && f.len >= 2 ? 2 : 1);
        const type = ch === '~' ? 'strike' : ch === '|' ? 'spoiler' : k === 2 ? 'strong' : 'em';
        const node = { type, children: f.children };
        f.len -= k;
        len -= k;
        if (f.len > 0) {
          f.children = [node];
        } else {
          frames.pop();
          open[ch]--;
          top().children.push(node);
        }
      }
    }
    if (len > 0 && tok.canOpen && frames.length <= MAX_INLINE_DEPTH) {
      frames.push({ char: ch, len, children: [] });
      open[ch]++;
    } else if (len > 0) {
      add({ type: 'text', text: ch.repeat(len) });
    }
  }
  while (frames.length > 1) unwind();
  return root.children;
}

/** Pieces (strings and atoms) → tokens: text, atoms, escapes and delimiter runs with their flanking. */
function tokenize(pieces) {
  const tokens = [];
  const charAfter = (pi, idx) => {
    const p = pieces[pi];
    if (idx < p.length) return p[idx];
    const next = pieces[pi + 1];
    if (next == null) return null;
    return typeof next === 'string' ? next[0] : 'a';
  };
  let prev = null; // the character before the current position ('a' after an atom)
  for (let pi = 0; pi < pieces.length; pi++) {
    const p = pieces[pi];
    if (typeof p !== 'string') { tokens.push(p); prev = 'a'; continue; }
    let text = '';
    let i = 0;
    while (i < p.length) {
      const c = p[i];
      if (c === '\\' && i + 1 < p.length && ESCAPABLE.has(p[i + 1])) {
        text += p[i + 1];
        prev = p[i + 1];
        i += 2;
        continue;
      }
      if (!DELIMS.has(c)) { text += c; prev = c; i++; continue; }
      let j = i;
      while (j < p.length && p[j] === c) j++;
      const len = j - i;
      const valid = c === '~' || c === '|' ? len === 2 : len <= 3;
      if (!valid) { text += p.slice(i, j); prev = c; i = j; continue; }
      const before = prev;
      const after = charAfter(pi, j);
      const left = !isSpace(after) && (!isPunct(after) || isSpace(before) || isPunct(before));
      const right = !isSpace(before) && (!isPunct(before) || isSpace(after) || isPunct(after));
      let canOpen = left;
      let canClose = right;
      if (c === '_') {
        canOpen = left && (!right || isPunct(before));
        canClose = right && (!left || isPunct(after));
      }
      if (canOpen || canClose) {
        if (text) { tokens.push({ type: 'text', text }); text = ''; }
        tokens.push({ type: 'delim', char: c, len, canOpen, canClose });
      } else {
        text += p.slice(i, j);
      }
      prev = c;
      i = j;
    }
    if (text) tokens.push({ type: 'text', text });
  }
  return tokens;
}

function parseInline(text, ctx) {
  // Inline code placeholders become code atoms; the rest is text.
  const restore = (s) => s.replace(PLACEHOLDER, (m, d) => ctx.code[placeholderIndex(d)] ?? '');
  const pieces = [];
  let last = 0;
  const textPart = (s) => {
    if (!/[:@[]/.test(s)) { pieces.push(s); return; } // no link, address or mention can start here
    for (const part of splitAllLinks(s, restore)) {
      if (typeof part !== 'string') { pieces.push(part); continue; }
      for (const seg of splitMentions(part, ctx.names, ctx.me)) {
        pieces.push(seg.kind === 'mention' ? { type: 'mention', text: seg.text, username: seg.username, me: seg.me } : seg.text);
      }
    }
  };
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) textPart(text.slice(last, m.index));
    pieces.push({ type: 'code', text: ctx.code[placeholderIndex(m[1])] ?? '' });
    last = m.index + m[0].length;
  }
  if (last < text.length) textPart(text.slice(last));
  return nestEmphasis(tokenize(pieces.filter((p) => p !== '')));
}

function inlineBlocks(blocks, ctx) {
  for (const b of blocks) {
    if (b.type === 'paragraph') { b.children = parseInline(b.text, ctx); delete b.text; }
    else if (b.type === 'quote') inlineBlocks(b.children, ctx);
    else if (b.type === 'list') for (const item of b.items) inlineBlocks(item, ctx);
  }
  return blocks;
}

/**
 * body → blocks. Block nodes: paragraph {children}, codeblock {text, lang},
 * quote {children: blocks}, list {ordered, start, items: [blocks]}. Inline
 * nodes: text, code, link {text, href, title?}, mention {text, username, me},
 * strong / em / strike / spoiler {children}.
 * @param mentioned  usernames (lower case) the server resolved for this message
 * @param me         the viewer's username, to highlight their own mentions
 */
export function parse(body, { mentioned = [], me = null } = {}) {
  const ctx = {
    names: new Set(mentioned.map((n) => String(n).toLowerCase())),
    me: me ? me.toLowerCase() : null,
    code: [],
  };
  const source = String(body ?? '').replace(NONCHARS, '\uFFFD');
  const blocks = [];
  let text = '';
  const flush = () => {
    if (text) blocks.push(...parseBlocks(text.replace(/\t/g, '    ').split('\n'), 0));
    text = '';
  };
  for (const piece of splitCode(source)) {
    if (piece.kind === 'fence') { flush(); blocks.push(fenceNode(piece.text)); continue; }
    if (piece.kind === 'code') { text += placeholder(ctx.code.length); ctx.code.push(piece.text); continue; }
    text += piece.text;
  }
  flush();
  return inlineBlocks(blocks, ctx);
}

// ------------------------------------------------------------------ plain text

/** What a spoiler shows where only plain text fits: its content stays hidden. */
export const SPOILER_MASK = '▒▒▒▒▒';

function inlinePlain(nodes) {
  let out = '';
  for (const n of nodes) {
    if (n.type === 'spoiler') out += SPOILER_MASK;
    else if (n.children) out += inlinePlain(n.children);
    else out += n.text;
  }
  return out;
}

function blocksPlain(blocks) {
  return blocks.map((b) => {
    if (b.type === 'paragraph') return inlinePlain(b.children);
    if (b.type === 'codeblock') return b.text;
    if (b.type === 'quote') return blocksPlain(b.children);
    return b.items.map((item, i) => `${b.ordered ? `${(b.start ?? 1) + i}.` : '•'} ${blocksPlain(item)}`).join('\n');
  }).join('\n');
}

/**
 * The body as plain text, without formatting markers: for notifications,
 * the inbox, reply quotes and anything else that shows one line of text.
 * Spoilers stay hidden.
 */
export function plainText(body) {
  return blocksPlain(parse(body));
}

/**
 * The body as plain text with its search highlights carried over: `highlights` are
 * code-point ranges [start, end) of the source text (what the server marks), and
 * each marked word is found again, in order, in the text without markers. A word
 * hidden in a spoiler stays hidden, so its mark is dropped.
 */
export function plainHighlights(body, highlights) {
  const source = Array.from(String(body ?? ''));
  const plain = Array.from(plainText(body));
  const marks = [];
  let at = 0;
  for (const [start, end] of highlights) {
    const word = source.slice(start, end);
    if (!word.length) continue;
    const found = indexOfRun(plain, word, at);
    if (found < 0) continue;
    marks.push([found, found + word.length]);
    at = found + word.length;
  }
  return { text: plain.join(''), highlights: marks };
}

/** Where the run of code points `word` first starts in `chars` at or after `from`, else -1. */
function indexOfRun(chars, word, from) {
  outer: for (let i = from; i + word.length <= chars.length; i++) {
    for (let j = 0; j < word.length; j++) if (chars[i + j] !== word[j]) continue outer;
    return i;
  }
  return -1;
}

/** One line of plain text, at most `n` characters (an ellipsis when cut). */
export function preview(body, n = 90) {
  const one = plainText(body).replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

// ---------------------------------------------------------------- composing

/**
 * Wraps the selection [start, end) of `value` in `marker` (`**`, `_`, `~~`,
 * `||`, `` ` ``), or unwraps it when it is already wrapped, as the composer's
 * Ctrl+B / Ctrl+I do. With nothing selected, the caret lands between a pair.
 * Returns the new value and selection.
 */
export function toggleWrap(value, start, end, marker) {
  const m = marker.length;
  const inside = value.slice(start, end);
  if (inside.length >= 2 * m && inside.startsWith(marker) && inside.endsWith(marker)) {
    const bare = inside.slice(m, inside.length - m);
    return { value: value.slice(0, start) + bare + value.slice(end), start, end: start + bare.length };
  }
  if (start >= m && value.slice(start - m, start) === marker && value.slice(end, end + m) === marker) {
    return { value: value.slice(0, start - m) + inside + value.slice(end + m), start: start - m, end: end - m };
  }
  // Surrounding spaces stay outside the markers, or they would not format.
  const lead = inside.match(/^\s*/)[0].length;
  const trail = inside.length > lead ? inside.match(/\s*$/)[0].length : 0;
  const a = start + lead;
  const b = end - trail;
  const next = value.slice(0, a) + marker + value.slice(a, b) + marker + value.slice(b);
  return { value: next, start: a + m, end: b + m };
}
