// Files attached to messages: sending one to the server (`POST /api/uploads`,
// the raw file as the body) with progress and cancel, fetching a file or its
// thumbnail with the session's token (downloads are authorized like the
// history, so a bare <img src> would be refused), and the pure helpers the
// views share: sizes, kinds, layouts, error wording keys and previews.

import { ChatError } from './protocol.js';
import { preview } from './markdown.js';

/** Attachments per message, as the contract allows. */
export const MAX_ATTACHMENTS = 10;

// ---------------------------------------------------------------- pure helpers

/** 1536 → "1,5 Ko" / "1.5 KB": binary multiples, with the language's words. */
export function formatSize(bytes, lang = 'fr') {
  const n = Math.max(0, Number(bytes) || 0);
  const units = lang === 'fr' ? ['o', 'Ko', 'Mo', 'Go'] : ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const digits = i === 0 || v >= 100 ? 0 : 1;
  const num = new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(v);
  return `${num} ${units[i]}`;
}

export function isImage(upload) {
  return !!upload && /^image\//.test(upload.content_type || '') && !!upload.thumbnail_url;
}

/** Which icon a file chip shows. */
export function fileKind(upload) {
  const type = (upload && upload.content_type) || '';
  const name = ((upload && upload.name) || '').toLowerCase();
  if (type.startsWith('image/')) return 'image';
  if (type === 'application/pdf' || name.endsWith('.pdf')) return 'pdf';
  if (type.startsWith('text/')) return 'text';
  return 'file';
}

/**
 * How a message's attachments are laid out: images first (one large, two
 * side by side for "A or B?", more in a grid), then the other files as chips.
 */
export function layout(attachments) {
  const list = Array.isArray(attachments) ? attachments : [];
  const images = list.filter(isImage);
  const files = list.filter((a) => !isImage(a));
  const mode = images.length === 0 ? 'none' : images.length === 1 ? 'single' : images.length === 2 ? 'pair' : 'grid';
  return { images, files, mode };
}

/** Size of a thumbnail box keeping the image's proportions within max × max. */
export function fitBox(width, height, max) {
  const w = Number(width) || max;
  const hgt = Number(height) || max;
  const scale = Math.min(1, max / Math.max(w, hgt));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(hgt * scale)) };
}

/** The strings key for an upload refusal, by the protocol's error code. */
export function uploadErrorKey(code) {
  switch (code) {
    case 'too_large': return 'upload.error.too_large';
    case 'bad_request': return 'upload.error.bad_request';
    case 'quota':
    case 'quota_exceeded':
    case 'limit_reached': return 'upload.error.quota';
    case 'rate_limited': return 'upload.error.rate_limited';
    case 'aborted': return 'upload.error.aborted';
    case 'network':
    case 'timeout': return 'upload.error.network';
    case 'forbidden':
    case 'unauthorized': return 'upload.error.forbidden';
    default: return 'upload.error.generic';
  }
}

/** A file name safe to show and to send as `?name=` (the server checks it again). */
export function cleanName(name) {
  const base = String(name || '').split(/[/\\]/).pop().replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return (base || 'file').slice(0, 200);
}

/** A pasted image often has no name, or a generic one: give it a dated one. */
export function pastedName(file, now = new Date()) {
  const ext = ({ 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' })[file.type] || 'bin';
  if (file.name && file.name !== 'image.png' && file.name !== `image.${ext}`) return cleanName(file.name);
  const p = (n) => String(n).padStart(2, '0');
  return `image-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}.${ext}`;
}

/** One line for a message wherever only plain text fits: its text, then its files. */
export function messagePreview(msg, n = 90) {
  if (!msg) return '';
  const text = preview(msg.body || '', n);
  const files = (msg.attachments || []).map((a) => `${isImage(a) ? '🖼' : '📎'} ${a.name}`).join(', ');
  if (!files) return text;
  const line = text ? `${text} ${files}` : files;
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

// ------------------------------------------------------------------ transfers

function errorFrom(status, data, fallback) {
  const err = (data && data.error) || {};
  const code = err.code || (status === 401 ? 'unauthorized' : status === 413 ? 'too_large' : status ? `http_${status}` : fallback);
  return new ChatError(code, err.message || '', { status, retryAfter: err.retry_after ?? null });
}

/**
 * Sends `file` with XMLHttpRequest (fetch has no upload progress).
 * Returns {promise, abort}: the promise resolves to the upload object, or
 * rejects with a ChatError (`aborted` when cancelled).
 */
export function uploadFile(file, { getToken, name, onProgress = () => {}, base = '' }) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `${base}/api/uploads?name=${encodeURIComponent(cleanName(name || file.name))}`);
    const token = getToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: handled by status */ }
      if (xhr.status === 201 && data && data.upload) { onProgress(1); resolve(data.upload); return; }
      reject(errorFrom(xhr.status, data, 'generic'));
    });
    xhr.addEventListener('error', () => reject(new ChatError('network', 'network error')));
    xhr.addEventListener('abort', () => reject(new ChatError('aborted', 'cancelled')));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}

// Files already fetched, by URL: object URLs, so repainting a message does not
// download its thumbnails again. The least recently used are released past
// 200 files or 48 MiB, whichever comes first.
const cache = new Map(); // url → {promise, size}
const CACHE_MAX = 200;
const CACHE_MAX_BYTES = 48 * 1024 * 1024;
let cachedBytes = 0;

function evict() {
  while (cache.size > CACHE_MAX || (cachedBytes > CACHE_MAX_BYTES && cache.size > 1)) {
    const [oldUrl, old] = cache.entries().next().value;
    cache.delete(oldUrl);
    cachedBytes -= old.size;
    old.promise.then((u) => URL.revokeObjectURL(u), () => {});
  }
}

/** Forget every fetched file (a new session must not see the last one's). */
export function clearFileCache() {
  for (const entry of cache.values()) entry.promise.then((u) => URL.revokeObjectURL(u), () => {});
  cache.clear();
  cachedBytes = 0;
}

/** GET `url` with the bearer token → an object URL for <img> or a download. */
export function fetchObjectUrl(url, getToken) {
  const hit = cache.get(url);
  if (hit) {
    cache.delete(url);
    cache.set(url, hit); // most recently used last
    return hit.promise;
  }
  const token = getToken();
  const entry = { size: 0, promise: null };
  entry.promise = fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} })
    .then(async (res) => {
      if (!res.ok) {
        let data = null;
        try { data = await res.json(); } catch { /* not JSON */ }
        throw errorFrom(res.status, data, 'generic');
      }
      const blob = await res.blob();
      if (cache.get(url) === entry) {
        entry.size = blob.size;
        cachedBytes += blob.size;
        evict();
      }
      return URL.createObjectURL(blob);
    }, (e) => { throw new ChatError('network', e.message); });
  entry.promise.catch(() => { if (cache.get(url) === entry) cache.delete(url); });
  cache.set(url, entry);
  evict();
  return entry.promise;
}

/** Saves a file under its name: fetched with the token, then handed to the browser. */
export async function downloadFile(upload, getToken) {
  const objectUrl = await fetchObjectUrl(upload.url, getToken);
  const a = document.createElement('a');
  a.href = objectUrl;
  a.download = cleanName(upload.name);
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
}
