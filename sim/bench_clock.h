/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * What the benchmark programs of sim/ (ktls_bench, ktls_aead_bench,
 * ssl_write_bench, ktls_cost) share: their clocks, a wire that takes
 * everything and the random file they send.  They assert nothing;
 * docs/performance.md reads them.
 */

#ifndef _SIM_BENCH_CLOCK_H_
#define _SIM_BENCH_CLOCK_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

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

/*
 * An unlinked temporary file of at least size bytes of random data, in
 * whole MiB, read back from offset 0; exits on failure.
 */
static inline int
bench_random_file(uint64_t size)
{
	char path[] = "/tmp/ktlsim_bench-XXXXXX";
	uint8_t *buf;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		err(1, "mkstemp");
	unlink(path);
	buf = malloc(1 << 20);
	if (buf == NULL)
		err(1, "malloc");
	RAND_bytes(buf, 1 << 20);
	for (uint64_t off = 0; off < size; off += 1 << 20)
		if (write(fd, buf, 1 << 20) != 1 << 20)
			err(1, "write");
	free(buf);
	if (lseek(fd, 0, SEEK_SET) != 0)
		err(1, "lseek");
	return (fd);
}

#endif /* !_SIM_BENCH_CLOCK_H_ */
