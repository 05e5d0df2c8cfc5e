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

/* RFC 9110 section 5.6.2: tchar, in ASCII whatever the locale. */
static bool
is_tchar(int c)
{

	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z'))
		return (true);
	/* Not strchr(), which finds the terminator when c is NUL. */
	return (c != '\0' && memchr("!#$%&'*+-.^_`|~", c, 15) != NULL);
}

/*
 * RFC 9110 section 5.5: field-content is VCHAR, obs-text, SP and HTAB.
 * CR, LF and NUL MUST be rejected or replaced; we reject every control.
 */
static bool
is_field_char(int c)
{

	return (c == '\t' || (c >= 0x20 && c != 0x7f));
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

/*
 * Find the end of the request head in buf[0, len): the offset past the
 * empty line that ends it (0 if it is not there yet) and, in *startp,
 * where the request-line starts.  Every line must end in CRLF; NUL, a
 * bare CR or a bare LF anywhere is a 400 at once, before the head is
 * complete: RFC 9112 section 2.2 lets a recipient reject a bare CR, and
 * a recipient that took LF alone as a line end would split the fields
 * differently from us (request smuggling, RFC 9112 section 11.2).
 * Up to HTTP_MAX_EMPTY_LINES empty lines before the request-line are
 * skipped (RFC 9112 section 2.2 SHOULD) and counted into the head.
 */
static int
head_end(const char *buf, size_t len, size_t *startp, size_t *endp)
{
	size_t i, line, nempty;

	*startp = *endp = 0;
	for (i = line = nempty = 0; i < len; i++) {
		if (buf[i] == '\0' || buf[i] == '\n')
			return (400);
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			break; /* LF may still come */
		if (buf[i + 1] != '\n')
			return (400);
		if (i == line && line == *startp) {
			if (++nempty > HTTP_MAX_EMPTY_LINES)
				return (400);
			*startp = i + 2;
		} else if (i == line) {
			*endp = i + 2;
			return (200);
		}
		line = i + 2;
		i++;
	}
	return (HTTP_INCOMPLETE);
}

/*
 * Content-Length = 1*DIGIT (RFC 9110 section 8.6).  Returns 400 if v is
 * not that, a list even of equal values included (RFC 9112 section 6.3
 * item 5), 413 for a length other than zero, which we cannot frame, else
 * 200.
 */
static int
content_length(const char *v, size_t vlen)
{
	bool zero;
	size_t i;

	if (vlen == 0)
		return (400);
	zero = true;
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (400);
		if (v[i] != '0')
			zero = false;
	}
	return (zero ? 200 : 413);
}

int
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	const char *end, *p, *sp1, *sp2, *eol, *colon, *v, *ve;
	bool conn_close, conn_keep;
	int clstatus, ncl, nte, status;
	size_t n, start, hend;

	memset(req, 0, sizeof(*req));
	status = head_end(buf, len > HTTP_MAX_HEADER ? HTTP_MAX_HEADER : len,
	    &start, &hend);
	if (status == HTTP_INCOMPLETE)
		return (len >= HTTP_MAX_HEADER ? 431 : HTTP_INCOMPLETE);
	if (status != 200)
		return (status);
	req->hdrlen = hend;
	end = buf + hend - 2; /* the CRLF of the empty line */
	buf += start;

	/*
	 * request-line = method SP request-target SP HTTP-version CRLF;
	 * head_end() made sure each line ends in CRLF and has no other CR.
	 */
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
	/* RFC 3986 section 2: a URI is printable ASCII, no SP. */
	for (p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return (400);
	/* RFC 9112 section 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT */
	if (eol - sp2 - 1 != 8 || strncmp(sp2 + 1, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)sp2[6]) || sp2[7] != '.' ||
	    !isdigit((unsigned char)sp2[8]))
		return (400);
	if (sp2[6] != '1')
		return (505);
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
	clstatus = 200;
	ncl = nte = 0;
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memchr(p, '\r', end + 1 - p);
		colon = memchr(p, ':', eol - p);
		if (colon == NULL || colon == p)
			return (400);
		/*
		 * RFC 9112 section 5.1: no whitespace before the colon.  This
		 * also refuses obs-fold (section 5.2) and whitespace before
		 * the first field (section 2.2): their lines start with it.
		 */
		for (v = p; v < colon; v++)
			if (!is_tchar((unsigned char)*v))
				return (400);
		for (v = colon + 1; v < eol; v++)
			if (!is_field_char((unsigned char)*v))
				return (400);
		/* RFC 9112 section 5: the OWS around a value is not in it. */
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t');
		     ve--)
			;
		n = colon - p;
		if (n == 10 && strncasecmp(p, "connection", 10) == 0) {
			conn_close |= has_token(v, ve - v, "close");
			conn_keep |= has_token(v, ve - v, "keep-alive");
		} else if (n == 17 &&
		    strncasecmp(p, "transfer-encoding", 17) == 0) {
			nte++;
		} else if (n == 14 &&
		    strncasecmp(p, "content-length", 14) == 0) {
			ncl++;
			status = content_length(v, ve - v);
			if (status == 400)
				return (400);
			if (status != 200)
				clstatus = status;
		}
	}

	/*
	 * No request bodies.  Whatever announces one is refused and the
	 * connection closed, so a body can never be taken for the next
	 * request.  Like nginx (ngx_http_process_request_header()): a
	 * repeated Content-Length or Transfer-Encoding, both together
	 * (RFC 9112 section 6.1 allows rejecting that) or Transfer-Encoding
	 * in HTTP/1.0 (section 6.1: faulty framing) is 400; any other
	 * Transfer-Encoding is 501 (section 6.1: a coding we do not
	 * implement for requests), a non-zero length 413.
	 */
	if (ncl > 1 || nte > 1 || (nte > 0 && (ncl > 0 || req->minor == 0)))
		return (400);
	if (nte > 0)
		return (501);
	if (clstatus != 200)
		return (clstatus);

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
			/*
			 * %00 would cut the path short, and no file we serve
			 * has a control character in its name.  %2f is a
			 * '/', checked for ".." below like any other.
			 */
			if ((unsigned char)path[j] < 0x20 || path[j] == 0x7f)
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
	/* Without its trailing '/', so that a root of "/" holds "/a". */
	rootlen = strlen(root);
	while (rootlen > 0 && root[rootlen - 1] == '/')
		rootlen--;
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
