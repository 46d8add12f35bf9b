// Web Push on the page (web/src/app/push.js, PROTOCOL.md §8.11): turning
// it on and off, the record, and the subscription given again on every
// (re)connect, in node with the browser's parts stood in for (only those
// push-api.md §4 lets the page use: pushManager.subscribe with
// userVisibleOnly and the relay's key, getSubscription, a subscription's
// endpoint, getKey and unsubscribe) and the relay client's pushKey /
// subscribePush / unsubscribePush recorded; a relay older than the push
// frames (it closes 4000) is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PUSH_RECORD, PushControl } from '../src/app/push.js';
import { PUSH_STATUS } from '../src/app/relay.js';
import { b64urlEncode, fromHex, toHex } from '../src/proto/bytes.js';
import { MemKV } from '../src/phone/memkv.js';

const KEY = fromHex('04' + '11'.repeat(64));
const P256DH = fromHex('04' + '22'.repeat(64));
const AUTH = fromHex('33'.repeat(16));

function browser({ permission = 'granted', subscribeHangs = false } = {}) {
	const b = { subscribed: [], unsubscribed: 0, sub: null, asked: 0 };
	const makeSub = (key, n) => ({
		endpoint: `https://push.example/sub/${n}`,
		options: { applicationServerKey: key.buffer.slice(0) },
		getKey: (name) => (name === 'p256dh' ? P256DH : AUTH).buffer.slice(0),
		unsubscribe: async () => { b.unsubscribed++; b.sub = null; return true; },
	});
	const reg = { pushManager: {
		getSubscription: async () => b.sub,
		subscribe: (o) => {
			b.subscribed.push(o);
			if (subscribeHangs)
				return new Promise(() => {});
			b.sub = makeSub(new Uint8Array(o.applicationServerKey), b.subscribed.length);
			return Promise.resolve(b.sub);
		},
	} };
	b.nav = { serviceWorker: { ready: Promise.resolve(reg) } };
	b.Notification = { permission, requestPermission: async () => { b.asked++; return permission; } };
	return b;
}

function relay({ keyStatus = PUSH_STATUS.OK, subStatus = PUSH_STATUS.OK } = {}) {
	const r = { calls: [] };
	r.listener = {
		pushKey: async () => {
			r.calls.push('key');
			return { status: keyStatus, key: keyStatus === PUSH_STATUS.OFF ? null : KEY };
		},
		subscribePush: async (s) => {
			r.calls.push(['sub', s.endpoint, toHex(s.p256dh), toHex(s.auth)]);
			return subStatus;
		},
		unsubscribePush: async () => { r.calls.push('unsub'); return PUSH_STATUS.REMOVED; },
	};
	r.phone = new EventTarget();
	r.phone.status = 'online';
	r.phone.listener = r.listener;
	r.reconnect = () => {
		r.phone.dispatchEvent(new CustomEvent('status', { detail: { status: 'offline' } }));
		r.phone.dispatchEvent(new CustomEvent('status', { detail: { status: 'online' } }));
	};
	return r;
}

globalThis.PushManager ??= function PushManager() {};

async function control(b, r, kv = new MemKV(), o = {}) {
	const p = new PushControl({ phone: r.phone, kv, nav: b.nav, Notification: b.Notification,
	    ...o });
	await p.start();
	return p;
}

const settle = () => new Promise((res) => setTimeout(res, 20));

test('on: the relay\'s key, a subscription with it, given to the relay; the record; again on every reconnect', async () => {
	const b = browser(), r = relay(), kv = new MemKV();
	const p = await control(b, r, kv);
	assert.equal(p.state, 'off');
	assert.deepEqual(r.calls, [], 'push off: nothing sent on connect');
	await p.enable();
	assert.equal(p.state, 'on');
	assert.match(p.text, /^on: /);
	assert.equal(b.subscribed.length, 1);
	assert.equal(b.subscribed[0].userVisibleOnly, true);
	assert.equal(toHex(new Uint8Array(b.subscribed[0].applicationServerKey)), toHex(KEY));
	const sub = ['sub', 'https://push.example/sub/1', toHex(P256DH), toHex(AUTH)];
	assert.deepEqual(r.calls, ['key', sub]);
	assert.deepEqual(await kv.get(PUSH_RECORD), { ...(await kv.get(PUSH_RECORD)), on: true,
	    key: b64urlEncode(KEY) });
	r.reconnect();
	await settle();
	r.reconnect();
	await settle();
	assert.deepEqual(r.calls, ['key', sub, sub, sub]);
	// a page loaded later: on from the record, and given at once when online
	const r2 = relay();
	const p2 = await control(b, r2, kv);
	await settle();
	assert.equal(p2.state, 'on');
	assert.deepEqual(r2.calls, [sub]);
	// the browser renewed it (the service worker's pushsubscriptionchange):
	// the next connect gives the new one
	b.sub = null;
	r2.reconnect();
	await settle();
	assert.deepEqual(r2.calls.at(-1), ['sub', 'https://push.example/sub/2', toHex(P256DH),
	    toHex(AUTH)]);
	assert.equal(b.subscribed.length, 2);
	assert.equal(toHex(new Uint8Array(b.subscribed[1].applicationServerKey)), toHex(KEY));
});

test('off: UNSUBSCRIBE, the browser\'s subscription dropped, nothing sent on reconnect', async () => {
	const b = browser(), r = relay(), kv = new MemKV();
	const p = await control(b, r, kv);
	await p.enable();
	await p.disable();
	assert.equal(p.state, 'off');
	assert.deepEqual(r.calls.slice(2), ['unsub']);
	assert.equal(b.unsubscribed, 1);
	assert.equal((await kv.get(PUSH_RECORD)).on, false);
	r.reconnect();
	await settle();
	assert.deepEqual(r.calls.slice(2), ['unsub']);
});

test('refused, denied, unsupported, a subscribe that never settles: never on', async () => {
	let b = browser(), r = relay({ keyStatus: PUSH_STATUS.OFF });
	let p = await control(b, r);
	await p.enable();
	assert.equal(p.state, 'refused');
	assert.match(p.text, /^refused: this relay sends no push messages/);
	assert.equal(b.subscribed.length, 0);
	r = relay({ subStatus: PUSH_STATUS.REFUSED });
	p = await control(b, r);
	await p.enable();
	assert.equal(p.state, 'refused');
	assert.match(p.text, /push service/);
	b = browser({ permission: 'denied' });
	r = relay();
	p = await control(b, r);
	await p.enable();
	assert.equal(p.state, 'denied');
	assert.equal(b.asked, 1);
	assert.deepEqual(r.calls, []);
	b = browser({ subscribeHangs: true });
	r = relay();
	const kv = new MemKV();
	p = await control(b, r, kv, { subscribeMs: 50 });
	await p.enable();
	assert.equal(p.state, 'error');
	assert.match(p.text, /did not answer in 0 s|did not answer/);
	assert.equal(await kv.get(PUSH_RECORD), undefined);
	// a relay older than the push frames closes the connection (4000)
	b = browser();
	r = relay();
	r.listener.pushKey = async () => {
		const e = new Error('the relay: protocol error (4000)');
		e.relayCode = 4000;
		throw e;
	};
	p = await control(b, r);
	await p.enable();
	assert.equal(p.state, 'refused');
	assert.match(p.text, /^refused: this relay does not know Web Push/);
	p = await control({ ...b, nav: {} }, r);
	assert.equal(p.state, 'unsupported');
});
