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
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_header),
	};

	return (cmocka_run_group_tests_name("http", tests, NULL, NULL));
}
