/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Handing a libssl connection's transmit state to the simulated kernel.
 *
 * After a userland handshake, sim_keys_derive() builds the struct tls_enable
 * that FreeBSD applications (nginx, OpenSSL's ktls_start()) pass to
 * setsockopt(TCP_TXTLS_ENABLE): the server's write key, implicit IV or salt,
 * MAC key and the next record sequence number.  Secrets, record counts and
 * the last cipher block come from the tap (ssl_tap.h); keys are expanded
 * with OpenSSL's own KDFs ("TLS1-PRF" for TLS 1.0-1.2, "TLS13-KDF" for TLS
 * 1.3), never with a hand-written KDF.
 *
 * Usage:
 *	sim_tap_setup_ctx(ctx, keylog_fp);	once per SSL_CTX
 *	ssl = SSL_new(ctx);
 *	sim_tap_attach(ssl, rbio, wbio);	before the handshake
 *	... handshake ...
 *	sim_keys_derive(ssl, &k, why, sizeof(why));
 *	setsockopt(TCP_TXTLS_ENABLE, &k.en), then wipe k's keys
 *	sim_tap_stop_writes(ssl);		libssl must never write again
 */

#ifndef _SIM_SERVER_HANDOFF_H_
#define _SIM_SERVER_HANDOFF_H_

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "sys/ktls.h"

/* A tls_enable together with the key material its pointers refer to. */
struct sim_keys {
	struct tls_enable en; /* pointers aim into the arrays below */
	uint8_t cipher_key[32];
	uint8_t iv[16];
	uint8_t auth_key[48];
	uint64_t seqno;	     /* en.rec_seq in host order */
	const char *suite;   /* SSL_CIPHER_get_name() */
	const char *version; /* SSL_get_version() */
};

/*
 * Fill k from the finished handshake of server-side ssl (attached with
 * sim_tap_attach()).  Returns 0, or -1 with a one-line reason in why when
 * the negotiated state cannot be handed to KTLS (unsupported suite,
 * missing secret, max_fragment_length, ...).
 */
int sim_keys_derive(SSL *ssl, struct sim_keys *k, char *why, size_t whylen);

#endif /* !_SIM_SERVER_HANDOFF_H_ */
