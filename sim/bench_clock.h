/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * What the benchmark programs of sim/ (ktls_bench, ktls_aead_bench,
 * ssl_write_bench, ktls_cost) share: their clocks and a wire that takes
 * everything.  They assert nothing; docs/performance.md reads them.
 */

#ifndef _SIM_BENCH_CLOCK_H_
#define _SIM_BENCH_CLOCK_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <time.h>

/*
 * The calling thread's CPU time, precise: getrusage()'s figures can be
 * counted in scheduler ticks, which make a short run read 0.
 */
static inline double
bench_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static inline double
bench_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* A tw_output that takes every byte and keeps none. */
static inline ssize_t
bench_sink_output(void *arg, const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	(void)arg;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return ((ssize_t)n);
}

#endif /* !_SIM_BENCH_CLOCK_H_ */
