/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The small HTTP/1.1 subset sim_server speaks (RFC 9112): GET and HEAD of
 * static files, keep-alive, no request bodies.  Pure functions, no I/O
 * besides stat/realpath, so that tests and fuzzers can drive them.
 */

#ifndef _SIM_HTTP_H_
#define _SIM_HTTP_H_

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADER 8192   /* request line + headers */
#define HTTP_MAX_EMPTY_LINES 8 /* CRLFs ignored before a request line */
#define HTTP_INCOMPLETE 0      /* http_parse_request(): need more bytes */

struct http_request {
	char method[16];
	char target[2048];
	int minor;	/* HTTP/1.<minor> */
	bool keepalive; /* after this response */
	bool head;	/* HEAD: headers only */
	size_t hdrlen;	/* bytes consumed from the buffer */
};

/*
 * Parse one request from buf.  Returns HTTP_INCOMPLETE when the header is
 * not complete yet, 200 when req is filled in (req->hdrlen bytes, empty
 * lines before the request line included, belong to it), or the error
 * status to answer with (400, 405, 413, 414, 431, 501, 505); after an
 * error the connection is closed, since the request boundary is unknown.
 * NUL, a CR without LF or a LF without CR anywhere in what has arrived of
 * the head is 400 at once.  A request that would have a body (a
 * Content-Length other than 0, any Transfer-Encoding) is an error: there
 * is no body support.
 */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/*
 * Map a request target onto a regular file under root (a realpath()ed
 * directory).  Percent-decodes (%00 and other controls are 400), drops the
 * query, maps a trailing '/' to index.html and refuses anything that
 * resolves outside root ("..", also as %2e%2e or with %2f, is 400;
 * symbolic links out are 404).  Returns 200 with the path in out, 404 or
 * 400.
 */
int http_resolve(const char *root, const char *target, char *out,
    size_t outlen);

/* Content-Type by file name extension. */
const char *http_content_type(const char *path);

const char *http_reason(int status);

/*
 * Format a response header; clen < 0 means no Content-Length.  Returns the
 * length, or -1 if it does not fit.
 */
int http_format_header(char *buf, size_t buflen, int status, const char *ctype,
    off_t clen, bool keepalive, const char *extra);

#endif /* !_SIM_HTTP_H_ */
