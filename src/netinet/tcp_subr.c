/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The control block's life and the send accounting.  Models
 * tcp_newtcpcb(), tcp_discardcb() and tcp_account_for_send() of
 * sys/netinet/tcp_subr.c, tcp_sendseqinit() of tcp_seq.h and the
 * statistics of tcp_var.h.
 */

#include "net/if_wire.h"
#include "netinet/tcp_var.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

struct tcpstat tcpstat;

void
tcpstat_foreach(void (*fn)(void *arg, const char *name, uint64_t value),
    void *arg)
{

#define TCPSTAT_VISIT(f) fn(arg, #f, counter_u64_fetch(tcpstat.f));
	TCPSTAT_FIELDS(TCPSTAT_VISIT)
#undef TCPSTAT_VISIT
}

/*
 * tcp_newtcpcb(): a closed connection with the initial timeout (no RTT
 * sample yet: rttvar such that srtt + 4 * rttvar is rexmit_initial).
 * SIM: t_maxseg is fixed at 1448 (1500-byte MTU, IPv4, timestamps) where
 * FreeBSD's tcp_mss() asks the route.
 */
struct tcpcb *
tcp_newtcpcb(struct socket *so)
{
	struct tcpcb *tp;

	tp = kmalloc(sizeof(*tp), M_WAITOK | M_ZERO);
	tp->t_socket = so;
	tp->t_inpcb.inp_socket = so;
	tp->t_inpcb.inp_vflag = INP_IPV4;
	tp->t_state = TCPS_CLOSED;
	tp->t_flags = TF_NODELAY;
	tp->t_maxseg = 1448;
	tp->t_rttmin = tcp_rexmit_min;
	tp->t_rttvar = tcp_rexmit_initial / 4;
	tp->t_rxtcur = tcp_rexmit_initial;
	tp->snd_cwnd = (uint32_t)TCP_MAXWIN << TCP_MAX_WINSHIFT;
	tp->snd_ssthresh = (uint32_t)TCP_MAXWIN << TCP_MAX_WINSHIFT;
	return (tp);
}

/*
 * SIM: the three-way handshake is not modelled.  The connection starts
 * ESTABLISHED with its SYN acknowledged (tcp_sendseqinit(): every send
 * sequence variable at iss + 1), the peer's window wnd as its SYN-ACK
 * announced, and the initial window of RFC 6928 (tcp_compute_initwnd():
 * ten segments, at most max(2 segments, 14600 bytes)).
 */
void
tcp_connect_sim(struct tcpcb *tp, struct nhop_object *nh, uint32_t wnd)
{
	struct inpcb *inp = tptoinpcb(tp);
	uint32_t mss;

	SOCKBUF_LOCK_ASSERT(&tp->t_socket->so_snd);
	inp->inp_route.ro_nh = nh;
	/* SIM: fixed addresses, those the trace's pcapng flows use. */
	inp->inp_laddr.s_addr = htonl(0x0a000002);
	inp->inp_faddr.s_addr = htonl(0x0a000001);
	inp->inp_lport = htons(443);
	inp->inp_fport = htons(40000);
	tp->iss = TCP_SIM_ISS;
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->iss + 1;
	tp->snd_recover = tp->snd_wl2 = tp->iss + 1;
	tp->snd_wnd = tp->max_sndwnd = wnd;
	mss = tp->t_maxseg;
	tp->snd_cwnd = min(10 * mss, max(2 * mss, 14600));
	tp->t_state = TCPS_ESTABLISHED;
}

/* tcp_discardcb(): the socket is freed; its timers hold no reference. */
void
tcp_discardcb(struct tcpcb *tp)
{

	KASSERT(tp->t_timers.tc_owner == 0,
	    ("tcp_discardcb: timer task %ju pending",
		(uintmax_t)tp->t_timers.tc_owner));
	if (tp->t_wire != NULL)
		if_wire_free(tp->t_wire);
	kfree(tp);
}

/*
 * tcp_account_for_send(): t_sndbytes counts first transmissions,
 * t_snd_rxt_bytes retransmissions; together they are everything sent.
 * KTLS reads their ratio: with NIC TLS a connection that retransmits too
 * much goes back to software (ktls_disable_ifnet()).
 */
void
tcp_account_for_send(struct tcpcb *tp, uint32_t len, bool is_rxt, bool is_tlp,
    bool hw_tls)
{

	(void)is_tlp;
	if (is_rxt)
		tp->t_snd_rxt_bytes += len;
	else
		tp->t_sndbytes += len;
	/*
	 * NIC TLS: an interface that encrypts inline has to fetch a record's
	 * start again for every retransmission, so a connection that resends
	 * more than kern.ipc.tls.ifnet_max_rexmit_pct percent of what it sent
	 * goes back to software, once (ktls_disable_ifnet()).
	 */
	if (hw_tls && is_rxt && len != 0 &&
	    (1000 * tp->t_snd_rxt_bytes) /
		    (10 * (tp->t_snd_rxt_bytes + tp->t_sndbytes)) >
		ktls_ifnet_max_rexmit_pct)
		ktls_disable_ifnet(tp);
}
