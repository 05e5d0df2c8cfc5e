/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * UDP socket options and send space.  Models udp_ctloutput() of
 * sys/netinet/udp_usrreq.c: a UDP socket's options at any level but
 * IPPROTO_UDP go to ip_ctloutput(), so the KTLS options (IPPROTO_TCP)
 * are EINVAL there, before their argument is even read; and
 * udp_sendspace, which udp_attach() reserves.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include "netinet/ip_var.h"
#include "netinet/udp_var.h"
#include "sys/socketvar.h"

u_long udp_sendspace = 9216;

int
udp_ctloutput(struct socket *so, struct sockopt *sopt)
{

	if (sopt->sopt_level != IPPROTO_UDP)
		return (ip_ctloutput(so, sopt));
	/* SIM: no UDP option (UDP_ENCAP) is modelled. */
	return (ENOPROTOOPT);
}
