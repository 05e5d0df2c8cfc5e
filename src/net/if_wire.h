/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: the byte wire as an interface.  FreeBSD has nothing like it: it
 * stands for the interface, the path and the peer's TCP together, so that
 * a struct tcp_wire (sys/socketvar.h) keeps working under the real TCP.
 */

#ifndef _NET_IF_WIRE_H_
#define _NET_IF_WIRE_H_

struct if_wire;
struct nhop_object;
struct tcp_wire;
struct tcpcb;

/*
 * The peer's window as the byte wire announces it: never the limit
 * (TCP_MAXWIN << TCP_MAX_WINSHIFT).
 */
#define IF_WIRE_WND ((uint32_t)65535 << 14)

/* An interface and route for tp's connection whose output goes to tw. */
struct if_wire *if_wire_alloc(struct tcpcb *tp, const struct tcp_wire *tw);
struct nhop_object *if_wire_nhop(struct if_wire *iw);
void if_wire_free(struct if_wire *iw);

#endif /* !_NET_IF_WIRE_H_ */
