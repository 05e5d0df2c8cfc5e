/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's connections: the userland handshake (libssl), HTTP requests
 * read and answered, one deadline per phase, and an orderly close.  What
 * the client reads after the handshake goes through the connection's
 * transmit backend (tx.h), chosen once the handshake is done: the
 * simulated kernel in --mode sw, libssl otherwise or when the kernel
 * cannot take it.  Received bytes are always decrypted by libssl.
 *
 * Every callback for a connection ends with conn_reap() (server.h, struct
 * conn): conn_read_cb, conn_write_cb, conn_timer_cb, and the backend's
 * upcall, conn_tx_progress() and conn_tx_failed().
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sim/server/ssl_tap.h"
#include "sim/server/log.h"
#include "sim/server/server.h"
#include "sim/server/trace_bridge.h"
#include "sim/server/tx.h"

static void conn_tx_progress(void *arg);
static void conn_tx_failed(void *arg, int error);

static void
conn_free(struct conn *c)
{

	/* conn_close() closed the backend: nothing calls back any more. */
	if (c->tx != NULL)
		tx_free(c->tx);
	if (c->ev_rd != NULL)
		event_free(c->ev_rd);
	if (c->ev_wr != NULL)
		event_free(c->ev_wr);
	if (c->ev_tmo != NULL)
		event_free(c->ev_tmo);
	SSL_free(c->ssl);
	/* After the SSL, whose tap may still point to it. */
	bridge_conn_free(c->trace);
	if (c->body_fd >= 0)
		close(c->body_fd);
	close(c->fd);
	free(c);
}

/*
 * Close now: count, log the per-connection summary line, stop every event
 * and close the transmit backend.  The memory stays until conn_reap().
 */
static void
conn_close(struct conn *c, const char *reason)
{
	struct server *s = c->srv;
	const char *mode;
	uint64_t recs, bytes, undelivered;

	if (c->closed)
		return;
	c->closed = true;
	c->close_reason = reason;
	LIST_REMOVE(c, link);
	if (c->ev_rd != NULL)
		event_del(c->ev_rd);
	if (c->ev_wr != NULL)
		event_del(c->ev_wr);
	if (c->ev_tmo != NULL)
		event_del(c->ev_tmo);
	srv_count_close(s, reason);
	if (c->tx != NULL) {
		/* Records and mode are read before the backend closes. */
		recs = tx_records(c->tx);
		mode = tx_mode_name(c->tx);
		undelivered = tx_close(c->tx);
		/* Only what left for the client; a reset loses the rest. */
		bytes = c->app_bytes - undelivered;
		c->txstats->bytes += bytes;
		c->txstats->records += recs;
		srv_log("conn %ju %s closed (%s): %s %s %s requests=%ju "
			"bytes=%ju records=%ju",
		    (uintmax_t)c->id, c->peer, reason, SSL_get_version(c->ssl),
		    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)), mode,
		    (uintmax_t)c->nrequests, (uintmax_t)bytes, (uintmax_t)recs);
	} else if (s->verbose)
		srv_log("conn %ju %s closed during handshake (%s)",
		    (uintmax_t)c->id, c->peer, reason);
	s->active--;
}

/* The end of every callback for c: free it if the callback closed it. */
static void
conn_reap(struct conn *c)
{

	if (c->closed)
		conn_free(c);
}

static bool
conn_busy(const struct conn *c)
{

	return (c->hdroff < c->hdrlen || c->body_left > 0 || c->chunklen > 0);
}

/* Forget the response in progress (a fatal error or a refused rekey). */
static void
conn_abandon_response(struct conn *c)
{

	if (c->body_fd >= 0) {
		close(c->body_fd);
		c->body_fd = -1;
	}
	c->body_left = 0;
	c->hdroff = c->hdrlen;
	c->chunklen = c->chunkoff = 0;
	c->inlen = 0;
}

/*
 * Arm the timer for what the connection waits for now.  A deadline starts
 * when its phase starts: re-entering the same phase keeps it running, so a
 * client that trickles bytes does not push it back (slowloris).
 */
static void
conn_arm_timer(struct conn *c, enum conn_timer what)
{
	struct timeval tv;
	int secs;

	if (c->timer == what)
		return;
	c->timer = what;
	switch (what) {
	case CT_HANDSHAKE:
		secs = c->srv->handshake_timeout;
		break;
	case CT_IDLE:
		secs = c->srv->idle_timeout;
		break;
	case CT_HEADER:
		secs = c->srv->header_timeout;
		break;
	case CT_SEND:
		/* Checked a few times per period: see conn_timer_cb(). */
		secs = c->srv->send_timeout > 0 ?
		    (c->srv->send_timeout + 3) / 4 :
		    0;
		c->progress_seen = tx_wire_bytes(c->tx);
		clock_gettime(CLOCK_MONOTONIC, &c->progress_at);
		break;
	case CT_LINGER:
		secs = 2;
		break;
	default:
		secs = 0;
		break;
	}
	event_del(c->ev_tmo);
	if (secs > 0) {
		tv.tv_sec = secs;
		tv.tv_usec = 0;
		event_add(c->ev_tmo, &tv);
	}
}

/*
 * Which events c waits for, from its state: reading while a request may
 * still come and there is room for it (a full buffer stops reading until
 * a response makes room, instead of waking up for input it cannot take),
 * and the timer for the phase it is in.
 */
static void
conn_update_events(struct conn *c)
{
	bool want_read;

	switch (c->state) {
	case CS_HANDSHAKE:
		want_read = true;
		break;
	case CS_OPEN:
		want_read = !c->rd_eof && c->inlen < sizeof(c->in);
		if (conn_busy(c))
			conn_arm_timer(c, CT_SEND);
		else if (c->inlen > 0 ||
		    (c->timer == CT_IDLE &&
			sim_tap_rx_bytes(c->ssl) != c->rx_at_idle))
			/* Part of a request, maybe still inside a record. */
			conn_arm_timer(c, CT_HEADER);
		else if (c->timer != CT_HEADER) {
			c->rx_at_idle = sim_tap_rx_bytes(c->ssl);
			conn_arm_timer(c, CT_IDLE);
		}
		break;
	case CS_CLOSING:
		/*
		 * The closing alert and FIN wait in the transmit path: drop
		 * what the peer sends meanwhile, watching for its FIN.
		 */
		want_read = !c->tcp_eof;
		conn_arm_timer(c, CT_SEND);
		break;
	case CS_LINGER:
	default:
		want_read = !c->tcp_eof;
		conn_arm_timer(c, CT_LINGER);
		break;
	}
	if (want_read && !event_pending(c->ev_rd, EV_READ, NULL))
		event_add(c->ev_rd, NULL);
	else if (!want_read && event_pending(c->ev_rd, EV_READ, NULL))
		event_del(c->ev_rd);
}

/* Our FIN is out: read until the peer's, so close() does not RST. */
static void
conn_linger(struct conn *c)
{

	/*
	 * Closing with unread input would reset the connection and could
	 * destroy our last records in flight; wait for the peer's FIN.
	 */
	c->state = CS_LINGER;
	(void)shutdown(c->fd, SHUT_WR);
	event_del(c->ev_wr);
	if (c->tcp_eof)
		conn_close(c, c->close_reason);
}

/* CS_CLOSING: push the closing alert and the FIN out, then linger. */
static void
conn_finish_step(struct conn *c)
{
	int error;

	error = tx_shutdown(c->tx);
	if (error == EAGAIN)
		return;
	if (error != 0)
		conn_close(c, c->close_reason);
	else
		conn_linger(c);
}

/*
 * Start an orderly close once everything queued is out: conn_run() sends
 * the closing alert and the FIN.
 */
static void
conn_finish(struct conn *c, const char *reason)
{

	c->close_reason = reason;
	c->state = CS_CLOSING;
}

static void
conn_set_response(struct conn *c, int status, const struct http_request *rq,
    int fd, off_t size, const char *ctype)
{
	char body[256];
	bool keep;
	int n;

	c->srv->requests++;
	srv_count_status(c->srv, status);
	keep = status == 200 && rq != NULL && rq->keepalive;
	c->close_after = !keep;
	if (status == 200) {
		n = http_format_header(c->hdr, sizeof(c->hdr), 200,
		    ctype != NULL ? ctype : http_content_type(rq->target), size,
		    keep, ctype != NULL ? "Cache-Control: no-store\r\n" : NULL);
		if (rq->head) {
			close(fd);
			fd = -1;
			size = 0;
		}
	} else {
		/* Small error bodies travel in the header buffer. */
		snprintf(body, sizeof(body), "%d %s\n", status,
		    http_reason(status));
		n = http_format_header(c->hdr, sizeof(c->hdr), status,
		    "text/plain; charset=utf-8", strlen(body), false,
		    status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
		if (n > 0 && (rq == NULL || !rq->head) &&
		    (size_t)n + strlen(body) < sizeof(c->hdr)) {
			memcpy(c->hdr + n, body, strlen(body));
			n += strlen(body);
		}
		size = 0;
	}
	c->hdrlen = n > 0 ? (size_t)n : 0;
	c->hdroff = 0;
	c->body_fd = fd;
	c->body_off = 0;
	c->body_left = size;
	if (c->srv->verbose)
		srv_log("conn %ju: %s %s -> %d", (uintmax_t)c->id,
		    rq != NULL ? rq->method : "-",
		    rq != NULL ? rq->target : "-", status);
}

/*
 * Open a file to serve.  O_NONBLOCK: the name may have become a FIFO or a
 * device since http_resolve() looked at it, and opening a FIFO without it
 * blocks the whole event loop until a writer appears.  The decision is made
 * on the descriptor itself; O_NONBLOCK does not change how a regular file
 * reads.  Returns the descriptor or -1.
 */
static int
conn_open_file(const char *path, off_t *sizep)
{
	struct stat sb;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return (-1);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return (-1);
	}
	*sizep = sb.st_size;
	return (fd);
}

/*
 * Parse the next buffered request and set up its response.  Returns false
 * when no complete request is buffered.
 */
static bool
conn_next_request(struct conn *c)
{
	struct http_request rq;
	char path[PATH_MAX];
	off_t size;
	int fd, status;

	status = http_parse_request(c->in, c->inlen, &rq);
	if (status == HTTP_INCOMPLETE) {
		if (c->inlen < sizeof(c->in))
			return (false);
		status = 431; /* a header that can never complete */
	}
	c->nrequests++;
	if (status != 200) {
		/* The request's end is unknown: answer, then close. */
		conn_set_response(c, status, NULL, -1, 0, NULL);
		c->inlen = 0;
		return (true);
	}
	memmove(c->in, c->in + rq.hdrlen, c->inlen - rq.hdrlen);
	c->inlen -= rq.hdrlen;
	if (c->srv->stats_url &&
	    (strcmp(rq.target, "/stats") == 0 ||
		strncmp(rq.target, "/stats?", 7) == 0)) {
		size = 0;
		fd = srv_stats_file(c->srv, &size);
		conn_set_response(c, fd >= 0 ? 200 : 500, &rq, fd, size,
		    "application/json");
		return (true);
	}
	fd = -1;
	size = 0;
	status = http_resolve(c->srv->root, rq.target, path, sizeof(path));
	if (status == 200 && (fd = conn_open_file(path, &size)) < 0)
		status = 404;
	if (status == 200)
		conn_set_response(c, 200, &rq, fd, size, NULL);
	else {
		conn_set_response(c, status, &rq, -1, 0, NULL);
		/* Keep-alive survives a 404 (the request was fine). */
		if (status == 404)
			c->close_after = !rq.keepalive;
	}
	return (true);
}

/*
 * Stage the next record's worth of plaintext in c->chunk: what is left of
 * the header, then the body read from the file, for a backend without
 * sendfile or with --no-sendfile.  Records of at most SRV_CHUNK bytes: the
 * same records whichever backend frames them.
 */
static int
conn_stage_chunk(struct conn *c)
{
	size_t n;
	ssize_t r;

	n = c->hdrlen - c->hdroff;
	if (n > SRV_CHUNK)
		n = SRV_CHUNK;
	memcpy(c->chunk, c->hdr + c->hdroff, n);
	c->hdroff += n;
	c->chunklen = n;
	c->chunkoff = 0;
	if (c->body_left > 0 && c->chunklen < SRV_CHUNK) {
		n = SRV_CHUNK - c->chunklen;
		if ((off_t)n > c->body_left)
			n = c->body_left;
		r = pread(c->body_fd, c->chunk + c->chunklen, n, c->body_off);
		if (r <= 0)
			return (EIO); /* the file shrank */
		c->body_off += r;
		c->body_left -= r;
		c->chunklen += r;
	}
	return (0);
}

/* Take n bytes of header, then body, as sent (sendfile). */
static void
conn_consume(struct conn *c, off_t n)
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

/*
 * Hand the response in progress to the transmit backend: from the file
 * where it can send one (sendfile(2) with the header in front), else a
 * staged record at a time.  0 when it is all taken, EAGAIN to wait for the
 * upcall or for input, EIO when the file shrank, else a write error.
 */
static int
conn_send(struct conn *c)
{
	off_t sent, want;
	size_t written;
	int error;

	while (conn_busy(c)) {
		if (c->srv->use_sendfile && c->body_left > 0 &&
		    c->chunklen == 0 && tx_can_sendfile(c->tx)) {
			want = c->body_left + (c->hdrlen - c->hdroff);
			sent = 0;
			error = tx_sendfile(c->tx, c->hdr + c->hdroff,
			    c->hdrlen - c->hdroff, c->body_fd, c->body_off,
			    c->body_left, &sent);
			conn_consume(c, sent);
			if (error != 0)
				return (error);
			if (sent < want)
				return (EIO); /* the file shrank */
			continue;
		}
		if (c->chunklen == 0 && (error = conn_stage_chunk(c)) != 0)
			return (error);
		written = 0;
		error = tx_write(c->tx, c->chunk + c->chunkoff,
		    c->chunklen - c->chunkoff, &written);
		c->chunkoff += written;
		c->app_bytes += written;
		if (c->chunkoff == c->chunklen)
			c->chunklen = c->chunkoff = 0;
		if (error != 0)
			return (error);
	}
	return (0);
}

/*
 * Answer what can be answered now: send the response in progress, then
 * take the next buffered request, until the transmit path would block or
 * nothing is left.  One loop, so that a client pipelining thousands of
 * requests costs no stack.
 */
static void
conn_run(struct conn *c)
{
	int error;

	while (!c->closed) {
		if (c->state == CS_CLOSING) {
			conn_finish_step(c);
			return;
		}
		if (c->state != CS_OPEN)
			return;
		if (conn_busy(c)) {
			error = conn_send(c);
			if (error == EAGAIN)
				return;
			if (error != 0) {
				conn_close(c,
				    error == EIO ? "file read error" :
						   "write error");
				return;
			}
			if (c->body_fd >= 0) {
				close(c->body_fd);
				c->body_fd = -1;
			}
			if (c->close_after)
				conn_finish(c,
				    "response with Connection: close");
			continue;
		}
		if (c->inlen > 0 && conn_next_request(c))
			continue;
		if (!c->rd_eof)
			return;
		conn_finish(c, c->eof_reason);
	}
}

/*
 * The handshake is done: pick the transmit backend.  In --mode sw the
 * kernel takes the transmit direction; when it cannot (a suite or an
 * extension ktls(4) does not do), the connection stays with libssl, as
 * OpenSSL's ktls_start() falls back, and the log says why.
 */
static void
conn_established(struct conn *c)
{
	struct server *s = c->srv;
	struct tx_conf conf;
	char why[200];

	c->state = CS_OPEN;
	memset(&conf, 0, sizeof(conf));
	conf.base = s->base;
	conf.fd = c->fd;
	conf.ssl = c->ssl;
	conf.id = c->id;
	conf.trace = c->trace;
	conf.sndbuf = s->sndbuf;
	conf.up.progress = conn_tx_progress;
	conf.up.failed = conn_tx_failed;
	conf.up.arg = c;
	if (s->mode == SRV_MODE_SW || s->mode == SRV_MODE_NIC) {
		c->tx = tx_kern_new(&conf, why, sizeof(why));
		if (c->tx != NULL)
			c->txstats =
			    s->mode == SRV_MODE_NIC ? &s->tx_nic : &s->tx_sw;
		else {
			/* Like OpenSSL, fall back; unlike it, say why. */
			s->fallbacks++;
			srv_log("conn %ju %s: %s %s: KTLS off, userland TLS: "
				"%s",
			    (uintmax_t)c->id, c->peer, SSL_get_version(c->ssl),
			    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
			    why);
		}
	}
	if (c->tx == NULL) {
		/* Traces follow the kernel's connections only. */
		sim_tap_set_wire_fn(c->ssl, NULL, NULL);
		bridge_conn_free(c->trace);
		c->trace = NULL;
		c->tx = tx_userland_new(&conf);
		if (c->tx == NULL) {
			srv_log("conn %ju: out of memory", (uintmax_t)c->id);
			conn_close(c, "setup failed");
			return;
		}
		c->txstats = &s->tx_userland;
	}
	c->txstats->conns++;
	srv_log("conn %ju %s: %s %s %s%s", (uintmax_t)c->id, c->peer,
	    SSL_get_version(c->ssl),
	    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
	    tx_mode_name(c->tx),
	    SSL_session_reused(c->ssl) ? " (resumed)" : "");
}

/* Returns true once the handshake is done. */
static bool
conn_handshake(struct conn *c)
{
	unsigned long e;
	int rv, err;

	rv = SSL_do_handshake(c->ssl);
	if (rv == 1) {
		conn_established(c);
		return (!c->closed);
	}
	err = SSL_get_error(c->ssl, rv);
	if (err == SSL_ERROR_WANT_READ)
		return (false);
	if (err == SSL_ERROR_WANT_WRITE) {
		event_add(c->ev_wr, NULL);
		return (false);
	}
	if (sim_tap_rx_bytes(c->ssl) == 0) {
		/* Connected and left without a byte: not a TLS client. */
		ERR_clear_error();
		conn_close(c, "closed before ClientHello");
		return (false);
	}
	c->srv->handshake_failed++;
	e = ERR_peek_last_error();
	srv_log("conn %ju %s: handshake failed: %s", (uintmax_t)c->id, c->peer,
	    e != 0 ? ERR_reason_error_string(e) : "connection closed");
	ERR_clear_error();
	conn_close(c, "handshake failed");
	return (false);
}

/*
 * The peer sent TLS 1.3 KeyUpdate(s) (RFC 8446 4.6.3).  libssl decrypts
 * what we receive, so it follows the peer's new key by itself; whether our
 * transmit direction can follow an update_requested is the backend's
 * answer (ktls(4) cannot rekey).  Returns false after starting to close.
 */
static bool
conn_key_update(struct conn *c)
{
	const char *how;
	uint64_t n;
	bool requested;
	int error;

	n = sim_tap_peer_key_updates(c->ssl, &requested);
	if (n == c->key_updates_seen)
		return (true);
	c->srv->key_updates += n - c->key_updates_seen;
	c->key_updates_seen = n;
	error = tx_key_update(c->tx, requested, &how);
	srv_log("conn %ju %s: peer KeyUpdate (%s)%s", (uintmax_t)c->id, c->peer,
	    requested ? "update_requested" : "update_not_requested", how);
	if (error == 0)
		return (true);
	/*
	 * Abandon the response in progress (the client would wait for our
	 * KeyUpdate before it) and close in order: close_notify under the
	 * key the client still reads with, then FIN.
	 */
	c->srv->key_updates_refused++;
	conn_abandon_response(c);
	conn_finish(c, "KeyUpdate refused");
	return (false);
}

/*
 * libssl failed on what the peer sent after the handshake (a bad record
 * MAC, garbage, a record too long, ...).  It wrote a fatal alert: the
 * backend sends it, or libssl did, before the close (RFC 8446 section
 * 6.2).  Nothing else is sent after it.
 */
static void
conn_tls_error(struct conn *c)
{
	unsigned long e;
	int desc;

	e = ERR_peek_last_error();
	desc = (c->alert_out >> 8) == SSL3_AL_FATAL ? c->alert_out & 0xff : -1;
	srv_log("conn %ju %s: TLS error: %s; %s%s", (uintmax_t)c->id, c->peer,
	    e != 0 ? ERR_reason_error_string(e) : "unknown",
	    desc >= 0 ? "sending alert " : "no alert",
	    desc >= 0 ? SSL_alert_desc_string_long(desc) : "");
	ERR_clear_error();
	conn_abandon_response(c);
	c->rd_eof = true;
	if (tx_fatal(c->tx, c->alert_out) != 0) {
		conn_close(c, "TLS error");
		return;
	}
	conn_finish(c, "TLS error");
}

/* Why conn_read() stopped. */
enum conn_rd {
	RD_BLOCKED, /* nothing more to read now */
	RD_FULL,    /* c->in is full */
	RD_DONE,    /* no more reading on this connection */
};

/*
 * Move what libssl decrypts into c->in, up to its size.  The peer's
 * close_notify or FIN ends reading but not the connection: requests
 * already received are still answered (RFC 8446 section 6.1).
 */
static enum conn_rd
conn_read(struct conn *c)
{
	int rv, err;

	for (;;) {
		if (c->closed || c->state != CS_OPEN || c->rd_eof)
			return (RD_DONE);
		if (c->inlen == sizeof(c->in))
			return (RD_FULL);
		/*
		 * A drive for send progress, not for input: spare the
		 * read(2) that SSL_read() would make in vain.
		 */
		if (c->rd_blocked)
			return (RD_BLOCKED);
		rv = SSL_read(c->ssl, c->in + c->inlen,
		    sizeof(c->in) - c->inlen);
		if (!conn_key_update(c))
			return (RD_DONE);
		if (rv > 0) {
			c->inlen += rv;
			continue;
		}
		err = SSL_get_error(c->ssl, rv);
		switch (err) {
		case SSL_ERROR_WANT_READ:
			c->rd_blocked = true;
			return (RD_BLOCKED);
		case SSL_ERROR_WANT_WRITE:
			/*
			 * libssl answers something (userland transmit only:
			 * after a hand-over the tap takes every write).
			 */
			event_add(c->ev_wr, NULL);
			return (RD_BLOCKED);
		case SSL_ERROR_ZERO_RETURN:
			/*
			 * close_notify, or a FIN without it: the context has
			 * SSL_OP_IGNORE_UNEXPECTED_EOF, so that libssl stays
			 * usable for the responses still owed.
			 */
			ERR_clear_error();
			c->rd_eof = true;
			c->eof_reason = c->got_close_notify ?
			    "peer close_notify" :
			    "peer closed";
			return (RD_DONE);
		case SSL_ERROR_SSL:
			conn_tls_error(c);
			return (RD_DONE);
		default:
			/* SSL_ERROR_SYSCALL: a reset or another socket error.
			 */
			ERR_clear_error();
			conn_close(c, "peer closed");
			return (RD_DONE);
		}
	}
}

/*
 * Make all the progress possible without waiting: read, answer, read again
 * where answering made room, then wait for the right events.
 */
static void
conn_drive(struct conn *c)
{
	enum conn_rd rd;

	for (;;) {
		rd = conn_read(c);
		if (c->closed)
			return;
		conn_run(c);
		if (c->closed)
			return;
		/*
		 * Input was left behind when the buffer filled; libssl may
		 * hold it already decrypted, where no read event would
		 * announce it.  Go again once there is room.
		 */
		if (rd != RD_FULL || c->inlen == sizeof(c->in))
			break;
	}
	conn_update_events(c);
}

/* The backend's upcall: what a send or the shutdown waited for is here. */
static void
conn_tx_progress(void *arg)
{
	struct conn *c = arg;

	if (c->state == CS_OPEN || c->state == CS_CLOSING)
		conn_drive(c);
	conn_reap(c);
}

/* The backend's upcall: the wire failed. */
static void
conn_tx_failed(void *arg, int error)
{
	struct conn *c = arg;

	conn_close(c, "wire error");
	conn_reap(c);
}

/* CS_CLOSING and CS_LINGER: read and drop; only the FIN matters. */
static void
conn_drain(struct conn *c)
{
	char buf[4096];
	ssize_t n;

	n = read(c->fd, buf, sizeof(buf));
	if (n > 0) {
		bridge_conn_client(c->trace, buf, n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && c->state == CS_CLOSING) {
		/*
		 * The peer's FIN came first: our alert and FIN are still
		 * queued in the transmit path.  Let them go out (the upcall
		 * then lingers and closes); a peer that is gone answers with
		 * a reset, i.e. a wire error.
		 */
		c->tcp_eof = true;
		conn_update_events(c);
		return;
	}
	conn_close(c, c->close_reason);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timespec now;
	struct timeval tv;
	uint64_t progress;

	switch (c->timer) {
	case CT_HANDSHAKE:
		conn_close(c, "handshake timeout");
		break;
	case CT_IDLE:
		conn_close(c, "idle timeout");
		break;
	case CT_HEADER:
		conn_close(c, "request header timeout");
		break;
	case CT_SEND:
		/*
		 * Close when the client accepted no byte for send_timeout
		 * seconds; checked every quarter of it.
		 */
		clock_gettime(CLOCK_MONOTONIC, &now);
		progress = tx_wire_bytes(c->tx);
		if (progress != c->progress_seen) {
			c->progress_seen = progress;
			c->progress_at = now;
		} else if (now.tv_sec - c->progress_at.tv_sec >=
		    c->srv->send_timeout) {
			conn_close(c, "send timeout");
			break;
		}
		tv.tv_sec = (c->srv->send_timeout + 3) / 4;
		tv.tv_usec = 0;
		event_add(c->ev_tmo, &tv);
		break;
	case CT_LINGER:
		conn_close(c, c->close_reason);
		break;
	default:
		break;
	}
	conn_reap(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CS_HANDSHAKE:
		if (conn_handshake(c))
			conn_drive(c);
		else if (!c->closed)
			conn_update_events(c);
		break;
	case CS_OPEN:
		c->rd_blocked = false;
		conn_drive(c);
		break;
	case CS_CLOSING:
	case CS_LINGER:
		conn_drain(c);
		break;
	}
	conn_reap(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CS_HANDSHAKE:
		if (conn_handshake(c))
			conn_drive(c);
		break;
	case CS_OPEN:
	case CS_CLOSING:
		conn_drive(c);
		break;
	case CS_LINGER:
		break;
	}
	conn_reap(c);
}

/* libssl's alerts, both ways (SSL_set_info_callback(3)). */
static void
conn_info_cb(const SSL *ssl, int where, int ret)
{
	struct conn *c;

	c = SSL_get_app_data(ssl);
	if (c == NULL)
		return;
	if ((where & SSL_CB_ALERT) == 0)
		return;
	/* SSL_CB_READ_ALERT and SSL_CB_WRITE_ALERT share SSL_CB_ALERT. */
	if (where & SSL_CB_WRITE)
		c->alert_out = ret;
	else if ((ret & 0xff) == SSL_AD_CLOSE_NOTIFY)
		c->got_close_notify = true;
}

void
format_peer(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;

	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else
		snprintf(buf, len, "?");
}

void
conn_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *s = arg;
	struct conn *c;
	BIO *rbio, *wbio;
	int one;

	s->accepted++;
	s->active++;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		s->active--;
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->body_fd = -1;
	c->id = ++s->next_id;
	c->state = CS_HANDSHAKE;
	c->close_reason = "closed";
	LIST_INSERT_HEAD(&s->conns, c, link);
	format_peer(sa, c->peer, sizeof(c->peer));
	one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ssl = SSL_new(s->ctx);
	rbio = BIO_new_socket(fd, BIO_NOCLOSE);
	wbio = BIO_new_socket(fd, BIO_NOCLOSE);
	c->ev_rd =
	    event_new(s->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_wr = event_new(s->base, fd, EV_WRITE, conn_write_cb, c);
	c->ev_tmo = evtimer_new(s->base, conn_timer_cb, c);
	if (c->ssl == NULL || rbio == NULL || wbio == NULL ||
	    c->ev_rd == NULL || c->ev_wr == NULL || c->ev_tmo == NULL ||
	    sim_tap_attach(c->ssl, rbio, wbio) != 0) {
		BIO_free(rbio);
		BIO_free(wbio);
		srv_log("conn %ju: out of memory", (uintmax_t)c->id);
		conn_close(c, "setup failed");
		conn_reap(c);
		return;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_info_callback(c->ssl, conn_info_cb);
	SSL_set_accept_state(c->ssl);
	/* --trace: the handshake is kept for the kernel's trace. */
	if (s->trace != NULL && s->mode != SRV_MODE_USERLAND) {
		c->trace = bridge_conn_new(s->trace, c->id, c->peer, s->port);
		if (c->trace != NULL)
			sim_tap_set_wire_fn(c->ssl, bridge_wire, c->trace);
	}
	event_add(c->ev_rd, NULL);
	conn_arm_timer(c, CT_HANDSHAKE);
	if (s->verbose)
		srv_log("conn %ju %s: accepted", (uintmax_t)c->id, c->peer);
}

void
conn_close_all(struct server *s)
{
	struct conn *c;

	while ((c = LIST_FIRST(&s->conns)) != NULL) {
		conn_close(c, "server exit");
		conn_reap(c);
	}
}
