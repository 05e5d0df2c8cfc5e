/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A connection's transmit path after the handshake: the interface between
 * sim_server's connection core (conn.c) and its two transmit backends
 * (docs/sim_server.md, "Transmit backends"):
 *
 *	tx_userland.c	libssl's SSL_write() on the real socket (the baseline)
 *	tx_kern.c	the simulated kernel: TCP_TXTLS_ENABLE on a simulated
 *			socket whose wire is the real socket, then
 *			ksim_sendfile()/ksim_write() through src/; in --mode
 *			nic its route is a simulated NIC (models/nic) over a
 *			lossy link (models/link) whose receiver writes the
 *			real socket
 *
 * The core owns the response (header, file, staged records) and libssl's
 * receive side; a backend owns what it needs to put bytes on the wire and
 * waits for the wire by itself.  It reports back only through the upcall
 * it was given, always on the event-loop thread: never by calling into the
 * core.
 *
 * Every function runs on the event-loop thread.  Lifetime: tx_close() when
 * the connection closes (nothing of the backend calls the upcall after it
 * returns), tx_free() when its memory goes (conn_reap(), possibly from
 * inside the upcall's own callback: the backend touches nothing after the
 * upcall returns).
 */

#ifndef _SIM_SERVER_TX_H_
#define _SIM_SERVER_TX_H_

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "link.h"

struct event_base;
struct json_t;
struct bridge_conn;

/* What a backend tells its connection (event-loop thread). */
struct tx_upcall {
	/*
	 * Something that a send or tx_shutdown() waited for happened: the
	 * wire drained, socket-buffer space was freed or the FIN went out.
	 * Call them again.
	 */
	void (*progress)(void *arg);
	/* The wire failed with error: nothing more will reach the peer. */
	void (*failed)(void *arg, int error);
	void *arg;
};

struct tx;

struct tx_ops {
	/*
	 * Send up to len bytes of buf; *written counts what was taken.  0
	 * when all of it was, EAGAIN to wait for the upcall, else an error.
	 * Bytes not taken are offered again, at the same address when
	 * libssl's SSL_write() asks for it.
	 */
	int (*write)(struct tx *tx, const void *buf, size_t len,
	    size_t *written);
	/*
	 * sendfile(2): hdrlen bytes of hdr (sf_hdtr headers), then len bytes
	 * of fd from off; *sent counts both.  Returns as write does; a short
	 * *sent without an error means the file shrank.  NULL when the
	 * backend cannot send from a file: the core stages records of it
	 * through write.
	 */
	int (*sendfile)(struct tx *tx, const void *hdr, size_t hdrlen, int fd,
	    off_t off, off_t len, off_t *sent);
	/*
	 * Close the transmit direction in order: the closing alert
	 * (close_notify, RFC 8446 section 6.1, or the fatal alert tx_fatal()
	 * kept), then the FIN.  0 once the FIN is on the wire, EAGAIN to
	 * wait for the upcall and call again, else an error.
	 */
	int (*shutdown)(struct tx *tx);
	/*
	 * libssl failed on input and wrote alert (SSL_CB_WRITE_ALERT:
	 * level << 8 | description; 0 for none).  0 when tx_shutdown() is
	 * to follow (the alert is out or will be sent before the FIN, RFC
	 * 8446 section 6.2), else an error: nothing more may be sent.
	 */
	int (*fatal)(struct tx *tx, int alert);
	/*
	 * The peer sent KeyUpdate (RFC 8446 section 4.6.3); requested: it
	 * asked us to update our transmit key.  0 when the transmit path
	 * follows, ENOTSUP when it cannot (the connection closes).  *how is
	 * the rest of the log line, after "peer KeyUpdate (...)".
	 */
	int (*key_update)(struct tx *tx, bool requested, const char **how);
	/* TLS records written since the hand-over. */
	uint64_t (*records)(struct tx *tx);
	/* Bytes handed to the real socket so far: send progress. */
	uint64_t (*wire_bytes)(struct tx *tx);
	/* "tx=kernel ktls=SW" and such, for the log. */
	const char *(*mode_name)(struct tx *tx);
	/*
	 * Stop for good: what was not sent is dropped, no upcall comes after
	 * this returns.  Returns the bytes accepted that never left.
	 */
	uint64_t (*close)(struct tx *tx);
	void (*free)(struct tx *tx);
};

/* The head of every backend's state. */
struct tx {
	const struct tx_ops *ops;
};

/* What a backend is built from: a connection whose handshake is done. */
struct tx_conf {
	struct event_base *base;
	int fd;	  /* the real socket */
	SSL *ssl; /* the finished handshake; the core keeps reading with it */
	uint64_t id;		   /* the connection's number */
	struct bridge_conn *trace; /* --trace: its trace bridge, or NULL */
	u_int sndbuf; /* SO_SNDBUF for a simulated socket, 0 to autosize */
	struct tx_upcall up;
};

/* libssl writes (tx_userland.c).  NULL when out of memory. */
struct tx *tx_userland_new(const struct tx_conf *conf);

/*
 * --mode nic (docs/sim_server.md, "NIC mode"): every connection's route is
 * an interface of a NIC of profile nic (nic_profile_lookup() names) on a
 * path of its own over a link made from lc, seeded lc.lc_seed plus the
 * connection's number.  flip_every > 0 moves the route every that many
 * packets between the NIC and a second interface: a NIC of profile
 * flip_to, or a plain one when flip_plain.
 */
struct tx_nic_conf {
	int profile;
	uint64_t flip_every;
	int flip_to;
	bool flip_plain;
	struct link_conf lc;
};

/*
 * The simulated kernel (tx_kern.c), process-wide: the real-time runner's
 * KTLS workers and ktls_init(); without them tx_kern_init() fails with a
 * reason and every connection stays in userland TLS.  nic: --mode nic's
 * NICs, or NULL for software KTLS on the byte wire.  tx_kern_counters()
 * gives the kern.ipc.tls.* counters as a JSON object keyed by sysctl leaf
 * name ("stats.sw_tx_inqueue"), their values or, with descriptions, what
 * each one counts; NULL when out of memory.  tx_kern_cost_counters() does
 * the same for the sim.cost counters (docs/cost-model.md), and
 * tx_kern_disk_counters() for the disk model's (DISK_COUNTERS in
 * models/disk/disk.h), keyed by full sysctl name ("vm.stats.vm.v_vnodein",
 * "sim.disk.overtaken").  The NIC
 * counters (tx_kern_nic_counters()) are NULL outside --mode nic; the TCP
 * counters are net.inet.tcp.stats by field name ("tcps_sndrexmitpack").
 */
int tx_kern_init(int ncpus, const struct tx_nic_conf *nic, char *why,
    size_t whylen);
/* The largest SO_SNDBUF the simulated kernel accepts (sb_max_adj). */
u_long tx_kern_sndbuf_max(void);
/*
 * Before tx_kern_init(): the simulated kernel gets bytes of page frames
 * (rounded down to pages), which the page cache and the pages in flight
 * share; beyond them an allocation reclaims cached pages or waits.
 */
void tx_kern_page_cache(uint64_t bytes);
/*
 * Before tx_kern_init(): sendfile's disk reads complete in the caller
 * (sync, the default) or in the disk's interrupt task (async);
 * models/disk/disk.h dp_sync.
 */
void tx_kern_disk_sync(bool sync);
void tx_kern_fini(void);
struct json_t *tx_kern_counters(bool descriptions);
struct json_t *tx_kern_cost_counters(bool descriptions);
struct json_t *tx_kern_disk_counters(bool descriptions);
struct json_t *tx_kern_nic_counters(void);
struct json_t *tx_kern_tcp_counters(void);
/*
 * --backend: the kernel's software crypto backend for new sessions
 * (evp, ipsecmb or auto: ktls_backend_select()).  -1 with the names this
 * build has in why when it has no such backend.  tx_kern_backend(): the
 * chosen one's name.
 */
int tx_kern_set_backend(const char *name, char *why, size_t whylen);
/*
 * --sysctl NAME=VALUE, before tx_kern_init(): the simulated kernel's
 * tunable by its FreeBSD sysctl name, and in *min and *max the values it
 * takes; NULL, with the known names in why, for a name it does not know.
 */
u_int *tx_kern_sysctl(const char *name, u_int *min, u_int *max, char *why,
    size_t whylen);
const char *tx_kern_backend(void);
/*
 * True if the kernel was built with -Dnull_cipher=true: its records are
 * not encrypted, and sim_server refuses to start (docs/sim_server.md).
 */
bool tx_kern_null_cipher(void);
/* The page allocator's and the page cache's counters, or NULL. */
struct json_t *tx_kern_vm_counters(void);
/*
 * Hand conf->ssl's transmit direction to a simulated socket: NULL with a
 * one-line reason in why when it cannot be (the connection then falls
 * back to userland TLS, as OpenSSL's ktls_start() does).
 */
struct tx *tx_kern_new(const struct tx_conf *conf, char *why, size_t whylen);

static inline int
tx_write(struct tx *tx, const void *buf, size_t len, size_t *written)
{

	return (tx->ops->write(tx, buf, len, written));
}

static inline bool
tx_can_sendfile(const struct tx *tx)
{

	return (tx->ops->sendfile != NULL);
}

static inline int
tx_sendfile(struct tx *tx, const void *hdr, size_t hdrlen, int fd, off_t off,
    off_t len, off_t *sent)
{

	return (tx->ops->sendfile(tx, hdr, hdrlen, fd, off, len, sent));
}

static inline int
tx_shutdown(struct tx *tx)
{

	return (tx->ops->shutdown(tx));
}

static inline int
tx_fatal(struct tx *tx, int alert)
{

	return (tx->ops->fatal(tx, alert));
}

static inline int
tx_key_update(struct tx *tx, bool requested, const char **how)
{

	return (tx->ops->key_update(tx, requested, how));
}

static inline uint64_t
tx_records(struct tx *tx)
{

	return (tx->ops->records(tx));
}

static inline uint64_t
tx_wire_bytes(struct tx *tx)
{

	return (tx->ops->wire_bytes(tx));
}

static inline const char *
tx_mode_name(struct tx *tx)
{

	return (tx->ops->mode_name(tx));
}

static inline uint64_t
tx_close(struct tx *tx)
{

	return (tx->ops->close(tx));
}

static inline void
tx_free(struct tx *tx)
{

	tx->ops->free(tx);
}

#endif /* !_SIM_SERVER_TX_H_ */
