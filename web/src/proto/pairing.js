// The phone's side of pairing, docs/PROTOCOL.md §1 (Pairing) and §8.1, on
// the pieces of this folder: the QR's URI gives the computer's key and the
// pairing psk; the phone is the IK initiator; message 2 gives the computer's
// name; the handshake hash gives the confirmation code and the request psk.
// Transport (the relay) and the owner's confirmation are the caller's.
//
//   const p = await startPairing({ uri, identity, mailboxId, relayUrl, name, now });
//   relay.send(p.message1);
//   const r = await p.finish(message2);   // { computerName, code, requestPsk, computerPub, transport }
//   relay.send(await r.transport.encrypt(encodeConfirm()));

import { Handshake } from './noise.js';
import { checkFresh, confirmCode, pairingPsk, parsePairUri, rendezvousId,
    requestPsk } from './pairuri.js';
import { decodeReply, encodeHello } from './pairpayload.js';

// identity: the phone's static ECDH key pair; now: unix seconds (the
// URI's freshness is checked against it). e: test vectors only.
export async function startPairing({ uri, identity, mailboxId, relayUrl, name, now, e }) {
	const u = parsePairUri(uri);
	checkFresh(u.created, now);
	const psk = await pairingPsk(u.secret);
	const hs = new Handshake({ pattern: 'IK', initiator: true, s: identity,
	    rs: u.computerPub, psk, e });
	psk.fill(0);
	const message1 = await hs.writeMessage(encodeHello({ name, mailboxId, relayUrl }));
	return {
		uri: u,
		rendezvousId: await rendezvousId(u.secret),
		message1,
		async finish(message2) {
			const computerName = decodeReply(await hs.readMessage(message2));
			const h = hs.handshakeHash();
			const code = await confirmCode(h);
			const rp = await requestPsk(h);
			h.fill(0);
			const transport = await hs.split();
			return { computerName, code, requestPsk: rp, computerPub: u.computerPub,
			    relay: u.relay, transport };
		},
	};
}
