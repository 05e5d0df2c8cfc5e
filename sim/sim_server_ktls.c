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
 *
 * Built without the simulated kernel (SIM_SERVER_KTLS undefined), the
 * functions below report why and sim_server serves in userland TLS.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#ifdef SIM_SERVER_KTLS
/* First: kern_compat.h defines _KERNEL, which ktls.h's prototypes need. */
#include "sys/socketvar.h"
#include "sys/ktls.h"
#include "sys/platform.h"
#include "sim/runner.h"
#endif

#include "sim/sim_server.h"

#ifdef SIM_SERVER_KTLS

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

	n = writev(c->fd, iov, iovcnt);
	if (n > 0) {
		/* Socket-buffer space was freed; a blocked send may go on. */
		if (c->want_space)
			event_active(c->ev_kick, EV_WRITE, 0);
		return (n);
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* Wire full: tcp_output_kick() once it drains. */
		event_add(c->ev_wr, NULL);
		return (0);
	}
	c->wire_error = n < 0 ? errno : EPIPE;
	event_active(c->ev_kick, EV_WRITE, 0);
	return (-c->wire_error);
}

static void
srv_tw_fin(void *arg)
{
	struct conn *c = arg;

	(void)shutdown(c->fd, SHUT_WR);
	c->fin_sent = 1;
	event_active(c->ev_kick, EV_WRITE, 0);
}

/* Loop thread: the wire drained, space was freed or the FIN went out. */
static void
srv_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->wire_error != 0) {
		conn_close(c, "wire error");
		return;
	}
	if (c->state == CS_LINGER)
		return;
	conn_flush(c);
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
	ssize_t written, r;
	size_t n;
	int error;

	while (c->hdroff < c->hdrlen || c->body_left > 0 || c->chunklen > 0) {
		c->want_space = 1;
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
		if (c->chunklen == 0) {
			n = c->hdrlen - c->hdroff;
			if (n > SRV_CHUNK)
				n = SRV_CHUNK;
			memcpy(c->chunk, c->hdr + c->hdroff, n);
			c->hdroff += n;
			c->chunklen = n;
			if (c->body_left > 0 && n < SRV_CHUNK) {
				n = SRV_CHUNK - n;
				if ((off_t)n > c->body_left)
					n = c->body_left;
				r = pread(c->body_fd, c->chunk + c->chunklen, n,
				    c->body_off);
				if (r <= 0)
					return (EIO);
				c->body_off += r;
				c->body_left -= r;
				c->chunklen += r;
			}
			c->chunkoff = 0;
		}
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
	c->want_space = 0;
	return (0);
}

int
conn_ktls_shutdown(struct conn *c)
{
	static const uint8_t close_notify[2] = { 1, 0 }; /* warning, 0 */
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
		 * RFC 8446 6.1 / RFC 5246 7.2.1: close_notify is an alert
		 * record; ktls(4) sends non-data records with a
		 * TLS_SET_RECORD_TYPE control message.
		 */
		memset(&msg, 0, sizeof(msg));
		memset(&cm, 0, sizeof(cm));
		iov.iov_base = (void *)close_notify;
		iov.iov_len = sizeof(close_notify);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = IPPROTO_TCP;
		cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
		cmsg->cmsg_len = CMSG_LEN(1);
		*CMSG_DATA(cmsg) = TLS_RLTYPE_ALERT;
		c->want_space = 1;
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

	if (c->so == NULL)
		return;
	/*
	 * A connection that did not finish its FIN is torn down like a
	 * reset one, so that no worker calls tw_output on it afterwards.
	 */
	if (!c->fin_sent)
		ksim_drop(c->so, ECONNRESET);
	ksim_close(c->so);
	c->so = NULL;
}

json_t *
srv_kern_counters(void)
{

	/* XXX: kern.ipc.tls.* from src/ once it exports its counters. */
	return (json_object());
}

#else /* !SIM_SERVER_KTLS */

int
srv_kern_init(int ncpus, char *why, size_t whylen)
{

	snprintf(why, whylen,
	    "sim_server was built without the simulated "
	    "kernel (src/)");
	return (-1);
}

void
srv_kern_fini(void)
{
}

int
conn_ktls_enable(struct conn *c, char *why, size_t whylen)
{

	snprintf(why, whylen, "no simulated kernel");
	return (-1);
}

int
conn_ktls_send(struct conn *c)
{

	return (ENOTSUP);
}

int
conn_ktls_shutdown(struct conn *c)
{

	return (ENOTSUP);
}

void
conn_ktls_free(struct conn *c)
{
}

uint64_t
conn_ktls_records(struct conn *c)
{

	return (0);
}

void
conn_ktls_writable(struct conn *c)
{
}

json_t *
srv_kern_counters(void)
{

	return (NULL);
}

#endif /* SIM_SERVER_KTLS */
