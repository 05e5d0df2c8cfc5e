/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The independent decryptor ("oracle").  Written with plain OpenSSL EVP and
 * nothing from src/, it parses a transmitted byte stream into TLS records
 * and checks each one the way FreeBSD's tests/sys/kern/ktls_test.c checks
 * the kernel (decrypt_tls_record()), plus the stricter RFC rules: every CBC
 * padding byte equals the padding length and the padding is minimal; TLS 1.3
 * carries exactly one inner type byte and no padding; records never exceed
 * the suite's maximum size; no nonce (AEAD) or IV (CBC) protects two records
 * of one oracle, i.e. one key on one connection (the GCM 1.2 explicit nonce
 * is taken from the wire, so only this catches a sender that repeats it).
 */

#ifndef _TESTS_ORACLE_H_
#define _TESTS_ORACLE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "suites.h"

/* oracle_next() results besides 0. */
#define ORACLE_INCOMPLETE (-1) /* need more bytes for a whole record */
#define ORACLE_BAD (-2)	       /* malformed or failed authentication */

struct oracle;

struct oracle_record {
	uint8_t type;	    /* outer type as on the wire */
	uint8_t inner_type; /* real type: TLS 1.3 inner, else == type */
	uint8_t vmajor;
	uint8_t vminor;
	size_t reclen;		 /* 5 + header length field */
	uint64_t seqno;		 /* the sequence number it authenticated with */
	uint8_t explicit_iv[16]; /* GCM 1.2 nonce (8) or CBC 1.1+ IV (16) */
	size_t explicit_len;
	size_t padlen;	      /* CBC: padding bytes incl. the length byte */
	const uint8_t *plain; /* valid until the next call */
	size_t plen;
};

/*
 * key/iv/auth_key are as handed to TCP_TXTLS_ENABLE (iv: the suite's iv_len
 * bytes; for TLS 1.1+ CBC it is unused).  seqno is the first record's
 * sequence number; it advances by one per record.
 */
struct oracle *oracle_new(const struct test_suite *suite,
    const uint8_t *cipher_key, const uint8_t *iv, const uint8_t *auth_key,
    uint64_t seqno);
/*
 * An oracle for the records of a null cipher build (-Dnull_cipher=true,
 * docs/fuzzing.md): arguments as oracle_new()'s, and fill, the byte the
 * null cipher writes over every tag and MAC.  It checks everything
 * oracle_new()'s does except the cryptography: header, lengths, CBC
 * padding (the null cipher writes it as RFC 5246 6.2.3.2 lays it out),
 * the TLS 1.3 inner type, tag or MAC bytes all fill, and no explicit nonce
 * or IV used twice.
 */
struct oracle *oracle_new_null(const struct test_suite *suite,
    const uint8_t *cipher_key, const uint8_t *iv, const uint8_t *auth_key,
    uint64_t seqno, uint8_t fill);
void oracle_free(struct oracle *o);

/* Parse and decrypt one record at buf. */
int oracle_next(struct oracle *o, const uint8_t *buf, size_t avail,
    struct oracle_record *rec);

typedef int oracle_cb(void *arg, const struct oracle_record *rec);

/*
 * Decrypt a whole stream.  *plain (malloc'd, caller frees) receives the
 * concatenated plaintext of every record, *nrecords the record count.  Fails
 * with ORACLE_BAD on any bad record, ORACLE_INCOMPLETE on trailing bytes
 * that are not a whole record.  cb, if not NULL, sees every record; a
 * non-zero return stops the walk with that value.
 */
int oracle_stream(struct oracle *o, const uint8_t *buf, size_t len,
    uint8_t **plain, size_t *plen, size_t *nrecords, oracle_cb *cb, void *arg);

/* Why the last call failed. */
const char *oracle_error(const struct oracle *o);

/*
 * Exit 77 (skipped) if the program's kernel is a null cipher build; runs
 * by itself before main() wherever oracle.c or refenc.c is linked.
 */
void oracle_null_cipher_skip(void);
/*
 * Defined (true) by a program that reads a null cipher kernel's records
 * with oracle_new_null(), so that oracle_null_cipher_skip() lets it run.
 */
extern const bool oracle_reads_null_cipher __attribute__((weak));

#endif /* !_TESTS_ORACLE_H_ */
