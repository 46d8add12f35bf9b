// The web phone's state read back from damaged or hostile storage
// (web/src/phone/state.js, PROTOCOL.md §8.7's records; IndexedDB is data
// from disk, so its reader gets a fuzz harness like the network parsers'
// in fuzz.test.js). A real PhoneState fills a MemKV; each record is then
// damaged by a PRNG with a fixed seed (the same mutants on every run):
// fields dropped, wrong types, wrong byte lengths, huge lists, a public
// key or an extractable or ECDH CryptoKey where a non-extractable ECDSA
// private key belongs, a piece of another record, and a store marked as
// written by a newer layout. Every read must either work, with an answer
// of the right shape, or fail with an SkpError (CORRUPT / VERSION) whose
// message says what to do; never a TypeError. A failed read or edit
// writes nothing, and the records that were not damaged still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../src/proto/crypto.js';
import { SkpError } from '../src/proto/err.js';
import { MemKV } from '../src/phone/memkv.js';
import { PhoneState } from '../src/phone/state.js';

const T = 1767000000000;
const MUTANTS = 50;	// per record

// xorshift32 with a fixed seed (as fuzz.test.js)
function prng(seed) {
	let x = seed >>> 0 || 1;
	return (n) => {
		x ^= x << 13; x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5; x >>>= 0;
		return n ? x % n : x;
	};
}

// A store as a real phone leaves it: identity, two computers (one with a
// window over a namespace), two keys (one resident) with counters, replay
// ids, a pinned host and a host window, a PIN with a wrong try, audit lines.
async function realStore() {
	const kv = new MemKV();
	const st = await PhoneState.open(kv);
	await st.createIdentity({ name: 'pocket', relay: 'wss://relay.example.org' });
	// a relay list (§2.1), so that its damage is fuzzed too
	await st.setIdentity({ relays: ['wss://relay.example.org', 'wss://relay-b.example.org'] });
	const comps = [];
	for (const name of ['work', 'home']) {
		const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' },
		    true, ['deriveBits']);
		const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
		comps.push(await st.addComputer({ name, publicKey: pub, requestPsk: randomBytes(32) }, T));
	}
	await st.setWindow('work', T / 1000 + 3600, 'file', T);
	for (const resident of [false, true]) {
		const k = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' },
		    false, ['sign']);
		const pub = new Uint8Array(await crypto.subtle.exportKey('raw', k.publicKey));
		const id = randomBytes(16);
		await st.addCredential({ id, rp: 'ssh:', userId: new Uint8Array(32),
		    userName: 'u', privateKey: k.privateKey, publicKey: pub, resident,
		    credProtect: 1, created: T / 1000, madeFor: 'work' });
		await st.counterNext(id);
	}
	for (let i = 0; i < 3; i++)
		await st.seenAdd({ computer: comps[i % 2], id: randomBytes(16), reqMs: T, now: T });
	await st.pinHost({ name: 'db1', type: 'ssh-ed25519', key: randomBytes(51), computer: 'work' }, T);
	await st.setHostWindow('work', 'db1', T / 1000 + 3600, T);
	await st.setPin('1234');
	await st.verifyPin('9999');
	await st.audit({ computer: 'work', op: 'login', subject: 'root', event: 'allow-once' }, T);
	return kv;
}

// What reads each record, and a check of the answer's shape (a read that
// works must not answer with what the damage made of it).
const isBytes = (b, n) => b instanceof Uint8Array && (n === undefined || b.length === n);
const READERS = {
	identity: async (st) => {
		const id = await st.identity();
		assert.equal(typeof id.name, 'string');
		for (const p of [id.identity, id.mailbox]) {
			assert.ok(p.privateKey instanceof CryptoKey && !p.privateKey.extractable);
			assert.ok(isBytes(p.publicKey, 65));
		}
	},
	computers: async (st) => {
		for (const c of await st.computers()) {
			assert.equal(typeof c.name, 'string');
			assert.ok(isBytes(c.publicKey, 65) && isBytes(c.requestPsk, 32));
			assert.ok(Number.isSafeInteger(c.windowUntil) && Array.isArray(c.windowNs));
		}
	},
	credentials: async (st) => {
		for (const c of await st.credentials()) {
			assert.ok(isBytes(c.id, 16) && isBytes(c.publicKey, 65));
			assert.ok(Number.isSafeInteger(c.counter));
			assert.match(c.fingerprint, /^SHA256:/);
		}
		for (const c of await st.credentialRecords())
			assert.ok(c.privateKey instanceof CryptoKey && !c.privateKey.extractable &&
			    c.privateKey.algorithm.name === 'ECDSA');
	},
	counters: async (st) => {
		for (const c of await st.credentials())
			assert.ok(Number.isSafeInteger(c.counter) && c.counter >= 0);
	},
	seen: async (st) => {
		assert.equal(typeof await st.seenCount({ publicKey: new Uint8Array(65) }), 'number');
		const c = (await st.computers())[0];
		assert.ok(['ok', 'replay', 'flood'].includes(await st.seenAdd({ computer: c,
		    id: randomBytes(16), reqMs: T, now: T })));
	},
	hosts: async (st) => {
		for (const h of await st.hosts()) {
			assert.ok(typeof h.name === 'string' && typeof h.type === 'string');
			assert.ok(isBytes(h.key));
		}
		assert.ok(Number.isSafeInteger(await st.hostWindow('work', 'db1')));
	},
	pin: async (st) => {
		assert.equal(typeof await st.pinIsSet(), 'boolean');
		assert.ok(Number.isSafeInteger(await st.pinFailures()));
	},
	'audit:meta': async (st) => {
		for (const l of await st.auditLog())
			assert.equal(typeof l.text, 'string');
	},
	'audit:0': async (st) => {
		for (const l of await st.auditLog())
			assert.equal(typeof l.text, 'string');
	},
};

// An edit of each record (it reads first: on a damaged record it must
// fail before its put).
const EDITS = {
	identity: (st) => st.setIdentity({ name: 'renamed' }),
	computers: (st) => st.renameComputer('home', 'den'),
	credentials: (st) => st.removeCredential(new Uint8Array(16)),
	counters: async (st) => st.counterNext((await st.credentialRecords())[0].id),
	seen: async (st) => st.seenAdd({ computer: (await st.computers())[0], id: randomBytes(16),
	    reqMs: T, now: T }),
	hosts: (st) => st.pinHost({ name: 'db2', type: 'ssh-ed25519', key: randomBytes(51),
	    computer: 'work' }, T),
	pin: (st) => st.verifyPin('9999'),
	'audit:meta': (st) => st.audit({ op: 'pin-reset', event: 'reset' }, T),
};

async function wrongKeys() {
	const ecdh = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' },
	    false, ['deriveBits']);
	const open = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' },
	    true, ['sign']);
	const p384 = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' },
	    false, ['sign']);
	return [ecdh.privateKey, open.privateKey, open.publicKey, p384.privateKey];
}

// Every place in a value (paths of keys), up to a depth.
function paths(v, at = [], out = []) {
	out.push(at);
	if (at.length > 4 || v instanceof Uint8Array || v instanceof CryptoKey)
		return out;
	if (Array.isArray(v))
		v.forEach((x, i) => paths(x, at.concat(i), out));
	else if (v && typeof v === 'object')
		for (const k of Object.keys(v))
			paths(v[k], at.concat(k), out);
	return out;
}

function getAt(v, p) {
	for (const k of p)
		v = v[k];
	return v;
}

function setAt(root, p, x) {
	if (p.length === 0)
		return x;
	getAt(root, p.slice(0, -1))[p[p.length - 1]] = x;
	return root;
}

function mutate(r, rec, keys, others) {
	let v = structuredClone(rec);
	const steps = 1 + r(3);
	for (let s = 0; s < steps; s++) {
		const all = paths(v);
		const p = all[r(all.length)];
		const cur = getAt(v, p);
		let x;
		switch (r(12)) {
		case 0:	// a field dropped
			if (p.length) {
				const parent = getAt(v, p.slice(0, -1));
				if (Array.isArray(parent))
					parent.splice(p[p.length - 1], 1);
				else
					delete parent[p[p.length - 1]];
				continue;
			}
			x = undefined; break;
		case 1: x = [null, 0, -1, 1.5, NaN, Infinity, '', 'x', true, 2 ** 53, 10n, {}, []][r(13)]; break;
		case 2:	// bytes one short, one long, empty
			x = cur instanceof Uint8Array ?
			    [cur.subarray(1), new Uint8Array([...cur, 0]), new Uint8Array(0)][r(3)] :
			    randomBytes(r(70)); break;
		case 3:	// a flipped byte (a point no longer uncompressed, a changed id)
			x = cur instanceof Uint8Array && cur.length ?
			    Uint8Array.from(cur, (b, i) => i === 0 ? b ^ (1 << r(8)) : b) : cur; break;
		case 4: x = keys[r(keys.length)]; break;
		case 5:	// a huge list (one element many times: small in memory)
			x = Array(20000 + r(3)).fill(Array.isArray(cur) && cur.length ? cur[0] : cur);
			s = steps; break;
		case 6: x = 'A'.repeat(5000); break;
		case 7: x = Array.isArray(cur) && cur.length ? cur.concat([cur[0]]) : [cur]; break;
		case 8: x = new Map([['a', 1]]); break;
		case 9: x = new Date(r()); break;
		case 10: x = structuredClone(others[r(others.length)]); break;
		default: x = cur instanceof Uint8Array ? Array.from(cur) :
		    typeof cur === 'number' ? String(cur) : { value: cur }; break;
		}
		v = setAt(v, p, x);
		if (x instanceof Array && x.length >= 20000)
			break;
	}
	return v;
}

function snapshot(kv) {
	return structuredClone(new Map(kv.map));
}

// A failure that tells the owner what happened and what to do.
function assertToldOwner(e, where) {
	if (!(e instanceof SkpError))
		assert.fail(`${where}: ${e && e.name}: ${e && e.stack}`);
	assert.ok(['CORRUPT', 'VERSION'].includes(e.code), `${where}: ${e.code} ${e.message}`);
	assert.match(e.message, /damaged|newer/, where);
	assert.match(e.message, /reload the web phone's page/, where);
}

test('a damaged record either reads as it should or fails with CORRUPT saying what to do; nothing is written over', async () => {
	const base = await realStore();
	const keys = await wrongKeys();
	const others = [...base.map.values()];
	for (const name of Object.keys(READERS)) {
		assert.ok(base.map.has(name), name);
		await READERS[name](await PhoneState.open(base));	// the real store reads
	}
	const r = prng(0x5eed11);
	let failed = 0, worked = 0;
	for (const name of Object.keys(READERS)) {
		for (let i = 0; i < MUTANTS; i++) {
			const kv = new MemKV();
			kv.map = snapshot(base);
			const m = mutate(r, base.map.get(name), keys, others);
			if (m === undefined)
				continue;
			kv.map.set(name, m);
			const before = snapshot(kv);
			const where = `${name} mutant ${i}`;
			const st = await PhoneState.open(kv);
			let ok = true;
			try {
				await READERS[name](st);
			} catch (e) {
				if (e instanceof assert.AssertionError)
					throw new Error(`${where}: a read worked with a wrong answer: ${e.message}`);
				assertToldOwner(e, where);
				ok = false;
			}
			ok ? worked++ : failed++;
			if (!ok && EDITS[name]) {
				await assert.rejects(EDITS[name](st), (e) => (assertToldOwner(e, where), true));
				assert.deepEqual(snapshot(kv), before, `${where}: an edit wrote`);
			}
			// The records not damaged still read.
			for (const other of Object.keys(READERS))
				if (other !== name && !(name.startsWith('audit') && other.startsWith('audit')) &&
				    !(name === 'computers' && other === 'seen') &&
				    !(name === 'credentials' && other === 'counters') &&
				    !(name === 'counters' && other === 'credentials'))
					await READERS[other](st);
		}
	}
	console.log(`state-fuzz: ${failed} mutants refused, ${worked} read`);
	// The mutants reach both sides.
	assert.ok(failed > MUTANTS, `only ${failed} mutants refused`);
	assert.ok(worked > 0, 'no mutant read');
});

test('the damage the brief names is refused, each with its record named', async () => {
	const base = await realStore();
	const [ecdh, extractable, pub] = await wrongKeys();
	const cases = [
		['identity', (v) => { v.identity.privateKey = 'key'; }, /identity.privateKey is not a CryptoKey/],
		['identity', (v) => { v.mailbox.privateKey = ecdh; }, /mailbox.privateKey is not a non-extractable/],
		['identity', (v) => { v.mailboxId = v.mailboxId.subarray(1); }, /mailboxId is 31 bytes/],
		['identity', (v) => { delete v.name; }, /identity is damaged \(name is not text/],
		['computers', (v) => { v[0].publicKey = v[0].publicKey.subarray(0, 33); }, /computer 1 publicKey is 33 bytes/],
		['computers', (v) => { v[1].windowNs = 'file'; }, /computer 2 windowNs is not a list/],
		['computers', (v) => { v.push(...Array(100000).fill(v[0])); }, /over 16/],
		['computers', (v) => { v[1].name = v[0].name; }, /same name or key/],
		['credentials', (v) => { v[0].privateKey = extractable; }, /key 1.privateKey is not a non-extractable/],
		['credentials', (v) => { v[1].privateKey = pub; }, /key 2.privateKey is not a non-extractable/],
		['credentials', (v) => { v[0].credProtect = '1'; }, /credProtect/],
		['counters', (v) => { v[Object.keys(v)[0]] = 2 ** 32; }, /counter is not a whole number/],
		['seen', (v) => { v[0].at = '1767000000000'; }, /entry 1 at/],
		['hosts', (v) => { v.pins = {}; }, /pins is not a list/],
		['hosts', (v) => { v.pins[0].key = Array.from(v.pins[0].key); }, /pin 1 key is not bytes/],
		// a PIN record cut short must not read as "no PIN set"
		['pin', (v) => { delete v.hash; }, /PIN is damaged \(hash is not bytes/],
		['pin', (v) => { v.iterations = 1e9; }, /iterations/],
		['audit:meta', (v) => { v.next = -1; }, /next is not a whole number/],
		['audit:0', (v) => { v.text = null; }, /audit log line 1 is damaged/],
	];
	for (const [name, damage, why] of cases) {
		const kv = new MemKV();
		kv.map = snapshot(base);
		const v = structuredClone(base.map.get(name));
		damage(v);
		kv.map.set(name, v);
		const st = await PhoneState.open(kv);
		await assert.rejects(READERS[name](st), (e) => {
			assertToldOwner(e, name);
			assert.equal(e.code, 'CORRUPT');
			assert.match(e.message, why);
			return true;
		}, `${name}: ${why}`);
	}
});

test('a store written by a newer layout is refused as such, and one with a damaged layout as damaged', async () => {
	const base = await realStore();
	for (const [layout, code, why] of [
		[{ version: 2 }, 'VERSION', /newer web phone \(layout 2/],
		[{ version: '2' }, 'CORRUPT', /layout is damaged/],
		[7, 'CORRUPT', /layout is damaged/],
	]) {
		const kv = new MemKV();
		kv.map = snapshot(base);
		// a layout 2 store: computers keyed by name, say
		kv.map.set('computers', Object.fromEntries(base.map.get('computers').map((c) => [c.name, c])));
		kv.map.set('layout', layout);
		const before = snapshot(kv);
		await assert.rejects(PhoneState.open(kv), (e) => {
			assertToldOwner(e, 'layout');
			assert.equal(e.code, code);
			assert.match(e.message, why);
			return true;
		});
		assert.deepEqual(snapshot(kv), before);
	}
	// layout 1 said out loud reads as one
	const kv = new MemKV();
	kv.map = snapshot(base);
	kv.map.set('layout', { version: 1 });
	assert.equal((await (await PhoneState.open(kv)).computers()).length, 2);
});
