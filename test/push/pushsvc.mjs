// A push service for the tests (issue 12; docs/PROTOCOL.md §7.11, Web
// Push; /work/notes/push-api.md §3): what the relay sends a push to, on
// 127.0.0.1, since no real push service is reachable from the tests.
// It checks the request as a push service would (RFC 8030 headers, the
// VAPID Authorization of RFC 8292) and decrypts its body as the browser
// would (RFC 8291 over RFC 8188's aes128gcm), written here from the
// RFCs with Node's own crypto: independent of the relay's C code.
//
// As a module:
//   const svc = await startPushService({ onPush(entry) {} });
//   svc.port, svc.origin, svc.newSubscription(), svc.log, svc.close()
//   (tls: {cert, key} in PEM: https, as every real push service is)
// As a program (for the Python tests):
//   node test/push/pushsvc.mjs [--tls CERT KEY]
// prints one line {"port":N} and serves until its standard input closes;
// with --tls, https with that certificate and key (PEM files).
//
// HTTP:
//   POST /_sub          -> {id, endpoint, p256dh, auth} (base64url): a new
//                          subscription; the service keeps its private key
//   POST /push/ID       what the relay calls: checked, decrypted, recorded,
//                          then answered as the mode of ID says (201)
//   POST /_mode/ID      {"status":410} | {"status":500,"times":2} |
//                          {"status":429,"retryAfter":2,"times":1} |
//                          {"hang":true} | {"delayMs":3000}: how the next
//                          pushes to ID are answered ({} back to 201);
//                          retryAfter (seconds) is sent as Retry-After
//   GET  /_log          [{id, ok, error, ttl, urgency, topic, vapidKey,
//                          jwt: {aud, exp, sub}, payload, at, status}]
//                          ?id=ID only those; ?after=N&waitMs=M waits (at
//                          most M ms, M <= 30000) for more than N of them
// An unknown ID is 404. A push that fails a check is recorded (ok false,
// error saying which) and answered 400 (headers, body), 401 (no vapid
// Authorization), 403 (JWT signature or claims) or 413 (body too large).

import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import {
	createECDH, createHmac, createDecipheriv, createPublicKey, verify, randomBytes,
} from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const b64u = (buf) => Buffer.from(buf).toString('base64url');

// Strict base64url without padding (RFC 7515 §2): anything else throws.
export function unb64u(s) {
	if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1)
		throw new Error('not base64url');
	return Buffer.from(s, 'base64url');
}

const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

// HKDF-SHA-256 (RFC 5869) for at most one block of output, which is all
// RFC 8291 and RFC 8188 take (32, 16 and 12 bytes).
function hkdf(salt, ikm, info, len) {
	const prk = hmac(salt, ikm);
	return hmac(prk, Buffer.concat([info, Buffer.from([1])])).subarray(0, len);
}

export const MAX_BODY = 4096;		// RFC 8030 §7.2: what a push service must take
const MAX_READ = 65536;			// read no more than this of a request
const DAY_S = 24 * 3600;

// RFC 8291 §3.4 and RFC 8188 §2: the plaintext of a Web Push body, for
// the subscription's key pair (uaPrivate 32 bytes, uaPublic 65) and auth
// secret (16). Throws Error saying what is wrong with the body.
export function decrypt(body, uaPrivate, uaPublic, auth) {
	body = Buffer.from(body);
	if (body.length < 21)
		throw new Error(`body of ${body.length} bytes is shorter than the aes128gcm header`);
	const salt = body.subarray(0, 16);
	const rs = body.readUInt32BE(16);
	const idlen = body[20];
	if (idlen !== 65)
		throw new Error(`keyid of ${idlen} bytes: RFC 8291 wants the sender's 65-byte public key`);
	if (body.length < 21 + idlen)
		throw new Error('body ends inside the header');
	const asPublic = body.subarray(21, 21 + idlen);
	const record = body.subarray(21 + idlen);
	if (rs < 18)
		throw new Error(`record size ${rs} is below RFC 8188's 18`);
	// RFC 8291 §4: one record, and no more than rs bytes of it.
	if (record.length > rs)
		throw new Error(`record of ${record.length} bytes is over the record size ${rs}`);
	if (record.length < 17)
		throw new Error(`record of ${record.length} bytes has no room for the tag and delimiter`);
	const ecdh = createECDH('prime256v1');
	ecdh.setPrivateKey(uaPrivate);
	let secret;
	try {
		secret = ecdh.computeSecret(asPublic);
	} catch (e) {
		throw new Error('the sender\'s key is not a P-256 point');
	}
	// RFC 8291 §3.3 and §3.4.
	const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
	const ikm = hkdf(auth, secret, keyInfo, 32);
	const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
	const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
	// RFC 8188 §2.3: the nonce of record 0 is the nonce itself.
	const d = createDecipheriv('aes-128-gcm', cek, nonce);
	d.setAuthTag(record.subarray(record.length - 16));
	let padded;
	try {
		padded = Buffer.concat([d.update(record.subarray(0, record.length - 16)), d.final()]);
	} catch (e) {
		throw new Error('the record does not decrypt (wrong keys or altered: the tag fails)');
	}
	// RFC 8188 §2: plaintext, then the delimiter (2: the last record), then zeros.
	let i = padded.length - 1;
	while (i >= 0 && padded[i] === 0)
		i--;
	if (i < 0 || padded[i] !== 2)
		throw new Error(`the record's delimiter is ${i < 0 ? 'missing' : padded[i]}, not 2 (last record)`);
	return padded.subarray(0, i);
}

// A P-256 public key (65 bytes, 0x04 X Y) as a KeyObject.
function p256Key(raw) {
	if (raw.length !== 65 || raw[0] !== 4)
		throw new Error('k is not a 65-byte uncompressed P-256 point');
	return createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-256',
		x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33)) } });
}

// RFC 8292 §3: "vapid t=JWT, k=KEY" -> {jwt, key}, or throws.
export function parseVapid(header) {
	const m = /^vapid\s+(.*)$/i.exec(header || '');
	if (!m)
		throw new Error('Authorization is not "vapid t=..., k=..."');
	const params = {};
	for (const part of m[1].split(',')) {
		const kv = /^\s*([A-Za-z]+)\s*=\s*("?)([^"]*)\2\s*$/.exec(part);
		if (!kv)
			throw new Error(`Authorization parameter ${JSON.stringify(part.trim())} is not name=value`);
		const name = kv[1].toLowerCase();
		if (Object.hasOwn(params, name))
			throw new Error(`Authorization has ${name}= twice`);
		params[name] = kv[3];
	}
	if (!params.t || !params.k)
		throw new Error('Authorization lacks t= or k=');
	return { jwt: params.t, key: params.k };
}

// RFC 8292 §2 and RFC 7515/7519: the JWT signed with ES256 by the key k;
// aud must be origin, exp in the future and at most 24 h away. Returns
// the claims, or throws.
export function checkJwt(jwt, keyB64, origin, nowS = Date.now() / 1000) {
	const parts = jwt.split('.');
	if (parts.length !== 3)
		throw new Error('the JWT is not three base64url parts');
	let head, claims, sig, key;
	try {
		head = JSON.parse(unb64u(parts[0]).toString());
		claims = JSON.parse(unb64u(parts[1]).toString());
		sig = unb64u(parts[2]);
	} catch (e) {
		throw new Error('the JWT\'s parts are not base64url JSON');
	}
	if (head === null || typeof head !== 'object' || head.alg !== 'ES256')
		throw new Error(`the JWT's alg is ${JSON.stringify(head && head.alg)}, not ES256`);
	if (head.typ !== undefined && head.typ !== 'JWT')
		throw new Error(`the JWT's typ is ${JSON.stringify(head.typ)}`);
	if (sig.length !== 64)
		throw new Error(`the JWT's signature is ${sig.length} bytes, not ES256's 64 (r || s)`);
	key = p256Key(unb64u(keyB64));
	const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
		{ key, dsaEncoding: 'ieee-p1363' }, sig);
	if (!ok)
		throw new Error('the JWT\'s signature does not verify with k');
	if (claims === null || typeof claims !== 'object')
		throw new Error('the JWT\'s claims are not an object');
	if (claims.aud !== origin)
		throw new Error(`the JWT's aud is ${JSON.stringify(claims.aud)}, not ${origin}`);
	if (!Number.isInteger(claims.exp))
		throw new Error('the JWT has no whole-number exp');
	if (claims.exp <= nowS)
		throw new Error(`the JWT expired ${Math.ceil(nowS - claims.exp)} s ago`);
	if (claims.exp > nowS + DAY_S)
		throw new Error(`the JWT's exp is ${Math.floor(claims.exp - nowS)} s away, over 24 h`);
	if (claims.sub !== undefined && (typeof claims.sub !== 'string' ||
	    !/^(mailto:|https:)/.test(claims.sub)))
		throw new Error(`the JWT's sub ${JSON.stringify(claims.sub)} is not a mailto: or https: URI`);
	return { aud: claims.aud, exp: claims.exp, sub: claims.sub === undefined ? null : claims.sub };
}

class Refused extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

function readBody(req, cap) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let n = 0;
		req.on('data', (c) => {
			n += c.length;
			if (n <= cap)
				chunks.push(c);
		});
		req.on('end', () => resolve({ body: Buffer.concat(chunks), length: n }));
		req.on('error', reject);
	});
}

function answer(res, status, obj, headers = {}) {
	const body = obj === undefined ? '' : JSON.stringify(obj);
	res.writeHead(status, { 'Content-Type': 'application/json',
		'Content-Length': Buffer.byteLength(body), ...headers });
	res.end(body);
}

// Start the service on 127.0.0.1 (port 0: any free one); with tls
// ({cert, key}, PEM), https.
export function startPushService({ onPush = null, host = '127.0.0.1', port = 0,
	tls = null } = {}) {
	const subs = new Map();		// id -> {uaPrivate, uaPublic, auth}
	const modes = new Map();	// id -> {status, times, hang, delayMs}
	const log = [];
	const waiters = new Set();	// () => void, woken on each new entry
	const hung = new Set();		// responses held by {hang: true}
	const sockets = new Set();
	let origin = null;

	function newSubscription({ uaPrivate = null, auth = null } = {}) {
		const ecdh = createECDH('prime256v1');
		if (uaPrivate)
			ecdh.setPrivateKey(Buffer.from(uaPrivate));
		else
			ecdh.generateKeys();
		const id = randomBytes(12).toString('base64url');
		const sub = { uaPrivate: ecdh.getPrivateKey(), uaPublic: ecdh.getPublicKey(),
			auth: auth ? Buffer.from(auth) : randomBytes(16) };
		subs.set(id, sub);
		return { id, endpoint: `${origin}/push/${id}`, p256dh: b64u(sub.uaPublic),
			auth: b64u(sub.auth) };
	}

	function record(entry) {
		log.push(entry);
		for (const w of [...waiters])
			w();
		if (onPush)
			onPush(entry);
	}

	// The checks of a push, in the order a push service makes them; the
	// entry filled as far as it got.
	function check(req, id, body, length, entry) {
		const sub = subs.get(id);
		if (!sub)
			throw new Refused(404, `no subscription ${id}`);
		const h = req.headers;
		entry.ttl = h.ttl === undefined ? null : h.ttl;
		entry.urgency = h.urgency === undefined ? null : h.urgency;
		entry.topic = h.topic === undefined ? null : h.topic;
		entry.contentType = h['content-type'] === undefined ? null : h['content-type'];
		entry.length = length;
		let vapid;
		if (!h.authorization)
			throw new Refused(401, 'no Authorization header (RFC 8292 vapid)');
		try {
			vapid = parseVapid(h.authorization);
		} catch (e) {
			throw new Refused(401, e.message);
		}
		entry.vapidKey = vapid.key;
		try {
			entry.jwt = checkJwt(vapid.jwt, vapid.key, origin);
		} catch (e) {
			throw new Refused(403, e.message);
		}
		// RFC 8030 §5.2: TTL is required, a whole number of seconds.
		if (h.ttl === undefined)
			throw new Refused(400, 'no TTL header');
		if (!/^\d{1,10}$/.test(h.ttl))
			throw new Refused(400, `TTL ${JSON.stringify(h.ttl)} is not a whole number of seconds`);
		// RFC 8030 §5.3.
		if (h.urgency !== undefined && !['very-low', 'low', 'normal', 'high'].includes(h.urgency))
			throw new Refused(400, `Urgency ${JSON.stringify(h.urgency)} is not one of RFC 8030's`);
		// RFC 8030 §5.4: at most 32 base64url characters.
		if (h.topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(h.topic))
			throw new Refused(400, `Topic ${JSON.stringify(h.topic)} is not 1..32 base64url characters`);
		if (h['content-encoding'] !== 'aes128gcm')
			throw new Refused(400, `Content-Encoding ${JSON.stringify(h['content-encoding'])}, not aes128gcm`);
		if (length > MAX_BODY)
			throw new Refused(413, `body of ${length} bytes, over ${MAX_BODY}`);
		try {
			entry.payload = decrypt(body, sub.uaPrivate, sub.uaPublic, sub.auth).toString('utf8');
		} catch (e) {
			throw new Refused(400, e.message);
		}
	}

	async function push(req, res, id) {
		const { body, length } = await readBody(req, MAX_READ);
		const entry = { id, ok: false, error: null, ttl: null, urgency: null, topic: null,
			contentType: null, length: 0, vapidKey: null, jwt: null, payload: null,
			at: Date.now(), status: null };
		try {
			check(req, id, body, length, entry);
		} catch (e) {
			if (!(e instanceof Refused))
				throw e;
			entry.error = e.message;
			entry.status = e.status;
			record(entry);
			answer(res, e.status, { error: e.message });
			return;
		}
		entry.ok = true;
		const mode = modes.get(id) || {};
		if (mode.times !== undefined && --mode.times <= 0)
			modes.delete(id);
		if (mode.hang) {
			entry.status = 'hang';
			hung.add(res);
			res.on('close', () => hung.delete(res));
			record(entry);
			return;
		}
		entry.status = mode.status || 201;
		record(entry);
		const send = () => {
			if (res.destroyed)
				return;
			if (entry.status === 201)
				res.setHeader('Location', `${origin}/message/${randomBytes(8).toString('hex')}`);
			answer(res, entry.status, undefined, mode.retryAfter === undefined ? {} :
				{ 'Retry-After': String(mode.retryAfter) });
		};
		if (mode.delayMs)
			setTimeout(send, mode.delayMs);
		else
			send();
	}

	async function setMode(req, res, id) {
		const { body } = await readBody(req, 4096);
		let m;
		try {
			m = JSON.parse(body.toString() || '{}');
		} catch (e) {
			answer(res, 400, { error: 'the mode is not JSON' });
			return;
		}
		if (!subs.has(id)) {
			answer(res, 404, { error: `no subscription ${id}` });
			return;
		}
		const mode = {};
		if (m.status !== undefined) {
			if (!Number.isInteger(m.status) || m.status < 200 || m.status > 599) {
				answer(res, 400, { error: 'status: want an HTTP status 200..599' });
				return;
			}
			mode.status = m.status;
		}
		if (m.times !== undefined) {
			if (!Number.isInteger(m.times) || m.times < 1) {
				answer(res, 400, { error: 'times: want a whole number from 1' });
				return;
			}
			mode.times = m.times;
		}
		if (m.hang)
			mode.hang = true;
		if (m.delayMs !== undefined) {
			if (!Number.isInteger(m.delayMs) || m.delayMs < 0 || m.delayMs > 60000) {
				answer(res, 400, { error: 'delayMs: want 0..60000' });
				return;
			}
			mode.delayMs = m.delayMs;
		}
		if (m.retryAfter !== undefined) {
			if (!Number.isInteger(m.retryAfter) || m.retryAfter < 0 || m.retryAfter > 3600) {
				answer(res, 400, { error: 'retryAfter: want 0..3600 (seconds)' });
				return;
			}
			mode.retryAfter = m.retryAfter;
		}
		if (Object.keys(mode).length === 0)
			modes.delete(id);
		else
			modes.set(id, mode);
		answer(res, 200, mode);
	}

	async function getLog(res, url) {
		const id = url.searchParams.get('id');
		const pick = () => (id === null ? log : log.filter((e) => e.id === id));
		const after = Number(url.searchParams.get('after') || 0);
		const waitMs = Math.min(Number(url.searchParams.get('waitMs') || 0), 30000);
		if (waitMs > 0 && pick().length <= after) {
			await new Promise((resolve) => {
				const done = () => {
					if (pick().length > after || res.destroyed) {
						clearTimeout(timer);
						waiters.delete(done);
						resolve();
					}
				};
				const timer = setTimeout(() => {
					waiters.delete(done);
					resolve();
				}, waitMs);
				waiters.add(done);
			});
		}
		answer(res, 200, pick());
	}

	const handler = (req, res) => {
		const url = new URL(req.url, origin);
		const path = url.pathname;
		let m;
		const route = async () => {
			if (req.method === 'POST' && path === '/_sub') {
				await readBody(req, 4096);
				answer(res, 200, newSubscription());
			} else if (req.method === 'POST' && (m = /^\/push\/([A-Za-z0-9_-]{1,64})$/.exec(path))) {
				await push(req, res, m[1]);
			} else if (req.method === 'POST' && (m = /^\/_mode\/([A-Za-z0-9_-]{1,64})$/.exec(path))) {
				await setMode(req, res, m[1]);
			} else if (req.method === 'GET' && path === '/_log') {
				await getLog(res, url);
			} else {
				await readBody(req, 0);
				answer(res, 404, { error: `no ${req.method} ${path} here` });
			}
		};
		route().catch((e) => {
			if (!res.headersSent)
				answer(res, 500, { error: String(e.message || e) });
		});
	};
	const server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handler) :
		createServer(handler);
	server.on('connection', (s) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});

	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, host, () => {
			const p = server.address().port;
			origin = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${p}`;
			resolve({
				port: p,
				origin,
				log,
				newSubscription,
				setMode(id, mode) {
					if (Object.keys(mode).length === 0)
						modes.delete(id);
					else
						modes.set(id, { ...mode });
				},
				close() {
					for (const w of [...waiters])
						w();
					waiters.clear();
					return new Promise((done) => {
						server.close(() => done());
						for (const r of hung)
							r.destroy();
						for (const s of sockets)
							s.destroy();
					});
				},
			});
		});
	});
}

// As a program: {"port":N} on standard output; exit when standard input
// closes (the test that started it ended, whatever way).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	const args = process.argv.slice(2);
	let tls = null;
	if (args.length === 3 && args[0] === '--tls') {
		tls = { cert: readFileSync(args[1]), key: readFileSync(args[2]) };
	} else if (args.length !== 0) {
		process.stderr.write('usage: node pushsvc.mjs [--tls CERT KEY]\n');
		process.exit(2);
	}
	const svc = await startPushService({
		tls,
		onPush(e) {
			process.stderr.write(`pushsvc: push to ${e.id}: ${e.ok ? 'ok' : e.error}, ` +
				`answered ${e.status}\n`);
		},
	});
	process.stdout.write(JSON.stringify({ port: svc.port }) + '\n');
	process.stdin.resume();
	process.stdin.on('end', () => svc.close().then(() => process.exit(0)));
	process.stdin.on('error', () => process.exit(0));
}
