// Whether the browser keeps this phone's data (issue 11, "Keys"): every
// key and all state live in IndexedDB, which a browser may clear under
// storage pressure, and Safari clears after seven days of no use for a site
// not added to the home screen. navigator.storage.persist() asks to keep
// it; when refused, the owner is told to add the page to the home screen.

export class Storage {
	constructor(manager) {
		this.manager = manager || null;
		// 'unknown', 'persisted', 'refused', 'unsupported'
		this.state = this.manager && this.manager.persist ? 'unknown' : 'unsupported';
		this.asked = null;
	}

	// Asks once (a second call waits for the same answer); again() asks anew.
	ask() {
		if (this.asked === null)
			this.asked = this.again();
		return this.asked;
	}

	async again() {
		if (this.state === 'unsupported')
			return this.state;
		try {
			if (await this.manager.persisted())
				this.state = 'persisted';
			else
				this.state = (await this.manager.persist()) ? 'persisted' : 'refused';
		} catch (e) {
			this.state = 'refused';
		}
		this.asked = Promise.resolve(this.state);
		return this.state;
	}

	// A line for people about the state, and whether it is a warning.
	describe() {
		switch (this.state) {
		case 'persisted':
			return { warn: false, text: 'Kept: the browser will not clear this phone\'s keys on its own.' };
		case 'refused':
			return { warn: true, text: 'Not kept for sure: the browser may clear this ' +
			    'phone\'s keys (Safari does after 7 days unused). Add this page to the ' +
			    'home screen (the browser\'s menu: "Add to Home Screen" or "Install"), ' +
			    'then open it from there.' };
		case 'unsupported':
			return { warn: true, text: 'This browser cannot promise to keep this phone\'s ' +
			    'keys. Add this page to the home screen and open it from there.' };
		default:
			return { warn: false, text: 'Checking…' };
		}
	}
}
