// The envelopes and the phone's request decoding (docs/PROTOCOL.md §4.2-
// §4.6): the page's examples (getInfo, FORGET, the refusal, the rotation
// answer, the PIN question, the PIN message), read from PROTOCOL.md; the
// padding buckets; the request refusals with the CTAP status the phone
// answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ctap from '../src/proto/ctap.js';
import * as cbor from '../src/proto/cbor.js';
import { fromHex, toHex, concat, utf8 } from '../src/proto/bytes.js';
import { sha256 } from '../src/proto/crypto.js';
import { protocolMd, between, namedHex } from './vectors.js';

const md = protocolMd();
const S42 = between(md, '### 4.2 Envelopes', '### 4.3 Context map');
const { STATUS, CMD } = ctap;

// An annotated hex block: the hex words that start each line, up to the
// first word that is not hex; "00 .. 00" ends the written bytes (zeros up
// to the stated size follow).
function annotated(block) {
	let hex = '';
	for (const line of block.split('\n')) {
		const words = line.trim().split(/\s+/);
		for (let i = 0; i < words.length; i++) {
			if (words[i] === '..') {
				hex = hex.slice(0, -2);	// the "00" before ".."
				break;
			}
			if (!/^[0-9a-f]+$/.test(words[i]) || words[i].length % 2)
				break;
			hex += words[i];
		}
	}
	return hex;
}

// `hex` and N zero bytes, inline in the text.
const INLINE = [...S42.matchAll(/`([0-9a-f\s]+)`\s+and\s+(\d+)\s+zero bytes/g)]
    .map((m) => ({ hex: m[1].replace(/\s+/g, ''), zeros: Number(m[2]) }));

function padded({ hex, zeros }) {
	return concat(fromHex(hex), new Uint8Array(zeros));
}

function withZeros(hex, total) {
	const b = fromHex(hex);
	return concat(b, new Uint8Array(total - b.length));
}

const GETINFO = {
	id: fromHex('000102030405060708090a0b0c0d0e0f'), timeMs: 1700000000000,
	command: CMD.GET_INFO, ctx: { computerName: 'lap' },
};

test('§4.2 getInfo example, 2048 bytes; and as FORGET', () => {
	const ex = between(S42, 'Example: a getInfo request', 'The same request as FORGET');
	const hex = annotated(between(ex, '```', '```'));
	const want = withZeros(hex, 2048);
	const got = ctap.encodeRequest(GETINFO);
	assert.equal(toHex(got), toHex(want));
	const req = ctap.decodeRequest(got);
	assert.equal(req.command, CMD.GET_INFO);
	assert.deepEqual(req.id, GETINFO.id);
	assert.equal(req.timeMs, 1700000000000);
	assert.equal(req.ctx.computerName, 'lap');
	// FORGET: key 4 is 18 41, the padding one byte shorter
	const forget = ctap.encodeRequest({ ...GETINFO, command: CMD.FORGET });
	assert.equal(forget.length, 2048);
	assert.ok(toHex(forget).includes('041841'));
	assert.ok(toHex(forget).includes('0f5907d3'));
	assert.match(S42, /`04 18 41`/);
	assert.match(S42, /`0f 59 07d3`/);
	assert.equal(ctap.decodeRequest(forget).command, CMD.FORGET);
});

test('§4.2 answers: the refusal, the PIN question, the PIN message', () => {
	assert.equal(INLINE.length, 3);
	const [denied, question, pin] = INLINE;
	const d = ctap.encodeResponse({ status: STATUS.OPERATION_DENIED, reason: 'no' });
	assert.equal(d.length, 1024);
	assert.deepEqual(d, padded(denied));
	const q = ctap.encodeResponse({ status: STATUS.PIN_REQUIRED, reason: 'PIN required',
	    pinMayFollow: true });
	assert.deepEqual(q, padded(question));
	assert.deepEqual(ctap.decodeResponse(q), { status: 0x36, reason: 'PIN required',
	    pinMayFollow: true });
	const p = ctap.encodePin('1234');
	assert.equal(p.length, 128);
	assert.deepEqual(p, padded(pin));
	assert.equal(ctap.decodePin(p), '1234');
	// the same bytes as §3.10.1's message 3 payload
	const PIN = namedHex(between(md, '<!-- pin vector begin -->', '<!-- pin vector end -->'));
	assert.equal(toHex(p), PIN.get('KKpsk0.pin.msg3_payload'));
});

test('§3.10.1 message 4 payload: {1: 0x31, 3: "wrong PIN"} padded to 1024', () => {
	const sec = between(md, '#### 3.10.1 The PIN in a request', '<!-- pin vector begin -->');
	const m = /`(a3 01 18 31[0-9a-f\s]+)`\s+and\s+(\d+)\s+zero bytes/.exec(sec);
	const want = padded({ hex: m[1].replace(/\s+/g, ''), zeros: Number(m[2]) });
	assert.deepEqual(ctap.encodeResponse({ status: STATUS.PIN_INVALID, reason: 'wrong PIN' }), want);
});

test('§4.2 the answer after a mailbox rotation', () => {
	const ex = between(S42, 'The same after a rotation', ' The PIN question');
	const hex = annotated(between(ex, '```', '```'));
	const r = ctap.encodeResponse({
		status: STATUS.OPERATION_DENIED, reason: 'no',
		move: { id: fromHex('6700dc1d4b0287376810b072ff86e790745a06a6893acf73b1e61d3bd7096a66'),
		    relay: 'wss://relay.example.org' },
	});
	assert.equal(toHex(r), toHex(withZeros(hex, 1024)));
	const d = ctap.decodeResponse(r);
	assert.equal(d.move.relay, 'wss://relay.example.org');
	// a move to a relay URL the pairing URI refuses is FORMAT
	const bad = cbor.encode(new Map([[1, 0x27], [4, new Map([[1, new Uint8Array(32)],
	    [2, 'http://h']])]]));
	assert.throws(() => ctap.decodeResponse(bad), { code: 'FORMAT' });
});

test('padding: every bucket, skipped rooms of 26 and 259, too large', () => {
	// a map {1: bytes(k)} of exactly len bytes, when one exists
	const mk = (len) => {
		for (const over of [3, 4, 5, 7]) {
			const k = len - over;
			if (k < 0)
				continue;
			const b = cbor.encode(new Map([[1, new Uint8Array(k)]]));
			if (b.length === len)
				return b;
		}
		return null;
	};
	const B = ctap.RESPONSE_BUCKETS;
	for (const [len, want] of [[3, 1024], [1022, 1024], [1023, 4096], [1024, 4096],
	    [1024 - 25, 1024], [1024 - 26, 4096], [1024 - 27, 1024], [1024 - 258, 1024],
	    [1024 - 259, 4096], [1024 - 260, 1024], [4094, 4096], [16000, 16384],
	    [64998, 65000]]) {
		const b = mk(len);
		assert.ok(b, `a map of ${len} bytes`);
		const p = ctap.padTo(b, B);
		assert.equal(p.length, want, `len ${len}`);
		const m = cbor.decode(p);
		assert.ok(m.get(15).every((x) => x === 0));
		assert.deepEqual(m.get(1), cbor.decode(b).get(1));
	}
	assert.throws(() => ctap.padTo(mk(64999), B), { code: 'TOO_LARGE' });
	assert.throws(() => ctap.padTo(mk(65001), B), { code: 'TOO_LARGE' });
	assert.deepEqual(ctap.REQUEST_BUCKETS, [2048, 8192, 32768, 65000]);
	assert.equal(ctap.padTo(mk(2047), ctap.REQUEST_BUCKETS).length, 8192);
});

// A getAssertion request as libsk-phone sends it (§4.6).
async function gaRequest(over = {}) {
	const raw = utf8('SSH userauth data');
	const cdh = await sha256(raw);
	const params = over.params ?? new Map([[1, 'ssh:'], [2, cdh],
	    [3, [new Map([['id', new Uint8Array(16).fill(0xa0)], ['type', 'public-key']])]],
	    [5, new Map([['up', true]])]]);
	const ctx = { raw, computerName: 'lap', ...over.ctx };
	return ctap.encodeRequest({ ...GETINFO, command: CMD.GET_ASSERTION, params, ctx,
	    version: over.version ?? 2 });
}

function mcParams(over = {}) {
	return new Map([[1, new Uint8Array(32)],
	    [2, new Map([['id', 'ssh:'], ['name', 'ssh:']])],
	    [3, new Map([['id', new Uint8Array(32)], ['name', 'openssh'], ['displayName', 'openssh']])],
	    [4, over.algs ?? [new Map([['alg', -7], ['type', 'public-key']])]],
	    ...(over.ext ? [[6, over.ext]] : []),
	    [7, new Map([['rk', true], ['uv', true]])]]);
}

test('getAssertion and makeCredential decode; the raw data must hash to cdh', async () => {
	const req = ctap.decodeRequest(await gaRequest());
	assert.equal(req.ga.rpId, 'ssh:');
	assert.equal(req.ga.allow.length, 1);
	assert.equal(req.ga.up, true);
	assert.equal(req.ga.uv, undefined);
	assert.ok(await ctap.rawMatches(req));
	const mc = ctap.decodeRequest(ctap.encodeRequest({ ...GETINFO, command: CMD.MAKE_CREDENTIAL,
	    params: mcParams({ ext: new Map([['credProtect', 3]]) }),
	    ctx: { raw: new Uint8Array(5), computerName: 'lap', overwrite: true } }));
	assert.equal(mc.mc.rpId, 'ssh:');
	assert.equal(mc.mc.credProtect, 3);
	assert.equal(mc.mc.rk, true);
	assert.equal(mc.ctx.overwrite, true);
	assert.equal(await ctap.rawMatches(mc), false);	// cdh of zeros: 0xF2
	// §4.5's pubKeyCredParams example
	const ex = /Example pubKeyCredParams: `([0-9a-f\s]+)`/.exec(md)[1].replace(/\s+/g, '');
	assert.equal(toHex(cbor.encode([new Map([['alg', -7], ['type', 'public-key']])])), ex);
});

function refusal(bytes) {
	try {
		ctap.decodeRequest(bytes);
		return 'OK';
	} catch (e) {
		if (!e.code)
			throw e;
		return [e.code, e.status];
	}
}

test('request refusals with their CTAP status', async () => {
	const enc = (m) => cbor.encode(m);
	const base = () => cbor.decode(ctap.encodeRequest(GETINFO));
	const without = (k) => { const m = base(); m.delete(k); return enc(m); };
	const set = (k, v) => { const m = base(); m.set(k, v); return enc(m); };
	// the version first, before any other key
	assert.deepEqual(refusal(await gaRequest({ version: 3 })), ['VERSION', STATUS.BAD_VERSION]);
	assert.deepEqual(refusal(await gaRequest({ version: 1 })), ['OLD_VERSION', STATUS.BAD_VERSION]);
	assert.deepEqual(refusal(enc(new Map([[1, 3], ['x', 1]]))), ['VERSION', STATUS.BAD_VERSION]);
	assert.deepEqual(refusal(without(1)), ['FORMAT', STATUS.MISSING_PARAMETER]);
	assert.deepEqual(refusal(set(1, '2')), ['CBOR_TYPE', STATUS.CBOR_UNEXPECTED_TYPE]);
	// unknown keys, padding
	assert.deepEqual(refusal(set(7, 1)), ['FORMAT', STATUS.INVALID_CBOR]);
	assert.deepEqual(refusal(set(15, Uint8Array.of(0, 1))), ['FORMAT', STATUS.INVALID_CBOR]);
	assert.equal(refusal(without(15)), 'OK');
	// fields
	assert.deepEqual(refusal(set(2, new Uint8Array(15))), ['FORMAT', STATUS.INVALID_CBOR]);
	assert.deepEqual(refusal(set(2, new Uint8Array(17))), ['TOO_LARGE', STATUS.INVALID_LENGTH]);
	assert.deepEqual(refusal(without(3)), ['FORMAT', STATUS.MISSING_PARAMETER]);
	assert.deepEqual(refusal(set(4, 3)), ['UNSUPPORTED', STATUS.INVALID_COMMAND]);
	assert.deepEqual(refusal(set(5, new Map())), ['FORMAT', STATUS.INVALID_PARAMETER]);
	assert.deepEqual(refusal(without(6)), ['FORMAT', STATUS.MISSING_PARAMETER]);
	// the context: the PIN of protocol 1, names, host info
	const ctx = (c) => set(6, c);
	assert.deepEqual(refusal(ctx(new Map([[2, 'lap'], [4, '1234']]))),
	    ['FORMAT', STATUS.INVALID_PARAMETER]);
	assert.deepEqual(refusal(ctx(new Map([[2, 'lap'], [4, 1234]]))),
	    ['FORMAT', STATUS.INVALID_PARAMETER]);
	assert.deepEqual(refusal(ctx(new Map([[2, 'l\nap']]))), ['FORMAT', STATUS.INVALID_CBOR]);
	assert.deepEqual(refusal(ctx(new Map([[2, '']]))), ['FORMAT', STATUS.INVALID_CBOR]);
	assert.deepEqual(refusal(ctx(new Map([[2, 'a'.repeat(65)]]))), ['TOO_LARGE', STATUS.INVALID_LENGTH]);
	// key 6, origin (§4.3): a uint, any value (unknown ones ignored); another type 0x11
	assert.deepEqual(refusal(ctx(new Map([[2, 'lap'], [6, 'agent']]))),
	    ['CBOR_TYPE', STATUS.CBOR_UNEXPECTED_TYPE]);
	assert.deepEqual(refusal(ctx(new Map([[2, 'lap'], [6, -1]]))),
	    ['CBOR_TYPE', STATUS.CBOR_UNEXPECTED_TYPE]);
	assert.deepEqual(refusal(ctx(new Map([[2, 'lap'], [7, 1]]))), ['FORMAT', STATUS.INVALID_CBOR]);
	const host = (h) => ctx(new Map([[2, 'lap'], [3, h]]));
	const H = () => new Map([[1, 'prod.example.com'], [2, 22], [3, new Uint8Array(10)],
	    [4, new Uint8Array(10)], [5, 'curve25519-sha256']]);
	assert.equal(refusal(host(H())), 'OK');
	const h0 = H(); h0.set(2, 0);
	assert.deepEqual(refusal(host(h0)), ['FORMAT', STATUS.INVALID_CBOR]);
	const h1 = H(); h1.delete(5);
	assert.deepEqual(refusal(host(h1)), ['FORMAT', STATUS.MISSING_PARAMETER]);
	const h2 = H(); h2.set(3, new Uint8Array(2049));
	assert.deepEqual(refusal(host(h2)), ['TOO_LARGE', STATUS.INVALID_LENGTH]);
	// getAssertion: the raw data is required, the allow list checked
	assert.deepEqual(refusal(await gaRequest({ ctx: { raw: undefined } })),
	    ['FORMAT', STATUS.MISSING_PARAMETER]);
	const ga = (p) => gaRequest({ params: p });
	const cdh = new Uint8Array(32);
	assert.deepEqual(refusal(await ga(new Map([[1, 'ssh:'], [2, cdh], [3, []]]))),
	    ['FORMAT', STATUS.INVALID_CBOR]);
	const cred = (t) => new Map([['id', new Uint8Array(16)], ['type', t]]);
	assert.deepEqual(refusal(await ga(new Map([[1, 'ssh:'], [2, cdh], [3, [cred('x')]]]))),
	    ['FORMAT', STATUS.INVALID_CBOR]);
	assert.deepEqual(refusal(await ga(new Map([[1, 'ssh:'], [2, cdh],
	    [3, Array(5).fill(cred('public-key'))]]))), ['TOO_LARGE', STATUS.INVALID_LENGTH]);
	assert.deepEqual(refusal(await ga(new Map([[1, 'ssh:'], [2, cdh.subarray(1)]]))),
	    ['FORMAT', STATUS.INVALID_CBOR]);
	assert.deepEqual(refusal(await ga(new Map([[2, cdh]]))), ['FORMAT', STATUS.MISSING_PARAMETER]);
	assert.deepEqual(refusal(await ga(new Map([[1, 'ssh:'], [2, cdh],
	    [5, new Map([['up', 1]])]]))), ['CBOR_TYPE', STATUS.CBOR_UNEXPECTED_TYPE]);
	// unknown keys and options in CTAP's maps are ignored
	assert.equal(refusal(await ga(new Map([[1, 'ssh:'], [2, cdh], [9, 1],
	    [5, new Map([['up', true], ['zz', 1]])]]))), 'OK');
	// makeCredential: ES256 or EdDSA required, credProtect 1..3
	const mc = (p) => ctap.encodeRequest({ ...GETINFO, command: CMD.MAKE_CREDENTIAL, params: p,
	    ctx: { raw: new Uint8Array(1), computerName: 'lap' } });
	assert.deepEqual(refusal(mc(mcParams({ algs: [new Map([['alg', -35], ['type', 'public-key']])] }))),
	    ['UNSUPPORTED', STATUS.UNSUPPORTED_ALGORITHM]);
	assert.deepEqual(refusal(mc(mcParams({ algs: Array(9).fill(new Map([['alg', -7], ['type', 'public-key']])) }))),
	    ['TOO_LARGE', STATUS.INVALID_LENGTH]);
	assert.deepEqual(refusal(mc(mcParams({ ext: new Map([['credProtect', 4]]) }))),
	    ['FORMAT', STATUS.INVALID_PARAMETER]);
	// credential management
	const cm = (p) => ctap.encodeRequest({ ...GETINFO, command: CMD.CRED_MGMT, params: p });
	assert.equal(refusal(cm(new Map([[1, 2]]))), 'OK');
	assert.deepEqual(refusal(cm(new Map([[1, 1]]))), ['UNSUPPORTED', STATUS.INVALID_SUBCOMMAND]);
	assert.deepEqual(refusal(cm(new Map([[1, 2], [2, new Map([[1, new Uint8Array(32)]])]]))),
	    ['FORMAT', STATUS.INVALID_PARAMETER]);
	assert.equal(refusal(cm(new Map([[1, 4], [2, new Map([[1, new Uint8Array(32)]])]]))), 'OK');
	assert.deepEqual(refusal(cm(new Map([[1, 4], [2, new Map([[2, new Uint8Array(32)]])]]))),
	    ['FORMAT', STATUS.INVALID_CBOR]);
	// strict CBOR and the size cap come first
	assert.deepEqual(refusal(fromHex('a10102a0')), ['TRAILING', STATUS.INVALID_CBOR]);
	assert.deepEqual(refusal(new Uint8Array(65001)), ['TOO_LARGE', STATUS.INVALID_LENGTH]);
	assert.deepEqual(refusal(fromHex('80')), ['CBOR_TYPE', STATUS.CBOR_UNEXPECTED_TYPE]);
});

test('PIN message and answer refusals', () => {
	assert.throws(() => ctap.encodePin(''), { code: 'INVALID' });
	assert.throws(() => ctap.encodePin('x'.repeat(64)), { code: 'INVALID' });
	assert.equal(ctap.decodePin(ctap.encodePin('x'.repeat(63))), 'x'.repeat(63));
	assert.throws(() => ctap.decodePin(cbor.encode(new Map([[1, '']]))), { code: 'FORMAT' });
	assert.throws(() => ctap.decodePin(cbor.encode(new Map([[1, '1'], [2, 1]]))), { code: 'FORMAT' });
	assert.throws(() => ctap.decodePin(cbor.encode(new Map([[1, 1234]]))), { code: 'CBOR_TYPE' });
	assert.throws(() => ctap.decodePin(new Uint8Array(129)), { code: 'TOO_LARGE' });
	assert.throws(() => ctap.decodePin(cbor.encode(new Map([[1, '1'], [15, Uint8Array.of(1)]]))),
	    { code: 'FORMAT' });
	// answers: a body only with 0, a reason only without, key 5 only with 0x36
	assert.throws(() => ctap.encodeResponse({ status: 0 }), { code: 'INVALID' });
	assert.throws(() => ctap.encodeResponse({ status: 0x27, ctap: new Map() }), { code: 'INVALID' });
	assert.throws(() => ctap.encodeResponse({ status: 0x27, pinMayFollow: true }), { code: 'INVALID' });
	assert.throws(() => ctap.encodeResponse({ status: 0x27, reason: 'a\x1bb' }), { code: 'INVALID' });
	assert.throws(() => ctap.decodeResponse(cbor.encode(new Map([[1, 0x27], [5, true]]))), { code: 'FORMAT' });
	assert.throws(() => ctap.decodeResponse(cbor.encode(new Map([[1, 0x36], [5, false]]))), { code: 'FORMAT' });
	assert.throws(() => ctap.decodeResponse(cbor.encode(new Map([[1, 0]]))), { code: 'FORMAT' });
	assert.throws(() => ctap.decodeResponse(cbor.encode(new Map([[1, 256]]))), { code: 'FORMAT' });
	const ok = ctap.decodeResponse(ctap.encodeResponse({ status: 0, ctap: new Map([[1, 'x']]) }));
	assert.equal(ok.ctap.get(1), 'x');
	// the version refusal is the one unpadded answer
	assert.equal(ctap.encodeResponse({ status: STATUS.BAD_VERSION, reason: 'update', unpadded: true })
	    .length, 12);
});

// Issue 13: the algorithms of makeCredential (§4.5), the context's origin
// (§4.3 key 6) and the phone's time with a stale refusal (§4.2 key 6).
test('makeCredential algorithms in order; context origin; phone time only with 0xF0', () => {
	const alg = (a, t = 'public-key') => new Map([['alg', a], ['type', t]]);
	const mcReq = (algs) => ctap.encodeRequest({ ...GETINFO, command: CMD.MAKE_CREDENTIAL,
	    params: mcParams({ algs }), ctx: { raw: new Uint8Array(5), computerName: 'lap' } });
	assert.deepEqual(ctap.decodeRequest(mcReq([alg(-8)])).mc.algs, [-8]);
	assert.deepEqual(ctap.decodeRequest(mcReq([alg(-257), alg(-8), alg(-7), alg(-8)])).mc.algs,
	    [-8, -7]);
	assert.deepEqual(ctap.decodeRequest(mcReq([alg(-8, 'other'), alg(-7)])).mc.algs, [-7]);
	assert.deepEqual(refusal(mcReq([alg(-257), alg(-35)])),
	    ['UNSUPPORTED', STATUS.UNSUPPORTED_ALGORITHM]);
	// origin: 1 is ssh-agent; an unknown value is kept, and ignored
	const ctxOf = (origin) => ctap.decodeRequest(ctap.encodeRequest({ ...GETINFO,
	    ctx: { computerName: 'lap', origin } })).ctx;
	assert.equal(ctxOf(1).origin, ctap.ORIGIN_AGENT);
	assert.equal(ctxOf(7).origin, 7);
	assert.equal(ctxOf(undefined).origin, undefined);
	// the phone's time: encoded and read with 0xF0 only
	const t = 1700000123456;
	const stale = ctap.encodeResponse({ status: STATUS.STALE, reason: 'stale', phoneTime: t });
	const r = ctap.decodeResponse(stale);
	assert.equal(r.status, STATUS.STALE);
	assert.equal(r.phoneTime, t);
	assert.equal(ctap.decodeResponse(ctap.encodeResponse({ status: STATUS.STALE,
	    reason: 'stale' })).phoneTime, undefined);
	assert.throws(() => ctap.encodeResponse({ status: STATUS.REPLAYED, reason: 'x', phoneTime: t }),
	    { code: 'INVALID' });
	const m = cbor.decode(stale);
	m.set(1, STATUS.REPLAYED);
	assert.throws(() => ctap.decodeResponse(cbor.encode(m)), { code: 'FORMAT' });
	m.set(1, STATUS.STALE);
	m.set(6, 'now');
	assert.throws(() => ctap.decodeResponse(cbor.encode(m)), { code: 'CBOR_TYPE' });
	m.set(6, -5);
	assert.throws(() => ctap.decodeResponse(cbor.encode(m)), { code: 'CBOR_TYPE' });
	m.delete(6);
	m.set(7, 1);
	assert.throws(() => ctap.decodeResponse(cbor.encode(m)), { code: 'FORMAT' });
});
