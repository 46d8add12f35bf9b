// The browser app's core (web/src/app/: controller.js, idbkv.js) in real
// Chromium, in the built page the real relay serves (docs/PROTOCOL.md §2.1's
// web form; pairing §8.1; the state of §8.7 as web/src/phone/state.js keeps
// it). Headless /usr/bin/chromium through playwright-core. Cases:
//   pairing_url_in_the_open_page: the page open and set up, the URL of a
//     real `sk-phone pair`'s QR code opened in the same tab (only the
//     fragment changes: no load, a 'hashchange') pairs, both sides the
//     same code; the fragment is gone from the address bar and a reload
//     does not pair again.
//   idb_state_survives_reload_and_new_page: a PhoneState over openIdbKV
//     keeps its identity (same public keys; the private keys still
//     CryptoKeys, still not extractable, still signing) and computers across
//     a reload and in a new page of the same context.
//   ed25519_key_in_idb (issue 13): the page's feature test finds Ed25519 in
//     Chromium's WebCrypto; an Ed25519 credential (non-extractable
//     CryptoKeyPair, alg -8) stored through PhoneState comes back after a
//     reload, still unexportable, and signs 64 bytes node:crypto verifies.
//     In a page whose WebCrypto refuses Ed25519 (an init script, as a
//     browser without it), the feature test says no.
//   idb_concurrent_writes_both_persist: two addComputer calls at once on one
//     PhoneState, and two pages putting at once on their own openIdbKV:
//     every write is there after a reload.
// Env: SKP_WEB_BUNDLE (meson's bundle), SKP_RELAY_BIN, SKP_CLI (sk-phone),
// SKP_CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, Kit, until } from './relaykit.js';

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, '..');
const BUNDLE = process.env.SKP_WEB_BUNDLE;
const CHROMIUM = process.env.SKP_CHROMIUM || '/usr/bin/chromium';
const skip = !BUNDLE ? 'run by meson (SKP_WEB_BUNDLE)' : false;
const require = createRequire(join(web, 'package.json'));

const K = new Kit();
let browser = null, base = null, idbModule = null;

// What the idb cases load into the page: the store and the state, bundled
// (the page's own bundle does not export them).
const IDB_ENTRY = `
import { openIdbKV } from '../src/app/idbkv.js';
import { PhoneState } from '../src/phone/state.js';
import { generateEcdh, generateEd25519, hasEd25519 } from '../src/proto/crypto.js';
import { signAuthData } from '../src/proto/authdata.js';
window.skpIdbTest = { openIdbKV, PhoneState, generateEcdh, generateEd25519, hasEd25519,
    signAuthData };
`;

before(async () => {
	if (skip)
		return;
	assert.ok(existsSync(join(BUNDLE, 'index.html')), `no page in ${BUNDLE}: ` +
	    'run sh scripts/web-deps.sh, then meson setup --reconfigure BUILD');
	await K.startRelay(['--web', BUNDLE]);
	base = `http://127.0.0.1:${K.port}/`;
	const r = await require('esbuild').build({ stdin: { contents: IDB_ENTRY, resolveDir: here,
	    sourcefile: 'idb-entry.js' }, bundle: true, format: 'esm', write: false });
	idbModule = r.outputFiles[0].text;
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

function status(page) {
	return page.textContent('[data-test="status"]');
}

test('pairing_url_in_the_open_page', { skip }, async () => {
	const ctx = await browser.newContext({ viewport: { width: 390, height: 844 },
	    isMobile: true, hasTouch: true });
	const page = await ctx.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	await page.goto(base, { waitUntil: 'load' });
	await page.fill('[data-test="setup-name"]', 'pixel');
	await page.tap('[data-test="setup-go"]');
	await page.waitForSelector('[data-test="nav-home"]', { state: 'visible', timeout: 15000 });
	await until('the page to be online', async () => await status(page) === 'online');

	const dir = join(K.tmp, 'computer-hash');
	mkdirSync(dir, { mode: 0o700 });
	const uriFile = join(K.tmp, 'hash.uri');
	const comp = K.run([CLI, 'pair', '--relay', K.url, '--name', 'laptop', '--yes',
	    '--uri-file', uriFile, '--timeout', '30'], { env: { SK_PHONE_DIR: dir } });
	const m = await until('the QR code\'s web URL', () =>
	    comp.out.match(/Or open this address on the phone:\n(\S+)\n/) || comp.exitCode !== null);
	assert.ok(Array.isArray(m), comp.out);
	const url = m[1];
	assert.ok(url.startsWith(base + '#v='), `${url} is the page with a fragment`);

	// the same tab: the address changes only after '#'
	const loads = [];
	page.on('load', () => loads.push(page.url()));
	await page.evaluate((u) => { location.href = u; }, url);
	await page.waitForSelector('[data-test="pair-code"]', { timeout: 15000 });
	assert.deepEqual(loads, [], 'no new load: the fragment alone changed');
	assert.equal(await page.textContent('[data-test="pair-computer"]'), 'laptop');
	const codeText = await page.textContent('[data-test="pair-code"]');
	const code = codeText.replace(/\s/g, '');
	// read once, then out of the address bar (and so of the history)
	assert.equal(await page.evaluate(() => location.href), base);
	await page.tap('[data-test="pair-confirm"]');
	await page.waitForSelector('[data-test="paired"]', { timeout: 20000 });
	const { code: exit, out } = await comp.done;
	assert.equal(exit, 0, out);
	const shown = out.match(/Code: (\d{3}) (\d{3})/);
	assert.ok(shown, out);
	assert.equal(shown[1] + shown[2], code);
	// grouped as the computer groups it: like is compared with like
	assert.equal(codeText, `${shown[1]} ${shown[2]}`);
	assert.match(await page.textContent('[data-test="paired"]'), /laptop/);
	assert.deepEqual(await page.evaluate(async () =>
	    (await window.skpPhone.state.computers()).map((c) => c.name)), ['laptop']);

	// a reload starts at home, not at the pairing again
	await page.reload({ waitUntil: 'load' });
	await page.waitForSelector('[data-test="nav-home"][aria-current="page"]', { timeout: 15000 });
	assert.equal(await page.locator('#pair-h, [data-test="pair-code"]').count(), 0,
	    'no pairing screen after the reload');
	assert.equal(await page.evaluate(() => location.href), base);
	assert.deepEqual(errors, []);
	await ctx.close();
});

// A context whose pages can load the idb module (no service worker, so the
// route sees the request).
async function idbContext() {
	const ctx = await browser.newContext({ serviceWorkers: 'block' });
	await ctx.route(base + 'idb-test.js', (r) => r.fulfill({ status: 200,
	    contentType: 'text/javascript', body: idbModule }));
	return ctx;
}

async function idbPage(ctx, page = null) {
	page = page || await ctx.newPage();
	if (page.url() !== base)
		await page.goto(base, { waitUntil: 'load' });
	await page.addScriptTag({ url: base + 'idb-test.js', type: 'module' });
	await page.waitForFunction(() => window.skpIdbTest !== undefined);
	return page;
}

// What a page reads back from a PhoneState over openIdbKV('skp-idb-test').
function readBack(page) {
	return page.evaluate(async () => {
		const { openIdbKV, PhoneState } = window.skpIdbTest;
		const kv = await openIdbKV('skp-idb-test');
		const st = await PhoneState.open(kv);
		const id = await st.identity();
		const priv = id.mailbox.privateKey;
		const exported = await crypto.subtle.exportKey('pkcs8', priv).then(() => 'exported',
		    (e) => e.name);
		const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, priv,
		    new Uint8Array([1, 2, 3]));
		const pub = await crypto.subtle.importKey('raw', id.mailbox.publicKey,
		    { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
		const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, sig,
		    new Uint8Array([1, 2, 3]));
		const out = { name: id.name, identityPub: Array.from(id.identity.publicKey),
		    mailboxPub: Array.from(id.mailbox.publicKey),
		    isKey: priv instanceof CryptoKey && id.identity.privateKey instanceof CryptoKey,
		    extractable: priv.extractable || id.identity.privateKey.extractable,
		    exported, signs: ok, computers: (await st.computers()).map((c) => c.name).sort(),
		    extra: await kv.get('test/extra') ?? null };
		kv.close();
		return out;
	});
}

test('idb_state_survives_reload_and_new_page', { skip }, async () => {
	const ctx = await idbContext();
	const page = await idbPage(ctx);
	const made = await page.evaluate(async () => {
		const { openIdbKV, PhoneState, generateEcdh } = window.skpIdbTest;
		const kv = await openIdbKV('skp-idb-test');
		const st = await PhoneState.open(kv);
		const id = await st.createIdentity({ name: 'pixel', relay: 'ws://127.0.0.1:1' });
		const peer = await generateEcdh();
		await st.addComputer({ name: 'work', publicKey: peer.publicKey,
		    requestPsk: crypto.getRandomValues(new Uint8Array(32)) });
		kv.close();
		return { identityPub: Array.from(id.identity.publicKey),
		    mailboxPub: Array.from(id.mailbox.publicKey) };
	});
	const want = { name: 'pixel', ...made, isKey: true, extractable: false,
	    exported: 'InvalidAccessError', signs: true, computers: ['work'], extra: null };
	assert.deepEqual(await readBack(page), want, 'the same page');
	await page.reload({ waitUntil: 'load' });
	assert.deepEqual(await readBack(await idbPage(ctx, page)), want, 'after a reload');
	const other = await idbPage(ctx);
	assert.deepEqual(await readBack(other), want, 'in a new page');
	// another context is another browser profile: nothing there
	const ctx2 = await idbContext();
	const stranger = await idbPage(ctx2);
	assert.equal(await stranger.evaluate(async () => {
		const kv = await window.skpIdbTest.openIdbKV('skp-idb-test');
		return (await kv.keys()).length;
	}), 0);
	await ctx2.close();
	await ctx.close();
});

test('ed25519_key_in_idb', { skip }, async () => {
	const { createPublicKey, verify } = await import('node:crypto');
	const ctx = await idbContext();
	const page = await idbPage(ctx);
	const made = await page.evaluate(async () => {
		const { openIdbKV, PhoneState, generateEd25519, hasEd25519 } = window.skpIdbTest;
		const kv = await openIdbKV('skp-idb-ed');
		const st = await PhoneState.open(kv);
		await st.createIdentity({ name: 'pixel', relay: '' });
		const k = await generateEd25519();
		const id = crypto.getRandomValues(new Uint8Array(16));
		await st.addCredential({ id, rp: 'ssh:', userId: new Uint8Array([1]), userName: 'u',
		    privateKey: k.privateKey, publicKey: k.publicKey, resident: false, credProtect: 1,
		    created: 1, madeFor: 'work', alg: -8 });
		kv.close();
		return { has: await hasEd25519(), id: Array.from(id), pub: Array.from(k.publicKey) };
	});
	assert.equal(made.has, true, 'Chromium\'s WebCrypto has Ed25519');
	await page.reload({ waitUntil: 'load' });
	await idbPage(ctx, page);
	const back = await page.evaluate(async (idList) => {
		const { openIdbKV, PhoneState, signAuthData } = window.skpIdbTest;
		const kv = await openIdbKV('skp-idb-ed');
		const st = await PhoneState.open(kv);
		const c = await st.findCredential(new Uint8Array(idList));
		const [listed] = await st.credentials();
		const exported = await crypto.subtle.exportKey('pkcs8', c.privateKey).then(
		    () => 'exported', (e) => e.name);
		const ad = new Uint8Array(37), cdh = new Uint8Array(32).fill(7);
		const sig = await signAuthData(c.privateKey, ad, cdh);
		kv.close();
		return { alg: c.alg, type: listed.type, name: c.privateKey.algorithm.name,
		    extractable: c.privateKey.extractable, exported, pub: Array.from(c.publicKey),
		    sig: Array.from(sig) };
	}, made.id);
	assert.deepEqual([back.alg, back.type, back.name, back.extractable, back.exported],
	    [-8, 'ed25519-sk', 'Ed25519', false, 'InvalidAccessError']);
	assert.deepEqual(back.pub, made.pub);
	assert.equal(back.sig.length, 64);
	const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519',
	    x: Buffer.from(made.pub).toString('base64url') }, format: 'jwk' });
	const msg = Buffer.concat([Buffer.alloc(37), Buffer.alloc(32, 7)]);
	assert.ok(verify(null, msg, key, Buffer.from(back.sig)), 'node:crypto verifies it');
	await ctx.close();
	// a browser without Ed25519: generateKey refuses it as Chromium
	// did before it had it (NotSupportedError)
	const ctx2 = await idbContext();
	await ctx2.addInitScript(() => {
		const gen = SubtleCrypto.prototype.generateKey;
		SubtleCrypto.prototype.generateKey = function (alg, ...rest) {
			if ((alg?.name ?? alg) === 'Ed25519')
				return Promise.reject(new DOMException('Algorithm: Unrecognized name',
				    'NotSupportedError'));
			return gen.call(this, alg, ...rest);
		};
	});
	const without = await idbPage(ctx2);
	assert.deepEqual(await without.evaluate(async () => {
		const { generateEd25519, hasEd25519 } = window.skpIdbTest;
		const made = await generateEd25519().then(() => 'made', (e) => e.code);
		return [await hasEd25519(), made];
	}), [false, 'UNSUPPORTED']);
	await ctx2.close();
});

// The Hosts screen's CAs (api13 D): an OpenSSH CA key line and a pattern
// trusted, listed with its fingerprint, in the state; a line that is no
// key refused with a message; removed after the question.
test('hosts_screen_trusts_a_ca', { skip }, async () => {
	const { execFileSync } = await import('node:child_process');
	const { readFileSync } = await import('node:fs');
	const f = join(K.tmp, 'ui_ca');
	execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host-ca', '-f', f]);
	const line = readFileSync(f + '.pub', 'utf8').trim();
	const fp = execFileSync('ssh-keygen', ['-l', '-f', f + '.pub'], { encoding: 'utf8' })
	    .split(' ')[1];
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	await page.goto(base, { waitUntil: 'load' });
	await page.fill('[data-test="setup-name"]', 'pixel');
	await page.click('[data-test="setup-go"]');
	await page.click('[data-test="nav-hosts"]');
	await page.fill('[data-test="ca-pattern"]', '*.example.com');
	await page.fill('[data-test="ca-key"]', 'not a key');
	await page.click('[data-test="ca-add"]');
	await page.waitForSelector('#cas-h ~ form [role="alert"]:not([hidden])');
	await page.fill('[data-test="ca-key"]', line);
	await page.click('[data-test="ca-add"]');
	const row = await page.waitForSelector('[data-test="ca"][data-pattern="*.example.com"]');
	assert.match(await row.textContent(), new RegExp(fp.replace(/[+/]/g, '\\$&')));
	assert.deepEqual(await page.evaluate(async () =>
	    (await window.skpPhone.state.cas()).map((c) => c.pattern)), ['*.example.com']);
	await page.click('[data-test="ca-remove"]');
	await page.click('[data-test="confirm-yes"]');
	await page.waitForSelector('[data-test="ca"]', { state: 'detached' });
	assert.deepEqual(await page.evaluate(async () =>
	    (await window.skpPhone.state.cas()).length), 0);
	assert.deepEqual(errors, []);
	await ctx.close();
});

test('idb_concurrent_writes_both_persist', { skip }, async () => {
	const ctx = await idbContext();
	const [a, b] = [await idbPage(ctx), await idbPage(ctx)];
	await a.evaluate(async () => {
		const { openIdbKV, PhoneState, generateEcdh } = window.skpIdbTest;
		const kv = await openIdbKV('skp-idb-test');
		const st = await PhoneState.open(kv);
		await st.createIdentity({ name: 'pixel', relay: '' });
		const psk = () => crypto.getRandomValues(new Uint8Array(32));
		const [p1, p2] = [await generateEcdh(), await generateEcdh()];
		// one PhoneState, two writes of the same record at once
		await Promise.all([
			st.addComputer({ name: 'one', publicKey: p1.publicKey, requestPsk: psk() }),
			st.addComputer({ name: 'two', publicKey: p2.publicKey, requestPsk: psk() })]);
		kv.close();
	});
	// two pages, each its own connection, writing at the same moment
	const put = (page, key, n) => page.evaluate(async ([key, n]) => {
		const kv = await window.skpIdbTest.openIdbKV('skp-idb-test');
		await new Promise((r) => setTimeout(r, 200));
		for (let i = 0; i < n; i++)
			await kv.put(`${key}/${i}`, { i, bytes: new Uint8Array([i]) });
		kv.close();
	}, [key, n]);
	await Promise.all([put(a, 'a', 20), put(b, 'b', 20)]);
	await a.reload({ waitUntil: 'load' });
	await idbPage(ctx, a);
	const got = await a.evaluate(async () => {
		const { openIdbKV, PhoneState } = window.skpIdbTest;
		const kv = await openIdbKV('skp-idb-test');
		const st = await PhoneState.open(kv);
		const keys = (await kv.keys()).filter((k) => /^[ab]\//.test(k)).sort();
		const v = await kv.get('b/19');
		return { computers: (await st.computers()).map((c) => c.name).sort(), keys: keys.length,
		    last: [v.i, v.bytes instanceof Uint8Array, v.bytes[0]] };
	});
	assert.deepEqual(got, { computers: ['one', 'two'], keys: 40, last: [19, true, 19] });
	await ctx.close();
});
