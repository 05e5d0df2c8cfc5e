/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The software encryption backend interface.  FreeBSD's newest tree calls
 * ktls_ocf_try(), ktls_ocf_encrypt() and ktls_ocf_free() directly
 * (sys/opencrypto/ktls.h); older trees had pluggable backends.  ktlsim keeps
 * the pluggable table so that a second, faster backend can sit beside the
 * OpenSSL EVP one (DESIGN.md, performance budget).
 */

#ifndef _OPENCRYPTO_KTLS_H_
#define _OPENCRYPTO_KTLS_H_

#include <sys/uio.h>

struct ktls_session;
struct mbuf;

struct ktls_crypto_backend {
	const char *kb_name;
	/*
	 * Set up tls->ocf_session for the suite in tls->params; set
	 * tls->sync_dispatch.  Errors as ktls_ocf_try(): EINVAL for bad key
	 * sizes or MAC, EPROTONOSUPPORT for a version the cipher lacks.
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

extern const struct ktls_crypto_backend ktls_ocf_backend;
extern const struct ktls_crypto_backend *ktls_backend;

#endif /* !_OPENCRYPTO_KTLS_H_ */
