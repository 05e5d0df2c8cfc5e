/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * IP output and socket options.  Models ip_output() and ip_output_send()
 * of sys/netinet/ip_output.c, reduced to handing a TCP segment to the
 * interface of the route the connection caches, and the dispatch of
 * ip_ctloutput(), which TCP and UDP hand every option that is not at
 * their own level.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include "net/if_var.h"
#include "net/route/nhop.h"
#include "netinet/in_pcb.h"
#include "netinet/ip_var.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

/*
 * ip_output_send(): the last step before the interface.  This is where
 * FreeBSD attaches a send tag: a packet whose data (m->m_next) is a TLS
 * record with a session (mbuf_has_tls_session()) takes a reference on
 * the session and its snd_tag; without a tag the packet is dropped with
 * EAGAIN; a tag whose ifp is not this interface (the route moved) drops
 * it with EAGAIN too, and ktls_output_eagain() then asks for a new tag;
 * otherwise the tag is stamped (m_pkthdr.snd_tag = m_snd_tag_ref(),
 * CSUM_SND_TAG).  SIM: not done yet; the NIC TLS step fills it in here.
 */
static int
ip_output_send(struct inpcb *inp, struct ifnet *ifp, struct mbuf *m)
{

	(void)inp;
	/* KTLS send tag: check and stamp here (see above). */
	return (ifp->if_transmit(ifp, m));
}

int
ip_output(struct mbuf *m, struct inpcb *inp)
{
	struct nhop_object *nh;

	SOCKBUF_LOCK_ASSERT(&inp->inp_socket->so_snd);
	nh = inp->inp_route.ro_nh;
	if (nh == NULL) {
		m_freem(m);
		return (EHOSTUNREACH);
	}
	return (ip_output_send(inp, nh->nh_ifp, m));
}

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
