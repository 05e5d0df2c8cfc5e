/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Tests of the golden record-layout model against hand-computed examples
 * (docs/record-layouts.md, FreeBSD's sosend_generic() and vn_sendfile()) and
 * the RFC record formats.  Every expected number below was worked out by
 * hand; the arithmetic is in the comment next to it.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sys/ktls.h"

#include "golden.h"

#define nitems(x) (sizeof(x) / sizeof((x)[0]))

#define MAXLEN 16384
#define LOWAT 2048
#define HIWAT 65536

static const struct golden_suite gcm12 = { CRYPTO_AES_NIST_GCM_16, 0,
	TLS_MINOR_VER_TWO };
static const struct golden_suite gcm13 = { CRYPTO_AES_NIST_GCM_16, 0,
	TLS_MINOR_VER_THREE };
static const struct golden_suite chacha12 = { CRYPTO_CHACHA20_POLY1305, 0,
	TLS_MINOR_VER_TWO };
static const struct golden_suite chacha13 = { CRYPTO_CHACHA20_POLY1305, 0,
	TLS_MINOR_VER_THREE };
static const struct golden_suite cbc10 = { CRYPTO_AES_CBC, CRYPTO_SHA1_HMAC,
	TLS_MINOR_VER_ZERO };
static const struct golden_suite cbc11 = { CRYPTO_AES_CBC, CRYPTO_SHA1_HMAC,
	TLS_MINOR_VER_ONE };
static const struct golden_suite cbc12 = { CRYPTO_AES_CBC, CRYPTO_SHA1_HMAC,
	TLS_MINOR_VER_TWO };
static const struct golden_suite cbc12_256 = { CRYPTO_AES_CBC,
	CRYPTO_SHA2_256_HMAC, TLS_MINOR_VER_TWO };
static const struct golden_suite cbc12_384 = { CRYPTO_AES_CBC,
	CRYPTO_SHA2_384_HMAC, TLS_MINOR_VER_TWO };

static void
check_hdr(const struct golden_record *r, uint8_t t, uint8_t maj, uint8_t min,
    size_t len)
{
	uint8_t want[GOLDEN_HDR_LEN] = { t, maj, min, (uint8_t)(len >> 8),
		(uint8_t)len };

	assert_memory_equal(r->hdr, want, sizeof(want));
	assert_int_equal(r->reclen, GOLDEN_HDR_LEN + len);
}

/* Run ops and check the payload lengths of the records. */
static void
run_expect(const struct golden_suite *s, const struct golden_sock *sock,
    uint64_t seq0, const struct golden_op *ops, size_t nops,
    const size_t *plens, size_t nplens)
{
	struct golden_record *recs;
	size_t i, n;

	assert_int_equal(golden_run_sock(s, sock, seq0, ops, nops, &recs, &n),
	    0);
	assert_int_equal(n, nplens);
	for (i = 0; i < n; i++) {
		assert_int_equal(recs[i].plen, plens[i]);
		assert_int_equal(recs[i].seqno, seq0 + i);
	}
	golden_free(recs);
}

static const struct golden_sock dflt = { MAXLEN, HIWAT, LOWAT, true };

/*
 * One hand-computed record: golden_frame(s, type, plen) gives the header
 * { hdr_type, 3, hdr_minor, hdr_len } (and m_len = 5 + hdr_len) and, where
 * not ANY, these explicit, trailer and record lengths.
 */
#define ANY (-1)

struct frame_case {
	const struct golden_suite *s;
	uint8_t type;
	size_t plen;
	uint8_t hdr_type;
	uint8_t hdr_minor;
	size_t hdr_len;
	int explicit_len;
	int trailer_len;
	int reclen;
};

static void
check_frames(const struct frame_case *fc, size_t n)
{
	struct golden_record r;
	size_t i;

	for (i = 0; i < n; i++, fc++) {
		assert_int_equal(golden_frame(fc->s, fc->type, fc->plen, &r),
		    0);
		check_hdr(&r, fc->hdr_type, 3, fc->hdr_minor, fc->hdr_len);
		if (fc->explicit_len != ANY)
			assert_int_equal(r.explicit_len, fc->explicit_len);
		if (fc->trailer_len != ANY)
			assert_int_equal(r.trailer_len, fc->trailer_len);
		if (fc->reclen != ANY)
			assert_int_equal(r.reclen, fc->reclen);
	}
}

/* docs/record-layouts.md worked examples, P = 100 for each AEAD suite. */
static void
test_frame_aead(void **state)
{
	static const struct frame_case cases[] = {
		/* GCM 1.2: 8 explicit + 100 + 16 tag = 124 = 0x7c, m_len 129 */
		{ &gcm12, TLS_RLTYPE_APP, 100, 0x17, 3, 0x7c, 8, 16, 129 },
		/* GCM 1.3: 100 + 1 type + 16 tag = 117 = 0x75; m_len 122. */
		{ &gcm13, TLS_RLTYPE_APP, 100, 0x17, 3, 0x75, 0, 17, 122 },
		/* ChaCha 1.2: 100 + 16 = 116 = 0x74; m_len 121. */
		{ &chacha12, TLS_RLTYPE_APP, 100, 0x17, 3, 0x74, ANY, ANY,
		    121 },
		/* ChaCha 1.3: same as GCM 1.3. */
		{ &chacha13, TLS_RLTYPE_APP, 100, 0x17, 3, 0x75, ANY, ANY,
		    ANY },
	};

	check_frames(cases, nitems(cases));
}

/* TLS 1.3 hides the real type (RFC 8446 5.1, 5.2). */
static void
test_frame_tls13_type(void **state)
{
	struct golden_record r;

	assert_int_equal(golden_frame(&gcm13, TLS_RLTYPE_ALERT, 2, &r), 0);
	assert_int_equal(r.outer_type, TLS_RLTYPE_APP);
	assert_int_equal(r.inner_type, TLS_RLTYPE_ALERT);
	/* 2 + 1 + 16 = 19 */
	check_hdr(&r, 0x17, 3, 3, 19);

	assert_int_equal(golden_frame(&gcm12, TLS_RLTYPE_ALERT, 2, &r), 0);
	assert_int_equal(r.outer_type, TLS_RLTYPE_ALERT);
	/* 8 + 2 + 16 = 26 */
	check_hdr(&r, 0x15, 3, 3, 26);
}

/* CBC trailers: MAC and minimal padding (ktls_frame()). */
static void
test_frame_cbc(void **state)
{
	static const struct frame_case cases[] = {
		/* SHA1, P 100: (100+20) % 16 = 8, pad 8, trailer 28, 16+128 */
		{ &cbc12, TLS_RLTYPE_APP, 100, 0x17, 3, 144, 16, 28, 149 },
		/* TLS 1.1 identical apart from the minor version. */
		{ &cbc11, TLS_RLTYPE_APP, 100, 0x17, 2, 144, ANY, ANY, ANY },
		/* TLS 1.0 empty: pad 16 - 20 % 16 = 12, trailer 32, no IV. */
		{ &cbc10, TLS_RLTYPE_APP, 0, 0x17, 1, 32, 0, ANY, 37 },
		/* SHA1, P 12: 32 % 16 = 0 -> a full block of padding, 36. */
		{ &cbc12, TLS_RLTYPE_APP, 12, 0x17, 3, 16 + 12 + 36, ANY, 36,
		    ANY },
		/* SHA256, P 100: 132 % 16 = 4, pad 12, trailer 44, 160. */
		{ &cbc12_256, TLS_RLTYPE_APP, 100, 0x17, 3, 160, ANY, 44, ANY },
		/* SHA384, P 100: 148 % 16 = 4, pad 12, trailer 60, 176. */
		{ &cbc12_384, TLS_RLTYPE_APP, 100, 0x17, 3, 176, ANY, 60, ANY },
		/* SHA384, P 16384: 16432 % 16 = 0, pad 16, 16+16384+64 */
		{ &cbc12_384, TLS_RLTYPE_APP, 16384, 0x17, 3, 16464, ANY, 64,
		    ANY },
	};

	check_frames(cases, nitems(cases));
}

/* Invariants over every valid suite and many lengths. */
static void
test_frame_invariants(void **state)
{
	static const struct golden_suite *all[] = { &gcm12, &gcm13, &chacha12,
		&chacha13, &cbc10, &cbc11, &cbc12, &cbc12_256, &cbc12_384 };
	struct golden_record r;
	size_t i, p, pad;

	for (i = 0; i < nitems(all); i++) {
		for (p = 0; p <= 16384; p += (p < 64 ? 1 : 61)) {
			assert_int_equal(golden_frame(all[i], 23, p, &r), 0);
			assert_int_equal(r.reclen,
			    GOLDEN_HDR_LEN + r.explicit_len + p +
				r.trailer_len);
			assert_int_equal((r.hdr[3] << 8) | r.hdr[4],
			    r.reclen - GOLDEN_HDR_LEN);
			if (all[i]->cipher_algorithm != CRYPTO_AES_CBC)
				continue;
			/* RFC 5246 6.2.3.2: block aligned, 1..16 pad. */
			assert_int_equal((p + r.trailer_len) % 16, 0);
			pad = r.trailer_len -
			    (all[i] == &cbc12_256	 ? 32 :
				    all[i] == &cbc12_384 ? 48 :
							   20);
			assert_true(pad >= 1 && pad <= 16);
		}
		assert_int_equal(golden_frame(all[i], 23, 16385, &r), EINVAL);
	}
}

/* Combinations FreeBSD's ktls_create_session() refuses. */
static void
test_invalid_suites(void **state)
{
	static const struct golden_suite bad[] = {
		{ CRYPTO_AES_NIST_GCM_16, 0, TLS_MINOR_VER_ONE },
		{ CRYPTO_AES_NIST_GCM_16, 0, TLS_MINOR_VER_ZERO },
		{ CRYPTO_CHACHA20_POLY1305, 0, TLS_MINOR_VER_ONE },
		{ CRYPTO_AES_CBC, CRYPTO_SHA2_256_HMAC, TLS_MINOR_VER_ONE },
		{ CRYPTO_AES_CBC, CRYPTO_SHA2_384_HMAC, TLS_MINOR_VER_ZERO },
		{ CRYPTO_AES_CBC, CRYPTO_SHA1_HMAC, TLS_MINOR_VER_THREE },
		{ CRYPTO_AES_CBC, 0, TLS_MINOR_VER_TWO },
		{ CRYPTO_AES_ICM, 0, TLS_MINOR_VER_TWO },
	};
	struct golden_op op = { .kind = GOLDEN_WRITE, .len = 10 };
	struct golden_record r, *recs;
	size_t i, n;

	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(golden_frame(&bad[i], 23, 10, &r), EINVAL);
		assert_int_equal(golden_run(&bad[i], 0, MAXLEN, LOWAT, HIWAT,
				     &op, 1, &recs, &n),
		    EINVAL);
		assert_int_equal(n, 0);
		golden_free(recs);
	}
}

/* sosend_generic(): a 40000-byte write with ample space. */
static void
test_write_ample(void **state)
{
	struct golden_op op = { .kind = GOLDEN_WRITE, .len = 40000 };
	static const size_t want[] = { 16384, 16384, 7232 };
	struct golden_record *recs;
	size_t n;

	run_expect(&gcm12, &dflt, 7, &op, 1, want, nitems(want));

	assert_int_equal(golden_run(&gcm12, 7, MAXLEN, LOWAT, HIWAT, &op, 1,
			     &recs, &n),
	    0);
	assert_int_equal(n, 3);
	/* Payload offsets within the user buffer. */
	assert_int_equal(recs[0].src_off, 0);
	assert_int_equal(recs[1].src_off, 16384);
	assert_int_equal(recs[2].src_off, 32768);
	assert_int_equal(recs[2].src, GOLDEN_SRC_USER);
	/* 8 + 7232 + 16 = 7256 = 0x1c58 */
	check_hdr(&recs[2], 0x17, 3, 3, 7256);
	golden_free(recs);
}

/* sosend_generic(): 20000 bytes of space, then unlimited. */
static void
test_write_limited(void **state)
{
	static const long sp1[] = { 20000 };
	static const size_t want1[] = { 16384, 3616, 16384, 3616 };
	/* 1000 < lowat: wait; 3000 >= lowat: take it; then the rest. */
	static const long sp2[] = { 20000, 1000, 3000 };
	static const size_t want2[] = { 16384, 3616, 3000, 16384, 616 };
	/* Negative sbspace (framing overhead overshoot) also waits. */
	static const long sp3[] = { -500, 0, 5000 };
	static const size_t want3[] = { 5000 };
	struct golden_op op = { .kind = GOLDEN_WRITE, .len = 40000 };

	op.space = sp1;
	op.nspace = nitems(sp1);
	run_expect(&gcm12, &dflt, 0, &op, 1, want1, nitems(want1));
	op.space = sp2;
	op.nspace = nitems(sp2);
	run_expect(&gcm12, &dflt, 0, &op, 1, want2, nitems(want2));
	op.len = 5000;
	op.space = sp3;
	op.nspace = nitems(sp3);
	run_expect(&cbc12, &dflt, 0, &op, 1, want3, nitems(want3));
}

/* sosend_generic(): a 20000-byte handshake message sent atomically. */
static void
test_control(void **state)
{
	/* Atomic: 10000 < 20000 waits even though above lowat. */
	static const long sp[] = { 10000, 19999, 20000 };
	static const size_t want[] = { 16384, 3616 };
	struct golden_op op = { .kind = GOLDEN_CONTROL,
		.len = 20000,
		.type = TLS_RLTYPE_HANDSHAKE,
		.space = sp,
		.nspace = nitems(sp) };
	struct golden_op op2[2] = {
		{ .kind = GOLDEN_CONTROL,
		    .len = 20000,
		    .type = TLS_RLTYPE_HANDSHAKE },
		{ .kind = GOLDEN_WRITE, .len = 10 },
	};
	struct golden_record *recs;
	size_t n;

	run_expect(&gcm12, &dflt, 0, &op, 1, want, nitems(want));

	assert_int_equal(golden_run(&gcm12, 0, MAXLEN, LOWAT, HIWAT, &op, 1,
			     &recs, &n),
	    0);
	assert_int_equal(recs[0].outer_type, TLS_RLTYPE_HANDSHAKE);
	assert_int_equal(recs[1].outer_type, TLS_RLTYPE_HANDSHAKE);
	check_hdr(&recs[1], 0x16, 3, 3, 8 + 3616 + 16);
	golden_free(recs);

	/* TLS 1.3: outer 23, inner 22; a later write is type 23 again. */
	assert_int_equal(golden_run(&gcm13, 0, MAXLEN, LOWAT, HIWAT, op2, 2,
			     &recs, &n),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(recs[0].outer_type, TLS_RLTYPE_APP);
	assert_int_equal(recs[0].inner_type, TLS_RLTYPE_HANDSHAKE);
	assert_int_equal(recs[1].inner_type, TLS_RLTYPE_HANDSHAKE);
	/* 16384 + 1 + 16 = 16401 = 0x4011 */
	check_hdr(&recs[0], 0x17, 3, 3, 16401);
	assert_int_equal(recs[2].inner_type, TLS_RLTYPE_APP);
	assert_int_equal(recs[2].plen, 10);
	golden_free(recs);

	/* Larger than sb_hiwat: EMSGSIZE, nothing framed. */
	assert_int_equal(golden_run(&gcm12, 0, MAXLEN, LOWAT, 16384, &op, 1,
			     &recs, &n),
	    EMSGSIZE);
	assert_int_equal(n, 0);
	golden_free(recs);
}

/* sosend_generic(), ktls_permit_empty_frames(): zero-length sends. */
static void
test_empty(void **state)
{
	struct golden_op w0 = { .kind = GOLDEN_WRITE, .len = 0 };
	struct golden_op c0 = { .kind = GOLDEN_CONTROL,
		.len = 0,
		.type = TLS_RLTYPE_ALERT };
	struct golden_op seq3[3] = {
		{ .kind = GOLDEN_WRITE, .len = 100 },
		{ .kind = GOLDEN_WRITE, .len = 0 },
		{ .kind = GOLDEN_WRITE, .len = 100 },
	};
	const struct {
		const struct golden_suite *s;
		const struct golden_op *op;
	} refused[] = { { &gcm12, &w0 }, { &gcm13, &w0 }, { &chacha13, &c0 },
		{ &cbc11, &w0 } };
	struct golden_record *recs;
	size_t i, n;

	assert_int_equal(golden_run(&cbc10, 3, MAXLEN, LOWAT, HIWAT, &w0, 1,
			     &recs, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(recs[0].plen, 0);
	assert_int_equal(recs[0].seqno, 3);
	check_hdr(&recs[0], 0x17, 3, 1, 32);
	golden_free(recs);

	assert_int_equal(golden_run(&cbc10, 0, MAXLEN, LOWAT, HIWAT, &c0, 1,
			     &recs, &n),
	    0);
	assert_int_equal(n, 1);
	check_hdr(&recs[0], 0x15, 3, 1, 32);
	golden_free(recs);

	/* Every suite but TLS 1.0 CBC refuses them. */
	for (i = 0; i < nitems(refused); i++) {
		assert_int_equal(golden_run(refused[i].s, 0, MAXLEN, LOWAT,
				     HIWAT, refused[i].op, 1, &recs, &n),
		    EINVAL);
		golden_free(recs);
	}

	/* Processing stops at the failing op; earlier records kept. */
	assert_int_equal(golden_run(&gcm12, 0, MAXLEN, LOWAT, HIWAT, seq3, 3,
			     &recs, &n),
	    EINVAL);
	assert_int_equal(n, 1);
	assert_int_equal(recs[0].op_index, 0);
	golden_free(recs);
}

/* vn_sendfile(): sendfile from file offset 100 with ample space. */
static void
test_sendfile_offset(void **state)
{
	/* [100,16384) [16384,32768) [32768,40100): 16284 16384 7332. */
	static const size_t want[] = { 16284, 16384, 7332 };
	struct golden_op op = { .kind = GOLDEN_SENDFILE,
		.len = 40000,
		.file_off = 100 };
	struct golden_record *recs;
	size_t n;

	run_expect(&gcm12, &dflt, 0, &op, 1, want, nitems(want));
	assert_int_equal(golden_run(&gcm12, 0, MAXLEN, LOWAT, HIWAT, &op, 1,
			     &recs, &n),
	    0);
	assert_int_equal(recs[0].src, GOLDEN_SRC_FILE);
	assert_int_equal(recs[0].src_off, 100);
	assert_int_equal(recs[1].src_off, 16384);
	assert_int_equal(recs[2].src_off, 32768);
	golden_free(recs);
}

/* vn_sendfile's page rounding of space. */
static void
test_sendfile_space(void **state)
{
	/* No lowat hack, lowat 100: every positive space >= 100 is used. */
	static const struct golden_sock raw = { MAXLEN, HIWAT, 100, false };
	/*
	 * off 100, space 10000: 10000 - 3996 = 6004, trunc 4096, + 3996 =
	 * 8092, one record (2 pages); then 31908 from 8192.  Page groups
	 * restart with each loop iteration, so the records are not aligned
	 * to 16 KiB of the file: [8192,24576) [24576,40100).
	 */
	static const long sp1[] = { 10000 };
	static const size_t want1[] = { 8092, 16384, 15524 };
	/* off 0, space 20000 -> 16384; the rest 16384 + 7232. */
	static const long sp2[] = { 20000 };
	static const size_t want2[] = { 16384, 16384, 7232 };
	/*
	 * off 4000, space 200 (<= a page: used as is) -> [4000,4200) one
	 * record crossing a page boundary; then 9800 from 4200 stays below
	 * 4096 + 16384.
	 */
	static const long sp3[] = { 200 };
	static const size_t want3[] = { 200, 9800 };
	/* off 0, space 5000 (> page): trunc to 4096. */
	static const long sp4[] = { 5000, 50 };
	static const size_t want4[] = { 4096, 5904 };
	struct golden_op op = { .kind = GOLDEN_SENDFILE,
		.len = 40000,
		.file_off = 100,
		.space = sp1,
		.nspace = nitems(sp1) };

	run_expect(&gcm12, &raw, 0, &op, 1, want1, nitems(want1));
	op.file_off = 0;
	op.space = sp2;
	op.nspace = nitems(sp2);
	run_expect(&gcm12, &raw, 0, &op, 1, want2, nitems(want2));
	op.file_off = 4000;
	op.len = 10000;
	op.space = sp3;
	op.nspace = nitems(sp3);
	run_expect(&gcm12, &raw, 0, &op, 1, want3, nitems(want3));
	/* 50 < lowat 100 and < rem: waits, then unlimited. */
	op.file_off = 0;
	op.space = sp4;
	op.nspace = nitems(sp4);
	run_expect(&gcm12, &raw, 0, &op, 1, want4, nitems(want4));
}

/* sendfile_wait_generic's SB_AUTOLOWAT hack, and its persistence. */
static void
test_sendfile_autolowat(void **state)
{
	static const long sp[] = { 24000 };
	/* hiwat 65536: lowat -> 32768, 24000 waits; then all at once. */
	static const size_t want1[] = { 16284, 16384, 7332 };
	/*
	 * hiwat 32768: lowat -> 16384, 24000 is enough: 24000 - 3996 =
	 * 20004, trunc 16384, + 3996 = 20380 -> [100,16384) [16384,20480);
	 * then 19620 from 20480: [20480,36864) [36864,40100).
	 */
	static const size_t want2[] = { 16284, 4096, 16384, 3236 };
	static const struct golden_sock s32 = { MAXLEN, 32768, LOWAT, true };
	static const long wsp[] = { 10000 };
	struct golden_op op = { .kind = GOLDEN_SENDFILE,
		.len = 40000,
		.file_off = 100,
		.space = sp,
		.nspace = nitems(sp) };
	struct golden_op two[2] = {
		{ .kind = GOLDEN_SENDFILE, .len = 100 },
		{ .kind = GOLDEN_WRITE,
		    .len = 40000,
		    .space = wsp,
		    .nspace = nitems(wsp) },
	};
	/* The sendfile raised lowat to 16384: the write's 10000 waits. */
	static const size_t want3[] = { 100, 16384, 16384, 7232 };
	/* Without the hack: 10000 >= 2048 is taken. */
	static const size_t want4[] = { 100, 10000, 16384, 13616 };
	static const struct golden_sock s32raw = { MAXLEN, 32768, LOWAT,
		false };
	struct golden_record *recs;
	size_t n;

	run_expect(&gcm12, &dflt, 0, &op, 1, want1, nitems(want1));
	assert_int_equal(golden_run(&gcm12, 0, MAXLEN, LOWAT, 32768, &op, 1,
			     &recs, &n),
	    0);
	assert_int_equal(n, 4);
	golden_free(recs);
	run_expect(&gcm12, &s32, 0, &op, 1, want2, nitems(want2));
	run_expect(&gcm12, &s32, 0, two, 2, want3, nitems(want3));
	run_expect(&gcm12, &s32raw, 0, two, 2, want4, nitems(want4));
}

/* sf_hdtr headers: framed as their own records before the file data. */
static void
test_sendfile_headers(void **state)
{
	static const struct golden_sock raw = { MAXLEN, HIWAT, 100, false };
	/* Header 20000 -> 16384 + 3616, file 10000 in one record. */
	static const size_t want1[] = { 16384, 3616, 10000 };
	/*
	 * Header 5000, space 3000: the header takes it all (3000), no file
	 * pages this round; then 2000 header + 10000 file.
	 */
	static const long sp2[] = { 3000 };
	static const size_t want2[] = { 3000, 2000, 10000 };
	/*
	 * Header 1000, space 9000 from off 0: 8000 left for the file,
	 * > page: trunc to 4096. Then 5904.
	 */
	static const long sp3[] = { 9000 };
	static const size_t want3[] = { 1000, 4096, 5904 };
	struct golden_op op = { .kind = GOLDEN_SENDFILE,
		.len = 10000,
		.hdr_len = 20000 };
	struct golden_record *recs;
	size_t n;

	run_expect(&cbc12, &raw, 0, &op, 1, want1, nitems(want1));
	assert_int_equal(golden_run_sock(&cbc12, &raw, 0, &op, 1, &recs, &n),
	    0);
	assert_int_equal(recs[0].src, GOLDEN_SRC_HDR);
	assert_int_equal(recs[1].src, GOLDEN_SRC_HDR);
	assert_int_equal(recs[1].src_off, 16384);
	assert_int_equal(recs[2].src, GOLDEN_SRC_FILE);
	assert_int_equal(recs[2].src_off, 0);
	golden_free(recs);

	op.hdr_len = 5000;
	op.space = sp2;
	op.nspace = nitems(sp2);
	run_expect(&gcm12, &raw, 0, &op, 1, want2, nitems(want2));

	op.hdr_len = 1000;
	op.space = sp3;
	op.nspace = nitems(sp3);
	run_expect(&gcm12, &raw, 0, &op, 1, want3, nitems(want3));

	/* No file bytes: the loop never runs, headers included. */
	op.len = 0;
	op.space = NULL;
	op.nspace = 0;
	run_expect(&gcm12, &raw, 0, &op, 1, NULL, 0);
}

/* Sequence numbers run on across ops of every kind (ktls_seq()). */
static void
test_seq_across_ops(void **state)
{
	struct golden_op ops[4] = {
		{ .kind = GOLDEN_WRITE, .len = 17000 },
		{ .kind = GOLDEN_CONTROL, .len = 2, .type = TLS_RLTYPE_ALERT },
		{ .kind = GOLDEN_SENDFILE, .len = 4096, .file_off = 8192 },
		{ .kind = GOLDEN_WRITE, .len = 1 },
	};
	static const size_t want[] = { 16384, 616, 2, 4096, 1 };
	struct golden_record *recs;
	size_t i, n;

	run_expect(&chacha12, &dflt, UINT64_MAX - 2, ops, nitems(ops), want,
	    nitems(want));
	assert_int_equal(golden_run(&chacha12, 1000, MAXLEN, LOWAT, HIWAT, ops,
			     nitems(ops), &recs, &n),
	    0);
	for (i = 0; i < n; i++)
		assert_int_equal(recs[i].seqno, 1000 + i);
	assert_int_equal(recs[2].outer_type, TLS_RLTYPE_ALERT);
	assert_int_equal(recs[3].op_index, 2);
	golden_free(recs);
}

/* A smaller session max_frame_len (kern.ipc.tls.maxlen 8192). */
static void
test_small_maxlen(void **state)
{
	static const struct golden_sock s8k = { 8192, HIWAT, LOWAT, true };
	struct golden_op w = { .kind = GOLDEN_WRITE, .len = 20000 };
	static const size_t ww[] = { 8192, 8192, 3616 };
	/* 2 pages per record: [100,8192) [8192,16384) [16384,20100). */
	struct golden_op sf = { .kind = GOLDEN_SENDFILE,
		.len = 20000,
		.file_off = 100 };
	static const size_t ws[] = { 8092, 8192, 3716 };

	run_expect(&gcm13, &s8k, 0, &w, 1, ww, nitems(ww));
	run_expect(&gcm13, &s8k, 0, &sf, 1, ws, nitems(ws));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_aead),
		cmocka_unit_test(test_frame_tls13_type),
		cmocka_unit_test(test_frame_cbc),
		cmocka_unit_test(test_frame_invariants),
		cmocka_unit_test(test_invalid_suites),
		cmocka_unit_test(test_write_ample),
		cmocka_unit_test(test_write_limited),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_sendfile_offset),
		cmocka_unit_test(test_sendfile_space),
		cmocka_unit_test(test_sendfile_autolowat),
		cmocka_unit_test(test_sendfile_headers),
		cmocka_unit_test(test_seq_across_ops),
		cmocka_unit_test(test_small_maxlen),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
