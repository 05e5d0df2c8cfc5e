/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for the page cache of the disk model (models/disk/) as
 * sendfile(2) (src/kern/kern_sendfile.c, after FreeBSD's vn_sendfile())
 * uses it: cold and cached reads give identical bytes (with and without
 * KTLS, so encryption must never write into cached pages), a rewritten
 * file never serves stale pages, and a small cache budget bounds memory
 * while content stays correct.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "models/disk/disk.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

/*
 * sendfile [off, off+n) of fd on a fresh socket (KTLS with suite s if not
 * NULL) and return what the peer sees (decrypted), malloc'd.
 */
static uint8_t *
send_file(uint64_t seed, const struct test_suite *s, int fd, off_t off,
    size_t n, size_t *outlen)
{
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t *out;
	off_t sbytes;
	size_t nrec;

	harness_init(&h, HARNESS_DET, seed, 2);
	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	harness_sndbuf(so, 4 << 20, 2048);
	if (s != NULL) {
		harness_keys(&h, s, 0, &k);
		assert_int_equal(harness_enable(so, &k), 0);
	}
	assert_int_equal(ksim_sendfile(so, fd, off, n, NULL, &sbytes, 0), 0);
	harness_run(&h);
	assert_int_equal(sbytes, n);
	if (s != NULL) {
		harness_decrypt(&k, &w, &out, outlen, &nrec, NULL, NULL);
		assert_true(nrec >= 1);
	} else {
		out = malloc(w.len ? w.len : 1);
		assert_non_null(out);
		memcpy(out, w.buf, w.len);
		*outlen = w.len;
	}
	ksim_close(so);
	harness_fini(&h);
	wire_fini(&w);
	return (out);
}

static void
expect_file_bytes(uint64_t seed, const struct test_suite *s, int fd,
    const uint8_t *contents, off_t off, size_t n)
{
	uint8_t *got;
	size_t len;

	got = send_file(seed, s, fd, off, n, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, contents + off, n);
	free(got);
}

static void
test_cold_vs_cached(void **state)
{
	static const struct {
		off_t off;
		size_t n;
	} ranges[] = { { 0, 50000 }, { 1234, 30000 }, { 4096, 4096 },
		{ 49999, 1 }, { 8191, 16386 } };
	const struct test_suite *suites[] = { NULL,
		test_suite_named("aes128_gcm_1_2"),
		test_suite_named("aes128_cbc_1_0_sha1"),
		test_suite_named("chacha20_poly1305_1_3") };
	struct test_rng rng;
	uint8_t *contents;
	int fd;

	(void)state;
	test_rng_seed(&rng, 11);
	fd = harness_tmpfile(&rng, 50000, &contents);
	disk_profile.dp_latency_ns = 1000;
	for (size_t si = 0; si < nitems(suites); si++) {
		for (size_t r = 0; r < nitems(ranges); r++) {
			/* Cold: every page a disk read. */
			disk_cache_flush();
			expect_file_bytes(si * 100 + r, suites[si], fd,
			    contents, ranges[r].off, ranges[r].n);
			/* Cached (twice: encryption must not touch it). */
			expect_file_bytes(si * 100 + r + 50, suites[si], fd,
			    contents, ranges[r].off, ranges[r].n);
			expect_file_bytes(si * 100 + r + 70, suites[si], fd,
			    contents, ranges[r].off, ranges[r].n);
		}
		/* Whole file cached, then a partly overlapping range. */
		expect_file_bytes(si, suites[si], fd, contents, 0, 50000);
		expect_file_bytes(si + 1, suites[si], fd, contents, 3000,
		    40000);
	}
	disk_profile.dp_latency_ns = 0;
	disk_cache_flush();
	free(contents);
	close(fd);
}

static void
rewrite(int fd, struct test_rng *rng, uint8_t *contents, size_t len)
{

	test_rng_bytes(rng, contents, len);
	assert_int_equal(pwrite(fd, contents, len, 0), (ssize_t)len);
}

/* A rewritten file (new mtime) is never served from stale pages. */
static void
test_changed_file(void **state)
{
	struct test_rng rng;
	struct timespec ts[2];
	uint8_t *contents;
	int fd;

	(void)state;
	test_rng_seed(&rng, 12);
	disk_cache_flush();
	fd = harness_tmpfile(&rng, 20000, &contents);
	expect_file_bytes(1, NULL, fd, contents, 0, 20000);
	expect_file_bytes(2, test_suite_named("aes128_gcm_1_2"), fd, contents,
	    0, 20000);
	for (int gen = 0; gen < 3; gen++) {
		rewrite(fd, &rng, contents, 20000);
		/* Explicit, distinct mtime. */
		ts[0].tv_sec = ts[1].tv_sec = 1000000 + gen;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		assert_int_equal(futimens(fd, ts), 0);
		expect_file_bytes(10 + gen, NULL, fd, contents, 0, 20000);
		expect_file_bytes(20 + gen, test_suite_named("aes128_gcm_1_3"),
		    fd, contents, 100, 19000);
	}
	/* Growing the file: the new tail is served too. */
	contents = realloc(contents, 30000);
	test_rng_bytes(&rng, contents + 20000, 10000);
	assert_int_equal(pwrite(fd, contents + 20000, 10000, 20000), 10000);
	ts[0].tv_sec = ts[1].tv_sec = 2000000;
	assert_int_equal(futimens(fd, ts), 0);
	expect_file_bytes(30, NULL, fd, contents, 0, 30000);
	disk_cache_flush();
	free(contents);
	close(fd);
}

/*
 * A same-size rewrite right after a send, leaving the timestamps to the
 * kernel.  File timestamps come from a coarse clock (one jiffy on Linux),
 * so (mtime, ctime) may not change: the cache key must still not serve
 * the old pages.
 */
static void
test_changed_file_same_tick(void **state)
{
	struct test_rng rng;
	uint8_t *contents;
	int fd, stale = 0;

	(void)state;
	test_rng_seed(&rng, 13);
	disk_cache_flush();
	fd = harness_tmpfile(&rng, 8192, &contents);
	for (int i = 0; i < 20; i++) {
		uint8_t *got;
		size_t len;

		got = send_file(40 + i, NULL, fd, 0, 8192, &len);
		free(got);
		rewrite(fd, &rng, contents, 8192);
		got = send_file(60 + i, NULL, fd, 0, 8192, &len);
		assert_int_equal(len, 8192);
		if (memcmp(got, contents, 8192) != 0)
			stale++;
		free(got);
	}
	disk_cache_flush();
	free(contents);
	close(fd);
	if (stale != 0)
		fail_msg("%d of 20 same-tick rewrites served stale cached "
			 "pages (cache key is dev/ino/mtime/ctime only)",
		    stale);
}

/* A small budget bounds the pages the cache keeps; content stays right. */
static void
test_cache_budget(void **state)
{
	const size_t flen = 1 << 20; /* 256 pages */
	u_int saved = disk_profile.dp_cache_pages;
	struct test_rng rng;
	uint8_t *contents;
	int fd;

	(void)state;
	test_rng_seed(&rng, 14);
	fd = harness_tmpfile(&rng, flen, &contents);

	/* Control: the default budget caches the whole file. */
	disk_cache_flush();
	expect_file_bytes(1, NULL, fd, contents, 0, flen);
	assert_int_equal(disk_cache_resident(), flen / 4096);

	/* Budget of 4 pages. */
	disk_cache_flush();
	disk_profile.dp_cache_pages = 4;
	for (int i = 0; i < 3; i++) {
		expect_file_bytes(2 + i, NULL, fd, contents, 0, flen);
		assert_true(disk_cache_resident() <= 4);
		expect_file_bytes(10 + i, test_suite_named("aes128_gcm_1_2"),
		    fd, contents, 777 * (i + 1), flen - 777 * (i + 1) - 5);
		assert_true(disk_cache_resident() <= 4);
	}
	/* Budget 0: nothing cached, still correct. */
	disk_cache_flush();
	disk_profile.dp_cache_pages = 0;
	expect_file_bytes(20, NULL, fd, contents, 5, 100000);
	expect_file_bytes(21, NULL, fd, contents, 5, 100000);
	assert_int_equal(disk_cache_resident(), 0);

	disk_profile.dp_cache_pages = saved;
	disk_cache_flush();
	free(contents);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_cold_vs_cached),
		harness_unit_test(test_changed_file),
		harness_unit_test(test_changed_file_same_tick),
		harness_unit_test(test_cache_budget),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
