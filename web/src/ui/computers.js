// Computers (issue 11, "Screens"): the paired computers (PhoneState's
// computers(), web-api.md §3), each with its open window if any
// (docs/PROTOCOL.md §8.6); rename, unpair. Unpairing forgets the
// computer's request key: it must pair again (§1) to ask anything.

import { h, ms, until, when } from './dom.js';

export async function renderComputers(app) {
	const list = await app.phone.state.computers();
	const rows = list.map((c) => {
		const win = ms(c.windowUntil) > Date.now() ? `Allowed without asking ${until(c.windowUntil)}` +
		    (c.windowNs && c.windowNs.length > 0 ?
			` (namespaces: ${[].concat(c.windowNs).join(', ')})` : '') : null;
		return h('li', { class: 'row', test: 'computer', 'data-name': c.name },
		    h('div', { class: 'what' },
			h('strong', {}, c.name),
			h('span', { class: 'hint' }, c.pairedAt ? 'paired ' + when(c.pairedAt) : ''),
			win ? h('span', { class: 'warn-text' }, win) : null),
		    h('div', { class: 'row-actions' },
			h('button', { type: 'button', test: 'computer-rename',
			    'aria-label': `Rename ${c.name}`, onclick: () => rename(app, c.name) }, 'Rename'),
			h('button', { type: 'button', class: 'danger', test: 'computer-unpair',
			    'aria-label': `Unpair ${c.name}`, onclick: () => unpair(app, c.name) }, 'Unpair')));
	});
	return h('section', { class: 'screen', 'aria-labelledby': 'comp-h' },
	    h('h1', { id: 'comp-h' }, 'Computers'),
	    rows.length === 0 ?
		h('p', { class: 'empty' }, 'No computer is paired. On a computer, run ' +
		    'sk-phone pair and scan its QR code with this phone\'s camera.') :
		h('ul', { class: 'list' }, rows));
}

async function rename(app, name) {
	const v = await app.confirm({ title: `Rename ${name}`, yes: 'Rename',
	    input: { label: 'New name', value: name, max: 64 } });
	if (typeof v !== 'string' || v === name)
		return;
	try {
		await app.phone.state.renameComputer(name, v);
	} catch (e) {
		app.error(`${name} was not renamed`)(e);
	}
	app.draw();
}

async function unpair(app, name) {
	const yes = await app.confirm({ title: `Unpair ${name}?`, yes: 'Unpair', danger: true,
	    text: `${name} will no longer be able to ask this phone anything. ` +
		'The keys stay on this phone; to use them from that computer again, pair it again.' });
	if (yes !== true)
		return;
	try {
		await app.phone.state.removeComputer(name);
	} catch (e) {
		app.error(`${name} was not unpaired`)(e);
	}
	app.draw();
}
