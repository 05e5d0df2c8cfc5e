/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for the TCP sender (src/netinet/tcp_output.c, tcp_input.c,
 * tcp_timer.c) through the hand-driven interface of tests/lib/testif.h:
 * the test loses chosen segments and delivers ACKs itself, on the
 * deterministic runner in FIFO order so that virtual time moves only when
 * a timer is due.  Every segment is checked as it leaves (at most one
 * MSS, one kind of data, storage shared with the send buffer, the FIN
 * last); the stream the receiver reassembles is decrypted with the
 * independent oracle.  Also the byte wire's partial takes
 * (src/net/if_wire.c).
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
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "net/if_var.h"
#include "net/route/nhop.h"
#include "netinet/tcp_var.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "testif.h"

#define MSS 1448

/* A record as KTR_FRAMED announced it, and whether it was freed. */
struct trec {
	uint64_t seqno;
	uint64_t end; /* stream offset after its last byte */
	bool freed;
};

struct tenv {
	struct harness h;
	struct testif ti;
	struct socket *so;
	struct harness_keys k;
	uint8_t *data;
	size_t len;
	struct ktls_trace_hooks hooks;
	uint64_t frame_end; /* where the next framed record starts */
	struct trec recs[64];
	int nrecs, nfreed, nfreed_early;
	struct tcpstat st0;
};

/*
 * Records leave the send buffer only once the receiver acknowledged their
 * last byte: checked at each KTR_FREED against the ACK being processed.
 */
static void
tenv_th_record(void *arg, enum ktls_trace_event ev, struct socket *so,
    const struct mbuf *m)
{
	struct tenv *t = arg;

	(void)so;
	if (ev == KTR_FRAMED) {
		assert_true(t->nrecs < (int)nitems(t->recs));
		t->frame_end += m->m_len;
		t->recs[t->nrecs].seqno = m->m_epg_seqno;
		t->recs[t->nrecs].end = t->frame_end;
		t->nrecs++;
	} else if (ev == KTR_FREED) {
		for (int i = 0; i < t->nrecs; i++) {
			if (t->recs[i].seqno != m->m_epg_seqno)
				continue;
			if (t->recs[i].freed || t->recs[i].end > t->ti.ti_acked)
				t->nfreed_early++;
			t->recs[i].freed = true;
			t->nfreed++;
		}
	}
}

static uint8_t *
tenv_bytes(struct tenv *t, size_t len)
{
	uint8_t *p;

	p = malloc(len);
	assert_non_null(p);
	test_rng_bytes(&t->h.rng, p, len);
	return (p);
}

/*
 * A connection through a test interface whose peer offers rwnd; with a
 * suite, KTLS (software) is on.  plain_before bytes of plain data are
 * written first and start the record offsets.
 */
static void
tenv_open(struct tenv *t, uint64_t seed, uint32_t rwnd, const char *suite)
{

	memset(t, 0, sizeof(*t));
	harness_init(&t->h, HARNESS_DET, seed, 1);
	sim_det_set_policy(t->h.pl, SIM_DET_FIFO);
	testif_init(&t->ti, rwnd);
	t->so = testif_connect(&t->ti, 1);
	harness_sndbuf(t->so, 1 << 20, 2048);
	t->hooks.th_record = tenv_th_record;
	t->hooks.th_arg = t;
	ktls_trace_hooks = &t->hooks;
	t->st0 = tcpstat;
	if (suite != NULL) {
		harness_keys(&t->h, test_suite_named(suite), 5, &t->k);
		assert_int_equal(harness_enable(t->so, &t->k), 0);
	}
}

/*
 * KTLS on a TLS-capable test interface with kern.ipc.tls.ifnet.permitted:
 * the session takes a send tag and IFNET mode at enable.
 */
static void
tenv_enable_ifnet(struct tenv *t, const char *suite)
{
	u_int permitted0 = ktls_ifnet_permitted;

	testif_set_txtls(&t->ti, 0, true);
	ktls_ifnet_permitted = 1;
	harness_keys(&t->h, test_suite_named(suite), 5, &t->k);
	assert_int_equal(harness_enable(t->so, &t->k), 0);
	ktls_ifnet_permitted = permitted0;
	assert_int_equal(t->so->so_snd.sb_tls_info->mode, TCP_TLS_MODE_IFNET);
	assert_int_equal(t->ti.ti_ntags, 1);
	assert_int_equal(sototcpcb(t->so)->t_nic_ktls_xmit, 1);
}

static void
tenv_write(struct tenv *t, size_t len)
{
	ssize_t wr;

	t->data = tenv_bytes(t, len);
	t->len = len;
	assert_int_equal(ksim_write(t->so, t->data, len, &wr), 0);
	assert_int_equal(wr, (ssize_t)len);
}

/* The segments were all sound, and what arrived decrypts to the data. */
static void
tenv_check_stream(struct tenv *t, size_t skip)
{
	uint8_t *plain;
	size_t plen, nrec;
	struct wire w;

	if (t->ti.ti_nerr != 0)
		fail_msg("%d bad segment(s), first: %s", t->ti.ti_nerr,
		    t->ti.ti_err);
	testif_wire(&t->ti, &w);
	w.buf += skip;
	w.len -= skip;
	harness_decrypt(&t->k, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(plen, t->len);
	assert_memory_equal(plain, t->data, t->len);
	free(plain);
}

/*
 * Close, let the FIN through, and check the books: every byte sent once
 * plus what was retransmitted; the interface, tcp_account_for_send() and
 * tcpstat agree; every record freed, none early.
 */
static void
tenv_close(struct tenv *t)
{
	struct ksim_tcpinfo ti;
	uint64_t rxt;

	ksim_tcpinfo(t->so, &ti);
	ksim_close(t->so);
	testif_settle(&t->h);
	testif_deliver_all(&t->ti);
	testif_settle(&t->h);
	assert_true(t->ti.ti_fin_rcvd);
	assert_int_equal(t->ti.ti_nerr, 0);
	if ((testif_port(&t->ti, 0)->if_capenable & IFCAP_TSO4) == 0)
		assert_true(t->ti.ti_maxlen <= MSS);
	assert_int_equal(t->nfreed, t->nrecs);
	assert_int_equal(t->nfreed_early, 0);
	assert_true(t->ti.ti_bytes == ti.sndbytes + ti.snd_rxt_bytes);
	assert_true(t->ti.ti_rexmit_bytes == ti.snd_rxt_bytes);
	assert_true(t->ti.ti_sent_end == ti.sndbytes);
	/* Every byte sent is a first transmission, a retransmission or a probe.
	 */
	assert_true(tcpstat.tcps_sndbyte - t->st0.tcps_sndbyte +
		tcpstat.tcps_sndrexmitbyte - t->st0.tcps_sndrexmitbyte +
		tcpstat.tcps_sndprobe - t->st0.tcps_sndprobe ==
	    ti.sndbytes + ti.snd_rxt_bytes);
	/* A window probe sent again is a retransmission, counted apart. */
	rxt = tcpstat.tcps_sndrexmitbyte - t->st0.tcps_sndrexmitbyte;
	assert_true(rxt <= ti.snd_rxt_bytes);
	assert_true(ti.snd_rxt_bytes - rxt <=
	    tcpstat.tcps_sndprobe - t->st0.tcps_sndprobe);
	assert_true(tcpstat.tcps_sndrexmitpack - t->st0.tcps_sndrexmitpack >=
	    ti.sndrexmitpack);
	harness_run(&t->h);
	testif_fini(&t->ti);
	harness_fini(&t->h);
	free(t->data);
}

static uint64_t
inflight(struct testif *ti)
{
	struct testif_seg *seg;
	uint64_t n;

	n = 0;
	TAILQ_FOREACH(seg, &ti->ti_q, link)
		n += seg->len;
	return (n);
}

/*
 * A timeout resends exactly what was lost, once, starting with one
 * segment; data stays in the send buffer (nothing freed) until it is
 * acknowledged.
 */
static void
test_rto_resends_lost(void **state)
{
	struct testif_seg *seg, *lost;
	struct ksim_tcpinfo ti;
	struct ksim_sbstat sb;
	uint64_t dropped, t0, lost_off;
	unsigned lost_len;
	struct tenv t;
	int i;

	(void)state;
	tenv_open(&t, 11, 1 << 20, "aes256_gcm_1_3");
	tenv_write(&t, 30000);
	testif_settle(&t.h);
	/* The initial window: ten segments, nothing acknowledged or freed. */
	assert_int_equal(t.ti.ti_nq, 10);
	assert_true(inflight(&t.ti) == 10 * MSS);
	ksim_sbstat(t.so, &sb);
	assert_int_equal(sb.ccc, t.frame_end);
	assert_int_equal(t.nfreed, 0);

	/* Nine arrive; the tenth and everything sent after are lost. */
	lost = testif_seg(&t.ti, 9);
	lost_off = lost->off;
	lost_len = lost->len;
	for (i = 0; i < 9; i++)
		testif_deliver(&t.ti, testif_seg(&t.ti, 0));
	ksim_sbstat(t.so, &sb);
	assert_int_equal(sb.ccc, t.frame_end - 9 * MSS);
	dropped = 0;
	while ((seg = testif_seg(&t.ti, 0)) != NULL) {
		dropped += seg->len;
		testif_drop(&t.ti, seg);
	}
	assert_true(dropped > lost_len);

	ksim_tcpinfo(t.so, &ti);
	assert_true(ti.rexmt_timer);
	t0 = sim_now();
	testif_fire(&t.ti, &t.h);
	assert_true(sim_now() - t0 >= ti.rxtcur_ns);
	/* One segment, cwnd back to one: the first lost bytes exactly. */
	assert_int_equal(t.ti.ti_nq, 1);
	seg = testif_seg(&t.ti, 0);
	assert_true(seg->rexmit);
	assert_true(seg->off == lost_off);
	assert_int_equal(seg->len, lost_len);
	ksim_tcpinfo(t.so, &ti);
	assert_int_equal(ti.snd_cwnd, MSS);
	assert_int_equal(ti.rxtshift, 1);
	assert_true(tcpstat.tcps_rexmttimeo - t.st0.tcps_rexmttimeo == 1);

	/* The rest follows in slow start, each lost byte resent once. */
	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	assert_true(t.ti.ti_rexmit_bytes == dropped);
	assert_true(tcpstat.tcps_rexmttimeo - t.st0.tcps_rexmttimeo == 1);
	tenv_check_stream(&t, 0);
	ksim_tcpinfo(t.so, &ti);
	assert_true(ti.snd_rxt_bytes == dropped);
	assert_true(ti.sndbytes == t.frame_end);
	/* All acknowledged: no timer left to fire spuriously. */
	assert_false(ti.rexmt_timer);
	assert_true(ti.snd_una == t.frame_end);
	tenv_close(&t);
}

/*
 * Three duplicate ACKs, not two, retransmit the one lost segment without
 * waiting for the timer, and halve the window.
 */
static void
test_fast_rexmit(void **state)
{
	struct testif_seg *lost, *s2, *s3, *s4, *seg;
	struct ksim_tcpinfo ti;
	uint64_t lost_off, t0;
	unsigned lost_len;
	uint32_t cwnd;
	struct tenv t;
	int nsent;

	(void)state;
	tenv_open(&t, 12, 1 << 20, "aes128_gcm_1_2");
	tenv_write(&t, 40000);
	testif_settle(&t.h);
	assert_int_equal(t.ti.ti_nq, 10);
	lost = testif_seg(&t.ti, 1);
	lost_off = lost->off;
	lost_len = lost->len;
	s2 = testif_seg(&t.ti, 2);
	s3 = testif_seg(&t.ti, 3);
	s4 = testif_seg(&t.ti, 4);
	testif_deliver(&t.ti, testif_seg(&t.ti, 0));
	testif_drop(&t.ti, lost);
	t0 = sim_now();
	testif_deliver(&t.ti, s2);
	testif_deliver(&t.ti, s3);
	ksim_tcpinfo(t.so, &ti);
	assert_int_equal(ti.dupacks, 2);
	assert_int_equal(t.ti.ti_nrexmit, 0);
	cwnd = ti.snd_cwnd;
	nsent = t.ti.ti_nsent;
	testif_deliver(&t.ti, s4);
	/* The third duplicate: the lost segment, alone, at once. */
	assert_int_equal(t.ti.ti_nrexmit, 1);
	seg = NULL;
	TAILQ_FOREACH(seg, &t.ti.ti_q, link)
		if (seg->n == nsent)
			break;
	assert_non_null(seg);
	assert_true(seg->rexmit);
	assert_true(seg->off == lost_off);
	assert_int_equal(seg->len, lost_len);
	assert_true(sim_now() == t0);
	ksim_tcpinfo(t.so, &ti);
	assert_true(ti.in_recovery);
	assert_int_equal(ti.snd_ssthresh, (cwnd / 2 / MSS) * MSS);

	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	ksim_tcpinfo(t.so, &ti);
	assert_false(ti.in_recovery);
	assert_true(ti.snd_rxt_bytes == lost_len);
	assert_true(tcpstat.tcps_rexmttimeo == t.st0.tcps_rexmttimeo);
	tenv_check_stream(&t, 0);
	tenv_close(&t);
}

/*
 * Data of different kinds never shares a segment: plain sendfile pages,
 * a plain write, then TLS records.  A segment ends where each kind ends.
 */
static void
test_kinds_never_mix(void **state)
{
	struct testif_seg *seg;
	uint8_t *file, *plain;
	size_t flen, plen;
	bool cut1, cut2;
	struct tenv t;
	ssize_t wr;
	off_t sb;
	int fd;

	(void)state;
	tenv_open(&t, 13, 1 << 20, NULL);
	flen = 3000;
	plen = 2000;
	fd = harness_tmpfile(&t.h.rng, flen, &file);
	assert_int_equal(ksim_sendfile(t.so, fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, (off_t)flen);
	plain = tenv_bytes(&t, plen);
	assert_int_equal(ksim_write(t.so, plain, plen, &wr), 0);
	testif_settle(&t.h);
	harness_keys(&t.h, test_suite_named("chacha20_poly1305_1_3"), 5, &t.k);
	assert_int_equal(harness_enable(t.so, &t.k), 0);
	t.frame_end = flen + plen;
	tenv_write(&t, 20000);
	testif_settle(&t.h);
	cut1 = cut2 = false;
	while ((seg = testif_seg(&t.ti, 0)) != NULL) {
		if (seg->off == flen)
			cut1 = true;
		if (seg->off == flen + plen)
			cut2 = true;
		testif_deliver(&t.ti, seg);
		testif_settle(&t.h);
	}
	assert_true(cut1);
	assert_true(cut2);
	assert_memory_equal(t.ti.ti_rcv, file, flen);
	assert_memory_equal(t.ti.ti_rcv + flen, plain, plen);
	tenv_check_stream(&t, flen + plen);
	close(fd);
	free(file);
	free(plain);
	tenv_close(&t);
}

/*
 * NIC-style records hold a session reference each.  A segment holds none:
 * it shares the record's storage, so the reference goes with the last of
 * the record and its segments, and only after the ACK.
 */
static void
test_session_refs_until_acked(void **state)
{
	struct testif_seg *seg, *orig;
	struct ktls_session *tls;
	struct tenv t;
	u_int ref0;
	ssize_t wr;
	int i, n;

	(void)state;
	/* The retransmission below must not send the session to software. */
	ktls_ifnet_max_rexmit_pct = 100;
	tenv_open(&t, 14, 1 << 20, NULL);
	tenv_enable_ifnet(&t, "aes128_gcm_1_3");
	tls = t.so->so_snd.sb_tls_info;
	ktls_hold(tls);
	ref0 = tls->refcount;
	t.data = tenv_bytes(&t, 3000);
	t.len = 3000;
	/* Three records of 1000 bytes, ready at once (no encryption). */
	for (i = 0; i < 3; i++) {
		assert_int_equal(ksim_write(t.so, t.data + 1000 * i, 1000, &wr),
		    0);
		assert_int_equal(wr, 1000);
	}
	testif_settle(&t.h);
	assert_int_equal(tls->refcount, ref0 + 3);
	n = t.ti.ti_nq;
	assert_int_equal(n, 3); /* 3 * (1000 + 22) bytes */
	/* Lose the last segment to the timer, keep its first copy. */
	orig = testif_seg(&t.ti, n - 1);
	TAILQ_REMOVE(&t.ti.ti_q, orig, link);
	t.ti.ti_nq--;
	for (i = 0; i < n - 1; i++)
		testif_deliver(&t.ti, testif_seg(&t.ti, 0));
	/* The first records' segments are gone and acked: released. */
	assert_int_equal(tls->refcount, ref0 + 1);
	testif_fire(&t.ti, &t.h);
	seg = testif_seg(&t.ti, 0);
	assert_non_null(seg);
	assert_true(seg->rexmit && seg->off == orig->off);
	testif_deliver(&t.ti, seg);
	/* Acked and out of the buffer, but the first copy still holds it. */
	assert_int_equal(t.nfreed, 3);
	assert_int_equal(tls->refcount, ref0 + 1);
	m_freem(orig->m);
	free(orig);
	assert_int_equal(tls->refcount, ref0);
	ktls_free(tls);
	assert_int_equal(t.ti.ti_nerr, 0);
	ksim_close(t.so);
	testif_settle(&t.h);
	testif_deliver_all(&t.ti);
	harness_run(&t.h);
	assert_true(t.ti.ti_fin_rcvd);
	testif_fini(&t.ti);
	harness_fini(&t.h);
	free(t.data);
	ktls_ifnet_max_rexmit_pct = 2;
}

/*
 * The peer's window bounds what is in flight; a closed window is probed
 * one byte at a time by the persist timer until an ACK opens it.
 */
static void
test_window_and_persist(void **state)
{
	struct testif_seg *seg;
	struct ksim_tcpinfo ti;
	struct tenv t;

	(void)state;
	tenv_open(&t, 15, 5000, "aes256_gcm_1_2");
	tenv_write(&t, 20000);
	testif_settle(&t.h);
	assert_true(inflight(&t.ti) == 5000);
	assert_int_equal(t.ti.ti_nq, 4);
	assert_int_equal(testif_seg(&t.ti, 3)->len, 5000 - 3 * MSS);

	/* The receiver's buffer fills up: window 0. */
	t.ti.ti_rwnd = 0;
	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	assert_int_equal(t.ti.ti_nq, 0);
	ksim_tcpinfo(t.so, &ti);
	assert_true(ti.persist_timer);
	assert_false(ti.rexmt_timer);
	testif_fire(&t.ti, &t.h);
	assert_int_equal(t.ti.ti_nq, 1);
	seg = testif_seg(&t.ti, 0);
	assert_int_equal(seg->len, 1);
	assert_true(seg->off == 5000);
	assert_true(tcpstat.tcps_sndprobe - t.st0.tcps_sndprobe == 1);
	/* Still closed: the probe is not taken; it comes again. */
	testif_drop(&t.ti, seg);
	testif_fire(&t.ti, &t.h);
	assert_int_equal(t.ti.ti_nq, 1);
	assert_true(testif_seg(&t.ti, 0)->off == 5000);
	/* Open: the probe's byte is taken and the flow resumes. */
	t.ti.ti_rwnd = 1 << 20;
	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	tenv_check_stream(&t, 0);
	ksim_tcpinfo(t.so, &ti);
	assert_false(ti.persist_timer);
	tenv_close(&t);
}

/*
 * Nothing gets through: the timeout doubles (up to the cap) for
 * TCP_MAXRXTSHIFT tries, each resending the same first segment, then the
 * connection is dropped with ETIMEDOUT.
 */
static void
test_rto_backoff_and_drop(void **state)
{
	struct testif_seg *seg;
	uint64_t last, prev, t0;
	struct tenv t;
	ssize_t wr;
	int i;

	(void)state;
	tenv_open(&t, 16, 1 << 20, "aes128_gcm_1_2");
	tenv_write(&t, 1000);
	testif_settle(&t.h);
	assert_int_equal(t.ti.ti_nq, 1);
	testif_drop(&t.ti, testif_seg(&t.ti, 0));
	prev = 0;
	t0 = sim_now();
	for (i = 1; i <= TCP_MAXRXTSHIFT; i++) {
		testif_fire(&t.ti, &t.h);
		assert_int_equal(t.ti.ti_nq, 1);
		seg = testif_seg(&t.ti, 0);
		assert_true(
		    seg->rexmit && seg->off == 0 && seg->len == t.frame_end);
		testif_drop(&t.ti, seg);
		last = sim_now() - t0;
		t0 = sim_now();
		if (i > 1)
			assert_true(last >= prev || last == TCPTV_REXMTMAX);
		assert_true(last <= TCPTV_REXMTMAX);
		prev = last;
	}
	assert_true(prev == TCPTV_REXMTMAX);
	testif_fire(&t.ti, &t.h);
	assert_int_equal(t.ti.ti_nq, 0);
	assert_true(tcpstat.tcps_timeoutdrop - t.st0.tcps_timeoutdrop == 1);
	assert_int_equal(t.so->so_error, ETIMEDOUT);
	assert_int_equal(ksim_write(t.so, "x", 1, &wr), EPIPE);
	ksim_close(t.so);
	harness_run(&t.h);
	testif_fini(&t.ti);
	harness_fini(&t.h);
	free(t.data);
}

/* A lost FIN is sent again by the timer; the close completes on its ACK. */
static void
test_fin_rexmit(void **state)
{
	struct testif_seg *seg;
	struct ksim_tcpinfo ti;
	struct tenv t;

	(void)state;
	tenv_open(&t, 17, 1 << 20, "aes256_gcm_1_3");
	tenv_write(&t, 5000);
	testif_settle(&t.h);
	soref(t.so);
	ksim_close(t.so);
	testif_settle(&t.h);
	seg = testif_seg(&t.ti, t.ti.ti_nq - 1);
	assert_true(seg->fin);
	testif_drop(&t.ti, seg);
	testif_deliver_all(&t.ti);
	ksim_tcpinfo(t.so, &ti);
	assert_true(ti.fin_sent);
	assert_false(ti.fin_acked);
	testif_fire(&t.ti, &t.h);
	assert_int_equal(t.ti.ti_nq, 1);
	seg = testif_seg(&t.ti, 0);
	assert_true(seg->fin && seg->len == 0 && seg->off == t.frame_end);
	ksim_tcpinfo(t.so, &ti);
	assert_int_equal(ti.sndrexmitpack, 1);
	testif_deliver(&t.ti, seg);
	assert_true(t.ti.ti_fin_rcvd);
	ksim_tcpinfo(t.so, &ti);
	assert_true(ti.fin_acked);
	assert_false(ti.rexmt_timer);
	tenv_check_stream(&t, 0);
	harness_run(&t.h);
	sorele(t.so);
	testif_fini(&t.ti);
	harness_fini(&t.h);
	free(t.data);
}

/*
 * An interface that refuses every packet with ENOBUFS, as a full transmit
 * queue does, and never calls tcp_output_kick() (if_kicks off).  Static,
 * so that a failed case cannot leave TCP sending into a dead frame.
 */
static int refuse_npkts;

static int
refuse_transmit(struct ifnet *ifp, struct mbuf *m)
{

	refuse_npkts++;
	ifp->if_oqdrops++;
	m_freem(m);
	return (ENOBUFS);
}

static struct ifnet refuse_ifnet = {
	.if_xname = "full0",
	.if_mtu = 1500,
	.if_capabilities = IFCAP_MEXTPG,
	.if_capenable = IFCAP_MEXTPG,
	.if_transmit = refuse_transmit,
};
static struct nhop_object refuse_nh = {
	.nh_ifp = &refuse_ifnet,
	.nh_mtu = 1500,
};

/*
 * The first packet of a burst refused before the wire (ENOBUFS, nothing
 * sent): tcp_output() arms the retransmission timer as FreeBSD's error
 * path does (sys/netinet/tcp_output.c), so once the route leads to a
 * working interface again the data goes out when the timer fires, as a
 * retransmission of nothing: first transmissions, from the first byte.
 * Without the timer nothing is due and the connection waits forever.
 */
static void
test_refused_arms_rexmt(void **state)
{
	struct ksim_tcpinfo ti;
	struct testif_seg *seg;
	struct tenv t;
	int n0;

	(void)state;
	tenv_open(&t, 19, 1 << 20, "aes256_gcm_1_2");
	refuse_npkts = 0;
	assert_int_equal(ksim_set_route(t.so, &refuse_nh), 0);
	tenv_write(&t, 3000);
	testif_settle(&t.h);
	assert_true(refuse_npkts >= 1);
	assert_int_equal(t.ti.ti_nsent, 0);
	ksim_tcpinfo(t.so, &ti);
	assert_true(ti.rexmt_timer);
	assert_false(ti.persist_timer);
	assert_true(ti.sndbytes == 0);

	/* The route is fixed; nothing kicks TCP but its timer. */
	n0 = refuse_npkts;
	assert_int_equal(ksim_set_route(t.so, testif_nhop(&t.ti)), 0);
	testif_fire(&t.ti, &t.h);
	assert_int_equal(refuse_npkts, n0);
	assert_true(t.ti.ti_nsent >= 1);
	seg = testif_seg(&t.ti, 0);
	assert_non_null(seg);
	assert_true(seg->off == 0);
	assert_false(seg->rexmit);
	assert_ptr_equal(seg->ifp, testif_port(&t.ti, 0));
	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	testif_deliver_all(&t.ti);
	tenv_check_stream(&t, 0);
	tenv_close(&t);
}

/*
 * TSO (tcp_output_tso()): with IFCAP_TSO4 a segment carries up to
 * if_hw_tsomax less the headers, a whole number of MSS unless it ends
 * the ready data or the kind of data (testif_check() checks each one);
 * tcpstat counts one packet per send.  Without it, nothing exceeds an
 * MSS (tenv_close()).
 */
static void
tso_run(u_int tsomax, uint64_t seed)
{
	struct tenv t;
	uint64_t pk0;
	u_int limit, nseg;
	size_t len = 300000;

	tenv_open(&t, seed, 1 << 20, "aes128_gcm_1_3");
	testif_set_tso(&t.ti, 0, tsomax);
	pk0 = tcpstat.tcps_sndpack;
	tenv_write(&t, len);
	for (int i = 0; i < 200 &&
	     t.ti.ti_sent_end <
		 sototcpcb(t.so)->t_stream_una + t.so->so_snd.sb_ccc + len / 2;
	     i++) {
		testif_settle(&t.h);
		testif_deliver_all(&t.ti);
	}
	testif_settle(&t.h);
	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	tenv_check_stream(&t, 0);
	nseg = (u_int)(tcpstat.tcps_sndpack - pk0);
	if (tsomax == 0) {
		assert_true(t.ti.ti_maxlen <= MSS);
		assert_true(nseg >= len / MSS);
	} else {
		limit = tsomax - 40;
		assert_true(t.ti.ti_maxlen > MSS);
		assert_true(t.ti.ti_maxlen <= limit);
		/* The largest is a whole number of MSS. */
		assert_int_equal(t.ti.ti_maxlen % MSS, 0);
		assert_true(nseg < len / MSS);
	}
	tenv_close(&t);
}

static void
test_tso(void **state)
{

	(void)state;
	tso_run(65535, 21);
	tso_run(10000, 22);
	tso_run(0, 23);
}

/*
 * The byte wire: a take of part of a segment counts as sent and
 * acknowledged; the rest goes when the wire has room, as new data, not
 * as a retransmission.
 */
static void
test_wire_partial_take(void **state)
{
	struct harness_keys k;
	struct ksim_tcpinfo ti;
	struct ksim_sbstat sb;
	struct harness h;
	struct socket *so;
	uint8_t *data, *plain;
	size_t plen, nrec;
	struct wire w;
	ssize_t wr;

	(void)state;
	harness_init(&h, HARNESS_DET, 18, 1);
	wire_init(&w);
	w.limit = 1000;
	so = harness_socket(&h, &w, 1);
	harness_keys(&h, test_suite_named("aes128_gcm_1_3"), 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	data = malloc(5000);
	assert_non_null(data);
	test_rng_bytes(&h.rng, data, 5000);
	assert_int_equal(ksim_write(so, data, 5000, &wr), 0);
	harness_run(&h);
	assert_int_equal(w.len, 1000);
	ksim_tcpinfo(so, &ti);
	assert_true(ti.snd_una == 1000 && ti.snd_max == 1000);
	assert_true(ti.sndbytes == 1000 && ti.snd_rxt_bytes == 0);
	assert_false(ti.rexmt_timer);
	ksim_sbstat(so, &sb);
	assert_int_equal(sb.ccc, 5022 - 1000);

	w.limit = 3000;
	tcp_output_kick(so);
	assert_int_equal(w.len, 3000);
	w.limit = SIZE_MAX;
	tcp_output_kick(so);
	ksim_close(so);
	harness_run(&h);
	assert_true(w.fin);
	harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(plen, 5000);
	assert_memory_equal(plain, data, 5000);
	free(plain);
	free(data);
	harness_fini(&h);
	wire_fini(&w);
}

/* What the socket upcall saw. */
struct upcalls {
	int n;
	long space; /* sbspace() at the last call */
	bool locked, cantsend;
};

static int
upcall_fn(struct socket *so, void *arg, int waitflag)
{
	struct upcalls *u = arg;

	u->n++;
	u->space = sbspace(&so->so_snd);
	u->locked = mtx_owned(so->so_snd.sb_mtx);
	u->cantsend = (so->so_snd.sb_state & SBS_CANTSENDMORE) != 0;
	assert_int_equal(waitflag, M_NOWAIT);
	return (SU_OK);
}

/*
 * soupcall_set(): the send buffer's upcall runs, with its lock held, when
 * ACKs free space and when the socket is shut down, and not once
 * soupcall_clear() removed it.
 */
static void
test_soupcall(void **state)
{
	struct upcalls u = { 0 };
	struct tenv t;
	ssize_t wr;
	int n0;

	(void)state;
	tenv_open(&t, 31, 1 << 20, "aes128_gcm_1_3");
	SOCKBUF_LOCK(&t.so->so_snd);
	soupcall_set(t.so, SO_SND, upcall_fn, &u);
	SOCKBUF_UNLOCK(&t.so->so_snd);
	tenv_write(&t, 20000);
	testif_settle(&t.h);
	assert_true(inflight(&t.ti) > 0);
	assert_int_equal(u.n, 0);
	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	assert_true(u.n > 0);
	assert_true(u.locked);
	assert_false(u.cantsend);
	assert_true(u.space == sbspace(&t.so->so_snd));

	SOCKBUF_LOCK(&t.so->so_snd);
	soupcall_clear(t.so, SO_SND);
	SOCKBUF_UNLOCK(&t.so->so_snd);
	n0 = u.n;
	assert_int_equal(ksim_write(t.so, "more", 4, &wr), 0);
	testif_settle(&t.h);
	testif_deliver_all(&t.ti);
	testif_settle(&t.h);
	assert_int_equal(u.n, n0);

	SOCKBUF_LOCK(&t.so->so_snd);
	soupcall_set(t.so, SO_SND, upcall_fn, &u);
	SOCKBUF_UNLOCK(&t.so->so_snd);
	assert_int_equal(ksim_shutdown(t.so), 0);
	assert_int_equal(u.n, n0 + 1);
	assert_true(u.cantsend && u.locked);
	SOCKBUF_LOCK(&t.so->so_snd);
	soupcall_clear(t.so, SO_SND);
	SOCKBUF_UNLOCK(&t.so->so_snd);
	tenv_close(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_rto_resends_lost),
		harness_unit_test(test_fast_rexmit),
		harness_unit_test(test_kinds_never_mix),
		harness_unit_test(test_session_refs_until_acked),
		harness_unit_test(test_window_and_persist),
		harness_unit_test(test_rto_backoff_and_drop),
		harness_unit_test(test_fin_rexmit),
		harness_unit_test(test_tso),
		harness_unit_test(test_wire_partial_take),
		harness_unit_test(test_refused_arms_rexmt),
		harness_unit_test(test_soupcall),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
