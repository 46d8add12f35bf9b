// Settings (issue 11, "Screens" and "Keys"): the web phone's own PIN (asked
// by computers for verify-required keys, docs/PROTOCOL.md §3.7; PhoneState
// keeps only a salted hash and counts failures, web-api.md §3), whether the
// browser keeps the keys (navigator.storage.persist(); refused: "add to home
// screen"), whether a request wakes the closed page (Web Push, §8.11),
// and what this phone is.

import { errorText, h } from './dom.js';

const PIN_MIN = 4, PIN_MAX = 63, PIN_TRIES = 8;

async function pinSection(app) {
	const st = app.phone.state;
	const set = await st.pinIsSet();
	const fails = set && st.pinFailures ? await st.pinFailures() : 0;
	const blocked = set && fails >= PIN_TRIES;
	const state = h('p', { test: 'pin-state', role: 'status', 'data-blocked': blocked ? 'true' : null },
	    !set ? 'No PIN is set. Keys made with verify-required need one.' :
		blocked ? `The PIN is blocked after ${fails} wrong tries: computers cannot use it.` :
		'A PIN is set' + (fails > 0 ? ` (${fails} wrong tr${fails === 1 ? 'y' : 'ies'} ` +
		    'since the last right one)' : '') + '.');
	const unblock = blocked && st.resetPinFailures ? h('button', { type: 'button',
	    test: 'pin-unblock', onclick: async () => {
		const yes = await app.confirm({ title: 'Unblock the PIN?', yes: 'Unblock',
		    text: 'Computers can then try the PIN again, 8 more times. Do this only ' +
			'if the wrong tries were yours.' });
		if (yes !== true)
			return;
		try {
			await st.resetPinFailures(Date.now());
		} catch (e) {
			app.error('The PIN was not unblocked')(e);
		}
		app.draw();
	} }, 'Unblock the PIN') : null;
	const err = h('p', { class: 'error', role: 'alert', hidden: true });
	const old = set ? h('input', { id: 'pin-old', test: 'pin-old', type: 'password',
	    inputmode: 'numeric', autocomplete: 'current-password', maxlength: PIN_MAX }) : null;
	const nu = h('input', { id: 'pin-new', test: 'pin-new', type: 'password',
	    inputmode: 'numeric', autocomplete: 'new-password', minlength: PIN_MIN,
	    maxlength: PIN_MAX });
	const go = h('button', { type: 'submit', test: 'pin-set', class: 'primary' },
	    set ? 'Change the PIN' : 'Set the PIN');
	const form = h('form', { class: 'stack', onsubmit: async (e) => {
		e.preventDefault();
		err.hidden = true;
		const p = nu.value;
		if ([...p].length < PIN_MIN || new TextEncoder().encode(p).length > PIN_MAX) {
			err.textContent = `A PIN has ${PIN_MIN} to ${PIN_MAX} characters.`;
			err.hidden = false;
			return;
		}
		go.disabled = true;
		try {
			await st.setPin(p, old ? old.value : undefined);
			nu.value = '';
			if (old)
				old.value = '';
			app.draw();
		} catch (e2) {
			err.textContent = 'The PIN was not changed: ' + errorText(e2);
			err.hidden = false;
			go.disabled = false;
		}
	} },
	    // for password managers and screen readers: whose PIN this is
	    h('input', { type: 'text', autocomplete: 'username', value: 'sk-phone PIN',
		hidden: true, readonly: true, 'aria-hidden': 'true', tabindex: '-1' }),
	    old ? [h('label', { for: 'pin-old' }, 'Current PIN'), old] : null,
	    h('label', { for: 'pin-new' }, set ? 'New PIN' : 'PIN'), nu,
	    h('p', { class: 'hint' }, 'At least 4 characters. After 8 wrong tries in a ' +
		'row the PIN is blocked.'),
	    err, go);
	return h('section', { class: 'panel', 'aria-labelledby': 'pin-h' },
	    h('h2', { id: 'pin-h' }, 'PIN'), state, unblock, blocked ? null : form);
}

export function storageSection(app) {
	const d = app.storage.describe();
	const again = h('button', { type: 'button', test: 'storage-ask', onclick: async () => {
		again.disabled = true;
		await app.storage.again();
		app.draw();
	} }, 'Ask the browser again');
	return h('section', { class: 'panel', 'aria-labelledby': 'store-h' },
	    h('h2', { id: 'store-h' }, 'Storage'),
	    h('p', { test: 'storage-state', 'data-state': app.storage.state,
		class: d.warn ? 'warning' : '' }, d.text),
	    app.storage.state === 'refused' ? again : null);
}

// Web Push (PROTOCOL.md §8.11): whether a computer's request wakes this
// phone with a notification while the page is closed.
export function pushSection(app) {
	const push = app.push;
	if (!push)
		return null;
	const on = push.state === 'on';
	const go = (fn) => async (e) => {
		e.target.disabled = true;
		await fn();
		app.draw();
	};
	const button = push.state === 'unsupported' ? null : on ?
	    h('button', { type: 'button', test: 'push-disable', onclick: go(() => push.disable()) },
		'Turn off') :
	    h('button', { type: 'button', class: 'primary', test: 'push-enable',
		onclick: go(() => push.enable()) }, 'Turn on');
	return h('section', { class: 'panel', 'aria-labelledby': 'push-h' },
	    h('h2', { id: 'push-h' }, 'Wake this phone'),
	    h('p', { test: 'push-state', 'data-state': push.state, role: 'status',
		class: /^(denied|refused|error)$/.test(push.state) ? 'warning' : '' }, push.text),
	    h('p', { class: 'hint' }, 'On: when the page is closed, a computer\'s request ' +
		'shows as a notification, through the browser\'s push service (it learns ' +
		'when, never what). Allow or Reject on it answers a request that needs ' +
		'no PIN and no new host; anything else opens this page.'),
	    button);
}

export async function renderSettings(app) {
	const id = await app.phone.state.identity();
	return h('section', { class: 'screen', 'aria-labelledby': 'set-h' },
	    h('h1', { id: 'set-h' }, 'Settings'),
	    await pinSection(app),
	    pushSection(app),
	    storageSection(app),
	    h('section', { class: 'panel', 'aria-labelledby': 'about-h' },
		h('h2', { id: 'about-h' }, 'This phone'),
		h('dl', { class: 'facts' },
		    h('dt', {}, 'Name'), h('dd', {}, id ? id.name : ''),
		    h('dt', {}, 'Relay'), h('dd', { class: 'mono' }, id ? (id.relays ?? [id.relay || location.host]).join(' ') : ''),
		    h('dt', {}, 'Connection'), h('dd', {}, app.phone.status || 'offline')),
		h('p', { class: 'hint' }, 'The keys are WebCrypto keys kept by this browser for ' +
		    'this site: they cannot be copied out, but they are not in the phone\'s ' +
		    'secure hardware, and the page that uses them comes from the relay: use a ' +
		    'relay you run yourself.')));
}
