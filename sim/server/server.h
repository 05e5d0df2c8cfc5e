/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's core: the server (main.c sets it up and runs it), its
 * connections (conn.c: handshake, HTTP, deadlines, closing) and their
 * counters (stats.c).  What goes on the wire after the handshake is a
 * transmit backend's business (tx.h).
 */

#ifndef _SIM_SERVER_SERVER_H_
#define _SIM_SERVER_SERVER_H_

#include <sys/types.h>

#include <sys/queue.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "sim/server/http.h"

#define SRV_DEFAULT_LISTEN "127.0.0.1:8443"
/*
 * --page-cache-size: the simulated kernel's page frames, which the page
 * cache and every page in flight share (docs/sim_server.md).  The floor
 * leaves room for the records in flight on many connections.
 */
#define SRV_PAGE_CACHE_DEFAULT (64ull << 20)
#define SRV_PAGE_CACHE_MIN (4ull << 20)
#define SRV_PAGE_CACHE_MAX (64ull << 30)
#define SRV_CHUNK 16384 /* one TLS record of plaintext */

enum srv_mode {
	SRV_MODE_USERLAND, /* SSL_write(): the baseline */
	SRV_MODE_SW,	   /* simulated kernel, software crypto */
	SRV_MODE_NIC,	   /* simulated kernel on a simulated NIC */
};

static inline const char *
srv_mode_name(enum srv_mode mode)
{

	return (mode == SRV_MODE_NIC ? "nic" :
		mode == SRV_MODE_SW  ? "sw" :
				       "userland");
}

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
	/* --sndbuf: SO_SNDBUF of each simulated socket; 0 autosizes it. */
	u_int sndbuf;
	bool verbose;
	bool stats_url;	  /* --stats: GET /stats answers with the counters */
	bool stats_descr; /* --stats-descriptions: dumps say what each is */
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
	struct srv_txstats tx_userland, tx_sw, tx_nic;
	/* Closed connections by reason (the reasons are string literals). */
	struct {
		const char *reason;
		uint64_t n;
	} closes[SRV_MAX_CLOSE_REASONS];
	/* --trace: the kernel's record trace set, or NULL (trace_bridge.h). */
	struct ktrace_set *trace;
	struct event *accept_resume; /* re-enables accept after EMFILE */
	LIST_HEAD(, conn) conns;
};

enum conn_state {
	CS_HANDSHAKE,
	CS_OPEN,
	CS_CLOSING, /* closing alert and FIN queued; waiting to drain */
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

struct tx;
struct bridge_conn;

/*
 * A client connection.  Ownership rule: a struct conn is freed only by
 * conn_reap(), at the end of the libevent callback that runs for it.
 * conn_close() marks it closed (logs, counts, stops its events and closes
 * its transmit backend, so that no KTLS worker calls back into it) and
 * every function that may have closed it is followed by a check of
 * c->closed, so nothing touches freed memory however deep the call that
 * closed it.  The transmit backend reports through its upcall
 * (conn_tx_progress(), conn_tx_failed()), which ends with conn_reap() too.
 */
struct conn {
	struct server *srv;
	LIST_ENTRY(conn) link;
	uint64_t id;
	int fd;
	char peer[64];
	SSL *ssl; /* the handshake, then the receive side */
	/* ev_wr: libssl itself wants to write (handshake, SSL_read()). */
	struct event *ev_rd, *ev_wr, *ev_tmo;
	enum conn_state state;
	bool closed; /* conn_close() ran; conn_reap() frees */
	const char *close_reason;

	/*
	 * The transmit path once the handshake is done (tx.h), and the
	 * counters it adds to when the connection closes.
	 */
	struct tx *tx;
	struct srv_txstats *txstats;

	/* Request bytes decrypted by libssl, not yet parsed. */
	char in[HTTP_MAX_HEADER];
	size_t inlen;
	uint64_t nrequests;
	/*
	 * SSL_read() wanted more from the socket: until the read event says
	 * it has some, another SSL_read() would only fail the same way.
	 */
	bool rd_blocked;
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

	/*
	 * Plaintext staged by conn_stage_chunk() for tx_write(): chunkoff
	 * bytes of it were taken (a backend may take part of it).
	 */
	uint8_t chunk[SRV_CHUNK];
	size_t chunklen;
	size_t chunkoff;

	/* Statistics for the close log line. */
	uint64_t app_bytes; /* accepted by the transmit path */
	uint64_t key_updates_seen;

	/*
	 * The last alert libssl wrote (SSL_CB_WRITE_ALERT: level << 8 |
	 * description), for tx_fatal().
	 */
	int alert_out;
	bool got_close_notify;

	/* --trace: the connection's trace bridge, or NULL. */
	struct bridge_conn *trace;
};

/* conn.c */
/* The listener's callback: a new connection, arg is the server. */
void conn_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg);
/* Close and free every connection (server exit). */
void conn_close_all(struct server *s);
/* "addr:port" or "[v6]:port". */
void format_peer(const struct sockaddr *sa, char *buf, size_t len);

/* stats.c (docs/sim_server.md, "Counters") */
void srv_count_status(struct server *s, int status);
void srv_count_close(struct server *s, const char *reason);
void srv_dump_counters(struct server *s, FILE *fp);
/*
 * GET /stats: the counters in a memfd, so that the response goes through
 * the same path as any file.  Returns the descriptor or -1.
 */
int srv_stats_file(struct server *s, off_t *sizep);

#endif /* !_SIM_SERVER_SERVER_H_ */
