// Shared by sshmsg.test.js, hostkey.test.js and hostcheck.test.js: the C
// side (test/web/codec_peer's sshmsg, printable, pinname and hostcheck
// kinds, SKP_CODEC_PEER), the sshmsg seed corpus (test/fuzz/corpus/sshmsg,
// test/fuzz/fuzz_sshmsg.c's input format) and mutants of it by a PRNG with
// a fixed seed, so that a failure reproduces.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEER = process.env.SKP_CODEC_PEER ||
    fileURLToPath(new URL('../../build/test/web/codec_peer', import.meta.url));
export const CORPUS = process.env.SKP_FUZZ_CORPUS ||
    fileURLToPath(new URL('../../test/fuzz/corpus', import.meta.url));

export function seeds(name) {
	const dir = join(CORPUS, name);
	const files = readdirSync(dir).sort();
	assert.ok(files.length > 0, `no seeds in ${dir}`);
	return files.map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) }));
}

// One output line of codec_peer per input, for KIND.
export function cLines(kind, inputs) {
	if (!existsSync(PEER))
		throw new Error(`${PEER} is missing: build it first (meson compile -C build)`);
	const input = inputs.map((b) => `${kind} ${Buffer.from(b).toString('hex')}\n`).join('');
	const r = spawnSync(PEER, [], { input, maxBuffer: 256 << 20 });
	assert.equal(r.status, 0, 'codec_peer exits 0');
	const lines = r.stdout.toString().split('\n');
	lines.pop();
	assert.equal(lines.length, inputs.length);
	return lines;
}

export function prng(seed) {
	let x = seed >>> 0 || 1;
	return (n) => {
		x ^= x << 13; x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5; x >>>= 0;
		return x % n;
	};
}

const INTERESTING = [0, 1, 2, 0x20, 0x32, 0x7f, 0x80, 0xff];

// count inputs, each a seed with 1..3 changes: a bit flipped, a byte set,
// inserted or removed, or the tail of another seed spliced in. keep: how
// many leading bytes stay as they are (the fuzz input's mode byte).
export function mutants(list, count, seed, keep = 0) {
	const r = prng(seed);
	const out = [];
	for (let k = 0; k < count; k++) {
		let m = Array.from(list[r(list.length)]);
		const other = list[r(list.length)];
		for (let s = 1 + r(3); s > 0; s--) {
			const span = m.length - keep;
			const i = keep + (span > 0 ? r(span) : 0);
			switch (r(5)) {
			case 0: if (span > 0) m[i] ^= 1 << r(8); break;
			case 1: if (span > 0) m[i] = INTERESTING[r(INTERESTING.length)]; break;
			case 2: m.splice(i, 0, INTERESTING[r(INTERESTING.length)]); break;
			case 3: if (span > 0) m.splice(i, 1 + r(4)); break;
			default: m = m.slice(0, i).concat(Array.from(other.slice(keep + r(Math.max(1, other.length - keep)))));
			}
		}
		out.push(Uint8Array.from(m));
	}
	return out;
}

// test/fuzz/fuzz_sshmsg.c's host check input, after the mode byte (and
// the flags byte of mode 3): u16 host key length, host key, u16 signature
// length, signature, u8 name length, name, u16 port, the data. null when
// the harness would not run it (as codec_peer's "skip").
export function splitHostInput(b) {
	if (b.length < 1 || (b[0] % 4 !== 1 && b[0] % 4 !== 3))
		return null;
	const pinned = b[0] % 4 === 3;
	let off = 1;
	let flags = 0;
	if (pinned) {
		if (b.length < 2)
			return null;
		flags = b[1];
		off = 2;
	}
	const u16 = () => {
		if (b.length - off < 2)
			throw new RangeError();
		const v = (b[off] << 8) | b[off + 1];
		off += 2;
		return v;
	};
	const take = (n) => {
		if (b.length - off < n)
			throw new RangeError();
		const v = b.slice(off, off + n);
		off += n;
		return v;
	};
	try {
		const kl = u16();
		if (kl > 2048)
			return null;
		const hostKey = take(kl);
		const sl = u16();
		if (sl > 2048)
			return null;
		const signature = take(sl);
		const name = take(take(1)[0]);
		if (name.includes(0))
			return null;
		const port = u16();
		return { pinned, flags, hostKey, signature, name, port, data: b.slice(off) };
	} catch (e) {
		if (e instanceof RangeError)
			return null;
		throw e;
	}
}

// Real host keys made by ssh-keygen in a fresh folder, their signatures
// over a random session id made by python3-cryptography from the private
// key file: { keys: [{ kind, blob, fp (ssh-keygen -l's), sid, sigs: { name:
// blob } }], moduli: { prime, square } } (RSA moduli of 2048 bits that
// are a prime and the square of one, as bytes).
// sigs: 'good' (the key's algorithm; for RSA rsa-sha2-512), and for RSA
// 'rsa-sha2-256' and 'ssh-rsa' (SHA-1); for ECDSA 'der' (the signature in
// DER where SSH has mpint r, mpint s) and 'raw' (r || s, fixed length).
// Last, kind 'rsa-big-e': the RSA key's primes with e of 65 bits, 'good'
// an rsa-sha2-256 signature (fp empty: not from ssh-keygen).
const KEYGEN_PY = String.raw`
import base64, json, os, subprocess, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
d = sys.argv[1]
def s(b): return len(b).to_bytes(4, 'big') + b
def mpint(x):
    b = x.to_bytes((x.bit_length() + 8) // 8, 'big')
    return s(b)
out = []
for kind, args in [('ed25519', ['-t', 'ed25519']), ('ecdsa256', ['-t', 'ecdsa', '-b', '256']),
                   ('ecdsa384', ['-t', 'ecdsa', '-b', '384']), ('ecdsa521', ['-t', 'ecdsa', '-b', '521']),
                   ('rsa', ['-t', 'rsa', '-b', '2048'])]:
    f = os.path.join(d, kind)
    subprocess.run(['ssh-keygen', '-q', '-N', '', '-C', 'test', '-f', f] + args, check=True)
    blob = base64.b64decode(open(f + '.pub').read().split()[1])
    fp = subprocess.run(['ssh-keygen', '-l', '-E', 'sha256', '-f', f + '.pub'], check=True,
                        capture_output=True, text=True).stdout.split()[1]
    k = serialization.load_ssh_private_key(open(f, 'rb').read(), None)
    sid = os.urandom(64 if kind == 'ecdsa521' else 32)
    sigs = {}
    if kind == 'ed25519':
        sigs['good'] = s(b'ssh-ed25519') + s(k.sign(sid))
    elif kind.startswith('ecdsa'):
        bits = kind[5:]
        h = {'256': hashes.SHA256(), '384': hashes.SHA384(), '521': hashes.SHA512()}[bits]
        name = b'ecdsa-sha2-nistp' + bits.encode()
        der = k.sign(sid, ec.ECDSA(h))
        r, ss = decode_dss_signature(der)
        n = {'256': 32, '384': 48, '521': 66}[bits]
        sigs['good'] = s(name) + s(mpint(r) + mpint(ss))
        sigs['der'] = s(name) + s(der)
        sigs['raw'] = s(name) + s(r.to_bytes(n, 'big') + ss.to_bytes(n, 'big'))
    else:
        for alg, h in [('rsa-sha2-512', hashes.SHA512()), ('rsa-sha2-256', hashes.SHA256()),
                       ('ssh-rsa', hashes.SHA1())]:
            sigs['good' if alg == 'rsa-sha2-512' else alg] = s(alg.encode()) + s(k.sign(sid, padding.PKCS1v15(), h))
    out.append({'kind': kind, 'blob': blob.hex(), 'fp': fp, 'sid': sid.hex(),
                'sigs': {a: b.hex() for a, b in sigs.items()}})
# An RSA host key with a public exponent of 65 bits (OpenSSL and OpenSSH
# take it; Chromium's WebCrypto will not import it), signed by hand with
# rsa-sha2-256 (RFC 8017 EMSA-PKCS1-v1_5).
import hashlib, math
nums = k.private_numbers()
p, q = nums.p, nums.q
phi = (p - 1) * (q - 1)
e = (1 << 64) + 1
while math.gcd(e, phi) != 1:
    e += 2
d = pow(e, -1, phi)
n = p * q
klen = (n.bit_length() + 7) // 8
sid = os.urandom(32)
t = bytes.fromhex('3031300d060960864801650304020105000420') + hashlib.sha256(sid).digest()
em = b'\x00\x01' + b'\xff' * (klen - len(t) - 3) + b'\x00' + t
sig = pow(int.from_bytes(em, 'big'), d, n).to_bytes(klen, 'big')
out.append({'kind': 'rsa-big-e', 'blob': (s(b'ssh-rsa') + mpint(e) + mpint(n)).hex(), 'fp': '',
            'sid': sid.hex(), 'sigs': {'good': (s(b'rsa-sha2-256') + s(sig)).hex()}})
print(json.dumps(out))
`;

// RSA moduli OpenSSL's public key check refuses: a prime of 2048 bits and
// the square of one of 1024 (both of 2048 bits; found once with 40
// Miller-Rabin rounds).
const P2048 = BigInt('0x92d3611da3ea284d3bd0334684e55160320094ead7a94ded97491e2370c6a5b8' +
    '5387f61376c468aec7321cc007b37e14998092253deffa38e12b2b8f30b17d0b09208a650f3ebdd3102b' +
    '938b8743feb6d4ea65d003d716849f8558a628518867a66b0d389d95847ebd299753a767779673f778aa' +
    'f6fa5db8656abd72fb710734986e86cb0ab8ab67a26b7f62b1852f27e3eff9c0cf44dd3f89e7d15f1736' +
    '2f25244caf9c4dabb4817253edc6181879932fa91425cb0088539d2c67eda13ffe7979cb9e86830c71c2' +
    'cdcc69292f45e678309d6b79965eda32dae445508201e2bd73ab48767734d7c1c7fde805ec99108ddb5b' +
    '5fab8f4d3e27dda1494c73cf25cb');
const P1024 = BigInt('0xc035d30de7edd86756f547ab298a59f85e1ea97870a76e49fa60dbd6253290419fcdb9e1a94c56b9006d' +
    '2cc78ee58b063a46e6b099f916b1dd45af1cb0caae1c75d0dd66cf72f858a4b66f8c462804db7b87a9e2' +
    '5fefe911ff22a27b02c7bff261b339ff248174e5598b88dbaa99e07987751d4ca8501e2c44dcda6a797d' +
    '8379');
const bigBytes = (x) => Uint8Array.from(Buffer.from(x.toString(16).padStart(512, '0'), 'hex'));
const MODULI = { prime: bigBytes(P2048), square: bigBytes(P1024 * P1024) };

export function realKeys() {
	const dir = mkdtempSync(join(tmpdir(), 'skp-hostkey-'));
	try {
		const r = spawnSync('python3', ['-c', KEYGEN_PY, dir], { encoding: 'utf8' });
		assert.equal(r.status, 0, `ssh-keygen and python3-cryptography made the keys: ${r.stderr}`);
		const h = (x) => Uint8Array.from(Buffer.from(x, 'hex'));
		const keys = JSON.parse(r.stdout).map((k) => ({
			kind: k.kind, blob: h(k.blob), fp: k.fp, sid: h(k.sid),
			sigs: Object.fromEntries(Object.entries(k.sigs).map(([a, b]) => [a, h(b)])),
		}));
		return { keys, moduli: MODULI };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

// The fuzz harness's host check input (mode 1, or 3 with flags).
export function hostInput({ hostKey, signature, name, port, data, flags = null }) {
	const u16 = (n) => [n >> 8, n & 255];
	const nb = typeof name === 'string' ? Uint8Array.from(Buffer.from(name, 'latin1')) : name;
	return Uint8Array.from([
		...(flags === null ? [1] : [3, flags]),
		...u16(hostKey.length), ...hostKey, ...u16(signature.length), ...signature,
		nb.length, ...nb, ...u16(port), ...data]);
}
