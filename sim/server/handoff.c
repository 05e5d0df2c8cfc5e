/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Building struct tls_enable from a libssl handshake.  See handoff.h.
 *
 * What the kernel needs and where it comes from:
 *   - the server write key, MAC key and implicit IV: expanded from the
 *     master secret (TLS 1.0-1.2, RFC 5246 section 6.3) or from
 *     server_application_traffic_secret_0 (RFC 8446 section 7.3), both as
 *     libssl reports them through the keylog callback (ssl_tap.c);
 *   - the next write sequence number: records libssl wrote under the
 *     current write key, counted from the msg callback's record headers
 *     (ssl_tap.c);
 *   - for TLS 1.0 CBC, the chained IV: the last ciphertext block of the
 *     server's Finished record (RFC 2246 section 6.2.3.2), taken from the
 *     bytes that went to the wire.
 */

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim/server/handoff.h"
#include "sim/server/ssl_tap.h"

static void
whyf(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* outlen bytes from OpenSSL's KDF called name: 0, or -1 on any failure. */
static int
kdf_derive(const char *name, const OSSL_PARAM *params, uint8_t *out,
    size_t outlen)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	int rv;

	kdf = EVP_KDF_fetch(NULL, name, NULL);
	if (kdf == NULL)
		return (-1);
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return (-1);
	rv = EVP_KDF_derive(kctx, out, outlen, params);
	EVP_KDF_CTX_free(kctx);
	return (rv == 1 ? 0 : -1);
}

/* TLS 1.0-1.2 PRF through OpenSSL's "TLS1-PRF" KDF. */
static int
kdf_tls1_prf(const char *mdname, const uint8_t *secret, size_t secretlen,
    const uint8_t *seed, size_t seedlen, uint8_t *out, size_t outlen)
{
	OSSL_PARAM params[4], *p;

	p = params;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)mdname, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
	    (void *)secret, secretlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
	    (void *)seed, seedlen);
	*p = OSSL_PARAM_construct_end();
	return (kdf_derive("TLS1-PRF", params, out, outlen));
}

/*
 * HKDF-Expand-Label(secret, label, "", outlen), RFC 8446 section 7.1, via
 * OpenSSL's "TLS13-KDF" in EXPAND_ONLY mode.
 */
static int
kdf_tls13_expand(const char *mdname, const uint8_t *secret, size_t secretlen,
    const char *label, uint8_t *out, size_t outlen)
{
	static const char prefix[] = "tls13 ";
	static uint8_t empty[1];
	OSSL_PARAM params[7], *p;
	int mode;

	mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	p = params;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)mdname, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, secretlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX,
	    (void *)prefix, sizeof(prefix) - 1);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL,
	    (void *)label, strlen(label));
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, empty, 0);
	*p = OSSL_PARAM_construct_end();
	return (kdf_derive("TLS13-KDF", params, out, outlen));
}

int
sim_keys_derive(SSL *ssl, struct sim_keys *k, char *why, size_t whylen)
{
	uint8_t seed[13 + 2 * SSL3_RANDOM_SIZE];
	uint8_t block[2 * (SHA2_384_HASH_LEN + 32 + 16)];
	const SSL_CIPHER *cipher;
	const EVP_MD *md;
	struct sim_tap_secrets sec;
	SSL_SESSION *sess;
	struct tls_enable *en;
	const char *mdname;
	size_t fixed_iv, off;
	int cnid, version, i;

	memset(k, 0, sizeof(*k));
	en = &k->en;
	cipher = SSL_get_current_cipher(ssl);
	if (!sim_tap_secrets(ssl, &sec) || cipher == NULL ||
	    !SSL_is_init_finished(ssl)) {
		whyf(why, whylen, "handshake not finished");
		return (-1);
	}
	version = SSL_version(ssl);
	k->suite = SSL_CIPHER_get_name(cipher);
	k->version = SSL_get_version(ssl);

	sess = SSL_get_session(ssl);
	if (sess != NULL &&
	    SSL_SESSION_get_max_fragment_length(sess) !=
		TLSEXT_max_fragment_length_DISABLED) {
		/* KTLS always frames up to 2^14 bytes (RFC 6066 sec. 4). */
		whyf(why, whylen, "max_fragment_length negotiated");
		return (-1);
	}

	cnid = SSL_CIPHER_get_cipher_nid(cipher);
	switch (cnid) {
	case NID_aes_128_gcm:
	case NID_aes_256_gcm:
		en->cipher_algorithm = CRYPTO_AES_NIST_GCM_16;
		en->cipher_key_len = cnid == NID_aes_128_gcm ? 16 : 32;
		break;
	case NID_chacha20_poly1305:
		en->cipher_algorithm = CRYPTO_CHACHA20_POLY1305;
		en->cipher_key_len = 32;
		break;
	case NID_aes_128_cbc:
	case NID_aes_256_cbc:
		en->cipher_algorithm = CRYPTO_AES_CBC;
		en->cipher_key_len = cnid == NID_aes_128_cbc ? 16 : 32;
		switch (SSL_CIPHER_get_digest_nid(cipher)) {
		case NID_sha1:
			en->auth_algorithm = CRYPTO_SHA1_HMAC;
			en->auth_key_len = SHA1_HASH_LEN;
			break;
		case NID_sha256:
			en->auth_algorithm = CRYPTO_SHA2_256_HMAC;
			en->auth_key_len = SHA2_256_HASH_LEN;
			break;
		case NID_sha384:
			en->auth_algorithm = CRYPTO_SHA2_384_HMAC;
			en->auth_key_len = SHA2_384_HASH_LEN;
			break;
		default:
			whyf(why, whylen, "%s: MAC not supported by ktls",
			    k->suite);
			return (-1);
		}
		break;
	default:
		whyf(why, whylen,
		    "%s: cipher not supported by ktls "
		    "(GCM, ChaCha20-Poly1305 and AES-CBC only)",
		    k->suite);
		return (-1);
	}

	en->tls_vmajor = TLS_MAJOR_VER_ONE;
	switch (version) {
	case TLS1_3_VERSION:
		en->tls_vminor = TLS_MINOR_VER_THREE;
		break;
	case TLS1_2_VERSION:
		en->tls_vminor = TLS_MINOR_VER_TWO;
		break;
	case TLS1_1_VERSION:
		en->tls_vminor = TLS_MINOR_VER_ONE;
		break;
	case TLS1_VERSION:
		en->tls_vminor = TLS_MINOR_VER_ZERO;
		break;
	default:
		whyf(why, whylen, "%s: protocol not supported by ktls",
		    k->version);
		return (-1);
	}
	if (version < TLS1_2_VERSION &&
	    (en->cipher_algorithm != CRYPTO_AES_CBC ||
		en->auth_algorithm != CRYPTO_SHA1_HMAC)) {
		/* ktls_create_session(): only SHA1-HMAC before TLS 1.2. */
		whyf(why, whylen, "%s with %s not supported by ktls", k->suite,
		    k->version);
		return (-1);
	}

	if (version == TLS1_3_VERSION) {
		md = SSL_CIPHER_get_handshake_digest(cipher);
		if (md == NULL || sec.sts0len == 0 ||
		    sec.sts0len != (size_t)EVP_MD_get_size(md)) {
			whyf(why, whylen, "no SERVER_TRAFFIC_SECRET_0 logged");
			return (-1);
		}
		/* RFC 8446 section 7.3: [sender]_write_key and _iv. */
		mdname = EVP_MD_get0_name(md);
		if (kdf_tls13_expand(mdname, sec.sts0, sec.sts0len, "key",
			k->cipher_key, en->cipher_key_len) != 0 ||
		    kdf_tls13_expand(mdname, sec.sts0, sec.sts0len, "iv", k->iv,
			TLS_1_3_GCM_IV_LEN) != 0) {
			whyf(why, whylen, "TLS13-KDF failed");
			return (-1);
		}
		en->iv_len = TLS_1_3_GCM_IV_LEN;
	} else {
		if (sec.masterlen != SSL3_MASTER_SECRET_SIZE) {
			whyf(why, whylen, "no CLIENT_RANDOM logged");
			return (-1);
		}
		/*
		 * The PRF hash: MD5+SHA1 before TLS 1.2 (RFC 2246 5), else
		 * the suite's, SHA-256 unless it says otherwise (RFC 5246 5).
		 */
		if (version < TLS1_2_VERSION)
			mdname = "MD5-SHA1";
		else {
			md = SSL_CIPHER_get_handshake_digest(cipher);
			if (md == NULL || EVP_MD_get_type(md) == NID_md5_sha1)
				mdname = "SHA256";
			else
				mdname = EVP_MD_get0_name(md);
		}
		if (en->cipher_algorithm == CRYPTO_AES_NIST_GCM_16)
			fixed_iv = TLS_AEAD_GCM_LEN; /* RFC 5288 3 */
		else if (en->cipher_algorithm == CRYPTO_CHACHA20_POLY1305)
			fixed_iv = TLS_CHACHA20_IV_LEN; /* RFC 7905 2 */
		else if (version == TLS1_VERSION)
			fixed_iv = AES_BLOCK_LEN;
		else
			fixed_iv = 0; /* explicit per-record IV */
		/*
		 * RFC 5246 section 6.3: key_block = PRF(master_secret,
		 * "key expansion", server_random + client_random), cut into
		 * client MAC key, server MAC key, client key, server key,
		 * client IV, server IV.
		 */
		memcpy(seed, "key expansion", 13);
		SSL_get_server_random(ssl, seed + 13, SSL3_RANDOM_SIZE);
		SSL_get_client_random(ssl, seed + 13 + SSL3_RANDOM_SIZE,
		    SSL3_RANDOM_SIZE);
		if (kdf_tls1_prf(mdname, sec.master, sec.masterlen, seed,
			sizeof(seed), block,
			2 *
			    (en->auth_key_len + en->cipher_key_len +
				fixed_iv)) != 0) {
			whyf(why, whylen, "TLS1-PRF failed");
			return (-1);
		}
		off = en->auth_key_len;
		memcpy(k->auth_key, block + off, en->auth_key_len);
		off += en->auth_key_len + en->cipher_key_len;
		memcpy(k->cipher_key, block + off, en->cipher_key_len);
		off += en->cipher_key_len + fixed_iv;
		memcpy(k->iv, block + off, fixed_iv);
		OPENSSL_cleanse(block, sizeof(block));
		en->iv_len = fixed_iv;
		if (version == TLS1_VERSION) {
			/*
			 * RFC 2246 6.2.3.2: the IV of each record is the
			 * last ciphertext block of the one before, and the
			 * server's Finished was the last record it wrote.
			 */
			if (!sec.have_last) {
				whyf(why, whylen, "TLS 1.0 chained IV unknown");
				return (-1);
			}
			memcpy(k->iv, sec.last, AES_BLOCK_LEN);
		}
	}
	k->seqno = sec.recs;
	for (i = 0; i < 8; i++)
		en->rec_seq[i] = (uint8_t)(k->seqno >> (56 - 8 * i));
	en->cipher_key = k->cipher_key;
	en->iv = en->iv_len > 0 ? k->iv : NULL;
	en->auth_key = en->auth_key_len > 0 ? k->auth_key : NULL;
	return (0);
}
