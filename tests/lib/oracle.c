/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The independent decryptor ("oracle"), see oracle.h.
 *
 * Deliberately self-contained: it speaks only OpenSSL EVP and takes nothing
 * from src/ except the constants in sys/ktls.h, so that a bug in the
 * simulated kernel's framing or crypto cannot be mirrored here and cancel
 * out.  Every check names the record index and the rule that failed.
 *
 * oracle_new_null() reads the records of a null cipher build instead
 * (docs/fuzzing.md, "Null cipher builds"): the same framing, length,
 * padding, inner type and nonce checks, with the decryption replaced by a
 * copy and the authentication by the check that every tag or MAC byte is
 * the fill byte the caller names.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "oracle.h"

#define HDR_LEN 5	/* RFC 5246 6.2.1, RFC 8446 5.1 */
#define MAX_PLAIN 16384 /* 2^14, RFC 5246 6.2.1, RFC 8446 5.1 */
#define AEAD_TAG_LEN 16 /* GCM and Poly1305 tags */
#define AEAD_NONCE_LEN 12
#define GCM12_EXPLICIT 8 /* RFC 5288 3: GCMNonce.nonce_explicit */
#define CBC_BLOCK 16
#define MAX_MAC_LEN 48 /* HMAC-SHA384 */

enum oracle_kind {
	OK_CBC,
	OK_GCM,
	OK_CHACHA,
};

struct oracle {
	struct test_suite suite;
	enum oracle_kind kind;
	bool tls13;
	size_t maclen;	    /* CBC only */
	const char *digest; /* CBC only */
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *mctx;
	uint8_t key[32];
	uint8_t auth_key[MAX_MAC_LEN];
	uint8_t iv[16]; /* TLS 1.0: the chained CBC IV */
	uint64_t seqno; /* next expected sequence number */
	uint64_t index; /* index of the next record in the stream */
	uint8_t *plain; /* MAX_PLAIN + trailer bytes */
	bool null;	/* oracle_new_null(): records are not encrypted */
	uint8_t fill;	/* null: the byte of every tag and MAC */
	/* Every nonce or IV used under this key so far (oracle_nonce_once). */
	struct oracle_nonce *seen;
	size_t nseen, seencap; /* seencap: 0 or a power of two */
	char err[256];
};

/* A nonce (AEAD, 12 bytes) or CBC IV (16) and the record that used it. */
struct oracle_nonce {
	uint8_t n[16];
	uint64_t index;
	bool used;
};

static void oracle_fail(struct oracle *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Record the reason for a failure.  The prefix identifies the record both
 * by its position in the stream and by the sequence number that the oracle
 * expected, since the two diverge when a test starts at a non-zero rec_seq.
 */
static void
oracle_fail(struct oracle *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(o->err, sizeof(o->err),
	    "%s record %" PRIu64 " (seq %" PRIu64 "): ", o->suite.name,
	    o->index, o->seqno);
	if (n < 0 || (size_t)n >= sizeof(o->err))
		return;
	va_start(ap, fmt);
	vsnprintf(o->err + n, sizeof(o->err) - n, fmt, ap);
	va_end(ap);
}

static void
be64enc_(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/*
 * Validate the suite against the same rules FreeBSD's ktls_create_session()
 * applies, so an oracle is never built for a combination the kernel would
 * refuse (which would mask a kernel that accepts it).
 */
static bool
oracle_suite_ok(const struct test_suite *s, const uint8_t *cipher_key,
    const uint8_t *iv, const uint8_t *auth_key)
{

	if (cipher_key == NULL)
		return (false);
	switch (s->cipher_algorithm) {
	case CRYPTO_AES_CBC:
		if (s->cipher_key_len != 16 && s->cipher_key_len != 32)
			return (false);
		if (s->tls_vminor < TLS_MINOR_VER_ZERO ||
		    s->tls_vminor > TLS_MINOR_VER_TWO)
			return (false);
		if (auth_key == NULL)
			return (false);
		switch (s->auth_algorithm) {
		case CRYPTO_SHA1_HMAC:
			if (s->auth_key_len != SHA1_HASH_LEN)
				return (false);
			break;
		case CRYPTO_SHA2_256_HMAC:
		case CRYPTO_SHA2_384_HMAC:
			/* SHA-2 record MACs arrived with TLS 1.2. */
			if (s->tls_vminor != TLS_MINOR_VER_TWO)
				return (false);
			if (s->auth_key_len !=
			    (s->auth_algorithm == CRYPTO_SHA2_256_HMAC ?
				    SHA2_256_HASH_LEN :
				    SHA2_384_HASH_LEN))
				return (false);
			break;
		default:
			return (false);
		}
		/* TLS 1.0 has no explicit IV and chains from the given one. */
		if (s->tls_vminor == TLS_MINOR_VER_ZERO &&
		    (iv == NULL || s->iv_len != TLS_CBC_IMPLICIT_IV_LEN))
			return (false);
		return (true);
	case CRYPTO_AES_NIST_GCM_16:
		if (s->cipher_key_len != 16 && s->cipher_key_len != 32)
			return (false);
		if (s->tls_vminor == TLS_MINOR_VER_TWO)
			return (iv != NULL && s->iv_len == TLS_AEAD_GCM_LEN);
		if (s->tls_vminor == TLS_MINOR_VER_THREE)
			return (iv != NULL && s->iv_len == TLS_1_3_GCM_IV_LEN);
		return (false);
	case CRYPTO_CHACHA20_POLY1305:
		if (s->cipher_key_len != 32)
			return (false);
		if (s->tls_vminor != TLS_MINOR_VER_TWO &&
		    s->tls_vminor != TLS_MINOR_VER_THREE)
			return (false);
		return (iv != NULL && s->iv_len == TLS_CHACHA20_IV_LEN);
	default:
		return (false);
	}
}

/*
 * Set by the kernel of a -Dnull_cipher=true build (opencrypto/ktls.h);
 * weak, so that programs without the kernel (oracle_test) link as they
 * are and find it NULL.
 */
extern const bool ktls_sim_null_cipher __attribute__((weak));

/*
 * A program that checks the kernel's records with the oracle or the
 * reference encryptor cannot do so when the kernel does not encrypt: it
 * ends before its first case with 77, which meson counts as skipped, never
 * as passed (docs/fuzzing.md, "Null cipher builds").  Runs before main()
 * in every program that links this file, unless the program defines
 * oracle_reads_null_cipher (oracle.h).
 */
void
oracle_null_cipher_skip(void)
{

	if (&oracle_reads_null_cipher != NULL && oracle_reads_null_cipher)
		return;
	if (&ktls_sim_null_cipher != NULL && ktls_sim_null_cipher) {
		fprintf(stderr,
		    "SKIP: null cipher build (-Dnull_cipher=true): the "
		    "kernel's records are not encrypted, so the oracle cannot "
		    "check them\n");
		exit(77);
	}
}

static void oracle_null_cipher_ctor(void) __attribute__((constructor));

static void
oracle_null_cipher_ctor(void)
{

	oracle_null_cipher_skip();
}

static struct oracle *
oracle_create(const struct test_suite *suite, const uint8_t *cipher_key,
    const uint8_t *iv, const uint8_t *auth_key, uint64_t seqno, bool null,
    uint8_t fill)
{
	OSSL_PARAM params[2];
	struct oracle *o;
	const char *cname;

	if (suite == NULL || !oracle_suite_ok(suite, cipher_key, iv, auth_key))
		return (NULL);
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return (NULL);
	o->null = null;
	o->fill = fill;
	o->suite = *suite;
	o->seqno = seqno;
	o->tls13 = (suite->tls_vminor == TLS_MINOR_VER_THREE);
	memcpy(o->key, cipher_key, suite->cipher_key_len);

	switch (suite->cipher_algorithm) {
	case CRYPTO_AES_CBC:
		o->kind = OK_CBC;
		cname =
		    suite->cipher_key_len == 16 ? "AES-128-CBC" : "AES-256-CBC";
		o->maclen = suite->auth_key_len;
		if (suite->auth_algorithm == CRYPTO_SHA1_HMAC)
			o->digest = "SHA1";
		else if (suite->auth_algorithm == CRYPTO_SHA2_256_HMAC)
			o->digest = "SHA256";
		else
			o->digest = "SHA384";
		memcpy(o->auth_key, auth_key, suite->auth_key_len);
		if (suite->tls_vminor == TLS_MINOR_VER_ZERO)
			memcpy(o->iv, iv, TLS_CBC_IMPLICIT_IV_LEN);
		break;
	case CRYPTO_AES_NIST_GCM_16:
		o->kind = OK_GCM;
		cname =
		    suite->cipher_key_len == 16 ? "AES-128-GCM" : "AES-256-GCM";
		memcpy(o->iv, iv, suite->iv_len);
		break;
	default:
		o->kind = OK_CHACHA;
		cname = "ChaCha20-Poly1305";
		memcpy(o->iv, iv, suite->iv_len);
		break;
	}

	o->plain = malloc(MAX_PLAIN + MAX_MAC_LEN + CBC_BLOCK + 1);
	if (o->plain == NULL)
		goto fail;
	if (null)
		return (o);
	/*
	 * The key schedules once per oracle: each record only sets its IV
	 * or nonce, and restarts the HMAC from its keyed state.
	 */
	o->cipher = EVP_CIPHER_fetch(NULL, cname, NULL);
	o->ctx = EVP_CIPHER_CTX_new();
	if (o->cipher == NULL || o->ctx == NULL ||
	    !EVP_DecryptInit_ex2(o->ctx, o->cipher, o->key, NULL, NULL))
		goto fail;
	if (o->kind == OK_CBC) {
		params[0] =
		    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			(char *)o->digest, 0);
		params[1] = OSSL_PARAM_construct_end();
		o->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (o->mac == NULL || !EVP_CIPHER_CTX_set_padding(o->ctx, 0))
			goto fail;
		o->mctx = EVP_MAC_CTX_new(o->mac);
		if (o->mctx == NULL ||
		    !EVP_MAC_init(o->mctx, o->auth_key, o->maclen, params))
			goto fail;
	}
	return (o);
fail:
	oracle_free(o);
	return (NULL);
}

struct oracle *
oracle_new(const struct test_suite *suite, const uint8_t *cipher_key,
    const uint8_t *iv, const uint8_t *auth_key, uint64_t seqno)
{

	return (
	    oracle_create(suite, cipher_key, iv, auth_key, seqno, false, 0));
}

struct oracle *
oracle_new_null(const struct test_suite *suite, const uint8_t *cipher_key,
    const uint8_t *iv, const uint8_t *auth_key, uint64_t seqno, uint8_t fill)
{

	return (
	    oracle_create(suite, cipher_key, iv, auth_key, seqno, true, fill));
}

/* Is every one of the len bytes at p the null cipher's fill byte? */
static bool
oracle_null_filled(const struct oracle *o, const uint8_t *p, size_t len)
{

	for (size_t i = 0; i < len; i++)
		if (p[i] != o->fill)
			return (false);
	return (true);
}

void
oracle_free(struct oracle *o)
{

	if (o == NULL)
		return;
	EVP_MAC_CTX_free(o->mctx);
	EVP_MAC_free(o->mac);
	EVP_CIPHER_CTX_free(o->ctx);
	EVP_CIPHER_free(o->cipher);
	OPENSSL_cleanse(o->key, sizeof(o->key));
	OPENSSL_cleanse(o->auth_key, sizeof(o->auth_key));
	free(o->seen);
	free(o->plain);
	free(o);
}

const char *
oracle_error(const struct oracle *o)
{

	return (o->err[0] != '\0' ? o->err : "no error");
}

static size_t
oracle_nonce_slot(const struct oracle_nonce *tab, size_t cap,
    const uint8_t n[16])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ n[i]) * 0x100000001b3ULL;
	for (i = h & (cap - 1); tab[i].used && memcmp(tab[i].n, n, 16) != 0;
	     i = (i + 1) & (cap - 1))
		;
	return (i);
}

/*
 * A (key, nonce) pair must never protect two records: with AES-GCM and
 * ChaCha20-Poly1305 a repeat gives away the XOR of the two plaintexts and
 * the authentication key (RFC 5116 section 3, RFC 5288 section 6.1, RFC
 * 8446 section 5.3); a repeated CBC IV makes the IV predictable (RFC 4346
 * section 6.2.3.2).  The key is fixed for the oracle's whole connection,
 * so the oracle remembers every nonce (len bytes, zero-padded to 16) it
 * decrypted with.  Returns 0, or ORACLE_BAD on the second use.
 */
static int
oracle_nonce_once(struct oracle *o, const uint8_t *nonce, size_t len,
    const char *what)
{
	struct oracle_nonce *tab;
	uint8_t n[16];
	size_t i, cap;

	memset(n, 0, sizeof(n));
	memcpy(n, nonce, len);
	if (2 * (o->nseen + 1) > o->seencap) {
		cap = o->seencap != 0 ? 2 * o->seencap : 256;
		tab = calloc(cap, sizeof(*tab));
		if (tab == NULL) {
			oracle_fail(o, "out of memory");
			return (ORACLE_BAD);
		}
		for (i = 0; i < o->seencap; i++)
			if (o->seen[i].used)
				tab[oracle_nonce_slot(tab, cap, o->seen[i].n)] =
				    o->seen[i];
		free(o->seen);
		o->seen = tab;
		o->seencap = cap;
	}
	i = oracle_nonce_slot(o->seen, o->seencap, n);
	if (o->seen[i].used) {
		oracle_fail(o,
		    "%s reused: record %" PRIu64 " was protected with the "
		    "same key and %s",
		    what, o->seen[i].index, what);
		return (ORACLE_BAD);
	}
	memcpy(o->seen[i].n, n, sizeof(n));
	o->seen[i].index = o->index;
	o->seen[i].used = true;
	o->nseen++;
	return (0);
}

/*
 * The largest legal value of the header length field: explicit IV or nonce
 * + 2^14 bytes of plaintext + the largest trailer the suite can produce
 * (the bound FreeBSD's ktls_test.c sizes its receive buffer by).
 */
static size_t
oracle_max_body(const struct oracle *o)
{
	size_t explicit;

	switch (o->kind) {
	case OK_CBC:
		/*
		 * Explicit IV (TLS 1.1+), MAC and at most one whole block of
		 * minimal padding (RFC 5246 6.2.3.2).
		 */
		explicit =
		    o->suite.tls_vminor == TLS_MINOR_VER_ZERO ? 0 : CBC_BLOCK;
		return (explicit + MAX_PLAIN + o->maclen + CBC_BLOCK);
	case OK_GCM:
		if (!o->tls13)
			return (GCM12_EXPLICIT + MAX_PLAIN + AEAD_TAG_LEN);
		/* FALLTHROUGH */
	default:
		/* TLS 1.3 adds the inner content type byte (RFC 8446 5.2). */
		return (MAX_PLAIN + AEAD_TAG_LEN + (o->tls13 ? 1 : 0));
	}
}

/*
 * AES-CBC with HMAC, MAC-then-encrypt (RFC 5246 6.2.3.2, RFC 4346 6.2.3.2,
 * RFC 2246 6.2.3.2).  The ciphertext is plaintext || MAC || padding where
 * each of the padlen bytes (the length byte included) holds padlen - 1.
 */
static int
oracle_cbc(struct oracle *o, const uint8_t *hdr, size_t len,
    struct oracle_record *rec)
{
	uint8_t macin[13], mac[EVP_MAX_MD_SIZE];
	const uint8_t *body, *ivp;
	size_t blen, explicit, padlen, plen, maclen, i;
	uint8_t padbyte;
	int outl, outl2;

	/*
	 * TLS 1.1 and later carry a per-record IV in front of the ciphertext
	 * (RFC 4346 6.2.3.2); TLS 1.0 continues the CBC chain across records
	 * (RFC 2246 6.2.3.2), which is why the oracle must see every record.
	 */
	explicit = (o->suite.tls_vminor == TLS_MINOR_VER_ZERO) ? 0 : CBC_BLOCK;
	maclen = o->maclen;
	if (len < explicit) {
		oracle_fail(o,
		    "CBC record length %zu shorter than the "
		    "%zu-byte explicit IV",
		    len, explicit);
		return (ORACLE_BAD);
	}
	body = hdr + HDR_LEN + explicit;
	blen = len - explicit;
	ivp = explicit != 0 ? hdr + HDR_LEN : o->iv;
	if (blen == 0 || blen % CBC_BLOCK != 0) {
		oracle_fail(o,
		    "CBC ciphertext length %zu is not a positive "
		    "multiple of %d",
		    blen, CBC_BLOCK);
		return (ORACLE_BAD);
	}
	if (blen < maclen + 1) {
		oracle_fail(o,
		    "CBC ciphertext length %zu cannot hold a "
		    "%zu-byte MAC and padding",
		    blen, maclen);
		return (ORACLE_BAD);
	}

	if (o->null)
		memcpy(o->plain, body, blen);
	else if (!EVP_DecryptInit_ex2(o->ctx, NULL, NULL, ivp, NULL) ||
	    !EVP_DecryptUpdate(o->ctx, o->plain, &outl, body, (int)blen) ||
	    !EVP_DecryptFinal_ex(o->ctx, o->plain + outl, &outl2) ||
	    (size_t)(outl + outl2) != blen) {
		oracle_fail(o, "EVP AES-CBC decryption failed");
		return (ORACLE_BAD);
	}

	/*
	 * Padding.  FreeBSD always pads minimally, so with the total a
	 * multiple of the block size the padding length must be 1..16; a
	 * longer one (legal in RFC 5246 up to 256) is a framing bug here.
	 */
	padbyte = o->plain[blen - 1];
	padlen = (size_t)padbyte + 1;
	if (padlen > CBC_BLOCK) {
		oracle_fail(o,
		    "CBC padding length %zu is not minimal "
		    "(must be 1..%d)",
		    padlen, CBC_BLOCK);
		return (ORACLE_BAD);
	}
	if (blen < maclen + padlen) {
		oracle_fail(o,
		    "CBC ciphertext length %zu shorter than MAC "
		    "%zu + padding %zu",
		    blen, maclen, padlen);
		return (ORACLE_BAD);
	}
	/* RFC 5246 6.2.3.2: every padding byte equals the length value. */
	for (i = blen - padlen; i < blen; i++) {
		if (o->plain[i] != padbyte) {
			oracle_fail(o,
			    "CBC padding byte %zu of %zu is 0x%02x, "
			    "expected 0x%02x",
			    i - (blen - padlen), padlen, o->plain[i], padbyte);
			return (ORACLE_BAD);
		}
	}
	plen = blen - maclen - padlen;
	if (plen > MAX_PLAIN) {
		oracle_fail(o, "CBC plaintext length %zu exceeds 2^14", plen);
		return (ORACLE_BAD);
	}

	/*
	 * RFC 5246 6.2.3.1: MAC(seq_num || type || version || length ||
	 * fragment), where length is that of the plaintext, not the record;
	 * the explicit IV is not covered.
	 */
	be64enc_(macin, o->seqno);
	macin[8] = hdr[0];
	macin[9] = hdr[1];
	macin[10] = hdr[2];
	macin[11] = (uint8_t)(plen >> 8);
	macin[12] = (uint8_t)plen;
	i = 0;
	if (o->null) {
		if (!oracle_null_filled(o, o->plain + plen, maclen)) {
			oracle_fail(o,
			    "null cipher: a MAC byte is not 0x%02x "
			    "(plaintext %zu bytes, padding %zu)",
			    o->fill, plen, padlen);
			return (ORACLE_BAD);
		}
	} else if (!EVP_MAC_init(o->mctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(o->mctx, macin, sizeof(macin)) ||
	    !EVP_MAC_update(o->mctx, o->plain, plen) ||
	    !EVP_MAC_final(o->mctx, mac, &i, sizeof(mac)) || i != maclen) {
		oracle_fail(o, "EVP HMAC-%s failed", o->digest);
		return (ORACLE_BAD);
	} else if (CRYPTO_memcmp(mac, o->plain + plen, maclen) != 0) {
		oracle_fail(o,
		    "HMAC-%s mismatch (plaintext %zu bytes, "
		    "padding %zu)",
		    o->digest, plen, padlen);
		return (ORACLE_BAD);
	}

	/*
	 * Without encryption TLS 1.0 has no chain: the "IV" would be the
	 * last plaintext, MAC and padding bytes, which may well repeat.
	 */
	if ((!o->null || explicit != 0) &&
	    oracle_nonce_once(o, ivp, CBC_BLOCK,
		explicit != 0 ? "CBC explicit IV" : "CBC chained IV") != 0)
		return (ORACLE_BAD);

	/* The last ciphertext block seeds the next TLS 1.0 record. */
	if (explicit == 0)
		memcpy(o->iv, body + blen - CBC_BLOCK, CBC_BLOCK);
	else {
		memcpy(rec->explicit_iv, hdr + HDR_LEN, CBC_BLOCK);
		rec->explicit_len = CBC_BLOCK;
	}
	rec->inner_type = hdr[0];
	rec->padlen = padlen;
	rec->plen = plen;
	return (0);
}

/*
 * AEAD suites: TLS 1.2 AES-GCM (RFC 5288 3, RFC 5246 6.2.3.3), TLS 1.2
 * ChaCha20-Poly1305 (RFC 7905 2) and TLS 1.3 (RFC 8446 5.2, 5.3).
 */
static int
oracle_aead(struct oracle *o, const uint8_t *hdr, size_t len,
    struct oracle_record *rec)
{
	uint8_t nonce[AEAD_NONCE_LEN], aad[13], tag[AEAD_TAG_LEN], seq[8];
	const uint8_t *ct;
	size_t explicit, clen, aadlen, i;
	int outl, outl2;

	explicit = (o->kind == OK_GCM && !o->tls13) ? GCM12_EXPLICIT : 0;
	if (len < explicit + AEAD_TAG_LEN + (o->tls13 ? 1 : 0)) {
		oracle_fail(o,
		    "AEAD record length %zu too short for "
		    "%zu-byte nonce, tag%s",
		    len, explicit, o->tls13 ? " and inner type" : "");
		return (ORACLE_BAD);
	}
	ct = hdr + HDR_LEN + explicit;
	clen = len - explicit - AEAD_TAG_LEN;
	memcpy(tag, ct + clen, AEAD_TAG_LEN);

	be64enc_(seq, o->seqno);
	if (explicit != 0) {
		/*
		 * RFC 5288 3: nonce = salt (from the key block) ||
		 * nonce_explicit (carried in the record).  Its value is the
		 * sender's choice; FreeBSD uses a counter with a random start.
		 */
		memcpy(nonce, o->iv, TLS_AEAD_GCM_LEN);
		memcpy(nonce + TLS_AEAD_GCM_LEN, hdr + HDR_LEN, GCM12_EXPLICIT);
		memcpy(rec->explicit_iv, hdr + HDR_LEN, GCM12_EXPLICIT);
		rec->explicit_len = GCM12_EXPLICIT;
	} else {
		/*
		 * RFC 8446 5.3 and RFC 7905 2: the 64-bit sequence number,
		 * left-padded to the IV length, XORed into the static IV.
		 */
		memcpy(nonce, o->iv, AEAD_NONCE_LEN);
		for (i = 0; i < 8; i++)
			nonce[AEAD_NONCE_LEN - 8 + i] ^= seq[i];
	}

	if (o->tls13) {
		/*
		 * RFC 8446 5.2: additional_data is the record header exactly
		 * as sent, its length counting the tag.
		 */
		memcpy(aad, hdr, HDR_LEN);
		aadlen = HDR_LEN;
	} else {
		/*
		 * RFC 5246 6.2.3.3: seq_num || type || version || length of
		 * the plaintext (RFC 7905 reuses it for ChaCha20-Poly1305).
		 */
		memcpy(aad, seq, 8);
		aad[8] = hdr[0];
		aad[9] = hdr[1];
		aad[10] = hdr[2];
		aad[11] = (uint8_t)(clen >> 8);
		aad[12] = (uint8_t)clen;
		aadlen = 13;
	}

	outl = outl2 = 0;
	if (o->null) {
		if (!oracle_null_filled(o, tag, AEAD_TAG_LEN)) {
			oracle_fail(o,
			    "null cipher: a tag byte is not 0x%02x "
			    "(ciphertext %zu bytes)",
			    o->fill, clen);
			return (ORACLE_BAD);
		}
		memcpy(o->plain, ct, clen);
	} else if (!EVP_DecryptInit_ex2(o->ctx, NULL, NULL, nonce, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(o->ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN,
		tag) ||
	    !EVP_DecryptUpdate(o->ctx, NULL, &outl, aad, (int)aadlen) ||
	    !EVP_DecryptUpdate(o->ctx, o->plain, &outl, ct, (int)clen)) {
		oracle_fail(o, "EVP %s decryption setup failed",
		    EVP_CIPHER_get0_name(o->cipher));
		return (ORACLE_BAD);
	}
	if (!o->null &&
	    EVP_DecryptFinal_ex(o->ctx, o->plain + outl, &outl2) != 1) {
		oracle_fail(o, "%s tag mismatch (ciphertext %zu bytes)",
		    o->kind == OK_GCM ? "AES-GCM" : "ChaCha20-Poly1305", clen);
		return (ORACLE_BAD);
	}
	if (oracle_nonce_once(o, nonce, AEAD_NONCE_LEN, "AEAD nonce") != 0)
		return (ORACLE_BAD);

	if (o->tls13) {
		/*
		 * RFC 8446 5.2/5.4: the real type is the last non-zero byte
		 * of TLSInnerPlaintext, zeros after it being padding.
		 * FreeBSD never pads, so exactly one byte is trimmed and a
		 * zero there means padding (or a zero type), both wrong.
		 */
		rec->inner_type = o->plain[clen - 1];
		if (rec->inner_type == 0) {
			oracle_fail(o,
			    "TLS 1.3 inner type byte is 0 "
			    "(padding present or type missing)");
			return (ORACLE_BAD);
		}
		rec->plen = clen - 1;
	} else {
		rec->inner_type = hdr[0];
		rec->plen = clen;
	}
	return (0);
}

int
oracle_next(struct oracle *o, const uint8_t *buf, size_t avail,
    struct oracle_record *rec)
{
	size_t len, maxbody;
	uint8_t want_minor;
	int error;

	o->err[0] = '\0';
	memset(rec, 0, sizeof(*rec));
	if (avail < HDR_LEN) {
		oracle_fail(o, "incomplete header (%zu of %d bytes)", avail,
		    HDR_LEN);
		return (ORACLE_INCOMPLETE);
	}
	len = (size_t)buf[3] << 8 | buf[4];

	/*
	 * Header checks come before waiting for the body: a bad length would
	 * otherwise leave the caller waiting for bytes that never come.
	 */
	if (buf[1] != TLS_MAJOR_VER_ONE) {
		oracle_fail(o, "header major version %u, expected %u", buf[1],
		    TLS_MAJOR_VER_ONE);
		return (ORACLE_BAD);
	}
	/* RFC 8446 5.1: TLS 1.3 records claim legacy_record_version 3,3. */
	want_minor = o->tls13 ? TLS_MINOR_VER_TWO : o->suite.tls_vminor;
	if (buf[2] != want_minor) {
		oracle_fail(o, "header minor version %u, expected %u", buf[2],
		    want_minor);
		return (ORACLE_BAD);
	}
	/* RFC 8446 5.2: opaque_type is always application_data. */
	if (o->tls13 && buf[0] != TLS_RLTYPE_APP) {
		oracle_fail(o, "TLS 1.3 outer type %u, expected %u", buf[0],
		    TLS_RLTYPE_APP);
		return (ORACLE_BAD);
	}
	maxbody = oracle_max_body(o);
	if (len > maxbody) {
		oracle_fail(o,
		    "header length %zu exceeds the suite maximum "
		    "%zu",
		    len, maxbody);
		return (ORACLE_BAD);
	}
	if (avail < HDR_LEN + len) {
		oracle_fail(o, "incomplete record (%zu of %zu bytes)", avail,
		    HDR_LEN + len);
		return (ORACLE_INCOMPLETE);
	}

	if (o->kind == OK_CBC)
		error = oracle_cbc(o, buf, len, rec);
	else
		error = oracle_aead(o, buf, len, rec);
	if (error != 0)
		return (error);

	rec->type = buf[0];
	rec->vmajor = buf[1];
	rec->vminor = buf[2];
	rec->reclen = HDR_LEN + len;
	rec->seqno = o->seqno;
	rec->plain = o->plain;
	o->seqno++;
	o->index++;
	return (0);
}

int
oracle_stream(struct oracle *o, const uint8_t *buf, size_t len, uint8_t **plain,
    size_t *plen, size_t *nrecords, oracle_cb *cb, void *arg)
{
	struct oracle_record rec;
	uint8_t *out, *tmp;
	size_t off, outlen, outcap, n;
	int error;

	/* Start with room for the common case of 16 KiB records. */
	outcap = len + 1;
	out = malloc(outcap);
	if (out == NULL) {
		snprintf(o->err, sizeof(o->err), "out of memory");
		return (ORACLE_BAD);
	}
	off = outlen = n = 0;
	error = 0;
	while (off < len) {
		error = oracle_next(o, buf + off, len - off, &rec);
		if (error != 0)
			break;
		/* Plaintext never exceeds its record, but stay defensive. */
		if (outlen + rec.plen > outcap) {
			outcap = (outlen + rec.plen) * 2;
			tmp = realloc(out, outcap);
			if (tmp == NULL) {
				snprintf(o->err, sizeof(o->err),
				    "out of memory");
				error = ORACLE_BAD;
				break;
			}
			out = tmp;
		}
		memcpy(out + outlen, rec.plain, rec.plen);
		outlen += rec.plen;
		off += rec.reclen;
		n++;
		if (cb != NULL && (error = cb(arg, &rec)) != 0)
			break;
	}
	if (error == 0)
		o->err[0] = '\0';

	/* On failure the caller still gets (and frees) the good prefix. */
	if (plain != NULL)
		*plain = out;
	else
		free(out);
	if (plen != NULL)
		*plen = outlen;
	if (nrecords != NULL)
		*nrecords = n;
	return (error);
}
