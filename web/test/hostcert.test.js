// Host certificates on the web phone (api13 D; PROTOCOL.md §8.5.1 step
// 4a, §9.5.1): certificates made by the real ssh-keygen -s (CAs ed25519,
// ECDSA P-256 and RSA with rsa-sha2-512, OpenSSH's default), read by
// web/src/phone/hostcert.js; host patterns; then logins through the
// engine (phonekit.js): a certificate of an untrusted CA is its certified
// key as a plain key (pinned on first use, the same pin as the plain
// key); a trusted CA's is verified ("certificate from CA ..."), audit
// verified=yes, a host window covers the next; expired, not yet valid,
// another host's, a user certificate and a bad CA signature are 0xF7 with
// their reasons, nothing pinned.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATUS } from '../src/proto/ctap.js';
import { parseCertificate, patternMatch, patternOk } from '../src/phone/hostcert.js';
import { fingerprint } from '../src/phone/hostkey.js';
import { hostKey, hostLogin, T0, world } from './phonekit.js';

let dir;
const NOW = T0 / 1000;

before(() => {
	dir = mkdtempSync(join(tmpdir(), 'skp-hostcert-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function keygen(...args) {
	const r = spawnSync('ssh-keygen', args, { encoding: 'utf8' });
	assert.equal(r.status, 0, `ssh-keygen ${args.join(' ')}: ${r.stderr}`);
	return r;
}

const blobOfLine = (line) => new Uint8Array(Buffer.from(line.trim().split(/\s+/)[1], 'base64'));

// A CA of type t ('ed25519', 'ecdsa', 'rsa'): its file and key blob.
const cas = {};
function ca(t) {
	if (!cas[t]) {
		const f = join(dir, 'ca_' + t);
		keygen('-q', '-t', t, ...(t === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', f);
		cas[t] = { file: f, blob: blobOfLine(readFileSync(f + '.pub', 'utf8')) };
	}
	return cas[t];
}

// A host key of phonekit (it signs session ids) certified by CA t.
let n = 0;
function certify(hk, t, { principals = 'db1', validity = null, user = false } = {}) {
	const f = join(dir, `host${n++}`);
	writeFileSync(f + '.pub', 'ssh-ed25519 ' + Buffer.from(hk.blob).toString('base64') + '\n');
	keygen('-q', '-s', ca(t).file, '-I', 'db1-id', ...(user ? [] : ['-h']),
	    ...(principals ? ['-n', principals] : []), ...(validity ? ['-V', validity] : []),
	    f + '.pub');
	return blobOfLine(readFileSync(f + '-cert.pub', 'utf8'));
}

// hk's login, the proxy having seen certificate cert.
function certLogin(k, hk, cert, name = 'db1') {
	const l = hostLogin(k, hk, { name, bound: false });
	l.host.hostKey = cert;
	return l;
}

test('certificates of ssh-keygen -s: every field read; the certified key is the plain key', () => {
	for (const t of ['ed25519', 'ecdsa', 'rsa']) {
		const hk = hostKey();
		const c = parseCertificate(certify(hk, t, { principals: 'db1,db1.example' }));
		assert.equal(c.name, 'ssh-ed25519');
		assert.deepEqual(c.key, hk.blob);
		assert.equal(c.type, 2);
		assert.equal(c.keyId, 'db1-id');
		assert.deepEqual(c.principals, ['db1', 'db1.example']);
		assert.equal(c.validAfter, 0n);
		assert.equal(c.validBefore, 0xffffffffffffffffn);
		assert.deepEqual(c.critical, []);
		assert.deepEqual(c.caKey, ca(t).blob);
	}
	const bad = certify(hostKey(), 'ed25519');
	assert.throws(() => parseCertificate(bad.subarray(0, bad.length - 1)), { code: 'FORMAT' });
	assert.throws(() => parseCertificate(Uint8Array.from([...bad, 0])), { code: 'FORMAT' });
});

test('host patterns: comma lists, * and ?, ! negation, case ignored', () => {
	assert.ok(patternMatch('*.example.com', 'db1.example.com'));
	assert.ok(patternMatch('*.EXAMPLE.com', 'DB1.example.com'));
	assert.ok(!patternMatch('*.example.com', 'example.com'));
	assert.ok(patternMatch('db?,web*', 'db1'));
	assert.ok(patternMatch('db?,web*', 'web-front'));
	assert.ok(!patternMatch('db?,web*', 'db12'));
	assert.ok(!patternMatch('*,!db1', 'db1'));
	assert.ok(patternMatch('*,!db1', 'db2'));
	assert.ok(patternMatch('[db1]:*', '[db1]:2222'));
	assert.ok(!patternMatch('db1', '[db1]:2222'));
	for (const p of ['', '!db1', 'db1,', 'a b', 'x'.repeat(256), ',db1'])
		assert.equal(patternOk(p), false, p);
});

test('an untrusted CA: the certified key as a plain key, pinned on first use, the same pin as the plain key', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const hk = hostKey();
	const cert = certify(hk, 'ed25519');
	let l = certLogin(k, hk, cert);
	let r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, 0);
	let q = r.questions[0];
	assert.equal(q.hostState, 'first-use');
	assert.equal(q.hostKeyFp, await fingerprint(hk.blob));
	const caFp = await fingerprint(ca('ed25519').blob);
	assert.ok(q.lines.includes(`  certificate: from CA ${caFp}, which the phone does not ` +
	    'trust: its key checked as a plain key'), q.lines.join('\n'));
	const [pin] = await w.state.hostPins();
	assert.deepEqual(pin.key, hk.blob);
	// the plain key, as the server sends it without its certificate
	l = hostLogin(k, hk, { bound: false });
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.questions[0].hostState, 'verified');
	l = certLogin(k, hk, cert);
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.questions[0].hostState, 'verified');
	// another key certified for the same host: changed, as any other key
	const other = hostKey();
	l = certLogin(k, other, certify(other, 'ed25519'));
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, STATUS.HOSTKEY_CHANGED);
});

test('a trusted CA: verified by certificate, audit verified=yes, a host window; each way a certificate fails is 0xF7 with its reason', async () => {
	const w = await world();
	const k = await w.computer.enroll();
	const caFp = await fingerprint(ca('rsa').blob);
	await w.state.trustCa({ pattern: 'db*,!db9', key: ca('rsa').blob }, T0);
	assert.deepEqual((await w.state.caList()).map((c) => [c.pattern, c.fingerprint, c.type]),
	    [['db*,!db9', caFp, 'ssh-rsa']]);
	assert.equal((await w.state.auditLog()).at(-1).event, 'trusted');
	await assert.rejects(w.state.trustCa({ pattern: 'db*,!db9', key: ca('rsa').blob }, T0),
	    { code: 'EXISTS' });
	const hk = hostKey();
	let l = certLogin(k, hk, certify(hk, 'rsa'));
	let r = await w.computer.sign(k, l.raw, { host: l.host, answer: 'host' });
	assert.equal(r.status, 0);
	const q = r.questions[0];
	assert.equal(q.hostState, 'verified');
	assert.equal(q.hostLine, `root @ db1 (verified (certificate from CA ${caFp}))`);
	assert.ok(q.lines.includes(`  host key:    ssh-ed25519 ${await fingerprint(hk.blob)} ` +
	    '(certified)'));
	assert.ok(q.choices.includes('host'));
	let e = (await w.state.auditLog()).at(-1);
	assert.equal(e.verified, 'yes');
	assert.equal(e.host, 'db1');
	assert.deepEqual(await w.state.hostPins(), [], 'nothing pinned');
	// the host window covers the next login to db1
	l = certLogin(k, hk, certify(hk, 'rsa'));
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, 0);
	assert.equal(r.questions.length, 0);
	assert.equal((await w.state.auditLog()).at(-1).event, 'allow-host-window');
	// the ways a certificate of a trusted CA fails
	const fails = [
		[{ validity: '20200101:20200201' }, 'the host certificate for db1 has expired ' +
		    '(valid until 2020-02-01T00:00:00Z)'],
		[{ validity: '21000101:21000201' }, 'the host certificate for db1 is not yet valid ' +
		    '(valid from 2100-01-01T00:00:00Z; check the phone\'s clock)'],
		[{ principals: 'db2,web1' }, 'the host certificate for db1 is for other hosts (db1 ' +
		    'is not among its principals)'],
		[{ user: true }, 'the certificate db1 presents is a user certificate, not a host ' +
		    'certificate'],
	];
	for (const [how, why] of fails) {
		l = certLogin(k, hk, certify(hk, 'rsa', how));
		r = await w.computer.sign(k, l.raw, { host: l.host });
		assert.equal(r.status, STATUS.HOST_UNVERIFIED, why);
		assert.equal(r.reason, `${why}; the phone refused to sign`);
		assert.equal(r.questions.length, 0);
		e = (await w.state.auditLog()).at(-1);
		assert.equal(e.event, 'refused-host-certificate');
	}
	// a CA signature that does not verify
	const c = certify(hk, 'rsa');
	c[c.length - 5] ^= 1;
	l = certLogin(k, hk, c);
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, STATUS.HOST_UNVERIFIED);
	assert.equal(r.reason, `the host certificate for db1 does not verify with the CA ${caFp}; ` +
	    'the phone refused to sign');
	// db9 is not in the pattern: the certificate is its key, a plain key
	l = certLogin(k, hk, certify(hk, 'rsa', { principals: 'db9' }), 'db9');
	r = await w.computer.sign(k, l.raw, { host: l.host });
	assert.equal(r.status, 0);
	assert.equal(r.questions[0].hostState, 'first-use');
	// distrusted: the same as never trusted
	await w.state.distrustCa(ca('rsa').blob, null, T0);
	assert.deepEqual(await w.state.cas(), []);
	assert.equal((await w.state.auditLog()).at(-1).event, 'distrusted');
	await assert.rejects(w.state.distrustCa(ca('rsa').blob, null, T0), { code: 'NOT_FOUND' });
	void NOW;
});
