/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Seeded fault scenarios end to end: the simulated kernel's TCP sends a
 * KTLS session in ifnet mode through the NIC engine's ifnet
 * (models/nic/nic_ifnet.h) onto a lossy link (models/link), whose
 * receiver reassembles the stream and ACKs back to TCP.  Each seed draws
 * a scenario: NIC profile, a suite the profile takes, write(2) or
 * sendfile(2), file size, link faults (random and burst loss, targeted
 * loss of record ends, split headers and split tags, reordering,
 * duplication, ACK loss, delayed ACKs), disk delay, buffer sizes, worker
 * count.  Every run must deliver the file: tests/lib's oracle decrypts
 * the reassembled stream; no emitted segment holds plaintext; the engine's
 * counters obey the profiles' rules; every tag, session and socket
 * reference is released.  docs/nic-engine.md, "Fault scenarios", has the
 * replay recipe: FAULTS_SEED=N runs one seed and prints what it did.
 *
 * SIM: ip_output_send() does not stamp send tags yet, and ktls_try_ifnet()
 * does not exist, so the test puts the session in ifnet mode the way
 * tcp_test does (harness_pretend_ifnet()), allocates the tag through the
 * interface's if_snd_tag_alloc itself, and routes the connection through
 * a shim interface that stamps it on every packet of the session, as
 * ip_output_send() will (sys/netinet/ip_output.c).
 */

#include <sys/socket.h>

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "link.h"
#include "net/if_var.h"
#include "net/route/nhop.h"
#include "netinet/tcp_var.h"
#include "nic.h"
#include "nic_ifnet.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/sendfile_sim.h"
#include "sys/socketvar.h"

/* Seeds in the default run; FAULTS_RUNS overrides, 'soak' runs more. */
#define FAULTS_RUNS_DEFAULT 1000
#define FAULTS_RUNS_SOAK 20000
/* Plaintext runs this long or longer are caught (see gram_*). */
#define GRAM 8

struct scen {
	uint64_t seed;
	enum nic_profile prof;
	const struct test_suite *suite;
	bool sendfile;
	size_t size;
	size_t maxchunk; /* write(2) sizes: 1 .. maxchunk */
	uint64_t disk_ns;
	u_int sndbuf;
	uint32_t rwnd;
	int ncpus;
	uint64_t seqno;
	unsigned int resync_faults; /* NIC_FAULT_RESYNC armed (mlx5, linux) */
	struct link_conf lc;
};

struct run {
	struct scen *sc;
	struct harness h;
	struct harness_keys k;
	struct nic *nic;
	struct nic_path *np;
	struct nic_ifnet *nif;
	struct ifnet shim;
	struct nhop_object shim_nh;
	struct m_snd_tag *mst;
	struct socket *so;
	struct ktls_session *tls;
	uint8_t *file;
	uint8_t *rcv;
	size_t rcvlen, rcvcap;
	bool fin;
	/* Grams of the file, for the plaintext check. */
	uint32_t *gram;
	size_t gmask;
	uint64_t leak_segs;
	uint64_t leak_at;
	uint64_t timeoutdrop0; /* tcps_timeoutdrop before the run */
};

/* TCP gave up on the connection (see run_one()). */
static bool
timed_out(const struct run *r)
{

	return (tcpstat.tcps_timeoutdrop > r->timeoutdrop0);
}

/* The scenario in progress, printed by the teardown if it failed. */
static char cur_desc[1024];
static uint64_t cur_seed;
static bool cur_active;
static bool verbose;
static bool nic_faults;	    /* FAULTS_NIC: arm the engine's resync fault */
static uint64_t n_timedout; /* runs TCP timed out */
static bool trace;	    /* FAULTS_TRACE: every link event */

static uint64_t
rnd(struct test_rng *g, uint64_t n)
{

	return (n == 0 ? 0 : test_rng_u64(g) % n);
}

static double
rndp(struct test_rng *g, double max)
{

	return ((double)(test_rng_u64(g) >> 11) / (double)(1ull << 53) * max);
}

/* The suites prof's driver takes (nic_profile_check()). */
static const struct test_suite *
pick_suite(struct test_rng *g, enum nic_profile prof)
{
	const struct test_suite *ok[64];
	struct tls_session_params p;
	int i, n;

	n = 0;
	for (i = 0; i < test_nsuites; i++) {
		memset(&p, 0, sizeof(p));
		p.cipher_algorithm = test_suites[i].cipher_algorithm;
		p.cipher_key_len = (uint16_t)test_suites[i].cipher_key_len;
		p.auth_algorithm = test_suites[i].auth_algorithm;
		p.auth_key_len = (uint16_t)test_suites[i].auth_key_len;
		p.iv_len = (uint16_t)test_suites[i].iv_len;
		p.tls_vmajor = TLS_MAJOR_VER_ONE;
		p.tls_vminor = (uint8_t)test_suites[i].tls_vminor;
		if (nic_profile_check(prof, &p) == 0)
			ok[n++] = &test_suites[i];
	}
	assert_true(n > 0);
	return (ok[rnd(g, (uint64_t)n)]);
}

static void
scen_draw(struct scen *sc, uint64_t seed)
{
	struct link_path_conf *d = &sc->lc.lc_data, *a = &sc->lc.lc_ack;
	struct link_drop *ld;
	struct test_rng g;
	uint64_t u;

	memset(sc, 0, sizeof(*sc));
	test_rng_seed(&g, seed ^ 0x6661756c7473ull);
	sc->seed = seed;
	sc->prof = (enum nic_profile)rnd(&g, NIC_NPROFILES);
	sc->suite = pick_suite(&g, sc->prof);
	sc->sendfile = rnd(&g, 2) == 0;
	u = rnd(&g, 10);
	sc->size = u < 3 ? 1 + rnd(&g, 4096) :
	    u < 8	 ? 4096 + rnd(&g, 60 * 1024) :
			   64 * 1024 + rnd(&g, 192 * 1024);
	sc->maxchunk =
	    rnd(&g, 3) == 0 ? 1 + rnd(&g, 600) : 1 + rnd(&g, 64 * 1024);
	sc->disk_ns = sc->sendfile && rnd(&g, 2) ? rnd(&g, 5 * 1000 * 1000) : 0;
	sc->sndbuf = 16 * 1024 + (u_int)rnd(&g, 240 * 1024);
	sc->rwnd = 32 * 1024 + (uint32_t)rnd(&g, 480 * 1024);
	sc->ncpus = 1 + (int)rnd(&g, 2);
	sc->seqno = rnd(&g, 3) == 0 ? rnd(&g, 1000) : 0;

	/*
	 * NIC_FAULT_RESYNC drops the packet that needed a resync, with
	 * ENOBUFS.  Off by default: after a fast retransmission that the
	 * interface refuses, tcp_output() arms no retransmission timer and
	 * the connection stalls (FreeBSD arms it before ip_output(); see
	 * TCP_XMIT_TIMER_ASSERT in sys/netinet/tcp_output.c).  FAULTS_NIC=1
	 * turns them on (e.g. FAULTS_NIC=1 FAULTS_SEED=10).
	 */
	u = rnd(&g, 5);
	if (nic_faults && sc->prof != NIC_PROFILE_T6 && u == 0)
		sc->resync_faults = 1 + (unsigned int)rnd(&g, 3);
	sc->lc.lc_seed = test_rng_u64(&g);
	d->lp_delay_ns = (1 + rnd(&g, 20)) * 1000 * 1000;
	d->lp_jitter_ns = rnd(&g, 2) ? rnd(&g, 2 * 1000 * 1000) : 0;
	if (rnd(&g, 10) >= 3)
		d->lp_loss = rndp(&g, 0.10);
	if (rnd(&g, 10) < 3) {
		d->lp_burst_enter = 0.005 + rndp(&g, 0.045);
		d->lp_burst_leave = 0.3 + rndp(&g, 0.5);
		d->lp_burst_loss = 0.5 + rndp(&g, 0.5);
	}
	if (rnd(&g, 10) < 3) {
		d->lp_reorder = rndp(&g, 0.05);
		d->lp_reorder_ns = (1 + rnd(&g, 10)) * 1000 * 1000;
	}
	if (rnd(&g, 10) < 2) {
		d->lp_dup = rndp(&g, 0.05);
		d->lp_dup_ns = rnd(&g, 5 * 1000 * 1000);
	}
	if (rnd(&g, 10) < 3) {
		ld = &d->lp_drops[d->lp_ndrops++];
		switch (rnd(&g, 3)) {
		case 0:
			ld->ld_tags_any = LINK_TAG_RECORD_END;
			break;
		case 1:
			ld->ld_tags_any = LINK_TAG_SPLIT_HDR;
			break;
		default:
			ld->ld_tags_any = LINK_TAG_SPLIT_TAG;
			break;
		}
		if (rnd(&g, 2)) {
			ld->ld_tags_none = LINK_TAG_REXMIT;
			ld->ld_prob = rndp(&g, 0.5);
			ld->ld_max = 1 + rnd(&g, 8);
		} else
			ld->ld_nth = 1 + rnd(&g, 4);
	}
	a->lp_delay_ns = (1 + rnd(&g, 20)) * 1000 * 1000;
	if (rnd(&g, 10) < 2)
		a->lp_loss = rndp(&g, 0.05);
	if (rnd(&g, 10) < 3) {
		sc->lc.lc_rcv.lr_ack_every = 2;
		sc->lc.lc_rcv.lr_delack_ns = 40 * 1000 * 1000;
	}
	if (rnd(&g, 2))
		sc->lc.lc_rcv.lr_sack = 1 + (int)rnd(&g, 3);
	sc->lc.lc_rcv.lr_wnd = sc->rwnd;
}

static void
scen_describe(const struct scen *sc, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len,
	    "seed %" PRIu64 ": profile %s, suite %s, %s, %zu bytes "
	    "(chunks <= %zu), disk %" PRIu64 " ns, sndbuf %u, rwnd %u, "
	    "%d cpu(s), seqno %" PRIu64 ", %u resync fault(s), link ",
	    sc->seed, nic_profile_name(sc->prof), sc->suite->name,
	    sc->sendfile ? "sendfile" : "write", sc->size, sc->maxchunk,
	    sc->disk_ns, sc->sndbuf, sc->rwnd, sc->ncpus, sc->seqno,
	    sc->resync_faults);
	if (n > 0 && (size_t)n < len)
		link_conf_format(&sc->lc, buf + n, len - (size_t)n);
}

/*
 * The plaintext check: an index of the file's 8-byte grams at offsets
 * that are multiples of 8.  A segment position whose 8 bytes hit and
 * whose next 8 match the file too is a leak; any run of 23 or more
 * plaintext bytes contains such a position.  Payloads are random, so a
 * chance match of 16 bytes does not happen.
 */
static uint64_t
gram_hash(uint64_t k)
{

	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (k);
}

static void
gram_build(struct run *r)
{
	size_t n, cap, off, i;
	uint64_t k;

	n = r->sc->size / GRAM;
	for (cap = 64; cap < 2 * n; cap *= 2)
		;
	r->gram = calloc(cap, sizeof(*r->gram));
	assert_non_null(r->gram);
	r->gmask = cap - 1;
	for (off = 0; off + 2 * GRAM <= r->sc->size; off += GRAM) {
		memcpy(&k, r->file + off, GRAM);
		for (i = gram_hash(k) & r->gmask; r->gram[i] != 0;
		     i = (i + 1) & r->gmask)
			;
		r->gram[i] = (uint32_t)off + 1;
	}
}

static bool
gram_leak(const struct run *r, const uint8_t *p)
{
	uint64_t k;
	size_t i, off;

	memcpy(&k, p, GRAM);
	for (i = gram_hash(k) & r->gmask; r->gram[i] != 0;
	     i = (i + 1) & r->gmask) {
		off = r->gram[i] - 1;
		if (memcmp(r->file + off, p, 2 * GRAM) == 0)
			return (true);
	}
	return (false);
}

/* Every segment as it enters the wire, retransmissions and losses too. */
static void
on_trace(void *arg, const struct link_event *ev)
{
	struct run *r = arg;
	const struct link_seg *s = ev->le_seg;
	uint32_t p;

	if (trace)
		print_message("faults: %" PRIu64 " %s %s id %" PRIu64
			      " seq %" PRIu64 " len %" PRIu64 " tags %#x\n",
		    ev->le_time, ev->le_path == LINK_PATH_DATA ? "data" : "ack",
		    link_ev_name(ev->le_type), ev->le_id, ev->le_seq,
		    ev->le_len, s != NULL ? s->ls_tags : 0);
	if (ev->le_type != LINK_EV_SEND || ev->le_path != LINK_PATH_DATA ||
	    s == NULL || s->ls_len < 2 * GRAM)
		return;
	for (p = 0; p + 2 * GRAM <= s->ls_len; p++)
		if (gram_leak(r, s->ls_data + p)) {
			if (r->leak_segs++ == 0)
				r->leak_at = s->ls_seq + p;
			return;
		}
}

static size_t
on_data(void *arg, const uint8_t *buf, size_t len)
{
	struct run *r = arg;
	size_t ncap;

	if (r->rcvlen + len > r->rcvcap) {
		ncap = r->rcvcap ? r->rcvcap : 65536;
		while (ncap < r->rcvlen + len)
			ncap *= 2;
		r->rcv = realloc(r->rcv, ncap);
		assert_non_null(r->rcv);
		r->rcvcap = ncap;
	}
	memcpy(r->rcv + r->rcvlen, buf, len);
	r->rcvlen += len;
	return (len);
}

static void
on_fin(void *arg)
{
	struct run *r = arg;

	r->fin = true;
}

/* What ip_output_send() will do: stamp the session's tag (see above). */
static int
shim_transmit(struct ifnet *ifp, struct mbuf *m)
{
	struct run *r = ifp->if_softc;
	struct ifnet *nifp = nic_ifnet_ifp(r->nif);

	if (r->mst != NULL && m->m_next != NULL &&
	    mbuf_has_tls_session(m->m_next)) {
		m->m_pkthdr.snd_tag = m_snd_tag_ref(r->mst);
		m->m_pkthdr.csum_flags |= CSUM_SND_TAG;
	}
	return (nifp->if_transmit(nifp, m));
}

#define FAIL(r, ...)                                             \
	do {                                                     \
		print_message("faults: %s\nfaults: replay with " \
			      "%sFAULTS_SEED=%" PRIu64 "\n",     \
		    cur_desc, nic_faults ? "FAULTS_NIC=1 " : "", \
		    (r)->sc->seed);                              \
		cur_active = false;                              \
		fail_msg(__VA_ARGS__);                           \
	} while (0)

static void
send_data(struct run *r)
{
	struct scen *sc = r->sc;
	struct test_rng g;
	size_t off, n;
	ssize_t wr;
	off_t sbytes;
	int fd, error;

	test_rng_seed(&g, sc->seed + 1);
	if (sc->sendfile) {
		fd = harness_tmpfile(&g, sc->size, &r->file);
		gram_build(r);
		sendfile_sim_io_delay_ns = sc->disk_ns;
		sendfile_sim_cache_flush();
		sbytes = 0;
		error = ksim_sendfile(r->so, fd, 0, 0, NULL, &sbytes, 0);
		close(fd);
		if ((error != 0 || (size_t)sbytes != sc->size) && !timed_out(r))
			FAIL(r, "sendfile: error %d, %jd of %zu bytes", error,
			    (intmax_t)sbytes, sc->size);
		return;
	}
	r->file = malloc(sc->size);
	assert_non_null(r->file);
	test_rng_bytes(&g, r->file, sc->size);
	gram_build(r);
	for (off = 0; off < sc->size; off += n) {
		n = 1 + rnd(&g, sc->maxchunk);
		if (n > sc->size - off)
			n = sc->size - off;
		error = ksim_write(r->so, r->file + off, n, &wr);
		if ((error != 0 || (size_t)wr != n) && timed_out(r))
			return;
		if (error != 0 || (size_t)wr != n)
			FAIL(r, "write at %zu: error %d, %zd of %zu bytes", off,
			    error, wr, n);
	}
}

static void
print_counter(void *arg, const char *name, uint64_t value, const char *desc)
{

	(void)arg;
	(void)desc;
	if (value != 0)
		print_message("faults:   %s %" PRIu64 "\n", name, value);
}

/* The engine's books after the run: the rules of docs/nic-engine.md. */
static void
check_counters(struct run *r, const struct nic_ifnet_stats *st,
    const struct link_stats *ls)
{
	const struct nic_counters *c = nic_counters(r->nic);
	enum nic_profile prof = r->sc->prof;

	if (c->hw_state_errors != 0 || c->untagged_tls_bytes != 0 ||
	    st->untagged_tls_bytes != 0)
		FAIL(r,
		    "wrong or plaintext bytes: hw_state_errors %" PRIu64
		    ", untagged %" PRIu64 "/%" PRIu64,
		    c->hw_state_errors, c->untagged_tls_bytes,
		    st->untagged_tls_bytes);
	if (c->drops_lost_context + c->drops_not_ready + c->drops_bad_request +
		c->drops_tag_mismatch !=
	    0)
		FAIL(r, "the engine dropped packets without a fault");
	/* An armed resync fault drops the packet that needed the resync. */
	if (c->drops_resync_failed > r->sc->resync_faults ||
	    st->drops != c->drops_resync_failed)
		FAIL(r,
		    "%" PRIu64 " resync drops (%u armed), %" PRIu64
		    " interface drops",
		    c->drops_resync_failed, r->sc->resync_faults, st->drops);
	if (c->wire_bytes_payload != st->wire_bytes ||
	    ls->ls_data.lps_sent_bytes != st->wire_bytes)
		FAIL(r,
		    "wire bytes: engine %" PRIu64 ", ifnet %" PRIu64
		    ", link %" PRIu64,
		    c->wire_bytes_payload, st->wire_bytes,
		    ls->ls_data.lps_sent_bytes);
	if (st->tagged_packets != st->record_packets)
		FAIL(r, "%" PRIu64 " of %" PRIu64 " record packets tagged",
		    st->tagged_packets, st->record_packets);
	if (prof == NIC_PROFILE_T6)
		return;
	if (st->rexmit_segs == 0) {
		/* In order: the device context alone, no host touch. */
		if (c->dma_bytes_resync != 0 ||
		    c->host_cpu_touched_payload_bytes != 0 ||
		    c->fallback_packets != 0 ||
		    c->tx_ooo != (prof == NIC_PROFILE_MLX5 ? 1 : 0))
			FAIL(r,
			    "in order, yet resync %" PRIu64
			    ", host-touched %" PRIu64 ", fallback %" PRIu64
			    ", ooo %" PRIu64,
			    c->dma_bytes_resync,
			    c->host_cpu_touched_payload_bytes,
			    c->fallback_packets, c->tx_ooo);
	} else if (prof == NIC_PROFILE_MLX5 ?
		c->tx_ooo < 2 || c->resync_events < 2 :
		c->fallback_packets == 0) {
		FAIL(r,
		    "%" PRIu64 " retransmitted segments but ooo %" PRIu64
		    ", resyncs %" PRIu64 ", fallback %" PRIu64,
		    st->rexmit_segs, c->tx_ooo, c->resync_events,
		    c->fallback_packets);
	}
}

static void
run_one(uint64_t seed)
{
	union if_snd_tag_alloc_params params;
	const struct nic_ifnet_stats *st;
	struct ksim_tcpinfo ti;
	struct nic_config ncfg;
	struct link_stats ls;
	struct oracle *o;
	struct scen sc;
	struct run r;
	struct oracle_record rec;
	size_t plen, nrec, off;
	bool timedout;
	char why[256];
	unsigned int left;
	int error;

	scen_draw(&sc, seed);
	scen_describe(&sc, cur_desc, sizeof(cur_desc));
	cur_seed = seed;
	cur_active = true;
	if (verbose)
		print_message("faults: %s\n", cur_desc);
	memset(&r, 0, sizeof(r));
	r.sc = &sc;
	harness_init(&r.h, HARNESS_DET, seed, sc.ncpus);
	/*
	 * Due-time order: the random policy may run a 64 s retransmission
	 * timer before a 10 ms ACK (sim/runner/runner_det.c), and TCP then
	 * times the connection out; the link's seed is the randomness here.
	 */
	sim_det_set_policy(r.h.pl, SIM_DET_FIFO);

	memset(&ncfg, 0, sizeof(ncfg));
	ncfg.profile = sc.prof;
	r.nic = nic_create(&ncfg);
	assert_non_null(r.nic);
	nic_inject(r.nic, NIC_FAULT_RESYNC, sc.resync_faults);
	sc.lc.lc_data_cb = on_data;
	sc.lc.lc_fin_cb = on_fin;
	sc.lc.lc_rcv_arg = &r;
	sc.lc.lc_trace_cb = on_trace;
	sc.lc.lc_trace_arg = &r;
	r.np = nic_path_create(r.h.pl, &sc.lc, why, sizeof(why));
	if (r.np == NULL)
		FAIL(&r, "link: %s", why);
	r.nif = nic_ifnet_create("mce0", r.nic, r.np, 1500);
	assert_non_null(r.nif);
	r.shim.if_softc = &r;
	r.shim.if_mtu = 1500;
	r.shim.if_transmit = shim_transmit;
	r.shim_nh.nh_ifp = &r.shim;
	r.shim_nh.nh_mtu = 1500;

	assert_int_equal(ksim_socket(SOCK_STREAM, &r.so), 0);
	assert_int_equal(ksim_connect_route(r.so, &r.shim_nh, (uint32_t)seed,
			     sc.rwnd),
	    0);
	nic_path_connect(r.np, r.so);
	harness_sndbuf(r.so, sc.sndbuf, 2048);
	harness_keys(&r.h, sc.suite, sc.seqno, &r.k);
	assert_int_equal(harness_enable(r.so, &r.k), 0);
	r.tls = ktls_hold(harness_pretend_ifnet(r.so));

	memset(&params, 0, sizeof(params));
	params.tls.hdr.type = IF_SND_TAG_TYPE_TLS;
	params.tls.hdr.flowid = (uint32_t)seed;
	params.tls.inp = sotoinpcb(r.so);
	params.tls.tls = r.tls;
	error = m_snd_tag_alloc(nic_ifnet_ifp(r.nif), &params, &r.mst);
	if (error != 0)
		FAIL(&r, "if_snd_tag_alloc: %d", error);

	r.timeoutdrop0 = tcpstat.tcps_timeoutdrop;
	send_data(&r);
	ksim_close(r.so);
	harness_run(&r.h);

	/* The stream arrived whole and once, and is the file. */
	link_stats(nic_path_link(r.np), &ls);
	ksim_tcpinfo(r.so, &ti);
	st = nic_ifnet_stats(r.nif);
	/*
	 * Go-back-N without timestamps gets no RTT sample until new data is
	 * acknowledged (Karn), so a burst that eats a dozen retransmissions
	 * times the connection out (tcp_timer_rexmt()).  That is TCP's
	 * answer, not a failure of the path: what arrived must still be a
	 * prefix of the file in whole records, and everything is released.
	 */
	timedout = ti.state == TCPS_CLOSED && timed_out(&r);
	if (timedout)
		n_timedout++;
	if (!timedout && (!r.fin || !ti.fin_acked)) {
		nic_counters_foreach(r.nic, print_counter, NULL);
		FAIL(&r,
		    "stalled: %zu bytes in order, fin %d/%d, "
		    "snd_una %" PRIu64 " snd_max %" PRIu64 ", state %d",
		    r.rcvlen, r.fin, ti.fin_acked, ti.snd_una, ti.snd_max,
		    ti.state);
	}
	if (ls.ls_rcv.lrs_mismatch_segs != 0)
		FAIL(&r,
		    "a retransmission differed from the first copy at "
		    "%" PRIu64,
		    ls.ls_rcv.lrs_first_mismatch);
	if (r.leak_segs != 0)
		FAIL(&r,
		    "%" PRIu64 " segment(s) carried plaintext, first at "
		    "stream offset %" PRIu64,
		    r.leak_segs, r.leak_at);
	/*
	 * A segment that starts below snd_max counts as a retransmission
	 * whole, also when it runs past it (tcp_account_for_send()).
	 */
	if (!timedout &&
	    (ti.sndbytes > r.rcvlen ||
		ti.sndbytes + ti.snd_rxt_bytes < r.rcvlen))
		FAIL(&r,
		    "TCP sent %" PRIu64 " new and %" PRIu64
		    " retransmitted bytes, %zu arrived",
		    ti.sndbytes, ti.snd_rxt_bytes, r.rcvlen);
	o = oracle_new(sc.suite, r.k.cipher_key, r.k.iv, r.k.auth_key,
	    sc.seqno);
	assert_non_null(o);
	plen = nrec = 0;
	for (off = 0; off < r.rcvlen; off += rec.reclen) {
		error = oracle_next(o, r.rcv + off, r.rcvlen - off, &rec);
		if (error == ORACLE_INCOMPLETE && timedout)
			break;
		if (error != 0)
			FAIL(&r, "oracle at stream offset %zu: %s", off,
			    oracle_error(o));
		if (rec.plen > sc.size - plen ||
		    memcmp(rec.plain, r.file + plen, rec.plen) != 0)
			FAIL(&r, "record %zu at %zu is not the file's bytes",
			    nrec, off);
		plen += rec.plen;
		nrec++;
	}
	oracle_free(o);
	if (!timedout && plen != sc.size)
		FAIL(&r, "decrypted %zu bytes, not the file's %zu", plen,
		    sc.size);
	if (!timedout)
		check_counters(&r, st, &ls);
	if (verbose) {
		print_message("faults: %zu records, %" PRIu64
			      " wire segments (%" PRIu64
			      " retransmitted), link lost %" PRIu64 "+%" PRIu64
			      "+%" PRIu64 "\n",
		    nrec, st->wire_segs, st->rexmit_segs,
		    ls.ls_data.lps_lost[LINK_LOSS_RANDOM],
		    ls.ls_data.lps_lost[LINK_LOSS_BURST],
		    ls.ls_data.lps_lost[LINK_LOSS_TARGETED]);
		nic_counters_foreach(r.nic, print_counter, NULL);
	}

	/* Every reference goes: tag, packets, records, socket, session. */
	m_snd_tag_rele(r.mst);
	if (nic_tags_live(r.nic) != 0)
		FAIL(&r, "%u tag(s) still live after the last release",
		    nic_tags_live(r.nic));
	if (nic_path_destroy(r.np) != 0)
		FAIL(&r, "the path still has tasks pending");
	if (r.tls->refcount != 1)
		FAIL(&r, "session: %u references left, not 1", r.tls->refcount);
	ktls_free(r.tls);
	left = nic_ifnet_destroy(r.nif);
	if (left != 0)
		FAIL(&r, "ifnet: %u references left", left);
	left = nic_destroy(r.nic);
	if (left != 0)
		FAIL(&r, "nic_destroy: %u tags leaked", left);
	harness_fini(&r.h);
	sendfile_sim_io_delay_ns = 0;
	free(r.file);
	free(r.rcv);
	free(r.gram);
	cur_active = false;
}

static uint64_t
env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return (def);
	v = strtoull(s, &end, 0);
	if (*end != '\0') {
		print_message("faults: %s=%s is not a number\n", name, s);
		exit(2);
	}
	return (v);
}

static uint64_t runs_default = FAULTS_RUNS_DEFAULT;

/* FAULTS_SEED=N: that seed alone, verbosely; else FAULTS_RUNS seeds. */
static void
test_seeds(void **state)
{
	uint64_t first, n, i;

	(void)state;
	nic_faults = env_u64("FAULTS_NIC", 0) != 0;
	if (getenv("FAULTS_SEED") != NULL) {
		verbose = true;
		trace = getenv("FAULTS_TRACE") != NULL;
		run_one(env_u64("FAULTS_SEED", 0));
		return;
	}
	n = env_u64("FAULTS_RUNS", runs_default);
	first = env_u64("FAULTS_FIRST", 1);
	n_timedout = 0;
	for (i = 0; i < n; i++)
		run_one(first + i);
	print_message("faults: %" PRIu64 " seeds from %" PRIu64 ", %" PRIu64
		      " timed out by TCP\n",
	    n, first, n_timedout);
	/* Rare by construction of the loss rates; many means a stall. */
	assert_true(n_timedout * 100 <= n);
}

static int
faults_teardown(void **state)
{

	if (cur_active)
		print_message("faults: failed in %s\nfaults: replay with "
			      "%sFAULTS_SEED=%" PRIu64 "\n",
		    cur_desc, nic_faults ? "FAULTS_NIC=1 " : "", cur_seed);
	cur_active = false;
	sendfile_sim_io_delay_ns = 0;
	return (harness_teardown(state));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seeds, harness_setup,
		    faults_teardown),
	};

	if (argc > 1 && strcmp(argv[1], "soak") == 0)
		runs_default = FAULTS_RUNS_SOAK;
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
