/* keyhandle: not written yet. */
extern int skp_keyhandle_placeholder_;
