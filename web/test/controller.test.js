// The web phone's controller (web/src/app/controller.js) run in node
// against the real relay (cmd/sk-phone-relay) and the real computer:
// `sk-phone pair` pairs with it (PROTOCOL.md §8.1 over §7.6's rendezvous),
// then test/phone's phone_computer (lib/call.c, libfido2's checks) sends it
// requests, answered through 'question' events (§8.3, §8.6). What each case
// shows:
//   pairs_with_sk_phone_pair: both sides show the same code; the computer
//     saves the phone, the phone the computer.
//   declined_pairing_saves_nothing: the owner's "no" reaches sk-phone pair;
//     the computer's "no" (sk-phone pair without a terminal to confirm on)
//     is the phone's REJECTED.
//   a_request_asked_and_answered / rejected: the computer gets the answer.
//   a_computer_that_hangs_up_withdraws_its_question.
//   the_queue: one question at a time, the second asked after the first.
//   a_window_covers_the_request_that_waited: 'window' on the open question
//     lets the engine allow the queued signature without asking.
//   the_pin_path: message 2 = 0x36 with key 5, the PIN in message 3, the
//     answer in message 4 (UV set); a wrong PIN 0x31; none: PIN required.
//   relay_restarted_reconnects: the phone is online again and answers.
//   a_call_held_while_offline: the relay holds it, the phone answers it.
//   openssh_through_the_provider: the real ssh-keygen -t ecdsa-sk with
//     lib/libsk-phone.so enrolls a key on the web phone and signs with it
//     (-Y sign, a namespace no window covers), each asked through a 'question' event; -Y check-novalidate
//     accepts the signature.
//   an_unpaired_computer_gets_no_answer: the phone hangs up (the computer's
//     NOT_PAIRED), one refused-not-paired line in the audit log.
//   queue units (no relay): FIFO, 16 waiting then busy (0x06), waited too
//     long (0x06), withdrawn on hang-up, timeout, the turn kept after a
//     window opened.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startPhone, AskQueue, QUEUE_MAX, BUSY_TEXT } from '../src/app/controller.js';
import { MemKV } from '../src/phone/memkv.js';
import { CLI, COMPUTER, PROVIDER, Kit, nextEvent, until } from './relaykit.js';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const K = new Kit();
const tmp = K.tmp;

function online(phone) {
	return until('the phone to be online', () => phone.status === 'online');
}

// sk-phone pair on the computer side; the URI it writes.
async function computerPairs(dir, name) {
	mkdirSync(dir, { mode: 0o700 });
	const uriFile = join(dir, '..', `${name}.uri`);
	const p = K.run([CLI, 'pair', '--relay', K.url, '--name', name, '--yes', '--uri-file', uriFile,
	    '--timeout', '30'], { env: { SK_PHONE_DIR: dir } });
	await until('the pairing URI', () => existsSync(uriFile) || p.exitCode !== null);
	assert.ok(existsSync(uriFile), p.out);
	return { p, uri: readFileSync(uriFile, 'utf8').trim() };
}

// phone_computer CMD DIR ARGS...: its output once done.
function computer(cmd, dir, ...args) {
	return K.run([COMPUTER, cmd, dir, ...args]);
}

let phone;
const cdir = () => join(tmp, 'computer');

before(async () => {
	await K.startRelay();
	phone = await startPhone({ kv: new MemKV(), relayUrl: K.url, WebSocket,
	    listenerOptions: { backoffFirstMs: 100, backoffMaxMs: 400 } });
});

// A case that failed leaves no question open and no computer running.
afterEach(async () => {
	if (phone)
		phone.queue.dropAll();
	K.killOthers();
});

after(async () => {
	if (phone)
		phone.stop();
	K.close();
});

test('pairs_with_sk_phone_pair', async () => {
	assert.equal(phone.status, 'offline');
	await phone.setup({ name: 'pixel' });
	await online(phone);
	const { p, uri } = await computerPairs(cdir(), 'box');
	const pending = await phone.pair(uri);
	assert.equal(pending.computerName, 'box');
	assert.match(pending.code, /^\d{6}$/);
	await pending.confirm();
	const { code, out } = await p.done;
	assert.equal(code, 0, out);
	const shown = out.match(/Code: (\d{3}) (\d{3})/);
	assert.ok(shown, out);
	assert.equal(shown[1] + shown[2], pending.code);
	assert.match(out, /Paired with phone 'pixel' \(relay ws:\/\/127\.0\.0\.1:/);
	const computers = await phone.state.computers();
	assert.deepEqual(computers.map((c) => c.name), ['box']);
});

test('declined_pairing_saves_nothing', async () => {
	const { p, uri } = await computerPairs(join(tmp, 'other'), 'other');
	const pending = await phone.pair(uri);
	await pending.decline();
	const { code, out } = await p.done;
	assert.notEqual(code, 0);
	assert.match(out, /the phone declined the pairing/);
	assert.deepEqual((await phone.state.computers()).map((c) => c.name), ['box']);
	// the computer says no: sk-phone pair with no terminal and no --yes
	const dir = join(tmp, 'third');
	mkdirSync(dir, { mode: 0o700 });
	const uriFile = join(tmp, 'third.uri');
	const c = K.run([CLI, 'pair', '--relay', K.url, '--name', 'third', '--uri-file', uriFile,
	    '--timeout', '30'], { env: { SK_PHONE_DIR: dir } });
	await until('the pairing URI', () => existsSync(uriFile) || c.exitCode !== null);
	const p3 = await phone.pair(readFileSync(uriFile, 'utf8').trim());
	const r3 = await c.done;
	assert.match(r3.out, /no terminal to confirm the code on/);
	await assert.rejects(p3.confirm(), (e) => e.code === 'REJECTED' &&
	    /the computer declined the pairing/.test(e.message));
	assert.deepEqual((await phone.state.computers()).map((c) => c.name), ['box']);
});

// A request from the computer: the question it raised, and the process.
async function request(cmd = 'enroll', ...args) {
	const q = nextEvent(phone, 'question');
	const c = computer(cmd, cdir(), join(tmp, `key-${cmd}`), ...args);
	return { c, q: await q };
}

test('a_request_asked_and_answered', async () => {
	const { c, q } = await request('enroll');
	assert.equal(q.question.computer, 'box');
	assert.equal(q.question.op, 'enroll');
	assert.equal(q.waiting, 0);
	assert.ok(q.expiresAt > Date.now() + 50000 && q.expiresAt <= Date.now() + 60000);
	assert.throws(() => q.answer('window-of-nonsense'), /not one of/);
	q.answer('once');
	const { code, out } = await c.done;
	assert.equal(code, 0, out);
	assert.match(out, /result 1 status=0x00/);
	assert.match(out, /enrolled flags=0x41 counter=0/);	// UP, AT (libfido2 checked it)
	assert.throws(() => q.answer('once'), /no longer open/);
});

test('a_request_rejected', async () => {
	const { c, q } = await request('enroll');
	q.answer('reject');
	const { out } = await c.done;
	assert.match(out, /result 1 status=0x27/);
});

test('a_computer_that_hangs_up_withdraws_its_question', async () => {
	const { c, q } = await request('enroll', '--timeout-ms', '1500');
	const w = await nextEvent(phone, 'withdrawn');
	assert.deepEqual(w, { id: q.id, why: 'cancelled' });
	const { out } = await c.done;
	assert.match(out, /result 1 status=0x00 err=-21 \(timed out\)/);	// no answer came
	assert.throws(() => q.answer('once'), /no longer open/);
});

test('the_queue_asks_one_question_at_a_time', async () => {
	const first = await request('enroll');
	const queued = nextEvent(phone, 'queue');
	const second = computer('enroll', cdir(), join(tmp, 'key-2'));
	assert.deepEqual(await queued, { waiting: 1 });
	const next = nextEvent(phone, 'question');
	first.q.answer('reject');
	const q2 = await next;
	assert.equal(q2.waiting, 0);
	assert.notEqual(q2.id, first.q.id);
	q2.answer('reject');
	for (const c of [first.c, second])
		assert.match((await c.done).out, /result 1 status=0x27/);
});

test('a_window_covers_the_request_that_waited', async () => {
	const key = join(tmp, 'key-enroll');	// a_request_asked_and_answered's key
	const first = nextEvent(phone, 'question');
	const c1 = computer('sign', cdir(), key, '--sshsig', 'git');
	const q1 = await first;
	assert.equal(q1.question.op, 'sign');
	assert.equal(q1.question.namespace, 'git');
	assert.ok(q1.question.choices.includes('window'));
	const queued = nextEvent(phone, 'queue');
	const c2 = computer('sign', cdir(), key, '--sshsig', 'git');
	assert.deepEqual(await queued, { waiting: 1 });
	let asked = 0;
	const count = () => asked++;
	phone.addEventListener('question', count);
	q1.answer('window');
	try {
		for (const c of [c1, c2]) {
			const { code, out } = await c.done;
			assert.equal(code, 0, out);
			assert.match(out, /signed flags=0x01/);
		}
	} finally {
		phone.removeEventListener('question', count);
	}
	assert.equal(asked, 0, 'the second signature was not asked');
	const log = (await phone.state.auditLog()).map((e) => e.event);
	assert.deepEqual(log.slice(-2), ['allow-window-start', 'allow-window']);
});

test('the_pin_path', async () => {
	await phone.state.setPin('4321');
	const answerAll = (e) => e.detail.answer('once');
	phone.addEventListener('question', answerAll);
	try {
		let r = await computer('enroll', cdir(), join(tmp, 'key-uv'), '--uv', '--pin', '4321').done;
		assert.equal(r.code, 0, r.out);
		assert.match(r.out, /enrolled flags=0x45/);	// UP, UV, AT
		r = await computer('enroll', cdir(), join(tmp, 'key-uv2'), '--uv', '--pin', '9999').done;
		assert.match(r.out, /result 1 status=0x31/);
		assert.equal(await phone.state.pinFailures(), 1);
		r = await computer('enroll', cdir(), join(tmp, 'key-uv3'), '--uv').done;
		assert.match(r.out, /PIN/i);
		assert.doesNotMatch(r.out, /enrolled/);
	} finally {
		phone.removeEventListener('question', answerAll);
	}
});

test('relay_restarted_reconnects', async () => {
	await K.stopRelay();
	await until('the phone to notice', () => phone.status !== 'online');
	await K.startRelay();
	await online(phone);
	const { c, q } = await request('enroll');
	q.answer('reject');
	assert.match((await c.done).out, /result 1 status=0x27/);
});

test('a_call_held_while_offline', async () => {
	phone.stop();
	assert.equal(phone.status, 'offline');
	const c = computer('enroll', cdir(), join(tmp, 'key-held'));
	await until('the computer to be held', () => /status offline/.test(c.out));
	const q = nextEvent(phone, 'question');
	await phone.start();
	(await q).answer('reject');
	const { out } = await c.done;
	assert.match(out, /status offline\nstatus online\n/);
	assert.match(out, /result 1 status=0x27/);
});

// The OpenSSH tools load the provider; in a build under AddressSanitizer
// only with the ASan runtime loaded first (as test/e2e/skpe2e.py does).
function opensshEnv() {
	const e = { SK_PHONE_DIR: cdir(), SK_PHONE_TIMEOUT: '20', SSH_SK_PROVIDER: PROVIDER };
	const m = /^\s*libasan\.so\S*\s+=>\s+(\S+)/m.exec(execFileSync('ldd', [PROVIDER]).toString());
	if (m) {
		e.LD_PRELOAD = m[1];
		e.ASAN_OPTIONS = (process.env.ASAN_OPTIONS || '').split(':')
		    .filter((o) => o && !o.startsWith('detect_leaks')).concat('detect_leaks=0').join(':');
	}
	return e;
}

test('openssh_through_the_provider', async () => {
	const key = join(tmp, 'id_ecdsa_sk');
	let q = nextEvent(phone, 'question');
	const gen = K.run(['/usr/bin/ssh-keygen', '-q', '-t', 'ecdsa-sk', '-w', PROVIDER, '-N', '',
	    '-f', key], { env: opensshEnv() });
	let d = await Promise.race([q, gen.done.then((x) => { throw new Error(`ssh-keygen ended: ${x.code} ${x.out}`); })]);
	assert.equal(d.question.op, 'enroll');
	assert.equal(d.question.application, 'ssh:');
	d.answer('once');
	let r = await gen.done;
	assert.equal(r.code, 0, r.out);
	assert.match(readFileSync(key + '.pub', 'utf8'), /^sk-ecdsa-sha2-nistp256@openssh\.com /);
	const file = join(tmp, 'signed.txt');
	writeFileSync(file, 'signed on the web phone\n');
	q = nextEvent(phone, 'question');
	const sign = K.run(['/usr/bin/ssh-keygen', '-Y', 'sign', '-f', key, '-n', 'webctl', file],
	    { env: opensshEnv() });
	d = await Promise.race([q, sign.done.then((x) => { throw new Error(`ssh-keygen -Y sign ended: ${x.code} ${x.out}`); })]);
	assert.equal(d.question.op, 'sign');
	assert.equal(d.question.namespace, 'webctl');
	d.answer('once');
	r = await sign.done;
	assert.equal(r.code, 0, r.out);
	const check = K.run(['/bin/sh', '-c', `exec /usr/bin/ssh-keygen -Y check-novalidate -n webctl -s '${file}.sig' < '${file}'`]);
	r = await check.done;
	assert.equal(r.code, 0, r.out);
	assert.match(r.out, /Good "webctl" signature/);
});

test('an_unpaired_computer_gets_no_answer', async () => {
	await phone.state.removeComputer('box');
	let asked = false;
	const ask = () => { asked = true; };
	phone.addEventListener('question', ask);
	try {
		const { out } = await computer('enroll', cdir(), join(tmp, 'key-gone')).done;
		assert.match(out, /result 1 status=0x00 err=-27 /);	// SKP_ERR_NOT_PAIRED
	} finally {
		phone.removeEventListener('question', ask);
	}
	assert.equal(asked, false);
	const last = (await phone.state.auditLog()).at(-1);
	assert.equal(last.event, 'refused-not-paired');
	assert.equal(last.subject, '1 message');
});

// ---- the queue alone (no relay): a fake phone and fake calls ----

class FakeChannel extends EventTarget {
	constructor() {
		super();
		this.ended = null;
	}

	end() {
		this.ended = new Error('hung up');
		this.dispatchEvent(new Event('end'));
	}
}

function fakeQueue(o = {}) {
	const events = [];
	const ph = {
		_emit: (type, detail) => events.push({ type, detail }),
		notice: (text) => events.push({ type: 'notice', detail: { text } }),
	};
	const q = new AskQueue(ph, { now: () => Date.now(), questionTimeoutMs: 60000,
	    queueWaitMs: 60000, ...o });
	const ask = (n, ch = new FakeChannel(), choices = ['once', 'window', 'reject']) => {
		const p = q.ask({ title: `q${n}`, choices }, ch, 'box');
		return { p, ch };
	};
	const asked = () => events.filter((e) => e.type === 'question').map((e) => e.detail);
	return { q, ask, events, asked };
}

test('unit queue: first in, first asked; the 17th is busy (0x06)', async () => {
	const { q, ask, events, asked } = fakeQueue();
	const calls = [];
	for (let i = 0; i <= QUEUE_MAX + 1; i++)
		calls.push(ask(i));
	assert.equal(asked().length, 1);
	assert.equal(q.waiting.length, QUEUE_MAX);
	// the 18th ask (one open, 16 waiting) is refused at once
	assert.equal(await calls[QUEUE_MAX + 1].p, 'busy');
	assert.equal(events.find((e) => e.type === 'notice').detail.text,
	    `a request from computer "box" was not asked: ${BUSY_TEXT}`);
	for (let i = 0; i <= QUEUE_MAX; i++) {
		const open = asked()[i];
		assert.equal(open.question.title, `q${i}`);
		assert.equal(open.waiting, i === 0 ? 0 : QUEUE_MAX - i);
		open.answer(i % 2 ? 'once' : 'reject');
		assert.equal(await calls[i].p, i % 2 ? 'once' : 'reject');
		// the next is asked when the answered call is done
		assert.equal(asked().length, i + 1);
		q.done(calls[i].ch);
	}
});

test('unit queue: a hang-up withdraws the open question and drops a waiting one', async () => {
	const { ask, events, asked } = fakeQueue();
	const a = ask(1), b = ask(2), c = ask(3);
	b.ch.end();
	assert.equal(await b.p, 'cancelled');
	assert.deepEqual(events.at(-1), { type: 'queue', detail: { waiting: 1 } });
	a.ch.end();
	assert.equal(await a.p, 'cancelled');
	assert.ok(events.some((e) => e.type === 'withdrawn' && e.detail.id === asked()[0].id &&
	    e.detail.why === 'cancelled'));
	assert.equal(asked().length, 2);
	assert.equal(asked()[1].question.title, 'q3');
	asked()[1].answer('once');
	assert.equal(await c.p, 'once');
});

test('unit queue: unanswered is a timeout; waiting too long is 0x06', async () => {
	const { ask, events, asked } = fakeQueue({ questionTimeoutMs: 600, queueWaitMs: 200 });
	const a = ask(1), b = ask(2);
	assert.equal(await b.p, 'waited');
	assert.match(events.find((e) => e.type === 'notice').detail.text, /waited too long/);
	assert.equal(await a.p, 'timeout');
	assert.ok(events.some((e) => e.type === 'withdrawn' && e.detail.why === 'timeout'));
	assert.equal(asked().length, 1);
	assert.throws(() => asked()[0].answer('once'), /no longer open/);
});

test('unit queue: after a window opened, a waiting request is looked at again first', async () => {
	const { q, ask, asked, events } = fakeQueue();
	const a = ask(1), b = ask(2), c = ask(3);
	asked()[0].answer('window');
	assert.equal(await a.p, 'window');
	// b's turn comes when a's call is done (its window saved) ...
	let bSettled = false;
	b.p.then(() => { bSettled = true; });
	await new Promise((r) => setTimeout(r, 20));
	assert.equal(bSettled, false);
	q.done(a.ch);
	// ... and the engine looks at the windows first (b is not asked yet) ...
	assert.equal(await b.p, 'window-open');
	assert.equal(asked().length, 1);
	// ... and asks again: at once, before c
	const b2 = ask(2, b.ch);
	assert.equal(asked().length, 2);
	assert.equal(asked()[1].question.title, 'q2');
	asked()[1].answer('reject');
	assert.equal(await b2.p, 'reject');
	q.done(b.ch);
	// c waited through a window too: looked at again; covered, it ends there
	assert.equal(await c.p, 'window-open');
	const d = ask(4);	// nobody asked: d waits for c's kept turn
	assert.equal(asked().length, 2);
	q.done(c.ch);
	assert.equal(asked().length, 3);
	assert.equal(asked()[2].question.title, 'q4');
	assert.equal(asked()[2].waiting, 0);
	asked()[2].answer('once');
	assert.equal(await d.p, 'once');
	assert.ok(!events.some((e) => e.type === 'withdrawn'));
});

