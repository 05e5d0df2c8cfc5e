/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Scaffolding shared by the conformance groups; see conf_common.h.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_common.h"
#include "models/disk/disk.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

bool
conf_all(const struct test_suite *s)
{

	(void)s;
	return (true);
}

bool
is_gcm12(const struct test_suite *s)
{

	return (s->cipher_algorithm == CRYPTO_AES_NIST_GCM_16 &&
	    s->tls_vminor == TLS_MINOR_VER_TWO);
}

bool
is_aead(const struct test_suite *s)
{

	return (!is_cbc(s));
}

/* Header minor byte: 3.3 for TLS 1.3 (RFC 8446 5.1). */
uint8_t
wire_minor(const struct test_suite *s)
{

	return (is_tls13(s) ? TLS_MINOR_VER_TWO : (uint8_t)s->tls_vminor);
}

/*
 * Explicit nonce/IV bytes after the header: GCM 1.2's nonce_explicit (RFC
 * 5288 3), CBC 1.1+'s IV (RFC 5246 6.2.3.2).
 */
size_t
explicit_len(const struct test_suite *s)
{

	if (is_gcm12(s))
		return (8);
	if (is_cbc(s) && !is_tls10(s))
		return (16);
	return (0);
}

/*
 * Trailer bytes of a record with plen payload bytes: the tag (and TLS 1.3's
 * inner type byte), or MAC and minimal padding, as sys/kern/uipc_ktls.c
 * ktls_frame() sizes it.
 */
size_t
trailer_len(const struct test_suite *s, size_t plen)
{

	if (is_cbc(s))
		return ((size_t)s->auth_key_len +
		    (16 - (plen + (size_t)s->auth_key_len) % 16));
	return (is_tls13(s) ? 17 : 16);
}

size_t
rec_len(const struct test_suite *s, size_t plen)
{

	return (5 + explicit_len(s) + plen + trailer_len(s, plen));
}

/* FR-04: header + explicit + 2^14 + maximum trailer. */
size_t
max_rec_len(const struct test_suite *s)
{

	return (5 + explicit_len(s) + 16384 +
	    (is_cbc(s)		? (size_t)s->auth_key_len + 16 :
		    is_tls13(s) ? 17 :
				  16));
}

static uint64_t
conf_hash(const char *str, uint64_t h)
{

	for (; *str != '\0'; str++)
		h = (h ^ (uint8_t)*str) * 0x100000001b3ULL;
	return (h);
}

uint64_t
conf_seed(const struct conf_case *cc, int run)
{

	return (conf_hash(cc->name, 0xcbf29ce484222325ULL) +
	    (uint64_t)run * 0x9e3779b97f4a7c15ULL);
}

/* How many runs a case makes: ndet seeds (deterministic), 2 (real time). */
int
conf_nruns(const struct conf_case *cc, int ndet)
{

	return (cc->runner == HARNESS_DET ? ndet : 2);
}

/*
 * The deterministic runner keeps the whole kernel on one thread
 * (sim/runner/runner_det.c), so ThreadSanitizer has nothing to find in its
 * cases: the tsan build runs the real-time runner's alone, and the other
 * builds run both.
 */
bool
conf_runner_on(enum harness_runner r)
{
	static int only = -1; /* -1: not read yet, 2: both runners */
	const char *env;

	if (only == -1) {
		env = getenv("KTLSIM_CONF_RUNNER");
		if (env == NULL || *env == '\0')
			only = 2;
		else if (strcmp(env, "det") == 0)
			only = HARNESS_DET;
		else if (strcmp(env, "rt") == 0)
			only = HARNESS_RT;
		else {
			fprintf(stderr,
			    "KTLSIM_CONF_RUNNER=%s: expected det or rt\n", env);
			exit(2);
		}
		if (only != 2)
			fprintf(stderr,
			    "conformance: KTLSIM_CONF_RUNNER=%s: the %s "
			    "runner's cases only\n",
			    env,
			    only == HARNESS_DET ? "deterministic" :
						  "real-time");
	}
	return (only == 2 || only == (int)r);
}

void
conf_only_on(enum harness_runner r)
{

	if (!conf_runner_on(r))
		skip();
}

void
ctx_open_suite(struct ctx *c, const struct conf_case *cc,
    const struct test_suite *s, int run, uint64_t seqno, bool enable)
{

	memset(c, 0, sizeof(*c));
	harness_init(&c->h, cc->runner, conf_seed(cc, run), 4);
	wire_init(&c->w);
	c->saved_async = ktls_sim_async;
	ktls_sim_async = run > 0;
	c->so = harness_socket(&c->h, &c->w, (uint32_t)test_rng_u64(&c->h.rng));
	harness_keys(&c->h, s, seqno, &c->k);
	if (enable)
		assert_int_equal(harness_enable(c->so, &c->k), 0);
}

void
ctx_open(struct ctx *c, const struct conf_case *cc, int run, uint64_t seqno)
{

	ctx_open_suite(c, cc, cc->s, run, seqno, true);
}

/* Let everything queued be encrypted and sent. */
void
ctx_drain(struct ctx *c)
{

	harness_run(&c->h);
	c->w.limit = SIZE_MAX;
	tcp_output_kick(c->so);
	harness_run(&c->h);
}

/* close(2), run everything, check that all went out (FIN seen). */
void
ctx_close(struct ctx *c)
{

	if (!c->closed) {
		harness_run(&c->h);
		c->w.limit = SIZE_MAX;
		ksim_close(c->so);
		c->so = NULL;
		harness_fini(&c->h);
		c->closed = true;
		ktls_sim_async = c->saved_async;
		assert_true(c->w.fin);
	}
}

void
ctx_free(struct ctx *c)
{

	ctx_close(c);
	wire_fini(&c->w);
}

int
rlog_cb(void *arg, const struct oracle_record *rec)
{
	struct rlog *l = arg;
	struct rlog_rec *e;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->r = realloc(l->r, l->cap * sizeof(*l->r));
		assert_non_null(l->r);
	}
	e = &l->r[l->n++];
	memset(e, 0, sizeof(*e));
	e->type = rec->type;
	e->inner = rec->inner_type;
	e->vmajor = rec->vmajor;
	e->vminor = rec->vminor;
	e->off = l->off;
	e->reclen = rec->reclen;
	e->plen = rec->plen;
	e->explicit_len = rec->explicit_len;
	e->padlen = rec->padlen;
	e->seqno = rec->seqno;
	memcpy(e->eiv, rec->explicit_iv, sizeof(e->eiv));
	l->off += rec->reclen;
	return (0);
}

/*
 * Decrypt the whole wire with the oracle (fails the test on any bad
 * record), log every record and check the invariants every record of
 * every test must meet: outer header, length field, size bound,
 * consecutive sequence numbers from the configured one.
 */
void
ctx_decrypt(struct ctx *c, uint8_t **plain, size_t *plen, struct rlog *l)
{
	const struct test_suite *s = c->k.suite;
	size_t nrec, i;

	memset(l, 0, sizeof(*l));
	harness_decrypt(&c->k, &c->w, plain, plen, &nrec, rlog_cb, l);
	assert_int_equal(nrec, l->n);
	assert_int_equal(l->off, c->w.len);
	for (i = 0; i < l->n; i++) {
		const struct rlog_rec *e = &l->r[i];
		const uint8_t *h = c->w.buf + e->off;

		assert_int_equal(e->seqno, c->k.seqno + i);
		assert_int_equal(h[1], 3);
		assert_int_equal(h[2], wire_minor(s));
		assert_int_equal(((size_t)h[3] << 8 | h[4]) + 5, e->reclen);
		if (is_tls13(s))
			assert_int_equal(h[0], TLS_RLTYPE_APP);
		else
			assert_int_equal(h[0], e->inner);
		assert_true(e->plen <= 16384);
		assert_true(e->reclen <= max_rec_len(s));
		assert_int_equal(e->reclen, rec_len(s, e->plen));
		assert_int_equal(e->explicit_len, explicit_len(s));
	}
}

void
rlog_free(struct rlog *l)
{

	free(l->r);
	memset(l, 0, sizeof(*l));
}

void
ctx_free_run(struct ctx *c, struct rlog *l, void *plain, void *p)
{

	free(plain);
	free(p);
	rlog_free(l);
	ctx_free(c);
}

void
ctx_finish(struct ctx *c, const void *p, size_t len, struct rlog *l)
{
	uint8_t *plain;
	size_t plen;

	ctx_close(c);
	ctx_decrypt(c, &plain, &plen, l);
	assert_int_equal(plen, len);
	assert_memory_equal(plain, p, len);
	free(plain);
}

uint8_t *
payload(struct ctx *c, size_t len)
{
	uint8_t *p;

	p = malloc(len ? len : 1);
	assert_non_null(p);
	test_random_printable(&c->h.rng, p, len);
	return (p);
}

/* A blocking write that must take every byte. */
void
write_all(struct ctx *c, const void *buf, size_t len)
{
	ssize_t n;

	assert_int_equal(ksim_write(c->so, buf, len, &n), 0);
	assert_int_equal(n, (ssize_t)len);
}

void
send_type_all(struct ctx *c, uint8_t type, const void *buf, size_t len)
{
	ssize_t n;

	assert_int_equal(harness_send_type(c->so, type, buf, len, &n), 0);
	assert_int_equal(n, (ssize_t)len);
}

/*
 * After every case, failed or not: the harness a failed case left is torn
 * down and every global knob put back (harness_teardown()).
 */
int
conf_teardown(void **state)
{

	return (harness_teardown(state));
}

void
conf_sf_mode(bool async, bool cold)
{

	ktls_sim_async = async;
	disk_cache_flush();
	disk_profile.dp_cache_pages = cold ? 0 : CONF_CACHE_PAGES;
	disk_profile.dp_latency_ns = cold ? 1000 : 0;
}

void
conf_sf_reset(void)
{

	ktls_sim_async = false;
	disk_profile.dp_cache_pages = CONF_CACHE_PAGES;
	disk_profile.dp_latency_ns = 0;
}

/*
 * Build and run one cmocka group: every test x suite x runner.  A group or
 * a test that generates no case fails the run: cmocka passes an empty
 * group, and a test that applies to no suite would silently never run.
 */
int
conf_main(const char *group, const struct conf_test *tests, size_t ntests,
    const struct test_suite *suites, int nsuites)
{
	struct CMUnitTest *ut;
	struct conf_case *cases;
	size_t n, n0, i, nempty;
	int si, r, rc;

	n = 0;
	nempty = 0;
	/* One more than needed: calloc(0) may return NULL. */
	ut = calloc(ntests * (size_t)nsuites * 2 + 1, sizeof(*ut));
	cases = calloc(ntests * (size_t)nsuites * 2 + 1, sizeof(*cases));
	if (ut == NULL || cases == NULL)
		abort();
	for (i = 0; i < ntests; i++) {
		n0 = n;
		for (si = 0; si < nsuites; si++) {
			if (!tests[i].applies(&suites[si]))
				continue;
			for (r = 0; r < 2; r++) {
				struct conf_case *cc = &cases[n];
				enum harness_runner rn =
				    r == 0 ? HARNESS_DET : HARNESS_RT;

				if (!conf_runner_on(rn))
					continue;
				cc->s = &suites[si];
				cc->runner = rn;
				cc->id = (int)i;
				snprintf(cc->name, sizeof(cc->name), "%s/%s/%s",
				    tests[i].id, suites[si].name,
				    rn == HARNESS_DET ? "det" : "rt");
				ut[n].name = cc->name;
				ut[n].test_func = tests[i].fn;
				ut[n].setup_func = harness_setup;
				ut[n].teardown_func = conf_teardown;
				ut[n].initial_state = cc;
				n++;
			}
		}
		if (n == n0 && nsuites > 0) {
			fprintf(stderr,
			    "conf_main: group %s: test %s generated no case "
			    "(it applies to none of the %d suites)\n",
			    group, tests[i].id, nsuites);
			nempty++;
		}
	}
	rc = n > 0 ? _cmocka_run_group_tests(group, ut, n, NULL, NULL) : 0;
	if (n == 0) {
		fprintf(stderr,
		    "conf_main: group %s generated no case (%zu tests, %d "
		    "suites)\n",
		    group, ntests, nsuites);
		rc++;
	}
	rc += (int)nempty;
	free(ut);
	free(cases);
	return (rc);
}
