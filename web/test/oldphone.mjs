// A stand-in for the old phone of a transfer (docs/PROTOCOL.md §10.3, the
// old phone's side), for the web phone's tests: it JOINs the rendezvous,
// answers as the IK responder with a transfer key of its own, and sends a
// state made here (oldState: an identity, a computer, an ES256 and an
// Ed25519 credential, a counter) whose public halves the tests check.
// web/test/transfer.test.js imports it; test/e2e/e2e_webtransfer.py runs
//   node oldphone.mjs RELAY_URL
// which prints the URI, then "code NNNNNN" once the new phone confirmed.

import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { KIND, RelayConnection } from '../src/app/relay.js';
import { ascii, b64urlEncode, equal, fromHex } from '../src/proto/bytes.js';
import * as cbor from '../src/proto/cbor.js';
import { generateEcdh, keyPairFromScalar, randomBytes, sha256 } from '../src/proto/crypto.js';
import { Handshake } from '../src/proto/noise.js';
import { confirmCode } from '../src/proto/pairuri.js';
import * as T from '../src/proto/transfer.js';

// RFC 8032 §7.1 test 1.
const ED_SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const ED_PUB = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');

// more: further URLs of the relay (identity key 4 then a relay list).
export async function oldState(url, more = []) {
	const idScalar = await sha256(ascii('web transfer identity'));
	const mbScalar = await sha256(ascii('web transfer mailbox'));
	const crScalar = await sha256(ascii('web transfer credential'));
	const cred = await keyPairFromScalar(crScalar, 'ECDSA');
	const computer = await generateEcdh();
	const payload = cbor.encode(new Map([
		[1, 1],
		[2, new Map([[1, idScalar], [3, 'old phone'], [4, more.length ? [url, ...more] : url], [5, mbScalar]])],
		[3, new Map([[1, [new Map([[1, 'laptop'], [2, computer.publicKey],
		    [3, new Uint8Array(32).fill(7)], [4, 1700000000], [5, 0]])]]])],
		[4, new Map([[1, [
			new Map([[1, new Uint8Array(16).fill(1)], [2, 'ssh:'], [3, new Uint8Array(0)],
			    [4, ''], [5, cred.publicKey], [6, crScalar], [7, false], [8, 1],
			    [9, 1700000000], [10, 'laptop']]),
			new Map([[1, new Uint8Array(16).fill(2)], [2, 'ssh:'], [3, ascii('alice')],
			    [4, 'alice'], [5, ED_PUB], [6, ED_SEED], [7, true], [8, 2],
			    [9, 1700000001], [10, 'laptop'], [11, -8]]),
		]]])],
		[5, new Map([[1, [new Map([[1, new Uint8Array(16).fill(1)], [2, 41]])]]])],
		[6, new Map([[1, []], [2, []]])],
		[7, new Map([[1, []]])],
		[8, new Map([[1, 2]])],
		[9, Math.floor(Date.now() / 1000)],
	]));
	const id = await keyPairFromScalar(idScalar, 'ECDH');
	const mb = await keyPairFromScalar(mbScalar, 'ECDSA');
	return { payload, identityPub: id.publicKey, mailboxPub: mb.publicKey,
	    credPub: cred.publicKey };
}

// The old phone: JOIN, then (run) the handshake's responder and the rest.
// how: 'all' | 'decline' (hangs up after message 2) | 'no-done' (goes
// away after received).
export async function oldPhone(url, payload, { how = 'all', key = null } = {}) {
	const S = randomBytes(16);
	const tkey = await generateEcdh();
	const shown = key || tkey.publicKey;
	const uri = `sk-phone://transfer?v=1&k=${b64urlEncode(shown)}&s=${b64urlEncode(S)}` +
	    `&r=${b64urlEncode(ascii(url))}&t=${Math.floor(Date.now() / 1000)}`;
	const conn = await RelayConnection.open(url, { WebSocket });
	const waiting = new Promise((resolve) => conn.addEventListener('frame', (e) => {
		if (e.detail.kind === KIND.WAITING)
			resolve();
	}));
	const ch = conn.openChannel(KIND.JOIN, await T.transferRendezvousId(S), 60000);
	await waiting;
	const run = (async () => {
		const hs = new Handshake({ pattern: 'IK', initiator: false, s: tkey,
		    psk: await T.transferPsk(S), prologue: ascii(T.PROLOGUE) });
		try {
			await hs.readMessage(await ch.recv(15000));
		} catch (e) {
			ch.hangup();
			conn.close();
			return { error: e.code };
		}
		ch.send(await hs.writeMessage(cbor.encode(new Map([[1, 'old phone']]))));
		const code = (await confirmCode(hs.handshakeHash(), T.CONFIRM_INFO)).text;
		const t = await hs.split();
		if (how === 'decline') {
			ch.hangup();
			conn.close();
			return { code };
		}
		T.decodeDone(await t.decrypt(await ch.recv(15000)));	// ready: {1: true}
		const digest = await sha256(payload);
		ch.send(await t.encrypt(cbor.encode(new Map([[1, payload.length], [2, digest]]))));
		for (let i = 0; i < payload.length; i += T.PIECE_MAX)
			ch.send(await t.encrypt(payload.slice(i, i + T.PIECE_MAX)));
		const r = cbor.decode(await t.decrypt(await ch.recv(15000)));
		if (!equal(r.get(1), digest))
			throw new Error('received: another digest');
		if (how === 'no-done') {
			conn.close();
			return { code };
		}
		ch.send(await t.encrypt(cbor.encode(new Map([[1, true]]))));
		await new Promise((res) => setTimeout(res, 100));
		conn.close();
		return { code };
	})();
	return { uri, run };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const url = process.argv[2];
	const st = await oldState(url);
	const old = await oldPhone(url, st.payload);
	console.log(old.uri);
	const r = await old.run;
	console.log(r.error ? 'error ' + r.error : 'code ' + r.code);
	process.exit(r.error ? 1 : 0);
}
