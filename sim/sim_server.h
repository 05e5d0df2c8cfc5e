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
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "sim/http.h"
#include "sim/keys.h"

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
	int idle_timeout;
	int port; /* the listening port (traces) */
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

struct conn {
	struct server *srv;
	LIST_ENTRY(conn) link;
	uint64_t id;
	int fd;
	char peer[64];
	SSL *ssl;
	struct event *ev_rd, *ev_wr;
	enum conn_state state;
	bool ktls;     /* transmit side belongs to the kernel */
	int ktls_mode; /* TCP_TXTLS_MODE at enable time */
	const char *close_reason;

	/* Request bytes decrypted by libssl, not yet parsed. */
	char in[HTTP_MAX_HEADER];
	size_t inlen;
	uint64_t nrequests;

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
	uint64_t app_bytes;
	uint64_t recs_base; /* userland: records before first response */
	uint64_t key_updates_seen;

	/*
	 * --trace: wire bytes libssl read and wrote before the socket is
	 * registered with the trace set (the handshake), then the client's
	 * stream offset as it goes on.
	 */
	uint8_t *tr_buf; /* chunks: direction, length (4), bytes */
	size_t tr_len, tr_cap;
	uint64_t tr_client_off;
	bool tr_open;

	/* Kernel side (sim_server_ktls.c). */
	struct sim_keys keys;
	struct socket *so;
	struct event *ev_kick;	 /* wire drained or FIN sent, from any thread */
	volatile int want_space; /* socket buffer was full */
	bool alert_sent, shut_done;
	volatile int fin_sent;
	volatile int wire_error;
};

void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void conn_close(struct conn *c, const char *reason);
/* Our FIN is out: read until the peer's, so close() does not RST. */
void conn_linger(struct conn *c);
/* Continue sending after the wire or the socket buffer drained. */
void conn_flush(struct conn *c);
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
 * Queue close_notify and FIN: 0 done (fin_sent is set once the FIN is on
 * the wire), EAGAIN try again on the next kick, else an error.
 */
int conn_ktls_shutdown(struct conn *c);
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
