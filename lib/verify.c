/* verify: not written yet. */
extern int skp_verify_placeholder_;
