// Shared by relay.test.js and controller.test.js: the real relay
// (cmd/sk-phone-relay) on 127.0.0.1 with a port of its choosing, the
// programs the tests run (their output kept), bounded waits. Paths from the
// meson test environment: SKP_RELAY_BIN, SKP_CLI (sk-phone),
// SKP_PHONE_COMPUTER (test/phone's phone_computer), SKP_PROVIDER (the
// OpenSSH provider, lib/libsk-phone.so); else the build folder.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD = fileURLToPath(new URL('../../build/', import.meta.url));
export const RELAY = process.env.SKP_RELAY_BIN || join(BUILD, 'cmd/sk-phone-relay/sk-phone-relay');
export const CLI = process.env.SKP_CLI || join(BUILD, 'cmd/sk-phone/sk-phone');
export const COMPUTER = process.env.SKP_PHONE_COMPUTER || join(BUILD, 'test/phone/phone_computer');
export const PROVIDER = process.env.SKP_PROVIDER || join(BUILD, 'lib/libsk-phone.so');
export const WAIT = 15000;

export async function until(what, f, ms = WAIT) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await f();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

// The next event of that type on an EventTarget: its detail.
export function nextEvent(target, type, ms = WAIT) {
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error(`no '${type}' event`)), ms);
		target.addEventListener(type, (e) => { clearTimeout(t); resolve(e.detail); }, { once: true });
	});
}

export class Kit {
	constructor() {
		this.tmp = mkdtempSync(join(tmpdir(), 'skp-webctl-'));
		this.procs = new Set();
		this.relay = null;
		this.port = 0;
		this.url = '';
	}

	env(extra = {}) {
		const keep = {};
		for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'])
			if (process.env[k] !== undefined)
				keep[k] = process.env[k];
		return { PATH: process.env.PATH, HOME: this.tmp, LANG: 'C.UTF-8', ...keep, ...extra };
	}

	// A process and its whole output; .done resolves with { code, out }.
	run(argv, opts = {}) {
		const p = spawn(argv[0], argv.slice(1), { env: this.env(opts.env),
		    stdio: ['ignore', 'pipe', 'pipe'] });
		this.procs.add(p);
		p.out = '';
		p.stdout.on('data', (d) => { p.out += d; });
		p.stderr.on('data', (d) => { p.out += d; });
		p.done = new Promise((resolve) => p.on('close', (code) => {
			this.procs.delete(p);
			resolve({ code, out: p.out });
		}));
		return p;
	}

	// The relay, on the port it had before (a restart) or a new one.
	// extra: more arguments (e.g. ['--web', DIR] to serve the page).
	async startRelay(extra = []) {
		this.relay = this.run([RELAY, '--listen', `127.0.0.1:${this.port}`, ...extra]);
		const m = await until('the relay to listen', () =>
		    this.relay.out.match(/listening on ws:\/\/127\.0\.0\.1:(\d+)/));
		this.port = Number(m[1]);
		this.url = `ws://127.0.0.1:${this.port}`;
	}

	async stopRelay() {
		this.relay.kill('SIGTERM');
		await this.relay.done;
	}

	// Every program but the relay.
	killOthers() {
		for (const p of this.procs)
			if (p !== this.relay)
				p.kill('SIGKILL');
	}

	close() {
		for (const p of this.procs)
			p.kill('SIGKILL');
		rmSync(this.tmp, { recursive: true, force: true });
	}
}
