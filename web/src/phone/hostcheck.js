// The host of a login, docs/PROTOCOL.md §8.5.1 (and §9.6), as
// cmd/sk-phone-authenticator/hostcheck.c's skp_hostcheck_run: the host
// information of a request (what sk-phone proxy saw) checked against the
// login's session id and the phone's host pins, in the C code's order and
// with its reasons, word for word.

import { equal } from '../proto/bytes.js';
import { checkHostKey, verifyHostSignature, fingerprint, pinName as makePinName,
    KEY_MAX } from './hostkey.js';
import { certificateProblem, isCertificate, parseCertificate, patternMatch }
    from './hostcert.js';

export const WHY = Object.freeze({
	NO_HOST_INFO: 'no host information',
	OTHER_HOST_KEY: 'the login names another host key than the one sk-phone proxy saw',
	KEY_TYPE: 'the phone cannot check this type of host key',
	KEY_INVALID: 'the host key sk-phone proxy saw is not valid',
	SIG_ALG: 'the phone cannot check the host\'s signature algorithm (ssh-rsa uses SHA-1)',
	SIG_BAD: 'the host\'s signature over this session does not verify: ' +
	    'the host information is not this session\'s',
	NAME: 'the host name is not usable',
	CERT_INVALID: 'the host certificate sk-phone proxy saw is not valid',
	CERT_TYPE: 'the phone cannot check this type of host certificate',
	TOO_LARGE: 'the host key is too large for the phone',
});

// The largest key the phone pins (SKP_CTAP_HOST_BLOB_MAX).
const PIN_KEY_MAX = 2048;

// login: parseData()'s login; hostInfo: decodeRequest()'s ctx.host
// ({ name, port, hostKey, signature, kex }) or null; pins: [{ name, type,
// key, pinnedAt, pinnedBy }]; cas: the host CAs the owner trusts
// ([{ pattern, key }], §8.7 cas); now: unix seconds. ->
// { state: 'pinned' | 'new' | 'changed' | 'bad' | 'unverified' |
//   'certified', why, host, port, pinName, type, key, fingerprint,
//   pinnedAs, newType, cert: null | 'trusted' | 'unknown', caFp,
//   certRefused }.
// A host certificate (§8.5.1 step 2, 4a): key, type and fingerprint are
// the certified key's (what is pinned); a CA trusted for the pin name
// makes 'certified', or 'bad' with certRefused when the certificate does
// not hold (why: the reason); another CA's is its key as a plain key.
// why: the reason for bad and unverified, else null. pinName: the name
// the key is (or would be) pinned under, null when refused; type: the key
// type when the key is one the phone checks; fingerprint: the key's (null
// without a key). pinnedAs (new only): the first other pin name holding
// this very key; newType (new only): the name has pins of other types.
// Data that is not a login gets state 'none' (skp_hostcheck_run's
// SKP_HOSTCHECK_NONE: host information on anything but a login is
// ignored). Never throws for what the computer sent.
export async function hostCheck({ login, hostInfo, pins = [], cas = [], now = null }) {
	const hc = {
		state: 'none', why: null, host: null, port: null, pinName: null, type: null,
		key: null, fingerprint: null, pinnedAs: null, newType: false, cert: null,
		caFp: null, certRefused: false,
	};
	if (!login || login.kind !== 'login')
		return hc;
	if (!hostInfo) {
		hc.state = 'unverified';
		hc.why = WHY.NO_HOST_INFO;
		return hc;
	}
	const bad = (why) => {
		hc.state = 'bad';
		hc.why = why;
		return hc;
	};
	const unverified = (why) => {
		hc.state = 'unverified';
		hc.why = why;
		return hc;
	};
	let key = hostInfo.hostKey;
	hc.host = hostInfo.name;
	hc.port = hostInfo.port;
	hc.key = key;
	hc.pinName = makePinName(hostInfo.name, hostInfo.port);
	// A certificate (§8.5.1 step 2): from here on its certified key is the
	// host key; its fingerprint is the certified key's, as OpenSSH shows.
	let cert = null, certErr = null;
	const isCert = key instanceof Uint8Array && isCertificate(key);
	if (isCert) {
		try {
			cert = parseCertificate(key);
		} catch (e) {
			if (!e.code)
				throw e;
			certErr = e;
		}
	}
	if (cert) {
		key = cert.key;
		hc.key = key;
		hc.caFp = await fingerprint(cert.caKey);
	}
	if (key instanceof Uint8Array && key.length > 0 && key.length <= KEY_MAX)
		hc.fingerprint = await fingerprint(key);
	// The host-bound request names the server's key itself.
	if (login.hostKey && !(hostInfo.hostKey instanceof Uint8Array &&
	    equal(login.hostKey, hostInfo.hostKey)))
		return bad(WHY.OTHER_HOST_KEY);
	if (isCert) {
		if (certErr)
			return certErr.code === 'UNSUPPORTED' ? unverified(WHY.CERT_TYPE) :
			    bad(WHY.CERT_INVALID);
		hc.type = cert.name;
	} else {
		try {
			hc.type = checkHostKey(key).type;
		} catch (e) {
			if (!e.code)
				throw e;
			return e.code === 'UNSUPPORTED' ? unverified(WHY.KEY_TYPE) :
			    bad(WHY.KEY_INVALID);
		}
	}
	if (key.length > PIN_KEY_MAX)
		return unverified(WHY.TOO_LARGE);
	try {
		await verifyHostSignature(key, hostInfo.signature, login.sessionId);
	} catch (e) {
		if (!e.code)
			throw e;
		return e.code === 'UNSUPPORTED' ? unverified(WHY.SIG_ALG) : bad(WHY.SIG_BAD);
	}
	if (hc.pinName === null)
		return unverified(WHY.NAME);
	// Step 4a: a CA the owner trusts for this name decides, without pins.
	if (cert)
		hc.cert = 'unknown';
	if (cert && cas.some((c) => equal(c.key, cert.caKey) && patternMatch(c.pattern,
	    hc.pinName))) {
		hc.cert = 'trusted';
		const t = now ?? Math.floor(Date.now() / 1000);
		const why = await certificateProblem(cert, hostInfo.name.toLowerCase(), t, hc.caFp);
		if (why !== null) {
			hc.certRefused = true;
			return bad(why);
		}
		hc.state = 'certified';
		return hc;
	}
	const pin = pins.find((p) => p.name === hc.pinName && p.type === hc.type);
	if (pin === undefined) {
		hc.state = 'new';
		hc.newType = pins.some((p) => p.name === hc.pinName);
		// First use of this name: is the key known by another?
		const same = pins.find((p) => p.key instanceof Uint8Array && equal(p.key, key));
		hc.pinnedAs = same === undefined ? null : same.name;
	} else {
		hc.state = equal(pin.key, key) ? 'pinned' : 'changed';
	}
	return hc;
}

// The audit log's word (§8.7): yes (pinned, certified, changed), new, no (a login
// otherwise), - (not a login).
export function verifiedWord(hc, isLogin) {
	if (hc.state === 'pinned' || hc.state === 'changed' || hc.state === 'certified')
		return 'yes';
	if (hc.state === 'new')
		return 'new';
	return isLogin ? 'no' : '-';
}
