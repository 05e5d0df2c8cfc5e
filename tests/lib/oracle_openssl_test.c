/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Cross-check the oracle against a real TLS stack.  For each test suite
 * that has an IANA cipher suite with the same record protection, run an
 * in-memory OpenSSL handshake, derive the client's write keys from the
 * session secrets (RFC 5246 6.3, RFC 8446 7.1/7.3) and let the oracle
 * decrypt what libssl wrote.  This catches a rule that the oracle and the
 * reference encryptor in oracle_test.c might share a misreading of (the
 * TLS 1.2 ChaCha20 nonce, say, which has no published record vector).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "oracle.h"
#include "suites.h"

struct interop_case {
	const char *suite; /* test_suites[] name */
	const char *ossl;  /* OpenSSL cipher (list) name */
	int version;	   /* TLS1_VERSION .. TLS1_3_VERSION */
};

/*
 * aes128_cbc_1_2_sha384 has no standard cipher suite (AES-128 with an
 * HMAC-SHA384 record MAC), so it is covered only by oracle_test.c.
 */
static const struct interop_case cases[] = {
	{ "aes128_cbc_1_0_sha1", "AES128-SHA", TLS1_VERSION },
	{ "aes256_cbc_1_0_sha1", "AES256-SHA", TLS1_VERSION },
	{ "aes128_cbc_1_1_sha1", "AES128-SHA", TLS1_1_VERSION },
	{ "aes256_cbc_1_1_sha1", "AES256-SHA", TLS1_1_VERSION },
	{ "aes128_cbc_1_2_sha1", "AES128-SHA", TLS1_2_VERSION },
	{ "aes256_cbc_1_2_sha1", "AES256-SHA", TLS1_2_VERSION },
	{ "aes128_cbc_1_2_sha256", "AES128-SHA256", TLS1_2_VERSION },
	{ "aes256_cbc_1_2_sha256", "AES256-SHA256", TLS1_2_VERSION },
	{ "aes256_cbc_1_2_sha384", "ECDHE-RSA-AES256-SHA384", TLS1_2_VERSION },
	{ "aes128_gcm_1_2", "ECDHE-RSA-AES128-GCM-SHA256", TLS1_2_VERSION },
	{ "aes256_gcm_1_2", "ECDHE-RSA-AES256-GCM-SHA384", TLS1_2_VERSION },
	{ "chacha20_poly1305_1_2", "ECDHE-RSA-CHACHA20-POLY1305",
	    TLS1_2_VERSION },
	{ "aes128_gcm_1_3", "TLS_AES_128_GCM_SHA256", TLS1_3_VERSION },
	{ "aes256_gcm_1_3", "TLS_AES_256_GCM_SHA384", TLS1_3_VERSION },
	{ "chacha20_poly1305_1_3", "TLS_CHACHA20_POLY1305_SHA256",
	    TLS1_3_VERSION },
};

static EVP_PKEY *pkey;
static X509 *cert;

/* Captured CLIENT_TRAFFIC_SECRET_0 (TLS 1.3). */
static uint8_t c_ap_secret[48];
static size_t c_ap_secret_len;

static int
group_setup(void **state)
{

	pkey = EVP_RSA_gen(2048);
	cert = X509_new();
	if (pkey == NULL || cert == NULL)
		return (-1);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, pkey);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
	    MBSTRING_ASC, (const unsigned char *)"ktlsim", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	if (X509_sign(cert, pkey, EVP_sha256()) == 0)
		return (-1);
	(void)state;
	return (0);
}

static int
group_teardown(void **state)
{

	X509_free(cert);
	EVP_PKEY_free(pkey);
	(void)state;
	return (0);
}

static void
keylog_cb(const SSL *ssl, const char *line)
{
	static const char tag[] = "CLIENT_TRAFFIC_SECRET_0 ";
	const char *p;
	long n;
	uint8_t *b;

	if (strncmp(line, tag, sizeof(tag) - 1) != 0)
		return;
	/* "<label> <client_random hex> <secret hex>" */
	p = strrchr(line, ' ');
	b = OPENSSL_hexstr2buf(p + 1, &n);
	if (b != NULL && (size_t)n <= sizeof(c_ap_secret)) {
		memcpy(c_ap_secret, b, n);
		c_ap_secret_len = n;
	}
	OPENSSL_free(b);
}

/* Everything the client sent during the handshake. */
static uint8_t hs[65536];
static size_t hslen;

/* Move whatever one side wrote to the other side; keep a copy if asked. */
static void
pump(BIO *from, BIO *to, bool keep)
{
	char buf[4096];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0) {
		assert_int_equal(BIO_write(to, buf, n), n);
		if (keep) {
			assert_true(hslen + n <= sizeof(hs));
			memcpy(hs + hslen, buf, n);
			hslen += n;
		}
	}
}

/* RFC 8446 7.1: HKDF-Expand-Label(Secret, Label, "", Length). */
static void
hkdf_expand_label(const char *md, const uint8_t *secret, size_t slen,
    const char *label, uint8_t *out, size_t olen)
{
	uint8_t info[64];
	size_t ilen, llen;
	OSSL_PARAM p[5];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;

	llen = strlen(label);
	info[0] = (uint8_t)(olen >> 8);
	info[1] = (uint8_t)olen;
	info[2] = (uint8_t)(6 + llen);
	memcpy(info + 3, "tls13 ", 6);
	memcpy(info + 9, label, llen);
	info[9 + llen] = 0; /* empty context */
	ilen = 10 + llen;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = EVP_KDF_CTX_new(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)md, 0);
	p[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, slen);
	p[3] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, ilen);
	p[4] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kctx, out, olen, p), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

/* RFC 5246 5, 6.3 (RFC 2246 5 for the MD5/SHA-1 PRF): the key block. */
static void
tls12_key_block(SSL *ssl, uint8_t *out, size_t olen)
{
	uint8_t master[48], seed[13 + 64];
	size_t mlen;
	OSSL_PARAM p[4];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	const EVP_MD *hmd;
	const char *md;

	mlen = SSL_SESSION_get_master_key(SSL_get_session(ssl), master,
	    sizeof(master));
	assert_int_equal(mlen, 48);
	memcpy(seed, "key expansion", 13);
	assert_int_equal(SSL_get_server_random(ssl, seed + 13, 32), 32);
	assert_int_equal(SSL_get_client_random(ssl, seed + 45, 32), 32);

	if (SSL_version(ssl) < TLS1_2_VERSION)
		md = "MD5-SHA1";
	else {
		/* TLS 1.2 suites without their own PRF hash use SHA-256. */
		hmd = SSL_CIPHER_get_handshake_digest(
		    SSL_get_current_cipher(ssl));
		md = (hmd == NULL || EVP_MD_get_type(hmd) == NID_md5_sha1) ?
		    "SHA256" :
		    EVP_MD_get0_name(hmd);
	}
	kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	kctx = EVP_KDF_CTX_new(kdf);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)md, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master,
	    mlen);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed,
	    sizeof(seed));
	p[3] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kctx, out, olen, p), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

static int
first_cb(void *arg, const struct oracle_record *rec)
{
	int *t = arg;

	if (*t == 0)
		*t = rec->inner_type;
	return (0);
}

static void
test_interop(void **state)
{
	const struct interop_case *tc = *state;
	const struct test_suite *s;
	SSL_CTX *cctx, *sctx;
	SSL *cl, *sv;
	BIO *c2s_c, *c2s_s, *s2c_s, *s2c_c;
	uint8_t kb[256], key[32], iv[16], mac[48], *payload, *wire, *plain,
	    *tmp;
	size_t wlen, plen, nrec, klen, off;
	struct oracle *o;
	uint64_t seq;
	int i, rc, wrote, first_type;
	const size_t total = 40000;

	s = test_suite_named(tc->suite);
	assert_non_null(s);
	cctx = SSL_CTX_new(TLS_client_method());
	sctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(cctx);
	assert_non_null(sctx);
	for (i = 0; i < 2; i++) {
		SSL_CTX *c = i == 0 ? cctx : sctx;

		SSL_CTX_set_min_proto_version(c, tc->version);
		SSL_CTX_set_max_proto_version(c, tc->version);
		/*
		 * FreeBSD KTLS only does MAC-then-encrypt; keep OpenSSL from
		 * negotiating RFC 7366 encrypt-then-MAC.
		 */
		SSL_CTX_set_options(c,
		    SSL_OP_NO_ENCRYPT_THEN_MAC | SSL_OP_NO_TICKET);
		if (tc->version == TLS1_3_VERSION)
			assert_int_equal(SSL_CTX_set_ciphersuites(c, tc->ossl),
			    1);
		else {
			char list[128];

			/* TLS 1.0/1.1 need security level 0 in OpenSSL 3. */
			snprintf(list, sizeof(list), "%s:@SECLEVEL=0",
			    tc->ossl);
			assert_int_equal(SSL_CTX_set_cipher_list(c, list), 1);
		}
	}
	assert_int_equal(SSL_CTX_use_certificate(sctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sctx, pkey), 1);
	SSL_CTX_set_keylog_callback(cctx, keylog_cb);
	c_ap_secret_len = 0;
	hslen = 0;

	cl = SSL_new(cctx);
	sv = SSL_new(sctx);
	c2s_c = BIO_new(BIO_s_mem());
	c2s_s = BIO_new(BIO_s_mem());
	s2c_s = BIO_new(BIO_s_mem());
	s2c_c = BIO_new(BIO_s_mem());
	SSL_set_bio(cl, s2c_c, c2s_c); /* client reads s2c, writes c2s */
	SSL_set_bio(sv, c2s_s, s2c_s);
	SSL_set_connect_state(cl);
	SSL_set_accept_state(sv);
	for (i = 0; i < 20; i++) {
		int a = SSL_do_handshake(cl), b = SSL_do_handshake(sv);

		pump(c2s_c, c2s_s, true);
		pump(s2c_s, s2c_c, false);
		if (a == 1 && b == 1)
			break;
	}
	assert_true(SSL_is_init_finished(cl) && SSL_is_init_finished(sv));
	/* The server's post-handshake flight, if any, is not our concern. */
	(void)BIO_reset(c2s_s);

	/* Client write keys. */
	memset(iv, 0, sizeof(iv));
	klen = s->cipher_key_len;
	if (tc->version == TLS1_3_VERSION) {
		const char *md =
		    strstr(tc->ossl, "SHA384") ? "SHA384" : "SHA256";

		assert_true(c_ap_secret_len != 0);
		hkdf_expand_label(md, c_ap_secret, c_ap_secret_len, "key", key,
		    klen);
		hkdf_expand_label(md, c_ap_secret, c_ap_secret_len, "iv", iv,
		    12);
		/* The client's Finished went out under handshake keys. */
		seq = 0;
	} else {
		size_t maclen = s->auth_key_len, ivlen;

		ivlen = s->cipher_algorithm == CRYPTO_AES_CBC ?
		    (tc->version == TLS1_VERSION ? 16 : 0) :
		    s->iv_len;
		tls12_key_block(sv, kb, 2 * (maclen + klen + ivlen));
		off = 0;
		memcpy(mac, kb + off, maclen); /* client MAC */
		off += 2 * maclen;
		memcpy(key, kb + off, klen); /* client key */
		off += 2 * klen;
		memcpy(iv, kb + off, ivlen); /* client IV */
		/*
		 * The client's Finished is record 0 under these keys (RFC
		 * 5246 6.1: the sequence number resets at ChangeCipherSpec).
		 */
		seq = 0;
	}

	payload = malloc(total);
	for (off = 0; off < total; off++)
		payload[off] = (uint8_t)(off * 7 + 3);
	wrote = SSL_write(cl, payload, (int)total);
	assert_int_equal(wrote, (int)total);
	wlen = BIO_ctrl_pending(c2s_c);
	wire = malloc(wlen);
	assert_int_equal(BIO_read(c2s_c, wire, (int)wlen), (int)wlen);

	if (tc->version != TLS1_3_VERSION) {
		/*
		 * Prepend the client's encrypted Finished (everything after
		 * its ChangeCipherSpec) so the oracle starts at seq 0 and, for
		 * TLS 1.0, follows the CBC chain from the key-block IV.
		 */
		off = 0;
		while (off + 5 <= hslen && hs[off] != 20)
			off += 5 + ((size_t)hs[off + 3] << 8 | hs[off + 4]);
		assert_true(off + 5 <= hslen);
		off += 5 + ((size_t)hs[off + 3] << 8 | hs[off + 4]);
		assert_true(off < hslen);
		tmp = malloc(hslen - off + wlen);
		memcpy(tmp, hs + off, hslen - off);
		memcpy(tmp + hslen - off, wire, wlen);
		free(wire);
		wire = tmp;
		wlen += hslen - off;
		seq = 0;
	}

	o = oracle_new(s, key, iv, mac, seq);
	assert_non_null(o);
	first_type = 0;
	rc = oracle_stream(o, wire, wlen, &plain, &plen, &nrec, first_cb,
	    &first_type);
	if (rc != 0)
		fail_msg("%s: %s", tc->ossl, oracle_error(o));
	/* TLS 1.2 and older: Finished (RFC 5246 7.4.9, 4 + 12 bytes) first. */
	off = tc->version == TLS1_3_VERSION ? 0 : 16;
	assert_int_equal(first_type,
	    off == 0 ? TLS_RLTYPE_APP : TLS_RLTYPE_HANDSHAKE);
	assert_int_equal(plen, off + total);
	assert_memory_equal(plain + off, payload, total);
	assert_true(nrec >= 3);
	print_message("%s (%s): %zu records, %zu bytes on the wire\n", s->name,
	    tc->ossl, nrec, wlen);

	free(plain);
	oracle_free(o);
	free(wire);
	free(payload);
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0])];
	size_t i;

	memset(tests, 0, sizeof(tests));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tests[i].name = cases[i].suite;
		tests[i].test_func = test_interop;
		tests[i].initial_state = (void *)&cases[i];
	}
	return (_cmocka_run_group_tests("oracle_openssl", tests,
	    sizeof(cases) / sizeof(cases[0]), group_setup, group_teardown));
}
