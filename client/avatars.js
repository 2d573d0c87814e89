// Avatars are served like files: only with the bearer token, to those who may see
// the person's profile (a copied link alone opens nothing). So an <img> cannot point
// at the URL itself: each picture is fetched once with the token and shown from a
// blob: URL. A picture's URL changes with every new picture, so a cached one never
// goes stale; a refused or failed one falls back to the initials.

import { setAvatarSource } from './dom.js';

const cache = new Map(); // avatar URL → object URL, '' (refused) or a pending promise

function showEverywhere(url, objectUrl) {
  for (const img of document.querySelectorAll('img.avatar-img')) {
    if (img.dataset.avatar === url) img.src = objectUrl;
  }
}

/** Start serving avatars for a signed-in session; returns a function that stops it. */
export function installAvatars(getToken) {
  const load = (url) => {
    const hit = cache.get(url);
    if (typeof hit === 'string') return hit || null;
    if (!hit) {
      const pending = fetch(url, { headers: { Authorization: `Bearer ${getToken()}` } })
        .then((res) => (res.ok ? res.blob() : null))
        .then((blob) => {
          if (cache.get(url) !== pending) return; // signed out meanwhile
          if (!blob) { cache.set(url, ''); return; }
          const objectUrl = URL.createObjectURL(blob);
          cache.set(url, objectUrl);
          showEverywhere(url, objectUrl);
        })
        .catch(() => { if (cache.get(url) === pending) cache.delete(url); });
      cache.set(url, pending);
    }
    return null;
  };
  setAvatarSource(load);
  return () => {
    setAvatarSource(null);
    for (const value of cache.values()) if (typeof value === 'string' && value) URL.revokeObjectURL(value);
    cache.clear();
  };
}

/** A picture chosen on this device (the settings' preview), shown before it is sent. */
export function previewUrl(file) {
  return URL.createObjectURL(file);
}
