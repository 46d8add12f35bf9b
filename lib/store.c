/* store: not written yet. */
extern int skp_store_placeholder_;
