/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's hand-over of a finished libssl handshake to the simulated
 * kernel: the kernel transmit backend (tx_kern_new() in
 * sim/server/tx_kern.c) on its own, as sim_server's connection core builds
 * it, with an upcall that records nothing.  Once TCP_TXTLS_ENABLE has
 * copied the keys into the kernel (ktls_copyin_tls_enable()), the
 * connection's own copy in struct sim_keys must be wiped; and what the
 * kernel then sends through the backend must be what a libssl client
 * reads.
 */

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* First: kern_compat.h defines _KERNEL, which ktls.h's prototypes need. */
#include "sys/socketvar.h"
#include "sys/ktls.h"
#include "sim/runner/runner.h"
#include "sim/server/cert.h"
#include "sim/server/handoff.h"
#include "sim/server/ssl_tap.h"
#include "sim/server/tx.h"
#include "sim/server/tx_kern.h"

/* The backend's upcall: a send that waited may go on; nothing waits here. */
static void
ho_progress(void *arg)
{

	(void)arg;
}

static void
ho_failed(void *arg, int error)
{

	(void)arg;
	fail_msg("the wire failed: %s", strerror(error));
}

struct ho_case {
	const char *name;
	int version;
	const char *ciphers;
};

static const struct ho_case ho_cases[] = {
	{ "1.3 aes128-gcm", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256" },
	{ "1.2 chacha20", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305" },
	{ "1.2 aes256-cbc-sha384", TLS1_2_VERSION,
	    "ECDHE-ECDSA-AES256-SHA384" },
	{ "1.0 aes128-cbc-sha1", TLS1_VERSION, "ECDHE-ECDSA-AES128-SHA" },
};

static SSL_CTX *
ho_ctx(const struct ho_case *hc, bool server, EVP_PKEY *pkey, X509 *cert)
{
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	assert_non_null(ctx);
	/* TLS 1.0 needs SHA-1 signatures: security level 0. */
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, hc->version), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, hc->version), 1);
	if (hc->version == TLS1_3_VERSION)
		assert_int_equal(SSL_CTX_set_ciphersuites(ctx, hc->ciphers), 1);
	else
		assert_int_equal(SSL_CTX_set_cipher_list(ctx, hc->ciphers), 1);
	if (server) {
		assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
		assert_int_equal(sim_tap_setup_ctx(ctx, NULL), 0);
	}
	return (ctx);
}

static bool
all_zero(const uint8_t *p, size_t len)
{

	for (size_t i = 0; i < len; i++)
		if (p[i] != 0)
			return (false);
	return (true);
}

static void
test_handoff(void **state)
{
	const struct ho_case *hc = *state;
	static const char msg[] = "HTTP/1.1 200 OK\r\n\r\nfrom the kernel";
	SSL_CTX *sctx, *cctx;
	SSL *server, *client;
	BIO *c2s, *s2c;
	EVP_PKEY *pkey;
	X509 *cert;
	struct event_base *base;
	struct tx_conf conf;
	struct tx_kern *k;
	struct tx *tx;
	uint8_t buf[4096];
	char why[160], got[sizeof(msg)];
	size_t written;
	ssize_t n;
	int sv[2], rc, rs, i;

	assert_int_equal(sim_cert_make("localhost", &pkey, &cert), 0);
	sctx = ho_ctx(hc, true, pkey, cert);
	cctx = ho_ctx(hc, false, NULL, NULL);
	c2s = BIO_new(BIO_s_mem());
	s2c = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(c2s, -1);
	BIO_set_mem_eof_return(s2c, -1);
	server = SSL_new(sctx);
	client = SSL_new(cctx);
	BIO_up_ref(c2s);
	BIO_up_ref(s2c);
	SSL_set_bio(client, s2c, c2s);
	assert_int_equal(sim_tap_attach(server, c2s, s2c), 0);
	SSL_set_accept_state(server);
	SSL_set_connect_state(client);
	rc = rs = 0;
	for (i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(client);
		if (rs != 1)
			rs = SSL_do_handshake(server);
	}
	if (rc != 1 || rs != 1)
		ERR_print_errors_fp(stderr);
	assert_int_equal(rc, 1);
	assert_int_equal(rs, 1);

	/* The backend as sim_server builds it after the handshake. */
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&conf, 0, sizeof(conf));
	conf.base = base;
	conf.fd = sv[0];
	conf.ssl = server;
	conf.id = 1;
	conf.up.progress = ho_progress;
	conf.up.failed = ho_failed;
	assert_int_equal(tx_kern_init(1, NULL, why, sizeof(why)), 0);

	why[0] = '\0';
	tx = tx_kern_new(&conf, why, sizeof(why));
	if (tx == NULL)
		fail_msg("%s: tx_kern_new: %s", hc->name, why);
	k = (struct tx_kern *)tx;
	assert_non_null(k->so);
	/* The kernel has its own copies now; the connection's are gone. */
	assert_true(k->keys.en.cipher_key_len > 0);
	if (!all_zero(k->keys.cipher_key, sizeof(k->keys.cipher_key)) ||
	    !all_zero(k->keys.auth_key, sizeof(k->keys.auth_key)) ||
	    !all_zero(k->keys.iv, sizeof(k->keys.iv)))
		fail_msg("%s: the connection kept its copy of the keys",
		    hc->name);

	/* The kernel's records, read from the socket by the client. */
	written = 0;
	assert_int_equal(tx_write(tx, msg, sizeof(msg) - 1, &written), 0);
	assert_int_equal(written, sizeof(msg) - 1);
	sim_rt_quiesce(platform);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	while ((n = read(sv[1], buf, sizeof(buf))) > 0)
		assert_int_equal(BIO_write(s2c, buf, (int)n), n);
	n = SSL_read(client, got, sizeof(got));
	if (n <= 0)
		ERR_print_errors_fp(stderr);
	assert_int_equal(n, sizeof(msg) - 1);
	assert_memory_equal(got, msg, n);

	(void)tx_close(tx);
	tx_free(tx);
	tx_kern_fini();
	event_base_free(base);
	close(sv[0]);
	close(sv[1]);
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	EVP_PKEY_free(pkey);
	X509_free(cert);
}

/* After a failed case too: the next one's tx_kern_init() needs this. */
static int
ho_teardown(void **state)
{

	(void)state;
	tx_kern_fini();
	return (0);
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(ho_cases) / sizeof(ho_cases[0])];
	size_t i;

	for (i = 0; i < sizeof(ho_cases) / sizeof(ho_cases[0]); i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = ho_cases[i].name;
		tests[i].test_func = test_handoff;
		tests[i].initial_state = (void *)&ho_cases[i];
		tests[i].teardown_func = ho_teardown;
	}
	return (_cmocka_run_group_tests("ktls_handoff", tests, i, NULL, NULL));
}
