/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Building struct tls_enable from a libssl handshake.  See keys.h.
 *
 * What the kernel needs and where it comes from:
 *   - the server write key, MAC key and implicit IV: expanded from the
 *     master secret (TLS 1.0-1.2, RFC 5246 section 6.3) or from
 *     server_application_traffic_secret_0 (RFC 8446 section 7.3), both as
 *     libssl reports them through the keylog callback;
 *   - the next write sequence number: records libssl wrote under the
 *     current write key, counted from the msg callback's record headers;
 *   - for TLS 1.0 CBC, the chained IV: the last ciphertext block of the
 *     server's Finished record (RFC 2246 section 6.2.3.2), taken from the
 *     bytes that went to the wire.
 */

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/server/keys.h"

#define KEYS_MAX_SECRET 64   /* SHA-384 traffic secret, 48-byte master */
#define KEYS_MAX_KEYLOG 2048 /* TLS 1.3: five lines of up to 225 bytes */

struct keys_state {
	uint8_t master[KEYS_MAX_SECRET];
	size_t masterlen;
	uint8_t sts0[KEYS_MAX_SECRET]; /* SERVER_TRAFFIC_SECRET_0 */
	size_t sts0len;
	uint64_t recs; /* records written under the current key */
	uint64_t wire_bytes;
	uint64_t rx_bytes;	     /* read from the peer */
	uint8_t last[AES_BLOCK_LEN]; /* last bytes written, a ring */
	size_t lastpos;
	uint64_t lastfill;
	bool stop_writes;
	uint64_t key_updates;	   /* KeyUpdates received */
	bool key_update_requested; /* one of them had update_requested */
	/* Wire observer (traces): every byte read, every byte written. */
	sim_keys_wire_fn *wire_fn;
	void *wire_arg;
	/* This connection's NSS key log lines, for trace outputs. */
	char keylog[KEYS_MAX_KEYLOG];
	size_t keyloglen;
};

static int keys_ssl_idx = -1;
static int keys_ctx_idx = -1;
static BIO_METHOD *keys_tap_method;
static CRYPTO_ONCE keys_once = CRYPTO_ONCE_STATIC_INIT;

static void
keys_state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{

	if (ptr != NULL) {
		OPENSSL_cleanse(ptr, sizeof(struct keys_state));
		free(ptr);
	}
}

/* The tap: a pass-through filter on the write side. */
static int
tap_write(BIO *b, const char *buf, int len)
{
	struct keys_state *st;
	BIO *next;
	int i, n;

	st = BIO_get_data(b);
	next = BIO_next(b);
	BIO_clear_retry_flags(b);
	if (st != NULL && st->stop_writes)
		return (len);
	if (next == NULL)
		return (0);
	n = BIO_write(next, buf, len);
	BIO_copy_next_retry(b);
	if (n > 0 && st != NULL) {
		st->wire_bytes += n;
		if (st->wire_fn != NULL)
			st->wire_fn(st->wire_arg, true, buf, (size_t)n);
		for (i = n > AES_BLOCK_LEN ? n - AES_BLOCK_LEN : 0; i < n;
		     i++) {
			st->last[st->lastpos] = buf[i];
			st->lastpos = (st->lastpos + 1) % AES_BLOCK_LEN;
			st->lastfill++;
		}
	}
	return (n);
}

static int
tap_read(BIO *b, char *buf, int len)
{
	struct keys_state *st;
	BIO *next;
	int n;

	st = BIO_get_data(b);
	next = BIO_next(b);
	BIO_clear_retry_flags(b);
	if (next == NULL)
		return (0);
	n = BIO_read(next, buf, len);
	BIO_copy_next_retry(b);
	if (n > 0 && st != NULL) {
		st->rx_bytes += n;
		if (st->wire_fn != NULL)
			st->wire_fn(st->wire_arg, false, buf, (size_t)n);
	}
	return (n);
}

static long
tap_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	BIO *next;
	long ret;

	next = BIO_next(b);
	if (next == NULL)
		return (0);
	BIO_clear_retry_flags(b);
	ret = BIO_ctrl(next, cmd, num, ptr);
	BIO_copy_next_retry(b);
	return (ret);
}

static int
tap_create(BIO *b)
{

	BIO_set_init(b, 1);
	return (1);
}

static void
keys_msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct keys_state *st;
	const uint8_t *p;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	if (st == NULL || len == 0)
		return;
	p = buf;
	if (write_p && content_type == SSL3_RT_HEADER) {
		/*
		 * RFC 5246 section 6.1: the sequence number is reset to zero
		 * whenever a ChangeCipherSpec takes effect, so the Finished
		 * record that follows it is number 0.  For TLS 1.3 the
		 * compatibility CCS (RFC 8446 appendix D.4) also lands here,
		 * but the count restarts again at SERVER_TRAFFIC_SECRET_0.
		 */
		if (p[0] == SSL3_RT_CHANGE_CIPHER_SPEC)
			st->recs = 0;
		else
			st->recs++;
	} else if (!write_p && content_type == SSL3_RT_HANDSHAKE &&
	    p[0] == SSL3_MT_KEY_UPDATE) {
		/* RFC 8446 4.6.3: msg_type, length(3), request_update. */
		st->key_updates++;
		if (len < 5 || p[4] != 0)
			st->key_update_requested = true;
	}
}

static int
unhex(const char *s, size_t slen, uint8_t *out, size_t outmax, size_t *outlen)
{
	long v;
	size_t i;
	char b[3];

	if (slen % 2 != 0 || slen / 2 > outmax)
		return (-1);
	b[2] = '\0';
	for (i = 0; i < slen / 2; i++) {
		char *end;

		b[0] = s[2 * i];
		b[1] = s[2 * i + 1];
		v = strtol(b, &end, 16);
		if (*end != '\0')
			return (-1);
		out[i] = (uint8_t)v;
	}
	*outlen = slen / 2;
	return (0);
}

/*
 * NSS key log format: "<label> <client_random hex> <secret hex>".  Only
 * secrets whose client random is this connection's are taken.
 */
static void
keys_keylog_cb(const SSL *ssl, const char *line)
{
	struct keys_state *st;
	uint8_t cr[SSL3_RANDOM_SIZE], mycr[SSL3_RANDOM_SIZE];
	const char *sp1, *sp2;
	size_t crlen, n;
	FILE *fp;

	fp = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keys_ctx_idx);
	if (fp != NULL) {
		fprintf(fp, "%s\n", line);
		fflush(fp);
	}
	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	if (st == NULL)
		return;
	n = strlen(line);
	if (st->keyloglen + n + 1 <= sizeof(st->keylog)) {
		memcpy(st->keylog + st->keyloglen, line, n);
		st->keylog[st->keyloglen + n] = '\n';
		st->keyloglen += n + 1;
	}
	sp1 = strchr(line, ' ');
	if (sp1 == NULL)
		return;
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL)
		return;
	if (unhex(sp1 + 1, sp2 - sp1 - 1, cr, sizeof(cr), &crlen) != 0 ||
	    crlen != sizeof(cr))
		return;
	SSL_get_client_random(ssl, mycr, sizeof(mycr));
	if (memcmp(cr, mycr, sizeof(cr)) != 0)
		return;
	if (strncmp(line, "CLIENT_RANDOM ", 14) == 0) {
		if (unhex(sp2 + 1, strlen(sp2 + 1), st->master,
			sizeof(st->master), &n) == 0)
			st->masterlen = n;
	} else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0) {
		if (unhex(sp2 + 1, strlen(sp2 + 1), st->sts0, sizeof(st->sts0),
			&n) == 0)
			st->sts0len = n;
		/*
		 * libssl logs this secret when it installs it as the write
		 * key, right after producing the server Finished; every
		 * record written from here on (NewSessionTickets) consumes a
		 * sequence number of the application key (RFC 8446 5.3).
		 */
		st->recs = 0;
	}
}

static void
keys_init_once(void)
{

	keys_ssl_idx =
	    SSL_get_ex_new_index(0, "sim_keys", NULL, NULL, keys_state_free);
	keys_ctx_idx =
	    SSL_CTX_get_ex_new_index(0, "sim_keys fp", NULL, NULL, NULL);
	keys_tap_method =
	    BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "sim_keys tap");
	if (keys_tap_method == NULL)
		return;
	BIO_meth_set_write(keys_tap_method, tap_write);
	BIO_meth_set_read(keys_tap_method, tap_read);
	BIO_meth_set_ctrl(keys_tap_method, tap_ctrl);
	BIO_meth_set_create(keys_tap_method, tap_create);
}

int
sim_keys_setup_ctx(SSL_CTX *ctx, FILE *keylog_fp)
{

	if (!CRYPTO_THREAD_run_once(&keys_once, keys_init_once) ||
	    keys_ssl_idx < 0 || keys_ctx_idx < 0 || keys_tap_method == NULL)
		return (-1);
	if (!SSL_CTX_set_ex_data(ctx, keys_ctx_idx, keylog_fp))
		return (-1);
	SSL_CTX_set_keylog_callback(ctx, keys_keylog_cb);
	SSL_CTX_set_msg_callback(ctx, keys_msg_cb);
	/*
	 * ktls(4) CBC is MAC-then-encrypt (RFC 5246 6.2.3.2); never agree to
	 * encrypt-then-MAC (RFC 7366).  Renegotiation would need new keys.
	 */
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_ENCRYPT_THEN_MAC | SSL_OP_NO_RENEGOTIATION);
	return (0);
}

int
sim_keys_attach(SSL *ssl, BIO *rbio, BIO *wbio)
{
	struct keys_state *st;
	BIO *tap, *rtap;

	if (keys_tap_method == NULL)
		return (-1);
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return (-1);
	tap = BIO_new(keys_tap_method);
	rtap = BIO_new(keys_tap_method);
	if (tap == NULL || rtap == NULL) {
		BIO_free(tap);
		BIO_free(rtap);
		free(st);
		return (-1);
	}
	if (!SSL_set_ex_data(ssl, keys_ssl_idx, st)) {
		BIO_free(tap);
		BIO_free(rtap);
		free(st);
		return (-1);
	}
	BIO_set_data(tap, st);
	BIO_push(tap, wbio);
	/* The read side only reports to the wire observer. */
	BIO_set_data(rtap, st);
	BIO_push(rtap, rbio);
	SSL_set_bio(ssl, rtap, tap);
	return (0);
}

void
sim_keys_set_wire_fn(SSL *ssl, sim_keys_wire_fn *fn, void *arg)
{
	struct keys_state *st;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	if (st != NULL) {
		st->wire_fn = fn;
		st->wire_arg = arg;
	}
}

const char *
sim_keys_keylog(const SSL *ssl, size_t *lenp)
{
	struct keys_state *st;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	*lenp = st != NULL ? st->keyloglen : 0;
	return (st != NULL ? st->keylog : NULL);
}

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

/* TLS 1.0-1.2 PRF through OpenSSL's "TLS1-PRF" KDF. */
static int
kdf_tls1_prf(const char *mdname, const uint8_t *secret, size_t secretlen,
    const uint8_t *seed, size_t seedlen, uint8_t *out, size_t outlen)
{
	OSSL_PARAM params[4], *p;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	int rv;

	kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	if (kdf == NULL)
		return (-1);
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return (-1);
	p = params;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)mdname, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
	    (void *)secret, secretlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
	    (void *)seed, seedlen);
	*p = OSSL_PARAM_construct_end();
	rv = EVP_KDF_derive(kctx, out, outlen, params);
	EVP_KDF_CTX_free(kctx);
	return (rv == 1 ? 0 : -1);
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
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	int mode, rv;

	kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	if (kdf == NULL)
		return (-1);
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return (-1);
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
	rv = EVP_KDF_derive(kctx, out, outlen, params);
	EVP_KDF_CTX_free(kctx);
	return (rv == 1 ? 0 : -1);
}

int
sim_keys_derive(SSL *ssl, struct sim_keys *k, char *why, size_t whylen)
{
	uint8_t seed[13 + 2 * SSL3_RANDOM_SIZE];
	uint8_t block[2 * (SHA2_384_HASH_LEN + 32 + 16)];
	const SSL_CIPHER *cipher;
	const EVP_MD *md;
	struct keys_state *st;
	SSL_SESSION *sess;
	struct tls_enable *en;
	const char *mdname;
	size_t fixed_iv, off;
	int cnid, version, i;

	memset(k, 0, sizeof(*k));
	en = &k->en;
	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	cipher = SSL_get_current_cipher(ssl);
	if (st == NULL || cipher == NULL || !SSL_is_init_finished(ssl)) {
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
		if (md == NULL || st->sts0len == 0 ||
		    st->sts0len != (size_t)EVP_MD_get_size(md)) {
			whyf(why, whylen, "no SERVER_TRAFFIC_SECRET_0 logged");
			return (-1);
		}
		/* RFC 8446 section 7.3: [sender]_write_key and _iv. */
		mdname = EVP_MD_get0_name(md);
		if (kdf_tls13_expand(mdname, st->sts0, st->sts0len, "key",
			k->cipher_key, en->cipher_key_len) != 0 ||
		    kdf_tls13_expand(mdname, st->sts0, st->sts0len, "iv", k->iv,
			TLS_1_3_GCM_IV_LEN) != 0) {
			whyf(why, whylen, "TLS13-KDF failed");
			return (-1);
		}
		en->iv_len = TLS_1_3_GCM_IV_LEN;
	} else {
		if (st->masterlen != SSL3_MASTER_SECRET_SIZE) {
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
		if (kdf_tls1_prf(mdname, st->master, st->masterlen, seed,
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
			if (st->lastfill < AES_BLOCK_LEN) {
				whyf(why, whylen, "TLS 1.0 chained IV unknown");
				return (-1);
			}
			for (i = 0; i < AES_BLOCK_LEN; i++)
				k->iv[i] =
				    st->last[(st->lastpos + i) % AES_BLOCK_LEN];
		}
	}
	k->seqno = st->recs;
	for (i = 0; i < 8; i++)
		en->rec_seq[i] = (uint8_t)(k->seqno >> (56 - 8 * i));
	en->cipher_key = k->cipher_key;
	en->iv = en->iv_len > 0 ? k->iv : NULL;
	en->auth_key = en->auth_key_len > 0 ? k->auth_key : NULL;
	return (0);
}

void
sim_keys_stop_writes(SSL *ssl)
{
	struct keys_state *st;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	if (st != NULL)
		st->stop_writes = true;
}

uint64_t
sim_keys_records_written(const SSL *ssl)
{
	struct keys_state *st;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	return (st != NULL ? st->recs : 0);
}

uint64_t
sim_keys_wire_bytes(const SSL *ssl)
{
	struct keys_state *st;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	return (st != NULL ? st->wire_bytes : 0);
}

uint64_t
sim_keys_rx_bytes(const SSL *ssl)
{
	struct keys_state *st;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	return (st != NULL ? st->rx_bytes : 0);
}

uint64_t
sim_keys_peer_key_updates(const SSL *ssl, bool *requestedp)
{
	struct keys_state *st;

	st = SSL_get_ex_data(ssl, keys_ssl_idx);
	if (requestedp != NULL)
		*requestedp = st != NULL && st->key_update_requested;
	return (st != NULL ? st->key_updates : 0);
}

int
sim_keys_make_cert(const char *cn, EVP_PKEY **pkeyp, X509 **certp)
{
	char san[300];
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *name;
	EVP_PKEY *pkey;
	X509 *x;

	*pkeyp = NULL;
	*certp = NULL;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	if (pkey == NULL || x == NULL)
		goto fail;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL ||
	    !X509_set_pubkey(x, pkey))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1", cn);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext == NULL)
		goto fail;
	if (!X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	*pkeyp = pkey;
	*certp = x;
	return (0);
fail:
	EVP_PKEY_free(pkey);
	X509_free(x);
	return (-1);
}
