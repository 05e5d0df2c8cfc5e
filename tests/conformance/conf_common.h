/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Scaffolding shared by the conformance groups: one generated cmocka case
 * per test x suite x runner, a session on a simulated socket with an
 * in-memory wire, and the per-record checks every test applies through
 * the independent oracle.
 */

#ifndef _TESTS_CONF_COMMON_H_
#define _TESTS_CONF_COMMON_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ksim_harness.h"
#include "oracle.h"
#include "suites.h"

/*
 * One generated test instance: a suite from tests/lib/suites.h and a
 * runner.  The deterministic runner repeats each body over several seeds;
 * every run but the first uses the asynchronous backend (ktls_sim_async),
 * so records complete in a seed-dependent random order.
 */
struct conf_case {
	const struct test_suite *s;
	enum harness_runner runner;
	int id; /* index of the test in its table */
	char name[96];
};

struct conf_test {
	const char *id;
	void (*fn)(void **state);
	bool (*applies)(const struct test_suite *s);
};

/* A session on a connected simulated socket writing to an in-memory wire. */
struct ctx {
	struct harness h;
	struct wire w;
	struct socket *so;
	struct harness_keys k;
	bool saved_async;
	bool closed;
};

/* What the oracle saw, one entry per record. */
struct rlog_rec {
	uint8_t type, inner, vmajor, vminor;
	size_t off, reclen, plen, explicit_len, padlen;
	uint64_t seqno;
	uint8_t eiv[16];
};

struct rlog {
	struct rlog_rec *r;
	size_t n, cap, off;
};

bool conf_all(const struct test_suite *s);
bool is_gcm12(const struct test_suite *s);
bool is_aead(const struct test_suite *s);
uint8_t wire_minor(const struct test_suite *s);
size_t explicit_len(const struct test_suite *s);
size_t trailer_len(const struct test_suite *s, size_t plen);
size_t rec_len(const struct test_suite *s, size_t plen);
size_t max_rec_len(const struct test_suite *s);
uint64_t conf_seed(const struct conf_case *cc, int run);
int conf_nruns(const struct conf_case *cc, int ndet);
/*
 * Whether this run makes cases on runner r: both runners, unless
 * KTLSIM_CONF_RUNNER names one ("det" or "rt"; any other value is an
 * error).  The tsan build sets rt (tests/conformance/meson.build).
 */
bool conf_runner_on(enum harness_runner r);
/* A test made for runner r alone: cmocka skips it unless conf_runner_on(r). */
void conf_only_on(enum harness_runner r);
void ctx_open_suite(struct ctx *c, const struct conf_case *cc,
    const struct test_suite *s, int run, uint64_t seqno, bool enable);
void ctx_open(struct ctx *c, const struct conf_case *cc, int run,
    uint64_t seqno);
void ctx_drain(struct ctx *c);
void ctx_close(struct ctx *c);
void ctx_free(struct ctx *c);
void ctx_decrypt(struct ctx *c, uint8_t **plain, size_t *plen, struct rlog *l);
/* An oracle callback appending each record to the struct rlog in arg. */
int rlog_cb(void *arg, const struct oracle_record *rec);
void rlog_free(struct rlog *l);
/*
 * The end of one run: free the decrypted plaintext and the payload (both
 * malloc'd; either may be NULL), the log and the session (ctx_free()).
 */
void ctx_free_run(struct ctx *c, struct rlog *l, void *plain, void *p);
/*
 * The end of a run whose wire must carry exactly p[0..len): ctx_close(),
 * ctx_decrypt() into l and compare the plaintext with p.  The caller checks
 * the records in l, then frees with ctx_free_run(c, l, NULL, p).
 */
void ctx_finish(struct ctx *c, const void *p, size_t len, struct rlog *l);
uint8_t *payload(struct ctx *c, size_t len);
void write_all(struct ctx *c, const void *buf, size_t len);
void send_type_all(struct ctx *c, uint8_t type, const void *buf, size_t len);
int conf_teardown(void **state);

/*
 * The sendfile groups (D, E): the page cache's default size
 * (kern_sendfile.c), and the knobs of one run: encryption synchronous or
 * asynchronous (ktls_sim_async); page cache warm (default size) or cold
 * (disabled: every page is a 1 us disk read).  conf_sf_mode() also empties
 * the cache; conf_sf_reset() puts the defaults back.
 */
#define CONF_CACHE_PAGES 16384
void conf_sf_mode(bool async, bool cold);
void conf_sf_reset(void);
int conf_main(const char *group, const struct conf_test *tests, size_t ntests,
    const struct test_suite *suites, int nsuites);
/* main() of a group that runs the table tests over every valid suite. */
#define CONF_MAIN(group, tests)                                             \
	int main(void)                                                      \
	{                                                                   \
		return (conf_main(group, tests, nitems(tests), test_suites, \
		    test_nsuites));                                         \
	}

#endif /* !_TESTS_CONF_COMMON_H_ */
