/* Fixed inputs of the Noise test vector in docs/PROTOCOL.md §3. */
#ifndef SKP_TEST_NOISE_VECTOR_H
#define SKP_TEST_NOISE_VECTOR_H

/*
 * Private scalars are SHA-256("sk-phone noise vector " || name); so are
 * the psks. The same values are in the doc, in test/noise/test_interop.py
 * and behind the fuzz seeds in test/fuzz/corpus/noise/.
 */
#define NV_PHONE_STATIC \
	"1280349151e8c5dde5f9052b569690e7581cfa50ac88a2c50b06e45503268588"
#define NV_COMPUTER_STATIC \
	"2eccae02b1f96f28c3f1a970f4d56cd4e5c683658a9cc300259509763d267694"
#define NV_PHONE_EPHEMERAL \
	"09d69ffb104891dd0c97b51f2305bd534612cbe77605ecda29a70eb460dce4cc"
#define NV_COMPUTER_EPHEMERAL \
	"df3a91654abadf47e0d82dcb8ac3002d1ae5b4ccc837c744e0b552ca7dbfc831"
#define NV_PAIR_PSK \
	"df1b03d5dfec4168f753ff71ca0337a7389c8c92d733fcc2799616cbc39e5367"
#define NV_REQUEST_PSK \
	"c06d3ea34295ce59c6f9e34a3886707e93fa79d58a59f218350f67dc4934f70f"

/* Payloads, ASCII without a terminating NUL. */
#define NV_IK_PAYLOAD1	"pairing msg 1 (phone)"
#define NV_IK_PAYLOAD2	"pairing msg 2 (computer)"
#define NV_KK_PAYLOAD1	"request msg 1 (computer)"
#define NV_KK_PAYLOAD2	"request msg 2 (phone)"
/* Transport, in each direction, in this order; the last r->i is empty. */
#define NV_I2R_1	"transport 1 i->r"
#define NV_I2R_2	"transport 2 i->r"
#define NV_R2I_1	"transport 1 r->i"
#define NV_R2I_2	""

#endif
