/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Software record encryption with Intel's Multi-Buffer Crypto for IPsec
 * library (libIPSec_MB): the second backend behind struct
 * ktls_crypto_backend (opencrypto/ktls.h).  SIM: it stands where FreeBSD
 * 12 let a faster software backend register next to the OCF one
 * (ktls_crypto_backend_register(); Netflix used Intel's ISA-L that way),
 * and FreeBSD main has none.  The library picks the widest code the CPU
 * has (VAES and VPCLMULQDQ on AVX-512 machines), where OpenSSL 3.0's
 * AES-GCM stays on 128-bit registers.
 *
 * AES-GCM and ChaCha20-Poly1305 records are sealed with the library's
 * direct AEAD calls: init with the nonce and AAD, one update per page,
 * the TLS 1.3 inner type byte, finalize into the trailer.  Nonce, AAD and
 * tag place come from ktls_ocf_aead_rec(), as for the EVP backend.
 * AES-CBC suites are declined (EOPNOTSUPP) and so go to the EVP backend:
 * the library's CBC and HMAC run only through its job manager, whose lanes
 * pay off when several records are in flight at once, while ktls_encrypt()
 * hands over one record at a time (docs/architecture.md, "Crypto
 * backends").
 *
 * The key schedule is read-only once set up, and each record keeps its
 * cipher state on the stack, so records of one session may be encrypted
 * at the same time (ktls_sim_async) without a lock.
 */

#include <pthread.h>

/*
 * The library's header declares its key and context structures 64-byte
 * aligned only when LINUX is defined.
 */
#ifndef LINUX
#define LINUX
#endif
#include <intel-ipsec-mb.h>

#include "opencrypto/ktls.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"

struct ktls_ipsecmb_session {
	/* First: the library wants it 64-byte aligned. */
	struct gcm_key_data gcm_key;
	bool chacha;
	aes_gcm_init_t gcm_init;
	aes_gcm_enc_dec_update_t gcm_update;
	aes_gcm_enc_dec_finalize_t gcm_final;
	const uint8_t *chacha_key; /* tls->params.cipher_key */
};

/* The state of one record in progress; wiped when it is sealed. */
union ktls_ipsecmb_ctx {
	struct gcm_context_data gcm;
	struct chacha20_poly1305_context_data chacha;
};

/*
 * One manager for the whole process: the direct calls only read its
 * function pointers, so threads share it.  It is never freed.
 */
static IMB_MGR *ktls_ipsecmb_mgr;
static pthread_once_t ktls_ipsecmb_once = PTHREAD_ONCE_INIT;

static void
ktls_ipsecmb_mgr_init(void)
{
	IMB_MGR *mgr;

	mgr = alloc_mb_mgr(0);
	if (mgr == NULL)
		return;
	init_mb_mgr_auto(mgr, NULL);
	if (imb_get_errno(mgr) != 0) {
		free_mb_mgr(mgr);
		return;
	}
	ktls_ipsecmb_mgr = mgr;
}

static void
ktls_ipsecmb_update(struct ktls_ipsecmb_session *is, union ktls_ipsecmb_ctx *c,
    uint8_t *out, const uint8_t *in, size_t len)
{

	if (is->chacha)
		IMB_CHACHA20_POLY1305_ENC_UPDATE(ktls_ipsecmb_mgr,
		    is->chacha_key, &c->chacha, out, in, len);
	else
		is->gcm_update(&is->gcm_key, &c->gcm, out, in, len);
}

/* As ktls_ocf_aead_encrypt(), with the library's calls. */
static int
ktls_ipsecmb_encrypt(struct ktls_session *tls, struct mbuf *m,
    const struct iovec *outiov, int outiovcnt)
{
	struct ktls_ipsecmb_session *is = (void *)tls->ocf_session;
	union ktls_ipsecmb_ctx c;
	struct ktls_aead_rec ar;
	int off;

	ktls_ocf_aead_rec(tls, m, &ar);
	if (is->chacha)
		IMB_CHACHA20_POLY1305_INIT(ktls_ipsecmb_mgr, is->chacha_key,
		    &c.chacha, ar.nonce, ar.aad, ar.aadlen);
	else
		is->gcm_init(&is->gcm_key, &c.gcm, ar.nonce, ar.aad, ar.aadlen);
	off = m->m_epg_1st_off;
	for (int i = 0; i < outiovcnt; i++, off = 0)
		ktls_ipsecmb_update(is, &c, outiov[i].iov_base,
		    vm_page_data(m->m_epg_pa[i]) + off, outiov[i].iov_len);
	if (ar.tls13)
		ktls_ipsecmb_update(is, &c, m->m_epg_trail, m->m_epg_trail, 1);
	if (is->chacha)
		IMB_CHACHA20_POLY1305_ENC_FINALIZE(ktls_ipsecmb_mgr, &c.chacha,
		    ar.tag, AES_GMAC_HASH_LEN);
	else
		is->gcm_final(&is->gcm_key, &c.gcm, ar.tag, AES_GMAC_HASH_LEN);
	explicit_bzero(&c, sizeof(c));
	ktls_ocf_aead_count(tls, ar.tls13,
	    (counter_u64_t *const[4]) { &ipsecmb_tls12_gcm_encrypts,
		&ipsecmb_tls13_gcm_encrypts, &ipsecmb_tls12_chacha20_encrypts,
		&ipsecmb_tls13_chacha20_encrypts });
	return (0);
}

static void
ktls_ipsecmb_free(struct ktls_session *tls)
{

	zfree(tls->ocf_session, sizeof(struct ktls_ipsecmb_session));
	tls->ocf_session = NULL;
}

/*
 * Take the AEAD suites the EVP backend takes (ktls_ocf_check(): AES-GCM
 * with 128- or 256-bit keys, ChaCha20-Poly1305 with 256-bit ones).
 * Decline everything else, bad parameters included, with EOPNOTSUPP, so
 * that the EVP backend gives the session or FreeBSD's error for it.
 */
static int
ktls_ipsecmb_try(struct ktls_session *tls, int direction)
{
	struct ktls_ipsecmb_session *is;
	IMB_MGR *mgr;
	void *p;
	int keylen;

	if (ktls_ocf_check(tls, direction, NULL) != 0 ||
	    tls->params.cipher_algorithm == CRYPTO_AES_CBC)
		return (EOPNOTSUPP);
	keylen = tls->params.cipher_key_len;
	pthread_once(&ktls_ipsecmb_once, ktls_ipsecmb_mgr_init);
	mgr = ktls_ipsecmb_mgr;
	if (mgr == NULL)
		return (EOPNOTSUPP);

	/* SIM: kmalloc() has no alignment argument; zfree() frees this. */
	if (posix_memalign(&p, 64, sizeof(*is)) != 0)
		return (ENOMEM);
	is = p;
	memset(is, 0, sizeof(*is));
	if (tls->params.cipher_algorithm == CRYPTO_CHACHA20_POLY1305) {
		is->chacha = true;
		is->chacha_key = tls->params.cipher_key;
	} else if (keylen == 16) {
		IMB_AES128_GCM_PRE(mgr, tls->params.cipher_key, &is->gcm_key);
		is->gcm_init = mgr->gcm128_init;
		is->gcm_update = mgr->gcm128_enc_update;
		is->gcm_final = mgr->gcm128_enc_finalize;
	} else {
		IMB_AES256_GCM_PRE(mgr, tls->params.cipher_key, &is->gcm_key);
		is->gcm_init = mgr->gcm256_init;
		is->gcm_update = mgr->gcm256_enc_update;
		is->gcm_final = mgr->gcm256_enc_finalize;
	}
	tls->ocf_session = (void *)is;
	tls->sync_dispatch = !ktls_sim_async;
	return (0);
}

const struct ktls_crypto_backend ktls_ipsecmb_backend = {
	.kb_name = "ipsecmb",
	.kb_try = ktls_ipsecmb_try,
	.kb_encrypt = ktls_ipsecmb_encrypt,
	.kb_free = ktls_ipsecmb_free,
};
