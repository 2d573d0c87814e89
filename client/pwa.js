// Installable app: registers the service worker (sw.js), which keeps the client's
// shell for offline starts. Nothing else depends on it: without service workers
// (an old browser, a private window, plain http on a LAN address) the app works the same.

export function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* not fatal */ });
  }, { once: true });
}
