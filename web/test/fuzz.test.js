// The JavaScript parsers of network data against hostile input: the C
// harnesses' seed corpora (test/fuzz/corpus/NAME) replayed, then inputs
// mutated from them by a PRNG with a fixed seed (the same inputs on every
// run, so a failure reproduces). Each parser must answer or throw an
// SkpError (never another exception), and what it accepts must encode
// back to what it read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as cbor from '../src/proto/cbor.js';
import * as ctap from '../src/proto/ctap.js';
import { SkpError, CODES } from '../src/proto/err.js';
import { decodeKeyHandle, encodeKeyHandle } from '../src/proto/keyhandle.js';
import { parsePairUri, encodePairUri } from '../src/proto/pairuri.js';
import { parseRelayUrl } from '../src/proto/relayurl.js';
import { encodeFrame, parseFrame } from '../src/app/relay.js';
import { parsePushPayload } from '../src/app/pushnotify.js';
import { b64urlEncode } from '../src/proto/bytes.js';

const CORPUS = process.env.SKP_FUZZ_CORPUS ||
    fileURLToPath(new URL('../../test/fuzz/corpus', import.meta.url));
const MUTATIONS = 1500;

function seeds(name) {
	const dir = join(CORPUS, name);
	const out = readdirSync(dir).sort().map((f) => new Uint8Array(readFileSync(join(dir, f))));
	assert.ok(out.length > 0, `no seeds in ${dir}`);
	return out;
}

// xorshift32 with a fixed seed
function prng(seed) {
	let x = seed >>> 0 || 1;
	return (n) => {
		x ^= x << 13; x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5; x >>>= 0;
		return n ? x % n : x;
	};
}

const INTERESTING = [0, 1, 0x17, 0x18, 0x19, 0x1f, 0x20, 0x3f, 0x40, 0x5f, 0x7f, 0x80,
    0x9f, 0xa0, 0xbf, 0xc0, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfb, 0xff, 0x25, 0x26, 0x2f, 0x3a];

function mutate(r, list) {
	const a = list[r(list.length)];
	const b = list[r(list.length)];
	let m = Array.from(a);
	const steps = 1 + r(4);
	for (let s = 0; s < steps; s++) {
		const i = m.length ? r(m.length) : 0;
		switch (r(6)) {
		case 0: if (m.length) m[i] ^= 1 << r(8); break;
		case 1: if (m.length) m[i] = INTERESTING[r(INTERESTING.length)]; break;
		case 2: m.splice(i, 0, r(256)); break;
		case 3: m.splice(i, 1 + r(8)); break;
		case 4: { const j = r(m.length + 1); m = m.slice(0, i).concat(m.slice(i, j).concat(m.slice(i, j)), m.slice(j)); break; }
		default: m = m.slice(0, i).concat(Array.from(b.slice(r(b.length + 1)))); break;
		}
	}
	return Uint8Array.from(m.slice(0, 70000));
}

// Runs fn on every seed and on MUTATIONS mutants; fn throws only SkpError.
function run(name, seedName, fn) {
	const list = seeds(seedName);
	const r = prng(0x5eed ^ name.length * 7919);
	let accepted = 0, refused = 0;
	const one = (input) => {
		try {
			fn(input);
			accepted++;
		} catch (e) {
			if (!(e instanceof SkpError) || !(e.code in CODES))
				assert.fail(`${name}: ${e && e.stack} on input ${Buffer.from(input).toString('hex')}`);
			refused++;
		}
	};
	for (const s of list)
		one(s);
	for (let i = 0; i < MUTATIONS; i++)
		one(mutate(r, list));
	return { accepted, refused };
}

const latin1 = (b) => String.fromCharCode(...b);
const utf8 = (b) => new TextDecoder().decode(b);

test('fuzz: strict CBOR (ctap_request and ctap_response seeds)', () => {
	for (const seedName of ['ctap_request', 'ctap_response']) {
		const { accepted } = run(`cbor-${seedName}`, seedName, (b) => {
			const v = cbor.decode(b);
			assert.deepEqual(cbor.encode(v), b, 'accepted CBOR encodes back to the bytes');
		});
		assert.ok(accepted > 0);
	}
});

test('fuzz: the request envelope and the PIN message', () => {
	const { accepted, refused } = run('request', 'ctap_request', (b) => {
		try {
			ctap.decodeRequest(b);
		} catch (e) {
			if (e instanceof SkpError)
				assert.ok(Number.isInteger(e.status) && e.status > 0 && e.status < 256,
				    'a refused request names its CTAP status');
			throw e;
		}
	});
	assert.ok(accepted > 0 && refused > 0, `${accepted} accepted, ${refused} refused`);
	run('pin', 'ctap_request', (b) => {
		const pin = ctap.decodePin(b);
		assert.equal(ctap.decodePin(ctap.encodePin(pin)), pin);
	});
});

test('fuzz: the response envelope', () => {
	run('response', 'ctap_response', (b) => ctap.decodeResponse(b));
});

test('fuzz: the pairing URI, as text both ways', () => {
	for (const dec of [latin1, utf8]) {
		const { accepted } = run(`pairuri-${dec.name}`, 'pairuri', (b) => {
			const u = parsePairUri(dec(b));
			assert.deepEqual(parsePairUri(encodePairUri(u)), u);
		});
		assert.ok(accepted > 0);
	}
});

test('fuzz: the relay URL', () => {
	const { accepted } = run('relayurl', 'relayurl', (b) => parseRelayUrl(latin1(b)));
	assert.ok(accepted > 0);
});

test('fuzz: the key handle', () => {
	const { accepted } = run('keyhandle', 'keyhandle', (b) => {
		assert.deepEqual(encodeKeyHandle(decodeKeyHandle(b)), b);
	});
	assert.ok(accepted > 0);
});

test('fuzz: a push\'s payload (the service worker, PROTOCOL.md §7.11)', () => {
	const { accepted, refused } = run('pushpayload', 'web_push_payload', (b) => {
		const m = parsePushPayload(utf8(b));
		if (m !== null)
			assert.deepEqual(parsePushPayload(`{"v":2,"call":"${b64urlEncode(m)}"}`), m);
	});
	assert.ok(accepted > 0 && refused > 0, `${accepted} accepted, ${refused} refused`);
});

test('fuzz: a frame from the relay (the web phone\'s relay client)', () => {
	const { accepted, refused } = run('relayframe', 'relay_frame', (b) => {
		const f = parseFrame(b);
		assert.deepEqual(encodeFrame(f.kind, f.chan, f.body), b, 'an accepted frame encodes back');
	});
	assert.ok(accepted > 0 && refused > 0);
});
