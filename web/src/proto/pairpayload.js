// The pairing payloads, docs/PROTOCOL.md §1 (Pairing) and lib/pairflow.c:
// strict CBOR maps inside the pairing handshake and after it.
//   msg 1 (phone -> computer): {1: phone name, 2: mailbox id (32), 3: relay URL}
//   msg 2 (computer -> phone): {1: computer name}
//   confirmation (each way, a transport message): {1: true}
// Names follow §2.2's name rules, the URL the relay URL grammar.

import * as cbor from './cbor.js';
import { fail, SkpError } from './err.js';
import { checkName, NAME_MAX, RELAY_URL_MAX } from './pairuri.js';
import { parseRelayUrl } from './relayurl.js';

export const PAIR_PAYLOAD_MAX = 1024;

function load(bytes, keys) {
	const m = cbor.decode(bytes, PAIR_PAYLOAD_MAX);
	if (!(m instanceof Map))
		fail('CBOR_TYPE', 'a pairing payload is a map');
	cbor.mapOnly(m, keys);
	return m;
}

function need(m, key, ok, what) {
	if (!m.has(key))
		fail('FORMAT', `the pairing payload has no ${what}`);
	const v = m.get(key);
	if (!ok(v))
		fail('CBOR_TYPE', `the pairing payload's ${what} has the wrong type`);
	return v;
}

const enc = new TextEncoder();

function text(m, key, max, isUrl, what) {
	const s = need(m, key, (v) => typeof v === 'string', what);
	if (enc.encode(s).length > max)
		fail('TOO_LARGE', `the pairing payload's ${what} is too long`);
	try {
		if (isUrl)
			parseRelayUrl(s);
		else
			checkName(s);
	} catch (e) {
		if (e instanceof SkpError)
			fail('FORMAT', `the pairing payload's ${what}: ${e.message}`);
		throw e;
	}
	return s;
}

function checked(s, isUrl) {
	try {
		if (isUrl)
			parseRelayUrl(s);
		else
			checkName(s);
	} catch (e) {
		fail('INVALID', e.message);
	}
	return s;
}

export function encodeHello({ name, mailboxId, relayUrl }) {
	if (!(mailboxId instanceof Uint8Array) || mailboxId.length !== 32)
		fail('INVALID', 'a mailbox id is 32 bytes');
	return cbor.encode(new Map([[1, checked(name, false)], [2, mailboxId],
	    [3, checked(relayUrl, true)]]), PAIR_PAYLOAD_MAX);
}

export function decodeHello(bytes) {
	const m = load(bytes, [1, 2, 3]);
	const name = text(m, 1, NAME_MAX, false, 'phone name');
	const id = need(m, 2, (v) => v instanceof Uint8Array, 'mailbox id');
	if (id.length > 32)
		fail('TOO_LARGE', 'a mailbox id over 32 bytes');
	if (id.length < 32)
		fail('FORMAT', 'a mailbox id under 32 bytes');
	return { name, mailboxId: id, relayUrl: text(m, 3, RELAY_URL_MAX, true, 'relay URL') };
}

export function encodeReply(name) {
	return cbor.encode(new Map([[1, checked(name, false)]]), PAIR_PAYLOAD_MAX);
}

export function decodeReply(bytes) {
	return text(load(bytes, [1]), 1, NAME_MAX, false, 'computer name');
}

export function encodeConfirm() {
	return cbor.encode(new Map([[1, true]]));
}

// Only {1: true} confirms: {1: false} is REJECTED, anything else FORMAT...
export function decodeConfirm(bytes) {
	const yes = need(load(bytes, [1]), 1, (v) => typeof v === 'boolean', 'confirmation');
	if (!yes)
		fail('REJECTED', 'the other side declined the pairing');
}
