/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The cipher-suite matrix, one table for every test (X-macros in the manner
 * of FreeBSD's tests/sys/kern/ktls_test.c).  Columns:
 *   name, cipher_algorithm, cipher key length, auth_algorithm,
 *   auth key length (= hash length), TLS minor version, tls_enable iv_len.
 * The matrix is described in docs/conformance.md, "Suites".
 */

#ifndef _TESTS_SUITES_H_
#define _TESTS_SUITES_H_

#include <stdbool.h>

#include "sys/ktls.h"

#define TLS_10_SUITES(M)                                                 \
	M(aes128_cbc_1_0_sha1, CRYPTO_AES_CBC, 16, CRYPTO_SHA1_HMAC, 20, \
	    TLS_MINOR_VER_ZERO, 16)                                      \
	M(aes256_cbc_1_0_sha1, CRYPTO_AES_CBC, 32, CRYPTO_SHA1_HMAC, 20, \
	    TLS_MINOR_VER_ZERO, 16)

#define AES_CBC_NONZERO_SUITES(M)                                              \
	M(aes128_cbc_1_1_sha1, CRYPTO_AES_CBC, 16, CRYPTO_SHA1_HMAC, 20,       \
	    TLS_MINOR_VER_ONE, 0)                                              \
	M(aes256_cbc_1_1_sha1, CRYPTO_AES_CBC, 32, CRYPTO_SHA1_HMAC, 20,       \
	    TLS_MINOR_VER_ONE, 0)                                              \
	M(aes128_cbc_1_2_sha1, CRYPTO_AES_CBC, 16, CRYPTO_SHA1_HMAC, 20,       \
	    TLS_MINOR_VER_TWO, 0)                                              \
	M(aes256_cbc_1_2_sha1, CRYPTO_AES_CBC, 32, CRYPTO_SHA1_HMAC, 20,       \
	    TLS_MINOR_VER_TWO, 0)                                              \
	M(aes128_cbc_1_2_sha256, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_256_HMAC, 32, \
	    TLS_MINOR_VER_TWO, 0)                                              \
	M(aes256_cbc_1_2_sha256, CRYPTO_AES_CBC, 32, CRYPTO_SHA2_256_HMAC, 32, \
	    TLS_MINOR_VER_TWO, 0)                                              \
	M(aes128_cbc_1_2_sha384, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_384_HMAC, 48, \
	    TLS_MINOR_VER_TWO, 0)                                              \
	M(aes256_cbc_1_2_sha384, CRYPTO_AES_CBC, 32, CRYPTO_SHA2_384_HMAC, 48, \
	    TLS_MINOR_VER_TWO, 0)

#define AES_CBC_SUITES(M) TLS_10_SUITES(M) AES_CBC_NONZERO_SUITES(M)

#define AES_GCM_12_SUITES(M)                                                   \
	M(aes128_gcm_1_2, CRYPTO_AES_NIST_GCM_16, 16, 0, 0, TLS_MINOR_VER_TWO, \
	    4)                                                                 \
	M(aes256_gcm_1_2, CRYPTO_AES_NIST_GCM_16, 32, 0, 0, TLS_MINOR_VER_TWO, \
	    4)

#define AES_GCM_SUITES(M)                                   \
	AES_GCM_12_SUITES(M)                                \
	M(aes128_gcm_1_3, CRYPTO_AES_NIST_GCM_16, 16, 0, 0, \
	    TLS_MINOR_VER_THREE, 12)                        \
	M(aes256_gcm_1_3, CRYPTO_AES_NIST_GCM_16, 32, 0, 0, \
	    TLS_MINOR_VER_THREE, 12)

#define CHACHA20_SUITES(M)                                           \
	M(chacha20_poly1305_1_2, CRYPTO_CHACHA20_POLY1305, 32, 0, 0, \
	    TLS_MINOR_VER_TWO, 12)                                   \
	M(chacha20_poly1305_1_3, CRYPTO_CHACHA20_POLY1305, 32, 0, 0, \
	    TLS_MINOR_VER_THREE, 12)

/* All 16 valid transmit suites. */
#define ALL_SUITES(M) AES_CBC_SUITES(M) AES_GCM_SUITES(M) CHACHA20_SUITES(M)

/*
 * The 11 combinations FreeBSD rejects with EINVAL (ktls_test.c's
 * INVALID_CIPHER_SUITES; sys/kern/uipc_ktls.c ktls_create_session()).
 */
#define INVALID_SUITES(M)                                                      \
	M(aes128_cbc_1_0_sha256, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_256_HMAC, 32, \
	    TLS_MINOR_VER_ZERO, 16)                                            \
	M(aes128_cbc_1_0_sha384, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_384_HMAC, 48, \
	    TLS_MINOR_VER_ZERO, 16)                                            \
	M(aes128_cbc_1_1_sha256, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_256_HMAC, 32, \
	    TLS_MINOR_VER_ONE, 0)                                              \
	M(aes128_cbc_1_1_sha384, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_384_HMAC, 48, \
	    TLS_MINOR_VER_ONE, 0)                                              \
	M(aes128_gcm_1_0, CRYPTO_AES_NIST_GCM_16, 16, 0, 0,                    \
	    TLS_MINOR_VER_ZERO, 4)                                             \
	M(aes128_gcm_1_1, CRYPTO_AES_NIST_GCM_16, 16, 0, 0, TLS_MINOR_VER_ONE, \
	    4)                                                                 \
	M(chacha20_poly1305_1_0, CRYPTO_CHACHA20_POLY1305, 32, 0, 0,           \
	    TLS_MINOR_VER_ZERO, 12)                                            \
	M(chacha20_poly1305_1_1, CRYPTO_CHACHA20_POLY1305, 32, 0, 0,           \
	    TLS_MINOR_VER_ONE, 12)                                             \
	M(aes128_cbc_1_3_sha1, CRYPTO_AES_CBC, 16, CRYPTO_SHA1_HMAC, 20,       \
	    TLS_MINOR_VER_THREE, 0)                                            \
	M(aes128_cbc_1_3_sha256, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_256_HMAC, 32, \
	    TLS_MINOR_VER_THREE, 0)                                            \
	M(aes128_cbc_1_3_sha384, CRYPTO_AES_CBC, 16, CRYPTO_SHA2_384_HMAC, 48, \
	    TLS_MINOR_VER_THREE, 0)

struct test_suite {
	const char *name;
	int cipher_algorithm;
	int cipher_key_len;
	int auth_algorithm;
	int auth_key_len;
	int tls_vminor;
	int iv_len;
};

#define TEST_SUITE_INIT(n, c, kl, a, al, v, ivl) { #n, c, kl, a, al, v, ivl },

/* Predicates every test needs (TLS 1.0 here always means AES-CBC). */
static inline bool
is_cbc(const struct test_suite *s)
{

	return (s->cipher_algorithm == CRYPTO_AES_CBC);
}

static inline bool
is_gcm(const struct test_suite *s)
{

	return (s->cipher_algorithm == CRYPTO_AES_NIST_GCM_16);
}

static inline bool
is_tls10(const struct test_suite *s)
{

	return (is_cbc(s) && s->tls_vminor == TLS_MINOR_VER_ZERO);
}

static inline bool
is_tls13(const struct test_suite *s)
{

	return (s->tls_vminor == TLS_MINOR_VER_THREE);
}

extern const struct test_suite test_suites[];
extern const int test_nsuites;
extern const struct test_suite test_invalid_suites[];
extern const int test_ninvalid_suites;

/* The suite of test_suites[] called name; fails the test if none is. */
const struct test_suite *test_suite_named(const char *name);

#endif /* !_TESTS_SUITES_H_ */
