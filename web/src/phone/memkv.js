// The phone's storage for node tests: the KV of docs/web-api.md §3 (get,
// put, putMany, delete, keys; each put "durable" when it resolves) on a Map. Values
// are structured clones, as IndexedDB stores them, so that a caller that
// changes a value after put (or after get) changes nothing stored, and a
// state re-opened on the same MemKV (a "restart") sees only what was put.
// CryptoKey objects clone and stay non-extractable. PROTOCOL.md §8.7 is
// what the state keeps in it (web/src/phone/state.js).

export class MemKV {
	constructor() {
		this.map = new Map();
		// A test may make the next puts fail (a full or broken storage).
		this.failPuts = 0;
	}

	async get(key) {
		const v = this.map.get(key);
		return v === undefined ? undefined : structuredClone(v);
	}

	async put(key, value) {
		if (this.failPuts > 0) {
			this.failPuts--;
			throw new Error(this.failMessage ?? 'MemKV: put failed (a test asked for it)');
		}
		this.map.set(key, structuredClone(value));
	}

	// Several puts at once, all or none (as one IndexedDB transaction).
	async putMany(entries) {
		if (this.failPuts > 0) {
			this.failPuts--;
			throw new Error(this.failMessage ?? 'MemKV: put failed (a test asked for it)');
		}
		const copies = entries.map(([k, v]) => [k, structuredClone(v)]);
		for (const [k, v] of copies)
			this.map.set(k, v);
	}

	async delete(key) {
		this.map.delete(key);
	}

	async keys() {
		return [...this.map.keys()];
	}
}
