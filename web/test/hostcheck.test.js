// The host of a login (web/src/phone/hostcheck.js, PROTOCOL.md §8.5.1)
// against cmd/sk-phone-authenticator/hostcheck.c through codec_peer, on
// test/fuzz/fuzz_sshmsg.c's input format: the sshmsg corpus's host check
// seeds, PRNG mutants of them, and logins signed by real ssh-keygen host
// keys (ed25519, ecdsa 256/384/521, rsa; host-bound or not; the session's
// signature or another's; ssh-rsa; good and bad host names) each against
// pin tables the harness makes (this key pinned for the name or another
// key; the key pinned as another name; pins of another type). State, reason, pin name, key type,
// fingerprint, "NEW key type" and "pinned as" must be C's, word for word;
// then the states one by one, with pins as the web phone keeps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostCheck, verifiedWord, WHY } from '../src/phone/hostcheck.js';
import { checkHostKey, verifyHostSignature, fingerprint } from '../src/phone/hostkey.js';
import { parseData, textOf } from '../src/phone/sshmsg.js';
import { CODES } from '../src/proto/err.js';
import { concat, toHex, utf8 } from '../src/proto/bytes.js';
import { seeds, cLines, mutants, splitHostInput, realKeys, hostInput } from './hostpeer.js';

const { keys: KEYS } = realKeys();

function sb(b) {
	return concat([b.length >>> 24, (b.length >> 16) & 255, (b.length >> 8) & 255, b.length & 255], b);
}
const str = (s) => sb(utf8(s));

// An SSH userauth request with session id sid (host-bound to hostKey).
function userauth(sid, hostKey = null, user = 'root') {
	const key = concat(str('sk-ssh-ed25519@openssh.com'), sb(new Uint8Array(32).fill(5)), str('ssh:'));
	return concat(sb(sid), [50], str(user), str('ssh-connection'),
	    str(hostKey ? 'publickey-hostbound-v00@openssh.com' : 'publickey'), [1],
	    str('sk-ssh-ed25519@openssh.com'), sb(key), hostKey ? sb(hostKey) : new Uint8Array(0));
}

async function code(p) {
	try {
		await p();
		return 0;
	} catch (e) {
		if (!e.code)
			throw e;
		return CODES[e.code];
	}
}

const hcLine = (hc) => [hc.state, hc.why ?? '', hc.pinName ?? '', hc.type ?? '-',
	hc.fingerprint ?? '', hc.newType ? 1 : 0, hc.pinnedAs ?? ''].join('\t');

// What codec_peer's hostcheck kind prints, computed in JS.
async function jsLine(b) {
	const h = splitHostInput(b);
	if (h === null)
		return 'skip';
	const m = parseData(h.data);
	const hostInfo = { name: textOf(h.name), port: h.port, hostKey: h.hostKey,
		signature: h.signature, kex: 'x' };
	const out = [];
	let type = '-';
	const c = await code(() => {
		type = checkHostKey(h.hostKey).type;
	});
	out.push(c, c === 0 ? type : '-');
	out.push(await code(() => verifyHostSignature(h.hostKey, h.signature,
	    m.kind === 'login' ? m.sessionId : h.data)));
	out.push(h.hostKey.length > 0 ? await fingerprint(h.hostKey) : '');
	const hc0 = await hostCheck({ login: m, hostInfo, pins: [] });
	out.push(hcLine(hc0));
	if (!h.pinned || hc0.state !== 'new' || h.hostKey.length === 0) {
		out.push('-');
		return out.join('\t');
	}
	// test/fuzz/fuzz_sshmsg.c's pins from the flags
	const other = h.hostKey.slice();
	other[other.length - 1] ^= 1;
	const pins = [];
	const pin = (name, key, type) => pins.push({ name, type, key, pinnedAt: 1700000000, pinnedBy: 'fuzz' });
	if (h.flags & 8)
		pin(hc0.pinName, other, 'ssh-fake');
	if (h.flags & 4)
		pin(hc0.pinName === 'relabel.example' ? 'other.example' : 'relabel.example', h.hostKey, hc0.type);
	if (h.flags & 2)
		pin(hc0.pinName, other, hc0.type);
	else if (h.flags & 1)
		pin(hc0.pinName, h.hostKey, hc0.type);
	out.push(hcLine(await hostCheck({ login: m, hostInfo, pins })));
	return out.join('\t');
}

function realInputs() {
	const out = [];
	const rsaSig = KEYS.find((k) => k.kind === 'rsa').sigs['ssh-rsa'];
	for (const k of KEYS) {
		const others = KEYS.filter((x) => x !== k);
		const variants = [
			[k.sigs.good, userauth(k.sid, k.blob)],		// host-bound, its key
			[k.sigs.good, userauth(k.sid)],			// plain publickey
			[k.sigs.good, userauth(k.sid, others[0].blob)],	// names another key
			[k.sigs.good, userauth(k.sid.map((x) => x ^ 1))],	// another session
			[k.kind === 'rsa' ? rsaSig : others[0].sigs.good, userauth(k.sid)],
			[k.sigs.good, utf8('not a login')],
		];
		// pins change only the verdict on a new key: the first two
		variants.forEach(([sig, data], v) => {
			for (const [name, port] of [['Db1.Example', 22], ['db1.example', 2222], ['-bad', 22],
			    ['relabel.example', 22], ['b\u00e4d', 22]])
				for (const flags of v < 2 ? [null, 0, 1, 2, 4, 8, 13, 15] : [null])
					out.push(hostInput({ hostKey: k.blob, signature: sig,
					    name: utf8(name), port, data, flags }));
		});
	}
	return out;
}

test('hostcheck: the JS and C host checks agree, word for word', async () => {
	const corpus = seeds('sshmsg').map((s) => s.bytes).filter((b) => splitHostInput(b) !== null);
	assert.ok(corpus.length >= 10, 'the corpus has host check seeds');
	const real = realInputs();
	const inputs = corpus.concat(real, mutants(corpus, 800, 0x40c7, 1));
	const c = cLines('hostcheck', inputs);
	const states = {};
	const diffs = [];
	for (let i = 0; i < inputs.length; i++) {
		const js = await jsLine(inputs[i]);
		if (js !== c[i])
			diffs.push(`${toHex(inputs[i]).slice(0, 160)}:\n C  ${c[i]}\n JS ${js}`);
		for (const s of c[i].split('\t').filter((f) =>
		    ['unverified', 'new', 'pinned', 'changed', 'bad', 'none'].includes(f)))
			states[s] = (states[s] ?? 0) + 1;
	}
	assert.deepEqual(diffs.slice(0, 3), [], `${diffs.length} of ${inputs.length} differ`);
	// every state is reached, many times
	for (const s of ['unverified', 'new', 'pinned', 'changed', 'bad', 'none'])
		assert.ok(states[s] > 20, `${s}: ${JSON.stringify(states)}`);
});

test('hostcheck: the states, with the web phone\'s pins', async () => {
	const ed = KEYS.find((k) => k.kind === 'ed25519');
	const ec = KEYS.find((k) => k.kind === 'ecdsa384');
	const rsa = KEYS.find((k) => k.kind === 'rsa');
	const info = (k, sig = k.sigs.good, name = 'DB1.example', port = 22) =>
	    ({ name, port, hostKey: k.blob, signature: sig, kex: 'curve25519-sha256' });
	const login = (k, hb = true) => parseData(userauth(k.sid, hb ? k.blob : null));
	const pin = (name, k, type) => ({ name, type, key: k.blob, pinnedAt: 1, pinnedBy: 'work' });

	let hc = await hostCheck({ login: login(ed), hostInfo: info(ed), pins: [] });
	assert.equal(hc.state, 'new');
	assert.equal(hc.why, null);
	assert.equal(hc.pinName, 'db1.example');
	assert.equal(hc.host, 'DB1.example');
	assert.equal(hc.port, 22);
	assert.equal(hc.type, 'ssh-ed25519');
	assert.equal(hc.fingerprint, ed.fp);
	assert.deepEqual(hc.key, ed.blob);
	assert.equal(hc.pinnedAs, null);
	assert.equal(hc.newType, false);
	assert.equal(verifiedWord(hc, true), 'new');

	const pins = [pin('db1.example', ed, 'ssh-ed25519')];
	hc = await hostCheck({ login: login(ed), hostInfo: info(ed), pins });
	assert.equal(hc.state, 'pinned');
	assert.equal(verifiedWord(hc, true), 'yes');
	// another ed25519 key pinned for the name: changed
	hc = await hostCheck({ login: login(ed), hostInfo: info(ed),
	    pins: [{ ...pins[0], key: ec.blob }] });
	assert.equal(hc.state, 'changed');
	// an ECDSA key for a name with an Ed25519 pin: new, NEW key type
	hc = await hostCheck({ login: login(ec), hostInfo: info(ec), pins });
	assert.equal(hc.state, 'new');
	assert.equal(hc.newType, true);
	assert.equal(hc.type, 'ecdsa-sha2-nistp384');
	// the key pinned under another name: new, pinned as that name
	hc = await hostCheck({ login: login(ed), hostInfo: info(ed, undefined, 'alias', 2222),
	    pins: [pin('zz', ec, 'ecdsa-sha2-nistp384'), ...pins] });
	assert.equal(hc.state, 'new');
	assert.equal(hc.pinName, '[alias]:2222');
	assert.equal(hc.pinnedAs, 'db1.example');

	// bad: another session, another host key, an invalid key
	hc = await hostCheck({ login: parseData(userauth(ed.sid.map((x) => x ^ 1))), hostInfo: info(ed), pins });
	assert.deepEqual([hc.state, hc.why], ['bad', WHY.SIG_BAD]);
	assert.equal(verifiedWord(hc, true), 'no');
	hc = await hostCheck({ login: login(ec), hostInfo: info(ed), pins });
	assert.deepEqual([hc.state, hc.why], ['bad', WHY.OTHER_HOST_KEY]);
	const broken = ec.blob.slice();
	broken[broken.length - 1] ^= 1;
	hc = await hostCheck({ login: parseData(userauth(ec.sid)),
	    hostInfo: { ...info(ec), hostKey: broken }, pins });
	assert.deepEqual([hc.state, hc.why, hc.type], ['bad', WHY.KEY_INVALID, null]);
	// unverified: ssh-rsa, a DSA key, a name not usable, no host info
	hc = await hostCheck({ login: login(rsa), hostInfo: info(rsa, rsa.sigs['ssh-rsa']), pins });
	assert.deepEqual([hc.state, hc.why], ['unverified', WHY.SIG_ALG]);
	hc = await hostCheck({ login: parseData(userauth(ed.sid)),
	    hostInfo: { ...info(ed), hostKey: concat(str('ssh-dss'), sb(new Uint8Array(20))) }, pins });
	assert.deepEqual([hc.state, hc.why], ['unverified', WHY.KEY_TYPE]);
	hc = await hostCheck({ login: login(ed), hostInfo: info(ed, undefined, 'db 1'), pins });
	assert.deepEqual([hc.state, hc.why, hc.pinName], ['unverified', WHY.NAME, null]);
	hc = await hostCheck({ login: login(ed), hostInfo: null, pins });
	assert.deepEqual([hc.state, hc.why], ['unverified', 'no host information']);
	// host info on what is not a login says nothing
	hc = await hostCheck({ login: parseData(utf8('data')), hostInfo: info(ed), pins });
	assert.equal(hc.state, 'none');
	assert.equal(verifiedWord(hc, false), '-');
});
