/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Record traces: the sink behind the kernel's trace hooks
 * (src/sys/ktls_trace.h) and its readers.
 *
 * A trace set is a list of open output files, each in one format picked by
 * the file name's extension:
 *
 *	.txt	human text, with a drawing of each record's layout and of
 *		how TCP segments cut it
 *	.jsonl	JSON lines, one event per line (docs/trace-format.md)
 *	.pcapng	synthetic Ethernet/IPv4/TCP packets for every segment, the
 *		NSS key log in Decryption Secrets Blocks, and the record
 *		events as packet comments
 *
 * ktrace_install() makes one set the kernel's hooks.  The hooks may run on
 * any thread (KTLS workers, the event loop); one mutex per set serialises
 * them and the ktrace_conn_*() calls, and the sink never calls back into
 * the kernel.  With no set installed the kernel pays one branch per event.
 *
 * Connections are keyed by their struct socket pointer and numbered from 1
 * in order of registration.  A socket the kernel reports without
 * ktrace_conn_open() is registered automatically (client port 40000 + id,
 * server port 443, label "auto").
 *
 * Functions returning int return 0 or an errno value.
 */

#ifndef _SIM_TRACE_TRACE_H_
#define _SIM_TRACE_TRACE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct socket;
struct ktrace_set;

enum ktrace_format {
	KTRACE_FMT_TEXT,
	KTRACE_FMT_JSONL,
	KTRACE_FMT_PCAPNG,
};

/* Most outputs in one set. */
#define KTRACE_MAX_OUTPUTS 8

/* Format from the extension of path (.txt, .jsonl, .pcapng); EINVAL. */
int ktrace_format_of(const char *path, enum ktrace_format *fmtp);

/* An empty set; NULL on ENOMEM. */
struct ktrace_set *ktrace_set_new(void);

/*
 * Create (truncate) path and add it to the set, format by extension.
 * Outputs are added before the set is installed or has connections
 * (EBUSY otherwise); ENOSPC past KTRACE_MAX_OUTPUTS.
 */
int ktrace_set_open(struct ktrace_set *set, const char *path);
int ktrace_set_open_fmt(struct ktrace_set *set, const char *path,
    enum ktrace_format fmt);

/*
 * Timestamps (nanoseconds) come from now(arg); the default is
 * CLOCK_REALTIME.  A deterministic run may pass its virtual clock.
 */
void ktrace_set_clock(struct ktrace_set *set, uint64_t (*now)(void *),
    void *arg);

/*
 * Make set the kernel's trace hooks (EBUSY if hooks are installed) or
 * remove them.  Uninstall only when no kernel thread can be inside a hook
 * (the runner is quiescent).
 */
int ktrace_install(struct ktrace_set *set);
void ktrace_uninstall(struct ktrace_set *set);

/*
 * Uninstall if installed, close every connection (writing FINs to pcapng
 * outputs), close the files and free the set.  Returns the first error any
 * output met.
 */
int ktrace_set_free(struct ktrace_set *set);

/* First error an output met so far (0 if none). */
int ktrace_set_error(struct ktrace_set *set);

/*
 * An NSS key log ("CLIENT_RANDOM ...\n" lines) for every connection:
 * written at once as a Decryption Secrets Block to each pcapng output;
 * text and JSON lines record only the number of lines.
 */
int ktrace_set_keylog(struct ktrace_set *set, const char *lines, size_t len);

/*
 * Register so as connection client 10.0.0.1:cport -> server
 * 10.0.0.2:sport; label (may be NULL) is free text for the outputs.
 * EEXIST if so is registered.  The pcapng flow (three-way handshake) is
 * written lazily, before the connection's first packet, so that a key log
 * given with ktrace_conn_keylog() right after this call precedes it.
 */
int ktrace_conn_open(struct ktrace_set *set, struct socket *so, uint16_t cport,
    uint16_t sport, const char *label);

/*
 * The connection's key log: a Decryption Secrets Block in each pcapng
 * output, written now.  Call it before the connection's first bytes.
 */
int ktrace_conn_keylog(struct ktrace_set *set, struct socket *so,
    const char *lines, size_t len);

/*
 * Bytes the client sent (the server has no kernel events for them):
 * [off, off + len) of the client's stream, 0 = first byte after connect.
 * pcapng: client segments of at most 1448 bytes; text and JSON lines: one
 * summary event.
 */
int ktrace_conn_client_bytes(struct ktrace_set *set, struct socket *so,
    uint64_t off, const void *buf, size_t len);

/*
 * Bytes the server sent outside the simulated socket before its first
 * byte (the TLS handshake written by libssl), appended to the server's
 * stream: the kernel's stream offset 0 then follows them on the wire.
 * EINVAL once the kernel has sent a byte on the connection.
 */
int ktrace_conn_server_plain_bytes(struct ktrace_set *set, struct socket *so,
    const void *buf, size_t len);

/*
 * NIC offload (sim_server --mode nic): the kernel's segments of so hold
 * the plaintext the NIC encrypts, so the trace takes so's segments from
 * ktrace_conn_wire_segment() instead, as the interface put them on the
 * wire, and ignores the kernel's.  Call after ktrace_conn_open(), before
 * the connection's first segment.  rtt_ns: the path's round trip, which
 * the pcapng handshake shows (pcapng_flow_open()).
 */
int ktrace_conn_wire(struct ktrace_set *set, struct socket *so,
    uint64_t rtt_ns);

/* ktrace_conn_wire_segment() flags. */
#define KTRACE_SEG_REXMIT 0x01	 /* a retransmission */
#define KTRACE_SEG_RESYNC 0x02	 /* the NIC rebuilt its crypto state */
#define KTRACE_SEG_FALLBACK 0x04 /* encrypted by the host instead */
#define KTRACE_SEG_PLAIN 0x08	 /* record bytes sent unencrypted */

/*
 * The client acknowledged so's stream up to off (the kernel's stream
 * offset; a FIN counts one), as the receiver on the path did: pcapng
 * outputs write a pure ACK, so that the capture shows which bytes the
 * receiver was missing when a retransmission went out.  Without these
 * calls a wire connection's pcapng never acknowledges the server's data.
 */
int ktrace_conn_wire_ack(struct ktrace_set *set, struct socket *so,
    uint64_t off);

/*
 * A segment of so as it left interface iface: [off, off + len) of the
 * kernel's stream (offset 0 = the first byte after the handshake).  Any
 * thread; EINVAL unless so was given to ktrace_conn_wire().
 */
int ktrace_conn_wire_segment(struct ktrace_set *set, struct socket *so,
    const char *iface, uint64_t off, const void *buf, size_t len,
    unsigned int flags);

/*
 * End the connection: pending records are drawn (text), both sides' FINs
 * are written (pcapng), and so is forgotten.  Unknown sockets are ignored.
 */
void ktrace_conn_close(struct ktrace_set *set, struct socket *so);

/*
 * Reading traces back (ktrace_read.c): ktls_trace(1) and fuzzers.
 *
 * ktrace_parse_*_buf() parse untrusted bytes and never crash, abort or
 * read out of bounds: malformed input gives EINVAL (ENOMEM, EFBIG past the
 * limits below) and a message in err.  On success *logp holds the events;
 * free it with ktrace_log_free().  On failure *logp is NULL.
 */
struct ktrace_log;

/* Limits for untrusted input. */
#define KTRACE_READ_MAX_EVENTS (1U << 22)
#define KTRACE_READ_MAX_CONNS 65536

int ktrace_parse_jsonl_buf(const uint8_t *buf, size_t len,
    struct ktrace_log **logp, char *err, size_t errlen);
/* The buffer must stay valid until ktrace_log_free() (packets point in). */
int ktrace_parse_pcapng_buf(const uint8_t *buf, size_t len,
    struct ktrace_log **logp, char *err, size_t errlen);
/* Read a whole file and parse it as pcapng (by its magic) or JSON lines. */
int ktrace_read_file(const char *path, struct ktrace_log **logp, char *err,
    size_t errlen);
void ktrace_log_free(struct ktrace_log *log);

/* Number of records (framed or otherwise seen) in the log. */
size_t ktrace_log_nrecords(const struct ktrace_log *log);

/*
 * Print a per-record summary to out (NULL: silent) and validate the log:
 * framing against the golden model (models/golden), record contiguity,
 * event order (framed < encrypted < ready < freed, segments after ready),
 * segment coverage, and for pcapng the record headers on the wire.
 * Returns the number of divergences; the first is described in first
 * (if not NULL) and, when out is not NULL, printed as "DIVERGENCE: ...".
 */
size_t ktrace_check(const struct ktrace_log *log, FILE *out, char *first,
    size_t firstlen);

#endif /* !_SIM_TRACE_TRACE_H_ */
