// The log (issue 11, "Screens"): what this phone did and refused, newest
// first (PhoneState's auditLog(), web-api.md §3: the audit lines of
// docs/PROTOCOL.md §8.7, decisions such as allow-once, reject,
// refused-stale). Each line: when, which computer, the decision, then what
// was asked (op, subject, user @ host and whether it was verified).

import { h, when } from './dom.js';

function what(l) {
	const parts = [];
	if (l.op && l.op !== 'request')
		parts.push(l.op);
	if (l.subject)
		parts.push(l.subject);
	if (l.host)
		parts.push('@ ' + l.host + (l.verified && l.verified !== '-' ? ` (${l.verified})` : ''));
	if (l.via === 'notification')
		parts.push('(from the notification)');
	if (parts.length > 0)
		return parts.join(' ');
	// a line with only its text (the contract's minimum)
	return l.op === undefined ? l.text || '' : '';
}

export async function renderLog(app) {
	const list = (await app.phone.state.auditLog()).slice().reverse();
	return h('section', { class: 'screen', 'aria-labelledby': 'log-h' },
	    h('h1', { id: 'log-h' }, 'Log'),
	    list.length === 0 ? h('p', { class: 'empty' }, 'Nothing yet.') :
		h('ol', { class: 'log' }, list.map((l) => h('li', { test: 'log-line',
		    class: /^(reject|refused|denied|timeout)/.test(l.event || '') ? 'refused' : '' },
		    h('span', { class: 'hint' }, when(l.at)),
		    ' ', h('strong', {}, l.computer || ''),
		    ' ', h('span', { class: 'event' }, l.event || ''),
		    h('br'), h('span', { class: 'small' }, what(l))))));
}
