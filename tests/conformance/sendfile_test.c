/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group D: sendfile(2) on a KTLS socket (docs/conformance.md,
 * "D. Sendfile": SF-01..SF-10, NR-04, sf_hdtr headers and trailers, and
 * record geometry against models/golden).
 *
 * Every case runs over every suite of tests/lib/suites.h and over a matrix
 * of modes: deterministic runner (several seeds) or real-time runner,
 * synchronous or asynchronous (ktls_sim_async) encryption, warm page cache
 * (the file is read once beforehand so no disk I/O happens) or cold (cache
 * disabled: every page is a disk read, completing in random order).  What
 * reaches the wire is checked with the independent oracle only.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_common.h"
#include "golden.h"
#include "ksim_harness.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

#define KiB 1024
#define MiB (1024 * 1024)

/* Seeds of the deterministic runner per mode for ordering-heavy cases. */
#define NSEEDS_ORDER 32

struct mode {
	enum harness_runner runner;
	bool async;
	bool cold;
};

static const struct mode all_modes[] = {
	{ HARNESS_DET, false, false },
	{ HARNESS_DET, false, true },
	{ HARNESS_DET, true, false },
	{ HARNESS_DET, true, true },
	{ HARNESS_RT, false, false },
	{ HARNESS_RT, false, true },
	{ HARNESS_RT, true, false },
	{ HARNESS_RT, true, true },
};
#define NALL_MODES ((int)(sizeof(all_modes) / sizeof(all_modes[0])))

/* The modes of this run: those whose runner conf_runner_on() keeps. */
static struct mode modes[NALL_MODES];
static int nmodes;

/* Seeds per mode for ordering-heavy cases: most where reads reorder. */
static int
order_nseeds(const struct mode *m)
{

	return (m->runner == HARNESS_DET ? (m->cold ? NSEEDS_ORDER : 4) : 2);
}

static const char *
mode_name(const struct mode *m)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s/%s/%s",
	    m->runner == HARNESS_DET ? "det" : "rt",
	    m->async ? "async" : "sync", m->cold ? "cold" : "warm");
	return (buf);
}

/*
 * The wire: the harness's in-memory sink plus a hook that runs inside
 * tcp_output() (socket lock held: the hook may only touch the file).
 */
struct twire {
	struct wire w;
	void (*hook)(struct twire *);
	int fd;
	off_t arg;
	bool fired;
};

static ssize_t
twire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct twire *tw = arg;
	size_t total;

	total = wire_append(&tw->w, iov, iovcnt);
	if (total > 0 && tw->hook != NULL && !tw->fired) {
		tw->fired = true;
		tw->hook(tw);
	}
	return ((ssize_t)total);
}

static void
twire_fin(void *arg)
{
	struct twire *tw = arg;

	tw->w.fin = true;
}

struct tenv {
	struct harness h;
	struct twire tw;
	struct socket *so;
	struct harness_keys k;
	const struct test_suite *s;
	struct mode m;
	uint64_t seed;
	int fd;	       /* the case's file (tenv_open_file()), or -1 */
	uint8_t *data; /* its contents */
};

static size_t nruns; /* instances run, reported at the end */

static void
tenv_open(struct tenv *t, const struct test_suite *s, const struct mode *m,
    uint64_t seed)
{
	struct tcp_wire tcpw = { twire_output, twire_fin, &t->tw };
	uint64_t seqno;

	memset(t, 0, sizeof(*t));
	t->s = s;
	t->m = *m;
	t->seed = seed;
	t->fd = -1;
	conf_sf_mode(m->async, m->cold);
	harness_init(&t->h, m->runner, seed, 2);
	wire_init(&t->tw.w);
	t->tw.fd = -1;
	t->so = harness_connect(&tcpw, (uint32_t)seed);
	/* Random initial seqno, including the 32-bit carry region. */
	seqno = test_rng_u64(&t->h.rng);
	if (seed % 3 == 0)
		seqno = 0xfffffff0ull + (seqno % 32);
	harness_keys(&t->h, s, seqno, &t->k);
	assert_int_equal(harness_enable(t->so, &t->k), 0);
}

/*
 * Close, let everything finish, check the FIN came, tear down (the case's
 * file too) and count the instance.
 */
static void
tenv_close(struct tenv *t)
{

	harness_run(&t->h);
	ksim_close(t->so);
	harness_run(&t->h);
	assert_true(t->tw.w.fin);
	harness_fini(&t->h);
	wire_fini(&t->tw.w);
	conf_sf_reset();
	if (t->fd >= 0)
		close(t->fd);
	free(t->data);
	nruns++;
}

/* Warm the page cache with the file: a plain (non-TLS) sendfile. */
static void
prewarm(struct tenv *t, int fd)
{
	struct twire tw;
	struct tcp_wire tcpw = { twire_output, twire_fin, &tw };
	struct socket *so;
	struct stat st;
	off_t sb;

	if (t->m.cold)
		return;
	assert_int_equal(fstat(fd, &st), 0);
	memset(&tw, 0, sizeof(tw));
	wire_init(&tw.w);
	so = harness_connect(&tcpw, 1);
	harness_sndbuf(so, 64 * MiB, 2048);
	assert_int_equal(ksim_sendfile(so, fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, st.st_size);
	harness_run(&t->h);
	ksim_close(so);
	harness_run(&t->h);
	assert_int_equal(tw.w.len, (size_t)st.st_size);
	wire_fini(&tw.w);
}

/* Records seen by the oracle. */
struct recs {
	size_t n, cap;
	size_t *plen, *reclen;
	uint8_t *type;
	uint64_t *seq;
};

static int
recs_cb(void *arg, const struct oracle_record *rec)
{
	struct recs *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->plen = realloc(r->plen, r->cap * sizeof(*r->plen));
		r->reclen = realloc(r->reclen, r->cap * sizeof(*r->reclen));
		r->type = realloc(r->type, r->cap);
		r->seq = realloc(r->seq, r->cap * sizeof(*r->seq));
		if (!r->plen || !r->reclen || !r->type || !r->seq)
			abort();
	}
	r->plen[r->n] = rec->plen;
	r->reclen[r->n] = rec->reclen;
	r->type[r->n] = rec->inner_type;
	r->seq[r->n] = rec->seqno;
	r->n++;
	return (0);
}

static void
recs_free(struct recs *r)
{

	free(r->plen);
	free(r->reclen);
	free(r->type);
	free(r->seq);
	memset(r, 0, sizeof(*r));
}

/*
 * Decrypt the whole wire: it must be exactly exp (whole records only),
 * every record application data, sequence numbers continuous from the
 * configured one.  r (optional) receives the records.
 */
static void
verify(struct tenv *t, const uint8_t *exp, size_t explen, struct recs *out)
{
	struct recs r;
	uint8_t *plain;
	size_t plen, nrec;

	memset(&r, 0, sizeof(r));
	harness_decrypt(&t->k, &t->tw.w, &plain, &plen, &nrec, recs_cb, &r);
	if (plen != explen)
		fail_msg("%s %s seed %ju: %zu plaintext bytes, want %zu",
		    t->s->name, mode_name(&t->m), (uintmax_t)t->seed, plen,
		    explen);
	if (explen > 0 && memcmp(plain, exp, explen) != 0) {
		size_t i;

		for (i = 0; i < explen && plain[i] == exp[i]; i++)
			;
		fail_msg("%s %s seed %ju: plaintext differs at byte %zu",
		    t->s->name, mode_name(&t->m), (uintmax_t)t->seed, i);
	}
	assert_int_equal(r.n, nrec);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seq[i], t->k.seqno + i);
		assert_int_equal(r.type[i], TLS_RLTYPE_APP);
		assert_true(r.plen[i] <= 16384);
	}
	free(plain);
	if (out != NULL)
		*out = r;
	else
		recs_free(&r);
}

/* Append bytes to a growing expected-stream buffer. */
struct ebuf {
	uint8_t *p;
	size_t len;
};

static void
ebuf_add(struct ebuf *e, const void *p, size_t len)
{

	e->p = realloc(e->p, e->len + len + 1);
	assert_non_null(e->p);
	memcpy(e->p + e->len, p, len);
	e->len += len;
}

static int
mkfile(struct tenv *t, size_t len, uint8_t **contents)
{

	return (harness_tmpfile(&t->h.rng, len, contents));
}

/*
 * The opening of most cases: tenv_open(), a file of len random bytes in
 * t->fd and t->data, read into the page cache unless the mode is cold.
 */
static void
tenv_open_file(struct tenv *t, const struct test_suite *s, const struct mode *m,
    uint64_t seed, size_t len)
{

	tenv_open(t, s, m, seed);
	t->fd = mkfile(t, len, &t->data);
	prewarm(t, t->fd);
}

/* verify() against the expected stream e, which it frees. */
static void
verify_ebuf(struct tenv *t, struct ebuf *e)
{

	verify(t, e->p, e->len, NULL);
	free(e->p);
	e->p = NULL;
}

/*
 * SF-01: the whole file, many sizes, every suite, every mode.
 */
static void
sf01_one(const struct test_suite *s, const struct mode *m, uint64_t seed,
    size_t size)
{
	struct tenv t;
	off_t sb;

	tenv_open_file(&t, s, m, seed, size);
	assert_int_equal(ksim_sendfile(t.so, t.fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, (off_t)size);
	harness_run(&t.h);
	verify(&t, t.data, size, NULL);
	tenv_close(&t);
}

static void
test_sf01_whole_file(void **state)
{
	static const size_t sizes[] = { 1, 4095, 4096, 4097, 16383, 16384,
		16385, 100000, MiB };

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++)
			for (size_t zi = 0;
			     zi < sizeof(sizes) / sizeof(sizes[0]); zi++) {
				int nseeds = modes[mi].runner == HARNESS_DET &&
					sizes[zi] <= 100000 ?
				    2 :
				    1;

				for (int seed = 0; seed < nseeds; seed++)
					sf01_one(&test_suites[si], &modes[mi],
					    1000 + seed * 7919 + zi * 131 + si,
					    sizes[zi]);
			}
}

/*
 * SF-02: write, sendfile, write on one socket: order kept, seqs continue.
 */
static void
sf02_one(const struct test_suite *s, const struct mode *m, uint64_t seed)
{
	struct tenv t;
	struct ebuf e = { 0 };
	uint8_t a[5000], b[3000];
	ssize_t wr;
	off_t sb;
	const size_t fsz = 40000;

	tenv_open_file(&t, s, m, seed, fsz);
	test_rng_bytes(&t.h.rng, a, sizeof(a));
	test_rng_bytes(&t.h.rng, b, sizeof(b));
	assert_int_equal(ksim_write(t.so, a, sizeof(a), &wr), 0);
	assert_int_equal(wr, sizeof(a));
	assert_int_equal(ksim_sendfile(t.so, t.fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, (off_t)fsz);
	assert_int_equal(ksim_write(t.so, b, sizeof(b), &wr), 0);
	assert_int_equal(wr, sizeof(b));
	harness_run(&t.h);
	ebuf_add(&e, a, sizeof(a));
	ebuf_add(&e, t.data, fsz);
	ebuf_add(&e, b, sizeof(b));
	verify_ebuf(&t, &e);
	tenv_close(&t);
}

static void
test_sf02_write_sendfile_write(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++) {
			int nseeds = order_nseeds(&modes[mi]);

			for (int seed = 0; seed < nseeds; seed++)
				sf02_one(&test_suites[si], &modes[mi],
				    2000 + seed * 104729 + si);
		}
}

/*
 * SF-03: Linux's multi_chunk_sendfile: a file of chunk + extra bytes sent
 * with sendfile(off, chunk) until done.
 */
static const size_t sf03_pairs[19][2] = {
	{ 4096, 4096 },
	{ 4096, 0 },
	{ 4096, 1 },
	{ 4096, 2048 },
	{ 8192, 2048 },
	{ 4096, 8192 },
	{ 8192, 4096 },
	{ 12288, 1024 },
	{ 12288, 2000 },
	{ 15360, 100 },
	{ 15360, 300 },
	{ 1, 4096 },
	{ 2048, 4096 },
	{ 2048, 8192 },
	{ 4096, 8192 },
	{ 1024, 12288 },
	{ 2000, 12288 },
	{ 100, 15360 },
	{ 300, 15360 },
};

static void
sf03_one(const struct test_suite *s, const struct mode *m, uint64_t seed,
    size_t chunk, size_t extra)
{
	struct tenv t;
	size_t total = chunk + extra;
	off_t off, sb;

	tenv_open_file(&t, s, m, seed, total);
	for (off = 0; off < (off_t)total;) {
		size_t want = total - off < chunk ? total - off : chunk;

		assert_int_equal(ksim_sendfile(t.so, t.fd, off, chunk, NULL,
				     &sb, 0),
		    0);
		assert_int_equal(sb, (off_t)want);
		off += sb;
	}
	assert_int_equal(off, (off_t)total);
	harness_run(&t.h);
	verify(&t, t.data, total, NULL);
	tenv_close(&t);
}

static void
test_sf03_multi_chunk(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++)
			for (int pi = 0; pi < 19; pi++)
				sf03_one(&test_suites[si], &modes[mi],
				    3000 + pi * 31 + si * 977 + mi,
				    sf03_pairs[pi][0], sf03_pairs[pi][1]);
}

/*
 * SF-05: random (offset, size) over a 2 MiB file: count == min(size,
 * EOF - offset); content exact.
 */
static void
test_sf05_random_ranges(void **state)
{
	const size_t fsz = 2 * MiB;

	(void)state;
	for (int si = 0; si < test_nsuites; si++) {
		struct test_rng rng;
		uint8_t *data;
		int fd;

		test_rng_seed(&rng, 5000 + si);
		fd = harness_tmpfile(&rng, fsz, &data);
		for (int i = 0; i < 10; i++) {
			const struct mode *m = &modes[(i + si) % nmodes];
			struct tenv t;
			off_t off, sb, want;
			size_t size;

			off = test_rng_u64(&rng) % (fsz + 8192);
			size =
			    1 + test_rng_u64(&rng) % (i < 5 ? 64 * KiB : fsz);
			want = off >= (off_t)fsz ?
			    0 :
			    ((off_t)size < (off_t)fsz - off ? (off_t)size :
							      (off_t)fsz - off);
			tenv_open(&t, &test_suites[si], m, 5000 + si * 10 + i);
			prewarm(&t, fd);
			assert_int_equal(ksim_sendfile(t.so, fd, off, size,
					     NULL, &sb, 0),
			    0);
			if (sb != want)
				fail_msg("%s %s: off %jd size %zu: sent %jd "
					 "want %jd",
				    t.s->name, mode_name(m), (intmax_t)off,
				    size, (intmax_t)sb, (intmax_t)want);
			harness_run(&t.h);
			verify(&t, data + (want ? off : 0), (size_t)want, NULL);
			tenv_close(&t);
		}
		close(fd);
		free(data);
	}
}

/*
 * SF-06: offset at or past EOF: success, 0 bytes, nothing on the wire.
 * SF-07: nbytes 0 from EOF - 100 sends the last 100 bytes.
 */
static void
test_sf06_sf07_eof(void **state)
{
	static const off_t past[] = { 0, 1, 4096, 1000000 };
	const size_t fsz = 50000;

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++) {
			struct tenv t;
			off_t sb;

			tenv_open_file(&t, &test_suites[si], &modes[mi],
			    6000 + si, fsz);
			for (size_t i = 0; i < sizeof(past) / sizeof(past[0]);
			     i++) {
				sb = -1;
				assert_int_equal(ksim_sendfile(t.so, t.fd,
						     (off_t)fsz + past[i],
						     i % 2 ? 0 : 1000, NULL,
						     &sb, 0),
				    0);
				assert_int_equal(sb, 0);
			}
			harness_run(&t.h);
			assert_int_equal(t.tw.w.len, 0);
			/* SF-07 on the same socket: the first record. */
			assert_int_equal(ksim_sendfile(t.so, t.fd, fsz - 100, 0,
					     NULL, &sb, 0),
			    0);
			assert_int_equal(sb, 100);
			/* nbytes beyond EOF is a short count, no error. */
			assert_int_equal(ksim_sendfile(t.so, t.fd, fsz - 50,
					     100000, NULL, &sb, 0),
			    0);
			assert_int_equal(sb, 50);
			harness_run(&t.h);
			struct ebuf e = { 0 };
			ebuf_add(&e, t.data + fsz - 100, 100);
			ebuf_add(&e, t.data + fsz - 50, 50);
			verify_ebuf(&t, &e);
			tenv_close(&t);
		}
}

/*
 * SF-08: non-blocking into a full socket.  The wire accepts nothing, so
 * the send buffer fills: the first call queues a partial count and says
 * EAGAIN, the second says EAGAIN with 0.  A short count at EOF returns 0.
 * Once the wire drains, the rest goes out and the stream is exact.
 */
static void
sf08_one(const struct test_suite *s, const struct mode *m, uint64_t seed)
{
	struct tenv t;
	const size_t fsz = 200000;
	off_t sb, off;
	int error;

	tenv_open_file(&t, s, m, seed, fsz);
	t.tw.w.limit = 0;
	ksim_set_nbio(t.so, true);
	error = ksim_sendfile(t.so, t.fd, 0, 0, NULL, &sb, 0);
	assert_int_equal(error, EAGAIN);
	assert_true(sb > 0 && sb < (off_t)fsz);
	off = sb;
	harness_run(&t.h);
	error = ksim_sendfile(t.so, t.fd, off, 0, NULL, &sb, 0);
	assert_int_equal(error, EAGAIN);
	assert_int_equal(sb, 0);
	/* Drain and finish with a non-blocking loop. */
	t.tw.w.limit = SIZE_MAX;
	tcp_output_kick(t.so);
	while (off < (off_t)fsz) {
		harness_run(&t.h);
		tcp_output_kick(t.so);
		error = ksim_sendfile(t.so, t.fd, off, 0, NULL, &sb, 0);
		assert_true(error == 0 || error == EAGAIN);
		if (error == 0)
			assert_int_equal(off + sb, (off_t)fsz);
		off += sb;
	}
	/* At EOF: a short count, error 0 (not EAGAIN). */
	error = ksim_sendfile(t.so, t.fd, fsz - 10, 1000, NULL, &sb, 0);
	harness_run(&t.h);
	tcp_output_kick(t.so);
	assert_int_equal(error, 0);
	assert_int_equal(sb, 10);
	harness_run(&t.h);
	struct ebuf e = { 0 };
	ebuf_add(&e, t.data, fsz);
	ebuf_add(&e, t.data + fsz - 10, 10);
	verify_ebuf(&t, &e);
	tenv_close(&t);
}

static void
test_sf08_nonblocking_full(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++) {
			int nseeds = modes[mi].runner == HARNESS_DET ? 4 : 1;

			for (int seed = 0; seed < nseeds; seed++)
				sf08_one(&test_suites[si], &modes[mi],
				    8000 + seed * 37 + si);
		}
}

/*
 * SF-09 / SF-10: the file shrinks or grows while a blocking sendfile is
 * waiting for socket space.  The wire's output hook (run inside
 * tcp_output(), i.e. while sendfile has already queued the first socket
 * buffer's worth and waits for the rest) truncates or extends the file.
 * Delivered == reported == the new size; nothing past the new EOF.
 */
static void
hook_truncate(struct twire *tw)
{

	if (ftruncate(tw->fd, tw->arg) != 0)
		abort();
}

static uint8_t *grow_data;
static size_t grow_len;

static void
hook_grow(struct twire *tw)
{

	if (pwrite(tw->fd, grow_data, grow_len, tw->arg) != (ssize_t)grow_len)
		abort();
}

static void
sf09_one(const struct test_suite *s, const struct mode *m, uint64_t seed,
    bool grow, size_t nbytes)
{
	struct tenv t;
	uint8_t *g;
	const size_t fsz = 300000, newsz_trunc = 200001, gsz = 70001;
	off_t sb;

	tenv_open_file(&t, s, m, seed, fsz);
	t.tw.fd = t.fd;
	if (grow) {
		g = malloc(gsz);
		test_rng_bytes(&t.h.rng, g, gsz);
		grow_data = g;
		grow_len = gsz;
		t.tw.arg = fsz;
		t.tw.hook = hook_grow;
	} else {
		g = NULL;
		t.tw.arg = newsz_trunc;
		t.tw.hook = hook_truncate;
	}
	assert_int_equal(ksim_sendfile(t.so, t.fd, 0, nbytes, NULL, &sb, 0), 0);
	harness_run(&t.h);
	assert_true(t.tw.fired);
	struct ebuf e = { 0 };
	if (grow) {
		ebuf_add(&e, t.data, fsz);
		if (nbytes == 0)
			ebuf_add(&e, g, gsz);
		else
			ebuf_add(&e, g, nbytes - fsz);
	} else
		ebuf_add(&e, t.data, newsz_trunc);
	if ((size_t)sb != e.len)
		fail_msg("%s %s seed %ju %s nbytes %zu: sbytes %jd want %zu",
		    s->name, mode_name(m), (uintmax_t)seed,
		    grow ? "grow" : "truncate", nbytes, (intmax_t)sb, e.len);
	verify_ebuf(&t, &e);
	tenv_close(&t);
	free(g);
}

/*
 * sf09_one() over every suite and mode, to EOF (seeds from seed0) and
 * with a count of nbytes (seeds from seed0 + 100).
 */
static void
sf09_matrix(bool grow, uint64_t seed0, size_t nbytes)
{

	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++) {
			sf09_one(&test_suites[si], &modes[mi], seed0 + si, grow,
			    0);
			sf09_one(&test_suites[si], &modes[mi], seed0 + 100 + si,
			    grow, nbytes);
		}
}

static void
test_sf09_truncate_while_blocked(void **state)
{

	(void)state;
	sf09_matrix(false, 9000, 250000);
}

static void
test_sf10_grow_while_blocked(void **state)
{

	(void)state;
	sf09_matrix(true, 10000, 330000);
}

/*
 * SF-09 with trailers: the file shrinks below the offset sendfile has
 * already queued while it waits for socket space.  FreeBSD's vn_sendfile()
 * then stops (goto done) without sending the trailers: the call succeeds,
 * *sbytes counts the file bytes queued, and nothing follows them.  If the
 * file only shrinks ahead of that offset, the loop ends normally and the
 * trailers do go out.  Warm cache only: pages read after the truncation
 * would read as zeros.
 */
static void
sf09_trailers_one(const struct test_suite *s, const struct mode *m,
    uint64_t seed, off_t newsz)
{
	struct tenv t;
	struct ebuf e = { 0 };
	struct iovec tv;
	struct sf_hdtr hdtr;
	uint8_t trl[777];
	const size_t fsz = 300000;
	off_t sb;

	tenv_open_file(&t, s, m, seed, fsz);
	test_rng_bytes(&t.h.rng, trl, sizeof(trl));
	tv = (struct iovec) { trl, sizeof(trl) };
	hdtr = (struct sf_hdtr) { NULL, 0, &tv, 1 };
	t.tw.fd = t.fd;
	t.tw.arg = newsz;
	t.tw.hook = hook_truncate;
	assert_int_equal(ksim_sendfile(t.so, t.fd, 0, 0, &hdtr, &sb, 0), 0);
	harness_run(&t.h);
	assert_true(t.tw.fired);
	if (newsz < (off_t)PAGE_SIZE) {
		if (sb < (off_t)PAGE_SIZE || sb >= (off_t)fsz)
			fail_msg("%s %s seed %ju: sbytes %jd", s->name,
			    mode_name(m), (uintmax_t)seed, (intmax_t)sb);
		ebuf_add(&e, t.data, (size_t)sb);
	} else {
		assert_int_equal(sb, newsz + (off_t)sizeof(trl));
		ebuf_add(&e, t.data, (size_t)newsz);
		ebuf_add(&e, trl, sizeof(trl));
	}
	verify_ebuf(&t, &e);
	tenv_close(&t);
}

static void
test_sf09_trailers_after_truncate(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++) {
			if (modes[mi].cold)
				continue;
			sf09_trailers_one(&test_suites[si], &modes[mi],
			    13000 + si, 1000);
			sf09_trailers_one(&test_suites[si], &modes[mi],
			    13100 + si, 200001);
		}
}

/* SF-09/SF-10 between calls: the second call sees the new size. */
static void
test_sf09_sf10_between_calls(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++) {
			struct tenv t;
			struct ebuf e = { 0 };
			uint8_t more[9000];
			off_t sb;

			tenv_open_file(&t, &test_suites[si], &modes[mi],
			    11000 + si, 120000);
			assert_int_equal(ksim_sendfile(t.so, t.fd, 0, 50000,
					     NULL, &sb, 0),
			    0);
			assert_int_equal(sb, 50000);
			ebuf_add(&e, t.data, 50000);
			harness_run(&t.h);
			assert_int_equal(ftruncate(t.fd, 70001), 0);
			assert_int_equal(ksim_sendfile(t.so, t.fd, 50000, 0,
					     NULL, &sb, 0),
			    0);
			assert_int_equal(sb, 20001);
			ebuf_add(&e, t.data + 50000, 20001);
			assert_int_equal(ksim_sendfile(t.so, t.fd, 70001, 0,
					     NULL, &sb, 0),
			    0);
			assert_int_equal(sb, 0);
			harness_run(&t.h);
			test_rng_bytes(&t.h.rng, more, sizeof(more));
			assert_int_equal(pwrite(t.fd, more, sizeof(more),
					     70001),
			    (ssize_t)sizeof(more));
			assert_int_equal(ksim_sendfile(t.so, t.fd, 60000, 0,
					     NULL, &sb, 0),
			    0);
			assert_int_equal(sb, 70001 + sizeof(more) - 60000);
			ebuf_add(&e, t.data + 60000, 10001);
			ebuf_add(&e, more, sizeof(more));
			harness_run(&t.h);
			verify_ebuf(&t, &e);
			tenv_close(&t);
		}
}

/*
 * NR-04: sendfile with sf_hdtr headers and trailers.  Headers are framed
 * and encrypted in order ahead of the file; trailers follow; the socket
 * never hangs with a header record left not-ready (the cold-cache +
 * header case FreeBSD main fixed: sys/kern/kern_sendfile.c
 * sendfile_iodone() enqueues the header records with the file's).
 */
static void
hdtr_one(const struct test_suite *s, const struct mode *m, uint64_t seed,
    size_t h1, size_t h2, size_t t1, size_t t2, off_t foff, size_t fsz)
{
	struct tenv t;
	struct ebuf e = { 0 };
	struct iovec hv[2], tv[2];
	struct sf_hdtr hdtr;
	struct ksim_sbstat st;
	uint8_t *hb, *tb;
	off_t sb;

	tenv_open_file(&t, s, m, seed, fsz);
	hb = malloc(h1 + h2 + 1);
	tb = malloc(t1 + t2 + 1);
	test_rng_bytes(&t.h.rng, hb, h1 + h2);
	test_rng_bytes(&t.h.rng, tb, t1 + t2);
	hv[0] = (struct iovec) { hb, h1 };
	hv[1] = (struct iovec) { hb + h1, h2 };
	tv[0] = (struct iovec) { tb, t1 };
	tv[1] = (struct iovec) { tb + t1, t2 };
	hdtr = (struct sf_hdtr) { hv, 2, tv, 2 };
	assert_int_equal(ksim_sendfile(t.so, t.fd, foff, 0, &hdtr, &sb, 0), 0);
	assert_int_equal(sb, (off_t)(h1 + h2 + (fsz - foff) + t1 + t2));
	harness_run(&t.h);
	ksim_sbstat(t.so, &st);
	if (st.ccc != 0 || st.nnotready != 0)
		fail_msg("%s %s seed %ju: socket hangs: %u bytes, %d not-ready "
			 "mbufs left",
		    s->name, mode_name(m), (uintmax_t)seed, st.ccc,
		    st.nnotready);
	ebuf_add(&e, hb, h1 + h2);
	ebuf_add(&e, t.data + foff, fsz - foff);
	ebuf_add(&e, tb, t1 + t2);
	verify_ebuf(&t, &e);
	tenv_close(&t);
	free(hb);
	free(tb);
}

static void
test_nr04_hdtr(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++) {
			int nseeds = order_nseeds(&modes[mi]);

			for (int seed = 0; seed < nseeds; seed++) {
				hdtr_one(&test_suites[si], &modes[mi],
				    12000 + seed * 17 + si, 300, 77, 100, 5000,
				    100, 50000);
				if (seed < 2)
					/* Headers larger than the buffer. */
					hdtr_one(&test_suites[si], &modes[mi],
					    12500 + seed * 17 + si, 20000,
					    30000, 1, 17000, 0, 70000);
			}
		}
}

/*
 * Geometry: with one pass (ample socket space) the records equal the
 * golden model's: offset 100 gives 16284, 16384, ...; headers first.
 */
static void
geom_one(const struct test_suite *s, const struct mode *m, uint64_t seed,
    off_t foff, size_t hlen, size_t fsz)
{
	struct golden_suite gs = { s->cipher_algorithm, s->auth_algorithm,
		s->tls_vminor };
	struct golden_op op;
	struct golden_record *gr;
	struct tenv t;
	struct ebuf e = { 0 };
	struct recs r;
	struct iovec hv;
	struct sf_hdtr hdtr;
	uint8_t *hb;
	size_t ng;
	off_t sb;

	tenv_open_file(&t, s, m, seed, fsz);
	harness_sndbuf(t.so, 8 * MiB, 2048);
	hb = malloc(hlen + 1);
	test_rng_bytes(&t.h.rng, hb, hlen);
	hv = (struct iovec) { hb, hlen };
	hdtr = (struct sf_hdtr) { hlen ? &hv : NULL, hlen ? 1 : 0, NULL, 0 };
	assert_int_equal(ksim_sendfile(t.so, t.fd, foff, 0, &hdtr, &sb, 0), 0);
	assert_int_equal(sb, (off_t)(hlen + fsz - foff));
	harness_run(&t.h);
	ebuf_add(&e, hb, hlen);
	ebuf_add(&e, t.data + foff, fsz - foff);
	verify(&t, e.p, e.len, &r);

	memset(&op, 0, sizeof(op));
	op.kind = GOLDEN_SENDFILE;
	op.len = fsz - foff;
	op.file_off = foff;
	op.hdr_len = hlen;
	assert_int_equal(golden_run(&gs, t.k.seqno, 16384, 2048, 8 * MiB, &op,
			     1, &gr, &ng),
	    0);
	if (ng != r.n)
		fail_msg("%s off %jd hdr %zu: %zu records, golden %zu", s->name,
		    (intmax_t)foff, hlen, r.n, ng);
	for (size_t i = 0; i < ng; i++) {
		if (gr[i].plen != r.plen[i] || gr[i].reclen != r.reclen[i] ||
		    gr[i].seqno != r.seq[i])
			fail_msg("%s off %jd hdr %zu: record %zu: plen %zu "
				 "reclen %zu seq %ju, golden %zu %zu %ju",
			    s->name, (intmax_t)foff, hlen, i, r.plen[i],
			    r.reclen[i], (uintmax_t)r.seq[i], gr[i].plen,
			    gr[i].reclen, (uintmax_t)gr[i].seqno);
	}
	if (foff == 100 && hlen == 0)
		assert_int_equal(r.plen[0], 16284);
	golden_free(gr);
	recs_free(&r);
	free(e.p);
	tenv_close(&t);
	free(hb);
}

static void
test_geometry_golden(void **state)
{
	static const struct {
		off_t off;
		size_t hlen;
	} cases[] = { { 0, 0 }, { 100, 0 }, { 4095, 0 }, { 8193, 0 },
		{ 100, 300 }, { 0, 20000 }, { 5000, 16384 } };

	(void)state;
	for (int si = 0; si < test_nsuites; si++)
		for (int mi = 0; mi < nmodes; mi++)
			for (size_t ci = 0;
			     ci < sizeof(cases) / sizeof(cases[0]); ci++)
				geom_one(&test_suites[si], &modes[mi],
				    13000 + si * 11 + ci, cases[ci].off,
				    cases[ci].hlen, 200000);
}

/*
 * The page cache must stay coherent with writes to the file (FreeBSD's
 * sendfile reads the one VM object write(2) updates): sendfile, overwrite
 * part of the file in place (same size), sendfile again: the second send
 * carries the new bytes.
 */
static void
test_sf_cache_coherent(void **state)
{
	const struct mode warm = { HARNESS_DET, false, false };
	const size_t fsz = 3 * 4096 + 100;
	int bad = 0, n = 0;

	(void)state;
	for (int it = 0; it < 64; it++) {
		struct tenv t;
		struct ebuf e = { 0 };
		uint8_t *data, patch[1000];
		off_t sb;
		int fd;

		tenv_open(&t, &test_suites[it % test_nsuites], &warm,
		    14000 + it);
		fd = mkfile(&t, fsz, &data);
		assert_int_equal(ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0),
		    0);
		harness_run(&t.h);
		ebuf_add(&e, data, fsz);
		test_rng_bytes(&t.h.rng, patch, sizeof(patch));
		assert_int_equal(pwrite(fd, patch, sizeof(patch), 2 * 4096),
		    (ssize_t)sizeof(patch));
		memcpy(data + 2 * 4096, patch, sizeof(patch));
		assert_int_equal(ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0),
		    0);
		harness_run(&t.h);
		ebuf_add(&e, data, fsz);
		{
			uint8_t *plain;
			size_t plen, nrec;

			harness_decrypt(&t.k, &t.tw.w, &plain, &plen, &nrec,
			    NULL, NULL);
			assert_int_equal(plen, e.len);
			if (memcmp(plain, e.p, e.len) != 0)
				bad++;
			free(plain);
		}
		n++;
		free(e.p);
		tenv_close(&t);
		close(fd);
		free(data);
	}
	if (bad != 0)
		fail_msg("stale page cache: %d of %d sendfiles after an "
			 "in-place write sent the old bytes",
		    bad, n);
}

static int
report(void **state)
{

	(void)state;
	fprintf(stderr, "sendfile_test: %zu instances run\n", nruns);
	return (0);
}

/*
 * The descriptor checks of sendfile(2) (FreeBSD kern_sendfile(): fget_read()
 * gives EBADF for a descriptor that is closed or not open for reading;
 * sendfile_getobj() EINVAL for a pipe or a directory; sendfile_getsock()
 * EINVAL for a socket that is not a stream).  Each fails before anything
 * is queued, and the session goes on unharmed.
 */
static void
test_sf_bad_descriptors(void **state)
{
	char path[] = "/tmp/ktlsim-sfbad-XXXXXX";
	const struct test_suite *s = test_suite_named("aes128_gcm_1_2");
	struct harness_keys k;
	struct harness h;
	struct socket *so, *udp;
	struct wire w;
	uint8_t *plain;
	size_t plen, nrec;
	ssize_t wr;
	off_t sb;
	int pfd[2], dfd, wfd, rfd;

	(void)state;
	harness_init(&h, HARNESS_DET, 4242, 2);
	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	harness_keys(&h, s, 7, &k);
	assert_int_equal(harness_enable(so, &k), 0);

	rfd = mkstemp(path);
	assert_true(rfd >= 0);
	assert_int_equal(write(rfd, "file", 4), 4);
	wfd = open(path, O_WRONLY);
	assert_true(wfd >= 0);
	unlink(path);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "pipe", 4), 4);
	dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);

	assert_int_equal(ksim_sendfile(so, wfd, 0, 0, NULL, &sb, 0), EBADF);
	close(wfd);
	assert_int_equal(ksim_sendfile(so, wfd, 0, 0, NULL, &sb, 0), EBADF);
	assert_int_equal(ksim_sendfile(so, pfd[0], 0, 4, NULL, &sb, 0), EINVAL);
	assert_int_equal(ksim_sendfile(so, dfd, 0, 0, NULL, &sb, 0), EINVAL);
	assert_int_equal(ksim_socket(SOCK_DGRAM, &udp), 0);
	assert_int_equal(ksim_sendfile(udp, rfd, 0, 0, NULL, &sb, 0), EINVAL);
	ksim_close(udp);
	harness_run(&h);
	assert_int_equal(w.len, 0);

	/* The regular file still goes out, then a write. */
	assert_int_equal(ksim_sendfile(so, rfd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, 4);
	assert_int_equal(ksim_write(so, "write", 5, &wr), 0);
	harness_run(&h);
	ksim_close(so);
	harness_fini(&h);
	harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(nrec, 2);
	assert_int_equal(plen, 9);
	assert_memory_equal(plain, "filewrite", 9);
	free(plain);
	wire_fini(&w);
	close(rfd);
	close(dfd);
	close(pfd[0]);
	close(pfd[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_sf01_whole_file),
		harness_unit_test(test_sf02_write_sendfile_write),
		harness_unit_test(test_sf03_multi_chunk),
		harness_unit_test(test_sf05_random_ranges),
		harness_unit_test(test_sf06_sf07_eof),
		harness_unit_test(test_sf08_nonblocking_full),
		harness_unit_test(test_sf09_truncate_while_blocked),
		harness_unit_test(test_sf10_grow_while_blocked),
		harness_unit_test(test_sf09_sf10_between_calls),
		harness_unit_test(test_sf09_trailers_after_truncate),
		harness_unit_test(test_nr04_hdtr),
		harness_unit_test(test_geometry_golden),
		harness_unit_test(test_sf_cache_coherent),
		harness_unit_test(test_sf_bad_descriptors),
	};

	for (int mi = 0; mi < NALL_MODES; mi++)
		if (conf_runner_on(all_modes[mi].runner))
			modes[nmodes++] = all_modes[mi];
	return (cmocka_run_group_tests(tests, NULL, report));
}
