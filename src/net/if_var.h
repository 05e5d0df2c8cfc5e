/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Network interfaces and send tags, reduced to the transmit side that
 * TCP and KTLS use.  Models sys/net/if_var.h, with the capability bits of
 * sys/net/if.h (SIM: the host's <net/if.h> owns that name, so they live
 * here).
 */

#ifndef _NET_IF_VAR_H_
#define _NET_IF_VAR_H_

#include "sys/kern_compat.h"

struct inpcb;
struct ktls_session;
struct m_snd_tag;
struct mbuf;

#ifndef IFNAMSIZ
#define IFNAMSIZ 16
#endif

/* if_capabilities / if_capenable: FreeBSD's values (sys/net/if.h). */
#define IFCAP_TSO4 0x00100	/* TCP segmentation offload over IPv4 */
#define IFCAP_MEXTPG 0x04000000 /* takes unmapped (M_EXTPG) mbufs */
#define IFCAP_TXTLS4 0x08000000 /* TLS offload over IPv4 */
#define IFCAP_TXTLS6 0x10000000 /* TLS offload over IPv6 */
#define IFCAP_TXTLS (IFCAP_TXTLS4 | IFCAP_TXTLS6)

/* Send tag types (if_snd_tag_alloc_header.type). */
#define IF_SND_TAG_TYPE_RATE_LIMIT 0
#define IF_SND_TAG_TYPE_UNLIMITED 1
#define IF_SND_TAG_TYPE_TLS 2
#define IF_SND_TAG_TYPE_TLS_RATE_LIMIT 3
#define IF_SND_TAG_TYPE_TLS_RX 4
#define IF_SND_TAG_TYPE_MAX 5

struct if_snd_tag_alloc_header {
	uint32_t type; /* IF_SND_TAG_TYPE_* */
	uint32_t flowid;
	uint8_t flowtype;
	uint8_t numa_domain;
};

struct if_snd_tag_alloc_tls {
	struct if_snd_tag_alloc_header hdr;
	struct inpcb *inp;
	const struct ktls_session *tls;
};

union if_snd_tag_alloc_params {
	struct if_snd_tag_alloc_header hdr;
	struct if_snd_tag_alloc_tls tls;
};

typedef void if_snd_tag_free_t(struct m_snd_tag *mst);

/* A driver's methods for its tags (if_snd_tag_sw in FreeBSD main). */
struct if_snd_tag_sw {
	if_snd_tag_free_t *snd_tag_free;
	u_int type;
};

/*
 * A send tag: the driver's per-flow state on one interface (for KTLS the
 * NIC's copy of the session).  It holds a reference on its ifnet; a
 * packet that carries it holds a tag reference (m_pkthdr.snd_tag with
 * CSUM_SND_TAG), which m_free() drops.
 */
struct m_snd_tag {
	struct ifnet *ifp;
	const struct if_snd_tag_sw *sw;
	volatile u_int refcount;
};

struct ifnet;
typedef int if_transmit_fn_t(struct ifnet *ifp, struct mbuf *m);
typedef int if_snd_tag_alloc_t(struct ifnet *ifp,
    union if_snd_tag_alloc_params *params, struct m_snd_tag **mstp);

/*
 * An interface.  if_transmit takes the packet in every case: 0 when it
 * was queued or sent, ENOBUFS when the interface had no room (the packet
 * is freed; TCP sends it again later, see tcp_output()), another errno
 * when it failed.  It is called with the socket lock held (SIM: FreeBSD
 * holds the inpcb lock across ip_output() too).
 */
struct ifnet {
	void *if_softc;
	char if_xname[IFNAMSIZ];
	int if_capabilities; /* IFCAP_* the hardware has */
	int if_capenable;    /* IFCAP_* turned on */
	u_int if_mtu;
	/*
	 * TSO limits (sys/net/if_var.h): the largest packet, headers
	 * included, the interface segments, and how many mbufs of at most
	 * what size it takes (0: no limit).  Read only with IFCAP_TSO4.
	 */
	u_int if_hw_tsomax;
	u_int if_hw_tsomaxsegcount;
	u_int if_hw_tsomaxsegsize;
	if_transmit_fn_t *if_transmit;
	if_snd_tag_alloc_t *if_snd_tag_alloc; /* NULL: no send tags */
	/*
	 * SIM: if_ref()/if_rele() only count; the owner of an ifnet frees it
	 * once nothing (route, send tag) refers to it.
	 */
	volatile u_int if_refcount;
	/*
	 * SIM: the interface calls tcp_output_kick() when it has room again
	 * (the byte wire), so its ENOBUFS needs no retransmission timer.
	 */
	bool if_kicks;
	/* Output counters (if_data). */
	uint64_t if_opackets;
	uint64_t if_obytes;
	uint64_t if_oqdrops;
};

static inline void
if_ref(struct ifnet *ifp)
{

	refcount_acquire(&ifp->if_refcount);
}

static inline void
if_rele(struct ifnet *ifp)
{

	(void)refcount_release(&ifp->if_refcount);
}

void m_snd_tag_init(struct m_snd_tag *mst, struct ifnet *ifp,
    const struct if_snd_tag_sw *sw);
void m_snd_tag_destroy(struct m_snd_tag *mst);

static inline struct m_snd_tag *
m_snd_tag_ref(struct m_snd_tag *mst)
{

	refcount_acquire(&mst->refcount);
	return (mst);
}

static inline void
m_snd_tag_rele(struct m_snd_tag *mst)
{

	if (refcount_release(&mst->refcount))
		m_snd_tag_destroy(mst);
}

/* m_snd_tag_alloc() of sys/net/if.c: EOPNOTSUPP without the method. */
static inline int
m_snd_tag_alloc(struct ifnet *ifp, union if_snd_tag_alloc_params *params,
    struct m_snd_tag **mstp)
{

	if (ifp->if_snd_tag_alloc == NULL)
		return (EOPNOTSUPP);
	return (ifp->if_snd_tag_alloc(ifp, params, mstp));
}

#endif /* !_NET_IF_VAR_H_ */
