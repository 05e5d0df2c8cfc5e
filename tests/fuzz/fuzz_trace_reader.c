/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Target functions: ktrace_parse_jsonl_buf(), ktrace_parse_pcapng_buf(),
 * ktrace_log_nrecords(), ktrace_check() (sim/trace/ktrace_read*.c and
 * ktrace_check.c, the reader behind ktls_trace(1)).
 *
 * The input is a trace file: pcapng if it starts with the Section Header
 * Block type 0x0a0d0d0a (as ktrace_read_file() decides), JSON lines
 * otherwise.  trace.h promises that untrusted bytes never crash, abort or
 * read out of bounds, and that failure is EINVAL, ENOMEM or EFBIG with
 * *logp NULL and a message in err.  A parsed log must survive
 * ktrace_check(), whose verdict is not judged (a fuzzed trace may
 * diverge from the golden model; that is what the checker is for).
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz_trace_reader: %s:%d: %s\n", \
			    __FILE__, __LINE__, #cond);                   \
			abort();                                          \
		}                                                         \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t shb[4] = { 0x0a, 0x0d, 0x0d, 0x0a };
	struct ktrace_log *log;
	char err[256], first[256];
	uint8_t *copy;
	int error;

	/* An exact-size copy, so that ASan sees any over-read. */
	copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy != NULL);
	if (size > 0)
		memcpy(copy, data, size);
	err[0] = '\0';
	log = (struct ktrace_log *)(uintptr_t)1;
	if (size >= 4 && memcmp(copy, shb, 4) == 0)
		error =
		    ktrace_parse_pcapng_buf(copy, size, &log, err, sizeof(err));
	else
		error =
		    ktrace_parse_jsonl_buf(copy, size, &log, err, sizeof(err));
	if (error != 0) {
		FUZZ_CHECK(
		    error == EINVAL || error == ENOMEM || error == EFBIG);
		FUZZ_CHECK(log == NULL);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		FUZZ_CHECK(log != NULL);
		(void)ktrace_log_nrecords(log);
		first[0] = '\0';
		(void)ktrace_check(log, NULL, first, sizeof(first));
		FUZZ_CHECK(memchr(first, '\0', sizeof(first)) != NULL);
		ktrace_log_free(log);
	}
	free(copy);
	return (0);
}
