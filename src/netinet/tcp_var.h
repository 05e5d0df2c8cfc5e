/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The TCP control block and statistics, reduced to a sender: the send
 * sequence space, retransmission and persist timers, the RTT estimate,
 * NewReno congestion control and the accounting KTLS reads.  Models
 * sys/netinet/tcp_var.h (with tcp_fsm.h's states and tcp_timer.h's
 * timers); docs/architecture.md describes the transmit path.
 */

#ifndef _NETINET_TCP_VAR_H_
#define _NETINET_TCP_VAR_H_

#include "netinet/in_pcb.h"
#include "netinet/tcp_seq.h"
#include "sys/kern_compat.h"
#include "sys/socketvar.h"

struct if_wire;
struct mbuf;
struct nhop_object;
struct sockopt;

/*
 * t_state (sys/netinet/tcp_fsm.h), the sender's part.  SIM: no handshake
 * and no receive side, so a connection starts ESTABLISHED and its close
 * ends in FIN_WAIT_2 once the FIN is acknowledged.
 */
#define TCPS_CLOSED 0
#define TCPS_ESTABLISHED 4
#define TCPS_FIN_WAIT_1 6
#define TCPS_FIN_WAIT_2 9

/* t_flags (FreeBSD's names). */
#define TF_NODELAY 0x00000004	   /* SIM: always; no Nagle */
#define TF_SENTFIN 0x00000010	   /* the FIN went out */
#define TF_FASTRECOVERY 0x00100000 /* NewReno fast recovery */
#define TF_FORCEDATA 0x00800000	   /* persist: send a byte past the window */

#define IN_FASTRECOVERY(t_flags) (((t_flags)&TF_FASTRECOVERY) != 0)

/* Timers (sys/netinet/tcp_timer.h). */
#define TT_REXMT 1
#define TT_PERSIST 2

/*
 * SIM: the one callout behind TT_REXMT and TT_PERSIST (FreeBSD keeps one
 * callout per timer; these two are never active together).  The platform
 * cannot cancel a posted task, so a timer is a deadline plus at most one
 * task that owns it; a stopped or moved timer leaves its task to find
 * that out when it runs (tcp_timer.c).
 */
struct tcp_callout {
	int tc_which;	       /* TT_REXMT, TT_PERSIST, 0 when stopped */
	uint64_t tc_deadline;  /* platform time it fires at */
	uint64_t tc_gen;       /* tasks posted so far */
	uint64_t tc_owner;     /* the task that will look, 0 none */
	uint64_t tc_owner_due; /* when that task runs */
};

/*
 * An ACK that arrived while ip_output() ran (tcp_input_ack_locked()):
 * processed once ip_output() returns, as FreeBSD would take it from the
 * netisr later.
 */
#define TCP_ACKQ_MAX 8
struct tcp_ackq {
	tcp_seq ack;
	uint32_t win;
	int flags;
};

struct tcpcb {
	struct inpcb t_inpcb; /* first, as in FreeBSD main */
	struct socket *t_socket;
	int t_state;
	u_int t_flags;
	bool t_dropped; /* TF_DISCONNECTED in FreeBSD main */
	int t_nic_ktls_xmit;
	int t_nic_ktls_xmit_dis;
	u_int t_maxseg;

	/* Send sequence space (RFC 9293 section 3.3.1). */
	tcp_seq iss;
	tcp_seq snd_una;     /* oldest unacknowledged */
	tcp_seq snd_nxt;     /* next to send */
	tcp_seq snd_max;     /* highest sent + 1 */
	tcp_seq snd_recover; /* NewReno: snd_max when recovery began */
	tcp_seq snd_wl2;     /* ACK of the last window update */
	uint32_t snd_wnd;    /* the peer's window */
	uint32_t max_sndwnd;
	uint32_t snd_cwnd;
	uint32_t snd_ssthresh;
	uint32_t t_bytes_acked; /* congestion avoidance (RFC 3465) */
	int t_dupacks;
	int t_rxtshift; /* retransmissions (backoff index) */

	/* RTT estimate and timeouts, in platform nanoseconds. */
	uint64_t t_rxtcur; /* current retransmission timeout */
	uint64_t t_srtt;
	uint64_t t_rttvar;
	uint64_t t_rttmin;
	bool t_srtt_valid; /* SIM: FreeBSD tests t_srtt != 0 */
	bool t_rtttimed;   /* a segment is being timed */
	uint64_t t_rtttime;
	tcp_seq t_rtseq;

	/* SIM: the stream offset of snd_una (data bytes only). */
	uint64_t t_stream_una;

	struct tcp_callout t_timers;
	struct tcp_ackq t_ackq[TCP_ACKQ_MAX];
	int t_nackq;
	bool t_in_ipoutput;

	/* tcp_account_for_send(): per connection, as in FreeBSD. */
	uint64_t t_sndbytes;	  /* first transmissions */
	uint64_t t_snd_rxt_bytes; /* retransmissions */
	uint32_t t_sndrexmitpack;

	struct if_wire *t_wire; /* SIM: the byte wire ksim_connect() made */
};

/*
 * net.inet.tcp.stats: FreeBSD's tcpstat names.  tcps_sndbyte and
 * tcps_sndpack count first transmissions only; retransmitted data is in
 * tcps_sndrexmit*; tcps_sndtotal counts every segment.
 */
#define TCPSTAT_FIELDS(X)     \
	X(tcps_sndtotal)      \
	X(tcps_sndpack)       \
	X(tcps_sndbyte)       \
	X(tcps_sndrexmitpack) \
	X(tcps_sndrexmitbyte) \
	X(tcps_sndprobe)      \
	X(tcps_sndctrl)       \
	X(tcps_rcvackpack)    \
	X(tcps_rcvackbyte)    \
	X(tcps_rcvdupack)     \
	X(tcps_rcvacktoomuch) \
	X(tcps_rcvwinupd)     \
	X(tcps_rexmttimeo)    \
	X(tcps_timeoutdrop)   \
	X(tcps_persisttimeo)  \
	X(tcps_rttupdated)    \
	X(tcps_segstimed)     \
	X(tcps_sndenobufs)

struct tcpstat {
#define TCPSTAT_FIELD(f) uint64_t f;
	TCPSTAT_FIELDS(TCPSTAT_FIELD)
#undef TCPSTAT_FIELD
};
extern struct tcpstat tcpstat;
#define TCPSTAT_ADD(name, val) counter_u64_add(tcpstat.name, (val))
#define TCPSTAT_INC(name) TCPSTAT_ADD(name, 1)
void tcpstat_foreach(void (*fn)(void *arg, const char *name, uint64_t value),
    void *arg);

/*
 * Timer knobs (net.inet.tcp.rexmit_initial, rexmit_min, rexmit_slop and
 * persmin/persmax), in nanoseconds; FreeBSD's defaults.
 */
extern uint64_t tcp_rexmit_initial;
extern uint64_t tcp_rexmit_min;
extern uint64_t tcp_rexmit_slop;
extern uint64_t tcp_persmin;
extern uint64_t tcp_persmax;
#define TCPTV_REXMTMAX (64 * UINT64_C(1000000000))
#define TCP_MAXRXTSHIFT 12 /* retransmissions before the drop */
#define TCP_MAXWIN 65535
#define TCP_MAX_WINSHIFT 14
extern int tcprexmtthresh; /* duplicate ACKs that start a retransmit */

/*
 * Send-buffer knobs of sys/netinet/tcp_output.c, FreeBSD's names and
 * defaults: net.inet.tcp.sendspace (the buffer a new socket reserves,
 * 32 KiB), sendbuf_auto (automatic growth on), sendbuf_inc (its step,
 * 8 KiB), sendbuf_max (its ceiling, 2 MiB) and sendbuf_auto_lowat (count
 * SO_SNDLOWAT in the growth thresholds, off).  Read when used: a change
 * applies to existing connections too, as a sysctl does.
 */
extern int tcp_sendspace;
extern int tcp_do_autosndbuf;
extern int tcp_autosndbuf_inc;
extern int tcp_autosndbuf_max;
extern int tcp_sendbuf_auto_lowat;

/*
 * SIM: the initial sequence number.  FreeBSD's tcp_new_isn() is random;
 * the simulator's is fixed and close to 2^32 so that every connection
 * longer than 64 KiB wraps its sequence numbers.
 */
#define TCP_SIM_ISS 0xffff0000u

int tcp_usr_send(struct socket *so, int flags, struct mbuf *m);
int tcp_usr_send_control(struct socket *so, int flags, struct mbuf *m,
    socklen_t clen);
int tcp_usr_ready(struct socket *so, struct mbuf *m, int count);
int tcp_ctloutput(struct socket *so, struct sockopt *sopt);
void tcp_output(struct tcpcb *tp);
/* One growth step of the send buffer when it is the bottleneck. */
void tcp_sndbuf_autoscale(struct tcpcb *tp, struct socket *so,
    uint32_t sendwin);
void tcp_drop(struct tcpcb *tp, int error);
void tcp_account_for_send(struct tcpcb *tp, uint32_t len, bool is_rxt,
    bool is_tlp, bool hw_tls);

/*
 * ACKs from the peer: the sender's half of tcp_do_segment()
 * (sys/netinet/tcp_input.c).  th_ack is cumulative; tiwin the window the
 * peer offers (bytes, already scaled).  flags: TA_DUPACK when the
 * receiver reports that it got a segment out of order, which counts the
 * ACK as a duplicate even if its window changed (FreeBSD treats ACKs of a
 * SACK connection that way); without it FreeBSD's rule decides: same ACK,
 * same window, data outstanding.  tcp_input_ack() takes the socket lock;
 * tcp_input_ack_locked() is for callers that hold it, such as an ifnet
 * that acknowledges inside if_transmit.  Either may free acknowledged
 * data and send more.  The caller must hold a socket reference.
 */
#define TA_DUPACK 0x1
void tcp_input_ack(struct socket *so, tcp_seq th_ack, uint32_t tiwin,
    int flags);
void tcp_input_ack_locked(struct tcpcb *tp, tcp_seq th_ack, uint32_t tiwin,
    int flags);
/* tcp_output() after ip_output(): process the ACKs queued meanwhile. */
void tcp_ackq_drain(struct tcpcb *tp);

/* tcp_subr.c: the control block's life. */
struct tcpcb *tcp_newtcpcb(struct socket *so);
/* SIM: the connection is established to the peer behind nh. */
void tcp_connect_sim(struct tcpcb *tp, struct nhop_object *nh, uint32_t wnd);
void tcp_discardcb(struct tcpcb *tp);

/* tcp_timer.c */
void tcp_timer_activate(struct tcpcb *tp, int which, uint64_t delta);
bool tcp_timer_active(struct tcpcb *tp, int which);
void tcp_timers_stop(struct tcpcb *tp);
void tcp_setpersist(struct tcpcb *tp);
uint64_t tcp_rexmtval(struct tcpcb *tp);
uint64_t tcp_rangeset(uint64_t value, uint64_t tvmin, uint64_t tvmax);
extern const int tcp_backoff[TCP_MAXRXTSHIFT + 1];

/*
 * tcp_input.c: congestion control, the cc_*() hooks of
 * sys/netinet/tcp_input.c with NewReno (sys/netinet/cc/cc_newreno.c).
 */
#define CC_NDUPACK 1
#define CC_RTO 2
void cc_ack_received(struct tcpcb *tp, uint32_t acked);
void cc_cong_signal(struct tcpcb *tp, int type);
void cc_post_recovery(struct tcpcb *tp, tcp_seq th_ack);

static inline struct tcpcb *
sototcpcb(struct socket *so)
{

	return (so->so_pcb);
}

static inline struct inpcb *
tptoinpcb(struct tcpcb *tp)
{

	return (&tp->t_inpcb);
}

static inline struct tcpcb *
intotcpcb(struct inpcb *inp)
{

	return ((struct tcpcb *)(void *)inp);
}

static inline struct inpcb *
sotoinpcb(struct socket *so)
{

	return (tptoinpcb(sototcpcb(so)));
}

/* SIM: the stream offset of the data byte at sequence number seq. */
static inline uint64_t
tcp_seq_stream_off(const struct tcpcb *tp, tcp_seq seq)
{

	return (
	    tp->t_stream_una + (uint64_t)(int64_t)(int32_t)(seq - tp->snd_una));
}

#endif /* !_NETINET_TCP_VAR_H_ */
