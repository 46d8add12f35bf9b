// The web phone's rules for one request: docs/PROTOCOL.md §8.3 steps 2-7
// (the checks, in their order, with their statuses and reasons), §8.4
// (the answers), §8.5 (what the owner is shown) and §8.6 (the windows and
// the question), as the reference phone does them
// (cmd/sk-phone-authenticator/handle.c, serve.c, prompt.c). The queue of
// §8.6 (one question at a time) is the caller's: ask() may wait.
//
//   const engine = new Engine({ state, now });
//   const out = await engine.handle({ call, ask, getPin, notify });
//   // out: { status, ctap, reason, phoneTime (0xF0 only), unpadded, pinPath,
//   // hangUp } for
//   // proto/ctap.js encodeResponse; pinPath: the answer goes in transport
//   // message 4 (call.answerAfterPin); hangUp: send nothing, end the call.
//
// ask(question) resolves 'once' | 'host' | 'window' | 'reject' | 'timeout'
// | 'cancelled' (the computer gave up: nothing is sent), and also 'busy'
// (the queue is full: 0x06), 'waited' (waited too long behind others:
// 0x06) or 'window-open' (question.recheck() said a window opened while
// it waited: answered under that window, as serve.c's owner_turn). getPin() sends message 2 (0x36 with key 5) and resolves the PIN
// of transport message 3, or null when none came (nothing more is sent);
// it rejects with SkpError DECRYPT for a message 3 not from the computer
// (the call ends, nothing sent) and another SkpError for a malformed PIN
// message (0x02). notify(text): a signature made without asking.
//
// preview({ call }) (Web Push, §8.11): the same checks as handle() and the
// same question, with nothing recorded (no replay id, no audit line, no
// counter, no PIN asked, nothing signed) -> { digest, computer, op,
// refused: { status, reason } | null, question | null, auto: what would
// answer it without asking ('allow-window', 'allow-host-window',
// 'allow-no-touch', 'info', 'unpair') | null, needsPin, answerable: the
// owner can answer it with allow once / reject from a notification }.
// requestDigest(call): §8.11's request digest, hex.
// handle({ ..., via: 'notification' }): the audit line says so.

import * as ad from '../proto/authdata.js';
import { equal, toHex, utf8 } from '../proto/bytes.js';
import * as cbor from '../proto/cbor.js';
import { generateEcdsa, generateEd25519, hasEd25519, randomBytes, sha256 }
    from '../proto/crypto.js';
import { CMD, CM_ENUM_RPS, COSE_EDDSA, COSE_ES256, ORIGIN_AGENT, rawMatches, STATUS }
    from '../proto/ctap.js';
import { SkpError } from '../proto/err.js';
import { hostCheck, verifiedWord } from './hostcheck.js';
import { describe, parseData, printable as shown, SshReader } from './sshmsg.js';
import { credentialFingerprint, keyType, REPLAY_MS } from './state.js';

export const FRESH_MS = 120000;
export const WINDOW_S = 3 * 3600;
const SK_ECDSA = 'sk-ecdsa-sha2-nistp256@openssh.com';
const SK_ED25519 = 'sk-ssh-ed25519@openssh.com';

export const REASONS = Object.freeze({
	OLD_VERSION: 'the computer speaks an older sk-phone protocol: update ' +
	    'sk-phone on the computer (the phone speaks protocol 2)',
	VERSION: 'the computer speaks a newer sk-phone protocol: update the ' +
	    'phone (reload the web phone\'s page)',
	MALFORMED: 'malformed request',
	STATE: 'the phone cannot read its stored state: see the phone\'s page',
	MISMATCH: 'the data does not match its hash',
	REPLAYED: 'request replayed',
	FLOOD: 'too many requests from this computer in 10 minutes: try again later',
	BAD_APP: 'bad application',
	EXISTS: 'a resident key for this application and user exists',
	NO_KEY: 'no such key on the phone',
	OTHER_KEY: 'the login names another key',
	UV_NONE: 'user verification not available: the phone has no PIN (set one ' +
	    'in the web phone\'s settings)',
	PIN_REQUIRED: 'PIN required',
	PIN_BLOCKED: 'PIN blocked after too many wrong tries: the phone\'s owner ' +
	    'must reset the count in the web phone\'s settings',
	PIN_STUCK: 'the phone cannot record wrong PINs: PIN blocked until it restarts',
	PIN_WRONG: 'wrong PIN',
	PIN_MALFORMED: 'malformed PIN message',
	SAVE: 'the phone cannot save its state',
	REJECT: 'rejected on the phone',
	TIMEOUT: 'no answer on the phone in time',
	BUSY: '16 requests already wait on the phone',
	WAITED: 'not asked: waited too long behind another request on the phone',
	UNKNOWN: 'unknown command',
	NO_ED25519: 'this phone cannot make Ed25519 keys (its browser has no Ed25519 in ' +
	    'WebCrypto): use ecdsa-sk',
	NO_ALG: 'no algorithm the phone can make keys of (it makes ES256' +
	    ' and, where its browser has it, EdDSA)',
	AGENT_NO_HOST: 'through ssh-agent, no local record of this login (a forwarded ' +
	    'agent, or ssh without sk-phone proxy): host not verified',
});

// The COSE algorithms this phone makes keys of, in its order of
// preference (§4.7 getInfo key 10): EdDSA only where the browser's
// WebCrypto makes non-extractable Ed25519 keys (asked once).
export async function phoneAlgorithms() {
	return (await hasEd25519()) ? [COSE_ES256, COSE_EDDSA] : [COSE_ES256];
}

// What a person reads: escaped as §8.5 says, cut as the reference
// phone's 300-byte buffers cut it.
function printable(s) {
	return shown(s, 300);
}

// The audit log's word for a refusal, from its status (handle.c).
function refusal(status) {
	switch (status) {
	case STATUS.STALE: return 'refused-stale';
	case STATUS.REPLAYED: return 'refused-replay';
	case STATUS.RAW_MISMATCH: return 'refused-data-mismatch';
	case STATUS.UV_UNAVAILABLE: return 'refused-uv-unavailable';
	case STATUS.PIN_REQUIRED: return 'refused-pin-required';
	case STATUS.PIN_INVALID: return 'refused-pin-invalid';
	case STATUS.PIN_BLOCKED: return 'refused-pin-blocked';
	case STATUS.CREDENTIAL_EXCLUDED: return 'refused-exists';
	case STATUS.NO_CREDENTIALS: return 'refused-no-such-key';
	case STATUS.CHANNEL_BUSY: return 'refused-busy';
	case STATUS.KEY_STORE_FULL: return 'refused-full';
	case STATUS.OPERATION_DENIED: return 'reject';
	case STATUS.USER_ACTION_TIMEOUT: return 'reject-no-answer';
	case STATUS.HOSTKEY_CHANGED: return 'refused-host-key-changed';
	default: return 'refused-invalid';
	}
}

// A pinned host key changed (§8.3): the pin name, quoted in the command
// when it has brackets; a reason over 256 bytes has a shorter form.
export function changedReason(host) {
	const q = host.includes('[') ? '\'' : '';
	const r = `host key for ${host} changed; the phone refused to sign; if the ` +
	    `change is expected, forget the host on the web phone's Hosts screen ` +
	    `(or, on a reference phone: sk-phone-authenticator hosts forget ${q}${host}${q})`;
	return utf8(r).length <= 256 ? r : 'the pinned host key changed; the phone ' +
	    'refused to sign; if the change is expected, forget the host on the web ' +
	    'phone\'s Hosts screen';
}

function durationText(s) {
	return s % 3600 === 0 ? `${s / 3600} hours` : `${s} seconds`;
}

// §8.11: SHA-256 over the paired computer's name as a CBOR text string,
// then the request's keys 4, 5 and 6 as one canonical CBOR map (ctap.js
// requestCore): the same for a request sent again (new id, time, Noise
// handshake), different for another command, parameters, context or
// computer. Hex; null for a request that did not decode.
export async function requestDigest(call) {
	if (!call.core || !call.computer)
		return null;
	return toHex(await sha256(cbor.encode(call.computer.name), call.core));
}

// Can the owner answer this preview from a notification (allow once or
// reject), without the page: asked, no PIN, not a host's first use.
export function answerable(q, needsPin = false) {
	return !!q && !needsPin && q.hostState !== 'first-use' && !q.warning &&
	    q.choices.includes('once');
}

// Thrown inside handle() to end it with an answer.
class Answer {
	constructor(out) {
		this.out = out;
	}
}

export class Engine {
	// windowSeconds: how long 'host' and 'window' last (§8.6; tests may
	// shorten it); noTouch: 'sign' (default: signed without asking) or
	// 'ask' (as run --no-touch ask).
	constructor({ state, now = () => Date.now(), windowSeconds = WINDOW_S,
	    noTouch = 'sign', mark = () => {} }) {
		this.state = state;
		this.mark = mark;	// mark(step): the bench's timeline (controller.js)
		this.now = now;
		this.windowSeconds = windowSeconds;
		this.noTouch = noTouch;
		this.pinStuck = false;
		this.hostCheck = hostCheck;
		// Computers whose replay share is full: name -> refusals counted.
		this.flood = new Map();
	}

	// begun: the caller's state.beginRequest(), started when the request
	// came in (its store read then runs beside the Noise handshake);
	// without it, handle() begins the request itself.
	async handle({ call, ask, getPin, notify = () => {}, begun = null, via = null }) {
		const r = { call, computer: call.computer, op: null, subject: null,
		    msg: null, host: null, keyFp: null, uv: false, pinPath: false,
		    decision: null, cred: null, commit: false, notice: null, via };
		let out;
		try {
			// The store checked once (another tab may have written); the
			// request's reads then come from memory.
			await (begun ?? this.state.beginRequest());
			r.begun = true;
			this.mark('begun');
			out = await this.steps(r, { ask, getPin });
		} catch (e) {
			if (e instanceof Answer) {
				out = e.out;
			} else {
				// Whatever failed inside, the computer hears a refusal.
				r.decision = 'failed';
				// Printable ASCII, at most 200 bytes: a reason always encodes.
				out = this.refuse(r, STATUS.OTHER, shown(String(e?.message || e), 200));
			}
		}
		out.pinPath = r.pinPath;
		this.mark('decided');
		out = await this.record(r, out);
		this.mark('stored');
		// The replay id is on disk before the answer leaves (the audit
		// line's write takes it; this when that write failed).
		if (this.state.hasPending?.()) {
			try {
				await this.state.flush();
			} catch {
				out = { status: STATUS.OTHER, reason: REASONS.SAVE, pinPath: r.pinPath };
			}
		}
		if (r.begun)
			this.state.endRequest();
		// Shown only once the signature is the phone's for good.
		if (r.notice && out.status === STATUS.OK)
			notify(r.notice);
		return out;
	}

	// What handle() would ask, with nothing recorded (the header says).
	async preview({ call }) {
		const r = { call, computer: call.computer, op: null, subject: null,
		    msg: null, host: null, keyFp: null, uv: false, pinPath: false,
		    decision: null, cred: null, preview: true, needsPin: false, auto: null,
		    question: null };
		const digest = await requestDigest(call);
		let refused = null;
		try {
			await this.state.beginRequest();
			r.begun = true;
			const out = await this.steps(r, { ask: null, getPin: null, notify: null });
			if (out && out.status !== undefined && out.status !== STATUS.OK)
				refused = { status: out.status, reason: out.reason };
		} catch (e) {
			if (e instanceof Answer) {
				if (e.out.status !== STATUS.OK)
					refused = { status: e.out.status, reason: e.out.reason };
			} else {
				refused = { status: STATUS.OTHER, reason: shown(String(e?.message || e), 200) };
			}
		} finally {
			if (r.begun)
				this.state.endRequest();
		}
		const q = refused ? null : r.question;
		return { digest, computer: call.computer?.name ?? null, op: r.op, refused,
		    question: q, auto: refused ? null : r.auto, needsPin: r.needsPin,
		    answerable: !refused && !r.auto && answerable(q, r.needsPin) };
	}

	// ---- answers ----

	refuse(r, status, reason, decision) {
		if (decision)
			r.decision = decision;
		if (!r.decision)
			r.decision = refusal(status);
		const out = { status, reason };
		// Protocol 1's computer must be able to read why it was refused.
		if (status === STATUS.BAD_VERSION)
			out.unpadded = true;
		return out;
	}

	stop(r, status, reason, decision) {
		throw new Answer(this.refuse(r, status, reason, decision));
	}

	// One audit line per decision (serve.c's finish/record): not for a
	// getInfo answered, and only the first refusal of a flood. Returns the
	// answer to send: a signature (r.commit) goes only when its line was
	// written, in the same write as its counter and the replay id (§8.4);
	// when that write fails the signature is dropped and the computer is
	// refused (nothing of it was stored: one transaction, all or none).
	async record(r, out) {
		const name = r.computer?.name;
		if (r.decision === 'refused-flood') {
			if (this.flood.has(name)) {
				this.flood.set(name, this.flood.get(name) + 1);
				return out;
			}
			this.flood.set(name, 1);
		} else {
			this.flood.delete(name);
		}
		// getInfo is no decision: it is answered to anyone paired.
		if (r.command === CMD.GET_INFO && out.status === STATUS.OK)
			return out;
		const line = () => this.state.audit({ computer: name, op: r.op ?? 'request',
		    subject: r.subject, host: r.host?.auditHost ?? null,
		    verified: this.verifiedWord(r), key: r.keyFp,
		    event: r.decision ?? r.allowed ?? 'refused', via: r.via ?? null }, this.now());
		let err;
		try {
			await line();
			return out;
		} catch (e) {
			if (!(r.commit && out.status === STATUS.OK))
				return out;	// the answer still goes; the page shows the trouble
			err = e;
		}
		// The signature's counter is not on disk: the signature never
		// leaves. The counter stays taken in memory (it never goes back),
		// written with the next write: the refusal's line, if it can be.
		out.ctap = null;
		r.decision = 'failed';
		const refusal = { ...this.refuse(r, STATUS.OTHER, shown(String(err?.message || err),
		    200)), pinPath: out.pinPath };
		await line().catch(() => {});
		return refusal;
	}

	verifiedWord(r) {
		return verifiedWord(r.host ?? { state: 'none' }, this.isLogin(r));
	}

	isLogin(r) {
		return r.command === CMD.GET_ASSERTION && r.msg?.kind === 'login';
	}

	// ---- §8.3, in order ----

	async steps(r, { ask, getPin }) {
		const call = r.call;
		if (call.refusal) {
			const c = call.refusal.code;
			this.stop(r, call.refusal.status ?? STATUS.INVALID_CBOR,
			    c === 'OLD_VERSION' ? REASONS.OLD_VERSION : c === 'VERSION' ?
			    REASONS.VERSION : REASONS.MALFORMED);
		}
		const req = call.request;
		r.req = req;
		r.command = req.command;
		this.describe(r);
		const nowMs = this.now();
		// Step 3: nothing shown or signed unless the data is what is signed.
		if (req.command === CMD.MAKE_CREDENTIAL || req.command === CMD.GET_ASSERTION) {
			if (!(await rawMatches(req)))
				this.stop(r, STATUS.RAW_MISMATCH, REASONS.MISMATCH);
			r.msg = parseData(req.ctx.raw);
			this.describe(r);
		}
		// Step 4: freshness, exactly FRESH_MS accepted.
		const t = Number(req.timeMs);
		const skew = Math.abs(nowMs - t);
		// The answer carries the phone's clock (§4.2 key 6): the computer
		// sends the request again in the phone's time.
		if (skew > FRESH_MS)
			throw new Answer({ ...this.refuse(r, STATUS.STALE, `the request's time is ` +
			    `${Math.round(skew / 1000)} s ${t > nowMs ? 'ahead of' : 'behind'} the ` +
			    `phone's clock (at most ${FRESH_MS / 1000} s allowed): set the clocks of ` +
			    'computer and phone right'), phoneTime: nowMs });
		// getInfo reads and changes nothing: no replay cache, no approval.
		if (req.command === CMD.GET_INFO) {
			if (r.preview) {
				r.auto = 'info';
				return { status: STATUS.OK };
			}
			return this.answerInfo();
		}
		// Step 5: recorded before anything else happens (a preview only
		// looks).
		let seen;
		if (r.preview) {
			const list = await this.state.read('seen', () => []);
			seen = list.some((e) => equal(e.id, req.id) && !(nowMs - e.at >= REPLAY_MS &&
			    nowMs - e.reqMs >= REPLAY_MS)) ? 'replay' : 'ok';
		} else try {
			// In memory now, on disk with the next write, which comes
			// before anything leaves or is shown (flushed below).
			seen = await this.state.seenAdd({ computer: r.computer, id: req.id,
			    reqMs: t, now: nowMs, defer: true });
		} catch (e) {
			r.decision = 'failed';
			this.stop(r, STATUS.OTHER, REASONS.SAVE);
		}
		this.mark('checked');
		if (seen === 'replay')
			this.stop(r, STATUS.REPLAYED, REASONS.REPLAYED);
		if (seen === 'flood')
			this.stop(r, STATUS.CHANNEL_BUSY, REASONS.FLOOD, 'refused-flood');
		// FORGET: the computer gives up its own pairing; no one is asked.
		if (req.command === CMD.FORGET) {
			if (r.preview) {
				r.auto = 'unpair';
				return { status: STATUS.OK };
			}
			return this.answerForget(r);
		}
		// Step 6 (and 7 from inside it).
		if (req.command === CMD.MAKE_CREDENTIAL)
			await this.beginMakeCredential(r, getPin);
		else if (req.command === CMD.GET_ASSERTION)
			await this.beginGetAssertion(r, getPin);
		else if (req.command === CMD.CRED_MGMT) {
			// CTAP 2.1: listing resident keys needs the PIN, if set.
			if (await this.state.pinIsSet())
				await this.checkUv(r, getPin);
		} else {
			this.stop(r, STATUS.INVALID_COMMAND, REASONS.UNKNOWN);
		}
		// Step 8.
		return this.approve(r, { ask });
	}

	// What the request is, for the question and the log (handle.c).
	describe(r) {
		const req = r.req;
		switch (req.command) {
		case CMD.MAKE_CREDENTIAL:
			r.op = req.mc.rk === true ? 'enroll-resident' : 'enroll';
			r.subject = req.mc.userName;
			break;
		case CMD.GET_ASSERTION:
			r.op = 'sign';
			if (r.msg?.kind === 'login') {
				r.op = 'login';
				r.subject = r.msg.user;
			} else if (r.msg?.kind === 'sshsig') {
				r.op = 'sshsig';
				r.subject = r.msg.namespace;
			}
			break;
		case CMD.CRED_MGMT:
			r.op = 'list-keys';
			break;
		case CMD.GET_INFO:
			r.op = 'info';
			break;
		case CMD.FORGET:
			r.op = 'unpair';
			break;
		}
	}

	async beginMakeCredential(r, getPin) {
		const mc = r.req.mc;
		if (mc.rpId.length === 0 || utf8(mc.rpId).length > 255)
			this.stop(r, STATUS.INVALID_PARAMETER, REASONS.BAD_APP);
		// The first of the computer's algorithms this phone makes (§4.5).
		const mine = await phoneAlgorithms();
		r.alg = mc.algs.find((a) => mine.includes(a));
		if (r.alg === undefined)
			this.stop(r, STATUS.UNSUPPORTED_ALGORITHM, mc.algs.includes(COSE_EDDSA) ?
			    REASONS.NO_ED25519 : REASONS.NO_ALG);
		if (mc.rk === true && !r.req.ctx.overwrite &&
		    await this.state.findResident(mc.rpId, mc.userId))
			this.stop(r, STATUS.CREDENTIAL_EXCLUDED, REASONS.EXISTS);
		if (mc.uv === true || mc.credProtect === 3)
			await this.checkUv(r, getPin);
	}

	async beginGetAssertion(r, getPin) {
		const ga = r.req.ga;
		let c = null;
		for (const a of ga.allow) {
			c = await this.state.findCredential(a.id);
			if (c && c.rp !== ga.rpId)
				c = null;
			if (c)
				break;
		}
		if (!c)
			this.stop(r, STATUS.NO_CREDENTIALS, REASONS.NO_KEY);
		r.cred = c;
		r.keyFp = await credentialFingerprint(c);
		if (r.msg.kind === 'login' && !this.userauthKeyMatches(r.msg, c))
			this.stop(r, STATUS.INVALID_PARAMETER, REASONS.OTHER_KEY);
		await this.checkHost(r);
		if (ga.uv === true || c.credProtect === 3)
			await this.checkUv(r, getPin);
	}

	// The key a userauth request names must be the one asked to sign.
	// sk-ecdsa: string alg, string curve, string Q, string application;
	// sk-ssh-ed25519: string alg, string pk, string application; nothing
	// after: alg, the public key and application must be the
	// credential's (handle.c).
	userauthKeyMatches(m, c) {
		const ed = m.algorithm === SK_ED25519;
		if (m.algorithm !== SK_ECDSA && !ed)
			return true;	// a certificate or another type: not ours
		const rd = new SshReader(m.keyBlob);
		let f;
		try {
			f = (ed ? [64, 64, 1024] : [64, 64, 133, 1024]).map((max) => rd.string(max));
			rd.end();
		} catch {
			return false;
		}
		if (ed)
			return equal(f[0], utf8(SK_ED25519)) && equal(f[1], c.publicKey) &&
			    equal(f[2], utf8(c.rp));
		return equal(f[0], utf8(SK_ECDSA)) && equal(f[2], c.publicKey) &&
		    equal(f[3], utf8(c.rp));
	}

	// §8.5.1: changed and bad are refused before anyone is asked.
	async checkHost(r) {
		if (r.msg.kind !== 'login') {
			r.host = null;
			return;
		}
		const hc = await this.hostCheck({ login: r.msg, hostInfo: r.req.ctx.host ?? null,
		    pins: await this.state.hostPins(), cas: await this.state.cas(),
		    now: Math.floor(this.now() / 1000) });
		r.host = hc;
		// The log's host: the pin name when verified, else the name given.
		hc.auditHost = hc.pinName || null;
		if (hc.state === 'changed')
			this.stop(r, STATUS.HOSTKEY_CHANGED, changedReason(hc.pinName));
		// A trusted CA's certificate that does not hold (§8.5.1 step 4a).
		if (hc.state === 'bad' && hc.certRefused)
			this.stop(r, STATUS.HOST_UNVERIFIED, shown(`${hc.why}; the phone refused to ` +
			    'sign', 256), 'refused-host-certificate');
		if (hc.state === 'bad')
			this.stop(r, STATUS.HOST_UNVERIFIED, `host verification failed (${hc.why}); ` +
			    'the phone refused to sign', 'refused-host-signature');
	}

	// Step 7: the web phone's own PIN. getPin sends 0x36 (with key 5) and
	// brings transport message 3; every answer after it is message 4.
	async checkUv(r, getPin) {
		if (!(await this.state.pinIsSet()))
			this.stop(r, STATUS.UV_UNAVAILABLE, REASONS.UV_NONE);
		if (this.pinStuck || (await this.state.pinFailures()) >= 8)
			this.stop(r, STATUS.PIN_BLOCKED, REASONS.PIN_BLOCKED);
		if (r.preview) {
			// the PIN comes from the computer once the phone asks for it
			r.needsPin = true;
			return;
		}
		let pin;
		await this.flushSeen(r);
		r.pinPath = true;
		try {
			pin = await getPin();
		} catch (e) {
			if (e instanceof SkpError && e.code !== 'DECRYPT')
				this.stop(r, STATUS.INVALID_PARAMETER, REASONS.PIN_MALFORMED);
			// Not from the computer that asked: nothing to answer.
			r.decision = 'refused-pin-message';
			throw new Answer({ status: STATUS.PIN_REQUIRED, hangUp: true });
		}
		if (pin == null) {
			r.decision = 'refused-pin-required';
			throw new Answer({ status: STATUS.PIN_REQUIRED, hangUp: true });
		}
		if (this.pinStuck)
			this.stop(r, STATUS.PIN_BLOCKED, REASONS.PIN_BLOCKED);
		let v;
		try {
			v = await this.state.verifyPin(pin);
		} catch {
			// A wrong PIN not counted would give unlimited tries.
			this.pinStuck = true;
			this.stop(r, STATUS.PIN_BLOCKED, REASONS.PIN_STUCK);
		}
		if (v === 'none')
			this.stop(r, STATUS.UV_UNAVAILABLE, REASONS.UV_NONE);
		if (v === 'blocked')
			this.stop(r, STATUS.PIN_BLOCKED, REASONS.PIN_BLOCKED);
		if (v === 'wrong')
			this.stop(r, STATUS.PIN_INVALID, REASONS.PIN_WRONG);
		r.uv = true;
	}

	// The replay id on disk before a message leaves or a question shows.
	async flushSeen(r) {
		try {
			await this.state.flush();
		} catch {
			r.decision = 'failed';
			this.stop(r, STATUS.OTHER, REASONS.SAVE);
		}
	}

	// ---- §8.6 ----

	// What an open window allows without asking (serve.c), or null.
	async windowAllows(r, nowS) {
		const login = this.isLogin(r);
		const verified = r.host?.state === 'pinned' || r.host?.state === 'certified';
		if (login && verified &&
		    await this.state.hostWindow(r.computer.name, r.host.pinName) > nowS)
			return 'allow-host-window';
		if (r.command !== CMD.GET_ASSERTION)
			return null;
		const c = await this.state.computer(r.computer.name);
		if (!c || c.windowUntil <= nowS)
			return null;
		if (login)
			return verified ? 'allow-window' : null;
		if (r.msg.kind === 'sshsig' && c.windowNs.includes(r.msg.namespace))
			return 'allow-window';
		return null;
	}

	async approve(r, { ask }) {
		const ga = r.command === CMD.GET_ASSERTION;
		// Signed without asking, as a USB key does: UP clear (§8.6); the
		// owner is told once it is stored (handle()).
		if (ga && r.req.ga.up === false && this.noTouch !== 'ask') {
			if (r.preview) {
				r.auto = 'allow-no-touch';
				return { status: STATUS.OK };
			}
			const out = await this.approved(r, 'allow-no-touch');
			if (out.status === STATUS.OK)
				r.notice = this.noTouchText(r);
			return out;
		}
		let allowed = await this.windowAllows(r, Math.floor(this.now() / 1000));
		if (allowed && r.preview) {
			r.auto = allowed;
			return { status: STATUS.OK };
		}
		if (allowed)
			return this.approved(r, allowed);
		const q = this.question(r);
		if (r.preview) {
			r.question = q;
			return { status: STATUS.OK };
		}
		await this.flushSeen(r);
		let a = await ask(q);
		// The caller's queue may ask whether a window opened meanwhile.
		if (a === 'window-open') {
			allowed = await this.windowAllows(r, Math.floor(this.now() / 1000));
			if (allowed)
				return this.approved(r, allowed);
			a = await ask(q);
		}
		const nowS = Math.floor(this.now() / 1000);
		const until = nowS + this.windowSeconds;
		switch (a) {
		case 'once':
			return this.approved(r, 'allow-once');
		case 'window':
			if (!q.choices.includes('window'))
				break;
			// A window that cannot be saved does not stop this answer.
			await this.state.setWindow(r.computer.name, until, ga && r.msg.kind === 'sshsig' ?
			    r.msg.namespace : null, this.now()).catch(() => {});
			return this.approved(r, 'allow-window-start');
		case 'host':
			if (!q.choices.includes('host'))
				break;
			await this.state.setHostWindow(r.computer.name, r.host.pinName, until, this.now())
			    .catch(() => {});
			return this.approved(r, 'allow-host-window-start');
		case 'timeout':
			return this.refuse(r, STATUS.USER_ACTION_TIMEOUT, REASONS.TIMEOUT,
			    'reject-no-answer');
		case 'cancelled':
			r.decision = 'cancelled';
			return { status: STATUS.OPERATION_DENIED, hangUp: true };
		case 'busy':
			return this.refuse(r, STATUS.CHANNEL_BUSY, REASONS.BUSY, 'refused-busy');
		case 'waited':
			return this.refuse(r, STATUS.CHANNEL_BUSY, REASONS.WAITED, 'refused-waited');
		default:
			break;
		}
		return this.refuse(r, STATUS.OPERATION_DENIED, REASONS.REJECT, 'reject');
	}

	noTouchText(r) {
		const comp = printable(r.computer.name);
		if (this.isLogin(r))
			return `signed without asking: no-touch-required key ${r.keyFp}, for computer ` +
			    `"${comp}", host ${printable(r.host?.auditHost ?? 'unknown host')} (user ` +
			    `${printable(r.subject ?? '-')}, verified ${this.verifiedWord(r)})`;
		return `signed without asking: no-touch-required key ${r.keyFp}, for computer ` +
		    `"${comp}", ${r.op} [${printable(r.subject ?? '-')}]`;
	}

	// §4 of web-api: what the page shows, with the lines the reference
	// phone prints (serve.c ask, prompt.c) in `lines`.
	question(r) {
		const comp = printable(r.computer.name);
		const subj = printable(r.subject ?? '');
		const ga = r.command === CMD.GET_ASSERTION, mc = r.command === CMD.MAKE_CREDENTIAL;
		const m = r.msg;
		const login = this.isLogin(r);
		const hc = r.host;
		const dur = durationText(this.windowSeconds);
		const lines = [`request from computer "${comp}"`];
		const q = { computer: comp, op: null, title: null, user: null, host: null,
		    hostState: null, hostLine: null, hostKeyType: null, hostKeyFp: null,
		    hostKeyNote: null, note: null, warning: null, namespace: null,
		    application: null, keyFp: r.keyFp, pin: r.uv, choices: null,
		    windowHours: this.windowSeconds / 3600, windowText: null, hostWindowText: null,
		    touch: null, lines };
		if (login && hc?.state === 'new' && hc.pinnedAs) {
			q.warning = `WARNING: this server's key is pinned as ${printable(hc.pinnedAs)}; ` +
			    `the computer calls it ${printable(hc.pinName)}`;
			lines.push(`  WARNING:     this server's key is pinned as ` +
			    `${printable(hc.pinnedAs)}; the computer calls it ${printable(hc.pinName)}`);
		}
		if (mc) {
			q.op = 'enroll';
			// The key type named (§8.5): the one this phone will make.
			q.keyType = keyType(r.alg ?? COSE_ES256);
			q.title = r.req.mc.rk === true ? `enroll a new resident ${q.keyType} key` :
			    `enroll a new ${q.keyType} key`;
		} else if (ga) {
			q.op = login ? 'login' : m.kind === 'sshsig' ? 'sign' : 'other';
			q.title = describe(m);
		} else {
			q.op = 'list';
			q.title = 'list the resident keys';
		}
		lines.push(`  operation:   ${q.title}`);
		const app = mc ? r.req.mc.rpId : ga ? r.req.ga.rpId : '';
		if (app) {
			q.application = shown(app, 600);
			lines.push(`  application: ${q.application}`);
		}
		if (login) {
			q.user = subj;
			const host = printable(hc?.pinName || '');
			// §4.3 context key 6: the login came through ssh-agent.
			const agent = r.req.ctx.origin === ORIGIN_AGENT;
			q.viaAgent = agent;
			const through = agent ? ' (through ssh-agent)' : '';
			if (hc?.state === 'pinned') {
				q.host = host;
				q.hostState = 'verified';
				q.hostLine = `${subj} @ ${host} (verified)${through}`;
				q.hostKeyType = hc.type;
				q.hostKeyFp = hc.fingerprint;
				q.hostKeyNote = 'pinned';
				lines.push(`  user:        ${q.hostLine}`);
				lines.push(`  host key:    ${hc.type} ${hc.fingerprint} (pinned)`);
			} else if (hc?.state === 'certified') {
				q.host = host;
				q.hostState = 'verified';
				q.hostLine = `${subj} @ ${host} (verified (certificate from CA ${hc.caFp}))` +
				    through;
				q.hostKeyType = hc.type;
				q.hostKeyFp = hc.fingerprint;
				q.hostKeyNote = 'certified';
				q.caFp = hc.caFp;
				lines.push(`  user:        ${q.hostLine}`);
				lines.push(`  host key:    ${hc.type} ${hc.fingerprint} (certified)`);
			} else if (hc?.state === 'new') {
				q.host = host;
				q.hostState = 'first-use';
				q.hostLine = `${subj} @ ${host} (first use, not yet pinned)${through}`;
				q.hostKeyType = hc.type;
				q.hostKeyFp = hc.fingerprint;
				q.hostKeyNote = hc.pinnedAs ? 'pinned for another name: not pinned for ' +
				    'this one' : hc.newType ? 'NEW key type for this host, pinned if you ' +
				    'allow' : 'pinned if you allow';
				lines.push(`  user:        ${q.hostLine}`);
				lines.push(`  host key:    ${hc.type} ${hc.fingerprint} (${q.hostKeyNote})`);
			} else {
				q.hostState = 'not-verified';
				q.hostLine = agent && !r.req.ctx.host ? `${subj} @ ${REASONS.AGENT_NO_HOST}` :
				    `${subj} @ unknown host (not verified)${through}`;
				lines.push(`  user:        ${q.hostLine}`);
				if (hc?.state === 'unverified' && host) {
					q.host = host;
					q.note = `the computer names ${host}, but ${hc.why}`;
					lines.push(`  note:        ${q.note}`);
				}
			}
			// A certificate of a CA not trusted here: its key as a plain key.
			if (hc?.cert === 'unknown' && (hc.state === 'pinned' || hc.state === 'new')) {
				q.certNote = `from CA ${hc.caFp}, which the phone does not trust: its ` +
				    'key checked as a plain key';
				lines.push(`  certificate: ${q.certNote}`);
			}
		} else if (mc && subj) {
			q.user = subj;
			lines.push(`  user:        ${subj}`);
		} else if (ga && m.kind !== 'sshsig') {
			lines.push(`  data:        ${r.req.ctx.raw.length} bytes, neither SSH login ` +
			    'nor SSHSIG');
		}
		if (ga && m.kind === 'sshsig')
			q.namespace = printable(m.namespace);
		if (r.keyFp)
			lines.push(`  key:         ${r.keyFp}`);
		if (r.uv)
			lines.push('  PIN:         checked');
		if (ga && r.req.ga.up === false) {
			q.touch = 'this key needs no touch (no-touch-required); asked because the ' +
			    'phone asks for every signature';
			lines.push(`  touch:       ${q.touch}`);
		}
		q.windowText = ga && m.kind === 'sshsig' ? 'verified logins to pinned hosts, and ' +
		    `signatures of namespace '${q.namespace}', from "${comp}" for ${dur}` :
		    `verified logins to pinned hosts from "${comp}" for ${dur} (no signatures)`;
		const hostOffered = login && (hc?.state === 'pinned' || hc?.state === 'certified' ||
		    (hc?.state === 'new' && !hc.pinnedAs));
		q.choices = ['once'];
		lines.push('  [o] allow once');
		if (hostOffered) {
			q.hostWindowText = `logins to ${q.host} from "${comp}" for ${dur}`;
			q.choices.push('host');
			lines.push(`  [h] allow ${q.hostWindowText}`);
		}
		q.choices.push('window', 'reject');
		lines.push(`  [w] allow ${q.windowText}`, '  [r] reject');
		// For the caller's queue, when this question's turn comes: true
		// when a window opened meanwhile allows it (then resolve ask()
		// with 'window-open' and it is answered without asking).
		Object.defineProperty(q, 'recheck', { enumerable: false,
		    value: async () => !!(await this.windowAllows(r, Math.floor(this.now() / 1000))) });
		return q;
	}

	// ---- §8.4 ----

	// decision: logged unless the answer turns into a refusal (then the
	// refusal's word, as serve.c's finish).
	async approved(r, decision) {
		r.allowed = decision;
		switch (r.command) {
		case CMD.MAKE_CREDENTIAL:
			return this.answerMakeCredential(r);
		case CMD.GET_ASSERTION:
			return this.answerGetAssertion(r);
		case CMD.CRED_MGMT:
			return this.answerCredMgmt(r);
		default:
			return this.refuse(r, STATUS.INVALID_COMMAND, REASONS.UNKNOWN);
		}
	}

	async answerInfo() {
		const pin = await this.state.pinIsSet();
		return { status: STATUS.OK, ctap: ad.getInfoAnswer({ options: { rk: true, up: true,
		    clientPin: pin, credMgmt: true }, algorithms: await phoneAlgorithms() }) };
	}

	async answerForget(r) {
		await this.state.forgetComputer(r.computer.name);
		r.decision = 'unpaired-by-computer';
		return { status: STATUS.OK, ctap: new Map() };
	}

	async answerMakeCredential(r) {
		const mc = r.req.mc;
		const id = randomBytes(16);
		const alg = r.alg ?? COSE_ES256;
		let key;
		try {
			key = alg === COSE_EDDSA ? await generateEd25519() : await generateEcdsa();
		} catch (e) {
			if (e instanceof SkpError && e.code === 'UNSUPPORTED')
				this.stop(r, STATUS.UNSUPPORTED_ALGORITHM, REASONS.NO_ED25519);
			throw e;
		}
		const authData = await ad.buildAuthData({ rpId: mc.rpId,
		    flags: ad.FLAGS.UP | ad.FLAGS.AT | (r.uv ? ad.FLAGS.UV : 0), signCount: 0,
		    credId: id, publicKey: key.publicKey });
		const sig = await ad.signAuthData(key.privateKey, authData, mc.cdh);
		const cred = { id, rp: mc.rpId, userId: mc.userId, userName: mc.userName,
		    privateKey: key.privateKey, publicKey: key.publicKey, resident: mc.rk === true,
		    credProtect: mc.credProtect || 1, created: Math.floor(this.now() / 1000),
		    madeFor: r.computer.name, alg };
		// On disk before the answer leaves.
		try {
			await this.state.addCredential(cred);
		} catch (e) {
			if (e instanceof SkpError && e.code === 'TOO_LARGE')
				this.stop(r, STATUS.KEY_STORE_FULL, e.message);
			throw e;
		}
		// Overwriting: the old resident key goes once the new one is safe.
		let old;
		while (cred.resident && (old = await this.state.findResident(cred.rp, cred.userId,
		    cred.id)))
			await this.state.removeCredential(old.id);
		r.keyFp = await credentialFingerprint(cred);
		return { status: STATUS.OK, ctap: ad.makeCredentialAnswer({ authData, sig, alg }) };
	}

	async answerGetAssertion(r) {
		const ga = r.req.ga, hc = r.host;
		// A first login pins the host key now, before anything else.
		if (hc?.state === 'new') {
			try {
				await this.state.pinHost({ name: hc.pinName, type: hc.type,
				    key: hc.key, computer: r.computer.name }, this.now());
			} catch (e) {
				if (e instanceof SkpError && e.code === 'HOSTKEY') {
					hc.state = 'changed';
					this.stop(r, STATUS.HOSTKEY_CHANGED, changedReason(hc.pinName),
					    'refused-host-key-changed');
				}
				throw e;
			}
		}
		// The counter is taken in memory, and reaches the store in one
		// write with the replay id and the audit line (record()), before
		// the signature made with it leaves the phone or is shown; a
		// signature whose write fails is dropped (PERFORMANCE.md, "Signing
		// through the web phone", says why this is as safe as serve.c's
		// order: counter on disk, signature, line, answer).
		let counter;
		try {
			counter = await this.state.counterNext(r.cred.id, { defer: true });
			r.commit = true;
		} catch (e) {
			if (e instanceof SkpError && (e.code === 'NOT_FOUND' || e.code === 'LIMIT'))
				this.stop(r, STATUS.NO_CREDENTIALS, e.message);
			throw e;
		}
		const c = r.cred;
		const authData = await ad.buildAuthData({ rpId: c.rp,
		    flags: (ga.up !== false ? ad.FLAGS.UP : 0) | (r.uv ? ad.FLAGS.UV : 0),
		    signCount: counter });
		this.mark('counted');
		const signature = await ad.signAuthData(c.privateKey, authData, ga.cdh);
		return { status: STATUS.OK, ctap: ad.getAssertionAnswer({ credId: c.id, authData,
		    signature, userId: c.resident ? c.userId : undefined }) };
	}

	async answerCredMgmt(r) {
		const cm = r.req.cm;
		const all = cm.rpIdHash === undefined;
		const out = [];
		const seen = new Set();
		for (const c of await this.state.credentialRecords()) {
			if (!c.resident)
				continue;
			const hash = await sha256(utf8(c.rp));
			if (cm.subcommand === CM_ENUM_RPS) {
				if (seen.has(c.rp))
					continue;
				seen.add(c.rp);
				out.push(new Map([[3, new Map([['id', c.rp]])], [4, hash]]));
				continue;
			}
			if (!all && !equal(hash, cm.rpIdHash))
				continue;
			out.push(ad.credentialListEntry({ rpId: all ? c.rp : undefined,
			    userId: c.userId, userName: c.userName, credId: c.id,
			    publicKey: c.publicKey, credProtect: c.credProtect }));
		}
		return { status: STATUS.OK, ctap: out };
	}
}

