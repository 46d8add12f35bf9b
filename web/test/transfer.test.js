// The web phone's side of a transfer (docs/PROTOCOL.md §10, issue 17): the
// vectors of §10.6 through web/src/proto/transfer.js, then the whole flow
// against the real relay (cmd/sk-phone-relay), the old phone played by
// test/oldphone.mjs with the protocol's own pieces (JOIN, the IK responder
// with its transfer key, header, pieces, done):
//   receives_the_whole_state: the state arrives, its keys imported as
//     non-extractable CryptoKeys (P-256 and Ed25519), and the phone then
//     listens on the old phone's mailbox (the relay accepts its proof).
//   declined_by_the_old_phone / altered_key / unknown_code: nothing saved.
//   old_phone_gone_after_received: the state waits as pending, the phone
//     does not serve; finish makes it the phone's; discard forgets it.
// The reference phone's side (sk-phone-authenticator transfer) and an ssh
// login through the web phone after it: test/e2e/e2e_webtransfer.py.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { startPhone } from '../src/app/controller.js';
import { MemKV } from '../src/phone/memkv.js';
import { ascii, b64urlEncode, equal, fromHex, toHex } from '../src/proto/bytes.js';
import * as cbor from '../src/proto/cbor.js';
import { generateEcdh, randomBytes, sha256 } from '../src/proto/crypto.js';
import { confirmCode, mailboxId } from '../src/proto/pairuri.js';
import * as T from '../src/proto/transfer.js';
import { Kit, until } from './relaykit.js';
import { oldPhone as oldPhoneAt, oldState as oldStateAt } from './oldphone.mjs';

const oldState = () => oldStateAt(K.url);
const oldPhone = (payload, o) => oldPhoneAt(K.url, payload, o);

const MD = readFileSync(process.env.SKP_PROTOCOL_MD ||
    new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
const V = MD.slice(MD.indexOf('### 10.6 Test vectors'));

function vec(re) {
	const m = V.match(re);
	assert.ok(m, `no vector ${re}`);
	return m[1];
}

// ---- the vectors (§10.6) ----

test('vectors: URI, derivations, codes', async () => {
	const uri = vec(/(sk-phone:\/\/transfer\?\S+)\n(&\S+)/s) + vec(/sk-phone:\/\/transfer\?\S+\n(&\S+)/);
	const u = T.parseTransferUri(uri);
	const S = fromHex(vec(/^S\s+([0-9a-f]+)/m));
	assert.deepEqual(u.secret, S);
	assert.equal(toHex(u.key), vec(/transfer key\s+scalar of "old transfer key"\s+([0-9a-f]+)/) +
	    vec(/transfer key\s+scalar of "old transfer key"\s+[0-9a-f]+\s+([0-9a-f]+)/));
	assert.equal(u.relay, 'wss://relay.example.com:8443/sk');
	assert.equal(u.created, 1700000000n);
	assert.equal(toHex(await T.transferRendezvousId(S)), vec(/rendezvous id\s+([0-9a-f]+)/));
	assert.equal(toHex(await T.transferPsk(S)), vec(/transfer psk\s+([0-9a-f]+)/));
	for (const m of V.matchAll(/^h\s+([0-9a-f]{64})\nHKDF confirm\s+[0-9a-f]+\s+\(= \d+\)\s+code "(\d{6})"/gm))
		assert.equal((await confirmCode(fromHex(m[1]), T.CONFIRM_INFO)).text, m[2]);
});

function payloadVector() {
	const i = V.indexOf('A payload (434 bytes)');
	const hex = V.slice(i).split('```')[1].replace(/\s+/g, '');
	return fromHex(hex);
}

test('vectors: the payload and the messages', async () => {
	const p = payloadVector();
	assert.equal(p.length, 434);
	const digest = vec(/^digest\s+([0-9a-f]+)/m);
	assert.equal(toHex(await sha256(p)), digest);
	const st = T.decodePayload(p);
	assert.equal(st.identity.name, 'old phone');
	assert.equal(st.identity.relay, 'wss://relay.example.com');
	assert.equal(st.computers.length, 1);
	assert.equal(st.computers[0].name, 'laptop');
	assert.equal(st.credentials.length, 1);
	assert.equal(st.credentials[0].rp, 'ssh:');
	assert.equal(st.credentials[0].alg, -7);
	assert.equal(st.counters.get('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf'), 7);
	assert.equal(st.pinFailures, 0);
	assert.equal(st.sentAt, 1700000100);
	assert.equal(toHex(T.encodeHello()), vec(/^hello\s+([0-9a-f]+)/m));
	assert.equal(T.decodeReply(fromHex(vec(/^reply\s+([0-9a-f]+)/m))), 'old phone');
	assert.equal(toHex(T.encodeReady()), vec(/^ready\s+([0-9a-f]+)/m));
	const hdr = T.decodeHeader(fromHex(vec(/^header\s+([0-9a-f]+)/m)));
	assert.equal(hdr.length, 434);
	assert.equal(toHex(hdr.digest), digest);
	assert.equal(toHex(T.encodeReceived(hdr.digest)), vec(/^received\s+([0-9a-f]+)/m));
	T.decodeDone(fromHex(vec(/^done\s+([0-9a-f]+)/m)));
});

test('refusals: URI and payload', () => {
	const k = b64urlEncode(Uint8Array.of(4, ...new Uint8Array(64)));
	const good = (o = {}) => {
		const p = { v: '1', k: 'BOHu687YhZspOg4dsuGfelkuXjN9YiYxNLTqyK_ON5xUP8fuH4keMvQVXZsI-cmlBCYp-EXdodnc0b7zR-7zlJM',
		    s: 'AAECAwQFBgcICQoLDA0ODw', r: b64urlEncode(ascii('ws://127.0.0.1:1')), t: '1700000000', ...o };
		return 'sk-phone://transfer?' + Object.entries(p).filter(([, v]) => v !== null)
		    .map(([n, v]) => `${n}=${v}`).join('&');
	};
	T.parseTransferUri(good());
	const code = (f) => {
		try {
			f();
		} catch (e) {
			return e.code;
		}
		return 'OK';
	};
	assert.equal(code(() => T.parseTransferUri(good({ v: '2', k: 'x' }))), 'VERSION');
	// However long, as the C parser (test/unit/test_transfer.c).
	for (const v of ['18446744073709551616', '123456789012345678901234567890'])
		assert.equal(code(() => T.parseTransferUri(good({ v, k: 'x' }))), 'VERSION', v);
	assert.equal(code(() => T.parseTransferUri(good({ v: '01' }))), 'FORMAT');
	assert.equal(code(() => T.parseTransferUri(good({ v: '0' }))), 'FORMAT');
	assert.equal(code(() => T.parseTransferUri(good({ t: null }))), 'FORMAT');
	assert.equal(code(() => T.parseTransferUri(good() + '&t=1')), 'FORMAT');
	assert.equal(code(() => T.parseTransferUri(good({ k }))), 'CRYPTO');
	assert.equal(code(() => T.parseTransferUri(good({ r: b64urlEncode(ascii('ftp://x')) }))), 'FORMAT');
	assert.equal(code(() => T.parseTransferUri(good() + 'x'.repeat(1100))), 'TOO_LARGE');
	assert.match(String((() => {
		try {
			T.parseTransferUri('sk-phone://pair?v=2&k=x');
		} catch (e) {
			return e.message;
		}
	})()), /pairing code/);
	const p = payloadVector();
	const m = cbor.decode(p);
	m.set(10, 1);
	assert.equal(code(() => T.decodePayload(cbor.encode(m))), 'FORMAT');
	const w = cbor.decode(p);
	w.get(3).get(1)[0].set(5, 1800000000);
	assert.equal(code(() => T.decodePayload(cbor.encode(w))), 'FORMAT');
	// A relay list (§8.7 identity key 4): kept, the first URL first.
	const rl = cbor.decode(p);
	rl.get(2).set(4, ['wss://a.example.com', 'wss://b.example.com']);
	assert.equal(T.decodePayload(cbor.encode(rl)).identity.relay, 'wss://a.example.com');
	assert.deepEqual(T.decodePayload(cbor.encode(rl)).identity.relays,
	    ['wss://a.example.com', 'wss://b.example.com']);
	rl.get(2).set(4, ['wss://a.example.com', 'wss://a.example.com']);
	assert.equal(code(() => T.decodePayload(cbor.encode(rl))), 'FORMAT');
	rl.get(2).set(4, ['wss://a.example.com']);
	assert.equal(code(() => T.decodePayload(cbor.encode(rl))), 'FORMAT');
	const v2 = cbor.decode(p);
	v2.set(1, 2);
	assert.equal(code(() => T.decodePayload(cbor.encode(v2))), 'VERSION');
});

// ---- the flow against the real relay ----

let K;
before(async () => {
	K = new Kit();
	await K.startRelay();
});
after(() => K.close());

async function newPhone() {
	return startPhone({ kv: new MemKV(), relayUrl: K.url, WebSocket, pairTimeoutMs: 20000 });
}

test('receives_the_whole_state', async () => {
	// A relay list, its second URL refused: the page keeps the list.
	const st = await oldStateAt(K.url, ['ws://127.0.0.1:9']);
	const old = await oldPhone(st.payload);
	const phone = await newPhone();
	try {
		const p = await phone.receive(old.uri);
		assert.equal(p.oldName, 'old phone');
		const r = await p.confirm();
		assert.equal(r.oldName, 'old phone');
		assert.equal((await old.run).code, p.code);
		const id = await phone.state.identity();
		assert.equal(id.name, 'old phone');
		assert.equal(id.relay, K.url);
		assert.deepEqual(id.relays, [K.url, 'ws://127.0.0.1:9']);
		assert.ok(equal(id.identity.publicKey, st.identityPub));
		assert.ok(equal(id.mailbox.publicKey, st.mailboxPub));
		assert.ok(equal(id.mailboxId, await mailboxId(st.mailboxPub)));
		assert.equal(id.identity.privateKey.extractable, false);
		const creds = await phone.state.credentialRecords();
		assert.equal(creds.length, 2);
		assert.ok(equal(creds[0].publicKey, st.credPub));
		assert.equal(creds[0].privateKey.algorithm.name, 'ECDSA');
		assert.equal(creds[1].privateKey.algorithm.name, 'Ed25519');
		for (const c of creds)
			assert.equal(c.privateKey.extractable, false);
		assert.equal((await phone.state.computers())[0].name, 'laptop');
		assert.equal((await phone.state.computers())[0].windowUntil, 0);
		assert.equal(await phone.state.counterNext(new Uint8Array(16).fill(1)), 42);
		assert.equal(await phone.state.transferPending(), null);
		assert.equal((await phone.state.pinRecord())?.failures ?? 2, 2);
		const log = await phone.state.auditLog();
		assert.match(log.at(-1).text, /op=receive subject="old phone" .*decision=received/);
		// The relay took the mailbox proof: the phone is the old one now.
		await until('the phone online', () => phone.status === 'online');
		// Nothing more to receive on a phone that has a state.
		await assert.rejects(phone.receive(old.uri), (e) => e.code === 'EXISTS');
	} finally {
		phone.stop();
	}
});

test('declined_by_the_old_phone_saves_nothing', async () => {
	const st = await oldState();
	const old = await oldPhone(st.payload, { how: 'decline' });
	const phone = await newPhone();
	try {
		const p = await phone.receive(old.uri);
		await old.run;
		await assert.rejects(p.confirm(), (e) => e.code === 'REJECTED' || e.code === 'CLOSED');
		assert.equal(await phone.state.identity(), null);
		assert.equal(await phone.state.transferPending(), null);
	} finally {
		phone.stop();
	}
});

test('altered_key_and_unknown_code_save_nothing', async () => {
	const st = await oldState();
	const other = await generateEcdh();
	const old = await oldPhone(st.payload, { key: other.publicKey });
	const phone = await newPhone();
	try {
		await assert.rejects(phone.receive(old.uri), (e) => e.code === 'DECRYPT' &&
		    /could not read/.test(e.message));
		assert.equal((await old.run).error, 'DECRYPT');
		const stale = old.uri.replace(/s=[^&]+/, 's=' + b64urlEncode(randomBytes(16)));
		await assert.rejects(phone.receive(stale), (e) => e.code === 'NOT_FOUND');
		assert.equal(await phone.state.identity(), null);
		assert.equal(await phone.state.transferPending(), null);
	} finally {
		phone.stop();
	}
});

test('old_phone_gone_after_received: pending, then finish or discard', async () => {
	const st = await oldState();
	for (const end of ['finish', 'discard']) {
		const old = await oldPhone(st.payload, { how: 'no-done' });
		const phone = await newPhone();
		try {
			const p = await phone.receive(old.uri);
			await assert.rejects(p.confirm(), (e) => e.pending === true &&
			    /Look at the old phone/.test(e.message));
			await old.run;
			assert.equal(await phone.state.identity(), null);
			assert.notEqual(await phone.state.transferPending(), null);
			assert.equal(phone.status, 'offline');
			if (end === 'finish') {
				await phone.finishTransfer();
				assert.ok(equal((await phone.state.identity()).identity.publicKey,
				    st.identityPub));
				await until('the phone online', () => phone.status === 'online');
			} else {
				await phone.discardTransfer();
				assert.equal(await phone.state.transferPending(), null);
				assert.equal(await phone.state.identity(), null);
			}
		} finally {
			phone.stop();
		}
	}
});
