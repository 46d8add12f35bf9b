// Host verification in the browser the web phone runs in: Debian's
// Chromium (SKP_CHROMIUM, /usr/bin/chromium) through playwright-core,
// loading web/src/phone/hostkey.js and hostcheck.js as ES modules from a
// loopback server (a secure context). Real ssh-keygen host keys
// (ed25519, ecdsa 256/384/521, rsa) and python3-cryptography signatures:
// Chromium's WebCrypto (BoringSSL) must answer each case as Node's
// (OpenSSL) and as lib/hostkey.c do: good signatures verify, a tampered
// one, another session id, DER or raw r||s where SSH has mpints fail,
// ssh-rsa is UNSUPPORTED. An RSA key with a 65-bit exponent, which
// Chromium will not import, verifies through hostkey.js's BigInt RSA.
// Never skipped: without Chromium it fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyHostSignature } from '../src/phone/hostkey.js';
import { CODES } from '../src/proto/err.js';
import { toHex, concat } from '../src/proto/bytes.js';
import { realKeys } from './hostpeer.js';

const WEB = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.SKP_CHROMIUM || '/usr/bin/chromium';
const { keys: KEYS } = realKeys();

function serve() {
	const server = createServer((req, res) => {
		const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
		if (path === '/') {
			res.writeHead(200, { 'content-type': 'text/html' });
			res.end('<!doctype html><title>hostkey</title>');
			return;
		}
		const file = join(WEB, path);
		if (!path.startsWith('/src/') || !file.endsWith('.js') || !existsSync(file)) {
			res.writeHead(404);
			res.end();
			return;
		}
		res.writeHead(200, { 'content-type': 'text/javascript' });
		res.end(readFileSync(file));
	});
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const flip = (b, i) => {
	const c = b.slice();
	c[(i + c.length) % c.length] ^= 1;
	return c;
};

async function nodeCode(key, sig, sid) {
	try {
		await verifyHostSignature(key, sig, sid);
		return 0;
	} catch (e) {
		if (!e.code)
			throw e;
		return CODES[e.code];
	}
}

test('Chromium verifies host signatures as Node does', async (t) => {
	assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: sh scripts/deps.sh installs chromium`);
	const { chromium } = createRequire(join(WEB, 'package.json'))('playwright-core');
	const cases = [];
	for (const k of KEYS) {
		const add = (what, sig, sid, want) => cases.push({ what: `${k.kind} ${what}`,
			key: toHex(k.blob), sig: toHex(sig), sid: toHex(sid), want });
		add('good', k.sigs.good, k.sid, 0);
		add('tampered', flip(k.sigs.good, -1), k.sid, CODES.VERIFY);
		add('another session id', k.sigs.good, flip(k.sid, 0), CODES.VERIFY);
		add('trailing', concat(k.sigs.good, [0]), k.sid, CODES.FORMAT);
		if (k.sigs.der) {
			add('DER', k.sigs.der, k.sid, CODES.FORMAT);
			add('raw r||s', k.sigs.raw, k.sid, CODES.FORMAT);
		}
		if (k.sigs['ssh-rsa']) {
			add('rsa-sha2-256', k.sigs['rsa-sha2-256'], k.sid, 0);
			add('ssh-rsa', k.sigs['ssh-rsa'], k.sid, CODES.UNSUPPORTED);
		}
	}
	const h = (x) => Uint8Array.from(Buffer.from(x, 'hex'));
	for (const c of cases)
		assert.equal(await nodeCode(h(c.key), h(c.sig), h(c.sid)), c.want, `node: ${c.what}`);
	const server = await serve();
	const browser = await chromium.launch({
		executablePath: CHROMIUM, headless: true, timeout: 30000,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	try {
		const page = await browser.newPage();
		await page.goto(`http://127.0.0.1:${server.address().port}/`);
		const got = await page.evaluate(async (list) => {
			const hk = await import('/src/phone/hostkey.js');
			const { CODES: codes } = await import('/src/proto/err.js');
			const { hostCheck } = await import('/src/phone/hostcheck.js');
			const { fromHex } = await import('/src/proto/bytes.js');
			const out = [];
			for (const c of list) {
				try {
					await hk.verifyHostSignature(fromHex(c.key), fromHex(c.sig), fromHex(c.sid));
					out.push(0);
				} catch (e) {
					out.push(e.code ? codes[e.code] : String(e));
				}
			}
			// one whole check: a plain login signed by the Ed25519 host
			const ed = list[0];
			const sid = fromHex(ed.sid);
			const s = (b) => [0, 0, b.length >> 8, b.length & 255, ...b];
			const t = (x) => s(Array.from(new TextEncoder().encode(x)));
			const raw = Uint8Array.from([...s(Array.from(sid)), 50, ...t('root'), ...t('ssh-connection'),
				...t('publickey'), 1, ...t('ssh-ed25519'), ...t('KEY')]);
			const { parseData } = await import('/src/phone/sshmsg.js');
			const hc = await hostCheck({ login: parseData(raw),
				hostInfo: { name: 'DB1', port: 22, hostKey: fromHex(ed.key), signature: fromHex(ed.sig) },
				pins: [] });
			// does this browser import the 65-bit exponent itself?
			const big = list.find((c) => c.what === 'rsa-big-e good');
			const r = new DataView(fromHex(big.key).buffer);
			const eLen = r.getUint32(11);
			const b64 = (b) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-')
			    .replace(/\//g, '_').replace(/=+$/, '');
			const kb = fromHex(big.key);
			let bigE = 'imported';
			try {
				await crypto.subtle.importKey('jwk', { kty: 'RSA', e: b64(kb.subarray(15, 15 + eLen)),
					n: b64(kb.subarray(15 + eLen + 5)) },
				    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
			} catch (e) {
				bigE = `refused (${e.name})`;
			}
			return { codes: out, hc: [hc.state, hc.pinName, hc.type], ua: navigator.userAgent, bigE };
		}, cases);
		assert.match(got.ua, /Chrome\//);
		t.diagnostic(`${got.ua.match(/Chrome\/\S+/)[0]}: a 65-bit RSA exponent ${got.bigE} by WebCrypto`);
		cases.forEach((c, i) => assert.equal(got.codes[i], c.want, `chromium: ${c.what}`));
		assert.deepEqual(got.hc, ['new', 'db1', 'ssh-ed25519']);
	} finally {
		await browser.close();
		server.close();
	}
});
