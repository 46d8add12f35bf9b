// Hosts (issue 11, "Screens"): the SSH host keys this phone pinned, shared
// by every computer (PhoneState's hosts(), web-api.md §3; docs/PROTOCOL.md
// §8.5.1); forget. After forgetting, the next login to that host is shown
// as a first use again. Host CAs (api13 D, PROTOCOL.md §8.5.1 step 4a):
// the CAs trusted for host patterns, added from an OpenSSH public key
// line; removed.

import { errorText, h, when } from './dom.js';

// "TYPE BASE64 [comment]" -> the key blob; null when it is not one.
export function keyLineBlob(line) {
	const f = String(line).trim().split(/\s+/);
	if (f.length < 2 || !/^[A-Za-z0-9+/]+={0,2}$/.test(f[1]))
		return null;
	let bin;
	try {
		bin = atob(f[1]);
	} catch {
		return null;
	}
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function caSection(app) {
	const st = app.phone.state;
	const list = await st.caList();
	const rows = list.map((x) => h('li', { class: 'row', test: 'ca', 'data-pattern': x.pattern },
	    h('div', { class: 'what' },
		h('strong', { class: 'mono' }, x.pattern),
		h('span', { class: 'mono small' }, x.type + ' ' + x.fingerprint),
		h('span', { class: 'hint' }, x.addedAt ? 'trusted since ' + when(x.addedAt) : '')),
	    h('div', { class: 'row-actions' },
		h('button', { type: 'button', class: 'danger', test: 'ca-remove',
		    'aria-label': `Stop trusting the CA ${x.fingerprint} for ${x.pattern}`,
		    onclick: () => distrust(app, x) }, 'Remove'))));
	const err = h('p', { class: 'error', role: 'alert', hidden: true });
	const pattern = h('input', { id: 'ca-pattern', test: 'ca-pattern', type: 'text',
	    autocomplete: 'off', spellcheck: 'false', maxlength: 255,
	    placeholder: '*.example.com' });
	const key = h('textarea', { id: 'ca-key', test: 'ca-key', rows: 3, spellcheck: 'false',
	    placeholder: 'ssh-ed25519 AAAA... host-ca' });
	const go = h('button', { type: 'submit', test: 'ca-add', class: 'primary' }, 'Trust this CA');
	const form = h('form', { class: 'stack', onsubmit: async (e) => {
		e.preventDefault();
		err.hidden = true;
		const blob = keyLineBlob(key.value);
		if (!blob) {
			err.textContent = 'Paste the CA\'s public key: one line as in its .pub file ' +
			    '(type, then base64).';
			err.hidden = false;
			return;
		}
		go.disabled = true;
		try {
			await st.trustCa({ pattern: pattern.value.trim(), key: blob }, Date.now());
			app.draw();
		} catch (e2) {
			err.textContent = 'The CA was not added: ' + errorText(e2);
			err.hidden = false;
			go.disabled = false;
		}
	} },
	    h('label', { for: 'ca-pattern' }, 'Hosts (a pattern, as in known_hosts)'), pattern,
	    h('label', { for: 'ca-key' }, 'CA public key'), key, err, go);
	return h('section', { class: 'panel', 'aria-labelledby': 'cas-h' },
	    h('h2', { id: 'cas-h' }, 'Host certificate authorities'),
	    h('p', { class: 'hint' }, 'A login to a host whose certificate one of these CAs ' +
		'signed for it is verified without pinning its key. An expired or misnamed ' +
		'certificate from them is refused. Certificates from other CAs count as ' +
		'their plain keys.'),
	    rows.length === 0 ? h('p', { class: 'empty' }, 'No CA trusted.') :
		h('ul', { class: 'list' }, rows), form);
}

async function distrust(app, x) {
	const yes = await app.confirm({ title: `Stop trusting this CA for ${x.pattern}?`,
	    yes: 'Remove', danger: true, text: 'Certificates it signed will count as their ' +
		'plain keys again: a host not pinned yet is shown as a first use.' });
	if (yes !== true)
		return;
	try {
		await app.phone.state.distrustCa(x.key, x.pattern, Date.now());
	} catch (e) {
		app.error('The CA was not removed')(e);
	}
	app.draw();
}

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
		h('ul', { class: 'list' }, rows),
	    await caSection(app));
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
