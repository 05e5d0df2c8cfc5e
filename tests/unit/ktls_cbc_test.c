/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The EVP backend's two ways of sealing an AES-CBC record
 * (src/opencrypto/ktls_ocf.c): OpenSSL's stitched AES-CBC-HMAC cipher,
 * where libcrypto has one for the suite, and the two-pass path, AES-CBC
 * then HMAC.  For every CBC suite of the matrix, two sessions with the
 * same keys, one allowed the stitched cipher (ktls_sim_cbc_stitched) and
 * one not, seal the same records with the same sequence numbers and
 * explicit IVs; every record must come out the same byte for byte, for
 * every length from 0 (TLS 1.0's empty records) to 208 and a spread up to
 * 16384, on pages from offset 0 and across pages from an offset that is
 * not block aligned.  The stitched session's records are then read as one
 * stream by the independent oracle, which also follows TLS 1.0's IV chain
 * from record to record.
 *
 * stats.ocf.cbc_stitched must count exactly the records the stitched
 * cipher sealed: every record of a SHA-1 or SHA2-256 session where this
 * process's libcrypto offers the cipher (the test fetches it itself), none
 * otherwise.  meson runs the program a second time with AES-NI masked
 * from libcrypto (OPENSSL_ia32cap), where the fetch fails and the backend
 * must fall back on its own.
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
#include <openssl/evp.h>

#include "ksim_harness.h"
#include "opencrypto/ktls.h"
#include "refenc.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

/* Beyond the run 0..208: block, page and maximum-record edges. */
static const int lengths_spread[] = { 239, 240, 255, 256, 257, 1000, 4095, 4096,
	4097, 8191, 8192, 12288, 16368, 16369, 16383, 16384 };
#define LENGTHS_RUN 209

/* First-page offsets: aligned, and 3 bytes before a page end. */
static const int first_offs[] = { 0, PAGE_SIZE - 3 };

/* Does this process's libcrypto have the stitched cipher for s? */
static bool
stitch_offered(const struct test_suite *s)
{
	char name[32];
	EVP_CIPHER *c;

	if (s->auth_algorithm == CRYPTO_SHA1_HMAC)
		snprintf(name, sizeof(name), "AES-%d-CBC-HMAC-SHA1",
		    s->cipher_key_len * 8);
	else if (s->auth_algorithm == CRYPTO_SHA2_256_HMAC)
		snprintf(name, sizeof(name), "AES-%d-CBC-HMAC-SHA256",
		    s->cipher_key_len * 8);
	else
		return (false);
	c = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_free(c);
	return (c != NULL);
}

/*
 * An M_EXTPG record of session tls holding data[0..len) in its own pages
 * from first_off in the first page (as sendfile lays out a file that
 * does not start on a page boundary), framed by ktls_frame().
 */
static struct mbuf *
make_record(struct ktls_session *tls, const uint8_t *data, int len,
    int first_off, uint64_t seqno)
{
	struct vm_page *pg;
	struct mbuf *m;
	int done, enq, n, off;

	m = mb_alloc_ext_pgs(M_WAITOK, mb_free_mext_pgs, 0);
	assert_non_null(m);
	m->m_epg_flags |= EPG_FLAG_ANON;
	m->m_epg_1st_off = first_off;
	for (done = 0, off = first_off; done < len; done += n, off = 0) {
		assert_true(m->m_epg_npgs < MBUF_PEXT_MAX_PGS);
		pg = vm_page_alloc_sim();
		n = len - done < PAGE_SIZE - off ? len - done : PAGE_SIZE - off;
		memcpy(vm_page_data(pg) + off, data + done, n);
		m->m_epg_pa[m->m_epg_npgs++] = pg;
		m->m_epg_last_len = n;
	}
	m->m_len = len;
	m->m_ext.ext_size = m->m_epg_npgs * PAGE_SIZE;
	ktls_frame(m, tls, &enq, TLS_RLTYPE_APP);
	m->m_epg_seqno = seqno;
	return (m);
}

/*
 * Two sessions with the same keys on suite s: tls[0] allowed the stitched
 * cipher, tls[1] not.  out collects tls[0]'s sealed records.
 */
struct pair {
	struct harness h;
	struct harness_keys k;
	struct wire w, out;
	struct socket *so[2];
	struct ktls_session *tls[2];
};

static void
pair_open(struct pair *p, const struct test_suite *s, uint64_t seed)
{

	harness_init(&p->h, HARNESS_DET, seed, 1);
	wire_init(&p->w);
	wire_init(&p->out);
	harness_keys(&p->h, s, 0, &p->k);
	for (int i = 0; i < 2; i++) {
		p->so[i] = harness_socket(&p->h, &p->w, 0);
		ktls_sim_cbc_stitched = i == 0;
		assert_int_equal(harness_enable(p->so[i], &p->k), 0);
		p->tls[i] = p->so[i]->so_snd.sb_tls_info;
		assert_non_null(p->tls[i]);
	}
}

static void
pair_close(struct pair *p)
{

	for (int i = 0; i < 2; i++)
		ksim_close(p->so[i]);
	harness_run(&p->h);
	harness_fini(&p->h);
	wire_fini(&p->w);
	wire_fini(&p->out);
}

/*
 * Seal one record of data[0..len) in both sessions; both must write the
 * same bytes.  The stitched session's record is appended to p->out.
 * trail_extra adds that many padding bytes to the trailer ktls_frame()
 * reserved (a multiple of the block size).
 */
static void
seal_both(struct pair *p, const uint8_t *data, int len, int first_off,
    uint64_t seqno, int trail_extra)
{
	struct ktls_session **tls = p->tls;
	struct mbuf *m[2];
	uint8_t *rec[2];
	struct iovec iov;

	for (int i = 0; i < 2; i++) {
		m[i] = make_record(tls[i], data, len, first_off, seqno);
		m[i]->m_epg_trllen += trail_extra;
		m[i]->m_len += trail_extra;
		/* The header's length field: all after the 5-byte header. */
		m[i]->m_epg_hdr[3] = (m[i]->m_len - 5) >> 8;
		m[i]->m_epg_hdr[4] = (m[i]->m_len - 5) & 0xff;
	}
	/* The explicit IV is ktls_frame()'s random draw: give b a's. */
	memcpy(m[1]->m_epg_hdr, m[0]->m_epg_hdr, m[0]->m_epg_hdrlen);
	for (int i = 0; i < 2; i++) {
		assert_ptr_equal(tls[i]->be, &ktls_ocf_backend);
		assert_int_equal(harness_encrypt_in_place(tls[i], m[i]), 0);
		rec[i] = malloc(m[i]->m_len);
		assert_non_null(rec[i]);
		m_copydata(m[i], 0, m[i]->m_len, rec[i]);
	}
	assert_int_equal(m[0]->m_len, m[1]->m_len);
	if (memcmp(rec[0], rec[1], m[0]->m_len) != 0)
		fail_msg("%d bytes from offset %d, seqno %ju: the stitched "
			 "and two-pass records differ",
		    len, first_off, (uintmax_t)seqno);
	iov.iov_base = rec[0];
	iov.iov_len = m[0]->m_len;
	wire_append(&p->out, &iov, 1);
	for (int i = 0; i < 2; i++) {
		free(rec[i]);
		harness_record_free(tls[i], m[i]);
	}
}

static void
test_paths_identical(void **state)
{
	const struct test_suite *s;
	struct pair p;
	uint64_t seq, stitched0;
	uint8_t *data, *plain, *want;
	size_t plen, nrec, wantlen;
	int len, nsuites;

	(void)state;
	data = malloc(TLS_MAX_MSG_SIZE_V10_2);
	want = malloc(4 * 1024 * 1024);
	assert_non_null(data);
	assert_non_null(want);
	nsuites = 0;
	for (int si = 0; si < test_nsuites; si++) {
		s = &test_suites[si];
		if (!is_cbc(s))
			continue;
		nsuites++;
		pair_open(&p, s, 0xcbc0 + si);
		stitched0 = counter_u64_fetch(ocf_cbc_stitched);
		seq = 0;
		wantlen = 0;
		for (int li = 0; li < LENGTHS_RUN + (int)nitems(lengths_spread);
		     li++) {
			len = li < LENGTHS_RUN ?
			    li :
			    lengths_spread[li - LENGTHS_RUN];
			/* Empty records are TLS 1.0's alone (ktls_frame()). */
			if (len == 0 && !is_tls10(s))
				continue;
			for (size_t oi = 0; oi < nitems(first_offs); oi++) {
				test_rng_bytes(&p.h.rng, data, len);
				seal_both(&p, data, len, first_offs[oi], seq++,
				    0);
				memcpy(want + wantlen, data, len);
				wantlen += len;
			}
		}
		assert_int_equal(counter_u64_fetch(ocf_cbc_stitched) -
			stitched0,
		    stitch_offered(s) ? seq : 0);
		harness_decrypt(&p.k, &p.out, &plain, &plen, &nrec, NULL, NULL);
		assert_int_equal(nrec, seq);
		assert_int_equal(plen, wantlen);
		assert_memory_equal(plain, want, wantlen);
		free(plain);
		pair_close(&p);
	}
	assert_int_equal(nsuites, 10);
	free(data);
	free(want);
}

/*
 * A trailer with more room than minimal padding needs (16 bytes more):
 * ktls_frame() never leaves one, but the stitched cipher only writes
 * minimal padding, so the backend must notice that its answer does not
 * fit and seal such a record on the two-pass path, whose padding fills
 * the trailer.  The record must equal the reference encryptor's with
 * that padding (refenc.h; the oracle insists on minimal padding).
 */
static void
test_wide_trailer(void **state)
{
	const struct test_suite *s;
	struct refenc_opts opt;
	struct pair p;
	uint64_t stitched0;
	uint8_t data[100], *ref, chain[16];
	size_t reflen;

	(void)state;
	s = test_suite_named("aes128_cbc_1_2_sha256");
	pair_open(&p, s, 0xcbc1);
	test_rng_bytes(&p.h.rng, data, sizeof(data));
	stitched0 = counter_u64_fetch(ocf_cbc_stitched);
	seal_both(&p, data, sizeof(data), 0, 0, AES_BLOCK_LEN);
	assert_int_equal(counter_u64_fetch(ocf_cbc_stitched), stitched0);

	/* 100 + 32 bytes of MAC: minimal padding 12, here 28. */
	opt = refenc_default;
	opt.cbc_padlen = 12 + AES_BLOCK_LEN;
	ref = malloc(5 + 16 + sizeof(data) + 256);
	assert_non_null(ref);
	reflen = refenc_record(s, p.k.cipher_key, p.k.iv, p.k.auth_key, chain,
	    0, TLS_RLTYPE_APP, data, sizeof(data), p.out.buf + 5, &opt, ref);
	assert_int_equal(p.out.len, reflen);
	assert_memory_equal(p.out.buf, ref, reflen);
	free(ref);
	pair_close(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_paths_identical),
		harness_unit_test(test_wide_trailer),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
