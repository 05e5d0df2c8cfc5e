/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * HTTP/1.1 request parsing and static file resolution for sim_server.
 */

#include <sys/stat.h>

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/server/http.h"

static const char *
find_crlfcrlf(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' &&
		    buf[i + 2] == '\r' && buf[i + 3] == '\n')
			return (buf + i);
	return (NULL);
}

/* RFC 9110 5.6.2: token characters. */
static bool
is_tchar(int c)
{

	return (isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Does the comma-separated header value contain the token tok? */
static bool
has_token(const char *v, size_t vlen, const char *tok)
{
	size_t i, j, tlen;

	tlen = strlen(tok);
	for (i = 0; i < vlen;) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		for (j = i; j < vlen && v[j] != ','; j++)
			;
		while (j > i && (v[j - 1] == ' ' || v[j - 1] == '\t'))
			j--;
		if (j - i == tlen && strncasecmp(v + i, tok, tlen) == 0)
			return (true);
		while (i < vlen && v[i] != ',')
			i++;
	}
	return (false);
}

int
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	const char *end, *p, *sp1, *sp2, *eol, *colon, *v;
	bool conn_close, conn_keep;
	size_t n, vlen;

	memset(req, 0, sizeof(*req));
	end = find_crlfcrlf(buf, len > HTTP_MAX_HEADER ? HTTP_MAX_HEADER : len);
	if (end == NULL)
		return (len >= HTTP_MAX_HEADER ? 431 : HTTP_INCOMPLETE);
	req->hdrlen = end - buf + 4;

	/* request-line = method SP request-target SP HTTP-version CRLF */
	eol = memchr(buf, '\r', end - buf + 1);
	sp1 = memchr(buf, ' ', eol - buf);
	if (sp1 == NULL || sp1 == buf)
		return (400);
	sp2 = memchr(sp1 + 1, ' ', eol - sp1 - 1);
	if (sp2 == NULL || sp2 == sp1 + 1)
		return (400);
	for (p = buf; p < sp1; p++)
		if (!is_tchar((unsigned char)*p))
			return (400);
	for (p = sp1 + 1; p < sp2; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return (400);
	if (eol - sp2 - 1 != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)sp2[8]))
		return (strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400);
	req->minor = sp2[8] - '0';
	n = sp1 - buf;
	if (n >= sizeof(req->method))
		return (501);
	memcpy(req->method, buf, n);
	n = sp2 - sp1 - 1;
	if (n >= sizeof(req->target))
		return (414);
	memcpy(req->target, sp1 + 1, n);
	if (req->target[0] != '/')
		return (400); /* origin-form only (RFC 9112 3.2.1) */

	/* Header fields. */
	conn_close = conn_keep = false;
	for (p = eol + 2; p < end + 2; p = eol + 2) {
		eol = memchr(p, '\r', end + 2 - p);
		if (eol == NULL || eol[1] != '\n')
			return (400);
		colon = memchr(p, ':', eol - p);
		if (colon == NULL || colon == p)
			return (400);
		for (v = p; v < colon; v++)
			if (!is_tchar((unsigned char)*v))
				return (400); /* RFC 9112 5.1: no WS */
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		vlen = eol - v;
		n = colon - p;
		if (n == 10 && strncasecmp(p, "connection", 10) == 0) {
			conn_close |= has_token(v, vlen, "close");
			conn_keep |= has_token(v, vlen, "keep-alive");
		} else if (n == 17 &&
		    strncasecmp(p, "transfer-encoding", 17) == 0) {
			return (501);
		} else if (n == 14 &&
		    strncasecmp(p, "content-length", 14) == 0) {
			/* No bodies: a non-zero length cannot be framed. */
			if (vlen != 1 || *v != '0')
				return (413);
		}
	}

	if (req->minor >= 1)
		req->keepalive = !conn_close;
	else
		req->keepalive = conn_keep && !conn_close;
	if (strcmp(req->method, "HEAD") == 0)
		req->head = true;
	else if (strcmp(req->method, "GET") != 0)
		return (405);
	return (200);
}

static int
hexval(int c)
{

	if (c >= '0' && c <= '9')
		return (c - '0');
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

int
http_resolve(const char *root, const char *target, char *out, size_t outlen)
{
	char path[PATH_MAX], real[PATH_MAX];
	const char *seg;
	struct stat sb;
	size_t i, j, rootlen;
	int hi, lo;

	/* Percent-decode the path part (RFC 3986 2.1), stop at '?'/'#'. */
	for (i = j = 0;
	     target[i] != '\0' && target[i] != '?' && target[i] != '#'; i++) {
		if (j + 1 >= sizeof(path))
			return (400);
		if (target[i] == '%') {
			hi = hexval((unsigned char)target[i + 1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)target[i + 2]);
			if (hi < 0 || lo < 0)
				return (400);
			path[j] = (char)(hi << 4 | lo);
			if (path[j] == '\0')
				return (400);
			i += 2;
		} else
			path[j] = target[i];
		j++;
	}
	path[j] = '\0';
	if (path[0] != '/')
		return (400);
	/* Refuse dot-dot segments outright rather than normalise them. */
	for (seg = path; seg != NULL; seg = strchr(seg + 1, '/'))
		if (strncmp(seg, "/..", 3) == 0 &&
		    (seg[3] == '/' || seg[3] == '\0'))
			return (400);
	if (snprintf(real, sizeof(real), "%s%s%s", root, path,
		path[j - 1] == '/' ? "index.html" : "") >= (int)sizeof(real))
		return (400);
	/* Symbolic links must not lead out of root either. */
	if (realpath(real, path) == NULL)
		return (404);
	rootlen = strlen(root);
	if (strncmp(path, root, rootlen) != 0 ||
	    (path[rootlen] != '/' && path[rootlen] != '\0'))
		return (404);
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return (404);
	if (snprintf(out, outlen, "%s", path) >= (int)outlen)
		return (400);
	return (200);
}

const char *
http_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".css", "text/css" },
		{ ".js", "text/javascript" },
		{ ".png", "image/png" },
	};
	const char *dot;
	size_t i;

	dot = strrchr(path, '.');
	if (dot != NULL && strchr(dot, '/') == NULL)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return (types[i].type);
	return ("application/octet-stream");
}

const char *
http_reason(int status)
{

	switch (status) {
	case 200:
		return ("OK");
	case 400:
		return ("Bad Request");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 413:
		return ("Content Too Large");
	case 414:
		return ("URI Too Long");
	case 431:
		return ("Request Header Fields Too Large");
	case 500:
		return ("Internal Server Error");
	case 501:
		return ("Not Implemented");
	case 505:
		return ("HTTP Version Not Supported");
	}
	return ("Unknown");
}

int
http_format_header(char *buf, size_t buflen, int status, const char *ctype,
    off_t clen, bool keepalive, const char *extra)
{
	char cl[40];
	int n;

	cl[0] = '\0';
	if (clen >= 0)
		snprintf(cl, sizeof(cl), "Content-Length: %jd\r\n",
		    (intmax_t)clen);
	n = snprintf(buf, buflen,
	    "HTTP/1.1 %d %s\r\n"
	    "Server: ktlsim-sim_server\r\n"
	    "Content-Type: %s\r\n"
	    "%s"
	    "Connection: %s\r\n"
	    "%s"
	    "\r\n",
	    status, http_reason(status), ctype, cl,
	    keepalive ? "keep-alive" : "close", extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= buflen)
		return (-1);
	return (n);
}
