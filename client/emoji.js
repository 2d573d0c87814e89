// Emoji search for the picker and `:shortcode` autocomplete. The server owns
// the catalogue (CLDR names and keywords in English and French, from the
// emojibase data in vendor/emojibase/, see README.md); a small built-in list keeps the
// picker useful if that endpoint is unreachable. Recently used emoji are
// remembered locally and merged with the server's list of recent reactions.

import { FALLBACK_EMOJI } from './emoji-fallback.js';

const RECENT_KEY = 'chat.emoji.recent';
const TONE_KEY = 'chat.emoji.tone';
const MAX_RECENT = 24;
const cache = new Map();

function localRecent() {
  try { return JSON.parse(localStorage.getItem(RECENT_KEY) || '[]'); } catch { return []; }
}

export function rememberEmoji(emoji) {
  const list = [emoji, ...localRecent().filter((e) => e !== emoji)].slice(0, MAX_RECENT);
  try { localStorage.setItem(RECENT_KEY, JSON.stringify(list)); } catch { /* not fatal */ }
}

/** Skin tone 0 (none) to 5, applied to emoji that have `skins` variants. */
export function skinTone() {
  try { return Number(localStorage.getItem(TONE_KEY)) || 0; } catch { return 0; }
}
export function setSkinTone(n) {
  try { localStorage.setItem(TONE_KEY, String(n)); } catch { /* not fatal */ }
}

/** The emoji to insert for an entry, honouring the chosen skin tone when it has variants. */
export function withTone(entry, tone = skinTone()) {
  if (tone && entry.skins && entry.skins.length >= tone) {
    const s = entry.skins[tone - 1];
    return typeof s === 'string' ? s : (s && s.emoji) || entry.emoji;
  }
  return entry.emoji;
}

/** The name to show for an entry: its CLDR label in sentence case ("Pouce vers le haut"). */
export function emojiLabel(entry) {
  const text = entry.label || (entry.name || '').replace(/_/g, ' ');
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

function searchFallback(q, lang) {
  const needle = q.trim().toLowerCase();
  const list = FALLBACK_EMOJI.map(([emoji, en, fr]) => ({
    emoji, name: lang === 'fr' ? fr[0] : en[0], aliases: [...en, ...fr], skins: [],
  }));
  if (!needle) return list;
  const starts = list.filter((e) => e.aliases.some((a) => a.startsWith(needle)));
  const contains = list.filter((e) => !starts.includes(e) && e.aliases.some((a) => a.includes(needle)));
  return [...starts, ...contains];
}

/**
 * → {emoji: [{emoji, name, aliases, skins}], recent: [emoji]}
 * Results are cached per (query, language) for the life of the page.
 */
export async function searchEmoji(api, q, lang, limit = 80) {
  const key = `${lang}:${q}:${limit}`;
  let res = cache.get(key);
  if (!res) {
    try {
      const data = await api.emoji(q, lang, limit);
      res = { emoji: data.emoji || [], recent: data.recent || [] };
      if (q) cache.set(key, res); // the default list carries "recent", which changes
    } catch {
      res = { emoji: searchFallback(q, lang).slice(0, limit), recent: [] };
    }
  }
  const recent = [...new Set([...localRecent(), ...res.recent])].slice(0, MAX_RECENT);
  return { emoji: res.emoji, recent };
}
