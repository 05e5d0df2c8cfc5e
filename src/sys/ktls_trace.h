/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: record-trace hooks.  FreeBSD has no such thing (dtrace would be the
 * nearest); the simulator calls these at each point of a record's life so
 * that sim/ can write text, JSON-lines and pcapng traces.  With no hooks
 * installed the cost is one predictable branch.
 */

#ifndef _SYS_KTLS_TRACE_H_
#define _SYS_KTLS_TRACE_H_

#include <sys/uio.h>

#include <stdint.h>

struct mbuf;
struct socket;

enum ktls_trace_event {
	KTR_FRAMED,    /* ktls_frame(): header and trailer length fixed */
	KTR_ENCRYPTED, /* worker finished: tag/MAC in the trailer */
	KTR_READY,     /* sbready() made it sendable */
	KTR_FREED,     /* acknowledged and dropped from the send buffer */
};

struct ktls_trace_hooks {
	/* A record event; m is the record's mbuf (read-only). */
	void (*th_record)(void *arg, enum ktls_trace_event ev,
	    struct socket *so, const struct mbuf *m);
	/*
	 * TCP put bytes [off, off + len) of the stream on the wire as one
	 * segment; rexmit marks a retransmission.
	 */
	void (*th_segment)(void *arg, struct socket *so, uint64_t off,
	    const struct iovec *iov, int iovcnt, int rexmit);
	void *th_arg;
};

extern struct ktls_trace_hooks *ktls_trace_hooks;

#define KTLS_TRACE_RECORD(ev, so, m)                                          \
	do {                                                                  \
		if (__builtin_expect(ktls_trace_hooks != NULL, 0) &&          \
		    ktls_trace_hooks->th_record != NULL)                      \
			ktls_trace_hooks->th_record(ktls_trace_hooks->th_arg, \
			    (ev), (so), (m));                                 \
	} while (0)

#endif /* !_SYS_KTLS_TRACE_H_ */
