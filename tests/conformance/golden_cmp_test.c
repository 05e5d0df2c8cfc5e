/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The simulated kernel against the independent golden record-layout model
 * (models/golden): random sequences of writes and control sends, fed to
 * both with the same socket-buffer space; the wire, parsed by the oracle,
 * must carry exactly the records golden predicts (types, lengths, header
 * bytes, sequence numbers).  Generated over tests/lib/suites.h, on both
 * runners, over many seeds.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_common.h"
#include "ksim_harness.h"
#include "oracle.h"
#include "golden.h"
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
/* --- src/ against models/golden ---------------------------------------- */

#define NSEEDS 12
#define NOPS 24
#define BIGBUF (1L << 26)

static void
golden_suite_of(const struct test_suite *s, struct golden_suite *g)
{

	g->cipher_algorithm = s->cipher_algorithm;
	g->auth_algorithm = s->auth_algorithm;
	g->tls_vminor = s->tls_vminor;
}

/* The records golden predicts, in order. */
struct expect {
	struct golden_record *r;
	size_t n, cap;
	uint64_t seq;
};

static void
expect_add(struct expect *e, const struct golden_record *r, size_t n)
{

	if (e->n + n > e->cap) {
		e->cap = (e->n + n) * 2 + 16;
		e->r = realloc(e->r, e->cap * sizeof(*e->r));
		assert_non_null(e->r);
	}
	memcpy(e->r + e->n, r, n * sizeof(*r));
	e->n += n;
	e->seq += n;
}

/* Run one op through golden with a one-entry space script. */
static int
golden_one(const struct test_suite *s, struct expect *e,
    enum golden_op_kind kind, uint8_t type, size_t len, long hiwat,
    const long *space)
{
	struct golden_suite g;
	struct golden_record *r;
	struct golden_op op;
	size_t n;
	int error;

	golden_suite_of(s, &g);
	memset(&op, 0, sizeof(op));
	op.kind = kind;
	op.len = len;
	op.type = type;
	op.space = space;
	op.nspace = space != NULL ? 1 : 0;
	r = NULL;
	n = 0;
	error = golden_run(&g, e->seq, 16384, 2048, hiwat, &op, 1, &r, &n);
	if (error == 0)
		expect_add(e, r, n);
	else
		assert_int_equal(n, 0);
	golden_free(r);
	return (error);
}

/* Compare the oracle's view of the wire with golden's records. */
static void
compare(const struct ctx *c, const struct rlog *l, const struct expect *e)
{
	size_t i;

	if (l->n != e->n)
		fail_msg("%s: %zu records on the wire, golden says %zu",
		    c->k.suite->name, l->n, e->n);
	for (i = 0; i < l->n; i++) {
		const struct rlog_rec *k = &l->r[i];
		const struct golden_record *g = &e->r[i];

		if (k->plen != g->plen || k->inner != g->inner_type ||
		    k->type != g->outer_type || k->reclen != g->reclen ||
		    k->seqno != g->seqno ||
		    memcmp(c->w.buf + k->off, g->hdr, GOLDEN_HDR_LEN) != 0)
			fail_msg("%s: record %zu: wire type %u/%u P=%zu "
				 "len=%zu seq=%llu; golden %u/%u P=%zu len=%zu "
				 "seq=%llu",
			    c->k.suite->name, i, k->type, k->inner, k->plen,
			    k->reclen, (unsigned long long)k->seqno,
			    g->outer_type, g->inner_type, g->plen, g->reclen,
			    (unsigned long long)g->seqno);
		assert_int_equal(k->explicit_len, g->explicit_len);
	}
}

/*
 * End a run: close, decrypt, every record against golden's and the
 * plaintext against the bytes the kernel accepted; then free the run.
 */
static void
finish_run(struct ctx *c, struct expect *e, uint8_t *p, uint8_t *sent,
    size_t nsent)
{
	struct rlog l;
	uint8_t *plain;
	size_t plen;

	ctx_close(c);
	ctx_decrypt(c, &plain, &plen, &l);
	compare(c, &l, e);
	assert_int_equal(plen, nsent);
	assert_memory_equal(plain, sent, nsent);
	free(sent);
	free(e->r);
	ctx_free_run(c, &l, plain, p);
}

static size_t
rand_len(struct test_rng *rng)
{

	switch (test_rng_u64(rng) % 6) {
	case 0:
		return (test_rng_u64(rng) % 64);
	case 1:
		return (16382 + test_rng_u64(rng) % 5);
	case 2:
		return (test_rng_u64(rng) % 20000);
	case 3:
		return (20000 + test_rng_u64(rng) % 50000);
	case 4:
		return (32768 + test_rng_u64(rng) % 3);
	default:
		return (1 + test_rng_u64(rng) % 4096);
	}
}

static uint8_t
rand_type(struct test_rng *rng)
{
	static const uint8_t types[] = { TLS_RLTYPE_ALERT, TLS_RLTYPE_HANDSHAKE,
		0x21, 24, TLS_RLTYPE_APP };

	return (types[test_rng_u64(rng) % 5]);
}

/*
 * Unlimited space (hiwat 64 MiB, a wire that takes everything): random
 * writes of every size class, control records and zero-length sends;
 * errors and every record must match golden's.
 */
static void
test_golden_unlimited(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct expect e;
	struct ctx c;
	uint8_t *p, *sent;
	size_t len, nsent;
	ssize_t n;
	int run, i, error, gerr;
	bool ctl;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, test_rng_u64(&(struct test_rng) { run }));
		harness_sndbuf(c.so, BIGBUF, 2048);
		memset(&e, 0, sizeof(e));
		e.seq = c.k.seqno;
		p = payload(&c, 70000);
		sent = malloc(NOPS * 70000);
		nsent = 0;
		for (i = 0; i < NOPS; i++) {
			len = test_rng_u64(&c.h.rng) % 10 == 0 ?
			    0 :
			    rand_len(&c.h.rng);
			ctl = test_rng_u64(&c.h.rng) % 3 == 0;
			n = -1;
			if (ctl) {
				uint8_t t = rand_type(&c.h.rng);

				error = harness_send_type(c.so, t, p, len, &n);
				gerr = golden_one(s, &e, GOLDEN_CONTROL, t, len,
				    BIGBUF, NULL);
			} else {
				error = ksim_write(c.so, p, len, &n);
				gerr = golden_one(s, &e, GOLDEN_WRITE, 0, len,
				    BIGBUF, NULL);
			}
			assert_int_equal(error, gerr);
			assert_int_equal(n, error == 0 ? (ssize_t)len : 0);
			if (error == 0) {
				memcpy(sent + nsent, p, len);
				nsent += len;
			}
			if (test_rng_u64(&c.h.rng) % 4 == 0)
				harness_run(&c.h);
		}
		finish_run(&c, &e, p, sent, nsent);
	}
}

/*
 * What a written record costs in mbuf memory: an mbuf (MSIZE, 256 bytes,
 * sys/sys/param.h) and whole anonymous pages (m_uiotombuf_nomap()).
 */
static long
rec_mem(const struct golden_record *r)
{

	return (256 +
	    GOLDEN_PAGE_SIZE *
		(long)howmany(r->plen, (size_t)GOLDEN_PAGE_SIZE));
}

/*
 * Known, limited space: a small send buffer, a wire that takes nothing
 * during an op (drained fully between ops), an optional filler write so
 * that sbspace() = min(hiwat - (bytes of the filler's records, headers
 * and trailers included), 8 x hiwat - (their mbuf memory: MSIZE and a
 * page per page each, sys/kern/uipc_sockbuf.c sballoc() and
 * sbreserve_locked())), then a non-blocking write or control send.  The
 * test predicts the return value and count from FreeBSD's rules
 * (sys/kern/uipc_socket.c sosend_generic()) and golden the records of what
 * was accepted, with that space.
 */
static void
test_golden_limited(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct expect e;
	struct ctx c;
	uint8_t *p, *sent;
	size_t len, nsent, before, j, filler;
	long hiwat, space, used, mem;
	ssize_t n, want_n;
	int run, i, error, want_err;
	bool ctl;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, 0xfffffffffffffff0ULL + (uint64_t)run);
		hiwat = 2048 + (long)(test_rng_u64(&c.h.rng) % 40000);
		ksim_set_sndbuf(c.so, (u_int)hiwat, 2048);
		ksim_set_nbio(c.so, true);
		memset(&e, 0, sizeof(e));
		e.seq = c.k.seqno;
		p = payload(&c, 70000);
		sent = malloc(NOPS * 2 * 70000);
		nsent = 0;
		for (i = 0; i < NOPS; i++) {
			ctx_drain(&c);
			c.w.limit = c.w.len; /* take nothing for now */
			space = hiwat;
			if (test_rng_u64(&c.h.rng) % 2 == 0) {
				filler =
				    1 + test_rng_u64(&c.h.rng) % (size_t)hiwat;
				write_all(&c, p + 1000, filler);
				before = e.n;
				assert_int_equal(golden_one(s, &e, GOLDEN_WRITE,
						     0, filler, hiwat, &space),
				    0);
				used = mem = 0;
				for (j = before; j < e.n; j++) {
					used += (long)e.r[j].reclen;
					mem += rec_mem(&e.r[j]);
				}
				space = hiwat - used;
				if (8 * hiwat - mem < space)
					space = 8 * hiwat - mem;
				memcpy(sent + nsent, p + 1000, filler);
				nsent += filler;
			}
			len = 1 + rand_len(&c.h.rng);
			ctl = test_rng_u64(&c.h.rng) % 3 == 0;
			/* sosend_generic()'s rules, non-blocking. */
			if (ctl && (long)len > hiwat) {
				want_err = EMSGSIZE;
				want_n = 0;
			} else if (ctl && space < (long)len) {
				want_err = EWOULDBLOCK;
				want_n = 0;
			} else if (space < (long)len && space < 2048) {
				want_err = EWOULDBLOCK;
				want_n = 0;
			} else {
				want_err = 0;
				want_n = (ssize_t)(space < (long)len ?
					(size_t)space :
					len);
			}
			n = -1;
			if (ctl) {
				uint8_t t = rand_type(&c.h.rng);

				error = harness_send_type(c.so, t, p, len, &n);
				if (want_err == EMSGSIZE)
					assert_int_equal(golden_one(s, &e,
							     GOLDEN_CONTROL, t,
							     len, hiwat,
							     &space),
					    EMSGSIZE);
				else if (want_err == 0)
					assert_int_equal(golden_one(s, &e,
							     GOLDEN_CONTROL, t,
							     len, hiwat,
							     &space),
					    0);
			} else {
				error = ksim_write(c.so, p, len, &n);
				if (want_err == 0)
					assert_int_equal(golden_one(s, &e,
							     GOLDEN_WRITE, 0,
							     (size_t)want_n,
							     hiwat, &space),
					    0);
			}
			if (error != want_err || n != want_n)
				fail_msg("%s: op %d (%s %zu, space %ld, hiwat "
					 "%ld): got %d/%zd, want %d/%zd",
				    s->name, i, ctl ? "control" : "write", len,
				    space, hiwat, error, n, want_err, want_n);
			memcpy(sent + nsent, p, (size_t)n);
			nsent += (size_t)n;
		}
		finish_run(&c, &e, p, sent, nsent);
	}
}

static const struct conf_test golden_tests[] = {
	{ "GOLDEN-UNLIMITED", test_golden_unlimited, conf_all },
	{ "GOLDEN-LIMITED", test_golden_limited, conf_all },
};

CONF_MAIN("golden", golden_tests)
