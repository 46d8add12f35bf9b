/* noise: not written yet. */
extern int skp_noise_placeholder_;
