// Web Push's frames in the web phone's relay client (web/src/app/relay.js,
// PROTOCOL.md §7.11, /work/notes/push-api.md §1): SUBSCRIBE (0x08) empty
// and with a subscription, UNSUBSCRIBE (0x09), and PUSH (0x89) parsed
// strictly (length 1 with status 2, 66 otherwise, status 0..4; in the
// order of lib/relay_client.c, which differential.test.js compares), byte
// for byte; the listener's pushKey(),
// subscribePush() and unsubscribePush() over a scripted socket: only once
// LISTEN was proved, answers matched in order, a connection that goes
// takes its questions with it, a PUSH nobody asked for closes it (4000),
// and 'listening' fires on every (re)connect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, KIND, parseFrame, PUSH_STATUS, RelayListener, subscribeBody }
    from '../src/app/relay.js';
import { concat, fromHex, toHex, utf8 } from '../src/proto/bytes.js';
import { generateEcdsa } from '../src/proto/crypto.js';
import { SkpError } from '../src/proto/err.js';
import { mailboxId } from '../src/proto/pairuri.js';

const KEY = concat([0x04], Uint8Array.from({ length: 64 }, (_, i) => i + 1));
const AUTH = fromHex('000102030405060708090a0b0c0d0e0f');
const ENDPOINT = 'http://127.0.0.1:9/push/abc';

test('SUBSCRIBE and UNSUBSCRIBE: the bytes', () => {
	assert.equal(toHex(encodeFrame(KIND.SUBSCRIBE, 0, subscribeBody(null))), '0800000000');
	assert.equal(toHex(encodeFrame(KIND.UNSUBSCRIBE, 0)), '0900000000');
	const f = encodeFrame(KIND.SUBSCRIBE, 0, subscribeBody({ endpoint: ENDPOINT,
	    p256dh: KEY, auth: AUTH }));
	assert.equal(toHex(f), '0800000000' + toHex(KEY) + toHex(AUTH) + toHex(utf8(ENDPOINT)));
	assert.equal(f.length, 5 + 65 + 16 + ENDPOINT.length);
});

test('SUBSCRIBE: a subscription outside §7.11 is refused before it is sent', () => {
	const ok = { endpoint: ENDPOINT, p256dh: KEY, auth: AUTH };
	const bad = [
		{ ...ok, p256dh: KEY.subarray(1) },
		{ ...ok, p256dh: concat([0x02], KEY.subarray(1)) },
		{ ...ok, auth: AUTH.subarray(1) },
		{ ...ok, endpoint: 'https://a.b' },			// 11 bytes
		{ ...ok, endpoint: 'https://' + 'a'.repeat(1017) },	// 1025
		{ ...ok, endpoint: 'https://push.example/a b' },
		{ ...ok, endpoint: 'https://push.example/\u00e9' },
	];
	for (const b of bad)
		assert.throws(() => subscribeBody(b), (e) => e instanceof SkpError && e.code === 'INVALID');
	assert.equal(subscribeBody({ ...ok, endpoint: 'https://a.bc' }).length, 65 + 16 + 12);
	assert.equal(subscribeBody({ ...ok, endpoint: 'https://' + 'a'.repeat(1016) }).length,
	    65 + 16 + 1024);
});

test('PUSH: parsed strictly', () => {
	let f = parseFrame(fromHex('8900000000' + '00' + toHex(KEY)));
	assert.deepEqual([f.kind, f.chan, f.status, toHex(f.key)], [KIND.PUSH, 0, 0, toHex(KEY)]);
	f = parseFrame(fromHex('890000000002'));
	assert.deepEqual([f.status, f.key], [PUSH_STATUS.OFF, null]);
	for (const s of [1, 3, 4])
		assert.equal(parseFrame(fromHex('8900000000' + `0${s}` + toHex(KEY))).status, s);
	const refused = {
		'8900000000': 'TRUNCATED',				// no status
		'890000000000': 'TRUNCATED',				// OK without the key
		'890000000001': 'TRUNCATED',
		'890000000003': 'TRUNCATED',
		['890000000002' + toHex(KEY)]: 'TRAILING',		// OFF with a key
		['890000000000' + toHex(KEY) + '00']: 'TRAILING',
		['890000000000' + toHex(KEY).slice(0, -2)]: 'TRUNCATED',
		['890000000005' + toHex(KEY)]: 'FORMAT',		// status 5
		'890000000005': 'FORMAT',
		['8900000000ff' + toHex(KEY)]: 'FORMAT',
		['8900000001' + '00' + toHex(KEY)]: 'FORMAT',		// channel 1
		'890000002a02': 'FORMAT',
	};
	for (const [hex, code] of Object.entries(refused))
		assert.throws(() => parseFrame(fromHex(hex)), (e) => e instanceof SkpError &&
		    e.code === code, `${hex} should be ${code}`);
	// client kinds never come from the relay
	for (const k of ['08', '09'])
		assert.throws(() => parseFrame(fromHex(k + '00000000')), { code: 'FORMAT' });
});

// ---- the listener over a scripted socket ----

class FakeWS {
	static all = [];
	constructor(url, protocols) {
		this.url = url;
		this.protocol = protocols[0];
		this.sent = [];
		this.closedWith = null;
		FakeWS.all.push(this);
		setTimeout(() => this.onopen && this.onopen(), 0);
	}
	send(f) { this.sent.push(Uint8Array.from(f)); }
	close(code = 1000) {
		if (this.closedWith !== null)
			return;
		this.closedWith = code;
		setTimeout(() => this.onclose && this.onclose({ code, reason: '' }), 0);
	}
	// the relay sends a frame
	deliver(hex) {
		const b = fromHex(hex);
		this.onmessage({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) });
	}
	kinds() { return this.sent.map((f) => f[0]); }
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

async function until(f, what) {
	for (let i = 0; i < 400; i++) {
		if (f())
			return;
		await tick();
	}
	throw new Error(`timed out waiting for ${what}`);
}

async function listening() {
	FakeWS.all = [];
	const mailbox = await generateEcdsa();
	const l = new RelayListener({ url: 'ws://127.0.0.1:1', mailbox,
	    mailboxId: await mailboxId(mailbox.publicKey), WebSocket: FakeWS,
	    backoffFirstMs: 10, backoffMaxMs: 20 });
	let events = 0;
	l.addEventListener('listening', () => events++);
	l.start();
	await until(() => FakeWS.all[0]?.sent.length === 1, 'LISTEN');
	const ws = FakeWS.all[0];
	// asked before the listen is proved: refused at once, nothing sent
	await assert.rejects(l.pushKey(), { code: 'OFFLINE' });
	ws.deliver('8800000000' + '11'.repeat(32));
	await until(() => ws.sent.length === 2, 'PROVE');
	assert.equal(ws.sent[1][0], KIND.PROVE);
	ws.deliver('8100000000');
	await until(() => events === 1, "'listening'");
	return { l, ws, get events() { return events; } };
}

test('pushKey, subscribePush, unsubscribePush: the frames sent, answers in order', async () => {
	const { l, ws } = await listening();
	const a = l.pushKey();
	const b = l.subscribePush({ endpoint: ENDPOINT, p256dh: KEY, auth: AUTH });
	const c = l.unsubscribePush();
	await tick();
	assert.deepEqual(ws.sent.slice(2).map(toHex), ['0800000000',
	    '0800000000' + toHex(KEY) + toHex(AUTH) + toHex(utf8(ENDPOINT)), '0900000000']);
	ws.deliver('890000000000' + toHex(KEY));
	ws.deliver('890000000003' + toHex(KEY));
	ws.deliver('890000000001' + toHex(KEY));
	assert.deepEqual(await a, { status: 0, key: KEY });
	assert.equal(await b, PUSH_STATUS.REFUSED);
	assert.equal(await c, PUSH_STATUS.REMOVED);
	// a relay without push
	const d = l.pushKey();
	ws.deliver('890000000002');
	assert.deepEqual(await d, { status: 2, key: null });
	assert.equal(ws.closedWith, null);
	l.stop();
});

test('a PUSH nobody asked for closes the connection (4000); a closed one takes its questions', async () => {
	const { l, ws } = await listening();
	ws.deliver('890000000000' + toHex(KEY));
	assert.equal(ws.closedWith, 4000);
	await until(() => FakeWS.all.length === 2, 'the reconnect');
	const ws2 = FakeWS.all[1];
	await until(() => ws2.sent.length === 1, 'LISTEN again');
	ws2.deliver('8800000000' + '22'.repeat(32));
	await until(() => ws2.sent.length === 2, 'PROVE again');
	ws2.deliver('8100000000');
	await until(() => l.status === 'online', 'online again');
	const p = l.subscribePush({ endpoint: ENDPOINT, p256dh: KEY, auth: AUTH });
	await tick();
	ws2.close(1006);
	await assert.rejects(p, (e) => e instanceof SkpError);
	// gone with it: nothing left waiting
	assert.equal(l.pushWaiters.length, 0);
	l.stop();
});

test("'listening' on every (re)connect; a PUSH before LISTENING is out of place", async () => {
	const t = await listening();
	assert.equal(t.events, 1);
	t.ws.close(1006);
	await until(() => FakeWS.all.length === 2, 'the reconnect');
	const ws2 = FakeWS.all[1];
	await until(() => ws2.sent.length === 1, 'LISTEN again');
	ws2.deliver('890000000002');	// before CHALLENGE: out of place
	assert.equal(ws2.closedWith, 4000);
	await until(() => FakeWS.all.length === 3, 'another reconnect');
	const ws3 = FakeWS.all[2];
	await until(() => ws3.sent.length === 1, 'LISTEN a third time');
	ws3.deliver('8800000000' + '33'.repeat(32));
	await until(() => ws3.sent.length === 2, 'PROVE');
	ws3.deliver('8100000000');
	await until(() => t.events === 2, "the second 'listening'");
	t.l.stop();
});
