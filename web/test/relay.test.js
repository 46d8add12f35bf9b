// The web phone's relay client (web/src/app/relay.js, PROTOCOL.md §7,
// §8.8) against the real relay (cmd/sk-phone-relay). What each case shows:
//   the frame examples of §7.2 and §7.4's LISTEN and proof vector, read
//     from PROTOCOL.md;
//   the backoff of §8.8: 1 s doubling to 30 s, a wait between half and all;
//   a relay that stops answering (SIGSTOP) is left after two keepalive
//     periods and listened to again when it answers (SIGCONT);
//   a listen whose proof does not verify (4006) stops the listener;
//   a takeover (4007) is warned about on both sides; a call that brings no
//     DATA is hung up after the silent-call time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { backoffStep, encodeFrame, parseFrame, KIND, RelayConnection, RelayListener } from '../src/app/relay.js';
import { fromHex, toHex } from '../src/proto/bytes.js';
import { ecdsaVerify, generateEcdsa, keyPairFromScalarForTest } from '../src/proto/crypto.js';
import { mailboxProofMessage } from '../src/proto/mailbox.js';
import { mailboxId } from '../src/proto/pairuri.js';
import { protocolMd, between } from './vectors.js';
import { Kit, nextEvent, until } from './relaykit.js';

const K = new Kit();

before(() => K.startRelay());
after(() => K.close());

test('the frame examples of §7.2 and the proof of §7.4', async () => {
	const md = protocolMd();
	const hex = (t) => t.replace(/[^0-9a-f]/g, '');
	const sec72 = between(md, '### 7.2 Frame layout', '### 7.3');
	const data = hex(/DATA on channel 7 carrying the three bytes `61 62 63`:\s*`([^`]*)`/.exec(sec72)[1]);
	assert.equal(toHex(encodeFrame(KIND.DATA, 7, fromHex('616263'))), data);
	const meet = /MEET on channel 1 for[^]*?`(07 [^`]*)`/.exec(sec72);
	const m = fromHex(hex(meet[1]));
	assert.equal(m.length, 41);
	assert.equal(toHex(encodeFrame(KIND.MEET, 1, m.subarray(5))), toHex(m));
	const end = fromHex(hex(/END on channel 1 with code 4020:\s*`([^`]*)`/.exec(sec72)[1]));
	const f = parseFrame(end);
	assert.deepEqual([f.kind, f.chan, f.code, f.reason], [KIND.END, 1, 4020, 'timed out']);
	// §7.4: the mailbox id and LISTEN of the vector key; the proof verifies
	const sec74 = between(md, '### 7.4 Listening (phone)', '### 7.5');
	const k = await keyPairFromScalarForTest(fromHex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20'), 'ECDSA');
	const pub = hex(/\nP +([0-9a-f]+)\s+([0-9a-f]+)/.exec(sec74).slice(1).join(''));
	assert.equal(toHex(k.publicKey), pub);
	const id = await mailboxId(k.publicKey);
	assert.equal(toHex(id), /\nid +([0-9a-f]{64})/.exec(sec74)[1]);
	const nonce = fromHex(/\nN +([0-9a-f]{64})/.exec(sec74)[1]);
	const l = new RelayListener({ url: 'ws://127.0.0.1:1', mailbox: k, mailboxId: id });
	const sent = [];
	const conn = { send: (kind, chan, body) => sent.push(encodeFrame(kind, chan, body)), closed: null };
	await l._prove(conn, nonce);
	const prove = parseFrameOut(sent[0]);
	assert.deepEqual([prove.kind, prove.chan, prove.body.length], [KIND.PROVE, 0, 64]);
	assert.ok(await ecdsaVerify(k.publicKey, mailboxProofMessage(nonce, id), prove.body));
	const vecSig = fromHex(hex(/r ‖ s \(RFC 6979[^\n]*\n\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(sec74).slice(1).join('')));
	assert.ok(await ecdsaVerify(k.publicKey, mailboxProofMessage(nonce, id), vecSig));
	assert.equal(toHex(l._listenFrame()), '0100000000' + toHex(id) + pub);
});

function parseFrameOut(f) {
	return { kind: f[0], chan: new DataView(f.buffer).getUint32(1), body: f.subarray(5) };
}

function listener(o) {
	const l = new RelayListener({ url: K.url, WebSocket, backoffFirstMs: 100, backoffMaxMs: 400, ...o });
	return l;
}

test('the backoff: 1 s doubling to 30 s, a wait between half and all', () => {
	const seq = (random) => {
		const out = [];
		let b = 0, w;
		for (let i = 0; i < 8; i++) {
			[b, w] = backoffStep(b, undefined, undefined, random);
			out.push(w);
		}
		return out;
	};
	assert.deepEqual(seq(() => 0.999999).map(Math.round), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
	assert.deepEqual(seq(() => 0), [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
});

test('a relay that stops answering is left, and listened to again', async () => {
	const k = await generateEcdsa();
	const l = listener({ mailbox: k, mailboxId: await mailboxId(k.publicKey), keepaliveMs: 1000 });
	try {
		l.start();
		await until('the listener to listen', () => l.status === 'online');
		// pinged and answered: still on the relay after several periods
		await new Promise((r) => setTimeout(r, 2500));
		assert.equal(l.status, 'online');
		K.relay.kill('SIGSTOP');
		try {
			await until('the listener to leave', () => l.status !== 'online', 6000);
		} finally {
			K.relay.kill('SIGCONT');
		}
		await until('the listener to listen again', () => l.status === 'online');
	} finally {
		l.stop();
	}
});

test('a proof that does not verify (4006) stops the listener', async () => {
	const k = await generateEcdsa();
	const other = await generateEcdsa();
	const l = listener({ mailbox: { privateKey: other.privateKey, publicKey: k.publicKey },
	    mailboxId: await mailboxId(k.publicKey) });
	const err = nextEvent(l, 'error');
	l.start();
	const e = (await err).error;
	assert.equal(e.relayCode, 4006);
	assert.equal(e.code, 'INVALID');
	assert.equal(l.status, 'offline');
	assert.equal(l.running, false);
});

test('a takeover (4007) is warned about; a silent call is hung up', async () => {
	const k = await generateEcdsa();
	const id = await mailboxId(k.publicKey);
	const a = listener({ mailbox: k, mailboxId: id, silentCallMs: 300 });
	const b = listener({ mailbox: k, mailboxId: id, backoffFirstMs: 60000, backoffMaxMs: 60000 });
	try {
		a.start();
		await until('a to listen', () => a.status === 'online');
		const aWarned = nextEvent(a, 'warning');
		const bWarned = nextEvent(b, 'warning');
		b.start();
		// b takes the mailbox; a is told, and takes it back (its backoff
		// is short); b is told, and waits
		for (const w of [await aWarned, await bWarned]) {
			assert.equal(w.code, 4007);
			assert.match(w.text, /live somewhere else/);
		}
		b.stop();
		await until('a to listen again', () => a.status === 'online' && a.conn && a.conn.ws.readyState === 1);
		// a call that brings no DATA: hung up after 300 ms (§8.8)
		const caller = await RelayConnection.open(K.url, { WebSocket });
		const ch = caller.openChannel(KIND.CALL, id, 10000);
		const ended = await ch.recv(5000).then(() => null, (e) => e);
		assert.equal(ended.relayCode, 4025);
		assert.equal(a.silentHung, 1);
		caller.close();
	} finally {
		a.stop();
		b.stop();
	}
});
