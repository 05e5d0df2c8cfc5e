/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group C, transmit side (docs/conformance.md, "C. Record
 * types"): TLS_SET_RECORD_TYPE control records, as sys/kern/uipc_socket.c
 * sosend_generic() handles them.  Generated over tests/lib/suites.h, on both
 * runners; every record is judged by the independent oracle.
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
/* --- Group C: record types and control records (transmit side) -------- */

#define NSEEDS 8

/*
 * Not applicable on FreeBSD TX: CT-02/CT-03 (MSG_MORE), CT-04..CT-14
 * (receive side; not simulated).
 */

/*
 * CT-01: a 32-byte control record (0x21 as in FreeBSD's test, and 21 =
 * alert): sendmsg returns 32, exactly one record, whose type (outer for
 * TLS <= 1.2, inner for 1.3) is the requested one and payload identical.
 */
static void
test_ct01_control(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	static const uint8_t types[] = { 0x21, TLS_RLTYPE_ALERT };
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t t;
	ssize_t n;
	int run;

	for (run = 0; run < conf_nruns(cc, 4); run++) {
		for (t = 0; t < 2; t++) {
			ctx_open(&c, cc, run, 0x1234);
			p = payload(&c, 32);
			assert_int_equal(harness_send_type(c.so, types[t], p,
					     32, &n),
			    0);
			assert_int_equal(n, 32);
			ctx_finish(&c, p, 32, &l);
			assert_int_equal(l.n, 1);
			assert_int_equal(l.r[0].inner, types[t]);
			assert_int_equal(c.w.buf[0],
			    is_tls13(s) ? TLS_RLTYPE_APP : types[t]);
			ctx_free_run(&c, &l, NULL, p);
		}
	}
}

/*
 * A control send is atomic and every record it makes carries the type:
 * a 20000-byte handshake message gives two type-22 records, 16384 + 3616.
 * The cmsg level is not checked (FreeBSD looks only at cmsg_type).
 */
static void
test_ct_handshake_split(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p, t = TLS_RLTYPE_HANDSHAKE;
	ssize_t n;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, 22);
		p = payload(&c, 20000 + 10);
		send_type_all(&c, TLS_RLTYPE_HANDSHAKE, p, 20000);
		assert_int_equal(harness_sendmsg_cmsg(c.so, SOL_SOCKET,
				     TLS_SET_RECORD_TYPE, &t, 1, 0, p + 20000,
				     10, &n),
		    0);
		assert_int_equal(n, 10);
		ctx_finish(&c, p, 20010, &l);
		assert_int_equal(l.n, 3);
		assert_int_equal(l.r[0].plen, 16384);
		assert_int_equal(l.r[1].plen, 3616);
		assert_int_equal(l.r[2].plen, 10);
		assert_int_equal(l.r[0].inner, TLS_RLTYPE_HANDSHAKE);
		assert_int_equal(l.r[1].inner, TLS_RLTYPE_HANDSHAKE);
		assert_int_equal(l.r[2].inner, TLS_RLTYPE_HANDSHAKE);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * A control record larger than sb_hiwat: EMSGSIZE, nothing emitted, no
 * seqno consumed; exactly hiwat bytes is fine.
 */
static void
test_ct_emsgsize(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	ssize_t n;
	int run;

	for (run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open(&c, cc, run, 90);
		ksim_set_sndbuf(c.so, 8192, 2048);
		p = payload(&c, 8193 + 8192 + 5);
		n = -1;
		assert_int_equal(harness_send_type(c.so, TLS_RLTYPE_ALERT, p,
				     8193, &n),
		    EMSGSIZE);
		assert_int_equal(n, 0);
		harness_run(&c.h);
		assert_int_equal(c.w.len, 0);
		/* Plain writes larger than hiwat are not atomic: fine. */
		write_all(&c, p, 5);
		send_type_all(&c, TLS_RLTYPE_ALERT, p + 5, 8192);
		ctx_finish(&c, p, 5 + 8192, &l);
		assert_int_equal(l.n, 2);
		assert_int_equal(l.r[0].seqno, 90);
		assert_int_equal(l.r[0].inner, TLS_RLTYPE_APP);
		assert_int_equal(l.r[1].plen, 8192);
		assert_int_equal(l.r[1].inner, TLS_RLTYPE_ALERT);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * Non-blocking control send without room for all of it: EWOULDBLOCK and
 * nothing emitted (atomic: no partial record); after the drain it goes.
 */
static void
test_ct_nbio_wouldblock(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	ssize_t n;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, 1ULL << 32);
		ksim_set_sndbuf(c.so, 8192, 2048);
		ksim_set_nbio(c.so, true);
		c.w.limit = 0;
		p = payload(&c, 5000 + 4000);
		write_all(&c, p, 5000);
		/* 8192 - 5000 - overhead < 4000: no room. */
		n = -1;
		assert_int_equal(harness_send_type(c.so, TLS_RLTYPE_HANDSHAKE,
				     p + 5000, 4000, &n),
		    EWOULDBLOCK);
		assert_int_equal(n, 0);
		harness_run(&c.h);
		ctx_drain(&c);
		c.w.limit = c.w.len;
		send_type_all(&c, TLS_RLTYPE_HANDSHAKE, p + 5000, 4000);
		ctx_finish(&c, p, 9000, &l);
		assert_int_equal(l.n, 2);
		assert_int_equal(l.r[0].plen, 5000);
		assert_int_equal(l.r[0].inner, TLS_RLTYPE_APP);
		assert_int_equal(l.r[1].plen, 4000);
		assert_int_equal(l.r[1].inner, TLS_RLTYPE_HANDSHAKE);
		assert_int_equal(l.r[1].seqno, (1ULL << 32) + 1);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * A cmsg of another type, or a control buffer shorter than a cmsghdr:
 * EINVAL, nothing emitted.
 */
static void
test_ct_bad_cmsg(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p, t = TLS_RLTYPE_ALERT;
	ssize_t n;

	ctx_open(&c, cc, 1, 3);
	p = payload(&c, 16);
	n = -1;
	assert_int_equal(harness_sendmsg_cmsg(c.so, IPPROTO_TCP, TLS_GET_RECORD,
			     &t, 1, 0, p, 16, &n),
	    EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(harness_sendmsg_cmsg(c.so, IPPROTO_TCP, 99, &t, 1, 0,
			     p, 16, &n),
	    EINVAL);
	assert_int_equal(harness_sendmsg_cmsg(c.so, IPPROTO_TCP,
			     TLS_SET_RECORD_TYPE, &t, 1, 4, p, 16, &n),
	    EINVAL);
	harness_run(&c.h);
	assert_int_equal(c.w.len, 0);
	write_all(&c, p, 16);
	ctx_finish(&c, p, 16, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].seqno, 3);
	ctx_free_run(&c, &l, NULL, p);
}

/*
 * TLS_SET_RECORD_TYPE on a socket without KTLS: EINVAL (tcp_usr_send
 * refuses control data); plain writes still go out as they are.
 */
static void
test_ct_non_ktls(void **state)
{
	const struct conf_case *cc = *state;
	struct ctx c;
	uint8_t *p;
	ssize_t n;

	ctx_open_suite(&c, cc, cc->s, 0, 0, false);
	p = payload(&c, 50);
	n = -1;
	assert_int_equal(harness_send_type(c.so, TLS_RLTYPE_ALERT, p, 50, &n),
	    EINVAL);
	assert_int_equal(n, 0);
	harness_run(&c.h);
	assert_int_equal(c.w.len, 0);
	write_all(&c, p, 50);
	ctx_close(&c);
	assert_int_equal(c.w.len, 50);
	assert_memory_equal(c.w.buf, p, 50);
	free(p);
	ctx_free(&c);
}

/*
 * A control-only sendmsg of 0 bytes: EINVAL, except TLS 1.0 CBC, which
 * sends one empty record of that type.
 */
static void
test_ct_zero_control(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	ssize_t n;
	int run, error;

	for (run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open(&c, cc, run, 44);
		p = payload(&c, 8);
		n = -1;
		error = harness_send_type(c.so, TLS_RLTYPE_HANDSHAKE, p, 0, &n);
		assert_int_equal(n, 0);
		assert_int_equal(error, is_tls10(s) ? 0 : EINVAL);
		write_all(&c, p, 8);
		ctx_finish(&c, p, 8, &l);
		if (is_tls10(s)) {
			assert_int_equal(l.n, 2);
			assert_int_equal(l.r[0].plen, 0);
			assert_int_equal(l.r[0].inner, TLS_RLTYPE_HANDSHAKE);
			assert_int_equal(l.r[0].seqno, 44);
			assert_int_equal(l.r[1].inner, TLS_RLTYPE_APP);
		} else {
			assert_int_equal(l.n, 1);
			assert_int_equal(l.r[0].seqno, 44);
		}
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * Data, control, data...: order kept, each record with its own type and
 * consecutive seqnos, whatever order the records finish in.
 */
static void
test_ct_ordering(void **state)
{
	const struct conf_case *cc = *state;
	static const struct {
		uint8_t type;
		size_t len;
	} ops[] = { { 23, 100 }, { 22, 50 }, { 23, 200 }, { 21, 2 },
		{ 23, 16389 }, { 22, 20000 }, { 23, 1 }, { 0x21, 7 } };
	static const uint8_t wtype[] = { 23, 22, 23, 21, 23, 23, 22, 22, 23,
		0x21 };
	static const size_t wlen[] = { 100, 50, 200, 2, 16384, 5, 16384, 3616,
		1, 7 };
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t i, off;
	int run;

	for (run = 0; run < conf_nruns(cc, 16); run++) {
		ctx_open(&c, cc, run, 0xffffffffULL - 3);
		p = payload(&c, 36749);
		off = 0;
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (ops[i].type == TLS_RLTYPE_APP)
				write_all(&c, p + off, ops[i].len);
			else
				send_type_all(&c, ops[i].type, p + off,
				    ops[i].len);
			off += ops[i].len;
		}
		assert_int_equal(off, 36749);
		ctx_finish(&c, p, off, &l);
		assert_int_equal(l.n, 10);
		for (i = 0; i < l.n; i++) {
			assert_int_equal(l.r[i].inner, wtype[i]);
			assert_int_equal(l.r[i].plen, wlen[i]);
		}
		ctx_free_run(&c, &l, NULL, p);
	}
}

static const struct conf_test control_tests[] = {
	{ "CT-01", test_ct01_control, conf_all },
	{ "CT-HS-SPLIT", test_ct_handshake_split, conf_all },
	{ "CT-EMSGSIZE", test_ct_emsgsize, conf_all },
	{ "CT-NBIO", test_ct_nbio_wouldblock, conf_all },
	{ "CT-BAD-CMSG", test_ct_bad_cmsg, conf_all },
	{ "CT-NON-KTLS", test_ct_non_ktls, conf_all },
	{ "CT-ZERO", test_ct_zero_control, conf_all },
	{ "CT-ORDER", test_ct_ordering, conf_all },
};

CONF_MAIN("control", control_tests)
