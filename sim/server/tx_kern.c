/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The kernel transmit backend (tx.h): after the userland handshake the
 * connection gets a simulated TCP socket whose wire is the real socket,
 * TCP_TXTLS_ENABLE with the derived keys, and from then on responses go
 * through ksim_sendfile()/ksim_write(), i.e. through ktls_frame(), the KTLS
 * workers and tcp_output() in src/.  Its mode is whatever TCP_TXTLS_MODE
 * reports (SW today; IFNET once the simulated NIC exists).
 *
 * Threads: kern_tw_output and kern_tw_fin may run on a KTLS worker thread
 * with the socket lock held.  They only write(2) to the real socket, store
 * C11 atomics and poke the event loop (event_add/event_active are
 * thread-safe after evthread_use_pthreads()); every ksim_* call and every
 * upcall is made on the loop thread.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <errno.h>
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
#include "vm/vm_page.h"
#include "models/disk/disk.h"
#include "sim/runner/runner.h"

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

int
tx_kern_init(int ncpus, char *why, size_t whylen)
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

const char *
tx_kern_backend(void)
{

	return (ktls_backend->kb_name);
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

json_t *
tx_kern_counters(bool descriptions)
{
	json_t *o;

	o = json_object();
	if (o != NULL)
		ktls_counters_foreach(descriptions ? kern_counter_descr_cb :
						     kern_counter_cb,
		    o);
	return (o);
}

json_t *
tx_kern_cost_counters(bool descriptions)
{
	json_t *o;

	o = json_object();
	if (o != NULL)
		ksim_cost_foreach(descriptions ? kern_counter_descr_cb :
						 kern_counter_cb,
		    o);
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
		atomic_fetch_add(&k->wire_bytes, (uint64_t)n);
		/* Socket-buffer space was freed; a blocked send may go on. */
		if (atomic_load(&k->want_space))
			event_active(k->ev_kick, EV_WRITE, 0);
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
	int error;

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
	wire.tw_output = kern_tw_output;
	wire.tw_fin = kern_tw_fin;
	wire.tw_arg = k;
	error = ksim_connect(so, &wire, (uint32_t)conf->id);
	if (error == 0) {
		ksim_set_nbio(so, true);
		error = ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE,
		    &k->keys.en, sizeof(k->keys.en));
		if (error != 0)
			snprintf(why, whylen, "TCP_TXTLS_ENABLE: %s",
			    strerror(error));
	} else
		snprintf(why, whylen, "ksim_connect: %s", strerror(error));
	/* The kernel copied the keys (ktls_copyin_tls_enable()). */
	OPENSSL_cleanse(k->keys.cipher_key, sizeof(k->keys.cipher_key));
	OPENSSL_cleanse(k->keys.auth_key, sizeof(k->keys.auth_key));
	OPENSSL_cleanse(k->keys.iv, sizeof(k->keys.iv));
	if (error != 0) {
		ksim_close(so);
		goto fail;
	}
	k->mode = TCP_TLS_MODE_NONE;
	len = sizeof(k->mode);
	(void)ksim_getsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &k->mode, &len);
	k->so = so;
	/* From here on libssl must not write: its sequence numbers are stale.
	 */
	sim_tap_stop_writes(conf->ssl);
	bridge_conn_start(k->trace, so, conf->ssl);
	return (&k->tx);
fail:
	kern_free(&k->tx);
	return (NULL);
}
