// Reads test vectors out of docs/PROTOCOL.md, so that the tests check what
// the page says and cannot drift from it. SKP_PROTOCOL_MD (set by meson)
// names the file; else the copy in this source tree.
import { readFileSync } from 'node:fs';

export function protocolMd() {
	const path = process.env.SKP_PROTOCOL_MD ||
	    new URL('../../docs/PROTOCOL.md', import.meta.url);
	return readFileSync(path, 'utf8');
}

// The text between the first line that starts with `start` and the next
// line that starts with `end`, from `from` on.
export function between(md, start, end, from = 0) {
	const i = md.indexOf(start, from);
	if (i < 0)
		throw new Error(`PROTOCOL.md has no "${start}"`);
	const j = md.indexOf(end, i + start.length);
	if (j < 0)
		throw new Error(`PROTOCOL.md has no "${end}" after "${start}"`);
	return md.slice(i + start.length, j);
}

// "name =" lines followed by indented hex lines (possibly none): a Map of
// name -> hex string.
export function namedHex(block) {
	const out = new Map();
	let name = null;
	for (const line of block.split('\n')) {
		const m = /^(\S.*?) =\s*$/.exec(line);
		if (m) {
			name = m[1];
			out.set(name, '');
		} else if (/^\s+[0-9a-f]+\s*$/.test(line) && name !== null) {
			out.set(name, out.get(name) + line.trim());
		} else if (line.trim() !== '' && !line.startsWith('```')) {
			name = null;
		}
	}
	return out;
}
