/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for ktls_frame() and ktls_seq() (src/kern/uipc_ktls.c;
 * docs/record-layouts.md): per-suite header bytes, hlen/tlen, CBC trailer
 * lengths, the TLS 1.2 GCM explicit nonce counter, TLS 1.1+ CBC random
 * explicit IVs, TLS 1.3 inner type, SW-mode not-ready marking and sequence
 * numbers assigned at append time.
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

#include <cmocka.h>

#include "ksim_harness.h"
#include "netinet/tcp_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

struct fix {
	struct harness h;
	struct wire w;
	struct socket *so;
	struct harness_keys k;
	struct ktls_session *tls;
};

static void
fix_init(struct fix *f, const struct test_suite *s, uint64_t seed,
    uint64_t seqno)
{

	harness_init(&f->h, HARNESS_DET, seed, 2);
	wire_init(&f->w);
	f->so = harness_socket(&f->h, &f->w, 1);
	harness_keys(&f->h, s, seqno, &f->k);
	assert_int_equal(harness_enable(f->so, &f->k), 0);
	f->tls = f->so->so_snd.sb_tls_info;
	assert_non_null(f->tls);
	assert_int_equal(f->tls->mode, TCP_TLS_MODE_SW);
}

static void
fix_fini(struct fix *f)
{

	ksim_close(f->so);
	harness_fini(&f->h);
	wire_fini(&f->w);
}

/* A chain of M_EXTPG plaintext mbufs, one per entry of lens. */
static struct mbuf *
plain_records(const int *lens, int n, uint8_t fill)
{
	struct mbuf *top = NULL, *tail = NULL, *m;
	static uint8_t buf[16384];
	struct iovec iov;
	struct uio uio;

	memset(buf, fill, sizeof(buf));
	for (int i = 0; i < n; i++) {
		iov.iov_base = buf;
		iov.iov_len = lens[i];
		uio.uio_iov = &iov;
		uio.uio_iovcnt = 1;
		uio.uio_offset = 0;
		uio.uio_resid = lens[i];
		uio.uio_rw = UIO_WRITE;
		m = m_uiotombuf(&uio, M_WAITOK, 0, 16384, M_EXTPG);
		assert_non_null(m);
		assert_null(m->m_next);
		if (tail != NULL)
			tail->m_next = m;
		else
			top = m;
		tail = m;
	}
	return (top);
}

static int
maclen(const struct test_suite *s)
{

	return (s->auth_key_len); /* = hash length in the suite table */
}

static int
exp_hlen(const struct test_suite *s)
{

	if (s->cipher_algorithm == CRYPTO_AES_NIST_GCM_16 &&
	    s->tls_vminor == TLS_MINOR_VER_TWO)
		return (13);
	if (s->cipher_algorithm == CRYPTO_AES_CBC &&
	    s->tls_vminor >= TLS_MINOR_VER_ONE)
		return (21);
	return (5);
}

static int
exp_tlen(const struct test_suite *s)
{

	if (s->cipher_algorithm == CRYPTO_AES_CBC)
		return (16 + maclen(s));
	return (s->tls_vminor == TLS_MINOR_VER_THREE ? 17 : 16);
}

/* The trailer ktls_frame() must choose for P bytes. */
static int
exp_trl(const struct test_suite *s, int P)
{

	if (s->cipher_algorithm == CRYPTO_AES_CBC)
		return (maclen(s) + 16 - (P + maclen(s)) % 16);
	return (exp_tlen(s));
}

static void
check_framed(const struct fix *f, const struct mbuf *m, int P, uint8_t type)
{
	const struct test_suite *s = f->k.suite;
	int hlen = exp_hlen(s), trl = exp_trl(s, P);

	assert_int_equal(m_chain_check_one(m), 0);
	assert_ptr_equal(m->m_epg_tls, f->tls);
	assert_int_equal(m->m_epg_hdrlen, hlen);
	assert_int_equal(m->m_epg_trllen, trl);
	assert_int_equal(m->m_len, P + hlen + trl);
	if (s->cipher_algorithm == CRYPTO_AES_CBC)
		assert_int_equal((P + trl) % 16, 0);
	/* Header bytes. */
	assert_int_equal(m->m_epg_hdr[1], 3);
	if (s->tls_vminor == TLS_MINOR_VER_THREE) {
		assert_int_equal(m->m_epg_hdr[0], TLS_RLTYPE_APP);
		assert_int_equal(m->m_epg_hdr[2], 3);
		assert_int_equal(m->m_epg_trail[0], type);
		assert_int_equal(m->m_epg_record_type, type);
	} else {
		assert_int_equal(m->m_epg_hdr[0], type);
		assert_int_equal(m->m_epg_hdr[2], s->tls_vminor);
	}
	assert_int_equal((m->m_epg_hdr[3] << 8) | m->m_epg_hdr[4],
	    m->m_len - 5);
	/* SW mode: not ready until encrypted. */
	assert_true(m->m_flags & M_NOTREADY);
	assert_int_equal(m->m_epg_nrdy, P == 0 ? 1 : m->m_epg_npgs);
}

static void
test_frame_all_suites(void **state)
{
	static const int lens[] = { 1, 15, 16, 100, 4095, 4096, 4097, 16383,
		16384 };

	(void)state;
	for (int si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];
		struct fix f;
		struct mbuf *top, *m;
		u_int ref0;
		int enq, want_enq = 0, i = 0;
		uint8_t type = TLS_RLTYPE_HANDSHAKE;

		fix_init(&f, s, 100 + si, 0);
		assert_int_equal(f.tls->params.tls_hlen, exp_hlen(s));
		assert_int_equal(f.tls->params.tls_tlen, exp_tlen(s));
		assert_int_equal(f.tls->params.max_frame_len, 16384);
		ref0 = f.tls->refcount;
		top = plain_records(lens, nitems(lens), 'x');
		ktls_frame(top, f.tls, &enq, type);
		for (m = top; m != NULL; m = m->m_next, i++) {
			check_framed(&f, m, lens[i], type);
			want_enq += m->m_epg_nrdy;
			/* Payload untouched. */
			assert_int_equal(vm_page_data(m->m_epg_pa[0])[0], 'x');
		}
		assert_int_equal(enq, want_enq);
		assert_int_equal(enq, 1 + 1 + 1 + 1 + 1 + 1 + 2 + 4 + 4);
		assert_int_equal(f.tls->refcount, ref0 + nitems(lens));
		assert_int_equal(m_chain_check(top), 0);
		m_freem(top);
		assert_int_equal(f.tls->refcount, ref0);
		fix_fini(&f);
	}
}

/*
 * CBC trailers for P = 0..64 and 16384 against the minimal-padding formula
 * (docs/record-layouts.md, "Per suite").
 */
static void
test_cbc_trailer_lengths(void **state)
{

	(void)state;
	for (int si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];
		struct fix f;

		if (s->cipher_algorithm != CRYPTO_AES_CBC)
			continue;
		fix_init(&f, s, 200 + si, 0);
		for (int P = 0; P <= 65; P++) {
			int len = P == 65 ? 16384 : P;
			struct mbuf *m;
			int enq, pad;

			if (len == 0 && s->tls_vminor != TLS_MINOR_VER_ZERO)
				continue;
			m = plain_records(&len, 1, 'c');
			ktls_frame(m, f.tls, &enq, TLS_RLTYPE_APP);
			check_framed(&f, m, len, TLS_RLTYPE_APP);
			pad = m->m_epg_trllen - maclen(s);
			assert_true(pad >= 1 && pad <= 16);
			assert_int_equal(m->m_epg_trllen, exp_trl(s, len));
			assert_int_equal(enq,
			    len == 0 ? 1 : howmany(len, PAGE_SIZE));
			m_freem(m);
		}
		/* docs/record-layouts.md, "Worked examples (P = 100)". */
		if (s->tls_vminor == TLS_MINOR_VER_TWO &&
		    s->auth_algorithm == CRYPTO_SHA1_HMAC) {
			int len = 100, enq;
			struct mbuf *m = plain_records(&len, 1, 'c');

			ktls_frame(m, f.tls, &enq, TLS_RLTYPE_APP);
			assert_int_equal(m->m_len, 149);
			assert_int_equal(m->m_epg_hdr[3], 0);
			assert_int_equal(m->m_epg_hdr[4], 0x90);
			m_freem(m);
		}
		if (s->tls_vminor == TLS_MINOR_VER_ZERO) {
			int len = 0, enq;
			struct mbuf *m = plain_records(&len, 1, 'c');

			ktls_frame(m, f.tls, &enq, TLS_RLTYPE_APP);
			assert_int_equal(m->m_len, 37);
			assert_int_equal(m->m_epg_npgs, 0);
			assert_int_equal(m->m_epg_nrdy, 1);
			assert_int_equal(enq, 1);
			m_freem(m);
		}
		fix_fini(&f);
	}
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return (v);
}

/* TLS 1.2 GCM: explicit nonce = random start, +1 per record. */
static void
test_gcm12_nonce_counter(void **state)
{
	static const int lens[] = { 10, 20, 30, 40, 50, 60, 70 };
	uint64_t starts[2];

	(void)state;
	for (int r = 0; r < 2; r++) {
		struct fix f;
		struct mbuf *top, *m;
		uint64_t start, now;
		int enq, i = 0;

		fix_init(&f, test_suite_named("aes128_gcm_1_2"), 300 + r, 5);
		assert_string_equal(f.k.suite->name, "aes128_gcm_1_2");
		memcpy(&start, f.tls->params.iv + 8, sizeof(start));
		starts[r] = start;
		top = plain_records(lens, nitems(lens), 'g');
		ktls_frame(top, f.tls, &enq, TLS_RLTYPE_APP);
		for (m = top; m != NULL; m = m->m_next, i++)
			assert_true(be64(m->m_epg_hdr + 5) == start + i);
		/* The counter continues across ktls_frame() calls. */
		memcpy(&now, f.tls->params.iv + 8, sizeof(now));
		assert_true(now == start + nitems(lens));
		m_freem(top);
		top = plain_records(lens, 1, 'g');
		ktls_frame(top, f.tls, &enq, TLS_RLTYPE_APP);
		assert_true(be64(top->m_epg_hdr + 5) == start + nitems(lens));
		/* Not the sequence number (5). */
		m_freem(top);
		fix_fini(&f);
	}
	/* Random per session: two sessions do not share a start. */
	assert_true(starts[0] != starts[1]);
	assert_true(starts[0] != 0 || starts[1] != 0);

	/*
	 * All 64 bits of it random (arc4rand() of iv[8..15]): over 16
	 * sessions no byte of the first record's nonce on the wire stays
	 * the same (odds 2^-120 for a truly random byte).
	 */
	{
		uint8_t first[16][8];
		static const int one[] = { 1 };

		for (int r = 0; r < 16; r++) {
			struct fix f;
			struct mbuf *top;
			int enq;

			fix_init(&f, test_suite_named("aes128_gcm_1_2"),
			    310 + r, 0);
			top = plain_records(one, 1, 'g');
			ktls_frame(top, f.tls, &enq, TLS_RLTYPE_APP);
			memcpy(first[r], top->m_epg_hdr + 5, 8);
			m_freem(top);
			fix_fini(&f);
		}
		for (int b = 0; b < 8; b++) {
			int r = 1;

			while (r < 16 && first[r][b] == first[0][b])
				r++;
			if (r == 16)
				fail_msg("nonce byte %d is %#x in all 16 "
					 "sessions",
				    b, first[0][b]);
		}
	}
}

/* TLS 1.1+ CBC: a fresh random 16-byte IV per record. */
static void
test_cbc_explicit_iv_random(void **state)
{
	int lens[16];

	(void)state;
	for (int i = 0; i < 16; i++)
		lens[i] = 32;
	for (int si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];
		uint8_t ivs[16][16];
		struct mbuf *top, *m;
		struct fix f;
		int enq, i = 0;

		if (s->cipher_algorithm != CRYPTO_AES_CBC ||
		    s->tls_vminor == TLS_MINOR_VER_ZERO)
			continue;
		fix_init(&f, s, 400 + si, 0);
		top = plain_records(lens, 16, 'i');
		ktls_frame(top, f.tls, &enq, TLS_RLTYPE_APP);
		for (m = top; m != NULL; m = m->m_next, i++) {
			static const uint8_t zero[16];

			memcpy(ivs[i], m->m_epg_hdr + 5, 16);
			assert_memory_not_equal(ivs[i], zero, 16);
			for (int j = 0; j < i; j++)
				assert_memory_not_equal(ivs[i], ivs[j], 16);
		}
		/* All 16 bytes random: none the same in every record. */
		for (int b = 0; b < 16; b++) {
			int r = 1;

			while (r < 16 && ivs[r][b] == ivs[0][b])
				r++;
			if (r == 16)
				fail_msg("%s: IV byte %d is %#x in all 16 "
					 "records",
				    s->name, b, ivs[0][b]);
		}
		m_freem(top);
		fix_fini(&f);
	}
}

/*
 * ktls_seq(): sequence numbers follow socket-buffer order from rec_seq,
 * assigned at append time; the wire decrypts with them.
 */
static void
test_seq_assignment(void **state)
{
	static const int lens1[] = { 100, 5000, 16384 };
	static const int lens2[] = { 7, 8 };
	const uint64_t seq0 = 0x0123456789abcdefULL;

	(void)state;
	for (int si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];
		struct mbuf *a, *b, *m;
		uint8_t *plain;
		size_t plen, nrec;
		struct fix f;
		int ea, eb, i;

		fix_init(&f, s, 500 + si, seq0);
		assert_true(f.so->so_snd.sb_tls_seqno == seq0);
		a = plain_records(lens1, nitems(lens1), 'a');
		b = plain_records(lens2, nitems(lens2), 'b');
		ktls_frame(a, f.tls, &ea, TLS_RLTYPE_APP);
		ktls_frame(b, f.tls, &eb, TLS_RLTYPE_APP);
		/* Framing does not number records. */
		for (m = a; m != NULL; m = m->m_next)
			assert_true(m->m_epg_seqno == 0);
		soref(f.so);
		assert_int_equal(tcp_usr_send(f.so, PRUS_NOTREADY, a), 0);
		soref(f.so);
		assert_int_equal(tcp_usr_send(f.so, PRUS_NOTREADY, b), 0);
		i = 0;
		for (m = a; m != NULL; m = m->m_next, i++)
			assert_true(m->m_epg_seqno == seq0 + i);
		assert_int_equal(i, 5);
		assert_true(f.so->so_snd.sb_tls_seqno == seq0 + 5);
		/* Not sent before encryption. */
		assert_int_equal(f.w.len, 0);
		ktls_enqueue(a, f.so, ea);
		ktls_enqueue(b, f.so, eb);
		harness_run(&f.h);
		harness_decrypt(&f.k, &f.w, &plain, &plen, &nrec, NULL, NULL);
		assert_int_equal(nrec, 5);
		assert_int_equal(plen, 100 + 5000 + 16384 + 7 + 8);
		assert_int_equal(plain[0], 'a');
		assert_int_equal(plain[plen - 1], 'b');
		free(plain);
		fix_fini(&f);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_frame_all_suites),
		harness_unit_test(test_cbc_trailer_lengths),
		harness_unit_test(test_gcm12_nonce_counter),
		harness_unit_test(test_cbc_explicit_iv_random),
		harness_unit_test(test_seq_assignment),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
