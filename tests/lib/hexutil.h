/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Small helpers shared by the tests: hex decoding for golden vectors, a
 * deterministic RNG so that failures reproduce from the printed seed, and
 * running a built tool.
 */

#ifndef _TESTS_HEXUTIL_H_
#define _TESTS_HEXUTIL_H_

#include <stddef.h>
#include <stdint.h>

/*
 * Decode a hex string; ASCII whitespace and ':' separators are ignored so
 * that vectors can be pasted as printed in the RFCs.  Returns a buffer to be
 * released with free() (never NULL on success, even for ""), or NULL on a
 * malformed string.  *len receives the decoded length.
 */
uint8_t *hex2buf(const char *hex, size_t *len);

/* splitmix64 state; any seed, including 0, is fine. */
struct test_rng {
	uint64_t state;
};

void test_rng_seed(struct test_rng *rng, uint64_t seed);
uint64_t test_rng_u64(struct test_rng *rng);
void test_rng_bytes(struct test_rng *rng, void *buf, size_t len);

/*
 * Fill buf with random printable ASCII (0x20..0x7e), as FreeBSD's
 * ktls_test.c does for keys, IVs and payloads.
 */
void test_random_printable(struct test_rng *rng, void *buf, size_t len);

/*
 * Run the program whose path is in environment variable envvar (meson
 * hands built tools to tests that way) with args, a shell-quoted argument
 * string.  Its stdout and stderr go to out, NUL-terminated and cut at
 * outlen - 1 bytes.  Returns the exit status, or -1 (with a message on
 * stderr) if the variable is unset, the program cannot be started or it
 * did not exit normally.
 */
int test_run_tool(const char *envvar, const char *args, char *out,
    size_t outlen);

#endif /* !_TESTS_HEXUTIL_H_ */
