/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The software encryption backend interface.  SIM: FreeBSD main calls
 * ktls_ocf_try(), ktls_ocf_encrypt() and ktls_ocf_free() directly
 * (sys/opencrypto/ktls.h); older trees registered backends in a list
 * (ktls_crypto_backend_register()).  The simulator calls them through one
 * struct of function pointers, ktls_backend, which points at the OpenSSL
 * EVP backend: there is one backend, not a table of them, and the pointer
 * exists so that another backend (a faster one, or a test's failing one)
 * can be put in its place.
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
