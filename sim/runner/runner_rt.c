/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The real-time runner: struct platform on pthreads.
 *
 * - One worker thread per KTLS queue, as FreeBSD runs one ktls_work_thread
 *   per CPU.  pl_wq_wakeup() sets the worker's 'kicked' flag and signals
 *   it; the worker clears the flag under the lock before it calls
 *   ktls_work_once(), so a kick that arrives while it works makes it go
 *   round again instead of being lost.
 * - RT_TASK_THREADS task threads run posted tasks from one binary heap
 *   ordered by due time (then posting order), waiting with
 *   pthread_cond_timedwait() on CLOCK_MONOTONIC so that wall-clock steps
 *   cannot fire or stall callouts.
 * - msleep(9)/wakeup(9) use a fixed hash table of sleep queues keyed by
 *   the channel, like FreeBSD's sleepq chains: the sleeper enters its chain
 *   before it drops the caller's mutex, so a wakeup issued after the
 *   condition changed under that mutex cannot slip in between.  Every
 *   sleeper on a chain waits on the chain's condition variable with the
 *   chain's own mutex (never the caller's: POSIX leaves one condvar used
 *   with two mutexes undefined).  wakeup() broadcasts; callers of msleep
 *   re-check their condition anyway.
 * - sim_rt_quiesce() waits, under the runner lock, until no worker is
 *   kicked or busy and no task is pending or running.
 * - sim_rt_hold() keeps the workers asleep with their kicks pending, so
 *   that a benchmark can fill the queues and then time the workers alone;
 *   sim_rt_cpu_ns() reads each thread's CPU clock
 *   (pthread_getcpuclockid()).
 *
 * All runner state except the sleep queues is under one mutex, rt_lock:
 * kicks are rare (ktls_enqueue() only wakes an idle worker) and one lock
 * makes the quiesce predicate trivially consistent.
 */

#include <openssl/rand.h>

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sys/kern_compat.h"
#include "sys/ktls.h"

#include "models/disk/disk.h"
#include "sim/runner/runner.h"

#define RT_TASK_THREADS 2
#define RT_SLEEPQ_HASH 64 /* power of two */

struct rt_task {
	uint64_t rtt_due;
	uint64_t rtt_seq;
	task_fn_t *rtt_fn;
	void *rtt_arg;
};

struct rt_worker {
	struct rt_runner *rw_rt;
	int rw_idx;
	bool rw_kicked;
	bool rw_busy;
	pthread_cond_t rw_cv;
	pthread_t rw_thread;
};

struct rt_sleeper {
	void *rs_chan;
	bool rs_woken;
	LIST_ENTRY(rt_sleeper) rs_link;
};

struct rt_sleepq {
	struct mtx sq_mtx;
	pthread_cond_t sq_cv;
	LIST_HEAD(, rt_sleeper) sq_sleepers;
};

struct rt_runner {
	struct platform rt_pl; /* first: pl <-> runner */
	pthread_mutex_t rt_lock;
	pthread_cond_t rt_task_cv; /* task threads */
	pthread_cond_t rt_idle_cv; /* sim_rt_quiesce() */
	bool rt_shutdown;
	bool rt_hold; /* sim_rt_hold(): workers keep their kicks */
	struct rt_worker *rt_workers;
	int rt_nbusy; /* workers kicked or running */
	struct rt_task *rt_heap;
	size_t rt_ntasks;
	size_t rt_heap_cap;
	uint64_t rt_seq;
	int rt_nrunning; /* tasks being run */
	pthread_t rt_task_threads[RT_TASK_THREADS];
	struct rt_sleepq rt_sleepq[RT_SLEEPQ_HASH];
};

static const char rt_name[] = "rt";

static struct rt_runner *
rt_runner(struct platform *pl)
{

	/* Catch a deterministic platform handed to a sim_rt_* function. */
	KASSERT(pl != NULL && pl->pl_name == rt_name,
	    ("not a real-time platform: %s",
		pl == NULL ? "NULL" : pl->pl_name));
	return ((struct rt_runner *)pl);
}

static void
rt_check(int error, const char *what)
{

	if (error != 0)
		panic("runner_rt: %s: %s", what, strerror(error));
}

static void
rt_lock(struct rt_runner *rt)
{

	rt_check(pthread_mutex_lock(&rt->rt_lock), "lock");
}

static void
rt_unlock(struct rt_runner *rt)
{

	rt_check(pthread_mutex_unlock(&rt->rt_lock), "unlock");
}

/* Every timed wait here uses CLOCK_MONOTONIC, so every condvar must too. */
static void
rt_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t attr;

	rt_check(pthread_condattr_init(&attr), "condattr_init");
	rt_check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC),
	    "condattr_setclock");
	rt_check(pthread_cond_init(cv, &attr), "cond_init");
	pthread_condattr_destroy(&attr);
}

static uint64_t
rt_clock_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		panic("runner_rt: clock_gettime: %s", strerror(errno));
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}

static struct timespec
rt_abstime(uint64_t ns)
{
	struct timespec ts;

	/* Far deadlines are clamped; a caller loops on an early time-out. */
	if (ns / 1000000000 > (uint64_t)INT32_MAX)
		ns = (uint64_t)INT32_MAX * 1000000000;
	ts.tv_sec = (time_t)(ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	return (ts);
}

static uint64_t
add_sat(uint64_t a, uint64_t b)
{

	return (a + b < a ? UINT64_MAX : a + b);
}

static bool
rt_idle(const struct rt_runner *rt)
{

	return (
	    rt->rt_nbusy == 0 && rt->rt_ntasks == 0 && rt->rt_nrunning == 0);
}

/* Called with rt_lock held after anything that may have made us idle. */
static void
rt_maybe_idle(struct rt_runner *rt)
{

	if (rt_idle(rt))
		pthread_cond_broadcast(&rt->rt_idle_cv);
}

/* Binary min-heap on (due, seq): posting order breaks ties. */
static bool
task_before(const struct rt_task *a, const struct rt_task *b)
{

	return (a->rtt_due < b->rtt_due ||
	    (a->rtt_due == b->rtt_due && a->rtt_seq < b->rtt_seq));
}

static void
heap_push(struct rt_runner *rt, const struct rt_task *t)
{
	struct rt_task *h, tmp;
	size_t i, ncap, parent;

	if (rt->rt_ntasks == rt->rt_heap_cap) {
		ncap = rt->rt_heap_cap == 0 ? 16 : rt->rt_heap_cap * 2;
		h = reallocarray(rt->rt_heap, ncap, sizeof(*h));
		if (h == NULL)
			panic("runner_rt: task heap: out of memory");
		rt->rt_heap = h;
		rt->rt_heap_cap = ncap;
	}
	h = rt->rt_heap;
	i = rt->rt_ntasks++;
	h[i] = *t;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!task_before(&h[i], &h[parent]))
			break;
		tmp = h[i];
		h[i] = h[parent];
		h[parent] = tmp;
		i = parent;
	}
}

static struct rt_task
heap_pop(struct rt_runner *rt)
{
	struct rt_task *h, top, tmp;
	size_t c, i, n;

	MPASS(rt->rt_ntasks > 0);
	h = rt->rt_heap;
	top = h[0];
	n = --rt->rt_ntasks;
	h[0] = h[n];
	i = 0;
	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && task_before(&h[c + 1], &h[c]))
			c++;
		if (!task_before(&h[c], &h[i]))
			break;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
		i = c;
	}
	return (top);
}

/*
 * The body of ktls_work_thread(): sleep until kicked, then drain the queue.
 * A kick while busy leaves rw_kicked set, so the loop runs again.
 */
static void *
rt_worker_main(void *arg)
{
	struct rt_worker *rw;
	struct rt_runner *rt;

	rw = arg;
	rt = rw->rw_rt;
	rt_lock(rt);
	for (;;) {
		while ((!rw->rw_kicked || rt->rt_hold) && !rt->rt_shutdown)
			pthread_cond_wait(&rw->rw_cv, &rt->rt_lock);
		if (rt->rt_shutdown)
			break;
		rw->rw_kicked = false;
		rw->rw_busy = true;
		rt_unlock(rt);
		while (ktls_work_once(rw->rw_idx))
			continue;
		rt_lock(rt);
		rw->rw_busy = false;
		if (!rw->rw_kicked) {
			rt->rt_nbusy--;
			rt_maybe_idle(rt);
		}
	}
	rt_unlock(rt);
	return (NULL);
}

static void *
rt_task_main(void *arg)
{
	struct rt_runner *rt;
	struct rt_task t;
	struct timespec abs;
	uint64_t now;

	rt = arg;
	rt_lock(rt);
	while (!rt->rt_shutdown) {
		if (rt->rt_ntasks == 0) {
			pthread_cond_wait(&rt->rt_task_cv, &rt->rt_lock);
			continue;
		}
		now = rt_clock_ns();
		if (rt->rt_heap[0].rtt_due > now) {
			abs = rt_abstime(rt->rt_heap[0].rtt_due);
			pthread_cond_timedwait(&rt->rt_task_cv, &rt->rt_lock,
			    &abs);
			continue;
		}
		t = heap_pop(rt);
		rt->rt_nrunning++;
		/*
		 * Another thread may be parked without a deadline; hand it
		 * the next task's deadline so a long task here does not hold
		 * up the rest of the heap.
		 */
		if (rt->rt_ntasks > 0)
			pthread_cond_signal(&rt->rt_task_cv);
		rt_unlock(rt);
		t.rtt_fn(t.rtt_arg);
		rt_lock(rt);
		rt->rt_nrunning--;
		rt_maybe_idle(rt);
	}
	rt_unlock(rt);
	return (NULL);
}

static void
rt_wq_wakeup(struct platform *pl, int idx)
{
	struct rt_runner *rt;
	struct rt_worker *rw;
	bool wake;

	rt = rt_runner(pl);
	KASSERT(idx >= 0 && idx < pl->pl_ncpus,
	    ("rt_wq_wakeup: bad queue %d", idx));
	rw = &rt->rt_workers[idx];
	wake = false;
	rt_lock(rt);
	if (!rw->rw_kicked) {
		/* A busy worker sees the kick before it goes to sleep. */
		if (!rw->rw_busy) {
			rt->rt_nbusy++;
			wake = true;
		}
		rw->rw_kicked = true;
	}
	rt_unlock(rt);
	/*
	 * After the unlock, so that the worker does not wake only to block
	 * on rt_lock; it tests rw_kicked under the lock before it waits, so
	 * the kick cannot be lost.
	 */
	if (wake)
		pthread_cond_signal(&rw->rw_cv);
}

static void
rt_task_post(struct platform *pl, uint64_t delay_ns, task_fn_t *fn, void *arg)
{
	struct rt_runner *rt;
	struct rt_task t;

	rt = rt_runner(pl);
	MPASS(fn != NULL);
	t.rtt_due = add_sat(rt_clock_ns(), delay_ns);
	t.rtt_fn = fn;
	t.rtt_arg = arg;
	rt_lock(rt);
	t.rtt_seq = rt->rt_seq++;
	heap_push(rt, &t);
	/*
	 * Only a new earliest task changes what a waiting thread should
	 * wait for; broadcast so that an idle thread and one in a timed
	 * wait both re-read the head.
	 */
	if (rt->rt_heap[0].rtt_seq == t.rtt_seq)
		pthread_cond_broadcast(&rt->rt_task_cv);
	rt_unlock(rt);
}

static struct rt_sleepq *
rt_sleepq_lookup(struct rt_runner *rt, const void *chan)
{
	uintptr_t h;

	/* Drop the alignment bits, then mix (Fibonacci hashing). */
	h = (uintptr_t)chan >> 3;
	h = (uintptr_t)((uint64_t)h * UINT64_C(0x9e3779b97f4a7c15) >> 32);
	return (&rt->rt_sleepq[h & (RT_SLEEPQ_HASH - 1)]);
}

static int
rt_sleep(struct platform *pl, void *chan, struct mtx *m, uint64_t timo_ns)
{
	struct rt_runner *rt;
	struct rt_sleepq *sq;
	struct rt_sleeper rs;
	struct timespec abs;
	int error;

	rt = rt_runner(pl);
	MPASS(chan != NULL);
	if (timo_ns != 0)
		abs = rt_abstime(add_sat(rt_clock_ns(), timo_ns));
	sq = rt_sleepq_lookup(rt, chan);
	rs.rs_chan = chan;
	rs.rs_woken = false;

	/* Enter the chain before dropping m: no lost wakeup in between. */
	mtx_lock(&sq->sq_mtx);
	LIST_INSERT_HEAD(&sq->sq_sleepers, &rs, rs_link);
	if (m != NULL)
		mtx_unlock(m);
	error = 0;
	while (!rs.rs_woken) {
		error = mtx_cond_wait(&sq->sq_cv, &sq->sq_mtx,
		    timo_ns != 0 ? &abs : NULL);
		if (error == EWOULDBLOCK)
			break;
	}
	/* A wakeup that raced with the time-out still counts. */
	if (rs.rs_woken)
		error = 0;
	LIST_REMOVE(&rs, rs_link);
	mtx_unlock(&sq->sq_mtx);

	/* Never hold a chain while taking m: wakeup() runs under m. */
	if (m != NULL)
		mtx_lock(m);
	return (error);
}

static void
rt_wakeup(struct platform *pl, void *chan)
{
	struct rt_runner *rt;
	struct rt_sleepq *sq;
	struct rt_sleeper *rs;
	bool any;

	rt = rt_runner(pl);
	sq = rt_sleepq_lookup(rt, chan);
	any = false;
	mtx_lock(&sq->sq_mtx);
	LIST_FOREACH(rs, &sq->sq_sleepers, rs_link) {
		if (rs->rs_chan == chan) {
			rs->rs_woken = true;
			any = true;
		}
	}
	if (any)
		pthread_cond_broadcast(&sq->sq_cv);
	mtx_unlock(&sq->sq_mtx);
}

static uint64_t
rt_now(struct platform *pl)
{

	(void)pl;
	return (rt_clock_ns());
}

static void
rt_random(struct platform *pl, void *buf, size_t len)
{
	uint8_t *p;
	int n;

	(void)pl;
	/* RAND_bytes() takes an int length. */
	for (p = buf; len > 0; p += n, len -= n) {
		n = len > INT_MAX ? INT_MAX : (int)len;
		if (RAND_bytes(p, n) != 1)
			panic("runner_rt: RAND_bytes failed");
	}
}

struct platform *
sim_rt_create(int ncpus)
{
	struct rt_runner *rt;
	struct rt_worker *rw;
	char name[32]; /* sized for the format; the names fit in 15 */
	int error, i;

	KASSERT(ncpus > 0, ("sim_rt_create: ncpus %d", ncpus));
	rt = kmalloc(sizeof(*rt), M_WAITOK | M_ZERO);
	rt->rt_workers =
	    kmalloc(ncpus * sizeof(rt->rt_workers[0]), M_WAITOK | M_ZERO);
	rt_check(pthread_mutex_init(&rt->rt_lock, NULL), "mutex_init");
	rt_cond_init(&rt->rt_task_cv);
	rt_cond_init(&rt->rt_idle_cv);
	for (i = 0; i < RT_SLEEPQ_HASH; i++) {
		mtx_init(&rt->rt_sleepq[i].sq_mtx, "sleepq chain");
		rt_cond_init(&rt->rt_sleepq[i].sq_cv);
		LIST_INIT(&rt->rt_sleepq[i].sq_sleepers);
	}
	rt->rt_pl.pl_name = rt_name;
	rt->rt_pl.pl_ncpus = ncpus;
	rt->rt_pl.pl_wq_wakeup = rt_wq_wakeup;
	rt->rt_pl.pl_task_post = rt_task_post;
	rt->rt_pl.pl_sleep = rt_sleep;
	rt->rt_pl.pl_wakeup = rt_wakeup;
	rt->rt_pl.pl_now = rt_now;
	rt->rt_pl.pl_random = rt_random;
	/* Disk reads complete on the task threads, in due-time order. */
	rt->rt_pl.pl_pager = &disk_pagerops;

	for (i = 0; i < ncpus; i++) {
		rw = &rt->rt_workers[i];
		rw->rw_rt = rt;
		rw->rw_idx = i;
		rt_cond_init(&rw->rw_cv);
		error =
		    pthread_create(&rw->rw_thread, NULL, rt_worker_main, rw);
		rt_check(error, "pthread_create worker");
		/* FreeBSD names them "ktls%d"; helps in gdb and top -H. */
		snprintf(name, sizeof(name), "ktls%d", i);
		(void)pthread_setname_np(rw->rw_thread, name);
	}
	for (i = 0; i < RT_TASK_THREADS; i++) {
		error = pthread_create(&rt->rt_task_threads[i], NULL,
		    rt_task_main, rt);
		rt_check(error, "pthread_create task");
		snprintf(name, sizeof(name), "simtask%d", i);
		(void)pthread_setname_np(rt->rt_task_threads[i], name);
	}
	return (&rt->rt_pl);
}

void
sim_rt_hold(struct platform *pl, bool hold)
{
	struct rt_runner *rt;
	int i;

	rt = rt_runner(pl);
	rt_lock(rt);
	rt->rt_hold = hold;
	if (!hold) {
		for (i = 0; i < pl->pl_ncpus; i++)
			pthread_cond_signal(&rt->rt_workers[i].rw_cv);
	}
	rt_unlock(rt);
}

static uint64_t
rt_thread_cpu_ns(pthread_t t)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return (0);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}

uint64_t
sim_rt_cpu_ns(struct platform *pl, int idx)
{
	struct rt_runner *rt;
	uint64_t ns;
	int i;

	rt = rt_runner(pl);
	KASSERT(idx >= -1 && idx < pl->pl_ncpus,
	    ("sim_rt_cpu_ns: bad worker %d", idx));
	if (idx >= 0)
		return (rt_thread_cpu_ns(rt->rt_workers[idx].rw_thread));
	ns = 0;
	for (i = 0; i < RT_TASK_THREADS; i++)
		ns += rt_thread_cpu_ns(rt->rt_task_threads[i]);
	return (ns);
}

void
sim_rt_quiesce(struct platform *pl)
{
	struct rt_runner *rt;

	rt = rt_runner(pl);
	rt_lock(rt);
	while (!rt_idle(rt))
		pthread_cond_wait(&rt->rt_idle_cv, &rt->rt_lock);
	rt_unlock(rt);
}

void
sim_rt_destroy(struct platform *pl)
{
	struct rt_runner *rt;
	int i;

	if (pl == NULL)
		return;
	rt = rt_runner(pl);
	rt_lock(rt);
	rt->rt_shutdown = true;
	for (i = 0; i < pl->pl_ncpus; i++)
		pthread_cond_signal(&rt->rt_workers[i].rw_cv);
	pthread_cond_broadcast(&rt->rt_task_cv);
	rt_unlock(rt);

	for (i = 0; i < pl->pl_ncpus; i++)
		rt_check(pthread_join(rt->rt_workers[i].rw_thread, NULL),
		    "pthread_join worker");
	for (i = 0; i < RT_TASK_THREADS; i++)
		rt_check(pthread_join(rt->rt_task_threads[i], NULL),
		    "pthread_join task");

	for (i = 0; i < RT_SLEEPQ_HASH; i++) {
		KASSERT(LIST_EMPTY(&rt->rt_sleepq[i].sq_sleepers),
		    ("sim_rt_destroy: thread asleep on chain %d", i));
		pthread_cond_destroy(&rt->rt_sleepq[i].sq_cv);
		mtx_destroy(&rt->rt_sleepq[i].sq_mtx);
	}
	for (i = 0; i < pl->pl_ncpus; i++)
		pthread_cond_destroy(&rt->rt_workers[i].rw_cv);
	pthread_cond_destroy(&rt->rt_idle_cv);
	pthread_cond_destroy(&rt->rt_task_cv);
	pthread_mutex_destroy(&rt->rt_lock);
	kfree(rt->rt_heap);
	kfree(rt->rt_workers);
	kfree(rt);
}
