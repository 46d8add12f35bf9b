// Strict CBOR (docs/PROTOCOL.md §4.1): every refusal of the profile with the
// C code's error code (the table of test/unit/test_cbor.c), the key order,
// and the encoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cbor from '../src/proto/cbor.js';
import { fromHex, toHex } from '../src/proto/bytes.js';

function code(hex, maxlen) {
	try {
		cbor.decode(fromHex(hex), maxlen);
		return 'OK';
	} catch (e) {
		if (!e.code)
			throw e;
		return e.code;
	}
}

const ZERO32 = '00'.repeat(32);

test('accepts canonical items', () => {
	for (const h of ['00', '17', '1818', '190100', '1a00010000',
	    '1b0000000100000000', '20', '3bffffffffffffffff', '40', '60',
	    '6449455446', '62c3a9', 'f4', 'f5', 'a0', '80',
	    // COSE key order: 1, 3, -1, -2, -3 (§4.1)
	    `a5010203262001215820${ZERO32}225820${ZERO32}`,
	    // integers, then text by length, then bytes
	    'a501001818002900617a0062616100'])
		assert.equal(code(h), 'OK', h);
});

const REFUSED = {
	TRUNCATED: ['18', '4301', '8201', 'a101', '9b000000010000000000',
	    'bb000000010000000000', '5b000000010000000000'],
	TRAILING: ['0000', 'a0ff', 'a10102a0', '8101f6'],
	FORMAT: [
	    // not the shortest head
	    '1817', '190017', '1900ff', '1a0000ffff', '1b00000000ffffffff',
	    '3800', '580100', '780161', '9800', 'b800', '9b00000000ffffffff00',
	    // indefinite lengths, break, reserved additional information
	    '5f4101ff', '7f6161ff', '9f01ff', 'bf0102ff', 'ff', '1c', '5d', 'fe',
	    // invalid UTF-8: byte ff, overlong '/', surrogate, > U+10FFFF, cut
	    '61ff', '62c0af', '63eda080', '64f4908080', '61c3'],
	CBOR_TYPE: [
	    // floats, tags, null, undefined, other simple values
	    'f97e00', 'fa3f800000', 'fb3ff0000000000000', 'c11a514b67b0',
	    'd818420102', 'f6', 'f7', 'f0', 'f820', '8201f6',
	    // map keys that are bytes, arrays, bools
	    'a1410001', 'a1800001', 'a1f501'],
	CBOR_ORDER: [
	    'a202010100', 'a220000100', 'a221002000', 'a26161000100',
	    'a262616100616200', 'a2616200616100', 'a21818001700',
	    'a101a202000100',
	    // duplicates
	    'a201000100', 'a220002000', 'a2616100616101'],
};

for (const [want, list] of Object.entries(REFUSED)) {
	test(`refuses with ${want}`, () => {
		for (const h of list)
			assert.equal(code(h), want, h);
	});
}

test('refuses empty input and input over the cap', () => {
	assert.equal(code(''), 'TRUNCATED');
	const b = '583c' + '00'.repeat(60);
	assert.equal(code(b, 62), 'OK');
	assert.equal(code(b, 61), 'TOO_LARGE');
});

test('depth: 16 levels load, 17 do not', () => {
	assert.equal(code('81'.repeat(15) + '00'), 'OK');
	assert.equal(code('81'.repeat(16) + '00'), 'TOO_LARGE');
});

test('items: 16384 load, 16385 do not', () => {
	const n = cbor.MAX_ITEMS;
	const arr = (k) => {
		const b = new Uint8Array(3 + k);
		b[0] = 0x99;
		b[1] = k >> 8;
		b[2] = k & 255;
		return b;
	};
	assert.throws(() => cbor.decode(arr(n)), { code: 'TOO_LARGE' });
	assert.equal(cbor.decode(arr(n - 1)).length, n - 1);
});

test('the encoder sorts keys in CTAP2 canonical order', () => {
	// The expected bytes of test_cbor.c's build_sorts_keys.
	const m = new Map([
		['aa', -2], [-25, 256], [1, new Map([[3, true], [1, 2]])],
		['a', 1], [24, new Uint8Array(0)], [0, false], [-1, ''],
	]);
	assert.equal(toHex(cbor.encode(m)),
	    'a700f401a2010203f51818402060381819010061610162616121');
	// COSE_Key and user maps of §4.1
	const cose = new Map([[-3, new Uint8Array(32)], [-2, new Uint8Array(32)],
	    [-1, 1], [3, -7], [1, 2]]);
	assert.equal(toHex(cbor.encode(cose)),
	    `a5010203262001215820${ZERO32}225820${ZERO32}`);
	const user = new Map([['displayName', 'D'], ['name', 'n'], ['id', new Uint8Array(1)]]);
	// "id" h'00', "name" "n", "displayName" "D"
	assert.equal(toHex(cbor.encode(user)),
	    'a3' + '6269644100' + '646e616d65616e' + '6b646973706c61794e616d656144');
});

test('the encoder refuses what the profile refuses', () => {
	for (const v of [1.5, null, undefined, { a: 1 }, NaN, 2 ** 60,
	    new Map([[new Uint8Array(1), 1]])])
		assert.throws(() => cbor.encode(v), { code: 'CBOR_TYPE' }, String(v));
	assert.throws(() => cbor.encode(new Uint8Array(10), 5), { code: 'TOO_LARGE' });
});

test('integers round-trip at every head size', () => {
	for (const v of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32,
	    Number.MAX_SAFE_INTEGER, 2n ** 64n - 1n, -1, -24, -25, -(2 ** 32) - 1,
	    -(2n ** 64n)]) {
		const e = cbor.encode(v);
		cbor.check(e);
		assert.equal(cbor.decode(e), v);
	}
});

test('decodeMap refuses unknown keys and non-maps', () => {
	assert.throws(() => cbor.decodeMap(fromHex('a1030a'), 100, [1, 2]), { code: 'FORMAT' });
	assert.throws(() => cbor.decodeMap(fromHex('80')), { code: 'CBOR_TYPE' });
	assert.equal(cbor.decodeMap(fromHex('a1010a'), 100, [1, 2]).get(1), 10);
});
