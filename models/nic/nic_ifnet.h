/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The seam between the simulated kernel and the NIC engine
 * (docs/nic-engine.md, "The seam"): a struct ifnet backed by a struct nic,
 * whose send tags wrap nic tags and whose if_transmit turns a packet of
 * M_EXTPG record windows into a struct nic_txreq and the engine's wire
 * segments into segments of a models/link link; and the path behind it,
 * which maps TCP sequence numbers to the link's stream offsets and feeds
 * the link's ACKs back to TCP (tcp_input_ack()).
 *
 * A path is the connection's next hop and may be shared by several
 * interfaces (a NIC and a plain one, for route changes): the stream
 * offsets, the retransmission tag and the ACKs belong to the connection,
 * not to the interface it happens to leave by.
 */

#ifndef _MODELS_NIC_IFNET_H_
#define _MODELS_NIC_IFNET_H_

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link.h"
#include "nic.h"

struct ifnet;
struct m_snd_tag;
struct nhop_object;
struct socket;

struct nic_path;
struct nic_ifnet;

/*
 * A path over a new link made from lc (its lc_ack_cb and lc_snd_arg are
 * the path's; the rest is the caller's).  NULL with the reason in why.
 */
struct nic_path *nic_path_create(struct platform *pl,
    const struct link_conf *lc, char *why, size_t whylen);
/*
 * The connection whose segments use the path: it takes a socket
 * reference, and stream offset 0 of the link is the sequence number after
 * the connection's ISS.  Call after ksim_connect_route().
 */
void nic_path_connect(struct nic_path *np, struct socket *so);
struct link *nic_path_link(struct nic_path *np);

/* What a wire segment was (nph_segment's flags). */
#define NIC_SEG_REXMIT 0x01   /* starts below the highest byte sent */
#define NIC_SEG_TLS 0x02      /* TLS record bytes the engine encrypted */
#define NIC_SEG_RESYNC 0x04   /* its packet made the engine rebuild state */
#define NIC_SEG_FALLBACK 0x08 /* its packet was encrypted by the host */
#define NIC_SEG_PLAIN 0x10    /* record bytes of a live session, untagged */
#define NIC_SEG_FIN 0x20

/*
 * Observers of a path (sim_server uses them for its traces and for send
 * wake-ups), each optional.  nph_segment: a segment went to the link
 * (stream offset off, the bytes as on the wire), called with the
 * connection's socket lock held.  nph_acked: an ACK of the link up to
 * stream offset ack (a FIN counts one) was given to TCP (tcp_input_ack()),
 * called on the link's task without the lock.
 * Set them before nic_path_connect().
 */
struct nic_path_hooks {
	void (*nph_segment)(void *arg, struct nic_ifnet *nif, uint64_t off,
	    const uint8_t *data, uint32_t len, unsigned int flags);
	void (*nph_acked)(void *arg, uint64_t ack);
	void *nph_arg;
};
void nic_path_set_hooks(struct nic_path *np, const struct nic_path_hooks *h);
/*
 * Route changes on a schedule: after every n packets the path's
 * interfaces took, the connection's route moves to the other of a and b
 * (ksim_set_route(), from a platform task, as a routing-table change
 * would happen beside the sender).  n 0 stops it.
 */
void nic_path_flip_every(struct nic_path *np, uint64_t n, struct nhop_object *a,
    struct nhop_object *b);
uint64_t nic_path_flips(const struct nic_path *np);
/*
 * Drop the socket reference and destroy the link.  Only once the platform
 * is idle: EBUSY (and nothing done) while tasks of the path or the link
 * are pending.
 */
int nic_path_destroy(struct nic_path *np);

struct nic_ifnet_stats {
	uint64_t packets;	 /* handed to if_transmit */
	uint64_t tagged_packets; /* with a send tag of this interface */
	uint64_t record_packets; /* carrying TLS record windows */
	uint64_t drops;		 /* refused by the engine or the link */
	uint64_t wire_segs;	 /* segments given to the link */
	uint64_t wire_bytes;
	uint64_t rexmit_segs; /* of those, starting below the highest sent */
	uint64_t rexmit_bytes;
	/* Record bytes of a live session sent without a tag: plaintext. */
	uint64_t untagged_tls_bytes;
	uint64_t plaintext_segs; /* wire segments carrying such bytes */
	uint64_t kicks;		 /* tcp_output_kick() after a drop */
};

/*
 * An interface on path np.  With a NIC it advertises IFCAP_TXTLS4,
 * IFCAP_TXTLS6 and IFCAP_MEXTPG (as mlx5en and cxgbe do) and allocates
 * IF_SND_TAG_TYPE_TLS tags with nic_tag_alloc(); with nic NULL it is a
 * plain interface (IFCAP_MEXTPG only, no send tags) that puts the bytes
 * on the link as they are.  mtu 0 means 1500.
 */
struct nic_ifnet *nic_ifnet_create(const char *name, struct nic *nic,
    struct nic_path *np, unsigned int mtu);
struct ifnet *nic_ifnet_ifp(struct nic_ifnet *nif);
struct nhop_object *nic_ifnet_nhop(struct nic_ifnet *nif);
const struct nic_ifnet_stats *nic_ifnet_stats(const struct nic_ifnet *nif);
const char *nic_ifnet_name(const struct nic_ifnet *nif);
/*
 * An engine shared by interfaces that transmit on different threads (one
 * NIC, many connections): every call into it, and the use of the wire
 * segments it returns, is made holding mtx.  Readers of the engine's
 * counters take it too.  Set before the interface is used.
 */
void nic_ifnet_set_lock(struct nic_ifnet *nif, pthread_mutex_t *mtx);
/* The engine's tag behind a send tag of a NIC interface, else NULL. */
struct nic_tag *nic_ifnet_tag(struct m_snd_tag *mst);
/*
 * Free the interface.  Returns the references still held on it (send
 * tags not released); then it is left allocated, since they point to it.
 */
unsigned int nic_ifnet_destroy(struct nic_ifnet *nif);

#endif /* !_MODELS_NIC_IFNET_H_ */
