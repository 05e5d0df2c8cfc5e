/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The Internet protocol control block, reduced to what the transmit path
 * reads: addresses, ports, the cached route.  Models sys/netinet/in_pcb.h.
 */

#ifndef _NETINET_IN_PCB_H_
#define _NETINET_IN_PCB_H_

#include <netinet/in.h>

#include "net/route/nhop.h"
#include "sys/kern_compat.h"

struct socket;

/* inp_vflag */
#define INP_IPV4 0x1
#define INP_IPV6 0x2

/*
 * SIM: the inpcb lock is the socket lock (one mutex per socket), so
 * INP_WLOCK_ASSERT() is SOCKBUF_LOCK_ASSERT() on the send buffer.
 */
struct inpcb {
	struct socket *inp_socket;
	struct route inp_route;
	u_char inp_vflag;
	struct in_addr inp_laddr, inp_faddr;
	uint16_t inp_lport, inp_fport; /* network byte order */
};

#endif /* !_NETINET_IN_PCB_H_ */
