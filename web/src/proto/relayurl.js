// The relay URL, docs/PROTOCOL.md §2.2: the one grammar every part takes
// (the behaviour of lib/relayurl.c, its refusals and its sentences).
//
//   relay-url = ("ws" / "wss") "://" host [":" port] [path]
//
// parseRelayUrl(s) returns { tls, host, ipv6, port, path } or throws
// SkpError FORMAT (TOO_LARGE over 255 bytes) whose message says which
// rule broke.

import { SkpError } from './err.js';

export const RELAYURL_MAX = 255;
export const RELAYURL_HOST_MAX = 253;
const LABEL_MAX = 63;

const isDigit = (c) => c >= '0' && c <= '9';
const isAlpha = (c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isHex = (c) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

function refuse(why, code = 'FORMAT') {
	const e = new SkpError(code, `relay URL: ${why}`);
	e.why = why;
	throw e;
}

// 1-3 digits, 0-255, no leading zero: the number of characters, or 0.
function ipv4Part(s, i) {
	let n = 0, v = 0;
	while (i + n < s.length && n < 3 && isDigit(s[i + n])) {
		v = v * 10 + (s.charCodeAt(i + n) - 48);
		n++;
	}
	if (n === 0 || (n > 1 && s[i] === '0') || v > 255)
		return 0;
	return n;
}

export function isIpv4(s) {
	let i = 0;
	for (let k = 0; k < 4; k++) {
		if (k > 0) {
			if (i >= s.length || s[i] !== '.')
				return false;
			i++;
		}
		const used = ipv4Part(s, i);
		if (!used)
			return false;
		i += used;
	}
	return i === s.length;
}

// RFC 4291 §2.2 text (what inet_pton takes): up to 8 groups of 1-4 hex
// digits, one "::" at most, an IPv4 address in the last 32 bits.
export function isIpv6(s) {
	if (s.length === 0 || s.length > 45)
		return false;
	const dbl = s.indexOf('::');
	if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0)
		return false;
	const groups = (part) => (part === '' ? [] : part.split(':'));
	let head, tail;
	if (dbl >= 0) {
		head = groups(s.slice(0, dbl));
		tail = groups(s.slice(dbl + 2));
	} else {
		head = groups(s);
		tail = [];
	}
	const all = head.concat(tail);
	let words = 0;
	for (let i = 0; i < all.length; i++) {
		const g = all[i];
		const last = i === all.length - 1 && (dbl < 0 || tail.length > 0);
		if (last && g.includes('.')) {
			if (!isIpv4(g))
				return false;
			words += 2;
			continue;
		}
		if (g.length < 1 || g.length > 4 || ![...g].every(isHex))
			return false;
		words++;
	}
	return dbl >= 0 ? words <= 7 : words === 8;
}

function checkHost(h) {
	if (h.length === 0)
		refuse('the host is empty');
	if (h.length > RELAYURL_HOST_MAX)
		refuse('the host name is longer than 253 bytes');
	let start = 0, letters = false;
	for (let i = 0; i <= h.length; i++) {
		if (i < h.length && h[i] !== '.') {
			if (isAlpha(h[i]) || h[i] === '-')
				letters = true;
			else if (!isDigit(h[i]))
				refuse(h[i] === '@' ? 'user info (user@) is not allowed' :
				    'the host may hold only letters, digits, \'-\' and \'.\'');
			continue;
		}
		if (i === start || i - start > LABEL_MAX || h[start] === '-' ||
		    h[i - 1] === '-')
			refuse('each dot-separated part of the host must be 1-63 ' +
			    'letters, digits or \'-\', not starting or ending with \'-\'');
		start = i + 1;
	}
	if (!letters && !isIpv4(h))
		refuse('a numeric host must be an IPv4 address a.b.c.d ' +
		    '(0-255, no leading zeros)');
}

function checkIpv6(h) {
	for (const c of h)
		if (!isHex(c) && c !== ':' && c !== '.')
			refuse('the IPv6 address in [] is not valid');
	if (!isIpv6(h))
		refuse('the IPv6 address in [] is not valid');
}

const PORT_WHY = 'the port must be 1-65535, written without leading zeros';

function parsePort(p) {
	if (p.length === 0 || p.length > 5 || p[0] === '0' || ![...p].every(isDigit))
		refuse(PORT_WHY);
	const v = Number(p);
	if (v > 65535)
		refuse(PORT_WHY);
	return v;
}

const PATH_OK = "-._~!$&'()*+,;=:@/";

function checkPath(p) {
	for (let i = 0; i < p.length; i++) {
		const c = p[i];
		if (c === '%') {
			if (p.length - i < 3 || !isHex(p[i + 1]) || !isHex(p[i + 2]))
				refuse('a \'%\' in the path must be followed by two hex digits');
			i += 2;
			continue;
		}
		if (c === '?' || c === '#')
			refuse('a relay URL has no query (\'?\') or fragment (\'#\')');
		if (!isAlpha(c) && !isDigit(c) && !PATH_OK.includes(c))
			refuse('the path holds a character that must be percent-encoded');
	}
}

export function parseRelayUrl(s) {
	if (typeof s !== 'string')
		refuse('no relay URL');
	if (new TextEncoder().encode(s).length > RELAYURL_MAX)
		refuse('a relay URL is at most 255 bytes', 'TOO_LARGE');
	const n = s.length;
	let tls = false, i;
	if (n > 6 && s.startsWith('wss://')) {
		tls = true;
		i = 6;
	} else if (n > 5 && s.startsWith('ws://')) {
		i = 5;
	} else {
		refuse('a relay URL starts with ws:// or wss:// (lower case)');
	}
	let port = tls ? 443 : 80, host, ipv6 = false;
	if (s[i] === '[') {
		const h0 = i + 1;
		for (i++; i < n && s[i] !== ']'; i++)
			;
		if (i === n)
			refuse('the IPv6 address has no closing \']\'');
		host = s.slice(h0, i);
		checkIpv6(host);
		ipv6 = true;
		i++;
	} else {
		const h0 = i;
		for (; i < n && !':/?#'.includes(s[i]); i++)
			;
		host = s.slice(h0, i);
		checkHost(host);
	}
	if (i < n && s[i] === ':') {
		const p0 = ++i;
		for (; i < n && !'/?#'.includes(s[i]); i++)
			;
		port = parsePort(s.slice(p0, i));
	}
	if (i < n && s[i] !== '/')
		refuse(s[i] === '?' || s[i] === '#' ?
		    'a relay URL has no query (\'?\') or fragment (\'#\')' :
		    'after the host comes \':port\', \'/path\' or the end');
	checkPath(s.slice(i));
	return { tls, host, ipv6, port, path: i === n ? '/' : s.slice(i) };
}
