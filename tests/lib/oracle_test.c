/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Tests for the oracle itself.  The oracle judges the simulated kernel, so
 * it is checked against two things it shares no code with: the published
 * RFC 8448 records, and the reference encryptor of refenc.h (again plain
 * EVP, written from the RFCs).  Every valid record must round-trip; every
 * single-byte corruption, wrong sequence number, broken CBC chain, TLS 1.3
 * padding and non-minimal CBC padding must be refused.  The null mode is
 * checked against records built here from the null cipher's description.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hexutil.h"
#include "oracle.h"
#include "refenc.h"
#include "suites.h"
#include "tests/vectors/rfc8448.h"

#define MAX_REC (5 + 16 + 16384 + 256 + 64)

static const size_t payload_sizes[] = { 0, 1, 15, 16, 17, 64, 16384 };
#define NSIZES (sizeof(payload_sizes) / sizeof(payload_sizes[0]))

/* Session secrets as handed to TCP_TXTLS_ENABLE. */
struct keys {
	uint8_t key[32];
	uint8_t iv[16];
	uint8_t auth[48];
};

static void
make_keys(struct test_rng *rng, struct keys *k)
{

	test_random_printable(rng, k->key, sizeof(k->key));
	test_random_printable(rng, k->iv, sizeof(k->iv));
	test_random_printable(rng, k->auth, sizeof(k->auth));
}

static struct oracle *
new_oracle(const struct test_suite *s, const struct keys *k, uint64_t seq)
{
	struct oracle *o;

	o = oracle_new(s, k->key, k->iv, k->auth, seq);
	assert_non_null(o);
	return (o);
}

/*
 * The reference encryptor (refenc.h) on this file's keys, drawing the
 * sender-chosen explicit nonce/IV from rng.  chain_iv is the TLS 1.0 CBC
 * chaining state (in/out).  Returns the record length.
 */
static size_t
ref_encrypt(const struct test_suite *s, const struct keys *k, uint8_t *chain_iv,
    uint64_t seq, uint8_t type, const uint8_t *p, size_t plen,
    const struct refenc_opts *opt, struct test_rng *rng, uint8_t *out)
{
	uint8_t explicit[16];
	size_t xl;

	xl = refenc_explicit_len(s);
	if (xl != 0)
		test_rng_bytes(rng, explicit, xl);
	return (refenc_record(s, k->key, k->iv, k->auth, chain_iv, seq, type, p,
	    plen, explicit, opt, out));
}

/* Decrypt one record with a fresh oracle; return oracle_next()'s result. */
static int
try_one(const struct test_suite *s, const struct keys *k, uint64_t seq,
    const uint8_t *rec, size_t len, char *why, size_t whylen)
{
	struct oracle_record r;
	struct oracle *o;
	int rc;

	o = new_oracle(s, k, seq);
	rc = oracle_next(o, rec, len, &r);
	if (why != NULL)
		snprintf(why, whylen, "%s", oracle_error(o));
	oracle_free(o);
	return (rc);
}

/* --- RFC 8448 --------------------------------------------------------- */

static uint8_t *
hx(const char *s, size_t *len)
{
	uint8_t *b;

	b = hex2buf(s, len);
	assert_non_null(b);
	return (b);
}

struct rec_log {
	size_t n;
	uint8_t inner[8];
	uint64_t seq[8];
};

static int
log_cb(void *arg, const struct oracle_record *rec)
{
	struct rec_log *l = arg;

	if (l->n < 8) {
		l->inner[l->n] = rec->inner_type;
		l->seq[l->n] = rec->seqno;
	}
	l->n++;
	return (0);
}

static void
test_rfc8448_server(void **state)
{
	const struct test_suite *s = test_suite_named("aes128_gcm_1_3");
	uint8_t *key, *iv, *nst, *app, *alert, *pay, *pfx, *stream, *plain;
	size_t kl, ivl, nl, al, alrl, pl, pfl, plen, nrec;
	struct rec_log log = { 0 };
	struct oracle *o;
	int rc;

	key = hx(RFC8448_S_AP_KEY, &kl);
	iv = hx(RFC8448_S_AP_IV, &ivl);
	nst = hx(RFC8448_S_NST_RECORD, &nl);
	app = hx(RFC8448_S_APP_RECORD, &al);
	alert = hx(RFC8448_S_ALERT_RECORD, &alrl);
	pay = hx(RFC8448_APP_PAYLOAD, &pl);
	pfx = hx(RFC8448_S_NST_PREFIX, &pfl);
	assert_int_equal(kl, 16);
	assert_int_equal(ivl, 12);
	assert_int_equal(nl, 227);
	assert_int_equal(al, 72);
	assert_int_equal(alrl, 24);
	assert_int_equal(pl, 50);

	/* The whole server flight under the application key, from seq 0. */
	stream = malloc(nl + al + alrl);
	memcpy(stream, nst, nl);
	memcpy(stream + nl, app, al);
	memcpy(stream + nl + al, alert, alrl);
	o = oracle_new(s, key, iv, NULL, RFC8448_S_NST_SEQ);
	assert_non_null(o);
	rc = oracle_stream(o, stream, nl + al + alrl, &plain, &plen, &nrec,
	    log_cb, &log);
	if (rc != 0)
		fail_msg("%s", oracle_error(o));
	assert_int_equal(nrec, 3);
	assert_int_equal(log.inner[0], TLS_RLTYPE_HANDSHAKE);
	assert_int_equal(log.inner[1], TLS_RLTYPE_APP);
	assert_int_equal(log.inner[2], TLS_RLTYPE_ALERT);
	assert_int_equal(log.seq[1], RFC8448_S_APP_SEQ);
	assert_int_equal(log.seq[2], RFC8448_S_ALERT_SEQ);
	assert_int_equal(plen, RFC8448_S_NST_PLEN + 50 + 2);
	assert_memory_equal(plain, pfx, pfl);
	assert_memory_equal(plain + RFC8448_S_NST_PLEN, pay, 50);
	assert_memory_equal(plain + RFC8448_S_NST_PLEN + 50, "\x01\x00", 2);
	free(plain);
	oracle_free(o);

	/* The application record alone, at its own sequence number. */
	o = oracle_new(s, key, iv, NULL, RFC8448_S_APP_SEQ);
	struct oracle_record r;
	assert_int_equal(oracle_next(o, app, al, &r), 0);
	assert_int_equal(r.plen, 50);
	assert_int_equal(r.reclen, 72);
	assert_int_equal(r.type, TLS_RLTYPE_APP);
	/* TLS 1.3 records say 1.2 outside (RFC 8446 section 5.1). */
	assert_int_equal(r.vminor, TLS_MINOR_VER_TWO);
	assert_memory_equal(r.plain, pay, 50);
	oracle_free(o);

	/* Seq 0 is the NewSessionTicket's: the data record must fail. */
	o = oracle_new(s, key, iv, NULL, 0);
	assert_int_equal(oracle_next(o, app, al, &r), ORACLE_BAD);
	assert_non_null(strstr(oracle_error(o), "tag mismatch"));
	oracle_free(o);

	free(stream);
	free(key);
	free(iv);
	free(nst);
	free(app);
	free(alert);
	free(pay);
	free(pfx);
	(void)state;
}

static void
test_rfc8448_client(void **state)
{
	const struct test_suite *s = test_suite_named("aes128_gcm_1_3");
	uint8_t *key, *iv, *app, *alert, *pay, *stream, *plain;
	size_t kl, ivl, al, alrl, pl, plen, nrec;
	struct oracle *o;
	int rc;

	key = hx(RFC8448_C_AP_KEY, &kl);
	iv = hx(RFC8448_C_AP_IV, &ivl);
	app = hx(RFC8448_C_APP_RECORD, &al);
	alert = hx(RFC8448_C_ALERT_RECORD, &alrl);
	pay = hx(RFC8448_APP_PAYLOAD, &pl);
	stream = malloc(al + alrl);
	memcpy(stream, app, al);
	memcpy(stream + al, alert, alrl);

	o = oracle_new(s, key, iv, NULL, RFC8448_C_APP_SEQ);
	assert_non_null(o);
	rc = oracle_stream(o, stream, al + alrl, &plain, &plen, &nrec, NULL,
	    NULL);
	if (rc != 0)
		fail_msg("%s", oracle_error(o));
	assert_int_equal(nrec, 2);
	assert_int_equal(plen, 52);
	assert_memory_equal(plain, pay, 50);
	assert_memory_equal(plain + 50, "\x01\x00", 2);
	free(plain);
	oracle_free(o);

	free(stream);
	free(key);
	free(iv);
	free(app);
	free(alert);
	free(pay);
	(void)state;
}

/* --- Per-suite round trips and corruptions ---------------------------- */

/* Flip one bit in byte pos and require the oracle to refuse the record. */
static void
expect_flip_fails(const struct test_suite *s, const struct keys *k,
    uint64_t seq, const uint8_t *rec, size_t len, size_t pos, size_t plen)
{
	uint8_t *bad;
	int rc;

	bad = malloc(len);
	memcpy(bad, rec, len);
	bad[pos] ^= (uint8_t)(1u << (pos % 8));
	rc = try_one(s, k, seq, bad, len, NULL, 0);
	free(bad);
	if (rc == 0)
		fail_msg("%s: P=%zu: flipping byte %zu of %zu went unnoticed",
		    s->name, plen, pos, len);
}

static void
test_roundtrip(void **state)
{
	const struct test_suite *s = *state;
	uint8_t *stream, *payload, *plain, *rec, chain[16];
	size_t off, total, plen, nrec, i, j, len, pos;
	struct rec_log log = { 0 };
	struct test_rng rng;
	struct oracle *o;
	struct keys k;
	uint64_t seq0;
	char why[256];
	int rc;

	test_rng_seed(&rng,
	    0x6b746c73 ^ (uint64_t)s->cipher_algorithm ^
		((uint64_t)s->tls_vminor << 8) ^
		((uint64_t)s->cipher_key_len << 16) ^
		((uint64_t)s->auth_key_len << 24));
	make_keys(&rng, &k);
	/* A seqno near 2^32 exercises all eight bytes of the nonce/AAD. */
	seq0 = 0xfffffffeULL + (test_rng_u64(&rng) & 0xff);
	memcpy(chain, k.iv, 16);

	total = 0;
	for (i = 0; i < NSIZES; i++)
		total += payload_sizes[i];
	payload = malloc(total);
	test_random_printable(&rng, payload, total);
	stream = malloc(NSIZES * MAX_REC);

	/* One stream carrying a record of every size, in sequence. */
	off = 0;
	total = 0;
	for (i = 0; i < NSIZES; i++) {
		off += ref_encrypt(s, &k, chain, seq0 + i, TLS_RLTYPE_APP,
		    payload + total, payload_sizes[i], &refenc_default, &rng,
		    stream + off);
		total += payload_sizes[i];
	}
	o = new_oracle(s, &k, seq0);
	rc = oracle_stream(o, stream, off, &plain, &plen, &nrec, log_cb, &log);
	if (rc != 0)
		fail_msg("%s", oracle_error(o));
	assert_int_equal(nrec, NSIZES);
	assert_int_equal(plen, total);
	assert_memory_equal(plain, payload, total);
	for (i = 0; i < NSIZES; i++) {
		assert_int_equal(log.inner[i], TLS_RLTYPE_APP);
		assert_int_equal(log.seq[i], seq0 + i);
	}
	free(plain);
	oracle_free(o);

	/* The same stream from a wrong starting seqno fails on record 0. */
	o = new_oracle(s, &k, seq0 + 1);
	rc = oracle_stream(o, stream, off, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(rc, ORACLE_BAD);
	assert_int_equal(nrec, 0);
	assert_non_null(strstr(oracle_error(o), "record 0"));
	free(plain);
	oracle_free(o);
	o = new_oracle(s, &k, seq0 - 1);
	assert_int_equal(oracle_stream(o, stream, off, &plain, &plen, &nrec,
			     NULL, NULL),
	    ORACLE_BAD);
	free(plain);
	oracle_free(o);

	/* A truncated stream reports the incomplete tail. */
	o = new_oracle(s, &k, seq0);
	rc =
	    oracle_stream(o, stream, off - 1, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(rc, ORACLE_INCOMPLETE);
	assert_int_equal(nrec, NSIZES - 1);
	free(plain);
	oracle_free(o);

	/*
	 * Single records: every byte flip must be caught.  Small records are
	 * flipped exhaustively; for the 16 KiB one, header, explicit IV, the
	 * first and last 64 bytes and a sample in between.
	 */
	rec = malloc(MAX_REC);
	for (i = 0; i < NSIZES; i++) {
		memcpy(chain, k.iv, 16);
		len = ref_encrypt(s, &k, chain, seq0, TLS_RLTYPE_APP, payload,
		    payload_sizes[i], &refenc_default, &rng, rec);
		rc = try_one(s, &k, seq0, rec, len, why, sizeof(why));
		if (rc != 0)
			fail_msg("P=%zu: %s", payload_sizes[i], why);
		/* Wrong seqno. */
		assert_int_equal(try_one(s, &k, seq0 + 1, rec, len, NULL, 0),
		    ORACLE_BAD);
		for (j = 0; j < len; j++) {
			pos = j;
			if (len > 1024 && j >= 128 && j < len - 64) {
				/* Sample the middle of a big record. */
				if (j % 997 != 0)
					continue;
			}
			expect_flip_fails(s, &k, seq0, rec, len, pos,
			    payload_sizes[i]);
		}
	}

	/*
	 * TLS 1.0: the IV chains across records, so a second record
	 * encrypted with the initial IV again must fail (on record 1), as
	 * must swapping two records.
	 */
	if (is_cbc(s) && s->tls_vminor == TLS_MINOR_VER_ZERO) {
		memcpy(chain, k.iv, 16);
		off = ref_encrypt(s, &k, chain, seq0, TLS_RLTYPE_APP, payload,
		    64, &refenc_default, &rng, stream);
		memcpy(chain, k.iv, 16); /* the bug: no chaining */
		off += ref_encrypt(s, &k, chain, seq0 + 1, TLS_RLTYPE_APP,
		    payload, 64, &refenc_default, &rng, stream + off);
		o = new_oracle(s, &k, seq0);
		rc = oracle_stream(o, stream, off, &plain, &plen, &nrec, NULL,
		    NULL);
		assert_int_equal(rc, ORACLE_BAD);
		assert_int_equal(nrec, 1);
		assert_non_null(strstr(oracle_error(o), "record 1"));
		free(plain);
		oracle_free(o);
	}

	/* Any two records out of order fail at the first of them. */
	memcpy(chain, k.iv, 16);
	len = ref_encrypt(s, &k, chain, seq0, TLS_RLTYPE_APP, payload, 17,
	    &refenc_default, &rng, stream + MAX_REC);
	off = ref_encrypt(s, &k, chain, seq0 + 1, TLS_RLTYPE_APP, payload, 17,
	    &refenc_default, &rng, stream);
	memmove(stream + off, stream + MAX_REC, len);
	o = new_oracle(s, &k, seq0);
	assert_int_equal(oracle_stream(o, stream, off + len, &plain, &plen,
			     &nrec, NULL, NULL),
	    ORACLE_BAD);
	assert_int_equal(nrec, 0);
	free(plain);
	oracle_free(o);

	/* A control record keeps its type (inner type for TLS 1.3). */
	memcpy(chain, k.iv, 16);
	len = ref_encrypt(s, &k, chain, seq0, TLS_RLTYPE_HANDSHAKE, payload, 32,
	    &refenc_default, &rng, rec);
	{
		struct oracle_record r;

		o = new_oracle(s, &k, seq0);
		assert_int_equal(oracle_next(o, rec, len, &r), 0);
		assert_int_equal(r.inner_type, TLS_RLTYPE_HANDSHAKE);
		assert_int_equal(r.type,
		    is_tls13(s) ? TLS_RLTYPE_APP : TLS_RLTYPE_HANDSHAKE);
		assert_int_equal(r.plen, 32);
		assert_int_equal(r.seqno, seq0);
		if (is_cbc(s)) {
			assert_int_equal((32 + s->auth_key_len + r.padlen) % 16,
			    0);
			assert_int_equal(r.explicit_len,
			    s->tls_vminor == TLS_MINOR_VER_ZERO ? 0 : 16);
		} else if (!is_tls13(s) &&
		    s->cipher_algorithm == CRYPTO_AES_NIST_GCM_16)
			assert_int_equal(r.explicit_len, 8);
		else
			assert_int_equal(r.explicit_len, 0);
		oracle_free(o);
	}

	/* Oversized plaintext (2^14 + 1) is refused. */
	memcpy(chain, k.iv, 16);
	{
		uint8_t *big = calloc(1, 16385);

		len = ref_encrypt(s, &k, chain, seq0, TLS_RLTYPE_APP, big,
		    16385, &refenc_default, &rng, rec);
		assert_int_equal(try_one(s, &k, seq0, rec, len, why,
				     sizeof(why)),
		    ORACLE_BAD);
		free(big);
	}

	/* The wrong header minor is named as such. */
	memcpy(chain, k.iv, 16);
	{
		struct refenc_opts ro = refenc_default;

		ro.vminor = is_tls13(s)		       ? TLS_MINOR_VER_THREE :
		    s->tls_vminor == TLS_MINOR_VER_TWO ? TLS_MINOR_VER_ONE :
							 TLS_MINOR_VER_TWO;
		len = ref_encrypt(s, &k, chain, seq0, TLS_RLTYPE_APP, payload,
		    64, &ro, &rng, rec);
		assert_int_equal(try_one(s, &k, seq0, rec, len, why,
				     sizeof(why)),
		    ORACLE_BAD);
		assert_non_null(strstr(why, "minor"));
	}

	free(rec);
	free(stream);
	free(payload);
}

/* --- Stricter rules ---------------------------------------------------- */

static void
test_tls13_padding_rejected(void **state)
{
	struct refenc_opts ro = refenc_default;
	struct test_rng rng;
	struct keys k;
	uint8_t *rec, pay[64];
	size_t len, pads[] = { 1, 16 }, i, p;
	char why[256];
	int si;

	test_rng_seed(&rng, 1303);
	make_keys(&rng, &k);
	test_random_printable(&rng, pay, sizeof(pay));
	rec = malloc(MAX_REC);
	for (si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];

		if (!is_tls13(s))
			continue;
		for (i = 0; i < 2; i++) {
			for (p = 0; p <= 16; p += 16) {
				ro.tls13_pad = pads[i];
				len = ref_encrypt(s, &k, NULL, 7,
				    TLS_RLTYPE_APP, pay, p, &ro, &rng, rec);
				assert_int_equal(try_one(s, &k, 7, rec, len,
						     why, sizeof(why)),
				    ORACLE_BAD);
				assert_non_null(strstr(why, "inner type"));
			}
		}
		/* Without padding the same record is fine. */
		ro.tls13_pad = 0;
		len = ref_encrypt(s, &k, NULL, 7, TLS_RLTYPE_APP, pay, 16, &ro,
		    &rng, rec);
		assert_int_equal(try_one(s, &k, 7, rec, len, NULL, 0), 0);
		/* Any outer type but application_data is refused. */
		rec[0] = TLS_RLTYPE_HANDSHAKE;
		assert_int_equal(try_one(s, &k, 7, rec, len, why, sizeof(why)),
		    ORACLE_BAD);
		assert_non_null(strstr(why, "outer type"));
	}
	free(rec);
	(void)state;
}

static void
test_cbc_padding_rejected(void **state)
{
	struct refenc_opts ro;
	struct test_rng rng;
	struct keys k;
	uint8_t *rec, pay[64], chain[16];
	size_t len, plen, minpad;
	char why[256];
	int si, b;

	test_rng_seed(&rng, 5246);
	make_keys(&rng, &k);
	test_random_printable(&rng, pay, sizeof(pay));
	rec = malloc(MAX_REC);
	for (si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];

		if (!is_cbc(s))
			continue;
		for (plen = 0; plen <= 17; plen++) {
			minpad = 16 - (plen + s->auth_key_len) % 16;

			/* Legal per RFC 5246 but not minimal: one block more.
			 */
			ro = refenc_default;
			ro.cbc_padlen = minpad + 16;
			memcpy(chain, k.iv, 16);
			len = ref_encrypt(s, &k, chain, 3, TLS_RLTYPE_APP, pay,
			    plen, &ro, &rng, rec);
			assert_int_equal(try_one(s, &k, 3, rec, len, why,
					     sizeof(why)),
			    ORACLE_BAD);
			assert_non_null(strstr(why, "not minimal"));

			/* Each padding byte other than the length byte. */
			for (b = 0; b < (int)minpad - 1; b++) {
				ro = refenc_default;
				ro.cbc_bad_pad = b;
				memcpy(chain, k.iv, 16);
				len = ref_encrypt(s, &k, chain, 3,
				    TLS_RLTYPE_APP, pay, plen, &ro, &rng, rec);
				assert_int_equal(try_one(s, &k, 3, rec, len,
						     why, sizeof(why)),
				    ORACLE_BAD);
				assert_non_null(strstr(why, "padding byte"));
			}
		}
	}
	free(rec);
	(void)state;
}

/*
 * The sender picks the GCM 1.2 explicit nonce and the CBC 1.1+ IV and puts
 * them on the wire, so a record that repeats an earlier one's still
 * decrypts: only the oracle's memory of the connection's nonces catches it.
 * Record 2 reuses record 0's; records 0 and 1 must pass, record 2 not.
 */
static void
test_nonce_reuse_rejected(void **state)
{
	uint8_t stream[3 * 128], pay[32], explicit[3][16], *plain;
	struct test_rng rng;
	struct oracle *o;
	struct keys k;
	size_t off, xl, plen, nrec;
	int si, i, ntested;

	test_rng_seed(&rng, 5116);
	make_keys(&rng, &k);
	test_random_printable(&rng, pay, sizeof(pay));
	ntested = 0;
	for (si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];

		xl = refenc_explicit_len(s);
		if (xl == 0)
			continue;
		test_rng_bytes(&rng, explicit[0], xl);
		test_rng_bytes(&rng, explicit[1], xl);
		memcpy(explicit[2], explicit[0], xl);
		for (i = 0, off = 0; i < 3; i++)
			off += refenc_record(s, k.key, k.iv, k.auth, NULL,
			    100 + i, TLS_RLTYPE_APP, pay, sizeof(pay),
			    explicit[i], NULL, stream + off);
		assert_true(off <= sizeof(stream));
		o = new_oracle(s, &k, 100);
		assert_int_equal(oracle_stream(o, stream, off, &plain, &plen,
				     &nrec, NULL, NULL),
		    ORACLE_BAD);
		assert_int_equal(nrec, 2);
		if (strstr(oracle_error(o), "reused: record 0 ") == NULL)
			fail_msg("%s: %s", s->name, oracle_error(o));
		free(plain);
		oracle_free(o);

		/* A fresh third nonce: the same stream is fine. */
		explicit[2][0] ^= 1;
		for (i = 0, off = 0; i < 3; i++)
			off += refenc_record(s, k.key, k.iv, k.auth, NULL,
			    100 + i, TLS_RLTYPE_APP, pay, sizeof(pay),
			    explicit[i], NULL, stream + off);
		o = new_oracle(s, &k, 100);
		if (oracle_stream(o, stream, off, &plain, &plen, &nrec, NULL,
			NULL) != 0)
			fail_msg("%s: %s", s->name, oracle_error(o));
		assert_int_equal(nrec, 3);
		free(plain);
		oracle_free(o);
		ntested++;
	}
	/* 2 GCM 1.2 and 8 CBC 1.1/1.2 suites. */
	assert_int_equal(ntested, 10);
	(void)state;
}

/* --- null cipher records ---------------------------------------------- */

#define NULL_FILL 0x5c /* any byte: the caller names it to the oracle */

/*
 * A record as a null cipher build sends it (docs/fuzzing.md, "Null cipher
 * builds"), written here from that description: header, the explicit
 * nonce or IV, the plaintext, then for TLS 1.3 the type byte and a filled
 * tag, for the other AEADs a filled tag, for CBC a filled MAC and the
 * padding of RFC 5246 6.2.3.2.  Returns the record length.
 */
static size_t
null_record(const struct test_suite *s, const uint8_t *explicit, uint8_t type,
    const uint8_t *p, size_t plen, uint8_t *out)
{
	size_t len, xl, padlen;

	xl = refenc_explicit_len(s);
	len = 5;
	memcpy(out + len, explicit, xl);
	len += xl;
	memcpy(out + len, p, plen);
	len += plen;
	if (is_cbc(s)) {
		memset(out + len, NULL_FILL, s->auth_key_len);
		len += s->auth_key_len;
		padlen = 16 - (plen + s->auth_key_len) % 16;
		memset(out + len, (int)padlen - 1, padlen);
		len += padlen;
	} else {
		if (is_tls13(s))
			out[len++] = type;
		memset(out + len, NULL_FILL, 16);
		len += 16;
	}
	out[0] = is_tls13(s) ? TLS_RLTYPE_APP : type;
	out[1] = TLS_MAJOR_VER_ONE;
	out[2] = is_tls13(s) ? TLS_MINOR_VER_TWO : s->tls_vminor;
	out[3] = (uint8_t)((len - 5) >> 8);
	out[4] = (uint8_t)(len - 5);
	return (len);
}

/*
 * oracle_next() on one record with a fresh null oracle; the plaintext is
 * copied to plain (MAX_REC bytes), as r->plain dies with the oracle.
 */
static int
try_null(const struct test_suite *s, const struct keys *k, const uint8_t *rec,
    size_t len, struct oracle_record *r, uint8_t *plain, char *why,
    size_t whylen)
{
	struct oracle *o;
	int rc;

	o = oracle_new_null(s, k->key, k->iv, k->auth, 7, NULL_FILL);
	assert_non_null(o);
	rc = oracle_next(o, rec, len, r);
	if (rc == 0)
		memcpy(plain, r->plain, r->plen);
	r->plain = NULL;
	snprintf(why, whylen, "%s", oracle_error(o));
	oracle_free(o);
	return (rc);
}

/*
 * The null mode reads every suite's null records back, and refuses a tag
 * or MAC byte that is not the fill, a padding byte that disagrees, a TLS
 * 1.3 type 0, a repeated explicit nonce or IV, and a real (encrypted)
 * record.  TLS 1.0 records with the same tail pass: there is no chain.
 */
static void
test_null_records(void **state)
{
	uint8_t rec[MAX_REC], stream[3 * MAX_REC], out[MAX_REC], pay[100];
	uint8_t explicit[16];
	struct oracle_record r;
	struct test_rng rng;
	struct oracle *o;
	struct keys k;
	uint8_t *plain;
	size_t len, plen, nrec, mac_at;
	char why[256];

	test_rng_seed(&rng, 0x4e55);
	make_keys(&rng, &k);
	test_random_printable(&rng, pay, sizeof(pay));
	for (int si = 0; si < test_nsuites; si++) {
		const struct test_suite *s = &test_suites[si];

		for (size_t i = 0; i < NSIZES; i++) {
			size_t n = payload_sizes[i] < sizeof(pay) ?
			    payload_sizes[i] :
			    sizeof(pay);

			if (n == 0 && !is_tls10(s))
				continue;
			test_rng_bytes(&rng, explicit, sizeof(explicit));
			len = null_record(s, explicit, TLS_RLTYPE_HANDSHAKE,
			    pay, n, rec);
			if (try_null(s, &k, rec, len, &r, out, why,
				sizeof(why)) != 0)
				fail_msg("%s, %zu bytes: %s", s->name, n, why);
			assert_int_equal(r.plen, n);
			assert_int_equal(r.inner_type, TLS_RLTYPE_HANDSHAKE);
			assert_memory_equal(out, pay, n);
		}

		/* The last tag or MAC byte not the fill. */
		len = null_record(s, explicit, TLS_RLTYPE_APP, pay, 40, rec);
		mac_at =
		    is_cbc(s) ? len - (16 - (40 + s->auth_key_len) % 16) : len;
		rec[mac_at - 1] ^= 1;
		assert_int_equal(try_null(s, &k, rec, len, &r, out, why,
				     sizeof(why)),
		    ORACLE_BAD);
		if (strstr(why, "null cipher: a ") == NULL)
			fail_msg("%s: %s", s->name, why);

		if (is_cbc(s)) {
			/* A padding byte that disagrees with the last. */
			len = null_record(s, explicit, TLS_RLTYPE_APP, pay, 40,
			    rec);
			rec[len - 2] ^= 1;
			assert_int_equal(try_null(s, &k, rec, len, &r, out, why,
					     sizeof(why)),
			    ORACLE_BAD);
		}
		if (is_tls13(s)) {
			len = null_record(s, explicit, 0, pay, 40, rec);
			assert_int_equal(try_null(s, &k, rec, len, &r, out, why,
					     sizeof(why)),
			    ORACLE_BAD);
		}

		/*
		 * Three equal records: with the same explicit nonce or IV
		 * refused, else accepted (TLS 1.0 too, though records 1 and
		 * 2 "chain" from the same last block).
		 */
		len = 0;
		for (int i = 0; i < 3; i++)
			len += null_record(s, explicit, TLS_RLTYPE_APP, pay, 40,
			    stream + len);
		o = oracle_new_null(s, k.key, k.iv, k.auth, 7, NULL_FILL);
		assert_non_null(o);
		assert_int_equal(oracle_stream(o, stream, len, &plain, &plen,
				     &nrec, NULL, NULL),
		    refenc_explicit_len(s) != 0 ? ORACLE_BAD : 0);
		free(plain);
		oracle_free(o);

		/* A record the reference encryptor really encrypted. */
		memcpy(explicit, k.iv, 16); /* TLS 1.0: the chain's start */
		len = ref_encrypt(s, &k, explicit, 7, TLS_RLTYPE_APP, pay, 40,
		    NULL, &rng, rec);
		assert_int_equal(try_null(s, &k, rec, len, &r, out, why,
				     sizeof(why)),
		    ORACLE_BAD);
	}
	(void)state;
}

static void
test_incomplete_and_limits(void **state)
{
	const struct test_suite *s = test_suite_named("aes128_gcm_1_2");
	struct oracle_record r;
	struct test_rng rng;
	struct oracle *o;
	struct keys k;
	uint8_t rec[MAX_REC], pay[16];
	size_t len, i;

	test_rng_seed(&rng, 42);
	make_keys(&rng, &k);
	memset(pay, 'a', sizeof(pay));
	len = ref_encrypt(s, &k, NULL, 0, TLS_RLTYPE_APP, pay, 16,
	    &refenc_default, &rng, rec);
	o = new_oracle(s, &k, 0);
	for (i = 0; i < len; i++)
		assert_int_equal(oracle_next(o, rec, i, &r), ORACLE_INCOMPLETE);
	assert_int_equal(oracle_next(o, rec, len, &r), 0);
	oracle_free(o);

	/* A length field over the bound fails at once, not INCOMPLETE. */
	rec[3] = (8 + 16384 + 16 + 1) >> 8;
	rec[4] = (uint8_t)(8 + 16384 + 16 + 1);
	o = new_oracle(s, &k, 0);
	assert_int_equal(oracle_next(o, rec, 5, &r), ORACLE_BAD);
	assert_non_null(strstr(oracle_error(o), "exceeds"));
	oracle_free(o);

	/* Wrong major version. */
	rec[1] = 2;
	o = new_oracle(s, &k, 0);
	assert_int_equal(oracle_next(o, rec, 5, &r), ORACLE_BAD);
	assert_non_null(strstr(oracle_error(o), "major"));
	oracle_free(o);

	/* Empty stream: no records, no error, non-NULL buffer. */
	{
		uint8_t *plain;
		size_t plen, nrec;

		o = new_oracle(s, &k, 0);
		assert_int_equal(oracle_stream(o, rec, 0, &plain, &plen, &nrec,
				     NULL, NULL),
		    0);
		assert_int_equal(nrec, 0);
		assert_int_equal(plen, 0);
		free(plain);
		oracle_free(o);
	}
	(void)state;
}

static int
stop_cb(void *arg, const struct oracle_record *rec)
{
	int *n = arg;

	return (++*n == 2 ? 99 : 0);
}

static void
test_callback_stops(void **state)
{
	const struct test_suite *s = test_suite_named("chacha20_poly1305_1_2");
	uint8_t stream[4 * 64], pay[8] = "abcdefgh", *plain;
	struct test_rng rng;
	struct oracle *o;
	struct keys k;
	size_t off, plen, nrec;
	int i, n;

	test_rng_seed(&rng, 7);
	make_keys(&rng, &k);
	for (i = 0, off = 0; i < 3; i++)
		off += ref_encrypt(s, &k, NULL, i, TLS_RLTYPE_APP, pay, 8,
		    &refenc_default, &rng, stream + off);
	o = new_oracle(s, &k, 0);
	n = 0;
	assert_int_equal(oracle_stream(o, stream, off, &plain, &plen, &nrec,
			     stop_cb, &n),
	    99);
	assert_int_equal(nrec, 2);
	assert_int_equal(plen, 16);
	free(plain);
	oracle_free(o);
	(void)state;
}

static void
test_invalid_suites_refused(void **state)
{
	struct test_rng rng;
	struct keys k;
	int i;

	test_rng_seed(&rng, 11);
	make_keys(&rng, &k);
	assert_int_equal(test_nsuites, 16);
	assert_int_equal(test_ninvalid_suites, 11);
	for (i = 0; i < test_ninvalid_suites; i++) {
		if (oracle_new(&test_invalid_suites[i], k.key, k.iv, k.auth,
			0) != NULL)
			fail_msg("oracle accepted %s",
			    test_invalid_suites[i].name);
	}
	for (i = 0; i < test_nsuites; i++) {
		struct oracle *o =
		    oracle_new(&test_suites[i], k.key, k.iv, k.auth, 0);

		if (o == NULL)
			fail_msg("oracle refused %s", test_suites[i].name);
		oracle_free(o);
	}
	(void)state;
}

static void
test_hexutil(void **state)
{
	struct test_rng a, b;
	uint8_t *buf, x[37], y[37];
	size_t len, i;

	buf = hex2buf(" 17 03\n03:00 4a ", &len);
	assert_non_null(buf);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "\x17\x03\x03\x00\x4a", 5);
	free(buf);
	buf = hex2buf("", &len);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	free(buf);
	assert_null(hex2buf("0g", &len));
	assert_null(hex2buf("abc", &len));

	test_rng_seed(&a, 0);
	test_rng_seed(&b, 0);
	test_rng_bytes(&a, x, sizeof(x));
	test_rng_bytes(&b, y, sizeof(y));
	assert_memory_equal(x, y, sizeof(x));
	/* splitmix64 reference output for seed 0. */
	test_rng_seed(&a, 0);
	assert_true(test_rng_u64(&a) == 0xe220a8397b1dcdafULL);
	test_random_printable(&a, x, sizeof(x));
	for (i = 0; i < sizeof(x); i++)
		assert_true(x[i] >= 0x20 && x[i] <= 0x7e);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_hexutil),
		cmocka_unit_test(test_invalid_suites_refused),
		cmocka_unit_test(test_rfc8448_server),
		cmocka_unit_test(test_rfc8448_client),
		cmocka_unit_test(test_tls13_padding_rejected),
		cmocka_unit_test(test_cbc_padding_rejected),
		cmocka_unit_test(test_incomplete_and_limits),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_nonce_reuse_rejected),
		cmocka_unit_test(test_null_records),
	};
	struct CMUnitTest *tests;
	size_t nfixed, n, i;
	char *name;
	int rc;

	/* One round-trip test per suite, named after it. */
	nfixed = sizeof(fixed) / sizeof(fixed[0]);
	n = nfixed + test_nsuites;
	tests = calloc(n, sizeof(*tests));
	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < (size_t)test_nsuites; i++) {
		if (asprintf(&name, "roundtrip_%s", test_suites[i].name) < 0)
			return (1);
		tests[nfixed + i].name = name;
		tests[nfixed + i].test_func = test_roundtrip;
		tests[nfixed + i].initial_state = (void *)&test_suites[i];
	}
	rc = _cmocka_run_group_tests("oracle", tests, n, NULL, NULL);
	for (i = nfixed; i < n; i++)
		free((char *)tests[i].name);
	free(tests);
	return (rc);
}
