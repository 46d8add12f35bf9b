// Noise IKpsk0 / KKpsk0 over P-256 (docs/PROTOCOL.md §3): the test vector of
// §3.10 and the PIN vector of §3.10.1, read from PROTOCOL.md, in both roles
// of both patterns, step by step; then the refusals of §3.8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Handshake, Transport, MAX_MSG } from '../src/proto/noise.js';
import { keyPairFromScalarForTest, generateEcdh } from '../src/proto/crypto.js';
import { ascii, fromHex, toHex, concat } from '../src/proto/bytes.js';
import { protocolMd, between, namedHex } from './vectors.js';

const md = protocolMd();
const V = namedHex(between(md, '<!-- vector begin -->', '<!-- vector end -->'));
const PIN = namedHex(between(md, '<!-- pin vector begin -->', '<!-- pin vector end -->'));
const hex = (k) => {
	if (!V.has(k))
		throw new Error(`vector ${k} missing from PROTOCOL.md`);
	return fromHex(V.get(k));
};

async function keys() {
	const k = {};
	for (const n of ['phone_static', 'computer_static', 'phone_ephemeral',
	    'computer_ephemeral'])
		k[n] = await keyPairFromScalarForTest(hex(`${n}_priv`));
	return k;
}

// Runs one pattern with both sides from the vector and checks everything
// the vector gives: public keys, h and ck after each step (both sides),
// messages, payloads, handshake hash, split keys, transport messages.
async function runVector(pattern, { prepare = false } = {}) {
	const k = await keys();
	const ik = pattern === 'IKpsk0';
	const [ini, res] = ik ? ['phone', 'computer'] : ['computer', 'phone'];
	const P = ik ? 'IK' : 'KK';
	const psk = hex(ik ? 'pair_psk' : 'request_psk');
	assert.equal(toHex(k[`${ini}_static`].publicKey), V.get(`${pattern}.initiator_static_pub`));
	assert.equal(toHex(k[`${res}_static`].publicKey), V.get(`${pattern}.responder_static_pub`));
	assert.equal(toHex(k[`${ini}_ephemeral`].publicKey), V.get(`${pattern}.initiator_ephemeral_pub`));
	assert.equal(toHex(k[`${res}_ephemeral`].publicKey), V.get(`${pattern}.responder_ephemeral_pub`));
	const steps = { i: [], r: [] };
	const tr = (who) => (m, step, h, ck) => steps[who].push([`${m}.${step}`, toHex(h), toHex(ck)]);
	const I = new Handshake({ pattern: P, initiator: true, s: k[`${ini}_static`],
	    rs: k[`${res}_static`].publicKey, psk, e: k[`${ini}_ephemeral`], trace: tr('i') });
	const R = new Handshake({ pattern: P, initiator: false, s: k[`${res}_static`],
	    rs: ik ? null : k[`${ini}_static`].publicKey, psk, e: k[`${res}_ephemeral`],
	    trace: tr('r') });
	const p1 = hex(ik ? 'ik_payload1' : 'kk_payload1');
	const p2 = hex(ik ? 'ik_payload2' : 'kk_payload2');
	const m1 = await I.writeMessage(p1);
	assert.equal(toHex(m1), V.get(`${pattern}.msg1`));
	assert.deepEqual(await R.readMessage(m1), p1);
	if (ik)
		assert.equal(toHex(R.remoteStatic()), V.get(`${pattern}.initiator_static_pub`));
	if (prepare) {
		// Message 2's tokens worked out ahead, then the payload.
		const early = R.prepareWrite();
		assert.equal(R.prepareWrite(), early, 'prepared once');
		await early;
		assert.equal(steps.r.at(-1)[0], '2.se');
	}
	const m2 = await R.writeMessage(p2);
	assert.equal(toHex(m2), V.get(`${pattern}.msg2`));
	assert.deepEqual(await I.readMessage(m2), p2);
	for (const who of ['i', 'r']) {
		const got = steps[who];
		const names = [...V.keys()].filter((n) => n.startsWith(`${pattern}.initiator.`) &&
		    n.endsWith('.h'));
		assert.equal(got.length, names.length, `${who}: number of steps`);
		for (const [step, h, ck] of got) {
			const pre = step.startsWith('0.') ? step : step;
			assert.equal(h, V.get(`${pattern}.initiator.${pre}.h`), `${who} ${step} h`);
			assert.equal(ck, V.get(`${pattern}.initiator.${pre}.ck`), `${who} ${step} ck`);
		}
	}
	assert.equal(toHex(I.handshakeHash()), V.get(`${pattern}.handshake_hash`));
	assert.equal(toHex(R.handshakeHash()), V.get(`${pattern}.handshake_hash`));
	const ti = await I.split(), tr2 = await R.split();
	assert.equal(toHex(ti.keysForTest().send), V.get(`${pattern}.c1`));
	assert.equal(toHex(ti.keysForTest().recv), V.get(`${pattern}.c2`));
	assert.equal(toHex(tr2.keysForTest().send), V.get(`${pattern}.c2`));
	for (const i of [0, 1]) {
		const c = await ti.encrypt(hex(`i2r[${i}]`));
		assert.equal(toHex(c), V.get(`${pattern}.i2r[${i}]`));
		assert.deepEqual(await tr2.decrypt(c), hex(`i2r[${i}]`));
	}
	for (const i of [0, 1]) {
		const c = await tr2.encrypt(hex(`r2i[${i}]`));
		assert.equal(toHex(c), V.get(`${pattern}.r2i[${i}]`));
		assert.deepEqual(await ti.decrypt(c), hex(`r2i[${i}]`));
	}
	return { I, R, k };
}

test('§3.3 InitializeSymmetric: h = ck = the name and a zero byte', () => {
	assert.equal(V.get('IKpsk0.initiator.0.name.h'), toHex(concat(ascii('Noise_IKpsk0_P256_AESGCM_SHA256'), [0])));
	assert.equal(V.get('KKpsk0.initiator.0.name.h'), toHex(concat(ascii('Noise_KKpsk0_P256_AESGCM_SHA256'), [0])));
});

test('§3.10 vector: IKpsk0 (pairing; the phone initiates), both roles', async () => {
	await runVector('IKpsk0');
});

test('§3.10 vector: KKpsk0 (requests; the phone responds), both roles', async () => {
	await runVector('KKpsk0');
});

test('§3.10 vector: KKpsk0 with message 2\'s tokens prepared ahead (prepareWrite): the same steps and bytes', async () => {
	await runVector('KKpsk0', { prepare: true });
	const k = await keys();
	const R = new Handshake({ pattern: 'KK', initiator: false, s: k.phone_static,
	    rs: k.computer_static.publicKey, psk: hex('request_psk') });
	assert.throws(() => R.prepareWrite(), { code: 'STATE' });
});

test('§3.10.1 PIN vector: transport messages 3 and 4 under c1 and c2', async () => {
	const c1 = hex('KKpsk0.c1'), c2 = hex('KKpsk0.c2');
	const computer = new Transport(c1.slice(), c2.slice());
	const phone = new Transport(c2.slice(), c1.slice());
	const p3 = fromHex(PIN.get('KKpsk0.pin.msg3_payload'));
	assert.equal(p3.length, 128);
	const m3 = await computer.encrypt(p3);
	assert.equal(toHex(m3), PIN.get('KKpsk0.pin.msg3'));
	assert.deepEqual(await phone.decrypt(m3), p3);
	const m4 = fromHex(PIN.get('KKpsk0.pin.msg4'));
	const p4 = await computer.decrypt(m4);
	assert.equal(p4.length, 1024);
	assert.equal(toHex(p4.subarray(0, 19)), 'a301183103697772' + '6f6e672050494e0f5903ed');
	assert.equal(toHex(await phone.encrypt(p4)), PIN.get('KKpsk0.pin.msg4'));
});

// A fresh KK pair of sides with random keys.
async function kkPair(opts = {}) {
	const cs = await generateEcdh(), ps = await generateEcdh();
	const psk = new Uint8Array(32).fill(7);
	const C = new Handshake({ pattern: 'KK', initiator: true, s: cs, rs: ps.publicKey, psk });
	const Ph = new Handshake({ pattern: 'KK', initiator: false, s: ps, rs: cs.publicKey,
	    psk: opts.psk || psk });
	return { C, Ph, cs, ps, psk };
}

test('private keys are not extractable', async () => {
	const kp = await generateEcdh();
	assert.equal(kp.privateKey.extractable, false);
	await assert.rejects(globalThis.crypto.subtle.exportKey('pkcs8', kp.privateKey));
	await assert.rejects(globalThis.crypto.subtle.exportKey('jwk', kp.privateKey));
});

test('§3.8 refusals: turn, keys missing, size, truncation', async () => {
	let { C, Ph } = await kkPair();
	await assert.rejects(C.readMessage(new Uint8Array(81)), { code: 'STATE' });
	await assert.rejects(Ph.writeMessage(), { code: 'STATE' });
	await assert.rejects(Ph.readMessage(new Uint8Array(MAX_MSG + 1)), { code: 'TOO_LARGE' });
	// dead after a failure: every later call is STATE
	await assert.rejects(Ph.readMessage(new Uint8Array(100)), { code: 'STATE' });
	({ C, Ph } = await kkPair());
	const m1 = await C.writeMessage(new Uint8Array(3));
	await assert.rejects(Ph.readMessage(m1.subarray(0, 80)), { code: 'TRUNCATED' });
	({ C, Ph } = await kkPair());
	await assert.rejects(C.writeMessage(new Uint8Array(MAX_MSG - 80)), { code: 'TOO_LARGE' });
	// keys missing
	const s = await generateEcdh();
	const noPsk = new Handshake({ pattern: 'KK', initiator: true, s, rs: s.publicKey });
	await assert.rejects(noPsk.writeMessage(), { code: 'STATE' });
	const noRs = new Handshake({ pattern: 'KK', initiator: false, s, psk: new Uint8Array(32) });
	await assert.rejects(noRs.readMessage(new Uint8Array(81)), { code: 'STATE' });
	const ikRespWithRs = new Handshake({ pattern: 'IK', initiator: false, s, rs: s.publicKey,
	    psk: new Uint8Array(32) });
	await assert.rejects(ikRespWithRs.readMessage(new Uint8Array(162)), { code: 'STATE' });
	const ikShort = new Handshake({ pattern: 'IK', initiator: false, s, psk: new Uint8Array(32) });
	await assert.rejects(ikShort.readMessage(new Uint8Array(161)), { code: 'TRUNCATED' });
});

test('§3.8 refusals: invalid points, wrong psk, tampering, trailing bytes', async () => {
	let { C, Ph } = await kkPair();
	let m1 = await C.writeMessage(new Uint8Array(5));
	const bad = m1.slice();
	bad[64] ^= 1;	// e no longer on the curve
	await assert.rejects(Ph.readMessage(bad), { code: 'CRYPTO' });
	({ C, Ph } = await kkPair());
	m1 = await C.writeMessage(new Uint8Array(5));
	const comp = concat([2], m1.subarray(1, 33), new Uint8Array(32), m1.subarray(65));
	await assert.rejects(Ph.readMessage(comp), { code: 'CRYPTO' });	// 0x02 prefix
	({ C, Ph } = await kkPair({ psk: new Uint8Array(32).fill(8) }));
	await assert.rejects(Ph.readMessage(await C.writeMessage()), { code: 'DECRYPT' });
	({ C, Ph } = await kkPair());
	m1 = await C.writeMessage(new Uint8Array(5));
	const t = m1.slice();
	t[70] ^= 0x80;
	await assert.rejects(Ph.readMessage(t), { code: 'DECRYPT' });
	({ C, Ph } = await kkPair());
	m1 = await C.writeMessage(new Uint8Array(5));
	await assert.rejects(Ph.readMessage(concat(m1, [0])), { code: 'DECRYPT' });
	// a wrong static key
	({ C } = await kkPair());
	const other = await kkPair();
	await assert.rejects(other.Ph.readMessage(await C.writeMessage()), { code: 'DECRYPT' });
});

test('§3.7 transport: replayed, reordered, reflected messages fail; then dead', async () => {
	const { C, Ph } = await kkPair();
	await Ph.readMessage(await C.writeMessage());
	await C.readMessage(await Ph.writeMessage());
	const tc = await C.split(), tp = await Ph.split();
	const a = await tc.encrypt(ascii('a')), b = await tc.encrypt(ascii('b'));
	assert.deepEqual(await tp.decrypt(a), ascii('a'));
	await assert.rejects(tp.decrypt(a), { code: 'DECRYPT' });	// replay
	await assert.rejects(tp.decrypt(b), { code: 'STATE' });		// dead
	const tc2 = new Transport(new Uint8Array(32), new Uint8Array(32).fill(1));
	const x = await tc2.encrypt(ascii('x'));
	await assert.rejects(tc2.decrypt(x), { code: 'DECRYPT' });	// reflected
	const t3 = new Transport(new Uint8Array(32), new Uint8Array(32));
	t3.setNoncesForTest(0xffffffffffffffffn, 0);
	await assert.rejects(t3.encrypt(), { code: 'LIMIT' });
	const t4 = new Transport(new Uint8Array(32), new Uint8Array(32));
	await assert.rejects(t4.decrypt(new Uint8Array(15)), { code: 'TRUNCATED' });
	const t5 = new Transport(new Uint8Array(32), new Uint8Array(32));
	assert.equal((await t5.encrypt()).length, 16);
	await assert.rejects(t5.encrypt(new Uint8Array(MAX_MSG - 15)), { code: 'TOO_LARGE' });
});

test('ecdh with remember: a peer key imported once (the computer\'s static key at every request), the same secret; bad points still refused', async () => {
	const { ecdh } = await import('../src/proto/crypto.js');
	const a = await generateEcdh(), b = await generateEcdh();
	const subtle = globalThis.crypto.subtle;
	const imports = [];
	const orig = subtle.importKey;
	subtle.importKey = function (...args) {
		imports.push(args[2]?.name ?? args[2]);
		return orig.apply(this, args);
	};
	try {
		const plain = await ecdh(a.privateKey, b.publicKey);
		const n = imports.length;
		const first = await ecdh(a.privateKey, b.publicKey, { remember: true });
		const again = await ecdh(a.privateKey, b.publicKey, { remember: true });
		assert.deepEqual(first, plain);
		assert.deepEqual(again, plain);
		assert.equal(imports.length - n, 1, 'one import for two uses');
		const bad = b.publicKey.slice();
		bad[64] ^= 1;
		await assert.rejects(ecdh(a.privateKey, bad, { remember: true }), { code: 'CRYPTO' });
	} finally {
		subtle.importKey = orig;
	}
});
