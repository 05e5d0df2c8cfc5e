/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Reading pcapng record traces (docs/trace-format.md, "pcapng"): the
 * blocks, the events in the packet comments and the server's TCP
 * segments in the Ethernet frames.
 *
 * Every read goes through the span helpers of ktrace_read.h: a block is a
 * span of the file, its options and packet data are spans of the block,
 * and the IPv4 datagram and TCP segment are spans of the frame, each cut
 * to the length its header claims only after checking that it fits.
 */

#include <sys/endian.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/trace/ktrace_read.h"
#include "sim/trace/pcapng_format.h"
#include "sim/trace/trace.h"

/*
 * The fixed part of each block read here and the offsets of its fields
 * (draft-ietf-opsawg-pcapng §4.1, §4.2, §4.3); every block starts with
 * its type and total length and ends with the length again (§3.1).
 */
#define SHB_LEN 28 /* type .. section length */
#define SHB_MAGIC 8
#define IDB_LEN 20 /* type .. snaplen, trailing length */
#define IDB_LINKTYPE 8
#define EPB_LEN 32 /* type .. original length, trailing length */
#define EPB_IFID 8
#define EPB_CAPLEN 20
#define EPB_DATA 28
#define OPT_HDR_LEN 4 /* §3.5: code, length */

/* Interfaces whose link type is kept; packets on others are skipped. */
#define MAX_IFS 256

/*
 * The section being read.  Every number in a section is in its writer's
 * byte order, which the SHB's byte-order magic tells (§4.1).
 */
struct pcur {
	bool big;
	size_t nif;
	uint16_t linktype[MAX_IFS];
};

static uint16_t
pc16(const struct pcur *pc, const uint8_t *p)
{

	return (pc->big ? be16dec(p) : le16dec(p));
}

static uint32_t
pc32(const struct pcur *pc, const uint8_t *p)
{

	return (pc->big ? be32dec(p) : le32dec(p));
}

/*
 * The event lines of a packet's comments (opt_comment, §3.5); blkoff is
 * the block's offset in the file, for the message.
 */
static int
pc_comments(struct ktrace_log *log, const struct pcur *pc, struct kspan opts,
    size_t blkoff, char *err, size_t errlen)
{
	struct kspan val, rest, line;
	const uint8_t *h;
	char where[48];
	uint16_t code, vlen;
	int error;

	while ((h = kspan_at(opts, 0, OPT_HDR_LEN)) != NULL) {
		code = pc16(pc, h);
		vlen = pc16(pc, h + 2);
		if (code == OPT_ENDOFOPT)
			break;
		if (!kspan_sub(opts, OPT_HDR_LEN, vlen, &val)) {
			ktr_seterr(err, errlen, "bad options at %zu", blkoff);
			return (EINVAL);
		}
		/* Our lines are JSON objects; other comments are skipped. */
		rest = val;
		while (code == OPT_COMMENT && kspan_line(&rest, &line)) {
			if (line.len == 0 || line.p[0] != '{')
				continue;
			snprintf(where, sizeof(where),
			    "packet %" PRIu64 " comment", log->packets);
			if ((error = ktr_json_line(log, line, err, errlen,
				 where)) != 0)
				return (error);
		}
		/* A value's padding that runs past the block ends the list. */
		if (!kspan_from(opts, OPT_HDR_LEN + PAD4((size_t)vlen), &opts))
			break;
	}
	return (0);
}

/* One Ethernet frame: a TCP segment of a flow, or nothing to us. */
static int
pc_frame(struct ktrace_log *log, struct kspan frame, char *err, size_t errlen)
{
	const uint8_t *eh, *ip, *th;
	struct kspan dgram, tseg, pay;
	struct rconn *c;
	struct rseg sg;
	uint32_t src, dst, seq;
	uint16_t sport, dport;
	size_t ihl, tot, doff, i;
	uint8_t flags;
	uint64_t soff, maxid;
	bool syn, synack;
	int error;

	/* Ethernet II carrying IPv4. */
	if ((eh = kspan_at(frame, 0, ETHER_HDR_LEN)) == NULL ||
	    be16dec(eh + 12) != ETHERTYPE_IP ||
	    !kspan_from(frame, ETHER_HDR_LEN, &dgram))
		return (0);
	/*
	 * IPv4 carrying TCP (RFC 791 section 3.1): version and IHL in byte
	 * 0, total length at 2, protocol at 9, addresses at 12 and 16.  The
	 * datagram is cut to its total length (the frame may be padded) and
	 * the segment starts after IHL words.
	 */
	if ((ip = kspan_at(dgram, 0, IP_HDR_LEN)) == NULL || (ip[0] >> 4) != 4)
		return (0);
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = be16dec(ip + 2);
	if (ihl < IP_HDR_LEN || ip[9] != IPPROTO_TCP_ ||
	    !kspan_sub(dgram, 0, tot, &dgram) || !kspan_from(dgram, ihl, &tseg))
		return (0);
	/*
	 * TCP (RFC 9293 section 3.1): ports at 0 and 2, sequence number at
	 * 4, data offset (words) in the top of byte 12, flags at 13.
	 */
	if ((th = kspan_at(tseg, 0, TCP_HDR_LEN)) == NULL)
		return (0);
	doff = (size_t)(th[12] >> 4) * 4;
	if (doff < TCP_HDR_LEN || !kspan_from(tseg, doff, &pay))
		return (0);
	src = be32dec(ip + 12);
	dst = be32dec(ip + 16);
	sport = be16dec(th);
	dport = be16dec(th + 2);
	seq = be32dec(th + 4);
	flags = th[13];
	syn = (flags & (TH_SYN | TH_ACK)) == TH_SYN;
	synack = (flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK);

	/* The flow: client is the side of the SYN. */
	c = NULL;
	for (i = log->nconn; i > 0; i--) {
		struct rconn *k = &log->conn[i - 1];

		if (!k->flow && k->cport == sport && k->sport == dport && syn) {
			c = k; /* announced by a conn_open comment */
			break;
		}
		if (k->flow &&
		    ((k->cip == src && k->cport == sport && k->sip == dst &&
			 k->sport == dport) ||
			(k->cip == dst && k->cport == dport && k->sip == src &&
			    k->sport == sport))) {
			c = k;
			break;
		}
	}
	if (syn && (c == NULL || !c->flow)) {
		if (c == NULL) {
			maxid = 0;
			for (i = 0; i < log->nconn; i++)
				if (log->conn[i].id > maxid)
					maxid = log->conn[i].id;
			if (maxid >= UINT32_MAX ||
			    (c = ktr_conn_by_id(log, (uint32_t)maxid + 1, true,
				 &error)) == NULL) {
				ktr_seterr(err, errlen, "too many connections");
				return (EFBIG);
			}
		}
		c->flow = true;
		c->cip = src;
		c->sip = dst;
		c->cport = sport;
		c->sport = dport;
		return (0);
	}
	if (c == NULL || !c->flow)
		return (0);
	if (synack && src == c->sip && sport == c->sport) {
		c->s_isn = seq;
		c->have_isn = true;
		return (0);
	}
	if (pay.len == 0)
		return (0);
	if (src == c->cip && sport == c->cport) {
		log->client_bytes += pay.len;
		return (0);
	}
	if (!c->have_isn)
		return (0);
	soff = (uint32_t)(seq - c->s_isn - 1);
	if (soff + pay.len <= c->srv_base)
		return (0); /* plain server bytes (the handshake) */
	if (soff < c->srv_base) {
		if (!kspan_from(pay, c->srv_base - soff, &pay))
			return (0);
		soff = c->srv_base;
	}
	sg.conn = c->id;
	sg.off = soff - c->srv_base;
	sg.len = pay.len;
	sg.idx = ++log->nev;
	sg.rexmit = sg.off + sg.len <= c->s_max;
	sg.data = pay.p;
	if (sg.off + sg.len > c->s_max)
		c->s_max = sg.off + sg.len;
	if ((error = ktr_add_seg(log, &sg)) != 0)
		ktr_seterr(err, errlen, "too many segments");
	return (error);
}

static int
pc_idb(struct pcur *pc, struct kspan b, size_t off, char *err, size_t errlen)
{
	const uint8_t *h;

	if ((h = kspan_at(b, 0, IDB_LEN)) == NULL) {
		ktr_seterr(err, errlen, "short IDB at %zu", off);
		return (EINVAL);
	}
	if (pc->nif < MAX_IFS)
		pc->linktype[pc->nif] = pc16(pc, h + IDB_LINKTYPE);
	pc->nif++;
	return (0);
}

static int
pc_epb(struct ktrace_log *log, const struct pcur *pc, struct kspan b,
    size_t off, char *err, size_t errlen)
{
	struct kspan body, frame, opts;
	const uint8_t *h;
	uint32_t ifid;
	size_t caplen;
	int error;

	if ((h = kspan_at(b, 0, EPB_LEN)) == NULL) {
		ktr_seterr(err, errlen, "short EPB at %zu", off);
		return (EINVAL);
	}
	ifid = pc32(pc, h + EPB_IFID);
	caplen = pc32(pc, h + EPB_CAPLEN);
	/* The packet data, padded to 32 bits, then options (§4.3). */
	if (!kspan_sub(b, EPB_DATA, b.len - EPB_LEN, &body) ||
	    !kspan_sub(body, 0, caplen, &frame) ||
	    !kspan_from(body, PAD4(caplen), &opts)) {
		ktr_seterr(err, errlen, "bad EPB length at %zu", off);
		return (EINVAL);
	}
	log->packets++;
	if ((error = pc_comments(log, pc, opts, off, err, errlen)) != 0)
		return (error);
	if (ifid < pc->nif && ifid < MAX_IFS &&
	    pc->linktype[ifid] == LINKTYPE_ETHERNET)
		return (pc_frame(log, frame, err, errlen));
	return (0);
}

/* The block at off in file; its length goes to *blenp. */
static int
pc_block(struct ktrace_log *log, struct pcur *pc, struct kspan file, size_t off,
    size_t *blenp, char *err, size_t errlen)
{
	struct kspan b;
	const uint8_t *h, *t;
	uint32_t type, blen;

	if ((h = kspan_at(file, off, BLK_OVERHEAD)) == NULL) {
		ktr_seterr(err, errlen, "truncated block at %zu", off);
		return (EINVAL);
	}
	/*
	 * The SHB's type reads the same in either byte order, so a new
	 * section is found before its byte order is known (§4.1).
	 */
	if (le32dec(h) == BT_SHB) {
		if ((h = kspan_at(file, off, SHB_LEN)) == NULL) {
			ktr_seterr(err, errlen, "truncated SHB");
			return (EINVAL);
		}
		if (le32dec(h + SHB_MAGIC) == SHB_BYTE_ORDER_MAGIC)
			pc->big = false;
		else if (be32dec(h + SHB_MAGIC) == SHB_BYTE_ORDER_MAGIC)
			pc->big = true;
		else {
			ktr_seterr(err, errlen, "bad byte-order magic");
			return (EINVAL);
		}
		pc->nif = 0;
	} else if (off == 0) {
		ktr_seterr(err, errlen, "not a pcapng file (no SHB)");
		return (EINVAL);
	}
	type = pc32(pc, h);
	blen = pc32(pc, h + 4);
	if (blen < BLK_OVERHEAD || (blen & 3) != 0 ||
	    !kspan_sub(file, off, blen, &b) ||
	    (t = kspan_at(b, blen - 4, 4)) == NULL || pc32(pc, t) != blen) {
		ktr_seterr(err, errlen, "bad block length at %zu", off);
		return (EINVAL);
	}
	*blenp = blen;
	switch (type) {
	case BT_IDB:
		return (pc_idb(pc, b, off, err, errlen));
	case BT_EPB:
		return (pc_epb(log, pc, b, off, err, errlen));
	default:
		/* DSBs, other blocks and options of the SHB: nothing to us. */
		return (0);
	}
}

int
ktrace_parse_pcapng_buf(const uint8_t *buf, size_t len,
    struct ktrace_log **logp, char *err, size_t errlen)
{
	struct ktrace_log *log;
	struct pcur pc;
	size_t off, blen;
	int error;

	*logp = NULL;
	if (buf == NULL || len < SHB_LEN) {
		ktr_seterr(err, errlen, "not a pcapng file (too short)");
		return (EINVAL);
	}
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return (ENOMEM);
	log->pcapng = true;
	memset(&pc, 0, sizeof(pc));
	error = 0;
	for (off = 0; off < len; off += blen)
		if ((error = pc_block(log, &pc, kspan_make(buf, len), off,
			 &blen, err, errlen)) != 0)
			break;
	if (error != 0) {
		ktrace_log_free(log);
		return (error);
	}
	ktr_log_finish(log);
	*logp = log;
	return (0);
}
