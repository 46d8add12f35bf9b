// What the phone is asked to sign (docs/PROTOCOL.md §8.5), as
// cmd/sk-phone-authenticator/sshmsg.c: an SSH userauth request (RFC 4252
// §7, and OpenSSH's host-bound variant), an SSHSIG (PROTOCOL.sshsig), or
// other data; strict, exactly and with nothing after it; and printable(),
// the one way any of it is shown.
//
// SSH strings are bytes. The strings of a parse (user, algorithm,
// namespace) are JS strings that keep those bytes: valid UTF-8 is decoded
// as it is, and each byte that is not part of valid UTF-8 becomes the lone
// surrogate U+DC80+byte (as Python's "surrogateescape"), which printable()
// turns back into that byte. So printable(parsed.user) is, byte for byte,
// what the C phone shows. The raw bytes are there too (userBytes, ...).

import { equal } from '../proto/bytes.js';
import { fail } from '../proto/err.js';

export const SID_MAX = 64;		// a session id (SHA-512)
export const USER_MAX = 255;
export const NS_MAX = 255;
export const KEY_MAX = 8192;		// a key blob in a userauth request
const ALG_MAX = 64;
const METHOD_MAX = 39;
const HASH_ALG_MAX = 16;
const RESERVED_MAX = 1024;
const USERAUTH_REQUEST = 50;
const SSHSIG = Uint8Array.of(0x53, 0x53, 0x48, 0x53, 0x49, 0x47);
const HOSTBOUND = 'publickey-hostbound-v00@openssh.com';

// A bounds-checked reader of SSH wire data (RFC 4251 §5), as lib/buf.c's
// skp_reader: a length over max is TOO_LARGE and one past the end
// TRUNCATED, and neither consumes anything.
export class SshReader {
	constructor(b) {
		this.b = b;
		this.off = 0;
	}

	left() {
		return this.b.length - this.off;
	}

	u8() {
		if (this.left() < 1)
			fail('TRUNCATED', 'SSH data cut short');
		return this.b[this.off++];
	}

	u32() {
		if (this.left() < 4)
			fail('TRUNCATED', 'SSH data cut short');
		const b = this.b, o = this.off;
		this.off += 4;
		return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
	}

	bytes(n) {
		if (this.left() < n)
			fail('TRUNCATED', 'SSH data cut short');
		const out = this.b.subarray(this.off, this.off + n);
		this.off += n;
		return out;
	}

	string(max) {
		const save = this.off;
		const n = this.u32();
		if (n > max) {
			this.off = save;
			fail('TOO_LARGE', 'SSH string too long');
		}
		if (this.left() < n) {
			this.off = save;
			fail('TRUNCATED', 'SSH data cut short');
		}
		return this.bytes(n);
	}

	end() {
		if (this.left() !== 0)
			fail('TRAILING', 'bytes after the SSH data');
	}
}

// Bytes -> a string that keeps them (see the header).
export function textOf(b) {
	let s = '';
	let i = 0;
	while (i < b.length) {
		const c = b[i];
		let n = 0, cp = 0, min = 0;
		if (c < 0x80) {
			s += String.fromCharCode(c);
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07; min = 0x10000;
		}
		let ok = n > 0 && i + n < b.length;
		for (let k = 1; ok && k <= n; k++) {
			const d = b[i + k];
			if ((d & 0xc0) !== 0x80)
				ok = false;
			else
				cp = (cp << 6) | (d & 0x3f);
		}
		if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
			ok = false;
		if (!ok) {
			s += String.fromCharCode(0xdc00 + c);
			i++;
			continue;
		}
		s += String.fromCodePoint(cp);
		i += n + 1;
	}
	return s;
}

// A string -> its bytes: UTF-8, and a lone U+DC80..U+DCFF as its byte.
export function bytesOf(s) {
	const out = [];
	for (let i = 0; i < s.length; i++) {
		let cp = s.charCodeAt(i);
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
			const lo = s.charCodeAt(i + 1);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		} else if (cp >= 0xdc80 && cp <= 0xdcff) {
			out.push(cp - 0xdc00);
			continue;
		}
		if (cp < 0x80) {
			out.push(cp);
		} else if (cp < 0x800) {
			out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
		} else {
			out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f),
			    0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
		}
	}
	return Uint8Array.from(out);
}

const HEX = '0123456789abcdef';

function escape(c) {
	if (c >= 0x20 && c < 0x7f && c !== 0x5c && c !== 0x22)
		return String.fromCharCode(c);
	return '\\x' + HEX[c >> 4] + HEX[c & 15];
}

// §8.5: bytes 0x20..0x7E except \ and " as they are, every other byte as
// \xHH. outlen, as skp_sshmsg_printable's buffer size: when the text does
// not fit in outlen - 1 characters, it is cut (never inside an escape) and
// "..." added. Without outlen nothing is cut. A NUL, which no C string
// holds, is shown as \x00.
export function printable(x, outlen = Infinity) {
	const b = typeof x === 'string' ? bytesOf(x) : x;
	if (!(b instanceof Uint8Array))
		throw new TypeError('printable() takes bytes or a string');
	const parts = Array.from(b, escape);
	const total = parts.reduce((n, p) => n + p.length, 0);
	if (outlen <= 0)
		return '';
	if (total < outlen)
		return parts.join('');
	const room = outlen > 4 ? outlen - 4 : 0;
	let s = '';
	for (const p of parts) {
		if (s.length + p.length > room)
			break;
		s += p;
	}
	return outlen > 4 ? s + '...' : s;
}

// An SSH string that must be a C string (no NUL) of at most max bytes.
function cstring(r, max) {
	const b = r.string(max);
	if (b.includes(0))
		fail('FORMAT', 'a NUL in an SSH string');
	return b;
}

function expect(r, want) {
	const b = r.string(64);
	if (b.length !== want.length || !equal(b, Uint8Array.from(want, (c) => c.charCodeAt(0))))
		fail('FORMAT', `not "${want}"`);
}

const latin = (b) => String.fromCharCode(...b);

function parseUserauth(raw) {
	const r = new SshReader(raw);
	const sessionId = r.string(SID_MAX);
	if (sessionId.length === 0)
		fail('FORMAT', 'an empty session id');
	if (r.u8() !== USERAUTH_REQUEST)
		fail('FORMAT', 'not SSH_MSG_USERAUTH_REQUEST');
	const userBytes = cstring(r, USER_MAX);
	expect(r, 'ssh-connection');
	const method = latin(cstring(r, METHOD_MAX));
	let hostbound;
	if (method === 'publickey')
		hostbound = false;
	else if (method === HOSTBOUND)
		hostbound = true;
	else
		fail('FORMAT', 'not a publickey method');
	if (r.u8() !== 1)
		fail('FORMAT', 'no signature in the request');
	const algorithmBytes = cstring(r, ALG_MAX);
	const keyBlob = r.string(KEY_MAX);
	const hostKey = hostbound ? r.string(KEY_MAX) : null;
	if (keyBlob.length === 0 || (hostbound && hostKey.length === 0))
		fail('FORMAT', 'an empty key blob');
	r.end();
	return {
		kind: 'login',
		sessionId: sessionId.slice(),
		user: textOf(userBytes),
		userBytes: userBytes.slice(),
		method,
		algorithm: textOf(algorithmBytes),
		algorithmBytes: algorithmBytes.slice(),
		keyBlob: keyBlob.slice(),
		hostKey: hostKey === null ? null : hostKey.slice(),
		hostbound,
	};
}

function parseSshsig(raw) {
	const r = new SshReader(raw);
	if (!equal(r.bytes(6), SSHSIG))
		fail('FORMAT', 'not SSHSIG');
	const ns = cstring(r, NS_MAX);
	if (ns.length === 0)
		fail('FORMAT', 'an empty namespace');
	const reserved = r.string(RESERVED_MAX);
	const hashAlg = latin(cstring(r, HASH_ALG_MAX));
	const hash = r.string(64);
	if (!((hashAlg === 'sha256' && hash.length === 32) ||
	    (hashAlg === 'sha512' && hash.length === 64)))
		fail('FORMAT', 'a hash algorithm other than sha256/sha512, or a hash of another length');
	r.end();
	return {
		kind: 'sshsig',
		namespace: textOf(ns),
		namespaceBytes: ns.slice(),
		reserved: reserved.slice(),
		hashAlg,
		hash: hash.slice(),
	};
}

// Classifies and parses; never throws for any bytes: what is neither an
// SSH login nor an SSHSIG, exactly, is { kind: 'other', length }.
export function parseData(raw) {
	if (!(raw instanceof Uint8Array))
		throw new TypeError('parseData() takes a Uint8Array');
	try {
		if (raw.length >= 6 && equal(raw.subarray(0, 6), SSHSIG))
			return parseSshsig(raw);
		return parseUserauth(raw);
	} catch (e) {
		if (!e.code)
			throw e;
		return { kind: 'other', length: raw.length };
	}
}

// The operation as the C phone's question names it (serve.c: the
// namespace as shown in its 300-byte buffer).
export function describe(parsed) {
	switch (parsed.kind) {
	case 'login':
		return 'SSH login';
	case 'sshsig':
		return `sign, namespace '${printable(parsed.namespace, 300)}' ` +
		    `(SSHSIG, hash ${parsed.hashAlg})`;
	default:
		return `signature of other data (${parsed.length} bytes)`;
	}
}
