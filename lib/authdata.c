/* authdata: not written yet. */
extern int skp_authdata_placeholder_;
