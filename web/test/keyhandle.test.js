// The key handle (docs/PROTOCOL.md §5): the page's vector, read from it,
// and every refusal of the decoding order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKeyHandle, encodeKeyHandle } from '../src/proto/keyhandle.js';
import { generateEd25519, isEd25519Public } from '../src/proto/crypto.js';
import { fromHex, toHex, concat } from '../src/proto/bytes.js';
import { protocolMd, between } from './vectors.js';

const sec = between(protocolMd(), '## 5 The key handle', '## 6 State on disk');
const block = between(between(sec, '### Test vector', '102 bytes in all'), '```', '```');
// hex words at the start of each line, up to the annotation
let hex = '';
for (const line of block.split('\n')) {
	const m = /^\s*([0-9a-f]+)/.exec(line);
	if (m)
		hex += m[1];
}
const VEC = fromHex(hex);

function code(b) {
	try {
		decodeKeyHandle(b);
		return 'OK';
	} catch (e) {
		if (!e.code)
			throw e;
		return e.code;
	}
}

test('§5 vector: 102 bytes, decodes and encodes back', () => {
	assert.equal(VEC.length, 102);
	const kh = decodeKeyHandle(VEC);
	assert.equal(toHex(kh.phoneId), '320e65a0432b88f32b0c3fa9e0125fd6');
	assert.equal(toHex(kh.credId), 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
	assert.deepEqual(encodeKeyHandle(kh), VEC);
});

test('§5 decoding refusals, in order', () => {
	const v = (i, b) => {
		const c = VEC.slice();
		c[i] = b;
		return c;
	};
	assert.equal(code(VEC.slice(0, 2)), 'TRUNCATED');
	assert.equal(code(fromHex('53')), 'TRUNCATED');
	assert.equal(code(v(0, 0x54)), 'FORMAT');
	assert.equal(code(VEC.slice(0, 3)), 'TRUNCATED');
	assert.equal(code(v(3, 3)), 'VERSION');
	assert.equal(code(concat(fromHex('534b5003'), new Uint8Array(300))), 'VERSION');
	assert.equal(code(v(3, 0)), 'FORMAT');
	assert.equal(code(concat(VEC, new Uint8Array(113))), 'TOO_LARGE');
	assert.equal(code(VEC.slice(0, 20)), 'TRUNCATED');
	assert.equal(code(VEC.slice(0, 85)), 'TRUNCATED');
	assert.equal(code(v(85, 15)), 'FORMAT');
	assert.equal(code(v(85, 129)), 'FORMAT');
	assert.equal(code(VEC.slice(0, 101)), 'TRUNCATED');
	assert.equal(code(concat(VEC, [0])), 'TRAILING');
	assert.equal(code(v(20, 2)), 'CRYPTO');
	assert.equal(code(v(84, VEC[84] ^ 1)), 'CRYPTO');
	// the longest: L = 128, 214 bytes
	const long = concat(VEC.slice(0, 85), [128], new Uint8Array(128));
	assert.equal(code(long), 'OK');
	assert.equal(long.length, 214);
});

test('the encoder refuses a bad length or key', () => {
	const kh = decodeKeyHandle(VEC);
	assert.throws(() => encodeKeyHandle({ ...kh, credId: new Uint8Array(15) }), { code: 'INVALID' });
	assert.throws(() => encodeKeyHandle({ ...kh, credId: new Uint8Array(129) }), { code: 'INVALID' });
	const bad = kh.publicKey.slice();
	bad[64] ^= 1;
	assert.throws(() => encodeKeyHandle({ ...kh, publicKey: bad }), { code: 'CRYPTO' });
});

// §5's version 2 vector, read from the page.
const block2 = between(sec.slice(sec.indexOf('Version 2: the same phone id')), '```', '```');
let hex2 = '';
for (const line of block2.split('\n')) {
	const m = /^([0-9a-f]+)(\s|$)/.exec(line);
	if (m)
		hex2 += m[1];
}
const VEC2 = fromHex(hex2);

test('§5 version 2 vector: 69 bytes, decodes and encodes back', () => {
	assert.equal(VEC2.length, 69);
	const kh = decodeKeyHandle(VEC2);
	assert.equal(kh.version, 2);
	assert.equal(toHex(kh.publicKey), 'd75a980182b10ab7d54bfed3c964073a' +
	    '0ee172f3daa62325af021a68f707511a');
	assert.equal(toHex(kh.credId), 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
	assert.deepEqual(encodeKeyHandle(kh), VEC2);
});

// Version 2 (issue 13): an Ed25519 public key, 53 + L bytes, 69..181.
test('§5 version 2: Ed25519, 69..181 bytes, its refusals', async () => {
	const { publicKey } = await generateEd25519();
	const phoneId = fromHex('320e65a0432b88f32b0c3fa9e0125fd6');
	const credId = fromHex('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
	const kh = encodeKeyHandle({ phoneId, publicKey, credId });
	assert.equal(kh.length, 69);
	assert.equal(kh[3], 2);
	const d = decodeKeyHandle(kh);
	assert.equal(d.version, 2);
	assert.deepEqual(d.publicKey, publicKey);
	assert.deepEqual(d.credId, credId);
	const long = encodeKeyHandle({ phoneId, publicKey, credId: new Uint8Array(128) });
	assert.equal(long.length, 181);
	assert.equal(code(long), 'OK');
	assert.equal(code(concat(long, [0])), 'TOO_LARGE');
	assert.equal(code(kh.slice(0, 52)), 'TRUNCATED');
	const l = kh.slice();
	l[52] = 15;
	assert.equal(code(l), 'FORMAT');
	assert.equal(code(kh.slice(0, 68)), 'TRUNCATED');
	assert.equal(code(concat(kh, [0])), 'TRAILING');
	// small order (y = 1, y = 0, y = -1) and y >= p are no key
	const withKey = (pk) => concat(kh.slice(0, 20), pk, kh.slice(52));
	const one = new Uint8Array(32);
	one[0] = 1;
	assert.equal(code(withKey(one)), 'CRYPTO');
	assert.equal(code(withKey(new Uint8Array(32))), 'CRYPTO');
	const p = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
	assert.equal(code(withKey(p)), 'CRYPTO');
	// y = 2: x^2 = 3 / (4d + 1) is no square mod p
	const two = new Uint8Array(32);
	two[0] = 2;
	assert.equal(isEd25519Public(two), false);
	assert.equal(code(withKey(two)), 'CRYPTO');
	// RFC 8032 7.1 test 1's public key is a point
	assert.equal(isEd25519Public(fromHex('d75a980182b10ab7d54bfed3c964073a' +
	    '0ee172f3daa62325af021a68f707511a')), true);
});
