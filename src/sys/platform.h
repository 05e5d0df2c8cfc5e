/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: the platform interface.  Everything the simulated kernel needs from
 * "outside" (threads, deferred work, sleeping, time, randomness, the disk)
 * goes through one table of function pointers, so that the same src/ code
 * runs under the deterministic runner (one thread, virtual time, seeded
 * RNG) and under the real-time runner (pthread workers).
 * sim/runner/runner_det.c and sim/runner/runner_rt.c implement it, and
 * both install the disk of models/disk/ as its pager.  Nothing in src/
 * knows which one it got.
 */

#ifndef _SYS_PLATFORM_H_
#define _SYS_PLATFORM_H_

#include <stddef.h>
#include <stdint.h>

struct mtx;
struct pagerops;

typedef void task_fn_t(void *arg);

struct platform {
	const char *pl_name;

	/*
	 * Number of KTLS worker queues (FreeBSD: one per CPU).  Read once by
	 * ktls_init().
	 */
	int pl_ncpus;

	/*
	 * Worker queue 'idx' has work and its worker is idle: run
	 * ktls_work_once(idx) soon, and again as long as it returns true,
	 * as ktls_work_thread() loops (models wakeup(wq) in ktls_enqueue(),
	 * which does not wake a worker that is still running).
	 */
	void (*pl_wq_wakeup)(struct platform *pl, int idx);

	/*
	 * Run fn(arg) later, at least delay_ns from now, on some thread that
	 * is not the caller's (taskqueue, callout, disk-I/O completion,
	 * asynchronous crypto completion).  The deterministic runner picks
	 * the order of pending tasks with its seeded RNG.
	 */
	void (*pl_task_post)(struct platform *pl, uint64_t delay_ns,
	    task_fn_t *fn, void *arg);

	/*
	 * msleep(9): atomically release m, wait for wakeup(chan) or timo_ns
	 * (0 means forever), reacquire m.  Returns 0 when woken, EWOULDBLOCK
	 * on time-out.  The deterministic runner runs pending work while the
	 * caller "sleeps" and returns EWOULDBLOCK when nothing is left that
	 * could wake it (a real kernel would sleep forever).
	 */
	int (*pl_sleep)(struct platform *pl, void *chan, struct mtx *m,
	    uint64_t timo_ns);
	void (*pl_wakeup)(struct platform *pl, void *chan);

	/* Monotonic clock in nanoseconds (virtual time when deterministic). */
	uint64_t (*pl_now)(struct platform *pl);

	/* arc4rand(9). */
	void (*pl_random)(struct platform *pl, void *buf, size_t len);

	/*
	 * The VM objects, page cache and disk behind sendfile(2)
	 * (vm/vm_pager.h).  Its reads complete through pl_task_post(), so
	 * the runner orders them and, when deterministic, times them.
	 */
	const struct pagerops *pl_pager;
};

/* The platform the simulated kernel currently runs on. */
extern struct platform *platform;

void platform_set(struct platform *pl);

static inline void
arc4rand(void *buf, size_t len, int reseed)
{

	(void)reseed;
	platform->pl_random(platform, buf, len);
}

static inline uint64_t
sim_now(void)
{

	return (platform->pl_now(platform));
}

#endif /* !_SYS_PLATFORM_H_ */
