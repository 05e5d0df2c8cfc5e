/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The hand-driven test interface; see testif.h.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "net/if_var.h"
#include "net/route/nhop.h"
#include "netinet/tcp_var.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "testif.h"

struct testif_port {
	struct ifnet ifp;
	struct nhop_object nh;
	struct testif *ti; /* NULL: a sink */
	struct testif_port *next;
};
static struct testif_port *testif_ports;

static void
testif_fail(struct testif *ti, const char *fmt, ...)
{
	va_list ap;

	if (ti->ti_nerr++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ti->ti_err, sizeof(ti->ti_err), fmt, ap);
	va_end(ap);
}

/*
 * Whether the send buffer's data at offset boff (from snd_una) is of the
 * same kind as the segment's data d, so the segment could have gone on.
 */
static bool
testif_kind_continues(const struct mbuf *d, const struct sockbuf *sb,
    uint64_t boff)
{
	const struct mbuf *n;

	for (n = sb->sb_mb; n != NULL && boff >= (uint64_t)n->m_len;
	     n = n->m_next)
		boff -= n->m_len;
	if (n == NULL || d == NULL)
		return (false);
	return ((n->m_flags & M_EXTPG) == (d->m_flags & M_EXTPG) &&
	    (!(n->m_flags & M_EXTPG) ||
		((n->m_epg_hdrlen != 0) == (d->m_epg_hdrlen != 0) &&
		    n->m_epg_tls == d->m_epg_tls)));
}

/*
 * What every segment must be: headers alone in the first mbuf; at most
 * one MSS of data, or with IFCAP_TSO4 the TSO rules; data that references the
 * send buffer's storage (no mbuf of it owns storage of its own) and is all of
 * one kind (plain or unmapped; TLS record or not; one session); a FIN only once
 * nothing else is queued.  Called with the socket lock held.
 */
static void
testif_check(struct testif *ti, struct ifnet *ifp, struct mbuf *m, uint64_t off,
    unsigned len, bool fin)
{
	struct tcpcb *tp = sototcpcb(ti->ti_so);
	struct sockbuf *sb = &ti->ti_so->so_snd;
	const struct mbuf *d, *first;

	if ((m->m_flags & M_PKTHDR) == 0 ||
	    m->m_len != (int)(sizeof(struct ip) + sizeof(struct tcphdr)))
		testif_fail(ti, "segment %d: bad header mbuf", ti->ti_nsent);
	if ((ifp->if_capenable & IFCAP_TSO4) == 0 && len > tp->t_maxseg)
		testif_fail(ti, "segment %d: %u bytes > MSS %u", ti->ti_nsent,
		    len, tp->t_maxseg);
	/*
	 * TSO: within if_hw_tsomax with the headers, and a whole number of
	 * MSS unless the segment ends the ready data or the kind of data.
	 */
	if ((ifp->if_capenable & IFCAP_TSO4) != 0 && len > tp->t_maxseg &&
	    (len + m->m_len > ifp->if_hw_tsomax ||
		(len % tp->t_maxseg != 0 &&
		    off + len != tp->t_stream_una + sb->sb_acc &&
		    testif_kind_continues(m->m_next, sb,
			off + len - tp->t_stream_una))))
		testif_fail(ti, "segment %d: TSO segment of %u bytes at %ju",
		    ti->ti_nsent, len, (uintmax_t)off);
	if (m_length(m->m_next, NULL) != len)
		testif_fail(ti, "segment %d: chain holds %u bytes, not %u",
		    ti->ti_nsent, m_length(m->m_next, NULL), len);
	first = m->m_next;
	for (d = first; d != NULL; d = d->m_next) {
		if ((d->m_flags & M_EXT) == 0 ||
		    (d->m_ext.ext_flags & EXT_FLAG_EMBREF) != 0)
			testif_fail(ti, "segment %d: mbuf owns its data",
			    ti->ti_nsent);
		if ((d->m_flags & M_EXTPG) != (first->m_flags & M_EXTPG) ||
		    ((d->m_flags & M_EXTPG) &&
			((d->m_epg_hdrlen != 0) != (first->m_epg_hdrlen != 0) ||
			    d->m_epg_tls != first->m_epg_tls)))
			testif_fail(ti, "segment %d at %ju mixes kinds of data",
			    ti->ti_nsent, (uintmax_t)off);
	}
	/*
	 * An unencrypted record (one that still has its session) leaves only
	 * under a live tag of that session on this interface; nothing else
	 * carries a tag.
	 */
	if (first != NULL && (first->m_flags & M_EXTPG) &&
	    first->m_epg_tls != NULL) {
		const struct testif_tag *tt;

		if ((m->m_pkthdr.csum_flags & CSUM_SND_TAG) == 0)
			testif_fail(ti, "segment %d: clear record, no tag",
			    ti->ti_nsent);
		else {
			tt = (const struct testif_tag *)m->m_pkthdr.snd_tag;
			if (tt->tt_mst.ifp != ifp ||
			    tt->tt_tls != first->m_epg_tls ||
			    tt->tt_mst.refcount == 0)
				testif_fail(ti,
				    "segment %d: clear record under a tag of "
				    "another session or interface",
				    ti->ti_nsent);
		}
	} else if (m->m_pkthdr.csum_flags & CSUM_SND_TAG)
		testif_fail(ti, "segment %d: a tag without a NIC TLS record",
		    ti->ti_nsent);
	if (fin &&
	    (off + len != tp->t_stream_una + sb->sb_ccc ||
		sb->sb_acc != sb->sb_ccc))
		testif_fail(ti,
		    "segment %d: FIN at %ju with %u bytes queued (%u ready) "
		    "from %ju",
		    ti->ti_nsent, (uintmax_t)(off + len), sb->sb_ccc,
		    sb->sb_acc, (uintmax_t)tp->t_stream_una);
}

static int
testif_transmit(struct ifnet *ifp, struct mbuf *m)
{
	struct testif_port *port = ifp->if_softc;
	struct testif *ti = port->ti;
	struct testif_seg *seg;
	const struct tcphdr *th;
	tcp_seq seq;

	if (ti == NULL) {
		m_freem(m);
		return (0);
	}

	th = (const struct tcphdr *)(const void *)(m->m_data +
	    sizeof(struct ip));
	seq = ntohl(th->th_seq);
	seg = calloc(1, sizeof(*seg));
	assert_non_null(seg);
	seg->m = m;
	seg->off = (uint32_t)(seq - (TCP_SIM_ISS + 1));
	seg->len = (unsigned)(m->m_pkthdr.len - m->m_len);
	seg->fin = (th->th_flags & TH_FIN) != 0;
	seg->rexmit = seg->off < ti->ti_sent_end;
	seg->n = ti->ti_nsent;
	seg->ifp = ifp;
	seg->nic_tls = (m->m_pkthdr.csum_flags & CSUM_SND_TAG) != 0;
	testif_check(ti, ifp, m, seg->off, seg->len, seg->fin);
	if (seg->nic_tls)
		ti->ti_nnic++;
	ti->ti_nsent++;
	ti->ti_bytes += seg->len;
	if (seg->rexmit) {
		ti->ti_nrexmit++;
		ti->ti_rexmit_bytes += seg->len;
	}
	if (seg->len > ti->ti_maxlen)
		ti->ti_maxlen = seg->len;
	if (seg->off + seg->len > ti->ti_sent_end)
		ti->ti_sent_end = seg->off + seg->len;
	TAILQ_INSERT_TAIL(&ti->ti_q, seg, link);
	ti->ti_nq++;
	ifp->if_opackets++;
	ifp->if_obytes += (uint64_t)m->m_pkthdr.len;
	return (0);
}

static void
testif_tag_free(struct m_snd_tag *mst)
{
	struct testif_tag *tt = (struct testif_tag *)mst;

	if (tt->tt_port->ti != NULL)
		tt->tt_port->ti->ti_ntags_freed++;
	free(tt);
}

static const struct if_snd_tag_sw testif_tag_sw = {
	.snd_tag_free = testif_tag_free,
	.type = IF_SND_TAG_TYPE_TLS,
};

static int
testif_snd_tag_alloc(struct ifnet *ifp, union if_snd_tag_alloc_params *params,
    struct m_snd_tag **mstp)
{
	struct testif_port *port = ifp->if_softc;
	struct testif *ti = port->ti;
	struct testif_tag *tt;

	if (params->hdr.type != IF_SND_TAG_TYPE_TLS)
		return (EOPNOTSUPP);
	if (ti == NULL)
		return (ENXIO);
	if (ti->ti_tag_error != 0)
		return (ti->ti_tag_error);
	tt = calloc(1, sizeof(*tt));
	assert_non_null(tt);
	m_snd_tag_init(&tt->tt_mst, ifp, &testif_tag_sw);
	tt->tt_port = port;
	tt->tt_tls = params->tls.tls;
	ti->ti_ntags++;
	*mstp = &tt->tt_mst;
	return (0);
}

static struct testif_port *
testif_port_new(struct testif *ti, int n)
{
	struct testif_port *port;

	port = calloc(1, sizeof(*port));
	assert_non_null(port);
	snprintf(port->ifp.if_xname, sizeof(port->ifp.if_xname), "test%d", n);
	port->ifp.if_softc = port;
	port->ifp.if_mtu = 1500;
	port->ifp.if_transmit = testif_transmit;
	port->nh.nh_ifp = &port->ifp;
	port->nh.nh_mtu = 1500;
	port->ti = ti;
	port->next = testif_ports;
	testif_ports = port;
	return (port);
}

void
testif_init(struct testif *ti, uint32_t rwnd)
{

	memset(ti, 0, sizeof(*ti));
	TAILQ_INIT(&ti->ti_q);
	ti->ti_port = testif_port_new(ti, 0);
	for (int i = 0; i < TESTIF_NPORTS - 1; i++)
		ti->ti_alt[i] = testif_port_new(ti, i + 1);
	ti->ti_rwnd = rwnd;
	ti->ti_fin_at = UINT64_MAX;
}

static struct testif_port *
testif_portp(struct testif *ti, int n)
{

	assert_true(n >= 0 && n < TESTIF_NPORTS);
	return (n == 0 ? ti->ti_port : ti->ti_alt[n - 1]);
}

struct ifnet *
testif_port(struct testif *ti, int n)
{

	return (&testif_portp(ti, n)->ifp);
}

void
testif_set_tso(struct testif *ti, int n, u_int tsomax)
{
	struct ifnet *ifp = testif_port(ti, n);

	ifp->if_hw_tsomax = tsomax;
	if (tsomax != 0) {
		ifp->if_capabilities |= IFCAP_TSO4;
		ifp->if_capenable |= IFCAP_TSO4;
	} else {
		ifp->if_capabilities &= ~IFCAP_TSO4;
		ifp->if_capenable &= ~IFCAP_TSO4;
	}
}

void
testif_set_txtls(struct testif *ti, int n, bool on)
{
	struct ifnet *ifp = testif_port(ti, n);
	int caps = IFCAP_TXTLS | IFCAP_MEXTPG;

	if (on) {
		ifp->if_capabilities |= caps;
		ifp->if_capenable |= caps;
		ifp->if_snd_tag_alloc = testif_snd_tag_alloc;
	} else {
		ifp->if_capabilities &= ~caps;
		ifp->if_capenable &= ~caps;
		ifp->if_snd_tag_alloc = NULL;
	}
}

void
testif_route(struct testif *ti, int n)
{

	assert_int_equal(ksim_set_route(ti->ti_so, &testif_portp(ti, n)->nh),
	    0);
}

struct socket *
testif_connect(struct testif *ti, uint32_t flowid)
{
	struct socket *so;

	assert_int_equal(ksim_socket(SOCK_STREAM, &so), 0);
	ti->ti_so = so;
	assert_int_equal(ksim_connect_route(so, &ti->ti_port->nh, flowid,
			     ti->ti_rwnd),
	    0);
	return (so);
}

static void
testif_free_seg(struct testif *ti, struct testif_seg *seg)
{

	TAILQ_REMOVE(&ti->ti_q, seg, link);
	ti->ti_nq--;
	m_freem(seg->m);
	free(seg);
}

void
testif_fini(struct testif *ti)
{
	struct testif_seg *seg;

	while ((seg = TAILQ_FIRST(&ti->ti_q)) != NULL)
		testif_free_seg(ti, seg);
	ti->ti_port->ti = NULL;
	for (int i = 0; i < TESTIF_NPORTS - 1; i++)
		ti->ti_alt[i]->ti = NULL;
	free(ti->ti_rcv);
	free(ti->ti_have);
	ti->ti_rcv = ti->ti_have = NULL;
	/* Every tag made here was freed: no packet or session kept one. */
	assert_int_equal(ti->ti_ntags_freed, ti->ti_ntags);
}

struct nhop_object *
testif_nhop(struct testif *ti)
{

	return (&ti->ti_port->nh);
}

void
testif_abandon_all(void)
{
	struct testif_port *port;

	for (port = testif_ports; port != NULL; port = port->next)
		port->ti = NULL;
}

void
testif_free_all(void)
{
	struct testif_port *port;

	while ((port = testif_ports) != NULL) {
		testif_ports = port->next;
		free(port);
	}
}

struct testif_seg *
testif_seg(struct testif *ti, int i)
{
	struct testif_seg *seg;

	TAILQ_FOREACH(seg, &ti->ti_q, link)
		if (i-- == 0)
			return (seg);
	return (NULL);
}

static void
testif_grow(struct testif *ti, size_t need)
{
	size_t ncap;

	if (need <= ti->ti_cap)
		return;
	ncap = ti->ti_cap != 0 ? ti->ti_cap : 65536;
	while (ncap < need)
		ncap *= 2;
	ti->ti_rcv = realloc(ti->ti_rcv, ncap);
	ti->ti_have = realloc(ti->ti_have, ncap);
	assert_non_null(ti->ti_rcv);
	assert_non_null(ti->ti_have);
	memset(ti->ti_have + ti->ti_cap, 0, ncap - ti->ti_cap);
	ti->ti_cap = ncap;
}

/*
 * The receiver: keep the bytes (a retransmission must bring the same
 * bytes again), advance over what is now in order, ACK it with the FIN.
 */
void
testif_deliver(struct testif *ti, struct testif_seg *seg)
{
	uint8_t *buf;
	uint64_t ack;
	unsigned i;

	testif_grow(ti, seg->off + seg->len);
	buf = malloc(seg->len + 1);
	assert_non_null(buf);
	m_copydata(seg->m->m_next, 0, (int)seg->len, buf);
	for (i = 0; i < seg->len; i++) {
		if (ti->ti_have[seg->off + i] &&
		    ti->ti_rcv[seg->off + i] != buf[i])
			testif_fail(ti,
			    "segment %d: byte %ju differs from its first copy",
			    seg->n, (uintmax_t)(seg->off + i));
		ti->ti_rcv[seg->off + i] = buf[i];
		ti->ti_have[seg->off + i] = 1;
	}
	free(buf);
	while (ti->ti_rcv_nxt < ti->ti_cap && ti->ti_have[ti->ti_rcv_nxt])
		ti->ti_rcv_nxt++;
	if (seg->fin)
		ti->ti_fin_at = seg->off + seg->len;
	if (ti->ti_rcv_nxt == ti->ti_fin_at)
		ti->ti_fin_rcvd = true;
	testif_free_seg(ti, seg);
	ack = ti->ti_rcv_nxt + (ti->ti_fin_rcvd ? 1 : 0);
	ti->ti_acked = ack;
	ti->ti_nacks++;
	tcp_input_ack(ti->ti_so, (tcp_seq)(TCP_SIM_ISS + 1 + ack), ti->ti_rwnd,
	    0);
}

void
testif_drop(struct testif *ti, struct testif_seg *seg)
{

	testif_free_seg(ti, seg);
}

void
testif_deliver_all(struct testif *ti)
{
	struct testif_seg *seg;

	while ((seg = TAILQ_FIRST(&ti->ti_q)) != NULL)
		testif_deliver(ti, seg);
}

void
testif_settle(struct harness *h)
{

	while (sim_det_next_due(h->pl) <= sim_now())
		assert_true(sim_det_step(h->pl));
}

void
testif_fire(struct testif *ti, struct harness *h)
{
	int nsent;

	nsent = ti->ti_nsent;
	while (ti->ti_nsent == nsent && !sototcpcb(ti->ti_so)->t_dropped &&
	    sim_det_step(h->pl))
		;
	testif_settle(h);
}

void
testif_wire(const struct testif *ti, struct wire *w)
{

	wire_init(w);
	w->buf = ti->ti_rcv;
	w->len = ti->ti_rcv_nxt;
	w->cap = ti->ti_cap;
}
