/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for the two platform runners (sim/runner/runner.h): worker-queue
 * wakeups, task ordering and replay from a seed, virtual time, msleep(9)/
 * wakeup(9) including time-outs, nesting and idle, and the real-time
 * runner's quiesce under concurrent kicks and tasks that post tasks.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/kern_compat.h"
#include "sys/ktls.h"

#include "sim/runner/runner.h"

#define MS UINT64_C(1000000)

/*
 * ktls_work_once() below is a stand-in for the runner's own tests only:
 * the real one (src/kern/uipc_ktls.c) is not linked into this program.
 * Each test points work_hook at the behaviour it needs before it creates
 * a runner; the real-time workers read it only after pthread_create(), and
 * it is not changed again until sim_rt_destroy() has joined them.
 */
static bool (*work_hook)(int idx);

bool
ktls_work_once(int idx)
{

	return (work_hook(idx));
}

/* A log of what ran, for the single-threaded deterministic tests. */
#define LOG_MAX 256
static struct {
	int id;
	uint64_t now;
} det_log[LOG_MAX];
static int det_nlog;

static void
log_event(int id)
{

	assert_true(det_nlog < LOG_MAX);
	det_log[det_nlog].id = id;
	det_log[det_nlog].now = sim_now();
	det_nlog++;
}

static int
setup_log(void **state)
{

	(void)state;
	det_nlog = 0;
	return (0);
}

/* Queue idx logs as -1 - idx; tasks log their own non-negative ids. */
static int work_true[8];

static bool
det_work_log(int idx)
{

	log_event(-1 - idx);
	if (work_true[idx] > 0) {
		work_true[idx]--;
		return (true);
	}
	return (false);
}

static void
task_log(void *arg)
{

	log_event((int)(intptr_t)arg);
}

/*
 * FIFO: queues run in wakeup order, a duplicate wakeup keeps its place, and
 * a queue whose ktls_work_once() did work is called again until it did not.
 */
static void
det_wakeup_fifo(void **state)
{
	struct platform *pl;

	(void)state;
	work_hook = det_work_log;
	memset(work_true, 0, sizeof(work_true));
	work_true[2] = 1;
	pl = sim_det_create(1, 4);
	platform_set(pl);
	sim_det_set_policy(pl, SIM_DET_FIFO);
	pl->pl_wq_wakeup(pl, 2);
	pl->pl_wq_wakeup(pl, 0);
	pl->pl_wq_wakeup(pl, 2);
	sim_det_run(pl);
	assert_int_equal(det_nlog, 3);
	assert_int_equal(det_log[0].id, -3);
	assert_int_equal(det_log[1].id, -1);
	assert_int_equal(det_log[2].id, -3);
	assert_int_equal(sim_det_steps(pl), 3);
	assert_false(sim_det_step(pl));
	sim_det_destroy(pl);
}

static void
task_post_child(void *arg)
{

	log_event((int)(intptr_t)arg);
	platform->pl_task_post(platform, 5 * MS, task_log, (void *)100);
}

/* FIFO: by due time, ties in posting order; virtual time follows. */
static void
det_tasks_fifo(void **state)
{
	struct platform *pl;
	static const int want_id[] = { 1, 3, 2, 100, 0 };
	static const uint64_t want_now[] = { 10, 10, 20, 25, 30 };
	int i;

	(void)state;
	pl = sim_det_create(7, 1);
	platform_set(pl);
	sim_det_set_policy(pl, SIM_DET_FIFO);
	assert_int_equal(pl->pl_now(pl), 0);
	pl->pl_task_post(pl, 30 * MS, task_log, (void *)0);
	pl->pl_task_post(pl, 10 * MS, task_log, (void *)1);
	pl->pl_task_post(pl, 20 * MS, task_post_child, (void *)2);
	pl->pl_task_post(pl, 10 * MS, task_log, (void *)3);
	sim_det_run(pl);
	assert_int_equal(det_nlog, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(det_log[i].id, want_id[i]);
		assert_int_equal(det_log[i].now, want_now[i] * MS);
	}
	sim_det_destroy(pl);
}

/* Run five simultaneous tasks under 'seed' and return their order. */
static uint32_t
order_for_seed(uint64_t seed)
{
	struct platform *pl;
	uint32_t order, seen;
	int i;

	det_nlog = 0;
	pl = sim_det_create(seed, 1);
	platform_set(pl);
	for (i = 0; i < 5; i++)
		pl->pl_task_post(pl, 0, task_log, (void *)(intptr_t)i);
	sim_det_run(pl);
	sim_det_destroy(pl);
	assert_int_equal(det_nlog, 5);
	order = seen = 0;
	for (i = 0; i < 5; i++) {
		/* Each task exactly once: a permutation. */
		assert_false(seen & (1u << det_log[i].id));
		seen |= 1u << det_log[i].id;
		order = order * 8 + (uint32_t)det_log[i].id;
	}
	return (order);
}

static void
det_tasks_seeded(void **state)
{
	uint32_t orders[20];
	uint64_t seed;
	int distinct, i, j;

	(void)state;
	for (seed = 0; seed < 20; seed++) {
		orders[seed] = order_for_seed(seed);
		assert_int_equal(order_for_seed(seed), orders[seed]);
	}
	distinct = 0;
	for (i = 0; i < 20; i++) {
		for (j = 0; j < i; j++)
			if (orders[j] == orders[i])
				break;
		if (j == i)
			distinct++;
	}
	print_message("%d distinct orders among 20 seeds\n", distinct);
	assert_true(distinct >= 2);
}

static void
det_random_replay(void **state)
{
	struct platform *a, *b, *c;
	uint8_t ba[37], bb[37], bc[37];

	(void)state;
	a = sim_det_create(42, 1);
	b = sim_det_create(42, 1);
	c = sim_det_create(43, 1);
	a->pl_random(a, ba, sizeof(ba));
	b->pl_random(b, bb, sizeof(bb));
	c->pl_random(c, bc, sizeof(bc));
	assert_memory_equal(ba, bb, sizeof(ba));
	assert_memory_not_equal(ba, bc, sizeof(ba));
	assert_int_equal(sim_det_rand(a), sim_det_rand(b));
	/* arc4rand() goes through the current platform. */
	platform_set(a);
	arc4rand(ba, sizeof(ba), 0);
	platform_set(b);
	arc4rand(bb, sizeof(bb), 0);
	assert_memory_equal(ba, bb, sizeof(ba));
	sim_det_destroy(a);
	sim_det_destroy(b);
	sim_det_destroy(c);
}

/* A busier mix: tasks kick queues and post tasks at random delays. */
static void
task_mix(void *arg)
{
	int id;

	id = (int)(intptr_t)arg;
	log_event(id);
	platform->pl_wq_wakeup(platform, id % platform->pl_ncpus);
	if (id < 40) {
		platform->pl_task_post(platform, sim_det_rand(platform) % MS,
		    task_mix, (void *)(intptr_t)(2 * id + 1));
		platform->pl_task_post(platform, sim_det_rand(platform) % MS,
		    task_mix, (void *)(intptr_t)(2 * id + 2));
	}
}

static int
mix_run(uint64_t seed, int *ids, uint64_t *nows)
{
	struct platform *pl;
	int i, n;

	det_nlog = 0;
	work_hook = det_work_log;
	memset(work_true, 0, sizeof(work_true));
	pl = sim_det_create(seed, 3);
	platform_set(pl);
	pl->pl_task_post(pl, 0, task_mix, (void *)0);
	sim_det_run(pl);
	sim_det_destroy(pl);
	n = det_nlog;
	for (i = 0; i < n; i++) {
		ids[i] = det_log[i].id;
		nows[i] = det_log[i].now;
		/* Virtual time never runs backwards. */
		if (i > 0)
			assert_true(nows[i] >= nows[i - 1]);
	}
	return (n);
}

static void
det_mix_replay(void **state)
{
	int ids1[LOG_MAX], ids2[LOG_MAX], n1, n2;
	uint64_t now1[LOG_MAX], now2[LOG_MAX];

	(void)state;
	n1 = mix_run(0xdecafbad, ids1, now1);
	n2 = mix_run(0xdecafbad, ids2, now2);
	assert_int_equal(n1, n2);
	assert_memory_equal(ids1, ids2, n1 * sizeof(ids1[0]));
	assert_memory_equal(now1, now2, n1 * sizeof(now1[0]));
	n2 = mix_run(0xdecafbae, ids2, now2);
	assert_true(n1 != n2 || memcmp(ids1, ids2, n1 * sizeof(ids1[0])) != 0);
}

static int chan1, chan2;

static void
task_wake(void *arg)
{

	log_event(1000);
	wakeup(arg);
}

static void
det_sleep_wakeup(void **state)
{
	struct platform *pl;
	struct mtx m;
	int error;

	(void)state;
	pl = sim_det_create(3, 1);
	platform_set(pl);
	mtx_init(&m, "test");
	pl->pl_task_post(pl, 5 * MS, task_wake, &chan1);
	mtx_lock(&m);
	error = msleep(&chan1, &m, 0);
	assert_int_equal(error, 0);
	assert_true(mtx_owned(&m));
	assert_int_equal(pl->pl_now(pl), 5 * MS);
	mtx_unlock(&m);
	mtx_destroy(&m);
	sim_det_destroy(pl);
}

/* Nothing left that could wake the sleeper: EWOULDBLOCK, never a hang. */
static void
det_sleep_idle(void **state)
{
	struct platform *pl;
	struct mtx m;

	(void)state;
	pl = sim_det_create(3, 1);
	platform_set(pl);
	mtx_init(&m, "test");
	mtx_lock(&m);
	assert_int_equal(msleep(&chan1, &m, 0), EWOULDBLOCK);
	assert_true(mtx_owned(&m));
	assert_int_equal(pl->pl_now(pl), 0);
	/* With a time-out the sleeper sleeps it out in virtual time. */
	assert_int_equal(msleep(&chan1, &m, 7 * MS), EWOULDBLOCK);
	assert_int_equal(pl->pl_now(pl), 7 * MS);
	/* A wakeup with nobody asleep is lost, as in the kernel. */
	wakeup(&chan1);
	assert_int_equal(msleep(&chan1, &m, 0), EWOULDBLOCK);
	/* tsleep(9) style: no interlock. */
	assert_int_equal(msleep(&chan1, NULL, 0), EWOULDBLOCK);
	mtx_unlock(&m);
	mtx_destroy(&m);
	sim_det_destroy(pl);
}

/* The callout fires before later work is due; that work stays pending. */
static void
det_sleep_timeout(void **state)
{
	struct platform *pl;
	struct mtx m;

	(void)state;
	pl = sim_det_create(3, 1);
	platform_set(pl);
	mtx_init(&m, "test");
	pl->pl_task_post(pl, 100 * MS, task_wake, &chan1);
	mtx_lock(&m);
	assert_int_equal(msleep(&chan1, &m, 10 * MS), EWOULDBLOCK);
	assert_int_equal(pl->pl_now(pl), 10 * MS);
	assert_int_equal(det_nlog, 0);
	mtx_unlock(&m);
	sim_det_run(pl);
	assert_int_equal(det_nlog, 1);
	assert_int_equal(det_log[0].now, 100 * MS);
	mtx_destroy(&m);
	sim_det_destroy(pl);
}

static void
task_inner_sleeper(void *arg)
{
	struct mtx m;
	int error;

	(void)arg;
	log_event(1);
	mtx_init(&m, "inner");
	mtx_lock(&m);
	error = msleep(&chan2, &m, 0);
	mtx_unlock(&m);
	mtx_destroy(&m);
	assert_int_equal(error, 0);
	log_event(2);
}

/*
 * The outer sleeper is woken while an inner sleep is in progress; it
 * returns once the inner sleep has returned (sleeps nest like a stack).
 */
static void
det_sleep_nested(void **state)
{
	struct platform *pl;
	struct mtx m;
	static const int want[] = { 1, 1000, 1000, 2 };
	int i;

	(void)state;
	pl = sim_det_create(3, 1);
	platform_set(pl);
	sim_det_set_policy(pl, SIM_DET_FIFO);
	mtx_init(&m, "outer");
	pl->pl_task_post(pl, 1 * MS, task_inner_sleeper, NULL);
	pl->pl_task_post(pl, 2 * MS, task_wake, &chan1);
	pl->pl_task_post(pl, 3 * MS, task_wake, &chan2);
	mtx_lock(&m);
	assert_int_equal(msleep(&chan1, &m, 0), 0);
	mtx_unlock(&m);
	assert_int_equal(det_nlog, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(det_log[i].id, want[i]);
	assert_int_equal(pl->pl_now(pl), 3 * MS);
	mtx_destroy(&m);
	sim_det_destroy(pl);
}

/*
 * A worker that sleeps inside ktls_work_once() and is kicked meanwhile is
 * not re-entered: one thread per queue, as in FreeBSD.
 */
static int reent_depth, reent_calls;

static bool
det_work_reentrant(int idx)
{
	bool first;

	reent_depth++;
	assert_int_equal(reent_depth, 1);
	first = reent_calls++ == 0;
	if (first) {
		platform->pl_wq_wakeup(platform, idx);
		platform->pl_task_post(platform, MS, task_wake, &chan1);
		assert_int_equal(msleep(&chan1, NULL, 0), 0);
	}
	reent_depth--;
	return (first);
}

static void
det_queue_not_reentered(void **state)
{
	struct platform *pl;

	(void)state;
	work_hook = det_work_reentrant;
	reent_depth = reent_calls = 0;
	pl = sim_det_create(5, 1);
	platform_set(pl);
	pl->pl_wq_wakeup(pl, 0);
	sim_det_run(pl);
	assert_int_equal(reent_calls, 2);
	sim_det_destroy(pl);
}

static void
task_forever(void *arg)
{

	platform->pl_task_post(platform, 1, task_forever, arg);
}

/* A livelock must end in a panic, not a hung test. */
static void
det_livelock_panics(void **state)
{
	struct platform *pl;
	pid_t pid;
	int fd, status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Keep the expected panic message out of the test log. */
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		pl = sim_det_create(1, 1);
		platform_set(pl);
		sim_det_set_step_cap(pl, 1000);
		pl->pl_task_post(pl, 0, task_forever, NULL);
		sim_det_run(pl);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

/*
 * Real-time runner.  'pending' models a queue's work list: a kicker adds
 * to it and then calls pl_wq_wakeup(); ktls_work_once() takes everything.
 * Any kick lost by the runner would leave pending non-zero after quiesce.
 */
#define RT_NCPUS 3
static unsigned pending[RT_NCPUS];
static unsigned calls[RT_NCPUS];
static unsigned extra[RT_NCPUS]; /* extra 'true' answers */
static unsigned ntasks_run;

static bool
rt_work_take(int idx)
{
	unsigned e;

	__atomic_add_fetch(&calls[idx], 1, __ATOMIC_RELAXED);
	e = __atomic_load_n(&extra[idx], __ATOMIC_RELAXED);
	if (e > 0) {
		__atomic_store_n(&extra[idx], e - 1, __ATOMIC_RELAXED);
		return (true);
	}
	return (__atomic_exchange_n(&pending[idx], 0, __ATOMIC_ACQ_REL) != 0);
}

static void
rt_kick(int idx)
{

	__atomic_add_fetch(&pending[idx], 1, __ATOMIC_ACQ_REL);
	platform->pl_wq_wakeup(platform, idx);
}

static int
setup_rt(void **state)
{

	memset(pending, 0, sizeof(pending));
	memset(calls, 0, sizeof(calls));
	memset(extra, 0, sizeof(extra));
	ntasks_run = 0;
	work_hook = rt_work_take;
	*state = sim_rt_create(RT_NCPUS);
	platform_set(*state);
	return (0);
}

static int
teardown_rt(void **state)
{

	sim_rt_destroy(*state);
	platform_set(NULL);
	return (0);
}

/* One kick: ktls_work_once() is called until it returns false. */
static void
rt_worker_loops(void **state)
{
	struct platform *pl;

	pl = *state;
	extra[1] = 5;
	rt_kick(1);
	sim_rt_quiesce(pl);
	/* 5 extra trues, the real work, then the false that ends it. */
	assert_int_equal(__atomic_load_n(&calls[1], __ATOMIC_RELAXED), 7);
	assert_int_equal(__atomic_load_n(&calls[0], __ATOMIC_RELAXED), 0);
	assert_int_equal(pending[1], 0);
}

static void *
kicker_main(void *arg)
{
	int i, seed;

	seed = (int)(intptr_t)arg;
	for (i = 0; i < 2000; i++)
		rt_kick((seed + i) % RT_NCPUS);
	return (NULL);
}

static void
rt_no_lost_kicks(void **state)
{
	struct platform *pl;
	pthread_t th[4];
	int error, i;

	pl = *state;
	for (i = 0; i < 4; i++) {
		error = pthread_create(&th[i], NULL, kicker_main,
		    (void *)(intptr_t)i);
		assert_int_equal(error, 0);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	sim_rt_quiesce(pl);
	for (i = 0; i < RT_NCPUS; i++) {
		assert_int_equal(__atomic_load_n(&pending[i], __ATOMIC_ACQUIRE),
		    0);
		assert_true(__atomic_load_n(&calls[i], __ATOMIC_RELAXED) > 0);
	}
}

/*
 * Held, the workers leave their kicks pending; let go, each runs its
 * queue once, and its CPU clock has moved.
 */
static void
rt_hold_keeps_kicks(void **state)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct platform *pl;
	uint64_t cpu0[RT_NCPUS];
	int i;

	pl = *state;
	sim_rt_hold(pl, true);
	for (i = 0; i < RT_NCPUS; i++) {
		cpu0[i] = sim_rt_cpu_ns(pl, i);
		rt_kick(i);
	}
	nanosleep(&ts, NULL);
	for (i = 0; i < RT_NCPUS; i++) {
		assert_int_equal(__atomic_load_n(&calls[i], __ATOMIC_RELAXED),
		    0);
		assert_int_equal(__atomic_load_n(&pending[i], __ATOMIC_ACQUIRE),
		    1);
	}
	sim_rt_hold(pl, false);
	sim_rt_quiesce(pl);
	for (i = 0; i < RT_NCPUS; i++) {
		/* The work, then the false that ends it. */
		assert_int_equal(__atomic_load_n(&calls[i], __ATOMIC_RELAXED),
		    2);
		assert_int_equal(__atomic_load_n(&pending[i], __ATOMIC_ACQUIRE),
		    0);
		assert_true(sim_rt_cpu_ns(pl, i) > cpu0[i]);
	}
	assert_true(sim_rt_cpu_ns(pl, -1) > 0);
}

/* A binary tree of tasks: each kicks a queue and posts two children. */
#define TREE_DEPTH 7

static void
task_tree(void *arg)
{
	int depth;

	depth = (int)(intptr_t)arg;
	__atomic_add_fetch(&ntasks_run, 1, __ATOMIC_RELAXED);
	rt_kick(depth % RT_NCPUS);
	if (depth == 0)
		return;
	platform->pl_task_post(platform, (uint64_t)(depth % 3) * 100000,
	    task_tree, (void *)(intptr_t)(depth - 1));
	platform->pl_task_post(platform, 0, task_tree,
	    (void *)(intptr_t)(depth - 1));
}

static void
rt_quiesce_tasks(void **state)
{
	struct platform *pl;
	int i;

	pl = *state;
	pl->pl_task_post(pl, MS, task_tree, (void *)(intptr_t)TREE_DEPTH);
	sim_rt_quiesce(pl);
	assert_int_equal(__atomic_load_n(&ntasks_run, __ATOMIC_RELAXED),
	    (1 << (TREE_DEPTH + 1)) - 1);
	for (i = 0; i < RT_NCPUS; i++)
		assert_int_equal(__atomic_load_n(&pending[i], __ATOMIC_ACQUIRE),
		    0);
	/* Idle already: returns at once. */
	sim_rt_quiesce(pl);
}

struct timed {
	uint64_t due;
	uint64_t ran;
};

static void
task_timed(void *arg)
{
	struct timed *t;

	t = arg;
	__atomic_store_n(&t->ran, sim_now(), __ATOMIC_RELAXED);
}

/* Tasks never run early, whatever order they were posted in. */
static void
rt_task_delay(void **state)
{
	struct platform *pl;
	static const uint64_t delays[] = { 30, 10, 0, 20, 10 };
	struct timed t[nitems(delays)];
	size_t i;

	pl = *state;
	for (i = 0; i < nitems(delays); i++) {
		t[i].due = pl->pl_now(pl) + delays[i] * MS;
		t[i].ran = 0;
		pl->pl_task_post(pl, delays[i] * MS, task_timed, &t[i]);
	}
	sim_rt_quiesce(pl);
	for (i = 0; i < nitems(delays); i++)
		assert_true(
		    __atomic_load_n(&t[i].ran, __ATOMIC_RELAXED) >= t[i].due);
}

struct flagged {
	struct mtx m;
	bool flag;
};

static void
task_set_flag(void *arg)
{
	struct flagged *f;

	f = arg;
	mtx_lock(&f->m);
	f->flag = true;
	mtx_unlock(&f->m);
	/* Outside the interlock on purpose: the runner must cope. */
	wakeup(&f->flag);
}

static void
rt_sleep_wakeup(void **state)
{
	struct platform *pl;
	struct flagged f;
	uint64_t t0;
	int error;

	pl = *state;
	mtx_init(&f.m, "flag");
	f.flag = false;
	mtx_lock(&f.m);
	pl->pl_task_post(pl, 5 * MS, task_set_flag, &f);
	error = 0;
	while (!f.flag)
		error = msleep(&f.flag, &f.m, 0);
	assert_int_equal(error, 0);
	assert_true(mtx_owned(&f.m));

	/* Nobody wakes this one: it times out, not early. */
	t0 = pl->pl_now(pl);
	assert_int_equal(msleep(&chan2, &f.m, 10 * MS), EWOULDBLOCK);
	assert_true(pl->pl_now(pl) - t0 >= 10 * MS);
	assert_true(mtx_owned(&f.m));
	mtx_unlock(&f.m);
	sim_rt_quiesce(pl);
	mtx_destroy(&f.m);
}

/*
 * Sleepers on neighbouring channels share hash chains; each must be woken
 * by its own wakeup and none may be lost.
 */
#define NSLEEPERS 8
static struct flagged sleepers[NSLEEPERS];

static void *
sleeper_main(void *arg)
{
	struct flagged *f;

	f = arg;
	mtx_lock(&f->m);
	while (!f->flag)
		(void)msleep(&f->flag, &f->m, 0);
	mtx_unlock(&f->m);
	return (NULL);
}

static void
rt_many_sleepers(void **state)
{
	pthread_t th[NSLEEPERS];
	int error, i;

	(void)state;
	for (i = 0; i < NSLEEPERS; i++) {
		mtx_init(&sleepers[i].m, "sleeper");
		sleepers[i].flag = false;
		error =
		    pthread_create(&th[i], NULL, sleeper_main, &sleepers[i]);
		assert_int_equal(error, 0);
	}
	for (i = 0; i < NSLEEPERS; i++) {
		mtx_lock(&sleepers[i].m);
		sleepers[i].flag = true;
		wakeup(&sleepers[i].flag);
		mtx_unlock(&sleepers[i].m);
	}
	for (i = 0; i < NSLEEPERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		mtx_destroy(&sleepers[i].m);
	}
}

static void
rt_random_bytes(void **state)
{
	struct platform *pl;
	uint8_t a[32], b[32];

	pl = *state;
	pl->pl_random(pl, a, sizeof(a));
	pl->pl_random(pl, b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(det_wakeup_fifo, setup_log),
		cmocka_unit_test_setup(det_tasks_fifo, setup_log),
		cmocka_unit_test_setup(det_tasks_seeded, setup_log),
		cmocka_unit_test_setup(det_random_replay, setup_log),
		cmocka_unit_test_setup(det_mix_replay, setup_log),
		cmocka_unit_test_setup(det_sleep_wakeup, setup_log),
		cmocka_unit_test_setup(det_sleep_idle, setup_log),
		cmocka_unit_test_setup(det_sleep_timeout, setup_log),
		cmocka_unit_test_setup(det_sleep_nested, setup_log),
		cmocka_unit_test_setup(det_queue_not_reentered, setup_log),
		cmocka_unit_test(det_livelock_panics),
		cmocka_unit_test_setup_teardown(rt_worker_loops, setup_rt,
		    teardown_rt),
		cmocka_unit_test_setup_teardown(rt_no_lost_kicks, setup_rt,
		    teardown_rt),
		cmocka_unit_test_setup_teardown(rt_hold_keeps_kicks, setup_rt,
		    teardown_rt),
		cmocka_unit_test_setup_teardown(rt_quiesce_tasks, setup_rt,
		    teardown_rt),
		cmocka_unit_test_setup_teardown(rt_task_delay, setup_rt,
		    teardown_rt),
		cmocka_unit_test_setup_teardown(rt_sleep_wakeup, setup_rt,
		    teardown_rt),
		cmocka_unit_test_setup_teardown(rt_many_sleepers, setup_rt,
		    teardown_rt),
		cmocka_unit_test_setup_teardown(rt_random_bytes, setup_rt,
		    teardown_rt),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
