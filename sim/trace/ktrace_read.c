/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Reading record traces back (JSON lines or pcapng) and checking them
 * against the golden record-layout model.  Everything here parses
 * untrusted input: every length is checked before use, every allocation
 * is bounded (trace.h: KTRACE_READ_MAX_*), and nothing aborts.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "golden.h"
#include "sim/trace/trace.h"

/* Record event kinds, in the order the kernel must produce them. */
enum { RK_FRAMED, RK_ENCRYPTED, RK_READY, RK_FREED, RK_N };

static const char rk_letter[RK_N] = { 'F', 'E', 'R', 'X' };

#define HDR_MAX 32
#define TRL_MAX 255
#define SEG_MAX 65535
#define OFF_MAX (1ULL << 62)
#define REC_MAX (1U << 20)
#define FILE_MAX (1ULL << 31)

struct rrec {
	uint32_t conn;
	uint64_t seq;
	uint64_t at[RK_N]; /* event index of each kind */
	uint8_t has;	   /* bit per kind */
	uint32_t dups;	   /* repeated events */
	/* framed */
	int type, inner, cipher, auth, vminor;
	uint64_t plen, reclen, hdrlen, trllen, off;
	uint8_t hdr[HDR_MAX];
	/* encrypted */
	uint8_t trailer[TRL_MAX];
	size_t trlbytes;
};

struct rseg {
	uint32_t conn;
	uint64_t off, len, idx;
	bool rexmit;
	const uint8_t *data; /* pcapng only */
};

struct rconn {
	uint32_t id;
	uint16_t cport, sport;
	uint64_t srv_base; /* server_plain bytes */
	/* pcapng flow */
	bool flow;
	uint32_t cip, sip;
	uint32_t s_isn;
	bool have_isn;
	uint64_t s_max;
};

struct ktrace_log {
	bool pcapng;
	struct rrec *rec;
	size_t nrec, caprec;
	struct rseg *seg;
	size_t nseg, capseg;
	struct rconn *conn;
	size_t nconn, capconn;
	uint64_t nev; /* events so far (their index) */
	uint64_t client_bytes, plain_bytes, packets;
	uint8_t *owned; /* file contents, for ktrace_read_file() */
};

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
grow(void **p, size_t *cap, size_t n, size_t elsize, size_t max)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return (0);
	if (n >= max)
		return (EFBIG);
	ncap = *cap != 0 ? *cap * 2 : 64;
	if (ncap > max)
		ncap = max;
	if ((np = reallocarray(*p, ncap, elsize)) == NULL)
		return (ENOMEM);
	*p = np;
	*cap = ncap;
	return (0);
}

void
ktrace_log_free(struct ktrace_log *log)
{

	if (log == NULL)
		return;
	free(log->rec);
	free(log->seg);
	free(log->conn);
	free(log->owned);
	free(log);
}

size_t
ktrace_log_nrecords(const struct ktrace_log *log)
{

	return (log != NULL ? log->nrec : 0);
}

static struct rconn *
conn_by_id(struct ktrace_log *log, uint32_t id, bool create, int *errp)
{
	struct rconn *c;
	size_t i;

	for (i = log->nconn; i > 0; i--)
		if (log->conn[i - 1].id == id)
			return (&log->conn[i - 1]);
	if (!create)
		return (NULL);
	if ((*errp = grow((void **)&log->conn, &log->capconn, log->nconn,
		 sizeof(*log->conn), KTRACE_READ_MAX_CONNS)) != 0)
		return (NULL);
	c = &log->conn[log->nconn++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	return (c);
}

/* ---- JSON events ----------------------------------------------------- */

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

static int
add_rec_event(struct ktrace_log *log, const struct rrec *r)
{
	int error;

	if ((error = grow((void **)&log->rec, &log->caprec, log->nrec,
		 sizeof(*log->rec), KTRACE_READ_MAX_EVENTS)) != 0)
		return (error);
	log->rec[log->nrec++] = *r;
	return (0);
}

static int
add_seg(struct ktrace_log *log, const struct rseg *s)
{
	int error;

	if ((error = grow((void **)&log->seg, &log->capseg, log->nseg,
		 sizeof(*log->seg), KTRACE_READ_MAX_EVENTS)) != 0)
		return (error);
	log->seg[log->nseg++] = *s;
	return (0);
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
		seterr(err, errlen, "%s: not an event (needs \"ev\", \"conn\")",
		    where);
		return (EINVAL);
	}
	if (log->nev >= KTRACE_READ_MAX_EVENTS) {
		seterr(err, errlen, "%s: too many events", where);
		return (EFBIG);
	}
	log->nev++;
	if ((c = conn_by_id(log, (uint32_t)conn, true, &error)) == NULL) {
		seterr(err, errlen, "%s: too many connections", where);
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
		if (kind == RK_ENCRYPTED &&
		    json_object_get(o, "trailer") != NULL) {
			if (!jget_u64(o, "trllen", TRL_MAX, &v) ||
			    !jget_hex(o, "trailer", r.trailer,
				sizeof(r.trailer), v))
				goto bad;
			r.trlbytes = v;
		}
		return (add_rec_event(log, &r) != 0 ? EFBIG : 0);
	}
	if (strcmp(ev, "segment") == 0) {
		dir = json_string_value(json_object_get(o, "dir"));
		if (!jget_u64(o, "off", OFF_MAX, &sg.off) ||
		    !jget_u64(o, "len", SEG_MAX, &sg.len))
			goto bad;
		/* In pcapng the packets themselves are the segments. */
		if (log->pcapng || (dir != NULL && strcmp(dir, "s2c") != 0))
			return (0);
		sg.conn = (uint32_t)conn;
		sg.idx = log->nev;
		sg.rexmit = json_is_true(json_object_get(o, "rexmit"));
		sg.data = NULL;
		if ((error = add_seg(log, &sg)) != 0)
			seterr(err, errlen, "%s: too many segments", where);
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
	seterr(err, errlen, "%s: \"%s\" event with missing or bad fields",
	    where, ev);
	return (EINVAL);
}

static int
json_line(struct ktrace_log *log, const char *p, size_t n, char *err,
    size_t errlen, const char *where)
{
	json_error_t jerr;
	json_t *o;
	int error;

	o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		seterr(err, errlen, "%s: %s", where, jerr.text);
		return (EINVAL);
	}
	error = json_event(log, o, err, errlen, where);
	json_decref(o);
	return (error);
}

static bool
blank(const uint8_t *p, size_t n)
{

	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return (false);
	return (true);
}

static void log_finish(struct ktrace_log *log);

int
ktrace_parse_jsonl_buf(const uint8_t *buf, size_t len, struct ktrace_log **logp,
    char *err, size_t errlen)
{
	struct ktrace_log *log;
	const uint8_t *p, *nl;
	char where[48];
	size_t lineno, n;
	int error;

	*logp = NULL;
	if (buf == NULL && len != 0)
		return (EINVAL);
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return (ENOMEM);
	lineno = 0;
	for (p = buf; p < buf + len; p += n + 1) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(buf + len - p);
		if (blank(p, n))
			continue;
		snprintf(where, sizeof(where), "line %zu", lineno);
		if ((error = json_line(log, (const char *)p, n, err, errlen,
			 where)) != 0) {
			ktrace_log_free(log);
			return (error);
		}
	}
	log_finish(log);
	*logp = log;
	return (0);
}

/* ---- pcapng ---------------------------------------------------------- */

struct pcur {
	bool swap;
};

static uint32_t
rd32(const struct pcur *pc, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return (pc->swap ? __builtin_bswap32(v) : v);
}

static uint16_t
rd16(const struct pcur *pc, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return (pc->swap ? __builtin_bswap16(v) : v);
}

static uint32_t
be32(const uint8_t *p)
{

	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static uint16_t
be16(const uint8_t *p)
{

	return ((uint16_t)(p[0] << 8 | p[1]));
}

/* The event lines of a packet's comments (pcapng opt_comment). */
static int
pc_comments(struct ktrace_log *log, const struct pcur *pc, const uint8_t *opt,
    size_t optlen, char *err, size_t errlen, uint64_t pkt)
{
	const uint8_t *p, *nl, *v;
	char where[48];
	size_t n, code, len;
	int error;

	while (optlen >= 4) {
		code = rd16(pc, opt);
		len = rd16(pc, opt + 2);
		if (code == 0)
			break;
		if (len > optlen - 4)
			return (EINVAL);
		v = opt + 4;
		/* Our lines are JSON objects; other comments are skipped. */
		for (p = v; code == 1 && p < v + len; p += n + 1) {
			nl = memchr(p, '\n', (size_t)(v + len - p));
			n = nl != NULL ? (size_t)(nl - p) :
					 (size_t)(v + len - p);
			if (n == 0 || *p != '{')
				continue;
			snprintf(where, sizeof(where),
			    "packet %" PRIu64 " comment", pkt);
			if ((error = json_line(log, (const char *)p, n, err,
				 errlen, where)) != 0)
				return (error);
		}
		len = (len + 3) & ~(size_t)3;
		if (len > optlen - 4)
			break;
		opt += 4 + len;
		optlen -= 4 + len;
	}
	return (0);
}

/* One Ethernet frame. */
static int
pc_frame(struct ktrace_log *log, const uint8_t *f, size_t flen, char *err,
    size_t errlen)
{
	const uint8_t *ip, *th, *pay;
	struct rconn *c;
	struct rseg sg;
	uint32_t src, dst, seq;
	uint16_t sport, dport;
	size_t ihl, tot, doff, paylen, i;
	uint8_t flags;
	uint64_t soff, maxid;
	int error;

	if (flen < 14 || be16(f + 12) != 0x0800)
		return (0);
	ip = f + 14;
	flen -= 14;
	if (flen < 20 || (ip[0] >> 4) != 4)
		return (0);
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = be16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > flen || ip[9] != 6)
		return (0);
	th = ip + ihl;
	if (tot - ihl < 20)
		return (0);
	doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || doff > tot - ihl)
		return (0);
	src = be32(ip + 12);
	dst = be32(ip + 16);
	sport = be16(th);
	dport = be16(th + 2);
	seq = be32(th + 4);
	flags = th[13];
	pay = th + doff;
	paylen = tot - ihl - doff;

	/* The flow: client is the side of the SYN. */
	c = NULL;
	for (i = log->nconn; i > 0; i--) {
		struct rconn *k = &log->conn[i - 1];

		if (!k->flow && k->cport == sport && k->sport == dport &&
		    (flags & 0x12) == 0x02) {
			c = k; /* announced by a conn_open comment */
			break;
		}
		if (k->flow &&
		    ((k->cip == src && k->cport == sport && k->sip == dst &&
			 k->sport == dport) ||
			(k->cip == dst && k->cport == dport && k->sip == src &&
			    k->sport == sport))) {
			c = k;
			break;
		}
	}
	if ((flags & 0x12) == 0x02 && (c == NULL || !c->flow)) {
		if (c == NULL) {
			maxid = 0;
			for (i = 0; i < log->nconn; i++)
				if (log->conn[i].id > maxid)
					maxid = log->conn[i].id;
			if (maxid >= UINT32_MAX ||
			    (c = conn_by_id(log, (uint32_t)maxid + 1, true,
				 &error)) == NULL) {
				seterr(err, errlen, "too many connections");
				return (EFBIG);
			}
		}
		c->flow = true;
		c->cip = src;
		c->sip = dst;
		c->cport = sport;
		c->sport = dport;
		return (0);
	}
	if (c == NULL || !c->flow)
		return (0);
	if ((flags & 0x12) == 0x12 && src == c->sip && sport == c->sport) {
		c->s_isn = seq;
		c->have_isn = true;
		return (0);
	}
	if (paylen == 0)
		return (0);
	if (src == c->cip && sport == c->cport) {
		log->client_bytes += paylen;
		return (0);
	}
	if (!c->have_isn)
		return (0);
	soff = (uint32_t)(seq - c->s_isn - 1);
	if (soff + paylen <= c->srv_base)
		return (0); /* plain server bytes (the handshake) */
	if (soff < c->srv_base) {
		pay += c->srv_base - soff;
		paylen -= c->srv_base - soff;
		soff = c->srv_base;
	}
	sg.conn = c->id;
	sg.off = soff - c->srv_base;
	sg.len = paylen;
	sg.idx = ++log->nev;
	sg.rexmit = sg.off + sg.len <= c->s_max;
	sg.data = pay;
	if (sg.off + sg.len > c->s_max)
		c->s_max = sg.off + sg.len;
	if ((error = add_seg(log, &sg)) != 0)
		seterr(err, errlen, "too many segments");
	return (error);
}

int
ktrace_parse_pcapng_buf(const uint8_t *buf, size_t len,
    struct ktrace_log **logp, char *err, size_t errlen)
{
	struct ktrace_log *log;
	struct pcur pc;
	const uint8_t *b;
	uint16_t linktype[256];
	size_t off, blen, nif, caplen;
	uint32_t type, magic, ifid;
	int error;

	*logp = NULL;
	if (buf == NULL || len < 28) {
		seterr(err, errlen, "not a pcapng file (too short)");
		return (EINVAL);
	}
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return (ENOMEM);
	log->pcapng = true;
	pc.swap = false;
	nif = 0;
	error = 0;
	for (off = 0; off < len; off += blen) {
		if (len - off < 12) {
			seterr(err, errlen, "truncated block at %zu", off);
			error = EINVAL;
			break;
		}
		b = buf + off;
		memcpy(&type, b, 4);
		if (type == 0x0a0d0d0a) {
			if (len - off < 28) {
				seterr(err, errlen, "truncated SHB");
				error = EINVAL;
				break;
			}
			memcpy(&magic, b + 8, 4);
			if (magic == 0x1a2b3c4d)
				pc.swap = false;
			else if (magic == 0x4d3c2b1a)
				pc.swap = true;
			else {
				seterr(err, errlen, "bad byte-order magic");
				error = EINVAL;
				break;
			}
			nif = 0;
		} else if (off == 0) {
			seterr(err, errlen, "not a pcapng file (no SHB)");
			error = EINVAL;
			break;
		}
		type = rd32(&pc, b);
		blen = rd32(&pc, b + 4);
		if (blen < 12 || (blen & 3) != 0 || blen > len - off ||
		    rd32(&pc, b + blen - 4) != blen) {
			seterr(err, errlen, "bad block length at %zu", off);
			error = EINVAL;
			break;
		}
		if (type == 1) { /* IDB */
			if (blen < 20) {
				seterr(err, errlen, "short IDB at %zu", off);
				error = EINVAL;
				break;
			}
			if (nif < 256)
				linktype[nif] = rd16(&pc, b + 8);
			nif++;
		} else if (type == 6) { /* EPB */
			if (blen < 32) {
				seterr(err, errlen, "short EPB at %zu", off);
				error = EINVAL;
				break;
			}
			ifid = rd32(&pc, b + 8);
			caplen = rd32(&pc, b + 20);
			if (caplen > blen - 32 ||
			    ((caplen + 3) & ~(size_t)3) > blen - 32) {
				seterr(err, errlen, "bad EPB length at %zu",
				    off);
				error = EINVAL;
				break;
			}
			log->packets++;
			caplen = rd32(&pc, b + 20);
			if ((error = pc_comments(log, &pc,
				 b + 28 + ((caplen + 3) & ~(size_t)3),
				 blen - 32 - ((caplen + 3) & ~(size_t)3), err,
				 errlen, log->packets)) != 0) {
				if (err != NULL && err[0] == '\0')
					seterr(err, errlen,
					    "bad options at %zu", off);
				break;
			}
			if (ifid < nif && ifid < 256 && linktype[ifid] == 1 &&
			    (error = pc_frame(log, b + 28, caplen, err,
				 errlen)) != 0)
				break;
		}
		/* DSB, SHB options, other blocks: nothing to check. */
	}
	if (error != 0) {
		ktrace_log_free(log);
		return (error);
	}
	log_finish(log);
	*logp = log;
	return (0);
}

int
ktrace_read_file(const char *path, struct ktrace_log **logp, char *err,
    size_t errlen)
{
	struct stat st;
	uint8_t *buf;
	size_t len;
	ssize_t n;
	int fd, error;

	*logp = NULL;
	if ((fd = open(path, O_RDONLY)) < 0) {
		error = errno;
		seterr(err, errlen, "%s: %s", path, strerror(error));
		return (error);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > FILE_MAX) {
		close(fd);
		seterr(err, errlen, "%s: not a regular file of at most 2 GB",
		    path);
		return (EFBIG);
	}
	len = (size_t)st.st_size;
	if ((buf = malloc(len != 0 ? len : 1)) == NULL) {
		close(fd);
		return (ENOMEM);
	}
	for (size_t done = 0; done < len; done += (size_t)n) {
		n = read(fd, buf + done, len - done);
		if (n <= 0) {
			error = n < 0 ? errno : EIO;
			seterr(err, errlen, "%s: read: %s", path,
			    strerror(error));
			close(fd);
			free(buf);
			return (error);
		}
	}
	close(fd);
	if (len >= 4 && memcmp(buf, "\x0a\x0d\x0d\x0a", 4) == 0)
		error = ktrace_parse_pcapng_buf(buf, len, logp, err, errlen);
	else
		error = ktrace_parse_jsonl_buf(buf, len, logp, err, errlen);
	if (error != 0 || *logp == NULL) {
		free(buf);
		return (error);
	}
	(*logp)->owned = buf;
	return (0);
}

/* ---- aggregation and checks ------------------------------------------ */

static int
rec_cmp(const void *a, const void *b)
{
	const struct rrec *x = a, *y = b;
	uint64_t ix, iy;

	if (x->conn != y->conn)
		return (x->conn < y->conn ? -1 : 1);
	if (x->seq != y->seq)
		return (x->seq < y->seq ? -1 : 1);
	ix = x->at[__builtin_ctz(x->has)];
	iy = y->at[__builtin_ctz(y->has)];
	return (ix < iy ? -1 : ix > iy);
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct rseg *x = a, *y = b;

	if (x->conn != y->conn)
		return (x->conn < y->conn ? -1 : 1);
	if (x->off != y->off)
		return (x->off < y->off ? -1 : 1);
	return (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/* Merge the per-event rows into one row per (conn, seq). */
static void
log_finish(struct ktrace_log *log)
{
	struct rrec *d, *s;
	size_t i, n;
	int k;

	if (log->nrec != 0)
		qsort(log->rec, log->nrec, sizeof(*log->rec), rec_cmp);
	if (log->nseg != 0)
		qsort(log->seg, log->nseg, sizeof(*log->seg), seg_cmp);
	n = 0;
	for (i = 0; i < log->nrec; i++) {
		s = &log->rec[i];
		if (n > 0 && log->rec[n - 1].conn == s->conn &&
		    log->rec[n - 1].seq == s->seq) {
			d = &log->rec[n - 1];
			k = __builtin_ctz(s->has);
			if (d->has & s->has) {
				d->dups++;
				continue;
			}
			d->has |= s->has;
			d->at[k] = s->at[k];
			if (k == RK_FRAMED) {
				s->has = d->has;
				memcpy(s->at, d->at, sizeof(s->at));
				s->dups = d->dups;
				s->trlbytes = d->trlbytes;
				memcpy(s->trailer, d->trailer,
				    sizeof(s->trailer));
				*d = *s;
			} else if (k == RK_ENCRYPTED) {
				d->trlbytes = s->trlbytes;
				memcpy(d->trailer, s->trailer,
				    sizeof(d->trailer));
			}
			continue;
		}
		if (n != i)
			log->rec[n] = *s;
		n++;
	}
	log->nrec = n;
}

/* Copy [off, off + len) of conn's stream from pcapng segments. */
static bool
stream_read(const struct ktrace_log *log, size_t lo, size_t hi, uint64_t off,
    size_t len, uint8_t *out)
{
	uint64_t want, s, e;
	size_t i, got;

	got = 0;
	want = off;
	for (i = lo; i < hi && got < len; i++) {
		const struct rseg *g = &log->seg[i];

		if (g->data == NULL || g->off > want)
			continue;
		if (g->off + g->len <= want)
			continue;
		s = want - g->off;
		e = g->len - s < len - got ? g->len - s : len - got;
		memcpy(out + got, g->data + s, e);
		got += e;
		want += e;
	}
	return (got == len);
}

struct checker {
	FILE *out;
	char *first;
	size_t firstlen;
	size_t ndiv;
	bool recdiv;
};

static void __attribute__((format(printf, 2, 3)))
diverge(struct checker *ck, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ck->ndiv == 0) {
		if (ck->first != NULL && ck->firstlen > 0)
			strlcpy(ck->first, msg, ck->firstlen);
		if (ck->out != NULL)
			fprintf(ck->out, "DIVERGENCE: %s\n", msg);
	} else if (ck->out != NULL)
		fprintf(ck->out, "  also: %s\n", msg);
	ck->ndiv++;
	ck->recdiv = true;
}

static const char *
tname(int type)
{

	switch (type) {
	case 20:
		return ("ccs");
	case 21:
		return ("alert");
	case 22:
		return ("handshake");
	case 23:
		return ("app");
	default:
		return ("type");
	}
}

/* The checks of one record; segs [lo, hi) are its connection's. */
static void
check_rec(const struct ktrace_log *log, struct checker *ck,
    const struct rrec *r, const struct rrec *prev, size_t lo, size_t hi,
    uint64_t *nsegsp)
{
	struct golden_suite gs;
	struct golden_record g;
	uint8_t wire[TRL_MAX > HDR_MAX ? TRL_MAX : HDR_MAX];
	uint64_t covered, reach, s, e, firstidx, lastidx, nsegs;
	size_t i, a, b, m;
	int k, error;

	if ((r->has & (1U << RK_FRAMED)) == 0) {
		diverge(ck, "conn %u seq %" PRIu64 ": events without framed",
		    r->conn, r->seq);
		*nsegsp = 0;
		return;
	}
	if (r->dups != 0)
		diverge(ck, "conn %u seq %" PRIu64 ": %u repeated events",
		    r->conn, r->seq, r->dups);
	gs.cipher_algorithm = r->cipher;
	gs.auth_algorithm = r->auth;
	gs.tls_vminor = r->vminor;
	error = golden_frame(&gs, (uint8_t)r->inner, r->plen, &g);
	if (error != 0)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": golden model rejects suite "
		    "cipher %d auth %d vminor %d plen %" PRIu64,
		    r->conn, r->seq, r->cipher, r->auth, r->vminor, r->plen);
	else if (g.reclen != r->reclen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": reclen %" PRIu64
		    ", golden %zu (plen %" PRIu64 ")",
		    r->conn, r->seq, r->reclen, g.reclen, r->plen);
	else if (memcmp(g.hdr, r->hdr, GOLDEN_HDR_LEN) != 0)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": header %02x%02x%02x%02x%02x, "
		    "golden %02x%02x%02x%02x%02x",
		    r->conn, r->seq, r->hdr[0], r->hdr[1], r->hdr[2], r->hdr[3],
		    r->hdr[4], g.hdr[0], g.hdr[1], g.hdr[2], g.hdr[3],
		    g.hdr[4]);
	else if (g.explicit_len != r->hdrlen - GOLDEN_HDR_LEN ||
	    g.trailer_len != r->trllen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": explicit %" PRIu64
		    " trailer %" PRIu64 ", golden %zu and %zu",
		    r->conn, r->seq, r->hdrlen - GOLDEN_HDR_LEN, r->trllen,
		    g.explicit_len, g.trailer_len);
	if (r->hdrlen + r->plen + r->trllen != r->reclen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": hdrlen + plen + trllen != reclen",
		    r->conn, r->seq);
	if (r->inner != r->type && r->vminor != 4)
		diverge(ck, "conn %u seq %" PRIu64 ": inner type %d != type %d",
		    r->conn, r->seq, r->inner, r->type);
	if (prev != NULL) {
		if (r->seq != prev->seq + 1)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": follows seq %" PRIu64,
			    r->conn, r->seq, prev->seq);
		else if ((prev->has & 1U << RK_FRAMED) != 0 &&
		    r->off != prev->off + prev->reclen)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": at offset %" PRIu64
			    ", previous record ends at %" PRIu64,
			    r->conn, r->seq, r->off, prev->off + prev->reclen);
	}
	for (k = RK_FRAMED + 1; k < RK_N; k++) {
		for (int j = k - 1; j >= RK_FRAMED; j--) {
			if ((r->has & 1U << k) == 0 || (r->has & 1U << j) == 0)
				continue;
			if (r->at[j] > r->at[k])
				diverge(ck,
				    "conn %u seq %" PRIu64 ": %c after %c",
				    r->conn, r->seq, rk_letter[j],
				    rk_letter[k]);
			break;
		}
	}

	/* Segments: a sorted run; lengths are at most SEG_MAX. */
	a = lo;
	b = hi;
	while (a < b) {
		m = a + (b - a) / 2;
		if (log->seg[m].off + SEG_MAX < r->off)
			a = m + 1;
		else
			b = m;
	}
	covered = 0;
	reach = r->off;
	nsegs = 0;
	firstidx = UINT64_MAX;
	lastidx = 0;
	for (i = a; i < hi && log->seg[i].off < r->off + r->reclen; i++) {
		const struct rseg *sg = &log->seg[i];

		if (sg->off + sg->len <= r->off)
			continue;
		nsegs++;
		if (sg->idx < firstidx)
			firstidx = sg->idx;
		if (sg->idx > lastidx)
			lastidx = sg->idx;
		s = sg->off > reach ? sg->off : reach;
		e = sg->off + sg->len < r->off + r->reclen ? sg->off + sg->len :
							     r->off + r->reclen;
		if (e > s) {
			covered += e - s;
			reach = e;
		}
	}
	*nsegsp = nsegs;
	if (nsegs != 0) {
		if ((r->has & 1U << RK_ENCRYPTED) == 0)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": sent, never encrypted",
			    r->conn, r->seq);
		if ((r->has & 1U << RK_READY) == 0)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": sent, never ready",
			    r->conn, r->seq);
		else if (firstidx < r->at[RK_READY])
			diverge(ck,
			    "conn %u seq %" PRIu64 ": sent before ready",
			    r->conn, r->seq);
	}
	if ((r->has & 1U << RK_FREED) != 0 && covered != r->reclen)
		diverge(ck,
		    "conn %u seq %" PRIu64 ": freed with %" PRIu64
		    " of %" PRIu64 " bytes sent",
		    r->conn, r->seq, covered, r->reclen);

	/* pcapng: the bytes on the wire. */
	if (log->pcapng && covered == r->reclen) {
		if (!stream_read(log, lo, hi, r->off, r->hdrlen, wire) ||
		    memcmp(wire, r->hdr, r->hdrlen) != 0)
			diverge(ck,
			    "conn %u seq %" PRIu64 ": header on the wire "
			    "%02x%02x%02x%02x%02x differs from framed",
			    r->conn, r->seq, wire[0], wire[1], wire[2], wire[3],
			    wire[4]);
		else if (r->trlbytes != 0 && r->trlbytes == r->trllen &&
		    (!stream_read(log, lo, hi, r->off + r->reclen - r->trllen,
			 r->trllen, wire) ||
			memcmp(wire, r->trailer, r->trllen) != 0))
			diverge(ck,
			    "conn %u seq %" PRIu64
			    ": trailer on the wire differs from encrypted",
			    r->conn, r->seq);
	}
}

size_t
ktrace_check(const struct ktrace_log *log, FILE *out, char *first,
    size_t firstlen)
{
	struct checker ck;
	const struct rrec *r, *prev;
	uint64_t nsegs, bytes, reach;
	size_t i, j, lo, hi, nconn;
	char ev[RK_N + 1];
	int k;

	memset(&ck, 0, sizeof(ck));
	ck.out = out;
	ck.first = first;
	ck.firstlen = firstlen;
	if (first != NULL && firstlen > 0)
		first[0] = '\0';
	if (log == NULL)
		return (0);

	/* Whole-stream coverage per connection: no holes. */
	bytes = 0;
	for (lo = 0; lo < log->nseg; lo = hi) {
		for (hi = lo;
		     hi < log->nseg && log->seg[hi].conn == log->seg[lo].conn;
		     hi++)
			;
		reach = 0;
		for (j = lo; j < hi; j++) {
			if (log->seg[j].off > reach) {
				diverge(&ck,
				    "conn %u: stream bytes [%" PRIu64
				    ",%" PRIu64 ") never sent",
				    log->seg[j].conn, reach, log->seg[j].off);
				break;
			}
			if (log->seg[j].off + log->seg[j].len > reach)
				reach = log->seg[j].off + log->seg[j].len;
		}
		bytes += reach;
	}

	nconn = 0;
	prev = NULL;
	lo = hi = 0;
	for (i = 0; i < log->nrec; i++) {
		r = &log->rec[i];
		if (prev == NULL || prev->conn != r->conn) {
			prev = NULL;
			nconn++;
			for (lo = 0;
			     lo < log->nseg && log->seg[lo].conn < r->conn;
			     lo++)
				;
			for (hi = lo;
			     hi < log->nseg && log->seg[hi].conn == r->conn;
			     hi++)
				;
		}
		ck.recdiv = false;
		check_rec(log, &ck, r, prev, lo, hi, &nsegs);
		for (k = 0; k < RK_N; k++)
			ev[k] = (r->has & 1U << k) != 0 ? rk_letter[k] : '-';
		ev[RK_N] = '\0';
		if (out != NULL)
			fprintf(out,
			    "conn %u seq %" PRIu64 " %s(%d) plen %" PRIu64
			    " reclen %" PRIu64 " off %" PRIu64 " segs %" PRIu64
			    " events %s %s\n",
			    r->conn, r->seq, tname(r->inner), r->inner, r->plen,
			    r->reclen, r->off, nsegs, ev,
			    ck.recdiv ? "DIVERGES" : "OK");
		prev = r;
	}
	if (out != NULL) {
		fprintf(out,
		    "%zu records in %zu connections, %" PRIu64
		    " server bytes in %zu segments",
		    log->nrec, nconn, bytes, log->nseg);
		if (log->client_bytes != 0 || log->plain_bytes != 0)
			fprintf(out,
			    " (+%" PRIu64 " plain server bytes, %" PRIu64
			    " client bytes)",
			    log->plain_bytes, log->client_bytes);
		fprintf(out, ": %s\n", ck.ndiv == 0 ? "OK" : "DIVERGENCE");
	}
	return (ck.ndiv);
}
