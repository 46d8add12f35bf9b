// The pairing URI and its derivations (docs/PROTOCOL.md §2): the vectors of
// §2.5 read from the page, the parser's refusals in their order (the cases
// of test/unit/test_pairuri.c), freshness (§2.3), the names (§2.2), and the
// mailbox id and proof of §7.4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as pu from '../src/proto/pairuri.js';
import { mailboxProofMessage, proveMailbox } from '../src/proto/mailbox.js';
import { ecdsaVerify, keyPairFromScalarForTest, sha256 } from '../src/proto/crypto.js';
import { fromHex, toHex, utf8 } from '../src/proto/bytes.js';
import { protocolMd, between } from './vectors.js';

const md = protocolMd();
const S25 = between(md, '### 2.5 Test vectors', '## 3 The Noise channel');
const one = (re, text = S25) => {
	const m = re.exec(text);
	if (!m)
		throw new Error(`PROTOCOL.md §2.5 lacks ${re}`);
	return m[1];
};
const hexAfter = (label, text = S25) => one(new RegExp(`${label}\\s+([0-9a-f]+)`), text);

const S = fromHex(hexAfter('S \\(QR secret\\)'));
const [, hA, hB] = S25.split(/^h\s+/m);
const PUB = (() => {
	const m = /phone public key[\s\S]*?\)\s*\n\s*([0-9a-f]+)\s*\n\s*([0-9a-f]+)/.exec(S25);
	return fromHex(m[1] + m[2]);
})();
const URI = (() => {
	const block = between(S25, '```\nsk-phone://', '```');
	return 'sk-phone://' + block.split('\n').map((l) => l.trim()).join('');
})();
const PUB_B64 = /k=([^&]+)/.exec(URI)[1];
const SEC_B64 = /s=([^&]+)/.exec(URI)[1];

function mk(v, k, s, r, n, t, extra = '') {
	return `sk-phone://pair?v=${v}&k=${k}&s=${s}&r=${r}&n=${n}&t=${t}${extra}`;
}
const ok = (v = '2', k = PUB_B64, s = SEC_B64, r = 'ws%3A%2F%2Fh', n = 'a', t = '1', x = '') =>
	mk(v, k, s, r, n, t, x);

function code(uri) {
	try {
		pu.parsePairUri(uri);
		return 'OK';
	} catch (e) {
		if (!e.code)
			throw e;
		return e.code;
	}
}

test('§2.5 derivations from S', async () => {
	assert.equal(toHex(S), '000102030405060708090a0b0c0d0e0f');
	assert.equal(toHex(await pu.rendezvousId(S)), hexAfter('rendezvous id'));
	assert.equal(toHex(await pu.pairingPsk(S)), hexAfter('pairing psk'));
});

test('§2.5 derivations from h: the code (leading zeros kept), the request psk', async () => {
	const h1 = fromHex(one(/^([0-9a-f]+)/, hA));
	const c1 = await pu.confirmCode(h1);
	assert.equal(c1.value, Number(one(/HKDF confirm\s+[0-9a-f]+\s+\(= (\d+)\)/, hA)) % 1000000);
	assert.equal(c1.text, one(/code\s+"(\d{6})"/, hA));
	assert.equal(toHex(await pu.requestPsk(h1)), hexAfter('request psk', hA));
	const h2 = fromHex(one(/^([0-9a-f]+)/, hB));
	assert.equal((await pu.confirmCode(h2)).text, one(/code\s+"(\d{6})"/, hB));
	assert.equal((await pu.confirmCode(h2)).text, '009582');
});

test('§2.5 phone id', async () => {
	const kp = await keyPairFromScalarForTest(fromHex(one(/initiator scalar\s*\n\s*([0-9a-f]+)\)/)));
	assert.deepEqual(kp.publicKey, PUB);
	assert.equal(toHex(await pu.phoneId(PUB)), hexAfter('phone id'));
});

test('§2.5 URI: parse and encode, 216 bytes', () => {
	assert.equal(URI.length, 216);
	const u = pu.parsePairUri(URI);
	assert.deepEqual(u.computerPub, PUB);
	assert.deepEqual(u.secret, S);
	assert.equal(u.relay, 'wss://relay.example.com:8443/sk');
	assert.equal(u.name, 'work laptop é');
	assert.equal(u.created, 1700000000n);
	assert.equal(pu.encodePairUri(u), URI);
});

test('parameters in any order, hex in either case', () => {
	const u = pu.parsePairUri(`sk-phone://pair?t=5&n=a%c3%a9&r=ws%3a%2f%2fh&s=${SEC_B64}&k=${PUB_B64}&v=2`);
	assert.equal(u.name, 'aé');
	assert.equal(u.relay, 'ws://h');
	assert.equal(u.created, 5n);
});

test('refusals: prefix, unknown, repeated, missing, empty parameters', () => {
	for (const s of ['SK-PHONE://pair?v=2', 'sk-phone:/pair?v=2', 'sk-phone://Pair?v=2',
	    'sk-phone://pair/?v=2', 'sk-phone://pairs?v=2', 'https://pair?v=2',
	    'sk-phone://pair', 'sk-phone://pair?', '', URI.replace('pair?', 'pairing?'),
	    ' ' + URI])
		assert.equal(code(s), 'FORMAT', s);
	for (const x of ['&x=1', '&vv=2', '&n', '&n=b', '&v=2', '&t=1', '&'])
		assert.equal(code(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', 'a', '1', x)), 'FORMAT', x);
	assert.equal(code(ok('2&')), 'FORMAT');
	assert.equal(code(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', 'a', '')), 'FORMAT');
	const tail = URI.slice(URI.indexOf('?') + 1).split('&');
	for (const n of 'vksrnt')
		assert.equal(code('sk-phone://pair?' + tail.filter((p) => p[0] !== n).join('&')),
		    'FORMAT', `without ${n}`);
	assert.equal(code(ok()), 'OK');
});

test('refusals: versions (newer first, protocol 1 named)', () => {
	for (const v of ['4', '10', '123456789012345678901234567890'])
		assert.equal(code(ok(v)), 'VERSION', v);
	assert.equal(code(mk('4', 'x', 'y', 'z', '', '', '&q=new')), 'VERSION');
	assert.equal(code('sk-phone://pair?v=4'), 'VERSION');
	assert.equal(code(ok('1')), 'OLD_VERSION');
	assert.equal(code(mk('1', 'x', 'y', 'z', '', '', '&q=new')), 'OLD_VERSION');
	assert.throws(() => pu.parsePairUri('sk-phone://pair?v=1'),
	    { code: 'OLD_VERSION', message: /older sk-phone \(protocol 1\): update sk-phone on the computer/ });
	for (const v of ['0', '02', '', '2.0', '+2', '-2', '2a', '%32', '01'])
		assert.equal(code(ok(v)), 'FORMAT', v);
});

test('refusals: the key and the secret', () => {
	const flip = (k, i, c) => k.slice(0, i) + c + k.slice(i + 1);
	const i = PUB_B64.length - 2;
	assert.equal(code(ok('2', flip(PUB_B64, i, PUB_B64[i] === 'A' ? 'B' : 'A'))), 'CRYPTO');
	assert.equal(code(ok('2', 'Ar' + PUB_B64.slice(2))), 'CRYPTO');
	assert.equal(code(ok('2', PUB_B64.slice(0, 86))), 'FORMAT');
	assert.equal(code(ok('2', PUB_B64 + 'AAAA')), 'FORMAT');
	assert.equal(code(ok('2', PUB_B64 + '=')), 'FORMAT');
	assert.equal(code(ok('2', flip(PUB_B64, 5, '+'))), 'FORMAT');
	assert.equal(code(ok('2', flip(PUB_B64, PUB_B64.length - 1, 'N'))), 'FORMAT');
	for (const s of ['AAECAwQFBgcICQoLDA0O', 'AAECAwQFBgcICQoLDA0ODxA', 'AAECAwQFBgcICQoLDA0ODw==', ''])
		assert.equal(code(ok('2', PUB_B64, s)), 'FORMAT', s);
});

test('refusals: the relay URL and the name inside the URI', () => {
	for (const r of ['http%3A%2F%2Fh', 'ws%3A%2F%2F', 'ws%3A%2F%2Fh%00', 'ws://h',
	    'ws%3A%2F%2Fh%C3%A9'])
		assert.equal(code(ok('2', PUB_B64, SEC_B64, r)), 'FORMAT', r);
	let r = 'ws%3A%2F%2F';
	for (let j = 0; j < 251; j++)
		r += j % 64 === 63 ? '.' : 'a';
	assert.equal(code(ok('2', PUB_B64, SEC_B64, r)), 'TOO_LARGE');
	assert.equal(code(ok('2', PUB_B64, SEC_B64, r.slice(0, -1))), 'OK');
	for (const n of ['', 'a%0Ab', '%00', '%7F', '%C3', '%C0%AF', 'a+b', 'a b', 'a%',
	    'a%4', 'a%zz', 'a/b', '%E2%80%AE'])
		assert.equal(code(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', n)), 'FORMAT', n);
	assert.equal(code(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', 'a'.repeat(65))), 'TOO_LARGE');
	assert.equal(code(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', 'a'.repeat(64))), 'OK');
});

test('refusals: the time; the length cap first', () => {
	for (const t of ['', '01', '00', '-1', '+1', '1.5', '1e9', '18446744073709551616',
	    '99999999999999999999', '%31'])
		assert.equal(code(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', 'a', t)), 'FORMAT', t);
	assert.equal(pu.parsePairUri(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', 'a',
	    '18446744073709551615')).created, 2n ** 64n - 1n);
	assert.equal(pu.parsePairUri(ok('2', PUB_B64, SEC_B64, 'ws%3A%2F%2Fh', 'a', '0')).created, 0n);
	assert.equal(code((URI + 'x'.repeat(1024)).slice(0, 1025)), 'TOO_LARGE');
	assert.equal(code('x'.repeat(1025)), 'TOO_LARGE');
});

test('§2.2 names', () => {
	const b = (h) => fromHex(h);
	assert.equal(pu.checkName('a'), 'a');
	assert.equal(pu.checkName(b('f09f93b120e6898b')), '📱 手');
	assert.equal(pu.checkName('n'.repeat(64)).length, 64);
	assert.throws(() => pu.checkName('n'.repeat(65)), { code: 'TOO_LARGE' });
	for (const h of ['', '610a62', '610062', '610962', '617f', '61c285', '611b5b33316d',
	    '61e280ae', '61e281a6', '61e280a8', '61c3', '80', 'c0af', 'e080af', 'eda080',
	    'f4908080', 'ff', 'e689'])
		assert.throws(() => pu.checkName(b(h)), { code: 'FORMAT' }, h);
	assert.throws(() => pu.checkName('a\ud800'), { code: 'FORMAT' });
});

test('§2.3 freshness', () => {
	const t = 1700000000;
	pu.checkFresh(t, t + 300);
	pu.checkFresh(t, t - 60);
	assert.throws(() => pu.checkFresh(t, t + 301), { code: 'EXPIRED' });
	assert.throws(() => pu.checkFresh(t, t - 61), { code: 'EXPIRED' });
});

test('the encoder refuses what the parser would', () => {
	const u = pu.parsePairUri(URI);
	const bad = u.computerPub.slice();
	bad[64] ^= 1;
	assert.throws(() => pu.encodePairUri({ ...u, computerPub: bad }), { code: 'CRYPTO' });
	assert.throws(() => pu.encodePairUri({ ...u, relay: 'http://h' }), { code: 'FORMAT' });
	assert.throws(() => pu.encodePairUri({ ...u, name: 'a\nb' }), { code: 'FORMAT' });
	// a maximal relay URL and name: 1104 bytes, refused
	const relay = 'ws://h/' + ':'.repeat(248);
	assert.throws(() => pu.encodePairUri({ ...u, relay, name: 'é'.repeat(32) }),
	    { code: 'TOO_LARGE' });
	for (let i = 0; i < 10; i++) {
		const relay = `ws://[::1]:${1000 + i}/r/${i}`;
		const v = { ...u, relay, relays: [relay], name: `phone~${i} 📱`,
		    created: BigInt(i * 1000003) };
		assert.deepEqual(pu.parsePairUri(pu.encodePairUri(v)), v);
	}
});

test('§7.4 mailbox id and proof', async () => {
	const s74 = between(md, '### 7.4 Listening (phone)', '### 7.5');
	const vec = between(s74, 'Test vector', '```\n\n');
	const P = fromHex(one(/P\s+([0-9a-f]+)\s*\n\s*([0-9a-f]+)/, vec) +
	    /P\s+[0-9a-f]+\s*\n\s*([0-9a-f]+)/.exec(vec)[1]);
	const d = new Uint8Array(32).map((_, i) => i + 1);
	const kp = await keyPairFromScalarForTest(d, 'ECDSA');
	assert.deepEqual(kp.publicKey, P);
	const id = await pu.mailboxId(P);
	assert.equal(toHex(id), one(/\nid\s+([0-9a-f]+)/, vec));
	const N = fromHex(one(/\nN\s+([0-9a-f]+)/, vec));
	const msg = mailboxProofMessage(N, id);
	assert.equal(msg.length, 89);
	assert.equal(toHex(await sha256(msg)), one(/signed message\s*\n\s*([0-9a-f]+)/, vec));
	const rs = /\(RFC 6979[^\n]*\n\s*([0-9a-f]+)\s*\n\s*([0-9a-f]+)/.exec(vec);
	assert.ok(await ecdsaVerify(P, msg, fromHex(rs[1] + rs[2])), 'the page\'s signature verifies');
	const sig = await proveMailbox(kp.privateKey, N, id);
	assert.equal(sig.length, 64);
	assert.ok(await ecdsaVerify(P, msg, sig), 'our signature verifies');
	assert.ok(!(await ecdsaVerify(P, mailboxProofMessage(N, new Uint8Array(32)), sig)));
});

test('§2.5 the web form: both vectors parse and encode back', () => {
	const block = (after) => between(S25, after, '```\n\n').split('```')[1]
	    .split('\n').map((l) => l.trim()).join('');
	const web = block('The same pairing in the web form');
	assert.equal(web.length, 232);
	const u = pu.parsePairUri(web);
	assert.deepEqual(u, pu.parsePairUri(URI));
	assert.equal(pu.encodePairUri(u, { web: true }), web);
	const loop = block('and with the relay `ws://127.0.0.1:8765`');
	assert.equal(loop.length, 209);
	const v = pu.parsePairUri(loop);
	assert.equal(v.relay, 'ws://127.0.0.1:8765');
	assert.equal(pu.encodePairUri(v, { web: true }), loop);
});

test('§2.1 the web form: origins and refusals', () => {
	assert.equal(pu.webPrefix('wss://h'), 'https://h/#');
	assert.equal(pu.webPrefix('wss://Relay.example.org:8443/sk/x'), 'https://Relay.example.org:8443/#');
	assert.equal(pu.webPrefix('ws://[::1]:9000/r'), 'http://[::1]:9000/#');
	assert.equal(pu.webPrefix('ws://localhost'), 'http://localhost/#');
	assert.equal(pu.webPrefix('ws://127.8.9.10:1'), 'http://127.8.9.10:1/#');
	assert.ok(!pu.webFormOk('ws://10.0.0.1'));
	assert.ok(!pu.webFormOk('ws://127.example'));
	assert.ok(!pu.webFormOk('ws://[::2]'));
	const q = URI.slice(URI.indexOf('?') + 1);	// r = wss://relay.example.com:8443/sk
	assert.equal(code(`https://relay.example.com:8443/#${q}`), 'OK');
	for (const pre of ['https://relay.example.com/#', 'https://relay.example.com:443/#',
	    'https://Relay.example.com:8443/#', 'https://relay.example.com:8443/sk#',
	    'https://relay.example.com:8443/?x#', 'https://u@relay.example.com:8443/#',
	    'http://relay.example.com:8443/#', 'https://other.example:8443/#',
	    'https://relay.example.com:8443#'])
		assert.equal(code(pre + q), 'FORMAT', pre);
	assert.equal(code(`https://relay.example.com:8443/${q}`), 'FORMAT');	// no '#'
	assert.equal(code('https://h/#v=4'), 'VERSION');	// the version rule first
	assert.equal(code('https://h/#v=1'), 'OLD_VERSION');
	const ws = URI.replace('wss%3A%2F%2Frelay.example.com%3A8443%2Fsk', 'ws%3A%2F%2F10.0.0.1');
	assert.equal(code(`http://10.0.0.1/#${ws.slice(ws.indexOf('?') + 1)}`), 'FORMAT');
	assert.throws(() => pu.encodePairUri({ ...pu.parsePairUri(ws) }, { web: true }), { code: 'FORMAT' });
});

// §2.1, §2.5: several URLs of one relay, v=3 with r repeated in order.
const LIST_URI = (() => {
	const block = between(S25, '```\nsk-phone://pair?v=3', '```');
	return 'sk-phone://pair?v=3' + block.split('\n').map((l) => l.trim()).join('');
})();
const LIST_WEB_URI = (() => {
	const block = between(S25, '```\nhttps://relay.example.com:8443/#v=3', '```');
	return 'https://relay.example.com:8443/#v=3' +
	    block.split('\n').map((l) => l.trim()).join('');
})();

test('§2.5 the relay list vector: v=3, both forms, encoder and parser', () => {
	const u = pu.parsePairUri(LIST_URI);
	assert.deepEqual(u.relays, ['wss://relay.example.com:8443/sk',
	    'wss://relay-b.example.com/sk']);
	assert.equal(u.relay, 'wss://relay.example.com:8443/sk');
	assert.equal(LIST_URI.length, 255);
	assert.equal(pu.encodePairUri(u), LIST_URI);
	assert.equal(pu.encodePairUri(u, { web: true }), LIST_WEB_URI);
	assert.equal(LIST_WEB_URI.length, 271);
	assert.deepEqual(pu.parsePairUri(LIST_WEB_URI), u);
	// one URL: v=2, as before (every phone reads it)
	const one1 = pu.encodePairUri({ ...u, relays: [u.relay] });
	assert.equal(one1, URI.replace(/&r=[^&]*/, '&r=wss%3A%2F%2Frelay.example.com%3A8443%2Fsk')
	    .replace(/&n=[^&]*/, '&n=' + /&n=([^&]*)/.exec(LIST_URI)[1]));
	// the web form's origin is the first URL's
	assert.equal(code(LIST_WEB_URI.replace('https://relay.example.com:8443/',
	    'https://relay-b.example.com/')), 'FORMAT');
});

test('refusals: the relay list (the cases of test_pairuri.c refuse_list)', () => {
	const h = 'ws%3A%2F%2Fh', g = '&r=ws%3A%2F%2Fg';
	assert.equal(code(ok('2', PUB_B64, SEC_B64, h, 'a', '1', g)), 'FORMAT');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1')), 'FORMAT');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1', '&r=' + h)), 'FORMAT');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1', g)), 'OK');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1',
	    g + '&r=ws%3A%2F%2Ff&r=ws%3A%2F%2Fe')), 'OK');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1',
	    g + '&r=ws%3A%2F%2Ff&r=ws%3A%2F%2Fe&r=ws%3A%2F%2Fd')), 'FORMAT');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1', '&r=http%3A%2F%2Fg')), 'FORMAT');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1', '&r=')), 'FORMAT');
	assert.equal(code(ok('3', PUB_B64, SEC_B64, h, 'a', '1', '&r=ws%3A%2F%2Fg%00')), 'FORMAT');
	const u = pu.parsePairUri('sk-phone://pair?r=ws%3A%2F%2Fg&v=3&k=' + PUB_B64 +
	    '&s=' + SEC_B64 + '&n=a&r=ws%3A%2F%2Fh&t=1');
	assert.deepEqual(u.relays, ['ws://g', 'ws://h']);
	// an old phone's rule (v above 2: newer) is what makes it say "update"
	assert.equal(code(LIST_URI.replace('v=3', 'v=4')), 'VERSION');
	assert.throws(() => pu.encodePairUri({ ...u, relays: ['ws://a', 'ws://a'] }),
	    { code: 'FORMAT' });
	assert.throws(() => pu.encodePairUri({ ...u,
	    relays: ['ws://a', 'ws://b', 'ws://c', 'ws://d', 'ws://e'] }), { code: 'FORMAT' });
});
