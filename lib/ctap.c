/* ctap: not written yet. */
extern int skp_ctap_placeholder_;
