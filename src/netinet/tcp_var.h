/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The TCP control block, reduced to what the transmit stub needs.  Models
 * sys/netinet/tcp_var.h.
 */

#ifndef _NETINET_TCP_VAR_H_
#define _NETINET_TCP_VAR_H_

#include "sys/kern_compat.h"
#include "sys/socketvar.h"

struct mbuf;
struct sockopt;

struct tcpcb {
	struct socket *t_socket;
	bool t_dropped; /* TF_DISCONNECTED in FreeBSD main */
	bool t_fin_sent;
	int t_nic_ktls_xmit;
	int t_nic_ktls_xmit_dis;
	uint64_t t_snd_nxt; /* stream offset of the next byte to send */
	u_int t_maxseg;
};

int tcp_usr_send(struct socket *so, int flags, struct mbuf *m);
int tcp_usr_send_control(struct socket *so, int flags, struct mbuf *m,
    socklen_t clen);
int tcp_usr_ready(struct socket *so, struct mbuf *m, int count);
int tcp_ctloutput(struct socket *so, struct sockopt *sopt);
void tcp_output(struct tcpcb *tp);
void tcp_drop(struct tcpcb *tp, int error);

static inline struct tcpcb *
sototcpcb(struct socket *so)
{

	return (so->so_pcb);
}

#endif /* !_NETINET_TCP_VAR_H_ */
