// One request on the phone, docs/PROTOCOL.md §8.3 steps 1-2 and §3.7: find
// the paired computer whose key and psk open message 1 (KKpsk0 responder,
// in the order given), decode the envelope, answer in message 2, and, when
// the answer asked for the PIN (0x36 with key 5), read the PIN in transport
// message 3 and answer in transport message 4. The rules (freshness,
// replay, asking the owner) are the caller's.
//
//   const call = await openCall({ identity, computers, message1 });
//   // call.computer, call.request (decoded) or call.refusal { status, message };
//   // call.core: the request's keys 4, 5, 6 as their own CBOR map (ctap.js requestCore)
//   relay.send(await call.answer(encodeResponse({...})));
//   if PIN asked: const pin = await call.readPin(message3);
//                 relay.send(await call.answerAfterPin(encodeResponse({...})));

import { decodePin, decodeRequest, requestCore, STATUS } from './ctap.js';
import { fail, SkpError } from './err.js';
import { Handshake } from './noise.js';
import * as cbor from './cbor.js';

// identity: the phone's static ECDH key pair; computers: [{ publicKey,
// requestPsk, ... }] as paired, in order. Throws NOT_PAIRED when none
// opens message 1 (the phone answers nothing and hangs up).
export async function openCall({ identity, computers, message1 }) {
	for (const computer of computers) {
		const hs = new Handshake({ pattern: 'KK', initiator: false, s: identity,
		    rs: computer.publicKey, psk: computer.requestPsk });
		let payload;
		try {
			payload = await hs.readMessage(message1);
		} catch (e) {
			if (e instanceof SkpError && e.code === 'DECRYPT')
				continue;
			throw e;
		}
		return new Call(hs, computer, payload);
	}
	fail('NOT_PAIRED', 'no paired computer opens this request');
}

class Call {
	constructor(hs, computer, payload) {
		this.hs = hs;
		this.computer = computer;
		this.transport = null;
		this.pinAsked = false;
		try {
			this.request = decodeRequest(payload);
			// for the request digest (phone/engine.js requestDigest)
			this.core = requestCore(payload);
		} catch (e) {
			if (!(e instanceof SkpError))
				throw e;
			this.refusal = { status: e.status, code: e.code, message: e.message };
		}
		payload.fill(0);
		// Message 2's ephemeral key and its two DH while the phone decides.
		hs.prepareWrite();
	}

	// Message 2: the response envelope (encodeResponse's bytes).
	async answer(envelope) {
		const msg = await this.hs.writeMessage(envelope);
		const m = cbor.decode(envelope, 65000);
		this.pinAsked = m.get(1) === STATUS.PIN_REQUIRED && m.get(5) === true;
		if (this.pinAsked)
			this.transport = await this.hs.split();
		return msg;
	}

	// Transport message 3 -> the PIN; a message that does not decrypt
	// throws (the phone ends the call without an answer); a malformed PIN
	// message throws FORMAT... (the phone answers 0x02).
	async readPin(message3) {
		if (!this.transport)
			fail('STATE', 'the answer did not ask for the PIN');
		const p = await this.transport.decrypt(message3);
		try {
			return decodePin(p);
		} finally {
			p.fill(0);
		}
	}

	// Transport message 4: the answer after the PIN.
	async answerAfterPin(envelope) {
		if (!this.transport)
			fail('STATE', 'the answer did not ask for the PIN');
		const msg = await this.transport.encrypt(envelope);
		this.transport.close();
		return msg;
	}
}
