// The key handle, docs/PROTOCOL.md §5 (the behaviour of lib/keyhandle.c):
// "SKP" || 0x01 || phone id (16) || credential public key (65) || L (1,
// 16..128) || credential id (L). Strict decoding, in the page's order.

import { concat, equal } from './bytes.js';
import { isP256Public } from './crypto.js';
import { fail } from './err.js';

export const KEYHANDLE_VERSION = 1;
export const CRED_ID_MIN = 16;
export const CRED_ID_MAX = 128;
export const FIXED_LEN = 86;
export const KEYHANDLE_MAX = FIXED_LEN + CRED_ID_MAX;
const MAGIC = Uint8Array.of(0x53, 0x4b, 0x50);

export function encodeKeyHandle({ phoneId, publicKey, credId }) {
	if (!(credId instanceof Uint8Array) || credId.length < CRED_ID_MIN ||
	    credId.length > CRED_ID_MAX)
		fail('INVALID', 'a credential id is 16 to 128 bytes');
	if (!(phoneId instanceof Uint8Array) || phoneId.length !== 16)
		fail('INVALID', 'a phone id is 16 bytes');
	if (!isP256Public(publicKey))
		fail('CRYPTO', 'not a P-256 public key');
	return concat(MAGIC, [KEYHANDLE_VERSION], phoneId, publicKey, [credId.length], credId);
}

// -> { phoneId, publicKey, credId }; throws TRUNCATED, FORMAT, VERSION,
// TOO_LARGE, TRAILING or CRYPTO.
export function decodeKeyHandle(b) {
	if (!(b instanceof Uint8Array))
		fail('INVALID', 'a key handle is bytes');
	if (b.length < 3)
		fail('TRUNCATED', 'key handle cut short');
	if (!equal(b.subarray(0, 3), MAGIC))
		fail('FORMAT', 'not an sk-phone key handle');
	if (b.length < 4)
		fail('TRUNCATED', 'key handle cut short');
	if (b[3] > KEYHANDLE_VERSION)
		fail('VERSION', 'this key was made by a newer sk-phone: update sk-phone');
	if (b[3] !== KEYHANDLE_VERSION)
		fail('FORMAT', 'key handle version 0');
	if (b.length > KEYHANDLE_MAX)
		fail('TOO_LARGE', 'key handle over 214 bytes');
	if (b.length < FIXED_LEN)
		fail('TRUNCATED', 'key handle cut short');
	const L = b[FIXED_LEN - 1];
	if (L < CRED_ID_MIN || L > CRED_ID_MAX)
		fail('FORMAT', 'credential id length outside 16..128');
	if (b.length < FIXED_LEN + L)
		fail('TRUNCATED', 'key handle cut short');
	if (b.length > FIXED_LEN + L)
		fail('TRAILING', 'bytes after the credential id');
	const publicKey = b.slice(20, 85);
	if (!isP256Public(publicKey))
		fail('CRYPTO', 'the key handle\'s public key is not a P-256 point');
	return { phoneId: b.slice(4, 20), publicKey, credId: b.slice(FIXED_LEN) };
}
