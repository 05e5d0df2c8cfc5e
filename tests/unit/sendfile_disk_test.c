/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sendfile(2) over the disk model's profiles (models/disk/disk.h), end to
 * end: with reads held back (reorder) or jittered, disk completions reach
 * sendfile_iodone() out of issue order, yet the wire carries the same
 * records (sequence number, type, length, plaintext) as with an in-order
 * disk, and the plaintext is the file's, as the independent oracle
 * (tests/lib/oracle.c) decrypts it.  Also: a read's latency is virtual
 * time on the deterministic runner, and jitter varies it with the seed.
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
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "models/disk/disk.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

#define MS UINT64_C(1000000)
#define FLEN 300000 /* 74 pages */
#define NSENDS 12   /* sendfile() calls of FLEN / NSENDS bytes */
#define MAXRECS 256

/* A cold cache, and reads in issue order (the reference). */
static const struct disk_profile in_order = {
	.dp_latency_ns = 100000,
};
/* Half the reads held back by a millisecond. */
static const struct disk_profile reorder = {
	.dp_latency_ns = 100000,
	.dp_reorder_pct = 50,
	.dp_reorder_ns = 1 * MS,
};
/* Jitter and reorder for the real-time runner. */
static const struct disk_profile reorder_rt = {
	.dp_jitter_ns = 300000,
	.dp_reorder_pct = 50,
	.dp_reorder_ns = 2 * MS,
};

struct rec {
	uint64_t seqno;
	uint8_t type;
	size_t plen;
};

struct reclog {
	struct rec r[MAXRECS];
	size_t n;
};

static int
log_record(void *arg, const struct oracle_record *rec)
{
	struct reclog *log = arg;

	assert_true(log->n < MAXRECS);
	log->r[log->n].seqno = rec->seqno;
	log->r[log->n].type = rec->inner_type;
	log->r[log->n].plen = rec->plen;
	log->n++;
	return (0);
}

static uint64_t
overtaken(void)
{
	struct disk_counters ds;

	disk_counters_get(&ds);
	return (ds.disk_overtaken);
}

/*
 * Send fd in NSENDS sendfile() calls on one socket whose buffer holds it
 * all, so that each call is one pass with one read and every read is
 * pending before the runner runs any; then run, decrypt and log the
 * records.  Returns the reads that completed before an earlier one.
 */
static uint64_t
send_chunks(const struct test_suite *s, enum harness_runner runner,
    uint64_t seed, const struct disk_profile *dp, int fd,
    const uint8_t *contents, struct reclog *log)
{
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t *plain;
	size_t plen, nrec;
	uint64_t ov0;
	off_t off, sbytes;
	size_t n;

	disk_cache_flush();
	disk_profile = *dp;
	harness_init(&h, runner, seed, 2);
	if (runner == HARNESS_DET)
		sim_det_set_policy(h.pl, SIM_DET_FIFO);
	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	harness_sndbuf(so, 4 << 20, 2048);
	harness_keys(&h, s, 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	ov0 = overtaken();
	for (off = 0; off < FLEN; off += n) {
		n = FLEN / NSENDS;
		if (off + n > FLEN || FLEN - (off + n) < n)
			n = FLEN - off;
		assert_int_equal(ksim_sendfile(so, fd, off, n, NULL, &sbytes,
				     0),
		    0);
		assert_int_equal(sbytes, n);
	}
	harness_run(&h);
	memset(log, 0, sizeof(*log));
	harness_decrypt(&k, &w, &plain, &plen, &nrec, log_record, log);
	assert_int_equal(plen, FLEN);
	assert_memory_equal(plain, contents, FLEN);
	assert_int_equal(nrec, log->n);
	free(plain);
	ksim_close(so);
	harness_fini(&h);
	wire_fini(&w);
	return (overtaken() - ov0);
}

static void
assert_same_records(const struct reclog *a, const struct reclog *b)
{

	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->r[i].seqno, b->r[i].seqno);
		assert_int_equal(a->r[i].type, b->r[i].type);
		assert_int_equal(a->r[i].plen, b->r[i].plen);
	}
}

/*
 * Deterministic runner, FIFO policy: an in-order disk completes reads in
 * issue order; the reorder profile makes later reads overtake earlier
 * ones, and the records stay the same.  TLS 1.0 CBC chains its IVs from
 * record to record, so its records must still be encrypted in order.
 */
static void
test_reorder_det(void **state)
{
	static const char *suites[] = { "aes128_gcm_1_2", "aes256_gcm_1_3",
		"aes128_cbc_1_0_sha1", "chacha20_poly1305_1_2" };
	static struct reclog ref, got;
	struct test_rng rng;
	uint8_t *contents;
	uint64_t ov;
	int fd;

	(void)state;
	test_rng_seed(&rng, 21);
	fd = harness_tmpfile(&rng, FLEN, &contents);
	for (size_t si = 0; si < nitems(suites); si++) {
		const struct test_suite *s = test_suite_named(suites[si]);

		for (int async = 0; async < 2; async++) {
			ktls_sim_async = async;
			ov = 0;
			for (uint64_t seed = 1; seed <= 3; seed++) {
				assert_int_equal(send_chunks(s, HARNESS_DET,
						     seed, &in_order, fd,
						     contents, &ref),
				    0);
				ov += send_chunks(s, HARNESS_DET, seed,
				    &reorder, fd, contents, &got);
				assert_same_records(&ref, &got);
			}
			if (ov == 0)
				fail_msg("%s: no read overtaken", s->name);
		}
	}
	ktls_sim_async = false;
	disk_cache_flush();
	free(contents);
	close(fd);
}

/*
 * One pass over a file whose even pages are cached: a read per odd page,
 * all issued at once, completing in any order.
 */
static void
test_reorder_one_pass(void **state)
{
	const struct test_suite *s = test_suite_named("aes128_gcm_1_2");
	struct disk_counters d0, d1;
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct test_rng rng;
	struct wire w;
	uint8_t *contents, *plain;
	size_t plen, nrec;
	off_t sbytes;
	int fd, npages;

	(void)state;
	npages = howmany(FLEN, PAGE_SIZE);
	test_rng_seed(&rng, 22);
	fd = harness_tmpfile(&rng, FLEN, &contents);
	disk_cache_flush();
	disk_profile = reorder;
	disk_profile.dp_cache_pages = disk_profile_default.dp_cache_pages;
	harness_init(&h, HARNESS_DET, 5, 1);
	sim_det_set_policy(h.pl, SIM_DET_FIFO);
	wire_init(&w);
	so = harness_socket(&h, &w, 0);
	harness_sndbuf(so, 4 << 20, 2048);
	for (int i = 0; i < npages; i += 2) {
		assert_int_equal(ksim_sendfile(so, fd, (off_t)i * PAGE_SIZE, 1,
				     NULL, &sbytes, 0),
		    0);
		harness_run(&h);
	}
	ksim_close(so);
	harness_run(&h);
	wire_fini(&w);

	wire_init(&w);
	so = harness_socket(&h, &w, 0);
	harness_sndbuf(so, 4 << 20, 2048);
	harness_keys(&h, s, 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	disk_counters_get(&d0);
	assert_int_equal(ksim_sendfile(so, fd, 0, 0, NULL, &sbytes, 0), 0);
	assert_int_equal(sbytes, FLEN);
	harness_run(&h);
	disk_counters_get(&d1);
	assert_int_equal(d1.v_vnodein - d0.v_vnodein, npages / 2);
	assert_true(d1.disk_overtaken > d0.disk_overtaken);
	harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(plen, FLEN);
	assert_memory_equal(plain, contents, FLEN);
	free(plain);
	ksim_close(so);
	harness_fini(&h);
	wire_fini(&w);
	disk_cache_flush();
	free(contents);
	close(fd);
}

/* The real-time runner with jitter and reorder: the same records. */
static void
test_reorder_rt(void **state)
{
	static struct reclog ref, got;
	const struct test_suite *s = test_suite_named("aes256_gcm_1_2");
	struct test_rng rng;
	uint8_t *contents;
	uint64_t ov;
	int fd;

	(void)state;
	test_rng_seed(&rng, 23);
	fd = harness_tmpfile(&rng, FLEN, &contents);
	(void)send_chunks(s, HARNESS_DET, 1, &in_order, fd, contents, &ref);
	ov = 0;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		ov += send_chunks(s, HARNESS_RT, seed, &reorder_rt, fd,
		    contents, &got);
		assert_same_records(&ref, &got);
	}
	/*
	 * The reads are issued microseconds apart and half are held back
	 * by 2 ms: only a stall of the sending thread longer than that
	 * after every held read could keep them all in order.
	 */
	assert_true(ov > 0);
	disk_cache_flush();
	free(contents);
	close(fd);
}

/*
 * A cold read of one page completes at latency + jitter in virtual time
 * (nothing else waits), and the jitter differs between seeds.
 */
static void
test_latency_virtual_time(void **state)
{
	struct harness h;
	struct socket *so;
	struct test_rng rng;
	struct wire w;
	uint64_t now, first;
	off_t sbytes;
	bool varied;
	int fd;

	(void)state;
	test_rng_seed(&rng, 24);
	fd = harness_tmpfile(&rng, 1000, NULL);
	varied = false;
	first = 0;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		disk_cache_flush();
		disk_profile.dp_latency_ns = 3 * MS;
		disk_profile.dp_jitter_ns = 1 * MS;
		harness_init(&h, HARNESS_DET, seed, 1);
		wire_init(&w);
		so = harness_socket(&h, &w, 0);
		assert_int_equal(ksim_sendfile(so, fd, 0, 0, NULL, &sbytes, 0),
		    0);
		assert_int_equal(sim_now(), 0);
		harness_run(&h);
		now = sim_now();
		assert_true(now >= 3 * MS && now <= 4 * MS);
		assert_int_equal(w.len, 1000);
		if (seed == 1)
			first = now;
		else if (now != first)
			varied = true;
		ksim_close(so);
		harness_fini(&h);
		wire_fini(&w);
	}
	assert_true(varied);
	disk_cache_flush();
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_reorder_det),
		harness_unit_test(test_reorder_one_pass),
		harness_unit_test(test_reorder_rt),
		harness_unit_test(test_latency_virtual_time),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
