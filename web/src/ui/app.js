// The page around the screens (issue 11): the online indicator, the
// navigation, notices, the "are you sure" dialog, and the queue of
// questions the controller asks (docs/PROTOCOL.md §8.6: one at a time, in
// order). The screens are the other files of this folder; the phone is
// h-webctl's controller (web/src/app/controller.js, /work/notes/web-api.md
// §5), its state h-webrules' PhoneState (§3).

import { clear, errorText, h } from './dom.js';
import { renderComputers } from './computers.js';
import { renderHome } from './home.js';
import { renderHosts } from './hosts.js';
import { renderKeys } from './keys.js';
import { renderLog } from './log.js';
import { renderPair } from './pair.js';
import { renderReceive } from './receive.js';
import { moreText, renderRequest } from './request.js';
import { renderSettings } from './settings.js';
import { renderSetup } from './setup.js';
import { Storage } from './storage.js';

const STATUS = ['online', 'connecting', 'offline'];
const NOTICES_MAX = 3;

const SCREENS = {
	home: { label: 'Home', render: renderHome },
	computers: { label: 'Computers', render: renderComputers },
	keys: { label: 'Keys', render: renderKeys },
	hosts: { label: 'Hosts', render: renderHosts },
	log: { label: 'Log', render: renderLog },
	settings: { label: 'Settings', render: renderSettings },
};
// Screens that show lists of the state: drawn again on 'changed'.
const LISTS = new Set(['home', 'computers', 'keys', 'hosts', 'log']);

// The pairing URI in the page's address (§2.1's web form puts it after
// '#'), or null. The whole address is what pairuri.js parses.
export function pairUriFromLocation(loc) {
	return /^#v=/.test(loc.hash) ? loc.href : null;
}

export class App {
	constructor(phone, doc = document) {
		this.phone = phone;
		this.doc = doc;
		this.main = doc.getElementById('main');
		this.nav = doc.getElementById('nav');
		this.notices = doc.getElementById('notices');
		this.dialog = doc.getElementById('dialog');
		this.statusEl = doc.querySelector('[data-test="status"]');
		this.screen = null;
		this.pairing = null;	// { uri } while the pairing screen is up
		this.receiving = null;	// { uri, phase } while a transfer comes in
		this.questions = [];	// the 'question' details, oldest first
		this.cardTimer = null;
		this.dialogDone = null;	// answers the open "are you sure"
		this.drawing = Promise.resolve();
		this.storage = new Storage(navigator.storage);
	}

	async start(loc = location) {
		const p = this.phone;
		this.showStatus(p.status);
		p.addEventListener('status', () => this.showStatus(p.status));
		p.addEventListener('question', (e) => this.onQuestion(e.detail));
		p.addEventListener('withdrawn', (e) => this.onWithdrawn(e.detail));
		p.addEventListener('queue', (e) => this.onQueue(e.detail));
		p.addEventListener('notice', (e) => this.notice(e.detail && e.detail.text));
		p.addEventListener('changed', () => {
			if (this.questions.length === 0 && LISTS.has(this.screen))
				this.draw();
		});
		this.buildNav();
		this.takePairUri(loc);
		// The pairing URL opened while the page is open changes only
		// the fragment: no load, a 'hashchange'.
		window.addEventListener('hashchange', () => this.onHashChange(loc));
		const id = await p.state.identity();
		if (id === null) {
			// A transfer that stopped before the old phone let go.
			if (await p.state.transferPending()) {
				this.receiving = { phase: 'pending' };
				await this.go('receive');
				return;
			}
			await this.go('setup');
			return;
		}
		await this.identityReady(id);
	}

	// The pairing URI in the address, read once and taken out of it: a
	// reload must not pair again, and the secret should not stay in the
	// address bar or the history. Whether there was one.
	takePairUri(loc) {
		const uri = pairUriFromLocation(loc);
		if (uri === null)
			return false;
		history.replaceState(null, '', loc.pathname + loc.search);
		this.pairing = { uri };
		return true;
	}

	async onHashChange(loc) {
		if (!this.takePairUri(loc))
			return;
		// first run: the setup screen keeps it for afterwards
		if (this.screen !== 'setup' && await this.phone.state.identity() !== null)
			await this.go('pair', { uri: this.pairing.uri });
	}

	// After the first run or at start: the name in the bar, storage asked
	// for, and the pairing the address asked for.
	async identityReady(id) {
		this.doc.getElementById('phone-name').textContent = id.name;
		this.storage.ask().then(() => {
			if (this.screen === 'settings' || this.screen === 'home')
				this.draw();
		}, () => {});
		await this.go(this.pairing !== null ? 'pair' : 'home');
	}

	showStatus(s) {
		const v = STATUS.includes(s) ? s : 'offline';
		this.statusEl.textContent = v;
		this.statusEl.className = 'status ' + v;
	}

	buildNav() {
		clear(this.nav);
		for (const [name, s] of Object.entries(SCREENS))
			this.nav.append(h('button', { type: 'button', test: 'nav-' + name,
			    'data-screen': name, onclick: () => this.go(name) }, s.label));
	}

	// Shows a screen: 'setup', 'pair' or one of SCREENS.
	async go(name, opts = {}) {
		if (name !== 'pair')
			this.pairing = name === 'setup' ? this.pairing : null;
		if (name === 'pair' && opts.uri !== undefined)
			this.pairing = { uri: opts.uri };
		if (name === 'receive' && opts.uri !== undefined)
			this.receiving = { uri: opts.uri };
		this.screen = name;
		for (const b of this.nav.querySelectorAll('button'))
			if (b.dataset.screen === name)
				b.setAttribute('aria-current', 'page');
			else
				b.removeAttribute('aria-current');
		await this.draw(true);
	}

	// Draws the current screen (or the question on top of it); draws are
	// serialized so that two events never interleave their DOM work.
	draw(focus = false) {
		this.drawing = this.drawing.then(() => this.drawNow(focus)).catch((e) =>
		    this.notice('The screen could not be drawn: ' + errorText(e), 'error'));
		return this.drawing;
	}

	async drawNow(focus) {
		this.stopCardTimer();
		let el;
		if (this.questions.length > 0) {
			el = renderRequest(this, this.questions[0], this.questions.length - 1);
		} else if (this.screen === 'setup') {
			el = renderSetup(this);
		} else if (this.screen === 'pair') {
			el = renderPair(this, this.pairing ? this.pairing.uri : null);
		} else if (this.screen === 'receive') {
			el = renderReceive(this);
		} else {
			el = await (SCREENS[this.screen] || SCREENS.home).render(this);
		}
		// While a question is up, the other screens wait behind it.
		this.nav.hidden = this.questions.length > 0 || this.screen === 'setup' ||
		    this.screen === 'receive';
		clear(this.main);
		this.main.append(el);
		this.main.removeAttribute('aria-busy');
		if (focus) {
			const head = el.querySelector('h1, h2');
			if (head) {
				head.setAttribute('tabindex', '-1');
				head.focus({ preventScroll: true });
			}
			window.scrollTo(0, 0);
		}
	}

	// --- questions (web-api.md §5: 'question', 'withdrawn') ---

	onQuestion(d) {
		if (!d || this.questions.some((q) => q.id === d.id))
			return;
		this.questions.push(d);
		// A question outranks an open "are you sure": that one is
		// answered no, so the card is not behind a modal dialog.
		if (this.dialogDone)
			this.dialogDone(false);
		if (this.questions.length === 1) {
			if (navigator.vibrate)
				navigator.vibrate(200);
			this.doc.title = 'Request: sk-phone';
			this.draw(true);
		} else {
			this.draw();
		}
	}

	onWithdrawn(d) {
		const i = this.questions.findIndex((q) => d && q.id === d.id);
		if (i < 0)
			return;
		const [q] = this.questions.splice(i, 1);
		if (i === 0)
			this.notice(d.why === 'timeout' ?
			    `Not answered in time (${q.question.title}, from ` +
			    `${q.question.computer}): nothing was signed.` :
			    `${q.question.computer} stopped asking (${q.question.title}): ` +
			    'nothing was signed.');
		this.afterQuestion();
	}

	// The open question's count of requests waiting behind it changed:
	// only that line is rewritten, the buttons stay where the thumb is.
	onQueue(d) {
		if (this.questions.length === 0 || !d)
			return;
		this.questions[0].waiting = d.waiting;
		const el = this.main.querySelector('#req-more');
		if (el)
			el.textContent = moreText(Math.max(this.questions.length - 1, d.waiting || 0));
	}

	async answer(d, choice) {
		const i = this.questions.indexOf(d);
		if (i >= 0)
			this.questions.splice(i, 1);
		this.afterQuestion();
		try {
			await d.answer(choice);
		} catch (e) {
			this.notice('The answer could not be sent: ' + errorText(e), 'error');
		}
	}

	afterQuestion() {
		if (this.questions.length === 0)
			this.doc.title = 'sk-phone';
		this.draw(true);
	}

	setCardTimer(fn) {
		this.stopCardTimer();
		this.cardTimer = setInterval(fn, 1000);
	}

	stopCardTimer() {
		if (this.cardTimer !== null)
			clearInterval(this.cardTimer);
		this.cardTimer = null;
	}

	// --- notices ---

	// kind: 'info' (the phone's notices) or 'error'.
	notice(text, kind = 'info') {
		if (!text)
			return;
		const n = h('div', { class: 'notice ' + kind, test: 'notice',
		    role: kind === 'error' ? 'alert' : null },
		    h('p', {}, text),
		    h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss',
			onclick: () => n.remove() }, '×'));
		this.notices.append(n);
		while (this.notices.children.length > NOTICES_MAX)
			this.notices.firstElementChild.remove();
	}

	error(prefix) {
		return (e) => this.notice((prefix ? prefix + ': ' : '') + errorText(e), 'error');
	}

	// --- "are you sure" ---

	// confirm({ title, text, yes, danger, input: { label, value, max } })
	// -> false, true, or (with input) the text typed.
	confirm({ title, text, yes = 'Yes', no = 'Cancel', danger = false, input = null }) {
		const dlg = this.dialog;
		return new Promise((resolve) => {
			clear(dlg);
			let field = null;
			const done = (v) => {
				this.dialogDone = null;
				dlg.removeEventListener('cancel', onCancel);
				if (dlg.open)
					dlg.close();
				resolve(v);
			};
			const onCancel = (e) => {
				e.preventDefault();
				done(false);
			};
			dlg.addEventListener('cancel', onCancel);
			const yesB = h('button', { type: 'submit', test: 'confirm-yes',
			    class: danger ? 'danger' : 'primary' }, yes);
			const noB = h('button', { type: 'button', test: 'confirm-no',
			    onclick: () => done(false) }, no);
			if (input !== null)
				field = h('input', { id: 'dialog-input', test: 'confirm-input',
				    type: 'text', value: input.value || '', maxlength: input.max || 64,
				    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
				    required: true });
			const form = h('form', { class: 'dialog-form', onsubmit: (e) => {
				e.preventDefault();
				if (field !== null) {
					const v = field.value.trim();
					if (v === '')
						return;
					done(v);
				} else {
					done(true);
				}
			} },
			    h('h2', { id: 'dialog-title' }, title),
			    text ? h('p', {}, text) : null,
			    field ? h('label', { for: 'dialog-input' }, input.label) : null,
			    field,
			    h('div', { class: 'actions' }, noB, yesB));
			dlg.append(form);
			if (this.dialogDone)
				this.dialogDone(false);
			this.dialogDone = done;
			dlg.showModal();
			(field || noB).focus();
		});
	}
}

// The page when the phone could not start: what happened, what to do.
export function bootError(e, doc = document) {
	const main = doc.getElementById('main');
	clear(main);
	main.removeAttribute('aria-busy');
	main.append(h('section', { class: 'screen boot', test: 'boot-error' },
	    h('h1', {}, 'The phone did not start'),
	    h('p', { class: 'error', role: 'alert' }, errorText(e)),
	    h('p', {}, 'Nothing was changed. Reload the page to try again; if ' +
		'this keeps happening, update the browser.'),
	    h('button', { type: 'button', class: 'primary',
		onclick: () => location.reload() }, 'Reload')));
	const st = doc.querySelector('[data-test="status"]');
	if (st) {
		st.textContent = 'offline';
		st.className = 'status offline';
	}
}
