// Web Push in the web phone's service worker, docs/PROTOCOL.md §8.11 (the
// payload of §7.11): a push's message 1 opened with the phone's keys and
// previewed by the engine (the checks of §8.3, nothing recorded) becomes a
// notification; Allow or Reject on it connects to the relay as the phone
// (§7.4), takes the held call the relay delivers, and answers the request
// whose digest is the notification's with the owner's choice, through the
// engine as the page does (§8.3, §8.4; the audit line says "from the
// notification"). Bounded: ANSWER_MS in all.
//
//   const n = await notificationFor(text, { kv, maxActions });
//   await registration.showNotification(n.title, n.options);
//   const r = await answerFromNotification({ kv, data, action });
//   // r: { answered, status, text }

import { b64urlDecode } from '../proto/bytes.js';
import { openCall } from '../proto/call.js';
import { encodeResponse, STATUS } from '../proto/ctap.js';
import { SkpError } from '../proto/err.js';
import { answerable, Engine, FRESH_MS, requestDigest } from '../phone/engine.js';
import { PhoneState } from '../phone/state.js';
import { RelayListener } from './relay.js';

export const PUSH_TAG = 'skp-call';
export const ANSWER_MS = 30000;
export const PAYLOAD_VERSION = 2;

// §7.11's payload -> message 1, or null when it was too large to carry
// (`"call":null`); FORMAT for anything else.
export function parsePushPayload(text) {
	let v;
	try {
		v = JSON.parse(text);
	} catch {
		throw new SkpError('FORMAT', 'a push that is not JSON');
	}
	if (v === null || typeof v !== 'object' || v.v !== PAYLOAD_VERSION || !('call' in v))
		throw new SkpError('FORMAT', 'a push of another version or layout');
	if (v.call === null)
		return null;
	if (typeof v.call !== 'string' || !/^[A-Za-z0-9_-]+$/.test(v.call))
		throw new SkpError('FORMAT', 'a push whose call is not base64url');
	return b64urlDecode(v.call);
}

const HOST_STATE = {
	'verified': 'host verified',
	'first-use': 'host seen for the first time',
	'not-verified': 'host not verified',
};

const AUTO = {
	'allow-window': 'an open window allows it',
	'allow-host-window': 'an open window allows it',
	'allow-no-touch': 'its key needs no touch',
	'info': 'it only asks what the phone can do',
	'unpair': 'the computer unpairs itself',
};

function cap(s) {
	return s ? s[0].toUpperCase() + s.slice(1) : s;
}

// Why the page is needed for a question a notification cannot answer.
function pageNeeded(p) {
	if (p.needsPin)
		return 'it needs the PIN';
	if (p.question.hostState === 'first-use')
		return 'the host is seen for the first time: check its key on the page';
	return 'it needs the page';
}

function opened(title, body, data) {
	return { title, options: { body, tag: PUSH_TAG, renotify: true, data, actions: [] } };
}

// The notification for a push's text: { title, options } for
// registration.showNotification; options.data = { digest, computer, op,
// answerable, until }. maxActions: Notification.maxActions (0: no buttons;
// tapping opens the page).
export async function notificationFor(text, { kv, now = () => Date.now(), maxActions = 2 }) {
	const until = now() + FRESH_MS;
	const none = { digest: null, computer: null, op: null, answerable: false, until };
	let message1;
	try {
		message1 = parsePushPayload(text);
	} catch {
		return opened('sk-phone: a request is waiting', 'The notification could not ' +
		    'be read: open sk-phone to see the request.', none);
	}
	if (message1 === null)
		return opened('sk-phone: a request is waiting', 'It is too large for a ' +
		    'notification: open sk-phone to see it.', none);
	const state = await PhoneState.open(kv);
	const id = await state.identity();
	if (!id)
		return opened('sk-phone: a request came', 'This phone is not set up: ' +
		    'open sk-phone.', none);
	let call;
	try {
		call = await openCall({ identity: id.identity, computers: await state.computers(),
		    message1 });
	} catch (e) {
		if (e instanceof SkpError && e.code === 'NOT_PAIRED')
			return opened('sk-phone: a request from an unknown computer', 'No computer ' +
			    'paired with this phone sent it; nothing is answered.', none);
		if (e instanceof SkpError)
			return opened('sk-phone: a request this phone cannot read', `It is not a ` +
			    `request message (${e.message}); nothing is answered.`, none);
		throw e;
	}
	const p = await new Engine({ state, now }).preview({ call });
	const data = { digest: p.digest, computer: p.computer, op: p.question?.op ?? p.op,
	    answerable: p.answerable,
	    until };
	const from = `from computer "${p.question?.computer ?? call.computer.name}"`;
	if (p.refused)
		return opened(`sk-phone refuses a request ${from}`, p.refused.reason, data);
	if (p.auto)
		return opened(`sk-phone: a request ${from}`, `Open sk-phone to answer it ` +
		    `(${AUTO[p.auto] ?? 'it is answered without asking'}).`, data);
	const q = p.question;
	const title = q.hostLine ? `${cap(q.title)}: ${q.hostLine}` : cap(q.title);
	let body = cap(from) + (q.hostState ? `, ${HOST_STATE[q.hostState]}` : '') + '.';
	if (q.namespace)
		body += ` Namespace '${q.namespace}'.`;
	const buttons = p.answerable && maxActions >= 2;
	if (!p.answerable)
		body += ` Open sk-phone to answer: ${pageNeeded(p)}.`;
	else if (!buttons)
		body += ' Tap to open sk-phone and answer.';
	const n = opened(title, body, data);
	if (buttons) {
		n.options.actions = [{ action: 'allow', title: 'Allow' },
		    { action: 'reject', title: 'Reject' }];
		n.options.requireInteraction = true;
	}
	return n;
}

// What the service worker sends for the engine's answer (as the page's
// controller does).
async function send(channel, call, res) {
	if (channel.ended)
		return;
	if (res.hangUp) {
		channel.hangup();
		return;
	}
	const env = encodeResponse({ status: res.status, ctap: res.ctap, reason: res.reason,
	    phoneTime: res.phoneTime,
	    unpadded: res.unpadded === true });
	channel.send(res.pinPath ? await call.answerAfterPin(env) : await call.answer(env));
	channel.hangup();
}

// Allow ('allow') or Reject ('reject') from the notification whose data
// is given: listen on the phone's mailbox, answer the call with that
// digest (others are hung up), stop. -> { answered, status, text }.
export async function answerFromNotification({ kv, data, action, now = () => Date.now(),
    WebSocket = globalThis.WebSocket, relayUrl, timeoutMs = ANSWER_MS, listenerOptions = {} }) {
	if (action !== 'allow' && action !== 'reject')
		return { answered: false, text: `no such answer: ${action}` };
	if (!data || typeof data.digest !== 'string')
		return { answered: false, text: 'this notification cannot be answered' };
	if (action === 'allow' && !data.answerable)
		return { answered: false, text: 'this request needs the page' };
	if (typeof data.until === 'number' && now() > data.until)
		return { answered: false, text: 'the request is over: the computer asks again ' +
		    'if it still wants it' };
	const state = await PhoneState.open(kv);
	const id = await state.identity();
	if (!id)
		return { answered: false, text: 'this phone is not set up' };
	const url = id.relay || relayUrl;
	const engine = new Engine({ state, now });
	const choice = action === 'allow' ? 'once' : 'reject';
	const l = new RelayListener({ url, mailbox: id.mailbox, mailboxId: id.mailboxId,
	    WebSocket, ...listenerOptions });
	return new Promise((resolve) => {
		let done = false, busy = false;
		const finish = (r) => {
			if (done)
				return;
			done = true;
			clearTimeout(timer);
			l.stop();
			resolve(r);
		};
		const timer = setTimeout(() => finish({ answered: false, text: 'the request did ' +
		    `not come in ${Math.round(timeoutMs / 1000)} s (the computer gave up, or ` +
		    'the phone answered it elsewhere)' }), timeoutMs);
		l.addEventListener('error', (e) => finish({ answered: false,
		    text: `the relay refused this phone: ${e.detail.error.message}` }));
		// The page came back on the relay and took the mailbox: the call
		// is the page's now (it shows the card); no tug of war over it.
		l.addEventListener('warning', (e) => {
			if (e.detail.code === 4007)
				finish({ answered: false, text: 'the open page took the request: ' +
				    'answer it there' });
		});
		l.addEventListener('call', async (e) => {
			const { channel, message1 } = e.detail;
			if (done || busy) {
				channel.hangup();
				return;
			}
			let call;
			try {
				call = await openCall({ identity: id.identity,
				    computers: await state.computers(), message1 });
			} catch {
				channel.hangup();
				return;
			}
			if (done || busy || await requestDigest(call) !== data.digest) {
				// not the request the owner saw
				channel.hangup();
				return;
			}
			busy = true;
			try {
				// Allow only what the notification could answer: a
				// question that changed meanwhile (a pin gone) is left.
				const ask = async (q) => choice === 'reject' ? 'reject' :
				    answerable(q) ? choice : 'cancelled';
				const res = await engine.handle({ call, ask, getPin: async () => null,
				    via: 'notification' });
				await send(channel, call, res);
				finish({ answered: !res.hangUp, status: res.status, text: res.hangUp ?
				    'the request needs the page' : res.status === STATUS.OK ? 'allowed' :
				    res.reason || 'refused' });
			} catch (err) {
				channel.hangup();
				finish({ answered: false, text: `the answer failed: ${err.message}` });
			}
		});
		l.start();
	});
}
