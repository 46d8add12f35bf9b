// The request card (issue 11, "Screens"): what a paired computer asks, as
// the engine describes it (web-api.md §4's question object; the strings are
// already printable per docs/PROTOCOL.md §8.5), and the owner's answers:
// Allow once, the windows of §8.6 (this host / this computer for N hours),
// Reject. The card stays until answered or withdrawn (the computer hung up
// or the question timed out); others wait behind it in order.

import { h, ms } from './dom.js';

const HOST_TEXT = {
	'verified': 'verified',
	'first-use': 'first use: not seen before',
	'not-verified': 'not verified',
};

const OP_TEXT = {
	login: 'An SSH login with your key',
	sign: 'A signature with your key',
	enroll: 'A new key, made on this phone',
	list: 'The list of the keys on this phone',
	delete: 'Deleting a key on this phone',
	other: 'A signature of other data with your key',
};

function row(label, value, attrs = {}) {
	if (value === null || value === undefined || value === '')
		return null;
	return [h('dt', {}, label), h('dd', attrs, String(value))];
}

function left(expiresAt) {
	const t = ms(expiresAt);
	if (Number.isNaN(t))
		return null;
	const s = Math.max(0, Math.ceil((t - Date.now()) / 1000));
	return `${s} s left`;
}

export function moreText(n) {
	return n > 0 ? `${n} more waiting` : '';
}

export function renderRequest(app, d, waiting) {
	const q = d.question || {};
	const choices = Array.isArray(q.choices) ? q.choices : ['once', 'reject'];
	const hours = q.windowHours || 3;
	const hs = q.hostState || null;
	const answer = (c) => () => app.answer(d, c);
	const buttons = [];
	if (choices.includes('once'))
		buttons.push(h('button', { type: 'button', class: 'primary', test: 'allow-once',
		    onclick: answer('once') }, 'Allow once'));
	if (choices.includes('host'))
		buttons.push(h('button', { type: 'button', test: 'allow-host',
		    onclick: answer('host') }, `Allow ${q.host || 'this host'} for ${hours} h`));
	if (choices.includes('window'))
		buttons.push(h('button', { type: 'button', test: 'allow-window',
		    onclick: answer('window') }, `Allow ${q.computer || 'this computer'} for ${hours} h`));
	if (choices.includes('reject'))
		buttons.push(h('button', { type: 'button', class: 'danger', test: 'reject',
		    onclick: answer('reject') }, 'Reject'));

	const timer = h('p', { class: 'hint timer', 'aria-live': 'off' }, left(d.expiresAt));
	if (timer.textContent !== '')
		app.setCardTimer(() => { timer.textContent = left(d.expiresAt); });
	const more = h('p', { class: 'hint', id: 'req-more' },
	    moreText(Math.max(waiting, d.waiting || 0)));

	return h('section', { class: 'screen card', test: 'request', role: 'alertdialog',
	    'aria-labelledby': 'req-h', 'aria-describedby': 'req-what',
	    'data-op': q.op || 'other', 'data-host-state': hs || '',
	    'data-computer': q.computer || '' },
	    h('div', { class: 'top' },
		h('p', { class: 'from' }, h('span', { class: 'hint' }, 'From '),
		    h('strong', {}, q.computer || 'a computer')),
		timer),
	    more,
	    h('h1', { id: 'req-h' }, q.title || 'A request'),
	    q.hostLine ? h('p', { class: 'hostline ' + (hs || ''), id: 'req-what' },
		q.hostLine) : h('p', { id: 'req-what', class: 'hint' }, OP_TEXT[q.op] || OP_TEXT.other),
	    q.warning ? h('p', { class: 'warning', role: 'alert' }, q.warning) : null,
	    h('dl', { class: 'facts' },
		q.hostLine ? null : row('User', q.user),
		q.hostLine ? null : row('Host', q.host ?
		    `${q.host} (${HOST_TEXT[hs] || hs || 'no host key'})` : null),
		row('Host key', q.hostKeyType && q.hostKeyFp ?
		    `${q.hostKeyType} ${q.hostKeyFp}` : q.hostKeyFp, { class: 'mono' }),
		row('Namespace', q.namespace, { class: 'mono' }),
		row('Application', q.application, { class: 'mono' }),
		row('Key', q.keyFp, { class: 'mono' })),
	    q.windowText && choices.includes('window') ?
		h('p', { class: 'hint' }, `Allow ${q.computer || 'this computer'} for ` +
		    `${hours} h: ${q.windowText}`) : null,
	    q.touch ? h('p', { class: 'hint' }, q.touch) : null,
	    h('div', { class: 'answers' }, buttons));
}
