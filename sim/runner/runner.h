/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The two implementations of struct platform (sys/platform.h).
 *
 * Deterministic runner (runner_det.c): one thread, virtual time, and one
 * seeded RNG that makes every nondeterministic choice (which runnable
 * worker queue or pending task runs next) and also serves arc4rand(9), so
 * that a run replays exactly from its seed.  Nothing runs until the caller
 * drives it with sim_det_step()/sim_det_run() or until simulated code
 * sleeps in msleep(9), which steps the scheduler in place.
 *
 * Real-time runner (runner_rt.c): one pthread worker per queue, a small
 * pool of task threads, CLOCK_MONOTONIC time, RAND_bytes() randomness, and
 * a sleep-queue hash table for msleep(9)/wakeup(9).  For sim_server and
 * benchmarks.
 *
 * Both install the disk model of models/disk/ as pl_pager: its reads
 * complete through pl_task_post(), and its profile (disk.h) sets their
 * latency and how often they overtake each other.
 *
 * Neither constructor calls platform_set(); the harness does, before
 * ktls_init(), which reads pl_ncpus.  Tear down in the order
 * sim_*_run/quiesce, ktls_uninit(), sim_*_destroy().
 */

#ifndef _SIM_RUNNER_RUNNER_H_
#define _SIM_RUNNER_RUNNER_H_

#include <stdbool.h>
#include <stdint.h>

#include "sys/platform.h"

/* How the deterministic runner picks among the ready candidates. */
enum sim_det_policy {
	/* Uniformly at random with the seeded RNG (the default). */
	SIM_DET_RANDOM = 0,
	/*
	 * Strictly by due time, then by posting order (a queue wakeup is
	 * "posted" with due time = the time of the wakeup).  Consumes no
	 * randomness; for small tests that want one obvious schedule.
	 */
	SIM_DET_FIFO = 1,
};

/* Virtual time starts at 0; the policy at SIM_DET_RANDOM. */
struct platform *sim_det_create(uint64_t seed, int ncpus);
/* Run one candidate; false when there was nothing to run. */
bool sim_det_step(struct platform *pl);
/*
 * The earliest due time of anything ready to run, UINT64_MAX when nothing
 * is.  With SIM_DET_FIFO, stepping while it is <= sim_now() runs what is
 * due now and leaves timers in the future alone.
 */
uint64_t sim_det_next_due(struct platform *pl);
/* Step until idle; panics after the step cap (livelock). */
void sim_det_run(struct platform *pl);
void sim_det_set_policy(struct platform *pl, enum sim_det_policy policy);
/*
 * Steps allowed per sim_det_run() call and per msleep() before the runner
 * declares a livelock and panics (default SIM_DET_STEP_CAP).
 */
#define SIM_DET_STEP_CAP (UINT64_C(1) << 32)
void sim_det_set_step_cap(struct platform *pl, uint64_t cap);
/* Next value of the runner's RNG, for harness decisions (loss, reorder). */
uint64_t sim_det_rand(struct platform *pl);
/* Total steps run so far (statistics, fuzz budgets). */
uint64_t sim_det_steps(struct platform *pl);
/* Frees pending tasks without running them. */
void sim_det_destroy(struct platform *pl);

struct platform *sim_rt_create(int ncpus);
/*
 * Block until no worker is kicked or running and no task is pending or
 * running.  Must not be called from a worker or task thread.
 */
void sim_rt_quiesce(struct platform *pl);
/*
 * While held, workers leave their queues alone: kicks are kept and acted
 * on at release.  For benchmarks that fill the queues first and then time
 * the workers alone; sim_rt_quiesce() while held waits forever.
 */
void sim_rt_hold(struct platform *pl, bool hold);
/*
 * CPU time in nanoseconds that worker idx (0 .. ncpus - 1) has used so
 * far, or with idx -1 the task threads together (benchmarks).
 */
uint64_t sim_rt_cpu_ns(struct platform *pl, int idx);
/* Stops and joins every thread; pending tasks are dropped, not run. */
void sim_rt_destroy(struct platform *pl);

#endif /* !_SIM_RUNNER_RUNNER_H_ */
