/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Target functions: ksim_setsockopt(TCP_TXTLS_ENABLE) ->
 * tcp_ctloutput(), ktls_copyin_tls_enable(), ktls_enable_tx(),
 * ktls_create_session(), ktls_ocf_try(); then ksim_write() and the
 * software encryption path for one record.
 *
 * Any bytes become the socket-option argument: the struct fields (XORed
 * onto a suite from tests/lib/suites.h so that seeds can start valid), the
 * option length (full, v0, anything), key pointers into copies of the
 * input of exactly the given length, or NULL.  The result must be exactly
 * the errno expected_errno() computes from FreeBSD main's evaluation
 * order, written here independently of src/.  On success a one-record write
 * must decrypt with the oracle using the same keys and sequence number.
 * Anything else abort()s.
 *
 * Input layout (short inputs read as zeros):
 *   u8  f1: bits 0-1 option size (0 full, 1 v0, 2 next byte, 3 full +
 *       next byte % 64); bit 2 kern.ipc.tls.enable=0; bit 3
 *       cbc_enable=0; bit 4 mb_use_ext_pgs=0; bit 5 enable twice; bit 6
 *       drop the connection first
 *   u8  f2: bit 0 UDP socket; bit 1 listening socket; bit 2 NULL option
 *       pointer; bit 3 ktls_sim_async; bit 4 not connected
 *   u8  base suite: 0..15 test_suites[], 16..26 test_invalid_suites[],
 *       else all zero
 *   [u8 size, for size modes 2 and 3]
 *   i32 x6: cipher_algorithm, cipher_key_len, iv_len, auth_algorithm,
 *       auth_key_len, flags (each XORed onto the base)
 *   u8 x2: tls_vmajor, tls_vminor (XOR)
 *   u8 x8: rec_seq (raw)
 *   u8 x3: pointer selectors for cipher_key, iv, auth_key (1: NULL)
 *   u16 write length; u64 runner seed
 *   rest: key bytes (cipher key, then iv, then auth key), then payload
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fuzz_input.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "fuzz_tls_enable: %s:%d: %s\n", \
			    __FILE__, __LINE__, #cond);                 \
			abort();                                        \
		}                                                       \
	} while (0)

/*
 * LP64 sizes of FreeBSD's struct tls_enable and tls_enable_v0
 * (sys/sys/ktls.h), spelled out on purpose.
 */
#define EN_SIZE 64
#define EN_V0_SIZE 56
_Static_assert(sizeof(struct tls_enable) == EN_SIZE, "tls_enable size");
_Static_assert(sizeof(struct tls_enable_v0) == EN_V0_SIZE, "tls_enable_v0");

struct wire {
	uint8_t *buf;
	size_t len, cap;
	bool fin;
};

static ssize_t
wire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct wire *w = arg;
	size_t total = 0;

	FUZZ_CHECK(!w->fin);
	for (int i = 0; i < iovcnt; i++) {
		size_t n = iov[i].iov_len;

		if (w->len + n > w->cap) {
			w->cap = (w->len + n) * 2;
			w->buf = realloc(w->buf, w->cap);
			FUZZ_CHECK(w->buf != NULL);
		}
		memcpy(w->buf + w->len, iov[i].iov_base, n);
		w->len += n;
		total += n;
	}
	return ((ssize_t)total);
}

static void
wire_fin(void *arg)
{
	struct wire *w = arg;

	w->fin = true;
}

/* Everything expected_errno() needs to know. */
struct setup {
	size_t optlen;
	bool null_opt;
	bool dropped;
	bool udp;
	bool listening;
	bool already; /* a TX session is installed */
	bool tls_enable, cbc_enable, ext_pgs;
	struct tls_enable en; /* as the kernel will read it */
};

static bool
range(int v, int lo, int hi)
{

	return (v >= lo && v <= hi);
}

/* ktls_create_session()'s first checks: version and flags (EINVAL). */
static bool
header_valid(const struct tls_enable *en)
{

	return (en->tls_vmajor == 3 && range(en->tls_vminor, 1, 4) &&
	    en->flags == 0);
}

/* The suite rules of ktls_create_session(), all EINVAL. */
static bool
suite_valid(const struct tls_enable *en)
{

	if (!header_valid(en))
		return (false);
	switch (en->cipher_algorithm) {
	case 25: /* CRYPTO_AES_NIST_GCM_16 */
		/* GMAC ids 26-28 pass: options COMPAT_FREEBSD12 (GENERIC). */
		if (en->auth_algorithm != 0 &&
		    !range(en->auth_algorithm, 26, 28))
			return (false);
		if (en->auth_key_len != 0)
			return (false);
		if (en->tls_vminor == 3)
			return (en->iv_len == 4);
		if (en->tls_vminor == 4)
			return (en->iv_len == 12);
		return (false);
	case 11: /* CRYPTO_AES_CBC */
		if (en->auth_algorithm != 7 && en->auth_algorithm != 18 &&
		    en->auth_algorithm != 19)
			return (false);
		if (en->auth_algorithm != 7 && en->tls_vminor != 3)
			return (false);
		if (en->auth_key_len == 0)
			return (false);
		if (en->tls_vminor == 1 && en->iv_len != 16)
			return (false);
		return (en->tls_vminor != 4);
	case 41: /* CRYPTO_CHACHA20_POLY1305 */
		if (en->auth_algorithm != 0 || en->auth_key_len != 0)
			return (false);
		if (en->tls_vminor != 3 && en->tls_vminor != 4)
			return (false);
		return (en->iv_len == 12);
	default:
		return (false);
	}
}

/*
 * What the software backend accepts as a key (sys/opencrypto/ktls_ocf.c
 * ktls_ocf_try(), reached through ktls_try_sw()).
 */
static bool
key_valid(const struct tls_enable *en)
{

	if (en->cipher_algorithm == 41)
		return (en->cipher_key_len == 32);
	return (en->cipher_key_len == 16 || en->cipher_key_len == 32);
}

/*
 * The errno of setsockopt(TCP_TXTLS_ENABLE), in FreeBSD main's evaluation
 * order: udp_ctloutput() for a UDP socket, tcp_ctloutput() (a dropped
 * connection), ktls_copyin_tls_enable()'s range checks and key copy-ins,
 * ktls_enable_tx(), ktls_create_session(), the SW backend and finally
 * SOCK_IO_SEND_LOCK (listening socket).
 */
static int
expected_errno(const struct setup *s)
{
	const struct tls_enable *en = &s->en;

	/* udp_ctloutput() -> ip_ctloutput(): before the argument is read. */
	if (s->udp)
		return (EINVAL);
	if (s->dropped)
		return (ECONNRESET);
	if (s->optlen != EN_V0_SIZE && s->optlen < EN_SIZE)
		return (EINVAL);
	if (s->null_opt)
		return (EFAULT);
	if (!range(en->cipher_key_len, 1, 1024) || !range(en->iv_len, 0, 16) ||
	    !range(en->auth_key_len, 0, 1024))
		return (EINVAL);
	if ((en->cipher_key == NULL && en->cipher_key_len > 0) ||
	    (en->iv == NULL && en->iv_len > 0) ||
	    (en->auth_key == NULL && en->auth_key_len > 0))
		return (EFAULT);
	if (!s->tls_enable)
		return (ENOTSUP);
	if (s->already)
		return (EALREADY);
	if (!s->ext_pgs)
		return (ENXIO);
	/* FreeBSD main checks cbc_enable inside ktls_create_session(). */
	if (!header_valid(en))
		return (EINVAL);
	if (en->cipher_algorithm == 11 && !s->cbc_enable)
		return (ENOTSUP);
	if (!suite_valid(en))
		return (EINVAL);
	if (!key_valid(en))
		return (EINVAL);
	if (s->listening)
		return (ENOTCONN);
	return (0);
}

/*
 * An HMAC key of any length as one of exactly the hash length, which is
 * what the oracle takes (RFC 2104: longer than a block is hashed, shorter
 * is zero-padded).  False when no such key exists.
 */
static bool
hmac_key_for_oracle(int alg, const uint8_t *key, int len, uint8_t *out,
    int *maclenp)
{
	const EVP_MD *md;
	unsigned int n;
	int bs, maclen;

	switch (alg) {
	case 7:
		md = EVP_sha1();
		maclen = 20;
		bs = 64;
		break;
	case 18:
		md = EVP_sha256();
		maclen = 32;
		bs = 64;
		break;
	default:
		md = EVP_sha384();
		maclen = 48;
		bs = 128;
		break;
	}
	*maclenp = maclen;
	memset(out, 0, maclen);
	if (len > bs) {
		FUZZ_CHECK(EVP_Digest(key, len, out, &n, md, NULL) == 1);
		return (true);
	}
	for (int i = maclen; i < len; i++)
		if (key[i] != 0)
			return (false);
	memcpy(out, key, len < maclen ? len : maclen);
	return (true);
}

static uint8_t *
key_copy(struct fuzz_input *fi, int len)
{
	uint8_t *p;

	/* Exactly len bytes, so that ASan sees any over-read by src/. */
	if (len <= 0 || len > 4096) {
		p = malloc(1);
		FUZZ_CHECK(p != NULL);
		p[0] = 0;
		return (p);
	}
	p = malloc(len);
	FUZZ_CHECK(p != NULL);
	fi_bytes(fi, p, len);
	return (p);
}

static uint8_t *
dup_key(const uint8_t *p, int len)
{
	size_t n = len > 0 && len <= 4096 ? (size_t)len : 1;
	uint8_t *q = malloc(n);

	FUZZ_CHECK(q != NULL);
	memcpy(q, p, n);
	return (q);
}

static void
scribble(uint8_t *p, int len)
{

	memset(p, 0xee, len > 0 && len <= 4096 ? (size_t)len : 1);
}

/* Write one record and check the wire against the oracle. */
static void
check_write(struct platform *pl, struct socket *so, struct wire *w,
    const struct tls_enable *en, uint64_t seqno, struct fuzz_input *fi,
    uint16_t wlen)
{
	struct test_suite ts;
	struct oracle_record rec;
	struct oracle *o;
	uint8_t *payload, hkey[48];
	ssize_t written;
	size_t len;
	int error, maclen;
	bool empty_ok;

	empty_ok = en->cipher_algorithm == 11 && en->tls_vminor == 1;
	len = wlen % 16385;
	if (len == 0 && !empty_ok)
		len = 1;
	payload = malloc(len ? len : 1);
	FUZZ_CHECK(payload != NULL);
	fi_bytes(fi, payload, len);
	error = ksim_write(so, payload, len, &written);
	FUZZ_CHECK(error == 0);
	FUZZ_CHECK((size_t)written == len);
	sim_det_run(pl);

	memset(&ts, 0, sizeof(ts));
	ts.name = "fuzz";
	ts.cipher_algorithm = en->cipher_algorithm;
	ts.cipher_key_len = en->cipher_key_len;
	ts.auth_algorithm = en->cipher_algorithm == 11 ? en->auth_algorithm : 0;
	ts.tls_vminor = en->tls_vminor;
	ts.iv_len = en->iv_len;
	if (en->cipher_algorithm == 11) {
		if (!hmac_key_for_oracle(en->auth_algorithm, en->auth_key,
			en->auth_key_len, hkey, &maclen)) {
			/*
			 * Not expressible to the oracle: check only that
			 * one whole record went out.
			 */
			FUZZ_CHECK(w->len >= 5);
			FUZZ_CHECK(w->buf[0] == TLS_RLTYPE_APP);
			FUZZ_CHECK(
			    w->len == 5 + ((size_t)w->buf[3] << 8 | w->buf[4]));
			free(payload);
			return;
		}
		ts.auth_key_len = maclen;
	}
	o = oracle_new(&ts, en->cipher_key, en->iv,
	    en->cipher_algorithm == 11 ? hkey : NULL, seqno);
	FUZZ_CHECK(o != NULL);
	error = oracle_next(o, w->buf, w->len, &rec);
	if (error != 0)
		fprintf(stderr, "oracle: %s\n", oracle_error(o));
	FUZZ_CHECK(error == 0);
	FUZZ_CHECK(rec.reclen == w->len);
	FUZZ_CHECK(rec.inner_type == TLS_RLTYPE_APP);
	FUZZ_CHECK(rec.seqno == seqno);
	FUZZ_CHECK(rec.plen == len);
	FUZZ_CHECK(len == 0 || memcmp(rec.plain, payload, len) == 0);
	oracle_free(o);
	free(payload);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input fi;
	struct setup s;
	struct tls_enable raw;
	struct platform *pl;
	struct socket *so;
	struct wire w;
	const struct test_suite *base;
	uint8_t f1, f2, bidx, *opt, *ck, *iv, *ak, *ck0, *iv0, *ak0, psel[3];
	int32_t x[6];
	uint64_t seqno, seed;
	uint16_t wlen;
	int error, expect, want2;
	bool saved_enable, saved_cbc, saved_ext, saved_async, connected;

	fi_init(&fi, data, size);
	f1 = fi_u8(&fi);
	f2 = fi_u8(&fi);
	bidx = fi_u8(&fi);

	memset(&s, 0, sizeof(s));
	switch (f1 & 3) {
	case 0:
		s.optlen = EN_SIZE;
		break;
	case 1:
		s.optlen = EN_V0_SIZE;
		break;
	case 2:
		s.optlen = fi_u8(&fi);
		break;
	default:
		s.optlen = EN_SIZE + fi_u8(&fi) % 64;
		break;
	}
	s.tls_enable = !(f1 & 0x04);
	s.cbc_enable = !(f1 & 0x08);
	s.ext_pgs = !(f1 & 0x10);
	s.udp = f2 & 0x01;
	s.listening = !s.udp && (f2 & 0x02);
	s.null_opt = f2 & 0x04;
	connected = !s.udp && !s.listening && !(f2 & 0x10);
	s.dropped = connected && (f1 & 0x40);

	if (bidx < test_nsuites)
		base = &test_suites[bidx];
	else if (bidx - test_nsuites < test_ninvalid_suites)
		base = &test_invalid_suites[bidx - test_nsuites];
	else
		base = NULL;
	for (int i = 0; i < 6; i++)
		x[i] = (int32_t)fi_u32(&fi);
	memset(&raw, 0, sizeof(raw));
	if (base != NULL) {
		raw.cipher_algorithm = base->cipher_algorithm;
		raw.cipher_key_len = base->cipher_key_len;
		raw.iv_len = base->iv_len;
		raw.auth_algorithm = base->auth_algorithm;
		raw.auth_key_len = base->auth_key_len;
		raw.tls_vmajor = TLS_MAJOR_VER_ONE;
		raw.tls_vminor = base->tls_vminor;
	}
	raw.cipher_algorithm ^= x[0];
	raw.cipher_key_len ^= x[1];
	raw.iv_len ^= x[2];
	raw.auth_algorithm ^= x[3];
	raw.auth_key_len ^= x[4];
	raw.flags ^= x[5];
	raw.tls_vmajor ^= fi_u8(&fi);
	raw.tls_vminor ^= fi_u8(&fi);
	fi_bytes(&fi, raw.rec_seq, sizeof(raw.rec_seq));
	fi_bytes(&fi, psel, sizeof(psel));
	wlen = fi_u16(&fi);
	seed = fi_u64(&fi);

	ck = key_copy(&fi, raw.cipher_key_len);
	iv = key_copy(&fi, raw.iv_len);
	ak = key_copy(&fi, raw.auth_key_len);
	ck0 = dup_key(ck, raw.cipher_key_len);
	iv0 = dup_key(iv, raw.iv_len);
	ak0 = dup_key(ak, raw.auth_key_len);
	raw.cipher_key = psel[0] == 1 ? NULL : ck;
	raw.iv = psel[1] == 1 ? NULL : iv;
	raw.auth_key = psel[2] == 1 ? NULL : ak;

	/* The option buffer: the struct, then filler past its end. */
	opt = malloc(s.optlen ? s.optlen : 1);
	FUZZ_CHECK(opt != NULL);
	memset(opt, 0xa5, s.optlen);
	memcpy(opt, &raw, s.optlen < sizeof(raw) ? s.optlen : sizeof(raw));
	/*
	 * A v0 option's last bytes are the struct's tail padding, where the
	 * current layout has rec_seq[0..5]: left as the input chose them, and
	 * the kernel must still start at sequence number 0
	 * (sys/kern/uipc_ktls.c ktls_copyin_tls_enable() zeroes rec_seq for a
	 * v0 option; regression seed v0-padding-recseq).
	 */
	/* What the kernel reads: v0 by size, else the full struct. */
	s.en = raw;
	if (s.optlen == EN_V0_SIZE)
		memset(s.en.rec_seq, 0, sizeof(s.en.rec_seq));
	seqno = 0;
	for (int i = 0; i < 8; i++)
		seqno = seqno << 8 | s.en.rec_seq[i];

	saved_enable = ktls_enable_sysctl;
	saved_cbc = ktls_cbc_enable;
	saved_ext = mb_use_ext_pgs;
	saved_async = ktls_sim_async;
	ktls_enable_sysctl = s.tls_enable;
	ktls_cbc_enable = s.cbc_enable;
	mb_use_ext_pgs = s.ext_pgs;
	ktls_sim_async = f2 & 0x08;

	pl = sim_det_create(seed, 1 + (int)(seed & 1));
	platform_set(pl);
	FUZZ_CHECK(ktls_init() == 0);

	memset(&w, 0, sizeof(w));
	FUZZ_CHECK(ksim_socket(s.udp ? SOCK_DGRAM : SOCK_STREAM, &so) == 0);
	if (connected) {
		struct tcp_wire tw = { wire_output, wire_fin, &w };

		FUZZ_CHECK(ksim_connect(so, &tw, (uint32_t)(seed >> 8)) == 0);
	}
	if (s.listening)
		FUZZ_CHECK(ksim_listen(so) == 0);
	if (s.dropped)
		ksim_drop(so, ECONNRESET);

	expect = expected_errno(&s);
	error = ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE,
	    s.null_opt ? NULL : opt, (socklen_t)s.optlen);
	if (error != expect) {
		fprintf(stderr,
		    "fuzz_tls_enable: setsockopt returned %d, expected %d\n",
		    error, expect);
		abort();
	}
	if (f1 & 0x20) {
		/* The same call again: a session now means EALREADY. */
		s.already = (error == 0);
		want2 = expected_errno(&s);
		error = ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE,
		    s.null_opt ? NULL : opt, (socklen_t)s.optlen);
		if (error != want2) {
			fprintf(stderr,
			    "fuzz_tls_enable: second setsockopt returned %d, "
			    "expected %d\n",
			    error, want2);
			abort();
		}
	}
	/* The kernel must have copied the keys: scribble over ours. */
	scribble(ck, raw.cipher_key_len);
	scribble(iv, raw.iv_len);
	scribble(ak, raw.auth_key_len);
	if (expect == 0 && connected) {
		struct tls_enable en = s.en;

		en.cipher_key = ck0;
		en.iv = en.iv != NULL ? iv0 : NULL;
		en.auth_key = en.auth_key != NULL ? ak0 : NULL;
		check_write(pl, so, &w, &en, seqno, &fi, wlen);
	}

	ksim_close(so);
	sim_det_run(pl);
	ktls_uninit();
	sim_det_destroy(pl);
	platform_set(NULL);
	ktls_enable_sysctl = saved_enable;
	ktls_cbc_enable = saved_cbc;
	mb_use_ext_pgs = saved_ext;
	ktls_sim_async = saved_async;
	free(w.buf);
	free(opt);
	free(ck);
	free(iv);
	free(ak);
	free(ck0);
	free(iv0);
	free(ak0);
	return (0);
}
