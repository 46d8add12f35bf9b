// SSH host keys, docs/PROTOCOL.md §9.5, as lib/hostkey.c: check a host key
// blob, verify a host's signature over the session id (the exchange hash
// H) with WebCrypto, the OpenSSH fingerprint; and the pin name of
// lib/hostinfo.c (§8.5.1 step 4). The same answers and error codes as the
// C code, in the same order of checks.
//
// Keys: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (n of 2048..16384
// bits). Signatures: ssh-ed25519, ecdsa-sha2-*, rsa-sha2-256/512; ssh-rsa
// (SHA-1) is UNSUPPORTED. What OpenSSL's EVP_PKEY_public_check refuses is
// refused here first, in BigInt arithmetic, so that a browser's WebCrypto
// (BoringSSL in Chromium) cannot answer otherwise: an EC point off its
// curve, or an RSA modulus that is even, has a prime factor up to 751, or
// is a prime or a prime power (FIPS 186-4 C.3.2's enhanced Miller-Rabin
// test, as OpenSSL 3 runs it, with random bases: at most 16 rounds here,
// where OpenSSL runs 64 or 128; a composite passes 16 with a probability
// below 2^-32). Ed25519 needs WebCrypto's Ed25519: Chromium 137+, Node 18.4+
// (experimental there), Node 20.

import { SshReader } from './sshmsg.js';
import { concat, equal, toHex } from '../proto/bytes.js';
import { fail, SkpError } from '../proto/err.js';

export const KEY_MAX = 16384;		// a host key blob
export const SIG_MAX = 4096;		// a signature blob
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 16384;
const NAME_MAX_LEN = 64;
const HOST_MAX = 255;			// SKP_HOSTINFO_HOST_MAX

const subtle = () => {
	const s = globalThis.crypto?.subtle;
	if (!s)
		fail('UNSUPPORTED', 'WebCrypto is missing: open the page over https ' +
		    '(or http on this computer\'s loopback address)');
	return s;
};

function big(hex) {
	return BigInt('0x' + hex);
}

const CURVES = [
	{ name: 'ecdsa-sha2-nistp256', id: 'nistp256', webcrypto: 'P-256', hash: 'SHA-256', fieldlen: 32,
	  p: big('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'),
	  b: big('5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b') },
	{ name: 'ecdsa-sha2-nistp384', id: 'nistp384', webcrypto: 'P-384', hash: 'SHA-384', fieldlen: 48,
	  p: big('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff'),
	  b: big('b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef') },
	{ name: 'ecdsa-sha2-nistp521', id: 'nistp521', webcrypto: 'P-521', hash: 'SHA-512', fieldlen: 66,
	  p: (1n << 521n) - 1n,
	  b: big('0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00') },
];

const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const strIs = (b, s) => b.length === s.length && equal(b, ascii(s));

function bigOf(b) {
	let x = 0n;
	for (const v of b)
		x = (x << 8n) | BigInt(v);
	return x;
}

function bytesOfBig(x, len) {
	const out = new Uint8Array(len);
	for (let i = len - 1; i >= 0; i--) {
		out[i] = Number(x & 255n);
		x >>= 8n;
	}
	return out;
}

// An mpint that must be positive and minimal: its magnitude.
function posint(r, max) {
	let v;
	try {
		v = r.string(max + 1);
	} catch (e) {
		if (e.code === 'TOO_LARGE')
			fail('FORMAT', 'an mpint too long');
		throw e;
	}
	if (v.length === 0 || (v[0] & 0x80) !== 0)
		fail('FORMAT', 'an mpint that is zero or negative');
	if (v[0] === 0) {
		if (v.length === 1 || (v[1] & 0x80) === 0)
			fail('FORMAT', 'an mpint with a needless zero byte');
		v = v.subarray(1);
	}
	if (v.length > max)
		fail('FORMAT', 'an mpint too long');
	return v;
}

function bitLength(b) {
	let bits = b.length * 8;
	let top = b[0];
	while ((top & 0x80) === 0 && bits > 0) {
		top = (top << 1) & 0xff;
		bits--;
	}
	return bits;
}

// lib/hostkey.c's parse_key: { type, ec?, pk?, e?, n? }.
function parseKey(blob) {
	if (!(blob instanceof Uint8Array) || blob.length === 0)
		fail('FORMAT', 'no host key');
	if (blob.length > KEY_MAX)
		fail('TOO_LARGE', 'a host key blob over 16384 bytes');
	const r = new SshReader(blob);
	let name;
	try {
		name = r.string(NAME_MAX_LEN);
	} catch {
		fail('FORMAT', 'a host key blob without its type');
	}
	const k = {};
	if (strIs(name, 'ssh-ed25519')) {
		k.type = 'ssh-ed25519';
		let pk;
		try {
			pk = r.string(32);
		} catch {
			fail('FORMAT', 'an Ed25519 key that is not 32 bytes');
		}
		if (pk.length !== 32)
			fail('FORMAT', 'an Ed25519 key that is not 32 bytes');
		k.pk = pk;
	} else if (strIs(name, 'ssh-rsa')) {
		k.type = 'ssh-rsa';
		try {
			k.e = posint(r, RSA_MAX_BITS / 8);
			k.n = posint(r, RSA_MAX_BITS / 8);
		} catch (e) {
			if (e.code === 'TRUNCATED')
				fail('FORMAT', 'an RSA key cut short');
			throw e;
		}
	} else {
		k.ec = CURVES.find((c) => strIs(name, c.name));
		if (k.ec === undefined)
			fail('UNSUPPORTED', 'a host key type the phone does not know');
		k.type = k.ec.name;
		try {
			if (!strIs(r.string(NAME_MAX_LEN), k.ec.id))
				fail('FORMAT', 'an ECDSA key of another curve');
			k.pk = r.string(1 + 2 * k.ec.fieldlen);
		} catch (e) {
			fail('FORMAT', e.code === 'FORMAT' ? e.message : 'an ECDSA key cut short');
		}
		if (k.pk.length !== 1 + 2 * k.ec.fieldlen || k.pk[0] !== 0x04)
			fail('FORMAT', 'an ECDSA point that is not uncompressed');
	}
	if (r.left() !== 0)
		fail('FORMAT', 'bytes after the host key');
	if (k.type === 'ssh-rsa') {
		const bits = bitLength(k.n);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			fail('CRYPTO', 'an RSA host key outside 2048..16384 bits');
		if ((k.e[k.e.length - 1] & 1) === 0 || (k.e.length === 1 && k.e[0] < 3) ||
		    k.e.length > k.n.length)
			fail('CRYPTO', 'an RSA exponent that is even, 1, or longer than the modulus');
	}
	return k;
}

// Primes 3..751 and their product (OpenSSL's "small factors").
const SMALL_PRIMES = (() => {
	const out = [];
	for (let n = 3; n <= 751; n += 2)
		if (out.every((p) => n % p !== 0))
			out.push(n);
	return out;
})();
const SMALL_PRODUCT = SMALL_PRIMES.reduce((a, p) => a * BigInt(p), 1n);

function gcd(a, b) {
	while (b !== 0n)
		[a, b] = [b, a % b];
	return a;
}

function modpow(b, e, m) {
	let r = 1n;
	b %= m;
	for (const c of e.toString(2)) {
		r = r * r % m;
		if (c === '1')
			r = r * b % m;
	}
	return r;
}

// A uniform BigInt in [0, n).
function randomBelow(n) {
	const len = Math.ceil(n.toString(2).length / 8);
	const bits = n.toString(2).length;
	const buf = new Uint8Array(len);
	for (;;) {
		globalThis.crypto.getRandomValues(buf);
		const x = bigOf(buf) & ((1n << BigInt(bits)) - 1n);
		if (x < n)
			return x;
	}
}

const MR_ROUNDS = 16;

// FIPS 186-4 C.3.2 (OpenSSL's ossl_bn_miller_rabin_is_prime, enhanced):
// true when w (odd, large) is shown composite and not a prime power.
function compositeNotPrimePower(w) {
	const w1 = w - 1n;
	let a = 0;
	let m = w1;
	while ((m & 1n) === 0n) {
		m >>= 1n;
		a++;
	}
	for (let i = 0; i < MR_ROUNDS; i++) {
		const b = randomBelow(w - 3n) + 2n;
		if (gcd(b, w) !== 1n)
			return false;
		let z = modpow(b, m, w);
		if (z === 1n || z === w1)
			continue;
		let x = z;
		let next = false, composite = false;
		for (let j = 1; j < a; j++) {
			x = z;
			z = z * z % w;
			if (z === w1) {
				next = true;
				break;
			}
			if (z === 1n) {
				composite = true;
				break;
			}
		}
		if (next)
			continue;
		if (!composite) {
			x = z;
			z = z * z % w;
			if (z !== 1n)
				x = z;
		}
		return gcd(x - 1n, w) === 1n;
	}
	return false;
}

// The results for RSA moduli already looked at (the test above costs a
// modular exponentiation or more).
const rsaSeen = new Map();

function rsaModulusOk(nb) {
	const key = toHex(nb);
	let ok = rsaSeen.get(key);
	if (ok === undefined) {
		const n = bigOf(nb);
		ok = (n & 1n) === 1n && gcd(n, SMALL_PRODUCT) === 1n && compositeNotPrimePower(n);
		if (rsaSeen.size >= 64)
			rsaSeen.delete(rsaSeen.keys().next().value);
		rsaSeen.set(key, ok);
	}
	return ok;
}

// What lib/hostkey.c's make_pkey refuses (OpenSSL's EVP_PKEY_fromdata and
// EVP_PKEY_public_check): CRYPTO.
function validate(k) {
	if (k.ec) {
		const { p, b } = k.ec;
		const f = k.ec.fieldlen;
		const x = bigOf(k.pk.subarray(1, 1 + f)), y = bigOf(k.pk.subarray(1 + f));
		if (x >= p || y >= p ||
		    (y * y - (x * x * x - 3n * x + b)) % p !== 0n)
			fail('CRYPTO', 'an ECDSA host key that is not a point of its curve');
	} else if (k.type === 'ssh-rsa') {
		if (!rsaModulusOk(k.n))
			fail('CRYPTO', 'an RSA host key whose modulus is not an RSA modulus');
	}
}

// -> { type }: 'ssh-ed25519', 'ecdsa-sha2-nistp256' (384, 521) or
// 'ssh-rsa'. Throws SkpError UNSUPPORTED (another type), FORMAT,
// TOO_LARGE or CRYPTO, as skp_hostkey_check.
export function checkHostKey(blob) {
	const k = parseKey(blob);
	validate(k);
	return { type: k.type };
}

const DIGEST_INFO = {
	'SHA-256': Uint8Array.of(0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20),
	'SHA-512': Uint8Array.of(0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40),
};

// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2) in BigInt: for a key WebCrypto will
// not import (Chromium refuses a public exponent over 33 bits; OpenSSL
// takes it). sig is as long as the modulus.
export async function rsaVerifyBigForTest(n, e, hash, sig, data) {
	const nn = bigOf(n), s = bigOf(sig);
	if (s >= nn)
		return false;
	const em = bytesOfBig(modpow(s, bigOf(e), nn), n.length);
	const t = concat(DIGEST_INFO[hash], new Uint8Array(await subtle().digest(hash, data)));
	if (n.length < t.length + 11)
		return false;
	const want = new Uint8Array(n.length).fill(0xff);
	want[0] = 0;
	want[1] = 1;
	want[n.length - t.length - 1] = 0;
	want.set(t, n.length - t.length);
	return equal(em, want);
}

const b64url = (b) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-')
    .replace(/\//g, '_').replace(/=+$/, '');

async function webVerify(k, hash, sig, data) {
	const s = subtle();
	let key, alg;
	try {
		if (k.type === 'ssh-ed25519') {
			alg = { name: 'Ed25519' };
			key = await s.importKey('raw', k.pk, alg, false, ['verify']);
		} else if (k.ec) {
			alg = { name: 'ECDSA', hash: k.ec.hash };
			key = await s.importKey('raw', k.pk, { name: 'ECDSA', namedCurve: k.ec.webcrypto },
			    false, ['verify']);
		} else {
			alg = { name: 'RSASSA-PKCS1-v1_5' };
			key = await s.importKey('jwk', { kty: 'RSA', n: b64url(k.n), e: b64url(k.e), ext: true },
			    { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['verify']);
		}
	} catch (e) {
		if (k.type === 'ssh-rsa')
			return rsaVerifyBigForTest(k.n, k.e, hash, sig, data);
		if (k.type === 'ssh-ed25519' && e?.name === 'NotSupportedError')
			fail('UNSUPPORTED', 'this browser has no Ed25519 in WebCrypto: ' +
			    'update it (Chromium 137 or later)');
		// An Ed25519 key that is no point: OpenSSL's verify fails.
		return false;
	}
	return s.verify(alg, key, sig, data);
}

// Resolves when sigBlob is the host key's signature over sessionId;
// throws SkpError as skp_hostkey_verify answers: VERIFY (it does not, or
// its algorithm does not go with the key), UNSUPPORTED (an ssh-rsa SHA-1
// signature, a key type the phone does not know), FORMAT, TOO_LARGE,
// CRYPTO (a key that is not valid).
export async function verifyHostSignature(blob, sigBlob, sessionId) {
	const k = parseKey(blob);
	if (!(sigBlob instanceof Uint8Array) || !(sessionId instanceof Uint8Array))
		fail('INVALID', 'a signature and a session id are bytes');
	if (sigBlob.length > SIG_MAX)
		fail('TOO_LARGE', 'a signature blob over 4096 bytes');
	const r = new SshReader(sigBlob);
	let alg, s;
	try {
		alg = r.string(NAME_MAX_LEN);
		s = r.string(SIG_MAX);
		r.end();
	} catch {
		fail('FORMAT', 'a malformed signature blob');
	}
	// RFC 8332 §3: SHA-1 is no longer good enough for a host.
	if (strIs(alg, 'ssh-rsa'))
		fail('UNSUPPORTED', 'an ssh-rsa signature (SHA-1): the phone cannot check it');
	const mismatch = () => fail('VERIFY', 'the signature algorithm does not go with the host key');
	let hash = null, sig;
	if (k.type === 'ssh-ed25519') {
		if (!strIs(alg, 'ssh-ed25519'))
			mismatch();
		if (s.length !== 64)
			fail('FORMAT', 'an Ed25519 signature that is not 64 bytes');
		sig = s;
	} else if (k.ec) {
		if (!strIs(alg, k.ec.name))
			mismatch();
		const sr = new SshReader(s);
		let rr, ss;
		try {
			rr = posint(sr, k.ec.fieldlen);
			ss = posint(sr, k.ec.fieldlen);
			sr.end();
		} catch {
			fail('FORMAT', 'a malformed ECDSA signature');
		}
		// WebCrypto's form: r and s, each as long as the field
		sig = new Uint8Array(2 * k.ec.fieldlen);
		sig.set(rr, k.ec.fieldlen - rr.length);
		sig.set(ss, 2 * k.ec.fieldlen - ss.length);
		hash = k.ec.hash;
	} else {
		if (strIs(alg, 'rsa-sha2-256'))
			hash = 'SHA-256';
		else if (strIs(alg, 'rsa-sha2-512'))
			hash = 'SHA-512';
		else
			mismatch();
		// OpenSSH accepts a signature shorter than the modulus.
		if (s.length > k.n.length || s.length === 0)
			fail('VERIFY', 'an RSA signature longer than the modulus');
		sig = new Uint8Array(k.n.length);
		sig.set(s, k.n.length - s.length);
	}
	validate(k);
	if (!await webVerify(k, hash, sig, sessionId))
		fail('VERIFY', 'the host\'s signature does not verify');
}

// OpenSSH's fingerprint: "SHA256:" and base64 (no "=") of SHA-256(blob).
export async function fingerprint(blob) {
	if (!(blob instanceof Uint8Array) || blob.length === 0 || blob.length > KEY_MAX)
		fail('INVALID', 'no host key blob');
	const h = new Uint8Array(await subtle().digest('SHA-256', blob));
	return 'SHA256:' + btoa(String.fromCharCode(...h)).replace(/=+$/, '');
}

// lib/hostinfo.c's skp_hostinfo_host_ok: what ssh's %h may be.
export function hostOk(h) {
	return typeof h === 'string' && h.length > 0 && h.length <= HOST_MAX &&
	    h[0] !== '-' && /^[A-Za-z0-9._:%-]+$/.test(h);
}

// skp_hostinfo_pin_name: the host in lower case for port 22, else
// "[host]:port" lower-cased (the known_hosts convention); null when the
// host or port is refused.
export function pinName(host, port) {
	if (!hostOk(host) || !Number.isInteger(port) || port < 1 || port > 65535)
		return null;
	const name = port === 22 ? host : `[${host}]:${port}`;
	return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export { SkpError };
