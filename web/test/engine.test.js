// The web phone's rules for a request (web/src/phone/engine.js, PROTOCOL.md
// §8.3-§8.6) with requests made by proto/ctap.js encodeRequest as the C
// encoders lay them out, through real KKpsk0 (phonekit.js), and answers
// checked by the computer's own checks (lib/verify.c with libfido2, via
// test/web/verify_peer): getInfo; enrollments (plain, resident with its
// exclusion and overwrite, verify-required with the web phone's PIN, 128
// keys); SSHSIG and other-data signatures with their questions; every
// refusal in §8.3's order (a request bad in two ways gets the earlier
// status); the replay cache across a restart and its per-computer flood
// share; counters under concurrent requests; the PIN (wrong, blocked at 8,
// across a restart, none sent, malformed); windows; no-touch keys signed
// without asking; credential management; FORGET; the audit log's words;
// logins with host information (real Ed25519 host keys): first use pinned
// when allowed, verified after, a changed key 0xF3, a signature that does
// not verify 0xF7, the host and computer windows, a key pinned under
// another name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, utf8 } from '../src/proto/bytes.js';
import { generateEcdsa, randomBytes, sha256 } from '../src/proto/crypto.js';
import { CMD, CM_ENUM_CREDS, CM_ENUM_RPS, encodeRequest, STATUS } from '../src/proto/ctap.js';
import { FRESH_MS } from '../src/phone/engine.js';
import { MemKV } from '../src/phone/memkv.js';
import * as S from '../src/phone/state.js';
import { credentialBlob, gaParams, hostKey, hostLogin, loginData, sshString, sshsigData, T0,
    world } from './phonekit.js';

const lastLog = async (w) => (await w.state.auditLog()).at(-1);

test('getInfo: versions, credProtect, the AAGUID, clientPin as the phone has it; no replay record, no log line', async () => {
	const w = await world();
	const id = randomBytes(16);
	let r = await w.computer.send({ command: CMD.GET_INFO, id });
	assert.equal(r.status, 0);
	assert.deepEqual(r.ctap.get(1), ['FIDO_2_0', 'FIDO_2_1']);
	assert.deepEqual(r.ctap.get(2), ['credProtect']);
	assert.equal(Buffer.from(r.ctap.get(3)).toString('hex'), '3934e340407e4da9af808851d9de98d7');
	assert.deepEqual([...r.ctap.get(4)], [['rk', true], ['up', true], ['credMgmt', true],
	    ['clientPin', false]]);
	assert.equal(r.ctap.get(5), 65000);
	await w.state.setPin('2468');
	r = await w.computer.send({ command: CMD.GET_INFO, id });	// the same id again
	assert.equal(r.status, 0);
	assert.equal(r.ctap.get(4).get('clientPin'), true);
	assert.equal(r.questions.length, 0);
	assert.equal(await w.state.seenCount(w.computer.pair), 0);
	assert.deepEqual((await w.state.auditLog()).map((e) => e.event), ['paired']);
});

test('enroll, then sign SSHSIG data: asked with the reference phone\'s lines, checked by libfido2, counters 1 and 2', async () => {
	const w = await world();
	const k = await w.computer.enroll({ userName: 'alice' });
	assert.equal(k.status, 0);
	const q = k.questions[0];
	assert.equal(q.op, 'enroll');
	assert.equal(q.title, 'enroll a new ecdsa-sk key');
	assert.equal(q.application, 'ssh:');
	assert.equal(q.computer, 'work');
	assert.deepEqual(q.choices, ['once', 'window', 'reject']);
	assert.deepEqual(q.lines, ['request from computer "work"', '  operation:   enroll a new ecdsa-sk key',
	    '  application: ssh:', '  user:        alice', '  [o] allow once',
	    '  [w] allow verified logins to pinned hosts from "work" for 3 hours (no signatures)',
	    '  [r] reject']);
	const listed = await w.state.credentials();
	assert.equal(listed.length, 1);
	assert.deepEqual(listed[0].publicKey, new Uint8Array(k.publicKey));
	assert.equal(listed[0].madeFor, 'work');
	assert.equal(listed[0].resident, false);
	assert.equal(listed[0].credProtect, 1);
	let e = await lastLog(w);
	assert.equal(e.text.replace(/^\S+ /, ''), `computer="work" op=enroll subject="alice" host="-" ` +
	    `verified=- key=${listed[0].fingerprint} decision=allow-once`);
	const raw = sshsigData('file', 'sha512');
	const s1 = await w.computer.sign(k, raw);
	assert.equal(s1.status, 0);
	assert.equal(s1.flags, 0x01);
	assert.equal(s1.counter, 1);
	const sq = s1.questions[0];
	assert.equal(sq.op, 'sign');
	assert.equal(sq.title, 'sign, namespace \'file\' (SSHSIG, hash sha512)');
	assert.equal(sq.namespace, 'file');
	assert.equal(sq.keyFp, listed[0].fingerprint);
	assert.equal(sq.user, null);
	assert.equal(sq.windowText, 'verified logins to pinned hosts, and signatures of namespace ' +
	    '\'file\', from "work" for 3 hours');
	assert.deepEqual(sq.lines.slice(1, 4), ['  operation:   sign, namespace \'file\' (SSHSIG, hash ' +
	    'sha512)', '  application: ssh:', `  key:         ${listed[0].fingerprint}`]);
	assert.equal(s1.ctap.get(4), undefined);	// not resident: no user
	assert.deepEqual(s1.ctap.get(1).get('id'), new Uint8Array(k.credId));
	const s2 = await w.computer.sign(k, sshsigData('file', 'sha256'));
	assert.equal(s2.counter, 2);
	e = await lastLog(w);
	assert.equal(e.op, 'sshsig');
	assert.equal(e.subject, 'file');
	assert.equal(e.event, 'allow-once');
	// Other data: its length, no namespace.
	const s3 = await w.computer.sign(k, new Uint8Array(77));
	assert.equal(s3.counter, 3);
	assert.equal(s3.questions[0].op, 'other');
	assert.equal(s3.questions[0].title, 'signature of other data (77 bytes)');
	assert.ok(s3.questions[0].lines.includes('  data:        77 bytes, neither SSH login nor SSHSIG'));
	assert.equal((await lastLog(w)).op, 'sign');
	assert.equal((await w.state.credentials())[0].counter, 3);
});

test('refusals in §8.3\'s order: a request bad in two ways gets the earlier status', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const c = w.computer;
	const raw = sshsigData('file');
	const cdh = await sha256(raw);
	const stale = T0 - FRESH_MS - 1;
	// A protocol-1 envelope: 0xF6, unpadded, before anything else.
	let r = await c.send({ envelope: encodeRequest({ version: 1, id: randomBytes(16),
	    timeMs: stale, command: CMD.GET_INFO, ctx: { computerName: 'work' } }) });
	assert.equal(r.status, STATUS.BAD_VERSION);
	assert.match(r.reason, /older sk-phone protocol/);
	assert.equal(r.out.unpadded, true);
	// Malformed (a missing key) and stale: the decoder's status.
	r = await c.send({ command: CMD.GET_ASSERTION, timeMs: stale,
	    params: new Map([[1, 'ssh:']]), raw });
	assert.equal(r.status, STATUS.MISSING_PARAMETER);
	assert.equal(r.reason, 'malformed request');
	// Data hash and stale: 0xF2.
	r = await c.send({ command: CMD.GET_ASSERTION, timeMs: stale, raw: new Uint8Array(3),
	    params: gaParams({ cdh, ids: [k.credId] }) });
	assert.equal(r.status, STATUS.RAW_MISMATCH);
	assert.equal(r.reason, 'the data does not match its hash');
	assert.equal((await lastLog(w)).event, 'refused-data-mismatch');
	// Stale and unknown key: 0xF0, and the id is not recorded.
	const id = randomBytes(16);
	r = await c.send({ command: CMD.GET_ASSERTION, id, timeMs: stale, raw,
	    params: gaParams({ cdh, ids: [randomBytes(16)] }) });
	assert.equal(r.status, STATUS.STALE);
	assert.equal(r.reason, 'the request\'s time is 120 s behind the phone\'s clock (at most ' +
	    '120 s allowed): set the clocks of computer and phone right');
	assert.equal((await lastLog(w)).event, 'refused-stale');
	assert.equal((await lastLog(w)).op, 'sshsig');
	r = await c.send({ command: CMD.GET_ASSERTION, timeMs: T0 + FRESH_MS + 1, raw,
	    params: gaParams({ cdh, ids: [k.credId] }) });
	assert.equal(r.status, STATUS.STALE);
	assert.match(r.reason, /ahead of the phone's clock/);
	// Exactly 120000 ms either way is fresh.
	r = await c.sign(k, sshsigData('a'), { answer: 'once' });
	for (const t of [T0 - FRESH_MS, T0 + FRESH_MS]) {
		const d = sshsigData('edge');
		r = await c.send({ command: CMD.GET_ASSERTION, timeMs: t, raw: d,
		    params: gaParams({ cdh: await sha256(d), ids: [k.credId] }) });
		assert.equal(r.status, 0);
	}
	// Replayed and unknown key: 0xF1.
	r = await c.send({ command: CMD.GET_ASSERTION, id, raw,
	    params: gaParams({ cdh, ids: [randomBytes(16)] }) });
	assert.equal(r.status, STATUS.NO_CREDENTIALS);	// the stale one was not recorded
	assert.equal(r.reason, 'no such key on the phone');
	r = await c.send({ command: CMD.GET_ASSERTION, id, raw,
	    params: gaParams({ cdh, ids: [k.credId] }) });
	assert.equal(r.status, STATUS.REPLAYED);
	assert.equal(r.reason, 'request replayed');
	assert.equal((await lastLog(w)).event, 'refused-replay');
	// Unknown key and verify-required without a PIN: 0x2E.
	r = await c.send({ command: CMD.GET_ASSERTION, raw,
	    params: gaParams({ cdh, ids: [randomBytes(16)], uv: true }) });
	assert.equal(r.status, STATUS.NO_CREDENTIALS);
	// The key of another rp is no key.
	r = await c.send({ command: CMD.GET_ASSERTION, raw,
	    params: gaParams({ rp: 'ssh:other', cdh, ids: [k.credId] }) });
	assert.equal(r.status, STATUS.NO_CREDENTIALS);
	// The first allowList entry that is a key of this rp.
	r = await c.sign(k, raw, { ids: [randomBytes(16), k.credId] });
	assert.equal(r.status, 0);
	// Known key, UV asked, no PIN on the phone: 0xF5.
	r = await c.sign(k, sshsigData('x'), { uv: true });
	assert.equal(r.status, STATUS.UV_UNAVAILABLE);
	assert.match(r.reason, /^user verification not available/);
	assert.equal(r.questions.length, 0);
	assert.equal((await lastLog(w)).event, 'refused-uv-unavailable');
	// No allowList: 0x2E.
	r = await c.send({ command: CMD.GET_ASSERTION, raw, params: gaParams({ cdh }) });
	assert.equal(r.status, STATUS.NO_CREDENTIALS);
});

test('a login naming another key blob than the one asked to sign: 0x02 before the host and the PIN', async () => {
	const w = await world();
	const k = await w.computer.enroll({ credProtect: 3, uv: undefined, checkUv: false })
	    .catch(() => null);
	assert.equal(k.status, STATUS.UV_UNAVAILABLE);	// credProtect 3 needs the PIN
	const plain = await w.computer.enroll();
	const other = await generateEcdsa();
	const r = await w.computer.sign(plain, loginData({ keyBlob: credentialBlob(other.publicKey,
	    'ssh:') }), { uv: true });
	assert.equal(r.status, STATUS.INVALID_PARAMETER);
	assert.equal(r.reason, 'the login names another key');
	// Its own key blob: on to the PIN (none set: 0xF5).
	const own = await w.computer.sign(plain, loginData({ keyBlob: credentialBlob(plain.publicKey,
	    'ssh:') }), { uv: true });
	assert.equal(own.status, STATUS.UV_UNAVAILABLE);
	// Another algorithm (a certificate): not compared.
	const cert = await w.computer.sign(plain, loginData({ algorithm:
	    'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', keyBlob: randomBytes(40) }));
	assert.equal(cert.status, 0);
	assert.equal(cert.questions[0].op, 'login');
	assert.equal(cert.questions[0].hostState, 'not-verified');
	assert.equal(cert.questions[0].hostLine, 'root @ unknown host (not verified)');
	assert.deepEqual(cert.questions[0].choices, ['once', 'window', 'reject']);
	const e = await lastLog(w);
	assert.equal(e.op, 'login');
	assert.equal(e.subject, 'root');
	assert.equal(e.verified, 'no');
});

test('resident keys: 0x19 before UV, overwrite replaces the old one once the new one is stored', async () => {
	const w = await world();
	const userId = concat(utf8('alice'), new Uint8Array(27));
	const a = await w.computer.enroll({ rk: true, credProtect: 2, userId, userName: 'alice' });
	assert.equal(a.status, 0);
	assert.equal(a.questions[0].title, 'enroll a new resident ecdsa-sk key');
	assert.equal((await lastLog(w)).op, 'enroll-resident');
	let r = await w.computer.enroll({ rk: true, credProtect: 3, uv: true, userId });
	assert.equal(r.status, STATUS.CREDENTIAL_EXCLUDED);
	assert.equal(r.reason, 'a resident key for this application and user exists');
	assert.equal(r.questions.length, 0);
	assert.equal((await lastLog(w)).event, 'refused-exists');
	// Another user, or not resident: fine.
	assert.equal((await w.computer.enroll({ rk: true, userId: new Uint8Array(32).fill(1) }))
	    .status, 0);
	r = await w.computer.enroll({ rk: true, credProtect: 2, userId, overwrite: true });
	assert.equal(r.status, 0);
	const res = (await w.state.credentials()).filter((c) => c.resident);
	assert.equal(res.length, 2);
	assert.ok(res.some((c) => Buffer.from(c.id).equals(r.credId)));
	assert.ok(!res.some((c) => Buffer.from(c.id).equals(a.credId)));
	// A resident key's assertion carries its user id.
	const s = await w.computer.sign({ ...r, rp: 'ssh:' }, sshsigData('git'));
	assert.deepEqual(s.ctap.get(4).get('id'), userId);
});

test('credential management: resident keys listed (all, by rp, the rps), the PIN asked once one is set', async () => {
	const w = await world();
	await w.computer.enroll({ rk: true, userId: new Uint8Array(32).fill(1), userName: 'u1' });
	await w.computer.enroll({ rk: true, rp: 'ssh:work', userId: new Uint8Array(32).fill(2),
	    userName: 'u2', credProtect: 2 });
	await w.computer.enroll({ rk: true, rp: 'ssh:work', userId: new Uint8Array(32).fill(3) });
	await w.computer.enroll();	// not resident: never listed
	const cm = (sub, hash) => {
		const m = new Map([[1, sub]]);
		if (hash)
			m.set(2, new Map([[1, hash]]));
		return m;
	};
	let r = await w.computer.send({ command: CMD.CRED_MGMT, params: cm(CM_ENUM_CREDS) });
	assert.equal(r.status, 0);
	assert.equal(r.ctap.length, 3);
	assert.deepEqual(r.ctap.map((e) => e.get(3).get('id')), ['ssh:', 'ssh:work', 'ssh:work']);
	assert.equal(r.ctap[1].get(6).get('name'), 'u2');
	assert.equal(r.ctap[1].get(10), 2);
	assert.equal(r.questions[0].op, 'list');
	assert.equal(r.questions[0].title, 'list the resident keys');
	assert.equal((await lastLog(w)).op, 'list-keys');
	r = await w.computer.send({ command: CMD.CRED_MGMT,
	    params: cm(CM_ENUM_CREDS, await sha256(utf8('ssh:work'))) });
	assert.equal(r.ctap.length, 2);
	assert.equal(r.ctap[0].get(3), undefined);
	r = await w.computer.send({ command: CMD.CRED_MGMT,
	    params: cm(CM_ENUM_CREDS, await sha256(utf8('ssh:none'))) });
	assert.deepEqual(r.ctap, []);
	r = await w.computer.send({ command: CMD.CRED_MGMT, params: cm(CM_ENUM_RPS) });
	assert.deepEqual(r.ctap.map((e) => e.get(3).get('id')), ['ssh:', 'ssh:work']);
	assert.deepEqual(r.ctap[1].get(4), await sha256(utf8('ssh:work')));
	await w.state.setPin('1357');
	r = await w.computer.send({ command: CMD.CRED_MGMT, params: cm(CM_ENUM_CREDS), pin: '1357' });
	assert.equal(r.pinAsked, true);
	assert.equal(r.status, 0);
	assert.equal(r.ctap.length, 3);
	r = await w.computer.send({ command: CMD.CRED_MGMT, params: cm(CM_ENUM_CREDS), pin: '0000' });
	assert.equal(r.status, STATUS.PIN_INVALID);
	assert.equal(r.questions.length, 0);
});

test('the PIN: verify-required keys with the web phone\'s PIN, wrong counted, blocked at 8 across a restart', async () => {
	const w = await world();
	await w.state.setPin('2468');
	// Enrolled with the PIN: UV set, libfido2 checks it.
	const k = await w.computer.enroll({ credProtect: 3, uv: true, pin: '2468', checkUv: true });
	assert.equal(k.status, 0);
	assert.equal(k.pinAsked, true);
	assert.equal(k.out.pinPath, true);
	assert.ok(k.questions[0].lines.includes('  PIN:         checked'));
	assert.equal(k.questions[0].pin, true);
	// Every use of a credProtect 3 key wants it, even without uv.
	const s = await w.computer.sign(k, sshsigData('file'), { pin: '2468', checkUv: true });
	assert.equal(s.status, 0);
	assert.equal(s.flags, 0x05);
	// Wrong: 0x31 in message 4, counted, nobody asked.
	let r = await w.computer.sign(k, sshsigData('file'), { pin: '1111' });
	assert.equal(r.status, STATUS.PIN_INVALID);
	assert.equal(r.reason, 'wrong PIN');
	assert.equal(r.out.pinPath, true);
	assert.equal(r.questions.length, 0);
	assert.equal(await w.state.pinFailures(), 1);
	assert.equal((await lastLog(w)).event, 'refused-pin-invalid');
	// The right one resets the count.
	assert.equal((await w.computer.sign(k, sshsigData('f'), { pin: '2468' })).status, 0);
	assert.equal(await w.state.pinFailures(), 0);
	// No PIN sent: nothing more is answered, logged refused-pin-required.
	r = await w.computer.sign(k, sshsigData('file'), { pin: null });
	assert.equal(r.hangUp, true);
	assert.equal((await lastLog(w)).event, 'refused-pin-required');
	assert.equal(await w.state.pinFailures(), 0);
	// A message 3 that is not the computer's: the call ends, nothing sent.
	r = await w.computer.sign(k, sshsigData('file'), { pin: { raw: randomBytes(144) } });
	assert.equal(r.hangUp, true);
	assert.equal((await lastLog(w)).event, 'refused-pin-message');
	assert.equal(await w.state.pinFailures(), 0);
	// A malformed PIN message: 0x02, not counted.
	const bad = new Uint8Array(128);
	bad[0] = 0xa1;
	r = await w.computer.sign(k, sshsigData('file'), { pin: bad });
	assert.equal(r.status, STATUS.INVALID_PARAMETER);
	assert.equal(r.reason, 'malformed PIN message');
	assert.equal(await w.state.pinFailures(), 0);
	for (let i = 1; i <= 8; i++) {
		r = await w.computer.sign(k, sshsigData('file'), { pin: `000${i}` });
		assert.equal(r.status, STATUS.PIN_INVALID);
	}
	await w.restart();
	// Blocked: 0x32 at once, without asking for the PIN.
	r = await w.computer.sign(k, sshsigData('file'), { pin: '2468' });
	assert.equal(r.status, STATUS.PIN_BLOCKED);
	assert.equal(r.pinAsked, false);
	assert.match(r.reason, /^PIN blocked after too many wrong tries/);
	assert.equal((await lastLog(w)).event, 'refused-pin-blocked');
	await w.state.resetPinFailures(w.clock.now);
	assert.equal((await w.computer.sign(k, sshsigData('f'), { pin: '2468' })).status, 0);
});

test('the replay cache across a restart, and a computer\'s flood share (0x06) that leaves the others alone', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const raw = sshsigData('file');
	const id = randomBytes(16);
	const params = gaParams({ cdh: await sha256(raw), ids: [k.credId] });
	let r = await w.computer.send({ command: CMD.GET_ASSERTION, id, raw, params });
	assert.equal(r.status, 0);
	await w.restart();
	r = await w.computer.send({ command: CMD.GET_ASSERTION, id, raw, params });
	assert.equal(r.status, STATUS.REPLAYED);
	assert.equal(r.questions.length, 0);
	// Fill the share: 256 live ids in 10 minutes (two are in it already).
	const home = await w.pairComputer('home');
	const none = gaParams({ cdh: await sha256(raw), ids: [randomBytes(16)] });
	for (let i = 2; i < S.SEEN_SHARE; i++)
		assert.equal((await w.computer.send({ command: CMD.GET_ASSERTION, raw,
		    params: none })).status, STATUS.NO_CREDENTIALS);
	const before = (await w.state.auditLog()).length;
	for (let i = 0; i < 3; i++) {
		r = await w.computer.send({ command: CMD.GET_ASSERTION, raw, params });
		assert.equal(r.status, STATUS.CHANNEL_BUSY);
		assert.equal(r.reason, 'too many requests from this computer in 10 minutes: try ' +
		    'again later');
	}
	// One line for the flood, not three.
	let log = await w.state.auditLog();
	assert.equal(log.length, before + 1);
	assert.equal(log.at(-1).event, 'refused-flood');
	// A request that passes (a getInfo too) ends the flood: the next one
	// is a line again.
	assert.equal((await w.computer.send({ command: CMD.GET_INFO })).status, 0);
	r = await w.computer.send({ command: CMD.GET_ASSERTION, raw, params });
	assert.equal(r.status, STATUS.CHANNEL_BUSY);
	log = await w.state.auditLog();
	assert.equal(log.length, before + 2);
	assert.equal((await home.send({ command: CMD.GET_INFO })).status, 0);
	r = await home.send({ command: CMD.GET_ASSERTION, raw, params: none });
	assert.equal(r.status, STATUS.NO_CREDENTIALS);
	// Ten minutes on, the share is free again.
	w.clock.now += S.REPLAY_MS;
	r = await w.computer.sign(k, sshsigData('later'));
	assert.equal(r.status, 0);
});

test('concurrent requests lose no counter and no replay id', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const n = 12;
	const rs = await Promise.all(Array.from({ length: n }, () =>
	    w.computer.sign(k, sshsigData('file'))));
	assert.deepEqual(rs.map((r) => r.counter).sort((a, b) => a - b),
	    Array.from({ length: n }, (_, i) => i + 1));
	// The enrollment's id and the twelve signatures'.
	assert.equal(await w.state.seenCount(w.computer.pair), n + 1);
	// The same request twice at once: one answer, one 0xF1.
	const raw = sshsigData('file');
	const id = randomBytes(16);
	const params = gaParams({ cdh: await sha256(raw), ids: [k.credId] });
	const two = await Promise.all([1, 2].map(() => w.computer.send({ command: CMD.GET_ASSERTION,
	    id, raw, params })));
	assert.deepEqual(two.map((r) => r.status).sort(), [0, STATUS.REPLAYED]);
	assert.equal((await w.state.credentials())[0].counter, n + 1);
});

test('the answers: reject 0x27, no answer 0x2F, a computer that gave up gets nothing; 128 keys 0x28', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	let r = await w.computer.sign(k, sshsigData('file'), { answer: 'reject' });
	assert.equal(r.status, STATUS.OPERATION_DENIED);
	assert.equal(r.reason, 'rejected on the phone');
	assert.equal((await lastLog(w)).event, 'reject');
	r = await w.computer.sign(k, sshsigData('file'), { answer: 'timeout' });
	assert.equal(r.status, STATUS.USER_ACTION_TIMEOUT);
	assert.equal((await lastLog(w)).event, 'reject-no-answer');
	r = await w.computer.sign(k, sshsigData('file'), { answer: 'cancelled' });
	assert.equal(r.hangUp, true);
	assert.equal((await lastLog(w)).event, 'cancelled');
	r = await w.computer.sign(k, sshsigData('file'), { answer: 'busy' });
	assert.equal(r.status, STATUS.CHANNEL_BUSY);
	assert.equal((await lastLog(w)).event, 'refused-busy');
	// 'host' is not offered for a signature: a reject.
	r = await w.computer.sign(k, sshsigData('file'), { answer: 'host' });
	assert.equal(r.status, STATUS.OPERATION_DENIED);
	// Nothing signed, the counter untouched by refusals.
	assert.equal((await w.state.credentials())[0].counter, 0);
	for (let i = 1; i < S.MAX_CREDS; i++) {
		const p = await generateEcdsa();
		await w.state.addCredential({ id: randomBytes(16), rp: 'ssh:', userId: new Uint8Array(32),
		    userName: '', privateKey: p.privateKey, publicKey: p.publicKey, created: 0,
		    madeFor: 'work' });
	}
	r = await w.computer.enroll();
	assert.equal(r.status, STATUS.KEY_STORE_FULL);
	assert.equal(r.reason, 'the phone holds 128 keys already: delete one');
	assert.equal((await lastLog(w)).event, 'refused-full');
	assert.equal((await w.state.credentials()).length, S.MAX_CREDS);
});

test('windows: a signature namespace under the computer window, another namespace and enrollments still asked, the window ends', async () => {
	const w = await world({ engine: { windowSeconds: 60 } });
	const k = await w.computer.enroll();
	let r = await w.computer.sign(k, sshsigData('file'), { answer: 'window' });
	assert.equal(r.status, 0);
	assert.equal(r.questions[0].windowText, 'verified logins to pinned hosts, and signatures ' +
	    'of namespace \'file\', from "work" for 60 seconds');
	assert.equal((await lastLog(w)).event, 'allow-window-start');
	const c = await w.state.computer('work');
	assert.equal(c.windowUntil, Math.floor(T0 / 1000) + 60);
	assert.deepEqual(c.windowNs, ['file']);
	// The same namespace: no question.
	r = await w.computer.sign(k, sshsigData('file'), { answer: 'reject' });
	assert.equal(r.status, 0);
	assert.equal(r.questions.length, 0);
	assert.equal((await lastLog(w)).event, 'allow-window');
	// Another namespace, other data, an enrollment: asked.
	for (const raw of [sshsigData('git'), new Uint8Array(10)]) {
		r = await w.computer.sign(k, raw, { answer: 'reject' });
		assert.equal(r.status, STATUS.OPERATION_DENIED);
		assert.equal(r.questions.length, 1);
	}
	r = await w.computer.enroll({ answer: 'reject' });
	assert.equal(r.questions.length, 1);
	// Another computer is not covered.
	const home = await w.pairComputer('home');
	r = await home.sign(k, sshsigData('file'), { answer: 'reject' });
	assert.equal(r.status, STATUS.OPERATION_DENIED);
	assert.equal(r.questions.length, 1);
	// Past its time: asked again.
	w.clock.now += 60000;
	r = await w.computer.sign(k, sshsigData('file'), { answer: 'reject' });
	assert.equal(r.questions.length, 1);
	assert.equal(r.status, STATUS.OPERATION_DENIED);
	// 'window' on an enrollment opens it with no namespace.
	r = await w.computer.enroll({ answer: 'window' });
	assert.equal(r.status, 0);
	assert.deepEqual((await w.state.computer('work')).windowNs, []);
	r = await w.computer.sign(k, sshsigData('file'), { answer: 'reject' });
	assert.equal(r.questions.length, 1);
});

test('a no-touch-required key (up false) is signed without asking, UP clear, with a notice and a log line', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const r = await w.computer.sign(k, sshsigData('file'), { up: false, answer: 'reject' });
	assert.equal(r.status, 0);
	assert.equal(r.questions.length, 0);
	assert.equal(r.flags, 0);
	const fp = (await w.state.credentials())[0].fingerprint;
	assert.deepEqual(r.notices, [`signed without asking: no-touch-required key ${fp}, for ` +
	    'computer "work", sshsig [file]']);
	assert.equal((await lastLog(w)).event, 'allow-no-touch');
	// UV still comes first.
	const v = await w.computer.sign(k, sshsigData('file'), { up: false, uv: true });
	assert.equal(v.status, STATUS.UV_UNAVAILABLE);
	// With noTouch 'ask', it is asked, and UP stays clear.
	const w2 = await world({ engine: { noTouch: 'ask' } });
	const k2 = await w2.computer.enroll();
	const a = await w2.computer.sign(k2, sshsigData('file'), { up: false });
	assert.equal(a.status, 0);
	assert.equal(a.flags, 0);
	assert.equal(a.questions.length, 1);
	assert.match(a.questions[0].touch, /^this key needs no touch/);
});

test('FORGET: the computer that asks is unpaired, with its host windows; replays and staleness apply', async () => {
	const w = await world();
	await w.state.setHostWindow('work', 'db1', Math.floor(T0 / 1000) + 100, T0);
	let r = await w.computer.send({ command: CMD.FORGET, timeMs: T0 - FRESH_MS - 1 });
	assert.equal(r.status, STATUS.STALE);
	assert.ok(await w.state.computer('work'));
	r = await w.computer.send({ command: CMD.FORGET });
	assert.equal(r.status, 0);
	assert.deepEqual(r.ctap, new Map());
	assert.equal(r.questions.length, 0);
	assert.equal(await w.state.computer('work'), null);
	assert.equal(await w.state.hostWindow('work', 'db1'), 0);
	const e = await lastLog(w);
	assert.equal(e.op, 'unpair');
	assert.equal(e.event, 'unpaired-by-computer');
	// No longer paired: nothing opens its next message.
	await assert.rejects(w.computer.send({ command: CMD.GET_INFO }), { code: 'NOT_PAIRED' });
});

test('a failure inside after approval is 0x7F with the error, logged failed', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	w.kv.failPuts = 0;
	// The write of the counter (with the line) fails: nothing is signed.
	const r = await w.computer.sign(k, sshsigData('file'), { answer: () => {
		w.kv.failPuts = 1;
		return 'once';
	} });
	assert.equal(r.status, STATUS.OTHER);
	assert.equal(r.ctap, undefined);
	assert.match(r.reason, /put failed/);
	assert.equal((await lastLog(w)).event, 'failed');
	// The counter it took is not given again (never back): written with
	// the refusal's line.
	assert.equal((await w.state.credentials())[0].counter, 1);
	assert.equal((await w.computer.sign(k, sshsigData('file'))).counter, 2);
	// An error whose text would not make a reason (long, not ASCII, a
	// newline): still answered, escaped and cut.
	w.kv.failMessage = 'st\u00f6rage\n'.repeat(100);
	const r2 = await w.computer.sign(k, sshsigData('file'), { answer: () => {
		w.kv.failPuts = 1;
		return 'once';
	} });
	assert.equal(r2.status, STATUS.OTHER);
	assert.ok(r2.reason.length <= 200);
	assert.match(r2.reason, /^st\\xc3\\xb6rage\\x0ast/);
});

test('a question that waited in the caller\'s queue: answered under a window opened meanwhile, else asked again', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const seen = [];
	let r = await w.computer.sign(k, sshsigData('file'), { answer: async (q) => {
		seen.push(await q.recheck());
		await w.state.setWindow('work', Math.floor(w.clock.now / 1000) + 60, 'file', w.clock.now);
		seen.push(await q.recheck());
		return 'window-open';
	} });
	assert.deepEqual(seen, [false, true]);
	assert.equal(r.status, 0);
	assert.equal(r.questions.length, 1);
	assert.equal((await lastLog(w)).event, 'allow-window');
	// No window after all: the owner is asked.
	let n = 0;
	r = await w.computer.sign(k, sshsigData('git'), { answer: () =>
	    (n++ === 0 ? 'window-open' : 'reject') });
	assert.equal(r.questions.length, 2);
	assert.equal(r.status, STATUS.OPERATION_DENIED);
	assert.equal(Object.keys(r.questions[0]).includes('recheck'), false);
});

// ---- logins with host information (§8.5.1, hostcheck.js) ----

test('a first login is asked as first use and pins the host; the next is verified; a changed key is 0xF3 before anything', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const hk = hostKey();
	let l = hostLogin(k, hk, { name: 'DB1' });
	let r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, 0);
	let q = r.questions[0];
	assert.equal(q.op, 'login');
	assert.equal(q.title, 'SSH login');
	assert.equal(q.hostState, 'first-use');
	assert.equal(q.hostLine, 'root @ db1 (first use, not yet pinned)');
	assert.equal(q.hostKeyType, 'ssh-ed25519');
	assert.equal(q.hostKeyFp, await S.fingerprintOf(hk.blob));
	assert.deepEqual(q.choices, ['once', 'host', 'window', 'reject']);
	assert.equal(q.hostWindowText, 'logins to db1 from "work" for 3 hours');
	assert.ok(q.lines.includes(`  host key:    ssh-ed25519 ${q.hostKeyFp} (pinned if you allow)`));
	let e = await lastLog(w);
	assert.equal(e.text.replace(/^\S+ /, ''), `computer="work" op=login subject="root" ` +
	    `host="db1" verified=new key=${q.keyFp} decision=allow-once`);
	const pins = await w.state.hosts();
	assert.equal(pins.length, 1);
	assert.equal(pins[0].name, 'db1');
	assert.equal(pins[0].type, 'ssh-ed25519');
	assert.equal(pins[0].pinnedBy, 'work');
	assert.deepEqual(pins[0].key, hk.blob);
	// Pinned now: verified.
	l = hostLogin(k, hk, { bound: false });
	r = await w.computer.sign(k, l.raw, { host: l.host });
	q = r.questions[0];
	assert.equal(q.hostState, 'verified');
	assert.equal(q.hostLine, 'root @ db1 (verified)');
	assert.equal((await lastLog(w)).verified, 'yes');
	// Another key for db1: refused before UV (no PIN) and before anyone is asked.
	const other = hostKey();
	l = hostLogin(k, other);
	r = await w.computer.sign(k, l.raw, { host: l.host, uv: true });
	assert.equal(r.status, STATUS.HOSTKEY_CHANGED);
	assert.match(r.reason, /^host key for db1 changed; the phone refused to sign; /);
	assert.equal(r.questions.length, 0);
	e = await lastLog(w);
	assert.equal(e.event, 'refused-host-key-changed');
	assert.equal(e.verified, 'yes');
	// Port 2222 is another pin name, quoted in the reason.
	l = hostLogin(k, other, { port: 2222 });
	r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'once' });
	assert.equal(r.status, 0);
	l = hostLogin(k, hk, { port: 2222 });
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, STATUS.HOSTKEY_CHANGED);
	assert.match(r.reason, /'\[db1\]:2222'/);
	// A rejected first login pins nothing.
	l = hostLogin(k, hostKey(), { name: 'db9' });
	r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'reject' });
	assert.equal(r.status, STATUS.OPERATION_DENIED);
	assert.equal((await w.state.hosts()).some((p) => p.name === 'db9'), false);
	// Forgotten by the owner: first use again.
	await w.state.forgetHost('db1', w.clock.now);
	l = hostLogin(k, other);
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.questions[0].hostState, 'first-use');
});

test('host information that does not verify is 0xF7, before the PIN and before anyone is asked', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const hk = hostKey();
	// Signed over another session.
	let l = hostLogin(k, hk, { signWith: { sign: () => hk.sign(randomBytes(32)) } });
	let r = await w.computer.sign(k, l.raw, { host: l.host, uv: true });
	assert.equal(r.status, STATUS.HOST_UNVERIFIED);
	assert.match(r.reason, /^host verification failed \(.+\); the phone refused to sign$/);
	assert.equal(r.questions.length, 0);
	assert.equal((await lastLog(w)).event, 'refused-host-signature');
	// A host-bound login naming another host key than the proxy saw.
	l = hostLogin(k, hk, { boundKey: hostKey().blob });
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, STATUS.HOST_UNVERIFIED);
	assert.equal(r.reason, 'host verification failed (the login names another host key than ' +
	    'the one sk-phone proxy saw); the phone refused to sign');
	assert.equal((await w.state.hosts()).length, 0);
	// Host info on a signature of other data is ignored.
	r = await w.computer.sign(k, sshsigData('file'), { host: l.host });
	assert.equal(r.status, 0);
	assert.equal((await lastLog(w)).verified, '-');
});

test('windows for logins: the host window and the computer window cover pinned hosts only; a key pinned under another name is always asked', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const hk = hostKey(), hk2 = hostKey();
	let l = hostLogin(k, hk);
	let r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'host' });
	assert.equal(r.status, 0);
	assert.equal((await lastLog(w)).event, 'allow-host-window-start');
	assert.ok(await w.state.hostWindow('work', 'db1') > w.clock.now / 1000);
	l = hostLogin(k, hk);
	r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'reject' });
	assert.equal(r.status, 0);
	assert.equal(r.questions.length, 0);
	assert.equal((await lastLog(w)).event, 'allow-host-window');
	// Another host (first use) and a login without host info: asked.
	l = hostLogin(k, hk2, { name: 'db2' });
	r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'window' });
	assert.equal(r.questions.length, 1);
	assert.equal(r.status, 0);	// db2 pinned now, and the computer window open
	l = hostLogin(k, hk2, { name: 'db2' });
	r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'reject' });
	assert.equal(r.questions.length, 0);
	assert.equal((await lastLog(w)).event, 'allow-window');
	r = await w.computer.sign(k, loginData({ keyBlob: credentialBlob(k.publicKey, 'ssh:') }),
	    { answer: 'reject' });
	assert.equal(r.questions.length, 1);
	assert.equal(r.status, STATUS.OPERATION_DENIED);
	// db1's key under the name "alias": warned, no host window, no window covers it.
	l = hostLogin(k, hk, { name: 'alias' });
	r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'reject' });
	assert.equal(r.questions.length, 1);
	const q = r.questions[0];
	assert.equal(q.warning, 'WARNING: this server\'s key is pinned as db1; the computer calls it ' +
	    'alias');
	assert.equal(q.lines[1], '  WARNING:     this server\'s key is pinned as db1; the computer ' +
	    'calls it alias');
	assert.deepEqual(q.choices, ['once', 'window', 'reject']);
	assert.ok(q.lines.includes(`  host key:    ssh-ed25519 ${q.hostKeyFp} (pinned for another ` +
	    'name: not pinned for this one)'));
	// Allowed, warned: pinned under that name too.
	r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'once' });
	assert.equal(r.status, 0);
	assert.deepEqual((await w.state.hosts()).map((p) => p.name).sort(), ['alias', 'db1', 'db2']);
});

test('a no-touch login to a pinned host: the notice names the host, the user and verified', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const hk = hostKey();
	let l = hostLogin(k, hk);
	await w.computer.sign(k, l.raw, { host: l.host });
	l = hostLogin(k, hk);
	const r = await w.computer.sign(k, l.raw, { host: l.host, up: false });
	assert.equal(r.status, 0);
	assert.equal(r.flags, 0);
	const fp = (await w.state.credentials())[0].fingerprint;
	assert.deepEqual(r.notices, [`signed without asking: no-touch-required key ${fp}, for ` +
	    'computer "work", host db1 (user root, verified yes)']);
});

test('more of §8.3\'s order: stale before replayed, the login\'s key blob before a changed host key, a changed host before the PIN', async () => {
	const w = await world();
	await w.state.setPin('2468');
	const k = await w.computer.enroll();
	const raw = sshsigData('file');
	const id = randomBytes(16);
	const params = gaParams({ cdh: await sha256(raw), ids: [k.credId] });
	assert.equal((await w.computer.send({ command: CMD.GET_ASSERTION, id, raw, params })).status, 0);
	const r = await w.computer.send({ command: CMD.GET_ASSERTION, id, raw, params,
	    timeMs: T0 - FRESH_MS - 1 });
	assert.equal(r.status, STATUS.STALE);
	const hk = hostKey();
	let l = hostLogin(k, hk);
	assert.equal((await w.computer.sign(k, l.raw, { host: l.host })).status, 0);
	// Another host key for db1, and the login names another key: 0x02.
	const other = await generateEcdsa();
	l = hostLogin({ publicKey: other.publicKey }, hostKey());
	let s = await w.computer.sign(k, l.raw, { host: l.host, uv: true, pin: '2468' });
	assert.equal(s.status, STATUS.INVALID_PARAMETER);
	assert.equal(s.pinAsked, false);
	// Its own key: 0xF3, before the PIN is asked.
	l = hostLogin(k, hostKey());
	s = await w.computer.sign(k, l.raw, { host: l.host, uv: true, pin: '2468' });
	assert.equal(s.status, STATUS.HOSTKEY_CHANGED);
	assert.equal(s.pinAsked, false);
	// The pinned key: the PIN, then the question.
	l = hostLogin(k, hk);
	s = await w.computer.sign(k, l.raw, { host: l.host, uv: true, pin: '2468', checkUv: true });
	assert.equal(s.status, 0);
	assert.equal(s.pinAsked, true);
	assert.equal(s.flags, 0x05);
	assert.equal(s.questions[0].hostState, 'verified');
});

// A MemKV that lists what the state asks of it.
class CountingKV extends MemKV {
	constructor() {
		super();
		this.ops = [];
	}

	async get(k) {
		this.ops.push(['get', k]);
		return super.get(k);
	}

	async put(k, v) {
		this.ops.push(['put', k]);
		return super.put(k, v);
	}

	async putMany(e) {
		this.ops.push(['putMany', e.map(([k]) => k)]);
		return super.putMany(e);
	}
}

test('the store per signature: the version read, then one write of the replay id, the counter and the audit line before the signature leaves; the id on disk before a question; another writer noticed', async () => {
	const kv = new CountingKV();
	const w = await world({ kv, engine: { windowSeconds: 60 } });
	const k = await w.computer.enroll();
	// Asked: the replay id is on disk before the question shows.
	let onDisk = 0;
	let r = await w.computer.sign(k, sshsigData('file'), { answer: () => {
		onDisk = kv.map.get('seen').length;
		return 'window';
	} });
	assert.equal(r.status, 0);
	assert.equal(onDisk, 2);
	// Under the window: one read, one write (the id, the counter, the line).
	kv.ops = [];
	r = await w.computer.sign(k, sshsigData('file'));
	assert.equal(r.status, 0);
	assert.equal(r.counter, 2);
	const line = 'audit:' + (kv.map.get('audit:meta').next - 1);
	assert.deepEqual(kv.ops, [['get', 'version'], ['putMany', ['seen', 'counters', line,
	    'audit:meta', 'version']]]);
	assert.equal(kv.map.get(line).event, 'allow-window');
	// Another tab deletes the key: the next request reads the store again.
	const other = await S.PhoneState.open(kv);
	await other.deleteCredential(k.credId, T0);
	r = await w.computer.sign(k, sshsigData('file'));
	assert.equal(r.status, STATUS.NO_CREDENTIALS);
});

test('a signature whose one write fails: refused, nothing of it stored, its counter never given again, its id still a replay', async () => {
	const kv = new CountingKV();
	const w = await world({ kv, engine: { windowSeconds: 60 } });
	const k = await w.computer.enroll();
	let r = await w.computer.sign(k, sshsigData('file'), { answer: 'window' });
	assert.equal(r.counter, 1);
	const before = structuredClone([...kv.map]);
	// Every write fails: the combined one, the refusal's line, the id's.
	kv.failPuts = 3;
	const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
	r = await w.computer.sign(k, sshsigData('file'), { id });
	assert.equal(r.status, STATUS.OTHER);
	assert.equal(r.ctap, undefined, 'no signature leaves');
	assert.equal(kv.failPuts, 0);
	// Nothing half: the store is as it was, record for record.
	assert.deepEqual([...kv.map], before);
	// The same id again: a replay (kept in memory, written next).
	r = await w.computer.sign(k, sshsigData('file'), { id });
	assert.equal(r.status, STATUS.REPLAYED);
	// The next signature: counter 3 (2 was taken by the dropped one).
	r = await w.computer.sign(k, sshsigData('file'), { up: false });
	assert.equal(r.status, 0);
	assert.equal(r.counter, 3);
	assert.equal(r.notices.length, 1);
	assert.equal(Object.values(kv.map.get('counters'))[0], 3);
	assert.ok(kv.map.get('seen').some((e) => e.id.length === id.length &&
	    e.id.every((b, i) => b === id[i])), 'the dropped request\'s id is on disk');
	const log = (await w.state.auditLog()).map((e) => e.event);
	assert.deepEqual(log.slice(-3), ['allow-window-start', 'refused-replay', 'allow-no-touch']);
	// A no-touch signature whose write fails: refused, and the owner is
	// not told of a signature that did not leave.
	kv.failPuts = 3;
	r = await w.computer.sign(k, sshsigData('file'), { up: false });
	assert.equal(r.status, STATUS.OTHER);
	assert.deepEqual(r.notices, []);
});
