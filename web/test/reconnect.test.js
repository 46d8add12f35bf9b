// The web phone's controller (web/src/app/controller.js) coming back to the
// relay (docs/PROTOCOL.md §8.8, §7.8) when a browser tells it to: a
// browser's WebSocket cannot ping and the relay's pings are answered by the
// browser unseen (relay.js's header), so the page reconnects at once on the
// window's 'online' event and when it becomes visible again, instead of at
// the end of its backoff. Against the real relay, stopped and started again
// on the same port; the backoff is set to 60 s so that only the event can
// bring the phone back within the wait. The page's window and document are
// stood in for by EventTargets (node has none). Cases:
//   online_event_reconnects_at_once: offline, waiting to retry; 'online'
//     -> online again.
//   visible_again_reconnects_at_once: 'visibilitychange' to hidden leaves
//     the retry waiting; to visible -> online again (failed before the
//     controller listened for it).
//   events_leave_an_open_socket_alone: both events while online keep the
//     same connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startPhone } from '../src/app/controller.js';
import { MemKV } from '../src/phone/memkv.js';
import { Kit, until } from './relaykit.js';

const K = new Kit();
let phone;

// The page's globals the controller listens on.
globalThis.window = new EventTarget();
globalThis.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });

function setVisibility(v) {
	document.visibilityState = v;
	document.dispatchEvent(new Event('visibilitychange'));
}

before(async () => {
	await K.startRelay();
	phone = await startPhone({ kv: new MemKV(), relayUrl: K.url, WebSocket,
	    listenerOptions: { backoffFirstMs: 60000, backoffMaxMs: 60000 } });
	await phone.setup({ name: 'pixel' });
	await until('the phone to be online', () => phone.status === 'online');
});

after(() => {
	if (phone)
		phone.stop();
	K.close();
});

// The relay stops: the phone is offline with a retry 30-60 s away; the
// relay starts again on the same port.
async function relayBounces() {
	await K.stopRelay();
	await until('the phone to be offline', () => phone.status === 'offline');
	assert.notEqual(phone.listener.retryTimer, null, 'waiting to retry');
	await K.startRelay();
}

test('online_event_reconnects_at_once', async () => {
	await relayBounces();
	window.dispatchEvent(new Event('online'));
	await until('the phone to be online', () => phone.status === 'online');
});

test('visible_again_reconnects_at_once', async () => {
	await relayBounces();
	setVisibility('hidden');
	assert.notEqual(phone.listener.retryTimer, null, 'hidden: still waiting to retry');
	assert.equal(phone.status, 'offline');
	setVisibility('visible');
	await until('the phone to be online', () => phone.status === 'online');
});

test('events_leave_an_open_socket_alone', async () => {
	assert.equal(phone.status, 'online');
	const conn = phone.listener.conn;
	window.dispatchEvent(new Event('online'));
	setVisibility('hidden');
	setVisibility('visible');
	await new Promise((r) => setTimeout(r, 300));
	assert.equal(phone.listener.conn, conn, 'the same connection');
	assert.equal(phone.status, 'online');
});
