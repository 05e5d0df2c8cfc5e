/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Reading JSON-lines record traces (docs/trace-format.md, "JSON lines"):
 * one event object a line.  The pcapng reader parses its packet comments
 * with the same ktr_json_line().
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/trace/ktrace_read.h"
#include "sim/trace/trace.h"

static bool
jget_u64(json_t *o, const char *key, uint64_t max, uint64_t *v)
{
	json_t *j;

	j = json_object_get(o, key);
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return (false);
	*v = (uint64_t)json_integer_value(j);
	return (true);
}

static bool
jget_int(json_t *o, const char *key, int max, int *v)
{
	uint64_t u;

	if (!jget_u64(o, key, (uint64_t)max, &u))
		return (false);
	*v = (int)u;
	return (true);
}

static int
hexval(int c)
{

	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decode the hex string o[key] of exactly want bytes (max out bytes). */
static bool
jget_hex(json_t *o, const char *key, uint8_t *out, size_t max, size_t want)
{
	const char *s;
	size_t n, i;
	int hi, lo;

	s = json_string_value(json_object_get(o, key));
	if (s == NULL || want > max)
		return (false);
	n = json_string_length(json_object_get(o, key));
	if (n != 2 * want)
		return (false);
	for (i = 0; i < want; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return (false);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (true);
}

/*
 * One event object.  pcapng comments carry every event but "segment"
 * (the packets are the segments); JSON lines carry them all.
 */
static int
json_event(struct ktrace_log *log, json_t *o, char *err, size_t errlen,
    const char *where)
{
	struct rrec r;
	struct rseg sg;
	struct rconn *c;
	const char *ev, *dir;
	uint64_t conn, v, len;
	int error, kind;

	error = 0;
	if (!json_is_object(o) ||
	    (ev = json_string_value(json_object_get(o, "ev"))) == NULL ||
	    !jget_u64(o, "conn", UINT32_MAX, &conn)) {
		ktr_seterr(err, errlen,
		    "%s: not an event (needs \"ev\", \"conn\")", where);
		return (EINVAL);
	}
	if (log->nev >= KTRACE_READ_MAX_EVENTS) {
		ktr_seterr(err, errlen, "%s: too many events", where);
		return (EFBIG);
	}
	log->nev++;
	if ((c = ktr_conn_by_id(log, (uint32_t)conn, true, &error)) == NULL) {
		ktr_seterr(err, errlen, "%s: too many connections", where);
		return (error);
	}

	kind = -1;
	if (strcmp(ev, "framed") == 0)
		kind = RK_FRAMED;
	else if (strcmp(ev, "encrypted") == 0)
		kind = RK_ENCRYPTED;
	else if (strcmp(ev, "ready") == 0)
		kind = RK_READY;
	else if (strcmp(ev, "freed") == 0)
		kind = RK_FREED;
	if (kind >= 0) {
		memset(&r, 0, sizeof(r));
		r.conn = (uint32_t)conn;
		r.has = 1U << kind;
		r.at[kind] = log->nev;
		if (!jget_u64(o, "seq", UINT64_MAX >> 1, &r.seq))
			goto bad;
		if (kind == RK_FRAMED &&
		    (!jget_int(o, "type", 255, &r.type) ||
			!jget_int(o, "inner_type", 255, &r.inner) ||
			!jget_int(o, "cipher", 1000, &r.cipher) ||
			!jget_int(o, "auth", 1000, &r.auth) ||
			!jget_int(o, "tls_vminor", 255, &r.vminor) ||
			!jget_u64(o, "plen", REC_MAX, &r.plen) ||
			!jget_u64(o, "reclen", REC_MAX, &r.reclen) ||
			!jget_u64(o, "hdrlen", HDR_MAX, &r.hdrlen) ||
			!jget_u64(o, "trllen", TRL_MAX, &r.trllen) ||
			!jget_u64(o, "off", OFF_MAX, &r.off) || r.hdrlen < 5 ||
			!jget_hex(o, "hdr", r.hdr, sizeof(r.hdr), r.hdrlen)))
			goto bad;
		if (kind == RK_FRAMED)
			r.ifnet = json_is_true(json_object_get(o, "ifnet"));
		if (kind == RK_ENCRYPTED &&
		    json_object_get(o, "trailer") != NULL) {
			if (!jget_u64(o, "trllen", TRL_MAX, &v) ||
			    !jget_hex(o, "trailer", r.trailer,
				sizeof(r.trailer), v))
				goto bad;
			r.trlbytes = v;
		}
		return (ktr_add_rec(log, &r) != 0 ? EFBIG : 0);
	}
	if (strcmp(ev, "segment") == 0) {
		dir = json_string_value(json_object_get(o, "dir"));
		if (!jget_u64(o, "off", OFF_MAX, &sg.off) ||
		    !jget_u64(o, "len", SEG_MAX, &sg.len))
			goto bad;
		if (json_is_true(json_object_get(o, "resync")))
			log->resync_segs++;
		if (json_is_true(json_object_get(o, "fallback")))
			log->fallback_segs++;
		if (json_is_true(json_object_get(o, "plaintext")))
			log->plaintext_segs++;
		/* In pcapng the packets themselves are the segments. */
		if (log->pcapng || (dir != NULL && strcmp(dir, "s2c") != 0))
			return (0);
		sg.conn = (uint32_t)conn;
		sg.idx = log->nev;
		sg.rexmit = json_is_true(json_object_get(o, "rexmit"));
		sg.data = NULL;
		if ((error = ktr_add_seg(log, &sg)) != 0)
			ktr_seterr(err, errlen, "%s: too many segments", where);
		return (error);
	}
	if (strcmp(ev, "conn_open") == 0) {
		if (!jget_u64(o, "cport", 65535, &v))
			goto bad;
		c->cport = (uint16_t)v;
		if (!jget_u64(o, "sport", 65535, &v))
			goto bad;
		c->sport = (uint16_t)v;
		return (0);
	}
	if (strcmp(ev, "server_plain") == 0) {
		if (!jget_u64(o, "len", OFF_MAX, &len) ||
		    c->srv_base + len > OFF_MAX)
			goto bad;
		c->srv_base += len;
		log->plain_bytes += len;
		return (0);
	}
	if (strcmp(ev, "client") == 0) {
		if (!jget_u64(o, "len", OFF_MAX, &len))
			goto bad;
		if (!log->pcapng)
			log->client_bytes += len;
		return (0);
	}
	/* conn_close, keylog and future events: nothing to check. */
	return (0);
bad:
	ktr_seterr(err, errlen, "%s: \"%s\" event with missing or bad fields",
	    where, ev);
	return (EINVAL);
}

int
ktr_json_line(struct ktrace_log *log, struct kspan line, char *err,
    size_t errlen, const char *where)
{
	json_error_t jerr;
	json_t *o;
	int error;

	o = json_loadb((const char *)line.p, line.len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (o == NULL) {
		ktr_seterr(err, errlen, "%s: %s", where, jerr.text);
		return (EINVAL);
	}
	error = json_event(log, o, err, errlen, where);
	json_decref(o);
	return (error);
}

static bool
blank(struct kspan line)
{

	for (size_t i = 0; i < line.len; i++)
		if (line.p[i] != ' ' && line.p[i] != '\t' && line.p[i] != '\r')
			return (false);
	return (true);
}

int
ktrace_parse_jsonl_buf(const uint8_t *buf, size_t len, struct ktrace_log **logp,
    char *err, size_t errlen)
{
	struct ktrace_log *log;
	struct kspan rest, line;
	char where[48];
	size_t lineno;
	int error;

	*logp = NULL;
	if (buf == NULL && len != 0)
		return (EINVAL);
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return (ENOMEM);
	rest = kspan_make(buf, len);
	for (lineno = 1; kspan_line(&rest, &line); lineno++) {
		if (blank(line))
			continue;
		snprintf(where, sizeof(where), "line %zu", lineno);
		if ((error = ktr_json_line(log, line, err, errlen, where)) !=
		    0) {
			ktrace_log_free(log);
			return (error);
		}
	}
	ktr_log_finish(log);
	*logp = log;
	return (0);
}
