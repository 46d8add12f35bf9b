// The test push service (test/push/pushsvc.mjs; docs/PROTOCOL.md §7.11,
// /work/notes/push-api.md §3) checked against the RFCs, not against the
// relay: RFC 8291 Appendix A's example decrypts with the RFC's keys; a
// sender written here from RFC 8291/8292 (its encryption checked equal to
// the RFC's example body, byte for byte) makes the pushes that the service
// must take, and the altered ones it must refuse; the modes the relay's
// tests use (410, 500 twice, 429 with Retry-After, hang) answer as they say.
//   node --test test/push/pushsvc.test.mjs   (test/web/run.sh sets node 18's flags)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
	createECDH, createHmac, createCipheriv, createPrivateKey, generateKeyPairSync, sign,
	randomBytes,
} from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startPushService, decrypt } from './pushsvc.mjs';

const u = (s) => Buffer.from(s, 'base64url');
const b64u = (b) => Buffer.from(b).toString('base64url');

// RFC 8291 Appendix A (and §5): the example's keys, salt and body.
const RFC = {
	plaintext: 'When I grow up, I want to be a watermelon',
	asPrivate: u('yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw'),
	asPublic: u('BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8'),
	uaPrivate: u('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94'),
	uaPublic: u('BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4'),
	auth: u('BTBZMqHH6r4Tts7J_aSIgg'),
	salt: u('DGv6ra1nlYgDCS1FRnbzlw'),
	body: u('DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN'),
};

// The sender's side, as RFC 8291 §3.4 writes it (HMAC steps spelled out),
// kept apart from the service's receiver.
const hmac = (k, d) => createHmac('sha256', k).update(d).digest();

function encrypt(plain, p256dh, auth, { salt = randomBytes(16), asPrivate = null } = {}) {
	const as = createECDH('prime256v1');
	if (asPrivate)
		as.setPrivateKey(asPrivate);
	else
		as.generateKeys();
	const asPublic = as.getPublicKey();
	const ecdhSecret = as.computeSecret(p256dh);
	const prkKey = hmac(auth, ecdhSecret);
	const ikm = hmac(prkKey, Buffer.concat([Buffer.from('WebPush: info\0'), p256dh, asPublic,
		Buffer.from([1])]));
	const prk = hmac(salt, ikm);
	const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
	const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
	const c = createCipheriv('aes-128-gcm', cek, nonce);
	const ct = Buffer.concat([c.update(Buffer.concat([Buffer.from(plain), Buffer.from([2])])),
		c.final(), c.getAuthTag()]);
	const head = Buffer.alloc(21);
	salt.copy(head, 0);
	head.writeUInt32BE(4096, 16);
	head[20] = 65;
	return Buffer.concat([head, asPublic, ct]);
}

// A VAPID key pair: the KeyObject and the raw 65-byte public key.
function vapidKey() {
	const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
	const jwk = publicKey.export({ format: 'jwk' });
	return { privateKey, raw: Buffer.concat([Buffer.from([4]), u(jwk.x), u(jwk.y)]) };
}

function jwt(key, claims, head = { typ: 'JWT', alg: 'ES256' }) {
	const data = `${b64u(JSON.stringify(head))}.${b64u(JSON.stringify(claims))}`;
	const sig = sign('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' });
	return `${data}.${b64u(sig)}`;
}

function http(port, method, path, { headers = {}, body = null } = {}) {
	return new Promise((resolve, reject) => {
		const req = request({ host: '127.0.0.1', port, method, path, headers,
			timeout: 10000 }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString();
				resolve({ status: res.statusCode, headers: res.headers,
					json: text ? JSON.parse(text) : null });
			});
		});
		req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
		req.on('error', reject);
		req.end(body);
	});
}

// A push as the relay makes it (push-api.md §1), each part replaceable.
function pushRequest(svc, sub, vk, over = {}) {
	const now = Math.floor(Date.now() / 1000);
	const claims = { aud: svc.origin, exp: now + 12 * 3600, sub: 'mailto:ops@example.org',
		...(over.claims || {}) };
	const token = over.token || jwt(vk.privateKey, claims);
	const headers = {
		'TTL': '30', 'Urgency': 'high', 'Content-Encoding': 'aes128gcm',
		'Content-Type': 'application/octet-stream',
		'Authorization': `vapid t=${token}, k=${b64u(vk.raw)}`,
		...(over.headers || {}),
	};
	for (const [k, v] of Object.entries(headers))
		if (v === null)
			delete headers[k];
	const body = over.body || encrypt(over.plain || '{"v":2,"call":"AAEC"}', u(sub.p256dh),
		u(sub.auth));
	return { path: new URL(sub.endpoint).pathname, headers, body };
}

async function send(svc, r) {
	return http(svc.port, 'POST', r.path, { headers: r.headers, body: r.body });
}

test('RFC 8291 Appendix A: the example body decrypts with the RFC\'s ua key and auth secret', () => {
	// The RFC's ua_public is its ua_private's point (the keys are what the RFC says).
	const ecdh = createECDH('prime256v1');
	ecdh.setPrivateKey(RFC.uaPrivate);
	assert.deepEqual(ecdh.getPublicKey(), RFC.uaPublic);
	assert.equal(decrypt(RFC.body, RFC.uaPrivate, RFC.uaPublic, RFC.auth).toString(), RFC.plaintext);
	// This test's sender, given the RFC's sender key and salt, makes the RFC's body.
	assert.deepEqual(encrypt(RFC.plaintext, RFC.uaPublic, RFC.auth,
		{ salt: RFC.salt, asPrivate: RFC.asPrivate }), RFC.body);
});

test('RFC 8291 Appendix A: an altered tag, ciphertext, salt, key or auth secret does not decrypt', () => {
	const flip = (i) => {
		const b = Buffer.from(RFC.body);
		b[i < 0 ? b.length + i : i] ^= 1;
		return b;
	};
	for (const [what, body] of [['tag', flip(-1)], ['ciphertext', flip(86)], ['salt', flip(0)]])
		assert.throws(() => decrypt(body, RFC.uaPrivate, RFC.uaPublic, RFC.auth),
			/tag fails/, what);
	// keyid: another point of the curve (the ua's own) in the sender's place.
	const other = Buffer.from(RFC.body);
	RFC.uaPublic.copy(other, 21);
	assert.throws(() => decrypt(other, RFC.uaPrivate, RFC.uaPublic, RFC.auth), /tag fails/);
	const auth = Buffer.from(RFC.auth);
	auth[0] ^= 1;
	assert.throws(() => decrypt(RFC.body, RFC.uaPrivate, RFC.uaPublic, auth), /tag fails/);
	// Not a point: refused before any decryption.
	const bad = Buffer.from(RFC.body);
	bad[22] ^= 1;
	assert.throws(() => decrypt(bad, RFC.uaPrivate, RFC.uaPublic, RFC.auth), /P-256|tag fails/);
	// A header that says something else.
	const idlen = Buffer.from(RFC.body);
	idlen[20] = 64;
	assert.throws(() => decrypt(idlen, RFC.uaPrivate, RFC.uaPublic, RFC.auth), /65-byte/);
	const rs = Buffer.from(RFC.body);
	rs.writeUInt32BE(17, 16);
	assert.throws(() => decrypt(rs, RFC.uaPrivate, RFC.uaPublic, RFC.auth), /record size 17/);
	assert.throws(() => decrypt(RFC.body.subarray(0, 20), RFC.uaPrivate, RFC.uaPublic, RFC.auth),
		/shorter/);
});

test('the RFC example pushed over HTTP to a subscription with the RFC\'s keys', async (t) => {
	const svc = await startPushService();
	t.after(() => svc.close());
	const sub = svc.newSubscription({ uaPrivate: RFC.uaPrivate, auth: RFC.auth });
	assert.equal(sub.p256dh, b64u(RFC.uaPublic));
	assert.equal(sub.endpoint, `http://127.0.0.1:${svc.port}/push/${sub.id}`);
	const vk = vapidKey();
	const r = await send(svc, pushRequest(svc, sub, vk, { body: RFC.body }));
	assert.equal(r.status, 201);
	assert.match(r.headers.location, /\/message\//);
	assert.equal(svc.log.length, 1);
	const e = svc.log[0];
	assert.equal(e.ok, true, e.error);
	assert.equal(e.payload, RFC.plaintext);
	assert.equal(e.ttl, '30');
	assert.equal(e.urgency, 'high');
	assert.equal(e.vapidKey, b64u(vk.raw));
	assert.equal(e.jwt.aud, svc.origin);
	assert.equal(e.jwt.sub, 'mailto:ops@example.org');
	assert.equal(e.status, 201);
});

test('refusals: altered tag, bad JWT signature, wrong aud, expired or far exp, no TTL, others', async (t) => {
	const svc = await startPushService();
	t.after(() => svc.close());
	const reply = await http(svc.port, 'POST', '/_sub');
	assert.equal(reply.status, 200);
	const sub = reply.json;
	assert.deepEqual(Object.keys(sub).sort(), ['auth', 'endpoint', 'id', 'p256dh']);
	assert.equal(u(sub.p256dh).length, 65);
	assert.equal(u(sub.auth).length, 16);
	const vk = vapidKey();
	const now = Math.floor(Date.now() / 1000);
	const good = pushRequest(svc, sub, vk);
	const tagged = Buffer.from(good.body);
	tagged[tagged.length - 1] ^= 0x80;
	const token = jwt(vk.privateKey, { aud: svc.origin, exp: now + 3600 });
	const [h, c, s] = token.split('.');
	const sig = u(s);
	sig[10] ^= 1;
	const other = vapidKey();
	const cases = [
		['altered tag', { body: tagged }, 400, /tag fails/],
		['bad JWT signature', { token: `${h}.${c}.${b64u(sig)}` }, 403, /signature does not verify/],
		['JWT signed by another key than k', { token: jwt(other.privateKey,
			{ aud: svc.origin, exp: now + 3600 }) }, 403, /signature does not verify/],
		['JWT claims altered after signing', { token: `${h}.${b64u(JSON.stringify(
			{ aud: svc.origin, exp: now + 7200 }))}.${s}` }, 403, /signature does not verify/],
		['wrong aud', { claims: { aud: 'http://127.0.0.1:1' } }, 403, /aud is "http:\/\/127\.0\.0\.1:1"/],
		['aud with a path', { claims: { aud: `${svc.origin}/` } }, 403, /aud/],
		['expired exp', { claims: { exp: now - 5 } }, 403, /expired/],
		['exp over 24 h away', { claims: { exp: now + 25 * 3600 } }, 403, /over 24 h/],
		['alg none', { token: `${b64u('{"alg":"none"}')}.${c}.` }, 403, /alg/],
		['no TTL', { headers: { TTL: null } }, 400, /no TTL/],
		['TTL not a number', { headers: { TTL: '1.5' } }, 400, /TTL/],
		['no Authorization', { headers: { Authorization: null } }, 401, /Authorization/],
		['WebPush instead of vapid', { headers: { Authorization: `WebPush ${token}` } }, 401, /vapid/],
		['aesgcm (the old draft)', { headers: { 'Content-Encoding': 'aesgcm' } }, 400, /aes128gcm/],
		['bad Urgency', { headers: { Urgency: 'now' } }, 400, /Urgency/],
		['body over 4096 bytes', { body: Buffer.alloc(4097) }, 413, /over 4096/],
	];
	for (const [what, over, status, error] of cases) {
		const n = svc.log.length;
		const r = await send(svc, pushRequest(svc, sub, vk, over));
		assert.equal(r.status, status, what);
		assert.equal(svc.log.length, n + 1, what);
		const e = svc.log[n];
		assert.equal(e.ok, false, what);
		assert.equal(e.payload, null, what);
		assert.equal(e.status, status, what);
		assert.match(e.error, error, what);
		assert.match(r.json.error, error, what);
	}
	// And the same push unaltered is taken; the log over HTTP has them all.
	const r = await send(svc, pushRequest(svc, sub, vk, { plain: 'tout va bien' }));
	assert.equal(r.status, 201);
	const log = (await http(svc.port, 'GET', `/_log?id=${sub.id}`)).json;
	assert.equal(log.length, cases.length + 1);
	assert.equal(log.at(-1).payload, 'tout va bien');
	assert.equal(log.at(-1).ok, true);
	// Unknown subscription: 404.
	const u404 = await send(svc, { ...pushRequest(svc, sub, vk), path: '/push/nosuchid' });
	assert.equal(u404.status, 404);
});

test('modes: 410 until changed, 500 twice then 201, delayMs, hang until closed', async (t) => {
	const svc = await startPushService();
	let closed = false;
	t.after(() => closed || svc.close());
	const vk = vapidKey();
	const a = svc.newSubscription();
	const status = async (sub) => (await send(svc, pushRequest(svc, sub, vk))).status;

	let r = await http(svc.port, 'POST', `/_mode/${a.id}`, { body: '{"status":410}' });
	assert.equal(r.status, 200);
	assert.deepEqual([await status(a), await status(a)], [410, 410]);
	// Recorded and decrypted all the same: a push service reads the request first.
	assert.equal(svc.log.at(-1).ok, true);
	assert.equal(svc.log.at(-1).status, 410);
	await http(svc.port, 'POST', `/_mode/${a.id}`, { body: '{}' });
	assert.equal(await status(a), 201);

	r = await http(svc.port, 'POST', `/_mode/${a.id}`, { body: '{"status":500,"times":2}' });
	assert.equal(r.status, 200);
	assert.deepEqual([await status(a), await status(a), await status(a)], [500, 500, 201]);
	assert.deepEqual(svc.log.slice(-3).map((e) => e.status), [500, 500, 201]);

	// A mode for an unknown subscription, or a bad one, is refused.
	assert.equal((await http(svc.port, 'POST', '/_mode/nosuch', { body: '{"status":410}' })).status, 404);
	assert.equal((await http(svc.port, 'POST', `/_mode/${a.id}`, { body: '{"status":99}' })).status, 400);

	// retryAfter: sent as Retry-After with the status, once; then 201
	// without it; out of range refused.
	await http(svc.port, 'POST', `/_mode/${a.id}`,
		{ body: '{"status":429,"retryAfter":2,"times":1}' });
	r = await send(svc, pushRequest(svc, a, vk));
	assert.equal(r.status, 429);
	assert.equal(r.headers['retry-after'], '2');
	r = await send(svc, pushRequest(svc, a, vk));
	assert.equal(r.status, 201);
	assert.equal(r.headers['retry-after'], undefined);
	assert.equal((await http(svc.port, 'POST', `/_mode/${a.id}`,
		{ body: '{"retryAfter":-1}' })).status, 400);

	// delayMs: the answer comes no sooner.
	await http(svc.port, 'POST', `/_mode/${a.id}`, { body: '{"delayMs":300,"times":1}' });
	const t0 = Date.now();
	assert.equal(await status(a), 201);
	assert.ok(Date.now() - t0 >= 290, `answered after ${Date.now() - t0} ms`);

	// hang: recorded, then no answer at all; the waiting /_log sees it
	// come; the request ends only when the service closes.
	const b = svc.newSubscription();
	await http(svc.port, 'POST', `/_mode/${b.id}`, { body: '{"hang":true}' });
	const pending = send(svc, pushRequest(svc, b, vk));
	let settled = null;
	pending.then((x) => { settled = x; }, (e) => { settled = e; });
	const seen = await http(svc.port, 'GET', `/_log?id=${b.id}&after=0&waitMs=10000`);
	assert.equal(seen.json.length, 1);
	assert.equal(seen.json[0].status, 'hang');
	assert.equal(seen.json[0].ok, true);
	// The log is written before the (non-)answer: one more round trip to
	// the service, and the hung request still has nothing.
	await http(svc.port, 'GET', '/_log');
	assert.equal(settled, null);
	closed = true;
	await svc.close();
	await assert.rejects(pending, /socket hang up|ECONNRESET/);
});

test('as a program: {"port":N} on stdout, serves, exits when stdin closes', async () => {
	const child = spawn(process.execPath, [fileURLToPath(new URL('./pushsvc.mjs', import.meta.url))],
		{ stdio: ['pipe', 'pipe', 'inherit'] });
	const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
	try {
		const line = await new Promise((resolve, reject) => {
			const rl = createInterface({ input: child.stdout });
			rl.once('line', resolve);
			child.once('exit', () => reject(new Error('pushsvc exited before its port')));
		});
		const { port } = JSON.parse(line);
		assert.ok(port > 0);
		const sub = (await http(port, 'POST', '/_sub')).json;
		assert.equal(sub.endpoint, `http://127.0.0.1:${port}/push/${sub.id}`);
		const svc = { port, origin: `http://127.0.0.1:${port}` };
		const r = await send(svc, pushRequest(svc, sub, vapidKey(), { plain: 'from python' }));
		assert.equal(r.status, 201);
		const log = (await http(port, 'GET', '/_log')).json;
		assert.equal(log.length, 1);
		assert.equal(log[0].payload, 'from python');
	} finally {
		child.stdin.end();
	}
	const timer = setTimeout(() => child.kill(), 10000);
	assert.equal(await exited, 0);
	clearTimeout(timer);
});
