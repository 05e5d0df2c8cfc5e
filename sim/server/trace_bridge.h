/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server --trace: the kernel reports what it frames, encrypts and puts
 * on the wire (sim/trace/); this bridge adds what the kernel never sees, so
 * that a pcapng output holds the whole TCP conversation and tshark can
 * decrypt it: each connection's NSS key log (Decryption Secrets Block), the
 * handshake bytes libssl wrote before the hand-over, and every byte the
 * client sent.  Only connections handed to the kernel are traced.
 *
 * Loop thread only.  A connection's bridge is made at accept (it buffers
 * the handshake), started by the kernel backend once the simulated socket
 * has TLS (the buffer is replayed in order) and ended before that socket is
 * closed.
 */

#ifndef _SIM_SERVER_TRACE_BRIDGE_H_
#define _SIM_SERVER_TRACE_BRIDGE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct ktrace_set;
struct socket;
struct bridge_conn;

/*
 * Open the outputs (the extension picks the format) and install the
 * kernel's hooks: 0, or -1 with a reason in why.
 */
int bridge_open(struct ktrace_set **setp, char **paths, int npaths, char *why,
    size_t whylen);
/* After the KTLS workers stopped: flush and close every output. */
void bridge_close(struct ktrace_set *set);

/* A connection: id and peer ("addr:port") label it; port is ours. */
struct bridge_conn *bridge_conn_new(struct ktrace_set *set, uint64_t id,
    const char *peer, int port);
/* sim_tap_wire_fn: bytes libssl read (client) or wrote (handshake). */
void bridge_wire(void *arg, bool from_server, const void *buf, size_t len);
/*
 * KTLS is on for so: register it, key log first, then the handshake.
 * wire: --mode nic, the segments come from bridge_conn_wire() (what the
 * NIC put on the link), not from the kernel, which holds plaintext; rtt_ns
 * is then the link's round trip, for the pcapng handshake.
 */
void bridge_conn_start(struct bridge_conn *bc, struct socket *so, SSL *ssl,
    bool wire, uint64_t rtt_ns);
/*
 * --mode nic: a segment the NIC put on the link, stream offset off, flags
 * NIC_SEG_* (models/nic/nic_ifnet.h).  Any thread, between
 * bridge_conn_start() and bridge_conn_end().
 */
void bridge_conn_wire(struct bridge_conn *bc, const char *iface, uint64_t off,
    const uint8_t *data, uint32_t len, unsigned int flags);
/* --mode nic: the path's receiver acknowledged up to off.  Any thread. */
void bridge_conn_wire_ack(struct bridge_conn *bc, uint64_t off);
/* Bytes the client sent that libssl did not read (a closing drain). */
void bridge_conn_client(struct bridge_conn *bc, const void *buf, size_t len);
/* The simulated socket is about to go. */
void bridge_conn_end(struct bridge_conn *bc);
void bridge_conn_free(struct bridge_conn *bc);

#endif /* !_SIM_SERVER_TRACE_BRIDGE_H_ */
