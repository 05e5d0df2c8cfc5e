/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server internals shared by sim_server.c (listener, handshake, HTTP,
 * userland TLS) and sim_server_ktls.c (the hand-over to the simulated
 * kernel's software KTLS).
 */

#ifndef _SIM_SIM_SERVER_H_
#define _SIM_SIM_SERVER_H_

#include <sys/types.h>

#include <sys/queue.h>

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "sim/server/http.h"
#include "sim/server/keys.h"

#define SRV_DEFAULT_LISTEN "127.0.0.1:8443"
#define SRV_CHUNK 16384 /* one TLS record of plaintext */

enum srv_mode {
	SRV_MODE_USERLAND, /* SSL_write(): the baseline */
	SRV_MODE_SW,	   /* simulated kernel, software crypto */
	SRV_MODE_NIC,	   /* simulated NIC offload (not yet) */
};

struct srv_txstats {
	uint64_t conns;
	uint64_t bytes;	  /* application bytes (headers + bodies) */
	uint64_t records; /* records written after the handshake */
};

#define SRV_MAX_CLOSE_REASONS 24
#define SRV_MAX_TRACES 8 /* KTRACE_MAX_OUTPUTS */

struct ktrace_set;

struct server {
	struct event_base *base;
	SSL_CTX *ctx;
	enum srv_mode mode;
	bool use_sendfile;
	bool verbose;
	bool stats_url; /* --stats: GET /stats answers with the counters */
	/* Deadlines in seconds, 0 for none (docs/sim_server.md, "Timeouts"). */
	int handshake_timeout; /* accept to Finished */
	int header_timeout;    /* first byte of a request to its end */
	int idle_timeout;      /* between requests */
	int send_timeout;      /* a response in progress without progress */
	int port;	       /* the listening port (traces) */
	char root[PATH_MAX];
	uint64_t next_id;
	/* Counters, dumped as JSON on SIGUSR1 and at exit. */
	uint64_t accepted, active, handshake_failed, requests;
	uint64_t status[6]; /* 1xx .. 5xx by hundreds */
	uint64_t fallbacks, key_updates, key_updates_refused;
	uint64_t accept_errors;
	struct srv_txstats tx_userland, tx_sw;
	/* Closed connections by reason (the reasons are string literals). */
	struct {
		const char *reason;
		uint64_t n;
	} closes[SRV_MAX_CLOSE_REASONS];
	/* --trace: the kernel's record trace set, or NULL (sim/trace/). */
	struct ktrace_set *trace;
	LIST_HEAD(, conn) conns;
};

enum conn_state {
	CS_HANDSHAKE,
	CS_OPEN,
	CS_CLOSING, /* close_notify/FIN queued; waiting to drain */
	CS_LINGER,  /* FIN sent; reading until the peer's FIN */
};

/* What the connection's one timer is counting down (conn_arm_timer()). */
enum conn_timer {
	CT_NONE,
	CT_HANDSHAKE,
	CT_IDLE,
	CT_HEADER,
	CT_SEND,
	CT_LINGER,
};

/*
 * A client connection.  Ownership rule: a struct conn is freed only by
 * conn_reap(), at the end of the libevent callback that runs for it.
 * conn_close() marks it closed (logs, counts, stops its events and drops
 * its simulated socket so no KTLS worker calls back into it) and every
 * function that may have closed it is followed by a check of c->closed, so
 * nothing touches freed memory however deep the call that closed it.
 */
struct conn {
	struct server *srv;
	LIST_ENTRY(conn) link;
	uint64_t id;
	int fd;
	char peer[64];
	SSL *ssl;
	struct event *ev_rd, *ev_wr, *ev_tmo;
	enum conn_state state;
	bool closed;   /* conn_close() ran; conn_reap() frees */
	bool ktls;     /* transmit side belongs to the kernel */
	int ktls_mode; /* TCP_TXTLS_MODE at enable time */
	const char *close_reason;

	/* Request bytes decrypted by libssl, not yet parsed. */
	char in[HTTP_MAX_HEADER];
	size_t inlen;
	uint64_t nrequests;
	/*
	 * The peer will send no more: close_notify (RFC 8446 section 6.1
	 * closes only its write side) or a TCP FIN.  Requests already
	 * received are still answered, then we close in order.
	 */
	bool rd_eof;
	const char *eof_reason;
	bool tcp_eof; /* CS_CLOSING/CS_LINGER: the peer's FIN was read */

	/*
	 * The timer: what it counts, the bytes received when the connection
	 * went idle (a request has begun once more arrive, even inside a
	 * record libssl cannot decrypt yet), and send progress as last seen.
	 */
	enum conn_timer timer;
	uint64_t rx_at_idle;
	uint64_t progress_seen;
	struct timespec progress_at;

	/* The response being sent: header, then body_left bytes of body_fd. */
	char hdr[1024];
	size_t hdrlen, hdroff;
	int body_fd;
	off_t body_off, body_left;
	bool close_after;

	/* Plaintext staged by conn_stage_chunk() (SSL_write() retries as is).
	 */
	uint8_t chunk[SRV_CHUNK];
	size_t chunklen;
	size_t chunkoff; /* ktls --no-sendfile: partial ksim_write() */

	/* Statistics for the close log line. */
	uint64_t app_bytes; /* accepted by the transmit path */
	uint64_t recs_base; /* userland: records before first response */
	uint64_t key_updates_seen;

	/*
	 * The last alert libssl wrote (SSL_CB_WRITE_ALERT: level << 8 |
	 * description), so that KTLS mode can send it through the kernel.
	 */
	int alert_out;
	bool got_close_notify;

	/*
	 * --trace: wire bytes libssl read and wrote before the socket is
	 * registered with the trace set (the handshake), then the client's
	 * stream offset as it goes on.
	 */
	uint8_t *tr_buf; /* chunks: direction, length (4), bytes */
	size_t tr_len, tr_cap;
	uint64_t tr_client_off;
	bool tr_open;

	/*
	 * Kernel side (sim_server_ktls.c).  The atomics are written by KTLS
	 * workers from tw_output/tw_fin and read on the loop thread.
	 */
	struct sim_keys keys;
	struct socket *so;
	struct event *ev_kick;	/* wire drained or FIN sent, from any thread */
	atomic_bool want_space; /* socket buffer was full */
	bool alert_sent, shut_done;
	uint8_t alert[2]; /* the alert conn_ktls_shutdown() sends */
	atomic_bool fin_sent;
	atomic_int wire_error;
	atomic_uint_fast64_t wire_bytes; /* written to the real socket */
	uint64_t undelivered; /* plaintext left in the buffer at close */
};

void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Mark c closed (see struct conn); the callback's conn_reap() frees it. */
void conn_close(struct conn *c, const char *reason);
/*
 * The kernel side's one upcall, on the loop thread: the wire drained,
 * socket-buffer space was freed, the FIN went out or the wire failed.
 */
void conn_wakeup(struct conn *c);
/* The next record's worth of the response into c->chunk; 0 or EIO. */
int conn_stage_chunk(struct conn *c);

/*
 * sim_server_ktls.c.  Without the simulated kernel built in, kern_init()
 * fails with a reason and every connection stays in userland TLS.
 */
int srv_kern_init(int ncpus, char *why, size_t whylen);
void srv_kern_fini(void);
int conn_ktls_enable(struct conn *c, char *why, size_t whylen);
/* 0 done, EAGAIN wait for ev_kick/ev_wr, else an error. */
int conn_ktls_send(struct conn *c);
/*
 * Queue the alert in c->alert (close_notify unless a fatal alert was set)
 * and the FIN: 0 done (fin_sent is set once the FIN is on the wire),
 * EAGAIN try again on the next kick, else an error.
 */
int conn_ktls_shutdown(struct conn *c);
/*
 * Give the simulated socket back: dropped unless its FIN is out, so that
 * no KTLS worker calls tw_output or tw_fin for c once this returns (both
 * run under the socket-buffer lock, which this takes).  Sets c->undelivered.
 */
void conn_ktls_free(struct conn *c);
uint64_t conn_ktls_records(struct conn *c);
/* TCP_TXTLS_MODE of the connection's simulated socket (NONE without one). */
int conn_ktls_mode(struct conn *c);
/* The EV_WRITE handler in ktls mode: tcp_output_kick(). */
void conn_ktls_writable(struct conn *c);
/*
 * Kernel counters (kern.ipc.tls.*) as a JSON object keyed by sysctl leaf
 * name ("stats.sw_tx_inqueue"), or NULL without the simulated kernel.
 */
json_t *srv_kern_counters(void);

/*
 * --trace (sim_server_trace.c section of sim_server_ktls.c): open the
 * outputs, install the hooks; register a connection once its simulated
 * socket exists (handshake bytes and key log first); client bytes and the
 * end of a connection.  All no-ops when srv.trace is NULL.
 */
int srv_trace_open(struct server *s, char **paths, int npaths, char *why,
    size_t whylen);
void srv_trace_close(struct server *s);
void conn_trace_wire(void *arg, bool from_server, const void *buf, size_t len);
void conn_trace_start(struct conn *c);
void conn_trace_client(struct conn *c, const void *buf, size_t len);
void conn_trace_end(struct conn *c);

#endif /* !_SIM_SIM_SERVER_H_ */
