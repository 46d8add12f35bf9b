// The screens' few DOM helpers (issue 11, the web phone's page). No
// markup from strings: every text goes in through textContent, so nothing a
// computer or a host sends (names, namespaces, PROTOCOL.md §8.5's printable
// forms) can become markup. No style attributes: the relay's CSP
// (style-src 'self') allows only style.css, so looks are classes.

// h('button', { class: 'primary', test: 'pair-go', onclick }, 'Pair')
// Attributes: class, test (data-test), on* (listeners), hidden, disabled,
// dataset-like "data-x", aria-*, anything else as an attribute. Children:
// strings, nodes, arrays, null/false (skipped).
export function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'class')
			el.className = v;
		else if (k === 'test')
			el.setAttribute('data-test', v);
		else if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'value')
			el.value = v;
		else if (v === true)
			el.setAttribute(k, '');
		else
			el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : String(c));
	}
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
}

// A button that shows it is busy and cannot be tapped twice while its
// action runs; errors go to onError (the page's notices).
export function actionButton(attrs, label, action, onError) {
	const b = h('button', { type: 'button', ...attrs }, label);
	b.addEventListener('click', async () => {
		if (b.disabled)
			return;
		b.disabled = true;
		b.setAttribute('aria-busy', 'true');
		try {
			await action();
		} catch (e) {
			onError(e);
		} finally {
			b.disabled = false;
			b.removeAttribute('aria-busy');
		}
	});
	return b;
}

// A time for people: "today 14:03", "3 Dec 2026 14:03". at: unix seconds,
// a Date or milliseconds (> 1e11).
export function when(at) {
	if (at === null || at === undefined)
		return '';
	const d = new Date(ms(at));
	if (Number.isNaN(d.getTime()))
		return '';
	const hm = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
	const today = new Date();
	if (d.toDateString() === today.toDateString())
		return 'today ' + hm;
	return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short',
	    year: 'numeric' }) + ' ' + hm;
}

// "until 17:03" for a window that ends at unix seconds / ms `at`.
export function until(at) {
	const s = when(at);
	return s === '' ? '' : 'until ' + s.replace(/^today /, '');
}

// Milliseconds from a time given as unix seconds, ms, a Date or a BigInt.
export function ms(at) {
	if (at === null || at === undefined)
		return NaN;
	if (at instanceof Date)
		return at.getTime();
	if (typeof at === 'bigint')
		return Number(at) * 1000;
	return at > 1e11 ? at : at * 1000;
}

// A message for people from whatever was thrown.
export function errorText(e) {
	if (e === null || e === undefined)
		return 'something went wrong';
	if (typeof e === 'string')
		return e;
	return e.message || String(e);
}
