/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group A (docs/conformance.md, "A. Framing"): how the
 * simulated kernel shapes transmitted records.  Every case is generated
 * over every suite of tests/lib/suites.h and runs on both runners (the
 * deterministic one over several seeds, with asynchronous completion so
 * records finish in random order).  Every record is judged by the
 * independent oracle (tests/lib/oracle.h), never by src/ code.
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
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
/* --- Group A: framing ------------------------------------------------- */

#define NSEEDS 16

/*
 * Not applicable to FreeBSD semantics (Linux-only rows of group A):
 *   FR-11 (WAITALL receive) and FR-18 (full duplex): RX is not simulated.
 *   FR-12 (MSG_MORE/MSG_EOR): FreeBSD has no MSG_MORE; MSG_EOR on TCP is
 *     EINVAL (checked in test_fr12_msg_eor below instead).
 *   FR-15/FR-16 (TLS_TX_MAX_PAYLOAD_LEN, EBUSY): no such option.
 *   FR-17 (EBADMSG at seq 2^64-1): FreeBSD never checks for wrap
 *     (sys/kern/uipc_ktls.c ktls_seq() just increments sb_tls_seqno);
 *     test_fr17_seq_wrap pins the FreeBSD behaviour.
 *   FR-19 (concurrent writers): ktlsim's callers use a socket from one
 *     thread at a time (uipc_socket.c), so it is not a TX contract here.
 */

/* FR-01: 64 bytes give exactly one well-formed type-23 record. */
static void
test_fr01_short(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, test_rng_u64(&(struct test_rng) { run }));
		p = payload(&c, 64);
		write_all(&c, p, 64);
		ctx_finish(&c, p, 64, &l);
		assert_int_equal(l.n, 1);
		assert_int_equal(c.w.len, l.r[0].reclen);
		assert_int_equal(c.w.buf[0], TLS_RLTYPE_APP);
		assert_int_equal(c.w.buf[1], 3);
		assert_int_equal(c.w.buf[2],
		    is_tls13(s) ? 3 : (uint8_t)s->tls_vminor);
		assert_int_equal(((size_t)c.w.buf[3] << 8 | c.w.buf[4]) + 5,
		    c.w.len);
		assert_int_equal(l.r[0].inner, TLS_RLTYPE_APP);
		assert_int_equal(l.r[0].plen, 64);
		assert_int_equal(l.r[0].seqno, c.k.seqno);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/* FR-02: 64 KiB: >= 4 records of <= 16384, consecutive seqnos, intact. */
static void
test_fr02_long(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t i;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, 1000 + (uint64_t)run);
		p = payload(&c, 65536);
		write_all(&c, p, 65536);
		ctx_finish(&c, p, 65536, &l);
		assert_true(l.n >= 4);
		for (i = 0; i < l.n; i++) {
			assert_true(l.r[i].plen > 0 && l.r[i].plen <= 16384);
			assert_int_equal(l.r[i].seqno,
			    1000 + (uint64_t)run + i);
			assert_int_equal(l.r[i].inner, TLS_RLTYPE_APP);
		}
		ctx_free_run(&c, &l, NULL, p);
	}
}

/* Decrypt the wire from another starting seqno; must fail on record 0. */
static void
expect_wrong_seq_fails(const struct ctx *c, uint64_t seq)
{
	struct oracle *o;
	uint8_t *plain;
	size_t plen, nrec;

	o = oracle_new(c->k.suite, c->k.cipher_key, c->k.iv, c->k.auth_key,
	    seq);
	assert_non_null(o);
	assert_int_equal(oracle_stream(o, c->w.buf, c->w.len, &plain, &plen,
			     &nrec, NULL, NULL),
	    ORACLE_BAD);
	assert_int_equal(nrec, 0);
	free(plain);
	oracle_free(o);
}

/* FR-03: the initial seqno is honoured, incl. 32-bit carry and 2^63. */
static void
test_fr03_initial_seq(void **state)
{
	const struct conf_case *cc = *state;
	struct test_rng rng;
	uint64_t seqs[] = { 0, 1ULL << 31, 0xffffffffULL, 1ULL << 63,
		0xfffffffffffffffeULL, 0 };
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t i, j;

	test_rng_seed(&rng, conf_seed(cc, 99));
	seqs[5] = test_rng_u64(&rng);
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		ctx_open(&c, cc, (int)(i % 4), seqs[i]);
		/* Three records: 16384 + 16384 + 100. */
		p = payload(&c, 32868);
		write_all(&c, p, 32868);
		ctx_finish(&c, p, 32868, &l);
		assert_int_equal(l.n, 3);
		for (j = 0; j < l.n; j++)
			assert_int_equal(l.r[j].seqno, seqs[i] + j);
		/* Only that seqno authenticates the first record. */
		expect_wrong_seq_fails(&c, seqs[i] + 1);
		expect_wrong_seq_fails(&c, seqs[i] - 1);
		expect_wrong_seq_fails(&c, seqs[i] ^ (1ULL << 32));
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * FR-17 (FreeBSD): no wrap or exhaustion check (ktls_seq()): starting at
 * 2^64 - 2 the third record is numbered 0 (the uint64 counter wraps) and
 * is emitted; Linux would refuse with EBADMSG instead.
 */
static void
test_fr17_seq_wrap(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	int run;

	for (run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open(&c, cc, run, UINT64_MAX - 1);
		p = payload(&c, 300);
		write_all(&c, p, 100);
		write_all(&c, p + 100, 100);
		write_all(&c, p + 200, 100);
		ctx_finish(&c, p, 300, &l);
		assert_int_equal(l.n, 3);
		assert_int_equal(l.r[0].seqno, UINT64_MAX - 1);
		assert_int_equal(l.r[1].seqno, UINT64_MAX);
		assert_int_equal(l.r[2].seqno, 0);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * FR-04: no record exceeds header + explicit + 2^14 + maximum trailer, and
 * every record has exactly the length its payload implies.
 */
static void
test_fr04_size_bound(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	static const size_t sizes[] = { 1, 15, 16, 17, 16383, 16384, 16385,
		32768, 100000 };
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t i, total, nfull;
	int run;

	for (run = 0; run < conf_nruns(cc, 4); run++) {
		ctx_open(&c, cc, run, 7);
		ksim_set_sndbuf(c.so, 1 << 20, 2048);
		total = 0;
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			total += sizes[i];
		p = payload(&c, total);
		total = 0;
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			write_all(&c, p + total, sizes[i]);
			total += sizes[i];
		}
		ctx_finish(&c, p, total, &l);
		nfull = 0;
		for (i = 0; i < l.n; i++) {
			assert_true(l.r[i].reclen <= max_rec_len(s));
			if (l.r[i].plen == 16384) {
				nfull++;
				if (!is_cbc(s))
					assert_int_equal(l.r[i].reclen,
					    max_rec_len(s));
			}
		}
		/* Ample space: 16384 | 16384 + 1 | 2 x | 6 x + 1696. */
		assert_int_equal(nfull, 1 + 1 + 2 + 6);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * FR-05: CBC minimal padding, every padding length: control records of
 * 1..16 bytes (the oracle also checks every padding byte).
 */
static void
test_fr05_cbc_padding(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t n, off, pads;
	int run;

	for (run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open(&c, cc, run, 3);
		p = payload(&c, 16 * 17 / 2);
		off = 0;
		for (n = 1; n <= 16; n++) {
			send_type_all(&c, TLS_RLTYPE_ALERT, p + off, n);
			off += n;
		}
		ctx_finish(&c, p, off, &l);
		assert_int_equal(l.n, 16);
		pads = 0;
		for (n = 1; n <= 16; n++) {
			const struct rlog_rec *e = &l.r[n - 1];

			assert_int_equal(e->plen, n);
			assert_int_equal(e->inner, TLS_RLTYPE_ALERT);
			assert_true(e->padlen >= 1 && e->padlen <= 16);
			assert_int_equal((n + s->auth_key_len + e->padlen) % 16,
			    0);
			pads |= (size_t)1 << (e->padlen - 1);
		}
		/* 16 consecutive lengths walk all 16 padding lengths. */
		assert_int_equal(pads, 0xffff);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * FR-06/FR-07: TLS 1.3 adds no padding (inner = content || type) and the
 * outer header is 23 / 3.3 for data, alert and handshake records.
 */
static void
test_fr06_07_tls13_outer(void **state)
{
	const struct conf_case *cc = *state;
	static const uint8_t types[] = { TLS_RLTYPE_APP, TLS_RLTYPE_ALERT,
		TLS_RLTYPE_HANDSHAKE, TLS_RLTYPE_APP, TLS_RLTYPE_HANDSHAKE };
	static const size_t lens[] = { 100, 2, 50, 1, 16384 };
	struct rlog l;
	struct ctx c;
	uint8_t *p, *h;
	size_t i, off;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, 11);
		p = payload(&c, 16537);
		off = 0;
		for (i = 0; i < 5; i++) {
			if (types[i] == TLS_RLTYPE_APP)
				write_all(&c, p + off, lens[i]);
			else
				send_type_all(&c, types[i], p + off, lens[i]);
			off += lens[i];
		}
		ctx_finish(&c, p, off, &l);
		assert_int_equal(l.n, 5);
		for (i = 0; i < 5; i++) {
			h = c.w.buf + l.r[i].off;
			assert_int_equal(h[0], TLS_RLTYPE_APP);
			assert_int_equal(h[1], 3);
			assert_int_equal(h[2], 3);
			assert_int_equal((size_t)h[3] << 8 | h[4],
			    lens[i] + 1 + 16);
			assert_int_equal(l.r[i].inner, types[i]);
			assert_int_equal(l.r[i].plen, lens[i]);
		}
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * FR-08: TLS 1.0 CBC zero-length write returns 0, emits one empty type-23
 * record (MAC + padding only) that consumes a seqno.
 * FR-09: any other suite: EINVAL and nothing emitted (no seqno used).
 */
static void
test_fr08_09_empty_write(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	ssize_t n;
	int run, error;

	for (run = 0; run < conf_nruns(cc, 4); run++) {
		ctx_open(&c, cc, run, 500);
		p = payload(&c, 10);
		n = -1;
		error = ksim_write(c.so, NULL, 0, &n);
		assert_int_equal(n, 0);
		if (is_tls10(s)) {
			assert_int_equal(error, 0);
		} else {
			assert_int_equal(error, EINVAL);
			harness_run(&c.h);
			assert_int_equal(c.w.len, 0);
		}
		write_all(&c, p, 10);
		ctx_finish(&c, p, 10, &l);
		if (is_tls10(s)) {
			assert_int_equal(l.n, 2);
			assert_int_equal(l.r[0].plen, 0);
			assert_int_equal(l.r[0].inner, TLS_RLTYPE_APP);
			assert_int_equal(l.r[0].seqno, 500);
			/* MAC 20 + 12 padding bytes: 37 bytes on the wire. */
			assert_int_equal(l.r[0].reclen, 5 + 32);
			assert_int_equal(l.r[1].plen, 10);
			assert_int_equal(l.r[1].seqno, 501);
		} else {
			/* The first record is the data, at the first seqno. */
			assert_int_equal(l.n, 1);
			assert_int_equal(l.r[0].seqno, 500);
		}
		ctx_free_run(&c, &l, NULL, p);
	}
}

/* MSG_EOR on a stream socket: EINVAL (FreeBSD's substitute for FR-12). */
static void
test_fr12_msg_eor(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	ssize_t n;

	ctx_open(&c, cc, 1, 0);
	p = payload(&c, 40);
	assert_int_equal(harness_sendmsg(c.so, p, 20, MSG_EOR, NULL, 0, &n),
	    EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(harness_sendmsg(c.so, p + 20, 20, 0, NULL, 0, &n), 0);
	assert_int_equal(n, 20);
	ctx_finish(&c, p + 20, 20, &l);
	assert_int_equal(l.n, 1);
	ctx_free_run(&c, &l, NULL, p);
}

/*
 * FR-10: a non-blocking writer with a small send buffer and a wire that
 * takes a little at a time sees EWOULDBLOCK, and the stream stays whole.
 */
static void
test_fr10_nonblocking(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t off, total, want, i;
	ssize_t n;
	int run, error, nwb, npartial;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, 77);
		ksim_set_sndbuf(c.so, 8192, 2048);
		ksim_set_nbio(c.so, true);
		c.w.limit = 3000;
		total = 120000;
		p = payload(&c, total);
		nwb = npartial = 0;
		for (off = 0; off < total;) {
			want = 1 + test_rng_u64(&c.h.rng) % 12000;
			if (want > total - off)
				want = total - off;
			error = ksim_write(c.so, p + off, want, &n);
			if (error == EWOULDBLOCK) {
				assert_int_equal(n, 0);
				nwb++;
				/* The peer reads some: the wire drains. */
				harness_run(&c.h);
				c.w.limit +=
				    2000 + test_rng_u64(&c.h.rng) % 8000;
				tcp_output_kick(c.so);
				continue;
			}
			assert_int_equal(error, 0);
			assert_true(n > 0 && (size_t)n <= want);
			if ((size_t)n < want)
				npartial++;
			off += (size_t)n;
		}
		assert_true(nwb >= 1);
		assert_true(npartial >= 1);
		ctx_finish(&c, p, total, &l);
		for (i = 0; i < l.n; i++)
			assert_int_equal(l.r[i].inner, TLS_RLTYPE_APP);
		ctx_free_run(&c, &l, NULL, p);
	}
}

static void
sendmsg_all(struct ctx *c, struct iovec *iov, int iovcnt, size_t total)
{
	struct msghdr msg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovcnt;
	assert_int_equal(ksim_sendmsg(c->so, &msg, 0, &n), 0);
	assert_int_equal(n, (ssize_t)total);
}

/* FR-13: gather I/O: 1..64 iovecs of 13 bytes, 5 uneven ones, 1024. */
static void
test_fr13_gather(void **state)
{
	const struct conf_case *cc = *state;
	static const size_t five[] = { 1, 4095, 4097, 16384, 7 };
	struct iovec *iov;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t off, total, i, k;
	int run;

	for (run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open(&c, cc, run, 13);
		total = 13 * 64 * 65 / 2 + 13 * 1024 + 4095 + 4097 + 16384 + 8;
		p = payload(&c, total);
		iov = calloc(1024, sizeof(*iov));
		off = 0;
		for (k = 1; k <= 64; k++) {
			for (i = 0; i < k; i++) {
				iov[i].iov_base = p + off + 13 * i;
				iov[i].iov_len = 13;
			}
			sendmsg_all(&c, iov, (int)k, 13 * k);
			off += 13 * k;
		}
		for (i = 0; i < 5; i++) {
			iov[i].iov_base = p + off;
			iov[i].iov_len = five[i];
			off += five[i];
		}
		sendmsg_all(&c, iov, 5, 4095 + 4097 + 16384 + 8);
		for (i = 0; i < 1024; i++) {
			iov[i].iov_base = p + off + 13 * i;
			iov[i].iov_len = 13;
		}
		sendmsg_all(&c, iov, 1024, 13 * 1024);
		off += 13 * 1024;
		assert_int_equal(off, total);
		ctx_finish(&c, p, total, &l);
		free(iov);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/* FR-14: volume: 128 x 16 KiB writes, then one 100000-byte write. */
static void
test_fr14_volume(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t total, i;
	int run;

	for (run = 0; run < conf_nruns(cc, 2) && run < 2; run++) {
		ctx_open(&c, cc, run + 1, 1ULL << 40);
		total = 128 * 16384 + 100000;
		p = payload(&c, total);
		for (i = 0; i < 128; i++)
			write_all(&c, p + i * 16384, 16384);
		write_all(&c, p + 128 * 16384, 100000);
		ctx_finish(&c, p, total, &l);
		assert_true(l.n >= 128 + 7);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * Record boundaries follow sbspace() at write time (sys/kern/uipc_socket.c
 * sosend_generic() takes min(resid, space) per pass): a 40000-byte write
 * with ample space gives 16384, 16384, 7232; with 20000 bytes of space 16384
 * and 3616, then (once space frees) the rest.
 */
static void
test_fr_sbspace_boundaries(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t i, sum;
	ssize_t n;
	int run, mode;

	for (run = 0; run < conf_nruns(cc, 4); run++) {
		for (mode = 0; mode < 3; mode++) {
			ctx_open(&c, cc, run, 40000);
			p = payload(&c, 40000);
			if (mode == 0) {
				/* Ample space. */
				ksim_set_sndbuf(c.so, 1 << 20, 2048);
				write_all(&c, p, 40000);
			} else if (mode == 1) {
				/*
				 * 20000 bytes of space and a wire that takes
				 * nothing: the non-blocking write stops after
				 * one pass.
				 */
				ksim_set_sndbuf(c.so, 20000, 2048);
				ksim_set_nbio(c.so, true);
				c.w.limit = 0;
				assert_int_equal(ksim_write(c.so, p, 40000, &n),
				    0);
				assert_int_equal(n, 20000);
				assert_int_equal(ksim_write(c.so, p + 20000,
						     20000, &n),
				    EWOULDBLOCK);
				assert_int_equal(n, 0);
				ctx_drain(&c);
				c.w.limit = c.w.len;
				assert_int_equal(ksim_write(c.so, p + 20000,
						     20000, &n),
				    0);
				assert_int_equal(n, 20000);
			} else {
				/* Blocking: waits for space, then goes on. */
				ksim_set_sndbuf(c.so, 20000, 2048);
				write_all(&c, p, 40000);
			}
			ctx_finish(&c, p, 40000, &l);
			if (mode == 0) {
				assert_int_equal(l.n, 3);
				assert_int_equal(l.r[0].plen, 16384);
				assert_int_equal(l.r[1].plen, 16384);
				assert_int_equal(l.r[2].plen, 7232);
			} else if (mode == 1) {
				assert_int_equal(l.n, 4);
				assert_int_equal(l.r[0].plen, 16384);
				assert_int_equal(l.r[1].plen, 3616);
				assert_int_equal(l.r[2].plen, 16384);
				assert_int_equal(l.r[3].plen, 3616);
			} else {
				assert_true(l.n >= 3);
				assert_int_equal(l.r[0].plen, 16384);
				assert_int_equal(l.r[1].plen, 3616);
				sum = 0;
				for (i = 2; i < l.n; i++)
					sum += l.r[i].plen;
				assert_int_equal(sum, 20000);
			}
			ctx_free_run(&c, &l, NULL, p);
		}
	}
}

/*
 * kern.ipc.tls.maxlen below 2^14 lowers max_frame_len for new sessions:
 * writes and control sends are cut at it (the knob is restored).
 */
static void
test_fr_maxlen(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	int run;

	for (run = 0; run < conf_nruns(cc, 4); run++) {
		ktls_maxlen = 8192;
		ctx_open(&c, cc, run, 8192);
		ktls_maxlen = 16384;
		p = payload(&c, 40000);
		write_all(&c, p, 20000);
		send_type_all(&c, TLS_RLTYPE_HANDSHAKE, p + 20000, 20000);
		ctx_finish(&c, p, 40000, &l);
		assert_int_equal(l.n, 6);
		assert_int_equal(l.r[0].plen, 8192);
		assert_int_equal(l.r[1].plen, 8192);
		assert_int_equal(l.r[2].plen, 3616);
		assert_int_equal(l.r[3].plen, 8192);
		assert_int_equal(l.r[5].plen, 3616);
		assert_int_equal(l.r[2].inner, TLS_RLTYPE_APP);
		assert_int_equal(l.r[3].inner, TLS_RLTYPE_HANDSHAKE);
		assert_int_equal(l.r[5].inner, TLS_RLTYPE_HANDSHAKE);
		ctx_free_run(&c, &l, NULL, p);
	}
}

static const struct conf_test framing_tests[] = {
	{ "FR-01", test_fr01_short, conf_all },
	{ "FR-02", test_fr02_long, conf_all },
	{ "FR-03", test_fr03_initial_seq, conf_all },
	{ "FR-04", test_fr04_size_bound, conf_all },
	{ "FR-05", test_fr05_cbc_padding, is_cbc },
	{ "FR-06-07", test_fr06_07_tls13_outer, is_tls13 },
	{ "FR-08-09", test_fr08_09_empty_write, conf_all },
	{ "FR-10", test_fr10_nonblocking, conf_all },
	{ "FR-12-EOR", test_fr12_msg_eor, conf_all },
	{ "FR-13", test_fr13_gather, conf_all },
	{ "FR-14", test_fr14_volume, conf_all },
	{ "FR-17", test_fr17_seq_wrap, conf_all },
	{ "FR-SB", test_fr_sbspace_boundaries, conf_all },
	{ "FR-MAXLEN", test_fr_maxlen, conf_all },
};

CONF_MAIN("framing", framing_tests)
