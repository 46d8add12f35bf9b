// A computer for the web phone's state and engine tests (state.test.js,
// engine.test.js): it pairs with a PhoneState on a MemKV, builds requests
// with proto/ctap.js encodeRequest as lib/ctap.c's encoders lay them out
// (PROTOCOL.md §4.5-§4.8: keys 1-4 always, 6 only for credProtect, 7 only
// with an option), sends them through real KKpsk0 (proto/noise.js as the
// computer, proto/call.js as the phone), answers the PIN in transport
// message 3, and reads the answer back off the wire. The computer's checks
// of an answer are lib/verify.c's, with libfido2 (test/web/verify_peer).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openCall } from '../src/proto/call.js';
import { concat, toHex, utf8 } from '../src/proto/bytes.js';
import { generateEcdh, randomBytes, sha256 } from '../src/proto/crypto.js';
import { CMD, decodeResponse, encodePin, encodeRequest, encodeResponse, STATUS }
    from '../src/proto/ctap.js';
import { Handshake } from '../src/proto/noise.js';
import { Engine } from '../src/phone/engine.js';
import { MemKV } from '../src/phone/memkv.js';
import { credentialBlob, PhoneState } from '../src/phone/state.js';

const PEER = process.env.SKP_VERIFY_PEER ||
    fileURLToPath(new URL('../../build/test/web/verify_peer', import.meta.url));

export const T0 = 1767000000000;	// the tests' clock, ms

export function sshString(b) {
	const v = typeof b === 'string' ? utf8(b) : b;
	const n = v.length;
	return concat([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255], v);
}

// PROTOCOL.sshsig's signed data.
export function sshsigData(ns, hashAlg = 'sha512') {
	return concat(utf8('SSHSIG'), sshString(ns), sshString(''), sshString(hashAlg),
	    sshString(randomBytes(hashAlg === 'sha512' ? 64 : 32)));
}

// RFC 4252 §7 publickey userauth data for a credential (its key blob).
export function loginData({ user = 'root', keyBlob, sessionId = randomBytes(32),
    algorithm = 'sk-ecdsa-sha2-nistp256@openssh.com', hostKey = null }) {
	return concat(sshString(sessionId), [50], sshString(user), sshString('ssh-connection'),
	    sshString(hostKey ? 'publickey-hostbound-v00@openssh.com' : 'publickey'), [1],
	    sshString(algorithm), sshString(keyBlob), hostKey ? sshString(hostKey) : []);
}

export { credentialBlob };

// An Ed25519 host key (node:crypto) and its signature over a session id,
// in SSH wire format (§9.5).
export function hostKey() {
	const { publicKey, privateKey } = generateKeyPairSync('ed25519');
	const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
	const blob = concat(sshString('ssh-ed25519'), sshString(new Uint8Array(raw)));
	return { blob, sign: (sid) => concat(sshString('ssh-ed25519'),
	    sshString(new Uint8Array(nodeSign(null, sid, privateKey)))) };
}

// A login to name:port with host key hk, as sk-phone proxy records it.
export function hostLogin(k, hk, { name = 'db1', port = 22, user = 'root', bound = true, signWith,
    boundKey } = {}) {
	const sessionId = randomBytes(32);
	const raw = loginData({ user, sessionId, keyBlob: credentialBlob(k.publicKey, 'ssh:'),
	    hostKey: bound ? (boundKey ?? hk.blob) : null, algorithm: k.publicKey.length === 32 ?
	    'sk-ssh-ed25519@openssh.com' : undefined });
	const host = { name, port, hostKey: hk.blob, signature: (signWith ?? hk).sign(sessionId),
	    kex: 'curve25519-sha256' };
	return { raw, host };
}

// makeCredential parameters as lib/ctap.c writes them.
export function mcParams({ cdh, rp = 'ssh:', userId = new Uint8Array(32), userName = 'openssh',
    credProtect = 0, rk, uv, up, algs = [-7] }) {
	const m = new Map([[1, cdh], [2, new Map([['id', rp], ['name', rp]])]]);
	const user = new Map([['id', userId]]);
	if (userName) {
		user.set('name', userName);
		user.set('displayName', userName);
	}
	m.set(3, user);
	m.set(4, algs.map((a) => new Map([['alg', a], ['type', 'public-key']])));
	if (credProtect)
		m.set(6, new Map([['credProtect', credProtect]]));
	const o = new Map();
	if (rk !== undefined)
		o.set('rk', rk);
	if (up !== undefined)
		o.set('up', up);
	if (uv !== undefined)
		o.set('uv', uv);
	if (o.size)
		m.set(7, o);
	return m;
}

export function gaParams({ rp = 'ssh:', cdh, ids = [], up = true, uv }) {
	const m = new Map([[1, rp], [2, cdh]]);
	if (ids.length)
		m.set(3, ids.map((id) => new Map([['id', id], ['type', 'public-key']])));
	const o = new Map([['up', up]]);
	if (uv !== undefined)
		o.set('uv', uv);
	m.set(5, o);
	return m;
}

// The computer's checks (lib/verify.c): "mc ..." -> [rc, pub, credId];
// "ga ..." -> [rc, flags, counter].
export function verify(fields) {
	if (!existsSync(PEER))
		throw new Error(`${PEER} is missing: build it first (meson compile -C build)`);
	const line = fields.map((f) => (typeof f === 'string' ? f : f instanceof Uint8Array ?
	    toHex(f) : String(f))).join(' ');
	const r = spawnSync(PEER, [], { input: line + '\n' });
	assert.equal(r.status, 0);
	return r.stdout.toString().trim().split(' ');
}

export class Computer {
	constructor(world, name, pair, psk) {
		this.world = world;
		this.name = name;
		this.pair = pair;
		this.psk = psk;
	}

	// Message 1 of a request, and the computer's handshake (to read the
	// answer): { m1, hs, env }.
	async message1({ command, params, raw, host, overwrite, origin, id = randomBytes(16),
	    timeMs = this.world.clock.now, envelope, name = this.name }) {
		const w = this.world;
		const ctx = { computerName: name };
		if (raw !== undefined)
			ctx.raw = raw;
		if (host)
			ctx.host = host;
		if (overwrite)
			ctx.overwrite = true;
		if (origin !== undefined)
			ctx.origin = origin;
		const env = envelope ?? encodeRequest({ id, timeMs, command, params, ctx });
		const hs = new Handshake({ pattern: 'KK', initiator: true, s: this.pair,
		    rs: w.identity.identity.publicKey, psk: this.psk });
		return { m1: await hs.writeMessage(env), hs, env };
	}

	// Sends one request; answer: what ask() resolves (or a function of
	// the question); pin: the PIN sent in message 3 (null: none sent).
	async send({ command, params, raw, host, overwrite, origin, id,
	    timeMs = this.world.clock.now, answer = 'once', pin, envelope, name = this.name }) {
		const w = this.world;
		const { m1, hs } = await this.message1({ command, params, raw, host, overwrite, origin,
		    id: id ?? randomBytes(16), timeMs, envelope, name });
		const call = await openCall({ identity: w.identity.identity,
		    computers: await w.state.computers(), message1: m1 });
		const seen = { questions: [], notices: [], pinAsked: false };
		let tp = null;
		const ask = async (q) => {
			seen.questions.push(q);
			return typeof answer === 'function' ? answer(q) : answer;
		};
		const getPin = async () => {
			seen.pinAsked = true;
			const m2 = await call.answer(encodeResponse({ status: STATUS.PIN_REQUIRED,
			    reason: 'PIN required', pinMayFollow: true }));
			const r2 = decodeResponse(await hs.readMessage(m2));
			assert.equal(r2.pinMayFollow, true);
			tp = await hs.split();
			if (pin === null || pin === undefined)
				return null;
			// pin.raw: a message 3 as it comes (not from the computer).
			const m3 = pin.raw ?? (pin instanceof Uint8Array ? await tp.encrypt(pin) :
			    await tp.encrypt(encodePin(pin)));
			return call.readPin(m3);
		};
		const out = await w.engine.handle({ call, ask, getPin,
		    notify: (t) => seen.notices.push(t) });
		if (out.hangUp)
			return { ...seen, hangUp: true, out };
		const renv = encodeResponse({ status: out.status, ctap: out.ctap, reason: out.reason,
		    phoneTime: out.phoneTime,
		    unpadded: out.unpadded });
		let r;
		if (out.pinPath) {
			assert.ok(tp, 'an answer in message 4 without a PIN asked');
			r = decodeResponse(await tp.decrypt(await call.answerAfterPin(renv)));
		} else {
			r = decodeResponse(await hs.readMessage(await call.answer(renv)));
		}
		return { ...seen, ...r, out };
	}

	// ssh-keygen -t ecdsa-sk: an enrollment, checked by libfido2.
	async enroll({ rp = 'ssh:', userId, userName, credProtect = 0, rk, uv, overwrite,
	    answer, pin, checkUv = false } = {}) {
		const raw = randomBytes(32);
		const cdh = await sha256(raw);
		const r = await this.send({ command: CMD.MAKE_CREDENTIAL, raw, overwrite, answer, pin,
		    params: mcParams({ cdh, rp, userId, userName, credProtect, rk, uv }) });
		if (r.status !== 0)
			return r;
		const [rc, pub, credId] = verify(['mc', utf8(rp), cdh, r.ctap.get(2),
		    r.ctap.get(3).get('sig'), checkUv ? '01' : '00']);
		assert.equal(rc, '0', 'libfido2 refused the enrollment');
		return { ...r, publicKey: Buffer.from(pub, 'hex'), credId: Buffer.from(credId, 'hex'),
		    rp };
	}

	// A signature of raw with credential cred ({ credId, publicKey, rp }),
	// checked by libfido2 (UP as asked, UV when checkUv).
	async sign(cred, raw, { up = true, uv, answer, pin, host, checkUv = false, rp,
	    ids, id } = {}) {
		const cdh = await sha256(raw);
		const r = await this.send({ command: CMD.GET_ASSERTION, raw, host, answer, pin, id,
		    params: gaParams({ rp: rp ?? cred.rp, cdh, ids: ids ?? [cred.credId], up, uv }) });
		if (r.status !== 0)
			return r;
		const [rc, flags, counter] = verify(['ga', utf8(cred.rp), cdh, cred.publicKey,
		    r.ctap.get(2), r.ctap.get(3), up ? '01' : '00', checkUv ? '01' : '00']);
		assert.equal(rc, '0', 'libfido2 refused the assertion');
		return { ...r, flags: Number(flags), counter: Number(counter) };
	}
}

// A phone (PhoneState on kv, an Engine on a settable clock) and a
// computer paired with it.
export async function world({ kv = new MemKV(), clock = { now: T0 }, engine = {},
    computer = 'work' } = {}) {
	const w = { kv, clock };
	w.state = await PhoneState.open(kv);
	w.identity = await w.state.identity() ??
	    await w.state.createIdentity({ name: 'phone', relay: 'ws://127.0.0.1:8080' });
	w.engine = new Engine({ state: w.state, now: () => clock.now, ...engine });
	w.pairComputer = async (name) => {
		const pair = await generateEcdh(), psk = randomBytes(32);
		await w.state.addComputer({ name, publicKey: pair.publicKey, requestPsk: psk },
		    clock.now);
		return new Computer(w, name, pair, psk);
	};
	// A restart: a new PhoneState and Engine on the same store.
	w.restart = async () => {
		w.state = await PhoneState.open(kv);
		w.identity = await w.state.identity();
		w.engine = new Engine({ state: w.state, now: () => clock.now, ...engine });
	};
	if (computer)
		w.computer = await w.pairComputer(computer);
	return w;
}
