// Room identifiers derived from names: what the create-room form proposes
// before the person edits it. Slugs are 2–32 characters of a-z, 0-9 and "-".

import { FALLBACK_EMOJI } from './emoji-fallback.js';

/** The slug rule, for the input's `pattern` (valid with the `v` flag browsers use) and for checks. */
export const SLUG_PATTERN = '[a-z0-9\\-]{2,32}';
export const SLUG_RE = new RegExp(`^${SLUG_PATTERN}$`, 'v');
const MAX = 32;

const LIGATURES = { œ: 'oe', æ: 'ae', ß: 'ss' };

function ascii(text) {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[œæß]/g, (c) => LIGATURES[c])
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

function trim(slug) {
  return slug.slice(0, MAX).replace(/-+$/, '');
}

const emojiNames = new Map();
/** An emoji's first search word in the language (🚀 → "fusee"), else its code points (1f984). */
function emojiWord(glyph, lang) {
  if (!emojiNames.size) {
    for (const [emoji, en, fr] of FALLBACK_EMOJI) emojiNames.set(emoji.replace(/\uFE0F/g, ''), { en: en[0], fr: fr[0] });
  }
  // Skin tones and presentation selectors do not change the name.
  const bare = glyph.replace(/[\uFE0F\u{1F3FB}-\u{1F3FF}]/gu, '');
  const known = emojiNames.get(bare);
  if (known) return ascii(known[lang] || known.en);
  return [...bare].map((c) => c.codePointAt(0)).filter((cp) => cp !== 0x200d)
    .map((cp) => cp.toString(16)).join('-');
}

/**
 * "Levée de fonds 2026" → "levee-de-fonds-2026". A name with no letters or
 * digits ("🚀🎉") is named after its emoji ("fusee-fete"), so every name
 * someone may type gets an identifier they can keep or edit.
 */
export function slugify(name, lang = 'fr') {
  const plain = trim(ascii(name));
  if (plain.length >= 2) return plain;
  const glyphs = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(name)]
    .map((g) => g.segment).filter((g) => /\p{Extended_Pictographic}/u.test(g));
  if (!glyphs.length) {
    // Letters with no Latin form (Cyrillic, CJK, Arabic…): named after their code points.
    const letters = [...name].filter((c) => /[\p{L}\p{N}]/u.test(c)).slice(0, 4);
    return letters.length ? trim(`salon-${letters.map((c) => c.codePointAt(0).toString(16)).join('-')}`) : plain;
  }
  const words = glyphs.map((g) => emojiWord(g, lang));
  const derived = trim(ascii([plain, ...words].filter(Boolean).join('-')));
  return derived.length >= 2 ? derived : trim(`salon-${derived}`);
}
