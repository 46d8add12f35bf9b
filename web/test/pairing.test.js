// The phone's side of pairing against the computer's Noise (lib/noise.c
// through test/noise/noise_peer): a URI made for the C side's key, the
// phone's hello, the computer's reply, the same handshake hash on both
// sides (so the same 6 digits), the confirmations each way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPairing } from '../src/proto/pairing.js';
import { decodeConfirm, decodeHello, encodeConfirm, encodeReply } from '../src/proto/pairpayload.js';
import { confirmCode, encodePairUri, pairingPsk, requestPsk } from '../src/proto/pairuri.js';
import { generateEcdh, keyPairFromScalarForTest, randomBytes } from '../src/proto/crypto.js';
import { peer } from './noisepeer.js';

async function setup(over = {}) {
	const d = randomBytes(32);
	d[0] &= 0x7f;
	const computer = await keyPairFromScalarForTest(d);
	const secret = randomBytes(16);
	const now = 1700000000;
	const uri = encodePairUri({ computerPub: computer.publicKey, secret,
	    relay: 'wss://relay.example.org/sk', name: 'work laptop', created: over.created ?? now });
	const c = peer();
	await c.ok('pattern', 'ik');
	await c.ok('role', 'responder');
	await c.ok('static', d);
	await c.ok('psk', await pairingPsk(over.otherSecret ?? secret));
	return { c, uri, now, computer };
}

test('pairing: the web phone and the C computer agree on the code and the request psk', async () => {
	const { c, uri, now } = await setup();
	try {
		const identity = await generateEcdh();
		const mailboxId = randomBytes(32);
		const p = await startPairing({ uri, identity, mailboxId, relayUrl: 'wss://relay.example.org/sk',
		    name: 'my phone', now: now + 10 });
		const hello = decodeHello(await c.ok('read', p.message1));
		assert.deepEqual(hello, { name: 'my phone', mailboxId, relayUrl: 'wss://relay.example.org/sk' });
		assert.deepEqual(await c.ok('get_remote_static'), identity.publicKey);
		const r = await p.finish(await c.ok('write', encodeReply('work laptop')));
		assert.equal(r.computerName, 'work laptop');
		const h = await c.ok('hash');
		assert.equal(r.code.text, (await confirmCode(h)).text);
		assert.match(r.code.text, /^\d{6}$/);
		assert.deepEqual(r.requestPsk, await requestPsk(h));
		await c.ok('split');
		decodeConfirm(await c.ok('decrypt', await r.transport.encrypt(encodeConfirm())));
		decodeConfirm(await r.transport.decrypt(await c.ok('encrypt', encodeConfirm())));
	} finally {
		c.close();
	}
});

test('pairing refusals: an old code, a computer that lacks the QR secret', async () => {
	let { c, uri, now } = await setup({ created: 1700000000 - 301 });
	c.close();
	const base = { identity: await generateEcdh(), mailboxId: new Uint8Array(32),
	    relayUrl: 'wss://h', name: 'p' };
	await assert.rejects(startPairing({ ...base, uri, now }), { code: 'EXPIRED' });
	({ c, uri, now } = await setup({ otherSecret: randomBytes(16) }));
	try {
		const p = await startPairing({ ...base, uri, now });
		await assert.rejects(c.ok('read', p.message1), (e) => e.rc === -12);
	} finally {
		c.close();
	}
});
