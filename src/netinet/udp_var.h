/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * UDP, reduced to its socket-option entry point.  Models
 * sys/netinet/udp_var.h.
 */

#ifndef _NETINET_UDP_VAR_H_
#define _NETINET_UDP_VAR_H_

struct socket;
struct sockopt;

int udp_ctloutput(struct socket *so, struct sockopt *sopt);

#endif /* !_NETINET_UDP_VAR_H_ */
