/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Tests of the simulated wire (models/link, docs/link-model.md).
 *
 * The unit tests put segments on a link by hand and look at what arrives,
 * when, and which ACKs come back.  The model tests run whole transfers:
 * a minimal sender kept here (go-back-N on a retransmission timeout, one
 * segment resent on the third duplicate ACK, a fixed window) pushes a
 * random stream through a link whose knobs are drawn from a seed, over
 * the deterministic runner, and the receiver's output must equal the
 * stream byte for byte.
 *
 * Callbacks never use cmocka's assertions: those longjmp, which would
 * leave the link's dispatcher with its lock held.  They record the first
 * failure in the harness, and the test asserts on it afterwards.
 *
 * Replay: LINK_TEST_ONLY=name runs only that test, LINK_TEST_SEED=n only
 * seed n of the seeded tests, and LINK_TEST_TRACE=1 prints every link
 * event on stderr.
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/runner/runner.h"
#include "tests/lib/hexutil.h"

#include "link.h"

#define US UINT64_C(1000)
#define MS UINT64_C(1000000)
#define TLS_HDR 5
#define TLS_TAG 16
#define MAX_ACKS 64

/*
 * The real ktls_work_once() (src/kern/uipc_ktls.c) is not linked in; the
 * link never wakes a worker queue, so the runners never call this.
 */
bool ktls_work_once(int idx);

bool
ktls_work_once(int idx)
{

	(void)idx;
	fail_msg("ktls_work_once(%d) called", idx);
	return (false);
}

/* What the tests keep of an event (le_seg points into freed memory). */
struct tev {
	struct link_event te_ev;
	uint32_t te_tags;
	uint32_t te_flags;
	uint64_t te_ack;
};

struct harness {
	struct platform *pl;
	struct link *lk;
	struct link_conf conf;
	uint64_t seed;
	bool rt;
	pthread_mutex_t mtx; /* the sender and the sink, for the rt runner */

	/* The stream. */
	uint8_t *data;
	size_t total;
	bool fin;
	uint32_t reclen; /* record layout for the tags; 0: no tags */

	/* The sender. */
	bool sender;
	uint32_t mss;
	uint32_t wnd_segs;
	uint64_t una, nxt, max, peer_wnd;
	int dupacks;
	int backoff;
	uint64_t rto_base;
	uint64_t rto_due;
	bool rto_armed;
	int timer_tasks;
	bool done;
	bool corrupt; /* flip a byte in every retransmission */
	uint64_t n_segs, n_rexmit, n_fast, n_timeouts;

	/* The sink. */
	uint8_t *out;
	size_t nout;
	int fins;
	size_t take_max;   /* slow reader: at most this per call (0: all) */
	uint64_t ready_ns; /* and says "ready" again this much later */
	bool stalled;

	/* ACKs seen, for the unit tests without a sender. */
	struct link_seg acks[MAX_ACKS];
	uint64_t ack_times[MAX_ACKS];
	size_t nacks;

	/* Events, when recorded. */
	bool record;
	bool print;
	struct tev *ev;
	size_t nev;
	size_t evcap;

	/* The first failure inside a callback. */
	int fail_line;
	char fail_what[160];
};

#define CHECK(h, cond)                                            \
	do {                                                      \
		if (!(cond))                                      \
			harness_fail((h), __LINE__, "%s", #cond); \
	} while (0)

static void __attribute__((format(printf, 3, 4)))
harness_fail(struct harness *h, int line, const char *fmt, ...)
{
	va_list ap;

	if (h->fail_line != 0)
		return;
	h->fail_line = line;
	va_start(ap, fmt);
	vsnprintf(h->fail_what, sizeof(h->fail_what), fmt, ap);
	va_end(ap);
}

static void
assert_no_failure(const struct harness *h)
{

	if (h->fail_line != 0)
		fail_msg("seed %" PRIu64 ": line %d: %s", h->seed, h->fail_line,
		    h->fail_what);
}

static uint64_t
now_ns(struct harness *h)
{

	return (h->pl->pl_now(h->pl));
}

/* --- Events ---------------------------------------------------------- */

static void
trace_cb(void *arg, const struct link_event *ev)
{
	struct harness *h;
	struct tev *t;

	h = arg;
	if (h->print)
		fprintf(stderr,
		    "%12" PRIu64 " %-8s %s id %" PRIu64 " seq %" PRIu64
		    " len %" PRIu64 " due %" PRIu64 "%s%s ack %" PRIu64 "\n",
		    ev->le_time, link_ev_name(ev->le_type),
		    ev->le_path == LINK_PATH_DATA ? "data" : "ack ", ev->le_id,
		    ev->le_seq, ev->le_len, ev->le_due,
		    ev->le_type == LINK_EV_DROP ? " " : "",
		    ev->le_type == LINK_EV_DROP ? link_loss_name(ev->le_cause) :
						  "",
		    ev->le_seg != NULL ? ev->le_seg->ls_ack : 0);
	if (!h->record)
		return;
	if (h->nev == h->evcap) {
		h->evcap = h->evcap == 0 ? 1024 : h->evcap * 2;
		h->ev = realloc(h->ev, h->evcap * sizeof(*h->ev));
		if (h->ev == NULL)
			abort();
	}
	t = &h->ev[h->nev++];
	t->te_ev = *ev;
	t->te_ev.le_seg = NULL;
	t->te_tags = ev->le_seg != NULL ? ev->le_seg->ls_tags : 0;
	t->te_flags = ev->le_seg != NULL ? ev->le_seg->ls_flags : 0;
	t->te_ack = ev->le_seg != NULL ? ev->le_seg->ls_ack : 0;
}

/* --- The sender ------------------------------------------------------ */

/* Bytes of [a0, a1) inside [b0, b1). */
static uint64_t
overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	uint64_t lo, hi;

	lo = a0 > b0 ? a0 : b0;
	hi = a1 < b1 ? a1 : b1;
	return (hi > lo ? hi - lo : 0);
}

/*
 * Tags of [off, off + len) when the stream is records of reclen bytes,
 * each a TLS_HDR-byte header, payload, and a TLS_TAG-byte tag.
 */
static uint32_t
stream_tags(const struct harness *h, uint64_t off, uint32_t len)
{
	uint64_t r, rs, re, hdr_end, tag_start, n;
	uint32_t tags;

	tags = 0;
	if (h->reclen == 0 || len == 0)
		return (0);
	for (r = off / h->reclen; r * h->reclen < off + len; r++) {
		rs = r * h->reclen;
		re = rs + h->reclen < h->total ? rs + h->reclen : h->total;
		hdr_end = rs + TLS_HDR < re ? rs + TLS_HDR : re;
		tag_start = re - TLS_TAG > rs ? re - TLS_TAG : rs;
		if (re > off && re <= off + len)
			tags |= LINK_TAG_RECORD_END;
		n = overlap(rs, hdr_end, off, off + len);
		if (n > 0 && n < hdr_end - rs)
			tags |= LINK_TAG_SPLIT_HDR;
		n = overlap(tag_start, re, off, off + len);
		if (n > 0 && n < re - tag_start)
			tags |= LINK_TAG_SPLIT_TAG;
	}
	return (tags);
}

static uint64_t
stream_end(const struct harness *h)
{

	return (h->total + (h->fin ? 1 : 0));
}

static void
snd_seg(struct harness *h, uint64_t off, uint32_t len)
{
	struct link_seg seg;
	uint8_t *copy;
	int error;

	memset(&seg, 0, sizeof(seg));
	seg.ls_seq = off;
	seg.ls_len = len;
	seg.ls_data = h->data + off;
	seg.ls_tags = stream_tags(h, off, len);
	if (h->fin && off + len == h->total)
		seg.ls_flags = LINK_SEG_FIN;
	copy = NULL;
	if (off < h->max) {
		seg.ls_tags |= LINK_TAG_REXMIT;
		h->n_rexmit++;
		if (h->corrupt && len > 0) {
			copy = malloc(len);
			if (copy == NULL)
				abort();
			memcpy(copy, seg.ls_data, len);
			copy[len / 2] ^= 0x5a;
			seg.ls_data = copy;
		}
	}
	h->n_segs++;
	error = link_send(h->lk, &seg);
	CHECK(h, error == 0);
	free(copy);
}

static void snd_timer(void *arg);

static void
snd_arm(struct harness *h)
{
	uint64_t now;

	now = now_ns(h);
	h->rto_due = now + (h->rto_base << h->backoff);
	h->rto_armed = true;
	/* One timer task at a time; one that fires early posts again. */
	if (h->timer_tasks == 0) {
		h->timer_tasks++;
		h->pl->pl_task_post(h->pl, h->rto_due - now, snd_timer, h);
	}
}

/* Send what the window allows; force: at least one byte (a probe). */
static void
snd_output(struct harness *h, bool force)
{
	uint64_t wnd, inflight, room, len;

	while (h->nxt < stream_end(h)) {
		wnd = (uint64_t)h->wnd_segs * h->mss;
		if (h->peer_wnd < wnd)
			wnd = h->peer_wnd;
		inflight = h->nxt - h->una;
		if (h->nxt < h->total) {
			room = inflight < wnd ? wnd - inflight : 0;
			if (room == 0 && force)
				room = 1;
			if (room == 0)
				break;
			len = h->total - h->nxt;
			if (len > h->mss)
				len = h->mss;
			if (len > room)
				len = room;
			snd_seg(h, h->nxt, (uint32_t)len);
			h->nxt += len;
			if (h->fin && h->nxt == h->total)
				h->nxt++;
		} else {
			/* Only the FIN is left; it needs no window. */
			snd_seg(h, h->total, 0);
			h->nxt++;
		}
		force = false;
		if (h->nxt > h->max)
			h->max = h->nxt;
		if (!h->rto_armed)
			snd_arm(h);
	}
}

/* Resend one segment at una (fast retransmit). */
static void
snd_resend_una(struct harness *h)
{
	uint64_t len;

	len = h->una < h->total ? h->total - h->una : 0;
	if (len > h->mss)
		len = h->mss;
	snd_seg(h, h->una, (uint32_t)len);
}

static void
snd_timer(void *arg)
{
	struct harness *h;
	uint64_t now;

	h = arg;
	pthread_mutex_lock(&h->mtx);
	h->timer_tasks--;
	now = now_ns(h);
	if (!h->rto_armed || h->done) {
		pthread_mutex_unlock(&h->mtx);
		return;
	}
	if (now < h->rto_due) {
		h->timer_tasks++;
		h->pl->pl_task_post(h->pl, h->rto_due - now, snd_timer, h);
		pthread_mutex_unlock(&h->mtx);
		return;
	}
	/* Go back N, with exponential backoff (RFC 6298 section 5.5). */
	h->n_timeouts++;
	if (h->backoff < 6)
		h->backoff++;
	h->nxt = h->una;
	h->dupacks = 0;
	h->rto_armed = false;
	snd_output(h, true);
	if (!h->rto_armed)
		snd_arm(h);
	pthread_mutex_unlock(&h->mtx);
}

static void
ack_cb(void *arg, const struct link_seg *ack)
{
	struct harness *h;

	h = arg;
	pthread_mutex_lock(&h->mtx);
	CHECK(h, (ack->ls_flags & LINK_SEG_ACK) != 0 && ack->ls_len == 0);
	if (!h->sender) {
		if (h->nacks < MAX_ACKS) {
			h->acks[h->nacks] = *ack;
			h->ack_times[h->nacks] = now_ns(h);
		}
		h->nacks++;
		pthread_mutex_unlock(&h->mtx);
		return;
	}
	/* Nothing unsent can be acknowledged. */
	CHECK(h, ack->ls_ack <= h->max);
	h->peer_wnd = ack->ls_wnd;
	if (ack->ls_ack > h->una) {
		h->una = ack->ls_ack;
		h->dupacks = 0;
		h->backoff = 0;
		if (h->nxt < h->una)
			h->nxt = h->una;
		if (h->una == stream_end(h)) {
			h->done = true;
			h->rto_armed = false;
		} else
			snd_arm(h);
	} else if (ack->ls_ack == h->una && h->max > h->una &&
	    ++h->dupacks == 3) {
		/* RFC 5681 section 3.2, without the window changes. */
		h->n_fast++;
		snd_resend_una(h);
	}
	snd_output(h, false);
	pthread_mutex_unlock(&h->mtx);
}

/* --- The sink -------------------------------------------------------- */

static void
sink_ready(void *arg)
{
	struct harness *h;

	h = arg;
	pthread_mutex_lock(&h->mtx);
	h->stalled = false;
	pthread_mutex_unlock(&h->mtx);
	link_rcv_ready(h->lk);
}

static size_t
data_cb(void *arg, const uint8_t *buf, size_t len)
{
	struct harness *h;
	size_t take;

	h = arg;
	pthread_mutex_lock(&h->mtx);
	CHECK(h, !h->stalled);
	take = len;
	if (h->take_max != 0 && take > h->take_max)
		take = h->take_max;
	if (h->nout + take > h->total) {
		harness_fail(h, __LINE__, "%zu bytes beyond the stream",
		    h->nout + take - h->total);
		take = h->total - h->nout;
	}
	memcpy(h->out + h->nout, buf, take);
	h->nout += take;
	if (take < len) {
		h->stalled = true;
		h->pl->pl_task_post(h->pl, h->ready_ns, sink_ready, h);
	}
	pthread_mutex_unlock(&h->mtx);
	return (take);
}

static void
fin_cb(void *arg)
{
	struct harness *h;

	h = arg;
	pthread_mutex_lock(&h->mtx);
	CHECK(h, h->nout == h->total);
	h->fins++;
	pthread_mutex_unlock(&h->mtx);
}

/* --- Set-up ---------------------------------------------------------- */

static void
harness_init(struct harness *h, uint64_t seed, size_t total)
{
	struct test_rng rng;

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mtx, NULL);
	h->seed = seed;
	h->total = total;
	h->data = malloc(total + 1);
	h->out = malloc(total + 1);
	assert_non_null(h->data);
	assert_non_null(h->out);
	test_rng_seed(&rng, seed ^ UINT64_C(0x5eed));
	test_rng_bytes(&rng, h->data, total);
	h->peer_wnd = LINK_WND_UNLIMITED;
	h->conf.lc_seed = seed;
	h->conf.lc_data_cb = data_cb;
	h->conf.lc_fin_cb = fin_cb;
	h->conf.lc_rcv_arg = h;
	h->conf.lc_ack_cb = ack_cb;
	h->conf.lc_snd_arg = h;
	h->conf.lc_trace_cb = trace_cb;
	h->conf.lc_trace_arg = h;
	h->print = getenv("LINK_TEST_TRACE") != NULL;
}

static void
harness_start(struct harness *h, enum sim_det_policy policy)
{
	char why[160];

	h->pl = sim_det_create(h->seed, 1);
	assert_non_null(h->pl);
	sim_det_set_policy(h->pl, policy);
	/* A livelock panics instead of hanging the test. */
	sim_det_set_step_cap(h->pl, UINT64_C(20000000));
	why[0] = '\0';
	h->lk = link_create(h->pl, &h->conf, why, sizeof(why));
	if (h->lk == NULL)
		fail_msg("link_create: %s", why);
}

static void
harness_stop(struct harness *h)
{

	if (h->pl != NULL && !h->rt)
		sim_det_run(h->pl);
	if (h->lk != NULL) {
		assert_int_equal(link_pending(h->lk), 0);
		link_destroy(h->lk);
	}
	if (h->pl != NULL) {
		if (h->rt)
			sim_rt_destroy(h->pl);
		else
			sim_det_destroy(h->pl);
	}
	free(h->data);
	free(h->out);
	free(h->ev);
	pthread_mutex_destroy(&h->mtx);
}

static void
set_flag(void *arg)
{

	*(bool *)arg = true;
}

/* Let virtual time pass (FIFO policy: what falls due meanwhile runs). */
static void
advance(struct harness *h, uint64_t ns)
{
	bool done;

	done = false;
	h->pl->pl_task_post(h->pl, ns, set_flag, &done);
	while (!done)
		assert_true(sim_det_step(h->pl));
}

/* Undo harness_init() when nothing was started. */
static void
harness_stop_early(struct harness *h)
{

	assert_null(h->pl);
	harness_stop(h);
}

/* Send [off, off + len) of the stream by hand and let it all arrive. */
static void
inject(struct harness *h, uint64_t off, uint32_t len, uint32_t flags,
    const uint8_t *bytes)
{
	struct link_seg seg;

	memset(&seg, 0, sizeof(seg));
	seg.ls_seq = off;
	seg.ls_len = len;
	seg.ls_data = bytes != NULL ? bytes : h->data + off;
	seg.ls_flags = flags;
	assert_int_equal(link_send(h->lk, &seg), 0);
	sim_det_run(h->pl);
}

static size_t
count_events(const struct harness *h, enum link_ev_type type,
    enum link_path_id path)
{
	size_t i, n;

	n = 0;
	for (i = 0; i < h->nev; i++)
		if (h->ev[i].te_ev.le_type == type &&
		    h->ev[i].te_ev.le_path == path)
			n++;
	return (n);
}

/* Segments in = lost + arrived - copies, and none left on the wire. */
static bool
conserved(const struct link_path_stats *ps)
{
	uint64_t lost;
	int i;

	lost = 0;
	for (i = 0; i < LINK_LOSS_NCAUSES; i++)
		lost += ps->lps_lost[i];
	return (ps->lps_inflight == 0 &&
	    ps->lps_sent + ps->lps_duplicated == lost + ps->lps_arrived);
}

/* --- Configuration checks -------------------------------------------- */

static void
conf_rejected(struct link_conf *lc, const char *want)
{
	struct platform *pl;
	struct link *lk;
	char why[160];

	pl = sim_det_create(1, 1);
	why[0] = '\0';
	lk = link_create(pl, lc, why, sizeof(why));
	assert_null(lk);
	if (strstr(why, want) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", why, want);
	sim_det_destroy(pl);
}

static void
bad_conf(void **state)
{
	struct link_conf lc;

	(void)state;
	memset(&lc, 0, sizeof(lc));
	lc.lc_data.lp_loss = NAN;
	conf_rejected(&lc, "probability");
	memset(&lc, 0, sizeof(lc));
	lc.lc_ack.lp_dup = 1.5;
	conf_rejected(&lc, "ack path");
	memset(&lc, 0, sizeof(lc));
	lc.lc_data.lp_ndrops = 1;
	lc.lc_data.lp_drops[0].ld_prob = -0.1;
	conf_rejected(&lc, "drop rule 0");
	memset(&lc, 0, sizeof(lc));
	lc.lc_data.lp_ndrops = LINK_DROPS_MAX + 1;
	conf_rejected(&lc, "drop rules");
	memset(&lc, 0, sizeof(lc));
	lc.lc_data.lp_queue_bytes = 1000;
	conf_rejected(&lc, "needs a rate");
	memset(&lc, 0, sizeof(lc));
	lc.lc_data.lp_delay_ns = LINK_TIME_MAX + 1;
	conf_rejected(&lc, "delay");
	memset(&lc, 0, sizeof(lc));
	lc.lc_rcv.lr_ack_every = 2;
	conf_rejected(&lc, "timer");
	memset(&lc, 0, sizeof(lc));
	lc.lc_rcv.lr_sack = LINK_SACK_MAX + 1;
	conf_rejected(&lc, "SACK");
	memset(&lc, 0, sizeof(lc));
	assert_null(link_create(NULL, &lc, NULL, 0));
}

/* The zeroed configuration works; bad segments are refused, not sent. */
static void
bad_segments(void **state)
{
	struct harness h;
	struct link_seg seg;
	struct link_stats st;

	(void)state;
	harness_init(&h, 1, 100);
	harness_start(&h, SIM_DET_FIFO);
	memset(&seg, 0, sizeof(seg));
	seg.ls_len = LINK_SEG_MAXLEN + 1;
	seg.ls_data = h.data;
	assert_int_equal(link_send(h.lk, &seg), EINVAL);
	seg.ls_len = 10;
	seg.ls_data = NULL;
	assert_int_equal(link_send(h.lk, &seg), EINVAL);
	seg.ls_data = h.data;
	seg.ls_flags = LINK_SEG_ACK;
	assert_int_equal(link_send(h.lk, &seg), EINVAL);
	seg.ls_flags = 0;
	seg.ls_seq = UINT64_MAX - 10;
	assert_int_equal(link_send(h.lk, &seg), EINVAL);
	assert_int_equal(link_send(h.lk, NULL), EINVAL);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_data.lps_sent, 0);
	inject(&h, 0, 100, 0, NULL);
	assert_int_equal(h.nout, 100);
	assert_memory_equal(h.out, h.data, 100);
	assert_int_equal(h.nacks, 1);
	assert_int_equal(h.acks[0].ls_ack, 100);
	assert_int_equal(h.acks[0].ls_wnd, LINK_WND_UNLIMITED);
	assert_no_failure(&h);
	harness_stop(&h);
}

/* --- The path -------------------------------------------------------- */

/* Fixed delay, and a rate: serialisation back to back, then the delay. */
static void
delay_and_rate(void **state)
{
	struct harness h;
	struct link_stats st;
	size_t i, k;

	(void)state;
	harness_init(&h, 2, 20000);
	h.record = true;
	h.conf.lc_data.lp_delay_ns = 10 * MS;
	/* 8 Mbit/s: a byte a microsecond; 1000 + 40 bytes take 1.04 ms. */
	h.conf.lc_data.lp_rate_bps = 8000000;
	h.conf.lc_data.lp_overhead = 40;
	/* The queue holds five segments' worth: 5 * 1040. */
	h.conf.lc_data.lp_queue_bytes = 5200;
	harness_start(&h, SIM_DET_FIFO);
	for (i = 0; i < 10; i++) {
		struct link_seg seg = { .ls_seq = i * 1000,
			.ls_data = h.data + i * 1000,
			.ls_len = 1000 };

		assert_int_equal(link_send(h.lk, &seg), 0);
	}
	sim_det_run(h.pl);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_data.lps_lost[LINK_LOSS_QUEUE], 5);
	assert_int_equal(st.ls_data.lps_arrived, 5);
	k = 0;
	for (i = 0; i < h.nev; i++) {
		const struct link_event *ev = &h.ev[i].te_ev;

		if (ev->le_type != LINK_EV_ARRIVE ||
		    ev->le_path != LINK_PATH_DATA)
			continue;
		assert_int_equal(ev->le_id, k);
		assert_int_equal(ev->le_time, 10 * MS + (k + 1) * 1040 * US);
		k++;
	}
	assert_int_equal(k, 5);
	assert_int_equal(h.nout, 5000);
	assert_memory_equal(h.out, h.data, 5000);
	assert_true(conserved(&st.ls_data));
	assert_no_failure(&h);
	harness_stop(&h);
}

/* Jitter spreads arrivals but never reorders them; holding back does. */
static void
jitter_and_reorder(void **state)
{
	struct harness h;
	struct link_stats st;
	uint64_t last_id, last_time, max_id, held_ids[400];
	size_t i, nheld, arrived;
	bool held;

	(void)state;
	harness_init(&h, 3, 400 * 100);
	h.record = true;
	h.conf.lc_data.lp_delay_ns = 5 * MS;
	h.conf.lc_data.lp_jitter_ns = 3 * MS;
	harness_start(&h, SIM_DET_RANDOM);
	for (i = 0; i < 400; i++) {
		struct link_seg seg = { .ls_seq = i * 100,
			.ls_data = h.data + i * 100,
			.ls_len = 100 };

		assert_int_equal(link_send(h.lk, &seg), 0);
	}
	sim_det_run(h.pl);
	last_id = 0;
	last_time = 0;
	arrived = 0;
	for (i = 0; i < h.nev; i++) {
		const struct link_event *ev = &h.ev[i].te_ev;

		if (ev->le_type != LINK_EV_ARRIVE)
			continue;
		if (ev->le_path != LINK_PATH_DATA)
			continue;
		if (arrived > 0)
			assert_true(ev->le_id > last_id);
		assert_true(ev->le_due >= 5 * MS && ev->le_due <= 8 * MS);
		assert_true(ev->le_due >= last_time);
		last_id = ev->le_id;
		last_time = ev->le_due;
		arrived++;
	}
	assert_int_equal(arrived, 400);
	/* The whole jitter range is used: P(no draw over 2 ms) = (2/3)^400. */
	assert_true(last_time > 7 * MS);
	link_stats(h.lk, &st);
	/* One ACK per in-order segment. */
	assert_int_equal(st.ls_rcv.lrs_acks, 400);
	assert_int_equal(st.ls_rcv.lrs_ooo_segs, 0);
	assert_no_failure(&h);
	harness_stop(&h);

	/* Now hold a fifth back by 2 ms, sending every 50 us. */
	harness_init(&h, 4, 400 * 100);
	h.record = true;
	h.conf.lc_data.lp_delay_ns = 5 * MS;
	h.conf.lc_data.lp_reorder = 0.2;
	h.conf.lc_data.lp_reorder_ns = 2 * MS;
	harness_start(&h, SIM_DET_FIFO);
	for (i = 0; i < 400; i++) {
		struct link_seg seg = { .ls_seq = i * 100,
			.ls_data = h.data + i * 100,
			.ls_len = 100 };

		assert_int_equal(link_send(h.lk, &seg), 0);
		advance(&h, 50 * US);
	}
	sim_det_run(h.pl);
	nheld = 0;
	for (i = 0; i < h.nev; i++)
		if (h.ev[i].te_ev.le_type == LINK_EV_HOLD)
			held_ids[nheld++] = h.ev[i].te_ev.le_id;
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_data.lps_held, nheld);
	/* 400 draws at 0.2: 80 expected; 4.5 sigma is 36. */
	assert_true(nheld > 44 && nheld < 116);
	/*
	 * A held segment arrives after some later one (2 ms is 40 sends);
	 * one not held arrives after every earlier one that was not held
	 * and before every later one.
	 */
	max_id = 0;
	arrived = 0;
	for (i = 0; i < h.nev; i++) {
		const struct link_event *ev = &h.ev[i].te_ev;
		size_t j;

		if (ev->le_type != LINK_EV_ARRIVE ||
		    ev->le_path != LINK_PATH_DATA)
			continue;
		held = false;
		for (j = 0; j < nheld; j++)
			held |= held_ids[j] == ev->le_id;
		if (held && ev->le_id < 360)
			assert_true(arrived > 0 && max_id > ev->le_id);
		if (!held)
			assert_true(arrived == 0 || max_id < ev->le_id);
		if (arrived == 0 || ev->le_id > max_id)
			max_id = ev->le_id;
		arrived++;
	}
	assert_int_equal(arrived, 400);
	assert_int_equal(h.nout, 400 * 100);
	assert_memory_equal(h.out, h.data, 400 * 100);
	assert_true(st.ls_rcv.lrs_ooo_segs > 0);
	assert_no_failure(&h);
	harness_stop(&h);
}

/*
 * n segments of 10 bytes, a hundred at a time: the runner scans its
 * pending tasks on every step.
 */
static void
send_tens(struct harness *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct link_seg seg = { .ls_seq = i * 10,
			.ls_data = h->data + i * 10,
			.ls_len = 10 };

		assert_int_equal(link_send(h->lk, &seg), 0);
		if (i % 100 == 99)
			sim_det_run(h->pl);
	}
	sim_det_run(h->pl);
}

/* Arrival counts and rates over many segments, from one seed each. */
static void
loss_rates(void **state)
{
	struct harness h;
	struct link_stats st;
	uint64_t last_drop, runs, run_len, total_len;
	size_t i;

	(void)state;
	harness_init(&h, 5, 20000 * 10);
	h.record = true;
	h.conf.lc_data.lp_loss = 0.05;
	h.conf.lc_data.lp_dup = 0.1;
	h.conf.lc_data.lp_dup_ns = 3 * US;
	harness_start(&h, SIM_DET_FIFO);
	send_tens(&h, 20000);
	link_stats(h.lk, &st);
	/* 1000 expected; sigma 30.8; 4.5 sigma is 139. */
	assert_in_range(st.ls_data.lps_lost[LINK_LOSS_RANDOM], 861, 1139);
	/* Copies of what got through: 1900; sigma 41; 4.5 sigma 186. */
	assert_in_range(st.ls_data.lps_duplicated, 1714, 2086);
	assert_int_equal(st.ls_data.lps_lost[LINK_LOSS_BURST], 0);
	assert_true(conserved(&st.ls_data));
	assert_int_equal(count_events(&h, LINK_EV_DUP, LINK_PATH_DATA),
	    st.ls_data.lps_duplicated);
	/* A copy is due lp_dup_ns after its original (the SEND before it). */
	for (i = 1; i < h.nev; i++) {
		if (h.ev[i].te_ev.le_type != LINK_EV_DUP)
			continue;
		assert_int_equal(h.ev[i - 1].te_ev.le_type, LINK_EV_SEND);
		assert_int_equal(h.ev[i - 1].te_ev.le_id, h.ev[i].te_ev.le_id);
		assert_int_equal(h.ev[i].te_ev.le_due,
		    h.ev[i - 1].te_ev.le_due + 3 * US);
	}
	/* Every copy brings only bytes seen already. */
	assert_int_equal(st.ls_rcv.lrs_dup_bytes,
	    st.ls_data.lps_duplicated * 10);
	assert_int_equal(st.ls_rcv.lrs_mismatch_bytes, 0);
	assert_no_failure(&h);
	harness_stop(&h);

	/*
	 * Gilbert-Elliott: bad 0.01 / (0.01 + 0.25) of the time, everything
	 * lost while bad, bursts 1 / 0.25 = 4 segments long on average.
	 */
	harness_init(&h, 6, 20000 * 10);
	h.record = true;
	h.conf.lc_data.lp_burst_enter = 0.01;
	h.conf.lc_data.lp_burst_leave = 0.25;
	h.conf.lc_data.lp_burst_loss = 1;
	harness_start(&h, SIM_DET_FIFO);
	send_tens(&h, 20000);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_data.lps_lost[LINK_LOSS_RANDOM], 0);
	assert_in_range(st.ls_data.lps_lost[LINK_LOSS_BURST], 500, 1100);
	runs = run_len = total_len = 0;
	last_drop = UINT64_MAX - 1;
	for (i = 0; i < h.nev; i++) {
		const struct link_event *ev = &h.ev[i].te_ev;

		if (ev->le_type != LINK_EV_DROP)
			continue;
		assert_int_equal(ev->le_cause, LINK_LOSS_BURST);
		if (ev->le_id != last_drop + 1)
			runs++;
		total_len++;
		last_drop = ev->le_id;
	}
	/* Mean run length 4; its standard error here is about 0.25. */
	assert_true(total_len >= 3 * runs && total_len <= 5 * runs);
	(void)run_len;
	assert_true(conserved(&st.ls_data));
	assert_no_failure(&h);
	harness_stop(&h);
}

/* --- The receiver ---------------------------------------------------- */

static void
check_ack(const struct harness *h, size_t i, uint64_t ack, int nsack, ...)
{
	const struct link_seg *a;
	va_list ap;
	uint64_t s, e;
	int k;

	assert_true(i < h->nacks);
	a = &h->acks[i];
	if (a->ls_ack != ack || a->ls_nsack != nsack)
		fail_msg("ACK %zu: %" PRIu64 " with %d blocks, want %" PRIu64
			 " with %d",
		    i, a->ls_ack, a->ls_nsack, ack, nsack);
	va_start(ap, nsack);
	for (k = 0; k < nsack; k++) {
		s = va_arg(ap, uint64_t);
		e = va_arg(ap, uint64_t);
		if (a->ls_sack[k].lsb_start != s || a->ls_sack[k].lsb_end != e)
			fail_msg("ACK %zu block %d: [%" PRIu64 ", %" PRIu64
				 "), want [%" PRIu64 ", %" PRIu64 ")",
			    i, k, a->ls_sack[k].lsb_start,
			    a->ls_sack[k].lsb_end, s, e);
	}
	va_end(ap);
}

#define K(n) ((uint64_t)(n)*1000)

/* Cumulative ACKs, duplicates on holes, SACK blocks per RFC 2018. */
static void
acks_and_sack(void **state)
{
	struct harness h;
	struct link_stats st;

	(void)state;
	harness_init(&h, 7, 20000);
	h.conf.lc_rcv.lr_sack = 3;
	harness_start(&h, SIM_DET_FIFO);
	inject(&h, K(0), 1000, 0, NULL);
	check_ack(&h, 0, K(1), 0);
	inject(&h, K(2), 1000, 0, NULL);
	check_ack(&h, 1, K(1), 1, K(2), K(3));
	inject(&h, K(3), 1000, 0, NULL);
	check_ack(&h, 2, K(1), 1, K(2), K(4));
	inject(&h, K(5), 1000, 0, NULL);
	check_ack(&h, 3, K(1), 2, K(5), K(6), K(2), K(4));
	inject(&h, K(7), 1000, 0, NULL);
	check_ack(&h, 4, K(1), 3, K(7), K(8), K(5), K(6), K(2), K(4));
	inject(&h, K(9), 1000, 0, NULL);
	/* Three blocks at most: the oldest report drops out. */
	check_ack(&h, 5, K(1), 3, K(9), K(10), K(7), K(8), K(5), K(6));
	/* A repeat of a block already held is still reported first. */
	inject(&h, K(2), 500, 0, NULL);
	check_ack(&h, 6, K(1), 3, K(2), K(4), K(9), K(10), K(7), K(8));
	/* Filling the first hole: the ACK jumps, the block goes. */
	inject(&h, K(1), 1000, 0, NULL);
	check_ack(&h, 7, K(4), 3, K(9), K(10), K(7), K(8), K(5), K(6));
	/* Joining two blocks reports the joined one. */
	inject(&h, K(6), 1000, 0, NULL);
	check_ack(&h, 8, K(4), 2, K(5), K(8), K(9), K(10));
	inject(&h, K(4), 1000, 0, NULL);
	check_ack(&h, 9, K(8), 1, K(9), K(10));
	inject(&h, K(8), 1000, 0, NULL);
	check_ack(&h, 10, K(10), 0);
	assert_int_equal(h.nacks, 11);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_rcv.lrs_acks, 11);
	/* ACKs 1 to 6 and 8 repeat the one before: value and window. */
	assert_int_equal(st.ls_rcv.lrs_dupacks, 7);
	assert_int_equal(st.ls_rcv.lrs_ooo_segs, 7);
	assert_int_equal(st.ls_rcv.lrs_dup_segs, 1);
	assert_int_equal(st.ls_rcv.lrs_dup_bytes, 500);
	assert_int_equal(st.ls_rcv.lrs_bytes, K(10));
	assert_int_equal(h.nout, K(10));
	assert_memory_equal(h.out, h.data, K(10));
	assert_no_failure(&h);
	harness_stop(&h);
}

/* Every second segment, or the timer; at once on holes and FIN. */
static void
delayed_ack(void **state)
{
	struct harness h;
	uint64_t t;

	(void)state;
	harness_init(&h, 8, K(6));
	h.fin = true;
	h.conf.lc_rcv.lr_ack_every = 2;
	h.conf.lc_rcv.lr_delack_ns = 40 * MS;
	h.conf.lc_data.lp_delay_ns = 1 * MS;
	harness_start(&h, SIM_DET_FIFO);
	{
		struct link_seg a = { .ls_seq = 0,
			.ls_data = h.data,
			.ls_len = 1000 };
		struct link_seg b = { .ls_seq = 1000,
			.ls_data = h.data + 1000,
			.ls_len = 1000 };

		assert_int_equal(link_send(h.lk, &a), 0);
		assert_int_equal(link_send(h.lk, &b), 0);
	}
	sim_det_run(h.pl);
	assert_int_equal(h.nacks, 1);
	check_ack(&h, 0, K(2), 0);
	assert_int_equal(h.ack_times[0], 1 * MS);
	/* The timer armed by the first segment ran, and did nothing. */
	t = now_ns(&h);
	assert_int_equal(t, 41 * MS);
	inject(&h, K(2), 1000, 0, NULL);
	check_ack(&h, 1, K(3), 0);
	assert_int_equal(h.ack_times[1], t + 1 * MS + 40 * MS);
	t = now_ns(&h);
	inject(&h, K(4), 1000, 0, NULL);
	check_ack(&h, 2, K(3), 0);
	assert_int_equal(h.ack_times[2], t + 1 * MS);
	t = now_ns(&h);
	inject(&h, K(3), 1000, 0, NULL);
	check_ack(&h, 3, K(5), 0);
	assert_int_equal(h.ack_times[3], t + 1 * MS);
	t = now_ns(&h);
	inject(&h, K(5), 1000, LINK_SEG_FIN, NULL);
	check_ack(&h, 4, K(6) + 1, 0);
	assert_int_equal(h.ack_times[4], t + 1 * MS);
	assert_int_equal(h.fins, 1);
	assert_int_equal(h.nacks, 5);
	assert_no_failure(&h);
	harness_stop(&h);
}

/* A slow consumer: the window shrinks, trims, and opens again. */
static void
window(void **state)
{
	struct harness h;
	struct link_stats st;
	size_t i;
	bool update;

	(void)state;
	harness_init(&h, 9, 6000);
	h.conf.lc_rcv.lr_wnd = 4000;
	h.take_max = 1000;
	h.ready_ns = 10 * MS;
	harness_start(&h, SIM_DET_FIFO);
	{
		struct link_seg a = { .ls_seq = 0,
			.ls_data = h.data,
			.ls_len = 3000 };
		struct link_seg b = { .ls_seq = 3000,
			.ls_data = h.data + 3000,
			.ls_len = 3000 };

		assert_int_equal(link_send(h.lk, &a), 0);
		advance(&h, 1 * MS);
		/* Took 1000 of 3000: 2000 wait in the buffer. */
		assert_int_equal(h.nacks, 1);
		assert_int_equal(h.acks[0].ls_ack, 3000);
		assert_int_equal(h.acks[0].ls_wnd, 2000);
		assert_int_equal(link_send(h.lk, &b), 0);
		advance(&h, 1 * MS);
	}
	assert_int_equal(h.nacks, 2);
	assert_int_equal(h.acks[1].ls_ack, 5000);
	assert_int_equal(h.acks[1].ls_wnd, 0);
	sim_det_run(h.pl);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_rcv.lrs_wnd_trimmed, 1000);
	assert_int_equal(h.nout, 5000);
	/* A window update came once half the buffer was free again. */
	update = false;
	for (i = 2; i < h.nacks; i++) {
		assert_int_equal(h.acks[i].ls_ack, 5000);
		update |= h.acks[i].ls_wnd >= 2000;
	}
	assert_true(update);
	/* The trimmed bytes are welcome now. */
	inject(&h, 5000, 1000, 0, NULL);
	assert_int_equal(h.nout, 6000);
	assert_memory_equal(h.out, h.data, 6000);
	assert_no_failure(&h);
	harness_stop(&h);
}

/* Retransmitted bytes that differ from the first copy are counted. */
static void
overlap_mismatch(void **state)
{
	struct harness h;
	struct link_stats st;
	uint8_t bad[400];
	size_t i;

	(void)state;
	harness_init(&h, 10, 400);
	h.record = true;
	harness_start(&h, SIM_DET_FIFO);
	inject(&h, 0, 100, 0, NULL);   /* consumed: in the history */
	inject(&h, 200, 100, 0, NULL); /* out of order: a block */
	memcpy(bad, h.data, sizeof(bad));
	bad[60] ^= 1;
	bad[70] ^= 0x80;
	inject(&h, 50, 100, 0, bad + 50); /* 2 differ, 50 new */
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_rcv.lrs_mismatch_segs, 1);
	assert_int_equal(st.ls_rcv.lrs_mismatch_bytes, 2);
	assert_int_equal(st.ls_rcv.lrs_first_mismatch, 60);
	memcpy(bad, h.data, sizeof(bad));
	bad[280] ^= 0xff;
	inject(&h, 250, 100, 0, bad + 250); /* 1 differs, 50 new */
	/* Identical bytes again are fine. */
	inject(&h, 0, 400, 0, NULL);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_rcv.lrs_mismatch_segs, 2);
	assert_int_equal(st.ls_rcv.lrs_mismatch_bytes, 3);
	assert_int_equal(st.ls_rcv.lrs_first_mismatch, 60);
	assert_int_equal(st.ls_rcv.lrs_dup_bytes, 50 + 50 + 150 + 150);
	assert_int_equal(count_events(&h, LINK_EV_MISMATCH, LINK_PATH_DATA), 2);
	for (i = 0; i < h.nev; i++) {
		if (h.ev[i].te_ev.le_type != LINK_EV_MISMATCH)
			continue;
		assert_true(
		    (h.ev[i].te_ev.le_seq == 60 && h.ev[i].te_ev.le_len == 2) ||
		    (h.ev[i].te_ev.le_seq == 280 && h.ev[i].te_ev.le_len == 1));
	}
	/* The first copy of every byte is what the consumer got. */
	assert_int_equal(h.nout, 400);
	assert_memory_equal(h.out, h.data, 400);
	assert_no_failure(&h);
	harness_stop(&h);

	/* Bytes older than the history cannot be checked, only counted. */
	harness_init(&h, 11, 100);
	h.conf.lc_rcv.lr_history = 64;
	harness_start(&h, SIM_DET_FIFO);
	inject(&h, 0, 100, 0, NULL);
	memcpy(bad, h.data, 100);
	bad[10] ^= 1; /* before 36: not kept */
	bad[50] ^= 1; /* kept */
	bad[99] ^= 1; /* kept; the ring wrapped at 64 */
	inject(&h, 0, 100, 0, bad);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_rcv.lrs_unchecked_bytes, 36);
	assert_int_equal(st.ls_rcv.lrs_mismatch_bytes, 2);
	assert_int_equal(st.ls_rcv.lrs_first_mismatch, 50);
	assert_int_equal(st.ls_rcv.lrs_dup_bytes, 100);
	assert_no_failure(&h);
	harness_stop(&h);
}

/* The FIN takes a sequence number, is reported once, and stays put. */
static void
fin(void **state)
{
	struct harness h;
	struct link_stats st;

	(void)state;
	harness_init(&h, 12, 1000);
	harness_start(&h, SIM_DET_FIFO);
	/* Out of order first: the FIN waits for the bytes before it. */
	inject(&h, 500, 500, LINK_SEG_FIN, NULL);
	check_ack(&h, 0, 0, 0);
	assert_int_equal(h.fins, 0);
	inject(&h, 0, 500, 0, NULL);
	check_ack(&h, 1, 1001, 0);
	assert_int_equal(h.fins, 1);
	inject(&h, 500, 500, LINK_SEG_FIN, NULL);
	check_ack(&h, 2, 1001, 0);
	inject(&h, 1000, 0, LINK_SEG_FIN, NULL);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_rcv.lrs_fin_conflicts, 0);
	assert_int_equal(st.ls_rcv.lrs_rcv_nxt, 1001);
	assert_true(st.ls_rcv.lrs_fin);
	/* Data beyond the FIN, and a FIN elsewhere, are violations. */
	{
		uint8_t more[200];
		int j;

		/* Every byte differs from the stream's. */
		for (j = 0; j < 100; j++)
			more[j] = h.data[900 + j] ^ 0xff;
		memset(more + 100, 0xee, 100);
		inject(&h, 900, 200, 0, more);
		inject(&h, 700, 0, LINK_SEG_FIN, NULL);
	}
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_rcv.lrs_fin_conflicts, 2);
	/* 100 bytes checked against the history: all differ. */
	assert_int_equal(st.ls_rcv.lrs_mismatch_bytes, 100);
	assert_int_equal(h.fins, 1);
	assert_int_equal(h.nout, 1000);
	assert_memory_equal(h.out, h.data, 1000);
	assert_no_failure(&h);
	harness_stop(&h);
}

/* --- Targeted drops -------------------------------------------------- */

static bool
pred_covers(void *arg, const struct link_seg *seg)
{
	uint64_t off;

	off = *(uint64_t *)arg;
	return (seg->ls_seq <= off && off < seg->ls_seq + seg->ls_len);
}

/* The nth match, a limit, exclusions and a predicate. */
static void
targeted_rules(void **state)
{
	struct harness h;
	struct link_stats st;
	struct link_drop *ld;
	uint64_t covered, dropped[16];
	size_t i, n;

	(void)state;
	covered = 4242;
	harness_init(&h, 13, 100 * 100);
	h.record = true;
	ld = h.conf.lc_data.lp_drops;
	/* Rule 0: the third segment tagged USER. */
	ld[0].ld_tags_any = LINK_TAG_USER;
	ld[0].ld_nth = 3;
	/* Rule 1: the first two RECORD_END that are not retransmissions. */
	ld[1].ld_tags_any = LINK_TAG_RECORD_END;
	ld[1].ld_tags_none = LINK_TAG_REXMIT;
	ld[1].ld_prob = 1;
	ld[1].ld_max = 2;
	/* Rule 2: whatever covers byte 4242. */
	ld[2].ld_pred = pred_covers;
	ld[2].ld_pred_arg = &covered;
	ld[2].ld_prob = 1;
	h.conf.lc_data.lp_ndrops = 3;
	harness_start(&h, SIM_DET_FIFO);
	for (i = 0; i < 100; i++) {
		struct link_seg seg = { .ls_seq = i * 100,
			.ls_data = h.data + i * 100,
			.ls_len = 100 };

		if (i % 5 == 0)
			seg.ls_tags |= LINK_TAG_USER;
		if (i % 10 == 9)
			seg.ls_tags |= LINK_TAG_RECORD_END;
		if (i == 19)
			seg.ls_tags |= LINK_TAG_REXMIT;
		assert_int_equal(link_send(h.lk, &seg), 0);
	}
	sim_det_run(h.pl);
	n = 0;
	for (i = 0; i < h.nev; i++) {
		if (h.ev[i].te_ev.le_type != LINK_EV_DROP)
			continue;
		assert_int_equal(h.ev[i].te_ev.le_cause, LINK_LOSS_TARGETED);
		assert_true(n < 16);
		dropped[n++] = h.ev[i].te_ev.le_id;
	}
	/* Ids: USER 0, 5, 10 -> 10; RECORD_END 9, 29 (19 is REXMIT); 42. */
	assert_int_equal(n, 4);
	assert_int_equal(dropped[0], 9);
	assert_int_equal(dropped[1], 10);
	assert_int_equal(dropped[2], 29);
	assert_int_equal(dropped[3], 42);
	link_stats(h.lk, &st);
	assert_int_equal(st.ls_data.lps_rule_matches[0], 20);
	assert_int_equal(st.ls_data.lps_rule_drops[0], 1);
	assert_int_equal(st.ls_data.lps_rule_matches[1], 9);
	assert_int_equal(st.ls_data.lps_rule_drops[1], 2);
	assert_int_equal(st.ls_data.lps_rule_drops[2], 1);
	assert_int_equal(st.ls_data.lps_lost[LINK_LOSS_TARGETED], 4);
	assert_true(conserved(&st.ls_data));
	assert_no_failure(&h);
	harness_stop(&h);
}

/* --- Whole transfers ------------------------------------------------- */

static double
rng_unit(struct test_rng *r)
{

	return ((double)(test_rng_u64(r) >> 11) * 0x1.0p-53);
}

static uint64_t
rng_range(struct test_rng *r, uint64_t lo, uint64_t hi)
{

	return (lo + test_rng_u64(r) % (hi - lo + 1));
}

static bool
rng_coin(struct test_rng *r, int one_in)
{

	return (test_rng_u64(r) % one_in == 0);
}

/*
 * Knobs for one seed: loss 0 to 10% with bursts, reordering, copies,
 * jitter, sometimes a rate and a queue, ACK loss, delayed ACKs, SACK,
 * a window and a slow reader.  Returns the runner's policy.
 */
static enum sim_det_policy
scenario(struct harness *h, uint64_t seed)
{
	struct link_path_conf *dp, *ap;
	struct link_rcv_conf *rc;
	struct test_rng r;
	uint64_t rtt, ser;

	test_rng_seed(&r, seed);
	harness_init(h, seed, rng_range(&r, 4000, 96000));
	h->sender = true;
	h->mss = rng_range(&r, 200, 1460);
	h->wnd_segs = rng_range(&r, 2, 32);
	h->reclen = rng_range(&r, 64, 4000);
	h->fin = !rng_coin(&r, 4);
	dp = &h->conf.lc_data;
	ap = &h->conf.lc_ack;
	rc = &h->conf.lc_rcv;
	dp->lp_delay_ns = rng_range(&r, 1, 20) * MS;
	if (rng_coin(&r, 2))
		dp->lp_jitter_ns = rng_range(&r, 0, 5000) * US;
	if (rng_coin(&r, 4)) {
		dp->lp_rate_bps = rng_range(&r, 5, 100) * 1000000;
		dp->lp_overhead = 40;
		if (rng_coin(&r, 2))
			dp->lp_queue_bytes = rng_range(&r, 8, 64) * 1024;
	}
	dp->lp_loss = rng_unit(&r) * 0.10;
	if (rng_coin(&r, 2)) {
		dp->lp_burst_enter = 0.002 + rng_unit(&r) * 0.018;
		dp->lp_burst_leave = 0.2 + rng_unit(&r) * 0.5;
		dp->lp_burst_loss = 0.5 + rng_unit(&r) * 0.5;
	}
	if (rng_coin(&r, 2)) {
		dp->lp_reorder = rng_unit(&r) * 0.1;
		dp->lp_reorder_ns = rng_range(&r, 1, 10) * MS;
	}
	if (rng_coin(&r, 3)) {
		dp->lp_dup = rng_unit(&r) * 0.05;
		dp->lp_dup_ns = rng_range(&r, 0, 5) * MS;
	}
	ap->lp_delay_ns = rng_range(&r, 1, 20) * MS;
	if (rng_coin(&r, 2))
		ap->lp_loss = rng_unit(&r) * 0.05;
	if (rng_coin(&r, 4))
		ap->lp_jitter_ns = rng_range(&r, 0, 2000) * US;
	if (rng_coin(&r, 4))
		ap->lp_dup = rng_unit(&r) * 0.05;
	if (rng_coin(&r, 2)) {
		rc->lr_ack_every = 2;
		rc->lr_delack_ns = rng_range(&r, 10, 100) * MS;
	}
	rc->lr_sack = (int)rng_range(&r, 0, LINK_SACK_MAX);
	if (rng_coin(&r, 4))
		rc->lr_wnd = rng_range(&r, 4, 64) * 1024;
	if (rng_coin(&r, 4)) {
		h->take_max = rng_range(&r, 100, 4000);
		h->ready_ns = rng_range(&r, 1, 20) * MS;
	}
	/* A timeout well beyond the worst round trip, queue drained. */
	rtt = dp->lp_delay_ns + dp->lp_jitter_ns + dp->lp_reorder_ns +
	    dp->lp_dup_ns + ap->lp_delay_ns + ap->lp_jitter_ns +
	    rc->lr_delack_ns;
	ser = 0;
	if (dp->lp_rate_bps != 0)
		ser = (uint64_t)h->wnd_segs * (h->mss + 40) * 8 *
		    UINT64_C(1000000000) / dp->lp_rate_bps;
	h->rto_base = 2 * rtt + ser + 10 * MS;
	return (rng_coin(&r, 2) ? SIM_DET_RANDOM : SIM_DET_FIFO);
}

struct outcome {
	uint64_t hash;
	uint64_t end;
	uint64_t segs, rexmit, fast, timeouts;
	struct link_stats st;
};

/*
 * A failed check names the seed and the link's knobs as text: enough to
 * replay it (docs/link-model.md).
 */
static void
tcheck(struct harness *h, bool ok, const char *what)
{
	char spec[2048];

	if (ok)
		return;
	link_conf_format(&h->conf, spec, sizeof(spec));
	fail_msg("seed %" PRIu64 " (%s; mss %" PRIu32 " window %" PRIu32
		 " records %" PRIu32 " take %zu): %s",
	    h->seed, spec, h->mss, h->wnd_segs, h->reclen, h->take_max, what);
}

#define TCHECK(h, cond) tcheck((h), (cond), #cond)

/* Run the sender to the end and check what came out. */
static void
transfer(struct harness *h, enum sim_det_policy policy, struct outcome *o)
{

	harness_start(h, policy);
	pthread_mutex_lock(&h->mtx);
	snd_output(h, false);
	pthread_mutex_unlock(&h->mtx);
	/* No scenario needs ten virtual minutes: stuck, not slow. */
	while (sim_det_step(h->pl))
		tcheck(h, now_ns(h) <= 600 * UINT64_C(1000000000),
		    "still running after ten virtual minutes");
	memset(o, 0, sizeof(*o));
	o->hash = link_hash(h->lk);
	o->end = now_ns(h);
	o->segs = h->n_segs;
	o->rexmit = h->n_rexmit;
	o->fast = h->n_fast;
	o->timeouts = h->n_timeouts;
	link_stats(h->lk, &o->st);

	tcheck(h, h->fail_line == 0, h->fail_what);
	tcheck(h, h->done, "the sender is not done");
	TCHECK(h, h->nout == h->total);
	TCHECK(h, h->corrupt || memcmp(h->out, h->data, h->total) == 0);
	TCHECK(h, h->fins == (h->fin ? 1 : 0));
	TCHECK(h, o->st.ls_rcv.lrs_bytes == h->total);
	TCHECK(h, o->st.ls_rcv.lrs_rcv_nxt == stream_end(h));
	TCHECK(h, o->st.ls_rcv.lrs_fin == h->fin);
	TCHECK(h, o->st.ls_rcv.lrs_fin_conflicts == 0);
	TCHECK(h, h->corrupt || o->st.ls_rcv.lrs_mismatch_bytes == 0);
	TCHECK(h, o->st.ls_data.lps_sent == h->n_segs);
	TCHECK(h, o->st.ls_ack.lps_sent == o->st.ls_rcv.lrs_acks);
	TCHECK(h, conserved(&o->st.ls_data));
	TCHECK(h, conserved(&o->st.ls_ack));
}

/* Seeds to run: n from first, or only LINK_TEST_SEED. */
static void
seed_range(uint64_t *first, uint64_t *n)
{
	const char *s;

	if ((s = getenv("LINK_TEST_SEED")) != NULL) {
		*first = strtoull(s, NULL, 0);
		*n = 1;
	}
}

/* The stream arrives byte for byte whatever the wire does. */
static void
transfer_seeds(void **state)
{
	struct harness h;
	struct outcome o;
	enum sim_det_policy policy;
	uint64_t seed, first, n, lost, held, dups, ooo, fast, timeouts;
	uint64_t trimmed, dupacks, ack_lost, blocked;

	(void)state;
	first = 1000;
	n = 300;
	seed_range(&first, &n);
	lost = held = dups = ooo = fast = timeouts = 0;
	trimmed = dupacks = ack_lost = blocked = 0;
	for (seed = first; seed < first + n; seed++) {
		policy = scenario(&h, seed);
		transfer(&h, policy, &o);
		lost += o.st.ls_data.lps_lost[LINK_LOSS_RANDOM] +
		    o.st.ls_data.lps_lost[LINK_LOSS_BURST] +
		    o.st.ls_data.lps_lost[LINK_LOSS_QUEUE];
		held += o.st.ls_data.lps_held;
		dups += o.st.ls_data.lps_duplicated;
		ooo += o.st.ls_rcv.lrs_ooo_segs;
		fast += o.fast;
		timeouts += o.timeouts;
		trimmed += o.st.ls_rcv.lrs_wnd_trimmed;
		dupacks += o.st.ls_rcv.lrs_dupacks;
		ack_lost += o.st.ls_ack.lps_lost[LINK_LOSS_RANDOM];
		blocked += h.take_max != 0;
		harness_stop(&h);
	}
	print_message("%" PRIu64 " seeds: %" PRIu64 " lost, %" PRIu64
		      " held, %" PRIu64 " copies, %" PRIu64
		      " out of order, %" PRIu64 " fast retransmits, %" PRIu64
		      " timeouts, %" PRIu64 " trimmed, %" PRIu64
		      " dupacks, %" PRIu64 " ACKs lost\n",
	    n, lost, held, dups, ooo, fast, timeouts, trimmed, dupacks,
	    ack_lost);
	/* The seeds did exercise every mechanism. */
	if (n > 1) {
		assert_true(lost > 0 && held > 0 && dups > 0 && ooo > 0);
		assert_true(fast > 0 && timeouts > 0 && dupacks > 0);
		assert_true(trimmed > 0 && ack_lost > 0 && blocked > 0);
	}
}

/* Same seed, same run; another seed, another run. */
static void
replay(void **state)
{
	struct harness h;
	struct outcome a, b;
	enum sim_det_policy policy;
	uint64_t seed, first, n, hashes[100];
	size_t i, j;

	(void)state;
	first = 5000;
	n = 100;
	seed_range(&first, &n);
	for (seed = first; seed < first + n; seed++) {
		policy = scenario(&h, seed);
		transfer(&h, policy, &a);
		harness_stop(&h);
		policy = scenario(&h, seed);
		transfer(&h, policy, &b);
		harness_stop(&h);
		if (a.hash != b.hash)
			fail_msg("seed %" PRIu64 ": hash %016" PRIx64
				 " then %016" PRIx64,
			    seed, a.hash, b.hash);
		assert_int_equal(a.end, b.end);
		assert_int_equal(a.segs, b.segs);
		assert_int_equal(a.rexmit, b.rexmit);
		assert_int_equal(a.timeouts, b.timeouts);
		assert_int_equal(a.st.ls_rcv.lrs_acks, b.st.ls_rcv.lrs_acks);
		hashes[seed - first] = a.hash;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (hashes[i] == hashes[j])
				fail_msg("seeds %" PRIu64 " and %" PRIu64
					 " ran alike",
				    first + i, first + j);

	/* The hash sees time: one nanosecond more delay is another run. */
	scenario(&h, 77);
	transfer(&h, SIM_DET_FIFO, &a);
	harness_stop(&h);
	scenario(&h, 77);
	h.conf.lc_ack.lp_delay_ns++;
	transfer(&h, SIM_DET_FIFO, &b);
	harness_stop(&h);
	assert_true(a.hash != b.hash);

	/* Another link seed alone (same runner seed) is another run. */
	scenario(&h, 77);
	h.conf.lc_data.lp_loss = 0.05;
	transfer(&h, SIM_DET_FIFO, &a);
	harness_stop(&h);
	scenario(&h, 77);
	h.conf.lc_data.lp_loss = 0.05;
	h.conf.lc_seed = 78;
	transfer(&h, SIM_DET_FIFO, &b);
	harness_stop(&h);
	assert_true(a.hash != b.hash);
}

/* Is id among the n dropped? */
static bool
was_dropped(const uint64_t *ids, size_t n, uint64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return (true);
	return (false);
}

/*
 * Each rule drops only segments with its tags, as often as it says.  Short
 * records make split headers and tags common.
 */
static void
targeted_seeds(void **state)
{
	struct harness h;
	struct outcome o;
	struct link_drop *ld;
	uint64_t seed, first, n, firsts, m0, d0, m2, ids[2048];
	size_t i, nids;

	(void)state;
	first = 9000;
	n = 100;
	seed_range(&first, &n);
	m0 = d0 = 0;
	for (seed = first; seed < first + n; seed++) {
		scenario(&h, seed);
		memset(&h.conf.lc_data, 0, sizeof(h.conf.lc_data));
		h.conf.lc_data.lp_delay_ns = 5 * MS;
		h.reclen = 64 + seed % 300;
		h.record = true;
		ld = h.conf.lc_data.lp_drops;
		ld[0].ld_tags_any = LINK_TAG_SPLIT_HDR;
		ld[0].ld_tags_none = LINK_TAG_REXMIT;
		ld[0].ld_prob = 0.5;
		ld[1].ld_tags_any = LINK_TAG_RECORD_END;
		ld[1].ld_tags_none = LINK_TAG_REXMIT;
		ld[1].ld_prob = 1;
		ld[2].ld_tags_any = LINK_TAG_SPLIT_TAG;
		ld[2].ld_nth = 2;
		h.conf.lc_data.lp_ndrops = 3;
		transfer(&h, SIM_DET_FIFO, &o);

		nids = 0;
		m2 = 0;
		for (i = 0; i < h.nev; i++) {
			const struct tev *t = &h.ev[i];
			const struct link_event *ev = &t->te_ev;

			if (ev->le_path != LINK_PATH_DATA ||
			    ev->le_type != LINK_EV_DROP)
				continue;
			assert_int_equal(ev->le_cause, LINK_LOSS_TARGETED);
			assert_true(nids < 2048);
			ids[nids++] = ev->le_id;
			switch (ev->le_rule) {
			case 0:
				assert_true(t->te_tags & LINK_TAG_SPLIT_HDR);
				assert_false(t->te_tags & LINK_TAG_REXMIT);
				break;
			case 1:
				assert_true(t->te_tags & LINK_TAG_RECORD_END);
				assert_false(t->te_tags & LINK_TAG_REXMIT);
				break;
			case 2:
				assert_true(t->te_tags & LINK_TAG_SPLIT_TAG);
				m2++;
				break;
			default:
				fail_msg("rule %d", ev->le_rule);
			}
		}
		/* Every first transmission of a record's end was lost. */
		firsts = 0;
		for (i = 0; i < h.nev; i++) {
			const struct tev *t = &h.ev[i];

			if (t->te_ev.le_path != LINK_PATH_DATA ||
			    t->te_ev.le_type != LINK_EV_SEND ||
			    !(t->te_tags & LINK_TAG_RECORD_END) ||
			    (t->te_tags & LINK_TAG_REXMIT))
				continue;
			firsts++;
			assert_true(was_dropped(ids, nids, t->te_ev.le_id));
		}
		assert_true(firsts > 0);
		assert_int_equal(m2, o.st.ls_data.lps_rule_matches[2] >= 2);
		assert_int_equal(o.st.ls_data.lps_lost[LINK_LOSS_TARGETED],
		    nids);
		assert_int_equal(nids,
		    o.st.ls_data.lps_rule_drops[0] +
			o.st.ls_data.lps_rule_drops[1] + m2);
		m0 += o.st.ls_data.lps_rule_matches[0];
		d0 += o.st.ls_data.lps_rule_drops[0];
		harness_stop(&h);
	}
	/* Half of rule 0's matches, within 4.5 sigma. */
	if (n > 1) {
		print_message("split headers: %" PRIu64 " of %" PRIu64
			      " dropped\n",
		    d0, m0);
		assert_true(m0 > 100);
		assert_true(fabs((double)d0 - m0 / 2.0) < 4.5 * sqrt(m0 / 4.0));
	}
}

/* Retransmissions with other bytes are caught where they differ. */
static void
mismatch_seeds(void **state)
{
	struct harness h;
	struct outcome o;
	enum sim_det_policy policy;
	uint64_t seed, first, n, flips[4096], total_mm;
	size_t i, j, nflips;
	bool found;

	(void)state;
	first = 12000;
	n = 50;
	seed_range(&first, &n);
	total_mm = 0;
	for (seed = first; seed < first + n; seed++) {
		policy = scenario(&h, seed);
		h.corrupt = true;
		h.record = true;
		/* Lost ACKs make retransmissions of bytes that arrived. */
		h.conf.lc_ack.lp_loss = 0.2;
		transfer(&h, policy, &o);
		nflips = 0;
		for (i = 0; i < h.nev; i++) {
			const struct tev *t = &h.ev[i];

			if (t->te_ev.le_type == LINK_EV_SEND &&
			    t->te_ev.le_path == LINK_PATH_DATA &&
			    (t->te_tags & LINK_TAG_REXMIT) &&
			    t->te_ev.le_len > 0 && nflips < 4096)
				flips[nflips++] =
				    t->te_ev.le_seq + t->te_ev.le_len / 2;
		}
		for (i = 0; i < h.nev; i++) {
			const struct link_event *ev = &h.ev[i].te_ev;

			if (ev->le_type != LINK_EV_MISMATCH)
				continue;
			assert_int_equal(ev->le_len, 1);
			found = false;
			for (j = 0; j < nflips; j++)
				found |= flips[j] == ev->le_seq;
			assert_true(found);
		}
		assert_int_equal(count_events(&h, LINK_EV_MISMATCH,
				     LINK_PATH_DATA),
		    o.st.ls_rcv.lrs_mismatch_segs);
		total_mm += o.st.ls_rcv.lrs_mismatch_segs;
		harness_stop(&h);
	}
	if (n > 1)
		assert_true(total_mm > 0);
}

/* --- Configuration as text ------------------------------------------- */

static void
assert_path_conf_equal(const struct link_path_conf *a,
    const struct link_path_conf *b)
{
	int i;

	assert_int_equal(a->lp_delay_ns, b->lp_delay_ns);
	assert_int_equal(a->lp_jitter_ns, b->lp_jitter_ns);
	assert_int_equal(a->lp_rate_bps, b->lp_rate_bps);
	assert_int_equal(a->lp_overhead, b->lp_overhead);
	assert_int_equal(a->lp_queue_bytes, b->lp_queue_bytes);
	/* Exact: %.17g gives the same double back. */
	assert_true(a->lp_loss == b->lp_loss);
	assert_true(a->lp_burst_enter == b->lp_burst_enter);
	assert_true(a->lp_burst_leave == b->lp_burst_leave);
	assert_true(a->lp_burst_loss == b->lp_burst_loss);
	assert_true(a->lp_reorder == b->lp_reorder);
	assert_int_equal(a->lp_reorder_ns, b->lp_reorder_ns);
	assert_true(a->lp_dup == b->lp_dup);
	assert_int_equal(a->lp_dup_ns, b->lp_dup_ns);
	assert_int_equal(a->lp_ndrops, b->lp_ndrops);
	for (i = 0; i < a->lp_ndrops; i++) {
		assert_int_equal(a->lp_drops[i].ld_tags_any,
		    b->lp_drops[i].ld_tags_any);
		assert_int_equal(a->lp_drops[i].ld_tags_none,
		    b->lp_drops[i].ld_tags_none);
		assert_true(a->lp_drops[i].ld_prob == b->lp_drops[i].ld_prob);
		assert_int_equal(a->lp_drops[i].ld_nth, b->lp_drops[i].ld_nth);
		assert_int_equal(a->lp_drops[i].ld_max, b->lp_drops[i].ld_max);
	}
}

static void
assert_conf_equal(const struct link_conf *a, const struct link_conf *b)
{

	assert_int_equal(a->lc_seed, b->lc_seed);
	assert_path_conf_equal(&a->lc_data, &b->lc_data);
	assert_path_conf_equal(&a->lc_ack, &b->lc_ack);
	assert_int_equal(a->lc_rcv.lr_isn, b->lc_rcv.lr_isn);
	assert_int_equal(a->lc_rcv.lr_ack_every, b->lc_rcv.lr_ack_every);
	assert_int_equal(a->lc_rcv.lr_delack_ns, b->lc_rcv.lr_delack_ns);
	assert_int_equal(a->lc_rcv.lr_sack, b->lc_rcv.lr_sack);
	assert_int_equal(a->lc_rcv.lr_wnd, b->lc_rcv.lr_wnd);
	assert_int_equal(a->lc_rcv.lr_history, b->lc_rcv.lr_history);
}

/* Every knob by name, with its units. */
static void
conf_text(void **state)
{
	struct link_conf lc;
	const struct link_path_conf *d;
	char why[160];

	(void)state;
	memset(&lc, 0, sizeof(lc));
	assert_int_equal(link_conf_parse(&lc,
			     "seed=7,delay=10ms,jitter=250us,rate=100M,"
			     "overhead=40,queue=64k,loss=0.02,"
			     "burst=0.01/0.25/1,reorder=0.01/5ms,"
			     "dup=0.001/1500ns,drop=end/not=rexmit/p=1,"
			     "data.drop=hdr+tag/nth=3/max=1,drop=any/p=0.5,"
			     "drop=256+end,isn=1000,ackevery=2,"
			     "delack=40ms,sack=3,wnd=1m,history=2g,"
			     "ack.delay=1s,ack.loss=0.125",
			     why, sizeof(why)),
	    0);
	d = &lc.lc_data;
	assert_int_equal(lc.lc_seed, 7);
	assert_int_equal(d->lp_delay_ns, 10 * MS);
	assert_int_equal(d->lp_jitter_ns, 250 * US);
	assert_int_equal(d->lp_rate_bps, 100000000);
	assert_int_equal(d->lp_overhead, 40);
	assert_int_equal(d->lp_queue_bytes, 65536);
	assert_true(d->lp_loss == 0.02);
	assert_true(d->lp_burst_enter == 0.01 && d->lp_burst_leave == 0.25 &&
	    d->lp_burst_loss == 1);
	assert_true(d->lp_reorder == 0.01 && d->lp_reorder_ns == 5 * MS);
	assert_true(d->lp_dup == 0.001 && d->lp_dup_ns == 1500);
	assert_int_equal(d->lp_ndrops, 4);
	assert_int_equal(d->lp_drops[0].ld_tags_any, LINK_TAG_RECORD_END);
	assert_int_equal(d->lp_drops[0].ld_tags_none, LINK_TAG_REXMIT);
	assert_true(d->lp_drops[0].ld_prob == 1);
	assert_int_equal(d->lp_drops[1].ld_tags_any,
	    LINK_TAG_SPLIT_HDR | LINK_TAG_SPLIT_TAG);
	assert_int_equal(d->lp_drops[1].ld_nth, 3);
	assert_int_equal(d->lp_drops[1].ld_max, 1);
	assert_int_equal(d->lp_drops[2].ld_tags_any, 0);
	assert_true(d->lp_drops[2].ld_prob == 0.5);
	assert_int_equal(d->lp_drops[3].ld_tags_any,
	    LINK_TAG_USER | LINK_TAG_RECORD_END);
	assert_int_equal(lc.lc_rcv.lr_isn, 1000);
	assert_int_equal(lc.lc_rcv.lr_ack_every, 2);
	assert_int_equal(lc.lc_rcv.lr_delack_ns, 40 * MS);
	assert_int_equal(lc.lc_rcv.lr_sack, 3);
	assert_int_equal(lc.lc_rcv.lr_wnd, 1 << 20);
	assert_int_equal(lc.lc_rcv.lr_history, UINT64_C(1) << 31);
	assert_int_equal(lc.lc_ack.lp_delay_ns, 1000 * MS);
	assert_true(lc.lc_ack.lp_loss == 0.125);
	assert_int_equal(lc.lc_ack.lp_ndrops, 0);
}

/* Bad text is refused with a reason, and changes nothing. */
static void
conf_text_errors(void **state)
{
	static const struct {
		const char *spec;
		const char *why;
	} bad[] = {
		{ "loss=1.5", "bad value" },
		{ "loss=nan", "bad value" },
		{ "loss=", "bad value" },
		{ "delay=10", "bad value" },
		{ "delay=-1ms", "bad value" },
		{ "delay=99999999999999999999ns", "bad value" },
		{ "delay=20000000000s", "bad value" },
		{ "rate=5X", "bad value" },
		{ "burst=0.1/0.2", "bad value" },
		{ "reorder=0.1", "bad value" },
		{ "drop=bogus", "bad value" },
		{ "drop=end/p=2", "bad value" },
		{ "drop=end/often", "bad value" },
		{ "drop=end/(predicate)", "bad value" },
		{ "drop=end,drop=end,drop=end,drop=end,drop=end,drop=end,"
		  "drop=end,drop=end,drop=end",
		    "bad value" },
		{ "sack=65", "bad value" },
		{ "sack=5", "SACK" },
		{ "ackevery=2", "timer" },
		{ "queue=1k", "needs a rate" },
		{ "bogus=1", "unknown key" },
		{ "ack.sack=1", "unknown key" },
		{ "ack.seed=1", "unknown key" },
		{ "loss", "not key=value" },
		{ "delay=1ms,,loss", "not key=value" },
	};
	struct link_conf lc, before;
	char why[160];
	size_t i;

	(void)state;
	memset(&lc, 0, sizeof(lc));
	assert_int_equal(link_conf_parse(&lc, "seed=3,loss=0.5", why,
			     sizeof(why)),
	    0);
	before = lc;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (link_conf_parse(&lc, bad[i].spec, why, sizeof(why)) !=
		    EINVAL)
			fail_msg("\"%s\" accepted", bad[i].spec);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].spec,
			    why, bad[i].why);
		assert_conf_equal(&lc, &before);
	}
	assert_int_equal(link_conf_parse(NULL, "", why, sizeof(why)), EINVAL);
	assert_int_equal(link_conf_parse(&lc, NULL, why, sizeof(why)), EINVAL);
	/* Empty items are nothing. */
	assert_int_equal(link_conf_parse(&lc, "", why, sizeof(why)), 0);
	assert_conf_equal(&lc, &before);
}

/* What link_conf_format() writes parses back to the same knobs. */
static void
conf_text_round_trip(void **state)
{
	struct harness h;
	struct link_conf back;
	char buf[2048], tiny[16], why[160];
	uint64_t seed;
	size_t n;

	(void)state;
	for (seed = 0; seed < 300; seed++) {
		scenario(&h, seed);
		if (seed % 3 == 0) {
			h.conf.lc_data.lp_ndrops = 2;
			h.conf.lc_data.lp_drops[0].ld_tags_any =
			    LINK_TAG_RECORD_END | 0x10000;
			h.conf.lc_data.lp_drops[0].ld_tags_none =
			    LINK_TAG_REXMIT;
			h.conf.lc_data.lp_drops[0].ld_prob = 1.0 / 3;
			h.conf.lc_data.lp_drops[1].ld_nth = seed + 1;
			h.conf.lc_data.lp_drops[1].ld_max = 2;
			h.conf.lc_rcv.lr_isn = seed << 20;
			h.conf.lc_rcv.lr_history = 12345;
		}
		n = link_conf_format(&h.conf, buf, sizeof(buf));
		assert_true(n < sizeof(buf));
		assert_int_equal(strlen(buf), n);
		memset(&back, 0, sizeof(back));
		if (link_conf_parse(&back, buf, why, sizeof(why)) != 0)
			fail_msg("\"%s\": %s", buf, why);
		assert_conf_equal(&back, &h.conf);
		/* Cut short as snprintf(3) does, and says how long it is. */
		assert_int_equal(link_conf_format(&h.conf, tiny, sizeof(tiny)),
		    n);
		assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
		assert_memory_equal(tiny, buf, sizeof(tiny) - 1);
		harness_stop_early(&h);
	}
}

/* --- The real-time runner -------------------------------------------- */

/* The link's lock and callbacks under pthread task threads. */
static void
realtime(void **state)
{
	struct harness h;
	struct link_stats st;
	char why[160];
	uint64_t seed;

	(void)state;
	for (seed = 1; seed <= 3; seed++) {
		harness_init(&h, seed, 256 * 1024);
		h.rt = true;
		h.sender = true;
		h.fin = true;
		h.mss = 1000;
		h.wnd_segs = 16;
		h.reclen = 1000;
		h.conf.lc_data.lp_delay_ns = 100 * US;
		h.conf.lc_data.lp_jitter_ns = 50 * US;
		h.conf.lc_data.lp_loss = 0.03;
		h.conf.lc_data.lp_dup = 0.01;
		h.conf.lc_data.lp_reorder = 0.02;
		h.conf.lc_data.lp_reorder_ns = 200 * US;
		h.conf.lc_ack.lp_delay_ns = 100 * US;
		h.conf.lc_ack.lp_loss = 0.02;
		h.conf.lc_rcv.lr_ack_every = 2;
		h.conf.lc_rcv.lr_delack_ns = 1 * MS;
		h.conf.lc_rcv.lr_sack = 2;
		h.take_max = seed == 3 ? 3000 : 0;
		h.ready_ns = 200 * US;
		h.rto_base = 3 * MS;
		h.pl = sim_rt_create(1);
		assert_non_null(h.pl);
		h.lk = link_create(h.pl, &h.conf, why, sizeof(why));
		if (h.lk == NULL)
			fail_msg("link_create: %s", why);
		pthread_mutex_lock(&h.mtx);
		snd_output(&h, false);
		pthread_mutex_unlock(&h.mtx);
		/* Idle: every task ran, the sender stopped re-arming. */
		sim_rt_quiesce(h.pl);
		assert_no_failure(&h);
		assert_true(h.done);
		assert_int_equal(h.nout, h.total);
		assert_memory_equal(h.out, h.data, h.total);
		assert_int_equal(h.fins, 1);
		link_stats(h.lk, &st);
		assert_int_equal(st.ls_rcv.lrs_mismatch_bytes, 0);
		assert_true(conserved(&st.ls_data));
		assert_true(conserved(&st.ls_ack));
		harness_stop(&h);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(bad_conf),
		cmocka_unit_test(bad_segments),
		cmocka_unit_test(delay_and_rate),
		cmocka_unit_test(jitter_and_reorder),
		cmocka_unit_test(loss_rates),
		cmocka_unit_test(acks_and_sack),
		cmocka_unit_test(delayed_ack),
		cmocka_unit_test(window),
		cmocka_unit_test(overlap_mismatch),
		cmocka_unit_test(fin),
		cmocka_unit_test(targeted_rules),
	};
	const struct CMUnitTest text[] = {
		cmocka_unit_test(conf_text),
		cmocka_unit_test(conf_text_errors),
		cmocka_unit_test(conf_text_round_trip),
	};
	const struct CMUnitTest model[] = {
		cmocka_unit_test(transfer_seeds),
		cmocka_unit_test(replay),
		cmocka_unit_test(targeted_seeds),
		cmocka_unit_test(mismatch_seeds),
	};
	const struct CMUnitTest rt[] = {
		cmocka_unit_test(realtime),
	};
	const char *only;
	int failed;

	if ((only = getenv("LINK_TEST_ONLY")) != NULL)
		cmocka_set_test_filter(only);
	if (argc > 1 && strcmp(argv[1], "rt") == 0)
		return (cmocka_run_group_tests_name("link_rt", rt, NULL, NULL));
	failed = cmocka_run_group_tests_name("link_unit", unit, NULL, NULL);
	failed += cmocka_run_group_tests_name("link_text", text, NULL, NULL);
	failed += cmocka_run_group_tests_name("link_model", model, NULL, NULL);
	return (failed);
}
