/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The kernel transmit backend's per-connection state, for tx_kern.c and
 * its test (tests/interop/ktls_handoff_test.c, which checks that the
 * connection's copy of the keys is wiped once the kernel has its own).
 * Everything else sees a struct tx (tx.h).
 */

#ifndef _SIM_SERVER_TX_KERN_H_
#define _SIM_SERVER_TX_KERN_H_

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/server/handoff.h"
#include "sim/server/tx.h"

struct event;
struct kern_nic;
struct socket;

struct tx_kern {
	struct tx tx;
	struct tx_upcall up;
	int fd; /* the wire */
	struct socket *so;
	struct sim_keys keys; /* secrets wiped once the kernel has them */
	int mode;	      /* TCP_TXTLS_MODE at enable time */
	struct bridge_conn *trace;
	struct kern_nic *nic;  /* --mode nic: the connection's path */
	struct event *ev_wr;   /* wire full: tcp_output_kick() when it drains */
	struct event *ev_kick; /* progress or failure, from any thread */
	/* The closing alert: close_notify unless kern_fatal() set one. */
	uint8_t alert[2];
	bool alert_sent, shut_done;
	/* Written by KTLS workers (tw_output, tw_fin), read on the loop. */
	atomic_bool want_space; /* a send is blocked on the socket buffer */
	atomic_bool fin_sent;
	atomic_int wire_error;
	atomic_uint_fast64_t wire_bytes; /* written to the real socket */
};

#endif /* !_SIM_SERVER_TX_KERN_H_ */
