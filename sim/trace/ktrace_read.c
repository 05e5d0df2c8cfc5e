/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Reading record traces back: the log that the JSON-lines and pcapng
 * readers fill (ktrace_read.h), and ktrace_read_file(), which picks the
 * reader by the file's first bytes.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/trace/ktrace_read.h"
#include "sim/trace/trace.h"

void
ktr_seterr(char *err, size_t errlen, const char *fmt, ...)
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

struct rconn *
ktr_conn_by_id(struct ktrace_log *log, uint32_t id, bool create, int *errp)
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

int
ktr_add_rec(struct ktrace_log *log, const struct rrec *r)
{
	int error;

	if ((error = grow((void **)&log->rec, &log->caprec, log->nrec,
		 sizeof(*log->rec), KTRACE_READ_MAX_EVENTS)) != 0)
		return (error);
	log->rec[log->nrec++] = *r;
	return (0);
}

int
ktr_add_seg(struct ktrace_log *log, const struct rseg *s)
{
	int error;

	if ((error = grow((void **)&log->seg, &log->capseg, log->nseg,
		 sizeof(*log->seg), KTRACE_READ_MAX_EVENTS)) != 0)
		return (error);
	log->seg[log->nseg++] = *s;
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
		ktr_seterr(err, errlen, "%s: %s", path, strerror(error));
		return (error);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > FILE_MAX) {
		close(fd);
		ktr_seterr(err, errlen,
		    "%s: not a regular file of at most 2 GB", path);
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
			ktr_seterr(err, errlen, "%s: read: %s", path,
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
void
ktr_log_finish(struct ktrace_log *log)
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
