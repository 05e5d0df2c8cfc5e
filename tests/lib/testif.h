/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A hand-driven interface for TCP tests.  Every segment TCP sends is
 * checked as it arrives and then held, whole, until the test delivers or
 * drops it; delivering puts its bytes into a receiver that reassembles the
 * stream and answers with a cumulative ACK (tcp_input_ack()).  The test
 * decides what is lost and when ACKs come; the received stream is checked
 * with the independent oracle, never with src/'s own code.
 */

#ifndef _TESTS_TESTIF_H_
#define _TESTS_TESTIF_H_

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "net/if_var.h"

struct harness;
struct mbuf;
struct nhop_object;
struct socket;
struct wire;

/* A segment in flight. */
struct testif_seg {
	TAILQ_ENTRY(testif_seg) link;
	struct mbuf *m; /* the packet as TCP sent it */
	uint64_t off;	/* stream offset of its first data byte */
	unsigned len;	/* data bytes */
	bool fin;
	bool rexmit;	   /* some of its bytes went out before */
	int n;		   /* sending order, from 0 */
	struct ifnet *ifp; /* the interface it went out by */
	bool nic_tls;	   /* its data is an IFNET record, in the clear */
};

/*
 * The interface and route themselves live apart from struct testif (on
 * the heap, until harness_fini()), so that a case that fails and leaves
 * its socket behind does not leave TCP sending into a dead stack frame:
 * the harness turns them into a sink instead.
 */
struct testif_port;

/*
 * A send tag of a test interface: it "encrypts" nothing, it only names the
 * session it was made for, so that testif_transmit() can check that each
 * NIC TLS packet carries a live tag of its own session on its interface.
 */
struct testif_tag {
	struct m_snd_tag tt_mst;
	struct testif_port *tt_port;
	const struct ktls_session *tt_tls;
};

#define TESTIF_NPORTS 3

struct testif {
	struct testif_port *ti_port; /* port 0 */
	/* Ports 1 and 2: more interfaces to the same peer (route flips). */
	struct testif_port *ti_alt[TESTIF_NPORTS - 1];
	/* if_snd_tag_alloc() fails with this errno while non-zero. */
	int ti_tag_error;
	int ti_ntags;	    /* tags allocated */
	int ti_ntags_freed; /* tags whose last reference went */
	int ti_nnic;	    /* NIC TLS packets that went out */
	struct socket *ti_so;
	TAILQ_HEAD(, testif_seg) ti_q; /* sent, not delivered or dropped */
	int ti_nq;
	int ti_nsent;	      /* segments TCP sent */
	uint64_t ti_sent_end; /* end of the highest data sent */
	uint64_t ti_bytes;    /* data bytes in all segments */
	uint64_t ti_rexmit_bytes;
	int ti_nrexmit;
	unsigned ti_maxlen; /* longest segment */
	/* The receiver. */
	uint8_t *ti_rcv;  /* the stream, [0, ti_rcv_nxt) in order */
	uint8_t *ti_have; /* per byte: arrived */
	size_t ti_cap;
	uint64_t ti_rcv_nxt;
	uint64_t ti_fin_at; /* where a FIN was seen, UINT64_MAX none */
	bool ti_fin_rcvd;
	uint32_t ti_rwnd;
	uint64_t ti_acked; /* the last ACK sent, as a stream offset */
	int ti_nacks;
	/* The first check a segment failed, and how many did. */
	char ti_err[256];
	int ti_nerr;
};

/* An interface whose peer offers a window of rwnd bytes. */
void testif_init(struct testif *ti, uint32_t rwnd);
/* A connected TCP socket that sends through ti. */
struct socket *testif_connect(struct testif *ti, uint32_t flowid);
/* Port 0..TESTIF_NPORTS-1 as an ifnet. */
struct ifnet *testif_port(struct testif *ti, int port);
/* IFCAP_TSO4 with if_hw_tsomax on port n, or off with 0. */
void testif_set_tso(struct testif *ti, int n, u_int tsomax);
/*
 * TLS offload on a port: IFCAP_TXTLS4/6 and IFCAP_MEXTPG on, send tags
 * (if_snd_tag_alloc) on; off takes both away.
 */
void testif_set_txtls(struct testif *ti, int port, bool on);
/* Moves the connection's cached route to a port (a route change). */
void testif_route(struct testif *ti, int port);
/*
 * Drops whatever is still in flight and frees the receiver; from here on
 * the interfaces discard what they are given.  Every send tag the
 * interfaces made must have been freed by then.
 */
void testif_fini(struct testif *ti);
/* The route (and so the interface) ti's connection uses. */
struct nhop_object *testif_nhop(struct testif *ti);
/* For the harness: every interface becomes a sink; free them all. */
void testif_abandon_all(void);
void testif_free_all(void);

/* The i-th segment in flight (0 is the oldest), or NULL. */
struct testif_seg *testif_seg(struct testif *ti, int i);
/* Into the receiver, which ACKs what it holds in order. */
void testif_deliver(struct testif *ti, struct testif_seg *seg);
void testif_drop(struct testif *ti, struct testif_seg *seg);
/* Deliver in order until nothing is in flight. */
void testif_deliver_all(struct testif *ti);
/*
 * Deterministic runner with SIM_DET_FIFO: testif_settle() runs what is
 * due now, leaving later timers (TCP's retransmission and persist timers)
 * alone; testif_fire() lets time run on until TCP sends a segment or drops
 * the connection, then settles.
 */
void testif_settle(struct harness *h);
void testif_fire(struct testif *ti, struct harness *h);
/* The received stream as a wire for harness_decrypt() (no copy). */
void testif_wire(const struct testif *ti, struct wire *w);

#endif /* !_TESTS_TESTIF_H_ */
