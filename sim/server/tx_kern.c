/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The kernel transmit backend (tx.h): after the userland handshake the
 * connection gets a simulated TCP socket whose wire is the real socket,
 * TCP_TXTLS_ENABLE with the derived keys, and from then on responses go
 * through ksim_sendfile()/ksim_write(), i.e. through ktls_frame(), the KTLS
 * workers and tcp_output() in src/.  Its mode is whatever TCP_TXTLS_MODE
 * reports.
 *
 * In --mode nic the simulated socket's route is instead an interface of a
 * simulated NIC (models/nic/nic_ifnet.h) on a lossy link of its own
 * (models/link), and kern.ipc.tls.ifnet.permitted is 1, so that
 * TCP_TXTLS_ENABLE takes a send tag on it (ktls_try_ifnet()) or, for a
 * suite the profile does not offload, software.  The link's receiver
 * reassembles the stream and writes its in-order prefix to the real
 * socket: the client reads a clean stream while the simulated connection
 * loses, reorders and retransmits.  When the real socket is full the
 * receiver takes no more, so its window closes and TCP stops;
 * once it drains, link_rcv_ready() reopens it (docs/sim_server.md, "NIC
 * mode").
 *
 * Threads: kern_tw_output, kern_tw_fin and kern_so_upcall may run on a
 * KTLS worker thread with the socket lock held.  They only write(2) to the
 * real socket, store C11 atomics and poke the event loop
 * (event_add/event_active are thread-safe after evthread_use_pthreads()); every
 * ksim_* call and every call of k->up is made on the loop thread.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

/* First: kern_compat.h defines _KERNEL, which ktls.h's prototypes need. */
#include "opencrypto/ktls.h"
#include "sys/socketvar.h"
#include "sys/ktls.h"
#include "sys/platform.h"
#include "net/if_var.h"
#include "net/if_wire.h"
#include "netinet/tcp_var.h"
#include "vm/vm_page.h"
#include "models/disk/disk.h"
#include "sim/runner/runner.h"
#include "nic.h"
#include "nic_ifnet.h"

#include "sim/server/handoff.h"
#include "sim/server/ssl_tap.h"
#include "sim/server/trace_bridge.h"
#include "sim/server/tx.h"
#include "sim/server/tx_kern.h"

static struct platform *kern_platform;

void
tx_kern_page_cache(uint64_t bytes)
{
	u_int npages;

	/*
	 * The cache may fill every frame, and the allocator's page daemon
	 * hook (models/disk/disk.c disk_pageout()) takes unwired cached
	 * pages back when records in flight need them.
	 */
	npages = (u_int)(bytes / PAGE_SIZE);
	disk_profile.dp_cache_pages = npages;
	vm_page_set_limit_sim(npages);
}

void
tx_kern_disk_sync(bool sync)
{

	/*
	 * Sync: the page-in costs the event loop a preadv(2), as read(2)
	 * costs a userland server, instead of two thread hand-offs (loop to
	 * disk task to KTLS worker) per sendfile pass.
	 */
	disk_profile.dp_sync = sync;
}

json_t *
tx_kern_vm_counters(void)
{
	struct vm_page_stats vs;

	if (kern_platform == NULL)
		return (NULL);
	vm_page_stats_sim(&vs);
	return (json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "page_limit",
	    (json_int_t)vs.vs_limit, "pages_inuse", (json_int_t)vs.vs_inuse,
	    "pages_free", (json_int_t)vs.vs_free, "segments",
	    (json_int_t)vs.vs_segs, "cache_resident",
	    (json_int_t)disk_cache_resident(), "waits", (json_int_t)vs.vs_waits,
	    "reclaimed", (json_int_t)vs.vs_reclaimed, "overcommit",
	    (json_int_t)vs.vs_overcommit));
}

/* A connection's NIC path; it outlives the connection until quiet. */
struct kern_nic {
	pthread_mutex_t mtx; /* k, NULL once the connection closed */
	struct tx_kern *k;
	struct nic_path *np;
	struct nic_ifnet *nif[2]; /* the NIC, the --route-flip-every other */
	struct event *ev_drain;	  /* real socket writable: link_rcv_ready() */
	struct event *ev_poll;	  /* a blocked send looks again */
	struct event *ev_reap;	  /* after close: free once quiet */
	LIST_ENTRY(kern_nic) link;
};

/* --mode nic, process-wide. */
static struct {
	bool on;
	struct tx_nic_conf conf;
	/* [0] the NIC, [1] the flip target's (NULL: plain or none). */
	struct nic *nic[2];
	pthread_mutex_t mtx; /* around both engines (nic_ifnet_set_lock()) */
	LIST_HEAD(, kern_nic) nics; /* open or waiting to be freed */
	/* Connections closed so far (loop thread). */
	struct nic_ifnet_stats ifs;
	struct link_stats ls;
	uint64_t conns, ifnet_sessions, sw_sessions, flips, leaks;
	/* The real socket was full: the receiver stopped (any thread). */
	atomic_uint_fast64_t client_full;
} kn = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static int kern_nic_init(const struct tx_nic_conf *conf, char *why,
    size_t whylen);
static void kern_nic_fini(void);
static void kern_nic_close(struct tx_kern *k);

int
tx_kern_init(int ncpus, const struct tx_nic_conf *nic, char *why, size_t whylen)
{
	int error;

	/* The real-time runner: one pthread KTLS worker per "CPU". */
	kern_platform = sim_rt_create(ncpus);
	if (kern_platform == NULL) {
		snprintf(why, whylen, "sim_rt_create(%d) failed", ncpus);
		return (-1);
	}
	platform_set(kern_platform);
	error = ktls_init();
	if (error != 0) {
		snprintf(why, whylen, "ktls_init: %s", strerror(error));
		return (-1);
	}
	if (nic != NULL && kern_nic_init(nic, why, whylen) != 0)
		return (-1);
	return (0);
}

int
tx_kern_set_backend(const char *name, char *why, size_t whylen)
{
	char names[64];

	if (ktls_backend_select(name) == 0)
		return (0);
	ktls_backend_names(names, sizeof(names));
	snprintf(why, whylen, "this build has %s (and auto)", names);
	return (-1);
}

/*
 * The tunables --sysctl sets, by FreeBSD's sysctl name, and the values
 * they take.
 */
static const struct {
	const char *name;
	u_int *var;
	u_int min, max;
} kern_sysctls[] = {
	/*
	 * tcp_account_for_send() (src/netinet/tcp_subr.c): above this
	 * percentage of retransmitted bytes a NIC session goes back to
	 * software; 100 keeps it on the NIC.
	 */
	{ "kern.ipc.tls.ifnet_max_rexmit_pct", &ktls_ifnet_max_rexmit_pct, 0,
	    100 },
};

u_int *
tx_kern_sysctl(const char *name, u_int *min, u_int *max, char *why,
    size_t whylen)
{
	size_t i;

	for (i = 0; i < nitems(kern_sysctls); i++) {
		if (strcmp(name, kern_sysctls[i].name) == 0) {
			*min = kern_sysctls[i].min;
			*max = kern_sysctls[i].max;
			return (kern_sysctls[i].var);
		}
	}
	snprintf(why, whylen, "unknown name; known:");
	for (i = 0; i < nitems(kern_sysctls); i++) {
		strlcat(why, i == 0 ? " " : ", ", whylen);
		strlcat(why, kern_sysctls[i].name, whylen);
	}
	return (NULL);
}

const char *
tx_kern_backend(void)
{

	return (ktls_backend->kb_name);
}

u_long
tx_kern_sndbuf_max(void)
{

	return (sb_max_adj);
}

bool
tx_kern_null_cipher(void)
{

	return (ktls_sim_null_cipher);
}

void
tx_kern_fini(void)
{

	if (kern_platform == NULL)
		return;
	/* sim/runner/runner.h: quiesce, ktls_uninit(), destroy. */
	sim_rt_quiesce(kern_platform);
	kern_nic_fini();
	ktls_uninit();
	sim_rt_destroy(kern_platform);
	kern_platform = NULL;
}

static void
kern_counter_cb(void *arg, const char *leaf, const char *descr, uint64_t value)
{
	json_t *o = arg;

	/* The kern.ipc.tls sysctl leaf name, e.g. "stats.sw_tx_inqueue". */
	json_object_set_new(o, leaf, json_integer((json_int_t)value));
	(void)descr;
}

static void
kern_counter_descr_cb(void *arg, const char *leaf, const char *descr,
    uint64_t value)
{
	json_t *o = arg;

	json_object_set_new(o, leaf, json_string(descr));
	(void)value;
}

static void
kern_nic_counter_cb(void *arg, const char *name, uint64_t value,
    const char *desc)
{

	kern_counter_cb(arg, name, desc, value);
}

typedef void kern_counter_cb_t(void *arg, const char *leaf, const char *descr,
    uint64_t value);

/*
 * A counter table (ktls_counters_foreach(), ksim_cost_foreach(),
 * disk_counters_foreach()) as a JSON object keyed by the names it gives:
 * the values, or with descriptions what each counts.
 */
static json_t *
kern_counters_json(void (*foreach)(kern_counter_cb_t *, void *),
    bool descriptions)
{
	json_t *o;

	o = json_object();
	if (o != NULL)
		foreach(descriptions ? kern_counter_descr_cb : kern_counter_cb,
		    o);
	return (o);
}

json_t *
tx_kern_counters(bool descriptions)
{

	return (kern_counters_json(ktls_counters_foreach, descriptions));
}

json_t *
tx_kern_cost_counters(bool descriptions)
{

	return (kern_counters_json(ksim_cost_foreach, descriptions));
}

json_t *
tx_kern_disk_counters(bool descriptions)
{

	return (kern_counters_json(disk_counters_foreach, descriptions));
}

static void
kern_tcp_counter_cb(void *arg, const char *name, uint64_t value)
{

	kern_counter_cb(arg, name, NULL, value);
}

json_t *
tx_kern_tcp_counters(void)
{
	json_t *o;

	if (kern_platform == NULL)
		return (NULL);
	o = json_object();
	if (o != NULL)
		tcpstat_foreach(kern_tcp_counter_cb, o);
	return (o);
}

/* Worker or loop thread, socket lock held: put ready bytes on the wire. */
static ssize_t
kern_tw_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct tx_kern *k = arg;
	ssize_t n;
	int error;

	n = writev(k->fd, iov, iovcnt);
	if (n > 0) {
		/* Acknowledged at once; kern_so_upcall() sees the space. */
		atomic_fetch_add(&k->wire_bytes, (uint64_t)n);
		return (n);
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* Wire full: tcp_output_kick() once it drains. */
		event_add(k->ev_wr, NULL);
		return (0);
	}
	error = n < 0 ? errno : EPIPE;
	atomic_store(&k->wire_error, error);
	event_active(k->ev_kick, EV_WRITE, 0);
	return (-error);
}

/*
 * The socket upcall (soupcall_set()), socket lock held, any thread: a send
 * blocked on the socket buffer may go on.  The loop is kicked when a
 * FreeBSD event loop's kevent(2) EVFILT_WRITE would fire
 * (sys/kern/uipc_socket.c filt_sowrite()): room for sb_lowat bytes
 * (sendfile raised it to half the buffer), or the socket can send no
 * more or has an error.  Kicking on every acknowledgement instead woke
 * the loop for sends that found too little space and waited again.
 */
static int
kern_so_upcall(struct socket *so, void *arg, int waitflag)
{
	struct tx_kern *k = arg;
	struct sockbuf *sb = &so->so_snd;

	(void)waitflag;
	if (atomic_load(&k->want_space) &&
	    (sbspace(sb) >= (long)sb->sb_lowat ||
		(sb->sb_state & SBS_CANTSENDMORE) != 0 || so->so_error != 0))
		event_active(k->ev_kick, EV_WRITE, 0);
	return (SU_OK);
}

static void
kern_tw_fin(void *arg)
{
	struct tx_kern *k = arg;

	(void)shutdown(k->fd, SHUT_WR);
	atomic_store(&k->fin_sent, true);
	event_active(k->ev_kick, EV_WRITE, 0);
}

/*
 * Loop thread: the wire drained, space was freed, the FIN went out or the
 * wire failed.  The upcall may close and free the connection, k with it.
 */
static void
kern_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tx_kern *k = arg;
	int error;

	error = atomic_load(&k->wire_error);
	if (error != 0)
		k->up.failed(k->up.arg, error);
	else
		k->up.progress(k->up.arg);
}

/* Loop thread: the real socket is writable again. */
static void
kern_writable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tx_kern *k = arg;

	if (k->so != NULL)
		tcp_output_kick(k->so);
}

/* ---- --mode nic ------------------------------------------------------ */

/* Interface names as the FreeBSD drivers call theirs. */
static const char *
kern_nic_ifprefix(const struct nic *nic)
{

	if (nic == NULL)
		return ("em");
	switch (nic_profile_of(nic)) {
	case NIC_PROFILE_MLX5:
		return ("mce");
	case NIC_PROFILE_T6:
		return ("cc");
	default:
		return ("eth");
	}
}

static int
kern_nic_init(const struct tx_nic_conf *conf, char *why, size_t whylen)
{
	struct nic_config cfg;
	int i;

	if (!link_conf_check(&conf->lc, why, whylen))
		return (-1);
	kn.conf = *conf;
	LIST_INIT(&kn.nics);
	for (i = 0; i < 2; i++) {
		if (i == 1 && (conf->flip_every == 0 || conf->flip_plain))
			break;
		memset(&cfg, 0, sizeof(cfg));
		cfg.profile =
		    (enum nic_profile)(i == 0 ? conf->profile : conf->flip_to);
		kn.nic[i] = nic_create(&cfg);
		if (kn.nic[i] == NULL) {
			snprintf(why, whylen, "nic_create(%s): %s",
			    nic_profile_name(cfg.profile), strerror(errno));
			return (-1);
		}
	}
	/* kern.ipc.tls.ifnet.permitted: TCP_TXTLS_ENABLE tries the NIC. */
	ktls_ifnet_permitted = 1;
	kn.on = true;
	return (0);
}

/* Loop thread, or the platform idle: free a closed path once quiet. */
static bool
kern_nic_free(struct kern_nic *nc)
{
	int i;

	if (nc->np != NULL) {
		if (nic_path_destroy(nc->np) != 0)
			return (false);
		nc->np = NULL;
	}
	/* The session's tag holds an interface until the socket is freed. */
	for (i = 0; i < 2; i++) {
		if (nc->nif[i] == NULL)
			continue;
		if (nic_ifnet_ifp(nc->nif[i])->if_refcount > 1)
			return (false);
		(void)nic_ifnet_destroy(nc->nif[i]);
		nc->nif[i] = NULL;
	}
	LIST_REMOVE(nc, link);
	if (nc->ev_drain != NULL)
		event_free(nc->ev_drain);
	if (nc->ev_poll != NULL)
		event_free(nc->ev_poll);
	if (nc->ev_reap != NULL)
		event_free(nc->ev_reap);
	pthread_mutex_destroy(&nc->mtx);
	free(nc);
	return (true);
}

static void
kern_nic_fini(void)
{
	struct kern_nic *nc, *next;
	unsigned int left;
	int i;

	if (!kn.on)
		return;
	for (nc = LIST_FIRST(&kn.nics); nc != NULL; nc = next) {
		next = LIST_NEXT(nc, link);
		if (!kern_nic_free(nc))
			kn.leaks++;
	}
	for (i = 0; i < 2; i++) {
		if (kn.nic[i] == NULL)
			continue;
		left = nic_destroy(kn.nic[i]);
		kn.nic[i] = NULL;
		if (left != 0)
			kn.leaks++;
	}
	kn.on = false;
}

static void
kern_nic_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kern_nic *nc = arg;
	struct timeval tv = { 0, 20 * 1000 };

	if (!kern_nic_free(nc))
		evtimer_add(nc->ev_reap, &tv);
}

/*
 * The link's receiver (a platform task): its in-order bytes go to the
 * real socket.  What the socket does not take stays in the receiver and
 * closes its window until the socket drains (kern_nic_drain_cb()).
 */
static size_t
kern_nic_data(void *arg, const uint8_t *buf, size_t len)
{
	struct kern_nic *nc = arg;
	struct tx_kern *k;
	size_t took;
	ssize_t n;

	pthread_mutex_lock(&nc->mtx);
	k = nc->k;
	if (k == NULL || atomic_load(&k->wire_error) != 0) {
		/* Nobody reads any more: let the link finish. */
		pthread_mutex_unlock(&nc->mtx);
		return (len);
	}
	n = write(k->fd, buf, len);
	if (n >= 0) {
		took = (size_t)n;
		atomic_fetch_add(&k->wire_bytes, (uint64_t)n);
	} else if (errno == EAGAIN || errno == EWOULDBLOCK)
		took = 0;
	else {
		atomic_store(&k->wire_error, errno);
		event_active(k->ev_kick, EV_WRITE, 0);
		took = len;
	}
	if (took < len) {
		atomic_fetch_add(&kn.client_full, 1);
		event_add(nc->ev_drain, NULL);
	}
	pthread_mutex_unlock(&nc->mtx);
	return (took);
}

/* Every byte before the FIN reached the client: send our FIN. */
static void
kern_nic_fin(void *arg)
{
	struct kern_nic *nc = arg;
	struct tx_kern *k;

	pthread_mutex_lock(&nc->mtx);
	k = nc->k;
	if (k != NULL) {
		(void)shutdown(k->fd, SHUT_WR);
		atomic_store(&k->fin_sent, true);
		event_active(k->ev_kick, EV_WRITE, 0);
	}
	pthread_mutex_unlock(&nc->mtx);
}

/*
 * An ACK freed socket-buffer space: a blocked send may go on.  The trace's
 * client acknowledges what the receiver did.
 */
static void
kern_nic_acked(void *arg, uint64_t ack)
{
	struct kern_nic *nc = arg;
	struct tx_kern *k;

	pthread_mutex_lock(&nc->mtx);
	k = nc->k;
	if (k != NULL && k->trace != NULL)
		bridge_conn_wire_ack(k->trace, ack);
	if (k != NULL && atomic_load(&k->want_space))
		event_active(k->ev_kick, EV_WRITE, 0);
	pthread_mutex_unlock(&nc->mtx);
}

/* A segment on the wire, as the NIC sent it: the trace's packet. */
static void
kern_nic_segment(void *arg, struct nic_ifnet *nif, uint64_t off,
    const uint8_t *data, uint32_t len, unsigned int flags)
{
	struct kern_nic *nc = arg;
	struct tx_kern *k;

	pthread_mutex_lock(&nc->mtx);
	k = nc->k;
	if (k != NULL && k->trace != NULL && len > 0)
		bridge_conn_wire(k->trace, nic_ifnet_name(nif), off, data, len,
		    flags);
	pthread_mutex_unlock(&nc->mtx);
}

/* Loop thread: the real socket has room; the receiver may go on. */
static void
kern_nic_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kern_nic *nc = arg;

	if (nc->np != NULL && nc->k != NULL)
		link_rcv_ready(nic_path_link(nc->np));
}

/*
 * Loop thread, every KERN_NIC_POLL_MS: TCP may have given up on the
 * connection (too many retransmissions, a tag reset that failed) with no
 * ACK to say so; a blocked send then learns it from the socket.
 */
static void
kern_nic_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kern_nic *nc = arg;
	struct ksim_tcpinfo ti;
	struct tx_kern *k = nc->k;

	if (k == NULL || k->so == NULL || atomic_load(&k->fin_sent))
		return;
	ksim_tcpinfo(k->so, &ti);
	if (ti.state == TCPS_CLOSED) {
		atomic_store(&k->wire_error, ECONNABORTED);
		event_active(k->ev_kick, EV_WRITE, 0);
	}
}

#define KERN_NIC_POLL_MS 200

/* The connection's path and interfaces, and its route over them. */
static int
kern_nic_connect(struct tx_kern *k, const struct tx_conf *conf,
    struct socket *so, char *why, size_t whylen)
{
	struct nic_path_hooks hooks;
	struct timeval tv = { 0, KERN_NIC_POLL_MS * 1000 };
	struct kern_nic *nc;
	struct link_conf lc;
	char name[IFNAMSIZ];
	const char *p0, *p1;
	uint32_t wnd;
	int error;

	nc = calloc(1, sizeof(*nc));
	if (nc == NULL) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return (ENOMEM);
	}
	pthread_mutex_init(&nc->mtx, NULL);
	nc->k = k;
	LIST_INSERT_HEAD(&kn.nics, nc, link);
	k->nic = nc;
	nc->ev_drain =
	    event_new(conf->base, conf->fd, EV_WRITE, kern_nic_drain_cb, nc);
	nc->ev_poll =
	    event_new(conf->base, -1, EV_PERSIST, kern_nic_poll_cb, nc);
	nc->ev_reap = evtimer_new(conf->base, kern_nic_reap_cb, nc);
	if (nc->ev_drain == NULL || nc->ev_poll == NULL ||
	    nc->ev_reap == NULL) {
		snprintf(why, whylen, "event_new failed");
		return (ENOMEM);
	}
	lc = kn.conf.lc;
	lc.lc_seed += conf->id;
	lc.lc_data_cb = kern_nic_data;
	lc.lc_fin_cb = kern_nic_fin;
	lc.lc_rcv_arg = nc;
	nc->np = nic_path_create(kern_platform, &lc, why, whylen);
	if (nc->np == NULL)
		return (EINVAL);
	memset(&hooks, 0, sizeof(hooks));
	hooks.nph_segment = kern_nic_segment;
	hooks.nph_acked = kern_nic_acked;
	hooks.nph_arg = nc;
	nic_path_set_hooks(nc->np, &hooks);
	p0 = kern_nic_ifprefix(kn.nic[0]);
	snprintf(name, sizeof(name), "%s0", p0);
	nc->nif[0] = nic_ifnet_create(name, kn.nic[0], nc->np, 0);
	if (nc->nif[0] == NULL) {
		snprintf(why, whylen, "nic_ifnet_create: %s", strerror(ENOMEM));
		return (ENOMEM);
	}
	nic_ifnet_set_lock(nc->nif[0], &kn.mtx);
	if (kn.conf.flip_every > 0) {
		p1 = kern_nic_ifprefix(kn.nic[1]);
		snprintf(name, sizeof(name), "%s%d", p1,
		    strcmp(p0, p1) == 0 ? 1 : 0);
		nc->nif[1] = nic_ifnet_create(name, kn.nic[1], nc->np, 0);
		if (nc->nif[1] == NULL) {
			snprintf(why, whylen, "nic_ifnet_create: %s",
			    strerror(ENOMEM));
			return (ENOMEM);
		}
		nic_ifnet_set_lock(nc->nif[1], &kn.mtx);
	}
	/* The window the receiver's SYN-ACK would have offered. */
	wnd = lc.lc_rcv.lr_wnd == 0 || lc.lc_rcv.lr_wnd > IF_WIRE_WND ?
	    IF_WIRE_WND :
	    (uint32_t)lc.lc_rcv.lr_wnd;
	error = ksim_connect_route(so, nic_ifnet_nhop(nc->nif[0]),
	    (uint32_t)conf->id, wnd);
	if (error != 0) {
		snprintf(why, whylen, "ksim_connect_route: %s",
		    strerror(error));
		return (error);
	}
	nic_path_connect(nc->np, so);
	if (nc->nif[1] != NULL)
		nic_path_flip_every(nc->np, kn.conf.flip_every,
		    nic_ifnet_nhop(nc->nif[0]), nic_ifnet_nhop(nc->nif[1]));
	evtimer_add(nc->ev_poll, &tv);
	return (0);
}

/* TCP_TXTLS_ENABLE succeeded: on the NIC, or in software. */
static void
kern_nic_enabled(struct tx_kern *k)
{

	kn.conns++;
	if (k->mode == TCP_TLS_MODE_IFNET)
		kn.ifnet_sessions++;
	else
		kn.sw_sessions++;
}

static void
kern_nic_add(struct nic_ifnet_stats *t, const struct nic_ifnet_stats *s)
{

	t->packets += s->packets;
	t->tagged_packets += s->tagged_packets;
	t->record_packets += s->record_packets;
	t->drops += s->drops;
	t->wire_segs += s->wire_segs;
	t->wire_bytes += s->wire_bytes;
	t->rexmit_segs += s->rexmit_segs;
	t->rexmit_bytes += s->rexmit_bytes;
	t->untagged_tls_bytes += s->untagged_tls_bytes;
	t->plaintext_segs += s->plaintext_segs;
	t->kicks += s->kicks;
}

static void
kern_nic_add_path(struct link_path_stats *t, const struct link_path_stats *s)
{
	int i;

	t->lps_sent += s->lps_sent;
	t->lps_sent_bytes += s->lps_sent_bytes;
	for (i = 0; i < LINK_LOSS_NCAUSES; i++)
		t->lps_lost[i] += s->lps_lost[i];
	t->lps_held += s->lps_held;
	t->lps_duplicated += s->lps_duplicated;
	t->lps_arrived += s->lps_arrived;
	t->lps_arrived_bytes += s->lps_arrived_bytes;
}

/*
 * The connection is closing: stop its receiver writing to the real
 * socket, stop TCP (a FIN that reached the client needs no ACK any more),
 * count what it did and free the path once its tasks are done.
 */
static void
kern_nic_close(struct tx_kern *k)
{
	struct kern_nic *nc = k->nic;
	struct link_stats ls;
	struct timeval tv = { 0, 0 };
	int i;

	k->nic = NULL;
	pthread_mutex_lock(&nc->mtx);
	nc->k = NULL;
	pthread_mutex_unlock(&nc->mtx);
	if (k->so != NULL)
		ksim_drop(k->so, ECONNRESET);
	for (i = 0; i < 2; i++)
		if (nc->nif[i] != NULL)
			kern_nic_add(&kn.ifs, nic_ifnet_stats(nc->nif[i]));
	if (nc->np != NULL) {
		link_stats(nic_path_link(nc->np), &ls);
		kern_nic_add_path(&kn.ls.ls_data, &ls.ls_data);
		kern_nic_add_path(&kn.ls.ls_ack, &ls.ls_ack);
		kn.ls.ls_rcv.lrs_segs += ls.ls_rcv.lrs_segs;
		kn.ls.ls_rcv.lrs_ooo_segs += ls.ls_rcv.lrs_ooo_segs;
		kn.ls.ls_rcv.lrs_dup_segs += ls.ls_rcv.lrs_dup_segs;
		kn.ls.ls_rcv.lrs_mismatch_segs += ls.ls_rcv.lrs_mismatch_segs;
		kn.ls.ls_rcv.lrs_wnd_trimmed += ls.ls_rcv.lrs_wnd_trimmed;
		kn.ls.ls_rcv.lrs_bytes += ls.ls_rcv.lrs_bytes;
		kn.ls.ls_rcv.lrs_acks += ls.ls_rcv.lrs_acks;
		kn.flips += nic_path_flips(nc->np);
	}
	if (nc->ev_drain != NULL)
		event_del(nc->ev_drain);
	if (nc->ev_poll != NULL)
		event_del(nc->ev_poll);
	if (nc->ev_reap != NULL)
		evtimer_add(nc->ev_reap, &tv);
}

static json_t *
kern_nic_engine_json(struct nic *nic)
{
	json_t *o;

	o = json_object();
	if (o == NULL)
		return (NULL);
	pthread_mutex_lock(&kn.mtx);
	nic_counters_foreach(nic, kern_nic_counter_cb, o);
	pthread_mutex_unlock(&kn.mtx);
	return (o);
}

json_t *
tx_kern_nic_counters(void)
{
	const struct nic_ifnet_stats *t = &kn.ifs;
	const struct link_path_stats *d = &kn.ls.ls_data, *a = &kn.ls.ls_ack;
	char spec[512];
	uint64_t plain;
	json_t *o, *ifs, *lk, *e0, *e1;

	if (!kn.on)
		return (NULL);
	(void)link_conf_format(&kn.conf.lc, spec, sizeof(spec));
	ifs = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "packets", (json_int_t)t->packets, "tagged_packets",
	    (json_int_t)t->tagged_packets, "record_packets",
	    (json_int_t)t->record_packets, "drops", (json_int_t)t->drops,
	    "wire_segs", (json_int_t)t->wire_segs, "wire_bytes",
	    (json_int_t)t->wire_bytes, "rexmit_segs",
	    (json_int_t)t->rexmit_segs, "rexmit_bytes",
	    (json_int_t)t->rexmit_bytes, "untagged_tls_bytes",
	    (json_int_t)t->untagged_tls_bytes, "plaintext_segs",
	    (json_int_t)t->plaintext_segs, "kicks", (json_int_t)t->kicks);
	lk = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		       "s:I,s:I,s:I,s:I}",
	    "data_sent", (json_int_t)d->lps_sent, "data_sent_bytes",
	    (json_int_t)d->lps_sent_bytes, "data_lost_random",
	    (json_int_t)d->lps_lost[LINK_LOSS_RANDOM], "data_lost_burst",
	    (json_int_t)d->lps_lost[LINK_LOSS_BURST], "data_lost_queue",
	    (json_int_t)d->lps_lost[LINK_LOSS_QUEUE], "data_lost_targeted",
	    (json_int_t)d->lps_lost[LINK_LOSS_TARGETED], "data_held",
	    (json_int_t)d->lps_held, "data_duplicated",
	    (json_int_t)d->lps_duplicated, "ack_sent", (json_int_t)a->lps_sent,
	    "ack_lost_random", (json_int_t)a->lps_lost[LINK_LOSS_RANDOM],
	    "rcv_ooo_segs", (json_int_t)kn.ls.ls_rcv.lrs_ooo_segs,
	    "rcv_dup_segs", (json_int_t)kn.ls.ls_rcv.lrs_dup_segs,
	    "rcv_mismatch_segs", (json_int_t)kn.ls.ls_rcv.lrs_mismatch_segs,
	    "rcv_wnd_trimmed", (json_int_t)kn.ls.ls_rcv.lrs_wnd_trimmed,
	    "rcv_bytes", (json_int_t)kn.ls.ls_rcv.lrs_bytes, "rcv_acks",
	    (json_int_t)kn.ls.ls_rcv.lrs_acks);
	e0 = kern_nic_engine_json(kn.nic[0]);
	e1 = kn.nic[1] != NULL ? kern_nic_engine_json(kn.nic[1]) : json_null();
	/*
	 * Plaintext on the wire: segments the interfaces sent with record
	 * bytes of a live session and no tag, in both counts the same event
	 * seen from the driver and from the engine.
	 */
	plain = t->plaintext_segs;
	o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o,"
		      "s:o,s:o,s:o,s:I}",
	    "profile", nic_profile_name((enum nic_profile)kn.conf.profile),
	    "link", spec, "ifnet_max_rexmit_pct",
	    (json_int_t)ktls_ifnet_max_rexmit_pct, "route_flip_every",
	    (json_int_t)kn.conf.flip_every, "route_flip_to",
	    kn.conf.flip_every == 0 ? "none" :
		kn.conf.flip_plain  ? "plain" :
				      nic_profile_name(
					  (enum nic_profile)kn.conf.flip_to),
	    "note", "ifnet and link count closed connections; engines are live",
	    "connections", (json_int_t)kn.conns, "ifnet_sessions",
	    (json_int_t)kn.ifnet_sessions, "sw_sessions",
	    (json_int_t)kn.sw_sessions, "route_flips", (json_int_t)kn.flips,
	    "plaintext_segments", (json_int_t)plain, "client_socket_full",
	    (json_int_t)atomic_load(&kn.client_full), "engine",
	    e0 != NULL ? e0 : json_null(), "flip_engine",
	    e1 != NULL ? e1 : json_null(), "ifnet",
	    ifs != NULL ? ifs : json_null(), "link_totals",
	    lk != NULL ? lk : json_null(), "leaks", (json_int_t)kn.leaks);
	return (o);
}

static int
kern_write(struct tx *tx, const void *buf, size_t len, size_t *written)
{
	struct tx_kern *k = (struct tx_kern *)tx;
	ssize_t n;
	int error;

	/* Before the call: space freed while it runs must wake us up. */
	atomic_store(&k->want_space, true);
	n = 0;
	error = ksim_write(k->so, buf, len, &n);
	*written = n > 0 ? (size_t)n : 0;
	if (error != EAGAIN)
		atomic_store(&k->want_space, false);
	return (error);
}

static int
kern_sendfile(struct tx *tx, const void *hdr, size_t hdrlen, int fd, off_t off,
    off_t len, off_t *sent)
{
	struct tx_kern *k = (struct tx_kern *)tx;
	struct iovec hiov;
	struct sf_hdtr hdtr;
	int error;

	/* sendfile(2) with the header as sf_hdtr headers. */
	memset(&hdtr, 0, sizeof(hdtr));
	if (hdrlen > 0) {
		hiov.iov_base = (void *)(uintptr_t)hdr;
		hiov.iov_len = hdrlen;
		hdtr.headers = &hiov;
		hdtr.hdr_cnt = 1;
	}
	atomic_store(&k->want_space, true);
	*sent = 0;
	error = ksim_sendfile(k->so, fd, off, len,
	    hdtr.hdr_cnt > 0 ? &hdtr : NULL, sent, 0);
	if (error != EAGAIN)
		atomic_store(&k->want_space, false);
	return (error);
}

static int
kern_shutdown(struct tx *tx)
{
	struct tx_kern *k = (struct tx_kern *)tx;
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(1)];
	} cm;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t written;
	int error;

	if (!k->alert_sent) {
		/*
		 * RFC 8446 6.1 / RFC 5246 7.2.1: close_notify (warning, 0)
		 * unless a fatal alert was set, as an alert record; ktls(4)
		 * sends non-data records with a TLS_SET_RECORD_TYPE control
		 * message.
		 */
		if (k->alert[0] == 0) {
			k->alert[0] = SSL3_AL_WARNING;
			k->alert[1] = SSL_AD_CLOSE_NOTIFY;
		}
		memset(&msg, 0, sizeof(msg));
		memset(&cm, 0, sizeof(cm));
		iov.iov_base = k->alert;
		iov.iov_len = sizeof(k->alert);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = IPPROTO_TCP;
		cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
		cmsg->cmsg_len = CMSG_LEN(1);
		*CMSG_DATA(cmsg) = TLS_RLTYPE_ALERT;
		atomic_store(&k->want_space, true);
		written = 0;
		error = ksim_sendmsg(k->so, &msg, 0, &written);
		if (error != 0)
			return (error);
		k->alert_sent = true;
	}
	if (!k->shut_done) {
		error = ksim_shutdown(k->so);
		if (error != 0)
			return (error);
		k->shut_done = true;
	}
	/* tcp_output() sends the FIN after the queued records: kern_tw_fin. */
	return (atomic_load(&k->fin_sent) ? 0 : EAGAIN);
}

/*
 * libssl's own alert was dropped by the tap (sim_tap_stop_writes()): the
 * kernel sends it instead of close_notify.  Without one, nothing may be
 * sent after the error (RFC 8446 section 6.2).
 */
static int
kern_fatal(struct tx *tx, int alert)
{
	struct tx_kern *k = (struct tx_kern *)tx;

	if ((alert >> 8) != SSL3_AL_FATAL)
		return (EPROTO);
	k->alert[0] = SSL3_AL_FATAL;
	k->alert[1] = (uint8_t)(alert & 0xff);
	return (0);
}

/*
 * libssl decrypts what we receive, so it follows the peer's new key by
 * itself; but ktls(4) cannot rekey the transmit direction (a second
 * TCP_TXTLS_ENABLE is EALREADY), and libssl's answer (a KeyUpdate under
 * keys the kernel does not use) was dropped by the tap.
 */
static int
kern_key_update(struct tx *tx, bool requested, const char **how)
{

	if (!requested) {
		*how = ": receive key updated in userland, KTLS transmit "
		       "unchanged";
		return (0);
	}
	*how = ": KTLS transmit cannot rekey (TCP_TXTLS_ENABLE is once per "
	       "socket), closing";
	return (ENOTSUP);
}

static uint64_t
kern_records(struct tx *tx)
{
	struct tx_kern *k = (struct tx_kern *)tx;
	struct ksim_sbstat st;

	if (k->so == NULL)
		return (0);
	ksim_sbstat(k->so, &st);
	return (st.tls_seqno - k->keys.seqno);
}

static uint64_t
kern_wire_bytes(struct tx *tx)
{
	struct tx_kern *k = (struct tx_kern *)tx;

	return (atomic_load(&k->wire_bytes));
}

/* TCP_TXTLS_MODE's value as in ktls(4): NONE, SW, IFNET, TOE. */
static const char *
kern_mode_name(struct tx *tx)
{
	struct tx_kern *k = (struct tx_kern *)tx;
	socklen_t len;
	int mode;

	mode = TCP_TLS_MODE_NONE;
	len = sizeof(mode);
	/*
	 * A dropped connection answers ECONNRESET (tcp_ctloutput()); report
	 * the mode it had when TCP_TXTLS_ENABLE succeeded.
	 */
	if (k->so != NULL &&
	    ksim_getsockopt(k->so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode, &len) !=
		0)
		mode = k->mode;
	switch (mode) {
	case TCP_TLS_MODE_SW:
		return ("tx=kernel ktls=SW");
	case TCP_TLS_MODE_IFNET:
		return ("tx=kernel ktls=IFNET");
	case TCP_TLS_MODE_TOE:
		return ("tx=kernel ktls=TOE");
	}
	return ("tx=kernel ktls=NONE");
}

/*
 * Give the simulated socket back: dropped unless its FIN is out, so that
 * no KTLS worker calls tw_output or tw_fin for k once this returns (both
 * run under the socket-buffer lock, which ksim_drop() takes).
 */
static uint64_t
kern_close(struct tx *tx)
{
	struct tx_kern *k = (struct tx_kern *)tx;
	struct ksim_sbstat st;
	uint64_t undelivered;

	if (k->so == NULL)
		return (0);
	/*
	 * A connection that did not finish its FIN is torn down like a
	 * reset one; what it still held never reached the client.
	 */
	undelivered = 0;
	if (!atomic_load(&k->fin_sent)) {
		ksim_sbstat(k->so, &st);
		undelivered = st.appdata;
		ksim_drop(k->so, ECONNRESET);
	}
	if (k->nic != NULL)
		kern_nic_close(k);
	else {
		/* The lingering socket must not call back into k. */
		SOCKBUF_LOCK(&k->so->so_snd);
		soupcall_clear(k->so, SO_SND);
		SOCKBUF_UNLOCK(&k->so->so_snd);
	}
	bridge_conn_end(k->trace);
	ksim_close(k->so);
	k->so = NULL;
	/* No worker is left to post them again. */
	event_del(k->ev_wr);
	event_del(k->ev_kick);
	return (undelivered);
}

static void
kern_free(struct tx *tx)
{
	struct tx_kern *k = (struct tx_kern *)tx;

	if (k->so != NULL)
		(void)kern_close(tx);
	if (k->ev_wr != NULL)
		event_free(k->ev_wr);
	if (k->ev_kick != NULL)
		event_free(k->ev_kick);
	if (k->nic != NULL)
		kern_nic_close(k);
	OPENSSL_cleanse(&k->keys, sizeof(k->keys));
	free(k);
}

static const struct tx_ops kern_ops = {
	.write = kern_write,
	.sendfile = kern_sendfile,
	.shutdown = kern_shutdown,
	.fatal = kern_fatal,
	.key_update = kern_key_update,
	.records = kern_records,
	.wire_bytes = kern_wire_bytes,
	.mode_name = kern_mode_name,
	.close = kern_close,
	.free = kern_free,
};

struct tx *
tx_kern_new(const struct tx_conf *conf, char *why, size_t whylen)
{
	struct tcp_wire wire;
	struct tx_kern *k;
	struct socket *so;
	socklen_t len;
	int error, val;

	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return (NULL);
	}
	k->tx.ops = &kern_ops;
	k->up = conf->up;
	k->fd = conf->fd;
	k->trace = conf->trace;
	if (sim_keys_derive(conf->ssl, &k->keys, why, whylen) != 0)
		goto fail;
	k->ev_kick = event_new(conf->base, -1, 0, kern_kick_cb, k);
	k->ev_wr =
	    event_new(conf->base, conf->fd, EV_WRITE, kern_writable_cb, k);
	if (k->ev_kick == NULL || k->ev_wr == NULL) {
		snprintf(why, whylen, "event_new failed");
		goto fail;
	}
	error = ksim_socket(SOCK_STREAM, &so);
	if (error != 0) {
		snprintf(why, whylen, "ksim_socket: %s", strerror(error));
		goto fail;
	}
	if (kn.on) {
		error = kern_nic_connect(k, conf, so, why, whylen);
		if (error != 0) {
			ksim_close(so);
			if (k->nic != NULL)
				kern_nic_close(k);
			goto fail;
		}
	} else {
		wire.tw_output = kern_tw_output;
		wire.tw_fin = kern_tw_fin;
		wire.tw_arg = k;
		error = ksim_connect(so, &wire, (uint32_t)conf->id);
		if (error != 0)
			snprintf(why, whylen, "ksim_connect: %s",
			    strerror(error));
	}
	if (error == 0 && conf->sndbuf != 0) {
		/*
		 * --sndbuf, as nginx's listen ... sndbuf=: a fixed size, which
		 * turns TCP's autosizing off (sbsetopt()).
		 */
		val = (int)conf->sndbuf;
		error = ksim_setsockopt(so, SOL_SOCKET, SO_SNDBUF, &val,
		    sizeof(val));
		if (error != 0)
			snprintf(why, whylen, "SO_SNDBUF %u: %s", conf->sndbuf,
			    strerror(error));
	}
	if (error == 0) {
		ksim_set_nbio(so, true);
		error = ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE,
		    &k->keys.en, sizeof(k->keys.en));
		if (error != 0)
			snprintf(why, whylen, "TCP_TXTLS_ENABLE: %s",
			    strerror(error));
	}
	/* The kernel copied the keys (ktls_copyin_tls_enable()). */
	OPENSSL_cleanse(k->keys.cipher_key, sizeof(k->keys.cipher_key));
	OPENSSL_cleanse(k->keys.auth_key, sizeof(k->keys.auth_key));
	OPENSSL_cleanse(k->keys.iv, sizeof(k->keys.iv));
	if (error != 0) {
		if (k->nic != NULL) {
			/* The path holds the socket until it is quiet. */
			k->so = so;
			ksim_drop(so, ECONNRESET);
			kern_nic_close(k);
			k->so = NULL;
		}
		ksim_close(so);
		goto fail;
	}
	k->mode = TCP_TLS_MODE_NONE;
	len = sizeof(k->mode);
	(void)ksim_getsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &k->mode, &len);
	k->so = so;
	if (k->nic != NULL)
		kern_nic_enabled(k);
	else {
		SOCKBUF_LOCK(&so->so_snd);
		soupcall_set(so, SO_SND, kern_so_upcall, k);
		SOCKBUF_UNLOCK(&so->so_snd);
	}
	/* From here on libssl must not write: its sequence numbers are stale.
	 */
	sim_tap_stop_writes(conf->ssl);
	/*
	 * The trace's handshake shows the link's smallest round trip (its two
	 * fixed delays), which Wireshark takes as the connection's RTT.
	 */
	bridge_conn_start(k->trace, so, conf->ssl, k->nic != NULL,
	    kn.conf.lc.lc_data.lp_delay_ns + kn.conf.lc.lc_ack.lp_delay_ns);
	return (&k->tx);
fail:
	kern_free(&k->tx);
	return (NULL);
}
