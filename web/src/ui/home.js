// Home (issue 11, "Screens"): that the phone is ready and waiting for its
// computers' requests (they come as request cards on top of any screen),
// how to pair one more, and the storage warning when the browser may clear
// the keys ("add to home screen").

import { h } from './dom.js';
import { pairForm } from './pair.js';

export async function renderHome(app) {
	const comps = await app.phone.state.computers();
	const keys = await app.phone.state.credentials();
	const d = app.storage.describe();
	const names = comps.map((c) => c.name);
	return h('section', { class: 'screen', 'aria-labelledby': 'home-h' },
	    h('h1', { id: 'home-h' }, comps.length > 0 ? 'Ready' : 'Pair a computer'),
	    comps.length > 0 ?
		h('p', {}, `Keep this page open: ${names.join(', ')} ` +
		    `${names.length === 1 ? 'asks' : 'ask'} here before anything is signed. ` +
		    `${keys.length} key${keys.length === 1 ? '' : 's'} on this phone.`) :
		h('p', {}, 'On your computer, run sk-phone pair, then point this phone\'s ' +
		    'camera at the QR code it shows and open the link.'),
	    d.warn ? h('p', { class: 'warning', test: 'storage-warning' }, 'The browser may ' +
		'clear this phone\'s keys: add this page to the home screen (Settings says why).') : null,
	    h('section', { class: 'panel', 'aria-labelledby': 'pairnew-h' },
		h('h2', { id: 'pairnew-h' }, comps.length > 0 ? 'Pair another computer' : 'No camera?'),
		comps.length > 0 ? h('p', { class: 'hint' }, 'Run sk-phone pair on it and scan ' +
		    'its QR code with the camera, or paste its text here.') : null,
		pairForm(app)));
}
