// Shared by sshmsg.test.js, hostkey.test.js and hostcheck.test.js: the C
// side (test/web/codec_peer's sshmsg, printable, pinname and hostcheck
// kinds, SKP_CODEC_PEER), the sshmsg seed corpus (test/fuzz/corpus/sshmsg,
// test/fuzz/fuzz_sshmsg.c's input format) and mutants of it by a PRNG with
// a fixed seed, so that a failure reproduces.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
