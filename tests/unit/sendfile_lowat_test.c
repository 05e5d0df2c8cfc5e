/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit test for SB_AUTOLOWAT (src/kern/kern_sendfile.c, sendfile_wait()):
 * FreeBSD main's tcp_usr_attach() sets it on every TCP socket, and with it
 * sendfile_wait_generic() raises sb_lowat to max(sb_hiwat / 2, PAGE_SIZE)
 * for the rest of the socket's life.  A later write(2) then waits for that
 * much space, which under KTLS decides where its records are cut.  An
 * application that sets its own low-water mark keeps it.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "models/disk/disk.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

/*
 * On a socket with 32 KiB of send buffer and nothing leaving it: a small
 * sendfile, a 22000-byte write, then a non-blocking 20000-byte write that
 * finds between 2048 bytes (the default low-water mark) and 16 KiB of
 * space.  With the raised mark it must wait (EWOULDBLOCK, nothing
 * written); with an application's own mark of 2048 it writes what fits.
 * Afterwards everything sent decrypts in order.
 */
static void
lowat_case(bool own_lowat, uint64_t seed)
{
	const struct test_suite *s = test_suite_named("aes128_gcm_1_2");
	struct ksim_sbstat st;
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t *file, *a, *b, *plain;
	size_t plen, nrec;
	off_t sb;
	ssize_t wr, wr2;
	int fd;

	/* Each case's file may reuse the last one's inode and times. */
	disk_cache_flush();
	harness_init(&h, HARNESS_DET, seed, 1);
	wire_init(&w);
	so = harness_socket(&h, &w, 0);
	if (own_lowat)
		ksim_set_sndbuf(so, 32768, 2048);
	harness_keys(&h, s, 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	fd = harness_tmpfile(&h.rng, 100, &file);
	a = malloc(22000);
	b = malloc(20000);
	assert_non_null(a);
	assert_non_null(b);
	test_rng_bytes(&h.rng, a, 22000);
	test_rng_bytes(&h.rng, b, 20000);
	w.limit = 0;
	ksim_set_nbio(so, true);

	assert_int_equal(ksim_sendfile(so, fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, 100);
	ksim_sbstat(so, &st);
	assert_int_equal(st.hiwat, 32768);
	assert_int_equal(st.lowat, own_lowat ? 2048 : 16384);

	assert_int_equal(ksim_write(so, a, 22000, &wr), 0);
	assert_int_equal(wr, 22000);
	harness_run(&h);
	ksim_sbstat(so, &st);
	assert_true(st.hiwat - st.ccc >= 2048 && st.hiwat - st.ccc < 16384);
	wr2 = -1;
	if (own_lowat) {
		assert_int_equal(ksim_write(so, b, 20000, &wr2), 0);
		assert_true(wr2 > 0 && wr2 < 20000);
	} else {
		assert_int_equal(ksim_write(so, b, 20000, &wr2), EWOULDBLOCK);
		assert_int_equal(wr2, 0);
	}

	w.limit = SIZE_MAX;
	tcp_output_kick(so);
	harness_run(&h);
	harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(plen, 100 + 22000 + (size_t)wr2);
	assert_memory_equal(plain, file, 100);
	assert_memory_equal(plain + 100, a, 22000);
	assert_memory_equal(plain + 22100, b, (size_t)wr2);
	free(plain);
	ksim_close(so);
	harness_run(&h);
	close(fd);
	free(file);
	free(a);
	free(b);
	harness_fini(&h);
	wire_fini(&w);
}

static void
test_autolowat_default(void **state)
{

	(void)state;
	lowat_case(false, 51);
}

static void
test_autolowat_own_lowat(void **state)
{

	(void)state;
	lowat_case(true, 52);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_autolowat_default),
		cmocka_unit_test(test_autolowat_own_lowat),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
