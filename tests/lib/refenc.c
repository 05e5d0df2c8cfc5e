/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The reference TLS record encryptor; see refenc.h.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "oracle.h"
#include "refenc.h"

/* No reference records against a null cipher kernel: skipped. */
static void refenc_null_cipher_ctor(void) __attribute__((constructor));

static void
refenc_null_cipher_ctor(void)
{

	oracle_null_cipher_skip();
}

const struct refenc_opts refenc_default = { .cbc_bad_pad = -1 };

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

size_t
refenc_explicit_len(const struct test_suite *s)
{

	if (is_cbc(s))
		return (s->tls_vminor == TLS_MINOR_VER_ZERO ? 0 : 16);
	if (s->cipher_algorithm == CRYPTO_AES_NIST_GCM_16 && !is_tls13(s))
		return (8);
	return (0);
}

void
refenc_hmac(const struct test_suite *s, const uint8_t *auth_key,
    const uint8_t *hdr13, const uint8_t *p, size_t plen, uint8_t *out)
{
	OSSL_PARAM prm[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *mctx;
	const char *md;
	size_t ml;

	md = s->auth_algorithm == CRYPTO_SHA1_HMAC    ? "SHA1" :
	    s->auth_algorithm == CRYPTO_SHA2_256_HMAC ? "SHA256" :
							"SHA384";
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	assert_non_null(mac);
	mctx = EVP_MAC_CTX_new(mac);
	assert_non_null(mctx);
	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)md, 0);
	prm[1] = OSSL_PARAM_construct_end();
	assert_true(EVP_MAC_init(mctx, auth_key, (size_t)s->auth_key_len, prm));
	assert_true(EVP_MAC_update(mctx, hdr13, 13));
	assert_true(EVP_MAC_update(mctx, p, plen));
	assert_true(EVP_MAC_final(mctx, out, &ml, 64));
	assert_int_equal(ml, (size_t)s->auth_key_len);
	EVP_MAC_CTX_free(mctx);
	EVP_MAC_free(mac);
}

size_t
refenc_record(const struct test_suite *s, const uint8_t *cipher_key,
    const uint8_t *iv, const uint8_t *auth_key, uint8_t *chain_iv, uint64_t seq,
    uint8_t type, const uint8_t *p, size_t plen, const uint8_t *explicit,
    const struct refenc_opts *opt, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *c;
	uint8_t *in, seqb[8], nonce[12], aad[13];
	size_t hlen, inlen, xl, i, padlen, keylen, ml;
	bool aad13;
	int outl, fl;
	char cname[32];

	if (opt == NULL)
		opt = &refenc_default;
	keylen = opt->keylen != 0 ? opt->keylen : (size_t)s->cipher_key_len;
	xl = refenc_explicit_len(s);
	hlen = 5 + xl;
	ctx = EVP_CIPHER_CTX_new();
	assert_non_null(ctx);
	in = malloc(plen + 512);
	assert_non_null(in);
	put_be64(seqb, seq);

	out[0] = is_tls13(s) ? TLS_RLTYPE_APP : type;
	out[1] = TLS_MAJOR_VER_ONE;
	out[2] = opt->vminor != 0 ? opt->vminor :
	    is_tls13(s)		  ? TLS_MINOR_VER_TWO :
				    (uint8_t)s->tls_vminor;
	if (xl != 0)
		memcpy(out + 5, explicit, xl);

	if (is_cbc(s)) {
		uint8_t hdr13[13];

		/* MAC over seq || type || version || plen || plaintext. */
		memcpy(hdr13, seqb, 8);
		hdr13[8] = out[0];
		hdr13[9] = out[1];
		hdr13[10] = out[2];
		hdr13[11] = (uint8_t)(plen >> 8);
		hdr13[12] = (uint8_t)plen;
		memcpy(in, p, plen);
		refenc_hmac(s, auth_key, hdr13, p, plen, in + plen);
		ml = (size_t)s->auth_key_len;

		padlen = opt->cbc_padlen != 0 ? opt->cbc_padlen :
						16 - (plen + ml) % 16;
		for (i = 0; i < padlen; i++)
			in[plen + ml + i] = (uint8_t)(padlen - 1);
		if (opt->cbc_bad_pad >= 0)
			in[plen + ml + (size_t)opt->cbc_bad_pad] ^= 0x5a;
		inlen = plen + ml + padlen;
		assert_int_equal(inlen % 16, 0);

		snprintf(cname, sizeof(cname), "AES-%zu-CBC", keylen * 8);
		c = EVP_CIPHER_fetch(NULL, cname, NULL);
		assert_non_null(c);
		/* TLS 1.1+: the explicit IV; TLS 1.0: the chained one. */
		assert_true(EVP_EncryptInit_ex2(ctx, c, cipher_key,
		    xl != 0 ? out + 5 : chain_iv, NULL));
		EVP_CIPHER_CTX_set_padding(ctx, 0);
		assert_true(
		    EVP_EncryptUpdate(ctx, out + hlen, &outl, in, (int)inlen));
		assert_true(EVP_EncryptFinal_ex(ctx, out + hlen + outl, &fl));
		assert_int_equal((size_t)(outl + fl), inlen);
		if (xl == 0)
			memcpy(chain_iv, out + hlen + inlen - 16, 16);
		EVP_CIPHER_free(c);
		out[3] = (uint8_t)((xl + inlen) >> 8);
		out[4] = (uint8_t)(xl + inlen);
		free(in);
		EVP_CIPHER_CTX_free(ctx);
		return (hlen + inlen);
	}

	/* AEAD. */
	memcpy(in, p, plen);
	inlen = plen;
	if (is_tls13(s)) {
		in[inlen++] = type;
		memset(in + inlen, 0, opt->tls13_pad);
		inlen += opt->tls13_pad;
	}
	if (xl != 0) {
		/* RFC 5288 3: salt || explicit nonce chosen by the sender. */
		memcpy(nonce, iv, 4);
		memcpy(nonce + 4, explicit, 8);
	} else {
		memcpy(nonce, iv, 12);
		if (!opt->no_seq_xor)
			for (i = 0; i < 8; i++)
				nonce[4 + i] ^= seqb[i];
	}
	out[3] = (uint8_t)((xl + inlen + 16) >> 8);
	out[4] = (uint8_t)(xl + inlen + 16);
	aad13 = !is_tls13(s) || opt->tls12_aad;
	if (!aad13) {
		memcpy(aad, out, 5);
	} else {
		memcpy(aad, seqb, 8);
		memcpy(aad + 8, out, 3);
		aad[11] = (uint8_t)(plen >> 8);
		aad[12] = (uint8_t)plen;
	}
	if (s->cipher_algorithm == CRYPTO_CHACHA20_POLY1305)
		snprintf(cname, sizeof(cname), "ChaCha20-Poly1305");
	else
		snprintf(cname, sizeof(cname), "AES-%zu-GCM", keylen * 8);
	c = EVP_CIPHER_fetch(NULL, cname, NULL);
	assert_non_null(c);
	assert_true(EVP_EncryptInit_ex2(ctx, c, cipher_key, nonce, NULL));
	assert_true(EVP_EncryptUpdate(ctx, NULL, &outl, aad, aad13 ? 13 : 5));
	assert_true(EVP_EncryptUpdate(ctx, out + hlen, &outl, in, (int)inlen));
	assert_true(EVP_EncryptFinal_ex(ctx, out + hlen + outl, &fl));
	assert_true(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
	    out + hlen + inlen));
	EVP_CIPHER_free(c);
	EVP_CIPHER_CTX_free(ctx);
	free(in);
	return (hlen + inlen + 16);
}
