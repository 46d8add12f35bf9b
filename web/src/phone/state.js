// The web phone's state and the rules that keep it, docs/PROTOCOL.md §8.7
// (the reference phone's cmd/sk-phone-authenticator/phstate.c), kept in an
// abstract key-value store (docs web-api §3: IndexedDB in the browser,
// MemKV in node tests). One record per file of §8.7:
//
//   identity     { name, relay, relays?, identity: ECDH pair, mailbox: ECDSA pair,
//                mailboxId }  relays: a relay list (2-4 URLs, relays[0] = relay)
//   computers    [{ name, publicKey, requestPsk, pairedAt, windowUntil, windowNs }]
//   credentials  [{ id, rp, userId, userName, privateKey, publicKey, resident,
//                   credProtect, created, madeFor, alg }]
//                alg: -7 (ES256, P-256, publicKey 65 bytes; absent in
//                records written before ed25519-sk) or -8 (EdDSA, Ed25519,
//                publicKey 32 bytes)
//   counters     { hex(credential id): counter }
//   seen         [{ id, at, reqMs, tag }]        the replay cache (§8.3 step 5)
//   hosts        { pins: [{ name, type, key, pinnedAt, pinnedBy }],
//                  windows: [{ computer, name, until }] }
//   cas          [{ pattern, key, addedAt }]   the host CAs the owner trusts
//                (§8.7 cas, §8.5.1 step 4a): at most 32, unique by both
//   pin          { failures, salt, iterations, hash }   the web phone's own PIN
//   audit:meta, audit:N   the audit log, a ring of AUDIT_MAX lines, newest last
//
//   version      a token written with every write: another writer's mark
//
// Private keys are WebCrypto CryptoKeys made with extractable=false: the
// store keeps the object, never its bytes. Every edit runs on one promise
// chain per store (read, change, put), so that concurrent requests never
// lose a counter, a replay id or a wrong-PIN count; each put is durable
// when it resolves, and what must be on disk before an answer leaves (the
// replay id, the counter, the wrong PIN, a new credential, a pinned host)
// is put before the caller goes on. Times: unix seconds, except the replay
// cache (ms, as the requests' own time).
//
// The decoded records stay in memory after their first read: the page is
// the only writer (one PhoneState per page). Another tab on the same store
// is noticed by the 'version' record, which every write batch replaces:
// it is read once per request (beginRequest) and before every edit made
// outside a request, and a version this state did not write drops the
// memory. What one step changes is written in one batch (kv.putMany: one
// IndexedDB transaction) with the version. The replay id of §8.3 step 5 is
// recorded in memory at once (a second copy in this page is a replay) and
// may wait for the next write (seenAdd's defer): the engine writes it
// before anything leaves the phone or is shown. So may a signature's
// counter (counterNext's defer: taken in memory at once): in the fast path
// the replay id, the counter and the audit line are one transaction,
// before the signature leaves (§8.4; docs/PERFORMANCE.md says why).

import { b64urlEncode, concat, equal, toHex, utf8 } from '../proto/bytes.js';
import { generateEcdh, generateEcdsa, randomBytes, sha256 } from '../proto/crypto.js';
import { fail, SkpError } from '../proto/err.js';
import { checkName, mailboxId, NAME_MAX, RELAY_URL_MAX, RELAY_URLS_MAX } from '../proto/pairuri.js';
import { parseRelayUrl } from '../proto/relayurl.js';
import { printable } from './sshmsg.js';
import { isCertificate, patternOk } from './hostcert.js';
import { checkHostKey } from './hostkey.js';

export const MAX_COMPUTERS = 16;
export const WIN_NS = 8;
export const NS_MAX = 255;
export const MAX_CREDS = 128;
export const SEEN_SHARE = 256;
export const MAX_SEEN = (MAX_COMPUTERS + 1) * SEEN_SHARE;
export const REPLAY_MS = 600000;
export const MAX_HOSTS = 200;
export const MAX_HOST_WINDOWS = 64;
export const MAX_CAS = 32;
export const PIN_TRIES = 8;
export const PIN_FAILURES_MAX = 255;
export const PIN_MIN = 4;
export const PIN_MAX = 63;
export const PIN_ITERATIONS = 100000;
export const AUDIT_MAX = 2000;
export const COUNTER_MAX = 0xffffffff;

const SK_ECDSA = 'sk-ecdsa-sha2-nistp256@openssh.com';
const SK_ED25519 = 'sk-ssh-ed25519@openssh.com';
export const ALG_ES256 = -7;
export const ALG_EDDSA = -8;

// The OpenSSH key type of a credential of COSE algorithm alg.
export function keyType(alg) {
	return alg === ALG_EDDSA ? 'ed25519-sk' : 'ecdsa-sk';
}

// One chain of edits per store, shared by every PhoneState opened on it.
const chains = new WeakMap();

function serialize(kv, fn) {
	const prev = chains.get(kv) || Promise.resolve();
	const run = prev.then(fn);
	chains.set(kv, run.catch(() => {}));
	return run;
}

function nowS(now) {
	return Math.floor((now ?? Date.now()) / 1000);
}

// OpenSSH's fingerprint: "SHA256:" and base64 (standard, no '=') of the
// SHA-256 of a key blob.
export async function fingerprintOf(blob) {
	const b = b64urlEncode(await sha256(blob)).replace(/-/g, '+').replace(/_/g, '/');
	return 'SHA256:' + b.replace(/=+$/, '');
}

function sshString(b) {
	const n = b.length;
	return concat([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255], b);
}

// The OpenSSH public key blob of a credential (§8.7, audit log's key):
// sk-ssh-ed25519 for a 32-byte (Ed25519) public key, else sk-ecdsa.
export function credentialBlob(publicKey, rp) {
	if (publicKey.length === 32)
		return concat(sshString(utf8(SK_ED25519)), sshString(publicKey),
		    sshString(utf8(rp)));
	return concat(sshString(utf8(SK_ECDSA)), sshString(utf8('nistp256')),
	    sshString(publicKey), sshString(utf8(rp)));
}

export function credentialFingerprint(c) {
	return fingerprintOf(credentialBlob(c.publicKey, c.rp));
}

// The replay cache's computer tag: 8 bytes of the public key's x (§8.7).
export function seenTag(publicKey) {
	return toHex(publicKey.subarray(1, 9));
}

// Constant time over the whole width.
function ctEqual(a, b) {
	if (a.length !== b.length)
		return false;
	let d = 0;
	for (let i = 0; i < a.length; i++)
		d |= a[i] ^ b[i];
	return d === 0;
}

async function pinHash(pin, salt, iterations) {
	const s = globalThis.crypto.subtle;
	const p = utf8(pin);
	try {
		const k = await s.importKey('raw', p, 'PBKDF2', false, ['deriveBits']);
		return new Uint8Array(await s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256',
		    salt, iterations }, k, 256));
	} finally {
		p.fill(0);
	}
}

function checkPin(pin) {
	if (typeof pin !== 'string')
		fail('INVALID', 'a PIN is text');
	const n = utf8(pin).length;
	if ([...pin].length < PIN_MIN || n > PIN_MAX || pin.includes('\0'))
		fail('INVALID', `a PIN is ${PIN_MIN} to ${PIN_MAX} bytes long (at least ` +
		    `${PIN_MIN} characters)`);
}

// "YYYY-MM-DDTHH:MM:SSZ computer="NAME" op=OP subject="S" host="H"
// verified=V key=FP decision=D", escaped as §8.5 says: the reference
// phone's audit.log line; one answered from a notification (§8.11) ends
// with " (from the notification)".
export function auditText(e) {
	const when = new Date(e.at * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
	// Cut as the reference phone's 300-byte buffers cut them.
	const q = (s) => printable(s == null || s === '' ? '-' : s, 300);
	return `${when} computer="${q(e.computer)}" op=${e.op} subject="${q(e.subject)}" ` +
	    `host="${q(e.host)}" verified=${e.verified || '-'} key=${e.key || '-'} ` +
	    `decision=${e.event}` + (e.via === 'notification' ? ' (from the notification)' : '');
}

// ---- reading back (the store is data from disk) ----
//
// A record read back is checked before anything uses it: a damaged or
// hostile one (a wrong type, a missing field, a wrong byte length, a list
// past its cap, something else where a CryptoKey belongs) fails with
// CORRUPT naming the record and what is wrong, never a TypeError or an
// answer made of it. Nothing is written over it: an edit reads first, so
// it fails before its put, and the other records stay as they are. A
// store written by a newer web phone says so in its 'layout' record
// ({ version }; absent in layout 1, this one): VERSION then, for every
// record.
export const LAYOUT = 1;

function damaged(what, why) {
	fail('CORRUPT', `the phone's stored ${what} is damaged (${why}): nothing was ` +
	    'changed; reload the web phone\'s page, and if this stays, this browser\'s ' +
	    'storage for the site is damaged (its other records are kept as they are)');
}

function isObj(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v) &&
	    !(v instanceof Uint8Array) && !ArrayBuffer.isView(v);
}

// A checker for one record: r.obj(v, path) etc. throw damaged(what, ...).
function checker(what) {
	const bad = (path, why) => damaged(what, `${path} ${why}`);
	const c = {
		obj(v, path) {
			if (!isObj(v))
				bad(path, 'is not a record');
			return v;
		},
		list(v, path, max) {
			if (!Array.isArray(v))
				bad(path, 'is not a list');
			if (v.length > max)
				bad(path, `holds ${v.length} entries, over ${max}`);
			return v;
		},
		bytes(v, path, min, max = min) {
			if (!(v instanceof Uint8Array))
				bad(path, 'is not bytes');
			if (v.length < min || v.length > max)
				bad(path, `is ${v.length} bytes, not ${min === max ? min : min + ' to ' + max}`);
			return v;
		},
		point(v, path) {
			c.bytes(v, path, 65);
			if (v[0] !== 4)
				bad(path, 'is not an uncompressed P-256 point');
			return v;
		},
		str(v, path, max = 4096, empty = true) {
			if (typeof v !== 'string')
				bad(path, 'is not text');
			if (!empty && v === '')
				bad(path, 'is empty');
			if (v.length > max)
				bad(path, `is over ${max} characters`);
			return v;
		},
		name(v, path) {
			c.str(v, path, 4 * NAME_MAX);
			try {
				checkName(v);
			} catch (e) {
				bad(path, 'is not a name: ' + e.message);
			}
			return v;
		},
		int(v, path, min = 0, max = Number.MAX_SAFE_INTEGER) {
			if (!Number.isSafeInteger(v) || v < min || v > max)
				bad(path, `is not a whole number from ${min} to ${max}`);
			return v;
		},
		bool(v, path) {
			if (typeof v !== 'boolean')
				bad(path, 'is not true or false');
			return v;
		},
		// A private key of the store: a non-extractable P-256 CryptoKey
		// of algorithm alg, with its public point.
		pair(v, path, alg) {
			c.obj(v, path);
			const k = v.privateKey;
			if (typeof CryptoKey !== 'function' || !(k instanceof CryptoKey))
				bad(path + '.privateKey', 'is not a CryptoKey');
			if (k.type !== 'private' || k.extractable !== false ||
			    k.algorithm?.name !== alg || k.algorithm?.namedCurve !== 'P-256')
				bad(path + '.privateKey', `is not a non-extractable P-256 ${alg} private key`);
			c.point(v.publicKey, path + '.publicKey');
			return v;
		},
		// A non-extractable Ed25519 private key and its 32-byte public key.
		ed25519(v, path) {
			const k = v.privateKey;
			if (typeof CryptoKey !== 'function' || !(k instanceof CryptoKey))
				bad(path + '.privateKey', 'is not a CryptoKey');
			if (k.type !== 'private' || k.extractable !== false ||
			    k.algorithm?.name !== 'Ed25519')
				bad(path + '.privateKey', 'is not a non-extractable Ed25519 private key');
			c.bytes(v.publicKey, path + '.publicKey', 32);
			return v;
		},
	};
	return c;
}

// 1 to RELAY_URLS_MAX relay URLs, none twice; throws FORMAT.
function checkRelays(list) {
	if (!Array.isArray(list) || list.length < 1 || list.length > RELAY_URLS_MAX)
		fail('FORMAT', `a relay list holds 1 to ${RELAY_URLS_MAX} URLs`);
	list.forEach((u) => parseRelayUrl(u));
	if (new Set(list).size !== list.length)
		fail('FORMAT', 'a relay URL given twice');
}

const CHECKS = {
	async identity(v) {
		const c = checker('identity');
		c.obj(v, 'identity');
		c.name(v.name, 'name');
		c.str(v.relay, 'relay', RELAY_URL_MAX);
		if (v.relay !== '') {
			try {
				parseRelayUrl(v.relay);
			} catch (e) {
				damaged('identity', 'relay is not a relay URL: ' + e.message);
			}
		}
		// A relay list (§2.1, §7.1): 2 to 4 URLs of one relay, the first
		// of them relay; absent for one URL.
		if (v.relays !== undefined) {
			c.list(v.relays, 'relays', RELAY_URLS_MAX);
			try {
				checkRelays(v.relays);
			} catch (e) {
				damaged('identity', 'relays: ' + e.message);
			}
			if (v.relays.length < 2 || v.relays[0] !== v.relay)
				damaged('identity', 'relays is not a list that starts with relay');
		}
		c.pair(v.identity, 'identity', 'ECDH');
		c.pair(v.mailbox, 'mailbox', 'ECDSA');
		c.bytes(v.mailboxId, 'mailboxId', 32);
		if (!equal(v.mailboxId, await mailboxId(v.mailbox.publicKey)))
			damaged('identity', 'mailboxId is not the mailbox key\'s');
	},
	computers(v) {
		const c = checker('list of paired computers');
		c.list(v, 'the list', MAX_COMPUTERS);
		v.forEach((x, i) => {
			const at = `computer ${i + 1}`;
			c.obj(x, at);
			c.name(x.name, at + ' name');
			c.point(x.publicKey, at + ' publicKey');
			c.bytes(x.requestPsk, at + ' requestPsk', 32);
			c.int(x.pairedAt, at + ' pairedAt');
			c.int(x.windowUntil, at + ' windowUntil');
			c.list(x.windowNs, at + ' windowNs', WIN_NS);
			x.windowNs.forEach((n, j) => c.str(n, `${at} namespace ${j + 1}`, NS_MAX, false));
			v.forEach((y, j) => {
				if (j < i && (y.name === x.name || equal(y.publicKey, x.publicKey)))
					damaged('list of paired computers', `computers ${j + 1} and ${i + 1} ` +
					    'have the same name or key');
			});
		});
	},
	credentials(v) {
		const c = checker('list of keys');
		c.list(v, 'the list', MAX_CREDS);
		v.forEach((x, i) => {
			const at = `key ${i + 1}`;
			c.obj(x, at);
			c.bytes(x.id, at + ' id', 16);
			c.str(x.rp, at + ' rp', 255, false);
			c.bytes(x.userId, at + ' userId', 0, 64);
			c.str(x.userName, at + ' userName', 255);
			if (x.alg !== undefined && x.alg !== ALG_ES256 && x.alg !== ALG_EDDSA)
				damaged('list of keys', `${at} alg is not -7 or -8`);
			if (x.alg === ALG_EDDSA)
				c.ed25519(x, at);
			else
				c.pair(x, at, 'ECDSA');
			c.bool(x.resident, at + ' resident');
			c.int(x.credProtect, at + ' credProtect', 1, 3);
			c.int(x.created, at + ' created');
			if (x.madeFor != null)
				c.str(x.madeFor, at + ' madeFor', 4 * NAME_MAX);
			v.forEach((y, j) => {
				if (j < i && equal(y.id, x.id))
					damaged('list of keys', `keys ${j + 1} and ${i + 1} have the same id`);
			});
		});
	},
	counters(v) {
		const c = checker('signature counters');
		c.obj(v, 'the record');
		if (Object.getPrototypeOf(v) !== Object.prototype)
			damaged('signature counters', 'the record is not a plain record');
		const keys = Object.keys(v);
		if (keys.length > MAX_CREDS)
			damaged('signature counters', `it holds ${keys.length} counters, over ${MAX_CREDS}`);
		for (const k of keys) {
			if (!/^[0-9a-f]{32}$/.test(k))
				damaged('signature counters', 'a counter not named by a key id');
			c.int(v[k], 'a counter', 0, COUNTER_MAX);
		}
	},
	seen(v) {
		const c = checker('replay cache');
		c.list(v, 'the list', MAX_SEEN);
		v.forEach((x, i) => {
			const at = `entry ${i + 1}`;
			c.obj(x, at);
			c.bytes(x.id, at + ' id', 1, 64);
			c.int(x.at, at + ' at', -Number.MAX_SAFE_INTEGER);
			c.int(x.reqMs, at + ' reqMs', -Number.MAX_SAFE_INTEGER);
			if (typeof x.tag !== 'string' || !/^[0-9a-f]{16}$/.test(x.tag))
				damaged('replay cache', `${at} tag is not a computer's tag`);
		});
	},
	hosts(v) {
		const c = checker('host keys');
		c.obj(v, 'the record');
		c.list(v.pins, 'pins', MAX_HOSTS);
		v.pins.forEach((x, i) => {
			const at = `pin ${i + 1}`;
			c.obj(x, at);
			c.str(x.name, at + ' name', 1024, false);
			c.str(x.type, at + ' type', 64, false);
			c.bytes(x.key, at + ' key', 1, 2048);
			c.int(x.pinnedAt, at + ' pinnedAt');
			if (x.pinnedBy != null)
				c.str(x.pinnedBy, at + ' pinnedBy', 4 * NAME_MAX);
			v.pins.forEach((y, j) => {
				if (j < i && y.name === x.name && y.type === x.type)
					damaged('host keys', `pins ${j + 1} and ${i + 1} pin two ${x.type} ` +
					    `keys for one host`);
			});
		});
		c.list(v.windows, 'windows', MAX_HOST_WINDOWS);
		v.windows.forEach((x, i) => {
			const at = `window ${i + 1}`;
			c.obj(x, at);
			c.str(x.computer, at + ' computer', 4 * NAME_MAX, false);
			c.str(x.name, at + ' name', 1024, false);
			c.int(x.until, at + ' until');
		});
	},
	cas(v) {
		const c = checker('host CAs');
		c.list(v, 'the list', MAX_CAS);
		v.forEach((x, i) => {
			const at = `CA ${i + 1}`;
			c.obj(x, at);
			c.str(x.pattern, at + ' pattern', 255, false);
			if (!patternOk(x.pattern))
				damaged('host CAs', `${at} pattern is not a host pattern`);
			c.bytes(x.key, at + ' key', 1, 2048);
			c.int(x.addedAt, at + ' addedAt');
			v.forEach((y, j) => {
				if (j < i && y.pattern === x.pattern && equal(y.key, x.key))
					damaged('host CAs', `CAs ${j + 1} and ${i + 1} are the same`);
			});
		});
	},
	pin(v) {
		const c = checker('PIN');
		c.obj(v, 'the record');
		c.int(v.failures, 'failures', 0, PIN_FAILURES_MAX);
		// No hash: no PIN set; but a record with a part of one is damaged
		// (read as "no PIN" it would let a computer past user verification).
		if (v.hash === undefined && v.salt === undefined && v.iterations === undefined)
			return;
		c.bytes(v.hash, 'hash', 32);
		c.bytes(v.salt, 'salt', 16);
		c.int(v.iterations, 'iterations', 1000, 10 * PIN_ITERATIONS);
	},
	'audit:meta'(v) {
		const c = checker('audit log');
		c.obj(v, 'the record');
		c.int(v.next, 'next');
	},
};

// One line of the audit log (audit:N).
function checkAuditLine(v, n) {
	const c = checker(`audit log line ${n}`);
	c.obj(v, 'the line');
	c.int(v.at, 'at');
	c.str(v.op, 'op', 64, false);
	c.str(v.event, 'event', 64, false);
	c.str(v.text, 'text', 8192);
	for (const k of ['computer', 'subject', 'host', 'key'])
		if (v[k] != null)
			c.str(v[k], k, 4096);
}

// The layout this store was written in: LAYOUT or VERSION / CORRUPT.
async function checkLayout(kv) {
	const v = await kv.get('layout');
	if (v === undefined)
		return;
	if (!isObj(v) || !Number.isSafeInteger(v.version) || v.version < LAYOUT)
		damaged('layout', 'version is not a layout version');
	if (v.version > LAYOUT)
		fail('VERSION', `the phone's storage was written by a newer web phone ` +
		    `(layout ${v.version}, this page reads ${LAYOUT}): nothing was changed; ` +
		    'reload the web phone\'s page to get the newer version');
}

let tokens = 0;
const PAGE = Math.random().toString(36).slice(2, 10);

// One atomic write of several records where the store can (IndexedDB: one
// transaction), else one put after the other, in order.
async function putBatch(kv, batch) {
	if (typeof kv.putMany === 'function')
		return kv.putMany([...batch]);
	for (const [k, v] of batch)
		await kv.put(k, v);
}

export class PhoneState {
	constructor(kv) {
		this.kv = kv;
		this.cache = new Map();		// key -> the record as on disk (decoded)
		this.pending = new Map();	// records changed in memory, not yet written
		this.version = undefined;
		this.requests = 0;
		// Transactions this state started (the bench and tests read them).
		this.stats = { reads: 0, writes: 0 };
	}

	static async open(kv) {
		const st = new PhoneState(kv);
		await checkLayout(kv);
		st.version = await kv.get('version');
		// Every record must read; one that does not is never written over.
		for (const k of ['identity', 'computers', 'credentials', 'counters', 'seen',
		    'hosts', 'cas', 'pin', 'audit:meta']) {
			// A damaged one is not kept: the method that needs it says so.
			try {
				await st.get(k);
			} catch (e) {
				if (e?.code !== 'CORRUPT')
					throw e;
			}
		}
		return st;
	}

	// Drops what is in memory when another writer changed the store.
	async sync() {
		this.stats.reads++;
		const v = await this.kv.get('version');
		if (v !== this.version) {
			// Replay ids waiting to be written join the other writer's;
			// counters taken and not yet written (a signature waiting for
			// its write) stay taken: never lower than they were here.
			const mine = this.pending.get('seen');
			const taken = this.pending.get('counters');
			this.cache.clear();
			this.pending.clear();
			this.version = v;
			if (mine) {
				const seen = (await this.get('seen')) ?? [];
				for (const e of mine)
					if (!seen.some((x) => x.tag === e.tag && equal(x.id, e.id)))
						seen.push(e);
				this.cache.set('seen', seen);
				this.pending.set('seen', seen);
			}
			if (taken) {
				const counters = (await this.get('counters')) ?? {};
				// Not for a key the other writer deleted.
				const keys = new Set((await this.credentialRecords()).map((c) => toHex(c.id)));
				for (const [k, n] of Object.entries(taken))
					if (keys.has(k) && n > (counters[k] ?? 0))
						counters[k] = n;
				this.cache.set('counters', counters);
				this.pending.set('counters', counters);
			}
		}
	}

	// One request of the engine: the store checked once, its edits then
	// trust the memory until endRequest.
	async beginRequest() {
		this.requests++;
		try {
			await serialize(this.kv, () => this.sync());
		} catch (e) {
			this.requests--;
			throw e;
		}
	}

	endRequest() {
		this.requests = Math.max(0, this.requests - 1);
	}

	edit(fn) {
		return serialize(this.kv, async () => {
			if (this.requests === 0)
				await this.sync();
			return fn();
		});
	}

	async get(key) {
		if (!this.cache.has(key)) {
			this.stats.reads++;
			const v = await this.kv.get(key);
			// Checked once, when read from the store (CORRUPT when damaged:
			// then not kept, and read again next time).
			if (v !== undefined && CHECKS[key])
				await CHECKS[key](v);
			if (!this.cache.has(key))
				this.cache.set(key, v);
		}
		const v = this.cache.get(key);
		return v === undefined ? undefined : structuredClone(v);
	}

	// A record, checked (CORRUPT when damaged), or dflt() when absent.
	async read(key, dflt) {
		const v = await this.get(key);
		return v === undefined ? dflt() : v;
	}

	// Writes entries (an object of key: record) with whatever waits, in
	// one batch, durable when it resolves; defer: in memory only, written
	// by the next write or flush(). Inside edit() only.
	async write(entries, { defer = false } = {}) {
		const own = Object.entries(entries);
		if (defer) {
			for (const [k, v] of own) {
				this.cache.set(k, structuredClone(v));
				this.pending.set(k, this.cache.get(k));
			}
			return;
		}
		const batch = new Map(this.pending);
		for (const [k, v] of own)
			batch.set(k, v);
		const token = `${PAGE}.${Date.now()}.${++tokens}`;
		batch.set('version', token);
		this.stats.writes++;
		try {
			await putBatch(this.kv, batch);
		} catch (e) {
			// What failed is read again; what waits still waits.
			for (const [k] of own)
				if (!this.pending.has(k))
					this.cache.delete(k);
			throw e;
		}
		this.pending.clear();
		for (const [k, v] of own)
			this.cache.set(k, structuredClone(v));
		this.version = token;
	}

	hasPending() {
		return this.pending.size > 0;
	}

	// Writes what waits (the replay id): before anything leaves the phone.
	async flush() {
		if (this.pending.size === 0)
			return;
		await serialize(this.kv, async () => {
			if (this.pending.size)
				await this.write({});
		});
	}

	// ---- identity ----

	async identity() {
		return this.read('identity', () => null);
	}

	async createIdentity({ name, relay = '' }) {
		checkName(name);
		if (relay !== '')
			parseRelayUrl(relay);
		return this.edit(async () => {
			if (await this.get('identity'))
				fail('EXISTS', 'this phone has its identity already');
			const identity = await generateEcdh();
			const mailbox = await generateEcdsa();
			const rec = { name, relay, identity, mailbox,
			    mailboxId: await mailboxId(mailbox.publicKey) };
			await this.write({ identity: rec });
			return rec;
		});
	}

	// The name or the relay (after a pairing names one), or the relay list
	// (relays: URLs of one relay; one URL keeps no list).
	async setIdentity({ name, relay, relays }) {
		if (name !== undefined)
			checkName(name);
		if (relay !== undefined && relay !== '')
			parseRelayUrl(relay);
		if (relays !== undefined)
			checkRelays(relays);
		return this.edit(async () => {
			const rec = await this.get('identity');
			if (!rec)
				fail('STATE', 'the phone has no identity yet');
			if (name !== undefined)
				rec.name = name;
			if (relay !== undefined) {
				rec.relay = relay;
				delete rec.relays;
			}
			if (relays !== undefined) {
				rec.relay = relays[0];
				if (relays.length > 1)
					rec.relays = [...relays];
				else
					delete rec.relays;
			}
			await this.write({ identity: rec });
			return rec;
		});
	}

	// ---- computers ----

	async computers() {
		return this.read('computers', () => []);
	}

	async computer(name) {
		return (await this.computers()).find((c) => c.name === name) ?? null;
	}

	// Pairing again with the same computer (same key) replaces its
	// record; another computer may not take a name already paired.
	async addComputer({ name, publicKey, requestPsk }, now) {
		checkName(name);
		if (!(publicKey instanceof Uint8Array) || publicKey.length !== 65 ||
		    !(requestPsk instanceof Uint8Array) || requestPsk.length !== 32)
			fail('INVALID', 'a computer is a name, a 65-byte key and a 32-byte psk');
		const rec = { name, publicKey, requestPsk, pairedAt: nowS(now),
		    windowUntil: 0, windowNs: [] };
		await this.edit(async () => {
			const list = await this.computers();
			const same = list.findIndex((c) => equal(c.publicKey, publicKey));
			if (same >= 0) {
				list[same] = rec;
			} else {
				if (list.some((c) => c.name === name))
					fail('EXISTS', `another computer named "${name}" is paired: ` +
					    'unpair it first');
				if (list.length >= MAX_COMPUTERS)
					fail('TOO_LARGE', `already paired with ${MAX_COMPUTERS} computers`);
				list.push(rec);
			}
			await this.write({ computers: list });
		});
		await this.audit({ computer: name, op: 'pair', event: 'paired' }, now);
		return rec;
	}

	async renameComputer(oldName, newName) {
		checkName(newName);
		await this.edit(async () => {
			const list = await this.computers();
			const c = list.find((x) => x.name === oldName);
			if (!c)
				fail('NOT_FOUND', `no paired computer named "${oldName}"`);
			if (oldName === newName)
				return;
			if (list.some((x) => x.name === newName))
				fail('EXISTS', `another computer named "${newName}" is paired`);
			c.name = newName;
			// Its host windows follow it, in the same write.
			const h = await this.hostsRecord();
			for (const w of h.windows)
				if (w.computer === oldName)
					w.computer = newName;
			await this.write({ computers: list, hosts: h });
		});
	}

	// Unpairing removes the computer's host windows too (§8.7).
	async forgetComputer(name) {
		await this.edit(async () => {
			const list = await this.computers();
			const i = list.findIndex((c) => c.name === name);
			if (i < 0)
				fail('NOT_FOUND', `no paired computer named "${name}"`);
			list.splice(i, 1);
			const h = await this.hostsRecord();
			h.windows = h.windows.filter((w) => w.computer !== name);
			await this.write({ computers: list, hosts: h });
		});
	}

	async removeComputer(name, now) {
		await this.forgetComputer(name);
		await this.audit({ computer: name, op: 'unpair', event: 'unpaired' }, now);
	}

	// The computer's window (§8.6): open until `until` (unix s), covering
	// namespace ns too (null: none more). A window past its time starts
	// again empty; a ninth namespace pushes out the first.
	async setWindow(name, until, ns, now) {
		if (ns != null && (typeof ns !== 'string' || ns === '' ||
		    utf8(ns).length > NS_MAX))
			fail('INVALID', 'not a namespace');
		const t = nowS(now);
		await this.edit(async () => {
			const list = await this.computers();
			const c = list.find((x) => x.name === name);
			if (!c)
				fail('NOT_FOUND', `no paired computer named "${name}"`);
			if (c.windowUntil <= t)
				c.windowNs = [];
			c.windowUntil = until;
			if (ns != null && !c.windowNs.includes(ns)) {
				if (c.windowNs.length === WIN_NS)
					c.windowNs.shift();
				c.windowNs.push(ns);
			}
			await this.write({ computers: list });
		});
	}

	// ---- credentials and counters ----

	async credentialRecords() {
		return this.read('credentials', () => []);
	}

	async credentials() {
		const list = await this.credentialRecords();
		const counters = await this.read('counters', () => ({}));
		const out = [];
		for (const c of list)
			out.push({ id: c.id, rp: c.rp, userId: c.userId, userName: c.userName,
			    resident: c.resident, credProtect: c.credProtect, created: c.created,
			    madeFor: c.madeFor, publicKey: c.publicKey, alg: c.alg ?? ALG_ES256,
			    type: keyType(c.alg ?? ALG_ES256), counter: counters[toHex(c.id)] ?? 0,
			    fingerprint: await credentialFingerprint(c) });
		return out;
	}

	// The whole record (with its private CryptoKey): the engine's.
	async findCredential(id) {
		return (await this.credentialRecords()).find((c) => equal(c.id, id)) ?? null;
	}

	async findResident(rp, userId, exceptId) {
		return (await this.credentialRecords()).find((c) => c.resident && c.rp === rp &&
		    equal(c.userId, userId) && !(exceptId && equal(c.id, exceptId))) ?? null;
	}

	// On disk when it resolves; TOO_LARGE when the phone holds 128 keys.
	async addCredential(c) {
		const rec = { id: c.id, rp: c.rp, userId: c.userId, userName: c.userName ?? '',
		    privateKey: c.privateKey, publicKey: c.publicKey, resident: !!c.resident,
		    credProtect: c.credProtect || 1, created: c.created, madeFor: c.madeFor };
		if (!(rec.privateKey instanceof CryptoKey) || rec.privateKey.extractable)
			fail('INVALID', 'a credential key is a non-extractable CryptoKey');
		// alg only for Ed25519: an ES256 record stays as older pages wrote it.
		if (c.alg === ALG_EDDSA) {
			if (rec.privateKey.algorithm?.name !== 'Ed25519' || rec.publicKey?.length !== 32)
				fail('INVALID', 'an EdDSA credential is an Ed25519 key pair');
			rec.alg = ALG_EDDSA;
		} else if (c.alg !== undefined && c.alg !== ALG_ES256) {
			fail('INVALID', 'a credential\'s alg is -7 or -8');
		}
		await this.edit(async () => {
			const list = await this.credentialRecords();
			if (list.some((x) => equal(x.id, rec.id)))
				fail('EXISTS', 'a credential with this id exists');
			if (list.length >= MAX_CREDS)
				fail('TOO_LARGE', `the phone holds ${MAX_CREDS} keys already: delete one`);
			list.push(rec);
			await this.write({ credentials: list });
		});
	}

	// Without an audit line (the engine's overwrite of a resident key).
	async removeCredential(id) {
		return this.edit(async () => {
			const list = await this.credentialRecords();
			const i = list.findIndex((c) => equal(c.id, id));
			if (i < 0)
				fail('NOT_FOUND', 'no such key');
			const [gone] = list.splice(i, 1);
			const counters = await this.read('counters', () => ({}));
			delete counters[toHex(id)];
			await this.write({ credentials: list, counters });
			return gone;
		});
	}

	// The owner deletes a key on the phone: audit op delete, deleted (the
	// reference phone's line: no subject, no key).
	async deleteCredential(id, now) {
		await this.removeCredential(id);
		await this.audit({ op: 'delete', event: 'deleted' }, now);
	}

	// The next counter value, on disk before it resolves. NOT_FOUND when
	// the key is gone, LIMIT at the end of the counter (§8.4). defer: in
	// memory only (taken: no other caller gets it), on disk with the next
	// write, which the caller makes before a signature with it leaves.
	async counterNext(id, { defer = false } = {}) {
		return this.edit(async () => {
			if (!(await this.credentialRecords()).some((c) => equal(c.id, id)))
				fail('NOT_FOUND', 'the key was deleted');
			const counters = await this.read('counters', () => ({}));
			const k = toHex(id), n = counters[k] ?? 0;
			if (n >= COUNTER_MAX)
				fail('LIMIT', 'the key\'s signature counter is exhausted');
			counters[k] = n + 1;
			await this.write({ counters: counters }, { defer });
			return n + 1;
		});
	}

	// ---- the replay cache (§8.3 step 5) ----

	// Records request id from computer (its record: publicKey) unless
	// remembered: 'ok' (recorded, on disk), 'replay', or 'flood' (its
	// share of SEEN_SHARE live ids is full; no other computer's touched).
	// An id is forgotten when both the time since it was recorded and the
	// time since the request's own time are REPLAY_MS or more (a browser
	// has no boot clock: both are the wall clock, so a clock set back
	// forgets nothing early), or when its computer is no longer paired.
	//
	// defer: 'ok' is in memory only (a second copy is a replay at once) and
	// on disk with the next write or flush(), which the caller makes before
	// anything leaves the phone or is shown (the engine's fast path writes
	// it with the counter, before the signature).
	async seenAdd({ computer, id, reqMs, now, defer = false }) {
		const t = now ?? Date.now(), tag = seenTag(computer.publicKey);
		const req = Number(reqMs);
		return this.edit(async () => {
			const paired = new Set((await this.computers()).map((c) => seenTag(c.publicKey)));
			const list = await this.read('seen', () => []);
			const kept = [];
			let replay = false, mine = 0;
			for (const e of list) {
				if (t - e.at >= REPLAY_MS && t - e.reqMs >= REPLAY_MS)
					continue;
				if (e.tag !== tag && !paired.has(e.tag))
					continue;
				if (equal(e.id, id))
					replay = true;
				if (e.tag === tag)
					mine++;
				kept.push(e);
			}
			let out = 'ok';
			if (replay)
				out = 'replay';
			else if (mine >= SEEN_SHARE || kept.length >= MAX_SEEN)
				out = 'flood';
			else
				kept.push({ id: Uint8Array.from(id), at: t, reqMs: req, tag });
			if (out === 'ok' || kept.length !== list.length)
				await this.write({ seen: kept }, { defer });
			return out;
		});
	}

	async seenCount(computer) {
		const tag = seenTag(computer.publicKey);
		return (await this.read('seen', () => [])).filter((e) => e.tag === tag).length;
	}

	// ---- host pins and host windows (§8.5.1, §8.6) ----

	async hostsRecord() {
		return this.read('hosts', () => ({ pins: [], windows: [] }));
	}

	// What hostCheck (hostcheck.js) takes as pins.
	async hostPins() {
		return (await this.hostsRecord()).pins;
	}

	async hosts() {
		const out = [];
		for (const p of await this.hostPins())
			out.push({ ...p, fingerprint: await fingerprintOf(p.key) });
		return out;
	}

	// Pins key (of type, as checkHostKey names it) under name: ok when
	// pinned now or already; HOSTKEY when another key of that type is
	// pinned under name; TOO_LARGE when the list is full.
	async pinHost({ name, type, key, computer }, now) {
		if (typeof name !== 'string' || name === '' || typeof type !== 'string' ||
		    !(key instanceof Uint8Array) || key.length === 0 || key.length > 2048)
			fail('INVALID', 'cannot pin this host key');
		await this.edit(async () => {
			const h = await this.hostsRecord();
			const old = h.pins.find((p) => p.name === name && p.type === type);
			if (old) {
				if (equal(old.key, key))
					return;
				fail('HOSTKEY', `another ${type} key is pinned for ${name}`);
			}
			if (h.pins.length >= MAX_HOSTS)
				fail('TOO_LARGE', `the phone pins ${MAX_HOSTS} host keys already: ` +
				    'forget one');
			h.pins.push({ name, type, key, pinnedAt: nowS(now), pinnedBy: computer });
			await this.write({ hosts: h });
		});
	}

	// ---- host CAs (§8.5.1 step 4a) ----

	// [{ pattern, key, addedAt }], as hostCheck takes them.
	async cas() {
		return this.read('cas', () => []);
	}

	// The CAs with their fingerprints, for the Hosts screen.
	async caList() {
		const out = [];
		for (const x of await this.cas())
			out.push({ ...x, fingerprint: await fingerprintOf(x.key), type: checkHostKey(x.key).type });
		return out;
	}

	// Trusts the CA key (a plain key blob) for the hosts of pattern: INVALID
	// for a bad pattern or key, EXISTS when trusted so already, TOO_LARGE
	// past 32.
	async trustCa({ pattern, key }, now) {
		if (!patternOk(pattern))
			fail('INVALID', 'a host pattern is a comma list of names with * and ? ' +
			    '(1 to 255 printable characters, no space), not all negated with !');
		if (!(key instanceof Uint8Array) || key.length > 2048 || isCertificate(key))
			fail('INVALID', 'a CA key is a plain public key');
		checkHostKey(key);
		await this.edit(async () => {
			const list = await this.cas();
			if (list.some((x) => x.pattern === pattern && equal(x.key, key)))
				fail('EXISTS', 'this CA is trusted for this pattern already');
			if (list.length >= MAX_CAS)
				fail('TOO_LARGE', `the phone trusts ${MAX_CAS} host CAs already: remove one`);
			list.push({ pattern, key, addedAt: nowS(now) });
			await this.write({ cas: list });
		});
		await this.audit({ op: 'trust-ca', host: pattern, key: await fingerprintOf(key),
		    event: 'trusted' }, now);
	}

	// The CA key for pattern (every pattern when null); NOT_FOUND when none.
	async distrustCa(key, pattern = null, now) {
		await this.edit(async () => {
			const list = await this.cas();
			const left = list.filter((x) => !(equal(x.key, key) &&
			    (pattern === null || x.pattern === pattern)));
			if (left.length === list.length)
				fail('NOT_FOUND', 'no such host CA');
			await this.write({ cas: left });
		});
		await this.audit({ op: 'distrust-ca', host: pattern ?? '-',
		    key: await fingerprintOf(key), event: 'distrusted' }, now);
	}

	// Every pin of name and its windows; NOT_FOUND when there were none.
	async forgetHost(name, now) {
		await this.edit(async () => {
			const h = await this.hostsRecord();
			const n = h.pins.length + h.windows.length;
			h.pins = h.pins.filter((p) => p.name !== name);
			h.windows = h.windows.filter((w) => w.name !== name);
			if (h.pins.length + h.windows.length === n)
				fail('NOT_FOUND', `no host key is pinned for ${name}`);
			await this.write({ hosts: h });
		});
		await this.audit({ op: 'forget-host', host: name, event: 'forgotten' }, now);
	}

	// Until when (unix s) computer may log in to name unasked; 0: none.
	async hostWindow(computer, name) {
		const w = (await this.hostsRecord()).windows.find((x) =>
		    x.computer === computer && x.name === name);
		return w ? w.until : 0;
	}

	async setHostWindow(computer, name, until, now) {
		const t = nowS(now);
		await this.edit(async () => {
			const h = await this.hostsRecord();
			h.windows = h.windows.filter((w) => w.until > t &&
			    !(w.computer === computer && w.name === name));
			if (h.windows.length >= MAX_HOST_WINDOWS) {
				let first = 0;
				for (let i = 1; i < h.windows.length; i++)
					if (h.windows[i].until < h.windows[first].until)
						first = i;
				h.windows.splice(first, 1);
			}
			h.windows.push({ computer, name, until });
			await this.write({ hosts: h });
		});
	}

	// ---- the PIN (the web phone's own, §8.3 step 7) ----

	async pinRecord() {
		return this.read('pin', () => ({ failures: 0 }));
	}

	async pinIsSet() {
		return !!(await this.pinRecord()).hash;
	}

	async pinFailures() {
		return (await this.pinRecord()).failures;
	}

	// Sets the PIN (a salted PBKDF2-SHA256 hash of it is kept, never the
	// PIN). With a PIN set, oldPin must be it: a wrong one counts as any
	// wrong PIN, and a blocked PIN cannot be changed (resetPinFailures).
	async setPin(newPin, oldPin) {
		checkPin(newPin);
		const salt = randomBytes(16);
		const hash = await pinHash(newPin, salt, PIN_ITERATIONS);
		await this.edit(async () => {
			const rec = await this.pinRecord();
			if (rec.hash) {
				if (rec.failures >= PIN_TRIES)
					throw Object.assign(new SkpError('PIN_INVALID', 'the PIN is ' +
					    'blocked after too many wrong tries: reset the count first'),
					{ blocked: true });
				const ok = typeof oldPin === 'string' && ctEqual(await pinHash(oldPin,
				    rec.salt, rec.iterations), rec.hash);
				if (!ok) {
					rec.failures = Math.min(rec.failures + 1, PIN_FAILURES_MAX);
					await this.write({ pin: rec });
					fail('PIN_INVALID', 'the PIN now set is not that one');
				}
			}
			await this.write({ pin: { failures: 0, salt, iterations: PIN_ITERATIONS,
			    hash } });
		});
	}

	// The owner's "pin-reset": the wrong-PIN count back to 0.
	async resetPinFailures(now) {
		await this.edit(async () => {
			const rec = await this.pinRecord();
			rec.failures = 0;
			await this.write({ pin: rec });
		});
		await this.audit({ op: 'pin-reset', event: 'reset' }, now);
	}

	// A PIN a computer sent: 'none' (no PIN set), 'blocked' (the count at
	// PIN_TRIES), 'wrong' (the count one higher is on disk when it
	// resolves) or 'ok' (the count back to 0 first when it was not).
	// Compared in constant time over the derived hash. A failed put
	// rejects: the engine then refuses (0x32 or 0x7F, as §8.3 says).
	async verifyPin(pin) {
		return this.edit(async () => {
			const rec = await this.pinRecord();
			if (!rec.hash)
				return 'none';
			if (rec.failures >= PIN_TRIES)
				return 'blocked';
			const got = await pinHash(pin, rec.salt, rec.iterations);
			if (!ctEqual(got, rec.hash)) {
				rec.failures = Math.min(rec.failures + 1, PIN_FAILURES_MAX);
				await this.write({ pin: rec });
				return 'wrong';
			}
			if (rec.failures !== 0) {
				rec.failures = 0;
				await this.write({ pin: rec });
			}
			return 'ok';
		});
	}

	// ---- the audit log (§8.7) ----

	// { computer, op, subject, host, verified, key, event }: one line,
	// stored before it resolves. at: unix seconds.
	async audit(e, now) {
		const rec = { at: nowS(now), computer: e.computer ?? null, op: e.op ?? 'request',
		    subject: e.subject ?? null, host: e.host ?? null, verified: e.verified ?? '-',
		    key: e.key ?? null, event: e.event };
		// answered from a notification (Web Push, PROTOCOL.md §8.11)
		if (e.via === 'notification')
			rec.via = 'notification';
		rec.text = auditText(rec);
		await this.edit(async () => {
			const meta = await this.read('audit:meta', () => ({ next: 0 }));
			const line = 'audit:' + (meta.next % AUDIT_MAX);
			meta.next++;
			// The line and the count in one write.
			await this.write({ [line]: rec, 'audit:meta': meta });
		});
		return rec;
	}

	// The newest `limit` lines (all by default), newest last; read at once,
	// not one after the other (IndexedDB takes the reads together).
	async auditLog(limit = AUDIT_MAX) {
		const meta = await this.read('audit:meta', () => ({ next: 0 }));
		const from = Math.max(0, meta.next - Math.min(limit, AUDIT_MAX));
		const keys = [];
		for (let i = from; i < meta.next; i++)
			keys.push('audit:' + (i % AUDIT_MAX));
		const lines = await Promise.all(keys.map((k) => this.get(k)));
		lines.forEach((e, i) => {
			if (e !== undefined)
				checkAuditLine(e, from + i + 1);
		});
		return lines.filter((e) => e);
	}

	// ---- a transfer from another phone (docs/PROTOCOL.md §10.5) ----
	//
	// The records a transfer brought (identity, computers, credentials,
	// counters, hosts, cas, pinFailures, from, digest; private keys as
	// non-extractable CryptoKeys) wait in 'transfer-pending' from the moment
	// the state was received until the old phone says it let go of its
	// copy: then they become this phone's state in one batch.

	async transferPending() {
		return (await this.get('transfer-pending')) ?? null;
	}

	// Whether there is nothing a transfer would replace.
	async empty() {
		return !(await this.get('identity')) && (await this.computers()).length === 0 &&
		    (await this.credentialRecords()).length === 0;
	}

	async saveTransferPending(rec) {
		// The records must read back as this phone's own would.
		for (const k of ['identity', 'computers', 'credentials', 'counters', 'hosts',
		    'cas']) {
			try {
				await CHECKS[k](rec[k]);
			} catch (e) {
				fail('FORMAT', 'the old phone\'s state does not fit this phone: ' +
				    (e?.message ?? String(e)));
			}
		}
		await this.edit(async () => {
			if (!(await this.empty()))
				fail('EXISTS', 'this phone has a state already: a transfer would ' +
				    'replace it');
			await this.write({ 'transfer-pending': rec });
		});
	}

	// The pending transfer becomes this phone's state (its own PIN, if it
	// has one, stays, with the old phone's count of wrong PINs).
	async finishTransfer(now) {
		let from = null;
		await this.edit(async () => {
			const p = await this.get('transfer-pending');
			if (!p)
				fail('STATE', 'no transfer waits to be finished');
			if (!(await this.empty()))
				fail('EXISTS', 'this phone has a state already');
			const pin = (await this.get('pin')) ?? {};
			from = p.from;
			await this.write({ computers: p.computers, credentials: p.credentials,
			    counters: p.counters, hosts: p.hosts, cas: p.cas,
			    pin: { ...pin, failures: p.pinFailures }, identity: p.identity,
			    'transfer-pending': null });
		});
		await this.audit({ op: 'receive', subject: from, event: 'received' }, now);
	}

	async discardTransfer() {
		await this.edit(() => this.write({ 'transfer-pending': null }));
	}

}
