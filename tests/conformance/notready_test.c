/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group E: not-ready ordering (docs/conformance.md, "E.
 * Not-ready ordering") with asynchronous encryption (ktls_sim_async) and
 * asynchronous sendfile page reads (cold page cache), plus connection reset,
 * disk read errors and TLS 1.0 CBC ordering (pending_records).
 *
 * On the deterministic runner the scheduler is stepped one candidate at a
 * time with sim_det_step(), and after every step the wire (incrementally
 * decrypted by the independent oracle) and the send buffer (ksim_sbstat) are
 * checked: the wire only ever holds whole records, in sequence order, whose
 * plaintext is a prefix of what was sent, and sb_acc never covers bytes
 * behind a not-ready record.
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
#include "models/disk/disk.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

#define NSEEDS 32

static size_t nruns;

/* The expected stream: segments of one record type each. */
struct seg {
	uint8_t type;
	size_t len;
};

struct expect {
	uint8_t *p;
	size_t len;
	struct seg segs[64];
	int nsegs;
};

static void
exp_add(struct expect *e, uint8_t type, const void *p, size_t len)
{

	e->p = realloc(e->p, e->len + len + 1);
	assert_non_null(e->p);
	memcpy(e->p + e->len, p, len);
	e->len += len;
	assert_true(e->nsegs < 64);
	e->segs[e->nsegs].type = type;
	e->segs[e->nsegs].len = len;
	e->nsegs++;
}

/*
 * The wire plus an incremental oracle.  fin_at records the wire length
 * when the FIN came.
 */
struct cwire {
	struct wire w;
	size_t fin_at;
	/* incremental check state */
	struct oracle *o;
	size_t pos;  /* wire bytes parsed */
	size_t ppos; /* plaintext bytes matched */
	uint64_t nrec;
	uint64_t seq0;
	const struct expect *e;
	const char *what;
};

static ssize_t
cwire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct cwire *cw = arg;

	/* Nothing after the FIN, ever. */
	if (cw->w.fin)
		abort();
	return ((ssize_t)wire_append(&cw->w, iov, iovcnt));
}

static void
cwire_fin(void *arg)
{
	struct cwire *cw = arg;

	cw->w.fin = true;
	cw->fin_at = cw->w.len;
}

/* The segment type covering plaintext [off, off + len), or -1. */
static int
seg_type(const struct expect *e, size_t off, size_t len)
{
	size_t start = 0;

	for (int i = 0; i < e->nsegs; i++) {
		if (off >= start && off + len <= start + e->segs[i].len &&
		    (len > 0 || off < start + e->segs[i].len))
			return (e->segs[i].type);
		start += e->segs[i].len;
	}
	return (-1);
}

/*
 * Parse what arrived since the last call.  The wire must hold whole
 * records only (need_whole), each in sequence, of the expected type, its
 * plaintext the next bytes of the expected stream.
 */
static void
cwire_check(struct cwire *cw, bool need_whole)
{
	struct oracle_record rec;
	int r;

	for (;;) {
		r = oracle_next(cw->o, cw->w.buf + cw->pos, cw->w.len - cw->pos,
		    &rec);
		if (r == ORACLE_INCOMPLETE)
			break;
		if (r != 0)
			fail_msg("%s: record %ju at wire offset %zu: %s",
			    cw->what, (uintmax_t)cw->nrec, cw->pos,
			    oracle_error(cw->o));
		if (rec.seqno != cw->seq0 + cw->nrec)
			fail_msg("%s: record %ju has seq %ju", cw->what,
			    (uintmax_t)cw->nrec, (uintmax_t)rec.seqno);
		if (cw->ppos + rec.plen > cw->e->len ||
		    memcmp(rec.plain, cw->e->p + cw->ppos, rec.plen) != 0)
			fail_msg("%s: record %ju (%zu bytes) is not the next "
				 "plaintext at %zu (out of order?)",
			    cw->what, (uintmax_t)cw->nrec, rec.plen, cw->ppos);
		if (seg_type(cw->e, cw->ppos, rec.plen) != rec.inner_type)
			fail_msg("%s: record %ju type %u at %zu: wrong type",
			    cw->what, (uintmax_t)cw->nrec, rec.inner_type,
			    cw->ppos);
		cw->pos += rec.reclen;
		cw->ppos += rec.plen;
		cw->nrec++;
	}
	if (need_whole && cw->pos != cw->w.len)
		fail_msg("%s: torn record on the wire (%zu of %zu bytes whole)",
		    cw->what, cw->pos, cw->w.len);
}

struct nenv {
	struct harness h;
	struct cwire cw;
	struct socket *so;
	struct harness_keys k;
	const struct test_suite *s;
	char what[128];
};

static void
nenv_open(struct nenv *t, const struct test_suite *s,
    enum harness_runner runner, uint64_t seed, bool async, bool cold,
    const struct expect *e)
{
	struct tcp_wire tcpw = { cwire_output, cwire_fin, &t->cw };

	memset(t, 0, sizeof(*t));
	t->s = s;
	conf_sf_mode(async, cold);
	harness_init(&t->h, runner, seed, 2);
	wire_init(&t->cw.w);
	t->so = harness_connect(&tcpw, (uint32_t)seed);
	harness_keys(&t->h, s, test_rng_u64(&t->h.rng) >> (seed % 64), &t->k);
	assert_int_equal(harness_enable(t->so, &t->k), 0);
	snprintf(t->what, sizeof(t->what), "%s %s/%s/%s seed %ju", s->name,
	    runner == HARNESS_DET ? "det" : "rt", async ? "async" : "sync",
	    cold ? "cold" : "warm", (uintmax_t)seed);
	t->cw.o =
	    oracle_new(s, t->k.cipher_key, t->k.iv, t->k.auth_key, t->k.seqno);
	assert_non_null(t->cw.o);
	t->cw.seq0 = t->k.seqno;
	t->cw.e = e;
	t->cw.what = t->what;
}

/* The socket is closed already (or by the caller); tear the rest down. */
static void
nenv_fini(struct nenv *t)
{

	harness_fini(&t->h);
	oracle_free(t->cw.o);
	wire_fini(&t->cw.w);
	conf_sf_reset();
}

/* Everything arrived, whole, and then the FIN. */
static void
nenv_check_all(struct nenv *t)
{

	cwire_check(&t->cw, true);
	if (t->cw.ppos != t->cw.e->len)
		fail_msg("%s: %zu of %zu plaintext bytes arrived", t->what,
		    t->cw.ppos, t->cw.e->len);
}

/*
 * Run everything queued: on the deterministic runner one scheduler step at
 * a time, checking after every step that the wire holds whole records.
 */
static void
nenv_run_checked(struct nenv *t)
{

	if (t->h.runner == HARNESS_DET) {
		while (sim_det_step(t->h.pl))
			cwire_check(&t->cw, true);
	} else
		harness_run(&t->h);
}

/* Everything arrived whole; then close(2), and the FIN comes. */
static void
nenv_close_all(struct nenv *t)
{

	nenv_check_all(t);
	ksim_close(t->so);
	harness_run(&t->h);
	assert_true(t->cw.w.fin);
}

/*
 * Run one(suite, runner, seed, async, flag) over every suite: NSEEDS
 * deterministic seeds from det_seed and four real-time ones from rt_seed,
 * over async x flag.
 */
typedef void nr_one_fn(const struct test_suite *s, enum harness_runner runner,
    uint64_t seed, bool async, bool flag);

static void
nr_matrix(nr_one_fn *one, uint64_t det_seed, uint64_t rt_seed)
{

	for (int si = 0; si < test_nsuites; si++) {
		for (int seed = 0; seed < NSEEDS && conf_runner_on(HARNESS_DET);
		     seed++)
			one(&test_suites[si], HARNESS_DET, det_seed + seed,
			    seed % 2, seed % 4 >= 2);
		for (int v = 0; v < 4; v++)
			one(&test_suites[si], HARNESS_RT, rt_seed + v, v % 2,
			    v >= 2);
	}
}

/*
 * Trace hooks: the order records finish encryption (seqnos), used to
 * compute the ready prefix that sb_acc must equal, and to make sure the
 * seeds really produced out-of-order completions.
 */
struct tracer {
	uint64_t enc_seq[256];
	int nenc;
	const struct socket *so;
};
static struct tracer tracer;

static void
tr_record(void *arg, enum ktls_trace_event ev, struct socket *so,
    const struct mbuf *m)
{
	struct tracer *tr = arg;

	if (ev != KTR_ENCRYPTED || so != tr->so)
		return;
	if (tr->nenc < 256)
		tr->enc_seq[tr->nenc++] = m->m_epg_seqno;
}

static struct ktls_trace_hooks tr_hooks = { tr_record, NULL, &tracer };

/*
 * NR-01: eight writes of distinct sizes (one record each) while the wire
 * is blocked; encryption completes out of order.  After every scheduler
 * step sb_acc must be exactly the bytes of the longest prefix of records
 * that finished encrypting.  Then the wire opens: A, B, C... in seq order.
 */
#define NR01_NW 8

static bool
nr01_one(const struct test_suite *s, uint64_t seed, bool async)
{
	struct golden_suite gs = { s->cipher_algorithm, s->auth_algorithm,
		s->tls_vminor };
	struct golden_record *gr;
	struct golden_op ops[NR01_NW];
	struct ksim_sbstat st;
	struct expect e = { 0 };
	struct nenv t;
	uint8_t buf[NR01_NW][4000];
	size_t ng, lens[NR01_NW];
	ssize_t wr;
	bool ooo = false;

	nenv_open(&t, s, HARNESS_DET, seed, async, false, &e);
	for (int i = 0; i < NR01_NW; i++) {
		lens[i] = 100 + 451 * i + (seed % 37);
		test_rng_bytes(&t.h.rng, buf[i], lens[i]);
		exp_add(&e, TLS_RLTYPE_APP, buf[i], lens[i]);
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].kind = GOLDEN_WRITE;
		ops[i].len = lens[i];
	}
	assert_int_equal(golden_run(&gs, t.k.seqno, 16384, 2048, 32768, ops,
			     NR01_NW, &gr, &ng),
	    0);
	assert_int_equal(ng, NR01_NW);
	memset(&tracer, 0, sizeof(tracer));
	tracer.so = t.so;
	ktls_trace_hooks = &tr_hooks;
	t.cw.w.limit = 0;
	for (int i = 0; i < NR01_NW; i++) {
		assert_int_equal(ksim_write(t.so, buf[i], lens[i], &wr), 0);
		assert_int_equal(wr, (ssize_t)lens[i]);
	}
	for (;;) {
		bool done[NR01_NW] = { false };
		size_t want = 0;
		bool more = sim_det_step(t.h.pl);

		for (int i = 0; i < tracer.nenc; i++) {
			uint64_t idx = tracer.enc_seq[i] - t.k.seqno;

			assert_true(idx < NR01_NW);
			done[idx] = true;
		}
		for (int i = 0; i < NR01_NW && done[i]; i++)
			want += gr[i].reclen;
		ksim_sbstat(t.so, &st);
		if (st.acc != want)
			fail_msg("%s: sb_acc %u, ready prefix %zu (%d "
				 "encrypted)",
			    t.what, st.acc, want, tracer.nenc);
		assert_true(st.acc <= st.ccc);
		if (st.nnotready == 0)
			assert_int_equal(st.acc, st.ccc);
		if (!more)
			break;
	}
	assert_int_equal(tracer.nenc, NR01_NW);
	for (int i = 1; i < NR01_NW; i++)
		if (tracer.enc_seq[i] < tracer.enc_seq[i - 1])
			ooo = true;
	ktls_trace_hooks = NULL;
	assert_int_equal(t.cw.w.len, 0);
	t.cw.w.limit = SIZE_MAX;
	tcp_output_kick(t.so);
	harness_run(&t.h);
	nenv_check_all(&t);
	for (size_t i = 0; i < ng; i++)
		assert_int_equal(gr[i].seqno, t.k.seqno + i);
	golden_free(gr);
	ksim_close(t.so);
	harness_run(&t.h);
	assert_true(t.cw.w.fin);
	nenv_fini(&t);
	free(e.p);
	nruns++;
	return (ooo);
}

/*
 * NR-01, open wire: records reach the wire as they become ready; after
 * every step the wire holds whole records in sequence order only.
 */
static void
nr01_open_one(const struct test_suite *s, uint64_t seed, bool async)
{
	struct expect e = { 0 };
	struct nenv t;
	uint8_t buf[60000];
	ssize_t wr;

	nenv_open(&t, s, HARNESS_DET, seed, async, false, &e);
	test_rng_bytes(&t.h.rng, buf, sizeof(buf));
	exp_add(&e, TLS_RLTYPE_APP, buf, sizeof(buf));
	ksim_set_sndbuf(t.so, 1 << 20, 2048);
	assert_int_equal(ksim_write(t.so, buf, 40000, &wr), 0);
	assert_int_equal(wr, 40000);
	assert_int_equal(ksim_write(t.so, buf + 40000, 20000, &wr), 0);
	nenv_run_checked(&t);
	nenv_close_all(&t);
	nenv_fini(&t);
	free(e.p);
	nruns++;
}

static void
test_nr01_async_out_of_order(void **state)
{

	(void)state;
	conf_only_on(HARNESS_DET);
	for (int si = 0; si < test_nsuites; si++) {
		int nooo = 0;

		for (int seed = 0; seed < NSEEDS; seed++) {
			nooo += nr01_one(&test_suites[si], 100 + seed, true);
			nr01_open_one(&test_suites[si], 200 + seed, true);
			if (seed < 4) {
				(void)nr01_one(&test_suites[si], 300 + seed,
				    false);
				nr01_open_one(&test_suites[si], 400 + seed,
				    false);
			}
		}
		/* AEAD suites must really have completed out of order. */
		if (is_aead(&test_suites[si]) && nooo == 0)
			fail_msg("%s: no seed completed out of order",
			    test_suites[si].name);
	}
}

/*
 * NR-02 / NR-03: sendfile pages not yet read (cold cache), then write()
 * and a control record: neither ever overtakes the file records.  Stepped
 * on the deterministic runner with the wire checked after every step; the
 * real-time runner checks the final stream.
 */
static void
nr02_one(const struct test_suite *s, enum harness_runner runner, uint64_t seed,
    bool async, bool control)
{
	struct expect e = { 0 };
	struct nenv t;
	uint8_t *data, w1[5000], w2[20000], alert[2] = { 1, 0 };
	const size_t fsz = 70000;
	ssize_t wr;
	off_t sb;
	int fd;

	nenv_open(&t, s, runner, seed, async, true, &e);
	fd = harness_tmpfile(&t.h.rng, fsz, &data);
	test_rng_bytes(&t.h.rng, w1, sizeof(w1));
	test_rng_bytes(&t.h.rng, w2, sizeof(w2));
	ksim_set_sndbuf(t.so, 1 << 20, 2048);
	exp_add(&e, TLS_RLTYPE_APP, data + 1234, 30000);
	exp_add(&e, TLS_RLTYPE_APP, w1, sizeof(w1));
	exp_add(&e, TLS_RLTYPE_APP, data, fsz);
	if (control)
		exp_add(&e, TLS_RLTYPE_ALERT, alert, sizeof(alert));
	exp_add(&e, TLS_RLTYPE_APP, w2, sizeof(w2));

	assert_int_equal(ksim_sendfile(t.so, fd, 1234, 30000, NULL, &sb, 0), 0);
	assert_int_equal(sb, 30000);
	assert_int_equal(ksim_write(t.so, w1, sizeof(w1), &wr), 0);
	assert_int_equal(ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, (off_t)fsz);
	if (control) {
		assert_int_equal(harness_send_type(t.so, TLS_RLTYPE_ALERT,
				     alert, sizeof(alert), &wr),
		    0);
		assert_int_equal(wr, 2);
	}
	assert_int_equal(ksim_write(t.so, w2, sizeof(w2), &wr), 0);
	assert_int_equal(wr, (ssize_t)sizeof(w2));
	if (runner == HARNESS_DET) {
		struct ksim_sbstat st;

		/* Nothing can be sent before the first disk read. */
		ksim_sbstat(t.so, &st);
		assert_true(st.nnotready > 0);
		assert_int_equal(st.acc, 0);
	}
	nenv_run_checked(&t);
	nenv_close_all(&t);
	assert_int_equal(t.cw.fin_at, t.cw.w.len);
	nenv_fini(&t);
	close(fd);
	free(data);
	free(e.p);
	nruns++;
}

static void
test_nr02_nr03_sendfile_then_write(void **state)
{

	(void)state;
	nr_matrix(nr02_one, 500, 600);
}

/*
 * NR-05: the send buffer is full of not-ready records (cold sendfile
 * pages, not yet read): sbspace counts them, so a non-blocking writer gets
 * EWOULDBLOCK; a blocking writer sleeps and is woken when the records
 * complete and drain.
 */
static void
nr05_one(const struct test_suite *s, enum harness_runner runner, uint64_t seed,
    bool async)
{
	struct expect e = { 0 };
	struct ksim_sbstat st;
	struct nenv t;
	uint8_t *data, wbuf[3000];
	ssize_t wr;
	off_t sb;
	int error, fd;

	nenv_open(&t, s, runner, seed, async, true, &e);
	if (runner == HARNESS_RT)
		disk_profile.dp_latency_ns = 300ull * 1000 * 1000;
	fd = harness_tmpfile(&t.h.rng, 100000, &data);
	test_rng_bytes(&t.h.rng, wbuf, sizeof(wbuf));
	ksim_set_nbio(t.so, true);
	error = ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0);
	assert_int_equal(error, EAGAIN);
	assert_true(sb > 0);
	exp_add(&e, TLS_RLTYPE_APP, data, (size_t)sb);
	ksim_sbstat(t.so, &st);
	if (st.nnotready == 0 || st.acc != 0)
		fail_msg("%s: expected not-ready records (nnotready %d acc %u)",
		    t.what, st.nnotready, st.acc);
	assert_true(st.ccc >= st.hiwat);
	error = ksim_write(t.so, wbuf, sizeof(wbuf), &wr);
	assert_int_equal(error, EWOULDBLOCK);
	/* A blocking write now waits for the disk and encryption. */
	ksim_set_nbio(t.so, false);
	assert_int_equal(ksim_write(t.so, wbuf, sizeof(wbuf), &wr), 0);
	assert_int_equal(wr, (ssize_t)sizeof(wbuf));
	exp_add(&e, TLS_RLTYPE_APP, wbuf, sizeof(wbuf));
	harness_run(&t.h);
	nenv_close_all(&t);
	nenv_fini(&t);
	close(fd);
	free(data);
	free(e.p);
	nruns++;
}

static void
test_nr05_full_of_notready(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++) {
		for (int seed = 0; seed < 8 && conf_runner_on(HARNESS_DET);
		     seed++)
			nr05_one(&test_suites[si], HARNESS_DET, 700 + seed,
			    seed % 2);
	}
	/* Real time: the disk takes 300 ms, so the buffer stays not-ready. */
	nr05_one(test_suite_named("aes128_cbc_1_0_sha1"), HARNESS_RT, 800,
	    false);
	nr05_one(test_suite_named("aes128_gcm_1_3"), HARNESS_RT, 801, true);
}

/*
 * NR-06: shutdown / close with not-ready data queued: the FIN only after
 * every byte, never a torn record; close(2) drops the user reference and
 * everything queued still goes out whole, FIN last.
 */
static void
nr06_one(const struct test_suite *s, enum harness_runner runner, uint64_t seed,
    bool async, bool use_close)
{
	struct expect e = { 0 };
	struct nenv t;
	uint8_t *data, wbuf[20000];
	ssize_t wr;
	off_t sb;
	int fd;

	nenv_open(&t, s, runner, seed, async, true, &e);
	fd = harness_tmpfile(&t.h.rng, 45000, &data);
	test_rng_bytes(&t.h.rng, wbuf, sizeof(wbuf));
	ksim_set_sndbuf(t.so, 1 << 20, 2048);
	assert_int_equal(ksim_sendfile(t.so, fd, 7, 0, NULL, &sb, 0), 0);
	assert_int_equal(ksim_write(t.so, wbuf, sizeof(wbuf), &wr), 0);
	exp_add(&e, TLS_RLTYPE_APP, data + 7, 45000 - 7);
	exp_add(&e, TLS_RLTYPE_APP, wbuf, sizeof(wbuf));
	if (use_close)
		ksim_close(t.so);
	else {
		assert_int_equal(ksim_shutdown(t.so), 0);
		/* No more sends after shutdown. */
		assert_int_equal(ksim_write(t.so, wbuf, 10, &wr), EPIPE);
	}
	if (runner == HARNESS_DET && t.cw.w.fin)
		fail_msg("%s %s: FIN sent at once with %zu bytes queued "
			 "(wire %zu)",
		    t.what, use_close ? "close" : "shutdown", e.len,
		    t.cw.w.len);
	if (runner == HARNESS_DET) {
		while (sim_det_step(t.h.pl)) {
			cwire_check(&t.cw, true);
			if (t.cw.w.fin && t.cw.ppos != e.len)
				fail_msg("%s: FIN after %zu of %zu bytes",
				    t.what, t.cw.ppos, e.len);
		}
	} else
		harness_run(&t.h);
	nenv_check_all(&t);
	if (!t.cw.w.fin) {
		struct ksim_sbstat st;

		if (!use_close)
			ksim_sbstat(t.so, &st);
		fail_msg("%s %s: all %zu bytes sent but no FIN%s (ccc %u, "
			 "fin_sent %d)",
		    t.what, use_close ? "close" : "shutdown", e.len,
		    use_close ? "" : " after shutdown", use_close ? 0 : st.ccc,
		    use_close ? -1 : st.fin_sent);
	}
	assert_int_equal(t.cw.fin_at, t.cw.w.len);
	if (!use_close) {
		ksim_close(t.so);
		harness_run(&t.h);
	}
	nenv_fini(&t);
	close(fd);
	free(data);
	free(e.p);
	nruns++;
}

static void
test_nr06_shutdown_close(void **state)
{

	(void)state;
	nr_matrix(nr06_one, 900, 950);
}

/*
 * Peer reset (ksim_drop) while records are queued, encrypting or waiting
 * for the disk: no crash, no leak, only whole records on the wire (a
 * prefix of the stream), and later writes and sendfiles fail (FreeBSD:
 * EPIPE, since the send side is shut; ECONNRESET from so_error is also
 * accepted).
 */
static void
drop_one(const struct test_suite *s, enum harness_runner runner, uint64_t seed,
    bool async, bool cold, int nsteps)
{
	struct expect e = { 0 };
	struct nenv t;
	uint8_t *data, wbuf[30000];
	ssize_t wr;
	off_t sb;
	int error, fd;

	nenv_open(&t, s, runner, seed, async, cold, &e);
	fd = harness_tmpfile(&t.h.rng, 60000, &data);
	test_rng_bytes(&t.h.rng, wbuf, sizeof(wbuf));
	ksim_set_sndbuf(t.so, 1 << 20, 2048);
	assert_int_equal(ksim_write(t.so, wbuf, 10000, &wr), 0);
	assert_int_equal(ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(ksim_write(t.so, wbuf + 10000, 20000, &wr), 0);
	exp_add(&e, TLS_RLTYPE_APP, wbuf, 10000);
	exp_add(&e, TLS_RLTYPE_APP, data, 60000);
	exp_add(&e, TLS_RLTYPE_APP, wbuf + 10000, 20000);
	if (runner == HARNESS_DET) {
		for (int i = 0; i < nsteps && sim_det_step(t.h.pl); i++)
			cwire_check(&t.cw, true);
	}
	ksim_drop(t.so, ECONNRESET);
	harness_run(&t.h);
	cwire_check(&t.cw, true);
	error = ksim_write(t.so, wbuf, 100, &wr);
	if (error != EPIPE && error != ECONNRESET)
		fail_msg("%s: write after reset: error %d", t.what, error);
	error = ksim_write(t.so, wbuf, 100, &wr);
	assert_true(error == EPIPE || error == ECONNRESET);
	error = ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0);
	assert_true(error == EPIPE || error == ECONNRESET);
	assert_int_equal(sb, 0);
	harness_run(&t.h);
	cwire_check(&t.cw, true);
	assert_false(t.cw.w.fin);
	ksim_close(t.so);
	harness_run(&t.h);
	cwire_check(&t.cw, true);
	nenv_fini(&t);
	close(fd);
	free(data);
	free(e.p);
	nruns++;
}

static void
test_drop_while_queued(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++) {
		for (int seed = 0; seed < NSEEDS && conf_runner_on(HARNESS_DET);
		     seed++)
			drop_one(&test_suites[si], HARNESS_DET, 1000 + seed,
			    seed % 2, seed % 4 >= 2, seed % 9);
		drop_one(&test_suites[si], HARNESS_RT, 1100, false, true, 0);
		drop_one(&test_suites[si], HARNESS_RT, 1101, true, true, 0);
		drop_one(&test_suites[si], HARNESS_RT, 1102, true, false, 0);
	}
}

/*
 * The descriptor is closed while the (cold) page reads are still pending:
 * FreeBSD's sf_io holds the VM object, so the data still goes out intact.
 */
static void
closefd_one(const struct test_suite *s, uint64_t seed, bool async)
{
	struct expect e = { 0 };
	struct nenv t;
	uint8_t *data, wbuf[1000];
	ssize_t wr;
	off_t sb;
	int fd;

	nenv_open(&t, s, HARNESS_DET, seed, async, true, &e);
	fd = harness_tmpfile(&t.h.rng, 20000, &data);
	test_rng_bytes(&t.h.rng, wbuf, sizeof(wbuf));
	assert_int_equal(ksim_write(t.so, wbuf, sizeof(wbuf), &wr), 0);
	exp_add(&e, TLS_RLTYPE_APP, wbuf, sizeof(wbuf));
	assert_int_equal(ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, 20000);
	exp_add(&e, TLS_RLTYPE_APP, data, 20000);
	close(fd);
	nenv_run_checked(&t);
	nenv_close_all(&t);
	nenv_fini(&t);
	free(data);
	free(e.p);
	nruns++;
}

static void
test_close_fd_while_reading(void **state)
{

	(void)state;
	conf_only_on(HARNESS_DET);
	for (int si = 0; si < test_nsuites; si++)
		for (int seed = 0; seed < 4; seed++)
			closefd_one(&test_suites[si], 1200 + seed, seed % 2);
}

/*
 * A descriptor not open for reading: FreeBSD's sendfile takes the file
 * with fget_read() and fails with EBADF before anything is queued.  (Were
 * it accepted, every page read would fail: then the connection must be
 * aborted with EIO and nothing of the file sent.)
 */
static void
test_wronly_fd(void **state)
{
	char path[] = "/tmp/ktlsim-wo-XXXXXX";
	uint8_t buf[8192];
	int ndev = 0;

	(void)state;
	conf_only_on(HARNESS_DET);
	for (int si = 0; si < test_nsuites; si++) {
		struct expect e = { 0 };
		struct nenv t;
		ssize_t wr;
		off_t sb;
		int fd, rfd, error;

		nenv_open(&t, &test_suites[si], HARNESS_DET, 1250 + si, si % 2,
		    true, &e);
		strcpy(path, "/tmp/ktlsim-wo-XXXXXX");
		rfd = mkstemp(path);
		assert_true(rfd >= 0);
		test_rng_bytes(&t.h.rng, buf, sizeof(buf));
		assert_int_equal(write(rfd, buf, sizeof(buf)), sizeof(buf));
		fd = open(path, O_WRONLY);
		assert_true(fd >= 0);
		unlink(path);
		close(rfd);
		error = ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0);
		harness_run(&t.h);
		if (error == 0) {
			/*
			 * Accepted: the read-error path.  Nothing of the file
			 * may go out and the connection must be aborted.
			 */
			assert_int_equal(t.cw.w.len, 0);
			error = ksim_write(t.so, buf, 10, &wr);
			if (error != EIO && error != EPIPE &&
			    error != ECONNRESET)
				fail_msg("%s: write after read error: %d",
				    t.what, error);
			if (ndev++ == 0)
				fprintf(stderr,
				    "%s: sendfile from a write-only fd "
				    "returned 0 (sbytes %jd), FreeBSD: "
				    "EBADF; read error aborted the "
				    "connection (next write: %d)\n",
				    t.what, (intmax_t)sb, error);
		} else {
			assert_int_equal(error, EBADF);
			assert_int_equal(sb, 0);
			assert_int_equal(t.cw.w.len, 0);
		}
		close(fd);
		ksim_close(t.so);
		harness_run(&t.h);
		nenv_fini(&t);
		nruns++;
	}
	if (ndev != 0)
		fail_msg("sendfile accepted a write-only descriptor in %d of "
			 "%d suites (FreeBSD: EBADF)",
		    ndev, test_nsuites);
}

/*
 * TLS 1.0 CBC: the implicit IV chains record to record, so batches whose
 * disk reads complete out of order must wait in pending_records.  Many
 * cold sendfiles interleaved with writes; the oracle checks the chain.
 */
static void
cbc10_one(const struct test_suite *s, enum harness_runner runner, uint64_t seed,
    bool async)
{
	struct expect e = { 0 };
	struct nenv t;
	uint8_t *data, wbuf[2000];
	const size_t fsz = 150000;
	ssize_t wr;
	off_t sb;
	int fd;

	nenv_open(&t, s, runner, seed, async, true, &e);
	fd = harness_tmpfile(&t.h.rng, fsz, &data);
	test_rng_bytes(&t.h.rng, wbuf, sizeof(wbuf));
	ksim_set_sndbuf(t.so, 1 << 20, 2048);
	for (int i = 0; i < 10; i++) {
		off_t off = (off_t)(test_rng_u64(&t.h.rng) % (fsz - 1));
		size_t n = 1 + test_rng_u64(&t.h.rng) % 20000;

		if ((size_t)off + n > fsz)
			n = fsz - off;
		assert_int_equal(ksim_sendfile(t.so, fd, off, n, NULL, &sb, 0),
		    0);
		assert_int_equal(sb, (off_t)n);
		exp_add(&e, TLS_RLTYPE_APP, data + off, n);
		if (i % 3 == 1) {
			size_t wl = 1 + i * 100;

			assert_int_equal(ksim_write(t.so, wbuf, wl, &wr), 0);
			exp_add(&e, TLS_RLTYPE_APP, wbuf, wl);
		}
	}
	/* The default-size buffer path: several passes per call. */
	ksim_set_sndbuf(t.so, 32768, 2048);
	assert_int_equal(ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0), 0);
	exp_add(&e, TLS_RLTYPE_APP, data, fsz);
	nenv_run_checked(&t);
	nenv_close_all(&t);
	nenv_fini(&t);
	close(fd);
	free(data);
	free(e.p);
	nruns++;
}

static void
test_cbc10_sendfile_cold_order(void **state)
{
	int n10 = 0;

	(void)state;
	for (int si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];
		int nseeds = is_tls10(s) ? 64 : 4;

		if (is_tls10(s))
			n10++;
		for (int seed = 0; seed < nseeds && conf_runner_on(HARNESS_DET);
		     seed++)
			cbc10_one(s, HARNESS_DET, 1300 + seed, seed % 2);
		cbc10_one(s, HARNESS_RT, 1400, false);
		cbc10_one(s, HARNESS_RT, 1401, true);
	}
	assert_int_equal(n10, 2);
}

static int
report(void **state)
{

	(void)state;
	fprintf(stderr, "notready_test: %zu instances run\n", nruns);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_nr01_async_out_of_order),
		harness_unit_test(test_nr02_nr03_sendfile_then_write),
		harness_unit_test(test_nr05_full_of_notready),
		harness_unit_test(test_nr06_shutdown_close),
		harness_unit_test(test_drop_while_queued),
		harness_unit_test(test_close_fd_while_reading),
		harness_unit_test(test_wronly_fd),
		harness_unit_test(test_cbc10_sendfile_cold_order),
	};

	return (cmocka_run_group_tests(tests, NULL, report));
}
