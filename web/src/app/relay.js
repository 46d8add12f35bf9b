// The web phone's relay client, docs/PROTOCOL.md §7 (as lib/relay_client.c
// for the phone's side): one WebSocket per connection offering
// sk-phone-relay.v2, every message one frame (§7.2) parsed strictly,
// channels (§7.3), listening on the mailbox with the proof (§7.4), the
// phone's MEET at the pairing rendezvous (§7.6), the codes (§7.7), and the
// phone's way of staying on the relay (§8.8): reconnect with a jittered
// backoff of 1 s doubling to 30 s, reset by a successful listen; silent
// calls hung up after 5 s; a takeover (4007) warned about and backed off.
//
//   const c = await RelayConnection.open(url, { WebSocket });
//   const ch = await meet(url, rendezvousId, 120000, { WebSocket });
//   ch.send(bytes); const m = await ch.recv(ms); ch.hangup();
//   const l = new RelayListener({ url, mailbox, mailboxId, WebSocket });
//   l.addEventListener('call', (e) => e.detail.channel, e.detail.message1);
//   l.start(); l.stop();
//   await l.pushKey() -> { status, key }; await l.subscribePush({ endpoint,
//   p256dh, auth }) -> status; await l.unsubscribePush() -> status
//   (Web Push, §7.11: only while listening; answers matched in order).
//
// Keepalive: the relay pings a silent connection (§7.8) and every WebSocket
// answers. A browser's WebSocket cannot ping, and the browser answers the
// relay's pings itself without telling the page: the relay sends nothing the
// page can see on an idle connection, so "no frame for longer than the
// keepalive period" says nothing about a browser's socket and is not used.
// A browser phone learns of a dead relay from the socket's own close (the
// browser's TCP timeout, possibly minutes), and reconnects at once on the
// window's 'online' event and when the page becomes visible again
// (controller.js calls RelayListener.kick(), which connects only when no
// socket is open). Where the WebSocket has ping() (the ws package, in the
// node tests) the listener pings after 20 silent seconds and drops the
// connection when 40 pass without anything, as the C client does.

import { ascii, concat, fromUtf8 } from '../proto/bytes.js';
import { fail, SkpError } from '../proto/err.js';
import { proveMailbox } from '../proto/mailbox.js';

export const SUBPROTOCOL = 'sk-phone-relay.v2';
export const FRAME_MAX = 65536;

export const KIND = Object.freeze({
	LISTEN: 0x01, CALL: 0x02, JOIN: 0x03, DATA: 0x04, HANGUP: 0x05,
	PROVE: 0x06, MEET: 0x07, SUBSCRIBE: 0x08, UNSUBSCRIBE: 0x09,
	LISTENING: 0x81, INCOMING: 0x82, ONLINE: 0x83, OFFLINE: 0x84,
	WAITING: 0x85, PEER: 0x86, END: 0x87, CHALLENGE: 0x88, PUSH: 0x89,
});

// §7.11: the status of a PUSH frame.
export const PUSH_STATUS = Object.freeze({ OK: 0, REMOVED: 1, OFF: 2, REFUSED: 3, FULL: 4 });
export const PUSH_KEY_LEN = 65;
export const PUSH_AUTH_LEN = 16;
export const PUSH_ENDPOINT_MIN = 12;
export const PUSH_ENDPOINT_MAX = 1024;

// §7.7: code -> [error code, the relay's reason].
export const CODES = Object.freeze({
	4000: ['FORMAT', 'protocol error'],
	4001: ['FORMAT', 'text frames not allowed'],
	4002: ['LIMIT', 'frame too large'],
	4003: ['LIMIT', 'too many connections from this address'],
	4004: ['LIMIT', 'relay full'],
	4005: ['TIMEOUT', 'idle'],
	4006: ['INVALID', 'bad mailbox proof'],
	4007: ['EXISTS', 'replaced by a newer listener'],
	4008: ['CLOSED', 'relay shutting down'],
	4009: ['NETWORK', 'no answer to ping'],
	4010: ['LIMIT', 'relay out of memory'],
	4011: ['FORMAT', 'sk-phone relay protocol 1 is no longer served: ' +
	    'update sk-phone (phone and computer) to protocol 2'],
	4012: ['LIMIT', 'too much queued for this connection: it does not read'],
	4020: ['TIMEOUT', 'timed out'],
	4021: ['LIMIT', 'too many calls to this mailbox'],
	4022: ['LIMIT', 'too many held calls'],
	4023: ['LIMIT', 'too many channels on this connection'],
	4024: ['CLOSED', 'phone disconnected'],
	4025: ['CLOSED', 'hung up'],
	4026: ['CLOSED', 'peer disconnected'],
	4027: ['LIMIT', 'rendezvous taken'],
	4028: ['LIMIT', 'too much data before delivery'],
	4029: ['LIMIT', 'too many calls to this mailbox from this address'],
	4030: ['LIMIT', 'too many held calls from this address'],
	4031: ['NOT_FOUND', 'no pairing is waiting under this code: it was ' +
	    'used, has expired, or was altered'],
	4032: ['NETWORK', 'relay cluster unavailable: the other side may be ' +
	    'on another relay node; try again'],
});

// An END or a close as an error: e.relayCode, e.relayReason.
export function codeError(code, reason) {
	const known = CODES[code];
	const errCode = known ? known[0] :
	    (code === 1000 || code === 1001 ? 'CLOSED' : 'NETWORK');
	const text = reason || (known ? known[1] : '');
	const e = new SkpError(errCode, text ? `the relay: ${text} (${code})` :
	    `the connection to the relay ended (${code})`);
	e.relayCode = code;
	e.relayReason = text;
	return e;
}

// ---- frames (§7.2) ----

export function encodeFrame(kind, chan, body = new Uint8Array(0)) {
	const f = new Uint8Array(5 + body.length);
	f[0] = kind;
	new DataView(f.buffer).setUint32(1, chan >>> 0);
	f.set(body, 5);
	return f;
}

function u32(n) {
	const b = new Uint8Array(4);
	new DataView(b.buffer).setUint32(0, n >>> 0);
	return b;
}

// A whole frame from the relay -> { kind, chan, body }, END adding code
// and reason; the refusals of lib/relay_client.c skp_relay_parse_relay in
// its order: TRUNCATED (a short header or body), FORMAT (the channel rule,
// an unknown kind, an END code outside 4000..4999, a reason that is not
// printable ASCII or over 123 bytes), TRAILING (bytes after a fixed body).
// The size cap (65536) is the caller's.
export const REASON_MAX = 123;

export function parseFrame(f) {
	if (f.length < 5)
		fail('TRUNCATED', 'a frame from the relay shorter than its header');
	const kind = f[0];
	const chan = new DataView(f.buffer, f.byteOffset, f.length).getUint32(1);
	const body = f.subarray(5);
	if ((kind === KIND.LISTENING || kind === KIND.CHALLENGE || kind === KIND.PUSH) !==
	    (chan === 0))
		fail('FORMAT', `a frame of kind 0x${kind.toString(16)} on the wrong channel`);
	const exactly = (n) => {
		if (body.length < n)
			fail('TRUNCATED', `a short frame of kind 0x${kind.toString(16)} from the relay`);
		if (body.length > n)
			fail('TRAILING', `a long frame of kind 0x${kind.toString(16)} from the relay`);
	};
	switch (kind) {
	case KIND.LISTENING: case KIND.INCOMING: case KIND.ONLINE: case KIND.OFFLINE:
	case KIND.WAITING: case KIND.PEER:
		exactly(0);
		break;
	case KIND.CHALLENGE:
		exactly(32);
		break;
	case KIND.DATA:
		break;
	case KIND.PUSH: {
		// §7.11: status 2 alone; any other status with the relay's key.
		if (body.length < 1)
			fail('TRUNCATED', 'a PUSH without its status');
		const status = body[0];
		if (status > PUSH_STATUS.FULL)
			fail('FORMAT', `a PUSH of unknown status ${status}`);
		exactly(status === PUSH_STATUS.OFF ? 1 : 1 + PUSH_KEY_LEN);
		// The key's bytes are the browser's to check (subscribe() refuses
		// a key that is not a P-256 point), as lib/relay_client.c leaves them.
		const key = status === PUSH_STATUS.OFF ? null : body.slice(1);
		return { kind, chan, body, status, key };
	}
	case KIND.END: {
		if (body.length < 2)
			fail('TRUNCATED', 'an END without its code');
		const code = (body[0] << 8) | body[1];
		if (code < 4000 || code > 4999)
			fail('FORMAT', 'an END code outside 4000..4999');
		const reason = body.subarray(2);
		if (reason.length > REASON_MAX || reason.some((c) => c < 0x20 || c > 0x7e))
			fail('FORMAT', 'an END reason that is not printable ASCII of 123 bytes at most');
		return { kind, chan, body, code, reason: fromUtf8(reason) };
	}
	default:
		fail('FORMAT', `a frame of unknown kind 0x${kind.toString(16)} from the relay`);
	}
	return { kind, chan, body };
}

// §7.11: the body of SUBSCRIBE for a subscription (p256dh 65 bytes 0x04 X
// Y, auth 16 bytes, the endpoint URL of 12..1024 bytes 0x21..0x7e); no
// subscription: the empty body (the relay's key only).
export function subscribeBody(sub) {
	if (!sub)
		return new Uint8Array(0);
	const { endpoint, p256dh, auth } = sub;
	if (!(p256dh instanceof Uint8Array) || p256dh.length !== PUSH_KEY_LEN || p256dh[0] !== 0x04)
		fail('INVALID', 'a push subscription\'s p256dh key is not a 65-byte P-256 point');
	if (!(auth instanceof Uint8Array) || auth.length !== PUSH_AUTH_LEN)
		fail('INVALID', 'a push subscription\'s auth secret is not 16 bytes');
	if (typeof endpoint !== 'string' || endpoint.length < PUSH_ENDPOINT_MIN ||
	    endpoint.length > PUSH_ENDPOINT_MAX || !/^[\x21-\x7e]*$/.test(endpoint))
		fail('INVALID', 'a push endpoint that is not 12 to 1024 printable ASCII ' +
		    'characters without spaces');
	return concat(p256dh, auth, ascii(endpoint));
}

// ---- a channel: a call, or the rendezvous ----

export class Channel extends EventTarget {
	constructor(conn, chan) {
		super();
		this.conn = conn;
		this.chan = chan;
		this.queue = [];	// DATA bodies not yet read
		this.waiters = [];	// { resolve, reject, timer }
		this.ended = null;	// the SkpError that ended it
		this.peer = false;	// PEER (rendezvous) or ONLINE seen
	}

	send(data) {
		if (this.ended)
			throw this.ended;
		this.conn.send(KIND.DATA, this.chan, data);
	}

	hangup() {
		if (this.ended)
			return;
		try {
			this.conn.send(KIND.HANGUP, this.chan);
		} catch {
			// the connection is gone: so is the channel
		}
		this._end(new SkpError('CLOSED', 'hung up here'), false);
	}

	// The next DATA; throws the END's error, or TIMEOUT after ms.
	recv(ms = 0) {
		if (this.queue.length > 0)
			return Promise.resolve(this.queue.shift());
		if (this.ended)
			return Promise.reject(this.ended);
		return new Promise((resolve, reject) => {
			const w = { resolve, reject, timer: null };
			if (ms > 0)
				w.timer = setTimeout(() => {
					this.waiters.splice(this.waiters.indexOf(w), 1);
					reject(new SkpError('TIMEOUT', 'nothing came in time'));
				}, ms);
			this.waiters.push(w);
		});
	}

	_data(body) {
		const w = this.waiters.shift();
		if (w) {
			clearTimeout(w.timer);
			w.resolve(body);
		} else {
			this.queue.push(body);
		}
		this.dispatchEvent(new Event('data'));
	}

	_end(err, fromRelay = true) {
		if (this.ended)
			return;
		this.ended = err;
		this.conn.channels.delete(this.chan);
		for (const w of this.waiters.splice(0)) {
			clearTimeout(w.timer);
			w.reject(err);
		}
		this.dispatchEvent(new CustomEvent('end', { detail: { error: err, fromRelay } }));
	}
}

// ---- one connection ----

export class RelayConnection extends EventTarget {
	// -> a connection whose socket is open with sk-phone-relay.v2.
	static open(url, { WebSocket = globalThis.WebSocket, timeoutMs = 10000 } = {}) {
		if (typeof WebSocket !== 'function')
			return Promise.reject(new SkpError('UNSUPPORTED', 'no WebSocket here'));
		return new Promise((resolve, reject) => {
			let ws;
			try {
				ws = new WebSocket(url, [SUBPROTOCOL]);
			} catch (e) {
				reject(new SkpError('NETWORK', `cannot connect to the relay ${url}: ${e.message}`));
				return;
			}
			ws.binaryType = 'arraybuffer';
			let done = false;
			const timer = setTimeout(() => {
				if (done)
					return;
				done = true;
				try { ws.close(); } catch { /* not open */ }
				reject(new SkpError('TIMEOUT', `the relay ${url} did not answer in time`));
			}, timeoutMs);
			ws.onopen = () => {
				if (done)
					return;
				done = true;
				clearTimeout(timer);
				if (ws.protocol !== SUBPROTOCOL) {
					try { ws.close(); } catch { /* gone */ }
					reject(new SkpError('RELAY_PROTOCOL', 'the relay closed the ' +
					    'connection without taking protocol 2 (an older relay, or ' +
					    'a proxy whose relay is down): update the relay'));
					return;
				}
				resolve(new RelayConnection(ws, url));
			};
			ws.onerror = () => {};
			ws.onclose = (ev) => {
				if (done)
					return;
				done = true;
				clearTimeout(timer);
				reject(ev.code >= 4000 ? codeError(ev.code, ev.reason) :
				    new SkpError('NETWORK', `cannot connect to the relay ${url}`));
			};
		});
	}

	constructor(ws, url) {
		super();
		this.ws = ws;
		this.url = url;
		this.channels = new Map();
		this.nextChan = 1;
		this.closed = null;
		this.lastHeard = Date.now();
		ws.onmessage = (ev) => this._message(ev.data);
		ws.onclose = (ev) => this._closed(ev.code >= 4000 || ev.code === 1000 ||
		    ev.code === 1001 ? codeError(ev.code, ev.reason) :
		    new SkpError('NETWORK', 'the connection to the relay dropped'));
		ws.onerror = () => {};
		if (typeof ws.on === 'function')	// the ws package: pongs count as heard
			ws.on('pong', () => { this.lastHeard = Date.now(); });
	}

	send(kind, chan, body) {
		if (this.closed)
			throw this.closed;
		const f = encodeFrame(kind, chan, body);
		if (f.length > FRAME_MAX)
			fail('TOO_LARGE', 'a frame over 65536 bytes');
		this.ws.send(f);
	}

	// A new channel of ours (MEET): the next id, never reused.
	openChannel(kind, id, timeoutMs) {
		const chan = this.nextChan++;
		const ch = new Channel(this, chan);
		this.channels.set(chan, ch);
		this.send(kind, chan, concat(id, u32(timeoutMs)));
		return ch;
	}

	close(code = 1000) {
		if (this.closed)
			return;
		try { this.ws.close(code); } catch { /* gone */ }
		this._closed(new SkpError('CLOSED', 'closed here'));
	}

	_message(data) {
		this.lastHeard = Date.now();
		if (typeof data === 'string') {
			this._fatal(new SkpError('FORMAT', 'a text message from the relay'));
			return;
		}
		const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) :
		    ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset,
		    data.byteLength) : null;
		if (!bytes) {
			this._fatal(new SkpError('FORMAT', 'a message of an unknown type'));
			return;
		}
		let fr;
		try {
			if (bytes.length > FRAME_MAX)
				fail('LIMIT', 'a frame from the relay over 65536 bytes');
			fr = parseFrame(bytes);
		} catch (e) {
			this._fatal(e);
			return;
		}
		const ch = this.channels.get(fr.chan);
		switch (fr.kind) {
		case KIND.DATA:
			if (ch)	// else: a channel that just ended (§7.3)
				ch._data(fr.body.slice());
			break;
		case KIND.END:
			if (ch)
				ch._end(codeError(fr.code, fr.reason));
			break;
		case KIND.PEER: case KIND.ONLINE:
			if (ch) {
				ch.peer = true;
				ch.dispatchEvent(new Event('peer'));
			}
			break;
		case KIND.INCOMING: {
			if (this.channels.has(fr.chan)) {
				this._fatal(new SkpError('FORMAT', 'INCOMING on an open channel'));
				return;
			}
			const c = new Channel(this, fr.chan);
			this.channels.set(fr.chan, c);
			this.dispatchEvent(new CustomEvent('incoming', { detail: c }));
			break;
		}
		default:
			this.dispatchEvent(new CustomEvent('frame', { detail: fr }));
		}
	}

	_fatal(err) {
		try { this.ws.close(4000); } catch { /* gone */ }
		this._closed(err);
	}

	_closed(err) {
		if (this.closed)
			return;
		this.closed = err;
		this.ws.onmessage = this.ws.onclose = null;
		for (const ch of [...this.channels.values()])
			ch._end(err);
		this.dispatchEvent(new CustomEvent('close', { detail: err }));
	}
}

// ---- a relay list (§7.1): several URLs of one relay, in turn ----

export const URL_TIMEOUT_MS = 3000;	// SKP_RELAY_URL_TIMEOUT_MS

// The first URL of urls (a list, or one URL) that answers, in order: each
// URL but the last has its share of what is left of timeoutMs and at most
// URL_TIMEOUT_MS, so one that takes the connection and never answers
// leaves the next its turn; the last has all that is left. A URL the
// page may not reach (its Content-Security-Policy names its own origin
// only) fails at once and the next is tried. Rejects with the last
// failure. The connection's index is the URL's place in the list.
export async function openList(urls, { WebSocket, timeoutMs = 10000 } = {}) {
	const list = typeof urls === 'string' ? [urls] : urls;
	const t0 = Date.now();
	let err = new SkpError('TIMEOUT', 'no relay URL answered in time');
	for (let i = 0; i < list.length; i++) {
		const left = timeoutMs - (Date.now() - t0);
		if (left <= 0)
			break;
		const per = i + 1 === list.length ? left :
		    Math.min(URL_TIMEOUT_MS, Math.floor(left / (list.length - i)));
		try {
			const conn = await RelayConnection.open(list[i], { WebSocket,
			    timeoutMs: Math.max(1, per) });
			conn.index = i;
			return conn;
		} catch (e) {
			err = e;
		}
	}
	throw err;
}

// ---- the phone's side of the rendezvous (§7.6, §8.1) ----

// MEET at the rendezvous id on a connection of its own (url: one URL or a
// relay list, openList); resolves with the channel once the computer is
// there (PEER); END 4031 at once when nobody waits. The channel's
// connection closes when the channel ends.
export async function meet(url, rendezvousId, timeoutMs, { WebSocket } = {}) {
	const conn = await openList(url, { WebSocket, timeoutMs: Math.min(timeoutMs, 30000) });
	const ch = conn.openChannel(KIND.MEET, rendezvousId, timeoutMs);
	ch.addEventListener('end', () => conn.close());
	await new Promise((resolve, reject) => {
		if (ch.peer)
			return resolve();
		const timer = setTimeout(() => reject(new SkpError('TIMEOUT',
		    'the relay did not answer the rendezvous in time')), timeoutMs);
		ch.addEventListener('peer', () => { clearTimeout(timer); resolve(); });
		ch.addEventListener('end', (e) => { clearTimeout(timer); reject(e.detail.error); });
	}).catch((e) => {
		conn.close();
		throw e;
	});
	return ch;
}

// ---- listening, and staying on the relay (§7.4, §8.8) ----

export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 30000;
export const SILENT_CALL_MS = 5000;
export const KEEPALIVE_MS = 20000;

// §8.8: the next backoff after `prev` (0: none yet) and the wait, a random
// time between half and all of it -> [backoff, wait].
export function backoffStep(prev, first = BACKOFF_FIRST_MS, max = BACKOFF_MAX_MS,
    random = Math.random) {
	const b = prev === 0 ? first : Math.min(prev * 2, max);
	return [b, b / 2 + random() * b / 2];
}

// url: one URL or a relay list (§7.1), walked from its first URL at every
// connect, so the phone moves on when its URL fails and comes back to the
// first once it answers; this.current is the URL of the live connection.
// Events: 'status' { status: 'offline'|'connecting'|'online' }, 'listening'
// {} (each time a LISTEN is proved: a (re)connect), 'call'
// { channel, message1 }, 'warning' { text, code }, 'error' { error } (a
// listen refused for a bad proof (4006): the listener stops).
export class RelayListener extends EventTarget {
	constructor({ url, mailbox, mailboxId, WebSocket = globalThis.WebSocket,
	    backoffFirstMs = BACKOFF_FIRST_MS, backoffMaxMs = BACKOFF_MAX_MS,
	    silentCallMs = SILENT_CALL_MS, keepaliveMs = KEEPALIVE_MS,
	    random = Math.random }) {
		super();
		Object.assign(this, { url, mailbox, mailboxId, WebSocket, backoffFirstMs,
		    backoffMaxMs, silentCallMs, keepaliveMs, random });
		this.status = 'offline';
		this.conn = null;
		this.running = false;
		this.backoff = 0;
		this.retryTimer = null;
		this.kaTimer = null;
		this.silentHung = 0;
		this.takenOver = false;
		this.listening = null;	// the connection whose LISTEN was proved
		this.pushWaiters = [];	// { conn, resolve, reject, timer }: PUSH answers, in order
	}

	// ---- Web Push (§7.11): only on a proved listener connection ----

	// The relay's VAPID key -> { status, key (Uint8Array(65) or null) }.
	pushKey(ms = 10000) {
		return this._push(KIND.SUBSCRIBE, new Uint8Array(0), ms);
	}

	// Gives the relay this phone's subscription -> the PUSH status.
	async subscribePush(sub, ms = 10000) {
		return (await this._push(KIND.SUBSCRIBE, subscribeBody(sub), ms)).status;
	}

	async unsubscribePush(ms = 10000) {
		return (await this._push(KIND.UNSUBSCRIBE, new Uint8Array(0), ms)).status;
	}

	_push(kind, body, ms) {
		const conn = this.listening;
		if (!conn || conn.closed)
			return Promise.reject(new SkpError('OFFLINE', 'the phone is not ' +
			    'connected to its relay: try again when it is online'));
		return new Promise((resolve, reject) => {
			const w = { conn, resolve, reject, timer: null };
			w.timer = setTimeout(() => {
				this._pushDone(w, new SkpError('TIMEOUT', 'the relay did not answer ' +
				    'about push in time'));
			}, ms);
			this.pushWaiters.push(w);
			try {
				conn.send(kind, 0, body);
			} catch (e) {
				this._pushDone(w, e);
			}
		});
	}

	// Settles one waiter (value or error) and forgets it.
	_pushDone(w, errOrValue) {
		const i = this.pushWaiters.indexOf(w);
		if (i < 0)
			return;
		this.pushWaiters.splice(i, 1);
		clearTimeout(w.timer);
		if (errOrValue instanceof Error)
			w.reject(errOrValue);
		else
			w.resolve(errOrValue);
	}

	// A connection went: its questions about push with it.
	_pushDrop(conn, err) {
		for (const w of this.pushWaiters.filter((x) => x.conn === conn))
			this._pushDone(w, err);
	}

	start() {
		if (this.running)
			return;
		this.running = true;
		this.backoff = 0;
		this._connect();
	}

	stop() {
		this.running = false;
		clearTimeout(this.retryTimer);
		clearInterval(this.kaTimer);
		this.retryTimer = this.kaTimer = null;
		if (this.conn)
			this.conn.close();
		this.conn = null;
		this._status('offline');
	}

	// Connect now when waiting to retry (the browser came back online).
	kick() {
		if (this.running && this.retryTimer !== null) {
			clearTimeout(this.retryTimer);
			this.retryTimer = null;
			this._connect();
		}
	}

	_status(s) {
		if (this.status === s)
			return;
		this.status = s;
		this.dispatchEvent(new CustomEvent('status', { detail: { status: s } }));
	}

	_retry() {
		if (!this.running)
			return;
		this._status('offline');
		let wait;
		[this.backoff, wait] = backoffStep(this.backoff, this.backoffFirstMs,
		    this.backoffMaxMs, this.random);
		this.retryTimer = setTimeout(() => {
			this.retryTimer = null;
			this._connect();
		}, wait);
	}

	async _connect() {
		if (!this.running)
			return;
		this._status('connecting');
		let conn;
		try {
			conn = await openList(this.url, { WebSocket: this.WebSocket });
		} catch (e) {
			this.dispatchEvent(new CustomEvent('warning', { detail: {
			    text: e.message, code: e.relayCode } }));
			this._retry();
			return;
		}
		if (!this.running) {
			conn.close();
			return;
		}
		this.conn = conn;
		this.current = conn.url;
		let listening = false;
		let proved = false;
		conn.addEventListener('close', (ev) => {
			clearInterval(this.kaTimer);
			this.kaTimer = null;
			if (this.conn === conn)
				this.conn = null;
			if (this.listening === conn)
				this.listening = null;
			const err = ev.detail;
			this._pushDrop(conn, err);
			if (err.relayCode === 4006) {
				this.running = false;
				this._status('offline');
				this.dispatchEvent(new CustomEvent('error', { detail: { error: err } }));
				return;
			}
			if (err.relayCode === 4007) {
				this.dispatchEvent(new CustomEvent('warning', { detail: {
				    code: 4007, text: 'this phone is live somewhere else: ' +
				    'another device listens on its mailbox (a copy of this ' +
				    'browser\'s data?). A copy is not a second phone: pair the ' +
				    'other device as a phone of its own, and stop the copy. ' +
				    '(relay code 4007; if no copy exists, someone holds this ' +
				    'phone\'s mailbox key)' } }));
				// successive takeovers double the wait (§8.8)
				this.takenOver = true;
			} else if (listening) {
				this.takenOver = false;
			}
			if (this.running)
				this._retry();
		});
		conn.addEventListener('frame', async (ev) => {
			const fr = ev.detail;
			try {
				if (fr.kind === KIND.CHALLENGE && !listening && !proved) {
					proved = true;
					await this._prove(conn, fr.body);
				} else if (fr.kind === KIND.LISTENING && !listening) {
					listening = true;
					this.listening = conn;
					if (!this.takenOver)
						this.backoff = 0;
					this._status('online');
					// every (re)connect: the page gives its subscription again
					this.dispatchEvent(new CustomEvent('listening', { detail: {} }));
				} else if (fr.kind === KIND.PUSH && listening) {
					const w = this.pushWaiters.find((x) => x.conn === conn);
					if (!w)
						throw new SkpError('FORMAT', 'a PUSH frame nobody asked for');
					this._pushDone(w, { status: fr.status, key: fr.key });
				} else {
					throw new SkpError('FORMAT', 'an unexpected frame from the relay');
				}
			} catch (e) {
				conn._fatal(e instanceof SkpError ? e : new SkpError('FORMAT', e.message));
			}
		});
		conn.addEventListener('incoming', (ev) => this._incoming(ev.detail));
		try {
			conn.ws.send(this._listenFrame());
		} catch {
			return;	// closed already: its close handler retries
		}
		if (typeof conn.ws.ping === 'function' && this.keepaliveMs > 0) {
			let pinged = false;
			this.kaTimer = setInterval(() => {
				const silent = Date.now() - conn.lastHeard;
				if (silent >= 2 * this.keepaliveMs) {
					try { conn.ws.terminate ? conn.ws.terminate() : conn.ws.close(); } catch { /* gone */ }
					conn._closed(new SkpError('NETWORK', 'the relay did not answer a ping'));
				} else if (silent >= this.keepaliveMs && !pinged) {
					pinged = true;
					try { conn.ws.ping(); } catch { /* closing */ }
				} else if (silent < this.keepaliveMs) {
					pinged = false;
				}
			}, Math.max(250, this.keepaliveMs / 4));
		}
	}

	// §7.4: LISTEN, then PROVE for the relay's nonce.
	_listenFrame() {
		return encodeFrame(KIND.LISTEN, 0, concat(this.mailboxId, this.mailbox.publicKey));
	}

	async _prove(conn, nonce) {
		const sig = await proveMailbox(this.mailbox.privateKey, nonce, this.mailboxId);
		if (!conn.closed)
			conn.send(KIND.PROVE, 0, sig);
	}

	// A call: its first DATA is message 1; none within silentCallMs: hung up.
	_incoming(ch) {
		const timer = setTimeout(() => {
			this.silentHung++;
			ch.hangup();
		}, this.silentCallMs);
		ch.recv().then((message1) => {
			clearTimeout(timer);
			this.dispatchEvent(new CustomEvent('call', { detail: { channel: ch, message1 } }));
		}, () => clearTimeout(timer));
	}
}
