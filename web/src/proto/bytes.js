// Byte helpers shared by the protocol modules: hex, base64url (RFC 4648 §5
// without padding, canonical), UTF-8, concatenation, comparison, wiping.

import { fail } from './err.js';

const HEX = '0123456789abcdef';

export function toHex(b) {
	let s = '';
	for (const x of b)
		s += HEX[x >> 4] + HEX[x & 15];
	return s;
}

export function fromHex(s) {
	if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s))
		fail('FORMAT', 'not an even number of hex digits');
	const out = new Uint8Array(s.length / 2);
	for (let i = 0; i < out.length; i++)
		out[i] = parseInt(s.substr(2 * i, 2), 16);
	return out;
}

export function concat(...parts) {
	let n = 0;
	for (const p of parts)
		n += p.length;
	const out = new Uint8Array(n);
	let off = 0;
	for (const p of parts) {
		out.set(p, off);
		off += p.length;
	}
	return out;
}

export function equal(a, b) {
	if (a.length !== b.length)
		return false;
	let d = 0;
	for (let i = 0; i < a.length; i++)
		d |= a[i] ^ b[i];
	return d === 0;
}

export function wipe(b) {
	if (b instanceof Uint8Array)
		b.fill(0);
}

export function ascii(s) {
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c > 0x7e)
			throw new TypeError('not ASCII');
		out[i] = c;
	}
	return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function utf8(s) {
	return enc.encode(s);
}

// Strict: throws SkpError FORMAT on invalid UTF-8 (overlong forms,
// surrogates, above U+10FFFF, truncated sequences).
export function fromUtf8(b) {
	try {
		return dec.decode(b);
	} catch {
		fail('FORMAT', 'not valid UTF-8');
	}
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function b64urlEncode(b) {
	let s = '';
	let i = 0;
	for (; i + 3 <= b.length; i += 3) {
		const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
		s += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
	}
	const left = b.length - i;
	if (left === 1) {
		const v = b[i] << 16;
		s += B64[v >> 18] + B64[(v >> 12) & 63];
	} else if (left === 2) {
		const v = (b[i] << 16) | (b[i + 1] << 8);
		s += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63];
	}
	return s;
}

// Refuses padding, other alphabets, a length of 1 mod 4 and unused low
// bits that are not zero, so that every value has exactly one spelling.
export function b64urlDecode(s) {
	if (s.length % 4 === 1)
		fail('FORMAT', 'not base64url');
	const vals = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) {
		const v = B64.indexOf(s[i]);
		if (v < 0)
			fail('FORMAT', 'not base64url');
		vals[i] = v;
	}
	const out = new Uint8Array(Math.floor(s.length * 3 / 4));
	let o = 0, i = 0;
	for (; i + 4 <= s.length; i += 4) {
		const v = (vals[i] << 18) | (vals[i + 1] << 12) | (vals[i + 2] << 6) | vals[i + 3];
		out[o++] = v >> 16;
		out[o++] = (v >> 8) & 255;
		out[o++] = v & 255;
	}
	const left = s.length - i;
	if (left === 2) {
		if (vals[i + 1] & 15)
			fail('FORMAT', 'base64url with non-zero unused bits');
		out[o++] = (vals[i] << 2) | (vals[i + 1] >> 4);
	} else if (left === 3) {
		if (vals[i + 2] & 3)
			fail('FORMAT', 'base64url with non-zero unused bits');
		const v = (vals[i] << 18) | (vals[i + 1] << 12) | (vals[i + 2] << 6);
		out[o++] = v >> 16;
		out[o++] = (v >> 8) & 255;
	}
	return out;
}
