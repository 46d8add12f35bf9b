// The key handle, docs/PROTOCOL.md §5 (the behaviour of lib/keyhandle.c):
// "SKP" || version || phone id (16) || credential public key || L (1,
// 16..128) || credential id (L); version 0x01: a P-256 public key (65
// bytes), version 0x02: an Ed25519 public key (32 bytes). Strict decoding,
// in the page's order.

import { concat, equal } from './bytes.js';
import { isEd25519Public, isP256Public } from './crypto.js';
import { fail } from './err.js';

export const KEYHANDLE_VERSION = 1;
export const KEYHANDLE_VERSION_ED25519 = 2;
export const CRED_ID_MIN = 16;
export const CRED_ID_MAX = 128;
export const FIXED_LEN = 86;
export const KEYHANDLE_MAX = FIXED_LEN + CRED_ID_MAX;
export const FIXED_LEN_ED25519 = 53;
export const KEYHANDLE_MAX_ED25519 = FIXED_LEN_ED25519 + CRED_ID_MAX;
const MAGIC = Uint8Array.of(0x53, 0x4b, 0x50);

// publicKey: 65 bytes (P-256, version 1) or 32 (Ed25519, version 2).
export function encodeKeyHandle({ phoneId, publicKey, credId }) {
	if (!(credId instanceof Uint8Array) || credId.length < CRED_ID_MIN ||
	    credId.length > CRED_ID_MAX)
		fail('INVALID', 'a credential id is 16 to 128 bytes');
	if (!(phoneId instanceof Uint8Array) || phoneId.length !== 16)
		fail('INVALID', 'a phone id is 16 bytes');
	const ed = publicKey instanceof Uint8Array && publicKey.length === 32;
	if (ed ? !isEd25519Public(publicKey) : !isP256Public(publicKey))
		fail('CRYPTO', ed ? 'not an Ed25519 public key' : 'not a P-256 public key');
	return concat(MAGIC, [ed ? KEYHANDLE_VERSION_ED25519 : KEYHANDLE_VERSION], phoneId,
	    publicKey, [credId.length], credId);
}

// -> { version, phoneId, publicKey, credId }; throws TRUNCATED, FORMAT,
// VERSION, TOO_LARGE, TRAILING or CRYPTO.
export function decodeKeyHandle(b) {
	if (!(b instanceof Uint8Array))
		fail('INVALID', 'a key handle is bytes');
	if (b.length < 3)
		fail('TRUNCATED', 'key handle cut short');
	if (!equal(b.subarray(0, 3), MAGIC))
		fail('FORMAT', 'not an sk-phone key handle');
	if (b.length < 4)
		fail('TRUNCATED', 'key handle cut short');
	const version = b[3];
	if (version > KEYHANDLE_VERSION_ED25519)
		fail('VERSION', 'this key was made by a newer sk-phone: update sk-phone');
	if (version === 0)
		fail('FORMAT', 'key handle version 0');
	const ed = version === KEYHANDLE_VERSION_ED25519;
	const fixed = ed ? FIXED_LEN_ED25519 : FIXED_LEN;
	const max = ed ? KEYHANDLE_MAX_ED25519 : KEYHANDLE_MAX;
	if (b.length > max)
		fail('TOO_LARGE', `key handle over ${max} bytes`);
	if (b.length < fixed)
		fail('TRUNCATED', 'key handle cut short');
	const L = b[fixed - 1];
	if (L < CRED_ID_MIN || L > CRED_ID_MAX)
		fail('FORMAT', 'credential id length outside 16..128');
	if (b.length < fixed + L)
		fail('TRUNCATED', 'key handle cut short');
	if (b.length > fixed + L)
		fail('TRAILING', 'bytes after the credential id');
	const publicKey = b.slice(20, fixed - 1);
	if (ed ? !isEd25519Public(publicKey) : !isP256Public(publicKey))
		fail('CRYPTO', ed ? 'the key handle\'s public key is not an Ed25519 point' :
		    'the key handle\'s public key is not a P-256 point');
	return { version, phoneId: b.slice(4, 20), publicKey, credId: b.slice(fixed) };
}
