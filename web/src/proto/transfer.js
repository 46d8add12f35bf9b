// Moving a phone to this one, docs/PROTOCOL.md §10 (lib/transfer.c): the
// transfer URI, the derivations, the messages and the payload, as the new
// phone reads them. The old phone (sk-phone-authenticator transfer) shows
// the URI; this phone MEETs, is the IK initiator with a static key made for
// this transfer only, and takes the whole state once both owners confirmed
// the code. Transport (the relay) and the owner are the caller's
// (app/controller.js receive()).

import * as cbor from './cbor.js';
import { ascii, b64urlDecode, equal, utf8 } from './bytes.js';
import { hkdf, isEd25519Public, isP256Public } from './crypto.js';
import { fail, SkpError } from './err.js';
import { checkName, parseDecimal, RELAY_URL_MAX } from './pairuri.js';
import { parseRelayUrl } from './relayurl.js';

export const TRANSFER_URI_MAX = 1024;
export const TRANSFER_VERSION = 1;
export const PAYLOAD_MAX = 524288;
export const PIECE_MAX = 60000;
export const PROLOGUE = 'sk-phone transfer v1';
export const CONFIRM_INFO = 'sk-phone transfer v1 confirm';

const PREFIX = 'sk-phone://transfer?';
const NAMES = ['v', 'k', 's', 'r', 't'];
const B64_PUB_LEN = 87;
const B64_SECRET_LEN = 22;
const B64_RELAY_MAX = 340;
const EMPTY = new Uint8Array(0);

const isDigit = (c) => c >= '0' && c <= '9';

// -> { key (65), secret (16), relay, created (BigInt) }, §10.1's order of
// refusals. Freshness is checkFresh's (pairuri.js), as pairing's.
export function parseTransferUri(uri) {
	if (typeof uri !== 'string')
		fail('INVALID', 'the transfer code is not text');
	if (utf8(uri).length > TRANSFER_URI_MAX)
		fail('TOO_LARGE', 'the transfer code is longer than 1024 bytes');
	if (!uri.startsWith(PREFIX)) {
		if (uri.startsWith('sk-phone://pair?') || /^https?:\/\/[^#]*#v=/.test(uri))
			fail('FORMAT', 'this is a pairing code (sk-phone pair), not a transfer ' +
			    'code: pair it from the home screen once this phone is set up');
		fail('FORMAT', 'not a transfer code: it starts with sk-phone://transfer?');
	}
	const val = {}, count = {};
	let bad = false;
	for (const piece of uri.slice(PREFIX.length).split('&')) {
		if (piece.length >= 2 && piece[1] === '=' && NAMES.includes(piece[0])) {
			count[piece[0]] = (count[piece[0]] || 0) + 1;
			if (count[piece[0]] === 1)
				val[piece[0]] = piece.slice(2);
			else
				bad = true;
		} else {
			bad = true;
		}
	}
	// A newer version wins over every other complaint, however long.
	if (count.v === 1 && val.v.length > 0 &&
	    [...val.v].every(isDigit) && (val.v.length === 1 || val.v[0] !== '0') &&
	    BigInt(val.v) > BigInt(TRANSFER_VERSION))
		throw new SkpError('VERSION', 'this transfer code is from a newer ' +
		    'sk-phone: update this phone\'s page (reload it)');
	if (bad || NAMES.some((n) => count[n] !== 1) || val.v !== '1')
		fail('FORMAT', 'a malformed transfer code');
	if (val.k.length !== B64_PUB_LEN || val.s.length !== B64_SECRET_LEN)
		fail('FORMAT', 'a malformed transfer code');
	if (val.r.length > B64_RELAY_MAX)
		fail('TOO_LARGE', 'the transfer code\'s relay URL is too long');
	const key = b64urlDecode(val.k);
	const secret = b64urlDecode(val.s);
	const relayBytes = b64urlDecode(val.r);
	const created = parseDecimal(val.t);
	if (key.length !== 65 || secret.length !== 16)
		fail('FORMAT', 'a malformed transfer code');
	if (relayBytes.length < 1)
		fail('FORMAT', 'the transfer code has an empty relay URL');
	if (relayBytes.length > RELAY_URL_MAX)
		fail('TOO_LARGE', 'the transfer code\'s relay URL is too long');
	if (relayBytes.some((b) => b < 0x20 || b >= 0x7f))
		fail('FORMAT', 'relay URL: only printable ASCII');
	const relay = String.fromCharCode(...relayBytes);
	try {
		parseRelayUrl(relay);
	} catch (e) {
		fail('FORMAT', 'the transfer code\'s relay URL: ' + e.message);
	}
	if (!isP256Public(key))
		fail('CRYPTO', 'the old phone\'s key in the transfer code is not a P-256 point');
	return { key, secret, relay, created };
}

// §10.2.
export function transferRendezvousId(secret) {
	return hkdf(EMPTY, secret, ascii('sk-phone transfer v1 rendezvous'), 32);
}

export function transferPsk(secret) {
	return hkdf(EMPTY, secret, ascii('sk-phone transfer v1 psk'), 32);
}

// ---- the messages of §10.3 ----

const MSG_MAX = 1024;

function msg(bytes, keys, what) {
	let m;
	try {
		m = cbor.decodeMap(bytes, MSG_MAX, keys);
	} catch (e) {
		if (e instanceof SkpError)
			fail(e.code, `the old phone's ${what}: ${e.message}`);
		throw e;
	}
	for (const k of keys)
		if (!m.has(k))
			fail('FORMAT', `the old phone's ${what} has no key ${k}`);
	return m;
}

export function encodeHello() {
	return cbor.encode(new Map());
}

// reply {1: the old phone's name}.
export function decodeReply(bytes) {
	const name = msg(bytes, [1], 'reply').get(1);
	if (typeof name !== 'string')
		fail('CBOR_TYPE', 'the old phone\'s name is not text');
	try {
		return checkName(name);
	} catch (e) {
		fail('FORMAT', 'the old phone\'s name: ' + e.message);
	}
}

export function encodeReady() {
	return cbor.encode(new Map([[1, true]]));
}

// header {1: length (1..524288), 2: SHA-256 (32)} -> { length, digest }.
export function decodeHeader(bytes) {
	const m = msg(bytes, [1, 2], 'header');
	const length = m.get(1), digest = m.get(2);
	if (typeof length !== 'number' || !(digest instanceof Uint8Array))
		fail('CBOR_TYPE', 'the old phone\'s header has the wrong types');
	if (!Number.isSafeInteger(length) || length < 1 || length > PAYLOAD_MAX ||
	    digest.length !== 32)
		fail('FORMAT', 'the old phone\'s header: a length or digest out of range');
	return { length, digest };
}

export function encodeReceived(digest) {
	return cbor.encode(new Map([[1, digest]]));
}

export function decodeDone(bytes) {
	const v = msg(bytes, [1], 'last message').get(1);
	if (typeof v !== 'boolean')
		fail('CBOR_TYPE', 'the old phone\'s last message has the wrong type');
	if (v !== true)
		fail('FORMAT', 'the old phone did not let go of its state');
}

// ---- the payload (§10.4) ----
//
// -> a plain description of the old phone's state, its private keys as
// bytes (the caller imports them into WebCrypto and wipes them):
//   { identity: { key, name, relay, mailbox }, computers: [...],
//     credentials: [...], counters: Map(hex id -> n), pins: [...],
//     cas: [...], pinFailures, sentAt }

function bad(what) {
	fail('FORMAT', `the old phone's state: ${what}`);
}

function map(v, keys, opt, what) {
	if (!(v instanceof Map))
		fail('CBOR_TYPE', `the old phone's state: ${what} is not a map`);
	for (const k of v.keys())
		if (!keys.includes(k) && !opt.includes(k))
			bad(`${what} has an unknown key ${String(k)}`);
	for (const k of keys)
		if (!v.has(k))
			bad(`${what} has no key ${k}`);
	return v;
}

function list(v, max, what) {
	const m = map(v, [1], [], what);
	const l = m.get(1);
	if (!Array.isArray(l))
		fail('CBOR_TYPE', `the old phone's state: ${what} is not a list`);
	if (l.length > max)
		bad(`${what} holds ${l.length} entries, over ${max}`);
	return l;
}

function bytes(v, min, max, what) {
	if (!(v instanceof Uint8Array))
		fail('CBOR_TYPE', `the old phone's state: ${what} is not bytes`);
	if (v.length < min || v.length > max)
		bad(`${what} is ${v.length} bytes`);
	return v;
}

function uint(v, max, what) {
	if (typeof v === 'bigint' || !Number.isSafeInteger(v) || v < 0 || v > max)
		bad(`${what} is not a whole number up to ${max}`);
	return v;
}

function text(v, min, max, what) {
	if (typeof v !== 'string')
		fail('CBOR_TYPE', `the old phone's state: ${what} is not text`);
	const n = utf8(v).length;
	if (n < min || n > max)
		bad(`${what} is ${n} bytes long`);
	return v;
}

function name(v, what) {
	text(v, 1, 64, what);
	try {
		return checkName(v);
	} catch (e) {
		bad(`${what}: ${e.message}`);
	}
}

const U32 = 0xffffffff;
const TIME_MAX = Number.MAX_SAFE_INTEGER;

export function decodePayload(payload) {
	const top = cbor.decode(payload, PAYLOAD_MAX);
	if (top instanceof Map && typeof top.get(1) === 'number' && top.get(1) > TRANSFER_VERSION)
		throw new SkpError('VERSION', 'the old phone sent a newer kind of state: ' +
		    'reload this page for the newer web phone');
	map(top, [1, 2, 3, 4, 5, 6, 7, 8, 9], [], 'the payload');
	if (top.get(1) !== TRANSFER_VERSION)
		bad('payload version is not 1');

	const idm = map(top.get(2), [1, 3, 4, 5], [2, 6], 'identity');
	if (idm.has(2))
		bad('identity is of protocol 1 (update the old phone first)');
	if (idm.has(6))
		throw new SkpError('UNSUPPORTED', 'the old phone is moving to a new mailbox ' +
		    '(sk-phone-authenticator mailbox rotate): let every computer use it once, ' +
		    'finish the rotation there, then move the phone');
	// One URL, or a relay list (§8.7: 2 to 4, none twice), kept as the
	// page's identity.relays (relay: its first, the one tried first).
	const r4 = idm.get(4);
	let relays;
	if (Array.isArray(r4)) {
		if (r4.length < 2 || r4.length > 4)
			bad('identity relay list is not 2 to 4 URLs');
		relays = r4.map((u, i) => text(u, 1, RELAY_URL_MAX, `identity relay ${i + 1}`));
		if (new Set(relays).size !== relays.length)
			bad('identity relay list names a URL twice');
	} else {
		relays = [text(r4, 0, RELAY_URL_MAX, 'identity relay')];
	}
	for (const u of relays) {
		if (u === '')
			continue;
		try {
			parseRelayUrl(u);
		} catch (e) {
			bad('identity relay: ' + e.message);
		}
	}
	const relay = relays[0];
	const identity = { key: bytes(idm.get(1), 32, 32, 'identity key'),
	    name: name(idm.get(3), 'phone name'), relay, relays,
	    mailbox: bytes(idm.get(5), 32, 32, 'mailbox key') };

	const computers = list(top.get(3), 16, 'computers').map((c, i) => {
		const at = `computer ${i + 1}`;
		map(c, [1, 2, 3, 4, 5], [6, 7], at);
		if (c.has(6) || c.get(5) !== 0)
			bad(`${at} has an approval window`);
		if (c.has(7) && c.get(7) !== true)
			bad(`${at} key 7 is not true`);
		const pub = bytes(c.get(2), 65, 65, at + ' key');
		if (!isP256Public(pub))
			fail('CRYPTO', `the old phone's state: ${at} key is not a P-256 point`);
		return { name: name(c.get(1), at + ' name'), publicKey: pub,
		    requestPsk: bytes(c.get(3), 32, 32, at + ' psk'),
		    pairedAt: uint(c.get(4), TIME_MAX, at + ' paired at') };
	});
	computers.forEach((x, i) => computers.slice(0, i).forEach((y) => {
		if (x.name === y.name || equal(x.publicKey, y.publicKey))
			bad('two computers share a name or a key');
	}));

	const credentials = list(top.get(4), 128, 'credentials').map((c, i) => {
		const at = `key ${i + 1}`;
		map(c, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [11], at);
		const alg = c.has(11) ? c.get(11) : -7;
		if (alg !== -7 && alg !== -8)
			bad(`${at} alg is not -7 or -8`);
		const pub = bytes(c.get(5), alg === -8 ? 32 : 65, alg === -8 ? 32 : 65,
		    at + ' public key');
		if (alg === -7 ? !isP256Public(pub) : !isEd25519Public(pub))
			fail('CRYPTO', `the old phone's state: ${at} public key is not valid`);
		if (typeof c.get(7) !== 'boolean')
			fail('CBOR_TYPE', `the old phone's state: ${at} resident is not true or false`);
		const cp = uint(c.get(8), 3, at + ' credProtect');
		if (cp < 1)
			bad(`${at} credProtect is 0`);
		return { id: bytes(c.get(1), 16, 16, at + ' id'),
		    rp: text(c.get(2), 1, 255, at + ' rp'),
		    userId: bytes(c.get(3), 0, 64, at + ' user id'),
		    userName: text(c.get(4), 0, 64, at + ' user name'),
		    publicKey: pub, privateKey: bytes(c.get(6), 32, 32, at + ' private key'),
		    resident: c.get(7), credProtect: cp,
		    created: uint(c.get(9), TIME_MAX, at + ' created'),
		    madeFor: text(c.get(10), 0, 256, at + ' made for'), alg };
	});
	credentials.forEach((x, i) => credentials.slice(0, i).forEach((y) => {
		if (equal(x.id, y.id))
			bad('two keys share an id');
	}));

	const counters = new Map();
	list(top.get(5), 128, 'counters').forEach((c, i) => {
		map(c, [1, 2], [], `counter ${i + 1}`);
		const id = bytes(c.get(1), 16, 16, `counter ${i + 1} id`);
		const hex = [...id].map((b) => b.toString(16).padStart(2, '0')).join('');
		if (counters.has(hex))
			bad('two counters for one key');
		counters.set(hex, uint(c.get(2), U32, `counter ${i + 1}`));
	});

	const hm = map(top.get(6), [1, 2], [], 'hosts');
	if (!Array.isArray(hm.get(1)) || !Array.isArray(hm.get(2)))
		fail('CBOR_TYPE', 'the old phone\'s state: hosts are not lists');
	if (hm.get(2).length !== 0)
		bad('hosts carry approval windows');
	if (hm.get(1).length > 200)
		bad('over 200 host pins');
	const pins = hm.get(1).map((p, i) => {
		const at = `host pin ${i + 1}`;
		map(p, [1, 2, 3, 4], [], at);
		return { name: text(p.get(1), 1, 264, at + ' name'),
		    key: bytes(p.get(2), 1, 2048, at + ' key'),
		    pinnedAt: uint(p.get(3), TIME_MAX, at + ' pinned at'),
		    pinnedBy: text(p.get(4), 0, 256, at + ' pinned by') };
	});

	const cas = list(top.get(7), 32, 'host CAs').map((c, i) => {
		const at = `host CA ${i + 1}`;
		map(c, [1, 2, 3], [], at);
		return { pattern: text(c.get(1), 1, 255, at + ' pattern'),
		    key: bytes(c.get(2), 1, 2048, at + ' key'),
		    addedAt: uint(c.get(3), TIME_MAX, at + ' added at') };
	});

	const pinFailures = uint(map(top.get(8), [1], [], 'PIN').get(1), 255, 'wrong PINs');
	const sentAt = uint(top.get(9), TIME_MAX, 'sent at');
	return { identity, computers, credentials, counters, pins, cas, pinFailures, sentAt };
}
