// One request on the web phone against the computer's Noise (lib/noise.c
// through test/noise/noise_peer) with envelopes the C encoders made (the
// seeds of test/fuzz/corpus/ctap_request): the phone finds the sender
// among its paired computers (§8.3 step 1), decodes the getAssertion, asks
// for the PIN (0x36, key 5), reads the C-made PIN message 3 and answers in
// transport message 4; a computer it does not know gets nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCall } from '../src/proto/call.js';
import { decodeResponse, encodeResponse, STATUS, CMD } from '../src/proto/ctap.js';
import { generateEcdh, keyPairFromScalarForTest, randomBytes } from '../src/proto/crypto.js';
import { peer } from './noisepeer.js';

const CORPUS = join(process.env.SKP_FUZZ_CORPUS ||
    fileURLToPath(new URL('../../test/fuzz/corpus', import.meta.url)), 'ctap_request');
const seed = (n) => new Uint8Array(readFileSync(join(CORPUS, n)));

async function computerSide(identityPub, psk) {
	const d = randomBytes(32);
	d[0] &= 0x7f;
	const pair = await keyPairFromScalarForTest(d);
	const c = peer();
	await c.ok('pattern', 'kk');
	await c.ok('role', 'initiator');
	await c.ok('static', d);
	await c.ok('remote_static', identityPub);
	await c.ok('psk', psk);
	return { c, publicKey: pair.publicKey };
}

test('a C-made getAssertion, the PIN asked, the C-made PIN message read, answered in message 4', async () => {
	const identity = await generateEcdh();
	const psk = randomBytes(32);
	const { c, publicKey } = await computerSide(identity.publicKey, psk);
	try {
		const decoys = [];
		for (let i = 0; i < 2; i++)
			decoys.push({ publicKey: (await generateEcdh()).publicKey, requestPsk: randomBytes(32), name: `decoy ${i}` });
		const computers = [decoys[0], { publicKey, requestPsk: psk, name: 'laptop' }, decoys[1]];
		const call = await openCall({ identity, computers,
		    message1: await c.ok('write', seed('ga-v2')) });
		assert.equal(call.computer.name, 'laptop');
		assert.equal(call.refusal, undefined);
		assert.equal(call.request.command, CMD.GET_ASSERTION);
		assert.equal(call.request.ga.rpId, 'ssh:');
		const ask = encodeResponse({ status: STATUS.PIN_REQUIRED, reason: 'PIN required',
		    pinMayFollow: true });
		const got = decodeResponse(await c.ok('read', await call.answer(ask)));
		assert.equal(got.pinMayFollow, true);
		await c.ok('split');
		const m3 = await c.ok('encrypt', seed('pin-msg'));
		assert.equal(m3.length, 144);
		assert.equal(await call.readPin(m3), '1234');
		const final = encodeResponse({ status: STATUS.PIN_INVALID, reason: 'wrong PIN' });
		const m4 = await call.answerAfterPin(final);
		assert.equal(m4.length, 1024 + 16);
		assert.deepEqual(decodeResponse(await c.ok('decrypt', m4)),
		    { status: 0x31, reason: 'wrong PIN', pinMayFollow: false });
	} finally {
		c.close();
	}
});

test('a protocol-1 request is refused with 0xF6; an unknown computer gets nothing', async () => {
	const identity = await generateEcdh();
	const psk = randomBytes(32);
	let { c, publicKey } = await computerSide(identity.publicKey, psk);
	try {
		const call = await openCall({ identity, computers: [{ publicKey, requestPsk: psk }],
		    message1: await c.ok('write', seed('ga')) });
		assert.equal(call.refusal.status, STATUS.BAD_VERSION);
		assert.equal(call.refusal.code, 'OLD_VERSION');
		const m2 = await call.answer(encodeResponse({ status: STATUS.BAD_VERSION,
		    reason: call.refusal.message, unpadded: true }));
		assert.equal(decodeResponse(await c.ok('read', m2)).status, 0xf6);
		await assert.rejects(call.readPin(new Uint8Array(144)), { code: 'STATE' });
	} finally {
		c.close();
	}
	({ c, publicKey } = await computerSide(identity.publicKey, psk));
	try {
		const stranger = { publicKey: (await generateEcdh()).publicKey, requestPsk: psk };
		await assert.rejects(openCall({ identity, computers: [stranger],
		    message1: await c.ok('write', seed('info-v2')) }), { code: 'NOT_PAIRED' });
	} finally {
		c.close();
	}
});
