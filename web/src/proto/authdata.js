// Authenticator data, the ES256 and EdDSA COSE keys, the AAGUID and the signatures
// the phone makes, docs/PROTOCOL.md §4.10-§4.11 (as lib/authdata.c), and
// the CTAP answers built from them (§4.5-§4.8).

import * as cbor from './cbor.js';
import { concat, fromHex, utf8 } from './bytes.js';
import { checkP256Public, ecdsaSign, ed25519Sign, ED25519_PUB_LEN, sha256 } from './crypto.js';
import { fail } from './err.js';

export const FLAGS = Object.freeze({ UP: 0x01, UV: 0x04, AT: 0x40, ED: 0x80 });
export const AAGUID = fromHex('3934e340407e4da9af808851d9de98d7');
export const BASE_LEN = 37;
export const COSE_ES256_LEN = 77;
export const COSE_EDDSA_LEN = 44;
export const ALG = Object.freeze({ ES256: -7, EDDSA: -8 });
const CRED_ID_MIN = 16, CRED_ID_MAX = 128;

// The COSE algorithm of a credential public key: 65 bytes (0x04 || X || Y)
// ES256, 32 bytes EdDSA (Ed25519).
export function algOf(pub) {
	return pub instanceof Uint8Array && pub.length === ED25519_PUB_LEN ? ALG.EDDSA : ALG.ES256;
}

// ES256: {1: 2, 3: -7, -1: 1, -2: x, -3: y}, 77 bytes. EdDSA: {1: 1 (OKP),
// 3: -8, -1: 6 (Ed25519), -2: x}, 44 bytes.
export function coseKey(pub) {
	if (algOf(pub) === ALG.EDDSA)
		return cbor.encode(new Map([[1, 1], [3, ALG.EDDSA], [-1, 6], [-2, pub.slice()]]));
	checkP256Public(pub);
	return cbor.encode(new Map([[1, 2], [3, -7], [-1, 1], [-2, pub.slice(1, 33)],
	    [-3, pub.slice(33, 65)]]));
}

// { rpId, flags, signCount, credId, publicKey }: credId and publicKey
// (attested credential data) only with AT. ED is never set.
export async function buildAuthData({ rpId, flags, signCount, credId, publicKey }) {
	if ((flags & FLAGS.ED) || (flags & ~(FLAGS.UP | FLAGS.UV | FLAGS.AT)))
		fail('INVALID', 'authData flags: only UP, UV and AT');
	if (!Number.isInteger(signCount) || signCount < 0 || signCount > 0xffffffff)
		fail('INVALID', 'a signCount is a uint32');
	const head = new Uint8Array(5);
	head[0] = flags;
	new DataView(head.buffer).setUint32(1, signCount);
	const base = concat(await sha256(utf8(rpId)), head);
	if (!(flags & FLAGS.AT))
		return base;
	if (!(credId instanceof Uint8Array) || credId.length < CRED_ID_MIN ||
	    credId.length > CRED_ID_MAX)
		fail('INVALID', 'a credential id is 16 to 128 bytes');
	return concat(base, AAGUID, [credId.length >> 8, credId.length & 255], credId,
	    coseKey(publicKey));
}

// DER SEQUENCE { INTEGER r, INTEGER s } from WebCrypto's raw r || s, in
// its one strict form (minimal integers, short lengths): at most 72 bytes.
export function derFromRaw(raw) {
	if (!(raw instanceof Uint8Array) || raw.length !== 64)
		fail('INVALID', 'a raw P-256 signature is 64 bytes');
	const int = (b) => {
		let i = 0;
		while (i < b.length - 1 && b[i] === 0)
			i++;
		const v = b.subarray(i);
		return concat([0x02, v.length + (v[0] & 0x80 ? 1 : 0)], v[0] & 0x80 ? [0] : [], v);
	};
	const r = int(raw.subarray(0, 32)), s = int(raw.subarray(32));
	return concat([0x30, r.length + s.length], r, s);
}

// §4.11: by the credential key over authData || clientDataHash: ECDSA
// P-256 SHA-256, DER; or Ed25519 (an Ed25519 CryptoKey), 64 bytes raw.
export async function signAuthData(privateKey, authData, cdh) {
	if (!(cdh instanceof Uint8Array) || cdh.length !== 32)
		fail('INVALID', 'a clientDataHash is 32 bytes');
	if (privateKey?.algorithm?.name === 'Ed25519')
		return ed25519Sign(privateKey, concat(authData, cdh));
	return derFromRaw(await ecdsaSign(privateKey, concat(authData, cdh)));
}

// §4.5 makeCredential answer: "packed" self attestation; alg the
// credential's (-7 or -8).
export function makeCredentialAnswer({ authData, sig, alg = ALG.ES256 }) {
	return new Map([[1, 'packed'], [2, authData],
	    [3, new Map([['alg', alg], ['sig', sig]])]]);
}

// §4.6 getAssertion answer; userId only for a resident credential.
export function getAssertionAnswer({ credId, authData, signature, userId }) {
	const m = new Map([[1, new Map([['id', credId], ['type', 'public-key']])],
	    [2, authData], [3, signature]]);
	if (userId)
		m.set(4, new Map([['id', userId]]));
	return m;
}

// §4.7 getInfo answer; algorithms (key 10): the COSE algorithms the phone
// makes keys of, in its order of preference.
export function getInfoAnswer({ versions = ['FIDO_2_0', 'FIDO_2_1'],
    extensions = ['credProtect'], options = { rk: true, up: true, uv: false, credMgmt: true },
    maxMsgSize = 65000, algorithms = [ALG.ES256] } = {}) {
	const m = new Map([[1, versions]]);
	if (extensions.length)
		m.set(2, extensions);
	m.set(3, AAGUID);
	m.set(4, new Map(Object.entries(options)));
	m.set(5, maxMsgSize);
	if (algorithms.length)
		m.set(10, algorithms.map((a) => new Map([['alg', a], ['type', 'public-key']])));
	return m;
}

// §4.8 one element of an enumerateCredentials answer.
export function credentialListEntry({ rpId, userId, userName, credId, publicKey,
    credProtect }) {
	const m = new Map();
	if (rpId !== undefined)
		m.set(3, new Map([['id', rpId]]));
	const user = new Map([['id', userId]]);
	if (userName)
		user.set('name', userName);
	m.set(6, user);
	m.set(7, new Map([['id', credId], ['type', 'public-key']]));
	m.set(8, cbor.decode(coseKey(publicKey)));
	if (credProtect)
		m.set(10, credProtect);
	return m;
}
