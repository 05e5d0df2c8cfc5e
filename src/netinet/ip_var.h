/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The IP layer: socket options and output.  Models sys/netinet/ip_var.h.
 */

#ifndef _NETINET_IP_VAR_H_
#define _NETINET_IP_VAR_H_

struct inpcb;
struct mbuf;
struct socket;
struct sockopt;

int ip_ctloutput(struct socket *so, struct sockopt *sopt);
/*
 * Send the packet m (IPv4 and TCP headers filled in, in its first mbuf)
 * by the route the inpcb caches; m is consumed.  0, or the interface's
 * error (if_var.h: ENOBUFS means no room), or EHOSTUNREACH without a
 * route.  SIM: no options, multicast, fragmentation or firewall.
 */
int ip_output(struct mbuf *m, struct inpcb *inp);

#endif /* !_NETINET_IP_VAR_H_ */
