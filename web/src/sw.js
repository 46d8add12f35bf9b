// The web phone's service worker (issue 11): keeps the app shell (the page,
// its script, style, manifest and icons) in the Cache API so that the page
// starts offline and can be added to the home screen; and (issue 12,
// docs/PROTOCOL.md §8.11 "Web Push") shows a pushed request as a
// notification (app/pushnotify.js) and answers it from the notification's
// Allow / Reject through the relay (§7.4) as the phone. The page's own
// websocket never passes through it.
//
// Test hooks: self.skpNotificationClick(notification, action) -> Promise
// (what the 'notificationclick' listener runs: a synthetic event's
// waitUntil throws in Chromium) and self.skpPushSubscriptionChange().
//
// Network first: the relay serves every file "no-cache" with an ETag, so a
// fetch online is a cheap revalidation (304) and always the newest page;
// the copy in the cache is used only when the network fails. web/build.mjs
// puts SKP_SHELL (the shell's URLs, relative to this file) and
// SKP_VERSION (a hash of the shell's bytes) before this file: a new build changes this file,
// the browser installs the new worker, and it drops the older caches.

/* global SKP_SHELL, SKP_VERSION */
import { openIdbKV } from './app/idbkv.js';
import { PUSH_RECORD } from './app/push.js';
import { answerFromNotification, notificationFor, PUSH_TAG } from './app/pushnotify.js';
import { b64urlDecode } from './proto/bytes.js';

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

// ---- Web Push (docs/PROTOCOL.md §8.11; the payload of §7.11) ----

const NONE = { digest: null, computer: null, op: null, answerable: false, until: 0 };

function maxActions() {
	return typeof Notification === 'function' && Number.isInteger(Notification.maxActions) ?
	    Notification.maxActions : 0;
}

// A push: the request it carries previewed (nothing recorded), shown. A
// push always shows a notification (userVisibleOnly), so does a failure.
async function onPush(text) {
	let n;
	try {
		n = await notificationFor(text, { kv: await openIdbKV(), maxActions: maxActions() });
	} catch (err) {
		n = { title: 'sk-phone: a request is waiting', options: { tag: PUSH_TAG,
		    body: `Open sk-phone to see it (the notification failed: ${err.message}).`,
		    data: NONE, actions: [] } };
	}
	await self.registration.showNotification(n.title, n.options);
}

self.addEventListener('push', (e) => {
	e.waitUntil(onPush(e.data ? e.data.text() : ''));
});

// Focus an open page, or open one.
async function openPage() {
	const all = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
	const open = all.find((c) => c.url.startsWith(base.href));
	try {
		if (open) {
			await open.focus();
			return { opened: true, focused: true };
		}
		await self.clients.openWindow(PAGE);
		return { opened: true, focused: false };
	} catch (err) {
		// without a real tap the browser refuses (a test's call)
		return { opened: false, text: err.message };
	}
}

function relayUrl() {
	return `${self.location.protocol === 'https:' ? 'wss' : 'ws'}://${self.location.host}`;
}

// Allow / Reject: answered through the relay (at most ANSWER_MS); no
// action, or one the notification cannot take: the page. Resolves when
// the answer went or failed: { answered, status, text } or { opened }.
self.skpNotificationClick = async (notification, action) => {
	const data = notification.data || NONE;
	notification.close();
	if ((action === 'allow' || action === 'reject') && data.digest) {
		let r;
		try {
			r = await answerFromNotification({ kv: await openIdbKV(), data, action,
			    relayUrl: relayUrl() });
		} catch (err) {
			r = { answered: false, text: `the answer failed: ${err.message}` };
		}
		if (!r.answered)
			// a tag of its own: the request's notification is closing
			await self.registration.showNotification('sk-phone: the request was not ' +
			    'answered', { tag: PUSH_TAG + '-answer', body: `${r.text}. Open sk-phone to see it.`,
			    data: NONE, actions: [] }).catch(() => {});
		return r;
	}
	return openPage();
};

self.addEventListener('notificationclick', (e) => {
	e.waitUntil(self.skpNotificationClick(e.notification, e.action));
});

// The browser renewed the subscription: subscribe again with the relay's
// key; the page gives the relay the new one when it next connects (it
// gives the current subscription on every connect).
self.skpPushSubscriptionChange = async (newSubscription) => {
	const kv = await openIdbKV();
	const rec = await kv.get(PUSH_RECORD);
	if (!rec || !rec.on || !rec.key)
		return false;
	if (!newSubscription)
		await self.registration.pushManager.subscribe({ userVisibleOnly: true,
		    applicationServerKey: b64urlDecode(rec.key) });
	await kv.put(PUSH_RECORD, { ...rec, renewed: Date.now() });
	return true;
};

self.addEventListener('pushsubscriptionchange', (e) => {
	e.waitUntil(self.skpPushSubscriptionChange(e.newSubscription ?? null));
});
