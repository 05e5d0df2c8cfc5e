/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * UDP, reduced to its socket-option entry point and the send buffer a
 * new socket reserves.  Models sys/netinet/udp_var.h.
 */

#ifndef _NETINET_UDP_VAR_H_
#define _NETINET_UDP_VAR_H_

#include <sys/types.h>

struct socket;
struct sockopt;

int udp_ctloutput(struct socket *so, struct sockopt *sopt);

/*
 * net.inet.udp.maxdgram: the send buffer udp_attach() reserves, 9216
 * bytes by default, which also bounds a datagram.
 */
extern u_long udp_sendspace;

#endif /* !_NETINET_UDP_VAR_H_ */
