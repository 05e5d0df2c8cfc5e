/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Tests for sim/trace/pcapng.c.
 *
 * The end-to-end test runs real TLS 1.3 and TLS 1.2 (AES-256-GCM)
 * connections between two libssl endpoints over memory BIOs, records every
 * byte each side sends into one pcapng file (two TCP flows, the key log in
 * a Decryption Secrets Block) and asks tshark, an independent
 * implementation, to decrypt it.  The decrypted streams must equal the
 * plaintext that was sent, byte for byte.  tshark is a project dependency:
 * if it is missing the tests fail, they do not skip.
 */

#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sim/trace/pcapng.h"

#define SEG_MAX 1448   /* an Ethernet MSS with TCP timestamps */
#define BODY_LEN 40961 /* ~40 KiB, odd on purpose */
#define SERVER_PORT 443
#define MAX_XFERS 256

enum { C2S = 0, S2C = 1 };

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/* One burst of bytes one side handed to the network. */
struct xfer {
	int dir;
	uint64_t off;
	size_t len;
};

/* One TLS connection run in memory, with everything it put on the wire. */
struct conn {
	const char *name;
	uint16_t cport;
	struct buf wire[2];  /* bytes sent, per direction */
	struct buf plain[2]; /* application data sent */
	struct buf keylog;
	struct xfer xfer[MAX_XFERS];
	int nxfer;
	SSL *ssl[2]; /* [C2S] client, [S2C] server */
	BIO *out[2]; /* what each side writes */
	BIO *in[2];  /* what each side reads */
	/* Writer state. */
	struct pcapng_flow *flow;
	int next;
	bool retransmitted;
};

struct fixture {
	char dir[PATH_MAX - 64];
	char trace[PATH_MAX];
	char err[PATH_MAX];
	bool passed;
};

static void
buf_add(struct buf *b, const void *p, size_t len)
{

	if (b->len + len > b->cap) {
		b->cap = b->cap * 2 > b->len + len ? b->cap * 2 :
						     b->len + len + 4096;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
buf_free(struct buf *b)
{

	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
setup(void **state)
{
	struct fixture *fx;
	const char *tmp;

	fx = calloc(1, sizeof(*fx));
	if (fx == NULL)
		return (-1);
	tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/pcapng_test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return (-1);
	}
	snprintf(fx->trace, sizeof(fx->trace), "%s/trace.pcapng", fx->dir);
	snprintf(fx->err, sizeof(fx->err), "%s/stderr.txt", fx->dir);
	*state = fx;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->passed) {
		(void)unlink(fx->trace);
		(void)unlink(fx->err);
		(void)rmdir(fx->dir);
	} else
		print_message("pcapng_test: kept %s for inspection\n", fx->dir);
	free(fx);
	return (0);
}

/*
 * Run a shell command and collect its standard output; standard error goes
 * to a file that is shown if the command fails.  Returns the exit status.
 */
static int
run(struct fixture *fx, struct buf *out, const char *fmt, ...)
{
	char cmd[4 * PATH_MAX], line[512];
	va_list ap;
	FILE *p;
	size_t n;
	int status;

	va_start(ap, fmt);
	n = (size_t)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n < sizeof(cmd) - 16);
	snprintf(cmd + n, sizeof(cmd) - n, " 2>'%s'", fx->err);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(line, 1, sizeof(line), p)) > 0)
		buf_add(out, line, n);
	status = pclose(p);
	if (status != 0) {
		FILE *e;

		print_error("command failed (status %#x): %s\n", status, cmd);
		if ((e = fopen(fx->err, "r")) != NULL) {
			while (fgets(line, sizeof(line), e) != NULL)
				print_error("  %s", line);
			fclose(e);
		}
	}
	buf_add(out, "", 1);
	out->len--;
	return (status);
}

static void
require_tool(struct fixture *fx, const char *tool)
{
	struct buf out = { 0 };

	if (run(fx, &out, "command -v %s", tool) != 0)
		fail_msg(
		    "%s is not installed or not in PATH: the pcapng tests "
		    "need it to check traces (Debian: apt-get install tshark)",
		    tool);
	buf_free(&out);
}

/* A self-signed P-256 certificate, enough for both TLS versions. */
static void
make_cert(EVP_PKEY **keyp, X509 **certp)
{
	EVP_PKEY *key;
	X509 *x;
	X509_NAME *name;

	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
			     (const unsigned char *)"ktlsim.test", -1, -1, 0),
	    1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	*keyp = key;
	*certp = x;
}

static void
keylog_cb(const SSL *ssl, const char *line)
{
	struct conn *c = SSL_get_app_data(ssl);

	buf_add(&c->keylog, line, strlen(line));
	buf_add(&c->keylog, "\n", 1);
}

/* Move what side dir wrote to its peer, recording it as one burst. */
static void
pump(struct conn *c, int dir)
{
	uint8_t chunk[64 * 1024];
	uint64_t off;
	size_t total;
	int n;

	off = c->wire[dir].len;
	total = 0;
	while ((n = BIO_read(c->out[dir], chunk, sizeof(chunk))) > 0) {
		buf_add(&c->wire[dir], chunk, (size_t)n);
		assert_int_equal(BIO_write(c->in[!dir], chunk, n), n);
		total += (size_t)n;
	}
	if (total == 0)
		return;
	assert_true(c->nxfer < MAX_XFERS);
	c->xfer[c->nxfer].dir = dir;
	c->xfer[c->nxfer].off = off;
	c->xfer[c->nxfer].len = total;
	c->nxfer++;
}

/* Application data from side dir, written and delivered to the peer. */
static void
app_send(struct conn *c, int dir, const void *p, size_t len)
{
	uint8_t rbuf[16 * 1024];
	struct buf got = { 0 };
	size_t done;
	int n;

	buf_add(&c->plain[dir], p, len);
	for (done = 0; done < len; done += (size_t)n) {
		n = SSL_write(c->ssl[dir], (const uint8_t *)p + done,
		    (int)(len - done));
		assert_true(n > 0);
		pump(c, dir);
	}
	while (got.len < len) {
		n = SSL_read(c->ssl[!dir], rbuf, sizeof(rbuf));
		assert_true(n > 0);
		buf_add(&got, rbuf, (size_t)n);
		pump(c, !dir); /* TLS 1.3 may answer, e.g. tickets */
	}
	assert_int_equal(got.len, len);
	assert_memory_equal(got.p, p, len);
	buf_free(&got);
}

/*
 * A complete HTTP-like exchange over TLS: handshake, request, ~40 KiB
 * response, close_notify both ways.
 */
static void
conn_run(struct conn *c, int version, EVP_PKEY *key, X509 *cert)
{
	static const char req[] =
	    "GET /object HTTP/1.1\r\n"
	    "Host: ktlsim.test\r\nUser-Agent: pcapng_test\r\n\r\n";
	const char *label;
	char hdr[256];
	uint8_t *body, tmp[64];
	SSL_CTX *ctx[2];
	int dir, i, rc[2];

	ctx[C2S] = SSL_CTX_new(TLS_client_method());
	ctx[S2C] = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx[C2S]);
	assert_non_null(ctx[S2C]);
	for (dir = C2S; dir <= S2C; dir++) {
		assert_int_equal(SSL_CTX_set_min_proto_version(ctx[dir],
				     version),
		    1);
		assert_int_equal(SSL_CTX_set_max_proto_version(ctx[dir],
				     version),
		    1);
	}
	if (version == TLS1_3_VERSION)
		assert_int_equal(SSL_CTX_set_ciphersuites(ctx[C2S],
				     "TLS_AES_256_GCM_SHA384"),
		    1);
	else
		assert_int_equal(SSL_CTX_set_cipher_list(ctx[C2S],
				     "ECDHE-ECDSA-AES256-GCM-SHA384"),
		    1);
	assert_int_equal(SSL_CTX_use_certificate(ctx[S2C], cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx[S2C], key), 1);
	/* Both ends would log the same secrets; one copy is enough. */
	SSL_CTX_set_keylog_callback(ctx[C2S], keylog_cb);

	for (dir = C2S; dir <= S2C; dir++) {
		c->ssl[dir] = SSL_new(ctx[dir]);
		assert_non_null(c->ssl[dir]);
		SSL_set_app_data(c->ssl[dir], c);
		c->in[dir] = BIO_new(BIO_s_mem());
		c->out[dir] = BIO_new(BIO_s_mem());
		assert_non_null(c->in[dir]);
		assert_non_null(c->out[dir]);
		SSL_set_bio(c->ssl[dir], c->in[dir], c->out[dir]);
		SSL_CTX_free(ctx[dir]);
	}
	SSL_set_connect_state(c->ssl[C2S]);
	SSL_set_accept_state(c->ssl[S2C]);
	assert_int_equal(SSL_set_tlsext_host_name(c->ssl[C2S], "ktlsim.test"),
	    1);

	rc[C2S] = rc[S2C] = 0;
	for (i = 0; i < 16 && (rc[C2S] != 1 || rc[S2C] != 1); i++) {
		for (dir = C2S; dir <= S2C; dir++) {
			rc[dir] = SSL_do_handshake(c->ssl[dir]);
			if (rc[dir] != 1 &&
			    SSL_get_error(c->ssl[dir], rc[dir]) !=
				SSL_ERROR_WANT_READ) {
				ERR_print_errors_fp(stderr);
				fail_msg("%s: handshake failed", c->name);
			}
			pump(c, dir);
		}
	}
	assert_int_equal(rc[C2S], 1);
	assert_int_equal(rc[S2C], 1);
	assert_int_equal(SSL_version(c->ssl[C2S]), version);
	assert_string_equal(SSL_get_cipher_name(c->ssl[C2S]),
	    version == TLS1_3_VERSION ? "TLS_AES_256_GCM_SHA384" :
					"ECDHE-ECDSA-AES256-GCM-SHA384");

	app_send(c, C2S, req, sizeof(req) - 1);
	body = malloc(BODY_LEN);
	assert_non_null(body);
	assert_int_equal(RAND_bytes(body, BODY_LEN), 1);
	snprintf(hdr, sizeof(hdr),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: %d\r\n\r\n",
	    BODY_LEN);
	/* Two writes, so the response spans several records. */
	app_send(c, S2C, hdr, strlen(hdr));
	app_send(c, S2C, body, BODY_LEN);
	free(body);

	/* close_notify both ways (RFC 8446 §6.1). */
	assert_true(SSL_shutdown(c->ssl[C2S]) >= 0);
	pump(c, C2S);
	assert_int_equal(SSL_read(c->ssl[S2C], tmp, sizeof(tmp)), 0);
	assert_int_equal(SSL_get_error(c->ssl[S2C], 0), SSL_ERROR_ZERO_RETURN);
	assert_int_equal(SSL_shutdown(c->ssl[S2C]), 1);
	pump(c, S2C);
	assert_int_equal(SSL_shutdown(c->ssl[C2S]), 1);

	label = version == TLS1_3_VERSION ? "SERVER_TRAFFIC_SECRET_0 " :
					    "CLIENT_RANDOM ";
	assert_non_null(
	    memmem(c->keylog.p, c->keylog.len, label, strlen(label)));
	for (dir = C2S; dir <= S2C; dir++) {
		SSL_free(c->ssl[dir]);
		c->ssl[dir] = NULL;
	}
}

/*
 * Write c's next burst into the trace, cut into SEG_MAX segments; the
 * first big server burst gets one segment sent twice.
 */
static void
conn_write_next(struct conn *c, uint64_t *ts)
{
	const struct xfer *x = &c->xfer[c->next++];
	struct iovec iov[2];
	uint64_t off;
	size_t seg, split;
	int iovcnt, segno;
	bool retx;

	retx = x->dir == S2C && x->len > 4 * SEG_MAX && !c->retransmitted;
	for (off = 0, segno = 0; off < x->len; off += seg, segno++) {
		seg = x->len - off < SEG_MAX ? x->len - off : SEG_MAX;
		/*
		 * Split most segments at an odd offset, so the checksum
		 * code sees an iovec element that starts mid-word.
		 */
		split = 1 + 2 * (size_t)(segno % 5);
		iov[0].iov_base = c->wire[x->dir].p + x->off + off;
		if (split < seg) {
			iov[0].iov_len = split;
			iov[1].iov_base = (uint8_t *)iov[0].iov_base + split;
			iov[1].iov_len = seg - split;
			iovcnt = 2;
		} else {
			iov[0].iov_len = seg;
			iovcnt = 1;
		}
		assert_int_equal(pcapng_flow_data(c->flow, x->dir == S2C,
				     x->off + off, iov, iovcnt, *ts),
		    0);
		*ts += 10000;
		if (retx && segno == 2) {
			assert_int_equal(pcapng_flow_data(c->flow,
					     x->dir == S2C, x->off + off, iov,
					     iovcnt, *ts),
			    0);
			*ts += 10000;
			c->retransmitted = true;
		}
	}
}

static int
hexval(int ch)
{

	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/*
 * Parse "tshark -q -z follow,tls,raw,N" output.  Hex lines sent by node 0
 * start in column 0 and lines sent by node 1 start with a tab.  tshark 4.0
 * names as node 0 the sender of the first decrypted record (the server's
 * EncryptedExtensions in TLS 1.3, the client's Finished in TLS 1.2) and
 * prints node 1 as ":0", so the direction comes from the "Node 0:" line.
 */
static void
parse_follow(const char *text, struct buf out[2])
{
	const char *line, *eol, *q;
	int node0, dir, hi, lo;
	uint8_t byte;

	node0 = -1;
	for (line = text; *line != '\0'; line = *eol != '\0' ? eol + 1 : eol) {
		eol = strchr(line, '\n');
		if (eol == NULL)
			eol = line + strlen(line);
		if (strncmp(line, "Node 0: 10.0.0.1:", 17) == 0) {
			node0 = C2S;
			continue;
		}
		if (strncmp(line, "Node 0: 10.0.0.2:", 17) == 0) {
			node0 = S2C;
			continue;
		}
		if (node0 < 0 || strncmp(line, "Node 1:", 7) == 0)
			continue;
		if (line[0] == '=')
			break;
		dir = line[0] == '\t' ? !node0 : node0;
		for (q = line + (line[0] == '\t'); q + 1 < eol; q += 2) {
			hi = hexval((unsigned char)q[0]);
			lo = hexval((unsigned char)q[1]);
			if (hi < 0 || lo < 0)
				fail_msg("bad follow line: %.*s",
				    (int)(eol - line), line);
			byte = (uint8_t)(hi << 4 | lo);
			buf_add(&out[dir], &byte, 1);
		}
	}
	if (node0 < 0)
		fail_msg("no \"Node 0: 10.0.0.x\" line in tshark output:\n%s",
		    text);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return (n);
}

static void
assert_checksums_good(struct fixture *fx, size_t npackets)
{
	struct buf out = { 0 };
	const char *line;

	/* Wireshark verifies neither checksum unless asked to. */
	assert_int_equal(
	    run(fx, &out,
		"tshark -r '%s' "
		"-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE "
		"-T fields -e ip.checksum.status -e tcp.checksum.status",
		fx->trace),
	    0);
	assert_int_equal(count_lines((const char *)out.p), npackets);
	/* 1 is PROTO_CHECKSUM_E_GOOD. */
	for (line = (const char *)out.p; *line != '\0';
	     line = strchr(line, '\n') + 1) {
		if (strncmp(line, "1\t1\n", 4) != 0)
			fail_msg("bad checksum status: %.*s",
			    (int)strcspn(line, "\n"), line);
	}
	buf_free(&out);
}

/*
 * tshark, with no option, follows TLS stream number stream and prints the
 * decrypted application data, which must be exactly what each side of c
 * wrote.
 */
static void
assert_follow(struct fixture *fx, struct conn *c, int stream)
{
	struct buf out = { 0 }, got[2];
	int dir;

	assert_int_equal(run(fx, &out, "tshark -r '%s' -q -z follow,tls,raw,%d",
			     fx->trace, stream),
	    0);
	memset(got, 0, sizeof(got));
	parse_follow((const char *)out.p, got);
	for (dir = C2S; dir <= S2C; dir++) {
		if (got[dir].len != c->plain[dir].len)
			fail_msg("%s %s: tshark decrypted %zu bytes, %zu were "
				 "sent",
			    c->name, dir == C2S ? "request" : "response",
			    got[dir].len, c->plain[dir].len);
		assert_memory_equal(got[dir].p, c->plain[dir].p, got[dir].len);
		buf_free(&got[dir]);
	}
	buf_free(&out);
}

static void
test_tls_decrypts(void **state)
{
	struct fixture *fx = *state;
	struct conn conns[2] = {
		{ .name = "TLS 1.3", .cport = 50000 },
		{ .name = "TLS 1.2", .cport = 50001 },
	};
	const int versions[2] = { TLS1_3_VERSION, TLS1_2_VERSION };
	struct pcapng_writer *w;
	struct buf keylog = { 0 }, out = { 0 };
	EVP_PKEY *key;
	X509 *cert;
	uint64_t ts;
	size_t npackets;
	int error, i, dir;
	bool more;

	require_tool(fx, "tshark");
	make_cert(&key, &cert);
	for (i = 0; i < 2; i++) {
		conn_run(&conns[i], versions[i], key, cert);
		buf_add(&keylog, conns[i].keylog.p, conns[i].keylog.len);
	}
	X509_free(cert);
	EVP_PKEY_free(key);

	w = pcapng_open(fx->trace, &error);
	assert_non_null(w);
	assert_int_equal(pcapng_write_secrets(w, (const char *)keylog.p,
			     keylog.len),
	    0);
	/* Interleave the two flows, as a server with two clients would. */
	ts = 1700000000ULL * 1000000000ULL;
	for (i = 0; i < 2; i++) {
		conns[i].flow = pcapng_flow_open(w, conns[i].cport, SERVER_PORT,
		    ts, 0, &error);
		assert_non_null(conns[i].flow);
		ts += 10000;
	}
	do {
		more = false;
		for (i = 0; i < 2; i++) {
			if (conns[i].next < conns[i].nxfer) {
				conn_write_next(&conns[i], &ts);
				more = true;
			}
		}
	} while (more);
	for (i = 0; i < 2; i++) {
		assert_true(conns[i].retransmitted);
		for (dir = C2S; dir <= S2C; dir++) {
			assert_int_equal(pcapng_flow_fin(conns[i].flow,
					     dir == S2C, conns[i].wire[dir].len,
					     ts),
			    0);
			ts += 10000;
		}
	}
	/* Secrets after packets cannot be decrypted on the first pass. */
	assert_int_equal(pcapng_write_secrets(w, "x\n", 2), EINVAL);
	assert_int_equal(pcapng_close(w), 0);

	/* capinfos ships with tshark, but only this check needs it. */
	if (run(fx, &out, "command -v capinfos >/dev/null") == 0) {
		buf_free(&out);
		assert_int_equal(run(fx, &out, "capinfos '%s'", fx->trace), 0);
		assert_non_null(strstr((const char *)out.p,
		    "Number of decryption secrets in file: 1\n"));
	} else
		print_message("capinfos not found; DSB count not checked\n");
	buf_free(&out);

	assert_int_equal(run(fx, &out,
			     "tshark -r '%s' -T fields "
			     "-e frame.number",
			     fx->trace),
	    0);
	npackets = count_lines((const char *)out.p);
	buf_free(&out);
	assert_checksums_good(fx, npackets);

	/*
	 * Sequence analysis must flag the two deliberate retransmissions
	 * and nothing else: no lost segment, unseen ACK, dup ACK or window
	 * problem.
	 */
	assert_int_equal(
	    run(fx, &out,
		"tshark -r '%s' "
		"-o tcp.analyze_sequence_numbers:TRUE -Y "
		"'tcp.analysis.flags && !tcp.analysis.retransmission' "
		"-T fields -e frame.number -e _ws.col.Info",
		fx->trace),
	    0);
	if (out.len != 0)
		fail_msg("unexpected TCP analysis flags:\n%s", out.p);
	buf_free(&out);
	assert_int_equal(
	    run(fx, &out,
		"tshark -r '%s' "
		"-o tcp.analyze_sequence_numbers:TRUE "
		"-Y tcp.analysis.retransmission -T fields -e tcp.stream",
		fx->trace),
	    0);
	assert_string_equal((const char *)out.p, "0\n1\n");
	buf_free(&out);

	/*
	 * The HTTP dissector sees the request and the response in both
	 * flows; the flows are interleaved, so are their messages.
	 */
	assert_int_equal(
	    run(fx, &out,
		"tshark -r '%s' -Y http -T fields "
		"-e tcp.stream -e http.request.uri -e http.response.code "
		"-e http.content_length",
		fx->trace),
	    0);
	assert_string_equal((const char *)out.p,
	    "0\t/object\t\t\n1\t/object\t\t\n"
	    "0\t\t200\t40961\n1\t\t200\t40961\n");
	buf_free(&out);

	/*
	 * Follow each TLS stream: tshark prints the decrypted application
	 * data, which must be exactly what each side wrote.
	 */
	for (i = 0; i < 2; i++)
		assert_follow(fx, &conns[i], i);

	for (i = 0; i < 2; i++) {
		for (dir = C2S; dir <= S2C; dir++) {
			buf_free(&conns[i].wire[dir]);
			buf_free(&conns[i].plain[dir]);
		}
		buf_free(&conns[i].keylog);
	}
	buf_free(&keylog);
	fx->passed = true;
}

/* One segment of side dir: [off, off + len) of its wire bytes. */
static void
seg_write(struct conn *c, int dir, uint64_t off, size_t len, uint64_t ts)
{
	struct iovec iov;

	iov.iov_base = c->wire[dir].p + off;
	iov.iov_len = len;
	assert_int_equal(pcapng_flow_data(c->flow, dir == S2C, off, &iov, 1,
			     ts),
	    0);
}

/*
 * A capture at the server of a lossy path (pcapng_flow_peer_acks()).  One
 * short server segment, the end of what was queued then, is lost; a
 * retransmission timeout later FreeBSD's tcp_output() resends from
 * snd_una a full segment, the lost bytes and new ones.  Wireshark passes
 * nothing of a retransmission on to TLS, so the writer must cut it where
 * the new bytes start; then tshark, with no option at all, decrypts the
 * whole response.  The handshake shows the path's round trip.
 */
static void
test_rexmit_new_bytes(void **state)
{
	struct fixture *fx = *state;
	struct conn c = { .name = "TLS 1.3 lossy", .cport = 50002 };
	const uint64_t rtt = 400000, rto = 230000000;
	const size_t shortlen = 500;
	struct pcapng_writer *w;
	struct buf out = { 0 };
	const struct xfer *x;
	EVP_PKEY *key;
	X509 *cert;
	uint64_t ts, off, lost, split_ts;
	size_t seg;
	int error, i, dir, nsplit;
	char *line, *next;

	require_tool(fx, "tshark");
	make_cert(&key, &cert);
	conn_run(&c, TLS1_3_VERSION, key, cert);
	X509_free(cert);
	EVP_PKEY_free(key);

	w = pcapng_open(fx->trace, &error);
	assert_non_null(w);
	assert_int_equal(pcapng_write_secrets(w, (const char *)c.keylog.p,
			     c.keylog.len),
	    0);
	ts = 1700000000ULL * 1000000000ULL;
	c.flow = pcapng_flow_open(w, c.cport, SERVER_PORT, ts, rtt, &error);
	assert_non_null(c.flow);
	assert_int_equal(pcapng_flow_peer_acks(c.flow, 1), 0);
	lost = 0;
	for (i = 0; i < c.nxfer; i++) {
		x = &c.xfer[i];
		for (off = x->off; off < x->off + x->len; off += seg) {
			seg = x->off + x->len - off;
			if (seg > SEG_MAX)
				seg = SEG_MAX;
			ts += 10000;
			if (x->dir == S2C && lost == 0 && off > x->off &&
			    seg == SEG_MAX && x->len > 4 * SEG_MAX) {
				/* Sent short, lost; resent full by the timer.
				 */
				seg_write(&c, S2C, off, shortlen, ts);
				lost = off;
				assert_int_equal(pcapng_flow_ack_to(c.flow, 0,
						     off, ts + rtt),
				    0);
				ts += rto;
			}
			seg_write(&c, x->dir, off, seg, ts);
		}
		if (x->dir == S2C)
			assert_int_equal(pcapng_flow_ack_to(c.flow, 0,
					     x->off + x->len, ts + rtt),
			    0);
		ts += rtt;
	}
	assert_true(lost != 0);
	for (dir = C2S; dir <= S2C; dir++) {
		assert_int_equal(pcapng_flow_fin(c.flow, dir == S2C,
				     c.wire[dir].len, ts),
		    0);
		ts += 10000;
	}
	assert_int_equal(pcapng_close(w), 0);

	/* The round trip of the handshake, as Wireshark measures it. */
	assert_int_equal(run(fx, &out,
			     "tshark -r '%s' -Y 'frame.number == 3' "
			     "-T fields -e tcp.analysis.initial_rtt",
			     fx->trace),
	    0);
	assert_string_equal((const char *)out.p, "0.000400000\n");
	buf_free(&out);

	/*
	 * The server's data packets: the resent segment is the repeated 500
	 * bytes and then the new ones, with one timestamp.
	 */
	assert_int_equal(run(fx, &out,
			     "tshark -r '%s' -Y 'tcp.srcport == %d && "
			     "tcp.len > 0' -T fields -e frame.time_epoch "
			     "-e tcp.seq_raw -e tcp.len",
			     fx->trace, SERVER_PORT),
	    0);
	nsplit = 0;
	split_ts = 0;
	for (line = (char *)out.p; *line != '\0'; line = next) {
		unsigned long long sec, nsec, seq;
		size_t len;

		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';
		assert_int_equal(sscanf(line, "%llu.%llu\t%llu\t%zu", &sec,
				     &nsec, &seq, &len),
		    4);
		if (len == shortlen) {
			nsplit++;
			split_ts = sec * 1000000000ULL + nsec;
		} else if (len == SEG_MAX - shortlen) {
			assert_int_equal(nsplit, 2);
			assert_int_equal(sec * 1000000000ULL + nsec, split_ts);
			nsplit++;
		}
	}
	assert_int_equal(nsplit, 3);
	buf_free(&out);

	/* No option: tshark decrypts both directions byte for byte. */
	assert_follow(fx, &c, 0);
	for (dir = C2S; dir <= S2C; dir++) {
		buf_free(&c.wire[dir]);
		buf_free(&c.plain[dir]);
	}
	buf_free(&c.keylog);
	fx->passed = true;
}

/*
 * Checksums over payloads of every length parity, split into iovecs of
 * 1..3 bytes and empty elements, checked by tshark.
 */
static void
test_checksums(void **state)
{
	struct fixture *fx = *state;
	struct pcapng_writer *w;
	struct pcapng_flow *f;
	struct iovec iov[64];
	struct buf out = { 0 };
	uint8_t data[2048];
	uint64_t off[2] = { 0, 0 };
	size_t len, pos, n;
	int error, iovcnt, i, dir;

	require_tool(fx, "tshark");
	assert_int_equal(RAND_bytes(data, sizeof(data)), 1);
	w = pcapng_open(fx->trace, &error);
	assert_non_null(w);
	f = pcapng_flow_open(w, 40000, 80, 1, 0, &error);
	assert_non_null(f);
	for (i = 0; i < 40; i++) {
		len = 1 + (size_t)i * 37 % 1400;
		iovcnt = 0;
		if (i % 2 == 0) {
			/* Elements of 0..3 bytes, then the rest. */
			for (pos = 0; pos < len && iovcnt < 63;
			     pos += n, iovcnt++) {
				n = (size_t)(iovcnt % 4);
				if (n > len - pos)
					n = len - pos;
				iov[iovcnt].iov_base = data + pos;
				iov[iovcnt].iov_len = n;
			}
		} else
			pos = 0;
		iov[iovcnt].iov_base = data + pos;
		iov[iovcnt].iov_len = len - pos;
		iovcnt++;
		dir = i % 3 == 0;
		assert_int_equal(pcapng_flow_data(f, dir, off[dir], iov, iovcnt,
				     2 + (uint64_t)i),
		    0);
		off[dir] += len;
	}
	assert_int_equal(pcapng_close(w), 0);

	assert_int_equal(run(fx, &out,
			     "tshark -r '%s' -Y 'tcp.len > 0' "
			     "-T fields -e tcp.len",
			     fx->trace),
	    0);
	assert_int_equal(count_lines((const char *)out.p), 40);
	buf_free(&out);
	/* Pure ACKs were added, so count the frames tshark saw. */
	assert_int_equal(run(fx, &out,
			     "tshark -r '%s' -T fields "
			     "-e frame.number",
			     fx->trace),
	    0);
	assert_checksums_good(fx, count_lines((const char *)out.p));
	buf_free(&out);
	fx->passed = true;
}

static void
test_errors(void **state)
{
	struct fixture *fx = *state;
	struct pcapng_writer *w;
	struct pcapng_flow *f, *g;
	struct iovec iov[2];
	static uint8_t big[PCAPNG_TCP_MAXPAYLOAD + 1];
	char path[PATH_MAX + 32];
	int error;

	error = 0;
	snprintf(path, sizeof(path), "%s/no/such/dir/x.pcapng", fx->dir);
	assert_null(pcapng_open(path, &error));
	assert_int_equal(error, ENOENT);
	assert_null(pcapng_open(NULL, &error));
	assert_int_equal(error, EINVAL);

	w = pcapng_open(fx->trace, &error);
	assert_non_null(w);
	assert_int_equal(pcapng_write_secrets(w, NULL, 1), EINVAL);
	assert_int_equal(pcapng_write_secrets(w, "", 0), 0);

	assert_null(pcapng_flow_open(w, 0, 443, 0, 0, &error));
	assert_int_equal(error, EINVAL);
	f = pcapng_flow_open(w, 1234, 443, 0, 0, &error);
	assert_non_null(f);
	assert_null(pcapng_flow_open(w, 1234, 443, 0, 0, &error));
	assert_int_equal(error, EEXIST);
	assert_int_equal(pcapng_write_secrets(w, "x\n", 2), EINVAL);

	iov[0].iov_base = big;
	iov[0].iov_len = sizeof(big);
	assert_int_equal(pcapng_flow_data(f, 1, 0, iov, 1, 0), EMSGSIZE);
	iov[0].iov_len = sizeof(big) / 2;
	iov[1].iov_base = big;
	iov[1].iov_len = sizeof(big) - iov[0].iov_len;
	assert_int_equal(pcapng_flow_data(f, 1, 0, iov, 2, 0), EMSGSIZE);
	assert_int_equal(pcapng_flow_data(f, 1, 0, iov, -1, 0), EINVAL);
	assert_int_equal(pcapng_flow_data(f, 1, 0, NULL, 1, 0), EINVAL);
	/* The largest payload fits. */
	iov[0].iov_len = PCAPNG_TCP_MAXPAYLOAD;
	assert_int_equal(pcapng_flow_data(f, 1, 0, iov, 1, 1), 0);

	/* FIN below data already sent, data past FIN, a moved FIN. */
	assert_int_equal(pcapng_flow_fin(f, 1, 10, 2), EINVAL);
	assert_int_equal(pcapng_flow_fin(f, 1, PCAPNG_TCP_MAXPAYLOAD, 2), 0);
	iov[0].iov_len = 1;
	assert_int_equal(pcapng_flow_data(f, 1, PCAPNG_TCP_MAXPAYLOAD, iov, 1,
			     3),
	    EINVAL);
	assert_int_equal(pcapng_flow_fin(f, 1, PCAPNG_TCP_MAXPAYLOAD + 1, 3),
	    EINVAL);
	/* A retransmitted FIN and retransmitted data are fine. */
	assert_int_equal(pcapng_flow_fin(f, 1, PCAPNG_TCP_MAXPAYLOAD, 4), 0);
	assert_int_equal(pcapng_flow_data(f, 1, 0, iov, 1, 5), 0);

	/* A released port pair can be reused; a new flow gets a new ISN. */
	pcapng_flow_close(f);
	g = pcapng_flow_open(w, 1234, 443, 6, 0, &error);
	assert_non_null(g);
	assert_int_equal(pcapng_close(w), 0);

	/* The file is well formed: tshark reads all of it. */
	require_tool(fx, "tshark");
	{
		struct buf out = { 0 };

		assert_int_equal(run(fx, &out,
				     "tshark -r '%s' -T fields "
				     "-e tcp.flags.str",
				     fx->trace),
		    0);
		/* 3 + data + FIN + ACK + FIN + ACK + data + 3 */
		assert_int_equal(count_lines((const char *)out.p), 12);
		buf_free(&out);
	}
	fx->passed = true;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksums, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tls_decrypts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rexmit_new_bytes, setup,
		    teardown),
	};

	return (cmocka_run_group_tests_name("pcapng", tests, NULL, NULL));
}
