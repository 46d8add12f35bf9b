// Hosts (issue 11, "Screens"): the SSH host keys this phone pinned, shared
// by every computer (PhoneState's hosts(), web-api.md §3; docs/PROTOCOL.md
// §8.5.1); forget. After forgetting, the next login to that host is shown
// as a first use again.

import { h, when } from './dom.js';

export async function renderHosts(app) {
	const list = await app.phone.state.hosts();
	const rows = list.map((x) => h('li', { class: 'row', test: 'host', 'data-name': x.name },
	    h('div', { class: 'what' },
		h('strong', { class: 'mono' }, x.name),
		h('span', { class: 'mono small' }, x.type + (x.fingerprint ? ' ' + x.fingerprint : '')),
		h('span', { class: 'hint' }, [x.pinnedAt ? 'seen first ' + when(x.pinnedAt) : '',
		    x.pinnedBy ? 'from ' + x.pinnedBy : ''].filter(Boolean).join(' '))),
	    h('div', { class: 'row-actions' },
		h('button', { type: 'button', class: 'danger', test: 'host-forget',
		    'aria-label': `Forget ${x.name}`, onclick: () => forget(app, x.name) }, 'Forget'))));
	return h('section', { class: 'screen', 'aria-labelledby': 'hosts-h' },
	    h('h1', { id: 'hosts-h' }, 'Hosts'),
	    h('p', { class: 'hint' }, 'The host keys of the servers you logged in to. A login ' +
		'to one of them with another key is refused.'),
	    rows.length === 0 ? h('p', { class: 'empty' }, 'No host yet.') :
		h('ul', { class: 'list' }, rows));
}

async function forget(app, name) {
	const yes = await app.confirm({ title: `Forget ${name}?`, yes: 'Forget', danger: true,
	    text: 'The next login to it will be shown as a first use, with whatever key ' +
		'it then has. Forget a host only when you know why its key changed.' });
	if (yes !== true)
		return;
	try {
		await app.phone.state.forgetHost(name);
	} catch (e) {
		app.error(`${name} was not forgotten`)(e);
	}
	app.draw();
}
