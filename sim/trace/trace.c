/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Record-trace sink: text, JSON-lines and pcapng writers behind the
 * kernel's trace hooks.  See trace.h and docs/trace-format.md.
 */

#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "netinet/tcp_var.h"
#include "sim/trace/pcapng.h"
#include "sim/trace/trace.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

#define TRACE_MSS 1448	     /* segment size for client/plain bytes */
#define TRACE_BAR 64	     /* columns of the layout drawing */
#define TRACE_MAX_SEGLIST 24 /* segments listed per record drawing */
#define TRACE_IFNAME "sim0"  /* the one simulated interface */
#define TRACE_AUTO_SPORT 443
#define TRACE_AUTO_CPORT 40000

struct tout {
	enum ktrace_format fmt;
	FILE *fp;
	struct pcapng_writer *pw;
	int error;
};

/* A record between KTR_FRAMED and KTR_FREED (for the text drawing). */
struct trec {
	TAILQ_ENTRY(trec) link;
	uint64_t seq;
	uint64_t off; /* kernel stream offset of its first byte */
	uint32_t reclen, plen;
	uint8_t type, inner, hdrlen, trllen, npgs;
	uint16_t pg_off, pg_last;
	uint32_t pglen[MBUF_PEXT_MAX_PGS];
	uint32_t nsegs;
	/* Segments that carried part of it, record-relative [start, end). */
	struct tcut {
		uint32_t start, end;
		bool rexmit;
	} * cuts;
	size_t ncuts, capcuts;
};

struct tconn {
	LIST_ENTRY(tconn) link;
	struct socket *so;
	uint32_t id;
	uint16_t cport, sport;
	char label[64];
	uint64_t srv_base;  /* server plain bytes before the kernel's */
	uint64_t kern_end;  /* end of the highest kernel byte sent */
	bool kern_started;  /* the kernel sent a byte */
	bool wire;	    /* segments from ktrace_conn_wire_segment() */
	uint64_t rtt_ns;    /* ktrace_conn_wire(): the path's round trip */
	uint64_t cli_end;   /* end of the client's bytes */
	uint64_t frame_end; /* kernel offset after the last framed record */
	int cipher, auth, vminor;
	TAILQ_HEAD(, trec) recs;
	char *pend; /* event lines for the next pcapng packet's comment */
	size_t pendlen, pendcap;
	struct pcapng_flow *flow[KTRACE_MAX_OUTPUTS];
};

struct ktrace_set {
	pthread_mutex_t mtx;
	struct ktls_trace_hooks hooks;
	bool installed;
	struct tout out[KTRACE_MAX_OUTPUTS];
	int nout;
	bool has_text, has_pcapng;
	uint32_t nconns;
	LIST_HEAD(, tconn) conns;
	uint64_t (*now)(void *);
	void *now_arg;
};

static uint64_t
clock_realtime(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

int
ktrace_format_of(const char *path, enum ktrace_format *fmtp)
{
	const char *dot;

	if (path == NULL || (dot = strrchr(path, '.')) == NULL ||
	    strchr(dot, '/') != NULL)
		return (EINVAL);
	if (strcmp(dot, ".txt") == 0)
		*fmtp = KTRACE_FMT_TEXT;
	else if (strcmp(dot, ".jsonl") == 0)
		*fmtp = KTRACE_FMT_JSONL;
	else if (strcmp(dot, ".pcapng") == 0)
		*fmtp = KTRACE_FMT_PCAPNG;
	else
		return (EINVAL);
	return (0);
}

struct ktrace_set *
ktrace_set_new(void)
{
	struct ktrace_set *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return (NULL);
	pthread_mutex_init(&set->mtx, NULL);
	LIST_INIT(&set->conns);
	set->now = clock_realtime;
	return (set);
}

int
ktrace_set_open_fmt(struct ktrace_set *set, const char *path,
    enum ktrace_format fmt)
{
	struct tout *o;
	int error;

	if (set == NULL || path == NULL)
		return (EINVAL);
	if (set->installed || !LIST_EMPTY(&set->conns))
		return (EBUSY);
	if (set->nout >= KTRACE_MAX_OUTPUTS)
		return (ENOSPC);
	o = &set->out[set->nout];
	memset(o, 0, sizeof(*o));
	o->fmt = fmt;
	switch (fmt) {
	case KTRACE_FMT_TEXT:
	case KTRACE_FMT_JSONL:
		if ((o->fp = fopen(path, "w")) == NULL)
			return (errno != 0 ? errno : EIO);
		if (fmt == KTRACE_FMT_TEXT) {
			set->has_text = true;
			fprintf(o->fp,
			    "# ktlsim record trace (docs/trace-format.md)\n");
		}
		break;
	case KTRACE_FMT_PCAPNG:
		if ((o->pw = pcapng_open(path, &error)) == NULL)
			return (error);
		/* Per-connection key logs follow earlier connections. */
		pcapng_set_late_secrets(o->pw, 1);
		set->has_pcapng = true;
		break;
	default:
		return (EINVAL);
	}
	set->nout++;
	return (0);
}

int
ktrace_set_open(struct ktrace_set *set, const char *path)
{
	enum ktrace_format fmt;
	int error;

	if ((error = ktrace_format_of(path, &fmt)) != 0)
		return (error);
	return (ktrace_set_open_fmt(set, path, fmt));
}

void
ktrace_set_clock(struct ktrace_set *set, uint64_t (*now)(void *), void *arg)
{

	pthread_mutex_lock(&set->mtx);
	set->now = now != NULL ? now : clock_realtime;
	set->now_arg = now != NULL ? arg : NULL;
	pthread_mutex_unlock(&set->mtx);
}

int
ktrace_set_error(struct ktrace_set *set)
{
	int error, i;

	error = 0;
	pthread_mutex_lock(&set->mtx);
	for (i = 0; i < set->nout && error == 0; i++)
		error = set->out[i].error;
	pthread_mutex_unlock(&set->mtx);
	return (error);
}

static void
out_fail(struct tout *o, int error)
{

	if (o->error == 0 && error != 0)
		o->error = error;
}

/* ---- event formatting ------------------------------------------------ */

static json_t *
json_hex(const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 * 256 + 1];
	size_t i;

	if (len > 256)
		len = 256;
	for (i = 0; i < len; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 0xf];
	}
	buf[2 * len] = '\0';
	return (json_string(buf));
}

static void
hexcat(char *dst, size_t dstlen, const uint8_t *p, size_t len)
{
	size_t n;

	n = strlen(dst);
	for (size_t i = 0; i < len && n + 3 < dstlen; i++, n += 2)
		snprintf(dst + n, dstlen - n, "%02x", p[i]);
}

static const char *
type_name(uint8_t type)
{

	switch (type) {
	case 20:
		return ("ccs");
	case TLS_RLTYPE_ALERT:
		return ("alert");
	case TLS_RLTYPE_HANDSHAKE:
		return ("handshake");
	case TLS_RLTYPE_APP:
		return ("app");
	default:
		return ("type");
	}
}

static void
pend_append(struct tconn *c, const char *s)
{
	size_t n, ncap;
	char *p;

	n = strlen(s);
	if (c->pendlen + n + 2 > c->pendcap) {
		ncap = c->pendcap != 0 ? c->pendcap : 1024;
		while (ncap < c->pendlen + n + 2)
			ncap *= 2;
		if ((p = realloc(c->pend, ncap)) == NULL)
			return; /* the comment loses this event */
		c->pend = p;
		c->pendcap = ncap;
	}
	memcpy(c->pend + c->pendlen, s, n);
	c->pendlen += n;
	c->pend[c->pendlen++] = '\n';
	c->pend[c->pendlen] = '\0';
}

/*
 * Write one event: ev (consumed) to JSON-lines outputs and, if comment,
 * the pcapng comment queue; text (may be NULL) to text outputs.
 */
static void
emit(struct ktrace_set *set, struct tconn *c, json_t *ev, uint64_t t,
    const char *text, bool comment)
{
	struct tout *o;
	char *s;
	int i;

	if (ev == NULL)
		return;
	json_object_set_new(ev, "t", json_integer((json_int_t)t));
	json_object_set_new(ev, "conn", json_integer(c->id));
	s = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(ev);
	for (i = 0; i < set->nout; i++) {
		o = &set->out[i];
		if (o->fmt == KTRACE_FMT_JSONL && s != NULL) {
			if (fputs(s, o->fp) == EOF || putc('\n', o->fp) == EOF)
				out_fail(o, errno != 0 ? errno : EIO);
		} else if (o->fmt == KTRACE_FMT_TEXT && text != NULL) {
			if (fprintf(o->fp,
				"%" PRIu64 ".%09" PRIu64 " conn %u %s\n",
				t / 1000000000, t % 1000000000, c->id,
				text) < 0)
				out_fail(o, errno != 0 ? errno : EIO);
		}
	}
	/* pcapng: the packets are the segments, the comments the rest. */
	if (set->has_pcapng && s != NULL && comment)
		pend_append(c, s);
	free(s);
}

/* Extra text-only lines (drawings). */
static void __attribute__((format(printf, 2, 3)))
text_line(struct ktrace_set *set, const char *fmt, ...)
{
	va_list ap;
	int i;

	for (i = 0; i < set->nout; i++) {
		if (set->out[i].fmt != KTRACE_FMT_TEXT)
			continue;
		va_start(ap, fmt);
		if (vfprintf(set->out[i].fp, fmt, ap) < 0)
			out_fail(&set->out[i], errno != 0 ? errno : EIO);
		va_end(ap);
	}
}

/* ---- pcapng packets -------------------------------------------------- */

/* Before a packet of c on output i: pending comment, lazy flow. */
static struct pcapng_flow *
pc_prepare(struct ktrace_set *set, struct tconn *c, int i, uint64_t t)
{
	struct tout *o = &set->out[i];
	int error;

	if (o->error != 0)
		return (NULL);
	if (c->pendlen != 0 &&
	    (error = pcapng_set_comment(o->pw, c->pend)) != 0) {
		out_fail(o, error);
		return (NULL);
	}
	if (c->flow[i] == NULL) {
		c->flow[i] = pcapng_flow_open(o->pw, c->cport, c->sport, t,
		    c->rtt_ns, &error);
		if (c->flow[i] == NULL)
			out_fail(o, error);
		else if (c->wire)
			/* ktrace_conn_wire_ack() gives the client's ACKs. */
			(void)pcapng_flow_peer_acks(c->flow[i], 1);
	}
	return (c->flow[i]);
}

static void
pc_sent(struct tconn *c)
{

	c->pendlen = 0;
	if (c->pend != NULL)
		c->pend[0] = '\0';
}

/* Write [off, off + len) of one side as segments of at most TRACE_MSS. */
static void
pc_bytes(struct ktrace_set *set, struct tconn *c, int from_server, uint64_t off,
    const struct iovec *iov, int iovcnt, uint64_t t)
{
	struct pcapng_flow *f;
	int i, error;

	if (!set->has_pcapng)
		return;
	for (i = 0; i < set->nout; i++) {
		if (set->out[i].fmt != KTRACE_FMT_PCAPNG)
			continue;
		if ((f = pc_prepare(set, c, i, t)) == NULL)
			continue;
		error = pcapng_flow_data(f, from_server, off, iov, iovcnt, t);
		out_fail(&set->out[i], error);
	}
	pc_sent(c);
}

static void
pc_buf(struct ktrace_set *set, struct tconn *c, int from_server, uint64_t off,
    const void *buf, size_t len, uint64_t t)
{
	struct iovec iov;
	size_t done, n;

	for (done = 0; done < len; done += n) {
		n = len - done < TRACE_MSS ? len - done : TRACE_MSS;
		iov.iov_base = (char *)(uintptr_t)buf + done;
		iov.iov_len = n;
		pc_bytes(set, c, from_server, off + done, &iov, 1, t);
	}
}

/* ---- connections ----------------------------------------------------- */

static struct tconn *
conn_find(struct ktrace_set *set, struct socket *so)
{
	struct tconn *c;

	LIST_FOREACH(c, &set->conns, link)
		if (c->so == so)
			return (c);
	return (NULL);
}

static struct tconn *
conn_new(struct ktrace_set *set, struct socket *so, uint16_t cport,
    uint16_t sport, const char *label)
{
	struct tconn *c;
	json_t *ev;
	char text[160];
	uint64_t t;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->so = so;
	c->id = ++set->nconns;
	c->cport = cport != 0 ? cport : (uint16_t)(TRACE_AUTO_CPORT + c->id);
	c->sport = sport != 0 ? sport : TRACE_AUTO_SPORT;
	strlcpy(c->label, label != NULL ? label : "", sizeof(c->label));
	TAILQ_INIT(&c->recs);
	LIST_INSERT_HEAD(&set->conns, c, link);

	t = set->now(set->now_arg);
	ev = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s}", "ev", "conn_open",
	    "cport", c->cport, "sport", c->sport, "label", c->label, "client",
	    "10.0.0.1", "server", "10.0.0.2");
	snprintf(text, sizeof(text),
	    "open 10.0.0.1:%u -> 10.0.0.2:%u label \"%s\"", c->cport, c->sport,
	    c->label);
	emit(set, c, ev, t, text, true);
	return (c);
}

/* The connection of a kernel event; registers unknown sockets. */
static struct tconn *
conn_get(struct ktrace_set *set, struct socket *so)
{
	struct tconn *c;

	if ((c = conn_find(set, so)) != NULL)
		return (c);
	return (conn_new(set, so, 0, 0, "auto"));
}

static struct trec *
rec_find(struct tconn *c, uint64_t seq)
{
	struct trec *r;

	TAILQ_FOREACH(r, &c->recs, link)
		if (r->seq == seq)
			return (r);
	return (NULL);
}

static const char *
explicit_name(const struct tconn *c)
{

	return (c->cipher == CRYPTO_AES_CBC ? "iv" : "nonce");
}

static const char *
trailer_name(const struct tconn *c)
{

	if (c->cipher == CRYPTO_AES_CBC)
		return ("mac+pad");
	return (c->vminor == TLS_MINOR_VER_THREE ? "type+tag" : "tag");
}

/* The drawing of one record's layout and segment cuts (text outputs). */
static void
rec_draw(struct ktrace_set *set, struct tconn *c, struct trec *r,
    const char *why)
{
	char line[512], bar[TRACE_BAR + 1], cut[TRACE_BAR + 2];
	uint64_t b, pos;
	size_t n, i;
	int col, p;

	if (!set->has_text)
		return;
	text_line(set,
	    "  record conn %u seq %" PRIu64 " %s(%u) plen %u reclen %u "
	    "stream [%" PRIu64 ",%" PRIu64 ") segments %u%s\n",
	    c->id, r->seq, type_name(r->inner), r->inner, r->plen, r->reclen,
	    r->off, r->off + r->reclen, r->nsegs, why);

	/* Exact layout: region, length, record-relative offset. */
	n = snprintf(line, sizeof(line), "    layout |hdr 5 @0");
	pos = 5;
	if (r->hdrlen > 5) {
		n += snprintf(line + n, sizeof(line) - n, "|%s %u @5",
		    explicit_name(c), r->hdrlen - 5U);
		pos = r->hdrlen;
	}
	for (p = 0; p < r->npgs && n < sizeof(line); p++) {
		n += snprintf(line + n, sizeof(line) - n,
		    "|page%d %u @%" PRIu64, p, r->pglen[p], pos);
		pos += r->pglen[p];
	}
	if (n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "|%s %u @%" PRIu64 "|",
		    trailer_name(c), r->trllen, pos);
	text_line(set, "%s\n", line);

	/* Proportional drawing: one column is reclen / TRACE_BAR bytes. */
	for (col = 0; col < TRACE_BAR; col++) {
		b = (uint64_t)col * r->reclen / TRACE_BAR;
		if (b < 5)
			bar[col] = 'H';
		else if (b < r->hdrlen)
			bar[col] = 'E';
		else if (b >= (uint64_t)r->reclen - r->trllen)
			bar[col] = 'T';
		else {
			pos = r->hdrlen;
			for (p = 0; p < r->npgs - 1; p++) {
				if (b < pos + r->pglen[p])
					break;
				pos += r->pglen[p];
			}
			bar[col] = (char)('0' + p);
		}
	}
	bar[TRACE_BAR] = '\0';
	memset(cut, '-', TRACE_BAR + 1);
	cut[TRACE_BAR + 1] = '\0';
	for (i = 0; i < r->ncuts; i++) {
		cut[(uint64_t)r->cuts[i].start * TRACE_BAR / r->reclen] = '|';
		cut[(uint64_t)r->cuts[i].end * TRACE_BAR / r->reclen] = '|';
	}
	text_line(set, "    bytes  [%s]\n", bar);
	text_line(set, "    cuts   %s\n", cut);

	/* Exact cuts, record-relative. */
	n = snprintf(line, sizeof(line), "    segs  ");
	for (i = 0; i < r->ncuts && i < TRACE_MAX_SEGLIST; i++)
		n += snprintf(line + n, sizeof(line) - n, " [%u,%u)%s",
		    r->cuts[i].start, r->cuts[i].end,
		    r->cuts[i].rexmit ? "r" : "");
	if (r->ncuts > TRACE_MAX_SEGLIST && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " ... (%zu more)",
		    r->ncuts - TRACE_MAX_SEGLIST);
	if (r->ncuts == 0)
		snprintf(line + n, sizeof(line) - n, " (none)");
	text_line(set, "%s\n", line);
}

static void
rec_free(struct tconn *c, struct trec *r)
{

	TAILQ_REMOVE(&c->recs, r, link);
	free(r->cuts);
	free(r);
}

static void
conn_close_locked(struct ktrace_set *set, struct tconn *c)
{
	struct pcapng_flow *f;
	struct trec *r;
	char text[160];
	json_t *ev;
	uint64_t t;
	int i, error;

	t = set->now(set->now_arg);
	while ((r = TAILQ_FIRST(&c->recs)) != NULL) {
		rec_draw(set, c, r, " (not freed)");
		rec_free(c, r);
	}
	ev = json_pack("{s:s, s:I, s:I, s:I}", "ev", "conn_close",
	    "server_plain", (json_int_t)c->srv_base, "server_bytes",
	    (json_int_t)c->kern_end, "client_bytes", (json_int_t)c->cli_end);
	snprintf(text, sizeof(text),
	    "close server %" PRIu64 "+%" PRIu64 " bytes client %" PRIu64
	    " bytes",
	    c->srv_base, c->kern_end, c->cli_end);
	emit(set, c, ev, t, text, true);
	for (i = 0; i < set->nout; i++) {
		if (set->out[i].fmt != KTRACE_FMT_PCAPNG)
			continue;
		if ((f = pc_prepare(set, c, i, t)) != NULL) {
			error =
			    pcapng_flow_fin(f, 1, c->srv_base + c->kern_end, t);
			if (error == 0)
				error = pcapng_flow_fin(f, 0, c->cli_end, t);
			out_fail(&set->out[i], error);
			pcapng_flow_close(f);
		}
		c->flow[i] = NULL;
	}
	LIST_REMOVE(c, link);
	free(c->pend);
	free(c);
}

int
ktrace_conn_open(struct ktrace_set *set, struct socket *so, uint16_t cport,
    uint16_t sport, const char *label)
{
	struct tconn *c;
	int error;

	if (set == NULL || so == NULL || cport == 0 || sport == 0)
		return (EINVAL);
	error = 0;
	pthread_mutex_lock(&set->mtx);
	if (conn_find(set, so) != NULL)
		error = EEXIST;
	else if ((c = conn_new(set, so, cport, sport, label)) == NULL)
		error = ENOMEM;
	pthread_mutex_unlock(&set->mtx);
	return (error);
}

void
ktrace_conn_close(struct ktrace_set *set, struct socket *so)
{
	struct tconn *c;

	if (set == NULL)
		return;
	pthread_mutex_lock(&set->mtx);
	if ((c = conn_find(set, so)) != NULL)
		conn_close_locked(set, c);
	pthread_mutex_unlock(&set->mtx);
}

static size_t
count_lines(const char *s, size_t len)
{
	size_t i, n;

	for (i = 0, n = 0; i < len; i++)
		if (s[i] == '\n' || i + 1 == len)
			n++;
	return (n);
}

static int
keylog_locked(struct ktrace_set *set, struct tconn *c, const char *lines,
    size_t len)
{
	json_t *ev;
	char text[64];
	int i, error, first;

	first = 0;
	for (i = 0; i < set->nout; i++) {
		if (set->out[i].fmt != KTRACE_FMT_PCAPNG)
			continue;
		error = pcapng_write_secrets(set->out[i].pw, lines, len);
		out_fail(&set->out[i], error);
		if (first == 0)
			first = error;
	}
	if (c != NULL) {
		ev = json_pack("{s:s, s:I}", "ev", "keylog", "lines",
		    (json_int_t)count_lines(lines, len));
		snprintf(text, sizeof(text), "keylog %zu lines",
		    count_lines(lines, len));
		emit(set, c, ev, set->now(set->now_arg), text, true);
	} else
		text_line(set, "# keylog %zu lines for every connection\n",
		    count_lines(lines, len));
	return (first);
}

int
ktrace_set_keylog(struct ktrace_set *set, const char *lines, size_t len)
{
	int error;

	if (set == NULL || (lines == NULL && len != 0))
		return (EINVAL);
	pthread_mutex_lock(&set->mtx);
	error = keylog_locked(set, NULL, lines, len);
	pthread_mutex_unlock(&set->mtx);
	return (error);
}

int
ktrace_conn_keylog(struct ktrace_set *set, struct socket *so, const char *lines,
    size_t len)
{
	struct tconn *c;
	int error;

	if (set == NULL || (lines == NULL && len != 0))
		return (EINVAL);
	pthread_mutex_lock(&set->mtx);
	if ((c = conn_get(set, so)) == NULL)
		error = ENOMEM;
	else
		error = keylog_locked(set, c, lines, len);
	pthread_mutex_unlock(&set->mtx);
	return (error);
}

int
ktrace_conn_client_bytes(struct ktrace_set *set, struct socket *so,
    uint64_t off, const void *buf, size_t len)
{
	struct tconn *c;
	char text[96];
	json_t *ev;
	uint64_t t;

	if (set == NULL || (buf == NULL && len != 0) || off > UINT64_MAX - len)
		return (EINVAL);
	if (len == 0)
		return (0);
	pthread_mutex_lock(&set->mtx);
	if ((c = conn_get(set, so)) == NULL) {
		pthread_mutex_unlock(&set->mtx);
		return (ENOMEM);
	}
	t = set->now(set->now_arg);
	ev = json_pack("{s:s, s:s, s:I, s:I}", "ev", "client", "dir", "c2s",
	    "off", (json_int_t)off, "len", (json_int_t)len);
	snprintf(text, sizeof(text),
	    "client c2s [%" PRIu64 ",%" PRIu64 ") %zu bytes", off, off + len,
	    len);
	emit(set, c, ev, t, text, true);
	pc_buf(set, c, 0, off, buf, len, t);
	if (off + len > c->cli_end)
		c->cli_end = off + len;
	pthread_mutex_unlock(&set->mtx);
	return (0);
}

int
ktrace_conn_server_plain_bytes(struct ktrace_set *set, struct socket *so,
    const void *buf, size_t len)
{
	struct tconn *c;
	char text[96];
	json_t *ev;
	uint64_t t;
	int error;

	if (set == NULL || (buf == NULL && len != 0))
		return (EINVAL);
	if (len == 0)
		return (0);
	error = 0;
	pthread_mutex_lock(&set->mtx);
	if ((c = conn_get(set, so)) == NULL)
		error = ENOMEM;
	else if (c->kern_started)
		error = EINVAL;
	if (error != 0) {
		pthread_mutex_unlock(&set->mtx);
		return (error);
	}
	t = set->now(set->now_arg);
	ev = json_pack("{s:s, s:s, s:I, s:I}", "ev", "server_plain", "dir",
	    "s2c", "off", (json_int_t)c->srv_base, "len", (json_int_t)len);
	snprintf(text, sizeof(text),
	    "server_plain s2c [%" PRIu64 ",%" PRIu64 ") %zu bytes", c->srv_base,
	    c->srv_base + len, len);
	emit(set, c, ev, t, text, true);
	pc_buf(set, c, 1, c->srv_base, buf, len, t);
	c->srv_base += len;
	pthread_mutex_unlock(&set->mtx);
	return (0);
}

/* ---- kernel hooks ---------------------------------------------------- */

static void
ev_framed(struct ktrace_set *set, struct tconn *c, struct socket *so,
    const struct mbuf *m, uint64_t t)
{
	const struct tls_session_params *pp;
	struct tcpcb *tp;
	struct trec *r;
	json_t *ev, *pages;
	char text[400];
	uint64_t base, off;
	int i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	if (m->m_epg_tls != NULL) {
		pp = &m->m_epg_tls->params;
		c->cipher = pp->cipher_algorithm;
		c->auth = pp->auth_algorithm;
		c->vminor = pp->tls_vminor;
	}
	/*
	 * ktls_seq() runs under the socket-buffer lock before the chain is
	 * appended: the buffer starts at the oldest unacknowledged byte, so
	 * the stream offset of its end is that byte's offset plus the queued
	 * bytes, and records of one chain follow each other.
	 */
	tp = so != NULL ? sototcpcb(so) : NULL;
	base = tp != NULL ? tp->t_stream_una + so->so_snd.sb_ccc : c->frame_end;
	off = base > c->frame_end ? base : c->frame_end;
	r->seq = m->m_epg_seqno;
	r->off = off;
	r->reclen = (uint32_t)m->m_len;
	r->hdrlen = m->m_epg_hdrlen;
	r->trllen = m->m_epg_trllen;
	r->plen = r->reclen - r->hdrlen - r->trllen;
	r->type = m->m_epg_hdr[0];
	r->inner =
	    c->vminor == TLS_MINOR_VER_THREE ? m->m_epg_record_type : r->type;
	r->npgs = m->m_epg_npgs;
	r->pg_off = m->m_epg_1st_off;
	r->pg_last = m->m_epg_last_len;
	pages = json_array();
	for (i = 0; i < r->npgs && i < (int)MBUF_PEXT_MAX_PGS; i++) {
		r->pglen[i] = (uint32_t)m_epg_pagelen(m, i,
		    i == 0 ? m->m_epg_1st_off : 0);
		json_array_append_new(pages, json_integer(r->pglen[i]));
	}
	c->frame_end = off + r->reclen;
	TAILQ_INSERT_TAIL(&c->recs, r, link);

	ev = json_pack("{s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
		       "s:i, s:i, s:i, s:o, s:I, s:i, s:i, s:i, s:o}",
	    "ev", "framed", "seq", (json_int_t)r->seq, "type", r->type,
	    "inner_type", r->inner, "cipher", c->cipher, "auth", c->auth,
	    "tls_vminor", c->vminor, "plen", (int)r->plen, "reclen",
	    (int)r->reclen, "hdrlen", r->hdrlen, "explicit_len", r->hdrlen - 5,
	    "trllen", r->trllen, "maxseg", tp != NULL ? (int)tp->t_maxseg : 0,
	    "hdr", json_hex(m->m_epg_hdr, r->hdrlen), "off", (json_int_t)off,
	    "npgs", r->npgs, "pg_off", r->pg_off, "pg_last_len", r->pg_last,
	    "pages", pages);
	if (ev != NULL) {
		char mb[32];

		snprintf(mb, sizeof(mb), "%p", (const void *)m);
		json_object_set_new(ev, "mbuf", json_string(mb));
		/*
		 * A record of an ifnet session is encrypted by the NIC as it
		 * leaves: no "encrypted" event will follow.
		 */
		if (m->m_epg_tls != NULL &&
		    m->m_epg_tls->mode == TCP_TLS_MODE_IFNET)
			json_object_set_new(ev, "ifnet", json_true());
	}
	snprintf(text, sizeof(text),
	    "seq %" PRIu64 " framed %s(%u) plen %u reclen %u off %" PRIu64
	    " hdr ",
	    r->seq, type_name(r->inner), r->inner, r->plen, r->reclen, off);
	hexcat(text, sizeof(text), m->m_epg_hdr, 5);
	if (r->hdrlen > 5) {
		strlcat(text, " ", sizeof(text));
		strlcat(text, explicit_name(c), sizeof(text));
		strlcat(text, " ", sizeof(text));
		hexcat(text, sizeof(text), m->m_epg_hdr + 5, r->hdrlen - 5U);
	}
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    " trailer %u mbuf %p pages %u (first off %u, last len %u)",
	    r->trllen, (const void *)m, r->npgs, r->pg_off, r->pg_last);
	emit(set, c, ev, t, text, true);
}

static void
th_record(void *arg, enum ktls_trace_event kev, struct socket *so,
    const struct mbuf *m)
{
	struct ktrace_set *set = arg;
	struct tconn *c;
	struct trec *r;
	const char *name;
	char text[256];
	json_t *ev;
	uint64_t t;

	pthread_mutex_lock(&set->mtx);
	if ((c = conn_get(set, so)) == NULL)
		goto out;
	t = set->now(set->now_arg);
	switch (kev) {
	case KTR_FRAMED:
		ev_framed(set, c, so, m, t);
		goto out;
	case KTR_ENCRYPTED:
		name = "encrypted";
		break;
	case KTR_READY:
		name = "ready";
		break;
	case KTR_FREED:
		name = "freed";
		break;
	default:
		goto out;
	}
	ev = json_pack("{s:s, s:I}", "ev", name, "seq",
	    (json_int_t)m->m_epg_seqno);
	snprintf(text, sizeof(text), "seq %" PRIu64 " %s", m->m_epg_seqno,
	    name);
	if (kev == KTR_ENCRYPTED && ev != NULL) {
		json_object_set_new(ev, "trailer",
		    json_hex(m->m_epg_trail, m->m_epg_trllen));
		json_object_set_new(ev, "trllen",
		    json_integer(m->m_epg_trllen));
		strlcat(text, " trailer ", sizeof(text));
		hexcat(text, sizeof(text), m->m_epg_trail, m->m_epg_trllen);
	}
	emit(set, c, ev, t, text, true);
	if (kev == KTR_FREED && (r = rec_find(c, m->m_epg_seqno)) != NULL) {
		rec_draw(set, c, r, "");
		rec_free(c, r);
	}
out:
	pthread_mutex_unlock(&set->mtx);
}

/* A segment of c on iface; set->mtx held. */
static void
seg_locked(struct ktrace_set *set, struct tconn *c, uint64_t off,
    const struct iovec *iov, int iovcnt, unsigned int flags, const char *iface)
{
	struct trec *r;
	struct tcut *nc;
	char text[200];
	json_t *ev, *seqs;
	uint64_t t, end, s, e;
	size_t len;
	bool rexmit, split;
	int i;

	for (i = 0, len = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	rexmit = (flags & KTRACE_SEG_REXMIT) != 0;
	t = set->now(set->now_arg);
	end = off + len;
	seqs = json_array();
	TAILQ_FOREACH(r, &c->recs, link) {
		if (r->off >= end || r->off + r->reclen <= off)
			continue;
		json_array_append_new(seqs, json_integer((json_int_t)r->seq));
		r->nsegs++;
		if (r->ncuts == r->capcuts) {
			size_t ncap = r->capcuts != 0 ? 2 * r->capcuts : 16;

			if ((nc = reallocarray(r->cuts, ncap, sizeof(*nc))) ==
			    NULL)
				continue;
			r->cuts = nc;
			r->capcuts = ncap;
		}
		s = off > r->off ? off - r->off : 0;
		e = end - r->off < r->reclen ? end - r->off : r->reclen;
		r->cuts[r->ncuts].start = (uint32_t)s;
		r->cuts[r->ncuts].end = (uint32_t)e;
		r->cuts[r->ncuts].rexmit = rexmit != 0;
		r->ncuts++;
	}
	ev = json_pack("{s:s, s:s, s:I, s:I, s:b, s:s, s:o}", "ev", "segment",
	    "dir", "s2c", "off", (json_int_t)off, "len", (json_int_t)len,
	    "rexmit", rexmit, "iface", iface, "seqs", seqs);
	snprintf(text, sizeof(text),
	    "segment s2c [%" PRIu64 ",%" PRIu64 ") %zu bytes %s on %s%s%s%s",
	    off, end, len, rexmit ? "rexmit" : "first", iface,
	    flags & KTRACE_SEG_RESYNC ? " resync" : "",
	    flags & KTRACE_SEG_FALLBACK ? " fallback" : "",
	    flags & KTRACE_SEG_PLAIN ? " PLAINTEXT" : "");
	if (ev != NULL && (flags & KTRACE_SEG_RESYNC))
		json_object_set_new(ev, "resync", json_true());
	if (ev != NULL && (flags & KTRACE_SEG_FALLBACK))
		json_object_set_new(ev, "fallback", json_true());
	if (ev != NULL && (flags & KTRACE_SEG_PLAIN))
		json_object_set_new(ev, "plaintext", json_true());
	/*
	 * pcapng: the packet is the segment; what the NIC did to it goes in
	 * its comment, and so does the segment itself when pcapng_flow_data()
	 * writes it as two packets (repeated bytes, then new ones).
	 */
	split = c->kern_started && off < c->kern_end && end > c->kern_end;
	emit(set, c, ev, t, text,
	    split ||
		(flags &
		    (KTRACE_SEG_RESYNC | KTRACE_SEG_FALLBACK |
			KTRACE_SEG_PLAIN)) != 0);
	c->kern_started = true;
	pc_bytes(set, c, 1, c->srv_base + off, iov, iovcnt, t);
	if (end > c->kern_end)
		c->kern_end = end;
}

static void
th_segment(void *arg, struct socket *so, uint64_t off, const struct iovec *iov,
    int iovcnt, int rexmit)
{
	struct ktrace_set *set = arg;
	struct tconn *c;

	pthread_mutex_lock(&set->mtx);
	if ((c = conn_get(set, so)) != NULL && !c->wire)
		seg_locked(set, c, off, iov, iovcnt,
		    rexmit ? KTRACE_SEG_REXMIT : 0, TRACE_IFNAME);
	pthread_mutex_unlock(&set->mtx);
}

int
ktrace_conn_wire(struct ktrace_set *set, struct socket *so, uint64_t rtt_ns)
{
	struct tconn *c;
	int error;

	pthread_mutex_lock(&set->mtx);
	c = conn_find(set, so);
	error = c == NULL ? ENOENT : c->kern_started ? EBUSY : 0;
	if (error == 0) {
		c->wire = true;
		c->rtt_ns = rtt_ns;
	}
	pthread_mutex_unlock(&set->mtx);
	return (error);
}

int
ktrace_conn_wire_ack(struct ktrace_set *set, struct socket *so, uint64_t off)
{
	struct tconn *c;
	uint64_t t;
	int error, i;

	pthread_mutex_lock(&set->mtx);
	c = conn_find(set, so);
	error = c == NULL || !c->wire ? EINVAL : 0;
	if (error == 0 && c->kern_started) {
		t = set->now(set->now_arg);
		for (i = 0; i < set->nout; i++) {
			if (set->out[i].fmt != KTRACE_FMT_PCAPNG ||
			    c->flow[i] == NULL || set->out[i].error != 0)
				continue;
			if (pcapng_flow_ack_to(c->flow[i], 0, c->srv_base + off,
				t) != 0)
				continue;
		}
	}
	pthread_mutex_unlock(&set->mtx);
	return (error);
}

int
ktrace_conn_wire_segment(struct ktrace_set *set, struct socket *so,
    const char *iface, uint64_t off, const void *buf, size_t len,
    unsigned int flags)
{
	struct iovec iov;
	struct tconn *c;
	int error;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	pthread_mutex_lock(&set->mtx);
	c = conn_find(set, so);
	error = c == NULL || !c->wire ? EINVAL : 0;
	if (error == 0)
		seg_locked(set, c, off, &iov, 1, flags, iface);
	pthread_mutex_unlock(&set->mtx);
	return (error);
}

int
ktrace_install(struct ktrace_set *set)
{

	if (set == NULL)
		return (EINVAL);
	if (ktls_trace_hooks != NULL)
		return (EBUSY);
	set->hooks.th_record = th_record;
	set->hooks.th_segment = th_segment;
	set->hooks.th_arg = set;
	set->installed = true;
	__atomic_store_n(&ktls_trace_hooks, &set->hooks, __ATOMIC_RELEASE);
	return (0);
}

void
ktrace_uninstall(struct ktrace_set *set)
{

	if (set == NULL || !set->installed)
		return;
	if (ktls_trace_hooks == &set->hooks)
		__atomic_store_n(&ktls_trace_hooks, NULL, __ATOMIC_RELEASE);
	set->installed = false;
}

int
ktrace_set_free(struct ktrace_set *set)
{
	struct tconn *c;
	struct tout *o;
	int error, i;

	if (set == NULL)
		return (EINVAL);
	ktrace_uninstall(set);
	pthread_mutex_lock(&set->mtx);
	/* Oldest first, so that FINs follow registration order. */
	while ((c = LIST_FIRST(&set->conns)) != NULL) {
		struct tconn *last = c;

		LIST_FOREACH(c, &set->conns, link)
			last = c;
		conn_close_locked(set, last);
	}
	error = 0;
	for (i = 0; i < set->nout; i++) {
		o = &set->out[i];
		if (o->fp != NULL) {
			if (fclose(o->fp) != 0)
				out_fail(o, errno != 0 ? errno : EIO);
		} else if (o->pw != NULL)
			out_fail(o, pcapng_close(o->pw));
		if (error == 0)
			error = o->error;
	}
	pthread_mutex_unlock(&set->mtx);
	pthread_mutex_destroy(&set->mtx);
	free(set);
	return (error);
}
