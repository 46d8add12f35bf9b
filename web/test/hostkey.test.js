// SSH host keys (web/src/phone/hostkey.js, PROTOCOL.md §9.5) with real
// keys: ssh-keygen makes ed25519, ecdsa 256/384/521 and rsa 2048 host keys,
// python3-cryptography signs a session id with each (and with the RSA
// key's primes and a 65-bit public exponent). The JS verifier
// accepts them, refuses a tampered signature, another session id, DER or
// raw r||s where SSH has mpints, an algorithm that does not go with the key
// and ssh-rsa (SHA-1, UNSUPPORTED), with the same codes as lib/hostkey.c
// (through codec_peer); the fingerprint is ssh-keygen -l's; RSA moduli
// OpenSSL refuses (even, a factor up to 751, a prime, a prime's square)
// are refused alike; the pin name is skp_hostinfo_pin_name's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHostKey, verifyHostSignature, fingerprint, pinName,
    rsaVerifyBigForTest } from '../src/phone/hostkey.js';
import { CODES } from '../src/proto/err.js';
import { concat, toHex } from '../src/proto/bytes.js';
import { cLines, realKeys, hostInput, prng } from './hostpeer.js';

const { keys: KEYS, moduli: MODULI } = realKeys();

async function rc(p) {
	try {
		await p();
		return 0;
	} catch (e) {
		if (!e.code)
			throw e;
		return CODES[e.code];
	}
}

const flip = (b, i, bit = 1) => {
	const c = b.slice();
	c[(i + c.length) % c.length] ^= bit;
	return c;
};

function sstr(b) {
	return concat([b.length >>> 24, (b.length >> 16) & 255, (b.length >> 8) & 255, b.length & 255], b);
}
const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// skp_hostkey_check's and skp_hostkey_verify's codes from C, for key, sig,
// data (through the hostcheck kind: data that is not a login is verified
// as it is).
function cCodes(cases) {
	const lines = cLines('hostcheck', cases.map(([key, sig, data]) =>
	    hostInput({ hostKey: key, signature: sig, name: 'h', port: 22, data })));
	return lines.map((l) => {
		const f = l.split('\t');
		return { check: Number(f[0]), type: f[1], verify: Number(f[2]), fp: f[3] };
	});
}

test('Ed25519 is in this node\'s WebCrypto (the web phone needs it; Node 18.4+ has it)', async () => {
	const k = await crypto.subtle.importKey('raw', new Uint8Array(32).fill(9), { name: 'Ed25519' },
	    false, ['verify']).catch((e) => assert.fail(`node ${process.version} has no Ed25519 ` +
	    `in WebCrypto (${e.message}): ssh-ed25519 hosts cannot be verified with it`));
	assert.equal(k.algorithm.name, 'Ed25519');
});

test('real host keys: type, fingerprint as ssh-keygen -l, the signature over the session id', async () => {
	const cases = [];
	const want = [];
	for (const k of KEYS) {
		const type = k.kind === 'ed25519' ? 'ssh-ed25519' : k.kind.startsWith('rsa') ? 'ssh-rsa' :
		    `ecdsa-sha2-nistp${k.kind.slice(5)}`;
		assert.deepEqual(checkHostKey(k.blob), { type });
		if (k.kind !== 'rsa-big-e')
			assert.equal(await fingerprint(k.blob), k.fp);
		const good = k.sigs.good;
		const add = (what, sig, sid, code) => {
			cases.push([k.blob, sig, sid]);
			want.push([`${k.kind} ${what}`, code]);
		};
		add('good', good, k.sid, 0);
		add('tampered signature', flip(good, -1), k.sid, 'VERIFY');
		add('tampered signature (middle)', flip(good, -20, 0x10), k.sid, 'VERIFY');
		add('another session id', good, flip(k.sid, 0), 'VERIFY');
		add('session id cut', good, k.sid.subarray(1), 'VERIFY');
		if (k.kind.startsWith('ecdsa')) {
			add('DER where SSH has mpints', k.sigs.der, k.sid, 'FORMAT');
			add('raw r||s where SSH has mpints', k.sigs.raw, k.sid, 'FORMAT');
			// the curve named in the signature is another
			const other = k.kind === 'ecdsa256' ? 'ecdsa-sha2-nistp384' : 'ecdsa-sha2-nistp256';
			const body = good.subarray(4 + good[3]);
			add('another curve\'s algorithm', concat(sstr(ascii(other)), body), k.sid, 'VERIFY');
		}
		if (k.kind === 'rsa') {
			add('rsa-sha2-256', k.sigs['rsa-sha2-256'], k.sid, 0);
			add('ssh-rsa (SHA-1)', k.sigs['ssh-rsa'], k.sid, 'UNSUPPORTED');
			// rsa-sha2-512's bytes named rsa-sha2-256
			const body = good.subarray(4 + good[3]);
			add('rsa-sha2-512 named rsa-sha2-256', concat(sstr(ascii('rsa-sha2-256')), body),
			    k.sid, 'VERIFY');
		}
		// an Ed25519 signature for this key (or an ECDSA one for Ed25519)
		const ed = KEYS.find((x) => x.kind === 'ed25519').sigs.good;
		const ec = KEYS.find((x) => x.kind === 'ecdsa256').sigs.good;
		add('another algorithm', k.kind === 'ed25519' ? ec : ed, k.sid, 'VERIFY');
		add('trailing byte', concat(good, [0]), k.sid, 'FORMAT');
		add('cut', good.subarray(0, good.length - 1), k.sid, 'FORMAT');
	}
	const c = cCodes(cases);
	for (let i = 0; i < cases.length; i++) {
		const [what, code] = want[i];
		const js = await rc(() => verifyHostSignature(...cases[i]));
		const expect = code === 0 ? 0 : CODES[code];
		assert.equal(js, expect, `JS: ${what}`);
		assert.equal(c[i].verify, expect, `C: ${what}`);
		assert.equal(c[i].check, 0, `C checks the key: ${what}`);
		assert.equal(c[i].fp, await fingerprint(cases[i][0]));
	}
});

test('host key blobs: the refusals of skp_hostkey_check, code for code with C', async () => {
	const rsa = KEYS.find((k) => k.kind === 'rsa');
	const r = new DataView(rsa.blob.buffer, rsa.blob.byteOffset);
	const eOff = 4 + 7;
	const eLen = r.getUint32(eOff);
	const e = rsa.blob.subarray(eOff + 4, eOff + 4 + eLen);
	const nOff = eOff + 4 + eLen;
	const n = rsa.blob.subarray(nOff + 4 + 1);	// without its zero byte
	const mp = (b) => sstr(b[0] & 0x80 ? concat([0], b) : b);
	const rsaBlob = (ee, nn) => concat(sstr(ascii('ssh-rsa')), mp(ee), mp(nn));
	const bigOf = (b) => BigInt('0x' + toHex(b));
	const bytesOf = (x) => {
		let h = x.toString(16);
		if (h.length % 2)
			h = '0' + h;
		return Uint8Array.from(Buffer.from(h, 'hex'));
	};
	const nb = bigOf(n);
	const ed = KEYS.find((k) => k.kind === 'ed25519').blob;
	const p256 = KEYS.find((k) => k.kind === 'ecdsa256').blob;
	const p521 = KEYS.find((k) => k.kind === 'ecdsa521').blob;
	for (const m of [MODULI.prime, MODULI.square])
		assert.ok(m.length === 256 && m[0] >= 0x80, 'a modulus of 2048 bits');
	const cases = [
		['rsa as made', rsa.blob, 0],
		['rsa n even', rsaBlob(e, bytesOf(nb + 1n)), 'CRYPTO'],
		['rsa n = 3·m', rsaBlob(e, bytesOf((nb / 3n) * 3n)), null],
		['rsa n a prime', rsaBlob(e, MODULI.prime), 'CRYPTO'],
		['rsa n a prime\'s square', rsaBlob(e, MODULI.square), 'CRYPTO'],
		['rsa n of 2047 bits', rsaBlob(e, bytesOf(nb >> 1n | 1n)), 'CRYPTO'],
		['rsa e even', rsaBlob(Uint8Array.of(1, 0, 0), n), 'CRYPTO'],
		['rsa e 1', rsaBlob(Uint8Array.of(1), n), 'CRYPTO'],
		['rsa e 3', rsaBlob(Uint8Array.of(3), n), 0],
		['rsa e longer than n', rsaBlob(concat([1], n), n), 'CRYPTO'],
		['rsa e of 2001 bits', rsaBlob(bytesOf((1n << 2000n) + 1n), n), 0],
		['rsa e with a needless zero', concat(sstr(ascii('ssh-rsa')), sstr(Uint8Array.of(0, 1, 0, 1)), mp(n)), 'FORMAT'],
		['rsa e negative', concat(sstr(ascii('ssh-rsa')), sstr(Uint8Array.of(0x81)), mp(n)), 'FORMAT'],
		['rsa e zero', concat(sstr(ascii('ssh-rsa')), sstr(new Uint8Array(0)), mp(n)), 'FORMAT'],
		['rsa cut', rsa.blob.subarray(0, rsa.blob.length - 1), 'FORMAT'],
		['ed25519 trailing', concat(ed, [0]), 'FORMAT'],
		['ed25519 key of 31', concat(sstr(ascii('ssh-ed25519')), sstr(new Uint8Array(31))), 'FORMAT'],
		['ed25519 any 32 bytes', concat(sstr(ascii('ssh-ed25519')), sstr(new Uint8Array(32).fill(0xff))), 0],
		['ecdsa off the curve', flip(p256, -1), 'CRYPTO'],
		['ecdsa p521 off the curve', flip(p521, -1), 'CRYPTO'],
		['ecdsa x >= p', concat(p256.subarray(0, p256.length - 64), new Uint8Array(64).fill(0xff)), 'CRYPTO'],
		['ecdsa compressed', concat(p256.subarray(0, p256.length - 69), sstr(concat([2], p256.subarray(p256.length - 64, p256.length - 32)))), 'FORMAT'],
		['ecdsa another curve id', concat(sstr(ascii('ecdsa-sha2-nistp256')), sstr(ascii('nistp384')), p256.subarray(4 + 19 + 4 + 8)), 'FORMAT'],
		['ssh-dss', concat(sstr(ascii('ssh-dss')), sstr(new Uint8Array(20))), 'UNSUPPORTED'],
		['a certificate', concat(sstr(ascii('ssh-ed25519-cert-v01@openssh.com')), sstr(new Uint8Array(32))), 'UNSUPPORTED'],
		['a security key', concat(sstr(ascii('sk-ssh-ed25519@openssh.com')), sstr(new Uint8Array(32))), 'UNSUPPORTED'],
		['nistp224', concat(sstr(ascii('ecdsa-sha2-nistp224')), sstr(ascii('nistp224'))), 'UNSUPPORTED'],
		['empty', new Uint8Array(0), 'FORMAT'],
		['no type', Uint8Array.of(0, 0, 0, 65), 'FORMAT'],
	];
	const c = cCodes(cases.map(([, b]) => [b, Uint8Array.of(0, 0, 0, 1, 0x78, 0, 0, 0, 0), Uint8Array.of(1)]));
	cases.forEach(([what, blob, code], i) => {
		let js;
		try {
			checkHostKey(blob);
			js = 0;
		} catch (err) {
			if (!err.code)
				throw err;
			js = CODES[err.code];
		}
		assert.equal(js, c[i].check, `${what}: JS ${js}, C ${c[i].check}`);
		if (code !== null)
			assert.equal(js, code === 0 ? 0 : CODES[code], what);
	});
});

test('RSA in BigInt (for keys a browser will not import) answers as WebCrypto', async () => {
	const k = KEYS.find((x) => x.kind === 'rsa');
	const sigOf = (blob) => blob.subarray(4 + blob[3] + 4);
	const eLen = new DataView(k.blob.buffer, k.blob.byteOffset).getUint32(11);
	const e = k.blob.subarray(15, 15 + eLen);
	const n = k.blob.subarray(15 + eLen + 4 + 1);
	assert.equal(await rsaVerifyBigForTest(n, e, 'SHA-512', sigOf(k.sigs.good), k.sid), true);
	assert.equal(await rsaVerifyBigForTest(n, e, 'SHA-256', sigOf(k.sigs['rsa-sha2-256']), k.sid), true);
	assert.equal(await rsaVerifyBigForTest(n, e, 'SHA-256', sigOf(k.sigs.good), k.sid), false);
	assert.equal(await rsaVerifyBigForTest(n, e, 'SHA-512', flip(sigOf(k.sigs.good), 5), k.sid), false);
	assert.equal(await rsaVerifyBigForTest(n, e, 'SHA-512', sigOf(k.sigs.good), flip(k.sid, 3)), false);
});

test('pin names as skp_hostinfo_pin_name', () => {
	const hosts = ['db1', 'Prod.Example.COM', '127.0.0.1', '::1', 'fe80::1%eth0', 'a_b', '-x', 'x-',
	    '', 'a b', 'a]b', '[x]', 'h\u00e9', 'h/x', 'h@x', 'a'.repeat(255), 'A'.repeat(256), 'x,y'];
	const r = prng(0x9a1e);
	for (let i = 0; i < 200; i++) {
		let h = '';
		for (let j = 1 + r(12); j > 0; j--)
			h += 'aZ9._:%-[]@ \x7f/'[r(16)];
		hosts.push(h);
	}
	const ports = [0, 1, 22, 23, 2222, 65535];
	const inputs = [];
	for (const h of hosts)
		for (const p of ports)
			inputs.push([h, p]);
	const c = cLines('pinname', inputs.map(([h, p]) => concat([p >> 8, p & 255], Buffer.from(h, 'utf8'))));
	inputs.forEach(([h, p], i) => {
		const [code, name] = c[i].split('\t');
		const js = pinName(h, p);
		assert.equal(js === null ? 'refused' : js, code === '0' ? name : 'refused', `${JSON.stringify(h)} ${p}`);
	});
	assert.equal(pinName('Prod.Example.com', 2222), '[prod.example.com]:2222');
	assert.equal(pinName('DB1', 22), 'db1');
	assert.equal(pinName('db1', 65536), null);
});
