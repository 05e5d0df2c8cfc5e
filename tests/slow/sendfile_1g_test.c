/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A big file (KTLSIM_BIG_BYTES, default 1 GiB) sent with one blocking
 * sendfile(2) on the real-time runner (two KTLS workers, software mode)
 * for AES-256-GCM TLS 1.2 and TLS 1.3.  The wire never buffers the
 * stream: it decrypts each record with the independent oracle as soon as
 * it is whole and compares the plaintext with the file read back by
 * pread(2) at the expected offset.  Throughput is printed, not asserted.
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
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
#include "oracle.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

#define ROLL_CAP (4 * 16384 + 4096)

/* The streaming wire: a rolling buffer of at most a few records. */
struct swire {
	struct oracle *o;
	int fd; /* the file, for pread */
	uint8_t roll[ROLL_CAP];
	size_t rlen;
	uint64_t wire_bytes, plain_bytes, nrec, seq0;
	uint8_t cmp[16384 + 256];
	bool fin;
	const char *fail; /* first failure; reported by the test thread */
	char msg[256];
};

static void
swire_fail(struct swire *sw, const char *what)
{

	if (sw->fail == NULL) {
		snprintf(sw->msg, sizeof(sw->msg),
		    "%s at record %ju (plaintext offset %ju, wire %ju)", what,
		    (uintmax_t)sw->nrec, (uintmax_t)sw->plain_bytes,
		    (uintmax_t)sw->wire_bytes);
		sw->fail = sw->msg;
	}
}

static void
swire_parse(struct swire *sw)
{
	struct oracle_record rec;
	size_t pos = 0;
	int r;

	while (sw->fail == NULL) {
		r = oracle_next(sw->o, sw->roll + pos, sw->rlen - pos, &rec);
		if (r == ORACLE_INCOMPLETE)
			break;
		if (r != 0) {
			swire_fail(sw, oracle_error(sw->o));
			break;
		}
		if (rec.seqno != sw->seq0 + sw->nrec ||
		    rec.inner_type != TLS_RLTYPE_APP || rec.plen > 16384) {
			swire_fail(sw, "bad seq, type or length");
			break;
		}
		if (pread(sw->fd, sw->cmp, rec.plen, (off_t)sw->plain_bytes) !=
			(ssize_t)rec.plen ||
		    memcmp(sw->cmp, rec.plain, rec.plen) != 0) {
			swire_fail(sw, "plaintext differs from the file");
			break;
		}
		sw->plain_bytes += rec.plen;
		sw->nrec++;
		pos += rec.reclen;
	}
	memmove(sw->roll, sw->roll + pos, sw->rlen - pos);
	sw->rlen -= pos;
}

/* Called with the socket lock held, on a worker thread. */
static ssize_t
swire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct swire *sw = arg;
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left > 0) {
			size_t n = ROLL_CAP - sw->rlen;

			if (n > left)
				n = left;
			memcpy(sw->roll + sw->rlen, p, n);
			sw->rlen += n;
			p += n;
			left -= n;
			total += n;
			sw->wire_bytes += n;
			swire_parse(sw);
			if (sw->rlen == ROLL_CAP) {
				swire_fail(sw, "no whole record in 68 KiB");
				sw->rlen = 0;
			}
		}
	}
	return ((ssize_t)total);
}

static void
swire_fin(void *arg)
{
	struct swire *sw = arg;

	sw->fin = true;
}

static uint64_t
big_bytes(void)
{
	const char *e = getenv("KTLSIM_BIG_BYTES");

	return (
	    e != NULL && *e != '\0' ? strtoull(e, NULL, 0) : UINT64_C(1) << 30);
}

/* A file of n pseudo-random bytes, written in 1 MiB blocks. */
static int
big_file(uint64_t n, uint64_t seed)
{
	char path[] = "/tmp/ktlsim-big-XXXXXX";
	const size_t blk = 1 << 20;
	uint64_t *buf, x = seed | 1;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	buf = malloc(blk);
	assert_non_null(buf);
	for (uint64_t off = 0; off < n; off += blk) {
		size_t len = n - off < blk ? n - off : blk;

		for (size_t i = 0; i < blk / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		assert_int_equal(pwrite(fd, buf, len, (off_t)off),
		    (ssize_t)len);
	}
	free(buf);
	return (fd);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static int bigfd = -1;
static uint64_t bign;

static void
big_one(const char *name)
{
	const struct test_suite *s = test_suite_named(name);
	struct harness h;
	struct harness_keys k;
	struct socket *so;
	struct swire *sw;
	struct tcp_wire tw;
	double t0, t1;
	off_t sb;

	ktls_sim_async = false;
	harness_init(&h, HARNESS_RT, 42, 2);
	harness_keys(&h, s, 0x1234567890ull, &k);
	sw = calloc(1, sizeof(*sw));
	assert_non_null(sw);
	sw->fd = bigfd;
	sw->seq0 = k.seqno;
	sw->o = oracle_new(s, k.cipher_key, k.iv, k.auth_key, k.seqno);
	assert_non_null(sw->o);
	tw = (struct tcp_wire) { swire_output, swire_fin, sw };
	assert_int_equal(ksim_socket(SOCK_STREAM, &so), 0);
	assert_int_equal(ksim_connect(so, &tw, 7), 0);
	assert_int_equal(harness_enable(so, &k), 0);

	t0 = now_s();
	assert_int_equal(ksim_sendfile(so, bigfd, 0, 0, NULL, &sb, 0), 0);
	harness_run(&h);
	t1 = now_s();
	assert_int_equal((uint64_t)sb, bign);
	if (sw->fail != NULL)
		fail_msg("%s: %s", name, sw->fail);
	assert_int_equal(sw->plain_bytes, bign);
	assert_int_equal(sw->rlen, 0);
	fprintf(stderr,
	    "%s: %ju bytes, %ju records, %ju wire bytes in %.2f s: "
	    "%.1f MB/s (plaintext, oracle check included)\n",
	    name, (uintmax_t)bign, (uintmax_t)sw->nrec,
	    (uintmax_t)sw->wire_bytes, t1 - t0, bign / 1e6 / (t1 - t0));
	ksim_close(so);
	harness_run(&h);
	assert_true(sw->fin);
	harness_fini(&h);
	oracle_free(sw->o);
	free(sw);
}

static void
test_big_gcm256_tls12(void **state)
{

	(void)state;
	big_one("aes256_gcm_1_2");
}

static void
test_big_gcm256_tls13(void **state)
{

	(void)state;
	big_one("aes256_gcm_1_3");
}

static int
setup(void **state)
{
	double t0;

	(void)state;
	bign = big_bytes();
	t0 = now_s();
	bigfd = big_file(bign, 0x9e3779b97f4a7c15ull);
	fprintf(stderr, "file of %ju bytes written in %.2f s\n",
	    (uintmax_t)bign, now_s() - t0);
	return (0);
}

static int
teardown(void **state)
{

	(void)state;
	if (bigfd >= 0)
		close(bigfd);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_big_gcm256_tls12),
		harness_unit_test(test_big_gcm256_tls13),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
