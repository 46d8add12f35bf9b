// The web phone's page (issue 11): opens the phone's storage (IndexedDB,
// web-api.md §3/§5), starts the controller (h-webctl's
// web/src/app/controller.js: the relay connection of docs/PROTOCOL.md §7,
// pairing §8.1, requests §8.3) and hands it to the screens (ui/), with Web
// Push's control (app/push.js, §8.11). Registers
// the service worker (sw.js) that lets the page start offline. Whatever
// fails at start is shown on the page with what to do, never a blank page.

import { openIdbKV } from './app/idbkv.js';
import { startPhone } from './app/controller.js';
import { PushControl } from './app/push.js';
import { App, bootError } from './ui/app.js';

function registerWorker() {
	if (!('serviceWorker' in navigator))
		return;
	navigator.serviceWorker.register('sw.js', { scope: './' }).catch((e) => {
		// The page works without it; only starting offline does not.
		console.warn('sk-phone: the service worker was not registered:', e);
	});
}

async function main() {
	if (!window.isSecureContext || !globalThis.crypto || !crypto.subtle)
		throw new Error('This page needs a secure connection for its keys: open ' +
		    'it with https:// (or http:// on 127.0.0.1 or localhost).');
	if (!('indexedDB' in window) || indexedDB === null)
		throw new Error('This browser gives this page no storage (IndexedDB), so ' +
		    'it cannot keep keys: leave private browsing, or use another browser.');
	registerWorker();
	const kv = await openIdbKV();
	const phone = await startPhone({ kv });
	// For the tests (web-api.md §6): read state through it, never change it.
	window.skpPhone = phone;
	const app = new App(phone);
	// Web Push (PROTOCOL.md §8.11): on/off in Settings, the subscription
	// given to the relay again on every (re)connect.
	app.push = new PushControl({ phone, kv });
	app.push.addEventListener('change', () => {
		if (app.screen === 'settings')
			app.draw();
	});
	app.push.start().catch((e) => console.warn('sk-phone: push:', e));
	await app.start();
}

// Opening the store waits while another tab of this page upgrades it.
const slow = setTimeout(() => {
	const t = document.getElementById('boot-text');
	if (t && t.isConnected)
		t.textContent = 'Still starting… If this stays, close the other tabs ' +
		    'of this page, then reload.';
}, 10000);

main().finally(() => clearTimeout(slow)).catch((e) => {
	console.error('sk-phone: the phone did not start:', e);
	bootError(e);
});
