/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Seeded fault scenarios end to end: the simulated kernel's TCP sends a
 * KTLS session through the NIC engine's ifnet (models/nic/nic_ifnet.h)
 * onto a lossy link (models/link), whose receiver reassembles the stream
 * and ACKs back to TCP.  The session takes its send tag the way FreeBSD's
 * does: kern.ipc.tls.ifnet.permitted is on, the route names the NIC's
 * interface, and ktls_enable_tx() gets the tag through ktls_try_ifnet()
 * and the driver's if_snd_tag_alloc; ip_output_send() stamps it on every
 * packet of the session's records (sys/kern/uipc_ktls.c,
 * sys/netinet/ip_output.c).
 *
 * Each seed draws a scenario: NIC profile, a suite the profile takes,
 * write(2) or sendfile(2), file size, link faults (random and burst loss,
 * targeted loss of record ends, split headers and split tags, reordering,
 * duplication, ACK loss, delayed ACKs), disk delay, buffer sizes, worker
 * count, kern.ipc.tls.ifnet_max_rexmit_pct, and up to three events at
 * packet boundaries: route flips (to a second TLS NIC, to a plain
 * interface, and back before or after the reset task), a firmware reset of
 * the card, tag allocation failures at enable and at reset, and
 * TCP_TXTLS_MODE switches either way with data in flight.  Every run must
 * deliver the file, or end the way TCP or KTLS is meant to end it, and:
 * every byte put on the wire is the byte tests/lib's oracle authenticated
 * at that stream offset; no segment holds plaintext of the file; the
 * engine's counters obey the profiles' rules; the socket buffer passes
 * sbcheck() at every packet; every tag, session and socket reference is
 * released.  docs/nic-engine.md, "Fault scenarios", has the replay recipe:
 * FAULTS_SEED=N runs one seed and prints what it did.
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
#include "models/disk/disk.h"
#include "sys/socketvar.h"

/* Seeds in the default run; FAULTS_RUNS overrides, 'soak' runs more. */
#define FAULTS_RUNS_DEFAULT 1000
#define FAULTS_RUNS_SOAK 20000
/* Plaintext runs this long or longer are caught (see gram_*). */
#define GRAM 8

/*
 * Events at packet boundaries (docs/nic-engine.md, "Fault scenarios").
 * The interfaces: 0 the NIC the connection starts on, 1 a second NIC of
 * the same profile, 2 a plain interface without TXTLS.
 */
enum ev_kind {
	EV_FLIP,       /* the route moves to ev_if */
	EV_FLIP_BACK,  /* to ev_if, and back to 0 ev_ns later */
	EV_FW_RESET,   /* firmware reset of the card the route names */
	EV_RESET_FAIL, /* card 1 refuses tags from now on; route to it */
	EV_MODE,       /* TCP_TXTLS_MODE ev_mode, from a task; ev_ns != 0:
			  back to IFNET that much after a switch to SW */
	EV_NKINDS
};

static const char *const ev_names[EV_NKINDS] = { "flip", "flip-back",
	"fw-reset", "reset-fail", "mode" };

#define NEVENTS 3
#define NIFS 3

struct ev {
	enum ev_kind ev_kind;
	uint64_t ev_at; /* after the ev_at-th packet handed to an interface */
	int ev_if;
	int ev_mode;
	uint64_t ev_ns;
};

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
	u_int rexmit_pct;	    /* kern.ipc.tls.ifnet_max_rexmit_pct */
	bool enable_fail;	    /* the tag allocation at enable fails */
	int nev;
	struct ev ev[NEVENTS];
	struct link_conf lc;
};

/* Every segment that entered the wire: stream offset, length, bytes. */
struct wlog {
	uint64_t off;
	uint32_t len;
	size_t at; /* in run.wbytes */
};

struct run {
	struct scen *sc;
	struct harness h;
	struct harness_keys k;
	struct nic *nic[2];
	struct nic_path *np;
	struct nic_ifnet *nif[NIFS];
	struct socket *so;
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
	uint64_t resetdrop0;   /* ifnet.reset_dropped before the run */
	uint64_t npkts;	       /* packets handed to the interfaces */
	int evdone;	       /* events that happened */
	int nmode_ok;	       /* TCP_TXTLS_MODE switches that succeeded */
	bool may_drop;	       /* an event may make KTLS drop the connection */
	struct wlog *wlog;
	size_t nwlog, wlogcap;
	uint8_t *wbytes;
	size_t wbyteslen, wbytescap;
};

#define STAT(f) counter_u64_fetch(ktls_##f)

/* TCP gave up on the connection (see run_one()). */
static bool
timed_out(const struct run *r)
{

	return (tcpstat.tcps_timeoutdrop > r->timeoutdrop0);
}

/* KTLS dropped it: no send tag to be had on the new route. */
static bool
reset_dropped(const struct run *r)
{

	return (STAT(ifnet_reset_dropped) > r->resetdrop0);
}

/* The scenario in progress, printed by the teardown if it failed. */
static char cur_desc[2048];
static uint64_t cur_seed;
static bool cur_active;
static bool verbose;
static bool nic_faults;	    /* FAULTS_NIC: arm the engine's resync fault */
static uint64_t n_timedout; /* runs TCP timed out */
static uint64_t n_dropped;  /* runs KTLS dropped after an event */
static uint64_t n_events;   /* events that happened */
static uint64_t n_lost;	    /* packets a card dropped for a lost context */
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

/*
 * The stack's side, from a stream of its own so that the link and the
 * profile of a seed stay what they were before these were added.  Two
 * in five runs have no event, so that the engine's books can be checked
 * exactly on the rest of the mix.
 */
static void
scen_draw_events(struct scen *sc, uint64_t seed)
{
	struct test_rng g;
	struct ev *ev;
	uint64_t u, npk;
	int i;

	test_rng_seed(&g, seed ^ 0x6576656e7473ull);
	/* FreeBSD's default, or never (a percentage cannot pass 100). */
	sc->rexmit_pct = rnd(&g, 2) ? 2 : 100;
	sc->enable_fail = rnd(&g, 10) == 0;
	u = rnd(&g, 10);
	sc->nev = u < 4 ? 0 : u < 8 ? 1 : 1 + (int)rnd(&g, NEVENTS);
	npk = sc->size / 1400 + 2;
	for (i = 0; i < sc->nev; i++) {
		ev = &sc->ev[i];
		ev->ev_kind = (enum ev_kind)rnd(&g, EV_NKINDS);
		ev->ev_at = 1 + rnd(&g, npk);
		switch (ev->ev_kind) {
		case EV_FLIP:
			ev->ev_if = (int)rnd(&g, NIFS);
			break;
		case EV_FLIP_BACK:
			ev->ev_if = 1 + (int)rnd(&g, NIFS - 1);
			/* 0: back before ktls_reset_send_tag() runs. */
			ev->ev_ns = rnd(&g, 2) ? 0 : rnd(&g, 20 * 1000 * 1000);
			break;
		case EV_MODE:
			ev->ev_mode =
			    rnd(&g, 3) ? TCP_TLS_MODE_SW : TCP_TLS_MODE_IFNET;
			if (ev->ev_mode == TCP_TLS_MODE_SW && rnd(&g, 2))
				ev->ev_ns = 1 + rnd(&g, 50 * 1000 * 1000);
			break;
		default:
			break;
		}
	}
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
	scen_draw_events(sc, seed);
}

static void
scen_describe(const struct scen *sc, char *buf, size_t len)
{
	const struct ev *ev;
	int i, n;

	n = snprintf(buf, len,
	    "seed %" PRIu64 ": profile %s, suite %s, %s, %zu bytes "
	    "(chunks <= %zu), disk %" PRIu64 " ns, sndbuf %u, rwnd %u, "
	    "%d cpu(s), seqno %" PRIu64 ", %u resync fault(s), "
	    "rexmit_pct %u,%s ",
	    sc->seed, nic_profile_name(sc->prof), sc->suite->name,
	    sc->sendfile ? "sendfile" : "write", sc->size, sc->maxchunk,
	    sc->disk_ns, sc->sndbuf, sc->rwnd, sc->ncpus, sc->seqno,
	    sc->resync_faults, sc->rexmit_pct,
	    sc->enable_fail ? " tag refused at enable," : "");
	for (i = 0; i < sc->nev && n > 0 && (size_t)n < len; i++) {
		ev = &sc->ev[i];
		n += snprintf(buf + n, len - (size_t)n, "%s%s@%" PRIu64,
		    i == 0 ? "events " : " ", ev_names[ev->ev_kind], ev->ev_at);
		if (n <= 0 || (size_t)n >= len)
			break;
		if (ev->ev_kind == EV_FLIP || ev->ev_kind == EV_FLIP_BACK)
			n += snprintf(buf + n, len - (size_t)n, "->if%d",
			    ev->ev_if);
		if (ev->ev_kind == EV_FLIP_BACK && n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n,
			    ",back %" PRIu64 " ns", ev->ev_ns);
		if (ev->ev_kind == EV_MODE && n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, "->%s",
			    ev->ev_mode == TCP_TLS_MODE_IFNET ? "ifnet" :
				ev->ev_ns == 0		      ? "sw" :
								"sw,back");
	}
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "%slink ",
		    sc->nev > 0 ? ", " : "");
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

/* Keep a copy of a segment for the ciphertext check (check_wire()). */
static void
wlog_add(struct run *r, const struct link_seg *s)
{
	struct wlog *l;
	size_t ncap;

	if (r->nwlog == r->wlogcap) {
		ncap = r->wlogcap ? 2 * r->wlogcap : 256;
		l = reallocarray(r->wlog, ncap, sizeof(*l));
		assert_non_null(l);
		r->wlog = l;
		r->wlogcap = ncap;
	}
	if (r->wbyteslen + s->ls_len > r->wbytescap) {
		ncap = r->wbytescap ? r->wbytescap : 65536;
		while (ncap < r->wbyteslen + s->ls_len)
			ncap *= 2;
		r->wbytes = realloc(r->wbytes, ncap);
		assert_non_null(r->wbytes);
		r->wbytescap = ncap;
	}
	l = &r->wlog[r->nwlog++];
	l->off = s->ls_seq;
	l->len = (uint32_t)s->ls_len;
	l->at = r->wbyteslen;
	if (s->ls_len != 0)
		memcpy(r->wbytes + r->wbyteslen, s->ls_data, s->ls_len);
	r->wbyteslen += s->ls_len;
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
	    s == NULL)
		return;
	wlog_add(r, s);
	if (s->ls_len < 2 * GRAM)
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

#define FAIL(r, ...)                                             \
	do {                                                     \
		print_message("faults: %s\nfaults: replay with " \
			      "%sFAULTS_SEED=%" PRIu64 "\n",     \
		    cur_desc, nic_faults ? "FAULTS_NIC=1 " : "", \
		    (r)->sc->seed);                              \
		cur_active = false;                              \
		fail_msg(__VA_ARGS__);                           \
	} while (0)

/*
 * The events.  The interfaces' if_transmit goes through ev_transmit(),
 * which counts packets and, after the one an event names, acts: a route
 * change or a firmware reset at once, between two packets of one
 * tcp_output() burst; a mode switch from a task, as a setsockopt() from
 * another thread would come.
 */
static struct run *cur_run;
static if_transmit_fn_t *nif_transmit; /* nic_ifnet's own */

static struct nic *
route_nic(struct run *r)
{
	struct nhop_object *nh = sotoinpcb(r->so)->inp_route.ro_nh;

	return (nh == nic_ifnet_nhop(r->nif[1]) ? r->nic[1] : r->nic[0]);
}

static void
ev_back_task(void *arg)
{
	struct run *r = arg;

	(void)ksim_set_route(r->so, nic_ifnet_nhop(r->nif[0]));
}

static int
set_mode(struct run *r, int mode)
{
	int error;

	error = ksim_setsockopt(r->so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode,
	    sizeof(mode));
	if (error == 0)
		r->nmode_ok++;
	return (error);
}

static void
ev_mode_back_task(void *arg)
{
	struct run *r = arg;

	(void)set_mode(r, TCP_TLS_MODE_IFNET);
}

static void
ev_mode_task(void *arg)
{
	struct ev *ev = arg;
	struct run *r = cur_run;

	if (set_mode(r, ev->ev_mode) == 0 && ev->ev_ns != 0)
		r->h.pl->pl_task_post(r->h.pl, ev->ev_ns, ev_mode_back_task, r);
}

/* Called with the socket lock held, by ip_output(). */
static void
ev_fire(struct run *r, struct ev *ev)
{
	struct inpcb *inp = sotoinpcb(r->so);
	struct platform *pl = r->h.pl;

	SOCKBUF_LOCK_ASSERT(&r->so->so_snd);
	r->evdone++;
	switch (ev->ev_kind) {
	case EV_FLIP:
		inp->inp_route.ro_nh = nic_ifnet_nhop(r->nif[ev->ev_if]);
		if (ev->ev_if == 2)
			r->may_drop = true;
		break;
	case EV_FLIP_BACK:
		inp->inp_route.ro_nh = nic_ifnet_nhop(r->nif[ev->ev_if]);
		/*
		 * Back within the same instant: the task runs before the
		 * reset task the next refused packet posts, which then
		 * finds the first card again.
		 */
		if (ev->ev_ns != 0)
			r->may_drop |= ev->ev_if == 2;
		pl->pl_task_post(pl, ev->ev_ns, ev_back_task, r);
		break;
	case EV_FW_RESET:
		nic_reset(route_nic(r));
		break;
	case EV_RESET_FAIL:
		nic_inject(r->nic[1], NIC_FAULT_ALLOC, 1u << 30);
		inp->inp_route.ro_nh = nic_ifnet_nhop(r->nif[1]);
		r->may_drop = true;
		break;
	case EV_MODE:
		pl->pl_task_post(pl, 0, ev_mode_task, ev);
		break;
	default:
		break;
	}
}

static int
ev_transmit(struct ifnet *ifp, struct mbuf *m)
{
	struct run *r = cur_run;
	int error, i;

	/* sys/kern/uipc_sockbuf.c sbcheck(): it panics on a broken buffer. */
	assert_int_equal(sbcheck(&r->so->so_snd, __FILE__, __LINE__), 0);
	error = nif_transmit(ifp, m);
	r->npkts++;
	for (i = 0; i < r->sc->nev; i++)
		if (r->sc->ev[i].ev_at == r->npkts)
			ev_fire(r, &r->sc->ev[i]);
	return (error);
}

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
		disk_profile.dp_latency_ns = sc->disk_ns;
		disk_cache_flush();
		sbytes = 0;
		error = ksim_sendfile(r->so, fd, 0, 0, NULL, &sbytes, 0);
		close(fd);
		if ((error != 0 || (size_t)sbytes != sc->size) &&
		    !timed_out(r) && !reset_dropped(r))
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
		if ((error != 0 || (size_t)wr != n) &&
		    (timed_out(r) || reset_dropped(r)))
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

/*
 * Every segment that entered the wire, lost or not, is the stream the
 * oracle authenticated at its offset: the ciphertext of the file under
 * the session's keys and the nonces the records carry.  Past what arrived
 * only when the connection was given up.
 */
static void
check_wire(struct run *r, bool gaveup)
{
	const struct wlog *l;
	size_t i;
	uint64_t n;

	for (i = 0; i < r->nwlog; i++) {
		l = &r->wlog[i];
		n = l->len;
		if (l->off + n > r->rcvlen) {
			if (!gaveup)
				FAIL(r,
				    "segment at %" PRIu64 "+%" PRIu32
				    " beyond the stream's %zu bytes",
				    l->off, l->len, r->rcvlen);
			n = l->off < r->rcvlen ? r->rcvlen - l->off : 0;
		}
		if (n != 0 &&
		    memcmp(r->wbytes + l->at, r->rcv + l->off, n) != 0)
			FAIL(r,
			    "wire segment %zu at stream offset %" PRIu64
			    " differs from the authenticated stream",
			    i, l->off);
	}
}

/*
 * The engines' books after the run (docs/nic-engine.md): always, no
 * wrong or plaintext bytes and no drop an armed fault or a firmware reset
 * does not explain, and the wire bytes add up; for a run on one card with
 * no event and no switch, the profiles' rules.
 */
static void
check_counters(struct run *r, const struct link_stats *ls, bool pure,
    int fwresets)
{
	const struct nic_counters *c;
	const struct nic_ifnet_stats *st;
	enum nic_profile prof = r->sc->prof;
	uint64_t wire, resync;
	int k;

	wire = resync = 0;
	for (k = 0; k < NIFS; k++) {
		st = nic_ifnet_stats(r->nif[k]);
		wire += st->wire_bytes;
		if (st->untagged_tls_bytes != 0)
			FAIL(r, "if%d: %" PRIu64 " record bytes without a tag",
			    k, st->untagged_tls_bytes);
		if (k == NIFS - 1) {
			if (st->drops != 0)
				FAIL(r, "the plain interface dropped %" PRIu64,
				    st->drops);
			continue;
		}
		c = nic_counters(r->nic[k]);
		resync += c->drops_resync_failed;
		if (c->hw_state_errors != 0 || c->untagged_tls_bytes != 0)
			FAIL(r,
			    "card %d: wrong or plaintext bytes: "
			    "hw_state_errors %" PRIu64 ", untagged %" PRIu64,
			    k, c->hw_state_errors, c->untagged_tls_bytes);
		if (c->drops_not_ready + c->drops_bad_request +
			c->drops_tag_mismatch !=
		    0)
			FAIL(r, "card %d dropped packets without a fault", k);
		if (c->drops_lost_context != 0 && fwresets == 0)
			FAIL(r, "card %d: lost contexts without a reset", k);
		if (st->drops != c->drops_resync_failed + c->drops_lost_context)
			FAIL(r,
			    "card %d: %" PRIu64 " interface drops, engine "
			    "%" PRIu64 " resync + %" PRIu64 " lost",
			    k, st->drops, c->drops_resync_failed,
			    c->drops_lost_context);
		if (c->wire_bytes_payload != st->wire_bytes)
			FAIL(r,
			    "card %d: wire bytes: engine %" PRIu64
			    ", ifnet %" PRIu64,
			    k, c->wire_bytes_payload, st->wire_bytes);
	}
	/* An armed resync fault drops the packet that needed the resync. */
	if (resync > r->sc->resync_faults)
		FAIL(r, "%" PRIu64 " resync drops, %u armed", resync,
		    r->sc->resync_faults);
	if (ls->ls_data.lps_sent_bytes != wire)
		FAIL(r, "wire bytes: interfaces %" PRIu64 ", link %" PRIu64,
		    wire, ls->ls_data.lps_sent_bytes);
	if (!pure)
		return;
	c = nic_counters(r->nic[0]);
	st = nic_ifnet_stats(r->nif[0]);
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
	const struct nic_ifnet_stats *st;
	struct ksim_tcpinfo ti;
	struct nic_config ncfg;
	struct link_stats ls;
	struct oracle *o;
	struct scen sc;
	struct run r;
	struct oracle_record rec;
	struct ifnet *ifp;
	uint64_t active0, sw0, reset0;
	size_t plen, nrec, off;
	bool timedout, dropped, gaveup, pure;
	char why[256];
	unsigned int left;
	int error, k, mode, fwresets;

	scen_draw(&sc, seed);
	scen_describe(&sc, cur_desc, sizeof(cur_desc));
	cur_seed = seed;
	cur_active = true;
	if (verbose)
		print_message("faults: %s\n", cur_desc);
	memset(&r, 0, sizeof(r));
	r.sc = &sc;
	cur_run = &r;
	harness_init(&r.h, HARNESS_DET, seed, sc.ncpus);
	/*
	 * Due-time order: the random policy may run a 64 s retransmission
	 * timer before a 10 ms ACK (sim/runner/runner_det.c), and TCP then
	 * times the connection out; the link's seed is the randomness here.
	 */
	sim_det_set_policy(r.h.pl, SIM_DET_FIFO);
	ktls_ifnet_permitted = 1;
	ktls_ifnet_max_rexmit_pct = sc.rexmit_pct;
	active0 = STAT(offload_active);
	sw0 = STAT(switch_to_sw);
	reset0 = STAT(ifnet_reset);

	memset(&ncfg, 0, sizeof(ncfg));
	ncfg.profile = sc.prof;
	/*
	 * A lost context answers EAGAIN, which ip_output_send() turns into
	 * ktls_output_eagain() and a new tag (the profiles' ENOBUFS would
	 * have TCP resend on the dead tag until it times out).
	 */
	ncfg.lost_error = EAGAIN;
	for (k = 0; k < 2; k++) {
		r.nic[k] = nic_create(&ncfg);
		assert_non_null(r.nic[k]);
	}
	nic_inject(r.nic[0], NIC_FAULT_RESYNC, sc.resync_faults);
	sc.lc.lc_data_cb = on_data;
	sc.lc.lc_fin_cb = on_fin;
	sc.lc.lc_rcv_arg = &r;
	sc.lc.lc_trace_cb = on_trace;
	sc.lc.lc_trace_arg = &r;
	r.np = nic_path_create(r.h.pl, &sc.lc, why, sizeof(why));
	if (r.np == NULL)
		FAIL(&r, "link: %s", why);
	r.nif[0] = nic_ifnet_create("mce0", r.nic[0], r.np, 1500);
	r.nif[1] = nic_ifnet_create("mce1", r.nic[1], r.np, 1500);
	r.nif[2] = nic_ifnet_create("em0", NULL, r.np, 1500);
	for (k = 0; k < NIFS; k++) {
		assert_non_null(r.nif[k]);
		ifp = nic_ifnet_ifp(r.nif[k]);
		nif_transmit = ifp->if_transmit;
		ifp->if_transmit = ev_transmit;
	}

	assert_int_equal(ksim_socket(SOCK_STREAM, &r.so), 0);
	assert_int_equal(ksim_connect_route(r.so, nic_ifnet_nhop(r.nif[0]),
			     (uint32_t)seed, sc.rwnd),
	    0);
	nic_path_connect(r.np, r.so);
	harness_sndbuf(r.so, sc.sndbuf, 2048);
	harness_keys(&r.h, sc.suite, sc.seqno, &r.k);
	if (sc.enable_fail)
		nic_inject(r.nic[0], NIC_FAULT_ALLOC, 1);
	assert_int_equal(harness_enable(r.so, &r.k), 0);
	/* ktls_enable_tx(): ifnet first, software when the tag is refused. */
	assert_int_equal(ktls_get_tx_mode(r.so, &mode), 0);
	if (mode != (sc.enable_fail ? TCP_TLS_MODE_SW : TCP_TLS_MODE_IFNET))
		FAIL(&r, "mode %d after enable", mode);

	r.timeoutdrop0 = tcpstat.tcps_timeoutdrop;
	r.resetdrop0 = STAT(ifnet_reset_dropped);
	send_data(&r);
	ksim_close(r.so);
	harness_run(&r.h);

	link_stats(nic_path_link(r.np), &ls);
	ksim_tcpinfo(r.so, &ti);
	st = nic_ifnet_stats(r.nif[0]);
	/*
	 * Go-back-N without timestamps gets no RTT sample until new data is
	 * acknowledged (Karn), so a burst that eats a dozen retransmissions
	 * times the connection out (tcp_timer_rexmt()).  That is TCP's
	 * answer, not a failure of the path: what arrived must still be a
	 * prefix of the file in whole records, and everything is released.
	 * So is KTLS's drop when the route leads where no tag is to be had
	 * (ktls_reset_send_tag()), but only after such an event.
	 */
	timedout = ti.state == TCPS_CLOSED && timed_out(&r);
	dropped = reset_dropped(&r);
	gaveup = timedout || dropped;
	if (timedout && !dropped)
		n_timedout++;
	if (dropped)
		n_dropped++;
	n_events += (uint64_t)r.evdone;
	n_lost += nic_counters(r.nic[0])->drops_lost_context +
	    nic_counters(r.nic[1])->drops_lost_context;
	if (dropped && !r.may_drop)
		FAIL(&r,
		    "KTLS dropped the connection, yet every route "
		    "led to a card that gives tags");
	if (dropped && ti.state != TCPS_CLOSED)
		FAIL(&r, "dropped, yet in state %d", ti.state);
	if (!gaveup && (!r.fin || !ti.fin_acked)) {
		nic_counters_foreach(r.nic[0], print_counter, NULL);
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
	if (!gaveup &&
	    (ti.sndbytes > r.rcvlen ||
		ti.sndbytes + ti.snd_rxt_bytes < r.rcvlen))
		FAIL(&r,
		    "TCP sent %" PRIu64 " new and %" PRIu64
		    " retransmitted bytes, %zu arrived",
		    ti.sndbytes, ti.snd_rxt_bytes, r.rcvlen);
	/*
	 * The oracle also refuses a (key, nonce) pair or CBC IV seen before
	 * in the stream: the sessions of a switch share the key.
	 */
	o = oracle_new(sc.suite, r.k.cipher_key, r.k.iv, r.k.auth_key,
	    sc.seqno);
	assert_non_null(o);
	plen = nrec = 0;
	for (off = 0; off < r.rcvlen; off += rec.reclen) {
		error = oracle_next(o, r.rcv + off, r.rcvlen - off, &rec);
		if (error == ORACLE_INCOMPLETE && gaveup)
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
	if (!gaveup && plen != sc.size)
		FAIL(&r, "decrypted %zu bytes, not the file's %zu", plen,
		    sc.size);
	check_wire(&r, gaveup);
	fwresets = 0;
	for (k = 0; k < sc.nev; k++)
		if (sc.ev[k].ev_kind == EV_FW_RESET &&
		    sc.ev[k].ev_at <= r.npkts)
			fwresets++;
	pure = sc.nev == 0 && !sc.enable_fail && STAT(switch_to_sw) == sw0 &&
	    STAT(ifnet_reset) == reset0;
	check_counters(&r, &ls, pure && !gaveup, fwresets);
	if (verbose) {
		print_message("faults: %zu records, %" PRIu64
			      " wire segments on mce0 (%" PRIu64
			      " retransmitted), link lost %" PRIu64 "+%" PRIu64
			      "+%" PRIu64 ", %" PRIu64 " packets, %d event(s), "
			      "%d mode switch(es), %s\n",
		    nrec, st->wire_segs, st->rexmit_segs,
		    ls.ls_data.lps_lost[LINK_LOSS_RANDOM],
		    ls.ls_data.lps_lost[LINK_LOSS_BURST],
		    ls.ls_data.lps_lost[LINK_LOSS_TARGETED], r.npkts, r.evdone,
		    r.nmode_ok,
		    dropped	 ? "dropped by KTLS" :
			timedout ? "timed out by TCP" :
				   "delivered");
		for (k = 0; k < 2; k++) {
			print_message("faults: card %d\n", k);
			nic_counters_foreach(r.nic[k], print_counter, NULL);
		}
	}

	/*
	 * Every reference goes: the path's socket reference is the last, and
	 * with the socket go its sessions, their tags and the records'.
	 */
	if (nic_path_destroy(r.np) != 0)
		FAIL(&r, "the path still has tasks pending");
	for (k = 0; k < 2; k++)
		if (nic_tags_live(r.nic[k]) != 0)
			FAIL(&r, "card %d: %u tag(s) still live", k,
			    nic_tags_live(r.nic[k]));
	if (STAT(offload_active) != active0)
		FAIL(&r, "%" PRId64 " session(s) not freed",
		    (int64_t)(STAT(offload_active) - active0));
	for (k = 0; k < NIFS; k++) {
		left = nic_ifnet_destroy(r.nif[k]);
		if (left != 0)
			FAIL(&r, "if%d: %u references left", k, left);
	}
	for (k = 0; k < 2; k++) {
		left = nic_destroy(r.nic[k]);
		if (left != 0)
			FAIL(&r, "card %d: nic_destroy: %u tags leaked", k,
			    left);
	}
	harness_fini(&r.h);
	disk_profile.dp_latency_ns = 0;
	free(r.file);
	free(r.rcv);
	free(r.gram);
	free(r.wlog);
	free(r.wbytes);
	cur_run = NULL;
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
	const struct {
		const char *name;
		const uint64_t *v;
	} cnt[] = {
		{ "ifnet.reset", &ktls_ifnet_reset },
		{ "ifnet.reset_failed", &ktls_ifnet_reset_failed },
		{ "stats.switch_to_sw", &ktls_switch_to_sw },
		{ "stats.switch_to_ifnet", &ktls_switch_to_ifnet },
		{ "stats.ifnet_disable_ok", &ktls_ifnet_disable_ok },
	};
	uint64_t c0[nitems(cnt)];
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
	n_timedout = n_dropped = n_events = n_lost = 0;
	for (i = 0; i < nitems(c0); i++)
		c0[i] = *cnt[i].v;
	for (i = 0; i < n; i++)
		run_one(first + i);
	print_message("faults: %" PRIu64 " seeds from %" PRIu64 ", %" PRIu64
		      " timed out by TCP, %" PRIu64 " dropped by KTLS, %" PRIu64
		      " events, %" PRIu64 " lost-context drops\n",
	    n, first, n_timedout, n_dropped, n_events, n_lost);
	for (i = 0; i < nitems(c0); i++) {
		c0[i] = *cnt[i].v - c0[i];
		print_message("faults:   %s %" PRIu64 "\n", cnt[i].name, c0[i]);
	}
	/* Rare by construction of the loss rates; many means a stall. */
	assert_true(n_timedout * 100 <= n);
	/*
	 * A full default run reaches every path the scenarios are for: tags
	 * replaced, replacements refused, switches both ways, the
	 * retransmission switch, firmware resets that cost packets.
	 */
	if (n >= FAULTS_RUNS_DEFAULT) {
		for (i = 0; i < nitems(c0); i++)
			if (c0[i] == 0)
				fail_msg("no %s in %" PRIu64 " seeds",
				    cnt[i].name, n);
		assert_true(n_dropped > 0 && n_lost > 0);
	}
}

static int
faults_teardown(void **state)
{

	if (cur_active)
		print_message("faults: failed in %s\nfaults: replay with "
			      "%sFAULTS_SEED=%" PRIu64 "\n",
		    cur_desc, nic_faults ? "FAULTS_NIC=1 " : "", cur_seed);
	cur_active = false;
	disk_profile.dp_latency_ns = 0;
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
