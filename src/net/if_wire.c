/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: the byte wire as an interface (if_wire.h).  if_transmit hands the
 * segment's payload, as iovecs into the shared pages, to tw_output and
 * acknowledges at once whatever it took, as if the peer's ACK had come
 * back that instant; a FIN goes to tw_fin once all of the segment's data
 * is taken.  When tw_output takes less than the segment (the real socket
 * behind it is full) the answer is ENOBUFS: TCP counts the taken prefix
 * as sent and sends the rest when the owner calls tcp_output_kick()
 * (tcp_output.c).  A negative tw_output is the connection's error.
 */

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>

#include "net/if_var.h"
#include "net/if_wire.h"
#include "net/route/nhop.h"
#include "netinet/tcp_var.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

struct if_wire {
	struct ifnet iw_ifnet;
	struct nhop_object iw_nh;
	struct tcp_wire iw_tw;
	struct tcpcb *iw_tp;
};

static int
if_wire_transmit(struct ifnet *ifp, struct mbuf *m)
{
	struct iovec iovs[32], *iov;
	struct if_wire *iw = ifp->if_softc;
	const struct tcphdr *th;
	const struct ip *ip;
	tcp_seq seq;
	ssize_t n;
	int cnt, hlen, len, max;
	bool fin;

	ip = (const struct ip *)(const void *)m->m_data;
	hlen = ip->ip_hl << 2;
	th = (const struct tcphdr *)(const void *)(m->m_data + hlen);
	hlen += th->th_off << 2;
	KASSERT(m->m_len == hlen, ("if_wire: headers and data mixed"));
	seq = ntohl(th->th_seq);
	len = m->m_pkthdr.len - hlen;
	if (iw->iw_tw.tw_output == NULL) {
		m_freem(m);
		ifp->if_oqdrops++;
		return (ENOBUFS);
	}
	n = 0;
	if (len > 0) {
		max = m_chain_iovmax(m->m_next, 0, len);
		iov = max <= (int)nitems(iovs) ?
		    iovs :
		    kmalloc(max * sizeof(*iov), M_WAITOK);
		cnt = m_chain_to_iovec(m->m_next, 0, len, iov, max);
		n = iw->iw_tw.tw_output(iw->iw_tw.tw_arg, iov, cnt);
		if (iov != iovs)
			kfree(iov);
		if (n < 0) {
			m_freem(m);
			ifp->if_oqdrops++;
			return ((int)-n);
		}
		KASSERT(n <= len,
		    ("if_wire: tw_output took %zd of %d", n, len));
	}
	fin = n == len && (th->th_flags & TH_FIN) != 0;
	m_freem(m);
	if (fin && iw->iw_tw.tw_fin != NULL)
		iw->iw_tw.tw_fin(iw->iw_tw.tw_arg);
	if (n == 0 && !fin)
		return (ENOBUFS);
	ifp->if_opackets++;
	ifp->if_obytes += (uint64_t)n;
	tcp_input_ack_locked(iw->iw_tp, seq + (tcp_seq)n + (fin ? 1 : 0),
	    IF_WIRE_WND, 0);
	return (n == len ? 0 : ENOBUFS);
}

struct if_wire *
if_wire_alloc(struct tcpcb *tp, const struct tcp_wire *tw)
{
	struct if_wire *iw;

	iw = kmalloc(sizeof(*iw), M_WAITOK | M_ZERO);
	iw->iw_tw = *tw;
	iw->iw_tp = tp;
	strlcpy(iw->iw_ifnet.if_xname, "wire0", sizeof(iw->iw_ifnet.if_xname));
	iw->iw_ifnet.if_softc = iw;
	iw->iw_ifnet.if_mtu = 1500;
	/*
	 * TSO: a segment of up to IP_MAXPACKET bytes goes out with one
	 * tw_output() (one writev()) instead of one per MSS; the real socket
	 * behind the wire cuts it as it likes.
	 */
	iw->iw_ifnet.if_capabilities = IFCAP_MEXTPG | IFCAP_TSO4;
	iw->iw_ifnet.if_capenable = IFCAP_MEXTPG | IFCAP_TSO4;
	iw->iw_ifnet.if_hw_tsomax = IP_MAXPACKET;
	iw->iw_ifnet.if_transmit = if_wire_transmit;
	iw->iw_ifnet.if_kicks = true;
	iw->iw_nh.nh_ifp = &iw->iw_ifnet;
	iw->iw_nh.nh_mtu = 1500;
	if_ref(&iw->iw_ifnet);
	return (iw);
}

struct nhop_object *
if_wire_nhop(struct if_wire *iw)
{

	return (&iw->iw_nh);
}

void
if_wire_free(struct if_wire *iw)
{

	if_rele(&iw->iw_ifnet);
	KASSERT(iw->iw_ifnet.if_refcount == 0,
	    ("if_wire_free: %u references left", iw->iw_ifnet.if_refcount));
	kfree(iw);
}
