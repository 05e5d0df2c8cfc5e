/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Handing a libssl connection's transmit state to the simulated kernel.
 *
 * After a userland handshake, sim_keys_derive() builds the struct tls_enable
 * that FreeBSD applications (nginx, OpenSSL's ktls_start()) pass to
 * setsockopt(TCP_TXTLS_ENABLE): the server's write key, implicit IV or salt,
 * MAC key and the next record sequence number.  Secrets come from libssl's
 * keylog callback; keys are expanded with OpenSSL's own KDFs ("TLS1-PRF" for
 * TLS 1.0-1.2, "TLS13-KDF" for TLS 1.3), never with a hand-written KDF.
 *
 * Usage:
 *	sim_keys_setup_ctx(ctx, keylog_fp);	once per SSL_CTX
 *	ssl = SSL_new(ctx);
 *	sim_keys_attach(ssl, rbio, wbio);	before the handshake
 *	... handshake ...
 *	sim_keys_derive(ssl, &k, why, sizeof(why));
 *	sim_keys_stop_writes(ssl);		libssl must never write again
 */

#ifndef _SIM_KEYS_H_
#define _SIM_KEYS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
 * Install the keylog and record-counting callbacks on ctx.  The keylog
 * lines are also appended to keylog_fp (NSS key log format, as with
 * SSLKEYLOGFILE) when it is not NULL.  Also disables what the KTLS record
 * layer cannot do: encrypt-then-MAC (RFC 7366; ktls CBC is MAC-then-encrypt)
 * and renegotiation.  Returns 0 or -1.
 */
int sim_keys_setup_ctx(SSL_CTX *ctx, FILE *keylog_fp);

/*
 * Give ssl its per-connection state and interpose taps on rbio and wbio
 * (ownership of both passes to ssl, as with SSL_set_bio(ssl, rbio, wbio)).
 * The tap remembers the last cipher block written (the TLS 1.0 chained IV,
 * RFC 2246 section 6.2.3.2) and discards writes after sim_keys_stop_writes().
 * Returns 0 or -1.
 */
int sim_keys_attach(SSL *ssl, BIO *rbio, BIO *wbio);

/*
 * Fill k from the finished handshake of server-side ssl.  Returns 0, or -1
 * with a one-line reason in why when the negotiated state cannot be handed
 * to KTLS (unsupported suite, missing secret, max_fragment_length, ...).
 */
int sim_keys_derive(SSL *ssl, struct sim_keys *k, char *why, size_t whylen);

/*
 * From now on the kernel owns the transmit direction: anything libssl tries
 * to write (alerts, KeyUpdate responses) is dropped, since it would be
 * protected with libssl's stale sequence numbers and corrupt the stream.
 */
void sim_keys_stop_writes(SSL *ssl);

/*
 * An in-memory self-signed certificate: EC P-256 key, SHA-256 signature,
 * CN and subjectAltName DNS:cn and IP:127.0.0.1, valid for a year.
 * Returns 0 or -1.
 */
int sim_keys_make_cert(const char *cn, EVP_PKEY **pkeyp, X509 **certp);

/* Records libssl wrote since the handshake finished (its application key). */
uint64_t sim_keys_records_written(const SSL *ssl);
/* Bytes that reached the write BIO below the tap. */
uint64_t sim_keys_wire_bytes(const SSL *ssl);
/* Bytes libssl read from the peer. */
uint64_t sim_keys_rx_bytes(const SSL *ssl);
/*
 * TLS 1.3 KeyUpdate messages the peer sent (RFC 8446 section 4.6.3);
 * *requestedp (may be NULL) tells whether any had update_requested set,
 * i.e. asked us to rekey our transmit direction.
 */
uint64_t sim_keys_peer_key_updates(const SSL *ssl, bool *requestedp);

/*
 * Wire observer (traces): fn sees every byte libssl reads from rbio
 * (from_server false) and writes to wbio (from_server true, up to
 * sim_keys_stop_writes()), in order.  NULL fn turns it off.
 */
typedef void sim_keys_wire_fn(void *arg, bool from_server, const void *buf,
    size_t len);
void sim_keys_set_wire_fn(SSL *ssl, sim_keys_wire_fn *fn, void *arg);

/*
 * The NSS key log lines ("LABEL client_random secret\n") libssl logged for
 * this connection so far, for a pcapng Decryption Secrets Block.
 */
const char *sim_keys_keylog(const SSL *ssl, size_t *lenp);

#endif /* !_SIM_KEYS_H_ */
