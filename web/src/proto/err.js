// Errors of the protocol core: the names of include/sk-phone/err.h
// (SKP_ERR_FORMAT is code 'FORMAT'), so that a test can compare a refusal
// with the C code's and with docs/PROTOCOL.md.

export const CODES = Object.freeze({
	INTERNAL: -1, NOMEM: -2, INVALID: -3, FORMAT: -4, TOO_LARGE: -5,
	TRUNCATED: -6, TRAILING: -7, CBOR_ORDER: -8, CBOR_TYPE: -9,
	UNSUPPORTED: -10, CRYPTO: -11, DECRYPT: -12, STATE: -13, IO: -14,
	PERM: -15, VERSION: -16, NOT_FOUND: -17, EXISTS: -18, EXPIRED: -19,
	REPLAY: -20, TIMEOUT: -21, NETWORK: -22, OFFLINE: -23, REJECTED: -24,
	VERIFY: -25, PIN_REQUIRED: -26, NOT_PAIRED: -27, CORRUPT: -28,
	LIMIT: -29, CLOSED: -30, PIN_INVALID: -31, HOSTKEY: -32,
	UV_UNAVAILABLE: -33, TLS: -34, HOST_UNVERIFIED: -35, OLD_VERSION: -36,
	RELAY_PROTOCOL: -37, LIBRARY: -38,
});

export class SkpError extends Error {
	// code: a key of CODES; message: what broke, for a person.
	constructor(code, message) {
		if (!(code in CODES))
			throw new TypeError(`unknown error code ${code}`);
		super(message || code);
		this.name = 'SkpError';
		this.code = code;
		this.errno = CODES[code];
	}
}

export function fail(code, message) {
	throw new SkpError(code, message);
}
