/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ACK processing for a sender.  Models the ACK half of tcp_do_segment()
 * in sys/netinet/tcp_input.c (duplicate ACKs and fast retransmit,
 * NewReno partial ACKs, RTT samples in tcp_xmit_timer(), the window
 * update, freeing acknowledged data) and the congestion-control hooks
 * cc_ack_received(), cc_cong_signal() and cc_post_recovery() with
 * NewReno's algorithm (sys/netinet/cc/cc_newreno.c).  SIM: the peer sends
 * no data, so there is no receive side, no SACK and no timestamps; an ACK
 * arrives as a function call (docs/differences.md).
 */

#include "netinet/tcp_var.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

int tcprexmtthresh = 3;

/*
 * cc_ack_received(): new data was acknowledged outside recovery.  Slow
 * start grows cwnd by the bytes acknowledged, at most two segments per
 * ACK (RFC 3465 appropriate byte counting, L = 2); congestion avoidance
 * by one segment per window's worth of acknowledged bytes.  Only a
 * window-limited sender grows it (CCF_CWND_LIMITED).
 */
void
cc_ack_received(struct tcpcb *tp, uint32_t acked)
{
	uint32_t incr, maxcwnd;

	if (tp->snd_cwnd > tp->snd_wnd)
		return;
	incr = 0;
	if (tp->snd_cwnd > tp->snd_ssthresh) {
		tp->t_bytes_acked += acked;
		if (tp->t_bytes_acked >= tp->snd_cwnd) {
			tp->t_bytes_acked -= tp->snd_cwnd;
			incr = tp->t_maxseg;
		}
	} else {
		tp->t_bytes_acked = 0;
		incr = min(acked, 2 * tp->t_maxseg);
	}
	maxcwnd = (uint32_t)TCP_MAXWIN << TCP_MAX_WINSHIFT;
	tp->snd_cwnd = min(tp->snd_cwnd + incr, maxcwnd);
}

/*
 * cc_cong_signal(): a loss.  Three duplicate ACKs halve the window
 * (ssthresh = cwnd / 2, at least two segments) and start fast recovery;
 * a timeout also sets ssthresh from the smaller of cwnd and the peer's
 * window and restarts from one segment (RFC 5681 3.1, 3.2).
 */
void
cc_cong_signal(struct tcpcb *tp, int type)
{
	uint32_t mss, win;

	mss = tp->t_maxseg;
	switch (type) {
	case CC_NDUPACK:
		if (!IN_FASTRECOVERY(tp->t_flags)) {
			tp->snd_ssthresh = max(tp->snd_cwnd / 2 / mss, 2) * mss;
			tp->snd_recover = tp->snd_max;
			tp->t_flags |= TF_FASTRECOVERY;
		}
		break;
	case CC_RTO:
		win = min(tp->snd_wnd, tp->snd_cwnd);
		tp->snd_ssthresh = max(win / 2 / mss, 2) * mss;
		tp->snd_cwnd = mss;
		tp->t_bytes_acked = 0;
		tp->t_dupacks = 0;
		tp->t_flags &= ~TF_FASTRECOVERY;
		break;
	}
}

/*
 * cc_post_recovery(): the ACK covers snd_recover, recovery ends.  With
 * less than ssthresh in flight, restart from what is in flight plus a
 * segment rather than send a burst.
 */
void
cc_post_recovery(struct tcpcb *tp, tcp_seq th_ack)
{
	uint32_t pipe;

	if (IN_FASTRECOVERY(tp->t_flags)) {
		pipe = tp->snd_max - th_ack;
		if (pipe < tp->snd_ssthresh)
			tp->snd_cwnd = max(pipe, tp->t_maxseg) + tp->t_maxseg;
		else
			tp->snd_cwnd = tp->snd_ssthresh;
	}
	tp->t_flags &= ~TF_FASTRECOVERY;
}

/*
 * tcp_xmit_timer(): an RTT sample; the RFC 6298 2.2/2.3 estimator, then
 * the timeout within [t_rttmin, TCPTV_REXMTMAX] plus the slop.
 */
static void
tcp_xmit_timer(struct tcpcb *tp, uint64_t rtt)
{
	int64_t delta;

	TCPSTAT_INC(tcps_rttupdated);
	if (tp->t_srtt_valid) {
		delta = (int64_t)rtt - (int64_t)tp->t_srtt;
		tp->t_srtt = (uint64_t)((int64_t)tp->t_srtt + delta / 8);
		if (delta < 0)
			delta = -delta;
		tp->t_rttvar = (uint64_t)((int64_t)tp->t_rttvar +
		    (delta - (int64_t)tp->t_rttvar) / 4);
	} else {
		tp->t_srtt = rtt;
		tp->t_rttvar = rtt / 2;
		tp->t_srtt_valid = true;
	}
	tp->t_rtttimed = false;
	tp->t_rxtshift = 0;
	tp->t_rxtcur = tcp_rangeset(tcp_rexmtval(tp),
	    max(tp->t_rttmin, rtt + 2), TCPTV_REXMTMAX);
}

/*
 * tcp_newreno_partial_ack(): in recovery, an ACK short of snd_recover
 * shows the next hole.  Retransmit one segment there, then deflate cwnd
 * by what was acknowledged (RFC 6582 3.2 step 3).
 */
static void
tcp_newreno_partial_ack(struct tcpcb *tp, tcp_seq th_ack)
{
	tcp_seq onxt;
	uint32_t ocwnd, acked;

	onxt = tp->snd_nxt;
	ocwnd = tp->snd_cwnd;
	acked = th_ack - tp->snd_una;
	tcp_timer_activate(tp, TT_REXMT, 0);
	tp->t_rtttimed = false;
	tp->snd_nxt = th_ack;
	/* Room for exactly one segment past th_ack. */
	tp->snd_cwnd = tp->t_maxseg + acked;
	tcp_output(tp);
	tp->snd_cwnd = ocwnd;
	if (SEQ_GT(onxt, tp->snd_nxt))
		tp->snd_nxt = onxt;
	tp->snd_cwnd =
	    (tp->snd_cwnd > acked ? tp->snd_cwnd - acked : 0) + tp->t_maxseg;
}

/*
 * The third duplicate ACK: retransmit the segment at snd_una with cwnd
 * forced to one segment, then inflate it by the duplicates seen (RFC 5681
 * 3.2 steps 2-3).  After a timeout, duplicates for data sent before it
 * (th_ack <= snd_recover) start nothing (RFC 6582 4.1).
 */
static void
tcp_fast_rexmit(struct tcpcb *tp, tcp_seq th_ack)
{
	tcp_seq onxt;

	if (SEQ_LEQ(th_ack, tp->snd_recover)) {
		tp->t_dupacks = 0;
		return;
	}
	cc_cong_signal(tp, CC_NDUPACK);
	tcp_timer_activate(tp, TT_REXMT, 0);
	tp->t_rtttimed = false;
	onxt = tp->snd_nxt;
	tp->snd_nxt = th_ack;
	tp->snd_cwnd = tp->t_maxseg;
	tcp_output(tp);
	tp->snd_cwnd = tp->snd_ssthresh + tp->t_maxseg * tp->t_dupacks;
	if (SEQ_GT(onxt, tp->snd_nxt))
		tp->snd_nxt = onxt;
}

/* Trace the records that leave the buffer with the next n bytes. */
static void
tcp_trace_freed(struct sockbuf *sb, struct socket *so, u_int n)
{
	struct mbuf *m;

	for (m = sb->sb_mb; m != NULL && n >= (u_int)m->m_len &&
	     (m->m_flags & M_NOTAVAIL) == 0;
	     m = m->m_next) {
		n -= m->m_len;
		if (m->m_flags & M_EXTPG)
			KTLS_TRACE_RECORD(KTR_FREED, so, m);
	}
}

/*
 * The ACK proper: duplicates, then new data acknowledged (RTT sample,
 * timer, cwnd, sbdrop(), which frees records and their session
 * references), then the window.  Returns with the socket lock held; the
 * connection may have been dropped.
 */
static void
tcp_do_ack(struct tcpcb *tp, tcp_seq th_ack, uint32_t tiwin, int flags)
{
	struct socket *so = tp->t_socket;
	struct sockbuf *sb = &so->so_snd;
	uint32_t acked, dropped;
	bool ourfinisacked;

	if (tp->t_dropped || tp->t_state < TCPS_ESTABLISHED)
		return;
	if (SEQ_GT(th_ack, tp->snd_max)) {
		/* FreeBSD answers with an ACK of its own and drops it. */
		TCPSTAT_INC(tcps_rcvacktoomuch);
		return;
	}
	if (SEQ_LEQ(th_ack, tp->snd_una)) {
		if (tiwin == tp->snd_wnd || (flags & TA_DUPACK)) {
			TCPSTAT_INC(tcps_rcvdupack);
			if (th_ack != tp->snd_una)
				goto step6;
			/* Nothing outstanding, or only a window probe. */
			if (tp->snd_max == tp->snd_una ||
			    tcp_timer_active(tp, TT_PERSIST))
				tp->t_dupacks = 0;
			else if (++tp->t_dupacks > tcprexmtthresh ||
			    IN_FASTRECOVERY(tp->t_flags)) {
				if (IN_FASTRECOVERY(tp->t_flags)) {
					/* Each duplicate: a segment left. */
					tp->snd_cwnd += tp->t_maxseg;
					tcp_output(tp);
				}
				return;
			} else if (tp->t_dupacks == tcprexmtthresh) {
				tcp_fast_rexmit(tp, th_ack);
				return;
			}
		}
		goto step6;
	}

	/* New data acknowledged. */
	if (IN_FASTRECOVERY(tp->t_flags)) {
		if (SEQ_LT(th_ack, tp->snd_recover))
			tcp_newreno_partial_ack(tp, th_ack);
		else
			cc_post_recovery(tp, th_ack);
		if (tp->t_dropped)
			return;
	}
	tp->t_dupacks = 0;
	acked = th_ack - tp->snd_una;
	TCPSTAT_INC(tcps_rcvackpack);
	TCPSTAT_ADD(tcps_rcvackbyte, acked);
	if (tp->t_rtttimed && SEQ_GT(th_ack, tp->t_rtseq))
		tcp_xmit_timer(tp, sim_now() - tp->t_rtttime);
	if (th_ack == tp->snd_max)
		tcp_timer_activate(tp, TT_REXMT, 0);
	else if (!tcp_timer_active(tp, TT_PERSIST))
		tcp_timer_activate(tp, TT_REXMT, tp->t_rxtcur);
	if (!IN_FASTRECOVERY(tp->t_flags))
		cc_ack_received(tp, acked);

	/* The FIN takes the sequence number after the last data byte. */
	if (acked > sbused(sb)) {
		dropped = sbused(sb);
		ourfinisacked = true;
	} else {
		dropped = acked;
		ourfinisacked = false;
	}
	if (__predict_false(ktls_trace_hooks != NULL))
		tcp_trace_freed(sb, so, dropped);
	sbdrop_locked(sb, (int)dropped);
	tp->t_stream_una += dropped;
	tp->snd_una = th_ack;
	if (SEQ_LT(tp->snd_nxt, tp->snd_una))
		tp->snd_nxt = tp->snd_una;
	sowwakeup_locked(so);
	if (ourfinisacked && tp->t_state == TCPS_FIN_WAIT_1) {
		tp->t_state = TCPS_FIN_WAIT_2;
		tcp_timer_activate(tp, TT_REXMT, 0);
		so_close_done_locked(so);
	}

step6:
	/*
	 * The window: from an ACK newer than the last update's, or the same
	 * ACK with a larger window (SIM: the peer's segments carry no data,
	 * so the snd_wl1 half of FreeBSD's test has nothing to compare).
	 */
	if (SEQ_LT(tp->snd_wl2, th_ack) ||
	    (tp->snd_wl2 == th_ack && tiwin > tp->snd_wnd)) {
		if (tp->snd_wl2 == th_ack && tiwin > tp->snd_wnd)
			TCPSTAT_INC(tcps_rcvwinupd);
		tp->snd_wnd = tiwin;
		tp->snd_wl2 = th_ack;
		if (tp->snd_wnd > tp->max_sndwnd)
			tp->max_sndwnd = tp->snd_wnd;
	}
}

void
tcp_input_ack_locked(struct tcpcb *tp, tcp_seq th_ack, uint32_t tiwin,
    int flags)
{
	struct tcp_ackq *q;

	SOCKBUF_LOCK_ASSERT(&tp->t_socket->so_snd);
	if (tp->t_in_ipoutput) {
		/*
		 * Inside ip_output(): tcp_output() takes it when the call
		 * returns.  A full queue keeps the newest ACK in its last
		 * slot; ACKs are cumulative, and a duplicate lost here is
		 * one lost on the way.
		 */
		if (tp->t_nackq < TCP_ACKQ_MAX)
			q = &tp->t_ackq[tp->t_nackq++];
		else
			q = &tp->t_ackq[TCP_ACKQ_MAX - 1];
		q->ack = th_ack;
		q->win = tiwin;
		q->flags = flags;
		return;
	}
	tcp_do_ack(tp, th_ack, tiwin, flags);
	tcp_output(tp);
}

void
tcp_input_ack(struct socket *so, tcp_seq th_ack, uint32_t tiwin, int flags)
{

	SOCKBUF_LOCK(&so->so_snd);
	tcp_input_ack_locked(sototcpcb(so), th_ack, tiwin, flags);
	SOCKBUF_UNLOCK(&so->so_snd);
}

/* tcp_output(): the ACKs that came during ip_output(), in order. */
void
tcp_ackq_drain(struct tcpcb *tp)
{
	struct tcp_ackq q[TCP_ACKQ_MAX];
	int i, n;

	n = tp->t_nackq;
	memcpy(q, tp->t_ackq, n * sizeof(q[0]));
	tp->t_nackq = 0;
	for (i = 0; i < n; i++)
		tcp_do_ack(tp, q[i].ack, q[i].win, q[i].flags);
}
