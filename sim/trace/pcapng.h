/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * In-process pcapng writer for ktlsim traces.
 *
 * The file holds one Section Header Block, one Interface Description Block
 * (LINKTYPE_ETHERNET, nanosecond timestamps), optionally one or more
 * Decryption Secrets Blocks carrying an NSS key log, and Enhanced Packet
 * Blocks with synthetic Ethernet/IPv4/TCP frames (draft-ietf-opsawg-pcapng
 * §4.1, §4.2, §4.8, §4.3).  Opening the result with
 *
 *	tshark -r trace.pcapng
 *
 * decrypts the TLS records with no extra options, because Wireshark reads
 * the key log from the file itself.
 *
 * Nothing is sent anywhere: the TCP connections are labels written into the
 * file.  Each flow runs between the client 10.0.0.1:<client_port> and the
 * server 10.0.0.2:<server_port>; the writer invents the initial sequence
 * numbers, the acknowledgements and the IP and TCP checksums, and the
 * caller only says which side sent which bytes of its stream, and when.
 *
 * All functions return 0 or an errno value and never abort.  After a write
 * error the writer is poisoned: every later call returns the same error,
 * because the file no longer ends on a block boundary.  A writer and its
 * flows are not thread-safe; callers serialise access.
 */

#ifndef _SIM_TRACE_PCAPNG_H_
#define _SIM_TRACE_PCAPNG_H_

#include <stddef.h>
#include <stdint.h>

struct iovec;
struct pcapng_writer;
struct pcapng_flow;

/* Decryption Secrets Block secrets type for an NSS key log ("TLSK"). */
#define PCAPNG_SECRETS_TLS_KEYLOG 0x544c534bU

/* Snap length advertised in the Interface Description Block. */
#define PCAPNG_SNAPLEN 262144

/*
 * Largest payload of one segment: an IPv4 total length is 16 bits and the
 * synthetic IPv4 and TCP headers of a data segment are 20 bytes each.
 */
#define PCAPNG_TCP_MAXPAYLOAD (65535 - 20 - 20)

/*
 * Create (truncate) path and write the Section Header Block and the
 * Interface Description Block.  Returns NULL and sets *errp (if errp is not
 * NULL) on failure.
 */
struct pcapng_writer *pcapng_open(const char *path, int *errp);

/*
 * Write a Decryption Secrets Block holding an NSS key log (lines such as
 * "CLIENT_RANDOM <hex> <hex>\n").  Wireshark loads secrets while it reads
 * the file sequentially, so they must come before every packet; the call
 * fails with EINVAL once any packet has been written.  It may be called
 * several times before the first packet.  Returns EMSGSIZE if len does not
 * fit in one block.
 */
int pcapng_write_secrets(struct pcapng_writer *w, const char *keylog,
    size_t len);

/*
 * Start a TCP flow client_port -> server_port and write its three-way
 * handshake as seen at the server: SYN and SYN-ACK stamped ts_ns - rtt_ns
 * (0 if that is negative), the client's ACK ts_ns, so that a reader takes
 * rtt_ns for the path's round trip.  Returns NULL and sets *errp
 * on failure: EEXIST if a live flow of the writer already uses the same
 * port pair, EINVAL for a port of 0.  The flow belongs to the writer:
 * pcapng_close() releases flows not released with pcapng_flow_close().
 */
struct pcapng_flow *pcapng_flow_open(struct pcapng_writer *w,
    uint16_t client_port, uint16_t server_port, uint64_t ts_ns, uint64_t rtt_ns,
    int *errp);

/*
 * Write one TCP segment from the client (from_server == 0) or the server
 * carrying the bytes of iov[0..iovcnt) found at stream_off in that side's
 * byte stream (0 = first byte after the handshake).  The caller cuts the
 * stream into segments.  The TCP sequence number is ISN + 1 + stream_off,
 * so writing the same offset again records a retransmission.  A segment
 * that starts below the highest byte written and ends beyond it becomes
 * two packets, the repeated bytes and the new ones (Wireshark passes
 * nothing of a retransmission on to TLS, docs/trace-format.md).
 *
 * The path is modelled as lossless: the segment acknowledges the highest
 * byte (and FIN) the other side has written so far, and after every second
 * new segment from one side the writer adds a pure ACK from the other
 * side, as a receiver would (RFC 9293 §3.8.6.3).
 *
 * Returns EMSGSIZE if the payload exceeds PCAPNG_TCP_MAXPAYLOAD, EINVAL for
 * a bad iovec or for bytes past this side's FIN.  An empty payload writes a
 * pure ACK from that side at its next sequence number; stream_off is then
 * ignored.
 */
/*
 * A lossy path: the peer of side from_server acknowledges that side's
 * bytes only when pcapng_flow_ack_to() says so, as the real receiver did,
 * instead of the lossless model above.  A retransmission then shows as
 * one of data the receiver had not acknowledged, not as a spurious one.
 */
int pcapng_flow_peer_acks(struct pcapng_flow *f, int from_server);
/*
 * A pure ACK from side from_server acknowledging the peer's stream up to
 * ack_off (a FIN counts one); EINVAL without pcapng_flow_peer_acks() or
 * beyond what the peer sent.
 */
int pcapng_flow_ack_to(struct pcapng_flow *f, int from_server, uint64_t ack_off,
    uint64_t ts_ns);
int pcapng_flow_data(struct pcapng_flow *f, int from_server,
    uint64_t stream_off, const struct iovec *iov, int iovcnt, uint64_t ts_ns);

/*
 * Write a FIN from one side at stream_off (the length of that side's
 * stream) and the other side's ACK of it.  Returns EINVAL if stream_off is
 * below bytes already written for that side, or if that side already sent
 * a FIN at another offset.
 */
int pcapng_flow_fin(struct pcapng_flow *f, int from_server, uint64_t stream_off,
    uint64_t ts_ns);

/*
 * Release a flow.  Writes nothing: a flow closed without FINs simply ends
 * in the trace.  Its port pair becomes free for a new flow.
 */
void pcapng_flow_close(struct pcapng_flow *f);

/*
 * Flush and close the file and free the writer and all its flows.  Returns
 * the first error the writer met, or the error of flushing or closing.
 * The writer is freed in every case.
 */
int pcapng_close(struct pcapng_writer *w);

/*
 * Allow Decryption Secrets Blocks after packets (allow != 0).  Wireshark
 * 4.0 applies a DSB to every packet that follows it, so a per-connection
 * key log written before that connection's first packet still decrypts
 * it; secrets written after a connection's handshake do not.
 */
void pcapng_set_late_secrets(struct pcapng_writer *w, int allow);

/*
 * Longest comment pcapng_set_comment() accepts.  An option value is at
 * most 65535 bytes: a longer comment is written as several opt_comment
 * options of at most PCAPNG_COMMENT_CHUNK bytes, cut after newlines where
 * possible (a reader joins them in order).
 */
#define PCAPNG_MAX_COMMENT (4U * 1024 * 1024)
#define PCAPNG_COMMENT_CHUNK 65000

/*
 * Attach comment (UTF-8, copied) as opt_comment to the next Enhanced
 * Packet Block written (any frame); NULL cancels a pending comment.
 * tshark shows it as frame.comment.  Returns EMSGSIZE if longer than
 * PCAPNG_MAX_COMMENT, ENOMEM.
 */
int pcapng_set_comment(struct pcapng_writer *w, const char *comment);

#endif /* !_SIM_TRACE_PCAPNG_H_ */
