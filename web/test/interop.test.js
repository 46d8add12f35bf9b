// Interop with the C implementation (lib/noise.c through
// test/noise/noise_peer, "peer" mode): the web phone's Noise against the
// computer's, both patterns, both ways, with protocol 2's PIN message 3
// and its answer 4 (§3.7), and refusals across the two.
// SKP_NOISE_PEER (set by meson) names noise_peer; else build/'s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Handshake } from '../src/proto/noise.js';
import { generateEcdh, keyPairFromScalarForTest, randomBytes } from '../src/proto/crypto.js';
import { ascii, toHex, fromHex, concat } from '../src/proto/bytes.js';

const PEER = process.env.SKP_NOISE_PEER ||
    fileURLToPath(new URL('../../build/test/noise/noise_peer', import.meta.url));

class CPeer {
	constructor(pattern, role) {
		if (!existsSync(PEER))
			throw new Error(`${PEER} is missing: build it first (meson compile -C build)`);
		this.p = spawn(PEER, ['peer'], { stdio: ['pipe', 'pipe', 'inherit'] });
		this.lines = createInterface({ input: this.p.stdout })[Symbol.asyncIterator]();
		this.init = (async () => {
			await this.ok('pattern', pattern === 'IK' ? 'ik' : 'kk', true);
			await this.ok('role', role, true);
		})();
	}

	async cmd(name, arg = '', text = false) {
		const a = arg instanceof Uint8Array ? toHex(arg) : arg;
		this.p.stdin.write(`${name} ${a}\n`);
		const { value, done } = await this.lines.next();
		if (done)
			throw new Error('noise_peer died');
		const f = value.trim().split(/\s+/);
		if (f[0] === 'ok')
			return { rc: 0, out: f[1] ? fromHex(f[1]) : new Uint8Array(0) };
		return { rc: Number(f[1]), out: null };
	}

	async ok(name, arg = '', text = false) {
		const { rc, out } = await this.cmd(name, arg, text);
		if (rc !== 0)
			throw new Error(`noise_peer: ${name}: error ${rc}`);
		return out;
	}

	close() {
		this.p.stdin.end('quit\n');
	}
}

// A C-side static key: a scalar the C peer takes, and its public key.
async function cStatic() {
	const d = randomBytes(32);
	d[0] &= 0x7f;	// below the group order
	d[31] |= 1;	// not zero
	return { d, pair: await keyPairFromScalarForTest(d) };
}

const PIN_PAYLOAD = concat(fromHex('a20164313233340f5876'), new Uint8Array(118));

test('KKpsk0: C computer (initiator) -> JS phone, PIN in message 3, answer in 4', async () => {
	const comp = await cStatic();
	const phone = await generateEcdh();
	const psk = randomBytes(32);
	const c = new CPeer('KK', 'initiator');
	try {
		await c.init;
		await c.ok('static', comp.d);
		await c.ok('remote_static', phone.publicKey);
		await c.ok('psk', psk);
		const js = new Handshake({ pattern: 'KK', initiator: false, s: phone,
		    rs: comp.pair.publicKey, psk });
		const req = ascii('request envelope');
		const m1 = await c.ok('write', req);
		assert.deepEqual(await js.readMessage(m1), req);
		const ask = ascii('0x36, the PIN may follow');
		const m2 = await js.writeMessage(ask);
		assert.deepEqual(await c.ok('read', m2), ask);
		assert.deepEqual(await c.ok('hash'), js.handshakeHash());
		await c.ok('split');
		const t = await js.split();
		const m3 = await c.ok('encrypt', PIN_PAYLOAD);
		assert.equal(m3.length, 144);
		assert.deepEqual(await t.decrypt(m3), PIN_PAYLOAD);
		const answer = ascii('the real answer');
		assert.deepEqual(await c.ok('decrypt', await t.encrypt(answer)), answer);
		// the keys agree both ways
		const keys = await c.ok('keys');
		assert.deepEqual(keys, concat(t.keysForTest().recv, t.keysForTest().send));
	} finally {
		c.close();
	}
});

test('KKpsk0: JS initiator -> C responder', async () => {
	const cs = await cStatic();
	const js_s = await generateEcdh();
	const psk = randomBytes(32);
	const c = new CPeer('KK', 'responder');
	try {
		await c.init;
		await c.ok('static', cs.d);
		await c.ok('remote_static', js_s.publicKey);
		await c.ok('psk', psk);
		const js = new Handshake({ pattern: 'KK', initiator: true, s: js_s,
		    rs: cs.pair.publicKey, psk });
		assert.deepEqual(await c.ok('read', await js.writeMessage(ascii('one'))), ascii('one'));
		assert.deepEqual(await js.readMessage(await c.ok('write', ascii('two'))), ascii('two'));
		assert.deepEqual(await c.ok('hash'), js.handshakeHash());
		await c.ok('split');
		const t = await js.split();
		assert.deepEqual(await c.ok('decrypt', await t.encrypt(ascii('3'))), ascii('3'));
		assert.deepEqual(await t.decrypt(await c.ok('encrypt', ascii('4'))), ascii('4'));
	} finally {
		c.close();
	}
});

test('IKpsk0 pairing: JS phone (initiator) -> C computer (responder), confirmations', async () => {
	const comp = await cStatic();
	const phone = await generateEcdh();
	const psk = randomBytes(32);
	const c = new CPeer('IK', 'responder');
	try {
		await c.init;
		await c.ok('static', comp.d);
		await c.ok('psk', psk);
		const js = new Handshake({ pattern: 'IK', initiator: true, s: phone,
		    rs: comp.pair.publicKey, psk });
		const p1 = ascii('phone payload');
		assert.deepEqual(await c.ok('read', await js.writeMessage(p1)), p1);
		assert.deepEqual(await c.ok('get_remote_static'), phone.publicKey);
		const p2 = ascii('computer payload');
		assert.deepEqual(await js.readMessage(await c.ok('write', p2)), p2);
		assert.deepEqual(await c.ok('hash'), js.handshakeHash());
		await c.ok('split');
		const t = await js.split();
		const yes = fromHex('a101f5');	// {1: true}
		assert.deepEqual(await c.ok('decrypt', await t.encrypt(yes)), yes);
		assert.deepEqual(await t.decrypt(await c.ok('encrypt', yes)), yes);
	} finally {
		c.close();
	}
});

test('IKpsk0: C initiator -> JS responder learns its static key', async () => {
	const ini = await cStatic();
	const res = await generateEcdh();
	const psk = randomBytes(32);
	const c = new CPeer('IK', 'initiator');
	try {
		await c.init;
		await c.ok('static', ini.d);
		await c.ok('remote_static', res.publicKey);
		await c.ok('psk', psk);
		const js = new Handshake({ pattern: 'IK', initiator: false, s: res, psk });
		assert.deepEqual(await js.readMessage(await c.ok('write', ascii('a'))), ascii('a'));
		assert.deepEqual(js.remoteStatic(), ini.pair.publicKey);
		assert.deepEqual(await c.ok('read', await js.writeMessage(ascii('b'))), ascii('b'));
		assert.deepEqual(await c.ok('hash'), js.handshakeHash());
	} finally {
		c.close();
	}
});

test('refusals across: wrong psk, a tampered message 2, a replayed message 3', async () => {
	const comp = await cStatic();
	const phone = await generateEcdh();
	const psk = randomBytes(32);
	// wrong psk: the JS phone cannot read C's message 1
	let c = new CPeer('KK', 'initiator');
	try {
		await c.init;
		await c.ok('static', comp.d);
		await c.ok('remote_static', phone.publicKey);
		await c.ok('psk', psk);
		const js = new Handshake({ pattern: 'KK', initiator: false, s: phone,
		    rs: comp.pair.publicKey, psk: randomBytes(32) });
		await assert.rejects(js.readMessage(await c.ok('write', ascii('x'))), { code: 'DECRYPT' });
	} finally {
		c.close();
	}
	// C refuses a tampered message 2 from the JS phone (SKP_ERR_DECRYPT, -12)
	c = new CPeer('KK', 'initiator');
	try {
		await c.init;
		await c.ok('static', comp.d);
		await c.ok('remote_static', phone.publicKey);
		await c.ok('psk', psk);
		const js = new Handshake({ pattern: 'KK', initiator: false, s: phone,
		    rs: comp.pair.publicKey, psk });
		await js.readMessage(await c.ok('write', ascii('x')));
		const m2 = await js.writeMessage(ascii('y'));
		m2[m2.length - 1] ^= 1;
		assert.equal((await c.cmd('read', m2)).rc, -12);
	} finally {
		c.close();
	}
	// a PIN message 3 replayed to the JS phone fails
	c = new CPeer('KK', 'initiator');
	try {
		await c.init;
		await c.ok('static', comp.d);
		await c.ok('remote_static', phone.publicKey);
		await c.ok('psk', psk);
		const js = new Handshake({ pattern: 'KK', initiator: false, s: phone,
		    rs: comp.pair.publicKey, psk });
		await js.readMessage(await c.ok('write', ascii('x')));
		await c.ok('read', await js.writeMessage(ascii('y')));
		await c.ok('split');
		const t = await js.split();
		const m3 = await c.ok('encrypt', PIN_PAYLOAD);
		await t.decrypt(m3);
		await assert.rejects(t.decrypt(m3), { code: 'DECRYPT' });
	} finally {
		c.close();
	}
});
