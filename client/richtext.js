// Turns a message body into typed segments (text, link, mention, code) that
// views render with textContent. Pure: the only "markup" that exists is the
// segment kind, so nothing a user types can become HTML or a script URL.
// markdown.js builds the formatting (bold, lists, quotes…) on top of the link
// and mention splitting here.

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const MENTION_RE = /(^|[^\w@.])@([a-z0-9_.-]{1,32})/gi;
const CODE_RE = /```([\s\S]+?)```|`([^`\n]+)`/g;
const TRAILING = /[.,;:!?'"»)\]}]+$/;

/** An http(s) URL string we are willing to put in an href, else null. */
export function safeHref(raw) {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** Trim punctuation that ends a sentence, keeping ")" that closes a "(" inside the URL. */
function trimUrl(url) {
  let out = url;
  for (;;) {
    const m = out.match(TRAILING);
    if (!m) return out;
    const ch = out[out.length - 1];
    if (ch === ')' && (out.match(/\(/g) || []).length >= (out.match(/\)/g) || []).length) return out;
    out = out.slice(0, -1);
  }
}

export function splitLinks(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    const url = trimUrl(m[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (m.index > last) out.push({ kind: 'text', text: text.slice(last, m.index) });
    out.push({ kind: 'link', text: url, href });
    last = m.index + url.length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

/**
 * @param mentioned  usernames (lower case) the server resolved for this message
 * @param me         the viewer's username, to highlight their own mentions
 */
export function splitMentions(text, mentioned, me) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(MENTION_RE)) {
    const cand = m[2].toLowerCase();
    // The longest known username that the candidate starts with: "@alice." → alice.
    let name = null;
    for (let n = cand.length; n > 0; n--) {
      if (mentioned.has(cand.slice(0, n))) { name = cand.slice(0, n); break; }
    }
    if (!name) continue;
    const start = m.index + m[1].length;
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) });
    out.push({ kind: 'mention', text: `@${m[2].slice(0, name.length)}`, username: name, me: name === me });
    last = start + 1 + name.length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

/** body → [{kind: 'text'|'link'|'mention'|'code'|'codeblock', text, href?, me?}] */
export function segments(body, { mentioned = [], me = null } = {}) {
  const names = new Set(mentioned.map((n) => String(n).toLowerCase()));
  const meName = me ? me.toLowerCase() : null;
  const out = [];
  let last = 0;
  const plain = (text) => {
    for (const seg of splitLinks(text)) {
      if (seg.kind === 'text') out.push(...splitMentions(seg.text, names, meName));
      else out.push(seg);
    }
  };
  for (const m of body.matchAll(CODE_RE)) {
    if (m.index > last) plain(body.slice(last, m.index));
    out.push(m[1] != null ? { kind: 'codeblock', text: m[1].replace(/^\n|\n$/g, '') } : { kind: 'code', text: m[2] });
    last = m.index + m[0].length;
  }
  if (last < body.length) plain(body.slice(last));
  return out;
}

/** True when a body is nothing but 1–3 emoji: shown large, as chat apps do. */
export function isEmojiOnly(body) {
  const s = body.trim();
  if (!s || s.length > 40) return false;
  const seg = typeof Intl.Segmenter === 'function'
    ? [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].map((x) => x.segment).filter((x) => x.trim())
    : [...s];
  return seg.length <= 3 && seg.every((g) => /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(g));
}
