/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * What libssl does on a server connection, seen from outside it: the
 * secrets it logs (keylog callback), the records it writes (msg callback),
 * the bytes it reads and writes (BIO taps).  The hand-over (handoff.h)
 * needs the first two; sim_server's deadlines, counters and traces read
 * the rest.
 */

#ifndef _SIM_SERVER_SSL_TAP_H_
#define _SIM_SERVER_SSL_TAP_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/ssl.h>

#include "sys/ktls.h"

/*
 * Install the keylog and record-counting callbacks on ctx.  The keylog
 * lines are also appended to keylog_fp (NSS key log format, as with
 * SSLKEYLOGFILE) when it is not NULL.  Also disables what the KTLS record
 * layer cannot do: encrypt-then-MAC (RFC 7366; ktls CBC is MAC-then-encrypt)
 * and renegotiation.  Returns 0 or -1.
 */
int sim_tap_setup_ctx(SSL_CTX *ctx, FILE *keylog_fp);

/*
 * Give ssl its per-connection state and interpose taps on rbio and wbio
 * (ownership of both passes to ssl, as with SSL_set_bio(ssl, rbio, wbio)).
 * The tap remembers the last cipher block written (the TLS 1.0 chained IV,
 * RFC 2246 section 6.2.3.2) and discards writes after sim_tap_stop_writes().
 * Returns 0 or -1.
 */
int sim_tap_attach(SSL *ssl, BIO *rbio, BIO *wbio);

/*
 * From now on the kernel owns the transmit direction: anything libssl tries
 * to write (alerts, KeyUpdate responses) is dropped, since it would be
 * protected with libssl's stale sequence numbers and corrupt the stream.
 */
void sim_tap_stop_writes(SSL *ssl);

/* Records libssl wrote since the handshake finished (its application key). */
uint64_t sim_tap_records_written(const SSL *ssl);
/* Bytes that reached the write BIO below the tap. */
uint64_t sim_tap_wire_bytes(const SSL *ssl);
/* Bytes libssl read from the peer. */
uint64_t sim_tap_rx_bytes(const SSL *ssl);
/*
 * TLS 1.3 KeyUpdate messages the peer sent (RFC 8446 section 4.6.3);
 * *requestedp (may be NULL) tells whether any had update_requested set,
 * i.e. asked us to rekey our transmit direction.
 */
uint64_t sim_tap_peer_key_updates(const SSL *ssl, bool *requestedp);

/*
 * Wire observer (traces): fn sees every byte libssl reads from rbio
 * (from_server false) and writes to wbio (from_server true, up to
 * sim_tap_stop_writes()), in order.  NULL fn turns it off.
 */
typedef void sim_tap_wire_fn(void *arg, bool from_server, const void *buf,
    size_t len);
void sim_tap_set_wire_fn(SSL *ssl, sim_tap_wire_fn *fn, void *arg);

/*
 * The NSS key log lines ("LABEL client_random secret\n") libssl logged for
 * this connection so far, for a pcapng Decryption Secrets Block.
 */
const char *sim_tap_keylog(const SSL *ssl, size_t *lenp);

/*
 * For the hand-over: the secrets as logged (pointers into the tap's state,
 * valid while ssl lives; the tap wipes them when ssl is freed), the records
 * written under the current write key and the last cipher block written.
 * False when ssl has no tap.
 */
struct sim_tap_secrets {
	const uint8_t *master; /* CLIENT_RANDOM: TLS 1.0-1.2 */
	size_t masterlen;
	const uint8_t *sts0; /* SERVER_TRAFFIC_SECRET_0: TLS 1.3 */
	size_t sts0len;
	uint64_t recs;
	bool have_last; /* a whole cipher block was written */
	uint8_t last[AES_BLOCK_LEN];
};
bool sim_tap_secrets(const SSL *ssl, struct sim_tap_secrets *sec);

#endif /* !_SIM_SERVER_SSL_TAP_H_ */
