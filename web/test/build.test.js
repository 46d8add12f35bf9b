// The web phone's build (web/build.mjs) and its service worker (src/sw.js):
// what the relay serves at "/" (issue 11; no section of docs/PROTOCOL.md).
// The page must obey the relay's CSP (cmd/sk-phone-relay/web.c: no inline
// script or style, same-origin files only), name only files the build made,
// and carry the manifest and icons that make it installable; the service
// worker must cache exactly the shell, prefer the network, start offline
// from its cache, and be a new file (so the browser updates it) whenever the
// shell changes. The test-hook names of /work/notes/web-api.md §6 must be in
// the screens. SKP_WEB_BUNDLE (set by meson) is the bundle meson built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync,
    symlinkSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'skp-webbuild-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function build(src, out, depfile) {
	const args = [join(src, 'build.mjs'), out];
	if (depfile)
		args.push('--depfile', depfile);
	return execFileSync(process.execPath, args, { cwd: tmp, encoding: 'utf8',
	    stdio: ['ignore', 'pipe', 'pipe'] });
}

function files(dir, prefix = '') {
	const out = [];
	for (const e of readdirSync(dir, { withFileTypes: true })) {
		if (e.isDirectory())
			out.push(...files(join(dir, e.name), prefix + e.name + '/'));
		else
			out.push(prefix + e.name);
	}
	return out.sort();
}

// SKP_SHELL and SKP_VERSION as build.mjs put them into sw.js.
function swDefines(swText) {
	const shell = /^const SKP_SHELL = (\[.*\]);$/m.exec(swText);
	const ver = /^const SKP_VERSION = "([0-9a-f]+)";$/m.exec(swText);
	assert.ok(shell, 'the shell list is in sw.js');
	assert.ok(ver, 'the version is in sw.js');
	return { shell: JSON.parse(shell[1]), version: ver[1] };
}

const out = join(tmp, 'out');
const dep = join(tmp, 'out.d');
const log = build(web, out, dep);

test('the build has the page, its script and worker, style, manifest, icons', () => {
	const got = files(out);
	for (const f of ['index.html', 'app.js', 'sw.js', 'style.css', 'manifest.webmanifest',
	    'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png'])
		assert.ok(got.includes(f), `${f} is built (${got.join(' ')})`);
	assert.match(log, /shell [0-9a-f]{16}/);
});

test('the page has no inline script, style or handler (the relay\'s CSP)', () => {
	const html = readFileSync(join(out, 'index.html'), 'utf8');
	const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
	assert.ok(scripts.length >= 1);
	for (const [, attrs, body] of scripts) {
		assert.match(attrs, /\bsrc="[^"]+"/, 'a script is a file');
		assert.equal(body.trim(), '', 'no inline script');
	}
	assert.doesNotMatch(html, /<style\b/i);
	assert.doesNotMatch(html, /\sstyle\s*=/i);
	assert.doesNotMatch(html, /\son[a-z]+\s*=/i);
	assert.doesNotMatch(html, /=\s*"javascript:/i);
	// every file the page names is in the build, and none is elsewhere
	const built = new Set(files(out));
	for (const [, ref] of html.matchAll(/\s(?:src|href)="([^"#]+)"/g)) {
		assert.doesNotMatch(ref, /^[a-z]+:|^\/\//i, `${ref} is on this origin`);
		assert.ok(built.has(ref), `${ref} is built`);
	}
	// and the screens set no style attribute either
	for (const f of files(join(web, 'src', 'ui')))
		assert.doesNotMatch(readFileSync(join(web, 'src', 'ui', f), 'utf8'),
		    /\.style\b|setAttribute\(\s*'style'|innerHTML|insertAdjacentHTML|\beval\(/,
		    `${f}: no inline style, no markup from strings`);
});

function pngSize(p) {
	const b = readFileSync(p);
	assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${p} is a PNG`);
	return `${b.readUInt32BE(16)}x${b.readUInt32BE(20)}`;
}

test('the manifest makes it installable: standalone, its icons at their sizes', () => {
	const m = JSON.parse(readFileSync(join(out, 'manifest.webmanifest'), 'utf8'));
	assert.equal(m.display, 'standalone');
	assert.equal(m.start_url, './');
	assert.ok(m.name && m.short_name);
	const sizes = new Set();
	for (const i of m.icons) {
		assert.ok(existsSync(join(out, i.src)), `${i.src} is built`);
		if (i.type === 'image/png') {
			assert.equal(pngSize(join(out, i.src)), i.sizes, i.src);
			sizes.add(i.sizes);
		} else {
			assert.equal(i.type, 'image/svg+xml');
			assert.match(readFileSync(join(out, i.src), 'utf8'), /^<svg\b/);
		}
	}
	assert.ok(sizes.has('192x192') && sizes.has('512x512'));
});

test('the service worker caches exactly the shell, and a change is a new worker', () => {
	const sw = readFileSync(join(out, 'sw.js'), 'utf8');
	const { shell, version } = swDefines(sw);
	const want = ['./', ...files(out).filter((f) => f !== 'sw.js' && f !== 'index.html')
	    .map((f) => './' + f)];
	assert.deepEqual([...shell].sort(), want.sort());
	assert.match(version, /^[0-9a-f]{16}$/);

	// The same sources again: the same worker, byte for byte.
	const again = join(tmp, 'again');
	build(web, again);
	assert.equal(readFileSync(join(again, 'sw.js'), 'utf8'), sw);

	// A copy of web/ with one changed byte of style: another version.
	const src = join(tmp, 'src');
	for (const f of ['build.mjs', 'index.html', 'style.css', 'manifest.webmanifest',
	    'icons', 'src', 'package.json'])
		cpSync(join(web, f), join(src, f), { recursive: true });
	symlinkSync(join(web, 'node_modules'), join(src, 'node_modules'));
	appendFileSync(join(src, 'style.css'), '\n');
	const changed = join(tmp, 'changed');
	build(src, changed);
	assert.notEqual(swDefines(readFileSync(join(changed, 'sw.js'), 'utf8')).version, version);
});

test('the depfile names the sources, so that ninja builds again', () => {
	const d = readFileSync(dep, 'utf8');
	assert.ok(d.startsWith(out + ':'), d.slice(0, 80));
	for (const f of ['build.mjs', 'index.html', 'style.css', 'src/main.js', 'src/sw.js',
	    'src/ui/app.js', 'src/ui/request.js', 'icons/icon-512.png'])
		assert.ok(d.includes(join(web, f)), `${f} in the depfile`);
});

// A service worker with fakes of what it touches: self, caches, fetch.
function loadWorker(swText, net) {
	const listeners = {};
	const stores = new Map();
	const caches = {
		async open(name) {
			if (!stores.has(name))
				stores.set(name, new Map());
			const m = stores.get(name);
			return {
				async addAll(reqs) {
					for (const r of reqs)
						m.set(r.url, await net(r));
				},
				async put(key, res) { m.set(typeof key === 'string' ? key : key.url, res); },
				async match(key) { return m.get(typeof key === 'string' ? key : key.url); },
			};
		},
		async keys() { return [...stores.keys()]; },
		async delete(name) { return stores.delete(name); },
	};
	const self = {
		location: { href: 'http://127.0.0.1:8765/sw.js' },
		addEventListener: (t, f) => { listeners[t] = f; },
		skipWaiting: async () => {},
		clients: { claim: async () => {} },
	};
	const fetch = async (r) => net(r);
	new Function('self', 'caches', 'fetch', swText)(self, caches, fetch);
	async function fire(type, extra = {}) {
		const waits = [];
		let answer = null;
		listeners[type]({ ...extra, waitUntil: (p) => waits.push(p),
		    respondWith: (p) => { answer = p; } });
		await Promise.all(waits);
		return answer;
	}
	return { fire, stores };
}

test('the worker starts the page offline from its cache, and prefers the network', async () => {
	const sw = readFileSync(join(out, 'sw.js'), 'utf8');
	const { shell, version } = swDefines(sw);
	let online = true, served = 0;
	const net = async (r) => {
		if (!online)
			throw new TypeError('Failed to fetch');
		served++;
		return new Response('v1 ' + new URL(r.url).pathname, { status: 200 });
	};
	const w = loadWorker(sw, net);
	w.stores.set('sk-phone-shell-0000000000000000', new Map());	// an older build
	w.stores.set('other', new Map());				// not ours
	await w.fire('install');
	assert.equal(served, shell.length, 'install fetched the whole shell');
	await w.fire('activate');
	assert.deepEqual([...w.stores.keys()].sort(), ['other', 'sk-phone-shell-' + version]);

	const req = (path, mode = 'no-cors') => ({ request: { method: 'GET', mode,
	    url: 'http://127.0.0.1:8765' + path } });
	// online: the network's answer
	online = true;
	assert.equal(await (await w.fire('fetch', req('/app.js'))).text(), 'v1 /app.js');
	// offline: the page, with a pairing fragment, and its script, from the cache
	online = false;
	assert.equal(await (await w.fire('fetch', req('/#v=2&k=x', 'navigate'))).text(), 'v1 /');
	assert.equal(await (await w.fire('fetch', req('/app.js'))).text(), 'v1 /app.js');
	// the websocket's path, POSTs and unknown files are left to the browser
	assert.equal(await w.fire('fetch', req('/nope.js')), null);
	assert.equal(await w.fire('fetch', { request: { method: 'POST', mode: 'cors',
	    url: 'http://127.0.0.1:8765/app.js' } }), null);
});

const HOOKS = ['status', 'setup-name', 'setup-go', 'pair-uri', 'pair-go', 'pair-code',
	'pair-computer', 'pair-confirm', 'pair-decline', 'paired', 'request', 'allow-once',
	'allow-host', 'allow-window', 'reject', 'nav-computers', 'nav-keys', 'nav-hosts',
	'nav-log', 'nav-settings', 'nav-home', 'computer', 'computer-rename', 'computer-unpair',
	'key', 'key-delete', 'host', 'host-forget', 'log-line', 'pin-new', 'pin-old', 'pin-set',
	'pin-state', 'confirm-yes', 'confirm-no', 'notice'];

test('every test hook of web-api.md §6 is in the page or its screens', () => {
	let text = readFileSync(join(web, 'index.html'), 'utf8');
	for (const f of files(join(web, 'src', 'ui')))
		text += readFileSync(join(web, 'src', 'ui', f), 'utf8');
	// written as data-test="x", test: 'x', or 'nav-' + name for the screens
	for (const k of HOOKS) {
		const nav = k.startsWith('nav-') && new RegExp(`\\b${k.slice(4)}: \\{ label`).test(text);
		assert.ok(text.includes(`data-test="${k}"`) || text.includes(`test: '${k}'`) || nav,
		    `data-test ${k}`);
	}
});

test('the bundle meson built is this build', { skip: !process.env.SKP_WEB_BUNDLE &&
    'run by meson (SKP_WEB_BUNDLE)' }, () => {
	const b = process.env.SKP_WEB_BUNDLE;
	assert.ok(existsSync(join(b, 'index.html')), `meson built no web phone in ${b}: ` +
	    'run sh scripts/web-deps.sh, then meson setup --reconfigure BUILD');
	assert.deepEqual(files(b), files(out));
	assert.equal(readFileSync(join(b, 'index.html'), 'utf8'),
	    readFileSync(join(out, 'index.html'), 'utf8'));
});
