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
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

/*
 * ip_output_send(): the last step before the interface.  A packet whose
 * data (m->m_next) is a record that still has its session (an IFNET
 * record: software records drop m_epg_tls once encrypted) must leave
 * with that session's send tag: the packet takes a tag reference
 * (m_pkthdr.snd_tag, CSUM_SND_TAG) for as long as it lives.  No tag (a
 * reset is under way) or a tag on another interface than the route's
 * (the route moved): the packet is freed and ktls_output_eagain() posts a
 * reset and turns EAGAIN into ENOBUFS, so TCP sends again later.  So an
 * unencrypted record never reaches an interface that holds no tag of its
 * session.  SIM: FreeBSD finds the interface mismatch in the link layer
 * (ether_output() and lagg answer EAGAIN); here it is checked before the
 * interface, with the same outcome.
 */
static int
ip_output_send(struct inpcb *inp, struct ifnet *ifp, struct mbuf *m)
{
	struct ktls_session *tls;
	struct m_snd_tag *mst;
	struct mbuf *d;
	int error;

	tls = NULL;
	d = m->m_next;
	if (d != NULL && (d->m_flags & M_EXTPG) != 0 && d->m_epg_tls != NULL) {
		tls = ktls_hold(d->m_epg_tls);
		mst = tls->snd_tag;
		if (mst == NULL || mst->ifp != ifp) {
			m_freem(m);
			error = EAGAIN;
			goto done;
		}
		m->m_pkthdr.snd_tag = m_snd_tag_ref(mst);
		m->m_pkthdr.csum_flags |= CSUM_SND_TAG;
	}
	error = ifp->if_transmit(ifp, m);
done:
	if (tls != NULL) {
		if (error == EAGAIN)
			error = ktls_output_eagain(inp, tls);
		ktls_free(tls);
	}
	return (error);
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
