// Pairing (issue 11, "Pairing by camera"; docs/PROTOCOL.md §1 and §8.1,
// run by the controller: web-api.md §5 phone.pair). The URI comes from the
// page's address (the QR code's https://RELAY/#v=2&... opened by the
// camera) or is pasted. The phone shows the 6-digit code that the computer
// shows too; the owner confirms only when the two are the same.

import { errorText, h } from './dom.js';

// The code in two groups of three as the computer shows it ("355 505"), so
// the owner compares like with like; any other length as it is.
function grouped(code) {
	const c = String(code);
	return /^[0-9]{6}$/.test(c) ? `${c.slice(0, 3)} ${c.slice(3)}` : c;
}

// The paste form (on the home screen and here when there is no URI).
export function pairForm(app) {
	const ta = h('textarea', { id: 'pair-uri', test: 'pair-uri', rows: 3,
	    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
	    placeholder: 'https://…/#v=2&… or sk-phone://pair?v=2&…' });
	const err = h('p', { class: 'error', role: 'alert', hidden: true });
	return h('form', { class: 'stack', onsubmit: (e) => {
		e.preventDefault();
		const uri = ta.value.trim();
		if (uri === '') {
			err.textContent = 'Paste the text that sk-phone pair printed first.';
			err.hidden = false;
			return;
		}
		app.go('pair', { uri });
	} },
	    h('label', { for: 'pair-uri' }, 'Pairing text from sk-phone pair'),
	    ta, err,
	    h('button', { type: 'submit', test: 'pair-go' }, 'Pair'));
}

// Runs the pairing once per app.pairing; draws again at each step.
async function run(app, st) {
	const redraw = () => {
		if (app.pairing === st && app.screen === 'pair')
			app.draw();
	};
	try {
		st.p = await app.phone.pair(st.uri);
		st.phase = 'code';
	} catch (e) {
		st.phase = 'error';
		st.message = errorText(e);
	}
	redraw();
}

async function finish(app, st, yes) {
	st.phase = 'finishing';
	app.draw();
	try {
		if (yes) {
			await st.p.confirm();
			st.phase = 'done';
		} else {
			await st.p.decline();
			st.phase = 'declined';
		}
	} catch (e) {
		st.phase = 'error';
		st.message = errorText(e);
	}
	if (app.pairing === st && app.screen === 'pair')
		app.draw(true);
}

export function renderPair(app) {
	const st = app.pairing;
	const sec = (...kids) => h('section', { class: 'screen', 'aria-labelledby': 'pair-h' },
	    h('h1', { id: 'pair-h' }, 'Pair a computer'), ...kids);
	if (st === null || !st.uri)
		return sec(h('p', {}, 'On the computer, run sk-phone pair and point this ' +
		    'phone\'s camera at the QR code it shows.'), pairForm(app));
	if (!st.phase) {
		st.phase = 'run';
		run(app, st);
	}
	const home = () => app.go('home');
	switch (st.phase) {
	case 'run':
		return sec(h('p', { class: 'busy', role: 'status' }, 'Talking to the computer…'));
	case 'code':
	case 'finishing': {
		const busy = st.phase === 'finishing';
		return sec(
		    h('p', {}, 'The computer ', h('strong', { test: 'pair-computer' },
			st.p.computerName), ' shows a code. Is it this one?'),
		    h('p', { class: 'code', test: 'pair-code', 'aria-label':
			'code ' + String(st.p.code).split('').join(' ') }, grouped(st.p.code)),
		    h('p', { class: 'hint' }, 'Confirm only when both codes are the same: a ' +
			'different code means someone else is answering.'),
		    h('div', { class: 'actions' },
			h('button', { type: 'button', test: 'pair-decline', disabled: busy,
			    onclick: () => finish(app, st, false) }, 'Decline'),
			h('button', { type: 'button', class: 'primary', test: 'pair-confirm',
			    disabled: busy, onclick: () => finish(app, st, true) },
			    busy ? 'Pairing…' : 'Confirm')));
	}
	case 'done':
		return sec(h('p', { class: 'ok', test: 'paired', role: 'status' },
		    `Paired with ${st.p.computerName}. It can now ask this phone to sign.`),
		    h('button', { type: 'button', class: 'primary', onclick: home }, 'Done'));
	case 'declined':
		return sec(h('p', { role: 'status' }, 'Declined: this computer is not ' +
		    'paired, and nothing of it was kept.'),
		    h('button', { type: 'button', onclick: home }, 'Back'));
	default:
		return sec(h('p', { class: 'error', role: 'alert' }, 'Not paired: ' + st.message),
		    h('p', { class: 'hint' }, 'Run sk-phone pair on the computer again and ' +
			'scan its new QR code (each code works once, for 5 minutes).'),
		    pairForm(app));
	}
}
