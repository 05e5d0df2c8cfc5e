/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The TCP sender.  Models tcp_default_output() and tcp_m_copym() of
 * sys/netinet/tcp_output.c: segments of at most t_maxseg bytes, within
 * the smaller of the peer's window and cwnd, taken only from the ready
 * prefix of the send buffer (sb_acc) as mbufs that share the buffer's
 * storage; the FIN only once every byte, ready or not, is sent;
 * retransmissions from snd_nxt < snd_max; the retransmission and persist
 * timers.  Data stays in the buffer until tcp_input.c frees it on an ACK.
 * TSO when the route's interface has IFCAP_TSO4 (tcp_output_tso()).
 * SIM: no Nagle, no SACK, no options (docs/differences.md).
 */

#include <netinet/in.h>
#include <netinet/ip.h>

#include "net/if_var.h"
#include "net/route/nhop.h"
#include "netinet/ip_var.h"
#include "netinet/tcp_var.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

#define TCP_HDRLEN ((int)(sizeof(struct ip) + sizeof(struct tcphdr)))

/* net.inet.tcp.sendspace and sendbuf_* (tcp_var.h). */
int tcp_sendspace = 32 * 1024;
int tcp_do_autosndbuf = 1;
int tcp_autosndbuf_inc = 8 * 1024;
int tcp_autosndbuf_max = 2 * 1024 * 1024;
int tcp_sendbuf_auto_lowat = 0;

/*
 * The kind of data an mbuf holds, which one segment never mixes:
 * plain or unmapped (M_EXTPG), and for unmapped data whether it is a
 * TLS record (it has a header) and of which session (m_epg_tls, which a
 * software record drops once it is encrypted).
 */
struct tcp_mkind {
	bool extpg;
	bool record;
	const struct ktls_session *tls;
};

static struct tcp_mkind
tcp_mkind(const struct mbuf *m)
{
	struct tcp_mkind k;

	k.extpg = (m->m_flags & M_EXTPG) != 0;
	k.record = k.extpg && m->m_epg_hdrlen != 0;
	k.tls = k.extpg ? m->m_epg_tls : NULL;
	return (k);
}

static bool
tcp_mkind_eq(struct tcp_mkind a, struct tcp_mkind b)
{

	return (a.extpg == b.extpg && a.record == b.record && a.tls == b.tls);
}

/*
 * tcp_m_copym(): [off, off + *plen) of the send buffer as new mbufs that
 * reference the buffer's storage (mb_dupcl()); the pages are shared,
 * never copied.  The copy stops early, and *plen shrinks, where the kind
 * of data changes: TLS records of another session, or TLS records next
 * to other data.  FreeBSD stops there only for a segment with a send tag
 * (hw_tls), so that a NIC never sees records of two sessions, or plain
 * bytes, under one tag; SIM: the simulator does it for every segment, so
 * that one rule holds whatever the interface (docs/differences.md).
 * Returns NULL, *plen 0, when no mbuf could be had.
 */
static struct mbuf *
tcp_m_copym(struct sockbuf *sb, u_int off, u_int *plen)
{
	struct mbuf *m, *n, *top, **np;
	struct tcp_mkind kind;
	u_int len, moff, copied;

	len = *plen;
	for (m = sb->sb_mb; m != NULL && off >= (u_int)m->m_len; m = m->m_next)
		off -= m->m_len;
	KASSERT(m != NULL, ("tcp_m_copym: offset past the buffer"));
	kind = tcp_mkind(m);
	top = NULL;
	np = &top;
	copied = 0;
	for (moff = off; copied < len && m != NULL; m = m->m_next, moff = 0) {
		if (m->m_len == 0)
			continue;
		KASSERT((m->m_flags & M_NOTAVAIL) == 0,
		    ("tcp_m_copym: %p not ready", (void *)m));
		if (!tcp_mkind_eq(kind, tcp_mkind(m)))
			break;
		n = m_get(M_NOWAIT, MT_DATA);
		if (n == NULL)
			break;
		n->m_len = min(len - copied, (u_int)m->m_len - moff);
		mb_dupcl(n, m);
		if (m->m_flags & M_EXTPG)
			n->m_epg_off += moff;
		else
			n->m_data = m->m_data + moff;
		copied += n->m_len;
		*np = n;
		np = &n->m_next;
	}
	*plen = copied;
	return (top);
}

/* The IPv4 and TCP headers in front of a segment (tcpip_fillheaders()). */
static struct mbuf *
tcp_hdr_mbuf(struct tcpcb *tp, tcp_seq seq, int flags, u_int len)
{
	struct inpcb *inp = tptoinpcb(tp);
	struct tcphdr *th;
	struct mbuf *m;
	struct ip *ip;

	m = m_get_ext(TCP_HDRLEN, M_NOWAIT);
	if (m == NULL)
		return (NULL);
	m_pkthdr_init(m, M_NOWAIT);
	memset(m->m_data, 0, TCP_HDRLEN);
	m->m_len = TCP_HDRLEN;
	m->m_pkthdr.len = TCP_HDRLEN + (int)len;
	m->m_pkthdr.flowid = tp->t_socket->so_flowid;
	ip = (struct ip *)(void *)m->m_data;
	ip->ip_v = IPVERSION;
	ip->ip_hl = sizeof(struct ip) >> 2;
	ip->ip_len = htons((uint16_t)(TCP_HDRLEN + len));
	ip->ip_off = htons(IP_DF);
	ip->ip_ttl = 64;
	ip->ip_p = IPPROTO_TCP;
	ip->ip_src = inp->inp_laddr;
	ip->ip_dst = inp->inp_faddr;
	/* SIM: checksums are left to the interface (CSUM_TCP). */
	th = (struct tcphdr *)(void *)(ip + 1);
	th->th_sport = inp->inp_lport;
	th->th_dport = inp->inp_fport;
	th->th_seq = htonl(seq);
	/* SIM: the peer's sequence space is not modelled: its ISN is 0. */
	th->th_ack = htonl(1);
	th->th_off = sizeof(struct tcphdr) >> 2;
	th->th_flags = (uint8_t)flags;
	th->th_win = htons(TCP_MAXWIN);
	return (m);
}

/*
 * Report [seq, seq + len) to the trace hooks as one segment, with the
 * bytes as they sit in the send buffer (which still holds them: ACKs that
 * came meanwhile are processed after this).
 */
static void
tcp_trace_segment(struct tcpcb *tp, tcp_seq seq, u_int len, bool rexmit)
{
	struct iovec iovs[64], *iov;
	struct sockbuf *sb;
	int cnt, max;
	u_int off;

	if (ktls_trace_hooks->th_segment == NULL)
		return;
	sb = &tp->t_socket->so_snd;
	off = seq - tp->snd_una;
	max = m_chain_iovmax(sb->sb_mb, (int)off, (int)len);
	iov = max <= (int)nitems(iovs) ? iovs :
					 kmalloc(max * sizeof(*iov), M_WAITOK);
	cnt = m_chain_to_iovec(sb->sb_mb, (int)off, (int)len, iov, max);
	ktls_trace_hooks->th_segment(ktls_trace_hooks->th_arg, tp->t_socket,
	    tcp_seq_stream_off(tp, seq), iov, cnt, rexmit);
	if (iov != iovs)
		kfree(iov);
}

/*
 * Errors of ip_output() that lose the packet but not the connection
 * (tcp_output()'s switch on the error): the timers send it again.
 */
static bool
tcp_soft_error(int error)
{

	switch (error) {
	case EAGAIN:
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENETDOWN:
	case ENETUNREACH:
		return (true);
	}
	return (false);
}

/*
 * The send side of the persist logic (tcp_output()'s "just return"): data
 * is waiting, nothing is in flight and no timer runs, so only a window
 * update can restart the flow; probe for it.
 */
static void
tcp_output_idle(struct tcpcb *tp)
{
	struct sockbuf *sb = &tp->t_socket->so_snd;

	if (sbavail(sb) > (u_int)(tp->snd_nxt - tp->snd_una) &&
	    tp->snd_wnd == 0 && !tcp_timer_active(tp, TT_REXMT) &&
	    !tcp_timer_active(tp, TT_PERSIST)) {
		tp->t_rxtshift = 0;
		tcp_setpersist(tp);
	}
}

/*
 * Nothing of the segment left: tcp_output()'s error path in FreeBSD arms
 * the retransmission timer when neither it nor the persist timer runs, so
 * a packet dropped before the wire (ip_output_send() without the
 * session's send tag, a full interface queue) is sent again when it
 * fires.  Without it a connection whose every packet was refused would
 * wait for an ACK that cannot come.  An interface that calls
 * tcp_output_kick() once it has room (the byte wire) needs no timer.
 */
static void
tcp_output_enobufs(struct tcpcb *tp)
{
	struct nhop_object *nh = tptoinpcb(tp)->inp_route.ro_nh;

	if (nh != NULL && nh->nh_ifp->if_kicks)
		return;
	if (!tcp_timer_active(tp, TT_REXMT) &&
	    !tcp_timer_active(tp, TT_PERSIST))
		tcp_timer_activate(tp, TT_REXMT, tp->t_rxtcur);
}

/*
 * tcp_sndbuf_autoscale(): one step of send-buffer growth, taken only when
 * the buffer rather than the path limits the sender, that is when all of
 * these hold (sys/netinet/tcp_output.c tcp_sndbuf_autoscale()):
 *  - the peer's window is at least 4/5 of the buffer (snd_wnd / 4 * 5 >=
 *    sb_hiwat), so a larger buffer could be filled into it;
 *  - the buffer is at least 7/8 full (sbused(), not-ready data counts),
 *    so the application has more to give;
 *  - it holds less than sendbuf_max;
 *  - the send window, min(snd_wnd, cwnd) as tcp_output() computed it,
 *    covers every byte not yet sent, so the window is not what stops us.
 * The step is sendbuf_inc, up to sendbuf_max.  With sendbuf_auto_lowat
 * the first two thresholds are lowered by sb_lowat.  The arithmetic is
 * unsigned as FreeBSD's: a threshold below zero, or more in flight than
 * queued (a FIN), wraps and blocks the step.  A step sbreserve_locked()
 * refuses (beyond sb_max_adj, kern.ipc.maxsockbuf less mbuf overhead:
 * 1864135 bytes by default, so the default 2 MiB is never reached) ends
 * autosizing for the socket.  Nothing shrinks the buffer again.
 */
void
tcp_sndbuf_autoscale(struct tcpcb *tp, struct socket *so, uint32_t sendwin)
{
	struct sockbuf *sb = &so->so_snd;
	u_int lowat, used;

	SOCKBUF_LOCK_ASSERT(sb);
	if (!tcp_do_autosndbuf || (sb->sb_flags & SB_AUTOSIZE) == 0)
		return;
	lowat = tcp_sendbuf_auto_lowat ? sb->sb_lowat : 0;
	used = sbused(sb);
	if (tp->snd_wnd / 4 * 5 < sb->sb_hiwat - lowat ||
	    used < sb->sb_hiwat / 8 * 7 - lowat ||
	    used >= (u_int)tcp_autosndbuf_max ||
	    sendwin < used - (u_int)(tp->snd_nxt - tp->snd_una))
		return;
	if (!sbreserve_locked(so,
		min(sb->sb_hiwat + (u_int)tcp_autosndbuf_inc,
		    (u_int)tcp_autosndbuf_max)))
		sb->sb_flags &= ~SB_AUTOSIZE;
}

/*
 * The length of a segment when the interface segments it (TSO), from
 * tcp_output()'s tso decision in sys/netinet/tcp_output.c: more than one
 * MSS of data, IFCAP_TSO4 on the route's interface (FreeBSD notes it as
 * TF_TSO and t_tsomax in tcp_mss_update(); the simulator reads the
 * interface on every send, as its route never changes underneath), and
 * none of what turns TSO off there: a SYN, IP options, TCP options the
 * NIC cannot copy (TCP-MD5), UDP encapsulation, SACK retransmissions and
 * SACK blocks; the simulator sends none of these.  The segment is then
 * at most if_hw_tsomax less the headers, still within the send window
 * (len arrives already cut to it), and a multiple of t_maxseg unless it
 * ends the ready data, so that the NIC leaves no small packet in the
 * middle of the stream.  tcp_m_copym() may still cut it short where the
 * kind of data changes, as FreeBSD's does for hw_tls.  Without TSO the
 * answer is at most t_maxseg.
 */
static u_int
tcp_output_tso(struct tcpcb *tp, u_int off, u_int len)
{
	struct sockbuf *sb = &tp->t_socket->so_snd;
	struct ifnet *ifp = tptoinpcb(tp)->inp_route.ro_nh->nh_ifp;
	u_int max;

	if (len <= tp->t_maxseg || (ifp->if_capenable & IFCAP_TSO4) == 0 ||
	    ifp->if_hw_tsomax <= (u_int)TCP_HDRLEN + tp->t_maxseg)
		return (min(len, tp->t_maxseg));
	max = ifp->if_hw_tsomax - TCP_HDRLEN;
	len = min(len, max);
	if (off + len < sbavail(sb))
		len -= len % tp->t_maxseg;
	return (len);
}

/*
 * tcp_output(): send what the window allows.  Called with the socket lock
 * held (SIM: it stands for the inpcb lock too) whenever data became ready,
 * an ACK arrived, a timer fired or the interface has room again.
 */
void
tcp_output(struct tcpcb *tp)
{
	struct socket *so = tp->t_socket;
	struct sockbuf *sb = &so->so_snd;
	struct mbuf *m, *data;
	tcp_seq seq, snd_max0, went;
	u_int off, len, avail, sendwin, sent;
	int error, flags;
	bool fin, rexmit, sentfin0, probe, finwent, hw_tls;

	SOCKBUF_LOCK_ASSERT(sb);
	if (tp->t_in_ipoutput)
		return;
	for (;;) {
		if (tp->t_dropped || tp->t_state < TCPS_ESTABLISHED ||
		    (so->so_state & SS_ISCONNECTED) == 0 ||
		    tptoinpcb(tp)->inp_route.ro_nh == NULL)
			return;
		off = tp->snd_nxt - tp->snd_una;
		sendwin = min(tp->snd_wnd, tp->snd_cwnd);
		probe = false;
		if (tp->t_flags & TF_FORCEDATA) {
			if (sendwin == 0) {
				/* A window probe: one byte past it. */
				sendwin = 1;
				probe = true;
			} else {
				tcp_timer_activate(tp, TT_PERSIST, 0);
				tp->t_rxtshift = 0;
			}
		}
		avail = sbavail(sb);
		len = 0;
		if (off < avail && min(avail, sendwin) > off)
			len = min(avail, sendwin) - off;
		else if (sendwin == 0 && off > 0 && off <= avail) {
			/*
			 * The window closed on data in flight: stop
			 * retransmitting it and persist instead.
			 */
			tcp_timer_activate(tp, TT_REXMT, 0);
			tp->t_rxtshift = 0;
			tp->snd_nxt = tp->snd_una;
			off = 0;
			if (!tcp_timer_active(tp, TT_PERSIST))
				tcp_setpersist(tp);
		}
		/*
		 * Every pass, as FreeBSD's "again" loop: a buffer that grows
		 * here gives sosend and sendfile more room (sbspace()).
		 */
		tcp_sndbuf_autoscale(tp, so, sendwin);
		len = tcp_output_tso(tp, off, len);
		data = NULL;
		if (len > 0) {
			data = tcp_m_copym(sb, off, &len);
			if (data == NULL)
				return;
		}
		/*
		 * The FIN rides on the segment that ends the data once the
		 * application shut down: it ends at sb_ccc, and it can only
		 * reach that far when nothing is left that is not ready
		 * (off + len <= sb_acc).  It is sent again after a timeout
		 * like data.
		 */
		fin = (sb->sb_state & SBS_CANTSENDMORE) != 0 &&
		    tp->t_state != TCPS_FIN_WAIT_2 && off + len == sbused(sb);
		if (len == 0 && !fin) {
			tcp_output_idle(tp);
			return;
		}

		flags = TH_ACK;
		if (fin)
			flags |= TH_FIN;
		if (len > 0 && off + len == sbused(sb))
			flags |= TH_PUSH;
		seq = tp->snd_nxt;
		m = tcp_hdr_mbuf(tp, seq, flags, len);
		if (m == NULL) {
			m_freem(data);
			return;
		}
		m->m_next = data;
		rexmit = SEQ_LT(seq, tp->snd_max);
		hw_tls = tp->t_nic_ktls_xmit != 0;

		/*
		 * Advance the sequence space, as FreeBSD does before sending.
		 * A window probe leaves snd_nxt where it is: the next probe
		 * sends the same byte.
		 */
		snd_max0 = tp->snd_max;
		sentfin0 = (tp->t_flags & TF_SENTFIN) != 0;
		if (fin) {
			tp->t_flags |= TF_SENTFIN;
			if (tp->t_state == TCPS_ESTABLISHED)
				tp->t_state = TCPS_FIN_WAIT_1;
		}
		if (probe) {
			if (SEQ_GT(seq + len + (fin ? 1 : 0), tp->snd_max))
				tp->snd_max = seq + len + (fin ? 1 : 0);
		} else {
			tp->snd_nxt += len + (fin ? 1 : 0);
			if (SEQ_GT(tp->snd_nxt, tp->snd_max)) {
				tp->snd_max = tp->snd_nxt;
				if (!tp->t_rtttimed && len > 0) {
					tp->t_rtttimed = true;
					tp->t_rtttime = sim_now();
					tp->t_rtseq = seq;
					TCPSTAT_INC(tcps_segstimed);
				}
			}
		}

		tp->t_in_ipoutput = true;
		error = ip_output(m, tptoinpcb(tp));
		tp->t_in_ipoutput = false;

		sent = len;
		finwent = fin;
		if (error != 0) {
			/*
			 * Not (all) sent.  An interface may have taken a
			 * prefix and acknowledged it already (the byte wire
			 * does): that much went.  FreeBSD backs out snd_nxt;
			 * for ENOBUFS (no room) the simulator backs out
			 * snd_max too, so the rest goes later as new data, not
			 * as a retransmission (SIM, docs/differences.md).
			 */
			went = seq;
			for (int i = 0; i < tp->t_nackq; i++)
				if (SEQ_GT(tp->t_ackq[i].ack, went))
					went = tp->t_ackq[i].ack;
			sent = min((u_int)(went - seq), len);
			finwent = false;
			if (!sentfin0 && fin) {
				tp->t_flags &= ~TF_SENTFIN;
				if (tp->t_state == TCPS_FIN_WAIT_1)
					tp->t_state = TCPS_ESTABLISHED;
			}
			if (!probe) {
				tp->snd_nxt = seq + sent;
				if (error == ENOBUFS)
					tp->snd_max =
					    SEQ_MAX(snd_max0, tp->snd_nxt);
				if (tp->t_rtttimed &&
				    SEQ_GEQ(tp->t_rtseq, tp->snd_nxt))
					tp->t_rtttimed = false;
			}
			if (error == ENOBUFS)
				TCPSTAT_INC(tcps_sndenobufs);
		}
		if (sent > 0 || finwent) {
			TCPSTAT_INC(tcps_sndtotal);
			if (probe && len == 1)
				TCPSTAT_INC(tcps_sndprobe);
			else if (rexmit) {
				TCPSTAT_INC(tcps_sndrexmitpack);
				TCPSTAT_ADD(tcps_sndrexmitbyte, sent);
				tp->t_sndrexmitpack++;
			} else if (sent > 0) {
				TCPSTAT_INC(tcps_sndpack);
				TCPSTAT_ADD(tcps_sndbyte, sent);
			} else
				TCPSTAT_INC(tcps_sndctrl);
			tcp_account_for_send(tp, sent, rexmit, false, hw_tls);
			counter_u64_add(ksim_wire_read_bytes, sent);
			if (sent > 0 &&
			    __predict_false(ktls_trace_hooks != NULL))
				tcp_trace_segment(tp, seq, sent, rexmit);
		}
		if (tp->t_nackq > 0)
			tcp_ackq_drain(tp);
		if (error != 0) {
			/*
			 * No room: stop until the interface calls again,
			 * unless it took part of the segment, in which case
			 * the rest is tried now (a byte wire says it is full
			 * only by taking nothing).
			 */
			if (error == ENOBUFS && sent == 0) {
				tcp_output_enobufs(tp);
				return;
			}
			if (error == ENOBUFS)
				continue;
			if (!tcp_soft_error(error)) {
				tcp_drop(tp, error);
				return;
			}
		}
		if (tp->t_dropped)
			return;
		/*
		 * Data in flight needs the retransmission timer, which
		 * replaces the persist timer once the window opened.
		 */
		if (!probe && tp->snd_nxt != tp->snd_una &&
		    !tcp_timer_active(tp, TT_REXMT)) {
			if (tcp_timer_active(tp, TT_PERSIST)) {
				tcp_timer_activate(tp, TT_PERSIST, 0);
				tp->t_rxtshift = 0;
			}
			tcp_timer_activate(tp, TT_REXMT, tp->t_rxtcur);
		}
		if (error != 0 || probe)
			return;
	}
}
