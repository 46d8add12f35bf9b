/* pairflow: not written yet. */
extern int skp_pairflow_placeholder_;
