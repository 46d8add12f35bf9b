// What the phone is asked to sign (web/src/phone/sshmsg.js, PROTOCOL.md
// §8.5) against cmd/sk-phone-authenticator/sshmsg.c through codec_peer:
// the sshmsg seed corpus (the data of every seed, and of the host check
// seeds the login they carry), every prefix, byte substitutions and PRNG
// mutants parse to the same kind and fields, the strings shown byte for
// byte as skp_sshmsg_printable shows them (and cut as it cuts them); and
// the texts of describe().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseData, printable, describe, textOf, bytesOf } from '../src/phone/sshmsg.js';
import { toHex, concat, utf8 } from '../src/proto/bytes.js';
import { seeds, cLines, mutants, prng, splitHostInput } from './hostpeer.js';

function line(p) {
	switch (p.kind) {
	case 'login':
		return ['login', toHex(p.sessionId), printable(p.user), p.hostbound ? 1 : 0,
		    printable(p.algorithm), toHex(p.keyBlob),
		    p.hostKey === null ? '-' : toHex(p.hostKey)].join('\t');
	case 'sshsig':
		return ['sshsig', printable(p.namespace), toHex(p.reserved), p.hashAlg,
		    toHex(p.hash)].join('\t');
	default:
		return `other\t${p.length}`;
	}
}

// The data of each seed: mode 0's rest, and the data of the host checks.
function dataSeeds() {
	const out = [];
	for (const { bytes } of seeds('sshmsg')) {
		out.push(bytes.slice(1));
		const h = splitHostInput(bytes);
		if (h !== null)
			out.push(h.data);
	}
	return out;
}

function str(s) {
	const b = utf8(s);
	return concat([b.length >>> 24, (b.length >> 16) & 255, (b.length >> 8) & 255, b.length & 255], b);
}

function sb(b) {
	return concat([b.length >>> 24, (b.length >> 16) & 255, (b.length >> 8) & 255, b.length & 255], b);
}

test('sshmsg: the JS and C parsers agree on the corpus, its prefixes and mutants', () => {
	const base = dataSeeds();
	const inputs = base.slice();
	for (const b of base)
		for (let n = 0; n < b.length; n++)
			inputs.push(b.slice(0, n));
	const r = prng(0x55a1);
	for (const b of base.filter((x) => x.length < 700))
		for (let i = 0; i < b.length; i++) {
			const c = b.slice();
			c[i] = [0, 1, 0x32, 0x80, 0xff][r(5)];
			inputs.push(c);
		}
	inputs.push(...mutants(base, 4000, 0x5bb5));
	const c = cLines('sshmsg', inputs);
	const kinds = { login: 0, sshsig: 0, other: 0 };
	const diffs = [];
	inputs.forEach((b, i) => {
		const p = parseData(b);
		kinds[p.kind]++;
		const js = line(p);
		if (js !== c[i])
			diffs.push(`${toHex(b).slice(0, 200)}:\n C  ${c[i].slice(0, 200)}\n JS ${js.slice(0, 200)}`);
	});
	assert.deepEqual(diffs.slice(0, 3), [], `${diffs.length} of ${inputs.length} differ`);
	// the corpus reaches every kind, through hostbound and plain logins
	assert.ok(kinds.login > 50 && kinds.sshsig > 10 && kinds.other > 100, JSON.stringify(kinds));
});

test('sshmsg: a login and an SSHSIG, field by field', () => {
	const sid = new Uint8Array(32).fill(7);
	const key = utf8('KEYBLOB');
	const host = utf8('HOSTKEY');
	const base = [sb(sid), [50], str('ro\u00e9t'), str('ssh-connection')];
	const hb = parseData(concat(...base, str('publickey-hostbound-v00@openssh.com'), [1],
	    str('sk-ssh-ed25519@openssh.com'), sb(key), sb(host)));
	assert.equal(hb.kind, 'login');
	assert.deepEqual(hb.sessionId, sid);
	assert.equal(hb.user, 'ro\u00e9t');
	assert.equal(printable(hb.user), 'ro\\xc3\\xa9t');
	assert.equal(hb.method, 'publickey-hostbound-v00@openssh.com');
	assert.equal(hb.algorithm, 'sk-ssh-ed25519@openssh.com');
	assert.deepEqual(hb.keyBlob, key);
	assert.deepEqual(hb.hostKey, host);
	assert.equal(describe(hb), 'SSH login');
	const plain = parseData(concat(...base, str('publickey'), [1], str('a'), sb(key)));
	assert.equal(plain.hostKey, null);
	assert.equal(plain.hostbound, false);
	// what makes it other: a FALSE boolean, another method or service,
	// bytes after it, an empty key, a NUL in the user
	for (const bad of [
		concat(...base, str('publickey'), [0], str('a'), sb(key)),
		concat(...base, str('password'), [1], str('a'), sb(key)),
		concat(sb(sid), [50], str('root'), str('ssh-userauth'), str('publickey'), [1], str('a'), sb(key)),
		concat(...base, str('publickey'), [1], str('a'), sb(key), [0]),
		concat(...base, str('publickey'), [1], str('a'), sb(new Uint8Array(0))),
		concat(sb(sid), [50], sb(Uint8Array.of(0x72, 0, 0x74)), str('ssh-connection'),
		    str('publickey'), [1], str('a'), sb(key)),
		concat(sb(new Uint8Array(65)), [50], str('root'), str('ssh-connection'),
		    str('publickey'), [1], str('a'), sb(key)),
	]) {
		const p = parseData(bad);
		assert.deepEqual(p, { kind: 'other', length: bad.length });
		assert.equal(describe(p), `signature of other data (${bad.length} bytes)`);
	}
	// the caps: a user of 255 bytes, a session id of 64
	const capped = (user, sidLen) => parseData(concat(sb(new Uint8Array(sidLen).fill(1)), [50],
	    str(user), str('ssh-connection'), str('publickey'), [1], str('a'), sb(key))).kind;
	assert.equal(capped('u'.repeat(255), 64), 'login');
	assert.equal(capped('u'.repeat(256), 64), 'other');
	assert.equal(capped('u', 65), 'other');
	assert.equal(capped('u', 0), 'other');
	const sig = parseData(concat(utf8('SSHSIG'), str('file'), str(''), str('sha512'),
	    sb(new Uint8Array(64).fill(1))));
	assert.equal(sig.kind, 'sshsig');
	assert.equal(sig.namespace, 'file');
	assert.equal(sig.hashAlg, 'sha512');
	assert.equal(describe(sig), "sign, namespace 'file' (SSHSIG, hash sha512)");
	const q = parseData(concat(utf8('SSHSIG'), str('a"b\\c\n'), str(''), str('sha256'),
	    sb(new Uint8Array(32))));
	assert.equal(describe(q), "sign, namespace 'a\\x22b\\x5cc\\x0a' (SSHSIG, hash sha256)");
	// sha256 with 64 bytes is other
	assert.equal(parseData(concat(utf8('SSHSIG'), str('file'), str(''), str('sha256'),
	    sb(new Uint8Array(64)))).kind, 'other');
});

test('printable: byte for byte as skp_sshmsg_printable, cut as it cuts', () => {
	const r = prng(0x9e11);
	const inputs = [new Uint8Array(0)];
	for (let c = 1; c < 256; c++)
		inputs.push(Uint8Array.of(c), Uint8Array.of(0x41, c, 0x42));
	for (let k = 0; k < 600; k++) {
		const n = [1, 3, 4, 5, 60, 63, 64, 65, 74, 75, 76, 255, 296, 299, 300, 301, 1000][r(17)];
		const b = new Uint8Array(n);
		const printableOnly = r(3) === 0;
		for (let i = 0; i < n; i++)
			b[i] = printableOnly ? 0x20 + r(95) : 1 + r(255);
		inputs.push(b);
	}
	const sizes = [1 << 20, 300, 64, 5, 4, 1, 0];
	const c = cLines('printable', inputs);
	const diffs = [];
	inputs.forEach((b, i) => {
		const js = sizes.map((n) => printable(b, n)).join('\t');
		if (js !== c[i])
			diffs.push(`${toHex(b).slice(0, 80)}: C ${c[i].slice(0, 120)} JS ${js.slice(0, 120)}`);
		// the string form of the same bytes says the same
		assert.equal(printable(textOf(b)), printable(b));
	});
	assert.deepEqual(diffs.slice(0, 3), [], `${diffs.length} of ${inputs.length} differ`);
	assert.equal(printable('tab\there "q" \\ \u00e9'), 'tab\\x09here \\x22q\\x22 \\x5c \\xc3\\xa9');
	assert.equal(printable(new Uint8Array(0)), '');
});

test('textOf keeps every byte: bytesOf(textOf(b)) is b, valid UTF-8 decoded as it is', () => {
	const r = prng(0x7e57);
	for (let k = 0; k < 3000; k++) {
		const b = new Uint8Array(r(12));
		for (let i = 0; i < b.length; i++)
			b[i] = r(4) === 0 ? r(128) : 0x80 + r(128);
		assert.deepEqual(bytesOf(textOf(b)), b, toHex(b));
	}
	for (const s of ['root', 'r\u00e9sum\u00e9', '\u{1f511} key', '\u4e2d'])
		assert.equal(textOf(utf8(s)), s);
	// overlong, surrogate and cut sequences are bytes, not characters
	assert.equal(textOf(Uint8Array.of(0xc0, 0x80)), '\udcc0\udc80');
	assert.equal(textOf(Uint8Array.of(0xed, 0xa0, 0x80)), '\udced\udca0\udc80');
	assert.equal(textOf(Uint8Array.of(0xe2, 0x82)), '\udce2\udc82');
	assert.equal(printable(textOf(Uint8Array.of(0x61, 0xff))), 'a\\xff');
});
