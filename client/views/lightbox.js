// The image viewer: a modal <dialog> (focus stays inside, Esc closes it) with
// the full image, its name and position, previous/next buttons and the ← →
// keys, and a download button. Focus goes back to the thumbnail it came from.

import { h, icon, iconButton } from '../dom.js';
import { t, lang } from '../i18n.js';
import { downloadFile, fetchObjectUrl, formatSize } from '../uploads.js';
import { toast } from './ui.js';

/** Opens `images[index]`; `opener` gets focus back when the viewer closes. */
export function openLightbox(images, index, { getToken, opener = null } = {}) {
  if (!images.length) return null;
  let i = Math.min(Math.max(0, index), images.length - 1);
  const many = images.length > 1;
  const titleId = `lb-${Math.random().toString(36).slice(2, 8)}`;
  const title = h('h2', { class: 'lb-title', attrs: { id: titleId } });
  const meta = h('span', { class: 'lb-meta' });
  const status = h('div', { class: 'visually-hidden', attrs: { role: 'status', 'aria-live': 'polite' } });
  const stage = h('div', { class: 'lb-stage' });
  const prev = iconButton('chevronLeft', t('lightbox.prev'), () => go(-1), 'lb-nav lb-prev');
  const next = iconButton('chevronRight', t('lightbox.next'), () => go(1), 'lb-nav lb-next');
  const download = h('button', {
    class: 'btn btn-small lb-download', attrs: { type: 'button' },
    on: { click: () => downloadFile(images[i], getToken).catch(() => toast(t('attach.downloadFailed'), 'error')) },
  }, icon('download'), h('span', {}, t('lightbox.download')));
  const close = iconButton('x', t('lightbox.close'), () => dialog.close(), 'lb-close');
  const dialog = h('dialog', { class: 'lightbox', attrs: { 'aria-labelledby': titleId, 'aria-describedby': `${titleId}-hint` } },
    h('header', { class: 'lb-head' }, h('div', { class: 'lb-heading' }, title, meta), download, close),
    h('div', { class: 'lb-body' }, many ? prev : null, stage, many ? next : null),
    h('p', { class: 'lb-hint', attrs: { id: `${titleId}-hint` } }, many ? t('lightbox.hint') : ''),
    status);

  let shown = 0; // guards against a slow image arriving after the next one was asked for
  function show() {
    const img = images[i];
    const label = t('lightbox.label', { index: i + 1, count: images.length, name: img.name });
    title.textContent = img.name;
    meta.textContent = [many ? `${i + 1} / ${images.length}` : null, img.width && img.height ? `${img.width} × ${img.height}` : null, formatSize(img.size, lang())].filter(Boolean).join(' · ');
    status.textContent = label;
    const el = h('img', { class: 'lb-img', attrs: { alt: img.name, width: img.width || null, height: img.height || null } });
    const ticket = ++shown;
    // The thumbnail first (already fetched), then the full image when it is here.
    fetchObjectUrl(img.thumbnail_url, getToken).then((src) => { if (ticket === shown && !el.src) el.src = src; }, () => {});
    fetchObjectUrl(img.url, getToken).then((src) => { if (ticket === shown) el.src = src; },
      () => { if (ticket === shown) stage.replaceChildren(h('p', { class: 'lb-missing' }, icon('image'), t('attach.unavailable'))); });
    stage.replaceChildren(el);
    prev.disabled = !many;
    next.disabled = !many;
  }
  function go(step) {
    if (!many) return;
    i = (i + step + images.length) % images.length;
    show();
  }
  dialog.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') { e.preventDefault(); go(-1); } else if (e.key === 'ArrowRight') { e.preventDefault(); go(1); }
  });
  // A click on the dark backdrop around the picture closes it, as people expect.
  dialog.addEventListener('click', (e) => { if (e.target === dialog || e.target === stage) dialog.close(); });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.appendChild(dialog);
  show();
  dialog.showModal();
  close.focus();
  return { dialog, close: () => dialog.close() };
}
