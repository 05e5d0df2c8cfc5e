/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test fixture for the simulated kernel; see ksim_harness.h.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "models/disk/disk.h"
#include "netinet/tcp_var.h"
#include "opencrypto/ktls.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "testif.h"

/*
 * The live harness, copied out of the caller's struct harness: after a
 * failed assertion cmocka has unwound the case's stack, and the teardown
 * must still find the platform.  At most one is live, since ktls_init()'s
 * queues and the platform pointer are global.
 */
static struct {
	bool live;
	enum harness_runner runner;
	struct platform *pl;
} harness_cur;

/*
 * The output hooks of every socket harness_connect() made since the last
 * harness_fini().  They stand between the socket and the caller's hooks
 * (whose argument may be on a stack that is gone) so that a teardown can
 * turn them into a sink.
 */
struct harness_wire {
	struct tcp_wire tw; /* the caller's */
	int dead;	    /* discard instead */
	struct harness_wire *next;
};
static struct harness_wire *harness_wires;

/* The kernel's global knobs and the disk profile as the program started. */
static struct {
	bool enable, cbc, ext_pgs, async, compat12, safe_switch, stitched;
	u_int maxlen, ifnet_permitted, rexmit_pct;
	int sendspace, autosndbuf, autosndbuf_inc, autosndbuf_max;
	int sendbuf_auto_lowat;
	void (*switch_hook)(struct socket *);
	struct disk_profile disk;
	struct ktls_trace_hooks *trace_hooks;
	const struct ktls_crypto_backend *backend;
} harness_knobs0;

static void harness_save_knobs(void) __attribute__((constructor));

/*
 * KTLSIM_BACKEND names the crypto backend every session of the program
 * tries first (ktls_backend_select()); meson runs the conformance groups
 * once per backend of the build that way.  A name the build lacks ends
 * the program before any case runs.
 */
static void
harness_pick_backend(void)
{
	const char *name;
	char names[64];

	name = getenv("KTLSIM_BACKEND");
	if (name == NULL || *name == '\0')
		return;
	if (ktls_backend_select(name) != 0) {
		ktls_backend_names(names, sizeof(names));
		fprintf(stderr,
		    "harness: KTLSIM_BACKEND=%s: no such backend in this "
		    "build; it has %s (and auto)\n",
		    name, names);
		exit(2);
	}
	fprintf(stderr, "harness: crypto backend %s\n", ktls_backend->kb_name);
}

static void
harness_save_knobs(void)
{

	harness_pick_backend();

	harness_knobs0.enable = ktls_enable_sysctl;
	harness_knobs0.cbc = ktls_cbc_enable;
	harness_knobs0.ext_pgs = mb_use_ext_pgs;
	harness_knobs0.async = ktls_sim_async;
	harness_knobs0.stitched = ktls_sim_cbc_stitched;
	harness_knobs0.compat12 = ktls_sim_compat_freebsd12;
	harness_knobs0.maxlen = ktls_maxlen;
	harness_knobs0.disk = disk_profile;
	harness_knobs0.trace_hooks = ktls_trace_hooks;
	harness_knobs0.backend = ktls_backend;
	harness_knobs0.ifnet_permitted = ktls_ifnet_permitted;
	harness_knobs0.rexmit_pct = ktls_ifnet_max_rexmit_pct;
	harness_knobs0.safe_switch = ktls_sim_safe_mode_switch;
	harness_knobs0.switch_hook = ktls_sim_switch_hook;
	harness_knobs0.sendspace = tcp_sendspace;
	harness_knobs0.autosndbuf = tcp_do_autosndbuf;
	harness_knobs0.autosndbuf_inc = tcp_autosndbuf_inc;
	harness_knobs0.autosndbuf_max = tcp_autosndbuf_max;
	harness_knobs0.sendbuf_auto_lowat = tcp_sendbuf_auto_lowat;
}

static void
harness_restore_knobs(void)
{

	ktls_enable_sysctl = harness_knobs0.enable;
	ktls_cbc_enable = harness_knobs0.cbc;
	mb_use_ext_pgs = harness_knobs0.ext_pgs;
	ktls_sim_async = harness_knobs0.async;
	ktls_sim_cbc_stitched = harness_knobs0.stitched;
	ktls_sim_compat_freebsd12 = harness_knobs0.compat12;
	ktls_maxlen = harness_knobs0.maxlen;
	disk_profile = harness_knobs0.disk;
	ktls_trace_hooks = harness_knobs0.trace_hooks;
	ktls_backend = harness_knobs0.backend;
	ktls_ifnet_permitted = harness_knobs0.ifnet_permitted;
	ktls_ifnet_max_rexmit_pct = harness_knobs0.rexmit_pct;
	ktls_sim_safe_mode_switch = harness_knobs0.safe_switch;
	ktls_sim_switch_hook = harness_knobs0.switch_hook;
	tcp_sendspace = harness_knobs0.sendspace;
	tcp_do_autosndbuf = harness_knobs0.autosndbuf;
	tcp_autosndbuf_inc = harness_knobs0.autosndbuf_inc;
	tcp_autosndbuf_max = harness_knobs0.autosndbuf_max;
	tcp_sendbuf_auto_lowat = harness_knobs0.sendbuf_auto_lowat;
}

/*
 * Tear down the harness a failed case left: every socket's output goes
 * to a sink, whatever is queued runs to completion, then the queues and
 * the platform go as in harness_fini().  The case's open sockets leak.
 */
static void
harness_abandon(void)
{
	struct harness_wire *hw;
	struct harness h;

	if (!harness_cur.live)
		return;
	fprintf(stderr,
	    "harness: a case ended with its harness live; tearing it down\n");
	/* Trace hooks the case installed may live in its dead frame. */
	ktls_trace_hooks = harness_knobs0.trace_hooks;
	for (hw = harness_wires; hw != NULL; hw = hw->next)
		__atomic_store_n(&hw->dead, 1, __ATOMIC_RELEASE);
	testif_abandon_all();
	memset(&h, 0, sizeof(h));
	h.runner = harness_cur.runner;
	h.pl = harness_cur.pl;
	harness_fini(&h);
}

int
harness_setup(void **state)
{

	(void)state;
	harness_abandon();
	harness_restore_knobs();
	return (0);
}

int
harness_teardown(void **state)
{

	(void)state;
	harness_abandon();
	harness_restore_knobs();
	return (0);
}

void
harness_init(struct harness *h, enum harness_runner runner, uint64_t seed,
    int ncpus)
{

	/* A case without harness_teardown() that failed. */
	harness_abandon();
	memset(h, 0, sizeof(*h));
	h->runner = runner;
	h->seed = seed;
	test_rng_seed(&h->rng, seed);
	h->pl = runner == HARNESS_DET ? sim_det_create(seed, ncpus) :
					sim_rt_create(ncpus);
	platform_set(h->pl);
	harness_cur.runner = runner;
	harness_cur.pl = h->pl;
	harness_cur.live = true;
	assert_int_equal(ktls_init(), 0);
}

void
harness_run(struct harness *h)
{

	if (h->runner == HARNESS_DET)
		sim_det_run(h->pl);
	else
		sim_rt_quiesce(h->pl);
}

void
harness_fini(struct harness *h)
{
	struct harness_wire *hw;

	harness_run(h);
	ktls_uninit();
	if (h->runner == HARNESS_DET)
		sim_det_destroy(h->pl);
	else
		sim_rt_destroy(h->pl);
	platform_set(NULL);
	harness_cur.live = false;
	while ((hw = harness_wires) != NULL) {
		harness_wires = hw->next;
		free(hw);
	}
	testif_free_all();
	assert_int_equal(sysctl_handle_sb_max(SB_MAX), 0);
}

void
wire_init(struct wire *w)
{

	memset(w, 0, sizeof(*w));
	w->limit = SIZE_MAX;
}

void
wire_fini(struct wire *w)
{

	free(w->buf);
	memset(w, 0, sizeof(*w));
}

size_t
wire_append(struct wire *w, const struct iovec *iov, int iovcnt)
{
	size_t total, room;

	total = 0;
	for (int i = 0; i < iovcnt; i++) {
		room = w->limit - w->len;
		if (room == 0)
			break;
		size_t n = iov[i].iov_len < room ? iov[i].iov_len : room;
		if (w->len + n > w->cap) {
			size_t ncap = w->cap ? w->cap : 65536;

			while (ncap < w->len + n)
				ncap *= 2;
			w->buf = realloc(w->buf, ncap);
			if (w->buf == NULL)
				abort();
			w->cap = ncap;
		}
		memcpy(w->buf + w->len, iov[i].iov_base, n);
		w->len += n;
		total += n;
	}
	w->nwrites++;
	return (total);
}

static ssize_t
wire_output(void *arg, const struct iovec *iov, int iovcnt)
{

	return ((ssize_t)wire_append(arg, iov, iovcnt));
}

static void
wire_fin(void *arg)
{
	struct wire *w = arg;

	w->fin = true;
}

static ssize_t
harness_wire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct harness_wire *hw = arg;
	ssize_t n;

	if (__atomic_load_n(&hw->dead, __ATOMIC_ACQUIRE)) {
		for (n = 0; iovcnt > 0; iov++, iovcnt--)
			n += (ssize_t)iov->iov_len;
		return (n);
	}
	return (hw->tw.tw_output(hw->tw.tw_arg, iov, iovcnt));
}

static void
harness_wire_fin(void *arg)
{
	struct harness_wire *hw = arg;

	if (!__atomic_load_n(&hw->dead, __ATOMIC_ACQUIRE))
		hw->tw.tw_fin(hw->tw.tw_arg);
}

struct socket *
harness_connect(const struct tcp_wire *tw, uint32_t flowid)
{
	struct harness_wire *hw;
	struct tcp_wire htw;
	struct socket *so;

	hw = calloc(1, sizeof(*hw));
	assert_non_null(hw);
	hw->tw = *tw;
	hw->next = harness_wires;
	harness_wires = hw;
	htw.tw_output = tw->tw_output != NULL ? harness_wire_output : NULL;
	htw.tw_fin = tw->tw_fin != NULL ? harness_wire_fin : NULL;
	htw.tw_arg = hw;
	assert_int_equal(ksim_socket(SOCK_STREAM, &so), 0);
	assert_int_equal(ksim_connect(so, &htw, flowid), 0);
	return (so);
}

struct socket *
harness_socket(struct harness *h, struct wire *w, uint32_t flowid)
{
	struct tcp_wire tw = { wire_output, wire_fin, w };

	(void)h;
	return (harness_connect(&tw, flowid));
}

void
harness_sndbuf(struct socket *so, u_int hiwat, u_int lowat)
{

	if (hiwat > sb_max_adj)
		assert_int_equal(sysctl_handle_sb_max((u_long)hiwat * 8), 0);
	assert_int_equal(ksim_set_sndbuf(so, hiwat, lowat), 0);
}

void
harness_keys(struct harness *h, const struct test_suite *s, uint64_t seqno,
    struct harness_keys *k)
{

	memset(k, 0, sizeof(*k));
	k->suite = s;
	k->seqno = seqno;
	test_random_printable(&h->rng, k->cipher_key, sizeof(k->cipher_key));
	test_random_printable(&h->rng, k->iv, sizeof(k->iv));
	test_random_printable(&h->rng, k->auth_key, sizeof(k->auth_key));
}

void
harness_tls_enable(const struct harness_keys *k, struct tls_enable *en)
{

	memset(en, 0, sizeof(*en));
	en->cipher_key = k->cipher_key;
	en->cipher_key_len = k->suite->cipher_key_len;
	en->iv = k->suite->iv_len ? k->iv : NULL;
	en->iv_len = k->suite->iv_len;
	en->auth_key = k->suite->auth_key_len ? k->auth_key : NULL;
	en->auth_key_len = k->suite->auth_key_len;
	en->auth_algorithm = k->suite->auth_algorithm;
	en->cipher_algorithm = k->suite->cipher_algorithm;
	en->tls_vmajor = TLS_MAJOR_VER_ONE;
	en->tls_vminor = (uint8_t)k->suite->tls_vminor;
	for (int i = 0; i < 8; i++)
		en->rec_seq[i] = (uint8_t)(k->seqno >> (56 - 8 * i));
}

int
harness_enable(struct socket *so, const struct harness_keys *k)
{
	struct tls_enable en;

	harness_tls_enable(k, &en);
	return (ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE, &en,
	    sizeof(en)));
}

int
harness_sendmsg(struct socket *so, const void *buf, size_t len, int flags,
    const void *control, size_t controllen, ssize_t *written)
{
	struct iovec iov;
	struct msghdr msg;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = (void *)(uintptr_t)control;
	msg.msg_controllen = (socklen_t)controllen;
	return (ksim_sendmsg(so, &msg, flags, written));
}

int
harness_sendmsg_cmsg(struct socket *so, int level, int type,
    const uint8_t *data, size_t dlen, size_t controllen, const void *buf,
    size_t len, ssize_t *written)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(16)];
	} cm;

	memset(&cm, 0, sizeof(cm));
	cm.hdr.cmsg_level = level;
	cm.hdr.cmsg_type = type;
	cm.hdr.cmsg_len = CMSG_LEN(dlen);
	if (dlen > 0)
		memcpy(CMSG_DATA(&cm.hdr), data, dlen);
	return (harness_sendmsg(so, buf, len, 0, &cm,
	    controllen ? controllen : CMSG_SPACE(dlen), written));
}

int
harness_send_type(struct socket *so, uint8_t type, const void *buf, size_t len,
    ssize_t *written)
{

	return (harness_sendmsg_cmsg(so, IPPROTO_TCP, TLS_SET_RECORD_TYPE,
	    &type, 1, 0, buf, len, written));
}

void
harness_decrypt(const struct harness_keys *k, const struct wire *w,
    uint8_t **plain, size_t *plen, size_t *nrecords, harness_rec_cb *cb,
    void *arg)
{
	struct oracle *o;
	int error;

	o = oracle_new(k->suite, k->cipher_key, k->iv, k->auth_key, k->seqno);
	assert_non_null(o);
	error =
	    oracle_stream(o, w->buf, w->len, plain, plen, nrecords, cb, arg);
	if (error != 0)
		fail_msg("%s: oracle: %s", k->suite->name, oracle_error(o));
	oracle_free(o);
}

int
harness_encrypt_in_place(struct ktls_session *tls, struct mbuf *m)
{
	struct iovec iov[MBUF_PEXT_MAX_PGS];
	int off;

	off = m->m_epg_1st_off;
	for (int i = 0; i < m->m_epg_npgs; i++, off = 0) {
		iov[i].iov_base = vm_page_data(m->m_epg_pa[i]) + off;
		iov[i].iov_len = m_epg_pagelen(m, i, off);
	}
	return (tls->be->kb_encrypt(tls, m, iov, m->m_epg_npgs));
}

void
harness_record_free(struct ktls_session *tls, struct mbuf *m)
{

	m->m_epg_tls = NULL;
	ktls_free(tls);
	m->m_flags &= ~M_NOTREADY;
	m->m_epg_nrdy = 0;
	m_freem(m);
}

int
harness_tmpfile(struct test_rng *rng, size_t len, uint8_t **contents)
{
	char path[] = "/tmp/ktlsim-XXXXXX";
	uint8_t *buf;
	size_t off;
	ssize_t n;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	buf = malloc(len ? len : 1);
	assert_non_null(buf);
	test_rng_bytes(rng, buf, len);
	for (off = 0; off < len; off += n) {
		n = write(fd, buf + off, len - off);
		assert_true(n > 0);
	}
	if (contents != NULL)
		*contents = buf;
	else
		free(buf);
	return (fd);
}

void
harness_expect_stream(const struct harness_keys *k, const struct wire *w,
    const void *want, size_t len, size_t nrecords)
{
	uint8_t *plain;
	size_t plen, nrec;

	harness_decrypt(k, w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(nrec, nrecords);
	assert_int_equal(plen, len);
	assert_memory_equal(plain, want, len);
	free(plain);
}
