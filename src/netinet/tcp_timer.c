/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The retransmission and persist timers.  Models tcp_timer_rexmt(),
 * tcp_timer_persist(), tcp_timer_activate() and tcp_setpersist() of
 * sys/netinet/tcp_timer.c and tcp_output.c, on the platform's tasks
 * (sys/platform.h) instead of callout(9).
 */

#include "netinet/tcp_var.h"
#include "sys/platform.h"
#include "sys/socketvar.h"

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)

/* net.inet.tcp.rexmit_initial, rexmit_min, rexmit_slop; persmin, persmax */
uint64_t tcp_rexmit_initial = 1 * NS_PER_S; /* TCPTV_RTOBASE */
uint64_t tcp_rexmit_min = 30 * NS_PER_MS;   /* TCPTV_MIN */
uint64_t tcp_rexmit_slop = 200 * NS_PER_MS; /* TCPTV_CPU_VAR */
uint64_t tcp_persmin = 5 * NS_PER_S;	    /* TCPTV_PERSMIN */
uint64_t tcp_persmax = 60 * NS_PER_S;	    /* TCPTV_PERSMAX */

const int tcp_backoff[TCP_MAXRXTSHIFT + 1] = { 1, 2, 4, 8, 16, 32, 64, 64, 64,
	64, 64, 64, 64 };

/*
 * TCPT_RANGESET(): the value plus the slop allowed for a busy receiver,
 * kept within [tvmin, tvmax].
 */
uint64_t
tcp_rangeset(uint64_t value, uint64_t tvmin, uint64_t tvmax)
{
	uint64_t tv;

	tv = value + tcp_rexmit_slop;
	if (tv < tvmin)
		tv = tvmin;
	else if (tv > tvmax)
		tv = tvmax;
	return (tv);
}

/* TCP_REXMTVAL(): srtt + 4 * rttvar, at least t_rttmin (RFC 6298 2.3). */
uint64_t
tcp_rexmtval(struct tcpcb *tp)
{

	return (max(tp->t_rttmin, tp->t_srtt + 4 * tp->t_rttvar));
}

struct tcp_timer_task {
	struct socket *so;
	uint64_t gen;
};

static void tcp_timer_run(void *arg);

/*
 * Post the task that will look at the deadline.  It holds a socket
 * reference, so the socket outlives it whatever happens meanwhile.
 */
static void
tcp_timer_post(struct tcpcb *tp, uint64_t now, uint64_t due)
{
	struct tcp_callout *tc = &tp->t_timers;
	struct tcp_timer_task *tt;

	tt = kmalloc(sizeof(*tt), M_WAITOK);
	tt->so = tp->t_socket;
	tt->gen = ++tc->tc_gen;
	tc->tc_owner = tt->gen;
	tc->tc_owner_due = due;
	soref(tt->so);
	platform->pl_task_post(platform, due - now, tcp_timer_run, tt);
}

/*
 * tcp_timer_activate(): start (or restart) timer which to fire delta
 * nanoseconds from now; delta 0 stops it.  A task already posted for no
 * later than the new deadline will do; otherwise a new one is posted and
 * the old one becomes stale.
 */
void
tcp_timer_activate(struct tcpcb *tp, int which, uint64_t delta)
{
	struct tcp_callout *tc = &tp->t_timers;
	uint64_t now;

	SOCKBUF_LOCK_ASSERT(&tp->t_socket->so_snd);
	if (delta == 0) {
		if (tc->tc_which == which)
			tc->tc_which = 0;
		return;
	}
	KASSERT(tc->tc_which == 0 || tc->tc_which == which,
	    ("tcp_timer_activate: timer %d while %d is active", which,
		tc->tc_which));
	now = sim_now();
	tc->tc_which = which;
	tc->tc_deadline = now + delta;
	if (tc->tc_owner == 0 || tc->tc_owner_due > tc->tc_deadline)
		tcp_timer_post(tp, now, tc->tc_deadline);
}

bool
tcp_timer_active(struct tcpcb *tp, int which)
{

	return (tp->t_timers.tc_which == which);
}

void
tcp_timers_stop(struct tcpcb *tp)
{

	tp->t_timers.tc_which = 0;
}

/*
 * tcp_setpersist(): probe a closed window after a backed-off interval
 * within [persmin, persmax].  SIM: the base is srtt + 2 * rttvar, which is
 * what FreeBSD's fixed-point ((t_srtt >> 2) + t_rttvar) >> 1 works out to.
 */
void
tcp_setpersist(struct tcpcb *tp)
{
	uint64_t t;

	KASSERT(!tcp_timer_active(tp, TT_REXMT),
	    ("tcp_setpersist: retransmit pending"));
	t = tp->t_srtt_valid ? tp->t_srtt + 2 * tp->t_rttvar :
			       tcp_rexmit_initial;
	tcp_timer_activate(tp, TT_PERSIST,
	    tcp_rangeset(t * tcp_backoff[tp->t_rxtshift], tcp_persmin,
		tcp_persmax));
	if (tp->t_rxtshift < TCP_MAXRXTSHIFT)
		tp->t_rxtshift++;
}

/*
 * tcp_timer_rexmt(): nothing was acknowledged for t_rxtcur.  Back off,
 * give up after TCP_MAXRXTSHIFT tries, else forget the RTT sample in
 * progress (Karn), signal the loss to congestion control (cwnd to one
 * segment) and go back to snd_una (RFC 6298 5.4-5.6).
 */
static void
tcp_timer_rexmt(struct tcpcb *tp)
{

	if (++tp->t_rxtshift > TCP_MAXRXTSHIFT) {
		tp->t_rxtshift = TCP_MAXRXTSHIFT;
		TCPSTAT_INC(tcps_timeoutdrop);
		tcp_drop(tp, ETIMEDOUT);
		return;
	}
	TCPSTAT_INC(tcps_rexmttimeo);
	tp->t_rxtcur =
	    tcp_rangeset(tcp_rexmtval(tp) * tcp_backoff[tp->t_rxtshift],
		tp->t_rttmin, TCPTV_REXMTMAX);
	tp->snd_nxt = tp->snd_una;
	tp->snd_recover = tp->snd_max;
	tp->t_rtttimed = false;
	cc_cong_signal(tp, CC_RTO);
	tcp_output(tp);
}

/*
 * tcp_timer_persist(): the window is still closed; send one byte past it
 * (TF_FORCEDATA) and re-arm with backoff.
 */
static void
tcp_timer_persist(struct tcpcb *tp)
{

	TCPSTAT_INC(tcps_persisttimeo);
	tcp_setpersist(tp);
	tp->t_flags |= TF_FORCEDATA;
	tcp_output(tp);
	tp->t_flags &= ~TF_FORCEDATA;
}

/*
 * A timer task runs.  Only the owner looks at the deadline: it fires the
 * timer if the deadline passed, else waits on for it.
 */
static void
tcp_timer_run(void *arg)
{
	struct tcp_timer_task *tt = arg;
	struct socket *so = tt->so;
	struct tcp_callout *tc;
	struct tcpcb *tp;
	uint64_t now;
	int which;

	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	tc = &tp->t_timers;
	if (tt->gen == tc->tc_owner) {
		tc->tc_owner = 0;
		now = sim_now();
		if (tc->tc_which != 0 && !tp->t_dropped) {
			if (now >= tc->tc_deadline) {
				which = tc->tc_which;
				tc->tc_which = 0;
				if (which == TT_REXMT)
					tcp_timer_rexmt(tp);
				else
					tcp_timer_persist(tp);
			} else
				tcp_timer_post(tp, now, tc->tc_deadline);
		}
	}
	SOCKBUF_UNLOCK(&so->so_snd);
	sorele(so);
	kfree(tt);
}
