// Authenticator data, the COSE key, the AAGUID (docs/PROTOCOL.md §4.10, read
// from the page) and the phone's signatures (§4.11), checked by the
// computer's own verification (lib/verify.c with libfido2, through
// test/web/verify_peer; SKP_VERIFY_PEER, set by meson).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ad from '../src/proto/authdata.js';
import * as cbor from '../src/proto/cbor.js';
import { generateEcdsa, sha256 } from '../src/proto/crypto.js';
import { fromHex, toHex, utf8, concat } from '../src/proto/bytes.js';
import { protocolMd, between } from './vectors.js';

const PEER = process.env.SKP_VERIFY_PEER ||
    fileURLToPath(new URL('../../build/test/web/verify_peer', import.meta.url));
const S410 = between(protocolMd(), '### 4.10 Authenticator data', '### 4.11');

function verify(lines) {
	if (!existsSync(PEER))
		throw new Error(`${PEER} is missing: build it first (meson compile -C build)`);
	const r = spawnSync(PEER, [], { input: lines.map((l) => l.join(' ') + '\n').join('') });
	assert.equal(r.status, 0);
	return r.stdout.toString().trim().split('\n').map((l) => l.split(' '));
}
const hx = (b) => (typeof b === 'string' ? toHex(utf8(b)) : toHex(b));

test('§4.10 the COSE key as the page lays it out, 77 bytes', async () => {
	const { publicKey } = await generateEcdsa();
	const block = between(between(S410, 'COSE_Key of a P-256 ECDSA key', 'Any other kty'), '```', '```');
	let want = '';
	for (const line of block.split('\n')) {
		for (const w of line.trim().split(/\s+/)) {
			if (!/^[0-9a-f]{2}$/.test(w))
				break;
			want += w;
		}
		if (line.includes('<X, 32>'))
			want += toHex(publicKey.subarray(1, 33));
		if (line.includes('<Y, 32>'))
			want += toHex(publicKey.subarray(33));
	}
	const cose = ad.coseKey(publicKey);
	assert.equal(cose.length, 77);
	assert.equal(toHex(cose), want);
	assert.throws(() => ad.coseKey(concat([2], publicKey.subarray(1))), { code: 'CRYPTO' });
});

test('§4.10 the AAGUID', () => {
	const m = /bytes\s*`([0-9a-f ]+)`/.exec(S410);
	assert.equal(toHex(ad.AAGUID), m[1].replace(/ /g, ''));
	assert.match(S410, /`3934e340-407e-4da9-af80-8851d9de98d7`/);
});

test('§4.10 layout: 37 bytes, then aaguid, L, credential id, COSE key', async () => {
	const { publicKey } = await generateEcdsa();
	const credId = new Uint8Array(20).fill(7);
	const a = await ad.buildAuthData({ rpId: 'ssh:', flags: ad.FLAGS.UP | ad.FLAGS.AT,
	    signCount: 0x01020304, credId, publicKey });
	assert.equal(a.length, 37 + 16 + 2 + 20 + 77);
	assert.deepEqual(a.subarray(0, 32), await sha256(utf8('ssh:')));
	assert.equal(a[32], 0x41);
	assert.equal(toHex(a.subarray(33, 37)), '01020304');
	assert.deepEqual(a.subarray(37, 53), ad.AAGUID);
	assert.equal(toHex(a.subarray(53, 55)), '0014');
	assert.deepEqual(a.subarray(55, 75), credId);
	assert.deepEqual(a.subarray(75), ad.coseKey(publicKey));
	assert.equal((await ad.buildAuthData({ rpId: 'ssh:', flags: 1, signCount: 9 })).length, 37);
	await assert.rejects(ad.buildAuthData({ rpId: 'ssh:', flags: 0x80, signCount: 0 }), { code: 'INVALID' });
	await assert.rejects(ad.buildAuthData({ rpId: 'ssh:', flags: 0x40, signCount: 0,
	    credId: new Uint8Array(15), publicKey }), { code: 'INVALID' });
});

test('strict DER from raw r || s', () => {
	const raw = (r, s) => concat(fromHex(r.padStart(64, '0')), fromHex(s.padStart(64, '0')));
	assert.equal(toHex(ad.derFromRaw(raw('01', '7f'))), '300602010102017f');
	assert.equal(toHex(ad.derFromRaw(raw('80', 'ff'.repeat(32)))),
	    '3027' + '02020080' + '022100' + 'ff'.repeat(32));
	assert.equal(ad.derFromRaw(raw('ff'.repeat(32), 'ff'.repeat(32))).length, 72);
	assert.equal(toHex(ad.derFromRaw(raw('00', '00'))), '3006020100020100');
});

test('§4.11 makeCredential and getAssertion answers verify with libfido2 (lib/verify.c)', async () => {
	const lines = [], want = [];
	const cred = await generateEcdsa();
	const credId = new Uint8Array(32).map((_, i) => i);
	for (let i = 0; i < 24; i++) {
		const cdh = await sha256(utf8(`challenge ${i}`));
		const uv = i % 2 === 1;
		const flags = ad.FLAGS.UP | (uv ? ad.FLAGS.UV : 0);
		const mcAd = await ad.buildAuthData({ rpId: 'ssh:', flags: flags | ad.FLAGS.AT,
		    signCount: 0, credId, publicKey: cred.publicKey });
		const sig = await ad.signAuthData(cred.privateKey, mcAd, cdh);
		lines.push(['mc', hx('ssh:'), hx(cdh), hx(mcAd), hx(sig), uv ? '01' : '00']);
		want.push(['0', hx(cred.publicKey), hx(credId)]);
		const gaAd = await ad.buildAuthData({ rpId: 'ssh:', flags, signCount: i + 1 });
		const gsig = await ad.signAuthData(cred.privateKey, gaAd, cdh);
		lines.push(['ga', hx('ssh:'), hx(cdh), hx(cred.publicKey), hx(gaAd), hx(gsig), '01',
		    uv ? '01' : '00']);
		want.push(['0', String(flags), String(i + 1)]);
	}
	// refusals: another rp, UV asked but not given, a changed byte, no UP
	const cdh = await sha256(utf8('x'));
	const gaAd = await ad.buildAuthData({ rpId: 'ssh:', flags: ad.FLAGS.UP, signCount: 5 });
	const gsig = await ad.signAuthData(cred.privateKey, gaAd, cdh);
	const ga = (rp, a, s, up, uv) => ['ga', hx(rp), hx(cdh), hx(cred.publicKey), hx(a), hx(s), up, uv];
	lines.push(ga('ssh:other', gaAd, gsig, '01', '00'));
	lines.push(ga('ssh:', gaAd, gsig, '01', '01'));
	const bad = gaAd.slice();
	bad[36] ^= 1;
	lines.push(ga('ssh:', bad, gsig, '01', '00'));
	const noUp = await ad.buildAuthData({ rpId: 'ssh:', flags: 0, signCount: 5 });
	lines.push(ga('ssh:', noUp, await ad.signAuthData(cred.privateKey, noUp, cdh), '01', '00'));
	const got = verify(lines);
	for (let i = 0; i < want.length; i++)
		assert.deepEqual(got[i], want[i], `line ${i}: ${lines[i][0]}`);
	for (let i = want.length; i < lines.length; i++)
		assert.equal(got[i][0], '-25', `refusal ${i - want.length} is SKP_ERR_VERIFY`);
	// and without asking for UP, the no-touch assertion verifies
	assert.equal(verify([ga('ssh:', noUp, await ad.signAuthData(cred.privateKey, noUp, cdh),
	    '00', '00')])[0][0], '0');
});

test('the answers\' maps in CTAP2 canonical order', async () => {
	const mc = cbor.encode(ad.makeCredentialAnswer({ authData: new Uint8Array(37),
	    sig: new Uint8Array(70) }));
	assert.ok(toHex(mc).includes('a263616c672663736967'), 'attStmt "alg" before "sig"');
	const ga = cbor.decode(cbor.encode(ad.getAssertionAnswer({ credId: new Uint8Array(16),
	    authData: new Uint8Array(37), signature: new Uint8Array(70), userId: new Uint8Array(3) })));
	assert.deepEqual([...ga.keys()], [1, 2, 3, 4]);
	const info = cbor.decode(cbor.encode(ad.getInfoAnswer()));
	assert.deepEqual(info.get(3), ad.AAGUID);
	assert.equal(info.get(5), 65000);
	const { publicKey } = await generateEcdsa();
	const e = cbor.encode(ad.credentialListEntry({ rpId: 'ssh:', userId: new Uint8Array(32),
	    userName: 'openssh', credId: new Uint8Array(16), publicKey, credProtect: 2 }));
	assert.ok(toHex(e).includes(toHex(ad.coseKey(publicKey))));
});
