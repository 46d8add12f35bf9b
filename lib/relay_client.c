/* relay_client: not written yet. */
extern int skp_relay_client_placeholder_;
