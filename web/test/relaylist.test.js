// The web phone and a relay list (docs/PROTOCOL.md §2.1 v=3, §7.1): several
// URLs of one relay, tried in turn, against the real relay and the real
// sk-phone pair. Cases:
//   open_list_walks_in_order: a refused URL first costs nothing; a black
//     hole first (takes TCP, never answers) costs its 3 s and no more; a
//     working first URL is taken without trying the others.
//   pairs_from_a_list_code_and_keeps_it: sk-phone pair --relay REFUSED
//     --relay RELAY; the phone meets the computer past the refused URL,
//     keeps the list (the state's identity.relays) and listens through it;
//     the computer's "Paired" line names the list.
//   listener_moves_and_comes_back: the phone listens on the second URL
//     while the first is down, and on the first again at the next connect
//     once it answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startPhone } from '../src/app/controller.js';
import { openList, URL_TIMEOUT_MS } from '../src/app/relay.js';
import { MemKV } from '../src/phone/memkv.js';
import { CLI, Kit, until } from './relaykit.js';

const K = new Kit();
const K2 = new Kit();	// a second relay, for coming back
let hole, refused, phone;

// A port that takes TCP connections and never answers a byte.
function blackHole() {
	return new Promise((resolve) => {
		const socks = [];
		const s = createServer((c) => socks.push(c));
		s.listen(0, '127.0.0.1', () => resolve({ url: `ws://127.0.0.1:${s.address().port}`,
		    close: () => { socks.forEach((c) => c.destroy()); s.close(); } }));
	});
}

// A port nothing listens on (taken by a server, then closed).
function refusedUrl() {
	return new Promise((resolve) => {
		const s = createServer();
		s.listen(0, '127.0.0.1', () => {
			const port = s.address().port;
			s.close(() => resolve(`ws://127.0.0.1:${port}`));
		});
	});
}

before(async () => {
	await K.startRelay();
	hole = await blackHole();
	refused = await refusedUrl();
});

after(() => {
	if (phone)
		phone.stop();
	hole.close();
	K.close();
	K2.close();
});

test('open_list_walks_in_order', async () => {
	let t0 = Date.now();
	let c = await openList([refused, K.url], { WebSocket });
	assert.equal(c.index, 1);
	assert.equal(c.url, K.url);
	assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms past a refused URL`);
	c.close();
	t0 = Date.now();
	c = await openList([hole.url, K.url], { WebSocket, timeoutMs: 20000 });
	const dt = Date.now() - t0;
	assert.equal(c.index, 1);
	assert.ok(dt >= URL_TIMEOUT_MS - 100 && dt < URL_TIMEOUT_MS + 1500,
	    `${dt} ms past a black hole`);
	c.close();
	c = await openList([K.url, hole.url], { WebSocket });
	assert.equal(c.index, 0);
	c.close();
	// a small budget is shared; every URL failing rejects with the last
	t0 = Date.now();
	await assert.rejects(openList([hole.url, refused], { WebSocket, timeoutMs: 2000 }),
	    { code: 'NETWORK' });
	assert.ok(Date.now() - t0 >= 900 && Date.now() - t0 < 1900);
	await assert.rejects(openList([refused, hole.url], { WebSocket, timeoutMs: 1000 }),
	    { code: 'TIMEOUT' });
});

test('pairs_from_a_list_code_and_keeps_it', async () => {
	phone = await startPhone({ kv: new MemKV(), relayUrl: K.url, WebSocket,
	    listenerOptions: { backoffFirstMs: 100, backoffMaxMs: 400 } });
	await phone.setup({ name: 'pixel' });
	await until('the phone to be online', () => phone.status === 'online');
	const dir = join(K.tmp, 'computer');
	mkdirSync(dir, { mode: 0o700 });
	const uriFile = join(K.tmp, 'list.uri');
	const p = K.run([CLI, 'pair', '--relay', refused, '--relay', K.url, '--name', 'box',
	    '--yes', '--uri-file', uriFile, '--timeout', '30'], { env: { SK_PHONE_DIR: dir } });
	await until('the pairing URI', () => existsSync(uriFile) || p.exitCode !== null);
	assert.ok(existsSync(uriFile), p.out);
	const uri = readFileSync(uriFile, 'utf8').trim();
	assert.match(uri, /^sk-phone:\/\/pair\?v=3&/);
	const pending = await phone.pair(uri);
	await pending.confirm();
	const { code, out } = await p.done;
	assert.equal(code, 0, out);
	assert.ok(out.includes(`Paired with phone 'pixel' (relay ${refused} ${K.url})`), out);
	const id = await phone.state.identity();
	assert.deepEqual(id.relays, [refused, K.url]);
	assert.equal(id.relay, refused);
	await until('the phone to be online', () => phone.status === 'online');
	assert.equal(phone.listener.current, K.url);
});

test('listener_moves_and_comes_back', async () => {
	// the first URL is a second relay, down for now
	const port = Number(refused.split(':')[2]);
	await phone.state.setIdentity({ relays: [refused, K.url] });
	await phone._listen();
	await until('the phone online on the second URL', () =>
	    phone.status === 'online' && phone.listener.current === K.url);
	K2.port = port;
	await K2.startRelay();
	// the next connect walks from the first URL: it answers now
	await K.stopRelay();
	await K.startRelay();
	await until('the phone online on the first URL again', () =>
	    phone.status === 'online' && phone.listener.current === refused);
});
