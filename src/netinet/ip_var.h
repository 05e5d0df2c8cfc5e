/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The IP layer, reduced to its socket-option entry point.  Models
 * sys/netinet/ip_var.h.
 */

#ifndef _NETINET_IP_VAR_H_
#define _NETINET_IP_VAR_H_

struct socket;
struct sockopt;

int ip_ctloutput(struct socket *so, struct sockopt *sopt);

#endif /* !_NETINET_IP_VAR_H_ */
