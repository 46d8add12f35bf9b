// Web Push on the web phone's page, docs/PROTOCOL.md §8.11 (the relay's
// frames: §7.11): turning it on (notifications allowed, the relay's VAPID
// key, pushManager.subscribe, the subscription given to the relay) and
// off, the record that says whether it is on ('push' in the phone's
// store, also read by the service worker), and the subscription given
// again after every (re)connect while it is on.
//
//   const push = new PushControl({ phone, kv });
//   await push.start();
//   await push.enable(); await push.disable();
//   push.state: 'on'|'off'|'unsupported'|'denied'|'refused'|'error'; push.text
//   push.addEventListener('change', ...)
//
// Of the browser's push API only pushManager.subscribe({userVisibleOnly,
// applicationServerKey}) (given up after SUBSCRIBE_MS: headless Chromium
// never settles without a push service), pushManager.getSubscription(),
// and a subscription's endpoint, getKey('p256dh'), getKey('auth') and
// unsubscribe() are used, so that a test may stand in for them.

import { b64urlDecode, b64urlEncode, equal } from '../proto/bytes.js';
import { SkpError } from '../proto/err.js';
import { PUSH_STATUS } from './relay.js';

export const PUSH_RECORD = 'push';
export const SUBSCRIBE_MS = 20000;

const REFUSED = {
	[PUSH_STATUS.OFF]: 'refused: this relay sends no push messages (it runs without ' +
	    '--push-dir): the phone is reached only while this page is open',
	[PUSH_STATUS.REFUSED]: 'refused: the relay does not send to this browser\'s push ' +
	    'service (not on its list: see sk-phone-relay --push-allow)',
	[PUSH_STATUS.FULL]: 'refused: the relay could not keep the subscription (full, or ' +
	    'it could not write it): try again later',
};

function withTimeout(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, reject) => {
		t = setTimeout(() => reject(new SkpError('TIMEOUT', `${what} did not answer in ` +
		    `${Math.round(ms / 1000)} s`)), ms);
	})]).finally(() => clearTimeout(t));
}

// A subscription -> what SUBSCRIBE carries.
export function subscriptionParts(sub) {
	const key = (n) => {
		const k = sub.getKey(n);
		return k ? new Uint8Array(k) : null;
	};
	return { endpoint: sub.endpoint, p256dh: key('p256dh'), auth: key('auth') };
}

export class PushControl extends EventTarget {
	constructor({ phone, kv, nav = globalThis.navigator, Notification =
	    globalThis.Notification, subscribeMs = SUBSCRIBE_MS }) {
		super();
		Object.assign(this, { phone, kv, nav, Notification, subscribeMs });
		this.state = 'off';
		this.text = 'off: this phone is reached only while this page is open';
		this.busy = null;
	}

	supported() {
		return !!(this.nav && this.nav.serviceWorker && this.Notification &&
		    typeof globalThis.PushManager === 'function');
	}

	_set(state, text) {
		this.state = state;
		this.text = text;
		this.dispatchEvent(new CustomEvent('change', { detail: { state, text } }));
	}

	async record() {
		return (await this.kv.get(PUSH_RECORD)) ?? { on: false };
	}

	async start() {
		if (!this.supported()) {
			this._set('unsupported', 'unsupported: this browser cannot wake the page ' +
			    '(no Web Push here): keep the page open to answer');
			return;
		}
		const rec = await this.record();
		if (rec.on)
			this._set('on', 'on: a computer\'s request wakes this phone with a notification');
		// every (re)connect: give the relay the subscription again
		this.phone.addEventListener('status', (e) => {
			if (e.detail.status === 'online')
				this.resend().catch(() => {});
		});
		if (this.phone.status === 'online')
			await this.resend().catch(() => {});
	}

	async _registration() {
		return withTimeout(this.nav.serviceWorker.ready, 10000, 'the service worker');
	}

	// One at a time: enable, disable, resend.
	_one(fn) {
		const run = (this.busy ?? Promise.resolve()).catch(() => {}).then(fn);
		this.busy = run.finally(() => {
			if (this.busy === run)
				this.busy = null;
		});
		return run;
	}

	enable() {
		return this._one(async () => {
			if (!this.supported())
				return this.start();
			try {
				let perm = this.Notification.permission;
				if (perm !== 'granted')
					perm = await this.Notification.requestPermission();
				if (perm !== 'granted') {
					this._set('denied', 'denied: this browser does not allow this ' +
					    'page\'s notifications; allow them in the site\'s settings, then ' +
					    'turn push on again');
					return;
				}
				const listener = this.phone.listener;
				if (!listener)
					throw new SkpError('OFFLINE', 'the phone is not set up');
				const { status, key } = await listener.pushKey();
				if (status !== PUSH_STATUS.OK || !key) {
					this._set('refused', REFUSED[status] ?? `refused: status ${status}`);
					return;
				}
				const reg = await this._registration();
				let sub = await reg.pushManager.getSubscription();
				const old = sub?.options?.applicationServerKey;
				if (sub && old && !equal(new Uint8Array(old), key)) {
					// made for another relay key: a new one
					await sub.unsubscribe().catch(() => {});
					sub = null;
				}
				if (!sub)
					sub = await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true,
					    applicationServerKey: key }), this.subscribeMs,
					    'the browser\'s push service');
				const st = await listener.subscribePush(subscriptionParts(sub));
				if (st !== PUSH_STATUS.OK) {
					this._set('refused', REFUSED[st] ?? `refused: status ${st}`);
					return;
				}
				await this.kv.put(PUSH_RECORD, { on: true, key: b64urlEncode(key),
				    at: Date.now() });
				this._set('on', 'on: a computer\'s request wakes this phone with a notification');
			} catch (e) {
				if (e.relayCode === 4000)
					this._set('refused', 'refused: this relay does not know Web Push (an ' +
					    'sk-phone-relay older than protocol 2\'s push frames): the phone is ' +
					    'reached only while this page is open');
				else
					this._set('error', `error: push was not turned on: ${e.message}`);
			}
		});
	}

	disable() {
		return this._one(async () => {
			await this.kv.put(PUSH_RECORD, { on: false, at: Date.now() });
			let problem = null;
			try {
				if (this.phone.listener)
					await this.phone.listener.unsubscribePush();
			} catch (e) {
				// the relay drops it when a push to it fails (404/410)
				problem = e;
			}
			try {
				if (this.supported()) {
					const reg = await this._registration();
					const sub = await reg.pushManager.getSubscription();
					if (sub)
						await sub.unsubscribe();
				}
			} catch (e) {
				problem = problem ?? e;
			}
			this._set('off', 'off: this phone is reached only while this page is open' +
			    (problem ? ` (the relay was not told: ${problem.message})` : ''));
		});
	}

	// Push on: the current subscription to the relay (a renewed one too).
	resend() {
		return this._one(async () => {
			const rec = await this.record();
			if (!rec.on || !this.supported() || !this.phone.listener)
				return;
			try {
				const reg = await this._registration();
				let sub = await reg.pushManager.getSubscription();
				if (!sub && rec.key)
					sub = await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true,
					    applicationServerKey: b64urlDecode(rec.key) }), this.subscribeMs,
					    'the browser\'s push service');
				if (!sub)
					return;
				const st = await this.phone.listener.subscribePush(subscriptionParts(sub));
				if (st === PUSH_STATUS.OK)
					this._set('on', 'on: a computer\'s request wakes this phone with a ' +
					    'notification');
				else
					this._set('refused', REFUSED[st] ?? `refused: status ${st}`);
			} catch (e) {
				this._set('error', `error: the relay was not given the subscription: ${e.message}`);
			}
		});
	}
}
