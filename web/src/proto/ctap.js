// The envelopes of docs/PROTOCOL.md §4.2-§4.4 and the CTAP parameter maps
// the phone reads (§4.5-§4.8), with protocol 2's padding: the behaviour of
// lib/ctap.c. The phone's side: decodeRequest, encodeResponse,
// decodePin; the computer's side (for tests and interop): encodeRequest's
// building blocks, decodeResponse, encodePin.
//
// A refused request throws SkpError with .status, the CTAP status the
// phone answers (§4.9): MISSING_PARAMETER for a missing key, and so on.

import * as cbor from './cbor.js';
import { equal } from './bytes.js';
import { sha256 } from './crypto.js';
import { fail, SkpError } from './err.js';
import { parseRelayUrl } from './relayurl.js';

export const VERSION = 2;
export const CMD = Object.freeze({
	MAKE_CREDENTIAL: 0x01, GET_ASSERTION: 0x02, GET_INFO: 0x04,
	CRED_MGMT: 0x0a, FORGET: 0x41,
});
export const CM_ENUM_RPS = 0x02;
export const CM_ENUM_CREDS = 0x04;
export const STATUS = Object.freeze({
	OK: 0x00, INVALID_COMMAND: 0x01, INVALID_PARAMETER: 0x02,
	INVALID_LENGTH: 0x03, TIMEOUT: 0x05, CHANNEL_BUSY: 0x06,
	CBOR_UNEXPECTED_TYPE: 0x11, INVALID_CBOR: 0x12, MISSING_PARAMETER: 0x14,
	CREDENTIAL_EXCLUDED: 0x19, INVALID_CREDENTIAL: 0x22,
	UNSUPPORTED_ALGORITHM: 0x26, OPERATION_DENIED: 0x27, KEY_STORE_FULL: 0x28,
	UNSUPPORTED_OPTION: 0x2b, INVALID_OPTION: 0x2c, NO_CREDENTIALS: 0x2e,
	USER_ACTION_TIMEOUT: 0x2f, NOT_ALLOWED: 0x30, PIN_INVALID: 0x31,
	PIN_BLOCKED: 0x32, PIN_REQUIRED: 0x36, INVALID_SUBCOMMAND: 0x3e,
	OTHER: 0x7f, STALE: 0xf0, REPLAYED: 0xf1, RAW_MISMATCH: 0xf2,
	HOSTKEY_CHANGED: 0xf3, NOT_PAIRED: 0xf4, UV_UNAVAILABLE: 0xf5,
	BAD_VERSION: 0xf6, HOST_UNVERIFIED: 0xf7,
});
export const REQUEST_BUCKETS = Object.freeze([2048, 8192, 32768, 65000]);
export const RESPONSE_BUCKETS = Object.freeze([1024, 4096, 16384, 65000]);
export const PIN_MSG_LEN = 128;
export const PAD_KEY = 15;
export const ENVELOPE_MAX = 65000;
export const LIMITS = Object.freeze({
	REQUEST_ID: 16, CDH: 32, RP_ID: 255, RP_NAME: 64, USER_ID: 64,
	USER_NAME: 64, CRED_ID_MIN: 16, CRED_ID_MAX: 128, RAW: 8192,
	REASON: 256, COMPUTER_NAME: 64, PIN: 63, HOST_NAME: 255, HOST_BLOB: 2048,
	KEX_NAME: 64, ALLOW: 4, ALG_PARAMS: 8, MAILBOX_ID: 32,
});
export const COSE_ES256 = -7;
export const COSE_EDDSA = -8;
// The algorithms a phone may make keys of (§4.5): which one the phone
// takes is its own (phone/engine.js: the first of the list it supports).
const KNOWN_ALGS = [COSE_ES256, COSE_EDDSA];
const PUBLIC_KEY = 'public-key';
const TYPE_MAX = 32;

// Inside the decoders a missing key is NOT_FOUND (the phone answers
// MISSING_PARAMETER); callers see FORMAT, as lib/ctap.c's public_rc.
class Missing extends SkpError {
	constructor(what) {
		super('NOT_FOUND', `${what} is missing`);
	}
}

function statusOf(e) {
	switch (e.code) {
	case 'NOT_FOUND': return STATUS.MISSING_PARAMETER;
	case 'CBOR_TYPE': return STATUS.CBOR_UNEXPECTED_TYPE;
	case 'TOO_LARGE': return STATUS.INVALID_LENGTH;
	case 'VERSION':
	case 'OLD_VERSION': return STATUS.BAD_VERSION;
	case 'NOMEM':
	case 'INTERNAL': return STATUS.OTHER;
	default: return STATUS.INVALID_CBOR;
	}
}

// A refusal that names its CTAP status.
function refuse(status, code, message) {
	const e = new SkpError(code, message);
	e.status = status;
	throw e;
}

// Types as lib/cbor.c's getters see them.
const T = {
	uint: (v) => (typeof v === 'number' && v >= 0) || (typeof v === 'bigint' && v >= 0n),
	negint: (v) => (typeof v === 'number' && v < 0) || (typeof v === 'bigint' && v < 0n),
	bytes: (v) => v instanceof Uint8Array,
	text: (v) => typeof v === 'string',
	array: (v) => Array.isArray(v),
	map: (v) => v instanceof Map,
	bool: (v) => typeof v === 'boolean',
};

function isMap(m) {
	if (!(m instanceof Map))
		fail('CBOR_TYPE', 'not a map');
}

// The value under key, of type t: NOT_FOUND when absent, CBOR_TYPE when
// another type.
function need(m, key, t) {
	isMap(m);
	if (!m.has(key))
		throw new Missing(`key ${key}`);
	const v = m.get(key);
	if (!T[t](v))
		fail('CBOR_TYPE', `key ${key} is not ${t}`);
	return v;
}

function opt(m, key, t) {
	isMap(m);
	return m.has(key) ? need(m, key, t) : undefined;
}

// Integer keys only, each in the list (sk-phone's own maps).
function only(m, keys) {
	isMap(m);
	for (const k of m.keys())
		if (typeof k !== 'number' || !keys.includes(k))
			fail('FORMAT', `unknown key ${String(k)}`);
}

function getUint(v) {
	return typeof v === 'bigint' ? v : v;
}

const enc = new TextEncoder();

function getBytes(v, min, max) {
	if (v.length > max)
		fail('TOO_LARGE', 'byte string over its limit');
	if (v.length < min)
		fail('FORMAT', 'byte string under its limit');
	return v;
}

function getText(v, max) {
	if (enc.encode(v).length > max)
		fail('TOO_LARGE', 'text over its limit');
	if (v.includes('\0'))
		fail('FORMAT', 'text with a NUL');
	return v;
}

// Text a person reads: also no byte below 0x20 and no 0x7f.
function getShown(v, min, max) {
	getText(v, max);
	if (enc.encode(v).length < min || /[\x00-\x1f\x7f]/.test(v))
		fail('FORMAT', 'shown text with a control character or empty');
	return v;
}

function optShownS(m, key, max) {
	const v = opt(m, key, 'text');
	return v === undefined ? '' : getShown(v, 0, max);
}

function optBoolS(m, key) {
	return opt(m, key, 'bool');
}

// Key 15, when present, must be bytes of zeros only.
function checkPad(m) {
	const v = opt(m, PAD_KEY, 'bytes');
	if (v === undefined)
		return;
	getBytes(v, 0, ENVELOPE_MAX);
	if (v.some((b) => b !== 0))
		fail('FORMAT', 'padding that is not zeros');
}

// ---- padding (§4.2) ----

function padHead(r) {
	if (r >= 2 && r <= 25)
		return 1;
	if (r >= 27 && r <= 258)
		return 2;
	if (r >= 260 && r <= 3 + 65535)
		return 3;
	return 0;
}

// An encoded map of fewer than 23 pairs, padded with key 15 to the first
// bucket it can fill exactly.
export function padTo(b, buckets) {
	if (b.length === 0 || b[0] < 0xa0 || b[0] >= 0xa0 + 23)
		fail('INVALID', 'padding needs a map of fewer than 23 pairs');
	for (const B of buckets) {
		if (B < b.length)
			continue;
		const r = B - b.length, head = padHead(r);
		if (!head)
			continue;
		const out = new Uint8Array(B);
		out.set(b);
		out[0]++;
		const n = r - 1 - head;
		let o = b.length;
		out[o++] = PAD_KEY;
		if (head === 1) {
			out[o++] = 0x40 + n;
		} else if (head === 2) {
			out[o++] = 0x58;
			out[o++] = n;
		} else {
			out[o++] = 0x59;
			out[o++] = n >> 8;
			out[o++] = n & 255;
		}
		return out;
	}
	fail('TOO_LARGE', 'the envelope fits no bucket');
}

// ---- request (message 1), the phone's side ----

function decRpId(v) {
	return getShown(v, 1, LIMITS.RP_ID);
}

function decMc(p) {
	const mc = {};
	mc.cdh = getBytes(need(p, 1, 'bytes'), LIMITS.CDH, LIMITS.CDH);
	const rp = need(p, 2, 'map');
	mc.rpId = decRpId(need(rp, 'id', 'text'));
	mc.rpName = optShownS(rp, 'name', LIMITS.RP_NAME);
	const user = need(p, 3, 'map');
	mc.userId = getBytes(need(user, 'id', 'bytes'), 1, LIMITS.USER_ID);
	mc.userName = optShownS(user, 'name', LIMITS.USER_NAME);
	mc.userDisplayName = optShownS(user, 'displayName', LIMITS.USER_NAME);
	const algs = need(p, 4, 'array');
	if (algs.length > LIMITS.ALG_PARAMS)
		fail('TOO_LARGE', 'too many algorithms');
	mc.algs = [];
	for (const e of algs) {
		if (!T.map(e))
			fail('CBOR_TYPE', 'an algorithm that is not a map');
		isMap(e);
		if (!e.has('alg'))
			throw new Missing('alg');
		const alg = e.get('alg');
		if (!T.uint(alg) && !T.negint(alg))
			fail('CBOR_TYPE', 'alg is not an integer');
		if ((typeof alg === 'bigint' ? alg : BigInt(alg)) > 0x7fffffffffffffffn ||
		    (typeof alg === 'bigint' ? alg : BigInt(alg)) < -0x8000000000000000n)
			fail('TOO_LARGE', 'alg out of range');
		const type = getText(need(e, 'type', 'text'), TYPE_MAX);
		if (KNOWN_ALGS.includes(alg) && type === PUBLIC_KEY && !mc.algs.includes(alg))
			mc.algs.push(alg);
	}
	if (mc.algs.length === 0)
		refuse(STATUS.UNSUPPORTED_ALGORITHM, 'UNSUPPORTED',
		    'no ES256 or EdDSA public-key algorithm');
	const ext = opt(p, 6, 'map');
	mc.credProtect = 0;
	if (ext !== undefined) {
		const v = opt(ext, 'credProtect', 'uint');
		if (v !== undefined) {
			if (v < 1 || v > 3)
				refuse(STATUS.INVALID_PARAMETER, 'FORMAT', 'credProtect outside 1..3');
			mc.credProtect = Number(v);
		}
	}
	const o = opt(p, 7, 'map');
	mc.rk = mc.up = mc.uv = undefined;
	if (o !== undefined) {
		mc.rk = optBoolS(o, 'rk');
		mc.up = optBoolS(o, 'up');
		mc.uv = optBoolS(o, 'uv');
	}
	return mc;
}

function decCredRef(e) {
	if (!T.map(e))
		fail('CBOR_TYPE', 'a credential that is not a map');
	const id = getBytes(need(e, 'id', 'bytes'), LIMITS.CRED_ID_MIN, LIMITS.CRED_ID_MAX);
	const type = getText(need(e, 'type', 'text'), TYPE_MAX);
	if (type !== PUBLIC_KEY)
		fail('FORMAT', 'a credential type that is not public-key');
	return { id };
}

function decGa(p) {
	const ga = {};
	ga.rpId = decRpId(need(p, 1, 'text'));
	ga.cdh = getBytes(need(p, 2, 'bytes'), LIMITS.CDH, LIMITS.CDH);
	const list = opt(p, 3, 'array');
	ga.allow = [];
	if (list !== undefined) {
		if (list.length > LIMITS.ALLOW)
			fail('TOO_LARGE', 'allow list too long');
		if (list.length === 0)
			fail('FORMAT', 'an empty allow list');
		ga.allow = list.map(decCredRef);
	}
	ga.up = ga.uv = undefined;
	const o = opt(p, 5, 'map');
	if (o !== undefined) {
		ga.up = optBoolS(o, 'up');
		ga.uv = optBoolS(o, 'uv');
	}
	return ga;
}

function decCm(p) {
	const cm = {};
	const sc = need(p, 1, 'uint');
	if (sc !== CM_ENUM_RPS && sc !== CM_ENUM_CREDS)
		refuse(STATUS.INVALID_SUBCOMMAND, 'UNSUPPORTED', 'unknown subcommand');
	cm.subcommand = sc;
	const sub = opt(p, 2, 'map');
	if (sub === undefined)
		return cm;
	if (sc === CM_ENUM_RPS)
		refuse(STATUS.INVALID_PARAMETER, 'FORMAT', 'enumerateRPsBegin takes no parameters');
	only(sub, [1]);
	cm.rpIdHash = getBytes(need(sub, 1, 'bytes'), 32, 32);
	return cm;
}

function decHost(m) {
	only(m, [1, 2, 3, 4, 5]);
	const h = {};
	h.name = getShown(need(m, 1, 'text'), 1, LIMITS.HOST_NAME);
	const port = need(m, 2, 'uint');
	if (port === 0 || port > 65535)
		fail('FORMAT', 'a port outside 1..65535');
	h.port = Number(port);
	h.hostKey = getBytes(need(m, 3, 'bytes'), 1, LIMITS.HOST_BLOB);
	h.signature = getBytes(need(m, 4, 'bytes'), 1, LIMITS.HOST_BLOB);
	h.kex = getShown(need(m, 5, 'text'), 1, LIMITS.KEX_NAME);
	return h;
}

// Context key 6, origin (§4.3): 1 through ssh-agent; other values are
// kept and ignored by the phone (a newer computer's), a wrong type is
// refused.
export const ORIGIN_AGENT = 1;

function decCtx(m) {
	only(m, [1, 2, 3, 4, 5, 6]);
	const c = {};
	const raw = opt(m, 1, 'bytes');
	if (raw !== undefined)
		c.raw = getBytes(raw, 0, LIMITS.RAW);
	c.computerName = getShown(need(m, 2, 'text'), 1, LIMITS.COMPUTER_NAME);
	const host = opt(m, 3, 'map');
	if (host !== undefined)
		c.host = decHost(host);
	// Protocol 1 sent the PIN here: refused, whatever its type.
	if (m.has(4))
		refuse(STATUS.INVALID_PARAMETER, 'FORMAT', 'a PIN in message 1 (protocol 1)');
	c.overwrite = opt(m, 5, 'bool') ?? false;
	const origin = opt(m, 6, 'uint');
	if (origin !== undefined)
		c.origin = typeof origin === 'bigint' ? -1 : origin;
	return c;
}

// The request envelope (message 1 payload) -> { id, timeMs (BigInt or
// Number), command, mc | ga | cm, ctx }. Throws SkpError with .status.
export function decodeRequest(bytes) {
	try {
		const m = cbor.decode(bytes, ENVELOPE_MAX);
		if (!(m instanceof Map))
			fail('CBOR_TYPE', 'the request is not a map');
		// The version first: a newer envelope may have other keys.
		const v = need(m, 1, 'uint');
		if (v !== VERSION)
			fail(v > VERSION ? 'VERSION' : 'OLD_VERSION', v > VERSION ?
			    'the computer speaks a newer sk-phone protocol: update the phone' :
			    'the computer speaks an older sk-phone protocol: update sk-phone ' +
			    'on the computer (the phone speaks protocol 2)');
		only(m, [1, 2, 3, 4, 5, 6, PAD_KEY]);
		checkPad(m);
		const req = {};
		req.id = getBytes(need(m, 2, 'bytes'), LIMITS.REQUEST_ID, LIMITS.REQUEST_ID);
		req.timeMs = need(m, 3, 'uint');
		const cmd = need(m, 4, 'uint');
		if (!Object.values(CMD).includes(cmd))
			refuse(STATUS.INVALID_COMMAND, 'UNSUPPORTED', 'an unknown command');
		req.command = cmd;
		const params = opt(m, 5, 'map');
		if (cmd === CMD.GET_INFO || cmd === CMD.FORGET) {
			if (params !== undefined)
				refuse(STATUS.INVALID_PARAMETER, 'FORMAT', 'parameters for a command that takes none');
		} else if (params === undefined) {
			throw new Missing('parameters');
		}
		if (cmd === CMD.MAKE_CREDENTIAL)
			req.mc = decMc(params);
		else if (cmd === CMD.GET_ASSERTION)
			req.ga = decGa(params);
		else if (cmd === CMD.CRED_MGMT)
			req.cm = decCm(params);
		req.ctx = decCtx(need(m, 6, 'map'));
		if ((cmd === CMD.MAKE_CREDENTIAL || cmd === CMD.GET_ASSERTION) &&
		    req.ctx.raw === undefined)
			throw new Missing('raw data');
		return req;
	} catch (e) {
		if (!(e instanceof SkpError))
			throw e;
		const status = e.status ?? statusOf(e);
		const out = e.code === 'NOT_FOUND' ? new SkpError('FORMAT', e.message) : e;
		out.status = status;
		throw out;
	}
}

// The request's keys 4, 5 (when present) and 6, as a canonical CBOR map of
// their own (§8.11's request digest: the same for the same request sent
// again with another id and time). bytes: an envelope decodeRequest took.
export function requestCore(bytes) {
	const m = cbor.decode(bytes, ENVELOPE_MAX);
	const core = new Map();
	for (const k of [4, 5, 6])
		if (m.has(k))
			core.set(k, m.get(k));
	return cbor.encode(core, ENVELOPE_MAX);
}

// §4.3: SHA-256(raw data) must equal the clientDataHash, else 0xF2.
export async function rawMatches(req) {
	const cdh = req.mc ? req.mc.cdh : req.ga ? req.ga.cdh : null;
	if (!cdh || req.ctx.raw === undefined)
		fail('INVALID', 'only makeCredential and getAssertion carry raw data');
	return equal(await sha256(req.ctx.raw), cdh);
}

// ---- request, the computer's side (tests) ----

// Encodes { id, timeMs, command, params (a Map or undefined), ctx: {
// raw, computerName, host: {name, port, hostKey, signature, kex},
// overwrite, origin } } and pads it. Parameter maps are given as built Maps.
export function encodeRequest({ id, timeMs, command, params, ctx, version = VERSION }) {
	const c = new Map();
	if (ctx.raw !== undefined)
		c.set(1, ctx.raw);
	c.set(2, ctx.computerName);
	if (ctx.host)
		c.set(3, new Map([[1, ctx.host.name], [2, ctx.host.port],
		    [3, ctx.host.hostKey], [4, ctx.host.signature], [5, ctx.host.kex]]));
	if (ctx.overwrite)
		c.set(5, true);
	if (ctx.origin !== undefined)
		c.set(6, ctx.origin);
	const m = new Map([[1, version], [2, id], [3, timeMs], [4, command]]);
	if (params !== undefined)
		m.set(5, params);
	m.set(6, c);
	return padTo(cbor.encode(m, ENVELOPE_MAX), REQUEST_BUCKETS);
}

// ---- response (message 2, transport message 4) ----

// { status, ctap: a Map or Array (status 0 only), reason, move: { id,
// relay }, pinMayFollow, phoneTime (ms since 1970, 0xF0 only: key 6),
// unpadded } -> bytes, padded unless unpadded (only the version refusal
// 0xF6 is).
export function encodeResponse({ status, ctap, reason, move, pinMayFollow = false,
    phoneTime, unpadded = false }) {
	if ((status === STATUS.OK) !== (ctap !== undefined))
		fail('INVALID', 'an answer carries a CTAP response or a reason, never both');
	if (reason !== undefined && (status === STATUS.OK ||
	    enc.encode(reason).length > LIMITS.REASON || /[\x00-\x1f\x7f]/.test(reason)))
		fail('INVALID', 'a reason only with a refusal, printable, 256 bytes at most');
	if (pinMayFollow && (status !== STATUS.PIN_REQUIRED || unpadded))
		fail('INVALID', '"the PIN may follow" only with 0x36');
	if (move !== undefined) {
		if (unpadded || !(move.id instanceof Uint8Array) ||
		    move.id.length !== LIMITS.MAILBOX_ID)
			fail('INVALID', 'a mailbox move is a 32-byte id and a relay URL');
		parseRelayUrl(move.relay);
	}
	if (phoneTime !== undefined && (status !== STATUS.STALE ||
	    !Number.isSafeInteger(phoneTime) || phoneTime < 0))
		fail('INVALID', 'the phone\'s time only with 0xF0, in ms since 1970');
	if (ctap !== undefined && !(ctap instanceof Map) && !Array.isArray(ctap))
		fail('INVALID', 'a CTAP response is a map or an array');
	const m = new Map([[1, status]]);
	if (ctap !== undefined)
		m.set(2, ctap);
	if (reason)
		m.set(3, reason);
	if (move)
		m.set(4, new Map([[1, move.id], [2, move.relay]]));
	if (pinMayFollow)
		m.set(5, true);
	if (phoneTime !== undefined)
		m.set(6, phoneTime);
	const b = cbor.encode(m, ENVELOPE_MAX);
	return unpadded ? b : padTo(b, RESPONSE_BUCKETS);
}

export function decodeResponse(bytes) {
	try {
		const m = cbor.decode(bytes, ENVELOPE_MAX);
		if (!(m instanceof Map))
			fail('CBOR_TYPE', 'the response is not a map');
		only(m, [1, 2, 3, 4, 5, 6, PAD_KEY]);
		checkPad(m);
		const st = need(m, 1, 'uint');
		const r = {};
		const mv = opt(m, 4, 'map');
		if (mv !== undefined) {
			only(mv, [1, 2]);
			const id = getBytes(need(mv, 1, 'bytes'), 32, 32);
			const relay = getText(need(mv, 2, 'text'), 255);
			try {
				parseRelayUrl(relay);
			} catch {
				fail('FORMAT', 'a mailbox move to a relay URL that is refused');
			}
			r.move = { id, relay };
		}
		if (st > 255)
			fail('FORMAT', 'a status above 255');
		r.status = st;
		const hasBody = m.has(2);
		if (hasBody && !T.map(m.get(2)) && !T.array(m.get(2)))
			fail('CBOR_TYPE', 'key 2 is not a map or an array');
		if (st === STATUS.OK && !hasBody)
			throw new Missing('the CTAP response');
		if (st !== STATUS.OK && hasBody)
			fail('FORMAT', 'a CTAP response with a refusal');
		if (hasBody)
			r.ctap = m.get(2);
		const reason = opt(m, 3, 'text');
		if (reason !== undefined) {
			if (st === STATUS.OK)
				fail('FORMAT', 'a reason with status 0');
			r.reason = getShown(reason, 0, LIMITS.REASON);
		}
		const pmf = opt(m, 5, 'bool');
		r.pinMayFollow = false;
		if (pmf !== undefined) {
			if (!pmf || st !== STATUS.PIN_REQUIRED)
				fail('FORMAT', '"the PIN may follow" only true and with 0x36');
			r.pinMayFollow = true;
		}
		// §4.2 key 6: the phone's clock, with 0xF0 (stale) only.
		const pt = opt(m, 6, 'uint');
		if (pt !== undefined) {
			if (st !== STATUS.STALE)
				fail('FORMAT', 'the phone\'s time with a status other than 0xF0');
			r.phoneTime = pt;
		}
		return r;
	} catch (e) {
		if (e instanceof Missing)
			throw new SkpError('FORMAT', e.message);
		throw e;
	}
}

// ---- the PIN message (transport message 3) ----

export function encodePin(pin) {
	if (typeof pin !== 'string' || pin.length === 0 ||
	    enc.encode(pin).length > LIMITS.PIN)
		fail('INVALID', 'a PIN is 1 to 63 bytes');
	return padTo(cbor.encode(new Map([[1, pin]])), [PIN_MSG_LEN]);
}

// -> the PIN (a string); FORMAT, CBOR_TYPE, TOO_LARGE... otherwise (the
// phone answers 0x02 INVALID_PARAMETER).
export function decodePin(bytes) {
	try {
		const m = cbor.decode(bytes, PIN_MSG_LEN);
		if (!(m instanceof Map))
			fail('CBOR_TYPE', 'the PIN message is not a map');
		only(m, [1, PAD_KEY]);
		checkPad(m);
		const pin = getText(need(m, 1, 'text'), LIMITS.PIN);
		if (pin.length === 0)
			fail('FORMAT', 'an empty PIN');
		return pin;
	} catch (e) {
		if (e instanceof Missing)
			throw new SkpError('FORMAT', e.message);
		throw e;
	}
}
