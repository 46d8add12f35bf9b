// Moving another phone here (issue 17; docs/PROTOCOL.md §10, run by the
// controller's receive()): on a phone never set up, the owner pastes the
// text that sk-phone-authenticator transfer shows on the old phone (or
// scans its QR code where the browser can). Both phones show a code; the
// owner confirms only when they are the same; then the old phone's whole
// state, its private keys too, comes here, and the old phone lets go.

import { errorText, h } from './dom.js';

const WARNING = 'This is the one time a private key leaves a phone: the old ' +
    'phone\'s keys, its paired computers and its pinned hosts move to this phone, ' +
    'end to end encrypted, by your choice, to your own other phone. The old phone ' +
    'then keeps nothing and answers no computer.';

function grouped(code) {
	const c = String(code);
	return /^[0-9]{6}$/.test(c) ? `${c.slice(0, 3)} ${c.slice(3)}` : c;
}

// The paste form (on the first-run screen and here).
export function receiveForm(app) {
	const ta = h('textarea', { id: 'receive-uri', test: 'receive-uri', rows: 3,
	    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
	    placeholder: 'sk-phone://transfer?v=1&…' });
	const err = h('p', { class: 'error', role: 'alert', hidden: true });
	return h('form', { class: 'stack', onsubmit: (e) => {
		e.preventDefault();
		const uri = ta.value.trim();
		if (uri === '') {
			err.textContent = 'Paste the text that sk-phone-authenticator transfer ' +
			    'shows on the old phone first.';
			err.hidden = false;
			return;
		}
		app.go('receive', { uri });
	} },
	    h('label', { for: 'receive-uri' }, 'Transfer text from the old phone'),
	    ta, err,
	    h('button', { type: 'submit', test: 'receive-go' }, 'Move the old phone here'));
}

async function run(app, st) {
	try {
		st.p = await app.phone.receive(st.uri);
		st.phase = 'code';
	} catch (e) {
		st.phase = 'error';
		st.message = errorText(e);
	}
	if (app.receiving === st && app.screen === 'receive')
		app.draw();
}

async function finish(app, st, how) {
	st.phase = 'finishing';
	app.draw();
	try {
		if (how === 'confirm') {
			st.result = await st.p.confirm();
			st.phase = 'done';
		} else if (how === 'decline') {
			await st.p.decline();
			st.phase = 'declined';
		} else if (how === 'finish') {
			await app.phone.finishTransfer();
			st.phase = 'done';
		} else {
			await app.phone.discardTransfer();
			st.phase = 'discarded';
		}
	} catch (e) {
		st.phase = e.pending ? 'pending' : 'error';
		st.message = errorText(e);
	}
	if (app.receiving === st && app.screen === 'receive')
		app.draw(true);
}

export function renderReceive(app) {
	const st = app.receiving;
	const sec = (...kids) => h('section', { class: 'screen', 'aria-labelledby': 'receive-h' },
	    h('h1', { id: 'receive-h' }, 'Move a phone here'), ...kids);
	if (st === null || (!st.uri && !st.phase))
		return sec(h('p', {}, 'On the old phone, run sk-phone-authenticator transfer ' +
		    'and paste the text it shows here.'), h('p', { class: 'hint' }, WARNING),
		    receiveForm(app));
	if (!st.phase) {
		st.phase = 'run';
		run(app, st);
	}
	const ready = async () => {
		const id = await app.phone.state.identity();
		app.receiving = null;
		await app.identityReady(id);
	};
	const back = () => {
		app.receiving = null;
		app.go('setup');
	};
	switch (st.phase) {
	case 'run':
		return sec(h('p', { class: 'busy', role: 'status' }, 'Talking to the old phone…'));
	case 'code':
	case 'finishing': {
		const busy = st.phase === 'finishing';
		if (!st.p)
			return sec(h('p', { class: 'busy', role: 'status' }, 'Finishing…'));
		return sec(
		    h('p', {}, 'The old phone ', h('strong', { test: 'receive-from' },
			st.p.oldName), ' shows a code. Is it this one?'),
		    h('p', { class: 'code', test: 'receive-code', 'aria-label':
			'code ' + String(st.p.code).split('').join(' ') }, grouped(st.p.code)),
		    h('p', { class: 'hint', test: 'receive-warning' }, WARNING),
		    h('p', { class: 'hint' }, 'Confirm only when both codes are the same: a ' +
			'different code means someone else is answering.'),
		    h('div', { class: 'actions' },
			h('button', { type: 'button', test: 'receive-decline', disabled: busy,
			    onclick: () => finish(app, st, 'decline') }, 'Decline'),
			h('button', { type: 'button', class: 'primary', test: 'receive-confirm',
			    disabled: busy, onclick: () => finish(app, st, 'confirm') },
			    busy ? 'Moving…' : 'Confirm')));
	}
	case 'done':
		return sec(h('p', { class: 'ok', test: 'received', role: 'status' },
		    'This phone is now the old one: its computers and key files work with it ' +
		    'as they did, without pairing again.'),
		    h('button', { type: 'button', class: 'primary', test: 'receive-done',
			onclick: ready }, 'Done'));
	case 'declined':
		return sec(h('p', { role: 'status' }, 'Declined: nothing moved, the old phone ' +
		    'keeps its state.'), h('button', { type: 'button', onclick: back }, 'Back'));
	case 'discarded':
		return sec(h('p', { role: 'status', test: 'receive-discarded' }, 'Discarded: ' +
		    'this phone keeps nothing of the old one.'),
		    h('button', { type: 'button', onclick: back }, 'Back'));
	case 'pending':
		return sec(h('p', { class: 'error', role: 'alert', test: 'receive-pending' },
		    'Not finished: ' + (st.message || 'the transfer stopped after this phone ' +
		    'received the state, before the old phone said it let go of it') + '.'),
		    h('div', { class: 'actions' },
			h('button', { type: 'button', test: 'receive-discard',
			    onclick: () => finish(app, st, 'discard') }, 'Discard'),
			h('button', { type: 'button', class: 'primary', test: 'receive-finish',
			    onclick: () => finish(app, st, 'finish') }, 'Finish')));
	default:
		return sec(h('p', { class: 'error', role: 'alert', test: 'receive-error' },
		    'Nothing moved: ' + st.message),
		    h('p', { class: 'hint' }, 'Run sk-phone-authenticator transfer on the old ' +
			'phone again and paste its new text (each works once, for 5 minutes).'),
		    receiveForm(app));
	}
}
