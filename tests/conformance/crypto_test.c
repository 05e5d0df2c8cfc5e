/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group B (docs/conformance.md, "B. Crypto"): crypto
 * correctness per suite, known answers recomputed with the independent
 * reference encryptor (tests/lib/refenc.h, plain EVP from the RFCs), and
 * the RFC 8448 section 3 records reproduced byte for byte.  Generated over
 * tests/lib/suites.h, on both runners.
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

#include <openssl/evp.h>

#include "conf_common.h"
#include "ksim_harness.h"
#include "oracle.h"
#include "refenc.h"
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
#include "tests/vectors/rfc8448.h"
/* --- Group B: crypto correctness -------------------------------------- */

#define NSEEDS 8
#define MAX_REC (5 + 16 + 16384 + 256)

/*
 * Not applicable: CR-08 (TLS 1.2 AES-CCM KAT), CR-11..CR-13 (Linux /
 * OpenSSL hand-off layouts): FreeBSD's TX has no CCM and takes the
 * FreeBSD layout of CR-14.
 */

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v;
	int i;

	v = 0;
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

/*
 * The reference encryptor (refenc.h) on a session's keys.  The only inputs
 * taken from the wire are the sender-chosen explicit bytes: the GCM 1.2
 * explicit nonce and the CBC 1.1+ explicit IV (explicit may be NULL
 * otherwise).  chain_iv is the TLS 1.0 CBC IV (in/out).  Returns the
 * record length.
 */
static size_t
ref_encrypt(const struct harness_keys *k, uint8_t *chain_iv, uint64_t seq,
    uint8_t type, const uint8_t *p, size_t plen, const uint8_t *explicit,
    const struct refenc_opts *opt, uint8_t *out)
{

	return (refenc_record(k->suite, k->cipher_key, k->iv, k->auth_key,
	    chain_iv, seq, type, p, plen, explicit, opt, out));
}

/* Fixed, seed-independent keys for the known-answer tests. */
static void
kat_keys(struct harness_keys *k, const struct test_suite *s, uint64_t seq)
{
	int i;

	memset(k, 0, sizeof(*k));
	k->suite = s;
	k->seqno = seq;
	for (i = 0; i < 32; i++)
		k->cipher_key[i] = (uint8_t)(0x10 + 7 * i);
	for (i = 0; i < 16; i++)
		k->iv[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < 48; i++)
		k->auth_key[i] = (uint8_t)(0x40 ^ (3 * i));
}

/* One operation of a known-answer workload. */
struct kop {
	uint8_t type;
	size_t len;
};

/*
 * Send ops, then recompute every record with the reference encryptor
 * (explicit bytes read off the wire where the sender chooses them) and
 * compare byte for byte.  Returns the number of records; the log stays in
 * *l for further checks.
 */
static void
kat_run(const struct conf_case *cc, int run, const struct harness_keys *kin,
    const struct kop *ops, size_t nops, struct ctx *c, struct rlog *l,
    uint8_t **pp)
{
	const struct test_suite *s = kin->suite;
	uint8_t *p, *plain, *rec, chain[16];
	size_t plen, i, off, total;
	ssize_t n;

	ctx_open_suite(c, cc, s, run, kin->seqno, false);
	c->k = *kin;
	assert_int_equal(harness_enable(c->so, &c->k), 0);
	total = 0;
	for (i = 0; i < nops; i++)
		total += ops[i].len;
	p = payload(c, total);
	off = 0;
	for (i = 0; i < nops; i++) {
		if (ops[i].type == TLS_RLTYPE_APP) {
			assert_int_equal(ksim_write(c->so, p + off, ops[i].len,
					     &n),
			    0);
			assert_int_equal(n, (ssize_t)ops[i].len);
		} else
			send_type_all(c, ops[i].type, p + off, ops[i].len);
		off += ops[i].len;
	}
	ctx_close(c);
	ctx_decrypt(c, &plain, &plen, l);
	assert_int_equal(plen, total);
	assert_memory_equal(plain, p, total);
	free(plain);

	/* Byte-exact against the reference. */
	rec = malloc(MAX_REC);
	memcpy(chain, c->k.iv, 16);
	off = 0;
	for (i = 0; i < l->n; i++) {
		const struct rlog_rec *e = &l->r[i];
		size_t len;

		len = ref_encrypt(&c->k, chain, e->seqno, e->inner, p + off,
		    e->plen, c->w.buf + e->off + 5, NULL, rec);
		assert_int_equal(len, e->reclen);
		if (memcmp(rec, c->w.buf + e->off, len) != 0)
			fail_msg("%s: record %zu (seq %llu, P=%zu) differs "
				 "from the reference",
			    s->name, i, (unsigned long long)e->seqno, e->plen);
		off += e->plen;
	}
	free(rec);
	*pp = p;
}

/*
 * CR-09 (with CR-06, CR-07): byte-exact known answers for every suite with
 * fixed key, IV and seqno: data and control records of many sizes.  Suites
 * with no sender choice (AEAD except GCM 1.2, CBC 1.0) are fully
 * deterministic: the reference is computed from the keys alone and the
 * wire must be identical on every runner and seed.
 */
static void
test_cr09_kat(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	static const struct kop ops[] = { { 23, 1 }, { 23, 15 }, { 23, 16 },
		{ 23, 17 }, { 23, 64 }, { 21, 2 }, { 22, 300 }, { 23, 1000 },
		{ 23, 16384 }, { 23, 20000 } };
	struct harness_keys k;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		kat_keys(&k, s, 0x00000000fffffffeULL + (uint64_t)run);
		kat_run(cc, run, &k, ops, sizeof(ops) / sizeof(ops[0]), &c, &l,
		    &p);
		assert_int_equal(l.n, 11);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * CR-06 (ChaCha20-Poly1305 TLS 1.2) and CR-07 (TLS 1.3): the nonce mixes
 * the seqno in (IV XOR seq), and TLS 1.3's AAD is the 5-byte outer header:
 * references that skip either do not match the wire.
 */
static void
test_cr06_07_nonce_aad(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	static const struct kop ops[] = { { 23, 64 }, { 21, 2 }, { 23, 300 } };
	struct refenc_opts bad;
	struct harness_keys k;
	struct rlog l;
	struct ctx c;
	uint8_t *p, *rec;
	size_t i, off, len;
	int run;

	rec = malloc(MAX_REC);
	for (run = 0; run < conf_nruns(cc, 4); run++) {
		kat_keys(&k, s, 0x0123456789abcdefULL);
		kat_run(cc, run, &k, ops, 3, &c, &l, &p);
		assert_int_equal(l.n, 3);
		off = 0;
		for (i = 0; i < l.n; i++) {
			assert_int_equal(l.r[i].explicit_len, 0);
			bad = refenc_default;
			bad.no_seq_xor = true;
			len =
			    ref_encrypt(&c.k, NULL, l.r[i].seqno, l.r[i].inner,
				p + off, l.r[i].plen, NULL, &bad, rec);
			assert_int_equal(len, l.r[i].reclen);
			assert_memory_not_equal(rec, c.w.buf + l.r[i].off, len);
			if (is_tls13(s)) {
				bad = refenc_default;
				bad.tls12_aad = true;
				len = ref_encrypt(&c.k, NULL, l.r[i].seqno,
				    l.r[i].inner, p + off, l.r[i].plen, NULL,
				    &bad, rec);
				assert_memory_not_equal(rec,
				    c.w.buf + l.r[i].off, len);
			}
			off += l.r[i].plen;
		}
		ctx_free_run(&c, &l, NULL, p);
	}
	free(rec);
}

static void
aes_ecb_decrypt_block(const struct harness_keys *k, const uint8_t *in,
    uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int outl;

	ctx = EVP_CIPHER_CTX_new();
	assert_non_null(ctx);
	assert_true(EVP_DecryptInit_ex(ctx,
	    k->suite->cipher_key_len == 16 ? EVP_aes_128_ecb() :
					     EVP_aes_256_ecb(),
	    NULL, k->cipher_key, NULL));
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_true(EVP_DecryptUpdate(ctx, out, &outl, in, 16));
	assert_int_equal(outl, 16);
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * CR-01: TLS 1.0 implicit IV chaining over several records, across an
 * empty record: record 0 uses the configured IV, record n the last
 * ciphertext block of record n-1 (checked block-wise here, and byte-exact
 * by kat_run()).
 */
static void
test_cr01_tls10_chain(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	static const struct kop ops[] = { { 23, 100 }, { 23, 0 }, { 23, 100 },
		{ 23, 20000 }, { 22, 33 }, { 23, 0 }, { 23, 0 }, { 23, 48 } };
	struct harness_keys k;
	struct rlog l;
	struct ctx c;
	uint8_t *p, blk[16];
	const uint8_t *prev;
	size_t i, j, off;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		kat_keys(&k, s, 77 + (uint64_t)run);
		kat_run(cc, run, &k, ops, sizeof(ops) / sizeof(ops[0]), &c, &l,
		    &p);
		assert_int_equal(l.n, 9);
		assert_int_equal(l.r[1].plen, 0);
		prev = c.k.iv;
		off = 0;
		for (i = 0; i < l.n; i++) {
			const uint8_t *ct = c.w.buf + l.r[i].off + 5;

			/* P_1 = D(C_1) XOR IV, IV = previous last block. */
			aes_ecb_decrypt_block(&c.k, ct, blk);
			for (j = 0; j < 16; j++)
				blk[j] ^= prev[j];
			if (l.r[i].plen >= 16)
				assert_memory_equal(blk, p + off, 16);
			else if (l.r[i].plen > 0)
				assert_memory_equal(blk, p + off, l.r[i].plen);
			prev = c.w.buf + l.r[i].off + l.r[i].reclen - 16;
			off += l.r[i].plen;
		}
		ctx_free_run(&c, &l, NULL, p);
	}
}

static int
cmp16(const void *a, const void *b)
{

	return (memcmp(a, b, 16));
}

/*
 * CR-02: TLS 1.1/1.2 CBC explicit IV: fresh per record, no two equal over
 * 1000 records, never the previous record's last ciphertext block.
 */
static void
test_cr02_explicit_iv(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p, *plain, *ivs;
	size_t plen, i;
	int run;

	for (run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open(&c, cc, run, 1);
		harness_sndbuf(c.so, 1 << 22, 2048);
		p = payload(&c, 1000 * 8);
		for (i = 0; i < 1000; i++)
			write_all(&c, p + 8 * i, 1 + i % 8);
		ctx_close(&c);
		ctx_decrypt(&c, &plain, &plen, &l);
		assert_int_equal(l.n, 1000);
		ivs = malloc(1000 * 16);
		for (i = 0; i < 1000; i++) {
			assert_int_equal(l.r[i].explicit_len, 16);
			memcpy(ivs + 16 * i, c.w.buf + l.r[i].off + 5, 16);
			assert_memory_equal(ivs + 16 * i, l.r[i].eiv, 16);
			if (i > 0)
				assert_memory_not_equal(ivs + 16 * i,
				    c.w.buf + l.r[i].off - 16, 16);
		}
		qsort(ivs, 1000, 16, cmp16);
		for (i = 1; i < 1000; i++)
			assert_memory_not_equal(ivs + 16 * (i - 1),
			    ivs + 16 * i, 16);
		free(ivs);
		ctx_free_run(&c, &l, plain, p);
	}
}

/*
 * CR-03: MAC-then-encrypt input: decrypt each record by hand and recompute
 * HMAC(seq || type || version || len(plaintext) || plaintext); tampering
 * with the length, type or seqno breaks it, and so does flipping the
 * header type on the wire.  MAC length 20/32/48.
 */
static void
test_cr03_mac_input(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	static const struct kop ops[] = { { 23, 100 }, { 22, 40 }, { 21, 2 },
		{ 23, 16384 } };
	struct harness_keys k;
	EVP_CIPHER_CTX *ctx;
	struct rlog l;
	struct ctx c;
	struct oracle *o;
	uint8_t *p, *dec, *bad, chain[16], hdr13[13], mac[64], *plain;
	size_t i, off, body, ml, plen, nrec;
	int outl, v;
	char cname[32];

	for (int run = 0; run < conf_nruns(cc, 2); run++) {
		kat_keys(&k, s, 0xfffffffffffffff0ULL);
		kat_run(cc, run, &k, ops, 4, &c, &l, &p);
		ml = (size_t)s->auth_key_len;
		assert_true(ml == 20 || ml == 32 || ml == 48);
		memcpy(chain, c.k.iv, 16);
		off = 0;
		snprintf(cname, sizeof(cname), "AES-%d-CBC",
		    s->cipher_key_len * 8);
		for (i = 0; i < l.n; i++) {
			const struct rlog_rec *e = &l.r[i];
			const uint8_t *r = c.w.buf + e->off;
			EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, cname, NULL);

			body = e->reclen - 5 - e->explicit_len;
			assert_int_equal(body, e->plen + ml + e->padlen);
			dec = malloc(body);
			ctx = EVP_CIPHER_CTX_new();
			assert_true(EVP_DecryptInit_ex2(ctx, ci, c.k.cipher_key,
			    e->explicit_len ? r + 5 : chain, NULL));
			EVP_CIPHER_CTX_set_padding(ctx, 0);
			assert_true(EVP_DecryptUpdate(ctx, dec, &outl,
			    r + 5 + e->explicit_len, (int)body));
			EVP_CIPHER_CTX_free(ctx);
			EVP_CIPHER_free(ci);
			if (e->explicit_len == 0)
				memcpy(chain, r + e->reclen - 16, 16);
			assert_memory_equal(dec, p + off, e->plen);
			/* The genuine MAC input. */
			put_be64(hdr13, e->seqno);
			hdr13[8] = e->inner;
			hdr13[9] = 3;
			hdr13[10] = (uint8_t)s->tls_vminor;
			hdr13[11] = (uint8_t)(e->plen >> 8);
			hdr13[12] = (uint8_t)e->plen;
			refenc_hmac(s, c.k.auth_key, hdr13, dec, e->plen, mac);
			assert_memory_equal(mac, dec + e->plen, ml);
			/* Each tampered field gives another MAC. */
			for (v = 0; v < 4; v++) {
				uint8_t t[13];

				memcpy(t, hdr13, 13);
				if (v == 0) /* record length, not plaintext */
					t[11] = (uint8_t)((e->reclen - 5) >> 8),
					t[12] = (uint8_t)(e->reclen - 5);
				else if (v == 1)
					t[8] ^= 1; /* type */
				else if (v == 2)
					t[7] ^= 1; /* seqno */
				else
					t[12] ^= 1; /* length */
				refenc_hmac(s, c.k.auth_key, t, dec, e->plen,
				    mac);
				assert_memory_not_equal(mac, dec + e->plen, ml);
			}
			free(dec);
			off += e->plen;
		}
		/* The header type is authenticated: the oracle refuses it. */
		bad = malloc(c.w.len);
		memcpy(bad, c.w.buf, c.w.len);
		bad[l.r[1].off] = TLS_RLTYPE_APP;
		o = oracle_new(s, c.k.cipher_key, c.k.iv, c.k.auth_key,
		    c.k.seqno);
		assert_int_equal(oracle_stream(o, bad, c.w.len, &plain, &plen,
				     &nrec, NULL, NULL),
		    ORACLE_BAD);
		assert_int_equal(nrec, 1);
		free(plain);
		oracle_free(o);
		free(bad);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * CR-04/CR-05: TLS 1.2 AES-GCM.  The explicit nonce is read off the wire
 * (kat_run() re-encrypts with it, which also checks the 13-byte AAD); it
 * never repeats over a long run, is not the seqno but FreeBSD's
 * random-start counter (+1 per record), and starts elsewhere per session.
 */
static void
test_cr04_05_gcm12_nonce(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct rlog l;
	struct ctx c;
	uint8_t *p, *plain, *bad;
	uint64_t starts[NSEEDS], n0;
	size_t plen, nrec, i;
	struct oracle *o;
	int run, j;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, (uint64_t)run * 1000);
		harness_sndbuf(c.so, 1 << 22, 2048);
		p = payload(&c, 3000 * 4);
		for (i = 0; i < 3000; i++) {
			if (i % 100 == 7)
				send_type_all(&c, TLS_RLTYPE_HANDSHAKE,
				    p + 4 * i, 4);
			else
				write_all(&c, p + 4 * i, 1 + i % 4);
		}
		ctx_close(&c);
		ctx_decrypt(&c, &plain, &plen, &l);
		assert_int_equal(l.n, 3000);
		assert_int_equal(plen, 7500);
		free(plain);
		n0 = get_be64(c.w.buf + 5);
		for (i = 0; i < l.n; i++) {
			uint64_t nonce = get_be64(c.w.buf + l.r[i].off + 5);

			assert_int_equal(l.r[i].explicit_len, 8);
			/* Counter: +1 per record, so no repeat in 3000. */
			assert_int_equal(nonce, n0 + i);
		}
		assert_true(n0 != c.k.seqno);
		starts[run] = n0;
		for (j = 0; j < run; j++)
			assert_true(starts[j] != n0);
		/* The AAD covers the header type. */
		bad = malloc(c.w.len);
		memcpy(bad, c.w.buf, c.w.len);
		bad[0] = TLS_RLTYPE_HANDSHAKE;
		o = oracle_new(s, c.k.cipher_key, c.k.iv, NULL, c.k.seqno);
		assert_int_equal(oracle_stream(o, bad, c.w.len, &plain, &plen,
				     &nrec, NULL, NULL),
		    ORACLE_BAD);
		assert_int_equal(nrec, 0);
		free(plain);
		oracle_free(o);
		free(bad);
		ctx_free_run(&c, &l, NULL, p);
	}
	(void)s;
}

/* CR-10: AES-256 keys are used whole (an AES-128 reference differs). */
static void
test_cr10_aes256(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	static const struct kop ops[] = { { 23, 64 }, { 23, 16384 } };
	struct refenc_opts half;
	struct harness_keys k;
	struct rlog l;
	struct ctx c;
	uint8_t *p, *rec, chain[16];
	size_t len;
	int run;

	rec = malloc(MAX_REC);
	for (run = 0; run < conf_nruns(cc, 2); run++) {
		kat_keys(&k, s, 5);
		kat_run(cc, run, &k, ops, 2, &c, &l, &p);
		assert_int_equal(l.n, 2);
		half = refenc_default;
		half.keylen = 16;
		memcpy(chain, c.k.iv, 16);
		len = ref_encrypt(&c.k, chain, l.r[0].seqno, TLS_RLTYPE_APP, p,
		    64, c.w.buf + 5, &half, rec);
		assert_int_equal(len, l.r[0].reclen);
		assert_memory_not_equal(rec, c.w.buf, len);
		ctx_free_run(&c, &l, NULL, p);
	}
	free(rec);
}

static bool
is_aes256(const struct test_suite *s)
{

	return (s->cipher_algorithm != CRYPTO_CHACHA20_POLY1305 &&
	    s->cipher_key_len == 32);
}

/*
 * CR-14: the FreeBSD hand-off layout: iv_len 16 (CBC 1.0), 0 (CBC 1.1+),
 * 4 (GCM 1.2), 12 (GCM 1.3, ChaCha); MAC key length = hash length; vminor
 * 1..4.  For CBC 1.1+ an IV handed in anyway is ignored.
 */
static void
test_cr14_handoff(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct tls_enable en;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	int want_iv;

	want_iv = is_tls10(s) ? 16 : is_cbc(s) ? 0 : is_gcm12(s) ? 4 : 12;
	assert_int_equal(s->iv_len, want_iv);
	assert_true(s->tls_vminor >= TLS_MINOR_VER_ZERO &&
	    s->tls_vminor <= TLS_MINOR_VER_THREE);
	if (is_cbc(s))
		assert_int_equal(s->auth_key_len,
		    s->auth_algorithm == CRYPTO_SHA1_HMAC	  ? 20 :
			s->auth_algorithm == CRYPTO_SHA2_256_HMAC ? 32 :
								    48);
	else
		assert_int_equal(s->auth_key_len, 0);

	ctx_open_suite(&c, cc, s, 1, 9, false);
	memset(&en, 0, sizeof(en));
	en.cipher_key = c.k.cipher_key;
	en.cipher_key_len = s->cipher_key_len;
	en.iv = c.k.iv;
	/* CBC 1.1+: hand in 16 IV bytes anyway; FreeBSD forces 0. */
	en.iv_len = is_cbc(s) && !is_tls10(s) ? 16 : s->iv_len;
	en.auth_key = s->auth_key_len ? c.k.auth_key : NULL;
	en.auth_key_len = s->auth_key_len;
	en.auth_algorithm = s->auth_algorithm;
	en.cipher_algorithm = s->cipher_algorithm;
	en.tls_vmajor = TLS_MAJOR_VER_ONE;
	en.tls_vminor = (uint8_t)s->tls_vminor;
	en.rec_seq[7] = 9;
	assert_int_equal(ksim_setsockopt(c.so, IPPROTO_TCP, TCP_TXTLS_ENABLE,
			     &en, sizeof(en)),
	    0);
	p = payload(&c, 100);
	write_all(&c, p, 100);
	ctx_finish(&c, p, 100, &l);
	assert_int_equal(l.n, 1);
	ctx_free_run(&c, &l, NULL, p);
}

static uint8_t *
hx(const char *str, size_t *len)
{
	uint8_t *b;

	b = hex2buf(str, len);
	assert_non_null(b);
	return (b);
}

/* Decrypt one RFC record with the oracle to get its plaintext. */
static uint8_t *
rfc_plain(const struct test_suite *s, const uint8_t *key, const uint8_t *iv,
    uint64_t seq, const uint8_t *rec, size_t len, size_t *plen)
{
	struct oracle_record r;
	struct oracle *o;
	uint8_t *out;

	o = oracle_new(s, key, iv, NULL, seq);
	assert_non_null(o);
	assert_int_equal(oracle_next(o, rec, len, &r), 0);
	out = malloc(r.plen);
	memcpy(out, r.plain, r.plen);
	*plen = r.plen;
	oracle_free(o);
	return (out);
}

/*
 * RFC 8448 section 3, TLS_AES_128_GCM_SHA256: with the server's (and the
 * client's) application traffic key and IV, the simulated kernel must put
 * exactly the RFC's protected records on the wire: NewSessionTicket
 * (handshake, seq 0), application data (seq 1), close_notify alert (seq
 * 2); client: application data (seq 0), alert (seq 1).
 */
static void
test_rfc8448(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	uint8_t *skey, *siv, *ckey, *civ, *nst, *sapp, *salert, *capp, *calert;
	uint8_t *pay, *alert, *nstp;
	size_t kl, ivl, nl, sal, salrl, cal, calrl, pl, alen, nstl;
	struct harness_keys k;
	struct ctx c;
	int run;

	skey = hx(RFC8448_S_AP_KEY, &kl);
	siv = hx(RFC8448_S_AP_IV, &ivl);
	ckey = hx(RFC8448_C_AP_KEY, &kl);
	civ = hx(RFC8448_C_AP_IV, &ivl);
	nst = hx(RFC8448_S_NST_RECORD, &nl);
	sapp = hx(RFC8448_S_APP_RECORD, &sal);
	salert = hx(RFC8448_S_ALERT_RECORD, &salrl);
	capp = hx(RFC8448_C_APP_RECORD, &cal);
	calert = hx(RFC8448_C_ALERT_RECORD, &calrl);
	pay = hx(RFC8448_APP_PAYLOAD, &pl);
	alert = hx(RFC8448_ALERT_PAYLOAD, &alen);
	assert_int_equal(kl, 16);
	assert_int_equal(ivl, 12);
	nstp = rfc_plain(s, skey, siv, RFC8448_S_NST_SEQ, nst, nl, &nstl);
	assert_int_equal(nstl, RFC8448_S_NST_PLEN);

	for (run = 0; run < conf_nruns(cc, 4); run++) {
		/* Server. */
		memset(&k, 0, sizeof(k));
		k.suite = s;
		k.seqno = RFC8448_S_NST_SEQ;
		memcpy(k.cipher_key, skey, 16);
		memcpy(k.iv, siv, 12);
		ctx_open_suite(&c, cc, s, run, 0, false);
		c.k = k;
		assert_int_equal(harness_enable(c.so, &c.k), 0);
		send_type_all(&c, TLS_RLTYPE_HANDSHAKE, nstp, nstl);
		write_all(&c, pay, pl);
		send_type_all(&c, TLS_RLTYPE_ALERT, alert, alen);
		ctx_close(&c);
		assert_int_equal(c.w.len, nl + sal + salrl);
		assert_memory_equal(c.w.buf, nst, nl);
		assert_memory_equal(c.w.buf + nl, sapp, sal);
		assert_memory_equal(c.w.buf + nl + sal, salert, salrl);
		ctx_free(&c);

		/* The server's data record alone, enabled at seq 1. */
		k.seqno = RFC8448_S_APP_SEQ;
		ctx_open_suite(&c, cc, s, run, 0, false);
		c.k = k;
		assert_int_equal(harness_enable(c.so, &c.k), 0);
		write_all(&c, pay, pl);
		ctx_close(&c);
		assert_int_equal(c.w.len, sal);
		assert_memory_equal(c.w.buf, sapp, sal);
		ctx_free(&c);

		/* Client. */
		memset(&k, 0, sizeof(k));
		k.suite = s;
		k.seqno = RFC8448_C_APP_SEQ;
		memcpy(k.cipher_key, ckey, 16);
		memcpy(k.iv, civ, 12);
		ctx_open_suite(&c, cc, s, run, 0, false);
		c.k = k;
		assert_int_equal(harness_enable(c.so, &c.k), 0);
		write_all(&c, pay, pl);
		send_type_all(&c, TLS_RLTYPE_ALERT, alert, alen);
		ctx_close(&c);
		assert_int_equal(c.w.len, cal + calrl);
		assert_memory_equal(c.w.buf, capp, cal);
		assert_memory_equal(c.w.buf + cal, calert, calrl);
		ctx_free(&c);
	}
	free(skey);
	free(siv);
	free(ckey);
	free(civ);
	free(nst);
	free(sapp);
	free(salert);
	free(capp);
	free(calert);
	free(pay);
	free(alert);
	free(nstp);
}

static bool
is_rfc8448_suite(const struct test_suite *s)
{

	return (strcmp(s->name, "aes128_gcm_1_3") == 0);
}

static bool
is_cbc_explicit(const struct test_suite *s)
{

	return (is_cbc(s) && !is_tls10(s));
}

static bool
is_chacha12_or_tls13(const struct test_suite *s)
{

	return (is_tls13(s) || s->cipher_algorithm == CRYPTO_CHACHA20_POLY1305);
}

static const struct conf_test crypto_tests[] = {
	{ "CR-01", test_cr01_tls10_chain, is_tls10 },
	{ "CR-02", test_cr02_explicit_iv, is_cbc_explicit },
	{ "CR-03", test_cr03_mac_input, is_cbc },
	{ "CR-04-05", test_cr04_05_gcm12_nonce, is_gcm12 },
	{ "CR-06-07", test_cr06_07_nonce_aad, is_chacha12_or_tls13 },
	{ "CR-09", test_cr09_kat, conf_all },
	{ "CR-10", test_cr10_aes256, is_aes256 },
	{ "CR-14", test_cr14_handoff, conf_all },
	{ "RFC8448", test_rfc8448, is_rfc8448_suite },
};

CONF_MAIN("crypto", crypto_tests)
