// The engine's preview and request digest (web/src/phone/engine.js,
// PROTOCOL.md §8.11 "Web Push"), with requests through real KKpsk0
// (phonekit.js): a preview makes the same checks and the same question as
// handle() but records nothing (no write to the store at all, nothing
// left pending, no replay id, no audit line, no counter, no PIN asked);
// what a notification may answer (a first use, a PIN, an open window or a
// no-touch key: not); refusals as handle() gives them; the digest equal
// for two encodings of one request (other id, time, handshake), different
// for another command, parameters, context or computer, and §8.11's
// vector; an answer given with via 'notification' writes the page's audit
// line plus " (from the notification)".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../src/proto/bytes.js';
import * as cbor from '../src/proto/cbor.js';
import { openCall } from '../src/proto/call.js';
import { randomBytes, sha256 } from '../src/proto/crypto.js';
import { CMD, encodeRequest, STATUS } from '../src/proto/ctap.js';
import { FRESH_MS, requestDigest } from '../src/phone/engine.js';
import { gaParams, hostKey, hostLogin, sshsigData, world } from './phonekit.js';
import { between, protocolMd } from './vectors.js';

// The store's writes, counted.
function countWrites(kv) {
	const n = { writes: 0 };
	for (const m of ['put', 'putMany', 'delete']) {
		const f = kv[m].bind(kv);
		kv[m] = (...a) => { n.writes++; return f(...a); };
	}
	return n;
}

async function open(w, m1) {
	return openCall({ identity: w.identity.identity, computers: await w.state.computers(),
	    message1: m1 });
}

const strip = (q) => JSON.parse(JSON.stringify(q));

async function signRequest(k, raw, o = {}) {
	return { command: CMD.GET_ASSERTION, raw, host: o.host,
	    params: gaParams({ rp: k.rp, cdh: await sha256(raw), ids: [k.credId], up: o.up ?? true,
		uv: o.uv }), id: o.id, timeMs: o.timeMs };
}

test('a preview asks what handle asks and records nothing', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const req = await signRequest(k, sshsigData('file'));
	const { m1 } = await w.computer.message1(req);
	const logBefore = (await w.state.auditLog()).length;
	const counter = (await w.state.credentials())[0].counter;
	const n = countWrites(w.kv);
	const p = await w.engine.preview({ call: await open(w, m1) });
	assert.equal(n.writes, 0, 'the preview wrote to the store');
	assert.equal(w.state.hasPending(), false, 'the preview left a write pending');
	assert.equal(await w.state.seenCount(w.computer.pair), 1, 'a replay id recorded');	// the enrollment's
	assert.equal((await w.state.auditLog()).length, logBefore);
	assert.equal((await w.state.credentials())[0].counter, counter);
	assert.equal(p.refused, null);
	assert.equal(p.auto, null);
	assert.equal(p.answerable, true);
	assert.equal(p.computer, 'work');
	assert.equal(p.op, 'sshsig');
	assert.equal(p.question.title, "sign, namespace 'file' (SSHSIG, hash sha512)");
	assert.match(p.digest, /^[0-9a-f]{64}$/);
	// the same message handled: the same question, and now it is recorded
	const r = await w.computer.send({ ...req, id: undefined, envelope: undefined,
	    answer: 'reject' });
	assert.deepEqual(strip(r.questions[0]), strip(p.question));
	assert.ok(n.writes > 0);
	assert.equal((await w.state.auditLog()).length, logBefore + 1);
	// previewed twice, the second is no replay (nothing was recorded)...
	const { m1: again } = await w.computer.message1({ ...req, id: fromHex('00'.repeat(16)) });
	for (let i = 0; i < 2; i++)
		assert.equal((await w.engine.preview({ call: await open(w, again) })).refused, null);
	// ...but an id handle() saw is refused as handle() refuses it
	const id = randomBytes(16);
	await w.computer.send({ ...(await signRequest(k, sshsigData('file'))), id, answer: 'reject' });
	const { m1: replay } = await w.computer.message1({ ...req, id });
	const pr = await w.engine.preview({ call: await open(w, replay) });
	assert.deepEqual([pr.refused.status, pr.question, pr.answerable],
	    [STATUS.REPLAYED, null, false]);
});

test('a preview: what a notification may not answer, and refusals', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const hk = hostKey();
	const n = countWrites(w.kv);
	// a host's first use: asked, not from a notification
	let l = hostLogin(k, hk);
	let p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    await signRequest(k, l.raw, { host: l.host }))).m1) });
	assert.deepEqual([p.op, p.question.hostState, p.answerable], ['login', 'first-use', false]);
	assert.equal((await w.state.hosts()).length, 0, 'the preview pinned the host');
	// the PIN: noted, never asked
	await w.state.setPin('2468');
	const before = n.writes;
	p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    await signRequest(k, sshsigData('file'), { uv: true }))).m1) });
	assert.deepEqual([p.needsPin, p.answerable, p.question.title.startsWith('sign')],
	    [true, false, true]);
	assert.equal(await w.state.pinFailures(), 0);
	// stale: refused as handle refuses it
	p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    await signRequest(k, sshsigData('file'), { timeMs: w.clock.now - FRESH_MS - 1 }))).m1) });
	assert.equal(p.refused.status, STATUS.STALE);
	assert.match(p.refused.reason, /^the request's time is 120 s behind/);
	// a key the phone does not have
	p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    await signRequest({ ...k, credId: randomBytes(64) }, sshsigData('file')))).m1) });
	assert.equal(p.refused.status, STATUS.NO_CREDENTIALS);
	// no touch: signed without asking when the phone connects
	p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    await signRequest(k, sshsigData('file'), { up: false }))).m1) });
	assert.deepEqual([p.auto, p.answerable], ['allow-no-touch', false]);
	// getInfo and FORGET are answered without asking
	p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    { command: CMD.GET_INFO })).m1) });
	assert.equal(p.auto, 'info');
	p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    { command: CMD.FORGET })).m1) });
	assert.equal(p.auto, 'unpair');
	assert.equal((await w.state.computers()).length, 1);
	assert.equal(n.writes, before, 'a preview wrote to the store');
	// a window opened on this computer: it would answer without asking
	const r = await w.computer.sign(k, sshsigData('git'), { answer: 'window' });
	assert.equal(r.status, 0);
	p = await w.engine.preview({ call: await open(w, (await w.computer.message1(
	    await signRequest(k, sshsigData('git')))).m1) });
	assert.deepEqual([p.auto, p.answerable], ['allow-window', false]);
});

test('the digest: equal for the same request sent again, different for any other', async () => {
	const w = await world();
	const other = await w.pairComputer('home');
	const k = await w.computer.enroll();
	const raw = sshsigData('file');
	const base = await signRequest(k, raw);
	const digest = async (c, req) => requestDigest(await open(w, (await c.message1(req)).m1));
	const d0 = await digest(w.computer, base);
	// another id, another time, another handshake: the same request
	assert.equal(await digest(w.computer, { ...base, id: randomBytes(16),
	    timeMs: w.clock.now + 5000 }), d0);
	const differ = {
		command: { ...base, command: CMD.MAKE_CREDENTIAL === base.command ? CMD.GET_ASSERTION :
		    CMD.CRED_MGMT, params: new Map([[1, 4]]), raw: undefined },
		parameters: { ...base, params: gaParams({ rp: k.rp, cdh: await sha256(raw),
		    ids: [k.credId], up: true, uv: true }) },
		context: { ...base, host: hostLogin(k, hostKey()).host },
	};
	for (const [what, req] of Object.entries(differ))
		assert.notEqual(await digest(w.computer, req), d0, `${what} differs`);
	// the context's computer name
	assert.notEqual(await digest(w.computer, { ...base, name: 'laptop' }), d0);
	// the same bytes from another paired computer
	assert.notEqual(await digest(other, base), d0);
	// the rule, computed here from the request's parts
	const ctx = new Map([[1, raw], [2, 'work']]);
	const core = cbor.encode(new Map([[4, CMD.GET_ASSERTION], [5, base.params], [6, ctx]]));
	assert.equal(d0, toHex(await sha256(cbor.encode('work'), core)));
	// a request that did not decode has none
	const bad = encodeRequest({ id: randomBytes(16), timeMs: w.clock.now, command: 7,
	    ctx: { computerName: 'work' } });
	assert.equal(await digest(w.computer, { envelope: bad }), null);
});

test('the digest vector of PROTOCOL.md §8.11', async () => {
	const sec = between(protocolMd(), '### 8.11', '## 9 ');
	const m = /digest vector:[^]*?`([0-9a-f ]+)`[^]*?SHA-256[^`]*`([0-9a-f]{64})`/.exec(sec);
	assert.ok(m, 'no digest vector in §8.11');
	const input = fromHex(m[1].replace(/ /g, ''));
	assert.equal(toHex(await sha256(input)), m[2]);
	// the getInfo request of §4.2 (computer name "lap"), paired as "work"
	const env = encodeRequest({ id: fromHex('000102030405060708090a0b0c0d0e0f'),
	    timeMs: 1700000000000, command: CMD.GET_INFO, ctx: { computerName: 'lap' } });
	const w = await world();
	const { m1 } = await w.computer.message1({ envelope: env });
	const call = await open(w, m1);
	assert.equal(toHex(cbor.encode('work')) + toHex(call.core), toHex(input));
	assert.equal(await requestDigest(call), m[2]);
});

test("an answer from a notification: the page's audit line, plus (from the notification)", async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const one = async (via) => {
		const { m1 } = await w.computer.message1(await signRequest(k, sshsigData('file')));
		const out = await w.engine.handle({ call: await open(w, m1), ask: async () => 'once',
		    getPin: async () => null, via });
		assert.equal(out.status, 0);
		return (await w.state.auditLog()).at(-1);
	};
	const page = await one(null);
	const push = await one('notification');
	assert.equal(push.event, 'allow-once');
	assert.equal(push.via, 'notification');
	assert.equal(page.via, undefined);
	assert.equal(push.text.replace(/^\S+ /, ''), page.text.replace(/^\S+ /, '') +
	    ' (from the notification)');
	assert.doesNotMatch(page.text, /notification/);
	// it reads back (the log's record check takes it)
	await w.restart();
	assert.equal((await w.state.auditLog()).at(-1).text, push.text);
	assert.equal(utf8(push.text).length, push.text.length);
});
