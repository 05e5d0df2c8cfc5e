/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Next hops and the route a connection caches.  Models struct nhop_object
 * of sys/net/route/nhop.h and struct route of sys/net/route.h (SIM: the
 * host's <net/route.h> owns that name, so it lives here).
 */

#ifndef _NET_ROUTE_NHOP_H_
#define _NET_ROUTE_NHOP_H_

#include "sys/kern_compat.h"

struct ifnet;

/*
 * A next hop: the interface packets to the peer leave by.  SIM: no
 * gateway, no address; the owner keeps it (and its ifnet) alive while
 * any connection routes through it.
 */
struct nhop_object {
	struct ifnet *nh_ifp;
	uint16_t nh_mtu;
};

/*
 * The route an inpcb caches (inp_route).  ro_nh is read and changed under
 * the inpcb lock (SIM: the socket lock); changing it is how a test or
 * sim_server moves a connection to another interface.
 */
struct route {
	struct nhop_object *ro_nh;
};

#endif /* !_NET_ROUTE_NHOP_H_ */
