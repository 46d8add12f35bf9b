// Issue 13 on the web phone (docs/api13 A-C, PROTOCOL.md §4.2, §4.3, §4.5,
// §4.7, §4.10, §8.11): ed25519-sk credentials made with WebCrypto's
// Ed25519 (node 20 has it, as Chromium 156 does), getInfo's algorithms,
// the first supported algorithm of makeCredential, the EdDSA COSE key and
// 64-byte signatures checked by node:crypto (an implementation of its
// own, not the page's WebCrypto calls), the ed25519-sk userauth key blob,
// 0x26 with its reason when the browser has no Ed25519; the phone's time
// with a stale refusal (response key 6); a login through ssh-agent
// (context key 6).
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { concat, toHex, utf8 } from '../src/proto/bytes.js';
import * as cbor from '../src/proto/cbor.js';
import { randomBytes, setEd25519ForTest, sha256 } from '../src/proto/crypto.js';
import { CMD, STATUS } from '../src/proto/ctap.js';
import { FRESH_MS, REASONS } from '../src/phone/engine.js';
import { credentialBlob, gaParams, hostKey, hostLogin, loginData, mcParams, sshString,
    sshsigData, T0, world } from './phonekit.js';

afterEach(() => setEd25519ForTest(null));

// Ed25519 verification by node:crypto, from the raw 32-byte key.
function edVerify(pub, msg, sig) {
	const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519',
	    x: Buffer.from(pub).toString('base64url') }, format: 'jwk' });
	return nodeVerify(null, msg, key, sig);
}

// ssh-keygen -t ed25519-sk: makeCredential with [-8] (or algs), the
// attestation checked here: authData 55 + 16 + 42 bytes, the COSE key
// exactly as api13 A lays it out (its 10 bytes of heads and the 32-byte x
// are 42 bytes, not the 44 api13 says), "packed" alg -8, the signature over
// authData || cdh.
async function enroll(c, { algs = [-8], userName = 'openssh', answer, rk } = {}) {
	const raw = randomBytes(32);
	const cdh = await sha256(raw);
	const r = await c.send({ command: CMD.MAKE_CREDENTIAL, raw, answer,
	    params: mcParams({ cdh, userName, algs, rk }) });
	if (r.status !== 0)
		return r;
	const ad = r.ctap.get(2), att = r.ctap.get(3);
	assert.equal(r.ctap.get(1), 'packed');
	const L = (ad[53] << 8) | ad[54];
	const cose = ad.subarray(55 + L);
	let pub;
	if (att.get('alg') === -8) {
		assert.equal(ad.length, 55 + L + 42);
		assert.equal(toHex(cose.subarray(0, 10)), 'a4010103272006215820');
		pub = cose.slice(10);
		assert.equal(att.get('sig').length, 64);
		assert.ok(edVerify(pub, concat(ad, cdh), att.get('sig')), 'the attestation verifies');
	} else {
		assert.equal(att.get('alg'), -7);
		const k = cbor.decode(cose);
		pub = concat([4], k.get(-2), k.get(-3));
	}
	assert.deepEqual(ad.subarray(0, 32), await sha256(utf8('ssh:')));
	assert.equal(ad[32], 0x41);	// UP, AT
	return { ...r, alg: att.get('alg'), publicKey: pub, credId: ad.slice(55, 55 + L),
	    rp: 'ssh:' };
}

// A signature (getAssertion), checked here for an Ed25519 key.
async function sign(c, k, raw, over = {}) {
	const cdh = await sha256(raw);
	const r = await c.send({ command: CMD.GET_ASSERTION, raw, ...over,
	    params: gaParams({ cdh, ids: [k.credId] }) });
	if (r.status !== 0)
		return r;
	const ad = r.ctap.get(2), sig = r.ctap.get(3);
	assert.equal(ad.length, 37);
	if (k.alg === -8) {
		assert.equal(sig.length, 64);
		assert.ok(edVerify(k.publicKey, concat(ad, cdh), sig), 'the assertion verifies');
	}
	return { ...r, counter: new DataView(ad.buffer, ad.byteOffset).getUint32(33) };
}

test('getInfo key 10: ES256 then EdDSA when the browser has Ed25519, ES256 alone when not', async () => {
	const w = await world();
	let r = await w.computer.send({ command: CMD.GET_INFO });
	assert.equal(r.status, 0);
	assert.deepEqual(r.ctap.get(10).map((m) => [...m]), [[['alg', -7], ['type', 'public-key']],
	    [['alg', -8], ['type', 'public-key']]]);
	setEd25519ForTest(false);
	r = await w.computer.send({ command: CMD.GET_INFO });
	assert.deepEqual(r.ctap.get(10).map((m) => m.get('alg')), [-7]);
});

test('an ed25519-sk key: enrolled, named on the Keys list and in the question, signs SSHSIG and a login, survives a restart', async () => {
	const w = await world();
	const k = await enroll(w.computer, { userName: 'alice' });
	assert.equal(k.status, 0);
	assert.equal(k.alg, -8);
	const q = k.questions[0];
	assert.equal(q.title, 'enroll a new ed25519-sk key');
	assert.equal(q.keyType, 'ed25519-sk');
	assert.ok(q.lines.includes('  operation:   enroll a new ed25519-sk key'));
	const [c] = await w.state.credentials();
	assert.equal(c.alg, -8);
	assert.equal(c.type, 'ed25519-sk');
	assert.deepEqual(c.publicKey, k.publicKey);
	// the audit log's key: the ed25519-sk blob's fingerprint (ssh-keygen -l's)
	const blob = concat(sshString('sk-ssh-ed25519@openssh.com'), sshString(k.publicKey),
	    sshString('ssh:'));
	const fp = 'SHA256:' + Buffer.from(await sha256(blob)).toString('base64').replace(/=+$/, '');
	assert.equal(c.fingerprint, fp);
	assert.equal((await w.state.auditLog()).at(-1).key, fp);
	const rec = await w.state.findCredential(k.credId);
	assert.equal(rec.privateKey.algorithm.name, 'Ed25519');
	assert.equal(rec.privateKey.extractable, false);
	const s1 = await sign(w.computer, k, sshsigData('file'));
	assert.equal(s1.status, 0);
	assert.equal(s1.counter, 1);
	assert.equal(s1.questions[0].keyFp, fp);
	// a login naming this key's ed25519-sk blob
	const login = loginData({ keyBlob: blob, algorithm: 'sk-ssh-ed25519@openssh.com' });
	const s2 = await sign(w.computer, k, login);
	assert.equal(s2.status, 0);
	assert.equal(s2.counter, 2);
	// another public key, or the ecdsa layout under the ed25519 name: 0x02
	const other = concat(sshString('sk-ssh-ed25519@openssh.com'), sshString(randomBytes(32)),
	    sshString('ssh:'));
	for (const keyBlob of [other, concat(blob, [0]), credentialBlob(randomBytes(65), 'ssh:')]) {
		const r = await sign(w.computer, k, loginData({ keyBlob,
		    algorithm: 'sk-ssh-ed25519@openssh.com' }));
		assert.equal(r.status, STATUS.INVALID_PARAMETER);
		assert.equal(r.reason, REASONS.OTHER_KEY);
	}
	// the CryptoKeyPair comes back from the store (a structured clone)
	await w.restart();
	const s3 = await sign(w.computer, k, sshsigData('file'));
	assert.equal(s3.status, 0);
	assert.equal(s3.counter, 3);
	// the credential management listing gives the OKP key
	const rk = await enroll(w.computer, { rk: true });
	const list = await w.computer.send({ command: CMD.CRED_MGMT,
	    params: new Map([[1, 4]]) });
	assert.equal(list.status, 0);
	assert.equal(list.ctap.length, 1);
	const ck = list.ctap[0].get(8);
	assert.deepEqual([...ck.keys()], [1, 3, -1, -2]);
	assert.deepEqual(ck.get(-2), rk.publicKey);
});

test('makeCredential takes the first algorithm the phone makes; none: 0x26 with the reason', async () => {
	const w = await world();
	assert.equal((await enroll(w.computer, { algs: [-8, -7] })).alg, -8);
	assert.equal((await enroll(w.computer, { algs: [-7, -8] })).alg, -7);
	assert.equal((await enroll(w.computer, { algs: [-257, -8] })).alg, -8);
	setEd25519ForTest(false);
	const r = await enroll(w.computer, { algs: [-8] });
	assert.equal(r.status, STATUS.UNSUPPORTED_ALGORITHM);
	assert.equal(r.reason, 'this phone cannot make Ed25519 keys (its browser has no Ed25519 ' +
	    'in WebCrypto): use ecdsa-sk');
	assert.equal(r.questions.length, 0);
	assert.equal((await w.state.auditLog()).at(-1).event, 'refused-invalid');
	assert.equal((await enroll(w.computer, { algs: [-8, -7] })).alg, -7);
	assert.equal((await w.state.credentials()).length, 4);
});

test('a stale request: 0xF0 with the phone\'s time (response key 6), any other refusal without', async () => {
	const w = await world();
	for (const off of [FRESH_MS + 1, -(5 * 60000)]) {
		const r = await w.computer.send({ command: CMD.GET_INFO, timeMs: T0 + off });
		assert.equal(r.status, STATUS.STALE);
		assert.equal(r.phoneTime, T0);
	}
	// the phone's clock when it decided, not the request's
	w.clock.now += FRESH_MS + 1234;
	const r = await w.computer.send({ command: CMD.GET_INFO, timeMs: T0 });
	assert.equal(r.status, STATUS.STALE);
	assert.equal(r.phoneTime, T0 + FRESH_MS + 1234);
	w.clock.now = T0;
	const k = await enroll(w.computer, { algs: [-7] });
	const again = await w.computer.send({ command: CMD.GET_ASSERTION, raw: sshsigData('f'),
	    params: gaParams({ cdh: new Uint8Array(32), ids: [k.credId] }) });
	assert.equal(again.status, STATUS.RAW_MISMATCH);
	assert.equal(again.phoneTime, undefined);
});

test('a login through ssh-agent (context origin 1): without host information the question says so; with it, "(through ssh-agent)"', async () => {
	const w = await world();
	const k = await enroll(w.computer);
	const blob = credentialBlob(k.publicKey, 'ssh:');
	const login = () => loginData({ keyBlob: blob, algorithm: 'sk-ssh-ed25519@openssh.com' });
	let r = await sign(w.computer, k, login(), { origin: 1 });
	assert.equal(r.status, 0);
	let q = r.questions[0];
	assert.equal(q.hostLine, 'root @ through ssh-agent, no local record of this login (a ' +
	    'forwarded agent, or ssh without sk-phone proxy): host not verified');
	assert.equal(q.hostState, 'not-verified');
	assert.equal((await w.state.auditLog()).at(-1).verified, 'no');
	// an origin this phone does not know: ignored
	r = await sign(w.computer, k, login(), { origin: 9 });
	assert.equal(r.questions[0].hostLine, 'root @ unknown host (not verified)');
	// with host information: checked as any login, and named
	const hk = hostKey();
	let hl = hostLogin(k, hk);
	r = await sign(w.computer, k, hl.raw, { origin: 1, host: hl.host });
	assert.equal(r.status, 0);
	assert.equal(r.questions[0].hostLine, 'root @ db1 (first use, not yet pinned) (through ssh-agent)');
	hl = hostLogin(k, hk);
	r = await sign(w.computer, k, hl.raw, { origin: 1, host: hl.host });
	assert.equal(r.status, 0);
	q = r.questions[0];
	assert.equal(q.hostLine, 'root @ db1 (verified) (through ssh-agent)');
	assert.equal((await w.state.auditLog()).at(-1).verified, 'yes');
});
