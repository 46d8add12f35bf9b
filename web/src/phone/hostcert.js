// OpenSSH host certificates on the web phone, docs/PROTOCOL.md §9.5.1
// (lib/hostcert.c: skp_hostcert_parse, skp_hostcert_verify_ca,
// skp_hostcert_check) and §8.5.1 step 4a's host patterns
// (skp_hostcert_pattern_match): the certificate parsed strictly, its CA's
// signature checked with hostkey.js's verifier, then its type, validity
// and principals for the host.

import { concat, equal } from '../proto/bytes.js';
import { fail } from '../proto/err.js';
import { checkHostKey, verifyHostSignature } from './hostkey.js';
import { SshReader } from './sshmsg.js';

export const CERT_MAX = 16384;
export const CERT_SUFFIX = '-cert-v01@openssh.com';
export const CERT_HOST = 2;
export const FOREVER = 0xffffffffffffffffn;
const NAMES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521', 'ssh-rsa'];
const dec = new TextDecoder();
const enc = new TextEncoder();

function sshString(b) {
	const n = b.length;
	return concat([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255], b);
}

// The name at the start of a key blob ('' when it has none).
export function blobName(blob) {
	try {
		return dec.decode(new SshReader(blob).string(64));
	} catch {
		return '';
	}
}

export function isCertificate(blob) {
	return blobName(blob).endsWith(CERT_SUFFIX);
}

function u64(r) {
	const hi = BigInt(r.u32()), lo = BigInt(r.u32());
	return (hi << 32n) | lo;
}

// A packed list of strings (principals), each 1..255 bytes, at most 256.
function principals(b) {
	const r = new SshReader(b), out = [];
	while (r.left() > 0) {
		const p = r.string(255);
		if (p.length === 0 || out.length === 256)
			fail('FORMAT', 'a certificate principal that is empty, or over 256 of them');
		out.push(dec.decode(p));
	}
	return out;
}

// A packed list of string name (1..256 bytes), string data.
function options(b) {
	const r = new SshReader(b), out = [];
	while (r.left() > 0) {
		const name = r.string(256);
		if (name.length === 0)
			fail('FORMAT', 'a certificate option without a name');
		r.string(4096);
		out.push(dec.decode(name));
	}
	return out;
}

// -> { name (plain type), key (the certified key's blob), type (1 user, 2
// host), keyId, principals, validAfter, validBefore (BigInt), critical
// (names), caKey, signature, signed (the bytes the CA signed) }. Throws
// UNSUPPORTED (a DSA or security key certificate), TOO_LARGE, FORMAT or
// CRYPTO (a certified key that is not valid).
export function parseCertificate(blob) {
	if (!(blob instanceof Uint8Array) || blob.length === 0)
		fail('FORMAT', 'no certificate');
	if (blob.length > CERT_MAX)
		fail('TOO_LARGE', 'a certificate over 16384 bytes');
	const r = new SshReader(blob);
	try {
		const full = dec.decode(r.string(64));
		if (!full.endsWith(CERT_SUFFIX))
			fail('FORMAT', 'not a certificate');
		const name = full.slice(0, -CERT_SUFFIX.length);
		if (!NAMES.includes(name))
			fail('UNSUPPORTED', 'a certificate of a key type the phone does not check');
		r.string(256);				// nonce
		const start = r.off;
		if (name === 'ssh-ed25519') {
			r.string(CERT_MAX);
		} else if (name === 'ssh-rsa') {
			r.string(CERT_MAX);		// e
			r.string(CERT_MAX);		// n
		} else {
			r.string(CERT_MAX);		// curve
			r.string(CERT_MAX);		// Q
		}
		const key = concat(sshString(enc.encode(name)), blob.subarray(start, r.off));
		u64(r);					// serial
		const type = r.u32();
		if (type !== 1 && type !== CERT_HOST)
			fail('FORMAT', 'a certificate type that is neither user nor host');
		const keyId = dec.decode(r.string(1024));
		const princ = principals(r.string(CERT_MAX));
		const validAfter = u64(r), validBefore = u64(r);
		const critical = options(r.string(4096));
		options(r.string(4096));		// extensions
		r.string(4096);				// reserved
		const caKey = r.string(CERT_MAX);
		if (caKey.length === 0 || isCertificate(caKey))
			fail('FORMAT', 'a certificate signed by a certificate, or by no key');
		const signed = blob.subarray(0, r.off);
		const signature = r.string(4096);
		if (signature.length === 0)
			fail('FORMAT', 'a certificate without a signature');
		if (r.left() !== 0)
			fail('FORMAT', 'bytes after the certificate');
		try {
			checkHostKey(key);
		} catch (e) {
			fail(e.code === 'CRYPTO' ? 'CRYPTO' : 'FORMAT', 'the certified key: ' + e.message);
		}
		return { name, key, type, keyId, principals: princ, validAfter, validBefore,
		    critical, caKey, signature, signed };
	} catch (e) {
		if (e.code === 'TRUNCATED' || e.code === 'TOO_LARGE' && blob.length <= CERT_MAX)
			fail('FORMAT', 'a malformed certificate: ' + e.message);
		throw e;
	}
}

// §8.5.1's host patterns, as known_hosts: a comma list, each element
// optionally negated with '!', '*' and '?' as wildcards, ASCII case
// ignored; some non-negated element matches and no negated one does.
export function patternOk(p) {
	if (typeof p !== 'string' || p.length === 0 || p.length > 255 ||
	    !/^[\x21-\x7e]+$/.test(p))
		return false;
	const els = p.split(',');
	return els.every((e) => e !== '' && e !== '!') && els.some((e) => e[0] !== '!');
}

function glob(pat, s) {
	let re = '^';
	for (const c of pat)
		re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
	return new RegExp(re + '$', 's').test(s);
}

export function patternMatch(p, name) {
	if (!patternOk(p) || typeof name !== 'string')
		return false;
	const n = name.toLowerCase();
	let yes = false;
	for (const e of p.toLowerCase().split(',')) {
		if (e[0] === '!') {
			if (glob(e.slice(1), n))
				return false;
		} else if (glob(e, n)) {
			yes = true;
		}
	}
	return yes;
}

function date(t) {
	if (t === FOREVER)
		return 'forever';
	const ms = Number(t) * 1000;
	if (!Number.isFinite(ms) || ms > 8.64e15)
		return 'forever';
	return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// A certificate of a CA the phone trusts, for host (the host name, lower
// case, no port) at now (unix seconds): null when it holds, else why not
// (§8.5.1 step 4a's reasons, the first that applies). caFp: the CA key's
// fingerprint.
export async function certificateProblem(cert, host, now, caFp) {
	const of = `the host certificate for ${host}`;
	try {
		await verifyHostSignature(cert.caKey, cert.signature, cert.signed);
	} catch (e) {
		if (!e.code)
			throw e;
		if (e.code === 'UNSUPPORTED' && blobName(cert.signature) === 'ssh-rsa')
			return `${of} is signed by its CA with ssh-rsa (SHA-1), which the phone ` +
			    'does not accept';
		return `${of} does not verify with the CA ${caFp}`;
	}
	if (cert.type !== CERT_HOST)
		return `the certificate ${host} presents is a user certificate, not a host certificate`;
	const t = BigInt(now);
	if (t < cert.validAfter)
		return `${of} is not yet valid (valid from ${date(cert.validAfter)}; check the ` +
		    'phone\'s clock)';
	if (t >= cert.validBefore)
		return `${of} has expired (valid until ${date(cert.validBefore)})`;
	if (cert.critical.length > 0)
		return `${of} has critical options, which no host certificate may have`;
	if (cert.principals.length === 0)
		return `${of} names no host (no principals)`;
	if (!cert.principals.some((p) => equal(enc.encode(p), enc.encode(host))))
		return `${of} is for other hosts (${host} is not among its principals)`;
	return null;
}
