/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Target functions: http_parse_request() and http_resolve() (sim/server/http.c,
 * sim_server's HTTP subset).
 *
 * The input is what a client sent on one connection.  It is parsed the way
 * sim_server's conn_process() does: request after request, each starting
 * hdrlen bytes after the one before, until one is incomplete or refused.
 * What must hold, checked here without sim/server/http.c's own helpers:
 *
 *   - the status is HTTP_INCOMPLETE (only below HTTP_MAX_HEADER bytes) or
 *     one that http.h lists; hdrlen never exceeds the bytes given; method
 *     and target are NUL-terminated within their arrays;
 *   - an accepted request's head (hdrlen bytes) has no NUL, every CR in
 *     it is followed by LF and every LF follows a CR, it ends in an empty
 *     line, and it reads: at most HTTP_MAX_EMPTY_LINES CRLFs, method SP
 *     target SP "HTTP/1." minor CRLF; the method is GET or HEAD and the
 *     target printable ASCII starting with '/';
 *   - its field values have no control characters but HTAB, and no
 *     field announces a body (Transfer-Encoding, a Content-Length other
 *     than zero, twice), so that the next request really starts at
 *     hdrlen;
 *   - the head alone parses to the same request, and a proper prefix of
 *     it is incomplete: what follows a request never changes it;
 *   - http_resolve() answers 200, 400 or 404, and on 200 names one of the
 *     regular files of a temporary root made here, canonical, under that
 *     root by a prefix check of our own; never the file beside the root
 *     that symbolic links in it point to.
 *
 * The input, cut at its first NUL, is also given to http_resolve() as a
 * target directly, so that it sees targets the parser would refuse.
 */

#include <sys/stat.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sim/server/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(int line, const char *what);

#define FUZZ_CHECK(cond)                            \
	do {                                        \
		if (!(cond))                        \
			fuzz_fail(__LINE__, #cond); \
	} while (0)

/* The tree under the temporary directory; "www" is the document root. */
static const struct {
	const char *path;
	char type;	  /* 'd'irectory, 'f'ile or symbolic 'l'ink */
	const char *link; /* what a link points to */
} tree[] = {
	{ "secret", 'f', NULL }, { "www", 'd', NULL },
	{ "www/index.html", 'f', NULL }, { "www/a.txt", 'f', NULL },
	{ "www/b c.txt", 'f', NULL }, { "www/sub", 'd', NULL },
	{ "www/sub/index.html", 'f', NULL }, { "www/sub/d.json", 'f', NULL },
	{ "www/empty", 'd', NULL },
	{ "www/out", 'l', "../secret" },   /* a file out of the root */
	{ "www/outdir", 'l', ".." },	   /* the directory above it */
	{ "www/abs", 'l', "/etc/passwd" }, /* absolute, out */
	{ "www/in", 'l', "sub" },	   /* a directory inside */
	{ "www/a-link", 'l', "a.txt" },	   /* a file inside */
	{ "www/sub/up", 'l', ".." },	   /* back to the root */
	{ "www/sub/loop", 'l', "loop" },   /* ELOOP */
};
#define NTREE (sizeof(tree) / sizeof(tree[0]))

/* The regular files under the root, relative to it: all we may serve. */
static const char *const servable[] = {
	"index.html",
	"a.txt",
	"b c.txt",
	"sub/index.html",
	"sub/d.json",
};

static char base[] = "/tmp/fuzz_http.XXXXXX";
static char root[PATH_MAX];
static size_t rootlen;

static void
tree_remove(void)
{
	char p[PATH_MAX];
	size_t i;

	for (i = NTREE; i > 0; i--) {
		snprintf(p, sizeof(p), "%s/%s", base, tree[i - 1].path);
		if (unlink(p) != 0)
			(void)rmdir(p);
	}
	(void)rmdir(base);
}

/* abort() runs no atexit() handler: take the tree away first. */
static void
fuzz_fail(int line, const char *what)
{

	fprintf(stderr, "fuzz_http: %s:%d: %s\n", __FILE__, line, what);
	tree_remove();
	abort();
}

static void
tree_make(void)
{
	char p[PATH_MAX];
	FILE *fp;
	size_t i;

	FUZZ_CHECK(mkdtemp(base) != NULL);
	for (i = 0; i < NTREE; i++) {
		snprintf(p, sizeof(p), "%s/%s", base, tree[i].path);
		if (tree[i].type == 'l')
			FUZZ_CHECK(symlink(tree[i].link, p) == 0);
		else if (tree[i].type == 'd')
			FUZZ_CHECK(mkdir(p, 0755) == 0);
		else {
			fp = fopen(p, "w");
			FUZZ_CHECK(fp != NULL);
			fprintf(fp, "%s\n", tree[i].path);
			fclose(fp);
		}
	}
	atexit(tree_remove);
	snprintf(p, sizeof(p), "%s/www", base);
	FUZZ_CHECK(realpath(p, root) != NULL);
	rootlen = strlen(root);
}

static void
check_resolve(const char *target)
{
	char out[PATH_MAX], canon[PATH_MAX];
	struct stat sb;
	size_t i;
	int status;

	memset(out, 0xa5, sizeof(out));
	status = http_resolve(root, target, out, sizeof(out));
	FUZZ_CHECK(status == 200 || status == 400 || status == 404);
	if (status != 200)
		return;
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	/* Under the root, by string prefix ... */
	FUZZ_CHECK(strncmp(out, root, rootlen) == 0 && out[rootlen] == '/');
	/* ... canonical, so that the prefix means something ... */
	FUZZ_CHECK(realpath(out, canon) != NULL);
	FUZZ_CHECK(strcmp(canon, out) == 0);
	FUZZ_CHECK(lstat(out, &sb) == 0 && S_ISREG(sb.st_mode));
	/* ... and one of the files we made there. */
	for (i = 0; i < sizeof(servable) / sizeof(servable[0]); i++)
		if (strcmp(out + rootlen + 1, servable[i]) == 0)
			return;
	FUZZ_CHECK(!"resolved to a file we did not put under the root");
}

static bool
valid_status(int status)
{

	switch (status) {
	case 200:
	case 400:
	case 405:
	case 413:
	case 414:
	case 431:
	case 501:
	case 505:
		return (true);
	}
	return (false);
}

/* Parse an exact-size copy, so that ASan sees a read past len. */
static int
parse_copy(const char *buf, size_t len, struct http_request *rq)
{
	char *copy;
	int status;

	copy = malloc(len > 0 ? len : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, buf, len);
	status = http_parse_request(copy, len, rq);
	free(copy);
	return (status);
}

/* The fields of an accepted head must not announce a body. */
static void
check_fields(const char *p, const char *end)
{
	const char *eol, *colon, *v, *ve;
	int ncl;

	for (ncl = 0; p < end; p = eol + 2) {
		eol = memchr(p, '\r', end - p);
		FUZZ_CHECK(eol != NULL && eol + 1 < end && eol[1] == '\n');
		if (eol == p)
			break;
		colon = memchr(p, ':', eol - p);
		FUZZ_CHECK(colon != NULL && colon > p);
		/* RFC 9110 section 5.5: no controls but HTAB in a value. */
		for (v = colon + 1; v < eol; v++)
			FUZZ_CHECK(*v == '\t' ||
			    ((unsigned char)*v >= 0x20 && *v != 0x7f));
		FUZZ_CHECK(!(colon - p == 17 &&
		    strncasecmp(p, "transfer-encoding", 17) == 0));
		if (colon - p != 14 ||
		    strncasecmp(p, "content-length", 14) != 0)
			continue;
		FUZZ_CHECK(++ncl == 1);
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t');
		     ve--)
			;
		FUZZ_CHECK(ve > v);
		for (; v < ve; v++)
			FUZZ_CHECK(*v == '0');
	}
}

static void
check_accepted(const char *buf, const struct http_request *rq)
{
	struct http_request again;
	const char *p, *end;
	size_t i, mlen, tlen, k;

	end = buf + rq->hdrlen;
	FUZZ_CHECK(rq->hdrlen >= 4 && rq->hdrlen <= HTTP_MAX_HEADER);
	FUZZ_CHECK(memcmp(end - 4, "\r\n\r\n", 4) == 0);
	for (i = 0; i < rq->hdrlen; i++) {
		FUZZ_CHECK(buf[i] != '\0');
		if (buf[i] == '\r')
			FUZZ_CHECK(buf[i + 1] == '\n');
		if (buf[i] == '\n')
			FUZZ_CHECK(i > 0 && buf[i - 1] == '\r');
	}

	/* The request line, spelled out again from the request. */
	for (p = buf, k = 0; p < end && p[0] == '\r'; p += 2)
		k++;
	FUZZ_CHECK(k <= HTTP_MAX_EMPTY_LINES);
	FUZZ_CHECK(
	    strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0);
	FUZZ_CHECK(rq->head == (strcmp(rq->method, "HEAD") == 0));
	FUZZ_CHECK(rq->minor >= 0 && rq->minor <= 9);
	mlen = strlen(rq->method);
	tlen = strlen(rq->target);
	FUZZ_CHECK(tlen > 0 && rq->target[0] == '/');
	for (i = 0; i < tlen; i++)
		FUZZ_CHECK(rq->target[i] > 0x20 && rq->target[i] < 0x7f);
	FUZZ_CHECK((size_t)(end - p) >= mlen + tlen + 12);
	FUZZ_CHECK(memcmp(p, rq->method, mlen) == 0 && p[mlen] == ' ');
	p += mlen + 1;
	FUZZ_CHECK(memcmp(p, rq->target, tlen) == 0 && p[tlen] == ' ');
	p += tlen + 1;
	FUZZ_CHECK(memcmp(p, "HTTP/1.", 7) == 0 && p[7] == '0' + rq->minor);
	FUZZ_CHECK(p[8] == '\r' && p[9] == '\n');
	check_fields(p + 10, end);

	/* The head alone is the same request; less of it is incomplete. */
	FUZZ_CHECK(parse_copy(buf, rq->hdrlen, &again) == 200);
	FUZZ_CHECK(again.hdrlen == rq->hdrlen);
	FUZZ_CHECK(strcmp(again.method, rq->method) == 0);
	FUZZ_CHECK(strcmp(again.target, rq->target) == 0);
	FUZZ_CHECK(again.keepalive == rq->keepalive);
	FUZZ_CHECK(parse_copy(buf, rq->hdrlen - 1, &again) == HTTP_INCOMPLETE);
	FUZZ_CHECK(parse_copy(buf, rq->hdrlen / 2, &again) == HTTP_INCOMPLETE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request rq;
	char target[sizeof(rq.target)];
	const char *buf;
	size_t off, n;
	int status;

	if (root[0] == '\0')
		tree_make();

	/* Pipelined requests, as conn_process() consumes them. */
	buf = (const char *)data;
	for (off = 0; off < size; off += rq.hdrlen) {
		memset(&rq, 0xa5, sizeof(rq));
		status = parse_copy(buf + off, size - off, &rq);
		FUZZ_CHECK(memchr(rq.method, '\0', sizeof(rq.method)) != NULL);
		FUZZ_CHECK(memchr(rq.target, '\0', sizeof(rq.target)) != NULL);
		FUZZ_CHECK(rq.hdrlen <= size - off);
		if (status == HTTP_INCOMPLETE) {
			FUZZ_CHECK(size - off < HTTP_MAX_HEADER);
			break;
		}
		FUZZ_CHECK(valid_status(status));
		if (status == 405)
			FUZZ_CHECK(strcmp(rq.method, "GET") != 0 &&
			    strcmp(rq.method, "HEAD") != 0);
		if (status != 200)
			break;
		check_accepted(buf + off, &rq);
		check_resolve(rq.target);
	}

	/* The raw input as a target. */
	n = size < sizeof(target) - 1 ? size : sizeof(target) - 1;
	memcpy(target, data, n);
	target[n] = '\0';
	check_resolve(target);
	return (0);
}
