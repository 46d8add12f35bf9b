// The web phone in real Chromium, for the tests (issue 11): Debian's
// /usr/bin/chromium driven by playwright-core, headless, each phone a
// fresh profile (its own browser context) with a phone's screen and touch.
// It drives the page only through the data-test hooks of
// /work/notes/web-api.md section 6 (the page's contract with the tests);
// the protocol it exercises is PROTOCOL.md's (section 8 on the phone).
//
//   node test/web/driver.mjs [--chromium PATH] [--web-root DIR]
//
// Commands: one JSON object a line on standard input, {"id": N, "cmd":
// NAME, ...}; each answered by one line on standard output, {"id": N,
// "ok": true, ...} or {"id": N, "ok": false, "error": TEXT}, in order.
// The first line out is {"ready": true, "chromium": VERSION}. Every wait
// is bounded ("timeout" in seconds, per command). The page's console and
// errors go to standard error, one line each, for the test's log.
// Commands (each takes "phone": a name, default "a", for several phones):
//   new                     a fresh profile and page (closes one of that name)
//   open {url}              load url afresh (a new profile when none yet)
//   setup {name}            first run: the phone's name
//   pair {uri?}             paste uri (else: the page opened from the QR's URL)
//                           -> {code, computer}
//   confirm / decline       the pairing -> {paired: text}
//   receive {uri}           a transfer (PROTOCOL.md 10): paste uri on the
//                           first-run screen -> {code, from, warning}
//   receive_confirm         confirm its code -> {received: text}; back home
//   request                 wait for a request card -> {op, hostState,
//                           computer, text, choices}
//   answer {choice}         once | host | window | reject; waits until that
//                           card is gone
//   set_pin {pin, old?}     settings -> {state}
//   reload                  reload the page; waits for it to be online
//   status {want?}          the online indicator's text (waits for want)
//   list {what, want?, gone?} computers | keys | hosts | log -> {rows}
//                           (waits for a row with want, or none with gone)
//   notices                 the notices' texts
//   export_keys             crypto.subtle.exportKey on every CryptoKey stored
//                           in the origin's IndexedDB -> {keys, private,
//                           exported, refused}
//   probe                   the context: viewport, devicePixelRatio, touch,
//                           secure context, crossOriginIsolated
//   eval {expr}             an expression's JSON value (to read, never to change)
//   frames                  the page's websocket frames since the last call
//                           ({t: seconds, dir: in|out, len}; the first call
//                           starts recording)
//   profile {start?}        {start: true} starts Chromium's sampling profiler
//                           on the page; {} stops it -> {top: [[function,
//                           self ms]...]}
//   screenshot {path}       a PNG of the page
//   close                   close that phone's profile
//   quit                    close Chromium and exit
// Web Push (issue 12; WEB-PHONE-NOTES.md 10-14):
//   grant {permissions, origin}  ctx.grantPermissions (e.g. ['notifications'])
//   push_stub {subscription: {endpoint, p256dh, auth}, origin}
//                           from the next load on, the origin's pages get
//                           PushManager.prototype.subscribe/getSubscription
//                           that give this subscription (headless Chromium
//                           has no push service: notes 10); what subscribe
//                           was given is window.skpTestPush
//   keep_tab                another tab (about:blank) in the profile with a
//                           CDP session on it (ServiceWorker domain), kept
//                           when the page closes -> {registrations}
//   close_page              close the page, keep the profile and its tab
//   deliver_push {origin, data}  CDP ServiceWorker.deliverPushMessage to the
//                           origin's registration: the push event, its
//                           data the text (decrypted by the test's push service)
//   notifications {origin, tag?, want?}  the origin's service worker's
//                           registration.getNotifications({tag}) -> {list:
//                           [{title, body, tag, data, actions}]} (waits for
//                           want of them, default 0)
//   notification_click {origin, tag, action}  the worker's
//                           self.skpNotificationClick(notification, action)
//                           on the notification with that tag; resolves
//                           when it does (a synthetic notificationclick
//                           cannot waitUntil: notes 14)

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));

function argValue(name, dflt) {
	const i = process.argv.indexOf(name);
	return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const CHROMIUM = argValue('--chromium', process.env.SKP_CHROMIUM || '/usr/bin/chromium');
const WEB_ROOT = argValue('--web-root', join(here, '..', '..', 'web'));

// playwright-core is web/'s dev dependency (npm ci in web/).
let chromium;
try {
	({ chromium } = createRequire(join(WEB_ROOT, 'package.json'))('playwright-core'));
} catch (e) {
	process.stderr.write(`driver: playwright-core is missing in ${WEB_ROOT}/node_modules: ` +
		`run sh scripts/web-deps.sh (npm ci), then the tests again\n`);
	process.exit(2);
}

// What a phone looks like (WEB-PHONE-NOTES.md 16).
const PHONE = {
	viewport: { width: 390, height: 844 },
	deviceScaleFactor: 3,
	isMobile: true,
	hasTouch: true,
	userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 ' +
		'(KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
};

const T = (name) => `[data-test="${name}"]`;
const CHOICE = { once: 'allow-once', host: 'allow-host', window: 'allow-window', reject: 'reject' };
const NAV = { computers: 'nav-computers', keys: 'nav-keys', hosts: 'nav-hosts', log: 'nav-log' };
const ROW = { computers: ['computer', 'data-name'], keys: ['key', 'data-rp'],
	hosts: ['host', 'data-name'], log: ['log-line', null] };

let browser;
const phones = new Map();	// name -> { ctx, page }

function log(line) {
	process.stderr.write(line.replace(/\n/g, ' | ') + '\n');
}

function ms(cmd, dflt) {
	const s = cmd.timeout === undefined ? dflt : Number(cmd.timeout);
	if (!(s > 0 && s <= 600))
		throw new Error(`timeout ${cmd.timeout}: want 0 < seconds <= 600`);
	return s * 1000;
}

async function newPhone(name) {
	await closePhone(name);
	const ctx = await browser.newContext(PHONE);
	const page = await ctx.newPage();
	watch(page, name);
	const p = { name, ctx, page, frames: null, tab: null, cdp: null, regs: new Map() };
	ctx.on('serviceworker', (w) => log(`phone ${name}: service worker ${w.url()}`));
	phones.set(name, p);
	return p;
}

// The page's websocket frames as Chromium timed them (CDP Network
// events, monotonic seconds): what the page received and sent, and when.
async function recordFrames(p) {
	if (p.frames)
		return;
	p.frames = [];
	const cdp = await p.ctx.newCDPSession(p.page);
	const note = (dir) => (e) => p.frames.push({ t: e.timestamp, dir,
		len: e.response.payloadData.length, op: e.response.opcode });
	cdp.on('Network.webSocketFrameReceived', note('in'));
	cdp.on('Network.webSocketFrameSent', note('out'));
	await cdp.send('Network.enable');
}

// The page of a phone: opened again after close_page.
async function pageOf(p) {
	if (p.page.isClosed()) {
		p.page = await p.ctx.newPage();
		watch(p.page, p.name);
	}
	return p.page;
}

function watch(page, name) {
	page.on('console', (m) => log(`page ${name} console.${m.type()}: ${m.text()}`));
	page.on('pageerror', (e) => log(`page ${name} error: ${e.message}`));
	page.on('crash', () => log(`page ${name} crashed`));
}

// Bound a promise that has no timeout of its own (a worker's evaluate).
function bounded(promise, t, what) {
	let timer;
	return Promise.race([promise, new Promise((_, bad) => {
		timer = setTimeout(() => bad(new Error(`${what}: no answer in ${t / 1000} s`)), t);
	})]).finally(() => clearTimeout(timer));
}

// The origin's service worker as playwright sees it: the running one, or
// the next to start, bounded.
async function workerOf(p, origin, t) {
	const mine = () => p.ctx.serviceWorkers().find((w) => w.url().startsWith(origin + '/'));
	const w = mine();
	if (w)
		return w;
	await p.ctx.waitForEvent('serviceworker', { predicate: (x) => x.url().startsWith(origin + '/'),
		timeout: t });
	return mine();
}

// Stands in for the browser's push service in the page (notes 10): a
// subscription that is the test push service's. Runs before the page's
// own scripts (addInitScript), in the origin's pages only.
function pushStub({ sub, origin }) {
	if (location.origin !== origin || typeof PushManager === 'undefined')
		return;
	const KEY = 'skp-test-push-subscribed';
	const bytes = (s) => {
		const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
		return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
	};
	const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
		.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
	const made = (options) => ({
		endpoint: sub.endpoint, expirationTime: null, options,
		getKey: (n) => (n === 'p256dh' ? bytes(sub.p256dh) : n === 'auth' ? bytes(sub.auth) : null),
		unsubscribe: async () => {
			localStorage.removeItem(KEY);
			window.skpTestPush.unsubscribed++;
			return true;
		},
		toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null,
			keys: { p256dh: sub.p256dh, auth: sub.auth } }),
	});
	window.skpTestPush = { subscribed: 0, unsubscribed: 0, applicationServerKey: null };
	PushManager.prototype.subscribe = async function (options) {
		const k = options && options.applicationServerKey;
		window.skpTestPush.applicationServerKey = k ? b64u(ArrayBuffer.isView(k) ?
			k.buffer.slice(k.byteOffset, k.byteOffset + k.byteLength) : k) : null;
		window.skpTestPush.subscribed++;
		localStorage.setItem(KEY, window.skpTestPush.applicationServerKey || '');
		return made(options);
	};
	PushManager.prototype.getSubscription = async function () {
		const k = localStorage.getItem(KEY);
		return k === null ? null : made({ userVisibleOnly: true,
			applicationServerKey: k ? bytes(k) : null });
	};
}

async function closePhone(name) {
	const p = phones.get(name);
	if (p) {
		phones.delete(name);
		await p.ctx.close().catch(() => {});
	}
}

function phoneOf(cmd) {
	const p = phones.get(cmd.phone || 'a');
	if (!p)
		throw new Error(`no phone '${cmd.phone || 'a'}': send new or open first`);
	return p;
}

async function text(loc) {
	return (await loc.innerText()).replace(/\s+/g, ' ').trim();
}

async function visible(page, name, timeout) {
	const loc = page.locator(T(name)).first();
	await loc.waitFor({ state: 'visible', timeout });
	return loc;
}

// Tap a control: a touch, as on a phone (pointerdown, touchstart, click).
async function tap(page, name, timeout) {
	const loc = await visible(page, name, timeout);
	await loc.tap({ timeout });
}

async function waitOnline(page, timeout) {
	await page.waitForFunction(
		(sel) => { const e = document.querySelector(sel); return e && /online/.test(e.textContent); },
		T('status'), { timeout });
}

// Every CryptoKey the origin keeps in IndexedDB, wherever the page's state
// keeps it, and what exportKey does with each: in the page, so the page's
// own code path (its origin, its keys) is what is checked.
async function exportKeys(page) {
	return page.evaluate(async () => {
		const out = { databases: 0, keys: 0, private: 0, exported: [], refused: [] };
		const found = [];
		const walk = (v, path, seen) => {
			if (v instanceof CryptoKey) {
				found.push({ key: v, path });
				return;
			}
			if (v === null || typeof v !== 'object' || seen.has(v) || ArrayBuffer.isView(v) ||
			    v instanceof ArrayBuffer)
				return;
			seen.add(v);
			const entries = v instanceof Map ? [...v.entries()] :
				Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
			for (const [k, x] of entries)
				walk(x, `${path}.${String(k)}`, seen);
		};
		const req = (r) => new Promise((ok, bad) => {
			r.onsuccess = () => ok(r.result);
			r.onerror = () => bad(r.error);
		});
		for (const { name } of await indexedDB.databases()) {
			out.databases++;
			const db = await req(indexedDB.open(name));
			for (const store of db.objectStoreNames) {
				const tx = db.transaction(store, 'readonly');
				const os = tx.objectStore(store);
				const [keys, values] = await Promise.all([req(os.getAllKeys()), req(os.getAll())]);
				values.forEach((v, i) => walk(v, `${name}/${store}/${String(keys[i])}`, new Set()));
			}
			db.close();
		}
		for (const { key, path } of found) {
			out.keys++;
			const what = `${path} (${key.type} ${key.algorithm.name}, extractable=${key.extractable})`;
			if (key.type === 'public')
				continue;
			out.private++;
			// Every format a private key could leave in.
			const errors = [];
			for (const fmt of ['pkcs8', 'jwk', 'raw']) {
				try {
					await crypto.subtle.exportKey(fmt, key);
					out.exported.push(`${what}: ${fmt}`);
				} catch (e) {
					errors.push(`${fmt}: ${e.name}`);
				}
			}
			if (errors.length === 3)
				out.refused.push(`${what}: ${errors.join(', ')}`);
		}
		return out;
	});
}

async function requestCard(page, timeout) {
	const card = await visible(page, 'request', timeout);
	const choices = [];
	for (const [c, name] of Object.entries(CHOICE))
		if (await card.locator(T(name)).count() > 0 || await page.locator(T(name)).count() > 0)
			choices.push(c);
	return {
		op: await card.getAttribute('data-op'),
		hostState: await card.getAttribute('data-host-state'),
		computer: await card.getAttribute('data-computer'),
		text: await text(card),
		choices,
	};
}

const commands = {
	async new(cmd) {
		await newPhone(cmd.phone || 'a');
		return {};
	},
	async open(cmd) {
		const p = phones.get(cmd.phone || 'a') || await newPhone(cmd.phone || 'a');
		await pageOf(p);
		// A fresh load, as a camera opening the QR's address does: not a
		// same-document move to another #fragment of the page shown.
		if (p.page.url() !== 'about:blank')
			await p.page.goto('about:blank', { timeout: ms(cmd, 15) });
		const r = await p.page.goto(cmd.url, { waitUntil: 'load', timeout: ms(cmd, 15) });
		return { httpStatus: r ? r.status() : null, title: await p.page.title() };
	},
	async setup(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 10);
		const input = await visible(page, 'setup-name', t);
		await input.fill(cmd.name, { timeout: t });
		await tap(page, 'setup-go', t);
		await page.locator(T('setup-name')).first().waitFor({ state: 'hidden', timeout: t });
		return {};
	},
	async pair(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 20);
		if (cmd.uri) {
			const box = await visible(page, 'pair-uri', t);
			await box.fill(cmd.uri, { timeout: t });
			await tap(page, 'pair-go', t);
		}
		const code = await visible(page, 'pair-code', t);
		await page.waitForFunction((sel) => {
			const e = document.querySelector(sel);
			return e && /^\d{6}$/.test(e.textContent.replace(/\s/g, ''));
		}, T('pair-code'), { timeout: t });
		return {
			code: (await code.innerText()).replace(/\s/g, ''),
			computer: await text(await visible(page, 'pair-computer', t)),
		};
	},
	async confirm(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 20);
		await tap(page, 'pair-confirm', t);
		return { paired: await text(await visible(page, 'paired', t)) };
	},
	async receive(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 20);
		const box = await visible(page, 'receive-uri', t);
		await box.fill(cmd.uri, { timeout: t });
		await tap(page, 'receive-go', t);
		await page.waitForFunction((sels) => {
			const e = document.querySelector(sels[0]);
			if (document.querySelector(sels[1]))
				return true;
			return e && /^\d{6}$/.test(e.textContent.replace(/\s/g, ''));
		}, [T('receive-code'), T('receive-error')], { timeout: t });
		const bad = page.locator(T('receive-error'));
		if (await bad.count() > 0)
			throw new Error(await text(bad.first()));
		return {
			code: (await (await visible(page, 'receive-code', t)).innerText())
			    .replace(/\s/g, ''),
			from: await text(await visible(page, 'receive-from', t)),
			warning: await text(await visible(page, 'receive-warning', t)),
		};
	},
	async receive_confirm(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 20);
		await tap(page, 'receive-confirm', t);
		await page.waitForFunction((sels) => sels.some((x) => document.querySelector(x)),
		    [T('received'), T('receive-error'), T('receive-pending')], { timeout: t });
		for (const bad of ['receive-error', 'receive-pending'])
			if (await page.locator(T(bad)).count() > 0)
				throw new Error(await text(page.locator(T(bad)).first()));
		const received = await text(await visible(page, 'received', t));
		await tap(page, 'receive-done', t);
		await page.locator(T('received')).first().waitFor({ state: 'hidden', timeout: t });
		return { received };
	},
	async decline(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 10);
		await tap(page, 'pair-decline', t);
		await page.locator(T('pair-code')).first().waitFor({ state: 'hidden', timeout: t });
		return {};
	},
	async request(cmd) {
		return requestCard(phoneOf(cmd).page, ms(cmd, 30));
	},
	async answer(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 10);
		const name = CHOICE[cmd.choice];
		if (!name)
			throw new Error(`answer ${cmd.choice}: want once, host, window or reject`);
		const card = await visible(page, 'request', t);
		const handle = await card.elementHandle({ timeout: t });
		const button = card.locator(T(name));
		await (await button.count() > 0 ? button : page.locator(T(name))).first().tap({ timeout: t });
		// Answered once that card is gone (hidden, removed, or another
		// request's card in its place).
		await page.waitForFunction((el) => !el.isConnected || el.offsetParent === null ||
		    el.getAttribute('aria-hidden') === 'true', handle, { timeout: t });
		await handle.dispose();
		return {};
	},
	async set_pin(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 10);
		await tap(page, 'nav-settings', t);
		if (cmd.old !== undefined)
			await (await visible(page, 'pin-old', t)).fill(cmd.old, { timeout: t });
		await (await visible(page, 'pin-new', t)).fill(cmd.pin, { timeout: t });
		const state = page.locator(T('pin-state')).first();
		const before = await state.count() > 0 ? await text(state) : '';
		await tap(page, 'pin-set', t);
		await page.waitForFunction(([sel, b]) => {
			const e = document.querySelector(sel);
			return e && e.textContent.replace(/\s+/g, ' ').trim() !== b;
		}, [T('pin-state'), before], { timeout: t });
		return { state: await text(state) };
	},
	async reload(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 15);
		await page.reload({ waitUntil: 'load', timeout: t });
		if (cmd.online !== false)
			await waitOnline(page, t);
		return {};
	},
	async status(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 10);
		if (cmd.want === 'online')
			await waitOnline(page, t);
		else if (cmd.want)
			await page.waitForFunction(([sel, w]) => {
				const e = document.querySelector(sel);
				return e && e.textContent.trim() === w;
			}, [T('status'), cmd.want], { timeout: t });
		return { status: await text(await visible(page, 'status', t)) };
	},
	async list(cmd) {
		const { page } = phoneOf(cmd);
		const t = ms(cmd, 10);
		if (!NAV[cmd.what])
			throw new Error(`list ${cmd.what}: want computers, keys, hosts or log`);
		await tap(page, NAV[cmd.what], t);
		const [row, attr] = ROW[cmd.what];
		// {want: S}: wait for a row whose name or text has S; {gone: S}:
		// for none to have it. Then the rows shown.
		const read = async () => {
			const rows = [];
			for (const loc of await page.locator(T(row)).all()) {
				if (!await loc.isVisible())
					continue;
				const r = { text: await text(loc) };
				if (attr)
					r.name = await loc.getAttribute(attr);
				rows.push(r);
			}
			return rows;
		};
		const has = (rows, s) => rows.some((r) => r.name === s || r.text.includes(s));
		const until = Date.now() + t;
		for (;;) {
			const rows = await read();
			const ok = (cmd.want === undefined || has(rows, cmd.want)) &&
			    (cmd.gone === undefined || !has(rows, cmd.gone));
			if (ok)
				return { rows };
			if (Date.now() > until)
				throw new Error(`list ${cmd.what}: ` + (cmd.want !== undefined ?
				    `no row with '${cmd.want}'` : `a row with '${cmd.gone}' still`) +
				    ` after ${t / 1000} s; rows: ${JSON.stringify(rows.map((r) => r.text))}`);
			await page.waitForTimeout(100);
		}
	},
	async notices(cmd) {
		const { page } = phoneOf(cmd);
		const out = [];
		for (const loc of await page.locator(T('notice')).all())
			out.push(await text(loc));
		return { notices: out };
	},
	async export_keys(cmd) {
		return exportKeys(phoneOf(cmd).page);
	},
	async probe(cmd) {
		const { page } = phoneOf(cmd);
		return page.evaluate(() => ({
			width: innerWidth, height: innerHeight, dpr: devicePixelRatio,
			coarse: matchMedia('(pointer: coarse)').matches,
			touch: navigator.maxTouchPoints, secure: isSecureContext,
			isolated: crossOriginIsolated, subtle: !!(crypto && crypto.subtle),
			userAgent: navigator.userAgent,
		}));
	},
	async eval(cmd) {
		const { page } = phoneOf(cmd);
		// The expression runs as the page's own script would (async allowed).
		const v = await page.evaluate(`(async () => (${cmd.expr}))()`);
		return { value: v === undefined ? null : v };
	},
	async tap(cmd) {
		await tap(phoneOf(cmd).page, cmd.test, ms(cmd, 10));
		return {};
	},
	async frames(cmd) {
		const p = phoneOf(cmd);
		await recordFrames(p);
		const out = p.frames.splice(0);
		return { frames: out };
	},
	async profile(cmd) {
		// {start: true} starts Chromium's sampling profiler on the page;
		// then {} stops it: the self time per function (ms), most first.
		const p = phoneOf(cmd);
		if (cmd.start) {
			p.prof = await p.ctx.newCDPSession(p.page);
			await p.prof.send('Profiler.enable');
			await p.prof.send('Profiler.setSamplingInterval', { interval: 100 });
			await p.prof.send('Profiler.start');
			return {};
		}
		const { profile } = await p.prof.send('Profiler.stop');
		const self = new Map();
		const dt = new Map();
		for (let i = 0; i < profile.samples.length; i++)
			dt.set(profile.samples[i], (dt.get(profile.samples[i]) || 0) + profile.timeDeltas[i] / 1000);
		for (const n of profile.nodes) {
			const f = n.callFrame;
			const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
			self.set(k, (self.get(k) || 0) + (dt.get(n.id) || 0));
		}
		return { top: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, cmd.n || 25) };
	},
	async screenshot(cmd) {
		const { page } = phoneOf(cmd);
		mkdirSync(dirname(cmd.path), { recursive: true });
		await page.screenshot({ path: cmd.path, timeout: ms(cmd, 10) });
		return { path: cmd.path };
	},
	async close(cmd) {
		await closePhone(cmd.phone || 'a');
		return {};
	},
	async grant(cmd) {
		await phoneOf(cmd).ctx.grantPermissions(cmd.permissions, { origin: cmd.origin });
		return {};
	},
	async push_stub(cmd) {
		await phoneOf(cmd).ctx.addInitScript(pushStub, { sub: cmd.subscription, origin: cmd.origin });
		return {};
	},
	async keep_tab(cmd) {
		const p = phoneOf(cmd);
		if (!p.tab) {
			p.tab = await p.ctx.newPage();
			p.cdp = await p.ctx.newCDPSession(p.tab);
			p.cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
				for (const r of e.registrations) {
					if (r.isDeleted)
						p.regs.delete(r.registrationId);
					else
						p.regs.set(r.registrationId, r.scopeURL);
				}
			});
			await p.cdp.send('ServiceWorker.enable');
		}
		return { registrations: [...p.regs.entries()] };
	},
	async close_page(cmd) {
		const p = phoneOf(cmd);
		if (!p.tab)
			throw new Error('close_page: send keep_tab first (a closed last page ends the profile)');
		await p.page.close();
		return {};
	},
	async deliver_push(cmd) {
		const p = phoneOf(cmd);
		const t = ms(cmd, 10);
		if (!p.cdp)
			throw new Error('deliver_push: send keep_tab first');
		// The origin's registration, as the ServiceWorker domain reported it.
		const until = Date.now() + t;
		let id;
		while ((id = [...p.regs.entries()].find(([, scope]) =>
		    scope.startsWith(cmd.origin + '/'))) === undefined) {
			if (Date.now() > until)
				throw new Error(`deliver_push: no service worker registration for ${cmd.origin}` +
				    ` (registrations: ${JSON.stringify([...p.regs.entries()])})`);
			await new Promise((ok) => setTimeout(ok, 50));
		}
		await p.cdp.send('ServiceWorker.deliverPushMessage',
			{ origin: cmd.origin, registrationId: id[0], data: cmd.data });
		return { registrationId: id[0] };
	},
	async notifications(cmd) {
		const p = phoneOf(cmd);
		const t = ms(cmd, 10);
		const until = Date.now() + t;
		const want = cmd.want || 0;
		for (;;) {
			const w = await workerOf(p, cmd.origin, Math.max(until - Date.now(), 1));
			const list = await bounded(w.evaluate((tag) =>
				self.registration.getNotifications(tag ? { tag } : {}).then((ns) => ns.map((n) => ({
					title: n.title, body: n.body, tag: n.tag, data: n.data,
					actions: (n.actions || []).map((a) => ({ action: a.action, title: a.title })),
				}))), cmd.tag || null), Math.max(until - Date.now(), 1), 'getNotifications');
			if (list.length >= want)
				return { list };
			if (Date.now() > until)
				throw new Error(`notifications: ${list.length} shown, not ${want}, after ${t / 1000} s`);
			await new Promise((ok) => setTimeout(ok, 50));
		}
	},
	async notification_click(cmd) {
		const p = phoneOf(cmd);
		const t = ms(cmd, 30);
		const w = await workerOf(p, cmd.origin, t);
		const r = await bounded(w.evaluate(async ([tag, action]) => {
			const [n] = await self.registration.getNotifications({ tag });
			if (!n)
				throw new Error(`no notification with tag ${tag}`);
			if (typeof self.skpNotificationClick !== 'function')
				throw new Error('the service worker has no self.skpNotificationClick');
			await self.skpNotificationClick(n, action);
			return (await self.registration.getNotifications({ tag })).length;
		}, [cmd.tag, cmd.action || '']), t, 'skpNotificationClick');
		return { left: r };
	},
};

function reply(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		timeout: 30000,
		// WEB-PHONE-NOTES.md 1: what Debian's chromium needs here.
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update',
			'--disable-sync'],
	});
	reply({ ready: true, chromium: browser.version() });
	const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
	for await (const line of lines) {
		if (!line.trim())
			continue;
		let cmd;
		try {
			cmd = JSON.parse(line);
		} catch (e) {
			reply({ id: null, ok: false, error: `not JSON: ${e.message}` });
			continue;
		}
		if (cmd.cmd === 'quit')
			break;
		const f = Object.hasOwn(commands, cmd.cmd) ? commands[cmd.cmd] : null;
		try {
			if (!f)
				throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
			reply({ id: cmd.id, ok: true, ...await f(cmd) });
		} catch (e) {
			let error = String(e.message || e).split('\n')[0];
			// What the page showed then, to say why.
			const p = phones.get(cmd.phone || 'a');
			if (p && !p.page.isClosed()) {
				const shown = await p.page.evaluate(() => document.body ?
				    document.body.innerText : '').catch(() => '');
				error += `; the page shows: ${shown.replace(/\s+/g, ' ').trim().slice(0, 400)}`;
			}
			reply({ id: cmd.id, ok: false, error });
		}
	}
	await browser.close().catch(() => {});
	reply({ bye: true });
	// Standard input may still be open: nothing else to wait for.
	process.exit(0);
}

main().catch((e) => {
	log(`driver: ${e.message}`);
	process.exit(1);
});
