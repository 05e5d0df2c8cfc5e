/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * IP socket options.  Models the dispatch of ip_ctloutput() in
 * sys/netinet/ip_output.c, which TCP and UDP hand every option that is
 * not at their own level.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include "netinet/ip_var.h"
#include "sys/socketvar.h"

/*
 * ip_ctloutput(): a level other than IPPROTO_IP is EINVAL.  SIM: no IP
 * option is modelled, so every IPPROTO_IP option is unknown
 * (ENOPROTOOPT, FreeBSD's answer for an unknown one).
 */
int
ip_ctloutput(struct socket *so, struct sockopt *sopt)
{

	(void)so;
	if (sopt->sopt_level != IPPROTO_IP)
		return (EINVAL);
	return (ENOPROTOOPT);
}
