/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The simulated wire (link.h, docs/link-model.md).
 *
 * Segments in flight sit in one binary heap ordered by planned arrival
 * (then by the order they were planned).  Each one posts a task for its
 * arrival time, but the task carries no segment: it only runs the
 * dispatcher, which delivers everything due by pl_now() in heap order.  So
 * the deterministic runner may run the tasks in any order (its random
 * policy does) without reordering a path; it only decides when.
 *
 * One mutex covers the link.  The dispatcher is a role, not a thread:
 * whoever finds the role free takes it and loops until nothing is due,
 * dropping the mutex around the consumer's and the sender's callbacks, so
 * those run one at a time and in order while link_send() from any thread
 * only appends to the heap.  The receiver's state is touched only by the
 * dispatcher.
 */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

/* Recently reported SACK blocks, by one byte inside each. */
#define RCV_ANCHORS LINK_SACK_MAX

struct link_pkt {
	uint64_t pk_due;
	uint64_t pk_order; /* ties: planned first, delivered first */
	uint64_t pk_id;
	enum link_path_id pk_path;
	struct link_seg pk_seg;
	uint8_t pk_data[];
};

struct link_path {
	struct link_path_conf pa_conf;
	enum link_path_id pa_id;
	uint64_t pa_rng;
	bool pa_bad;		/* Gilbert-Elliott state */
	uint64_t pa_busy_until; /* the rate's wire is busy until */
	uint64_t pa_last_due;	/* latest in-order arrival planned */
	struct link_path_stats pa_stats;
};

/*
 * Received bytes from rb_start; rb_buf + rb_off is the first of them and
 * rb_buf has room for rb_cap.  Bytes that continue a block are appended
 * to it, so a run of segments after a hole is one block.
 */
struct rcv_blk {
	uint64_t rb_start;
	uint64_t rb_len;
	uint64_t rb_off;
	uint64_t rb_cap;
	uint8_t *rb_buf;
};

struct link_rcv {
	struct link_rcv_conf rc_conf;
	uint64_t rc_rd_nxt;  /* next byte for the consumer */
	uint64_t rc_rcv_nxt; /* next data byte expected */
	bool rc_fin_known;
	uint64_t rc_fin_seq; /* where the FIN sits */
	bool rc_fin_in;	     /* every byte before it arrived */
	bool rc_fin_reported;
	/* Sorted, disjoint; those below rc_rcv_nxt are contiguous. */
	struct rcv_blk *rc_blks;
	size_t rc_nblks;
	size_t rc_blks_cap;
	/* The last consumed bytes, byte x at rc_hist[x % rc_hist_cap]. */
	uint8_t *rc_hist;
	uint64_t rc_hist_cap;
	uint64_t rc_anchors[RCV_ANCHORS]; /* most recent first */
	int rc_nanchors;
	bool rc_blocked;     /* the consumer took less than offered */
	uint64_t rc_readies; /* link_rcv_ready() calls */
	bool rc_ack_now;
	int rc_unacked; /* in-order segments not yet ACKed */
	bool rc_delack_armed;
	uint64_t rc_delack_due;
	bool rc_acked_once;
	uint64_t rc_last_ack;
	uint64_t rc_last_wnd;
	struct link_rcv_stats rc_stats;
};

struct link {
	struct platform *lk_pl;
	pthread_mutex_t lk_mtx;
	link_data_fn *lk_data_cb;
	link_fin_fn *lk_fin_cb;
	void *lk_rcv_arg;
	link_ack_fn *lk_ack_cb;
	void *lk_snd_arg;
	link_trace_fn *lk_trace_cb;
	void *lk_trace_arg;
	struct link_path lk_path[2];
	struct link_rcv lk_rcv;
	struct link_pkt **lk_heap;
	size_t lk_nheap;
	size_t lk_heap_cap;
	uint64_t lk_order;
	uint64_t lk_next_id;
	uint64_t lk_tasks; /* posted, not yet run or running */
	bool lk_dead;	   /* destroyed; the last task frees */
	bool lk_dispatching;
	uint64_t lk_hash;
};

static void link_tick(void *arg);

/* --- Randomness ------------------------------------------------------ */

/*
 * SplitMix64 (Steele, Lea, Flood, OOPSLA 2014) as the generator itself:
 * one 64-bit word of state per path, so the ACK path's draws never shift
 * the data path's, and a seed fully determines both.
 */
static uint64_t
mix64(uint64_t *state)
{
	uint64_t z;

	*state += UINT64_C(0x9e3779b97f4a7c15);
	z = *state;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

/* True with probability p; draws nothing when p is 0. */
static bool
path_chance(struct link_path *pa, double p)
{

	if (p <= 0)
		return (false);
	/* 53 random bits make an exact double in [0, 1). */
	return ((double)(mix64(&pa->pa_rng) >> 11) * 0x1.0p-53 < p);
}

/*
 * Uniform in [0, n].  The modulo bias is below n / 2^64, far under one in
 * a million for any n up to LINK_TIME_MAX.
 */
static uint64_t
path_upto(struct link_path *pa, uint64_t n)
{

	if (n == 0)
		return (0);
	return (mix64(&pa->pa_rng) % (n + 1));
}

static uint64_t
add_sat(uint64_t a, uint64_t b)
{

	return (a + b < a ? UINT64_MAX : a + b);
}

/* --- Events ---------------------------------------------------------- */

/* FNV-1a, 64-bit, over little-endian words: the same on every host. */
static void
hash_word(uint64_t *h, uint64_t w)
{
	int i;

	for (i = 0; i < 8; i++) {
		*h ^= (uint8_t)(w >> (8 * i));
		*h *= UINT64_C(0x100000001b3);
	}
}

static void
link_emit(struct link *lk, struct link_event *ev)
{
	const struct link_seg *s;
	uint64_t *h;
	int i;

	ev->le_time = lk->lk_pl->pl_now(lk->lk_pl);
	h = &lk->lk_hash;
	hash_word(h, ev->le_time);
	hash_word(h, ev->le_type);
	hash_word(h, ev->le_path);
	hash_word(h, ev->le_id);
	hash_word(h, ev->le_seq);
	hash_word(h, ev->le_len);
	hash_word(h, ev->le_due);
	hash_word(h, ev->le_cause);
	hash_word(h, (uint64_t)ev->le_rule);
	if ((s = ev->le_seg) != NULL) {
		hash_word(h, s->ls_tags);
		hash_word(h, s->ls_flags);
		hash_word(h, s->ls_ack);
		hash_word(h, s->ls_wnd);
		hash_word(h, (uint64_t)s->ls_nsack);
		for (i = 0; i < s->ls_nsack; i++) {
			hash_word(h, s->ls_sack[i].lsb_start);
			hash_word(h, s->ls_sack[i].lsb_end);
		}
	}
	if (lk->lk_trace_cb != NULL)
		lk->lk_trace_cb(lk->lk_trace_arg, ev);
}

static void
link_emit_pkt(struct link *lk, enum link_ev_type type,
    const struct link_pkt *pk, uint64_t due)
{
	struct link_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.le_type = type;
	ev.le_path = pk->pk_path;
	ev.le_id = pk->pk_id;
	ev.le_seg = &pk->pk_seg;
	ev.le_seq = pk->pk_seg.ls_seq;
	ev.le_len = pk->pk_seg.ls_len;
	ev.le_due = due;
	link_emit(lk, &ev);
}

static void
link_emit_range(struct link *lk, enum link_ev_type type, uint64_t seq,
    uint64_t len)
{
	struct link_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.le_type = type;
	ev.le_path = LINK_PATH_DATA;
	ev.le_seq = seq;
	ev.le_len = len;
	link_emit(lk, &ev);
}

/* --- Segments in flight ---------------------------------------------- */

static bool
pkt_before(const struct link_pkt *a, const struct link_pkt *b)
{

	return (a->pk_due < b->pk_due ||
	    (a->pk_due == b->pk_due && a->pk_order < b->pk_order));
}

static int
heap_push(struct link *lk, struct link_pkt *pk)
{
	struct link_pkt **h, *tmp;
	size_t i, parent, ncap;

	if (lk->lk_nheap == lk->lk_heap_cap) {
		ncap = lk->lk_heap_cap == 0 ? 64 : lk->lk_heap_cap * 2;
		h = reallocarray(lk->lk_heap, ncap, sizeof(*h));
		if (h == NULL)
			return (ENOMEM);
		lk->lk_heap = h;
		lk->lk_heap_cap = ncap;
	}
	h = lk->lk_heap;
	i = lk->lk_nheap++;
	h[i] = pk;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!pkt_before(h[i], h[parent]))
			break;
		tmp = h[i];
		h[i] = h[parent];
		h[parent] = tmp;
		i = parent;
	}
	return (0);
}

static struct link_pkt *
heap_pop(struct link *lk)
{
	struct link_pkt **h, *top, *tmp;
	size_t i, c, n;

	h = lk->lk_heap;
	top = h[0];
	n = --lk->lk_nheap;
	h[0] = h[n];
	for (i = 0;; i = c) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && pkt_before(h[c + 1], h[c]))
			c++;
		if (!pkt_before(h[c], h[i]))
			break;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
	}
	return (top);
}

static struct link_pkt *
pkt_new(const struct link_seg *seg, enum link_path_id path)
{
	struct link_pkt *pk;

	pk = malloc(sizeof(*pk) + seg->ls_len);
	if (pk == NULL)
		return (NULL);
	memset(pk, 0, sizeof(*pk));
	pk->pk_path = path;
	pk->pk_seg = *seg;
	if (seg->ls_len > 0)
		memcpy(pk->pk_data, seg->ls_data, seg->ls_len);
	pk->pk_seg.ls_data = pk->pk_data;
	return (pk);
}

/* Put pk on the wire to arrive at due, and have a task look then. */
static int
link_schedule(struct link *lk, struct link_pkt *pk, uint64_t due, uint64_t now)
{
	struct platform *pl;
	int error;

	pk->pk_due = due;
	pk->pk_order = lk->lk_order++;
	if ((error = heap_push(lk, pk)) != 0)
		return (error);
	lk->lk_path[pk->pk_path].pa_stats.lps_inflight++;
	lk->lk_tasks++;
	pl = lk->lk_pl;
	pl->pl_task_post(pl, due - now, link_tick, lk);
	return (0);
}

/* Serialisation time of n bytes at the path's rate. */
static uint64_t
path_tx_ns(const struct link_path_conf *pc, uint64_t n)
{
	double ns;

	ns = (double)n * 8e9 / (double)pc->lp_rate_bps;
	return (ns >= (double)LINK_TIME_MAX ? LINK_TIME_MAX : (uint64_t)ns);
}

/* Bytes still queued or being serialised at now. */
static double
path_backlog(const struct link_path *pa, uint64_t now)
{

	if (pa->pa_busy_until <= now)
		return (0);
	return ((double)(pa->pa_busy_until - now) *
	    (double)pa->pa_conf.lp_rate_bps / 8e9);
}

static bool
drop_matches(const struct link_drop *ld, const struct link_seg *seg)
{

	if (ld->ld_tags_any != 0 && (seg->ls_tags & ld->ld_tags_any) == 0)
		return (false);
	if ((seg->ls_tags & ld->ld_tags_none) != 0)
		return (false);
	return (ld->ld_pred == NULL || ld->ld_pred(ld->ld_pred_arg, seg));
}

/*
 * Decide pk's fate, in the order link.h documents.  Returns the cause, or
 * LINK_LOSS_NCAUSES when it goes through; *rule is the rule that dropped.
 */
static enum link_loss
path_loss(struct link_path *pa, const struct link_seg *seg, uint64_t now,
    int *rule)
{
	const struct link_path_conf *pc;
	struct link_path_stats *st;
	const struct link_drop *ld;
	uint64_t wire;
	int i;

	pc = &pa->pa_conf;
	st = &pa->pa_stats;
	*rule = -1;
	if (pc->lp_rate_bps != 0) {
		wire = (uint64_t)seg->ls_len + pc->lp_overhead;
		if (pc->lp_queue_bytes != 0 &&
		    path_backlog(pa, now) + (double)wire >
			(double)pc->lp_queue_bytes)
			return (LINK_LOSS_QUEUE);
		/* A segment lost on the wire still took its time slot. */
		pa->pa_busy_until =
		    add_sat(pa->pa_busy_until > now ? pa->pa_busy_until : now,
			path_tx_ns(pc, wire));
	}
	if (!pa->pa_bad) {
		if (path_chance(pa, pc->lp_burst_enter))
			pa->pa_bad = true;
	} else if (path_chance(pa, pc->lp_burst_leave))
		pa->pa_bad = false;
	if (path_chance(pa, pc->lp_loss))
		return (LINK_LOSS_RANDOM);
	if (pa->pa_bad && path_chance(pa, pc->lp_burst_loss))
		return (LINK_LOSS_BURST);
	for (i = 0; i < pc->lp_ndrops; i++) {
		ld = &pc->lp_drops[i];
		if (!drop_matches(ld, seg))
			continue;
		st->lps_rule_matches[i]++;
		if (ld->ld_max != 0 && st->lps_rule_drops[i] >= ld->ld_max)
			continue;
		if ((ld->ld_nth != 0 &&
			st->lps_rule_matches[i] == ld->ld_nth) ||
		    path_chance(pa, ld->ld_prob)) {
			st->lps_rule_drops[i]++;
			*rule = i;
			return (LINK_LOSS_TARGETED);
		}
	}
	return (LINK_LOSS_NCAUSES);
}

/* Send seg down a path (data or ACK).  Lock held. */
static int
path_send(struct link *lk, struct link_path *pa, const struct link_seg *seg)
{
	const struct link_path_conf *pc;
	struct link_path_stats *st;
	struct link_pkt *pk, *copy;
	struct link_event ev;
	enum link_loss cause;
	uint64_t now, due, held_due, copy_due;
	bool held;
	int error, rule;

	pc = &pa->pa_conf;
	st = &pa->pa_stats;
	if ((pk = pkt_new(seg, pa->pa_id)) == NULL)
		return (ENOMEM);
	pk->pk_id = lk->lk_next_id++;
	now = lk->lk_pl->pl_now(lk->lk_pl);
	st->lps_sent++;
	st->lps_sent_bytes += seg->ls_len;

	cause = path_loss(pa, &pk->pk_seg, now, &rule);
	if (cause != LINK_LOSS_NCAUSES) {
		st->lps_lost[cause]++;
		link_emit_pkt(lk, LINK_EV_SEND, pk, 0);
		memset(&ev, 0, sizeof(ev));
		ev.le_type = LINK_EV_DROP;
		ev.le_path = pa->pa_id;
		ev.le_id = pk->pk_id;
		ev.le_seg = &pk->pk_seg;
		ev.le_seq = seg->ls_seq;
		ev.le_len = seg->ls_len;
		ev.le_cause = cause;
		ev.le_rule = rule;
		link_emit(lk, &ev);
		free(pk);
		return (0);
	}

	due = pc->lp_rate_bps != 0 ? pa->pa_busy_until : now;
	due = add_sat(due, pc->lp_delay_ns);
	due = add_sat(due, path_upto(pa, pc->lp_jitter_ns));
	/* Jitter never reorders: a queue keeps its order. */
	if (due < pa->pa_last_due)
		due = pa->pa_last_due;
	held = path_chance(pa, pc->lp_reorder);
	held_due = add_sat(due, pc->lp_reorder_ns);
	if (!held)
		pa->pa_last_due = due;
	copy = NULL;
	if (path_chance(pa, pc->lp_dup)) {
		if ((copy = pkt_new(&pk->pk_seg, pa->pa_id)) == NULL) {
			free(pk);
			return (ENOMEM);
		}
		copy->pk_id = pk->pk_id;
	}

	link_emit_pkt(lk, LINK_EV_SEND, pk, due);
	if (held) {
		st->lps_held++;
		due = held_due;
		link_emit_pkt(lk, LINK_EV_HOLD, pk, due);
	}
	copy_due = add_sat(due, pc->lp_dup_ns);
	if ((error = link_schedule(lk, pk, due, now)) != 0) {
		free(pk);
		free(copy);
		return (error);
	}
	/* Without memory for the copy, the original alone goes. */
	if (copy != NULL && link_schedule(lk, copy, copy_due, now) != 0) {
		free(copy);
		copy = NULL;
	}
	if (copy != NULL) {
		st->lps_duplicated++;
		link_emit_pkt(lk, LINK_EV_DUP, copy, copy_due);
	}
	return (0);
}

/* --- Receiver -------------------------------------------------------- */

static uint64_t
blk_end(const struct rcv_blk *b)
{

	return (b->rb_start + b->rb_len);
}

/*
 * Add the bytes of a[] that differ from b[] to *diff, and the offset of
 * the first of them (a[0] is at seq) to *first unless it is set.
 */
static void
diff_add(const uint8_t *a, const uint8_t *b, uint64_t n, uint64_t seq,
    uint64_t *diff, uint64_t *first)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		if (*first == UINT64_MAX)
			*first = seq + i;
		(*diff)++;
	}
}

/* The ACK value: every byte in order, and the FIN when it is. */
static uint64_t
rcv_ack_value(const struct link_rcv *rc)
{

	return (rc->rc_rcv_nxt + (rc->rc_fin_in ? 1 : 0));
}

/*
 * FreeBSD advertises the space left in so_rcv (sbspace() in
 * sys/netinet/tcp_output.c tcp_default_output()); data waiting in the
 * reassembly queue is not in so_rcv and does not count.
 */
static uint64_t
rcv_window(const struct link_rcv *rc)
{

	if (rc->rc_conf.lr_wnd == 0)
		return (LINK_WND_UNLIMITED);
	return (rc->rc_conf.lr_wnd - (rc->rc_rcv_nxt - rc->rc_rd_nxt));
}

/* Bytes before rc_rd_nxt that the history still holds start here. */
static uint64_t
rcv_hist_low(const struct link_rcv *rc)
{
	uint64_t kept;

	kept = rc->rc_rd_nxt - rc->rc_conf.lr_isn;
	if (kept > rc->rc_hist_cap)
		kept = rc->rc_hist_cap;
	return (rc->rc_rd_nxt - kept);
}

/*
 * Make room for the history to reach the byte before end, up to
 * lr_history: grown by doubling, as most streams are short.  Without
 * memory it stays as it is and older bytes go unchecked.
 */
static void
rcv_hist_grow(struct link_rcv *rc, uint64_t end)
{
	uint64_t want, ncap, x, low;
	uint8_t *buf;

	want = end - rc->rc_conf.lr_isn;
	if (want > rc->rc_conf.lr_history)
		want = rc->rc_conf.lr_history;
	if (want <= rc->rc_hist_cap)
		return;
	ncap = 2 * rc->rc_hist_cap;
	if (ncap < want)
		ncap = want < 4096 ? 4096 : want;
	if (ncap > rc->rc_conf.lr_history)
		ncap = rc->rc_conf.lr_history;
	if ((buf = malloc(ncap)) == NULL)
		return;
	/* Byte x moves from x % old capacity to x % new capacity. */
	low = rcv_hist_low(rc);
	for (x = low; x < rc->rc_rd_nxt; x++)
		buf[x % ncap] = rc->rc_hist[x % rc->rc_hist_cap];
	free(rc->rc_hist);
	rc->rc_hist = buf;
	rc->rc_hist_cap = ncap;
}

static void
rcv_hist_append(struct link_rcv *rc, uint64_t seq, const uint8_t *p, uint64_t n)
{
	uint64_t cap, off, take;

	rcv_hist_grow(rc, seq + n);
	cap = rc->rc_hist_cap;
	if (cap == 0)
		return;
	if (n > cap) {
		p += n - cap;
		seq += n - cap;
		n = cap;
	}
	while (n > 0) {
		off = seq % cap;
		take = cap - off < n ? cap - off : n;
		memcpy(rc->rc_hist + off, p, take);
		p += take;
		seq += take;
		n -= take;
	}
}

/* Compare [seq, seq + n) of p with the history (see diff_add()). */
static void
rcv_hist_diff(const struct link_rcv *rc, uint64_t seq, const uint8_t *p,
    uint64_t n, uint64_t *diff, uint64_t *first)
{
	uint64_t cap, off, take;

	cap = rc->rc_hist_cap;
	while (n > 0) {
		off = seq % cap;
		take = cap - off < n ? cap - off : n;
		diff_add(p, rc->rc_hist + off, take, seq, diff, first);
		p += take;
		seq += take;
		n -= take;
	}
}

/* The first block that ends after seq (rc_nblks if none does). */
static size_t
rcv_find(const struct link_rcv *rc, uint64_t seq)
{
	size_t lo, hi, mid;

	lo = 0;
	hi = rc->rc_nblks;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (blk_end(&rc->rc_blks[mid]) <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Append n bytes of p to block b, growing it (doubling) as needed. */
static int
rcv_append(struct rcv_blk *b, const uint8_t *p, uint64_t n)
{
	uint64_t ncap;
	uint8_t *buf;

	if (b->rb_off + b->rb_len + n > b->rb_cap) {
		ncap = 2 * (b->rb_len + n);
		if ((buf = malloc(ncap)) == NULL)
			return (ENOMEM);
		memcpy(buf, b->rb_buf + b->rb_off, b->rb_len);
		free(b->rb_buf);
		b->rb_buf = buf;
		b->rb_off = 0;
		b->rb_cap = ncap;
	}
	memcpy(b->rb_buf + b->rb_off + b->rb_len, p, n);
	b->rb_len += n;
	return (0);
}

/*
 * Store a copy of [seq, seq + n) of p, which lies in the gap before block
 * *i: at the end of block *i - 1 if it ends at seq, else as a new block
 * *i.  *i is left at the block that follows the bytes stored.
 */
static int
rcv_store(struct link_rcv *rc, size_t *i, uint64_t seq, const uint8_t *p,
    uint64_t n)
{
	struct rcv_blk *b;
	size_t ncap;
	uint8_t *buf;

	if (*i > 0 && blk_end(&rc->rc_blks[*i - 1]) == seq)
		return (rcv_append(&rc->rc_blks[*i - 1], p, n));
	if (rc->rc_nblks == rc->rc_blks_cap) {
		ncap = rc->rc_blks_cap == 0 ? 16 : rc->rc_blks_cap * 2;
		b = reallocarray(rc->rc_blks, ncap, sizeof(*b));
		if (b == NULL)
			return (ENOMEM);
		rc->rc_blks = b;
		rc->rc_blks_cap = ncap;
	}
	if ((buf = malloc(n)) == NULL)
		return (ENOMEM);
	memcpy(buf, p, n);
	b = rc->rc_blks;
	memmove(&b[*i + 1], &b[*i], (rc->rc_nblks - *i) * sizeof(*b));
	rc->rc_nblks++;
	b[*i].rb_start = seq;
	b[*i].rb_len = n;
	b[*i].rb_off = 0;
	b[*i].rb_cap = n;
	b[*i].rb_buf = buf;
	(*i)++;
	return (0);
}

/* The contiguous run of blocks beyond rc_rcv_nxt that holds seq. */
static bool
rcv_run(const struct link_rcv *rc, uint64_t seq, struct link_sack *run)
{
	const struct rcv_blk *b;
	size_t i, j;

	i = rcv_find(rc, seq);
	b = rc->rc_blks;
	if (i == rc->rc_nblks || b[i].rb_start > seq ||
	    b[i].rb_start <= rc->rc_rcv_nxt)
		return (false);
	for (j = i; j > 0 && blk_end(&b[j - 1]) == b[j].rb_start; j--)
		;
	run->lsb_start = b[j].rb_start;
	for (j = i; j + 1 < rc->rc_nblks && blk_end(&b[j]) == b[j + 1].rb_start;
	     j++)
		;
	run->lsb_end = blk_end(&b[j]);
	return (true);
}

/*
 * RFC 2018 section 4: the first SACK block holds the segment that
 * triggered the ACK, the others repeat the most recently reported ones.
 * Anchors in the same run as the newest are dropped.
 */
static void
rcv_anchor(struct link_rcv *rc, uint64_t seq)
{
	struct link_sack run, r;
	int i, n;

	if (!rcv_run(rc, seq, &run))
		return;
	n = 0;
	for (i = 0; i < rc->rc_nanchors; i++) {
		if (rcv_run(rc, rc->rc_anchors[i], &r) &&
		    r.lsb_start == run.lsb_start)
			continue;
		rc->rc_anchors[n++] = rc->rc_anchors[i];
	}
	if (n == RCV_ANCHORS)
		n--;
	memmove(&rc->rc_anchors[1], &rc->rc_anchors[0],
	    n * sizeof(rc->rc_anchors[0]));
	rc->rc_anchors[0] = seq;
	rc->rc_nanchors = n + 1;
}

static void
rcv_sack(struct link_rcv *rc, struct link_seg *ack)
{
	struct link_sack r;
	int i, j, n;
	bool seen;

	n = 0;
	for (i = 0; i < rc->rc_nanchors; i++) {
		if (!rcv_run(rc, rc->rc_anchors[i], &r))
			continue;
		seen = false;
		for (j = 0; j < ack->ls_nsack; j++)
			seen |= ack->ls_sack[j].lsb_start == r.lsb_start;
		if (seen)
			continue;
		rc->rc_anchors[n++] = rc->rc_anchors[i];
		if (ack->ls_nsack < rc->rc_conf.lr_sack)
			ack->ls_sack[ack->ls_nsack++] = r;
	}
	rc->rc_nanchors = n;
}

static void
rcv_send_ack(struct link *lk)
{
	struct link_rcv *rc;
	struct link_seg ack;

	rc = &lk->lk_rcv;
	memset(&ack, 0, sizeof(ack));
	ack.ls_flags = LINK_SEG_ACK;
	ack.ls_ack = rcv_ack_value(rc);
	ack.ls_wnd = rcv_window(rc);
	rcv_sack(rc, &ack);
	if (rc->rc_acked_once && ack.ls_ack == rc->rc_last_ack &&
	    ack.ls_wnd == rc->rc_last_wnd)
		rc->rc_stats.lrs_dupacks++;
	rc->rc_acked_once = true;
	rc->rc_last_ack = ack.ls_ack;
	rc->rc_last_wnd = ack.ls_wnd;
	rc->rc_stats.lrs_acks++;
	rc->rc_ack_now = false;
	rc->rc_unacked = 0;
	rc->rc_delack_armed = false;
	/* A lost ACK and one that found no memory look alike to TCP. */
	(void)path_send(lk, &lk->lk_path[LINK_PATH_ACK], &ack);
}

/*
 * The FIN of seg, if it can be believed: at the same place as any FIN
 * before it and after every byte received so far.
 */
static void
rcv_fin(struct link_rcv *rc, uint64_t fin_seq)
{
	uint64_t top;

	if (rc->rc_fin_known) {
		if (fin_seq != rc->rc_fin_seq)
			rc->rc_stats.lrs_fin_conflicts++;
		return;
	}
	top = rc->rc_nblks > 0 ? blk_end(&rc->rc_blks[rc->rc_nblks - 1]) :
				 rc->rc_rcv_nxt;
	if (top < rc->rc_rd_nxt)
		top = rc->rc_rd_nxt;
	if (fin_seq < top) {
		rc->rc_stats.lrs_fin_conflicts++;
		return;
	}
	rc->rc_fin_known = true;
	rc->rc_fin_seq = fin_seq;
}

/*
 * One data segment arrives.  Keeps the first copy of every byte and counts
 * later copies that differ; decides whether to ACK at once (RFC 5681
 * section 4.2: out of order, filling a hole, nothing new) or to delay.
 */
static void
rcv_input(struct link *lk, const struct link_seg *seg)
{
	struct link_rcv *rc;
	struct link_rcv_stats *st;
	struct rcv_blk *b;
	const uint8_t *p;
	uint64_t s, e, end, pos, lo, hi, diff, first, edge, ack_before;
	uint64_t fresh, dup;
	size_t i;
	bool had_ooo, fin;

	rc = &lk->lk_rcv;
	st = &rc->rc_stats;
	st->lrs_segs++;
	s = seg->ls_seq;
	e = end = s + seg->ls_len;
	p = seg->ls_data;
	fin = (seg->ls_flags & LINK_SEG_FIN) != 0;
	ack_before = rcv_ack_value(rc);
	had_ooo = rc->rc_nblks > 0 &&
	    blk_end(&rc->rc_blks[rc->rc_nblks - 1]) > rc->rc_rcv_nxt;
	if (s > rc->rc_rcv_nxt)
		st->lrs_ooo_segs++;

	/* Nothing may follow the FIN. */
	if (rc->rc_fin_known && e > rc->rc_fin_seq) {
		st->lrs_fin_conflicts++;
		e = s > rc->rc_fin_seq ? s : rc->rc_fin_seq;
		fin = false;
	}
	/* Nor lie beyond the window (the FIN needs no room). */
	if (rc->rc_conf.lr_wnd != 0) {
		edge = rc->rc_rd_nxt + rc->rc_conf.lr_wnd;
		if (e > edge) {
			st->lrs_wnd_trimmed += e - (s > edge ? s : edge);
			e = s > edge ? s : edge;
			fin = false;
		}
	}

	/* Below rd_nxt: consumed already; check what the history keeps. */
	dup = fresh = diff = 0;
	first = UINT64_MAX;
	pos = s;
	if (pos < rc->rc_rd_nxt && pos < e) {
		hi = e < rc->rc_rd_nxt ? e : rc->rc_rd_nxt;
		lo = rcv_hist_low(rc);
		dup += hi - pos;
		if (pos < lo) {
			st->lrs_unchecked_bytes += (hi < lo ? hi : lo) - pos;
			pos = hi < lo ? hi : lo;
		}
		rcv_hist_diff(rc, pos, p + (pos - s), hi - pos, &diff, &first);
		pos = hi;
	}

	/* The rest against the blocks: compare overlaps, fill gaps. */
	i = rcv_find(rc, pos);
	while (pos < e) {
		b = i < rc->rc_nblks ? &rc->rc_blks[i] : NULL;
		if (b != NULL && b->rb_start <= pos) {
			hi = e < blk_end(b) ? e : blk_end(b);
			diff_add(p + (pos - s),
			    b->rb_buf + b->rb_off + (pos - b->rb_start),
			    hi - pos, pos, &diff, &first);
			dup += hi - pos;
			pos = hi;
			i++;
			continue;
		}
		hi = b != NULL && b->rb_start < e ? b->rb_start : e;
		if (rcv_store(rc, &i, pos, p + (pos - s), hi - pos) != 0)
			break; /* no memory: as if the rest were lost */
		fresh += hi - pos;
		pos = hi;
	}
	st->lrs_dup_bytes += dup;
	if (diff != 0) {
		st->lrs_mismatch_segs++;
		if (st->lrs_mismatch_bytes == 0)
			st->lrs_first_mismatch = first;
		st->lrs_mismatch_bytes += diff;
		link_emit_range(lk, LINK_EV_MISMATCH, first, diff);
	}

	/* A FIN only counts once nothing before it was trimmed away. */
	if (fin && pos == end)
		rcv_fin(rc, end);
	for (i = 0; i < rc->rc_nblks; i++) {
		if (rc->rc_blks[i].rb_start > rc->rc_rcv_nxt)
			break;
		if (blk_end(&rc->rc_blks[i]) > rc->rc_rcv_nxt)
			rc->rc_rcv_nxt = blk_end(&rc->rc_blks[i]);
	}
	if (rc->rc_fin_known && !rc->rc_fin_in &&
	    rc->rc_rcv_nxt == rc->rc_fin_seq) {
		rc->rc_fin_in = true;
		link_emit_range(lk, LINK_EV_FIN, rc->rc_fin_seq, 0);
	}
	if (s < e && e > rc->rc_rcv_nxt)
		rcv_anchor(rc, s > rc->rc_rcv_nxt ? s : rc->rc_rcv_nxt);

	if (rcv_ack_value(rc) == ack_before) {
		/* Duplicate, out of order, or outside the window. */
		if (fresh == 0)
			st->lrs_dup_segs++;
		rc->rc_ack_now = true;
	} else if (had_ooo || rc->rc_fin_in) {
		rc->rc_ack_now = true;
	} else if (++rc->rc_unacked >= rc->rc_conf.lr_ack_every) {
		rc->rc_ack_now = true;
	} else if (!rc->rc_delack_armed) {
		/*
		 * RFC 1122 4.2.3.2; FreeBSD: DELAY_ACK() in
		 * sys/netinet/tcp_input.c.
		 */
		rc->rc_delack_armed = true;
		rc->rc_delack_due = add_sat(lk->lk_pl->pl_now(lk->lk_pl),
		    rc->rc_conf.lr_delack_ns);
		lk->lk_tasks++;
		lk->lk_pl->pl_task_post(lk->lk_pl, rc->rc_conf.lr_delack_ns,
		    link_tick, lk);
	}
}

/* Account for n bytes the consumer took from the first block. */
static void
rcv_consumed(struct link *lk, uint64_t n)
{
	struct link_rcv *rc;
	struct rcv_blk *b;
	uint64_t half;

	rc = &lk->lk_rcv;
	b = &rc->rc_blks[0];
	rcv_hist_append(rc, rc->rc_rd_nxt, b->rb_buf + b->rb_off, n);
	link_emit_range(lk, LINK_EV_DELIVER, rc->rc_rd_nxt, n);
	rc->rc_rd_nxt += n;
	rc->rc_stats.lrs_bytes += n;
	b->rb_start += n;
	b->rb_off += n;
	b->rb_len -= n;
	if (b->rb_len == 0) {
		free(b->rb_buf);
		rc->rc_nblks--;
		memmove(&rc->rc_blks[0], &rc->rc_blks[1],
		    rc->rc_nblks * sizeof(rc->rc_blks[0]));
	}
	/*
	 * Window update once the window opens to half the buffer, the
	 * receiver's side of silly-window avoidance (RFC 1122 4.2.3.3).
	 */
	half = (rc->rc_conf.lr_wnd + 1) / 2;
	if (rc->rc_conf.lr_wnd != 0 && rc->rc_acked_once &&
	    rc->rc_last_wnd < half && rcv_window(rc) >= half)
		rc->rc_ack_now = true;
}

/* --- Dispatcher ------------------------------------------------------ */

/* Run everything that is due.  Lock held; dropped around callbacks. */
static void
link_dispatch(struct link *lk)
{
	struct link_rcv *rc;
	struct rcv_blk *b;
	struct link_pkt *pk;
	const uint8_t *buf;
	uint64_t now, readies;
	size_t len, n;

	if (lk->lk_dispatching)
		return;
	lk->lk_dispatching = true;
	rc = &lk->lk_rcv;
	for (;;) {
		now = lk->lk_pl->pl_now(lk->lk_pl);
		b = rc->rc_nblks > 0 ? &rc->rc_blks[0] : NULL;
		if (!rc->rc_blocked && b != NULL &&
		    b->rb_start == rc->rc_rd_nxt &&
		    rc->rc_rd_nxt < rc->rc_rcv_nxt) {
			buf = b->rb_buf + b->rb_off;
			len = b->rb_len;
			readies = rc->rc_readies;
			if (lk->lk_data_cb != NULL) {
				pthread_mutex_unlock(&lk->lk_mtx);
				n = lk->lk_data_cb(lk->lk_rcv_arg, buf, len);
				pthread_mutex_lock(&lk->lk_mtx);
			} else
				n = len;
			/* Unless it said "ready" before returning. */
			if (n < len && readies == rc->rc_readies)
				rc->rc_blocked = true;
			if (n > len)
				n = len; /* a consumer cannot take more */
			if (n > 0)
				rcv_consumed(lk, n);
			continue;
		}
		if (rc->rc_fin_in && !rc->rc_fin_reported &&
		    rc->rc_rd_nxt == rc->rc_fin_seq) {
			rc->rc_fin_reported = true;
			if (lk->lk_fin_cb != NULL) {
				pthread_mutex_unlock(&lk->lk_mtx);
				lk->lk_fin_cb(lk->lk_rcv_arg);
				pthread_mutex_lock(&lk->lk_mtx);
			}
			continue;
		}
		if (rc->rc_delack_armed && now >= rc->rc_delack_due)
			rc->rc_ack_now = true;
		if (rc->rc_ack_now) {
			rcv_send_ack(lk);
			continue;
		}
		if (lk->lk_nheap == 0 || lk->lk_heap[0]->pk_due > now)
			break;
		pk = heap_pop(lk);
		lk->lk_path[pk->pk_path].pa_stats.lps_inflight--;
		lk->lk_path[pk->pk_path].pa_stats.lps_arrived++;
		lk->lk_path[pk->pk_path].pa_stats.lps_arrived_bytes +=
		    pk->pk_seg.ls_len;
		link_emit_pkt(lk, LINK_EV_ARRIVE, pk, pk->pk_due);
		if (pk->pk_path == LINK_PATH_DATA)
			rcv_input(lk, &pk->pk_seg);
		else if (lk->lk_ack_cb != NULL) {
			pthread_mutex_unlock(&lk->lk_mtx);
			lk->lk_ack_cb(lk->lk_snd_arg, &pk->pk_seg);
			pthread_mutex_lock(&lk->lk_mtx);
		}
		free(pk);
	}
	lk->lk_dispatching = false;
}

static void
link_free(struct link *lk)
{
	size_t i;

	for (i = 0; i < lk->lk_nheap; i++)
		free(lk->lk_heap[i]);
	free(lk->lk_heap);
	for (i = 0; i < lk->lk_rcv.rc_nblks; i++)
		free(lk->lk_rcv.rc_blks[i].rb_buf);
	free(lk->lk_rcv.rc_blks);
	free(lk->lk_rcv.rc_hist);
	pthread_mutex_destroy(&lk->lk_mtx);
	free(lk);
}

static void
link_tick(void *arg)
{
	struct link *lk;
	bool gone;

	lk = arg;
	pthread_mutex_lock(&lk->lk_mtx);
	/*
	 * The task counts until it is done: the callbacks run with the lock
	 * dropped, and a link_pending() of 0 meanwhile would let another
	 * thread free the link under the dispatch (the real-time runner).
	 */
	if (!lk->lk_dead)
		link_dispatch(lk);
	lk->lk_tasks--;
	gone = lk->lk_dead && lk->lk_tasks == 0;
	pthread_mutex_unlock(&lk->lk_mtx);
	if (gone)
		link_free(lk);
}

/* --- Configuration and the public functions -------------------------- */

static bool __attribute__((format(printf, 3, 4)))
conf_error(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return (false);
}

static bool
prob_ok(double p)
{

	return (p >= 0 && p <= 1); /* false for NaN too */
}

static bool
path_conf_ok(const struct link_path_conf *pc, const char *name, char *why,
    size_t whylen)
{
	const struct link_drop *ld;
	int i;

	if (pc->lp_delay_ns > LINK_TIME_MAX ||
	    pc->lp_jitter_ns > LINK_TIME_MAX ||
	    pc->lp_reorder_ns > LINK_TIME_MAX || pc->lp_dup_ns > LINK_TIME_MAX)
		return (
		    conf_error(why, whylen, "%s path: a delay is over %ju ns",
			name, (uintmax_t)LINK_TIME_MAX));
	if (!prob_ok(pc->lp_loss) || !prob_ok(pc->lp_burst_enter) ||
	    !prob_ok(pc->lp_burst_leave) || !prob_ok(pc->lp_burst_loss) ||
	    !prob_ok(pc->lp_reorder) || !prob_ok(pc->lp_dup))
		return (conf_error(why, whylen,
		    "%s path: a probability is not in [0, 1]", name));
	if (pc->lp_queue_bytes != 0 && pc->lp_rate_bps == 0)
		return (conf_error(why, whylen,
		    "%s path: a queue limit needs a rate", name));
	if (pc->lp_ndrops < 0 || pc->lp_ndrops > LINK_DROPS_MAX)
		return (conf_error(why, whylen,
		    "%s path: %d drop rules (at most %d)", name, pc->lp_ndrops,
		    LINK_DROPS_MAX));
	for (i = 0; i < pc->lp_ndrops; i++) {
		ld = &pc->lp_drops[i];
		if (!prob_ok(ld->ld_prob))
			return (conf_error(why, whylen,
			    "%s path: drop rule %d: probability not in [0, 1]",
			    name, i));
	}
	return (true);
}

bool
link_conf_check(const struct link_conf *lc, char *why, size_t whylen)
{
	const struct link_rcv_conf *rc;

	if (!path_conf_ok(&lc->lc_data, "data", why, whylen) ||
	    !path_conf_ok(&lc->lc_ack, "ack", why, whylen))
		return (false);
	rc = &lc->lc_rcv;
	if (rc->lr_ack_every < 0 || rc->lr_ack_every > 64)
		return (conf_error(why, whylen,
		    "receiver: ack every %d segments (0 to 64)",
		    rc->lr_ack_every));
	if (rc->lr_ack_every > 1 && rc->lr_delack_ns == 0)
		return (conf_error(why, whylen,
		    "receiver: delayed ACKs need a timer"));
	if (rc->lr_delack_ns > LINK_TIME_MAX)
		return (conf_error(why, whylen,
		    "receiver: delayed-ACK timer over %ju ns",
		    (uintmax_t)LINK_TIME_MAX));
	if (rc->lr_sack < 0 || rc->lr_sack > LINK_SACK_MAX)
		return (conf_error(why, whylen,
		    "receiver: %d SACK blocks (0 to %d)", rc->lr_sack,
		    LINK_SACK_MAX));
	if (rc->lr_wnd > (UINT64_C(1) << 40) ||
	    rc->lr_history > (UINT64_C(1) << 32))
		return (conf_error(why, whylen,
		    "receiver: window or history too large"));
	if (rc->lr_isn > UINT64_MAX - (UINT64_C(1) << 62))
		return (conf_error(why, whylen,
		    "receiver: initial sequence number too close to 2^64"));
	return (true);
}

struct link *
link_create(struct platform *pl, const struct link_conf *conf, char *why,
    size_t whylen)
{
	struct link *lk;
	struct link_rcv *rc;
	uint64_t x;
	int i;

	if (pl == NULL || conf == NULL) {
		conf_error(why, whylen, "no platform or configuration");
		return (NULL);
	}
	if (!link_conf_check(conf, why, whylen))
		return (NULL);
	if ((lk = calloc(1, sizeof(*lk))) == NULL) {
		conf_error(why, whylen, "out of memory");
		return (NULL);
	}
	rc = &lk->lk_rcv;
	rc->rc_conf = conf->lc_rcv;
	if (rc->rc_conf.lr_ack_every == 0)
		rc->rc_conf.lr_ack_every = 1;
	if (rc->rc_conf.lr_history == 0)
		rc->rc_conf.lr_history = LINK_HISTORY_DEFAULT;
	rc->rc_rd_nxt = rc->rc_rcv_nxt = rc->rc_conf.lr_isn;
	pthread_mutex_init(&lk->lk_mtx, NULL);
	lk->lk_pl = pl;
	lk->lk_data_cb = conf->lc_data_cb;
	lk->lk_fin_cb = conf->lc_fin_cb;
	lk->lk_rcv_arg = conf->lc_rcv_arg;
	lk->lk_ack_cb = conf->lc_ack_cb;
	lk->lk_snd_arg = conf->lc_snd_arg;
	lk->lk_trace_cb = conf->lc_trace_cb;
	lk->lk_trace_arg = conf->lc_trace_arg;
	lk->lk_hash = UINT64_C(0xcbf29ce484222325); /* FNV offset basis */
	x = conf->lc_seed;
	for (i = 0; i < 2; i++) {
		lk->lk_path[i].pa_id = i;
		lk->lk_path[i].pa_rng = mix64(&x);
	}
	lk->lk_path[LINK_PATH_DATA].pa_conf = conf->lc_data;
	lk->lk_path[LINK_PATH_ACK].pa_conf = conf->lc_ack;
	return (lk);
}

int
link_send(struct link *lk, const struct link_seg *seg)
{
	int error;

	if (lk == NULL || seg == NULL || seg->ls_len > LINK_SEG_MAXLEN ||
	    (seg->ls_len > 0 && seg->ls_data == NULL) ||
	    (seg->ls_flags & ~(uint32_t)LINK_SEG_FIN) != 0 ||
	    seg->ls_seq > UINT64_MAX - seg->ls_len - 1)
		return (EINVAL);
	pthread_mutex_lock(&lk->lk_mtx);
	error = lk->lk_dead ? EINVAL :
			      path_send(lk, &lk->lk_path[LINK_PATH_DATA], seg);
	pthread_mutex_unlock(&lk->lk_mtx);
	return (error);
}

void
link_rcv_ready(struct link *lk)
{

	pthread_mutex_lock(&lk->lk_mtx);
	if (!lk->lk_dead) {
		lk->lk_rcv.rc_blocked = false;
		lk->lk_rcv.rc_readies++;
		/* The consumer's own thread is no place for its callback. */
		lk->lk_tasks++;
		lk->lk_pl->pl_task_post(lk->lk_pl, 0, link_tick, lk);
	}
	pthread_mutex_unlock(&lk->lk_mtx);
}

void
link_stats(struct link *lk, struct link_stats *st)
{
	struct link_rcv *rc;

	pthread_mutex_lock(&lk->lk_mtx);
	rc = &lk->lk_rcv;
	st->ls_data = lk->lk_path[LINK_PATH_DATA].pa_stats;
	st->ls_ack = lk->lk_path[LINK_PATH_ACK].pa_stats;
	st->ls_rcv = rc->rc_stats;
	st->ls_rcv.lrs_rcv_nxt = rcv_ack_value(rc);
	st->ls_rcv.lrs_fin = rc->rc_fin_reported;
	pthread_mutex_unlock(&lk->lk_mtx);
}

uint64_t
link_hash(struct link *lk)
{
	uint64_t h;

	pthread_mutex_lock(&lk->lk_mtx);
	h = lk->lk_hash;
	pthread_mutex_unlock(&lk->lk_mtx);
	return (h);
}

uint64_t
link_pending(struct link *lk)
{
	uint64_t n;

	pthread_mutex_lock(&lk->lk_mtx);
	n = lk->lk_tasks;
	pthread_mutex_unlock(&lk->lk_mtx);
	return (n);
}

void
link_destroy(struct link *lk)
{
	bool now;

	if (lk == NULL)
		return;
	pthread_mutex_lock(&lk->lk_mtx);
	lk->lk_dead = true;
	now = lk->lk_tasks == 0;
	pthread_mutex_unlock(&lk->lk_mtx);
	if (now)
		link_free(lk);
}

const char *
link_loss_name(enum link_loss cause)
{
	static const char *const names[] = {
		[LINK_LOSS_QUEUE] = "queue",
		[LINK_LOSS_RANDOM] = "random",
		[LINK_LOSS_BURST] = "burst",
		[LINK_LOSS_TARGETED] = "targeted",
	};

	if ((unsigned)cause >= LINK_LOSS_NCAUSES)
		return ("?");
	return (names[cause]);
}

const char *
link_ev_name(enum link_ev_type type)
{
	static const char *const names[] = {
		[LINK_EV_SEND] = "send",
		[LINK_EV_DROP] = "drop",
		[LINK_EV_HOLD] = "hold",
		[LINK_EV_DUP] = "dup",
		[LINK_EV_ARRIVE] = "arrive",
		[LINK_EV_DELIVER] = "deliver",
		[LINK_EV_MISMATCH] = "mismatch",
		[LINK_EV_FIN] = "fin",
	};

	if ((unsigned)type >= sizeof(names) / sizeof(names[0]))
		return ("?");
	return (names[type]);
}
