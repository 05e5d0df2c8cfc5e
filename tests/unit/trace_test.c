/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Record traces (sim/trace/trace.h): drive the simulated kernel with the
 * hooks installed, then read the three outputs back and compare them with
 * the oracle's parse of the wire.  Needs tshark at run time.  KTLS_TRACE
 * names the ktls_trace binary (set by meson).
 */

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
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

#include "ksim_harness.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "sim/trace/trace.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/socketvar.h"
#include "testif.h"

/*
 * The longest segment: the byte wire does TSO with if_hw_tsomax 65535
 * (src/net/if_wire.c), less the IPv4 and TCP headers.
 */
#define TSO_MAXSEG (65535 - 40)

#define PLAIN_LEN 100	/* stream bytes before KTLS is enabled */
#define WRITE_LEN 40000 /* one write(2) after it */
#define MAXREC 64

struct orec {
	uint64_t seq;
	uint8_t type, inner;
	size_t plen, reclen, off;
};

struct run {
	char dir[64];
	char txt[96], jsonl[96], pcapng[96];
	struct wire w;
	struct orec rec[MAXREC];
	size_t nrec;
	const struct test_suite *suite;
};

static uint64_t
fake_clock(void *arg)
{
	uint64_t *t = arg;

	return (*t += 1000);
}

static int
collect(void *arg, const struct oracle_record *r)
{
	struct run *run = arg;
	struct orec *o;

	assert_true(run->nrec < MAXREC);
	o = &run->rec[run->nrec];
	o->seq = r->seqno;
	o->type = r->type;
	o->inner = r->inner_type;
	o->plen = r->plen;
	o->reclen = r->reclen;
	o->off = run->nrec == 0 ?
	    PLAIN_LEN :
	    run->rec[run->nrec - 1].off + run->rec[run->nrec - 1].reclen;
	run->nrec++;
	return (0);
}

/* The three output files of a run in a fresh directory. */
static void
run_files(struct run *run)
{

	strlcpy(run->dir, "/tmp/trace_test-XXXXXX", sizeof(run->dir));
	assert_non_null(mkdtemp(run->dir));
	snprintf(run->txt, sizeof(run->txt), "%s/t.txt", run->dir);
	snprintf(run->jsonl, sizeof(run->jsonl), "%s/t.jsonl", run->dir);
	snprintf(run->pcapng, sizeof(run->pcapng), "%s/t.pcapng", run->dir);
}

/* Run the kernel with tracing for one suite; fill run. */
static void
trace_run(struct run *run, const struct test_suite *s)
{
	static uint8_t buf[WRITE_LEN];
	static const uint8_t alert[2] = { 1, 0 };
	struct harness h;
	struct harness_keys k;
	struct ktrace_set *set;
	struct socket *so;
	struct wire kw;
	uint8_t *plain;
	size_t plen, nrec;
	ssize_t n;
	uint64_t clk;

	memset(run, 0, sizeof(*run));
	run->suite = s;
	run_files(run);

	harness_init(&h, HARNESS_DET, 42, 2);
	wire_init(&run->w);
	set = ktrace_set_new();
	assert_non_null(set);
	assert_int_equal(ktrace_set_open(set, run->txt), 0);
	assert_int_equal(ktrace_set_open(set, run->jsonl), 0);
	assert_int_equal(ktrace_set_open(set, run->pcapng), 0);
	assert_int_equal(ktrace_set_open(set, "x.bin"), EINVAL);
	clk = 0;
	ktrace_set_clock(set, fake_clock, &clk);
	assert_int_equal(ktrace_install(set), 0);
	assert_int_equal(ktrace_install(set), EBUSY);

	so = harness_socket(&h, &run->w, 1);
	assert_int_equal(ktrace_conn_open(set, so, 40001, 443, s->name), 0);
	assert_int_equal(ktrace_conn_open(set, so, 40001, 443, s->name),
	    EEXIST);
	memset(buf, 'p', PLAIN_LEN);
	assert_int_equal(ksim_write(so, buf, PLAIN_LEN, &n), 0);
	assert_int_equal(n, PLAIN_LEN);
	harness_keys(&h, s, 7, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	test_rng_bytes(&h.rng, buf, sizeof(buf));
	assert_int_equal(ksim_write(so, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, WRITE_LEN);
	assert_int_equal(harness_send_type(so, TLS_RLTYPE_ALERT, alert,
			     sizeof(alert), &n),
	    0);
	harness_run(&h);
	/* The server may not add plain bytes once the kernel has sent. */
	assert_int_equal(ktrace_conn_server_plain_bytes(set, so, "x", 1),
	    EINVAL);
	assert_int_equal(ktrace_conn_client_bytes(set, so, 0, "GET /\r\n", 7),
	    0);
	ktrace_conn_close(set, so);
	ktrace_uninstall(set);
	assert_int_equal(ktrace_set_free(set), 0);
	ksim_close(so);
	harness_fini(&h);

	/* The oracle's view of the records (after the plain bytes). */
	assert_true(run->w.len > PLAIN_LEN);
	kw = run->w;
	kw.buf += PLAIN_LEN;
	kw.len -= PLAIN_LEN;
	harness_decrypt(&k, &kw, &plain, &plen, &nrec, collect, run);
	assert_int_equal(plen, WRITE_LEN + sizeof(alert));
	assert_int_equal(nrec, run->nrec);
	free(plain);
}

static void
run_cleanup(struct run *run)
{

	if (getenv("TRACE_TEST_KEEP") != NULL) {
		printf("kept %s\n", run->dir);
		wire_fini(&run->w);
		return;
	}
	unlink(run->txt);
	unlink(run->jsonl);
	unlink(run->pcapng);
	rmdir(run->dir);
	wire_fini(&run->w);
}

static uint64_t
jint(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j))
		fail_msg("field %s missing: %s", key,
		    json_dumps(o, JSON_COMPACT));
	return ((uint64_t)json_integer_value(j));
}

/* (1) JSON lines against the oracle. */
static void
check_jsonl(struct run *run)
{
	enum { F, E, R, X };
	static const char *names[] = { "framed", "encrypted", "ready",
		"freed" };
	size_t at[MAXREC][4], line, i, nseg;
	uint8_t *cover;
	json_error_t jerr;
	char buf[8192];
	FILE *fp;
	json_t *o;
	const char *ev;
	uint64_t seq, off, len;
	int k;

	memset(at, 0, sizeof(at));
	cover = calloc(1, run->w.len);
	assert_non_null(cover);
	fp = fopen(run->jsonl, "r");
	assert_non_null(fp);
	line = 0;
	nseg = 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		line++;
		o = json_loads(buf, 0, &jerr);
		if (o == NULL)
			fail_msg("%s:%zu: %s", run->jsonl, line, jerr.text);
		ev = json_string_value(json_object_get(o, "ev"));
		assert_non_null(ev);
		assert_int_equal(jint(o, "conn"), 1);
		(void)jint(o, "t");
		if (strcmp(ev, "segment") == 0) {
			off = jint(o, "off");
			len = jint(o, "len");
			assert_true(off + len <= run->w.len);
			assert_true(len <= TSO_MAXSEG);
			assert_false(
			    json_is_true(json_object_get(o, "rexmit")));
			for (i = off; i < off + len; i++) {
				assert_int_equal(cover[i], 0);
				cover[i] = 1;
			}
			nseg++;
			/* Sent only after every record in it is ready. */
			for (i = 0; i < run->nrec; i++)
				if (run->rec[i].off < off + len &&
				    run->rec[i].off + run->rec[i].reclen > off)
					assert_true(at[i][R] != 0);
		}
		for (k = F; k <= X; k++) {
			if (strcmp(ev, names[k]) != 0)
				continue;
			seq = jint(o, "seq");
			assert_true(seq >= 7 && seq < 7 + run->nrec);
			i = seq - 7;
			assert_int_equal(at[i][k], 0);
			at[i][k] = line;
			if (k == F) {
				const struct orec *r = &run->rec[i];

				assert_int_equal(r->seq, seq);
				assert_int_equal(jint(o, "type"), r->type);
				assert_int_equal(jint(o, "inner_type"),
				    r->inner);
				assert_int_equal(jint(o, "plen"), r->plen);
				assert_int_equal(jint(o, "reclen"), r->reclen);
				assert_int_equal(jint(o, "off"), r->off);
				assert_int_equal(jint(o, "tls_vminor"),
				    run->suite->tls_vminor);
			}
		}
		json_decref(o);
	}
	fclose(fp);
	for (i = 0; i < run->w.len; i++)
		if (!cover[i])
			fail_msg("%s: wire byte %zu in no segment",
			    run->suite->name, i);
	free(cover);
	assert_true(nseg >= run->w.len / TSO_MAXSEG);
	for (i = 0; i < run->nrec; i++) {
		for (k = F; k <= X; k++)
			if (at[i][k] == 0)
				fail_msg("%s: seq %zu has no %s",
				    run->suite->name, i + 7, names[k]);
		assert_true(at[i][F] < at[i][E]);
		assert_true(at[i][E] < at[i][R]);
		assert_true(at[i][R] < at[i][X]);
	}
}

/* (2) The text file draws every record. */
static void
check_text(struct run *run)
{
	char buf[1024], want[64];
	size_t nlayout, nbar, ncut, nrec;
	FILE *fp;

	fp = fopen(run->txt, "r");
	assert_non_null(fp);
	nlayout = nbar = ncut = nrec = 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		if (strncmp(buf, "    layout |hdr 5 @0|", 21) == 0)
			nlayout++;
		if (strncmp(buf, "    bytes  [H", 13) == 0)
			nbar++;
		if (strncmp(buf, "    cuts   |", 12) == 0)
			ncut++;
		if (nrec < run->nrec) {
			snprintf(want, sizeof(want),
			    "  record conn 1 seq %" PRIu64 " ",
			    run->rec[nrec].seq);
			if (strncmp(buf, want, strlen(want)) == 0)
				nrec++;
		}
	}
	fclose(fp);
	assert_int_equal(nrec, run->nrec);
	assert_int_equal(nlayout, run->nrec);
	assert_int_equal(nbar, run->nrec);
	assert_int_equal(ncut, run->nrec);
}

static int
hexnib(int c)
{

	return (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

/* (3) tshark parses the pcapng; server segments reassemble to the wire. */
static void
check_pcapng(struct run *run)
{
	char cmd[512], *line;
	size_t cap, i, n, npkt;
	uint8_t *re, *have;
	uint64_t seq;
	ssize_t got;
	FILE *p;
	char *tab;

	snprintf(cmd, sizeof(cmd),
	    "tshark -n -r '%s' -o tcp.relative_sequence_numbers:TRUE "
	    "-Y 'tcp.srcport == 443 && tcp.len > 0' -T fields -e tcp.seq "
	    "-e tcp.payload",
	    run->pcapng);
	p = popen(cmd, "r");
	assert_non_null(p);
	re = calloc(1, run->w.len);
	have = calloc(1, run->w.len);
	assert_non_null(re);
	assert_non_null(have);
	line = NULL;
	cap = 0;
	npkt = 0;
	while ((got = getline(&line, &cap, p)) > 0) {
		tab = strchr(line, '\t');
		if (tab == NULL)
			fail_msg("tshark: %s", line);
		seq = strtoull(line, NULL, 10);
		assert_true(seq >= 1);
		seq -= 1;
		tab++;
		n = strcspn(tab, "\r\n") / 2;
		assert_true(seq + n <= run->w.len);
		for (i = 0; i < n; i++) {
			re[seq + i] = (uint8_t)(hexnib(tab[2 * i]) << 4 |
			    hexnib(tab[2 * i + 1]));
			have[seq + i] = 1;
		}
		npkt++;
	}
	free(line);
	assert_int_equal(pclose(p), 0);
	assert_true(npkt >= run->w.len / TSO_MAXSEG);
	for (i = 0; i < run->w.len; i++)
		if (!have[i])
			fail_msg("pcapng: wire byte %zu missing", i);
	assert_memory_equal(re, run->w.buf, run->w.len);
	free(re);
	free(have);
}

/* ktls_trace(1) on one file: its exit status, its output in out. */
static int
run_cli(const char *path, char *out, size_t outlen)
{
	char args[512];

	snprintf(args, sizeof(args), "'%s'", path);
	return (test_run_tool("KTLS_TRACE", args, out, outlen));
}

static size_t
count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return (n);
}

static void
check_reader(struct run *run)
{
	static char out[1 << 16];
	struct ktrace_log *log;
	char err[256], first[256];
	const char *files[2] = { run->jsonl, run->pcapng };
	FILE *in, *o;
	char *s, *lenp, tmp[128];
	size_t n;

	for (int f = 0; f < 2; f++) {
		assert_int_equal(ktrace_read_file(files[f], &log, err,
				     sizeof(err)),
		    0);
		assert_int_equal(ktrace_log_nrecords(log), run->nrec);
		if (ktrace_check(log, NULL, first, sizeof(first)) != 0)
			fail_msg("%s: %s", files[f], first);
		ktrace_log_free(log);

		assert_int_equal(run_cli(files[f], out, sizeof(out)), 0);
		assert_int_equal(count_lines(out, " events FERX OK\n"),
		    run->nrec);
		snprintf(tmp, sizeof(tmp), "%zu records in 1 connections",
		    run->nrec);
		assert_non_null(strstr(out, tmp));
		assert_non_null(strstr(out, ": OK\n"));
	}

	/* Corrupt the first record's length: a divergence, exit 1. */
	in = fopen(run->jsonl, "r");
	assert_non_null(in);
	s = malloc(1 << 22);
	assert_non_null(s);
	n = fread(s, 1, (1 << 22) - 1, in);
	s[n] = '\0';
	fclose(in);
	lenp = strstr(s, "\"reclen\":");
	assert_non_null(lenp);
	lenp += strlen("\"reclen\":");
	*lenp = *lenp == '9' ? '1' : (char)(*lenp + 1);
	snprintf(tmp, sizeof(tmp), "%s/bad.jsonl", run->dir);
	o = fopen(tmp, "w");
	assert_non_null(o);
	assert_int_equal(fwrite(s, 1, n, o), n);
	fclose(o);
	free(s);
	assert_int_equal(run_cli(tmp, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "DIVERGENCE: conn 1 seq 7: reclen"));
	unlink(tmp);
}

static void
test_suite_trace(void **state)
{
	const struct test_suite *s = *state;
	struct run run;

	trace_run(&run, s);
	check_jsonl(&run);
	check_text(&run);
	check_pcapng(&run);
	check_reader(&run);
	run_cleanup(&run);
}

/*
 * Retransmissions in the trace: TCP sends through a test interface that
 * loses one segment to three duplicate ACKs and one to the timer.  The
 * JSON lines mark exactly those two ranges "rexmit": true; in the pcapng
 * they are ordinary segments with old sequence numbers, which tshark
 * reassembles into the stream the receiver got; the reader and ktls_trace
 * find every record whole.
 */
struct lossy {
	uint64_t off[2];
	unsigned len[2];
};

static void
trace_run_lossy(struct run *run, struct lossy *lost)
{
	static uint8_t buf[WRITE_LEN];
	struct testif_seg *seg, *l1, *s2, *s3, *s4;
	struct harness_keys k;
	struct ktrace_set *set;
	struct socket *so;
	struct harness h;
	struct testif ti;
	struct wire kw;
	uint8_t *plain;
	size_t plen, nrec;
	uint64_t clk;
	ssize_t n;

	memset(run, 0, sizeof(*run));
	run->suite = test_suite_named("aes128_gcm_1_2");
	run_files(run);
	harness_init(&h, HARNESS_DET, 43, 1);
	sim_det_set_policy(h.pl, SIM_DET_FIFO);
	set = ktrace_set_new();
	assert_non_null(set);
	assert_int_equal(ktrace_set_open(set, run->txt), 0);
	assert_int_equal(ktrace_set_open(set, run->jsonl), 0);
	assert_int_equal(ktrace_set_open(set, run->pcapng), 0);
	clk = 0;
	ktrace_set_clock(set, fake_clock, &clk);
	assert_int_equal(ktrace_install(set), 0);
	testif_init(&ti, 1 << 20);
	so = testif_connect(&ti, 1);
	harness_sndbuf(so, 1 << 20, 2048);
	assert_int_equal(ktrace_conn_open(set, so, 40001, 443, "lossy"), 0);
	memset(buf, 'p', PLAIN_LEN);
	assert_int_equal(ksim_write(so, buf, PLAIN_LEN, &n), 0);
	harness_keys(&h, run->suite, 7, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	test_rng_bytes(&h.rng, buf, sizeof(buf));
	assert_int_equal(ksim_write(so, buf, sizeof(buf), &n), 0);
	testif_settle(&h);

	/* The third segment in flight is lost; three more arrive. */
	assert_true(ti.ti_nq >= 6);
	l1 = testif_seg(&ti, 2);
	s2 = testif_seg(&ti, 3);
	s3 = testif_seg(&ti, 4);
	s4 = testif_seg(&ti, 5);
	lost->off[0] = l1->off;
	lost->len[0] = l1->len;
	testif_deliver(&ti, testif_seg(&ti, 0));
	testif_deliver(&ti, testif_seg(&ti, 0));
	testif_drop(&ti, l1);
	testif_deliver(&ti, s2);
	testif_deliver(&ti, s3);
	testif_deliver(&ti, s4);
	assert_int_equal(ti.ti_nrexmit, 1);
	testif_deliver_all(&ti);
	testif_settle(&h);

	/* The last segment of a short write is lost; the timer resends it. */
	assert_int_equal(ksim_write(so, buf, 2000, &n), 0);
	testif_settle(&h);
	assert_int_equal(ti.ti_nq, 2);
	seg = testif_seg(&ti, 1);
	lost->off[1] = seg->off;
	lost->len[1] = seg->len;
	testif_drop(&ti, seg);
	testif_deliver(&ti, testif_seg(&ti, 0));
	testif_fire(&ti, &h);
	assert_int_equal(ti.ti_nrexmit, 2);
	testif_deliver_all(&ti);
	testif_settle(&h);

	ksim_close(so);
	testif_settle(&h);
	testif_deliver_all(&ti);
	harness_run(&h);
	assert_true(ti.ti_fin_rcvd);
	if (ti.ti_nerr != 0)
		fail_msg("%s", ti.ti_err);
	ktrace_conn_close(set, so);
	ktrace_uninstall(set);
	assert_int_equal(ktrace_set_free(set), 0);

	/* What the receiver got is the wire the checks compare with. */
	wire_init(&run->w);
	run->w.buf = malloc(ti.ti_rcv_nxt);
	assert_non_null(run->w.buf);
	memcpy(run->w.buf, ti.ti_rcv, ti.ti_rcv_nxt);
	run->w.len = run->w.cap = ti.ti_rcv_nxt;
	testif_fini(&ti);
	harness_fini(&h);
	kw = run->w;
	kw.buf += PLAIN_LEN;
	kw.len -= PLAIN_LEN;
	harness_decrypt(&k, &kw, &plain, &plen, &nrec, collect, run);
	assert_int_equal(plen, WRITE_LEN + 2000);
	assert_memory_equal(plain, buf, WRITE_LEN);
	assert_memory_equal(plain + WRITE_LEN, buf, 2000);
	free(plain);
}

/* First transmissions cover the stream once; rexmits are the lost ranges. */
static void
check_jsonl_rexmit(struct run *run, const struct lossy *lost)
{
	json_error_t jerr;
	char buf[8192];
	uint8_t *cover;
	uint64_t off, len;
	int nrexmit, found[2] = { 0, 0 };
	const char *ev;
	FILE *fp;
	json_t *o;
	size_t i;

	cover = calloc(1, run->w.len);
	assert_non_null(cover);
	fp = fopen(run->jsonl, "r");
	assert_non_null(fp);
	nrexmit = 0;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		o = json_loads(buf, 0, &jerr);
		if (o == NULL)
			fail_msg("%s: %s", run->jsonl, jerr.text);
		ev = json_string_value(json_object_get(o, "ev"));
		assert_non_null(ev);
		if (strcmp(ev, "segment") != 0) {
			json_decref(o);
			continue;
		}
		off = jint(o, "off");
		len = jint(o, "len");
		assert_true(len <= TSO_MAXSEG && off + len <= run->w.len);
		if (json_is_true(json_object_get(o, "rexmit"))) {
			for (i = 0; i < 2; i++)
				if (off == lost->off[i] && len == lost->len[i])
					found[i]++;
			nrexmit++;
		} else {
			for (i = off; i < off + len; i++) {
				assert_int_equal(cover[i], 0);
				cover[i] = 1;
			}
		}
		json_decref(o);
	}
	fclose(fp);
	for (i = 0; i < run->w.len; i++)
		if (!cover[i])
			fail_msg("byte %zu never sent first", i);
	free(cover);
	assert_int_equal(nrexmit, 2);
	assert_int_equal(found[0], 1);
	assert_int_equal(found[1], 1);
}

/* tshark sees the two retransmissions as such (sequence numbers reused). */
static void
check_pcapng_rexmit(struct run *run)
{
	char cmd[512], line[512];
	FILE *p;
	int n;

	snprintf(cmd, sizeof(cmd),
	    "tshark -n -r '%s' -Y 'tcp.srcport == 443 && "
	    "(tcp.analysis.retransmission || "
	    "tcp.analysis.spurious_retransmission)'",
	    run->pcapng);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (n = 0; fgets(line, sizeof(line), p) != NULL; n++)
		;
	assert_int_equal(pclose(p), 0);
	assert_int_equal(n, 2);
}

static void
test_rexmit_trace(void **state)
{
	struct lossy lost;
	struct run run;

	(void)state;
	trace_run_lossy(&run, &lost);
	check_jsonl_rexmit(&run, &lost);
	check_text(&run);
	check_pcapng(&run);
	check_pcapng_rexmit(&run);
	check_reader(&run);
	run_cleanup(&run);
}

/*
 * A NIC connection (ktrace_conn_wire()) as sim_server --mode nic records
 * it: the pcapng handshake shows the path's round trip, and a segment that
 * resends lost bytes and carries new ones becomes two packets with one
 * timestamp, the first with the segment's event in its comment (see
 * docs/trace-format.md, "pcapng").
 */
static void
test_wire_trace(void **state)
{
	static const char *want[] = { "1\t1448\t", "1449\t500\t", "1449\t500\t",
		"1949\t948\t", "2897\t1448\t" };
	static uint8_t buf[3 * 1448];
	struct socket so;
	struct ktrace_set *set;
	struct run run;
	char cmd[512], *line;
	size_t cap, i;
	uint64_t clk, ts[5];
	FILE *p;

	(void)state;
	memset(&run, 0, sizeof(run));
	memset(&so, 0, sizeof(so));
	run_files(&run);
	set = ktrace_set_new();
	assert_non_null(set);
	assert_int_equal(ktrace_set_open(set, run.jsonl), 0);
	assert_int_equal(ktrace_set_open(set, run.pcapng), 0);
	clk = 1000000000;
	ktrace_set_clock(set, fake_clock, &clk);
	assert_int_equal(ktrace_conn_open(set, &so, 40003, 443, "wire"), 0);
	assert_int_equal(ktrace_conn_wire(set, &so, 400000), 0);
	memset(buf, 'w', sizeof(buf));
	assert_int_equal(ktrace_conn_wire_segment(set, &so, "mce0", 0, buf,
			     1448, 0),
	    0);
	/* The end of what was queued, lost on the link. */
	assert_int_equal(ktrace_conn_wire_segment(set, &so, "mce0", 1448, buf,
			     500, 0),
	    0);
	assert_int_equal(ktrace_conn_wire_ack(set, &so, 1448), 0);
	/* The timer resends from snd_una, filled up with new bytes. */
	assert_int_equal(ktrace_conn_wire_segment(set, &so, "mce0", 1448, buf,
			     1448, KTRACE_SEG_REXMIT),
	    0);
	assert_int_equal(ktrace_conn_wire_segment(set, &so, "mce0", 2896, buf,
			     1448, 0),
	    0);
	assert_int_equal(ktrace_conn_wire_ack(set, &so, 4344), 0);
	ktrace_conn_close(set, &so);
	assert_int_equal(ktrace_set_free(set), 0);

	snprintf(cmd, sizeof(cmd),
	    "tshark -n -r '%s' -o tcp.relative_sequence_numbers:TRUE "
	    "-T fields -e frame.time_epoch -e tcp.seq -e tcp.len "
	    "-e tcp.analysis.initial_rtt -e frame.comment "
	    "-Y 'frame.number == 3 || (tcp.srcport == 443 && tcp.len > 0)'",
	    run.pcapng);
	p = popen(cmd, "r");
	assert_non_null(p);
	line = NULL;
	cap = 0;
	/* The client's ACK of the handshake, a round trip after the SYN. */
	assert_true(getline(&line, &cap, p) > 0);
	assert_non_null(strstr(line, "\t0.000400000\t"));
	for (i = 0; i < 5; i++) {
		unsigned long long sec, nsec;
		char *f;

		if (getline(&line, &cap, p) <= 0)
			fail_msg("packet %zu of 5 missing", i + 1);
		assert_int_equal(sscanf(line, "%llu.%llu", &sec, &nsec), 2);
		ts[i] = sec * 1000000000ULL + nsec;
		f = strchr(line, '\t');
		assert_non_null(f);
		if (strncmp(f + 1, want[i], strlen(want[i])) != 0)
			fail_msg("packet %zu: %s, want %s", i + 1, f + 1,
			    want[i]);
		if (i == 2) {
			assert_non_null(strstr(line, "\"ev\":\"segment\""));
			assert_non_null(
			    strstr(line, "\"len\":1448,\"off\":1448"));
			assert_non_null(strstr(line, "\"rexmit\":true"));
		} else
			assert_null(strstr(line, "\"segment\""));
	}
	assert_true(ts[3] == ts[2]);
	assert_true(getline(&line, &cap, p) < 0);
	free(line);
	assert_int_equal(pclose(p), 0);
	run_cleanup(&run);
}

/* Hooks off: the kernel runs untraced and the set is not touched. */
static void
test_uninstalled(void **state)
{
	struct harness h;
	struct wire w;
	struct socket *so;
	ssize_t n;

	(void)state;
	assert_null(ktls_trace_hooks);
	harness_init(&h, HARNESS_DET, 1, 1);
	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	assert_int_equal(ksim_write(so, "abc", 3, &n), 0);
	harness_run(&h);
	assert_int_equal(w.len, 3);
	ksim_close(so);
	harness_fini(&h);
	wire_fini(&w);
}

int
main(void)
{
	static const char *names[] = { "aes128_gcm_1_2", "aes256_gcm_1_3",
		"chacha20_poly1305_1_3", "aes128_cbc_1_0_sha1",
		"aes256_cbc_1_2_sha384" };
	struct CMUnitTest tests[9];
	size_t nt, i;

	nt = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		tests[nt].name = names[i];
		tests[nt].test_func = test_suite_trace;
		tests[nt].setup_func = harness_setup;
		tests[nt].teardown_func = harness_teardown;
		tests[nt].initial_state =
		    (void *)(uintptr_t)test_suite_named(names[i]);
		assert_non_null(tests[nt].initial_state);
		nt++;
	}
	tests[nt++] = (struct CMUnitTest)harness_unit_test(test_rexmit_trace);
	tests[nt++] = (struct CMUnitTest)harness_unit_test(test_wire_trace);
	tests[nt++] = (struct CMUnitTest)harness_unit_test(test_uninstalled);
	return (_cmocka_run_group_tests("trace", tests, nt, NULL, NULL));
}
