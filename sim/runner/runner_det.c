/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The deterministic runner: struct platform on one thread, in virtual time,
 * with one seeded RNG (xoshiro256**, seeded through splitmix64) deciding
 * every order.  A failing run replays exactly from its seed, so nothing
 * here may look at the wall clock, at pointer values or at another thread.
 *
 * The scheduler's candidates are the runnable worker queues (set by
 * pl_wq_wakeup()) and the pending tasks (pl_task_post()).  One step picks
 * one candidate, uniformly at random or in FIFO order, advances virtual
 * time to its due time if that is later, and runs it.  Pending tasks only
 * promise to run "at least delay_ns from now", so a task due later may be
 * picked before one due earlier; time then jumps forward and the earlier
 * one runs late.  That is allowed by the contract and is exactly the kind
 * of reordering (a disk read completing before an earlier one) that the
 * random policy exists to explore.
 *
 * msleep(9) cannot block the only thread, so pl_sleep() runs the scheduler
 * in place until the channel is woken, its time-out passes, or nothing is
 * left to run.  Sleeps nest: a task or worker run from inside a sleep may
 * itself sleep; the inner sleep must return before the outer one can (a
 * stack, unlike a kernel), and code run during a sleep must not take a lock
 * that an outer frame holds (mtx(9) is an error-checking mutex, so that is
 * a KASSERT panic rather than a hang).  A worker queue being run is never
 * picked again until its ktls_work_once() returns, as in FreeBSD where one
 * thread serves each queue.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sys/kern_compat.h"
#include "sys/ktls.h"

#include "models/disk/disk.h"
#include "sim/runner/runner.h"

/* Deepest msleep() nesting; deeper means runaway recursion in a test. */
#define DET_MAX_SLEEPERS 32

struct det_task {
	uint64_t dt_due;
	uint64_t dt_seq;
	task_fn_t *dt_fn;
	void *dt_arg;
};

struct det_queue {
	bool dq_runnable;
	bool dq_busy;	 /* inside ktls_work_once() */
	uint64_t dq_due; /* time of the wakeup */
	uint64_t dq_seq; /* order of the wakeup */
};

struct det_sleeper {
	void *ds_chan;
	bool ds_woken;
};

/* A chosen candidate: queue index, or -1 and an index into dr_tasks. */
struct det_cand {
	int dc_queue;
	size_t dc_task;
	uint64_t dc_due;
};

struct det_runner {
	struct platform dr_pl; /* first: pl <-> runner */
	uint64_t dr_rng[4];
	uint64_t dr_now;
	uint64_t dr_seq; /* posting order for FIFO and ties */
	uint64_t dr_steps;
	uint64_t dr_step_cap;
	enum sim_det_policy dr_policy;
	struct det_queue *dr_queues;
	struct det_task *dr_tasks; /* kept in posting order */
	size_t dr_ntasks;
	size_t dr_tasks_cap;
	struct det_sleeper dr_sleepers[DET_MAX_SLEEPERS];
	int dr_nsleepers;
};

static const char det_name[] = "det";

static struct det_runner *
det_runner(struct platform *pl)
{

	/* Catch a real-time platform handed to a sim_det_* function. */
	KASSERT(pl != NULL && pl->pl_name == det_name,
	    ("not a deterministic platform: %s",
		pl == NULL ? "NULL" : pl->pl_name));
	return ((struct det_runner *)pl);
}

/*
 * splitmix64 (Steele, Lea, Flood 2014) only expands the user's seed into
 * the 256-bit xoshiro state, which must not be all zero.
 */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z;

	z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

static inline uint64_t
rotl(uint64_t x, int k)
{

	return ((x << k) | (x >> (64 - k)));
}

/* xoshiro256** 1.0 (Blackman, Vigna): small, fast, and fully specified. */
static uint64_t
det_rng_next(struct det_runner *dr)
{
	uint64_t *s, result, t;

	s = dr->dr_rng;
	result = rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (result);
}

/*
 * Uniform in [0, n) without modulo bias: reject the low values that would
 * make some residues more likely.  The rejection loop consumes a
 * deterministic number of draws for a given state, so replay is exact.
 */
static uint64_t
det_rng_below(struct det_runner *dr, uint64_t n)
{
	uint64_t r, threshold;

	MPASS(n > 0);
	threshold = -n % n;
	do {
		r = det_rng_next(dr);
	} while (r < threshold);
	return (r % n);
}

static uint64_t
add_sat(uint64_t a, uint64_t b)
{

	return (a + b < a ? UINT64_MAX : a + b);
}

/* Is candidate (due1, seq1) before (due2, seq2) in FIFO order? */
static bool
fifo_before(uint64_t due1, uint64_t seq1, uint64_t due2, uint64_t seq2)
{

	return (due1 < due2 || (due1 == due2 && seq1 < seq2));
}

/*
 * Choose the next candidate without running it, so that pl_sleep() can
 * notice that the choice lies beyond its time-out and time out first.
 * Candidates are enumerated in a fixed order (queues by index, then tasks
 * in posting order) so that the RNG draw maps to the same one on replay.
 */
static bool
det_pick(struct det_runner *dr, struct det_cand *dc)
{
	struct det_queue *dq;
	struct det_task *dt;
	uint64_t best_due, best_seq, k, n;
	int i;
	size_t j;

	n = 0;
	for (i = 0; i < dr->dr_pl.pl_ncpus; i++) {
		dq = &dr->dr_queues[i];
		if (dq->dq_runnable && !dq->dq_busy)
			n++;
	}
	n += dr->dr_ntasks;
	if (n == 0)
		return (false);

	if (dr->dr_policy == SIM_DET_FIFO) {
		best_due = best_seq = UINT64_MAX;
		dc->dc_queue = -1;
		dc->dc_task = SIZE_MAX;
		for (i = 0; i < dr->dr_pl.pl_ncpus; i++) {
			dq = &dr->dr_queues[i];
			if (!dq->dq_runnable || dq->dq_busy ||
			    !fifo_before(dq->dq_due, dq->dq_seq, best_due,
				best_seq))
				continue;
			best_due = dq->dq_due;
			best_seq = dq->dq_seq;
			dc->dc_queue = i;
		}
		for (j = 0; j < dr->dr_ntasks; j++) {
			dt = &dr->dr_tasks[j];
			if (!fifo_before(dt->dt_due, dt->dt_seq, best_due,
				best_seq))
				continue;
			best_due = dt->dt_due;
			best_seq = dt->dt_seq;
			dc->dc_queue = -1;
			dc->dc_task = j;
		}
		dc->dc_due = best_due;
		return (true);
	}

	/* A single candidate needs no draw; replay stays exact either way. */
	k = n > 1 ? det_rng_below(dr, n) : 0;
	for (i = 0; i < dr->dr_pl.pl_ncpus; i++) {
		dq = &dr->dr_queues[i];
		if (!dq->dq_runnable || dq->dq_busy)
			continue;
		if (k-- == 0) {
			dc->dc_queue = i;
			dc->dc_due = dq->dq_due;
			return (true);
		}
	}
	MPASS(k < dr->dr_ntasks);
	dc->dc_queue = -1;
	dc->dc_task = k;
	dc->dc_due = dr->dr_tasks[k].dt_due;
	return (true);
}

static void
det_run_cand(struct det_runner *dr, const struct det_cand *dc)
{
	struct det_queue *dq;
	struct det_task dt;
	int idx;

	if (dc->dc_due > dr->dr_now)
		dr->dr_now = dc->dc_due;
	dr->dr_steps++;
	if (dc->dc_queue >= 0) {
		idx = dc->dc_queue;
		dq = &dr->dr_queues[idx];
		dq->dq_runnable = false;
		dq->dq_busy = true;
		/*
		 * ktls_work_once() detaches everything queued, but work
		 * enqueued while it runs may rely on the worker looping
		 * (FreeBSD's ktls_enqueue() only wakes an idle worker).  So
		 * a call that did work makes the queue runnable again, to be
		 * called until it reports nothing to do, as the real-time
		 * worker does; meanwhile others may be scheduled in between.
		 */
		if (ktls_work_once(idx) && !dq->dq_runnable) {
			dq->dq_runnable = true;
			dq->dq_due = dr->dr_now;
			dq->dq_seq = dr->dr_seq++;
		}
		dq->dq_busy = false;
		return;
	}
	/* Remove before running: the task may post more tasks. */
	dt = dr->dr_tasks[dc->dc_task];
	memmove(&dr->dr_tasks[dc->dc_task], &dr->dr_tasks[dc->dc_task + 1],
	    (dr->dr_ntasks - dc->dc_task - 1) * sizeof(dr->dr_tasks[0]));
	dr->dr_ntasks--;
	dt.dt_fn(dt.dt_arg);
}

uint64_t
sim_det_next_due(struct platform *pl)
{
	struct det_runner *dr;
	uint64_t due;
	int i;

	dr = det_runner(pl);
	due = UINT64_MAX;
	for (i = 0; i < dr->dr_pl.pl_ncpus; i++)
		if (dr->dr_queues[i].dq_runnable && !dr->dr_queues[i].dq_busy &&
		    dr->dr_queues[i].dq_due < due)
			due = dr->dr_queues[i].dq_due;
	for (size_t j = 0; j < dr->dr_ntasks; j++)
		if (dr->dr_tasks[j].dt_due < due)
			due = dr->dr_tasks[j].dt_due;
	return (due);
}

bool
sim_det_step(struct platform *pl)
{
	struct det_runner *dr;
	struct det_cand dc;

	dr = det_runner(pl);
	if (!det_pick(dr, &dc))
		return (false);
	det_run_cand(dr, &dc);
	return (true);
}

void
sim_det_run(struct platform *pl)
{
	struct det_runner *dr;
	uint64_t n;

	dr = det_runner(pl);
	for (n = 0; sim_det_step(pl);) {
		if (++n >= dr->dr_step_cap)
			panic("sim_det_run: not idle after %ju steps "
			      "(livelock?)",
			    (uintmax_t)n);
	}
}

static void
det_wq_wakeup(struct platform *pl, int idx)
{
	struct det_runner *dr;
	struct det_queue *dq;

	dr = det_runner(pl);
	KASSERT(idx >= 0 && idx < pl->pl_ncpus,
	    ("det_wq_wakeup: bad queue %d", idx));
	dq = &dr->dr_queues[idx];
	/* A second wakeup before the worker ran keeps its first place. */
	if (dq->dq_runnable)
		return;
	dq->dq_runnable = true;
	dq->dq_due = dr->dr_now;
	dq->dq_seq = dr->dr_seq++;
}

static void
det_task_post(struct platform *pl, uint64_t delay_ns, task_fn_t *fn, void *arg)
{
	struct det_runner *dr;
	struct det_task *dt;
	size_t ncap;

	dr = det_runner(pl);
	MPASS(fn != NULL);
	if (dr->dr_ntasks == dr->dr_tasks_cap) {
		ncap = dr->dr_tasks_cap == 0 ? 16 : dr->dr_tasks_cap * 2;
		dt = reallocarray(dr->dr_tasks, ncap, sizeof(*dt));
		if (dt == NULL)
			panic("det_task_post: out of memory");
		dr->dr_tasks = dt;
		dr->dr_tasks_cap = ncap;
	}
	dt = &dr->dr_tasks[dr->dr_ntasks++];
	dt->dt_due = add_sat(dr->dr_now, delay_ns);
	dt->dt_seq = dr->dr_seq++;
	dt->dt_fn = fn;
	dt->dt_arg = arg;
}

/*
 * The sleeper's own entry is found again by depth, not by chan: several
 * nested sleeps may share one chan and wakeup(9) wakes all of them.
 */
static int
det_sleep(struct platform *pl, void *chan, struct mtx *m, uint64_t timo_ns)
{
	struct det_runner *dr;
	struct det_sleeper *ds;
	struct det_cand dc;
	uint64_t deadline, n;
	int depth, error;

	dr = det_runner(pl);
	MPASS(chan != NULL);
	if (dr->dr_nsleepers == DET_MAX_SLEEPERS)
		panic("det_sleep: more than %d nested sleeps",
		    DET_MAX_SLEEPERS);
	depth = dr->dr_nsleepers++;
	ds = &dr->dr_sleepers[depth];
	ds->ds_chan = chan;
	ds->ds_woken = false;
	deadline = timo_ns == 0 ? UINT64_MAX : add_sat(dr->dr_now, timo_ns);
	if (m != NULL)
		mtx_unlock(m);

	for (n = 0;; n++) {
		/* ds may not move: dr_sleepers is a fixed array. */
		if (ds->ds_woken) {
			error = 0;
			break;
		}
		if (dr->dr_now >= deadline) {
			error = EWOULDBLOCK;
			break;
		}
		if (n >= dr->dr_step_cap)
			panic("det_sleep: not woken after %ju steps "
			      "(livelock?)",
			    (uintmax_t)n);
		if (!det_pick(dr, &dc)) {
			/*
			 * Nothing left could wake us.  A kernel would sleep
			 * until the time-out (or forever); the simulation
			 * jumps to the time-out, or gives up at once.
			 */
			if (timo_ns != 0)
				dr->dr_now = deadline;
			error = EWOULDBLOCK;
			break;
		}
		if (dc.dc_due > deadline) {
			/*
			 * The callout fires before the chosen work is due:
			 * time out now and leave the work pending.
			 */
			dr->dr_now = deadline;
			error = EWOULDBLOCK;
			break;
		}
		det_run_cand(dr, &dc);
	}

	MPASS(dr->dr_nsleepers == depth + 1);
	dr->dr_nsleepers = depth;
	if (m != NULL)
		mtx_lock(m);
	return (error);
}

/*
 * A wakeup with nobody asleep on chan is lost, as in the kernel; only
 * current sleepers are marked.
 */
static void
det_wakeup(struct platform *pl, void *chan)
{
	struct det_runner *dr;
	int i;

	dr = det_runner(pl);
	for (i = 0; i < dr->dr_nsleepers; i++) {
		if (dr->dr_sleepers[i].ds_chan == chan)
			dr->dr_sleepers[i].ds_woken = true;
	}
}

static uint64_t
det_now(struct platform *pl)
{

	return (det_runner(pl)->dr_now);
}

/* Byte order fixed explicitly so a seed gives the same bytes anywhere. */
static void
det_random(struct platform *pl, void *buf, size_t len)
{
	struct det_runner *dr;
	uint8_t *p;
	uint64_t r;
	size_t i;

	dr = det_runner(pl);
	p = buf;
	r = 0;
	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			r = det_rng_next(dr);
		p[i] = (uint8_t)r;
		r >>= 8;
	}
}

struct platform *
sim_det_create(uint64_t seed, int ncpus)
{
	struct det_runner *dr;
	uint64_t x;
	int i;

	KASSERT(ncpus > 0, ("sim_det_create: ncpus %d", ncpus));
	dr = kmalloc(sizeof(*dr), M_WAITOK | M_ZERO);
	dr->dr_queues =
	    kmalloc(ncpus * sizeof(dr->dr_queues[0]), M_WAITOK | M_ZERO);
	x = seed;
	for (i = 0; i < 4; i++)
		dr->dr_rng[i] = splitmix64(&x);
	dr->dr_step_cap = SIM_DET_STEP_CAP;
	dr->dr_policy = SIM_DET_RANDOM;
	dr->dr_pl.pl_name = det_name;
	dr->dr_pl.pl_ncpus = ncpus;
	dr->dr_pl.pl_wq_wakeup = det_wq_wakeup;
	dr->dr_pl.pl_task_post = det_task_post;
	dr->dr_pl.pl_sleep = det_sleep;
	dr->dr_pl.pl_wakeup = det_wakeup;
	dr->dr_pl.pl_now = det_now;
	dr->dr_pl.pl_random = det_random;
	/*
	 * Disk reads complete as pending tasks: the seeded RNG picks their
	 * order, and their latency is virtual time.
	 */
	dr->dr_pl.pl_pager = &disk_pagerops;
	return (&dr->dr_pl);
}

void
sim_det_set_policy(struct platform *pl, enum sim_det_policy policy)
{

	KASSERT(policy == SIM_DET_RANDOM || policy == SIM_DET_FIFO,
	    ("sim_det_set_policy: bad policy %d", (int)policy));
	det_runner(pl)->dr_policy = policy;
}

void
sim_det_set_step_cap(struct platform *pl, uint64_t cap)
{

	det_runner(pl)->dr_step_cap = cap;
}

uint64_t
sim_det_rand(struct platform *pl)
{

	return (det_rng_next(det_runner(pl)));
}

uint64_t
sim_det_steps(struct platform *pl)
{

	return (det_runner(pl)->dr_steps);
}

void
sim_det_destroy(struct platform *pl)
{
	struct det_runner *dr;

	if (pl == NULL)
		return;
	dr = det_runner(pl);
	KASSERT(dr->dr_nsleepers == 0,
	    ("sim_det_destroy: %d sleepers", dr->dr_nsleepers));
	kfree(dr->dr_tasks);
	kfree(dr->dr_queues);
	kfree(dr);
}
