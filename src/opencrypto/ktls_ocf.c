/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Software record encryption with OpenSSL EVP.  Models
 * sys/opencrypto/ktls_ocf.c: ktls_ocf_try(), ktls_ocf_tls12_aead_encrypt(),
 * ktls_ocf_tls13_aead_encrypt() and ktls_ocf_tls_cbc_encrypt()
 * (RFC 5246 section 6.2.3, RFC 8446 section 5.2).  SIM: FreeBSD hands the
 * work to an OCF driver; here libcrypto does it, with one EVP context per
 * session, so a session's records are encrypted one at a time under
 * os->lock (FreeBSD's lock only guards the TLS 1.0 bookkeeping).  The
 * per-suite stats.ocf counters are counted once a record succeeded;
 * FreeBSD counts them before dispatching it.
 *
 * SIM: AES-CBC records with an HMAC of SHA-1 or SHA2-256 go through
 * OpenSSL's stitched AES-CBC-HMAC ciphers where libcrypto offers them
 * (ktls_ocf_cbc_stitched()); the bytes are those of the two-pass path
 * (docs/architecture.md, "Crypto backends").
 */

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "opencrypto/ktls.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"

struct ktls_ocf_session {
	struct mtx lock; /* async completions may overlap */
	EVP_CIPHER_CTX *cctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *mctx;
	int maclen;
	/* TLS 1.0: the chained IV; the next record is checked by INVARIANTS. */
	uint8_t cbc_iv[AES_BLOCK_LEN];
#ifdef INVARIANTS
	uint64_t next_seqno;
#endif
	bool implicit_iv;
	/*
	 * CBC works on one contiguous run: one block for the stitched
	 * cipher's explicit IV, then plaintext | MAC | padding
	 * (KTLS_OCF_CBC_BUFLEN).
	 */
	uint8_t *cbc_buf;
	/*
	 * CBC: the stitched AES-CBC-HMAC cipher keyed with both keys, NULL
	 * when the suite or libcrypto has none (ktls_ocf_cbc_stitch_init());
	 * for TLS 1.1+ ivctx decrypts single blocks with the AES key.
	 */
	EVP_CIPHER_CTX *sctx;
	EVP_CIPHER_CTX *ivctx;
};

#define KTLS_OCF_CBC_BUFLEN \
	(AES_BLOCK_LEN + TLS_MAX_MSG_SIZE_V10_2 + MBUF_PEXT_TRAIL_LEN)

bool ktls_sim_cbc_stitched = true;

/* struct tls_aead_data / tls_mac_data: seq | type | version | length. */
static void
ktls_ocf_aad12(uint8_t aad[13], uint64_t seqno, const uint8_t *hdr,
    uint16_t plen)
{

	be64enc(aad, seqno);
	aad[8] = hdr[0];
	aad[9] = hdr[1];
	aad[10] = hdr[2];
	be16enc(aad + 11, plen);
}

/* RFC 7905 / RFC 8446 section 5.3: IV XOR the 64-bit sequence number. */
static void
ktls_ocf_xor_nonce(uint8_t nonce[12], const uint8_t *iv, uint64_t seqno)
{
	uint8_t seq[8];

	memcpy(nonce, iv, 12);
	be64enc(seq, seqno);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= seq[i];
}

/*
 * The nonce, AAD and tag place of an AEAD record (opencrypto/ktls.h); the
 * EVP backend and ktls_ipsecmb.c build every record with it.
 */
void
ktls_ocf_aead_rec(const struct ktls_session *tls, struct mbuf *m,
    struct ktls_aead_rec *ar)
{
	const uint8_t *hdr;

	hdr = m->m_epg_hdr;
	ar->tls13 = tls->params.tls_vminor == TLS_MINOR_VER_THREE;
	if (ar->tls13) {
		/* AAD: the outer header as on the wire (RFC 8446 5.2). */
		memcpy(ar->aad, hdr, sizeof(struct tls_record_layer));
		ar->aadlen = sizeof(struct tls_record_layer);
		ktls_ocf_xor_nonce(ar->nonce, tls->params.iv, m->m_epg_seqno);
		/* The real type is the last byte of the plaintext. */
		m->m_epg_trail[0] = m->m_epg_record_type;
		ar->tag = m->m_epg_trail + 1;
	} else {
		ktls_ocf_aad12(ar->aad, m->m_epg_seqno, hdr, m_epg_datalen(m));
		ar->aadlen = sizeof(ar->aad);
		if (tls->params.cipher_algorithm == CRYPTO_AES_NIST_GCM_16) {
			/* salt | explicit nonce from the record header. */
			memcpy(ar->nonce, tls->params.iv, TLS_AEAD_GCM_LEN);
			memcpy(ar->nonce + TLS_AEAD_GCM_LEN,
			    hdr + sizeof(struct tls_record_layer), 8);
		} else
			ktls_ocf_xor_nonce(ar->nonce, tls->params.iv,
			    m->m_epg_seqno);
		ar->tag = m->m_epg_trail;
	}
}

void
ktls_ocf_aead_count(const struct ktls_session *tls, bool tls13,
    counter_u64_t *const cnt[4])
{
	int i;

	i = tls->params.cipher_algorithm == CRYPTO_AES_NIST_GCM_16 ? 0 : 2;
	counter_u64_add(*cnt[i + (tls13 ? 1 : 0)], 1);
}

static int
ktls_ocf_aead_encrypt(struct ktls_session *tls, struct mbuf *m,
    const struct iovec *outiov, int outiovcnt)
{
	struct ktls_ocf_session *os = tls->ocf_session;
	struct ktls_aead_rec ar;
	const uint8_t *in;
	int outl, off;
	bool tls13;

	ktls_ocf_aead_rec(tls, m, &ar);
	tls13 = ar.tls13;
	if (EVP_EncryptInit_ex(os->cctx, NULL, NULL, NULL, ar.nonce) != 1 ||
	    EVP_EncryptUpdate(os->cctx, NULL, &outl, ar.aad, ar.aadlen) != 1)
		return (EIO);
	off = m->m_epg_1st_off;
	for (int i = 0; i < outiovcnt; i++, off = 0) {
		in = vm_page_data(m->m_epg_pa[i]) + off;
		if (EVP_EncryptUpdate(os->cctx, outiov[i].iov_base, &outl, in,
			outiov[i].iov_len) != 1)
			return (EIO);
	}
	if (tls13 &&
	    EVP_EncryptUpdate(os->cctx, m->m_epg_trail, &outl, m->m_epg_trail,
		1) != 1)
		return (EIO);
	if (EVP_EncryptFinal_ex(os->cctx, ar.nonce, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(os->cctx, EVP_CTRL_AEAD_GET_TAG,
		AES_GMAC_HASH_LEN, ar.tag) != 1)
		return (EIO);

	ktls_ocf_aead_count(tls, tls13,
	    (counter_u64_t *const[4]) { &ocf_tls12_gcm_encrypts,
		&ocf_tls13_gcm_encrypts, &ocf_tls12_chacha20_encrypts,
		&ocf_tls13_chacha20_encrypts });
	return (0);
}

/*
 * MAC-then-encrypt (RFC 5246 section 6.2.3.2), two passes: HMAC over seq |
 * type | version | length | plaintext, then minimal padding, then AES-CBC
 * over plaintext | MAC | padding, in place in buf.
 */
static int
ktls_ocf_cbc_twopass(struct ktls_ocf_session *os, struct mbuf *m,
    const uint8_t *iv, uint8_t *buf, int plen)
{
	uint8_t hdrmac[13];
	size_t maclen;
	int outl, padlen, total;

	total = plen + m->m_epg_trllen;
	ktls_ocf_aad12(hdrmac, m->m_epg_seqno, m->m_epg_hdr, plen);
	/* Restart from the keyed state ktls_ocf_try() prepared. */
	if (EVP_MAC_init(os->mctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(os->mctx, hdrmac, sizeof(hdrmac)) != 1 ||
	    EVP_MAC_update(os->mctx, buf, plen) != 1 ||
	    EVP_MAC_final(os->mctx, buf + plen, &maclen, os->maclen) != 1)
		return (EIO);
	padlen = m->m_epg_trllen - os->maclen;
	memset(buf + plen + os->maclen, padlen - 1, padlen);

	if (EVP_EncryptInit_ex(os->cctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(os->cctx, buf, &outl, buf, total) != 1 ||
	    outl != total)
		return (EIO);
	return (0);
}

/*
 * The same record in one pass, with OpenSSL's stitched cipher driven the
 * way libssl drives it for TLS records (ssl/record/methods/tls1_meth.c
 * tls1_cipher()): EVP_CTRL_AEAD_TLS1_AAD hands it the 13 bytes the MAC
 * starts with and answers the trailer length, MAC plus padding; one
 * update then MACs the plaintext, appends MAC and padding, and encrypts
 * it all in place (providers/implementations/ciphers/
 * cipher_aes_cbc_hmac_sha1_hw.c aesni_cbc_hmac_sha1_cipher()).  The
 * padding is minimal with every byte the padding length less one, as
 * ktls_frame() reserved it; the answer is checked against the trailer
 * ktls_frame() left, and a record it does not fit takes the two-pass path.
 *
 * buf is one block, then the plaintext at buf + AES_BLOCK_LEN, then room
 * for the trailer.  TLS 1.0 (no explicit IV) starts at the plaintext and
 * chains from iv.  TLS 1.1+: this mode reads the block before the
 * plaintext as the explicit IV and encrypts it along, chaining from the
 * context's IV; the AAD length counts that block, and the cipher takes it
 * off before MACing.  libssl puts random bytes there and sends what they
 * encrypt to, but FreeBSD sends the IV ktls_frame() drew, in the clear,
 * and chains the payload from it.  So the block is D_K(iv) and the
 * context's IV zero: it encrypts to E_K(0 ^ D_K(iv)) = iv, and every
 * block after it is the two-pass path's.
 *
 * 0 when done, EAGAIN for the two-pass path, EIO when EVP fails.
 */
static int
ktls_ocf_cbc_stitched(struct ktls_ocf_session *os, struct mbuf *m,
    const uint8_t *iv, uint8_t *buf, int plen)
{
	static const uint8_t zero_iv[AES_BLOCK_LEN];
	/*
	 * 13 bytes used.  For TLS 1.1+ the cipher writes the length it will
	 * MAC back into aad[11..12]; one version of OpenSSL's SHA2-256
	 * variant (cipher_aes_cbc_hmac_sha256_hw.c
	 * aesni_cbc_hmac_sha256_set_tls1_aad()) stores the high byte at
	 * aad[13] instead, hence the spare bytes and the check below.
	 */
	uint8_t aad[16];
	uint8_t *start;
	int len, outl, trllen;

	if (os->implicit_iv) {
		start = buf + AES_BLOCK_LEN;
		len = plen;
		if (EVP_EncryptInit_ex(os->sctx, NULL, NULL, NULL, iv) != 1)
			return (EIO);
	} else {
		start = buf;
		len = AES_BLOCK_LEN + plen;
		if (EVP_DecryptUpdate(os->ivctx, buf, &outl, iv,
			AES_BLOCK_LEN) != 1 ||
		    outl != AES_BLOCK_LEN ||
		    EVP_EncryptInit_ex(os->sctx, NULL, NULL, NULL, zero_iv) !=
			1)
			return (EIO);
	}
	ktls_ocf_aad12(aad, m->m_epg_seqno, m->m_epg_hdr, len);
	trllen = EVP_CIPHER_CTX_ctrl(os->sctx, EVP_CTRL_AEAD_TLS1_AAD,
	    EVP_AEAD_TLS1_AAD_LEN, aad);
	if (trllen <= 0)
		return (EIO);
	/*
	 * The length the cipher MACs is the one it leaves in the AAD: it
	 * must be the plaintext's, as in the two-pass path.
	 */
	if (trllen != m->m_epg_trllen || be16dec(aad + 11) != plen)
		return (EAGAIN);
	len += trllen;
	if (EVP_EncryptUpdate(os->sctx, start, &outl, start, len) != 1 ||
	    outl != len)
		return (EIO);
	KASSERT(os->implicit_iv || memcmp(buf, iv, AES_BLOCK_LEN) == 0,
	    ("ktls_ocf_cbc_stitched: explicit IV not reproduced"));
	return (0);
}

/*
 * ktls_ocf_tls_cbc_encrypt().  SIM: the record is gathered into one buffer
 * because CBC blocks straddle page boundaries when the first page offset
 * is not block aligned, and the stitched cipher wants it whole; FreeBSD
 * hands OCF an iovec instead.
 */
static int
ktls_ocf_cbc_encrypt(struct ktls_session *tls, struct mbuf *m,
    const struct iovec *outiov, int outiovcnt)
{
	struct ktls_ocf_session *os = tls->ocf_session;
	const uint8_t *iv;
	uint8_t *buf, *p;
	int error, off, plen, total;

	plen = m_epg_datalen(m);
	total = plen + m->m_epg_trllen;
	KASSERT(total % AES_BLOCK_LEN == 0, ("CBC record not block aligned"));
	buf = os->cbc_buf + AES_BLOCK_LEN;

	if (os->implicit_iv) {
#ifdef INVARIANTS
		/*
		 * The chained IV is only right for the record after the last
		 * one encrypted.  FreeBSD checks this only in INVARIANTS
		 * kernels (ktls_ocf_tls_cbc_encrypt()); without them a record
		 * out of order is encrypted with the wrong chain.
		 */
		if (m->m_epg_seqno != os->next_seqno)
			return (EINVAL);
#endif
		iv = os->cbc_iv;
	} else
		iv = m->m_epg_hdr + sizeof(struct tls_record_layer);

	p = buf;
	off = m->m_epg_1st_off;
	for (int i = 0; i < m->m_epg_npgs; i++, off = 0) {
		int len = m_epg_pagelen(m, i, off);

		memcpy(p, vm_page_data(m->m_epg_pa[i]) + off, len);
		p += len;
	}

	error = EAGAIN;
	if (os->sctx != NULL) {
		error = ktls_ocf_cbc_stitched(os, m, iv, os->cbc_buf, plen);
		if (error == 0)
			counter_u64_add(ocf_cbc_stitched, 1);
	}
	if (error == EAGAIN)
		error = ktls_ocf_cbc_twopass(os, m, iv, buf, plen);
	if (error != 0)
		return (error);

	p = buf;
	for (int i = 0; i < outiovcnt; i++) {
		memcpy(outiov[i].iov_base, p, outiov[i].iov_len);
		p += outiov[i].iov_len;
	}
	memcpy(m->m_epg_trail, p, m->m_epg_trllen);

	if (os->implicit_iv) {
		memcpy(os->cbc_iv, buf + total - AES_BLOCK_LEN, AES_BLOCK_LEN);
#ifdef INVARIANTS
		os->next_seqno = m->m_epg_seqno + 1;
#endif
		counter_u64_add(ocf_tls10_cbc_encrypts, 1);
	} else
		counter_u64_add(ocf_tls11_cbc_encrypts, 1);
	return (0);
}

static int
ktls_ocf_encrypt(struct ktls_session *tls, struct mbuf *m,
    const struct iovec *outiov, int outiovcnt)
{
	struct ktls_ocf_session *os = tls->ocf_session;
	int error;

	mtx_lock(&os->lock);
	if (tls->params.cipher_algorithm == CRYPTO_AES_CBC)
		error = ktls_ocf_cbc_encrypt(tls, m, outiov, outiovcnt);
	else
		error = ktls_ocf_aead_encrypt(tls, m, outiov, outiovcnt);
	mtx_unlock(&os->lock);
	return (error);
}

static void
ktls_ocf_free(struct ktls_session *tls)
{
	struct ktls_ocf_session *os = tls->ocf_session;

	/* libcrypto wipes a context's keys when it frees it. */
	EVP_CIPHER_CTX_free(os->cctx);
	EVP_CIPHER_CTX_free(os->sctx);
	EVP_CIPHER_CTX_free(os->ivctx);
	EVP_MAC_CTX_free(os->mctx);
	EVP_MAC_free(os->mac);
	if (os->cbc_buf != NULL)
		zfree(os->cbc_buf, KTLS_OCF_CBC_BUFLEN);
	mtx_destroy(&os->lock);
	zfree(os, sizeof(*os));
	tls->ocf_session = NULL;
}

/*
 * What FreeBSD's software driver answers for the suite in tls->params
 * (ktls_ocf_try()): AES keys must be 128 or 256 bits and ChaCha20 keys 256
 * bits, else EINVAL; CBC is not for TLS 1.3 and needs an HMAC of SHA-1,
 * SHA2-256 or SHA2-384.  *namep is the EVP cipher's name.  The null
 * cipher (ktls_null.c) answers the same.
 */
int
ktls_ocf_check(const struct ktls_session *tls, int direction,
    const char **namep)
{
	const char *name;
	int keylen;

	if (direction != KTLS_TX)
		return (EOPNOTSUPP);
	keylen = tls->params.cipher_key_len;
	switch (tls->params.cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
		if (keylen != 16 && keylen != 32)
			return (EINVAL);
		name = keylen == 16 ? "AES-128-GCM" : "AES-256-GCM";
		break;
	case CRYPTO_AES_CBC:
		if (keylen != 16 && keylen != 32)
			return (EINVAL);
		if (tls->params.tls_vminor == TLS_MINOR_VER_THREE)
			return (EPROTONOSUPPORT);
		switch (tls->params.auth_algorithm) {
		case CRYPTO_SHA1_HMAC:
		case CRYPTO_SHA2_256_HMAC:
		case CRYPTO_SHA2_384_HMAC:
			break;
		default:
			return (EINVAL);
		}
		name = keylen == 16 ? "AES-128-CBC" : "AES-256-CBC";
		break;
	case CRYPTO_CHACHA20_POLY1305:
		if (keylen != 32)
			return (EINVAL);
		name = "ChaCha20-Poly1305";
		break;
	default:
		return (EPROTONOSUPPORT);
	}
	if (namep != NULL)
		*namep = name;
	return (0);
}

/*
 * The stitched cipher for the session (ktls_ocf_cbc_stitched()), if
 * ktls_sim_cbc_stitched is on and OpenSSL has one for the suite: for
 * SHA-1 and SHA2-256 with AES-128 or AES-256, none for SHA2-384, and
 * only where libcrypto's default provider offers it (x86-64 with AES-NI;
 * elsewhere the fetch fails).  Anything short of a working context leaves
 * the session on the two-pass path, with the error queue as it was.
 */
static void
ktls_ocf_cbc_stitch_init(struct ktls_session *tls, struct ktls_ocf_session *os)
{
	EVP_CIPHER *cipher;
	const char *name;
	bool aes128;

	if (!ktls_sim_cbc_stitched)
		return;
	aes128 = tls->params.cipher_key_len == 16;
	switch (tls->params.auth_algorithm) {
	case CRYPTO_SHA1_HMAC:
		name =
		    aes128 ? "AES-128-CBC-HMAC-SHA1" : "AES-256-CBC-HMAC-SHA1";
		break;
	case CRYPTO_SHA2_256_HMAC:
		name = aes128 ? "AES-128-CBC-HMAC-SHA256" :
				"AES-256-CBC-HMAC-SHA256";
		break;
	default:
		return;
	}
	ERR_set_mark();
	cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	if (cipher == NULL)
		goto fail;
	os->sctx = EVP_CIPHER_CTX_new();
	if (os->sctx == NULL ||
	    EVP_EncryptInit_ex2(os->sctx, cipher, tls->params.cipher_key, NULL,
		NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(os->sctx, EVP_CTRL_AEAD_SET_MAC_KEY,
		tls->params.auth_key_len, tls->params.auth_key) <= 0)
		goto fail;
	EVP_CIPHER_free(cipher);
	cipher = NULL;
	if (!os->implicit_iv) {
		cipher = EVP_CIPHER_fetch(NULL,
		    aes128 ? "AES-128-ECB" : "AES-256-ECB", NULL);
		os->ivctx = EVP_CIPHER_CTX_new();
		if (cipher == NULL || os->ivctx == NULL ||
		    EVP_DecryptInit_ex2(os->ivctx, cipher,
			tls->params.cipher_key, NULL, NULL) != 1 ||
		    EVP_CIPHER_CTX_set_padding(os->ivctx, 0) != 1)
			goto fail;
		EVP_CIPHER_free(cipher);
	}
	ERR_pop_to_mark();
	return;
fail:
	EVP_CIPHER_free(cipher);
	EVP_CIPHER_CTX_free(os->sctx);
	EVP_CIPHER_CTX_free(os->ivctx);
	os->sctx = os->ivctx = NULL;
	ERR_pop_to_mark();
}

/*
 * ktls_ocf_try(): pick the cipher for the suite (ktls_ocf_check()).  CBC
 * is always dispatched synchronously; the AEADs are synchronous unless the
 * simulated "co-processor" mode is on.
 */
static int
ktls_ocf_try(struct ktls_session *tls, int direction)
{
	struct ktls_ocf_session *os;
	OSSL_PARAM params[2];
	EVP_CIPHER *cipher;
	const char *digest, *name;
	int error;

	error = ktls_ocf_check(tls, direction, &name);
	if (error != 0)
		return (error);

	os = kmalloc(sizeof(*os), M_WAITOK | M_ZERO);
	mtx_init(&os->lock, "ktls_ocf");
	os->cctx = EVP_CIPHER_CTX_new();
	cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	if (os->cctx == NULL || cipher == NULL ||
	    EVP_EncryptInit_ex2(os->cctx, cipher, tls->params.cipher_key, NULL,
		NULL) != 1) {
		EVP_CIPHER_free(cipher);
		goto fail;
	}
	EVP_CIPHER_free(cipher);
	if (tls->params.cipher_algorithm == CRYPTO_AES_CBC) {
		EVP_CIPHER_CTX_set_padding(os->cctx, 0);
		switch (tls->params.auth_algorithm) {
		case CRYPTO_SHA1_HMAC:
			digest = "SHA1";
			os->maclen = SHA1_HASH_LEN;
			break;
		case CRYPTO_SHA2_256_HMAC:
			digest = "SHA2-256";
			os->maclen = SHA2_256_HASH_LEN;
			break;
		default: /* CRYPTO_SHA2_384_HMAC: ktls_ocf_check() */
			digest = "SHA2-384";
			os->maclen = SHA2_384_HASH_LEN;
			break;
		}
		/*
		 * Keyed once per session, as FreeBSD's software driver
		 * prepares the HMAC inner and outer states when the session
		 * is created (sys/opencrypto/cryptosoft.c swcr_setup_auth());
		 * each record restarts from them.
		 */
		params[0] =
		    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			(char *)(uintptr_t)digest, 0);
		params[1] = OSSL_PARAM_construct_end();
		os->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (os->mac == NULL ||
		    (os->mctx = EVP_MAC_CTX_new(os->mac)) == NULL ||
		    EVP_MAC_init(os->mctx, tls->params.auth_key,
			tls->params.auth_key_len, params) != 1)
			goto fail;
		os->cbc_buf = kmalloc(KTLS_OCF_CBC_BUFLEN, M_WAITOK);
		if (tls->params.tls_vminor == TLS_MINOR_VER_ZERO) {
			os->implicit_iv = true;
			memcpy(os->cbc_iv, tls->params.iv, AES_BLOCK_LEN);
#ifdef INVARIANTS
			os->next_seqno = tls->next_seqno;
#endif
		}
		ktls_ocf_cbc_stitch_init(tls, os);
		tls->sync_dispatch = true;
	} else
		tls->sync_dispatch = !ktls_sim_async;

	tls->ocf_session = os;
	return (0);
fail:
	tls->ocf_session = os;
	ktls_ocf_free(tls);
	return (ENOMEM);
}

const struct ktls_crypto_backend ktls_ocf_backend = {
	.kb_name = "evp",
	.kb_try = ktls_ocf_try,
	.kb_encrypt = ktls_ocf_encrypt,
	.kb_free = ktls_ocf_free,
};
