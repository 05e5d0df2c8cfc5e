/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * NIC ("ifnet") TLS on the transmit side, against a TLS-capable test
 * interface (tests/lib/testif.h) that encrypts nothing: it checks that
 * every unencrypted record leaves under a live send tag of its own session
 * on the interface it leaves by, and counts the tags it made and freed.
 * Covers FreeBSD's ktls_enable_tx() mode order, ktls_alloc_snd_tag(),
 * ip_output_send()'s tag check with ktls_output_eagain() and
 * ktls_reset_send_tag(), ktls_disable_ifnet() (sys/kern/uipc_ktls.c,
 * sys/netinet/ip_output.c) and the nonce reuse that FreeBSD's order in
 * ktls_set_tx_mode() allows (docs/differences.md).
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "netinet/tcp_var.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "testif.h"

#define STAT(f) counter_u64_fetch(ktls_##f)

struct ienv {
	struct harness h;
	struct testif ti;
	struct socket *so;
	struct harness_keys k;
};

static void
ienv_open(struct ienv *e, uint64_t seed)
{

	memset(e, 0, sizeof(*e));
	harness_init(&e->h, HARNESS_DET, seed, 1);
	sim_det_set_policy(e->h.pl, SIM_DET_FIFO);
	testif_init(&e->ti, 1 << 20);
	e->so = testif_connect(&e->ti, 1);
	harness_sndbuf(e->so, 1 << 20, 2048);
}

static int
ienv_enable(struct ienv *e, const char *suite)
{

	harness_keys(&e->h, test_suite_named(suite), 5, &e->k);
	return (harness_enable(e->so, &e->k));
}

static int
ienv_mode(struct ienv *e)
{

	return (e->so->so_snd.sb_tls_info->mode);
}

/* One write of len bytes (one record up to the maximum frame), settled. */
static void
ienv_write(struct ienv *e, size_t len)
{
	uint8_t *p;
	ssize_t wr;

	p = malloc(len);
	assert_non_null(p);
	test_rng_bytes(&e->h.rng, p, len);
	assert_int_equal(ksim_write(e->so, p, len, &wr), 0);
	assert_int_equal(wr, (ssize_t)len);
	free(p);
	testif_settle(&e->h);
}

static int
ienv_set_mode(struct ienv *e, int mode)
{

	return (ksim_setsockopt(e->so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode,
	    sizeof(mode)));
}

/* Close, let everything out, and check no tag outlived its last user. */
static void
ienv_close(struct ienv *e)
{

	struct testif_seg *seg;

	ksim_close(e->so);
	testif_settle(&e->h);
	if (!sototcpcb(e->so)->t_dropped)
		testif_deliver_all(&e->ti);
	/* What a dropped connection left in flight is lost. */
	while ((seg = testif_seg(&e->ti, 0)) != NULL)
		testif_drop(&e->ti, seg);
	harness_run(&e->h);
	if (e->ti.ti_nerr != 0)
		fail_msg("%d bad segment(s), first: %s", e->ti.ti_nerr,
		    e->ti.ti_err);
	testif_fini(&e->ti); /* asserts every tag was freed */
	harness_fini(&e->h);
}

/* Enable with ifnet TLS permitted on a capable port 0: IFNET, one tag. */
static void
ienv_open_ifnet(struct ienv *e, uint64_t seed, const char *suite)
{

	ienv_open(e, seed);
	testif_set_txtls(&e->ti, 0, true);
	ktls_ifnet_permitted = 1;
	assert_int_equal(ienv_enable(e, suite), 0);
	assert_int_equal(ienv_mode(e), TCP_TLS_MODE_IFNET);
	assert_int_equal(e->ti.ti_ntags, 1);
	assert_int_equal(sototcpcb(e->so)->t_nic_ktls_xmit, 1);
}

/*
 * ktls_enable_tx() tries ifnet before software: only with
 * kern.ipc.tls.ifnet.permitted, an interface with IFCAP_TXTLS4 and
 * IFCAP_MEXTPG on, and a driver that gives a tag; every failure falls
 * back to software.  An IFNET session's records go out in the clear,
 * each packet under the session's tag, counted in ifnet.gcm while the
 * session lives.
 */
static void
test_enable_order(void **state)
{
	uint64_t gcm0 = STAT(ifnet_gcm), sw0 = STAT(sw_gcm);
	struct testif_seg *seg;
	struct ienv e;

	(void)state;
	/* Not permitted (FreeBSD's default). */
	ienv_open(&e, 1);
	testif_set_txtls(&e.ti, 0, true);
	assert_int_equal(ienv_enable(&e, "aes128_gcm_1_2"), 0);
	assert_int_equal(ienv_mode(&e), TCP_TLS_MODE_SW);
	assert_true(STAT(sw_gcm) == sw0 + 1);
	ienv_close(&e);

	ktls_ifnet_permitted = 1;
	/* No offload on the interface. */
	ienv_open(&e, 2);
	assert_int_equal(ienv_enable(&e, "aes128_gcm_1_2"), 0);
	assert_int_equal(ienv_mode(&e), TCP_TLS_MODE_SW);
	ienv_close(&e);
	/* Offload, but TXTLS turned off (capenable). */
	ienv_open(&e, 3);
	testif_set_txtls(&e.ti, 0, true);
	testif_port(&e.ti, 0)->if_capenable &= ~IFCAP_TXTLS4;
	assert_int_equal(ienv_enable(&e, "aes128_gcm_1_2"), 0);
	assert_int_equal(ienv_mode(&e), TCP_TLS_MODE_SW);
	ienv_close(&e);
	/* The driver refuses. */
	ienv_open(&e, 4);
	testif_set_txtls(&e.ti, 0, true);
	e.ti.ti_tag_error = ENOMEM;
	assert_int_equal(ienv_enable(&e, "aes128_gcm_1_2"), 0);
	assert_int_equal(ienv_mode(&e), TCP_TLS_MODE_SW);
	assert_int_equal(e.ti.ti_ntags, 0);
	ienv_close(&e);
	assert_true(STAT(sw_gcm) == sw0);

	/* All there: IFNET. */
	ienv_open_ifnet(&e, 5, "aes128_gcm_1_2");
	assert_true(STAT(ifnet_gcm) == gcm0 + 1);
	/* Already IFNET: FreeBSD refuses a second ifnet switch. */
	assert_int_equal(ienv_set_mode(&e, TCP_TLS_MODE_IFNET), EALREADY);
	ienv_write(&e, 3000);
	assert_true(e.ti.ti_nq > 0);
	TAILQ_FOREACH(seg, &e.ti.ti_q, link) {
		assert_true(seg->nic_tls);
		assert_ptr_equal(seg->ifp, testif_port(&e.ti, 0));
	}
	testif_deliver_all(&e.ti);
	/* In the clear: 5-byte header, 8-byte explicit nonce, then data. */
	assert_true(e.ti.ti_rcv_nxt == 5 + 8 + 3000 + 16);
	assert_int_equal(e.ti.ti_rcv[0], TLS_RLTYPE_APP);
	ienv_close(&e);
	assert_true(STAT(ifnet_gcm) == gcm0);
	assert_int_equal(e.ti.ti_ntags_freed, 1);
}

/*
 * The route moves to an interface without TLS offload: the next NIC
 * packet is dropped before it reaches that interface (nothing goes out
 * there), the reset task finds no tag to be had there and drops the
 * connection with ECONNABORTED, counted in ifnet.reset_failed and
 * ifnet.reset_dropped.
 */
static void
test_route_to_plain_drops(void **state)
{
	uint64_t failed0 = STAT(ifnet_reset_failed);
	uint64_t dropped0 = STAT(ifnet_reset_dropped);
	uint64_t reset0 = STAT(ifnet_reset);
	struct ienv e;
	int nsent;

	(void)state;
	ienv_open_ifnet(&e, 11, "aes256_gcm_1_3");
	ienv_write(&e, 2000);
	testif_deliver_all(&e.ti);
	testif_route(&e.ti, 1);
	nsent = e.ti.ti_nsent;
	ienv_write(&e, 2000);
	assert_int_equal(e.ti.ti_nsent, nsent);
	assert_true(testif_port(&e.ti, 1)->if_opackets == 0);
	assert_true(sototcpcb(e.so)->t_dropped);
	assert_int_equal(e.so->so_error, ECONNABORTED);
	assert_true(STAT(ifnet_reset_failed) == failed0 + 1);
	assert_true(STAT(ifnet_reset_dropped) == dropped0 + 1);
	assert_true(STAT(ifnet_reset) == reset0);
	ienv_close(&e);
}

/*
 * The route moves to another TLS-capable interface while packets under
 * the old tag are still in flight: the reset task releases the old tag
 * and allocates one on the new interface; the old tag lives until the
 * last packet that carries it is freed; new packets leave by the new
 * interface under the new tag (ifnet.reset counts it).
 */
static void
test_route_to_other_nic_resets(void **state)
{
	uint64_t reset0 = STAT(ifnet_reset);
	struct testif_seg *seg;
	struct ktls_session *tls;
	struct ienv e;
	int n0;

	(void)state;
	ienv_open_ifnet(&e, 12, "aes128_gcm_1_2");
	testif_set_txtls(&e.ti, 2, true);
	tls = e.so->so_snd.sb_tls_info;
	ienv_write(&e, 2000);
	n0 = e.ti.ti_nq;
	assert_true(n0 > 0);
	testif_route(&e.ti, 2);
	ienv_write(&e, 2000);
	assert_true(STAT(ifnet_reset) == reset0 + 1);
	assert_false(tls->reset_pending);
	assert_int_equal(e.ti.ti_ntags, 2);
	assert_ptr_equal(tls->snd_tag->ifp, testif_port(&e.ti, 2));
	/* The first packets still hold the first tag. */
	assert_int_equal(e.ti.ti_ntags_freed, 0);
	assert_true(e.ti.ti_nq > n0);
	for (int i = 0; i < e.ti.ti_nq; i++) {
		seg = testif_seg(&e.ti, i);
		assert_true(seg->nic_tls);
		assert_ptr_equal(seg->ifp, testif_port(&e.ti, i < n0 ? 0 : 2));
	}
	testif_deliver_all(&e.ti);
	assert_int_equal(e.ti.ti_ntags_freed, 1);
	ienv_close(&e);
	assert_int_equal(e.ti.ti_ntags_freed, 2);
}

/*
 * Retransmissions above kern.ipc.tls.ifnet_max_rexmit_pct send the
 * connection back to software once (ktls_disable_ifnet()): the session
 * becomes SW, t_nic_ktls_xmit_dis stays set and IFNET cannot be asked
 * for again (ENXIO); the record already framed for the NIC still leaves
 * under its tag, new records are encrypted in software.
 */
static void
test_rexmit_goes_software(void **state)
{
	uint64_t ok0 = STAT(ifnet_disable_ok);
	struct testif_seg *seg;
	struct tcpcb *tp;
	struct ienv e;
	int n;

	(void)state;
	ienv_open_ifnet(&e, 13, "aes128_gcm_1_2");
	tp = sototcpcb(e.so);
	for (int i = 0; i < 3; i++)
		ienv_write(&e, 1000);
	n = e.ti.ti_nq;
	assert_int_equal(n, 3);
	testif_drop(&e.ti, testif_seg(&e.ti, n - 1));
	for (int i = 0; i < n - 1; i++)
		testif_deliver(&e.ti, testif_seg(&e.ti, 0));
	assert_int_equal(tp->t_nic_ktls_xmit_dis, 0);
	testif_fire(&e.ti, &e.h);
	seg = testif_seg(&e.ti, 0);
	assert_non_null(seg);
	assert_true(seg->rexmit && seg->nic_tls);
	assert_int_equal(tp->t_nic_ktls_xmit_dis, 1);
	assert_int_equal(tp->t_nic_ktls_xmit, 0);
	assert_int_equal(ienv_mode(&e), TCP_TLS_MODE_SW);
	assert_true(STAT(ifnet_disable_ok) == ok0 + 1);
	assert_int_equal(ienv_set_mode(&e, TCP_TLS_MODE_IFNET), ENXIO);
	testif_deliver_all(&e.ti);
	ienv_write(&e, 1000);
	seg = testif_seg(&e.ti, 0);
	assert_non_null(seg);
	assert_false(seg->nic_tls);
	testif_deliver_all(&e.ti);
	ienv_close(&e);
}

/*
 * The interleaving FreeBSD's ktls_set_tx_mode() permits: a writer frames
 * a record with the old session after the clone copied the TLS 1.2 GCM
 * explicit-nonce counter and before SOCK_IO_SEND_LOCK; the new session
 * then numbers its first record with the same nonce, under the same key
 * and salt.  The hook writes at that point; the check reads the nonces
 * from the record headers that reached the peer and compares the
 * sessions' keys, not src/'s crypto.
 */
static struct ienv *hook_env;

static void
hook_write(struct socket *so)
{
	uint8_t p[500];
	ssize_t wr;

	assert_ptr_equal(so, hook_env->so);
	memset(p, 'B', sizeof(p));
	assert_int_equal(ksim_write(so, p, sizeof(p), &wr), 0);
	assert_int_equal(wr, (ssize_t)sizeof(p));
}

/* Records with a (key, salt, explicit nonce) seen before. */
static int
switch_nonce_reuses(bool safe)
{
	uint8_t key_old[32], salt_old[4];
	struct ktls_session *tls;
	uint64_t nonces[8];
	struct ienv e;
	size_t off, len;
	int nrec, reuse;

	ienv_open(&e, 21);
	testif_set_txtls(&e.ti, 0, true);
	assert_int_equal(ienv_enable(&e, "aes128_gcm_1_2"), 0);
	assert_int_equal(ienv_mode(&e), TCP_TLS_MODE_SW);
	tls = e.so->so_snd.sb_tls_info;
	memcpy(key_old, tls->params.cipher_key, tls->params.cipher_key_len);
	memcpy(salt_old, tls->params.iv, sizeof(salt_old));
	ienv_write(&e, 500);

	hook_env = &e;
	ktls_sim_switch_hook = hook_write;
	ktls_sim_safe_mode_switch = safe;
	assert_int_equal(ienv_set_mode(&e, TCP_TLS_MODE_IFNET), 0);
	ktls_sim_switch_hook = NULL;
	tls = e.so->so_snd.sb_tls_info;
	assert_int_equal(tls->mode, TCP_TLS_MODE_IFNET);
	/* The clone has the same key and salt: only the nonce tells apart. */
	assert_memory_equal(tls->params.cipher_key, key_old,
	    tls->params.cipher_key_len);
	assert_memory_equal(tls->params.iv, salt_old, sizeof(salt_old));
	ienv_write(&e, 500);
	testif_settle(&e.h);
	testif_deliver_all(&e.ti);
	testif_settle(&e.h);
	testif_deliver_all(&e.ti);

	nrec = 0;
	for (off = 0; off + 13 <= e.ti.ti_rcv_nxt; off += 5 + len) {
		len = (size_t)e.ti.ti_rcv[off + 3] << 8 | e.ti.ti_rcv[off + 4];
		assert_true(nrec < (int)nitems(nonces));
		nonces[nrec++] = be64dec(e.ti.ti_rcv + off + 5);
	}
	assert_int_equal(off, e.ti.ti_rcv_nxt);
	assert_int_equal(nrec, 3);
	reuse = 0;
	for (int i = 0; i < nrec; i++)
		for (int j = 0; j < i; j++)
			if (nonces[i] == nonces[j])
				reuse++;
	ienv_close(&e);
	ktls_sim_safe_mode_switch = false;
	return (reuse);
}

static void
test_mode_switch_nonce_reuse(void **state)
{

	(void)state;
	/* FreeBSD's order: the writer's record and the clone's first. */
	assert_int_equal(switch_nonce_reuses(false), 1);
	/* Lock first: the clone copies the counter after the writer. */
	assert_int_equal(switch_nonce_reuses(true), 0);
}

/*
 * TLS 1.0 after a switch to software with a writer in the window: the
 * clone numbers its records from the socket buffer's sequence number as
 * it was at the clone.  In FreeBSD's order the writer's record took that
 * number, so the clone's first record is out of the order the CBC chain
 * needs, and the INVARIANTS check of ktls_ocf_tls_cbc_encrypt() drops the
 * connection (stats.failed_crypto); in the safe order every byte arrives.
 */
static bool
tls10_switch_survives(bool safe)
{
	uint64_t fc0 = STAT(offload_failed_crypto);
	struct ienv e;
	bool ok;

	ienv_open_ifnet(&e, 41, "aes128_cbc_1_0_sha1");
	ienv_write(&e, 300);
	hook_env = &e;
	ktls_sim_switch_hook = hook_write;
	ktls_sim_safe_mode_switch = safe;
	assert_int_equal(ienv_set_mode(&e, TCP_TLS_MODE_SW), 0);
	ktls_sim_switch_hook = NULL;
	ienv_write(&e, 700);
	for (int i = 0; i < 4 && !sototcpcb(e.so)->t_dropped; i++) {
		testif_deliver_all(&e.ti);
		testif_settle(&e.h);
	}
	ok = !sototcpcb(e.so)->t_dropped;
	if (ok) {
		/* 300 and 500 in the clear, 700 encrypted, none left. */
		assert_int_equal(sbused(&e.so->so_snd), 0);
		assert_true(e.ti.ti_rcv_nxt > 300 + 500 + 700 + 3 * 5);
		assert_true(STAT(offload_failed_crypto) == fc0);
	} else
		assert_true(STAT(offload_failed_crypto) == fc0 + 1);
	ienv_close(&e);
	ktls_sim_safe_mode_switch = false;
	return (ok);
}

static void
test_tls10_switch_order(void **state)
{

	(void)state;
#ifdef INVARIANTS
	assert_false(tls10_switch_survives(false));
#else
	/*
	 * A release kernel has no such check: the clone's first record goes
	 * out encrypted with the wrong chain (ktls_ocf_tls_cbc_encrypt()),
	 * and only the peer notices.
	 */
	assert_true(tls10_switch_survives(false));
#endif
	assert_true(tls10_switch_survives(true));
}

/*
 * Another switch wins the race for SOCK_IO_SEND_LOCK: the one that cloned
 * the session now gone keeps the winner's session and answers EBUSY,
 * counted in stats.switch_failed (ktls_set_tx_mode()).
 */
static void
hook_switch(struct socket *so)
{
	int mode = TCP_TLS_MODE_SW;

	ktls_sim_switch_hook = NULL;
	assert_int_equal(ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode,
			     sizeof(mode)),
	    0);
}

static void
test_mode_switch_race_ebusy(void **state)
{
	uint64_t failed0 = STAT(switch_failed), to_sw0 = STAT(switch_to_sw);
	struct ktls_session *winner;
	struct ienv e;

	(void)state;
	ienv_open_ifnet(&e, 31, "chacha20_poly1305_1_3");
	ktls_sim_switch_hook = hook_switch;
	assert_int_equal(ienv_set_mode(&e, TCP_TLS_MODE_SW), EBUSY);
	assert_null(ktls_sim_switch_hook);
	winner = e.so->so_snd.sb_tls_info;
	assert_int_equal(winner->mode, TCP_TLS_MODE_SW);
	assert_int_equal(winner->refcount, 1);
	assert_true(STAT(switch_failed) == failed0 + 1);
	assert_true(STAT(switch_to_sw) == to_sw0 + 1);
	ienv_write(&e, 700);
	testif_deliver_all(&e.ti);
	ienv_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_enable_order),
		harness_unit_test(test_route_to_plain_drops),
		harness_unit_test(test_route_to_other_nic_resets),
		harness_unit_test(test_rexmit_goes_software),
		harness_unit_test(test_mode_switch_nonce_reuse),
		harness_unit_test(test_mode_switch_race_ebusy),
		harness_unit_test(test_tls10_switch_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
