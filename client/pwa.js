// Installable app: registers the service worker (sw.js), which keeps the client's
// shell for offline starts. Nothing else depends on it: without service workers
// (an old browser, a private window, plain http on a LAN address) the app works the same.

import { t } from './i18n.js';
import { toast } from './views/ui.js';

export function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  // A worker replacing the one this page started with means a new release is cached:
  // the page in use keeps its code, the next load gets the new one. Say so.
  const startedWith = navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (startedWith) toast(t('app.updated'));
  });
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* not fatal */ });
  }, { once: true });
}
