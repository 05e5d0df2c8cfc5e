/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ktls_trace(1) and its reader library on hand-made input: usage and exit
 * statuses, a synthetic trace built from the golden model, divergences,
 * and malformed input (truncations and byte flips of valid JSON lines and
 * pcapng must be rejected or checked, never crash).  The trace_test drives
 * the CLI on real kernel traces.  KTLS_TRACE names the binary.
 */

#include <sys/uio.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "golden.h"
#include "hexutil.h"
#include "sim/trace/pcapng.h"
#include "sim/trace/trace.h"
#include "sys/ktls.h"

static char tmpdir[64];

static int
run(const char *args, char *out, size_t outlen)
{

	return (test_run_tool("KTLS_TRACE", args, out, outlen));
}

static void
put_file(const char *name, const void *buf, size_t len, char *path,
    size_t pathlen)
{
	FILE *fp;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/*
 * A trace of three records of TLS 1.3 AES-128-GCM framed as the golden
 * model says, each sent in two segments; delta is added to the second
 * record's reclen.
 */
static char *
synth_jsonl(int delta, size_t *lenp)
{
	static const struct golden_suite gs = { CRYPTO_AES_NIST_GCM_16, 0,
		TLS_MINOR_VER_THREE };
	static const size_t plens[3] = { 16384, 100, 2 };
	static const uint8_t types[3] = { 23, 23, 21 };
	struct golden_record g;
	char *out, *line, hex[11];
	size_t len, cap, i, n;
	uint64_t off, t;
	json_t *ev;
	int k;

	cap = 1 << 16;
	out = malloc(cap);
	assert_non_null(out);
	len = 0;
	off = 0;
	t = 0;
	for (i = 0; i < 3; i++) {
		assert_int_equal(golden_frame(&gs, types[i], plens[i], &g), 0);
		for (k = 0; k < 5; k++)
			snprintf(hex + 2 * k, 3, "%02x", g.hdr[k]);
		for (k = 0; k < 6; k++) {
			switch (k) {
			case 0:
				ev = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, "
					       "s:i, s:i, s:i, s:i, s:i, s:i, "
					       "s:s, s:i}",
				    "ev", "framed", "seq", (int)i, "type", 23,
				    "inner_type", types[i], "cipher",
				    gs.cipher_algorithm, "auth", 0,
				    "tls_vminor", gs.tls_vminor, "plen",
				    (int)plens[i], "reclen",
				    (int)g.reclen + (i == 1 ? delta : 0),
				    "hdrlen", 5, "explicit_len", 0, "trllen",
				    (int)g.trailer_len, "hdr", hex, "off",
				    (int)off);
				break;
			case 1:
				ev = json_pack("{s:s, s:i}", "ev", "encrypted",
				    "seq", (int)i);
				break;
			case 2:
				ev = json_pack("{s:s, s:i}", "ev", "ready",
				    "seq", (int)i);
				break;
			case 3:
			case 4:
				ev = json_pack("{s:s, s:s, s:I, s:I, s:b}",
				    "ev", "segment", "dir", "s2c", "off",
				    (json_int_t)(off + (k == 4 ? 3 : 0)), "len",
				    (json_int_t)(k == 3 ? 3 : g.reclen - 3),
				    "rexmit", 0);
				break;
			default:
				ev = json_pack("{s:s, s:i}", "ev", "freed",
				    "seq", (int)i);
				break;
			}
			assert_non_null(ev);
			json_object_set_new(ev, "conn", json_integer(1));
			json_object_set_new(ev, "t", json_integer((int)++t));
			line = json_dumps(ev, JSON_SORT_KEYS | JSON_COMPACT);
			json_decref(ev);
			n = strlen(line);
			assert_true(len + n + 1 < cap);
			memcpy(out + len, line, n);
			out[len + n] = '\n';
			len += n + 1;
			free(line);
		}
		off += g.reclen;
	}
	*lenp = len;
	return (out);
}

static void
test_usage(void **state)
{
	char out[4096], path[128];

	(void)state;
	assert_int_equal(run("--help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "usage: ktls_trace [-q] file ..."));
	assert_int_equal(run("-h", out, sizeof(out)), 0);
	assert_int_equal(run("", out, sizeof(out)), 64);
	assert_non_null(strstr(out, "usage:"));
	assert_int_equal(run("--bogus x", out, sizeof(out)), 64);
	assert_int_equal(run("/nonexistent/x.jsonl", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "ktls_trace: /nonexistent/x.jsonl"));
	put_file("garbage.jsonl", "{\"ev\":\n", 7, path, sizeof(path));
	snprintf(out, sizeof(out), "'%s'", path);
	assert_int_equal(run(out, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "line 1"));
	unlink(path);
}

static void
test_synthetic(void **state)
{
	struct ktrace_log *log;
	char out[8192], path[128], arg[160], err[256], first[256];
	char *buf;
	size_t len;

	(void)state;
	buf = synth_jsonl(0, &len);
	assert_int_equal(ktrace_parse_jsonl_buf((uint8_t *)buf, len, &log, err,
			     sizeof(err)),
	    0);
	assert_int_equal(ktrace_log_nrecords(log), 3);
	assert_int_equal(ktrace_check(log, NULL, first, sizeof(first)), 0);
	ktrace_log_free(log);
	put_file("good.jsonl", buf, len, path, sizeof(path));
	snprintf(arg, sizeof(arg), "'%s'", path);
	assert_int_equal(run(arg, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "3 records in 1 connections"));
	assert_non_null(strstr(out, "conn 1 seq 2 alert(21) plen 2 reclen 24"));
	snprintf(arg, sizeof(arg), "-q '%s'", path);
	assert_int_equal(run(arg, out, sizeof(out)), 0);
	assert_non_null(strstr(out, ": 3 records: OK"));
	unlink(path);
	free(buf);

	/* A wrong length: the first divergence names the record. */
	buf = synth_jsonl(16, &len);
	put_file("bad.jsonl", buf, len, path, sizeof(path));
	snprintf(arg, sizeof(arg), "'%s'", path);
	assert_int_equal(run(arg, out, sizeof(out)), 1);
	assert_non_null(strstr(out,
	    "DIVERGENCE: conn 1 seq 1: reclen 138, golden 122 (plen 100)"));
	unlink(path);
	free(buf);
}

/* Valid input, then truncations and byte flips: no crash, no leak. */
static void
mutate(const uint8_t *good, size_t len,
    int (*parse)(const uint8_t *, size_t, struct ktrace_log **, char *, size_t))
{
	struct ktrace_log *log;
	char err[256], first[256];
	uint8_t *b;
	uint32_t x;
	size_t i, cut;
	int round;

	b = malloc(len);
	assert_non_null(b);
	x = 12345;
	for (cut = 0; cut <= len; cut += 1 + cut / 8) {
		memcpy(b, good, cut);
		if (parse(b, cut, &log, err, sizeof(err)) == 0) {
			(void)ktrace_check(log, NULL, first, sizeof(first));
			ktrace_log_free(log);
		} else
			assert_null(log);
	}
	for (round = 0; round < 3000; round++) {
		memcpy(b, good, len);
		for (i = 0; i < 1 + (size_t)round % 4; i++) {
			x = x * 1103515245 + 12345;
			b[(x >> 8) % len] ^= (uint8_t)(1 + (x >> 24) % 255);
		}
		if (parse(b, len, &log, err, sizeof(err)) == 0) {
			(void)ktrace_check(log, NULL, first, sizeof(first));
			ktrace_log_free(log);
		}
	}
	free(b);
}

static void
test_malformed_jsonl(void **state)
{
	static const char *bad[] = { "[]", "{}", "{\"ev\":\"framed\"}",
		"{\"ev\":\"framed\",\"conn\":1,\"seq\":0}",
		"{\"ev\":\"segment\",\"conn\":1,\"off\":-1,\"len\":5}",
		"{\"ev\":\"segment\",\"conn\":1,\"off\":0,\"len\":1e3}",
		"{\"ev\":1,\"conn\":1}",
		"{\"ev\":\"ready\",\"conn\":99999999999}", "\xff\xfe",
		"{\"ev\":\"ready\",\"conn\":1,\"seq\":0,\"seq\":1}" };
	struct ktrace_log *log;
	char err[256];
	char *buf;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(ktrace_parse_jsonl_buf((const uint8_t *)bad[i],
				     strlen(bad[i]), &log, err, sizeof(err)),
		    EINVAL);
		assert_null(log);
		assert_true(strncmp(err, "line 1", 6) == 0);
	}
	assert_int_equal(ktrace_parse_jsonl_buf(NULL, 0, &log, err,
			     sizeof(err)),
	    0);
	assert_int_equal(ktrace_log_nrecords(log), 0);
	ktrace_log_free(log);
	buf = synth_jsonl(0, &len);
	mutate((uint8_t *)buf, len, ktrace_parse_jsonl_buf);
	free(buf);
}

static void
test_malformed_pcapng(void **state)
{
	struct pcapng_writer *w;
	struct pcapng_flow *f;
	struct ktrace_log *log;
	struct iovec iov;
	char path[128], err[256], first[256], *buf;
	uint8_t *pbuf, rec[24];
	size_t len;
	FILE *fp;
	long plen;

	(void)state;
	/* Records of synth_jsonl() on the wire, events as comments. */
	snprintf(path, sizeof(path), "%s/s.pcapng", tmpdir);
	w = pcapng_open(path, NULL);
	assert_non_null(w);
	buf = synth_jsonl(0, &len);
	buf[len - 1] = '\0';
	assert_int_equal(pcapng_set_comment(w,
			     "{\"conn\":1,\"cport\":4000,\"ev\":\"conn_open\","
			     "\"sport\":443}"),
	    0);
	f = pcapng_flow_open(w, 4000, 443, 1, 0, NULL);
	assert_non_null(f);
	/* The JSON-lines segments are ignored in pcapng comments. */
	assert_int_equal(pcapng_set_comment(w, buf), 0);
	memset(rec, 0, sizeof(rec));
	memcpy(rec, "\x15\x03\x03\x00\x13", 5);
	iov.iov_base = rec;
	iov.iov_len = 5;
	assert_int_equal(pcapng_flow_data(f, 1, 0, &iov, 1, 2), 0);
	assert_int_equal(pcapng_close(w), 0);
	free(buf);

	fp = fopen(path, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	plen = ftell(fp);
	rewind(fp);
	pbuf = malloc((size_t)plen);
	assert_non_null(pbuf);
	assert_int_equal(fread(pbuf, 1, (size_t)plen, fp), (size_t)plen);
	fclose(fp);
	unlink(path);

	assert_int_equal(ktrace_parse_pcapng_buf(pbuf, (size_t)plen, &log, err,
			     sizeof(err)),
	    0);
	assert_int_equal(ktrace_log_nrecords(log), 3);
	/* One 5-byte segment only: the records are not fully on the wire. */
	assert_true(ktrace_check(log, NULL, first, sizeof(first)) > 0);
	ktrace_log_free(log);
	assert_int_equal(ktrace_parse_pcapng_buf(pbuf, 8, &log, err,
			     sizeof(err)),
	    EINVAL);
	mutate(pbuf, (size_t)plen, ktrace_parse_pcapng_buf);
	free(pbuf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_malformed_jsonl),
		cmocka_unit_test(test_malformed_pcapng),
	};
	int rc;

	strlcpy(tmpdir, "/tmp/ktls_trace_cli-XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return (1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return (rc);
}
