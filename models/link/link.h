/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The simulated wire between the simulated kernel's TCP sender and its
 * peer (docs/link-model.md).
 *
 * A link is a one-way data path (sender -> receiver) with delay, jitter,
 * an optional rate and queue, random, burst and targeted loss,
 * reordering and duplication; a receiver that reassembles the byte stream
 * and hands the in-order prefix to a consumer; and a reverse path that
 * carries the receiver's cumulative ACKs (with optional SACK blocks and
 * window) back to the sender.  Every random choice comes from the link's
 * own generator, seeded from lc_seed, one stream per path, so a scenario
 * replays exactly from its seed and configuration; every delivery is a
 * task posted on the platform (sys/platform.h), so the deterministic
 * runner's virtual time decides when it happens.  Deliveries on one path
 * leave in the order of their planned arrival whatever order the runner
 * runs the tasks in: a task only says "something may be due now".
 *
 * Sequence numbers are 64-bit stream offsets (no wraparound).  A FIN
 * occupies one sequence number after the last data byte, as in TCP
 * (RFC 9293 section 3.4), so the ACK of a FIN at offset n is n + 1.
 *
 * Threads: every function may be called from any thread, including from
 * the link's own callbacks (link_destroy() excepted).  The callbacks to
 * the consumer and to the sender run on platform tasks, one at a time, in
 * the link's order, with no link lock held; the trace callback runs with
 * the link's lock held and must not call into the link.
 */

#ifndef _MODELS_LINK_LINK_H_
#define _MODELS_LINK_LINK_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/platform.h"

/* Largest segment link_send() takes (a TSO burst is at most 64 KiB). */
#define LINK_SEG_MAXLEN (1u << 20)
/* SACK blocks per ACK: RFC 2018 section 3 allows at most four. */
#define LINK_SACK_MAX 4
/* Targeted-drop rules per path. */
#define LINK_DROPS_MAX 8
/* Largest delay, jitter or timer: one hour, so that sums cannot wrap. */
#define LINK_TIME_MAX (UINT64_C(3600) * 1000 * 1000 * 1000)
/* Advertised window when lr_wnd is 0. */
#define LINK_WND_UNLIMITED UINT64_MAX
/* Consumed bytes kept to check retransmissions when lr_history is 0. */
#define LINK_HISTORY_DEFAULT (1u << 20)

/*
 * Tags: what the sender says a segment carries.  The link does not look
 * inside the bytes; targeted-drop rules match these (and an optional
 * predicate).  Bits from LINK_TAG_USER up are the caller's.
 */
#define LINK_TAG_RECORD_END 0x0001 /* the last byte of a TLS record */
#define LINK_TAG_SPLIT_HDR 0x0002  /* part, not all, of a TLS header */
#define LINK_TAG_SPLIT_TAG 0x0004  /* part, not all, of a record's tag */
#define LINK_TAG_REXMIT 0x0008	   /* a retransmission */
#define LINK_TAG_USER 0x0100

/* ls_flags */
#define LINK_SEG_FIN 0x0001 /* data: a FIN follows the last byte */
#define LINK_SEG_ACK 0x0002 /* set on what the reverse path delivers */

struct link_sack {
	uint64_t lsb_start; /* first byte held */
	uint64_t lsb_end;   /* one past the last */
};

/*
 * A segment.  Data segments (link_send()) fill ls_seq..ls_flags; the
 * link copies ls_data.  ACKs (link_ack_fn) carry LINK_SEG_ACK, ls_len 0
 * and the ACK fields.
 */
struct link_seg {
	uint64_t ls_seq; /* stream offset of ls_data[0] */
	const uint8_t *ls_data;
	uint32_t ls_len;
	uint32_t ls_tags;  /* LINK_TAG_* */
	uint32_t ls_flags; /* LINK_SEG_* */
	uint64_t ls_ack;   /* cumulative: the next offset expected */
	uint64_t ls_wnd;   /* bytes the receiver takes beyond ls_ack */
	int ls_nsack;
	struct link_sack ls_sack[LINK_SACK_MAX]; /* most recent first */
};

/*
 * A targeted-drop rule: a segment matches when it has a tag of
 * ld_tags_any (or ld_tags_any is 0), no tag of ld_tags_none, and
 * ld_pred, if set, returns true.  A match is dropped when it is the
 * ld_nth match (1 = the first) or with probability ld_prob, until ld_max
 * drops (0: no limit).  E.g. every first transmission of a record's last
 * segment: { LINK_TAG_RECORD_END, LINK_TAG_REXMIT, .ld_prob = 1 }.
 */
struct link_drop {
	uint32_t ld_tags_any;
	uint32_t ld_tags_none;
	bool (*ld_pred)(void *arg, const struct link_seg *seg);
	void *ld_pred_arg;
	double ld_prob;
	uint64_t ld_nth;
	uint64_t ld_max;
};

/*
 * One direction.  A zeroed struct is a lossless path with no delay.
 * Decisions per segment, in this order: tail drop if the queue is full;
 * burst state change; random loss; burst loss; targeted rules (first
 * matching rule that drops wins); then arrival time; hold-back; copy.
 */
struct link_path_conf {
	uint64_t lp_delay_ns;	 /* fixed one-way delay */
	uint64_t lp_jitter_ns;	 /* plus uniform [0, jitter]; keeps order */
	uint64_t lp_rate_bps;	 /* 0: no serialisation delay */
	uint32_t lp_overhead;	 /* bytes added per segment for the rate */
	uint64_t lp_queue_bytes; /* with a rate: tail drop beyond (0: none) */
	double lp_loss;		 /* independent loss probability */
	/* Gilbert-Elliott bursts: a good and a bad state, per segment. */
	double lp_burst_enter; /* P(good -> bad) */
	double lp_burst_leave; /* P(bad -> good); mean burst 1/leave */
	double lp_burst_loss;  /* loss probability while bad */
	double lp_reorder;     /* P(held back by lp_reorder_ns) */
	uint64_t lp_reorder_ns;
	double lp_dup;	    /* P(delivered twice) */
	uint64_t lp_dup_ns; /* the copy arrives this long after */
	int lp_ndrops;
	struct link_drop lp_drops[LINK_DROPS_MAX];
};

/* The receiver.  A zeroed struct ACKs every segment, no SACK, no window. */
struct link_rcv_conf {
	uint64_t lr_isn;       /* first offset expected */
	int lr_ack_every;      /* ACK every nth in-order segment (0, 1: each) */
	uint64_t lr_delack_ns; /* delayed-ACK timer; needed if ack_every > 1 */
	int lr_sack;	       /* SACK blocks per ACK, 0 to LINK_SACK_MAX */
	uint64_t lr_wnd;       /* receive buffer; 0: unlimited */
	uint64_t lr_history;   /* consumed bytes kept for checks; 0: default */
};

enum link_loss {
	LINK_LOSS_QUEUE,    /* tail drop: the rate's queue was full */
	LINK_LOSS_RANDOM,   /* lp_loss */
	LINK_LOSS_BURST,    /* lp_burst_loss in the bad state */
	LINK_LOSS_TARGETED, /* a struct link_drop rule */
	LINK_LOSS_NCAUSES
};

enum link_ev_type {
	LINK_EV_SEND,	  /* a segment entered a path; le_due planned */
	LINK_EV_DROP,	  /* lost: le_cause (and le_rule) */
	LINK_EV_HOLD,	  /* held back for reordering */
	LINK_EV_DUP,	  /* copied; the copy arrives at le_due */
	LINK_EV_ARRIVE,	  /* reached the far end */
	LINK_EV_DELIVER,  /* in-order bytes taken by the consumer */
	LINK_EV_MISMATCH, /* received again with other bytes (violation) */
	LINK_EV_FIN,	  /* the FIN became in order */
};

enum link_path_id { LINK_PATH_DATA, LINK_PATH_ACK };

struct link_event {
	uint64_t le_time;
	enum link_ev_type le_type;
	enum link_path_id le_path;
	uint64_t le_id; /* segment number on the link; a copy keeps it */
	const struct link_seg *le_seg; /* path events; NULL otherwise */
	uint64_t le_seq; /* segment's, or DELIVER/MISMATCH range start */
	uint64_t le_len; /* segment's, or DELIVER/MISMATCH byte count */
	uint64_t le_due; /* SEND, HOLD, DUP: planned arrival */
	enum link_loss le_cause; /* DROP */
	int le_rule;		 /* DROP by LINK_LOSS_TARGETED: index */
};

/* The consumer takes up to len bytes; fewer stops until link_rcv_ready(). */
typedef size_t link_data_fn(void *arg, const uint8_t *buf, size_t len);
/* Every byte before the FIN was taken. */
typedef void link_fin_fn(void *arg);
/* An ACK reached the sender. */
typedef void link_ack_fn(void *arg, const struct link_seg *ack);
typedef void link_trace_fn(void *arg, const struct link_event *ev);

struct link_conf {
	uint64_t lc_seed;
	struct link_path_conf lc_data; /* sender -> receiver */
	struct link_path_conf lc_ack;  /* receiver -> sender */
	struct link_rcv_conf lc_rcv;
	link_data_fn *lc_data_cb; /* NULL: take and discard */
	link_fin_fn *lc_fin_cb;
	void *lc_rcv_arg;
	link_ack_fn *lc_ack_cb; /* NULL: ACKs are discarded */
	void *lc_snd_arg;
	link_trace_fn *lc_trace_cb;
	void *lc_trace_arg;
};

struct link_path_stats {
	uint64_t lps_sent; /* segments offered (copies not counted) */
	uint64_t lps_sent_bytes;
	uint64_t lps_lost[LINK_LOSS_NCAUSES];
	uint64_t lps_rule_matches[LINK_DROPS_MAX];
	uint64_t lps_rule_drops[LINK_DROPS_MAX];
	uint64_t lps_held; /* held back for reordering */
	uint64_t lps_duplicated;
	uint64_t lps_arrived; /* copies included */
	uint64_t lps_arrived_bytes;
	uint64_t lps_inflight; /* on the wire now */
};

struct link_rcv_stats {
	uint64_t lrs_segs;	      /* data segments that arrived */
	uint64_t lrs_ooo_segs;	      /* began beyond the next expected byte */
	uint64_t lrs_dup_segs;	      /* brought no new byte */
	uint64_t lrs_dup_bytes;	      /* bytes that had arrived before */
	uint64_t lrs_unchecked_bytes; /* of those, older than the history */
	uint64_t lrs_mismatch_segs;   /* violations: bytes differed */
	uint64_t lrs_mismatch_bytes;
	uint64_t lrs_first_mismatch; /* offset; valid if mismatch_segs > 0 */
	uint64_t lrs_fin_conflicts;  /* FIN moved, or data beyond the FIN */
	uint64_t lrs_wnd_trimmed;    /* bytes beyond the window, discarded */
	uint64_t lrs_bytes;	     /* in order, taken by the consumer */
	uint64_t lrs_acks;	     /* ACKs sent */
	uint64_t lrs_dupacks;	     /* of those, repeating the last one */
	uint64_t lrs_rcv_nxt;	     /* next offset expected (FIN counted) */
	bool lrs_fin;		     /* the FIN was reported to the consumer */
};

struct link_stats {
	struct link_path_stats ls_data;
	struct link_path_stats ls_ack;
	struct link_rcv_stats ls_rcv;
};

struct link;

/* The checks link_create() makes: false with the reason in why. */
bool link_conf_check(const struct link_conf *lc, char *why, size_t whylen);
/*
 * Set the knobs named in spec, "key=value,..." (docs/link-model.md), over
 * what lc holds.  0, or EINVAL with the reason in why and lc unchanged.
 */
int link_conf_parse(struct link_conf *lc, const char *spec, char *why,
    size_t whylen);
/*
 * lc's non-zero knobs as link_conf_parse() reads them; the length needed,
 * as snprintf(3).  Callbacks are not knobs; a drop rule's predicate is
 * written "/(predicate)", which the parser refuses rather than ignores.
 */
size_t link_conf_format(const struct link_conf *lc, char *buf, size_t len);

/*
 * NULL on a bad configuration or no memory, with the reason in why.  The
 * platform must outlive the link.
 */
struct link *link_create(struct platform *pl, const struct link_conf *conf,
    char *why, size_t whylen);
/*
 * Offer one data segment; its bytes are copied.  0, or EINVAL for a bad
 * segment (too long, wraps, an ACK flag), ENOMEM.
 */
int link_send(struct link *lk, const struct link_seg *seg);
/* The consumer can take more after taking less than offered. */
void link_rcv_ready(struct link *lk);
void link_stats(struct link *lk, struct link_stats *st);
/* FNV-1a over every event so far: equal hashes, equal runs. */
uint64_t link_hash(struct link *lk);
/*
 * Tasks the link has posted that have not run yet.  Destroy the link when
 * this is 0 (run the deterministic runner to idle, or quiesce the
 * real-time one); otherwise the last task frees it.
 */
uint64_t link_pending(struct link *lk);
void link_destroy(struct link *lk);

const char *link_loss_name(enum link_loss cause);
const char *link_ev_name(enum link_ev_type type);

#endif /* !_MODELS_LINK_LINK_H_ */
