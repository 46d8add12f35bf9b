// The web phone's controller: everything the page's phone does that is not
// drawn (web-api.md §5). It listens on the phone's mailbox (PROTOCOL.md §7.4,
// §8.8, through relay.js), pairs (the phone's side of §8.1, over the
// rendezvous of §7.6), and answers each call (§8.3: proto/call.js opens it,
// phone/engine.js decides) with the owner's questions queued as §8.6 says:
// one open at a time, at most 16 waiting, each asked question withdrawn after
// 60 s without an answer, a waiting one refused after 60 s ("waited too
// long"), both dropped when their computer hangs up; the PIN path of §3.7
// (message 2 = 0x36 with key 5, then up to 10 s for transport message 3).
//
//   const phone = await startPhone({ kv });
//   phone.addEventListener('question', (e) => e.detail.answer('once'));
//   await phone.setup({ name: 'pixel' });
//   const p = await phone.pair(uri); show(p.code); await p.confirm();
//
// Events (phone is an EventTarget, data in e.detail): 'status' { status },
// 'question' { id, question, waiting, expiresAt, answer(choice) },
// 'withdrawn' { id, why: 'timeout'|'cancelled' }, 'queue' { waiting } (the
// open question's count of waiting requests changed), 'changed' {},
// 'notice' { text }.

import { ascii, concat, equal } from '../proto/bytes.js';
import { openCall } from '../proto/call.js';
import { ed25519FromSeed, generateEcdh, keyPairFromScalar, sha256 } from '../proto/crypto.js';
import { encodeResponse, STATUS } from '../proto/ctap.js';
import { fail, SkpError } from '../proto/err.js';
import { startPairing } from '../proto/pairing.js';
import { decodeConfirm, encodeConfirm } from '../proto/pairpayload.js';
import { checkFresh, confirmCode, mailboxId, parsePairUri } from '../proto/pairuri.js';
import { Handshake } from '../proto/noise.js';
import { CONFIRM_INFO, decodeDone, decodeHeader, decodePayload, decodeReply,
    encodeHello, encodeReady, encodeReceived, parseTransferUri, PIECE_MAX,
    PROLOGUE, transferPsk, transferRendezvousId } from '../proto/transfer.js';
import { checkHostKey } from '../phone/hostkey.js';
import { Engine } from '../phone/engine.js';
import { PhoneState } from '../phone/state.js';
import { meet, RelayListener } from './relay.js';

// The steps of a request as [name, performance.now()] pairs, when the
// page's globalThis.SKP_MARKS is a list (bench/web/run.py sets it; empty
// or absent: nothing is kept).
export function mark(name) {
	const m = globalThis.SKP_MARKS;
	if (Array.isArray(m) && m.length < 10000)
		m.push([name, globalThis.performance.now()]);
}

export const QUEUE_MAX = 16;			// SKP_SERVE_QUEUE_MAX
export const QUESTION_TIMEOUT_MS = 60000;	// --timeout
export const PIN_WAIT_MS = 10000;		// transport message 3 after 0x36
export const PAIR_TIMEOUT_MS = 120000;		// sk-phone-authenticator pair --timeout
export const WAITED_TEXT = 'not asked: waited too long behind another request on the phone';
export const BUSY_TEXT = `${QUEUE_MAX} requests already wait on the phone`;

// §2.1's web form: the page is at the relay's own origin.
export function defaultRelayUrl() {
	const loc = globalThis.location;
	if (!loc || !loc.host)
		fail('INVALID', 'no relay URL given and no page location to take it from');
	return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}`;
}

export async function startPhone({ kv, relayUrl, WebSocket = globalThis.WebSocket,
    now = () => Date.now(), questionTimeoutMs = QUESTION_TIMEOUT_MS,
    queueWaitMs = QUESTION_TIMEOUT_MS, pinWaitMs = PIN_WAIT_MS,
    pairTimeoutMs = PAIR_TIMEOUT_MS, listenerOptions = {} } = {}) {
	const state = await PhoneState.open(kv);
	const phone = new Phone({ state, relayUrl, WebSocket, now, questionTimeoutMs,
	    queueWaitMs, pinWaitMs, pairTimeoutMs, listenerOptions });
	if (await state.identity())
		await phone._listen();
	return phone;
}

class Phone extends EventTarget {
	constructor(o) {
		super();
		this.state = o.state;
		this.o = o;
		this.status = 'offline';
		this.engine = new Engine({ state: o.state, now: o.now, mark });
		this.listener = null;
		this.queue = new AskQueue(this, o);
		this.notPaired = 0;	// requests no pairing opened, in all
		this.junk = 0;		// of those, not yet in the audit log
		this.junkNext = 0;
		this.junkTimer = null;
		// A browser cannot ping (relay.js's header): reconnect at once,
		// not at the end of the backoff, when the network comes back or
		// the page is shown again (a phone's browser throttles or freezes
		// hidden pages, and their sockets die meanwhile). kick() does
		// nothing while the socket is open or opening.
		const kick = () => this.listener && this.listener.kick();
		if (typeof window !== 'undefined' && typeof window.addEventListener === 'function')
			window.addEventListener('online', kick);
		if (typeof document !== 'undefined' && typeof document.addEventListener === 'function')
			document.addEventListener('visibilitychange', () => {
				if (document.visibilityState === 'visible')
					kick();
			});
	}

	_emit(type, detail = {}) {
		this.dispatchEvent(new CustomEvent(type, { detail }));
	}

	notice(text) {
		this._emit('notice', { text });
	}

	// First run: the identity (keys made here, never exported), then listen.
	async setup({ name }) {
		if (await this.state.identity())
			fail('EXISTS', 'this phone is set up already');
		const relay = this.o.relayUrl || defaultRelayUrl();
		await this.state.createIdentity({ name, relay });
		this._emit('changed');
		await this._listen();
	}

	// The relay the phone listens on: the one it was set up with, else the
	// one given, else the page's own origin's.
	_relay(id) {
		return id.relay || this.o.relayUrl || defaultRelayUrl();
	}

	// Its relay list (§7.1): the URLs of that one relay, tried in turn.
	_relays(id) {
		return id.relays ?? [this._relay(id)];
	}

	async _listen() {
		const id = await this.state.identity();
		if (this.listener)
			this.listener.stop();
		const l = new RelayListener({ url: this._relays(id),
		    mailbox: id.mailbox, mailboxId: id.mailboxId, WebSocket: this.o.WebSocket,
		    ...this.o.listenerOptions });
		this.listener = l;
		l.addEventListener('status', (e) => {
			this.status = e.detail.status;
			if (this.status !== 'online')
				this.queue.dropAll();	// the calls are gone with the connection
			this._emit('status', { status: this.status });
		});
		l.addEventListener('warning', (e) => {
			if (e.detail.code === 4007)
				this.notice(e.detail.text);
		});
		l.addEventListener('error', (e) => this.notice('the relay refused this phone: ' +
		    `${e.detail.error.message}. The phone stopped listening; reload the page to try again.`));
		l.addEventListener('call', (e) => {
			this._call(e.detail.channel, e.detail.message1).catch((err) =>
			    this.notice(`a request failed on the phone: ${err.message}`));
		});
		l.start();
	}

	// Listen again after stop().
	async start() {
		if (!(await this.state.identity()))
			fail('STATE', 'set the phone up first: give it a name');
		await this._listen();
	}

	// Stop listening (tests; the page never stops).
	stop() {
		if (this.listener)
			this.listener.stop();
		clearTimeout(this.junkTimer);
		this.junkTimer = null;
		this.queue.dropAll();
	}

	// ---- one call (§8.3, §8.6, §3.7) ----

	async _call(channel, message1) {
		mark('in');
		// The store's check of the request (another tab's writes) starts
		// now and runs while the Noise handshake opens message 1.
		const begun = this.state.beginRequest();
		begun.catch(() => {});	// the engine answers for a failed one
		const id = await this.state.identity();
		let call;
		try {
			call = await openCall({ identity: id.identity,
			    computers: await this.state.computers(), message1 });
		} catch (e) {
			begun.then(() => this.state.endRequest(), () => {});
			// none of the pairings opens it: answer nothing, hang up (§8.3 step 1)
			channel.hangup();
			if (e instanceof SkpError && e.code === 'NOT_PAIRED') {
				await this._notPaired();
				return;
			}
			throw e;
		}
		mark('opened');
		const computer = call.computer.name;
		const ask = (question) => this.queue.ask(question, channel, computer);
		// §3.7: message 2 = 0x36 with key 5, then transport message 3 (the
		// PIN) within 10 s, else null. DECRYPT (not from this computer) and
		// a malformed PIN message reject: the engine answers for them.
		const getPin = async () => {
			channel.send(await call.answer(encodeResponse({ status: STATUS.PIN_REQUIRED,
			    reason: 'PIN required', pinMayFollow: true })));
			let m3;
			try {
				m3 = await channel.recv(this.o.pinWaitMs);
			} catch {
				return null;
			}
			return call.readPin(m3);
		};
		const notify = (text) => this.notice(text);
		let res;
		try {
			res = await this.engine.handle({ call, ask, getPin, notify, begun });
		} catch (e) {
			res = { status: STATUS.OTHER, reason: printable(`the phone failed: ${e.message}`) };
		} finally {
			this.queue.done(channel);
		}
		try {
			// The answer first, the screens drawn again after it.
			await this._answer(channel, call, res);
		} finally {
			this._emit('changed');
		}
	}

	async _answer(channel, call, res) {
		if (channel.ended)
			return;	// the computer hung up: nobody to answer
		if (res.hangUp) {
			channel.hangup();
			return;
		}
		const env = encodeResponse({ status: res.status, ctap: res.ctap, reason: res.reason,
		    phoneTime: res.phoneTime,
		    unpadded: res.unpadded === true });
		const m2 = res.pinPath ? await call.answerAfterPin(env) : await call.answer(env);
		mark('sealed');
		channel.send(m2);
		channel.hangup();
		mark('sent');
	}

	// §8.3 step 1: refused-not-paired in the audit log, one line at once,
	// then at most one a minute with the count since.
	async _notPaired() {
		this.notPaired++;
		this.junk++;
		const now = this.o.now();
		if (now >= this.junkNext) {
			await this._junkSummary();
		} else if (!this.junkTimer) {
			this.junkTimer = setTimeout(() => {
				this.junkTimer = null;
				this._junkSummary().catch(() => {});
			}, this.junkNext - now);
		}
	}

	async _junkSummary() {
		if (this.junk === 0)
			return;
		const n = this.junk;
		this.junk = 0;
		this.junkNext = this.o.now() + 60000;
		await this.state.audit({ op: 'request', subject: `${n} message${n === 1 ? '' : 's'}`,
		    event: 'refused-not-paired' });
		this._emit('changed');
	}

	// ---- pairing, the phone's side (§8.1) ----

	async pair(uri) {
		const id = await this.state.identity();
		if (!id)
			fail('STATE', 'set the phone up first: give it a name');
		const now = this.o.now();
		const u = parsePairUri(uri);
		const known = (await this.state.computers()).find((c) => c.name === u.name);
		if (known && !equal(known.publicKey, u.computerPub))
			fail('EXISTS', `a computer named "${u.name}" is already paired with ` +
			    'another key: unpair it first, then pair again');
		const p = await startPairing({ uri, identity: id.identity, mailboxId: id.mailboxId,
		    relayUrl: this._relay(id), name: id.name, now: Math.floor(now / 1000) });
		const deadline = now + this.o.pairTimeoutMs;
		const left = () => Math.max(1, deadline - this.o.now());
		let ch;
		try {
			ch = await meet(p.uri.relays, p.rendezvousId, this.o.pairTimeoutMs,
			    { WebSocket: this.o.WebSocket });
		} catch (e) {
			if (e.relayCode === 4031)
				throw new SkpError('NOT_FOUND', `the relay: ${e.relayReason}. Run ` +
				    '`sk-phone pair` on the computer again and scan the new code');
			throw e;
		}
		let r;
		try {
			ch.send(p.message1);
			let m2;
			try {
				m2 = await ch.recv(left());
			} catch (e) {
				if (e.relayCode === 4025)
					throw new SkpError('DECRYPT', 'the computer could not read this ' +
					    'phone\'s message: the code was wrong or altered. Run ' +
					    '`sk-phone pair` on the computer again and scan the new code');
				throw e;
			}
			r = await p.finish(m2);
			if (r.computerName !== u.name)
				fail('FORMAT', 'the computer gave another name than its code did');
		} catch (e) {
			ch.hangup();
			throw e;
		}
		return new PendingPairing(this, ch, r, left, u.relays);
	}

	// A code that lists more URLs of the relay this phone listens on (all
	// of its own among them) gives the phone that list, as the reference
	// phone does (§2.1): then it listens through it.
	async _adoptRelays(relays) {
		const id = await this.state.identity();
		const mine = this._relays(id);
		if (relays.length <= mine.length || !mine.every((x) => relays.includes(x)))
			return;
		await this.state.setIdentity({ relays });
		await this._listen();
	}

	// ---- receiving another phone's state (PROTOCOL.md §10.5, new phone) ----

	// Up to the code: -> a PendingReceive (oldName, code; confirm(),
	// decline()). Only on a phone with nothing to lose.
	async receive(uri) {
		if (!(await this.state.empty()))
			fail('EXISTS', 'this phone has a state already: a transfer would replace ' +
			    'it. Receive on a phone (a browser) that was never set up');
		if (await this.state.transferPending())
			fail('STATE', 'a transfer received earlier waits: finish or discard it first');
		const now = this.o.now();
		const u = parseTransferUri(uri);
		try {
			checkFresh(u.created, Math.floor(now / 1000));
		} catch (e) {
			throw new SkpError('EXPIRED', e.ahead !== undefined ? 'this transfer ' +
			    'code was made in the future by this phone\'s clock: set the clocks ' +
			    'right, then start the transfer again' : 'this transfer code is too ' +
			    'old (5 minutes): run sk-phone-authenticator transfer on the old ' +
			    'phone again');
		}
		const psk = await transferPsk(u.secret);
		const hs = new Handshake({ pattern: 'IK', initiator: true, s: await generateEcdh(),
		    rs: u.key, psk, prologue: ascii(PROLOGUE) });
		psk.fill(0);
		const message1 = await hs.writeMessage(encodeHello());
		const deadline = now + this.o.pairTimeoutMs;
		const left = () => Math.max(1, deadline - this.o.now());
		let ch;
		try {
			ch = await meet(u.relay, await transferRendezvousId(u.secret),
			    this.o.pairTimeoutMs, { WebSocket: this.o.WebSocket });
		} catch (e) {
			if (e.relayCode === 4031)
				throw new SkpError('NOT_FOUND', `the relay: ${e.relayReason}. Run ` +
				    'sk-phone-authenticator transfer on the old phone again and take ' +
				    'its new code');
			throw e;
		}
		try {
			ch.send(message1);
			let m2;
			try {
				m2 = await ch.recv(left());
			} catch (e) {
				if (e.relayCode === 4025)
					throw new SkpError('DECRYPT', 'the old phone could not read this ' +
					    'phone\'s message: the code was wrong or altered. Run ' +
					    'sk-phone-authenticator transfer on the old phone again');
				throw e;
			}
			const oldName = decodeReply(await hs.readMessage(m2));
			const h = hs.handshakeHash();
			const code = await confirmCode(h, CONFIRM_INFO);
			h.fill(0);
			const transport = await hs.split();
			return new PendingReceive(this, ch, transport, oldName, code.text, left);
		} catch (e) {
			ch.hangup();
			throw e;
		}
	}

	// The state received becomes this phone's; it then listens as the old
	// phone did, on its mailbox.
	async finishTransfer() {
		await this.state.finishTransfer(this.o.now());
		const id = await this.state.identity();
		this._emit('changed');
		await this._listen();
		return id;
	}

	async discardTransfer() {
		await this.state.discardTransfer();
		this._emit('changed');
	}
}

// The old phone's state as this phone keeps it: its private keys imported
// into WebCrypto, not extractable; the bytes wiped.
async function importState(st, from, digest) {
	const wipeAll = () => {
		st.identity.key.fill(0);
		st.identity.mailbox.fill(0);
		for (const c of st.credentials)
			c.privateKey.fill(0);
	};
	const scalar = async (d, alg) => {
		try {
			return await keyPairFromScalar(d, alg);
		} catch (e) {
			if (e instanceof SkpError)
				throw e;
			throw new SkpError('CRYPTO', 'the old phone sent a private key that is ' +
			    'not a P-256 key');
		}
	};
	try {
		const identity = await scalar(st.identity.key, 'ECDH');
		const mailbox = await scalar(st.identity.mailbox, 'ECDSA');
		const credentials = [];
		for (const c of st.credentials) {
			let pair;
			if (c.alg === -8) {
				pair = await ed25519FromSeed(c.privateKey, c.publicKey);
			} else {
				pair = await scalar(c.privateKey, 'ECDSA');
				if (!equal(pair.publicKey, c.publicKey))
					fail('CRYPTO', 'the old phone sent a key whose private and ' +
					    'public halves do not belong together');
			}
			credentials.push({ id: c.id, rp: c.rp, userId: c.userId, userName: c.userName,
			    privateKey: pair.privateKey, publicKey: pair.publicKey, resident: c.resident,
			    credProtect: c.credProtect, created: c.created, madeFor: c.madeFor,
			    alg: c.alg });
		}
		const pins = st.pins.map((p) => {
			let type;
			try {
				type = checkHostKey(p.key).type;
			} catch (e) {
				fail('FORMAT', `the old phone's pinned key for ${p.name}: ${e.message}`);
			}
			return { name: p.name, type, key: p.key, pinnedAt: p.pinnedAt,
			    pinnedBy: p.pinnedBy };
		});
		return {
			identity: { name: st.identity.name, relay: st.identity.relay,
			    ...(st.identity.relays.length > 1 ? { relays: st.identity.relays } : {}),
			    identity, mailbox, mailboxId: await mailboxId(mailbox.publicKey) },
			computers: st.computers.map((c) => ({ ...c, windowUntil: 0, windowNs: [] })),
			credentials,
			counters: Object.fromEntries(st.counters),
			hosts: { pins, windows: [] },
			cas: st.cas,
			pinFailures: st.pinFailures,
			from,
			digest,
		};
	} finally {
		wipeAll();
	}
}

export const PENDING_TEXT = 'the transfer stopped after this phone received the ' +
    'state, before the old phone said it let go of it. Look at the old phone: if it ' +
    'says its state was moved, tap Finish here; if it still works, tap Discard here';

class PendingReceive {
	constructor(phone, ch, transport, oldName, code, left) {
		this.phone = phone;
		this.ch = ch;
		this.t = transport;
		this.oldName = oldName;
		this.code = code;
		this.left = left;
		this.done = false;
	}

	// The owner confirmed the code: ready, the state, received, done.
	async confirm() {
		if (this.done)
			fail('STATE', 'this transfer is over');
		this.done = true;
		const { ch, t, left } = this;
		let saved = false;
		try {
			ch.send(await t.encrypt(encodeReady()));
			const hdr = decodeHeader(await t.decrypt(await ch.recv(left())));
			const parts = [];
			let got = 0;
			while (got < hdr.length) {
				const p = await t.decrypt(await ch.recv(left()));
				if (p.length === 0 || got + p.length > hdr.length ||
				    (got + p.length < hdr.length && p.length !== PIECE_MAX))
					fail('FORMAT', 'the old phone\'s state came in pieces that do ' +
					    'not add up');
				parts.push(p);
				got += p.length;
			}
			const payload = concat(...parts);
			parts.forEach((p) => p.fill(0));
			if (!equal(await sha256(payload), hdr.digest))
				fail('FORMAT', 'the old phone\'s state is not what its header said');
			let st;
			try {
				st = decodePayload(payload);
			} finally {
				payload.fill(0);
			}
			await this.phone.state.saveTransferPending(await importState(st,
			    this.oldName, hdr.digest));
			saved = true;
			ch.send(await t.encrypt(encodeReceived(hdr.digest)));
			decodeDone(await t.decrypt(await ch.recv(left())));
		} catch (e) {
			if (saved)
				throw Object.assign(new SkpError('STATE', PENDING_TEXT), { pending: true });
			throw pairingEnd(e, 'the old phone');
		} finally {
			t.close();
			ch.hangup();
		}
		const id = await this.phone.finishTransfer();
		return { oldName: this.oldName, name: id.name };
	}

	async decline() {
		if (this.done)
			return;
		this.done = true;
		this.t.close();
		this.ch.hangup();
	}
}

class PendingPairing {
	constructor(phone, ch, r, left, relays) {
		this.phone = phone;
		this.relays = relays;
		this.ch = ch;
		this.r = r;
		this.left = left;
		this.computerName = r.computerName;
		this.code = r.code.text;
		this.done = false;
	}

	// The owner confirmed the code: send ours, read theirs, save.
	async confirm() {
		if (this.done)
			fail('STATE', 'this pairing is over');
		this.done = true;
		const { ch, r } = this;
		try {
			// the computer may have hung up already (its user said no)
			ch.send(await r.transport.encrypt(encodeConfirm()));
			decodeConfirm(await r.transport.decrypt(await ch.recv(this.left())));
		} catch (e) {
			r.requestPsk.fill(0);
			throw pairingEnd(e);
		} finally {
			r.transport.close();
			ch.hangup();
		}
		// the same computer (same key) pairing again replaces its record
		await this.phone.state.addComputer({ name: r.computerName, publicKey: r.computerPub,
		    requestPsk: r.requestPsk.slice() }, this.phone.o.now());
		r.requestPsk.fill(0);
		await this.phone._adoptRelays(this.relays);
		this.phone._emit('changed');
		return { computerName: r.computerName };
	}

	// The owner declined: hang up, save nothing.
	async decline() {
		if (this.done)
			return;
		this.done = true;
		this.r.transport.close();
		this.r.requestPsk.fill(0);
		this.ch.hangup();
	}
}

function pairingEnd(e, peer = 'the computer') {
	if (e.code === 'TIMEOUT' && e.relayCode === undefined)
		return new SkpError('TIMEOUT', 'nobody answered in time');
	switch (e.relayCode) {
	case 4025:
		return new SkpError('REJECTED', peer === 'the computer' ? 'the computer ' +
		    'declined the pairing (its user did not confirm the code)' : `${peer} ` +
		    'hung up (its owner did not confirm the code, or it saw something wrong)');
	case 4026:
		return new SkpError('REJECTED', `${peer} gave up`);
	case 4020:
		return new SkpError('TIMEOUT', 'nobody answered in time');
	default:
		return e;
	}
}

function printable(s) {
	return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 256);
}

// ---- the owner's questions (§8.6's queue) ----

// ask() resolves what the engine takes: the owner's choice, 'timeout' (the
// open question unanswered in time: withdrawn), 'cancelled' (the computer
// hung up or the connection went: withdrawn or dropped, nothing is sent),
// 'busy' (16 wait already: 0x06), 'waited' (too long in the queue: 0x06),
// or, for a request whose turn came after an answer that opened a window,
// 'window-open' first: the engine looks at the windows again and asks again
// (at once: the turn is kept for that call) only when none covers it.
export class AskQueue {
	constructor(phone, o) {
		this.phone = phone;
		this.o = o;
		this.open = null;	// the open question, or { channel } keeping a turn
		this.waiting = [];
		this.nextId = 1;
		this.windows = 0;	// answers that opened a window, so far
	}

	ask(question, channel, computer) {
		return new Promise((resolve) => {
			if (channel.ended) {
				resolve('cancelled');
				return;
			}
			const e = { id: this.nextId++, question, channel, computer, resolve,
			    timer: null, since: this.o.now(), windows: this.windows };
			e.onEnd = () => this._ended(e);
			channel.addEventListener('end', e.onEnd);
			if (!this.open && this.waiting.length === 0 ||
			    this.open && this.open.kept && this.open.channel === channel) {
				this.open = null;
				this._ask(e);
				return;
			}
			if (this.waiting.length >= QUEUE_MAX) {
				this._refuse(e, 'busy', BUSY_TEXT);
				return;
			}
			this.waiting.push(e);
			e.timer = setTimeout(() => {
				this.waiting.splice(this.waiting.indexOf(e), 1);
				this._refuse(e, 'waited', WAITED_TEXT);
				this._count();
			}, this.o.queueWaitMs);
			this._count();
		});
	}

	// The call is answered: a turn it kept goes to the next.
	done(channel) {
		if (this.open && this.open.kept && this.open.channel === channel) {
			this.open = null;
			this._next();
		}
	}

	_count() {
		if (this.open && !this.open.kept)
			this.phone._emit('queue', { waiting: this.waiting.length });
	}

	_settle(e, result) {
		clearTimeout(e.timer);
		e.channel.removeEventListener('end', e.onEnd);
		e.resolve(result);
	}

	_refuse(e, result, reason) {
		this.phone.notice(`a request from computer "${printable(e.computer)}" was not ` +
		    `asked: ${result === 'busy' ? reason : 'it waited too long behind another request'}`);
		this._settle(e, result);
	}

	_ask(e) {
		this.open = e;
		e.expiresAt = this.o.now() + this.o.questionTimeoutMs;
		clearTimeout(e.timer);
		e.timer = setTimeout(() => this._close(e, 'timeout'), this.o.questionTimeoutMs);
		this.phone._emit('question', {
			id: e.id, question: e.question, waiting: this.waiting.length,
			expiresAt: e.expiresAt,
			answer: (choice) => {
				if (this.open !== e)
					fail('STATE', 'this question is no longer open');
				if (!Array.isArray(e.question.choices) || !e.question.choices.includes(choice))
					fail('INVALID', `"${choice}" is not one of this question's choices`);
				if (choice === 'window' || choice === 'host')
					this.windows++;
				this._close(e, choice);
			},
		});
	}

	// The open question is answered, timed out or withdrawn: the next one,
	// after an answer only once its call is done (done()), so that a window
	// it opened is in the state when the next request is looked at.
	_close(e, choice) {
		if (this.open !== e)
			return;
		const answered = choice !== 'timeout' && choice !== 'cancelled';
		this.open = answered ? { kept: true, channel: e.channel } : null;
		this._settle(e, choice);
		if (!answered)
			this.phone._emit('withdrawn', { id: e.id, why: choice });
		this._next();
	}

	_next() {
		while (!this.open && this.waiting.length > 0) {
			const e = this.waiting.shift();
			if (e.windows === this.windows) {
				this._ask(e);
				return;
			}
			// a window opened while it waited: the engine looks first
			this.open = { kept: true, channel: e.channel };
			this._settle(e, 'window-open');
		}
	}

	// The computer hung up: withdrawn if asked, dropped if waiting.
	_ended(e) {
		if (this.open === e) {
			this._close(e, 'cancelled');
			return;
		}
		const i = this.waiting.indexOf(e);
		if (i >= 0) {
			this.waiting.splice(i, 1);
			this._settle(e, 'cancelled');
			this._count();
		}
	}

	// The connection is gone: every call with it.
	dropAll() {
		for (const e of this.waiting.splice(0))
			this._settle(e, 'cancelled');
		if (this.open && !this.open.kept)
			this._close(this.open, 'cancelled');
		this.open = null;
	}
}
