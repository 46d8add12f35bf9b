// The web phone's storage in the browser: the KV interface of
// /work/notes/web-api.md §3 (get, put, delete, keys) over one IndexedDB
// object store. Values are structured clones, so CryptoKey objects are
// stored as they are and keep extractable=false (PROTOCOL.md §8.7 is the
// reference phone's state; the web phone's records are web/src/phone/
// state.js's). Each put resolves when its transaction completed, i.e. when
// the write is durable (durability 'strict' where the browser takes it).

const STORE = 'kv';

function done(req) {
	return new Promise((resolve, reject) => {
		req.onsuccess = () => resolve(req.result);
		req.onerror = () => reject(req.error);
	});
}

export async function openIdbKV(dbName = 'sk-phone', { indexedDB = globalThis.indexedDB } = {}) {
	if (!indexedDB)
		throw new Error('this browser has no IndexedDB: the phone cannot keep its keys');
	const open = indexedDB.open(dbName, 1);
	open.onupgradeneeded = () => open.result.createObjectStore(STORE);
	const db = await done(open);
	db.onversionchange = () => db.close();

	// A write resolves when its transaction completed (durable); a read as
	// soon as its request succeeded: the value is the transaction's, and
	// waiting for a read-only transaction's end is one more trip to the
	// browser's storage and back for nothing.
	function tx(mode, f) {
		return new Promise((resolve, reject) => {
			const t = db.transaction(STORE, mode, { durability: 'strict' });
			let result;
			const r = f(t.objectStore(STORE));
			r.onsuccess = () => {
				result = r.result;
				if (mode === 'readonly')
					resolve(result);
			};
			t.oncomplete = () => resolve(result);
			t.onerror = () => reject(t.error || r.error);
			t.onabort = () => reject(t.error || new Error('the storage transaction was aborted'));
		});
	}

	return {
		get: (key) => tx('readonly', (s) => s.get(key)),
		put: (key, value) => tx('readwrite', (s) => s.put(value, key)).then(() => undefined),
		// [[key, value], ...] in one transaction: all durable, or none.
		putMany: (entries) => tx('readwrite', (s) => entries.map(([k, v]) => s.put(v, k))
		    .at(-1)).then(() => undefined),
		delete: (key) => tx('readwrite', (s) => s.delete(key)).then(() => undefined),
		keys: async () => (await tx('readonly', (s) => s.getAllKeys())).map(String),
		close: () => db.close(),
	};
}
