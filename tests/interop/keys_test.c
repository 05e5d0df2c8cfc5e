/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The key hand-off (sim/server/handoff.c, ssl_tap.c) against a real TLS
 * client.  A client and a server SSL complete a handshake over memory BIOs;
 * the server's struct tls_enable is derived; the test then protects
 * application records by hand with plain EVP, as FreeBSD's kernel does
 * (docs/record-layouts.md), and the client SSL must accept them with
 * SSL_read().  Nothing from src/ is used, so this checks the hand-over (keys,
 * IV, sequence number) independently of the simulated kernel.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <string.h>

#include "sim/server/cert.h"
#include "sim/server/handoff.h"
#include "sim/server/ssl_tap.h"
#include "wipecheck.h"

struct ks_case {
	const char *name;
	int version;
	const char *ciphers; /* cipher list or TLS 1.3 ciphersuites */
	int ntickets;	     /* TLS 1.3 NewSessionTickets to send */
	int pre_writes;	     /* SSL_write()s before the hand-over */
	bool offload;	     /* sim_keys_derive() must succeed */
};

static EVP_PKEY *ks_pkey;
static X509 *ks_cert;

struct ks_conn {
	SSL_CTX *sctx, *cctx;
	SSL *server, *client;
	BIO *c2s, *s2c;
};

static int
ks_group_setup(void **state)
{

	if (sim_cert_make("localhost", &ks_pkey, &ks_cert) != 0)
		return (-1);
	return (0);
}

static int
ks_group_teardown(void **state)
{

	EVP_PKEY_free(ks_pkey);
	X509_free(ks_cert);
	return (0);
}

static void
ks_ctx_common(SSL_CTX *ctx, const struct ks_case *c)
{

	/*
	 * Debian's openssl.cnf raises MinProtocol and the security level;
	 * TLS 1.0/1.1 need SHA-1 signatures, so level 0 for them.
	 */
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, c->version), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, c->version), 1);
	if (c->version == TLS1_3_VERSION)
		assert_int_equal(SSL_CTX_set_ciphersuites(ctx, c->ciphers), 1);
	else
		assert_int_equal(SSL_CTX_set_cipher_list(ctx, c->ciphers), 1);
}

static void
ks_pump(struct ks_conn *kc)
{
	int i, rc, rs;

	rc = rs = 0;
	for (i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(kc->client);
		if (rs != 1)
			rs = SSL_do_handshake(kc->server);
	}
	if (rc != 1 || rs != 1)
		ERR_print_errors_fp(stderr);
	assert_int_equal(rc, 1);
	assert_int_equal(rs, 1);
}

static void
ks_connect(struct ks_conn *kc, const struct ks_case *c)
{

	memset(kc, 0, sizeof(*kc));
	kc->sctx = SSL_CTX_new(TLS_server_method());
	kc->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(kc->sctx);
	assert_non_null(kc->cctx);
	ks_ctx_common(kc->sctx, c);
	ks_ctx_common(kc->cctx, c);
	assert_int_equal(SSL_CTX_use_certificate(kc->sctx, ks_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(kc->sctx, ks_pkey), 1);
	assert_int_equal(SSL_CTX_set_num_tickets(kc->sctx, c->ntickets), 1);
	assert_int_equal(sim_tap_setup_ctx(kc->sctx, NULL), 0);

	kc->c2s = BIO_new(BIO_s_mem());
	kc->s2c = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(kc->c2s, -1);
	BIO_set_mem_eof_return(kc->s2c, -1);
	kc->server = SSL_new(kc->sctx);
	kc->client = SSL_new(kc->cctx);
	/* Each SSL owns one reference to each BIO. */
	BIO_up_ref(kc->c2s);
	BIO_up_ref(kc->s2c);
	SSL_set_bio(kc->client, kc->s2c, kc->c2s);
	/* The per-connection state holds the secrets: must be wiped. */
	wipe_secret(true);
	assert_int_equal(sim_tap_attach(kc->server, kc->c2s, kc->s2c), 0);
	wipe_secret(false);
	SSL_set_accept_state(kc->server);
	SSL_set_connect_state(kc->client);
	ks_pump(kc);
}

static void
ks_close(struct ks_conn *kc)
{

	SSL_free(kc->client);
	SSL_free(kc->server);
	SSL_CTX_free(kc->cctx);
	SSL_CTX_free(kc->sctx);
}

static void
be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static const EVP_CIPHER *
ks_cipher(const struct tls_enable *en)
{

	switch (en->cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
		return (en->cipher_key_len == 16 ? EVP_aes_128_gcm() :
						   EVP_aes_256_gcm());
	case CRYPTO_CHACHA20_POLY1305:
		return (EVP_chacha20_poly1305());
	case CRYPTO_AES_CBC:
		return (en->cipher_key_len == 16 ? EVP_aes_128_cbc() :
						   EVP_aes_256_cbc());
	}
	fail_msg("bad cipher %d", en->cipher_algorithm);
	return (NULL);
}

/* AEAD seal in one call; out gets ciphertext then the 16-byte tag. */
static void
ks_aead(const struct tls_enable *en, const uint8_t *nonce, const uint8_t *aad,
    size_t aadlen, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int n;

	ctx = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(ctx, ks_cipher(en), NULL, NULL,
			     NULL),
	    1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12,
			     NULL),
	    1);
	assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, en->cipher_key,
			     nonce),
	    1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &n, aad, aadlen), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + n, &n), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
			     out + len),
	    1);
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * Protect one record of type 'type' the way FreeBSD's
 * sys/opencrypto/ktls_ocf.c does (ktls_ocf_tls12_aead_encrypt(),
 * ktls_ocf_tls13_aead_encrypt(), ktls_ocf_tls_cbc_encrypt()).  *cbc_iv
 * carries the TLS 1.0 chained IV from record to record.  Returns the record
 * length.
 */
static size_t
ks_seal(const struct tls_enable *en, uint64_t seq, uint8_t type,
    const uint8_t *p, size_t plen, uint8_t *cbc_iv, uint8_t *rec)
{
	uint8_t nonce[12], aad[13], buf[512];
	const EVP_MD *md;
	EVP_CIPHER_CTX *ctx;
	unsigned int maclen;
	size_t len, i, pad;
	int n, n2;

	assert_true(plen + 1 <= 256);
	rec[1] = TLS_MAJOR_VER_ONE;
	be64(aad, seq);
	aad[8] = type;
	aad[9] = TLS_MAJOR_VER_ONE;
	aad[10] = en->tls_vminor;
	aad[11] = (uint8_t)(plen >> 8);
	aad[12] = (uint8_t)plen;

	if (en->tls_vminor == TLS_MINOR_VER_THREE) {
		/* RFC 8446 5.2: outer 23/3.3, inner type byte, no padding. */
		len = plen + 1 + 16;
		rec[0] = TLS_RLTYPE_APP;
		rec[2] = TLS_MINOR_VER_TWO;
		rec[3] = (uint8_t)(len >> 8);
		rec[4] = (uint8_t)len;
		memcpy(buf, p, plen);
		buf[plen] = type;
		memcpy(nonce, en->iv, 12);
		for (i = 0; i < 8; i++)
			nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
		ks_aead(en, nonce, rec, 5, buf, plen + 1, rec + 5);
		return (5 + len);
	}
	rec[0] = type;
	rec[2] = en->tls_vminor;
	switch (en->cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
		/* RFC 5288 3: salt || explicit nonce (any unique value). */
		assert_int_equal(en->iv_len, 4);
		len = 8 + plen + 16;
		memcpy(nonce, en->iv, 4);
		be64(nonce + 4, 0x1122334455660000ULL + seq);
		memcpy(rec + 5, nonce + 4, 8);
		ks_aead(en, nonce, aad, 13, p, plen, rec + 13);
		break;
	case CRYPTO_CHACHA20_POLY1305:
		/* RFC 7905 2: iv XOR padded sequence number. */
		assert_int_equal(en->iv_len, 12);
		len = plen + 16;
		memcpy(nonce, en->iv, 12);
		for (i = 0; i < 8; i++)
			nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
		ks_aead(en, nonce, aad, 13, p, plen, rec + 5);
		break;
	case CRYPTO_AES_CBC:
		/* RFC 5246 6.2.3.2: MAC-then-encrypt, pad to the block. */
		md = en->auth_algorithm == CRYPTO_SHA1_HMAC    ? EVP_sha1() :
		    en->auth_algorithm == CRYPTO_SHA2_256_HMAC ? EVP_sha256() :
								 EVP_sha384();
		memcpy(buf, p, plen);
		{
			uint8_t macin[13 + 256];

			memcpy(macin, aad, 13);
			memcpy(macin + 13, p, plen);
			assert_non_null(HMAC(md, en->auth_key, en->auth_key_len,
			    macin, 13 + plen, buf + plen, &maclen));
		}
		assert_int_equal(maclen, en->auth_key_len);
		pad = 16 - (plen + maclen) % 16;
		for (i = 0; i < pad; i++)
			buf[plen + maclen + i] = (uint8_t)(pad - 1);
		len = plen + maclen + pad;
		ctx = EVP_CIPHER_CTX_new();
		if (en->tls_vminor == TLS_MINOR_VER_ZERO) {
			assert_int_equal(en->iv_len, 16);
			assert_int_equal(EVP_EncryptInit_ex(ctx, ks_cipher(en),
					     NULL, en->cipher_key, cbc_iv),
			    1);
			n = 5;
		} else {
			assert_int_equal(RAND_bytes(rec + 5, 16), 1);
			assert_int_equal(EVP_EncryptInit_ex(ctx, ks_cipher(en),
					     NULL, en->cipher_key, rec + 5),
			    1);
			n = 21;
			len += 16;
		}
		EVP_CIPHER_CTX_set_padding(ctx, 0);
		assert_int_equal(EVP_EncryptUpdate(ctx, rec + n, &n2, buf,
				     plen + maclen + pad),
		    1);
		assert_int_equal(n2, plen + maclen + pad);
		EVP_CIPHER_CTX_free(ctx);
		if (en->tls_vminor == TLS_MINOR_VER_ZERO)
			memcpy(cbc_iv, rec + 5 + len - 16, 16);
		break;
	default:
		fail();
		return (0);
	}
	rec[3] = (uint8_t)(len >> 8);
	rec[4] = (uint8_t)len;
	return (5 + len);
}

/*
 * sim_keys_derive() at a fixed depth, and a look at the stack it and its
 * callees used, right after: the TLS 1.0-1.2 key block (both directions'
 * keys) is on its stack and must be wiped (OPENSSL_cleanse()) before it
 * returns.  ks_stack_scrub() zeroes the region first, so whatever key
 * bytes are found there afterwards were left by the derivation.  Reading
 * dead stack through a volatile array is outside ISO C but what every
 * compiler we build with does; under ASan the frames may live elsewhere,
 * which can only make the check miss.
 */
#define KS_STACK_SCAN 32768

static __attribute__((noinline)) void
ks_stack_scrub(void)
{
	volatile uint8_t region[KS_STACK_SCAN];

	for (size_t i = 0; i < sizeof(region); i++)
		region[i] = 0;
}

static __attribute__((noinline)) int
ks_derive(SSL *ssl, struct sim_keys *k, char *why, size_t whylen)
{

	return (sim_keys_derive(ssl, k, why, whylen));
}

/* Whether the dead stack below the caller holds p[0..len). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
static __attribute__((noinline)) bool
ks_stack_holds(const uint8_t *p, size_t len)
{
	volatile uint8_t region[KS_STACK_SCAN];
	size_t i, j;

	for (i = 0; i + len <= sizeof(region); i++) {
		for (j = 0; j < len && region[i + j] == p[j]; j++)
			;
		if (j == len)
			return (true);
	}
	return (false);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/*
 * The keys must not outlive the connection in memory the hand-off freed:
 * every block sim_tap_attach() allocates (the secrets from the key log,
 * the log itself) is zero when freed, and no freed block holds the derived
 * keys or the master secret.
 */
static void
ks_wipe_begin(const struct sim_keys *k, SSL *server)
{
	uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
	size_t mlen;

	wipe_pattern(k->cipher_key, k->en.cipher_key_len, "cipher key");
	if (k->en.auth_key_len > 0)
		wipe_pattern(k->auth_key, k->en.auth_key_len, "MAC key");
	if (k->en.iv_len >= 12)
		wipe_pattern(k->iv, k->en.iv_len, "IV");
	mlen = SSL_SESSION_get_master_key(SSL_get_session(server), master,
	    sizeof(master));
	if (mlen > 0 && SSL_version(server) != TLS1_3_VERSION)
		wipe_pattern(master, mlen, "master secret");
	OPENSSL_cleanse(master, sizeof(master));
}

static void
ks_wipe_end(const char *name)
{
	size_t nviol;

	nviol = wipe_end();
	if (nviol != 0)
		fail_msg("%s: %zu bad frees (unwiped or overrun):\n%s", name,
		    nviol, wipe_report());
	/* The state from sim_tap_attach(), freed with the SSL. */
	assert_int_equal(wipe_nsecret(), 1);
	assert_int_equal(wipe_nsecret_freed(), 1);
}

static void
test_handover(void **state)
{
	const struct ks_case *c = *state;
	static const char *msgs[] = { "GET / HTTP/1.1 -- first record", "",
		"second record, next sequence number" };
	uint8_t rec[600], cbc_iv[16], got[256];
	struct sim_keys k;
	struct ks_conn kc;
	uint64_t seq;
	size_t reclen;
	char why[160];
	int i, n, rv;

	wipe_begin();
	ks_connect(&kc, c);
	for (i = 0; i < c->pre_writes; i++) {
		/* libssl's own records before the hand-over. */
		assert_int_equal(SSL_write(kc.server, "pre", 3), 3);
		n = SSL_read(kc.client, got, sizeof(got));
		assert_int_equal(n, 3);
	}
	why[0] = '\0';
	ks_stack_scrub();
	rv = ks_derive(kc.server, &k, why, sizeof(why));
	if (!c->offload) {
		assert_int_equal(rv, -1);
		print_message("    fallback: %s\n", why);
		assert_true(why[0] != '\0');
		ks_close(&kc);
		ks_wipe_end(c->name);
		return;
	}
	assert_int_equal(rv, 0);
	/*
	 * TLS 1.3 keys are expanded straight into k (and libcrypto's HKDF
	 * was seen to leave a copy of its own on its first call).
	 */
	if (c->version != TLS1_3_VERSION &&
	    (ks_stack_holds(k.cipher_key, k.en.cipher_key_len) ||
		(k.en.auth_key_len > 0 &&
		    ks_stack_holds(k.auth_key, k.en.auth_key_len))))
		fail_msg("%s: sim_keys_derive() left the key on the stack",
		    c->name);
	ks_wipe_begin(&k, kc.server);
	sim_tap_stop_writes(kc.server);
	print_message("    %s %s: rec_seq %ju key %d iv %d mac %d\n", k.version,
	    k.suite, (uintmax_t)k.seqno, k.en.cipher_key_len, k.en.iv_len,
	    k.en.auth_key_len);
	if (c->version == TLS1_3_VERSION)
		assert_int_equal(k.seqno, c->ntickets + c->pre_writes);
	else if (c->version == TLS1_VERSION)
		/* 1/n-1 split: an empty record precedes each write. */
		assert_true(k.seqno >= 1 + (uint64_t)c->pre_writes);
	else
		assert_int_equal(k.seqno, 1 + c->pre_writes);
	if (k.en.iv_len > 0)
		memcpy(cbc_iv, k.en.iv,
		    sizeof(cbc_iv) < (size_t)k.en.iv_len ? sizeof(cbc_iv) :
							   (size_t)k.en.iv_len);

	seq = k.seqno;
	for (i = 0; i < (int)(sizeof(msgs) / sizeof(msgs[0])); i++) {
		/* An empty record is only legal data before TLS 1.3. */
		if (msgs[i][0] == '\0' && c->version == TLS1_3_VERSION)
			continue;
		reclen = ks_seal(&k.en, seq++, TLS_RLTYPE_APP,
		    (const uint8_t *)msgs[i], strlen(msgs[i]), cbc_iv, rec);
		assert_int_equal(BIO_write(kc.s2c, rec, reclen), reclen);
		if (msgs[i][0] == '\0')
			continue;
		n = SSL_read(kc.client, got, sizeof(got));
		if (n <= 0)
			ERR_print_errors_fp(stderr);
		assert_int_equal(n, strlen(msgs[i]));
		assert_memory_equal(got, msgs[i], n);
	}
	/* close_notify as sim_server sends it: alert record 01 00. */
	reclen = ks_seal(&k.en, seq++, TLS_RLTYPE_ALERT,
	    (const uint8_t *)"\001\000", 2, cbc_iv, rec);
	assert_int_equal(BIO_write(kc.s2c, rec, reclen), reclen);
	n = SSL_read(kc.client, got, sizeof(got));
	assert_int_equal(n, 0);
	assert_int_equal(SSL_get_error(kc.client, n), SSL_ERROR_ZERO_RETURN);
	/* libssl's writes are now swallowed by the tap. */
	assert_int_equal(SSL_write(kc.server, "x", 1), 1);
	ks_close(&kc);
	ks_wipe_end(c->name);
}

#define EC "ECDHE-ECDSA-"
static const struct ks_case ks_cases[] = {
	{ "1.3 aes128-gcm", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 2, 0,
	    true },
	{ "1.3 aes256-gcm", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 2, 0,
	    true },
	{ "1.3 chacha20", TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", 2, 0,
	    true },
	{ "1.3 no tickets", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 0, 0,
	    true },
	{ "1.3 after data", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 1, 3,
	    true },
	{ "1.3 ccm fallback", TLS1_3_VERSION, "TLS_AES_128_CCM_SHA256", 1, 0,
	    false },
	{ "1.2 aes128-gcm", TLS1_2_VERSION, EC "AES128-GCM-SHA256", 0, 0,
	    true },
	{ "1.2 aes256-gcm", TLS1_2_VERSION, EC "AES256-GCM-SHA384", 0, 0,
	    true },
	{ "1.2 chacha20", TLS1_2_VERSION, EC "CHACHA20-POLY1305", 0, 0, true },
	{ "1.2 aes128-cbc-sha1", TLS1_2_VERSION, EC "AES128-SHA", 0, 0, true },
	{ "1.2 aes256-cbc-sha1", TLS1_2_VERSION, EC "AES256-SHA", 0, 0, true },
	{ "1.2 aes128-cbc-sha256", TLS1_2_VERSION, EC "AES128-SHA256", 0, 0,
	    true },
	{ "1.2 aes256-cbc-sha384", TLS1_2_VERSION, EC "AES256-SHA384", 0, 0,
	    true },
	{ "1.2 after data", TLS1_2_VERSION, EC "AES128-GCM-SHA256", 0, 2,
	    true },
	{ "1.2 ccm fallback", TLS1_2_VERSION, EC "AES128-CCM", 0, 0, false },
	{ "1.1 aes128-cbc-sha1", TLS1_1_VERSION, EC "AES128-SHA", 0, 0, true },
	{ "1.1 aes256-cbc-sha1", TLS1_1_VERSION, EC "AES256-SHA", 0, 0, true },
	{ "1.0 aes128-cbc-sha1", TLS1_VERSION, EC "AES128-SHA", 0, 0, true },
	{ "1.0 aes256-cbc-sha1", TLS1_VERSION, EC "AES256-SHA", 0, 0, true },
	{ "1.0 after data", TLS1_VERSION, EC "AES128-SHA", 0, 2, true },
};

int
main(void)
{
	struct CMUnitTest tests[sizeof(ks_cases) / sizeof(ks_cases[0])];
	size_t i;

	for (i = 0; i < sizeof(ks_cases) / sizeof(ks_cases[0]); i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = ks_cases[i].name;
		tests[i].test_func = test_handover;
		tests[i].initial_state = (void *)&ks_cases[i];
	}
	return (_cmocka_run_group_tests("keys", tests, i, ks_group_setup,
	    ks_group_teardown));
}
