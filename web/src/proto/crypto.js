// The primitives of docs/PROTOCOL.md §1 (Suite) on WebCrypto
// (globalThis.crypto.subtle: browsers, Node 18+): SHA-256, HMAC-SHA256,
// HKDF-SHA256, P-256 ECDH and ECDSA, AES-256-GCM; and Ed25519 for the
// credentials of ed25519-sk keys, where the browser has it. Private keys are made with
// extractable=false: no script can read them out of their CryptoKey.
//
// A "key pair" here is { privateKey: CryptoKey, publicKey: Uint8Array(65) }
// with the public key as the wire has it: 0x04 || X || Y.

import { ascii, b64urlEncode, concat, equal, fromHex, toHex } from './bytes.js';
import { fail } from './err.js';

const subtle = globalThis.crypto?.subtle;

function needSubtle() {
	if (!subtle)
		fail('UNSUPPORTED', 'WebCrypto is missing: open the page over https ' +
		    '(or http on this computer\'s loopback address)');
	return subtle;
}

export const P256_PUB_LEN = 65;

export function randomBytes(n) {
	const b = new Uint8Array(n);
	globalThis.crypto.getRandomValues(b);
	return b;
}

export async function sha256(...parts) {
	return new Uint8Array(await needSubtle().digest('SHA-256', concat(...parts)));
}

export async function hmacSha256(key, data) {
	const s = needSubtle();
	const k = await s.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' },
	    false, ['sign']);
	return new Uint8Array(await s.sign('HMAC', k, data));
}

// RFC 5869 HKDF-SHA256; an empty salt is RFC 5869's (32 zero bytes).
export async function hkdf(salt, ikm, info, len) {
	const s = needSubtle();
	const k = await s.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
	return new Uint8Array(await s.deriveBits({ name: 'HKDF', hash: 'SHA-256',
	    salt, info }, k, len * 8));
}

// P-256 field and curve, to validate received points ourselves: WebCrypto
// would also take a compressed point, which the wire refuses.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function bigOf(b) {
	let x = 0n;
	for (const v of b)
		x = (x << 8n) | BigInt(v);
	return x;
}

// Exactly 65 bytes, 0x04, X and Y below p, (X, Y) on the curve.
export function isP256Public(pub) {
	if (!(pub instanceof Uint8Array) || pub.length !== P256_PUB_LEN ||
	    pub[0] !== 0x04)
		return false;
	const x = bigOf(pub.subarray(1, 33)), y = bigOf(pub.subarray(33, 65));
	if (x >= P || y >= P)
		return false;
	const rhs = (((x * x) % P * x) - 3n * x + B) % P;
	return (y * y) % P === ((rhs % P) + P) % P;
}

export function checkP256Public(pub) {
	if (!isP256Public(pub))
		fail('CRYPTO', 'not an uncompressed P-256 point');
}

async function rawPublic(publicKey) {
	return new Uint8Array(await needSubtle().exportKey('raw', publicKey));
}

// A fresh ECDH pair, private key not extractable.
export async function generateEcdh() {
	const kp = await needSubtle().generateKey({ name: 'ECDH', namedCurve: 'P-256' },
	    false, ['deriveBits']);
	return { privateKey: kp.privateKey, publicKey: await rawPublic(kp.publicKey) };
}

// A fresh ECDSA pair, private key not extractable.
export async function generateEcdsa() {
	const kp = await needSubtle().generateKey({ name: 'ECDSA', namedCurve: 'P-256' },
	    false, ['sign', 'verify']);
	return { privateKey: kp.privateKey, publicKey: await rawPublic(kp.publicKey) };
}

// Ed25519 (RFC 8032, pure): the credentials of ed25519-sk keys. A pair
// here is { privateKey: CryptoKey, publicKey: Uint8Array(32) }.
export const ED25519_PUB_LEN = 32;

// A fresh Ed25519 pair, private key not extractable; UNSUPPORTED when this
// browser's WebCrypto has no Ed25519.
export async function generateEd25519() {
	let kp;
	try {
		kp = await needSubtle().generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
	} catch (e) {
		if (e?.name === 'NotSupportedError' || e?.name === 'TypeError' ||
		    e?.name === 'SyntaxError')
			fail('UNSUPPORTED', 'this browser has no Ed25519 in WebCrypto');
		throw e;
	}
	return { privateKey: kp.privateKey, publicKey: await rawPublic(kp.publicKey) };
}

// RFC 8032 §5.1.3 (as lib/crypto.c's skp_ed25519_check_public): not one
// of the eight points of small order (by y, sign bit cleared), y below p,
// and x^2 = (y^2 - 1) / (d y^2 + 1) has a root, 0 only with the sign bit
// clear.
const P25519 = (1n << 255n) - 19n;

function modPow(b, e, m) {
	let r = 1n;
	b %= m;
	while (e > 0n) {
		if (e & 1n)
			r = r * b % m;
		b = b * b % m;
		e >>= 1n;
	}
	return r;
}

const D25519 = (P25519 - 121665n * modPow(121666n, P25519 - 2n, P25519) % P25519) % P25519;
const SMALL_Y = [1n, P25519 - 1n, 0n,
    0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
    0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n];

export function isEd25519Public(pub) {
	if (!(pub instanceof Uint8Array) || pub.length !== ED25519_PUB_LEN)
		return false;
	const sign = (pub[31] & 0x80) !== 0;
	let y = 0n;
	for (let i = 31; i >= 0; i--)
		y = (y << 8n) | BigInt(i === 31 ? pub[i] & 0x7f : pub[i]);
	if (SMALL_Y.includes(y) || y >= P25519)
		return false;
	const yy = y * y % P25519;
	const u = (yy - 1n + P25519) % P25519, v = (D25519 * yy + 1n) % P25519;
	const e = u * modPow(v, P25519 - 2n, P25519) % P25519;
	if (e === 0n)
		return !sign;
	return modPow(e, (P25519 - 1n) / 2n, P25519) === 1n;
}

// Can this browser make (and keep unreadable) Ed25519 keys? Asked once:
// a key made, non-extractable, that signs 64 bytes its public key verifies.
let ed25519Probe = null;

export function hasEd25519() {
	if (!ed25519Probe)
		ed25519Probe = (async () => {
			try {
				const k = await generateEd25519();
				if (k.privateKey.extractable !== false ||
				    k.publicKey.length !== ED25519_PUB_LEN)
					return false;
				const m = Uint8Array.of(1, 2, 3);
				const sig = await ed25519Sign(k.privateKey, m);
				return sig.length === 64 && await ed25519Verify(k.publicKey, m, sig);
			} catch {
				return false;
			}
		})();
	return ed25519Probe;
}

// Tests: pretend the browser has (true), has not (false) Ed25519, or ask
// it again (null).
export function setEd25519ForTest(v) {
	ed25519Probe = v === null ? null : Promise.resolve(v);
}

export async function ed25519Sign(privateKey, msg) {
	return new Uint8Array(await needSubtle().sign({ name: 'Ed25519' }, privateKey, msg));
}

export async function ed25519Verify(publicKey, msg, sig) {
	if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUB_LEN)
		fail('CRYPTO', 'an Ed25519 public key is 32 bytes');
	const s = needSubtle();
	let k;
	try {
		k = await s.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
	} catch {
		fail('CRYPTO', 'not an Ed25519 public key');
	}
	return s.verify({ name: 'Ed25519' }, k, sig, msg);
}

// Peers' public keys imported for ECDH, by their bytes: a paired
// computer's static key is imported once, not at every request (public
// values only; the oldest goes past PEERS_MAX).
const PEERS_MAX = 64;
const peers = new Map();

// ECDH: the 32-byte X coordinate of d·Q. The peer's key is validated first.
// remember: keep the imported peer key (a long-lived key: the computer's).
export async function ecdh(privateKey, peerPublic, { remember = false } = {}) {
	checkP256Public(peerPublic);
	const s = needSubtle();
	const id = remember ? toHex(peerPublic) : null;
	let pub = id && peers.get(id);
	if (!pub) {
		try {
			pub = await s.importKey('raw', peerPublic,
			    { name: 'ECDH', namedCurve: 'P-256' }, false, []);
		} catch {
			fail('CRYPTO', 'not a P-256 point');
		}
		if (id) {
			if (peers.size >= PEERS_MAX)
				peers.delete(peers.keys().next().value);
			peers.set(id, pub);
		}
	}
	return new Uint8Array(await s.deriveBits({ name: 'ECDH', public: pub },
	    privateKey, 256));
}

// ECDSA P-256 / SHA-256 over msg: raw r || s (64 bytes).
export async function ecdsaSign(privateKey, msg) {
	return new Uint8Array(await needSubtle().sign({ name: 'ECDSA', hash: 'SHA-256' },
	    privateKey, msg));
}

export async function ecdsaVerify(publicKey, msg, sigRaw) {
	checkP256Public(publicKey);
	const s = needSubtle();
	const k = await s.importKey('raw', publicKey, { name: 'ECDSA', namedCurve: 'P-256' },
	    false, ['verify']);
	return s.verify({ name: 'ECDSA', hash: 'SHA-256' }, k, sigRaw, msg);
}

// P-256 (SEC 2 §2.4.2, FIPS 186-4 D.1.2.3) in BigInt, for one thing only:
// the public point of a private scalar a transfer brings (§10.4 sends the
// identity and mailbox scalars alone), which WebCrypto's JWK import needs
// beside d. Chromium refuses PKCS#8 without the public key. Affine
// coordinates, one inversion per step: a few milliseconds per key, run a
// few times per transfer; the scalar is secret but this is no signing
// loop an attacker can time.
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_G = [0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n];

function p256Add(a, b) {
	const p = P256_P;
	if (a === null)
		return b;
	if (b === null)
		return a;
	let l;
	if (a[0] === b[0]) {
		if ((a[1] + b[1]) % p === 0n)
			return null;
		l = (3n * a[0] * a[0] - 3n) % p * modPow(2n * a[1], p - 2n, p) % p;
	} else {
		l = ((b[1] - a[1]) % p + p) % p * modPow(((b[0] - a[0]) % p + p) % p, p - 2n, p) % p;
	}
	const x = ((l * l - a[0] - b[0]) % p + 2n * p) % p;
	return [x, ((l * (a[0] - x) - a[1]) % p + 2n * p) % p];
}

function bytes32(v) {
	const out = new Uint8Array(32);
	for (let i = 31; i >= 0; i--, v >>= 8n)
		out[i] = Number(v & 0xffn);
	return out;
}

// The 65-byte public point of scalar d (32 bytes, 1 <= d < n; else CRYPTO).
export function p256PublicOf(d) {
	let k = bigOf(d);
	if (k === 0n || k >= P256_N)
		fail('CRYPTO', 'not a P-256 private key (0, or not below the order)');
	let r = null, q = P256_G;
	for (; k > 0n; k >>= 1n) {
		if (k & 1n)
			r = p256Add(r, q);
		q = p256Add(q, q);
	}
	return concat([4], bytes32(r[0]), bytes32(r[1]));
}

// A key pair from a known private scalar (32 bytes): test vectors, and the
// keys a transfer brings (proto/transfer.js, PROTOCOL.md §10). The private
// key is imported from a JWK, not extractable; pub (the public point, when
// known) saves computing it, and must be the scalar's.
export async function keyPairFromScalar(scalar, alg = 'ECDH', pub = null) {
	if (scalar.length !== 32)
		fail('INVALID', 'a P-256 scalar is 32 bytes');
	const publicKey = p256PublicOf(scalar);
	if (pub !== null && !equal(pub, publicKey))
		fail('CRYPTO', 'a P-256 private key that is not its public key\'s');
	const jwk = { kty: 'EC', crv: 'P-256', d: b64urlEncode(scalar),
	    x: b64urlEncode(publicKey.subarray(1, 33)), y: b64urlEncode(publicKey.subarray(33)),
	    ext: false };
	const privateKey = await needSubtle().importKey('jwk', jwk, { name: alg,
	    namedCurve: 'P-256' }, false, alg === 'ECDH' ? ['deriveBits'] : ['sign']);
	return { privateKey, publicKey };
}

export const keyPairFromScalarForTest = keyPairFromScalar;

// An Ed25519 private key from its 32-byte seed (RFC 8410 PKCS#8), not
// extractable; CRYPTO unless it signs for publicKey (a pair that does not
// belong together).
const ED25519_PKCS8_HEAD = fromHex('302e020100300506032b657004220420');

export async function ed25519FromSeed(seed, publicKey) {
	if (seed.length !== 32)
		fail('INVALID', 'an Ed25519 seed is 32 bytes');
	const der = concat(ED25519_PKCS8_HEAD, seed);
	let privateKey;
	try {
		privateKey = await needSubtle().importKey('pkcs8', der, { name: 'Ed25519' },
		    false, ['sign']);
	} catch (e) {
		if (e?.name === 'NotSupportedError')
			fail('UNSUPPORTED', 'this browser has no Ed25519 in WebCrypto');
		throw e;
	} finally {
		der.fill(0);
	}
	const probe = ascii('sk-phone ed25519 pair check');
	if (!(await ed25519Verify(publicKey, probe, await ed25519Sign(privateKey, probe))))
		fail('CRYPTO', 'an Ed25519 private key that is not its public key\'s');
	return { privateKey, publicKey: publicKey.slice() };
}

// AES-256-GCM: ciphertext || 16-byte tag.
export async function aesGcmSeal(key, nonce, ad, pt) {
	const s = needSubtle();
	const k = await s.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
	return new Uint8Array(await s.encrypt({ name: 'AES-GCM', iv: nonce,
	    additionalData: ad, tagLength: 128 }, k, pt));
}

// Throws SkpError DECRYPT when the tag does not verify.
export async function aesGcmOpen(key, nonce, ad, ct) {
	if (ct.length < 16)
		fail('TRUNCATED', 'AES-GCM input shorter than its tag');
	const s = needSubtle();
	const k = await s.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
	try {
		return new Uint8Array(await s.decrypt({ name: 'AES-GCM', iv: nonce,
		    additionalData: ad, tagLength: 128 }, k, ct));
	} catch {
		fail('DECRYPT', 'authenticated decryption failed');
	}
}
