// The web phone's service worker (issue 11): keeps the app shell (the page,
// its script, style, manifest and icons) in the Cache API so that the page
// starts offline and can be added to the home screen. It follows no section
// of docs/PROTOCOL.md: the relay's websocket (§7) never passes through it.
//
// Network first: the relay serves every file "no-cache" with an ETag, so a
// fetch online is a cheap revalidation (304) and always the newest page;
// the copy in the cache is used only when the network fails. web/build.mjs
// puts SKP_SHELL (the shell's URLs, relative to this file) and
// SKP_VERSION (a hash of the shell's bytes) before this file: a new build changes this file,
// the browser installs the new worker, and it drops the older caches.

/* global SKP_SHELL, SKP_VERSION */
const PREFIX = 'sk-phone-shell-';
const CACHE = PREFIX + SKP_VERSION;
const base = new URL('./', self.location.href);
const SHELL = new Set(SKP_SHELL.map((u) => new URL(u, base).href));
const PAGE = new URL('./', base).href;

self.addEventListener('install', (e) => {
	// no-cache: revalidate with the relay, never take an HTTP-cached copy
	// of an older build into the new cache.
	e.waitUntil(caches.open(CACHE)
	    .then((c) => c.addAll([...SHELL].map((u) => new Request(u, { cache: 'no-cache' }))))
	    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
	e.waitUntil(caches.keys()
	    .then((keys) => Promise.all(keys
		.filter((k) => k.startsWith(PREFIX) && k !== CACHE)
		.map((k) => caches.delete(k))))
	    .then(() => self.clients.claim()));
});

function shellUrl(req) {
	const u = new URL(req.url);
	u.hash = '';
	u.search = '';
	if (req.mode === 'navigate' && u.href.startsWith(base.href) &&
	    (u.href === PAGE || u.pathname.endsWith('/index.html')))
		return PAGE;
	return SHELL.has(u.href) ? u.href : null;
}

async function networkFirst(req, key) {
	const cache = await caches.open(CACHE);
	try {
		const res = await fetch(req);
		if (res.ok && res.status === 200)
			await cache.put(key, res.clone());
		return res;
	} catch (err) {
		const hit = await cache.match(key);
		if (hit)
			return hit;
		throw err;
	}
}

self.addEventListener('fetch', (e) => {
	if (e.request.method !== 'GET')
		return;
	const key = shellUrl(e.request);
	if (key !== null)
		e.respondWith(networkFirst(e.request, key));
});
