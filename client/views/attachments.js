// Attachments in the web client: what a message shows (image thumbnails —
// one large, two side by side for "A or B?", more in a grid — and the other
// files as download chips), the composer's tray of files being uploaded
// (progress, cancel, remove, retry), and dropping files onto the chat.
// Files are fetched with the session's token (downloads are authorized like
// the history), then shown from object URLs.

import { h, icon, iconButton } from '../dom.js';
import { t, lang } from '../i18n.js';
import {
  MAX_ATTACHMENTS, cleanName, clearFileCache, downloadFile, fetchObjectUrl, fileKind, fitBox, formatSize, isImage, layout,
  pastedName, uploadErrorKey, uploadFile,
} from '../uploads.js';
import { openLightbox } from './lightbox.js';
import { toast } from './ui.js';

let tokenSource = () => null;
/** The session's token getter: set once when the signed-in screen mounts. */
let lastToken = null;
export function setTokenSource(getToken) {
  const token = getToken();
  if (token !== lastToken) clearFileCache(); // another account: nothing of the last one's
  lastToken = token;
  tokenSource = getToken;
}
export const getToken = () => tokenSource();

const KIND_ICON = { image: 'image', pdf: 'fileText', text: 'fileText', file: 'file' };
const THUMB_MAX = { single: 360, pair: 260, grid: 180 };

/** An <img> that loads `url` with the token; a placeholder if it cannot. */
function authorizedImage(url, { alt, width, height, cls = '' }) {
  const img = h('img', { class: cls, attrs: { alt, width, height, decoding: 'async', draggable: 'false' } });
  fetchObjectUrl(url, getToken).then((src) => { img.src = src; }, () => {
    img.replaceWith(h('span', { class: `${cls} att-missing`, attrs: { role: 'img', 'aria-label': t('attach.unavailable') } }, icon('image'), t('attach.unavailable')));
  });
  return img;
}

function fileChip(upload) {
  const size = formatSize(upload.size, lang());
  return h('li', {}, h('button', {
    class: `att-file att-${fileKind(upload)}`,
    attrs: { type: 'button', 'aria-label': t('attach.download', { name: upload.name, size }), title: upload.name },
    on: { click: () => downloadFile(upload, getToken).catch(() => toast(t('attach.downloadFailed'), 'error')) },
  },
  h('span', { class: 'att-file-icon' }, icon(KIND_ICON[fileKind(upload)] || 'file')),
  h('span', { class: 'att-file-text' }, h('span', { class: 'att-file-name' }, upload.name), h('span', { class: 'att-file-size' }, size)),
  icon('download', 'att-file-dl')));
}

/** The attachments of a message (or of a message still being sent). */
export function attachmentsView(attachments) {
  const { images, files, mode } = layout(attachments);
  if (!images.length && !files.length) return null;
  const letters = ['A', 'B'];
  const thumbs = images.map((img, i) => {
    const box = fitBox(img.width, img.height, THUMB_MAX[mode]);
    const label = mode === 'pair' ? t('attach.choice', { letter: letters[i], name: img.name }) : t('attach.open', { name: img.name });
    const btn = h('button', {
      class: 'att-thumb',
      attrs: { type: 'button', 'aria-label': label, title: img.name, 'data-upload-id': img.id },
      on: { click: () => openLightbox(images, i, { getToken, opener: btn }) },
    },
    authorizedImage(img.thumbnail_url, { alt: img.name, width: box.width, height: box.height }),
    mode === 'pair' ? h('span', { class: 'att-choice', attrs: { 'aria-hidden': 'true' } }, letters[i]) : null);
    return btn;
  });
  const grid = thumbs.length ? h('div', {
    class: `att-images att-${mode}`,
    attrs: mode === 'pair' ? { role: 'group', 'aria-label': t('attach.pair') } : {},
  }, thumbs) : null;
  if (mode === 'pair') {
    // Both boxes take the first image's shape (within reason), so A and B line up.
    const ratio = (Number(images[0].width) || 4) / (Number(images[0].height) || 3);
    grid.style.setProperty('--att-ratio', String(Math.min(16 / 9, Math.max(3 / 4, ratio))));
  }
  return h('div', { class: 'att', attrs: { role: 'group', 'aria-label': t('attach.label') } },
    grid,
    files.length ? h('ul', { class: 'att-files' }, files.map(fileChip)) : null);
}

// ------------------------------------------------------------ composer tray

let trayKey = 0;

/**
 * The files waiting in the composer, room by room (like drafts): each starts
 * uploading as soon as it is added, and one room's files keep uploading while
 * another room is open. `onChange` is called whenever what is shown changes.
 */
export function createUploadTray({ onChange = () => {} } = {}) {
  const el = h('ul', { class: 'upload-tray', attrs: { hidden: true, 'aria-label': t('upload.tray') } });
  const live = h('div', { class: 'visually-hidden', attrs: { role: 'status', 'aria-live': 'polite' } });
  let all = [];
  let current = null; // the open room
  const shown = () => all.filter((x) => x.room === current);
  const say = (item, text) => { if (item.room === current) live.textContent = text; };

  function start(item) {
    item.status = 'uploading';
    item.progress = 0;
    item.error = null;
    const xfer = uploadFile(item.file, {
      getToken, name: item.name,
      onProgress: (p) => { item.progress = p; paintProgress(item); },
    });
    item.abort = xfer.abort;
    xfer.promise.then((upload) => {
      item.status = 'done';
      item.upload = upload;
      say(item, t('upload.done', { name: item.name }));
      paint();
    }, (err) => {
      if (!all.includes(item)) return; // removed while uploading
      item.status = 'failed';
      item.error = err;
      say(item, `${item.name} : ${t(uploadErrorKey(err.code))}`);
      paint();
    });
  }

  function drop(list) {
    for (const item of list) {
      if (item.status === 'uploading' && item.abort) item.abort();
      if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
    }
    all = all.filter((x) => !list.includes(x));
    paint();
  }

  function paintProgress(item) {
    if (!item.bar) return;
    item.bar.value = item.progress;
    item.bar.textContent = `${Math.round(item.progress * 100)} %`;
  }

  function row(item) {
    const uploading = item.status === 'uploading';
    const failed = item.status === 'failed';
    const glyph = () => h('span', { class: 'upload-thumb upload-icon' }, icon(KIND_ICON[fileKind({ content_type: item.file.type, name: item.name })] || 'file'));
    // The local preview, unless the file is refused or is not the picture it claims to be.
    const thumb = item.previewUrl && !failed
      ? h('img', { class: 'upload-thumb', attrs: { src: item.previewUrl, alt: '' }, on: { error: (e) => e.currentTarget.replaceWith(glyph()) } })
      : glyph();
    item.bar = uploading
      ? h('progress', { class: 'upload-bar', attrs: { max: '1', 'aria-label': t('upload.progress', { name: item.name }) }, props: { value: item.progress } })
      : null;
    return h('li', { class: `upload-item upload-${item.status}`, attrs: { 'data-key': item.key } },
      thumb,
      h('span', { class: 'upload-text' },
        h('span', { class: 'upload-name', attrs: { title: item.name } }, item.name),
        failed
          ? h('span', { class: 'upload-error', attrs: { role: 'alert' } }, t(uploadErrorKey(item.error && item.error.code)))
          : h('span', { class: 'upload-size' }, formatSize(item.file.size, lang())),
        item.bar),
      failed && item.error && item.error.code !== 'too_large' && item.error.code !== 'bad_request'
        ? h('button', { class: 'link-btn upload-retry', attrs: { type: 'button' }, on: { click: () => { start(item); paint(); } } }, t('upload.retry'))
        : null,
      iconButton('x', t(uploading ? 'upload.cancel' : 'upload.remove', { name: item.name }), () => drop([item]), 'upload-remove'));
  }

  function paint() {
    const items = shown();
    for (const item of all) item.bar = null;
    el.hidden = !items.length;
    el.replaceChildren(...items.map(row));
    for (const item of items) paintProgress(item);
    onChange();
  }

  return {
    el: h('div', { class: 'upload-tray-wrap' }, el, live),
    /** The open room changed: show its files. */
    setRoom(room) {
      if (room === current) return;
      current = room;
      paint();
    },
    /** Files picked, dropped or pasted. */
    add(fileList, { pasted = false } = {}) {
      const files = [...fileList];
      if (!files.length) return;
      const space = MAX_ATTACHMENTS - shown().length;
      if (files.length > space) toast(t('upload.tooMany', { max: MAX_ATTACHMENTS }), 'error');
      for (const file of files.slice(0, Math.max(0, space))) {
        const name = pasted ? pastedName(file) : cleanName(file.name);
        const item = { key: ++trayKey, room: current, file, name, status: 'uploading', progress: 0 };
        if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) item.previewUrl = URL.createObjectURL(file);
        all.push(item);
        start(item);
      }
      paint();
    },
    busy: () => shown().some((x) => x.status === 'uploading'),
    failed: () => shown().some((x) => x.status === 'failed'),
    /** The upload objects ready to be attached to the open room's next message. */
    ready: () => shown().filter((x) => x.status === 'done').map((x) => x.upload),
    count: () => shown().length,
    /** After a send: the open room's files now belong to the message. */
    clear: () => drop(shown()),
  };
}

/** Files dragged over the chat are attached where they are dropped. */
export function installDropZone(zone, onFiles) {
  const overlay = h('div', { class: 'drop-overlay', attrs: { hidden: true, 'aria-hidden': 'true' } },
    h('div', { class: 'drop-card' }, icon('paperclip'), t('upload.dropHere')));
  zone.appendChild(overlay);
  let depth = 0;
  const hasFiles = (e) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  zone.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    overlay.hidden = false;
  });
  zone.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  zone.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    if (e.dataTransfer.files && e.dataTransfer.files.length) onFiles(e.dataTransfer.files);
  });
}

export { isImage };
