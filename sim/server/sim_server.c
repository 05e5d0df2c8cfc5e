/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server: an HTTPS file server whose transmit side is FreeBSD's kernel
 * TLS, simulated.  The handshake runs in userland with libssl on a real TCP
 * socket; then, in --mode sw, the server derives struct tls_enable
 * (sim/keys.c), enables TCP_TXTLS_ENABLE on the connection's simulated
 * socket and from then on every byte the client reads was framed and
 * encrypted by src/.  Received bytes are still decrypted by libssl.
 *
 * With no arguments it generates a self-signed certificate and a sample
 * document root, prints client command lines and serves on
 * SRV_DEFAULT_LISTEN.
 */

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <arpa/inet.h>

#include <assert.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "sim/server/sim_server.h"

static struct server srv;
static struct event *accept_resume;    /* re-enables accept after EMFILE */
static char sample_dir[PATH_MAX - 64]; /* generated root's parent, removed */

void
srv_log(const char *fmt, ...)
{
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld sim_server: ", ts, now.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
srv_count_status(int status)
{

	if (status >= 100 && status < 600)
		srv.status[status / 100]++;
}

static void
srv_count_close(const char *reason)
{
	int i;

	for (i = 0; i < SRV_MAX_CLOSE_REASONS; i++) {
		if (srv.closes[i].reason == NULL)
			srv.closes[i].reason = reason;
		if (srv.closes[i].reason == reason ||
		    strcmp(srv.closes[i].reason, reason) == 0) {
			srv.closes[i].n++;
			return;
		}
	}
}

/*
 * Counters: sim_server's own, and the kernel's (kern.ipc.tls.*, by sysctl
 * leaf name).  docs/sim_server.md describes every field.
 */
static json_t *
srv_counters_json(void)
{
	json_t *o, *tx, *st, *closes;
	json_t *kern;
	int i;

	st = json_object();
	for (i = 1; i < 6; i++) {
		char k[8];

		snprintf(k, sizeof(k), "%dxx", i);
		json_object_set_new(st, k, json_integer(srv.status[i]));
	}
	tx = json_pack("{s:{s:I,s:I,s:I},s:{s:I,s:I,s:I}}", "userland",
	    "connections", (json_int_t)srv.tx_userland.conns, "bytes",
	    (json_int_t)srv.tx_userland.bytes, "records",
	    (json_int_t)srv.tx_userland.records, "ktls_sw", "connections",
	    (json_int_t)srv.tx_sw.conns, "bytes", (json_int_t)srv.tx_sw.bytes,
	    "records", (json_int_t)srv.tx_sw.records);
	closes = json_object();
	for (i = 0; i < SRV_MAX_CLOSE_REASONS && srv.closes[i].reason != NULL;
	     i++)
		json_object_set_new(closes, srv.closes[i].reason,
		    json_integer((json_int_t)srv.closes[i].n));
	kern = srv_kern_counters();
	o = json_pack("{s:{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o},"
		      "s:o}",
	    "sim_server", "mode", srv.mode == SRV_MODE_SW ? "sw" : "userland",
	    "accepted", (json_int_t)srv.accepted, "accept_errors",
	    (json_int_t)srv.accept_errors, "active", (json_int_t)srv.active,
	    "handshake_failed", (json_int_t)srv.handshake_failed, "requests",
	    (json_int_t)srv.requests, "ktls_fallbacks",
	    (json_int_t)srv.fallbacks, "key_updates",
	    (json_int_t)srv.key_updates, "key_updates_refused",
	    (json_int_t)srv.key_updates_refused, "responses", st, "closed",
	    closes, "tx", tx, "kern.ipc.tls",
	    kern != NULL ? kern : json_null());
	return (o);
}

static void
srv_dump_counters(FILE *fp)
{
	json_t *o;

	o = srv_counters_json();
	if (o == NULL)
		return;
	json_dumpf(o, fp, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', fp);
	fflush(fp);
	json_decref(o);
}

/*
 * GET /stats (--stats): the counters as a file, so that the response goes
 * through the same path (sendfile or write, KTLS or userland) as any other.
 */
static int
srv_stats_file(off_t *sizep)
{
	struct stat sb;
	json_t *o;
	char *txt;
	size_t len, off;
	ssize_t n;
	int fd;

	o = srv_counters_json();
	txt = o != NULL ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (txt == NULL)
		return (-1);
	fd = memfd_create("sim_server-stats", MFD_CLOEXEC);
	len = strlen(txt);
	for (off = 0; fd >= 0 && off < len; off += n) {
		n = write(fd, txt + off, len - off);
		if (n <= 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0 && (write(fd, "\n", 1) != 1 || fstat(fd, &sb) != 0)) {
		close(fd);
		fd = -1;
	}
	free(txt);
	if (fd >= 0)
		*sizep = sb.st_size;
	return (fd);
}

/* TCP_TXTLS_MODE's value as in ktls(4): NONE, SW, IFNET, TOE. */
static const char *
conn_mode_name(struct conn *c)
{

	switch (c->ktls ? conn_ktls_mode(c) : 0) {
	case 1:
		return ("tx=kernel ktls=SW");
	case 2:
		return ("tx=kernel ktls=IFNET");
	case 3:
		return ("tx=kernel ktls=TOE");
	}
	return (c->ktls ? "tx=kernel ktls=NONE" : "tx=userland ktls=NONE");
}

static uint64_t
conn_records(struct conn *c)
{

	if (c->ktls)
		return (conn_ktls_records(c));
	return (sim_keys_records_written(c->ssl) - c->recs_base);
}

/* Bytes the transmit path handed to the real socket so far. */
static uint64_t
conn_wire_progress(struct conn *c)
{

	if (c->ktls)
		return (atomic_load(&c->wire_bytes));
	return (sim_keys_wire_bytes(c->ssl));
}

static void
conn_free(struct conn *c)
{

	/* conn_close() gave the simulated socket back: no worker is left. */
	assert(c->so == NULL);
	if (c->ev_rd != NULL)
		event_free(c->ev_rd);
	if (c->ev_wr != NULL)
		event_free(c->ev_wr);
	if (c->ev_tmo != NULL)
		event_free(c->ev_tmo);
	if (c->ev_kick != NULL)
		event_free(c->ev_kick);
	SSL_free(c->ssl);
	free(c->tr_buf);
	if (c->body_fd >= 0)
		close(c->body_fd);
	close(c->fd);
	free(c);
}

/*
 * Close now: count, log the per-connection summary line, stop every event
 * and give the simulated socket back.  The memory stays until conn_reap().
 */
void
conn_close(struct conn *c, const char *reason)
{
	struct srv_txstats *tx;
	const char *mode;
	uint64_t recs, bytes;

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
	/* Records and mode are read before the socket goes. */
	recs = c->state != CS_HANDSHAKE ? conn_records(c) : 0;
	mode = conn_mode_name(c);
	if (c->ktls || c->so != NULL)
		conn_ktls_free(c);
	srv_count_close(reason);
	if (c->state != CS_HANDSHAKE) {
		/* Only what left for the client; a reset loses the rest. */
		bytes = c->app_bytes - c->undelivered;
		tx = c->ktls ? &srv.tx_sw : &srv.tx_userland;
		tx->bytes += bytes;
		tx->records += recs;
		srv_log("conn %ju %s closed (%s): %s %s %s requests=%ju "
			"bytes=%ju records=%ju",
		    (uintmax_t)c->id, c->peer, reason, SSL_get_version(c->ssl),
		    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)), mode,
		    (uintmax_t)c->nrequests, (uintmax_t)bytes, (uintmax_t)recs);
	} else if (srv.verbose)
		srv_log("conn %ju %s closed during handshake (%s)",
		    (uintmax_t)c->id, c->peer, reason);
	srv.active--;
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
		secs = srv.handshake_timeout;
		break;
	case CT_IDLE:
		secs = srv.idle_timeout;
		break;
	case CT_HEADER:
		secs = srv.header_timeout;
		break;
	case CT_SEND:
		/* Checked a few times per period: see conn_timer_cb(). */
		secs = srv.send_timeout > 0 ? (srv.send_timeout + 3) / 4 : 0;
		c->progress_seen = conn_wire_progress(c);
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
			sim_keys_rx_bytes(c->ssl) != c->rx_at_idle))
			/* Part of a request, maybe still inside a record. */
			conn_arm_timer(c, CT_HEADER);
		else if (c->timer != CT_HEADER) {
			c->rx_at_idle = sim_keys_rx_bytes(c->ssl);
			conn_arm_timer(c, CT_IDLE);
		}
		break;
	case CS_CLOSING:
		/* KTLS drains the peer's bytes; libssl needs no reading. */
		want_read = c->ktls && !c->tcp_eof;
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
	int rv, error;

	if (c->ktls) {
		/* The alert (RFC 8446 6.1) through the kernel, then FIN. */
		error = conn_ktls_shutdown(c);
		if (error == EAGAIN)
			return;
		if (error != 0)
			conn_close(c, c->close_reason);
		else if (atomic_load(&c->fin_sent))
			conn_linger(c);
		return;
	}
	rv = SSL_shutdown(c->ssl);
	if (rv < 0 && SSL_get_error(c->ssl, rv) == SSL_ERROR_WANT_WRITE) {
		event_add(c->ev_wr, NULL);
		return;
	}
	ERR_clear_error();
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

	srv.requests++;
	srv_count_status(status);
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
	if (srv.verbose)
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
	if (srv.stats_url &&
	    (strcmp(rq.target, "/stats") == 0 ||
		strncmp(rq.target, "/stats?", 7) == 0)) {
		size = 0;
		fd = srv_stats_file(&size);
		conn_set_response(c, fd >= 0 ? 200 : 500, &rq, fd, size,
		    "application/json");
		return (true);
	}
	fd = -1;
	size = 0;
	status = http_resolve(srv.root, rq.target, path, sizeof(path));
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
 * the header, then the body read from the file.  Both write paths use it
 * (SSL_write() here, ksim_write() for ktls without sendfile); the chunk
 * stays empty only when the response is done.
 */
int
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

/* Userland TLS: stage up to one record of plaintext and SSL_write() it. */
static int
conn_userland_send(struct conn *c)
{
	int error, rv, err;

	for (;;) {
		if (c->chunklen == 0) {
			if ((error = conn_stage_chunk(c)) != 0)
				return (error);
			if (c->chunklen == 0)
				return (0);
		}
		rv = SSL_write(c->ssl, c->chunk, c->chunklen);
		if (rv <= 0) {
			err = SSL_get_error(c->ssl, rv);
			if (err == SSL_ERROR_WANT_WRITE) {
				event_add(c->ev_wr, NULL);
				return (EAGAIN);
			}
			if (err == SSL_ERROR_WANT_READ)
				return (EAGAIN);
			ERR_clear_error();
			return (EPIPE);
		}
		c->app_bytes += rv;
		c->chunklen = 0;
	}
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
			error =
			    c->ktls ? conn_ktls_send(c) : conn_userland_send(c);
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

static void
conn_established(struct conn *c)
{
	char why[200];

	c->state = CS_OPEN;
	c->recs_base = sim_keys_records_written(c->ssl);
	if (srv.mode == SRV_MODE_SW) {
		if (conn_ktls_enable(c, why, sizeof(why)) == 0) {
			c->ktls = true;
			srv.tx_sw.conns++;
			conn_trace_start(c);
		} else {
			/* Like OpenSSL, fall back; unlike it, say why. */
			srv.fallbacks++;
			srv_log("conn %ju %s: %s %s: KTLS off, userland TLS: "
				"%s",
			    (uintmax_t)c->id, c->peer, SSL_get_version(c->ssl),
			    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
			    why);
		}
	}
	if (!c->ktls) {
		srv.tx_userland.conns++;
		/* Traces follow the kernel's connections only. */
		sim_keys_set_wire_fn(c->ssl, NULL, NULL);
		free(c->tr_buf);
		c->tr_buf = NULL;
	}
	srv_log("conn %ju %s: %s %s %s%s", (uintmax_t)c->id, c->peer,
	    SSL_get_version(c->ssl),
	    SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
	    conn_mode_name(c), SSL_session_reused(c->ssl) ? " (resumed)" : "");
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
		return (true);
	}
	err = SSL_get_error(c->ssl, rv);
	if (err == SSL_ERROR_WANT_READ)
		return (false);
	if (err == SSL_ERROR_WANT_WRITE) {
		event_add(c->ev_wr, NULL);
		return (false);
	}
	if (sim_keys_rx_bytes(c->ssl) == 0) {
		/* Connected and left without a byte: not a TLS client. */
		ERR_clear_error();
		conn_close(c, "closed before ClientHello");
		return (false);
	}
	srv.handshake_failed++;
	e = ERR_peek_last_error();
	srv_log("conn %ju %s: handshake failed: %s", (uintmax_t)c->id, c->peer,
	    e != 0 ? ERR_reason_error_string(e) : "connection closed");
	ERR_clear_error();
	conn_close(c, "handshake failed");
	return (false);
}

/*
 * The peer sent TLS 1.3 KeyUpdate(s) (RFC 8446 4.6.3).  libssl decrypts
 * what we receive, so it follows the peer's new key by itself.  But
 * update_requested asks us to rekey our transmit direction, which ktls(4)
 * cannot do (a second TCP_TXTLS_ENABLE is EALREADY), and libssl's answer
 * (a KeyUpdate under keys the kernel does not use) was dropped by the tap
 * (sim_keys_stop_writes()).  Returns false after starting to close.
 */
static bool
conn_key_update(struct conn *c)
{
	uint64_t n;
	bool requested;

	n = sim_keys_peer_key_updates(c->ssl, &requested);
	if (n == c->key_updates_seen)
		return (true);
	srv.key_updates += n - c->key_updates_seen;
	c->key_updates_seen = n;
	if (!c->ktls) {
		/* Userland TLS: libssl rekeys both directions itself. */
		srv_log("conn %ju %s: peer KeyUpdate (%s), handled by libssl",
		    (uintmax_t)c->id, c->peer,
		    requested ? "update_requested" : "update_not_requested");
		return (true);
	}
	if (!requested) {
		srv_log("conn %ju %s: peer KeyUpdate (update_not_requested): "
			"receive key updated in userland, KTLS transmit "
			"unchanged",
		    (uintmax_t)c->id, c->peer);
		return (true);
	}
	/*
	 * Abandon the response in progress (the client would wait for our
	 * KeyUpdate before it) and close in order: close_notify under the
	 * key the client still reads with, then FIN.
	 */
	srv.key_updates_refused++;
	srv_log("conn %ju %s: peer KeyUpdate (update_requested): KTLS transmit "
		"cannot rekey (TCP_TXTLS_ENABLE is once per socket), closing",
	    (uintmax_t)c->id, c->peer);
	conn_abandon_response(c);
	conn_finish(c, "KeyUpdate refused");
	return (false);
}

/*
 * libssl failed on what the peer sent after the handshake (a bad record
 * MAC, garbage, a record too long, ...).  It wrote a fatal alert: in
 * userland mode that alert is on its way; in KTLS mode the tap dropped it,
 * so the kernel sends it (RFC 8446 section 6.2: the alert comes before the
 * close).  Nothing else is sent after it.
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
	if (!c->ktls) {
		/* libssl sent its alert itself: our FIN follows it. */
		c->close_reason = "TLS error";
		conn_linger(c);
		return;
	}
	if (desc < 0) {
		conn_close(c, "TLS error");
		return;
	}
	c->alert[0] = SSL3_AL_FATAL;
	c->alert[1] = (uint8_t)desc;
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
			return (RD_BLOCKED);
		case SSL_ERROR_WANT_WRITE:
			/* A KTLS connection's libssl writes nowhere. */
			if (!c->ktls)
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

void
conn_wakeup(struct conn *c)
{

	if (atomic_load(&c->wire_error) != 0)
		conn_close(c, "wire error");
	else if (c->state == CS_OPEN || c->state == CS_CLOSING)
		conn_drive(c);
	conn_reap(c);
}

/* CS_CLOSING (KTLS) and CS_LINGER: read and drop; only the FIN matters. */
static void
conn_drain(struct conn *c)
{
	char buf[4096];
	ssize_t n;

	n = read(c->fd, buf, sizeof(buf));
	if (n > 0) {
		conn_trace_client(c, buf, n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && c->state == CS_CLOSING) {
		/*
		 * The peer's FIN came first: our alert and FIN are still
		 * queued in the kernel.  Let them go out (the wakeup then
		 * lingers and closes); a peer that is gone answers with a
		 * reset, i.e. a wire error.
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
		progress = conn_wire_progress(c);
		if (progress != c->progress_seen) {
			c->progress_seen = progress;
			c->progress_at = now;
		} else if (now.tv_sec - c->progress_at.tv_sec >=
		    srv.send_timeout) {
			conn_close(c, "send timeout");
			break;
		}
		tv.tv_sec = (srv.send_timeout + 3) / 4;
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

	if (c->ktls) {
		conn_ktls_writable(c);
		return;
	}
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

static void
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

static void
srv_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct conn *c;
	BIO *rbio, *wbio;
	int one;

	srv.accepted++;
	srv.active++;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		srv.active--;
		close(fd);
		return;
	}
	c->srv = &srv;
	c->fd = fd;
	c->body_fd = -1;
	c->id = ++srv.next_id;
	c->state = CS_HANDSHAKE;
	c->close_reason = "closed";
	LIST_INSERT_HEAD(&srv.conns, c, link);
	format_peer(sa, c->peer, sizeof(c->peer));
	one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ssl = SSL_new(srv.ctx);
	rbio = BIO_new_socket(fd, BIO_NOCLOSE);
	wbio = BIO_new_socket(fd, BIO_NOCLOSE);
	c->ev_rd =
	    event_new(srv.base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_wr = event_new(srv.base, fd, EV_WRITE, conn_write_cb, c);
	c->ev_tmo = evtimer_new(srv.base, conn_timer_cb, c);
	if (c->ssl == NULL || rbio == NULL || wbio == NULL ||
	    c->ev_rd == NULL || c->ev_wr == NULL || c->ev_tmo == NULL ||
	    sim_keys_attach(c->ssl, rbio, wbio) != 0) {
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
	if (srv.trace != NULL && srv.mode == SRV_MODE_SW)
		sim_keys_set_wire_fn(c->ssl, conn_trace_wire, c);
	event_add(c->ev_rd, NULL);
	conn_arm_timer(c, CT_HANDSHAKE);
	if (srv.verbose)
		srv_log("conn %ju %s: accepted", (uintmax_t)c->id, c->peer);
}

static void
srv_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{

	evconnlistener_enable(arg);
}

static void
srv_accept_error_cb(struct evconnlistener *lst, void *arg)
{
	struct timeval tv = { 0, 100000 };
	int error;

	/*
	 * EMFILE and friends: keep serving the connections we have, and stop
	 * accepting for a moment instead of spinning on the pending one.
	 */
	error = EVUTIL_SOCKET_ERROR();
	srv.accept_errors++;
	if (srv.accept_errors < 10 || srv.accept_errors % 1000 == 0)
		srv_log("accept: %s (%ju so far)", strerror(error),
		    (uintmax_t)srv.accept_errors);
	if (accept_resume == NULL)
		accept_resume =
		    evtimer_new(srv.base, srv_accept_resume_cb, lst);
	if (accept_resume != NULL) {
		evconnlistener_disable(lst);
		evtimer_add(accept_resume, &tv);
	}
}

static void
srv_signal_cb(evutil_socket_t sig, short what, void *arg)
{

	if (sig == SIGUSR1) {
		srv_dump_counters(stdout);
		return;
	}
	srv_log("signal %d, exiting", (int)sig);
	event_base_loopexit(srv.base, NULL);
}

/* The generated document root: a few files, one of a few MiB. */
static void
sample_write(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX + 64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wx");
	if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		err(1, "%s", path);
}

static void
sample_root(char *root, size_t rootlen)
{
	static const char index_html[] =
	    "<!DOCTYPE html>\n<html><head><title>ktlsim</title></head>\n"
	    "<body><h1>ktlsim sim_server</h1>\n"
	    "<p>Every byte of this page was framed and encrypted by the\n"
	    "simulated FreeBSD kernel TLS (in --mode sw).</p>\n"
	    "<ul><li><a href=\"hello.txt\">hello.txt</a></li>\n"
	    "<li><a href=\"random.bin\">random.bin</a> (4 MiB)</li>\n"
	    "<li><a href=\"empty.txt\">empty.txt</a></li></ul>\n"
	    "</body></html>\n";
	static const char hello[] = "Hello from the simulated kernel.\n";
	const char *tmp;
	uint8_t *buf;
	size_t len;

	tmp = getenv("TMPDIR");
	snprintf(sample_dir, sizeof(sample_dir), "%s/sim_server.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(sample_dir) == NULL)
		err(1, "mkdtemp");
	snprintf(root, rootlen, "%s/www", sample_dir);
	if (mkdir(root, 0755) != 0)
		err(1, "%s", root);
	sample_write(root, "index.html", index_html, sizeof(index_html) - 1);
	sample_write(root, "hello.txt", hello, sizeof(hello) - 1);
	sample_write(root, "empty.txt", "", 0);
	/* Not a multiple of the record size: exercises the short tail. */
	len = 4 * 1024 * 1024 + 1234;
	buf = malloc(len);
	if (buf == NULL || RAND_bytes(buf, len) != 1)
		errx(1, "random sample");
	sample_write(root, "random.bin", buf, len);
	free(buf);
}

static void
sample_cleanup(void)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	DIR *d;

	if (sample_dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/www", sample_dir);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char f[PATH_MAX + 320];

			if (de->d_name[0] == '.')
				continue;
			snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
			unlink(f);
		}
		closedir(d);
	}
	rmdir(path);
	snprintf(path, sizeof(path), "%s/cert.pem", sample_dir);
	unlink(path);
	rmdir(sample_dir);
}

static void
usage(void)
{

	fprintf(stderr,
	    "usage: sim_server [-hv] [--listen addr:port] [--root dir]\n"
	    "                  [--cert file --key file] "
	    "[--mode userland|sw|nic] [--no-sendfile]\n"
	    "                  [--tls1 | --tls1.1 | --tls1.2 | --tls1.3] "
	    "[--ciphers list]\n"
	    "                  [--ciphersuites list] [--num-tickets n] "
	    "[--cpus n]\n"
	    "                  [--handshake-timeout s] [--header-timeout s] "
	    "[--idle-timeout s]\n"
	    "                  [--send-timeout s]\n"
	    "                  [--stats] [--trace file.{txt,jsonl,pcapng}]...\n"
	    "defaults: --listen %s --mode sw, generated certificate and "
	    "document root\n",
	    SRV_DEFAULT_LISTEN);
	exit(2);
}

enum {
	OPT_CERT = 256,
	OPT_KEY,
	OPT_NOSENDFILE,
	OPT_TLS10,
	OPT_TLS11,
	OPT_TLS12,
	OPT_TLS13,
	OPT_CIPHERS,
	OPT_SUITES,
	OPT_TICKETS,
	OPT_CPUS,
	OPT_IDLE,
	OPT_HANDSHAKE_TMO,
	OPT_HEADER_TMO,
	OPT_SEND_TMO,
	OPT_STATS,
	OPT_TRACE,
};

static const struct option longopts[] = {
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_SUITES },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TMO },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TMO },
	{ "help", no_argument, NULL, 'h' },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "listen", required_argument, NULL, 'l' },
	{ "mode", required_argument, NULL, 'm' },
	{ "no-sendfile", no_argument, NULL, OPT_NOSENDFILE },
	{ "num-tickets", required_argument, NULL, OPT_TICKETS },
	{ "root", required_argument, NULL, 'r' },
	{ "send-timeout", required_argument, NULL, OPT_SEND_TMO },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "tls1", no_argument, NULL, OPT_TLS10 },
	{ "tls1.1", no_argument, NULL, OPT_TLS11 },
	{ "tls1.2", no_argument, NULL, OPT_TLS12 },
	{ "tls1.3", no_argument, NULL, OPT_TLS13 },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* "a.b.c.d:port" or "[v6]:port"; port 0 picks a free one. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t hl;
	int len;

	colon = strrchr(s, ':');
	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
		return (-1); /* getaddrinfo() would wrap 65536 to 0 */
	hl = colon - s;
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return (-1);
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return (-1);
	len = res->ai_addrlen;
	memcpy(ss, res->ai_addr, len);
	freeaddrinfo(res);
	return (len);
}

static long
numarg(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi)
		errx(2, "%s: %s: expected %ld..%ld", what, s, lo, hi);
	return (v);
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct evconnlistener *lst;
	struct event *ev_usr1, *ev_int, *ev_term;
	char why[200], certpath[PATH_MAX + 32], bound[80];
	const char *listen_addr, *root, *cert, *key, *ciphers, *suites;
	const char *keylog;
	EVP_PKEY *pkey;
	FILE *keylog_fp, *fp;
	X509 *x509;
	char *traces[SRV_MAX_TRACES];
	struct rlimit rl;
	sigset_t sigs;
	int ch, sslen, version, ntickets, ncpus, port, ntraces;

	listen_addr = SRV_DEFAULT_LISTEN;
	root = cert = key = ciphers = suites = NULL;
	version = 0;
	ntickets = 2;
	ncpus = 2;
	ntraces = 0;
	srv.mode = SRV_MODE_SW;
	srv.use_sendfile = true;
	srv.handshake_timeout = 10;
	srv.header_timeout = 10;
	srv.idle_timeout = 60;
	srv.send_timeout = 60;
	while (
	    (ch = getopt_long(argc, argv, "hl:m:r:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "userland") == 0)
				srv.mode = SRV_MODE_USERLAND;
			else if (strcmp(optarg, "sw") == 0)
				srv.mode = SRV_MODE_SW;
			else if (strcmp(optarg, "nic") == 0)
				srv.mode = SRV_MODE_NIC;
			else
				errx(2,
				    "--mode: %s: expected userland, sw or "
				    "nic",
				    optarg);
			break;
		case 'r':
			root = optarg;
			break;
		case 'v':
			srv.verbose = true;
			break;
		case OPT_CERT:
			cert = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_NOSENDFILE:
			srv.use_sendfile = false;
			break;
		case OPT_TLS10:
			version = TLS1_VERSION;
			break;
		case OPT_TLS11:
			version = TLS1_1_VERSION;
			break;
		case OPT_TLS12:
			version = TLS1_2_VERSION;
			break;
		case OPT_TLS13:
			version = TLS1_3_VERSION;
			break;
		case OPT_CIPHERS:
			ciphers = optarg;
			break;
		case OPT_SUITES:
			suites = optarg;
			break;
		case OPT_TICKETS:
			ntickets = numarg(optarg, 0, 16, "--num-tickets");
			break;
		case OPT_CPUS:
			ncpus = numarg(optarg, 1, 256, "--cpus");
			break;
		case OPT_IDLE:
			srv.idle_timeout =
			    numarg(optarg, 0, 86400, "--idle-timeout");
			break;
		case OPT_HANDSHAKE_TMO:
			srv.handshake_timeout =
			    numarg(optarg, 0, 86400, "--handshake-timeout");
			break;
		case OPT_HEADER_TMO:
			srv.header_timeout =
			    numarg(optarg, 0, 86400, "--header-timeout");
			break;
		case OPT_SEND_TMO:
			srv.send_timeout =
			    numarg(optarg, 0, 86400, "--send-timeout");
			break;
		case OPT_STATS:
			srv.stats_url = true;
			break;
		case OPT_TRACE:
			if (ntraces == SRV_MAX_TRACES)
				errx(2, "--trace: at most %d files",
				    SRV_MAX_TRACES);
			traces[ntraces++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		errx(2,
		    "unexpected argument '%s' (every setting is an option; "
		    "see --help)",
		    argv[optind]);
	if (srv.mode == SRV_MODE_NIC)
		errx(1,
		    "--mode nic: not yet available (the simulated NIC "
		    "offload is not built yet); use --mode sw or userland");
	if ((cert == NULL) != (key == NULL))
		errx(2, "--cert and --key go together");

	sslen = parse_listen(listen_addr, &ss);
	if (sslen < 0)
		errx(2,
		    "--listen: %s: expected ADDR:PORT (a numeric address, "
		    "[v6]:PORT for IPv6, PORT 0..65535)",
		    listen_addr);
	port = ntohs(ss.ss_family == AF_INET6 ?
		((struct sockaddr_in6 *)&ss)->sin6_port :
		((struct sockaddr_in *)&ss)->sin_port);

	signal(SIGPIPE, SIG_IGN);
	/* Each connection is a descriptor: allow as many as we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Kernel workers call back into the event loop (tw_output). */
	if (evthread_use_pthreads() != 0)
		errx(1, "evthread_use_pthreads");

	/* TLS context. */
	srv.ctx = SSL_CTX_new(TLS_server_method());
	if (srv.ctx == NULL)
		errx(1, "SSL_CTX_new");
	keylog_fp = NULL;
	keylog = getenv("SSLKEYLOGFILE");
	if (keylog != NULL && *keylog != '\0') {
		keylog_fp = fopen(keylog, "a");
		if (keylog_fp == NULL)
			err(1, "SSLKEYLOGFILE %s", keylog);
	}
	if (sim_keys_setup_ctx(srv.ctx, keylog_fp) != 0)
		errx(1, "sim_keys_setup_ctx");
	if (version != 0) {
		if (version < TLS1_2_VERSION)
			/* SHA-1 handshake signatures need level 0. */
			SSL_CTX_set_security_level(srv.ctx, 0);
		if (!SSL_CTX_set_min_proto_version(srv.ctx, version) ||
		    !SSL_CTX_set_max_proto_version(srv.ctx, version))
			errx(1, "cannot pin the protocol version");
	}
	if (ciphers != NULL && !SSL_CTX_set_cipher_list(srv.ctx, ciphers))
		errx(2, "--ciphers: %s: no usable cipher", ciphers);
	if (suites != NULL && !SSL_CTX_set_ciphersuites(srv.ctx, suites))
		errx(2, "--ciphersuites: %s: no usable suite", suites);
	/*
	 * NewSessionTickets go out under the application key before the
	 * hand-over; sim/keys.c counts them into rec_seq.
	 */
	SSL_CTX_set_num_tickets(srv.ctx, ntickets);
	SSL_CTX_set_mode(srv.ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * A FIN without close_notify ends the client's requests, not our
	 * responses: libssl reports it like close_notify
	 * (SSL_ERROR_ZERO_RETURN) instead of failing the connection, so the
	 * response in progress can still be written.  conn_info_cb() tells the
	 * two apart for the log.
	 */
	SSL_CTX_set_options(srv.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

	if (root == NULL) {
		sample_root(srv.root, sizeof(srv.root));
		atexit(sample_cleanup);
	} else {
		struct stat sb;

		if (realpath(root, srv.root) == NULL)
			err(2, "--root %s", root);
		if (stat(srv.root, &sb) != 0 || !S_ISDIR(sb.st_mode))
			errx(2, "--root %s: not a directory", root);
	}
	certpath[0] = '\0';
	if (cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(srv.ctx, cert) != 1)
			errx(1, "--cert %s: cannot load", cert);
		if (SSL_CTX_use_PrivateKey_file(srv.ctx, key,
			SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(srv.ctx) != 1)
			errx(1, "--key %s: cannot load or does not match", key);
	} else {
		if (sim_keys_make_cert("localhost", &pkey, &x509) != 0)
			errx(1, "cannot generate a certificate");
		if (SSL_CTX_use_certificate(srv.ctx, x509) != 1 ||
		    SSL_CTX_use_PrivateKey(srv.ctx, pkey) != 1)
			errx(1, "cannot use the generated certificate");
		if (sample_dir[0] == '\0') {
			/* --root given: the certificate still needs a home. */
			const char *tmp = getenv("TMPDIR");

			snprintf(sample_dir, sizeof(sample_dir),
			    "%s/sim_server.XXXXXX",
			    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
			if (mkdtemp(sample_dir) == NULL)
				err(1, "mkdtemp");
			atexit(sample_cleanup);
		}
		snprintf(certpath, sizeof(certpath), "%s/cert.pem", sample_dir);
		fp = fopen(certpath, "wx");
		if (fp == NULL || PEM_write_X509(fp, x509) != 1 ||
		    fclose(fp) != 0)
			err(1, "%s", certpath);
		X509_free(x509);
		EVP_PKEY_free(pkey);
	}

	/*
	 * Only the event loop's thread takes SIGINT, SIGTERM and SIGUSR1:
	 * the kernel's worker threads start with them blocked.  After the
	 * loop ends they are blocked here too, so a second signal during
	 * shutdown cannot kill the process before the traces are flushed.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (srv.mode == SRV_MODE_SW &&
	    srv_kern_init(ncpus, why, sizeof(why)) != 0) {
		srv_log("simulated kernel unavailable (%s); every connection "
			"uses userland TLS",
		    why);
		srv.mode = SRV_MODE_USERLAND;
	}
	if (ntraces > 0) {
		if (srv.mode != SRV_MODE_SW)
			errx(2,
			    "--trace: needs --mode sw (traces record the "
			    "simulated kernel's records)");
		if (srv_trace_open(&srv, traces, ntraces, why, sizeof(why)) !=
		    0)
			errx(1, "--trace: %s", why);
	}

	srv.base = event_base_new();
	if (srv.base == NULL)
		errx(1, "event_base_new");
	lst = evconnlistener_new_bind(srv.base, srv_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    SOMAXCONN, (struct sockaddr *)&ss, sslen);
	if (lst == NULL)
		err(1, "listen on %s", listen_addr);
	evconnlistener_set_error_cb(lst, srv_accept_error_cb);
	ev_usr1 = evsignal_new(srv.base, SIGUSR1, srv_signal_cb, NULL);
	ev_int = evsignal_new(srv.base, SIGINT, srv_signal_cb, NULL);
	ev_term = evsignal_new(srv.base, SIGTERM, srv_signal_cb, NULL);
	event_add(ev_usr1, NULL);
	event_add(ev_int, NULL);
	event_add(ev_term, NULL);

	/* Port 0 picks a free port (tests); report the real one. */
	sslen = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(lst), (struct sockaddr *)&ss,
		(socklen_t *)&sslen) == 0) {
		format_peer((struct sockaddr *)&ss, bound, sizeof(bound));
		listen_addr = bound;
		port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);
	}
	srv.port = port;
	srv_log("listening on %s, root %s, mode %s, %s%s", listen_addr,
	    srv.root, srv.mode == SRV_MODE_SW ? "sw" : "userland",
	    srv.use_sendfile ? "sendfile" : "write",
	    srv.stats_url ? ", /stats" : "");
	{
		const char *ca = certpath[0] != '\0' ? certpath : NULL;

		printf(
		    "Try:\n"
		    "  curl --http1.1 %s%s https://localhost:%d/index.html\n"
		    "  curl --http1.1 %s%s -o random.bin "
		    "https://localhost:%d/random.bin\n"
		    "  printf 'GET /hello.txt HTTP/1.1\\r\\nHost: localhost"
		    "\\r\\nConnection: close\\r\\n\\r\\n' | openssl s_client "
		    "-quiet -connect %s -servername localhost%s%s\n",
		    ca != NULL ? "--cacert " : "-k", ca != NULL ? ca : "", port,
		    ca != NULL ? "--cacert " : "-k", ca != NULL ? ca : "", port,
		    listen_addr, ca != NULL ? " -CAfile " : "",
		    ca != NULL ? ca : "");
		fflush(stdout);
	}

	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	event_base_dispatch(srv.base);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	while (!LIST_EMPTY(&srv.conns)) {
		struct conn *c = LIST_FIRST(&srv.conns);

		conn_close(c, "server exit");
		conn_reap(c);
	}

	srv_dump_counters(stdout);
	event_free(ev_usr1);
	event_free(ev_int);
	event_free(ev_term);
	if (accept_resume != NULL)
		event_free(accept_resume);
	evconnlistener_free(lst);
	srv_kern_fini();
	/* After the workers stopped: no hook can run any more. */
	srv_trace_close(&srv);
	event_base_free(srv.base);
	SSL_CTX_free(srv.ctx);
	if (keylog_fp != NULL)
		fclose(keylog_fp);
	return (0);
}
