// The mailbox proof, docs/PROTOCOL.md §7.4: the phone signs the relay's
// nonce N with its mailbox key (ECDSA P-256, SHA-256, r || s) over
// "sk-phone mailbox proof v2" || N || id. The id is pairuri.mailboxId.

import { ascii, concat } from './bytes.js';
import { ecdsaSign } from './crypto.js';
import { fail } from './err.js';

export function mailboxProofMessage(nonce, id) {
	if (!(nonce instanceof Uint8Array) || nonce.length !== 32 ||
	    !(id instanceof Uint8Array) || id.length !== 32)
		fail('INVALID', 'the nonce and the mailbox id are 32 bytes each');
	return concat(ascii('sk-phone mailbox proof v2'), nonce, id);
}

export function proveMailbox(privateKey, nonce, id) {
	return ecdsaSign(privateKey, mailboxProofMessage(nonce, id));
}
