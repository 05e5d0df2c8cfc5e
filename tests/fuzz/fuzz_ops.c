/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Target functions: ksim_write(), ksim_sendmsg() with TLS_SET_RECORD_TYPE,
 * ksim_sendfile(), ksim_shutdown(), ksim_drop(), tcp_output_kick(),
 * ksim_set_sndbuf() -> sosend_generic(), vn_sendfile(), ktls_frame(),
 * ktls_seq(), ktls_enqueue(), the SW workers, sbready(), tcp_output(),
 * all under the deterministic runner.
 *
 * The input picks a suite from tests/lib/suites.h, the initial sequence
 * number, the keys, the runner seed and policy, ktls_sim_async, the disk
 * (page cache, latency, and reads that overtake each other), the socket
 * buffer, and then a sequence of operations: writes, control records,
 * sendfile (from a few files made once per process), wire limits and
 * drains, scheduler steps, buffer changes, shutdown and
 * drop.  Checks, each an abort() so that libFuzzer reports it:
 *   - every call returns what sosend_generic()/vn_sendfile() may return
 *     in that state (docs/conformance.md, groups A, C and D), and never
 *     less than everything when space was ample;
 *   - ksim_sbstat() (which runs SBCHECK) after every operation;
 *   - the wire decrypts with the independent oracle to exactly the bytes
 *     accepted (a prefix of them after a drop), record types as
 *     requested, sequence numbers consecutive from the initial one (in a
 *     null cipher build the oracle's null mode reads the records:
 *     everything but the cryptography is checked, docs/fuzzing.md);
 *   - FIN never before shutdown and nothing after FIN; after shutdown
 *     and drain, FIN sent and the buffer empty;
 *   - for every operation that found enough space (so that its record
 *     layout does not depend on timing), the records it produced equal
 *     models/golden's golden_run() for it, header bytes included.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "golden.h"
#include "hexutil.h"
#include "models/disk/disk.h"
#include "opencrypto/ktls.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
#include "vm/vm_page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* In a null cipher build, run and read the records (check_wire()). */
const bool oracle_reads_null_cipher = true;

#define FUZZ_FAIL(...)                                                    \
	do {                                                              \
		fprintf(stderr, "fuzz_ops: %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                             \
		fprintf(stderr, "\n");                                    \
		abort();                                                  \
	} while (0)
#define FUZZ_CHECK(cond)                        \
	do {                                    \
		if (!(cond))                    \
			FUZZ_FAIL("%s", #cond); \
	} while (0)

#define MAX_OPS 64
#define MAX_STREAM (2u << 20) /* stop issuing sends past 2 MiB */

/* Files for sendfile(2), made once per process. */
static const size_t file_sizes[] = { 0, 1, 100, 4095, 4096, 4097, 16384, 16484,
	50000, 131079 };
#define NFILES (sizeof(file_sizes) / sizeof(file_sizes[0]))
static int file_fd[NFILES];
static uint8_t *file_data[NFILES];

static void
files_init(void)
{
	static bool done;
	char dir[] = "/tmp/fuzz_ops-XXXXXX", path[64];
	struct test_rng rng;

	if (done)
		return;
	done = true;
	/*
	 * ktls_uninit() unmaps every segment of pages none of which is in
	 * use (vm_page_drain_sim()), so each input used to map its pages
	 * afresh and fault every one of them in.  A page held for the life
	 * of the process keeps the first segment, all an input has needed
	 * so far, mapped from one input to the next.
	 */
	FUZZ_CHECK(vm_page_alloc_sim() != NULL);
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < NFILES; i++) {
		size_t len = file_sizes[i];

		file_data[i] = malloc(len ? len : 1);
		FUZZ_CHECK(file_data[i] != NULL);
		test_rng_seed(&rng, 0xf11e0000 + i);
		test_rng_bytes(&rng, file_data[i], len);
		snprintf(path, sizeof(path), "%s/f%zu", dir, i);
		file_fd[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		FUZZ_CHECK(file_fd[i] >= 0);
		FUZZ_CHECK(
		    write(file_fd[i], file_data[i], len) == (ssize_t)len);
		unlink(path);
	}
	rmdir(dir);
}

/* What one record is expected to be, by sequence number order. */
struct rec_exp {
	uint8_t type;
	bool have_golden;
	struct golden_record g;
	int op;
};

struct state {
	const struct test_suite *suite;
	struct platform *pl;
	struct socket *so;
	/* The wire. */
	uint8_t *wbuf;
	size_t wlen, wcap, wlimit;
	bool fin;
	/* Expected plaintext and records. */
	uint8_t *exp;
	size_t explen, expcap;
	struct rec_exp *recs;
	size_t nrecs, reccap;
	uint64_t seq0;
	bool shut, dropped, nbio;
	int nops;
};

static ssize_t
wire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct state *st = arg;
	size_t total = 0;

	if (st->fin)
		FUZZ_FAIL("output after FIN");
	for (int i = 0; i < iovcnt; i++) {
		size_t room = st->wlimit - st->wlen;
		size_t n = iov[i].iov_len < room ? iov[i].iov_len : room;

		if (n == 0)
			break;
		if (st->wlen + n > st->wcap) {
			st->wcap = (st->wlen + n) * 2;
			st->wbuf = realloc(st->wbuf, st->wcap);
			FUZZ_CHECK(st->wbuf != NULL);
		}
		memcpy(st->wbuf + st->wlen, iov[i].iov_base, n);
		st->wlen += n;
		total += n;
	}
	return ((ssize_t)total);
}

static void
wire_fin(void *arg)
{
	struct state *st = arg;

	if (!st->shut)
		FUZZ_FAIL("FIN before shutdown");
	if (st->fin)
		FUZZ_FAIL("second FIN");
	if (st->dropped)
		FUZZ_FAIL("FIN after the connection was dropped");
	st->fin = true;
}

static void
exp_append(struct state *st, const uint8_t *p, size_t len)
{

	if (len == 0)
		return;
	if (st->explen + len > st->expcap) {
		st->expcap = (st->explen + len) * 2;
		st->exp = realloc(st->exp, st->expcap);
		FUZZ_CHECK(st->exp != NULL);
	}
	memcpy(st->exp + st->explen, p, len);
	st->explen += len;
}

static void
sbstat(struct state *st, struct ksim_sbstat *sb)
{

	ksim_sbstat(st->so, sb);
	FUZZ_CHECK(sb->acc <= sb->ccc);
	FUZZ_CHECK(sb->nnotready <= sb->nmbufs);
	FUZZ_CHECK(sb->tls_seqno - st->seq0 == st->nrecs);
	FUZZ_CHECK(!sb->fin_sent || st->shut);
}

/*
 * sbspace() as FreeBSD computes it (sys/sys/sockbuf.h): the smaller of
 * the bytes and the mbuf memory left.
 */
static long
sb_space(const struct ksim_sbstat *sb)
{
	long bleft = (long)sb->hiwat - (long)sb->ccc;
	long mleft = (long)sb->mbmax - (long)sb->mbcnt;

	return (bleft < mleft ? bleft : mleft);
}

/*
 * Record what an op appended: n records of 'type', compared with the
 * golden model's records when the op never lacked space.
 */
static void
note_records(struct state *st, uint64_t s0, uint64_t s1, uint8_t type,
    const struct golden_op *gop, long space, const struct ksim_sbstat *before,
    int error)
{
	struct golden_suite gs;
	struct golden_record *g;
	size_t ng, n;
	int gerr;

	n = s1 - s0; /* modulo 2^64: ktls_seq() has no wrap check */
	FUZZ_CHECK(n < (1u << 20));
	g = NULL;
	ng = 0;
	if (gop != NULL) {
		gs.cipher_algorithm = st->suite->cipher_algorithm;
		gs.auth_algorithm = st->suite->auth_algorithm;
		gs.tls_vminor = st->suite->tls_vminor;
		gerr = golden_run(&gs, s0, ktls_maxlen, before->lowat,
		    before->hiwat, gop, 1, &g, &ng);
		if (gerr != error)
			FUZZ_FAIL("op %d: error %d, golden %d (space %ld)",
			    st->nops, error, gerr, space);
		if (ng != n)
			FUZZ_FAIL("op %d: %zu records, golden %zu (space %ld)",
			    st->nops, n, ng, space);
	}
	for (size_t i = 0; i < n; i++) {
		struct rec_exp *r;

		if (st->nrecs == st->reccap) {
			st->reccap = st->reccap ? st->reccap * 2 : 64;
			st->recs =
			    realloc(st->recs, st->reccap * sizeof(*st->recs));
			FUZZ_CHECK(st->recs != NULL);
		}
		r = &st->recs[st->nrecs++];
		memset(r, 0, sizeof(*r));
		r->type = type;
		r->op = st->nops;
		if (g != NULL) {
			r->have_golden = true;
			r->g = g[i];
		}
	}
	golden_free(g);
}

/*
 * The result of a write or control send, given the state before it
 * (sys/kern/uipc_socket.c sosend_generic()): EINVAL for an empty send unless
 * the suite permits empty records, EPIPE once shut down or dropped, EMSGSIZE
 * for a control send above sb_hiwat, else success or EWOULDBLOCK with
 * nothing sent; an atomic send is all or nothing; ample space means all of
 * it.
 */
static void
check_send(struct state *st, bool control, size_t len, long space, u_int hiwat,
    int error, ssize_t written)
{

	FUZZ_CHECK(written >= 0 && (size_t)written <= len);
	/* Only TLS 1.0 takes an empty send (ktls_permit_empty_frames()). */
	if (len == 0 && !is_tls10(st->suite)) {
		FUZZ_CHECK(error == EINVAL && written == 0);
		return;
	}
	if (st->shut || st->dropped) {
		FUZZ_CHECK(error == EPIPE && written == 0);
		return;
	}
	if (control && len > hiwat) {
		FUZZ_CHECK(error == EMSGSIZE && written == 0);
		return;
	}
	if (error != 0 && error != EWOULDBLOCK)
		FUZZ_FAIL("op %d: send error %d", st->nops, error);
	if (error != 0)
		FUZZ_CHECK(written == 0);
	if (control)
		FUZZ_CHECK(written == 0 || (size_t)written == len);
	if (space >= (long)len) {
		if (error != 0 || (size_t)written != len)
			FUZZ_FAIL("op %d: ample space %ld, len %zu, error %d, "
				  "written %zd",
			    st->nops, space, len, error, written);
	}
}

/*
 * Payloads are slices of one pseudo-random pool made once per process, at
 * an offset drawn from salt: generating every payload afresh was a sixth
 * of the replay time.  Consecutive sends still differ, so a record
 * carrying the wrong bytes still shows in check_wire().
 */
#define PAYLOAD_POOL (1u << 20)
static uint8_t *payload_pool;

static const uint8_t *
payload(size_t len, uint64_t salt)
{
	struct test_rng rng;

	if (payload_pool == NULL) {
		payload_pool = malloc(PAYLOAD_POOL);
		FUZZ_CHECK(payload_pool != NULL);
		test_rng_seed(&rng, 0x9a710ad);
		test_rng_bytes(&rng, payload_pool, PAYLOAD_POOL);
	}
	FUZZ_CHECK(len <= PAYLOAD_POOL);
	test_rng_seed(&rng, salt);
	return (payload_pool + test_rng_u64(&rng) % (PAYLOAD_POOL - len + 1));
}

static void
op_send(struct state *st, bool control, uint8_t type, size_t len)
{
	struct ksim_sbstat before, after;
	struct golden_op gop;
	const uint8_t *buf;
	ssize_t written;
	long space;
	int error;
	bool comparable;

	buf = payload(len, st->explen * 31 + st->nops);
	sbstat(st, &before);
	space = sb_space(&before);
	if (control) {
		union {
			struct cmsghdr hdr;
			uint8_t buf[CMSG_SPACE(1)];
		} cmsg;
		struct iovec iov = { (void *)(uintptr_t)buf, len };
		struct msghdr msg;

		memset(&cmsg, 0, sizeof(cmsg));
		cmsg.hdr.cmsg_level = IPPROTO_TCP;
		cmsg.hdr.cmsg_type = TLS_SET_RECORD_TYPE;
		cmsg.hdr.cmsg_len = CMSG_LEN(1);
		*CMSG_DATA(&cmsg.hdr) = type;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &cmsg;
		msg.msg_controllen = CMSG_SPACE(1);
		error = ksim_sendmsg(st->so, &msg, 0, &written);
	} else {
		type = TLS_RLTYPE_APP;
		error = ksim_write(st->so, buf, len, &written);
	}
	check_send(st, control, len, space, before.hiwat, error, written);
	exp_append(st, buf, (size_t)written);
	ksim_sbstat(st->so, &after);

	comparable = !st->shut && !st->dropped && space >= (long)len;
	memset(&gop, 0, sizeof(gop));
	gop.kind = control ? GOLDEN_CONTROL : GOLDEN_WRITE;
	gop.len = len;
	gop.type = type;
	note_records(st, before.tls_seqno, after.tls_seqno, type,
	    comparable ? &gop : NULL, space, &before, error);
	sbstat(st, &after);
}

static void
op_sendfile(struct state *st, size_t fidx, off_t off, size_t nbytes,
    size_t hdrlen)
{
	struct ksim_sbstat before, after;
	struct golden_op gop;
	struct sf_hdtr hdtr;
	struct iovec hiov;
	const uint8_t *hdr;
	size_t fsize, rem, hsent, fsent;
	off_t sbytes;
	long space;
	int error;
	bool comparable;

	fsize = file_sizes[fidx];
	rem = (size_t)off >= fsize ? 0 : fsize - (size_t)off;
	if (nbytes != 0 && nbytes < rem)
		rem = nbytes;
	hdr = payload(hdrlen, st->explen * 37 + st->nops);
	hiov.iov_base = (void *)(uintptr_t)hdr;
	hiov.iov_len = hdrlen;
	memset(&hdtr, 0, sizeof(hdtr));
	hdtr.headers = &hiov;
	hdtr.hdr_cnt = 1;

	sbstat(st, &before);
	space = sb_space(&before);
	error = ksim_sendfile(st->so, file_fd[fidx], off, nbytes,
	    hdrlen ? &hdtr : NULL, &sbytes, 0);
	FUZZ_CHECK(sbytes >= 0);
	if (st->shut || st->dropped) {
		if (rem > 0 && error != EPIPE)
			FUZZ_FAIL("op %d: sendfile after shutdown: %d",
			    st->nops, error);
		FUZZ_CHECK(sbytes == 0);
	} else {
		if (error != 0 && error != EWOULDBLOCK)
			FUZZ_FAIL("op %d: sendfile error %d", st->nops, error);
		if ((size_t)sbytes > hdrlen + rem)
			FUZZ_FAIL("op %d: sbytes %jd > %zu + %zu", st->nops,
			    (intmax_t)sbytes, hdrlen, rem);
		if (space >= (long)(hdrlen + rem) && rem > 0 &&
		    (error != 0 || (size_t)sbytes != hdrlen + rem))
			FUZZ_FAIL("op %d: sendfile with ample space: error "
				  "%d, sbytes %jd of %zu",
			    st->nops, error, (intmax_t)sbytes, hdrlen + rem);
	}
	hsent = (size_t)sbytes < hdrlen ? (size_t)sbytes : hdrlen;
	fsent = (size_t)sbytes - hsent;
	FUZZ_CHECK(fsent <= rem);
	exp_append(st, hdr, hsent);
	if (fsent > 0)
		exp_append(st, file_data[fidx] + off, fsent);
	ksim_sbstat(st->so, &after);

	comparable = !st->shut && !st->dropped && space >= (long)(hdrlen + rem);
	memset(&gop, 0, sizeof(gop));
	gop.kind = GOLDEN_SENDFILE;
	gop.len = rem;
	gop.file_off = (uint64_t)off;
	gop.hdr_len = hdrlen;
	note_records(st, before.tls_seqno, after.tls_seqno, TLS_RLTYPE_APP,
	    comparable ? &gop : NULL, space, &before, error);
	sbstat(st, &after);
}

static void
set_limit(struct state *st, size_t limit)
{

	st->wlimit = limit;
	tcp_output_kick(st->so);
}

static int
enable(struct state *st, const uint8_t *ck, const uint8_t *iv,
    const uint8_t *ak)
{
	const struct test_suite *s = st->suite;
	struct tls_enable en;

	memset(&en, 0, sizeof(en));
	en.cipher_key = ck;
	en.cipher_key_len = s->cipher_key_len;
	en.iv = s->iv_len ? iv : NULL;
	en.iv_len = s->iv_len;
	en.auth_key = s->auth_key_len ? ak : NULL;
	en.auth_key_len = s->auth_key_len;
	en.auth_algorithm = s->auth_algorithm;
	en.cipher_algorithm = s->cipher_algorithm;
	en.tls_vmajor = TLS_MAJOR_VER_ONE;
	en.tls_vminor = s->tls_vminor;
	for (int i = 0; i < 8; i++)
		en.rec_seq[i] = (uint8_t)(st->seq0 >> (56 - 8 * i));
	return (ksim_setsockopt(st->so, IPPROTO_TCP, TCP_TXTLS_ENABLE, &en,
	    sizeof(en)));
}

/*
 * Decrypt the whole wire (read it, in a null cipher build) and compare
 * with everything expected.
 */
static void
check_wire(struct state *st, const uint8_t *ck, const uint8_t *iv,
    const uint8_t *ak)
{
	struct oracle_record rec;
	struct oracle *o;
	size_t off, poff, k;
	int error;

	if (ktls_sim_null_cipher)
		o = oracle_new_null(st->suite, ck, iv, ak, st->seq0,
		    KTLS_NULL_TAG_BYTE);
	else
		o = oracle_new(st->suite, ck, iv, ak, st->seq0);
	FUZZ_CHECK(o != NULL);
	off = poff = 0;
	for (k = 0; off < st->wlen; k++) {
		error = oracle_next(o, st->wbuf + off, st->wlen - off, &rec);
		if (error == ORACLE_INCOMPLETE && st->dropped)
			break;
		if (error != 0)
			FUZZ_FAIL("record %zu at wire offset %zu: oracle: %s",
			    k, off, oracle_error(o));
		if (k >= st->nrecs)
			FUZZ_FAIL("record %zu beyond the %zu appended", k,
			    st->nrecs);
		if (rec.seqno != st->seq0 + k)
			FUZZ_FAIL("record %zu: seqno", k);
		if (rec.inner_type != st->recs[k].type)
			FUZZ_FAIL("record %zu (op %d): type %u, want %u", k,
			    st->recs[k].op, rec.inner_type, st->recs[k].type);
		if (poff + rec.plen > st->explen ||
		    (rec.plen > 0 &&
			memcmp(rec.plain, st->exp + poff, rec.plen) != 0))
			FUZZ_FAIL("record %zu (op %d): plaintext differs at "
				  "stream offset %zu",
			    k, st->recs[k].op, poff);
		if (st->recs[k].have_golden) {
			const struct golden_record *g = &st->recs[k].g;

			if (g->plen != rec.plen || g->reclen != rec.reclen ||
			    g->inner_type != rec.inner_type ||
			    g->outer_type != rec.type ||
			    g->seqno != rec.seqno ||
			    memcmp(g->hdr, st->wbuf + off, 5) != 0)
				FUZZ_FAIL("record %zu (op %d): plen %zu "
					  "reclen %zu, golden plen %zu "
					  "reclen %zu",
				    k, st->recs[k].op, rec.plen, rec.reclen,
				    g->plen, g->reclen);
		}
		off += rec.reclen;
		poff += rec.plen;
	}
	if (!st->dropped) {
		if (k != st->nrecs)
			FUZZ_FAIL("%zu records on the wire, %zu appended", k,
			    st->nrecs);
		if (poff != st->explen)
			FUZZ_FAIL("%zu bytes decrypted, %zu accepted", poff,
			    st->explen);
	}
	oracle_free(o);
}

/* Buffers from one input to the next (LLVMFuzzerTestOneInput()). */
static struct state keep;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input fi;
	struct state st;
	struct ksim_sbstat sb;
	uint8_t ck[32], iv[16], ak[48], flags, iodelay;
	uint64_t seed;
	uint32_t hiwat;
	uint16_t lowat;
	struct disk_profile saved_disk;
	bool saved_async;

	files_init();
	fi_init(&fi, data, size);
	memset(&st, 0, sizeof(st));
	st.suite = &test_suites[fi_u8(&fi) % test_nsuites];
	flags = fi_u8(&fi);
	st.seq0 = fi_u64(&fi);
	seed = fi_u64(&fi);
	hiwat = 1024 + fi_u16(&fi) * 4u;
	lowat = fi_u16(&fi);
	iodelay = fi_u8(&fi);
	fi_bytes(&fi, ck, sizeof(ck));
	fi_bytes(&fi, iv, sizeof(iv));
	fi_bytes(&fi, ak, sizeof(ak));
	st.wlimit = SIZE_MAX;
	/*
	 * The wire, expected-stream and record buffers of the last input,
	 * grown as needed and kept: reallocating them from nothing for every
	 * input cost a tenth of the replay in copies and page faults.
	 */
	st.wbuf = keep.wbuf;
	st.wcap = keep.wcap;
	st.exp = keep.exp;
	st.expcap = keep.expcap;
	st.recs = keep.recs;
	st.reccap = keep.reccap;

	saved_async = ktls_sim_async;
	saved_disk = disk_profile;
	ktls_sim_async = flags & 0x01;
	if (flags & 0x20)
		disk_profile.dp_cache_pages = 0;
	if (flags & 0x40)
		disk_profile.dp_latency_ns = (uint64_t)iodelay * 1000;
	if (flags & 0x80) {
		/* Disk reads overtake each other (models/disk/disk.h). */
		disk_profile.dp_jitter_ns = (uint64_t)iodelay * 1000;
		disk_profile.dp_reorder_pct = 50;
		disk_profile.dp_reorder_ns = ((uint64_t)iodelay + 1) * 4000;
	}
	disk_cache_flush();

	st.pl = sim_det_create(seed, (flags & 0x04) ? 2 : 1);
	if (flags & 0x08)
		sim_det_set_policy(st.pl, SIM_DET_FIFO);
	sim_det_set_step_cap(st.pl, 10000000);
	platform_set(st.pl);
	FUZZ_CHECK(ktls_init() == 0);

	FUZZ_CHECK(ksim_socket(SOCK_STREAM, &st.so) == 0);
	{
		struct tcp_wire tw = { wire_output, wire_fin, &st };

		FUZZ_CHECK(ksim_connect(st.so, &tw, (uint32_t)seed) == 0);
	}
	if (flags & 0x10)
		ksim_set_sndbuf(st.so, hiwat, lowat % (hiwat + 1));
	st.nbio = flags & 0x02;
	ksim_set_nbio(st.so, st.nbio);
	FUZZ_CHECK(enable(&st, ck, iv, ak) == 0);

	for (st.nops = 0; st.nops < MAX_OPS && fi.left > 0; st.nops++) {
		uint8_t op = fi_u8(&fi);
		size_t len;

		switch (op % 13) {
		case 0: /* write */
			len = fi_u16(&fi);
			if (st.explen < MAX_STREAM)
				op_send(&st, false, 0, len);
			break;
		case 1: /* small write */
			len = fi_u8(&fi);
			op_send(&st, false, 0, len);
			break;
		case 2: { /* control record */
			uint8_t type = fi_u8(&fi);

			len = fi_u16(&fi);
			/* TLS 1.3 inner type 0 would read as padding. */
			if (type == 0 &&
			    st.suite->tls_vminor == TLS_MINOR_VER_THREE)
				type = TLS_RLTYPE_HANDSHAKE;
			if (st.explen < MAX_STREAM)
				op_send(&st, true, type, len);
			break;
		}
		case 3: { /* sendfile */
			size_t fidx = fi_u8(&fi) % NFILES;
			size_t fs = file_sizes[fidx];
			off_t off = (off_t)(fi_u32(&fi) % (fs + 8193));
			size_t nb = fi_u32(&fi) % (fs + 8193);
			size_t hl = fi_u16(&fi) % 4097;

			if (st.explen < MAX_STREAM)
				op_sendfile(&st, fidx, off, nb, hl);
			break;
		}
		case 4: /* limit the wire */
			set_limit(&st, st.wlen + (size_t)fi_u16(&fi) * 8);
			break;
		case 5: /* drain the wire */
			set_limit(&st, SIZE_MAX);
			break;
		case 6: { /* scheduler steps */
			int n = fi_u8(&fi);

			for (int i = 0; i < n; i++)
				if (!sim_det_step(st.pl))
					break;
			break;
		}
		case 7:
			sim_det_run(st.pl);
			break;
		case 8: /* shutdown(SHUT_WR) */
			if (!st.dropped) {
				st.shut = true;
				FUZZ_CHECK(ksim_shutdown(st.so) == 0);
			}
			break;
		case 9: { /* SO_SNDBUF / SO_SNDLOWAT */
			u_int hw = 1024 + fi_u16(&fi) * 4u;
			u_int lw = fi_u16(&fi) % (hw + 1);

			ksim_set_sndbuf(st.so, hw, lw);
			break;
		}
		case 10:
			st.nbio = !st.nbio;
			ksim_set_nbio(st.so, st.nbio);
			break;
		case 11: /* the peer resets */
			if (fi_u8(&fi) == 0x5a && !st.dropped) {
				st.dropped = true;
				ksim_drop(st.so, ECONNRESET);
			}
			break;
		default:
			sbstat(&st, &sb);
			break;
		}
		sbstat(&st, &sb);
	}

	/* Drain everything, shut down, and check the FIN. */
	set_limit(&st, SIZE_MAX);
	sim_det_run(st.pl);
	if (!st.dropped) {
		if (!st.shut) {
			st.shut = true;
			FUZZ_CHECK(ksim_shutdown(st.so) == 0);
		}
		tcp_output_kick(st.so);
		sim_det_run(st.pl);
		sbstat(&st, &sb);
		if (sb.ccc != 0 || sb.nnotready != 0 || !sb.fin_sent || !st.fin)
			FUZZ_FAIL("after drain: ccc %u notready %d fin %d/%d",
			    sb.ccc, sb.nnotready, sb.fin_sent, st.fin);
	}
	check_wire(&st, ck, iv, ak);
	if (getenv("FUZZ_OPS_VERBOSE") != NULL) {
		size_t ng = 0;

		for (size_t i = 0; i < st.nrecs; i++)
			ng += st.recs[i].have_golden;
		fprintf(stderr,
		    "fuzz_ops: %s, %d ops, %zu records (%zu checked against "
		    "golden), %zu bytes%s%s\n",
		    st.suite->name, st.nops, st.nrecs, ng, st.explen,
		    st.shut ? ", shut down" : "",
		    st.dropped ? ", dropped" : "");
	}

	ksim_close(st.so);
	sim_det_run(st.pl);
	ktls_uninit();
	sim_det_destroy(st.pl);
	platform_set(NULL);
	ktls_sim_async = saved_async;
	disk_profile = saved_disk;
	keep.wbuf = st.wbuf;
	keep.wcap = st.wcap;
	keep.exp = st.exp;
	keep.expcap = st.expcap;
	keep.recs = st.recs;
	keep.reccap = st.reccap;
	return (0);
}
