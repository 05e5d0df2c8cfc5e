/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group F, transmit side (docs/conformance.md, "F. Parameters"):
 * TCP_TXTLS_ENABLE argument checks in the errno order of FreeBSD's
 * sys/netinet/tcp_usrreq.c tcp_default_ctloutput() and sys/kern/uipc_ktls.c
 * ktls_enable_tx() and ktls_create_session(), sysctl knobs, lifecycle and
 * TCP_TXTLS_MODE (ktls_set_tx_mode()).  Generated over tests/lib/suites.h
 * (and the invalid combinations of INVALID_SUITES), on both runners.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_common.h"
#include "ksim_harness.h"
#include "oracle.h"
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
/* --- Group F: invalid parameters and lifecycle (transmit side) --------- */

/*
 * Not applicable on FreeBSD TX: IP-02, IP-06, IP-08 (receive side), IP-05
 * (listen() after enable is checked in test_ip04_not_connected), IP-07
 * (Linux getsockopt of the crypto parameters), IP-10/IP-11 (library side,
 * Linux ULP).
 */

static int
enable_raw(struct socket *so, const void *en, size_t len)
{

	return (ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE, en,
	    (socklen_t)len));
}

/* The fields of struct tls_enable enable_with() changes. */
enum field {
	F_END,
	F_CIPHER_ALG,
	F_CIPHER_KEY,
	F_CIPHER_KEY_LEN,
	F_IV,
	F_IV_LEN,
	F_AUTH_ALG,
	F_AUTH_KEY,
	F_AUTH_KEY_LEN,
	F_FLAGS,
	F_VMAJOR,
	F_VMINOR,
};

/*
 * The values of the pointer fields: NULL, a buffer of TLS_MAX_PARAM_SIZE +
 * 1 bytes, or the session's own key (or IV) of that kind.
 */
enum { P_NULL, P_BIG, P_OWN };

static const uint8_t *
enable_ptr(int v, const uint8_t *own)
{
	static const uint8_t big[TLS_MAX_PARAM_SIZE + 1];

	return (v == P_NULL ? NULL : v == P_BIG ? big : own);
}

/*
 * TCP_TXTLS_ENABLE on c's socket with the argument harness_enable() would
 * pass, changed by (field, value) pairs up to F_END; returns the errno.
 */
static int
enable_with(struct ctx *c, ...)
{
	struct tls_enable en;
	va_list ap;
	int f, v;

	harness_tls_enable(&c->k, &en);
	va_start(ap, c);
	while ((f = va_arg(ap, int)) != F_END) {
		v = va_arg(ap, int);
		switch (f) {
		case F_CIPHER_ALG:
			en.cipher_algorithm = v;
			break;
		case F_CIPHER_KEY:
			en.cipher_key = enable_ptr(v, c->k.cipher_key);
			break;
		case F_CIPHER_KEY_LEN:
			en.cipher_key_len = v;
			break;
		case F_IV:
			en.iv = enable_ptr(v, c->k.iv);
			break;
		case F_IV_LEN:
			en.iv_len = v;
			break;
		case F_AUTH_ALG:
			en.auth_algorithm = v;
			break;
		case F_AUTH_KEY:
			en.auth_key = enable_ptr(v, c->k.auth_key);
			break;
		case F_AUTH_KEY_LEN:
			en.auth_key_len = v;
			break;
		case F_FLAGS:
			en.flags = v;
			break;
		case F_VMAJOR:
			en.tls_vmajor = (uint8_t)v;
			break;
		case F_VMINOR:
			en.tls_vminor = (uint8_t)v;
			break;
		default:
			fail_msg("enable_with: field %d", f);
		}
	}
	va_end(ap);
	return (enable_raw(c->so, &en, sizeof(en)));
}

static int
get_mode(struct socket *so, int *mode)
{
	socklen_t len = sizeof(*mode);
	int error;

	*mode = -1;
	error = ksim_getsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, mode, &len);
	if (error == 0)
		assert_int_equal(len, sizeof(*mode));
	return (error);
}

static int
set_mode(struct socket *so, int mode)
{

	return (ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode,
	    sizeof(mode)));
}

/*
 * The end of a case whose enables were all refused: the socket has no
 * session (the mode reads NONE), and a correct enable then works, with
 * records from the configured seqno.  Frees the session.
 */
static void
end_clean_then_enable(struct ctx *c)
{
	struct rlog l;
	uint8_t *p;
	int mode;

	assert_int_equal(get_mode(c->so, &mode), 0);
	assert_int_equal(mode, TCP_TLS_MODE_NONE);
	assert_int_equal(harness_enable(c->so, &c->k), 0);
	p = payload(c, 33);
	write_all(c, p, 33);
	ctx_finish(c, p, 33, &l);
	assert_int_equal(l.n, 1);
	ctx_free_run(c, &l, NULL, p);
}

/* IP-01: the 11 invalid version/cipher/MAC combinations: EINVAL. */
static void
test_ip01_invalid_combo(void **state)
{
	const struct conf_case *cc = *state;
	struct ctx c;
	uint8_t *p;
	int mode;

	ctx_open_suite(&c, cc, cc->s, 1, 0, false);
	assert_int_equal(harness_enable(c.so, &c.k), EINVAL);
	assert_int_equal(get_mode(c.so, &mode), 0);
	assert_int_equal(mode, TCP_TLS_MODE_NONE);
	/* No session: a write goes out as it is. */
	p = payload(&c, 20);
	write_all(&c, p, 20);
	ctx_close(&c);
	assert_int_equal(c.w.len, 20);
	assert_memory_equal(c.w.buf, p, 20);
	free(p);
	ctx_free(&c);
}

/* IP-03: unknown versions and cipher ids: EINVAL. */
static void
test_ip03_unknown(void **state)
{
	const struct conf_case *cc = *state;
	static const int ciphers[] = { 10, 50, 59, 70, 0, -1, CRYPTO_AES_ICM };
	static const uint8_t minors[] = { 200, 0, 5, 255 };
	struct ctx c;
	size_t i;

	ctx_open(&c, cc, 0, 8);
	ksim_close(c.so);
	c.so = harness_socket(&c.h, &c.w, 1);
	for (i = 0; i < sizeof(minors); i++)
		assert_int_equal(enable_with(&c, F_VMINOR, minors[i], F_END),
		    EINVAL);
	for (i = 0; i < nitems(ciphers); i++)
		assert_int_equal(enable_with(&c, F_CIPHER_ALG, ciphers[i],
				     F_END),
		    EINVAL);
	assert_int_equal(enable_with(&c, F_VMAJOR, 2, F_END), EINVAL);
	assert_int_equal(enable_with(&c, F_VMAJOR, 4, F_END), EINVAL);
	assert_int_equal(enable_with(&c, F_FLAGS, 1, F_END), EINVAL);
	end_clean_then_enable(&c);
}

/* Simple output sink for sockets the test connects itself. */
static ssize_t
sink_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct wire *w = arg;
	size_t total = 0;
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (w->len + iov[i].iov_len > w->cap) {
			w->cap = (w->len + iov[i].iov_len) * 2;
			w->buf = realloc(w->buf, w->cap);
			assert_non_null(w->buf);
		}
		memcpy(w->buf + w->len, iov[i].iov_base, iov[i].iov_len);
		w->len += iov[i].iov_len;
		total += iov[i].iov_len;
	}
	w->nwrites++;
	return ((ssize_t)total);
}

static void
sink_fin(void *arg)
{

	((struct wire *)arg)->fin = true;
}

/*
 * IP-04: TX enable on a listener: ENOTCONN (and TCP_TXTLS_MODE: EINVAL).
 * On a fresh unconnected socket enable is allowed; writes fail ENOTCONN
 * until it is connected, then records start at rec_seq.  listen() on a
 * KTLS socket: EINVAL.
 */
static void
test_ip04_not_connected(void **state)
{
	const struct conf_case *cc = *state;
	struct tcp_wire tw;
	struct socket *so;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	socklen_t len;
	ssize_t n;
	int mode;

	ctx_open_suite(&c, cc, cc->s, 1, 0xabcdef, false);
	p = payload(&c, 64);

	/* A listener. */
	assert_int_equal(ksim_socket(SOCK_STREAM, &so), 0);
	assert_int_equal(ksim_listen(so), 0);
	assert_int_equal(harness_enable(so, &c.k), ENOTCONN);
	assert_int_equal(get_mode(so, &mode), EINVAL);
	assert_int_equal(set_mode(so, TCP_TLS_MODE_SW), EINVAL);
	/* ktls_get_rx_mode() refuses listeners too. */
	len = sizeof(mode);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, TCP_RXTLS_MODE, &mode,
			     &len),
	    EINVAL);
	ksim_close(so);

	/* Unconnected: enable works, writes do not (yet). */
	assert_int_equal(ksim_socket(SOCK_STREAM, &so), 0);
	assert_int_equal(harness_enable(so, &c.k), 0);
	assert_int_equal(get_mode(so, &mode), 0);
	assert_int_equal(mode, TCP_TLS_MODE_SW);
	n = -1;
	assert_int_equal(ksim_write(so, p, 64, &n), ENOTCONN);
	assert_int_equal(n, 0);
	assert_int_equal(ksim_listen(so), EINVAL);
	tw.tw_output = sink_output;
	tw.tw_fin = sink_fin;
	tw.tw_arg = &c.w;
	assert_int_equal(ksim_connect(so, &tw, 5), 0);
	assert_int_equal(ksim_write(so, p, 64, &n), 0);
	assert_int_equal(n, 64);
	harness_run(&c.h);
	ksim_close(so);
	ctx_finish(&c, p, 64, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].seqno, 0xabcdef);
	ctx_free_run(&c, &l, NULL, p);
}

/*
 * IP-09: key/IV/MAC length mismatches and AEAD with an auth algorithm.
 * Key sizes are the backend's business: AES-192 (24 bytes) and a 16-byte
 * ChaCha key fail with EINVAL from it.
 */
static void
test_ip09_lengths(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct ctx c;
	int badkey;

	ctx_open_suite(&c, cc, s, 1, 0x55, false);
	badkey = s->cipher_algorithm == CRYPTO_CHACHA20_POLY1305 ? 16 : 24;
	assert_int_equal(enable_with(&c, F_CIPHER_KEY_LEN, badkey, F_END),
	    EINVAL);
	if (is_gcm12(s))
		assert_int_equal(enable_with(&c, F_IV_LEN, 12, F_END), EINVAL);
	if (is_aead(s)) {
		if (!is_gcm12(s))
			assert_int_equal(enable_with(&c, F_IV_LEN, 4, F_END),
			    EINVAL);
		assert_int_equal(enable_with(&c, F_AUTH_ALG, CRYPTO_SHA1_HMAC,
				     F_AUTH_KEY, P_OWN, F_AUTH_KEY_LEN, 20,
				     F_END),
		    EINVAL);
		assert_int_equal(enable_with(&c, F_AUTH_KEY, P_OWN,
				     F_AUTH_KEY_LEN, 20, F_END),
		    EINVAL);
		/* GMAC ids with AES-GCM: IP-GMAC. */
		if (s->cipher_algorithm == CRYPTO_CHACHA20_POLY1305)
			assert_int_equal(enable_with(&c, F_AUTH_ALG,
					     CRYPTO_AES_128_NIST_GMAC, F_END),
			    EINVAL);
	} else {
		assert_int_equal(enable_with(&c, F_AUTH_KEY_LEN, 0, F_AUTH_KEY,
				     P_NULL, F_END),
		    EINVAL);
		assert_int_equal(enable_with(&c, F_AUTH_ALG, 0, F_END), EINVAL);
		if (is_tls10(s))
			assert_int_equal(enable_with(&c, F_IV_LEN, 12, F_END),
			    EINVAL);
	}
	end_clean_then_enable(&c);
}

/*
 * IP-GMAC: AES-GCM with a GMAC id as auth_algorithm.  FreeBSD accepts the
 * ids only in a kernel with options COMPAT_FREEBSD12, which GENERIC has
 * (sys/amd64/conf/GENERIC); the session then works as without them.  A
 * kernel without the option (ktls_sim_compat_freebsd12 off) refuses them,
 * and a GMAC key length is refused either way.
 */
static void
test_ip_gmac_compat(void **state)
{
	static const int gmac[] = { CRYPTO_AES_128_NIST_GMAC,
		CRYPTO_AES_192_NIST_GMAC, CRYPTO_AES_256_NIST_GMAC };
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;

	for (size_t i = 0; i < nitems(gmac); i++) {
		ctx_open_suite(&c, cc, cc->s, 1, 77 + i, false);
		assert_int_equal(enable_with(&c, F_AUTH_ALG, gmac[i],
				     F_AUTH_KEY, P_OWN, F_AUTH_KEY_LEN, 16,
				     F_END),
		    EINVAL);
		ktls_sim_compat_freebsd12 = false;
		assert_int_equal(enable_with(&c, F_AUTH_ALG, gmac[i], F_END),
		    EINVAL);
		ktls_sim_compat_freebsd12 = true;
		assert_int_equal(enable_with(&c, F_AUTH_ALG, gmac[i], F_END),
		    0);
		p = payload(&c, 3000);
		write_all(&c, p, 3000);
		ctx_finish(&c, p, 3000, &l);
		assert_int_equal(l.n, 1);
		assert_int_equal(l.r[0].seqno, 77 + i);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/* Option-layer and range checks: size, pointers, lengths, flags. */
static void
test_ip_option_checks(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct tls_enable en;
	struct ctx c;

	ctx_open_suite(&c, cc, s, 1, 0x66, false);
	harness_tls_enable(&c.k, &en);
	assert_int_equal(enable_raw(c.so, &en, sizeof(en) - 1), EINVAL);
	assert_int_equal(enable_raw(c.so, &en,
			     sizeof(struct tls_enable_v0) - 1),
	    EINVAL);
	assert_int_equal(enable_raw(c.so, &en, 0), EINVAL);
	assert_int_equal(enable_raw(c.so, &en,
			     sizeof(struct tls_enable_v0) + 4),
	    EINVAL);

	assert_int_equal(enable_with(&c, F_CIPHER_KEY, P_NULL, F_END), EFAULT);
	if (s->iv_len > 0)
		assert_int_equal(enable_with(&c, F_IV, P_NULL, F_END), EFAULT);
	if (s->auth_key_len > 0)
		assert_int_equal(enable_with(&c, F_AUTH_KEY, P_NULL, F_END),
		    EFAULT);
	assert_int_equal(enable_with(&c, F_CIPHER_KEY_LEN, 0, F_END), EINVAL);
	assert_int_equal(enable_with(&c, F_CIPHER_KEY, P_BIG, F_CIPHER_KEY_LEN,
			     TLS_MAX_PARAM_SIZE + 1, F_END),
	    EINVAL);
	assert_int_equal(enable_with(&c, F_CIPHER_KEY_LEN, -1, F_END), EINVAL);
	assert_int_equal(enable_with(&c, F_IV, P_BIG, F_IV_LEN, 17, F_END),
	    EINVAL);
	assert_int_equal(enable_with(&c, F_IV_LEN, -1, F_END), EINVAL);
	assert_int_equal(enable_with(&c, F_AUTH_KEY, P_BIG, F_AUTH_KEY_LEN,
			     TLS_MAX_PARAM_SIZE + 1, F_END),
	    EINVAL);
	assert_int_equal(enable_with(&c, F_AUTH_KEY_LEN, -1, F_END), EINVAL);
	/*
	 * The range checks' bounds themselves pass: a missing key, IV or
	 * MAC key of the largest (or, for the key, smallest) length gets
	 * past them to the copy-in, which faults.
	 */
	assert_int_equal(enable_with(&c, F_CIPHER_KEY, P_NULL, F_CIPHER_KEY_LEN,
			     TLS_MAX_PARAM_SIZE, F_END),
	    EFAULT);
	assert_int_equal(enable_with(&c, F_CIPHER_KEY, P_NULL, F_CIPHER_KEY_LEN,
			     1, F_END),
	    EFAULT);
	assert_int_equal(enable_with(&c, F_IV, P_NULL, F_IV_LEN, 16, F_END),
	    EFAULT);
	assert_int_equal(enable_with(&c, F_AUTH_KEY, P_NULL, F_AUTH_KEY_LEN,
			     TLS_MAX_PARAM_SIZE, F_END),
	    EFAULT);
	assert_int_equal(enable_with(&c, F_FLAGS, 0x100, F_END), EINVAL);
	assert_int_equal(enable_with(&c, F_VMAJOR, 0, F_END), EINVAL);
	end_clean_then_enable(&c);
}

/*
 * The v0 option layout (56 bytes, no rec_seq) is accepted and numbers
 * records from 0 (the first record authenticates at seq 0).
 */
static void
test_ip_v0_layout(void **state)
{
	const struct conf_case *cc = *state;
	struct tls_enable en;
	struct tls_enable_v0 v0;
	struct rlog l;
	struct ctx c;
	uint8_t *p;

	assert_int_equal(sizeof(v0), 56);
	assert_int_equal(sizeof(en), 64);
	for (int run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open_suite(&c, cc, cc->s, run, 0, false);
		harness_tls_enable(&c.k, &en);
		memcpy(&v0, &en, sizeof(v0));
		assert_int_equal(enable_raw(c.so, &v0, sizeof(v0)), 0);
		p = payload(&c, 40000);
		write_all(&c, p, 40000);
		ctx_finish(&c, p, 40000, &l);
		assert_int_equal(l.r[0].seqno, 0);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * A second enable: EALREADY, checked before the argument is (FreeBSD's
 * ktls_enable_tx() tests sb_tls_info before ktls_create_session()), so
 * also for one that is invalid or refused by a knob; the first session
 * stays in force.
 */
static void
test_ip_ealready(void **state)
{
	const struct conf_case *cc = *state;
	struct harness_keys k2;
	struct tls_enable en;
	struct rlog l;
	struct ctx c;
	uint8_t *p;

	ctx_open(&c, cc, 1, 321);
	p = payload(&c, 100);
	write_all(&c, p, 50);
	harness_keys(&c.h, cc->s, 999, &k2);
	assert_int_equal(harness_enable(c.so, &k2), EALREADY);
	assert_int_equal(harness_enable(c.so, &c.k), EALREADY);
	harness_tls_enable(&k2, &en);
	en.tls_vminor = TLS_MINOR_VER_THREE + 1;
	assert_int_equal(enable_raw(c.so, &en, sizeof(en)), EALREADY);
	ktls_cbc_enable = false;
	harness_tls_enable(&k2, &en);
	assert_int_equal(enable_raw(c.so, &en, sizeof(en)), EALREADY);
	ktls_cbc_enable = true;
	write_all(&c, p + 50, 50);
	ctx_finish(&c, p, 100, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.r[1].seqno, 322);
	ctx_free_run(&c, &l, NULL, p);
}

/*
 * sysctl knobs: kern.ipc.tls.enable off -> ENOTSUP, and the call is not
 * counted in stats.enable_calls; kern.ipc.mb_use_ext_pgs off -> ENXIO;
 * cbc_enable off -> ENOTSUP for CBC only, checked in ktls_create_session()
 * after the version and flags (uipc_ktls.c in FreeBSD main), so those
 * still fail with EINVAL and unmapped mbufs being off with ENXIO, while a
 * bad MAC on a CBC suite gets ENOTSUP.  Each knob is restored (also by
 * conf_teardown() on failure).
 */
static void
test_ip_knobs(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct ctx c;
	uint64_t calls;

	ctx_open_suite(&c, cc, s, 1, 4, false);
	calls = counter_u64_fetch(ktls_offload_enable_calls);
	ktls_enable_sysctl = false;
	assert_int_equal(harness_enable(c.so, &c.k), ENOTSUP);
	ktls_enable_sysctl = true;
	assert_true(counter_u64_fetch(ktls_offload_enable_calls) == calls);
	mb_use_ext_pgs = false;
	assert_int_equal(harness_enable(c.so, &c.k), ENXIO);
	mb_use_ext_pgs = true;
	assert_true(counter_u64_fetch(ktls_offload_enable_calls) == calls + 1);
	ktls_cbc_enable = false;
	if (is_cbc(s)) {
		assert_int_equal(harness_enable(c.so, &c.k), ENOTSUP);
		assert_int_equal(enable_with(&c, F_VMAJOR, 2, F_END), EINVAL);
		assert_int_equal(enable_with(&c, F_VMINOR, 9, F_END), EINVAL);
		assert_int_equal(enable_with(&c, F_FLAGS, 1, F_END), EINVAL);
		mb_use_ext_pgs = false;
		assert_int_equal(harness_enable(c.so, &c.k), ENXIO);
		mb_use_ext_pgs = true;
		assert_int_equal(enable_with(&c, F_AUTH_ALG, 0, F_END),
		    ENOTSUP);
		ktls_cbc_enable = true;
		end_clean_then_enable(&c);
	} else {
		/* Not CBC: unaffected. */
		end_clean_then_enable(&c);
		ktls_cbc_enable = true;
	}
}

/*
 * A UDP socket: every IPPROTO_TCP option is EINVAL, set or get, because
 * udp_ctloutput() hands levels other than IPPROTO_UDP to ip_ctloutput()
 * (sys/netinet/udp_usrreq.c, ip_output.c), before the argument is read:
 * a NULL option pointer is EINVAL too, not EFAULT.
 */
static void
test_ip_udp(void **state)
{
	const struct conf_case *cc = *state;
	struct socket *so;
	struct ctx c;
	socklen_t len;
	int mode;

	ctx_open_suite(&c, cc, cc->s, 0, 0, false);
	assert_int_equal(ksim_socket(SOCK_DGRAM, &so), 0);
	assert_int_equal(harness_enable(so, &c.k), EINVAL);
	assert_int_equal(enable_raw(so, NULL, sizeof(struct tls_enable)),
	    EINVAL);
	assert_int_equal(set_mode(so, TCP_TLS_MODE_SW), EINVAL);
	assert_int_equal(get_mode(so, &mode), EINVAL);
	len = sizeof(mode);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, TCP_RXTLS_MODE, &mode,
			     &len),
	    EINVAL);
	ksim_close(so);
	ctx_free(&c);
}

/*
 * Other levels on a TCP socket go to ip_ctloutput(): IPPROTO_IP options
 * are unknown here (ENOPROTOOPT), any other level is EINVAL.
 */
static void
test_ip_levels(void **state)
{
	const struct conf_case *cc = *state;
	struct ctx c;
	socklen_t len;
	int mode;

	ctx_open_suite(&c, cc, cc->s, 1, 0, true);
	len = sizeof(mode);
	assert_int_equal(ksim_getsockopt(c.so, IPPROTO_IP, TCP_TXTLS_MODE,
			     &mode, &len),
	    ENOPROTOOPT);
	assert_int_equal(ksim_getsockopt(c.so, IPPROTO_UDP, TCP_TXTLS_MODE,
			     &mode, &len),
	    EINVAL);
	assert_int_equal(get_mode(c.so, &mode), 0);
	assert_int_equal(mode, TCP_TLS_MODE_SW);
	ctx_free(&c);
}

/*
 * TCP_TXTLS_MODE: NONE before enable, SW after; 0 (NONE) and 3 (TOE) are
 * not settable (EINVAL); IFNET fails on the wire's interface, which has no
 * TLS offload (EOPNOTSUPP, ktls_alloc_snd_tag()), and the session keeps
 * working in SW; SW when SW is a no-op (0).
 */
static void
test_ip_txtls_mode(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	short small = TCP_TLS_MODE_SW;
	int mode;

	for (int run = 0; run < conf_nruns(cc, 2); run++) {
		ctx_open_suite(&c, cc, cc->s, run, 1ULL << 63, false);
		p = payload(&c, 300);
		assert_int_equal(get_mode(c.so, &mode), 0);
		assert_int_equal(mode, TCP_TLS_MODE_NONE);
		assert_int_equal(harness_enable(c.so, &c.k), 0);
		assert_int_equal(get_mode(c.so, &mode), 0);
		assert_int_equal(mode, TCP_TLS_MODE_SW);
		write_all(&c, p, 100);
		assert_int_equal(set_mode(c.so, TCP_TLS_MODE_TOE), EINVAL);
		assert_int_equal(set_mode(c.so, TCP_TLS_MODE_NONE), EINVAL);
		assert_int_equal(set_mode(c.so, 7), EINVAL);
		assert_int_equal(ksim_setsockopt(c.so, IPPROTO_TCP,
				     TCP_TXTLS_MODE, &small, sizeof(small)),
		    EINVAL);
		assert_int_equal(set_mode(c.so, TCP_TLS_MODE_IFNET),
		    EOPNOTSUPP);
		assert_int_equal(get_mode(c.so, &mode), 0);
		assert_int_equal(mode, TCP_TLS_MODE_SW);
		write_all(&c, p + 100, 100);
		assert_int_equal(set_mode(c.so, TCP_TLS_MODE_SW), 0);
		assert_int_equal(get_mode(c.so, &mode), 0);
		assert_int_equal(mode, TCP_TLS_MODE_SW);
		write_all(&c, p + 200, 100);
		ctx_finish(&c, p, 300, &l);
		assert_int_equal(l.n, 3);
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * Data queued before enable stays plaintext and goes out first; records
 * written after enable start at rec_seq (ktls_enable_tx() sets
 * sb_tls_seqno and leaves the queued bytes alone).
 */
static void
test_ip_data_before_enable(void **state)
{
	const struct conf_case *cc = *state;
	struct wire view;
	struct rlog l;
	struct ctx c;
	uint8_t *p, *plain;
	size_t plen, nrec;

	for (int run = 0; run < conf_nruns(cc, 4); run++) {
		ctx_open_suite(&c, cc, cc->s, run, 0x7fffffffffffffffULL,
		    false);
		p = payload(&c, 300);
		c.w.limit = 0; /* keep it queued in the send buffer */
		write_all(&c, p, 100);
		assert_int_equal(harness_enable(c.so, &c.k), 0);
		write_all(&c, p + 100, 200);
		ctx_close(&c);
		assert_true(c.w.len > 100);
		assert_memory_equal(c.w.buf, p, 100);
		view = c.w;
		view.buf += 100;
		view.len -= 100;
		memset(&l, 0, sizeof(l));
		harness_decrypt(&c.k, &view, &plain, &plen, &nrec, rlog_cb, &l);
		assert_int_equal(nrec, 1);
		assert_int_equal(l.r[0].seqno, 0x7fffffffffffffffULL);
		assert_int_equal(l.r[0].plen, 200);
		assert_int_equal(plen, 200);
		assert_memory_equal(plain, p + 100, 200);
		ctx_free_run(&c, &l, plain, p);
	}
}

static const struct conf_test params_tests[] = {
	{ "IP-03", test_ip03_unknown, conf_all },
	{ "IP-04", test_ip04_not_connected, conf_all },
	{ "IP-09", test_ip09_lengths, conf_all },
	{ "IP-GMAC", test_ip_gmac_compat, is_gcm },
	{ "IP-OPT", test_ip_option_checks, conf_all },
	{ "IP-V0", test_ip_v0_layout, conf_all },
	{ "IP-EALREADY", test_ip_ealready, conf_all },
	{ "IP-KNOBS", test_ip_knobs, conf_all },
	{ "IP-UDP", test_ip_udp, conf_all },
	{ "IP-LEVELS", test_ip_levels, conf_all },
	{ "IP-MODE", test_ip_txtls_mode, conf_all },
	{ "IP-PRE-ENABLE", test_ip_data_before_enable, conf_all },
};

static const struct conf_test invalid_tests[] = {
	{ "IP-01", test_ip01_invalid_combo, conf_all },
};

int
main(void)
{
	int rc;

	rc = conf_main("params-invalid", invalid_tests,
	    sizeof(invalid_tests) / sizeof(invalid_tests[0]),
	    test_invalid_suites, test_ninvalid_suites);
	rc += conf_main("params", params_tests,
	    sizeof(params_tests) / sizeof(params_tests[0]), test_suites,
	    test_nsuites);
	return (rc);
}
