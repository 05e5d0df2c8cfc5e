/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The userland transmit backend (tx.h): libssl's SSL_write() and
 * SSL_shutdown() on the real socket, the baseline that KTLS is measured
 * against and the fallback when the hand-over is refused.  The connection's
 * SSL is shared with the core, which reads with it.
 */

#include <errno.h>
#include <stdlib.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sim/server/ssl_tap.h"
#include "sim/server/tx.h"

struct tx_userland {
	struct tx tx;
	struct tx_upcall up;
	SSL *ssl;
	struct event *ev_wr; /* SSL_ERROR_WANT_WRITE: the socket is full */
	uint64_t recs_base;  /* records libssl wrote before the hand-over */
	bool failed;	     /* libssl failed on input: no close_notify */
};

static void
userland_writable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tx_userland *u = arg;

	u->up.progress(u->up.arg);
}

/* Up to one record of plaintext per call; SSL_write() retries as is. */
static int
userland_write(struct tx *tx, const void *buf, size_t len, size_t *written)
{
	struct tx_userland *u = (struct tx_userland *)tx;
	int rv, err;

	*written = 0;
	rv = SSL_write(u->ssl, buf, (int)len);
	if (rv > 0) {
		*written = (size_t)rv;
		return (0);
	}
	err = SSL_get_error(u->ssl, rv);
	if (err == SSL_ERROR_WANT_WRITE) {
		event_add(u->ev_wr, NULL);
		return (EAGAIN);
	}
	/* Renegotiation is off: the core's read event brings us back. */
	if (err == SSL_ERROR_WANT_READ)
		return (EAGAIN);
	ERR_clear_error();
	return (EPIPE);
}

static int
userland_shutdown(struct tx *tx)
{
	struct tx_userland *u = (struct tx_userland *)tx;
	int rv;

	/* After a fatal alert (RFC 8446 section 6.2) only the FIN follows. */
	if (u->failed)
		return (0);
	/* close_notify (RFC 8446 section 6.1); the peer's is not awaited. */
	rv = SSL_shutdown(u->ssl);
	if (rv < 0 && SSL_get_error(u->ssl, rv) == SSL_ERROR_WANT_WRITE) {
		event_add(u->ev_wr, NULL);
		return (EAGAIN);
	}
	ERR_clear_error();
	return (0);
}

/* libssl sent its alert itself: our FIN follows it. */
static int
userland_fatal(struct tx *tx, int alert)
{
	struct tx_userland *u = (struct tx_userland *)tx;

	u->failed = true;
	return (0);
}

/* libssl rekeys both directions itself (RFC 8446 section 4.6.3). */
static int
userland_key_update(struct tx *tx, bool requested, const char **how)
{

	*how = ", handled by libssl";
	return (0);
}

static uint64_t
userland_records(struct tx *tx)
{
	struct tx_userland *u = (struct tx_userland *)tx;

	return (sim_tap_records_written(u->ssl) - u->recs_base);
}

static uint64_t
userland_wire_bytes(struct tx *tx)
{
	struct tx_userland *u = (struct tx_userland *)tx;

	return (sim_tap_wire_bytes(u->ssl));
}

static const char *
userland_mode_name(struct tx *tx)
{

	return ("tx=userland ktls=NONE");
}

static uint64_t
userland_close(struct tx *tx)
{
	struct tx_userland *u = (struct tx_userland *)tx;

	/* What SSL_write() took is in the socket: the kernel delivers it. */
	event_del(u->ev_wr);
	return (0);
}

static void
userland_free(struct tx *tx)
{
	struct tx_userland *u = (struct tx_userland *)tx;

	if (u->ev_wr != NULL)
		event_free(u->ev_wr);
	free(u);
}

static const struct tx_ops userland_ops = {
	.write = userland_write,
	.sendfile = NULL, /* the core stages records through write */
	.shutdown = userland_shutdown,
	.fatal = userland_fatal,
	.key_update = userland_key_update,
	.records = userland_records,
	.wire_bytes = userland_wire_bytes,
	.mode_name = userland_mode_name,
	.close = userland_close,
	.free = userland_free,
};

struct tx *
tx_userland_new(const struct tx_conf *conf)
{
	struct tx_userland *u;

	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return (NULL);
	u->tx.ops = &userland_ops;
	u->up = conf->up;
	u->ssl = conf->ssl;
	u->recs_base = sim_tap_records_written(conf->ssl);
	u->ev_wr =
	    event_new(conf->base, conf->fd, EV_WRITE, userland_writable_cb, u);
	if (u->ev_wr == NULL) {
		free(u);
		return (NULL);
	}
	return (&u->tx);
}
