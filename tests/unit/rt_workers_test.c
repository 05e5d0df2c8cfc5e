/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The real-time runner's pthread workers under load: several sockets on
 * different worker queues written from several threads at once, in
 * synchronous and asynchronous (per-record completion) mode, with write
 * and sendfile.  Every wire must decrypt, with the independent oracle, to
 * exactly what its writer sent.  Built into the 'tsan' suite, so the
 * ThreadSanitizer build checks the workers, task threads and socket locks.
 */

#include <sys/socket.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "oracle.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

#define NSOCK 4
#define NBYTES (300 * 1000)

struct writer {
	struct socket *so;
	struct wire wire;
	struct harness_keys keys;
	uint8_t *data;
	size_t len;
	int fd; /* sendfile source, -1 for write(2) */
	int error;
	pthread_mutex_t wire_lock;
};

/* The wire is written from worker threads; guard it for the checker. */
static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	size_t off, chunk;
	ssize_t n;
	off_t sent;

	if (w->fd >= 0) {
		w->error = ksim_sendfile(w->so, w->fd, 0, 0, NULL, &sent, 0);
		if (w->error == 0 && (size_t)sent != w->len)
			w->error = EIO;
		return (NULL);
	}
	for (off = 0; off < w->len; off += chunk) {
		chunk = 1 + (off * 7919) % 40000;
		if (chunk > w->len - off)
			chunk = w->len - off;
		w->error = ksim_write(w->so, w->data + off, chunk, &n);
		if (w->error != 0 || (size_t)n != chunk) {
			if (w->error == 0)
				w->error = EIO;
			break;
		}
	}
	return (NULL);
}

static void
run_writers(bool async, bool use_sendfile)
{
	const struct test_suite *suite;
	struct writer w[NSOCK];
	pthread_t thr[NSOCK];
	struct harness h;
	uint8_t *plain;
	size_t plen, nrec;

	ktls_sim_async = async;
	harness_init(&h, HARNESS_RT, 7, 2);
	for (int i = 0; i < NSOCK; i++) {
		/* GCM 1.2, GCM 1.3, ChaCha 1.3 and CBC 1.0 (ordered). */
		static const char *const pick[NSOCK] = { "aes128_gcm_1_2",
			"aes128_gcm_1_3", "chacha20_poly1305_1_3",
			"aes128_cbc_1_0_sha1" };

		suite = test_suite_named(pick[i]);
		wire_init(&w[i].wire);
		w[i].so = harness_socket(&h, &w[i].wire, (uint32_t)i);
		harness_keys(&h, suite, 1000 * i, &w[i].keys);
		assert_int_equal(harness_enable(w[i].so, &w[i].keys), 0);
		ksim_set_sndbuf(w[i].so, 64 * 1024, 2048);
		w[i].len = NBYTES;
		w[i].fd = -1;
		if (use_sendfile)
			w[i].fd = harness_tmpfile(&h.rng, w[i].len, &w[i].data);
		else {
			w[i].data = malloc(w[i].len);
			assert_non_null(w[i].data);
			test_rng_bytes(&h.rng, w[i].data, w[i].len);
		}
	}
	for (int i = 0; i < NSOCK; i++)
		assert_int_equal(pthread_create(&thr[i], NULL, writer_main,
				     &w[i]),
		    0);
	for (int i = 0; i < NSOCK; i++) {
		assert_int_equal(pthread_join(thr[i], NULL), 0);
		assert_int_equal(w[i].error, 0);
	}
	harness_run(&h);
	for (int i = 0; i < NSOCK; i++) {
		ksim_close(w[i].so);
		harness_run(&h);
		assert_true(w[i].wire.fin);
		harness_decrypt(&w[i].keys, &w[i].wire, &plain, &plen, &nrec,
		    NULL, NULL);
		assert_int_equal(plen, w[i].len);
		assert_memory_equal(plain, w[i].data, plen);
		assert_true(nrec >= NBYTES / 16384);
		free(plain);
		free(w[i].data);
		if (w[i].fd >= 0)
			close(w[i].fd);
		wire_fini(&w[i].wire);
	}
	harness_fini(&h);
	ktls_sim_async = false;
}

static void
test_write_sync(void **state)
{

	(void)state;
	run_writers(false, false);
}

static void
test_write_async(void **state)
{

	(void)state;
	run_writers(true, false);
}

static void
test_sendfile_sync(void **state)
{

	(void)state;
	run_writers(false, true);
}

static void
test_sendfile_async(void **state)
{

	(void)state;
	run_writers(true, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_write_sync),
		harness_unit_test(test_write_async),
		harness_unit_test(test_sendfile_sync),
		harness_unit_test(test_sendfile_async),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
