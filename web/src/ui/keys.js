// Keys (issue 11, "Screens"): the credentials this phone made (PhoneState's
// credentials(), web-api.md §3; docs/PROTOCOL.md §4), with what they are
// for; delete. A deleted key is gone for good: every login that used it
// stops working, so the dialog says so.

import { h, when } from './dom.js';

function flags(c) {
	const f = [];
	if (c.resident)
		f.push('resident');
	if (c.credProtect && c.credProtect > 1)
		f.push(c.credProtect >= 3 ? 'needs the PIN' : 'protected');
	return f.join(', ');
}

export async function renderKeys(app) {
	const list = await app.phone.state.credentials();
	const rows = list.map((c) => h('li', { class: 'row', test: 'key', 'data-rp': c.rp },
	    h('div', { class: 'what' },
		h('strong', { class: 'mono' }, c.rp),
		h('span', { class: 'keytype', test: 'key-type' }, c.type ?? 'ecdsa-sk'),
		c.userName ? h('span', {}, 'user ' + c.userName) : null,
		h('span', { class: 'hint' }, [c.created ? 'made ' + when(c.created) : '',
		    c.madeFor ? 'for ' + c.madeFor : '', flags(c),
		    c.counter !== undefined ? 'used ' + c.counter + '×' : ''].filter(Boolean).join(' · '))),
	    h('div', { class: 'row-actions' },
		h('button', { type: 'button', class: 'danger', test: 'key-delete',
		    'aria-label': `Delete the ${c.type ?? 'ecdsa-sk'} key for ${c.rp}` + (c.userName ? ` (${c.userName})` : ''),
		    onclick: () => del(app, c) }, 'Delete'))));
	return h('section', { class: 'screen', 'aria-labelledby': 'keys-h' },
	    h('h1', { id: 'keys-h' }, 'Keys'),
	    rows.length === 0 ?
		h('p', { class: 'empty' }, 'No key yet. On a paired computer, run ' +
		    'ssh-keygen -t ecdsa-sk (or, where this browser has Ed25519, -t ed25519-sk) to ' +
		    'make one.') :
		h('ul', { class: 'list' }, rows));
}

async function del(app, c) {
	const yes = await app.confirm({ title: `Delete the key for ${c.rp}?`, yes: 'Delete', danger: true,
	    text: 'This cannot be undone. Every server that accepts this key will refuse ' +
		'it, and files signed with it can no longer be signed again. Add another ' +
		'key to those servers first.' });
	if (yes !== true)
		return;
	try {
		await app.phone.state.deleteCredential(c.id);
	} catch (e) {
		app.error('The key was not deleted')(e);
	}
	app.draw();
}
