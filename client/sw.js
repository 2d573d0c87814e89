// The service worker: keeps the client's shell (HTML, CSS, modules, icons) so the
// app opens at once, and without network, from a phone's home screen. Only the
// shell is cached, never /api or /ws: messages and everything else a person sees
// come live from the server (the page shows its offline banner when it cannot).
//
// The server serves this file at /sw.js with `self.__SHELL__ = {build, files}`
// prepended: `build` changes with every release and every change of a client
// file, so the browser installs the new worker, which caches the new shell and
// drops the old one; `files` lists the shell.

const { build: BUILD, files: SHELL } = self.__SHELL__ || { build: 'dev', files: ['/', '/index.html'] };
const PREFIX = 'campus-shell-';
const CACHE = `${PREFIX}${BUILD}`;
// Never from the cache, never into it.
const LIVE = /^\/(api|ws|files|metrics|healthz|readyz)(\/|$)/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // `reload`: fetch past the HTTP cache, so the new shell is really new.
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || LIVE.test(url.pathname)) return;
  if (req.mode === 'navigate') {
    // Every page of the app (/, /invite/…, /reset/…) is the same shell: it reads the path.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const shell = await cache.match('/index.html') || await cache.match('/');
      if (shell) return shell;
      return fetch(req);
    })());
    return;
  }
  if (!SHELL.includes(url.pathname)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    return (await cache.match(url.pathname)) || fetch(req);
  })());
});
