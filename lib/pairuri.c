/* pairuri: not written yet. */
extern int skp_pairuri_placeholder_;
