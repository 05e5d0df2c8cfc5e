/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Key material is wiped before its memory is freed (src/kern/uipc_ktls.c,
 * src/opencrypto/ktls_ocf.c), as FreeBSD does: ktls_cleanup_tls_enable()
 * and ktls_copyin_tls_enable()'s error path zfree(9) the copied-in keys,
 * ktls_cleanup() (ktls_destroy() here) zfree()s the session's keys and
 * explicit_bzero(9)s the session, ktls_ocf_free() zfree()s the backend
 * session, which holds the TLS 1.0 chained IV (sys/kern/uipc_ktls.c,
 * sys/opencrypto/ktls_ocf.c).
 *
 * free() is wrapped (tests/lib/wipecheck.h): every block allocated inside
 * setsockopt(TCP_TXTLS_ENABLE) or setsockopt(TCP_TXTLS_MODE) must be all
 * zero when it is freed, and no block may be freed holding the cipher
 * key, the MAC key or a 12- or 16-byte IV.  Each case also checks that
 * the blocks it expects (the session, the backend session) went through
 * that check, and that every one of them was freed at all.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "netinet/tcp_var.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
#include "wipecheck.h"

static const struct test_suite *
suite_named(const char *name)
{
	const struct test_suite *s = test_suite_named(name);

	if (s == NULL)
		fail_msg("no suite %s", name);
	return (s);
}

/* Start a check with k's secrets as the patterns no freed block holds. */
static void
wipe_begin_keys(const struct harness_keys *k)
{
	const struct test_suite *s = k->suite;

	wipe_begin();
	wipe_pattern(k->cipher_key, s->cipher_key_len, "cipher key");
	if (s->auth_key_len > 0)
		wipe_pattern(k->auth_key, s->auth_key_len, "MAC key");
	/* A 4-byte GCM salt is too short to search for without noise. */
	if (s->iv_len >= 12)
		wipe_pattern(k->iv, s->iv_len, "IV");
}

/* End the check: no violation, every secret block freed. */
static void
wipe_end_clean(const char *what, size_t min_secret)
{
	size_t nviol;

	nviol = wipe_end();
	if (nviol != 0)
		fail_msg("%s: %zu bad frees (unwiped or overrun):\n%s", what,
		    nviol, wipe_report());
	if (wipe_nsecret() < min_secret)
		fail_msg("%s: %zu secret blocks allocated, expected %zu or "
			 "more",
		    what, wipe_nsecret(), min_secret);
	if (wipe_nsecret_freed() != wipe_nsecret())
		fail_msg("%s: %zu of %zu secret blocks freed", what,
		    wipe_nsecret_freed(), wipe_nsecret());
}

static int
enable_secret(struct socket *so, const struct harness_keys *k)
{
	int error;

	wipe_secret(true);
	error = harness_enable(so, k);
	wipe_secret(false);
	return (error);
}

/*
 * Every suite: enable, send two records and a short one, close.  The
 * session's last reference goes when the socket is freed; by then its
 * keys, the session and the backend session (for TLS 1.0: the chained IV,
 * now the last ciphertext block) must be zero.
 */
static void
test_session_free_wipes(void **state)
{
	static uint8_t data[40000];
	struct harness_keys k;
	struct ktls_session *tls;
	struct harness h;
	struct socket *so;
	struct wire w;
	ssize_t n;
	void *os;

	(void)state;
	for (int i = 0; i < test_nsuites; i++) {
		const struct test_suite *s = &test_suites[i];

		harness_init(&h, HARNESS_DET, 900 + i, 2);
		wire_init(&w);
		so = harness_socket(&h, &w, 1);
		harness_keys(&h, s, 5, &k);
		test_random_printable(&h.rng, data, sizeof(data));
		wipe_begin_keys(&k);
		assert_int_equal(enable_secret(so, &k), 0);
		tls = so->so_snd.sb_tls_info;
		assert_non_null(tls);
		os = tls->ocf_session;
		assert_non_null(os);
		assert_int_equal(ksim_write(so, data, sizeof(data), &n), 0);
		assert_int_equal(n, sizeof(data));
		harness_run(&h);
		ksim_close(so);
		harness_fini(&h);
		/* Session, cipher key, MAC key (CBC), backend, its buffer. */
		wipe_end_clean(s->name, is_cbc(s) ? 5 : 3);
		if (!wipe_freed(tls) || !wipe_freed(os))
			fail_msg("%s: session %p or backend %p not freed as "
				 "secret",
			    s->name, (void *)tls, os);

		/* The keys were the ones on the wire. */
		harness_expect_stream(&k, &w, data, sizeof(data), 3);
		wire_fini(&w);
	}
}

/*
 * TCP_TXTLS_ENABLE failing at every stage after the key copy-in: the
 * copies (and a session already made) are wiped all the same.
 */
struct enable_err {
	const char *name;
	const char *suite;
	int error;
	size_t min_secret; /* secret blocks it allocates */
};

static const struct enable_err enable_errs[] = {
	/* ktls_copyin_tls_enable(): the cipher key copied, then EFAULT. */
	{ "iv-efault", "aes128_cbc_1_0_sha1", EFAULT, 1 },
	/* ... cipher key and IV copied, then EFAULT. */
	{ "auth-efault", "aes128_cbc_1_0_sha1", EFAULT, 2 },
	/* ktls_create_session(): no such version. */
	{ "bad-version", "aes256_gcm_1_3", EINVAL, 2 },
	/* ktls_ocf_try(): AES-192; the session is made, then freed. */
	{ "aes192", "aes128_gcm_1_2", EINVAL, 4 },
	/* ktls_enable_tx(): kern.ipc.tls.cbc_enable=0. */
	{ "cbc-disabled", "aes256_cbc_1_2_sha384", ENOTSUP, 2 },
	/* ktls_enable_tx(): the socket has a session already. */
	{ "twice", "chacha20_poly1305_1_2", EALREADY, 2 },
};

static void
test_enable_errors_wipe(void **state)
{
	struct harness_keys k;
	struct tls_enable en;
	struct harness h;
	struct socket *so;
	struct wire w;
	int error;

	(void)state;
	for (size_t i = 0; i < nitems(enable_errs); i++) {
		const struct enable_err *e = &enable_errs[i];
		const struct test_suite *s = suite_named(e->suite);

		harness_init(&h, HARNESS_DET, 950 + i, 2);
		wire_init(&w);
		so = harness_socket(&h, &w, 1);
		harness_keys(&h, s, 0, &k);
		if (e->error == EALREADY)
			assert_int_equal(harness_enable(so, &k), 0);
		if (e->error == ENOTSUP)
			ktls_cbc_enable = false;

		memset(&en, 0, sizeof(en));
		en.cipher_key = k.cipher_key;
		en.cipher_key_len = s->cipher_key_len;
		en.iv = s->iv_len ? k.iv : NULL;
		en.iv_len = s->iv_len;
		en.auth_key = s->auth_key_len ? k.auth_key : NULL;
		en.auth_key_len = s->auth_key_len;
		en.auth_algorithm = s->auth_algorithm;
		en.cipher_algorithm = s->cipher_algorithm;
		en.tls_vmajor = TLS_MAJOR_VER_ONE;
		en.tls_vminor = s->tls_vminor;
		if (strcmp(e->name, "iv-efault") == 0)
			en.iv = NULL;
		else if (strcmp(e->name, "auth-efault") == 0)
			en.auth_key = NULL;
		else if (strcmp(e->name, "bad-version") == 0)
			en.tls_vminor = TLS_MINOR_VER_THREE + 1;
		else if (strcmp(e->name, "aes192") == 0)
			en.cipher_key_len = 24;

		wipe_begin_keys(&k);
		wipe_secret(true);
		error = ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE, &en,
		    sizeof(en));
		wipe_secret(false);
		ktls_cbc_enable = true;
		if (error != e->error)
			fail_msg("%s: TCP_TXTLS_ENABLE gave %d, expected %d",
			    e->name, error, e->error);
		ksim_close(so);
		harness_fini(&h);
		wire_fini(&w);
		wipe_end_clean(e->name, e->min_secret);
	}
}

/*
 * ktls_set_tx_mode() to IFNET clones the session (keys included), fails
 * with EOPNOTSUPP (the wire's interface has no TLS offload,
 * ktls_alloc_snd_tag()) and frees the clone: wiped like any session.
 */
static void
test_mode_switch_clone_wipes(void **state)
{
	static const char *names[] = { "aes128_cbc_1_0_sha1", "aes256_gcm_1_2",
		"chacha20_poly1305_1_3" };
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	int mode;

	(void)state;
	for (size_t i = 0; i < nitems(names); i++) {
		const struct test_suite *s = suite_named(names[i]);

		harness_init(&h, HARNESS_DET, 970 + i, 2);
		wire_init(&w);
		so = harness_socket(&h, &w, 1);
		harness_keys(&h, s, 0, &k);
		assert_int_equal(harness_enable(so, &k), 0);

		wipe_begin_keys(&k);
		mode = TCP_TLS_MODE_IFNET;
		wipe_secret(true);
		assert_int_equal(ksim_setsockopt(so, IPPROTO_TCP,
				     TCP_TXTLS_MODE, &mode, sizeof(mode)),
		    EOPNOTSUPP);
		wipe_secret(false);
		/* The clone and its cipher key (and MAC key) are gone. */
		wipe_end_clean(s->name, is_cbc(s) ? 3 : 2);

		ksim_close(so);
		harness_fini(&h);
		wire_fini(&w);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_session_free_wipes),
		harness_unit_test(test_enable_errors_wipe),
		harness_unit_test(test_mode_switch_clone_wipes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
