/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server --trace: what the kernel's record trace cannot see.  See
 * trace_bridge.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First: kern_compat.h defines _KERNEL, which the trace hooks need. */
#include "sys/socketvar.h"
#include "sim/trace/trace.h"

#include "nic_ifnet.h"
#include "sim/server/ssl_tap.h"
#include "sim/server/log.h"
#include "sim/server/trace_bridge.h"

#define TR_MAX_BUFFERED (1024 * 1024) /* handshake bytes kept per conn */

struct bridge_conn {
	struct ktrace_set *set;
	uint64_t id;
	char peer[64];
	int port;
	/*
	 * Wire bytes libssl read and wrote before the socket is registered
	 * (the handshake), as chunks: direction, length (4), bytes; then
	 * the client's stream offset as it goes on.
	 */
	uint8_t *buf;
	size_t len, cap;
	uint64_t client_off;
	struct socket *so; /* registered with set, or NULL */
};

int
bridge_open(struct ktrace_set **setp, char **paths, int npaths, char *why,
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
	*setp = set;
	return (0);
}

void
bridge_close(struct ktrace_set *set)
{
	int error;

	if (set == NULL)
		return;
	error = ktrace_set_free(set);
	if (error != 0)
		srv_log("--trace: writing a trace failed: %s", strerror(error));
}

struct bridge_conn *
bridge_conn_new(struct ktrace_set *set, uint64_t id, const char *peer, int port)
{
	struct bridge_conn *bc;

	bc = calloc(1, sizeof(*bc));
	if (bc == NULL)
		return (NULL);
	bc->set = set;
	bc->id = id;
	snprintf(bc->peer, sizeof(bc->peer), "%s", peer);
	bc->port = port;
	return (bc);
}

void
bridge_conn_free(struct bridge_conn *bc)
{

	if (bc == NULL)
		return;
	free(bc->buf);
	free(bc);
}

void
bridge_wire(void *arg, bool from_server, const void *buf, size_t len)
{
	struct bridge_conn *bc = arg;
	uint32_t n;
	size_t need, cap;
	uint8_t *p;

	if (len == 0)
		return;
	if (bc->so != NULL) {
		/* After the hand-over libssl only reads. */
		if (!from_server)
			bridge_conn_client(bc, buf, len);
		return;
	}
	need = bc->len + 5 + len;
	if (need > TR_MAX_BUFFERED)
		return;
	if (need > bc->cap) {
		cap = bc->cap > 0 ? bc->cap : 8192;
		while (cap < need)
			cap *= 2;
		p = realloc(bc->buf, cap);
		if (p == NULL)
			return;
		bc->buf = p;
		bc->cap = cap;
	}
	p = bc->buf + bc->len;
	n = (uint32_t)len;
	p[0] = from_server;
	memcpy(p + 1, &n, 4);
	memcpy(p + 5, buf, len);
	bc->len = need;
}

static uint16_t
bridge_peer_port(const struct bridge_conn *bc)
{
	const char *colon;

	colon = strrchr(bc->peer, ':');
	return (colon != NULL ? (uint16_t)atoi(colon + 1) : 0);
}

void
bridge_conn_start(struct bridge_conn *bc, struct socket *so, SSL *ssl,
    bool wire, uint64_t rtt_ns)
{
	const char *keylog;
	char label[160];
	uint32_t n;
	size_t off, klen;
	uint16_t cport;
	int error;

	if (bc == NULL)
		return;
	snprintf(label, sizeof(label), "sim_server conn %ju %s %s %s",
	    (uintmax_t)bc->id, bc->peer, SSL_get_version(ssl),
	    SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
	cport = bridge_peer_port(bc);
	error = ktrace_conn_open(bc->set, so, cport != 0 ? cport : 1,
	    bc->port != 0 ? (uint16_t)bc->port : 443, label);
	if (error == 0 && wire)
		error = ktrace_conn_wire(bc->set, so, rtt_ns);
	if (error == 0) {
		keylog = sim_tap_keylog(ssl, &klen);
		if (klen > 0)
			error = ktrace_conn_keylog(bc->set, so, keylog, klen);
	}
	for (off = 0; error == 0 && off < bc->len; off += 5 + n) {
		memcpy(&n, bc->buf + off + 1, 4);
		if (bc->buf[off] != 0)
			error = ktrace_conn_server_plain_bytes(bc->set, so,
			    bc->buf + off + 5, n);
		else {
			error = ktrace_conn_client_bytes(bc->set, so,
			    bc->client_off, bc->buf + off + 5, n);
			bc->client_off += n;
		}
	}
	if (error != 0)
		srv_log("conn %ju: --trace: %s", (uintmax_t)bc->id,
		    strerror(error));
	free(bc->buf);
	bc->buf = NULL;
	bc->len = bc->cap = 0;
	bc->so = so;
}

void
bridge_conn_client(struct bridge_conn *bc, const void *buf, size_t len)
{

	if (bc == NULL || bc->so == NULL)
		return;
	(void)ktrace_conn_client_bytes(bc->set, bc->so, bc->client_off, buf,
	    len);
	bc->client_off += len;
}

void
bridge_conn_wire(struct bridge_conn *bc, const char *iface, uint64_t off,
    const uint8_t *data, uint32_t len, unsigned int flags)
{
	unsigned int tf;

	if (bc == NULL || bc->so == NULL)
		return;
	tf = 0;
	if (flags & NIC_SEG_REXMIT)
		tf |= KTRACE_SEG_REXMIT;
	if (flags & NIC_SEG_RESYNC)
		tf |= KTRACE_SEG_RESYNC;
	if (flags & NIC_SEG_FALLBACK)
		tf |= KTRACE_SEG_FALLBACK;
	if (flags & NIC_SEG_PLAIN)
		tf |= KTRACE_SEG_PLAIN;
	(void)ktrace_conn_wire_segment(bc->set, bc->so, iface, off, data, len,
	    tf);
}

void
bridge_conn_wire_ack(struct bridge_conn *bc, uint64_t off)
{

	if (bc == NULL || bc->so == NULL)
		return;
	(void)ktrace_conn_wire_ack(bc->set, bc->so, off);
}

void
bridge_conn_end(struct bridge_conn *bc)
{

	if (bc == NULL || bc->so == NULL)
		return;
	ktrace_conn_close(bc->set, bc->so);
	bc->so = NULL;
}
