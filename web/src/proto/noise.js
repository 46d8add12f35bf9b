// Noise_IKpsk0_P256_AESGCM_SHA256 and Noise_KKpsk0_P256_AESGCM_SHA256,
// docs/PROTOCOL.md §3 (the behaviour of lib/noise.c), on WebCrypto.
// The web phone is the IK initiator (pairing) and the KK responder
// (requests); both roles of both patterns are here, for the tests.
//
//   const hs = new Handshake({ pattern: 'KK', initiator: false, s, rs, psk });
//   const payload = await hs.readMessage(msg1);
//   const msg2 = await hs.writeMessage(answer);
//   const t = await hs.split();       // t.encrypt(), t.decrypt()
//
// s (and e, for test vectors only) are key pairs of crypto.js:
// { privateKey: CryptoKey (ECDH, not extractable), publicKey: Uint8Array(65) }.
// Any failure kills the state: its keys are wiped and every later call
// throws STATE (§3.8).

import { ascii, concat } from './bytes.js';
import { aesGcmOpen, aesGcmSeal, checkP256Public, ecdh, generateEcdh, hkdf,
    hmacSha256, sha256, P256_PUB_LEN } from './crypto.js';
import { fail, SkpError } from './err.js';

export const MAX_MSG = 65535;
export const HASH_LEN = 32;
export const PSK_LEN = 32;
export const TAG_LEN = 16;
const NONCE_LAST = 0xffffffffffffffffn;

export const NAMES = Object.freeze({
	IK: 'Noise_IKpsk0_P256_AESGCM_SHA256',
	KK: 'Noise_KKpsk0_P256_AESGCM_SHA256',
});
export const PROLOGUES = Object.freeze({
	IK: 'sk-phone pair v1',
	KK: 'sk-phone request v1',
});

const PATTERNS = Object.freeze({
	IK: [['psk', 'e', 'es', 's', 'ss'], ['e', 'ee', 'se']],
	KK: [['psk', 'e', 'es', 'ss'], ['e', 'ee', 'se']],
});

function nonceOf(n) {
	const b = new Uint8Array(12);
	let v = BigInt(n);
	for (let i = 11; i >= 4; i--) {
		b[i] = Number(v & 0xffn);
		v >>= 8n;
	}
	return b;
}

// HKDF(ck, ikm, n) of the spec §4.3: two or three 32-byte outputs. It is
// RFC 5869's HKDF-SHA256 with salt ck and no info (temp_key = HMAC(ck,
// ikm), output i = HMAC(temp_key, output i-1 || i)): one WebCrypto call
// instead of six or eight HMACs (each a trip to WebCrypto's thread and
// back). An empty ikm (split) keeps the HMACs: WebCrypto need not import
// an empty HKDF key.
async function noiseHkdf(ck, ikm, n) {
	if (ikm.length > 0) {
		const okm = await hkdf(ck, ikm, new Uint8Array(0), HASH_LEN * n);
		const out = [];
		for (let i = 0; i < n; i++)
			out.push(okm.slice(i * HASH_LEN, (i + 1) * HASH_LEN));
		okm.fill(0);
		return out;
	}
	const tk = await hmacSha256(ck, ikm);
	const o1 = await hmacSha256(tk, Uint8Array.of(1));
	const o2 = await hmacSha256(tk, concat(o1, [2]));
	const out = [o1, o2];
	if (n === 3)
		out.push(await hmacSha256(tk, concat(o2, [3])));
	tk.fill(0);
	return out;
}

function bytesArg(v, what) {
	if (!(v instanceof Uint8Array))
		fail('INVALID', `${what} must be a Uint8Array`);
	return v;
}

export class Handshake {
	// pattern 'IK' | 'KK'; initiator true | false; s: local static key
	// pair; rs: remote static public key (not for the IK responder); psk:
	// 32 bytes; prologue: bytes (default: §3.1's); e: a fixed ephemeral
	// key pair, for test vectors only; trace(msgno, step, h, ck): called
	// after each step with copies, for test vectors only.
	constructor({ pattern, initiator, s, rs = null, psk, prologue = null,
	    e = null, trace = null }) {
		if (!(pattern in PATTERNS))
			fail('INVALID', 'pattern must be IK or KK');
		this.pattern = pattern;
		this.initiator = !!initiator;
		this.s = s || null;
		this.rs = rs ? bytesArg(rs, 'rs').slice() : null;
		this.psk = psk ? bytesArg(psk, 'psk').slice() : null;
		this.prologue = prologue ? bytesArg(prologue, 'prologue').slice() :
		    ascii(PROLOGUES[pattern]);
		if (this.prologue.length > 1024)
			fail('INVALID', 'prologue over 1024 bytes');
		this.e = e;
		this.re = null;
		this.trace = trace;
		this.msgno = 0;		// messages done: 0, 1, 2
		this.started = false;
		this.dead = false;
		this.splitDone = false;
		this.k = null;
		this.n = 0n;
		this.prepared = null;	// prepareWrite()'s promise
	}

	async _start() {
		const missingRemote = this.pattern === 'IK' && !this.initiator ?
		    this.rs !== null : this.rs === null;
		if (!this.s || !this.psk || this.psk.length !== PSK_LEN || missingRemote)
			fail('STATE', 'a static key, the remote static key or the psk is missing');
		if (this.rs)
			checkP256Public(this.rs);
		const name = ascii(NAMES[this.pattern]);
		this.h = new Uint8Array(HASH_LEN);
		this.h.set(name);
		this.ck = this.h.slice();
		const tr = this.trace;
		if (tr)
			tr(0, 'name', this.h.slice(), this.ck.slice());
		await this._mixHash(this.prologue);
		if (tr)
			tr(0, 'prologue', this.h.slice(), this.ck.slice());
		const ipub = this.initiator ? this.s.publicKey : this.rs;
		const rpub = this.initiator ? this.rs : this.s.publicKey;
		if (this.pattern === 'KK') {
			await this._mixHash(ipub);
			if (tr)
				tr(0, 'pre_i_s', this.h.slice(), this.ck.slice());
		}
		await this._mixHash(rpub);
		if (tr)
			tr(0, 'pre_r_s', this.h.slice(), this.ck.slice());
		this.started = true;
	}

	async _mixHash(data) {
		this.h = await sha256(this.h, data);
	}

	async _mixKey(ikm) {
		const [ck, k] = await noiseHkdf(this.ck, ikm, 2);
		this.ck.fill(0);
		this.ck = ck;
		if (this.k)
			this.k.fill(0);
		this.k = k;
		this.n = 0n;
	}

	async _mixKeyAndHash(ikm) {
		const [ck, th, k] = await noiseHkdf(this.ck, ikm, 3);
		this.ck.fill(0);
		this.ck = ck;
		await this._mixHash(th);
		th.fill(0);
		if (this.k)
			this.k.fill(0);
		this.k = k;
		this.n = 0n;
	}

	async _encryptAndHash(pt) {
		if (this.n === NONCE_LAST)
			fail('LIMIT', 'Noise nonce exhausted');
		const c = await aesGcmSeal(this.k, nonceOf(this.n), this.h, pt);
		this.n++;
		await this._mixHash(c);
		return c;
	}

	async _decryptAndHash(c) {
		if (this.n === NONCE_LAST)
			fail('LIMIT', 'Noise nonce exhausted');
		const p = await aesGcmOpen(this.k, nonceOf(this.n), this.h, c);
		this.n++;
		await this._mixHash(c);
		return p;
	}

	async _dhToken(tok) {
		let priv, pub;
		const I = this.initiator;
		switch (tok) {
		case 'ee':
			priv = this.e.privateKey; pub = this.re; break;
		case 'es':
			[priv, pub] = I ? [this.e.privateKey, this.rs] : [this.s.privateKey, this.re];
			break;
		case 'se':
			[priv, pub] = I ? [this.s.privateKey, this.re] : [this.e.privateKey, this.rs];
			break;
		case 'ss':
			priv = this.s.privateKey; pub = this.rs; break;
		}
		// The remote static key (rs) is the same at every request.
		const dh = await ecdh(priv, pub, { remember: pub === this.rs });
		await this._mixKey(dh);
		dh.fill(0);
	}

	// What this side does next: 'write', 'read', 'split' or 'none'.
	next() {
		if (this.dead)
			return 'none';
		if (this.msgno === 2)
			return this.splitDone ? 'none' : 'split';
		const writer = (this.msgno === 0) === this.initiator;
		return writer ? 'write' : 'read';
	}

	isDone() {
		return !this.dead && this.msgno === 2;
	}

	_overhead(msgno) {
		return this.pattern === 'IK' && msgno === 0 ?
		    P256_PUB_LEN + P256_PUB_LEN + TAG_LEN + TAG_LEN :
		    P256_PUB_LEN + TAG_LEN;
	}

	_kill(e) {
		this.dead = true;
		for (const b of [this.h, this.ck, this.k, this.psk])
			if (b)
				b.fill(0);
		this.e = null;
		this.s = null;
		throw e instanceof SkpError ? e : new SkpError('INTERNAL',
		    `Noise: ${e && e.message}`);
	}

	// The next message's tokens, all but its payload, worked out ahead:
	// they do not depend on the payload, so the phone does them while it
	// decides its answer, and writeMessage then only encrypts the payload
	// (the bytes are the same either way). Any failure kills the state, as
	// in writeMessage; its promise is writeMessage's to report.
	prepareWrite() {
		if (this.next() !== 'write')
			fail('STATE', 'not this side\'s turn to write');
		if (!this.prepared) {
			this.prepared = this._writeTokens();
			this.prepared.catch(() => {});
		}
		return this.prepared;
	}

	async _writeTokens() {
		try {
			if (!this.started)
				await this._start();
			const parts = [];
			const m = this.msgno + 1;
			for (const tok of PATTERNS[this.pattern][this.msgno]) {
				if (tok === 'psk') {
					await this._mixKeyAndHash(this.psk);
				} else if (tok === 'e') {
					if (!this.e)
						this.e = await generateEcdh();
					parts.push(this.e.publicKey);
					await this._mixHash(this.e.publicKey);
					await this._mixKey(this.e.publicKey);
				} else if (tok === 's') {
					parts.push(await this._encryptAndHash(this.s.publicKey));
				} else {
					await this._dhToken(tok);
				}
				if (this.trace)
					this.trace(m, tok, this.h.slice(), this.ck.slice());
			}
			return parts;
		} catch (e) {
			this._kill(e);
		}
	}

	async writeMessage(payload = new Uint8Array(0)) {
		if (this.next() !== 'write')
			fail('STATE', 'not this side\'s turn to write');
		bytesArg(payload, 'payload');
		try {
			if (payload.length > MAX_MSG - this._overhead(this.msgno))
				fail('TOO_LARGE', 'Noise payload too large');
		} catch (e) {
			this._kill(e);
		}
		const parts = await this.prepareWrite();
		if (this.dead)
			fail('STATE', 'the Noise state is dead');
		try {
			parts.push(await this._encryptAndHash(payload));
			if (this.trace)
				this.trace(this.msgno + 1, 'payload', this.h.slice(), this.ck.slice());
			this.msgno++;
			this.prepared = null;
			return concat(...parts);
		} catch (e) {
			this._kill(e);
		}
	}

	async readMessage(msg) {
		if (this.next() !== 'read')
			fail('STATE', 'not this side\'s turn to read');
		bytesArg(msg, 'message');
		try {
			if (msg.length > MAX_MSG)
				fail('TOO_LARGE', 'Noise message over 65535 bytes');
			if (!this.started)
				await this._start();
			if (msg.length < this._overhead(this.msgno))
				fail('TRUNCATED', 'Noise message shorter than its fixed part');
			let off = 0;
			const m = this.msgno + 1;
			for (const tok of PATTERNS[this.pattern][this.msgno]) {
				if (tok === 'psk') {
					await this._mixKeyAndHash(this.psk);
				} else if (tok === 'e') {
					const re = msg.slice(off, off + P256_PUB_LEN);
					off += P256_PUB_LEN;
					checkP256Public(re);
					this.re = re;
					await this._mixHash(re);
					await this._mixKey(re);
				} else if (tok === 's') {
					const n = P256_PUB_LEN + TAG_LEN;
					const rs = await this._decryptAndHash(msg.subarray(off, off + n));
					off += n;
					checkP256Public(rs);
					this.rs = rs;
				} else {
					await this._dhToken(tok);
				}
				if (this.trace)
					this.trace(m, tok, this.h.slice(), this.ck.slice());
			}
			const p = await this._decryptAndHash(msg.subarray(off));
			if (this.trace)
				this.trace(m, 'payload', this.h.slice(), this.ck.slice());
			this.msgno++;
			return p;
		} catch (e) {
			this._kill(e);
		}
	}

	// h after the last message (§3.6).
	handshakeHash() {
		if (!this.isDone())
			fail('STATE', 'the handshake is not done');
		return this.h.slice();
	}

	// The remote static key: for the IK responder, learned from message 1.
	remoteStatic() {
		if (this.dead || !this.rs || (this.pattern === 'IK' && !this.initiator &&
		    this.msgno < 1))
			fail('STATE', 'no remote static key yet');
		return this.rs.slice();
	}

	// Split (§3.6): c1 initiator -> responder, c2 responder -> initiator.
	// The handshake's keys are wiped; the hash stays readable.
	async split() {
		if (this.next() !== 'split')
			fail('STATE', 'the handshake is not done');
		const [c1, c2] = await noiseHkdf(this.ck, new Uint8Array(0), 2);
		this.splitDone = true;
		for (const b of [this.ck, this.k, this.psk])
			if (b)
				b.fill(0);
		this.e = null;
		this.s = null;
		return this.initiator ? new Transport(c1, c2) : new Transport(c2, c1);
	}
}

// Transport messages (§3.7): implicit nonces, any failure kills it.
export class Transport {
	constructor(sendKey, recvKey) {
		this.sendKey = sendKey;
		this.recvKey = recvKey;
		this.sendN = 0n;
		this.recvN = 0n;
		this.dead = false;
	}

	_kill(e) {
		this.dead = true;
		this.sendKey.fill(0);
		this.recvKey.fill(0);
		throw e instanceof SkpError ? e : new SkpError('INTERNAL', String(e));
	}

	async encrypt(pt = new Uint8Array(0)) {
		if (this.dead)
			fail('STATE', 'the Noise transport is dead');
		bytesArg(pt, 'plaintext');
		try {
			if (pt.length > MAX_MSG - TAG_LEN)
				fail('TOO_LARGE', 'Noise transport plaintext too large');
			if (this.sendN === NONCE_LAST)
				fail('LIMIT', 'Noise nonce exhausted');
			const c = await aesGcmSeal(this.sendKey, nonceOf(this.sendN),
			    new Uint8Array(0), pt);
			this.sendN++;
			return c;
		} catch (e) {
			this._kill(e);
		}
	}

	async decrypt(ct) {
		if (this.dead)
			fail('STATE', 'the Noise transport is dead');
		bytesArg(ct, 'ciphertext');
		try {
			if (ct.length > MAX_MSG)
				fail('TOO_LARGE', 'Noise transport message over 65535 bytes');
			if (ct.length < TAG_LEN)
				fail('TRUNCATED', 'Noise transport message shorter than its tag');
			if (this.recvN === NONCE_LAST)
				fail('LIMIT', 'Noise nonce exhausted');
			const p = await aesGcmOpen(this.recvKey, nonceOf(this.recvN),
			    new Uint8Array(0), ct);
			this.recvN++;
			return p;
		} catch (e) {
			this._kill(e);
		}
	}

	// For test vectors only.
	keysForTest() {
		return { send: this.sendKey.slice(), recv: this.recvKey.slice() };
	}

	setNoncesForTest(send, recv) {
		this.sendN = BigInt(send);
		this.recvN = BigInt(recv);
	}

	close() {
		this.dead = true;
		this.sendKey.fill(0);
		this.recvKey.fill(0);
	}
}
