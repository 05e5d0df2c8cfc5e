/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The trace reader's insides, shared by its parts (the interface is
 * trace.h):
 *
 *	ktrace_read.c		the log: limits, growth, merging the events
 *				of a record; ktrace_read_file()
 *	ktrace_read_jsonl.c	JSON events and JSON lines
 *	ktrace_read_pcapng.c	pcapng blocks, their comments and frames
 *	ktrace_check.c		the checks against the golden model
 *
 * Everything the readers parse is untrusted: every length is checked
 * before use, every allocation is bounded (trace.h: KTRACE_READ_MAX_*),
 * and nothing aborts.
 */

#ifndef _SIM_TRACE_KTRACE_READ_H_
#define _SIM_TRACE_KTRACE_READ_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Record event kinds, in the order the kernel must produce them. */
enum { RK_FRAMED, RK_ENCRYPTED, RK_READY, RK_FREED, RK_N };

/*
 * Bounds on the fields of one event.  They are above what the kernel
 * writes (src/sys/mbuf.h: MBUF_PEXT_HDR_LEN, MBUF_PEXT_TRAIL_LEN), so that
 * odd records reach the checker rather than fail to parse, and they keep
 * every sum of an offset and lengths far below 2^64.
 */
#define HDR_MAX 32	      /* record header + explicit nonce or IV */
#define TRL_MAX 255	      /* record trailer */
#define SEG_MAX 65535	      /* one segment (an IPv4 total length) */
#define OFF_MAX (1ULL << 62)  /* stream offset */
#define REC_MAX (1U << 20)    /* record and payload length */
#define FILE_MAX (1ULL << 31) /* ktrace_read_file() */

struct rrec {
	uint32_t conn;
	uint64_t seq;
	uint64_t at[RK_N]; /* event index of each kind */
	uint8_t has;	   /* bit per kind */
	uint32_t dups;	   /* repeated events */
	/* framed */
	int type, inner, cipher, auth, vminor;
	uint64_t plen, reclen, hdrlen, trllen, off;
	uint8_t hdr[HDR_MAX];
	bool ifnet; /* the NIC encrypts it: no encrypted event */
	/* encrypted */
	uint8_t trailer[TRL_MAX];
	size_t trlbytes;
};

struct rseg {
	uint32_t conn;
	uint64_t off, len, idx;
	bool rexmit;
	const uint8_t *data; /* pcapng only */
};

struct rconn {
	uint32_t id;
	uint16_t cport, sport;
	uint64_t srv_base; /* server_plain bytes */
	/* pcapng flow */
	bool flow;
	uint32_t cip, sip;
	uint32_t s_isn;
	bool have_isn;
	uint64_t s_max;
};

struct ktrace_log {
	bool pcapng;
	struct rrec *rec;
	size_t nrec, caprec;
	struct rseg *seg;
	size_t nseg, capseg;
	struct rconn *conn;
	size_t nconn, capconn;
	uint64_t nev; /* events so far (their index) */
	uint64_t client_bytes, plain_bytes, packets;
	/* NIC traces: segments marked resync, fallback, plaintext. */
	uint64_t resync_segs, fallback_segs, plaintext_segs;
	uint8_t *owned; /* file contents, for ktrace_read_file() */
};

/*
 * Bounds checks.  The parsers see the untrusted bytes only as spans,
 * windows [p, p + len) of the caller's buffer, and reach into a span only
 * through these helpers.  Each one checks the range it is asked for as
 * off <= len && n <= len - off, which cannot overflow, and fails rather
 * than form a pointer outside the span.  A pointer that kspan_at(s, off,
 * n) returns may be read for n bytes: the parsers decode fixed header
 * fields at constant offsets below n with be16dec() and friends
 * (<sys/endian.h>, from libbsd).
 */
struct kspan {
	const uint8_t *p;
	size_t len;
};

static inline struct kspan
kspan_make(const uint8_t *p, size_t len)
{
	struct kspan s;

	s.p = p;
	s.len = len;
	return (s);
}

static inline bool
kspan_has(struct kspan s, size_t off, size_t n)
{

	return (off <= s.len && n <= s.len - off);
}

/* The n bytes at off, or NULL if s ends before them. */
static inline const uint8_t *
kspan_at(struct kspan s, size_t off, size_t n)
{

	return (kspan_has(s, off, n) ? s.p + off : NULL);
}

/* *sub = [off, off + n) of s, or false if s ends before. */
static inline bool
kspan_sub(struct kspan s, size_t off, size_t n, struct kspan *sub)
{

	if (!kspan_has(s, off, n))
		return (false);
	*sub = kspan_make(s.p + off, n);
	return (true);
}

/* *sub = s from off to its end, or false if off is past the end. */
static inline bool
kspan_from(struct kspan s, size_t off, struct kspan *sub)
{

	if (off > s.len)
		return (false);
	return (kspan_sub(s, off, s.len - off, sub));
}

/*
 * Cut the next line off the front of *rest: *line runs up to the first
 * '\n' (which is dropped) or to the end.  False once *rest is empty, so
 * a final newline ends the last line and does not start another.
 */
static inline bool
kspan_line(struct kspan *rest, struct kspan *line)
{
	const uint8_t *nl;
	size_t used;

	if (rest->len == 0)
		return (false);
	nl = memchr(rest->p, '\n', rest->len);
	*line = kspan_make(rest->p,
	    nl != NULL ? (size_t)(nl - rest->p) : rest->len);
	used = nl != NULL ? line->len + 1 : line->len;
	*rest = kspan_make(rest->p + used, rest->len - used);
	return (true);
}

void ktr_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Connection id, created if create (EFBIG in *errp past the limit). */
struct rconn *ktr_conn_by_id(struct ktrace_log *log, uint32_t id, bool create,
    int *errp);

/* Append one record event or segment; EFBIG past the limit, ENOMEM. */
int ktr_add_rec(struct ktrace_log *log, const struct rrec *r);
int ktr_add_seg(struct ktrace_log *log, const struct rseg *s);

/* Sort, then merge the per-event rows into one row per (conn, seq). */
void ktr_log_finish(struct ktrace_log *log);

/* One JSON event: a line, or a line of a pcapng comment. */
int ktr_json_line(struct ktrace_log *log, struct kspan line, char *err,
    size_t errlen, const char *where);

#endif /* !_SIM_TRACE_KTRACE_READ_H_ */
