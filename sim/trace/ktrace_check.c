/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Checking a record trace read back (ktrace_read.h) against the golden
 * record-layout model (models/golden) and the kernel's event order; see
 * docs/trace-format.md, "ktls_trace".
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "golden.h"
#include "sim/trace/ktrace_read.h"
#include "sim/trace/trace.h"
#include "sys/ktls.h"

static const char rk_letter[RK_N] = { 'F', 'E', 'R', 'X' };

/* Copy [off, off + len) of conn's stream from pcapng segments. */
static bool
stream_read(const struct ktrace_log *log, size_t lo, size_t hi, uint64_t off,
    size_t len, uint8_t *out)
{
	uint64_t want, s, e;
	size_t i, got;

	got = 0;
	want = off;
	for (i = lo; i < hi && got < len; i++) {
		const struct rseg *g = &log->seg[i];

		if (g->data == NULL || g->off > want)
			continue;
		if (g->off + g->len <= want)
			continue;
		s = want - g->off;
		e = g->len - s < len - got ? g->len - s : len - got;
		memcpy(out + got, g->data + s, e);
		got += e;
		want += e;
	}
	return (got == len);
}

struct checker {
	FILE *out;
	char *first;
	size_t firstlen;
	size_t ndiv;
	bool recdiv;
};

static void __attribute__((format(printf, 2, 3)))
diverge(struct checker *ck, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ck->ndiv == 0) {
		if (ck->first != NULL && ck->firstlen > 0)
			strlcpy(ck->first, msg, ck->firstlen);
		if (ck->out != NULL)
			fprintf(ck->out, "DIVERGENCE: %s\n", msg);
	} else if (ck->out != NULL)
		fprintf(ck->out, "  also: %s\n", msg);
	ck->ndiv++;
	ck->recdiv = true;
}

static const char *
tname(int type)
{

	switch (type) {
	case 20:
		return ("ccs");
	case 21:
		return ("alert");
	case 22:
		return ("handshake");
	case 23:
		return ("app");
	default:
		return ("type");
	}
}

/* The checks of one record; segs [lo, hi) are its connection's. */
static void
check_rec(const struct ktrace_log *log, struct checker *ck,
    const struct rrec *r, const struct rrec *prev, size_t lo, size_t hi,
    uint64_t *nsegsp)
{
	struct golden_suite gs;
	struct golden_record g;
	uint8_t wire[TRL_MAX > HDR_MAX ? TRL_MAX : HDR_MAX];
	uint64_t covered, reach, s, e, firstidx, lastidx, nsegs;
	size_t i, a, b, m;
	int k, error;

	if ((r->has & (1U << RK_FRAMED)) == 0) {
		diverge(ck, "conn %u seq %" PRIu64 ": events without framed",
		    r->conn, r->seq);
		*nsegsp = 0;
		return;
	}
	if (r->dups != 0)
		diverge(ck, "conn %u seq %" PRIu64 ": %u repeated events",
		    r->conn, r->seq, r->dups);
	gs.cipher_algorithm = r->cipher;
	gs.auth_algorithm = r->auth;
	gs.tls_vminor = r->vminor;
	error = golden_frame(&gs, (uint8_t)r->inner, r->plen, &g);
	if (error != 0)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": golden model rejects suite "
		    "cipher %d auth %d vminor %d plen %" PRIu64,
		    r->conn, r->seq, r->cipher, r->auth, r->vminor, r->plen);
	else if (g.reclen != r->reclen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": reclen %" PRIu64
		    ", golden %zu (plen %" PRIu64 ")",
		    r->conn, r->seq, r->reclen, g.reclen, r->plen);
	else if (memcmp(g.hdr, r->hdr, GOLDEN_HDR_LEN) != 0)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": header %02x%02x%02x%02x%02x, "
		    "golden %02x%02x%02x%02x%02x",
		    r->conn, r->seq, r->hdr[0], r->hdr[1], r->hdr[2], r->hdr[3],
		    r->hdr[4], g.hdr[0], g.hdr[1], g.hdr[2], g.hdr[3],
		    g.hdr[4]);
	else if (g.explicit_len != r->hdrlen - GOLDEN_HDR_LEN ||
	    g.trailer_len != r->trllen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": explicit %" PRIu64
		    " trailer %" PRIu64 ", golden %zu and %zu",
		    r->conn, r->seq, r->hdrlen - GOLDEN_HDR_LEN, r->trllen,
		    g.explicit_len, g.trailer_len);
	if (r->hdrlen + r->plen + r->trllen != r->reclen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": hdrlen + plen + trllen != reclen",
		    r->conn, r->seq);
	/*
	 * TLS 1.3 hides the content type inside the record (RFC 8446
	 * section 5.2): the header says application_data whatever the inner
	 * type; earlier versions carry the type in the header.
	 */
	if (r->inner != r->type && r->vminor != TLS_MINOR_VER_THREE)
		diverge(ck, "conn %u seq %" PRIu64 ": inner type %d != type %d",
		    r->conn, r->seq, r->inner, r->type);
	if (prev != NULL) {
		if (r->seq != prev->seq + 1)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": follows seq %" PRIu64,
			    r->conn, r->seq, prev->seq);
		else if ((prev->has & 1U << RK_FRAMED) != 0 &&
		    r->off != prev->off + prev->reclen)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": at offset %" PRIu64
			    ", previous record ends at %" PRIu64,
			    r->conn, r->seq, r->off, prev->off + prev->reclen);
	}
	for (k = RK_FRAMED + 1; k < RK_N; k++) {
		for (int j = k - 1; j >= RK_FRAMED; j--) {
			if ((r->has & 1U << k) == 0 || (r->has & 1U << j) == 0)
				continue;
			if (r->at[j] > r->at[k])
				diverge(ck,
				    "conn %u seq %" PRIu64 ": %c after %c",
				    r->conn, r->seq, rk_letter[j],
				    rk_letter[k]);
			break;
		}
	}

	/* Segments: a sorted run; lengths are at most SEG_MAX. */
	a = lo;
	b = hi;
	while (a < b) {
		m = a + (b - a) / 2;
		if (log->seg[m].off + SEG_MAX < r->off)
			a = m + 1;
		else
			b = m;
	}
	covered = 0;
	reach = r->off;
	nsegs = 0;
	firstidx = UINT64_MAX;
	lastidx = 0;
	for (i = a; i < hi && log->seg[i].off < r->off + r->reclen; i++) {
		const struct rseg *sg = &log->seg[i];

		if (sg->off + sg->len <= r->off)
			continue;
		nsegs++;
		if (sg->idx < firstidx)
			firstidx = sg->idx;
		if (sg->idx > lastidx)
			lastidx = sg->idx;
		s = sg->off > reach ? sg->off : reach;
		e = sg->off + sg->len < r->off + r->reclen ? sg->off + sg->len :
							     r->off + r->reclen;
		if (e > s) {
			covered += e - s;
			reach = e;
		}
	}
	*nsegsp = nsegs;
	if (nsegs != 0) {
		if ((r->has & 1U << RK_ENCRYPTED) == 0 && !r->ifnet)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": sent, never encrypted",
			    r->conn, r->seq);
		/*
		 * An ifnet record written with write(2) is ready when it is
		 * appended (nothing to encrypt first): no ready event.
		 */
		if ((r->has & 1U << RK_READY) == 0) {
			if (!r->ifnet)
				diverge(ck,
				    "conn %u seq %" PRIu64
				    ": sent, never ready",
				    r->conn, r->seq);
		} else if (firstidx < r->at[RK_READY])
			diverge(ck,
			    "conn %u seq %" PRIu64 ": sent before ready",
			    r->conn, r->seq);
	}
	if ((r->has & 1U << RK_FREED) != 0 && covered != r->reclen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": freed with %" PRIu64
		    " of %" PRIu64 " bytes sent",
		    r->conn, r->seq, covered, r->reclen);

	/*
	 * pcapng: the bytes on the wire.  With the whole record sent only a
	 * header longer than the record (hdrlen > reclen, reported above)
	 * is not on the wire; wire[] then holds nothing to print.
	 */
	if (log->pcapng && covered == r->reclen) {
		if (!stream_read(log, lo, hi, r->off, r->hdrlen, wire))
			diverge(ck,
			    "conn %u seq %" PRIu64 ": header not on the wire",
			    r->conn, r->seq);
		else if (memcmp(wire, r->hdr, r->hdrlen) != 0)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": header on the wire "
			    "%02x%02x%02x%02x%02x differs from framed",
			    r->conn, r->seq, wire[0], wire[1], wire[2], wire[3],
			    wire[4]);
		else if (r->trlbytes != 0 && r->trlbytes == r->trllen &&
		    (!stream_read(log, lo, hi, r->off + r->reclen - r->trllen,
			 r->trllen, wire) ||
			memcmp(wire, r->trailer, r->trllen) != 0))
			diverge(ck,
			    "conn %u seq %" PRIu64
			    ": trailer on the wire differs from encrypted",
			    r->conn, r->seq);
	}
}

size_t
ktrace_check(const struct ktrace_log *log, FILE *out, char *first,
    size_t firstlen)
{
	struct checker ck;
	const struct rrec *r, *prev;
	uint64_t nsegs, bytes, reach;
	size_t i, j, lo, hi, nconn;
	char ev[RK_N + 1];
	int k;

	memset(&ck, 0, sizeof(ck));
	ck.out = out;
	ck.first = first;
	ck.firstlen = firstlen;
	if (first != NULL && firstlen > 0)
		first[0] = '\0';
	if (log == NULL)
		return (0);

	/* Whole-stream coverage per connection: no holes. */
	bytes = 0;
	for (lo = 0; lo < log->nseg; lo = hi) {
		for (hi = lo;
		     hi < log->nseg && log->seg[hi].conn == log->seg[lo].conn;
		     hi++)
			;
		reach = 0;
		for (j = lo; j < hi; j++) {
			if (log->seg[j].off > reach) {
				diverge(&ck,
				    "conn %u: stream bytes [%" PRIu64
				    ",%" PRIu64 ") never sent",
				    log->seg[j].conn, reach, log->seg[j].off);
				break;
			}
			if (log->seg[j].off + log->seg[j].len > reach)
				reach = log->seg[j].off + log->seg[j].len;
		}
		bytes += reach;
	}

	/* A NIC trace: no record byte may leave unencrypted. */
	if (log->plaintext_segs != 0)
		diverge(&ck, "%" PRIu64 " segment(s) carried plaintext",
		    log->plaintext_segs);
	nconn = 0;
	prev = NULL;
	lo = hi = 0;
	for (i = 0; i < log->nrec; i++) {
		r = &log->rec[i];
		if (prev == NULL || prev->conn != r->conn) {
			prev = NULL;
			nconn++;
			for (lo = 0;
			     lo < log->nseg && log->seg[lo].conn < r->conn;
			     lo++)
				;
			for (hi = lo;
			     hi < log->nseg && log->seg[hi].conn == r->conn;
			     hi++)
				;
		}
		ck.recdiv = false;
		check_rec(log, &ck, r, prev, lo, hi, &nsegs);
		for (k = 0; k < RK_N; k++)
			ev[k] = (r->has & 1U << k) != 0 ? rk_letter[k] : '-';
		ev[RK_N] = '\0';
		if (out != NULL)
			fprintf(out,
			    "conn %u seq %" PRIu64 " %s(%d) plen %" PRIu64
			    " reclen %" PRIu64 " off %" PRIu64 " segs %" PRIu64
			    " events %s %s\n",
			    r->conn, r->seq, tname(r->inner), r->inner, r->plen,
			    r->reclen, r->off, nsegs, ev,
			    ck.recdiv ? "DIVERGES" : "OK");
		prev = r;
	}
	if (out != NULL) {
		fprintf(out,
		    "%zu records in %zu connections, %" PRIu64
		    " server bytes in %zu segments",
		    log->nrec, nconn, bytes, log->nseg);
		if (log->client_bytes != 0 || log->plain_bytes != 0)
			fprintf(out,
			    " (+%" PRIu64 " plain server bytes, %" PRIu64
			    " client bytes)",
			    log->plain_bytes, log->client_bytes);
		if (log->resync_segs != 0 || log->fallback_segs != 0)
			fprintf(out,
			    " (NIC: %" PRIu64 " resync, %" PRIu64
			    " fallback segments)",
			    log->resync_segs, log->fallback_segs);
		fprintf(out, ": %s\n", ck.ndiv == 0 ? "OK" : "DIVERGENCE");
	}
	return (ck.ndiv);
}
