/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for KTLS session lifetime and worker ordering
 * (src/kern/uipc_ktls.c after FreeBSD's ktls_enqueue(), ktls_encrypt() and
 * mb_free_extpg()): per-record session references taken by ktls_frame() and
 * dropped after encryption, a session outliving its socket while a record
 * holds it (deferred free through the worker), stats.active returning to its
 * baseline, and TLS 1.0 batches enqueued out of sequence order being parked
 * and released in order.
 */

#include <sys/socket.h>
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
#include "netinet/tcp_var.h"
#include "opencrypto/ktls.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "testif.h"

static struct mbuf *
plain_record(const uint8_t *buf, int len)
{
	struct iovec iov = { (void *)(uintptr_t)buf, (size_t)len };
	struct uio uio = { &iov, 1, 0, len, UIO_WRITE };
	struct mbuf *m;

	m = m_uiotombuf(&uio, M_WAITOK, 0, 16384, M_EXTPG);
	assert_non_null(m);
	return (m);
}

static uint8_t *
pattern(size_t len, uint8_t seed)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
	return (p);
}

/* Per-record references across frame -> encrypt -> send. */
static void
test_refcount_write_path(void **state)
{
	static const char *names[] = { "aes128_gcm_1_2", "aes256_gcm_1_3",
		"chacha20_poly1305_1_2", "aes128_cbc_1_0_sha1",
		"aes256_cbc_1_2_sha384" };

	(void)state;
	for (size_t n = 0; n < nitems(names); n++) {
		uint64_t active0 = counter_u64_fetch(ktls_offload_active);
		uint64_t inq0 = counter_u64_fetch(ktls_cnt_tx_queued);
		struct harness_keys k;
		struct ktls_session *tls;
		struct harness h;
		struct socket *so;
		struct wire w;
		uint8_t *data, *plain;
		size_t plen, nrec;
		ssize_t wr;

		harness_init(&h, HARNESS_DET, 1000 + n, 2);
		wire_init(&w);
		so = harness_socket(&h, &w, 3);
		ksim_set_sndbuf(so, 1 << 20, 2048);
		harness_keys(&h, test_suite_named(names[n]), 9, &k);
		assert_int_equal(harness_enable(so, &k), 0);
		tls = so->so_snd.sb_tls_info;
		assert_int_equal(tls->refcount, 1);
		assert_true(
		    counter_u64_fetch(ktls_offload_active) == active0 + 1);

		data = pattern(40000, (uint8_t)n);
		assert_int_equal(ksim_write(so, data, 40000, &wr), 0);
		assert_int_equal(wr, 40000);
		/* Socket buffer + three framed, not yet encrypted records. */
		assert_int_equal(tls->refcount, 1 + 3);
		assert_int_equal(w.len, 0);
		assert_true(counter_u64_fetch(ktls_cnt_tx_queued) == inq0 + 1);
		harness_run(&h);
		assert_int_equal(tls->refcount, 1);
		assert_true(counter_u64_fetch(ktls_cnt_tx_queued) == inq0);
		harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
		assert_int_equal(nrec, 3);
		assert_int_equal(plen, 40000);
		assert_memory_equal(plain, data, 40000);
		free(plain);

		/* Records in flight when the socket is closed. */
		assert_int_equal(ksim_write(so, data, 20000, &wr), 0);
		assert_int_equal(tls->refcount, 1 + 2);
		ksim_close(so);
		assert_true(
		    counter_u64_fetch(ktls_offload_active) == active0 + 1);
		harness_run(&h);
		/* Last sorele freed the socket and the session with it. */
		assert_true(counter_u64_fetch(ktls_offload_active) == active0);
		assert_true(w.fin);
		harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
		assert_int_equal(nrec, 5);
		assert_memory_equal(plain + 40000, data, 20000);
		free(plain);
		free(data);
		harness_fini(&h);
		wire_fini(&w);
	}
}

/* A dropped connection: the worker frees the records, refs return. */
static void
test_refcount_drop_in_flight(void **state)
{
	uint64_t active0 = counter_u64_fetch(ktls_offload_active);
	struct harness_keys k;
	struct ktls_session *tls;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t *data;
	ssize_t wr;

	(void)state;
	harness_init(&h, HARNESS_DET, 77, 1);
	wire_init(&w);
	so = harness_socket(&h, &w, 0);
	ksim_set_sndbuf(so, 1 << 20, 2048);
	harness_keys(&h, test_suite_named("aes128_gcm_1_2"), 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	tls = so->so_snd.sb_tls_info;
	data = pattern(50000, 1);
	assert_int_equal(ksim_write(so, data, 50000, &wr), 0);
	assert_int_equal(tls->refcount, 1 + 4);
	ksim_drop(so, ECONNRESET);
	harness_run(&h);
	assert_int_equal(w.len, 0);
	assert_int_equal(tls->refcount, 1);
	ksim_close(so);
	harness_run(&h);
	assert_true(counter_u64_fetch(ktls_offload_active) == active0);
	free(data);
	harness_fini(&h);
	wire_fini(&w);
}

/*
 * The software backend with one failure: encryption number fail_at (from
 * 0) returns EIO, as a failed OCF request does.
 */
static int fail_at, nencrypts;

static int
failing_try(struct ktls_session *tls, int direction)
{

	return (ktls_ocf_backend.kb_try(tls, direction));
}

static int
failing_encrypt(struct ktls_session *tls, struct mbuf *m,
    const struct iovec *outiov, int outiovcnt)
{

	if (nencrypts++ == fail_at)
		return (EIO);
	return (ktls_ocf_backend.kb_encrypt(tls, m, outiov, outiovcnt));
}

static void
failing_free(struct ktls_session *tls)
{

	ktls_ocf_backend.kb_free(tls);
}

static const struct ktls_crypto_backend failing_backend = {
	.kb_name = "failing",
	.kb_try = failing_try,
	.kb_encrypt = failing_encrypt,
	.kb_free = failing_free,
};

/*
 * A record the backend fails to encrypt drops the connection (ktls_drop()
 * with EIO from ktls_encrypt() or ktls_encrypt_cb(), as FreeBSD's
 * uipc_ktls.c does): the first write's two records are on the wire
 * whole; of the second write's three, synchronously none (the failed
 * batch is freed whole), asynchronously at most the one before the
 * failure; the next write gets EPIPE; stats.failed_crypto counts it and
 * every session reference comes back.
 */
static void
test_crypto_failure_drops(void **state)
{
	static const char *names[] = { "aes128_gcm_1_2", "aes128_cbc_1_0_sha1",
		"chacha20_poly1305_1_3" };
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t *data, *plain;
	size_t plen, nrec;
	ssize_t wr;

	(void)state;
	data = pattern(5 * 16384, 9);
	for (size_t n = 0; n < nitems(names); n++) {
		for (int async = 0; async < 2; async++) {
			uint64_t active0 =
			    counter_u64_fetch(ktls_offload_active);
			uint64_t failed0 =
			    counter_u64_fetch(ktls_offload_failed_crypto);
			const struct test_suite *s = test_suite_named(names[n]);

			harness_init(&h, HARNESS_DET, 60 + 2 * n + async, 2);
			/* TLS 1.0 CBC is always encrypted synchronously. */
			ktls_sim_async = async;
			ktls_backend = &failing_backend;
			nencrypts = 0;
			fail_at = 3;
			wire_init(&w);
			so = harness_socket(&h, &w, 1);
			ksim_set_sndbuf(so, 1 << 20, 2048);
			harness_keys(&h, s, 40, &k);
			assert_int_equal(harness_enable(so, &k), 0);
			assert_int_equal(ksim_write(so, data, 2 * 16384, &wr),
			    0);
			harness_run(&h);
			assert_int_equal(ksim_write(so, data + 2 * 16384,
					     3 * 16384, &wr),
			    0);
			harness_run(&h);
			/* Synchronously the batch stops at the failure. */
			if (nencrypts != (async && !is_tls10(s) ? 5 : 4))
				fail_msg("%s %s: %d encryptions", s->name,
				    async ? "async" : "sync", nencrypts);
			assert_true(
			    counter_u64_fetch(ktls_offload_failed_crypto) ==
			    failed0 + 1);
			assert_int_equal(ksim_write(so, data, 100, &wr), EPIPE);

			harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL,
			    NULL);
			if (nrec != 2 && !(async && !is_tls10(s) && nrec == 3))
				fail_msg("%s %s: %zu records on the wire",
				    s->name, async ? "async" : "sync", nrec);
			assert_int_equal(plen, nrec * 16384);
			assert_memory_equal(plain, data, plen);
			free(plain);

			ksim_close(so);
			harness_run(&h);
			assert_true(
			    counter_u64_fetch(ktls_offload_active) == active0);
			harness_fini(&h);
			ktls_backend = &ktls_ocf_backend;
			ktls_sim_async = false;
			wire_fini(&w);
		}
	}
	free(data);
}

/*
 * A record framed by someone else (here: the test) keeps the session
 * alive after its socket is gone; freeing that record hands the last
 * reference to the worker (EPG_FLAG_2FREE), which destroys the session.
 */
static void
test_session_outlives_socket(void **state)
{
	uint64_t active0 = counter_u64_fetch(ktls_offload_active);
	struct harness_keys k;
	struct ktls_session *tls;
	struct harness h;
	struct socket *so;
	struct mbuf *m;
	struct wire w;
	uint8_t buf[300];
	int enq;

	(void)state;
	memset(buf, 'z', sizeof(buf));
	harness_init(&h, HARNESS_DET, 78, 2);
	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	harness_keys(&h, test_suite_named("chacha20_poly1305_1_3"), 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	tls = so->so_snd.sb_tls_info;
	m = plain_record(buf, sizeof(buf));
	ktls_frame(m, tls, &enq, TLS_RLTYPE_APP);
	assert_int_equal(tls->refcount, 2);
	assert_ptr_equal(m->m_epg_tls, tls);

	ksim_close(so); /* socket freed: its reference is gone */
	harness_run(&h);
	assert_int_equal(tls->refcount, 1);
	assert_true(counter_u64_fetch(ktls_offload_active) == active0 + 1);
	assert_int_equal(tls->params.tls_hlen, 5); /* still intact */

	m_freem(m); /* last reference: deferred to the worker */
	assert_true(counter_u64_fetch(ktls_offload_active) == active0 + 1);
	harness_run(&h);
	assert_true(counter_u64_fetch(ktls_offload_active) == active0);
	harness_fini(&h);
	wire_fini(&w);
}

/*
 * TLS 1.0 (ktls_enqueue()): batches enqueued out of sequence order wait in
 * pending_records and are released in order; the chained CBC IV makes
 * the oracle fail on any reordering.
 */
static void
test_tls10_enqueue_order(void **state)
{
	/* Batch sizes (records) and record lengths; B is an empty record. */
	static const int blens[3][2] = { { 100, 5000 }, { 0, -1 },
		{ 16384, 33 } };
	static const int nrecs[3] = { 2, 1, 2 };
	static const int order[][3] = { { 2, 1, 0 }, { 1, 2, 0 }, { 2, 0, 1 },
		{ 0, 2, 1 }, { 1, 0, 2 }, { 0, 1, 2 } };
	int64_t inq_delta = 0;
	int inq_bad = -1;

	(void)state;
	for (size_t o = 0; o < nitems(order); o++) {
		uint64_t pend0 = counter_u64_fetch(ktls_cnt_tx_pending);
		uint64_t inq0 = counter_u64_fetch(ktls_cnt_tx_queued);
		uint64_t active0 = counter_u64_fetch(ktls_offload_active);
		struct mbuf *batch[3];
		int enq[3], expect_rec = 0;
		struct harness_keys k;
		struct ktls_session *tls;
		struct harness h;
		struct socket *so;
		struct wire w;
		uint8_t *data[3], *plain;
		size_t plen, nrec, total = 0, off = 0;
		bool done[3] = { false, false, false };

		harness_init(&h, HARNESS_DET, 2000 + o, 2);
		wire_init(&w);
		so = harness_socket(&h, &w, 5);
		harness_keys(&h, test_suite_named("aes128_cbc_1_0_sha1"), 7,
		    &k);
		assert_int_equal(harness_enable(so, &k), 0);
		tls = so->so_snd.sb_tls_info;
		assert_true(tls->sequential_records);
		assert_true(tls->next_seqno == 7);

		/* Frame and append A, B, C in order: seqnos 7..11. */
		for (int b = 0; b < 3; b++) {
			struct mbuf *tail = NULL;

			data[b] = pattern(16384 + 5000, (uint8_t)(b * 50));
			batch[b] = NULL;
			for (int r = 0; r < nrecs[b]; r++) {
				struct mbuf *m =
				    plain_record(data[b], blens[b][r]);

				if (tail != NULL)
					tail->m_next = m;
				else
					batch[b] = m;
				tail = m;
				total += blens[b][r];
			}
			ktls_frame(batch[b], tls, &enq[b], TLS_RLTYPE_APP);
			soref(so);
			assert_int_equal(tcp_usr_send(so, PRUS_NOTREADY,
					     batch[b]),
			    0);
		}
		assert_true(batch[0]->m_epg_seqno == 7);
		assert_true(batch[1]->m_epg_seqno == 9);
		assert_true(batch[2]->m_epg_seqno == 10);

		/* Enqueue in the permuted order, running workers in between. */
		for (int i = 0; i < 3; i++) {
			int b = order[o][i];
			int parked = 0, ready = 0;

			ktls_enqueue(batch[b], so, enq[b]);
			done[b] = true;
			harness_run(&h);
			/* Released: the in-order prefix of batches. */
			for (int x = 0; x < 3 && done[x]; x++)
				ready = x + 1;
			for (int x = ready; x < 3; x++)
				parked += done[x];
			assert_true(counter_u64_fetch(ktls_cnt_tx_pending) ==
			    pend0 + parked);
			expect_rec = 0;
			for (int x = 0; x < ready; x++)
				expect_rec += nrecs[x];
			/* Exactly the released batches reached the wire. */
			harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL,
			    NULL);
			assert_int_equal(nrec, expect_rec);
			free(plain);
		}
		harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
		assert_int_equal(nrec, 5);
		assert_int_equal(plen, total);
		for (int b = 0; b < 3; b++)
			for (int r = 0; r < nrecs[b]; r++) {
				assert_memory_equal(plain + off, data[b],
				    blens[b][r]);
				off += blens[b][r];
			}
		free(plain);
		assert_true(tls->next_seqno == 12);
		assert_int_equal(tls->refcount, 1);
		assert_true(counter_u64_fetch(ktls_cnt_tx_pending) == pend0);
		/*
		 * Every queued batch was processed; FreeBSD counts each
		 * batch moved to the queue (counter_u64_add(queued)).
		 */
		if (counter_u64_fetch(ktls_cnt_tx_queued) != inq0 &&
		    inq_bad < 0) {
			inq_bad = (int)o;
			inq_delta =
			    (int64_t)(counter_u64_fetch(ktls_cnt_tx_queued) -
				inq0);
		}
		ksim_close(so);
		harness_run(&h);
		assert_true(counter_u64_fetch(ktls_offload_active) == active0);
		for (int b = 0; b < 3; b++)
			free(data[b]);
		harness_fini(&h);
		wire_fini(&w);
	}
	if (inq_bad >= 0)
		fail_msg("order %d: stats.sw_tx_inqueue off by %lld after "
			 "every batch finished (parked batches released "
			 "by ktls_enqueue() are not counted)",
		    inq_bad, (long long)inq_delta);
}

/*
 * A deterministic runner with ncpus queues, a wire and a connected socket
 * (flowid picks its queue) with a session of the named suite numbered from
 * seqno.
 */
static struct socket *
session_open(struct harness *h, struct wire *w, struct harness_keys *k,
    uint64_t seed, int ncpus, uint32_t flowid, const char *suite,
    uint64_t seqno)
{
	struct socket *so;

	harness_init(h, HARNESS_DET, seed, ncpus);
	wire_init(w);
	so = harness_socket(h, w, flowid);
	harness_keys(h, test_suite_named(suite), seqno, k);
	assert_int_equal(harness_enable(so, k), 0);
	return (so);
}

static int
set_tx_mode(struct socket *so, int mode)
{

	return (ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode,
	    sizeof(mode)));
}

/*
 * A session in IFNET mode the way ktls_enable_tx() makes one: ifnet TLS
 * permitted, the route on a TLS-capable test interface (tests/lib/testif.h),
 * the tag from its if_snd_tag_alloc.
 */
static struct socket *
nic_session_open(struct harness *h, struct testif *ti, struct harness_keys *k,
    uint64_t seed, int ncpus, const char *suite, uint64_t seqno)
{
	struct socket *so;

	harness_init(h, HARNESS_DET, seed, ncpus);
	sim_det_set_policy(h->pl, SIM_DET_FIFO);
	testif_init(ti, 1 << 20);
	so = testif_connect(ti, 1);
	harness_sndbuf(so, 1 << 20, 2048);
	testif_set_txtls(ti, 0, true);
	ktls_ifnet_permitted = 1;
	harness_keys(h, test_suite_named(suite), seqno, k);
	assert_int_equal(harness_enable(so, k), 0);
	assert_int_equal(so->so_snd.sb_tls_info->mode, TCP_TLS_MODE_IFNET);
	assert_int_equal(sototcpcb(so)->t_nic_ktls_xmit, 1);
	return (so);
}

/* Everything delivered, the FIN too; testif_fini() checks the tags. */
static void
nic_session_close(struct harness *h, struct testif *ti, struct socket *so)
{

	ksim_close(so);
	testif_settle(h);
	testif_deliver_all(ti);
	testif_settle(h);
	testif_deliver_all(ti);
	assert_true(ti->ti_fin_rcvd);
	assert_int_equal(ti->ti_nerr, 0);
	harness_run(h);
	testif_fini(ti);
	harness_fini(h);
}

/*
 * A TLS 1.0 session switched between modes keeps numbering its records:
 * the clone starts at the socket buffer's next sequence number, so records
 * written after the switch are encrypted and sent instead of waiting in
 * pending_records for a sequence number that never comes.  Its CBC chain
 * starts again from the initial IV, as FreeBSD's clone does
 * (ktls_clone_session() copies params, ktls_ocf_try() seeds the chain from
 * params.iv), so the records after the switch decrypt as a fresh stream at
 * their sequence number.  FreeBSD's clone leaves initial_offload_seqno 0.
 */
static void
test_tls10_mode_switch(void **state)
{
	uint64_t pend0 = counter_u64_fetch(ktls_cnt_tx_pending);
	uint64_t active0 = counter_u64_fetch(ktls_offload_active);
	uint64_t to_sw0 = counter_u64_fetch(ktls_switch_to_sw);
	struct harness_keys k, k2;
	struct ktls_session *old, *tls;
	struct testif ti;
	struct harness h;
	struct socket *so;
	struct wire tail;
	uint8_t *a, *b, *plain;
	size_t plen, nrec, alen;
	ssize_t wr;

	(void)state;
	so = nic_session_open(&h, &ti, &k, 91, 2, "aes128_cbc_1_0_sha1", 7);
	a = pattern(20000, 3);
	b = pattern(5000, 4);
	assert_int_equal(ksim_write(so, a, 20000, &wr), 0);
	testif_settle(&h);
	testif_deliver_all(&ti);
	/* Records 7 and 8 went to the NIC, in the clear. */
	alen = ti.ti_rcv_nxt;
	assert_true(alen > 20000 + 2 * 5);
	assert_int_equal(ti.ti_rcv[0], TLS_RLTYPE_APP);
	assert_memory_equal(ti.ti_rcv + 5, a, 100);

	old = ktls_hold(so->so_snd.sb_tls_info);
	assert_int_equal(set_tx_mode(so, TCP_TLS_MODE_SW), 0);
	tls = so->so_snd.sb_tls_info;
	assert_ptr_not_equal(tls, old);
	assert_int_equal(tls->mode, TCP_TLS_MODE_SW);
	assert_true(tls->sequential_records);
	assert_true(tls->next_seqno == 9);
	assert_true(tls->initial_offload_seqno == 0);
	assert_true(old->initial_offload_seqno == 7);
	assert_int_equal(sototcpcb(so)->t_nic_ktls_xmit, 0);
	assert_true(counter_u64_fetch(ktls_switch_to_sw) == to_sw0 + 1);
	ktls_free(old);

	assert_int_equal(ksim_write(so, b, 5000, &wr), 0);
	testif_settle(&h);
	testif_deliver_all(&ti);
	testif_settle(&h);
	assert_true(counter_u64_fetch(ktls_cnt_tx_pending) == pend0);
	testif_wire(&ti, &tail);
	assert_true(tail.len > alen);
	tail.buf += alen;
	tail.len -= alen;
	k2 = k;
	k2.seqno = 9;
	harness_decrypt(&k2, &tail, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(nrec, 1);
	assert_int_equal(plen, 5000);
	assert_memory_equal(plain, b, 5000);
	free(plain);

	nic_session_close(&h, &ti, so);
	assert_true(counter_u64_fetch(ktls_offload_active) == active0);
	free(a);
	free(b);
}

/*
 * A switch that cannot take SOCK_IO_SEND_LOCK fails and is counted in
 * stats.switch_failed, as every failed switch is in FreeBSD's
 * ktls_set_tx_mode().  Here the lock is held by a sender that never
 * finishes, so the deterministic runner's sleep gives up.
 */
static void
test_mode_switch_lock_failure(void **state)
{
	uint64_t failed0 = counter_u64_fetch(ktls_switch_failed);
	uint64_t active0 = counter_u64_fetch(ktls_offload_active);
	struct harness_keys k;
	struct ktls_session *tls;
	struct testif ti;
	struct harness h;
	struct socket *so;

	(void)state;
	so = nic_session_open(&h, &ti, &k, 92, 1, "aes128_gcm_1_2", 0);
	tls = so->so_snd.sb_tls_info;
	so->so_snd_iolock = true;
	assert_int_not_equal(set_tx_mode(so, TCP_TLS_MODE_SW), 0);
	so->so_snd_iolock = false;
	assert_true(counter_u64_fetch(ktls_switch_failed) == failed0 + 1);
	assert_ptr_equal(so->so_snd.sb_tls_info, tls);
	assert_int_equal(tls->refcount, 1);
	assert_int_equal(tls->mode, TCP_TLS_MODE_IFNET);
	nic_session_close(&h, &ti, so);
	assert_true(counter_u64_fetch(ktls_offload_active) == active0);
}

/*
 * M_RDONLY follows FreeBSD: a write(2) record's anonymous pages are
 * writable until ktls_encrypt() has encrypted them in place and marks the
 * record read-only; sendfile's page-cache pages are read-only from the
 * start (vn_sendfile() allocates them with M_RDONLY).
 */
static void
test_rdonly_after_encrypt(void **state)
{
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct mbuf *m;
	struct wire w;
	uint8_t *data;
	ssize_t wr;
	off_t sb;
	int fd;

	(void)state;
	so = session_open(&h, &w, &k, 93, 1, 0, "aes256_gcm_1_3", 0);
	w.limit = 0;
	data = pattern(5000, 9);
	assert_int_equal(ksim_write(so, data, 5000, &wr), 0);
	m = so->so_snd.sb_mb;
	assert_non_null(m);
	assert_true(m->m_flags & M_NOTREADY);
	assert_false(m->m_flags & M_RDONLY);
	fd = harness_tmpfile(&h.rng, 3000, NULL);
	assert_int_equal(ksim_sendfile(so, fd, 0, 0, NULL, &sb, 0), 0);
	assert_int_equal(sb, 3000);
	assert_non_null(m->m_next);
	assert_true(m->m_next->m_flags & M_RDONLY);
	harness_run(&h);
	assert_ptr_equal(so->so_snd.sb_mb, m);
	assert_false(m->m_flags & M_NOTREADY);
	assert_true(m->m_flags & M_RDONLY);
	assert_true(m->m_next->m_flags & M_RDONLY);
	w.limit = SIZE_MAX;
	tcp_output_kick(so);
	ksim_close(so);
	harness_run(&h);
	assert_true(w.fin);
	close(fd);
	free(data);
	harness_fini(&h);
	wire_fini(&w);
}

/* A pl_wq_wakeup() / pl_wakeup() wrapper that counts calls. */
static void (*orig_wq_wakeup)(struct platform *, int);
static void (*orig_wakeup)(struct platform *, void *);
static int nwq_wakeups;
static void *wakeup_chan;
static int nchan_wakeups;

static void
count_wq_wakeup(struct platform *pl, int idx)
{

	nwq_wakeups++;
	orig_wq_wakeup(pl, idx);
}

static void
count_wakeup(struct platform *pl, void *chan)
{

	if (chan == wakeup_chan)
		nchan_wakeups++;
	orig_wakeup(pl, chan);
}

/*
 * ktls_enqueue() wakes the worker whenever it is not running, as FreeBSD's
 * does (it samples wq->running), not only when the queue was empty: two
 * writes before the worker runs wake it twice.  Once it has drained the
 * queue and found it empty, the next write wakes it again.
 */
static void
test_worker_wakeup_rule(void **state)
{
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t *data, *plain;
	size_t plen, nrec;
	ssize_t wr;

	(void)state;
	so = session_open(&h, &w, &k, 94, 1, 0, "chacha20_poly1305_1_2", 0);
	data = pattern(300, 5);
	orig_wq_wakeup = platform->pl_wq_wakeup;
	platform->pl_wq_wakeup = count_wq_wakeup;
	nwq_wakeups = 0;
	assert_int_equal(ksim_write(so, data, 100, &wr), 0);
	assert_int_equal(ksim_write(so, data + 100, 100, &wr), 0);
	assert_int_equal(nwq_wakeups, 2);
	harness_run(&h);
	assert_int_equal(ksim_write(so, data + 200, 100, &wr), 0);
	assert_int_equal(nwq_wakeups, 3);
	harness_run(&h);
	platform->pl_wq_wakeup = orig_wq_wakeup;
	harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(nrec, 3);
	assert_int_equal(plen, 300);
	assert_memory_equal(plain, data, 300);
	free(plain);
	ksim_close(so);
	harness_run(&h);
	free(data);
	harness_fini(&h);
	wire_fini(&w);
}

static uint64_t inq_at_ready;
static int nready;

static void
note_inqueue(void *arg, enum ktls_trace_event ev, struct socket *so,
    const struct mbuf *m)
{

	(void)arg;
	(void)so;
	(void)m;
	if (ev == KTR_READY) {
		inq_at_ready = counter_u64_fetch(ktls_cnt_tx_queued);
		nready++;
	}
}

/*
 * stats.sw_tx_inqueue counts a batch until the worker loop is done with
 * it: FreeBSD's ktls_work_thread() decrements it after ktls_encrypt()
 * returns, so with synchronous encryption the batch is still counted when
 * pr_ready() makes it sendable.
 */
static void
test_inqueue_until_handed_on(void **state)
{
	struct ktls_trace_hooks hooks = { .th_record = note_inqueue };
	uint64_t inq0 = counter_u64_fetch(ktls_cnt_tx_queued);
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t data[100];
	ssize_t wr;

	(void)state;
	memset(data, 'q', sizeof(data));
	so = session_open(&h, &w, &k, 95, 1, 0, "aes128_gcm_1_2", 0);
	nready = 0;
	ktls_trace_hooks = &hooks;
	assert_int_equal(ksim_write(so, data, sizeof(data), &wr), 0);
	assert_true(counter_u64_fetch(ktls_cnt_tx_queued) == inq0 + 1);
	harness_run(&h);
	ktls_trace_hooks = NULL;
	assert_int_equal(nready, 1);
	assert_true(inq_at_ready == inq0 + 1);
	assert_true(counter_u64_fetch(ktls_cnt_tx_queued) == inq0);
	ksim_close(so);
	harness_run(&h);
	harness_fini(&h);
	wire_fini(&w);
}

static int
fail_encrypt(struct ktls_session *tls, struct mbuf *m,
    const struct iovec *outiov, int outiovcnt)
{

	(void)tls;
	(void)m;
	(void)outiov;
	(void)outiovcnt;
	return (EIO);
}

/*
 * Encryption fails on a connection that was dropped meanwhile: ktls_drop()
 * records EIO in so_error and frees the record, and wakes no writer
 * (FreeBSD wakes the receive side, which the simulator does not have).
 * No writer can really be asleep there (the drop woke them and a dropped
 * socket refuses sends), so SB_WAIT is set by hand to see whether one
 * would be woken.
 */
static void
test_drop_after_failed_encrypt(void **state)
{
	const struct ktls_crypto_backend *real = ktls_backend;
	struct ktls_crypto_backend failing = *ktls_backend;
	uint64_t failed0 = counter_u64_fetch(ktls_offload_failed_crypto);
	uint64_t active0 = counter_u64_fetch(ktls_offload_active);
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t data[100];
	ssize_t wr;

	(void)state;
	memset(data, 'x', sizeof(data));
	failing.kb_encrypt = fail_encrypt;
	ktls_backend = &failing;
	so = session_open(&h, &w, &k, 96, 1, 0, "aes128_gcm_1_2", 0);
	assert_int_equal(ksim_write(so, data, sizeof(data), &wr), 0);
	ksim_drop(so, ECONNRESET);
	so->so_snd.sb_flags |= SB_WAIT;
	orig_wakeup = platform->pl_wakeup;
	platform->pl_wakeup = count_wakeup;
	wakeup_chan = &so->so_snd;
	nchan_wakeups = 0;
	harness_run(&h);
	platform->pl_wakeup = orig_wakeup;
	ktls_backend = real;
	assert_true(
	    counter_u64_fetch(ktls_offload_failed_crypto) == failed0 + 1);
	assert_int_equal(so->so_error, EIO);
	assert_int_equal(nchan_wakeups, 0);
	assert_int_equal(w.len, 0);
	so->so_snd.sb_flags &= ~SB_WAIT;
	ksim_close(so);
	harness_run(&h);
	assert_true(counter_u64_fetch(ktls_offload_active) == active0);
	harness_fini(&h);
	wire_fini(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_refcount_write_path),
		harness_unit_test(test_refcount_drop_in_flight),
		harness_unit_test(test_session_outlives_socket),
		harness_unit_test(test_crypto_failure_drops),
		harness_unit_test(test_tls10_enqueue_order),
		harness_unit_test(test_tls10_mode_switch),
		harness_unit_test(test_mode_switch_lock_failure),
		harness_unit_test(test_rdonly_after_encrypt),
		harness_unit_test(test_worker_wakeup_rule),
		harness_unit_test(test_inqueue_until_handed_on),
		harness_unit_test(test_drop_after_failed_encrypt),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
