/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Reading pcapng record traces (docs/trace-format.md, "pcapng"): the
 * blocks, the events in the packet comments and the server's TCP
 * segments in the Ethernet frames.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/trace/ktrace_read.h"
#include "sim/trace/trace.h"

struct pcur {
	bool swap;
};

static uint32_t
rd32(const struct pcur *pc, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return (pc->swap ? __builtin_bswap32(v) : v);
}

static uint16_t
rd16(const struct pcur *pc, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return (pc->swap ? __builtin_bswap16(v) : v);
}

static uint32_t
be32(const uint8_t *p)
{

	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static uint16_t
be16(const uint8_t *p)
{

	return ((uint16_t)(p[0] << 8 | p[1]));
}

/* The event lines of a packet's comments (pcapng opt_comment). */
static int
pc_comments(struct ktrace_log *log, const struct pcur *pc, const uint8_t *opt,
    size_t optlen, char *err, size_t errlen, uint64_t pkt)
{
	const uint8_t *p, *nl, *v;
	char where[48];
	size_t n, code, len;
	int error;

	while (optlen >= 4) {
		code = rd16(pc, opt);
		len = rd16(pc, opt + 2);
		if (code == 0)
			break;
		if (len > optlen - 4)
			return (EINVAL);
		v = opt + 4;
		/* Our lines are JSON objects; other comments are skipped. */
		for (p = v; code == 1 && p < v + len; p += n + 1) {
			nl = memchr(p, '\n', (size_t)(v + len - p));
			n = nl != NULL ? (size_t)(nl - p) :
					 (size_t)(v + len - p);
			if (n == 0 || *p != '{')
				continue;
			snprintf(where, sizeof(where),
			    "packet %" PRIu64 " comment", pkt);
			if ((error = ktr_json_line(log, (const char *)p, n, err,
				 errlen, where)) != 0)
				return (error);
		}
		len = (len + 3) & ~(size_t)3;
		if (len > optlen - 4)
			break;
		opt += 4 + len;
		optlen -= 4 + len;
	}
	return (0);
}

/* One Ethernet frame. */
static int
pc_frame(struct ktrace_log *log, const uint8_t *f, size_t flen, char *err,
    size_t errlen)
{
	const uint8_t *ip, *th, *pay;
	struct rconn *c;
	struct rseg sg;
	uint32_t src, dst, seq;
	uint16_t sport, dport;
	size_t ihl, tot, doff, paylen, i;
	uint8_t flags;
	uint64_t soff, maxid;
	int error;

	if (flen < 14 || be16(f + 12) != 0x0800)
		return (0);
	ip = f + 14;
	flen -= 14;
	if (flen < 20 || (ip[0] >> 4) != 4)
		return (0);
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = be16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > flen || ip[9] != 6)
		return (0);
	th = ip + ihl;
	if (tot - ihl < 20)
		return (0);
	doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || doff > tot - ihl)
		return (0);
	src = be32(ip + 12);
	dst = be32(ip + 16);
	sport = be16(th);
	dport = be16(th + 2);
	seq = be32(th + 4);
	flags = th[13];
	pay = th + doff;
	paylen = tot - ihl - doff;

	/* The flow: client is the side of the SYN. */
	c = NULL;
	for (i = log->nconn; i > 0; i--) {
		struct rconn *k = &log->conn[i - 1];

		if (!k->flow && k->cport == sport && k->sport == dport &&
		    (flags & 0x12) == 0x02) {
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
	if ((flags & 0x12) == 0x02 && (c == NULL || !c->flow)) {
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
	if ((flags & 0x12) == 0x12 && src == c->sip && sport == c->sport) {
		c->s_isn = seq;
		c->have_isn = true;
		return (0);
	}
	if (paylen == 0)
		return (0);
	if (src == c->cip && sport == c->cport) {
		log->client_bytes += paylen;
		return (0);
	}
	if (!c->have_isn)
		return (0);
	soff = (uint32_t)(seq - c->s_isn - 1);
	if (soff + paylen <= c->srv_base)
		return (0); /* plain server bytes (the handshake) */
	if (soff < c->srv_base) {
		pay += c->srv_base - soff;
		paylen -= c->srv_base - soff;
		soff = c->srv_base;
	}
	sg.conn = c->id;
	sg.off = soff - c->srv_base;
	sg.len = paylen;
	sg.idx = ++log->nev;
	sg.rexmit = sg.off + sg.len <= c->s_max;
	sg.data = pay;
	if (sg.off + sg.len > c->s_max)
		c->s_max = sg.off + sg.len;
	if ((error = ktr_add_seg(log, &sg)) != 0)
		ktr_seterr(err, errlen, "too many segments");
	return (error);
}

int
ktrace_parse_pcapng_buf(const uint8_t *buf, size_t len,
    struct ktrace_log **logp, char *err, size_t errlen)
{
	struct ktrace_log *log;
	struct pcur pc;
	const uint8_t *b;
	uint16_t linktype[256];
	size_t off, blen, nif, caplen;
	uint32_t type, magic, ifid;
	int error;

	*logp = NULL;
	if (buf == NULL || len < 28) {
		ktr_seterr(err, errlen, "not a pcapng file (too short)");
		return (EINVAL);
	}
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return (ENOMEM);
	log->pcapng = true;
	pc.swap = false;
	nif = 0;
	error = 0;
	for (off = 0; off < len; off += blen) {
		if (len - off < 12) {
			ktr_seterr(err, errlen, "truncated block at %zu", off);
			error = EINVAL;
			break;
		}
		b = buf + off;
		memcpy(&type, b, 4);
		if (type == 0x0a0d0d0a) {
			if (len - off < 28) {
				ktr_seterr(err, errlen, "truncated SHB");
				error = EINVAL;
				break;
			}
			memcpy(&magic, b + 8, 4);
			if (magic == 0x1a2b3c4d)
				pc.swap = false;
			else if (magic == 0x4d3c2b1a)
				pc.swap = true;
			else {
				ktr_seterr(err, errlen, "bad byte-order magic");
				error = EINVAL;
				break;
			}
			nif = 0;
		} else if (off == 0) {
			ktr_seterr(err, errlen, "not a pcapng file (no SHB)");
			error = EINVAL;
			break;
		}
		type = rd32(&pc, b);
		blen = rd32(&pc, b + 4);
		if (blen < 12 || (blen & 3) != 0 || blen > len - off ||
		    rd32(&pc, b + blen - 4) != blen) {
			ktr_seterr(err, errlen, "bad block length at %zu", off);
			error = EINVAL;
			break;
		}
		if (type == 1) { /* IDB */
			if (blen < 20) {
				ktr_seterr(err, errlen, "short IDB at %zu",
				    off);
				error = EINVAL;
				break;
			}
			if (nif < 256)
				linktype[nif] = rd16(&pc, b + 8);
			nif++;
		} else if (type == 6) { /* EPB */
			if (blen < 32) {
				ktr_seterr(err, errlen, "short EPB at %zu",
				    off);
				error = EINVAL;
				break;
			}
			ifid = rd32(&pc, b + 8);
			caplen = rd32(&pc, b + 20);
			if (caplen > blen - 32 ||
			    ((caplen + 3) & ~(size_t)3) > blen - 32) {
				ktr_seterr(err, errlen, "bad EPB length at %zu",
				    off);
				error = EINVAL;
				break;
			}
			log->packets++;
			caplen = rd32(&pc, b + 20);
			if ((error = pc_comments(log, &pc,
				 b + 28 + ((caplen + 3) & ~(size_t)3),
				 blen - 32 - ((caplen + 3) & ~(size_t)3), err,
				 errlen, log->packets)) != 0) {
				if (err != NULL && err[0] == '\0')
					ktr_seterr(err, errlen,
					    "bad options at %zu", off);
				break;
			}
			if (ifid < nif && ifid < 256 && linktype[ifid] == 1 &&
			    (error = pc_frame(log, b + 28, caplen, err,
				 errlen)) != 0)
				break;
		}
		/* DSB, SHB options, other blocks: nothing to check. */
	}
	if (error != 0) {
		ktrace_log_free(log);
		return (error);
	}
	ktr_log_finish(log);
	*logp = log;
	return (0);
}
