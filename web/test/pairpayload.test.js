// The pairing payloads (docs/PROTOCOL.md §1, lib/pairflow.c): what the C
// side wrote in the seed corpus of test/fuzz/fuzz_pair_payload.c is read
// the same way here (the seeds named refused-* are refused), and the
// encoders give back those bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pp from '../src/proto/pairpayload.js';
import { fromHex, toHex } from '../src/proto/bytes.js';
import * as cbor from '../src/proto/cbor.js';

const CORPUS = join(process.env.SKP_FUZZ_CORPUS ||
    fileURLToPath(new URL('../../test/fuzz/corpus', import.meta.url)), 'pair_payload');
const seed = (n) => new Uint8Array(readFileSync(join(CORPUS, n)));

const code = (fn) => {
	try {
		fn();
		return 'OK';
	} catch (e) {
		if (!e.code)
			throw e;
		return e.code;
	}
};

test('the C seeds: hello, reply, confirmation read and encoded back', () => {
	for (const n of ['hello', 'hello-utf8']) {
		const h = pp.decodeHello(seed(n));
		assert.equal(h.mailboxId.length, 32);
		assert.deepEqual(pp.encodeHello(h), seed(n));
	}
	const r = pp.decodeReply(seed('reply'));
	assert.deepEqual(pp.encodeReply(r), seed('reply'));
	pp.decodeConfirm(seed('confirm'));
	assert.deepEqual(pp.encodeConfirm(), seed('confirm'));
	assert.equal(toHex(pp.encodeConfirm()), 'a101f5');
});

test('the C seeds named refused-* are refused', () => {
	assert.equal(code(() => pp.decodeConfirm(seed('refused-confirm-false'))), 'REJECTED');
	assert.equal(code(() => pp.decodeHello(seed('refused-hello-control-name'))), 'FORMAT');
	assert.equal(code(() => pp.decodeHello(seed('refused-hello-extra-key'))), 'FORMAT');
	assert.equal(code(() => pp.decodeHello(seed('refused-hello-short-mailbox'))), 'FORMAT');
	assert.equal(code(() => pp.decodeReply(seed('refused-reply-long-name'))), 'TOO_LARGE');
	assert.equal(code(() => pp.decodeReply(seed('refused-reply-unsorted'))), 'CBOR_ORDER');
});

test('refusals and the encoders\' checks', () => {
	const id = new Uint8Array(32);
	const hello = pp.encodeHello({ name: 'phone 📱', mailboxId: id, relayUrl: 'wss://h/x' });
	assert.deepEqual(pp.decodeHello(hello), { name: 'phone 📱', mailboxId: id, relayUrl: 'wss://h/x' });
	assert.throws(() => pp.encodeHello({ name: 'a\u202eb', mailboxId: id, relayUrl: 'wss://h' }),
	    { code: 'INVALID' });
	assert.throws(() => pp.encodeHello({ name: 'a', mailboxId: id, relayUrl: 'wss://h?x' }),
	    { code: 'INVALID' });
	const bad = (m) => code(() => pp.decodeHello(cbor.encode(m)));
	assert.equal(bad(new Map([[1, 'a'], [2, id], [3, 'http://h']])), 'FORMAT');
	assert.equal(bad(new Map([[1, 'a'], [2, new Uint8Array(33)], [3, 'ws://h']])), 'TOO_LARGE');
	assert.equal(bad(new Map([[1, 'a'], [3, 'ws://h']])), 'FORMAT');
	assert.equal(bad(new Map([[1, 1], [2, id], [3, 'ws://h']])), 'CBOR_TYPE');
	assert.equal(bad(['a']), 'CBOR_TYPE');
	assert.equal(code(() => pp.decodeConfirm(fromHex('a10101'))), 'CBOR_TYPE');
	assert.equal(code(() => pp.decodeConfirm(new Uint8Array(1025))), 'TOO_LARGE');
});
