// The pairing URI (v=2, and v=3 for a relay list) and the pairing
// derivations, docs/PROTOCOL.md §2
// (the behaviour of lib/pairuri.c: the same refusals in the same order).
//
//   sk-phone://pair?v=2&k=<K>&s=<S>&r=<R>&n=<N>&t=<T>
//
// parsePairUri(text) -> { computerPub (65), secret (16), relay (string:
// the first relay URL), relays (every relay URL, in order: one for v=2,
// 2 to 4 for v=3), name (string), created (BigInt, unix seconds) } or
// throws SkpError:
// TOO_LARGE, FORMAT, VERSION (newer), OLD_VERSION (protocol 1), CRYPTO.

import { ascii, b64urlDecode, b64urlEncode, fromUtf8, utf8 } from './bytes.js';
import { hkdf, isP256Public, sha256 } from './crypto.js';
import { fail, SkpError } from './err.js';
import { parseRelayUrl } from './relayurl.js';

export const PAIRURI_VERSION = 2;	// one relay URL
export const PAIRURI_VERSION_LIST = 3;	// 2..4 relay URLs, r repeated
export const RELAY_URLS_MAX = 4;
export const PAIRURI_MAX = 1024;
export const PAIRURI_MAX_AGE = 300;
export const PAIRURI_MAX_AHEAD = 60;
export const QR_SECRET_LEN = 16;
export const RELAY_URL_MAX = 255;
export const NAME_MAX = 64;
export const PHONE_ID_LEN = 16;

const PREFIX = 'sk-phone://pair?';
const NAMES = ['v', 'k', 's', 'r', 'n', 't'];
const B64_PUB_LEN = 87;
const B64_SECRET_LEN = 22;
const U64_MAX = 0xffffffffffffffffn;

const isDigit = (c) => c >= '0' && c <= '9';
const isUnreserved = (c) => /^[A-Za-z0-9\-._~]$/.test(c);

// Decimal without sign or leading zeros, fitting 64 bits: a BigInt.
export function parseDecimal(s) {
	if (s.length === 0 || s.length > 20 || (s.length > 1 && s[0] === '0') ||
	    ![...s].every(isDigit))
		fail('FORMAT', 'not a decimal number');
	const v = BigInt(s);
	if (v > U64_MAX)
		fail('FORMAT', 'a number over 64 bits');
	return v;
}

// Percent-decoding of a pct-value into at most max bytes.
function pctDecode(s, max) {
	const out = [];
	for (let i = 0; i < s.length; i++) {
		if (out.length >= max)
			fail('TOO_LARGE', 'a decoded value over its limit');
		const c = s[i];
		if (c === '%') {
			const h = s.slice(i + 1, i + 3);
			if (!/^[0-9A-Fa-f]{2}$/.test(h))
				fail('FORMAT', 'a \'%\' not followed by two hex digits');
			out.push(parseInt(h, 16));
			i += 2;
		} else if (isUnreserved(c)) {
			out.push(c.charCodeAt(0));
		} else {
			fail('FORMAT', 'a character that must be percent-encoded');
		}
	}
	return Uint8Array.from(out);
}

function pctEncode(bytes) {
	let s = '';
	for (const b of bytes) {
		const c = String.fromCharCode(b);
		s += b < 0x80 && isUnreserved(c) ? c :
		    '%' + b.toString(16).toUpperCase().padStart(2, '0');
	}
	return s;
}

function badCodepoint(c) {
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x200e ||
	    c === 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

// §2.2 Names: 1-64 bytes of UTF-8, no control characters, no bidi or
// line separators. Takes bytes or a string; throws FORMAT or TOO_LARGE.
export function checkName(name) {
	let b = name;
	if (typeof name === 'string') {
		if (/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))
			fail('FORMAT', 'a name that is not valid UTF-8');
		b = utf8(name);
	}
	if (!(b instanceof Uint8Array) || b.length === 0)
		fail('FORMAT', 'an empty name');
	if (b.length > NAME_MAX)
		fail('TOO_LARGE', 'a name over 64 bytes');
	const s = fromUtf8(b);	// strict: refuses what is not UTF-8
	for (const ch of s)
		if (badCodepoint(ch.codePointAt(0)))
			fail('FORMAT', 'a name with a control or invisible character');
	return s;
}

// A newer v wins over every other complaint: its grammar may differ.
function isNewerVersion(v) {
	if (v.length === 0 || (v.length > 1 && v[0] === '0') || ![...v].every(isDigit))
		return false;
	return !(v.length === 1 && '0123'.includes(v));
}

// §2.1 The web form: "https://AUTHORITY/#" (or "http://" for a ws://
// relay on a loopback address) with AUTHORITY the relay URL's host and
// port exactly as written. FORMAT for a ws:// relay elsewhere.
export function webPrefix(relay) {
	let ru;
	try {
		ru = parseRelayUrl(relay);
	} catch {
		fail('FORMAT', 'not a relay URL');
	}
	const a = relay.slice(ru.tls ? 6 : 5);
	const slash = a.indexOf('/');
	const authority = slash < 0 ? a : a.slice(0, slash);
	const loop = ru.host === 'localhost' || ru.host === '::1' ||
	    (!ru.ipv6 && ru.host.startsWith('127.') && /^[0-9.]+$/.test(ru.host));
	if (!ru.tls && !loop)
		fail('FORMAT', 'a ws:// relay off this computer has no web form: ' +
		    'browsers give WebCrypto only to https pages and loopback ones');
	return `${ru.tls ? 'https' : 'http'}://${authority}/#`;
}

export function webFormOk(relay) {
	try {
		webPrefix(relay);
		return true;
	} catch {
		return false;
	}
}

export function parsePairUri(uri) {
	if (typeof uri !== 'string')
		fail('INVALID', 'the pairing URI is not text');
	if (utf8(uri).length > PAIRURI_MAX)
		fail('TOO_LARGE', 'the pairing URI is longer than 1024 bytes');
	// The web form: the same query after "#", behind the relay's own
	// origin, checked below against r.
	const web = utf8(uri).length >= 8 && (uri.startsWith('https://') ||
	    uri.startsWith('http://'));
	let plen = PREFIX.length;
	if (web) {
		const hash = uri.indexOf('#');
		if (hash < 0)
			fail('FORMAT', 'a web pairing URI without "#"');
		plen = hash + 1;
	} else if (!uri.startsWith(PREFIX)) {
		fail('FORMAT', 'not an sk-phone pairing URI');
	}
	const q = uri.slice(plen);
	if (q.length === 0)
		fail('FORMAT', 'the pairing URI has no parameters');
	// each piece one of the six names and '=', each name once but r,
	// which v=3 repeats (2 to 4 times, in the list's order)
	const val = {}, count = {}, rs = [];
	let bad = false;
	for (const piece of q.split('&')) {
		if (piece.length >= 2 && piece[1] === '=' && NAMES.includes(piece[0])) {
			count[piece[0]] = (count[piece[0]] || 0) + 1;
			if (piece[0] === 'r' && rs.length < RELAY_URLS_MAX)
				rs.push(piece.slice(2));
			if (count[piece[0]] === 1)
				val[piece[0]] = piece.slice(2);
			else if (piece[0] !== 'r')
				bad = true;
		} else {
			bad = true;
		}
	}
	if (count.r > RELAY_URLS_MAX)
		bad = true;
	else if (count.r > 1)
		count.r = 1;
	if (count.v === 1 && isNewerVersion(val.v))
		throw new SkpError('VERSION', 'this pairing code is from a newer ' +
		    'sk-phone: update the phone');
	if (count.v === 1 && val.v === '1')
		throw new SkpError('OLD_VERSION', 'this pairing code is from an older ' +
		    'sk-phone (protocol 1): update sk-phone on the computer, then run ' +
		    'sk-phone pair again');
	if (bad || NAMES.some((n) => count[n] !== 1))
		fail('FORMAT', 'a malformed pairing URI');
	const list = val.v === '3';
	if ((val.v !== '2' && !list) || (list ? rs.length < 2 : rs.length !== 1) ||
	    val.k.length !== B64_PUB_LEN || val.s.length !== B64_SECRET_LEN)
		fail('FORMAT', 'a malformed pairing URI');
	const computerPub = b64urlDecode(val.k);
	const secret = b64urlDecode(val.s);
	if (computerPub.length !== 65 || secret.length !== QR_SECRET_LEN)
		fail('FORMAT', 'a malformed pairing URI');
	const relayBytes = rs.map((r) => pctDecode(r, RELAY_URL_MAX));
	const nameBytes = pctDecode(val.n, NAME_MAX);
	const created = parseDecimal(val.t);
	const relays = [];
	for (const rb of relayBytes) {
		if (rb.some((b) => b >= 0x80))
			fail('FORMAT', 'relay URL: only printable ASCII');
		const url = String.fromCharCode(...rb);
		parseRelayUrl(url);
		if (relays.includes(url))
			fail('FORMAT', 'a relay URL given twice in the pairing URI');
		relays.push(url);
	}
	const relay = relays[0];
	const name = checkName(nameBytes);
	// One spelling: the start the encoder makes from r, byte for byte.
	if (web) {
		let pre = null;
		try {
			pre = webPrefix(relay);
		} catch {
			// no web form for this relay: refused below
		}
		if (pre === null || pre !== uri.slice(0, plen))
			fail('FORMAT', 'the web pairing URI is not on its relay\'s own origin');
	}
	if (!isP256Public(computerPub))
		fail('CRYPTO', 'the computer\'s key in the pairing URI is not a P-256 point');
	return { computerPub, secret, relay, relays, name, created };
}

// The encoder (the computer's side; the phone uses it in tests).
// web: the web form (§2.1) instead of sk-phone://pair?.
// relays (2 to 4 URLs of one relay, in order) makes v=3; else relay, v=2.
export function encodePairUri({ computerPub, secret, relay, relays, name, created },
    { web = false } = {}) {
	if (!isP256Public(computerPub))
		fail('CRYPTO', 'not a P-256 public key');
	if (!(secret instanceof Uint8Array) || secret.length !== QR_SECRET_LEN)
		fail('INVALID', 'the QR secret is 16 bytes');
	const list = relays && relays.length > 1 ? relays : [relay ?? relays?.[0]];
	if (list.length > RELAY_URLS_MAX || new Set(list).size !== list.length)
		fail('FORMAT', 'one to four relay URLs, none twice');
	list.forEach((r) => parseRelayUrl(r));
	checkName(name);
	const uri = `${web ? webPrefix(list[0]) : PREFIX}v=${list.length > 1 ? 3 : 2}` +
	    `&k=${b64urlEncode(computerPub)}&s=${b64urlEncode(secret)}` +
	    list.map((r) => `&r=${pctEncode(ascii(r))}`).join('') +
	    `&n=${pctEncode(utf8(name))}&t=${BigInt(created)}`;
	if (uri.length > PAIRURI_MAX)
		fail('TOO_LARGE', 'the pairing URI would be longer than 1024 bytes: ' +
		    'use a shorter relay URL or name');
	return uri;
}

// §2.3: fresh <=> now - 300 <= t <= now + 60 (unix seconds). Throws
// EXPIRED with how far off the code is.
export function checkFresh(created, now) {
	const t = BigInt(created), n = BigInt(now);
	if (t > n) {
		if (t - n > BigInt(PAIRURI_MAX_AHEAD))
			throw Object.assign(new SkpError('EXPIRED', 'this pairing code was ' +
			    'made in the future by this phone\'s clock: set the clocks ' +
			    'right (NTP), then pair again'), { ahead: Number(t - n) });
		return;
	}
	if (n - t > BigInt(PAIRURI_MAX_AGE))
		throw Object.assign(new SkpError('EXPIRED', 'this pairing code is ' +
		    'too old: run sk-phone pair again'), { age: Number(n - t) });
}

const EMPTY = new Uint8Array(0);

// §2.4 derivations.
export function rendezvousId(secret) {
	return hkdf(EMPTY, secret, ascii('sk-phone v1 rendezvous'), 32);
}

export function pairingPsk(secret) {
	return hkdf(EMPTY, secret, ascii('sk-phone v1 pairing psk'), 32);
}

export function requestPsk(h) {
	return hkdf(EMPTY, h, ascii('sk-phone v1 request psk'), 32);
}

// { value: the uint32 mod 10^6, text: 6 digits with leading zeros }; info:
// another flow's (the transfer's, §10.2).
export async function confirmCode(h, info = 'sk-phone v1 confirm') {
	const b = await hkdf(EMPTY, h, ascii(info), 4);
	const value = (((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3]) % 1000000;
	b.fill(0);
	return { value, text: String(value).padStart(6, '0') };
}

export async function phoneId(pub) {
	return (await sha256(pub)).slice(0, PHONE_ID_LEN);
}

// §1, §7.4: SHA-256("sk-phone mailbox v2" || mailbox public key).
export function mailboxId(pub) {
	return sha256(ascii('sk-phone mailbox v2'), pub);
}
