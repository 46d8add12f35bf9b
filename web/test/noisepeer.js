// test/noise's noise_peer (lib/noise.c) driven line by line, for the tests
// that run one side of a handshake in C: `ok(cmd, arg)` sends a command
// (bytes as hex) and gives its answer's bytes, or throws with the C error
// code in `rc`. SKP_NOISE_PEER (set by meson) names it; else build/'s.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../src/proto/bytes.js';

const PEER = process.env.SKP_NOISE_PEER ||
    fileURLToPath(new URL('../../build/test/noise/noise_peer', import.meta.url));

export function peer() {
	const p = spawn(PEER, ['peer'], { stdio: ['pipe', 'pipe', 'inherit'] });
	const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
	return {
		async ok(cmd, arg = '') {
			p.stdin.write(`${cmd} ${arg instanceof Uint8Array ? toHex(arg) : arg}\n`);
			const { value } = await lines.next();
			const f = value.trim().split(/\s+/);
			if (f[0] !== 'ok')
				throw Object.assign(new Error(`noise_peer ${cmd}: ${value}`), { rc: Number(f[1]) });
			return f[1] ? fromHex(f[1]) : new Uint8Array(0);
		},
		close() {
			p.stdin.end('quit\n');
		},
	};
}
