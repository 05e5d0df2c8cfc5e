/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Tests of the NIC TLS engine (models/nic, docs/nic-engine.md).  A test
 * stream is a run of random records framed the way ktls_frame()
 * (sys/kern/uipc_ktls.c) leaves them for a NIC: header with the explicit
 * nonce or IV filled in, plaintext payload, trailer placeholder (the TLS
 * 1.3 real type in its first byte, garbage elsewhere).  The expected wire
 * bytes come from tests/lib's reference encryptor, the received stream is
 * decrypted by tests/lib's oracle; nothing here uses the engine's crypto.
 * Every byte a transmit puts on the wire must equal the reference
 * ciphertext at the same stream offset, and no payload byte may leave as
 * plaintext.  The DMA the engine reports is checked against each
 * driver's rule (mlx5: the record prefix, or the gap within a record;
 * T6: the record from its start for windows with the trailer, the
 * aligned counter block for GCM windows without it; none in order).
 * Failures print the case (profile, suite, seed) to rerun.
 */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hexutil.h"
#include "nic.h"
#include "oracle.h"
#include "refenc.h"
#include "suites.h"

#define MSS 1448
#define MAXREC (21 + 16384 + 64)

/* Seeded cases run, for the summary line. */
static unsigned int ncases;

/* One record as the host holds it. */
struct hrec {
	struct nic_record r;
	uint8_t hdr[32];
	uint8_t trail[64];
	uint8_t *payload;
	uint32_t plen;
	size_t start; /* stream offset of the header's first byte */
};

/* A stream of records, the bytes the wire must carry, and what arrived. */
struct strm {
	const struct test_suite *s;
	enum nic_profile prof;
	uint64_t seed;
	uint8_t key[32], iv[16], auth[48];
	struct tls_session_params params;
	uint32_t isn; /* TCP sequence of the first byte */
	uint64_t recno0;
	struct hrec *recs;
	unsigned int nrecs;
	size_t total;
	uint8_t *wire;	 /* the reference ciphertext */
	uint8_t *plain;	 /* the host's bytes */
	uint8_t *secret; /* payload and TLS 1.3 inner type bytes */
	uint8_t *rx;
	uint8_t *have;
	bool use_read; /* hand the engine a nic_read_t */
	bool no_check; /* the caller checks the result itself */
	struct test_rng rng;
	char what[160];
};

enum sizes {
	SIZES_MIXED, /* tiny, medium and full records */
	SIZES_FULL,  /* full records */
	SIZES_SMALL  /* records of at most 200 bytes */
};

static uint32_t
rnd(struct strm *st, uint32_t n)
{

	return (n == 0 ? 0 : (uint32_t)(test_rng_u64(&st->rng) % n));
}

static size_t
trailer_len(const struct test_suite *s, uint32_t plen)
{

	if (is_cbc(s))
		/* ktls_frame(): MAC plus the minimal padding. */
		return (16 + (size_t)s->auth_key_len -
		    ((plen + (size_t)s->auth_key_len) % 16));
	return (is_tls13(s) ? 17 : 16);
}

static void
strm_build(struct strm *st, enum nic_profile prof, const struct test_suite *s,
    uint64_t seed, unsigned int nrecs, enum sizes sizes, uint32_t isn)
{
	uint8_t *out, nonce[8];
	uint64_t ctr;
	size_t hlen, xl, tl, len, i, j;
	struct hrec *h;
	uint8_t type;

	memset(st, 0, sizeof(*st));
	st->s = s;
	st->prof = prof;
	st->seed = seed;
	st->isn = isn;
	test_rng_seed(&st->rng, seed);
	snprintf(st->what, sizeof(st->what), "%s %s seed %" PRIu64,
	    nic_profile_name(prof), s->name, seed);
	test_rng_bytes(&st->rng, st->key, sizeof(st->key));
	test_rng_bytes(&st->rng, st->iv, sizeof(st->iv));
	test_rng_bytes(&st->rng, st->auth, sizeof(st->auth));
	st->recno0 = test_rng_u64(&st->rng) % 1000;
	st->params.cipher_key = st->key;
	st->params.cipher_key_len = (uint16_t)s->cipher_key_len;
	st->params.cipher_algorithm = s->cipher_algorithm;
	st->params.auth_algorithm = s->auth_algorithm;
	if (is_cbc(s)) {
		st->params.auth_key = st->auth;
		st->params.auth_key_len = (uint16_t)s->auth_key_len;
	}
	memcpy(st->params.iv, st->iv, (size_t)s->iv_len);
	st->params.iv_len = (uint16_t)s->iv_len;
	st->params.tls_vmajor = TLS_MAJOR_VER_ONE;
	st->params.tls_vminor = (uint8_t)s->tls_vminor;

	xl = refenc_explicit_len(s);
	hlen = 5 + xl;
	st->nrecs = nrecs;
	st->recs = calloc(nrecs, sizeof(*st->recs));
	assert_non_null(st->recs);
	/* FreeBSD's explicit nonce is a counter from a random start. */
	ctr = test_rng_u64(&st->rng);
	st->total = 0;
	for (i = 0; i < nrecs; i++) {
		h = &st->recs[i];
		switch (sizes) {
		case SIZES_FULL:
			h->plen = 16384;
			break;
		case SIZES_SMALL:
			h->plen = 1 + rnd(st, 200);
			break;
		default:
			j = rnd(st, 10);
			if (j < 3)
				h->plen = 1 + rnd(st, 64);
			else if (j < 6)
				h->plen = 1 + rnd(st, 4000);
			else
				h->plen = 16384 - rnd(st, 2) * rnd(st, 300);
			break;
		}
		tl = trailer_len(s, h->plen);
		len = hlen + h->plen + tl;
		h->start = st->total;
		st->total += len;
		h->payload = malloc(h->plen);
		assert_non_null(h->payload);
		test_rng_bytes(&st->rng, h->payload, h->plen);
		type = rnd(st, 8) == 0 ? TLS_RLTYPE_HANDSHAKE : TLS_RLTYPE_APP;
		h->hdr[0] = is_tls13(s) ? TLS_RLTYPE_APP : type;
		h->hdr[1] = TLS_MAJOR_VER_ONE;
		h->hdr[2] =
		    is_tls13(s) ? TLS_MINOR_VER_TWO : (uint8_t)s->tls_vminor;
		h->hdr[3] = (uint8_t)((len - 5) >> 8);
		h->hdr[4] = (uint8_t)(len - 5);
		if (xl == 8) {
			for (j = 0; j < 8; j++)
				nonce[j] = (uint8_t)((ctr + i) >> (56 - 8 * j));
			memcpy(h->hdr + 5, nonce, 8);
		} else if (xl == 16) {
			test_rng_bytes(&st->rng, h->hdr + 5, 16);
		}
		/* Whatever the host left; only TLS 1.3's first byte counts. */
		test_rng_bytes(&st->rng, h->trail, sizeof(h->trail));
		if (is_tls13(s))
			h->trail[0] = type;
		h->r.len = (uint32_t)len;
		h->r.recno = st->recno0 + i;
		h->r.hdrlen = (uint16_t)hlen;
		h->r.trllen = (uint16_t)tl;
		h->r.hdr = h->hdr;
		h->r.payload = h->payload;
		h->r.trail = h->trail;
		h->r.cookie = st;
	}
	st->wire = malloc(st->total);
	st->plain = malloc(st->total);
	st->secret = calloc(1, st->total);
	st->rx = calloc(1, st->total);
	st->have = calloc(1, st->total);
	out = malloc(MAXREC + 256);
	assert_true(st->wire != NULL && st->plain != NULL &&
	    st->secret != NULL && st->rx != NULL && st->have != NULL &&
	    out != NULL);
	for (i = 0; i < nrecs; i++) {
		h = &st->recs[i];
		h->r.seq = st->isn + (uint32_t)h->start;
		type = is_tls13(s) ? h->trail[0] : h->hdr[0];
		len = refenc_record(s, st->key, st->iv, st->auth, NULL,
		    h->r.recno, type, h->payload, h->plen, h->hdr + 5, NULL,
		    out);
		assert_int_equal(len, h->r.len);
		/* The host's header is the wire's header. */
		assert_memory_equal(out, h->hdr, hlen);
		memcpy(st->wire + h->start, out, len);
		memcpy(st->plain + h->start, h->hdr, hlen);
		memcpy(st->plain + h->start + hlen, h->payload, h->plen);
		memcpy(st->plain + h->start + hlen + h->plen, h->trail,
		    len - hlen - h->plen);
		memset(st->secret + h->start + hlen, 1,
		    h->plen + (is_tls13(s) ? 1 : 0));
	}
	free(out);
}

static void
strm_free(struct strm *st)
{
	unsigned int i;

	for (i = 0; i < st->nrecs; i++)
		free(st->recs[i].payload);
	free(st->recs);
	free(st->wire);
	free(st->plain);
	free(st->secret);
	free(st->rx);
	free(st->have);
}

/* The record holding stream offset off. */
static unsigned int
rec_at(const struct strm *st, size_t off)
{
	unsigned int lo, hi, mid;

	lo = 0;
	hi = st->nrecs;
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (st->recs[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return (lo);
}

static int
strm_read(void *arg, const struct nic_record *rec, uint32_t off, void *dst,
    uint32_t len)
{
	struct strm *st = arg;

	if (off + len > rec->len || rec->seq - st->isn + off + len > st->total)
		return (EINVAL);
	memcpy(dst, st->plain + (rec->seq - st->isn) + off, len);
	return (0);
}

/*
 * Secret bytes sent as the host holds them: runs of at least four, so
 * that a wrong keystream's chance matches (1 in 256 a byte) do not count
 * and show as wrong bytes instead.
 */
static size_t
plain_leaks(const struct strm *st, size_t rel, const uint8_t *data, size_t len)
{
	size_t i, n, run;

	n = run = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && st->secret[rel + i] &&
		    data[i] == st->plain[rel + i] &&
		    st->wire[rel + i] != st->plain[rel + i]) {
			run++;
			continue;
		}
		if (run >= 4)
			n += run;
		run = 0;
	}
	return (n);
}

static void
check_wire(struct strm *st, const struct nic_txres *res)
{
	const struct nic_wire_seg *w;
	unsigned int i, r;
	size_t rel, j;

	for (i = 0; i < res->nsegs; i++) {
		w = &res->segs[i];
		rel = w->seq - st->isn;
		if (rel >= st->total || w->len > st->total - rel)
			fail_msg("%s: wire segment %zu+%u outside the stream",
			    st->what, rel, w->len);
		if (plain_leaks(st, rel, w->data, w->len) != 0)
			fail_msg("%s: %zu plaintext bytes in segment at %zu",
			    st->what, plain_leaks(st, rel, w->data, w->len),
			    rel);
		if (memcmp(w->data, st->wire + rel, w->len) != 0) {
			for (j = 0; w->data[j] == st->wire[rel + j]; j++)
				;
			r = rec_at(st, rel + j);
			fail_msg("%s: wrong byte at stream %zu (record %u "
				 "offset %zu of %u) in segment %zu+%u",
			    st->what, rel + j, r, rel + j - st->recs[r].start,
			    st->recs[r].r.len, rel, w->len);
		}
		memcpy(st->rx + rel, w->data, w->len);
		memset(st->have + rel, 1, w->len);
	}
}

/* Build the request for stream bytes [off, off + len) and transmit it. */
static int
strm_send(struct strm *st, struct nic *nic, struct nic_tag *tag, size_t off,
    uint32_t len, uint32_t mss, struct nic_txres *res)
{
	struct nic_record recs[64];
	struct nic_txreq req;
	unsigned int a, b, i;
	int error;

	assert_true(len > 0 && off + len <= st->total);
	a = rec_at(st, off);
	b = rec_at(st, off + len - 1);
	assert_true(b - a < 64);
	for (i = a; i <= b; i++)
		recs[i - a] = st->recs[i].r;
	memset(&req, 0, sizeof(req));
	req.seq = st->isn + (uint32_t)off;
	req.len = len;
	req.mss = mss;
	req.recs = recs;
	req.nrecs = b - a + 1;
	if (st->use_read) {
		req.read = strm_read;
		req.read_arg = st;
	}
	error = nic_transmit(nic, tag, &req, res);
	if (error == 0 && !st->no_check)
		check_wire(st, res);
	return (error);
}

/* Everything arrived and decrypts to the payloads, by the oracle. */
static void
check_delivered(struct strm *st)
{
	struct oracle *o;
	uint8_t *plain;
	size_t plen, n, i, pos;

	for (i = 0; i < st->total; i++)
		if (!st->have[i])
			fail_msg("%s: stream byte %zu never sent", st->what, i);
	o = oracle_new(st->s, st->key, st->iv, st->auth, st->recno0);
	assert_non_null(o);
	if (oracle_stream(o, st->rx, st->total, &plain, &plen, &n, NULL,
		NULL) != 0)
		fail_msg("%s: oracle: %s", st->what, oracle_error(o));
	assert_int_equal(n, st->nrecs);
	pos = 0;
	for (i = 0; i < st->nrecs; i++) {
		assert_true(pos + st->recs[i].plen <= plen);
		assert_memory_equal(plain + pos, st->recs[i].payload,
		    st->recs[i].plen);
		pos += st->recs[i].plen;
	}
	assert_int_equal(pos, plen);
	free(plain);
	oracle_free(o);
}

static struct nic *
new_nic(enum nic_profile prof)
{
	struct nic_config cfg;
	struct nic *nic;

	memset(&cfg, 0, sizeof(cfg));
	cfg.profile = prof;
	nic = nic_create(&cfg);
	assert_non_null(nic);
	return (nic);
}

static struct nic_tag *
new_tag(struct strm *st, struct nic *nic)
{
	struct nic_tag *tag;

	assert_int_equal(nic_tag_alloc(nic, &st->params, st->isn, st->recno0,
			     &tag),
	    0);
	return (tag);
}

static void
free_nic(struct nic *nic, struct nic_tag *tag)
{
	const struct nic_counters *c = nic_counters(nic);

	if (tag != NULL)
		nic_tag_rele(tag);
	assert_int_equal(c->tag_allocs, c->tag_frees);
	assert_int_equal(nic_destroy(nic), 0);
}

/* The suites the profile's driver takes, from the whole test matrix. */
static bool
supported(enum nic_profile prof, const struct test_suite *s)
{
	struct tls_session_params p;

	memset(&p, 0, sizeof(p));
	p.cipher_algorithm = s->cipher_algorithm;
	p.cipher_key_len = (uint16_t)s->cipher_key_len;
	p.auth_algorithm = s->auth_algorithm;
	p.auth_key_len = (uint16_t)s->auth_key_len;
	p.iv_len = (uint16_t)s->iv_len;
	p.tls_vmajor = TLS_MAJOR_VER_ONE;
	p.tls_vminor = (uint8_t)s->tls_vminor;
	return (nic_profile_check(prof, &p) == 0);
}

/* Segment cut points: MSS multiples, or ones inside headers and tags. */
struct segs {
	size_t *off;
	uint32_t *len;
	unsigned int n;
};

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x < y ? -1 : x > y);
}

static void
segs_make(struct strm *st, bool hostile, struct segs *sg)
{
	size_t *cut, ncut, cap, i, o, s, e;
	const struct hrec *h;

	cap = st->total / 100 + 16 * st->nrecs + 16;
	cut = malloc(cap * sizeof(*cut));
	assert_non_null(cut);
	ncut = 0;
	if (hostile) {
		/*
		 * Inside the header, the explicit nonce/IV, the first and
		 * last cipher blocks, the TLS 1.3 type byte and the tag.
		 */
		for (i = 0; i < st->nrecs; i++) {
			h = &st->recs[i];
			s = h->start;
			e = h->start + h->r.len;
			size_t c[] = { s + 3, s + h->r.hdrlen - 2,
				s + h->r.hdrlen + 7, e - h->r.trllen - 5,
				e - h->r.trllen + 1, e - 9, e - 1 };
			for (o = 0; o < sizeof(c) / sizeof(c[0]); o++)
				if (c[o] > s && c[o] < e)
					cut[ncut++] = c[o];
		}
	}
	for (o = MSS; o < st->total; o += MSS) {
		if (ncut == cap)
			break;
		cut[ncut++] = o;
	}
	cut[ncut++] = st->total;
	qsort(cut, ncut, sizeof(*cut), cmp_size);
	sg->off = malloc(ncut * sizeof(*sg->off));
	sg->len = malloc(ncut * sizeof(*sg->len));
	assert_true(sg->off != NULL && sg->len != NULL);
	sg->n = 0;
	for (i = 0, o = 0; i < ncut; i++) {
		if (cut[i] <= o)
			continue;
		sg->off[sg->n] = o;
		sg->len[sg->n] = (uint32_t)(cut[i] - o);
		sg->n++;
		o = cut[i];
	}
	free(cut);
}

static void
segs_free(struct segs *sg)
{

	free(sg->off);
	free(sg->len);
}

/*
 * The driver-side rules the tests check resync DMA against.  mlx5
 * (sbtls_recover_record()): nothing in order or at a record start; the
 * gap when the device stopped earlier in the same record; else the prefix
 * from the record start.
 */
static uint32_t
mlx5_rule(const struct strm *st, uint32_t expected, size_t off)
{
	const struct hrec *h = &st->recs[rec_at(st, off)];
	uint32_t seq = st->isn + (uint32_t)off, s, delta;

	if (expected == seq)
		return (0);
	s = (uint32_t)(off - h->start);
	delta = seq - expected;
	return (delta < s ? delta : s);
}

/*
 * T6 (ktls_tcp_payload_length(), ktls_payload_offset()): bytes DMA'd
 * before the requested start of the window [woff, wend) of h.
 */
static uint32_t
t6_rule(const struct strm *st, const struct hrec *h, uint32_t woff,
    uint32_t wend)
{
	uint32_t R = h->r.len, H = h->r.hdrlen, pe = R - h->r.trllen;
	uint32_t tlen, from, to, poff;

	if (wend == R) {
		tlen = R;
	} else {
		tlen = wend < pe ? wend : pe;
		if (is_cbc(st->s) && tlen > 5)
			tlen = 5 + (tlen - 5) / 16 * 16;
	}
	if (tlen <= H)
		return (0);
	from = H;
	to = tlen == R ? pe : tlen;
	if (tlen < pe && !is_cbc(st->s) && woff > H) {
		poff = woff - H < pe - H - 1 ? woff - H : pe - H - 1;
		from = H + poff / 16 * 16;
	}
	return (woff > from ? (woff < to ? woff : to) - from : 0);
}

static uint32_t
t6_rule_req(const struct strm *st, size_t off, uint32_t len)
{
	unsigned int a = rec_at(st, off);
	const struct hrec *h = &st->recs[a];
	uint32_t woff = (uint32_t)(off - h->start);
	uint32_t wend = off + len - h->start < h->r.len ?
	    (uint32_t)(off + len - h->start) :
	    h->r.len;

	/* Later windows start at their record start: nothing before. */
	return (t6_rule(st, h, woff, wend));
}

/* Bytes the host encrypts for a fallback: every window from its start. */
static uint64_t
fallback_rule(const struct strm *st, size_t off, uint32_t len)
{
	const struct hrec *h = &st->recs[rec_at(st, off)];

	return (off - h->start + len);
}

/*
 * Send every byte not yet delivered, a first-missing-byte MSS at a time,
 * as TCP would after the T6 card trimmed a request.
 */
static void
fill_gaps(struct strm *st, struct nic *nic, struct nic_tag *tag)
{
	struct nic_txres res;
	size_t off, guard;
	uint32_t len;

	off = 0;
	for (guard = 0; guard < 4 * st->total / 16 + 1000; guard++) {
		while (off < st->total && st->have[off])
			off++;
		if (off == st->total)
			return;
		len = st->total - off < MSS ? (uint32_t)(st->total - off) : MSS;
		assert_int_equal(strm_send(st, nic, tag, off, len, MSS, &res),
		    0);
		if (!st->have[off])
			fail_msg("%s: a request at %zu sent nothing of it",
			    st->what, off);
	}
	fail_msg("%s: no progress filling the stream", st->what);
}

/* The per-call delta of a counter. */
#define DELTA(c, before, f) ((c)->f - (before).f)

/*
 * In order, MSS segments: mlx5 and Linux-style devices stream with no
 * resync and no host touch; T6 keeps no state and re-reads what its rules
 * say, and trims as documented, and TCP fills the gaps.
 */
static void
run_inorder(enum nic_profile prof, const struct test_suite *s, uint64_t seed,
    enum sizes sizes, bool hostile, uint32_t isn)
{
	struct nic_counters before;
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct segs sg;
	struct strm st;
	uint64_t want;
	unsigned int i;

	ncases++;
	strm_build(&st, prof, s, seed, sizes == SIZES_SMALL ? 40 : 8, sizes,
	    isn);
	st.use_read = (seed & 1) != 0;
	segs_make(&st, hostile, &sg);
	nic = new_nic(prof);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);
	want = 0;
	for (i = 0; i < sg.n; i++) {
		before = *c;
		assert_int_equal(strm_send(&st, nic, tag, sg.off[i], sg.len[i],
				     0, &res),
		    0);
		if (prof == NIC_PROFILE_T6) {
			if (DELTA(c, before, dma_bytes_resync) !=
			    t6_rule_req(&st, sg.off[i], sg.len[i]))
				fail_msg(
				    "%s: segment %u at %zu: resync %" PRIu64
				    " want %u",
				    st.what, i, sg.off[i],
				    DELTA(c, before, dma_bytes_resync),
				    t6_rule_req(&st, sg.off[i], sg.len[i]));
		}
		want += sg.len[i];
	}
	if (prof == NIC_PROFILE_T6) {
		fill_gaps(&st, nic, tag);
	} else {
		assert_int_equal(c->dma_bytes_resync, 0);
		assert_int_equal(c->dma_bytes_retx_payload, 0);
		assert_int_equal(c->dma_bytes_inorder, want);
		assert_int_equal(c->wire_bytes_payload, want);
		assert_int_equal(c->host_cpu_touched_payload_bytes, 0);
		assert_int_equal(c->host_cpu_crypto_bytes, 0);
		assert_int_equal(c->fallback_packets, 0);
		assert_int_equal(c->dump_entries, 0);
		/* mlx5 posts the parameters once, at the first packet. */
		assert_int_equal(c->tx_ooo, prof == NIC_PROFILE_MLX5 ? 1 : 0);
	}
	assert_int_equal(c->hw_state_errors, 0);
	assert_int_equal(c->untagged_tls_bytes, 0);
	check_delivered(&st);
	segs_free(&sg);
	free_nic(nic, tag);
	strm_free(&st);
}

/*
 * T6 in whole-record bursts (one TSO request per few records, starting at
 * a record): nothing re-read, nothing trimmed, nothing sent twice; TP
 * cuts each record into MSS packets from its start.
 */
static void
run_t6_bursts(const struct test_suite *s, uint64_t seed)
{
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;
	unsigned int i, j, k;
	size_t end;

	ncases++;
	strm_build(&st, NIC_PROFILE_T6, s, seed, 9, SIZES_MIXED, 77777);
	nic = new_nic(NIC_PROFILE_T6);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);
	for (i = 0; i < st.nrecs; i += k) {
		k = 1 + rnd(&st, 3);
		if (i + k > st.nrecs)
			k = st.nrecs - i;
		end = st.recs[i + k - 1].start + st.recs[i + k - 1].r.len;
		assert_int_equal(strm_send(&st, nic, tag, st.recs[i].start,
				     (uint32_t)(end - st.recs[i].start), MSS,
				     &res),
		    0);
		for (j = 0; j < res.nsegs; j++)
			assert_true(res.segs[j].len <= MSS);
	}
	assert_int_equal(c->dma_bytes_resync, 0);
	assert_int_equal(c->wire_bytes_trimmed, 0);
	assert_int_equal(c->wire_bytes_redundant, 0);
	assert_int_equal(c->host_cpu_touched_payload_bytes, 0);
	assert_int_equal(c->t6_full, st.nrecs);
	assert_int_equal(c->wire_bytes_payload, st.total);
	check_delivered(&st);
	free_nic(nic, tag);
	strm_free(&st);
}

/* A fresh NIC and tag for another run over the same stream. */
static void
run_begin(struct strm *st, struct nic **nicp, struct nic_tag **tagp)
{

	ncases++;
	memset(st->have, 0, st->total);
	*nicp = new_nic(st->prof);
	*tagp = new_tag(st, *nicp);
}

/* TCP fills what T6 trimmed; then all must have arrived, and decrypt. */
static void
run_end(struct strm *st, struct nic *nic, struct nic_tag *tag)
{

	if (st->prof == NIC_PROFILE_T6)
		fill_gaps(st, nic, tag);
	assert_int_equal(nic_counters(nic)->hw_state_errors, 0);
	check_delivered(st);
	free_nic(nic, tag);
}

/*
 * Loss of segment `lost`: TCP sends `ahead` more segments, retransmits it
 * `repeat` times, then goes on with new data.  Checks each step's bytes
 * and resync cost against the profile's rule.
 */
static void
run_loss(struct strm *st, struct segs *sg, unsigned int lost,
    unsigned int ahead, unsigned int repeat)
{
	struct nic_counters before;
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	uint32_t expected, want;
	unsigned int i, r, last;

	run_begin(st, &nic, &tag);
	c = nic_counters(nic);
	last = lost + ahead < sg->n - 1 ? lost + ahead : sg->n - 1;
	for (i = 0; i <= last; i++)
		assert_int_equal(strm_send(st, nic, tag, sg->off[i], sg->len[i],
				     0, &res),
		    0);
	expected = st->isn + (uint32_t)(sg->off[last] + sg->len[last]);
	for (r = 0; r < repeat; r++) {
		before = *c;
		assert_int_equal(strm_send(st, nic, tag, sg->off[lost],
				     sg->len[lost], 0, &res),
		    0);
		switch (st->prof) {
		case NIC_PROFILE_MLX5:
			want = mlx5_rule(st, expected, sg->off[lost]);
			/* Going back: the whole prefix, whatever came before.
			 */
			assert_int_equal(want,
			    sg->off[lost] -
				st->recs[rec_at(st, sg->off[lost])].start);
			break;
		case NIC_PROFILE_T6:
			want = t6_rule_req(st, sg->off[lost], sg->len[lost]);
			break;
		default:
			/* Behind the device: software, device untouched. */
			want = 0;
			assert_true(res.fallback);
			assert_int_equal(DELTA(c, before,
					     host_cpu_crypto_bytes),
			    fallback_rule(st, sg->off[lost], sg->len[lost]));
			break;
		}
		if (DELTA(c, before, dma_bytes_resync) != want)
			fail_msg("%s: retransmit %u (try %u): resync %" PRIu64
				 " want %u",
			    st->what, lost, r,
			    DELTA(c, before, dma_bytes_resync), want);
		/* mlx5 and Linux read exactly the retransmitted bytes. */
		if (st->prof != NIC_PROFILE_T6)
			assert_int_equal(DELTA(c, before,
					     dma_bytes_retx_payload),
			    sg->len[lost]);
		expected = st->isn + (uint32_t)(sg->off[lost] + sg->len[lost]);
	}
	for (i = last + 1; i < sg->n; i++) {
		before = *c;
		assert_int_equal(strm_send(st, nic, tag, sg->off[i], sg->len[i],
				     0, &res),
		    0);
		if (st->prof == NIC_PROFILE_MLX5) {
			/* The second resync, where new data resumes. */
			want = mlx5_rule(st, expected, sg->off[i]);
			if (DELTA(c, before, dma_bytes_resync) != want)
				fail_msg("%s: resume at %u after loss of %u: "
					 "resync %" PRIu64 " want %u",
				    st->what, i, lost,
				    DELTA(c, before, dma_bytes_resync), want);
		} else if (st->prof == NIC_PROFILE_LINUX) {
			/* The device went on where it was: no cost. */
			assert_false(res.fallback);
			assert_int_equal(DELTA(c, before,
					     host_cpu_crypto_bytes),
			    0);
		}
		expected = st->isn + (uint32_t)(sg->off[i] + sg->len[i]);
	}
	run_end(st, nic, tag);
}

/*
 * A forward jump: segment `skip` never reaches the NIC (dropped in the
 * stack), the next ones do, and it follows later.
 */
static void
run_jump(struct strm *st, struct segs *sg, unsigned int skip)
{
	struct nic_counters before;
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	uint32_t expected, want;
	unsigned int i;

	run_begin(st, &nic, &tag);
	c = nic_counters(nic);
	expected = 0;
	for (i = 0; i < sg->n; i++) {
		if (i == skip)
			continue;
		before = *c;
		assert_int_equal(strm_send(st, nic, tag, sg->off[i], sg->len[i],
				     0, &res),
		    0);
		if (st->prof == NIC_PROFILE_MLX5 && i == skip + 1) {
			/* Forward: the gap when still in the same record. */
			want = mlx5_rule(st, expected, sg->off[i]);
			if (DELTA(c, before, dma_bytes_resync) != want)
				fail_msg("%s: jump over %u: resync %" PRIu64
					 " want %u",
				    st->what, skip,
				    DELTA(c, before, dma_bytes_resync), want);
			if (rec_at(st, sg->off[skip]) ==
				rec_at(st, sg->off[i]) &&
			    sg->off[skip] !=
				st->recs[rec_at(st, sg->off[i])].start)
				assert_int_equal(want, sg->len[skip]);
		}
		if (st->prof == NIC_PROFILE_LINUX && i == skip + 1)
			assert_true(res.fallback);
		expected = st->isn + (uint32_t)(sg->off[i] + sg->len[i]);
	}
	before = *c;
	assert_int_equal(strm_send(st, nic, tag, sg->off[skip], sg->len[skip],
			     0, &res),
	    0);
	if (st->prof == NIC_PROFILE_MLX5)
		assert_int_equal(DELTA(c, before, dma_bytes_resync),
		    mlx5_rule(st, expected, sg->off[skip]));
	run_end(st, nic, tag);
}

/*
 * A random schedule: new segments, retransmissions of recent ones,
 * local drops sent later (out of order), TSO bursts; checks every byte
 * and, for mlx5 and T6, every resync cost.
 */
static void
run_random(enum nic_profile prof, const struct test_suite *s, uint64_t seed)
{
	struct nic_counters before;
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct segs sg;
	struct strm st;
	uint32_t expected, want, len, mss;
	unsigned int next, i, j, steps, *pend, npend;
	bool first;
	size_t off;

	ncases++;
	strm_build(&st, prof, s, seed, 2 + (unsigned int)(seed % 5),
	    seed % 3 == 0 ? SIZES_SMALL : SIZES_MIXED,
	    (uint32_t)(seed * 2654435761u));
	st.use_read = (seed & 2) != 0;
	segs_make(&st, (seed & 4) != 0, &sg);
	pend = malloc(sg.n * sizeof(*pend));
	assert_non_null(pend);
	nic = new_nic(prof);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);
	expected = 0;
	first = true;
	next = 0;
	npend = 0;
	for (steps = 0; next < sg.n || npend > 0; steps++) {
		assert_true(steps < 20 * sg.n + 100);
		j = rnd(&st, 100);
		mss = 0;
		if (j < 12 && next > 0) {
			/* Retransmit a recent segment. */
			i = next - 1 - rnd(&st, next < 8 ? next : 8);
			off = sg.off[i];
			len = sg.len[i];
		} else if (j < 20 && next < sg.n) {
			/* Dropped in the stack: sent later. */
			pend[npend++] = next++;
			continue;
		} else if (j < 30 && npend > 0) {
			i = pend[--npend];
			off = sg.off[i];
			len = sg.len[i];
		} else if (j < 36 && next + 1 < sg.n) {
			/* A TSO burst of up to four segments. */
			i = 2 + rnd(&st, 3);
			if (next + i > sg.n)
				i = sg.n - next;
			off = sg.off[next];
			len = (uint32_t)(sg.off[next + i - 1] +
			    sg.len[next + i - 1] - off);
			next += i;
			mss = MSS;
		} else if (next < sg.n) {
			off = sg.off[next];
			len = sg.len[next];
			next++;
		} else {
			i = pend[--npend];
			off = sg.off[i];
			len = sg.len[i];
		}
		before = *c;
		assert_int_equal(strm_send(&st, nic, tag, off, len, mss, &res),
		    0);
		if (mss != 0 && prof != NIC_PROFILE_T6)
			for (i = 0; i < res.nsegs; i++)
				assert_true(res.segs[i].len <= mss);
		switch (prof) {
		case NIC_PROFILE_MLX5:
			/* The first packet always resyncs (forced). */
			want = first ?
			    (uint32_t)(off - st.recs[rec_at(&st, off)].start) :
			    mlx5_rule(&st, expected, off);
			break;
		case NIC_PROFILE_T6:
			want = t6_rule_req(&st, off, len);
			break;
		default:
			want = 0;
			assert_int_equal(DELTA(c, before,
					     host_cpu_crypto_bytes),
			    res.fallback ? fallback_rule(&st, off, len) : 0);
			break;
		}
		if (DELTA(c, before, dma_bytes_resync) != want)
			fail_msg("%s: step %u at %zu+%u: resync %" PRIu64
				 " want %u",
			    st.what, steps, off, len,
			    DELTA(c, before, dma_bytes_resync), want);
		first = false;
		expected = st.isn + (uint32_t)(off + len);
	}
	if (prof == NIC_PROFILE_T6)
		fill_gaps(&st, nic, tag);
	assert_int_equal(c->hw_state_errors, 0);
	check_delivered(&st);
	free(pend);
	segs_free(&sg);
	free_nic(nic, tag);
	strm_free(&st);
}

typedef void case_fn(enum nic_profile prof, const struct test_suite *s);

/* Run fn for every profile and each suite its driver takes. */
static void
for_each_case(case_fn *fn)
{
	int prof, i;

	for (prof = 0; prof < NIC_NPROFILES; prof++)
		for (i = 0; i < test_nsuites; i++)
			if (supported((enum nic_profile)prof, &test_suites[i]))
				fn((enum nic_profile)prof, &test_suites[i]);
}

static void
inorder_case(enum nic_profile prof, const struct test_suite *s)
{

	/* Across the sequence wrap; hostile cuts; many small records. */
	run_inorder(prof, s, 1, SIZES_MIXED, false, 0xfffff000u);
	run_inorder(prof, s, 2, SIZES_MIXED, true, 2 * 99991);
	run_inorder(prof, s, 3, SIZES_SMALL, false, 3 * 99991);
	if (prof == NIC_PROFILE_T6)
		run_t6_bursts(s, 11);
}

static void
test_inorder(void **state)
{

	for_each_case(inorder_case);
}

/* Loss at each segment index of the first two (full) records. */
static void
single_loss_case(enum nic_profile prof, const struct test_suite *s)
{
	struct segs sg;
	struct strm st;
	unsigned int i;

	strm_build(&st, prof, s, 100 + (uint64_t)prof, 3, SIZES_FULL, 1000);
	segs_make(&st, false, &sg);
	for (i = 0; i < sg.n && sg.off[i] < st.recs[2].start; i++)
		run_loss(&st, &sg, i, 1 + i % 3, 1);
	segs_free(&sg);
	strm_free(&st);
}

static void
test_single_loss(void **state)
{

	for_each_case(single_loss_case);
}

/*
 * Segments cut inside headers, nonces, first and last blocks, the TLS
 * 1.3 type byte and tags; each one lost in turn.
 */
static void
split_loss_case(enum nic_profile prof, const struct test_suite *s)
{
	struct segs sg;
	struct strm st;
	unsigned int i;

	strm_build(&st, prof, s, 200 + (uint64_t)prof, 4, SIZES_MIXED,
	    0xffffff00u);
	segs_make(&st, true, &sg);
	for (i = 0; i < sg.n; i++)
		run_loss(&st, &sg, i, i % 2, 1);
	segs_free(&sg);
	strm_free(&st);
}

static void
test_split_loss(void **state)
{

	for_each_case(split_loss_case);
}

/* The same segment retransmitted three times. */
static void
repeated_loss_case(enum nic_profile prof, const struct test_suite *s)
{
	struct segs sg;
	struct strm st;
	unsigned int i;

	strm_build(&st, prof, s, 300 + (uint64_t)prof, 3, SIZES_MIXED, 5);
	segs_make(&st, false, &sg);
	for (i = 0; i < sg.n; i += 3)
		run_loss(&st, &sg, i, 2, 3);
	segs_free(&sg);
	strm_free(&st);
}

static void
test_repeated_loss(void **state)
{

	for_each_case(repeated_loss_case);
}

static void
forward_jump_case(enum nic_profile prof, const struct test_suite *s)
{
	struct segs sg;
	struct strm st;
	unsigned int i;

	strm_build(&st, prof, s, 400 + (uint64_t)prof, 3, SIZES_FULL,
	    0x80000000u);
	segs_make(&st, false, &sg);
	for (i = 1; i + 1 < sg.n; i += 2)
		run_jump(&st, &sg, i);
	segs_free(&sg);
	strm_free(&st);
}

static void
test_forward_jump(void **state)
{

	for_each_case(forward_jump_case);
}

static void
random_case(enum nic_profile prof, const struct test_suite *s)
{
	uint64_t seed;

	for (seed = 1; seed <= 12; seed++)
		run_random(prof, s, seed * 1000003 + (uint64_t)prof);
}

static void
test_random(void **state)
{

	for_each_case(random_case);
}

/* Expect the wire to be exactly these (seq offset, len) pieces. */
static void
check_pieces(const struct strm *st, const struct nic_txres *res,
    const uint32_t *want, unsigned int n)
{
	unsigned int i;

	if (res->nsegs != n)
		fail_msg("%s: %u wire packets, want %u", st->what, res->nsegs,
		    n);
	for (i = 0; i < n; i++) {
		assert_int_equal(res->segs[i].seq - st->isn, want[2 * i]);
		assert_int_equal(res->segs[i].len, want[2 * i + 1]);
	}
}

/*
 * T6 request shapes on one full AES-GCM TLS 1.2 record (13 + 16384 + 16
 * = 16413 bytes) and one CBC-SHA1 record (21 + 16384 + 32 = 16437), with
 * the arithmetic of ktls_tcp_payload_length(), ktls_payload_offset() and
 * the TX_MAX drop rule worked out by hand.
 */
static void
test_t6_shapes(void **state)
{
	struct nic_counters before;
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;

	strm_build(&st, NIC_PROFILE_T6, test_suite_named("aes128_gcm_1_2"), 7,
	    1, SIZES_FULL, 1000000);
	assert_int_equal(st.total, 16413);
	nic = new_nic(NIC_PROFILE_T6);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);

	/* Middle, no trailer: CTR from 13 + rounddown(4987, 16) = 4989. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 5000, 1448, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 4989, 1448, 6437, 11 }, 2);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 11);
	assert_int_equal(DELTA(c, before, wire_bytes_redundant), 11);
	assert_int_equal(DELTA(c, before, t6_short), 1);

	/* The last MSS: whole payload re-read, pieces below 15928 dropped. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 15928, 485, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 15928, 485 }, 1);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 15928 - 13);
	assert_int_equal(DELTA(c, before, wire_bytes_redundant), 0);
	assert_int_equal(DELTA(c, before, t6_partial), 1);

	/* Starting at 15000: the piece 14480..15928 straddles, goes whole. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 15000, 1413, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 14480, 1448, 15928, 485 },
	    2);
	assert_int_equal(DELTA(c, before, wire_bytes_redundant), 520);

	/* Ending inside the tag: cut at the tag (16397), nothing to CTR. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 15928, 477, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 15928, 469 }, 1);
	assert_int_equal(DELTA(c, before, wire_bytes_trimmed), 8);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 15928 - 13);

	/* Starting inside the tag: the whole trailer, in its TP piece. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 16400, 13, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 15928, 485 }, 1);
	assert_int_equal(DELTA(c, before, wire_bytes_redundant), 472);

	/* Header bytes only: a raw packet, no DMA. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 2, 8, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 2, 8 }, 1);
	assert_int_equal(DELTA(c, before, tunnel_packets), 1);
	assert_int_equal(DELTA(c, before, host_cpu_copy_bytes), 8);
	assert_int_equal(res.dma_bytes, 0);
	assert_int_equal(c->hw_state_errors, 0);
	free_nic(nic, tag);
	strm_free(&st);

	strm_build(&st, NIC_PROFILE_T6, test_suite_named("aes128_cbc_1_2_sha1"),
	    8, 1, SIZES_FULL, 1000000);
	assert_int_equal(st.total, 16437);
	nic = new_nic(NIC_PROFILE_T6);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);

	/*
	 * CBC from 100: from the payload start, cut at 5 + rounddown(1543,
	 * 16) = 1541; TX_MAX at 5 + rounddown(95, 16) = 85, so the first
	 * TP piece (0..1448) goes whole.
	 */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 100, 1448, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 0, 1448, 1448, 93 }, 2);
	assert_int_equal(DELTA(c, before, wire_bytes_trimmed), 7);
	assert_int_equal(DELTA(c, before, wire_bytes_redundant), 100);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 100 - 21);

	/* Ending in the first block after the IV: header only (21). */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 0, 30, MSS, &res), 0);
	check_pieces(&st, &res, (const uint32_t[]) { 0, 21 }, 1);
	assert_int_equal(DELTA(c, before, wire_bytes_trimmed), 9);
	assert_int_equal(DELTA(c, before, tunnel_packets), 1);
	assert_int_equal(c->hw_state_errors, 0);
	free_nic(nic, tag);
	strm_free(&st);
}

/*
 * mlx5 costs on one full AES-GCM TLS 1.3 record (5 + 16384 + 17 =
 * 16406): DUMP entries of at most one MTU, parameters posted for a
 * backward resync but not for a forward gap in the same record.
 */
static void
test_mlx5_costs(void **state)
{
	struct nic_counters before;
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;

	strm_build(&st, NIC_PROFILE_MLX5, test_suite_named("aes256_gcm_1_3"), 9,
	    2, SIZES_FULL, 0);
	nic = new_nic(NIC_PROFILE_MLX5);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);

	/* First packet at a record start: parameters, no dump. */
	assert_int_equal(strm_send(&st, nic, tag, 0, 1448, 0, &res), 0);
	assert_int_equal(c->param_posts, 1);
	assert_int_equal(c->dump_entries, 0);
	/* Jump 1448 -> 4344 in the record: the gap, 2896 bytes, 2 DUMPs. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 4344, 1448, 0, &res), 0);
	assert_true(res.ooo);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 2896);
	assert_int_equal(DELTA(c, before, dump_entries), 2);
	assert_int_equal(DELTA(c, before, param_posts), 0);
	/* Back to 1448: the prefix again, with parameters. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 1448, 1448, 0, &res), 0);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 1448);
	assert_int_equal(DELTA(c, before, dump_entries), 1);
	assert_int_equal(DELTA(c, before, param_posts), 1);
	/* In order now. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 2896, 1448, 0, &res), 0);
	assert_false(res.ooo);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 0);
	assert_int_equal(DELTA(c, before, dma_bytes_retx_payload), 1448);
	/* New data at 5792 (snd_max): the second resync, the gap. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 5792, 1448, 0, &res), 0);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 5792 - 4344);
	assert_int_equal(DELTA(c, before, dma_bytes_inorder), 1448);
	/* Into the next record, past a record start: its prefix. */
	before = *c;
	assert_int_equal(strm_send(&st, nic, tag, 16406 + 100, 1000, 0, &res),
	    0);
	assert_int_equal(DELTA(c, before, dma_bytes_resync), 100);
	assert_int_equal(c->hw_state_errors, 0);
	assert_int_equal(c->host_cpu_touched_payload_bytes, 0);
	free_nic(nic, tag);
	strm_free(&st);
}

/*
 * mlx5's first packet on a new tag is forced out of order with expected
 * = ~seq (mlx5e_sq_tls_xmit()); sbtls_recover_record()'s unsigned delta
 * is then 2 * seq + 1.  Below the record offset (seq near 0 or 2^31 and
 * the packet in mid-record) the driver takes the same-record gap path and
 * posts no parameters: the device encrypts from no context.  The model
 * keeps that (hw_state_errors); a sequence elsewhere resyncs properly.
 */
static void
first_packet(uint32_t isn, bool broken, uint64_t posts, uint64_t resync)
{
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;

	strm_build(&st, NIC_PROFILE_MLX5, test_suite_named("aes128_gcm_1_2"),
	    10, 1, SIZES_FULL, isn);
	nic = new_nic(NIC_PROFILE_MLX5);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);
	st.no_check = broken;
	assert_int_equal(strm_send(&st, nic, tag, 1000, 1448, 0, &res), 0);
	assert_int_equal(c->hw_state_errors, broken ? 1 : 0);
	assert_int_equal(c->param_posts, posts);
	assert_int_equal(c->dma_bytes_resync, resync);
	if (broken)
		assert_int_not_equal(memcmp(res.segs[0].data, st.wire + 1000,
					 1448),
		    0);
	free_nic(nic, tag);
	strm_free(&st);
}

static void
test_mlx5_first_packet(void **state)
{

	/* Stream offset 1000 at sequence 50: delta 101 < offset 1000. */
	first_packet((uint32_t)50 - 1000, true, 0, 101);
	/* Elsewhere: parameters and the 1000-byte prefix. */
	first_packet(123456789, false, 1, 1000);
}

/* mlx5: a dump that cannot be queued drops the packet (ENOBUFS). */
static void
test_mlx5_dump_failure(void **state)
{
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag_info info;
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;

	strm_build(&st, NIC_PROFILE_MLX5, test_suite_named("aes128_gcm_1_3"),
	    11, 1, SIZES_FULL, 1);
	nic = new_nic(NIC_PROFILE_MLX5);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);
	assert_int_equal(strm_send(&st, nic, tag, 0, 1448, 0, &res), 0);
	assert_int_equal(strm_send(&st, nic, tag, 1448, 1448, 0, &res), 0);
	/* Gap case: expected stays where the device stopped (2896). */
	nic_inject(nic, NIC_FAULT_RESYNC, 1);
	assert_int_equal(strm_send(&st, nic, tag, 4344, 1448, 0, &res),
	    ENOBUFS);
	assert_int_equal(c->drops_resync_failed, 1);
	nic_tag_info(tag, &info);
	assert_int_equal(info.expected_seq, st.isn + 2896);
	/* Backward case: expected becomes the record start. */
	nic_inject(nic, NIC_FAULT_RESYNC, 1);
	assert_int_equal(strm_send(&st, nic, tag, 1448, 1448, 0, &res),
	    ENOBUFS);
	nic_tag_info(tag, &info);
	assert_int_equal(info.expected_seq, st.isn);
	/* Both go through afterwards, with the right bytes. */
	assert_int_equal(strm_send(&st, nic, tag, 1448, 1448, 0, &res), 0);
	assert_int_equal(strm_send(&st, nic, tag, 4344, 1448, 0, &res), 0);
	assert_int_equal(c->drops_resync_failed, 2);
	assert_int_equal(c->hw_state_errors, 0);
	free_nic(nic, tag);
	strm_free(&st);
}

/*
 * The Linux-style device after a jump: software until new data starts a
 * record at the high-water mark, then the device again (no prefix DMA).
 */
static void
test_linux_resync(void **state)
{
	const struct nic_counters *c;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;
	size_t r1, r2;

	strm_build(&st, NIC_PROFILE_LINUX, test_suite_named("aes256_gcm_1_2"),
	    12, 3, SIZES_FULL, 42);
	r1 = st.recs[1].start;
	r2 = st.recs[2].start;
	nic = new_nic(NIC_PROFILE_LINUX);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);
	assert_int_equal(strm_send(&st, nic, tag, 0, 1448, 0, &res), 0);
	assert_false(res.fallback);
	/* Skip 1448..2896: ahead, software, resync requested. */
	assert_int_equal(strm_send(&st, nic, tag, 2896, 1448, 0, &res), 0);
	assert_true(res.fallback);
	assert_int_equal(c->host_cpu_crypto_bytes, 2896 + 1448);
	/* The rest of record 0 in software, even in sequence. */
	assert_int_equal(strm_send(&st, nic, tag, 4344, (uint32_t)(r1 - 4344),
			     0, &res),
	    0);
	assert_true(res.fallback);
	/* Record 1 starts at the high-water mark: device again. */
	assert_int_equal(strm_send(&st, nic, tag, r1, (uint32_t)(r2 - r1), 0,
			     &res),
	    0);
	assert_false(res.fallback);
	assert_int_equal(c->param_posts, 1);
	/* The skipped bytes, behind the device: software. */
	assert_int_equal(strm_send(&st, nic, tag, 1448, 1448, 0, &res), 0);
	assert_true(res.fallback);
	assert_int_equal(strm_send(&st, nic, tag, r2, (uint32_t)(st.total - r2),
			     0, &res),
	    0);
	assert_false(res.fallback);
	assert_int_equal(c->dma_bytes_resync, 0);
	assert_int_equal(c->fallback_packets, 3);
	check_delivered(&st);
	free_nic(nic, tag);
	strm_free(&st);
}

/* Generation bumps: mlx5/T6 drop on the old tag, Linux goes software. */
static void
test_generation(void **state)
{
	static const char *const suite[NIC_NPROFILES] = { "aes128_gcm_1_3",
		"aes256_cbc_1_2_sha256", "aes128_gcm_1_2" };
	struct nic_counters before;
	const struct nic_counters *c;
	struct nic_config cfg;
	struct nic_tag_info info;
	struct nic_txres res;
	struct nic_tag *tag, *tag2, *other;
	struct nic *nic;
	struct strm st;
	int prof;

	for (prof = 0; prof < NIC_NPROFILES; prof++) {
		strm_build(&st, (enum nic_profile)prof,
		    test_suite_named(suite[prof]), 13, 2, SIZES_FULL, 9000);
		memset(&cfg, 0, sizeof(cfg));
		cfg.profile = (enum nic_profile)prof;
		cfg.lost_error = EAGAIN;
		nic = nic_create(&cfg);
		assert_non_null(nic);
		c = nic_counters(nic);
		tag = new_tag(&st, nic);
		other = new_tag(&st, nic);
		assert_int_equal(strm_send(&st, nic, tag, 0, 1448, 0, &res), 0);
		nic_reset(nic);
		assert_int_equal(c->tag_resets, 2);
		assert_int_equal(nic_generation(nic), 1);
		nic_tag_info(tag, &info);
		assert_true(info.lost);
		before = *c;
		if (prof == NIC_PROFILE_LINUX) {
			/* tls_device_down(): software for good. */
			assert_int_equal(strm_send(&st, nic, tag, 1448,
					     (uint32_t)(st.total - 1448), 0,
					     &res),
			    0);
			assert_true(res.fallback);
			assert_true(
			    DELTA(c, before, host_cpu_crypto_bytes) > 0);
			check_delivered(&st);
		} else {
			assert_int_equal(strm_send(&st, nic, tag, 1448, 1448, 0,
					     &res),
			    EAGAIN);
			assert_int_equal(DELTA(c, before, drops_lost_context),
			    1);
			assert_int_equal(DELTA(c, before, wire_packets), 0);
			/* A new tag (the stack's reset) carries on. */
			tag2 = new_tag(&st, nic);
			assert_int_equal(strm_send(&st, nic, tag2, 1448,
					     (uint32_t)(st.total - 1448), 0,
					     &res),
			    0);
			if (prof == NIC_PROFILE_T6)
				fill_gaps(&st, nic, tag2);
			check_delivered(&st);
			nic_tag_rele(tag2);
		}
		nic_tag_rele(other);
		free_nic(nic, tag);
		strm_free(&st);
	}
}

/* Context limit, injected failures, mlx5's stuck setup, key slots. */
static void
test_tags(void **state)
{
	const struct nic_counters *c;
	struct nic_config cfg;
	struct nic_tag_info info;
	struct nic_txres res;
	struct nic_tag *t[4];
	struct tls_session_params bad;
	struct nic *nic;
	struct strm st;
	int prof;

	for (prof = 0; prof < NIC_NPROFILES; prof++) {
		strm_build(&st, (enum nic_profile)prof,
		    test_suite_named("aes128_gcm_1_2"), 14, 1, SIZES_SMALL, 0);
		memset(&cfg, 0, sizeof(cfg));
		cfg.profile = (enum nic_profile)prof;
		cfg.max_tags = 3;
		cfg.key_slots = 2;
		nic = nic_create(&cfg);
		assert_non_null(nic);
		c = nic_counters(nic);
		t[0] = new_tag(&st, nic);
		t[1] = new_tag(&st, nic);
		t[2] = new_tag(&st, nic);
		assert_int_equal(nic_tag_alloc(nic, &st.params, 0, 0, &t[3]),
		    ENOMEM);
		assert_null(t[3]);
		/* mlx5 checks the limit first; the others the suite. */
		bad = st.params;
		bad.tls_vminor = TLS_MINOR_VER_ZERO;
		assert_int_equal(nic_tag_alloc(nic, &bad, 0, 0, &t[3]),
		    prof == NIC_PROFILE_MLX5   ? ENOMEM :
			prof == NIC_PROFILE_T6 ? EPROTONOSUPPORT :
						 EOPNOTSUPP);
		assert_int_equal(c->tag_alloc_failures, 2);
		if (prof == NIC_PROFILE_T6) {
			/* Two key slots: the third tag carries its key. */
			nic_tag_info(t[2], &info);
			assert_true(info.inline_key);
			assert_int_equal(strm_send(&st, nic, t[2], 0,
					     (uint32_t)st.total, 0, &res),
			    0);
			assert_true(c->dma_bytes_inline_key > 0);
		}
		/* References: freed once, at the last release. */
		assert_ptr_equal(nic_tag_ref(t[0]), t[0]);
		nic_tag_info(t[0], &info);
		assert_int_equal(info.refcount, 2);
		nic_tag_rele(t[0]);
		assert_int_equal(c->tag_frees, 0);
		nic_tag_rele(t[0]);
		assert_int_equal(c->tag_frees, 1);
		assert_int_equal(nic_tags_live(nic), 2);
		if (prof == NIC_PROFILE_T6) {
			/* The freed tag's key slot is taken again. */
			t[0] = new_tag(&st, nic);
			nic_tag_info(t[0], &info);
			assert_false(info.inline_key);
			nic_tag_rele(t[0]);
		}

		/* Injected: two allocations fail, the third works. */
		nic_inject(nic, NIC_FAULT_ALLOC, 2);
		assert_int_equal(nic_tag_alloc(nic, &st.params, 0, 0, &t[0]),
		    ENOMEM);
		assert_int_equal(nic_tag_alloc(nic, &st.params, 0, 0, &t[0]),
		    ENOMEM);
		t[0] = new_tag(&st, nic);
		nic_tag_rele(t[0]);

		/*
		 * Setup failure: mlx5 hands the tag out and drops every TLS
		 * packet on it (state INIT); the others refuse the tag.
		 */
		nic_inject(nic, NIC_FAULT_SETUP, 1);
		if (prof == NIC_PROFILE_MLX5) {
			t[0] = new_tag(&st, nic);
			nic_tag_info(t[0], &info);
			assert_false(info.ready);
			assert_int_equal(strm_send(&st, nic, t[0], 0,
					     (uint32_t)st.total, 0, &res),
			    ENOBUFS);
			assert_int_equal(c->drops_not_ready, 1);
			nic_tag_rele(t[0]);
		} else {
			assert_int_equal(nic_tag_alloc(nic, &st.params, 0, 0,
					     &t[0]),
			    ENOMEM);
		}
		nic_tag_rele(t[1]);
		/* A tag never released is reported by nic_destroy(). */
		assert_int_equal(nic_destroy(nic), 1);
		strm_free(&st);
	}
}

/* What each profile's driver accepts, over the whole suite matrix. */
static void
test_capabilities(void **state)
{
	const struct test_suite *s;
	struct tls_session_params p;
	enum nic_profile prof;
	int i, want;

	for (i = 0; i < test_nsuites; i++) {
		s = &test_suites[i];
		/* mlx5: AES-GCM-128/256, TLS 1.2 and 1.3. */
		assert_int_equal(supported(NIC_PROFILE_MLX5, s),
		    is_gcm(s) && s->tls_vminor >= TLS_MINOR_VER_TWO);
		/* T6: AES-CBC and AES-GCM, TLS 1.1 and 1.2. */
		assert_int_equal(supported(NIC_PROFILE_T6, s),
		    (is_gcm(s) || is_cbc(s)) &&
			s->tls_vminor >= TLS_MINOR_VER_ONE &&
			s->tls_vminor <= TLS_MINOR_VER_TWO);
		/* Linux tls_device: TLS 1.2 AES-GCM. */
		assert_int_equal(supported(NIC_PROFILE_LINUX, s),
		    is_gcm(s) && s->tls_vminor == TLS_MINOR_VER_TWO);
	}
	memset(&p, 0, sizeof(p));
	p.tls_vmajor = TLS_MAJOR_VER_ONE;
	p.tls_vminor = TLS_MINOR_VER_TWO;
	p.cipher_algorithm = CRYPTO_AES_NIST_GCM_16;
	p.cipher_key_len = 24;
	p.iv_len = 4;
	/* AES-192-GCM: mlx5 EINVAL, T6 fine. */
	assert_int_equal(nic_profile_check(NIC_PROFILE_MLX5, &p), EINVAL);
	assert_int_equal(nic_profile_check(NIC_PROFILE_T6, &p), 0);
	p.cipher_algorithm = CRYPTO_CHACHA20_POLY1305;
	p.cipher_key_len = 32;
	p.iv_len = 12;
	assert_int_equal(nic_profile_check(NIC_PROFILE_MLX5, &p),
	    EPROTONOSUPPORT);
	assert_int_equal(nic_profile_check(NIC_PROFILE_T6, &p),
	    EPROTONOSUPPORT);
	assert_int_equal(nic_profile_check(NIC_PROFILE_LINUX, &p), EINVAL);
	for (prof = 0; prof < NIC_NPROFILES; prof++) {
		assert_int_equal(nic_profile_lookup(nic_profile_name(prof),
				     &prof),
		    0);
		want = prof;
		assert_int_equal(prof, want);
	}
	assert_int_equal(nic_profile_lookup("bnxt", &prof), -1);
	assert_int_equal(nic_profile_check(NIC_NPROFILES, &p), EINVAL);
}

static int
fail_read(void *arg, const struct nic_record *rec, uint32_t off, void *dst,
    uint32_t len)
{

	return (EFAULT);
}

/* Bad requests are refused and counted; nothing crashes or leaks. */
static void
test_bad_requests(void **state)
{
	const struct nic_counters *c;
	struct nic_record recs[2];
	struct nic_txreq req;
	struct nic_txres res;
	struct nic_config cfg;
	struct nic_tag *tag, *foreign;
	struct nic *nic, *nic2;
	struct strm st;

	strm_build(&st, NIC_PROFILE_MLX5, test_suite_named("aes128_gcm_1_2"),
	    15, 3, SIZES_SMALL, 0);
	nic = new_nic(NIC_PROFILE_MLX5);
	c = nic_counters(nic);
	tag = new_tag(&st, nic);
	recs[0] = st.recs[0].r;
	recs[1] = st.recs[2].r; /* not contiguous */
	memset(&req, 0, sizeof(req));
	req.seq = recs[0].seq + 1;
	req.len = recs[0].len;
	req.recs = recs;
	req.nrecs = 2;
	assert_int_equal(nic_transmit(nic, tag, &req, &res), EINVAL);
	/* Starts before its first record. */
	req.nrecs = 1;
	req.seq = recs[0].seq - 1;
	req.len = 2;
	assert_int_equal(nic_transmit(nic, tag, &req, &res), EINVAL);
	/* Ends past its last record. */
	req.seq = recs[0].seq;
	req.len = recs[0].len + 1;
	assert_int_equal(nic_transmit(nic, tag, &req, &res), EINVAL);
	/* A record of another layout (TLS 1.3 header length). */
	req.len = 10;
	recs[0].hdrlen = 5;
	assert_int_equal(nic_transmit(nic, tag, &req, &res), EINVAL);
	/* No bytes to send raw. */
	req.nrecs = 0;
	req.raw = NULL;
	assert_int_equal(nic_transmit(nic, tag, &req, &res), EINVAL);
	assert_int_equal(nic_transmit(nic, tag, NULL, &res), EINVAL);
	assert_int_equal(c->drops_bad_request, 6);
	/* A host read that fails: the packet is dropped, not garbled. */
	recs[0] = st.recs[0].r;
	req.recs = recs;
	req.nrecs = 1;
	req.seq = recs[0].seq;
	req.len = recs[0].len;
	req.read = fail_read;
	assert_int_equal(nic_transmit(nic, tag, &req, &res), EIO);
	assert_int_equal(c->drops_bad_request, 7);
	assert_int_equal(res.nsegs, 0);
	/* A tag of another NIC. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.profile = NIC_PROFILE_MLX5;
	nic2 = nic_create(&cfg);
	assert_non_null(nic2);
	foreign = new_tag(&st, nic2);
	assert_int_equal(strm_send(&st, nic, foreign, 0, 10, 0, &res), EINVAL);
	assert_int_equal(c->drops_tag_mismatch, 1);
	free_nic(nic2, foreign);
	cfg.profile = NIC_NPROFILES;
	assert_null(nic_create(&cfg));
	cfg.profile = NIC_PROFILE_T6;
	cfg.mtu = 100;
	assert_null(nic_create(&cfg));
	free_nic(nic, tag);
	strm_free(&st);
}

/*
 * Packets without record bytes pass unchanged; record bytes on a packet
 * without a tag leave as plaintext (a stack bug the counter and the leak
 * check both see).
 */
static void
test_untagged(void **state)
{
	const struct nic_counters *c;
	struct nic_txreq req;
	struct nic_txres res;
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;
	uint8_t raw[3000];
	int prof;

	for (prof = 0; prof < NIC_NPROFILES; prof++) {
		strm_build(&st, (enum nic_profile)prof,
		    test_suite_named("aes128_gcm_1_2"), 16, 1, SIZES_FULL, 0);
		nic = new_nic((enum nic_profile)prof);
		c = nic_counters(nic);
		tag = new_tag(&st, nic);
		memset(raw, 0x42, sizeof(raw));
		memset(&req, 0, sizeof(req));
		req.seq = 7;
		req.len = sizeof(raw);
		req.mss = MSS;
		req.raw = raw;
		assert_int_equal(nic_transmit(nic, tag, &req, &res), 0);
		assert_int_equal(res.nsegs, 3);
		assert_memory_equal(res.segs[2].data, raw + 2 * MSS,
		    sizeof(raw) - 2 * MSS);
		assert_int_equal(c->tx_passthrough, 1);
		assert_int_equal(c->dma_bytes_plain, sizeof(raw));
		/* A pure ACK. */
		req.len = 0;
		assert_int_equal(nic_transmit(nic, NULL, &req, &res), 0);
		assert_int_equal(res.nsegs, 0);

		st.no_check = true;
		assert_int_equal(strm_send(&st, nic, NULL, 0, 2000, 0, &res),
		    0);
		assert_int_equal(c->untagged_tls_bytes, 2000);
		assert_true(plain_leaks(&st, 0, res.segs[0].data, 2000) > 1900);
		free_nic(nic, tag);
		strm_free(&st);
	}
}

/* Every counter is visited once, with its name and a description. */
static void
count_cb(void *arg, const char *name, uint64_t value, const char *desc)
{
	unsigned int *n = arg;

	assert_non_null(name);
	assert_true(desc != NULL && strlen(desc) > 5);
	if (strcmp(name, "tag_allocs") == 0)
		assert_int_equal(value, 1);
	n[0]++;
	if (strcmp(name, "tx_requests") == 0)
		n[1]++;
}

static void
test_counters(void **state)
{
	struct nic_tag *tag;
	struct nic *nic;
	struct strm st;
	unsigned int n[2] = { 0, 0 };

	strm_build(&st, NIC_PROFILE_T6, test_suite_named("aes128_gcm_1_2"), 17,
	    1, SIZES_SMALL, 0);
	nic = new_nic(NIC_PROFILE_T6);
	tag = new_tag(&st, nic);
	nic_counters_foreach(nic, count_cb, n);
	assert_int_equal(n[0], sizeof(struct nic_counters) / sizeof(uint64_t));
	assert_int_equal(n[1], 1);
	free_nic(nic, tag);
	strm_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inorder),
		cmocka_unit_test(test_single_loss),
		cmocka_unit_test(test_split_loss),
		cmocka_unit_test(test_repeated_loss),
		cmocka_unit_test(test_forward_jump),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_t6_shapes),
		cmocka_unit_test(test_mlx5_costs),
		cmocka_unit_test(test_mlx5_first_packet),
		cmocka_unit_test(test_mlx5_dump_failure),
		cmocka_unit_test(test_linux_resync),
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_untagged),
		cmocka_unit_test(test_counters),
	};

	int rv;

	rv = cmocka_run_group_tests(tests, NULL, NULL);
	printf("nic_test: %u seeded cases\n", ncases);
	return (rv);
}
