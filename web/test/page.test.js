// The built page in real Chromium behind the real relay (issue 11: the
// page's shell, not the protocol; docs/PROTOCOL.md §2.1's web form is what
// serves it). Headless /usr/bin/chromium through playwright-core, a phone's
// screen with touch. What it shows: the page loads under the relay's strict
// CSP with no violation and no script error, and shows the first run (or,
// without a phone core, says why: never a blank page); nothing is wider
// than a 360 px screen; every control is a 48 px touch target with a name
// for screen readers; dark mode changes the colours; the service worker
// caches the shell, and with the relay gone a reload still starts the page
// from it and says "offline". Env: SKP_WEB_BUNDLE (meson's bundle),
// SKP_RELAY_BIN (sk-phone-relay), SKP_CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = process.env.SKP_WEB_BUNDLE;
const RELAY = process.env.SKP_RELAY_BIN;
const CHROMIUM = process.env.SKP_CHROMIUM || '/usr/bin/chromium';
const skip = !BUNDLE || !RELAY ? 'run by meson (SKP_WEB_BUNDLE, SKP_RELAY_BIN)' : false;

let browser = null, relay = null, base = null;

function freePort() {
	return new Promise((resolve, reject) => {
		const s = createServer();
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
		s.on('error', reject);
	});
}

async function startRelay(port) {
	const p = spawn(RELAY, ['--listen', `127.0.0.1:${port}`, '--web', BUNDLE],
	    { stdio: ['ignore', 'ignore', 'pipe'] });
	let err = '';
	p.stderr.on('data', (d) => { err += d; });
	for (let i = 0; i < 100; i++) {
		try {
			const r = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' });
			if (r.status === 200)
				return p;
		} catch (e) {
			// not listening yet
		}
		if (p.exitCode !== null)
			break;
		await new Promise((r) => setTimeout(r, 50));
	}
	p.kill();
	throw new Error(`the relay did not serve the page: ${err}`);
}

function stopRelay() {
	if (relay === null)
		return Promise.resolve();
	const p = relay;
	relay = null;
	return new Promise((resolve) => {
		p.on('exit', resolve);
		p.kill('SIGTERM');
	});
}

before(async () => {
	if (skip)
		return;
	assert.ok(existsSync(join(BUNDLE, 'index.html')), `no page in ${BUNDLE}: ` +
	    'run sh scripts/web-deps.sh, then meson setup --reconfigure BUILD');
	const { chromium } = createRequire(join(web, 'package.json'))('playwright-core');
	const port = await freePort();
	base = `http://127.0.0.1:${port}/`;
	relay = await startRelay(port);
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
	    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'] });
});

after(async () => {
	if (browser)
		await browser.close();
	await stopRelay();
});

// A phone of 360 x 740 with touch, the page opened, its complaints kept.
async function phone(colorScheme = 'light') {
	const ctx = await browser.newContext({ viewport: { width: 360, height: 740 },
	    deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme });
	const page = await ctx.newPage();
	const problems = [];
	page.on('pageerror', (e) => problems.push('error: ' + e.message));
	page.on('console', (m) => {
		// the relay's headers are read too: a Permissions-Policy feature
		// this Chromium does not know is reported on every load
		if (m.type() === 'error' ||
		    /Content Security Policy|Refused to|Permissions-Policy|Unrecognized feature/i
			.test(m.text()))
			problems.push(`console.${m.type()}: ${m.text()}`);
	});
	await page.goto(base, { waitUntil: 'load' });
	return { ctx, page, problems };
}

// What went wrong on the page, but the boot error's own report of why it
// did not start when that is the screen shown (a build without the core).
function unexpected(problems, first) {
	return problems.filter((p) => !(first === 'boot-error' &&
	    p.startsWith('console.error: sk-phone: the phone did not start:')));
}

// The first screen the page settles on: first run, or why it cannot start.
async function firstScreen(page) {
	await page.waitForSelector('[data-test="setup-name"], [data-test="boot-error"]',
	    { timeout: 15000 });
	return await page.locator('[data-test="setup-name"]').count() > 0 ? 'setup' : 'boot-error';
}

// Every visible control: its size and whether it has a name.
function controls(page) {
	return page.evaluate(() => {
		const out = [];
		for (const el of document.querySelectorAll('button, input, textarea, a[href]')) {
			const r = el.getBoundingClientRect();
			if (r.width === 0 || r.height === 0 || el.closest('[hidden]'))
				continue;
			const labelled = el.labels && el.labels.length > 0;
			const name = (el.getAttribute('aria-label') || el.textContent || '').trim();
			out.push({ what: el.outerHTML.slice(0, 80), w: r.width, h: r.height,
			    named: labelled || name !== '' });
		}
		return out;
	});
}

test('the page starts under the relay\'s CSP: no violation, no error, never blank',
    { skip }, async () => {
	const { ctx, page, problems } = await phone();
	const first = await firstScreen(page);
	if (first === 'boot-error')
		assert.match(await page.textContent('[data-test="boot-error"]'), /\S.*\S/);
	assert.deepEqual(unexpected(problems, first), []);
	// the headers it ran under are the relay's
	const r = await page.request.get(base);
	assert.match(r.headers()['content-security-policy'], /script-src 'self'; style-src 'self'/);
	await ctx.close();
});

async function checkScreen(page, what) {
	const width = await page.evaluate(() => document.documentElement.scrollWidth);
	assert.ok(width <= 360, `${what}: the page is ${width} px wide on a 360 px screen`);
	const cs = await controls(page);
	assert.ok(cs.length > 0, `${what}: controls are shown`);
	for (const c of cs) {
		if (c.what.startsWith('<a class="skip"'))
			continue;
		assert.ok(c.h >= 48 && c.w >= 48, `${what}: ${c.what}: ${c.w}x${c.h}, under 48 px`);
		assert.ok(c.named, `${what}: ${c.what}: no name for screen readers`);
	}
}

test('360 px wide: nothing overflows; controls are 48 px and named', { skip }, async () => {
	const { ctx, page, problems } = await phone();
	const first = await firstScreen(page);
	await checkScreen(page, first);
	if (first === 'setup') {
		// set up, then every screen of the navigation
		await page.fill('[data-test="setup-name"]', 'a phone with a rather long name');
		await page.tap('[data-test="setup-go"]');
		await page.waitForSelector('[data-test="nav-home"]', { state: 'visible', timeout: 15000 });
		for (const s of ['home', 'computers', 'keys', 'hosts', 'log', 'settings']) {
			await page.tap(`[data-test="nav-${s}"]`);
			await page.waitForSelector(`[data-test="nav-${s}"][aria-current="page"]`);
			await page.waitForSelector('main h1');
			await checkScreen(page, s);
		}
	}
	assert.deepEqual(unexpected(problems, first), []);
	await ctx.close();
});

test('dark mode has its own colours', { skip }, async () => {
	const colours = [];
	for (const scheme of ['light', 'dark']) {
		const { ctx, page } = await phone(scheme);
		await firstScreen(page);
		colours.push(await page.evaluate(() => [getComputedStyle(document.body).backgroundColor,
		    getComputedStyle(document.body).color]));
		await ctx.close();
	}
	assert.notDeepEqual(colours[0], colours[1]);
	assert.notEqual(colours[1][0], colours[1][1]);
});

test('the service worker keeps the shell: the page starts with the relay gone',
    { skip }, async () => {
	const { ctx, page } = await phone();
	const first = await firstScreen(page);
	const cached = await page.evaluate(async () => {
		const reg = await navigator.serviceWorker.ready;
		// ready resolves while the worker may still be 'activating'
		while (reg.active.state === 'activating')
			await new Promise((r) => reg.active.addEventListener('statechange', r, { once: true }));
		const names = await caches.keys();
		const c = await caches.open(names.find((n) => n.startsWith('sk-phone-shell-')));
		return { active: reg.active.state, urls: (await c.keys()).map((r) =>
		    new URL(r.url).pathname).sort() };
	});
	assert.equal(cached.active, 'activated');
	for (const p of ['/', '/app.js', '/style.css', '/manifest.webmanifest', '/icons/icon-192.png'])
		assert.ok(cached.urls.includes(p), `${p} cached (${cached.urls.join(' ')})`);
	await stopRelay();
	await page.reload({ waitUntil: 'load' });
	assert.equal(await firstScreen(page), first, 'the same first screen, offline');
	assert.notEqual(await page.textContent('[data-test="status"]'), 'online');
	await ctx.close();
});
