/* call: not written yet. */
extern int skp_call_placeholder_;
