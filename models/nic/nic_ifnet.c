/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The ifnet adapter of the NIC engine and the path behind it
 * (nic_ifnet.h, docs/nic-engine.md "The seam").  What a FreeBSD driver
 * does with an M_EXTPG packet (sys/dev/mlx5/mlx5_en/mlx5_en_hw_tls.c
 * mlx5e_sq_tls_xmit(), sys/dev/cxgbe/crypto/t6_kern_tls.c
 * t6_ktls_parse_pkt()): find the send tag in m_pkthdr.snd_tag, and read
 * each record through the mbuf's header, pages and trailer, the record
 * starting m_epg_off bytes before the window.
 */

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>

#include <stdlib.h>
#include <string.h>

#include "net/if_var.h"
#include "net/if_wire.h"
#include "net/route/nhop.h"
#include "netinet/tcp_var.h"
#include "nic_ifnet.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/platform.h"
#include "sys/socketvar.h"

/* A dropped packet is followed by tcp_output_kick() this much later. */
#define NIC_IFNET_KICK_NS (1000 * 1000)

struct nic_path {
	struct platform *np_pl;
	struct link *np_link;
	struct socket *np_so;
	tcp_seq np_seq0; /* sequence number of stream offset 0 */
	uint64_t np_hi;	 /* end of the highest byte sent (stream offset) */
	uint64_t np_last_ack;
	volatile u_int np_tasks; /* kicks and flips posted, not run */
	struct nic_path_hooks np_hooks;
	/* nic_path_flip_every(): packets so far, the two routes. */
	uint64_t np_packets, np_flip_n, np_flips;
	struct nhop_object *np_flip_nh[2];
};

struct nic_ifnet {
	struct ifnet nif_ifnet;
	struct nhop_object nif_nh;
	struct nic *nif_nic;	   /* NULL: plain */
	pthread_mutex_t *nif_lock; /* around the engine, or NULL */
	struct nic_path *nif_path;
	struct nic_ifnet_stats nif_stats;
	uint8_t *nif_buf; /* raw payload of a packet */
	size_t nif_bufcap;
	struct nic_record *nif_recs;
	unsigned int nif_reccap;
};

/* The driver's tag: the stack's m_snd_tag first, as in mlx5e_tls_tag. */
struct nic_ifnet_tag {
	struct m_snd_tag nt_mst;
	struct nic_tag *nt_tag;
};

static void nic_ifnet_tag_free(struct m_snd_tag *mst);

static const struct if_snd_tag_sw nic_ifnet_tls_sw = {
	.snd_tag_free = nic_ifnet_tag_free,
	.type = IF_SND_TAG_TYPE_TLS,
};

/*
 * The link's ACKs are TCP's ACK input.  An ACK that repeats the last one
 * with SACK blocks reports data beyond a hole: a duplicate for TCP even
 * if the window moved (TA_DUPACK).
 */
static void
nic_path_ack(void *arg, const struct link_seg *ack)
{
	struct nic_path *np = arg;
	uint32_t wnd;
	int flags;

	if (np->np_so == NULL)
		return;
	wnd = ack->ls_wnd >= IF_WIRE_WND ? IF_WIRE_WND : (uint32_t)ack->ls_wnd;
	flags =
	    ack->ls_nsack > 0 && ack->ls_ack == np->np_last_ack ? TA_DUPACK : 0;
	np->np_last_ack = ack->ls_ack;
	tcp_input_ack(np->np_so, np->np_seq0 + (tcp_seq)ack->ls_ack, wnd,
	    flags);
	if (np->np_hooks.nph_acked != NULL)
		np->np_hooks.nph_acked(np->np_hooks.nph_arg, ack->ls_ack);
}

void
nic_path_set_hooks(struct nic_path *np, const struct nic_path_hooks *h)
{

	np->np_hooks = *h;
}

void
nic_path_flip_every(struct nic_path *np, uint64_t n, struct nhop_object *a,
    struct nhop_object *b)
{

	np->np_flip_n = n;
	np->np_flip_nh[0] = a;
	np->np_flip_nh[1] = b;
}

uint64_t
nic_path_flips(const struct nic_path *np)
{

	return (np->np_flips);
}

struct nic_path *
nic_path_create(struct platform *pl, const struct link_conf *lc, char *why,
    size_t whylen)
{
	struct link_conf conf;
	struct nic_path *np;

	np = calloc(1, sizeof(*np));
	if (np == NULL) {
		snprintf(why, whylen, "no memory");
		return (NULL);
	}
	conf = *lc;
	conf.lc_ack_cb = nic_path_ack;
	conf.lc_snd_arg = np;
	np->np_pl = pl;
	np->np_link = link_create(pl, &conf, why, whylen);
	if (np->np_link == NULL) {
		free(np);
		return (NULL);
	}
	return (np);
}

void
nic_path_connect(struct nic_path *np, struct socket *so)
{

	soref(so);
	SOCKBUF_LOCK(&so->so_snd);
	np->np_so = so;
	np->np_seq0 = sototcpcb(so)->iss + 1;
	SOCKBUF_UNLOCK(&so->so_snd);
}

struct link *
nic_path_link(struct nic_path *np)
{

	return (np->np_link);
}

int
nic_path_destroy(struct nic_path *np)
{

	if (np->np_tasks != 0 || link_pending(np->np_link) != 0)
		return (EBUSY);
	link_destroy(np->np_link);
	if (np->np_so != NULL)
		sorele(np->np_so);
	free(np);
	return (0);
}

/* The stream offset of seq: within 2^31 of the highest byte sent. */
static uint64_t
nic_path_off(const struct nic_path *np, tcp_seq seq)
{
	int32_t d;

	d = (int32_t)(seq - (np->np_seq0 + (tcp_seq)np->np_hi));
	return (np->np_hi + (uint64_t)(int64_t)d);
}

/*
 * The route moves to the other interface.  The socket lock is not held
 * here; ksim_set_route() takes it.  The session's tag stays on the old
 * interface until ip_output_send() refuses the next packet and the reset
 * task (ktls_reset_send_tag()) allocates one on the new route.
 */
static void
nic_path_flip_task(void *arg)
{
	struct nic_path *np = arg;
	struct nhop_object *nh;

	if (np->np_so != NULL) {
		nh = np->np_flip_nh[np->np_flips % 2 == 0 ? 1 : 0];
		if (ksim_set_route(np->np_so, nh) == 0)
			np->np_flips++;
	}
	refcount_release(&np->np_tasks);
}

static void
nic_path_kick_task(void *arg)
{
	struct nic_path *np = arg;

	if (np->np_so != NULL)
		tcp_output_kick(np->np_so);
	refcount_release(&np->np_tasks);
}

/*
 * A drop with ENOBUFS stops TCP until the interface calls again
 * (tcp_output.c); FreeBSD's tcp_output() keeps the retransmission timer
 * running instead.  Either way the segment goes again: here a moment
 * later, as a transmit ring that drained would let it.
 */
static void
nic_path_kick(struct nic_ifnet *nif)
{
	struct nic_path *np = nif->nif_path;

	nif->nif_stats.kicks++;
	refcount_acquire(&np->np_tasks);
	np->np_pl->pl_task_post(np->np_pl, NIC_IFNET_KICK_NS,
	    nic_path_kick_task, np);
}

/*
 * Copy [off, off + len) of the record an M_EXTPG mbuf window belongs to,
 * offsets counted from the header's first byte: header, pages, trailer.
 */
static int
nic_ifnet_read(void *arg, const struct nic_record *rec, uint32_t off, void *dst,
    uint32_t len)
{
	const struct mbuf *m = rec->cookie;
	uint8_t *out = dst;
	uint32_t plen, n, pos, pgoff, pl;
	int i;

	(void)arg;
	plen = rec->len - rec->hdrlen - rec->trllen;
	if (off > rec->len || len > rec->len - off)
		return (EIO);
	if (off < rec->hdrlen) {
		n = min(len, rec->hdrlen - off);
		memcpy(out, m->m_epg_hdr + off, n);
		out += n;
		off += n;
		len -= n;
	}
	/* Payload: walk the pages from the record's first payload byte. */
	pos = rec->hdrlen;
	for (i = 0; len > 0 && off < rec->hdrlen + plen && i < m->m_epg_npgs;
	     i++) {
		pgoff = i == 0 ? m->m_epg_1st_off : 0;
		pl = (uint32_t)m_epg_pagelen(m, i, (int)pgoff);
		if (off < pos + pl) {
			n = min(len, pos + pl - off);
			memcpy(out, m->m_epg_pa[i]->data + pgoff + (off - pos),
			    n);
			out += n;
			off += n;
			len -= n;
		}
		pos += pl;
	}
	if (len > 0 && off < rec->hdrlen + plen)
		return (EIO);
	if (len > 0) {
		memcpy(out, m->m_epg_trail + (off - rec->hdrlen - plen), len);
	}
	return (0);
}

/*
 * The records a packet's data overlaps, as whole records
 * (docs/nic-engine.md, "API"): a window of m_len bytes m_epg_off into its
 * record, which starts that far before the window's first sequence
 * number.  Two windows of one record (same start) are one record.
 * Returns the count, 0 for data that is not TLS records, or -1 without
 * memory.  *live: some record still holds its session (not encrypted by
 * the host, so a NIC must encrypt it).
 */
static int
nic_ifnet_records(struct nic_ifnet *nif, struct mbuf *data, tcp_seq seq,
    bool *live)
{
	struct nic_record *r, *nrecs;
	struct mbuf *d;
	unsigned int n, ncap;
	tcp_seq pos, start;

	*live = false;
	if (data == NULL || (data->m_flags & M_EXTPG) == 0 ||
	    data->m_epg_hdrlen == 0)
		return (0);
	n = 0;
	pos = seq;
	for (d = data; d != NULL; d = d->m_next) {
		if (d->m_len == 0)
			continue;
		start = pos - d->m_epg_off;
		pos += (tcp_seq)d->m_len;
		if (n > 0 && nif->nif_recs[n - 1].seq == start)
			continue;
		if (n == nif->nif_reccap) {
			ncap = nif->nif_reccap != 0 ? 2 * nif->nif_reccap : 16;
			nrecs =
			    reallocarray(nif->nif_recs, ncap, sizeof(*nrecs));
			if (nrecs == NULL)
				return (-1);
			nif->nif_recs = nrecs;
			nif->nif_reccap = ncap;
		}
		r = &nif->nif_recs[n++];
		memset(r, 0, sizeof(*r));
		r->seq = start;
		r->hdrlen = d->m_epg_hdrlen;
		r->trllen = d->m_epg_trllen;
		r->len = r->hdrlen + m_epg_datalen(d) + r->trllen;
		r->recno = d->m_epg_seqno;
		r->cookie = d;
		if (d->m_epg_tls != NULL)
			*live = true;
	}
	return ((int)n);
}

/*
 * What a wire segment [s, e) carries, for the link's targeted loss
 * (docs/link-model.md): a record's last byte, part but not all of a
 * header, part but not all of a trailer (the authentication tag, or MAC
 * and padding).  Offsets are relative to the packet's sequence number.
 */
static uint32_t
nic_ifnet_seg_tags(const struct nic_record *recs, int nrecs, tcp_seq base,
    tcp_seq seq, uint32_t len)
{
	int64_t s, e, rs, re, a, b;
	uint32_t tags;
	int i;

	tags = 0;
	s = (int32_t)(seq - base);
	e = s + len;
	for (i = 0; i < nrecs; i++) {
		rs = (int32_t)(recs[i].seq - base);
		re = rs + recs[i].len;
		if (re > s && re <= e)
			tags |= LINK_TAG_RECORD_END;
		a = rs;
		b = rs + recs[i].hdrlen;
		if (s < b && e > a && (s > a || e < b))
			tags |= LINK_TAG_SPLIT_HDR;
		a = re - recs[i].trllen;
		b = re;
		if (recs[i].trllen != 0 && s < b && e > a && (s > a || e < b))
			tags |= LINK_TAG_SPLIT_TAG;
	}
	return (tags);
}

/* One segment onto the link, as a stream offset; 0 or the link's errno. */
static int
nic_ifnet_wire(struct nic_ifnet *nif, tcp_seq seq, const uint8_t *data,
    uint32_t len, uint32_t tags, bool fin, unsigned int segflags)
{
	struct nic_path *np = nif->nif_path;
	struct link_seg seg;
	uint64_t off;
	int error;

	off = nic_path_off(np, seq);
	memset(&seg, 0, sizeof(seg));
	seg.ls_seq = off;
	seg.ls_data = data;
	seg.ls_len = len;
	seg.ls_tags = tags;
	if (off < np->np_hi)
		seg.ls_tags |= LINK_TAG_REXMIT;
	seg.ls_flags = fin ? LINK_SEG_FIN : 0;
	error = link_send(np->np_link, &seg);
	if (error != 0)
		return (error);
	nif->nif_stats.wire_segs++;
	nif->nif_stats.wire_bytes += len;
	if (seg.ls_tags & LINK_TAG_REXMIT) {
		nif->nif_stats.rexmit_segs++;
		nif->nif_stats.rexmit_bytes += len;
		segflags |= NIC_SEG_REXMIT;
	}
	if (segflags & NIC_SEG_PLAIN)
		nif->nif_stats.plaintext_segs++;
	if (fin)
		segflags |= NIC_SEG_FIN;
	if (off + len > np->np_hi)
		np->np_hi = off + len;
	if (np->np_hooks.nph_segment != NULL)
		np->np_hooks.nph_segment(np->np_hooks.nph_arg, nif, off, data,
		    len, segflags);
	return (0);
}

static uint8_t *
nic_ifnet_buf(struct nic_ifnet *nif, size_t len)
{
	uint8_t *nbuf;

	if (len > nif->nif_bufcap) {
		nbuf = realloc(nif->nif_buf, len);
		if (nbuf == NULL)
			return (NULL);
		nif->nif_buf = nbuf;
		nif->nif_bufcap = len;
	}
	return (nif->nif_buf);
}

/* A packet for the path: time for a route change? */
static void
np_flip_count(struct nic_path *np)
{

	np->np_packets++;
	if (np->np_flip_n == 0 || np->np_so == NULL ||
	    np->np_packets % np->np_flip_n != 0)
		return;
	refcount_acquire(&np->np_tasks);
	np->np_pl->pl_task_post(np->np_pl, 0, nic_path_flip_task, np);
}

/*
 * if_transmit.  The packet is IPv4 and TCP headers in the first mbuf and
 * the data behind them (tcp_output.c).  A packet with a tag of this
 * interface goes to the engine as record windows; anything else goes as
 * it is (a record of a live session then leaves in plaintext, which the
 * engine and nif_stats count).  The wire segments go to the link, the
 * FIN on the one that ends the packet.
 */
static int
nic_ifnet_transmit(struct ifnet *ifp, struct mbuf *m)
{
	struct nic_ifnet *nif = ifp->if_softc;
	struct nic_tag *tag;
	struct nic_txreq req;
	struct nic_txres res;
	const struct tcphdr *th;
	const struct ip *ip;
	struct m_snd_tag *mst;
	uint8_t *raw;
	tcp_seq seq;
	uint32_t len, tags;
	int error, hlen, nrecs;
	unsigned int i, segflags;
	bool fin, live, finwent;

	nif->nif_stats.packets++;
	np_flip_count(nif->nif_path);
	ip = (const struct ip *)(const void *)m->m_data;
	hlen = ip->ip_hl << 2;
	th = (const struct tcphdr *)(const void *)(m->m_data + hlen);
	hlen += th->th_off << 2;
	KASSERT(m->m_len == hlen, ("nic_ifnet: headers and data mixed"));
	seq = ntohl(th->th_seq);
	len = (uint32_t)(m->m_pkthdr.len - hlen);
	fin = (th->th_flags & TH_FIN) != 0;

	tag = NULL;
	if (m->m_pkthdr.csum_flags & CSUM_SND_TAG) {
		mst = m->m_pkthdr.snd_tag;
		if (mst->ifp != ifp || mst->sw != &nic_ifnet_tls_sw) {
			/* ip_output_send() never lets such a packet through. */
			error = EINVAL;
			goto drop;
		}
		tag = ((struct nic_ifnet_tag *)(void *)mst)->nt_tag;
		nif->nif_stats.tagged_packets++;
	}
	live = false;
	nrecs = len > 0 ? nic_ifnet_records(nif, m->m_next, seq, &live) : 0;
	if (nrecs < 0) {
		error = ENOBUFS;
		goto drop;
	}
	if (nrecs > 0)
		nif->nif_stats.record_packets++;
	if (len == 0) {
		/* A bare FIN: nothing for the engine. */
		error = nic_ifnet_wire(nif, seq, NULL, 0, 0, fin, 0);
		if (error != 0)
			goto drop;
		goto done;
	}

	/* Record bytes of a live session without a tag leave in plaintext. */
	segflags = live && tag == NULL ? NIC_SEG_PLAIN : 0;
	memset(&req, 0, sizeof(req));
	req.seq = seq;
	req.len = len;
	if (nrecs > 0 && (tag != NULL || live) && nif->nif_nic != NULL) {
		req.recs = nif->nif_recs;
		req.nrecs = (unsigned int)nrecs;
		req.read = nic_ifnet_read;
	} else {
		raw = nic_ifnet_buf(nif, len);
		if (raw == NULL) {
			error = ENOBUFS;
			goto drop;
		}
		m_copydata(m->m_next, 0, (int)len, raw);
		req.raw = raw;
		if (live && tag == NULL)
			nif->nif_stats.untagged_tls_bytes += len;
	}
	if (nif->nif_nic == NULL) {
		tags = nic_ifnet_seg_tags(nif->nif_recs, nrecs, seq, seq, len);
		error =
		    nic_ifnet_wire(nif, seq, req.raw, len, tags, fin, segflags);
		if (error != 0)
			goto drop;
		goto done;
	}
	/* res.segs is the engine's: keep it to ourselves until sent. */
	if (nif->nif_lock != NULL)
		pthread_mutex_lock(nif->nif_lock);
	error = nic_transmit(nif->nif_nic, tag, &req, &res);
	if (error != 0) {
		if (nif->nif_lock != NULL)
			pthread_mutex_unlock(nif->nif_lock);
		goto drop;
	}
	if (req.recs != NULL)
		segflags |= NIC_SEG_TLS;
	if (res.ooo && res.resync_bytes > 0)
		segflags |= NIC_SEG_RESYNC;
	if (res.fallback)
		segflags |= NIC_SEG_FALLBACK;
	finwent = false;
	for (i = 0; i < res.nsegs; i++) {
		tags = nic_ifnet_seg_tags(nif->nif_recs, nrecs, seq,
		    res.segs[i].seq, res.segs[i].len);
		/* T6 may stop short of the packet: then no FIN. */
		finwent = fin && i == res.nsegs - 1 &&
		    res.segs[i].seq + res.segs[i].len == seq + len;
		error = nic_ifnet_wire(nif, res.segs[i].seq, res.segs[i].data,
		    res.segs[i].len, tags, finwent, segflags);
		if (error != 0)
			break;
	}
	if (nif->nif_lock != NULL)
		pthread_mutex_unlock(nif->nif_lock);
	if (error != 0)
		goto drop;
	(void)finwent;
done:
	ifp->if_opackets++;
	ifp->if_obytes += (uint64_t)m->m_pkthdr.len;
	m_freem(m);
	return (0);
drop:
	nif->nif_stats.drops++;
	ifp->if_oqdrops++;
	m_freem(m);
	if (error == ENOBUFS && nif->nif_path->np_so != NULL)
		nic_path_kick(nif);
	return (error);
}

/*
 * if_snd_tag_alloc for IF_SND_TAG_TYPE_TLS: the engine's tag for the
 * session's parameters.  The Linux-style device is told where its
 * context starts: the sequence number after the queued data and the
 * next record number (tls_set_device_offload()); the FreeBSD drivers
 * ignore both.  Called with the connection quiet or its lock held.
 */
static int
nic_ifnet_snd_tag_alloc(struct ifnet *ifp,
    union if_snd_tag_alloc_params *params, struct m_snd_tag **mstp)
{
	struct nic_ifnet *nif = ifp->if_softc;
	struct nic_ifnet_tag *nt;
	const struct ktls_session *tls;
	struct socket *so;
	struct tcpcb *tp;
	tcp_seq seq;
	uint64_t recno;
	int error;

	if (params->hdr.type != IF_SND_TAG_TYPE_TLS || nif->nif_nic == NULL)
		return (EOPNOTSUPP);
	tls = params->tls.tls;
	if (tls == NULL || params->tls.inp == NULL)
		return (EINVAL);
	so = params->tls.inp->inp_socket;
	tp = sototcpcb(so);
	seq = tp->snd_una + sbused(&so->so_snd);
	/*
	 * At enable (no session installed yet) the socket buffer's number is
	 * not set: the first one is in initial_offload_seqno, which
	 * ktls_enable_tx() fills "for NICs that need" it.  After a route
	 * change or a switch the buffer's number is the next record's.
	 */
	recno = so->so_snd.sb_tls_info == NULL ? tls->initial_offload_seqno :
						 so->so_snd.sb_tls_seqno;
	nt = calloc(1, sizeof(*nt));
	if (nt == NULL)
		return (ENOMEM);
	if (nif->nif_lock != NULL)
		pthread_mutex_lock(nif->nif_lock);
	error =
	    nic_tag_alloc(nif->nif_nic, &tls->params, seq, recno, &nt->nt_tag);
	if (nif->nif_lock != NULL)
		pthread_mutex_unlock(nif->nif_lock);
	if (error != 0) {
		free(nt);
		return (error);
	}
	m_snd_tag_init(&nt->nt_mst, ifp, &nic_ifnet_tls_sw);
	*mstp = &nt->nt_mst;
	return (0);
}

/* The last reference to the send tag went (m_snd_tag_destroy()). */
static void
nic_ifnet_tag_free(struct m_snd_tag *mst)
{
	struct nic_ifnet_tag *nt = (struct nic_ifnet_tag *)(void *)mst;
	struct nic_ifnet *nif = mst->ifp->if_softc;

	if (nif->nif_lock != NULL)
		pthread_mutex_lock(nif->nif_lock);
	nic_tag_rele(nt->nt_tag);
	if (nif->nif_lock != NULL)
		pthread_mutex_unlock(nif->nif_lock);
	free(nt);
}

struct nic_tag *
nic_ifnet_tag(struct m_snd_tag *mst)
{

	if (mst == NULL || mst->sw != &nic_ifnet_tls_sw)
		return (NULL);
	return (((struct nic_ifnet_tag *)(void *)mst)->nt_tag);
}

struct nic_ifnet *
nic_ifnet_create(const char *name, struct nic *nic, struct nic_path *np,
    unsigned int mtu)
{
	struct nic_ifnet *nif;
	struct ifnet *ifp;

	nif = calloc(1, sizeof(*nif));
	if (nif == NULL)
		return (NULL);
	nif->nif_nic = nic;
	nif->nif_path = np;
	ifp = &nif->nif_ifnet;
	strlcpy(ifp->if_xname, name, sizeof(ifp->if_xname));
	ifp->if_softc = nif;
	ifp->if_mtu = mtu != 0 ? mtu : 1500;
	ifp->if_capabilities = IFCAP_MEXTPG;
	if (nic != NULL) {
		ifp->if_capabilities |= IFCAP_TXTLS4 | IFCAP_TXTLS6;
		ifp->if_snd_tag_alloc = nic_ifnet_snd_tag_alloc;
	}
	ifp->if_capenable = ifp->if_capabilities;
	ifp->if_transmit = nic_ifnet_transmit;
	nif->nif_nh.nh_ifp = ifp;
	nif->nif_nh.nh_mtu = (uint16_t)ifp->if_mtu;
	if_ref(ifp);
	return (nif);
}

struct ifnet *
nic_ifnet_ifp(struct nic_ifnet *nif)
{

	return (&nif->nif_ifnet);
}

struct nhop_object *
nic_ifnet_nhop(struct nic_ifnet *nif)
{

	return (&nif->nif_nh);
}

const struct nic_ifnet_stats *
nic_ifnet_stats(const struct nic_ifnet *nif)
{

	return (&nif->nif_stats);
}

const char *
nic_ifnet_name(const struct nic_ifnet *nif)
{

	return (nif->nif_ifnet.if_xname);
}

void
nic_ifnet_set_lock(struct nic_ifnet *nif, pthread_mutex_t *mtx)
{

	nif->nif_lock = mtx;
}

unsigned int
nic_ifnet_destroy(struct nic_ifnet *nif)
{
	unsigned int left;

	if_rele(&nif->nif_ifnet);
	left = nif->nif_ifnet.if_refcount;
	if (left != 0)
		return (left);
	free(nif->nif_buf);
	free(nif->nif_recs);
	free(nif);
	return (0);
}
