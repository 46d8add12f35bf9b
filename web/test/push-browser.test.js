// Web Push in the web phone's service worker (web/src/sw.js,
// web/src/app/pushnotify.js; PROTOCOL.md §8.11, the payload of §7.11) in
// real Chromium, the page meson built served by the real relay. A push is
// delivered with CDP ServiceWorker.deliverPushMessage (WEB-PHONE-NOTES 11:
// no push service here) carrying a real message 1 that this test makes as
// a paired computer (proto/noise.js KKpsk0, proto/ctap.js encodeRequest),
// and the notification is read back with registration.getNotifications().
// Cases:
//   push_shows_the_request_and_allow_answers_it: the page closed; a held
//     call (CALL answered OFFLINE); the push's notification has the
//     question's title, the computer, tag skp-call, Allow / Reject and the
//     request digest computed here by §8.11's rule; nothing recorded by
//     it (no audit line); skpNotificationClick(n, 'allow') connects as
//     the phone, the relay delivers the call, the computer's fresh
//     message 1 (new id, time, handshake) is answered 0x00 with a
//     credential; the audit line ends "(from the notification)".
//   reject_answers_only_the_matching_request: another request (another
//     user name), held and sent again first, is hung up unanswered; the
//     one shown, sent after that, is answered 0x27 (rejected); the log
//     says reject (from the notification).
//   unreadable_and_too_large_pushes_open_the_page: "call":null, junk, a
//     message of no paired computer: a notification without buttons that
//     says so; tapping it does not answer.
//   settings_push_on_a_relay_without_push: Settings' push-state 'off',
//     push-enable against this relay (no --push-dir) ends refused or
//     error, never on, and the phone stays online.
// Env: SKP_WEB_BUNDLE, SKP_RELAY_BIN, SKP_CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { KIND, RelayConnection } from '../src/app/relay.js';
import { b64urlEncode, toHex, utf8 } from '../src/proto/bytes.js';
import * as cbor from '../src/proto/cbor.js';
import { generateEcdh, randomBytes, sha256 } from '../src/proto/crypto.js';
import { CMD, decodeResponse, encodeRequest, STATUS } from '../src/proto/ctap.js';
import { Handshake } from '../src/proto/noise.js';
import { mcParams } from './phonekit.js';
import { Kit, until } from './relaykit.js';

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, '..');
const BUNDLE = process.env.SKP_WEB_BUNDLE;
const CHROMIUM = process.env.SKP_CHROMIUM || '/usr/bin/chromium';
const skip = !BUNDLE ? 'run by meson (SKP_WEB_BUNDLE)' : false;
const require = createRequire(join(web, 'package.json'));

const K = new Kit();
let browser = null, base = null, stateModule = null;

// Loaded into the page to pair a computer whose keys this test holds
// (the page's own bundle exports nothing).
const STATE_ENTRY = `
import { openIdbKV } from '../src/app/idbkv.js';
import { PhoneState } from '../src/phone/state.js';
window.skpPushTest = { openIdbKV, PhoneState };
`;

before(async () => {
	if (skip)
		return;
	assert.ok(existsSync(join(BUNDLE, 'sw.js')), `no page in ${BUNDLE}`);
	await K.startRelay(['--web', BUNDLE]);
	base = `http://127.0.0.1:${K.port}/`;
	const r = await require('esbuild').build({ stdin: { contents: STATE_ENTRY,
	    resolveDir: here, sourcefile: 'state-entry.js' }, bundle: true, format: 'esm',
	    write: false });
	stateModule = r.outputFiles[0].text;
	const { chromium } = require('playwright-core');
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
	    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'] });
});

after(async () => {
	if (browser)
		await browser.close();
	K.close();
});

// A phone set up in a fresh context (notifications allowed), a computer
// 'laptop' paired with keys held here; the page closed, the service
// worker kept. -> { ctx, worker, phone: { identityPub, mailboxId }, comp, cdp, regId }
async function phoneWithComputer() {
	// bypassCSP: for the test's own script that pairs the computer (the
	// page's CSP allows no inline script); the page's CSP is e2e_web's
	const ctx = await browser.newContext({ bypassCSP: true });
	await ctx.grantPermissions(['notifications'], { origin: base.slice(0, -1) });
	const page = await ctx.newPage();
	await page.goto(base, { waitUntil: 'load' });
	await page.fill('[data-test="setup-name"]', 'pixel');
	await page.click('[data-test="setup-go"]');
	await until('the page to be online', async () =>
	    await page.textContent('[data-test="status"]') === 'online');
	// activated, not only active: a push delivered while it activates is lost
	await page.evaluate(async () => {
		const w = (await navigator.serviceWorker.ready).active;
		if (w.state !== 'activated')
			await new Promise((resolve) => w.addEventListener('statechange', () => {
				if (w.state === 'activated')
					resolve();
			}));
	});
	const pair = await generateEcdh(), psk = randomBytes(32);
	await page.addScriptTag({ content: stateModule, type: 'module' });
	await page.waitForFunction(() => window.skpPushTest !== undefined);
	const phone = await page.evaluate(async ([pub, psk]) => {
		const { openIdbKV, PhoneState } = window.skpPushTest;
		const st = await PhoneState.open(await openIdbKV());
		await st.addComputer({ name: 'laptop', publicKey: new Uint8Array(pub),
		    requestPsk: new Uint8Array(psk) });
		const id = await st.identity();
		return { identityPub: [...id.identity.publicKey], mailboxId: [...id.mailboxId] };
	}, [[...pair.publicKey], [...psk]]);
	phone.identityPub = Uint8Array.from(phone.identityPub);
	phone.mailboxId = Uint8Array.from(phone.mailboxId);
	// the CDP session on a tab of its own, so that the app's can close
	const other = await ctx.newPage();
	const cdp = await ctx.newCDPSession(other);
	let regId = null;
	cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
		for (const r of e.registrations)
			if (r.scopeURL === base && !r.isDeleted)
				regId = r.registrationId;
	});
	await cdp.send('ServiceWorker.enable');
	await until('the service worker registration', () => regId !== null);
	const worker = ctx.serviceWorkers().find((w) => w.url() === base + 'sw.js');
	assert.ok(worker, 'the service worker runs');
	await page.close();
	await phoneGone(phone);
	return { ctx, worker, phone, comp: { pair, psk }, cdp, get regId() { return regId; } };
}

// Until the relay has no listener on the mailbox (the closed page's
// socket gone): a CALL without data answered OFFLINE, then hung up.
async function phoneGone(phone) {
	const conn = await RelayConnection.open(K.url, { WebSocket });
	try {
		await until('the closed page to leave the relay', async () => {
			let seen = null;
			conn.addEventListener('frame', (e) => {
				if (e.detail.kind === KIND.OFFLINE)
					seen = 'offline';
			}, { once: true });
			const ch = conn.openChannel(KIND.CALL, phone.mailboxId, 5000);
			ch.addEventListener('peer', () => { seen = 'online'; });
			await until('an answer to the probe', () => seen !== null || ch.ended);
			ch.hangup();
			if (seen !== 'offline')
				await new Promise((r) => setTimeout(r, 200));
			return seen === 'offline';
		});
	} finally {
		conn.close();
	}
}

// The computer's request: the envelope and its parts.
function enrollRequest(userName, timeMs = Date.now()) {
	const raw = randomBytes(32);
	return sha256(raw).then((cdh) => {
		const params = mcParams({ cdh, userName });
		const env = encodeRequest({ id: randomBytes(16), timeMs, command: CMD.MAKE_CREDENTIAL,
		    params, ctx: { raw, computerName: 'laptop' } });
		return { raw, params, env };
	});
}

async function message1(t, env) {
	const hs = new Handshake({ pattern: 'KK', initiator: true, s: t.comp.pair,
	    rs: t.phone.identityPub, psk: t.comp.psk });
	return { hs, m1: await hs.writeMessage(env) };
}

// §8.11's digest, computed here from the request's parts.
async function digestOf(req) {
	const ctx = new Map([[1, req.raw], [2, 'laptop']]);
	return toHex(await sha256(cbor.encode('laptop'), cbor.encode(new Map([
	    [4, CMD.MAKE_CREDENTIAL], [5, req.params], [6, ctx]]))));
}

// A CALL to the phone's mailbox, held (OFFLINE), with message 1 sent on it
// as the computer does: -> the channel (its 'peer' event: ONLINE).
async function heldCall(t, m1) {
	const conn = await RelayConnection.open(K.url, { WebSocket });
	let offline = false;
	conn.addEventListener('frame', (e) => {
		if (e.detail.kind === KIND.OFFLINE)
			offline = true;
	});
	const ch = conn.openChannel(KIND.CALL, t.phone.mailboxId, 60000);
	ch.send(m1);
	await until('OFFLINE', () => offline);
	ch.conn = conn;
	return ch;
}

async function push(t, text) {
	// a fresh start: no notification of an earlier case
	// (the same tag: a close still on its way would close the new one)
	await t.worker.evaluate(async () => (await self.registration.getNotifications())
	    .forEach((n) => n.close()));
	await until('no notification', async () => (await notifications(t)).length === 0);
	// Delivered again when nothing shows in 3 s: CDP's delivery is best
	// effort (a push it hands to a worker that is being stopped or
	// restarted is lost, and it answers {} all the same).
	for (let i = 0; ; i++) {
		await t.cdp.send('ServiceWorker.deliverPushMessage', { origin: base.slice(0, -1),
		    registrationId: t.regId, data: text });
		try {
			await until('a notification', async () => (await notifications(t)).length > 0, 3000);
			return;
		} catch (e) {
			if (i === 4)
				throw e;
		}
	}
}

function notifications(t) {
	return t.worker.evaluate(async () => (await self.registration.getNotifications())
	    .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data,
		actions: n.actions.map((a) => ({ action: a.action, title: a.title })) })));
}

async function shown(t, pred = () => true) {
	return until('the notification', async () => (await notifications(t)).find(pred));
}

function click(t, action) {
	return t.worker.evaluate(async (action) => {
		const [n] = await self.registration.getNotifications({ tag: 'skp-call' });
		return self.skpNotificationClick(n, action);
	}, action);
}

async function auditLog(t) {
	const page = await t.ctx.newPage();
	await page.goto(base, { waitUntil: 'load' });
	await page.waitForFunction(() => window.skpPhone !== undefined);
	const log = await page.evaluate(async () => (await window.skpPhone.state.auditLog())
	    .map((e) => e.text));
	await page.close();
	return log;
}

test('push_shows_the_request_and_allow_answers_it', { skip }, async () => {
	const t = await phoneWithComputer();
	try {
		const req = await enrollRequest('alice');
		const first = await message1(t, req.env);
		const ch = await heldCall(t, first.m1);
		await push(t, `{"v":2,"call":"${b64urlEncode(first.m1)}"}`);
		const n = await shown(t, (x) => x.data && x.data.digest);
		assert.equal(n.title, 'Enroll a new ecdsa-sk key');
		assert.equal(n.body, 'From computer "laptop".');
		assert.equal(n.tag, 'skp-call');
		assert.deepEqual(n.actions, [{ action: 'allow', title: 'Allow' },
		    { action: 'reject', title: 'Reject' }]);
		assert.equal(n.data.digest, await digestOf(req));
		assert.deepEqual([n.data.computer, n.data.op, n.data.answerable],
		    ['laptop', 'enroll', true]);
		assert.ok(n.data.until > Date.now());
		// the computer sends its request anew once the phone is there
		const answered = (async () => {
			await new Promise((resolve) => ch.addEventListener('peer', resolve, { once: true }));
			// the same request: same raw data, other id and time
			const env = encodeRequest({ id: randomBytes(16), timeMs: Date.now() + 1,
			    command: CMD.MAKE_CREDENTIAL, params: req.params,
			    ctx: { raw: req.raw, computerName: 'laptop' } });
			const fresh = await message1(t, env);
			ch.send(fresh.m1);
			return decodeResponse(await fresh.hs.readMessage(await ch.recv(20000)));
		})();
		const r = await click(t, 'allow');
		assert.deepEqual([r.answered, r.status], [true, 0], JSON.stringify(r));
		const resp = await answered;
		assert.equal(resp.status, STATUS.OK);
		assert.ok(resp.ctap.get(2) instanceof Uint8Array, 'authData of a new credential');
		const log = await auditLog(t);
		assert.match(log.at(-1), / computer="laptop" op=enroll subject="alice" .* decision=allow-once \(from the notification\)$/);
		assert.equal(log.filter((l) => / op=enroll /.test(l)).length, 1,
		    'the push itself recorded nothing');
		ch.conn.close();
	} finally {
		await t.ctx.close();
	}
});

test('reject_answers_only_the_matching_request', { skip }, async () => {
	const t = await phoneWithComputer();
	try {
		const otherReq = await enrollRequest('mallory');
		const other = await heldCall(t, (await message1(t, otherReq.env)).m1);
		const req = await enrollRequest('bob');
		const ch = await heldCall(t, (await message1(t, req.env)).m1);
		const m = await message1(t, req.env);
		await push(t, `{"v":2,"call":"${b64urlEncode(m.m1)}"}`);
		await shown(t, (x) => x.data?.digest);
		const ended = new Promise((resolve) => other.addEventListener('end',
		    (e) => resolve(e.detail.error.relayCode), { once: true }));
		// after ONLINE the request again
		const send = (c, r, after) => new Promise((resolve) => c.addEventListener('peer', async () => {
			await after;
			const env = encodeRequest({ id: randomBytes(16), timeMs: Date.now(),
			    command: CMD.MAKE_CREDENTIAL, params: r.params,
			    ctx: { raw: r.raw, computerName: 'laptop' } });
			const f = await message1(t, env);
			try {
				c.send(f.m1);
			} catch {
				// ended: nothing to send on
			}
			resolve(f.hs);
		}, { once: true }));
		// the other request first; the one shown only once the other is
		// over, so that answering whatever comes first would answer it
		const hsOther = send(other, otherReq);
		const hs = send(ch, req, ended);
		const r = await click(t, 'reject');
		assert.equal(r.answered, true, JSON.stringify(r));
		assert.equal(r.status, STATUS.OPERATION_DENIED);
		const resp = decodeResponse(await (await hs).readMessage(await ch.recv(20000)));
		assert.equal(resp.status, STATUS.OPERATION_DENIED);
		await hsOther;
		assert.equal(await ended, 4025, 'the other request is hung up');
		assert.deepEqual(other.queue, [], 'the other request got no answer');
		const log = await auditLog(t);
		assert.match(log.at(-1), / subject="bob" .* decision=reject \(from the notification\)$/);
		assert.ok(!log.some((l) => /mallory/.test(l)));
		ch.conn.close();
		other.conn.close();
	} finally {
		await t.ctx.close();
	}
});

test('unreadable_and_too_large_pushes_open_the_page', { skip }, async () => {
	const t = await phoneWithComputer();
	try {
		const cases = [
			['{"v":2,"call":null}', 'sk-phone: a request is waiting', /too large/],
			['not json', 'sk-phone: a request is waiting', /could not be read/],
			[`{"v":2,"call":"${b64urlEncode(randomBytes(200))}"}`,
			    'sk-phone: a request this phone cannot read', /nothing is answered/],
		];
		for (const [text, title, body] of cases) {
			await push(t, text);
			const n = await shown(t, (x) => x.title === title && body.test(x.body));
			assert.match(n.body, body);
			assert.deepEqual([n.actions, n.data.digest, n.data.answerable], [[], null, false]);
			assert.equal(n.tag, 'skp-call');
			// tapping it opens the page (refused here without a real tap):
			// nothing is answered
			const r = await click(t, 'allow');
			assert.equal(r.answered, undefined, JSON.stringify(r));
			assert.ok('opened' in r);
		}
	} finally {
		await t.ctx.close();
	}
});

test('settings_push_on_a_relay_without_push', { skip }, async () => {
	const ctx = await browser.newContext();
	await ctx.grantPermissions(['notifications'], { origin: base.slice(0, -1) });
	try {
		const page = await ctx.newPage();
		await page.goto(base, { waitUntil: 'load' });
		await page.fill('[data-test="setup-name"]', 'pixel');
		await page.click('[data-test="setup-go"]');
		await until('the page to be online', async () =>
		    await page.textContent('[data-test="status"]') === 'online');
		await page.click('[data-test="nav-settings"]');
		const state = () => page.textContent('[data-test="push-state"]');
		assert.match(await state(), /^off: /);
		await page.click('[data-test="push-enable"]');
		// this relay runs without --push-dir: never 'on'
		const s = await until('push to be refused', async () => {
			const v = await state();
			return /^(refused|error)/.test(v) && v;
		});
		assert.doesNotMatch(s, /^on/);
		assert.equal(await page.locator('[data-test="push-enable"]').count(), 1);
		assert.equal(await page.locator('[data-test="push-disable"]').count(), 0);
		await until('the page to be online again', async () =>
		    await page.textContent('[data-test="status"]') === 'online');
	} finally {
		await ctx.close();
	}
});
