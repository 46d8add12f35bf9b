// The service worker's part of Web Push (web/src/app/pushnotify.js,
// PROTOCOL.md §8.11, the payload of §7.11) in node, with the phone's state
// on a MemKV, requests through real KKpsk0 (phonekit.js) and the real relay
// (cmd/sk-phone-relay) holding the computer's call:
//   the payload read strictly (v 2, call base64url or null);
//   the notification for a request: title, body, tag, data (digest,
//     computer, op, answerable, until), Allow / Reject only when answerable
//     and the browser shows two buttons; a PIN or a host's first use: no
//     buttons, the body says why; refused and unreadable ones say so;
//   Allow answers the matching request through the relay (the computer's
//     fresh message 1 after ONLINE) with the audit line "(from the
//     notification)"; a notification past its time connects to nothing;
//     a request that never comes gives up after the time given; the page
//     coming back (a takeover, 4007) ends it at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { answerFromNotification, notificationFor, parsePushPayload, PUSH_TAG }
    from '../src/app/pushnotify.js';
import { KIND, RelayConnection } from '../src/app/relay.js';
import { b64urlEncode } from '../src/proto/bytes.js';
import { randomBytes, sha256 } from '../src/proto/crypto.js';
import { CMD, decodeResponse, STATUS } from '../src/proto/ctap.js';
import { requestDigest } from '../src/phone/engine.js';
import { openCall } from '../src/proto/call.js';
import { MemKV } from '../src/phone/memkv.js';
import { PhoneState } from '../src/phone/state.js';
import { hostKey, hostLogin, mcParams, world } from './phonekit.js';
import { Kit, until } from './relaykit.js';

const K = new Kit();
before(() => K.startRelay());
after(() => K.close());

// A phone listening on the test relay (when it listens), a computer 'work'.
async function phone() {
	const kv = new MemKV();
	const st = await PhoneState.open(kv);
	await st.createIdentity({ name: 'phone', relay: K.url });
	const w = await world({ kv, clock: { get now() { return Date.now(); } } });
	return w;
}

async function enroll(w, userName = 'alice', o = {}) {
	const raw = o.raw ?? randomBytes(32);
	const params = mcParams({ cdh: await sha256(raw), userName, uv: o.uv });
	const m = await w.computer.message1({ command: CMD.MAKE_CREDENTIAL, raw, params,
	    timeMs: Date.now(), host: o.host });
	return { ...m, raw, params, text: `{"v":2,"call":"${b64urlEncode(m.m1)}"}` };
}

test('the payload: v 2, call base64url or null, nothing else', () => {
	assert.deepEqual([...parsePushPayload('{"v":2,"call":"AAEC_-8"}')], [0, 1, 2, 0xff, 0xef]);
	assert.equal(parsePushPayload('{"v":2,"call":null}'), null);
	for (const bad of ['', 'null', '[]', '{"v":1,"call":"AA"}', '{"v":2}', '{"v":2,"call":5}',
	    '{"v":2,"call":"AA=="}', '{"v":2,"call":"A A"}', '{"v":2,"call":""}'])
		assert.throws(() => parsePushPayload(bad), { code: 'FORMAT' }, bad);
});

test('the notification: what is asked, and buttons only when a notification can answer', async () => {
	const w = await phone();
	const r = await enroll(w);
	const call = await openCall({ identity: w.identity.identity,
	    computers: await w.state.computers(), message1: r.m1 });
	let n = await notificationFor(r.text, { kv: w.kv });
	assert.equal(n.title, 'Enroll a new ecdsa-sk key');
	assert.equal(n.options.body, 'From computer "work".');
	assert.equal(n.options.tag, PUSH_TAG);
	assert.deepEqual(n.options.actions.map((a) => a.action), ['allow', 'reject']);
	assert.equal(n.options.data.digest, await requestDigest(call));
	assert.deepEqual([n.options.data.computer, n.options.data.op, n.options.data.answerable],
	    ['work', 'enroll', true]);
	// a browser without buttons: tapping opens the page
	n = await notificationFor(r.text, { kv: w.kv, maxActions: 0 });
	assert.deepEqual(n.options.actions, []);
	assert.match(n.options.body, /Tap to open sk-phone and answer\.$/);
	// a host's first use: the page shows its key
	const k = await w.computer.enroll();
	w.clock = { now: Date.now() };
	const l = hostLogin(k, hostKey());
	const { m1 } = await w.computer.message1({ command: CMD.GET_ASSERTION, raw: l.raw,
	    host: l.host, timeMs: Date.now(), params: new Map([[1, 'ssh:'],
		[2, await sha256(l.raw)], [3, [new Map([['id', k.credId], ['type', 'public-key']])]],
		[5, new Map([['up', true]])]]) });
	n = await notificationFor(`{"v":2,"call":"${b64urlEncode(m1)}"}`, { kv: w.kv });
	assert.equal(n.title, 'SSH login: root @ db1 (first use, not yet pinned)');
	assert.match(n.options.body, /^From computer "work", host seen for the first time\. Open sk-phone to answer: the host is seen for the first time/);
	assert.deepEqual([n.options.actions, n.options.data.answerable], [[], false]);
	// the PIN
	await w.state.setPin('2468');
	n = await notificationFor((await enroll(w, 'bob', { uv: true })).text, { kv: w.kv });
	assert.match(n.options.body, /Open sk-phone to answer: it needs the PIN\.$/);
	assert.deepEqual(n.options.actions, []);
	// refused: why
	const stale = await w.computer.message1({ command: CMD.MAKE_CREDENTIAL, raw: r.raw,
	    params: r.params, timeMs: Date.now() - 300000 });
	n = await notificationFor(`{"v":2,"call":"${b64urlEncode(stale.m1)}"}`, { kv: w.kv });
	assert.equal(n.title, 'sk-phone refuses a request from computer "work"');
	assert.match(n.options.body, /^the request's time is 300 s behind/);
	assert.equal(n.options.data.answerable, false);
	// nothing of these was recorded
	assert.deepEqual((await w.state.auditLog()).map((e) => e.event),
	    ['paired', 'allow-once']);
	// not for this phone, too large, unreadable
	const stranger = await world({ computer: 'work' });
	stranger.clock = { now: Date.now() };
	const sm = await stranger.computer.message1({ command: CMD.GET_INFO, timeMs: Date.now() });
	n = await notificationFor(`{"v":2,"call":"${b64urlEncode(sm.m1)}"}`, { kv: w.kv });
	assert.equal(n.title, 'sk-phone: a request from an unknown computer');
	assert.deepEqual(n.options.actions, []);
	n = await notificationFor(`{"v":2,"call":"${b64urlEncode(randomBytes(120))}"}`, { kv: w.kv });
	assert.equal(n.title, 'sk-phone: a request this phone cannot read');
	n = await notificationFor('{"v":2,"call":null}', { kv: w.kv });
	assert.match(n.options.body, /too large/);
	assert.equal(n.options.data.digest, null);
	n = await notificationFor('{', { kv: w.kv });
	assert.match(n.options.body, /could not be read/);
});

// The computer: CALL held (OFFLINE), message 1 on it; after ONLINE, the
// request again (new id, time, handshake); -> promise of the answer.
async function computerCalls(w, req, { fresh = true } = {}) {
	const conn = await RelayConnection.open(K.url, { WebSocket });
	let offline = false;
	conn.addEventListener('frame', (e) => {
		if (e.detail.kind === KIND.OFFLINE)
			offline = true;
	});
	const ch = conn.openChannel(KIND.CALL, w.identity.mailboxId, 30000);
	ch.send(req.m1);
	await until('OFFLINE', () => offline);
	const answer = new Promise((resolve, reject) => {
		ch.addEventListener('peer', async () => {
			try {
				const again = fresh ? await w.computer.message1({ command: CMD.MAKE_CREDENTIAL,
				    raw: req.raw, params: req.params, timeMs: Date.now() }) : req;
				ch.send(again.m1);
				resolve(decodeResponse(await again.hs.readMessage(await ch.recv(15000))));
			} catch (e) {
				reject(e);
			}
		}, { once: true });
	}).finally(() => conn.close());
	return { ch, answer };
}

test('Allow answers the request shown, through the relay, and the log says so', async () => {
	const w = await phone();
	const req = await enroll(w, 'carol');
	const n = await notificationFor(req.text, { kv: w.kv });
	const c = await computerCalls(w, req);
	const r = await answerFromNotification({ kv: w.kv, data: n.options.data, action: 'allow',
	    WebSocket });
	assert.deepEqual([r.answered, r.status, r.text], [true, STATUS.OK, 'allowed']);
	const resp = await c.answer;
	assert.equal(resp.status, STATUS.OK);
	const st = await PhoneState.open(w.kv);
	const last = (await st.auditLog()).at(-1);
	assert.match(last.text, / op=enroll subject="carol" .* decision=allow-once \(from the notification\)$/);
	assert.equal((await st.credentials()).length, 1);
});

test('past its time a notification connects to nothing; a request that never comes is given up', async () => {
	const w = await phone();
	const req = await enroll(w);
	const n = await notificationFor(req.text, { kv: w.kv });
	let made = 0;
	class Counting extends WebSocket {
		constructor(...a) {
			super(...a);
			made++;
		}
	}
	let r = await answerFromNotification({ kv: w.kv, data: { ...n.options.data,
	    until: Date.now() - 1 }, action: 'allow', WebSocket: Counting });
	assert.equal(r.answered, false);
	assert.match(r.text, /^the request is over/);
	assert.equal(made, 0);
	// allow on one that needs the page: refused here too
	r = await answerFromNotification({ kv: w.kv, data: { ...n.options.data,
	    answerable: false }, action: 'allow', WebSocket: Counting });
	assert.deepEqual([r.answered, made], [false, 0]);
	r = await answerFromNotification({ kv: w.kv, data: n.options.data, action: 'allow',
	    WebSocket: Counting, timeoutMs: 1500 });
	assert.equal(r.answered, false);
	assert.match(r.text, /^the request did not come in 2 s/);
	assert.equal(made, 1);
	assert.deepEqual((await w.state.auditLog()).map((e) => e.event), ['paired']);
});

test('the page coming back takes the mailbox (4007): the notification gives up at once', async () => {
	const w = await phone();
	const req = await enroll(w);
	const n = await notificationFor(req.text, { kv: w.kv });
	const answering = answerFromNotification({ kv: w.kv, data: n.options.data, action: 'allow',
	    WebSocket, timeoutMs: 20000 });
	// the worker listens; then the page does
	await new Promise((r) => setTimeout(r, 500));
	const id = await w.state.identity();
	const { RelayListener } = await import('../src/app/relay.js');
	const page = new RelayListener({ url: K.url, mailbox: id.mailbox, mailboxId: id.mailboxId,
	    WebSocket });
	page.start();
	try {
		const t0 = Date.now();
		const r = await answering;
		assert.equal(r.answered, false);
		assert.match(r.text, /^the open page took the request/);
		assert.ok(Date.now() - t0 < 15000, 'ended by the takeover, not the timeout');
		await until('the page listening', () => page.status === 'online');
	} finally {
		page.stop();
	}
});
