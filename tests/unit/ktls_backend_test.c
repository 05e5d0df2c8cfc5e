/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The table of software crypto backends (src/opencrypto/ktls.h,
 * ktls_backends[] and ktls_try_sw() in src/kern/uipc_ktls.c): selection by
 * name, which backend takes each suite of the matrix (a suite the chosen
 * backend declines goes to the EVP backend), and that a session keeps the
 * backend it was created with when the choice changes.  Every record is
 * read back with the independent oracle.  The conformance groups run over
 * each backend as well (tests/conformance/meson.build); this checks that
 * those runs really exercise the backend they are named after.
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
#include "opencrypto/ktls.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

/* The backend that must take suite s when be is the one chosen. */
static const struct ktls_crypto_backend *
expected_backend(const struct ktls_crypto_backend *be,
    const struct test_suite *s)
{

	/* ktls_ipsecmb.c declines AES-CBC: the EVP backend takes it. */
	if (strcmp(be->kb_name, "ipsecmb") == 0 && is_cbc(s))
		return (&ktls_ocf_backend);
	return (be);
}

/*
 * The build's table holds the backends meson registered the per-backend
 * tests for (KTLSIM_BACKENDS, fastest first), EVP last; the default is
 * the first ("auto"); names select, "auto" takes the first, and a name the
 * build lacks changes nothing.
 */
static void
test_select(void **state)
{
	char list[256], *name, *last;
	const char *env;
	int n, nlisted;

	(void)state;
	env = getenv("KTLSIM_BACKENDS");
	if (env == NULL)
		fail_msg("KTLSIM_BACKENDS unset (meson sets it)");
	snprintf(list, sizeof(list), "%s", env);
	/* Before any select: the default, unless KTLSIM_BACKEND named one. */
	if (getenv("KTLSIM_BACKEND") == NULL) {
		assert_ptr_equal(ktls_backend, ktls_backends[0]);
		assert_true(strncmp(list, ktls_backend->kb_name,
				strlen(ktls_backend->kb_name)) == 0);
	}
	nlisted = 0;
	for (name = strtok_r(list, " ", &last); name != NULL;
	     name = strtok_r(NULL, " ", &last)) {
		nlisted++;
		if (ktls_backend_select(name) != 0)
			fail_msg("meson built backend %s, the table lacks it",
			    name);
		assert_string_equal(ktls_backend->kb_name, name);
	}
	for (n = 0; ktls_backends[n] != NULL; n++)
		;
	assert_int_equal(n, nlisted);
	assert_ptr_equal(ktls_backends[n - 1], &ktls_ocf_backend);

	assert_int_equal(ktls_backend_select("auto"), 0);
	assert_ptr_equal(ktls_backend, ktls_backends[0]);
	assert_int_equal(ktls_backend_select("evp"), 0);
	assert_int_equal(ktls_backend_select("ocf-evp"), ENOENT);
	assert_int_equal(ktls_backend_select(""), ENOENT);
	assert_int_equal(ktls_backend_select("ipsecmb "), ENOENT);
	assert_ptr_equal(ktls_backend, &ktls_ocf_backend);
}

/* Three records (two full, one short) of a session with suite s. */
static void
check_session(const struct ktls_crypto_backend *be, const struct test_suite *s,
    uint64_t seed)
{
	static uint8_t data[40000];
	struct harness_keys k;
	struct ktls_session *tls;
	struct harness h;
	struct socket *so;
	struct wire w;
	ssize_t n;

	harness_init(&h, HARNESS_DET, seed, 2);
	wire_init(&w);
	so = harness_socket(&h, &w, (uint32_t)seed);
	harness_keys(&h, s, seed, &k);
	test_random_printable(&h.rng, data, sizeof(data));
	ktls_backend = be;
	assert_int_equal(harness_enable(so, &k), 0);
	tls = so->so_snd.sb_tls_info;
	if (tls->be != expected_backend(be, s))
		fail_msg("%s chosen, %s: taken by %s", be->kb_name, s->name,
		    tls->be->kb_name);
	assert_int_equal(ksim_write(so, data, sizeof(data), &n), 0);
	assert_int_equal(n, sizeof(data));
	harness_run(&h);
	harness_expect_stream(&k, &w, data, sizeof(data), 3);
	ksim_close(so);
	harness_run(&h);
	harness_fini(&h);
	wire_fini(&w);
}

/* Every suite of the matrix with every backend of the build chosen. */
static void
test_suites_per_backend(void **state)
{

	(void)state;
	for (int b = 0; ktls_backends[b] != NULL; b++)
		for (int i = 0; i < test_nsuites; i++)
			check_session(ktls_backends[b], &test_suites[i],
			    100 * b + i + 1);
}

/*
 * A session keeps its backend: records written after the choice changed
 * are still encrypted (and the session freed) by the one that took it.
 */
static void
test_session_keeps_backend(void **state)
{
	static uint8_t data[20000];
	const struct ktls_crypto_backend *first, *other;
	struct harness_keys k;
	struct ktls_session *tls;
	struct harness h;
	struct socket *so;
	struct wire w;
	ssize_t n;

	(void)state;
	first = ktls_backends[0];
	other = &ktls_ocf_backend;
	if (first == other)
		skip();
	harness_init(&h, HARNESS_DET, 7, 1);
	wire_init(&w);
	so = harness_socket(&h, &w, 0);
	harness_keys(&h, test_suite_named("aes256_gcm_1_3"), 0, &k);
	test_random_printable(&h.rng, data, sizeof(data));
	ktls_backend = first;
	assert_int_equal(harness_enable(so, &k), 0);
	tls = so->so_snd.sb_tls_info;
	assert_ptr_equal(tls->be, first);
	assert_int_equal(ksim_write(so, data, 10000, &n), 0);
	harness_run(&h);
	ktls_backend = other;
	assert_int_equal(ksim_write(so, data + 10000, 10000, &n), 0);
	harness_run(&h);
	assert_ptr_equal(tls->be, first);
	harness_expect_stream(&k, &w, data, sizeof(data), 2);
	ksim_close(so);
	harness_run(&h);
	harness_fini(&h);
	wire_fini(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_select),
		harness_unit_test(test_suites_per_backend),
		harness_unit_test(test_session_keeps_backend),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
