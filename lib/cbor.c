/* cbor: not written yet. */
extern int skp_cbor_placeholder_;
