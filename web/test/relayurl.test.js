// The relay URL grammar (docs/PROTOCOL.md §2.2): the good and bad tables of
// test/unit/test_relayurl.c, read from that file so that the two cannot
// drift, the page's own examples, the parts, and the size limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRelayUrl } from '../src/proto/relayurl.js';
import { protocolMd, between } from './vectors.js';

// C string literals of a `static const char *NAME[] = { ... };` table.
function cTable(src, name) {
	const body = between(src, `static const char *${name}[] = {`, '};');
	const out = [];
	for (const m of body.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
		const bytes = [];
		const s = m[1];
		for (let i = 0; i < s.length; i++) {
			if (s[i] !== '\\') {
				bytes.push(s.charCodeAt(i));
				continue;
			}
			const c = s[++i];
			if (c === 'x') {
				const h = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1))[0];
				bytes.push(parseInt(h, 16));
				i += h.length;
			} else {
				bytes.push({ n: 10, t: 9, '\\': 92, '"': 34, "'": 39 }[c] ?? c.charCodeAt(0));
			}
		}
		out.push(new TextDecoder().decode(Uint8Array.from(bytes)));
	}
	if (out.length === 0)
		throw new Error(`no table ${name}`);
	return out;
}

const src = readFileSync(process.env.SKP_TEST_RELAYURL_C ||
    new URL('../../test/unit/test_relayurl.c', import.meta.url), 'utf8');
const GOOD = cTable(src, 'good');
const BAD = cTable(src, 'bad');

function code(s) {
	try {
		parseRelayUrl(s);
		return 'OK';
	} catch (e) {
		if (!e.code)
			throw e;
		assert.ok(e.why && e.why.length > 0, 'a refusal says why');
		return e.code;
	}
}

test('test_relayurl.c good table: accepted', () => {
	assert.ok(GOOD.length >= 15);
	for (const s of GOOD)
		assert.equal(code(s), 'OK', s);
});

test('test_relayurl.c bad table: refused with FORMAT', () => {
	assert.ok(BAD.length >= 70);
	for (const s of BAD)
		assert.equal(code(s), 'FORMAT', JSON.stringify(s));
	assert.equal(code('ws://h\0x'), 'FORMAT');
	assert.equal(code('ws://h/\0'), 'FORMAT');
	assert.equal(code(''), 'FORMAT');
	assert.equal(code(undefined), 'FORMAT');
});

test('§2.2 examples on the page', () => {
	const md = between(protocolMd(), '### 2.2 Field rules', '**Names**');
	const ex = between(md, 'Examples:', 'are refused.');
	const [fine, refused] = ex.split('are fine;');
	const urls = (t) => [...t.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
	assert.equal(urls(fine).length, 4);
	for (const u of urls(fine))
		assert.equal(code(u), 'OK', u);
	assert.ok(urls(refused).length >= 12);
	for (const u of urls(refused))
		assert.equal(code(u), 'FORMAT', u);
});

test('the parts', () => {
	assert.deepEqual(parseRelayUrl('wss://Relay.example:8443/a/b'),
	    { tls: true, host: 'Relay.example', ipv6: false, port: 8443, path: '/a/b' });
	assert.deepEqual(parseRelayUrl('ws://[::1]'),
	    { tls: false, host: '::1', ipv6: true, port: 80, path: '/' });
	assert.deepEqual(parseRelayUrl('wss://h'),
	    { tls: true, host: 'h', ipv6: false, port: 443, path: '/' });
	assert.equal(parseRelayUrl('wss://h/a%2Fb').path, '/a%2Fb');
});

test('sizes: 255 bytes at most, labels of 63', () => {
	let big = 'ws://';
	for (let i = 0; big.length < 400; i++)
		big += i % 64 === 63 ? '.' : 'a';
	assert.equal(code(big.slice(0, 255)), 'OK');
	assert.equal(code(big.slice(0, 256)), 'TOO_LARGE');
	const withPath = big.slice(0, 245) + '/' + big.slice(246);
	assert.equal(code(withPath.slice(0, 255)), 'OK');
	assert.equal(code(withPath.slice(0, 256)), 'TOO_LARGE');
	const label = 'ws://' + 'a'.repeat(70);
	assert.equal(code(label.slice(0, 5 + 63)), 'OK');
	assert.equal(code(label.slice(0, 5 + 64)), 'FORMAT');
	assert.equal(code('ws://[' + '1:'.repeat(7) + '1.2.3.4]'), 'FORMAT');
	assert.equal(code('ws://[1.2.3.4::]'), 'FORMAT');
	assert.equal(code('ws://[::]'), 'OK');
	assert.equal(code('ws://[1:2:3:4:5:6:1.2.3.4]'), 'OK');
});
