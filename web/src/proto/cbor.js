// Strict CBOR, docs/PROTOCOL.md §4.1 (the profile of lib/cbor.c): a checker
// over the raw bytes first (cborg's options cannot refuse everything the
// profile refuses, and the refusals must carry the C code's error codes),
// then cborg for the tree, then the tree is encoded again and must give the
// very bytes read.
//
// What cborg's decode options give: strict (shortest heads),
// allowIndefinite false, allowUndefined false, rejectDuplicateMapKeys, no
// tag decoders (a tag throws). What it lacks, and check() does: the map key
// order (CTAP2 canonical), floats, null and other simple values, map keys
// that are not integers or text, UTF-8 validity of text, the depth and item
// caps, and the error codes. Maps decode as Map (integer keys).

import { decode as cborgDecode, encode as cborgEncode } from 'cborg';
import { fail, SkpError } from './err.js';

export const MAX_DEPTH = 16;	// a top-level item is at depth 1
export const MAX_ITEMS = 16384;	// every item counts, keys too

const UINT = 0, NEGINT = 1, BYTES = 2, TEXT = 3, ARRAY = 4, MAP = 5, TAG = 6;

class Walk {
	constructor(b) {
		this.b = b;
		this.off = 0;
		this.items = 0;
	}

	left() {
		return this.b.length - this.off;
	}

	need(n) {
		if (this.left() < n)
			fail('TRUNCATED', 'CBOR input ends inside an item');
	}

	// One head: [major, ai, arg]; arg is a Number when it fits 2^53, else
	// a BigInt (only ever compared with what is left, which is smaller).
	head() {
		this.need(1);
		const ib = this.b[this.off++];
		const major = ib >> 5, ai = ib & 31;
		if (ai < 24)
			return [major, ai, ai];
		if (major === 7 && ai !== 31)
			fail(ai <= 27 ? 'CBOR_TYPE' : 'FORMAT',
			    ai <= 27 ? 'CBOR float or simple value outside the profile' :
			    'CBOR reserved additional information');
		let v;
		const b = this.b;
		switch (ai) {
		case 24:
			this.need(1);
			v = b[this.off];
			this.off += 1;
			if (v < 24)
				fail('FORMAT', 'CBOR head not in its shortest form');
			break;
		case 25:
			this.need(2);
			v = (b[this.off] << 8) | b[this.off + 1];
			this.off += 2;
			if (v <= 0xff)
				fail('FORMAT', 'CBOR head not in its shortest form');
			break;
		case 26:
			this.need(4);
			v = ((b[this.off] << 24) >>> 0) + (b[this.off + 1] << 16) +
			    (b[this.off + 2] << 8) + b[this.off + 3];
			this.off += 4;
			if (v <= 0xffff)
				fail('FORMAT', 'CBOR head not in its shortest form');
			break;
		case 27: {
			this.need(8);
			let x = 0n;
			for (let i = 0; i < 8; i++)
				x = (x << 8n) | BigInt(b[this.off + i]);
			this.off += 8;
			if (x <= 0xffffffffn)
				fail('FORMAT', 'CBOR head not in its shortest form');
			v = x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
			break;
		}
		default:
			fail('FORMAT', ai === 31 ? 'CBOR indefinite length or break' :
			    'CBOR reserved additional information');
		}
		return [major, ai, v];
	}

	item(depth) {
		if (depth > MAX_DEPTH || this.items >= MAX_ITEMS)
			fail('TOO_LARGE', 'CBOR nested too deep or too many items');
		this.items++;
		const [major, ai, arg] = this.head();
		switch (major) {
		case UINT:
		case NEGINT:
			return;
		case BYTES:
		case TEXT: {
			if (arg > this.left())
				fail('TRUNCATED', 'CBOR string longer than the input');
			const s = this.b.subarray(this.off, this.off + Number(arg));
			this.off += Number(arg);
			if (major === TEXT && !utf8Ok(s))
				fail('FORMAT', 'CBOR text that is not valid UTF-8');
			return;
		}
		case ARRAY:
			if (arg > this.left())
				fail('TRUNCATED', 'CBOR array count past the input');
			for (let i = 0; i < arg; i++)
				this.item(depth + 1);
			return;
		case MAP:
			if (arg > Math.floor(this.left() / 2))
				fail('TRUNCATED', 'CBOR map count past the input');
			this.map(Number(arg), depth);
			return;
		case TAG:
			fail('CBOR_TYPE', 'CBOR tag outside the profile');
		default:
			if (ai !== 20 && ai !== 21)
				fail('CBOR_TYPE', 'CBOR simple value outside the profile');
		}
	}

	map(n, depth) {
		let prev = null;
		for (let i = 0; i < n; i++) {
			const start = this.off;
			this.need(1);
			const major = this.b[start] >> 5;
			if (major !== UINT && major !== NEGINT && major !== TEXT)
				fail('CBOR_TYPE', 'CBOR map key that is not an integer or text');
			this.item(depth + 1);
			const key = this.b.subarray(start, this.off);
			if (prev !== null && keyCmp(prev, key) >= 0)
				fail('CBOR_ORDER', 'CBOR map keys out of order or repeated');
			prev = key;
			this.item(depth + 1);
		}
	}
}

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
export function utf8Ok(p) {
	let i = 0;
	const n = p.length;
	while (i < n) {
		let c = p[i++];
		if (c < 0x80)
			continue;
		let more, min;
		if ((c & 0xe0) === 0xc0) {
			more = 1; min = 0x80; c &= 0x1f;
		} else if ((c & 0xf0) === 0xe0) {
			more = 2; min = 0x800; c &= 0x0f;
		} else if ((c & 0xf8) === 0xf0) {
			more = 3; min = 0x10000; c &= 0x07;
		} else {
			return false;
		}
		if (n - i < more)
			return false;
		for (let k = 0; k < more; k++) {
			if ((p[i] & 0xc0) !== 0x80)
				return false;
			c = (c << 6) | (p[i++] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
	}
	return true;
}

// CTAP2 canonical order of two encoded keys: major type, then the shorter
// encoding, then the bytes.
export function keyCmp(a, b) {
	const ma = a[0] >> 5, mb = b[0] >> 5;
	if (ma !== mb)
		return ma < mb ? -1 : 1;
	if (a.length !== b.length)
		return a.length < b.length ? -1 : 1;
	for (let i = 0; i < a.length; i++)
		if (a[i] !== b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

// Throws SkpError (TRAILING, TRUNCATED, FORMAT, CBOR_TYPE, CBOR_ORDER,
// TOO_LARGE) unless bytes are exactly one item of the profile.
export function check(bytes, maxlen = Infinity) {
	if (!(bytes instanceof Uint8Array))
		fail('INVALID', 'CBOR input is not bytes');
	if (bytes.length > maxlen)
		fail('TOO_LARGE', 'CBOR input over its size cap');
	if (bytes.length === 0)
		fail('TRUNCATED', 'empty CBOR input');
	const w = new Walk(bytes);
	w.item(1);
	if (w.left() !== 0)
		fail('TRAILING', 'bytes after the CBOR item');
}

const DECODE_OPTIONS = Object.freeze({
	strict: true,
	allowIndefinite: false,
	allowUndefined: false,
	allowInfinity: false,
	allowNaN: false,
	rejectDuplicateMapKeys: true,
	useMaps: true,
	tags: [],
});

// The encoded form of a map key token, to sort by keyCmp.
function keyBytes(tok) {
	const major = tok.type.major;
	if (major === UINT)
		return headBytes(UINT, BigInt(tok.value));
	if (major === NEGINT)
		return headBytes(NEGINT, -1n - BigInt(tok.value));
	if (major === TEXT) {
		const s = new TextEncoder().encode(tok.value);
		const h = headBytes(TEXT, BigInt(s.length));
		const out = new Uint8Array(h.length + s.length);
		out.set(h);
		out.set(s, h.length);
		return out;
	}
	fail('CBOR_TYPE', 'a map key that is not an integer or text');
}

function headBytes(major, v) {
	const m = major << 5;
	if (v < 24n)
		return Uint8Array.of(m | Number(v));
	let n, ai;
	if (v < 0x100n) {
		n = 1; ai = 24;
	} else if (v < 0x10000n) {
		n = 2; ai = 25;
	} else if (v < 0x100000000n) {
		n = 4; ai = 26;
	} else {
		n = 8; ai = 27;
	}
	const out = new Uint8Array(1 + n);
	out[0] = m | ai;
	for (let i = n; i >= 1; i--) {
		out[i] = Number(v & 0xffn);
		v >>= 8n;
	}
	return out;
}

function mapSorter(e1, e2) {
	const k1 = Array.isArray(e1[0]) ? e1[0][0] : e1[0];
	const k2 = Array.isArray(e2[0]) ? e2[0][0] : e2[0];
	return keyCmp(keyBytes(k1), keyBytes(k2));
}

function refuse(what) {
	return () => fail('CBOR_TYPE', `${what} is outside the CBOR profile`);
}

const ENCODE_OPTIONS = Object.freeze({
	mapSorter,
	typeEncoders: {
		number(n) {
			if (!Number.isSafeInteger(n))
				fail('CBOR_TYPE', 'a float or unsafe integer is outside the CBOR profile');
			return null;	// cborg's own, shortest form
		},
		null: refuse('null'),
		undefined: refuse('undefined'),
		Object: refuse('a plain object (use a Map)'),
	},
});

// Encodes Map (integer or text keys), Array, Uint8Array, string, boolean,
// safe integers and BigInt (64-bit), in CTAP2 canonical form; the result is
// checked against the profile (and maxlen) before it is returned.
export function encode(value, maxlen = Infinity) {
	let out;
	try {
		out = cborgEncode(value, ENCODE_OPTIONS);
	} catch (e) {
		if (e instanceof SkpError)
			throw e;
		fail('CBOR_TYPE', `cannot encode: ${e.message}`);
	}
	// cborg gives a Buffer in Node: the same type as in a browser, and a
	// copy of its own.
	out = new Uint8Array(out);
	check(out, maxlen);
	return out;
}

// Decodes one item of the profile (see check) into Map, Array, Uint8Array,
// string, boolean, Number or BigInt (beyond 2^53).
export function decode(bytes, maxlen = Infinity) {
	check(bytes, maxlen);
	let v;
	try {
		// byte strings in the tree are views of this private copy, never
		// of the caller's buffer
		v = cborgDecode(bytes.slice(), DECODE_OPTIONS);
	} catch (e) {
		fail('FORMAT', `CBOR: ${e.message}`);
	}
	// Belt and braces, as lib/cbor.c: the tree must give the bytes read.
	const again = encode(v);
	if (again.length !== bytes.length || keyCmp(again, bytes) !== 0)
		fail('FORMAT', 'CBOR does not re-encode to the bytes read');
	return v;
}

// decode() that must give a map; then only the listed integer keys (when
// a list is given) may appear: another key is FORMAT (sk-phone's own maps).
export function decodeMap(bytes, maxlen = Infinity, onlyKeys = null) {
	const m = decode(bytes, maxlen);
	if (!(m instanceof Map))
		fail('CBOR_TYPE', 'CBOR item is not a map');
	if (onlyKeys)
		mapOnly(m, onlyKeys);
	return m;
}

export function mapOnly(m, keys) {
	for (const k of m.keys())
		if (!keys.includes(k))
			fail('FORMAT', `unknown key ${String(k)} in the map`);
}
