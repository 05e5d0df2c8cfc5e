/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * What libssl does on a connection, seen from outside it.  See ssl_tap.h.
 *
 *   - the keylog callback: this connection's secrets (the master secret,
 *     RFC 5246 section 8.1, or SERVER_TRAFFIC_SECRET_0, RFC 8446 section
 *     7.1) and its NSS key log lines;
 *   - the msg callback: the records written under the current write key
 *     (the next sequence number) and the peer's KeyUpdates;
 *   - the BIO taps: bytes read and written, the last cipher block written
 *     (the TLS 1.0 chained IV, RFC 2246 section 6.2.3.2), writes dropped
 *     after the hand-over, and a wire observer for traces.
 */

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/server/ssl_tap.h"

#define TAP_MAX_SECRET 64   /* SHA-384 traffic secret, 48-byte master */
#define TAP_MAX_KEYLOG 2048 /* TLS 1.3: five lines of up to 225 bytes */

struct tap_state {
	uint8_t master[TAP_MAX_SECRET];
	size_t masterlen;
	uint8_t sts0[TAP_MAX_SECRET]; /* SERVER_TRAFFIC_SECRET_0 */
	size_t sts0len;
	uint64_t recs; /* records written under the current key */
	uint64_t wire_bytes;
	uint64_t rx_bytes;	     /* read from the peer */
	uint8_t last[AES_BLOCK_LEN]; /* last bytes written, a ring */
	size_t lastpos;
	uint64_t lastfill;
	bool stop_writes;
	uint64_t key_updates;	   /* KeyUpdates received */
	bool key_update_requested; /* one of them had update_requested */
	/* Wire observer (traces): every byte read, every byte written. */
	sim_tap_wire_fn *wire_fn;
	void *wire_arg;
	/* This connection's NSS key log lines, for trace outputs. */
	char keylog[TAP_MAX_KEYLOG];
	size_t keyloglen;
};

static int tap_ssl_idx = -1;
static int tap_ctx_idx = -1;
static BIO_METHOD *tap_method;
static CRYPTO_ONCE tap_once = CRYPTO_ONCE_STATIC_INIT;

static void
tap_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{

	if (ptr != NULL) {
		OPENSSL_cleanse(ptr, sizeof(struct tap_state));
		free(ptr);
	}
}

/* The tap: a pass-through filter on the write side. */
static int
tap_write(BIO *b, const char *buf, int len)
{
	struct tap_state *st;
	BIO *next;
	int i, n;

	st = BIO_get_data(b);
	next = BIO_next(b);
	BIO_clear_retry_flags(b);
	if (st != NULL && st->stop_writes)
		return (len);
	if (next == NULL)
		return (0);
	n = BIO_write(next, buf, len);
	BIO_copy_next_retry(b);
	if (n > 0 && st != NULL) {
		st->wire_bytes += n;
		if (st->wire_fn != NULL)
			st->wire_fn(st->wire_arg, true, buf, (size_t)n);
		for (i = n > AES_BLOCK_LEN ? n - AES_BLOCK_LEN : 0; i < n;
		     i++) {
			st->last[st->lastpos] = buf[i];
			st->lastpos = (st->lastpos + 1) % AES_BLOCK_LEN;
			st->lastfill++;
		}
	}
	return (n);
}

static int
tap_read(BIO *b, char *buf, int len)
{
	struct tap_state *st;
	BIO *next;
	int n;

	st = BIO_get_data(b);
	next = BIO_next(b);
	BIO_clear_retry_flags(b);
	if (next == NULL)
		return (0);
	n = BIO_read(next, buf, len);
	BIO_copy_next_retry(b);
	if (n > 0 && st != NULL) {
		st->rx_bytes += n;
		if (st->wire_fn != NULL)
			st->wire_fn(st->wire_arg, false, buf, (size_t)n);
	}
	return (n);
}

static long
tap_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	BIO *next;
	long ret;

	next = BIO_next(b);
	if (next == NULL)
		return (0);
	BIO_clear_retry_flags(b);
	ret = BIO_ctrl(next, cmd, num, ptr);
	BIO_copy_next_retry(b);
	return (ret);
}

static int
tap_create(BIO *b)
{

	BIO_set_init(b, 1);
	return (1);
}

static void
tap_msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct tap_state *st;
	const uint8_t *p;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	if (st == NULL || len == 0)
		return;
	p = buf;
	if (write_p && content_type == SSL3_RT_HEADER) {
		/*
		 * RFC 5246 section 6.1: the sequence number is reset to zero
		 * whenever a ChangeCipherSpec takes effect, so the Finished
		 * record that follows it is number 0.  For TLS 1.3 the
		 * compatibility CCS (RFC 8446 appendix D.4) also lands here,
		 * but the count restarts again at SERVER_TRAFFIC_SECRET_0.
		 */
		if (p[0] == SSL3_RT_CHANGE_CIPHER_SPEC)
			st->recs = 0;
		else
			st->recs++;
	} else if (!write_p && content_type == SSL3_RT_HANDSHAKE &&
	    p[0] == SSL3_MT_KEY_UPDATE) {
		/* RFC 8446 4.6.3: msg_type, length(3), request_update. */
		st->key_updates++;
		if (len < 5 || p[4] != 0)
			st->key_update_requested = true;
	}
}

static int
unhex(const char *s, size_t slen, uint8_t *out, size_t outmax, size_t *outlen)
{
	long v;
	size_t i;
	char b[3];

	if (slen % 2 != 0 || slen / 2 > outmax)
		return (-1);
	b[2] = '\0';
	for (i = 0; i < slen / 2; i++) {
		char *end;

		b[0] = s[2 * i];
		b[1] = s[2 * i + 1];
		v = strtol(b, &end, 16);
		if (*end != '\0')
			return (-1);
		out[i] = (uint8_t)v;
	}
	*outlen = slen / 2;
	return (0);
}

/*
 * NSS key log format: "<label> <client_random hex> <secret hex>".  Only
 * secrets whose client random is this connection's are taken.
 */
static void
tap_keylog_cb(const SSL *ssl, const char *line)
{
	struct tap_state *st;
	uint8_t cr[SSL3_RANDOM_SIZE], mycr[SSL3_RANDOM_SIZE];
	const char *sp1, *sp2;
	size_t crlen, n;
	FILE *fp;

	fp = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tap_ctx_idx);
	if (fp != NULL) {
		fprintf(fp, "%s\n", line);
		fflush(fp);
	}
	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	if (st == NULL)
		return;
	n = strlen(line);
	if (st->keyloglen + n + 1 <= sizeof(st->keylog)) {
		memcpy(st->keylog + st->keyloglen, line, n);
		st->keylog[st->keyloglen + n] = '\n';
		st->keyloglen += n + 1;
	}
	sp1 = strchr(line, ' ');
	if (sp1 == NULL)
		return;
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL)
		return;
	if (unhex(sp1 + 1, sp2 - sp1 - 1, cr, sizeof(cr), &crlen) != 0 ||
	    crlen != sizeof(cr))
		return;
	SSL_get_client_random(ssl, mycr, sizeof(mycr));
	if (memcmp(cr, mycr, sizeof(cr)) != 0)
		return;
	if (strncmp(line, "CLIENT_RANDOM ", 14) == 0) {
		if (unhex(sp2 + 1, strlen(sp2 + 1), st->master,
			sizeof(st->master), &n) == 0)
			st->masterlen = n;
	} else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0) {
		if (unhex(sp2 + 1, strlen(sp2 + 1), st->sts0, sizeof(st->sts0),
			&n) == 0)
			st->sts0len = n;
		/*
		 * libssl logs this secret when it installs it as the write
		 * key, right after producing the server Finished; every
		 * record written from here on (NewSessionTickets) consumes a
		 * sequence number of the application key (RFC 8446 5.3).
		 */
		st->recs = 0;
	}
}

static void
tap_init_once(void)
{

	tap_ssl_idx =
	    SSL_get_ex_new_index(0, "sim_tap", NULL, NULL, tap_state_free);
	tap_ctx_idx =
	    SSL_CTX_get_ex_new_index(0, "sim_tap keylog fp", NULL, NULL, NULL);
	tap_method =
	    BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "sim_tap");
	if (tap_method == NULL)
		return;
	BIO_meth_set_write(tap_method, tap_write);
	BIO_meth_set_read(tap_method, tap_read);
	BIO_meth_set_ctrl(tap_method, tap_ctrl);
	BIO_meth_set_create(tap_method, tap_create);
}

int
sim_tap_setup_ctx(SSL_CTX *ctx, FILE *keylog_fp)
{

	if (!CRYPTO_THREAD_run_once(&tap_once, tap_init_once) ||
	    tap_ssl_idx < 0 || tap_ctx_idx < 0 || tap_method == NULL)
		return (-1);
	if (!SSL_CTX_set_ex_data(ctx, tap_ctx_idx, keylog_fp))
		return (-1);
	SSL_CTX_set_keylog_callback(ctx, tap_keylog_cb);
	SSL_CTX_set_msg_callback(ctx, tap_msg_cb);
	/*
	 * ktls(4) CBC is MAC-then-encrypt (RFC 5246 6.2.3.2); never agree to
	 * encrypt-then-MAC (RFC 7366).  Renegotiation would need new keys.
	 */
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_ENCRYPT_THEN_MAC | SSL_OP_NO_RENEGOTIATION);
	return (0);
}

int
sim_tap_attach(SSL *ssl, BIO *rbio, BIO *wbio)
{
	struct tap_state *st;
	BIO *tap, *rtap;

	if (tap_method == NULL)
		return (-1);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return (-1);
	tap = BIO_new(tap_method);
	rtap = BIO_new(tap_method);
	if (tap == NULL || rtap == NULL) {
		BIO_free(tap);
		BIO_free(rtap);
		free(st);
		return (-1);
	}
	if (!SSL_set_ex_data(ssl, tap_ssl_idx, st)) {
		BIO_free(tap);
		BIO_free(rtap);
		free(st);
		return (-1);
	}
	BIO_set_data(tap, st);
	BIO_push(tap, wbio);
	/* The read side only reports to the wire observer. */
	BIO_set_data(rtap, st);
	BIO_push(rtap, rbio);
	SSL_set_bio(ssl, rtap, tap);
	return (0);
}

void
sim_tap_set_wire_fn(SSL *ssl, sim_tap_wire_fn *fn, void *arg)
{
	struct tap_state *st;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	if (st != NULL) {
		st->wire_fn = fn;
		st->wire_arg = arg;
	}
}

const char *
sim_tap_keylog(const SSL *ssl, size_t *lenp)
{
	struct tap_state *st;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	*lenp = st != NULL ? st->keyloglen : 0;
	return (st != NULL ? st->keylog : NULL);
}

void
sim_tap_stop_writes(SSL *ssl)
{
	struct tap_state *st;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	if (st != NULL)
		st->stop_writes = true;
}

uint64_t
sim_tap_records_written(const SSL *ssl)
{
	struct tap_state *st;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	return (st != NULL ? st->recs : 0);
}

uint64_t
sim_tap_wire_bytes(const SSL *ssl)
{
	struct tap_state *st;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	return (st != NULL ? st->wire_bytes : 0);
}

uint64_t
sim_tap_rx_bytes(const SSL *ssl)
{
	struct tap_state *st;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	return (st != NULL ? st->rx_bytes : 0);
}

uint64_t
sim_tap_peer_key_updates(const SSL *ssl, bool *requestedp)
{
	struct tap_state *st;

	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	if (requestedp != NULL)
		*requestedp = st != NULL && st->key_update_requested;
	return (st != NULL ? st->key_updates : 0);
}

bool
sim_tap_secrets(const SSL *ssl, struct sim_tap_secrets *sec)
{
	struct tap_state *st;
	int i;

	memset(sec, 0, sizeof(*sec));
	st = SSL_get_ex_data(ssl, tap_ssl_idx);
	if (st == NULL)
		return (false);
	sec->master = st->master;
	sec->masterlen = st->masterlen;
	sec->sts0 = st->sts0;
	sec->sts0len = st->sts0len;
	sec->recs = st->recs;
	sec->have_last = st->lastfill >= AES_BLOCK_LEN;
	for (i = 0; i < AES_BLOCK_LEN; i++)
		sec->last[i] = st->last[(st->lastpos + i) % AES_BLOCK_LEN];
	return (true);
}
