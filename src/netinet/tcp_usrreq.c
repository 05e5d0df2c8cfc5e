/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * TCP user requests: send, ready, drop and the KTLS socket options.
 * Models tcp_usr_send(), tcp_usr_ready() and tcp_ctloutput() with the KTLS
 * cases of tcp_default_ctloutput() from sys/netinet/tcp_usrreq.c.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include "netinet/ip_var.h"
#include "netinet/tcp_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

/*
 * tcp_usr_send(): append to the send buffer; ready data goes out now.  A
 * not-ready chain is left to the caller on error: a worker or a disk read
 * may still own it.
 */
int
tcp_usr_send(struct socket *so, int flags, struct mbuf *m)
{
	struct tcpcb *tp;

	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	if (tp->t_dropped) {
		SOCKBUF_UNLOCK(&so->so_snd);
		if ((flags & PRUS_NOTREADY) == 0)
			m_freem(m);
		return (ECONNRESET);
	}
	sbappendstream_locked(&so->so_snd, m, flags);
	if ((flags & PRUS_NOTREADY) == 0)
		tcp_output(tp);
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

/*
 * tcp_usr_send() with sendmsg(2) control data: TCP carries none, so once
 * the connection is known not to be dropped a non-empty control message
 * is EINVAL and the data goes nowhere.  As above, a not-ready chain stays
 * with the caller.
 */
int
tcp_usr_send_control(struct socket *so, int flags, struct mbuf *m,
    socklen_t clen)
{
	int error;

	if (clen == 0)
		return (tcp_usr_send(so, flags, m));
	SOCKBUF_LOCK(&so->so_snd);
	error = sototcpcb(so)->t_dropped ? ECONNRESET : EINVAL;
	SOCKBUF_UNLOCK(&so->so_snd);
	if ((flags & PRUS_NOTREADY) == 0)
		m_freem(m);
	return (error);
}

/*
 * tcp_usr_ready(): 'count' units of not-ready data completed.  On a
 * dropped connection the data can never be sent: free it.
 */
int
tcp_usr_ready(struct socket *so, struct mbuf *m, int count)
{
	struct tcpcb *tp;
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	if (tp->t_dropped) {
		SOCKBUF_UNLOCK(&so->so_snd);
		mb_free_notready(m, count);
		return (ECONNRESET);
	}
	error = sbready(&so->so_snd, m, count);
	if (error == 0)
		tcp_output(tp);
	SOCKBUF_UNLOCK(&so->so_snd);
	return (error);
}

/*
 * tcp_drop(): the connection is gone.  Ready data is freed now; not-ready
 * data is freed by whoever completes it (tcp_usr_ready()); the timers
 * stop.  SIM: FreeBSD's tcp_drop() (tcp_subr.c) also sends a RST and
 * closes the tcpcb; here the connection is only marked dropped and its
 * writers are woken.
 */
void
tcp_drop(struct tcpcb *tp, int error)
{
	struct socket *so = tp->t_socket;

	SOCKBUF_LOCK_ASSERT(&so->so_snd);
	if (tp->t_dropped)
		return;
	tp->t_dropped = true;
	tp->t_state = TCPS_CLOSED;
	tcp_timers_stop(tp);
	tp->t_nackq = 0;
	so->so_error = error;
	so->so_state &= ~SS_ISCONNECTED;
	so->so_state |= SS_ISDISCONNECTED;
	so->so_snd.sb_state |= SBS_CANTSENDMORE;
	sbflush_locked(&so->so_snd);
	so->so_snd.sb_flags |= SB_WAIT;
	sowwakeup_locked(so);
	so_close_done_locked(so);
}

static int
tcp_txtls_enable(struct socket *so, struct sockopt *sopt)
{
	struct tls_enable tls;
	int error;

	error = ktls_copyin_tls_enable(sopt, &tls);
	if (error != 0)
		return (error);
	error = ktls_enable_tx(so, &tls);
	ktls_cleanup_tls_enable(&tls);
	return (error);
}

int
tcp_ctloutput(struct socket *so, struct sockopt *sopt)
{
	struct tcpcb *tp;
	int error, optval;

	tp = sototcpcb(so);
	if (tp->t_dropped)
		return (ECONNRESET);
	/* tcp_ctloutput_set() and tcp_ctloutput_get(). */
	if (sopt->sopt_level != IPPROTO_TCP)
		return (ip_ctloutput(so, sopt));
	if (sopt->sopt_dir == SOPT_SET) {
		switch (sopt->sopt_name) {
		case TCP_TXTLS_ENABLE:
			return (tcp_txtls_enable(so, sopt));
		case TCP_TXTLS_MODE:
			error = sooptcopyin(sopt, &optval, sizeof(optval),
			    sizeof(optval));
			if (error != 0)
				return (error);
			return (ktls_set_tx_mode(so, optval));
		case TCP_RXTLS_ENABLE:
			/* SIM: the receive path is not modelled. */
			return (ENOPROTOOPT);
		default:
			return (ENOPROTOOPT);
		}
	}
	switch (sopt->sopt_name) {
	case TCP_TXTLS_MODE:
		error = ktls_get_tx_mode(so, &optval);
		if (error != 0)
			return (error);
		return (sooptcopyout(sopt, &optval, sizeof(optval)));
	case TCP_RXTLS_MODE:
		error = ktls_get_rx_mode(so, &optval);
		if (error != 0)
			return (error);
		return (sooptcopyout(sopt, &optval, sizeof(optval)));
	default:
		return (ENOPROTOOPT);
	}
}
