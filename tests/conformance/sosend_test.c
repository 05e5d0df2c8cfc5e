/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group S: the write path of sys/kern/uipc_socket.c
 * sosend_generic() around the records it frames.  Generated over
 * tests/lib/suites.h, on both runners; every record is judged by the
 * independent oracle.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
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

#include "conf_common.h"
#include "ksim_harness.h"
#include "oracle.h"
#include "sim/runner.h"
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

#define NSEEDS 4

/* --- SO-ENABLE-RACE: TCP_TXTLS_ENABLE while a writer waits ------------- */

/*
 * A writer that started before TCP_TXTLS_ENABLE but got SOCK_IO_SEND_LOCK
 * after it.  sosend_generic() reads the session only once it holds the
 * lock, so its data goes out as it would have without the race: as TLS
 * records if the enable came first, else as plaintext ahead of them.
 */
struct race {
	struct ctx *c;
	const uint8_t *p;
	size_t len;
	int werror, eerror;
	ssize_t written;
};

static void
race_write(void *arg)
{
	struct race *r = arg;

	r->werror = ksim_write(r->c->so, r->p, r->len, &r->written);
}

static void
race_enable(void *arg)
{
	struct race *r = arg;

	r->eerror = harness_enable(r->c->so, &r->c->k);
}

static void
race_unlock(void *arg)
{
	struct race *r = arg;

	sock_io_send_unlock(r->c->so);
}

static void *
race_write_main(void *arg)
{

	race_write(arg);
	return (NULL);
}

static void *
race_enable_main(void *arg)
{

	race_enable(arg);
	return (NULL);
}

/*
 * The wire holds either the writer's bytes in plaintext (it won the lock)
 * or one record carrying them (the enable won).
 */
static void
race_check(struct ctx *c, const uint8_t *p, size_t len)
{
	struct rlog l;
	uint8_t *plain;
	size_t plen;

	if (c->w.len == len && memcmp(c->w.buf, p, len) == 0)
		return;
	ctx_decrypt(c, &plain, &plen, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(plen, len);
	assert_memory_equal(plain, p, len);
	free(plain);
	rlog_free(&l);
}

static void
test_so_enable_race(void **state)
{
	const struct conf_case *cc = *state;
	pthread_t wt, et;
	struct race r;
	struct ctx c;
	uint8_t *p;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS) * 2; run++) {
		ctx_open_suite(&c, cc, cc->s, run, 77, false);
		p = payload(&c, 1000);
		memset(&r, 0, sizeof(r));
		r.c = &c;
		r.p = p;
		r.len = 1000;
		/* Another sender holds the lock while both arrive. */
		assert_int_equal(sock_io_send_lock(c.so), 0);
		if (cc->runner == HARNESS_DET) {
			/*
			 * In posting order: the write blocks on the lock, the
			 * enable blocks behind it, the unlock wakes both and
			 * the enable, asleep innermost, takes the lock first.
			 */
			sim_det_set_policy(c.h.pl, SIM_DET_FIFO);
			c.h.pl->pl_task_post(c.h.pl, 0, race_write, &r);
			c.h.pl->pl_task_post(c.h.pl, 0, race_enable, &r);
			c.h.pl->pl_task_post(c.h.pl, 0, race_unlock, &r);
			harness_run(&c.h);
		} else {
			/* Whoever wins the lock, the outcome must be whole. */
			assert_int_equal(pthread_create(&wt, NULL,
					     race_write_main, &r),
			    0);
			usleep(10000);
			assert_int_equal(pthread_create(&et, NULL,
					     race_enable_main, &r),
			    0);
			usleep(10000);
			sock_io_send_unlock(c.so);
			assert_int_equal(pthread_join(wt, NULL), 0);
			assert_int_equal(pthread_join(et, NULL), 0);
		}
		assert_int_equal(r.eerror, 0);
		assert_int_equal(r.werror, 0);
		assert_int_equal(r.written, 1000);
		ctx_close(&c);
		if (cc->runner == HARNESS_DET)
			assert_int_equal(c.w.len, rec_len(cc->s, 1000));
		race_check(&c, p, 1000);
		free(p);
		ctx_free(&c);
	}
}

static const struct conf_test sosend_tests[] = {
	{ "SO-ENABLE-RACE", test_so_enable_race, conf_all },
};

int
main(void)
{

	return (conf_main("sosend", sosend_tests,
	    sizeof(sosend_tests) / sizeof(sosend_tests[0]), test_suites,
	    test_nsuites));
}
