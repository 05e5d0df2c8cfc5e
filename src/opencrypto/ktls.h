/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The software encryption backend interface.  SIM: FreeBSD main calls
 * ktls_ocf_try(), ktls_ocf_encrypt() and ktls_ocf_free() directly
 * (sys/opencrypto/ktls.h); older trees registered backends in a list
 * ordered by priority (ktls_crypto_backend_register()) and remembered in
 * each session the one that took it (tls->be).  The simulator has a
 * table of the backends the build has, fastest first (ktls_backends[]),
 * and one pointer, ktls_backend, to the one new sessions try first; a
 * suite it declines goes to the EVP backend, which does them all
 * (docs/architecture.md, "Crypto backends").  A test may point
 * ktls_backend at a backend of its own (a failing one).
 */

#ifndef _OPENCRYPTO_KTLS_H_
#define _OPENCRYPTO_KTLS_H_

#include <sys/uio.h>

#include <stdbool.h>
#include <stdint.h>

struct ktls_session;
struct mbuf;

struct ktls_crypto_backend {
	const char *kb_name;
	/*
	 * Set up tls->ocf_session for the suite in tls->params; set
	 * tls->sync_dispatch.  Errors as ktls_ocf_try(): EINVAL for bad key
	 * sizes or MAC, EPROTONOSUPPORT for a version the cipher lacks.
	 * EOPNOTSUPP declines the suite: ktls_try_sw() then tries the EVP
	 * backend.
	 */
	int (*kb_try)(struct ktls_session *tls, int direction);
	/*
	 * Encrypt one framed record: the plaintext is read from m's pages,
	 * the ciphertext written to outiov (the same pages for in-place
	 * encryption), the MAC/tag/padding to m->m_epg_trail.  The header and
	 * explicit nonce/IV in m->m_epg_hdr were filled by ktls_frame().
	 */
	int (*kb_encrypt)(struct ktls_session *tls, struct mbuf *m,
	    const struct iovec *outiov, int outiovcnt);
	void (*kb_free)(struct ktls_session *tls);
};

extern const struct ktls_crypto_backend ktls_ocf_backend;     /* "evp" */
extern const struct ktls_crypto_backend ktls_ipsecmb_backend; /* "ipsecmb" */
/* Only in -Dnull_cipher=true builds (ktls_null.c): no encryption at all. */
extern const struct ktls_crypto_backend ktls_null_backend; /* "null" */
/* The byte the null cipher fills every tag, MAC and padding with. */
#define KTLS_NULL_TAG_BYTE 0xa5
/*
 * True in a -Dnull_cipher=true build: records leave unencrypted.  Programs
 * that must never run so (sim_server) test it and refuse.
 */
extern const bool ktls_sim_null_cipher;
/* The backends of this build, fastest first; NULL-terminated. */
extern const struct ktls_crypto_backend *const ktls_backends[];
/*
 * The backend new sessions try first (default: the first of ktls_backends[],
 * as "auto" picks).
 */
extern const struct ktls_crypto_backend *ktls_backend;

/*
 * Point ktls_backend at the backend called name, or at the fastest one for
 * "auto".  ENOENT if this build has no such backend.  Sessions keep the
 * backend they were created with.
 */
int ktls_backend_select(const char *name);
/* "ipsecmb evp": the names ktls_backends[] holds, for messages. */
void ktls_backend_names(char *buf, size_t len);

/*
 * SIM: the EVP backend's AES-CBC sessions with an HMAC of SHA-1 or
 * SHA2-256 use OpenSSL's stitched AES-CBC-HMAC cipher where libcrypto
 * has it (true, the default); false puts the sessions created from then
 * on on the two-pass path, AES-CBC then HMAC, which every other CBC
 * session takes (ktls_ocf.c).  Both write the same bytes.
 */
extern bool ktls_sim_cbc_stitched;

/*
 * 0 if the EVP backend takes the suite in tls->params, else its error
 * (ktls_ocf_try() in ktls_ocf.c); *namep, if not NULL, gets the cipher's
 * EVP name.
 */
int ktls_ocf_check(const struct ktls_session *tls, int direction,
    const char **namep);

/*
 * The nonce, additional data and tag of one AEAD record, as FreeBSD's
 * ktls_ocf_tls12_aead_encrypt() and ktls_ocf_tls13_aead_encrypt() build
 * them (RFC 5288 section 3, RFC 7905 section 2, RFC 8446 section 5.2).
 * For TLS 1.3 the record's real type has been put in trail[0]: the backend
 * encrypts it after the payload, and the tag follows it.
 */
struct ktls_aead_rec {
	uint8_t nonce[12];
	uint8_t aad[13];
	int aadlen;
	uint8_t *tag; /* in m->m_epg_trail */
	bool tls13;   /* encrypt m->m_epg_trail[0] after the payload */
};

void ktls_ocf_aead_rec(const struct ktls_session *tls, struct mbuf *m,
    struct ktls_aead_rec *ar);

/*
 * Count one sealed AEAD record in its backend's per-suite counter: cnt[]
 * is { TLS 1.2 GCM, TLS 1.3 GCM, TLS 1.2 ChaCha20, TLS 1.3 ChaCha20 }
 * (counter_u64_t, sys/kern_compat.h, which this header does not include).
 */
void ktls_ocf_aead_count(const struct ktls_session *tls, bool tls13,
    uint64_t *const cnt[4]);

#endif /* !_OPENCRYPTO_KTLS_H_ */
