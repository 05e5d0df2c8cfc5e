/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's hand-over to the simulated kernel: after the userland
 * handshake the connection gets a simulated TCP socket whose wire is the
 * real socket, TCP_TXTLS_ENABLE with the derived keys, and from then on
 * responses go through ksim_sendfile()/ksim_write(), i.e. through
 * ktls_frame(), the KTLS workers and tcp_output() in src/.
 *
 * Threads: tw_output and tw_fin may run on a KTLS worker thread with the
 * socket lock held.  They only write(2) to the real socket and poke the
 * event loop (event_add/event_active are thread-safe after
 * evthread_use_pthreads()); every ksim_* call is made on the loop thread.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

/* First: kern_compat.h defines _KERNEL, which ktls.h's prototypes need. */
#include "sys/socketvar.h"
#include "sys/ktls.h"
#include "sys/platform.h"
#include "sim/runner.h"
#include "sim/trace/trace.h"

#include "sim/server/sim_server.h"

static struct platform *srv_platform;

int
srv_kern_init(int ncpus, char *why, size_t whylen)
{
	int error;

	/* The real-time runner: one pthread KTLS worker per "CPU". */
	srv_platform = sim_rt_create(ncpus);
	if (srv_platform == NULL) {
		snprintf(why, whylen, "sim_rt_create(%d) failed", ncpus);
		return (-1);
	}
	platform_set(srv_platform);
	error = ktls_init();
	if (error != 0) {
		snprintf(why, whylen, "ktls_init: %s", strerror(error));
		return (-1);
	}
	return (0);
}

void
srv_kern_fini(void)
{

	if (srv_platform == NULL)
		return;
	/* sim/runner.h: quiesce, ktls_uninit(), destroy. */
	sim_rt_quiesce(srv_platform);
	ktls_uninit();
	sim_rt_destroy(srv_platform);
	srv_platform = NULL;
}

/* Worker or loop thread, socket lock held: put ready bytes on the wire. */
static ssize_t
srv_tw_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct conn *c = arg;
	ssize_t n;
	int error;

	n = writev(c->fd, iov, iovcnt);
	if (n > 0) {
		atomic_fetch_add(&c->wire_bytes, (uint64_t)n);
		/* Socket-buffer space was freed; a blocked send may go on. */
		if (atomic_load(&c->want_space))
			event_active(c->ev_kick, EV_WRITE, 0);
		return (n);
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* Wire full: tcp_output_kick() once it drains. */
		event_add(c->ev_wr, NULL);
		return (0);
	}
	error = n < 0 ? errno : EPIPE;
	atomic_store(&c->wire_error, error);
	event_active(c->ev_kick, EV_WRITE, 0);
	return (-error);
}

static void
srv_tw_fin(void *arg)
{
	struct conn *c = arg;

	(void)shutdown(c->fd, SHUT_WR);
	atomic_store(&c->fin_sent, true);
	event_active(c->ev_kick, EV_WRITE, 0);
}

/* Loop thread: the wire drained, space was freed or the FIN went out. */
static void
srv_kick_cb(evutil_socket_t fd, short what, void *arg)
{

	conn_wakeup(arg);
}

void
conn_ktls_writable(struct conn *c)
{

	if (c->so != NULL)
		tcp_output_kick(c->so);
}

int
conn_ktls_enable(struct conn *c, char *why, size_t whylen)
{
	struct tcp_wire wire;
	struct socket *so;
	socklen_t len;
	int error, mode;

	if (sim_keys_derive(c->ssl, &c->keys, why, whylen) != 0)
		return (-1);
	c->ev_kick = event_new(c->srv->base, -1, 0, srv_kick_cb, c);
	if (c->ev_kick == NULL) {
		snprintf(why, whylen, "event_new failed");
		return (-1);
	}
	error = ksim_socket(SOCK_STREAM, &so);
	if (error != 0) {
		snprintf(why, whylen, "ksim_socket: %s", strerror(error));
		return (-1);
	}
	wire.tw_output = srv_tw_output;
	wire.tw_fin = srv_tw_fin;
	wire.tw_arg = c;
	error = ksim_connect(so, &wire, (uint32_t)c->id);
	if (error == 0) {
		ksim_set_nbio(so, true);
		error = ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE,
		    &c->keys.en, sizeof(c->keys.en));
		if (error != 0)
			snprintf(why, whylen, "TCP_TXTLS_ENABLE: %s",
			    strerror(error));
	} else
		snprintf(why, whylen, "ksim_connect: %s", strerror(error));
	/* The kernel copied the keys (ktls_copyin_tls_enable()). */
	OPENSSL_cleanse(c->keys.cipher_key, sizeof(c->keys.cipher_key));
	OPENSSL_cleanse(c->keys.auth_key, sizeof(c->keys.auth_key));
	OPENSSL_cleanse(c->keys.iv, sizeof(c->keys.iv));
	if (error != 0) {
		ksim_close(so);
		return (-1);
	}
	mode = TCP_TLS_MODE_NONE;
	len = sizeof(mode);
	(void)ksim_getsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode, &len);
	c->so = so;
	c->ktls_mode = mode;
	/* From here on libssl must not write: its sequence numbers are stale.
	 */
	sim_keys_stop_writes(c->ssl);
	return (0);
}

static void
consume(struct conn *c, off_t n)
{
	size_t h;

	h = c->hdrlen - c->hdroff;
	if ((off_t)h > n)
		h = n;
	c->hdroff += h;
	n -= h;
	c->body_off += n;
	c->body_left -= n;
	c->app_bytes += h + n;
}

int
conn_ktls_send(struct conn *c)
{
	struct iovec hiov;
	struct sf_hdtr hdtr;
	off_t sbytes, want;
	ssize_t written;
	int error;

	while (c->hdroff < c->hdrlen || c->body_left > 0 || c->chunklen > 0) {
		atomic_store(&c->want_space, true);
		if (c->srv->use_sendfile && c->body_left > 0) {
			/* sendfile(2) with the header as sf_hdtr headers. */
			memset(&hdtr, 0, sizeof(hdtr));
			if (c->hdroff < c->hdrlen) {
				hiov.iov_base = c->hdr + c->hdroff;
				hiov.iov_len = c->hdrlen - c->hdroff;
				hdtr.headers = &hiov;
				hdtr.hdr_cnt = 1;
			}
			want = c->body_left + (c->hdrlen - c->hdroff);
			sbytes = 0;
			error = ksim_sendfile(c->so, c->body_fd, c->body_off,
			    c->body_left, hdtr.hdr_cnt > 0 ? &hdtr : NULL,
			    &sbytes, 0);
			consume(c, sbytes);
			if (error == EAGAIN)
				return (EAGAIN);
			if (error != 0)
				return (error);
			if (sbytes < want)
				return (EIO); /* the file shrank */
			continue;
		}
		/* write(2): stage a record's worth, as in userland. */
		if (c->chunklen == 0 && (error = conn_stage_chunk(c)) != 0)
			return (error);
		written = 0;
		error = ksim_write(c->so, c->chunk + c->chunkoff,
		    c->chunklen - c->chunkoff, &written);
		if (written > 0) {
			c->chunkoff += written;
			c->app_bytes += written;
		}
		if (c->chunkoff == c->chunklen)
			c->chunklen = c->chunkoff = 0;
		if (error == EAGAIN)
			return (EAGAIN);
		if (error != 0)
			return (error);
	}
	atomic_store(&c->want_space, false);
	return (0);
}

int
conn_ktls_shutdown(struct conn *c)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(1)];
	} cm;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t written;
	int error;

	if (!c->alert_sent) {
		/*
		 * RFC 8446 6.1 / RFC 5246 7.2.1: close_notify (warning, 0)
		 * unless a fatal alert was set, as an alert record; ktls(4)
		 * sends non-data records with a TLS_SET_RECORD_TYPE control
		 * message.
		 */
		if (c->alert[0] == 0) {
			c->alert[0] = SSL3_AL_WARNING;
			c->alert[1] = SSL_AD_CLOSE_NOTIFY;
		}
		memset(&msg, 0, sizeof(msg));
		memset(&cm, 0, sizeof(cm));
		iov.iov_base = c->alert;
		iov.iov_len = sizeof(c->alert);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = IPPROTO_TCP;
		cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
		cmsg->cmsg_len = CMSG_LEN(1);
		*CMSG_DATA(cmsg) = TLS_RLTYPE_ALERT;
		atomic_store(&c->want_space, true);
		written = 0;
		error = ksim_sendmsg(c->so, &msg, 0, &written);
		if (error != 0)
			return (error);
		c->alert_sent = true;
	}
	if (!c->shut_done) {
		error = ksim_shutdown(c->so);
		if (error != 0)
			return (error);
		c->shut_done = true;
	}
	return (0);
}

uint64_t
conn_ktls_records(struct conn *c)
{
	struct ksim_sbstat st;

	if (c->so == NULL)
		return (0);
	ksim_sbstat(c->so, &st);
	return (st.tls_seqno - c->keys.seqno);
}

void
conn_ktls_free(struct conn *c)
{
	struct ksim_sbstat st;

	if (c->so == NULL)
		return;
	/*
	 * A connection that did not finish its FIN is torn down like a
	 * reset one, so that no worker calls tw_output on it afterwards;
	 * what it still held never reached the client.
	 */
	if (!atomic_load(&c->fin_sent)) {
		ksim_sbstat(c->so, &st);
		c->undelivered = st.appdata;
		ksim_drop(c->so, ECONNRESET);
	}
	conn_trace_end(c);
	ksim_close(c->so);
	c->so = NULL;
}

static void
srv_kern_counter_cb(void *arg, const char *name, uint64_t value)
{
	json_t *o = arg;

	/* The kern.ipc.tls sysctl leaf name, e.g. "stats.sw_tx_inqueue". */
	json_object_set_new(o, name, json_integer((json_int_t)value));
}

json_t *
srv_kern_counters(void)
{
	json_t *o;

	o = json_object();
	if (o != NULL)
		ktls_counters_foreach(srv_kern_counter_cb, o);
	return (o);
}

int
conn_ktls_mode(struct conn *c)
{
	socklen_t len;
	int mode;

	if (c->so == NULL)
		return (TCP_TLS_MODE_NONE);
	mode = TCP_TLS_MODE_NONE;
	len = sizeof(mode);
	/*
	 * A dropped connection answers ECONNRESET (tcp_ctloutput()); report
	 * the mode it had when TCP_TXTLS_ENABLE succeeded.
	 */
	if (ksim_getsockopt(c->so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode, &len) !=
	    0)
		return (c->ktls_mode);
	return (mode);
}

/*
 * --trace: the kernel reports what it frames, encrypts and puts on the
 * wire; sim_server adds what the kernel never sees, so that a pcapng
 * output holds the whole TCP conversation and tshark can decrypt it: the
 * connection's NSS key log (Decryption Secrets Block), the handshake bytes
 * libssl wrote before the hand-over, and every byte the client sent.
 */
#define TR_MAX_BUFFERED (1024 * 1024) /* handshake bytes kept per conn */

int
srv_trace_open(struct server *s, char **paths, int npaths, char *why,
    size_t whylen)
{
	struct ktrace_set *set;
	int error, i;

	set = ktrace_set_new();
	if (set == NULL) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return (-1);
	}
	for (i = 0; i < npaths; i++) {
		error = ktrace_set_open(set, paths[i]);
		if (error != 0) {
			snprintf(why, whylen, "%s: %s%s", paths[i],
			    strerror(error),
			    error == EINVAL ?
				" (the extension picks the format: .txt, "
				".jsonl or .pcapng)" :
				"");
			(void)ktrace_set_free(set);
			return (-1);
		}
	}
	error = ktrace_install(set);
	if (error != 0) {
		snprintf(why, whylen, "ktrace_install: %s", strerror(error));
		(void)ktrace_set_free(set);
		return (-1);
	}
	s->trace = set;
	return (0);
}

void
srv_trace_close(struct server *s)
{
	int error;

	if (s->trace == NULL)
		return;
	error = ktrace_set_free(s->trace);
	s->trace = NULL;
	if (error != 0)
		srv_log("--trace: writing a trace failed: %s", strerror(error));
}

/* The keys tap (loop thread): bytes libssl read or wrote. */
void
conn_trace_wire(void *arg, bool from_server, const void *buf, size_t len)
{
	struct conn *c = arg;
	uint32_t n;
	size_t need, cap;
	uint8_t *p;

	if (c->srv->trace == NULL || len == 0)
		return;
	if (c->tr_open) {
		/* After the hand-over libssl only reads. */
		if (!from_server)
			conn_trace_client(c, buf, len);
		return;
	}
	need = c->tr_len + 5 + len;
	if (need > TR_MAX_BUFFERED)
		return;
	if (need > c->tr_cap) {
		cap = c->tr_cap > 0 ? c->tr_cap : 8192;
		while (cap < need)
			cap *= 2;
		p = realloc(c->tr_buf, cap);
		if (p == NULL)
			return;
		c->tr_buf = p;
		c->tr_cap = cap;
	}
	p = c->tr_buf + c->tr_len;
	n = (uint32_t)len;
	p[0] = from_server;
	memcpy(p + 1, &n, 4);
	memcpy(p + 5, buf, len);
	c->tr_len = need;
}

static uint16_t
conn_peer_port(const struct conn *c)
{
	const char *colon;

	colon = strrchr(c->peer, ':');
	return (colon != NULL ? (uint16_t)atoi(colon + 1) : 0);
}

/* KTLS is on: register the socket and replay the handshake, in order. */
void
conn_trace_start(struct conn *c)
{
	struct ktrace_set *set = c->srv->trace;
	const char *keylog;
	char label[160];
	uint32_t n;
	size_t off, klen;
	uint16_t cport;
	int error;

	if (set == NULL || c->so == NULL)
		return;
	snprintf(label, sizeof(label), "sim_server conn %ju %s %s %s",
	    (uintmax_t)c->id, c->peer, c->keys.version, c->keys.suite);
	cport = conn_peer_port(c);
	error = ktrace_conn_open(set, c->so, cport != 0 ? cport : 1,
	    c->srv->port != 0 ? (uint16_t)c->srv->port : 443, label);
	if (error == 0) {
		keylog = sim_keys_keylog(c->ssl, &klen);
		if (klen > 0)
			error = ktrace_conn_keylog(set, c->so, keylog, klen);
	}
	for (off = 0; error == 0 && off < c->tr_len; off += 5 + n) {
		memcpy(&n, c->tr_buf + off + 1, 4);
		if (c->tr_buf[off] != 0)
			error = ktrace_conn_server_plain_bytes(set, c->so,
			    c->tr_buf + off + 5, n);
		else {
			error = ktrace_conn_client_bytes(set, c->so,
			    c->tr_client_off, c->tr_buf + off + 5, n);
			c->tr_client_off += n;
		}
	}
	if (error != 0)
		srv_log("conn %ju: --trace: %s", (uintmax_t)c->id,
		    strerror(error));
	free(c->tr_buf);
	c->tr_buf = NULL;
	c->tr_len = c->tr_cap = 0;
	c->tr_open = true;
}

void
conn_trace_client(struct conn *c, const void *buf, size_t len)
{

	if (c->srv->trace == NULL || !c->tr_open || c->so == NULL)
		return;
	(void)ktrace_conn_client_bytes(c->srv->trace, c->so, c->tr_client_off,
	    buf, len);
	c->tr_client_off += len;
}

void
conn_trace_end(struct conn *c)
{

	if (c->srv->trace == NULL || !c->tr_open || c->so == NULL)
		return;
	ktrace_conn_close(c->srv->trace, c->so);
	c->tr_open = false;
}
