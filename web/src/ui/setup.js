// First run (issue 11, "Screens"): the phone's name, then the identity is
// made (web-api.md §5 phone.setup, PhoneState.createIdentity underneath:
// the ECDH identity and ECDSA mailbox keys of docs/PROTOCOL.md §8.1,
// extractable=false). The name is what computers show when they pair.

import { errorText, h } from './dom.js';
import { receiveForm } from './receive.js';

const NAME_MAX = 64;

export function renderSetup(app) {
	const input = h('input', { id: 'setup-name', test: 'setup-name', type: 'text',
	    maxlength: NAME_MAX, autocomplete: 'off', required: true,
	    value: 'My phone', enterkeyhint: 'done' });
	const err = h('p', { class: 'error', role: 'alert', hidden: true });
	const go = h('button', { type: 'submit', class: 'primary', test: 'setup-go' },
	    'Make this phone a security key');
	const form = h('form', { class: 'stack', onsubmit: async (e) => {
		e.preventDefault();
		const name = input.value.trim();
		if (name === '') {
			err.textContent = 'Give the phone a name first.';
			err.hidden = false;
			return;
		}
		go.disabled = true;
		go.textContent = 'Making the keys…';
		err.hidden = true;
		try {
			await app.phone.setup({ name });
			const id = await app.phone.state.identity();
			await app.identityReady(id || { name });
		} catch (e2) {
			err.textContent = 'The phone could not be set up: ' + errorText(e2) +
			    '. Try again.';
			err.hidden = false;
			go.disabled = false;
			go.textContent = 'Make this phone a security key';
		}
	} },
	    h('label', { for: 'setup-name' }, 'Name of this phone'),
	    input,
	    h('p', { class: 'hint' }, 'Your computers show this name when they ask it to sign.'),
	    err, go);
	return h('section', { class: 'screen', 'aria-labelledby': 'setup-h' },
	    h('h1', { id: 'setup-h' }, 'Welcome'),
	    h('p', {}, 'This page makes this phone a security key for SSH: your ' +
		'computers ask it, and you allow or reject each login or signature here.'),
	    h('p', { class: 'hint' }, 'The keys are made in this browser and cannot ' +
		'be copied out of it, not even by this page. They are not kept in the ' +
		'phone\'s secure hardware.'),
	    form,
	    h('h2', {}, 'Or move another phone here'),
	    h('p', { class: 'hint' }, 'Replacing a phone? Run sk-phone-authenticator ' +
		'transfer on the old one: its keys and computers move here, and your ' +
		'key files keep working.'),
	    receiveForm(app));
}
