/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The reference TLS record encryptor.  Like the oracle it is written with
 * plain OpenSSL EVP straight from the RFCs (RFC 5246 6.2.3, RFC 5288,
 * RFC 7905, RFC 8446 5.2-5.3) and shares no code with src/.  It exists so
 * that tests can compute the records they expect byte-exactly: the
 * oracle's own tests round-trip through it, and the conformance tests
 * re-encrypt every record the simulated kernel sent and compare.  It can
 * also be asked for deliberate deviations (struct refenc_opts), to show
 * that a check has teeth.
 */

#ifndef _TESTS_REFENC_H_
#define _TESTS_REFENC_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "suites.h"

/* Deviations from the correct record; refenc_default makes none. */
struct refenc_opts {
	size_t keylen;	   /* AES key bytes; 0 = the suite's */
	bool no_seq_xor;   /* AEAD nonce = IV, seqno not mixed in */
	bool tls12_aad;	   /* TLS 1.3 with the 13-byte TLS 1.2 AAD */
	size_t tls13_pad;  /* zero bytes after the TLS 1.3 inner type */
	size_t cbc_padlen; /* CBC padding length incl. length byte; 0=min */
	int cbc_bad_pad;   /* CBC: padding byte to corrupt; -1 = none */
	uint8_t vminor;	   /* header minor to write; 0 = the correct one */
};

extern const struct refenc_opts refenc_default;

/*
 * Bytes the sender chooses after the header: the GCM 1.2 explicit nonce
 * (8), the CBC 1.1+ explicit IV (16), else 0.
 */
size_t refenc_explicit_len(const struct test_suite *s);

/*
 * Encrypt one record of type with plaintext p[0..plen) into out (room for
 * 5 + 16 + plen + 256 bytes, more with opt's extra padding) and return
 * its length.  cipher_key, iv and
 * auth_key are as handed to TCP_TXTLS_ENABLE.  explicit holds the
 * refenc_explicit_len() sender-chosen bytes (may be NULL when that is 0).
 * chain_iv is the TLS 1.0 CBC chaining state (in/out; unused otherwise).
 * opt may be NULL for refenc_default.  Fails the cmocka test on an EVP
 * error.
 */
size_t refenc_record(const struct test_suite *s, const uint8_t *cipher_key,
    const uint8_t *iv, const uint8_t *auth_key, uint8_t *chain_iv, uint64_t seq,
    uint8_t type, const uint8_t *p, size_t plen, const uint8_t *explicit,
    const struct refenc_opts *opt, uint8_t *out);

/*
 * HMAC(auth_key, hdr13 || p) with the suite's hash: the TLS CBC MAC over
 * seq || type || version || length || plaintext (RFC 5246 6.2.3.1).  out
 * receives auth_key_len bytes.
 */
void refenc_hmac(const struct test_suite *s, const uint8_t *auth_key,
    const uint8_t *hdr13, const uint8_t *p, size_t plen, uint8_t *out);

#endif /* !_TESTS_REFENC_H_ */
