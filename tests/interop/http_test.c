/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim/server/http.c: request parsing (RFC 9112) and the document-root jail.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/server/http.h"

static int
parse(const char *s, struct http_request *rq)
{

	return (http_parse_request(s, strlen(s), rq));
}

static void
test_parse(void **state)
{
	struct http_request rq;
	char big[HTTP_MAX_HEADER + 10];
	const char *two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b";

	assert_int_equal(parse("GET /x HTTP/1.1\r\nHost: a\r\n\r\n", &rq), 200);
	assert_string_equal(rq.target, "/x");
	assert_true(rq.keepalive);
	assert_false(rq.head);
	assert_int_equal(http_parse_request(two, strlen(two), &rq), 200);
	assert_int_equal(rq.hdrlen,
	    strlen("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(parse("GET /x HTTP/1.0\r\n\r\n", &rq), 200);
	assert_false(rq.keepalive);
	assert_int_equal(parse("GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n"
			       "\r\n",
			     &rq),
	    200);
	assert_true(rq.keepalive);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nConnection: foo, close\r\n"
			       "\r\n",
			     &rq),
	    200);
	assert_false(rq.keepalive);
	assert_int_equal(parse("HEAD /x HTTP/1.1\r\n\r\n", &rq), 200);
	assert_true(rq.head);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nHost: a\r\n", &rq),
	    HTTP_INCOMPLETE);
	assert_int_equal(parse("POST /x HTTP/1.1\r\n\r\n", &rq), 405);
	assert_int_equal(parse("GET /x HTTP/2.0\r\n\r\n", &rq), 505);
	assert_int_equal(parse("GET x HTTP/1.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x\r\n\r\n", &rq), 400);
	assert_int_equal(parse("G\001T /x HTTP/1.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nBad header\r\n\r\n", &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nHost : a\r\n\r\n", &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nTransfer-Encoding: "
			       "chunked\r\n\r\n",
			     &rq),
	    501);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
			     &rq),
	    413);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	assert_int_equal(http_parse_request(big, sizeof(big), &rq), 431);
}

/* A literal that may hold NUL bytes, parsed whole. */
#define PARSE_LIT(lit, rq) http_parse_request(lit, sizeof(lit) - 1, rq)

/* NUL is no token character and ends nothing: 400 wherever it appears. */
static void
test_parse_nul(void **state)
{
	struct http_request rq;

	assert_int_equal(PARSE_LIT("GET\0XYZ /hello.txt HTTP/1.1\r\n\r\n", &rq),
	    400);
	assert_int_equal(PARSE_LIT("GET /x HTTP/1.1\r\nHo\0st: a\r\n\r\n", &rq),
	    400);
	assert_int_equal(PARSE_LIT("GET /x HTTP/1.1\r\nHost: a\0b\r\n\r\n",
			     &rq),
	    400);
	assert_int_equal(PARSE_LIT("GET /x HTTP/1.1\r\nHost: a\r\n\0\r\n\r\n",
			     &rq),
	    400);
	/* No need to wait for the end of a head that is already bad. */
	assert_int_equal(PARSE_LIT("GET\0", &rq), 400);
}

/* RFC 9112 section 2.2: CR only as part of CRLF, and no bare LF either. */
static void
test_parse_bare_cr_lf(void **state)
{
	struct http_request rq;

	assert_int_equal(parse("GET /x HTTP/1.1\rHost: a\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: b\rc\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/1.1\rX", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/1.1\nHost: a\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/1.1\n\n", &rq), 400);
	/*
	 * A bare LF inside a field value must not hide a field from us that
	 * a peer splitting lines on LF would see (request smuggling, RFC
	 * 9112 section 11.2).
	 */
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: b\nContent-Length: 5\r\n"
			       "\r\nhello",
			     &rq),
	    400);
	/* A CR that may still be followed by LF is not judged yet. */
	assert_int_equal(parse("GET /x HTTP/1.1\r", &rq), HTTP_INCOMPLETE);
}

/* RFC 9112 section 2.2: empty lines before the request-line are ignored. */
static void
test_parse_leading_crlf(void **state)
{
	struct http_request rq;
	const char *req = "GET /x HTTP/1.1\r\n\r\n";
	const char *two = "GET /a HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	char buf[2 * HTTP_MAX_EMPTY_LINES + 64];
	size_t n;
	int i;

	assert_int_equal(parse("\r\nGET /x HTTP/1.1\r\n\r\n", &rq), 200);
	assert_string_equal(rq.method, "GET");
	assert_string_equal(rq.target, "/x");
	assert_int_equal(rq.hdrlen, 2 + strlen(req));

	/* Bounded: HTTP_MAX_EMPTY_LINES of them, not one more. */
	for (i = 0, n = 0; i < HTTP_MAX_EMPTY_LINES; i++, n += 2)
		memcpy(buf + n, "\r\n", 2);
	snprintf(buf + n, sizeof(buf) - n, "%s", req);
	assert_int_equal(parse(buf, &rq), 200);
	assert_int_equal(rq.hdrlen, strlen(buf));
	snprintf(buf + n, sizeof(buf) - n, "\r\n%s", req);
	assert_int_equal(parse(buf, &rq), 400);

	assert_int_equal(parse("\r\n", &rq), HTTP_INCOMPLETE);
	assert_int_equal(parse("\r\n\r", &rq), HTTP_INCOMPLETE);
	assert_int_equal(parse("\r\n\r\n", &rq), HTTP_INCOMPLETE);
	assert_int_equal(parse("\rX", &rq), 400);
	assert_int_equal(parse("\nGET /x HTTP/1.1\r\n\r\n", &rq), 400);

	/* Pipelined after a request: the empty line goes with the next one. */
	assert_int_equal(parse(two, &rq), 200);
	assert_string_equal(rq.target, "/a");
	n = rq.hdrlen;
	assert_int_equal(n, strlen("GET /a HTTP/1.1\r\n\r\n"));
	assert_int_equal(parse(two + n, &rq), 200);
	assert_string_equal(rq.target, "/b");
	assert_int_equal(n + rq.hdrlen, strlen(two));
}

static void
test_parse_request_line(void **state)
{
	struct http_request rq;
	char big[HTTP_MAX_HEADER + 16];

	/* RFC 9112 section 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT */
	assert_int_equal(parse("GET /x HTTP/1.x\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/1.1 \r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/11.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x http/1.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /x HTTP/3.0\r\n\r\n", &rq), 505);
	assert_int_equal(parse("GET /x HTTP/1.9\r\n\r\n", &rq), 200);
	assert_int_equal(rq.minor, 9);
	assert_int_equal(parse("GET  /x HTTP/1.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse(" GET /x HTTP/1.1\r\n\r\n", &rq), 400);
	/* RFC 3986 section 2: a URI is ASCII without controls or SP. */
	assert_int_equal(parse("GET /\x01 HTTP/1.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /\x7f HTTP/1.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", &rq), 400);
	assert_int_equal(parse("GET /\t HTTP/1.1\r\n\r\n", &rq), 400);
	/* A target that cannot fit, and a request line that never ends. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	memcpy(big + sizeof(rq.target) + 5, " HTTP/1.1\r\n\r\n", 13);
	assert_int_equal(http_parse_request(big, sizeof(rq.target) + 18, &rq),
	    414);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	assert_int_equal(http_parse_request(big, sizeof(big), &rq), 431);
	assert_int_equal(http_parse_request(big, HTTP_MAX_HEADER - 1, &rq),
	    HTTP_INCOMPLETE);
}

/* RFC 9112 section 5 and RFC 9110 section 5.5. */
static void
test_parse_fields(void **state)
{
	struct http_request rq;

	/* RFC 9112 section 5.1: no whitespace before the colon. */
	assert_int_equal(parse("GET /x HTTP/1.1\r\nHost\t: a\r\n\r\n", &rq),
	    400);
	/* RFC 9112 section 5.2: obs-fold is rejected. */
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: b\r\n c\r\n\r\n", &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: b\r\n\tc: d\r\n\r\n",
			     &rq),
	    400);
	/* RFC 9112 section 2.2: whitespace before the first field. */
	assert_int_equal(parse("GET /x HTTP/1.1\r\n Host: a\r\n\r\n", &rq),
	    400);
	/* Field values: VCHAR, obs-text, SP and HTAB only. */
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: b\x01"
			       "c\r\n\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: b\x7f\r\n\r\n", &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: \xc3\xa9\tb \r\n\r\n",
			     &rq),
	    200);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA:\r\n\r\n", &rq), 200);
	/* Trailing whitespace is not part of the value. */
	assert_int_equal(parse("GET /x HTTP/1.1\r\nConnection: close \t\r\n"
			       "\r\n",
			     &rq),
	    200);
	assert_false(rq.keepalive);
}

/*
 * No request bodies: whatever could announce one is refused and the
 * connection closed, so pipelining cannot desync.  The statuses follow
 * RFC 9112 section 6.3 and nginx's ngx_http_process_request_header().
 */
static void
test_parse_framing(void **state)
{
	struct http_request rq;

	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
			     &rq),
	    200);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 00 \r\n"
			       "\r\n",
			     &rq),
	    200);
	assert_int_equal(parse("GET /x HTTP/1.1\r\ncontent-length: "
			       "99999999999999999999999\r\n\r\n",
			     &rq),
	    413);
	/* RFC 9112 section 6.3 item 5: invalid Content-Length is 400. */
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: abc\r\n"
			       "\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: -1\r\n"
			       "\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: +5\r\n"
			       "\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length:\r\n\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 0, 0\r\n"
			       "\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 0\r\n"
			       "Content-Length: 0\r\n\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 0\r\n"
			       "Content-Length: 5\r\n\r\n",
			     &rq),
	    400);
	/* RFC 9112 section 6.1: Transfer-Encoding. */
	assert_int_equal(parse("GET /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
			       "\r\n",
			     &rq),
	    501);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nTransfer-Encoding: chunked"
			       "\r\nContent-Length: 0\r\n\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 5\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nTransfer-Encoding: chunked"
			       "\r\nTransfer-Encoding: chunked\r\n\r\n",
			     &rq),
	    400);
	assert_int_equal(parse("GET /x HTTP/1.0\r\nTransfer-Encoding: chunked"
			       "\r\n\r\n",
			     &rq),
	    400);
}

static void
test_resolve(void **state)
{
	char dir[] = "/tmp/http_test.XXXXXX", root[256], p[PATH_MAX];
	char out[PATH_MAX];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/www", dir);
	assert_int_equal(mkdir(root, 0755), 0);
	snprintf(p, sizeof(p), "%s/a b.txt", root);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/secret", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(out, sizeof(out), "%s/link", root);
	assert_int_equal(symlink(p, out), 0);

	assert_int_equal(http_resolve(root, "/a%20b.txt?q=1", out, sizeof(out)),
	    200);
	assert_non_null(strstr(out, "/www/a b.txt"));
	assert_int_equal(http_resolve(root, "/nope", out, sizeof(out)), 404);
	assert_int_equal(http_resolve(root, "/", out, sizeof(out)), 404);
	assert_int_equal(http_resolve(root, "/../secret", out, sizeof(out)),
	    400);
	assert_int_equal(http_resolve(root, "/%2e%2e/secret", out, sizeof(out)),
	    400);
	assert_int_equal(http_resolve(root, "/x/..", out, sizeof(out)), 400);
	assert_int_equal(http_resolve(root, "/a%00b", out, sizeof(out)), 400);
	assert_int_equal(http_resolve(root, "/%zz", out, sizeof(out)), 400);
	/* A symbolic link out of the root is not served. */
	assert_int_equal(http_resolve(root, "/link", out, sizeof(out)), 404);
	/* %2f is a '/' like any other: ".." is refused after decoding. */
	assert_int_equal(http_resolve(root, "/x%2f..%2fsecret", out,
			     sizeof(out)),
	    400);
	assert_int_equal(http_resolve(root, "/.%2e", out, sizeof(out)), 400);
	/* Decoded control characters name no file we serve. */
	assert_int_equal(http_resolve(root, "/a%0ab", out, sizeof(out)), 400);
	assert_int_equal(http_resolve(root, "/a%7f", out, sizeof(out)), 400);
	assert_int_equal(http_resolve(root, "/a%1F", out, sizeof(out)), 400);
	/* The root itself is a directory, not a file. */
	assert_int_equal(http_resolve(root, "/.", out, sizeof(out)), 404);
	/* A root of "/" holds every absolute path. */
	snprintf(p, sizeof(p), "%s/www/a%%20b.txt", dir);
	assert_int_equal(http_resolve("/", p, out, sizeof(out)), 200);
	assert_non_null(strstr(out, "/www/a b.txt"));

	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

static void
test_header(void **state)
{
	char buf[512];
	int n;

	n = http_format_header(buf, sizeof(buf), 200, "text/plain", 42, true,
	    NULL);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 42\r\n"));
	assert_non_null(strstr(buf, "Connection: keep-alive\r\n"));
	assert_int_equal(memcmp(buf + n - 4, "\r\n\r\n", 4), 0);
	n = http_format_header(buf, sizeof(buf), 405, "text/plain", -1, false,
	    "Allow: GET, HEAD\r\n");
	assert_null(strstr(buf, "Content-Length"));
	assert_non_null(strstr(buf, "Allow: GET, HEAD\r\n"));
	assert_int_equal(http_format_header(buf, 10, 200, "x", 1, true, NULL),
	    -1);
	assert_string_equal(http_content_type("/a/b.HTML"),
	    "text/html; charset=utf-8");
	assert_string_equal(http_content_type("/a.d/b"),
	    "application/octet-stream");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_nul),
		cmocka_unit_test(test_parse_bare_cr_lf),
		cmocka_unit_test(test_parse_leading_crlf),
		cmocka_unit_test(test_parse_request_line),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_framing),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_header),
	};

	return (cmocka_run_group_tests_name("http", tests, NULL, NULL));
}
