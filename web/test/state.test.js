// The web phone's state (web/src/phone/state.js, PROTOCOL.md §8.7 and the
// rules of §8.3 it keeps) on a MemKV: identity keys never extractable, the
// computers' rules, the replay cache (per-computer share, both clocks,
// kept across a re-open of the same store: a "restart"), counters written
// first and never lost to concurrent callers, the PIN (a salted hash, the
// wrong-PIN count across re-opens, blocked at 8), host pins and windows,
// the computer window's namespaces, the audit log's lines and its cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ascii, concat, equal, toHex } from '../src/proto/bytes.js';
import { generateEcdh, generateEcdsa, randomBytes, sha256 } from '../src/proto/crypto.js';
import { MemKV } from '../src/phone/memkv.js';
import * as S from '../src/phone/state.js';

const { PhoneState } = S;
const T = 1767000000000;

async function fresh() {
	const kv = new MemKV();
	return { kv, st: await PhoneState.open(kv) };
}

async function comp(st, name) {
	const pair = await generateEcdh();
	await st.addComputer({ name, publicKey: pair.publicKey, requestPsk: randomBytes(32) }, T);
	return st.computer(name);
}

async function cred(extra = {}) {
	const k = await generateEcdsa();
	return { id: randomBytes(16), rp: 'ssh:', userId: new Uint8Array(32), userName: 'u',
	    privateKey: k.privateKey, publicKey: k.publicKey, resident: false, credProtect: 1,
	    created: T / 1000, madeFor: 'work', ...extra };
}

test('identity: ECDH and ECDSA pairs that no script can export, kept across a re-open', async () => {
	const { kv, st } = await fresh();
	assert.equal(await st.identity(), null);
	const id = await st.createIdentity({ name: 'pocket', relay: 'wss://relay.example.org' });
	await assert.rejects(st.createIdentity({ name: 'again' }), { code: 'EXISTS' });
	const again = await (await PhoneState.open(kv)).identity();
	assert.equal(again.name, 'pocket');
	assert.equal(again.relay, 'wss://relay.example.org');
	assert.deepEqual(again.mailboxId, await sha256(ascii('sk-phone mailbox v2'),
	    again.mailbox.publicKey));
	assert.deepEqual(again.identity.publicKey, id.identity.publicKey);
	for (const k of [again.identity.privateKey, again.mailbox.privateKey]) {
		assert.equal(k.extractable, false);
		await assert.rejects(crypto.subtle.exportKey('pkcs8', k));
		await assert.rejects(crypto.subtle.exportKey('jwk', k));
	}
	await assert.rejects(st.createIdentity({ name: '' }), { code: 'FORMAT' });
	await st.setIdentity({ relay: 'wss://other.example.org' });
	assert.equal((await st.identity()).relay, 'wss://other.example.org');
	await assert.rejects(st.setIdentity({ relay: 'http://x' }));
});

test('identity: a relay list (URLs of one relay) kept in order; one URL keeps none; a damaged list is CORRUPT', async () => {
	const { kv, st } = await fresh();
	await st.createIdentity({ name: 'pocket', relay: 'wss://a.example' });
	await st.setIdentity({ relays: ['wss://a.example', 'ws://127.0.0.1:9/b'] });
	let id = await (await S.PhoneState.open(kv)).identity();
	assert.deepEqual(id.relays, ['wss://a.example', 'ws://127.0.0.1:9/b']);
	assert.equal(id.relay, 'wss://a.example');
	await assert.rejects(st.setIdentity({ relays: ['wss://a.example', 'wss://a.example'] }),
	    { code: 'FORMAT' });
	await assert.rejects(st.setIdentity({ relays: ['ws://a', 'ws://b', 'ws://c', 'ws://d',
	    'ws://e'] }), { code: 'FORMAT' });
	await assert.rejects(st.setIdentity({ relays: ['ws://a', 'http://b'] }), { code: 'FORMAT' });
	await st.setIdentity({ relays: ['ws://c'] });
	id = await st.identity();
	assert.equal(id.relay, 'ws://c');
	assert.equal(id.relays, undefined);
	await st.setIdentity({ relays: ['ws://c', 'ws://d'] });
	await st.setIdentity({ relay: 'ws://e' });
	assert.equal((await st.identity()).relays, undefined);
	// stored damaged: a list of one, one that does not start with relay
	for (const relays of [['ws://e'], ['ws://f', 'ws://e'], ['ws://e', 'ws://e'], 'ws://e']) {
		const rec = await kv.get('identity');
		await kv.put('identity', { ...rec, relays });
		await assert.rejects((await S.PhoneState.open(kv)).identity(), { code: 'CORRUPT' });
		await kv.put('identity', rec);
	}
});

test('computers: names unique, the same key pairs again in place, 16 at most, unpair drops its host windows', async () => {
	const { st } = await fresh();
	const a = await comp(st, 'work');
	assert.equal(a.pairedAt, T / 1000);
	assert.equal(a.windowUntil, 0);
	await assert.rejects(st.addComputer({ name: 'work', publicKey: (await generateEcdh()).publicKey,
	    requestPsk: randomBytes(32) }), { code: 'EXISTS' });
	// The same computer paired again: replaced, not added.
	const psk = randomBytes(32);
	await st.addComputer({ name: 'work2', publicKey: a.publicKey, requestPsk: psk });
	assert.deepEqual((await st.computers()).map((c) => c.name), ['work2']);
	assert.deepEqual((await st.computer('work2')).requestPsk, psk);
	for (let i = 1; i < S.MAX_COMPUTERS; i++)
		await comp(st, `c${i}`);
	await assert.rejects(comp(st, 'one too many'), { code: 'TOO_LARGE' });
	await st.setHostWindow('work2', 'db1', T / 1000 + 100, T);
	await st.setHostWindow('c1', 'db1', T / 1000 + 100, T);
	await st.renameComputer('work2', 'laptop');
	assert.equal(await st.hostWindow('laptop', 'db1'), T / 1000 + 100);
	await assert.rejects(st.renameComputer('laptop', 'c1'), { code: 'EXISTS' });
	await st.removeComputer('laptop', T);
	assert.equal(await st.computer('laptop'), null);
	assert.equal(await st.hostWindow('laptop', 'db1'), 0);
	assert.equal(await st.hostWindow('c1', 'db1'), T / 1000 + 100);
	await assert.rejects(st.removeComputer('laptop'), { code: 'NOT_FOUND' });
	const log = await st.auditLog();
	assert.equal(log.at(-1).event, 'unpaired');
	assert.equal(log.at(-1).op, 'unpair');
	assert.equal(log[0].event, 'paired');
});

test('the replay cache: an id is refused until both clocks say 600000 ms, also after a re-open', async () => {
	const { kv, st } = await fresh();
	const a = await comp(st, 'work');
	const id = randomBytes(16);
	assert.equal(await st.seenAdd({ computer: a, id, reqMs: T, now: T }), 'ok');
	assert.equal(await st.seenAdd({ computer: a, id, reqMs: T, now: T + 1 }), 'replay');
	// A restart: a new state on the same store remembers it.
	const st2 = await PhoneState.open(kv);
	assert.equal(await st2.seenAdd({ computer: a, id, reqMs: T, now: T + 5000 }), 'replay');
	// The request's own time old enough, but recorded less than 10 minutes
	// ago (a clock set back): still remembered.
	const id2 = randomBytes(16);
	assert.equal(await st2.seenAdd({ computer: a, id: id2, reqMs: T - S.REPLAY_MS, now: T }), 'ok');
	assert.equal(await st2.seenAdd({ computer: a, id: id2, reqMs: T - S.REPLAY_MS,
	    now: T + S.REPLAY_MS - 1 }), 'replay');
	// Both clocks past: forgotten.
	assert.equal(await st2.seenAdd({ computer: a, id, reqMs: T, now: T + S.REPLAY_MS }), 'ok');
	// id2 went with it (both its clocks past too): only id is kept.
	assert.equal(await st2.seenCount(a), 1);
});

test('the replay cache: each computer has its own share of 256; an unpaired computer\'s ids go', async () => {
	const { st } = await fresh();
	const a = await comp(st, 'a'), b = await comp(st, 'b');
	for (let i = 0; i < S.SEEN_SHARE; i++)
		assert.equal(await st.seenAdd({ computer: a, id: randomBytes(16), reqMs: T, now: T }), 'ok');
	assert.equal(await st.seenAdd({ computer: a, id: randomBytes(16), reqMs: T, now: T }), 'flood');
	// A replay is still a replay when the share is full.
	const bid = randomBytes(16);
	assert.equal(await st.seenAdd({ computer: b, id: bid, reqMs: T, now: T }), 'ok');
	assert.equal(await st.seenCount(a), S.SEEN_SHARE);
	assert.equal(await st.seenCount(b), 1);
	await st.removeComputer('a');
	assert.equal(await st.seenAdd({ computer: b, id: randomBytes(16), reqMs: T, now: T }), 'ok');
	assert.equal(await st.seenCount(a), 0);
	assert.equal(await st.seenCount(b), 2);
	// Its share frees as its ids age.
	const c = await comp(st, 'c');
	for (let i = 0; i < S.SEEN_SHARE; i++)
		await st.seenAdd({ computer: c, id: randomBytes(16), reqMs: T, now: T });
	assert.equal(await st.seenAdd({ computer: c, id: randomBytes(16), reqMs: T, now: T }), 'flood');
	assert.equal(await st.seenAdd({ computer: c, id: randomBytes(16), reqMs: T + S.REPLAY_MS,
	    now: T + S.REPLAY_MS }), 'ok');
});

test('concurrent callers lose no replay id and no counter', async () => {
	const { kv, st } = await fresh();
	const a = await comp(st, 'work');
	const ids = Array.from({ length: 40 }, () => randomBytes(16));
	const got = await Promise.all(ids.map((id) => st.seenAdd({ computer: a, id, reqMs: T, now: T })));
	assert.deepEqual(new Set(got), new Set(['ok']));
	assert.equal(await st.seenCount(a), 40);
	// The same id at once from two callers: one passes.
	const same = randomBytes(16);
	const two = await Promise.all([1, 2].map(() => st.seenAdd({ computer: a, id: same, reqMs: T,
	    now: T })));
	assert.deepEqual(two.sort(), ['ok', 'replay']);
	const c = await cred();
	await st.addCredential(c);
	const st2 = await PhoneState.open(kv);	// two states, one store
	const ns = await Promise.all(Array.from({ length: 30 }, (_, i) =>
	    (i % 2 ? st : st2).counterNext(c.id)));
	assert.deepEqual(ns.sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1));
	assert.equal((await (await PhoneState.open(kv)).credentials())[0].counter, 30);
});

test('credentials: 128 at most, private keys stay CryptoKeys that cannot be exported, counters end at 2^32-1', async () => {
	const { kv, st } = await fresh();
	const c = await cred({ resident: true, userId: Uint8Array.of(1, 2) });
	await st.addCredential(c);
	await assert.rejects(st.addCredential({ ...c }), { code: 'EXISTS' });
	const ext = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true,
	    ['sign']);
	await assert.rejects(st.addCredential(await cred({ privateKey: ext.privateKey })),
	    { code: 'INVALID' });
	const st2 = await PhoneState.open(kv);
	const rec = await st2.findCredential(c.id);
	assert.ok(rec.privateKey instanceof CryptoKey);
	assert.equal(rec.privateKey.extractable, false);
	await assert.rejects(crypto.subtle.exportKey('pkcs8', rec.privateKey));
	const listed = await st2.credentials();
	assert.equal(listed.length, 1);
	assert.equal(listed[0].privateKey, undefined);
	assert.match(listed[0].fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
	assert.ok(await st2.findResident('ssh:', Uint8Array.of(1, 2)));
	assert.equal(await st2.findResident('ssh:', Uint8Array.of(1, 2), c.id), null);
	assert.equal(await st2.findResident('ssh:other', Uint8Array.of(1, 2)), null);
	for (let i = 1; i < S.MAX_CREDS; i++)
		await st2.addCredential(await cred());
	await assert.rejects(st2.addCredential(await cred()), { code: 'TOO_LARGE',
	    message: 'the phone holds 128 keys already: delete one' });
	// The counter's end.
	const counters = (await kv.get('counters')) ?? {};
	counters[Buffer.from(c.id).toString('hex')] = S.COUNTER_MAX - 1;
	await kv.put('counters', counters);
	// Another writer (a second tab) marks the store: the state reads again.
	await kv.put('version', 'another tab');
	assert.equal(await st2.counterNext(c.id), S.COUNTER_MAX);
	await assert.rejects(st2.counterNext(c.id), { code: 'LIMIT' });
	await st2.deleteCredential(c.id, T);
	await assert.rejects(st2.counterNext(c.id), { code: 'NOT_FOUND' });
	assert.equal((await kv.get('counters'))[Buffer.from(c.id).toString('hex')], undefined);
	assert.equal((await st2.auditLog()).at(-1).event, 'deleted');
});

test('the PIN: a salted hash, wrong tries counted across re-opens, blocked at 8, reset by the owner', async () => {
	const { kv, st } = await fresh();
	assert.equal(await st.pinIsSet(), false);
	assert.equal(await st.verifyPin('1234'), 'none');
	await assert.rejects(st.setPin('12'), { code: 'INVALID' });
	await st.setPin('1234');
	assert.equal(await st.pinIsSet(), true);
	// Not the PIN, anywhere in the store.
	const rec = await kv.get('pin');
	assert.equal(JSON.stringify(rec, (k, v) => (v instanceof Uint8Array ? [...v] : v))
	    .includes('1234'), false);
	assert.equal(rec.hash.length, 32);
	assert.equal(await st.verifyPin('1234'), 'ok');
	assert.equal(await st.verifyPin('4321'), 'wrong');
	assert.equal(await st.pinFailures(), 1);
	assert.equal(await (await PhoneState.open(kv)).pinFailures(), 1);
	assert.equal(await st.verifyPin('1234'), 'ok');
	assert.equal(await st.pinFailures(), 0);
	// Eight wrong ones at once: each counted.
	const eight = await Promise.all(Array.from({ length: 8 }, (_, i) => st.verifyPin(`99${i}9`)));
	assert.deepEqual(new Set(eight), new Set(['wrong']));
	const st2 = await PhoneState.open(kv);
	assert.equal(await st2.pinFailures(), 8);
	assert.equal(await st2.verifyPin('1234'), 'blocked');
	assert.equal(await st2.pinFailures(), 8);
	await assert.rejects(st2.setPin('5678', '1234'), { code: 'PIN_INVALID' });
	await st2.resetPinFailures(T);
	assert.equal(await st2.verifyPin('1234'), 'ok');
	// Changing it needs the one set; a wrong one counts.
	await assert.rejects(st2.setPin('5678'), { code: 'PIN_INVALID' });
	await assert.rejects(st2.setPin('5678', '0000'), { code: 'PIN_INVALID' });
	assert.equal(await st2.pinFailures(), 2);
	await st2.setPin('5678', '1234');
	assert.equal(await st2.pinFailures(), 0);
	assert.equal(await st2.verifyPin('1234'), 'wrong');
	assert.equal(await st2.verifyPin('5678'), 'ok');
	// A count that cannot be written is an error, never an uncounted try.
	kv.failPuts = 1;
	await assert.rejects(st2.verifyPin('0000'));
	assert.equal(await st2.verifyPin('0000'), 'wrong');
});

test('host pins: one per name and type, a changed key refused, forget drops pins and windows', async () => {
	const { st } = await fresh();
	const k1 = randomBytes(51), k2 = randomBytes(51);
	await st.pinHost({ name: 'db1', type: 'ssh-ed25519', key: k1, computer: 'work' }, T);
	await st.pinHost({ name: 'db1', type: 'ssh-ed25519', key: k1, computer: 'work' }, T + 5000);
	await assert.rejects(st.pinHost({ name: 'db1', type: 'ssh-ed25519', key: k2, computer: 'work' }),
	    { code: 'HOSTKEY' });
	await st.pinHost({ name: 'db1', type: 'ecdsa-sha2-nistp256', key: k2, computer: 'work' }, T);
	const hosts = await st.hosts();
	assert.equal(hosts.length, 2);
	assert.deepEqual(hosts[0], { name: 'db1', type: 'ssh-ed25519', key: k1, pinnedAt: T / 1000,
	    pinnedBy: 'work', fingerprint: await S.fingerprintOf(k1) });
	await st.setHostWindow('work', 'db1', T / 1000 + 60, T);
	await st.forgetHost('db1', T);
	assert.equal((await st.hosts()).length, 0);
	assert.equal(await st.hostWindow('work', 'db1'), 0);
	await assert.rejects(st.forgetHost('db1'), { code: 'NOT_FOUND' });
	const last = (await st.auditLog()).at(-1);
	assert.equal(last.text.replace(/^\S+ /, ''), 'computer="-" op=forget-host subject="-" ' +
	    'host="db1" verified=- key=- decision=forgotten');
});

test('host windows: one per computer and host, past ones dropped, 64 at most (the first to end goes)', async () => {
	const { st } = await fresh();
	const now = T / 1000;
	await st.setHostWindow('work', 'db1', now + 10, T);
	await st.setHostWindow('work', 'db1', now + 20, T);
	assert.equal(await st.hostWindow('work', 'db1'), now + 20);
	assert.equal(await st.hostWindow('home', 'db1'), 0);
	await st.setHostWindow('work', 'old', now + 1, T);
	await st.setHostWindow('work', 'db2', now + 30, T + 2000);	// 'old' is past
	assert.equal((await st.hostsRecord()).windows.length, 2);
	for (let i = 0; i < 62; i++)
		await st.setHostWindow('work', `h${i}`, now + 100 + i, T + 2000);
	assert.equal((await st.hostsRecord()).windows.length, 64);
	await st.setHostWindow('work', 'one-more', now + 1000, T + 2000);
	const w = (await st.hostsRecord()).windows;
	assert.equal(w.length, 64);
	assert.equal(w.some((x) => x.name === 'db1'), false);	// ended first
	assert.equal(await st.hostWindow('work', 'one-more'), now + 1000);
});

test('the computer window: namespaces under it, a ninth pushes out the first, a past window starts empty', async () => {
	const { st } = await fresh();
	await comp(st, 'work');
	const now = T / 1000;
	await st.setWindow('work', now + 100, 'file', T);
	await st.setWindow('work', now + 100, 'file', T);
	await st.setWindow('work', now + 100, null, T);
	assert.deepEqual((await st.computer('work')).windowNs, ['file']);
	for (let i = 0; i < 8; i++)
		await st.setWindow('work', now + 100, `ns${i}`, T);
	assert.deepEqual((await st.computer('work')).windowNs, ['ns0', 'ns1', 'ns2', 'ns3', 'ns4',
	    'ns5', 'ns6', 'ns7']);
	await st.setWindow('work', now + 300, 'git', T + 200000);	// the old one ended
	const c = await st.computer('work');
	assert.deepEqual(c.windowNs, ['git']);
	assert.equal(c.windowUntil, now + 300);
	await assert.rejects(st.setWindow('work', now, '', T), { code: 'INVALID' });
	await assert.rejects(st.setWindow('nobody', now, null, T), { code: 'NOT_FOUND' });
});

test('the audit log: the reference phone\'s line, escaped, newest last, capped', async () => {
	const { kv, st } = await fresh();
	const e = await st.audit({ computer: 'wo"rk', op: 'login', subject: 'r\\oot\n', host: 'db1',
	    verified: 'yes', key: 'SHA256:abc', event: 'allow-once' }, 1767000000123);
	assert.equal(e.at, 1767000000);
	assert.equal(e.text, '2025-12-29T09:20:00Z computer="wo\\x22rk" op=login ' +
	    'subject="r\\x5coot\\x0a" host="db1" verified=yes key=SHA256:abc decision=allow-once');
	// Cut as the reference phone's 300-byte buffers are.
	const long = await st.audit({ op: 'sshsig', subject: 'a'.repeat(400), event: 'reject' }, T);
	assert.match(long.text, new RegExp(` subject="a{296}\\.\\.\\." `));
	const n = S.AUDIT_MAX + 5;
	await Promise.all(Array.from({ length: n }, (_, i) => st.audit({ op: 'request',
	    subject: `s${i}`, event: 'refused-stale' }, T)));
	const log = await (await PhoneState.open(kv)).auditLog();
	assert.equal(log.length, S.AUDIT_MAX);
	assert.equal(log.at(-1).subject, `s${n - 1}`);
	assert.equal(log[0].subject, `s${n - S.AUDIT_MAX}`);
	assert.deepEqual((await st.auditLog(3)).map((x) => x.subject), [`s${n - 3}`, `s${n - 2}`,
	    `s${n - 1}`]);
	assert.equal((await kv.keys()).filter((k) => k.startsWith('audit:')).length, S.AUDIT_MAX + 1);
});

test('a failed write leaves the store as it was and the next edit works', async () => {
	const { kv, st } = await fresh();
	const a = await comp(st, 'work');
	kv.failPuts = 1;
	await assert.rejects(st.seenAdd({ computer: a, id: randomBytes(16), reqMs: T, now: T }));
	assert.equal(await st.seenCount(a), 0);
	assert.equal(await st.seenAdd({ computer: a, id: randomBytes(16), reqMs: T, now: T }), 'ok');
	assert.ok(equal(concat((await st.computer('work')).publicKey), a.publicKey));
});

test('a counter taken and not yet written (defer) stays taken when another writer changed the store meanwhile; not for a key it deleted', async () => {
	const { kv, st } = await fresh();
	const c = await cred(), d = await cred();
	await st.addCredential(c);
	await st.addCredential(d);
	assert.equal(await st.counterNext(c.id), 1);
	// Taken in memory: the next caller gets the next one, the disk not yet.
	assert.equal(await st.counterNext(c.id, { defer: true }), 2);
	assert.equal(await st.counterNext(d.id, { defer: true }), 1);
	assert.equal(await st.counterNext(c.id, { defer: true }), 3);
	assert.deepEqual(Object.values(kv.map.get('counters')), [1]);
	// Another tab writes (it deletes d); this page notices at its next
	// request, and its taken counters survive the reload (d's is dropped).
	const other = await PhoneState.open(kv);
	await other.deleteCredential(d.id, T);
	await st.beginRequest();
	st.endRequest();
	assert.equal(await st.counterNext(c.id, { defer: true }), 4);
	await st.flush();
	assert.deepEqual(kv.map.get('counters'), { [toHex(c.id)]: 4 });
	assert.equal((await (await PhoneState.open(kv)).credentials())[0].counter, 4);
});
